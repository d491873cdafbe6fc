//! The RFC 9110 engine: preconditions, `If-Range` and `Range`, as one pure
//! function from the request's headers and the file's validators to a
//! [`Decision`]. Every download kind goes through it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::header::{
    IF_MATCH, IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_RANGE, IF_UNMODIFIED_SINCE, RANGE,
};
use http::{HeaderMap, HeaderValue, Method};

/// More range specifiers than this in one `Range` header and the header is
/// ignored (the full representation is sent): parsing stays bounded.
///
/// ```
/// use axum_download::rfc9110::{decide, Conditions, Decision, Validators, MAX_RANGE_SPECS};
/// use http::{HeaderMap, Method};
///
/// let specs = vec!["0-0"; MAX_RANGE_SPECS + 1].join(",");
/// let mut headers = HeaderMap::new();
/// headers.insert("range", format!("bytes={specs}").parse().unwrap());
/// let conditions = Conditions::new(&Method::GET, &headers);
/// assert_eq!(decide(&conditions, &Validators::default(), Some(10), true), Decision::Full);
/// ```
pub const MAX_RANGE_SPECS: usize = 100;
/// More distinct ranges than this after merging overlaps and the header is
/// ignored: a multipart answer with many tiny parts is a denial-of-service
/// pattern (CVE-2011-3192), not a legitimate request.
///
/// ```
/// use axum_download::rfc9110::{decide, Conditions, Decision, Validators, MAX_RANGES};
/// use http::{HeaderMap, Method};
///
/// // 17 one-byte ranges, none adjacent.
/// let specs: Vec<String> = (0..=MAX_RANGES).map(|i| format!("{0}-{0}", i * 2)).collect();
/// let mut headers = HeaderMap::new();
/// headers.insert("range", format!("bytes={}", specs.join(",")).parse().unwrap());
/// let conditions = Conditions::new(&Method::GET, &headers);
/// assert_eq!(decide(&conditions, &Validators::default(), Some(100), true), Decision::Full);
/// ```
pub const MAX_RANGES: usize = 16;

/// A byte range of a representation, `start` inclusive, `end` exclusive.
///
/// ```
/// use axum_download::rfc9110::ByteRange;
///
/// // `Range: bytes=100-199`
/// let range = ByteRange { start: 100, end: 200 };
/// assert_eq!(range.len(), 100);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    /// The first byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
}

impl ByteRange {
    /// The number of bytes in the range.
    ///
    /// ```
    /// use axum_download::rfc9110::ByteRange;
    ///
    /// assert_eq!(ByteRange { start: 0, end: 1 }.len(), 1);
    /// ```
    #[must_use]
    pub fn len(&self) -> u64 {
        self.end - self.start
    }

    /// Whether the range holds no byte.
    ///
    /// ```
    /// use axum_download::rfc9110::ByteRange;
    ///
    /// assert!(ByteRange { start: 5, end: 5 }.is_empty());
    /// assert!(!ByteRange { start: 5, end: 6 }.is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }

    /// The `Content-Range` value of this range of a representation of
    /// `complete_length` bytes.
    ///
    /// ```
    /// use axum_download::rfc9110::ByteRange;
    ///
    /// assert_eq!(ByteRange { start: 0, end: 500 }.content_range(1000), "bytes 0-499/1000");
    /// ```
    #[must_use]
    pub fn content_range(&self, complete_length: u64) -> String {
        format!(
            "bytes {}-{}/{}",
            self.start,
            self.end.saturating_sub(1),
            complete_length
        )
    }
}

/// An entity tag, strong or weak.
///
/// ```
/// use axum_download::rfc9110::ETag;
///
/// let etag = ETag::parse("W/\"abc\"").unwrap();
/// assert!(etag.is_weak());
/// assert_eq!(etag, ETag::weak("abc"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ETag {
    weak: bool,
    /// The opaque tag, without quotes.
    tag: String,
}

impl ETag {
    /// A strong entity tag. Characters not allowed in an entity tag
    /// (`"`, controls, spaces and non-ASCII) are replaced with `_`.
    ///
    /// ```
    /// use axum_download::rfc9110::ETag;
    ///
    /// assert_eq!(ETag::strong("v1").to_header_value(), "\"v1\"");
    /// assert_eq!(ETag::strong("a \"b\"").tag(), "a__b_");
    /// ```
    #[must_use]
    pub fn strong(tag: impl AsRef<str>) -> Self {
        Self {
            weak: false,
            tag: sanitize_tag(tag.as_ref()),
        }
    }

    /// A weak entity tag (`W/"..."`), compared only by `If-None-Match`.
    ///
    /// ```
    /// use axum_download::rfc9110::ETag;
    ///
    /// assert_eq!(ETag::weak("v1").to_header_value(), "W/\"v1\"");
    /// ```
    #[must_use]
    pub fn weak(tag: impl AsRef<str>) -> Self {
        Self {
            weak: true,
            tag: sanitize_tag(tag.as_ref()),
        }
    }

