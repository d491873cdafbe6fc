//! `ArchiveDownload` through `DownloadLayer`, checked by real zip readers:
//! `unzip -t`, Python's `zipfile` and the `zip` crate. A missing reader is
//! a failure that says how to install it, never a skip.

mod support;

use std::collections::BTreeMap;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::extract::{Path as UrlPath, State};
use axum::routing::get;
use axum::Router;
use axum_download::file::{ByteStream, DownloadFile, FileMeta, FileSource};
use axum_download::rfc9110::ByteRange;
use axum_download::test_util::TempMediaRoot;
use axum_download::{
    ArchiveDownload, DownloadLayer, FileSystemStorage, PathDownload, Storage, VirtualDownload,
};
use futures_util::future::BoxFuture;
use http::{header, Method, StatusCode};
use http_body_util::BodyExt;
use support::{body, header, mkfifo, pattern, request, Download};

/// The files of the test tree below `docs/`, with their bytes.
fn docs_files() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("a.txt", b"first file\n".to_vec()),
        ("espace é.txt", "accent é\n".as_bytes().to_vec()),
        ("empty.txt", Vec::new()),
        ("nested/dir/日本語.pdf", b"%PDF-1.4\n".to_vec()),
        ("nested/big.bin", pattern(600 * 1024 + 17, 1)),
        ("z-link-inside.txt", b"first file\n".to_vec()),
    ]
}

/// A media root with `docs/` (files, a nested tree, a symbolic link inside
/// the root, one leaving it, a FIFO) and a secret file next to the root.
struct Media {
    dir: TempMediaRoot,
}

impl Media {
    fn new() -> Self {
        let dir = TempMediaRoot::new();
        dir.dir("root/empty-dir");
        for (name, bytes) in docs_files() {
            if name != "z-link-inside.txt" {
                dir.file(Path::new("root/docs").join(name), bytes);
            }
        }
        let secret = dir.file("secret.txt", "SECRET\n");
        dir.file("root/top.txt", "top\n");
        dir.symlink("root/docs/z-link-inside.txt", "a.txt");
        dir.symlink("root/docs/leak.txt", secret);
        dir.symlink("root/docs/leak-dir", dir.path());
        dir.symlink("root/outside", dir.path());
        mkfifo(&dir.path().join("root/docs/pipe"));
        Self { dir }
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }
}

async fn archive_handler(State(root): State<PathBuf>, UrlPath(dir): UrlPath<String>) -> Download {
    ArchiveDownload::from_root(root, dir).await
}

async fn zip64_handler(State(root): State<PathBuf>, UrlPath(dir): UrlPath<String>) -> Download {
    ArchiveDownload::from_root(root, dir).zip64(true).await
}

fn app(root: PathBuf) -> Router {
    Router::new()
        .route("/archive/{*dir}", get(archive_handler))
        .route("/zip64/{*dir}", get(zip64_handler))
        .layer(DownloadLayer::new())
        .with_state(root)
}

/// The whole archive, checked: 200, exact length, zip headers.
async fn fetch_whole(app: Router, uri: &str) -> (Vec<u8>, String) {
    let response = request(&app, Method::GET, uri, &[]).await;
    assert_eq!(response.status(), StatusCode::OK, "{uri}");
    assert_eq!(
        header(&response, header::CONTENT_TYPE).unwrap(),
        "application/zip"
    );
    assert_eq!(header(&response, header::ACCEPT_RANGES).unwrap(), "bytes");
    let length: usize = header(&response, header::CONTENT_LENGTH)
        .unwrap()
        .parse()
        .unwrap();
    let etag = header(&response, header::ETAG).unwrap().to_owned();
    assert!(etag.starts_with("\"zip-"), "a strong tag: {etag}");
    let bytes = body(response).await;
    assert_eq!(bytes.len(), length, "Content-Length is exact");
    (bytes, etag)
}

fn expected_docs() -> BTreeMap<String, Vec<u8>> {
    docs_files()
        .into_iter()
        .map(|(name, bytes)| (name.to_owned(), bytes))
        .collect()
}

/// Fails with the install command when `tool` is missing.
fn require(tool: &str, package: &str) {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .is_ok_and(|out| out.status.success());
    assert!(
        found,
        "`{tool}` is needed to check archives with a real reader: install it with \
         `apt-get install {package}` (./scripts/test.sh does)"
    );
}

