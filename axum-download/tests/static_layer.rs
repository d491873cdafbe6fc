//! `StaticFiles` as a black box: driven in-process around a stand-in inner
//! service and around a router, over a root collected from awkward
//! fixtures.
#![cfg(feature = "collect")]

mod support;

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use axum_download::offload::{Backend, Rule, X_ACCEL_REDIRECT};
use axum_download::static_files::{
    Collect, StaticFiles, StaticManifest, HASHED_CACHE_CONTROL, UNHASHED_CACHE_CONTROL,
};
use axum_download::test_util::TempMediaRoot;
use axum_download::DownloadSettings;
use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode};
use support::{exchange, get_with, pattern};
use tempfile::TempDir;
use tower::Service;
use tower_layer::Layer;

/// A collected root and the sources it came from.
struct Fixture {
    root: TempDir,
    manifest: StaticManifest,
}

impl Fixture {
    fn hashed(&self, logical: &str) -> String {
        self.manifest.hashed_name(logical).unwrap().to_owned()
    }

    fn bytes(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.root.path().join(name)).unwrap()
    }

    fn files(&self) -> StaticFiles {
        StaticFiles::collected(self.root.path()).build().unwrap()
    }
}

/// `css/app.css` (sidecars), `img/logo.png` and `img/big.bin` (no
/// sidecars; the latter larger than the byte cache), `a b/é.txt`,
/// `empty.txt`: collected once, then copied for each test (some remove
/// files).
fn fixture() -> Fixture {
    static COLLECTED: std::sync::OnceLock<(TempMediaRoot, TempDir, StaticManifest)> =
        std::sync::OnceLock::new();
    let (_, collected, manifest) = COLLECTED.get_or_init(|| {
        let src = TempMediaRoot::new();
        src.file("css/app.css", "body { color: red; }\n".repeat(100));
        src.file("img/logo.png", pattern(2000, 0x1234_5678));
        src.file("img/big.bin", pattern(300_000, 0x1234_5678));
        src.file("a b/é.txt", "hello é\n");
        src.file("empty.txt", b"");
        let root = TempDir::new().unwrap();
        let report = Collect::new(root.path()).source(src.path()).run().unwrap();
        (src, root, report.manifest)
    });
    let root = TempDir::new().unwrap();
    copy_tree(collected.path(), root.path());
    Fixture {
        root,
        manifest: manifest.clone(),
    }
}

fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir(&target).unwrap();
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The stand-in application: says what it got.
fn inner(
) -> impl Service<Request<Body>, Response = Response, Error = Infallible, Future = impl Send> + Clone
{
    tower::service_fn(|request: Request<Body>| async move {
        let text = format!("inner {} {}", request.method(), request.uri());
        Ok::<_, Infallible>(
            Response::builder()
                .header("x-inner", "yes")
                .body(Body::from(text))
                .unwrap(),
        )
    })
}

fn names(list: &[&'static str]) -> BTreeSet<&'static str> {
    list.iter().copied().collect()
}

// ---------------------------------------------------------------- transparency

/// The same router with and without the layer: identical answers for every
/// request outside the prefix (status, headers, body).
#[tokio::test]
async fn answers_outside_the_prefix_are_identical_with_and_without_the_layer() {
    let fixture = fixture();
    let app = Router::new()
        .route("/", get(|| async { "home" }))
        .route(
            "/echo/{*rest}",
            get(
                |headers: HeaderMap| async move { format!("{:?}", headers.get("accept-encoding")) },
            )
            .post(|body: Bytes| async move { body }),
        )
        .route("/form", post(|| async { (StatusCode::CREATED, "made") }))
        .route(
            "/staticky",
            get(|| async { ([("cache-control", "private")], "not static") }),
        );
    let layered = app.clone().layer(fixture.files());
    let requests = [
        (Method::GET, "/"),
        (Method::HEAD, "/"),
        (Method::GET, "/echo/static/css/app.css"),
        (Method::POST, "/echo/x"),
        (Method::POST, "/form"),
        (Method::DELETE, "/form"),
        (Method::GET, "/staticky"),
        (Method::GET, "/statics/css/app.css"),
        (Method::GET, "/STATIC/css/app.css"),
        (Method::GET, "/nothing/here"),
        (Method::GET, "/%2Fstatic/css/app.css"),
        (Method::GET, "/other/static/css/app.css"),
    ];
    for (method, uri) in requests {
        let headers = [("accept-encoding", "br"), ("range", "bytes=0-1")];
        let plain = exchange(&app, method.clone(), uri, &headers).await;
        let through = exchange(&layered, method.clone(), uri, &headers).await;
        assert_eq!(plain.status, through.status, "{method} {uri}");
        assert_eq!(plain.headers, through.headers, "{method} {uri}");
        assert_eq!(plain.body, through.body, "{method} {uri}");
    }
}

#[tokio::test]
async fn requests_outside_the_prefix_reach_the_inner_service_unchanged() {
    let fixture = fixture();
    let service = fixture.files().layer(inner());
    for uri in [
        "/",
        "/static-url/css/app.css",
        "/staticx",
        "/x/static/css/app.css",
        "/stat?static/",
    ] {
        for method in [Method::GET, Method::POST, Method::OPTIONS] {
            let answer = exchange(&service, method.clone(), uri, &[]).await;
            assert_eq!(answer.status, StatusCode::OK, "{method} {uri}");
            assert_eq!(answer.header("x-inner"), Some("yes"));
            assert_eq!(answer.body(), format!("inner {method} {uri}").as_bytes());
        }
    }
}

#[tokio::test]
async fn requests_under_the_prefix_never_reach_the_inner_service() {
    let fixture = fixture();
    let service = fixture.files().layer(inner());
    for (method, uri) in [
        (Method::GET, "/static/css/app.css"),
        (Method::GET, "/static/nope.css"),
        (Method::GET, "/static/"),
        (Method::GET, "/static"),
        (Method::POST, "/static/css/app.css"),
        (Method::GET, "/static/../x"),
    ] {
        let answer = exchange(&service, method.clone(), uri, &[]).await;
        assert_eq!(answer.header("x-inner"), None, "{method} {uri}");
    }
}

// ---------------------------------------------------------------- answers

#[tokio::test]
async fn hashed_name_is_immutable_with_every_header_computed() {
    let fixture = fixture();
    let service = fixture.files().service();
    let name = fixture.hashed("img/logo.png");
    let answer = get_with(&service, &format!("/static/{name}"), &[]).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.names(),
        names(&[
            "content-type",
            "content-length",
            "etag",
            "last-modified",
            "cache-control",
            "accept-ranges",
            "x-content-type-options",
        ])
    );
    assert_eq!(answer.header("content-type"), Some("image/png"));
    assert_eq!(answer.header("content-length"), Some("2000"));
    assert_eq!(answer.header("cache-control"), Some(HASHED_CACHE_CONTROL));
    assert_eq!(answer.header("accept-ranges"), Some("bytes"));
    assert_eq!(answer.header("x-content-type-options"), Some("nosniff"));
    let etag = answer.header("etag").unwrap();
    assert!(etag.starts_with('"') && etag.ends_with('"') && !etag.starts_with("W/"));
    assert_eq!(answer.body(), fixture.bytes(&name));
}

#[tokio::test]
async fn unhashed_original_is_no_cache() {
    let fixture = fixture();
    let service = fixture.files().service();
    let answer = get_with(&service, "/static/img/logo.png", &[]).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.header("cache-control"), Some(UNHASHED_CACHE_CONTROL));
    assert!(answer.header("etag").is_some());
    assert_eq!(answer.body(), fixture.bytes("img/logo.png"));
}

