//! Hand-off of remote files (object stores with presigned URLs): nginx
//! fetches the file from its URL itself ([`Rule::remote`]), or the client is
//! redirected there ([`Backend::Redirect`]).
//!
//! nginx reads the URL from the application's answer in an internal
//! location (`deploy/nginx.conf`, `/x-accel-remote/`):
//!
//! ```text
//! location /x-accel-remote/ {
//!     internal;
//!     set $remote_url $upstream_http_x_accel_remote_url;
//!     set $remote_range $upstream_http_x_accel_remote_range;
//!     proxy_pass $remote_url;
//!     proxy_pass_request_headers off;
//!     proxy_set_header Range $remote_range;
//!     ...
//! }
//! ```

use http::header::{self, HeaderName};
use http::{HeaderMap, HeaderValue, StatusCode};

use super::{insert, rule_error, Backend, HandOff, Rule, RuleError};
use crate::conditional::Decision;
use crate::file::FileMeta;
use crate::storage::encode_path;

/// `X-Accel-Remote-Url`: where nginx fetches a remotely stored file (an
/// object store's presigned URL). nginx never shows `X-Accel-*` headers of
/// the application's answer to the client.
///
/// ```
/// use axum_download::offload::X_ACCEL_REMOTE_URL;
///
/// assert_eq!(X_ACCEL_REMOTE_URL.as_str(), "x-accel-remote-url");
/// ```
pub const X_ACCEL_REMOTE_URL: HeaderName = HeaderName::from_static("x-accel-remote-url");

/// `X-Accel-Remote-Range`: the one byte range (`bytes=FIRST-LAST`) nginx
/// asks the remote for; absent for the whole file. The application decides
/// it (preconditions, `If-Range`), so the store only ever sees a plain range.
///
/// ```
/// use axum_download::offload::X_ACCEL_REMOTE_RANGE;
///
/// assert_eq!(X_ACCEL_REMOTE_RANGE.as_str(), "x-accel-remote-range");
/// ```
pub const X_ACCEL_REMOTE_RANGE: HeaderName = HeaderName::from_static("x-accel-remote-range");

/// The settings' checks of the remote options.
pub(crate) fn validate(rule: &Rule, backend: Backend) -> Result<(), RuleError> {
    if rule.remote && backend != Backend::Nginx {
        return Err(rule_error(
            "remote",
            "only applies to the nginx backend (the redirect backend is always remote)",
        ));
    }
    if backend == Backend::Redirect {
        for (key, set) in [
            ("destination_url", rule.destination_url.is_some()),
            ("destination_dir", rule.destination_dir.is_some()),
            ("buffering", rule.buffering.is_some()),
            ("expires", rule.expires.is_some()),
            ("limit_rate", rule.limit_rate.is_some()),
        ] {
            if set {
                return Err(rule_error(
                    key,
                    "does not apply to the redirect backend: the client fetches the file \
                     from its remote URL",
                ));
            }
        }
    }
    Ok(())
}

/// The remote hand-off of `meta` under `rule`: only files with a remote URL
/// that the rule's source matches.
pub(crate) fn target(rule: &Rule, meta: &FileMeta, backend: Backend) -> Option<HandOff> {
    let url = meta.remote_url.clone()?;
    let rest = rule.matched_segments(meta)?;
    match backend {
        Backend::Redirect => Some(HandOff::Redirect { url }),
        Backend::Nginx => {
            let base = rule.destination_url.as_deref()?;
            let separator = if base.ends_with('/') { "" } else { "/" };
            Some(HandOff::Remote {
                uri: format!("{base}{separator}{}", encode_path(&rest.join("/"))),
                url,
                range: None,
                buffering: rule.buffering,
                expires: rule.expires,
                limit_rate: rule.limit_rate,
            })
        }
        Backend::XSendfile | Backend::Development => None,
    }
}

impl HandOff {
    /// The hand-off that answers `decision`, or `None` when the application
    /// answers itself. Local files are handed off whatever the range (the
    /// proxy answers it). nginx fetching a remote file is given the one
    /// range the engine chose, so the store never judges `If-Range`; `HEAD`
    /// (the application has every header already), multipart ranges and
    /// unsatisfiable ranges stay with the application.
    pub(crate) fn for_decision(self, decision: &Decision, head: bool) -> Option<Self> {
        match self {
            HandOff::Remote {
                uri,
                url,
                buffering,
                expires,
                limit_rate,
                ..
            } => {
                let range = match decision {
                    _ if head => return None,
                    Decision::Full => None,
                    Decision::Partial(range) => Some(*range),
                    _ => return None,
                };
                Some(HandOff::Remote {
                    uri,
                    url,
                    range,
                    buffering,
                    expires,
                    limit_rate,
                })
            }
            other => Some(other),
        }
    }
}

