//! Hand-off to the reverse proxy: a [`Rule`] matches a download's file and
//! [`hand_off`] turns the download response into the proxy's instruction
//! (`X-Accel-Redirect` for nginx, `X-Sendfile` for Apache and lighttpd).
//! The global middleware and the `#[x_accel]` / `#[x_sendfile]` macros both
//! use this one function.

use std::fmt;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use axum::body::Body;
use axum::response::Response;
use axum_download_rules::Key;
use http::header::{self, HeaderName};
use http::{HeaderMap, HeaderValue, StatusCode};
use percent_encoding::percent_decode_str;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::file::FileMeta;
use crate::storage::encode_path;

/// `X-Accel-Redirect`: nginx serves the internal URI it names.
pub const X_ACCEL_REDIRECT: HeaderName = HeaderName::from_static("x-accel-redirect");
/// `X-Accel-Buffering`: `yes` or `no`.
pub const X_ACCEL_BUFFERING: HeaderName = HeaderName::from_static("x-accel-buffering");
/// `X-Accel-Charset`: the charset nginx adds to the `Content-Type`.
pub const X_ACCEL_CHARSET: HeaderName = HeaderName::from_static("x-accel-charset");
/// `X-Accel-Expires`: seconds nginx may cache the answer, or `off`.
pub const X_ACCEL_EXPIRES: HeaderName = HeaderName::from_static("x-accel-expires");
/// `X-Accel-Limit-Rate`: bytes per second, or `off`.
pub const X_ACCEL_LIMIT_RATE: HeaderName = HeaderName::from_static("x-accel-limit-rate");
/// `X-Sendfile`: Apache (mod_xsendfile) and lighttpd serve the file at this path.
pub const X_SENDFILE: HeaderName = HeaderName::from_static("x-sendfile");

/// Who sends the bytes of a handed-off download.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Backend {
    /// nginx, with `X-Accel-Redirect`.
    #[serde(rename = "nginx")]
    Nginx,
    /// Apache with mod_xsendfile, or lighttpd, with `X-Sendfile`.
    #[serde(rename = "x-sendfile", alias = "apache", alias = "lighttpd")]
    XSendfile,
    /// No proxy: the application streams the file itself, with the same
    /// headers, so one configuration works with and without a proxy.
    #[default]
    #[serde(rename = "development")]
    Development,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Nginx => "nginx",
            Backend::XSendfile => "x-sendfile",
            Backend::Development => "development",
        })
    }
}

/// `X-Accel-Expires`: how long nginx may cache the answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expires {
    /// `off`: nginx does not cache it.
    Off,
    /// A number of seconds (whole seconds are sent).
    After(Duration),
}

/// `X-Accel-Limit-Rate`: how fast nginx sends the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitRate {
    /// `off`: no limit.
    Off,
    /// Bytes per second.
    BytesPerSecond(u64),
}

/// One hand-off rule: the mirror of an entry of DOWNLOADVIEW_RULES.
///
/// A rule matches a file by its URL (`source_url`, e.g. a storage's base
/// URL) or its local path (`source_dir`), always on whole path segments:
/// `/media/nginx` matches `/media/nginx/a.txt`, never
/// `/media/nginx-other/a.txt`. With neither, it matches every file that has
/// a root-relative path (a [`PathDownload::from_root`](crate::PathDownload::from_root)
/// or a storage name): such a rule must say so with `catch_all = true` in
/// settings, which refuse a rule without a source otherwise (the
/// per-handler macros are their own source). The rest of the path is
/// appended to the destination, each segment percent-encoded for nginx.
///
/// The paths are checked by the same code for settings and for the macros
/// (absolute, normalised, no `.`/`..`, `//`, `\` or control characters;
/// URL paths also no `?`, `#`, spaces or encoded separators), and matched
/// against the file's absolute path.
///
/// In settings files (TOML or JSON) the keys are the field names;
/// `expires` is seconds or `"off"`, `limit_rate` bytes per second or `"off"`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Rule {
    /// URL prefix of the files this rule hands off (e.g. `/media/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_url: Option<String>,
    /// Directory of the files this rule hands off (absolute).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_dir: Option<PathBuf>,
    /// nginx: the internal location serving the files (e.g. `/x-accel/`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_url: Option<String>,
    /// X-Sendfile: the directory where the proxy finds the files (absolute);
    /// defaults to `source_dir`, or to the file's own path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_dir: Option<PathBuf>,
    /// The backend of this rule, instead of the settings' default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<Backend>,
    /// nginx: `X-Accel-Buffering` (`yes` or `no`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buffering: Option<bool>,
    /// nginx: `X-Accel-Expires`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "seconds_or_off"
    )]
    pub expires: Option<Expires>,
    /// nginx: `X-Accel-Limit-Rate`.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "rate_or_off")]
    pub limit_rate: Option<LimitRate>,
    /// Hands off every file with a root-relative path, whatever its root:
    /// what a rule without `source_url` or `source_dir` does, which settings
    /// must ask for explicitly.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub catch_all: bool,
}

