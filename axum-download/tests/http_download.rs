//! `HttpDownload` against a real upstream HTTP server on 127.0.0.1.
//!
//! Every test starts its own upstream (an axum server on an ephemeral port
//! whose handlers build their answers by hand) and drives an app that relays
//! it through `HttpDownload` behind `DownloadLayer`, in process.
#![cfg(feature = "http-download")]

mod support;

use std::io;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use axum_download::{Conditions, DownloadError, DownloadLayer, DownloadResponse, HttpDownload};
use bytes::Bytes;
use futures_util::StreamExt;
use http::header::{
    ACCEPT_RANGES, CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG,
    IF_NONE_MATCH, LAST_MODIFIED, RANGE,
};
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use sha2::{Digest, Sha256};
use support::{body, header, pattern, request, serve_url, text, unused_addr};

/// The relay's timeout for the upstream's headers and each body chunk.
const TIMEOUT: Duration = Duration::from_millis(500);

const PLAIN: &[u8] = b"hello, world\n";
const CHUNKS: [&[u8]; 3] = [b"first chunk, ", b"second chunk, ", b"third chunk\n"];
const PDF: &[u8] = b"%PDF-1.4\n% not really a pdf\n";
const VERSIONED: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
const VERSION_TAG: &str = "\"v1\"";
const VERSION_DATE: &str = "Tue, 14 Nov 2023 22:13:20 GMT";
const ACCENTED: &[u8] = b"accented name\n";
const BIG_LEN: usize = 8 * 1024 * 1024;
const SECRET: &str = "upstream secret: stack trace and internal paths";

// ---------------------------------------------------------------------------
// The upstream: a real HTTP server, hand-built answers.
// ---------------------------------------------------------------------------

/// 8 MiB of deterministic pseudo-random bytes, made once.
fn big_body() -> &'static Bytes {
    static BIG: OnceLock<Bytes> = OnceLock::new();
    BIG.get_or_init(|| Bytes::from(pattern(BIG_LEN, 0x9E37_79B9)))
}

fn answer(status: u16, headers: &[(&str, &str)], body: Body) -> Response {
    let mut builder = Response::builder().status(status);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(body).unwrap()
}

async fn upstream_plain() -> Response {
    answer(
        200,
        &[
            ("content-type", "text/markdown; charset=utf-8"),
            ("content-length", &PLAIN.len().to_string()),
        ],
        Body::from(PLAIN),
    )
}

async fn upstream_chunked() -> Response {
    // A stream has no known length: hyper sends it chunked.
    let chunks = futures_util::stream::iter(CHUNKS).then(|chunk| async move {
        tokio::time::sleep(Duration::from_millis(5)).await;
        Ok::<_, io::Error>(Bytes::from_static(chunk))
    });
    answer(
        200,
        &[("content-type", "text/plain; charset=utf-8")],
        Body::from_stream(chunks),
    )
}

async fn upstream_untyped_pdf() -> Response {
    answer(
        200,
        &[("content-length", &PDF.len().to_string())],
        Body::from(PDF),
    )
}

/// `bytes=a-b` only: `Some(Ok((a, b)))` when satisfiable, `Some(Err(()))`
/// when not, `None` when not of that form.
fn parse_single_range(value: &str, len: usize) -> Option<Result<(usize, usize), ()>> {
    let (first, last) = value.trim().strip_prefix("bytes=")?.split_once('-')?;
    let first: usize = first.parse().ok()?;
    let last: usize = last.parse().ok()?;
    if last < first {
        return None;
    }
    if first >= len {
        return Some(Err(()));
    }
    Some(Ok((first, last.min(len - 1))))
}

