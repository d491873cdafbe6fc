//! The real demo binary (package `demo`), built with cargo on first use and
//! started on an ephemeral loopback port.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::Duration;

/// How long the demo may take to print its `listening on` line.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The root of the workspace.
#[must_use]
pub fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent: the workspace")
}

/// The demo binary: `$E2E_DEMO_BIN` when set, otherwise built once per
/// process with `cargo build -p demo` (a no-op when it is fresh), in the
/// same target directory and profile as the running test.
///
/// # Panics
///
/// When the build fails; the message holds cargo's output.
#[must_use]
pub fn demo_binary() -> &'static Path {
    static BINARY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    match BINARY.get_or_init(build_demo) {
        Ok(path) => path,
        Err(message) => panic!("{message}"),
    }
}

fn build_demo() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("E2E_DEMO_BIN") {
        return Ok(PathBuf::from(path));
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
    let mut command = Command::new(cargo);
    command
        .args(["build", "--package", "demo", "--bin", "demo"])
        .arg("--message-format=json-render-diagnostics")
        .arg("--manifest-path")
        .arg(workspace_root().join("Cargo.toml"));
    // Same profile as this test binary: `target/<profile>/deps/<test>`.
    let exe = std::env::current_exe().map_err(|err| format!("current_exe: {err}"))?;
    let profile_dir = exe.parent().and_then(Path::parent);
    if profile_dir.and_then(Path::file_name) == Some("release".as_ref()) {
        command.arg("--release");
    }
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|err| format!("could not run cargo to build the demo: {err}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "`cargo build -p demo` failed ({}):\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    stdout
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|msg| msg["reason"] == "compiler-artifact" && msg["target"]["name"] == "demo")
        .find_map(|msg| msg["executable"].as_str().map(PathBuf::from))
        .ok_or_else(|| format!("`cargo build -p demo` named no demo executable:\n{stdout}"))
}

/// A running demo, killed when dropped.
#[derive(Debug)]
pub struct Demo {
    child: Child,
    addr: SocketAddr,
}

impl Demo {
    /// Starts the demo on `127.0.0.1:0` serving `media_root` and waits for
    /// its `listening on http://ADDR` line.
    ///
    /// # Panics
    ///
    /// When it does not start.
    #[must_use]
    pub fn start(media_root: &Path) -> Demo {
        Demo::start_with(media_root, &[])
    }

    /// [`start`](Self::start) with more command-line arguments
    /// (`--static-root`, `--settings`, ...).
    ///
    /// # Panics
    ///
    /// When it does not start.
    #[must_use]
    pub fn start_with(media_root: &Path, args: &[&std::ffi::OsStr]) -> Demo {
        let binary = demo_binary();
        let mut child = Command::new(binary)
            .arg("--addr")
            .arg("127.0.0.1:0")
            .arg("--media-root")
            .arg(media_root)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|err| panic!("spawn {}: {err}", binary.display()));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = tx.send(line);
            // Keep draining, so the pipe never fills.
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let Ok(line) = rx.recv_timeout(START_TIMEOUT) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the demo printed nothing within {START_TIMEOUT:?}");
        };
        let addr = line
            .trim_end()
            .strip_prefix("listening on http://")
            .and_then(|addr| addr.parse().ok());
        match addr {
            Some(addr) => Demo { child, addr },
            None => {
                let _ = child.kill();
                let status = child.wait();
                panic!("the demo did not start: first line {line:?}, status {status:?}");
            }
        }
    }

    /// Where it listens.
    #[must_use]
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR{path}`.
    #[must_use]
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
