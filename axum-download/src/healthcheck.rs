//! [`Healthcheck`]: checks the whole download chain, as django-downloadview's
//! healthchecks page recommends: the storage is readable, the application
//! answers the hand-off, the proxy serves the storage, and all together the
//! client gets the right bytes.

use std::fmt;
use std::io;
use std::sync::Arc;

use axum::response::{IntoResponse, Response};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use http::StatusCode;

use crate::storage::{Storage, StorageDownload};

/// The largest healthcheck file read into memory.
const MAX_HEALTHCHECK_BYTES: usize = 1 << 20;

/// A known file in a storage, served like any other download.
///
/// Put a small file with known content in the storage the proxy serves,
/// route a handler to [`respond`](Self::respond) (under a URL your hand-off
/// rules match), then probe that URL *through the proxy* with
/// [`check_url`](Self::check_url) (or any HTTP client): the bytes arrive
/// only if every link works.
///
/// ```
/// use std::sync::Arc;
/// use axum::{routing::get, Router};
/// use axum_download::{FileSystemStorage};
/// use axum_download::healthcheck::Healthcheck;
///
/// let storage = Arc::new(FileSystemStorage::new("/srv/media").base_url("/media/"));
/// let check = Arc::new(Healthcheck::new(storage, "healthcheck.txt", "ok\n"));
/// let app: Router = Router::new().route(
///     "/healthcheck",
///     get(move || {
///         let check = check.clone();
///         async move { check.respond().await }
///     }),
/// );
/// ```
#[derive(Clone)]
pub struct Healthcheck {
    storage: Arc<dyn Storage>,
    name: String,
    expected: Bytes,
}

impl fmt::Debug for Healthcheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Healthcheck")
            .field("name", &self.name)
            .field("expected_len", &self.expected.len())
            .finish_non_exhaustive()
    }
}

/// Which link of the chain failed, and why.
///
/// ```
/// use std::sync::Arc;
/// use axum_download::healthcheck::Healthcheck;
/// use axum_download::FileSystemStorage;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let storage = Arc::new(FileSystemStorage::new("/nonexistent/media"));
/// let err = Healthcheck::new(storage, "healthcheck.txt", "ok\n").check_storage().await.unwrap_err();
/// assert_eq!(err.link(), "storage");
/// assert!(err.to_string().starts_with("storage: cannot read"));
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthcheckError {
    link: &'static str,
    reason: String,
}

impl HealthcheckError {
    /// The link that failed: `storage`, `app` or `proxy`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use axum_download::healthcheck::Healthcheck;
    /// use axum_download::FileSystemStorage;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let storage = Arc::new(FileSystemStorage::new("/nonexistent/media"));
    /// let check = Healthcheck::new(storage, "healthcheck.txt", "ok\n");
    /// assert_eq!(check.check_storage().await.unwrap_err().link(), "storage");
    /// # }
    /// ```
    #[must_use]
    pub fn link(&self) -> &'static str {
        self.link
    }

    /// What went wrong at that link, without the link's name.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use axum_download::healthcheck::Healthcheck;
    /// use axum_download::FileSystemStorage;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let storage = Arc::new(FileSystemStorage::new("/nonexistent/media"));
    /// let check = Healthcheck::new(storage, "healthcheck.txt", "ok\n");
    /// assert!(check.check_storage().await.unwrap_err().reason().starts_with("cannot read"));
    /// # }
    /// ```
    #[must_use]
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for HealthcheckError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.link, self.reason)
    }
}

impl std::error::Error for HealthcheckError {}

fn failure(link: &'static str, reason: impl Into<String>) -> HealthcheckError {
    HealthcheckError {
        link,
        reason: reason.into(),
    }
}

impl Healthcheck {
    /// The file `name` in `storage`, expected to hold exactly `expected`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use axum_download::healthcheck::Healthcheck;
    /// use axum_download::FileSystemStorage;
    ///
    /// let storage = Arc::new(FileSystemStorage::new("/srv/media"));
    /// let check = Healthcheck::new(storage, "healthcheck.txt", "ok\n");
    /// ```
    pub fn new(
        storage: Arc<dyn Storage>,
        name: impl Into<String>,
        expected: impl Into<Bytes>,
    ) -> Self {
        Self {
            storage,
            name: name.into(),
            expected: expected.into(),
        }
    }

