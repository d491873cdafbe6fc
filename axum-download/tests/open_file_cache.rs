//! `PathDownload::cached`: answers from the open-file cache are the answers
//! without it, stale for at most the cache's validity, and never for a file
//! being written or outside its root.

mod support;

use std::fs::{File, FileTimes};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use axum::extract::{Path as UrlPath, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use axum_download::test_util::TempMediaRoot;
use axum_download::{
    Conditions, DownloadError, DownloadLayer, DownloadResponse, OpenFileCache, PathDownload,
};
use http::{header, Method, StatusCode};
use support::{body, get_with, request};

#[derive(Clone)]
struct Media {
    root: PathBuf,
    files: Option<OpenFileCache>,
}

async fn download(
    State(media): State<Media>,
    conditions: Conditions,
    UrlPath(name): UrlPath<String>,
) -> Result<DownloadResponse, DownloadError> {
    let download = PathDownload::from_root(&media.root, name).for_request(&conditions);
    match &media.files {
        Some(files) => download.cached(files).await,
        None => download.await,
    }
}

async fn inline(
    state: State<Media>,
    conditions: Conditions,
    name: UrlPath<String>,
) -> Result<DownloadResponse, DownloadError> {
    Ok(download(state, conditions, name)
        .await?
        .inline()
        .filename("renamed.txt"))
}

fn app(root: &Path, files: Option<OpenFileCache>) -> Router {
    Router::new()
        .route("/inline/{*name}", get(inline))
        .route("/{*name}", get(download))
        .layer(DownloadLayer::new())
        .with_state(Media {
            root: root.to_path_buf(),
            files,
        })
}

/// Writes `name` as last modified an hour ago: settled, so it may be kept.
fn settled(media: &TempMediaRoot, name: &str, content: &[u8]) {
    let path = media.file(name, content);
    let hour_ago = SystemTime::now() - Duration::from_secs(3600);
    File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_times(FileTimes::new().set_modified(hour_ago))
        .unwrap();
}

/// Status, headers (without `Date`) and body of an answer.
async fn whole(response: Response) -> (StatusCode, Vec<(String, String)>, Vec<u8>) {
    let status = response.status();
    let mut headers: Vec<_> = response
        .headers()
        .iter()
        .filter(|(name, _)| *name != header::DATE)
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_owned()))
        .collect();
    headers.sort();
    (status, headers, body(response).await)
}

#[tokio::test]
async fn a_kept_file_is_answered_exactly_as_without_the_cache() {
    let media = TempMediaRoot::new();
    settled(&media, "report é.txt", b"quarterly figures\n");
    let plain = app(media.path(), None);
    let cached = app(media.path(), Some(OpenFileCache::new()));
    let uri = "/report%20%C3%A9.txt";
    // The first request keeps the file; the next ones are answered from it.
    request(&cached, Method::GET, uri, &[]).await;
    let etag = request(&plain, Method::GET, uri, &[]).await.headers()[header::ETAG]
        .to_str()
        .unwrap()
        .to_owned();
    let cases: [(Method, Vec<(&str, &str)>); 5] = [
        (Method::GET, vec![]),
        (Method::HEAD, vec![]),
        (Method::GET, vec![("if-none-match", etag.as_str())]),
        (Method::GET, vec![("range", "bytes=0-9")]),
        (Method::GET, vec![("range", "bytes=0-1,4-5")]),
    ];
    for (method, headers) in cases {
        let expected = whole(request(&plain, method.clone(), uri, &headers).await).await;
        let actual = whole(request(&cached, method.clone(), uri, &headers).await).await;
        if headers.iter().any(|(_, value)| value.contains(',')) {
            // Multipart boundaries are random: compare status and length.
            assert_eq!(actual.0, expected.0, "{method} {headers:?}");
            assert_eq!(actual.2.len(), expected.2.len(), "{method} {headers:?}");
        } else {
            assert_eq!(actual, expected, "{method} {headers:?}");
        }
    }
}

