//! [`DownloadResponse`]: the headers computed once from the file model, and
//! [`finish`], which answers a request's conditions and ranges.

use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use http::header::{self, HeaderName};
use http::{HeaderMap, HeaderValue, StatusCode};

use crate::body::{DownloadBody, Segment};
use crate::conditional::{whole_seconds, ByteRange, ETag, Validators};
use crate::content_disposition::{self, Disposition};
use crate::file::{DownloadFile, FileMeta, FileSource};
use crate::report::{self, Report};

/// A download, ready to become a response.
///
/// Every download kind resolves to this: [`PathDownload`](crate::PathDownload),
/// [`StorageDownload`](crate::StorageDownload),
/// [`ObjectDownload`](crate::ObjectDownload),
/// [`HttpDownload`](crate::HttpDownload) and
/// [`VirtualDownload`](crate::VirtualDownload). Its builder methods change
/// how the file is presented; headers set with [`header`](Self::header)
/// win over the computed ones.
///
/// As a plain [`IntoResponse`] it answers `200` with the whole file (`HEAD`
/// gets the headers only). Behind [`DownloadLayer`](crate::DownloadLayer), or
/// through [`respond_to`](Self::respond_to), it also answers conditional
/// requests (304/412) and ranges (206/416).
///
/// ```
/// use axum_download::{DownloadResponse, VirtualDownload};
///
/// let download: DownloadResponse = VirtualDownload::text("notes.txt", "hello")
///     .inline()
///     .header("cache-control", "no-store");
/// ```
#[must_use]
#[derive(Debug, Clone)]
pub struct DownloadResponse {
    file: DownloadFile,
    disposition: Disposition,
    content_type: Option<String>,
    headers: HeaderMap,
    /// The application's own caching policy, if it set one.
    cache_control: Option<String>,
    /// Not 200 only for answers relayed from an upstream server.
    status: StatusCode,
    /// Representation headers computed once and shared by every answer
    /// about the same file (the open-file cache); dropped by any builder
    /// call that changes them.
    shared: Option<Arc<OnceLock<Representation>>>,
}

/// The headers that describe a file, as [`DownloadResponse`] computes them.
#[derive(Debug)]
pub(crate) struct Representation {
    content_type: HeaderValue,
    headers: HeaderMap,
}

/// The `Cache-Control` of a download that states no policy: any cache may
/// keep it only for this user (`private`) and must ask again before reusing
/// it (`no-cache`), which the `ETag` makes cheap (a 304). Safe for files
/// only some users may see; set a public policy per download
/// ([`DownloadResponse::cache_control`]) or in the settings
/// ([`DownloadSettings::cache_control`](crate::DownloadSettings::cache_control)) for files everyone may see.
///
/// ```
/// use axum::response::IntoResponse;
/// use axum_download::{VirtualDownload, DEFAULT_CACHE_CONTROL};
///
/// let response = VirtualDownload::text("a.txt", "hello").into_response();
/// assert_eq!(response.headers()["cache-control"], DEFAULT_CACHE_CONTROL);
/// ```
pub const DEFAULT_CACHE_CONTROL: &str = "private, no-cache";

/// Carried in the response's extensions so the layer can answer ranges and
/// conditions without the handler's help.
#[derive(Clone)]
pub(crate) struct PendingDownload {
    pub(crate) file: Arc<DownloadFile>,
    /// The computed Content-Type, reused for multipart parts.
    pub(crate) content_type: HeaderValue,
    /// The report of the full body, disarmed when another answer replaces it.
    pub(crate) report: Report,
    /// Whether `Cache-Control` is [`DEFAULT_CACHE_CONTROL`], which the
    /// settings' own default replaces.
    pub(crate) default_policy: bool,
    /// What the engine compares, typed, as the response states them (a
    /// handler's own `ETag` or `Last-Modified` header included).
    pub(crate) validators: Validators,
}

impl DownloadResponse {
    /// A download of `file`, as an attachment.
    ///
    /// ```
    /// use axum_download::file::{DownloadFile, FileMeta};
    /// use axum_download::{DownloadResponse, VirtualDownload};
    ///
    /// // Any `DownloadFile`: here, the file of another download, renamed.
    /// let mut file: DownloadFile = VirtualDownload::text("a.txt", "hello").file().clone();
    /// file.meta.name = Some("b.txt".to_owned());
    /// let download = DownloadResponse::new(file);
    /// assert_eq!(download.meta().name.as_deref(), Some("b.txt"));
    /// ```
    pub fn new(file: DownloadFile) -> Self {
        Self {
            file,
            disposition: Disposition::Attachment,
            content_type: None,
            headers: HeaderMap::new(),
            cache_control: None,
            status: StatusCode::OK,
            shared: None,
        }
    }