/// A rule that breaks a constraint; `key` names the offending field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    /// The settings key at fault.
    pub key: &'static str,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` {}", self.key, self.message)
    }
}

fn rule_error(key: &'static str, message: impl Into<String>) -> RuleError {
    RuleError {
        key,
        message: message.into(),
    }
}

impl Rule {
    /// An nginx rule handing files off to the internal location `destination_url`.
    #[must_use]
    pub fn nginx(destination_url: impl Into<String>) -> Self {
        Self {
            destination_url: Some(destination_url.into()),
            backend: Some(Backend::Nginx),
            ..Self::default()
        }
    }

    /// An X-Sendfile rule (Apache, lighttpd) sending each file's own path.
    #[must_use]
    pub fn x_sendfile() -> Self {
        Self {
            backend: Some(Backend::XSendfile),
            ..Self::default()
        }
    }

    /// Marks a rule without a source as meant to hand off every file that
    /// has a root-relative path (required for such a rule in settings).
    #[must_use]
    pub fn catch_all(mut self, catch_all: bool) -> Self {
        self.catch_all = catch_all;
        self
    }

    /// Only files under this URL prefix.
    #[must_use]
    pub fn source_url(mut self, url: impl Into<String>) -> Self {
        self.source_url = Some(url.into());
        self
    }

