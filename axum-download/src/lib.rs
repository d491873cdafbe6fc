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
//!
//! Every response gets `Content-Type`, `Content-Length`, a safe
//! `Content-Disposition` (ASCII fallback plus RFC 8187 `filename*`), `ETag`,
//! `Last-Modified` and `Accept-Ranges`. Behind [`DownloadLayer`] it also
//! answers conditional requests (304, 412), ranges (206, multipart, 416) and
//! `HEAD`, all decided by one RFC 9110 engine ([`decide`]). Files stream in
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
//! | `http-download` | yes | [`HttpDownload`], over reqwest |
//! | `serve` | yes | [`serve`] and [`ServerLimits`]: an HTTP/1.1 server with header, send and idle timeouts |
//! | `test-util` | no | [`test_util`]: assertions on download responses, temporary media roots |
//! | `static-files` | no | [`static_files`]: read a Django-format `staticfiles.json`, hashed URLs and integrity with [`static_files::StaticUrls`], serve the files with the [`StaticFiles`] layer |
//! | `collect` | no | `static_files::Collect` (implies `static-files`): hashed copies, rewritten CSS/JS references, precompressed sidecars, the manifest |

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

mod body;
mod conditional;
mod content_disposition;
mod error;
mod extract;
mod file;
mod fs;
mod healthcheck;
#[cfg(feature = "http-download")]
mod http_download;
mod layer;
mod object_download;
mod offload;
mod path_download;
mod report;
mod response;
#[cfg(feature = "serve")]
mod serve;
mod settings;
mod signature;
#[cfg(feature = "static-files")]
pub mod static_files;
mod storage;
#[cfg(feature = "test-util")]
pub mod test_util;
mod virtual_download;

pub use axum_download_macros::{x_accel, x_sendfile};
pub use conditional::{
    decide, ByteRange, Conditions, Decision, ETag, Validators, MAX_RANGES, MAX_RANGE_SPECS,
};
pub use content_disposition::{content_disposition, Disposition};
pub use error::DownloadError;
pub use extract::DownloadName;
pub use file::{ByteStream, DownloadFile, FileMeta, FileSource};
pub use healthcheck::{Healthcheck, HealthcheckError};
#[cfg(feature = "http-download")]
pub use http_download::{HttpDownload, DEFAULT_UPSTREAM_DEADLINE, DEFAULT_UPSTREAM_TIMEOUT};
pub use layer::{DownloadLayer, DownloadService, ResponseFuture};
pub use object_download::{DownloadObject, ObjectDownload, ObjectFile};
pub use offload::{
    hand_off, Backend, Expires, HandOff, LimitRate, Rule, RuleError, X_ACCEL_BUFFERING,
    X_ACCEL_CHARSET, X_ACCEL_EXPIRES, X_ACCEL_LIMIT_RATE, X_ACCEL_REDIRECT, X_SENDFILE,
};
pub use path_download::PathDownload;
pub use response::{finish, finish_with_settings, DownloadResponse, DEFAULT_CACHE_CONTROL};
#[cfg(feature = "serve")]
pub use serve::{serve, ServerLimits};
pub use settings::{DownloadSettings, SettingsError, SharedSettings};
pub use signature::{
    SignatureError, SignatureLayer, SignatureService, SignedStorage, UrlSigner, SIGNATURE_PARAM,
};
#[cfg(feature = "static-files")]
pub use static_files::StaticFiles;
pub use storage::{encode_path, FileSystemStorage, Storage, StorageDownload};
pub use virtual_download::VirtualDownload;

/// The README's Rust examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct ReadmeExamples;

#[doc(hidden)]
pub mod __private {
    //! What the macros' expansions name; not a public API.
    pub use crate::layer::{scope, LayerSettings};
    pub use axum::response::{IntoResponse, Response};
}
