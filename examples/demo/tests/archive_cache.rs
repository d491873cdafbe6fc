//! Black-box tests of the demo's `/archive/` route against its contract
//! (`shared/demo-contract.md`, "Archives"): the real binary on an ephemeral
//! port, driven over TCP, the archives checked with `unzip -t`.

use std::ffi::OsStr;

use std::path::{Path, PathBuf};
use std::process::Command;

use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{Client, Method, StatusCode};
use tempfile::TempDir;

mod support;
use support::{raw_get, Demo};

/// A whole answer.
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header"))
            .to_str()
            .unwrap()
    }
}

async fn send(method: Method, url: &str, headers: &[(&str, &str)]) -> Reply {
    let client = Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap();
    let mut request = client.request(method, url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request
        .send()
        .await
        .unwrap_or_else(|err| panic!("{url}: {err}"));
    Reply {
        status: response.status(),
        headers: response.headers().clone(),
        body: response.bytes().await.unwrap().to_vec(),
    }
}

async fn get(url: &str, headers: &[(&str, &str)]) -> Reply {
    send(Method::GET, url, headers).await
}

/// A media root below a temporary directory that also holds a secret.
fn media() -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("media");
    for (name, bytes) in [
        ("hello-world.txt", &b"Hello world!\n"[..]),
        ("docs/a.txt", b"a\n"),
        ("docs/sub/espace é.txt", b"accent\n"),
        ("docs/empty.txt", b""),
    ] {
        let path = root.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    std::fs::write(dir.path().join("secret.txt"), "SECRET\n").unwrap();
    dir
}

fn root_of(dir: &TempDir) -> PathBuf {
    dir.path().join("media")
}

/// `unzip -t` of `bytes`: passes, and lists `names`.
fn assert_unzip_passes(bytes: &[u8], names: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.zip");
    std::fs::write(&path, bytes).unwrap();
    let out = Command::new("unzip")
        .arg("-t")
        .arg(&path)
        .output()
        .unwrap_or_else(|err| {
            panic!("`unzip` is needed: apt-get install unzip (./scripts/test.sh does): {err}")
        });
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "unzip -t: {text}");
    for name in names {
        assert!(
            text.contains(&format!("testing: {name} ")),
            "{name} in {text}"
        );
    }
}

fn serving(root: &Path) -> Demo {
    Demo::start([OsStr::new("--media-root"), root.as_os_str()])
}

#[tokio::test]
async fn archive_of_a_directory_is_a_zip_with_exact_length() {
    let dir = media();
    let demo = serving(&root_of(&dir));
    let reply = get(&demo.url("/archive/docs"), &[]).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("content-type"), "application/zip");
    assert_eq!(
        reply.header("content-disposition"),
        "attachment; filename=\"docs.zip\""
    );
    assert_eq!(reply.header("content-length"), reply.body.len().to_string());
    assert_eq!(reply.header("accept-ranges"), "bytes");
    assert!(reply.header("etag").starts_with("\"zip-"));
    assert_unzip_passes(&reply.body, &["a.txt", "empty.txt", "sub/espace é.txt"]);

    let head = send(Method::HEAD, &demo.url("/archive/docs"), &[]).await;
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.header("content-length"), reply.body.len().to_string());
    assert!(head.body.is_empty());
}

