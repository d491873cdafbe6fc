//! Faults over real TCP: files that vanish or shrink while they are sent,
//! an upstream that dies in the middle of its body, clients that disconnect
//! in the middle of a download, and storage errors.
//!
//! Every test serves its app with `axum::serve` on 127.0.0.1 and talks to it
//! with a raw HTTP/1.1 client over a tokio `TcpStream`, so an aborted
//! transfer is seen exactly as a browser sees it: the connection closes
//! before `Content-Length` bytes (or before the last chunk) arrived. The
//! tests run one at a time (they count the process's file descriptors).
#![cfg(unix)]

mod support;

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path as UrlPath, State};
use axum::routing::get;
use axum::Router;
use axum_download::file::{ByteStream, FileMeta};
use axum_download::rfc9110::ByteRange;
use axum_download::test_util::TempMediaRoot;
use axum_download::{DownloadLayer, FileSystemStorage, PathDownload, Storage, StorageDownload};
use futures_util::future::BoxFuture;
use support::raw_http::{fetch, find, read_head, read_to_close, Head, Transfer, TRANSFER_TIMEOUT};
use support::{path_app, path_handler, pattern, serial, serve, unused_addr, Download};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const MIB: usize = 1024 * 1024;
/// The seed of the test bytes.
const SEED: u32 = 0x2545_F491;
/// A path only the storage knows; it must never reach a client.
const SECRET_ROOT: &str = "/srv/internal/secret-storage";

// ---------------------------------------------------------------------------
// Server side.
// ---------------------------------------------------------------------------

/// What a handler does to the file after the metadata was read and before
/// the response is returned (and so before the body is opened).
#[derive(Clone, Copy)]
enum Sabotage {
    Delete,
    Truncate(u64),
}

impl Sabotage {
    fn apply(self, path: &Path) {
        match self {
            Self::Delete => std::fs::remove_file(path).unwrap(),
            Self::Truncate(len) => std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .unwrap()
                .set_len(len)
                .unwrap(),
        }
    }
}

/// `/path/{name}` and `/storage/{name}` downloads that sabotage their file
/// between the metadata and the streaming.
fn sabotaging_app(root: PathBuf, sabotage: Sabotage) -> Router {
    async fn path(
        State((root, sabotage)): State<(PathBuf, Sabotage)>,
        UrlPath(name): UrlPath<String>,
    ) -> Download {
        let download = PathDownload::from_root(&root, &name).await?;
        sabotage.apply(&root.join(&name));
        Ok(download)
    }
    async fn storage(
        State((root, sabotage)): State<(PathBuf, Sabotage)>,
        UrlPath(name): UrlPath<String>,
    ) -> Download {
        let storage: Arc<dyn Storage> = Arc::new(FileSystemStorage::new(&root));
        let download = StorageDownload::new(storage, &name).await?;
        sabotage.apply(&root.join(&name));
        Ok(download)
    }
    Router::new()
        .route("/path/{*name}", get(path))
        .route("/storage/{*name}", get(storage))
        .layer(DownloadLayer::new())
        .with_state((root, sabotage))
}

/// The transfer of a `len`-byte file whose bytes are `expected` was
/// aborted: never a complete-looking answer, and what did arrive is right.
fn assert_aborted(transfer: &Transfer, len: usize, expected: &[u8]) {
    println!("aborted transfer: {}", transfer.describe());
    let Some(head) = &transfer.head else {
        // The connection closed before any answer: nothing looks complete.
        return;
    };
    assert_eq!(head.status, 200, "{}", transfer.describe());
    let (body, complete) = transfer.body();
    assert!(!complete, "looks complete: {}", transfer.describe());
    if let Some(announced) = head.content_length() {
        assert_eq!(announced, len as u64, "{}", transfer.describe());
    }
    assert!(body.len() < len, "{}", transfer.describe());
    assert!(
        body == expected[..body.len()],
        "the bytes that arrived are not the file's"
    );
}

/// An HTTP client library sees an error, not a short file.
#[cfg(feature = "http-download")]
async fn library_client_fails(url: &str) {
    let client = reqwest::Client::new();
    let outcome = tokio::time::timeout(TRANSFER_TIMEOUT, async {
        match client.get(url).send().await {
            Err(err) => Err(err),
            Ok(response) => response.bytes().await.map(|b| b.len()),
        }
    })
    .await
    .unwrap_or_else(|_| panic!("GET {url} hung"));
    match outcome {
        Err(err) => println!("reqwest: {err}"),
        Ok(len) => panic!("reqwest got a complete {len}-byte body from {url}"),
    }
}

