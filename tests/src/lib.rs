//! Support for the end-to-end tests: the real demo binary behind a real
//! reverse proxy (nginx, Apache with mod_xsendfile, lighttpd) started from
//! the configurations shipped in `deploy/`.
//!
//! A [`Stack`] is, from the client's side:
//!
//! ```text
//! reqwest ──▶ proxy (deploy/*.conf) ──▶ relay (Spy) ──▶ demo --media-root MEDIA
//!                │                                        │
//!                └──── serves MEDIA/... itself ◀── hand-off header, empty body
//! ```
//!
//! Everything is started on free loopback ports in temporary directories
//! and stopped when the stack is dropped. A missing proxy is a failure with
//! the command that installs it, never a skip.

pub mod checks;
pub mod demo;
pub mod media;
pub mod proxy;
pub mod s3;
pub mod spy;

use std::sync::Arc;

use reqwest::Client;

use crate::demo::Demo;
use crate::media::Media;
use crate::proxy::{Proxy, ProxyKind};
use crate::spy::Spy;

/// A proxy in front of the demo (through a relay), with their media root
/// and a client. Fields drop in order: proxy, relay, demo, media.
#[derive(Debug)]
pub struct Stack {
    /// The proxy, the way in.
    pub proxy: Proxy,
    /// The relay between the proxy and the demo.
    pub spy: Spy,
    /// The demo, which can also be asked directly.
    pub demo: Demo,
    /// What the demo serves.
    pub media: Arc<Media>,
    /// An HTTP client for both.
    pub client: Client,
}

impl Stack {
    /// Starts `kind` in front of the demo.
    ///
    /// # Panics
    ///
    /// When the proxy is not installed, or anything fails to start.
    #[must_use]
    pub fn start(kind: ProxyKind) -> Stack {
        Self::start_with(kind, |_| Vec::new())
    }

    /// [`start`](Self::start), with more arguments for the demo, made from
    /// the media root.
    ///
    /// # Panics
    ///
    /// When the proxy is not installed, or anything fails to start.
    #[must_use]
    pub fn start_with(
        kind: ProxyKind,
        demo_args: impl FnOnce(&std::path::Path) -> Vec<std::ffi::OsString>,
    ) -> Stack {
        // First, so a missing proxy fails at once, before the demo is built.
        let _ = kind.require();
        let media = Media::shared();
        let args: Vec<String> = demo_args(media.root())
            .into_iter()
            .map(|arg| arg.to_string_lossy().into_owned())
            .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let demo = Demo::start_with(media.root(), &args, &[]);
        let spy = Spy::start(demo.addr());
        let proxy = Proxy::start(kind, spy.addr(), media.root());
        Stack {
            proxy,
            spy,
            demo,
            media,
            client: checks::client(),
        }
    }
}
