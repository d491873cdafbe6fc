//! `Healthcheck`: each link of the chain fails on its own, with its name.
//! (The full chain through a real nginx is in the e2e tests.)
#![cfg(feature = "http-download")]

mod support;

use std::path::Path;
use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use axum_download::healthcheck::Healthcheck;
use axum_download::offload::{Backend, Rule, X_ACCEL_REDIRECT};
use axum_download::{DownloadLayer, DownloadSettings, FileSystemStorage, Storage};
use http::StatusCode;
use http_body_util::BodyExt;
use support::{serve, unused_addr};
use tower::ServiceExt;

const CONTENT: &str = "healthy\n";

fn check(root: &Path) -> Arc<Healthcheck> {
    let storage: Arc<dyn Storage> =
        Arc::new(FileSystemStorage::new(root).base_url("/media/optimized/"));
    Arc::new(Healthcheck::new(storage, "healthcheck.txt", CONTENT))
}

fn app(check: Arc<Healthcheck>, settings: DownloadSettings) -> Router {
    Router::new()
        .route(
            "/healthcheck",
            get(move || {
                let check = check.clone();
                async move { check.respond().await }
            }),
        )
        .layer(DownloadLayer::with_settings(settings))
}

fn nginx_settings() -> DownloadSettings {
    DownloadSettings::new(Backend::Nginx)
        .rule(Rule::nginx("/x-accel/").source_url("/media/optimized/"))
}

#[tokio::test]
async fn storage_check_passes_with_expected_content() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("healthcheck.txt"), CONTENT).unwrap();
    assert_eq!(check(dir.path()).check_storage().await, Ok(()));
}

#[tokio::test]
async fn storage_check_names_a_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let err = check(dir.path()).check_storage().await.unwrap_err();
    assert_eq!(err.link(), "storage");
    assert!(err.reason().contains("healthcheck.txt"), "{err}");
}

#[tokio::test]
async fn storage_check_notices_wrong_content() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("healthcheck.txt"), "stale\n").unwrap();
    let err = check(dir.path()).check_storage().await.unwrap_err();
    assert_eq!(err.link(), "storage");
    assert!(err.reason().contains("differ"), "{err}");
}

#[tokio::test]
async fn respond_hands_off_when_storage_is_fine() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("healthcheck.txt"), CONTENT).unwrap();
    let response = app(check(dir.path()), nginx_settings())
        .oneshot(
            http::Request::get("/healthcheck")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[X_ACCEL_REDIRECT],
        "/x-accel/healthcheck.txt"
    );
    assert_eq!(response.headers()[http::header::CACHE_CONTROL], "no-store");
}

#[tokio::test]
async fn respond_is_503_naming_the_storage() {
    let dir = tempfile::tempdir().unwrap();
    let response = app(check(dir.path()), nginx_settings())
        .oneshot(
            http::Request::get("/healthcheck")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert!(body.starts_with(b"storage: "), "{body:?}");
}

#[tokio::test]
async fn check_url_without_proxy_reports_the_unserved_hand_off() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("healthcheck.txt"), CONTENT).unwrap();
    let check = check(dir.path());
    let url = format!(
        "http://{}/healthcheck",
        serve(app(check.clone(), nginx_settings())).await
    );
    let err = check.check_url(&url).await.unwrap_err();
    assert_eq!(err.link(), "proxy");
    assert!(err.reason().contains("x-accel-redirect"), "{err}");
}

#[tokio::test]
async fn check_url_passes_when_the_bytes_arrive() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("healthcheck.txt"), CONTENT).unwrap();
    let check = check(dir.path());
    // The development backend streams from the app: the bytes arrive.
    let url = format!(
        "http://{}/healthcheck",
        serve(app(check.clone(), DownloadSettings::default())).await
    );
    assert_eq!(check.check_url(&url).await, Ok(()));
}

#[tokio::test]
async fn check_url_reports_the_app_when_storage_fails() {
    let dir = tempfile::tempdir().unwrap();
    let check = check(dir.path());
    let url = format!(
        "http://{}/healthcheck",
        serve(app(check.clone(), DownloadSettings::default())).await
    );
    let err = check.check_url(&url).await.unwrap_err();
    assert_eq!(err.link(), "app");
    assert!(err.reason().starts_with("storage: "), "{err}");
}

#[tokio::test]
async fn check_url_reports_an_unreachable_proxy() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://{}/healthcheck", unused_addr());
    let err = check(dir.path()).check_url(&url).await.unwrap_err();
    assert_eq!(err.link(), "proxy");
}
