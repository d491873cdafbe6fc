//! [`ObjectStoreStorage`]: the files of an object store (S3 and every
//! S3-compatible server, Google Cloud Storage, Azure Blob Storage, ...)
//! through the `object_store` crate, behind this crate's [`Storage`].

use std::fmt;
use std::io;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use object_store::path::{Path, PathPart};
use object_store::signer::Signer;
use object_store::{Attribute, GetOptions, GetRange, ObjectStore};

use crate::conditional::{ByteRange, ETag};
use crate::error::{with_causes, DownloadError};
use crate::file::{ByteStream, FileMeta};
use crate::storage::{encode_path, Storage};

/// How long to wait for the store's answer, and then for each chunk of an
/// object's bytes, unless [`ObjectStoreStorage::timeout`] says otherwise.
///
/// ```
/// use std::time::Duration;
/// use axum_download::storage::DEFAULT_STORE_TIMEOUT;
///
/// assert_eq!(DEFAULT_STORE_TIMEOUT, Duration::from_secs(30));
/// ```
pub const DEFAULT_STORE_TIMEOUT: Duration = Duration::from_secs(30);

/// How long a presigned URL stays valid, unless
/// [`ObjectStoreStorage::presign`] says otherwise: the proxy uses it at
/// once, so it only needs to outlive the hand-off.
///
/// ```
/// use std::time::Duration;
/// use axum_download::storage::DEFAULT_PRESIGN_EXPIRY;
///
/// assert_eq!(DEFAULT_PRESIGN_EXPIRY, Duration::from_secs(300));
/// ```
pub const DEFAULT_PRESIGN_EXPIRY: Duration = Duration::from_secs(300);

/// The objects of an [`ObjectStore`], as a [`Storage`].
///
/// A name is an object key (`reports/2024.pdf`), untrusted: a name with a
/// `..` segment, a leading `/`, a `\`, a control character, a drive letter
/// or a percent-encoded separator or dot segment (`%2F`, `%5C`, `%2e%2e`)
/// answers 404 without asking the store. Empty and `.` segments are
/// dropped (`a//./b` is `a/b`).
///
/// - [`metadata`](Storage::metadata) is one `HEAD` request: length,
///   `ETag`, `Last-Modified`, and `Content-Type` and `Content-Encoding`
///   when the object has them. The object's own `Cache-Control` (usually
///   meant for a CDN serving it publicly) is not used: the application's
///   policy applies.
/// - [`open`](Storage::open) is one `GET`, of the whole object or of one
///   plain byte range; the crate's own engine decides conditions,
///   `If-Range` and multipart ranges (each part is its own ranged `GET`).
///   Bytes are streamed as the store sends them, never buffered.
/// - A missing object answers 404; a store that fails or cannot be reached
///   502; a store that does not answer within the [`timeout`](Self::timeout)
///   504. The timeout also applies to each chunk of the body, never to the
///   whole download, so a large object is never cut off while it flows.
///
/// The store's own HTTP client has a total request timeout (`object_store`'s
/// `ClientOptions::with_timeout`, 30 seconds by default) that would cut a
/// long download: build the store with `with_timeout_disabled()` and let
/// this storage's per-chunk timeout guard it.
///
/// With a [`Signer`] ([`presign`](Self::presign)), every file also gets a
/// presigned `GET` URL ([`FileMeta::remote_url`]), so a
/// [`remote`](crate::offload::Rule::remote) rule can hand the download off to nginx,
/// which fetches the object itself, or redirect the client to the store.
///
/// ```no_run
/// use std::sync::Arc;
/// use axum::extract::State;
/// use axum_download::{DownloadError, DownloadName, DownloadResponse, ObjectStoreStorage, Storage, StorageDownload};
/// use object_store::memory::InMemory;
///
/// async fn download(
///     State(storage): State<Arc<dyn Storage>>,
///     DownloadName(key): DownloadName,
/// ) -> Result<DownloadResponse, DownloadError> {
///     StorageDownload::new(storage, key).await
/// }
///
/// // Any `ObjectStore`: `AmazonS3Builder::from_env()...build()` for S3.
/// let storage: Arc<dyn Storage> = Arc::new(ObjectStoreStorage::new(Arc::new(InMemory::new())));
/// ```
#[derive(Clone)]
pub struct ObjectStoreStorage {
    store: Arc<dyn ObjectStore>,
    base_url: Option<String>,
    signer: Option<(Arc<dyn Signer>, Duration)>,
    timeout: Duration,
}