async fn upstream_versioned(headers: HeaderMap) -> Response {
    let validators = [("etag", VERSION_TAG), ("last-modified", VERSION_DATE)];
    if let Some(list) = headers.get(IF_NONE_MATCH).and_then(|v| v.to_str().ok()) {
        if list
            .split(',')
            .any(|tag| tag.trim() == VERSION_TAG || tag.trim() == "*")
        {
            return answer(304, &validators, Body::empty());
        }
    }
    let len = VERSIONED.len();
    let range = headers
        .get(RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| parse_single_range(v, len));
    match range {
        Some(Ok((first, last))) => answer(
            206,
            &[
                validators[0],
                validators[1],
                ("accept-ranges", "bytes"),
                ("content-type", "text/plain; charset=utf-8"),
                ("content-range", &format!("bytes {first}-{last}/{len}")),
                ("content-length", &(last - first + 1).to_string()),
            ],
            Body::from(&VERSIONED[first..=last]),
        ),
        Some(Err(())) => answer(
            416,
            &[
                validators[0],
                validators[1],
                ("content-range", &format!("bytes */{len}")),
                ("content-length", "0"),
            ],
            Body::empty(),
        ),
        None => answer(
            200,
            &[
                validators[0],
                validators[1],
                ("accept-ranges", "bytes"),
                ("content-type", "text/plain; charset=utf-8"),
                ("content-length", &len.to_string()),
            ],
            Body::from(VERSIONED),
        ),
    }
}

async fn upstream_status(status: u16) -> Response {
    answer(
        status,
        &[
            ("content-type", "text/plain; charset=utf-8"),
            ("content-length", &SECRET.len().to_string()),
        ],
        Body::from(SECRET),
    )
}

async fn upstream_slow() -> Response {
    tokio::time::sleep(Duration::from_secs(5)).await;
    upstream_plain().await
}

/// Announces 1000 bytes, sends 100, then the body fails (hyper drops the
/// connection).
async fn upstream_truncated() -> Response {
    let head = futures_util::stream::once(async { Ok(Bytes::from(vec![b'x'; 100])) });
    let death = futures_util::stream::once(async {
        // Let the headers and the first bytes reach the client first.
        tokio::time::sleep(Duration::from_millis(50)).await;
        Err(io::Error::new(
            io::ErrorKind::ConnectionReset,
            "upstream died",
        ))
    });
    answer(
        200,
        &[
            ("content-type", "application/octet-stream"),
            ("content-length", "1000"),
        ],
        Body::from_stream(head.chain(death)),
    )
}

/// Announces 1000 bytes, sends 100, then ends the body cleanly.
async fn upstream_short() -> Response {
    let head =
        futures_util::stream::once(async { Ok::<_, io::Error>(Bytes::from(vec![b'y'; 100])) });
    let end = futures_util::stream::once(async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        Ok::<_, io::Error>(Bytes::new())
    });
    answer(
        200,
        &[
            ("content-type", "application/octet-stream"),
            ("content-length", "1000"),
        ],
        Body::from_stream(head.chain(end)),
    )
}

/// Sends 10 of 100 bytes, then nothing for longer than the relay's timeout.
async fn upstream_stalled() -> Response {
    let head = futures_util::stream::once(async { Ok(Bytes::from(vec![b'z'; 10])) });
    let stall = futures_util::stream::once(async {
        tokio::time::sleep(Duration::from_secs(5)).await;
        Ok::<_, io::Error>(Bytes::from(vec![b'z'; 90]))
    });
    answer(
        200,
        &[
            ("content-type", "application/octet-stream"),
            ("content-length", "100"),
        ],
        Body::from_stream(head.chain(stall)),
    )
}

async fn upstream_accented(request: Request<Body>) -> Response {
    // Echo the raw path in a header so the test sees what went on the wire.
    answer(
        200,
        &[
            ("content-type", "text/plain; charset=utf-8"),
            ("content-length", &ACCENTED.len().to_string()),
            ("x-upstream-path", request.uri().path()),
        ],
        Body::from(ACCENTED),
    )
}

async fn upstream_big() -> Response {
    answer(
        200,
        &[
            ("content-type", "application/octet-stream"),
            ("content-length", &BIG_LEN.to_string()),
        ],
        Body::from(big_body().clone()),
    )
}

