//! Black-box tests of the demo binary against its HTTP contract
//! (`shared/demo-contract.md`): the real binary is started on an ephemeral
//! port, driven over TCP with reqwest (or raw HTTP/1.1 where a client would
//! normalize the URL), and killed when each test ends.

use std::ffi::{OsStr, OsString};

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;
use reqwest::{Client, Method, StatusCode};
use sha2::{Digest, Sha256};
use tempfile::TempDir;

mod support;
use support::{raw_get, Demo, PROCESS_TIMEOUT};

/// `hello-world.txt`, in the shipped media and in every test media root.
const HELLO: &[u8] = b"Hello world!\n";
/// `espace é.txt`.
const ESPACE: &[u8] = "Espace é\n".as_bytes();
/// `日本語.pdf`.
const PDF: &[u8] = b"%PDF-1.4\n% axum-download demo\n";
/// `nested/dir/file.txt`.
const NESTED: &[u8] = b"nested file\n";
/// Files next to the media root, which no escaping path may reach.
const SECRET: &[u8] = b"SECRET outside the media root\n";

/// `espace é.txt`, percent-encoded for a URL.
const ESPACE_URL: &str = "espace%20%C3%A9.txt";
/// `日本語.pdf`, percent-encoded for a URL.
const PDF_URL: &str = "%E6%97%A5%E6%9C%AC%E8%AA%9E.pdf";
const ESPACE_ATTACHMENT: &str =
    "attachment; filename=\"espace_e.txt\"; filename*=UTF-8''espace%20%C3%A9.txt";
const PDF_ATTACHMENT: &str =
    "attachment; filename=\"___.pdf\"; filename*=UTF-8''%E6%97%A5%E6%9C%AC%E8%AA%9E.pdf";

/// The headers that describe a download, compared between GET and HEAD.
const REPRESENTATION_HEADERS: &[&str] = &[
    "content-type",
    "content-length",
    "content-disposition",
    "content-range",
    "content-encoding",
    "etag",
    "last-modified",
    "accept-ranges",
    "x-content-type-options",
];

// ---------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------

/// Runs the binary with `args` and expects it to exit by itself.
fn run_to_exit(args: &[&OsStr]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_demo"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the demo binary");
    let deadline = Instant::now() + PROCESS_TIMEOUT;
    loop {
        match child.try_wait().expect("poll the demo") {
            Some(_) => break,
            None if Instant::now() > deadline => {
                let _ = child.kill();
                let output = child.wait_with_output().expect("collect output");
                panic!(
                    "the demo did not exit within {PROCESS_TIMEOUT:?} for {args:?}; stdout: {:?}",
                    String::from_utf8_lossy(&output.stdout)
                );
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    child.wait_with_output().expect("collect output")
}

/// Asserts a refused start: status 2, one line on stderr naming `culprit`,
/// no panic, never listening.
fn assert_refused_start(args: &[&OsStr], culprit: &str) {
    let output = run_to_exit(args);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(2),
        "exit status for {args:?}; stderr: {stderr:?}"
    );
    assert!(
        !stderr.contains("panicked"),
        "the demo panicked for {args:?}: {stderr:?}"
    );
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(
        lines.len(),
        1,
        "one-line error for {args:?}, got {stderr:?}"
    );
    assert!(
        lines[0].contains(culprit),
        "the error for {args:?} should name {culprit:?}: {stderr:?}"
    );
    assert!(
        !stdout.contains("listening on"),
        "the demo announced it was listening for {args:?}: {stdout:?}"
    );
}

/// A temporary directory whose `media` subdirectory is the media root; the
/// directory itself holds files a path escaping the root would reach.
struct Media {
    dir: TempDir,
}

impl Media {
    fn new() -> Self {
        let media = Self {
            dir: tempfile::tempdir().expect("temporary directory"),
        };
        media.write("hello-world.txt", HELLO);
        media.write("espace é.txt", ESPACE);
        media.write("日本語.pdf", PDF);
        media.write("nested/dir/file.txt", NESTED);
        media.write("empty.txt", b"");
        write_file(&media.dir.path().join("Cargo.toml"), SECRET);
        write_file(&media.dir.path().join("secret.txt"), SECRET);
        media
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("media")
    }

    /// Writes `name` (a relative path) under the media root.
    fn write(&self, name: &str, bytes: &[u8]) {
        write_file(&self.root().join(name), bytes);
    }

    fn demo(&self) -> Demo {
        Demo::serving(&self.root())
    }
}

fn write_file(path: &Path, bytes: &[u8]) {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create directories");
    }
    std::fs::write(path, bytes).expect("write a media file");
}

/// `len` deterministic pseudo-random bytes (xorshift64*).
fn pseudo_random(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

fn client() -> Client {
    Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("reqwest client")
}

/// A whole answer: status, headers, body.
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| {
            v.to_str()
                .unwrap_or_else(|_| panic!("{name} is not visible ASCII: {v:?}"))
        })
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

