//! Percent-encoding of URL paths, segment by segment: what storages'
//! URLs, nginx hand-off targets and remote names share.

use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};

/// Characters percent-encoded in a URL path segment.
pub(crate) const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}');

/// Percent-encodes each `/`-separated segment of a path, so names with
/// spaces, `?`, `#`, `%` or non-ASCII letters survive in a URL.
///
/// ```
/// assert_eq!(axum_download::storage::encode_path("a b/日.txt"), "a%20b/%E6%97%A5.txt");
/// ```
#[must_use]
pub fn encode_path(path: &str) -> String {
    path.split('/')
        .map(|s| utf8_percent_encode(s, SEGMENT).to_string())
        .collect::<Vec<_>>()
        .join("/")
}
