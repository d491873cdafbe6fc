//! [`OpenFileCache`]: what opening a small local file found, remembered
//! for a moment, after nginx's `open_file_cache`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use quick_cache::sync::Cache;
use quick_cache::{Equivalent, Weighter};

use crate::file::FileMeta;
use crate::response::Representation;

/// Remembers, for a short time, the metadata and the bytes of the small
/// local files [`PathDownload`](crate::PathDownload) serves, so that a
/// file asked for again is answered without touching the file system (no
/// trip to the blocking pool, no system call).
///
/// What is remembered may be stale for at most [`valid`](Self::valid)
/// (1 second by default): a small file changed or deleted in that time is
/// served as it was, whole and consistent (its bytes, length and validators
/// are from the same read). Files modified less than `valid` ago are never
/// remembered, so a file being written is always read afresh. Only files of
/// at most [`max_file_size`](Self::max_file_size) (64 KiB) are kept, within
/// [`max_bytes`](Self::max_bytes) (16 MiB) in all; larger files are opened
/// for every request, as without the cache. Each file is checked against
/// its root exactly as without the cache when it is first remembered.
///
/// The cache is cheap to clone (clones share it): keep one in the
/// application state and hand it to each download.
///
/// ```
/// use std::time::Duration;
///
/// use axum::extract::{Path, State};
/// use axum::routing::get;
/// use axum::Router;
/// use axum_download::{Conditions, DownloadError, DownloadResponse, OpenFileCache, PathDownload};
///
/// async fn download(
///     State(files): State<OpenFileCache>,
///     conditions: Conditions,
///     Path(name): Path<String>,
/// ) -> Result<DownloadResponse, DownloadError> {
///     PathDownload::from_root("/srv/media", name)
///         .for_request(&conditions)
///         .cached(&files)
///         .await
/// }
///
/// let files = OpenFileCache::new().valid(Duration::from_millis(500));
/// let app: Router = Router::new()
///     .route("/media/{*name}", get(download))
///     .with_state(files);
/// ```
#[derive(Clone)]
pub struct OpenFileCache {
    inner: Arc<Inner>,
}

struct Inner {
    entries: Cache<Key, Arc<Entry>, ByLength>,
    valid: Duration,
    max_file_size: u64,
}

/// What one open found: the file model and the whole content, and the
/// headers describing them, computed by the first answer from the entry.
pub(crate) struct Entry {
    pub(crate) meta: FileMeta,
    pub(crate) bytes: Bytes,
    pub(crate) representation: Arc<OnceLock<Representation>>,
    checked: Instant,
}

#[derive(Hash, PartialEq, Eq)]
struct Key {
    root: PathBuf,
    name: String,
    follow_symlinks_outside: bool,
}

/// A [`Key`] borrowed from a request, to look up without allocating.
#[derive(Hash)]
pub(crate) struct Lookup<'a> {
    pub(crate) root: &'a Path,
    pub(crate) name: &'a str,
    pub(crate) follow_symlinks_outside: bool,
}

impl Equivalent<Key> for Lookup<'_> {
    fn equivalent(&self, key: &Key) -> bool {
        self.root == key.root
            && self.name == key.name
            && self.follow_symlinks_outside == key.follow_symlinks_outside
    }
}

/// Entries weigh their bytes (and a little for their metadata).
#[derive(Clone)]
struct ByLength;

impl Weighter<Key, Arc<Entry>> for ByLength {
    fn weight(&self, key: &Key, entry: &Arc<Entry>) -> u64 {
        let overhead = 256 + key.name.len() + key.root.as_os_str().len();
        entry.bytes.len() as u64 + overhead as u64
    }
}

const DEFAULT_VALID: Duration = Duration::from_secs(1);
const DEFAULT_MAX_FILE_SIZE: u64 = 64 * 1024;
const DEFAULT_MAX_BYTES: u64 = 16 * 1024 * 1024;

impl Default for OpenFileCache {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for OpenFileCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenFileCache")
            .field("valid", &self.inner.valid)
            .field("max_file_size", &self.inner.max_file_size)
            .field("max_bytes", &self.inner.entries.capacity())
            .field("files", &self.inner.entries.len())
            .finish()
    }
}

