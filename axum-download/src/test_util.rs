//! Test helpers for applications that return downloads.
//!
//! Enabled by the `test-util` feature; add it to your dev-dependencies:
//!
//! ```toml
//! [dev-dependencies]
//! axum-download = { version = "0.1", features = ["test-util"] }
//! ```
//!
//! The helpers take any [`Response`], for example one returned by
//! [`tower::ServiceExt::oneshot`] on a [`Router`](axum::Router):
//!
//! - [`assert_download_response`] checks a download the application serves
//!   itself: status, file name, type, disposition and body
//!   ([`ExpectedDownload`]);
//! - [`assert_x_accel_redirect`] checks a download handed off to nginx
//!   ([`ExpectedXAccel`]);
//! - [`assert_x_sendfile`] checks a download handed off to Apache or
//!   lighttpd ([`ExpectedXSendfile`]);
//! - [`TempMediaRoot`] is a temporary media directory to serve files from.
//!
//! The three assertions are called the same way: the response by value, a
//! description built from `Expected…::new(..)`, and `.await`:
//! `assert_x(response, &ExpectedX::new(..).check(..)).await`. The status
//! and the headers are checked at the call, so a mismatch points at the
//! test's line; the body (the expected bytes of a download, nothing in a
//! hand-off) is read when the returned future is awaited, and that panic
//! names the test's line in its message.
//!
//! On a mismatch they panic like [`assert_eq!`], naming the field, the
//! expected and the actual value:
//!
//! ```text
//! assert_download_response: basename mismatch
//!   expected: "espace é.txt"
//!     actual: "espace e.txt"
//!   Content-Disposition: "attachment; filename=\"espace e.txt\""
//! ```
//!
//! ```
//! use axum::{body::Body, extract::Path, routing::get, Router};
//! use axum_download::test_util::{assert_download_response, ExpectedDownload, TempMediaRoot};
//! use axum_download::{DownloadError, DownloadLayer, DownloadResponse, PathDownload};
//! use http::Request;
//! use tower::ServiceExt;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let media = TempMediaRoot::new();
//! media.file("docs/espace é.txt", "accent\n");
//!
//! let root = media.path().to_path_buf();
//! let app = Router::new()
//!     .route(
//!         "/download/{*name}",
//!         get(move |Path(name): Path<String>| async move {
//!             PathDownload::from_root(root, name).await
//!         }),
//!     )
//!     .layer(DownloadLayer::new());
//!
//! let request = Request::get("/download/docs/espace%20%C3%A9.txt")
//!     .body(Body::empty())
//!     .unwrap();
//! let response = app.oneshot(request).await.unwrap();
//! assert_download_response(
//!     response,
//!     &ExpectedDownload::new()
//!         .basename("espace é.txt")
//!         .content_type("text/plain; charset=utf-8")
//!         .body("accent\n")
//!         .attachment(),
//! )
//! .await;
//! # }
//! ```
//!
//! [`tower::ServiceExt::oneshot`]: https://docs.rs/tower/0.5/tower/trait.ServiceExt.html#method.oneshot

use std::fmt;
use std::future::Future;
use std::panic::Location;
use std::path::{Component, Path, PathBuf};

use axum::response::Response;
use bytes::Bytes;
use http::header::{self, HeaderName};
use http::{HeaderMap, HeaderValue, StatusCode};
use http_body::Body as _;
use http_body_util::BodyExt;
use percent_encoding::percent_decode_str;
use tempfile::TempDir;

use crate::content_disposition::Disposition;
use crate::offload::{
    X_ACCEL_BUFFERING, X_ACCEL_CHARSET, X_ACCEL_EXPIRES, X_ACCEL_LIMIT_RATE, X_ACCEL_REDIRECT,
    X_SENDFILE,
};

const DOWNLOAD: &str = "assert_download_response";
const X_ACCEL: &str = "assert_x_accel_redirect";
const SENDFILE: &str = "assert_x_sendfile";

/// What [`assert_download_response`] checks in a download response.
///
/// The status is always checked (`200 OK` unless [`status`](Self::status)
/// says otherwise: 206, 304, 403...); every other check runs only when its
/// method was called.
///
/// ```
/// use axum_download::test_util::ExpectedDownload;
///
/// let expected = ExpectedDownload::new()
///     .basename("espace é.txt")
///     .content_type("text/plain; charset=utf-8")
///     .mime_prefix("text/")
///     .body(b"accent\n")
///     .attachment();
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct ExpectedDownload {
    basename: Option<String>,
    content_type: Option<String>,
    mime_prefix: Option<String>,
    body: Option<Bytes>,
    disposition: Option<Disposition>,
    status: Option<StatusCode>,
}

impl ExpectedDownload {
    /// Expects a `200 OK` response and checks nothing else.
    ///
    /// ```
    /// use axum::response::IntoResponse;
    /// use axum_download::test_util::{assert_download_response, ExpectedDownload};
    /// use axum_download::VirtualDownload;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let response = VirtualDownload::text("a.txt", "hello").into_response();
    /// assert_download_response(response, &ExpectedDownload::new()).await;
    /// # }
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// The status expected instead of `200 OK`.
    ///
    /// ```
    /// use axum::response::IntoResponse;
    /// use axum_download::test_util::{assert_download_response, ExpectedDownload};
    /// use axum_download::DownloadError;
    /// use http::StatusCode;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let response = DownloadError::forbidden("not yours").into_response();
    /// assert_download_response(
    ///     response,
    ///     &ExpectedDownload::new().status(StatusCode::FORBIDDEN).body("Forbidden\n"),
    /// )
    /// .await;
    /// # }
    /// ```
    pub fn status(mut self, status: StatusCode) -> Self {
        self.status = Some(status);
        self
    }

    /// The file name the client sees, exactly (Unicode included).
    ///
    /// It is read from the `Content-Disposition` header: the RFC 8187
    /// `filename*=UTF-8''...` parameter, percent-decoded, when present,
    /// otherwise the quoted `filename="..."` (with `\"` and `\\`
    /// unescaped).
    ///
    /// ```
    /// use axum::response::IntoResponse;
    /// use axum_download::test_util::{assert_download_response, ExpectedDownload};
    /// use axum_download::VirtualDownload;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let response = VirtualDownload::text("espace é.txt", "accent\n").into_response();
    /// assert_download_response(response, &ExpectedDownload::new().basename("espace é.txt")).await;
    /// # }
    /// ```
    pub fn basename(mut self, basename: impl Into<String>) -> Self {
        self.basename = Some(basename.into());
        self
    }

