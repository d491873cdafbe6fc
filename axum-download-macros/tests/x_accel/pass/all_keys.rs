use axum::extract::Path;
use axum::routing::get;
use axum::Router;
use axum_download::{x_accel, DownloadError, DownloadResponse, PathDownload};

#[x_accel(
    source_dir = "/srv/media",
    destination_url = "/x-accel/",
    buffering = false,
    expires = 3600,
    limit_rate = "off",
)]
async fn download(Path(name): Path<String>) -> Result<DownloadResponse, DownloadError> {
    PathDownload::from_root("/srv/media", name).await
}

#[x_accel(source_url = "/media/", destination_url = "/protected", expires = "off", limit_rate = 1024)]
async fn by_url() -> DownloadResponse {
    axum_download::VirtualDownload::text("a.txt", "a")
}

fn main() {
    let _app: Router = Router::new()
        .route("/{*name}", get(download))
        .route("/url", get(by_url));
}