impl OpenFileCache {
    /// A cache keeping files of up to 64 KiB, 16 MiB in all, for 1 second.
    ///
    /// ```
    /// use axum_download::OpenFileCache;
    ///
    /// let files = OpenFileCache::new();
    /// assert!(format!("{files:?}").contains("valid: 1s"));
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::build(DEFAULT_VALID, DEFAULT_MAX_FILE_SIZE, DEFAULT_MAX_BYTES)
    }

    fn build(valid: Duration, max_file_size: u64, max_bytes: u64) -> Self {
        let estimated = usize::try_from(max_bytes / 4096)
            .unwrap_or(usize::MAX)
            .max(16);
        Self {
            inner: Arc::new(Inner {
                entries: Cache::with_weighter(estimated, max_bytes, ByLength),
                valid,
                max_file_size,
            }),
        }
    }

    /// How long what was found stays usable: the longest a change can go
    /// unseen. `Duration::ZERO` turns the cache off.
    ///
    /// ```
    /// use std::time::Duration;
    /// use axum_download::OpenFileCache;
    ///
    /// let off = OpenFileCache::new().valid(Duration::ZERO);
    /// ```
    #[must_use]
    pub fn valid(self, valid: Duration) -> Self {
        Self::build(
            valid,
            self.inner.max_file_size,
            self.inner.entries.capacity(),
        )
    }

    /// The largest file kept, in bytes (64 KiB by default).
    ///
    /// ```
    /// use axum_download::OpenFileCache;
    ///
    /// let files = OpenFileCache::new().max_file_size(16 * 1024);
    /// ```
    #[must_use]
    pub fn max_file_size(self, bytes: u64) -> Self {
        Self::build(self.inner.valid, bytes, self.inner.entries.capacity())
    }

    /// The most file content kept in all, in bytes (16 MiB by default);
    /// the least used files make room for new ones.
    ///
    /// ```
    /// use axum_download::OpenFileCache;
    ///
    /// let files = OpenFileCache::new().max_bytes(64 * 1024 * 1024);
    /// ```
    #[must_use]
    pub fn max_bytes(self, bytes: u64) -> Self {
        Self::build(self.inner.valid, self.inner.max_file_size, bytes)
    }

    /// Whether a file is looked up and kept at all.
    pub(crate) fn is_on(&self) -> bool {
        !self.inner.valid.is_zero()
    }

    /// What was found for `lookup` less than `valid` ago.
    pub(crate) fn get(&self, lookup: &Lookup<'_>) -> Option<Arc<Entry>> {
        let entry = self.inner.entries.get(lookup)?;
        if entry.checked.elapsed() < self.inner.valid {
            Some(entry)
        } else {
            None
        }
    }

    /// Keeps what an open found, when the file is small and has not been
    /// modified for at least `valid`.
    pub(crate) fn keep(&self, lookup: &Lookup<'_>, meta: &FileMeta, bytes: &Bytes) {
        let small =
            meta.size == Some(bytes.len() as u64) && meta.size <= Some(self.inner.max_file_size);
        let settled = meta.modified.is_some_and(|modified| {
            SystemTime::now()
                .duration_since(modified)
                .is_ok_and(|age| age >= self.inner.valid)
        });
        if !self.is_on() || !small || !settled {
            return;
        }
        let key = Key {
            root: lookup.root.to_path_buf(),
            name: lookup.name.to_owned(),
            follow_symlinks_outside: lookup.follow_symlinks_outside,
        };
        let entry = Entry {
            meta: meta.clone(),
            bytes: bytes.clone(),
            representation: Arc::default(),
            checked: Instant::now(),
        };
        self.inner.entries.insert(key, Arc::new(entry));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(name: &str) -> Lookup<'_> {
        Lookup {
            root: Path::new("/srv/media"),
            name,
            follow_symlinks_outside: false,
        }
    }

    fn meta(size: u64, age: Duration) -> FileMeta {
        let mut meta = FileMeta::named("a.txt");
        meta.size = Some(size);
        meta.modified = Some(SystemTime::now() - age);
        meta
    }

    #[test]
    fn a_settled_small_file_is_kept_until_it_expires() {
        let files = OpenFileCache::new().valid(Duration::from_millis(200));
        let bytes = Bytes::from_static(b"hello");
        files.keep(&lookup("a.txt"), &meta(5, Duration::from_secs(5)), &bytes);
        let entry = files.get(&lookup("a.txt")).expect("kept");
        assert_eq!(entry.bytes, bytes);
        assert!(files.get(&lookup("b.txt")).is_none());
        std::thread::sleep(Duration::from_millis(250));
        assert!(files.get(&lookup("a.txt")).is_none(), "expired");
    }

    #[test]
    fn a_recently_modified_file_is_not_kept() {
        let files = OpenFileCache::new();
        let bytes = Bytes::from_static(b"hello");
        files.keep(
            &lookup("a.txt"),
            &meta(5, Duration::from_millis(100)),
            &bytes,
        );
        assert!(files.get(&lookup("a.txt")).is_none());
    }

    #[test]
    fn a_large_file_is_not_kept() {
        let files = OpenFileCache::new().max_file_size(4);
        let bytes = Bytes::from_static(b"hello");
        files.keep(&lookup("a.txt"), &meta(5, Duration::from_secs(5)), &bytes);
        assert!(files.get(&lookup("a.txt")).is_none());
    }

    #[test]
    fn bytes_that_do_not_match_the_size_are_not_kept() {
        let files = OpenFileCache::new();
        let bytes = Bytes::from_static(b"hell");
        files.keep(&lookup("a.txt"), &meta(5, Duration::from_secs(5)), &bytes);
        assert!(files.get(&lookup("a.txt")).is_none());
    }

    #[test]
    fn a_zero_validity_keeps_nothing() {
        let files = OpenFileCache::new().valid(Duration::ZERO);
        assert!(!files.is_on());
        let bytes = Bytes::from_static(b"hello");
        files.keep(&lookup("a.txt"), &meta(5, Duration::from_secs(5)), &bytes);
        assert!(files.get(&lookup("a.txt")).is_none());
    }

    #[test]
    fn the_symlink_policy_is_part_of_the_key() {
        let files = OpenFileCache::new();
        let bytes = Bytes::from_static(b"hello");
        files.keep(&lookup("a.txt"), &meta(5, Duration::from_secs(5)), &bytes);
        let other = Lookup {
            follow_symlinks_outside: true,
            ..lookup("a.txt")
        };
        assert!(files.get(&other).is_none());
    }
}