    /// The whole `Content-Type` header, exactly
    /// (e.g. `text/plain; charset=utf-8`).
    ///
    /// ```
    /// use axum::response::IntoResponse;
    /// use axum_download::test_util::{assert_download_response, ExpectedDownload};
    /// use axum_download::VirtualDownload;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let response = VirtualDownload::text("a.csv", "a;b\n").into_response();
    /// assert_download_response(response, &ExpectedDownload::new().content_type("text/csv; charset=utf-8")).await;
    /// # }
    /// ```
    pub fn content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }

    /// The start of the `Content-Type` header, compared case-insensitively
    /// (e.g. `text/` or `image/png`).
    ///
    /// ```
    /// use axum::response::IntoResponse;
    /// use axum_download::test_util::{assert_download_response, ExpectedDownload};
    /// use axum_download::VirtualDownload;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let response = VirtualDownload::text("a.html", "<p>hi</p>").into_response();
    /// assert_download_response(response, &ExpectedDownload::new().mime_prefix("TEXT/")).await;
    /// # }
    /// ```
    pub fn mime_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.mime_prefix = Some(prefix.into());
        self
    }

    /// The whole body, byte for byte. When the response states a
    /// `Content-Length`, it must be the length of the body read.
    ///
    /// ```
    /// use axum::response::IntoResponse;
    /// use axum_download::test_util::{assert_download_response, ExpectedDownload};
    /// use axum_download::VirtualDownload;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let response = VirtualDownload::bytes("a.bin", vec![0u8, 1, 2]).into_response();
    /// assert_download_response(response, &ExpectedDownload::new().body([0u8, 1, 2])).await;
    /// # }
    /// ```
    pub fn body(mut self, body: impl AsRef<[u8]>) -> Self {
        self.body = Some(Bytes::copy_from_slice(body.as_ref()));
        self
    }

    /// `Content-Disposition: attachment`: the browser saves the file.
    ///
    /// ```
    /// use axum::response::IntoResponse;
    /// use axum_download::test_util::{assert_download_response, ExpectedDownload};
    /// use axum_download::VirtualDownload;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let response = VirtualDownload::text("a.txt", "hello").into_response();
    /// assert_download_response(response, &ExpectedDownload::new().attachment()).await;
    /// # }
    /// ```
    pub fn attachment(mut self) -> Self {
        self.disposition = Some(Disposition::Attachment);
        self
    }

    /// `Content-Disposition: inline`: the browser shows the file.
    ///
    /// ```
    /// use axum::response::IntoResponse;
    /// use axum_download::test_util::{assert_download_response, ExpectedDownload};
    /// use axum_download::VirtualDownload;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let response = VirtualDownload::text("a.txt", "hello").inline().into_response();
    /// assert_download_response(response, &ExpectedDownload::new().inline()).await;
    /// # }
    /// ```
    pub fn inline(mut self) -> Self {
        self.disposition = Some(Disposition::Inline);
        self
    }
}

/// Asserts that `response` is the download described by `expected`.
///
/// The status (`200 OK`) and the headers are checked as soon as this
/// function is called, so their panics point at the caller. The body, when
/// [`ExpectedDownload::body`] was given, is read and compared when the
/// returned future is awaited; that panic names the caller's location in
/// its message.
///
/// # Panics
///
/// On the first mismatch, with a message naming the field, the expected
/// and the actual value; also when the body cannot be read.
///
/// ```
/// use axum::response::IntoResponse;
/// use axum_download::test_util::{assert_download_response, ExpectedDownload};
/// use axum_download::VirtualDownload;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let response = VirtualDownload::text("日本語.txt", "こんにちは").inline().into_response();
/// assert_download_response(
///     response,
///     &ExpectedDownload::new()
///         .basename("日本語.txt")
///         .mime_prefix("text/plain")
///         .body("こんにちは")
///         .inline(),
/// )
/// .await;
/// # }
/// ```
#[track_caller]
pub fn assert_download_response(
    response: Response,
    expected: &ExpectedDownload,
) -> impl Future<Output = ()> + Send + 'static {
    let caller = Location::caller();
    check_status(DOWNLOAD, &response, expected.status);
    let headers = response.headers();
    if let Some(content_type) = &expected.content_type {
        check_content_type(DOWNLOAD, headers, content_type);
    }
    if let Some(prefix) = &expected.mime_prefix {
        let actual = single_header(DOWNLOAD, headers, &header::CONTENT_TYPE, "Content-Type");
        let matches = actual.is_some_and(|value| {
            value
                .as_bytes()
                .get(..prefix.len())
                .is_some_and(|start| start.eq_ignore_ascii_case(prefix.as_bytes()))
        });
        if !matches {
            mismatch(
                DOWNLOAD,
                "mime prefix",
                format_args!("Content-Type starting with {prefix:?}"),
                Shown::header(actual, "Content-Type"),
                None,
            );
        }
    }
    check_disposition(
        DOWNLOAD,
        headers,
        expected.disposition,
        expected.basename.as_deref(),
    );
    let expected_body = expected.body.clone();
    async move {
        let Some(expected_body) = expected_body else {
            return;
        };
        let (parts, body) = response.into_parts();
        let actual = match body.collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(err) => panic!(
                "{DOWNLOAD} (called at {caller}): could not read the response body \
                 (expected {} bytes): {err}",
                expected_body.len()
            ),
        };
        if actual != expected_body {
            panic!(
                "{DOWNLOAD} (called at {caller}): body mismatch\n  \
                 expected: {}\n    actual: {}\n  {}",
                ShowBody(&expected_body),
                ShowBody(&actual),
                first_difference(&expected_body, &actual),
            );
        }
        let stated = parts.headers.get(header::CONTENT_LENGTH);
        if let Some(stated) = stated {
            if stated.as_bytes() != actual.len().to_string().as_bytes() {
                panic!(
                    "{DOWNLOAD} (called at {caller}): Content-Length mismatch\n  \
                     expected: \"{}\" (the length of the body)\n    actual: {stated:?}",
                    actual.len()
                );
            }
        }
    }
}

/// What [`assert_x_accel_redirect`] checks in an nginx hand-off.
///
/// The status (`200 OK` unless [`status`](Self::status) says otherwise),
/// the `X-Accel-Redirect` target and the empty hand-off body are always
/// checked. Each `X-Accel-*` option is checked
/// only when asked: `.charset("utf-8")` requires that exact value,
/// `.no_charset()` requires the header to be absent, and without either
/// the header is not looked at.
///
/// ```
/// use axum_download::test_util::ExpectedXAccel;
///
/// let expected = ExpectedXAccel::new("/x-accel/espace%20%C3%A9.txt")
///     .charset("utf-8")
///     .buffering(false)
///     .expires("3600")
///     .no_limit_rate()
///     .basename("espace é.txt")
///     .content_type("text/plain; charset=utf-8");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct ExpectedXAccel {
    redirect: String,
    charset: HeaderCheck,
    buffering: HeaderCheck,
    expires: HeaderCheck,
    limit_rate: HeaderCheck,
    basename: Option<String>,
    content_type: Option<String>,
    disposition: Option<Disposition>,
    status: Option<StatusCode>,
}

/// What to check of an optional header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
enum HeaderCheck {
    #[default]
    Unchecked,
    Absent,
    Equals(String),
}

impl ExpectedXAccel {
    /// Expects `X-Accel-Redirect` to be `redirect`, exactly as sent
    /// (percent-encoded, e.g. `/x-accel/espace%20%C3%A9.txt`).
    ///
    /// ```
    /// use axum_download::test_util::{assert_x_accel_redirect, ExpectedXAccel};
    /// # use axum::response::IntoResponse;
    /// # use axum_download::offload::{hand_off, Expires, HandOff, LimitRate};
    /// # use axum_download::VirtualDownload;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// # let target = HandOff::Nginx {
    /// #     uri: "/x-accel/a.txt".to_owned(),
    /// #     buffering: None,
    /// #     expires: None,
    /// #     limit_rate: None,
    /// # };
    /// # let response = hand_off(VirtualDownload::text("a.txt", "hello").into_response(), &target);
    ///
    /// // `response`: "a.txt" handed off to nginx at /x-accel/a.txt.
    /// assert_x_accel_redirect(response, &ExpectedXAccel::new("/x-accel/a.txt")).await;
    /// # }
    /// ```
    pub fn new(redirect: impl Into<String>) -> Self {
        Self {
            redirect: redirect.into(),
            charset: HeaderCheck::Unchecked,
            buffering: HeaderCheck::Unchecked,
            expires: HeaderCheck::Unchecked,
            limit_rate: HeaderCheck::Unchecked,
            basename: None,
            content_type: None,
            disposition: None,
            status: None,
        }
    }

