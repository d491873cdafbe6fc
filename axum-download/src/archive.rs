//! [`ArchiveDownload`]: many files as one zip, streamed without temporary
//! files, with an exact length and ranges.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::{StreamExt, TryStreamExt};
use sha2::{Digest, Sha256};

use crate::conditional::{ByteRange, ETag};
use crate::error::DownloadError;
use crate::file::{ByteStream, DownloadFile, FileMeta, FileSource};
use crate::fs::{self, Confinement};
use crate::response::DownloadResponse;
use crate::storage::{Storage, StorageSource};
use crate::zip_format::{EntrySpec, Layout, Part};

/// How many entries an archive may have unless
/// [`ArchiveDownload::max_entries`] says otherwise.
pub const DEFAULT_MAX_ARCHIVE_ENTRIES: usize = 1_000_000;

/// How many storage look-ups run at once while an archive is listed.
const METADATA_CONCURRENCY: usize = 16;

/// Central directory headers are sent in chunks of about this size.
const CENTRAL_CHUNK: usize = 64 * 1024;

/// A download of many files as one zip archive.
///
/// Entries are *stored* (not compressed), so the archive's exact length is
/// known before the first byte: the answer has a `Content-Length`, a strong
/// `ETag` computed from the entries' names, sizes and modification times,
/// and `Last-Modified`; behind [`DownloadLayer`](crate::DownloadLayer) it
/// answers ranges (a broken download resumes with `If-Range`), conditional
/// requests and `HEAD` like any file, and `HEAD` or a 304 reads no file.
/// Names are UTF-8 (flagged so), sorted, with `/` separators; timestamps
/// are the files' own; zip64 records are written when the archive needs
/// them (an entry or offset past 4 GiB, 65,535 entries or more).
///
/// Memory does not grow with the files' sizes: a response holds one header
/// or one chunk of a file at a time. Each entry's CRC-32 sits in its local
/// header, before its bytes, as every zip reader (streaming ones too)
/// expects; it is computed by reading the file once just before its header
/// is sent, and kept in a process-wide cache keyed by the file's path,
/// size and modification time, so the next download or a resumed one reads
/// each file once.
///
/// Three sources:
///
/// - [`from_root`](Self::from_root): the regular files below a directory,
///   recursively, confined to a root exactly as
///   [`PathDownload::from_root`](crate::PathDownload::from_root) confines a
///   file: a directory that escapes the root, is missing or is not a
///   directory answers 404; symbolic links that leave the root, symbolic
///   links to directories, and anything that is not a regular file are left
///   out. Each file is opened again, under the same confinement, when its
///   bytes are sent; a file that changed since the listing fails the
///   transfer rather than produce a corrupt archive.
/// - [`from_storage`](Self::from_storage): named files of a [`Storage`];
///   a missing name answers 404.
/// - [`from_files`](Self::from_files): `(name in the archive, file)` pairs
///   of any download kind whose file has a size and accepts ranges.
///
/// Names in the archive are checked like untrusted paths (no `..`, no
/// absolute path, no `\`, no drive letter or device name) and must be
/// unique: anything else answers 500, so an archive never extracts outside
/// the directory it is extracted in.
///
/// ```
/// use axum_download::{ArchiveDownload, DownloadError, DownloadName, DownloadResponse};
///
/// async fn archive(DownloadName(dir): DownloadName) -> Result<DownloadResponse, DownloadError> {
///     // `GET /archive/docs` answers `docs.zip`; `/archive/../etc` answers 404.
///     ArchiveDownload::from_root("/srv/media", dir).await
/// }
/// ```
#[must_use]
pub struct ArchiveDownload {
    entries: Listing,
    filename: Option<String>,
    force_zip64: bool,
    confinement: Confinement,
    max_entries: usize,
}

enum Listing {
    Directory {
        root: PathBuf,
        untrusted: String,
    },
    Storage {
        storage: Arc<dyn Storage>,
        names: Vec<String>,
    },
    Files(Vec<(String, DownloadFile)>),
}

