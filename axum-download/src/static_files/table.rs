//! The in-memory table of [`StaticFiles`](super::StaticFiles): every name
//! it answers, and for each name its representations (identity and the
//! `.br`, `.zst`, `.gz` sidecars), each with its headers computed once.
//!
//! Built from the manifest at start-up (and again on reload): one metadata
//! call per file then, none per request. A request only opens the file it
//! is sent, on the blocking pool, or takes its bytes from the byte cache.

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, Metadata};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::SystemTime;

use axum::response::Response;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::header;
use http::{HeaderMap, HeaderValue};

use super::negotiate::Accepted;
use super::{Encoding, StaticFilesError, StaticManifest};
use crate::conditional::{ByteRange, ETag};
use crate::file::{one_chunk, ByteStream, DownloadFile, FileMeta, FileSource, MemorySource};
use crate::fs::{self, LocalFile};
use crate::response::{http_date, pending_response, with_charset};
use crate::storage::encode_path;

/// How a table presents its files: the caching policies, the headers
/// added to every answer, the byte cache.
#[derive(Debug, Clone)]
pub(crate) struct Policy {
    /// The URL prefix, ending in `/` (a file's URL, for hand-off rules
    /// matching on `source_url`).
    pub(crate) prefix: String,
    /// `Cache-Control` of names the manifest lists as hashed.
    pub(crate) hashed_cache_control: HeaderValue,
    /// `Cache-Control` of every other name.
    pub(crate) unhashed_cache_control: HeaderValue,
    /// Added to every file answer (200, 206, 304, 416), over the computed
    /// headers.
    pub(crate) headers: HeaderMap,
    /// Files up to `.0` bytes are kept in memory once read, up to `.1`
    /// bytes in all; `None`: no byte cache.
    pub(crate) byte_cache: Option<(u64, u64)>,
}

/// Every name a collected root answers.
#[derive(Debug, Default)]
pub(crate) struct Table {
    assets: HashMap<Box<str>, Asset>,
}

/// One name: its representations, identity first.
#[derive(Debug)]
pub(crate) struct Asset {
    representations: Vec<Representation>,
    /// Listed in the manifest as a hashed name.
    hashed: bool,
}

/// One representation of a name, ready to answer.
#[derive(Debug)]
pub(crate) struct Representation {
    encoding: Option<Encoding>,
    size: u64,
    headers: HeaderMap,
    content_type: HeaderValue,
    file: Arc<DownloadFile>,
}

/// What every representation of one name shares.
struct Name<'a> {
    name: &'a str,
    hashed: bool,
    /// The name has sidecars: its answers depend on `Accept-Encoding`.
    vary: bool,
    content_type: HeaderValue,
}

impl Table {
    /// Reads every file the manifest lists under `root`, hashed names and
    /// originals, with their sidecars.
    ///
    /// A hashed file that is missing is an error (the manifest promises
    /// it); a missing original is left out and logged, as roots that keep
    /// only hashed files (WhiteNoise's `KEEP_ONLY_HASHED_FILES`) have none.
    ///
    /// Each directory is listed once and its files' metadata read through
    /// the listing: no lookup of a sidecar that is not there, no walk from
    /// the root for each name.
    pub(crate) fn from_manifest(
        root: &Path,
        manifest: &StaticManifest,
        policy: &Policy,
    ) -> Result<Table, StaticFilesError> {
        let mut by_dir: BTreeMap<&str, Vec<Wanted<'_>>> = BTreeMap::new();
        let mut count = 0;
        for entry in manifest.entries() {
            let hashed = entry.hashed() != entry.logical();
            let names = [Some(entry.hashed()), hashed.then(|| entry.logical())];
            for (name, hashed) in names.into_iter().flatten().zip([hashed, false]) {
                if !is_plain_name(name) {
                    return Err(StaticFilesError::config(format!(
                        "the manifest lists {name:?}, which is not a plain relative name \
                         (no `..`, `.`, empty segments, `\\` or leading `/`)"
                    )));
                }
                let (dir, file) = name.rsplit_once('/').unwrap_or(("", name));
                by_dir
                    .entry(dir)
                    .or_default()
                    .push(Wanted { name, file, hashed });
                count += 1;
            }
        }
        let cache = policy
            .byte_cache
            .map(|(max_file, total)| Arc::new(ByteCache::new(max_file, total)));
        let dirs: Vec<(&str, Vec<Wanted<'_>>)> = by_dir.into_iter().collect();
        // Listing and metadata calls wait on the file system, not the CPU:
        // a few threads overlap them. Directories are dealt round-robin.
        let threads = std::thread::available_parallelism()
            .map_or(2, |n| n.get().clamp(2, 8))
            .min(dirs.len().max(1));
        let read = |first: usize| -> Result<Named, StaticFilesError> {
            let mut assets = Vec::new();
            for (dir, wanted) in dirs.iter().skip(first).step_by(threads) {
                let listing = Listing::read(root, dir)?;
                for wanted in wanted {
                    if let Some(asset) = listing.asset(wanted, policy, cache.as_ref())? {
                        assets.push((wanted.name.into(), asset));
                    }
                }
            }
            Ok(assets)
        };
        let parts: Vec<Result<Named, StaticFilesError>> = std::thread::scope(|scope| {
            let read = &read;
            let handles: Vec<_> = (0..threads)
                .map(|first| scope.spawn(move || read(first)))
                .collect();
            handles
                .into_iter()
                .map(|handle| {
                    handle.join().unwrap_or_else(|_| {
                        Err(StaticFilesError::config(
                            "a thread reading the static root panicked",
                        ))
                    })
                })
                .collect()
        });
        let mut assets: HashMap<Box<str>, Asset> = HashMap::with_capacity(count);
        for part in parts {
            for (name, asset) in part? {
                // A name listed both as an original and as a hashed copy
                // (a root collected twice) is the hashed copy.
                match assets.get(&name) {
                    Some(known) if known.hashed && !asset.hashed => {}
                    _ => {
                        assets.insert(name, asset);
                    }
                }
            }
        }
        Ok(Table { assets })
    }

    /// The asset of `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&Asset> {
        self.assets.get(name)
    }