    /// Takes its representation headers from `slot`, computing them into it
    /// when it is empty: for answers about a file that does not change.
    pub(crate) fn sharing(mut self, slot: Arc<OnceLock<Representation>>) -> Self {
        self.shared = Some(slot);
        self
    }

    #[cfg_attr(not(feature = "http-download"), allow(dead_code))]
    pub(crate) fn with_status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// The file's metadata.
    ///
    /// ```
    /// use axum_download::VirtualDownload;
    ///
    /// let download = VirtualDownload::text("a.txt", "héllo");
    /// assert_eq!(download.meta().size, Some(6));
    /// assert_eq!(download.meta().charset.as_deref(), Some("utf-8"));
    /// ```
    #[must_use]
    pub fn meta(&self) -> &FileMeta {
        &self.file.meta
    }

    /// The file: metadata and source.
    ///
    /// ```
    /// use axum_download::VirtualDownload;
    ///
    /// let download = VirtualDownload::bytes("a.bin", vec![1, 2, 3]);
    /// assert!(download.file().source.ranges());
    /// assert_eq!(download.file().meta.size, Some(3));
    /// ```
    #[must_use]
    pub fn file(&self) -> &DownloadFile {
        &self.file
    }

    /// Asks the browser to display the file (`Content-Disposition: inline`),
    /// keeping its file name for saving.
    ///
    /// ```
    /// use axum::response::IntoResponse;
    /// use axum_download::VirtualDownload;
    ///
    /// let response = VirtualDownload::text("a.txt", "hello").inline().into_response();
    /// assert_eq!(response.headers()["content-disposition"], "inline; filename=\"a.txt\"");
    /// ```
    pub fn inline(mut self) -> Self {
        self.shared = None;
        self.disposition = Disposition::Inline;
        self
    }

    /// Asks the browser to save the file (the default).
    ///
    /// ```
    /// use axum::response::IntoResponse;
    /// use axum_download::VirtualDownload;
    ///
    /// let response = VirtualDownload::text("a.txt", "hello").inline().attachment().into_response();
    /// assert_eq!(response.headers()["content-disposition"], "attachment; filename=\"a.txt\"");
    /// ```
    pub fn attachment(mut self) -> Self {
        self.shared = None;
        self.disposition = Disposition::Attachment;
        self
    }

    /// The file name the client sees, instead of the file's own. Names
    /// that are not plain ASCII get an ASCII fallback and an RFC 8187
    /// `filename*`.
    ///
    /// ```
    /// use axum::response::IntoResponse;
    /// use axum_download::VirtualDownload;
    ///
    /// let response = VirtualDownload::text("a.txt", "hello").filename("résumé.txt").into_response();
    /// assert_eq!(
    ///     response.headers()["content-disposition"],
    ///     "attachment; filename=\"resume.txt\"; filename*=UTF-8''r%C3%A9sum%C3%A9.txt"
    /// );
    /// ```
    pub fn filename(mut self, name: impl Into<String>) -> Self {
        self.shared = None;
        self.file.meta.name = Some(name.into());
        self
    }

    /// The `Content-Type`, used as given (include a charset if you want one).
    ///
    /// ```
    /// use axum::response::IntoResponse;
    /// use axum_download::VirtualDownload;
    ///
    /// let response = VirtualDownload::bytes("data", "{}").content_type("application/json").into_response();
    /// assert_eq!(response.headers()["content-type"], "application/json");
    /// ```
    pub fn content_type(mut self, content_type: impl Into<String>) -> Self {
        self.shared = None;
        self.content_type = Some(content_type.into());
        self
    }

    /// The `Cache-Control` policy, e.g. `"public, max-age=3600"`, instead of
    /// [`DEFAULT_CACHE_CONTROL`] or the settings' default. A source's own
    /// `private` or `no-store` (an upstream's) is kept even so.
    ///
    /// ```
    /// use axum::response::IntoResponse;
    /// use axum_download::VirtualDownload;
    ///
    /// let response = VirtualDownload::text("logo.svg", "<svg/>")
    ///     .cache_control("public, max-age=3600")
    ///     .into_response();
    /// assert_eq!(response.headers()["cache-control"], "public, max-age=3600");
    /// ```
    pub fn cache_control(mut self, policy: impl Into<String>) -> Self {
        self.cache_control = Some(policy.into());
        self
    }

