//! What the integration tests of this crate share: requests driven
//! in-process with `oneshot` (to a router, or to any tower service with
//! the whole answer collected), deterministic test bytes, a path-download
//! app, a server on an ephemeral port and an address nobody listens on, a
//! raw HTTP/1.1 client, and measurements of the process. Temporary media directories come from the
//! crate's own `axum_download::test_util::TempMediaRoot`.
//!
//! Each test file includes it with `mod support;`.

// Every test binary compiles its own copy of this module and uses only
// part of it: what one binary leaves unused is not dead code.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use axum_download::{DownloadError, DownloadLayer, DownloadResponse, PathDownload};
use http::header::AsHeaderName;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt;
use tower::{Service, ServiceExt};

/// What a download handler returns.
pub(crate) type Download = Result<DownloadResponse, DownloadError>;

// ---------------------------------------------------------------------------
// In-process requests.
// ---------------------------------------------------------------------------

/// The request `method uri` with `headers` and no body.
pub(crate) fn new_request(method: Method, uri: &str, headers: &[(&str, &str)]) -> Request<Body> {
    let mut builder = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Body::empty()).unwrap()
}

/// Sends `method uri` with `headers` to `app` and returns its answer.
pub(crate) async fn request(
    app: &Router,
    method: Method,
    uri: &str,
    headers: &[(&str, &str)],
) -> Response {
    app.clone()
        .oneshot(new_request(method, uri, headers))
        .await
        .unwrap()
}

/// A response read to its end: what to compare when the body is wanted
/// with the head.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    /// `None` when the body failed.
    pub(crate) body: Option<Vec<u8>>,
}

