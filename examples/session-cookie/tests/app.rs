//! The example's router, driven in-process.

#[allow(dead_code)] // `main`: the example's, not the test's.
#[path = "../src/main.rs"]
mod example;

use axum::{body::Body, http::Request};
use tower::ServiceExt;

#[tokio::test]
async fn forbidden_without_a_session_served_with_one() {
    let app = example::app(example::Sessions::default());
    let get = |uri, cookie| {
        Request::get(uri)
            .header("cookie", cookie)
            .body(Body::empty())
    };
    let denied = app
        .clone()
        .oneshot(get("/files/hello-world.txt", "session=guess").unwrap());
    assert_eq!(denied.await.unwrap().status(), 403);
    let login = app
        .clone()
        .oneshot(get("/login", "").unwrap())
        .await
        .unwrap();
    let cookie = login.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next();
    let served = app.oneshot(get("/files/hello-world.txt", cookie.unwrap()).unwrap());
    assert_eq!(served.await.unwrap().status(), 200);
}
