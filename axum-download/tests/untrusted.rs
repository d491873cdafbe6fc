//! Untrusted input (issue "confine every name and URL"): each refused form
//! and each policy has its own named test. Upstreams are real HTTP servers
//! on 127.0.0.1 that record what reaches them.
#![cfg(feature = "http-download")]

mod support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use axum_download::offload::{Backend, Rule};
use axum_download::signature::UrlSigner;
use axum_download::test_util::TempMediaRoot;
use axum_download::{
    Conditions, DownloadError, DownloadLayer, DownloadName, DownloadResponse, DownloadSettings,
    HttpDownload, PathDownload, VirtualDownload, DEFAULT_CACHE_CONTROL,
};
use http::{header, HeaderMap, Method, StatusCode};
use http_body_util::BodyExt;
use support::{header, request, serve, text};
use tower::ServiceExt;

// ---------------------------------------------------------------------------
// A recording upstream.
// ---------------------------------------------------------------------------

/// What reached an upstream: method, path and headers of each request.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<(Method, String, HeaderMap)>>>);

impl Seen {
    fn paths(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|(_, p, _)| p.clone())
            .collect()
    }
    fn last(&self) -> (Method, String, HeaderMap) {
        self.0
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("no request reached the upstream")
    }
}

/// An upstream that records every request and answers by path:
/// `/redirect/...` redirects to the `location` query value, everything else
/// is a 200 of `file:{path}` with caching headers of the query's choice.
async fn upstream(seen: Seen) -> String {
    async fn handle(State(seen): State<Seen>, request: Request) -> Response {
        let path = request.uri().path().to_owned();
        let query = request.uri().query().unwrap_or("").to_owned();
        seen.0.lock().unwrap().push((
            request.method().clone(),
            path.clone(),
            request.headers().clone(),
        ));
        let param = |name: &str| {
            query.split('&').find_map(|kv| {
                let (k, v) = kv.split_once('=')?;
                (k == name).then(|| {
                    percent_encoding::percent_decode_str(v)
                        .decode_utf8_lossy()
                        .into_owned()
                })
            })
        };
        let mut builder = Response::builder();
        if path == "/dribble" {
            // One byte every 200 ms, 100 bytes announced.
            let bytes = futures_util::stream::unfold(0, |i| async move {
                if i == 100 {
                    return None;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
                Some((
                    Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"x")),
                    i + 1,
                ))
            });
            return builder
                .header(header::CONTENT_LENGTH, 100)
                .body(Body::from_stream(bytes))
                .unwrap();
        }
        // `/x/go/rest` redirects to `/rest`; `.../self` to itself.
        let scripted = path
            .split_once("/go/")
            .map(|(_, rest)| format!("/{rest}"))
            .or_else(|| path.ends_with("/self").then(|| path.clone()));
        if let Some(location) = param("location").or(scripted) {
            return builder
                .status(302)
                .header(header::LOCATION, location)
                .body(Body::empty())
                .unwrap();
        }
        let body = format!("file:{path}");
        builder = builder
            .header(header::CONTENT_LENGTH, body.len())
            .header(header::CONTENT_TYPE, "text/plain");
        if let Some(policy) = param("cache") {
            builder = builder.header(header::CACHE_CONTROL, policy);
        }
        if let Some(name) = param("disposition") {
            builder = builder.header(header::CONTENT_DISPOSITION, name);
        }
        if param("content_range").is_some() {
            builder = builder.header(header::CONTENT_RANGE, "bytes 0-3/13");
        }
        builder.body(Body::from(body)).unwrap()
    }
    format!(
        "http://{}",
        serve(Router::new().fallback(handle).with_state(seen)).await
    )
}

/// An app relaying `/http/{*name}` from `base` with `from_base`.
fn relay_app(base: String, redirects: usize) -> Router {
    Router::new()
        .route(
            "/http/{*name}",
            get(
                move |conditions: Conditions, DownloadName(name): DownloadName| {
                    let base = base.clone();
                    async move {
                        HttpDownload::from_base(base, name)
                            .follow_redirects(redirects)
                            .forward(&conditions)
                            .await
                    }
                },
            ),
        )
        .layer(DownloadLayer::new())
}

// ---------------------------------------------------------------------------
// Remote names: every form that could leave the base answers 404, and the
// upstream is never contacted.
// ---------------------------------------------------------------------------

