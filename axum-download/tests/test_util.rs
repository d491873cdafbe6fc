//! Tests of the `test-util` helpers: each check passes on a matching
//! response and panics, naming the field, on a mismatch.
#![cfg(feature = "test-util")]

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use axum_download::offload::{hand_off, Backend, Expires, HandOff, LimitRate, Rule};
use axum_download::rfc9110::ETag;
use axum_download::test_util::{
    assert_download_response, assert_x_accel_redirect, assert_x_sendfile, ExpectedDownload,
    ExpectedXAccel, ExpectedXSendfile, TempMediaRoot,
};
use axum_download::{DownloadLayer, DownloadSettings, VirtualDownload};
use http::{header, HeaderValue, Request, StatusCode};
use support::path_handler;
use tower::ServiceExt;

const ACCENT: &str = "espace é.txt";
const ACCENT_URI: &str = "/x-accel/espace%20%C3%A9.txt";

fn text() -> Response {
    VirtualDownload::text(ACCENT, "accent\n").into_response()
}

fn png() -> Response {
    VirtualDownload::bytes("pixel.png", &b"\x89PNG\r\n\x1a\n"[..]).into_response()
}

fn nginx(response: Response) -> Response {
    hand_off(
        response,
        &HandOff::Nginx {
            uri: ACCENT_URI.to_owned(),
            buffering: Some(false),
            expires: Some(Expires::After(Duration::from_secs(3600))),
            limit_rate: Some(LimitRate::BytesPerSecond(1024)),
        },
    )
}

fn nginx_plain(response: Response) -> Response {
    hand_off(
        response,
        &HandOff::Nginx {
            uri: "/x-accel/pixel.png".to_owned(),
            buffering: None,
            expires: None,
            limit_rate: None,
        },
    )
}

const SENDFILE_PATH: &str = "/srv/media/espace é?#.txt";

fn sendfile() -> Response {
    hand_off(
        text(),
        &HandOff::XSendfile {
            path: PathBuf::from(SENDFILE_PATH),
        },
    )
}

fn media() -> TempMediaRoot {
    let media = TempMediaRoot::new();
    media.file("docs/espace é.txt", "accent\n");
    media.file("日本語.pdf", b"%PDF-1.4\n");
    media
}

async fn get_path(root: &Path, settings: DownloadSettings, uri: &str) -> Response {
    let app = Router::new()
        .route("/media/{*name}", get(path_handler))
        .layer(DownloadLayer::with_settings(settings))
        .with_state(root.to_path_buf());
    let request = Request::get(uri).body(Body::empty()).unwrap();
    app.oneshot(request).await.unwrap()
}

// ---------------------------------------------------------------------------
// assert_download_response

#[tokio::test]
async fn download_matches_every_check() {
    assert_download_response(
        text(),
        &ExpectedDownload::new()
            .basename(ACCENT)
            .content_type("text/plain; charset=utf-8")
            .mime_prefix("text/")
            .body(b"accent\n")
            .attachment(),
    )
    .await;
}

#[tokio::test]
async fn download_through_a_router() {
    let media = media();
    let response = get_path(
        media.path(),
        DownloadSettings::default(),
        "/media/docs/espace%20%C3%A9.txt",
    )
    .await;
    assert_download_response(
        response,
        &ExpectedDownload::new()
            .basename(ACCENT)
            .content_type("text/plain; charset=utf-8")
            .body("accent\n")
            .attachment(),
    )
    .await;
    let response = get_path(
        media.path(),
        DownloadSettings::default(),
        "/media/%E6%97%A5%E6%9C%AC%E8%AA%9E.pdf",
    )
    .await;
    assert_download_response(
        response,
        &ExpectedDownload::new()
            .basename("日本語.pdf")
            .mime_prefix("application/pdf")
            .body(b"%PDF-1.4\n"),
    )
    .await;
}

#[tokio::test]
async fn download_without_checks_only_needs_200() {
    assert_download_response(
        Response::new(Body::from("anything")),
        &ExpectedDownload::new(),
    )
    .await;
}

#[tokio::test]
async fn download_inline_matches() {
    let response = VirtualDownload::text(ACCENT, "accent\n")
        .inline()
        .into_response();
    assert_download_response(response, &ExpectedDownload::new().inline().basename(ACCENT)).await;
}

