//! An S3-compatible object store on loopback for the end-to-end tests:
//! moto's server (`moto[server]` from PyPI), which `scripts/test.sh`
//! installs in a virtual environment at `target/s3-venv`. It runs in
//! memory, needs no credentials of its own and answers `HEAD`, ranged
//! `GET` and presigned URLs like S3.
//!
//! An [`S3Stack`] is, from the client's side:
//!
//! ```text
//! reqwest ──▶ nginx (deploy/nginx.conf) ──▶ relay ──▶ demo --s3 http://STORE-RELAY/media
//!               │                                      │ HEAD, ranged GET
//!               │                                      ▼
//!               └── /x-accel-remote/: presigned GET ─▶ store relay (Spy) ──▶ moto_server
//! ```
//!
//! A missing moto is a failure that says to run `./scripts/test.sh`, never
//! a skip.

use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Client;

use crate::checks;
use crate::demo::{workspace_root, Demo};
use crate::media::{big_bytes, encode_url_path, Media};
use crate::proxy::{free_port, Proxy, ProxyKind};
use crate::spy::Spy;

/// The bucket the fixtures live in.
pub const BUCKET: &str = "media";
/// The credentials the demo signs with (moto accepts any).
pub const CREDENTIALS: [(&str, &str); 3] = [
    ("AWS_ACCESS_KEY_ID", "e2e-access-key"),
    ("AWS_SECRET_ACCESS_KEY", "e2e-secret-key"),
    ("AWS_REGION", "us-east-1"),
];
/// Name of the large object.
pub const BIG_KEY: &str = "big.bin";
/// Size of the large object: big enough that stopping the store while it
/// flows cuts it (more than every buffer on the way), not a round number.
pub const BIG_KEY_LEN: u64 = 24 * 1024 * 1024 + 4099;

/// How long moto may take to listen.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// One object of the bucket.
#[derive(Debug, Clone, Copy)]
pub struct Fixture {
    /// Its key.
    pub key: &'static str,
    /// The `Content-Type` it is stored with, if any.
    pub content_type: Option<&'static str>,
    /// Its bytes, or `None` for the large object ([`big_bytes`]).
    pub bytes: Option<&'static [u8]>,
}

impl Fixture {
    /// Its bytes.
    #[must_use]
    pub fn content(&self) -> Vec<u8> {
        match self.bytes {
            Some(bytes) => bytes.to_vec(),
            None => big_bytes(0..BIG_KEY_LEN),
        }
    }

    /// Its key as a URL path, each segment percent-encoded.
    #[must_use]
    pub fn url_path(&self) -> String {
        encode_url_path(self.key)
    }
}

/// The objects of the bucket, the large one last.
pub const FIXTURES: &[Fixture] = &[
    Fixture {
        key: "hello-world.txt",
        content_type: Some("text/plain"),
        bytes: Some(b"Hello world!\n"),
    },
    Fixture {
        key: "docs/espace é.txt",
        content_type: Some("text/plain; charset=utf-8"),
        bytes: Some("Espace é\n".as_bytes()),
    },
    Fixture {
        key: "page.html",
        content_type: Some("text/html"),
        bytes: Some(b"<script>alert(1)</script>\n"),
    },
    Fixture {
        key: "untyped",
        content_type: None,
        bytes: Some(b"\x00\x01\x02 no type\n"),
    },
    Fixture {
        key: BIG_KEY,
        content_type: Some("application/octet-stream"),
        bytes: None,
    },
];

/// moto's server program: `$E2E_MOTO_SERVER`, else the one
/// `scripts/test.sh` installs.
///
/// # Panics
///
/// When it is not installed, saying how to install it.
#[must_use]
pub fn moto_server() -> PathBuf {
    let path = std::env::var_os("E2E_MOTO_SERVER").map_or_else(
        || workspace_root().join("target/s3-venv/bin/moto_server"),
        PathBuf::from,
    );
    assert!(
        path.is_file(),
        "the S3-compatible store for the object-store tests is not installed ({} is \
         missing): run ./scripts/test.sh, which installs moto[server] from PyPI in \
         target/s3-venv (or set E2E_MOTO_SERVER to a moto_server program)",
        path.display()
    );
    path
}