impl fmt::Debug for ArchiveDownload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = f.debug_struct("ArchiveDownload");
        match &self.entries {
            Listing::Directory { root, untrusted } => {
                out.field("root", root).field("dir", untrusted);
            }
            Listing::Storage { names, .. } => {
                out.field("storage_names", names);
            }
            Listing::Files(files) => {
                out.field("files", &files.len());
            }
        }
        out.field("filename", &self.filename)
            .field("force_zip64", &self.force_zip64)
            .finish_non_exhaustive()
    }
}

impl ArchiveDownload {
    /// The regular files below `untrusted` (a relative path, typically from
    /// the URL) under `root`, recursively, named `DIR.zip` after the
    /// directory's last segment.
    ///
    /// ```
    /// use axum_download::ArchiveDownload;
    ///
    /// let archive = ArchiveDownload::from_root("/srv/media", "reports/2024");
    /// // Awaiting it lists the files and answers `2024.zip`.
    /// ```
    pub fn from_root(root: impl Into<PathBuf>, untrusted: impl Into<String>) -> Self {
        Self::with(Listing::Directory {
            root: root.into(),
            untrusted: untrusted.into(),
        })
    }

    /// The files `names` of `storage`, named `archive.zip` unless
    /// [`filename`](Self::filename) says otherwise.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use axum_download::{ArchiveDownload, FileSystemStorage, Storage};
    ///
    /// let storage: Arc<dyn Storage> = Arc::new(FileSystemStorage::new("/srv/media"));
    /// let archive = ArchiveDownload::from_storage(storage, ["a.pdf", "b/c.pdf"])
    ///     .filename("documents.zip");
    /// ```
    pub fn from_storage<I>(storage: Arc<dyn Storage>, names: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        Self::with(Listing::Storage {
            storage,
            names: names.into_iter().map(Into::into).collect(),
        })
    }

    /// The given files, each under the name it has in the archive (a
    /// relative, `/`-separated path). Each file must have a size and accept
    /// ranges (a one-shot stream cannot be archived: 500).
    ///
    /// ```
    /// use axum_download::{ArchiveDownload, DownloadError, DownloadResponse, PathDownload};
    ///
    /// async fn bundle() -> Result<DownloadResponse, DownloadError> {
    ///     let report = PathDownload::from_root("/srv/media", "report.pdf").await?;
    ///     let data = PathDownload::from_root("/srv/media", "data.csv").await?;
    ///     ArchiveDownload::from_files([
    ///         ("report/report.pdf", report.file().clone()),
    ///         ("report/data.csv", data.file().clone()),
    ///     ])
    ///     .filename("report.zip")
    ///     .await
    /// }
    /// ```
    pub fn from_files<I, N>(files: I) -> Self
    where
        I: IntoIterator<Item = (N, DownloadFile)>,
        N: Into<String>,
    {
        Self::with(Listing::Files(
            files
                .into_iter()
                .map(|(name, file)| (name.into(), file))
                .collect(),
        ))
    }

    fn with(entries: Listing) -> Self {
        Self {
            entries,
            filename: None,
            force_zip64: false,
            confinement: Confinement::default(),
            max_entries: DEFAULT_MAX_ARCHIVE_ENTRIES,
        }
    }

    /// The file name the client sees (`Content-Disposition`).
    ///
    /// ```
    /// let archive = axum_download::ArchiveDownload::from_root("media", "docs").filename("all.zip");
    /// ```
    pub fn filename(mut self, name: impl Into<String>) -> Self {
        self.filename = Some(name.into());
        self
    }

    /// Writes the zip64 records for every entry and the end, even when
    /// nothing needs them (they are written anyway when something does).
    /// Every current zip reader understands them; some very old ones do not.
    ///
    /// ```
    /// let archive = axum_download::ArchiveDownload::from_root("media", "docs").zip64(true);
    /// ```
    pub fn zip64(mut self, always: bool) -> Self {
        self.force_zip64 = always;
        self
    }