async fn send(client: &Client, method: Method, url: &str, headers: &[(&str, &str)]) -> Reply {
    let mut request = client.request(method.clone(), url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request
        .send()
        .await
        .unwrap_or_else(|err| panic!("{method} {url}: {err}"));
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .bytes()
        .await
        .unwrap_or_else(|err| panic!("{method} {url}: body: {err}"))
        .to_vec();
    Reply {
        status,
        headers,
        body,
    }
}

async fn get(client: &Client, url: &str) -> Reply {
    send(client, Method::GET, url, &[]).await
}

async fn get_with(client: &Client, url: &str, headers: &[(&str, &str)]) -> Reply {
    send(client, Method::GET, url, headers).await
}

/// Streams a GET body into SHA-256: (status, Content-Length, bytes, digest).
async fn get_sha256(client: &Client, url: &str) -> (StatusCode, Option<String>, u64, Vec<u8>) {
    let mut response = client
        .get(url)
        .send()
        .await
        .unwrap_or_else(|err| panic!("GET {url}: {err}"));
    let status = response.status();
    let length = response
        .headers()
        .get("content-length")
        .map(|v| v.to_str().expect("ASCII Content-Length").to_owned());
    let mut hasher = Sha256::new();
    let mut count = 0u64;
    while let Some(chunk) = response
        .chunk()
        .await
        .unwrap_or_else(|err| panic!("GET {url}: body: {err}"))
    {
        count += chunk.len() as u64;
        hasher.update(&chunk);
    }
    (status, length, count, hasher.finalize().to_vec())
}

fn is_stream_pattern(body: &[u8]) -> bool {
    body.iter()
        .enumerate()
        .all(|(i, b)| *b == b"0123456789"[i % 10])
}

// ---------------------------------------------------------------------------
// Start-up
// ---------------------------------------------------------------------------

#[tokio::test]
async fn shipped_media_serves_hello_world() {
    let demo = Demo::start(std::iter::empty::<&OsStr>());
    let reply = get(&client(), &demo.url("/path/hello-world.txt")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, HELLO);
    assert_eq!(reply.body.len(), 13);
    assert_eq!(reply.header("content-length"), Some("13"));
}

#[test]
fn unknown_flag_exits_2_with_one_line_error() {
    assert_refused_start(&[OsStr::new("--bogus")], "--bogus");
}

#[test]
fn unparsable_addr_exits_2_with_one_line_error() {
    assert_refused_start(&[OsStr::new("--addr"), OsStr::new("nonsense")], "nonsense");
}

#[test]
fn missing_media_root_exits_2_with_one_line_error() {
    assert_refused_start(
        &[
            OsStr::new("--addr"),
            OsStr::new("127.0.0.1:0"),
            OsStr::new("--media-root"),
            OsStr::new("/does/not/exist"),
        ],
        "/does/not/exist",
    );
}

#[test]
fn media_root_that_is_a_file_exits_2_with_one_line_error() {
    let media = Media::new();
    let file = media.root().join("hello-world.txt");
    assert_refused_start(
        &[
            OsStr::new("--addr"),
            OsStr::new("127.0.0.1:0"),
            OsStr::new("--media-root"),
            file.as_os_str(),
        ],
        "hello-world.txt",
    );
}

#[test]
fn non_http_upstream_exits_2_with_one_line_error() {
    assert_refused_start(
        &[
            OsStr::new("--addr"),
            OsStr::new("127.0.0.1:0"),
            OsStr::new("--upstream"),
            OsStr::new("ftp://example.invalid/files"),
        ],
        "ftp://example.invalid/files",
    );
}

/// The demo refuses to start on a `documents.json` whose `modified` is
/// `modified`, with exit status 2 and one line naming `named`.
fn assert_documents_date_refused(modified: &str, named: &str) {
    let media = Media::new();
    let documents =
        format!(r#"[{{"slug": "report", "file": "hello-world.txt", "modified": "{modified}"}}]"#);
    media.write("documents.json", documents.as_bytes());
    let root: OsString = media.root().into_os_string();
    assert_refused_start(
        &[
            OsStr::new("--addr"),
            OsStr::new("127.0.0.1:0"),
            OsStr::new("--media-root"),
            &root,
        ],
        named,
    );
}

#[test]
fn malformed_documents_modified_exits_2_with_one_line_error() {
    assert_documents_date_refused("14/11/2023 22:13", "14/11/2023 22:13");
}

#[test]
fn impossible_documents_date_exits_2_with_one_line_error() {
    assert_documents_date_refused("2023-02-31T12:00:00Z", "2023-02-31");
}

#[test]
fn help_exits_0_with_every_flag() {
    let output = run_to_exit(&[OsStr::new("--help")]);
    assert_eq!(output.status.code(), Some(0));
    let help = String::from_utf8_lossy(&output.stdout);
    for flag in [
        "--addr",
        "--media-root",
        "--upstream",
        "--settings",
        "--static-root",
        "--manifest",
        "--cache-dir",
        "--cache-size",
        "--s3",
        "collectstatic",
    ] {
        assert!(help.contains(flag), "--help should name {flag}: {help}");
    }
}

#[test]
fn version_exits_0_with_the_version() {
    let output = run_to_exit(&[OsStr::new("--version")]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        format!("demo {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn misspelt_flag_exits_2_with_one_line_naming_the_right_one() {
    assert_refused_start(
        &[OsStr::new("--media-rot"), OsStr::new("x")],
        "--media-root",
    );
}

#[test]
fn invalid_rust_log_exits_2_with_one_line_error() {
    let output = Command::new(env!("CARGO_BIN_EXE_demo"))
        .env("RUST_LOG", "demo=loud")
        .stdin(Stdio::null())
        .output()
        .expect("run the demo");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("RUST_LOG"), "{stderr}");
}

/// The next logged line containing all of `parts`, within a few seconds.
fn logged(lines: &std::sync::mpsc::Receiver<String>, parts: &[&str]) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut seen = Vec::new();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match lines.recv_timeout(left) {
            Ok(line) if parts.iter().all(|part| line.contains(part)) => return line,
            Ok(line) => seen.push(line),
            Err(_) => break,
        }
    }
    panic!("no log line with {parts:?}; logged: {seen:#?}");
}

#[tokio::test]
async fn each_request_logs_an_access_line_and_its_download_event() {
    let media = Media::new();
    let (demo, log) = Demo::start_logging(
        [OsStr::new("--media-root"), media.root().as_os_str()],
        "info",
    );
    let reply = get_with(
        &client(),
        &demo.url("/path/hello-world.txt"),
        &[("range", "bytes=0-4")],
    )
    .await;
    assert_eq!(reply.status, StatusCode::PARTIAL_CONTENT);
    let request = ["method=GET", "path=/path/hello-world.txt"];
    logged(
        &log,
        &[&["access", "status=206", "latency="][..], &request].concat(),
    );
    logged(
        &log,
        &[
            &[
                "download",
                "decision=\"partial\"",
                "status=206",
                "bytes_sent=5",
                "complete=true",
            ][..],
            &request,
        ]
        .concat(),
    );

    let reply = get(&client(), &demo.url("/nginx/hello-world.txt")).await;
    assert!(reply.header("x-accel-redirect").is_some());
    logged(
        &log,
        &[
            "decision=\"hand_off\"",
            "bytes_sent=0",
            "path=/nginx/hello-world.txt",
        ],
    );
    logged(
        &log,
        &["access", "status=200", "path=/nginx/hello-world.txt"],
    );
}

#[tokio::test]
async fn rust_log_filters_the_log() {
    let media = Media::new();
    let (demo, log) = Demo::start_logging(
        [OsStr::new("--media-root"), media.root().as_os_str()],
        "warn",
    );
    let reply = get(&client(), &demo.url("/path/hello-world.txt")).await;
    assert_eq!(reply.status, StatusCode::OK);
    drop(demo);
    let lines: Vec<String> = log.iter().collect();
    assert!(lines.is_empty(), "RUST_LOG=warn logged {lines:#?}");
}

// ---------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------

#[tokio::test]
async fn path_serves_file_as_attachment_with_validators() {
    let media = Media::new();
    let demo = media.demo();
    let reply = get(&client(), &demo.url("/path/hello-world.txt")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, HELLO);
    assert_eq!(reply.header("content-length"), Some("13"));
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(
        reply.header("content-disposition"),
        Some("attachment; filename=\"hello-world.txt\"")
    );
    assert_eq!(reply.header("accept-ranges"), Some("bytes"));
    let etag = reply.header("etag").expect("an ETag");
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    let modified = reply.header("last-modified").expect("a Last-Modified");
    assert!(modified.ends_with(" GMT"), "{modified}");
}

#[tokio::test]
async fn path_serves_nested_file() {
    let media = Media::new();
    let demo = media.demo();
    let reply = get(&client(), &demo.url("/path/nested/dir/file.txt")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, NESTED);
    assert_eq!(
        reply.header("content-disposition"),
        Some("attachment; filename=\"file.txt\"")
    );
}

#[tokio::test]
async fn path_serves_empty_file() {
    let media = Media::new();
    let demo = media.demo();
    let reply = get(&client(), &demo.url("/path/empty.txt")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.body.is_empty(), "{:?}", reply.text());
    assert_eq!(reply.header("content-length"), Some("0"));
    assert_eq!(
        reply.header("content-disposition"),
        Some("attachment; filename=\"empty.txt\"")
    );
}

#[tokio::test]
async fn inline_sets_inline_disposition_with_filename() {
    let media = Media::new();
    let demo = media.demo();
    let client = client();
    let reply = get(&client, &demo.url("/inline/hello-world.txt")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, HELLO);
    assert_eq!(
        reply.header("content-disposition"),
        Some("inline; filename=\"hello-world.txt\"")
    );
    let reply = get(&client, &demo.url(&format!("/inline/{ESPACE_URL}"))).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, ESPACE);
    assert_eq!(
        reply.header("content-disposition"),
        Some("inline; filename=\"espace_e.txt\"; filename*=UTF-8''espace%20%C3%A9.txt")
    );
}

