use axum_download::{x_accel, DownloadResponse, VirtualDownload};

#[x_accel(destination_url = "/x/")]
fn handler() -> DownloadResponse {
    VirtualDownload::text("a.txt", "a")
}

fn main() {
    let _ = handler;
}
