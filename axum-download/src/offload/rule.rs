//! [`Rule`]: which downloads a hand-off applies to (matching on whole path
//! segments), checked with the same code as the attribute macros.

use std::fmt;
use std::path::{Component, Path, PathBuf};

use axum_download_rules::Key;
use percent_encoding::percent_decode_str;
use serde::{Deserialize, Serialize};

use super::hand_off::sendfile_value;
use super::{Backend, Expires, HandOff, LimitRate};
use crate::file::FileMeta;
use crate::url_path::encode_path;

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
///
/// ```
/// use axum_download::offload::{Backend, HandOff, Rule};
/// use axum_download::file::FileMeta;
///
/// let rule = Rule::nginx("/x-accel/").source_url("/media/");
/// rule.validate(Backend::Development).unwrap();
///
/// let mut meta = FileMeta::named("a b.pdf");
/// meta.url = Some("/media/docs/a%20b.pdf".to_owned());
/// let Some(HandOff::Nginx { uri, .. }) = rule.target(&meta, Backend::Development) else {
///     panic!("the rule matches");
/// };
/// assert_eq!(uri, "/x-accel/docs/a%20b.pdf");
/// ```
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
        with = "super::seconds_or_off"
    )]
    pub expires: Option<Expires>,
    /// nginx: `X-Accel-Limit-Rate`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "super::rate_or_off"
    )]
    pub limit_rate: Option<LimitRate>,
    /// Hands off every file with a root-relative path, whatever its root:
    /// what a rule without `source_url` or `source_dir` does, which settings
    /// must ask for explicitly.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub catch_all: bool,
    /// nginx: hands off only files with a [remote URL](FileMeta::remote_url)
    /// (an object store's presigned URL), which nginx fetches itself:
    /// `X-Accel-Redirect` to `destination_url` plus
    /// [`X_ACCEL_REMOTE_URL`](super::X_ACCEL_REMOTE_URL).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub remote: bool,
}

/// A rule that breaks a constraint; `key` names the offending field.
///
/// ```
/// use axum_download::offload::{Backend, Rule};
///
/// let err = Rule::nginx("/x-accel/").source_dir("media").validate(Backend::Nginx).unwrap_err();
/// assert_eq!(err.key(), "source_dir");
/// assert_eq!(err.to_string(), "`source_dir` must be absolute, not \"media\"");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    key: &'static str,
    message: String,
}