    /// The status expected instead of `200 OK` (what
    /// [`hand_off`](crate::offload::hand_off) always answers), for a
    /// hand-off the application builds itself.
    ///
    /// ```
    /// use axum_download::test_util::{assert_x_accel_redirect, ExpectedXAccel};
    /// # use axum_download::offload::X_ACCEL_REDIRECT;
    /// # use axum::response::Response;
    /// # use http::StatusCode;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// # let response = Response::builder()
    /// #     .status(StatusCode::NOT_FOUND)
    /// #     .header(X_ACCEL_REDIRECT, "/errors/404.html")
    /// #     .body(axum::body::Body::empty())
    /// #     .unwrap();
    ///
    /// // `response`: a 404 page handed off to nginx.
    /// assert_x_accel_redirect(
    ///     response,
    ///     &ExpectedXAccel::new("/errors/404.html").status(StatusCode::NOT_FOUND),
    /// )
    /// .await;
    /// # }
    /// ```
    pub fn status(mut self, status: StatusCode) -> Self {
        self.status = Some(status);
        self
    }

    /// `X-Accel-Charset` is exactly `charset` (e.g. `utf-8`).
    ///
    /// ```
    /// use axum_download::test_util::{assert_x_accel_redirect, ExpectedXAccel};
    /// # use axum::response::IntoResponse;
    /// # use axum_download::offload::{hand_off, Expires, HandOff, LimitRate};
    /// # use axum_download::VirtualDownload;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// # let target = HandOff::Nginx {
    /// #     uri: "/x-accel/a.txt".to_owned(),
    /// #     buffering: None,
    /// #     expires: None,
    /// #     limit_rate: None,
    /// # };
    /// # let response = hand_off(VirtualDownload::text("a.txt", "hello").into_response(), &target);
    ///
    /// // `response`: "a.txt" handed off to nginx at /x-accel/a.txt.
    /// assert_x_accel_redirect(response, &ExpectedXAccel::new("/x-accel/a.txt").charset("utf-8")).await;
    /// # }
    /// ```
    pub fn charset(mut self, charset: impl Into<String>) -> Self {
        self.charset = HeaderCheck::Equals(charset.into());
        self
    }

    /// There is no `X-Accel-Charset` header.
    ///
    /// ```
    /// use axum_download::test_util::{assert_x_accel_redirect, ExpectedXAccel};
    /// # use axum::response::IntoResponse;
    /// # use axum_download::offload::{hand_off, Expires, HandOff, LimitRate};
    /// # use axum_download::VirtualDownload;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// # let target = HandOff::Nginx {
    /// #     uri: "/x-accel/a.txt".to_owned(),
    /// #     buffering: None,
    /// #     expires: None,
    /// #     limit_rate: None,
    /// # };
    /// # let response = hand_off(VirtualDownload::text("a.bin", "hello").content_type("application/octet-stream").into_response(), &target);
    ///
    /// // `response`: "a.txt" handed off to nginx at /x-accel/a.txt.
    /// assert_x_accel_redirect(response, &ExpectedXAccel::new("/x-accel/a.txt").no_charset()).await;
    /// # }
    /// ```
    pub fn no_charset(mut self) -> Self {
        self.charset = HeaderCheck::Absent;
        self
    }

    /// `X-Accel-Buffering` is `yes` (`true`) or `no` (`false`).
    ///
    /// ```
    /// use axum_download::test_util::{assert_x_accel_redirect, ExpectedXAccel};
    /// # use axum::response::IntoResponse;
    /// # use axum_download::offload::{hand_off, Expires, HandOff, LimitRate};
    /// # use axum_download::VirtualDownload;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// # let target = HandOff::Nginx {
    /// #     uri: "/x-accel/a.txt".to_owned(),
    /// #     buffering: Some(false),
    /// #     expires: None,
    /// #     limit_rate: None,
    /// # };
    /// # let response = hand_off(VirtualDownload::text("a.txt", "hello").into_response(), &target);
    ///
    /// // `response`: "a.txt" handed off to nginx at /x-accel/a.txt.
    /// assert_x_accel_redirect(response, &ExpectedXAccel::new("/x-accel/a.txt").buffering(false)).await;
    /// # }
    /// ```
    pub fn buffering(mut self, buffering: bool) -> Self {
        self.buffering = HeaderCheck::Equals(if buffering { "yes" } else { "no" }.to_owned());
        self
    }

    /// There is no `X-Accel-Buffering` header (nginx then uses its own
    /// configuration). To require `X-Accel-Buffering: no`, use
    /// [`buffering(false)`](Self::buffering).
    ///
    /// ```
    /// use axum_download::test_util::{assert_x_accel_redirect, ExpectedXAccel};
    /// # use axum::response::IntoResponse;
    /// # use axum_download::offload::{hand_off, Expires, HandOff, LimitRate};
    /// # use axum_download::VirtualDownload;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// # let target = HandOff::Nginx {
    /// #     uri: "/x-accel/a.txt".to_owned(),
    /// #     buffering: None,
    /// #     expires: None,
    /// #     limit_rate: None,
    /// # };
    /// # let response = hand_off(VirtualDownload::text("a.txt", "hello").into_response(), &target);
    ///
    /// // `response`: "a.txt" handed off to nginx at /x-accel/a.txt.
    /// assert_x_accel_redirect(response, &ExpectedXAccel::new("/x-accel/a.txt").no_buffering()).await;
    /// # }
    /// ```
    pub fn no_buffering(mut self) -> Self {
        self.buffering = HeaderCheck::Absent;
        self
    }

    /// `X-Accel-Expires` is exactly `expires`: seconds (`"3600"`) or `"off"`.
    ///
    /// ```
    /// use axum_download::test_util::{assert_x_accel_redirect, ExpectedXAccel};
    /// # use axum::response::IntoResponse;
    /// # use axum_download::offload::{hand_off, Expires, HandOff, LimitRate};
    /// # use axum_download::VirtualDownload;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// # let target = HandOff::Nginx {
    /// #     uri: "/x-accel/a.txt".to_owned(),
    /// #     buffering: None,
    /// #     expires: Some(Expires::Off),
    /// #     limit_rate: None,
    /// # };
    /// # let response = hand_off(VirtualDownload::text("a.txt", "hello").into_response(), &target);
    ///
    /// // `response`: "a.txt" handed off to nginx at /x-accel/a.txt.
    /// assert_x_accel_redirect(response, &ExpectedXAccel::new("/x-accel/a.txt").expires("off")).await;
    /// # }
    /// ```
    pub fn expires(mut self, expires: impl Into<String>) -> Self {
        self.expires = HeaderCheck::Equals(expires.into());
        self
    }

    /// There is no `X-Accel-Expires` header. To require `off`, use
    /// [`expires("off")`](Self::expires).
    ///
    /// ```
    /// use axum_download::test_util::{assert_x_accel_redirect, ExpectedXAccel};
    /// # use axum::response::IntoResponse;
    /// # use axum_download::offload::{hand_off, Expires, HandOff, LimitRate};
    /// # use axum_download::VirtualDownload;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// # let target = HandOff::Nginx {
    /// #     uri: "/x-accel/a.txt".to_owned(),
    /// #     buffering: None,
    /// #     expires: None,
    /// #     limit_rate: None,
    /// # };
    /// # let response = hand_off(VirtualDownload::text("a.txt", "hello").into_response(), &target);
    ///
    /// // `response`: "a.txt" handed off to nginx at /x-accel/a.txt.
    /// assert_x_accel_redirect(response, &ExpectedXAccel::new("/x-accel/a.txt").no_expires()).await;
    /// # }
    /// ```
    pub fn no_expires(mut self) -> Self {
        self.expires = HeaderCheck::Absent;
        self
    }

