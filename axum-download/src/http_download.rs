//! [`HttpDownload`]: a remote URL, streamed through without buffering.

use std::io;
use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::header::{self, HeaderName};
use http::{HeaderMap, Method, StatusCode};
use percent_encoding::percent_decode_str;

use crate::conditional::{range_within_limits, ByteRange, Conditions, ETag};
use crate::content_disposition;
use crate::error::{with_causes, DownloadError};
use crate::file::{ByteStream, DownloadFile, FileMeta, FileSource, OnceSource};
use crate::response::DownloadResponse;
use crate::url_path::encode_path;

/// How long to wait for the upstream's response headers, and then for each
/// chunk of its body, unless [`HttpDownload::timeout`] says otherwise.
///
/// ```
/// use std::time::Duration;
/// use axum_download::http_download::DEFAULT_UPSTREAM_TIMEOUT;
///
/// assert_eq!(DEFAULT_UPSTREAM_TIMEOUT, Duration::from_secs(30));
/// ```
pub const DEFAULT_UPSTREAM_TIMEOUT: Duration = Duration::from_secs(30);

/// How long one relay may last in all, unless [`HttpDownload::deadline`]
/// says otherwise: an upstream that trickles a byte just often enough to
/// beat the [`timeout`](HttpDownload::timeout) is still cut off then.
///
/// ```
/// use std::time::Duration;
/// use axum_download::http_download::DEFAULT_UPSTREAM_DEADLINE;
///
/// assert_eq!(DEFAULT_UPSTREAM_DEADLINE, Duration::from_secs(3600));
/// ```
pub const DEFAULT_UPSTREAM_DEADLINE: Duration = Duration::from_secs(3600);

/// A download of a remote URL, relayed chunk by chunk.
///
/// Build URLs from requests with [`from_base`](Self::from_base): it joins an
/// untrusted name onto a base URL and answers 404 for every name that could
/// leave it. [`new`](Self::new) takes a URL the application trusts.
///
/// The file name is the upstream's `Content-Disposition` file name, else
/// the URL's last path segment (or its host); `Content-Type`,
/// `Content-Length`, `ETag`, `Last-Modified`, `Content-Encoding` and
/// `Cache-Control` come from the upstream (the type is guessed from the
/// name when the upstream sends none; without a length the answer is
/// chunked). With [`forward`](Self::forward), the request's method (`HEAD`
/// stays `HEAD`), its `Range` (within the same limits as local files) and its
/// conditional headers go upstream, and its 206, 304, 412 and 416 answers
/// are relayed. Nothing else of the client's request is sent: no cookies,
/// no `Authorization`, no `Referer`.
///
/// Redirects are not followed: the upstream's 3xx answers 502. With
/// [`follow_redirects`](Self::follow_redirects), up to that many are
/// followed as long as they stay on the same scheme, host and port (and,
/// for [`from_base`](Self::from_base), below the base path).
///
/// Upstream failures are never served as a download: 404 and 410 answer
/// 404, any other error status or a connection failure 502, no answer
/// within the [`timeout`](Self::timeout) 504. An upstream that dies, stalls
/// or outlives the [`deadline`](Self::deadline) in the middle of the body
/// aborts the client's transfer.
///
/// HTTPS needs the `rustls` feature (on by default) or `native-tls`:
/// without either, an `https://` URL answers 502. The built-in client
/// trusts the system's root certificates; a certificate that does not
/// chain to one of them, names another host or has expired answers 502,
/// and the TLS error is in the log. To trust another CA, or to set
/// proxies or client certificates, build a client with
/// [`axum_download::reqwest`](crate::reqwest) (the reqwest this crate
/// uses) and pass it to [`client`](Self::client).
///
/// ```
/// use axum::extract::Path;
/// use axum_download::{Conditions, DownloadError, DownloadResponse, HttpDownload};
///
/// async fn relay(
///     conditions: Conditions,
///     Path(name): Path<String>,
/// ) -> Result<DownloadResponse, DownloadError> {
///     // `../private`, `%2e%2e/x`, `//evil.example/x`, `a\b`: 404.
///     HttpDownload::from_base("http://127.0.0.1:9000/files/", &name)
///         .forward(&conditions)
///         .await
/// }
/// ```
#[must_use]
#[derive(Debug)]
pub struct HttpDownload {
    url: Result<reqwest::Url, DownloadError>,
    /// Where redirects may lead: below this URL's path, on its origin.
    scope: Option<reqwest::Url>,
    client: Option<reqwest::Client>,
    method: Method,
    forwarded: HeaderMap,
    timeout: Duration,
    deadline: Duration,
    redirects: usize,
    /// `HEAD` first, bytes fetched lazily in ranges.
    metadata_first: bool,
    /// The checked name below the base ([`HttpDownload::from_base`]).
    relative: Option<String>,
}