    /// How many names the table answers.
    pub(crate) fn len(&self) -> usize {
        self.assets.len()
    }
}

/// Assets read by one thread, with their names.
type Named = Vec<(Box<str>, Asset)>;

/// A name the manifest lists, in its directory.
struct Wanted<'a> {
    name: &'a str,
    /// The last segment.
    file: &'a str,
    hashed: bool,
}

/// The entries of one directory of the root.
struct Listing {
    dir: PathBuf,
    entries: HashMap<String, std::fs::DirEntry>,
}

impl Listing {
    /// Lists `root/dir`; a missing directory lists nothing.
    fn read(root: &Path, dir: &str) -> Result<Listing, StaticFilesError> {
        let path = if dir.is_empty() {
            root.to_path_buf()
        } else {
            root.join(dir)
        };
        let mut entries = HashMap::new();
        match std::fs::read_dir(&path) {
            Ok(read) => {
                for entry in read {
                    let entry = entry.map_err(|err| StaticFilesError::io("list it", &path, err))?;
                    // A name that is not UTF-8 cannot be in a manifest.
                    if let Ok(name) = entry.file_name().into_string() {
                        entries.insert(name, entry);
                    }
                }
            }
            Err(err) if err.kind() == io::ErrorKind::NotFound => {}
            Err(err) => return Err(StaticFilesError::io("list it", &path, err)),
        }
        Ok(Listing { dir: path, entries })
    }

    /// The path and metadata of `file`, when it is a regular file (through
    /// a symbolic link too: `collectstatic --link` makes those).
    fn regular(&self, file: &str) -> Result<Option<(PathBuf, Metadata)>, StaticFilesError> {
        let Some(entry) = self.entries.get(file) else {
            return Ok(None);
        };
        let path = entry.path();
        let metadata = match entry.file_type() {
            Ok(kind) if kind.is_symlink() => std::fs::metadata(&path),
            _ => entry.metadata(),
        };
        match metadata {
            Ok(metadata) if metadata.is_file() => Ok(Some((path, metadata))),
            Ok(_) => Ok(None),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(StaticFilesError::io("read it", &path, err)),
        }
    }

    /// The asset of one listed name and its sidecars; `None` for a missing
    /// original.
    fn asset(
        &self,
        wanted: &Wanted<'_>,
        policy: &Policy,
        cache: Option<&Arc<ByteCache>>,
    ) -> Result<Option<Asset>, StaticFilesError> {
        let Some((path, metadata)) = self.regular(wanted.file)? else {
            let path = self.dir.join(wanted.file);
            if wanted.hashed {
                return Err(StaticFilesError::config(format!(
                    "{}: the manifest lists it, but it is missing or not a regular file",
                    path.display()
                )));
            }
            crate::report::ignored("original the manifest lists, missing", &path.display());
            return Ok(None);
        };
        let mut found = vec![(None, path, metadata)];
        for encoding in Encoding::ALL {
            let sidecar = format!("{}.{}", wanted.file, encoding.extension());
            if let Some((path, metadata)) = self.regular(&sidecar)? {
                found.push((Some(encoding), path, metadata));
            }
        }
        let shared = Name {
            name: wanted.name,
            hashed: wanted.hashed,
            vary: found.len() > 1,
            content_type: content_type_of(wanted.name),
        };
        let representations = found
            .into_iter()
            .map(|(encoding, path, metadata)| {
                let source = ListedFile::new(path.clone(), &metadata, cache);
                policy.representation(&shared, encoding, path, &metadata, Arc::new(source))
            })
            .collect();
        Ok(Some(Asset {
            representations,
            hashed: wanted.hashed,
        }))
    }
}

