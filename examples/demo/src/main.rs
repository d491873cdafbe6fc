//! The axum-download demo server. Run with `cargo run --release -p demo`.

use std::process::ExitCode;

use axum_download::ServerLimits;
use demo::{Config, Prepared};

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1).peekable();
    if args.peek().is_some_and(|first| first == "collectstatic") {
        return demo::static_files::collectstatic(args.skip(1));
    }
    let config = match parse_command_line() {
        Ok(config) => config,
        Err(code) => return code,
    };
    if let Err(message) = demo::access_log::init() {
        eprintln!("demo: {message}");
        return ExitCode::from(2);
    }
    serve(config)
}

/// The flags; `--help` and `--version` print and exit 0, a mistake is one
/// line on stderr and exit status 2.
fn parse_command_line() -> Result<Config, ExitCode> {
    let args = std::env::args_os().skip(1).collect::<Vec<_>>();
    if let Some(arg) = args.iter().find(|arg| arg.to_str().is_none()) {
        eprintln!("demo: argument {arg:?} is not valid UTF-8");
        return Err(ExitCode::from(2));
    }
    Config::parse_args(args).map_err(|err| {
        use clap::error::ErrorKind;
        if matches!(
            err.kind(),
            ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
        ) {
            print!("{err}");
            ExitCode::SUCCESS
        } else {
            eprintln!("demo: {}", demo::one_line(&err));
            ExitCode::from(2)
        }
    })
}

#[tokio::main]
async fn serve(config: Config) -> ExitCode {
    match run(config).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("demo: {message}");
            ExitCode::from(2)
        }
    }
}

async fn run(config: Config) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|err| format!("--addr {}: {err}", config.addr))?;
    let local = listener
        .local_addr()
        .map_err(|err| format!("--addr {}: {err}", config.addr))?;
    let prepared = Prepared::new(&config, local)?.with_cache(&config).await?;
    let settings = prepared.settings();
    let app = prepared.router();
    #[cfg(unix)]
    reload_on_sighup(config.clone(), settings);
    #[cfg(not(unix))]
    let _ = settings;
    println!("listening on http://{local}");
    // Header, send and idle timeouts: a slow or stuck client cannot hold a
    // connection (and its file) for ever.
    axum_download::serve(listener, app, ServerLimits::default(), shutdown_signal())
        .await
        .map_err(|err| format!("server error: {err}"))
}

/// Re-reads `--settings` on each SIGHUP; invalid settings keep the old ones.
#[cfg(unix)]
fn reload_on_sighup(config: demo::Config, settings: axum_download::SharedSettings) {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut hangups) = signal(SignalKind::hangup()) else {
        return;
    };
    tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            // Reload first: a log macro skips its arguments when filtered out.
            match demo::reload_settings(&config, &settings) {
                Ok(reloaded) => tracing::info!("{reloaded}"),
                Err(kept) => tracing::warn!("{kept}"),
            }
        }
    });
}

/// Ctrl-C or SIGTERM (what a service manager sends): stop accepting, let
/// downloads in flight finish for up to the shutdown timeout.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}
