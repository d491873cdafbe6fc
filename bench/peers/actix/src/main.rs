//! Benchmark peer: actix-web with actix-files serving a directory: `Files`
//! resolves the request path under the root (refusing `..`) and answers
//! with a `NamedFile`, as an actix application serves downloads.
//!
//! ```text
//! peer-actix --addr 127.0.0.1:8002 --root DIR
//! ```
//!
//! Prints `listening on http://ADDR` once it accepts connections. Like the
//! demo (and nginx on keep-alive connections), it sets `TCP_NODELAY` on
//! every connection.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use actix_files::Files;
use actix_web::{App, HttpServer};

const USAGE: &str = "usage: peer-actix --addr 127.0.0.1:8002 --root DIR";

struct Args {
    addr: SocketAddr,
    root: PathBuf,
}

fn parse_args() -> Result<Args, String> {
    let mut addr = None;
    let mut root = None;
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
            _ => return Err(format!("unknown flag {flag:?}; {USAGE}")),
        }
    }
    Ok(Args {
        addr: addr.ok_or_else(|| format!("--addr is required; {USAGE}"))?,
        root: root.ok_or_else(|| format!("--root is required; {USAGE}"))?,
    })
}

#[actix_web::main]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("peer-actix: {message}");
            return ExitCode::from(2);
        }
    };
    if !args.root.is_dir() {
        eprintln!(
            "peer-actix: --root {}: not a directory",
            args.root.display()
        );
        return ExitCode::from(2);
    }
    let root = args.root.clone();
    // Default worker count: one per core, as actix-web picks it.
    let server = HttpServer::new(move || App::new().service(Files::new("/", root.clone())))
        .tcp_nodelay(true)
        .bind(args.addr);
    let server = match server {
        Ok(server) => server,
        Err(err) => {
            eprintln!("peer-actix: --addr {}: {err}", args.addr);
            return ExitCode::from(2);
        }
    };
    for addr in server.addrs() {
        println!("listening on http://{addr}");
    }
    match server.run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("peer-actix: server error: {err}");
            ExitCode::FAILURE
        }
    }
}