impl Answer {
    /// Reads `response` to its end; a failed body is kept as `None`.
    pub(crate) async fn read(response: Response) -> Self {
        let (parts, body) = response.into_parts();
        let body = body.collect().await.ok().map(|c| c.to_bytes().to_vec());
        Self {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }

    /// The value of header `name`, when present; panics when it is not
    /// visible ASCII.
    pub(crate) fn header(&self, name: impl AsHeaderName) -> Option<&str> {
        self.headers
            .get(name)
            .map(|value| value.to_str().expect("visible ASCII header"))
    }

    /// The names of the headers present.
    pub(crate) fn names(&self) -> BTreeSet<&str> {
        self.headers.keys().map(|name| name.as_str()).collect()
    }

    /// The body; panics when it failed.
    pub(crate) fn body(&self) -> &[u8] {
        self.body.as_deref().expect("the body completed")
    }
}

/// Sends `request` to `service` (a `Router`, a layered service, ...) and
/// reads the whole answer.
pub(crate) async fn send<S>(service: &S, request: Request<Body>) -> Answer
where
    S: Service<Request<Body>, Response = Response, Error = Infallible> + Clone,
{
    Answer::read(service.clone().oneshot(request).await.unwrap()).await
}

/// Sends `method uri` with `headers` to `service` and reads the whole
/// answer.
pub(crate) async fn exchange<S>(
    service: &S,
    method: Method,
    uri: &str,
    headers: &[(&str, &str)],
) -> Answer
where
    S: Service<Request<Body>, Response = Response, Error = Infallible> + Clone,
{
    send(service, new_request(method, uri, headers)).await
}

/// `GET uri` with `headers` to `service`, the whole answer read.
pub(crate) async fn get_with<S>(service: &S, uri: &str, headers: &[(&str, &str)]) -> Answer
where
    S: Service<Request<Body>, Response = Response, Error = Infallible> + Clone,
{
    exchange(service, Method::GET, uri, headers).await
}

/// The whole body; panics when it fails.
pub(crate) async fn body(response: Response) -> Vec<u8> {
    try_body(response).await.expect("a complete body")
}

/// The whole body, or the error that ended it.
pub(crate) async fn try_body(response: Response) -> Result<Vec<u8>, String> {
    response
        .into_body()
        .collect()
        .await
        .map(|collected| collected.to_bytes().to_vec())
        .map_err(|err| err.to_string())
}

/// The whole body, as UTF-8 text.
pub(crate) async fn text(response: Response) -> String {
    String::from_utf8(body(response).await).expect("a UTF-8 body")
}

/// The value of header `name`, when present; panics when it is not
/// visible ASCII.
pub(crate) fn header(response: &Response, name: impl AsHeaderName) -> Option<&str> {
    response
        .headers()
        .get(name)
        .map(|value| value.to_str().expect("visible ASCII header"))
}

// ---------------------------------------------------------------------------
// Files.
// ---------------------------------------------------------------------------

/// `len` deterministic pseudo-random bytes (xorshift32 from `seed`): no
/// period a misplaced range could hide in, and incompressible.
pub(crate) fn pattern(len: usize, seed: u32) -> Vec<u8> {
    assert_ne!(seed, 0, "xorshift32 never leaves 0");
    let mut state = seed;
    let mut out = Vec::with_capacity(len + 4);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

/// Creates a FIFO at `path`.
#[cfg(unix)]
pub(crate) fn mkfifo(path: &Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo (coreutils) must be installed");
    assert!(status.success(), "mkfifo {}", path.display());
}

/// `PathDownload::from_root(root, name)` for `/{*name}` routes.
pub(crate) async fn path_handler(
    State(root): State<PathBuf>,
    UrlPath(name): UrlPath<String>,
) -> Download {
    PathDownload::from_root(root, name).await
}

/// `/path/{*name}`: the files below `root`, through `DownloadLayer`.
pub(crate) fn path_app(root: PathBuf) -> Router {
    Router::new()
        .route("/path/{*name}", get(path_handler))
        .layer(DownloadLayer::new())
        .with_state(root)
}

// ---------------------------------------------------------------------------
// Real sockets.
// ---------------------------------------------------------------------------

/// Serves `app` with `axum::serve` on an ephemeral port of 127.0.0.1.
pub(crate) async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// Serves `app` like [`serve`] and returns its base URL,
/// `http://127.0.0.1:<port>` (no trailing slash): an upstream for the
/// remote downloads.
pub(crate) async fn serve_url(app: Router) -> String {
    format!("http://{}", serve(app).await)
}

/// An address of 127.0.0.1 nobody listens on (a port bound, then freed):
/// connections to it are refused.
pub(crate) fn unused_addr() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

/// A raw HTTP/1.1 client over a tokio `TcpStream`: it sees an aborted
/// transfer exactly as a browser does, a connection that closes before
/// `Content-Length` bytes (or the last chunk) arrived.
pub(crate) mod raw_http {
    use std::io;
    use std::net::SocketAddr;
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    /// How long any one transfer may take before the test fails as hung.
    pub(crate) const TRANSFER_TIMEOUT: Duration = Duration::from_secs(20);

    /// A response head.
    pub(crate) struct Head {
        pub(crate) status: u16,
        /// Names lowercased, values trimmed.
        pub(crate) headers: Vec<(String, String)>,
    }

    impl Head {
        fn parse(text: &str) -> Self {
            let mut lines = text.split("\r\n");
            let status = lines
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("bad status line in {text:?}"));
            let headers = lines
                .filter_map(|l| l.split_once(':'))
                .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
                .collect();
            Self { status, headers }
        }

        /// The value of header `name` (lowercase).
        pub(crate) fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        }

        pub(crate) fn content_length(&self) -> Option<u64> {
            self.header("content-length").map(|v| v.parse().unwrap())
        }

        pub(crate) fn chunked(&self) -> bool {
            self.header("transfer-encoding")
                .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
        }
    }

    /// What a client got before the connection closed.
    pub(crate) struct Transfer {
        /// `None` when the connection closed before a whole head arrived.
        pub(crate) head: Option<Head>,
        /// The body bytes as sent (still chunk-encoded when chunked).
        pub(crate) raw_body: Vec<u8>,
        /// The read error that ended the transfer, if it was not a clean EOF.
        pub(crate) error: Option<io::ErrorKind>,
    }

    impl Transfer {
        /// The body, decoded, and whether it is complete: all
        /// `Content-Length` bytes, or the last chunk of a chunked body.
        pub(crate) fn body(&self) -> (Vec<u8>, bool) {
            let Some(head) = &self.head else {
                return (Vec::new(), false);
            };
            if head.chunked() {
                return dechunk(&self.raw_body);
            }
            let complete = match head.content_length() {
                Some(len) => self.raw_body.len() as u64 == len,
                None => self.error.is_none(),
            };
            (self.raw_body.clone(), complete)
        }

        pub(crate) fn describe(&self) -> String {
            let head = match &self.head {
                None => "no head".to_owned(),
                Some(h) => format!(
                    "{} content-length={:?} chunked={}",
                    h.status,
                    h.content_length(),
                    h.chunked()
                ),
            };
            format!(
                "{head}, {} body bytes, ended by {:?}",
                self.raw_body.len(),
                self.error
            )
        }
    }

