//! The harness the demo's black-box test files share: the real binary on
//! an ephemeral port, and a raw HTTP/1.1 client for targets an HTTP client
//! would normalise. Each test file uses part of it.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long the binary may take to start listening or to exit.
pub(crate) const PROCESS_TIMEOUT: Duration = Duration::from_secs(20);

/// A running demo binary, killed when dropped.
pub(crate) struct Demo {
    pub(crate) child: Child,
    /// `127.0.0.1:PORT`, from the `listening on` line.
    pub(crate) addr: String,
}

impl Demo {
    /// Starts the binary on `127.0.0.1:0` with `args` and waits for its
    /// `listening on http://ADDR` line.
    pub(crate) fn start<I, S>(args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = Self::command();
        command.args(args).stderr(Stdio::inherit());
        Self::spawn(command)
    }

    /// [`start`](Self::start) with `RUST_LOG=filter`: also returns the
    /// lines the demo logs on stderr, as they come.
    pub(crate) fn start_logging<I, S>(args: I, filter: &str) -> (Self, mpsc::Receiver<String>)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut command = Self::command();
        command
            .args(args)
            .env("RUST_LOG", filter)
            .stderr(Stdio::piped());
        let mut demo = Self::spawn(command);
        let stderr = demo.child.stderr.take().expect("piped stderr");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        (demo, rx)
    }

    /// The binary on `127.0.0.1:0`, before the test's own arguments;
    /// warnings only in the test's output unless `RUST_LOG` says otherwise.
    fn command() -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_demo"));
        command.arg("--addr").arg("127.0.0.1:0");
        if std::env::var_os("RUST_LOG").is_none() {
            command.env("RUST_LOG", "warn");
        }
        command
    }

    /// Spawns `command` and waits for its `listening on http://ADDR` line.
    fn spawn(mut command: Command) -> Self {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn the demo binary");
        let stdout = child.stdout.take().expect("piped stdout");
        // Guard first, so a failed start still kills the process.
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
            // Keep draining, so the pipe never fills while the demo runs.
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let Ok(line) = rx.recv_timeout(PROCESS_TIMEOUT) else {
            panic!("the demo printed no line within {PROCESS_TIMEOUT:?}");
        };
        let addr = line
            .strip_suffix('\n')
            .and_then(|l| l.strip_prefix("listening on http://"))
            .unwrap_or_else(|| panic!("unexpected first line on stdout: {line:?}"));
        let port: u16 = addr
            .strip_prefix("127.0.0.1:")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no 127.0.0.1 port in {line:?}"));
        assert_ne!(port, 0, "the demo announced port 0: {line:?}");
        demo.addr = addr.to_owned();
        demo
    }

    /// Starts the binary serving `root`.
    pub(crate) fn serving(root: &Path) -> Self {
        Self::start([OsStr::new("--media-root"), root.as_os_str()])
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends `GET target` over a fresh connection, byte for byte as given (no
/// URL normalization), and returns the status and the whole answer.
pub(crate) fn raw_get(addr: &str, target: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect to the demo");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .expect("read timeout");
    write!(
        stream,
        "GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .expect("send the request");
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .expect("read the whole answer");
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP/1.1 status line for {target}: {answer:?}"));
    (status, answer)
}