/// The client of downloads that were given none, built once; a TLS backend
/// that cannot start answers 500 rather than panicking in a handler.
pub(crate) fn shared_client() -> Result<reqwest::Client, DownloadError> {
    static CLIENT: OnceLock<Result<reqwest::Client, String>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            let builder = reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(10))
                .redirect(reqwest::redirect::Policy::none())
                .referer(false);
            // The backend this crate's features name, even when another
            // crate enables the other one of reqwest's.
            #[cfg(feature = "native-tls")]
            let builder = builder.tls_backend_native();
            #[cfg(all(feature = "rustls", not(feature = "native-tls")))]
            let builder = builder.tls_backend_rustls();
            builder.build().map_err(|err| with_causes(&err))
        })
        .clone()
        .map_err(|why| DownloadError::internal(format_args!("the built-in HTTP client: {why}")))
}

impl HttpDownload {
    /// A download of `url`, which the application trusts (an invalid URL
    /// answers 500).
    ///
    /// ```
    /// use axum_download::HttpDownload;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let err = HttpDownload::new("not a URL").await.unwrap_err();
    /// assert_eq!(err.status(), http::StatusCode::INTERNAL_SERVER_ERROR);
    /// # }
    /// ```
    pub fn new(url: impl AsRef<str>) -> Self {
        let url = url.as_ref();
        let parsed = reqwest::Url::parse(url)
            .map_err(|err| DownloadError::internal(format_args!("invalid URL {url:?}: {err}")));
        Self::with_url(parsed, None)
    }

    /// The file `untrusted` (a relative path, typically from the request)
    /// below `base`. Answers 404, without contacting the upstream, for every
    /// name that could leave the base's path, host or scheme: `..` and `.`
    /// segments (also percent-encoded), an absolute path or `//host`, a
    /// scheme (`http:`), `@`, `\`, NUL and other control characters, and
    /// percent-encoded separators (`%2F`, `%5C`). Each segment is
    /// percent-encoded on the way (a name holding `?`, `#` or `%` stays
    /// a name). An invalid base answers 500.
    ///
    /// ```
    /// use axum_download::HttpDownload;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// // Refused before any request is made.
    /// let err = HttpDownload::from_base("http://127.0.0.1:9000/files/", "../admin/db.sqlite").await.unwrap_err();
    /// assert_eq!(err.status(), http::StatusCode::NOT_FOUND);
    /// # }
    /// ```
    pub fn from_base(base: impl AsRef<str>, untrusted: impl AsRef<str>) -> Self {
        let (base, untrusted) = (base.as_ref(), untrusted.as_ref());
        let base = match reqwest::Url::parse(base) {
            Ok(url) if url.has_host() && matches!(url.scheme(), "http" | "https") => url,
            Ok(_) => {
                return Self::with_url(
                    Err(DownloadError::internal(format_args!(
                        "base URL {base:?} is not an http(s) URL with a host"
                    ))),
                    None,
                )
            }
            Err(err) => {
                return Self::with_url(
                    Err(DownloadError::internal(format_args!(
                        "invalid base URL {base:?}: {err}"
                    ))),
                    None,
                )
            }
        };
        let mut scope = base.clone();
        scope.set_query(None);
        scope.set_fragment(None);
        if !scope.path().ends_with('/') {
            let path = format!("{}/", scope.path());
            scope.set_path(&path);
        }
        let joined = join_confined(&scope, untrusted);
        let (url, relative) = match joined {
            Ok((url, relative)) => (Ok(url), Some(relative)),
            Err(err) => (Err(err), None),
        };
        let mut download = Self::with_url(url, Some(scope));
        download.relative = relative;
        download
    }