#[tokio::test]
async fn download_ascii_name_uses_quoted_filename() {
    let response = VirtualDownload::text("hello-world.txt", "Hello world!\n").into_response();
    assert_eq!(
        response.headers()[header::CONTENT_DISPOSITION],
        "attachment; filename=\"hello-world.txt\""
    );
    assert_download_response(
        response,
        &ExpectedDownload::new().basename("hello-world.txt"),
    )
    .await;
}

#[tokio::test]
async fn download_quoted_filename_is_unescaped() {
    // A header from elsewhere, with only the quoted form.
    let mut response = Response::new(Body::empty());
    response.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static(r#"attachment; filename="a\"b\\c.txt""#),
    );
    assert_download_response(response, &ExpectedDownload::new().basename(r#"a"b\c.txt"#)).await;
}

#[tokio::test]
async fn download_name_with_quote_backslash_and_percent() {
    let name = "100% \"quoted\" back\\slash;.txt";
    let response = VirtualDownload::text(name, "x").into_response();
    assert_download_response(response, &ExpectedDownload::new().basename(name)).await;
}

#[tokio::test]
#[should_panic(expected = "assert_download_response: status mismatch")]
async fn download_not_modified_is_not_200() {
    let app = Router::new()
        .route(
            "/a.txt",
            get(|| async { VirtualDownload::text("a.txt", "a").etag(ETag::strong("v1")) }),
        )
        .layer(DownloadLayer::new());
    let request = Request::get("/a.txt")
        .header(header::IF_NONE_MATCH, "\"v1\"")
        .body(Body::empty())
        .unwrap();
    let response = app.oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
    assert_download_response(response, &ExpectedDownload::new()).await;
}

#[tokio::test]
#[should_panic(expected = "status mismatch\n  expected: 200 OK\n    actual: 404 Not Found")]
async fn download_missing_file_is_not_200() {
    let media = media();
    let response = get_path(media.path(), DownloadSettings::default(), "/media/nope.txt").await;
    assert_download_response(response, &ExpectedDownload::new()).await;
}

#[tokio::test]
#[should_panic(
    expected = "basename mismatch\n  expected: \"espace e.txt\"\n    actual: \"espace é.txt\""
)]
async fn download_wrong_basename() {
    assert_download_response(text(), &ExpectedDownload::new().basename("espace e.txt")).await;
}

#[tokio::test]
#[should_panic(expected = "basename mismatch\n  expected: \"espace_e.txt\"")]
async fn download_basename_is_not_the_ascii_fallback() {
    assert_download_response(text(), &ExpectedDownload::new().basename("espace_e.txt")).await;
}

#[tokio::test]
#[should_panic(
    expected = "basename mismatch\n  expected: \"a.txt\"\n    actual: no `Content-Disposition` header"
)]
async fn download_basename_without_header() {
    assert_download_response(
        Response::new(Body::from("a")),
        &ExpectedDownload::new().basename("a.txt"),
    )
    .await;
}

#[tokio::test]
#[should_panic(
    expected = "Content-Type mismatch\n  expected: \"text/plain\"\n    actual: \"text/plain; charset=utf-8\""
)]
async fn download_wrong_content_type() {
    assert_download_response(text(), &ExpectedDownload::new().content_type("text/plain")).await;
}

#[tokio::test]
#[should_panic(
    expected = "mime prefix mismatch\n  expected: Content-Type starting with \"image/\"\n    actual: \"text/plain; charset=utf-8\""
)]
async fn download_wrong_mime_prefix() {
    assert_download_response(text(), &ExpectedDownload::new().mime_prefix("image/")).await;
}

#[tokio::test]
#[should_panic(
    expected = "body mismatch\n  expected: \"accent!\\n\" (8 bytes)\n    actual: \"accent\\n\" (7 bytes)"
)]
async fn download_wrong_body() {
    assert_download_response(text(), &ExpectedDownload::new().body("accent!\n")).await;
}

#[tokio::test]
#[should_panic(expected = "Content-Length mismatch")]
async fn download_body_shorter_than_content_length() {
    let mut response = text();
    response
        .headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from_static("99"));
    *response.body_mut() = Body::from("accent\n");
    assert_download_response(response, &ExpectedDownload::new().body("accent\n")).await;
}

