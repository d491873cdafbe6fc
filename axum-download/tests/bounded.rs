//! Bounded under stuck and hostile peers: what must never hold a thread,
//! a descriptor or memory without limit.
#![cfg(unix)]

use std::path::Path;
use std::time::{Duration, Instant};

use axum_download::{DownloadError, FileSystemStorage, PathDownload, Storage, StorageDownload};
use http::StatusCode;

/// How long refusing a non-regular file may take: opening a FIFO with a
/// blocking open would wait for a writer forever.
const QUICK: Duration = Duration::from_secs(5);

async fn assert_refused_quickly(root: &Path, name: &str) {
    let started = Instant::now();
    let result = tokio::time::timeout(QUICK, PathDownload::from_root(root, name))
        .await
        .unwrap_or_else(|_| panic!("{name}: still blocked after {QUICK:?}"));
    let err: DownloadError = result.expect_err(name);
    assert_eq!(err.status(), StatusCode::NOT_FOUND, "{name}");
    let storage: std::sync::Arc<dyn Storage> = std::sync::Arc::new(FileSystemStorage::new(root));
    let result = tokio::time::timeout(QUICK, StorageDownload::new(storage, name))
        .await
        .unwrap_or_else(|_| panic!("{name} (storage): still blocked after {QUICK:?}"));
    assert_eq!(
        result.expect_err(name).status(),
        StatusCode::NOT_FOUND,
        "{name}"
    );
    assert!(started.elapsed() < QUICK);
}

fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo (coreutils) must be installed");
    assert!(status.success(), "mkfifo {}", path.display());
}

#[tokio::test]
async fn fifo_without_a_writer_is_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    mkfifo(&dir.path().join("pipe"));
    assert_refused_quickly(dir.path(), "pipe").await;
}

#[tokio::test]
async fn many_fifo_requests_hold_no_blocking_threads() {
    let dir = tempfile::tempdir().unwrap();
    mkfifo(&dir.path().join("pipe"));
    let root = dir.path().to_path_buf();
    let started = Instant::now();
    let requests = (0..200).map(|_| {
        let root = root.clone();
        tokio::spawn(async move { PathDownload::from_root(root, "pipe").await.map(|_| ()) })
    });
    for request in futures_util::future::join_all(requests).await {
        assert_eq!(
            request.unwrap().unwrap_err().status(),
            StatusCode::NOT_FOUND
        );
    }
    assert!(started.elapsed() < QUICK, "{:?}", started.elapsed());
    // A normal file still answers at once.
    std::fs::write(dir.path().join("ok.txt"), "ok").unwrap();
    let ok = tokio::time::timeout(QUICK, PathDownload::from_root(&root, "ok.txt")).await;
    assert!(ok.unwrap().is_ok());
}

#[tokio::test]
async fn unix_socket_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let _listener = std::os::unix::net::UnixListener::bind(dir.path().join("socket")).unwrap();
    assert_refused_quickly(dir.path(), "socket").await;
}

#[tokio::test]
async fn device_node_is_refused() {
    // A trusted path to a character device, and one through a link that
    // the root allows to leave it.
    let err = PathDownload::from_trusted_path("/dev/zero")
        .await
        .unwrap_err();
    assert_eq!(err.status(), StatusCode::NOT_FOUND);
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("/dev/zero", dir.path().join("zero")).unwrap();
    let err = PathDownload::from_root(dir.path(), "zero")
        .follow_symlinks_outside_root(true)
        .await
        .unwrap_err();
    assert_eq!(err.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    assert_refused_quickly(dir.path(), "sub").await;
}
