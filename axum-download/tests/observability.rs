//! Every download emits exactly one `tracing` event (target
//! `axum_download`) with its decision, status and the bytes sent.

mod support;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use axum_download::offload::{Backend, Rule};
use axum_download::test_util::TempMediaRoot;
use axum_download::{DownloadLayer, DownloadSettings};
use http::{Method, Request};
use http_body_util::BodyExt;
use support::path_handler;
use tower::ServiceExt;
use tracing::field::{Field, Visit};
use tracing::span;

type Fields = HashMap<String, String>;

/// A subscriber that keeps the fields of every `axum_download` event.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<Fields>>>);

struct Fieldset<'a>(&'a mut Fields);

impl Visit for Fieldset<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
        span::Id::from_u64(1)
    }
    fn record(&self, _: &span::Id, _: &span::Record<'_>) {}
    fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        if event.metadata().target() == "axum_download" {
            let mut fields = Fields::new();
            event.record(&mut Fieldset(&mut fields));
            self.0.lock().unwrap().push(fields);
        }
    }
    fn enter(&self, _: &span::Id) {}
    fn exit(&self, _: &span::Id) {}
}

fn media() -> TempMediaRoot {
    let media = TempMediaRoot::new();
    media.file("digits.txt", "0123456789");
    media.file("big.bin", vec![7u8; 1 << 20]);
    media
}

fn app(root: PathBuf, settings: DownloadSettings) -> Router {
    Router::new()
        .route("/{*name}", get(path_handler))
        .layer(DownloadLayer::with_settings(settings))
        .with_state(root)
}

/// Runs one request (reading the whole body) and returns the events.
async fn events(
    method: Method,
    uri: &str,
    headers: &[(&str, &str)],
    settings: DownloadSettings,
) -> Vec<Fields> {
    let dir = media();
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    let mut request = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = app(dir.path().into(), settings)
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let _ = response.into_body().collect().await;
    let events = capture.0.lock().unwrap().clone();
    events
}

fn one(events: &[Fields]) -> &Fields {
    assert_eq!(events.len(), 1, "exactly one event: {events:?}");
    &events[0]
}

fn check(events: &[Fields], decision: &str, status: &str, bytes: &str) {
    let event = one(events);
    assert_eq!(event["decision"], decision, "{event:?}");
    assert_eq!(event["status"], status, "{event:?}");
    assert_eq!(event["bytes_sent"], bytes, "{event:?}");
}

#[tokio::test]
async fn full_download_reports_bytes_sent() {
    let events = events(Method::GET, "/digits.txt", &[], DownloadSettings::default()).await;
    check(&events, "full", "200", "10");
    assert_eq!(events[0]["complete"], "true");
    assert_eq!(events[0]["file"], "digits.txt");
}

#[tokio::test]
async fn partial_download_reports_range_bytes() {
    let events = events(
        Method::GET,
        "/digits.txt",
        &[("range", "bytes=2-4")],
        DownloadSettings::default(),
    )
    .await;
    check(&events, "partial", "206", "3");
}

#[tokio::test]
async fn multipart_download_reports_all_bytes() {
    let events = events(
        Method::GET,
        "/digits.txt",
        &[("range", "bytes=0-0,5-5")],
        DownloadSettings::default(),
    )
    .await;
    let event = one(&events);
    assert_eq!(event["decision"], "multipart");
    assert!(event["bytes_sent"].parse::<u64>().unwrap() > 2, "{event:?}");
}

#[tokio::test]
async fn not_modified_is_reported() {
    let events = events(
        Method::GET,
        "/digits.txt",
        &[("if-none-match", "*")],
        DownloadSettings::default(),
    )
    .await;
    check(&events, "not_modified", "304", "0");
}

#[tokio::test]
async fn precondition_failed_is_reported() {
    let events = events(
        Method::GET,
        "/digits.txt",
        &[("if-match", "\"x\"")],
        DownloadSettings::default(),
    )
    .await;
    check(&events, "precondition_failed", "412", "0");
}