#[tokio::test]
async fn caching_comes_from_the_manifest_not_from_the_name() {
    // A name that looks hashed but is only an original: no-cache.
    let src = TempDir::new().unwrap();
    std::fs::write(src.path().join("lib.0123456789ab.js"), "x").unwrap();
    let root = TempDir::new().unwrap();
    let report = Collect::new(root.path()).source(src.path()).run().unwrap();
    let service = StaticFiles::collected(root.path())
        .build()
        .unwrap()
        .service();
    let original = get_with(&service, "/static/lib.0123456789ab.js", &[]).await;
    assert_eq!(
        original.header("cache-control"),
        Some(UNHASHED_CACHE_CONTROL)
    );
    let hashed = report.manifest.hashed_name("lib.0123456789ab.js").unwrap();
    let hashed = get_with(&service, &format!("/static/{hashed}"), &[]).await;
    assert_eq!(hashed.header("cache-control"), Some(HASHED_CACHE_CONTROL));
}

#[tokio::test]
async fn awkward_names_are_served() {
    let fixture = fixture();
    let service = fixture.files().service();
    let answer = get_with(&service, "/static/a%20b/%C3%A9.txt", &[]).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body(), "hello é\n".as_bytes());
    assert_eq!(
        answer.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    let empty = get_with(&service, "/static/empty.txt", &[]).await;
    assert_eq!(empty.status, StatusCode::OK);
    assert_eq!(empty.header("content-length"), Some("0"));
    assert_eq!(empty.body(), b"");
}

#[tokio::test]
async fn query_strings_are_ignored() {
    let fixture = fixture();
    let service = fixture.files().service();
    let answer = get_with(&service, "/static/img/logo.png?v=3#x", &[]).await;
    assert_eq!(answer.status, StatusCode::OK);
}

#[tokio::test]
async fn no_content_disposition_on_any_answer() {
    let fixture = fixture();
    let service = fixture.files().service();
    for headers in [
        &[][..],
        &[("range", "bytes=0-0")],
        &[("range", "bytes=0-0,5-6")],
        &[("range", "bytes=999999-")],
        &[("accept-encoding", "gzip")],
    ] {
        let answer = get_with(&service, "/static/css/app.css", headers).await;
        assert_eq!(answer.header("content-disposition"), None, "{headers:?}");
    }
}

// ---------------------------------------------------------------- encodings

#[tokio::test]
async fn accept_encoding_picks_the_smallest_acceptable_sidecar() {
    let fixture = fixture();
    let service = fixture.files().service();
    let uri = "/static/css/app.css";
    let size = |ext: &str| {
        std::fs::metadata(fixture.root.path().join(format!("css/app.css{ext}")))
            .unwrap()
            .len()
    };
    let smallest = [("br", ".br"), ("zstd", ".zst"), ("gzip", ".gz")]
        .into_iter()
        .min_by_key(|(_, ext)| size(ext))
        .unwrap();
    let all = get_with(
        &service,
        uri,
        &[("accept-encoding", "gzip, deflate, br, zstd")],
    )
    .await;
    assert_eq!(all.header("content-encoding"), Some(smallest.0));
    assert_eq!(
        all.body(),
        fixture.bytes(&format!("css/app.css{}", smallest.1))
    );

    for (coding, ext) in [("br", ".br"), ("zstd", ".zst"), ("gzip", ".gz")] {
        let answer = get_with(&service, uri, &[("accept-encoding", coding)]).await;
        assert_eq!(answer.header("content-encoding"), Some(coding));
        assert_eq!(answer.header("vary"), Some("Accept-Encoding"));
        assert_eq!(
            answer.header("content-length").unwrap(),
            size(ext).to_string()
        );
        assert_eq!(
            answer.body(),
            fixture.bytes(&format!("css/app.css{ext}")),
            "{coding}"
        );
    }
    let x_gzip = get_with(&service, uri, &[("accept-encoding", "x-gzip")]).await;
    assert_eq!(x_gzip.header("content-encoding"), Some("gzip"));
}

