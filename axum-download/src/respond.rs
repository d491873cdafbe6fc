//! Finishing a download: the engine's decision for one request turned
//! into the final answer (200, 206 single or multipart, 304, 412, 416,
//! `HEAD`, or the hand-off to the proxy), from the typed file model the
//! download response carries. Rendering the download's headers is
//! [`crate::response`]'s concern; deciding is [`crate::conditional`]'s.

use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Body;
use axum::response::Response;
use bytes::{BufMut, Bytes, BytesMut};
use http::header;
use http::{HeaderMap, HeaderValue, Method, StatusCode};

use crate::body::{DownloadBody, Segment};
use crate::conditional::{decide, ByteRange, Conditions, Decision};
use crate::file::FileSource;
use crate::offload::hand_off;
use crate::report::{self, Report};
use crate::response::{file_body, strip_representation, PendingDownload};
use crate::settings::DownloadSettings;

impl crate::response::DownloadResponse {
    /// The answer to a request with these `conditions`: the same as going
    /// through [`DownloadLayer`](crate::DownloadLayer), for handlers that
    /// capture [`Conditions`] themselves.
    ///
    /// ```
    /// use axum::response::Response;
    /// use axum_download::{Conditions, VirtualDownload};
    /// use http::{HeaderMap, Method, StatusCode};
    ///
    /// async fn handler(conditions: Conditions) -> Response {
    ///     VirtualDownload::text("a.txt", "hello").respond_to(&conditions)
    /// }
    ///
    /// let mut headers = HeaderMap::new();
    /// headers.insert("range", "bytes=0-1".parse().unwrap());
    /// let response = VirtualDownload::text("a.txt", "hello").respond_to(&Conditions::new(&Method::GET, &headers));
    /// assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    /// assert_eq!(response.headers()["content-range"], "bytes 0-1/5");
    /// ```
    pub fn respond_to(self, conditions: &Conditions) -> Response {
        finish(
            axum::response::IntoResponse::into_response(self),
            conditions,
        )
    }
}

/// Answers `conditions` for a response made from a [`DownloadResponse`](crate::DownloadResponse):
/// 304 or 412 for preconditions, 206 or 416 for ranges, headers only for
/// `HEAD`. Any other response is returned unchanged.
///
/// [`DownloadLayer`](crate::DownloadLayer) calls this for every response;
/// call it yourself only when you capture [`Conditions`] in a handler.
///
/// ```
/// use axum::response::IntoResponse;
/// use axum_download::rfc9110::{finish, ETag};
/// use axum_download::{Conditions, VirtualDownload};
/// use http::{HeaderMap, Method, StatusCode};
///
/// let mut headers = HeaderMap::new();
/// headers.insert("if-none-match", "\"v1\"".parse().unwrap());
/// let conditions = Conditions::new(&Method::GET, &headers);
///
/// let response = VirtualDownload::text("a.txt", "hello").etag(ETag::strong("v1")).into_response();
/// assert_eq!(finish(response, &conditions).status(), StatusCode::NOT_MODIFIED);
/// ```
pub fn finish(response: Response, conditions: &Conditions) -> Response {
    finish_with_settings(response, conditions, &NO_HAND_OFF)
}

/// Settings that hand nothing off: the application sends every file.
pub(crate) static NO_HAND_OFF: DownloadSettings = DownloadSettings {
    backend: crate::offload::Backend::Development,
    rules: Vec::new(),
    cache_control: None,
};

