use axum::extract::Path;
use axum::routing::get;
use axum::Router;
use axum_download::{x_sendfile, DownloadError, DownloadResponse, PathDownload};

#[x_sendfile]
async fn own_path(Path(name): Path<String>) -> Result<DownloadResponse, DownloadError> {
    PathDownload::from_root("/srv/media", name).await
}

#[x_sendfile(source_dir = "/srv/media", destination_dir = "/mnt/media")]
async fn mapped(Path(name): Path<String>) -> Result<DownloadResponse, DownloadError> {
    PathDownload::from_root("/srv/media", name).await
}

#[x_sendfile(source_url = "/media/", destination_dir = "/srv/media")]
async fn by_url(Path(name): Path<String>) -> Result<DownloadResponse, DownloadError> {
    PathDownload::from_root("/srv/media", name).await
}

fn main() {
    let _app: Router = Router::new()
        .route("/a/{*name}", get(own_path))
        .route("/b/{*name}", get(mapped))
        .route("/c/{*name}", get(by_url));
}
