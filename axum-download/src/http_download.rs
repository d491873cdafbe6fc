//! [`HttpDownload`]: a remote URL, streamed through without buffering.

use std::io;
use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use http::header::{self, HeaderName};
use http::{HeaderMap, StatusCode};
use percent_encoding::percent_decode_str;

use crate::conditional::{Conditions, ETag};
use crate::error::DownloadError;
use crate::file::{ByteStream, DownloadFile, FileMeta, OnceSource};
use crate::response::DownloadResponse;

/// How long to wait for the upstream's response headers, and then for each
/// chunk of its body, unless [`HttpDownload::timeout`] says otherwise.
pub const DEFAULT_UPSTREAM_TIMEOUT: Duration = Duration::from_secs(30);

/// A download of a remote URL, relayed chunk by chunk.
///
/// The file name is the URL's last path segment (or its host);
/// `Content-Type`, `Content-Length`, `ETag`, `Last-Modified` and
/// `Content-Encoding` come from the upstream (the type is guessed from the
/// name when the upstream sends none; without a length the answer is
/// chunked). With [`forward`](Self::forward), the client's `Range` and
/// conditional headers go upstream and its 206, 304, 412 and 416 answers are
/// relayed.
///
/// Upstream failures are never served as a download: 404 and 410 answer
/// 404, any other error status or a connection failure 502, no answer
/// within the [`timeout`](Self::timeout) 504. An upstream that dies in the
/// middle of the body aborts the client's transfer.
///
/// The built-in client speaks plain HTTP. For HTTPS, enable one of
/// reqwest's TLS features in your application and pass your own client with
/// [`client`](Self::client).
///
/// ```
/// use axum::extract::Path;
/// use axum_download::{Conditions, DownloadError, DownloadResponse, HttpDownload};
///
/// async fn relay(
///     conditions: Conditions,
///     Path(name): Path<String>,
/// ) -> Result<DownloadResponse, DownloadError> {
///     HttpDownload::new(format!("http://127.0.0.1:9000/files/{name}"))
///         .forward(&conditions)
///         .await
/// }
/// ```
#[must_use]
#[derive(Debug)]
pub struct HttpDownload {
    url: String,
    client: Option<reqwest::Client>,
    forwarded: HeaderMap,
    timeout: Duration,
}

fn shared_client() -> reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(10))
                .build()
                .unwrap_or_default()
        })
        .clone()
}

impl HttpDownload {
    /// A download of `url`.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            client: None,
            forwarded: HeaderMap::new(),
            timeout: DEFAULT_UPSTREAM_TIMEOUT,
        }
    }

    /// Uses `client` (its TLS, proxy and redirect settings) instead of the
    /// built-in one.
    pub fn client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Forwards the client's `Range`, `If-Range` and conditional headers.
    pub fn forward(mut self, conditions: &Conditions) -> Self {
        self.forwarded = conditions.headers().clone();
        self
    }

    /// How long to wait for the response headers, and then for each chunk
    /// of the body (default [`DEFAULT_UPSTREAM_TIMEOUT`]).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    async fn resolve(self) -> Result<DownloadResponse, DownloadError> {
        let client = self.client.unwrap_or_else(shared_client);
        let request = client.get(&self.url).headers(self.forwarded);
        let response = match tokio::time::timeout(self.timeout, request.send()).await {
            Err(_) => {
                return Err(DownloadError::gateway_timeout(format_args!(
                    "no answer from {} within {:?}",
                    self.url, self.timeout
                )))
            }
            Ok(Err(err)) if err.is_timeout() => {
                return Err(DownloadError::gateway_timeout(format_args!(
                    "{}: {err}",
                    self.url
                )))
            }
            Ok(Err(err)) => {
                return Err(DownloadError::bad_gateway(format_args!(
                    "{}: {err}",
                    self.url
                )))
            }
            Ok(Ok(response)) => response,
        };
        let status = response.status();
        match status {
            StatusCode::OK
            | StatusCode::PARTIAL_CONTENT
            | StatusCode::NOT_MODIFIED
            | StatusCode::PRECONDITION_FAILED
            | StatusCode::RANGE_NOT_SATISFIABLE => {}
            StatusCode::NOT_FOUND | StatusCode::GONE => {
                return Err(DownloadError::not_found(format_args!(
                    "{} answered {status}",
                    self.url
                )))
            }
            _ => {
                return Err(DownloadError::bad_gateway(format_args!(
                    "{} answered {status}",
                    self.url
                )))
            }
        }
        let headers = response.headers();
        let mut meta = upstream_meta(headers);
        meta.name = name_from_url(&self.url);
        meta.url = Some(self.url.clone());
        let relayed: Vec<(HeaderName, http::HeaderValue)> =
            [header::CONTENT_RANGE, header::ACCEPT_RANGES]
                .into_iter()
                .filter_map(|name| headers.get(&name).cloned().map(|v| (name, v)))
                .collect();
        let body = idle_timeout(response.bytes_stream(), self.timeout, self.url);
        let mut download = DownloadResponse::new(DownloadFile::new(meta, OnceSource::new(body)))
            .with_status(status);
        for (name, value) in relayed {
            download = download.header(name, value);
        }
        Ok(download)
    }
}