async fn assert_refused_remote(untrusted: &str) {
    let seen = Seen::default();
    let base = format!("{}/files/", upstream(seen.clone()).await);
    let result = HttpDownload::from_base(&base, untrusted).await;
    let err = result.expect_err(untrusted);
    assert_eq!(err.status(), StatusCode::NOT_FOUND, "{untrusted:?}");
    assert!(
        seen.paths().is_empty(),
        "{untrusted:?} reached {:?}",
        seen.paths()
    );
}

#[tokio::test]
async fn remote_name_with_dot_dot_is_refused() {
    assert_refused_remote("../private/secret.txt").await;
    assert_refused_remote("a/../../private/secret.txt").await;
}

#[tokio::test]
async fn remote_name_with_encoded_dot_dot_is_refused() {
    assert_refused_remote("%2e%2e/private/secret.txt").await;
    assert_refused_remote("%2E%2e/private").await;
    assert_refused_remote(".%2e/private").await;
}

#[tokio::test]
async fn remote_name_with_encoded_separator_is_refused() {
    assert_refused_remote("..%2fprivate%2fsecret.txt").await;
    assert_refused_remote("a%2Fb").await;
    assert_refused_remote("a%5cb").await;
}

#[tokio::test]
async fn remote_absolute_name_is_refused() {
    assert_refused_remote("/etc/passwd").await;
}

#[tokio::test]
async fn remote_name_naming_another_host_is_refused() {
    assert_refused_remote("//evil.example/x").await;
    assert_refused_remote("http://evil.example/x").await;
    assert_refused_remote("http:x").await;
    assert_refused_remote("user@evil.example/x").await;
}

#[tokio::test]
async fn remote_name_with_backslash_is_refused() {
    assert_refused_remote("..\\private").await;
}

#[tokio::test]
async fn remote_name_with_nul_or_control_is_refused() {
    assert_refused_remote("a\0b").await;
    assert_refused_remote("a\r\nHost: evil").await;
    assert_refused_remote("a\tb").await;
}

#[tokio::test]
async fn remote_empty_name_is_refused() {
    assert_refused_remote("").await;
    assert_refused_remote("./").await;
}

#[tokio::test]
async fn remote_name_is_joined_below_the_base_with_segments_encoded() {
    let seen = Seen::default();
    let base = format!("{}/files", upstream(seen.clone()).await);
    let response = HttpDownload::from_base(&base, "a b/100%/q?#x.txt")
        .await
        .unwrap()
        .into_response_for_test();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(seen.paths(), ["/files/a%20b/100%25/q%3F%23x.txt"]);
}

/// A tiny extension so the tests read `into_response` plainly.
trait ForTest {
    fn into_response_for_test(self) -> Response;
}
impl ForTest for DownloadResponse {
    fn into_response_for_test(self) -> Response {
        axum::response::IntoResponse::into_response(self)
    }
}

#[tokio::test]
async fn demo_style_route_refuses_escapes_before_the_upstream() {
    let seen = Seen::default();
    let base = format!("{}/files", upstream(seen.clone()).await);
    let app = relay_app(base, 0);
    for uri in [
        "/http/..%2fprivate%2fsecret.txt",
        "/http/%2e%2e/private/secret.txt",
        "/http/a/%2E%2E/%2E%2E/secret.txt",
    ] {
        let response = request(&app, Method::GET, uri, &[]).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{uri}");
    }
    assert!(seen.paths().is_empty(), "{:?}", seen.paths());
    let response = request(&app, Method::GET, "/http/ok.txt", &[]).await;
    assert_eq!(text(response).await, "file:/files/ok.txt");
}

// ---------------------------------------------------------------------------
// Redirects.
// ---------------------------------------------------------------------------

#[tokio::test]
async fn redirects_are_not_followed_by_default() {
    let internal = Seen::default();
    let internal_url = upstream(internal.clone()).await;
    let seen = Seen::default();
    let base = upstream(seen.clone()).await;
    let location = format!("{internal_url}/secret.txt");
    let response = HttpDownload::new(format!("{base}/redirect?location={location}")).await;
    assert_eq!(response.unwrap_err().status(), StatusCode::BAD_GATEWAY);
    assert!(internal.paths().is_empty());
}