    /// The strong or weak entity tag the conditional engine compares.
    ///
    /// ```
    /// use axum::response::IntoResponse;
    /// use axum_download::rfc9110::ETag;
    /// use axum_download::VirtualDownload;
    ///
    /// let response = VirtualDownload::text("a.txt", "hello").etag(ETag::weak("v2")).into_response();
    /// assert_eq!(response.headers()["etag"], "W/\"v2\"");
    /// ```
    pub fn etag(mut self, etag: ETag) -> Self {
        self.shared = None;
        self.file.meta.etag = Some(etag);
        self
    }

    /// The modification time (`Last-Modified`).
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use axum::response::IntoResponse;
    /// use axum_download::VirtualDownload;
    ///
    /// let modified = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    /// let response = VirtualDownload::text("a.txt", "hello").last_modified(modified).into_response();
    /// assert_eq!(response.headers()["last-modified"], "Tue, 14 Nov 2023 22:13:20 GMT");
    /// ```
    pub fn last_modified(mut self, modified: SystemTime) -> Self {
        self.shared = None;
        self.file.meta.modified = Some(modified);
        self
    }

    /// Adds a header that wins over the computed ones (`Cache-Control`,
    /// `Set-Cookie`, your own). An invalid name or value is ignored and
    /// logged, never a panic.
    ///
    /// ```
    /// use axum::response::IntoResponse;
    /// use axum_download::VirtualDownload;
    ///
    /// let response = VirtualDownload::text("a.txt", "hello")
    ///     .header("x-robots-tag", "noindex")
    ///     .header("bad name", "ignored")
    ///     .into_response();
    /// assert_eq!(response.headers()["x-robots-tag"], "noindex");
    /// ```
    pub fn header<K, V>(mut self, name: K, value: V) -> Self
    where
        K: TryInto<HeaderName>,
        K::Error: std::fmt::Display,
        V: TryInto<HeaderValue>,
        V::Error: std::fmt::Display,
    {
        match (name.try_into(), value.try_into()) {
            (Ok(name), Ok(value)) => {
                self.headers.append(name, value);
            }
            (Err(err), _) => crate::report::ignored("download header name", &err),
            (_, Err(err)) => crate::report::ignored("download header value", &err),
        }
        self
    }

    fn computed_content_type(&self) -> HeaderValue {
        let meta = &self.file.meta;
        let text = if let Some(explicit) = &self.content_type {
            explicit.clone()
        } else {
            let mime = meta
                .content_type
                .clone()
                .or_else(|| {
                    meta.name
                        .as_deref()
                        .and_then(|n| mime_guess::from_path(n).first_raw())
                        .map(str::to_owned)
                })
                .unwrap_or_else(|| "application/octet-stream".to_owned());
            with_charset(mime, meta.charset.as_deref())
        };
        HeaderValue::from_str(&text).unwrap_or_else(|_| {
            crate::report::ignored("content type, using application/octet-stream", &text);
            HeaderValue::from_static("application/octet-stream")
        })
    }

    fn representation(&self) -> Representation {
        let content_type = self.computed_content_type();
        let headers = self.representation_headers(&content_type);
        Representation {
            content_type,
            headers,
        }
    }

    fn representation_headers(&self, content_type: &HeaderValue) -> HeaderMap {
        let meta = &self.file.meta;
        let mut headers = HeaderMap::with_capacity(10);
        headers.insert(header::CONTENT_TYPE, content_type.clone());
        if let Some(size) = meta.size {
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
        }
        headers.insert(
            header::CONTENT_DISPOSITION,
            content_disposition::header_value(self.disposition, meta.name.as_deref()),
        );
        if let Some(encoding) = meta.encoding.as_deref() {
            match HeaderValue::from_str(encoding) {
                Ok(value) => {
                    headers.insert(header::CONTENT_ENCODING, value);
                }
                Err(_) => crate::report::ignored("content encoding", &encoding),
            }
        }
        if let Some(etag) = &meta.etag {
            headers.insert(header::ETAG, etag.to_header_value());
        }
        if let Some(modified) = meta.modified {
            headers.insert(header::LAST_MODIFIED, http_date(modified));
        }
        let ranges = self.file.source.ranges() && meta.size.is_some();
        headers.insert(
            header::ACCEPT_RANGES,
            HeaderValue::from_static(if ranges { "bytes" } else { "none" }),
        );
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        if is_active(content_type) {
            // HTML, SVG or XML of a download must not run script on the
            // application's origin, inline or not.
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("sandbox"),
            );
        }
        headers
    }
}

