//! Local files: confining untrusted paths to a root, reading metadata, and
//! streaming bytes with positional reads on the blocking pool.

use std::fs::{File, Metadata};
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use futures_util::future::BoxFuture;

use crate::conditional::{ByteRange, ETag};
use crate::file::{one_chunk, ByteStream, FileMeta, FileSource};

/// How many bytes one read asks for at most. Larger chunks mean fewer hops
/// to the blocking pool; memory per download stays at one or two chunks
/// (one being read, one queued in the server's write buffer).
pub(crate) const CHUNK_SIZE: usize = 256 * 1024;

/// The first read of a stream, and the size it falls back to when the
/// client is slow: a client that stops reading holds this much, not
/// [`CHUNK_SIZE`]. The size doubles, up to [`CHUNK_SIZE`], while the client
/// asks for the next chunk within [`KEEPING_UP`] of the last.
pub(crate) const FIRST_CHUNK_SIZE: usize = 32 * 1024;

/// How soon after a chunk the next one must be asked for to count as a
/// client keeping up.
const KEEPING_UP: std::time::Duration = std::time::Duration::from_millis(20);

/// Files up to this size are read whole while their metadata is, when the
/// request is a plain GET: one trip to the blocking pool instead of two,
/// and the head and body leave in one write. Of a larger file, the first
/// [`FIRST_CHUNK_SIZE`] bytes are read then.
pub(crate) const PREFETCH_MAX: u64 = 64 * 1024;

/// What to read of a file while opening it, on the same trip to the
/// blocking pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Prefetch {
    /// Nothing (`HEAD`, conditional and range requests).
    Nothing,
    /// The whole file when it is small (to be kept by a cache).
    Small,
    /// The whole file when it is small, the first chunk otherwise (a plain
    /// `GET`, which will read it next anyway).
    Start,
}

/// Why an untrusted relative path was refused. Every refusal answers 404.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// Nothing left after removing empty and `.` segments.
    Empty,
    /// A `..` segment.
    ParentDir,
    /// Starts with `/`.
    Absolute,
    /// Contains `\`, a separator on Windows.
    Backslash,
    /// Contains a NUL byte.
    Nul,
    /// Starts with a Windows drive letter such as `C:`.
    DriveLetter,
    /// A Windows device name such as `CON` or `nul.txt`.
    DeviceName,
    /// Resolves (through a symbolic link) outside the root.
    OutsideRoot,
}

impl Refused {
    fn into_io(self, untrusted: &str) -> io::Error {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("refused path {untrusted:?}: {self:?}"),
        )
    }
}

/// Checks an untrusted relative path without touching the file system and
/// returns its segments.
pub(crate) fn check_relative(untrusted: &str) -> Result<Vec<&str>, Refused> {
    if untrusted.contains('\0') {
        return Err(Refused::Nul);
    }
    if untrusted.contains('\\') {
        return Err(Refused::Backslash);
    }
    if untrusted.starts_with('/') {
        return Err(Refused::Absolute);
    }
    let bytes = untrusted.as_bytes();
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        return Err(Refused::DriveLetter);
    }
    let mut segments = Vec::new();
    for segment in untrusted.split('/') {
        match segment {
            "" | "." => continue,
            ".." => return Err(Refused::ParentDir),
            _ if is_device_name(segment) => return Err(Refused::DeviceName),
            _ => segments.push(segment),
        }
    }
    if segments.is_empty() {
        return Err(Refused::Empty);
    }
    Ok(segments)
}

/// Windows reserves these names in every directory, with any extension.
fn is_device_name(segment: &str) -> bool {
    let stem = segment.split('.').next().unwrap_or("").trim_end();
    let upper = stem.to_ascii_uppercase();
    matches!(
        upper.as_str(),
        "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$"
    ) || ((upper.starts_with("COM") || upper.starts_with("LPT"))
        && upper.len() == 4
        && upper.as_bytes()[3].is_ascii_digit()
        && upper.as_bytes()[3] != b'0')
}