#[tokio::test]
async fn redirect_to_another_origin_is_refused_even_when_following() {
    let internal = Seen::default();
    let internal_url = upstream(internal.clone()).await;
    let seen = Seen::default();
    let base = upstream(seen.clone()).await;
    let location = format!("{internal_url}/secret.txt");
    let response = HttpDownload::new(format!("{base}/redirect?location={location}"))
        .follow_redirects(5)
        .await;
    assert_eq!(response.unwrap_err().status(), StatusCode::BAD_GATEWAY);
    assert!(internal.paths().is_empty(), "{:?}", internal.paths());
}

#[tokio::test]
async fn redirect_within_the_base_is_followed_when_asked() {
    let seen = Seen::default();
    let origin = upstream(seen.clone()).await;
    let base = format!("{origin}/files/");
    let response = HttpDownload::from_base(&base, "go/files/target.txt")
        .follow_redirects(1)
        .await
        .unwrap()
        .into_response_for_test();
    assert_eq!(text(response).await, "file:/files/target.txt");
    // Not asked: the same redirect answers 502.
    let result = HttpDownload::from_base(&base, "go/files/target.txt").await;
    assert_eq!(result.unwrap_err().status(), StatusCode::BAD_GATEWAY);
}

#[tokio::test]
async fn redirect_leaving_the_base_path_is_refused() {
    let seen = Seen::default();
    let origin = upstream(seen.clone()).await;
    let result = HttpDownload::from_base(format!("{origin}/files/"), "go/private/secret.txt")
        .follow_redirects(3)
        .await;
    assert_eq!(result.unwrap_err().status(), StatusCode::BAD_GATEWAY);
    assert_eq!(seen.paths(), ["/files/go/private/secret.txt"]);
}

#[tokio::test]
async fn redirect_loops_are_bounded() {
    let seen = Seen::default();
    let origin = upstream(seen.clone()).await;
    let result = HttpDownload::new(format!("{origin}/files/self"))
        .follow_redirects(3)
        .await;
    assert_eq!(result.unwrap_err().status(), StatusCode::BAD_GATEWAY);
    assert_eq!(seen.paths().len(), 4, "{:?}", seen.paths());
}

// ---------------------------------------------------------------------------
// What goes upstream.
// ---------------------------------------------------------------------------

