//! Bounded under stuck and hostile peers: what must never hold a thread,
//! a descriptor or memory without limit.
#![cfg(unix)]

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use axum_download::{DownloadError, FileSystemStorage, PathDownload, Storage, StorageDownload};
use http::StatusCode;
use support::mkfifo;

/// How long refusing a non-regular file may take: opening a FIFO with a
/// blocking open would wait for a writer forever.
const QUICK: Duration = Duration::from_secs(5);

async fn assert_refused_quickly(root: &Path, name: &str) {
    let started = Instant::now();
    let result = tokio::time::timeout(QUICK, PathDownload::from_root(root, name))
        .await
        .unwrap_or_else(|_| panic!("{name}: still blocked after {QUICK:?}"));
    let err: DownloadError = result.expect_err(name);
    assert_eq!(err.status(), StatusCode::NOT_FOUND, "{name}");
    let storage: std::sync::Arc<dyn Storage> = std::sync::Arc::new(FileSystemStorage::new(root));
    let result = tokio::time::timeout(QUICK, StorageDownload::new(storage, name))
        .await
        .unwrap_or_else(|_| panic!("{name} (storage): still blocked after {QUICK:?}"));
    assert_eq!(
        result.expect_err(name).status(),
        StatusCode::NOT_FOUND,
        "{name}"
    );
    assert!(started.elapsed() < QUICK);
}

#[tokio::test]
async fn fifo_without_a_writer_is_refused_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    mkfifo(&dir.path().join("pipe"));
    assert_refused_quickly(dir.path(), "pipe").await;
}

#[tokio::test]
async fn many_fifo_requests_hold_no_blocking_threads() {
    let dir = tempfile::tempdir().unwrap();
    mkfifo(&dir.path().join("pipe"));
    let root = dir.path().to_path_buf();
    let started = Instant::now();
    let requests = (0..200).map(|_| {
        let root = root.clone();
        tokio::spawn(async move { PathDownload::from_root(root, "pipe").await.map(|_| ()) })
    });
    for request in futures_util::future::join_all(requests).await {
        assert_eq!(
            request.unwrap().unwrap_err().status(),
            StatusCode::NOT_FOUND
        );
    }
    assert!(started.elapsed() < QUICK, "{:?}", started.elapsed());
    // A normal file still answers at once.
    std::fs::write(dir.path().join("ok.txt"), "ok").unwrap();
    let ok = tokio::time::timeout(QUICK, PathDownload::from_root(&root, "ok.txt")).await;
    assert!(ok.unwrap().is_ok());
}

#[tokio::test]
async fn unix_socket_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let _listener = std::os::unix::net::UnixListener::bind(dir.path().join("socket")).unwrap();
    assert_refused_quickly(dir.path(), "socket").await;
}

