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

/// How many bytes one read asks for. Larger chunks mean fewer hops to the
/// blocking pool; memory per download stays at one or two chunks (one being
/// read, one queued in the server's write buffer).
pub(crate) const CHUNK_SIZE: usize = 256 * 1024;

/// Files up to this size are read while their metadata is, when the
/// request is a plain GET (see [`crate::layer::plain_get`]): one trip to the
/// blocking pool instead of two, and the head and body leave in one write.
pub(crate) const PREFETCH_MAX: u64 = 64 * 1024;

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

/// A file found under a root.
pub(crate) struct Resolved {
    pub(crate) path: PathBuf,
    pub(crate) metadata: Metadata,
    /// The checked relative path, normalised (`a//./b` is `a/b`).
    pub(crate) relative: String,
    /// How the open must stay in the root, unless symbolic links may leave it.
    pub(crate) confined_to: Option<Beneath>,
    /// The whole content of a small file, read with its metadata.
    pub(crate) prefetched: Option<Bytes>,
}

/// How a file is kept beneath its root when it is opened.
#[derive(Debug, Clone)]
pub(crate) enum Beneath {
    /// Linux: `openat2` with `RESOLVE_BENEATH` from the root: resolution
    /// and open are one atomic step that cannot leave the root.
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    Resolve { root: PathBuf, relative: String },
    /// Elsewhere, or when the kernel refuses `openat2`: open the path, then
    /// check the opened file's real path against the canonical root.
    Check { real_root: PathBuf },
}

impl Resolved {
    /// The file model; the client file name is the last segment.
    pub(crate) fn meta(&self) -> FileMeta {
        let mut meta = local_meta(&self.path, &self.metadata);
        meta.relative_path = Some(self.relative.clone());
        meta
    }

    pub(crate) fn source(self) -> LocalFile {
        LocalFile {
            size: self.metadata.len(),
            path: self.path,
            confined_to: self.confined_to,
            prefetched: Mutex::new(self.prefetched),
        }
    }
}

/// Resolves `untrusted` under `root` and stats it: blocking, run it on the
/// blocking pool. Any failure is `NotFound`: a refused path and a missing
/// file look the same to the client.
pub(crate) fn resolve_blocking(
    root: &Path,
    untrusted: &str,
    confinement: Confinement,
    prefetch: bool,
) -> io::Result<Resolved> {
    let segments = check_relative(untrusted).map_err(|r| r.into_io(untrusted))?;
    let relative = segments.join("/");
    let mut path = root.to_path_buf();
    path.extend(segments);
    if confinement.follow_symlinks_outside {
        let metadata = regular_file_metadata(&path)?;
        let prefetched = prefetch_small(prefetch, &metadata, || File::open(&path))?;
        return Ok(Resolved {
            path,
            metadata,
            relative,
            confined_to: None,
            prefetched,
        });
    }
    #[cfg(target_os = "linux")]
    let purpose = if prefetch {
        beneath::Purpose::Read
    } else {
        beneath::Purpose::Stat
    };
    #[cfg(target_os = "linux")]
    match beneath::open(root, &relative, purpose) {
        Ok(handle) => {
            let metadata = regular_file(&path, handle.metadata().map_err(not_found)?)?;
            let prefetched = prefetch_small(prefetch, &metadata, || Ok(handle))?;
            let confined_to = Some(Beneath::Resolve {
                root: root.to_path_buf(),
                relative: relative.clone(),
            });
            return Ok(Resolved {
                path,
                metadata,
                relative,
                confined_to,
                prefetched,
            });
        }
        Err(beneath::Refusal::NotFound(err)) => return Err(not_found(err)),
        // An absolute symbolic link, one that climbs out and back in, or a
        // kernel without openat2: decide on the canonical paths instead.
        Err(beneath::Refusal::Undecided) => {}
    }
    let real_root = root.canonicalize().map_err(not_found)?;
    let real = path.canonicalize().map_err(not_found)?;
    if !real.starts_with(&real_root) {
        return Err(Refused::OutsideRoot.into_io(untrusted));
    }
    let metadata = regular_file_metadata(&path)?;
    let prefetched = prefetch_small(prefetch, &metadata, || open_checked(&path, &real_root))?;
    Ok(Resolved {
        path,
        metadata,
        relative,
        confined_to: Some(Beneath::Check { real_root }),
        prefetched,
    })
}