/// Starts the upstream on an ephemeral port; returns its base URL.
async fn start_upstream() -> String {
    let upstream = Router::new()
        .route("/plain.txt", get(upstream_plain))
        .route("/chunked.txt", get(upstream_chunked))
        .route("/report.pdf", get(upstream_untyped_pdf))
        .route("/versioned.txt", get(upstream_versioned))
        .route("/missing.txt", get(|| upstream_status(404)))
        .route("/gone.txt", get(|| upstream_status(410)))
        .route("/forbidden.txt", get(|| upstream_status(403)))
        .route("/broken.txt", get(|| upstream_status(500)))
        .route("/unavailable.txt", get(|| upstream_status(503)))
        .route("/slow.txt", get(upstream_slow))
        .route("/truncated.bin", get(upstream_truncated))
        .route("/short.bin", get(upstream_short))
        .route("/stalled.bin", get(upstream_stalled))
        .route("/espace%20%C3%A9.txt", get(upstream_accented))
        .route("/big.bin", get(upstream_big));
    serve_url(upstream).await
}

// ---------------------------------------------------------------------------
// The app under test.
// ---------------------------------------------------------------------------

async fn relay(
    State(base): State<String>,
    conditions: Conditions,
    Path(name): Path<String>,
) -> Result<DownloadResponse, DownloadError> {
    HttpDownload::new(format!("{base}/{name}"))
        .forward(&conditions)
        .timeout(TIMEOUT)
        .await
}

fn app(base: String) -> Router {
    Router::new()
        .route("/{name}", get(relay))
        .with_state(base)
        .layer(DownloadLayer::new())
}

async fn call(base: &str, method: Method, uri: &str, headers: &[(&str, &str)]) -> Response {
    request(&app(base.to_owned()), method, uri, headers).await
}

async fn get_path(base: &str, uri: &str) -> Response {
    call(base, Method::GET, uri, &[]).await
}

/// Reads the body frame by frame: the data bytes received before the end or
/// the first error, and whether it ended with an error.
async fn read_until_error(response: Response) -> (usize, bool) {
    let mut body = response.into_body();
    let mut received = 0;
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => received += frame.data_ref().map_or(0, Bytes::len),
            Err(_) => return (received, true),
        }
    }
    (received, false)
}

fn sha256(bytes: &[u8]) -> Vec<u8> {
    Sha256::digest(bytes).to_vec()
}

// ---------------------------------------------------------------------------
// The tests.
// ---------------------------------------------------------------------------

#[tokio::test]
async fn relays_200_with_upstream_length_and_type() {
    let base = start_upstream().await;
    let response = get_path(&base, "/plain.txt").await;
    assert_eq!(response.status(), StatusCode::OK);
    // The upstream's type wins over the one the name would suggest.
    assert_eq!(
        header(&response, CONTENT_TYPE),
        Some("text/markdown; charset=utf-8")
    );
    assert_eq!(header(&response, CONTENT_LENGTH), Some("13"));
    assert_eq!(
        header(&response, CONTENT_DISPOSITION),
        Some("attachment; filename=\"plain.txt\"")
    );
    assert_eq!(header(&response, ACCEPT_RANGES), Some("none"));
    assert_eq!(header(&response, "x-content-type-options"), Some("nosniff"));
    assert_eq!(header(&response, ETAG), None);
    assert_eq!(header(&response, LAST_MODIFIED), None);
    assert_eq!(body(response).await, PLAIN);
}

#[tokio::test]
async fn relays_chunked_upstream_without_content_length() {
    let base = start_upstream().await;
    // The upstream really answers without a length.
    let direct = reqwest::get(format!("{base}/chunked.txt")).await.unwrap();
    assert_eq!(direct.headers().get(CONTENT_LENGTH), None);
    assert_eq!(
        direct
            .headers()
            .get("transfer-encoding")
            .map(|v| v.to_str().unwrap()),
        Some("chunked")
    );
    drop(direct);

    let response = get_path(&base, "/chunked.txt").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, CONTENT_LENGTH), None);
    assert_eq!(
        header(&response, CONTENT_TYPE),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(header(&response, ACCEPT_RANGES), Some("none"));
    assert_eq!(
        header(&response, CONTENT_DISPOSITION),
        Some("attachment; filename=\"chunked.txt\"")
    );
    assert_eq!(body(response).await, CHUNKS.concat());
}