impl fmt::Debug for ObjectStoreStorage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectStoreStorage")
            .field("store", &format_args!("{}", self.store))
            .field("base_url", &self.base_url)
            .field("presign", &self.signer.as_ref().map(|(_, expiry)| expiry))
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl ObjectStoreStorage {
    /// A storage serving the objects of `store`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use axum_download::{ObjectStoreStorage, StorageDownload};
    /// use object_store::{memory::InMemory, path::Path, ObjectStoreExt};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let store = Arc::new(InMemory::new());
    /// store.put(&Path::from("reports/2024.csv"), "a;b\n".into()).await.unwrap();
    ///
    /// let storage = Arc::new(ObjectStoreStorage::new(store));
    /// let download = StorageDownload::new(storage, "reports/2024.csv").await.unwrap();
    /// assert_eq!(download.meta().size, Some(4));
    /// assert_eq!(download.meta().name.as_deref(), Some("2024.csv"));
    /// # }
    /// ```
    #[must_use]
    pub fn new(store: Arc<dyn ObjectStore>) -> Self {
        Self {
            store,
            base_url: None,
            signer: None,
            timeout: DEFAULT_STORE_TIMEOUT,
        }
    }

    /// The URL prefix files are published under in the application, e.g.
    /// `/s3/`: what rules with a `source_url` match.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use axum_download::{ObjectStoreStorage, Storage};
    /// use object_store::memory::InMemory;
    ///
    /// let storage = ObjectStoreStorage::new(Arc::new(InMemory::new())).base_url("/s3/");
    /// assert_eq!(storage.url("reports/2024 Q1.pdf").as_deref(), Some("/s3/reports/2024%20Q1.pdf"));
    /// ```
    #[must_use]
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.base_url = Some(base_url.into());
        self
    }

    /// Gives every file a presigned `GET` URL valid for `expires_in`
    /// ([`FileMeta::remote_url`]), for the [`remote`](crate::offload::Rule::remote)
    /// hand-off and the redirect backend. Object stores that can sign
    /// (`AmazonS3`, `GoogleCloudStorage`, `MicrosoftAzure`) implement
    /// [`Signer`]: pass the same store twice.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use axum_download::ObjectStoreStorage;
    /// use object_store::{signer::Signer, ObjectStore};
    ///
    /// // `S` is e.g. `object_store::aws::AmazonS3`.
    /// fn storage<S: ObjectStore + Signer>(store: Arc<S>) -> ObjectStoreStorage {
    ///     ObjectStoreStorage::new(store.clone()).presign(store, Duration::from_secs(60))
    /// }
    /// ```
    #[must_use]
    pub fn presign(mut self, signer: Arc<dyn Signer>, expires_in: Duration) -> Self {
        self.signer = Some((signer, expires_in));
        self
    }

    /// How long to wait for the store's answer, and then for each chunk of
    /// the body (default [`DEFAULT_STORE_TIMEOUT`]).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use axum_download::ObjectStoreStorage;
    /// use object_store::memory::InMemory;
    ///
    /// // A store in the same data centre answers fast, or not at all.
    /// let storage = ObjectStoreStorage::new(Arc::new(InMemory::new())).timeout(Duration::from_secs(5));
    /// ```
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    async fn head(&self, untrusted: &str) -> io::Result<FileMeta> {
        let (key, path) = object_path(untrusted)?;
        let options = GetOptions {
            head: true,
            ..GetOptions::default()
        };
        let answer = within(self.timeout, &key, self.store.get_opts(&path, options)).await?;
        let mut meta = object_meta(&answer.meta, &answer.attributes);
        meta.url = self.url(&key);
        meta.relative_path = Some(key.clone());
        if let Some((signer, expires_in)) = &self.signer {
            let url = within(
                self.timeout,
                &key,
                signer.signed_url(http::Method::GET, &path, *expires_in),
            )
            .await?;
            meta.remote_url = Some(url.to_string());
        }
        Ok(meta)
    }
}

impl Storage for ObjectStoreStorage {
    fn metadata<'a>(&'a self, name: &'a str) -> BoxFuture<'a, io::Result<FileMeta>> {
        Box::pin(self.head(name))
    }

