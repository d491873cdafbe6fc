//! Files of a remote server relayed from a base URL: streamed through, with
//! HEAD, Range and conditional requests passed on; a name that would leave
//! the base (`..`, `//host`, `%2F`) is a 404 before any request is made.
//!
//! Run with: `cargo run -p demo` (the upstream), and beside it
//! `cargo run -p remote-relay [-- BASE_URL]` (default: the demo's
//! `http://127.0.0.1:8000/path`), then
//!
//! ```text
//! curl -i localhost:3000/relay/hello-world.txt          # the demo's file
//! curl -i -r 6-10 localhost:3000/relay/hello-world.txt  # 206, `world`
//! ```

use std::sync::Arc;

use axum::extract::State;
use axum::{routing::get, Router};
use axum_download::{Conditions, DownloadError, DownloadName, DownloadResponse, HttpDownload};

/// The router (the tests in `tests/` drive it).
pub(crate) fn app(base: &str) -> Router {
    Router::new()
        .route("/relay/{*name}", get(relay))
        .with_state(Arc::<str>::from(base))
}

async fn relay(
    State(base): State<Arc<str>>,
    conditions: Conditions,
    DownloadName(name): DownloadName,
) -> Result<DownloadResponse, DownloadError> {
    // Upstream 404 → 404, 5xx or unreachable → 502, too slow → 504.
    HttpDownload::from_base(&*base, name)
        .forward(&conditions)
        .await
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let base = std::env::args().nth(1);
    let base = base.as_deref().unwrap_or("http://127.0.0.1:8000/path");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!(
        "listening on http://{}, relaying {base}",
        listener.local_addr()?
    );
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    axum_download::serve(listener, app(base), Default::default(), shutdown).await
}
