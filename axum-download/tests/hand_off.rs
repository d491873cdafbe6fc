//! Hand-off to the proxy: the `#[x_accel]` / `#[x_sendfile]` macros on
//! handlers (without the global middleware), and `DownloadLayer` with
//! settings, both through a router and alone around a `service_fn`.

mod support;

use std::convert::Infallible;
use std::path::PathBuf;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use axum_download::offload::{
    Backend, Expires, LimitRate, Rule, X_ACCEL_BUFFERING, X_ACCEL_CHARSET, X_ACCEL_EXPIRES,
    X_ACCEL_LIMIT_RATE, X_ACCEL_REDIRECT, X_SENDFILE,
};
use axum_download::test_util::TempMediaRoot;
use axum_download::{
    x_accel, x_sendfile, DownloadLayer, DownloadResponse, DownloadSettings, FileSystemStorage,
    PathDownload, Storage, StorageDownload, VirtualDownload,
};
use http::{header, Method, Request, StatusCode};
use std::sync::Arc;
use support::{body, header, request, Download};
use tower::{Layer, ServiceExt};

fn media() -> TempMediaRoot {
    let media = TempMediaRoot::new();
    media.file("hello-world.txt", "Hello world!\n");
    media.file("espace é.txt", "accent\n");
    media.file("pixel.png", b"\x89PNG");
    media.file("a/b/c?#%.txt", "odd\n");
    media
}

#[x_accel(
    destination_url = "/x-accel/",
    buffering = false,
    expires = 60,
    limit_rate = 4096
)]
async fn nginx(State(root): State<PathBuf>, UrlPath(name): UrlPath<String>) -> Download {
    PathDownload::from_root(root, name).await
}

#[x_accel(source_dir = "/nowhere", destination_url = "/x-accel/")]
async fn nginx_elsewhere(State(root): State<PathBuf>, UrlPath(name): UrlPath<String>) -> Download {
    PathDownload::from_root(root, name).await
}

#[x_accel(destination_url = "/x-accel/", expires = "off", limit_rate = "off")]
async fn nginx_virtual() -> DownloadResponse {
    VirtualDownload::text("a.txt", "generated")
}

#[x_sendfile]
async fn sendfile(State(root): State<PathBuf>, UrlPath(name): UrlPath<String>) -> Download {
    Ok(PathDownload::from_root(root, name)
        .await?
        .header(header::CACHE_CONTROL, "private, max-age=60")
        .header(header::SET_COOKIE, "seen=1"))
}

fn macro_app(root: PathBuf) -> Router {
    Router::new()
        .route("/nginx/{*name}", get(nginx))
        .route("/elsewhere/{*name}", get(nginx_elsewhere))
        .route("/virtual", get(nginx_virtual))
        .route("/sendfile/{*name}", get(sendfile))
        .with_state(root)
}

#[tokio::test]
async fn x_accel_macro_hands_off_without_middleware() {
    let dir = media();
    let response = request(
        &macro_app(dir.path().into()),
        Method::GET,
        "/nginx/espace%20%C3%A9.txt",
        &[],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header(&response, X_ACCEL_REDIRECT),
        Some("/x-accel/espace%20%C3%A9.txt")
    );
    assert_eq!(header(&response, X_ACCEL_BUFFERING), Some("no"));
    assert_eq!(header(&response, X_ACCEL_EXPIRES), Some("60"));
    assert_eq!(header(&response, X_ACCEL_LIMIT_RATE), Some("4096"));
    assert_eq!(header(&response, X_ACCEL_CHARSET), Some("utf-8"));
    assert_eq!(
        header(&response, header::CONTENT_TYPE),
        Some("text/plain; charset=utf-8")
    );
    // The original file name, encoded once.
    assert_eq!(
        header(&response, header::CONTENT_DISPOSITION),
        Some("attachment; filename=\"espace_e.txt\"; filename*=UTF-8''espace%20%C3%A9.txt")
    );
    assert_ne!(header(&response, header::CONTENT_LENGTH), Some("7"));
    assert!(body(response).await.is_empty());
}

#[tokio::test]
async fn x_accel_target_encodes_question_mark_hash_and_percent() {
    let dir = media();
    let response = request(
        &macro_app(dir.path().into()),
        Method::GET,
        "/nginx/a/b/c%3F%23%25.txt",
        &[],
    )
    .await;
    assert_eq!(
        header(&response, X_ACCEL_REDIRECT),
        Some("/x-accel/a/b/c%3F%23%25.txt")
    );
}

