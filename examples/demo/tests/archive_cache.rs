//! Black-box tests of the demo's `/archive/` route against its contract
//! (`shared/demo-contract.md`, "Archives"): the real binary on an ephemeral
//! port, driven over TCP, the archives checked with `unzip -t`.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{Client, Method, StatusCode};
use tempfile::TempDir;

/// How long the binary may take to start listening.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A running demo binary, killed when dropped.
struct Demo {
    child: Child,
    addr: String,
}

impl Demo {
    /// Starts the binary on `127.0.0.1:0` with `args` and waits for its
    /// `listening on http://ADDR` line.
    fn start<I, S>(args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut child = Command::new(env!("CARGO_BIN_EXE_demo"))
            .args(["--addr", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn the demo binary");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut demo = Demo {
            child,
            addr: String::new(),
        };
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = tx.send(line);
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let line = rx
            .recv_timeout(START_TIMEOUT)
            .expect("the demo printed its listening line");
        demo.addr = line
            .trim_end()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
            .to_owned();
        demo
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

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
        let reply = get(&demo.url(path), &[]).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        assert!(!String::from_utf8_lossy(&reply.body).contains("SECRET"));
    }
}