    fn open(
        &self,
        name: &str,
        range: Option<ByteRange>,
    ) -> BoxFuture<'static, io::Result<ByteStream>> {
        let store = self.store.clone();
        let timeout = self.timeout;
        let checked = object_path(name);
        Box::pin(async move {
            let (key, path) = checked?;
            let range = match range {
                // Stores refuse empty ranges; there is nothing to ask for.
                Some(r) if r.is_empty() => return Ok(empty()),
                Some(r) => Some(GetRange::Bounded(r.start..r.end)),
                None => None,
            };
            let options = GetOptions {
                range,
                ..GetOptions::default()
            };
            let answer = within(timeout, &key, store.get_opts(&path, options)).await?;
            Ok(idle_timeout(answer.into_stream(), timeout, key))
        })
    }

    fn url(&self, name: &str) -> Option<String> {
        let base = self.base_url.as_deref()?;
        let separator = if base.ends_with('/') { "" } else { "/" };
        Some(format!("{base}{separator}{}", encode_path(name)))
    }
}

/// The checked key (`/`-joined segments) of an untrusted name, and its
/// object path; refused names are `NotFound`.
fn object_path(untrusted: &str) -> io::Result<(String, Path)> {
    let refuse = |why: &dyn fmt::Display| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("refused object name {untrusted:?}: {why}"),
        )
    };
    let segments =
        crate::fs::check_relative(untrusted).map_err(|why| refuse(&format_args!("{why:?}")))?;
    let mut parts = Vec::with_capacity(segments.len());
    for segment in &segments {
        let decoded = percent_encoding::percent_decode_str(segment).collect::<Vec<u8>>();
        if decoded.contains(&b'/') || decoded.contains(&b'\\') {
            return Err(refuse(&"encoded separator"));
        }
        if decoded == b"." || decoded == b".." {
            return Err(refuse(&"encoded dot segment"));
        }
        // Exactly the segment, not re-encoded: the key other tools wrote.
        parts.push(PathPart::parse(segment).map_err(|err| refuse(&err))?);
    }
    Ok((segments.join("/"), Path::from_iter(parts)))
}

/// What the store says of an object, as the file model.
fn object_meta(meta: &object_store::ObjectMeta, attributes: &object_store::Attributes) -> FileMeta {
    let text = |attribute: Attribute| {
        attributes
            .get(&attribute)
            .map(|v| v.as_ref().trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let (content_type, charset) = match text(Attribute::ContentType) {
        Some(value) => split_charset(&value),
        None => (None, None),
    };
    FileMeta {
        size: Some(meta.size),
        modified: Some(SystemTime::from(meta.last_modified)),
        etag: meta
            .e_tag
            .as_deref()
            .map(|tag| ETag::parse(tag).unwrap_or_else(|| ETag::strong(tag))),
        content_type,
        charset,
        encoding: text(Attribute::ContentEncoding),
        ..FileMeta::default()
    }
}

/// `text/plain; charset=latin1` as (`text/plain`, `latin1`).
fn split_charset(content_type: &str) -> (Option<String>, Option<String>) {
    let mut params = content_type.split(';');
    let essence = params
        .next()
        .map(|e| e.trim().to_owned())
        .filter(|e| !e.is_empty());
    let charset = params.find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"').to_owned())
            .filter(|v| !v.is_empty())
    });
    (essence, charset)
}

/// `future`, failing with a 504 after `timeout` and mapping the store's
/// errors: a missing object is `NotFound` (404), any other failure a 502.
async fn within<T>(
    timeout: Duration,
    key: &str,
    future: impl std::future::Future<Output = object_store::Result<T>>,
) -> io::Result<T> {
    match tokio::time::timeout(timeout, future).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(err)) => Err(store_error(key, &err)),
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            DownloadError::gateway_timeout(format_args!(
                "object store: no answer for {key:?} within {timeout:?}"
            )),
        )),
    }
}

fn store_error(key: &str, err: &object_store::Error) -> io::Error {
    match err {
        object_store::Error::NotFound { .. } | object_store::Error::InvalidPath { .. } => {
            io::Error::new(io::ErrorKind::NotFound, format!("object {key:?}: {err}"))
        }
        _ => io::Error::other(DownloadError::bad_gateway(format_args!(
            "object store, {key:?}: {}",
            with_causes(err)
        ))),
    }
}

fn empty() -> ByteStream {
    Box::pin(futures_util::stream::empty())
}

/// The object's bytes, failing when one chunk takes longer than `timeout`
/// (a stalled store); the download as a whole may take as long as it needs.
fn idle_timeout(
    stream: BoxStream<'static, object_store::Result<Bytes>>,
    timeout: Duration,
    key: String,
) -> ByteStream {
    crate::body::guarded(stream, timeout, None, key, "object store")
}
