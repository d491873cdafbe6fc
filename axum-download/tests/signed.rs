//! Signed URLs through a router: `SignatureLayer` answers 403 to every
//! missing, tampered, expired or other-path signature, and `SignedStorage`
//! publishes URLs that pass it.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::routing::get;
use axum::Router;
use axum_download::signature::{SignatureLayer, SignedStorage, UrlSigner};
use axum_download::test_util::TempMediaRoot;
use axum_download::{DownloadLayer, FileSystemStorage, Storage, StorageDownload};
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

fn signer() -> UrlSigner {
    UrlSigner::new(b"0123456789abcdef0123456789abcdef")
}

fn app(root: &std::path::Path) -> (Router, Arc<dyn Storage>) {
    let storage: Arc<dyn Storage> = Arc::new(SignedStorage::new(
        FileSystemStorage::new(root).base_url("/signed/"),
        signer(),
        Duration::from_secs(60),
    ));
    let router = Router::new()
        .route(
            "/signed/{*name}",
            get(
                |State(storage): State<Arc<dyn Storage>>, UrlPath(name): UrlPath<String>| async move {
                    StorageDownload::new(storage, name).await
                },
            )
            .layer(SignatureLayer::new(signer())),
        )
        .layer(DownloadLayer::new())
        .with_state(storage.clone());
    (router, storage)
}

fn media() -> TempMediaRoot {
    let media = TempMediaRoot::new();
    media.file("espace é.txt", "accent\n");
    media.file("100% sûr.txt", "sure\n");
    media.file("other.txt", "other\n");
    media
}

async fn status_of(router: Router, uri: &str) -> (StatusCode, Vec<u8>) {
    let response = router
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, body)
}

#[tokio::test]
async fn storage_url_is_signed_and_passes() {
    let dir = media();
    let (router, storage) = app(dir.path());
    let url = storage.url("espace é.txt").unwrap();
    assert!(
        url.starts_with("/signed/espace%20%C3%A9.txt?X-Signature="),
        "{url}"
    );
    let (status, body) = status_of(router, &url).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, b"accent\n");
}

#[tokio::test]
async fn name_with_percent_sign_passes() {
    let dir = media();
    let (router, storage) = app(dir.path());
    let url = storage.url("100% sûr.txt").unwrap();
    let (status, body) = status_of(router, &url).await;
    assert_eq!(status, StatusCode::OK, "{url}");
    assert_eq!(body, b"sure\n");
}

#[tokio::test]
async fn missing_signature_is_403() {
    let dir = media();
    let (router, _) = app(dir.path());
    let (status, _) = status_of(router, "/signed/other.txt").await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn signature_for_another_path_is_403() {
    let dir = media();
    let (router, storage) = app(dir.path());
    let url = storage.url("espace é.txt").unwrap();
    let query = url.split_once('?').unwrap().1;
    let (status, _) = status_of(router, &format!("/signed/other.txt?{query}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn tampered_signature_is_403() {
    let dir = media();
    let (router, storage) = app(dir.path());
    let mut url = storage.url("other.txt").unwrap();
    let last = url.pop().unwrap();
    url.push(if last == '0' { '1' } else { '0' });
    let (status, _) = status_of(router, &url).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn expired_signature_is_403() {
    let dir = media();
    let (router, _) = app(dir.path());
    let signature = signer().signature(
        "/signed/other.txt",
        SystemTime::now() - Duration::from_secs(5),
    );
    let (status, body) = status_of(
        router,
        &format!("/signed/other.txt?X-Signature={signature}"),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body, b"Forbidden: expired signature\n");
}

#[tokio::test]
async fn signature_of_another_key_is_403() {
    let dir = media();
    let (router, _) = app(dir.path());
    let url = UrlSigner::new(b"another key, not the server's")
        .sign_path("/signed/other.txt", Duration::from_secs(60));
    let (status, _) = status_of(router, &url).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn rotated_key_still_verifies() {
    let dir = media();
    let old = UrlSigner::new(b"the key of last month, retired");
    let storage: Arc<dyn Storage> =
        Arc::new(FileSystemStorage::new(dir.path()).base_url("/signed/"));
    let router = Router::new()
        .route(
            "/signed/{*name}",
            get(
                |State(storage): State<Arc<dyn Storage>>, UrlPath(name): UrlPath<String>| async move {
                    StorageDownload::new(storage, name).await
                },
            )
            .layer(SignatureLayer::new(signer().verify_also(b"the key of last month, retired"))),
        )
        .with_state(storage);
    let url = old.sign_path("/signed/other.txt", Duration::from_secs(60));
    let (status, _) = status_of(router, &url).await;
    assert_eq!(status, StatusCode::OK);
}
