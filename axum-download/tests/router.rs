//! Router tests: every download kind through `DownloadLayer`, driven
//! in-process with `oneshot`.

mod support;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use axum_download::file::{ByteStream, FileMeta};
use axum_download::rfc9110::{ByteRange, ETag};
use axum_download::test_util::TempMediaRoot;
use axum_download::{
    Conditions, DownloadError, DownloadLayer, DownloadObject, FileSystemStorage, ObjectDownload,
    ObjectFile, PathDownload, Storage, StorageDownload, VirtualDownload,
};
use futures_util::future::BoxFuture;
use http::{header, Method, Request, StatusCode};
use http_body_util::BodyExt;
use support::{body, header, request, Download};
use tower::ServiceExt;

fn media() -> TempMediaRoot {
    let media = TempMediaRoot::new();
    media.file("hello-world.txt", "Hello world!\n");
    media.file("espace é.txt", "accent\n");
    media.file("日本語.pdf", b"%PDF-1.4\n");
    media.file("pixel.png", b"\x89PNG\r\n\x1a\n");
    media.file("empty.txt", b"");
    media.file("digits.bin", b"0123456789");
    media.file("nested/dir/file.txt", "nested\n");
    media
}

async fn path_handler(
    State(root): State<PathBuf>,
    conditions: axum_download::Conditions,
    UrlPath(name): UrlPath<String>,
) -> Download {
    PathDownload::from_root(root, name)
        .for_request(&conditions)
        .await
}

fn path_app(root: PathBuf) -> Router {
    Router::new()
        .route("/path/{*name}", get(path_handler))
        .layer(DownloadLayer::new())
        .with_state(root)
}

async fn send(app: Router, request: Request<Body>) -> Response {
    app.oneshot(request).await.unwrap()
}

// --- PathDownload ---

#[tokio::test]
async fn path_download_serves_file_with_headers() {
    let media = media();
    let response = request(
        &path_app(media.path().to_path_buf()),
        Method::GET,
        "/path/hello-world.txt",
        &[],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header(&response, header::CONTENT_TYPE).unwrap(),
        "text/plain; charset=utf-8"
    );
    assert_eq!(header(&response, header::CONTENT_LENGTH).unwrap(), "13");
    assert_eq!(
        header(&response, header::CONTENT_DISPOSITION).unwrap(),
        "attachment; filename=\"hello-world.txt\""
    );
    assert_eq!(header(&response, header::ACCEPT_RANGES).unwrap(), "bytes");
    assert_eq!(
        header(&response, header::X_CONTENT_TYPE_OPTIONS).unwrap(),
        "nosniff"
    );
    assert!(header(&response, header::ETAG).unwrap().starts_with('"'));
    assert!(httpdate::parse_http_date(header(&response, header::LAST_MODIFIED).unwrap()).is_ok());
    assert_eq!(body(response).await, b"Hello world!\n");
}

#[tokio::test]
async fn path_download_non_ascii_name() {
    let media = media();
    let response = request(
        &path_app(media.path().to_path_buf()),
        Method::GET,
        "/path/espace%20%C3%A9.txt",
        &[],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header(&response, header::CONTENT_DISPOSITION).unwrap(),
        "attachment; filename=\"espace_e.txt\"; filename*=UTF-8''espace%20%C3%A9.txt"
    );
    assert_eq!(body(response).await, b"accent\n");
}

#[tokio::test]
async fn path_download_japanese_pdf() {
    let media = media();
    let response = request(
        &path_app(media.path().to_path_buf()),
        Method::GET,
        "/path/%E6%97%A5%E6%9C%AC%E8%AA%9E.pdf",
        &[],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header(&response, header::CONTENT_TYPE).unwrap(),
        "application/pdf"
    );
    assert!(header(&response, header::CONTENT_DISPOSITION)
        .unwrap()
        .ends_with("filename*=UTF-8''%E6%97%A5%E6%9C%AC%E8%AA%9E.pdf"));
}

#[tokio::test]
async fn png_has_no_charset() {
    let media = media();
    let response = request(
        &path_app(media.path().to_path_buf()),
        Method::GET,
        "/path/pixel.png",
        &[],
    )
    .await;
    assert_eq!(
        header(&response, header::CONTENT_TYPE).unwrap(),
        "image/png"
    );
}

#[tokio::test]
async fn unknown_extension_is_octet_stream() {
    let media = media();
    let response = request(
        &path_app(media.path().to_path_buf()),
        Method::GET,
        "/path/digits.bin",
        &[],
    )
    .await;
    assert_eq!(
        header(&response, header::CONTENT_TYPE).unwrap(),
        "application/octet-stream"
    );
}

#[tokio::test]
async fn nested_path_is_served() {
    let media = media();
    let response = request(
        &path_app(media.path().to_path_buf()),
        Method::GET,
        "/path/nested/dir/file.txt",
        &[],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body(response).await, b"nested\n");
}

