//! [`Storage`], the built-in [`FileSystemStorage`], and [`StorageDownload`].

use std::io;
use std::path::PathBuf;
use std::sync::Arc;

use futures_util::future::BoxFuture;

use crate::conditional::ByteRange;
use crate::error::DownloadError;
use crate::file::{ByteStream, DownloadFile, FileMeta, FileSource};
use crate::fs::{self, Confinement};
#[cfg(feature = "object-store")]
pub use crate::object_store_storage::{
    ObjectStoreStorage, DEFAULT_PRESIGN_EXPIRY, DEFAULT_STORE_TIMEOUT,
};
use crate::response::DownloadResponse;
pub use crate::url_path::encode_path;

/// Where named files live: a directory, a bucket, a database.
///
/// Implement [`metadata`](Storage::metadata) and [`open`](Storage::open) to
/// add a storage; everything else (headers, conditions, ranges, hand-off)
/// works from what they return. Errors of kind
/// [`NotFound`](io::ErrorKind::NotFound) answer 404, others 500; an error
/// wrapping a [`DownloadError`] answers its status (a remote storage's 502
/// or 504, see [`DownloadError::from_io`]).
///
/// A storage of files held in memory, served with [`StorageDownload`]:
///
/// ```
/// use std::{collections::HashMap, io, sync::Arc};
/// use axum::response::IntoResponse;
/// use axum_download::file::{ByteStream, FileMeta};
/// use axum_download::rfc9110::ByteRange;
/// use axum_download::{Storage, StorageDownload};
/// use bytes::Bytes;
/// use futures_util::future::BoxFuture;
///
/// struct MemoryStorage(HashMap<String, Bytes>);
///
/// impl Storage for MemoryStorage {
///     fn metadata<'a>(&'a self, name: &'a str) -> BoxFuture<'a, io::Result<FileMeta>> {
///         Box::pin(async move {
///             let bytes = self.0.get(name).ok_or(io::ErrorKind::NotFound)?;
///             let mut meta = FileMeta::default();
///             meta.size = Some(bytes.len() as u64);
///             Ok(meta)
///         })
///     }
///
///     fn open(&self, name: &str, range: Option<ByteRange>) -> BoxFuture<'static, io::Result<ByteStream>> {
///         let mut bytes = self.0.get(name).cloned().unwrap_or_default();
///         if let Some(range) = range {
///             bytes = bytes.slice(range.start as usize..range.end as usize);
///         }
///         let stream: ByteStream = Box::pin(futures_util::stream::iter([Ok(bytes)]));
///         Box::pin(async move { Ok(stream) })
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let files = HashMap::from([("notes/hello.txt".to_owned(), Bytes::from("hello"))]);
/// let storage: Arc<dyn Storage> = Arc::new(MemoryStorage(files));
///
/// let download = StorageDownload::new(storage.clone(), "notes/hello.txt").await.unwrap();
/// let response = download.into_response();
/// assert_eq!(response.headers()["content-length"], "5");
/// assert_eq!(response.headers()["content-disposition"], "attachment; filename=\"hello.txt\"");
///
/// let missing = StorageDownload::new(storage, "nope.txt").await.unwrap_err();
/// assert_eq!(missing.status(), http::StatusCode::NOT_FOUND);
/// # }
/// ```
pub trait Storage: Send + Sync + 'static {
    /// What the storage knows about `name`: at least its size when it can.
    ///
    /// ```
    /// use axum_download::{FileSystemStorage, Storage};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let dir = tempfile::tempdir()?;
    /// std::fs::write(dir.path().join("report.pdf"), b"%PDF-1.7")?;
    /// let meta = FileSystemStorage::new(dir.path()).metadata("report.pdf").await?;
    /// assert_eq!(meta.size, Some(8));
    /// assert_eq!(meta.name.as_deref(), Some("report.pdf"));
    /// # Ok(())
    /// # }
    /// ```
    fn metadata<'a>(&'a self, name: &'a str) -> BoxFuture<'a, io::Result<FileMeta>>;

    /// Opens the bytes of `name`, all of them or one range.
    ///
    /// ```
    /// use axum_download::rfc9110::ByteRange;
    /// use axum_download::{FileSystemStorage, Storage};
    /// use futures_util::TryStreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let dir = tempfile::tempdir()?;
    /// std::fs::write(dir.path().join("a.txt"), b"0123456789")?;
    /// let storage = FileSystemStorage::new(dir.path());
    /// let range = ByteRange { start: 2, end: 5 };
    /// let chunks: Vec<_> = storage.open("a.txt", Some(range)).await?.try_collect().await?;
    /// assert_eq!(chunks.concat(), b"234");
    /// # Ok(())
    /// # }
    /// ```
    fn open(
        &self,
        name: &str,
        range: Option<ByteRange>,
    ) -> BoxFuture<'static, io::Result<ByteStream>>;

    /// The URL of `name`, when the storage has a base URL.
    ///
    /// ```
    /// use axum_download::{FileSystemStorage, Storage};
    ///
    /// let storage = FileSystemStorage::new("/srv/media");
    /// assert_eq!(storage.url("a.txt"), None);
    /// let storage = storage.base_url("https://cdn.example.com/media");
    /// assert_eq!(storage.url("a.txt").as_deref(), Some("https://cdn.example.com/media/a.txt"));
    /// ```
    fn url(&self, name: &str) -> Option<String> {
        let _ = name;
        None
    }

    /// The local path of `name`, when the storage is on this machine.
    ///
    /// ```
    /// use std::path::Path;
    /// use axum_download::{FileSystemStorage, Storage};
    ///
    /// let storage = FileSystemStorage::new("/srv/media");
    /// assert_eq!(storage.path("docs/a.pdf").as_deref(), Some(Path::new("/srv/media/docs/a.pdf")));
    /// assert_eq!(storage.path("../etc/passwd"), None);
    /// ```
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
    ///
    /// ```
    /// use std::path::Path;
    /// use axum_download::FileSystemStorage;
    ///
    /// let storage = FileSystemStorage::new("/srv/media");
    /// assert_eq!(storage.location(), Path::new("/srv/media"));
    /// ```
    #[must_use]
    pub fn new(location: impl Into<PathBuf>) -> Self {
        Self {
            location: location.into(),
            base_url: None,
            confinement: Confinement::default(),
        }
    }

    /// The URL prefix files are published under, e.g. `/media/`.
    ///
    /// ```
    /// use axum_download::{FileSystemStorage, Storage};
    ///
    /// let storage = FileSystemStorage::new("/srv/media").base_url("/media");
    /// assert_eq!(storage.url("docs/a.pdf").as_deref(), Some("/media/docs/a.pdf"));
    /// ```
    #[must_use]
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = Some(base_url.into());
        self
    }

    /// Serves symbolic links that point outside the location (refused by default).
    ///
    /// ```
    /// use axum_download::FileSystemStorage;
    ///
    /// // /srv/media/shared is a link to /mnt/shared, which is trusted.
    /// let storage = FileSystemStorage::new("/srv/media").follow_symlinks_outside_root(true);
    /// ```
    #[must_use]
    pub fn follow_symlinks_outside_root(mut self, follow: bool) -> Self {
        self.confinement.follow_symlinks_outside = follow;
        self
    }

    /// The directory the storage serves.
    ///
    /// ```
    /// use axum_download::FileSystemStorage;
    ///
    /// let storage = FileSystemStorage::new("media");
    /// assert_eq!(storage.location().join("a.txt"), std::path::Path::new("media/a.txt"));
    /// ```
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
                fs::resolve_blocking(&location, &untrusted, confinement, fs::Prefetch::Nothing)
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
                fs::resolve_blocking(&location, &untrusted, confinement, fs::Prefetch::Nothing)
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
    /// The file `name` in `storage`; awaiting it asks the storage for the
    /// file's metadata.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use axum_download::{FileSystemStorage, StorageDownload};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let dir = tempfile::tempdir()?;
    /// std::fs::write(dir.path().join("a.txt"), "hello")?;
    /// let storage = Arc::new(FileSystemStorage::new(dir.path()));
    /// let download = StorageDownload::new(storage, "a.txt").await.unwrap();
    /// assert_eq!(download.meta().size, Some(5));
    /// # Ok(())
    /// # }
    /// ```
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
