//! References in JavaScript: module specifiers of static `import` and
//! `export ... from`, `import("literal")`, and `//# sourceMappingURL=`.
//!
//! A small lexer splits the source into tokens (strings, template
//! literals, regular expressions, comments, identifiers, punctuation), so
//! that `import` inside a string, a comment or a regular expression is not
//! mistaken for a statement; a second step reads the statements from the
//! tokens.

use super::{
    find, is_ident_byte, source_map_in_comment, string_end, string_reference, RefKind, Reference,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Ident,
    Str,
    Punct(u8),
    /// Numbers, regular expressions, template literals: values that are
    /// never part of an import statement.
    Other,
}

#[derive(Debug, Clone, Copy)]
struct Token {
    tok: Tok,
    start: usize,
    end: usize,
}

/// Keywords after which a `/` starts a regular expression.
const BEFORE_REGEX: &[&[u8]] = &[
    b"return",
    b"typeof",
    b"instanceof",
    b"in",
    b"of",
    b"new",
    b"delete",
    b"void",
    b"throw",
    b"case",
    b"do",
    b"else",
    b"yield",
    b"await",
];

pub(super) fn scan(src: &[u8]) -> Vec<Reference> {
    let (tokens, mut refs) = lex(src);
    statements(src, &tokens, &mut refs);
    refs.sort_by_key(|r| r.start);
    refs
}

/// Splits `src` into tokens; source-map comments are references already.
fn lex(src: &[u8]) -> (Vec<Token>, Vec<Reference>) {
    let mut tokens: Vec<Token> = Vec::new();
    let mut refs = Vec::new();
    // One entry per open `{`: whether it opened a template substitution.
    let mut braces: Vec<bool> = Vec::new();
    let mut i = 0;
    if src.starts_with(b"#!") {
        i = line_end(src, 0);
    }
    while i < src.len() {
        let start = i;
        let b = src[i];
        let tok = match b {
            b if b.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            b'/' if src.get(i + 1) == Some(&b'/') => {
                let end = line_end(src, i);
                refs.extend(source_map_in_comment(&src[i + 2..end], i + 2));
                i = end;
                continue;
            }
            b'/' if src.get(i + 1) == Some(&b'*') => {
                let end = find(src, i + 2, b"*/").unwrap_or(src.len());
                refs.extend(source_map_in_comment(&src[i + 2..end], i + 2));
                i = (end + 2).min(src.len());
                continue;
            }
            b'/' if regex_allowed(src, tokens.last()) => {
                i = regex_end(src, i);
                Tok::Other
            }
            b'"' | b'\'' => {
                i = string_end(src, i);
                Tok::Str
            }
            b'`' => {
                i = template_end(src, i + 1, &mut braces);
                Tok::Other
            }
            b'{' => {
                braces.push(false);
                i += 1;
                Tok::Punct(b'{')
            }
            b'}' => {
                if braces.pop() == Some(true) {
                    // The end of a `${...}`: the template goes on.
                    i = template_end(src, i + 1, &mut braces);
                    Tok::Other
                } else {
                    i += 1;
                    Tok::Punct(b'}')
                }
            }
            b'0'..=b'9' => {
                i += 1;
                while i < src.len() && (is_ident_byte(src[i]) || src[i] == b'.') {
                    i += 1;
                }
                Tok::Other
            }
            b if is_ident_byte(b) && b != b'-' => {
                while i < src.len() && is_ident_byte(src[i]) && src[i] != b'-' {
                    i += if src[i] == b'\\' { 2 } else { 1 };
                }
                Tok::Ident
            }
            _ => {
                i += 1;
                Tok::Punct(b)
            }
        };
        tokens.push(Token {
            tok,
            start,
            end: i.min(src.len()),
        });
    }
    (tokens, refs)
}

/// Whether a `/` after `prev` starts a regular expression rather than a
/// division.
fn regex_allowed(src: &[u8], prev: Option<&Token>) -> bool {
    match prev {
        None => true,
        Some(t) => match t.tok {
            Tok::Punct(p) => !matches!(p, b')' | b']'),
            Tok::Ident => BEFORE_REGEX.contains(&&src[t.start..t.end]),
            Tok::Str | Tok::Other => false,
        },
    }
}

/// The end of the regular expression literal starting at `start` (flags
/// included); a line break first makes it a lone `/`.
fn regex_end(src: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    let mut class = false;
    while i < src.len() {
        match src[i] {
            b'\\' => i += 1,
            b'\n' | b'\r' => return start + 1,
            b'[' => class = true,
            b']' => class = false,
            b'/' if !class => {
                i += 1;
                while i < src.len() && is_ident_byte(src[i]) {
                    i += 1;
                }
                return i;
            }
            _ => {}
        }
        i += 1;
    }
    src.len()
}