/// [`finish`] with hand-off: after the preconditions (a 304 or 412 is
/// still answered by the application), the first rule of `settings` that
/// matches the file turns the response into a hand-off to the proxy;
/// otherwise ranges are answered as usual.
///
/// ```
/// use axum::response::IntoResponse;
/// use axum_download::offload::{Backend, Rule};
/// use axum_download::rfc9110::finish_with_settings;
/// use axum_download::{Conditions, DownloadResponse, DownloadSettings, VirtualDownload};
///
/// let settings = DownloadSettings::new(Backend::Nginx).rule(Rule::nginx("/x-accel/").source_url("/media/"));
/// let mut file = VirtualDownload::text("a.txt", "hello").file().clone();
/// file.meta.url = Some("/media/a.txt".to_owned());
/// let response = DownloadResponse::new(file).into_response();
///
/// let response = finish_with_settings(response, &Conditions::default(), &settings);
/// assert_eq!(response.headers()["x-accel-redirect"], "/x-accel/a.txt");
/// ```
pub fn finish_with_settings(
    mut response: Response,
    conditions: &Conditions,
    settings: &DownloadSettings,
) -> Response {
    let Some(pending) = response.extensions_mut().remove::<PendingDownload>() else {
        return response;
    };
    if response.status() != StatusCode::OK {
        return response;
    }
    if pending.default_policy {
        if let Some(value) = settings
            .cache_control
            .as_deref()
            .and_then(|p| HeaderValue::from_str(p).ok())
        {
            response.headers_mut().insert(header::CACHE_CONTROL, value);
        }
    }
    let head = conditions.method() == Method::HEAD;
    let meta = &pending.file.meta;
    let source = &pending.file.source;
    let decision = decide(conditions, &pending.validators, meta.size, source.ranges());
    let name = meta.name.as_deref();
    if !matches!(
        decision,
        Decision::NotModified | Decision::PreconditionFailed
    ) && source.ranges()
    {
        if let Some(target) = settings
            .target(meta)
            .and_then(|target| target.for_decision(&decision, head))
        {
            pending.report.disarm();
            report::emit("hand_off", 200, name, 0, true);
            return hand_off(response, &target);
        }
    }
    if decision != Decision::Full || head {
        // The full body is replaced: the answer below reports instead.
        pending.report.disarm();
    }
    let (mut parts, body) = response.into_parts();
    let headers = &mut parts.headers;
    let (body, outcome) = match decision {
        Decision::Full => (body, "full"),
        Decision::NotModified => {
            parts.status = StatusCode::NOT_MODIFIED;
            strip_representation(headers);
            (Body::empty(), "not_modified")
        }
        Decision::PreconditionFailed => {
            parts.status = StatusCode::PRECONDITION_FAILED;
            strip_representation(headers);
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(0u64));
            (Body::empty(), "precondition_failed")
        }
        Decision::RangeNotSatisfiable => {
            parts.status = StatusCode::RANGE_NOT_SATISFIABLE;
            strip_representation(headers);
            let length = meta.size.unwrap_or(0);
            headers.insert(
                header::CONTENT_RANGE,
                header_value(format!("bytes */{length}")),
            );
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(0u64));
            (Body::empty(), "range_not_satisfiable")
        }
        Decision::Partial(range) => {
            let length = meta.size.unwrap_or(0);
            parts.status = StatusCode::PARTIAL_CONTENT;
            headers.insert(
                header::CONTENT_RANGE,
                header_value(range.content_range(length)),
            );
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(range.len()));
            let report = Report::new("partial", 206, name);
            (
                file_body(source, Some(range), Some(range.len()), report),
                "partial",
            )
        }
        Decision::MultiPart(ranges) => {
            let length = meta.size.unwrap_or(0);
            let boundary = boundary();
            let segments =
                multipart_segments(source, &ranges, length, &pending.content_type, &boundary);
            let body = DownloadBody::new(segments);
            let total = http_body::Body::size_hint(&body).exact().unwrap_or(0);
            parts.status = StatusCode::PARTIAL_CONTENT;
            headers.insert(
                header::CONTENT_TYPE,
                header_value(format!("multipart/byteranges; boundary={boundary}")),
            );
            headers.insert(header::CONTENT_LENGTH, HeaderValue::from(total));
            let report = Report::new("multipart", 206, name);
            (Body::new(body.with_report(report)), "multipart")
        }
    };
    let body = if head {
        report::emit("head", parts.status.as_u16(), name, 0, true);
        head_body(&parts.headers)
    } else {
        if matches!(
            outcome,
            "not_modified" | "precondition_failed" | "range_not_satisfiable"
        ) {
            report::emit(outcome, parts.status.as_u16(), name, 0, true);
        }
        body
    };
    Response::from_parts(parts, body)
}

/// No body for `HEAD`. When the length is not known, the empty body must
/// not claim an exact size either, or a `Content-Length: 0` gets added.
fn head_body(headers: &HeaderMap) -> Body {
    if headers.contains_key(header::CONTENT_LENGTH) {
        Body::empty()
    } else {
        Body::from_stream(futures_util::stream::empty::<Result<Bytes, std::io::Error>>())
    }
}

fn header_value(text: String) -> HeaderValue {
    HeaderValue::try_from(text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn multipart_segments(
    source: &Arc<dyn FileSource>,
    ranges: &[ByteRange],
    length: u64,
    content_type: &HeaderValue,
    boundary: &str,
) -> Vec<Segment> {
    let mut segments = Vec::with_capacity(ranges.len() * 2 + 1);
    for range in ranges {
        let mut head = BytesMut::with_capacity(128);
        head.put_slice(b"\r\n--");
        head.put_slice(boundary.as_bytes());
        head.put_slice(b"\r\nContent-Type: ");
        head.put_slice(content_type.as_bytes());
        head.put_slice(b"\r\nContent-Range: ");
        head.put_slice(range.content_range(length).as_bytes());
        head.put_slice(b"\r\n\r\n");
        segments.push(Segment::Bytes(head.freeze()));
        segments.push(Segment::File {
            source: source.clone(),
            range: Some(*range),
            expected: Some(range.len()),
        });
    }
    segments.push(Segment::Bytes(Bytes::from(format!(
        "\r\n--{boundary}--\r\n"
    ))));
    segments
}

/// A multipart boundary unlikely to occur in any file: the time and a
/// process-wide counter, mixed.
fn boundary() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    // splitmix64: spreads the bits so consecutive boundaries look unrelated.
    let mut x = nanos ^ count.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^= x >> 31;
    format!("axum-download-{x:016x}{count:08x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries_differ() {
        assert_ne!(boundary(), boundary());
    }
}