    /// Includes files below the directory through symbolic links that point
    /// outside the root (left out by default), for
    /// [`from_root`](Self::from_root).
    ///
    /// ```
    /// let archive = axum_download::ArchiveDownload::from_root("media", "docs")
    ///     .follow_symlinks_outside_root(true);
    /// ```
    pub fn follow_symlinks_outside_root(mut self, follow: bool) -> Self {
        self.confinement.follow_symlinks_outside = follow;
        self
    }

    /// The most entries the archive may have (default
    /// [`DEFAULT_MAX_ARCHIVE_ENTRIES`]); more answer 500. The listing is
    /// held in memory, about 100 bytes per entry plus its name.
    ///
    /// ```
    /// let archive = axum_download::ArchiveDownload::from_root("media", "docs").max_entries(10_000);
    /// ```
    pub fn max_entries(mut self, max: usize) -> Self {
        self.max_entries = max;
        self
    }

    async fn resolve(self) -> Result<DownloadResponse, DownloadError> {
        let max = self.max_entries;
        let (mut entries, default_name, directories_modified) = match self.entries {
            Listing::Directory { root, untrusted } => {
                let confinement = self.confinement;
                let listed =
                    fs::spawn_blocking(move || list_directory(&root, &untrusted, confinement, max))
                        .await
                        .map_err(|err| DownloadError::from_io(&err))?;
                (listed.entries, listed.name, listed.modified)
            }
            Listing::Storage { storage, names } => {
                (storage_entries(storage, names).await?, None, None)
            }
            Listing::Files(files) => (given_entries(files)?, None, None),
        };
        if entries.len() > max {
            return Err(DownloadError::internal(format_args!(
                "an archive of {} entries is over the limit of {max}",
                entries.len()
            )));
        }
        entries.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        if let Some(pair) = entries.windows(2).find(|pair| pair[0].name == pair[1].name) {
            return Err(DownloadError::internal(format_args!(
                "two archive entries are named {:?}",
                pair[0].name
            )));
        }
        let etag = archive_etag(&entries, self.force_zip64);
        let modified = entries
            .iter()
            .filter_map(|e| e.modified)
            .chain(directories_modified)
            .max();
        let mut sources = Vec::with_capacity(entries.len());
        let mut crc_keys = Vec::with_capacity(entries.len());
        let specs = entries
            .into_iter()
            .map(|entry| {
                sources.push(entry.source);
                crc_keys.push(entry.crc_key);
                EntrySpec {
                    name: entry.name,
                    size: entry.size,
                    modified: entry.modified,
                }
            })
            .collect();
        let layout = Layout::new(specs, self.force_zip64)
            .map_err(|err| DownloadError::internal(format_args!("archive: {err}")))?;
        let meta = FileMeta {
            name: Some(
                self.filename
                    .or(default_name)
                    .unwrap_or_else(|| "archive.zip".to_owned()),
            ),
            size: Some(layout.len()),
            modified,
            content_type: Some("application/zip".to_owned()),
            etag: Some(etag),
            ..FileMeta::default()
        };
        let crcs = (0..sources.len()).map(|_| AtomicU64::new(0)).collect();
        let archive = Archive {
            layout,
            sources,
            crc_keys,
            crcs,
        };
        Ok(DownloadResponse::new(DownloadFile::new(
            meta,
            ArchiveSource(Arc::new(archive)),
        )))
    }
}

resolve_on_await!(ArchiveDownload);

/// One file to archive, before the layout.
struct Entry {
    name: String,
    size: u64,
    modified: Option<SystemTime>,
    source: Arc<dyn FileSource>,
    crc_key: Option<CrcKey>,
}

