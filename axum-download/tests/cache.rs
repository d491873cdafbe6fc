//! `RemoteCache` against a recording upstream on 127.0.0.1: one fetch for
//! many requests, answers from disk, freshness and revalidation, eviction,
//! crash safety and the index rebuilt at start-up.
#![cfg(feature = "http-download")]

mod support;

use std::collections::HashMap;
use std::io;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use axum_download::offload::{Backend, Rule};
use axum_download::{
    Conditions, DownloadError, DownloadLayer, DownloadResponse, DownloadSettings, RemoteCache,
};
use bytes::Bytes;
use http::{header, HeaderMap, Method, StatusCode};
use support::{exchange, get_with, pattern, serve_url, unused_addr};

/// What the upstream answers for one name.
#[derive(Clone, Default)]
struct Served {
    body: Bytes,
    etag: Option<&'static str>,
    cache_control: Option<&'static str>,
    /// Wait this long before answering.
    delay: Duration,
    /// Send this many bytes of the body, then break the connection.
    die_after: Option<usize>,
    status: Option<StatusCode>,
}

/// A real HTTP server that records every request it gets.
#[derive(Default)]
struct Upstream {
    files: Mutex<HashMap<String, Served>>,
    seen: Mutex<Vec<(String, HeaderMap)>>,
}

impl Upstream {
    fn serve(&self, name: &str, served: Served) {
        self.files.lock().unwrap().insert(name.to_owned(), served);
    }

    /// How many requests asked for `name`.
    fn hits(&self, name: &str) -> usize {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|(n, _)| n == name)
            .count()
    }

    fn last_headers(&self, name: &str) -> HeaderMap {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, h)| h.clone())
            .expect("a request")
    }
}

async fn upstream_handler(
    State(upstream): State<Arc<Upstream>>,
    UrlPath(name): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    upstream
        .seen
        .lock()
        .unwrap()
        .push((name.clone(), headers.clone()));
    let served = upstream.files.lock().unwrap().get(&name).cloned();
    let Some(served) = served else {
        return Response::builder().status(404).body(Body::empty()).unwrap();
    };
    tokio::time::sleep(served.delay).await;
    let mut response = Response::builder();
    if let Some(policy) = served.cache_control {
        response = response.header(header::CACHE_CONTROL, policy);
    }
    if let Some(etag) = served.etag {
        response = response.header(header::ETAG, etag);
        let matched = headers
            .get(header::IF_NONE_MATCH)
            .is_some_and(|v| v.to_str().unwrap() == etag);
        if matched {
            return response.status(304).body(Body::empty()).unwrap();
        }
    }
    if let Some(status) = served.status {
        return response.status(status).body(Body::empty()).unwrap();
    }
    let response = response
        .header(header::CONTENT_LENGTH, served.body.len())
        .header(header::CONTENT_TYPE, "application/octet-stream");
    match served.die_after {
        None => response.body(Body::from(served.body)).unwrap(),
        Some(n) => {
            let part = served.body.slice(..n);
            let stream =
                futures_util::stream::iter([Ok(part), Err(io::Error::other("upstream died"))]);
            response.body(Body::from_stream(stream)).unwrap()
        }
    }
}

/// Starts a recording upstream; returns it and its base URL.
async fn start_upstream() -> (Arc<Upstream>, String) {
    let upstream = Arc::new(Upstream::default());
    let app = Router::new()
        .route("/files/{*name}", get(upstream_handler))
        .with_state(upstream.clone());
    (upstream, format!("{}/files/", serve_url(app).await))
}

#[derive(Clone)]
struct AppState {
    cache: RemoteCache,
    base: String,
}

async fn cached(
    State(state): State<AppState>,
    conditions: Conditions,
    UrlPath(name): UrlPath<String>,
) -> Result<DownloadResponse, DownloadError> {
    state
        .cache
        .from_base(&state.base, name)
        .forward(&conditions)
        .await
}

fn cache_app(cache: &RemoteCache, base: &str, settings: DownloadSettings) -> Router {
    Router::new()
        .route("/cached/{*name}", get(cached))
        .layer(DownloadLayer::with_settings(Arc::new(settings)))
        .with_state(AppState {
            cache: cache.clone(),
            base: base.to_owned(),
        })
}

async fn get_ok(app: &Router, uri: &str) -> Vec<u8> {
    let answer = get_with(app, uri, &[]).await;
    assert_eq!(answer.status, StatusCode::OK, "{uri}");
    answer.body().to_vec()
}

fn fresh(body: impl Into<Bytes>) -> Served {
    Served {
        body: body.into(),
        cache_control: Some("public, max-age=600"),
        etag: Some("\"v1\""),
        ..Served::default()
    }
}

