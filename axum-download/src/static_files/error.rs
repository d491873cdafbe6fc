//! The one error type of the static-files module.

use std::fmt;
use std::path::{Path, PathBuf};

/// Why static files could not be collected, or a manifest read or looked up.
///
/// Its message is one line that names what to fix: the file, the line and
/// the reference for a missing file, the key for an unreadable manifest.
///
/// ```
/// use axum_download::static_files::{StaticManifest, StaticUrls};
///
/// let manifest = StaticManifest::from_json(r#"{"paths": {}, "version": "1.1"}"#).unwrap();
/// let err = StaticUrls::new(manifest).url("css/app.css").unwrap_err();
/// assert!(err.is_unknown_name());
/// assert_eq!(
///     err.to_string(),
///     "\"css/app.css\" is not in the static files manifest",
/// );
/// ```
#[derive(Debug)]
pub struct StaticFilesError {
    kind: Kind,
}

#[derive(Debug)]
pub(crate) enum Kind {
    /// A file-system operation failed on `path`.
    Io {
        path: PathBuf,
        action: &'static str,
        source: std::io::Error,
    },
    /// The manifest at `path` (or given as text) is not a manifest.
    Manifest { origin: String, reason: String },
    /// A strict lookup of a name the manifest does not list.
    UnknownName(String),
    /// A reference to a file that is not collected.
    MissingReference {
        file: PathBuf,
        line: usize,
        reference: String,
    },
    /// A configuration the collect step refuses.
    Config(String),
}

impl StaticFilesError {
    pub(crate) fn io(action: &'static str, path: &Path, source: std::io::Error) -> Self {
        Self {
            kind: Kind::Io {
                path: path.to_path_buf(),
                action,
                source,
            },
        }
    }

    pub(crate) fn manifest(origin: impl Into<String>, reason: impl fmt::Display) -> Self {
        Self {
            kind: Kind::Manifest {
                origin: origin.into(),
                reason: reason.to_string(),
            },
        }
    }

    pub(crate) fn unknown_name(name: &str) -> Self {
        Self {
            kind: Kind::UnknownName(name.to_owned()),
        }
    }

    #[cfg_attr(not(feature = "collect"), allow(dead_code))]
    pub(crate) fn missing_reference(file: &Path, line: usize, reference: &str) -> Self {
        Self {
            kind: Kind::MissingReference {
                file: file.to_path_buf(),
                line,
                reference: reference.to_owned(),
            },
        }
    }

    #[cfg_attr(not(feature = "collect"), allow(dead_code))]
    pub(crate) fn config(message: impl Into<String>) -> Self {
        Self {
            kind: Kind::Config(message.into()),
        }
    }

    /// A strict lookup of a name that the manifest does not list.
    #[must_use]
    pub fn is_unknown_name(&self) -> bool {
        matches!(self.kind, Kind::UnknownName(_))
    }

    /// A stylesheet or script refers to a file that was not collected.
    #[must_use]
    pub fn is_missing_reference(&self) -> bool {
        matches!(self.kind, Kind::MissingReference { .. })
    }
}

impl fmt::Display for StaticFilesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Io {
                path,
                action,
                source,
            } => write!(f, "{}: could not {action}: {source}", path.display()),
            Kind::Manifest { origin, reason } => write!(f, "manifest {origin}: {reason}"),
            Kind::UnknownName(name) => {
                write!(f, "{name:?} is not in the static files manifest")
            }
            Kind::MissingReference {
                file,
                line,
                reference,
            } => write!(
                f,
                "{}:{line}: reference {reference:?} names a file that was not collected",
                file.display()
            ),
            Kind::Config(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for StaticFilesError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            Kind::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}
