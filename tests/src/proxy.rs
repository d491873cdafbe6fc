//! A real reverse proxy (nginx, Apache with mod_xsendfile, or lighttpd)
//! started in the foreground from the configuration shipped in `deploy/`,
//! in its own run directory and process group, stopped when dropped.

use std::collections::BTreeSet;
use std::fs;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::demo::workspace_root;
use crate::media::make_public;

/// How long a proxy may take to accept connections, or to stop.
const START_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a proxy has to stop after SIGTERM before SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);
/// Start attempts, each on a fresh port (another process may take the port
/// between choosing it and the proxy binding it).
const ATTEMPTS: usize = 3;

/// Apache's X-Sendfile module, as Debian's libapache2-mod-xsendfile installs it.
pub const MOD_XSENDFILE: &str = "/usr/lib/apache2/modules/mod_xsendfile.so";

/// Which proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyKind {
    /// nginx, with `X-Accel-Redirect`.
    Nginx,
    /// Apache httpd with mod_proxy and mod_xsendfile.
    Apache,
    /// lighttpd with mod_proxy and X-Sendfile.
    Lighttpd,
}

impl ProxyKind {
    /// The name of its configuration template in `deploy/`.
    #[must_use]
    pub fn template_name(self) -> &'static str {
        match self {
            ProxyKind::Nginx => "nginx.conf",
            ProxyKind::Apache => "apache.conf",
            ProxyKind::Lighttpd => "lighttpd.conf",
        }
    }

    /// The path of its configuration template.
    #[must_use]
    pub fn template(self) -> PathBuf {
        workspace_root().join("deploy").join(self.template_name())
    }

    /// A short name for messages.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            ProxyKind::Nginx => "nginx",
            ProxyKind::Apache => "apache",
            ProxyKind::Lighttpd => "lighttpd",
        }
    }

    fn program(self) -> &'static str {
        match self {
            ProxyKind::Nginx => "nginx",
            ProxyKind::Apache => "apache2",
            ProxyKind::Lighttpd => "lighttpd",
        }
    }

    fn packages(self) -> &'static str {
        match self {
            ProxyKind::Nginx => "nginx",
            ProxyKind::Apache => "apache2 libapache2-mod-xsendfile",
            ProxyKind::Lighttpd => "lighttpd",
        }
    }

    /// The proxy's executable.
    ///
    /// # Panics
    ///
    /// When it (or, for Apache, mod_xsendfile) is not installed, with the
    /// command that installs it: these tests fail rather than skip.
    #[must_use]
    pub fn require(self) -> PathBuf {
        let install = format!(
            "install it with `apt-get install -y {}` (scripts/test.sh does it for you)",
            self.packages()
        );
        let Some(program) = find_program(self.program()) else {
            panic!(
                "{} is not installed (not found in $PATH, /usr/sbin or /sbin): {install}",
                self.program()
            );
        };
        if self == ProxyKind::Apache && !Path::new(MOD_XSENDFILE).is_file() {
            panic!("mod_xsendfile is not installed ({MOD_XSENDFILE} is missing): {install}");
        }
        program
    }
}

/// `name` in `$PATH`, or in the `sbin` directories a non-root `$PATH` may lack.
fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/local/sbin", "/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// A loopback port nobody listens on right now, and never handed out
/// before by this process (tests running in parallel must not pick the same
/// one between choosing it and binding it).
///
/// # Panics
///
/// When the system has none to give.
#[must_use]
pub fn free_port() -> u16 {
    static GIVEN: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .map(|addr| addr.port())
            .expect("a free loopback port");
        if given.insert(port) {
            return port;
        }
    }
}

/// `template` with each `@KEY@` replaced by its value.
///
/// # Panics
///
/// When a placeholder is left over.
#[must_use]
pub fn render(template: &str, values: &[(&str, &str)]) -> String {
    let mut text = template.to_owned();
    for (key, value) in values {
        text = text.replace(&format!("@{key}@"), value);
    }
    let leftover =
        text.split('@').skip(1).step_by(2).find(|word| {
            !word.is_empty() && word.chars().all(|c| c.is_ascii_uppercase() || c == '_')
        });
    if let Some(word) = leftover {
        panic!("placeholder @{word}@ is left in the rendered configuration:\n{text}");
    }
    text
}

/// A running proxy, stopped when dropped (its logs are printed then if the
/// test is failing).
#[derive(Debug)]
pub struct Proxy {
    kind: ProxyKind,
    child: Child,
    port: u16,
    run_dir: TempDir,
}

