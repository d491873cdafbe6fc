//! Hand-off to nginx by settings loaded from a TOML file into the app state.
//!
//! Run with: `cargo run -p settings-toml [-- SETTINGS.toml]` (default: the
//! `settings.toml` beside this crate), then
//!
//! ```text
//! curl -i localhost:3000/files/hello-world.txt # 200, X-Accel-Redirect: /x-accel/hello-world.txt
//! curl localhost:3000/backend                  # nginx
//! ```

use std::sync::Arc;

use axum::extract::{FromRef, State};
use axum::{routing::get, Router};
use axum_download::{
    DownloadError, DownloadLayer, DownloadName, DownloadResponse, DownloadSettings,
    FileSystemStorage, SharedSettings, Storage, StorageDownload,
};

#[derive(Clone)]
struct AppState {
    /// Publishes its files under `/media/`: the URL the rules match.
    media: Arc<dyn Storage>,
    downloads: SharedSettings,
}

impl FromRef<AppState> for SharedSettings {
    fn from_ref(state: &AppState) -> Self {
        state.downloads.clone()
    }
}

/// The router (the tests in `tests/` drive it).
pub(crate) fn app(settings: DownloadSettings) -> Router {
    let media = concat!(env!("CARGO_MANIFEST_DIR"), "/../demo/media");
    let state = AppState {
        media: Arc::new(FileSystemStorage::new(media).base_url("/media/")),
        downloads: SharedSettings::new(settings),
    };
    Router::new()
        .route("/files/{*name}", get(download))
        .route("/backend", get(backend))
        .layer(DownloadLayer::shared(state.downloads.clone())) // the same settings
        .with_state(state)
}

async fn download(
    State(state): State<AppState>,
    DownloadName(name): DownloadName,
) -> Result<DownloadResponse, DownloadError> {
    StorageDownload::new(state.media, name).await
}

async fn backend(State(settings): State<SharedSettings>) -> String {
    format!("{}\n", settings.load().backend)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let default = concat!(env!("CARGO_MANIFEST_DIR"), "/settings.toml").to_owned();
    let path = std::env::args().nth(1).unwrap_or(default);
    let settings = DownloadSettings::from_toml(&std::fs::read_to_string(&path)?)?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://{}", listener.local_addr()?);
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    axum_download::serve(listener, app(settings), Default::default(), shutdown).await?;
    Ok(())
}