/// The remote URL and range headers of a [`HandOff::Remote`].
pub(crate) fn remote_headers(headers: &mut HeaderMap, target: &HandOff) {
    let HandOff::Remote { url, range, .. } = target else {
        return;
    };
    // The Content-Type already names its charset, and nginx cannot
    // override the charset of a proxied answer.
    headers.remove(super::X_ACCEL_CHARSET);
    insert(headers, X_ACCEL_REMOTE_URL, url);
    if let Some(range) = range {
        let text = format!("bytes={}-{}", range.start, range.end.saturating_sub(1));
        insert(headers, X_ACCEL_REMOTE_RANGE, &text);
    }
}

/// Turns the answer's parts into `302 Found` to the remote URL of a
/// [`HandOff::Redirect`]. Nothing of the file's representation is kept,
/// and no cache may keep the answer: the URL expires and is the user's.
pub(crate) fn redirect(parts: &mut http::response::Parts, target: &HandOff) {
    let HandOff::Redirect { url } = target else {
        return;
    };
    let Ok(location) = HeaderValue::from_str(url) else {
        crate::report::ignored(
            "redirect URL that is not a valid header value",
            &"(not shown)",
        );
        parts.status = StatusCode::INTERNAL_SERVER_ERROR;
        parts.headers.clear();
        return;
    };
    parts.status = StatusCode::FOUND;
    let headers = &mut parts.headers;
    for name in [
        header::CONTENT_TYPE,
        header::CONTENT_DISPOSITION,
        header::CONTENT_ENCODING,
        header::ETAG,
        header::LAST_MODIFIED,
        header::CONTENT_SECURITY_POLICY,
    ] {
        headers.remove(name);
    }
    headers.insert(header::LOCATION, location);
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(0u64));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conditional::ByteRange;
    use axum::body::Body;
    use axum::response::Response;

    fn remote_meta(url: Option<&str>) -> FileMeta {
        FileMeta {
            url: Some("/s3/docs/a b.txt".to_owned()),
            relative_path: Some("docs/a b.txt".to_owned()),
            remote_url: url.map(str::to_owned),
            ..FileMeta::default()
        }
    }

    const SIGNED: &str = "http://127.0.0.1:9000/bucket/docs/a%20b.txt?X-Amz-Signature=abc";

    #[test]
    fn remote_rule_hands_off_files_with_a_remote_url() {
        let rule = Rule::nginx("/x-accel-remote/")
            .source_url("/s3/")
            .remote(true);
        let target = rule.target(&remote_meta(Some(SIGNED)), Backend::Nginx);
        assert_eq!(target, Some(remote("/x-accel-remote/docs/a%20b.txt")));
    }

    #[test]
    fn remote_rule_skips_files_without_a_remote_url() {
        let rule = Rule::nginx("/x-accel-remote/").catch_all(true).remote(true);
        assert_eq!(rule.target(&remote_meta(None), Backend::Nginx), None);
    }

    #[test]
    fn remote_rule_matches_its_source_only() {
        let rule = Rule::nginx("/x-accel-remote/")
            .source_url("/other/")
            .remote(true);
        assert_eq!(
            rule.target(&remote_meta(Some(SIGNED)), Backend::Nginx),
            None
        );
    }

    #[test]
    fn redirect_rule_targets_the_remote_url() {
        let rule = Rule::redirect().source_url("/s3/");
        assert_eq!(
            rule.target(&remote_meta(Some(SIGNED)), Backend::Nginx),
            Some(HandOff::Redirect {
                url: SIGNED.to_owned()
            })
        );
        assert_eq!(rule.target(&remote_meta(None), Backend::Nginx), None);
    }

    #[test]
    fn remote_options_are_validated() {
        let cases = [
            (Rule::x_sendfile().remote(true), "remote"),
            (Rule::redirect().remote(true), "remote"),
            (
                Rule {
                    destination_url: Some("/x/".to_owned()),
                    ..Rule::redirect()
                },
                "destination_url",
            ),
            (Rule::redirect().buffering(false), "buffering"),
        ];
        for (rule, key) in cases {
            assert_eq!(
                rule.validate(Backend::Development).unwrap_err().key(),
                key,
                "{rule:?}"
            );
        }
        assert!(Rule::redirect().validate(Backend::Nginx).is_ok());
        assert!(Rule::nginx("/x-accel-remote/")
            .remote(true)
            .validate(Backend::Development)
            .is_ok());
    }

    #[test]
    fn settings_files_name_remote_rules() {
        let settings = crate::DownloadSettings::from_toml(
            r#"
            backend = "nginx"

            [[rules]]
            source_url = "/s3-nginx/"
            destination_url = "/x-accel-remote/"
            remote = true

            [[rules]]
            source_url = "/s3-direct/"
            backend = "redirect"
            "#,
        )
        .unwrap();
        assert!(settings.rules[0].remote);
        assert_eq!(
            settings.rules[0].destination_url.as_deref(),
            Some("/x-accel-remote/")
        );
        assert_eq!(
            settings.rules[1],
            Rule::redirect().source_url("/s3-direct/")
        );
        let bad = crate::DownloadSettings::from_toml(
            "[[rules]]\nsource_url = \"/s3/\"\nbackend = \"redirect\"\nexpires = 60\n",
        );
        assert_eq!(
            bad.unwrap_err().to_string(),
            "rule 1: `expires` does not apply to the redirect backend: the client fetches \
             the file from its remote URL"
        );
    }

    fn remote(uri: &str) -> HandOff {
        HandOff::Remote {
            uri: uri.to_owned(),
            url: SIGNED.to_owned(),
            range: None,
            buffering: None,
            expires: None,
            limit_rate: None,
        }
    }

    #[test]
    fn remote_hand_off_carries_the_engine_range_only() {
        let range = ByteRange { start: 2, end: 5 };
        let Some(HandOff::Remote { range: got, .. }) =
            remote("/x-accel-remote/a.txt").for_decision(&Decision::Partial(range), false)
        else {
            panic!("a single range is handed off");
        };
        assert_eq!(got, Some(range));
        let Some(HandOff::Remote { range: got, .. }) =
            remote("/x-accel-remote/a.txt").for_decision(&Decision::Full, false)
        else {
            panic!("a full answer is handed off");
        };
        assert_eq!(got, None);
        assert_eq!(
            remote("/x-accel-remote/a.txt").for_decision(&Decision::Full, true),
            None
        );
        assert_eq!(
            remote("/x-accel-remote/a.txt")
                .for_decision(&Decision::MultiPart(vec![range, range]), false),
            None
        );
        assert_eq!(
            remote("/x-accel-remote/a.txt").for_decision(&Decision::RangeNotSatisfiable, false),
            None
        );
    }

    #[test]
    fn remote_hand_off_headers() {
        let response = Response::builder()
            .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
            .header(header::CONTENT_LENGTH, "13")
            .body(Body::from("Hello world!\n"))
            .unwrap();
        let target = remote("/x-accel-remote/a.txt")
            .for_decision(&Decision::Partial(ByteRange { start: 0, end: 5 }), false)
            .unwrap();
        let out = crate::offload::hand_off(response, &target);
        assert_eq!(out.status(), StatusCode::OK);
        let h = out.headers();
        assert_eq!(h[crate::offload::X_ACCEL_REDIRECT], "/x-accel-remote/a.txt");
        assert_eq!(h[X_ACCEL_REMOTE_URL], SIGNED);
        assert_eq!(h[X_ACCEL_REMOTE_RANGE], "bytes=0-4");
        assert_eq!(h[header::CONTENT_TYPE], "text/plain; charset=utf-8");
        assert!(h.get(header::CONTENT_LENGTH).is_none());
        assert!(h.get(crate::offload::X_ACCEL_CHARSET).is_none());
    }

    #[test]
    fn redirect_hand_off_is_a_302_that_no_cache_keeps() {
        let response = Response::builder()
            .header(header::CONTENT_TYPE, "text/plain")
            .header(header::CONTENT_DISPOSITION, "attachment")
            .header(header::ETAG, "\"x\"")
            .header(header::CACHE_CONTROL, "public, max-age=3600")
            .body(Body::from("Hello world!\n"))
            .unwrap();
        let out = crate::offload::hand_off(
            response,
            &HandOff::Redirect {
                url: SIGNED.to_owned(),
            },
        );
        assert_eq!(out.status(), StatusCode::FOUND);
        let h = out.headers();
        assert_eq!(h[header::LOCATION], SIGNED);
        assert_eq!(h[header::CACHE_CONTROL], "private, no-store");
        assert_eq!(h[header::CONTENT_LENGTH], "0");
        for gone in [
            header::CONTENT_TYPE,
            header::CONTENT_DISPOSITION,
            header::ETAG,
        ] {
            assert!(h.get(&gone).is_none(), "{gone}");
        }
    }

    #[test]
    fn redirect_to_an_invalid_header_value_is_a_500() {
        let out = crate::offload::hand_off(
            Response::new(Body::empty()),
            &HandOff::Redirect {
                url: "http://h/a\nb".to_owned(),
            },
        );
        assert_eq!(out.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert!(out.headers().get(header::LOCATION).is_none());
    }
}
