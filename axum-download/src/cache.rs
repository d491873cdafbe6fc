//! [`RemoteCache`]: remote files kept in a bounded local directory, fetched
//! once however many requests ask at the same time, and served from disk
//! as local files.

use std::collections::HashMap;
use std::fmt;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::BytesMut;
use futures_util::future::{BoxFuture, FutureExt, Shared};
use futures_util::StreamExt;
use http::{header, HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::conditional::{Conditions, ETag};
use crate::content_disposition;
use crate::error::DownloadError;
use crate::file::DownloadFile;
use crate::fs::{self, LocalFile};
use crate::http_download::{
    bounded_body, name_from_url, send_within, shared_client, upstream_meta, HttpDownload,
    DEFAULT_UPSTREAM_DEADLINE, DEFAULT_UPSTREAM_TIMEOUT,
};
use crate::response::DownloadResponse;

/// The size limit of a cache unless [`RemoteCacheBuilder::max_size`] says
/// otherwise: 1 GiB.
pub const DEFAULT_CACHE_SIZE: u64 = 1024 * 1024 * 1024;

/// How long a URL whose answer may not be stored goes straight to the
/// upstream, without a cache fetch first (nginx's "hit for pass").
const PASS_FOR: Duration = Duration::from_secs(60);

/// Bytes gathered before each write to the temporary file.
const WRITE_CHUNK: usize = 256 * 1024;

/// Where downloads in progress are written.
const TMP_DIR: &str = "tmp";

/// A bounded local cache of remote files.
///
/// The first request for a URL fetches it once, whatever the number of
/// requests that arrive while it is fetched (they all wait for that one
/// fetch, as behind nginx's `proxy_cache_lock`); later requests are served
/// from the local copy as a local file: ranges, conditional requests and
/// `HEAD` are answered from disk, and a hand-off rule (`X-Accel-Redirect`,
/// `X-Sendfile`) hands the copy to the proxy like any other file.
///
/// - **Freshness** comes from the upstream's `Cache-Control` (`s-maxage`,
///   `max-age`, minus `Age`) or `Expires`; without either, or with
///   `no-cache`, a copy is revalidated on every request. A stale copy is
///   revalidated with the upstream's `ETag` (`If-None-Match`, else
///   `If-Modified-Since`): a 304 makes it fresh again without a transfer.
/// - **Never stored**: `no-store` answers, `private` ones (unless
///   [`store_private`](RemoteCacheBuilder::store_private)), answers other
///   than 200, and files larger than the whole cache. Those are relayed as
///   [`HttpDownload`] relays them.
/// - **Bounded**: beyond [`max_size`](RemoteCacheBuilder::max_size) bytes
///   the least recently used files are removed.
/// - **Crash-safe**: a download is written to a temporary file, synced,
///   then renamed; its metadata (a small JSON sidecar, written and renamed
///   the same way) is written last and is what makes an entry exist. At
///   start-up the index is rebuilt from the sidecars; temporary files and
///   files without a sidecar are removed.
///
/// URLs are built as [`HttpDownload`] builds them: [`get`](Self::get) takes
/// a URL the application trusts, [`from_base`](Self::from_base) confines
/// an untrusted name below a base URL (404 for anything that could leave
/// it). The upstream must answer within the timeouts of
/// [`HttpDownload::timeout`] and [`HttpDownload::deadline`] (same
/// defaults); redirects are not followed (502); 404 and 410 answer 404,
/// other failures 502, no answer in time 504. An upstream that dies in the
/// middle of the body leaves no entry.
///
/// The first request waits for the whole file before its first byte: fit
/// the cache to files the upstream sends well within a client's patience.
///
/// ```no_run
/// use axum::extract::State;
/// use axum_download::{DownloadError, DownloadName, DownloadResponse, RemoteCache};
///
/// async fn cached(
///     State(cache): State<RemoteCache>,
///     DownloadName(name): DownloadName,
/// ) -> Result<DownloadResponse, DownloadError> {
///     cache.from_base("http://127.0.0.1:9000/files/", name).await
/// }
///
/// # async fn run() -> std::io::Result<()> {
/// let cache = RemoteCache::builder("/var/cache/downloads")
///     .max_size(10 * 1024 * 1024 * 1024)
///     .open()
///     .await?;
/// let app: axum::Router = axum::Router::new()
///     .route("/cached/{*name}", axum::routing::get(cached))
///     .with_state(cache);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RemoteCache {
    inner: Arc<Inner>,
}

impl fmt::Debug for RemoteCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteCache")
            .field("dir", &self.inner.dir)
            .field("max_size", &self.inner.max_size)
            .field("size", &self.size())
            .finish_non_exhaustive()
    }
}

