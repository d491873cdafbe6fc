//! A download guarded by a session cookie: 403 without a valid session.
//!
//! Run with: `cargo run -p session-cookie`, then
//!
//! ```text
//! curl -i localhost:3000/files/hello-world.txt              # 403 Forbidden
//! curl -c jar localhost:3000/login                          # sets `session=...`
//! curl -i -b jar localhost:3000/files/hello-world.txt       # 200, the file
//! curl -i -b jar -r 0-4 localhost:3000/files/hello-world.txt # 206, `Hello`
//! ```

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::{routing::get, Router};
use axum_download::{DownloadError, DownloadLayer, DownloadName, DownloadResponse, PathDownload};

/// The sessions opened by `/login` (a real application keeps them in a store).
pub(crate) type Sessions = Arc<Mutex<HashSet<String>>>;

const MEDIA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../demo/media");

/// The router (the tests in `tests/` drive it).
pub(crate) fn app(sessions: Sessions) -> Router {
    Router::new()
        .route("/login", get(login))
        .route("/files/{*name}", get(download))
        .layer(DownloadLayer::new()) // 304, 206, HEAD for every download
        .with_state(sessions)
}

/// Opens a session: a random id in an `HttpOnly` cookie.
async fn login(
    State(sessions): State<Sessions>,
) -> ([(header::HeaderName, String); 1], &'static str) {
    let mut id = [0u8; 16];
    getrandom::fill(&mut id).expect("the system's random numbers");
    let id: String = id.iter().map(|byte| format!("{byte:02x}")).collect();
    sessions.lock().unwrap().insert(id.clone());
    let cookie = format!("session={id}; Path=/; HttpOnly; SameSite=Lax");
    ([(header::SET_COOKIE, cookie)], "logged in\n")
}

async fn download(
    State(sessions): State<Sessions>,
    headers: HeaderMap,
    DownloadName(name): DownloadName,
) -> Result<DownloadResponse, DownloadError> {
    let session = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|cookies| cookies.split(';'))
        .find_map(|cookie| cookie.trim().strip_prefix("session="));
    if !session.is_some_and(|id| sessions.lock().unwrap().contains(id)) {
        return Err(DownloadError::forbidden("no valid session cookie"));
    }
    PathDownload::from_root(MEDIA, name).await
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://{}", listener.local_addr()?);
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    axum_download::serve(
        listener,
        app(Sessions::default()),
        Default::default(),
        shutdown,
    )
    .await
}