/// Where and how a root is served.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Confinement {
    /// Serve symbolic links that point outside the root.
    pub(crate) follow_symlinks_outside: bool,
}

/// A file found under a root, opened: its metadata was read from the open
/// descriptor, and its bytes will be read from the same descriptor, so
/// nothing swapped in after the check is ever described or served.
pub(crate) struct Resolved {
    pub(crate) path: PathBuf,
    pub(crate) file: File,
    pub(crate) metadata: Metadata,
    /// The checked relative path, normalised (`a//./b` is `a/b`).
    pub(crate) relative: String,
    /// The whole content of a small file, read with its metadata.
    pub(crate) prefetched: Option<Bytes>,
}

impl Resolved {
    /// The file model; the client file name is the last segment.
    pub(crate) fn meta(&self) -> FileMeta {
        let mut meta = local_meta(&self.path, &self.metadata);
        meta.relative_path = Some(self.relative.clone());
        meta
    }

    pub(crate) fn source(self) -> LocalFile {
        LocalFile::with_start(self.file, self.metadata.len(), self.prefetched)
    }
}

/// Resolves `untrusted` under `root`, opens it and reads its metadata from
/// the open descriptor: blocking, run it on the blocking pool. Any failure
/// is `NotFound`: a refused path and a missing file look the same to the
/// client.
pub(crate) fn resolve_blocking(
    root: &Path,
    untrusted: &str,
    confinement: Confinement,
    prefetch: Prefetch,
) -> io::Result<Resolved> {
    let segments = check_relative(untrusted).map_err(|r| r.into_io(untrusted))?;
    let relative = segments.join("/");
    let mut path = root.to_path_buf();
    path.extend(segments);
    let (file, metadata) = if confinement.follow_symlinks_outside {
        open_regular(&path)?
    } else {
        open_beneath(root, &relative, &path, untrusted)?
    };
    let prefetched = prefetch_start(prefetch, &metadata, &file)?;
    Ok(Resolved {
        path,
        file,
        metadata,
        relative,
        prefetched,
    })
}

/// Opens `relative` below `root` so that it cannot leave it: on Linux with
/// `openat2(RESOLVE_BENEATH)`, which decides and opens in one step; where
/// that cannot decide (an absolute symbolic link, a kernel without it), by
/// opening and then checking where the opened descriptor really is. The
/// metadata is the descriptor's, checked to be a regular file's.
fn open_beneath(
    root: &Path,
    relative: &str,
    path: &Path,
    untrusted: &str,
) -> io::Result<(File, Metadata)> {
    #[cfg(target_os = "linux")]
    match beneath::open(root, relative) {
        Ok(file) => {
            let metadata = regular_file(path, file.metadata().map_err(not_found)?)?;
            return Ok((file, metadata));
        }
        Err(beneath::Refusal::NotFound(err)) => return Err(not_found(err)),
        Err(beneath::Refusal::Undecided) => {}
    }
    #[cfg(not(target_os = "linux"))]
    let _ = relative;
    let real_root = root.canonicalize().map_err(not_found)?;
    let (file, metadata) = open_regular(path)?;
    check_opened_beneath(&file, path, &real_root)
        .map_err(|_| Refused::OutsideRoot.into_io(untrusted))?;
    Ok((file, metadata))
}

/// Reads what `prefetch` asks for: a small file whole, or the first chunk
/// of a larger one.
pub(crate) fn prefetch_start(
    prefetch: Prefetch,
    metadata: &Metadata,
    file: &File,
) -> io::Result<Option<Bytes>> {
    let size = metadata.len();
    let read = match prefetch {
        _ if size == 0 => 0,
        Prefetch::Nothing => 0,
        _ if size <= PREFETCH_MAX => size,
        Prefetch::Small => 0,
        Prefetch::Start => (FIRST_CHUNK_SIZE as u64).min(size),
    };
    if read == 0 {
        return Ok(None);
    }
    // `read` is at most PREFETCH_MAX: it fits a usize.
    read_into(file, 0, BytesMut::zeroed(read as usize)).map(Some)
}