/// The strong entity tag of an archive: a digest of everything its bytes
/// follow from, except the files' contents (as a file's tag is).
fn archive_etag(entries: &[Entry], force_zip64: bool) -> ETag {
    let mut digest = Sha256::new();
    digest.update(b"axum-download zip 1");
    digest.update([u8::from(force_zip64)]);
    for entry in entries {
        let nanos = entry
            .modified
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        digest.update((entry.name.len() as u64).to_le_bytes());
        digest.update(entry.name.as_bytes());
        digest.update(entry.size.to_le_bytes());
        digest.update(nanos.to_le_bytes());
    }
    let hex: String = digest.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    ETag::strong(format!("zip-{hex}"))
}

/// A checked archive name: the segments of `untrusted` joined with `/`.
fn entry_name(untrusted: &str) -> Result<String, DownloadError> {
    fs::check_relative(untrusted)
        .map(|segments| segments.join("/"))
        .map_err(|why| {
            DownloadError::internal(format_args!(
                "refused archive entry name {untrusted:?}: {why:?}"
            ))
        })
}

fn given_entries(files: Vec<(String, DownloadFile)>) -> Result<Vec<Entry>, DownloadError> {
    files
        .into_iter()
        .map(|(name, file)| {
            let name = entry_name(&name)?;
            let Some(size) = file.meta.size else {
                return Err(DownloadError::internal(format_args!(
                    "archive entry {name:?} has no known size"
                )));
            };
            if !file.source.ranges() {
                return Err(DownloadError::internal(format_args!(
                    "archive entry {name:?} is a one-shot stream, which cannot be archived"
                )));
            }
            Ok(Entry {
                crc_key: CrcKey::of(&file.meta),
                name,
                size,
                modified: file.meta.modified,
                source: file.source,
            })
        })
        .collect()
}

async fn storage_entries(
    storage: Arc<dyn Storage>,
    names: Vec<String>,
) -> Result<Vec<Entry>, DownloadError> {
    futures_util::stream::iter(names)
        .map(|name| {
            let storage = storage.clone();
            async move {
                let entry = entry_name(&name)?;
                let meta = storage
                    .metadata(&name)
                    .await
                    .map_err(|err| DownloadError::from_io(&err))?;
                let Some(size) = meta.size else {
                    return Err(DownloadError::internal(format_args!(
                        "the storage gave no size for {name:?}"
                    )));
                };
                Ok(Entry {
                    crc_key: CrcKey::of(&meta),
                    name: entry,
                    size,
                    modified: meta.modified,
                    source: Arc::new(StorageSource { storage, name }),
                })
            }
        })
        .buffered(METADATA_CONCURRENCY)
        .try_collect()
        .await
}

/// The listing of a directory.
struct Listed {
    entries: Vec<Entry>,
    /// `DIR.zip`.
    name: Option<String>,
    /// The latest modification time of the directories walked: a deleted
    /// file changes it, so `Last-Modified` moves forward.
    modified: Option<SystemTime>,
}

