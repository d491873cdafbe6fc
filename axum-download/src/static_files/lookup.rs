//! From a logical name to the URL of its hashed copy, at run time.

use std::sync::Arc;

use super::{StaticFilesError, StaticManifest};
use crate::url_path::encode_path;

/// The URLs of collected static files, through their manifest.
///
/// Strict by default: a name that the manifest does not list is an error,
/// so a typo in a template fails loudly instead of linking to a missing
/// file. [`lenient`](Self::lenient) answers the unhashed URL instead.
/// Queries and fragments of the name are kept (`font.eot?#iefix`).
///
/// ```
/// use axum_download::static_files::{StaticManifest, StaticUrls};
///
/// let manifest = StaticManifest::from_json(
///     r#"{"paths": {"css/app.css": "css/app.3f2a1b4c5d6e.css"}, "version": "1.1"}"#,
/// )?;
/// let urls = StaticUrls::new(manifest);
/// assert_eq!(urls.url("css/app.css")?, "/static/css/app.3f2a1b4c5d6e.css");
/// assert_eq!(urls.url("css/app.css#top")?, "/static/css/app.3f2a1b4c5d6e.css#top");
/// assert!(urls.url("css/typo.css").is_err());
///
/// let urls = urls.base_url("https://cdn.example.com/s/").lenient();
/// assert_eq!(urls.url("css/typo.css")?, "https://cdn.example.com/s/css/typo.css");
/// # Ok::<(), axum_download::static_files::StaticFilesError>(())
/// ```
#[derive(Debug, Clone)]
pub struct StaticUrls {
    manifest: Arc<StaticManifest>,
    base_url: String,
    strict: bool,
}

impl StaticUrls {
    /// Strict URLs under `/static/`.
    #[must_use]
    pub fn new(manifest: impl Into<Arc<StaticManifest>>) -> Self {
        Self {
            manifest: manifest.into(),
            base_url: "/static/".to_owned(),
            strict: true,
        }
    }

    /// Reads the manifest at `path`: [`StaticManifest::from_file`], then
    /// [`new`](Self::new).
    ///
    /// # Errors
    ///
    /// When the manifest cannot be read.
    ///
    /// ```no_run
    /// use axum_download::static_files::StaticUrls;
    ///
    /// let urls = StaticUrls::from_manifest_file("static/staticfiles.json")?;
    /// # Ok::<(), axum_download::static_files::StaticFilesError>(())
    /// ```
    pub fn from_manifest_file(path: impl AsRef<std::path::Path>) -> Result<Self, StaticFilesError> {
        StaticManifest::from_file(path).map(Self::new)
    }

    /// The URL prefix the static root is published under (Django's
    /// `STATIC_URL`); a missing final `/` is added.
    ///
    /// ```
    /// # use axum_download::static_files::{StaticManifest, StaticUrls};
    /// # let manifest = StaticManifest::from_json(r#"{"paths": {}, "version": "1.1"}"#).unwrap();
    /// let urls = StaticUrls::new(manifest).base_url("/assets").lenient();
    /// assert_eq!(urls.url("a b.js").unwrap(), "/assets/a%20b.js");
    /// ```
    #[must_use]
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = base_url.into();
        if !self.base_url.ends_with('/') {
            self.base_url.push('/');
        }
        self
    }

    /// Answers the unhashed URL for a name the manifest does not list,
    /// instead of an error.
    #[must_use]
    pub fn lenient(mut self) -> Self {
        self.strict = false;
        self
    }

    /// The manifest the URLs come from.
    #[must_use]
    pub fn manifest(&self) -> &StaticManifest {
        &self.manifest
    }

    /// The URL of `name`: the base URL and the hashed name, percent-encoded,
    /// with `name`'s query and fragment kept.
    ///
    /// # Errors
    ///
    /// When strict and the manifest does not list `name`.
    pub fn url(&self, name: &str) -> Result<String, StaticFilesError> {
        let (path, suffix) = split_suffix(name);
        let stored = match self.manifest.hashed_name(path) {
            Some(hashed) => hashed,
            None if self.strict => return Err(StaticFilesError::unknown_name(path)),
            None => path,
        };
        Ok(format!("{}{}{suffix}", self.base_url, encode_path(stored)))
    }

    /// The Subresource Integrity value of `name`'s hashed copy
    /// (`sha384-...`), for an `integrity` attribute; `None` when the
    /// manifest records none (Django writes none).
    ///
    /// # Errors
    ///
    /// When strict and the manifest does not list `name`.
    ///
    /// ```
    /// # use axum_download::static_files::{StaticManifest, StaticUrls};
    /// let manifest = StaticManifest::from_json(r#"{
    ///     "paths": {"app.js": "app.0123456789ab.js"}, "version": "1.1",
    ///     "axum_download": {"files": {"app.js": {"integrity": "sha384-abc"}}}
    /// }"#)?;
    /// let urls = StaticUrls::new(manifest);
    /// assert_eq!(urls.integrity("app.js")?, Some("sha384-abc"));
    /// # Ok::<(), axum_download::static_files::StaticFilesError>(())
    /// ```
    pub fn integrity(&self, name: &str) -> Result<Option<&str>, StaticFilesError> {
        let (path, _) = split_suffix(name);
        match self.manifest.get(path) {
            Some(entry) => Ok(entry.integrity()),
            None if self.strict => Err(StaticFilesError::unknown_name(path)),
            None => Ok(None),
        }
    }
}

/// Splits `name` before its query or fragment.
pub(crate) fn split_suffix(name: &str) -> (&str, &str) {
    name.split_at(name.find(['?', '#']).unwrap_or(name.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn urls() -> StaticUrls {
        StaticUrls::new(
            StaticManifest::from_json(
                r#"{"paths": {"f/font.eot": "f/font.0123456789ab.eot", "é.css": "é.0123456789ab.css"}, "version": "1.1", "hash": ""}"#,
            )
            .unwrap(),
        )
    }

    #[test]
    fn keeps_query_and_fragment() {
        let urls = urls();
        assert_eq!(
            urls.url("f/font.eot?#iefix").unwrap(),
            "/static/f/font.0123456789ab.eot?#iefix"
        );
        assert_eq!(
            urls.url("f/font.eot?v=1").unwrap(),
            "/static/f/font.0123456789ab.eot?v=1"
        );
    }

    #[test]
    fn encodes_non_ascii_names() {
        assert_eq!(
            urls().url("é.css").unwrap(),
            "/static/%C3%A9.0123456789ab.css"
        );
    }

    #[test]
    fn strict_refuses_unknown_names_lenient_does_not() {
        let err = urls().url("nope.css").unwrap_err();
        assert!(err.is_unknown_name());
        assert!(urls().integrity("nope.css").is_err());
        assert_eq!(
            urls().lenient().url("nope.css").unwrap(),
            "/static/nope.css"
        );
        assert_eq!(urls().lenient().integrity("nope.css").unwrap(), None);
    }
}
