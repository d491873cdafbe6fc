//! [`PathDownload`]: a file on the local file system.

use std::path::PathBuf;

use crate::conditional::Conditions;
use crate::error::DownloadError;
use crate::file::{DownloadFile, MemorySource};
use crate::fs::{self, Confinement, LocalFile};
use crate::open_file_cache::{Lookup, OpenFileCache};
use crate::response::DownloadResponse;

/// A download of a local file.
///
/// [`from_root`](Self::from_root) joins an untrusted relative path (from the
/// URL) onto a root directory and answers `404 Not Found`, without touching
/// the file, for every path that could leave the root:
///
/// - a `..` segment (also when it came percent-encoded, `%2e%2e`, since the
///   router decodes before the handler sees it);
/// - an absolute path (`/etc/passwd`);
/// - a backslash (`..\secret`), a NUL byte;
/// - a Windows drive letter (`C:`) or device name (`CON`, `nul.txt`);
/// - a symbolic link that resolves outside the root, unless
///   [`follow_symlinks_outside_root`](Self::follow_symlinks_outside_root)
///   allows it.
///
/// A missing file, a directory, or anything that is not a regular file also
/// answers 404. The check is repeated on the opened file itself (on Linux,
/// by the open descriptor's real path), so a file or directory swapped for
/// an escaping symbolic link between the check and the open fails the
/// transfer instead of serving what the link points at. [`from_trusted_path`](Self::from_trusted_path) takes a path
/// the application built itself.
///
/// Awaiting the builder reads the metadata (on the blocking pool); the
/// bytes are only opened when the response body is sent.
///
/// ```
/// use axum::extract::Path;
/// use axum_download::{DownloadError, DownloadResponse, PathDownload};
///
/// async fn download(Path(name): Path<String>) -> Result<DownloadResponse, DownloadError> {
///     PathDownload::from_root("/srv/media", &name).await
/// }
/// ```
#[must_use]
#[derive(Debug, Clone)]
pub struct PathDownload {
    target: Target,
    confinement: Confinement,
    read_early: bool,
    cache: Option<OpenFileCache>,
}

#[derive(Debug, Clone)]
enum Target {
    Confined { root: PathBuf, untrusted: String },
    Trusted(PathBuf),
}

impl PathDownload {
    /// The file at `untrusted` (a relative path, typically from the URL)
    /// under `root`, refused with 404 if it would leave `root`.
    ///
    /// ```
    /// use axum_download::PathDownload;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let root = tempfile::tempdir()?;
    /// std::fs::write(root.path().join("a.txt"), "hello")?;
    /// let download = PathDownload::from_root(root.path(), "a.txt").await.unwrap();
    /// assert_eq!(download.meta().size, Some(5));
    ///
    /// let escape = PathDownload::from_root(root.path().join("sub"), "../a.txt").await.unwrap_err();
    /// assert_eq!(escape.status(), http::StatusCode::NOT_FOUND);
    /// # Ok(())
    /// # }
    /// ```
    pub fn from_root(root: impl Into<PathBuf>, untrusted: impl Into<String>) -> Self {
        Self {
            target: Target::Confined {
                root: root.into(),
                untrusted: untrusted.into(),
            },
            confinement: Confinement::default(),
            read_early: false,
            cache: None,
        }
    }

    /// The file at `path`, which the application built and trusts. It must be
    /// absolute and free of `..` segments, or the answer is 404.
    ///
    /// ```
    /// use axum_download::{DownloadError, DownloadResponse, PathDownload};
    ///
    /// async fn todays_report() -> Result<DownloadResponse, DownloadError> {
    ///     let day = "2024-05-01"; // computed by the application, not from the request
    ///     PathDownload::from_trusted_path(format!("/var/reports/{day}.csv")).await
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let relative = PathDownload::from_trusted_path("reports/a.csv").await.unwrap_err();
    /// assert_eq!(relative.status(), http::StatusCode::NOT_FOUND);
    /// # }
    /// ```
    pub fn from_trusted_path(path: impl Into<PathBuf>) -> Self {
        Self {
            target: Target::Trusted(path.into()),
            confinement: Confinement::default(),
            read_early: false,
            cache: None,
        }
    }

    /// Serves symbolic links under the root that point outside it (refused
    /// by default).
    ///
    /// ```
    /// use axum_download::{DownloadError, DownloadResponse, PathDownload};
    ///
    /// // /srv/media/shared links to /mnt/shared, which the application trusts.
    /// async fn download(name: String) -> Result<DownloadResponse, DownloadError> {
    ///     PathDownload::from_root("/srv/media", name)
    ///         .follow_symlinks_outside_root(true)
    ///         .await
    /// }
    /// ```
    pub fn follow_symlinks_outside_root(mut self, follow: bool) -> Self {
        self.confinement.follow_symlinks_outside = follow;
        self
    }