/// Checks `bytes` with `unzip -t`, Python's `zipfile` and the `zip` crate,
/// and that it holds exactly `expected` (names, sorted, and bytes).
fn check_with_readers(bytes: &[u8], expected: &BTreeMap<String, Vec<u8>>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("archive.zip");
    std::fs::write(&path, bytes).unwrap();

    require("unzip", "unzip");
    let out = Command::new("unzip").arg("-t").arg(&path).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "unzip -t failed:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("No errors detected"), "{text}");

    let script = r#"
import hashlib, json, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    assert z.testzip() is None, "bad CRC"
    out = []
    for info in z.infolist():
        assert info.compress_type == zipfile.ZIP_STORED, info
        assert info.flag_bits & 0x800, "UTF-8 flag"
        out.append([info.filename, info.file_size, z.read(info).hex(), list(info.date_time)])
print(json.dumps(out))
"#;
    let listed: Vec<(String, u64, String, Vec<u32>)> =
        serde_json::from_str(&python(script, &path)).unwrap();
    let names: Vec<&str> = listed.iter().map(|e| e.0.as_str()).collect();
    let want: Vec<&str> = expected.keys().map(String::as_str).collect();
    assert_eq!(names, want, "sorted names");
    for (name, size, hex, date_time) in &listed {
        let bytes = &expected[name];
        assert_eq!(*size, bytes.len() as u64, "{name}");
        assert_eq!(*hex, hex_of(bytes), "{name}");
        assert!(
            date_time[0] >= 2020,
            "a real timestamp for {name}: {date_time:?}"
        );
    }

    let mut archive = zip::ZipArchive::new(io::Cursor::new(bytes)).unwrap();
    assert_eq!(archive.len(), expected.len());
    for (index, (name, want)) in expected.iter().enumerate() {
        let mut file = archive.by_index(index).unwrap();
        assert_eq!(file.name(), name);
        let mut got = Vec::new();
        // Reading to the end checks the CRC.
        file.read_to_end(&mut got).unwrap();
        assert_eq!(&got, want, "{name}");
    }
}