impl IntoResponse for DownloadResponse {
    fn into_response(self) -> Response {
        let (content_type, mut headers) = match &self.shared {
            Some(slot) => {
                let shared = slot.get_or_init(|| self.representation());
                (shared.content_type.clone(), shared.headers.clone())
            }
            None => {
                let Representation {
                    content_type,
                    headers,
                } = self.representation();
                (content_type, headers)
            }
        };
        let validators = stated_validators(&self.file.meta, &self.headers);
        // The handler's own headers win.
        let mut last: Option<HeaderName> = None;
        for (name, value) in self.headers {
            match name {
                Some(name) => {
                    headers.insert(name.clone(), value);
                    last = Some(name);
                }
                None => {
                    if let Some(name) = &last {
                        headers.append(name.clone(), value);
                    }
                }
            }
        }
        let default_policy = self.cache_control.is_none()
            && self.file.meta.cache_control.is_none()
            && !headers.contains_key(header::CACHE_CONTROL);
        if default_policy {
            headers.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static(DEFAULT_CACHE_CONTROL),
            );
        } else {
            let policy = headers
                .get(header::CACHE_CONTROL)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
                .or_else(|| self.cache_control.clone())
                .or_else(|| self.file.meta.cache_control.clone())
                .unwrap_or_else(|| DEFAULT_CACHE_CONTROL.to_owned());
            let policy = match self.file.meta.cache_control.as_deref() {
                Some(source) => never_weaker(&policy, source),
                None => policy,
            };
            match HeaderValue::from_str(&policy) {
                Ok(value) => {
                    headers.insert(header::CACHE_CONTROL, value);
                }
                Err(_) => {
                    crate::report::ignored("cache-control, using the default", &policy);
                    headers.insert(
                        header::CACHE_CONTROL,
                        HeaderValue::from_static(DEFAULT_CACHE_CONTROL),
                    );
                }
            }
        }
        let size = self.file.meta.size;
        let status = self.status;
        // Only 200 and a relayed 206 have a body; a relayed 304, 412 or 416
        // carries its validators (and Content-Range) alone.
        let has_body = status == StatusCode::OK || status == StatusCode::PARTIAL_CONTENT;
        if status == StatusCode::OK {
            return pending_response(
                Arc::new(self.file),
                headers,
                content_type,
                default_policy,
                validators,
            );
        }
        let name = self.file.meta.name.as_deref();
        let body = if has_body {
            let report = Report::new("relayed", status.as_u16(), name);
            file_body(&self.file.source, None, size, report)
        } else {
            report::emit("relayed", status.as_u16(), name, 0, true);
            Body::empty()
        };
        let mut response = Response::new(body);
        *response.status_mut() = status;
        *response.headers_mut() = headers;
        if !has_body {
            let headers = response.headers_mut();
            let content_range = headers.remove(header::CONTENT_RANGE);
            strip_representation(headers);
            if status != StatusCode::NOT_MODIFIED {
                headers.insert(header::CONTENT_LENGTH, HeaderValue::from(0u64));
            }
            if let Some(content_range) = content_range {
                headers.insert(header::CONTENT_RANGE, content_range);
            }
        }
        response
    }
}

/// The validators the answer states: the file model's, or the handler's
/// own `ETag` / `Last-Modified` header when it set one (read once, here).
fn stated_validators(meta: &FileMeta, handler_headers: &HeaderMap) -> Validators {
    let mut validators = meta.validators();
    if let Some(etag) = handler_headers.get(header::ETAG) {
        validators.etag = etag.to_str().ok().and_then(ETag::parse);
    }
    if let Some(modified) = handler_headers.get(header::LAST_MODIFIED) {
        validators.last_modified = modified
            .to_str()
            .ok()
            .and_then(|v| httpdate::parse_http_date(v).ok());
    }
    validators
}

/// The 200 answer for `file` with `headers` already computed (by
/// [`DownloadResponse`], or once per static file by the static-files
/// table): the whole file as the body, not opened yet, and the file in the
/// extensions for [`finish_with_settings`] to answer conditions and ranges.
pub(crate) fn pending_response(
    file: Arc<DownloadFile>,
    headers: HeaderMap,
    content_type: HeaderValue,
    default_policy: bool,
    validators: Validators,
) -> Response {
    let report = Report::new("full", 200, file.meta.name.as_deref());
    let body = file_body(&file.source, None, file.meta.size, report.clone());
    let mut response = Response::new(body);
    *response.headers_mut() = headers;
    response.extensions_mut().insert(PendingDownload {
        file,
        content_type,
        report,
        default_policy,
        validators,
    });
    response
}