    /// Where `needle` first occurs in `haystack`.
    pub(crate) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
        haystack.windows(needle.len()).position(|w| w == needle)
    }

    /// Decodes a chunked body: the data, and whether the last chunk arrived.
    pub(crate) fn dechunk(raw: &[u8]) -> (Vec<u8>, bool) {
        let mut out = Vec::new();
        let mut rest = raw;
        loop {
            let Some(line_end) = find(rest, b"\r\n") else {
                return (out, false);
            };
            let size = std::str::from_utf8(&rest[..line_end])
                .ok()
                .and_then(|line| line.split(';').next())
                .and_then(|s| usize::from_str_radix(s.trim(), 16).ok());
            let Some(size) = size else {
                return (out, false);
            };
            rest = &rest[line_end + 2..];
            if size == 0 {
                return (out, rest.starts_with(b"\r\n"));
            }
            if rest.len() < size + 2 {
                out.extend_from_slice(&rest[..size.min(rest.len())]);
                return (out, false);
            }
            out.extend_from_slice(&rest[..size]);
            if &rest[size..size + 2] != b"\r\n" {
                return (out, false);
            }
            rest = &rest[size + 2..];
        }
    }

    /// Connects (retrying a few times while the listener's backlog is
    /// full) and sends `GET path`; the server closes after the answer.
    pub(crate) async fn request(addr: SocketAddr, path: &str) -> Result<TcpStream, String> {
        let mut attempt = 0;
        let mut stream = loop {
            match TcpStream::connect(addr).await {
                Ok(stream) => break stream,
                Err(_) if attempt < 5 => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(100 * attempt)).await;
                }
                Err(err) => return Err(format!("connect: {err}")),
            }
        };
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| format!("send: {e}"))?;
        Ok(stream)
    }

    /// Reads the head; the bytes read past it start the body.
    pub(crate) async fn read_head(stream: &mut TcpStream) -> Transfer {
        let mut received = Vec::new();
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            if let Some(end) = find(&received, b"\r\n\r\n") {
                let head = Head::parse(std::str::from_utf8(&received[..end]).unwrap());
                return Transfer {
                    head: Some(head),
                    raw_body: received[end + 4..].to_vec(),
                    error: None,
                };
            }
            match stream.read(&mut buf).await {
                Ok(0) => {
                    return Transfer {
                        head: None,
                        raw_body: received,
                        error: None,
                    }
                }
                Ok(n) => received.extend_from_slice(&buf[..n]),
                Err(err) => {
                    return Transfer {
                        head: None,
                        raw_body: received,
                        error: Some(err.kind()),
                    }
                }
            }
        }
    }

    /// Reads the rest of the body until the connection closes.
    pub(crate) async fn read_to_close(stream: &mut TcpStream, transfer: &mut Transfer) {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match stream.read(&mut buf).await {
                Ok(0) => return,
                Ok(n) => transfer.raw_body.extend_from_slice(&buf[..n]),
                Err(err) => {
                    transfer.error = Some(err.kind());
                    return;
                }
            }
        }
    }

    /// `GET path` to the end of the connection.
    pub(crate) async fn fetch(addr: SocketAddr, path: &str) -> Transfer {
        tokio::time::timeout(TRANSFER_TIMEOUT, async {
            let mut stream = request(addr, path).await.unwrap();
            let mut transfer = read_head(&mut stream).await;
            if transfer.head.is_some() {
                read_to_close(&mut stream, &mut transfer).await;
            }
            transfer
        })
        .await
        .unwrap_or_else(|_| panic!("GET {path} hung for {TRANSFER_TIMEOUT:?}"))
    }
}

// ---------------------------------------------------------------------------
// The process.
// ---------------------------------------------------------------------------

/// Tests that measure the process (descriptors, memory) take this lock, so
/// that they run one at a time within their binary.
pub(crate) static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Waits for [`SERIAL`].
pub(crate) async fn serial() -> tokio::sync::MutexGuard<'static, ()> {
    SERIAL.lock().await
}

/// How many descriptors this process has open.
#[cfg(target_os = "linux")]
pub(crate) fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Descriptors of this process open on the file `path`.
#[cfg(target_os = "linux")]
pub(crate) fn fds_on(path: &Path) -> usize {
    // `/proc/self/fd/N` links to the canonical path.
    let path = path.canonicalize().unwrap();
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
        .filter(|target| *target == path)
        .count()
}

/// Polls `probe` until `done` holds or `timeout` passes; returns the last
/// value.
pub(crate) async fn poll_until<T: Copy>(
    timeout: std::time::Duration,
    probe: impl Fn() -> T,
    done: impl Fn(T) -> bool,
) -> T {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let value = probe();
        if done(value) || std::time::Instant::now() >= deadline {
            return value;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
