//! The example's router, driven in-process.

#[allow(dead_code)] // `main`: the example's, not the test's.
#[path = "../src/main.rs"]
mod example;

use axum::{body::Body, http::Request};
use tower::ServiceExt;

#[tokio::test]
async fn the_shipped_settings_hand_off_to_nginx() {
    let settings = axum_download::DownloadSettings::from_toml(include_str!("../settings.toml"));
    let request = Request::get("/files/hello-world.txt")
        .body(Body::empty())
        .unwrap();
    let response = example::app(settings.unwrap())
        .oneshot(request)
        .await
        .unwrap();
    assert_eq!(
        response.headers()["x-accel-redirect"],
        "/x-accel/hello-world.txt"
    );
}
