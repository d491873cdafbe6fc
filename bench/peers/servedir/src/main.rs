//! Benchmark peer: axum 0.8 with tower-http's `ServeDir` over a directory,
//! as an application that already uses tower-http would serve files.
//!
//! ```text
//! peer-servedir --addr 127.0.0.1:8001 --root DIR [--precompressed]
//! ```
//!
//! `--precompressed`: `ServeDir::precompressed_br()` and
//! `precompressed_gzip()`, as an application serving a collected static
//! root with its sidecars would.
//!
//! Prints `listening on http://ADDR` once it accepts connections. Like the
//! demo (and nginx on keep-alive connections), it sets `TCP_NODELAY` on
//! every connection: with Nagle's algorithm on, a response whose head is
//! flushed before its body waits for the client's delayed ACK, up to 40 ms.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use axum::serve::ListenerExt;
use axum::Router;
use tower_http::services::ServeDir;

const USAGE: &str = "usage: peer-servedir --addr 127.0.0.1:8001 --root DIR [--precompressed]";

struct Args {
    addr: SocketAddr,
    root: PathBuf,
    precompressed: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut addr = None;
    let mut root = None;
    let mut precompressed = false;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || {
            args.next()
                .ok_or_else(|| format!("{flag} needs a value; {USAGE}"))
        };
        match flag.as_str() {
            "--addr" => {
                let text = value()?;
                addr = Some(
                    text.parse()
                        .map_err(|_| format!("--addr: {text:?} is not an address"))?,
                );
            }
            "--root" => root = Some(PathBuf::from(value()?)),
            "--precompressed" => precompressed = true,
            _ => return Err(format!("unknown flag {flag:?}; {USAGE}")),
        }
    }
    Ok(Args {
        addr: addr.ok_or_else(|| format!("--addr is required; {USAGE}"))?,
        root: root.ok_or_else(|| format!("--root is required; {USAGE}"))?,
        precompressed,
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("peer-servedir: {message}");
            return ExitCode::from(2);
        }
    };
    if !args.root.is_dir() {
        eprintln!(
            "peer-servedir: --root {}: not a directory",
            args.root.display()
        );
        return ExitCode::from(2);
    }
    let listener = match tokio::net::TcpListener::bind(args.addr).await {
        Ok(listener) => listener,
        Err(err) => {
            eprintln!("peer-servedir: --addr {}: {err}", args.addr);
            return ExitCode::from(2);
        }
    };
    // ServeDir with its defaults (64 KiB read chunks on tokio::fs), the way
    // an axum application mounts it.
    let mut serve_dir = ServeDir::new(&args.root);
    if args.precompressed {
        serve_dir = serve_dir.precompressed_br().precompressed_gzip();
    }
    let app = Router::new().fallback_service(serve_dir);
    match listener.local_addr() {
        Ok(local) => println!("listening on http://{local}"),
        Err(err) => {
            eprintln!("peer-servedir: {err}");
            return ExitCode::from(2);
        }
    }
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await;
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("peer-servedir: server error: {err}");
            ExitCode::FAILURE
        }
    }
}
