//! Django's `staticfiles.json`: `{"paths": {logical: hashed}, "version":
//! "1.1", "hash": "<12 hex>"}`, plus this crate's extra data under one more
//! top-level key, which Django ignores.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::StaticFilesError;

/// The manifest version this crate writes (Django 4.2 and later write it).
pub const MANIFEST_VERSION: &str = "1.1";

/// The manifest's default file name, in the static root.
pub const MANIFEST_NAME: &str = "staticfiles.json";

/// A precompressed representation written next to a collected file.
///
/// ```
/// use axum_download::static_files::Encoding;
///
/// assert_eq!(Encoding::Brotli.as_str(), "br");
/// assert_eq!(Encoding::Brotli.extension(), "br");
/// assert_eq!(Encoding::Gzip.extension(), "gz");
/// assert_eq!("zstd".parse::<Encoding>(), Ok(Encoding::Zstd));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Encoding {
    /// Brotli, `Content-Encoding: br`, sidecar `NAME.br`.
    #[serde(rename = "br")]
    Brotli,
    /// Zstandard, `Content-Encoding: zstd`, sidecar `NAME.zst`.
    #[serde(rename = "zstd")]
    Zstd,
    /// Gzip, `Content-Encoding: gzip`, sidecar `NAME.gz`.
    #[serde(rename = "gzip")]
    Gzip,
}

impl Encoding {
    /// Every encoding, in the order of preference when a client accepts
    /// several equally.
    pub const ALL: [Encoding; 3] = [Encoding::Brotli, Encoding::Zstd, Encoding::Gzip];

    /// The `Content-Encoding` token.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Brotli => "br",
            Encoding::Zstd => "zstd",
            Encoding::Gzip => "gzip",
        }
    }

    /// The sidecar's extension, appended to the file name after a dot.
    #[must_use]
    pub fn extension(self) -> &'static str {
        match self {
            Encoding::Brotli => "br",
            Encoding::Zstd => "zst",
            Encoding::Gzip => "gz",
        }
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Encoding {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Encoding::ALL
            .into_iter()
            .find(|e| e.as_str() == s)
            .ok_or_else(|| format!("unknown encoding {s:?}: expected one of br, zstd, gzip"))
    }
}

/// One collected file as the manifest records it.
///
/// ```
/// use axum_download::static_files::StaticManifest;
///
/// let manifest = StaticManifest::from_json(
///     r#"{"paths": {"app.css": "app.0123456789ab.css"}, "version": "1.1"}"#,
/// )
/// .unwrap();
/// let entry = manifest.get("app.css").unwrap();
/// assert_eq!(entry.logical(), "app.css");
/// assert_eq!(entry.hashed(), "app.0123456789ab.css");
/// assert_eq!(entry.integrity(), None); // Django writes no integrity
/// assert!(entry.encodings().is_empty());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestEntry {
    logical: String,
    hashed: String,
    integrity: Option<String>,
    encodings: Vec<Encoding>,
}

impl ManifestEntry {
    /// An entry: `logical` is stored as `hashed`; `integrity` is its
    /// Subresource Integrity value (`sha384-...`), `encodings` the sidecars
    /// written next to the hashed file.
    ///
    /// ```
    /// use axum_download::static_files::{Encoding, ManifestEntry};
    ///
    /// let entry = ManifestEntry::new("a.js", "a.0123456789ab.js")
    ///     .with_integrity("sha384-AAAA")
    ///     .with_encodings([Encoding::Gzip]);
    /// assert_eq!(entry.encodings(), &[Encoding::Gzip]);
    /// ```
    #[must_use]
    pub fn new(logical: impl Into<String>, hashed: impl Into<String>) -> Self {
        Self {
            logical: logical.into(),
            hashed: hashed.into(),
            integrity: None,
            encodings: Vec::new(),
        }
    }

    /// Sets the Subresource Integrity value.
    #[must_use]
    pub fn with_integrity(mut self, integrity: impl Into<String>) -> Self {
        self.integrity = Some(integrity.into());
        self
    }

    /// Sets the encodings written as sidecars (kept sorted, without repeats).
    #[must_use]
    pub fn with_encodings(mut self, encodings: impl IntoIterator<Item = Encoding>) -> Self {
        self.encodings = encodings.into_iter().collect();
        self.encodings.sort_unstable();
        self.encodings.dedup();
        self
    }

    /// The name the application uses, e.g. `css/app.css`.
    #[must_use]
    pub fn logical(&self) -> &str {
        &self.logical
    }

