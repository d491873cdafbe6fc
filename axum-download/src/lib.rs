//! File downloads for [axum]: return a download from a handler and get the
//! whole of HTTP right.
//!
//! Five download kinds resolve to one file model (metadata plus a lazy
//! source of bytes) and from there to one [`DownloadResponse`]:
//!
//! | kind | what it serves |
//! | --- | --- |
//! | [`PathDownload`] | a local file, confined to a root directory |
//! | [`StorageDownload`] | a name in a [`Storage`] ([`FileSystemStorage`] built in) |
//! | [`ObjectDownload`] | the file attached to an application object ([`DownloadObject`]) |
//! | [`HttpDownload`] | a remote URL, streamed through |
//! | [`VirtualDownload`] | bytes, text or a generated stream |
//! | [`ArchiveDownload`] | many files as one zip, with an exact length and ranges |
//!
//! Every response gets `Content-Type`, `Content-Length`, a safe
//! `Content-Disposition` (ASCII fallback plus RFC 8187 `filename*`), `ETag`,
//! `Last-Modified` and `Accept-Ranges`. Behind [`DownloadLayer`] it also
//! answers conditional requests (304, 412), ranges (206, multipart, 416) and
//! `HEAD`, all decided by one RFC 9110 engine ([`rfc9110::decide`]). Files stream in
//! bounded chunks read on the blocking pool, and a 304, a `HEAD` or an error
//! never opens the file.
//!
//! ```no_run
//! use axum::{routing::get, Router};
//! use axum_download::{DownloadError, DownloadLayer, DownloadName, DownloadResponse, PathDownload, ServerLimits};
//!
//! async fn download(DownloadName(name): DownloadName) -> Result<DownloadResponse, DownloadError> {
//!     PathDownload::from_root("media", &name).await
//! }
//!
//! # async fn run() -> std::io::Result<()> {
//! let app = Router::new()
//!     .route("/download/{*name}", get(download))
//!     .layer(DownloadLayer::new());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
//! // axum's `serve` with header, send and idle timeouts (see `ServerLimits`).
//! axum_download::serve(listener, app, ServerLimits::default(), std::future::pending()).await
//! # }
//! ```
//!
//! # Feature flags
//!
//! | feature | default | what it enables |
//! | --- | --- | --- |
//! | `http-download` | yes | [`HttpDownload`] and [`RemoteCache`], over [`reqwest`] (re-exported) |
//! | `rustls` | yes | HTTPS upstreams with rustls (aws-lc-rs, no OpenSSL) and the system's roots (implies `http-download`) |
//! | `native-tls` | no | HTTPS upstreams with the platform's TLS, OpenSSL on Linux (implies `http-download`; the built-in client prefers it over `rustls`) |
//! | `serve` | yes | [`serve`] and [`ServerLimits`]: an HTTP/1.1 server with header, send and idle timeouts |
//! | `test-util` | no | [`test_util`]: assertions on download responses, temporary media roots |
//! | `static-files` | no | [`static_files`]: read a Django-format `staticfiles.json`, hashed URLs and integrity with [`static_files::StaticUrls`], serve the files with the [`StaticFiles`] layer |
//! | `collect` | no | `static_files::Collect` (implies `static-files`): hashed copies, rewritten CSS/JS references, precompressed sidecars, the manifest |
//! | `object-store` | no | [`ObjectStoreStorage`]: files in S3 and other object stores, over the `object_store` crate |

/// `impl IntoFuture` for a download builder with an
/// `async fn resolve(self) -> Result<DownloadResponse, DownloadError>`, so
/// awaiting the builder resolves it.
macro_rules! resolve_on_await {
    ($builder:ty) => {
        impl ::std::future::IntoFuture for $builder {
            type Output = Result<crate::DownloadResponse, crate::DownloadError>;
            type IntoFuture =
                ::std::pin::Pin<Box<dyn ::std::future::Future<Output = Self::Output> + Send>>;

            fn into_future(self) -> Self::IntoFuture {
                Box::pin(self.resolve())
            }
        }
    };
}