/// Scans template text from `i` to its closing backquote, or to a `${`,
/// which opens a substitution (recorded in `braces`).
fn template_end(src: &[u8], mut i: usize, braces: &mut Vec<bool>) -> usize {
    while i < src.len() {
        match src[i] {
            b'\\' => i += 2,
            b'`' => return i + 1,
            b'$' if src.get(i + 1) == Some(&b'{') => {
                braces.push(true);
                return i + 2;
            }
            _ => i += 1,
        }
    }
    src.len()
}

fn line_end(src: &[u8], from: usize) -> usize {
    src[from..]
        .iter()
        .position(|&b| b == b'\n' || b == b'\r')
        .map_or(src.len(), |p| from + p)
}

/// Reads `import` and `export` statements from the tokens.
fn statements(src: &[u8], tokens: &[Token], refs: &mut Vec<Reference>) {
    let text = |t: &Token| &src[t.start..t.end];
    let is = |k: usize, word: &[u8]| {
        tokens
            .get(k)
            .is_some_and(|t| t.tok == Tok::Ident && text(t) == word)
    };
    let punct = |k: usize, p: u8| tokens.get(k).is_some_and(|t| t.tok == Tok::Punct(p));
    let string = |k: usize| tokens.get(k).filter(|t| t.tok == Tok::Str);
    let mut push = |t: &Token| refs.extend(string_reference(src, t.start, t.end, RefKind::Module));

    for k in 0..tokens.len() {
        let import = is(k, b"import");
        if !(import || is(k, b"export")) || (k > 0 && punct(k - 1, b'.')) {
            continue;
        }
        if import && punct(k + 1, b'(') {
            // import("x") or import("x", { with: ... })
            if let Some(t) = string(k + 2) {
                if punct(k + 3, b')') || punct(k + 3, b',') {
                    push(t);
                }
            }
            continue;
        }
        if import {
            if let Some(t) = string(k + 1) {
                push(t); // import "x";
                continue;
            }
        }
        // import a, { b as c } from "x";  export * as d from "x";
        let mut j = k + 1;
        while let Some(t) = tokens.get(j) {
            if t.tok == Tok::Ident && text(t) == b"from" {
                if let Some(s) = string(j + 1) {
                    push(s);
                    break;
                }
            }
            let clause = matches!(t.tok, Tok::Ident | Tok::Str)
                || matches!(t.tok, Tok::Punct(b'*' | b',' | b'{' | b'}'));
            if !clause {
                break;
            }
            j += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls(src: &str) -> Vec<&str> {
        scan(src.as_bytes())
            .into_iter()
            .map(|r| &src[r.start..r.end])
            .collect()
    }

    #[test]
    fn static_imports_and_exports() {
        let src = r#"import a from "./a.js";
import { b as c, d } from './b.js'
import * as e from "../e.mjs";
import f, { g } from "./f.js";
import "./side.js";
export * from "./h.js";
export * as i from "./i.js";
export { j, k as l } from "./j.js";
import {
  m,
  n,
} from "./multi.js";
import lodash from "lodash";
"#;
        assert_eq!(
            urls(src),
            [
                "./a.js",
                "./b.js",
                "../e.mjs",
                "./f.js",
                "./side.js",
                "./h.js",
                "./i.js",
                "./j.js",
                "./multi.js",
                "lodash"
            ]
        );
    }

    #[test]
    fn dynamic_import_with_literal_only() {
        assert_eq!(
            urls(
                r#"const m = await import("./lazy.js"); import(name); import(`./t.js`); import('./w.js', { with: {} })"#
            ),
            ["./lazy.js", "./w.js"]
        );
    }

    #[test]
    fn strings_comments_and_regexes_are_not_statements() {
        let src = r#"const s = "import x from './no1.js'";
// import y from "./no2.js";
/* export * from "./no3.js"; */
const t = `import z from "./no4.js" ${ `import("./no5.js")` } done`;
const r = /import a from "\.\/no6.js"/g;
obj.import("./no7.js");
const o = { import: "./no8.js" };
const d = 4 / 2; import q from "./yes.js";
"#;
        assert_eq!(urls(src), ["./yes.js"]);
    }

    #[test]
    fn import_after_template_substitution() {
        let src = "const a = `${ {x: 1}.x }`;\nimport b from './b.js';";
        assert_eq!(urls(src), ["./b.js"]);
    }

    #[test]
    fn source_map_comment() {
        assert_eq!(
            urls("f();\n//# sourceMappingURL=app.js.map\n"),
            ["app.js.map"]
        );
        assert_eq!(
            urls("f();\n//@ sourceMappingURL=old.js.map"),
            ["old.js.map"]
        );
        assert!(urls("const s = '//# sourceMappingURL=no.map';").is_empty());
    }

    #[test]
    fn broken_input_does_not_panic() {
        for src in [
            "import",
            "import(",
            "import('",
            "`${",
            "`${`",
            "/",
            "/[",
            "'\\",
            "export {",
            "}}}",
            "#!",
            "import a from",
            "a = /x\\",
        ] {
            let _ = scan(src.as_bytes());
        }
    }
}