#[tokio::test]
async fn a_change_goes_unseen_for_at_most_the_validity() {
    let media = TempMediaRoot::new();
    settled(&media, "a.txt", b"first");
    let cached = app(
        media.path(),
        Some(OpenFileCache::new().valid(Duration::from_millis(300))),
    );
    assert_eq!(get_with(&cached, "/a.txt", &[]).await.body(), b"first");
    settled(&media, "a.txt", b"later");
    assert_eq!(
        get_with(&cached, "/a.txt", &[]).await.body(),
        b"first",
        "kept"
    );
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(
        get_with(&cached, "/a.txt", &[]).await.body(),
        b"later",
        "expired"
    );
}

#[tokio::test]
async fn a_deleted_file_is_gone_once_the_validity_has_passed() {
    let media = TempMediaRoot::new();
    settled(&media, "a.txt", b"first");
    let cached = app(
        media.path(),
        Some(OpenFileCache::new().valid(Duration::from_millis(300))),
    );
    assert_eq!(
        get_with(&cached, "/a.txt", &[]).await.status,
        StatusCode::OK
    );
    std::fs::remove_file(media.path().join("a.txt")).unwrap();
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(
        get_with(&cached, "/a.txt", &[]).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_file_being_written_is_always_read_afresh() {
    let media = TempMediaRoot::new();
    media.file("log.txt", "one");
    let cached = app(media.path(), Some(OpenFileCache::new()));
    assert_eq!(get_with(&cached, "/log.txt", &[]).await.body(), b"one");
    media.file("log.txt", "two");
    assert_eq!(get_with(&cached, "/log.txt", &[]).await.body(), b"two");
}

#[tokio::test]
async fn a_large_file_is_opened_for_every_request() {
    let media = TempMediaRoot::new();
    settled(&media, "big.bin", &[1; 100]);
    let cached = app(media.path(), Some(OpenFileCache::new().max_file_size(99)));
    assert_eq!(get_with(&cached, "/big.bin", &[]).await.body(), [1; 100]);
    settled(&media, "big.bin", &[2; 100]);
    assert_eq!(get_with(&cached, "/big.bin", &[]).await.body(), [2; 100]);
}

#[tokio::test]
async fn a_zero_validity_turns_the_cache_off() {
    let media = TempMediaRoot::new();
    settled(&media, "a.txt", b"first");
    let cached = app(
        media.path(),
        Some(OpenFileCache::new().valid(Duration::ZERO)),
    );
    assert_eq!(get_with(&cached, "/a.txt", &[]).await.body(), b"first");
    settled(&media, "a.txt", b"later");
    assert_eq!(get_with(&cached, "/a.txt", &[]).await.body(), b"later");
}

#[tokio::test]
async fn names_outside_the_root_are_refused_with_the_cache_too() {
    let media = TempMediaRoot::new();
    let root = media.dir("media");
    settled(&media, "secret.txt", b"secret");
    media.symlink("media/link.txt", media.path().join("secret.txt"));
    let cached = app(&root, Some(OpenFileCache::new()));
    for uri in ["/../secret.txt", "/link.txt", "/%2e%2e/secret.txt"] {
        for _ in 0..2 {
            assert_eq!(
                get_with(&cached, uri, &[]).await.status,
                StatusCode::NOT_FOUND,
                "{uri}"
            );
        }
    }
}

#[tokio::test]
async fn a_handler_changing_a_kept_answer_gets_its_own_headers() {
    let media = TempMediaRoot::new();
    settled(&media, "a.txt", b"first");
    let cached = app(media.path(), Some(OpenFileCache::new()));
    for _ in 0..2 {
        let plain = request(&cached, Method::GET, "/a.txt", &[]).await;
        assert_eq!(
            plain.headers()[header::CONTENT_DISPOSITION],
            "attachment; filename=\"a.txt\""
        );
        let changed = request(&cached, Method::GET, "/inline/a.txt", &[]).await;
        assert_eq!(
            changed.headers()[header::CONTENT_DISPOSITION],
            "inline; filename=\"renamed.txt\""
        );
    }
}
