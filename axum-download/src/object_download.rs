//! [`ObjectDownload`]: the file attached to an application object.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::conditional::ETag;
use crate::error::DownloadError;
use crate::file::{DownloadFile, FileMeta};
use crate::response::DownloadResponse;
use crate::storage::{Storage, StorageSource};

/// Where an object's file is: a name in a storage.
///
/// ```
/// use std::sync::Arc;
/// use axum_download::{FileSystemStorage, ObjectFile};
///
/// let file = ObjectFile {
///     storage: Arc::new(FileSystemStorage::new("/srv/media")),
///     name: "invoices/2024-001.pdf".to_owned(),
/// };
/// ```
#[derive(Clone)]
pub struct ObjectFile {
    /// The storage holding the file.
    pub storage: Arc<dyn Storage>,
    /// The file's name in the storage.
    pub name: String,
}

impl std::fmt::Debug for ObjectFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectFile")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// An application object with a file attached (a document, an avatar, an
/// invoice), and whatever it already knows about that file.
///
/// Everything but [`file`](Self::file) is optional. What the object knows
/// wins over what the storage says, and when the object knows the
/// [`size`](Self::size) the storage is not asked for metadata at all, so a
/// remote storage costs no extra round-trip.
///
/// ```
/// use std::sync::Arc;
/// use std::time::SystemTime;
/// use axum_download::{DownloadObject, ObjectFile, Storage};
///
/// struct Document {
///     storage: Arc<dyn Storage>,
///     file: Option<String>,
///     title: String,
///     size: u64,
/// }
///
/// impl DownloadObject for Document {
///     fn file(&self) -> Option<ObjectFile> {
///         let name = self.file.clone()?;
///         Some(ObjectFile { storage: self.storage.clone(), name })
///     }
///     fn basename(&self) -> Option<String> {
///         Some(format!("{}.pdf", self.title))
///     }
///     fn size(&self) -> Option<u64> {
///         Some(self.size)
///     }
/// }
/// ```
pub trait DownloadObject {
    /// The object's file, `None` when it has none (answers 404).
    ///
    /// ```
    /// use axum_download::{DownloadObject, ObjectDownload, ObjectFile};
    ///
    /// struct Draft;
    ///
    /// impl DownloadObject for Draft {
    ///     fn file(&self) -> Option<ObjectFile> {
    ///         None // nothing uploaded yet
    ///     }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let err = ObjectDownload::new(Some(&Draft)).await.unwrap_err();
    /// assert_eq!(err.status(), http::StatusCode::NOT_FOUND);
    /// # }
    /// ```
    fn file(&self) -> Option<ObjectFile>;

    /// The file name the client sees (upstream's `basename_field`).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use axum_download::{DownloadObject, FileSystemStorage, ObjectDownload, ObjectFile};
    /// # struct Upload;
    /// impl DownloadObject for Upload {
    /// #   fn file(&self) -> Option<ObjectFile> {
    /// #       let storage = Arc::new(FileSystemStorage::new("/srv/media"));
    /// #       Some(ObjectFile { storage, name: "uploads/7.bin".to_owned() })
    /// #   }
    ///     fn basename(&self) -> Option<String> {
    ///         Some("Quarterly report.pdf".to_owned())
    ///     }
    /// #   fn size(&self) -> Option<u64> { Some(3) }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let download = ObjectDownload::new(Some(&Upload)).await.unwrap();
    /// assert_eq!(download.meta().name.as_deref(), Some("Quarterly report.pdf"));
    /// # }
    /// ```
    fn basename(&self) -> Option<String> {
        None
    }