#[tokio::test]
async fn empty_file_is_served() {
    let media = media();
    let response = request(
        &path_app(media.path().to_path_buf()),
        Method::GET,
        "/path/empty.txt",
        &[],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, header::CONTENT_LENGTH).unwrap(), "0");
    assert!(body(response).await.is_empty());
}

#[tokio::test]
async fn missing_file_is_404() {
    let media = media();
    let response = request(
        &path_app(media.path().to_path_buf()),
        Method::GET,
        "/path/nope.txt",
        &[],
    )
    .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn directory_is_404() {
    let media = media();
    let response = request(
        &path_app(media.path().to_path_buf()),
        Method::GET,
        "/path/nested",
        &[],
    )
    .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

async fn refused(uri: &str) {
    let media = media();
    // A file just outside the root, so a successful escape would find it.
    let secret = media.path().parent().unwrap().join("secret.txt");
    let _ = std::fs::write(&secret, "secret");
    let response = request(&path_app(media.path().to_path_buf()), Method::GET, uri, &[]).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND, "{uri}");
    let bytes = body(response).await;
    assert!(!bytes.windows(6).any(|w| w == b"secret"), "{uri}");
}

#[tokio::test]
async fn refuses_dot_dot() {
    refused("/path/../secret.txt").await;
}

#[tokio::test]
async fn refuses_encoded_dot_dot() {
    refused("/path/%2e%2e/secret.txt").await;
}

#[tokio::test]
async fn refuses_dot_dot_with_encoded_slash() {
    refused("/path/..%2fsecret.txt").await;
}

#[tokio::test]
async fn refuses_absolute_path() {
    refused("/path//etc/passwd").await;
}

#[tokio::test]
async fn refuses_encoded_absolute_path() {
    refused("/path/%2Fetc%2Fpasswd").await;
}

#[tokio::test]
async fn refuses_backslash() {
    refused("/path/..%5Csecret.txt").await;
}

#[tokio::test]
async fn refuses_nul_byte() {
    refused("/path/hello-world.txt%00.png").await;
}

#[tokio::test]
async fn refuses_drive_letter() {
    refused("/path/C:%5CWindows").await;
}

#[tokio::test]
async fn refuses_device_name() {
    refused("/path/CON").await;
}

#[cfg(unix)]
#[tokio::test]
async fn refuses_symlink_leaving_root() {
    let media = media();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "secret").unwrap();
    std::os::unix::fs::symlink(outside.path(), media.path().join("link")).unwrap();
    let response = request(
        &path_app(media.path().to_path_buf()),
        Method::GET,
        "/path/link/secret.txt",
        &[],
    )
    .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[cfg(unix)]
#[tokio::test]
async fn follows_symlink_leaving_root_when_allowed() {
    let media = media();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("shared.txt"), "shared").unwrap();
    std::os::unix::fs::symlink(outside.path(), media.path().join("link")).unwrap();
    let root = media.path().to_path_buf();
    let app = Router::new().route(
        "/path/{*name}",
        get(move |UrlPath(name): UrlPath<String>| {
            let root = root.clone();
            async move {
                PathDownload::from_root(root, name)
                    .follow_symlinks_outside_root(true)
                    .await
            }
        }),
    );
    let response = request(&app, Method::GET, "/path/link/shared.txt", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body(response).await, b"shared");
}

#[cfg(unix)]
#[tokio::test]
async fn symlink_inside_root_is_served() {
    let media = media();
    std::os::unix::fs::symlink(
        media.path().join("hello-world.txt"),
        media.path().join("alias.txt"),
    )
    .unwrap();
    let response = request(
        &path_app(media.path().to_path_buf()),
        Method::GET,
        "/path/alias.txt",
        &[],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header(&response, header::CONTENT_DISPOSITION).unwrap(),
        "attachment; filename=\"alias.txt\""
    );
}

#[tokio::test]
async fn trusted_path_is_served() {
    let media = media();
    let path = media.path().join("hello-world.txt");
    let app = Router::new().route(
        "/",
        get(move || {
            let path = path.clone();
            async move { PathDownload::from_trusted_path(path).await }
        }),
    );
    let response = request(&app, Method::GET, "/", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body(response).await, b"Hello world!\n");
}

