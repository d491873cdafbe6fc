//! Every log event of the crate, in one place and one style: target
//! `axum_download`, the same field names everywhere.
//!
//! One event per download (message `download`): the decision (`full`,
//! `partial`, `multipart`, `not_modified`, `precondition_failed`,
//! `range_not_satisfiable`, `hand_off`, `head`, `relayed`, `error`), the
//! status, the bytes sent and whether the body went out complete; plus the
//! events around a download (an input ignored, an upstream aborted, a
//! hand-off, the server's own), at target `axum_download::detail`, so that
//! a subscriber counting downloads sees exactly one event each.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Where a body reports when it is dropped, unless another answer replaced
/// it (then `armed` is false and the replacement reports instead).
#[derive(Debug, Clone)]
pub(crate) struct Report {
    pub(crate) armed: Arc<AtomicBool>,
    pub(crate) decision: &'static str,
    pub(crate) status: u16,
    pub(crate) file: Option<Arc<str>>,
    /// The request's span: the server drops a body outside of it, and the
    /// event belongs with the request (e.g. beside its access log line).
    pub(crate) span: tracing::Span,
}

impl Report {
    pub(crate) fn new(decision: &'static str, status: u16, file: Option<&str>) -> Self {
        Self {
            armed: Arc::new(AtomicBool::new(true)),
            decision,
            status,
            file: file.map(Arc::from),
            span: tracing::Span::current(),
        }
    }

    /// Stops this report from being emitted: its body was replaced.
    pub(crate) fn disarm(&self) {
        self.armed.store(false, Ordering::Relaxed);
    }

    /// Emits the event, once.
    pub(crate) fn emit(&self, bytes_sent: u64, complete: bool) {
        if self.armed.swap(false, Ordering::Relaxed) {
            let _in_request = self.span.enter();
            emit(
                self.decision,
                self.status,
                self.file.as_deref(),
                bytes_sent,
                complete,
            );
        }
    }
}

/// Emits one download event.
pub(crate) fn emit(
    decision: &'static str,
    status: u16,
    file: Option<&str>,
    bytes_sent: u64,
    complete: bool,
) {
    if complete || bytes_sent == 0 && status != 200 && status != 206 {
        tracing::info!(target: "axum_download", decision, status, bytes_sent, complete, file, "download");
    } else {
        tracing::warn!(target: "axum_download", decision, status, bytes_sent, complete, file, "download ended early");
    }
}

/// A download answered with an error status; `detail` (paths, causes) is
/// for the log only.
pub(crate) fn error(status: u16, detail: &dyn std::fmt::Display) {
    if status >= 500 {
        tracing::warn!(target: "axum_download", decision = "error", status, bytes_sent = 0u64, complete = true, detail = %detail, "download");
    } else {
        tracing::info!(target: "axum_download", decision = "error", status, bytes_sent = 0u64, complete = true, detail = %detail, "download");
    }
}

/// The target of the events around a download (not the download itself).
const DETAIL: &str = "axum_download::detail";

/// A value the application or an upstream gave that was not used.
pub(crate) fn ignored(what: &'static str, detail: &dyn std::fmt::Display) {
    tracing::warn!(target: DETAIL, what, detail = %detail, "ignored an invalid value");
}

/// An upstream body that failed, stalled or outlived its deadline.
#[cfg_attr(
    not(any(feature = "http-download", feature = "object-store")),
    allow(dead_code)
)]
pub(crate) fn upstream_aborted(url: &str, cause: &dyn std::fmt::Display) {
    tracing::warn!(target: DETAIL, url, cause = %cause, "upstream body aborted; aborting the download");
}

/// The hand-off chosen for a download.
pub(crate) fn handed_off(target: &dyn std::fmt::Debug) {
    tracing::debug!(target: DETAIL, hand_off = ?target, "download handed off to the proxy");
}

/// No hand-off rule matched a download: the application sends it.
pub(crate) fn no_rule_matched(url: Option<&str>, path: Option<&std::path::Path>) {
    tracing::debug!(target: DETAIL, url, path = ?path, "no hand-off rule matched; the application sends the file");
}

/// A healthcheck link failed.
pub(crate) fn healthcheck_failed(detail: &dyn std::fmt::Display) {
    tracing::warn!(target: DETAIL, detail = %detail, "healthcheck failed");
}

/// A trouble of the server's own (`serve`): an accept error, connections
/// left at the end of the shutdown.
#[cfg_attr(not(feature = "serve"), allow(dead_code))]
pub(crate) fn server(event: &'static str, detail: &dyn std::fmt::Display) {
    tracing::warn!(target: DETAIL, detail = %detail, "{event}");
}

/// A connection the server closed on an error (a timeout, a reset): routine.
#[cfg_attr(not(feature = "serve"), allow(dead_code))]
pub(crate) fn connection_closed(detail: &dyn std::fmt::Display) {
    tracing::debug!(target: DETAIL, detail = %detail, "connection closed");
}