/// How a [`RemoteCache`] is set up; [`open`](Self::open) opens it.
///
/// ```
/// use std::time::Duration;
/// use axum_download::RemoteCache;
///
/// let builder = RemoteCache::builder("/var/cache/downloads")
///     .max_size(512 * 1024 * 1024)
///     .timeout(Duration::from_secs(10));
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct RemoteCacheBuilder {
    dir: PathBuf,
    max_size: u64,
    store_private: bool,
    timeout: Duration,
    deadline: Duration,
    client: Option<reqwest::Client>,
}

impl RemoteCacheBuilder {
    /// The most bytes of files kept (default [`DEFAULT_CACHE_SIZE`]).
    ///
    /// ```
    /// let builder = axum_download::RemoteCache::builder("cache").max_size(1 << 20);
    /// ```
    pub fn max_size(mut self, bytes: u64) -> Self {
        self.max_size = bytes;
        self
    }

    /// Also stores answers the upstream marked `Cache-Control: private`
    /// (refused by default, as a shared cache must). Only for an
    /// application that serves cached files to the users allowed to see
    /// them, or whose upstream marks everything private.
    ///
    /// ```
    /// let builder = axum_download::RemoteCache::builder("cache").store_private(true);
    /// ```
    pub fn store_private(mut self, store: bool) -> Self {
        self.store_private = store;
        self
    }

    /// How long to wait for the upstream's headers and then for each chunk
    /// of its body (default [`DEFAULT_UPSTREAM_TIMEOUT`]).
    ///
    /// ```
    /// let builder = axum_download::RemoteCache::builder("cache")
    ///     .timeout(std::time::Duration::from_secs(5));
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long one fetch may last in all (default
    /// [`DEFAULT_UPSTREAM_DEADLINE`]).
    ///
    /// ```
    /// let builder = axum_download::RemoteCache::builder("cache")
    ///     .deadline(std::time::Duration::from_secs(600));
    /// ```
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }

    /// Uses `client` (TLS, proxies) instead of the built-in one; give it
    /// `redirect::Policy::none()`.
    ///
    /// ```
    /// use axum_download::reqwest;
    ///
    /// let client = reqwest::Client::builder()
    ///     .redirect(reqwest::redirect::Policy::none())
    ///     .build()
    ///     .unwrap();
    /// let builder = axum_download::RemoteCache::builder("cache").client(client);
    /// ```
    pub fn client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Creates the directory if needed, removes unfinished downloads and
    /// files without metadata, rebuilds the index from the metadata, and
    /// removes the least recently stored files beyond the size limit.
    ///
    /// ```no_run
    /// # async fn run() -> std::io::Result<()> {
    /// let cache = axum_download::RemoteCache::builder("/var/cache/downloads").open().await?;
    /// # Ok(()) }
    /// ```
    pub async fn open(self) -> io::Result<RemoteCache> {
        let dir = std::path::absolute(&self.dir)?;
        let scan_dir = dir.clone();
        let records = fs::spawn_blocking(move || rebuild_blocking(&scan_dir)).await?;
        let mut state = State::default();
        for record in records {
            state.clock += 1;
            state.total += record.size;
            let entry = Entry {
                record: Arc::new(record),
                last_used: state.clock,
            };
            state.entries.insert(entry.record.url.clone(), entry);
        }
        let victims = state.evict(self.max_size, None);
        let inner = Inner {
            dir,
            max_size: self.max_size,
            store_private: self.store_private,
            timeout: self.timeout,
            deadline: self.deadline,
            client: self.client,
            state: Mutex::new(state),
        };
        inner.remove_files(victims).await;
        Ok(RemoteCache {
            inner: Arc::new(inner),
        })
    }
}

impl RemoteCache {
    /// A cache in `dir`, to set up and [`open`](RemoteCacheBuilder::open).
    ///
    /// ```
    /// let builder = axum_download::RemoteCache::builder("/var/cache/downloads");
    /// ```
    pub fn builder(dir: impl Into<PathBuf>) -> RemoteCacheBuilder {
        RemoteCacheBuilder {
            dir: dir.into(),
            max_size: DEFAULT_CACHE_SIZE,
            store_private: false,
            timeout: DEFAULT_UPSTREAM_TIMEOUT,
            deadline: DEFAULT_UPSTREAM_DEADLINE,
            client: None,
        }
    }

    /// The file at `url`, which the application trusts.
    ///
    /// ```no_run
    /// # async fn run(cache: axum_download::RemoteCache) {
    /// let download = cache.get("http://127.0.0.1:9000/files/report.pdf").await;
    /// # }
    /// ```
    pub fn get(&self, url: impl AsRef<str>) -> CachedDownload {
        let url = url.as_ref();
        let parsed = reqwest::Url::parse(url)
            .map_err(|err| DownloadError::internal(format_args!("invalid URL {url:?}: {err}")));
        self.download(parsed)
    }

