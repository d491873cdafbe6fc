//! The axum-download demo server. Run with `cargo run --release -p demo`.

use std::process::ExitCode;

use axum::serve::ListenerExt;
use demo::{Config, Prepared};

#[tokio::main]
async fn main() -> ExitCode {
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
    let app = Prepared::new(&config, local)?
        .with_cache(&config)
        .await?
        .router();
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
