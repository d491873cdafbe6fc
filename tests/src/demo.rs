//! The demo (package `demo`), served in the test process on an ephemeral
//! loopback port: the router the binary serves, with the binary's server.

use std::net::SocketAddr;
use std::path::Path;

/// The root of the workspace.
#[must_use]
pub fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent: the workspace")
}

/// A running demo, served in this process (its router, exactly as the
/// binary builds it, behind `axum_download::serve` on a thread of its own),
/// stopped when dropped. No cargo runs inside a test.
#[derive(Debug)]
pub struct Demo {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Demo {
    /// Starts the demo on `127.0.0.1:0` serving `media_root`.
    ///
    /// # Panics
    ///
    /// When it does not start.
    #[must_use]
    pub fn start(media_root: &Path) -> Demo {
        Demo::start_with(media_root, &[], &[])
    }

    /// [`Demo::start`] with more arguments and environment variables (set
    /// for this whole test process: the demo runs in it).
    ///
    /// # Panics
    ///
    /// When it does not start.
    #[must_use]
    pub fn start_with(media_root: &Path, args: &[&str], envs: &[(&str, &str)]) -> Demo {
        for (name, value) in envs {
            std::env::set_var(name, value);
        }
        let root = media_root.to_string_lossy().into_owned();
        let mut all = vec![
            "--addr".to_owned(),
            "127.0.0.1:0".to_owned(),
            "--media-root".to_owned(),
            root,
        ];
        all.extend(args.iter().map(|a| (*a).to_owned()));
        let config = demo::Config::from_args(all).expect("the demo's command line");
        let listener = std::net::TcpListener::bind(config.addr).expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("the demo's address");
        listener
            .set_nonblocking(true)
            .expect("a non-blocking listener");
        let prepared = demo::Prepared::new(&config, addr)
            .unwrap_or_else(|err| panic!("the demo did not start: {err}"));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (ready, started) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("a runtime for the demo");
            runtime.block_on(async move {
                // Opening the cache reads its directory: on the demo's runtime.
                let app = match prepared.with_cache(&config).await {
                    Ok(prepared) => prepared.router(),
                    Err(err) => {
                        let _ = ready.send(Err(err));
                        return;
                    }
                };
                let _ = ready.send(Ok(()));
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                let limits = axum_download::ServerLimits::default()
                    .shutdown_timeout(std::time::Duration::from_secs(1));
                let _ = axum_download::serve(listener, app, limits, async {
                    let _ = stopped.await;
                })
                .await;
            });
        });
        match started.recv() {
            Ok(Ok(())) => {}
            Ok(Err(err)) => panic!("the demo did not start: {err}"),
            Err(_) => panic!("the demo's thread ended before it started"),
        }
        Demo {
            addr,
            stop: Some(stop),
            thread: Some(thread),
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
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