/// Lists the regular files below `untrusted` under `root`: blocking, run
/// it on the blocking pool. Every failure to find the directory is
/// `NotFound`.
fn list_directory(
    root: &Path,
    untrusted: &str,
    confinement: Confinement,
    max_entries: usize,
) -> io::Result<Listed> {
    let not_found = |why: String| io::Error::new(io::ErrorKind::NotFound, why);
    let segments = fs::check_relative(untrusted)
        .map_err(|why| not_found(format!("refused directory {untrusted:?}: {why:?}")))?;
    let dir_relative = segments.join("/");
    let name = segments.last().map(|last| format!("{last}.zip"));
    let real_root = root
        .canonicalize()
        .map_err(|err| not_found(format!("{}: {err}", root.display())))?;
    let mut dir = root.to_path_buf();
    dir.extend(&segments);
    let real_dir = dir
        .canonicalize()
        .map_err(|err| not_found(format!("{}: {err}", dir.display())))?;
    if !confinement.follow_symlinks_outside && !real_dir.starts_with(&real_root) {
        return Err(not_found(format!(
            "refused directory {untrusted:?}: it resolves outside the root"
        )));
    }
    let root = Arc::new(root.to_path_buf());
    let mut entries = Vec::new();
    let mut modified = None;
    // (real directory, its name prefix in the archive)
    let mut pending = vec![(real_dir, String::new())];
    while let Some((path, prefix)) = pending.pop() {
        let metadata = std::fs::metadata(&path)
            .map_err(|err| not_found(format!("{}: {err}", path.display())))?;
        if !metadata.is_dir() {
            return Err(not_found(format!("{} is not a directory", path.display())));
        }
        modified = modified.max(metadata.modified().ok());
        for item in std::fs::read_dir(&path)? {
            let item = item?;
            let Ok(file_name) = item.file_name().into_string() else {
                tracing::warn!(path = %item.path().display(), "left a file out of an archive: its name is not UTF-8");
                continue;
            };
            let name = format!("{prefix}{file_name}");
            let file_type = item.file_type()?;
            if file_type.is_dir() {
                // Not through a symbolic link (`file_type` does not follow
                // them), so the walk stays below the directory.
                pending.push((item.path(), format!("{name}/")));
                continue;
            }
            if !(file_type.is_file() || file_type.is_symlink()) {
                continue;
            }
            let relative = format!("{dir_relative}/{name}");
            // The same checks as a single download: confined, regular.
            let resolved =
                match fs::resolve_blocking(&root, &relative, confinement, fs::Prefetch::Nothing) {
                    Ok(resolved) => resolved,
                    Err(err) => {
                        tracing::debug!(%relative, %err, "left a file out of an archive");
                        continue;
                    }
                };
            if entries.len() == max_entries {
                return Err(io::Error::other(format!(
                    "{untrusted:?} holds more than {max_entries} files"
                )));
            }
            let meta = resolved.meta();
            let size = resolved.metadata.len();
            let file_modified = meta.modified;
            entries.push(Entry {
                crc_key: CrcKey::of(&meta),
                name,
                size,
                modified: file_modified,
                source: Arc::new(ConfinedFile {
                    root: root.clone(),
                    relative: resolved.relative,
                    confinement,
                    size,
                    modified: file_modified,
                }),
            });
        }
    }
    Ok(Listed {
        entries,
        name,
        modified,
    })
}

/// A file found by the listing, opened again when its bytes are needed.
struct ConfinedFile {
    root: Arc<PathBuf>,
    relative: String,
    confinement: Confinement,
    size: u64,
    modified: Option<SystemTime>,
}

impl FileSource for ConfinedFile {
    fn open(&self, range: Option<ByteRange>) -> BoxFuture<'static, io::Result<ByteStream>> {
        let root = self.root.clone();
        let relative = self.relative.clone();
        let confinement = self.confinement;
        let (size, modified) = (self.size, self.modified);
        Box::pin(async move {
            let resolved = fs::spawn_blocking(move || {
                // Small files are read with the open, in one trip to the
                // blocking pool: archives of many small files are made of
                // little else.
                let resolved =
                    fs::resolve_blocking(&root, &relative, confinement, fs::Prefetch::Small)?;
                if resolved.metadata.len() != size || resolved.metadata.modified().ok() != modified
                {
                    return Err(io::Error::other(format!(
                        "{relative:?} changed after the archive was listed"
                    )));
                }
                Ok(resolved)
            })
            .await?;
            resolved.source().open(range).await
        })
    }
}

/// What a CRC-32 is remembered by: the file's path or URL, its size, its
/// modification time and its entity tag.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct CrcKey {
    identity: String,
    size: u64,
    modified: SystemTime,
    etag: Option<String>,
}