#[cfg(target_os = "linux")]
mod beneath {
    //! `openat2(2)` with `RESOLVE_BENEATH`.

    use std::fs::File;
    use std::io;
    use std::path::Path;

    use rustix::fs::{Mode, OFlags, ResolveFlags};
    use rustix::io::Errno;

    pub(super) enum Refusal {
        /// Missing, not beneath the root, or otherwise not servable.
        NotFound(io::Error),
        /// `openat2` cannot decide: fall back to checking the opened file.
        Undecided,
    }

    pub(super) fn open(root: &Path, relative: &str) -> Result<File, Refusal> {
        let dir = rustix::fs::open(
            root,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|err| Refusal::NotFound(err.into()))?;
        let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS;
        match rustix::fs::openat2(&dir, relative, super::READ_FLAGS, Mode::empty(), resolve) {
            Ok(fd) => Ok(File::from(fd)),
            // EXDEV: the path would leave the root (or uses an absolute
            // link); ENOSYS/EPERM: no openat2 here; EAGAIN: retry-able race.
            Err(Errno::XDEV | Errno::NOSYS | Errno::PERM | Errno::AGAIN) => Err(Refusal::Undecided),
            Err(err) => Err(Refusal::NotFound(err.into())),
        }
    }
}

/// How every local file is opened on Linux: read-only, and non-blocking so
/// that a FIFO without a writer (or a device) never holds a thread: the
/// type is checked on the descriptor right after. `O_NONBLOCK` changes
/// nothing for reads of regular files.
#[cfg(target_os = "linux")]
const READ_FLAGS: rustix::fs::OFlags = rustix::fs::OFlags::RDONLY
    .union(rustix::fs::OFlags::CLOEXEC)
    .union(rustix::fs::OFlags::NOCTTY)
    .union(rustix::fs::OFlags::NONBLOCK);

/// Opens `path` (following links) without blocking and checks, on the
/// descriptor, that it is a regular file; returns the descriptor's metadata.
pub(crate) fn open_regular(path: &Path) -> io::Result<(File, Metadata)> {
    #[cfg(target_os = "linux")]
    let file = File::from(
        rustix::fs::open(path, READ_FLAGS, rustix::fs::Mode::empty()).map_err(not_found)?,
    );
    #[cfg(not(target_os = "linux"))]
    let file = {
        // No portable non-blocking open: look before opening.
        regular_file(path, std::fs::metadata(path).map_err(not_found)?)?;
        File::open(path).map_err(not_found)?
    };
    let metadata = regular_file(path, file.metadata().map_err(not_found)?)?;
    Ok((file, metadata))
}

/// Opens a trusted path (a file the static-files table checked when it was
/// built) without blocking and without a metadata call.
#[cfg(feature = "static-files")]
pub(crate) fn open_listed(path: &Path) -> io::Result<File> {
    #[cfg(target_os = "linux")]
    return rustix::fs::open(path, READ_FLAGS, rustix::fs::Mode::empty())
        .map(File::from)
        .map_err(not_found);
    #[cfg(not(target_os = "linux"))]
    File::open(path).map_err(not_found)
}

/// `metadata` when it is a regular file's; anything else is `NotFound`.
fn regular_file(path: &Path, metadata: Metadata) -> io::Result<Metadata> {
    if metadata.is_file() {
        Ok(metadata)
    } else {
        Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("{} is not a regular file", path.display()),
        ))
    }
}

fn not_found(err: impl Into<io::Error>) -> io::Error {
    let err = err.into();
    if err.kind() == io::ErrorKind::NotFound {
        err
    } else {
        io::Error::new(io::ErrorKind::NotFound, err)
    }
}

/// Whether a trusted path is absolute and free of `..`.
pub(crate) fn is_plain_absolute(path: &Path) -> bool {
    path.is_absolute() && !path.components().any(|c| c == Component::ParentDir)
}

