//! The axum-download demo server. Run with `cargo run --release -p demo`.

use std::process::ExitCode;

use axum_download::ServerLimits;
use demo::{Config, Prepared};

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1).peekable();
    if args.peek().is_some_and(|first| first == "collectstatic") {
        return demo::static_files::collectstatic(args.skip(1));
    }
    serve()
}

#[tokio::main]
async fn serve() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("demo: {message}");
            ExitCode::from(2)
        }
    }
}

async fn run() -> Result<(), String> {
    let args = std::env::args_os()
        .skip(1)
        .map(|arg| {
            arg.into_string()
                .map_err(|arg| format!("argument {arg:?} is not valid UTF-8"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let config = Config::from_args(args)?;
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
            eprintln!("demo: {}", demo::reload_settings(&config, &settings));
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