/// `Content-Type` from the name's extension, with `charset=utf-8` for
/// text.
fn content_type_of(name: &str) -> HeaderValue {
    let mime = mime_guess::from_path(name)
        .first_raw()
        .unwrap_or("application/octet-stream");
    HeaderValue::from_str(&with_charset(mime.to_owned(), None))
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"))
}

impl Asset {
    /// A name found live (development mode): identity only, unhashed, its
    /// bytes from the file already open.
    pub(crate) fn live(policy: &Policy, name: &str, resolved: fs::Resolved) -> Asset {
        let shared = Name {
            name,
            hashed: false,
            vary: false,
            content_type: content_type_of(name),
        };
        let path = resolved.path.clone();
        let metadata = resolved.metadata.clone();
        let representation =
            policy.representation(&shared, None, path, &metadata, Arc::new(resolved.source()));
        Asset {
            representations: vec![representation],
            hashed: false,
        }
    }

    /// The representation `accepted` gets: see [`Accepted::choose`];
    /// identity when none is acceptable.
    pub(crate) fn choose(&self, accepted: &Accepted) -> &Representation {
        let index = accepted
            .choose(self.representations.iter().map(|r| (r.encoding, r.size)))
            .unwrap_or(0);
        &self.representations[index]
    }

    /// Whether the name has sidecars (its answers vary).
    pub(crate) fn negotiated(&self) -> bool {
        self.representations.len() > 1
    }
}

impl Representation {
    /// The 200 answer, for [`finish`](crate::rfc9110::finish) to turn into the
    /// answer the request's conditions and range call for.
    pub(crate) fn response(&self) -> Response {
        pending_response(
            self.file.clone(),
            self.headers.clone(),
            self.content_type.clone(),
            false,
            self.file.meta.validators(),
        )
    }
}

impl Policy {
    /// One representation and its headers.
    fn representation(
        &self,
        shared: &Name<'_>,
        encoding: Option<Encoding>,
        path: PathBuf,
        metadata: &Metadata,
        source: Arc<dyn FileSource>,
    ) -> Representation {
        let size = metadata.len();
        let etag = representation_etag(metadata, encoding);
        let modified = metadata.modified().ok();
        let mut headers = HeaderMap::with_capacity(10 + self.headers.len());
        headers.insert(header::CONTENT_TYPE, shared.content_type.clone());
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(size));
        headers.insert(header::ETAG, etag.to_header_value());
        if let Some(modified) = modified {
            headers.insert(header::LAST_MODIFIED, http_date(modified));
        }
        headers.insert(
            header::CACHE_CONTROL,
            if shared.hashed {
                self.hashed_cache_control.clone()
            } else {
                self.unhashed_cache_control.clone()
            },
        );
        headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
        headers.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        if let Some(encoding) = encoding {
            headers.insert(
                header::CONTENT_ENCODING,
                HeaderValue::from_static(encoding.as_str()),
            );
        }
        if shared.vary {
            headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
        }
        for name in self.headers.keys() {
            headers.remove(name);
            for value in self.headers.get_all(name) {
                headers.append(name.clone(), value.clone());
            }
        }
        let essence = shared
            .content_type
            .to_str()
            .ok()
            .and_then(|t| t.split(';').next())
            .map(str::to_owned);
        let meta = FileMeta {
            name: Some(shared.name.to_owned()),
            size: Some(size),
            modified,
            content_type: essence,
            encoding: encoding.map(|e| e.as_str().to_owned()),
            etag: Some(etag),
            // Only the identity has the name's URL: a sidecar is never
            // handed off (the proxy would drop its Content-Encoding).
            url: encoding
                .is_none()
                .then(|| format!("{}{}", self.prefix, encode_path(shared.name))),
            local_path: Some(path),
            ..FileMeta::default()
        };
        Representation {
            encoding,
            size,
            headers,
            content_type: shared.content_type.clone(),
            file: Arc::new(DownloadFile { meta, source }),
        }
    }
}