impl CrcKey {
    /// A key for a file that has a path or a URL and a modification time.
    fn of(meta: &FileMeta) -> Option<Self> {
        let identity = match (&meta.local_path, &meta.url) {
            (Some(path), _) => format!("path:{}", path.display()),
            (None, Some(url)) => format!("url:{url}"),
            (None, None) => return None,
        };
        Some(Self {
            identity,
            size: meta.size?,
            modified: meta.modified?,
            etag: meta.etag.as_ref().map(|e| e.tag().to_owned()),
        })
    }
}

/// How many CRCs the process remembers: 2 generations of this many.
const CRC_CACHE_GENERATION: usize = 32 * 1024;

/// The CRC-32s of files already read, in two generations: lookups promote
/// an entry to the current one, and when it is full the previous one is
/// dropped. Bounded, and close to least-recently-used, without a list.
#[derive(Default)]
struct CrcCache {
    generations: Mutex<[HashMap<CrcKey, u32>; 2]>,
}

impl CrcCache {
    fn shared() -> &'static CrcCache {
        static CACHE: OnceLock<CrcCache> = OnceLock::new();
        CACHE.get_or_init(CrcCache::default)
    }

    fn get(&self, key: &CrcKey) -> Option<u32> {
        let mut generations = self.generations.lock().ok()?;
        if let Some(crc) = generations[0].get(key) {
            return Some(*crc);
        }
        let crc = generations[1].remove(key)?;
        Self::insert_into(&mut generations, key.clone(), crc);
        Some(crc)
    }

    fn insert(&self, key: CrcKey, crc: u32) {
        if let Ok(mut generations) = self.generations.lock() {
            Self::insert_into(&mut generations, key, crc);
        }
    }

    fn insert_into(generations: &mut [HashMap<CrcKey, u32>; 2], key: CrcKey, crc: u32) {
        if generations[0].len() >= CRC_CACHE_GENERATION {
            generations.swap(0, 1);
            generations[0].clear();
        }
        generations[0].insert(key, crc);
    }
}

/// An archive, laid out, with the sources of its entries.
struct Archive {
    layout: Layout,
    sources: Vec<Arc<dyn FileSource>>,
    crc_keys: Vec<Option<CrcKey>>,
    /// CRCs known to this archive: 0 unknown, else `1 << 32 | crc`.
    crcs: Vec<AtomicU64>,
}

impl Archive {
    /// The CRC-32 of entry `index`: remembered, or read from the file.
    async fn crc(&self, index: usize) -> io::Result<u32> {
        let known = self.crcs[index].load(Ordering::Relaxed);
        if known != 0 {
            return Ok(known as u32);
        }
        let key = &self.crc_keys[index];
        let cached = key.as_ref().and_then(|key| CrcCache::shared().get(key));
        let crc = match cached {
            Some(crc) => crc,
            None => {
                let crc = self.read_crc(index).await?;
                if let Some(key) = key {
                    CrcCache::shared().insert(key.clone(), crc);
                }
                crc
            }
        };
        self.crcs[index].store((1 << 32) | u64::from(crc), Ordering::Relaxed);
        Ok(crc)
    }

    async fn read_crc(&self, index: usize) -> io::Result<u32> {
        let (name, size) = self.layout.entry(index);
        if size == 0 {
            return Ok(0);
        }
        let mut stream = self.sources[index].open(None).await?;
        let mut hasher = crc32fast::Hasher::new();
        let mut read = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            let take = usize::try_from(size - read)
                .unwrap_or(usize::MAX)
                .min(chunk.len());
            hasher.update(&chunk[..take]);
            read += take as u64;
            if read == size {
                break;
            }
        }
        if read < size {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("archive entry {name:?} ended {} bytes early", size - read),
            ));
        }
        Ok(hasher.finalize())
    }

    /// The bytes of `start..end` that begin with central directory header
    /// `index` at `at` (at least one header, about [`CENTRAL_CHUNK`]).
    async fn central_chunk(
        &self,
        mut index: usize,
        at: u64,
        start: u64,
        end: u64,
    ) -> io::Result<Bytes> {
        let mut buf = Vec::with_capacity(CENTRAL_CHUNK + 1024);
        let mut header_start = at;
        loop {
            let crc = self.crc(index).await?;
            let before = buf.len();
            self.layout.central_header(index, crc, &mut buf);
            header_start += (buf.len() - before) as u64;
            index += 1;
            if index == self.layout.entry_count()
                || buf.len() >= CENTRAL_CHUNK
                || header_start >= end
            {
                break;
            }
        }
        Ok(slice(buf, at, start, end))
    }
}