#[tokio::test]
#[should_panic(expected = "disposition mismatch\n  expected: inline\n    actual: \"attachment\"")]
async fn download_attachment_is_not_inline() {
    assert_download_response(text(), &ExpectedDownload::new().inline()).await;
}

#[tokio::test]
#[should_panic(expected = "disposition mismatch\n  expected: attachment\n    actual: \"inline\"")]
async fn download_inline_is_not_attachment() {
    let response = VirtualDownload::text(ACCENT, "accent\n")
        .inline()
        .into_response();
    assert_download_response(response, &ExpectedDownload::new().attachment()).await;
}

// ---------------------------------------------------------------------------
// assert_x_accel_redirect

#[tokio::test]
async fn x_accel_matches_every_check() {
    assert_x_accel_redirect(
        nginx(text()),
        &ExpectedXAccel::new(ACCENT_URI)
            .charset("utf-8")
            .buffering(false)
            .expires("3600")
            .limit_rate("1024")
            .basename(ACCENT)
            .content_type("text/plain; charset=utf-8")
            .attachment(),
    )
    .await;
}

#[tokio::test]
async fn x_accel_only_redirect() {
    assert_x_accel_redirect(nginx(text()), &ExpectedXAccel::new(ACCENT_URI)).await;
}

#[tokio::test]
async fn x_accel_absent_options() {
    assert_x_accel_redirect(
        nginx_plain(png()),
        &ExpectedXAccel::new("/x-accel/pixel.png")
            .no_charset()
            .no_buffering()
            .no_expires()
            .no_limit_rate()
            .basename("pixel.png")
            .content_type("image/png"),
    )
    .await;
}

#[tokio::test]
async fn x_accel_off_values() {
    let response = hand_off(
        png(),
        &HandOff::Nginx {
            uri: "/x-accel/pixel.png".to_owned(),
            buffering: Some(true),
            expires: Some(Expires::Off),
            limit_rate: Some(LimitRate::Off),
        },
    );
    assert_x_accel_redirect(
        response,
        &ExpectedXAccel::new("/x-accel/pixel.png")
            .buffering(true)
            .expires("off")
            .limit_rate("off"),
    )
    .await;
}

#[tokio::test]
async fn x_accel_inline() {
    let response = nginx(
        VirtualDownload::text(ACCENT, "accent\n")
            .inline()
            .into_response(),
    );
    assert_x_accel_redirect(response, &ExpectedXAccel::new(ACCENT_URI).inline()).await;
}

#[tokio::test]
async fn x_accel_through_a_router() {
    let media = media();
    let settings =
        DownloadSettings::new(Backend::Nginx).rule(Rule::nginx("/x-accel/").buffering(false));
    let response = get_path(media.path(), settings, "/media/docs/espace%20%C3%A9.txt").await;
    assert_x_accel_redirect(
        response,
        &ExpectedXAccel::new("/x-accel/docs/espace%20%C3%A9.txt")
            .charset("utf-8")
            .buffering(false)
            .no_expires()
            .no_limit_rate()
            .basename(ACCENT)
            .content_type("text/plain; charset=utf-8"),
    )
    .await;
}

#[tokio::test]
#[should_panic(
    expected = "assert_x_accel_redirect: X-Accel-Redirect mismatch\n  expected: \"/x-accel/espace%20e.txt\"\n    actual: \"/x-accel/espace%20%C3%A9.txt\""
)]
async fn x_accel_wrong_redirect() {
    assert_x_accel_redirect(
        nginx(text()),
        &ExpectedXAccel::new("/x-accel/espace%20e.txt"),
    )
    .await;
}

#[tokio::test]
#[should_panic(
    expected = "X-Accel-Redirect mismatch\n  expected: \"/x-accel/espace%20%C3%A9.txt\"\n    actual: no `X-Accel-Redirect` header"
)]
async fn x_accel_not_handed_off() {
    assert_x_accel_redirect(text(), &ExpectedXAccel::new(ACCENT_URI)).await;
}