#[tokio::test]
async fn relative_trusted_path_is_404() {
    let app = Router::new().route(
        "/",
        get(|| async { PathDownload::from_trusted_path("Cargo.toml").await }),
    );
    let response = request(&app, Method::GET, "/", &[]).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

// --- presentation ---

#[tokio::test]
async fn inline_keeps_filename() {
    let media = media();
    let root = media.path().to_path_buf();
    let app =
        Router::new().route(
            "/{*name}",
            get(move |UrlPath(name): UrlPath<String>| {
                let root = root.clone();
                async move {
                    Ok::<_, DownloadError>(PathDownload::from_root(root, name).await?.inline())
                }
            }),
        );
    let response = request(&app, Method::GET, "/pixel.png", &[]).await;
    assert_eq!(
        header(&response, header::CONTENT_DISPOSITION).unwrap(),
        "inline; filename=\"pixel.png\""
    );
}

#[tokio::test]
async fn handler_headers_win() {
    let app = Router::new()
        .route(
            "/",
            get(|| async {
                VirtualDownload::text("a.txt", "abc")
                    .content_type("text/markdown")
                    .filename("b.md")
                    .header(header::CACHE_CONTROL, "no-store")
                    .header("x-custom", "1")
                    .header(header::SET_COOKIE, "a=1")
                    .header(header::SET_COOKIE, "b=2")
            }),
        )
        .layer(DownloadLayer::new());
    let response = request(&app, Method::GET, "/", &[]).await;
    assert_eq!(
        header(&response, header::CONTENT_TYPE).unwrap(),
        "text/markdown"
    );
    assert_eq!(
        header(&response, header::CONTENT_DISPOSITION).unwrap(),
        "attachment; filename=\"b.md\""
    );
    assert_eq!(
        header(&response, header::CACHE_CONTROL).unwrap(),
        "no-store"
    );
    assert_eq!(header(&response, "x-custom").unwrap(), "1");
    let cookies: Vec<_> = response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .collect();
    assert_eq!(cookies, ["a=1", "b=2"]);
}

#[tokio::test]
async fn tuple_headers_win_over_computed_ones() {
    let app = Router::new()
        .route(
            "/",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "application/x-custom")],
                    VirtualDownload::bytes("a.bin", &b"abc"[..]),
                )
            }),
        )
        .layer(DownloadLayer::new());
    let response = request(&app, Method::GET, "/", &[]).await;
    assert_eq!(
        header(&response, header::CONTENT_TYPE).unwrap(),
        "application/x-custom"
    );
    assert_eq!(body(response).await, b"abc");
}

#[tokio::test]
async fn text_length_counts_bytes() {
    let app = Router::new().route("/", get(|| async { VirtualDownload::text("é.txt", "ééé") }));
    let response = request(&app, Method::GET, "/", &[]).await;
    assert_eq!(header(&response, header::CONTENT_LENGTH).unwrap(), "6");
    assert_eq!(
        header(&response, header::CONTENT_TYPE).unwrap(),
        "text/plain; charset=utf-8"
    );
}

// --- conditional requests ---

async fn first_etag(root: &Path, uri: &str) -> (String, String) {
    let response = request(&path_app(root.to_path_buf()), Method::GET, uri, &[]).await;
    (
        header(&response, header::ETAG).unwrap().to_owned(),
        header(&response, header::LAST_MODIFIED).unwrap().to_owned(),
    )
}

#[tokio::test]
async fn if_none_match_gives_304_with_validators() {
    let media = media();
    let (etag, modified) = first_etag(media.path(), "/path/hello-world.txt").await;
    let response = request(
        &path_app(media.path().to_path_buf()),
        Method::GET,
        "/path/hello-world.txt",
        &[("if-none-match", &etag)],
    )
    .await;
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(header(&response, header::ETAG).unwrap(), etag);
    assert_eq!(header(&response, header::LAST_MODIFIED).unwrap(), modified);
    // A 304 may only state the length a 200 would have.
    assert_eq!(header(&response, header::CONTENT_LENGTH).unwrap(), "13");
    assert!(response.headers().get(header::CONTENT_TYPE).is_none());
    assert!(response
        .headers()
        .get(header::CONTENT_DISPOSITION)
        .is_none());
    assert!(body(response).await.is_empty());
}