pub(crate) fn file_body(
    source: &Arc<dyn FileSource>,
    range: Option<ByteRange>,
    expected: Option<u64>,
    report: Report,
) -> Body {
    let body = DownloadBody::new(vec![Segment::File {
        source: source.clone(),
        range,
        expected,
    }]);
    Body::new(body.with_report(report))
}

/// Adds `charset` (default `utf-8`) to textual types that have none; other
/// types (`image/png`) never get one.
pub(crate) fn with_charset(mime: String, charset: Option<&str>) -> String {
    let lower = mime.to_ascii_lowercase();
    if lower.contains("charset=") || !is_textual(&lower) {
        return mime;
    }
    format!("{mime}; charset={}", charset.unwrap_or("utf-8"))
}

/// Types a browser runs script in when it renders them.
fn is_active(content_type: &HeaderValue) -> bool {
    let text = content_type.to_str().unwrap_or("").to_ascii_lowercase();
    let essence = text.split(';').next().unwrap_or("").trim();
    matches!(
        essence,
        "text/html" | "application/xhtml+xml" | "image/svg+xml" | "text/xml" | "application/xml"
    ) || essence.ends_with("+xml")
}

/// `policy`, with the source's `no-store` and `private` kept: an upstream
/// that said a file is for one user only is never made public.
pub(crate) fn never_weaker(policy: &str, source: &str) -> String {
    let has = |text: &str, directive: &str| {
        text.split(',').any(|d| {
            let name = d.split('=').next().unwrap_or("").trim();
            name.eq_ignore_ascii_case(directive)
        })
    };
    let private = has(source, "private");
    let mut directives: Vec<String> = policy
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .filter(|d| !(private && d.eq_ignore_ascii_case("public")))
        .map(str::to_owned)
        .collect();
    for directive in ["private", "no-store"] {
        if has(source, directive) && !has(policy, directive) {
            directives.push(directive.to_owned());
        }
    }
    directives.join(", ")
}

fn is_textual(mime: &str) -> bool {
    let essence = mime.split(';').next().unwrap_or("").trim();
    essence.starts_with("text/")
        || essence.ends_with("+xml")
        || essence.ends_with("+json")
        || matches!(
            essence,
            "application/json" | "application/javascript" | "application/xml"
        )
}

pub(crate) fn http_date(time: SystemTime) -> HeaderValue {
    let text = httpdate::fmt_http_date(whole_seconds(time));
    HeaderValue::from_str(&text)
        .unwrap_or_else(|_| HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT"))
}

/// Headers that describe the body, dropped from answers without one.
/// `Content-Length` stays: a 304 may state the length a 200 would have
/// (RFC 9110 section 8.6), and the other answers set it to 0.
pub(crate) fn strip_representation(headers: &mut HeaderMap) {
    for name in [
        header::CONTENT_TYPE,
        header::CONTENT_ENCODING,
        header::CONTENT_DISPOSITION,
        header::CONTENT_RANGE,
    ] {
        headers.remove(name);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charset_added_to_text_types_only() {
        assert_eq!(
            with_charset("text/plain".into(), None),
            "text/plain; charset=utf-8"
        );
        assert_eq!(with_charset("image/png".into(), None), "image/png");
        assert_eq!(
            with_charset("text/plain".into(), Some("iso-8859-1")),
            "text/plain; charset=iso-8859-1"
        );
        assert_eq!(with_charset("image/png".into(), Some("utf-8")), "image/png");
        assert_eq!(
            with_charset("application/json".into(), None),
            "application/json; charset=utf-8"
        );
        assert_eq!(
            with_charset("text/plain; charset=ascii".into(), None),
            "text/plain; charset=ascii"
        );
    }

    #[test]
    fn a_source_private_or_no_store_is_never_weakened() {
        assert_eq!(
            never_weaker("public, max-age=60", "private, no-store"),
            "max-age=60, private, no-store"
        );
        assert_eq!(never_weaker("no-cache", "max-age=60"), "no-cache");
        assert_eq!(
            never_weaker("private, no-store", "private"),
            "private, no-store"
        );
    }

    #[test]
    fn active_types_are_sandboxed() {
        for active in [
            "text/html; charset=utf-8",
            "image/svg+xml",
            "application/xml",
            "application/atom+xml",
        ] {
            assert!(is_active(&HeaderValue::from_static(active)), "{active}");
        }
        for passive in ["text/plain", "image/png", "application/json"] {
            assert!(!is_active(&HeaderValue::from_static(passive)), "{passive}");
        }
    }
}