    /// `X-Accel-Limit-Rate` is exactly `limit_rate`: bytes per second
    /// (`"1024"`) or `"off"`.
    ///
    /// ```
    /// use axum_download::test_util::{assert_x_accel_redirect, ExpectedXAccel};
    /// # use axum::response::IntoResponse;
    /// # use axum_download::offload::{hand_off, Expires, HandOff, LimitRate};
    /// # use axum_download::VirtualDownload;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// # let target = HandOff::Nginx {
    /// #     uri: "/x-accel/a.txt".to_owned(),
    /// #     buffering: None,
    /// #     expires: None,
    /// #     limit_rate: Some(LimitRate::BytesPerSecond(1024)),
    /// # };
    /// # let response = hand_off(VirtualDownload::text("a.txt", "hello").into_response(), &target);
    ///
    /// // `response`: "a.txt" handed off to nginx at /x-accel/a.txt.
    /// assert_x_accel_redirect(response, &ExpectedXAccel::new("/x-accel/a.txt").limit_rate("1024")).await;
    /// # }
    /// ```
    pub fn limit_rate(mut self, limit_rate: impl Into<String>) -> Self {
        self.limit_rate = HeaderCheck::Equals(limit_rate.into());
        self
    }

    /// There is no `X-Accel-Limit-Rate` header. To require `off`, use
    /// [`limit_rate("off")`](Self::limit_rate).
    ///
    /// ```
    /// use axum_download::test_util::{assert_x_accel_redirect, ExpectedXAccel};
    /// # use axum::response::IntoResponse;
    /// # use axum_download::offload::{hand_off, Expires, HandOff, LimitRate};
    /// # use axum_download::VirtualDownload;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// # let target = HandOff::Nginx {
    /// #     uri: "/x-accel/a.txt".to_owned(),
    /// #     buffering: None,
    /// #     expires: None,
    /// #     limit_rate: None,
    /// # };
    /// # let response = hand_off(VirtualDownload::text("a.txt", "hello").into_response(), &target);
    ///
    /// // `response`: "a.txt" handed off to nginx at /x-accel/a.txt.
    /// assert_x_accel_redirect(response, &ExpectedXAccel::new("/x-accel/a.txt").no_limit_rate()).await;
    /// # }
    /// ```
    pub fn no_limit_rate(mut self) -> Self {
        self.limit_rate = HeaderCheck::Absent;
        self
    }

    /// The file name the client sees, as for
    /// [`ExpectedDownload::basename`]: the hand-off keeps the
    /// `Content-Disposition` of the download.
    ///
    /// ```
    /// use axum_download::test_util::{assert_x_accel_redirect, ExpectedXAccel};
    /// # use axum::response::IntoResponse;
    /// # use axum_download::offload::{hand_off, Expires, HandOff, LimitRate};
    /// # use axum_download::VirtualDownload;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// # let target = HandOff::Nginx {
    /// #     uri: "/x-accel/a.txt".to_owned(),
    /// #     buffering: None,
    /// #     expires: None,
    /// #     limit_rate: None,
    /// # };
    /// # let response = hand_off(VirtualDownload::text("a.txt", "hello").into_response(), &target);
    ///
    /// // `response`: "a.txt" handed off to nginx at /x-accel/a.txt.
    /// assert_x_accel_redirect(response, &ExpectedXAccel::new("/x-accel/a.txt").basename("a.txt")).await;
    /// # }
    /// ```
    pub fn basename(mut self, basename: impl Into<String>) -> Self {
        self.basename = Some(basename.into());
        self
    }

    /// The whole `Content-Type` header, exactly.
    ///
    /// ```
    /// use axum_download::test_util::{assert_x_accel_redirect, ExpectedXAccel};
    /// # use axum::response::IntoResponse;
    /// # use axum_download::offload::{hand_off, Expires, HandOff, LimitRate};
    /// # use axum_download::VirtualDownload;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// # let target = HandOff::Nginx {
    /// #     uri: "/x-accel/a.txt".to_owned(),
    /// #     buffering: None,
    /// #     expires: None,
    /// #     limit_rate: None,
    /// # };
    /// # let response = hand_off(VirtualDownload::text("a.txt", "hello").into_response(), &target);
    ///
    /// // `response`: "a.txt" handed off to nginx at /x-accel/a.txt.
    /// assert_x_accel_redirect(response, &ExpectedXAccel::new("/x-accel/a.txt").content_type("text/plain; charset=utf-8")).await;
    /// # }
    /// ```
    pub fn content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }

    /// `Content-Disposition: attachment`.
    ///
    /// ```
    /// use axum_download::test_util::{assert_x_accel_redirect, ExpectedXAccel};
    /// # use axum::response::IntoResponse;
    /// # use axum_download::offload::{hand_off, Expires, HandOff, LimitRate};
    /// # use axum_download::VirtualDownload;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// # let target = HandOff::Nginx {
    /// #     uri: "/x-accel/a.txt".to_owned(),
    /// #     buffering: None,
    /// #     expires: None,
    /// #     limit_rate: None,
    /// # };
    /// # let response = hand_off(VirtualDownload::text("a.txt", "hello").into_response(), &target);
    ///
    /// // `response`: "a.txt" handed off to nginx at /x-accel/a.txt.
    /// assert_x_accel_redirect(response, &ExpectedXAccel::new("/x-accel/a.txt").attachment()).await;
    /// # }
    /// ```
    pub fn attachment(mut self) -> Self {
        self.disposition = Some(Disposition::Attachment);
        self
    }

    /// `Content-Disposition: inline`.
    ///
    /// ```
    /// use axum_download::test_util::{assert_x_accel_redirect, ExpectedXAccel};
    /// # use axum::response::IntoResponse;
    /// # use axum_download::offload::{hand_off, Expires, HandOff, LimitRate};
    /// # use axum_download::VirtualDownload;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// # let target = HandOff::Nginx {
    /// #     uri: "/x-accel/a.txt".to_owned(),
    /// #     buffering: None,
    /// #     expires: None,
    /// #     limit_rate: None,
    /// # };
    /// # let response = hand_off(VirtualDownload::text("a.txt", "hello").inline().into_response(), &target);
    ///
    /// // `response`: "a.txt" handed off to nginx at /x-accel/a.txt.
    /// assert_x_accel_redirect(response, &ExpectedXAccel::new("/x-accel/a.txt").inline()).await;
    /// # }
    /// ```
    pub fn inline(mut self) -> Self {
        self.disposition = Some(Disposition::Inline);
        self
    }
}