#[tokio::test]
async fn range_not_satisfiable_is_reported() {
    let events = events(
        Method::GET,
        "/digits.txt",
        &[("range", "bytes=99-")],
        DownloadSettings::default(),
    )
    .await;
    check(&events, "range_not_satisfiable", "416", "0");
}

#[tokio::test]
async fn head_is_reported() {
    let events = events(
        Method::HEAD,
        "/digits.txt",
        &[],
        DownloadSettings::default(),
    )
    .await;
    check(&events, "head", "200", "0");
}

#[tokio::test]
async fn hand_off_is_reported() {
    let settings = DownloadSettings::new(Backend::Nginx).rule(Rule::nginx("/x-accel/"));
    let events = events(Method::GET, "/digits.txt", &[], settings).await;
    check(&events, "hand_off", "200", "0");
}

#[tokio::test]
async fn error_is_reported() {
    let events = events(
        Method::GET,
        "/missing.txt",
        &[],
        DownloadSettings::default(),
    )
    .await;
    check(&events, "error", "404", "0");
}

#[tokio::test]
async fn abandoned_download_reports_partial_bytes_as_incomplete() {
    let dir = media();
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    let response = app(dir.path().into(), DownloadSettings::default())
        .oneshot(Request::get("/big.bin").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let mut body = response.into_body();
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    drop(body); // the client went away
    let events = capture.0.lock().unwrap().clone();
    let event = one(&events);
    assert_eq!(event["decision"], "full");
    assert_eq!(event["complete"], "false");
    assert_eq!(event["bytes_sent"], first.len().to_string());
}

/// Through a real server (hyper stops polling a body once it has sent the
/// announced `Content-Length`), a download that sent every byte is logged
/// complete, at info level.
#[test]
fn complete_download_through_a_real_server_is_logged_complete() {
    let capture = Capture::default();
    let dir = media();
    let root = dir.path().to_path_buf();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _guard = tracing::subscriber::set_default(capture.clone());
    let seen = capture.clone();
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app = app(root, DownloadSettings::new(Backend::Development));
        tokio::spawn(axum_download::serve(
            listener,
            app,
            axum_download::ServerLimits::default(),
            std::future::pending(),
        ));
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        tokio::io::AsyncWriteExt::write_all(
            &mut stream,
            b"GET /big.bin HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        )
        .await
        .unwrap();
        let mut answer = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut stream, &mut answer)
            .await
            .unwrap();
        assert!(answer.len() > 1 << 20);
        // The event is emitted when the server drops the body.
        for _ in 0..50 {
            if !seen.0.lock().unwrap().is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    });
    let events = capture.0.lock().unwrap().clone();
    check(&events, "full", "200", &(1u64 << 20).to_string());
    assert_eq!(one(&events)["complete"], "true", "{events:?}");
}

/// Records, for each `axum_download` event, the name of the span it was
/// emitted in.
#[derive(Clone, Default)]
struct SpanOfEvents(Arc<Mutex<Vec<Option<&'static str>>>>);

impl<S> tracing_subscriber::Layer<S> for SpanOfEvents
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
{
    fn on_event(
        &self,
        event: &tracing::Event<'_>,
        context: tracing_subscriber::layer::Context<'_, S>,
    ) {
        if event.metadata().target() == "axum_download" {
            let span = context.event_span(event).map(|span| span.name());
            self.0.lock().unwrap().push(span);
        }
    }
}

/// A server drops the body outside the request's span; the event still
/// belongs to the request (a log prints it beside the request's access line).
#[tokio::test]
async fn download_event_is_emitted_in_the_request_span() {
    use tracing::Instrument;
    use tracing_subscriber::layer::SubscriberExt;
    let dir = media();
    let spans = SpanOfEvents::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(spans.clone()));
    let response = app(dir.path().into(), DownloadSettings::default())
        .oneshot(Request::get("/digits.txt").body(Body::empty()).unwrap())
        .instrument(tracing::info_span!("request"))
        .await
        .unwrap();
    let _ = response.into_body().collect().await;
    assert_eq!(*spans.0.lock().unwrap(), [Some("request")]);
}