    /// The file `untrusted` (a relative path, typically from the request)
    /// below `base`, refused with 404 exactly as
    /// [`HttpDownload::from_base`] refuses it.
    ///
    /// ```no_run
    /// # async fn run(cache: axum_download::RemoteCache) {
    /// let download = cache.from_base("http://127.0.0.1:9000/files/", "a/b.pdf").await;
    /// # }
    /// ```
    pub fn from_base(&self, base: impl AsRef<str>, untrusted: impl AsRef<str>) -> CachedDownload {
        self.download(HttpDownload::from_base(base, untrusted).into_url())
    }

    fn download(&self, url: Result<reqwest::Url, DownloadError>) -> CachedDownload {
        CachedDownload {
            cache: self.clone(),
            url,
            conditions: None,
        }
    }

    /// The bytes of files the cache holds now.
    ///
    /// ```no_run
    /// # fn run(cache: axum_download::RemoteCache) {
    /// assert!(cache.size() <= 1 << 30);
    /// # }
    /// ```
    #[must_use]
    pub fn size(&self) -> u64 {
        self.inner.state.lock().map_or(0, |state| state.total)
    }

    /// Whether a copy of `url` is held now (fresh or not).
    ///
    /// ```no_run
    /// # fn run(cache: axum_download::RemoteCache) {
    /// let held = cache.contains("http://127.0.0.1:9000/files/report.pdf");
    /// # }
    /// ```
    #[must_use]
    pub fn contains(&self, url: &str) -> bool {
        let key = reqwest::Url::parse(url).map_or_else(|_| url.to_owned(), |u| u.to_string());
        self.inner
            .state
            .lock()
            .is_ok_and(|state| state.entries.contains_key(&key))
    }

    /// The directory the cache keeps its files in (absolute): the source
    /// directory of a hand-off rule for cached files.
    ///
    /// ```no_run
    /// # fn run(cache: axum_download::RemoteCache) {
    /// let rule = axum_download::offload::Rule::nginx("/x-accel/cache/").source_dir(cache.dir());
    /// # }
    /// ```
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }
}

/// A download through a [`RemoteCache`]; await it for the
/// [`DownloadResponse`].
///
/// ```no_run
/// use axum_download::{Conditions, DownloadError, DownloadResponse, RemoteCache};
///
/// async fn cached(cache: RemoteCache, conditions: Conditions) -> Result<DownloadResponse, DownloadError> {
///     cache.get("http://127.0.0.1:9000/report.pdf").forward(&conditions).await
/// }
/// ```
#[must_use]
pub struct CachedDownload {
    cache: RemoteCache,
    url: Result<reqwest::Url, DownloadError>,
    conditions: Option<Conditions>,
}

impl fmt::Debug for CachedDownload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedDownload")
            .field("url", &self.url.as_ref().map(reqwest::Url::as_str))
            .finish_non_exhaustive()
    }
}

impl CachedDownload {
    /// For answers that are not stored (`no-store`, `private`): forwards
    /// the request's method, `Range` and conditional headers upstream, as
    /// [`HttpDownload::forward`] does. Stored files answer them from disk.
    ///
    /// ```no_run
    /// # async fn run(cache: axum_download::RemoteCache, conditions: axum_download::Conditions) {
    /// let download = cache.get("http://127.0.0.1:9000/a.pdf").forward(&conditions).await;
    /// # }
    /// ```
    pub fn forward(mut self, conditions: &Conditions) -> Self {
        self.conditions = Some(conditions.clone());
        self
    }

    async fn resolve(self) -> Result<DownloadResponse, DownloadError> {
        let url = self.url?;
        let inner = self.cache.inner;
        let key = url.to_string();
        // A copy can be removed between the look-up and the open (evicted,
        // replaced): look again, a few times.
        for _ in 0..3 {
            let record = match inner.lookup(&key, &url) {
                Step::Hit(record) => record,
                Step::Pass => return inner.relay(url, self.conditions.as_ref()).await,
                Step::Wait(flight) => match flight.await {
                    Ok(Outcome::Stored(record)) => record,
                    Ok(Outcome::Uncacheable) => {
                        return inner.relay(url, self.conditions.as_ref()).await
                    }
                    Err(failure) => return Err(failure.into_error()),
                },
            };
            match inner.open_copy(&record).await {
                Ok(download) => return Ok(download),
                Err(err) if err.kind() == io::ErrorKind::NotFound => inner.forget(&record),
                Err(err) => return Err(DownloadError::from_io(&err)),
            }
        }
        Err(DownloadError::internal(format_args!(
            "the cached copy of {url} kept disappearing"
        )))
    }
}

resolve_on_await!(CachedDownload);

