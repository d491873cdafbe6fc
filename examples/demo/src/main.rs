//! The axum-download demo server. Run with `cargo run --release -p demo`.

use std::process::ExitCode;

use axum::serve::ListenerExt;
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
    let config = Config::from_args(std::env::args().skip(1))?;
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|err| format!("--addr {}: {err}", config.addr))?;
    let local = listener
        .local_addr()
        .map_err(|err| format!("--addr {}: {err}", config.addr))?;
    let app = Prepared::new(&config, local)?.router();
    println!("listening on http://{local}");
    // Small answers leave at once instead of waiting for the client's ACK
    // (Nagle's algorithm against delayed ACKs costs up to 40 ms each).
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|err| format!("server error: {err}"))
}