#[tokio::test]
async fn guesses_content_type_from_name_when_upstream_sends_none() {
    let base = start_upstream().await;
    let direct = reqwest::get(format!("{base}/report.pdf")).await.unwrap();
    assert_eq!(direct.headers().get(CONTENT_TYPE), None);
    drop(direct);

    let response = get_path(&base, "/report.pdf").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, CONTENT_TYPE), Some("application/pdf"));
    assert_eq!(
        header(&response, CONTENT_LENGTH),
        Some(PDF.len().to_string().as_str())
    );
    assert_eq!(
        header(&response, CONTENT_DISPOSITION),
        Some("attachment; filename=\"report.pdf\"")
    );
    assert_eq!(body(response).await, PDF);
}

#[tokio::test]
async fn relays_etag_and_last_modified() {
    let base = start_upstream().await;
    let response = get_path(&base, "/versioned.txt").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, ETAG), Some(VERSION_TAG));
    assert_eq!(header(&response, LAST_MODIFIED), Some(VERSION_DATE));
    assert_eq!(header(&response, ACCEPT_RANGES), Some("bytes"));
    assert_eq!(header(&response, CONTENT_LENGTH), Some("36"));
    assert_eq!(body(response).await, VERSIONED);
}

#[tokio::test]
async fn if_none_match_relays_304_with_etag_and_no_body() {
    let base = start_upstream().await;
    let response = call(
        &base,
        Method::GET,
        "/versioned.txt",
        &[("if-none-match", VERSION_TAG)],
    )
    .await;
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(header(&response, ETAG), Some(VERSION_TAG));
    assert_eq!(header(&response, LAST_MODIFIED), Some(VERSION_DATE));
    assert_eq!(header(&response, CONTENT_TYPE), None);
    assert_eq!(header(&response, CONTENT_DISPOSITION), None);
    assert_eq!(header(&response, CONTENT_RANGE), None);
    assert!(body(response).await.is_empty());
}

#[tokio::test]
async fn if_none_match_with_other_tag_relays_200() {
    let base = start_upstream().await;
    let response = call(
        &base,
        Method::GET,
        "/versioned.txt",
        &[("if-none-match", "\"v0\"")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, ETAG), Some(VERSION_TAG));
    assert_eq!(body(response).await, VERSIONED);
}

