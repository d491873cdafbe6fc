//! One `tracing` event per download, at target `axum_download`: the
//! decision (`full`, `partial`, `multipart`, `not_modified`,
//! `precondition_failed`, `range_not_satisfiable`, `hand_off`, `head`,
//! `relayed`, `error`), the status, the bytes sent and whether the body
//! went out complete.

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
}

impl Report {
    pub(crate) fn new(decision: &'static str, status: u16, file: Option<&str>) -> Self {
        Self {
            armed: Arc::new(AtomicBool::new(true)),
            decision,
            status,
            file: file.map(Arc::from),
        }
    }

    /// Stops this report from being emitted: its body was replaced.
    pub(crate) fn disarm(&self) {
        self.armed.store(false, Ordering::Relaxed);
    }

    /// Emits the event, once.
    pub(crate) fn emit(&self, bytes_sent: u64, complete: bool) {
        if self.armed.swap(false, Ordering::Relaxed) {
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
