//! The `Content-Disposition` header: one audited formatter.
//!
//! The value always carries a quoted, ASCII-only `filename` that every client
//! understands, and adds the RFC 8187 `filename*=UTF-8''...` form whenever the
//! real name needs percent-encoding (non-ASCII letters, spaces, quotes, ...).

use http::HeaderValue;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Whether the client should save the file or show it.
///
/// ```
/// use axum_download::rfc9110::{content_disposition, Disposition};
///
/// assert_eq!(Disposition::default(), Disposition::Attachment);
/// assert_eq!(content_disposition(Disposition::Inline, None), "inline");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Disposition {
    /// `attachment`: the browser offers to save the file (the default).
    #[default]
    Attachment,
    /// `inline`: the browser displays the file when it can; the file name
    /// is still sent and used when the user saves it.
    Inline,
}

impl Disposition {
    fn as_str(self) -> &'static str {
        match self {
            Disposition::Attachment => "attachment",
            Disposition::Inline => "inline",
        }
    }
}

/// RFC 8187 `attr-char`: what may stand unencoded in an `ext-value`.
const ATTR_CHAR_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'!')
    .remove(b'#')
    .remove(b'$')
    .remove(b'&')
    .remove(b'+')
    .remove(b'-')
    .remove(b'.')
    .remove(b'^')
    .remove(b'_')
    .remove(b'`')
    .remove(b'|')
    .remove(b'~');

/// Formats a `Content-Disposition` value for `filename`.
///
/// With no name (or an empty one) the value is the bare disposition type.
///
/// ```
/// use axum_download::rfc9110::{content_disposition, Disposition};
///
/// assert_eq!(
///     content_disposition(Disposition::Attachment, Some("espace é.txt")),
///     "attachment; filename=\"espace_e.txt\"; filename*=UTF-8''espace%20%C3%A9.txt",
/// );
/// assert_eq!(
///     content_disposition(Disposition::Inline, Some("report.pdf")),
///     "inline; filename=\"report.pdf\"",
/// );
/// ```
pub fn content_disposition(disposition: Disposition, filename: Option<&str>) -> String {
    let kind = disposition.as_str();
    let Some(name) = filename.filter(|n| !n.is_empty()) else {
        return kind.to_owned();
    };
    let mut out = String::with_capacity(kind.len() + name.len() * 2 + 32);
    out.push_str(kind);
    out.push_str("; filename=\"");
    push_ascii_fallback(&mut out, name);
    out.push('"');
    let encoded = utf8_percent_encode(name, ATTR_CHAR_ENCODE).to_string();
    if encoded != name {
        out.push_str("; filename*=UTF-8''");
        out.push_str(&encoded);
    }
    out
}

/// The same value as a header, ready to insert.
pub(crate) fn header_value(disposition: Disposition, filename: Option<&str>) -> HeaderValue {
    // The formatter only ever produces visible ASCII, so this cannot fail; the
    // fallback keeps that promise even if the formatter is changed carelessly.
    HeaderValue::from_str(&content_disposition(disposition, filename))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

/// The ASCII fallback: accents stripped (`é` → `e`), whitespace, `/` (which
/// compatibility lookalikes such as `／` decompose to) and anything else that
/// is not visible ASCII replaced with `_`, `"` and `\` escaped. Never empty.
fn push_ascii_fallback(out: &mut String, name: &str) {
    let start = out.len();
    for c in name.nfkd() {
        if is_combining_mark(c) {
            // The accent of a letter already written (or already replaced).
            continue;
        }
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '/' => out.push('_'),
            '!'..='~' => out.push(c),
            _ => {
                out.push('_');
            }
        }
    }
    if out.len() == start {
        // A name of combining marks only: keep the fallback non-empty.
        out.push('_');
    }
}

/// The last path segment of `path`, used as the client file name.
pub(crate) fn basename(path: &str) -> Option<&str> {
    path.rsplit(['/', '\\'])
        .find(|segment| !segment.is_empty())
        .filter(|s| *s != "." && *s != "..")
}