#[tokio::test]
#[should_panic(
    expected = "status mismatch\n  expected: 200 OK\n    actual: 500 Internal Server Error"
)]
async fn x_accel_not_200() {
    let mut response = nginx(text());
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    assert_x_accel_redirect(response, &ExpectedXAccel::new(ACCENT_URI)).await;
}

#[tokio::test]
#[should_panic(
    expected = "X-Accel-Charset mismatch\n  expected: \"latin1\"\n    actual: \"utf-8\""
)]
async fn x_accel_wrong_charset() {
    assert_x_accel_redirect(
        nginx(text()),
        &ExpectedXAccel::new(ACCENT_URI).charset("latin1"),
    )
    .await;
}

#[tokio::test]
#[should_panic(
    expected = "X-Accel-Charset mismatch\n  expected: \"utf-8\"\n    actual: no `X-Accel-Charset` header"
)]
async fn x_accel_missing_charset() {
    assert_x_accel_redirect(
        nginx_plain(png()),
        &ExpectedXAccel::new("/x-accel/pixel.png").charset("utf-8"),
    )
    .await;
}

#[tokio::test]
#[should_panic(
    expected = "X-Accel-Charset mismatch\n  expected: no `X-Accel-Charset` header\n    actual: \"utf-8\""
)]
async fn x_accel_charset_present_when_absent_expected() {
    assert_x_accel_redirect(nginx(text()), &ExpectedXAccel::new(ACCENT_URI).no_charset()).await;
}

#[tokio::test]
#[should_panic(expected = "X-Accel-Buffering mismatch\n  expected: \"yes\"\n    actual: \"no\"")]
async fn x_accel_wrong_buffering() {
    assert_x_accel_redirect(
        nginx(text()),
        &ExpectedXAccel::new(ACCENT_URI).buffering(true),
    )
    .await;
}

#[tokio::test]
#[should_panic(
    expected = "X-Accel-Buffering mismatch\n  expected: no `X-Accel-Buffering` header\n    actual: \"no\""
)]
async fn x_accel_buffering_present_when_absent_expected() {
    assert_x_accel_redirect(
        nginx(text()),
        &ExpectedXAccel::new(ACCENT_URI).no_buffering(),
    )
    .await;
}

#[tokio::test]
#[should_panic(expected = "X-Accel-Expires mismatch\n  expected: \"off\"\n    actual: \"3600\"")]
async fn x_accel_wrong_expires() {
    assert_x_accel_redirect(
        nginx(text()),
        &ExpectedXAccel::new(ACCENT_URI).expires("off"),
    )
    .await;
}

#[tokio::test]
#[should_panic(
    expected = "X-Accel-Expires mismatch\n  expected: no `X-Accel-Expires` header\n    actual: \"3600\""
)]
async fn x_accel_expires_present_when_absent_expected() {
    assert_x_accel_redirect(nginx(text()), &ExpectedXAccel::new(ACCENT_URI).no_expires()).await;
}

#[tokio::test]
#[should_panic(
    expected = "X-Accel-Limit-Rate mismatch\n  expected: \"2048\"\n    actual: \"1024\""
)]
async fn x_accel_wrong_limit_rate() {
    assert_x_accel_redirect(
        nginx(text()),
        &ExpectedXAccel::new(ACCENT_URI).limit_rate("2048"),
    )
    .await;
}

#[tokio::test]
#[should_panic(
    expected = "X-Accel-Limit-Rate mismatch\n  expected: no `X-Accel-Limit-Rate` header\n    actual: \"1024\""
)]
async fn x_accel_limit_rate_present_when_absent_expected() {
    assert_x_accel_redirect(
        nginx(text()),
        &ExpectedXAccel::new(ACCENT_URI).no_limit_rate(),
    )
    .await;
}

#[tokio::test]
#[should_panic(
    expected = "X-Accel-Limit-Rate mismatch\n  expected: \"off\"\n    actual: no `X-Accel-Limit-Rate` header"
)]
async fn x_accel_missing_limit_rate() {
    assert_x_accel_redirect(
        nginx_plain(png()),
        &ExpectedXAccel::new("/x-accel/pixel.png").limit_rate("off"),
    )
    .await;
}