#[tokio::test]
async fn storage_serves_files_like_path() {
    let media = Media::new();
    let demo = media.demo();
    let client = client();
    let by_path = get(&client, &demo.url("/path/hello-world.txt")).await;
    let reply = get(&client, &demo.url("/storage/hello-world.txt")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, HELLO);
    assert_eq!(reply.header("content-length"), Some("13"));
    assert_eq!(
        reply.header("content-disposition"),
        Some("attachment; filename=\"hello-world.txt\"")
    );
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert!(reply.header("etag").is_some());
    assert_eq!(
        reply.header("last-modified"),
        by_path.header("last-modified")
    );
    let nested = get(&client, &demo.url("/storage/nested/dir/file.txt")).await;
    assert_eq!(nested.status, StatusCode::OK);
    assert_eq!(nested.body, NESTED);
}

#[tokio::test]
async fn object_without_documents_json_uses_top_level_file_names_as_slugs() {
    let media = Media::new();
    let demo = media.demo();
    let client = client();
    let reply = get(&client, &demo.url("/object/hello-world.txt")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, HELLO);
    assert_eq!(
        reply.header("content-disposition"),
        Some("attachment; filename=\"hello-world.txt\"")
    );
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    let reply = get(&client, &demo.url(&format!("/object/{PDF_URL}"))).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, PDF);
    assert_eq!(reply.header("content-disposition"), Some(PDF_ATTACHMENT));
    assert_eq!(reply.header("content-type"), Some("application/pdf"));
    // A directory at the top level is not a document.
    let reply = get(&client, &demo.url("/object/nested")).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn object_with_documents_json_uses_basename_mime_type_and_modified() {
    let media = Media::new();
    media.write(
        "documents.json",
        r#"[
            {"slug": "report", "file": "hello-world.txt", "basename": "Rapport 2023.pdf",
             "mime_type": "application/pdf", "modified": "2023-11-14T22:13:20Z"},
            {"slug": "offset", "file": "nested/dir/file.txt",
             "modified": "2023-11-15T00:13:20.5+02:00"},
            {"slug": "plain", "file": "espace é.txt"},
            {"slug": "ghost", "file": "nope.txt"}
        ]"#
        .as_bytes(),
    );
    let demo = media.demo();
    let client = client();

    let report = get(&client, &demo.url("/object/report")).await;
    assert_eq!(report.status, StatusCode::OK);
    assert_eq!(report.body, HELLO);
    assert_eq!(
        report.header("content-disposition"),
        Some("attachment; filename=\"Rapport_2023.pdf\"; filename*=UTF-8''Rapport%202023.pdf")
    );
    assert_eq!(report.header("content-type"), Some("application/pdf"));
    assert_eq!(
        report.header("last-modified"),
        Some("Tue, 14 Nov 2023 22:13:20 GMT")
    );

    let offset = get(&client, &demo.url("/object/offset")).await;
    assert_eq!(offset.status, StatusCode::OK);
    assert_eq!(offset.body, NESTED);
    assert_eq!(
        offset.header("content-disposition"),
        Some("attachment; filename=\"file.txt\"")
    );
    assert_eq!(
        offset.header("last-modified"),
        Some("Tue, 14 Nov 2023 22:13:20 GMT")
    );

    let plain = get(&client, &demo.url("/object/plain")).await;
    let by_path = get(&client, &demo.url(&format!("/path/{ESPACE_URL}"))).await;
    assert_eq!(plain.status, StatusCode::OK);
    assert_eq!(plain.body, ESPACE);
    assert_eq!(plain.header("content-disposition"), Some(ESPACE_ATTACHMENT));
    assert_eq!(
        plain.header("last-modified"),
        by_path.header("last-modified")
    );

    // Listed documents only: a file name is no longer a slug.
    for slug in ["hello-world.txt", "missing", "ghost"] {
        let reply = get(&client, &demo.url(&format!("/object/{slug}"))).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "/object/{slug}");
    }
}