/// A running moto server holding [`FIXTURES`] in [`BUCKET`], killed when
/// dropped.
#[derive(Debug)]
pub struct S3Store {
    child: Child,
    addr: SocketAddr,
}

impl S3Store {
    /// Starts moto on a free loopback port and fills the bucket.
    ///
    /// # Panics
    ///
    /// When moto is missing or does not start.
    pub async fn start() -> S3Store {
        let program = moto_server();
        let port = free_port();
        let child = Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own group: stopping it stops its children too.
            .process_group(0)
            .spawn()
            .unwrap_or_else(|err| panic!("spawn {}: {err}", program.display()));
        let mut store = S3Store {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        };
        store.wait_ready();
        store.fill().await;
        store
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("moto_server exited with {status} before listening");
            }
            if TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)).is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "moto_server did not listen on {} within {START_TIMEOUT:?}",
                self.addr
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Creates the bucket and uploads the fixtures (moto takes unsigned
    /// requests).
    async fn fill(&self) {
        let client = checks::client();
        let bucket = format!("http://{}/{BUCKET}", self.addr);
        let status = client
            .put(&bucket)
            .send()
            .await
            .unwrap_or_else(|err| panic!("create the bucket {bucket}: {err}"))
            .status();
        assert!(status.is_success(), "create the bucket {bucket}: {status}");
        for fixture in FIXTURES {
            let url = format!("{bucket}/{}", fixture.url_path());
            let mut request = client.put(&url).body(fixture.content());
            if let Some(content_type) = fixture.content_type {
                request = request.header("content-type", content_type);
            }
            let status = request
                .send()
                .await
                .unwrap_or_else(|err| panic!("upload {url}: {err}"))
                .status();
            assert!(status.is_success(), "upload {url}: {status}");
        }
    }

    /// Where it listens.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops it at once (SIGKILL to its group): the store is gone.
    pub fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for S3Store {
    fn drop(&mut self) {
        self.stop();
    }
}

/// nginx in front of the demo (through a relay), the demo reading a moto
/// bucket (through another relay, which nginx also uses for presigned
/// URLs). Fields drop in order: proxy, relays, demo, store.
#[derive(Debug)]
pub struct S3Stack {
    /// nginx, the way in.
    pub proxy: Proxy,
    /// The relay between nginx and the demo.
    pub spy: Spy,
    /// The relay in front of the store: what reaches the store.
    pub store_spy: Spy,
    /// The demo, started with `--s3 http://STORE-RELAY/media`.
    pub demo: Demo,
    /// The store.
    pub store: S3Store,
    /// The demo's media root (unused by the object-store routes).
    pub media: Arc<Media>,
    /// An HTTP client.
    pub client: Client,
}

impl S3Stack {
    /// Starts the store, the demo and nginx.
    ///
    /// # Panics
    ///
    /// When moto or nginx is missing, or anything fails to start.
    pub async fn start() -> S3Stack {
        // First, so missing programs fail at once, before the demo is built.
        let _ = moto_server();
        let _ = ProxyKind::Nginx.require();
        let store = S3Store::start().await;
        let store_spy = Spy::start(store.addr());
        let media = Media::shared();
        let s3 = format!("http://{}/{BUCKET}", store_spy.addr());
        let demo = Demo::start_with(media.root(), &["--s3", &s3], &CREDENTIALS);
        let spy = Spy::start(demo.addr());
        let proxy = Proxy::start(ProxyKind::Nginx, spy.addr(), media.root());
        S3Stack {
            proxy,
            spy,
            store_spy,
            demo,
            store,
            media,
            client: checks::client(),
        }
    }
}