#[tokio::test]
async fn x_accel_charset_absent_for_binary_types() {
    let dir = media();
    let response = request(
        &macro_app(dir.path().into()),
        Method::GET,
        "/nginx/pixel.png",
        &[],
    )
    .await;
    assert_eq!(
        header(&response, X_ACCEL_REDIRECT),
        Some("/x-accel/pixel.png")
    );
    assert_eq!(header(&response, X_ACCEL_CHARSET), None);
}

#[tokio::test]
async fn conditional_request_is_answered_before_hand_off() {
    let dir = media();
    let first = request(
        &macro_app(dir.path().into()),
        Method::GET,
        "/nginx/hello-world.txt",
        &[],
    )
    .await;
    let etag = header(&first, header::ETAG).unwrap().to_owned();
    let response = request(
        &macro_app(dir.path().into()),
        Method::GET,
        "/nginx/hello-world.txt",
        &[("if-none-match", &etag)],
    )
    .await;
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(header(&response, X_ACCEL_REDIRECT), None);
}

#[tokio::test]
async fn precondition_failure_is_answered_before_hand_off() {
    let dir = media();
    let response = request(
        &macro_app(dir.path().into()),
        Method::GET,
        "/nginx/hello-world.txt",
        &[("if-match", "\"nope\"")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::PRECONDITION_FAILED);
    assert_eq!(header(&response, X_ACCEL_REDIRECT), None);
}

#[tokio::test]
async fn range_is_left_to_the_proxy() {
    let dir = media();
    let response = request(
        &macro_app(dir.path().into()),
        Method::GET,
        "/nginx/hello-world.txt",
        &[("range", "bytes=0-4")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header(&response, X_ACCEL_REDIRECT),
        Some("/x-accel/hello-world.txt")
    );
    assert_eq!(header(&response, header::CONTENT_RANGE), None);
}

#[tokio::test]
async fn file_outside_the_rule_source_is_streamed_by_the_app() {
    let dir = media();
    let response = request(
        &macro_app(dir.path().into()),
        Method::GET,
        "/elsewhere/hello-world.txt",
        &[("range", "bytes=0-4")],
    )
    .await;
    assert_eq!(header(&response, X_ACCEL_REDIRECT), None);
    // Not handed off, so the macro's finish answers the range itself.
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(body(response).await, b"Hello");
}

#[tokio::test]
async fn generated_content_is_never_handed_off() {
    let dir = media();
    let response = request(&macro_app(dir.path().into()), Method::GET, "/virtual", &[]).await;
    assert_eq!(header(&response, X_ACCEL_REDIRECT), None);
    assert_eq!(body(response).await, b"generated");
}

#[tokio::test]
async fn missing_file_is_404_not_a_hand_off() {
    let dir = media();
    let response = request(
        &macro_app(dir.path().into()),
        Method::GET,
        "/nginx/nope.txt",
        &[],
    )
    .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(header(&response, X_ACCEL_REDIRECT), None);
}

#[tokio::test]
async fn escaping_path_is_404_not_a_hand_off() {
    let dir = media();
    let response = request(
        &macro_app(dir.path().into()),
        Method::GET,
        "/nginx/%2e%2e/etc/passwd",
        &[],
    )
    .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(header(&response, X_ACCEL_REDIRECT), None);
}

#[tokio::test]
async fn x_sendfile_macro_sends_absolute_path_and_keeps_handler_headers() {
    let dir = media();
    let response = request(
        &macro_app(dir.path().into()),
        Method::GET,
        "/sendfile/hello-world.txt",
        &[],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let expected = dir.path().join("hello-world.txt");
    assert_eq!(header(&response, X_SENDFILE), expected.to_str());
    assert_eq!(
        header(&response, header::CACHE_CONTROL),
        Some("private, max-age=60")
    );
    assert_eq!(header(&response, header::SET_COOKIE), Some("seen=1"));
    assert_eq!(header(&response, X_ACCEL_REDIRECT), None);
    assert!(body(response).await.is_empty());
}

#[tokio::test]
async fn x_sendfile_path_is_the_real_path_byte_for_byte() {
    let dir = media();
    let response = request(
        &macro_app(dir.path().into()),
        Method::GET,
        "/sendfile/espace%20%C3%A9.txt",
        &[],
    )
    .await;
    let expected = format!("{}/espace é.txt", dir.path().display());
    assert_eq!(
        response.headers()[X_SENDFILE].as_bytes(),
        expected.as_bytes()
    );
}

#[tokio::test]
async fn x_sendfile_name_with_percent_is_streamed_by_the_app() {
    let dir = media();
    let response = request(
        &macro_app(dir.path().into()),
        Method::GET,
        "/sendfile/a/b/c%3F%23%25.txt",
        &[],
    )
    .await;
    assert_eq!(header(&response, X_SENDFILE), None);
    assert_eq!(body(response).await, b"odd\n");
}

// --- the global middleware ---

fn storage_app(root: PathBuf, settings: DownloadSettings) -> Router {
    let optimized: Arc<dyn Storage> =
        Arc::new(FileSystemStorage::new(root.clone()).base_url("/media/optimized/"));
    let plain: Arc<dyn Storage> =
        Arc::new(FileSystemStorage::new(root).base_url("/media/optimized-not/"));
    Router::new()
        .route(
            "/optimized/{*name}",
            get(move |UrlPath(name): UrlPath<String>| {
                let storage = optimized.clone();
                async move { StorageDownload::new(storage, name).await }
            }),
        )
        .route(
            "/plain/{*name}",
            get(move |UrlPath(name): UrlPath<String>| {
                let storage = plain.clone();
                async move { StorageDownload::new(storage, name).await }
            }),
        )
        .layer(DownloadLayer::with_settings(settings))
}

fn optimized_settings() -> DownloadSettings {
    DownloadSettings::new(Backend::Nginx).rule(
        Rule::nginx("/x-accel/")
            .source_url("/media/optimized/")
            .expires(Expires::After(Duration::from_secs(3600)))
            .limit_rate(LimitRate::BytesPerSecond(1 << 20)),
    )
}

#[tokio::test]
async fn middleware_hands_off_matching_storage_url() {
    let dir = media();
    let response = request(
        &storage_app(dir.path().into(), optimized_settings()),
        Method::GET,
        "/optimized/espace%20%C3%A9.txt",
        &[],
    )
    .await;
    assert_eq!(
        header(&response, X_ACCEL_REDIRECT),
        Some("/x-accel/espace%20%C3%A9.txt")
    );
    assert_eq!(header(&response, X_ACCEL_EXPIRES), Some("3600"));
    assert_eq!(header(&response, X_ACCEL_LIMIT_RATE), Some("1048576"));
}

#[tokio::test]
async fn middleware_matches_whole_segments_only() {
    let dir = media();
    let response = request(
        &storage_app(dir.path().into(), optimized_settings()),
        Method::GET,
        "/plain/hello-world.txt",
        &[],
    )
    .await;
    assert_eq!(header(&response, X_ACCEL_REDIRECT), None);
    assert_eq!(body(response).await, b"Hello world!\n");
}

#[tokio::test]
async fn development_backend_streams_with_same_headers() {
    let dir = media();
    let settings = DownloadSettings::new(Backend::Development).rule(
        Rule::nginx("/x-accel/")
            .source_url("/media/optimized/")
            .backend(Backend::Development),
    );
    let response = request(
        &storage_app(dir.path().into(), settings),
        Method::GET,
        "/optimized/espace%20%C3%A9.txt",
        &[],
    )
    .await;
    assert_eq!(header(&response, X_ACCEL_REDIRECT), None);
    assert_eq!(
        header(&response, header::CONTENT_DISPOSITION),
        Some("attachment; filename=\"espace_e.txt\"; filename*=UTF-8''espace%20%C3%A9.txt")
    );
    assert_eq!(body(response).await, b"accent\n");
}

#[tokio::test]
async fn middleware_alone_around_a_service_fn() {
    let dir = media();
    let root = dir.path().to_path_buf();
    let inner = tower::service_fn(move |request: Request<Body>| {
        let root = root.clone();
        async move {
            let name = request.uri().path().trim_start_matches('/').to_owned();
            let response = match PathDownload::from_root(root, name).await {
                Ok(download) => download.into_response(),
                Err(err) => err.into_response(),
            };
            Ok::<_, Infallible>(response)
        }
    });
    let settings = DownloadSettings::new(Backend::XSendfile).rule(
        Rule::x_sendfile()
            .source_dir(dir.path())
            .destination_dir("/proxy/media"),
    );
    let service = DownloadLayer::with_settings(settings).layer(inner);

    let response = service
        .clone()
        .oneshot(
            Request::get("/a/b/c%3F%23%25.txt")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    // The router would decode the path; this bare service sees it raw, so
    // the name is the literal "c%3F%23%25.txt" and does not exist.
    assert_eq!(response.status(), StatusCode::NOT_FOUND);

    let response = service
        .clone()
        .oneshot(
            Request::get("/hello-world.txt")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(
        header(&response, X_SENDFILE),
        Some("/proxy/media/hello-world.txt")
    );

    let response = service
        .oneshot(
            Request::get("/hello-world.txt")
                .header("if-modified-since", "Fri, 01 Jan 2100 00:00:00 GMT")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(header(&response, X_SENDFILE), None);
}

// --- the grid: each download kind with each backend ---

struct Attached {
    storage: Arc<dyn Storage>,
    name: &'static str,
}

impl axum_download::DownloadObject for Attached {
    fn file(&self) -> Option<axum_download::ObjectFile> {
        Some(axum_download::ObjectFile {
            storage: self.storage.clone(),
            name: self.name.to_owned(),
        })
    }

    fn basename(&self) -> Option<String> {
        Some("Rapport final.txt".to_owned())
    }
}

/// A `StorageDownload` of `name` (kind "storage") or an `ObjectDownload`
/// of the object whose file is `name` (kind "object").
async fn kind_response(
    root: &std::path::Path,
    kind: &'static str,
    name: &'static str,
    settings: DownloadSettings,
) -> Response {
    let storage: Arc<dyn Storage> = Arc::new(FileSystemStorage::new(root).base_url("/media/"));
    let app = Router::new()
        .route(
            "/",
            get(move || {
                let storage = storage.clone();
                async move {
                    match kind {
                        "storage" => StorageDownload::new(storage, name).await,
                        _ => {
                            let object = Attached { storage, name };
                            axum_download::ObjectDownload::new(Some(&object)).await
                        }
                    }
                }
            }),
        )
        .layer(DownloadLayer::with_settings(settings));
    request(&app, Method::GET, "/", &[]).await
}

#[tokio::test]
async fn storage_download_hands_off_with_x_sendfile() {
    let dir = media();
    let settings = DownloadSettings::new(Backend::XSendfile).rule(
        Rule::x_sendfile()
            .source_url("/media/")
            .destination_dir("/proxy/media"),
    );
    let response = kind_response(dir.path(), "storage", "espace é.txt", settings).await;
    assert_eq!(
        response.headers()[X_SENDFILE].as_bytes(),
        "/proxy/media/espace é.txt".as_bytes()
    );
}

#[tokio::test]
async fn storage_download_hands_off_to_nginx() {
    let dir = media();
    let settings =
        DownloadSettings::new(Backend::Nginx).rule(Rule::nginx("/x-accel/").source_url("/media/"));
    let response = kind_response(dir.path(), "storage", "a/b/c?#%.txt", settings).await;
    assert_eq!(
        header(&response, X_ACCEL_REDIRECT),
        Some("/x-accel/a/b/c%3F%23%25.txt")
    );
}

#[tokio::test]
async fn object_download_hands_off_to_nginx_keeping_its_name() {
    let dir = media();
    let settings =
        DownloadSettings::new(Backend::Nginx).rule(Rule::nginx("/x-accel/").source_url("/media/"));
    let response = kind_response(dir.path(), "object", "espace é.txt", settings).await;
    assert_eq!(
        header(&response, X_ACCEL_REDIRECT),
        Some("/x-accel/espace%20%C3%A9.txt")
    );
    assert_eq!(
        header(&response, header::CONTENT_DISPOSITION),
        Some("attachment; filename=\"Rapport_final.txt\"; filename*=UTF-8''Rapport%20final.txt")
    );
}

#[tokio::test]
async fn object_download_hands_off_with_x_sendfile() {
    let dir = media();
    let settings = DownloadSettings::new(Backend::XSendfile).rule(Rule::x_sendfile());
    let response = kind_response(dir.path(), "object", "espace é.txt", settings).await;
    let expected = format!("{}/espace é.txt", dir.path().display());
    assert_eq!(
        response.headers()[X_SENDFILE].as_bytes(),
        expected.as_bytes()
    );
}

#[tokio::test]
async fn http_and_virtual_downloads_are_never_handed_off() {
    let settings = DownloadSettings::new(Backend::Nginx).rule(Rule::nginx("/x-accel/"));
    let app = Router::new()
        .route(
            "/bytes",
            get(|| async { VirtualDownload::bytes("a.bin", &b"abc"[..]) }),
        )
        .route(
            "/stream",
            get(|| async {
                VirtualDownload::stream(
                    "s.bin",
                    futures_util::stream::iter([Ok::<_, std::io::Error>(&b"xyz"[..])]),
                )
            }),
        )
        .layer(DownloadLayer::with_settings(settings));
    for uri in ["/bytes", "/stream"] {
        let response = request(&app, Method::GET, uri, &[]).await;
        assert_eq!(header(&response, X_ACCEL_REDIRECT), None, "{uri}");
        assert_eq!(body(response).await.len(), 3, "{uri}");
    }
}

// ---------------------------------------------------------------------------
// Settings in app state, replaced while serving.
// ---------------------------------------------------------------------------

mod shared_settings {
    use axum::body::Body;
    use axum::routing::get;
    use axum::Router;
    use axum_download::offload::{Backend, Rule};
    use axum_download::{
        x_accel, DownloadError, DownloadLayer, DownloadResponse, DownloadSettings, SharedSettings,
        VirtualDownload,
    };
    use http::{Request, StatusCode};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    fn root() -> &'static std::path::Path {
        static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
        DIR.get_or_init(|| {
            let dir = tempfile::tempdir().unwrap();
            std::fs::write(dir.path().join("a.txt"), "a file\n").unwrap();
            dir
        })
        .path()
    }

    #[x_accel(destination_url = "/x-accel/")]
    async fn handed_off() -> Result<DownloadResponse, DownloadError> {
        axum_download::PathDownload::from_root(root(), "a.txt").await
    }

    async fn plain() -> Result<DownloadResponse, DownloadError> {
        axum_download::PathDownload::from_root(root(), "a.txt").await
    }

    fn app(layer: Option<DownloadLayer>) -> Router {
        let router = Router::new()
            .route("/macro", get(handed_off))
            .route("/plain", get(plain))
            .route(
                "/memory",
                get(|| async { VirtualDownload::text("m.txt", "m") }),
            );
        match layer {
            Some(layer) => router.layer(layer),
            None => router,
        }
    }

    async fn get_answer(app: &Router, uri: &str) -> (StatusCode, Option<String>, Vec<u8>) {
        let response = app
            .clone()
            .oneshot(Request::get(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let accel = response
            .headers()
            .get("x-accel-redirect")
            .map(|v| v.to_str().unwrap().to_owned());
        let body = response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec();
        (status, accel, body)
    }

    #[tokio::test]
    async fn replacing_shared_settings_changes_hand_off_at_once() {
        let shared = SharedSettings::new(DownloadSettings::new(Backend::Development));
        let app = app(Some(DownloadLayer::shared(shared.clone())));
        let (_, accel, body) = get_answer(&app, "/plain").await;
        assert_eq!((accel, body), (None, b"a file\n".to_vec()));
        shared
            .replace(
                DownloadSettings::new(Backend::Nginx)
                    .rule(Rule::nginx("/x-accel/").catch_all(true)),
            )
            .unwrap();
        let (_, accel, body) = get_answer(&app, "/plain").await;
        assert_eq!(accel.as_deref(), Some("/x-accel/a.txt"));
        assert!(body.is_empty());
    }

    #[tokio::test]
    async fn invalid_replacement_keeps_the_old_settings() {
        let shared = SharedSettings::new(
            DownloadSettings::new(Backend::Nginx).rule(Rule::nginx("/x-accel/").catch_all(true)),
        );
        let invalid = DownloadSettings::new(Backend::Nginx).rule(Rule::nginx("x-accel"));
        assert!(shared.replace(invalid).is_err());
        let app = app(Some(DownloadLayer::shared(shared)));
        let (_, accel, _) = get_answer(&app, "/plain").await;
        assert_eq!(accel.as_deref(), Some("/x-accel/a.txt"));
    }

    #[tokio::test]
    async fn macros_follow_a_development_backend_in_the_app_settings() {
        // The app says: no proxy here. The `#[x_accel]` handler streams.
        let layer = DownloadLayer::with_settings(DownloadSettings::new(Backend::Development));
        let (status, accel, body) = get_answer(&app(Some(layer)), "/macro").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!((accel, body), (None, b"a file\n".to_vec()));
    }

    #[tokio::test]
    async fn macros_hand_off_without_app_settings() {
        for app in [app(None), app(Some(DownloadLayer::new()))] {
            let (_, accel, body) = get_answer(&app, "/macro").await;
            assert_eq!(accel.as_deref(), Some("/x-accel/a.txt"));
            assert!(body.is_empty());
        }
        let layer = DownloadLayer::with_settings(DownloadSettings::new(Backend::Nginx));
        let (_, accel, _) = get_answer(&app(Some(layer)), "/macro").await;
        assert_eq!(accel.as_deref(), Some("/x-accel/a.txt"));
    }
}