#[tokio::test]
async fn device_node_is_refused() {
    // A trusted path to a character device, and one through a link that
    // the root allows to leave it.
    let err = PathDownload::from_trusted_path("/dev/zero")
        .await
        .unwrap_err();
    assert_eq!(err.status(), StatusCode::NOT_FOUND);
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("/dev/zero", dir.path().join("zero")).unwrap();
    let err = PathDownload::from_root(dir.path(), "zero")
        .follow_symlinks_outside_root(true)
        .await
        .unwrap_err();
    assert_eq!(err.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    assert_refused_quickly(dir.path(), "sub").await;
}

// ---------------------------------------------------------------------------
// The server's own limits (`axum_download::serve`), on real sockets.
// ---------------------------------------------------------------------------

mod server {
    use std::net::SocketAddr;
    use std::time::{Duration, Instant};

    use axum::routing::get;
    use axum::Router;
    use axum_download::{serve, DownloadLayer, PathDownload, ServerLimits, VirtualDownload};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpSocket, TcpStream};
    use tokio::sync::oneshot;

    /// The tests here count the process's descriptors: one at a time.
    async fn serial() -> tokio::sync::MutexGuard<'static, ()> {
        static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
        SERIAL.lock().await
    }

    fn count(dir: &str) -> usize {
        std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
    }

    /// Open descriptors, threads and resident memory (KiB) of this process.
    fn usage() -> (usize, usize, u64) {
        let rss = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            })
            .unwrap_or(0);
        (count("/proc/self/fd"), count("/proc/self/task"), rss)
    }

    struct Running {
        addr: SocketAddr,
        stop: Option<oneshot::Sender<()>>,
        done: tokio::task::JoinHandle<std::io::Result<()>>,
        _media: tempfile::TempDir,
    }

    async fn start(limits: ServerLimits) -> Running {
        let media = tempfile::tempdir().unwrap();
        std::fs::write(media.path().join("big.bin"), vec![7u8; 10 << 20]).unwrap();
        std::fs::write(media.path().join("hello.txt"), "hello\n").unwrap();
        let root = media.path().to_path_buf();
        let app = Router::new()
            .route(
                "/files/{*name}",
                get(
                    move |axum::extract::Path(name): axum::extract::Path<String>| {
                        let root = root.clone();
                        async move { PathDownload::from_root(root, name).await }
                    },
                ),
            )
            .route(
                "/slow",
                get(|| async {
                    // Ten chunks over about a second.
                    let chunks = futures_util::stream::unfold(0u8, |i| async move {
                        if i == 10 {
                            return None;
                        }
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        Some((
                            Ok::<_, std::io::Error>(bytes::Bytes::from(vec![i; 1000])),
                            i + 1,
                        ))
                    });
                    VirtualDownload::stream("slow.bin", chunks)
                }),
            )
            .layer(DownloadLayer::new());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let done = tokio::spawn(serve(listener, app, limits, async {
            let _ = stopped.await;
        }));
        Running {
            addr,
            stop: Some(stop),
            done,
            _media: media,
        }
    }

    /// A normal client: `GET path`, whole answer read, within `limit`.
    async fn normal_get(addr: SocketAddr, path: &str, limit: Duration) -> Vec<u8> {
        let started = Instant::now();
        let answer = tokio::time::timeout(limit, async {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            let request = format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
            stream.write_all(request.as_bytes()).await.unwrap();
            let mut answer = Vec::new();
            stream.read_to_end(&mut answer).await.unwrap();
            answer
        })
        .await
        .unwrap_or_else(|_| panic!("a normal client waited more than {limit:?} for {path}"));
        println!("normal client: {path} in {:?}", started.elapsed());
        answer
    }

    /// Whether the server closed `stream` (EOF or reset) within `limit`,
    /// reading and dropping whatever it had sent.
    async fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
        let mut buf = vec![0u8; 64 * 1024];
        tokio::time::timeout(limit, async {
            loop {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
            }
        })
        .await
        .is_ok()
    }

    async fn settle_to(baseline: (usize, usize, u64), what: &str) {
        let mut now = usage();
        for _ in 0..50 {
            if now.0 <= baseline.0 + 8 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            now = usage();
        }
        println!(
            "{what}: descriptors {} -> {}, threads {} -> {}, RSS {} -> {} KiB",
            baseline.0, now.0, baseline.1, now.1, baseline.2, now.2
        );
        assert!(
            now.0 <= baseline.0 + 8,
            "{what}: descriptors {} -> {}",
            baseline.0,
            now.0
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn slowloris_is_cut_off_and_a_normal_client_is_served() {
        let _serial = serial().await;
        let limits = ServerLimits::default().header_read_timeout(Duration::from_secs(1));
        let server = start(limits).await;
        let baseline = usage();
        let mut attackers = Vec::new();
        for _ in 0..300 {
            let mut stream = TcpStream::connect(server.addr).await.unwrap();
            stream
                .write_all(b"GET /files/hello.txt HTTP/1.1\r\nHost: t\r\n")
                .await
                .unwrap();
            attackers.push(stream);
        }
        // Dribble one more header line on each while the clock runs.
        for round in 0..3 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            for stream in &mut attackers {
                let _ = stream
                    .write_all(format!("X-{round}: a\r\n").as_bytes())
                    .await;
            }
        }
        let answer = normal_get(server.addr, "/files/hello.txt", Duration::from_secs(2)).await;
        assert!(answer.ends_with(b"hello\n"));
        for stream in &mut attackers {
            assert!(
                closed_within(stream, Duration::from_secs(3)).await,
                "a slowloris connection is still open"
            );
        }
        drop(attackers);
        settle_to(baseline, "slowloris").await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn clients_that_stop_reading_are_dropped_after_the_send_timeout() {
        let _serial = serial().await;
        let limits = ServerLimits::default().send_timeout(Duration::from_secs(1));
        let server = start(limits).await;
        let baseline = usage();
        let started = Instant::now();
        let mut stalled = Vec::new();
        for _ in 0..1000 {
            let socket = TcpSocket::new_v4().unwrap();
            socket.set_recv_buffer_size(4096).unwrap();
            let mut stream = socket.connect(server.addr).await.unwrap();
            stream
                .write_all(b"GET /files/big.bin HTTP/1.1\r\nHost: t\r\n\r\n")
                .await
                .unwrap();
            stalled.push(stream);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let during = usage();
        println!(
            "1,000 stalled readers: descriptors {}, threads {}, RSS {} KiB",
            during.0, during.1, during.2
        );
        let answer = normal_get(server.addr, "/files/hello.txt", Duration::from_secs(2)).await;
        assert!(answer.ends_with(b"hello\n"));
        tokio::time::sleep(Duration::from_millis(2000)).await;
        for stream in &mut stalled {
            assert!(
                closed_within(stream, Duration::from_secs(5)).await,
                "a stalled reader was kept for {:?}",
                started.elapsed()
            );
        }
        drop(stalled);
        settle_to(baseline, "stalled readers").await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn idle_keep_alive_connections_are_closed() {
        let _serial = serial().await;
        let limits = ServerLimits::default().idle_timeout(Duration::from_millis(700));
        let server = start(limits).await;
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream
            .write_all(b"GET /files/hello.txt HTTP/1.1\r\nHost: t\r\n\r\n")
            .await
            .unwrap();
        // The whole answer (head and body may come in separate reads).
        let mut answer = Vec::new();
        let mut buf = vec![0u8; 4096];
        while !answer.ends_with(b"hello\n") {
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed before the answer: {answer:?}");
            answer.extend_from_slice(&buf[..n]);
        }
        let started = Instant::now();
        assert!(closed_within(&mut stream, Duration::from_secs(3)).await);
        assert!(
            started.elapsed() >= Duration::from_millis(500),
            "{:?}",
            started.elapsed()
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn shutdown_lets_a_download_in_flight_finish() {
        let _serial = serial().await;
        let mut server = start(ServerLimits::default()).await;
        let addr = server.addr;
        let client =
            tokio::spawn(async move { normal_get(addr, "/slow", Duration::from_secs(5)).await });
        tokio::time::sleep(Duration::from_millis(300)).await;
        server.stop.take().unwrap().send(()).unwrap();
        let answer = client.await.unwrap();
        // Chunked: the ten chunks of 1,000 bytes, then the last, empty one.
        let counts: Vec<usize> = (0u8..10)
            .map(|v| answer.iter().filter(|&&b| b == v).count())
            .collect();
        assert!(
            counts.iter().all(|&n| n >= 1000) && answer.ends_with(b"\r\n0\r\n\r\n"),
            "the download was cut by the shutdown: {} bytes, {counts:?}",
            answer.len(),
        );
        tokio::time::timeout(Duration::from_secs(5), server.done)
            .await
            .expect("serve returned after the shutdown")
            .unwrap()
            .unwrap();
        assert!(
            TcpStream::connect(addr).await.is_err(),
            "still accepting after shutdown"
        );
    }
}