    /// Whether the tag is weak.
    ///
    /// ```
    /// use axum_download::rfc9110::ETag;
    ///
    /// assert!(ETag::weak("v1").is_weak());
    /// assert!(!ETag::strong("v1").is_weak());
    /// ```
    #[must_use]
    pub fn is_weak(&self) -> bool {
        self.weak
    }

    /// The opaque tag, without quotes or `W/`.
    ///
    /// ```
    /// use axum_download::rfc9110::ETag;
    ///
    /// assert_eq!(ETag::parse("W/\"5d8c72a5\"").unwrap().tag(), "5d8c72a5");
    /// ```
    #[must_use]
    pub fn tag(&self) -> &str {
        &self.tag
    }

    /// Parses one entity tag (`"abc"` or `W/"abc"`), `None` when malformed.
    ///
    /// ```
    /// use axum_download::rfc9110::ETag;
    ///
    /// assert_eq!(ETag::parse("\"abc\""), Some(ETag::strong("abc")));
    /// assert_eq!(ETag::parse("abc"), None);
    /// assert_eq!(ETag::parse("\"a b\""), None);
    /// ```
    #[must_use]
    pub fn parse(value: &str) -> Option<Self> {
        let value = value.trim();
        let (weak, rest) = match value.strip_prefix("W/") {
            Some(rest) => (true, rest),
            None => (false, value),
        };
        let tag = rest.strip_prefix('"')?.strip_suffix('"')?;
        if !tag.bytes().all(is_etagc) {
            return None;
        }
        Some(Self {
            weak,
            tag: tag.to_owned(),
        })
    }

    /// The header value: `"tag"` or `W/"tag"`.
    ///
    /// ```
    /// use axum_download::rfc9110::ETag;
    /// use http::HeaderMap;
    ///
    /// let mut headers = HeaderMap::new();
    /// headers.insert("etag", ETag::weak("v2").to_header_value());
    /// assert_eq!(headers["etag"], "W/\"v2\"");
    /// ```
    #[must_use]
    pub fn to_header_value(&self) -> HeaderValue {
        let text = if self.weak {
            format!("W/\"{}\"", self.tag)
        } else {
            format!("\"{}\"", self.tag)
        };
        // `sanitize_tag` and `parse` only admit visible ASCII.
        HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static("\"\""))
    }

    fn strong_eq(&self, other: &ETag) -> bool {
        !self.weak && !other.weak && self.tag == other.tag
    }

    fn weak_eq(&self, other: &ETag) -> bool {
        self.tag == other.tag
    }
}

/// RFC 9110 `etagc`: `%x21 / %x23-7E / obs-text`; obs-text is refused here
/// because header values are handled as text.
fn is_etagc(b: u8) -> bool {
    b == 0x21 || (0x23..=0x7e).contains(&b)
}

