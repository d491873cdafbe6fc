//! Hand-off to the reverse proxy: a [`Rule`] matches a download's file and
//! [`hand_off`] turns the download response into the proxy's instruction
//! (`X-Accel-Redirect` for nginx, `X-Sendfile` for Apache and lighttpd).
//! The global middleware and the `#[x_accel]` / `#[x_sendfile]` macros both
//! use this one function.

use std::fmt;
use std::time::Duration;

use http::header::HeaderName;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

mod hand_off;
mod remote;
mod rule;

pub(crate) use hand_off::insert;
pub use hand_off::{hand_off, HandOff};
pub use remote::{X_ACCEL_REMOTE_RANGE, X_ACCEL_REMOTE_URL};
pub(crate) use rule::rule_error;
pub use rule::{Rule, RuleError};

/// `X-Accel-Redirect`: nginx serves the internal URI it names.
///
/// ```
/// use axum_download::offload::X_ACCEL_REDIRECT;
///
/// assert_eq!(X_ACCEL_REDIRECT.as_str(), "x-accel-redirect");
/// ```
pub const X_ACCEL_REDIRECT: HeaderName = HeaderName::from_static("x-accel-redirect");
/// `X-Accel-Buffering`: `yes` or `no`.
///
/// ```
/// use axum_download::offload::X_ACCEL_BUFFERING;
///
/// assert_eq!(X_ACCEL_BUFFERING.as_str(), "x-accel-buffering");
/// ```
pub const X_ACCEL_BUFFERING: HeaderName = HeaderName::from_static("x-accel-buffering");
/// `X-Accel-Charset`: the charset nginx adds to the `Content-Type`.
///
/// ```
/// use axum_download::offload::X_ACCEL_CHARSET;
///
/// assert_eq!(X_ACCEL_CHARSET.as_str(), "x-accel-charset");
/// ```
pub const X_ACCEL_CHARSET: HeaderName = HeaderName::from_static("x-accel-charset");
/// `X-Accel-Expires`: seconds nginx may cache the answer, or `off`.
///
/// ```
/// use axum_download::offload::X_ACCEL_EXPIRES;
///
/// assert_eq!(X_ACCEL_EXPIRES.as_str(), "x-accel-expires");
/// ```
pub const X_ACCEL_EXPIRES: HeaderName = HeaderName::from_static("x-accel-expires");
/// `X-Accel-Limit-Rate`: bytes per second, or `off`.
///
/// ```
/// use axum_download::offload::X_ACCEL_LIMIT_RATE;
///
/// assert_eq!(X_ACCEL_LIMIT_RATE.as_str(), "x-accel-limit-rate");
/// ```
pub const X_ACCEL_LIMIT_RATE: HeaderName = HeaderName::from_static("x-accel-limit-rate");
/// `X-Sendfile`: Apache (mod_xsendfile) and lighttpd serve the file at this path.
///
/// ```
/// use axum_download::offload::X_SENDFILE;
///
/// assert_eq!(X_SENDFILE.as_str(), "x-sendfile");
/// ```
pub const X_SENDFILE: HeaderName = HeaderName::from_static("x-sendfile");

/// Who sends the bytes of a handed-off download.
///
/// In settings files it is written `"nginx"`, `"x-sendfile"` (or
/// `"apache"`, `"lighttpd"`), `"development"` or `"redirect"`.
///
/// ```
/// use axum_download::offload::Backend;
/// use axum_download::DownloadSettings;
///
/// let settings = DownloadSettings::from_toml(r#"backend = "apache""#).unwrap();
/// assert_eq!(settings.backend, Backend::XSendfile);
/// assert_eq!(settings.backend.to_string(), "x-sendfile");
/// assert_eq!(Backend::default(), Backend::Development);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[non_exhaustive]
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
    /// No proxy between the client and the bytes: the client is sent
    /// (`302 Found`) to the file's [remote URL](crate::file::FileMeta::remote_url), an
    /// object store's presigned URL, and fetches the file from the store.
    /// Files without a remote URL are streamed by the application.
    #[serde(rename = "redirect")]
    Redirect,
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Nginx => "nginx",
            Backend::XSendfile => "x-sendfile",
            Backend::Development => "development",
            Backend::Redirect => "redirect",
        })
    }
}

/// `X-Accel-Expires`: how long nginx may cache the answer.
///
/// ```
/// use std::time::Duration;
/// use axum_download::offload::{Expires, Rule};
///
/// let cached = Rule::nginx("/x-accel/").source_url("/media/").expires(Expires::After(Duration::from_secs(3600)));
/// let uncached = Rule::nginx("/x-accel/").source_url("/private/").expires(Expires::Off);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expires {
    /// `off`: nginx does not cache it.
    Off,
    /// A number of seconds (whole seconds are sent).
    After(Duration),
}

/// `X-Accel-Limit-Rate`: how fast nginx sends the file.
///
/// ```
/// use axum_download::offload::{LimitRate, Rule};
///
/// // 1 MiB/s for the free tier, no limit for paying users.
/// let free = Rule::nginx("/x-accel/").source_url("/free/").limit_rate(LimitRate::BytesPerSecond(1 << 20));
/// let paid = Rule::nginx("/x-accel/").source_url("/paid/").limit_rate(LimitRate::Off);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitRate {
    /// `off`: no limit.
    Off,
    /// Bytes per second.
    BytesPerSecond(u64),
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
    use super::hand_off::charset_of;
    use super::*;
    use crate::file::FileMeta;
    use axum::body::Body;
    use axum::response::Response;
    use http::header;
    use std::path::PathBuf;

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
            _ => None,
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
                rule.validate(Backend::Development).unwrap_err().key(),
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