impl RuleError {
    /// The settings key at fault, e.g. `source_dir`.
    ///
    /// ```
    /// use axum_download::offload::{Backend, Rule};
    ///
    /// let err = Rule::default().source_url("/media/").validate(Backend::Nginx).unwrap_err();
    /// assert_eq!(err.key(), "destination_url");
    /// ```
    #[must_use]
    pub fn key(&self) -> &'static str {
        self.key
    }
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` {}", self.key, self.message)
    }
}

impl std::error::Error for RuleError {}

pub(crate) fn rule_error(key: &'static str, message: impl Into<String>) -> RuleError {
    RuleError {
        key,
        message: message.into(),
    }
}

impl Rule {
    /// An nginx rule handing files off to the internal location `destination_url`.
    ///
    /// ```
    /// use axum_download::offload::{Backend, Rule};
    ///
    /// let rule = Rule::nginx("/x-accel/").source_dir("/srv/media");
    /// assert_eq!(rule.destination_url.as_deref(), Some("/x-accel/"));
    /// assert_eq!(rule.backend, Some(Backend::Nginx));
    /// ```
    #[must_use]
    pub fn nginx(destination_url: impl Into<String>) -> Self {
        Self {
            destination_url: Some(destination_url.into()),
            backend: Some(Backend::Nginx),
            ..Self::default()
        }
    }

    /// An X-Sendfile rule (Apache, lighttpd) sending each file's own path.
    ///
    /// ```
    /// use axum_download::offload::{Backend, Rule};
    /// use axum_download::DownloadSettings;
    ///
    /// let settings = DownloadSettings::new(Backend::Development)
    ///     .rule(Rule::x_sendfile().source_dir("/srv/media"));
    /// settings.validate().unwrap();
    /// ```
    #[must_use]
    pub fn x_sendfile() -> Self {
        Self {
            backend: Some(Backend::XSendfile),
            ..Self::default()
        }
    }

    /// A rule redirecting clients to the file's remote URL
    /// ([`Backend::Redirect`]).
    ///
    /// ```
    /// use axum_download::file::FileMeta;
    /// use axum_download::offload::{Backend, HandOff, Rule};
    ///
    /// let rule = Rule::redirect().source_url("/s3/");
    /// let mut meta = FileMeta::named("a.pdf");
    /// meta.url = Some("/s3/a.pdf".to_owned());
    /// meta.remote_url = Some("https://bucket.example.com/a.pdf?X-Amz-Signature=abc".to_owned());
    /// let target = rule.target(&meta, Backend::Development);
    /// assert!(matches!(target, Some(HandOff::Redirect { url }) if url.starts_with("https://bucket")));
    /// ```
    #[must_use]
    pub fn redirect() -> Self {
        Self {
            backend: Some(Backend::Redirect),
            ..Self::default()
        }
    }

    /// nginx: hands off only files with a [remote URL](FileMeta::remote_url),
    /// for nginx to fetch from there (`deploy/nginx.conf`'s
    /// `/x-accel-remote/` location).
    ///
    /// ```
    /// use axum_download::offload::{Backend, Rule};
    /// use axum_download::DownloadSettings;
    ///
    /// let settings = DownloadSettings::new(Backend::Nginx)
    ///     .rule(Rule::nginx("/x-accel-remote/").source_url("/s3/").remote(true));
    /// settings.validate().unwrap();
    /// ```
    #[must_use]
    pub fn remote(mut self, remote: bool) -> Self {
        self.remote = remote;
        self
    }

    /// Marks a rule without a source as meant to hand off every file that
    /// has a root-relative path (required for such a rule in settings).
    ///
    /// ```
    /// use axum_download::offload::{Backend, Rule};
    /// use axum_download::DownloadSettings;
    ///
    /// let without = DownloadSettings::new(Backend::Nginx).rule(Rule::nginx("/x-accel/"));
    /// assert!(without.validate().is_err());
    /// let with = DownloadSettings::new(Backend::Nginx).rule(Rule::nginx("/x-accel/").catch_all(true));
    /// assert!(with.validate().is_ok());
    /// ```
    #[must_use]
    pub fn catch_all(mut self, catch_all: bool) -> Self {
        self.catch_all = catch_all;
        self
    }

    /// Only files under this URL prefix, matched on whole segments.
    ///
    /// ```
    /// use axum_download::file::FileMeta;
    /// use axum_download::offload::{Backend, Rule};
    ///
    /// let rule = Rule::nginx("/x-accel/").source_url("/media/nginx");
    /// let mut meta = FileMeta::named("a.txt");
    /// meta.url = Some("/media/nginx-other/a.txt".to_owned());
    /// assert_eq!(rule.target(&meta, Backend::Nginx), None);
    /// ```
    #[must_use]
    pub fn source_url(mut self, url: impl Into<String>) -> Self {
        self.source_url = Some(url.into());
        self
    }

    /// Only files under this directory (absolute).
    ///
    /// ```
    /// use axum_download::file::FileMeta;
    /// use axum_download::offload::{Backend, HandOff, Rule};
    ///
    /// let rule = Rule::nginx("/x-accel/").source_dir("/srv/media");
    /// let mut meta = FileMeta::named("a.txt");
    /// meta.local_path = Some("/srv/media/docs/a.txt".into());
    /// let target = rule.target(&meta, Backend::Nginx);
    /// assert!(matches!(target, Some(HandOff::Nginx { uri, .. }) if uri == "/x-accel/docs/a.txt"));
    /// ```
    #[must_use]
    pub fn source_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.source_dir = Some(dir.into());
        self
    }

    /// X-Sendfile: where the proxy finds the files (the application's
    /// directory as the proxy sees it, e.g. in another container).
    ///
    /// ```
    /// use axum_download::file::FileMeta;
    /// use axum_download::offload::{Backend, HandOff, Rule};
    ///
    /// let rule = Rule::x_sendfile().source_dir("/app/media").destination_dir("/var/www/media");
    /// let mut meta = FileMeta::named("a.txt");
    /// meta.local_path = Some("/app/media/a.txt".into());
    /// let target = rule.target(&meta, Backend::XSendfile);
    /// assert_eq!(target, Some(HandOff::XSendfile { path: "/var/www/media/a.txt".into() }));
    /// ```
    #[must_use]
    pub fn destination_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.destination_dir = Some(dir.into());
        self
    }

    /// The backend, instead of the settings' default.
    ///
    /// ```
    /// use axum_download::offload::{Backend, Rule};
    ///
    /// let rule = Rule::default().source_dir("/srv/media").backend(Backend::XSendfile);
    /// assert_eq!(rule.effective_backend(Backend::Nginx), Backend::XSendfile);
    /// ```
    #[must_use]
    pub fn backend(mut self, backend: Backend) -> Self {
        self.backend = Some(backend);
        self
    }

    /// nginx: `X-Accel-Buffering`, e.g. `false` for a slow stream the
    /// client should see as it comes.
    ///
    /// ```
    /// use axum_download::offload::Rule;
    ///
    /// let rule = Rule::nginx("/x-accel/").source_url("/media/").buffering(false);
    /// assert_eq!(rule.buffering, Some(false));
    /// ```
    #[must_use]
    pub fn buffering(mut self, buffering: bool) -> Self {
        self.buffering = Some(buffering);
        self
    }

    /// nginx: `X-Accel-Expires`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use axum_download::offload::{Expires, Rule};
    ///
    /// let rule = Rule::nginx("/x-accel/").source_url("/media/").expires(Expires::After(Duration::from_secs(60)));
    /// assert_eq!(rule.expires, Some(Expires::After(Duration::from_secs(60))));
    /// ```
    #[must_use]
    pub fn expires(mut self, expires: Expires) -> Self {
        self.expires = Some(expires);
        self
    }

    /// nginx: `X-Accel-Limit-Rate`.
    ///
    /// ```
    /// use axum_download::offload::{LimitRate, Rule};
    ///
    /// let rule = Rule::nginx("/x-accel/").source_url("/media/").limit_rate(LimitRate::BytesPerSecond(512_000));
    /// assert_eq!(rule.limit_rate, Some(LimitRate::BytesPerSecond(512_000)));
    /// ```
    #[must_use]
    pub fn limit_rate(mut self, limit_rate: LimitRate) -> Self {
        self.limit_rate = Some(limit_rate);
        self
    }

    /// The backend this rule uses when the settings' default is `default`.
    ///
    /// ```
    /// use axum_download::offload::{Backend, Rule};
    ///
    /// let rule = Rule::default().source_url("/media/");
    /// assert_eq!(rule.effective_backend(Backend::Nginx), Backend::Nginx);
    /// assert_eq!(Rule::x_sendfile().effective_backend(Backend::Nginx), Backend::XSendfile);
    /// ```
    #[must_use]
    pub fn effective_backend(&self, default: Backend) -> Backend {
        self.backend.unwrap_or(default)
    }

    /// Checks the rule as it would run with default backend `default`.
    ///
    /// ```
    /// use axum_download::offload::{Backend, Rule};
    ///
    /// let rule = Rule::default().source_url("/media/");
    /// assert!(rule.validate(Backend::Development).is_ok());
    /// let err = rule.validate(Backend::Nginx).unwrap_err();
    /// assert_eq!(err.key(), "destination_url");
    /// ```
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
        super::remote::validate(self, backend)?;
        match backend {
            Backend::Redirect => {}
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
    ///
    /// ```
    /// use axum_download::file::FileMeta;
    /// use axum_download::offload::{Backend, Rule};
    ///
    /// let rule = Rule::default().source_dir("/srv/media");
    /// let mut meta = FileMeta::named("a.txt");
    /// meta.local_path = Some("/srv/media/a.txt".into());
    /// assert!(rule.target(&meta, Backend::XSendfile).is_some());
    /// assert_eq!(rule.target(&meta, Backend::Development), None);
    /// ```
    #[must_use]
    pub fn target(&self, meta: &FileMeta, default: Backend) -> Option<HandOff> {
        let backend = self.effective_backend(default);
        if backend == Backend::Development {
            return None;
        }
        if self.remote || backend == Backend::Redirect {
            return super::remote::target(self, meta, backend);
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
            Backend::Development | Backend::Redirect => None,
        }
    }

    /// The path segments of the file below this rule's source.
    pub(crate) fn matched_segments(&self, meta: &FileMeta) -> Option<Vec<String>> {
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