#[tokio::test]
async fn q_zero_refuses_a_coding() {
    let fixture = fixture();
    let service = fixture.files().service();
    let answer = get_with(
        &service,
        "/static/css/app.css",
        &[("accept-encoding", "br;q=0, zstd;q=0, gzip")],
    )
    .await;
    assert_eq!(answer.header("content-encoding"), Some("gzip"));
    let none = get_with(
        &service,
        "/static/css/app.css",
        &[("accept-encoding", "br;q=0, zstd;q=0, gzip;q=0")],
    )
    .await;
    assert_eq!(none.header("content-encoding"), None);
    assert_eq!(none.body(), fixture.bytes("css/app.css"));
}

#[tokio::test]
async fn higher_q_wins_over_size() {
    let fixture = fixture();
    let service = fixture.files().service();
    let answer = get_with(
        &service,
        "/static/css/app.css",
        &[("accept-encoding", "br;q=0.2, gzip;q=0.9")],
    )
    .await;
    assert_eq!(answer.header("content-encoding"), Some("gzip"));
}

#[tokio::test]
async fn identity_is_sent_without_accept_encoding_and_when_nothing_is_acceptable() {
    let fixture = fixture();
    let service = fixture.files().service();
    let identity = fixture.bytes("css/app.css");
    for headers in [
        &[][..],
        &[("accept-encoding", "")],
        &[("accept-encoding", "identity")],
        &[("accept-encoding", "deflate")],
        // Nothing acceptable: identity anyway, never 406.
        &[("accept-encoding", "identity;q=0")],
        &[("accept-encoding", "*;q=0")],
    ] {
        let answer = get_with(&service, "/static/css/app.css", headers).await;
        assert_eq!(answer.status, StatusCode::OK, "{headers:?}");
        assert_eq!(answer.header("content-encoding"), None, "{headers:?}");
        assert_eq!(answer.body(), identity, "{headers:?}");
        assert_eq!(answer.header("vary"), Some("Accept-Encoding"));
    }
    let refused = get_with(
        &service,
        "/static/css/app.css",
        &[("accept-encoding", "identity;q=0, gzip")],
    )
    .await;
    assert_eq!(refused.header("content-encoding"), Some("gzip"));
}

#[tokio::test]
async fn each_representation_has_its_own_strong_etag() {
    let fixture = fixture();
    let service = fixture.files().service();
    let mut tags = BTreeSet::new();
    for coding in ["identity", "br", "zstd", "gzip"] {
        let answer = get_with(
            &service,
            "/static/css/app.css",
            &[("accept-encoding", coding)],
        )
        .await;
        let etag = answer.header("etag").unwrap().to_owned();
        assert!(!etag.starts_with("W/"), "{etag}");
        tags.insert(etag);
    }
    assert_eq!(tags.len(), 4, "{tags:?}");
}

#[tokio::test]
async fn a_file_without_sidecars_has_no_vary() {
    let fixture = fixture();
    let service = fixture.files().service();
    let answer = get_with(
        &service,
        "/static/img/logo.png",
        &[("accept-encoding", "br")],
    )
    .await;
    assert_eq!(answer.header("vary"), None);
    assert_eq!(answer.header("content-encoding"), None);
}