#[tokio::test]
#[should_panic(
    expected = "assert_x_accel_redirect: basename mismatch\n  expected: \"other.txt\"\n    actual: \"espace é.txt\""
)]
async fn x_accel_wrong_basename() {
    assert_x_accel_redirect(
        nginx(text()),
        &ExpectedXAccel::new(ACCENT_URI).basename("other.txt"),
    )
    .await;
}

#[tokio::test]
#[should_panic(
    expected = "assert_x_accel_redirect: Content-Type mismatch\n  expected: \"text/html\""
)]
async fn x_accel_wrong_content_type() {
    assert_x_accel_redirect(
        nginx(text()),
        &ExpectedXAccel::new(ACCENT_URI).content_type("text/html"),
    )
    .await;
}

#[tokio::test]
#[should_panic(expected = "assert_x_accel_redirect: disposition mismatch\n  expected: inline")]
async fn x_accel_attachment_is_not_inline() {
    assert_x_accel_redirect(nginx(text()), &ExpectedXAccel::new(ACCENT_URI).inline()).await;
}

#[tokio::test]
#[should_panic(expected = "assert_x_accel_redirect: Content-Length mismatch")]
async fn x_accel_with_content_length() {
    let mut response = nginx(text());
    response
        .headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from_static("7"));
    assert_x_accel_redirect(response, &ExpectedXAccel::new(ACCENT_URI)).await;
}

#[tokio::test]
#[should_panic(
    expected = "assert_x_accel_redirect: body mismatch\n  expected: an empty body (the proxy sends the file)\n    actual: a body of at least 7 bytes"
)]
async fn x_accel_with_a_body() {
    let mut response = nginx(text());
    *response.body_mut() = Body::from("accent\n");
    assert_x_accel_redirect(response, &ExpectedXAccel::new(ACCENT_URI)).await;
}

#[tokio::test]
async fn x_accel_content_length_zero_is_fine() {
    let mut response = nginx(text());
    response
        .headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
    assert_x_accel_redirect(response, &ExpectedXAccel::new(ACCENT_URI)).await;
}

/// The message of the panic `check` ends in, when spawned.
async fn panic_of(check: impl std::future::Future<Output = ()> + Send + 'static) -> String {
    let err = tokio::spawn(check).await.expect_err("no panic");
    let payload = err.into_panic();
    match payload.downcast::<String>() {
        Ok(message) => *message,
        Err(payload) => payload.downcast_ref::<&str>().unwrap().to_string(),
    }
}

#[tokio::test]
async fn x_accel_with_a_body_of_unknown_size() {
    // A stream announces no size: only reading it shows the bytes, when
    // the future is awaited; the panic still names the test's line.
    let mut response = nginx(text());
    let chunks = futures_util::stream::iter([Ok::<_, std::io::Error>("accent\n")]);
    *response.body_mut() = Body::from_stream(chunks);
    let line = line!() + 1;
    let check = assert_x_accel_redirect(response, &ExpectedXAccel::new(ACCENT_URI));
    let message = panic_of(check).await;
    let expected = format!(
        "assert_x_accel_redirect (called at {}:{line}:17): body mismatch\n  \
         expected: an empty body (the proxy sends the file)\n    \
         actual: \"accent\\n\" (7 bytes)",
        file!()
    );
    assert_eq!(message, expected);
}

#[tokio::test]
async fn x_accel_status_other_than_200() {
    let mut response = nginx(text());
    *response.status_mut() = StatusCode::NOT_FOUND;
    assert_x_accel_redirect(
        response,
        &ExpectedXAccel::new(ACCENT_URI).status(StatusCode::NOT_FOUND),
    )
    .await;
}

#[tokio::test]
#[should_panic(
    expected = "assert_x_accel_redirect: status mismatch\n  expected: 404 Not Found\n    actual: 200 OK"
)]
async fn x_accel_200_is_not_the_expected_status() {
    assert_x_accel_redirect(
        nginx(text()),
        &ExpectedXAccel::new(ACCENT_URI).status(StatusCode::NOT_FOUND),
    )
    .await;
}

// ---------------------------------------------------------------------------
// assert_x_sendfile