/// The file model of a local file. Its path is made absolute (without
/// touching the file system), so hand-off rules on absolute directories
/// match files under a relative root too.
pub(crate) fn local_meta(path: &Path, metadata: &Metadata) -> FileMeta {
    FileMeta {
        name: path.file_name().map(|n| n.to_string_lossy().into_owned()),
        size: Some(metadata.len()),
        modified: metadata.modified().ok(),
        etag: Some(file_etag(metadata)),
        local_path: Some(std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())),
        ..FileMeta::default()
    }
}

/// The entity tag nginx gives a static file: the modification time in
/// seconds and the length, in hex (`"5f3a1b2c-d"`). The same file has the
/// same tag on every server of a cluster (no inode), and the tag the
/// client got from nginx after a hand-off is the one the application
/// compares on its next conditional request.
pub(crate) fn file_etag(metadata: &Metadata) -> ETag {
    let seconds = metadata
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs());
    ETag::strong(format!("{seconds:x}-{:x}", metadata.len()))
}

/// The bytes of a local file of a known length, read from the descriptor
/// its metadata came from.
pub(crate) struct LocalFile {
    pub(crate) size: u64,
    pub(crate) file: Arc<File>,
    /// The content, already read with the metadata (small files, plain GET).
    pub(crate) prefetched: Mutex<Option<Bytes>>,
}

impl LocalFile {
    /// The bytes of an open regular file.
    #[cfg_attr(
        not(any(feature = "static-files", feature = "http-download")),
        allow(dead_code)
    )]
    pub(crate) fn open_file(file: File, size: u64) -> Self {
        Self::with_start(file, size, None)
    }

    /// The bytes of an open regular file whose start (or whole content)
    /// was read already, with its metadata.
    pub(crate) fn with_start(file: File, size: u64, start: Option<Bytes>) -> Self {
        Self {
            size,
            file: Arc::new(file),
            prefetched: Mutex::new(start),
        }
    }
}

impl FileSource for LocalFile {
    fn open(&self, range: Option<ByteRange>) -> BoxFuture<'static, io::Result<ByteStream>> {
        let whole = range.is_none_or(|r| r.start == 0 && r.end >= self.size);
        if whole {
            let taken = self.prefetched.lock().ok().and_then(|mut p| p.take());
            if let Some(bytes) = taken {
                let read = bytes.len() as u64;
                if read >= self.size {
                    return Box::pin(async move { Ok(one_chunk(bytes)) });
                }
                // The first chunk was read with the metadata: the rest
                // follows at the pace of a client that took it at once.
                let rest = ByteRange {
                    start: read,
                    end: self.size,
                };
                let stream = stream_range_from(self.file.clone(), rest, Pace::after_first());
                return Box::pin(async move {
                    use futures_util::StreamExt;
                    let first = futures_util::stream::iter([Ok(bytes)]);
                    Ok(Box::pin(first.chain(stream)) as ByteStream)
                });
            }
        }
        let range = range.unwrap_or(ByteRange {
            start: 0,
            end: self.size,
        });
        Box::pin(stream_range(self.file.clone(), range))
    }
}

/// Streams `range` of `file` chunk by chunk: what the page cache holds is
/// read in place, without waiting ([`read_cached`]), the rest on the
/// blocking pool; chunks grow while the client keeps up and shrink when it
/// does not.
async fn stream_range(file: Arc<File>, range: ByteRange) -> io::Result<ByteStream> {
    let start = Pace {
        size: FIRST_CHUNK_SIZE,
        last: None,
    };
    Ok(stream_range_from(file, range, start))
}

/// [`stream_range`] from a given pace.
fn stream_range_from(file: Arc<File>, range: ByteRange, start: Pace) -> ByteStream {
    let stream = futures_util::stream::try_unfold(
        (file, range.start, range.len(), start),
        |(file, offset, remaining, pace)| async move {
            if remaining == 0 {
                return Ok(None);
            }
            let pace = pace.next();
            let mut buf = sized_buffer(remaining, pace.size);
            let cached = read_cached(&file, &mut buf, offset);
            let chunk = if cached == buf.len() {
                buf.freeze()
            } else {
                let reader = file.clone();
                spawn_blocking(move || read_into_from(&reader, offset, buf, cached)).await?
            };
            let n = chunk.len() as u64;
            let pace = Pace {
                last: Some(std::time::Instant::now()),
                ..pace
            };
            Ok(Some((chunk, (file, offset + n, remaining - n, pace))))
        },
    );
    Box::pin(stream)
}