struct Inner {
    dir: PathBuf,
    max_size: u64,
    store_private: bool,
    timeout: Duration,
    deadline: Duration,
    client: Option<reqwest::Client>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    entries: HashMap<String, Entry>,
    /// Bytes of all entries.
    total: u64,
    /// Ticks on every use: the least recently used entry has the smallest.
    clock: u64,
    /// Fetches in progress, by URL.
    flights: HashMap<String, Flight>,
    /// URLs whose last answer could not be stored, until when.
    passes: HashMap<String, Instant>,
}

struct Entry {
    record: Arc<Record>,
    last_used: u64,
}

/// A fetch in progress, awaited by every request for its URL.
type Flight = Shared<BoxFuture<'static, Result<Outcome, Failure>>>;

#[derive(Clone)]
enum Outcome {
    /// This copy is stored and fresh.
    Stored(Arc<Record>),
    /// The upstream's answer may not be stored: relay it.
    Uncacheable,
}

/// Why a fetch failed, for every request that awaited it.
#[derive(Clone, Debug)]
struct Failure {
    status: StatusCode,
    detail: Arc<str>,
}

impl Failure {
    fn new(status: StatusCode, detail: impl fmt::Display) -> Self {
        Self {
            status,
            detail: detail.to_string().into(),
        }
    }

    fn into_error(self) -> DownloadError {
        match self.status {
            StatusCode::NOT_FOUND => DownloadError::not_found(self.detail),
            StatusCode::BAD_GATEWAY => DownloadError::bad_gateway(self.detail),
            StatusCode::GATEWAY_TIMEOUT => DownloadError::gateway_timeout(self.detail),
            _ => DownloadError::internal(self.detail),
        }
    }
}

impl From<io::Error> for Failure {
    fn from(err: io::Error) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format_args!("cache: {err}"),
        )
    }
}

enum Step {
    Hit(Arc<Record>),
    Pass,
    Wait(Flight),
}

/// What the sidecar `<file>.json` says about a stored copy.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Record {
    url: String,
    /// The data file's name in the cache directory.
    file: String,
    size: u64,
    /// When it stops being fresh (Unix seconds).
    fresh_until: u64,
    etag: Option<String>,
    last_modified: Option<String>,
    content_type: Option<String>,
    content_encoding: Option<String>,
    cache_control: Option<String>,
    /// The client file name.
    name: Option<String>,
}