/// The file name a `Content-Disposition` value carries (RFC 6266): the
/// RFC 8187 `filename*` when it decodes, else `filename`; only its last
/// path segment is kept, and `None` when nothing usable is left.
#[cfg_attr(not(feature = "http-download"), allow(dead_code))]
pub(crate) fn filename_of(value: &str) -> Option<String> {
    let mut plain = None;
    let mut extended = None;
    for (key, raw) in parameters(value) {
        if key.eq_ignore_ascii_case("filename*") {
            extended = extended.or_else(|| decode_ext_value(&raw));
        } else if key.eq_ignore_ascii_case("filename") {
            plain = plain.or(Some(raw));
        }
    }
    let name = extended.or(plain)?;
    basename(&name)
        .filter(|n| !n.chars().any(char::is_control))
        .map(str::to_owned)
}

/// The `key=value` parameters after the disposition type, with quoted
/// strings unescaped.
#[cfg_attr(not(feature = "http-download"), allow(dead_code))]
fn parameters(value: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let Some((_, mut rest)) = value.split_once(';') else {
        return out;
    };
    loop {
        rest = rest.trim_start_matches([' ', '\t', ';']);
        let Some((key, after)) = rest.split_once('=') else {
            return out;
        };
        let key = key.trim().to_owned();
        let after = after.trim_start();
        if let Some(quoted) = after.strip_prefix('"') {
            let mut text = String::new();
            let mut chars = quoted.char_indices();
            let mut end = quoted.len();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => {
                        if let Some((_, escaped)) = chars.next() {
                            text.push(escaped);
                        }
                    }
                    '"' => {
                        end = i + 1;
                        break;
                    }
                    _ => text.push(c),
                }
            }
            out.push((key, text));
            rest = &quoted[end.min(quoted.len())..];
        } else {
            let (token, tail) = after.split_once(';').unwrap_or((after, ""));
            out.push((key, token.trim().to_owned()));
            rest = tail;
        }
    }
}

