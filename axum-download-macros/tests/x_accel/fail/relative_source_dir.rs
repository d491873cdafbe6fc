use axum_download::{x_accel, DownloadResponse, VirtualDownload};

#[x_accel(source_dir = "media", destination_url = "/x/")]
async fn handler() -> DownloadResponse {
    VirtualDownload::text("a.txt", "a")
}

fn main() {
    // The handler is still emitted: no second error here.
    let _ = handler;
}