/// Asserts that `response` hands a download off to nginx as `expected`
/// describes.
///
/// Always checks the status (`200 OK` unless
/// [`ExpectedXAccel::status`] says otherwise), the [`X_ACCEL_REDIRECT`]
/// header and that the hand-off carries no body: no `Content-Length` other
/// than `0`, and, when the returned future is awaited, a body that reads as
/// empty. Then each check `expected` asks for: [`X_ACCEL_CHARSET`],
/// [`X_ACCEL_BUFFERING`], [`X_ACCEL_EXPIRES`], [`X_ACCEL_LIMIT_RATE`], the
/// file name, `Content-Type` and disposition.
///
/// Like [`assert_download_response`], the status and the headers are
/// checked as soon as this function is called, so their panics point at
/// the caller; the body is read when the returned future is awaited, and
/// that panic names the caller's location in its message.
///
/// # Panics
///
/// On the first mismatch, with a message naming the field, the expected
/// and the actual value; also when the body cannot be read.
///
/// ```
/// use axum::response::IntoResponse;
/// use axum_download::test_util::{assert_x_accel_redirect, ExpectedXAccel};
/// use axum_download::VirtualDownload;
/// use axum_download::offload::{hand_off, HandOff};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let download = VirtualDownload::text("espace é.txt", "accent\n").into_response();
/// let response = hand_off(
///     download,
///     &HandOff::Nginx {
///         uri: "/x-accel/espace%20%C3%A9.txt".to_owned(),
///         buffering: Some(false),
///         expires: None,
///         limit_rate: None,
///     },
/// );
/// assert_x_accel_redirect(
///     response,
///     &ExpectedXAccel::new("/x-accel/espace%20%C3%A9.txt")
///         .charset("utf-8")
///         .buffering(false)
///         .no_expires()
///         .no_limit_rate()
///         .basename("espace é.txt"),
/// )
/// .await;
/// # }
/// ```
#[track_caller]
pub fn assert_x_accel_redirect(
    response: Response,
    expected: &ExpectedXAccel,
) -> impl Future<Output = ()> + Send + 'static {
    let caller = Location::caller();
    check_status(X_ACCEL, &response, expected.status);
    let headers = response.headers();
    check_header(
        X_ACCEL,
        headers,
        &X_ACCEL_REDIRECT,
        "X-Accel-Redirect",
        &HeaderCheck::Equals(expected.redirect.clone()),
    );
    check_empty_hand_off(X_ACCEL, &response);
    for (name, shown, check) in [
        (&X_ACCEL_CHARSET, "X-Accel-Charset", &expected.charset),
        (&X_ACCEL_BUFFERING, "X-Accel-Buffering", &expected.buffering),
        (&X_ACCEL_EXPIRES, "X-Accel-Expires", &expected.expires),
        (
            &X_ACCEL_LIMIT_RATE,
            "X-Accel-Limit-Rate",
            &expected.limit_rate,
        ),
    ] {
        check_header(X_ACCEL, headers, name, shown, check);
    }
    if let Some(content_type) = &expected.content_type {
        check_content_type(X_ACCEL, headers, content_type);
    }
    check_disposition(
        X_ACCEL,
        headers,
        expected.disposition,
        expected.basename.as_deref(),
    );
    read_empty_body(X_ACCEL, caller, response)
}

/// What [`assert_x_sendfile`] checks in an Apache or lighttpd hand-off.
///
/// The status (`200 OK` unless [`status`](Self::status) says otherwise),
/// the `X-Sendfile` path and the empty hand-off body are always checked;
/// the file name, `Content-Type` and disposition (which the hand-off keeps
/// from the download) only when asked.
///
/// ```
/// use axum_download::test_util::ExpectedXSendfile;
///
/// let expected = ExpectedXSendfile::new("/srv/media/espace é.txt")
///     .basename("espace é.txt")
///     .content_type("text/plain; charset=utf-8")
///     .attachment();
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct ExpectedXSendfile {
    path: PathBuf,
    status: Option<StatusCode>,
    basename: Option<String>,
    content_type: Option<String>,
    disposition: Option<Disposition>,
}

impl ExpectedXSendfile {
    /// Expects `X-Sendfile` to name `path`, byte for byte (non-ASCII
    /// included).
    ///
    /// ```
    /// use axum_download::test_util::{assert_x_sendfile, ExpectedXSendfile};
    /// # use axum::response::IntoResponse;
    /// # use axum_download::offload::{hand_off, HandOff};
    /// # use axum_download::VirtualDownload;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// # let target = HandOff::XSendfile { path: "/srv/media/a.txt".into() };
    /// # let response = hand_off(VirtualDownload::text("a.txt", "hello").into_response(), &target);
    ///
    /// // `response`: "a.txt" handed off to Apache as /srv/media/a.txt.
    /// assert_x_sendfile(response, &ExpectedXSendfile::new("/srv/media/a.txt")).await;
    /// # }
    /// ```
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            status: None,
            basename: None,
            content_type: None,
            disposition: None,
        }
    }

    /// The status expected instead of `200 OK` (what
    /// [`hand_off`](crate::offload::hand_off) always answers), for a
    /// hand-off the application builds itself.
    ///
    /// ```
    /// use axum_download::test_util::{assert_x_sendfile, ExpectedXSendfile};
    /// # use axum_download::offload::X_SENDFILE;
    /// # use axum::response::Response;
    /// # use http::StatusCode;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// # let response = Response::builder()
    /// #     .status(StatusCode::NOT_FOUND)
    /// #     .header(X_SENDFILE, "/srv/errors/404.html")
    /// #     .body(axum::body::Body::empty())
    /// #     .unwrap();
    ///
    /// // `response`: a 404 page handed off to Apache.
    /// assert_x_sendfile(
    ///     response,
    ///     &ExpectedXSendfile::new("/srv/errors/404.html").status(StatusCode::NOT_FOUND),
    /// )
    /// .await;
    /// # }
    /// ```
    pub fn status(mut self, status: StatusCode) -> Self {
        self.status = Some(status);
        self
    }

    /// The file name the client sees, as for
    /// [`ExpectedDownload::basename`]: the hand-off keeps the
    /// `Content-Disposition` of the download.
    ///
    /// ```
    /// use axum_download::test_util::{assert_x_sendfile, ExpectedXSendfile};
    /// # use axum::response::IntoResponse;
    /// # use axum_download::offload::{hand_off, HandOff};
    /// # use axum_download::VirtualDownload;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// # let target = HandOff::XSendfile { path: "/srv/media/a.txt".into() };
    /// # let response = hand_off(VirtualDownload::text("a.txt", "hello").into_response(), &target);
    ///
    /// // `response`: "a.txt" handed off to Apache as /srv/media/a.txt.
    /// assert_x_sendfile(response, &ExpectedXSendfile::new("/srv/media/a.txt").basename("a.txt")).await;
    /// # }
    /// ```
    pub fn basename(mut self, basename: impl Into<String>) -> Self {
        self.basename = Some(basename.into());
        self
    }

    /// The whole `Content-Type` header, exactly.
    ///
    /// ```
    /// use axum_download::test_util::{assert_x_sendfile, ExpectedXSendfile};
    /// # use axum::response::IntoResponse;
    /// # use axum_download::offload::{hand_off, HandOff};
    /// # use axum_download::VirtualDownload;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// # let target = HandOff::XSendfile { path: "/srv/media/a.txt".into() };
    /// # let response = hand_off(VirtualDownload::text("a.txt", "hello").into_response(), &target);
    ///
    /// // `response`: "a.txt" handed off to Apache as /srv/media/a.txt.
    /// assert_x_sendfile(response, &ExpectedXSendfile::new("/srv/media/a.txt").content_type("text/plain; charset=utf-8")).await;
    /// # }
    /// ```
    pub fn content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }

    /// `Content-Disposition: attachment`.
    ///
    /// ```
    /// use axum_download::test_util::{assert_x_sendfile, ExpectedXSendfile};
    /// # use axum::response::IntoResponse;
    /// # use axum_download::offload::{hand_off, HandOff};
    /// # use axum_download::VirtualDownload;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// # let target = HandOff::XSendfile { path: "/srv/media/a.txt".into() };
    /// # let response = hand_off(VirtualDownload::text("a.txt", "hello").into_response(), &target);
    ///
    /// // `response`: "a.txt" handed off to Apache as /srv/media/a.txt.
    /// assert_x_sendfile(response, &ExpectedXSendfile::new("/srv/media/a.txt").attachment()).await;
    /// # }
    /// ```
    pub fn attachment(mut self) -> Self {
        self.disposition = Some(Disposition::Attachment);
        self
    }

    /// `Content-Disposition: inline`.
    ///
    /// ```
    /// use axum_download::test_util::{assert_x_sendfile, ExpectedXSendfile};
    /// # use axum::response::IntoResponse;
    /// # use axum_download::offload::{hand_off, HandOff};
    /// # use axum_download::VirtualDownload;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// # let target = HandOff::XSendfile { path: "/srv/media/a.txt".into() };
    /// # let response = hand_off(VirtualDownload::text("a.txt", "hello").inline().into_response(), &target);
    ///
    /// // `response`: "a.txt" handed off to Apache as /srv/media/a.txt.
    /// assert_x_sendfile(response, &ExpectedXSendfile::new("/srv/media/a.txt").inline()).await;
    /// # }
    /// ```
    pub fn inline(mut self) -> Self {
        self.disposition = Some(Disposition::Inline);
        self
    }
}