/// Reads a small file whole, when asked to and it is small enough.
fn prefetch_small(
    prefetch: bool,
    metadata: &Metadata,
    open: impl FnOnce() -> io::Result<File>,
) -> io::Result<Option<Bytes>> {
    let size = metadata.len();
    if !prefetch || size > PREFETCH_MAX || size == 0 {
        return Ok(None);
    }
    read_chunk(&open()?, 0, size).map(Some)
}

#[cfg(target_os = "linux")]
mod beneath {
    //! `openat2(2)` with `RESOLVE_BENEATH`.

    use std::fs::File;
    use std::io;
    use std::path::Path;

    use rustix::fs::{Mode, OFlags, ResolveFlags};
    use rustix::io::Errno;

    pub(super) enum Purpose {
        /// `O_PATH`: enough to stat, opens nothing for reading.
        Stat,
        Read,
    }

    pub(super) enum Refusal {
        /// Missing, not beneath the root, or otherwise not servable.
        NotFound(io::Error),
        /// `openat2` cannot decide: fall back to canonical paths.
        Undecided,
    }

    pub(super) fn open(root: &Path, relative: &str, purpose: Purpose) -> Result<File, Refusal> {
        let dir = rustix::fs::open(
            root,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|err| Refusal::NotFound(err.into()))?;
        let flags = match purpose {
            Purpose::Stat => OFlags::PATH | OFlags::CLOEXEC,
            Purpose::Read => OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOCTTY,
        };
        let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS;
        match rustix::fs::openat2(&dir, relative, flags, Mode::empty(), resolve) {
            Ok(fd) => Ok(File::from(fd)),
            // EXDEV: the path would leave the root (or uses an absolute
            // link); ENOSYS/EPERM: no openat2 here; EAGAIN: retry-able race.
            Err(Errno::XDEV | Errno::NOSYS | Errno::PERM | Errno::AGAIN) => Err(Refusal::Undecided),
            Err(err) => Err(Refusal::NotFound(err.into())),
        }
    }

    /// Opens for reading beneath the root; `None` when undecided.
    pub(super) fn open_read(root: &Path, relative: &str) -> io::Result<Option<File>> {
        match open(root, relative, Purpose::Read) {
            Ok(file) => Ok(Some(file)),
            Err(Refusal::Undecided) => Ok(None),
            Err(Refusal::NotFound(err)) => Err(err),
        }
    }
}