/// The cache's data and sidecar files, and anything left in `tmp/`.
fn files_in(dir: &Path) -> (usize, usize, usize) {
    let mut counts = (0, 0, 0);
    for item in std::fs::read_dir(dir).unwrap() {
        let name = item.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".data") {
            counts.0 += 1;
        } else if name.ends_with(".data.json") {
            counts.1 += 1;
        }
    }
    if let Ok(tmp) = std::fs::read_dir(dir.join("tmp")) {
        counts.2 = tmp.count();
    }
    counts
}

async fn open(dir: &Path, max: u64) -> RemoteCache {
    RemoteCache::builder(dir)
        .max_size(max)
        .timeout(Duration::from_secs(5))
        .open()
        .await
        .unwrap()
}

fn plain() -> DownloadSettings {
    DownloadSettings::new(Backend::Development)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_requests_fetch_once() {
    let (upstream, base) = start_upstream().await;
    let body = pattern(1024 * 1024 + 3, 1);
    upstream.serve(
        "big.bin",
        Served {
            delay: Duration::from_millis(300),
            ..fresh(body.clone())
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let cache = open(dir.path(), 1 << 30).await;
    let app = cache_app(&cache, &base, plain());
    let requests = (0..50).map(|_| {
        let app = app.clone();
        tokio::spawn(async move { get_ok(&app, "/cached/big.bin").await })
    });
    for request in requests.collect::<Vec<_>>() {
        assert!(request.await.unwrap() == body, "every client gets the file");
    }
    assert_eq!(upstream.hits("big.bin"), 1, "one fetch for 50 requests");
    assert_eq!(files_in(dir.path()), (1, 1, 0));
    assert_eq!(cache.size(), body.len() as u64);
}

#[tokio::test]
async fn ranges_head_and_304_come_from_disk() {
    let (upstream, base) = start_upstream().await;
    let body = pattern(10_000, 2);
    upstream.serve("a.bin", fresh(body.clone()));
    let dir = tempfile::tempdir().unwrap();
    let cache = open(dir.path(), 1 << 30).await;
    let app = cache_app(&cache, &base, plain());
    let first = get_with(&app, "/cached/a.bin", &[]).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.body(), body);
    let etag = first.headers[header::ETAG].to_str().unwrap().to_owned();
    assert_eq!(first.headers[header::CACHE_CONTROL], "public, max-age=600");

    let part = get_with(&app, "/cached/a.bin", &[("range", "bytes=100-199")]).await;
    assert_eq!(part.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.headers[header::CONTENT_RANGE], "bytes 100-199/10000");
    assert_eq!(part.body(), &body[100..200]);
    let not_modified = get_with(&app, "/cached/a.bin", &[("if-none-match", &etag)]).await;
    assert_eq!(not_modified.status, StatusCode::NOT_MODIFIED);
    let head = exchange(&app, Method::HEAD, "/cached/a.bin", &[]).await;
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.headers[header::CONTENT_LENGTH], "10000");
    assert!(head.body().is_empty());
    assert_eq!(upstream.hits("a.bin"), 1, "the upstream was asked once");
}

#[tokio::test]
async fn a_stale_copy_is_revalidated_with_its_etag() {
    let (upstream, base) = start_upstream().await;
    let body = pattern(5000, 3);
    upstream.serve(
        "r.bin",
        Served {
            cache_control: Some("no-cache"),
            ..fresh(body.clone())
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let cache = open(dir.path(), 1 << 30).await;
    let app = cache_app(&cache, &base, plain());
    assert_eq!(get_ok(&app, "/cached/r.bin").await, body);
    assert_eq!(
        get_ok(&app, "/cached/r.bin").await,
        body,
        "served from disk after a 304"
    );
    assert_eq!(upstream.hits("r.bin"), 2);
    assert_eq!(
        upstream.last_headers("r.bin")[header::IF_NONE_MATCH],
        "\"v1\""
    );

    // A 304 that makes the copy fresh: the next request stays local.
    upstream.serve(
        "r.bin",
        Served {
            cache_control: Some("max-age=600"),
            ..fresh(body.clone())
        },
    );
    assert_eq!(get_ok(&app, "/cached/r.bin").await, body);
    assert_eq!(get_ok(&app, "/cached/r.bin").await, body);
    assert_eq!(upstream.hits("r.bin"), 3);
    assert_eq!(
        files_in(dir.path()),
        (1, 1, 0),
        "revalidation keeps one copy"
    );
}

#[tokio::test]
async fn a_changed_upstream_file_replaces_the_copy() {
    let (upstream, base) = start_upstream().await;
    upstream.serve(
        "c.txt",
        Served {
            cache_control: Some("no-cache"),
            ..fresh(Bytes::from_static(b"version one\n"))
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let cache = open(dir.path(), 1 << 30).await;
    let app = cache_app(&cache, &base, plain());
    assert_eq!(get_ok(&app, "/cached/c.txt").await, b"version one\n");
    upstream.serve(
        "c.txt",
        Served {
            body: Bytes::from_static(b"version two, longer\n"),
            etag: Some("\"v2\""),
            cache_control: Some("no-cache"),
            ..Served::default()
        },
    );
    assert_eq!(
        get_ok(&app, "/cached/c.txt").await,
        b"version two, longer\n"
    );
    assert_eq!(files_in(dir.path()), (1, 1, 0), "the old copy is gone");
}

#[tokio::test]
async fn beyond_the_limit_the_least_recently_used_go() {
    let (upstream, base) = start_upstream().await;
    for (name, seed) in [("a", 1), ("b", 2), ("c", 3), ("d", 4)] {
        upstream.serve(name, fresh(pattern(1000, seed)));
    }
    let dir = tempfile::tempdir().unwrap();
    let cache = open(dir.path(), 3000).await;
    let app = cache_app(&cache, &base, plain());
    for name in ["a", "b", "c"] {
        get_ok(&app, &format!("/cached/{name}")).await;
    }
    get_ok(&app, "/cached/a").await; // a is now more recent than b
    get_ok(&app, "/cached/d").await;
    assert!(
        !cache.contains(&format!("{base}b")),
        "b was the least recently used"
    );
    for name in ["a", "c", "d"] {
        assert!(cache.contains(&format!("{base}{name}")), "{name}");
    }
    assert_eq!(cache.size(), 3000);
    assert_eq!(files_in(dir.path()), (3, 3, 0));
    assert_eq!(get_ok(&app, "/cached/b").await, pattern(1000, 2));
    assert_eq!(upstream.hits("b"), 2, "b was fetched again");
    assert_eq!(upstream.hits("a"), 1);
    assert!(!cache.contains(&format!("{base}c")), "then c was");
}

#[tokio::test]
async fn a_file_larger_than_the_cache_is_relayed_not_stored() {
    let (upstream, base) = start_upstream().await;
    upstream.serve("huge", fresh(pattern(5000, 5)));
    let dir = tempfile::tempdir().unwrap();
    let cache = open(dir.path(), 1000).await;
    let app = cache_app(&cache, &base, plain());
    assert_eq!(get_ok(&app, "/cached/huge").await, pattern(5000, 5));
    assert_eq!(files_in(dir.path()), (0, 0, 0));
}

#[tokio::test]
async fn no_store_and_private_are_never_stored() {
    let (upstream, base) = start_upstream().await;
    for (name, policy) in [("ns", "no-store"), ("p", "private, max-age=600")] {
        upstream.serve(
            name,
            Served {
                cache_control: Some(policy),
                ..fresh(pattern(100, 6))
            },
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let cache = open(dir.path(), 1 << 30).await;
    let app = cache_app(&cache, &base, plain());
    for name in ["ns", "p"] {
        let answer = get_with(&app, &format!("/cached/{name}"), &[]).await;
        assert_eq!(answer.status, StatusCode::OK);
        assert_eq!(answer.body(), pattern(100, 6));
        assert!(answer.headers[header::CACHE_CONTROL]
            .to_str()
            .unwrap()
            .contains(if name == "ns" { "no-store" } else { "private" }));
        get_ok(&app, &format!("/cached/{name}")).await;
    }
    assert_eq!(files_in(dir.path()), (0, 0, 0));
    // The first request's fetch, its relay, then a pass straight through.
    assert_eq!(upstream.hits("ns"), 3);

    let dir = tempfile::tempdir().unwrap();
    let cache = RemoteCache::builder(dir.path())
        .store_private(true)
        .open()
        .await
        .unwrap();
    let private_app = cache_app(&cache, &base, plain());
    get_ok(&private_app, "/cached/p").await;
    assert_eq!(
        files_in(dir.path()),
        (1, 1, 0),
        "store_private keeps private answers"
    );
}

#[tokio::test]
async fn an_upstream_that_dies_mid_body_leaves_no_entry() {
    let (upstream, base) = start_upstream().await;
    upstream.serve(
        "cut.bin",
        Served {
            die_after: Some(300_000),
            ..fresh(pattern(1024 * 1024, 7))
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let cache = open(dir.path(), 1 << 30).await;
    let app = cache_app(&cache, &base, plain());
    let answer = get_with(&app, "/cached/cut.bin", &[]).await;
    assert_eq!(answer.status, StatusCode::BAD_GATEWAY);
    assert!(!cache.contains(&format!("{base}cut.bin")));
    // The temporary file is removed on the blocking pool: give it a moment.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(files_in(dir.path()), (0, 0, 0), "no partial file anywhere");
    // The next request tries again.
    upstream.serve("cut.bin", fresh(pattern(1024 * 1024, 7)));
    assert_eq!(
        get_ok(&app, "/cached/cut.bin").await,
        pattern(1024 * 1024, 7)
    );
}

#[tokio::test]
async fn a_restart_rebuilds_the_index_and_removes_leftovers() {
    let (upstream, base) = start_upstream().await;
    upstream.serve("keep.bin", fresh(pattern(2000, 8)));
    let dir = tempfile::tempdir().unwrap();
    {
        let cache = open(dir.path(), 1 << 30).await;
        let app = cache_app(&cache, &base, plain());
        get_ok(&app, "/cached/keep.bin").await;
    }
    // What a crash leaves: a download in progress, a data file whose
    // sidecar was never written, a sidecar whose data file is gone.
    std::fs::write(dir.path().join("tmp/0123-x.data.part"), b"half").unwrap();
    std::fs::write(dir.path().join("00ff-1.data"), b"complete-looking").unwrap();
    std::fs::write(dir.path().join("00ee-1.data.json"), b"{\"url\": \"x\"}").unwrap();

    let cache = open(dir.path(), 1 << 30).await;
    assert!(cache.contains(&format!("{base}keep.bin")));
    assert_eq!(cache.size(), 2000);
    assert_eq!(files_in(dir.path()), (1, 1, 0), "leftovers removed");
    let app = cache_app(&cache, &base, plain());
    assert_eq!(get_ok(&app, "/cached/keep.bin").await, pattern(2000, 8));
    assert_eq!(
        upstream.hits("keep.bin"),
        1,
        "served from the rebuilt index"
    );

    // A smaller limit at start-up evicts down to it.
    drop(app);
    let cache = open(dir.path(), 1000).await;
    assert_eq!(cache.size(), 0);
    assert_eq!(files_in(dir.path()), (0, 0, 0));
}

#[tokio::test]
async fn upstream_failures_answer_404_502_504() {
    let (upstream, base) = start_upstream().await;
    upstream.serve(
        "boom",
        Served {
            status: Some(StatusCode::INTERNAL_SERVER_ERROR),
            ..Served::default()
        },
    );
    upstream.serve(
        "slow",
        Served {
            delay: Duration::from_secs(3),
            ..fresh(pattern(10, 9))
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let cache = RemoteCache::builder(dir.path())
        .timeout(Duration::from_millis(300))
        .open()
        .await
        .unwrap();
    let app = cache_app(&cache, &base, plain());
    for (uri, want) in [
        ("/cached/missing", StatusCode::NOT_FOUND),
        ("/cached/boom", StatusCode::BAD_GATEWAY),
        ("/cached/slow", StatusCode::GATEWAY_TIMEOUT),
        ("/cached/..%2f..%2fetc", StatusCode::NOT_FOUND),
        ("/cached/%2e%2e/x", StatusCode::NOT_FOUND),
    ] {
        assert_eq!(get_with(&app, uri, &[]).await.status, want, "{uri}");
    }
    let unreachable = app_for_dead_upstream(&cache).await;
    let answer = get_with(&unreachable, "/cached/x", &[]).await;
    assert_eq!(answer.status, StatusCode::BAD_GATEWAY);
    assert_eq!(files_in(dir.path()), (0, 0, 0));
}

async fn app_for_dead_upstream(cache: &RemoteCache) -> Router {
    cache_app(cache, &format!("http://{}/files/", unused_addr()), plain())
}

#[tokio::test]
async fn a_cached_file_is_handed_off_like_a_local_file() {
    let (upstream, base) = start_upstream().await;
    upstream.serve("h.pdf", fresh(pattern(3000, 10)));
    let dir = tempfile::tempdir().unwrap();
    let cache = open(dir.path(), 1 << 30).await;
    let settings = DownloadSettings::new(Backend::Nginx)
        .rule(Rule::nginx("/x-accel/cache/").source_dir(cache.dir()));
    let app = cache_app(&cache, &base, settings);
    let answer = get_with(&app, "/cached/h.pdf", &[]).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.body().is_empty(), "the proxy sends the bytes");
    let headers = &answer.headers;
    let target = headers["x-accel-redirect"].to_str().unwrap();
    let file = target.strip_prefix("/x-accel/cache/").expect(target);
    assert_eq!(
        std::fs::read(dir.path().join(file)).unwrap(),
        pattern(3000, 10)
    );
    assert_eq!(
        headers[header::CONTENT_DISPOSITION],
        "attachment; filename=\"h.pdf\""
    );
    assert_eq!(headers[header::CONTENT_TYPE], "application/octet-stream");
}
