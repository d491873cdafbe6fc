use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::routing::get;
use axum::Router;
use axum_download::{x_accel, DownloadError, DownloadResponse, PathDownload};

#[derive(Clone)]
struct AppState {
    root: Arc<PathBuf>,
}

/// Docs and other attributes are kept.
#[x_accel(destination_url = "/x-accel/")]
#[allow(unused_mut)]
pub async fn download(
    State(state): State<AppState>,
    Path(mut name): Path<String>,
) -> Result<DownloadResponse, DownloadError> {
    PathDownload::from_root(state.root.as_path(), name).await
}

fn main() {
    let state = AppState { root: Arc::new(PathBuf::from("/srv")) };
    let _app: Router = Router::new().route("/{*name}", get(download)).with_state(state);
}