    /// The name of the hashed copy in the static root, e.g.
    /// `css/app.3f2a1b4c5d6e.css`.
    #[must_use]
    pub fn hashed(&self) -> &str {
        &self.hashed
    }

    /// The Subresource Integrity value of the hashed copy
    /// (`sha384-<base64>`), when the manifest records it.
    #[must_use]
    pub fn integrity(&self) -> Option<&str> {
        self.integrity.as_deref()
    }

    /// The precompressed sidecars written next to the hashed copy.
    #[must_use]
    pub fn encodings(&self) -> &[Encoding] {
        &self.encodings
    }
}

/// A `staticfiles.json` manifest, in Django's format.
///
/// Reads what Django's `ManifestStaticFilesStorage` writes (versions "1.0"
/// and "1.1") and what [`Collect`](super::Collect) writes; the latter also
/// carries each file's integrity and encodings under an extra top-level key.
///
/// ```
/// use axum_download::static_files::StaticManifest;
///
/// let manifest = StaticManifest::from_json(
///     r#"{"paths": {"css/app.css": "css/app.0123456789ab.css"}, "version": "1.0"}"#,
/// )
/// .unwrap();
/// assert_eq!(manifest.hashed_name("css/app.css"), Some("css/app.0123456789ab.css"));
/// assert_eq!(manifest.hashed_name("css/nope.css"), None);
/// assert_eq!(manifest.len(), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaticManifest {
    entries: BTreeMap<String, ManifestEntry>,
    hash: String,
}

/// The document as stored; `paths` keeps the file's order out of the way by
/// being a sorted map, so the bytes written are deterministic.
#[derive(Serialize, Deserialize)]
struct Document {
    paths: BTreeMap<String, String>,
    version: String,
    #[serde(default)]
    hash: String,
    #[serde(
        rename = "axum_download",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    extra: Option<Extra>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Extra {
    files: BTreeMap<String, ExtraFile>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExtraFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    integrity: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    encodings: Vec<Encoding>,
}

impl StaticManifest {
    /// Reads a manifest file.
    ///
    /// # Errors
    ///
    /// When the file cannot be read or is not a manifest of version "1.0"
    /// or "1.1".
    ///
    /// ```no_run
    /// use axum_download::static_files::StaticManifest;
    ///
    /// let manifest = StaticManifest::from_file("static/staticfiles.json")?;
    /// # Ok::<(), axum_download::static_files::StaticFilesError>(())
    /// ```
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, StaticFilesError> {
        let path = path.as_ref();
        let bytes =
            std::fs::read(path).map_err(|err| StaticFilesError::io("read it", path, err))?;
        Self::parse(&path.display().to_string(), &bytes)
    }

    /// Parses a manifest from its text.
    ///
    /// # Errors
    ///
    /// When `text` is not a manifest of version "1.0" or "1.1".
    ///
    /// ```
    /// use axum_download::static_files::StaticManifest;
    ///
    /// let err = StaticManifest::from_json(r#"{"paths": {}, "version": "2"}"#).unwrap_err();
    /// assert!(err.to_string().contains("version"));
    /// ```
    pub fn from_json(text: &str) -> Result<Self, StaticFilesError> {
        Self::parse("(text)", text.as_bytes())
    }

    fn parse(origin: &str, bytes: &[u8]) -> Result<Self, StaticFilesError> {
        let doc: Document =
            serde_json::from_slice(bytes).map_err(|err| StaticFilesError::manifest(origin, err))?;
        if doc.version != "1.0" && doc.version != MANIFEST_VERSION {
            return Err(StaticFilesError::manifest(
                origin,
                format!(
                    "version {:?} is not supported (expected \"1.0\" or \"1.1\")",
                    doc.version
                ),
            ));
        }
        let mut extra = doc.extra.map(|e| e.files).unwrap_or_default();
        let entries = doc
            .paths
            .into_iter()
            .map(|(logical, hashed)| {
                let mut entry = ManifestEntry::new(logical.clone(), hashed);
                if let Some(file) = extra.remove(&logical) {
                    entry.integrity = file.integrity;
                    entry = entry.with_encodings(file.encodings);
                }
                (logical, entry)
            })
            .collect();
        Ok(Self {
            entries,
            hash: doc.hash,
        })
    }

    /// The hashed name of `logical`, if the manifest lists it.
    #[must_use]
    pub fn hashed_name(&self, logical: &str) -> Option<&str> {
        self.entries.get(logical).map(ManifestEntry::hashed)
    }

