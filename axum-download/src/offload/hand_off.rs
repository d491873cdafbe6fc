//! [`hand_off`]: a download response and a [`HandOff`] target make the
//! proxy's instruction, written once for the layer and the macros.

use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::response::Response;
use http::header::{self, HeaderName};
use http::{HeaderMap, HeaderValue, StatusCode};

use super::{
    Expires, LimitRate, X_ACCEL_BUFFERING, X_ACCEL_CHARSET, X_ACCEL_EXPIRES, X_ACCEL_LIMIT_RATE,
    X_ACCEL_REDIRECT, X_SENDFILE,
};

/// What the proxy is told to serve: what a [`Rule`](super::Rule) makes of
/// a file, and what [`hand_off`] writes into the response.
///
/// ```
/// use axum_download::file::FileMeta;
/// use axum_download::offload::{Backend, HandOff, Rule};
///
/// let mut meta = FileMeta::named("a.pdf");
/// meta.local_path = Some("/srv/media/docs/a.pdf".into());
/// let target = Rule::x_sendfile().source_dir("/srv/media").target(&meta, Backend::Development);
/// assert_eq!(target, Some(HandOff::XSendfile { path: "/srv/media/docs/a.pdf".into() }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum HandOff {
    /// nginx `X-Accel-Redirect` and its options.
    Nginx {
        /// The internal URI, segments percent-encoded.
        uri: String,
        /// `X-Accel-Buffering`.
        buffering: Option<bool>,
        /// `X-Accel-Expires`.
        expires: Option<Expires>,
        /// `X-Accel-Limit-Rate`.
        limit_rate: Option<LimitRate>,
    },
    /// `X-Sendfile` with the file's path, byte for byte.
    XSendfile {
        /// The path the proxy opens (never holding `%` or control characters).
        path: PathBuf,
    },
    /// nginx `X-Accel-Redirect` to an internal location that fetches the
    /// file from a remote URL itself ([`Rule::remote`](super::Rule::remote)).
    Remote {
        /// The internal URI, segments percent-encoded.
        uri: String,
        /// Where nginx fetches the file (`X-Accel-Remote-Url`).
        url: String,
        /// The one range nginx asks for (`X-Accel-Remote-Range`), as this
        /// crate's engine decided it; `None` for the whole file.
        range: Option<crate::conditional::ByteRange>,
        /// `X-Accel-Buffering`.
        buffering: Option<bool>,
        /// `X-Accel-Expires`.
        expires: Option<Expires>,
        /// `X-Accel-Limit-Rate`.
        limit_rate: Option<LimitRate>,
    },
    /// `302 Found` to the file's remote URL ([`Backend::Redirect`](super::Backend::Redirect)).
    Redirect {
        /// The URL the client is sent to.
        url: String,
    },
}

/// The `X-Sendfile` value of `path`: the path itself, byte for byte
/// (non-ASCII bytes as they are), which is what Apache's mod_xsendfile 0.12
/// opens. lighttpd percent-decodes the value, so a path holding `%` would
/// mean another file there: such paths, paths with control characters
/// (tab included) and paths ending in a space are not handed off; the
/// application streams them itself.
pub(super) fn sendfile_value(path: &Path) -> Option<HeaderValue> {
    let bytes = path_bytes(path);
    // Controls (tab included) cannot be sent exactly, and a value ending in
    // a space would lose it: header parsers trim the ends of a field.
    let exact = !bytes.iter().any(|&b| b == b'%' || b < 0x20 || b == 0x7f)
        && bytes.last().is_some_and(|&b| b != b' ');
    if !exact {
        return None;
    }
    HeaderValue::from_bytes(&bytes).ok()
}

#[cfg(unix)]
fn path_bytes(path: &Path) -> std::borrow::Cow<'_, [u8]> {
    std::borrow::Cow::Borrowed(std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str()))
}

#[cfg(not(unix))]
fn path_bytes(path: &Path) -> std::borrow::Cow<'_, [u8]> {
    match path.to_str() {
        Some(text) => std::borrow::Cow::Borrowed(text.as_bytes()),
        // Not representable: `%` makes `sendfile_value` refuse it.
        None => std::borrow::Cow::Borrowed(b"%"),
    }
}

