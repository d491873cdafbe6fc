use axum_download::{x_sendfile, DownloadResponse, VirtualDownload};

#[x_sendfile(source_dir = "/srv", destination_dir = "media")]
async fn handler() -> DownloadResponse {
    VirtualDownload::text("a.txt", "a")
}

fn main() {
    // The handler is still emitted: no second error here.
    let _ = handler;
}