#[tokio::test]
async fn object_documents_modified_answers_if_modified_since() {
    let media = Media::new();
    media.write(
        "documents.json",
        br#"[{"slug": "report", "file": "hello-world.txt", "modified": "2023-11-14T22:13:20Z"}]"#,
    );
    let demo = media.demo();
    let client = client();
    let url = demo.url("/object/report");
    let same = get_with(
        &client,
        &url,
        &[("if-modified-since", "Tue, 14 Nov 2023 22:13:20 GMT")],
    )
    .await;
    assert_eq!(same.status, StatusCode::NOT_MODIFIED);
    assert!(same.body.is_empty());
    let older = get_with(
        &client,
        &url,
        &[("if-modified-since", "Mon, 13 Nov 2023 22:13:20 GMT")],
    )
    .await;
    assert_eq!(older.status, StatusCode::OK);
    assert_eq!(older.body, HELLO);
}

#[tokio::test]
async fn http_relays_through_own_path_route_by_default() {
    let media = Media::new();
    let demo = media.demo();
    let client = client();
    let direct = get(&client, &demo.url("/path/hello-world.txt")).await;
    let relayed = get(&client, &demo.url("/http/hello-world.txt")).await;
    assert_eq!(relayed.status, StatusCode::OK);
    assert_eq!(relayed.body, HELLO);
    assert_eq!(relayed.header("content-length"), Some("13"));
    assert_eq!(
        relayed.header("content-disposition"),
        Some("attachment; filename=\"hello-world.txt\"")
    );
    assert_eq!(
        relayed.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert!(direct.header("etag").is_some());
    assert_eq!(relayed.header("etag"), direct.header("etag"));
    assert_eq!(
        relayed.header("last-modified"),
        direct.header("last-modified")
    );
    let nested = get(&client, &demo.url("/http/nested/dir/file.txt")).await;
    assert_eq!(nested.status, StatusCode::OK);
    assert_eq!(nested.body, NESTED);
}

#[tokio::test]
async fn http_uses_the_upstream_flag() {
    let upstream_media = Media::new();
    upstream_media.write("only-upstream.txt", b"from the upstream\n");
    let upstream = upstream_media.demo();
    let media = Media::new();
    let upstream_base = upstream.url("/path");
    let demo = Demo::start([
        OsStr::new("--media-root"),
        media.root().as_os_str(),
        OsStr::new("--upstream"),
        OsStr::new(&upstream_base),
    ]);
    let client = client();
    let local = get(&client, &demo.url("/path/only-upstream.txt")).await;
    assert_eq!(local.status, StatusCode::NOT_FOUND);
    let relayed = get(&client, &demo.url("/http/only-upstream.txt")).await;
    assert_eq!(relayed.status, StatusCode::OK);
    assert_eq!(relayed.body, b"from the upstream\n");
}

#[tokio::test]
async fn virtual_hello_world_is_served_from_memory() {
    let media = Media::new();
    let demo = media.demo();
    let reply = get(&client(), &demo.url("/virtual/hello-world.txt")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, HELLO);
    assert_eq!(reply.header("content-length"), Some("13"));
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    assert_eq!(
        reply.header("content-disposition"),
        Some("attachment; filename=\"hello-world.txt\"")
    );
}

#[tokio::test]
async fn virtual_stream_has_no_content_length_and_exact_body() {
    let media = Media::new();
    let demo = media.demo();
    let reply = get(&client(), &demo.url("/virtual/stream?size=150000")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("content-length"), None);
    assert_eq!(reply.header("transfer-encoding"), Some("chunked"));
    assert_eq!(
        reply.header("content-disposition"),
        Some("attachment; filename=\"stream.bin\"")
    );
    assert_eq!(reply.body.len(), 150_000);
    assert!(is_stream_pattern(&reply.body), "not 0123456789 repeated");
}

#[tokio::test]
async fn virtual_stream_sizes_are_exact() {
    let media = Media::new();
    let demo = media.demo();
    let client = client();
    for size in [0usize, 1, 7, 10, 65_530, 65_531, 131_060] {
        let reply = get(&client, &demo.url(&format!("/virtual/stream?size={size}"))).await;
        assert_eq!(reply.status, StatusCode::OK, "size={size}");
        assert_eq!(reply.body.len(), size, "size={size}");
        assert!(is_stream_pattern(&reply.body), "size={size}");
    }
}

#[tokio::test]
async fn virtual_stream_answers_range_with_full_200() {
    let media = Media::new();
    let demo = media.demo();
    let reply = get_with(
        &client(),
        &demo.url("/virtual/stream?size=150000"),
        &[("range", "bytes=0-9")],
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.header("content-range"), None);
    assert_eq!(reply.body.len(), 150_000);
    assert!(is_stream_pattern(&reply.body));
}

// ---------------------------------------------------------------------------
// Methods and errors
// ---------------------------------------------------------------------------

/// One URL per route, each of an existing download.
fn every_route() -> Vec<String> {
    vec![
        "/path/hello-world.txt".to_owned(),
        "/inline/hello-world.txt".to_owned(),
        "/storage/hello-world.txt".to_owned(),
        "/object/hello-world.txt".to_owned(),
        "/http/hello-world.txt".to_owned(),
        "/virtual/hello-world.txt".to_owned(),
        "/virtual/stream?size=1000".to_owned(),
        format!("/path/{ESPACE_URL}"),
    ]
}

/// Asserts that HEAD `route` answers GET's status and headers, without a body.
async fn assert_head_matches_get(client: &Client, demo: &Demo, route: &str) {
    let url = demo.url(route);
    let get = get(client, &url).await;
    let head = send(client, Method::HEAD, &url, &[]).await;
    assert_eq!(get.status, StatusCode::OK, "GET {route}");
    assert_eq!(head.status, StatusCode::OK, "HEAD {route}");
    assert!(!get.body.is_empty(), "GET {route} has a body");
    assert!(head.body.is_empty(), "HEAD {route} has no body");
    for name in REPRESENTATION_HEADERS {
        assert_eq!(
            head.header(name),
            get.header(name),
            "{name} of HEAD {route} differs from GET"
        );
    }
}

#[tokio::test]
async fn head_has_get_headers_and_empty_body() {
    let media = Media::new();
    let demo = media.demo();
    let client = client();
    for route in every_route()
        .iter()
        .filter(|route| !route.starts_with("/virtual/stream"))
    {
        assert_head_matches_get(&client, &demo, route).await;
    }
}

#[tokio::test]
async fn head_of_stream_announces_no_length() {
    let media = Media::new();
    let demo = media.demo();
    let client = client();
    assert_head_matches_get(&client, &demo, "/virtual/stream?size=1000").await;
}

#[tokio::test]
async fn post_is_405_with_allow_header() {
    let media = Media::new();
    let demo = media.demo();
    let client = client();
    for route in every_route() {
        let reply = send(&client, Method::POST, &demo.url(&route), &[]).await;
        assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED, "POST {route}");
        let allow = reply
            .header("allow")
            .unwrap_or_else(|| panic!("no Allow header on POST {route}"));
        let methods: Vec<&str> = allow.split(',').map(str::trim).collect();
        assert!(methods.contains(&"GET"), "Allow of {route}: {allow}");
        assert!(methods.contains(&"HEAD"), "Allow of {route}: {allow}");
        assert!(!methods.contains(&"POST"), "Allow of {route}: {allow}");
    }
}