    /// Tells the download what the request asks for. For a plain `GET` (no
    /// conditional or range header) a file of up to 64 KiB is read together
    /// with its metadata: one trip to the blocking pool instead of two, and
    /// the head and body leave in one write. A `HEAD`, a conditional or a
    /// range request never reads the file early.
    ///
    /// ```
    /// use axum_download::{Conditions, DownloadError, DownloadName, DownloadResponse, PathDownload};
    ///
    /// async fn download(
    ///     conditions: Conditions,
    ///     DownloadName(name): DownloadName,
    /// ) -> Result<DownloadResponse, DownloadError> {
    ///     PathDownload::from_root("/srv/media", name).for_request(&conditions).await
    /// }
    /// ```
    pub fn for_request(mut self, conditions: &Conditions) -> Self {
        self.read_early = conditions.method() == http::Method::GET && conditions.is_unconditional();
        self
    }

    /// Answers from `cache` when it remembers this file, and lets it
    /// remember the file otherwise: see [`OpenFileCache`] for what may be
    /// stale, and for how long.
    ///
    /// ```
    /// use axum_download::{Conditions, DownloadError, DownloadName, DownloadResponse};
    /// use axum_download::{OpenFileCache, PathDownload};
    ///
    /// async fn download(
    ///     files: OpenFileCache,
    ///     conditions: Conditions,
    ///     name: String,
    /// ) -> Result<DownloadResponse, DownloadError> {
    ///     PathDownload::from_root("/srv/media", name)
    ///         .for_request(&conditions)
    ///         .cached(&files)
    ///         .await
    /// }
    /// ```
    pub fn cached(mut self, cache: &OpenFileCache) -> Self {
        self.cache = cache.is_on().then(|| cache.clone());
        self
    }

    async fn resolve(self) -> Result<DownloadResponse, DownloadError> {
        let confinement = self.confinement;
        if let Some(cache) = &self.cache {
            if let Some(entry) = cache.get(&self.target.lookup(confinement)) {
                let source = MemorySource(entry.bytes.clone());
                let file = DownloadFile::new(entry.meta.clone(), source);
                return Ok(DownloadResponse::new(file).sharing(entry.representation.clone()));
            }
        }
        // With a cache, small files are always read whole: to be kept.
        let prefetch = if self.read_early {
            fs::Prefetch::Start
        } else if self.cache.is_some() {
            fs::Prefetch::Small
        } else {
            fs::Prefetch::Nothing
        };
        let (cache, target) = (self.cache, self.target);
        let (meta, source) = fs::spawn_blocking(move || {
            let (meta, source, read) = match &target {
                Target::Confined { root, untrusted } => {
                    let resolved = fs::resolve_blocking(root, untrusted, confinement, prefetch)?;
                    let read = resolved.prefetched.clone();
                    (resolved.meta(), resolved.source(), read)
                }
                Target::Trusted(path) => {
                    if !fs::is_plain_absolute(path) {
                        return Err(std::io::Error::new(
                            std::io::ErrorKind::NotFound,
                            format!("trusted path {} is not absolute", path.display()),
                        ));
                    }
                    let (file, metadata) = fs::open_regular(path)?;
                    let meta = fs::local_meta(path, &metadata);
                    let read = fs::prefetch_start(prefetch, &metadata, &file)?;
                    let source = LocalFile::with_start(file, metadata.len(), read.clone());
                    (meta, source, read)
                }
            };
            if let (Some(cache), Some(bytes)) = (&cache, &read) {
                cache.keep(&target.lookup(confinement), &meta, bytes);
            }
            Ok((meta, source))
        })
        .await
        .map_err(|err| DownloadError::from_io(&err))?;
        Ok(DownloadResponse::new(DownloadFile::new(meta, source)))
    }
}

impl Target {
    /// The cache key of this file.
    fn lookup(&self, confinement: Confinement) -> Lookup<'_> {
        let (root, name) = match self {
            Target::Confined { root, untrusted } => (root.as_path(), untrusted.as_str()),
            Target::Trusted(path) => (path.as_path(), ""),
        };
        Lookup {
            root,
            name,
            follow_symlinks_outside: confinement.follow_symlinks_outside,
        }
    }
}

resolve_on_await!(PathDownload);