#[tokio::test]
async fn client_credentials_and_referer_never_go_upstream() {
    let seen = Seen::default();
    let base = upstream(seen.clone()).await;
    let app = relay_app(format!("{base}/files"), 0);
    let response = request(
        &app,
        Method::GET,
        "/http/a.txt",
        &[
            ("cookie", "session=secret"),
            ("authorization", "Bearer secret"),
            ("referer", "http://app.example/page"),
            ("if-none-match", "\"x\""),
        ],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let (_, _, headers) = seen.last();
    for name in ["cookie", "authorization", "referer"] {
        assert!(!headers.contains_key(name), "{name} went upstream");
    }
    assert_eq!(headers.get("if-none-match").unwrap(), "\"x\"");
}

// ---------------------------------------------------------------------------
// Encoded separators in local names.
// ---------------------------------------------------------------------------

fn media_app(root: std::path::PathBuf) -> Router {
    Router::new()
        .route(
            "/path/{*name}",
            get(move |DownloadName(name): DownloadName| {
                let root = root.clone();
                async move { PathDownload::from_root(root, name).await }
            }),
        )
        .layer(DownloadLayer::new())
}

fn media() -> TempMediaRoot {
    let media = TempMediaRoot::new();
    media.file("nested/dir/file.txt", "nested\n");
    media
}

#[tokio::test]
async fn encoded_slash_in_a_name_is_refused() {
    let dir = media();
    let app = media_app(dir.path().to_path_buf());
    for uri in [
        "/path/nested%2Fdir%2Ffile.txt",
        "/path/nested%2fdir/file.txt",
    ] {
        assert_eq!(
            request(&app, Method::GET, uri, &[]).await.status(),
            StatusCode::NOT_FOUND,
            "{uri}"
        );
    }
    let response = request(&app, Method::GET, "/path/nested/dir/file.txt", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn encoded_backslash_in_a_name_is_refused() {
    let dir = media();
    let app = media_app(dir.path().to_path_buf());
    for uri in ["/path/nested%5Cdir%5Cfile.txt", "/path/nested%5cdir"] {
        assert_eq!(
            request(&app, Method::GET, uri, &[]).await.status(),
            StatusCode::NOT_FOUND,
            "{uri}"
        );
    }
}

// ---------------------------------------------------------------------------
// Validators that are the same on every server.
// ---------------------------------------------------------------------------

#[tokio::test]
async fn etag_is_mtime_and_size_like_nginx_without_inode() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    for dir in [&a, &b] {
        let path = dir.path().join("same.txt");
        std::fs::write(&path, "same bytes\n").unwrap();
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(time)
            .unwrap();
    }
    let first = PathDownload::from_root(a.path(), "same.txt").await.unwrap();
    let second = PathDownload::from_root(b.path(), "same.txt").await.unwrap();
    let tag = |d: &DownloadResponse| d.meta().etag.clone().unwrap();
    assert_eq!(tag(&first), tag(&second));
    assert_eq!(
        tag(&first).to_header_value(),
        format!("\"{:x}-{:x}\"", 1_700_000_000u64, 11).as_str()
    );
}

#[tokio::test]
async fn if_range_date_on_a_file_younger_than_a_second_is_weak() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("young.txt");
    std::fs::write(&path, "0123456789").unwrap();
    let download = PathDownload::from_root(dir.path(), "young.txt")
        .await
        .unwrap();
    let modified = download.meta().modified.unwrap();
    let date = httpdate::fmt_http_date(modified);
    let conditions = |at: SystemTime| {
        let mut headers = HeaderMap::new();
        headers.insert(header::RANGE, "bytes=0-3".parse().unwrap());
        headers.insert(header::IF_RANGE, date.parse().unwrap());
        Conditions::new(&Method::GET, &headers).received_at(at)
    };
    let same_second = download.clone().respond_to(&conditions(modified));
    assert_eq!(same_second.status(), StatusCode::OK);
    let later = download.respond_to(&conditions(modified + Duration::from_secs(2)));
    assert_eq!(later.status(), StatusCode::PARTIAL_CONTENT);
}

// ---------------------------------------------------------------------------
// Who may cache a download.
// ---------------------------------------------------------------------------

#[tokio::test]
async fn downloads_are_private_and_revalidated_by_default() {
    let response = request(
        &Router::new()
            .route("/v", get(|| async { VirtualDownload::text("v.txt", "v") }))
            .layer(DownloadLayer::new()),
        Method::GET,
        "/v",
        &[],
    )
    .await;
    assert_eq!(
        header(&response, "cache-control"),
        Some(DEFAULT_CACHE_CONTROL)
    );
    assert_eq!(DEFAULT_CACHE_CONTROL, "private, no-cache");
}

#[tokio::test]
async fn settings_default_policy_replaces_the_crate_default_only() {
    let settings = DownloadSettings::new(Backend::Development).cache_control("public, max-age=60");
    let app = Router::new()
        .route("/v", get(|| async { VirtualDownload::text("v.txt", "v") }))
        .route(
            "/own",
            get(|| async { VirtualDownload::text("v.txt", "v").cache_control("no-store") }),
        )
        .layer(DownloadLayer::with_settings(settings));
    let response = request(&app, Method::GET, "/v", &[]).await;
    assert_eq!(
        header(&response, "cache-control"),
        Some("public, max-age=60")
    );
    let response = request(&app, Method::GET, "/own", &[]).await;
    assert_eq!(header(&response, "cache-control"), Some("no-store"));
}

#[tokio::test]
async fn upstream_private_no_store_is_never_weakened() {
    let seen = Seen::default();
    let base = upstream(seen).await;
    let download = HttpDownload::new(format!("{base}/a.txt?cache=private,%20no-store"))
        .await
        .unwrap();
    let response = download.clone().into_response_for_test();
    assert_eq!(
        header(&response, "cache-control"),
        Some("private, no-store")
    );
    let response = download
        .cache_control("public, max-age=3600")
        .into_response_for_test();
    assert_eq!(
        header(&response, "cache-control"),
        Some("max-age=3600, private, no-store")
    );
}

#[tokio::test]
async fn hand_off_answer_carries_the_policy() {
    let dir = media();
    let root = dir.path().to_path_buf();
    let settings =
        DownloadSettings::new(Backend::Nginx).rule(Rule::nginx("/x-accel/").catch_all(true));
    let app = Router::new()
        .route(
            "/path/{*name}",
            get(move |DownloadName(name): DownloadName| {
                let root = root.clone();
                async move { PathDownload::from_root(root, name).await }
            }),
        )
        .layer(DownloadLayer::with_settings(settings));
    let response = request(&app, Method::GET, "/path/nested/dir/file.txt", &[]).await;
    assert_eq!(
        header(&response, "x-accel-redirect"),
        Some("/x-accel/nested/dir/file.txt")
    );
    assert_eq!(
        header(&response, "cache-control"),
        Some(DEFAULT_CACHE_CONTROL)
    );
    assert_eq!(
        response.headers().get_all("accept-ranges").iter().count(),
        0
    );
}

#[tokio::test]
async fn inline_html_and_svg_are_sandboxed() {
    for (name, body) in [
        ("page.html", "<script>alert(1)</script>"),
        ("image.svg", "<svg/>"),
    ] {
        let response = VirtualDownload::text(name, body)
            .inline()
            .into_response_for_test();
        assert_eq!(
            header(&response, "content-security-policy"),
            Some("sandbox"),
            "{name}"
        );
    }
    let response = VirtualDownload::text("notes.txt", "x")
        .inline()
        .into_response_for_test();
    assert_eq!(header(&response, "content-security-policy"), None);
}

// ---------------------------------------------------------------------------
// Smaller items.
// ---------------------------------------------------------------------------

#[tokio::test]
async fn upstream_file_name_is_kept_when_the_app_sets_none() {
    let seen = Seen::default();
    let base = upstream(seen).await;
    let url =
        format!("{base}/dl?disposition=attachment;%20filename*=UTF-8''rapport%2520%25C3%25A9.pdf");
    let download = HttpDownload::new(url).await.unwrap();
    assert_eq!(download.meta().name.as_deref(), Some("rapport é.pdf"));
}

#[tokio::test]
async fn content_range_on_an_upstream_200_is_not_relayed() {
    let seen = Seen::default();
    let base = upstream(seen).await;
    let response = HttpDownload::new(format!("{base}/a?content_range=1"))
        .await
        .unwrap()
        .into_response_for_test();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "content-range"), None);
}