#[cfg(not(feature = "http-download"))]
async fn library_client_fails(_url: &str) {}

// ---------------------------------------------------------------------------
// Files that change under the download.
// ---------------------------------------------------------------------------

#[tokio::test]
async fn file_deleted_after_metadata_aborts_the_transfer() {
    let _serial = serial().await;
    let media = TempMediaRoot::new();
    let content = pattern(MIB, SEED);
    // A storage opens the name again for the bytes: the file is gone.
    media.file("b.bin", &content);
    let addr = serve(sabotaging_app(media.path().to_path_buf(), Sabotage::Delete)).await;
    let transfer = fetch(addr, "/storage/b.bin").await;
    assert_aborted(&transfer, content.len(), &content);
    media.file("b.bin", &content);
    library_client_fails(&format!("http://{addr}/storage/b.bin")).await;
}

#[tokio::test]
async fn file_deleted_after_metadata_is_served_from_the_open_descriptor() {
    let _serial = serial().await;
    let media = TempMediaRoot::new();
    let content = pattern(MIB, SEED);
    // A path download reads from the descriptor its metadata came from, as
    // nginx does: the unlinked file's bytes are still whole and the same.
    media.file("a.bin", &content);
    let addr = serve(sabotaging_app(media.path().to_path_buf(), Sabotage::Delete)).await;
    let transfer = fetch(addr, "/path/a.bin").await;
    let (body, complete) = transfer.body();
    assert!(complete, "{}", transfer.describe());
    assert!(body == content, "{}", transfer.describe());
}

#[tokio::test]
async fn file_truncated_after_metadata_aborts_the_transfer() {
    let _serial = serial().await;
    let media = TempMediaRoot::new();
    let content = pattern(4 * MIB, SEED);
    // Shorter than the first chunk, and a few chunks in.
    for cut in [1000, 2 * MIB as u64 + 1000] {
        for (route, name) in [("path", "a.bin"), ("storage", "b.bin")] {
            media.file(name, &content);
            let addr = serve(sabotaging_app(
                media.path().to_path_buf(),
                Sabotage::Truncate(cut),
            ))
            .await;
            let transfer = fetch(addr, &format!("/{route}/{name}")).await;
            assert_aborted(&transfer, content.len(), &content);
            let (body, _) = transfer.body();
            assert!(body.len() as u64 <= cut, "{}", transfer.describe());
            media.file(name, &content);
            library_client_fails(&format!("http://{addr}/{route}/{name}")).await;
        }
    }
}

#[tokio::test]
async fn file_truncated_mid_stream_aborts_the_transfer() {
    let _serial = serial().await;
    let media = TempMediaRoot::new();
    let content = pattern(32 * MIB, SEED);
    let path = media.file("big.bin", &content);
    let addr = serve(path_app(media.path().to_path_buf())).await;

    let mut stream = support::raw_http::request(addr, "/path/big.bin")
        .await
        .unwrap();
    let mut transfer = read_head(&mut stream).await;
    assert_eq!(
        transfer.head.as_ref().map(Head::content_length),
        Some(Some(content.len() as u64)),
        "{}",
        transfer.describe()
    );
    // The first bytes arrive, then the file shrinks under the download.
    let mut buf = vec![0u8; 64 * 1024];
    while transfer.raw_body.len() < 64 * 1024 {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed early: {}", transfer.describe());
        transfer.raw_body.extend_from_slice(&buf[..n]);
    }
    Sabotage::Truncate(MIB as u64).apply(&path);
    tokio::time::timeout(TRANSFER_TIMEOUT, read_to_close(&mut stream, &mut transfer))
        .await
        .expect("the truncated transfer hung");
    assert_aborted(&transfer, content.len(), &content);
}

#[tokio::test]
async fn file_deleted_mid_stream_is_sent_whole_from_the_open_file() {
    // On Unix a deleted file lives on while it is open: the download that
    // already opened it completes with the original bytes.
    let _serial = serial().await;
    let media = TempMediaRoot::new();
    let content = pattern(16 * MIB, SEED);
    let path = media.file("big.bin", &content);
    let addr = serve(path_app(media.path().to_path_buf())).await;

    let mut stream = support::raw_http::request(addr, "/path/big.bin")
        .await
        .unwrap();
    let mut transfer = read_head(&mut stream).await;
    let mut buf = vec![0u8; 64 * 1024];
    while transfer.raw_body.is_empty() {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed early: {}", transfer.describe());
        transfer.raw_body.extend_from_slice(&buf[..n]);
    }
    Sabotage::Delete.apply(&path);
    tokio::time::timeout(TRANSFER_TIMEOUT, read_to_close(&mut stream, &mut transfer))
        .await
        .expect("the transfer hung");
    let (body, complete) = transfer.body();
    assert!(complete, "{}", transfer.describe());
    assert!(body == content, "the bytes are not the original file's");
}