    /// The MIME type (upstream's `mime_type_field`).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use axum_download::{DownloadObject, FileSystemStorage, ObjectDownload, ObjectFile};
    /// # struct Upload;
    /// impl DownloadObject for Upload {
    /// #   fn file(&self) -> Option<ObjectFile> {
    /// #       let storage = Arc::new(FileSystemStorage::new("/srv/media"));
    /// #       Some(ObjectFile { storage, name: "uploads/7.bin".to_owned() })
    /// #   }
    ///     fn mime_type(&self) -> Option<String> {
    ///         Some("image/webp".to_owned())
    ///     }
    /// #   fn size(&self) -> Option<u64> { Some(3) }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let download = ObjectDownload::new(Some(&Upload)).await.unwrap();
    /// assert_eq!(download.meta().content_type.as_deref(), Some("image/webp"));
    /// # }
    /// ```
    fn mime_type(&self) -> Option<String> {
        None
    }

    /// The content encoding, e.g. `gzip` (upstream's `encoding_field`).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use axum_download::{DownloadObject, FileSystemStorage, ObjectDownload, ObjectFile};
    /// # struct Upload;
    /// impl DownloadObject for Upload {
    /// #   fn file(&self) -> Option<ObjectFile> {
    /// #       let storage = Arc::new(FileSystemStorage::new("/srv/media"));
    /// #       Some(ObjectFile { storage, name: "uploads/7.bin".to_owned() })
    /// #   }
    ///     fn encoding(&self) -> Option<String> {
    ///         Some("gzip".to_owned())
    ///     }
    /// #   fn size(&self) -> Option<u64> { Some(3) }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let download = ObjectDownload::new(Some(&Upload)).await.unwrap();
    /// assert_eq!(download.meta().encoding.as_deref(), Some("gzip"));
    /// # }
    /// ```
    fn encoding(&self) -> Option<String> {
        None
    }

    /// The charset of a text file (upstream's `charset_field`).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use axum_download::{DownloadObject, FileSystemStorage, ObjectDownload, ObjectFile};
    /// # struct Upload;
    /// impl DownloadObject for Upload {
    /// #   fn file(&self) -> Option<ObjectFile> {
    /// #       let storage = Arc::new(FileSystemStorage::new("/srv/media"));
    /// #       Some(ObjectFile { storage, name: "uploads/7.bin".to_owned() })
    /// #   }
    ///     fn charset(&self) -> Option<String> {
    ///         Some("iso-8859-1".to_owned())
    ///     }
    /// #   fn size(&self) -> Option<u64> { Some(3) }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let download = ObjectDownload::new(Some(&Upload)).await.unwrap();
    /// assert_eq!(download.meta().charset.as_deref(), Some("iso-8859-1"));
    /// # }
    /// ```
    fn charset(&self) -> Option<String> {
        None
    }

    /// The modification time (upstream's `modification_time_field`).
    /// With [`size`](Self::size) it also gives the file a strong `ETag`.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use axum_download::{DownloadObject, FileSystemStorage, ObjectDownload, ObjectFile};
    /// # struct Upload;
    /// impl DownloadObject for Upload {
    /// #   fn file(&self) -> Option<ObjectFile> {
    /// #       let storage = Arc::new(FileSystemStorage::new("/srv/media"));
    /// #       Some(ObjectFile { storage, name: "uploads/7.bin".to_owned() })
    /// #   }
    ///     fn modified(&self) -> Option<std::time::SystemTime> {
    ///         Some(std::time::UNIX_EPOCH)
    ///     }
    /// #   fn size(&self) -> Option<u64> { Some(3) }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let download = ObjectDownload::new(Some(&Upload)).await.unwrap();
    /// assert_eq!(download.meta().modified, Some(std::time::UNIX_EPOCH));
    /// assert!(download.meta().etag.is_some());
    /// # }
    /// ```
    fn modified(&self) -> Option<SystemTime> {
        None
    }

    /// The size in bytes (upstream's `size_field`). When it is known the
    /// storage is not asked for metadata (below, `/srv/media` need not
    /// exist).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use axum_download::{DownloadObject, FileSystemStorage, ObjectDownload, ObjectFile};
    /// # struct Upload;
    /// impl DownloadObject for Upload {
    /// #   fn file(&self) -> Option<ObjectFile> {
    /// #       let storage = Arc::new(FileSystemStorage::new("/srv/media"));
    /// #       Some(ObjectFile { storage, name: "uploads/7.bin".to_owned() })
    /// #   }
    ///     fn size(&self) -> Option<u64> {
    ///         Some(1_000_000)
    ///     }
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let download = ObjectDownload::new(Some(&Upload)).await.unwrap();
    /// assert_eq!(download.meta().size, Some(1_000_000));
    /// # }
    /// ```
    fn size(&self) -> Option<u64> {
        None
    }
}

