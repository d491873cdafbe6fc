//! The demo's log: `tracing-subscriber` on stderr, filtered by `RUST_LOG`
//! (default [`DEFAULT_FILTER`]), with one access line per request from
//! tower-http's [`TraceLayer`].
//!
//! The crate's download event (`decision`, `status`, `bytes_sent`,
//! `complete`) is logged inside the request's span, so it carries the same
//! `method` and `path` as the access line beside it:
//!
//! ```text
//! INFO request: access status=200 latency_ms=0.41 method=GET path=/path/hello-world.txt
//! INFO request: download decision="full" status=200 bytes_sent=13 complete=true file="hello-world.txt" method=GET path=/path/hello-world.txt
//! ```
//!
//! No request timeout (`tower_http::timeout`): the first request for a
//! `/cached/` file waits for the whole fetch, however long; the upstream
//! routes answer 504 by themselves, and `ServerLimits` already bounds the
//! header read, each send and idle connections.

use std::io::IsTerminal;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, Response};
use tower_http::classify::{ServerErrorsAsFailures, ServerErrorsFailureClass, SharedClassifier};
use tower_http::trace::TraceLayer;
use tracing::Span;
use tracing_subscriber::EnvFilter;

/// What the demo logs without `RUST_LOG`: the access lines, one download
/// event per download and every warning.
pub const DEFAULT_FILTER: &str = "info";

/// Installs the subscriber: compact lines on stderr (stdout is for the
/// `listening on` line). An invalid `RUST_LOG` is an error naming it.
pub fn init() -> Result<(), String> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(directives) => EnvFilter::try_new(&directives)
            .map_err(|err| format!("RUST_LOG={directives:?}: {err}"))?,
        Err(_) => EnvFilter::new(DEFAULT_FILTER),
    };
    tracing_subscriber::fmt()
        .compact()
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init()
        .map_err(|err| format!("the log: {err}"))
}

/// The access-log layer: a `request` span per request (method, path), one
/// `access` line when the response starts (status, latency), and a
/// warning when a body fails while it is sent.
pub type AccessLogLayer = TraceLayer<
    SharedClassifier<ServerErrorsAsFailures>,
    fn(&Request<Body>) -> Span,
    (),
    fn(&Response<Body>, Duration, &Span),
    (),
    (),
    fn(ServerErrorsFailureClass, Duration, &Span),
>;

/// See [`AccessLogLayer`].
pub fn layer() -> AccessLogLayer {
    TraceLayer::new_for_http()
        .make_span_with(request_span as fn(&Request<Body>) -> Span)
        .on_request(())
        .on_response(access_line as fn(&Response<Body>, Duration, &Span))
        .on_body_chunk(())
        .on_eos(())
        .on_failure(body_failure as fn(ServerErrorsFailureClass, Duration, &Span))
}

fn request_span(request: &Request<Body>) -> Span {
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
    )
}

fn access_line(response: &Response<Body>, latency: Duration, _span: &Span) {
    tracing::info!(status = response.status().as_u16(), ?latency, "access");
}

/// A 5xx is already on the access line; a body that fails is not.
fn body_failure(failure: ServerErrorsFailureClass, latency: Duration, _span: &Span) {
    if let ServerErrorsFailureClass::Error(error) = failure {
        tracing::warn!(%error, ?latency, "response body failed");
    }
}