#[test]
fn signing_with_a_huge_lifetime_does_not_panic() {
    let signer = UrlSigner::new(b"0123456789abcdef0123456789abcdef");
    let url = signer.sign_path("/signed/a.txt", Duration::from_secs(u64::MAX));
    assert!(url.contains("X-Signature=253402300799."), "{url}");
}

#[test]
fn settings_refuse_a_rule_without_a_source_unless_catch_all() {
    let err = DownloadSettings::from_toml(
        "backend = \"nginx\"\n[[rules]]\ndestination_url = \"/x-accel/\"\n",
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "rule 1: needs `source_url` or `source_dir`, or `catch_all = true` to hand off every file"
    );
    DownloadSettings::from_toml(
        "backend = \"nginx\"\n[[rules]]\ndestination_url = \"/x-accel/\"\ncatch_all = true\n",
    )
    .unwrap();
}

#[test]
fn settings_and_macros_share_one_rule_table() {
    use axum_download_rules::{Key, CASES};
    for (key, value, ok) in CASES {
        let rule = match key {
            Key::SourceUrl => format!("source_url = {value:?}\ndestination_url = \"/x/\""),
            Key::SourceDir => format!("source_dir = {value:?}\ndestination_url = \"/x/\""),
            Key::DestinationUrl => format!("destination_url = {value:?}\ncatch_all = true"),
            Key::DestinationDir => format!(
                "backend = \"x-sendfile\"\ndestination_dir = {value:?}\nsource_dir = \"/srv\""
            ),
        };
        let text = format!("backend = \"nginx\"\n[[rules]]\n{rule}\n");
        let parsed = DownloadSettings::from_toml(&text);
        assert_eq!(parsed.is_ok(), *ok, "{text}\n{:?}", parsed.err());
        if let Err(err) = parsed {
            let message = axum_download_rules::check(*key, value).unwrap_err();
            assert!(
                err.to_string()
                    .ends_with(&format!("`{}` {message}", key.name())),
                "{err}"
            );
        }
    }
}

#[tokio::test]
async fn error_bodies_show_no_paths() {
    let response = axum::response::IntoResponse::into_response(DownloadError::not_found(
        "/srv/secret/root/file.txt is missing",
    ));
    assert_eq!(text(response).await, "Not Found\n");
}

// ---------------------------------------------------------------------------
// A relay is bounded (issue "bounded under slow, stuck and hostile peers").
// ---------------------------------------------------------------------------