/// The size of the next read, from how fast the last one was taken.
#[derive(Clone, Copy)]
struct Pace {
    size: usize,
    /// When the last chunk was handed on.
    last: Option<std::time::Instant>,
}

impl Pace {
    /// The pace after a first chunk handed on just now.
    fn after_first() -> Self {
        Self {
            size: FIRST_CHUNK_SIZE,
            last: Some(std::time::Instant::now()),
        }
    }

    fn next(self) -> Self {
        let size = match self.last {
            None => self.size,
            Some(last) if last.elapsed() <= KEEPING_UP => (self.size * 2).min(CHUNK_SIZE),
            Some(_) => FIRST_CHUNK_SIZE,
        };
        Self { size, ..self }
    }
}

/// Checks where the *opened* file really is, so nothing swapped in between
/// the path check and the open (a symbolic link to `/etc`, a renamed
/// directory) gets served. On Linux the open descriptor's own path is read
/// from `/proc/self/fd`; elsewhere the path is resolved again.
fn check_opened_beneath(file: &File, path: &Path, root: &Path) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    let real = {
        use std::os::fd::AsRawFd;
        std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd()))
            .or_else(|_| path.canonicalize())?
    };
    #[cfg(not(target_os = "linux"))]
    let real = {
        let _ = file;
        path.canonicalize()?
    };
    if real.starts_with(root) {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::NotFound,
            "the file left its root between the check and the open",
        ))
    }
}

/// A buffer for the next read of at most `remaining` bytes. Allocated by
/// the caller on the runtime's thread, not on the blocking pool's, so the
/// chunks of every download come from the few allocator arenas of the
/// runtime threads instead of one arena per blocking thread.
#[cfg(feature = "static-files")]
fn chunk_buffer(remaining: u64) -> BytesMut {
    sized_buffer(remaining, CHUNK_SIZE)
}

/// A buffer of `size` bytes, or `remaining` when fewer are left.
fn sized_buffer(remaining: u64, size: usize) -> BytesMut {
    let want = usize::try_from(remaining).unwrap_or(usize::MAX).min(size);
    BytesMut::zeroed(want)
}

/// Reads up to one chunk at `offset`; a file that ends before `remaining`
/// bytes were read is an `UnexpectedEof` error.
#[cfg(feature = "static-files")]
pub(crate) fn read_chunk(file: &File, offset: u64, remaining: u64) -> io::Result<Bytes> {
    read_into(file, offset, chunk_buffer(remaining))
}

/// Fills `buf` from `offset`; a file that ends first is an `UnexpectedEof` error.
fn read_into(file: &File, offset: u64, buf: BytesMut) -> io::Result<Bytes> {
    read_into_from(file, offset, buf, 0)
}

/// Fills the rest of `buf`, whose first `filled` bytes are read already.
fn read_into_from(
    file: &File,
    offset: u64,
    mut buf: BytesMut,
    mut filled: usize,
) -> io::Result<Bytes> {
    let want = buf.len();
    if want == 0 {
        return Ok(Bytes::new());
    }
    while filled < want {
        match read_at(file, &mut buf[filled..], offset + filled as u64) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "file is shorter than when it was opened",
                ))
            }
            Ok(n) => filled += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(buf.freeze())
}

/// Fills what it can of `buf` from `offset` with bytes the page cache
/// already holds, without ever waiting for the disk (`preadv2` with
/// `RWF_NOWAIT`), so it may run on the runtime's own threads: a file being
/// served again costs no trip to the blocking pool. Returns how many bytes
/// it read; 0 when nothing is cached or the file system cannot tell (the
/// blocking pool then reads them).
#[cfg(target_os = "linux")]
fn read_cached(file: &File, buf: &mut [u8], offset: u64) -> usize {
    use rustix::io::{Errno, ReadWriteFlags};
    let mut filled = 0;
    while filled < buf.len() {
        let mut slices = [std::io::IoSliceMut::new(&mut buf[filled..])];
        let at = offset + filled as u64;
        match rustix::io::preadv2(file, &mut slices, at, ReadWriteFlags::NOWAIT) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(Errno::INTR) => {}
            // EAGAIN: not (all) cached; EOPNOTSUPP: no such reads here.
            Err(_) => break,
        }
    }
    filled
}