impl Record {
    fn sidecar(&self) -> String {
        format!("{}.json", self.file)
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl State {
    /// Removes least recently used entries (never `keep`) until the total
    /// is within `max`; returns them, for their files to be removed.
    fn evict(&mut self, max: u64, keep: Option<&str>) -> Vec<Arc<Record>> {
        let mut victims = Vec::new();
        while self.total > max {
            let oldest = self
                .entries
                .iter()
                .filter(|(url, _)| Some(url.as_str()) != keep)
                .min_by_key(|(_, entry)| entry.last_used)
                .map(|(url, _)| url.clone());
            let Some(url) = oldest else { break };
            if let Some(entry) = self.entries.remove(&url) {
                self.total -= entry.record.size;
                victims.push(entry.record);
            }
        }
        victims
    }

    /// Puts `record` in the index; returns the copies it replaces or evicts.
    fn insert(&mut self, record: Arc<Record>, max: u64) -> Vec<Arc<Record>> {
        self.clock += 1;
        self.total += record.size;
        let url = record.url.clone();
        let mut victims = Vec::new();
        if let Some(old) = self.entries.insert(
            url.clone(),
            Entry {
                record,
                last_used: self.clock,
            },
        ) {
            self.total -= old.record.size;
            victims.push(old.record);
        }
        victims.extend(self.evict(max, Some(&url)));
        victims
    }
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock leaves the index consistent
        // enough (every step keeps total and entries together).
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// A fresh copy, a pass, or the fetch to wait for (started if needed).
    fn lookup(self: &Arc<Self>, key: &str, url: &reqwest::Url) -> Step {
        let mut state = self.lock();
        let now = unix_now();
        state.clock += 1;
        let clock = state.clock;
        if let Some(entry) = state.entries.get_mut(key) {
            if entry.record.fresh_until > now {
                entry.last_used = clock;
                return Step::Hit(entry.record.clone());
            }
        }
        match state.passes.get(key) {
            Some(until) if *until > Instant::now() => return Step::Pass,
            Some(_) => {
                state.passes.remove(key);
            }
            None => {}
        }
        if let Some(flight) = state.flights.get(key) {
            return Step::Wait(flight.clone());
        }
        let stale = state.entries.get(key).map(|e| e.record.clone());
        let task = tokio::spawn(fetch(self.clone(), key.to_owned(), url.clone(), stale));
        let flight = async move {
            task.await
                .unwrap_or_else(|err| Err(Failure::new(StatusCode::INTERNAL_SERVER_ERROR, err)))
        }
        .boxed()
        .shared();
        state.flights.insert(key.to_owned(), flight.clone());
        Step::Wait(flight)
    }

    /// Drops `record` from the index if it is still the current copy.
    fn forget(&self, record: &Arc<Record>) {
        let mut state = self.lock();
        let current = state
            .entries
            .get(&record.url)
            .is_some_and(|e| Arc::ptr_eq(&e.record, record));
        if current {
            if let Some(entry) = state.entries.remove(&record.url) {
                state.total -= entry.record.size;
            }
        }
    }

    /// The stored copy as a local file download.
    async fn open_copy(&self, record: &Arc<Record>) -> io::Result<DownloadResponse> {
        let path = self.dir.join(&record.file);
        let size = record.size;
        let (meta, source) = fs::spawn_blocking(move || {
            let (file, metadata) = fs::open_regular(&path)?;
            if metadata.len() != size {
                return Err(io::Error::new(
                    io::ErrorKind::NotFound,
                    format!("{} is not the size its metadata says", path.display()),
                ));
            }
            Ok((
                fs::local_meta(&path, &metadata),
                LocalFile::open_file(file, size),
            ))
        })
        .await?;
        let mut meta = meta;
        meta.relative_path = Some(record.file.clone());
        meta.name = record.name.clone().or(meta.name);
        meta.content_type.clone_from(&record.content_type);
        meta.encoding.clone_from(&record.content_encoding);
        meta.cache_control.clone_from(&record.cache_control);
        Ok(DownloadResponse::new(DownloadFile::new(meta, source)))
    }

    /// The upstream's answer relayed, for what may not be stored.
    async fn relay(
        &self,
        url: reqwest::Url,
        conditions: Option<&Conditions>,
    ) -> Result<DownloadResponse, DownloadError> {
        let mut download = HttpDownload::new(url.as_str())
            .timeout(self.timeout)
            .deadline(self.deadline);
        if let Some(client) = &self.client {
            download = download.client(client.clone());
        }
        if let Some(conditions) = conditions {
            download = download.forward(conditions);
        }
        download.await
    }

    /// Removes the files of `records` (sidecar first: without it a data
    /// file is not an entry).
    async fn remove_files(&self, records: Vec<Arc<Record>>) {
        if records.is_empty() {
            return;
        }
        let dir = self.dir.clone();
        let removed = fs::spawn_blocking(move || {
            for record in records {
                for name in [record.sidecar(), record.file.clone()] {
                    if let Err(err) = std::fs::remove_file(dir.join(&name)) {
                        if err.kind() != io::ErrorKind::NotFound {
                            tracing::warn!(file = %name, %err, "could not remove a cached file");
                        }
                    }
                }
            }
            Ok(())
        })
        .await;
        if let Err(err) = removed {
            tracing::warn!(%err, "could not remove cached files");
        }
    }
}

/// The fetch of one URL: runs on its own task, so a client that goes away
/// does not cancel it for the others; ends by updating the index.
async fn fetch(
    inner: Arc<Inner>,
    key: String,
    url: reqwest::Url,
    stale: Option<Arc<Record>>,
) -> Result<Outcome, Failure> {
    let result = fetch_and_store(&inner, &url, stale).await;
    let victims = {
        let mut state = inner.lock();
        state.flights.remove(&key);
        match &result {
            Ok(Outcome::Stored(record)) => state.insert(record.clone(), inner.max_size),
            Ok(Outcome::Uncacheable) => {
                state.passes.insert(key.clone(), Instant::now() + PASS_FOR);
                Vec::new()
            }
            Err(failure) if failure.status == StatusCode::NOT_FOUND => {
                // Gone upstream: the old copy goes too.
                match state.entries.remove(&key) {
                    Some(entry) => {
                        state.total -= entry.record.size;
                        vec![entry.record]
                    }
                    None => Vec::new(),
                }
            }
            Err(_) => Vec::new(),
        }
    };
    // A revalidated copy replaces its own record: keep its files.
    let victims = match &result {
        Ok(Outcome::Stored(record)) => victims
            .into_iter()
            .filter(|v| v.file != record.file)
            .collect(),
        _ => victims,
    };
    inner.remove_files(victims).await;
    if let Err(failure) = &result {
        tracing::warn!(target: "axum_download", %url, status = failure.status.as_u16(), detail = %failure.detail, "cache fetch failed");
    }
    result
}

async fn fetch_and_store(
    inner: &Inner,
    url: &reqwest::Url,
    stale: Option<Arc<Record>>,
) -> Result<Outcome, Failure> {
    let started = tokio::time::Instant::now();
    let client = match inner.client.clone() {
        Some(client) => client,
        None => shared_client().map_err(|err| Failure::new(err.status(), err))?,
    };
    let mut request = client.get(url.clone());
    if let Some(stale) = &stale {
        if let Some(etag) = &stale.etag {
            request = request.header(header::IF_NONE_MATCH, etag);
        } else if let Some(date) = &stale.last_modified {
            request = request.header(header::IF_MODIFIED_SINCE, date);
        }
    }
    let wait = inner.timeout.min(inner.deadline);
    let response = send_within(request, url, wait)
        .await
        .map_err(|err| Failure::new(err.status(), err))?;
    let status = response.status();
    let headers = response.headers().clone();
    let policy = Policy::of(&headers, inner.store_private);
    match (status, stale) {
        (StatusCode::NOT_MODIFIED, Some(stale)) => {
            let mut record = (*stale).clone();
            record.fresh_until = unix_now() + policy.fresh_for;
            // A 304 may update the validators and the policy.
            let meta = upstream_meta(&headers);
            if let Some(etag) = meta.etag {
                record.etag = Some(etag_text(&etag));
            }
            if let Some(policy) = meta.cache_control {
                record.cache_control = Some(policy);
            }
            let record = Arc::new(record);
            let dir = inner.dir.clone();
            let written = record.clone();
            fs::spawn_blocking(move || write_sidecar(&dir, &written)).await?;
            Ok(Outcome::Stored(record))
        }
        (StatusCode::OK, _) => {
            if !policy.store {
                return Ok(Outcome::Uncacheable);
            }
            let meta = upstream_meta(&headers);
            if meta.size.is_some_and(|size| size > inner.max_size) {
                return Ok(Outcome::Uncacheable);
            }
            let name = headers
                .get(header::CONTENT_DISPOSITION)
                .and_then(|v| v.to_str().ok())
                .and_then(content_disposition::filename_of)
                .or_else(|| name_from_url(url));
            let text = |name: header::HeaderName| {
                headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            };
            let mut record = Record {
                url: url.to_string(),
                file: data_file_name(url),
                size: 0,
                fresh_until: unix_now() + policy.fresh_for,
                etag: meta.etag.as_ref().map(etag_text),
                last_modified: text(header::LAST_MODIFIED),
                content_type: meta.content_type,
                content_encoding: meta.encoding,
                cache_control: meta.cache_control,
                name,
            };
            let left = inner.deadline.saturating_sub(started.elapsed());
            let body = bounded_body(
                response.bytes_stream(),
                inner.timeout,
                left,
                url.to_string(),
            );
            let Some(size) = write_body(inner, &record, body, meta.size, meta.modified).await?
            else {
                return Ok(Outcome::Uncacheable);
            };
            record.size = size;
            let record = Arc::new(record);
            let dir = inner.dir.clone();
            let written = record.clone();
            fs::spawn_blocking(move || write_sidecar(&dir, &written)).await?;
            Ok(Outcome::Stored(record))
        }
        (StatusCode::NOT_FOUND | StatusCode::GONE, _) => Err(Failure::new(
            StatusCode::NOT_FOUND,
            format_args!("{url} answered {status}"),
        )),
        _ => Err(Failure::new(
            StatusCode::BAD_GATEWAY,
            format_args!("{url} answered {status}"),
        )),
    }
}

/// The entity tag as the upstream wrote it, for `If-None-Match`.
fn etag_text(etag: &ETag) -> String {
    etag.to_header_value()
        .to_str()
        .map_or_else(|_| etag.tag().to_owned(), str::to_owned)
}

/// A new, unique data file name for `url`: its digest and a generation, so
/// a copy being replaced or removed never touches its successor's files.
fn data_file_name(url: &reqwest::Url) -> String {
    static GENERATION: AtomicU64 = AtomicU64::new(0);
    let digest = Sha256::digest(url.as_str().as_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let generation = GENERATION.fetch_add(1, Ordering::Relaxed);
    format!("{hex}-{nanos:020x}{generation:08x}.data")
}

/// Writes the body to a temporary file, syncs it and renames it to the
/// record's data file. `Ok(None)`: larger than the cache, nothing kept. On
/// any failure the temporary file is removed.
async fn write_body(
    inner: &Inner,
    record: &Record,
    mut body: crate::file::ByteStream,
    announced: Option<u64>,
    modified: Option<SystemTime>,
) -> Result<Option<u64>, Failure> {
    let tmp_dir = inner.dir.join(TMP_DIR);
    let temp = tmp_dir.join(format!("{}.part", record.file));
    let final_path = inner.dir.join(&record.file);
    let created = temp.clone();
    let file = fs::spawn_blocking(move || {
        std::fs::create_dir_all(&tmp_dir)?;
        std::fs::File::options()
            .write(true)
            .create_new(true)
            .open(&created)
    })
    .await?;
    let mut guard = TempFile {
        path: Some(temp.clone()),
    };
    let mut file = Some(file);
    let mut buf = BytesMut::with_capacity(WRITE_CHUNK);
    let mut size = 0u64;
    let mut done = false;
    while !done {
        match body.next().await {
            Some(Ok(chunk)) => {
                size += chunk.len() as u64;
                if size > inner.max_size {
                    return Ok(None);
                }
                buf.extend_from_slice(&chunk);
                if buf.len() < WRITE_CHUNK {
                    continue;
                }
            }
            Some(Err(err)) => {
                return Err(Failure::new(
                    StatusCode::BAD_GATEWAY,
                    format_args!("{}: the body failed: {err}", record.url),
                ))
            }
            None => done = true,
        }
        let bytes = buf.split().freeze();
        let mut writing = file.take().ok_or_else(|| io::Error::other("no file"))?;
        writing = fs::spawn_blocking(move || writing.write_all(&bytes).map(|()| writing)).await?;
        file = Some(writing);
    }
    if announced.is_some_and(|n| n != size) {
        return Err(Failure::new(
            StatusCode::BAD_GATEWAY,
            format_args!(
                "{}: the body ended after {size} of {} bytes",
                record.url,
                announced.unwrap_or(0)
            ),
        ));
    }
    let file = file.ok_or_else(|| io::Error::other("no file"))?;
    fs::spawn_blocking(move || {
        if let Some(time) = modified {
            // So the copy's Last-Modified (and nginx's, after a hand-off)
            // is the upstream's.
            file.set_modified(time)?;
        }
        file.sync_all()?;
        drop(file);
        std::fs::rename(&temp, &final_path)
    })
    .await?;
    guard.path = None;
    Ok(Some(size))
}

/// Removes an unfinished download when dropped: on failure, and when the
/// fetch is cancelled.
struct TempFile {
    path: Option<PathBuf>,
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            let remove = move || {
                let _ = std::fs::remove_file(path);
            };
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => drop(runtime.spawn_blocking(remove)),
                Err(_) => remove(),
            }
        }
    }
}

