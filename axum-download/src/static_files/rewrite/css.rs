//! References in CSS: `url()` (quoted or not), `@import "..."` (the
//! `url()` form is a `url()`), and `/*# sourceMappingURL=... */`. Comments
//! and other strings are skipped whole, so a `url()` inside either is not a
//! reference.

use super::{
    find, is_ident_byte, source_map_in_comment, string_end, string_reference, RefKind, Reference,
};

pub(super) fn scan(src: &[u8]) -> Vec<Reference> {
    let mut refs = Vec::new();
    let mut i = 0;
    while i < src.len() {
        match src[i] {
            b'/' if src.get(i + 1) == Some(&b'*') => {
                let body = i + 2;
                let end = find(src, body, b"*/").unwrap_or(src.len());
                refs.extend(source_map_in_comment(&src[body..end], body));
                i = (end + 2).min(src.len());
            }
            b'"' | b'\'' => i = string_end(src, i),
            b'\\' => i += 2,
            b'@' if starts_with_ci(&src[i + 1..], b"import")
                && !src.get(i + 7).is_some_and(|&b| is_ident_byte(b)) =>
            {
                i = skip_blank(src, i + 7);
                if matches!(src.get(i), Some(b'"' | b'\'')) {
                    let end = string_end(src, i);
                    refs.extend(string_reference(src, i, end, RefKind::Url));
                    i = end;
                }
            }
            b'u' | b'U'
                if starts_with_ci(&src[i..], b"url(") && (i == 0 || !is_ident_byte(src[i - 1])) =>
            {
                i = url_function(src, i + 4, &mut refs);
            }
            _ => i += 1,
        }
    }
    refs
}

/// Reads the argument of `url(` starting at `i`; returns where scanning
/// goes on.
fn url_function(src: &[u8], i: usize, refs: &mut Vec<Reference>) -> usize {
    let start = skip_whitespace(src, i);
    match src.get(start) {
        Some(b'"' | b'\'') => {
            let end = string_end(src, start);
            refs.extend(string_reference(src, start, end, RefKind::Url));
            end
        }
        Some(_) => {
            let len = src[start..]
                .iter()
                .take_while(|&&b| {
                    !b.is_ascii_whitespace() && !matches!(b, b')' | b'(' | b'"' | b'\'')
                })
                .count();
            let end = start + len;
            // An escape makes the written text differ from the URL: leave it.
            if len > 0 && !src[start..end].contains(&b'\\') {
                refs.push(Reference {
                    start,
                    end,
                    kind: RefKind::Url,
                });
            }
            end
        }
        None => start,
    }
}

fn skip_whitespace(src: &[u8], mut i: usize) -> usize {
    while src.get(i).is_some_and(u8::is_ascii_whitespace) {
        i += 1;
    }
    i
}

/// Skips whitespace and comments.
fn skip_blank(src: &[u8], mut i: usize) -> usize {
    loop {
        i = skip_whitespace(src, i);
        if src.get(i) == Some(&b'/') && src.get(i + 1) == Some(&b'*') {
            i = find(src, i + 2, b"*/").map_or(src.len(), |end| end + 2);
        } else {
            return i;
        }
    }
}

fn starts_with_ci(src: &[u8], prefix: &[u8]) -> bool {
    src.len() >= prefix.len() && src[..prefix.len()].eq_ignore_ascii_case(prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(src: &str) -> Vec<(&str, RefKind)> {
        scan(src.as_bytes())
            .into_iter()
            .map(|r| (&src[r.start..r.end], r.kind))
            .collect()
    }

    fn plain(src: &str) -> Vec<&str> {
        urls(src).into_iter().map(|(u, _)| u).collect()
    }

    #[test]
    fn url_forms() {
        assert_eq!(
            plain(r#"a{b:url(x.png)} c{d:url( "y.png" )} e{f:URL('z.png')}"#),
            ["x.png", "y.png", "z.png"]
        );
        assert_eq!(
            plain("@font-face{src:url(f.eot?#iefix) format('eot'),url(f.woff#x)}"),
            ["f.eot?#iefix", "f.woff#x"]
        );
    }

    #[test]
    fn import_forms_keep_their_conditions() {
        let src = r#"@import "a.css" layer(x) supports(display:grid) screen;
@import url(b.css) print;
@IMPORT 'c.css';
@import/**/"d.css";"#;
        assert_eq!(plain(src), ["a.css", "b.css", "c.css", "d.css"]);
    }

    #[test]
    fn comments_and_other_strings_are_not_references() {
        let src = r#"/* url(no.png) @import "no.css"; */
a::before { content: "url(no2.png)"; }
b { background: myurl(no3.png); }
c { content: '\'url(no4.png)'; }"#;
        assert!(plain(src).is_empty(), "{:?}", plain(src));
    }

    #[test]
    fn source_map_comment() {
        assert_eq!(
            urls("a{}\n/*# sourceMappingURL=app.css.map */\n"),
            [("app.css.map", RefKind::SourceMap)]
        );
        assert!(urls("/* sourceMappingURL=no.map */").is_empty());
    }

    #[test]
    fn broken_input_does_not_panic() {
        for src in [
            "url(",
            "url(\"",
            "@import",
            "@import '",
            "/*",
            "\\",
            "a{b:url( ",
            "url('a\\",
            "@import url(",
        ] {
            let _ = scan(src.as_bytes());
        }
    }
}
