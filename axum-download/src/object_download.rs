//! [`ObjectDownload`]: the file attached to an application object.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::conditional::ETag;
use crate::error::DownloadError;
use crate::file::{DownloadFile, FileMeta};
use crate::response::DownloadResponse;
use crate::storage::{Storage, StorageSource};

/// Where an object's file is: a name in a storage.
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
    fn file(&self) -> Option<ObjectFile>;

    /// The file name the client sees (upstream's `basename_field`).
    fn basename(&self) -> Option<String> {
        None
    }

    /// The MIME type (upstream's `mime_type_field`).
    fn mime_type(&self) -> Option<String> {
        None
    }

    /// The content encoding, e.g. `gzip` (upstream's `encoding_field`).
    fn encoding(&self) -> Option<String> {
        None
    }

    /// The charset of a text file (upstream's `charset_field`).
    fn charset(&self) -> Option<String> {
        None
    }

    /// The modification time (upstream's `modification_time_field`).
    fn modified(&self) -> Option<SystemTime> {
        None
    }

    /// The size in bytes (upstream's `size_field`).
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
