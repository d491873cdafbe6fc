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
    pub fn not_found(detail: impl fmt::Display) -> Self {
        Self::new(Kind::NotFound, detail)
    }

    /// The upstream server failed or could not be reached.
    pub fn bad_gateway(detail: impl fmt::Display) -> Self {
        Self::new(Kind::BadGateway, detail)
    }

    /// The upstream server did not answer in time.
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
    pub fn internal(detail: impl fmt::Display) -> Self {
        Self::new(Kind::Internal, detail)
    }

    /// Maps an I/O error: `NotFound` (and refused paths) to 404, the rest to 500.
    pub fn from_io(err: &std::io::Error) -> Self {
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