/// Writes `record`'s sidecar: to a temporary file, then renamed.
fn write_sidecar(dir: &Path, record: &Record) -> io::Result<()> {
    let text = serde_json::to_vec_pretty(record).map_err(io::Error::other)?;
    let temp = dir.join(TMP_DIR).join(format!("{}.part", record.sidecar()));
    std::fs::create_dir_all(dir.join(TMP_DIR))?;
    let mut file = std::fs::File::create(&temp)?;
    file.write_all(&text)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&temp, dir.join(record.sidecar()))
}

/// Reads the index back from the sidecars: blocking. Removes unfinished
/// downloads, data files without a valid sidecar, sidecars without their
/// data, and older copies of a URL stored twice.
fn rebuild_blocking(dir: &Path) -> io::Result<Vec<Record>> {
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(TMP_DIR);
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp)?;
    }
    std::fs::create_dir_all(&tmp)?;
    let mut records: HashMap<String, Record> = HashMap::new();
    let mut keep = std::collections::HashSet::new();
    let mut stale = Vec::new();
    for item in std::fs::read_dir(dir)? {
        let item = item?;
        let name = item.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".data.json") {
            continue;
        }
        let record = std::fs::read(item.path())
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Record>(&bytes).ok())
            .filter(|r| r.sidecar() == name && !r.file.contains(['/', '\\']))
            .filter(|r| {
                std::fs::metadata(dir.join(&r.file)).is_ok_and(|m| m.is_file() && m.len() == r.size)
            });
        let Some(record) = record else {
            stale.push(name);
            continue;
        };
        // Data file names sort by generation within a URL's digest.
        match records.get(&record.url) {
            Some(other) if other.file > record.file => stale.push(record.sidecar()),
            Some(other) => {
                stale.push(other.sidecar());
                records.insert(record.url.clone(), record);
            }
            None => {
                records.insert(record.url.clone(), record);
            }
        }
    }
    for record in records.values() {
        keep.insert(record.file.clone());
        keep.insert(record.sidecar());
    }
    for name in stale {
        let _ = std::fs::remove_file(dir.join(name));
    }
    for item in std::fs::read_dir(dir)? {
        let item = item?;
        let name = item.file_name().to_string_lossy().into_owned();
        let ours = name.ends_with(".data") || name.ends_with(".data.json");
        if ours && !keep.contains(&name) {
            std::fs::remove_file(item.path())?;
        }
    }
    let mut records: Vec<Record> = records.into_values().collect();
    // Oldest first: their order of use before the restart is not kept.
    records.sort_by(|a, b| a.file.cmp(&b.file));
    Ok(records)
}