/// A download of the file attached to a [`DownloadObject`].
///
/// No object, or an object without a file, answers 404.
///
/// ```
/// use axum_download::{DownloadError, DownloadObject, DownloadResponse, ObjectDownload};
///
/// async fn download<T: DownloadObject>(found: Option<T>) -> Result<DownloadResponse, DownloadError> {
///     ObjectDownload::new(found.as_ref()).await
/// }
/// ```
#[must_use]
#[derive(Debug)]
pub struct ObjectDownload {
    file: Option<ObjectFile>,
    known: FileMeta,
}

impl ObjectDownload {
    /// The download of `object`'s file; `None` answers 404.
    ///
    /// ```
    /// use axum_download::{DownloadObject, ObjectDownload, ObjectFile};
    /// # struct Document;
    /// # impl DownloadObject for Document {
    /// #     fn file(&self) -> Option<ObjectFile> { None }
    /// # }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let found: Option<Document> = None; // e.g. a database lookup
    /// let err = ObjectDownload::new(found.as_ref()).await.unwrap_err();
    /// assert_eq!(err.status(), http::StatusCode::NOT_FOUND);
    /// # }
    /// ```
    pub fn new<T: DownloadObject + ?Sized>(object: Option<&T>) -> Self {
        let Some(object) = object else {
            return Self {
                file: None,
                known: FileMeta::default(),
            };
        };
        let known = FileMeta {
            name: object.basename(),
            content_type: object.mime_type(),
            encoding: object.encoding(),
            charset: object.charset(),
            modified: object.modified(),
            size: object.size(),
            ..FileMeta::default()
        };
        Self {
            file: object.file(),
            known,
        }
    }

    async fn resolve(self) -> Result<DownloadResponse, DownloadError> {
        let file = self
            .file
            .ok_or_else(|| DownloadError::not_found("no object, or an object without a file"))?;
        let known = self.known;
        let meta = if let Some(size) = known.size {
            // The object knows enough: no round-trip to the storage.
            let mut meta = known;
            if let Some(modified) = meta.modified {
                let nanos = modified
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos());
                meta.etag = Some(ETag::strong(format!("{size:x}-{nanos:x}")));
            }
            meta.url = file.storage.url(&file.name);
            meta.local_path = file.storage.path(&file.name);
            meta.relative_path = Some(file.name.clone());
            meta
        } else {
            let stored = file
                .storage
                .metadata(&file.name)
                .await
                .map_err(|err| DownloadError::from_io(&err))?;
            overlay(known, stored)
        };
        let mut meta = meta;
        if meta.name.is_none() {
            meta.name = crate::content_disposition::basename(&file.name).map(str::to_owned);
        }
        if meta.relative_path.is_none() {
            meta.relative_path = Some(file.name.clone());
        }
        let source = StorageSource {
            storage: file.storage,
            name: file.name,
        };
        Ok(DownloadResponse::new(DownloadFile::new(meta, source)))
    }
}

/// The object's fields over the storage's.
fn overlay(known: FileMeta, stored: FileMeta) -> FileMeta {
    FileMeta {
        name: known.name.or(stored.name),
        size: stored.size,
        modified: known.modified.or(stored.modified),
        content_type: known.content_type.or(stored.content_type),
        charset: known.charset.or(stored.charset),
        encoding: known.encoding.or(stored.encoding),
        // The storage's tag identifies the bytes, whatever the object says.
        etag: stored.etag.or(known.etag),
        url: stored.url,
        local_path: stored.local_path,
        relative_path: stored.relative_path,
        cache_control: known.cache_control.or(stored.cache_control),
        remote_url: stored.remote_url,
    }
}

resolve_on_await!(ObjectDownload);