/// Asserts that `response` hands a download off to Apache or lighttpd as
/// `expected` describes.
///
/// The [`X_SENDFILE`] header carries the path byte for byte (non-ASCII
/// included) and must be exactly [`ExpectedXSendfile::new`]'s path. Also
/// checks the status (`200 OK` unless [`ExpectedXSendfile::status`] says
/// otherwise), that the hand-off carries no body (no `Content-Length` other
/// than `0`, and, when the returned future is awaited, a body that reads as
/// empty), and each check `expected` asks for: the file name,
/// `Content-Type` and disposition.
///
/// The status and the headers are checked as soon as this function is
/// called, so their panics point at the caller; the body is read when the
/// returned future is awaited, and that panic names the caller's location
/// in its message.
///
/// # Panics
///
/// On the first mismatch, with a message naming the field, the expected
/// and the actual value; also when the body cannot be read.
///
/// ```
/// use axum::response::IntoResponse;
/// use axum_download::test_util::{assert_x_sendfile, ExpectedXSendfile};
/// use axum_download::VirtualDownload;
/// use axum_download::offload::{hand_off, HandOff};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let download = VirtualDownload::text("rapport é.txt", "...").into_response();
/// let path = "/srv/media/rapport é.txt";
/// let response = hand_off(download, &HandOff::XSendfile { path: path.into() });
/// assert_x_sendfile(
///     response,
///     &ExpectedXSendfile::new(path)
///         .basename("rapport é.txt")
///         .content_type("text/plain; charset=utf-8")
///         .attachment(),
/// )
/// .await;
/// # }
/// ```
#[track_caller]
pub fn assert_x_sendfile(
    response: Response,
    expected: &ExpectedXSendfile,
) -> impl Future<Output = ()> + Send + 'static {
    let caller = Location::caller();
    let expected_path = expected.path.as_path();
    check_status(SENDFILE, &response, expected.status);
    let value = single_header(SENDFILE, response.headers(), &X_SENDFILE, "X-Sendfile");
    let Some(value) = value else {
        mismatch(
            SENDFILE,
            "X-Sendfile",
            format_args!("{:?}", expected_path.display().to_string()),
            "no `X-Sendfile` header",
            None,
        );
    };
    // The header carries the path byte for byte.
    let sent = String::from_utf8_lossy(value.as_bytes());
    let expected_text = expected_path.to_string_lossy();
    if value.as_bytes() != expected_text.as_bytes() {
        mismatch(
            SENDFILE,
            "X-Sendfile",
            format_args!("{expected_text:?}"),
            format_args!("{sent:?}"),
            Some(("X-Sendfile (as sent)", value)),
        );
    }
    check_empty_hand_off(SENDFILE, &response);
    let headers = response.headers();
    if let Some(content_type) = &expected.content_type {
        check_content_type(SENDFILE, headers, content_type);
    }
    check_disposition(
        SENDFILE,
        headers,
        expected.disposition,
        expected.basename.as_deref(),
    );
    read_empty_body(SENDFILE, caller, response)
}

/// A temporary media directory for tests, deleted when dropped.
///
/// ```
/// use axum_download::test_util::TempMediaRoot;
///
/// let media = TempMediaRoot::new();
/// let file = media.file("docs/espace é.txt", "accent\n");
/// assert_eq!(file, media.path().join("docs/espace é.txt"));
/// assert_eq!(std::fs::read_to_string(&file).unwrap(), "accent\n");
///
/// let root = media.path().to_path_buf();
/// drop(media);
/// assert!(!root.exists());
/// ```
#[derive(Debug)]
pub struct TempMediaRoot {
    dir: TempDir,
}

impl TempMediaRoot {
    /// Creates an empty temporary directory.
    ///
    /// ```
    /// use axum_download::test_util::TempMediaRoot;
    ///
    /// let media = TempMediaRoot::new();
    /// assert_eq!(std::fs::read_dir(media.path()).unwrap().count(), 0);
    /// ```
    ///
    /// # Panics
    ///
    /// When the directory cannot be created.
    #[must_use]
    #[track_caller]
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("axum-download-media-")
            .tempdir()
            .unwrap_or_else(|err| {
                panic!("TempMediaRoot::new: could not create a temporary directory: {err}")
            });
        Self { dir }
    }

    /// The directory's absolute path (not canonicalized).
    ///
    /// ```
    /// use axum_download::test_util::TempMediaRoot;
    /// use axum_download::FileSystemStorage;
    ///
    /// let media = TempMediaRoot::new();
    /// assert!(media.path().is_absolute());
    /// let storage = FileSystemStorage::new(media.path());
    /// ```
    #[must_use]
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `contents` to the file `name` (a relative path, `/`
    /// separated, e.g. `docs/a.pdf`), creating its parent directories, and
    /// returns its full path. An existing file is overwritten.
    ///
    /// # Panics
    ///
    /// When `name` is empty, absolute or contains `..` (it would leave the
    /// directory), or when the file cannot be written.
    ///
    /// ```
    /// use axum_download::test_util::TempMediaRoot;
    /// use axum_download::PathDownload;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let media = TempMediaRoot::new();
    /// media.file("docs/a.pdf", b"%PDF-1.7");
    /// let download = PathDownload::from_root(media.path(), "docs/a.pdf").await.unwrap();
    /// assert_eq!(download.meta().size, Some(8));
    /// # }
    /// ```
    #[track_caller]
    pub fn file(&self, name: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.child("file", name.as_ref());
        create_parent("file", &path);
        if let Err(err) = std::fs::write(&path, contents) {
            panic!(
                "TempMediaRoot::file: could not write {}: {err}",
                path.display()
            );
        }
        path
    }

    /// Creates the directory `name` (a relative path) and its parents, and
    /// returns its full path.
    ///
    /// # Panics
    ///
    /// When `name` is empty, absolute or contains `..`, or when the
    /// directory cannot be created.
    ///
    /// ```
    /// use axum_download::test_util::TempMediaRoot;
    /// use axum_download::PathDownload;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let media = TempMediaRoot::new();
    /// media.dir("docs");
    /// // A directory is not a download.
    /// let err = PathDownload::from_root(media.path(), "docs").await.unwrap_err();
    /// assert_eq!(err.status(), http::StatusCode::NOT_FOUND);
    /// # }
    /// ```
    #[track_caller]
    pub fn dir(&self, name: impl AsRef<Path>) -> PathBuf {
        let path = self.child("dir", name.as_ref());
        if let Err(err) = std::fs::create_dir_all(&path) {
            panic!(
                "TempMediaRoot::dir: could not create {}: {err}",
                path.display()
            );
        }
        path
    }

    /// Creates a symbolic link `name` (a relative path, parents created)
    /// pointing to `target` (absolute, or relative to the link's
    /// directory), and returns the link's full path. The target need not
    /// exist, nor be inside the directory: that is how tests check that
    /// links leaving the root are refused.
    ///
    /// # Panics
    ///
    /// When `name` is empty, absolute or contains `..`, or when the link
    /// cannot be created (for example because `name` exists).
    ///
    /// ```
    /// use axum_download::test_util::TempMediaRoot;
    /// use axum_download::PathDownload;
    ///
    /// # #[cfg(not(unix))] fn main() {}
    /// # #[cfg(unix)]
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let media = TempMediaRoot::new();
    /// media.symlink("passwd", "/etc/passwd");
    /// let err = PathDownload::from_root(media.path(), "passwd").await.unwrap_err();
    /// assert_eq!(err.status(), http::StatusCode::NOT_FOUND);
    /// # }
    /// ```
    #[cfg(unix)]
    #[track_caller]
    pub fn symlink(&self, name: impl AsRef<Path>, target: impl AsRef<Path>) -> PathBuf {
        let path = self.child("symlink", name.as_ref());
        create_parent("symlink", &path);
        let target = target.as_ref();
        if let Err(err) = std::os::unix::fs::symlink(target, &path) {
            panic!(
                "TempMediaRoot::symlink: could not link {} to {}: {err}",
                path.display(),
                target.display()
            );
        }
        path
    }

    #[track_caller]
    fn child(&self, method: &str, name: &Path) -> PathBuf {
        let inside = name.components().next().is_some()
            && name
                .components()
                .all(|c| matches!(c, Component::Normal(_)) || c == Component::CurDir);
        if !inside {
            panic!(
                "TempMediaRoot::{method}: expected a relative path inside the media root \
                 (no root, no `..`), got {:?}",
                name.display().to_string()
            );
        }
        self.dir.path().join(name)
    }
}