/// Whether and for how long an answer may be kept, from its headers.
struct Policy {
    store: bool,
    /// Seconds it stays fresh.
    fresh_for: u64,
}

impl Policy {
    fn of(headers: &HeaderMap, store_private: bool) -> Self {
        let directives: Vec<(String, Option<String>)> = headers
            .get_all(header::CACHE_CONTROL)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|d| {
                let (name, value) = d.split_once('=').unwrap_or((d, ""));
                let value = value.trim().trim_matches('"');
                (
                    name.trim().to_ascii_lowercase(),
                    (!value.is_empty()).then(|| value.to_owned()),
                )
            })
            .collect();
        let has = |name: &str| directives.iter().any(|(n, _)| n == name);
        let seconds = |name: &str| {
            directives
                .iter()
                .find(|(n, _)| n == name)
                .and_then(|(_, v)| v.as_deref()?.parse::<u64>().ok())
        };
        let store = !has("no-store") && (store_private || !has("private"));
        let date = |name: header::HeaderName| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| httpdate::parse_http_date(v).ok())
        };
        let lifetime = if has("no-cache") {
            0
        } else if let Some(n) = seconds("s-maxage").or_else(|| seconds("max-age")) {
            n
        } else if let Some(expires) = date(header::EXPIRES) {
            let now = date(header::DATE).unwrap_or_else(SystemTime::now);
            expires.duration_since(now).map_or(0, |d| d.as_secs())
        } else {
            0
        };
        let age = headers
            .get(header::AGE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(0);
        Self {
            store,
            fresh_for: lifetime.saturating_sub(age),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(pairs: &[(&str, &str)], store_private: bool) -> Policy {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(
                header::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        Policy::of(&headers, store_private)
    }

    #[test]
    fn max_age_minus_age() {
        let p = policy(
            &[("cache-control", "public, max-age=60"), ("age", "15")],
            false,
        );
        assert!(p.store);
        assert_eq!(p.fresh_for, 45);
    }

    #[test]
    fn s_maxage_wins_for_a_shared_cache() {
        let p = policy(&[("cache-control", "max-age=60, s-maxage=5")], false);
        assert_eq!(p.fresh_for, 5);
    }

    #[test]
    fn no_store_and_private_are_not_stored() {
        assert!(!policy(&[("cache-control", "no-store")], false).store);
        assert!(!policy(&[("cache-control", "No-Store, max-age=60")], true).store);
        assert!(!policy(&[("cache-control", "private, max-age=60")], false).store);
        assert!(policy(&[("cache-control", "private, max-age=60")], true).store);
    }

    #[test]
    fn no_cache_is_stored_but_always_revalidated() {
        let p = policy(&[("cache-control", "no-cache, max-age=60")], false);
        assert!(p.store);
        assert_eq!(p.fresh_for, 0);
    }

    #[test]
    fn expires_relative_to_date() {
        let p = policy(
            &[
                ("date", "Tue, 14 Nov 2023 22:13:20 GMT"),
                ("expires", "Tue, 14 Nov 2023 22:14:20 GMT"),
            ],
            false,
        );
        assert_eq!(p.fresh_for, 60);
        let past = policy(&[("expires", "Thu, 01 Jan 1970 00:00:00 GMT")], false);
        assert_eq!(past.fresh_for, 0);
        assert_eq!(policy(&[("expires", "0")], false).fresh_for, 0);
    }

    #[test]
    fn no_headers_means_revalidate_every_time() {
        let p = policy(&[], false);
        assert!(p.store);
        assert_eq!(p.fresh_for, 0);
    }

    #[test]
    fn data_file_names_are_unique_and_plain() {
        let url = reqwest::Url::parse("http://h/a b/../c").unwrap();
        let (a, b) = (data_file_name(&url), data_file_name(&url));
        assert_ne!(a, b);
        assert_eq!(a[..32], b[..32]);
        assert!(a.ends_with(".data") && !a.contains('/'));
    }

    fn record(url: &str, size: u64) -> Arc<Record> {
        Arc::new(Record {
            url: url.to_owned(),
            file: format!("{url}.data"),
            size,
            fresh_until: 0,
            etag: None,
            last_modified: None,
            content_type: None,
            content_encoding: None,
            cache_control: None,
            name: None,
        })
    }

    #[test]
    fn eviction_takes_the_least_recently_used_first() {
        let mut state = State::default();
        for url in ["a", "b", "c"] {
            assert!(state.insert(record(url, 10), 30).is_empty());
        }
        state.clock += 1;
        state.entries.get_mut("a").unwrap().last_used = state.clock;
        let victims = state.insert(record("d", 10), 30);
        assert_eq!(victims.len(), 1);
        assert_eq!(victims[0].url, "b");
        assert_eq!(state.total, 30);
        // Replacing an entry returns the old copy, never the new one.
        let victims = state.insert(record("d", 25), 30);
        let urls: Vec<&str> = victims.iter().map(|r| r.url.as_str()).collect();
        assert_eq!(urls, ["d", "c", "a"]);
        assert_eq!(state.total, 25);
    }
}