#[cfg(not(target_os = "linux"))]
fn read_cached(_: &File, _: &mut [u8], _: u64) -> usize {
    0
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

#[cfg(windows)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, offset)
}

/// Runs blocking file-system work off the async runtime.
pub(crate) async fn spawn_blocking<T, F>(work: F) -> io::Result<T>
where
    F: FnOnce() -> io::Result<T> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|err| Err(io::Error::other(err)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(target_os = "linux")]
    #[test]
    fn a_cached_file_is_read_in_place_and_a_short_one_stops_at_its_end() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.bin");
        let content: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &content).unwrap();
        let file = File::open(&path).unwrap();
        // Just written: every page is in the page cache.
        let mut buf = vec![0; 40_000];
        assert_eq!(read_cached(&file, &mut buf, 50_000), 40_000);
        assert_eq!(buf, content[50_000..90_000]);
        // Past the end: what there is, and the rest is left to the pool.
        let mut buf = vec![0; 40_000];
        assert_eq!(read_cached(&file, &mut buf, 90_000), 10_000);
        let rest = read_into_from(&file, 90_000, BytesMut::from(&buf[..]), 10_000);
        assert_eq!(rest.unwrap_err().kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn plain_relative_path_is_accepted() {
        assert_eq!(check_relative("a/b.txt"), Ok(vec!["a", "b.txt"]));
    }

    #[test]
    fn empty_and_dot_segments_are_dropped() {
        assert_eq!(check_relative("a//./b.txt"), Ok(vec!["a", "b.txt"]));
    }

    #[test]
    fn refuses_parent_dir() {
        assert_eq!(check_relative("../etc/passwd"), Err(Refused::ParentDir));
    }

    #[test]
    fn refuses_parent_dir_in_the_middle() {
        assert_eq!(check_relative("a/../../b"), Err(Refused::ParentDir));
    }

    #[test]
    fn refuses_trailing_parent_dir() {
        assert_eq!(check_relative("a/.."), Err(Refused::ParentDir));
    }

    #[test]
    fn refuses_absolute_path() {
        assert_eq!(check_relative("/etc/passwd"), Err(Refused::Absolute));
    }

    #[test]
    fn refuses_backslash() {
        assert_eq!(check_relative("a\\..\\b"), Err(Refused::Backslash));
    }

    #[test]
    fn refuses_nul() {
        assert_eq!(check_relative("a\0b"), Err(Refused::Nul));
    }

    #[test]
    fn refuses_drive_letter() {
        assert_eq!(check_relative("C:/Windows"), Err(Refused::DriveLetter));
        assert_eq!(check_relative("c:x"), Err(Refused::DriveLetter));
    }

    #[test]
    fn refuses_device_names() {
        for name in ["CON", "nul.txt", "a/com1", "LPT9.log", "aux "] {
            assert_eq!(check_relative(name), Err(Refused::DeviceName), "{name}");
        }
        for name in ["console.txt", "com0", "lpt10", "nully"] {
            assert!(check_relative(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn refuses_empty_path() {
        assert_eq!(check_relative(""), Err(Refused::Empty));
        assert_eq!(check_relative("./"), Err(Refused::Empty));
    }

    #[test]
    fn dots_inside_names_are_fine() {
        assert!(check_relative("a..b/..c/d..").is_ok());
    }

    #[test]
    fn trusted_path_must_be_absolute_without_parent() {
        assert!(is_plain_absolute(Path::new("/srv/media/a.txt")));
        assert!(!is_plain_absolute(Path::new("media/a.txt")));
        assert!(!is_plain_absolute(Path::new("/srv/../etc/passwd")));
    }
}