#[tokio::test]
async fn x_sendfile_matches_the_path_byte_for_byte() {
    let response = sendfile();
    assert_eq!(
        response.headers()[axum_download::offload::X_SENDFILE].as_bytes(),
        SENDFILE_PATH.as_bytes()
    );
    assert_x_sendfile(response, &ExpectedXSendfile::new(SENDFILE_PATH)).await;
    assert_x_sendfile(
        sendfile(),
        &ExpectedXSendfile::new(PathBuf::from(SENDFILE_PATH)),
    )
    .await;
}

#[tokio::test]
async fn x_sendfile_through_a_router() {
    let media = media();
    let settings = DownloadSettings::new(Backend::XSendfile).rule(Rule::x_sendfile());
    let response = get_path(media.path(), settings, "/media/docs/espace%20%C3%A9.txt").await;
    assert_x_sendfile(
        response,
        &ExpectedXSendfile::new(media.path().join("docs").join(ACCENT)),
    )
    .await;
}

#[tokio::test]
#[should_panic(
    expected = "assert_x_sendfile: X-Sendfile mismatch\n  expected: \"/srv/media/espace e?#.txt\"\n    actual: \"/srv/media/espace é?#.txt\""
)]
async fn x_sendfile_wrong_path() {
    assert_x_sendfile(
        sendfile(),
        &ExpectedXSendfile::new("/srv/media/espace e?#.txt"),
    )
    .await;
}

#[tokio::test]
#[should_panic(
    expected = "X-Sendfile mismatch\n  expected: \"/srv/media/a.txt\"\n    actual: no `X-Sendfile` header"
)]
async fn x_sendfile_not_handed_off() {
    assert_x_sendfile(text(), &ExpectedXSendfile::new("/srv/media/a.txt")).await;
}

#[tokio::test]
#[should_panic(expected = "X-Sendfile mismatch")]
async fn x_sendfile_nginx_hand_off_is_not_sendfile() {
    assert_x_sendfile(nginx(text()), &ExpectedXSendfile::new(SENDFILE_PATH)).await;
}

#[tokio::test]
#[should_panic(
    expected = "assert_x_sendfile: status mismatch\n  expected: 200 OK\n    actual: 404 Not Found"
)]
async fn x_sendfile_not_200() {
    let mut response = sendfile();
    *response.status_mut() = StatusCode::NOT_FOUND;
    assert_x_sendfile(response, &ExpectedXSendfile::new(SENDFILE_PATH)).await;
}

#[tokio::test]
#[should_panic(expected = "assert_x_sendfile: Content-Length mismatch")]
async fn x_sendfile_with_content_length() {
    let mut response = sendfile();
    response
        .headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from_static("7"));
    assert_x_sendfile(response, &ExpectedXSendfile::new(SENDFILE_PATH)).await;
}

#[tokio::test]
async fn x_sendfile_matches_every_check() {
    assert_x_sendfile(
        sendfile(),
        &ExpectedXSendfile::new(SENDFILE_PATH)
            .status(StatusCode::OK)
            .basename(ACCENT)
            .content_type("text/plain; charset=utf-8")
            .attachment(),
    )
    .await;
}

#[tokio::test]
async fn x_sendfile_inline() {
    let download = VirtualDownload::text(ACCENT, "accent\n")
        .inline()
        .into_response();
    let response = hand_off(
        download,
        &HandOff::XSendfile {
            path: PathBuf::from(SENDFILE_PATH),
        },
    );
    assert_x_sendfile(response, &ExpectedXSendfile::new(SENDFILE_PATH).inline()).await;
}

#[tokio::test]
#[should_panic(
    expected = "assert_x_sendfile: basename mismatch\n  expected: \"other.txt\"\n    actual: \"espace é.txt\""
)]
async fn x_sendfile_wrong_basename() {
    assert_x_sendfile(
        sendfile(),
        &ExpectedXSendfile::new(SENDFILE_PATH).basename("other.txt"),
    )
    .await;
}

#[tokio::test]
#[should_panic(expected = "assert_x_sendfile: Content-Type mismatch\n  expected: \"text/html\"")]
async fn x_sendfile_wrong_content_type() {
    assert_x_sendfile(
        sendfile(),
        &ExpectedXSendfile::new(SENDFILE_PATH).content_type("text/html"),
    )
    .await;
}

#[tokio::test]
#[should_panic(expected = "assert_x_sendfile: disposition mismatch\n  expected: inline")]
async fn x_sendfile_attachment_is_not_inline() {
    assert_x_sendfile(sendfile(), &ExpectedXSendfile::new(SENDFILE_PATH).inline()).await;
}

