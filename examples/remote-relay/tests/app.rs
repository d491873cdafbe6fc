//! The example's router, driven in-process.

#[allow(dead_code)] // `main`: the example's, not the test's.
#[path = "../src/main.rs"]
mod example;

use std::future::IntoFuture;

use axum::{body::Body, http::Request, routing::get, Router};
use axum_download::{DownloadLayer, VirtualDownload};
use tower::ServiceExt;

#[tokio::test]
async fn ranges_are_relayed_and_names_stay_below_the_base() {
    let hello = || async { VirtualDownload::text("hello.txt", "Hello world!\n") };
    let upstream = Router::new().route("/files/hello.txt", get(hello));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/files", listener.local_addr().unwrap());
    tokio::spawn(axum::serve(listener, upstream.layer(DownloadLayer::new())).into_future());
    let ranged = |uri| {
        Request::get(uri)
            .header("range", "bytes=6-10")
            .body(Body::empty())
    };
    let relayed = example::app(&base)
        .oneshot(ranged("/relay/hello.txt").unwrap())
        .await;
    assert_eq!(relayed.unwrap().headers()["content-range"], "bytes 6-10/13");
    let escaped = example::app(&base)
        .oneshot(ranged("/relay/..%2Fsecret").unwrap())
        .await;
    assert_eq!(escaped.unwrap().status(), 404);
}