#[tokio::test]
async fn if_modified_since_gives_304() {
    let media = media();
    let (_, modified) = first_etag(media.path(), "/path/hello-world.txt").await;
    let response = request(
        &path_app(media.path().to_path_buf()),
        Method::GET,
        "/path/hello-world.txt",
        &[("if-modified-since", &modified)],
    )
    .await;
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn if_match_mismatch_gives_412() {
    let media = media();
    let response = request(
        &path_app(media.path().to_path_buf()),
        Method::GET,
        "/path/hello-world.txt",
        &[("if-match", "\"other\"")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::PRECONDITION_FAILED);
    assert!(body(response).await.is_empty());
}

#[tokio::test]
async fn if_unmodified_since_in_the_past_gives_412() {
    let media = media();
    let response = request(
        &path_app(media.path().to_path_buf()),
        Method::GET,
        "/path/hello-world.txt",
        &[("if-unmodified-since", "Mon, 01 Jan 2001 00:00:00 GMT")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::PRECONDITION_FAILED);
}

#[tokio::test]
async fn virtual_download_with_etag_answers_304() {
    let app = Router::new()
        .route(
            "/",
            get(|| async { VirtualDownload::text("a.txt", "abc").etag(ETag::strong("v1")) }),
        )
        .layer(DownloadLayer::new());
    let response = request(&app, Method::GET, "/", &[("if-none-match", "\"v1\"")]).await;
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn virtual_download_with_last_modified_answers_304() {
    let modified = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let app =
        Router::new()
            .route(
                "/",
                get(move || async move {
                    VirtualDownload::text("a.txt", "abc").last_modified(modified)
                }),
            )
            .layer(DownloadLayer::new());
    let response = request(
        &app,
        Method::GET,
        "/",
        &[("if-modified-since", "Tue, 14 Nov 2023 22:13:20 GMT")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
}

// --- ranges ---

#[tokio::test]
async fn single_range_is_206() {
    let media = media();
    let response = request(
        &path_app(media.path().to_path_buf()),
        Method::GET,
        "/path/digits.bin",
        &[("range", "bytes=2-4")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        header(&response, header::CONTENT_RANGE).unwrap(),
        "bytes 2-4/10"
    );
    assert_eq!(header(&response, header::CONTENT_LENGTH).unwrap(), "3");
    assert_eq!(body(response).await, b"234");
}

#[tokio::test]
async fn suffix_range_is_206() {
    let media = media();
    let response = request(
        &path_app(media.path().to_path_buf()),
        Method::GET,
        "/path/digits.bin",
        &[("range", "bytes=-3")],
    )
    .await;
    assert_eq!(
        header(&response, header::CONTENT_RANGE).unwrap(),
        "bytes 7-9/10"
    );
    assert_eq!(body(response).await, b"789");
}

#[tokio::test]
async fn multiple_ranges_are_multipart() {
    let media = media();
    let response = request(
        &path_app(media.path().to_path_buf()),
        Method::GET,
        "/path/digits.bin",
        &[("range", "bytes=0-1,5-6")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    let content_type = header(&response, header::CONTENT_TYPE).unwrap().to_owned();
    let boundary = content_type
        .strip_prefix("multipart/byteranges; boundary=")
        .unwrap()
        .to_owned();
    let length: usize = header(&response, header::CONTENT_LENGTH)
        .unwrap()
        .parse()
        .unwrap();
    let bytes = body(response).await;
    assert_eq!(bytes.len(), length);
    let expected = format!(
        "\r\n--{boundary}\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes 0-1/10\r\n\r\n01\
         \r\n--{boundary}\r\nContent-Type: application/octet-stream\r\nContent-Range: bytes 5-6/10\r\n\r\n56\
         \r\n--{boundary}--\r\n"
    );
    assert_eq!(String::from_utf8(bytes).unwrap(), expected);
}

#[tokio::test]
async fn unsatisfiable_range_is_416() {
    let media = media();
    let response = request(
        &path_app(media.path().to_path_buf()),
        Method::GET,
        "/path/digits.bin",
        &[("range", "bytes=10-")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(
        header(&response, header::CONTENT_RANGE).unwrap(),
        "bytes */10"
    );
    assert!(body(response).await.is_empty());
}

#[tokio::test]
async fn if_range_with_current_etag_gives_206() {
    let media = media();
    let (etag, _) = first_etag(media.path(), "/path/digits.bin").await;
    let response = request(
        &path_app(media.path().to_path_buf()),
        Method::GET,
        "/path/digits.bin",
        &[("range", "bytes=0-0"), ("if-range", &etag)],
    )
    .await;
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
}

#[tokio::test]
async fn if_range_with_old_etag_gives_full_200() {
    let media = media();
    let response = request(
        &path_app(media.path().to_path_buf()),
        Method::GET,
        "/path/digits.bin",
        &[("range", "bytes=0-0"), ("if-range", "\"old\"")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body(response).await, b"0123456789");
}

#[tokio::test]
async fn range_on_virtual_stream_gives_full_200() {
    let app = Router::new()
        .route(
            "/",
            get(|| async {
                let chunks =
                    futures_util::stream::iter([Ok::<_, io::Error>(&b"abc"[..]), Ok(&b"def"[..])]);
                VirtualDownload::stream("s.bin", chunks)
            }),
        )
        .layer(DownloadLayer::new());
    let response = request(&app, Method::GET, "/", &[("range", "bytes=0-1")]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().get(header::CONTENT_LENGTH).is_none());
    assert_eq!(header(&response, header::ACCEPT_RANGES).unwrap(), "none");
    assert_eq!(body(response).await, b"abcdef");
}

#[tokio::test]
async fn range_on_virtual_bytes_is_206() {
    let app = Router::new()
        .route(
            "/",
            get(|| async { VirtualDownload::bytes("b.bin", &b"abcdef"[..]) }),
        )
        .layer(DownloadLayer::new());
    let response = request(&app, Method::GET, "/", &[("range", "bytes=1-2")]).await;
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(body(response).await, b"bc");
}

#[tokio::test]
async fn large_file_range_spans_chunks() {
    let media = media();
    let data: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(media.path().join("big.bin"), &data).unwrap();
    let response = request(
        &path_app(media.path().to_path_buf()),
        Method::GET,
        "/path/big.bin",
        &[("range", "bytes=100000-899999")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(body(response).await, &data[100_000..900_000]);
}

// --- HEAD and methods ---

#[tokio::test]
async fn head_has_headers_and_no_body() {
    let media = media();
    let request = Request::head("/path/hello-world.txt")
        .body(Body::empty())
        .unwrap();
    let response = send(path_app(media.path().to_path_buf()), request).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, header::CONTENT_LENGTH).unwrap(), "13");
    assert!(body(response).await.is_empty());
}

#[tokio::test]
async fn post_is_405_with_allow() {
    let media = media();
    let request = Request::post("/path/hello-world.txt")
        .body(Body::empty())
        .unwrap();
    let response = send(path_app(media.path().to_path_buf()), request).await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    let allow = header(&response, header::ALLOW).unwrap();
    assert!(allow.contains("GET") && allow.contains("HEAD"), "{allow}");
}

/// A storage that counts how often its files are opened.
struct CountingStorage {
    inner: FileSystemStorage,
    opens: AtomicUsize,
    metadata_calls: AtomicUsize,
}

impl CountingStorage {
    fn new(root: PathBuf) -> Arc<Self> {
        Arc::new(Self {
            inner: FileSystemStorage::new(root).base_url("/media/"),
            opens: AtomicUsize::new(0),
            metadata_calls: AtomicUsize::new(0),
        })
    }
}

impl Storage for CountingStorage {
    fn metadata<'a>(&'a self, name: &'a str) -> BoxFuture<'a, io::Result<FileMeta>> {
        self.metadata_calls.fetch_add(1, Ordering::SeqCst);
        self.inner.metadata(name)
    }

    fn open(
        &self,
        name: &str,
        range: Option<ByteRange>,
    ) -> BoxFuture<'static, io::Result<ByteStream>> {
        self.opens.fetch_add(1, Ordering::SeqCst);
        self.inner.open(name, range)
    }

    fn url(&self, name: &str) -> Option<String> {
        self.inner.url(name)
    }

    fn path(&self, name: &str) -> Option<PathBuf> {
        self.inner.path(name)
    }
}

fn storage_app(storage: Arc<CountingStorage>) -> Router {
    let storage: Arc<dyn Storage> = storage;
    Router::new()
        .route(
            "/storage/{*name}",
            get(
                |State(storage): State<Arc<dyn Storage>>, UrlPath(name): UrlPath<String>| async move {
                    StorageDownload::new(storage, name).await
                },
            ),
        )
        .layer(DownloadLayer::new())
        .with_state(storage)
}

#[tokio::test]
async fn head_never_opens_the_file() {
    let media = media();
    let storage = CountingStorage::new(media.path().to_path_buf());
    let request = Request::head("/storage/hello-world.txt")
        .body(Body::empty())
        .unwrap();
    let response = send(storage_app(storage.clone()), request).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, header::CONTENT_LENGTH).unwrap(), "13");
    assert!(body(response).await.is_empty());
    assert_eq!(storage.opens.load(Ordering::SeqCst), 0);
    assert_eq!(storage.metadata_calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn not_modified_never_opens_the_file() {
    let media = media();
    let storage = CountingStorage::new(media.path().to_path_buf());
    let first = request(
        &storage_app(storage.clone()),
        Method::GET,
        "/storage/hello-world.txt",
        &[],
    )
    .await;
    let etag = header(&first, header::ETAG).unwrap().to_owned();
    drop(first);
    assert_eq!(storage.opens.load(Ordering::SeqCst), 0);
    let response = request(
        &storage_app(storage.clone()),
        Method::GET,
        "/storage/hello-world.txt",
        &[("if-none-match", &etag)],
    )
    .await;
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
    assert!(body(response).await.is_empty());
    assert_eq!(storage.opens.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn get_opens_the_file_once() {
    let media = media();
    let storage = CountingStorage::new(media.path().to_path_buf());
    let response = request(
        &storage_app(storage.clone()),
        Method::GET,
        "/storage/hello-world.txt",
        &[],
    )
    .await;
    assert_eq!(body(response).await, b"Hello world!\n");
    assert_eq!(storage.opens.load(Ordering::SeqCst), 1);
}

// --- StorageDownload ---

#[tokio::test]
async fn storage_download_serves_nested_name() {
    let media = media();
    let response = request(
        &storage_app(CountingStorage::new(media.path().to_path_buf())),
        Method::GET,
        "/storage/nested/dir/file.txt",
        &[],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header(&response, header::CONTENT_DISPOSITION).unwrap(),
        "attachment; filename=\"file.txt\""
    );
    assert_eq!(body(response).await, b"nested\n");
}

#[tokio::test]
async fn storage_download_missing_name_is_404() {
    let media = media();
    let response = request(
        &storage_app(CountingStorage::new(media.path().to_path_buf())),
        Method::GET,
        "/storage/missing.txt",
        &[],
    )
    .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn storage_download_escaping_name_is_404() {
    let media = media();
    let response = request(
        &storage_app(CountingStorage::new(media.path().to_path_buf())),
        Method::GET,
        "/storage/%2e%2e/%2e%2e/etc/passwd",
        &[],
    )
    .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn storage_error_is_500_without_paths() {
    struct Broken;
    impl Storage for Broken {
        fn metadata<'a>(&'a self, _: &'a str) -> BoxFuture<'a, io::Result<FileMeta>> {
            Box::pin(async { Err(io::Error::other("disk on fire at /secret/internal/path")) })
        }
        fn open(
            &self,
            _: &str,
            _: Option<ByteRange>,
        ) -> BoxFuture<'static, io::Result<ByteStream>> {
            Box::pin(async { Err(io::Error::other("unreachable")) })
        }
    }
    let app = Router::new().route(
        "/",
        get(|| async { StorageDownload::new(Arc::new(Broken), "x").await }),
    );
    let response = request(&app, Method::GET, "/", &[]).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let text = String::from_utf8(body(response).await).unwrap();
    assert!(!text.contains("/secret"), "{text}");
}

#[tokio::test]
async fn file_system_storage_urls_and_paths() {
    let storage = FileSystemStorage::new("/srv/media").base_url("/media");
    assert_eq!(
        storage.url("a b/日.txt").as_deref(),
        Some("/media/a%20b/%E6%97%A5.txt")
    );
    assert_eq!(
        storage.url("q?#%.txt").as_deref(),
        Some("/media/q%3F%23%25.txt")
    );
    assert_eq!(
        storage.path("a/b.txt"),
        Some(PathBuf::from("/srv/media/a/b.txt"))
    );
    assert_eq!(storage.path("../b.txt"), None);
    let meta = FileSystemStorage::new(media().path())
        .base_url("/media/")
        .metadata("hello-world.txt")
        .await
        .unwrap();
    assert_eq!(meta.url.as_deref(), Some("/media/hello-world.txt"));
    assert_eq!(meta.size, Some(13));
}

// --- ObjectDownload ---

struct Document {
    storage: Arc<dyn Storage>,
    file: Option<String>,
    basename: Option<String>,
    mime_type: Option<String>,
    modified: Option<SystemTime>,
    size: Option<u64>,
    charset: Option<String>,
}

impl Document {
    fn new(storage: Arc<dyn Storage>, file: &str) -> Self {
        Self {
            storage,
            file: Some(file.to_owned()),
            basename: None,
            mime_type: None,
            modified: None,
            size: None,
            charset: None,
        }
    }
}

impl DownloadObject for Document {
    fn file(&self) -> Option<ObjectFile> {
        Some(ObjectFile {
            storage: self.storage.clone(),
            name: self.file.clone()?,
        })
    }
    fn basename(&self) -> Option<String> {
        self.basename.clone()
    }
    fn mime_type(&self) -> Option<String> {
        self.mime_type.clone()
    }
    fn modified(&self) -> Option<SystemTime> {
        self.modified
    }
    fn size(&self) -> Option<u64> {
        self.size
    }
    fn charset(&self) -> Option<String> {
        self.charset.clone()
    }
}

async fn object_response(document: Option<Document>) -> Response {
    let document = Arc::new(document);
    let app = Router::new()
        .route(
            "/",
            get(move || async move { ObjectDownload::new(document.as_ref().as_ref()).await }),
        )
        .layer(DownloadLayer::new());
    request(&app, Method::GET, "/", &[]).await
}

#[tokio::test]
async fn object_download_uses_storage_metadata() {
    let media = media();
    let storage = CountingStorage::new(media.path().to_path_buf());
    let response = object_response(Some(Document::new(storage, "hello-world.txt"))).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header(&response, header::CONTENT_DISPOSITION).unwrap(),
        "attachment; filename=\"hello-world.txt\""
    );
    assert_eq!(body(response).await, b"Hello world!\n");
}

#[tokio::test]
async fn object_metadata_takes_precedence() {
    let media = media();
    let storage = CountingStorage::new(media.path().to_path_buf());
    let mut document = Document::new(storage, "hello-world.txt");
    document.basename = Some("Rapport été.txt".to_owned());
    document.mime_type = Some("text/x-report".to_owned());
    document.charset = Some("iso-8859-1".to_owned());
    document.modified = Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let response = object_response(Some(document)).await;
    assert_eq!(
        header(&response, header::CONTENT_DISPOSITION).unwrap(),
        "attachment; filename=\"Rapport_ete.txt\"; filename*=UTF-8''Rapport%20%C3%A9t%C3%A9.txt"
    );
    assert_eq!(
        header(&response, header::CONTENT_TYPE).unwrap(),
        "text/x-report; charset=iso-8859-1"
    );
    assert_eq!(
        header(&response, header::LAST_MODIFIED).unwrap(),
        "Tue, 14 Nov 2023 22:13:20 GMT"
    );
    assert_eq!(header(&response, header::CONTENT_LENGTH).unwrap(), "13");
}

#[tokio::test]
async fn object_with_size_skips_storage_metadata() {
    let media = media();
    let storage = CountingStorage::new(media.path().to_path_buf());
    let mut document = Document::new(storage.clone(), "hello-world.txt");
    document.size = Some(13);
    document.modified = Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000));
    let response = object_response(Some(document)).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, header::CONTENT_LENGTH).unwrap(), "13");
    assert!(response.headers().get(header::ETAG).is_some());
    assert_eq!(body(response).await, b"Hello world!\n");
    assert_eq!(storage.metadata_calls.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn no_object_is_404() {
    let response = object_response(None).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn object_without_file_is_404() {
    let media = media();
    let mut document = Document::new(CountingStorage::new(media.path().to_path_buf()), "x");
    document.file = None;
    let response = object_response(Some(document)).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn object_with_missing_file_is_404() {
    let media = media();
    let document = Document::new(CountingStorage::new(media.path().to_path_buf()), "gone.txt");
    let response = object_response(Some(document)).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

// --- without the layer ---

#[tokio::test]
async fn without_layer_answers_plain_200() {
    let media = media();
    let root = media.path().to_path_buf();
    let app = Router::new().route("/path/{*name}", get(path_handler).with_state(root));
    let response = request(
        &app,
        Method::GET,
        "/path/digits.bin",
        &[("range", "bytes=0-1")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body(response).await, b"0123456789");
}

#[tokio::test]
async fn respond_to_answers_ranges_without_layer() {
    let media = media();
    let root = media.path().to_path_buf();
    let app = Router::new().route(
        "/{*name}",
        get(
            move |conditions: Conditions, UrlPath(name): UrlPath<String>| {
                let root = root.clone();
                async move {
                    match PathDownload::from_root(root, name).await {
                        Ok(download) => download.respond_to(&conditions),
                        Err(err) => err.into_response(),
                    }
                }
            },
        ),
    );
    let response = request(&app, Method::GET, "/digits.bin", &[("range", "bytes=8-")]).await;
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(body(response).await, b"89");
}

#[tokio::test]
async fn layer_leaves_other_responses_alone() {
    let app = Router::new()
        .route("/", get(|| async { "plain" }))
        .layer(DownloadLayer::new());
    let request = Request::builder()
        .method(Method::GET)
        .uri("/")
        .header("range", "bytes=0-1")
        .body(Body::empty())
        .unwrap();
    let response = send(app, request).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(body(response).await, b"plain");
}

// --- streaming ---

#[tokio::test]
async fn file_shrinking_after_metadata_fails_the_body() {
    let media = media();
    let path = media.path().join("shrinks.bin");
    std::fs::write(&path, vec![7u8; 500_000]).unwrap();
    let response = request(
        &path_app(media.path().to_path_buf()),
        Method::GET,
        "/path/shrinks.bin",
        &[],
    )
    .await;
    assert_eq!(header(&response, header::CONTENT_LENGTH).unwrap(), "500000");
    std::fs::write(&path, vec![7u8; 1000]).unwrap();
    assert!(response.into_body().collect().await.is_err());
}

#[tokio::test]
async fn chunks_start_small_and_grow_while_the_client_keeps_up() {
    let media = media();
    std::fs::write(media.path().join("big.bin"), vec![1u8; 1 << 20]).unwrap();
    let response = request(
        &path_app(media.path().to_path_buf()),
        Method::GET,
        "/path/big.bin",
        &[],
    )
    .await;
    let mut body = response.into_body();
    let mut sizes = Vec::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.unwrap().into_data() {
            sizes.push(data.len());
        }
    }
    assert_eq!(sizes.iter().sum::<usize>(), 1 << 20);
    // 32 KiB first (what a client that never reads would hold), then
    // doubling to 256 KiB while this reader keeps up.
    assert_eq!(sizes[0], 32 * 1024, "{sizes:?}");
    assert_eq!(sizes.iter().max(), Some(&(256 * 1024)), "{sizes:?}");
    assert!(sizes.len() <= 8, "{sizes:?}");
}

/// The check-then-open race (tower-http issue 658): the file passes the
/// path check, then is replaced by a symbolic link leaving the root before
/// the body is read. The bytes come from the descriptor that was checked,
/// so they are the checked file's, never the outside file's. (The files are
/// over 64 KiB, so they are not read with their metadata.)
#[cfg(unix)]
#[tokio::test]
async fn file_swapped_for_escaping_symlink_after_check_is_not_served() {
    let media = media();
    let outside = tempfile::tempdir().unwrap();
    // Same length as the checked file, so only the confinement can stop it.
    std::fs::write(outside.path().join("secret.txt"), vec![b'S'; 100_000]).unwrap();
    let checked = media.path().join("big.txt");
    std::fs::write(&checked, vec![b'a'; 100_000]).unwrap();
    let response = request(
        &path_app(media.path().to_path_buf()),
        Method::GET,
        "/path/big.txt",
        &[],
    )
    .await;
    assert_eq!(header(&response, header::CONTENT_LENGTH).unwrap(), "100000");
    std::fs::remove_file(&checked).unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret.txt"), &checked).unwrap();
    assert_eq!(body(response).await, vec![b'a'; 100_000]);
}

#[cfg(unix)]
#[tokio::test]
async fn directory_swapped_for_escaping_symlink_after_check_is_not_served() {
    let media = media();
    let outside = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(outside.path().join("dir")).unwrap();
    std::fs::write(outside.path().join("dir/big.txt"), vec![b'S'; 100_000]).unwrap();
    std::fs::write(media.path().join("nested/dir/big.txt"), vec![b'a'; 100_000]).unwrap();
    let response = request(
        &path_app(media.path().to_path_buf()),
        Method::GET,
        "/path/nested/dir/big.txt",
        &[],
    )
    .await;
    assert_eq!(header(&response, header::CONTENT_LENGTH).unwrap(), "100000");
    let nested = media.path().join("nested");
    std::fs::remove_dir_all(&nested).unwrap();
    std::os::unix::fs::symlink(outside.path(), &nested).unwrap();
    assert_eq!(body(response).await, vec![b'a'; 100_000]);
}

/// A small file in a plain GET is read with its metadata: swapping it
/// afterwards changes nothing, the bytes served are the checked file's.
#[cfg(unix)]
#[tokio::test]
async fn small_file_is_read_with_its_metadata_on_plain_get() {
    let media = media();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "SECRET SECRET").unwrap();
    let response = request(
        &path_app(media.path().to_path_buf()),
        Method::GET,
        "/path/hello-world.txt",
        &[],
    )
    .await;
    let checked = media.path().join("hello-world.txt");
    std::fs::remove_file(&checked).unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret.txt"), &checked).unwrap();
    assert_eq!(body(response).await, b"Hello world!\n");
}

/// A range request does not read the file early, and swapped after the
/// check, the range still comes from the checked file's descriptor.
#[cfg(unix)]
#[tokio::test]
async fn small_file_is_not_read_early_for_a_range_request() {
    let media = media();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "SECRET SECRET").unwrap();
    let response = request(
        &path_app(media.path().to_path_buf()),
        Method::GET,
        "/path/hello-world.txt",
        &[("range", "bytes=0-4")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    let checked = media.path().join("hello-world.txt");
    std::fs::remove_file(&checked).unwrap();
    std::os::unix::fs::symlink(outside.path().join("secret.txt"), &checked).unwrap();
    assert_eq!(body(response).await, b"Hello");
}

#[tokio::test]
async fn plain_get_of_a_file_larger_than_the_early_read_arrives_whole() {
    let media = TempMediaRoot::new();
    // Around the whole-file limit (64 KiB), the first chunk (32 KiB) and
    // the largest chunk (256 KiB).
    let sizes = [
        32 * 1024 - 1,
        32 * 1024,
        64 * 1024,
        64 * 1024 + 1,
        300_001,
        1 << 20,
    ];
    for (seed, size) in sizes.into_iter().enumerate() {
        let content = support::pattern(size, seed as u32 + 1);
        media.file(format!("f{size}.bin"), &content);
        let app = path_app(media.path().to_path_buf());
        let uri = format!("/path/f{size}.bin");
        let response = request(&app, Method::GET, &uri, &[]).await;
        assert_eq!(response.status(), StatusCode::OK, "{size}");
        assert_eq!(
            header(&response, header::CONTENT_LENGTH),
            Some(size.to_string().as_str())
        );
        assert!(body(response).await == content, "{size} bytes differ");
        // A HEAD and a range of the same file are read from the start.
        let head = request(&app, Method::HEAD, &uri, &[]).await;
        assert!(body(head).await.is_empty());
        let tail = format!("bytes={}-", size - 10);
        let range = request(&app, Method::GET, &uri, &[("range", tail.as_str())]).await;
        assert_eq!(body(range).await, &content[size - 10..], "{size}");
    }
}
