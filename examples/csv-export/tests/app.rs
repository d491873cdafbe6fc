//! The example's router, driven in-process.

#[allow(dead_code)] // `main`: the example's, not the test's.
#[path = "../src/main.rs"]
mod example;

use axum::{body::Body, http::Request};
use http_body_util::BodyExt;
use tower::ServiceExt;

#[tokio::test]
async fn rows_are_quoted_where_needed() {
    let request = Request::get("/orders.csv?rows=2")
        .body(Body::empty())
        .unwrap();
    let response = example::app().oneshot(request).await.unwrap();
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let expected = "id,customer,total_cents,note\n0,customer 0,0,\"gift, \"\"wrapped\"\"\"\n1,customer 1,137,\n";
    assert_eq!(body, expected);
}
