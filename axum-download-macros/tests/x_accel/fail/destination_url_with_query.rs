use axum_download::{x_accel, DownloadResponse, VirtualDownload};

#[x_accel(destination_url = "/x/?a=b")]
async fn handler() -> DownloadResponse {
    VirtualDownload::text("a.txt", "a")
}

fn main() {
    // The handler is still emitted: no second error here.
    let _ = handler;
}