    /// Only files under this directory.
    #[must_use]
    pub fn source_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.source_dir = Some(dir.into());
        self
    }

    /// X-Sendfile: where the proxy finds the files.
    #[must_use]
    pub fn destination_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.destination_dir = Some(dir.into());
        self
    }

    /// The backend, instead of the settings' default.
    #[must_use]
    pub fn backend(mut self, backend: Backend) -> Self {
        self.backend = Some(backend);
        self
    }

    /// nginx: `X-Accel-Buffering`.
    #[must_use]
    pub fn buffering(mut self, buffering: bool) -> Self {
        self.buffering = Some(buffering);
        self
    }

    /// nginx: `X-Accel-Expires`.
    #[must_use]
    pub fn expires(mut self, expires: Expires) -> Self {
        self.expires = Some(expires);
        self
    }

    /// nginx: `X-Accel-Limit-Rate`.
    #[must_use]
    pub fn limit_rate(mut self, limit_rate: LimitRate) -> Self {
        self.limit_rate = Some(limit_rate);
        self
    }

    /// The backend this rule uses when the settings' default is `default`.
    #[must_use]
    pub fn effective_backend(&self, default: Backend) -> Backend {
        self.backend.unwrap_or(default)
    }

    /// Checks the rule as it would run with default backend `default`.
    pub fn validate(&self, default: Backend) -> Result<(), RuleError> {
        if self.source_url.is_some() && self.source_dir.is_some() {
            return Err(rule_error(
                "source_dir",
                "cannot be set together with `source_url`: keep one",
            ));
        }
        for (key, value) in [
            (Key::SourceUrl, self.source_url.as_deref()),
            (Key::DestinationUrl, self.destination_url.as_deref()),
        ] {
            if let Some(value) = value {
                axum_download_rules::check(key, value)
                    .map_err(|message| rule_error(key.name(), message))?;
            }
        }
        for (key, value) in [
            (Key::SourceDir, self.source_dir.as_deref()),
            (Key::DestinationDir, self.destination_dir.as_deref()),
        ] {
            if let Some(dir) = value {
                let text = dir.to_str().ok_or_else(|| {
                    rule_error(key.name(), format!("must be valid UTF-8, not {dir:?}"))
                })?;
                axum_download_rules::check(key, text)
                    .map_err(|message| rule_error(key.name(), message))?;
            }
        }
        if self.catch_all && (self.source_url.is_some() || self.source_dir.is_some()) {
            return Err(rule_error(
                "catch_all",
                "cannot be set together with `source_url` or `source_dir`",
            ));
        }
        let backend = self.effective_backend(default);
        match backend {
            Backend::Nginx => {
                if self.destination_url.is_none() {
                    return Err(rule_error(
                        "destination_url",
                        "is required for the nginx backend (e.g. \"/x-accel/\")",
                    ));
                }
                if self.destination_dir.is_some() {
                    return Err(rule_error(
                        "destination_dir",
                        "only applies to the x-sendfile backend; nginx uses `destination_url`",
                    ));
                }
            }
            Backend::XSendfile | Backend::Development => {
                if self.destination_url.is_some() && backend == Backend::XSendfile {
                    return Err(rule_error(
                        "destination_url",
                        "only applies to the nginx backend; x-sendfile uses `destination_dir`",
                    ));
                }
                if backend == Backend::XSendfile
                    && self.source_url.is_some()
                    && self.destination_dir.is_none()
                {
                    return Err(rule_error(
                        "destination_dir",
                        "is required with `source_url` for the x-sendfile backend",
                    ));
                }
                for (key, set) in [
                    ("buffering", self.buffering.is_some()),
                    ("expires", self.expires.is_some()),
                    ("limit_rate", self.limit_rate.is_some()),
                ] {
                    if set && backend == Backend::XSendfile {
                        return Err(rule_error(key, "only applies to the nginx backend"));
                    }
                }
            }
        }
        Ok(())
    }

    /// The hand-off of `meta` under this rule, `None` when the rule does
    /// not match the file (or its backend is development).
    #[must_use]
    pub fn target(&self, meta: &FileMeta, default: Backend) -> Option<HandOff> {
        let backend = self.effective_backend(default);
        if backend == Backend::Development {
            return None;
        }
        if backend == Backend::XSendfile
            && self.source_url.is_none()
            && self.source_dir.is_none()
            && self.destination_dir.is_none()
        {
            // No source and no destination: the file's own path, for any
            // file that has one (`relative_path` tells it came from a root).
            meta.relative_path.as_ref()?;
            let path = meta.local_path.as_ref()?;
            return (is_clean_absolute(path) && sendfile_value(path).is_some())
                .then(|| HandOff::XSendfile { path: path.clone() });
        }
        let rest = self.matched_segments(meta)?;
        match backend {
            Backend::Nginx => {
                let base = self.destination_url.as_deref()?;
                let separator = if base.ends_with('/') { "" } else { "/" };
                Some(HandOff::Nginx {
                    uri: format!("{base}{separator}{}", encode_path(&rest.join("/"))),
                    buffering: self.buffering,
                    expires: self.expires,
                    limit_rate: self.limit_rate,
                })
            }
            Backend::XSendfile => {
                let mut path = self
                    .destination_dir
                    .clone()
                    .or_else(|| self.source_dir.clone())?;
                path.extend(&rest);
                sendfile_value(&path)?;
                Some(HandOff::XSendfile { path })
            }
            Backend::Development => None,
        }
    }

    /// The path segments of the file below this rule's source.
    fn matched_segments(&self, meta: &FileMeta) -> Option<Vec<String>> {
        let rest: Vec<String> = if let Some(prefix) = &self.source_url {
            let url = meta.url.as_deref()?;
            let url = url.split(['?', '#']).next().unwrap_or("");
            let rest = strip_segments(url, prefix)?;
            rest.split('/')
                .filter(|s| !s.is_empty())
                .map(|s| {
                    percent_decode_str(s)
                        .decode_utf8()
                        .ok()
                        .map(|s| s.into_owned())
                })
                .collect::<Option<_>>()?
        } else if let Some(dir) = &self.source_dir {
            let path = meta.local_path.as_ref()?;
            if !is_clean_absolute(path) {
                return None;
            }
            let rest = path.strip_prefix(dir).ok()?;
            rest.components()
                .map(|c| match c {
                    Component::Normal(s) => s.to_str().map(str::to_owned),
                    _ => None,
                })
                .collect::<Option<_>>()?
        } else {
            let relative = meta.relative_path.as_deref()?;
            crate::fs::check_relative(relative)
                .ok()?
                .into_iter()
                .map(str::to_owned)
                .collect()
        };
        // Nothing outside the source, and never the source itself.
        let safe = !rest.is_empty()
            && rest
                .iter()
                .all(|s| s != ".." && s != "." && !s.contains(['/', '\\', '\0']));
        safe.then_some(rest)
    }
}

