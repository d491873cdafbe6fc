//! Load on loopback: many concurrent downloads of a large file all arrive
//! whole and leave no descriptor or memory behind, and slow clients do not
//! starve fast ones.
//!
//! The server is `axum::serve` on 127.0.0.1 and the clients are raw HTTP/1.1
//! over tokio `TcpStream`s in the same process. The tests run one at a time
//! and print their figures (run with `--nocapture` to see them).
#![cfg(target_os = "linux")]

mod support;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum_download::test_util::TempMediaRoot;
use sha2::{Digest, Sha256};
use support::raw_http::{read_head, request};
use support::{fds_on, open_fds, path_app, pattern, poll_until, serve, SERIAL};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

const MIB: usize = 1024 * 1024;
/// Concurrent downloads of the large file; `AXUM_DOWNLOAD_LOAD_DOWNLOADS`
/// raises it (the benchmark script runs a bigger round in release).
const DOWNLOADS: usize = 1000;

fn downloads() -> usize {
    std::env::var("AXUM_DOWNLOAD_LOAD_DOWNLOADS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(DOWNLOADS)
}
const LARGE: usize = 10 * MIB;
/// One download in this many is also checked with SHA-256.
const HASH_EVERY: usize = 100;
const SLOW_CLIENTS: usize = 200;
const FAST_CLIENTS: usize = 20;
const SMALL: usize = MIB;
/// What the process may keep after the downloads, over its baseline: 64
/// MiB, or a tenth of the burst's growth for rounds bigger than the
/// default (allocator caches grow with the number of threads and chunks).
const RSS_SLACK_KIB: u64 = 64 * 1024;

fn rss_slack_kib(before: u64, peak: u64) -> u64 {
    RSS_SLACK_KIB.max(peak.saturating_sub(before) / 10)
}
/// The test that measures memory runs in a child process of the test
/// binary, with this variable set.
const CHILD_VAR: &str = "AXUM_DOWNLOAD_LOAD_CHILD";
/// glibc's malloc, as the child runs it: buffers of 16 KiB and more are
/// mapped and unmapped, and free memory is trimmed, so that VmRSS follows
/// what is live. With the defaults, malloc keeps part of a burst's peak
/// (about two 256 KiB chunks per download in flight, some 500 MiB for
/// 1,000 downloads) cached for the next one: 110 to 220 MiB measured after
/// the downloads, and no growth round after round, which says nothing
/// about this crate.
const CHILD_MALLOC: [(&str, &str); 4] = [
    ("MALLOC_ARENA_MAX", "2"),
    ("MALLOC_MMAP_THRESHOLD_", "16384"),
    ("MALLOC_TRIM_THRESHOLD_", "65536"),
    ("MALLOC_TOP_PAD_", "0"),
];
const RELEASE_TIMEOUT: Duration = Duration::from_secs(10);

// ---------------------------------------------------------------------------
// Measuring the process.
// ---------------------------------------------------------------------------

/// The resident set size, in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("no VmRSS in /proc/self/status")
}

/// Samples the process every 100 ms until stopped and keeps the peaks.
struct Monitor {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<(usize, usize, u64)>,
}

impl Monitor {
    fn start(file: PathBuf) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let task = tokio::spawn(async move {
            let (mut fds, mut on_file, mut rss) = (0, 0, 0);
            while !flag.load(Ordering::Relaxed) {
                fds = fds.max(open_fds());
                on_file = on_file.max(fds_on(&file));
                rss = rss.max(rss_kib());
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            (fds, on_file, rss)
        });
        Self { stop, task }
    }

    /// The peak descriptors, descriptors on the file, and RSS in KiB.
    async fn stop(self) -> (usize, usize, u64) {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.unwrap()
    }
}

// ---------------------------------------------------------------------------
// A raw HTTP/1.1 client.
// ---------------------------------------------------------------------------

/// Reads the head, checks it is a 200 announcing `len` bytes, and returns
/// the body bytes read past it.
async fn read_ok_head(stream: &mut TcpStream, len: usize) -> Result<Vec<u8>, String> {
    let transfer = read_head(stream).await;
    let Some(head) = &transfer.head else {
        return Err(format!("closed before the head: {}", transfer.describe()));
    };
    if head.status != 200 {
        return Err(format!("not a 200: {}", transfer.describe()));
    }
    if head.content_length() != Some(len as u64) {
        return Err(format!(
            "announced {:?}, expected {len}",
            head.content_length()
        ));
    }
    Ok(transfer.raw_body)
}

