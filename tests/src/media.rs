//! The media root the demo serves in the end-to-end tests: a handful of
//! small files whose names need percent-encoding, a nested path, and one
//! file over 64 MiB with deterministic pseudo-random content.
//!
//! The tree lives in a temporary directory below the system temporary
//! directory (`/tmp`), made world-traversable and world-readable: Apache's
//! children (and nginx's workers) run as `www-data`, not as the user that
//! runs the tests. One tree is shared by the tests of a test binary that run
//! at the same time, and removed when the last of them drops it.

use std::fs;
use std::io::{BufWriter, Write};
use std::ops::Range;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, Weak};

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::{Digest, Sha256};
use tempfile::TempDir;

/// Name of the large file.
pub const BIG_NAME: &str = "big.bin";
/// Size of the large file: a little over 64 MiB, not a multiple of any
/// buffer size a proxy is likely to use.
pub const BIG_LEN: u64 = 64 * 1024 * 1024 + 4099;

/// What a sample file holds.
#[derive(Debug, Clone, Copy)]
pub enum Content {
    /// These bytes.
    Static(&'static [u8]),
    /// [`BIG_LEN`] bytes of [`big_bytes`].
    Big,
}

/// One file of the test media root.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// Path below the media root, `/`-separated.
    pub name: &'static str,
    /// Its bytes.
    pub content: Content,
    /// The `Content-Disposition` the demo gives it as an attachment, where
    /// the contract fixes it; otherwise the tests compare with the demo's
    /// own answer.
    pub disposition: Option<&'static str>,
}

/// Every sample file, the large one last.
pub const SAMPLES: &[Sample] = &[
    Sample {
        name: "hello-world.txt",
        content: Content::Static(b"Hello world!\n"),
        disposition: Some("attachment; filename=\"hello-world.txt\""),
    },
    Sample {
        name: "espace é.txt",
        content: Content::Static("Espace é\n".as_bytes()),
        disposition: Some(
            "attachment; filename=\"espace_e.txt\"; filename*=UTF-8''espace%20%C3%A9.txt",
        ),
    },
    Sample {
        name: "日本語.pdf",
        content: Content::Static(b"%PDF-1.4\n% axum-download demo\n"),
        disposition: Some(
            "attachment; filename=\"___.pdf\"; filename*=UTF-8''%E6%97%A5%E6%9C%AC%E8%AA%9E.pdf",
        ),
    },
    Sample {
        name: "nested/dir/file.txt",
        content: Content::Static(b"nested file\n"),
        disposition: Some("attachment; filename=\"file.txt\""),
    },
    Sample {
        // A `%` in the name: percent-encoded in X-Accel-Redirect, so nginx
        // must decode it exactly once; never handed off with X-Sendfile.
        name: "100% pur.txt",
        content: Content::Static(b"one hundred percent\n"),
        disposition: None,
    },
    Sample {
        name: BIG_NAME,
        content: Content::Big,
        disposition: Some("attachment; filename=\"big.bin\""),
    },
];

/// The sample called `name`.
///
/// # Panics
///
/// When there is none.
#[must_use]
pub fn sample(name: &str) -> &'static Sample {
    SAMPLES
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no sample file {name:?}"))
}

/// Characters left alone in a URL path segment: RFC 3986 unreserved.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `path` with each `/`-separated segment percent-encoded.
#[must_use]
pub fn encode_url_path(path: &str) -> String {
    path.split('/')
        .map(|s| utf8_percent_encode(s, SEGMENT).to_string())
        .collect::<Vec<_>>()
        .join("/")
}

impl Sample {
    /// Its size in bytes.
    #[must_use]
    pub fn size(&self) -> u64 {
        match self.content {
            Content::Static(bytes) => bytes.len() as u64,
            Content::Big => BIG_LEN,
        }
    }

    /// The bytes in `range`.
    ///
    /// # Panics
    ///
    /// When `range` is not within the file.
    #[must_use]
    pub fn slice(&self, range: Range<u64>) -> Vec<u8> {
        assert!(
            range.start <= range.end && range.end <= self.size(),
            "{range:?} is outside {} ({} bytes)",
            self.name,
            self.size()
        );
        match self.content {
            Content::Static(bytes) => bytes[range.start as usize..range.end as usize].to_vec(),
            Content::Big => big_bytes(range),
        }
    }