    fn with_url(url: Result<reqwest::Url, DownloadError>, scope: Option<reqwest::Url>) -> Self {
        Self {
            url,
            scope,
            client: None,
            method: Method::GET,
            forwarded: HeaderMap::new(),
            timeout: DEFAULT_UPSTREAM_TIMEOUT,
            deadline: DEFAULT_UPSTREAM_DEADLINE,
            redirects: 0,
            metadata_first: false,
            relative: None,
        }
    }

    /// Asks the upstream for the metadata only (`HEAD`) and fetches the
    /// bytes, or one range of them, when the body is sent. This crate's
    /// engine then answers conditions and ranges (single and multipart)
    /// like for a local file, and a `remote` hand-off rule can let nginx
    /// fetch the file itself (`X-Accel-Redirect` with the upstream URL in
    /// [`X_ACCEL_REMOTE_URL`](crate::offload::X_ACCEL_REMOTE_URL)). Ranged
    /// reads carry `If-Match` with the upstream's strong ETag, so a file
    /// that changed in between fails the transfer instead of mixing
    /// versions. [`forward`](Self::forward) still forwards the method.
    ///
    /// ```
    /// use axum_download::offload::{Backend, Rule};
    /// use axum_download::rfc9110::finish_with_settings;
    /// use axum_download::{Conditions, DownloadName, DownloadSettings, HttpDownload};
    /// use axum::response::{IntoResponse, Response};
    ///
    /// async fn through_nginx(conditions: Conditions, DownloadName(name): DownloadName) -> Response {
    ///     let settings = DownloadSettings::new(Backend::Nginx)
    ///         .rule(Rule::nginx("/x-accel-remote/").remote(true).catch_all(true));
    ///     match HttpDownload::from_base("http://127.0.0.1:9000/files/", name)
    ///         .metadata_first()
    ///         .forward(&conditions)
    ///         .await
    ///     {
    ///         Ok(download) => finish_with_settings(download.into_response(), &conditions, &settings),
    ///         Err(err) => err.into_response(),
    ///     }
    /// }
    /// ```
    pub fn metadata_first(mut self) -> Self {
        self.metadata_first = true;
        self
    }