/// Decodes an RFC 8187 `charset'lang'pct-encoded` value (UTF-8 or ISO-8859-1).
#[cfg_attr(not(feature = "http-download"), allow(dead_code))]
fn decode_ext_value(raw: &str) -> Option<String> {
    let mut parts = raw.splitn(3, '\'');
    let charset = parts.next()?;
    let _language = parts.next()?;
    let bytes: Vec<u8> = percent_encoding::percent_decode_str(parts.next()?).collect();
    if charset.eq_ignore_ascii_case("utf-8") {
        String::from_utf8(bytes).ok()
    } else if charset.eq_ignore_ascii_case("iso-8859-1") {
        Some(bytes.into_iter().map(char::from).collect())
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attachment(name: &str) -> String {
        content_disposition(Disposition::Attachment, Some(name))
    }

    #[test]
    fn plain_ascii_name_has_no_extended_form() {
        assert_eq!(
            attachment("hello-world.txt"),
            "attachment; filename=\"hello-world.txt\""
        );
    }

    #[test]
    fn space_and_accent_get_fallback_and_extended_form() {
        assert_eq!(
            attachment("espace é.txt"),
            "attachment; filename=\"espace_e.txt\"; filename*=UTF-8''espace%20%C3%A9.txt"
        );
    }

    #[test]
    fn non_latin_name_is_replaced_in_fallback() {
        assert_eq!(
            attachment("日本語.pdf"),
            "attachment; filename=\"___.pdf\"; filename*=UTF-8''%E6%97%A5%E6%9C%AC%E8%AA%9E.pdf"
        );
    }

    #[test]
    fn quote_and_backslash_are_escaped() {
        assert_eq!(
            attachment("a\"b\\c.txt"),
            "attachment; filename=\"a\\\"b\\\\c.txt\"; filename*=UTF-8''a%22b%5Cc.txt"
        );
    }

    #[test]
    fn cr_and_lf_never_reach_the_header() {
        let value = attachment("evil\r\nSet-Cookie: a=b.txt");
        assert!(!value.contains('\r') && !value.contains('\n'));
        assert_eq!(
            value,
            "attachment; filename=\"evil__Set-Cookie:_a=b.txt\"; \
             filename*=UTF-8''evil%0D%0ASet-Cookie%3A%20a%3Db.txt"
        );
    }

    #[test]
    fn control_characters_are_replaced() {
        assert_eq!(
            attachment("a\u{0}b\u{7f}c"),
            "attachment; filename=\"a_b_c\"; filename*=UTF-8''a%00b%7Fc"
        );
    }

    #[test]
    fn semicolon_stays_inside_the_quotes() {
        assert_eq!(
            attachment("a;b.txt"),
            "attachment; filename=\"a;b.txt\"; filename*=UTF-8''a%3Bb.txt"
        );
    }

    #[test]
    fn percent_sign_is_encoded_in_extended_form() {
        assert_eq!(
            attachment("100%.txt"),
            "attachment; filename=\"100%.txt\"; filename*=UTF-8''100%25.txt"
        );
    }

    #[test]
    fn ligature_decomposes_compatibly() {
        // NFKD turns the "ﬁ" ligature into "fi".
        assert_eq!(
            attachment("ﬁle.txt"),
            "attachment; filename=\"file.txt\"; filename*=UTF-8''%EF%AC%81le.txt"
        );
    }

    #[test]
    fn fullwidth_slashes_do_not_become_path_separators() {
        assert!(attachment("‥／‥／etc／passwd")
            .starts_with("attachment; filename=\".._.._etc_passwd\""));
    }

    #[test]
    fn combining_marks_only_still_give_a_fallback() {
        assert_eq!(
            attachment("\u{301}"),
            "attachment; filename=\"_\"; filename*=UTF-8''%CC%81"
        );
    }

    #[test]
    fn inline_keeps_the_filename() {
        assert_eq!(
            content_disposition(Disposition::Inline, Some("espace é.txt")),
            "inline; filename=\"espace_e.txt\"; filename*=UTF-8''espace%20%C3%A9.txt"
        );
    }

    #[test]
    fn missing_or_empty_name_gives_bare_type() {
        assert_eq!(
            content_disposition(Disposition::Attachment, None),
            "attachment"
        );
        assert_eq!(content_disposition(Disposition::Inline, Some("")), "inline");
    }

    #[test]
    fn attr_chars_stay_unencoded() {
        let name = "a!#$&+-.^_`|~z09";
        assert_eq!(attachment(name), format!("attachment; filename=\"{name}\""));
    }

    #[test]
    fn header_value_is_always_valid() {
        for name in ["x\r\ny", "é", "\u{1}", "\"", "日本語"] {
            let v = header_value(Disposition::Attachment, Some(name));
            assert!(v.to_str().is_ok());
        }
    }

    #[test]
    fn basename_takes_last_segment() {
        assert_eq!(basename("a/b/c.txt"), Some("c.txt"));
        assert_eq!(basename("c.txt"), Some("c.txt"));
        assert_eq!(basename("a/b/"), Some("b"));
        assert_eq!(basename("a\\b.txt"), Some("b.txt"));
        assert_eq!(basename(""), None);
        assert_eq!(basename(".."), None);
    }

    #[test]
    fn upstream_filename_prefers_the_extended_form() {
        assert_eq!(
            filename_of("attachment; filename=\"e.txt\"; filename*=UTF-8''%C3%A9.txt").as_deref(),
            Some("é.txt")
        );
        assert_eq!(
            filename_of("inline; filename=\"a \\\"b\\\".txt\"").as_deref(),
            Some("a \"b\".txt")
        );
        assert_eq!(
            filename_of("attachment; filename=plain.bin").as_deref(),
            Some("plain.bin")
        );
        assert_eq!(
            filename_of("attachment; filename*=iso-8859-1''%E9.txt").as_deref(),
            Some("é.txt")
        );
    }

    #[test]
    fn upstream_filename_keeps_the_last_segment_only() {
        assert_eq!(
            filename_of("attachment; filename=\"../../etc/passwd\"").as_deref(),
            Some("passwd")
        );
        assert_eq!(filename_of("attachment; filename=\"..\""), None);
        assert_eq!(filename_of("attachment"), None);
        assert_eq!(filename_of("attachment; filename=\"a\r\nb\""), None);
    }
}