    /// SHA-256 of its content.
    #[must_use]
    pub fn sha256(&self) -> [u8; 32] {
        match self.content {
            Content::Static(bytes) => Sha256::digest(bytes).into(),
            Content::Big => *big_sha256(),
        }
    }

    /// Its name as a URL path, segments percent-encoded.
    #[must_use]
    pub fn url_path(&self) -> String {
        encode_url_path(self.name)
    }
}

/// SplitMix64: a counter-based generator, so any byte of the large file
/// can be computed without the ones before it.
fn splitmix64(index: u64) -> u64 {
    let mut z = index.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The bytes of the large file in `range` (8 pseudo-random bytes per
/// 8-byte block).
#[must_use]
pub fn big_bytes(range: Range<u64>) -> Vec<u8> {
    let mut out = Vec::with_capacity(range.end.saturating_sub(range.start) as usize);
    let mut pos = range.start;
    while pos < range.end {
        let block = splitmix64(pos / 8).to_le_bytes();
        let from = (pos % 8) as usize;
        let take = (8 - from).min((range.end - pos) as usize);
        out.extend_from_slice(&block[from..from + take]);
        pos += take as u64;
    }
    out
}

/// Chunk size used to generate and hash the large file.
const CHUNK: u64 = 1024 * 1024;

/// SHA-256 of the large file, once computed (while writing it, usually).
static BIG_DIGEST: OnceLock<[u8; 32]> = OnceLock::new();

/// SHA-256 of the large file, computed once per process.
fn big_sha256() -> &'static [u8; 32] {
    BIG_DIGEST.get_or_init(|| {
        let mut hasher = Sha256::new();
        let mut pos = 0;
        while pos < BIG_LEN {
            let end = (pos + CHUNK).min(BIG_LEN);
            hasher.update(big_bytes(pos..end));
            pos = end;
        }
        hasher.finalize().into()
    })
}

/// A media root holding [`SAMPLES`], removed when dropped.
#[derive(Debug)]
pub struct Media {
    _dir: TempDir,
    root: PathBuf,
}

impl Media {
    /// The media root shared by the tests running now in this process;
    /// created on first use, removed when the last user drops it.
    ///
    /// # Panics
    ///
    /// When the tree cannot be written.
    #[must_use]
    pub fn shared() -> Arc<Media> {
        static SHARED: Mutex<Weak<Media>> = Mutex::new(Weak::new());
        let mut shared = SHARED.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(media) = shared.upgrade() {
            return media;
        }
        let media = Arc::new(Media::create());
        *shared = Arc::downgrade(&media);
        media
    }

    fn create() -> Media {
        let dir = tempfile::Builder::new()
            .prefix("axum-download-e2e-")
            .tempdir()
            .expect("create a temporary directory for the media root");
        make_public(dir.path(), true);
        let root = dir.path().join("media");
        fs::create_dir(&root).expect("create the media root");
        make_public(&root, true);
        for sample in SAMPLES {
            let path = root.join(sample.name);
            let mut parent = path.parent().expect("a sample has a parent");
            fs::create_dir_all(parent).expect("create a sample's directory");
            while parent != root {
                make_public(parent, true);
                parent = parent.parent().expect("below the media root");
            }
            match sample.content {
                Content::Static(bytes) => fs::write(&path, bytes).expect("write a sample"),
                Content::Big => write_big(&path),
            }
            make_public(&path, false);
        }
        let root = root.canonicalize().expect("canonical media root");
        Media { _dir: dir, root }
    }

    /// The absolute, canonical path of the media root.
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }
}

fn write_big(path: &Path) {
    let file = fs::File::create(path).expect("create the large sample");
    let mut out = BufWriter::with_capacity(CHUNK as usize, file);
    let mut hasher = Sha256::new();
    let mut pos = 0;
    while pos < BIG_LEN {
        let end = (pos + CHUNK).min(BIG_LEN);
        let chunk = big_bytes(pos..end);
        hasher.update(&chunk);
        out.write_all(&chunk).expect("write the large sample");
        pos = end;
    }
    out.flush().expect("write the large sample");
    let _ = BIG_DIGEST.set(hasher.finalize().into());
}

/// `chmod 755` (directories) or `chmod 644` (files).
pub fn make_public(path: &Path, directory: bool) {
    let mode = if directory { 0o755 } else { 0o644 };
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .unwrap_or_else(|err| panic!("chmod {mode:o} {}: {err}", path.display()));
}