/// Turns a download response into the hand-off response for `target`:
/// status 200, an empty body, the original `Content-Type` and
/// `Content-Disposition`, every header the handler set, and the proxy's
/// headers. `Content-Length` and `Content-Range` are dropped (the proxy
/// computes its own).
///
/// ```
/// use axum::response::IntoResponse;
/// use axum_download::offload::{hand_off, HandOff};
/// use axum_download::VirtualDownload;
///
/// let response = VirtualDownload::text("a.txt", "hello").into_response();
/// let target = HandOff::Nginx {
///     uri: "/x-accel/a.txt".to_owned(),
///     buffering: Some(false),
///     expires: None,
///     limit_rate: None,
/// };
/// let response = hand_off(response, &target);
/// assert_eq!(response.headers()["x-accel-redirect"], "/x-accel/a.txt");
/// assert_eq!(response.headers()["x-accel-buffering"], "no");
/// assert_eq!(response.headers()["content-type"], "text/plain; charset=utf-8");
/// assert!(response.headers().get("content-length").is_none());
/// ```
pub fn hand_off(response: Response, target: &HandOff) -> Response {
    let (mut parts, _body) = response.into_parts();
    parts.status = StatusCode::OK;
    let headers = &mut parts.headers;
    headers.remove(header::CONTENT_LENGTH);
    headers.remove(header::CONTENT_RANGE);
    // The proxy answers ranges and says so itself: ours would be a second
    // `Accept-Ranges` through nginx.
    headers.remove(header::ACCEPT_RANGES);
    match target {
        HandOff::Nginx {
            uri,
            buffering,
            expires,
            limit_rate,
        } => accel_headers(headers, uri, *buffering, *expires, *limit_rate),
        HandOff::Remote {
            uri,
            buffering,
            expires,
            limit_rate,
            ..
        } => {
            accel_headers(headers, uri, *buffering, *expires, *limit_rate);
            super::remote::remote_headers(headers, target);
        }
        HandOff::Redirect { .. } => {
            super::remote::redirect(&mut parts, target);
        }
        HandOff::XSendfile { path } => match sendfile_value(path) {
            Some(value) => {
                headers.insert(X_SENDFILE, value);
            }
            None => crate::report::ignored(
                "x-sendfile path that cannot be sent exactly",
                &path.display(),
            ),
        },
    }
    crate::report::handed_off(target);
    Response::from_parts(parts, Body::empty())
}

/// `X-Accel-Redirect` to `uri` and its options.
fn accel_headers(
    headers: &mut HeaderMap,
    uri: &str,
    buffering: Option<bool>,
    expires: Option<Expires>,
    limit_rate: Option<LimitRate>,
) {
    insert(headers, X_ACCEL_REDIRECT, uri);
    if let Some(buffering) = buffering {
        insert(
            headers,
            X_ACCEL_BUFFERING,
            if buffering { "yes" } else { "no" },
        );
    }
    if let Some(charset) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(charset_of)
    {
        insert(headers, X_ACCEL_CHARSET, &charset);
    }
    match expires {
        Some(Expires::Off) => insert(headers, X_ACCEL_EXPIRES, "off"),
        Some(Expires::After(after)) => {
            insert(headers, X_ACCEL_EXPIRES, &after.as_secs().to_string());
        }
        None => {}
    }
    match limit_rate {
        Some(LimitRate::Off) => insert(headers, X_ACCEL_LIMIT_RATE, "off"),
        Some(LimitRate::BytesPerSecond(rate)) => {
            insert(headers, X_ACCEL_LIMIT_RATE, &rate.to_string());
        }
        None => {}
    }
}

pub(crate) fn insert(headers: &mut HeaderMap, name: HeaderName, value: &str) {
    match HeaderValue::from_str(value) {
        Ok(value) => {
            headers.insert(name, value);
        }
        Err(_) => {
            crate::report::ignored("hand-off header value", &format_args!("{name}: {value:?}"));
        }
    }
}

/// The `charset` parameter of a `Content-Type`, if any.
pub(super) fn charset_of(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"').to_owned())
            .filter(|v| !v.is_empty())
    })
}