#[tokio::test]
async fn missing_file_is_404() {
    let media = Media::new();
    let demo = media.demo();
    let client = client();
    for route in [
        "/path/nope.txt",
        "/inline/nope.txt",
        "/storage/nope.txt",
        "/object/nope.txt",
        "/http/nope.txt",
        "/path/nested/dir/nope.txt",
        "/path/nested",
        "/storage/nested/dir",
    ] {
        let reply = get(&client, &demo.url(route)).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "GET {route}");
        assert_eq!(reply.header("content-disposition"), None, "GET {route}");
    }
}

#[test]
fn escaping_paths_are_404() {
    let media = Media::new();
    let demo = media.demo();
    // Sent raw: an HTTP client would resolve the dot segments itself.
    for prefix in ["/path/", "/inline/", "/storage/", "/http/"] {
        for escape in [
            "..%2f..%2fetc%2fpasswd",
            "%2e%2e/Cargo.toml",
            "%2Fetc%2Fpasswd",
            "..%2fsecret.txt",
            "%2e%2e%2fsecret.txt",
            "nested/..%2f..%2f..%2fsecret.txt",
        ] {
            let target = format!("{prefix}{escape}");
            let (status, answer) = raw_get(&demo.addr, &target);
            assert_eq!(status, 404, "GET {target}: {answer}");
            assert!(!answer.contains("SECRET"), "GET {target}: {answer}");
            assert!(!answer.contains("root:"), "GET {target}: {answer}");
        }
    }
    for escape in ["..%2fsecret.txt", "%2e%2e%2fsecret.txt", "%2Fetc%2Fpasswd"] {
        let target = format!("/object/{escape}");
        let (status, answer) = raw_get(&demo.addr, &target);
        assert_eq!(status, 404, "GET {target}: {answer}");
    }
    // The same server does serve the files inside its root.
    let (status, answer) = raw_get(&demo.addr, "/path/nested/dir/file.txt");
    assert_eq!(status, 200, "{answer}");
}

#[test]
fn encoded_separators_are_404_on_every_name_route() {
    let media = Media::new();
    let demo = media.demo();
    for prefix in [
        "/path/",
        "/inline/",
        "/storage/",
        "/nginx/",
        "/apache/",
        "/lighttpd/",
        "/optimized/",
        "/http/",
    ] {
        for name in [
            "nested%2Fdir%2Ffile.txt",
            "nested%2fdir/file.txt",
            "nested%5Cdir%5Cfile.txt",
        ] {
            let target = format!("{prefix}{name}");
            let (status, answer) = raw_get(&demo.addr, &target);
            assert_eq!(status, 404, "GET {target}: {answer}");
        }
    }
    // `/object/` documents are the top-level files only.
    media.write("sub/secret.txt", SECRET);
    let (status, answer) = raw_get(&demo.addr, "/object/sub%2Fsecret.txt");
    assert_eq!(status, 404, "{answer}");
    assert!(!answer.contains("SECRET"), "{answer}");
}