#[tokio::test]
#[should_panic(
    expected = "assert_x_sendfile: status mismatch\n  expected: 206 Partial Content\n    actual: 200 OK"
)]
async fn x_sendfile_200_is_not_the_expected_status() {
    assert_x_sendfile(
        sendfile(),
        &ExpectedXSendfile::new(SENDFILE_PATH).status(StatusCode::PARTIAL_CONTENT),
    )
    .await;
}

#[tokio::test]
#[should_panic(
    expected = "assert_x_sendfile: body mismatch\n  expected: an empty body (the proxy sends the file)\n    actual: a body of at least 7 bytes"
)]
async fn x_sendfile_with_a_body() {
    let mut response = sendfile();
    *response.body_mut() = Body::from("accent\n");
    assert_x_sendfile(response, &ExpectedXSendfile::new(SENDFILE_PATH)).await;
}

#[tokio::test]
async fn x_sendfile_with_a_body_of_unknown_size() {
    let mut response = sendfile();
    let chunks = futures_util::stream::iter([Ok::<_, std::io::Error>("accent\n")]);
    *response.body_mut() = Body::from_stream(chunks);
    let line = line!() + 1;
    let check = assert_x_sendfile(response, &ExpectedXSendfile::new(SENDFILE_PATH));
    let message = panic_of(check).await;
    let expected = format!(
        "assert_x_sendfile (called at {}:{line}:17): body mismatch\n  \
         expected: an empty body (the proxy sends the file)\n    \
         actual: \"accent\\n\" (7 bytes)",
        file!()
    );
    assert_eq!(message, expected);
}

// ---------------------------------------------------------------------------
// TempMediaRoot

#[test]
fn temp_media_root_creates_files_and_cleans_up() {
    let media = TempMediaRoot::default();
    let root = media.path().to_path_buf();
    assert!(root.is_dir());
    let file = media.file("a/b/espace é.txt", "accent\n");
    assert_eq!(file, root.join("a/b/espace é.txt"));
    assert_eq!(std::fs::read(&file).unwrap(), b"accent\n");
    media.file("a/b/espace é.txt", b"overwritten");
    assert_eq!(std::fs::read(&file).unwrap(), b"overwritten");
    let dir = media.dir("empty/dir");
    assert!(dir.is_dir());
    drop(media);
    assert!(!root.exists());
}

#[cfg(unix)]
#[test]
fn temp_media_root_symlinks() {
    let media = TempMediaRoot::new();
    let target = media.file("real.txt", "real\n");
    let link = media.symlink("links/alias.txt", &target);
    assert_eq!(link, media.path().join("links/alias.txt"));
    assert_eq!(std::fs::read_link(&link).unwrap(), target);
    assert_eq!(std::fs::read_to_string(&link).unwrap(), "real\n");
    let outside = media.symlink("passwd", "/etc/passwd");
    assert_eq!(
        std::fs::read_link(outside).unwrap(),
        Path::new("/etc/passwd")
    );
}

#[cfg(unix)]
#[tokio::test]
async fn temp_media_root_symlink_outside_is_refused_by_path_download() {
    let media = media();
    let outside = TempMediaRoot::new();
    let secret = outside.file("secret.txt", "secret\n");
    media.symlink("secret.txt", &secret);
    let response = get_path(
        media.path(),
        DownloadSettings::default(),
        "/media/secret.txt",
    )
    .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[test]
#[should_panic(
    expected = "TempMediaRoot::file: expected a relative path inside the media root (no root, no `..`), got \"../escape.txt\""
)]
fn temp_media_root_refuses_parent_dir() {
    TempMediaRoot::new().file("../escape.txt", "x");
}

#[test]
#[should_panic(expected = "TempMediaRoot::file: expected a relative path inside the media root")]
fn temp_media_root_refuses_absolute_path() {
    TempMediaRoot::new().file("/tmp/escape.txt", "x");
}

#[test]
#[should_panic(expected = "TempMediaRoot::dir: expected a relative path inside the media root")]
fn temp_media_root_refuses_empty_name() {
    TempMediaRoot::new().dir("");
}