/// Runs a Python `script` on `path` (as `sys.argv[1]`): it must succeed.
/// Returns what it printed.
fn python(script: &str, path: &Path) -> String {
    require("python3", "python3");
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python zipfile: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn directory_archive_passes_three_readers() {
    let media = Media::new();
    let response = request(&app(media.root()), Method::GET, "/archive/docs", &[]).await;
    assert_eq!(
        header(&response, header::CONTENT_DISPOSITION).unwrap(),
        "attachment; filename=\"docs.zip\""
    );
    assert!(httpdate::parse_http_date(header(&response, header::LAST_MODIFIED).unwrap()).is_ok());
    let (bytes, _) = fetch_whole(app(media.root()), "/archive/docs").await;
    // The link leaving the root, the link to a directory and the FIFO are
    // left out; the link inside the root is an entry.
    check_with_readers(&bytes, &expected_docs());
    assert!(!bytes.windows(6).any(|w| w == b"SECRET"));
}

#[tokio::test]
async fn forced_zip64_passes_three_readers() {
    let media = Media::new();
    let (bytes, _) = fetch_whole(app(media.root()), "/zip64/docs").await;
    assert!(
        bytes.windows(4).any(|w| w == [0x50, 0x4b, 0x06, 0x06]),
        "a zip64 end record"
    );
    check_with_readers(&bytes, &expected_docs());
}

#[tokio::test]
async fn empty_directory_is_an_empty_archive() {
    let media = Media::new();
    let (bytes, _) = fetch_whole(app(media.root()), "/archive/empty-dir").await;
    assert_eq!(bytes.len(), 22);
    check_with_readers_without_unzip(&bytes);
}

/// `unzip -t` exits 1 on an archive without entries; the other two readers
/// must read it as empty.
fn check_with_readers_without_unzip(bytes: &[u8]) {
    let archive = zip::ZipArchive::new(io::Cursor::new(bytes)).unwrap();
    assert_eq!(archive.len(), 0);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.zip");
    std::fs::write(&path, bytes).unwrap();
    python(
        "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); assert z.namelist() == []",
        &path,
    );
}

#[tokio::test]
async fn three_ranges_make_the_whole() {
    let media = Media::new();
    let (whole, etag) = fetch_whole(app(media.root()), "/archive/docs").await;
    let len = whole.len();
    // Cuts inside a local header, inside an entry's bytes, and inside the
    // central directory.
    let cuts = [0, 40, len / 2, len - 100, len];
    let mut joined = Vec::new();
    for pair in cuts.windows(2) {
        let range = format!("bytes={}-{}", pair[0], pair[1] - 1);
        let response = request(
            &app(media.root()),
            Method::GET,
            "/archive/docs",
            &[("range", &range)],
        )
        .await;
        assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(header(&response, header::ETAG).unwrap(), etag);
        assert_eq!(
            header(&response, header::CONTENT_RANGE).unwrap(),
            format!("bytes {}-{}/{len}", pair[0], pair[1] - 1)
        );
        joined.extend(body(response).await);
    }
    assert_eq!(joined, whole);
}

#[tokio::test]
async fn every_single_byte_range_matches_the_whole() {
    let media = Media::new();
    let (whole, _) = fetch_whole(app(media.root()), "/archive/docs").await;
    // Every structure boundary is somewhere in here: step through the
    // archive's head and tail byte by byte, the middle in large steps.
    let len = whole.len();
    let starts = (0..300)
        .chain((300..len - 600).step_by(4099))
        .chain(len - 600..len);
    for start in starts {
        let range = format!("bytes={start}-{}", (start + 9).min(len - 1));
        let response = request(
            &app(media.root()),
            Method::GET,
            "/archive/docs",
            &[("range", &range)],
        )
        .await;
        assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(
            body(response).await,
            &whole[start..(start + 10).min(len)],
            "{range}"
        );
    }
}

#[tokio::test]
async fn a_cut_download_resumes_with_if_range() {
    let media = Media::new();
    let (whole, etag) = fetch_whole(app(media.root()), "/archive/docs").await;
    let cut = whole.len() / 3;
    let range = format!("bytes={cut}-");
    let response = request(
        &app(media.root()),
        Method::GET,
        "/archive/docs",
        &[("range", &range), ("if-range", &etag)],
    )
    .await;
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    let mut resumed = whole[..cut].to_vec();
    resumed.extend(body(response).await);
    assert_eq!(resumed, whole);
    check_with_readers(&resumed, &expected_docs());
}

#[tokio::test]
async fn a_changed_file_changes_the_etag_and_if_range_gets_the_whole() {
    let media = Media::new();
    let (_, etag) = fetch_whole(app(media.root()), "/archive/docs").await;
    let file = std::fs::File::options()
        .write(true)
        .open(media.root().join("docs/a.txt"))
        .unwrap();
    file.set_modified(SystemTime::now() + Duration::from_secs(5))
        .unwrap();
    drop(file);
    let (changed, new_etag) = fetch_whole(app(media.root()), "/archive/docs").await;
    assert_ne!(etag, new_etag);
    let response = request(
        &app(media.root()),
        Method::GET,
        "/archive/docs",
        &[("range", "bytes=100-"), ("if-range", &etag)],
    )
    .await;
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "a stale If-Range gets the whole"
    );
    assert_eq!(body(response).await, changed);
    // A new file too.
    std::fs::write(media.root().join("docs/new.txt"), "new\n").unwrap();
    let (_, newer) = fetch_whole(app(media.root()), "/archive/docs").await;
    assert_ne!(newer, new_etag);
}

#[tokio::test]
async fn a_file_changed_during_the_transfer_fails_it() {
    let media = Media::new();
    let response = request(&app(media.root()), Method::GET, "/archive/docs", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    std::fs::write(media.root().join("docs/nested/big.bin"), b"shorter now").unwrap();
    let result = response.into_body().collect().await;
    assert!(result.is_err(), "a corrupt archive must not look complete");
}

#[tokio::test]
async fn conditional_and_head_answers() {
    let media = Media::new();
    let (whole, etag) = fetch_whole(app(media.root()), "/archive/docs").await;
    let response = request(
        &app(media.root()),
        Method::GET,
        "/archive/docs",
        &[("if-none-match", &etag)],
    )
    .await;
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
    let response = request(&app(media.root()), Method::HEAD, "/archive/docs", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header(&response, header::CONTENT_LENGTH).unwrap(),
        whole.len().to_string()
    );
    assert!(body(response).await.is_empty());
}

/// A source that counts how often it is opened.
struct Counting {
    bytes: Vec<u8>,
    opened: Arc<AtomicUsize>,
}

impl FileSource for Counting {
    fn open(&self, range: Option<ByteRange>) -> BoxFuture<'static, io::Result<ByteStream>> {
        self.opened.fetch_add(1, Ordering::SeqCst);
        let range = range.unwrap_or(ByteRange {
            start: 0,
            end: self.bytes.len() as u64,
        });
        let chunk =
            bytes::Bytes::copy_from_slice(&self.bytes[range.start as usize..range.end as usize]);
        Box::pin(async move {
            let stream: ByteStream = Box::pin(futures_util::stream::iter([Ok(chunk)]));
            Ok(stream)
        })
    }
}