    /// Uses `client` (its TLS and proxy settings) instead of the built-in
    /// one. Redirects are followed by this download, not by the client:
    /// give it `redirect::Policy::none()`. Build it with
    /// [`axum_download::reqwest`](crate::reqwest), the version this crate
    /// uses, so that its type always matches.
    ///
    #[cfg_attr(any(feature = "rustls", feature = "native-tls"), doc = "```")]
    #[cfg_attr(
        not(any(feature = "rustls", feature = "native-tls")),
        doc = "```ignore"
    )]
    /// use axum_download::{reqwest, DownloadError, DownloadResponse, HttpDownload};
    ///
    /// /// A client that trusts the system's roots and the company's own CA.
    /// fn internal_client(ca_pem: &[u8]) -> reqwest::Result<reqwest::Client> {
    ///     reqwest::Client::builder()
    ///         .tls_certs_merge([reqwest::Certificate::from_pem(ca_pem)?])
    ///         .redirect(reqwest::redirect::Policy::none())
    ///         .connect_timeout(std::time::Duration::from_secs(10))
    ///         .build()
    /// }
    ///
    /// async fn relay(client: reqwest::Client) -> Result<DownloadResponse, DownloadError> {
    ///     HttpDownload::new("https://files.internal/report.pdf").client(client).await
    /// }
    /// ```
    pub fn client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Forwards the request's method (`HEAD` or `GET`), its `Range` and
    /// `If-Range` (when within the limits local files have) and its
    /// conditional headers.
    ///
    /// ```
    /// use axum_download::{Conditions, DownloadError, DownloadResponse, HttpDownload};
    ///
    /// async fn relay(conditions: Conditions) -> Result<DownloadResponse, DownloadError> {
    ///     // A `Range: bytes=0-99` request is answered by the upstream's 206.
    ///     HttpDownload::new("http://files.internal/video.mp4").forward(&conditions).await
    /// }
    /// ```
    pub fn forward(mut self, conditions: &Conditions) -> Self {
        self.method = if conditions.method() == Method::HEAD {
            Method::HEAD
        } else {
            Method::GET
        };
        self.forwarded = conditions.headers().clone();
        let range_ok = self
            .forwarded
            .get(header::RANGE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(range_within_limits);
        if !range_ok {
            self.forwarded.remove(header::RANGE);
            self.forwarded.remove(header::IF_RANGE);
        }
        self
    }

    /// How long to wait for the response headers, and then for each chunk
    /// of the body (default [`DEFAULT_UPSTREAM_TIMEOUT`]).
    ///
    /// ```
    /// use std::time::Duration;
    /// use axum_download::{DownloadError, DownloadResponse, HttpDownload};
    ///
    /// async fn relay() -> Result<DownloadResponse, DownloadError> {
    ///     HttpDownload::new("http://files.internal/a.pdf").timeout(Duration::from_secs(5)).await
    /// }
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long the whole relay may last, headers and body (default
    /// [`DEFAULT_UPSTREAM_DEADLINE`]).
    ///
    /// ```
    /// use std::time::Duration;
    /// use axum_download::{DownloadError, DownloadResponse, HttpDownload};
    ///
    /// async fn relay() -> Result<DownloadResponse, DownloadError> {
    ///     HttpDownload::new("http://files.internal/a.iso").deadline(Duration::from_secs(4 * 3600)).await
    /// }
    /// ```
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// Follows up to `max` redirects that stay on the upstream's scheme,
    /// host and port (and below the base path of
    /// [`from_base`](Self::from_base)); any other redirect answers 502.
    ///
    /// ```
    /// use axum_download::{DownloadError, DownloadResponse, HttpDownload};
    ///
    /// async fn relay(name: String) -> Result<DownloadResponse, DownloadError> {
    ///     // /files/latest.zip redirects to /files/v1.2.zip on the same server.
    ///     HttpDownload::from_base("http://files.internal/files/", name).follow_redirects(3).await
    /// }
    /// ```
    pub fn follow_redirects(mut self, max: usize) -> Self {
        self.redirects = max;
        self
    }

    async fn resolve(self) -> Result<DownloadResponse, DownloadError> {
        let started = tokio::time::Instant::now();
        let mut url = self.url?;
        let client = match self.client {
            Some(client) => client,
            None => shared_client()?,
        };
        let scope = self.scope.unwrap_or_else(|| origin_of(&url));
        let mut redirects = 0;
        let (method, forwarded) = if self.metadata_first {
            // The engine decides conditions and ranges from the metadata.
            (Method::HEAD, HeaderMap::new())
        } else {
            (self.method.clone(), self.forwarded.clone())
        };
        let response = loop {
            let request = client
                .request(method.clone(), url.clone())
                .headers(forwarded.clone());
            let response = send_within(request, &url, self.timeout.min(self.deadline)).await?;
            if !response.status().is_redirection() || response.status() == StatusCode::NOT_MODIFIED
            {
                break response;
            }
            let next = response
                .headers()
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|location| url.join(location).ok());
            match next {
                Some(next) if redirects < self.redirects && within_scope(&next, &scope) => {
                    redirects += 1;
                    url = next;
                }
                _ => {
                    return Err(DownloadError::bad_gateway(format_args!(
                        "{url} answered {} to {:?}: redirect not followed",
                        response.status(),
                        response.headers().get(header::LOCATION)
                    )))
                }
            }
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
                    "{url} answered {status}"
                )))
            }
            _ => {
                return Err(DownloadError::bad_gateway(format_args!(
                    "{url} answered {status}"
                )))
            }
        }
        let headers = response.headers();
        let mut meta = upstream_meta(headers);
        meta.name = headers
            .get(header::CONTENT_DISPOSITION)
            .and_then(|v| v.to_str().ok())
            .and_then(content_disposition::filename_of)
            .or_else(|| name_from_url(&url));
        meta.url = Some(url.to_string());
        if self.metadata_first {
            if status != StatusCode::OK {
                return Err(DownloadError::bad_gateway(format_args!(
                    "{url} answered {status} to HEAD"
                )));
            }
            meta.remote_url = Some(url.to_string());
            meta.relative_path = self.relative;
            let ranges = meta.size.is_some()
                && headers
                    .get(header::ACCEPT_RANGES)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.split(',').any(|u| u.trim().eq_ignore_ascii_case("bytes")));
            let source = RemoteSource {
                client,
                url,
                if_match: meta.etag.clone().filter(|tag| !tag.is_weak()),
                size: meta.size,
                ranges,
                timeout: self.timeout,
                deadline: self.deadline.saturating_sub(started.elapsed()),
            };
            return Ok(DownloadResponse::new(DownloadFile::new(meta, source)));
        }
        let mut relayed: Vec<(HeaderName, http::HeaderValue)> = Vec::new();
        if let Some(value) = headers.get(header::ACCEPT_RANGES) {
            relayed.push((header::ACCEPT_RANGES, value.clone()));
        }
        // Content-Range belongs to a 206 and (as `bytes */LEN`) to a 416 only.
        if matches!(
            status,
            StatusCode::PARTIAL_CONTENT | StatusCode::RANGE_NOT_SATISFIABLE
        ) {
            if let Some(value) = headers.get(header::CONTENT_RANGE) {
                relayed.push((header::CONTENT_RANGE, value.clone()));
            }
        }
        let body: ByteStream = if self.method == Method::HEAD {
            Box::pin(futures_util::stream::empty())
        } else {
            let left = self.deadline.saturating_sub(started.elapsed());
            bounded_body(response.bytes_stream(), self.timeout, left, url.to_string())
        };
        let mut download = DownloadResponse::new(DownloadFile::new(meta, OnceSource::new(body)))
            .with_status(status);
        for (name, value) in relayed {
            download = download.header(name, value);
        }
        Ok(download)
    }
}