impl Default for TempMediaRoot {
    #[track_caller]
    fn default() -> Self {
        Self::new()
    }
}

#[track_caller]
fn create_parent(method: &str, path: &Path) {
    if let Some(parent) = path.parent() {
        if let Err(err) = std::fs::create_dir_all(parent) {
            panic!(
                "TempMediaRoot::{method}: could not create {}: {err}",
                parent.display()
            );
        }
    }
}

/// Panics like `assert_eq!`: the helper, the field, both values and,
/// optionally, the raw header the actual value came from.
#[track_caller]
fn mismatch(
    helper: &str,
    field: &str,
    expected: impl fmt::Display,
    actual: impl fmt::Display,
    context: Option<(&str, &HeaderValue)>,
) -> ! {
    match context {
        Some((name, value)) => panic!(
            "{helper}: {field} mismatch\n  expected: {expected}\n    actual: {actual}\n  \
             {name}: {value:?}"
        ),
        None => panic!("{helper}: {field} mismatch\n  expected: {expected}\n    actual: {actual}"),
    }
}

/// An actual header value, or the statement that it is missing.
struct Shown<'a> {
    value: Option<&'a HeaderValue>,
    name: &'a str,
}

impl<'a> Shown<'a> {
    fn header(value: Option<&'a HeaderValue>, name: &'a str) -> Self {
        Self { value, name }
    }
}

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.value {
            Some(value) => write!(f, "{value:?}"),
            None => write!(f, "no `{}` header", self.name),
        }
    }
}

/// The one value of header `name`; panics when it is repeated.
#[track_caller]
fn single_header<'a>(
    helper: &str,
    headers: &'a HeaderMap,
    name: &HeaderName,
    shown: &str,
) -> Option<&'a HeaderValue> {
    let mut values = headers.get_all(name).iter();
    let first = values.next()?;
    if values.next().is_some() {
        let all: Vec<&HeaderValue> = headers.get_all(name).iter().collect();
        panic!("{helper}: {shown} mismatch\n  expected: one `{shown}` header\n    actual: {all:?}");
    }
    Some(first)
}

/// The status is `expected`, `200 OK` when not given.
#[track_caller]
fn check_status(helper: &str, response: &Response, expected: Option<StatusCode>) {
    let expected = expected.unwrap_or(StatusCode::OK);
    if response.status() != expected {
        mismatch(helper, "status", expected, response.status(), None);
    }
}

#[track_caller]
fn check_header(
    helper: &str,
    headers: &HeaderMap,
    name: &HeaderName,
    shown: &str,
    check: &HeaderCheck,
) {
    let actual = single_header(helper, headers, name, shown);
    match (check, actual) {
        (HeaderCheck::Unchecked, _) | (HeaderCheck::Absent, None) => {}
        (HeaderCheck::Absent, Some(value)) => mismatch(
            helper,
            shown,
            format_args!("no `{shown}` header"),
            format_args!("{value:?}"),
            None,
        ),
        (HeaderCheck::Equals(expected), actual) => {
            if actual.map(HeaderValue::as_bytes) != Some(expected.as_bytes()) {
                mismatch(
                    helper,
                    shown,
                    format_args!("{expected:?}"),
                    Shown::header(actual, shown),
                    None,
                );
            }
        }
    }
}

#[track_caller]
fn check_content_type(helper: &str, headers: &HeaderMap, expected: &str) {
    check_header(
        helper,
        headers,
        &header::CONTENT_TYPE,
        "Content-Type",
        &HeaderCheck::Equals(expected.to_owned()),
    );
}

/// A hand-off has no body: nothing but `Content-Length: 0`, and a body that
/// does not announce bytes.
#[track_caller]
fn check_empty_hand_off(helper: &str, response: &Response) {
    let length = single_header(
        helper,
        response.headers(),
        &header::CONTENT_LENGTH,
        "Content-Length",
    );
    if let Some(length) = length {
        if length.as_bytes() != b"0" {
            mismatch(
                helper,
                "Content-Length",
                "no `Content-Length` header, or \"0\" (a hand-off has no body)",
                format_args!("{length:?}"),
                None,
            );
        }
    }
    let hint = response.body().size_hint();
    if hint.lower() > 0 {
        mismatch(
            helper,
            "body",
            "an empty body (the proxy sends the file)",
            format_args!("a body of at least {} bytes", hint.lower()),
            None,
        );
    }
}

/// Reads the hand-off's body when awaited: the proxy sends the file, so
/// it must be empty, however it announced its size.
async fn read_empty_body(
    helper: &'static str,
    caller: &'static Location<'static>,
    response: Response,
) {
    let actual = match response.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(err) => panic!(
            "{helper} (called at {caller}): could not read the response body \
             (a hand-off has none): {err}"
        ),
    };
    if !actual.is_empty() {
        panic!(
            "{helper} (called at {caller}): body mismatch\n  \
             expected: an empty body (the proxy sends the file)\n    actual: {}",
            ShowBody(&actual),
        );
    }
}

#[track_caller]
fn check_disposition(
    helper: &str,
    headers: &HeaderMap,
    disposition: Option<Disposition>,
    basename: Option<&str>,
) {
    if disposition.is_none() && basename.is_none() {
        return;
    }
    let raw = single_header(
        helper,
        headers,
        &header::CONTENT_DISPOSITION,
        "Content-Disposition",
    );
    let Some(raw) = raw else {
        let (field, expected) = match (disposition, basename) {
            (Some(disposition), _) => ("disposition", disposition_name(disposition).to_owned()),
            (None, Some(basename)) => ("basename", format!("{basename:?}")),
            (None, None) => return,
        };
        mismatch(
            helper,
            field,
            expected,
            "no `Content-Disposition` header",
            None,
        );
    };
    let parsed = ParsedDisposition::parse(&String::from_utf8_lossy(raw.as_bytes()));
    let context = Some(("Content-Disposition", raw));
    if let Some(disposition) = disposition {
        let expected = disposition_name(disposition);
        if parsed.kind != expected {
            mismatch(
                helper,
                "disposition",
                expected,
                format_args!("{:?}", parsed.kind),
                context,
            );
        }
    }
    if let Some(basename) = basename {
        match parsed.basename() {
            Ok(Some(actual)) if actual == basename => {}
            Ok(Some(actual)) => mismatch(
                helper,
                "basename",
                format_args!("{basename:?}"),
                format_args!("{actual:?}"),
                context,
            ),
            Ok(None) => mismatch(
                helper,
                "basename",
                format_args!("{basename:?}"),
                "no `filename` or `filename*` parameter",
                context,
            ),
            Err(err) => mismatch(
                helper,
                "basename",
                format_args!("{basename:?}"),
                format_args!("an unreadable `filename*` parameter ({err})"),
                context,
            ),
        }
    }
}