#[tokio::test]
async fn dribbling_upstream_is_cut_at_the_deadline() {
    let seen = Seen::default();
    let base = upstream(seen).await;
    let started = std::time::Instant::now();
    let response = HttpDownload::new(format!("{base}/dribble"))
        .timeout(Duration::from_millis(500))
        .deadline(Duration::from_secs(1))
        .await
        .unwrap()
        .into_response_for_test();
    let result = response.into_body().collect().await;
    assert!(result.is_err(), "the dribbled body looked complete");
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(3), "cut after {elapsed:?}");
    assert!(
        elapsed >= Duration::from_millis(900),
        "cut after {elapsed:?}"
    );
}

#[tokio::test]
async fn head_is_sent_upstream_as_head() {
    let seen = Seen::default();
    let base = upstream(seen.clone()).await;
    let app = relay_app(format!("{base}/files"), 0);
    let request = http::Request::head("/http/a.txt")
        .body(Body::empty())
        .unwrap();
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(seen.last().0, Method::HEAD);
    assert_eq!(text(response).await, "");
}

#[tokio::test]
async fn ranges_beyond_the_local_limits_are_not_forwarded() {
    let seen = Seen::default();
    let base = upstream(seen.clone()).await;
    let app = relay_app(format!("{base}/files"), 0);
    let many: Vec<String> = (0..5000).map(|i| format!("{}-{}", i * 2, i * 2)).collect();
    let range = format!("bytes={}", many.join(","));
    let response = request(
        &app,
        Method::GET,
        "/http/a.txt",
        &[("range", &range), ("if-range", "\"x\"")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    let (_, _, headers) = seen.last();
    assert!(
        !headers.contains_key("range"),
        "5,000 range specifiers went upstream"
    );
    assert!(!headers.contains_key("if-range"));
    let response = request(&app, Method::GET, "/http/a.txt", &[("range", "bytes=0-3")]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(seen.last().2.get("range").unwrap(), "bytes=0-3");
}

// ---------------------------------------------------------------------------
// `metadata_first`: HEAD for the metadata, ranged reads for the bytes.
// ---------------------------------------------------------------------------

/// An upstream that is this crate itself: `PathDownload` behind the layer.
async fn file_upstream(root: std::path::PathBuf) -> String {
    let app = Router::new()
        .route(
            "/files/{*name}",
            get(move |DownloadName(name): DownloadName| {
                let root = root.clone();
                async move { PathDownload::from_root(root, name).await }
            }),
        )
        .layer(DownloadLayer::new());
    format!("http://{}/files/", serve(app).await)
}

#[tokio::test]
async fn metadata_first_answers_multipart_ranges_from_ranged_reads() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("digits.txt"), "0123456789").unwrap();
    let base = file_upstream(dir.path().to_path_buf()).await;
    let download = HttpDownload::from_base(&base, "digits.txt")
        .metadata_first()
        .await
        .unwrap();
    assert_eq!(download.meta().size, Some(10));
    assert!(download
        .meta()
        .remote_url
        .as_deref()
        .unwrap()
        .ends_with("/files/digits.txt"));
    let mut headers = HeaderMap::new();
    headers.insert(header::RANGE, "bytes=0-1,5-6".parse().unwrap());
    let response = download.respond_to(&Conditions::new(&Method::GET, &headers));
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    let body = text(response).await;
    assert!(
        body.contains("Content-Range: bytes 0-1/10\r\n\r\n01\r\n"),
        "{body}"
    );
    assert!(
        body.contains("Content-Range: bytes 5-6/10\r\n\r\n56\r\n"),
        "{body}"
    );
}

#[tokio::test]
async fn metadata_first_never_splices_two_versions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("digits.txt");
    std::fs::write(&path, "0123456789").unwrap();
    let old = SystemTime::UNIX_EPOCH + Duration::from_secs(1_600_000_000);
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(old)
        .unwrap();
    let base = file_upstream(dir.path().to_path_buf()).await;
    let download = HttpDownload::from_base(&base, "digits.txt")
        .metadata_first()
        .await
        .unwrap();
    // The file changes between the HEAD and the read: the If-Match of the
    // read fails upstream and the transfer fails, never mixing versions.
    std::fs::write(&path, "abcdefghij").unwrap();
    let mut headers = HeaderMap::new();
    headers.insert(header::RANGE, "bytes=2-4".parse().unwrap());
    let response = download.respond_to(&Conditions::new(&Method::GET, &headers));
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    assert!(response.into_body().collect().await.is_err());
}