impl Proxy {
    /// Starts `kind` on a free loopback port in front of `upstream` (the
    /// demo, or a relay to it), allowed to serve files below `media_root`.
    ///
    /// # Panics
    ///
    /// When it is not installed or does not start; the message holds its logs.
    #[must_use]
    pub fn start(kind: ProxyKind, upstream: SocketAddr, media_root: &Path) -> Proxy {
        let program = kind.require();
        let template = fs::read_to_string(kind.template()).unwrap_or_else(|err| {
            panic!("read {}: {err}", kind.template().display());
        });
        let mut failures = Vec::new();
        for _ in 0..ATTEMPTS {
            let run_dir = tempfile::Builder::new()
                .prefix(&format!("axum-download-e2e-{}-", kind.program()))
                .tempdir()
                .expect("create the proxy's run directory");
            // Apache's and nginx's workers (www-data) read and write here too.
            make_public(run_dir.path(), true);
            let run = run_dir.path().to_str().expect("UTF-8 temporary path");
            let port = free_port();
            let config = render(
                &template,
                &[
                    ("LISTEN_PORT", &port.to_string()),
                    ("DEMO_ADDR", &upstream.to_string()),
                    ("DEMO_PORT", &upstream.port().to_string()),
                    ("MEDIA_ROOT", media_root.to_str().expect("UTF-8 media root")),
                    ("RUN_DIR", run),
                ],
            );
            let config_path = run_dir.path().join(kind.template_name());
            fs::write(&config_path, config).expect("write the proxy configuration");
            let mut command = Command::new(&program);
            match kind {
                ProxyKind::Nginx => command
                    .arg("-p")
                    .arg(format!("{run}/"))
                    .arg("-e")
                    .arg(run_dir.path().join("error.log"))
                    .arg("-c")
                    .arg(&config_path)
                    .args(["-g", "daemon off;"]),
                ProxyKind::Apache => command.arg("-DFOREGROUND").arg("-f").arg(&config_path),
                ProxyKind::Lighttpd => command.arg("-D").arg("-f").arg(&config_path),
            };
            let console = fs::File::create(run_dir.path().join("console.log"))
                .expect("create the proxy's console log");
            let child = command
                .current_dir(run_dir.path())
                .stdin(Stdio::null())
                .stdout(console.try_clone().expect("clone a file handle"))
                .stderr(console)
                // Its own group: stopping it stops its workers too.
                .process_group(0)
                .spawn()
                .unwrap_or_else(|err| panic!("spawn {}: {err}", program.display()));
            let mut proxy = Proxy {
                kind,
                child,
                port,
                run_dir,
            };
            match proxy.wait_ready() {
                Ok(()) => return proxy,
                Err(message) => {
                    let logs = proxy.logs();
                    proxy.stop();
                    let busy = logs.contains("in use");
                    failures.push(format!("{message}\n{logs}"));
                    if !busy {
                        break;
                    }
                }
            }
        }
        panic!(
            "{} did not start from {}:\n{}",
            kind.program(),
            kind.template().display(),
            failures.join("\n---\n")
        );
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + START_TIMEOUT;
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("it exited with {status}"));
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "it did not listen on {addr} within {START_TIMEOUT:?}"
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Which proxy this is.
    #[must_use]
    pub fn kind(&self) -> ProxyKind {
        self.kind
    }

    /// `http://127.0.0.1:PORT{path}`.
    #[must_use]
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The run directory: rendered configuration, pid file, logs.
    #[must_use]
    pub fn run_dir(&self) -> &Path {
        self.run_dir.path()
    }

    /// Its console output and error log.
    #[must_use]
    pub fn logs(&self) -> String {
        ["console.log", "error.log"]
            .iter()
            .map(|name| {
                let text = fs::read_to_string(self.run_dir.path().join(name)).unwrap_or_default();
                format!("== {} {name}:\n{text}", self.kind.program())
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// SIGTERM to its process group, SIGKILL if it lingers.
    fn stop(&mut self) {
        if matches!(self.child.try_wait(), Ok(Some(_))) {
            // Leftover workers, if any, still share its group.
            signal_group(self.child.id(), "KILL");
            return;
        }
        signal_group(self.child.id(), "TERM");
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                signal_group(self.child.id(), "KILL");
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        signal_group(self.child.id(), "KILL");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `kill -SIGNAL -- -GROUP`, quietly (the group may be gone already).
fn signal_group(group: u32, signal: &str) {
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg("--")
        .arg(format!("-{group}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

impl Drop for Proxy {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "{} in {}\n{}",
                self.kind.program(),
                self.run_dir.path().display(),
                self.logs()
            );
        }
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_replaces_every_placeholder() {
        let text = render(
            "listen @PORT@; root @ROOT@/; # user@example.org @PORT@",
            &[("PORT", "8080"), ("ROOT", "/srv")],
        );
        assert_eq!(text, "listen 8080; root /srv/; # user@example.org 8080");
    }

    #[test]
    #[should_panic(expected = "placeholder @MEDIA_ROOT@ is left")]
    fn render_refuses_leftovers() {
        let _ = render("alias @MEDIA_ROOT@/;", &[("PORT", "1")]);
    }

    #[test]
    fn every_template_renders_completely() {
        for kind in [ProxyKind::Nginx, ProxyKind::Apache, ProxyKind::Lighttpd] {
            let template = fs::read_to_string(kind.template()).expect("read the template");
            let _ = render(
                &template,
                &[
                    ("LISTEN_PORT", "1"),
                    ("DEMO_ADDR", "127.0.0.1:2"),
                    ("DEMO_PORT", "2"),
                    ("MEDIA_ROOT", "/m"),
                    ("RUN_DIR", "/r"),
                ],
            );
        }
    }

    #[test]
    fn missing_programs_are_not_found() {
        assert_eq!(find_program("axum-download-e2e-no-such-proxy"), None);
    }
}
