//! The one file model every download kind produces: metadata plus a lazy
//! opener of the bytes.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::Stream;

use crate::conditional::{ByteRange, ETag, Validators};

/// A stream of file bytes.
pub type ByteStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

/// What is known about a file before its bytes are read.
///
/// Every field is optional: a storage fills what it knows, an application
/// object may add what it already has (so a remote storage needs no extra
/// round-trip), and the response is computed from whatever is present.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileMeta {
    /// The file name the client sees (`Content-Disposition`).
    pub name: Option<String>,
    /// The length in bytes, when known up front.
    pub size: Option<u64>,
    /// The last modification time.
    pub modified: Option<SystemTime>,
    /// The MIME type, e.g. `text/plain` (without parameters).
    pub content_type: Option<String>,
    /// The charset of a text file, e.g. `iso-8859-1`; `utf-8` is assumed for
    /// `text/*` types when not set.
    pub charset: Option<String>,
    /// The `Content-Encoding`, e.g. `gzip`, when the bytes are encoded.
    pub encoding: Option<String>,
    /// The entity tag, when the source has one.
    pub etag: Option<ETag>,
    /// A URL where the file can be found (storages with a base URL).
    pub url: Option<String>,
    /// The file's path on the local file system, when it has one.
    pub local_path: Option<PathBuf>,
    /// The file's path relative to its root directory or storage, `/`
    /// separated (`docs/a.pdf`): what a hand-off rule without a source
    /// appends to its destination.
    pub relative_path: Option<String>,
    /// The caching policy the source states (an upstream's
    /// `Cache-Control`): a download never answers with a weaker one.
    pub cache_control: Option<String>,
    /// A URL the reverse proxy can fetch the bytes from itself (an object
    /// store's presigned URL): what a [`remote`](crate::offload::Rule::remote) rule
    /// hands to nginx, or redirects the client to. Never sent to the
    /// client otherwise.
    pub remote_url: Option<String>,
}

impl FileMeta {
    /// Metadata with only a client file name.
    #[must_use]
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: Some(name.into()),
            ..Self::default()
        }
    }

    /// The validators the conditional engine compares.
    #[must_use]
    pub fn validators(&self) -> Validators {
        Validators {
            etag: self.etag.clone(),
            last_modified: self.modified,
        }
    }
}

/// A lazy source of a file's bytes.
///
/// Nothing is opened until [`open`](FileSource::open) is called, and the
/// response body only calls it when it is first polled: a 304, a HEAD or a
/// hand-off to the proxy never opens the file.
pub trait FileSource: Send + Sync + 'static {
    /// Opens the bytes, all of them (`None`) or one range.
    ///
    /// A range is only asked for when [`ranges`](FileSource::ranges) is
    /// true. The stream must yield exactly the bytes asked for; a stream that
    /// ends early makes the response fail rather than look complete.
    fn open(&self, range: Option<ByteRange>) -> BoxFuture<'static, io::Result<ByteStream>>;

    /// Whether [`open`](FileSource::open) accepts ranges and may be called
    /// more than once. One-shot streams answer `false`, so `Range` requests
    /// get the full 200.
    fn ranges(&self) -> bool {
        true
    }
}

/// The file of a download: metadata and the source of its bytes.
#[derive(Clone)]
pub struct DownloadFile {
    /// What is known about the file.
    pub meta: FileMeta,
    /// Where its bytes come from.
    pub source: Arc<dyn FileSource>,
}

impl DownloadFile {
    /// A file from its metadata and source.
    pub fn new(meta: FileMeta, source: impl FileSource) -> Self {
        Self {
            meta,
            source: Arc::new(source),
        }
    }
}

impl fmt::Debug for DownloadFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DownloadFile")
            .field("meta", &self.meta)
            .field("ranges", &self.source.ranges())
            .finish_non_exhaustive()
    }
}

/// Bytes held in memory: ranges are cheap slices.
pub(crate) struct MemorySource(pub(crate) Bytes);

impl FileSource for MemorySource {
    fn open(&self, range: Option<ByteRange>) -> BoxFuture<'static, io::Result<ByteStream>> {
        let bytes = match range {
            Some(r) => {
                let end = usize::try_from(r.end)
                    .unwrap_or(usize::MAX)
                    .min(self.0.len());
                let start = usize::try_from(r.start).unwrap_or(usize::MAX).min(end);
                self.0.slice(start..end)
            }
            None => self.0.clone(),
        };
        Box::pin(async move { Ok(one_chunk(bytes)) })
    }
}

/// A stream of bytes already in memory.
pub(crate) fn one_chunk(bytes: Bytes) -> ByteStream {
    Box::pin(futures_util::stream::iter([Ok(bytes)]))
}

/// A stream that can be read once, from the start: no ranges.
pub(crate) struct OnceSource(Mutex<Option<ByteStream>>);

impl OnceSource {
    pub(crate) fn new(stream: ByteStream) -> Self {
        Self(Mutex::new(Some(stream)))
    }
}

impl FileSource for OnceSource {
    fn open(&self, _range: Option<ByteRange>) -> BoxFuture<'static, io::Result<ByteStream>> {
        let taken = self.0.lock().map(|mut s| s.take()).unwrap_or(None);
        Box::pin(async move {
            taken.ok_or_else(|| io::Error::other("a one-shot download stream was opened twice"))
        })
    }

    fn ranges(&self) -> bool {
        false
    }
}