    /// The entry of `logical`, if the manifest lists it.
    #[must_use]
    pub fn get(&self, logical: &str) -> Option<&ManifestEntry> {
        self.entries.get(logical)
    }

    /// Every entry, sorted by logical name.
    ///
    /// ```
    /// use axum_download::static_files::StaticManifest;
    ///
    /// let manifest = StaticManifest::from_json(
    ///     r#"{"paths": {"b.js": "b.0123456789ab.js", "a.css": "a.0123456789ab.css"}, "version": "1.1"}"#,
    /// )
    /// .unwrap();
    /// let hashed: Vec<&str> = manifest.entries().map(|e| e.hashed()).collect();
    /// assert_eq!(hashed, ["a.0123456789ab.css", "b.0123456789ab.js"]);
    /// ```
    pub fn entries(&self) -> impl ExactSizeIterator<Item = &ManifestEntry> + '_ {
        self.entries.values()
    }

    /// How many files the manifest lists.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the manifest lists no file.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The manifest's `hash` as stored (empty when a "1.0" manifest has
    /// none): Django's digest of the sorted paths.
    #[must_use]
    pub fn hash(&self) -> &str {
        &self.hash
    }
}

#[cfg(feature = "collect")]
impl StaticManifest {
    /// A manifest of `entries`, with the `hash` Django would compute for
    /// their paths.
    ///
    /// ```
    /// use axum_download::static_files::{ManifestEntry, StaticManifest};
    ///
    /// let manifest = StaticManifest::new([ManifestEntry::new("a.css", "a.0123456789ab.css")]);
    /// assert_eq!(manifest.hash().len(), 12);
    /// ```
    #[must_use]
    pub fn new(entries: impl IntoIterator<Item = ManifestEntry>) -> Self {
        let entries: BTreeMap<String, ManifestEntry> = entries
            .into_iter()
            .map(|e| (e.logical.clone(), e))
            .collect();
        let hash = django_manifest_hash(entries.values().map(|e| (e.logical(), e.hashed())));
        Self { entries, hash }
    }

    /// The manifest as JSON text: Django's three keys, then this crate's
    /// extra data. The same manifest always gives the same bytes.
    ///
    /// ```
    /// use axum_download::static_files::{ManifestEntry, StaticManifest};
    ///
    /// let manifest = StaticManifest::new([ManifestEntry::new("a.css", "a.0123456789ab.css")]);
    /// let again = StaticManifest::from_json(&manifest.to_json()).unwrap();
    /// assert_eq!(again, manifest);
    /// ```
    #[must_use]
    pub fn to_json(&self) -> String {
        let files: BTreeMap<String, ExtraFile> = self
            .entries
            .values()
            .filter(|e| e.integrity.is_some() || !e.encodings.is_empty())
            .map(|e| {
                let file = ExtraFile {
                    integrity: e.integrity.clone(),
                    encodings: e.encodings.clone(),
                };
                (e.logical.clone(), file)
            })
            .collect();
        let doc = Document {
            paths: self
                .entries
                .values()
                .map(|e| (e.logical.clone(), e.hashed.clone()))
                .collect(),
            version: MANIFEST_VERSION.to_owned(),
            hash: self.hash.clone(),
            extra: (!files.is_empty()).then_some(Extra { files }),
        };
        // Maps of strings to strings and lists of tokens always serialize.
        let mut text = serde_json::to_string_pretty(&doc).expect("the manifest serializes");
        text.push('\n');
        text
    }

    /// Writes the manifest to `path` atomically: a temporary file in the
    /// same directory, renamed over `path`, so readers see the old manifest
    /// or the new one, never a part. Nothing is written when the file
    /// already holds these bytes.
    ///
    /// # Errors
    ///
    /// When the directory cannot be written.
    ///
    /// ```
    /// use axum_download::static_files::{ManifestEntry, StaticManifest};
    ///
    /// let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("staticfiles.json");
    /// let manifest = StaticManifest::new([ManifestEntry::new("a.css", "a.0123456789ab.css")]);
    /// manifest.write(&path).unwrap();
    /// assert_eq!(StaticManifest::from_file(&path).unwrap(), manifest);
    /// ```
    pub fn write(&self, path: impl AsRef<Path>) -> Result<(), StaticFilesError> {
        super::write::write_if_changed(path.as_ref(), self.to_json().as_bytes()).map(|_| ())
    }
}