fn counted(name: &str, bytes: &[u8], opened: &Arc<AtomicUsize>) -> (String, DownloadFile) {
    let mut meta = FileMeta::named(name);
    meta.size = Some(bytes.len() as u64);
    meta.modified = Some(SystemTime::now());
    let source = Counting {
        bytes: bytes.to_vec(),
        opened: opened.clone(),
    };
    (name.to_owned(), DownloadFile::new(meta, source))
}

#[tokio::test]
async fn head_and_304_open_no_file() {
    let opened = Arc::new(AtomicUsize::new(0));
    let files = vec![
        counted("b.txt", b"bee\n", &opened),
        counted("a/c.txt", b"sea\n", &opened),
    ];
    let archive_app = {
        let files = files.clone();
        Router::new()
            .route(
                "/files.zip",
                get(move || {
                    let files = files.clone();
                    async move {
                        ArchiveDownload::from_files(files)
                            .filename("files.zip")
                            .await
                    }
                }),
            )
            .layer(DownloadLayer::new())
    };
    let response = request(&archive_app, Method::HEAD, "/files.zip", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    let etag = header(&response, header::ETAG).unwrap().to_owned();
    body(response).await;
    let response = request(
        &archive_app,
        Method::GET,
        "/files.zip",
        &[("if-none-match", &etag)],
    )
    .await;
    assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
    body(response).await;
    assert_eq!(
        opened.load(Ordering::SeqCst),
        0,
        "HEAD and 304 read nothing"
    );

    let (bytes, _) = fetch_whole(archive_app, "/files.zip").await;
    // Sources without a path have no CRC cache entry: each is read once for
    // its CRC and once for its bytes.
    assert_eq!(opened.load(Ordering::SeqCst), 4);
    let expected = [("a/c.txt", b"sea\n".to_vec()), ("b.txt", b"bee\n".to_vec())]
        .into_iter()
        .map(|(n, b)| (n.to_owned(), b))
        .collect();
    check_with_readers(&bytes, &expected);
}

#[tokio::test]
async fn storage_and_download_sources() {
    let media = Media::new();
    let storage: Arc<dyn Storage> = Arc::new(FileSystemStorage::new(media.root()));
    let archive = ArchiveDownload::from_storage(storage.clone(), ["top.txt", "docs/a.txt"])
        .await
        .unwrap();
    assert_eq!(archive.meta().name.as_deref(), Some("archive.zip"));
    let expected: BTreeMap<String, Vec<u8>> = [
        ("docs/a.txt".to_owned(), b"first file\n".to_vec()),
        ("top.txt".to_owned(), b"top\n".to_vec()),
    ]
    .into();
    check_with_readers(
        &body(axum::response::IntoResponse::into_response(archive)).await,
        &expected,
    );

    let missing = ArchiveDownload::from_storage(storage, ["top.txt", "nope.txt"]).await;
    assert_eq!(missing.unwrap_err().status(), StatusCode::NOT_FOUND);

    let top = PathDownload::from_root(media.root(), "top.txt")
        .await
        .unwrap();
    let archive = ArchiveDownload::from_files([("renamed/top.txt", top.file().clone())])
        .await
        .unwrap();
    let expected: BTreeMap<String, Vec<u8>> =
        [("renamed/top.txt".to_owned(), b"top\n".to_vec())].into();
    check_with_readers(
        &body(axum::response::IntoResponse::into_response(archive)).await,
        &expected,
    );
}

/// The archive was refused with a 500.
fn assert_500(result: Download) {
    let err = result.expect_err("the archive must be refused");
    assert_eq!(err.status(), StatusCode::INTERNAL_SERVER_ERROR, "{err}");
}

#[tokio::test]
async fn refused_entry_names_are_500() {
    let media = Media::new();
    let top = PathDownload::from_root(media.root(), "top.txt")
        .await
        .unwrap();
    for name in [
        "../evil.txt",
        "/etc/passwd",
        "a\\b.txt",
        "C:/x.txt",
        "a/../../b",
        "",
        "NUL",
    ] {
        let result = ArchiveDownload::from_files([(name, top.file().clone())]).await;
        assert_500(result);
    }
    let twice = ArchiveDownload::from_files([
        ("same.txt", top.file().clone()),
        ("./same.txt", top.file().clone()),
    ])
    .await;
    assert_500(twice);
}

#[tokio::test]
async fn one_shot_and_unsized_sources_are_500() {
    let stream = VirtualDownload::stream(
        "s.bin",
        futures_util::stream::iter([Ok::<_, io::Error>(bytes::Bytes::from_static(b"x"))]),
    );
    let result = ArchiveDownload::from_files([("s.bin", stream.file().clone())]).await;
    assert_500(result);
}

#[tokio::test]
async fn too_many_entries_are_500() {
    let media = Media::new();
    let result = ArchiveDownload::from_root(media.root(), "docs")
        .max_entries(2)
        .await;
    assert_500(result);
}

#[tokio::test]
async fn missing_and_escaping_directories_are_404() {
    let media = Media::new();
    for uri in [
        "/archive/nope",
        "/archive/top.txt",
        "/archive/..",
        "/archive/docs/../..",
        "/archive/%2e%2e",
        "/archive/outside",
        "/archive/docs/leak-dir",
        "/archive//etc",
        "/archive/docs%5C..",
    ] {
        let response = request(&app(media.root()), Method::GET, uri, &[]).await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{uri}");
    }
}

/// An entry past 4 GiB, from a sparse file: the length is exact without
/// reading it, and the archive's head and tail (fetched as ranges, the
/// middle left as a hole) are read by Python's `zipfile` and the `zip`
/// crate with the right sizes.
#[tokio::test]
async fn a_sparse_entry_past_4_gib_uses_zip64() {
    let media = Media::new();
    let big_len: u64 = 4 * 1024 * 1024 * 1024 + 100 * 1024 * 1024;
    std::fs::create_dir(media.root().join("huge")).unwrap();
    let file = std::fs::File::create(media.root().join("huge/sparse.bin")).unwrap();
    file.set_len(big_len).unwrap();
    drop(file);
    std::fs::write(media.root().join("huge/z.txt"), b"after the big one\n").unwrap();

    let response = request(&app(media.root()), Method::HEAD, "/archive/huge", &[]).await;
    let len: u64 = header(&response, header::CONTENT_LENGTH)
        .unwrap()
        .parse()
        .unwrap();
    // Two local headers (zip64 extra on the big one), the bytes, two central
    // headers (zip64 extras: the sizes of one, the offset of the other) and
    // the zip64 end records.
    let names = "sparse.bin".len() as u64 + "z.txt".len() as u64;
    let expected = (30 * 2 + names + 9 * 2 + 20)
        + big_len
        + 18
        + (46 * 2 + names + 9 * 2 + 20 + 12)
        + (56 + 20 + 22);
    assert_eq!(len, expected);

    let head_len = 4096u64;
    let tail_len = 512u64;
    let started = std::time::Instant::now();
    let head = body(
        request(
            &app(media.root()),
            Method::GET,
            "/archive/huge",
            &[("range", &format!("bytes=0-{}", head_len - 1))],
        )
        .await,
    )
    .await;
    let tail_range = format!("bytes={}-", len - tail_len);
    let tail = body(
        request(
            &app(media.root()),
            Method::GET,
            "/archive/huge",
            &[("range", &tail_range)],
        )
        .await,
    )
    .await;
    eprintln!(
        "CRC-32 of {big_len} bytes (sparse), head and tail: {:?}",
        started.elapsed()
    );
    assert_eq!((head.len() as u64, tail.len() as u64), (head_len, tail_len));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.zip");
    let out = std::fs::File::create(&path).unwrap();
    out.set_len(len).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&out, &head, 0).unwrap();
    std::os::unix::fs::FileExt::write_all_at(&out, &tail, len - tail_len).unwrap();
    drop(out);
    let listing = python(
        "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); print([(i.filename, i.file_size, i.header_offset) for i in z.infolist()]); assert z.read('z.txt') == b'after the big one\\n'",
        &path,
    );
    assert!(
        listing.contains(&format!("('sparse.bin', {big_len}, 0)")),
        "{listing}"
    );

    let file = std::fs::File::open(&path).unwrap();
    let mut archive = zip::ZipArchive::new(file).unwrap();
    assert_eq!(archive.by_name("sparse.bin").unwrap().size(), big_len);
    let mut small = String::new();
    archive
        .by_name("z.txt")
        .unwrap()
        .read_to_string(&mut small)
        .unwrap();
    assert_eq!(small, "after the big one\n");
}

#[test]
fn sparse_files_are_supported_here() {
    // The test above relies on it: 4 GiB of real zeros would not fit.
    let dir = tempfile::tempdir().unwrap();
    let file = std::fs::File::create(dir.path().join("s")).unwrap();
    file.set_len(1 << 32).unwrap();
    let blocks = std::os::unix::fs::MetadataExt::blocks(&file.metadata().unwrap());
    assert!(
        blocks < 1024,
        "{} is not sparse-capable",
        Path::new(dir.path()).display()
    );
}
