//! [`Storage`], the built-in [`FileSystemStorage`], and [`StorageDownload`].

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use futures_util::future::BoxFuture;

use crate::conditional::ByteRange;
use crate::error::DownloadError;
use crate::file::{ByteStream, DownloadFile, FileMeta, FileSource};
use crate::fs::{self, Confinement};
use crate::response::DownloadResponse;
pub use crate::url_path::encode_path;

/// Where named files live: a directory, a bucket, a database.
///
/// Implement [`metadata`](Storage::metadata) and [`open`](Storage::open) to
/// add a storage; everything else (headers, conditions, ranges, hand-off)
/// works from what they return. Errors of kind
/// [`NotFound`](io::ErrorKind::NotFound) answer 404, others 500.
pub trait Storage: Send + Sync + 'static {
    /// What the storage knows about `name`: at least its size when it can.
    fn metadata<'a>(&'a self, name: &'a str) -> BoxFuture<'a, io::Result<FileMeta>>;

    /// Opens the bytes of `name`, all of them or one range.
    fn open(
        &self,
        name: &str,
        range: Option<ByteRange>,
    ) -> BoxFuture<'static, io::Result<ByteStream>>;

    /// The URL of `name`, when the storage has a base URL.
    fn url(&self, name: &str) -> Option<String> {
        let _ = name;
        None
    }

    /// The local path of `name`, when the storage is on this machine.
    fn path(&self, name: &str) -> Option<PathBuf> {
        let _ = name;
        None
    }
}

/// A directory on the local file system, with an optional base URL.
///
/// Names are relative paths below the location, confined to it exactly as
/// [`PathDownload::from_root`](crate::PathDownload::from_root) confines them.
///
/// ```
/// use std::sync::Arc;
/// use axum_download::{FileSystemStorage, Storage};
///
/// let storage = FileSystemStorage::new("/srv/media").base_url("/media/");
/// assert_eq!(storage.url("a b/é.txt").as_deref(), Some("/media/a%20b/%C3%A9.txt"));
/// let shared: Arc<dyn Storage> = Arc::new(storage);
/// ```
#[derive(Debug, Clone)]
pub struct FileSystemStorage {
    location: PathBuf,
    base_url: Option<String>,
    confinement: Confinement,
}

impl FileSystemStorage {
    /// A storage rooted at `location`.
    #[must_use]
    pub fn new(location: impl Into<PathBuf>) -> Self {
        Self {
            location: location.into(),
            base_url: None,
            confinement: Confinement::default(),
        }
    }

    /// The URL prefix files are published under, e.g. `/media/`.
    #[must_use]
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = Some(base_url.into());
        self
    }

    /// Serves symbolic links that point outside the location (refused by default).
    #[must_use]
    pub fn follow_symlinks_outside_root(mut self, follow: bool) -> Self {
        self.confinement.follow_symlinks_outside = follow;
        self
    }

    /// The directory the storage serves.
    #[must_use]
    pub fn location(&self) -> &std::path::Path {
        &self.location
    }
}

impl Storage for FileSystemStorage {
    fn metadata<'a>(&'a self, name: &'a str) -> BoxFuture<'a, io::Result<FileMeta>> {
        let location = self.location.clone();
        let untrusted = name.to_owned();
        let confinement = self.confinement;
        Box::pin(async move {
            let resolved = fs::spawn_blocking(move || {
                fs::resolve_blocking(&location, &untrusted, confinement, false)
            })
            .await?;
            let mut meta = resolved.meta();
            meta.url = self.url(&resolved.relative);
            Ok(meta)
        })
    }

    fn open(
        &self,
        name: &str,
        range: Option<ByteRange>,
    ) -> BoxFuture<'static, io::Result<ByteStream>> {
        let location = self.location.clone();
        let untrusted = name.to_owned();
        let confinement = self.confinement;
        Box::pin(async move {
            let resolved = fs::spawn_blocking(move || {
                fs::resolve_blocking(&location, &untrusted, confinement, false)
            })
            .await?;
            resolved.source().open(range).await
        })
    }

    fn url(&self, name: &str) -> Option<String> {
        let base = self.base_url.as_deref()?;
        let separator = if base.ends_with('/') { "" } else { "/" };
        Some(format!("{base}{separator}{}", encode_path(name)))
    }

    fn path(&self, name: &str) -> Option<PathBuf> {
        let segments = fs::check_relative(name).ok()?;
        let mut path = self.location.clone();
        path.extend(segments);
        Some(path)
    }
}

/// The bytes of a named file in a storage.
pub(crate) struct StorageSource {
    pub(crate) storage: Arc<dyn Storage>,
    pub(crate) name: String,
}

impl FileSource for StorageSource {
    fn open(&self, range: Option<ByteRange>) -> BoxFuture<'static, io::Result<ByteStream>> {
        self.storage.open(&self.name, range)
    }
}

/// A download of a named file in a [`Storage`].
///
/// A name the storage does not have answers 404; other storage errors
/// answer 500 without exposing paths.
///
/// ```
/// use std::sync::Arc;
/// use axum::extract::{Path, State};
/// use axum_download::{DownloadError, DownloadResponse, Storage, StorageDownload};
///
/// async fn download(
///     State(storage): State<Arc<dyn Storage>>,
///     Path(name): Path<String>,
/// ) -> Result<DownloadResponse, DownloadError> {
///     StorageDownload::new(storage, name).await
/// }
/// ```
#[must_use]
pub struct StorageDownload {
    storage: Arc<dyn Storage>,
    name: String,
}

impl std::fmt::Debug for StorageDownload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorageDownload")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl StorageDownload {
    /// The file `name` in `storage`.
    pub fn new(storage: Arc<dyn Storage>, name: impl Into<String>) -> Self {
        Self {
            storage,
            name: name.into(),
        }
    }

    async fn resolve(self) -> Result<DownloadResponse, DownloadError> {
        let mut meta = self
            .storage
            .metadata(&self.name)
            .await
            .map_err(|err| DownloadError::from_io(&err))?;
        if meta.name.is_none() {
            meta.name = crate::content_disposition::basename(&self.name).map(str::to_owned);
        }
        if meta.relative_path.is_none() {
            meta.relative_path = Some(self.name.clone());
        }
        let source = StorageSource {
            storage: self.storage,
            name: self.name,
        };
        Ok(DownloadResponse::new(DownloadFile::new(meta, source)))
    }
}

resolve_on_await!(StorageDownload);
