//! The checks of a hand-off rule's paths, written once for both places a
//! rule comes from: `axum_download::DownloadSettings` (TOML, JSON, code),
//! checked at start-up, and the `#[x_accel]` / `#[x_sendfile]` attributes,
//! checked at compile time. Both report the same verdict with the same
//! words, prefixed by the key: "`source_dir` must be absolute, not \"media\"".
//!
//! ```
//! use axum_download_rules::{check, Key};
//!
//! assert!(check(Key::SourceUrl, "/media/").is_ok());
//! assert_eq!(
//!     check(Key::DestinationUrl, "/x/../y/").unwrap_err(),
//!     "must not contain `.` or `..` segments"
//! );
//! ```

/// A path-valued key of a rule.
///
/// ```
/// use axum_download_rules::{check, Key};
///
/// let key = Key::SourceDir;
/// let err = check(key, "media").unwrap_err();
/// assert_eq!(format!("`{}` {err}", key.name()), "`source_dir` must be absolute, not \"media\"");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// `source_url`: the URL prefix of the files a rule hands off.
    SourceUrl,
    /// `source_dir`: the directory of the files a rule hands off.
    SourceDir,
    /// `destination_url`: nginx's internal location.
    DestinationUrl,
    /// `destination_dir`: where the X-Sendfile proxy finds the files.
    DestinationDir,
}

impl Key {
    /// The key as settings files and attributes spell it.
    ///
    /// ```
    /// use axum_download_rules::Key;
    ///
    /// assert_eq!(Key::DestinationUrl.name(), "destination_url");
    /// ```
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Key::SourceUrl => "source_url",
            Key::SourceDir => "source_dir",
            Key::DestinationUrl => "destination_url",
            Key::DestinationDir => "destination_dir",
        }
    }

    /// The key of that name, if it is one of these.
    ///
    /// ```
    /// use axum_download_rules::Key;
    ///
    /// assert_eq!(Key::from_name("source_url"), Some(Key::SourceUrl));
    /// assert_eq!(Key::from_name("buffering"), None);
    /// ```
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        [
            Key::SourceUrl,
            Key::SourceDir,
            Key::DestinationUrl,
            Key::DestinationDir,
        ]
        .into_iter()
        .find(|key| key.name() == name)
    }

    fn is_url(self) -> bool {
        matches!(self, Key::SourceUrl | Key::DestinationUrl)
    }
}

/// Checks the value of `key`; the error says what is wrong, to be put
/// after the key's name.
///
/// Every value must be absolute and normalised: it starts with `/`, and has
/// no `.`, `..` or empty (`//`) segment, no `\` and no control character.
/// URL paths also refuse `?`, `#`, whitespace and percent-encoded dot
/// segments or separators, which a proxy would decode.
///
/// ```
/// use axum_download_rules::{check, Key};
///
/// assert!(check(Key::SourceDir, "/srv/media/").is_ok());
/// assert_eq!(check(Key::SourceUrl, "media/").unwrap_err(), "must be a URL path starting with `/`, not \"media/\"");
/// assert_eq!(check(Key::DestinationUrl, "/x-accel/%2e%2e/").unwrap_err(), "must not contain `.` or `..` segments");
/// assert_eq!(check(Key::SourceUrl, "/a b/").unwrap_err(), "must not contain spaces (percent-encode them)");
/// ```
pub fn check(key: Key, value: &str) -> Result<(), String> {
    if !value.starts_with('/') {
        return Err(if key.is_url() {
            format!("must be a URL path starting with `/`, not {value:?}")
        } else {
            format!("must be absolute, not {value:?}")
        });
    }
    if value.chars().any(char::is_control) {
        return Err("must not contain control characters".to_owned());
    }
    if value.contains('\\') {
        return Err("must not contain `\\`".to_owned());
    }
    if key.is_url() {
        if value.contains(['?', '#']) {
            return Err("must be a plain path, without `?` or `#`".to_owned());
        }
        if value.chars().any(char::is_whitespace) {
            return Err("must not contain spaces (percent-encode them)".to_owned());
        }
    }
    let inner = value.trim_end_matches('/');
    for segment in inner.split('/').skip(1) {
        let decoded = if key.is_url() {
            percent_decoded(segment)
        } else {
            segment.as_bytes().to_vec()
        };
        if decoded == b"." || decoded == b".." {
            return Err("must not contain `.` or `..` segments".to_owned());
        }
        if segment.is_empty() {
            return Err("must not contain empty segments (`//`)".to_owned());
        }
        if key.is_url() && (decoded.contains(&b'/') || decoded.contains(&b'\\')) {
            return Err("must not contain percent-encoded `/` or `\\`".to_owned());
        }
    }
    Ok(())
}

/// `%XX` sequences decoded; anything else kept as it is.
fn percent_decoded(segment: &str) -> Vec<u8> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    out
}

/// Values and whether [`check`] accepts them: the one table the settings'
/// and the macros' tests both run, so their verdicts cannot drift apart.
#[doc(hidden)]
pub const CASES: &[(Key, &str, bool)] = &[
    (Key::SourceUrl, "/media/", true),
    (Key::SourceUrl, "/media", true),
    (Key::SourceUrl, "/m%20x/", true),
    (Key::SourceUrl, "media/", false),
    (Key::SourceUrl, "/m/../x", false),
    (Key::SourceUrl, "/m/./x", false),
    (Key::SourceUrl, "/m/%2e%2e/x", false),
    (Key::SourceUrl, "/m/%2E./x", false),
    (Key::SourceUrl, "/m%2fx/", false),
    (Key::SourceUrl, "/m//x/", false),
    (Key::SourceUrl, "/m x/", false),
    (Key::SourceUrl, "/m/?q", false),
    (Key::SourceUrl, "/m\\x", false),
    (Key::DestinationUrl, "/x-accel/", true),
    (Key::DestinationUrl, "/x-accel", true),
    (Key::DestinationUrl, "/", true),
    (Key::DestinationUrl, "x-accel/", false),
    (Key::DestinationUrl, "/x/../y/", false),
    (Key::DestinationUrl, "/x y/", false),
    (Key::DestinationUrl, "/x/#f", false),
    (Key::DestinationUrl, "/x/\n", false),
    (Key::DestinationUrl, "/x/%2e%2e/", false),
    (Key::SourceDir, "/srv/media", true),
    (Key::SourceDir, "/srv/my media/", true),
    (Key::SourceDir, "media", false),
    (Key::SourceDir, "/srv/../etc", false),
    (Key::SourceDir, "/srv/./media", false),
    (Key::SourceDir, "/srv//media", false),
    (Key::SourceDir, "/srv/\tmedia", false),
    (Key::DestinationDir, "/data/files", true),
    (Key::DestinationDir, "data/files", false),
    (Key::DestinationDir, "/data/..", false),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_holds() {
        for (key, value, ok) in CASES {
            assert_eq!(
                check(*key, value).is_ok(),
                *ok,
                "{} = {value:?}",
                key.name()
            );
        }
    }

    #[test]
    fn keys_round_trip() {
        for (key, _, _) in CASES {
            assert_eq!(Key::from_name(key.name()), Some(*key));
        }
    }
}
