//! [`VirtualDownload`]: bytes, text or a generated stream, no file behind it.

use std::io;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};

use crate::file::{DownloadFile, FileMeta, MemorySource, OnceSource};
use crate::response::DownloadResponse;

/// Downloads of content that is not a file: bytes in memory, text, or a
/// stream of chunks generated while the response is sent.
///
/// Nothing needs to be read first, so these constructors give the
/// [`DownloadResponse`] directly. Bytes and text have a `Content-Length`
/// and answer ranges; a stream has no length up front (it is sent chunked)
/// and answers `Range` requests with the full 200. Add validators with
/// [`DownloadResponse::etag`] or [`DownloadResponse::last_modified`] so a
/// constant document can answer 304.
///
/// ```
/// use axum_download::{DownloadResponse, VirtualDownload};
/// use axum_download::rfc9110::ETag;
///
/// async fn hello() -> DownloadResponse {
///     VirtualDownload::text("hello-world.txt", "Hello world!\n").etag(ETag::strong("hello-v1"))
/// }
/// ```
#[derive(Debug, Clone, Copy)]
pub struct VirtualDownload {
    _private: (),
}

impl VirtualDownload {
    /// A download of `bytes`, named `name`.
    ///
    /// ```
    /// use axum::response::IntoResponse;
    /// use axum_download::VirtualDownload;
    ///
    /// let response = VirtualDownload::bytes("pixel.png", vec![0x89, b'P', b'N', b'G']).into_response();
    /// assert_eq!(response.headers()["content-type"], "image/png");
    /// assert_eq!(response.headers()["content-length"], "4");
    /// ```
    pub fn bytes(name: impl Into<String>, bytes: impl Into<Bytes>) -> DownloadResponse {
        memory(FileMeta::named(name), bytes.into())
    }

    /// A download of `text`, encoded as UTF-8 (its `Content-Length` counts
    /// bytes, not characters).
    ///
    /// ```
    /// use axum::response::IntoResponse;
    /// use axum_download::VirtualDownload;
    ///
    /// let response = VirtualDownload::text("café.csv", "name;price\ncafé;2\n").into_response();
    /// assert_eq!(response.headers()["content-type"], "text/csv; charset=utf-8");
    /// assert_eq!(response.headers()["content-length"], "19");
    /// ```
    pub fn text(name: impl Into<String>, text: impl Into<String>) -> DownloadResponse {
        let mut meta = FileMeta::named(name);
        meta.charset = Some("utf-8".to_owned());
        memory(meta, Bytes::from(text.into()))
    }

    /// A download of a stream of chunks, named `name`, sent as it is produced.
    ///
    /// ```
    /// use axum::response::IntoResponse;
    /// use axum_download::VirtualDownload;
    /// use futures_util::stream;
    ///
    /// let rows = stream::iter((1..=3).map(|n| Ok::<_, std::io::Error>(format!("row {n}\n"))));
    /// let response = VirtualDownload::stream("rows.txt", rows).into_response();
    /// assert_eq!(response.headers()["accept-ranges"], "none");
    /// assert!(response.headers().get("content-length").is_none());
    /// ```
    pub fn stream<S, B, E>(name: impl Into<String>, stream: S) -> DownloadResponse
    where
        S: Stream<Item = Result<B, E>> + Send + 'static,
        B: Into<Bytes>,
        E: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let stream = stream.map(|item| item.map(Into::into).map_err(io::Error::other));
        DownloadResponse::new(DownloadFile::new(
            FileMeta::named(name),
            OnceSource::new(Box::pin(stream)),
        ))
    }
}

fn memory(mut meta: FileMeta, bytes: Bytes) -> DownloadResponse {
    meta.size = Some(bytes.len() as u64);
    DownloadResponse::new(DownloadFile::new(meta, MemorySource(bytes)))
}