#[test]
fn http_route_never_leaves_the_upstream_base() {
    let media = Media::new();
    let demo = media.demo();
    // The default upstream is the demo's own /path/: leaving it would reach
    // /storage/, /signed/... on the same server.
    for target in [
        "/http/..%2fstorage%2fhello-world.txt",
        "/http/%2e%2e/storage/hello-world.txt",
        "/http/.%2E/storage/hello-world.txt",
        "/http/%252e%252e/storage/hello-world.txt",
    ] {
        let (status, answer) = raw_get(&demo.addr, target);
        assert_eq!(status, 404, "GET {target}: {answer}");
    }
}

#[tokio::test]
async fn downloads_carry_a_private_revalidated_cache_policy() {
    let media = Media::new();
    let demo = media.demo();
    for route in [
        "/path/hello-world.txt",
        "/storage/hello-world.txt",
        "/virtual/hello-world.txt",
    ] {
        let reply = get(&client(), &demo.url(route)).await;
        assert_eq!(
            reply.header("cache-control"),
            Some("private, no-cache"),
            "{route}"
        );
    }
}

#[tokio::test]
async fn sign_with_a_huge_expiry_does_not_panic() {
    let media = Media::new();
    let demo = media.demo();
    let reply = get(
        &client(),
        &demo.url("/sign/hello-world.txt?expires=18446744073709551615"),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    let url = reply.text();
    let signed = get(&client(), url.trim()).await;
    assert_eq!(signed.status, StatusCode::OK, "{url}");
}

#[cfg(unix)]
#[test]
fn non_utf8_argument_exits_2_with_one_line_error() {
    use std::os::unix::ffi::OsStrExt;
    let bad = OsStr::from_bytes(b"--media-root=\xff\xfe");
    assert_refused_start(&[bad], "not valid UTF-8");
}

#[tokio::test]
async fn non_ascii_names_in_urls_and_content_disposition() {
    let media = Media::new();
    let demo = media.demo();
    let client = client();
    for prefix in ["/path/", "/storage/", "/object/", "/http/"] {
        let url = demo.url(&format!("{prefix}{ESPACE_URL}"));
        let reply = get(&client, &url).await;
        assert_eq!(reply.status, StatusCode::OK, "{url}");
        assert_eq!(reply.body, ESPACE, "{url}");
        assert_eq!(
            reply.header("content-disposition"),
            Some(ESPACE_ATTACHMENT),
            "{url}"
        );
        let url = demo.url(&format!("{prefix}{PDF_URL}"));
        let reply = get(&client, &url).await;
        assert_eq!(reply.status, StatusCode::OK, "{url}");
        assert_eq!(reply.body, PDF, "{url}");
        assert_eq!(
            reply.header("content-disposition"),
            Some(PDF_ATTACHMENT),
            "{url}"
        );
        assert_eq!(
            reply.header("content-type"),
            Some("application/pdf"),
            "{url}"
        );
    }
}

// ---------------------------------------------------------------------------
// Ranges and conditional requests
// ---------------------------------------------------------------------------

#[tokio::test]
async fn range_on_path_is_206_with_content_range() {
    let media = Media::new();
    let demo = media.demo();
    let client = client();
    let url = demo.url("/path/hello-world.txt");
    let reply = get_with(&client, &url, &[("range", "bytes=0-4")]).await;
    assert_eq!(reply.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(reply.header("content-range"), Some("bytes 0-4/13"));
    assert_eq!(reply.header("content-length"), Some("5"));
    assert_eq!(reply.body, b"Hello");
    let suffix = get_with(&client, &url, &[("range", "bytes=-7")]).await;
    assert_eq!(suffix.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(suffix.header("content-range"), Some("bytes 6-12/13"));
    assert_eq!(suffix.body, b"world!\n");
    let beyond = get_with(&client, &url, &[("range", "bytes=100-")]).await;
    assert_eq!(beyond.status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(beyond.header("content-range"), Some("bytes */13"));
}

#[tokio::test]
async fn range_on_http_is_206_with_content_range() {
    let media = Media::new();
    let demo = media.demo();
    let reply = get_with(
        &client(),
        &demo.url("/http/hello-world.txt"),
        &[("range", "bytes=6-10")],
    )
    .await;
    assert_eq!(reply.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(reply.header("content-range"), Some("bytes 6-10/13"));
    assert_eq!(reply.header("content-length"), Some("5"));
    assert_eq!(reply.body, b"world");
}

/// A first GET, then the same with its validators: 304 without a body.
async fn assert_conditional_get(demo: &Demo, route: &str) {
    let client = client();
    let url = demo.url(route);
    let first = get(&client, &url).await;
    assert_eq!(first.status, StatusCode::OK, "{route}");
    let etag = first.header("etag").expect("an ETag").to_owned();
    let modified = first
        .header("last-modified")
        .expect("a Last-Modified")
        .to_owned();

    let by_etag = get_with(&client, &url, &[("if-none-match", &etag)]).await;
    assert_eq!(by_etag.status, StatusCode::NOT_MODIFIED, "{route}");
    assert!(by_etag.body.is_empty(), "{route}: 304 with a body");
    assert_eq!(by_etag.header("etag"), Some(etag.as_str()), "{route}");

    let by_date = get_with(&client, &url, &[("if-modified-since", &modified)]).await;
    assert_eq!(by_date.status, StatusCode::NOT_MODIFIED, "{route}");
    assert!(by_date.body.is_empty(), "{route}: 304 with a body");

    let other = get_with(&client, &url, &[("if-none-match", "\"some-other-tag\"")]).await;
    assert_eq!(other.status, StatusCode::OK, "{route}");
    assert_eq!(other.body, HELLO, "{route}");
}

#[tokio::test]
async fn conditional_get_on_path_is_304() {
    let media = Media::new();
    let demo = media.demo();
    assert_conditional_get(&demo, "/path/hello-world.txt").await;
}

#[tokio::test]
async fn conditional_get_on_http_is_304() {
    let media = Media::new();
    let demo = media.demo();
    assert_conditional_get(&demo, "/http/hello-world.txt").await;
}

// ---------------------------------------------------------------------------
// A file larger than 64 MiB
// ---------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_file_is_intact_via_path_storage_and_http() {
    const SIZE: usize = 65 * 1024 * 1024 + 7;
    let media = Media::new();
    let content = pseudo_random(SIZE);
    let expected = Sha256::digest(&content).to_vec();
    media.write("big.bin", &content);
    let demo = media.demo();
    let client = client();
    for route in ["/path/big.bin", "/storage/big.bin", "/http/big.bin"] {
        let (status, length, count, digest) = get_sha256(&client, &demo.url(route)).await;
        assert_eq!(status, StatusCode::OK, "{route}");
        assert_eq!(length, Some(SIZE.to_string()), "{route}");
        assert_eq!(count, SIZE as u64, "{route}");
        assert_eq!(digest, expected, "{route}: SHA-256 differs");
    }
    // A range straddling the 64 MiB mark.
    let start = 64 * 1024 * 1024 - 5;
    let reply = get_with(
        &client,
        &demo.url("/path/big.bin"),
        &[("range", &format!("bytes={start}-{}", start + 9))],
    )
    .await;
    assert_eq!(reply.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(reply.body, &content[start..start + 10]);
}

// ---------------------------------------------------------------------------
// Hand-off routes and settings
// ---------------------------------------------------------------------------

#[tokio::test]
async fn nginx_route_answers_x_accel_redirect_with_empty_body() {
    let media = Media::new();
    let demo = media.demo();
    let reply = get(&client(), &demo.url(&format!("/nginx/{ESPACE_URL}"))).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.header("x-accel-redirect"),
        Some("/x-accel/espace%20%C3%A9.txt")
    );
    assert_eq!(reply.header("content-disposition"), Some(ESPACE_ATTACHMENT));
    assert!(reply.body.is_empty());
    let nested = get(&client(), &demo.url("/nginx/nested/dir/file.txt")).await;
    assert_eq!(
        nested.header("x-accel-redirect"),
        Some("/x-accel/nested/dir/file.txt")
    );
}

#[tokio::test]
async fn apache_and_lighttpd_routes_answer_x_sendfile_with_absolute_path() {
    let media = Media::new();
    let demo = media.demo();
    let root = media.root().canonicalize().unwrap();
    for route in ["apache", "lighttpd"] {
        let reply = get(
            &client(),
            &demo.url(&format!("/{route}/nested/dir/file.txt")),
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{route}");
        let expected = root.join("nested/dir/file.txt");
        assert_eq!(reply.header("x-sendfile"), expected.to_str(), "{route}");
        assert!(reply.body.is_empty(), "{route}");
    }
}

#[tokio::test]
async fn hand_off_routes_refuse_escaping_paths() {
    let media = Media::new();
    let demo = media.demo();
    for route in ["nginx", "apache", "lighttpd", "optimized"] {
        let (status, _) = raw_get(&demo.addr, &format!("/{route}/%2e%2e/secret.txt"));
        assert_eq!(status, 404, "{route}");
    }
}

#[tokio::test]
async fn optimized_route_is_handed_off_by_the_default_settings() {
    let media = Media::new();
    let demo = media.demo();
    let reply = get(&client(), &demo.url(&format!("/optimized/{PDF_URL}"))).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.header("x-accel-redirect"),
        Some("/x-accel/%E6%97%A5%E6%9C%AC%E8%AA%9E.pdf")
    );
    assert_eq!(reply.header("content-disposition"), Some(PDF_ATTACHMENT));
    assert!(reply.body.is_empty());
    // The plain storage route has base URL /media/, which the rule's
    // /media/optimized/ does not match.
    let plain = get(&client(), &demo.url("/storage/hello-world.txt")).await;
    assert_eq!(plain.header("x-accel-redirect"), None);
    assert_eq!(plain.body, HELLO);
}

#[tokio::test]
async fn hand_off_routes_answer_304_themselves() {
    let media = Media::new();
    let demo = media.demo();
    let first = get(&client(), &demo.url("/nginx/hello-world.txt")).await;
    let etag = first.header("etag").expect("an ETag").to_owned();
    let reply = get_with(
        &client(),
        &demo.url("/nginx/hello-world.txt"),
        &[("if-none-match", &etag)],
    )
    .await;
    assert_eq!(reply.status, StatusCode::NOT_MODIFIED);
    assert_eq!(reply.header("x-accel-redirect"), None);
}

#[tokio::test]
async fn settings_file_replaces_the_default_rules() {
    let media = Media::new();
    let settings = media.dir.path().join("settings.toml");
    write_file(
        &settings,
        br#"
backend = "nginx"
[[rules]]
source_url = "/media/optimized/"
destination_url = "/protected/"
expires = 60
"#,
    );
    let demo = Demo::start([
        OsStr::new("--media-root"),
        media.root().as_os_str(),
        OsStr::new("--settings"),
        settings.as_os_str(),
    ]);
    let reply = get(&client(), &demo.url("/optimized/hello-world.txt")).await;
    assert_eq!(
        reply.header("x-accel-redirect"),
        Some("/protected/hello-world.txt")
    );
    assert_eq!(reply.header("x-accel-expires"), Some("60"));
}

#[tokio::test]
async fn json_settings_with_development_backend_streams_from_the_app() {
    let media = Media::new();
    let settings = media.dir.path().join("settings.json");
    write_file(&settings, br#"{"backend": "development", "rules": []}"#);
    let demo = Demo::start([
        OsStr::new("--media-root"),
        media.root().as_os_str(),
        OsStr::new("--settings"),
        settings.as_os_str(),
    ]);
    let reply = get(&client(), &demo.url("/optimized/hello-world.txt")).await;
    assert_eq!(reply.header("x-accel-redirect"), None);
    assert_eq!(reply.body, HELLO);
}

#[test]
fn invalid_settings_exit_2_naming_rule_and_key() {
    let media = Media::new();
    let settings = media.dir.path().join("settings.toml");
    write_file(
        &settings,
        b"backend = \"nginx\"\n[[rules]]\nsource_dir = \"relative\"\ndestination_url = \"/x/\"\n",
    );
    let root: OsString = media.root().into_os_string();
    assert_refused_start(
        &[
            OsStr::new("--addr"),
            OsStr::new("127.0.0.1:0"),
            OsStr::new("--media-root"),
            &root,
            OsStr::new("--settings"),
            settings.as_os_str(),
        ],
        "rule 1: `source_dir` must be absolute",
    );
}

#[test]
fn unknown_settings_key_exits_2_naming_the_key() {
    let media = Media::new();
    let settings = media.dir.path().join("settings.toml");
    write_file(&settings, b"[[rules]]\ndestination = \"/x/\"\n");
    let root: OsString = media.root().into_os_string();
    assert_refused_start(
        &[
            OsStr::new("--addr"),
            OsStr::new("127.0.0.1:0"),
            OsStr::new("--media-root"),
            &root,
            OsStr::new("--settings"),
            settings.as_os_str(),
        ],
        "unknown field `destination`",
    );
}

#[tokio::test]
async fn healthcheck_hands_off_the_known_file() {
    let media = Media::new();
    media.write(demo::HEALTHCHECK_FILE, demo::HEALTHCHECK_CONTENT.as_bytes());
    let demo = media.demo();
    let reply = get(&client(), &demo.url("/healthcheck")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(
        reply.header("x-accel-redirect"),
        Some("/x-accel/healthcheck.txt")
    );
}

#[tokio::test]
async fn healthcheck_is_503_when_the_file_is_missing() {
    let media = Media::new();
    let demo = media.demo();
    let reply = get(&client(), &demo.url("/healthcheck")).await;
    assert_eq!(reply.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(reply.text(), "storage: unavailable\n");
}

// ---------------------------------------------------------------------------
// Signed URLs
// ---------------------------------------------------------------------------

#[tokio::test]
async fn sign_gives_a_url_that_signed_serves() {
    let media = Media::new();
    let demo = media.demo();
    let client = client();
    let signed = get(&client, &demo.url(&format!("/sign/{ESPACE_URL}"))).await;
    assert_eq!(signed.status, StatusCode::OK);
    assert_eq!(
        signed.header("content-type"),
        Some("text/plain; charset=utf-8")
    );
    let url = signed.text();
    assert!(
        url.starts_with(&demo.url(&format!("/signed/{ESPACE_URL}?X-Signature="))),
        "{url}"
    );
    let reply = get(&client, &url).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body, ESPACE);
    assert_eq!(reply.header("content-disposition"), Some(ESPACE_ATTACHMENT));
}

#[tokio::test]
async fn signed_refuses_missing_tampered_other_path_and_expired() {
    let media = Media::new();
    let demo = media.demo();
    let client = client();
    let missing = get(&client, &demo.url("/signed/hello-world.txt")).await;
    assert_eq!(missing.status, StatusCode::FORBIDDEN);

    let url = get(&client, &demo.url("/sign/hello-world.txt"))
        .await
        .text();
    let mut tampered = url.clone();
    let last = tampered.pop().expect("a signature");
    tampered.push(if last == '0' { '1' } else { '0' });
    assert_eq!(get(&client, &tampered).await.status, StatusCode::FORBIDDEN);

    let other = url.replace("/signed/hello-world.txt", "/signed/empty.txt");
    assert_eq!(get(&client, &other).await.status, StatusCode::FORBIDDEN);

    let expired = get(&client, &demo.url("/sign/hello-world.txt?expires=0"))
        .await
        .text();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(get(&client, &expired).await.status, StatusCode::FORBIDDEN);

    // The good one still works.
    assert_eq!(get(&client, &url).await.body, HELLO);
}

// ---------------------------------------------------------------------------
// Settings reloaded on SIGHUP
// ---------------------------------------------------------------------------

#[cfg(unix)]
#[tokio::test]
async fn sighup_reloads_settings_and_keeps_them_when_invalid() {
    let media = Media::new();
    let settings = media.dir.path().join("settings.json");
    let nginx = r#"{"backend": "nginx", "rules": [{"source_url": "/media/optimized/", "destination_url": "/x-accel/"}]}"#;
    std::fs::write(&settings, nginx).unwrap();
    let demo = Demo::start([
        OsStr::new("--media-root"),
        media.root().as_os_str(),
        OsStr::new("--settings"),
        settings.as_os_str(),
    ]);
    let url = demo.url("/optimized/hello-world.txt");
    let handed_off = |reply: &Reply| reply.header("x-accel-redirect").is_some();
    assert!(handed_off(&get(&client(), &url).await));

    let hangup = |demo: &Demo| {
        let status = Command::new("kill")
            .arg("-HUP")
            .arg(demo.child.id().to_string())
            .status()
            .expect("kill (procps) must be installed");
        assert!(status.success());
    };
    std::fs::write(&settings, r#"{"backend": "development"}"#).unwrap();
    hangup(&demo);
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut reply = get(&client(), &url).await;
    while handed_off(&reply) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
        reply = get(&client(), &url).await;
    }
    assert!(!handed_off(&reply), "still handed off after SIGHUP");
    assert_eq!(reply.body, HELLO);

    // An invalid file: the running settings stay.
    std::fs::write(&settings, r#"{"rules": [{"source_dir": "relative"}]}"#).unwrap();
    hangup(&demo);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let reply = get(&client(), &url).await;
    assert!(!handed_off(&reply));
    assert_eq!(reply.body, HELLO);
}