/// 200, 206, 304 and 416 for one representation carry the same `Vary`,
/// `Cache-Control`, `ETag`, configured headers and the rest of what is not
/// about the body.
#[tokio::test]
async fn headers_are_identical_on_200_206_304_and_416() {
    let fixture = fixture();
    let files = StaticFiles::collected(fixture.root.path())
        .header("access-control-allow-origin", "*")
        .header("x-frame-options", "DENY")
        .build()
        .unwrap();
    let service = files.service();
    let name = format!("/static/{}", fixture.hashed("css/app.css"));
    let br = ("accept-encoding", "br");
    let full = get_with(&service, &name, &[br]).await;
    let etag = full.header("etag").unwrap().to_owned();
    let partial = get_with(&service, &name, &[br, ("range", "bytes=0-9")]).await;
    let not_modified = get_with(&service, &name, &[br, ("if-none-match", &etag)]).await;
    let unsatisfiable = get_with(&service, &name, &[br, ("range", "bytes=99999999-")]).await;
    assert_eq!(full.status, StatusCode::OK);
    assert_eq!(partial.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(not_modified.status, StatusCode::NOT_MODIFIED);
    assert_eq!(unsatisfiable.status, StatusCode::RANGE_NOT_SATISFIABLE);
    for answer in [&full, &partial, &not_modified, &unsatisfiable] {
        for header in [
            "vary",
            "cache-control",
            "etag",
            "last-modified",
            "accept-ranges",
            "x-content-type-options",
            "access-control-allow-origin",
            "x-frame-options",
        ] {
            assert_eq!(
                answer.header(header),
                full.header(header),
                "{header} on {}",
                answer.status
            );
        }
    }
    assert_eq!(full.header("vary"), Some("Accept-Encoding"));
    assert_eq!(partial.header("content-encoding"), Some("br"));
    assert_eq!(
        partial.body(),
        &fixture.bytes(&format!("{}.br", fixture.hashed("css/app.css")))[..10]
    );
}

#[tokio::test]
async fn if_none_match_compares_the_representation_sent() {
    let fixture = fixture();
    let service = fixture.files().service();
    let uri = "/static/css/app.css";
    let gzip = get_with(&service, uri, &[("accept-encoding", "gzip")]).await;
    let gzip_tag = gzip.header("etag").unwrap();
    let again = get_with(
        &service,
        uri,
        &[("accept-encoding", "gzip"), ("if-none-match", gzip_tag)],
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    // The gzip tag does not validate the brotli representation.
    let other = get_with(
        &service,
        uri,
        &[("accept-encoding", "br"), ("if-none-match", gzip_tag)],
    )
    .await;
    assert_eq!(other.status, StatusCode::OK);
    // A list, weak comparison, as RFC 9110 says for If-None-Match.
    let list = format!("\"nope\", W/{gzip_tag}");
    let weak = get_with(
        &service,
        uri,
        &[("accept-encoding", "gzip"), ("if-none-match", &list)],
    )
    .await;
    assert_eq!(weak.status, StatusCode::NOT_MODIFIED);
}

// ---------------------------------------------------------------- ranges, conditionals, HEAD

#[tokio::test]
async fn single_suffix_and_multipart_ranges() {
    let fixture = fixture();
    let service = fixture.files().service();
    let uri = "/static/img/big.bin";
    let bytes = fixture.bytes("img/big.bin");
    let single = get_with(&service, uri, &[("range", "bytes=100-199")]).await;
    assert_eq!(single.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(single.header("content-range"), Some("bytes 100-199/300000"));
    assert_eq!(single.body(), &bytes[100..200]);
    let one_byte = get_with(&service, uri, &[("range", "bytes=0-0")]).await;
    assert_eq!(one_byte.body(), &bytes[..1]);
    let suffix = get_with(&service, uri, &[("range", "bytes=-70000")]).await;
    assert_eq!(suffix.body(), &bytes[300_000 - 70_000..]);
    let multi = get_with(&service, uri, &[("range", "bytes=0-9,200000-200009")]).await;
    assert_eq!(multi.status, StatusCode::PARTIAL_CONTENT);
    let content_type = multi.header("content-type").unwrap();
    assert!(content_type.starts_with("multipart/byteranges; boundary="));
    let body = multi.body();
    assert!(body.windows(10).any(|w| w == &bytes[..10]));
    assert!(body.windows(10).any(|w| w == &bytes[200_000..200_010]));
    let unsatisfiable = get_with(&service, uri, &[("range", "bytes=300000-")]).await;
    assert_eq!(unsatisfiable.status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(
        unsatisfiable.header("content-range"),
        Some("bytes */300000")
    );
}

#[tokio::test]
async fn a_large_file_streams_whole() {
    let fixture = fixture();
    let service = fixture.files().service();
    let answer = get_with(&service, "/static/img/big.bin", &[]).await;
    assert_eq!(answer.body(), fixture.bytes("img/big.bin"));
}

#[tokio::test]
async fn if_range_with_the_current_etag_gets_the_range_else_the_whole_file() {
    let fixture = fixture();
    let service = fixture.files().service();
    let uri = "/static/img/logo.png";
    let etag = get_with(&service, uri, &[])
        .await
        .header("etag")
        .unwrap()
        .to_owned();
    let hit = get_with(
        &service,
        uri,
        &[("range", "bytes=0-3"), ("if-range", &etag)],
    )
    .await;
    assert_eq!(hit.status, StatusCode::PARTIAL_CONTENT);
    let miss = get_with(
        &service,
        uri,
        &[("range", "bytes=0-3"), ("if-range", "\"old\"")],
    )
    .await;
    assert_eq!(miss.status, StatusCode::OK);
    assert_eq!(miss.body().len(), 2000);
}

#[tokio::test]
async fn preconditions_answer_304_and_412() {
    let fixture = fixture();
    let service = fixture.files().service();
    let uri = "/static/img/logo.png";
    let first = get_with(&service, uri, &[]).await;
    let modified = first.header("last-modified").unwrap();
    let since = get_with(&service, uri, &[("if-modified-since", modified)]).await;
    assert_eq!(since.status, StatusCode::NOT_MODIFIED);
    assert_eq!(since.body(), b"");
    let failed = get_with(&service, uri, &[("if-match", "\"other\"")]).await;
    assert_eq!(failed.status, StatusCode::PRECONDITION_FAILED);
}

#[tokio::test]
async fn head_answers_the_headers_of_get_without_a_body() {
    let fixture = fixture();
    let service = fixture.files().service();
    for uri in ["/static/css/app.css", "/static/img/big.bin"] {
        let got = get_with(&service, uri, &[("accept-encoding", "br")]).await;
        let head = exchange(&service, Method::HEAD, uri, &[("accept-encoding", "br")]).await;
        assert_eq!(head.status, StatusCode::OK);
        assert_eq!(head.headers, got.headers, "{uri}");
        assert_eq!(head.body(), b"");
    }
}

/// The table answers from what it read at start-up: a `HEAD` or a 304 for
/// a file removed since never touches the file system.
#[tokio::test]
async fn head_and_304_never_open_the_file() {
    let fixture = fixture();
    let service = fixture.files().service();
    let uri = "/static/img/big.bin";
    let etag = get_with(&service, uri, &[])
        .await
        .header("etag")
        .unwrap()
        .to_owned();
    std::fs::remove_file(fixture.root.path().join("img/big.bin")).unwrap();
    let head = exchange(&service, Method::HEAD, uri, &[]).await;
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.header("content-length"), Some("300000"));
    let not_modified = get_with(&service, uri, &[("if-none-match", &etag)]).await;
    assert_eq!(not_modified.status, StatusCode::NOT_MODIFIED);
    // A GET needs the bytes: its body fails rather than look complete.
    let got = get_with(&service, uri, &[]).await;
    assert!(got.body.is_none());
}

// ---------------------------------------------------------------- byte cache

#[tokio::test]
async fn small_files_are_answered_from_the_byte_cache_once_read() {
    let fixture = fixture();
    let service = fixture.files().service();
    let uri = "/static/img/logo.png";
    let first = get_with(&service, uri, &[]).await;
    std::fs::remove_file(fixture.root.path().join("img/logo.png")).unwrap();
    let second = get_with(&service, uri, &[]).await;
    assert_eq!(second.body(), first.body());
    let range = get_with(&service, uri, &[("range", "bytes=1-2")]).await;
    assert_eq!(range.body(), &first.body()[1..3]);
}

#[tokio::test]
async fn without_the_byte_cache_every_request_opens_the_file() {
    let fixture = fixture();
    let service = StaticFiles::collected(fixture.root.path())
        .no_byte_cache()
        .build()
        .unwrap()
        .service();
    let uri = "/static/img/logo.png";
    assert_eq!(get_with(&service, uri, &[]).await.body().len(), 2000);
    std::fs::remove_file(fixture.root.path().join("img/logo.png")).unwrap();
    assert!(get_with(&service, uri, &[]).await.body.is_none());
}

#[tokio::test]
async fn files_above_the_byte_cache_limit_are_read_each_time() {
    let fixture = fixture();
    let service = StaticFiles::collected(fixture.root.path())
        .byte_cache(1000, 1 << 20)
        .build()
        .unwrap()
        .service();
    let uri = "/static/img/logo.png"; // 2000 bytes
    assert_eq!(get_with(&service, uri, &[]).await.body().len(), 2000);
    std::fs::remove_file(fixture.root.path().join("img/logo.png")).unwrap();
    assert!(get_with(&service, uri, &[]).await.body.is_none());
}

#[tokio::test]
async fn the_byte_cache_stops_at_its_total() {
    let fixture = fixture();
    let service = StaticFiles::collected(fixture.root.path())
        .byte_cache(16 * 1024, 2500)
        .build()
        .unwrap()
        .service();
    let logo = "/static/img/logo.png"; // 2000 bytes: fits
    let hashed = format!("/static/{}", fixture.hashed("img/logo.png")); // 2000 more: does not
    assert_eq!(get_with(&service, logo, &[]).await.body().len(), 2000);
    assert_eq!(get_with(&service, &hashed, &[]).await.body().len(), 2000);
    std::fs::remove_file(fixture.root.path().join("img/logo.png")).unwrap();
    std::fs::remove_file(fixture.root.path().join(fixture.hashed("img/logo.png"))).unwrap();
    assert_eq!(get_with(&service, logo, &[]).await.body().len(), 2000);
    assert!(get_with(&service, &hashed, &[]).await.body.is_none());
}

#[tokio::test]
async fn a_file_rewritten_after_the_build_fails_its_transfer_until_reloaded() {
    let fixture = fixture();
    let files = StaticFiles::collected(fixture.root.path())
        .no_byte_cache()
        .build()
        .unwrap();
    let service = files.service();
    let uri = "/static/a%20b/%C3%A9.txt";
    std::fs::write(fixture.root.path().join("a b/é.txt"), "rewritten, longer\n").unwrap();
    let stale = get_with(&service, uri, &[]).await;
    assert_eq!(stale.header("content-length"), Some("9"));
    assert!(stale.body.is_none(), "new bytes under the old headers");
    files.reload().await.unwrap();
    let fresh = get_with(&service, uri, &[]).await;
    assert_eq!(fresh.body(), b"rewritten, longer\n");
}

// ---------------------------------------------------------------- refusals

async fn assert_not_found(uri: &str) {
    let fixture = fixture();
    let service = fixture.files().layer(inner());
    let answer = get_with(&service, uri, &[]).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND, "{uri}");
    assert_eq!(answer.header("x-inner"), None, "{uri}");
    assert_eq!(answer.header("cache-control"), Some("no-cache"));
    assert_eq!(
        answer.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
}

#[tokio::test]
async fn refuses_a_name_not_in_the_table() {
    assert_not_found("/static/css/nope.css").await;
}

#[tokio::test]
async fn refuses_the_manifest_itself() {
    assert_not_found("/static/staticfiles.json").await;
}

#[tokio::test]
async fn refuses_the_bare_prefix() {
    assert_not_found("/static/").await;
    assert_not_found("/static").await;
}

#[tokio::test]
async fn refuses_a_directory() {
    assert_not_found("/static/css").await;
    assert_not_found("/static/css/").await;
}

#[tokio::test]
async fn refuses_parent_segments() {
    assert_not_found("/static/../static/css/app.css").await;
    assert_not_found("/static/css/../css/app.css").await;
}

#[tokio::test]
async fn refuses_encoded_parent_segments() {
    assert_not_found("/static/%2e%2e/static/css/app.css").await;
    assert_not_found("/static/css/%2E%2E/css/app.css").await;
}

#[tokio::test]
async fn refuses_dot_and_empty_segments() {
    assert_not_found("/static/./css/app.css").await;
    assert_not_found("/static/css//app.css").await;
    assert_not_found("/static//css/app.css").await;
}

#[tokio::test]
async fn refuses_encoded_slash() {
    assert_not_found("/static/css%2Fapp.css").await;
    assert_not_found("/static/css%2fapp.css").await;
}

#[tokio::test]
async fn refuses_encoded_backslash() {
    assert_not_found("/static/css%5Capp.css").await;
    assert_not_found("/static/css%5capp.css").await;
}

#[tokio::test]
async fn refuses_encoded_nul() {
    assert_not_found("/static/css/app.css%00").await;
}

#[tokio::test]
async fn refuses_invalid_utf8() {
    assert_not_found("/static/%FF.css").await;
}

#[tokio::test]
async fn refuses_a_sidecar_by_its_own_name() {
    assert_not_found("/static/css/app.css.br").await;
    assert_not_found("/static/css/app.css.gz").await;
}

#[tokio::test]
async fn other_methods_get_405_with_allow() {
    let fixture = fixture();
    let service = fixture.files().layer(inner());
    for method in [
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::PATCH,
        Method::OPTIONS,
    ] {
        for uri in ["/static/css/app.css", "/static/nope"] {
            let answer = exchange(&service, method.clone(), uri, &[]).await;
            assert_eq!(
                answer.status,
                StatusCode::METHOD_NOT_ALLOWED,
                "{method} {uri}"
            );
            assert_eq!(answer.header("allow"), Some("GET, HEAD"));
            assert_eq!(answer.header("x-inner"), None);
        }
    }
}

#[tokio::test]
async fn head_of_a_404_has_no_body() {
    let fixture = fixture();
    let service = fixture.files().service();
    let answer = exchange(&service, Method::HEAD, "/static/nope", &[]).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(answer.body(), b"");
}

// ---------------------------------------------------------------- configuration

#[tokio::test]
async fn prefix_and_cache_control_are_configurable() {
    let fixture = fixture();
    let service = StaticFiles::collected(fixture.root.path())
        .prefix("/assets")
        .hashed_cache_control("public, max-age=60")
        .unhashed_cache_control("no-store")
        .build()
        .unwrap()
        .layer(inner());
    let hashed = format!("/assets/{}", fixture.hashed("img/logo.png"));
    let answer = get_with(&service, &hashed, &[]).await;
    assert_eq!(answer.header("cache-control"), Some("public, max-age=60"));
    let original = get_with(&service, "/assets/img/logo.png", &[]).await;
    assert_eq!(original.header("cache-control"), Some("no-store"));
    let outside = get_with(&service, "/static/img/logo.png", &[]).await;
    assert_eq!(outside.header("x-inner"), Some("yes"));
}

#[test]
fn invalid_settings_are_errors_that_name_the_key() {
    let fixture = fixture();
    let root = fixture.root.path();
    let message = |builder: axum_download::static_files::StaticFilesBuilder| {
        builder.build().unwrap_err().to_string()
    };
    assert!(message(StaticFiles::collected(root).prefix("static")).contains("`prefix`"));
    assert!(message(StaticFiles::collected(root).prefix("/a b/")).contains("`prefix`"));
    assert!(
        message(StaticFiles::collected(root).hashed_cache_control(""))
            .contains("`hashed_cache_control`")
    );
    assert!(
        message(StaticFiles::collected(root).unhashed_cache_control("a\nb"))
            .contains("`unhashed_cache_control`")
    );
    assert!(message(StaticFiles::collected(root).header("x", "a\nb")).contains("`header`"));
    assert!(message(StaticFiles::development([root]).manifest("m.json")).contains("`manifest`"));
    assert!(message(StaticFiles::development(Vec::<&Path>::new())).contains("source"));
    let missing = message(StaticFiles::collected(root).manifest(root.join("none.json")));
    assert!(missing.contains("none.json"), "{missing}");
}

#[test]
fn a_missing_hashed_file_fails_the_build_and_names_it() {
    let fixture = fixture();
    let hashed = fixture.hashed("img/logo.png");
    std::fs::remove_file(fixture.root.path().join(&hashed)).unwrap();
    let err = StaticFiles::collected(fixture.root.path())
        .build()
        .unwrap_err();
    assert!(err.to_string().contains(&hashed), "{err}");
}

#[tokio::test]
async fn a_missing_original_is_left_out() {
    let fixture = fixture();
    std::fs::remove_file(fixture.root.path().join("img/logo.png")).unwrap();
    let files = fixture.files();
    let service = files.service();
    assert_eq!(
        get_with(&service, "/static/img/logo.png", &[]).await.status,
        StatusCode::NOT_FOUND
    );
    let hashed = format!("/static/{}", fixture.hashed("img/logo.png"));
    assert_eq!(
        get_with(&service, &hashed, &[]).await.status,
        StatusCode::OK
    );
}

#[test]
fn a_manifest_naming_a_path_outside_the_root_is_refused() {
    let root = TempDir::new().unwrap();
    std::fs::write(
        root.path().join("staticfiles.json"),
        r#"{"paths": {"a.css": "../a.0123456789ab.css"}, "version": "1.1"}"#,
    )
    .unwrap();
    let err = StaticFiles::collected(root.path()).build().unwrap_err();
    assert!(err.to_string().contains("../a.0123456789ab.css"), "{err}");
}

#[tokio::test]
async fn works_as_an_axum_fallback() {
    let fixture = fixture();
    let files = fixture.files();
    let app = Router::new()
        .route("/", get(|| async { "home" }))
        .fallback_service(files.service());
    assert_eq!(
        get_with(&app, "/static/img/logo.png", &[]).await.status,
        StatusCode::OK
    );
    assert_eq!(get_with(&app, "/", &[]).await.body(), b"home");
    assert_eq!(
        get_with(&app, "/elsewhere", &[]).await.status,
        StatusCode::NOT_FOUND
    );
}

// ---------------------------------------------------------------- reload

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_swaps_the_table_atomically_while_serving() {
    let src = TempDir::new().unwrap();
    let root = TempDir::new().unwrap();
    std::fs::write(src.path().join("app.js"), "let v = 1;\n").unwrap();
    let first = Collect::new(root.path())
        .source(src.path())
        .run()
        .unwrap()
        .manifest;
    let files = StaticFiles::collected(root.path()).build().unwrap();
    let service = files.service();
    let old_name = first.hashed_name("app.js").unwrap().to_owned();

    // Readers run while the root is collected again and reloaded: every
    // answer is the old or the new version, whole.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut readers = Vec::new();
    for _ in 0..2 {
        let service = service.clone();
        let stop = stop.clone();
        readers.push(tokio::spawn(async move {
            let mut seen = BTreeSet::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let answer = get_with(&service, "/static/app.js", &[]).await;
                assert_eq!(answer.status, StatusCode::OK);
                // The original is rewritten in place before the reload: an
                // answer from the old table then fails its transfer rather
                // than send the new bytes under the old headers.
                if let Some(body) = &answer.body {
                    let body = String::from_utf8(body.to_vec()).unwrap();
                    assert_eq!(
                        answer.header("content-length").unwrap(),
                        body.len().to_string()
                    );
                    seen.insert(body);
                }
                tokio::task::yield_now().await;
            }
            seen
        }));
    }
    std::fs::write(src.path().join("app.js"), "let v = 22;\n").unwrap();
    let second = Collect::new(root.path())
        .source(src.path())
        .run()
        .unwrap()
        .manifest;
    let new_name = second.hashed_name("app.js").unwrap().to_owned();
    assert_ne!(old_name, new_name);
    // app.js and its new hashed copy: the old copy is no longer listed.
    assert_eq!(files.reload().await.unwrap(), 2);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for reader in readers {
        let seen = reader.await.unwrap();
        for body in &seen {
            assert!(
                body == "let v = 1;\n" || body == "let v = 22;\n",
                "{body:?}"
            );
        }
    }
    let stale = get_with(&service, &format!("/static/{old_name}"), &[]).await;
    assert_eq!(stale.status, StatusCode::NOT_FOUND);
    let fresh = get_with(&service, &format!("/static/{new_name}"), &[]).await;
    assert_eq!(fresh.body(), b"let v = 22;\n");
    assert_eq!(fresh.header("cache-control"), Some(HASHED_CACHE_CONTROL));
}

#[tokio::test]
async fn a_failed_reload_keeps_the_old_table() {
    let fixture = fixture();
    let files = fixture.files();
    let before = files.len();
    std::fs::write(fixture.root.path().join("staticfiles.json"), "{").unwrap();
    assert!(files.reload().await.is_err());
    assert_eq!(files.len(), before);
    let service = files.service();
    assert_eq!(
        get_with(&service, "/static/img/logo.png", &[]).await.status,
        StatusCode::OK
    );
}

// ---------------------------------------------------------------- development

#[tokio::test]
async fn development_serves_the_sources_live_with_production_errors() {
    let first = TempDir::new().unwrap();
    let second = TempDir::new().unwrap();
    std::fs::create_dir(first.path().join("css")).unwrap();
    std::fs::write(first.path().join("css/app.css"), "a {}").unwrap();
    std::fs::write(second.path().join("only.js"), "b").unwrap();
    std::fs::write(second.path().join("shadowed.txt"), "second").unwrap();
    std::fs::write(first.path().join("shadowed.txt"), "first").unwrap();
    let files = StaticFiles::development([first.path(), second.path()])
        .build()
        .unwrap();
    let service = files.layer(inner());

    let css = get_with(
        &service,
        "/static/css/app.css",
        &[("accept-encoding", "br")],
    )
    .await;
    assert_eq!(css.status, StatusCode::OK);
    assert_eq!(css.body(), b"a {}");
    assert_eq!(css.header("cache-control"), Some(UNHASHED_CACHE_CONTROL));
    assert_eq!(css.header("content-type"), Some("text/css; charset=utf-8"));
    assert_eq!(css.header("content-encoding"), None);
    assert!(css.header("etag").is_some());
    assert_eq!(
        get_with(&service, "/static/only.js", &[]).await.body(),
        b"b"
    );
    assert_eq!(
        get_with(&service, "/static/shadowed.txt", &[]).await.body(),
        b"first"
    );

    // Edited: served at once.
    std::fs::write(first.path().join("css/app.css"), "a { color: blue }").unwrap();
    assert_eq!(
        get_with(&service, "/static/css/app.css", &[]).await.body(),
        b"a { color: blue }"
    );
    // The same engine: ranges, 304.
    let range = get_with(&service, "/static/css/app.css", &[("range", "bytes=2-2")]).await;
    assert_eq!(range.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(range.body(), b"{");
    let now = get_with(&service, "/static/css/app.css", &[]).await;
    let again = get_with(
        &service,
        "/static/css/app.css",
        &[("if-none-match", now.header("etag").unwrap())],
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);

    // The same errors as production.
    for uri in [
        "/static/nope.css",
        "/static/css",
        "/static/../x",
        "/static/css%2Fapp.css",
        "/static/",
    ] {
        let answer = get_with(&service, uri, &[]).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(answer.header("x-inner"), None);
    }
    let post = exchange(&service, Method::POST, "/static/only.js", &[]).await;
    assert_eq!(post.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        get_with(&service, "/elsewhere", &[])
            .await
            .header("x-inner"),
        Some("yes")
    );
}

#[cfg(unix)]
#[tokio::test]
async fn development_refuses_a_symbolic_link_out_of_the_source() {
    let outside = TempDir::new().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "secret").unwrap();
    let source = TempDir::new().unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("secret.txt"),
        source.path().join("link.txt"),
    )
    .unwrap();
    let service = StaticFiles::development([source.path()])
        .build()
        .unwrap()
        .service();
    let answer = get_with(&service, "/static/link.txt", &[]).await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
}

// ---------------------------------------------------------------- hand-off

#[tokio::test]
async fn hand_off_follows_the_download_rules_for_names_without_sidecars() {
    let fixture = fixture();
    let settings = DownloadSettings::new(Backend::Nginx)
        .rule(Rule::nginx("/x-accel/static/").source_url("/static/"));
    let plain = fixture.files().service();
    let handing = StaticFiles::collected(fixture.root.path())
        .hand_off(settings)
        .build()
        .unwrap()
        .service();

    let logo = get_with(&handing, "/static/img/logo.png", &[]).await;
    assert_eq!(logo.status, StatusCode::OK);
    assert_eq!(
        logo.header(X_ACCEL_REDIRECT.as_str()),
        Some("/x-accel/static/img/logo.png")
    );
    assert_eq!(logo.body(), b"");
    // The same headers as the application's own answer, less the length
    // and Accept-Ranges, which the proxy sets for the bytes it sends.
    let own = get_with(&plain, "/static/img/logo.png", &[]).await;
    for (name, value) in &own.headers {
        if name == "content-length" || name == "accept-ranges" {
            continue;
        }
        assert_eq!(logo.headers.get(name), Some(value), "{name}");
    }
    let hashed = fixture.hashed("img/logo.png");
    let by_hash = get_with(&handing, &format!("/static/{hashed}"), &[]).await;
    assert_eq!(
        by_hash.header(X_ACCEL_REDIRECT.as_str()),
        Some(format!("/x-accel/static/{hashed}").as_str())
    );
    assert_eq!(by_hash.header("cache-control"), Some(HASHED_CACHE_CONTROL));

    // A 304 is still answered by the application.
    let etag = own.header("etag").unwrap();
    let not_modified = get_with(&handing, "/static/img/logo.png", &[("if-none-match", etag)]).await;
    assert_eq!(not_modified.status, StatusCode::NOT_MODIFIED);
    assert_eq!(not_modified.header(X_ACCEL_REDIRECT.as_str()), None);

    // A name with sidecars is sent by the application.
    let css = get_with(
        &handing,
        "/static/css/app.css",
        &[("accept-encoding", "gzip")],
    )
    .await;
    assert_eq!(css.header(X_ACCEL_REDIRECT.as_str()), None);
    assert_eq!(css.header("content-encoding"), Some("gzip"));
    let css = get_with(&handing, "/static/css/app.css", &[]).await;
    assert_eq!(css.header(X_ACCEL_REDIRECT.as_str()), None);
    assert_eq!(css.body(), fixture.bytes("css/app.css"));
}

// ---------------------------------------------------------------- start-up

/// 10,000 listed assets (20,000 names, a third with a gzip sidecar): the
/// time the table takes is printed, not asserted (machines differ).
#[test]
fn start_up_with_ten_thousand_assets() {
    use std::fmt::Write as _;

    let root = TempDir::new().unwrap();
    let mut paths = String::new();
    for dir in 0..100 {
        std::fs::create_dir(root.path().join(format!("d{dir}"))).unwrap();
    }
    for i in 0..10_000 {
        let logical = format!("d{}/f{i}.css", i % 100);
        let hashed = format!("d{}/f{i}.{i:012x}.css", i % 100);
        let body = format!("/* {i} */");
        std::fs::write(root.path().join(&logical), &body).unwrap();
        std::fs::write(root.path().join(&hashed), &body).unwrap();
        if i % 3 == 0 {
            std::fs::write(root.path().join(format!("{hashed}.gz")), "gz").unwrap();
        }
        if !paths.is_empty() {
            paths.push(',');
        }
        let _ = write!(paths, "\"{logical}\": \"{hashed}\"");
    }
    std::fs::write(
        root.path().join("staticfiles.json"),
        format!("{{\"paths\": {{{paths}}}, \"version\": \"1.1\"}}"),
    )
    .unwrap();
    let started = std::time::Instant::now();
    let files = StaticFiles::collected(root.path()).build().unwrap();
    let elapsed = started.elapsed();
    assert_eq!(files.len(), 20_000);
    let started = std::time::Instant::now();
    let reloaded = tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(files.reload())
        .unwrap();
    let reload = started.elapsed();
    assert_eq!(reloaded, 20_000);
    println!(
        "static files: table of 10,000 assets (20,000 names) built in {elapsed:?}, reloaded in {reload:?}"
    );
}