/// The bytes of a remote file whose metadata came from a `HEAD`: each open
/// is a `GET` of the whole file or of one range.
struct RemoteSource {
    client: reqwest::Client,
    url: reqwest::Url,
    /// The strong tag the metadata stated: a ranged read of another
    /// version fails (412) instead of splicing two.
    if_match: Option<ETag>,
    size: Option<u64>,
    ranges: bool,
    timeout: Duration,
    deadline: Duration,
}

impl FileSource for RemoteSource {
    fn open(&self, range: Option<ByteRange>) -> BoxFuture<'static, io::Result<ByteStream>> {
        let mut request = self.client.get(self.url.clone());
        let whole = range.is_none_or(|r| r.start == 0 && Some(r.end) == self.size);
        if let (Some(range), false) = (range, whole) {
            let value = format!("bytes={}-{}", range.start, range.end.saturating_sub(1));
            request = request.header(header::RANGE, value);
        }
        if let Some(tag) = &self.if_match {
            request = request.header(header::IF_MATCH, tag.to_header_value());
        }
        let (url, timeout, deadline) = (self.url.clone(), self.timeout, self.deadline);
        Box::pin(async move {
            let response = tokio::time::timeout(timeout, request.send())
                .await
                .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "upstream did not answer"))?
                .map_err(|err| io::Error::other(with_causes(&err)))?;
            let expected = if whole {
                StatusCode::OK
            } else {
                StatusCode::PARTIAL_CONTENT
            };
            if response.status() != expected {
                return Err(io::Error::other(format!(
                    "{url} answered {} to a read that expected {expected}",
                    response.status()
                )));
            }
            Ok(bounded_body(
                response.bytes_stream(),
                timeout,
                deadline,
                url.to_string(),
            ))
        })
    }

    fn ranges(&self) -> bool {
        self.ranges
    }
}

/// Sends `request` to `url`, waiting at most `wait` for the answer's head:
/// no answer in time (or a client timeout) is a 504, any other failure a
/// 502, with the causes for the log.
pub(crate) async fn send_within(
    request: reqwest::RequestBuilder,
    url: &reqwest::Url,
    wait: Duration,
) -> Result<reqwest::Response, DownloadError> {
    match tokio::time::timeout(wait, request.send()).await {
        Err(_) => Err(DownloadError::gateway_timeout(format_args!(
            "no answer from {url} within {wait:?}"
        ))),
        Ok(Err(err)) if err.is_timeout() => Err(DownloadError::gateway_timeout(format_args!(
            "{url}: {}",
            with_causes(&err)
        ))),
        Ok(Err(err)) => Err(DownloadError::bad_gateway(format_args!(
            "{url}: {}",
            with_causes(&err)
        ))),
        Ok(Ok(response)) => Ok(response),
    }
}