/// Django's manifest `hash`: the first 12 hex digits of the MD5 of
/// `json.dumps(sorted(paths.items()))`, i.e. Python's JSON of a list of
/// `[logical, hashed]` pairs sorted by logical name.
#[cfg(feature = "collect")]
pub(crate) fn django_manifest_hash<'a>(sorted: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    use md5::{Digest, Md5};

    let mut text = String::from("[");
    for (index, (logical, hashed)) in sorted.enumerate() {
        if index > 0 {
            text.push_str(", ");
        }
        text.push('[');
        python_json_string(logical, &mut text);
        text.push_str(", ");
        python_json_string(hashed, &mut text);
        text.push(']');
    }
    text.push(']');
    let digest = Md5::digest(text.as_bytes());
    short_hex(&digest)
}

/// The first 12 lowercase hex digits of a digest, as Django keeps them.
#[cfg(feature = "collect")]
pub(crate) fn short_hex(digest: &[u8]) -> String {
    use std::fmt::Write;

    let mut out = String::with_capacity(12);
    for byte in &digest[..6] {
        let _ = write!(out, "{byte:02x}");
    }
    out
}

/// Appends `s` as Python's `json.dumps` writes a string with its default
/// `ensure_ascii=True`: printable ASCII as is, `"` and `\` escaped, the
/// usual short escapes, and every other character as `\uXXXX` (lowercase
/// hex; a surrogate pair beyond U+FFFF).
#[cfg(feature = "collect")]
pub(crate) fn python_json_string(s: &str, out: &mut String) {
    use std::fmt::Write;

    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

#[cfg(all(test, feature = "collect"))]
mod tests {
    use super::*;

    fn py(s: &str) -> String {
        let mut out = String::new();
        python_json_string(s, &mut out);
        out
    }

    #[test]
    fn python_string_escapes_match_json_dumps() {
        // Expected values as Python 3 prints `json.dumps(s)`.
        assert_eq!(py("a/b.css"), r#""a/b.css""#);
        assert_eq!(py("q\"b\\s"), r#""q\"b\\s""#);
        assert_eq!(py("é"), r#""\u00e9""#);
        assert_eq!(py("日"), r#""\u65e5""#);
        assert_eq!(py("😀"), r#""\ud83d\ude00""#);
        assert_eq!(py("\u{7f}\u{1}\n\t"), r#""\u007f\u0001\n\t""#);
    }

    #[test]
    fn hash_of_no_paths_is_md5_of_empty_list() {
        // md5(b"[]") = d751713988987e9331980363e24189ce
        assert_eq!(django_manifest_hash(std::iter::empty()), "d75171398898");
    }

    #[test]
    fn reads_version_1_0_and_1_1_and_refuses_others() {
        for version in ["1.0", "1.1"] {
            let text = format!(r#"{{"paths": {{"a": "a.1"}}, "version": "{version}"}}"#);
            assert_eq!(StaticManifest::from_json(&text).unwrap().len(), 1);
        }
        for bad in [
            r#"{"paths": {}, "version": "1.2"}"#,
            r#"{"paths": {}}"#,
            r#"{"paths": {"a": 1}, "version": "1.1"}"#,
            r#"{"paths": [], "version": "1.1"}"#,
            r#"["paths"]"#,
            "",
            r#"{"paths": {}, "version": "1.1", "axum_download": {"files": {"a": {"encodings": ["lzma"]}}}}"#,
        ] {
            assert!(StaticManifest::from_json(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn extra_data_round_trips() {
        let manifest = StaticManifest::new([
            ManifestEntry::new("é/a.css", "é/a.0123456789ab.css")
                .with_integrity("sha384-x")
                .with_encodings([Encoding::Gzip, Encoding::Brotli]),
            ManifestEntry::new("b.png", "b.0123456789ab.png"),
        ]);
        let text = manifest.to_json();
        let again = StaticManifest::from_json(&text).unwrap();
        assert_eq!(again, manifest);
        let entry = again.get("é/a.css").unwrap();
        assert_eq!(entry.encodings(), &[Encoding::Brotli, Encoding::Gzip]);
        assert_eq!(entry.integrity(), Some("sha384-x"));
        // Django reads `paths`, `version` and `hash` at the top level.
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["version"], "1.1");
        assert_eq!(value["paths"]["b.png"], "b.0123456789ab.png");
        assert_eq!(value["hash"].as_str().unwrap(), manifest.hash());
    }
}
