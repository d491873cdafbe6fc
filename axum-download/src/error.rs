//! The one error type of this crate: an HTTP answer, never a panic.

use std::fmt;

use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue, StatusCode};

/// Why a download could not be produced.
///
/// It turns into the HTTP answer that fits: `404 Not Found` for a missing
/// file or a path that escapes its root, `502 Bad Gateway` for a failing
/// upstream, `504 Gateway Timeout` for a slow one, `500` otherwise. The body
/// is the bare status text: internal paths and causes go to the log only.
///
/// ```
/// use axum::response::IntoResponse;
/// use axum_download::{DownloadError, DownloadResponse, PathDownload};
///
/// async fn download(user_may_download: bool) -> Result<DownloadResponse, DownloadError> {
///     if !user_may_download {
///         return Err(DownloadError::forbidden("not the owner"));
///     }
///     PathDownload::from_root("/srv/media", "a.pdf").await
/// }
///
/// let response = DownloadError::not_found("/srv/media/a.pdf: no such file").into_response();
/// assert_eq!(response.status(), http::StatusCode::NOT_FOUND);
/// ```
#[derive(Debug)]
pub struct DownloadError {
    kind: Kind,
    detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    NotFound,
    BadGateway,
    GatewayTimeout,
    Internal,
    /// Any other status the application chose.
    Status(StatusCode),
}

impl DownloadError {
    /// The file does not exist, is not a regular file, or may not be served.
    ///
    /// ```
    /// use axum_download::DownloadError;
    ///
    /// let err = DownloadError::not_found("no invoice 2024-001");
    /// assert_eq!(err.status(), http::StatusCode::NOT_FOUND);
    /// ```
    pub fn not_found(detail: impl fmt::Display) -> Self {
        Self::new(Kind::NotFound, detail)
    }

    /// The upstream server failed or could not be reached.
    ///
    /// ```
    /// use axum_download::DownloadError;
    ///
    /// let err = DownloadError::bad_gateway("files.example.com answered 500");
    /// assert_eq!(err.status(), http::StatusCode::BAD_GATEWAY);
    /// ```
    pub fn bad_gateway(detail: impl fmt::Display) -> Self {
        Self::new(Kind::BadGateway, detail)
    }

    /// The upstream server did not answer in time.
    ///
    /// ```
    /// use axum_download::DownloadError;
    ///
    /// let err = DownloadError::gateway_timeout("no answer from files.example.com in 30 s");
    /// assert_eq!(err.status(), http::StatusCode::GATEWAY_TIMEOUT);
    /// ```
    pub fn gateway_timeout(detail: impl fmt::Display) -> Self {
        Self::new(Kind::GatewayTimeout, detail)
    }

    /// The user may not download this file: `403 Forbidden`.
    ///
    /// ```
    /// use axum_download::DownloadError;
    ///
    /// let err = DownloadError::forbidden("user 42 is not the owner of report.pdf");
    /// assert_eq!(err.status(), http::StatusCode::FORBIDDEN);
    /// ```
    pub fn forbidden(detail: impl fmt::Display) -> Self {
        Self::with_status(StatusCode::FORBIDDEN, detail)
    }

    /// The request needs credentials: `401 Unauthorized`.
    ///
    /// ```
    /// use axum_download::DownloadError;
    ///
    /// let err = DownloadError::unauthorized("no session cookie");
    /// assert_eq!(err.status(), http::StatusCode::UNAUTHORIZED);
    /// ```
    pub fn unauthorized(detail: impl fmt::Display) -> Self {
        Self::with_status(StatusCode::UNAUTHORIZED, detail)
    }

    /// Any status, e.g. `410 Gone` or `429 Too Many Requests`. A status that
    /// is not an error (below 400) becomes a 500: an error never answers
    /// as a success.
    ///
    /// ```
    /// use axum_download::DownloadError;
    /// use http::StatusCode;
    ///
    /// let err = DownloadError::with_status(StatusCode::GONE, "expired share link");
    /// assert_eq!(err.status(), StatusCode::GONE);
    /// assert_eq!(
    ///     DownloadError::with_status(StatusCode::OK, "oops").status(),
    ///     StatusCode::INTERNAL_SERVER_ERROR
    /// );
    /// ```
    pub fn with_status(status: StatusCode, detail: impl fmt::Display) -> Self {
        let status = if status.is_client_error() || status.is_server_error() {
            status
        } else {
            StatusCode::INTERNAL_SERVER_ERROR
        };
        Self::new(Kind::Status(status), detail)
    }

    /// Anything else: a storage error, an unreadable file.
    ///
    /// ```
    /// use axum_download::DownloadError;
    ///
    /// let err = DownloadError::internal("database unavailable");
    /// assert_eq!(err.status(), http::StatusCode::INTERNAL_SERVER_ERROR);
    /// assert_eq!(err.to_string(), "500 Internal Server Error: database unavailable");
    /// ```
    pub fn internal(detail: impl fmt::Display) -> Self {
        Self::new(Kind::Internal, detail)
    }

    /// Maps an I/O error: `NotFound` (and refused paths) to 404, the rest to
    /// 500. An I/O error that wraps a `DownloadError`
    /// (`io::Error::other(DownloadError::bad_gateway(..))`, what a remote
    /// [`Storage`](crate::Storage) returns when its store fails) answers
    /// with that error's status.
    ///
    /// ```
    /// use std::io;
    /// use axum_download::DownloadError;
    /// use http::StatusCode;
    ///
    /// let missing = io::Error::from(io::ErrorKind::NotFound);
    /// assert_eq!(DownloadError::from_io(&missing).status(), StatusCode::NOT_FOUND);
    /// let upstream = io::Error::other(DownloadError::gateway_timeout("store too slow"));
    /// assert_eq!(DownloadError::from_io(&upstream).status(), StatusCode::GATEWAY_TIMEOUT);
    /// ```
    pub fn from_io(err: &std::io::Error) -> Self {
        if let Some(inner) = err.get_ref().and_then(|e| e.downcast_ref::<Self>()) {
            return Self::new(inner.kind, &inner.detail);
        }
        match err.kind() {
            std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied => {
                Self::not_found(err)
            }
            _ => Self::internal(err),
        }
    }

    fn new(kind: Kind, detail: impl fmt::Display) -> Self {
        Self {
            kind,
            detail: detail.to_string(),
        }
    }

    /// The status code this error answers with.
    ///
    /// ```
    /// use axum::response::IntoResponse;
    /// use axum_download::DownloadError;
    ///
    /// let err = DownloadError::bad_gateway("connection refused");
    /// let status = err.status();
    /// assert_eq!(err.into_response().status(), status);
    /// ```
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self.kind {
            Kind::NotFound => StatusCode::NOT_FOUND,
            Kind::BadGateway => StatusCode::BAD_GATEWAY,
            Kind::GatewayTimeout => StatusCode::GATEWAY_TIMEOUT,
            Kind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Kind::Status(status) => status,
        }
    }
}

impl fmt::Display for DownloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.status(), self.detail)
    }
}

impl std::error::Error for DownloadError {}

/// An error with its chain of causes, for the log.
#[cfg_attr(
    not(any(feature = "http-download", feature = "object-store")),
    allow(dead_code)
)]
pub(crate) fn with_causes(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

impl IntoResponse for DownloadError {
    fn into_response(self) -> Response {
        let status = self.status();
        let code = status.as_u16();
        crate::report::error(code, &self.detail);
        let text = status.canonical_reason().unwrap_or("Error");
        let mut response = (status, format!("{text}\n")).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        response
    }
}