/// The part of `bytes` (which start at archive offset `at`) in `start..end`.
fn slice(bytes: Vec<u8>, at: u64, start: u64, end: u64) -> Bytes {
    let len = bytes.len() as u64;
    let from = (start - at).min(len) as usize;
    let to = (end.min(at + len) - at) as usize;
    Bytes::from(bytes).slice(from..to)
}

/// The bytes of an archive: any range, produced from the layout and the
/// entries' sources.
struct ArchiveSource(Arc<Archive>);

/// Where a stream of the archive is.
struct Cursor {
    archive: Arc<Archive>,
    pos: u64,
    end: u64,
    /// The entry being streamed, and how many of its bytes are left.
    data: Option<(ByteStream, u64, usize)>,
}

impl FileSource for ArchiveSource {
    fn open(&self, range: Option<ByteRange>) -> BoxFuture<'static, io::Result<ByteStream>> {
        let archive = self.0.clone();
        let len = archive.layout.len();
        let range = range.unwrap_or(ByteRange { start: 0, end: len });
        let cursor = Cursor {
            archive,
            pos: range.start.min(len),
            end: range.end.min(len),
            data: None,
        };
        let stream: ByteStream = Box::pin(futures_util::stream::try_unfold(cursor, next_chunk));
        Box::pin(async move { Ok(stream) })
    }
}

/// The next chunk of the archive from the cursor's position.
async fn next_chunk(mut cursor: Cursor) -> io::Result<Option<(Bytes, Cursor)>> {
    loop {
        if let Some((stream, left, index)) = &mut cursor.data {
            if *left == 0 {
                cursor.data = None;
                continue;
            }
            let index = *index;
            match stream.next().await {
                Some(Ok(mut chunk)) => {
                    if chunk.len() as u64 > *left {
                        chunk.truncate(*left as usize);
                    }
                    *left -= chunk.len() as u64;
                    cursor.pos += chunk.len() as u64;
                    if chunk.is_empty() {
                        continue;
                    }
                    return Ok(Some((chunk, cursor)));
                }
                Some(Err(err)) => return Err(err),
                None => {
                    let name = cursor.archive.layout.entry(index).0;
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("archive entry {name:?} ended {left} bytes early"),
                    ));
                }
            }
        }
        if cursor.pos >= cursor.end {
            return Ok(None);
        }
        let archive = cursor.archive.clone();
        let layout = &archive.layout;
        let (pos, end) = (cursor.pos, cursor.end);
        let chunk = match layout.part_at(pos) {
            Part::LocalHeader { index, start } => {
                let crc = archive.crc(index).await?;
                slice(layout.local_header(index, crc), start, pos, end)
            }
            Part::Data { index, start } => {
                let size = layout.entry(index).1;
                let from = pos - start;
                let to = (end - start).min(size);
                let range = (from > 0 || to < size).then_some(ByteRange {
                    start: from,
                    end: to,
                });
                let stream = archive.sources[index].open(range).await?;
                cursor.data = Some((stream, to - from, index));
                continue;
            }
            Part::CentralHeader { index, start } => {
                archive.central_chunk(index, start, pos, end).await?
            }
            Part::End { start } => slice(layout.end_records(), start, pos, end),
        };
        cursor.pos += chunk.len() as u64;
        return Ok(Some((chunk, cursor)));
    }
}