/// Downloads `path`, comparing every byte with `expected` as it arrives
/// (and hashing them when `hash`); returns how long it took.
async fn download(
    addr: SocketAddr,
    path: &str,
    expected: Arc<Vec<u8>>,
    hash: bool,
) -> Result<Duration, String> {
    let start = Instant::now();
    let mut stream = request(addr, path).await?;
    let first = read_ok_head(&mut stream, expected.len()).await?;
    let mut hasher = hash.then(Sha256::new);
    let mut offset = 0;
    let mut check = |bytes: &[u8], offset: &mut usize| -> Result<(), String> {
        let end = *offset + bytes.len();
        if end > expected.len() {
            return Err(format!("more than {} bytes", expected.len()));
        }
        if bytes != &expected[*offset..end] {
            return Err(format!("wrong bytes in {}..{end}", *offset));
        }
        if let Some(hasher) = hasher.as_mut() {
            hasher.update(bytes);
        }
        *offset = end;
        Ok(())
    };
    check(&first, &mut offset)?;
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) => break,
            Ok(n) => check(&buf[..n], &mut offset)?,
            Err(err) => return Err(format!("after {offset} bytes: {err}")),
        }
    }
    if offset != expected.len() {
        return Err(format!("closed after {offset} of {} bytes", expected.len()));
    }
    if let Some(hasher) = hasher {
        if hasher.finalize()[..] != Sha256::digest(&expected[..])[..] {
            return Err("SHA-256 mismatch".to_owned());
        }
    }
    Ok(start.elapsed())
}

fn summary(times: &mut [Duration]) -> String {
    times.sort();
    let ms = |d: Duration| d.as_millis();
    format!(
        "min {} ms, median {} ms, max {} ms",
        ms(times[0]),
        ms(times[times.len() / 2]),
        ms(times[times.len() - 1])
    )
}

// ---------------------------------------------------------------------------
// The tests.
// ---------------------------------------------------------------------------

/// A runtime like `#[tokio::test(flavor = "multi_thread", worker_threads =
/// 2)]`, whose idle blocking threads exit after 100 ms instead of 10 s, so
/// that what the process holds after the downloads is what they left.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_keep_alive(Duration::from_millis(100))
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn concurrent_downloads_of_a_large_file_arrive_whole_and_leave_nothing_behind() {
    if std::env::var_os(CHILD_VAR).is_some() {
        runtime().block_on(concurrent_downloads());
        return;
    }
    // Run this very test again in a child process, with a malloc that
    // gives memory back, and relay what it printed.
    let _serial = SERIAL.blocking_lock();
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "concurrent_downloads_of_a_large_file_arrive_whole_and_leave_nothing_behind",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_VAR, "1")
        .envs(CHILD_MALLOC)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    println!("{stdout}{stderr}");
    assert!(
        output.status.success(),
        "the child failed ({}):\n{stdout}{stderr}",
        output.status
    );
}