#[tokio::test]
async fn file_grown_mid_stream_sends_the_announced_length() {
    let _serial = serial().await;
    let media = TempMediaRoot::new();
    let content = pattern(8 * MIB, SEED);
    let path = media.file("big.bin", &content);
    let addr = serve(path_app(media.path().to_path_buf())).await;

    let mut stream = support::raw_http::request(addr, "/path/big.bin")
        .await
        .unwrap();
    let mut transfer = read_head(&mut stream).await;
    let mut buf = vec![0u8; 64 * 1024];
    while transfer.raw_body.is_empty() {
        let n = stream.read(&mut buf).await.unwrap();
        assert!(n > 0, "closed early: {}", transfer.describe());
        transfer.raw_body.extend_from_slice(&buf[..n]);
    }
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    io::Write::write_all(&mut file, &pattern(MIB, SEED)).unwrap();
    drop(file);
    tokio::time::timeout(TRANSFER_TIMEOUT, read_to_close(&mut stream, &mut transfer))
        .await
        .expect("the transfer hung");
    let (body, complete) = transfer.body();
    assert!(complete, "{}", transfer.describe());
    assert_eq!(transfer.error, None, "{}", transfer.describe());
    assert!(body == content, "not the announced bytes");
}

// ---------------------------------------------------------------------------
// An upstream that dies in the middle of its body.
// ---------------------------------------------------------------------------

/// How the upstream's connection ends.
#[cfg(feature = "http-download")]
#[derive(Clone, Copy, Debug)]
enum Death {
    Close,
    Reset,
}

/// A raw HTTP/1.1 upstream that answers every request with `head` and
/// `body`, then dies.
#[cfg(feature = "http-download")]
async fn dying_upstream(head: String, body: Vec<u8>, death: Death) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let body = Arc::new(body);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let head = head.clone();
            let body = body.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 1024];
                while find(&request, b"\r\n\r\n").is_none() {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                if socket.write_all(head.as_bytes()).await.is_err()
                    || socket.write_all(&body).await.is_err()
                {
                    return;
                }
                let _ = socket.flush().await;
                // Let the bytes reach the relay before the connection dies.
                tokio::time::sleep(Duration::from_millis(200)).await;
                if let Death::Reset = death {
                    socket.set_zero_linger().unwrap();
                }
            });
        }
    });
    addr
}

#[cfg(feature = "http-download")]
fn relay_app(upstream: SocketAddr) -> Router {
    async fn relay(State(upstream): State<SocketAddr>, UrlPath(name): UrlPath<String>) -> Download {
        axum_download::HttpDownload::new(format!("http://{upstream}/{name}"))
            .timeout(Duration::from_secs(5))
            .await
    }
    Router::new()
        .route("/http/{*name}", get(relay))
        .layer(DownloadLayer::new())
        .with_state(upstream)
}

#[cfg(feature = "http-download")]
#[tokio::test]
async fn upstream_dying_mid_body_aborts_the_relay() {
    let _serial = serial().await;
    let announced = 4 * MIB;
    let content = pattern(announced, SEED);
    for death in [Death::Close, Death::Reset] {
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\
             Content-Length: {announced}\r\n\r\n"
        );
        let upstream = dying_upstream(head, content[..300_000].to_vec(), death).await;
        let addr = serve(relay_app(upstream)).await;
        println!("upstream dies with {death:?}");
        let transfer = fetch(addr, "/http/file.bin").await;
        assert_aborted(&transfer, announced, &content);
        library_client_fails(&format!("http://{addr}/http/file.bin")).await;
    }
}