/// Strips `prefix` from `url` on whole segments: `/media/a` is a prefix of
/// `/media/a/b` but not of `/media/ab`.
pub(crate) fn strip_segments<'a>(url: &'a str, prefix: &str) -> Option<&'a str> {
    let prefix = prefix.trim_end_matches('/');
    let rest = url.strip_prefix(prefix)?;
    if rest.is_empty() {
        Some(rest)
    } else {
        rest.strip_prefix('/')
    }
}

fn is_clean_absolute(path: &Path) -> bool {
    path.is_absolute() && !path.components().any(|c| c == Component::ParentDir)
}

/// What the proxy is told to serve.
#[derive(Debug, Clone, PartialEq, Eq)]
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
}

/// The `X-Sendfile` value of `path`: the path itself, byte for byte
/// (non-ASCII bytes as they are), which is what Apache's mod_xsendfile 0.12
/// opens. lighttpd percent-decodes the value, so a path holding `%` would
/// mean another file there: such paths, paths with control characters
/// (tab included) and paths ending in a space are not handed off; the
/// application streams them itself.
fn sendfile_value(path: &Path) -> Option<HeaderValue> {
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
        } => {
            insert(headers, X_ACCEL_REDIRECT, uri);
            if let Some(buffering) = buffering {
                insert(
                    headers,
                    X_ACCEL_BUFFERING,
                    if *buffering { "yes" } else { "no" },
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

fn insert(headers: &mut HeaderMap, name: HeaderName, value: &str) {
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
fn charset_of(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"').to_owned())
            .filter(|v| !v.is_empty())
    })
}

mod seconds_or_off {
    use super::{Deserialize, Deserializer, Duration, Expires, Serializer};

    pub(super) fn serialize<S: Serializer>(
        value: &Option<Expires>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(Expires::After(d)) => serializer.serialize_u64(d.as_secs()),
            _ => serializer.serialize_str("off"),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Expires>, D::Error> {
        Ok(Some(match super::NumberOrOff::deserialize(deserializer)? {
            super::NumberOrOff::Number(n) => Expires::After(Duration::from_secs(n)),
            super::NumberOrOff::Off => Expires::Off,
        }))
    }
}

mod rate_or_off {
    use super::{Deserialize, Deserializer, LimitRate, Serializer};

    pub(super) fn serialize<S: Serializer>(
        value: &Option<LimitRate>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(LimitRate::BytesPerSecond(n)) => serializer.serialize_u64(*n),
            _ => serializer.serialize_str("off"),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<LimitRate>, D::Error> {
        Ok(Some(match super::NumberOrOff::deserialize(deserializer)? {
            super::NumberOrOff::Number(n) => LimitRate::BytesPerSecond(n),
            super::NumberOrOff::Off => LimitRate::Off,
        }))
    }
}

/// A non-negative integer or the string `"off"`.
enum NumberOrOff {
    Number(u64),
    Off,
}

impl<'de> Deserialize<'de> for NumberOrOff {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = NumberOrOff;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a non-negative integer or \"off\"")
            }

            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<NumberOrOff, E> {
                Ok(NumberOrOff::Number(n))
            }

            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<NumberOrOff, E> {
                u64::try_from(n)
                    .map(NumberOrOff::Number)
                    .map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(n), &self))
            }

            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<NumberOrOff, E> {
                if s == "off" {
                    Ok(NumberOrOff::Off)
                } else {
                    Err(E::invalid_value(serde::de::Unexpected::Str(s), &self))
                }
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta_url(url: &str) -> FileMeta {
        FileMeta {
            url: Some(url.to_owned()),
            ..FileMeta::default()
        }
    }

    fn meta_path(path: &str) -> FileMeta {
        FileMeta {
            local_path: Some(PathBuf::from(path)),
            ..FileMeta::default()
        }
    }

    fn nginx_uri(rule: &Rule, meta: &FileMeta) -> Option<String> {
        match rule.target(meta, Backend::Nginx)? {
            HandOff::Nginx { uri, .. } => Some(uri),
            HandOff::XSendfile { .. } => None,
        }
    }

    #[test]
    fn source_url_matches_whole_segments_only() {
        let rule = Rule::nginx("/x/").source_url("/media/nginxdir");
        assert_eq!(
            nginx_uri(&rule, &meta_url("/media/nginxdir/a.txt")).as_deref(),
            Some("/x/a.txt")
        );
        assert_eq!(
            nginx_uri(&rule, &meta_url("/media/nginxdir-other/a.txt")),
            None
        );
        assert_eq!(nginx_uri(&rule, &meta_url("/media/nginxdir")), None);
    }

    #[test]
    fn source_url_with_trailing_slash_is_the_same() {
        let rule = Rule::nginx("/x").source_url("/media/");
        assert_eq!(
            nginx_uri(&rule, &meta_url("/media/a/b.txt")).as_deref(),
            Some("/x/a/b.txt")
        );
    }

    #[test]
    fn target_segments_are_percent_encoded() {
        let rule = Rule::nginx("/x-accel/").source_url("/media/");
        assert_eq!(
            nginx_uri(&rule, &meta_url("/media/espace%20%C3%A9.txt")).as_deref(),
            Some("/x-accel/espace%20%C3%A9.txt")
        );
        let rule = Rule::nginx("/x-accel/").source_dir("/srv/media");
        assert_eq!(
            nginx_uri(&rule, &meta_path("/srv/media/日本語/a?b#c%d.pdf")).as_deref(),
            Some("/x-accel/%E6%97%A5%E6%9C%AC%E8%AA%9E/a%3Fb%23c%25d.pdf")
        );
    }

    #[test]
    fn encoded_dot_dot_in_url_is_never_handed_off() {
        let rule = Rule::nginx("/x/").source_url("/media/");
        assert_eq!(nginx_uri(&rule, &meta_url("/media/%2e%2e/secret")), None);
    }

    #[test]
    fn source_dir_matches_components() {
        let rule = Rule::nginx("/x/").source_dir("/srv/media");
        assert_eq!(
            nginx_uri(&rule, &meta_path("/srv/media/a.txt")).as_deref(),
            Some("/x/a.txt")
        );
        assert_eq!(nginx_uri(&rule, &meta_path("/srv/media-other/a.txt")), None);
        assert_eq!(
            nginx_uri(&rule, &meta_path("/srv/media/../etc/passwd")),
            None
        );
    }

    #[test]
    fn rule_without_source_uses_relative_path() {
        let rule = Rule::nginx("/x-accel/");
        let meta = FileMeta {
            relative_path: Some("nested/espace é.txt".to_owned()),
            ..FileMeta::default()
        };
        assert_eq!(
            nginx_uri(&rule, &meta).as_deref(),
            Some("/x-accel/nested/espace%20%C3%A9.txt")
        );
    }

    #[test]
    fn memory_file_is_never_handed_off() {
        let rule = Rule::nginx("/x-accel/");
        assert_eq!(rule.target(&FileMeta::named("a.txt"), Backend::Nginx), None);
        let rule = Rule::x_sendfile();
        assert_eq!(rule.target(&FileMeta::named("a.txt"), Backend::Nginx), None);
    }

    #[test]
    fn x_sendfile_without_source_sends_own_path() {
        let rule = Rule::x_sendfile();
        let mut meta = meta_path("/srv/media/a b.txt");
        meta.relative_path = Some("a b.txt".to_owned());
        assert_eq!(
            rule.target(&meta, Backend::Nginx),
            Some(HandOff::XSendfile {
                path: PathBuf::from("/srv/media/a b.txt")
            })
        );
    }

    #[test]
    fn x_sendfile_maps_source_dir_to_destination_dir() {
        let rule = Rule::x_sendfile()
            .source_dir("/app/media")
            .destination_dir("/proxy/media");
        assert_eq!(
            rule.target(&meta_path("/app/media/a/b.txt"), Backend::Nginx),
            Some(HandOff::XSendfile {
                path: PathBuf::from("/proxy/media/a/b.txt")
            })
        );
    }

    #[test]
    fn development_backend_never_hands_off() {
        let rule = Rule::nginx("/x/").backend(Backend::Development);
        let meta = FileMeta {
            relative_path: Some("a.txt".to_owned()),
            ..FileMeta::default()
        };
        assert_eq!(rule.target(&meta, Backend::Nginx), None);
    }

    #[test]
    fn validation_names_the_key() {
        let cases = [
            (Rule::nginx("x-accel/"), "destination_url"),
            (Rule::nginx("/x/?a"), "destination_url"),
            (Rule::nginx("/x/").source_dir("media"), "source_dir"),
            (Rule::nginx("/x/").source_url("media/"), "source_url"),
            (
                Rule::nginx("/x/").source_url("/m/").source_dir("/m"),
                "source_dir",
            ),
            (Rule::x_sendfile().destination_dir("rel"), "destination_dir"),
            (Rule::x_sendfile().buffering(true), "buffering"),
            (Rule::x_sendfile().source_url("/m/"), "destination_dir"),
            (Rule::default().backend(Backend::Nginx), "destination_url"),
        ];
        for (rule, key) in cases {
            assert_eq!(
                rule.validate(Backend::Development).unwrap_err().key,
                key,
                "{rule:?}"
            );
        }
        assert!(Rule::nginx("/x/")
            .source_url("/m/")
            .validate(Backend::Development)
            .is_ok());
        assert!(Rule::x_sendfile().validate(Backend::Development).is_ok());
    }

    #[test]
    fn hand_off_headers_for_nginx() {
        let response = Response::builder()
            .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
            .header(header::CONTENT_LENGTH, "13")
            .header(header::CACHE_CONTROL, "private")
            .body(Body::from("Hello world!\n"))
            .unwrap();
        let target = HandOff::Nginx {
            uri: "/x-accel/a.txt".to_owned(),
            buffering: Some(false),
            expires: Some(Expires::After(Duration::from_secs(3600))),
            limit_rate: Some(LimitRate::Off),
        };
        let out = hand_off(response, &target);
        let h = out.headers();
        assert_eq!(h[X_ACCEL_REDIRECT], "/x-accel/a.txt");
        assert_eq!(h[X_ACCEL_BUFFERING], "no");
        assert_eq!(h[X_ACCEL_CHARSET], "utf-8");
        assert_eq!(h[X_ACCEL_EXPIRES], "3600");
        assert_eq!(h[X_ACCEL_LIMIT_RATE], "off");
        assert_eq!(h[header::CACHE_CONTROL], "private");
        assert!(h.get(header::CONTENT_LENGTH).is_none());
    }

    #[test]
    fn no_charset_header_without_charset() {
        let response = Response::builder()
            .header(header::CONTENT_TYPE, "image/png")
            .body(Body::empty())
            .unwrap();
        let out = hand_off(
            response,
            &HandOff::Nginx {
                uri: "/x/a.png".to_owned(),
                buffering: None,
                expires: None,
                limit_rate: None,
            },
        );
        assert!(out.headers().get(X_ACCEL_CHARSET).is_none());
        assert!(out.headers().get(X_ACCEL_BUFFERING).is_none());
    }

    #[test]
    fn x_sendfile_value_is_the_path_itself() {
        let out = hand_off(
            Response::new(Body::empty()),
            &HandOff::XSendfile {
                path: PathBuf::from("/m/espace é?#.txt"),
            },
        );
        assert_eq!(
            out.headers()[X_SENDFILE].as_bytes(),
            "/m/espace é?#.txt".as_bytes()
        );
    }

    #[test]
    fn x_sendfile_refuses_percent_and_controls() {
        let rule = Rule::x_sendfile();
        for name in [
            "100%.txt",
            "a%41.txt",
            "a\r\nX: y.txt",
            "a\tb.txt",
            "trailing ",
        ] {
            let mut meta = meta_path(&format!("/srv/media/{name}"));
            meta.relative_path = Some(name.to_owned());
            assert_eq!(rule.target(&meta, Backend::Nginx), None, "{name:?}");
        }
        let mapped = Rule::x_sendfile().source_dir("/srv/media");
        assert_eq!(
            mapped.target(&meta_path("/srv/media/100%.txt"), Backend::Nginx),
            None
        );
    }

    #[test]
    fn charset_parsing() {
        assert_eq!(
            charset_of("text/plain; charset=utf-8").as_deref(),
            Some("utf-8")
        );
        assert_eq!(
            charset_of("text/plain;Charset=\"latin1\"").as_deref(),
            Some("latin1")
        );
        assert_eq!(charset_of("text/plain"), None);
        assert_eq!(charset_of("text/plain; charset="), None);
    }
}