/// `scope` (a URL whose path ends in `/`) joined with the checked segments
/// of `untrusted`, and those segments as one relative path; the URL is
/// checked once more to be below `scope`.
fn join_confined(
    scope: &reqwest::Url,
    untrusted: &str,
) -> Result<(reqwest::Url, String), DownloadError> {
    let refuse = |why: &str| {
        DownloadError::not_found(format_args!("refused remote name {untrusted:?}: {why}"))
    };
    let relative = check_remote_name(untrusted).map_err(refuse)?.join("/");
    let mut url = scope.clone();
    url.set_path(&format!("{}{}", scope.path(), encode_path(&relative)));
    if within_scope(&url, scope) {
        Ok((url, relative))
    } else {
        Err(refuse("leaves the base URL"))
    }
}

/// The segments of an untrusted remote name, or why it is refused.
pub(crate) fn check_remote_name(untrusted: &str) -> Result<Vec<&str>, &'static str> {
    if untrusted.chars().any(char::is_control) {
        return Err("control character");
    }
    if untrusted.contains('\\') {
        return Err("backslash");
    }
    if untrusted.starts_with('/') {
        return Err("absolute path or //host");
    }
    if untrusted.contains('@') {
        return Err("`@`");
    }
    if untrusted.split('/').next().is_some_and(|s| s.contains(':')) {
        return Err("scheme");
    }
    let mut segments = Vec::new();
    for segment in untrusted.split('/') {
        if segment.is_empty() {
            continue;
        }
        let decoded = percent_decode_str(segment).collect::<Vec<u8>>();
        if decoded.contains(&b'/') || decoded.contains(&b'\\') {
            return Err("encoded separator");
        }
        match decoded.as_slice() {
            b"." => continue,
            b".." => return Err("dot-dot segment"),
            _ => segments.push(segment),
        }
    }
    if segments.is_empty() {
        return Err("empty name");
    }
    Ok(segments)
}

/// The URL with only its origin (scheme, host, port) and path `/`.
fn origin_of(url: &reqwest::Url) -> reqwest::Url {
    let mut origin = url.clone();
    origin.set_path("/");
    origin.set_query(None);
    origin.set_fragment(None);
    origin
}

/// Same scheme, host and port as `scope`, and a path below its path.
fn within_scope(url: &reqwest::Url, scope: &reqwest::Url) -> bool {
    url.scheme() == scope.scheme()
        && url.host_str() == scope.host_str()
        && url.port_or_known_default() == scope.port_or_known_default()
        && url.username().is_empty()
        && url.password().is_none()
        && url.path().starts_with(scope.path())
        && !url.path().split('/').any(|s| s == ".." || s == ".")
}

resolve_on_await!(HttpDownload);

impl HttpDownload {
    /// The URL this download fetches, or why it is refused: the local
    /// cache keys and fetches by it.
    pub(crate) fn into_url(self) -> Result<reqwest::Url, DownloadError> {
        self.url
    }
}

pub(crate) fn upstream_meta(headers: &HeaderMap) -> FileMeta {
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
        cache_control: text(header::CACHE_CONTROL),
        ..FileMeta::default()
    }
}

/// The URL's last non-empty path segment, decoded, or else its host.
pub(crate) fn name_from_url(parsed: &reqwest::Url) -> Option<String> {
    let segment = parsed
        .path_segments()
        .and_then(|mut segments| segments.rfind(|s| !s.is_empty()))
        .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned())
        .filter(|s| !s.is_empty());
    segment.or_else(|| parsed.host_str().map(str::to_owned))
}

/// The upstream's body, failing when one chunk takes longer than
/// `timeout` or the whole body outlives `deadline`.
pub(crate) fn bounded_body(
    stream: impl futures_util::Stream<Item = reqwest::Result<Bytes>> + Send + 'static,
    timeout: Duration,
    deadline: Duration,
    url: String,
) -> ByteStream {
    crate::body::guarded(stream, timeout, Some(deadline), url, "upstream")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(text: &str) -> reqwest::Url {
        reqwest::Url::parse(text).unwrap()
    }

    #[test]
    fn name_is_last_segment_decoded() {
        assert_eq!(
            name_from_url(&url("http://h/a/espace%20%C3%A9.txt")).as_deref(),
            Some("espace é.txt")
        );
    }

    #[test]
    fn name_skips_trailing_slash() {
        assert_eq!(name_from_url(&url("http://h/a/b/")).as_deref(), Some("b"));
    }

    #[test]
    fn name_falls_back_to_host() {
        assert_eq!(
            name_from_url(&url("http://example.org/")).as_deref(),
            Some("example.org")
        );
    }
}
