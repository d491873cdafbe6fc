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
///
/// ```
/// use axum_download::file::ByteStream;
/// use bytes::Bytes;
///
/// let chunks = [Ok(Bytes::from("hello, ")), Ok(Bytes::from("world"))];
/// let stream: ByteStream = Box::pin(futures_util::stream::iter(chunks));
/// ```
pub type ByteStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

/// What is known about a file before its bytes are read.
///
/// Every field is optional: a storage fills what it knows, an application
/// object may add what it already has (so a remote storage needs no extra
/// round-trip), and the response is computed from whatever is present.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use axum_download::file::FileMeta;
/// use axum_download::rfc9110::ETag;
///
/// let mut meta = FileMeta::named("report.csv");
/// meta.size = Some(1024);
/// meta.content_type = Some("text/csv".to_owned());
/// meta.modified = Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000));
/// meta.etag = Some(ETag::strong("report-v3"));
/// ```
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
    ///
    /// ```
    /// use axum_download::file::FileMeta;
    ///
    /// let meta = FileMeta::named("a.txt");
    /// assert_eq!(meta.name.as_deref(), Some("a.txt"));
    /// assert_eq!(meta.size, None);
    /// ```
    #[must_use]
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: Some(name.into()),
            ..Self::default()
        }
    }

    /// The validators the conditional engine compares.
    ///
    /// ```
    /// use axum_download::file::FileMeta;
    /// use axum_download::rfc9110::ETag;
    ///
    /// let mut meta = FileMeta::named("a.txt");
    /// meta.etag = Some(ETag::weak("v1"));
    /// let validators = meta.validators();
    /// assert_eq!(validators.etag, Some(ETag::weak("v1")));
    /// assert_eq!(validators.last_modified, None);
    /// ```
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
///
/// A source whose bytes are a repeated pattern, computed for each request:
///
/// ```
/// use std::io;
/// use axum::response::IntoResponse;
/// use axum_download::file::{ByteStream, DownloadFile, FileMeta, FileSource};
/// use axum_download::rfc9110::ByteRange;
/// use axum_download::DownloadResponse;
/// use bytes::Bytes;
/// use futures_util::future::BoxFuture;
///
/// struct Zeros(u64);
///
/// impl FileSource for Zeros {
///     fn open(&self, range: Option<ByteRange>) -> BoxFuture<'static, io::Result<ByteStream>> {
///         let range = range.unwrap_or(ByteRange { start: 0, end: self.0 });
///         let bytes = Bytes::from(vec![0u8; range.len() as usize]);
///         let stream: ByteStream = Box::pin(futures_util::stream::iter([Ok(bytes)]));
///         Box::pin(async move { Ok(stream) })
///     }
/// }
///
/// let mut meta = FileMeta::named("zeros.bin");
/// meta.size = Some(4096);
/// let response = DownloadResponse::new(DownloadFile::new(meta, Zeros(4096))).into_response();
/// assert_eq!(response.headers()["accept-ranges"], "bytes");
/// ```
pub trait FileSource: Send + Sync + 'static {
    /// Opens the bytes, all of them (`None`) or one range.
    ///
    /// A range is only asked for when [`ranges`](FileSource::ranges) is
    /// true. The stream must yield exactly the bytes asked for; a stream that
    /// ends early makes the response fail rather than look complete.
    ///
    /// ```
    /// use axum_download::rfc9110::ByteRange;
    /// use axum_download::VirtualDownload;
    /// use futures_util::TryStreamExt;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let download = VirtualDownload::bytes("a.bin", &b"0123456789"[..]);
    /// let stream = download.file().source.open(Some(ByteRange { start: 7, end: 10 })).await?;
    /// let chunks: Vec<_> = stream.try_collect().await?;
    /// assert_eq!(chunks.concat(), b"789");
    /// # Ok(())
    /// # }
    /// ```
    fn open(&self, range: Option<ByteRange>) -> BoxFuture<'static, io::Result<ByteStream>>;

    /// Whether [`open`](FileSource::open) accepts ranges and may be called
    /// more than once. One-shot streams answer `false`, so `Range` requests
    /// get the full 200.
    ///
    /// ```
    /// use axum_download::VirtualDownload;
    ///
    /// assert!(VirtualDownload::text("a.txt", "abc").file().source.ranges());
    /// let stream = futures_util::stream::iter([Ok::<_, std::io::Error>("abc")]);
    /// assert!(!VirtualDownload::stream("a.txt", stream).file().source.ranges());
    /// ```
    fn ranges(&self) -> bool {
        true
    }
}

/// The file of a download: metadata and the source of its bytes.
///
/// ```
/// use axum_download::file::DownloadFile;
/// use axum_download::VirtualDownload;
///
/// let download = VirtualDownload::text("a.txt", "hello");
/// let file: &DownloadFile = download.file();
/// assert_eq!(file.meta.size, Some(5));
/// assert!(file.source.ranges());
/// ```
#[derive(Clone)]
pub struct DownloadFile {
    /// What is known about the file.
    pub meta: FileMeta,
    /// Where its bytes come from.
    pub source: Arc<dyn FileSource>,
}

impl DownloadFile {
    /// A file from its metadata and source.
    ///
    /// ```
    /// # use std::io;
    /// # use axum_download::rfc9110::ByteRange;
    /// # use futures_util::future::BoxFuture;
    /// use axum_download::file::{ByteStream, DownloadFile, FileMeta, FileSource};
    /// use axum_download::DownloadResponse;
    ///
    /// struct Empty;
    /// impl FileSource for Empty {
    ///     // ...
    /// #   fn open(&self, _: Option<ByteRange>) -> BoxFuture<'static, io::Result<ByteStream>> {
    /// #       Box::pin(async { Ok(Box::pin(futures_util::stream::empty()) as ByteStream) })
    /// #   }
    /// }
    ///
    /// let mut meta = FileMeta::named("empty.txt");
    /// meta.size = Some(0);
    /// let download = DownloadResponse::new(DownloadFile::new(meta, Empty));
    /// ```
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