/// The metadata of a regular file (following links); anything else is `NotFound`.
pub(crate) fn regular_file_metadata(path: &Path) -> io::Result<Metadata> {
    regular_file(path, std::fs::metadata(path).map_err(not_found)?)
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

fn not_found(err: io::Error) -> io::Error {
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

/// The file model of a local file.
pub(crate) fn local_meta(path: &Path, metadata: &Metadata) -> FileMeta {
    FileMeta {
        name: path.file_name().map(|n| n.to_string_lossy().into_owned()),
        size: Some(metadata.len()),
        modified: metadata.modified().ok(),
        etag: Some(file_etag(metadata)),
        local_path: Some(path.to_path_buf()),
        ..FileMeta::default()
    }
}

/// A strong entity tag from the inode, length and modification time in
/// nanoseconds: it changes whenever the file is replaced or written.
fn file_etag(metadata: &Metadata) -> ETag {
    let nanos = metadata
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(metadata);
    #[cfg(not(unix))]
    let inode = 0u64;
    ETag::strong(format!("{inode:x}-{:x}-{nanos:x}", metadata.len()))
}

/// The bytes of a local file of a known length.
pub(crate) struct LocalFile {
    pub(crate) path: PathBuf,
    pub(crate) size: u64,
    /// Kept beneath the root when opened: a path swapped for a symbolic
    /// link between the check and the open cannot escape.
    pub(crate) confined_to: Option<Beneath>,
    /// The content, already read with the metadata (small files, plain GET).
    pub(crate) prefetched: Mutex<Option<Bytes>>,
}

impl LocalFile {
    /// A file opened by its path when its bytes are needed.
    pub(crate) fn at(path: PathBuf, size: u64) -> Self {
        Self {
            path,
            size,
            confined_to: None,
            prefetched: Mutex::new(None),
        }
    }
}

impl FileSource for LocalFile {
    fn open(&self, range: Option<ByteRange>) -> BoxFuture<'static, io::Result<ByteStream>> {
        let whole = range.is_none_or(|r| r.start == 0 && r.end >= self.size);
        if whole {
            let taken = self.prefetched.lock().ok().and_then(|mut p| p.take());
            if let Some(bytes) = taken {
                return Box::pin(async move { Ok(one_chunk(bytes)) });
            }
        }
        let path = self.path.clone();
        let range = range.unwrap_or(ByteRange {
            start: 0,
            end: self.size,
        });
        Box::pin(open_range(path, range, self.confined_to.clone()))
    }
}

/// Opens the file and reads the first chunk in one trip to the blocking
/// pool (a small file needs no other), then streams the rest.
async fn open_range(
    path: PathBuf,
    range: ByteRange,
    confined_to: Option<Beneath>,
) -> io::Result<ByteStream> {
    let buf = chunk_buffer(range.len());
    let (file, first) = spawn_blocking(move || {
        let file = open_confined(&path, confined_to.as_ref())?;
        let first = read_into(&file, range.start, buf)?;
        Ok((Arc::new(file), first))
    })
    .await?;
    let offset = range.start + first.len() as u64;
    let remaining = range.len() - first.len() as u64;
    let rest = futures_util::stream::try_unfold(
        (file, offset, remaining),
        |(file, offset, remaining)| async move {
            if remaining == 0 {
                return Ok(None);
            }
            let reader = file.clone();
            let buf = chunk_buffer(remaining);
            let chunk = spawn_blocking(move || read_into(&reader, offset, buf)).await?;
            let n = chunk.len() as u64;
            Ok(Some((chunk, (file, offset + n, remaining - n))))
        },
    );
    let first = futures_util::stream::iter((!first.is_empty()).then_some(Ok(first)));
    Ok(Box::pin(futures_util::StreamExt::chain(first, rest)))
}

/// Opens `path` for reading, kept beneath its root as `confined_to` says.
fn open_confined(path: &Path, confined_to: Option<&Beneath>) -> io::Result<File> {
    match confined_to {
        None => File::open(path),
        #[cfg(target_os = "linux")]
        Some(Beneath::Resolve { root, relative }) => match beneath::open_read(root, relative)? {
            Some(file) => Ok(file),
            None => open_checked(path, &root.canonicalize()?),
        },
        #[cfg(not(target_os = "linux"))]
        Some(Beneath::Resolve { root, .. }) => open_checked(path, &root.canonicalize()?),
        Some(Beneath::Check { real_root }) => open_checked(path, real_root),
    }
}

/// Opens `path`, then checks the opened file is below `real_root`.
fn open_checked(path: &Path, real_root: &Path) -> io::Result<File> {
    let file = File::open(path)?;
    check_opened_beneath(&file, path, real_root)?;
    Ok(file)
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
fn chunk_buffer(remaining: u64) -> BytesMut {
    let want = usize::try_from(remaining)
        .unwrap_or(usize::MAX)
        .min(CHUNK_SIZE);
    BytesMut::zeroed(want)
}

/// Reads up to one chunk at `offset`; a file that ends before `remaining`
/// bytes were read is an `UnexpectedEof` error.
fn read_chunk(file: &File, offset: u64, remaining: u64) -> io::Result<Bytes> {
    read_into(file, offset, chunk_buffer(remaining))
}

/// Fills `buf` from `offset`; a file that ends first is an `UnexpectedEof` error.
fn read_into(file: &File, offset: u64, mut buf: BytesMut) -> io::Result<Bytes> {
    let want = buf.len();
    if want == 0 {
        return Ok(Bytes::new());
    }
    let mut filled = 0;
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