#[tokio::test]
async fn a_broken_archive_download_resumes() {
    let dir = media();
    let demo = serving(&root_of(&dir));
    let whole = get(&demo.url("/archive/docs"), &[]).await;
    let etag = whole.header("etag").to_owned();
    let cut = whole.body.len() / 2;
    let rest = get(
        &demo.url("/archive/docs"),
        &[("range", &format!("bytes={cut}-")), ("if-range", &etag)],
    )
    .await;
    assert_eq!(rest.status, StatusCode::PARTIAL_CONTENT);
    let mut joined = whole.body[..cut].to_vec();
    joined.extend(rest.body);
    assert_eq!(joined, whole.body);
    let again = get(&demo.url("/archive/docs"), &[("if-none-match", &etag)]).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn missing_or_escaping_directories_are_404() {
    let dir = media();
    let demo = serving(&root_of(&dir));
    for path in [
        "/archive/nope",
        "/archive/hello-world.txt",
        "/archive/..",
        "/archive/docs/../..",
        "/archive/%2e%2e",
        "/archive/..%2F..",
        "/archive/docs%2Fsub",
    ] {
        // Sent raw: an HTTP client would resolve the dot segments itself
        // (and `/` is the demo's page).
        let (status, answer) = raw_get(&demo.addr, path);
        assert_eq!(status, 404, "{path}: {answer}");
        assert!(!answer.contains("SECRET"), "{path}");
    }
}

// ---------------------------------------------------------------------------
// Cache of remote files
// ---------------------------------------------------------------------------

/// The cache's complete entries (data files and sidecars) in `dir`.
fn entries_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|items| {
            items
                .map(|item| item.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|name| name.ends_with(".data") || name.ends_with(".data.json"))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[tokio::test]
async fn cached_files_are_served_from_the_local_copy() {
    let dir = media();
    let cache = tempfile::tempdir().unwrap();
    let demo = Demo::start([
        OsStr::new("--media-root"),
        root_of(&dir).as_os_str(),
        OsStr::new("--cache-dir"),
        cache.path().as_os_str(),
    ]);
    let first = get(&demo.url("/cached/hello-world.txt"), &[]).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.body, b"Hello world!\n");
    assert_eq!(
        entries_in(cache.path()).len(),
        2,
        "one data file, one sidecar"
    );
    let etag = first.header("etag").to_owned();
    let range = get(
        &demo.url("/cached/hello-world.txt"),
        &[("range", "bytes=6-10")],
    )
    .await;
    assert_eq!(range.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(range.body, b"world");
    let again = get(
        &demo.url("/cached/hello-world.txt"),
        &[("if-none-match", &etag)],
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert_eq!(
        get(&demo.url("/cached/nope.txt"), &[]).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&demo.url("/cached/..%2Fsecret.txt"), &[]).await.status,
        StatusCode::NOT_FOUND
    );
}

/// An upstream on a thread: answers `GET /big.bin` with `LEN` bytes, or, in
/// stall mode, with the headers and the first MiB and then nothing.
struct SlowUpstream {
    addr: String,
    stall: std::sync::Arc<std::sync::atomic::AtomicBool>,
    hits: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

const LEN: usize = 8 * 1024 * 1024;

impl SlowUpstream {
    fn start() -> Self {
        use std::io::{Read, Write};
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let stall = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (stalling, counting) = (stall.clone(), hits.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let stalling = stalling.load(Ordering::SeqCst);
                counting.fetch_add(1, Ordering::SeqCst);
                std::thread::spawn(move || {
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                        head.push(byte[0]);
                    }
                    let _ = write!(
                        stream,
                        "HTTP/1.1 200 OK\r\nContent-Length: {LEN}\r\nCache-Control: max-age=600\r\nConnection: close\r\n\r\n"
                    );
                    let body = vec![b'x'; LEN];
                    if stalling {
                        let _ = stream.write_all(&body[..1024 * 1024]);
                        std::thread::sleep(Duration::from_secs(60));
                    } else {
                        let _ = stream.write_all(&body);
                    }
                });
            }
        });
        Self { addr, stall, hits }
    }
}

/// A demo killed in the middle of a fetch leaves nothing that looks like a
/// complete copy, and the next one fetches again.
#[tokio::test]
async fn a_fetch_killed_midway_leaves_no_entry() {
    use std::sync::atomic::Ordering;
    let dir = media();
    let cache = tempfile::tempdir().unwrap();
    let upstream = SlowUpstream::start();
    let base = format!("http://{}", upstream.addr);
    let root = root_of(&dir);
    let args = [
        OsStr::new("--media-root"),
        root.as_os_str(),
        OsStr::new("--cache-dir"),
        cache.path().as_os_str(),
        OsStr::new("--upstream"),
        OsStr::new(&base),
    ];
    let demo = Demo::start(args);
    let url = demo.url("/cached/big.bin");
    let request = tokio::spawn(async move { get(&url, &[]).await.status });
    // Wait until the download is under way: part of it is on disk.
    let tmp = cache.path().join("tmp");
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let written: u64 = std::fs::read_dir(&tmp)
            .map(|items| items.map(|i| i.unwrap().metadata().unwrap().len()).sum())
            .unwrap_or(0);
        if written > 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the fetch never started"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    drop(demo); // SIGKILL
    request.abort();
    assert_eq!(
        entries_in(cache.path()),
        Vec::<String>::new(),
        "no entry from a half download"
    );

    upstream.stall.store(false, Ordering::SeqCst);
    let demo = Demo::start(args);
    assert_eq!(
        std::fs::read_dir(&tmp).unwrap().count(),
        0,
        "the unfinished download is removed at start-up"
    );
    let reply = get(&demo.url("/cached/big.bin"), &[]).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body.len(), LEN);
    assert_eq!(upstream.hits.load(Ordering::SeqCst), 2);
    assert_eq!(entries_in(cache.path()).len(), 2);
}

#[test]
fn a_bad_cache_size_exits_2() {
    let out = Command::new(env!("CARGO_BIN_EXE_demo"))
        .args(["--cache-size", "lots"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--cache-size"), "{stderr}");
}