pub mod archive;
mod body;
#[cfg(feature = "http-download")]
pub mod cache;
mod conditional;
mod content_disposition;
mod error;
mod extract;
pub mod file;
mod fs;
pub mod healthcheck;
#[cfg(feature = "http-download")]
pub mod http_download;
pub mod layer;
mod object_download;
#[cfg(feature = "object-store")]
mod object_store_storage;
pub mod offload;
mod open_file_cache;
mod path_download;
mod report;
mod respond;
mod response;
#[cfg(feature = "serve")]
mod serve;
mod settings;
pub mod signature;
#[cfg(feature = "static-files")]
pub mod static_files;
pub mod storage;
#[cfg(feature = "test-util")]
pub mod test_util;
mod url_path;
mod virtual_download;
mod zip_format;

pub mod rfc9110 {
    //! The RFC 9110 engine every download and static file goes through:
    //! preconditions (`If-Match`, `If-Unmodified-Since`, `If-None-Match`,
    //! `If-Modified-Since`, in the RFC's order), `If-Range` and `Range`
    //! (single and multipart), as one pure function, [`decide`], and
    //! [`finish`], which turns a download response and a request's
    //! [`Conditions`] into the final answer. Handlers rarely need more than
    //! [`DownloadLayer`](crate::DownloadLayer) or
    //! [`DownloadResponse::respond_to`](crate::DownloadResponse::respond_to).
    //!
    //! ```
    //! use axum_download::rfc9110::{decide, Conditions, Decision, ETag, Validators};
    //! use http::{HeaderMap, Method};
    //!
    //! let mut headers = HeaderMap::new();
    //! headers.insert("if-none-match", "\"v1\"".parse().unwrap());
    //! let conditions = Conditions::new(&Method::GET, &headers);
    //! let validators = Validators { etag: Some(ETag::strong("v1")), last_modified: None };
    //! assert_eq!(decide(&conditions, &validators, Some(10), true), Decision::NotModified);
    //! ```
    pub use crate::conditional::{
        decide, ByteRange, Conditions, Decision, ETag, Validators, MAX_RANGES, MAX_RANGE_SPECS,
    };
    pub use crate::content_disposition::{content_disposition, Disposition};
    pub use crate::respond::{finish, finish_with_settings};
}

pub use archive::ArchiveDownload;
pub use axum_download_macros::{x_accel, x_sendfile};
#[cfg(feature = "http-download")]
pub use cache::RemoteCache;
pub use conditional::Conditions;
pub use error::DownloadError;
pub use extract::DownloadName;
#[cfg(feature = "http-download")]
pub use http_download::HttpDownload;
pub use layer::DownloadLayer;
pub use object_download::{DownloadObject, ObjectDownload, ObjectFile};
#[cfg(feature = "object-store")]
pub use object_store_storage::ObjectStoreStorage;
pub use open_file_cache::OpenFileCache;
pub use path_download::PathDownload;
/// The reqwest this crate uses, to build the client given to
/// [`HttpDownload::client`] and [`RemoteCacheBuilder::client`](cache::RemoteCacheBuilder::client): its types
/// always match, whichever reqwest the application depends on.
#[cfg(feature = "http-download")]
#[doc(no_inline)]
pub use reqwest;
pub use response::{DownloadResponse, DEFAULT_CACHE_CONTROL};
#[cfg(feature = "serve")]
pub use serve::{serve, ServerLimits};
pub use settings::{DownloadSettings, SettingsError, SharedSettings};
#[cfg(feature = "static-files")]
pub use static_files::StaticFiles;
pub use storage::{FileSystemStorage, Storage, StorageDownload};
pub use virtual_download::VirtualDownload;

/// The README's Rust examples, compiled and run as doc tests.
#[cfg(all(
    doctest,
    feature = "object-store",
    feature = "collect",
    feature = "test-util"
))]
#[doc = include_str!("../../README.md")]
struct ReadmeExamples;

#[doc(hidden)]
pub mod __private {
    //! What the macros' expansions name; not a public API.
    pub use crate::conditional::Conditions;
    pub use crate::layer::LayerSettings;
    pub use crate::offload::{Backend, Expires, LimitRate, Rule};
    pub use crate::respond::finish_with_settings;
    pub use crate::settings::DownloadSettings;
    pub use axum::response::{IntoResponse, Response};
}
