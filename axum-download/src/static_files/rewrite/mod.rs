//! Finding and rewriting the references of stylesheets and scripts.
//!
//! The scanners ([`css`], [`js`]) read a file the way a browser would, far
//! enough to tell a reference from a comment or an unrelated string, and
//! return where each reference's URL text lies. Resolution and rewriting
//! are shared: a reference names a collected file (then its last path
//! segment gets the file's hash, the rest is kept as written), or it is
//! left alone (`data:`, other schemes, `//host`, absolute paths outside the
//! static URL, fragment-only, bare module specifiers).

mod css;
mod js;

use percent_encoding::percent_decode_str;

use super::naming::split_extension;

/// What a reference is, which decides how strictly a missing target is
/// treated and which URLs are references at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RefKind {
    /// CSS `url()` or `@import`.
    Url,
    /// A `sourceMappingURL` comment.
    SourceMap,
    /// A JavaScript module specifier (`import`, `export ... from`,
    /// `import()`); bare specifiers (`"lodash"`) are not file references.
    Module,
}

/// A reference found in a file: the URL text is `bytes[start..end]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Reference {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) kind: RefKind,
}

/// Which scanner reads a file, from its name; `None` for files that are
/// copied as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Syntax {
    Css,
    Js,
}

impl Syntax {
    pub(crate) fn of(name: &str) -> Option<Syntax> {
        let (_, ext) = split_extension(name.rsplit('/').next().unwrap_or(name));
        match ext.to_ascii_lowercase().as_str() {
            ".css" => Some(Syntax::Css),
            ".js" | ".mjs" | ".cjs" => Some(Syntax::Js),
            _ => None,
        }
    }

    /// The references of `src`, in file order.
    pub(crate) fn scan(self, src: &[u8]) -> Vec<Reference> {
        match self {
            Syntax::Css => css::scan(src),
            Syntax::Js => js::scan(src),
        }
    }
}

/// Where a reference leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// Not a reference to a collected file: left as written.
    External,
    /// The collected file `logical`; the URL's path (as written) ends at
    /// byte `path_end` of the URL, its query and fragment follow.
    File { logical: String, path_end: usize },
    /// A relative path that climbs above the static root.
    Outside,
}

/// Resolves `url`, found in the file `referrer` (a logical name), against
/// the static root published at `static_url`.
pub(crate) fn resolve(referrer: &str, url: &str, static_url: &str, kind: RefKind) -> Target {
    if url.is_empty() || url.starts_with('#') || url.starts_with("//") || has_scheme(url) {
        return Target::External;
    }
    let path_end = url.find(['?', '#']).unwrap_or(url.len());
    let path = &url[..path_end];
    if path.is_empty() || path.ends_with('/') {
        return Target::External;
    }
    let decoded = percent_decode_str(path).decode_utf8_lossy();
    let joined = if let Some(absolute) = decoded.strip_prefix('/') {
        // Django: an absolute path is a static file only under STATIC_URL.
        match static_url
            .strip_prefix('/')
            .and_then(|prefix| absolute.strip_prefix(prefix))
        {
            Some(rest) if static_url.ends_with('/') => rest.to_owned(),
            _ => return Target::External,
        }
    } else {
        if kind == RefKind::Module && !(path.starts_with("./") || path.starts_with("../")) {
            // A bare specifier, resolved by an import map or a bundler.
            return Target::External;
        }
        match referrer.rfind('/') {
            Some(slash) => format!("{}{decoded}", &referrer[..=slash]),
            None => decoded.into_owned(),
        }
    };
    match normalize(&joined) {
        Some(logical) => Target::File { logical, path_end },
        None => Target::Outside,
    }
}