/// The identity's tag is the one nginx gives the file (modification time
/// and length, in hex), so an answer handed off to nginx and one sent by
/// the application carry the same `ETag`. A sidecar's tag is its own
/// file's, with the coding appended: two sidecars of the same length and
/// time still differ.
fn representation_etag(metadata: &Metadata, encoding: Option<Encoding>) -> ETag {
    let file = fs::file_etag(metadata);
    match encoding {
        None => file,
        Some(encoding) => ETag::strong(format!("{}-{}", file.tag(), encoding.as_str())),
    }
}

/// The memory the byte cache may still take.
#[derive(Debug)]
pub(crate) struct ByteCache {
    max_file: u64,
    room: AtomicU64,
}

impl ByteCache {
    fn new(max_file: u64, total: u64) -> Self {
        Self {
            max_file,
            room: AtomicU64::new(total),
        }
    }

    fn reserve(&self, size: u64) -> bool {
        self.room
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |room| {
                room.checked_sub(size)
            })
            .is_ok()
    }

    fn release(&self, size: u64) {
        self.room.fetch_add(size, Ordering::AcqRel);
    }
}

/// A file the table lists: opened at each request (no lookup of its
/// metadata by path), or answered from memory once a small one has been
/// read.
///
/// The descriptor opened is checked against the table (length and
/// modification time, read from the descriptor itself): a file replaced
/// since the table was built (an original rewritten by a new collect,
/// before the reload) fails its transfer instead of sending new bytes under
/// the old headers.
#[derive(Debug)]
struct ListedFile {
    path: PathBuf,
    size: u64,
    modified: Option<SystemTime>,
    /// Set when the file is small enough for the byte cache.
    cached: Option<Cached>,
}

#[derive(Debug, Clone)]
struct Cached {
    bytes: Arc<OnceLock<Bytes>>,
    cache: Arc<ByteCache>,
}

impl ListedFile {
    fn new(path: PathBuf, metadata: &Metadata, cache: Option<&Arc<ByteCache>>) -> Self {
        let size = metadata.len();
        let cached = cache.filter(|c| size <= c.max_file).map(|cache| Cached {
            bytes: Arc::new(OnceLock::new()),
            cache: cache.clone(),
        });
        Self {
            path,
            size,
            modified: metadata.modified().ok(),
            cached,
        }
    }
}

/// Opens a listed file and checks it is still the one the table describes.
fn open_unchanged(path: &Path, size: u64, modified: Option<SystemTime>) -> io::Result<File> {
    let file = fs::open_listed(path)?;
    let now = file.metadata()?;
    if now.len() != size || now.modified().ok() != modified {
        return Err(io::Error::other(format!(
            "{} changed since the static files table was built: reload it",
            path.display()
        )));
    }
    Ok(file)
}

impl FileSource for ListedFile {
    fn open(&self, range: Option<ByteRange>) -> BoxFuture<'static, io::Result<ByteStream>> {
        if let Some(bytes) = self.cached.as_ref().and_then(|c| c.bytes.get()) {
            return MemorySource(bytes.clone()).open(range);
        }
        let path = self.path.clone();
        let (size, modified) = (self.size, self.modified);
        let cached = self.cached.clone();
        let range = range.unwrap_or(ByteRange {
            start: 0,
            end: size,
        });
        Box::pin(async move {
            if let Some(cached) = cached {
                let bytes = fs::spawn_blocking(move || {
                    fs::read_chunk(&open_unchanged(&path, size, modified)?, 0, size)
                })
                .await?;
                if cached.cache.reserve(size) && cached.bytes.set(bytes.clone()).is_err() {
                    // Another request filled it first.
                    cached.cache.release(size);
                }
                return MemorySource(bytes).open(Some(range)).await;
            }
            if range.len() <= fs::PREFETCH_MAX {
                // Open and read in one trip to the blocking pool.
                let bytes = fs::spawn_blocking(move || {
                    let file = open_unchanged(&path, size, modified)?;
                    fs::read_chunk(&file, range.start, range.len())
                })
                .await?;
                return Ok(one_chunk(bytes));
            }
            let file = fs::spawn_blocking(move || open_unchanged(&path, size, modified)).await?;
            LocalFile::open_file(file, size).open(Some(range)).await
        })
    }
}

/// Whether `name` is a relative name without `..`, `.` or empty segments,
/// `\`, NUL, drive letters or device names: the only names a table holds
/// and a request may ask for.
pub(crate) fn is_plain_name(name: &str) -> bool {
    fs::check_relative(name).is_ok_and(|segments| segments.len() == name.split('/').count())
}