resolve_on_await!(HttpDownload);

fn upstream_meta(headers: &HeaderMap) -> FileMeta {
    let text = |name: header::HeaderName| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    FileMeta {
        size: text(header::CONTENT_LENGTH).and_then(|v| v.parse().ok()),
        content_type: text(header::CONTENT_TYPE),
        encoding: text(header::CONTENT_ENCODING),
        etag: text(header::ETAG).and_then(|v| ETag::parse(&v)),
        modified: text(header::LAST_MODIFIED).and_then(|v| httpdate::parse_http_date(&v).ok()),
        ..FileMeta::default()
    }
}

/// The URL's last non-empty path segment, decoded, or else its host.
fn name_from_url(url: &str) -> Option<String> {
    let parsed = reqwest::Url::parse(url).ok()?;
    let segment = parsed
        .path_segments()
        .and_then(|mut segments| segments.rfind(|s| !s.is_empty()))
        .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned())
        .filter(|s| !s.is_empty());
    segment.or_else(|| parsed.host_str().map(str::to_owned))
}

/// Relays the upstream body, failing when a chunk takes longer than `timeout`.
fn idle_timeout(
    stream: impl futures_util::Stream<Item = reqwest::Result<Bytes>> + Send + 'static,
    timeout: Duration,
    url: String,
) -> ByteStream {
    let stream = Box::pin(stream);
    Box::pin(futures_util::stream::unfold(
        Some((stream, url)),
        move |state| async move {
            let (mut stream, url) = state?;
            match tokio::time::timeout(timeout, stream.next()).await {
                Ok(Some(Ok(chunk))) => Some((Ok(chunk), Some((stream, url)))),
                Ok(None) => None,
                Ok(Some(Err(err))) => {
                    tracing::warn!(%url, %err, "upstream body failed; aborting the download");
                    Some((Err(io::Error::other(err)), None))
                }
                Err(_) => {
                    tracing::warn!(%url, ?timeout, "upstream body stalled; aborting the download");
                    Some((
                        Err(io::Error::new(
                            io::ErrorKind::TimedOut,
                            "upstream body stalled",
                        )),
                        None,
                    ))
                }
            }
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_is_last_segment_decoded() {
        assert_eq!(
            name_from_url("http://h/a/espace%20%C3%A9.txt").as_deref(),
            Some("espace é.txt")
        );
    }

    #[test]
    fn name_skips_trailing_slash() {
        assert_eq!(name_from_url("http://h/a/b/").as_deref(), Some("b"));
    }

    #[test]
    fn name_falls_back_to_host() {
        assert_eq!(
            name_from_url("http://example.org/").as_deref(),
            Some("example.org")
        );
    }
}