fn sanitize_tag(tag: &str) -> String {
    tag.chars()
        .map(|c| {
            if c.is_ascii() && is_etagc(c as u8) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// What the engine knows about the file: its validators and length.
///
/// ```
/// use std::time::SystemTime;
/// use axum_download::rfc9110::{ETag, Validators};
///
/// let validators = Validators {
///     etag: Some(ETag::strong("5d8c72a5")),
///     last_modified: Some(SystemTime::now()),
/// };
/// ```
#[derive(Debug, Clone, Default)]
pub struct Validators {
    /// The current entity tag, if any.
    pub etag: Option<ETag>,
    /// The modification time, if any (compared in whole seconds).
    pub last_modified: Option<SystemTime>,
}

/// The parts of a request the engine reads: its method and the
/// conditional and range headers, captured before the handler runs.
///
/// It is also an extractor: take it in a handler to pass to
/// [`DownloadResponse::respond_to`](crate::DownloadResponse::respond_to) or
/// [`HttpDownload::forward`](crate::HttpDownload::forward).
///
/// ```
/// use axum::response::Response;
/// use axum_download::{Conditions, VirtualDownload};
///
/// async fn handler(conditions: Conditions) -> Response {
///     VirtualDownload::text("a.txt", "hello").respond_to(&conditions)
/// }
/// ```
#[derive(Debug, Clone, Default)]
pub struct Conditions {
    method: Method,
    headers: HeaderMap,
    /// When the request arrived: a `Last-Modified` less than a second
    /// before it is a weak validator (RFC 9110, 8.8.2.2).
    received: Option<SystemTime>,
}

impl Conditions {
    /// Captures the method and the headers that matter from a request.
    ///
    /// ```
    /// use axum_download::Conditions;
    /// use http::{HeaderMap, Method};
    ///
    /// let mut headers = HeaderMap::new();
    /// headers.insert("range", "bytes=0-99".parse().unwrap());
    /// headers.insert("cookie", "session=1".parse().unwrap());
    /// let conditions = Conditions::new(&Method::GET, &headers);
    /// assert_eq!(conditions.headers().len(), 1); // the cookie is not kept
    /// ```
    #[must_use]
    pub fn new(method: &Method, headers: &HeaderMap) -> Self {
        let mut kept = HeaderMap::new();
        for name in [
            IF_MATCH,
            IF_NONE_MATCH,
            IF_MODIFIED_SINCE,
            IF_UNMODIFIED_SINCE,
            IF_RANGE,
            RANGE,
        ] {
            for value in headers.get_all(&name) {
                kept.append(name.clone(), value.clone());
            }
        }
        Self {
            method: method.clone(),
            headers: kept,
            received: Some(SystemTime::now()),
        }
    }

    /// The same conditions, as if the request had arrived at `time`.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use axum_download::rfc9110::{decide, Conditions, Decision, Validators};
    /// use http::{HeaderMap, Method};
    ///
    /// let modified = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    /// let mut headers = HeaderMap::new();
    /// headers.insert("if-modified-since", "Tue, 14 Nov 2023 22:13:20 GMT".parse().unwrap());
    /// let conditions = Conditions::new(&Method::GET, &headers).received_at(modified + Duration::from_secs(60));
    /// let validators = Validators { etag: None, last_modified: Some(modified) };
    /// assert_eq!(decide(&conditions, &validators, Some(5), true), Decision::NotModified);
    /// ```
    #[must_use]
    pub fn received_at(mut self, time: SystemTime) -> Self {
        self.received = Some(time);
        self
    }

    /// The request method.
    ///
    /// ```
    /// use axum_download::Conditions;
    /// use http::{HeaderMap, Method};
    ///
    /// assert_eq!(Conditions::new(&Method::HEAD, &HeaderMap::new()).method(), Method::HEAD);
    /// ```
    #[must_use]
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The captured conditional and range headers.
    ///
    /// ```
    /// use axum_download::Conditions;
    /// use http::{HeaderMap, Method};
    ///
    /// let mut headers = HeaderMap::new();
    /// headers.insert("if-none-match", "\"v1\"".parse().unwrap());
    /// let conditions = Conditions::new(&Method::GET, &headers);
    /// assert_eq!(conditions.headers()["if-none-match"], "\"v1\"");
    /// ```
    #[must_use]
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// Whether the request carries none of the headers the engine reads.
    ///
    /// ```
    /// use axum_download::Conditions;
    /// use http::{HeaderMap, Method};
    ///
    /// let mut headers = HeaderMap::new();
    /// headers.insert("accept", "*/*".parse().unwrap());
    /// assert!(Conditions::new(&Method::GET, &headers).is_unconditional());
    /// ```
    #[must_use]
    pub fn is_unconditional(&self) -> bool {
        self.headers.is_empty()
    }
}

/// The engine's answer.
///
/// ```
/// use axum_download::rfc9110::{decide, ByteRange, Conditions, Decision, Validators};
/// use http::{HeaderMap, Method};
///
/// let mut headers = HeaderMap::new();
/// headers.insert("range", "bytes=0-1,4-".parse().unwrap());
/// let conditions = Conditions::new(&Method::GET, &headers);
/// let decision = decide(&conditions, &Validators::default(), Some(6), true);
/// assert_eq!(
///     decision,
///     Decision::MultiPart(vec![ByteRange { start: 0, end: 2 }, ByteRange { start: 4, end: 6 }])
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Decision {
    /// 200: the whole representation.
    Full,
    /// 304: the client's copy is current.
    NotModified,
    /// 412: a precondition failed.
    PreconditionFailed,
    /// 206 with one range.
    Partial(ByteRange),
    /// 206 `multipart/byteranges`, ranges sorted and merged.
    MultiPart(Vec<ByteRange>),
    /// 416: no requested range overlaps the representation.
    RangeNotSatisfiable,
}

/// Decides the answer to `conditions` for a file with `validators` and
/// `length` (`None` when not known up front). `ranges` says whether the file
/// can be read by range; when it cannot, `Range` is ignored.
///
/// The order is RFC 9110 section 13.2.2: `If-Match`, else
/// `If-Unmodified-Since` (412); `If-None-Match`, else `If-Modified-Since`
/// (304 for GET and HEAD, 412 otherwise); then `If-Range` and `Range` for GET.
///
/// ```
/// use axum_download::{Conditions};
/// use axum_download::rfc9110::{decide, Decision, ETag, Validators};
/// use http::{HeaderMap, Method};
///
/// let mut headers = HeaderMap::new();
/// headers.insert("if-none-match", "\"v1\"".parse().unwrap());
/// let validators = Validators { etag: Some(ETag::strong("v1")), last_modified: None };
/// let conditions = Conditions::new(&Method::GET, &headers);
/// assert_eq!(decide(&conditions, &validators, Some(13), true), Decision::NotModified);
/// ```
#[must_use]
pub fn decide(
    conditions: &Conditions,
    validators: &Validators,
    length: Option<u64>,
    ranges: bool,
) -> Decision {
    if conditions.is_unconditional() {
        return Decision::Full;
    }
    let headers = &conditions.headers;
    let method = &conditions.method;
    let safe = method == Method::GET || method == Method::HEAD;
    let last_modified = validators.last_modified.map(whole_seconds);

    // Step 1 and 2.
    if let Some(list) = etag_list(headers, &IF_MATCH) {
        if !list.matches(validators.etag.as_ref(), ETag::strong_eq) {
            return Decision::PreconditionFailed;
        }
    } else if let (Some(since), Some(modified)) =
        (single_date(headers, &IF_UNMODIFIED_SINCE), last_modified)
    {
        if modified > since {
            return Decision::PreconditionFailed;
        }
    }

    // Step 3 and 4.
    if let Some(list) = etag_list(headers, &IF_NONE_MATCH) {
        if list.matches(validators.etag.as_ref(), ETag::weak_eq) {
            return if safe {
                Decision::NotModified
            } else {
                Decision::PreconditionFailed
            };
        }
    } else if safe {
        if let (Some(since), Some(modified)) =
            (single_date(headers, &IF_MODIFIED_SINCE), last_modified)
        {
            if modified <= since {
                return Decision::NotModified;
            }
        }
    }

    // Step 5: ranges, GET only.
    if method != Method::GET || !ranges {
        return Decision::Full;
    }
    let (Some(length), Some(range)) = (length, headers.get(RANGE)) else {
        return Decision::Full;
    };
    if headers.contains_key(IF_RANGE)
        && !if_range_holds(headers, validators, last_modified, conditions.received)
    {
        return Decision::Full;
    }
    let Some(specs) = range.to_str().ok().and_then(parse_range) else {
        return Decision::Full;
    };
    resolve_ranges(&specs, length)
}

/// Whether a `Range` value is one this engine would answer with a partial
/// response: valid `bytes` syntax, at most [`MAX_RANGE_SPECS`] specifiers and
/// [`MAX_RANGES`] ranges. Anything else is not worth sending upstream either.
#[cfg_attr(not(feature = "http-download"), allow(dead_code))]
pub(crate) fn range_within_limits(value: &str) -> bool {
    parse_range(value).is_some_and(|specs| specs.len() <= MAX_RANGES)
}

/// One `Range` specifier before it meets the representation's length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RangeSpec {
    /// `first-last` (inclusive) or `first-` (`last` is `None`).
    FromTo(u64, Option<u64>),
    /// `-suffix`: the last `suffix` bytes.
    Suffix(u64),
}

/// Parses a `Range` value; `None` when the unit is not `bytes`, the syntax is
/// invalid, or there are more than [`MAX_RANGE_SPECS`] specifiers: in all of
/// those cases RFC 9110 lets the server ignore the header.
fn parse_range(value: &str) -> Option<Vec<RangeSpec>> {
    let (unit, set) = value.trim().split_once('=')?;
    if !unit.trim_end().eq_ignore_ascii_case("bytes") {
        return None;
    }
    let mut specs = Vec::new();
    for spec in set.split(',') {
        let spec = spec.trim_matches([' ', '\t']);
        if spec.is_empty() {
            // RFC 9110 list syntax allows empty elements.
            continue;
        }
        if specs.len() == MAX_RANGE_SPECS {
            return None;
        }
        let (first, last) = spec.split_once('-')?;
        let parsed = if first.is_empty() {
            RangeSpec::Suffix(parse_digits(last)?)
        } else {
            let first = parse_digits(first)?;
            let last = if last.is_empty() {
                None
            } else {
                Some(parse_digits(last)?)
            };
            if last.is_some_and(|last| last < first) {
                return None;
            }
            RangeSpec::FromTo(first, last)
        };
        specs.push(parsed);
    }
    if specs.is_empty() {
        None
    } else {
        Some(specs)
    }
}

/// `1*DIGIT`, saturating: a number past `u64::MAX` is still a valid
/// position, just one beyond every representation.
fn parse_digits(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(text.bytes().fold(0u64, |n, b| {
        n.saturating_mul(10).saturating_add(u64::from(b - b'0'))
    }))
}

fn resolve_ranges(specs: &[RangeSpec], length: u64) -> Decision {
    let mut ranges: Vec<ByteRange> = specs
        .iter()
        .filter_map(|spec| match *spec {
            RangeSpec::FromTo(first, last) if first < length => Some(ByteRange {
                start: first,
                end: last.map_or(length, |last| last.saturating_add(1).min(length)),
            }),
            RangeSpec::FromTo(..) => None,
            RangeSpec::Suffix(0) => None,
            RangeSpec::Suffix(n) if length > 0 => Some(ByteRange {
                start: length.saturating_sub(n),
                end: length,
            }),
            RangeSpec::Suffix(_) => None,
        })
        .collect();
    if ranges.is_empty() {
        return Decision::RangeNotSatisfiable;
    }
    ranges.sort_unstable_by_key(|r| r.start);
    let mut merged: Vec<ByteRange> = Vec::with_capacity(ranges.len());
    for range in ranges {
        match merged.last_mut() {
            // Overlapping or adjacent: one part serves both.
            Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
            _ => merged.push(range),
        }
    }
    match merged.len() {
        1 => Decision::Partial(merged[0]),
        n if n > MAX_RANGES => Decision::Full,
        _ => Decision::MultiPart(merged),
    }
}

fn if_range_holds(
    headers: &HeaderMap,
    validators: &Validators,
    last_modified: Option<SystemTime>,
    received: Option<SystemTime>,
) -> bool {
    let Some(value) = headers.get(IF_RANGE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let value = value.trim();
    if value.starts_with('"') || value.starts_with("W/") {
        return match (ETag::parse(value), validators.etag.as_ref()) {
            (Some(given), Some(current)) => given.strong_eq(current),
            _ => false,
        };
    }
    // A date only validates a range when it is strong: the file is at
    // least a second older than the request, so no second write within the
    // same second can hide behind it.
    let received = received.unwrap_or_else(SystemTime::now);
    match (httpdate::parse_http_date(value).ok(), last_modified) {
        (Some(date), Some(modified)) => {
            date == modified
                && validators
                    .last_modified
                    .is_some_and(|exact| exact + Duration::from_secs(1) <= received)
        }
        _ => false,
    }
}

/// An `If-Match` / `If-None-Match` value: `*` or a list of entity tags.
enum EtagList {
    Any,
    Tags(Vec<ETag>),
}

impl EtagList {
    fn matches(&self, current: Option<&ETag>, eq: fn(&ETag, &ETag) -> bool) -> bool {
        match (self, current) {
            // There is always a current representation here.
            (EtagList::Any, _) => true,
            (EtagList::Tags(tags), Some(current)) => tags.iter().any(|t| eq(t, current)),
            (EtagList::Tags(_), None) => false,
        }
    }
}

/// Collects every line of an entity-tag list header. A malformed member
/// makes the whole field invalid, and an invalid field is ignored (`None`).
fn etag_list(headers: &HeaderMap, name: &http::HeaderName) -> Option<EtagList> {
    let mut tags = Vec::new();
    let mut any = false;
    let mut seen = false;
    for value in headers.get_all(name) {
        seen = true;
        let text = value.to_str().ok()?;
        for member in split_etag_list(text)? {
            if member == "*" {
                any = true;
            } else {
                tags.push(ETag::parse(member)?);
            }
        }
    }
    if !seen {
        None
    } else if any {
        Some(EtagList::Any)
    } else {
        Some(EtagList::Tags(tags))
    }
}

/// Splits on commas outside quotes (a comma is a valid `etagc`).
fn split_etag_list(text: &str) -> Option<Vec<&str>> {
    let mut members = Vec::new();
    let mut in_quotes = false;
    let mut start = 0;
    for (i, b) in text.bytes().enumerate() {
        match b {
            b'"' => in_quotes = !in_quotes,
            b',' if !in_quotes => {
                members.push(text[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    if in_quotes {
        return None;
    }
    members.push(text[start..].trim());
    Some(members.into_iter().filter(|m| !m.is_empty()).collect())
}

/// A date header with exactly one valid HTTP-date member; otherwise the
/// header is ignored, as RFC 9110 asks.
fn single_date(headers: &HeaderMap, name: &http::HeaderName) -> Option<SystemTime> {
    let mut values = headers.get_all(name).iter();
    let value = values.next()?;
    if values.next().is_some() {
        return None;
    }
    httpdate::parse_http_date(value.to_str().ok()?.trim()).ok()
}

/// HTTP dates have one-second resolution; compare modification times the same way.
pub(crate) fn whole_seconds(time: SystemTime) -> SystemTime {
    match time.duration_since(UNIX_EPOCH) {
        Ok(since) => UNIX_EPOCH + Duration::from_secs(since.as_secs()),
        Err(_) => UNIX_EPOCH,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEN: u64 = 1000;
    const MODIFIED: u64 = 1_700_000_000;

    fn validators() -> Validators {
        Validators {
            etag: Some(ETag::strong("abc")),
            last_modified: Some(UNIX_EPOCH + Duration::from_millis(MODIFIED * 1000 + 750)),
        }
    }

    fn date(secs: u64) -> String {
        httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(secs))
    }

    fn run(method: Method, headers: &[(&str, &str)]) -> Decision {
        run_with(&method, headers, &validators(), Some(LEN), true)
    }

    fn run_with(
        method: &Method,
        headers: &[(&str, &str)],
        validators: &Validators,
        length: Option<u64>,
        ranges: bool,
    ) -> Decision {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(
                http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        decide(&Conditions::new(method, &map), validators, length, ranges)
    }

    fn get(headers: &[(&str, &str)]) -> Decision {
        run(Method::GET, headers)
    }

    fn range(start: u64, end: u64) -> ByteRange {
        ByteRange { start, end }
    }

    // --- no conditions ---

    #[test]
    fn no_headers_is_full() {
        assert_eq!(get(&[]), Decision::Full);
    }

    #[test]
    fn unrelated_headers_are_not_captured() {
        let mut map = HeaderMap::new();
        map.insert("accept", HeaderValue::from_static("*/*"));
        assert!(Conditions::new(&Method::GET, &map).is_unconditional());
    }

    // --- If-Match ---

    #[test]
    fn if_match_same_strong_tag_passes() {
        assert_eq!(get(&[("if-match", "\"abc\"")]), Decision::Full);
    }

    #[test]
    fn if_match_other_tag_fails() {
        assert_eq!(
            get(&[("if-match", "\"xyz\"")]),
            Decision::PreconditionFailed
        );
    }

    #[test]
    fn if_match_list_with_current_tag_passes() {
        assert_eq!(get(&[("if-match", "\"x\", \"abc\"")]), Decision::Full);
    }

    #[test]
    fn if_match_across_header_lines_passes() {
        assert_eq!(
            get(&[("if-match", "\"x\""), ("if-match", "\"abc\"")]),
            Decision::Full
        );
    }

    #[test]
    fn if_match_weak_tag_never_matches() {
        assert_eq!(
            get(&[("if-match", "W/\"abc\"")]),
            Decision::PreconditionFailed
        );
    }

    #[test]
    fn if_match_star_passes() {
        assert_eq!(get(&[("if-match", "*")]), Decision::Full);
    }

    #[test]
    fn if_match_without_current_etag_fails() {
        let v = Validators::default();
        assert_eq!(
            run_with(
                &Method::GET,
                &[("if-match", "\"abc\"")],
                &v,
                Some(LEN),
                true
            ),
            Decision::PreconditionFailed
        );
    }

    #[test]
    fn if_match_malformed_is_ignored() {
        assert_eq!(get(&[("if-match", "abc")]), Decision::Full);
        assert_eq!(get(&[("if-match", "\"abc")]), Decision::Full);
    }

    #[test]
    fn if_match_tag_with_comma_is_one_member() {
        let v = Validators {
            etag: ETag::parse("\"a,b\""),
            last_modified: None,
        };
        assert_eq!(
            run_with(
                &Method::GET,
                &[("if-match", "\"a,b\"")],
                &v,
                Some(LEN),
                true
            ),
            Decision::Full
        );
    }

    // --- If-Unmodified-Since ---

    #[test]
    fn if_unmodified_since_same_second_passes() {
        assert_eq!(
            get(&[("if-unmodified-since", &date(MODIFIED))]),
            Decision::Full
        );
    }

    #[test]
    fn if_unmodified_since_earlier_fails() {
        assert_eq!(
            get(&[("if-unmodified-since", &date(MODIFIED - 1))]),
            Decision::PreconditionFailed
        );
    }

    #[test]
    fn if_unmodified_since_ignored_when_if_match_present() {
        assert_eq!(
            get(&[
                ("if-match", "\"abc\""),
                ("if-unmodified-since", &date(MODIFIED - 100)),
            ]),
            Decision::Full
        );
    }

    #[test]
    fn if_unmodified_since_invalid_date_ignored() {
        assert_eq!(get(&[("if-unmodified-since", "yesterday")]), Decision::Full);
    }

    #[test]
    fn if_unmodified_since_without_last_modified_ignored() {
        let v = Validators {
            etag: None,
            last_modified: None,
        };
        assert_eq!(
            run_with(
                &Method::GET,
                &[("if-unmodified-since", &date(1))],
                &v,
                Some(LEN),
                true
            ),
            Decision::Full
        );
    }

    // --- If-None-Match ---

    #[test]
    fn if_none_match_same_tag_is_not_modified() {
        assert_eq!(get(&[("if-none-match", "\"abc\"")]), Decision::NotModified);
    }

    #[test]
    fn if_none_match_weak_comparison_matches_weak_tag() {
        assert_eq!(
            get(&[("if-none-match", "W/\"abc\"")]),
            Decision::NotModified
        );
    }

    #[test]
    fn if_none_match_other_tag_is_full() {
        assert_eq!(get(&[("if-none-match", "\"xyz\"")]), Decision::Full);
    }

    #[test]
    fn if_none_match_star_is_not_modified() {
        assert_eq!(get(&[("if-none-match", "*")]), Decision::NotModified);
    }

    #[test]
    fn if_none_match_on_head_is_not_modified() {
        assert_eq!(
            run(Method::HEAD, &[("if-none-match", "\"abc\"")]),
            Decision::NotModified
        );
    }

    #[test]
    fn if_none_match_on_post_is_precondition_failed() {
        assert_eq!(
            run(Method::POST, &[("if-none-match", "\"abc\"")]),
            Decision::PreconditionFailed
        );
    }

    #[test]
    fn if_none_match_wins_over_if_modified_since() {
        // The tag differs, so the date must not be consulted.
        assert_eq!(
            get(&[
                ("if-none-match", "\"xyz\""),
                ("if-modified-since", &date(MODIFIED + 10)),
            ]),
            Decision::Full
        );
    }

    #[test]
    fn if_match_failure_wins_over_if_none_match() {
        assert_eq!(
            get(&[("if-match", "\"xyz\""), ("if-none-match", "\"abc\"")]),
            Decision::PreconditionFailed
        );
    }

    // --- If-Modified-Since ---

    #[test]
    fn if_modified_since_same_second_is_not_modified() {
        // The file's sub-second part (.750) must not count.
        assert_eq!(
            get(&[("if-modified-since", &date(MODIFIED))]),
            Decision::NotModified
        );
    }

    #[test]
    fn if_modified_since_later_is_not_modified() {
        assert_eq!(
            get(&[("if-modified-since", &date(MODIFIED + 60))]),
            Decision::NotModified
        );
    }

    #[test]
    fn if_modified_since_earlier_is_full() {
        assert_eq!(
            get(&[("if-modified-since", &date(MODIFIED - 1))]),
            Decision::Full
        );
    }

    #[test]
    fn if_modified_since_rfc850_date() {
        // 1700000000 is Tuesday, 14 November 2023 22:13:20 GMT.
        assert_eq!(
            get(&[("if-modified-since", "Tuesday, 14-Nov-23 22:13:20 GMT")]),
            Decision::NotModified
        );
    }

    #[test]
    fn if_modified_since_asctime_date() {
        assert_eq!(
            get(&[("if-modified-since", "Tue Nov 14 22:13:20 2023")]),
            Decision::NotModified
        );
    }

    #[test]
    fn if_modified_since_invalid_is_ignored() {
        assert_eq!(get(&[("if-modified-since", "garbage")]), Decision::Full);
    }

    #[test]
    fn if_modified_since_two_members_ignored() {
        assert_eq!(
            get(&[
                ("if-modified-since", &date(MODIFIED)),
                ("if-modified-since", &date(MODIFIED)),
            ]),
            Decision::Full
        );
    }

    #[test]
    fn if_modified_since_ignored_for_post() {
        assert_eq!(
            run(Method::POST, &[("if-modified-since", &date(MODIFIED))]),
            Decision::Full
        );
    }

    // --- Range ---

    #[test]
    fn single_range() {
        assert_eq!(
            get(&[("range", "bytes=0-99")]),
            Decision::Partial(range(0, 100))
        );
    }

    #[test]
    fn open_ended_range() {
        assert_eq!(
            get(&[("range", "bytes=900-")]),
            Decision::Partial(range(900, 1000))
        );
    }

    #[test]
    fn suffix_range() {
        assert_eq!(
            get(&[("range", "bytes=-10")]),
            Decision::Partial(range(990, 1000))
        );
    }

    #[test]
    fn suffix_longer_than_file_is_whole_file() {
        assert_eq!(
            get(&[("range", "bytes=-5000")]),
            Decision::Partial(range(0, 1000))
        );
    }

    #[test]
    fn last_position_past_end_is_clamped() {
        assert_eq!(
            get(&[("range", "bytes=990-5000")]),
            Decision::Partial(range(990, 1000))
        );
    }

    #[test]
    fn unit_is_case_insensitive() {
        assert_eq!(
            get(&[("range", "Bytes=0-0")]),
            Decision::Partial(range(0, 1))
        );
    }

    #[test]
    fn multiple_ranges_are_sorted() {
        assert_eq!(
            get(&[("range", "bytes=500-599, 0-9")]),
            Decision::MultiPart(vec![range(0, 10), range(500, 600)])
        );
    }

    #[test]
    fn overlapping_ranges_are_merged() {
        assert_eq!(
            get(&[("range", "bytes=0-10,5-20,100-110")]),
            Decision::MultiPart(vec![range(0, 21), range(100, 111)])
        );
    }

    #[test]
    fn adjacent_ranges_merge_into_one_part() {
        assert_eq!(
            get(&[("range", "bytes=0-9,10-19")]),
            Decision::Partial(range(0, 20))
        );
    }

    #[test]
    fn many_overlapping_one_byte_ranges_collapse() {
        let spec: Vec<String> = (0..90).map(|i| format!("{i}-{}", i + 1)).collect();
        let header = format!("bytes={}", spec.join(","));
        assert_eq!(get(&[("range", &header)]), Decision::Partial(range(0, 91)));
    }

    #[test]
    fn too_many_distinct_ranges_serve_full() {
        let spec: Vec<String> = (0..20).map(|i| format!("{0}-{0}", i * 10)).collect();
        let header = format!("bytes={}", spec.join(","));
        assert_eq!(get(&[("range", &header)]), Decision::Full);
    }

    #[test]
    fn too_many_specifiers_are_ignored() {
        let spec: Vec<String> = (0..10_000).map(|_| "0-0".to_owned()).collect();
        let header = format!("bytes={}", spec.join(","));
        assert_eq!(get(&[("range", &header)]), Decision::Full);
    }

    #[test]
    fn unsatisfiable_start_is_416() {
        assert_eq!(
            get(&[("range", "bytes=1000-")]),
            Decision::RangeNotSatisfiable
        );
    }

    #[test]
    fn zero_suffix_is_416() {
        assert_eq!(get(&[("range", "bytes=-0")]), Decision::RangeNotSatisfiable);
    }

    #[test]
    fn any_range_on_empty_file_is_416() {
        assert_eq!(
            run_with(
                &Method::GET,
                &[("range", "bytes=0-")],
                &validators(),
                Some(0),
                true
            ),
            Decision::RangeNotSatisfiable
        );
    }

    #[test]
    fn satisfiable_member_wins_over_unsatisfiable_one() {
        assert_eq!(
            get(&[("range", "bytes=5000-6000, 0-0")]),
            Decision::Partial(range(0, 1))
        );
    }

    #[test]
    fn numbers_past_u64_saturate() {
        assert_eq!(
            get(&[("range", "bytes=99999999999999999999999-")]),
            Decision::RangeNotSatisfiable
        );
        assert_eq!(
            get(&[("range", "bytes=0-99999999999999999999999")]),
            Decision::Partial(range(0, 1000))
        );
    }

    #[test]
    fn reversed_range_is_ignored() {
        assert_eq!(get(&[("range", "bytes=5-1")]), Decision::Full);
    }

    #[test]
    fn garbage_range_is_ignored() {
        for garbage in [
            "garbage",
            "bytes=",
            "bytes=abc",
            "bytes=1-2-3",
            "bytes=--1",
            "bytes=+1-2",
            "bytes= - ",
        ] {
            assert_eq!(get(&[("range", garbage)]), Decision::Full, "{garbage}");
        }
    }

    #[test]
    fn unknown_unit_is_ignored() {
        assert_eq!(get(&[("range", "items=0-1")]), Decision::Full);
    }

    #[test]
    fn range_on_head_is_ignored() {
        assert_eq!(run(Method::HEAD, &[("range", "bytes=0-1")]), Decision::Full);
    }

    #[test]
    fn range_without_length_is_ignored() {
        assert_eq!(
            run_with(
                &Method::GET,
                &[("range", "bytes=0-1")],
                &validators(),
                None,
                true
            ),
            Decision::Full
        );
    }

    #[test]
    fn range_on_unrangeable_file_is_ignored() {
        assert_eq!(
            run_with(
                &Method::GET,
                &[("range", "bytes=0-1")],
                &validators(),
                Some(LEN),
                false
            ),
            Decision::Full
        );
    }

    #[test]
    fn range_after_not_modified_is_304() {
        assert_eq!(
            get(&[("if-none-match", "\"abc\""), ("range", "bytes=0-1")]),
            Decision::NotModified
        );
    }

    // --- If-Range ---

    #[test]
    fn if_range_matching_etag_applies_range() {
        assert_eq!(
            get(&[("if-range", "\"abc\""), ("range", "bytes=0-1")]),
            Decision::Partial(range(0, 2))
        );
    }

    #[test]
    fn if_range_other_etag_serves_full() {
        assert_eq!(
            get(&[("if-range", "\"old\""), ("range", "bytes=0-1")]),
            Decision::Full
        );
    }

    #[test]
    fn if_range_weak_etag_serves_full() {
        assert_eq!(
            get(&[("if-range", "W/\"abc\""), ("range", "bytes=0-1")]),
            Decision::Full
        );
    }

    #[test]
    fn if_range_exact_date_applies_range() {
        assert_eq!(
            get(&[("if-range", &date(MODIFIED)), ("range", "bytes=0-1")]),
            Decision::Partial(range(0, 2))
        );
    }

    #[test]
    fn if_range_other_date_serves_full() {
        assert_eq!(
            get(&[("if-range", &date(MODIFIED + 1)), ("range", "bytes=0-1")]),
            Decision::Full
        );
    }

    #[test]
    fn if_range_garbage_serves_full() {
        assert_eq!(
            get(&[("if-range", "nonsense"), ("range", "bytes=0-1")]),
            Decision::Full
        );
    }

    #[test]
    fn if_range_without_range_is_full() {
        assert_eq!(get(&[("if-range", "\"abc\"")]), Decision::Full);
    }

    // --- entity tags ---

    #[test]
    fn etag_parse_and_format_round_trip() {
        let strong = ETag::parse("\"x-1\"").unwrap();
        assert!(!strong.is_weak());
        assert_eq!(strong.to_header_value(), "\"x-1\"");
        let weak = ETag::parse("W/\"x\"").unwrap();
        assert!(weak.is_weak());
        assert_eq!(weak.to_header_value(), "W/\"x\"");
    }

    #[test]
    fn etag_parse_refuses_malformed() {
        for bad in ["x", "\"x", "x\"", "w/\"x\"", "\"a\"b\"", "\"a b\""] {
            assert_eq!(ETag::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn etag_constructor_sanitizes() {
        assert_eq!(ETag::strong("a\"b c\r\n").tag(), "a_b_c__");
    }

    #[test]
    fn content_range_format() {
        assert_eq!(range(0, 13).content_range(13), "bytes 0-12/13");
    }
}