#[tokio::test]
async fn range_relays_206_with_content_range_and_exact_bytes() {
    let base = start_upstream().await;
    let response = call(
        &base,
        Method::GET,
        "/versioned.txt",
        &[("range", "bytes=4-9")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(header(&response, CONTENT_RANGE), Some("bytes 4-9/36"));
    assert_eq!(header(&response, CONTENT_LENGTH), Some("6"));
    assert_eq!(header(&response, ETAG), Some(VERSION_TAG));
    assert_eq!(header(&response, ACCEPT_RANGES), Some("bytes"));
    assert_eq!(
        header(&response, CONTENT_TYPE),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(body(response).await, &VERSIONED[4..=9]);
}

#[tokio::test]
async fn range_at_the_end_relays_206_clamped() {
    let base = start_upstream().await;
    let response = call(
        &base,
        Method::GET,
        "/versioned.txt",
        &[("range", "bytes=30-99")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(header(&response, CONTENT_RANGE), Some("bytes 30-35/36"));
    assert_eq!(header(&response, CONTENT_LENGTH), Some("6"));
    assert_eq!(body(response).await, b"uvwxyz".as_slice());
}

#[tokio::test]
async fn unsatisfiable_range_relays_416_with_content_range_and_no_body() {
    let base = start_upstream().await;
    let response = call(
        &base,
        Method::GET,
        "/versioned.txt",
        &[("range", "bytes=100-200")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(header(&response, CONTENT_RANGE), Some("bytes */36"));
    assert_eq!(header(&response, CONTENT_LENGTH), Some("0"));
    assert_eq!(header(&response, CONTENT_DISPOSITION), None);
    assert!(body(response).await.is_empty());
}

#[tokio::test]
async fn upstream_404_answers_404_without_upstream_body() {
    let base = start_upstream().await;
    let response = get_path(&base, "/missing.txt").await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        header(&response, CONTENT_TYPE),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(header(&response, CONTENT_DISPOSITION), None);
    assert_eq!(text(response).await, "Not Found\n");
}

#[tokio::test]
async fn upstream_500_answers_502_without_upstream_body() {
    let base = start_upstream().await;
    let response = get_path(&base, "/broken.txt").await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(
        header(&response, CONTENT_TYPE),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(header(&response, CONTENT_DISPOSITION), None);
    assert_eq!(text(response).await, "Bad Gateway\n");
}

#[tokio::test]
async fn upstream_error_bodies_are_never_served_as_200() {
    let base = start_upstream().await;
    for (path, expected) in [
        ("/missing.txt", StatusCode::NOT_FOUND),
        ("/gone.txt", StatusCode::NOT_FOUND),
        ("/forbidden.txt", StatusCode::BAD_GATEWAY),
        ("/broken.txt", StatusCode::BAD_GATEWAY),
        ("/unavailable.txt", StatusCode::BAD_GATEWAY),
    ] {
        let response = get_path(&base, path).await;
        assert_eq!(response.status(), expected, "{path}");
        assert_eq!(header(&response, CONTENT_DISPOSITION), None, "{path}");
        assert_eq!(header(&response, ETAG), None, "{path}");
        let text = text(response).await;
        assert!(!text.contains("secret"), "{path} leaked {text:?}");
        assert_eq!(
            text,
            format!("{}\n", expected.canonical_reason().unwrap()),
            "{path}"
        );
    }
}

#[tokio::test]
async fn hanging_upstream_answers_504_within_the_timeout() {
    let base = start_upstream().await;
    let started = Instant::now();
    let response = get_path(&base, "/slow.txt").await;
    let elapsed = started.elapsed();
    assert_eq!(response.status(), StatusCode::GATEWAY_TIMEOUT);
    assert!(elapsed >= TIMEOUT, "answered after {elapsed:?}");
    assert!(
        elapsed < Duration::from_secs(2),
        "answered after {elapsed:?}"
    );
    assert_eq!(header(&response, CONTENT_DISPOSITION), None);
    assert_eq!(text(response).await, "Gateway Timeout\n");
}

#[tokio::test]
async fn upstream_dying_mid_body_fails_the_client_body() {
    let base = start_upstream().await;
    let response = get_path(&base, "/truncated.bin").await;
    // The headers were already relayed when the upstream died.
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, CONTENT_LENGTH), Some("1000"));
    let (received, failed) = read_until_error(response).await;
    assert!(failed, "body ended cleanly after {received} bytes");
    assert_eq!(received, 100);
}

#[tokio::test]
async fn upstream_dying_mid_body_makes_collect_fail() {
    let base = start_upstream().await;
    let response = get_path(&base, "/truncated.bin").await;
    assert_eq!(response.status(), StatusCode::OK);
    let collected = response.into_body().collect().await;
    assert!(
        collected.is_err(),
        "collected a complete-looking body of {} bytes",
        collected.map(|c| c.to_bytes().len()).unwrap_or(0)
    );
}

#[tokio::test]
async fn upstream_body_shorter_than_its_length_fails_the_client_body() {
    let base = start_upstream().await;
    let response = get_path(&base, "/short.bin").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, CONTENT_LENGTH), Some("1000"));
    let (received, failed) = read_until_error(response).await;
    assert!(failed, "body ended cleanly after {received} bytes");
    assert_eq!(received, 100);
}

#[tokio::test]
async fn upstream_stalling_mid_body_fails_the_client_body() {
    let base = start_upstream().await;
    let started = Instant::now();
    let response = get_path(&base, "/stalled.bin").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, CONTENT_LENGTH), Some("100"));
    let (received, failed) = read_until_error(response).await;
    let elapsed = started.elapsed();
    assert!(failed, "body ended cleanly after {received} bytes");
    assert_eq!(received, 10);
    assert!(elapsed < Duration::from_secs(2), "failed after {elapsed:?}");
}

#[tokio::test]
async fn connection_refused_answers_502() {
    let base = format!("http://{}", unused_addr());
    let response = get_path(&base, "/refused-probe.txt").await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(header(&response, CONTENT_DISPOSITION), None);
    assert_eq!(text(response).await, "Bad Gateway\n");
}

#[tokio::test]
async fn non_ascii_spaced_name_gets_safe_content_disposition() {
    let base = start_upstream().await;
    let response = get_path(&base, "/espace%20%C3%A9.txt").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "x-content-type-options"), Some("nosniff"));
    assert_eq!(
        header(&response, CONTENT_DISPOSITION),
        Some("attachment; filename=\"espace_e.txt\"; filename*=UTF-8''espace%20%C3%A9.txt")
    );
    assert_eq!(body(response).await, ACCENTED);
}

