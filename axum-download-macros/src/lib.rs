//! Attribute macros for [`axum-download`](https://docs.rs/axum-download):
//! `#[x_accel(...)]` and `#[x_sendfile(...)]` hand one handler's downloads
//! off to the reverse proxy. Use them through `axum_download`, which
//! re-exports them and documents them with examples.

use proc_macro::TokenStream;

mod args;
mod expand;

/// Hands the handler's download off to nginx with `X-Accel-Redirect`.
///
/// Keys, all optional but `destination_url`: `source_url = "/..."` or
/// `source_dir = "/abs/dir"`, `destination_url = "/internal/"`,
/// `buffering = true|false`, `expires = SECONDS|"off"`,
/// `limit_rate = BYTES_PER_SECOND|"off"`. Mistakes are compile errors at
/// the offending token. Without `source_url` or `source_dir`, every file the
/// handler returns from a root directory is handed off, its path below the
/// root appended to `destination_url`.
///
/// ```
/// use std::path::PathBuf;
/// use axum::{extract::State, routing::get, Router};
/// use axum_download::{x_accel, DownloadError, DownloadResponse, PathDownload};
///
/// #[x_accel(destination_url = "/protected/", expires = 3600)]
/// async fn report(State(media): State<PathBuf>) -> Result<DownloadResponse, DownloadError> {
///     PathDownload::from_root(media, "reports/2024 Q1.pdf").await
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// # let media = std::env::temp_dir().join(format!("x-accel-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(media.join("reports"))?;
/// # std::fs::write(media.join("reports/2024 Q1.pdf"), "%PDF-1.7")?;
/// let app: Router = Router::new().route("/report", get(report)).with_state(media.clone());
///
/// // What nginx receives: no body, the location of the file.
/// use axum::{body::Body, handler::Handler, http::Request};
/// let response = report.call(Request::new(Body::empty()), media.clone()).await;
/// assert_eq!(response.headers()["x-accel-redirect"], "/protected/reports/2024%20Q1.pdf");
/// assert_eq!(response.headers()["x-accel-expires"], "3600");
/// # std::fs::remove_dir_all(media)?;
/// # Ok(())
/// # }
/// ```
#[proc_macro_attribute]
pub fn x_accel(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(args::Kind::XAccel, attr.into(), item.into()).into()
}

/// Hands the handler's download off to Apache (mod_xsendfile) or lighttpd
/// with `X-Sendfile`.
///
/// Keys, all optional: `source_url = "/..."` (then `destination_dir` is
/// required) or `source_dir = "/abs/dir"`, and `destination_dir = "/abs/dir"`.
/// Without keys the file's own absolute path is sent.
///
/// ```
/// use axum::{extract::Path, routing::get, Router};
/// use axum_download::{x_sendfile, DownloadError, DownloadResponse, PathDownload};
///
/// // The application sees its media in /app/media, Apache in /var/www/media.
/// #[x_sendfile(source_dir = "/app/media", destination_dir = "/var/www/media")]
/// async fn download(Path(name): Path<String>) -> Result<DownloadResponse, DownloadError> {
///     PathDownload::from_root("/app/media", name).await
/// }
///
/// // Every file this one returns: Apache is sent the file's own path.
/// #[x_sendfile]
/// async fn invoice(State(invoices): State<PathBuf>) -> Result<DownloadResponse, DownloadError> {
///     PathDownload::from_root(invoices, "2024-001.pdf").await
/// }
/// # use std::path::PathBuf;
/// # use axum::extract::State;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// # let invoices = std::env::temp_dir().join(format!("x-sendfile-doc-{}", std::process::id()));
/// # std::fs::create_dir_all(&invoices)?;
/// # std::fs::write(invoices.join("2024-001.pdf"), "%PDF-1.7")?;
/// let app: Router = Router::new()
///     .route("/media/{*name}", get(download))
///     .route("/invoice", get(invoice))
///     .with_state(invoices.clone());
///
/// use axum::{body::Body, handler::Handler, http::Request};
/// let response = invoice.call(Request::new(Body::empty()), invoices.clone()).await;
/// let path = response.headers()["x-sendfile"].to_str().unwrap();
/// assert!(path.starts_with('/') && path.ends_with("/2024-001.pdf"));
/// # std::fs::remove_dir_all(invoices)?;
/// # Ok(())
/// # }
/// ```
#[proc_macro_attribute]
pub fn x_sendfile(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(args::Kind::XSendfile, attr.into(), item.into()).into()
}