    /// The first link: the storage has the file and it holds the expected bytes.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use axum_download::healthcheck::Healthcheck;
    /// use axum_download::FileSystemStorage;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let dir = tempfile::tempdir()?;
    /// std::fs::write(dir.path().join("healthcheck.txt"), "ok\n")?;
    /// let storage = Arc::new(FileSystemStorage::new(dir.path()));
    /// assert!(Healthcheck::new(storage.clone(), "healthcheck.txt", "ok\n").check_storage().await.is_ok());
    /// assert!(Healthcheck::new(storage, "healthcheck.txt", "OK\n").check_storage().await.is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn check_storage(&self) -> Result<(), HealthcheckError> {
        let read = async {
            let mut stream = self.storage.open(&self.name, None).await?;
            let mut content = BytesMut::new();
            while let Some(chunk) = stream.next().await {
                content.extend_from_slice(&chunk?);
                if content.len() > MAX_HEALTHCHECK_BYTES {
                    return Err(io::Error::other("the healthcheck file is over 1 MiB"));
                }
            }
            Ok::<_, io::Error>(content.freeze())
        };
        let content = read
            .await
            .map_err(|err| failure("storage", format!("cannot read {:?}: {err}", self.name)))?;
        if content != self.expected {
            return Err(failure(
                "storage",
                format!(
                    "{:?} holds {} bytes that differ from the expected {}",
                    self.name,
                    content.len(),
                    self.expected.len()
                ),
            ));
        }
        Ok(())
    }

    /// The handler's answer: `503 Service Unavailable` naming the failure
    /// when the storage check fails, otherwise the file as a
    /// [`StorageDownload`] (which the hand-off rules turn over to the proxy).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use axum_download::healthcheck::Healthcheck;
    /// use axum_download::FileSystemStorage;
    /// use http::StatusCode;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let dir = tempfile::tempdir()?;
    /// let check = Healthcheck::new(Arc::new(FileSystemStorage::new(dir.path())), "healthcheck.txt", "ok\n");
    /// assert_eq!(check.respond().await.status(), StatusCode::SERVICE_UNAVAILABLE);
    ///
    /// std::fs::write(dir.path().join("healthcheck.txt"), "ok\n")?;
    /// let response = check.respond().await;
    /// assert_eq!(response.status(), StatusCode::OK);
    /// assert_eq!(response.headers()["cache-control"], "no-store");
    /// # Ok(())
    /// # }
    /// ```
    pub async fn respond(&self) -> Response {
        if let Err(err) = self.check_storage().await {
            crate::report::healthcheck_failed(&err);
            // The body names the failing link only: paths and causes are
            // for the log, not for whoever can reach the route.
            let body = format!("{}: unavailable\n", err.link());
            return (StatusCode::SERVICE_UNAVAILABLE, body).into_response();
        }
        match StorageDownload::new(self.storage.clone(), self.name.clone()).await {
            Ok(download) => download
                .header(http::header::CACHE_CONTROL, "no-store")
                .into_response(),
            Err(err) => {
                crate::report::healthcheck_failed(&err);
                (StatusCode::SERVICE_UNAVAILABLE, "app: unavailable\n").into_response()
            }
        }
    }

    /// The last links, from outside: fetches `url` (the healthcheck route,
    /// through the proxy) and checks the answer is a 200 with exactly the
    /// expected bytes and no hand-off header left in it (a header left
    /// means the proxy did not act on it).
    ///
    /// ```no_run
    /// use std::sync::Arc;
    /// use axum_download::healthcheck::Healthcheck;
    /// use axum_download::FileSystemStorage;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let storage = Arc::new(FileSystemStorage::new("/srv/media"));
    /// let check = Healthcheck::new(storage, "healthcheck.txt", "ok\n");
    /// // The public URL, through nginx.
    /// if let Err(err) = check.check_url("http://localhost/healthcheck").await {
    ///     eprintln!("download chain broken at {}: {}", err.link(), err.reason());
    /// }
    /// # }
    /// ```
    #[cfg(feature = "http-download")]
    pub async fn check_url(&self, url: &str) -> Result<(), HealthcheckError> {
        let response = reqwest::get(url)
            .await
            .map_err(|err| failure("proxy", format!("{url}: {err}")))?;
        let status = response.status();
        let leaked = [crate::offload::X_ACCEL_REDIRECT, crate::offload::X_SENDFILE]
            .into_iter()
            .find(|name| response.headers().contains_key(name));
        let body = response
            .bytes()
            .await
            .map_err(|err| failure("proxy", format!("{url}: {err}")))?;
        if status == StatusCode::SERVICE_UNAVAILABLE {
            let reason = String::from_utf8_lossy(&body).trim().to_owned();
            return Err(failure("app", reason));
        }
        if status != StatusCode::OK {
            return Err(failure("proxy", format!("{url} answered {status}")));
        }
        if let Some(name) = leaked {
            return Err(failure(
                "proxy",
                format!("{url} still carries {name}: the proxy did not serve the file"),
            ));
        }
        if body != self.expected {
            return Err(failure(
                "proxy",
                format!(
                    "{url} gave {} bytes that differ from the expected {}",
                    body.len(),
                    self.expected.len()
                ),
            ));
        }
        Ok(())
    }
}