fn disposition_name(disposition: Disposition) -> &'static str {
    match disposition {
        Disposition::Attachment => "attachment",
        Disposition::Inline => "inline",
    }
}

/// A `Content-Disposition` value taken apart (RFC 6266).
#[derive(Debug, Default, PartialEq, Eq)]
struct ParsedDisposition {
    /// The disposition type, lowercased.
    kind: String,
    /// `filename`, unquoted and unescaped.
    filename: Option<String>,
    /// `filename*`, still encoded (`UTF-8''espace%20%C3%A9.txt`).
    filename_ext: Option<String>,
}

impl ParsedDisposition {
    fn parse(value: &str) -> Self {
        let (kind, mut rest) = value.split_once(';').unwrap_or((value, ""));
        let mut parsed = Self {
            kind: kind.trim().to_ascii_lowercase(),
            ..Self::default()
        };
        loop {
            rest = rest.trim_start_matches(|c: char| c == ';' || c.is_ascii_whitespace());
            if rest.is_empty() {
                break;
            }
            let Some((name, after)) = rest.split_once('=') else {
                break;
            };
            let name = name.trim().to_ascii_lowercase();
            let after = after.trim_start();
            let value = if let Some(quoted) = after.strip_prefix('"') {
                let (value, remaining) = unquote(quoted);
                rest = remaining;
                value
            } else {
                let end = after.find(';').unwrap_or(after.len());
                rest = &after[end..];
                after[..end].trim_end().to_owned()
            };
            match name.as_str() {
                "filename" => parsed.filename = Some(value),
                "filename*" => parsed.filename_ext = Some(value),
                _ => {}
            }
        }
        parsed
    }

    /// The file name: `filename*` decoded when present, else `filename`.
    fn basename(&self) -> Result<Option<String>, String> {
        match &self.filename_ext {
            Some(ext) => decode_ext_value(ext).map(Some),
            None => Ok(self.filename.clone()),
        }
    }
}

/// The content of a quoted string (after its opening quote), unescaped,
/// and what follows its closing quote.
fn unquote(quoted: &str) -> (String, &str) {
    let mut out = String::with_capacity(quoted.len());
    let mut chars = quoted.char_indices();
    while let Some((index, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, escaped)) => out.push(escaped),
                None => break,
            },
            '"' => return (out, &quoted[index + 1..]),
            _ => out.push(c),
        }
    }
    // No closing quote: take everything.
    (out, "")
}

/// Decodes an RFC 8187 `ext-value`: `charset'language'percent-encoded`.
fn decode_ext_value(value: &str) -> Result<String, String> {
    let mut parts = value.splitn(3, '\'');
    let (Some(charset), Some(_language), Some(encoded)) =
        (parts.next(), parts.next(), parts.next())
    else {
        return Err(format!("{value:?} is not `charset'language'value`"));
    };
    let bytes: Vec<u8> = percent_decode_str(encoded).collect();
    if charset.eq_ignore_ascii_case("utf-8") {
        String::from_utf8(bytes).map_err(|_| format!("{value:?} is not valid UTF-8"))
    } else if charset.eq_ignore_ascii_case("iso-8859-1") {
        Ok(bytes.into_iter().map(char::from).collect())
    } else {
        Err(format!("unsupported charset {charset:?}"))
    }
}

/// A body in a panic message: text when it is UTF-8, bytes otherwise,
/// shortened when long.
struct ShowBody<'a>(&'a [u8]);

impl fmt::Display for ShowBody<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MAX: usize = 256;
        let bytes = self.0;
        let shown = &bytes[..bytes.len().min(MAX)];
        match std::str::from_utf8(shown) {
            Ok(text) => write!(f, "{text:?}")?,
            Err(_) => write!(f, "{:?}", Bytes::copy_from_slice(shown))?,
        }
        if bytes.len() > MAX {
            f.write_str("...")?;
        }
        let unit = if bytes.len() == 1 { "byte" } else { "bytes" };
        write!(f, " ({} {unit})", bytes.len())
    }
}

fn first_difference(expected: &[u8], actual: &[u8]) -> String {
    let index = expected
        .iter()
        .zip(actual)
        .position(|(e, a)| e != a)
        .unwrap_or(expected.len().min(actual.len()));
    format!("first difference at byte {index}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(value: &str) -> ParsedDisposition {
        ParsedDisposition::parse(value)
    }

    #[test]
    fn extended_filename_is_preferred_and_decoded() {
        let parsed =
            parse("attachment; filename=\"espace_e.txt\"; filename*=UTF-8''espace%20%C3%A9.txt");
        assert_eq!(parsed.kind, "attachment");
        assert_eq!(parsed.filename.as_deref(), Some("espace_e.txt"));
        assert_eq!(parsed.basename(), Ok(Some("espace é.txt".to_owned())));
    }

    #[test]
    fn extended_filename_first_is_also_preferred() {
        let parsed = parse("inline; filename*=utf-8'fr'%E6%97%A5.pdf; filename=\"_.pdf\"");
        assert_eq!(parsed.kind, "inline");
        assert_eq!(parsed.basename(), Ok(Some("日.pdf".to_owned())));
    }

    #[test]
    fn quoted_filename_is_unescaped() {
        let parsed = parse(r#"attachment; filename="a\"b\\c;d.txt""#);
        assert_eq!(parsed.basename(), Ok(Some(r#"a"b\c;d.txt"#.to_owned())));
    }

    #[test]
    fn token_filename_and_case_insensitive_names() {
        let parsed = parse("Attachment;FileName=plain.txt");
        assert_eq!(parsed.kind, "attachment");
        assert_eq!(parsed.basename(), Ok(Some("plain.txt".to_owned())));
    }

    #[test]
    fn bare_type_has_no_name() {
        let parsed = parse("inline");
        assert_eq!(parsed.kind, "inline");
        assert_eq!(parsed.basename(), Ok(None));
    }

    #[test]
    fn latin1_extended_value() {
        assert_eq!(
            decode_ext_value("ISO-8859-1''caf%E9.txt"),
            Ok("café.txt".to_owned())
        );
    }

    #[test]
    fn broken_extended_values_are_errors() {
        assert!(decode_ext_value("UTF-8''%FF.txt").is_err());
        assert!(decode_ext_value("no-quotes").is_err());
        assert!(decode_ext_value("koi8-r''a.txt").is_err());
    }

    #[test]
    fn the_crate_formatter_round_trips() {
        for name in [
            "hello-world.txt",
            "espace é.txt",
            "日本語.pdf",
            "a\"b\\c.txt",
            "100%.txt",
            "a;b.txt",
        ] {
            let value =
                crate::content_disposition::content_disposition(Disposition::Inline, Some(name));
            assert_eq!(
                parse(&value).basename(),
                Ok(Some(name.to_owned())),
                "{value}"
            );
        }
    }

    #[test]
    fn long_bodies_are_shortened() {
        let shown = ShowBody(&[b'a'; 300]).to_string();
        assert_eq!(shown, format!("{:?}... (300 bytes)", "a".repeat(256)));
        assert_eq!(ShowBody(b"\xff").to_string(), "b\"\\xff\" (1 byte)");
    }
}