#[tokio::test]
async fn non_ascii_spaced_name_is_percent_encoded_upstream() {
    let base = start_upstream().await;
    let direct = reqwest::get(format!("{base}/espace é.txt")).await.unwrap();
    assert_eq!(direct.status(), reqwest::StatusCode::OK);
    assert_eq!(
        direct
            .headers()
            .get("x-upstream-path")
            .map(|v| v.to_str().unwrap()),
        Some("/espace%20%C3%A9.txt")
    );
}

#[tokio::test]
async fn big_body_is_relayed_byte_for_byte() {
    let base = start_upstream().await;
    let expected = big_body();
    let response = get_path(&base, "/big.bin").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header(&response, CONTENT_LENGTH),
        Some(BIG_LEN.to_string().as_str())
    );
    assert_eq!(
        header(&response, CONTENT_TYPE),
        Some("application/octet-stream")
    );
    let relayed = body(response).await;
    assert_eq!(relayed.len(), BIG_LEN);
    assert_eq!(sha256(&relayed), sha256(expected));
}

#[tokio::test]
async fn head_gives_headers_and_empty_body() {
    let base = start_upstream().await;
    let response = call(&base, Method::HEAD, "/plain.txt", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, CONTENT_LENGTH), Some("13"));
    assert_eq!(
        header(&response, CONTENT_TYPE),
        Some("text/markdown; charset=utf-8")
    );
    assert_eq!(
        header(&response, CONTENT_DISPOSITION),
        Some("attachment; filename=\"plain.txt\"")
    );
    assert!(body(response).await.is_empty());
}

#[tokio::test]
async fn head_headers_match_get_headers() {
    let base = start_upstream().await;
    for path in ["/plain.txt", "/versioned.txt", "/report.pdf"] {
        let get = get_path(&base, path).await;
        let head = call(&base, Method::HEAD, path, &[]).await;
        assert_eq!(head.status(), get.status(), "{path}");
        for name in [
            CONTENT_TYPE,
            CONTENT_LENGTH,
            CONTENT_DISPOSITION,
            ETAG,
            LAST_MODIFIED,
            ACCEPT_RANGES,
        ] {
            assert_eq!(
                header(&head, &name),
                header(&get, &name),
                "{path}: HEAD and GET disagree on {name}"
            );
        }
        assert!(body(head).await.is_empty(), "{path}");
    }
}

#[tokio::test]
async fn head_of_chunked_relay_claims_no_content_length() {
    // GET answers chunked, without a length; HEAD must not claim one
    // (RFC 9110 8.6), least of all 0 for a non-empty file.
    let base = start_upstream().await;
    let get = get_path(&base, "/chunked.txt").await;
    assert_eq!(header(&get, CONTENT_LENGTH), None);
    let head = call(&base, Method::HEAD, "/chunked.txt", &[]).await;
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(
        header(&head, CONTENT_TYPE),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(header(&head, CONTENT_LENGTH), None);
    assert!(body(head).await.is_empty());
}