/// `scheme:` as RFC 3986 spells a scheme (`data:`, `https:`, `mailto:`).
fn has_scheme(url: &str) -> bool {
    let Some(colon) = url.find(':') else {
        return false;
    };
    let scheme = &url.as_bytes()[..colon];
    scheme.first().is_some_and(u8::is_ascii_alphabetic)
        && scheme
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

/// Removes `.`, `..` and empty segments; `None` when `..` climbs above the
/// root.
fn normalize(path: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// `url` with the hash inserted into its last path segment, the way
/// [`hashed_name`](super::naming::hashed_name) does, keeping the URL's own
/// spelling (percent-encoding, `./`, query, fragment).
pub(crate) fn hashed_url(url: &str, path_end: usize, hash: &str) -> String {
    let (path, suffix) = url.split_at(path_end);
    let (dir, last) = path.split_at(path.rfind('/').map_or(0, |slash| slash + 1));
    let (root, ext) = split_extension(last);
    let decoded_last = percent_decode_str(last).decode_utf8_lossy();
    let (_, decoded_ext) = split_extension(&decoded_last);
    if percent_decode_str(ext).decode_utf8_lossy() == decoded_ext {
        format!("{dir}{root}.{hash}{ext}{suffix}")
    } else {
        // The last dot is percent-encoded: spell the name out again.
        let hashed = super::naming::hashed_name(&decoded_last, hash);
        format!("{dir}{}{suffix}", crate::url_path::encode_path(&hashed))
    }
}

/// The line (from 1) of byte `offset`.
pub(crate) fn line_of(src: &[u8], offset: usize) -> usize {
    1 + src[..offset.min(src.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

/// `src` with each `(reference, replacement)` applied; `edits` are in file
/// order and do not overlap.
pub(crate) fn apply(src: &[u8], edits: &[(Reference, String)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(src.len() + edits.len() * 16);
    let mut at = 0;
    for (reference, replacement) in edits {
        out.extend_from_slice(&src[at..reference.start]);
        out.extend_from_slice(replacement.as_bytes());
        at = reference.end;
    }
    out.extend_from_slice(&src[at..]);
    out
}

/// Whether `b` may be part of an identifier (CSS or JavaScript; any
/// non-ASCII byte counts, as a UTF-8 letter would).
fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'$' | b'\\') || b >= 0x80
}

/// The URL of a `sourceMappingURL` comment, if `comment` (the text between
/// the comment markers) is one: `# sourceMappingURL=URL` (or the old `@`).
fn source_map_in_comment(comment: &[u8], comment_start: usize) -> Option<Reference> {
    const KEY: &[u8] = b"sourceMappingURL=";
    let rest = comment
        .strip_prefix(b"#")
        .or_else(|| comment.strip_prefix(b"@"))?;
    let spaces = rest
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\t'))
        .count();
    if spaces == 0 || !rest[spaces..].starts_with(KEY) {
        return None;
    }
    let start = comment_start + 1 + spaces + KEY.len();
    let len = comment[start - comment_start..]
        .iter()
        .take_while(|b| !b.is_ascii_whitespace())
        .count();
    (len > 0).then_some(Reference {
        start,
        end: start + len,
        kind: RefKind::SourceMap,
    })
}

/// Where `needle` first occurs in `src` from `from`.
fn find(src: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    src.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| from + p)
}

/// The end (exclusive) of the quoted string starting at `start`, with
/// backslash escapes; an unescaped line break or the end of input ends an
/// unterminated string.
fn string_end(src: &[u8], start: usize) -> usize {
    let quote = src[start];
    let mut i = start + 1;
    while i < src.len() {
        match src[i] {
            b'\\' => i += 2,
            b'\n' | b'\r' => return i,
            b if b == quote => return i + 1,
            _ => i += 1,
        }
    }
    src.len()
}

/// A reference for the content of the string literal `src[start..end]`,
/// unless it is unterminated or holds escapes (its text is then not the
/// URL as written).
fn string_reference(src: &[u8], start: usize, end: usize, kind: RefKind) -> Option<Reference> {
    let closed = end >= start + 2 && src[end - 1] == src[start];
    let inner = (start + 1, end.saturating_sub(1));
    (closed && !src[inner.0..inner.1].contains(&b'\\')).then_some(Reference {
        start: inner.0,
        end: inner.1,
        kind,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_urls_are_left_alone() {
        for url in [
            "data:image/png;base64,AAAA",
            "https://example.com/a.png",
            "HTTP://EXAMPLE.COM/a.png",
            "//cdn.example.com/a.png",
            "/elsewhere/a.png",
            "#frag",
            "",
            "?only-query",
            "dir/",
        ] {
            assert_eq!(
                resolve("css/app.css", url, "/static/", RefKind::Url),
                Target::External,
                "{url}"
            );
        }
        assert_eq!(
            resolve("js/app.js", "lodash", "/static/", RefKind::Module),
            Target::External
        );
    }

    #[test]
    fn relative_and_static_urls_resolve() {
        let file = |logical: &str, path_end| Target::File {
            logical: logical.to_owned(),
            path_end,
        };
        let r = |url| resolve("css/app.css", url, "/static/", RefKind::Url);
        assert_eq!(r("../img/a.png"), file("img/a.png", 12));
        assert_eq!(r("./b.css?v=1#x"), file("css/b.css", 7));
        assert_eq!(r("font.eot?#iefix"), file("css/font.eot", 8));
        assert_eq!(r("/static/img/a.png"), file("img/a.png", 17));
        assert_eq!(r("a%20b.png"), file("css/a b.png", 9));
        assert_eq!(r("../../up.png"), Target::Outside);
        assert_eq!(
            resolve("js/app.js", "./m.js", "/static/", RefKind::Module),
            file("js/m.js", 6)
        );
    }

    #[test]
    fn hashed_urls_keep_their_spelling() {
        let h = "0123456789ab";
        assert_eq!(
            hashed_url("../img/a.png", 12, h),
            "../img/a.0123456789ab.png"
        );
        assert_eq!(
            hashed_url("font.eot?#iefix", 8, h),
            "font.0123456789ab.eot?#iefix"
        );
        assert_eq!(hashed_url("a%20b.png", 9, h), "a%20b.0123456789ab.png");
        assert_eq!(hashed_url("LICENSE", 7, h), "LICENSE.0123456789ab");
        assert_eq!(hashed_url("a%2Epng", 7, h), "a.0123456789ab.png");
    }

    #[test]
    fn lines_count_from_one() {
        assert_eq!(line_of(b"a\nb\nc", 0), 1);
        assert_eq!(line_of(b"a\nb\nc", 4), 3);
    }
}