#[cfg(feature = "http-download")]
#[tokio::test]
async fn chunked_upstream_dying_mid_body_aborts_the_relay() {
    let _serial = serial().await;
    let content = pattern(3 * 16 * 1024, SEED);
    for death in [Death::Close, Death::Reset] {
        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n\
                    Transfer-Encoding: chunked\r\n\r\n"
            .to_owned();
        // Three whole chunks, then half of one, never the last chunk.
        let mut body = Vec::new();
        for chunk in content.chunks(16 * 1024) {
            body.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
            body.extend_from_slice(chunk);
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(b"4000\r\n");
        body.extend_from_slice(&[b'x'; 8 * 1024]);
        let sent: Vec<u8> = content.iter().copied().chain([b'x'; 8 * 1024]).collect();
        let upstream = dying_upstream(head, body, death).await;
        let addr = serve(relay_app(upstream)).await;
        println!("chunked upstream dies with {death:?}");
        let transfer = fetch(addr, "/http/file.bin").await;
        println!("relayed: {}", transfer.describe());
        if let Some(head) = &transfer.head {
            assert_eq!(head.status, 200, "{}", transfer.describe());
            assert_eq!(head.content_length(), None, "{}", transfer.describe());
            let (body, complete) = transfer.body();
            assert!(!complete, "looks complete: {}", transfer.describe());
            assert!(
                sent.starts_with(&body),
                "the bytes that arrived are not the upstream's"
            );
        }
        library_client_fails(&format!("http://{addr}/http/file.bin")).await;
    }
}

// ---------------------------------------------------------------------------
// Clients that disconnect: descriptors (from /proc) and tasks.
// ---------------------------------------------------------------------------

#[cfg(target_os = "linux")]
mod disconnects {
    use super::support::{fds_on, open_fds, poll_until};
    use super::*;

    /// How long released resources may take to be released.
    const RELEASE_TIMEOUT: Duration = Duration::from_secs(5);

    fn alive_tasks() -> usize {
        tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks()
    }

    /// Starts a download of `path` and reads its head and first bytes, then
    /// holds the connection without reading.
    async fn slow_client(addr: SocketAddr, path: &str) -> TcpStream {
        let mut stream = support::raw_http::request(addr, path).await.unwrap();
        let transfer = read_head(&mut stream).await;
        let head = transfer.head.as_ref().expect("no head");
        assert_eq!(head.status, 200);
        if transfer.raw_body.is_empty() {
            let mut buf = [0u8; 1024];
            assert!(stream.read(&mut buf).await.unwrap() > 0);
        }
        stream
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn disconnecting_clients_release_file_handles_and_tasks() {
        let _serial = serial().await;
        let media = TempMediaRoot::new();
        let content = pattern(64 * MIB, SEED);
        let path = media.file("big.bin", &content);
        media.file("small.txt", b"warm up\n");
        let addr = serve(path_app(media.path().to_path_buf())).await;
        // Warm up the runtime, the blocking pool and the listener.
        let warm = fetch(addr, "/path/small.txt").await;
        assert!(warm.body().1, "{}", warm.describe());

        let tasks_before = poll_until(RELEASE_TIMEOUT, alive_tasks, |n| n <= 1).await;
        // The warm-up connection closes on the server's side a moment after
        // the client's: the baseline is the lowest count seen for a while.
        let mut fds_before = open_fds();
        for _ in 0..10 {
            tokio::time::sleep(Duration::from_millis(20)).await;
            fds_before = fds_before.min(open_fds());
        }
        assert_eq!(fds_on(&path), 0);

        for clients in [1, 50] {
            let mut streams = Vec::new();
            for _ in 0..clients {
                streams.push(slow_client(addr, "/path/big.bin").await);
            }
            let on_file = poll_until(RELEASE_TIMEOUT, || fds_on(&path), |n| n >= clients).await;
            let fds_during = open_fds();
            let tasks_during = alive_tasks();
            println!(
                "{clients} clients holding downloads: {on_file} fds on the file, \
                 {fds_during} fds (baseline {fds_before}), {tasks_during} tasks (baseline {tasks_before})"
            );
            assert_eq!(on_file, clients, "one open file per download");
            // Each download holds its socket and the file, each client its socket.
            assert!(fds_during >= fds_before + 3 * clients, "{fds_during}");
            assert!(tasks_during >= tasks_before + clients, "{tasks_during}");

            drop(streams);
            let on_file = poll_until(RELEASE_TIMEOUT, || fds_on(&path), |n| n == 0).await;
            let fds_after = poll_until(RELEASE_TIMEOUT, open_fds, |n| n <= fds_before + 1).await;
            let tasks_after = poll_until(RELEASE_TIMEOUT, alive_tasks, |n| n <= tasks_before).await;
            println!(
                "{clients} clients gone: {on_file} fds on the file, {fds_after} fds \
                 (baseline {fds_before}), {tasks_after} tasks (baseline {tasks_before})"
            );
            assert_eq!(on_file, 0, "the file stays open after the clients left");
            assert!(
                fds_after <= fds_before + 1,
                "descriptors leaked: {fds_after} > {fds_before}"
            );
            assert!(
                tasks_after <= tasks_before,
                "tasks leaked: {tasks_after} > {tasks_before}"
            );
        }
    }
}

// ---------------------------------------------------------------------------
// Storage errors.
// ---------------------------------------------------------------------------

/// A storage whose back end fails: `meta-*` names fail on the metadata,
/// `open-*` names when the bytes are opened. Every error names an internal
/// path.
struct BrokenStorage;

impl Storage for BrokenStorage {
    fn metadata<'a>(&'a self, name: &'a str) -> BoxFuture<'a, io::Result<FileMeta>> {
        Box::pin(async move {
            if let Some(kind) = name.strip_prefix("meta-") {
                let kind = match kind {
                    "timeout" => io::ErrorKind::TimedOut,
                    "invalid" => io::ErrorKind::InvalidData,
                    "interrupted" => io::ErrorKind::Interrupted,
                    _ => io::ErrorKind::Other,
                };
                return Err(io::Error::new(
                    kind,
                    format!("I/O error reading {SECRET_ROOT}/{name}"),
                ));
            }
            let mut meta = FileMeta::named(name);
            meta.size = Some(1000);
            Ok(meta)
        })
    }

    fn open(
        &self,
        name: &str,
        _range: Option<ByteRange>,
    ) -> BoxFuture<'static, io::Result<ByteStream>> {
        let message = format!("I/O error opening {SECRET_ROOT}/{name}");
        Box::pin(async move { Err(io::Error::other(message)) })
    }
}

fn storage_app(root: PathBuf) -> Router {
    async fn broken(UrlPath(name): UrlPath<String>) -> Download {
        StorageDownload::new(Arc::new(BrokenStorage), name).await
    }
    Router::new()
        .route("/broken/{*name}", get(broken))
        .route("/path/{*name}", get(path_handler))
        .layer(DownloadLayer::new())
        .with_state(root)
}

fn body_text(transfer: &Transfer) -> String {
    String::from_utf8_lossy(&transfer.body().0).into_owned()
}

#[tokio::test]
async fn storage_errors_answer_500_without_internal_paths() {
    let _serial = serial().await;
    let media = TempMediaRoot::new();
    media.file("present.txt", b"here\n");
    let root = media.path().to_path_buf().canonicalize().unwrap();
    let addr = serve(storage_app(root.clone())).await;
    let root_text = root.to_string_lossy().into_owned();

    for name in [
        "meta-other",
        "meta-timeout",
        "meta-invalid",
        "meta-interrupted",
    ] {
        let transfer = fetch(addr, &format!("/broken/{name}")).await;
        let head = transfer.head.as_ref().expect("no head");
        let text = body_text(&transfer);
        println!("{name}: {} {text:?}", head.status);
        assert_eq!(head.status, 500, "{name}: {}", transfer.describe());
        assert!(transfer.body().1, "{name}: {}", transfer.describe());
        assert_eq!(text, "Internal Server Error\n", "{name}");
        assert!(!text.contains(SECRET_ROOT) && !text.contains(name));
        for (header, value) in &head.headers {
            assert!(!value.contains(SECRET_ROOT), "{header}: {value}");
        }
    }

    // Missing and refused paths answer a bare 404 that names no path.
    for uri in [
        "/path/missing.txt",
        "/path/..%2f..%2fetc%2fpasswd",
        "/path/present.txt%2f..%2f..%2fsecret",
    ] {
        let transfer = fetch(addr, uri).await;
        let head = transfer.head.as_ref().expect("no head");
        let text = body_text(&transfer);
        println!("{uri}: {} {text:?}", head.status);
        assert_eq!(head.status, 404, "{uri}");
        assert_eq!(text, "Not Found\n", "{uri}");
        assert!(!text.contains(&root_text));
    }

    // A storage that fails once the 200 is under way aborts the transfer.
    let transfer = fetch(addr, "/broken/open-fails.bin").await;
    assert_aborted(&transfer, 1000, &[0; 1000]);
    assert!(!String::from_utf8_lossy(&transfer.raw_body).contains(SECRET_ROOT));
}

#[cfg(feature = "http-download")]
#[tokio::test]
async fn unreachable_upstream_answers_502_without_its_address() {
    let _serial = serial().await;
    let upstream = unused_addr();
    let addr = serve(relay_app(upstream)).await;
    let transfer = fetch(addr, "/http/secret-name.bin").await;
    let head = transfer.head.as_ref().expect("no head");
    let text = body_text(&transfer);
    println!("unreachable upstream: {} {text:?}", head.status);
    assert_eq!(head.status, 502);
    assert_eq!(text, "Bad Gateway\n");
    assert!(!text.contains(&upstream.port().to_string()) && !text.contains("secret-name"));
}