async fn concurrent_downloads() {
    let media = TempMediaRoot::new();
    let content = Arc::new(pattern(LARGE, 0x2545_F491));
    let file = media.file("large.bin", &*content);
    let addr = serve(path_app(media.path().to_path_buf())).await;
    // Warm up the runtime, the blocking pool and the listener.
    download(addr, "/path/large.bin", content.clone(), true)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let fds_before = open_fds();
    let rss_before = rss_kib();

    let monitor = Monitor::start(file.clone());
    let start = Instant::now();
    let downloads = downloads();
    let tasks: Vec<_> = (0..downloads)
        .map(|i| {
            let expected = content.clone();
            tokio::spawn(async move {
                download(addr, "/path/large.bin", expected, i % HASH_EVERY == 0).await
            })
        })
        .collect();
    let mut times = Vec::with_capacity(downloads);
    let mut failures = Vec::new();
    for (i, task) in tasks.into_iter().enumerate() {
        match tokio::time::timeout(Duration::from_secs(60), task).await {
            Ok(Ok(Ok(time))) => times.push(time),
            Ok(Ok(Err(err))) => failures.push(format!("download {i}: {err}")),
            Ok(Err(err)) => failures.push(format!("download {i} panicked: {err}")),
            Err(_) => failures.push(format!("download {i} hung")),
        }
    }
    let elapsed = start.elapsed();
    let (peak_fds, peak_on_file, peak_rss) = monitor.stop().await;
    let on_file_after = poll_until(RELEASE_TIMEOUT, || fds_on(&file), |n| n == 0).await;
    let fds_after = poll_until(RELEASE_TIMEOUT, open_fds, |n| n <= fds_before + 2).await;
    let slack = rss_slack_kib(rss_before, peak_rss);
    let rss_after = poll_until(RELEASE_TIMEOUT, rss_kib, |n| n <= rss_before + slack).await;

    println!(
        "{} of {downloads} concurrent downloads of {} MiB ({} hashed) in {:.1} s, \
         {:.0} MiB/s; per download {}",
        times.len(),
        LARGE / MIB,
        downloads.div_ceil(HASH_EVERY),
        elapsed.as_secs_f64(),
        (downloads * LARGE) as f64 / MIB as f64 / elapsed.as_secs_f64(),
        if times.is_empty() {
            "-".to_owned()
        } else {
            summary(&mut times)
        },
    );
    println!(
        "fds: {fds_before} before, peak {peak_fds}, {fds_after} after; \
         fds on the file: peak {peak_on_file}, {on_file_after} after"
    );
    println!(
        "VmRSS: {} MiB before, peak {} MiB, {} MiB after",
        rss_before / 1024,
        peak_rss / 1024,
        rss_after / 1024
    );
    assert!(
        failures.is_empty(),
        "{} failed downloads, e.g. {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    assert_eq!(on_file_after, 0, "the file stays open");
    assert!(
        fds_after <= fds_before + 2,
        "descriptors leaked: {fds_after} after, {fds_before} before"
    );
    if cfg!(target_env = "gnu") {
        assert!(
            rss_after <= rss_before + slack,
            "memory not returned: {rss_after} KiB after, {rss_before} KiB before, \
             {peak_rss} KiB at the peak"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_do_not_starve_fast_ones() {
    let _serial = SERIAL.lock().await;
    let media = TempMediaRoot::new();
    let large = Arc::new(pattern(LARGE, 0x1234_5678));
    let small = Arc::new(pattern(SMALL, 0x0BAD_F00D));
    let large_path = media.file("large.bin", &*large);
    let small_path = media.file("small.bin", &*small);
    let addr = serve(path_app(media.path().to_path_buf())).await;
    download(addr, "/path/small.bin", small.clone(), true)
        .await
        .unwrap();
    let fds_before = open_fds();

    // Slow clients: 256 bytes every 250 ms, about 1 KiB/s each.
    let connected = Arc::new(AtomicUsize::new(0));
    let slow_bytes = Arc::new(AtomicU64::new(0));
    let slow: Vec<_> = (0..SLOW_CLIENTS)
        .map(|_| {
            let (connected, slow_bytes, expected) =
                (connected.clone(), slow_bytes.clone(), large.clone());
            tokio::spawn(async move {
                let mut stream = request(addr, "/path/large.bin").await?;
                let mut received = read_ok_head(&mut stream, LARGE).await?;
                connected.fetch_add(1, Ordering::Relaxed);
                let mut buf = [0u8; 256];
                loop {
                    let n = stream
                        .read(&mut buf)
                        .await
                        .map_err(|e| format!("slow client: {e}"))?;
                    if n == 0 {
                        return Err(format!("closed after {} bytes", received.len()));
                    }
                    received.extend_from_slice(&buf[..n]);
                    if received[..] != expected[..received.len()] {
                        return Err("slow client got wrong bytes".to_owned());
                    }
                    slow_bytes.fetch_add(n as u64, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            })
        })
        .collect::<Vec<tokio::task::JoinHandle<Result<(), String>>>>();
    let ready = poll_until(
        RELEASE_TIMEOUT,
        || (connected.load(Ordering::Relaxed), fds_on(&large_path)),
        |(c, f)| c == SLOW_CLIENTS && f == SLOW_CLIENTS,
    )
    .await;
    assert_eq!(
        ready,
        (SLOW_CLIENTS, SLOW_CLIENTS),
        "slow clients connected, files open"
    );
    // Let the server fill its send buffers and park the slow downloads.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let fds_during = open_fds();

    let start = Instant::now();
    let fast: Vec<_> = (0..FAST_CLIENTS)
        .map(|_| {
            let expected = small.clone();
            tokio::spawn(async move { download(addr, "/path/small.bin", expected, true).await })
        })
        .collect();
    let mut times = Vec::new();
    for task in fast {
        let time = tokio::time::timeout(Duration::from_secs(30), task)
            .await
            .expect("a fast download hung behind the slow clients")
            .unwrap()
            .unwrap();
        times.push(time);
    }
    let elapsed = start.elapsed();
    let slow_still_connected = slow.iter().filter(|t| !t.is_finished()).count();
    let slow_received = slow_bytes.load(Ordering::Relaxed);
    println!(
        "{FAST_CLIENTS} fast downloads of {} MiB next to {SLOW_CLIENTS} slow clients: \
         all done in {} ms; per download {}",
        SMALL / MIB,
        elapsed.as_millis(),
        summary(&mut times)
    );
    println!(
        "slow clients: {slow_still_connected} still connected, {slow_received} bytes read; \
         fds: {fds_before} before, {fds_during} with the slow clients"
    );
    assert!(
        elapsed < Duration::from_secs(10),
        "fast downloads took {elapsed:?} next to slow clients"
    );
    assert_eq!(
        slow_still_connected, SLOW_CLIENTS,
        "slow clients were dropped"
    );
    assert!(slow_received > 0, "the slow clients made no progress");

    for task in &slow {
        task.abort();
    }
    for task in slow {
        assert!(task.await.unwrap_err().is_cancelled());
    }
    let on_files = poll_until(
        RELEASE_TIMEOUT,
        || fds_on(&large_path) + fds_on(&small_path),
        |n| n == 0,
    )
    .await;
    let fds_after = poll_until(RELEASE_TIMEOUT, open_fds, |n| n <= fds_before + 2).await;
    println!("after the slow clients left: {on_files} fds on the files, {fds_after} fds");
    assert_eq!(on_files, 0, "files stay open after the clients left");
    assert!(
        fds_after <= fds_before + 2,
        "descriptors leaked: {fds_after}"
    );
}
