//! `ObjectStoreStorage` in-process, over `object_store`'s in-memory store
//! wrapped in a store that records every request and can fail, hang or
//! stall on demand: metadata, ranged reads, conditions, refused names and
//! the status of each failure.
#![cfg(feature = "object-store")]

mod support;

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use axum::routing::get;
use axum::Router;
use axum_download::offload::{Backend, Rule, X_ACCEL_REDIRECT, X_ACCEL_REMOTE_RANGE};
use axum_download::{
    DownloadError, DownloadLayer, DownloadName, DownloadSettings, ObjectStoreStorage, Storage,
    StorageDownload,
};
use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::StreamExt;
use http::{header, StatusCode};
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::signer::{Method, Signer, Url};
use object_store::{
    Attribute, Attributes, CopyOptions, GetOptions, GetRange, GetResult, GetResultPayload,
    ListResult, MultipartUpload, ObjectMeta, ObjectStore, ObjectStoreExt, PutMultipartOptions,
    PutOptions, PutPayload, PutResult,
};
use support::{header, request, try_body};

const HELLO: &[u8] = b"Hello world!\n";

/// What the next `get_opts` calls do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Serve,
    /// Answer with an error other than "not found".
    Fail,
    /// Never answer.
    Hang,
    /// Answer, then send one chunk and stop sending.
    Stall,
}

/// The in-memory store, recording each `get_opts` (its range and whether it
/// was a `HEAD`) and misbehaving as told.
#[derive(Debug)]
struct Recording {
    inner: InMemory,
    mode: Mutex<Mode>,
    calls: Mutex<Vec<(bool, Option<GetRange>)>>,
}

impl fmt::Display for Recording {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Recording")
    }
}

impl Recording {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            inner: InMemory::new(),
            mode: Mutex::new(Mode::Serve),
            calls: Mutex::new(Vec::new()),
        })
    }

    fn set_mode(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    fn take_calls(&self) -> Vec<(bool, Option<GetRange>)> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }
}

#[async_trait]
impl ObjectStore for Recording {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        assert!(
            options.if_match.is_none()
                && options.if_none_match.is_none()
                && options.if_modified_since.is_none()
                && options.if_unmodified_since.is_none(),
            "the store must only be asked for plain reads: {options:?}"
        );
        self.calls
            .lock()
            .unwrap()
            .push((options.head, options.range.clone()));
        let mode = *self.mode.lock().unwrap();
        match mode {
            Mode::Serve => self.inner.get_opts(location, options).await,
            Mode::Fail => Err(object_store::Error::Generic {
                store: "Recording",
                source: "connection refused".into(),
            }),
            Mode::Hang => futures_util::future::pending().await,
            Mode::Stall => {
                let mut result = self.inner.get_opts(location, options).await?;
                let first = Bytes::from_static(b"Hel");
                let stream = futures_util::stream::iter([Ok(first)])
                    .chain(futures_util::stream::pending())
                    .boxed();
                result.payload = GetResultPayload::Stream(stream);
                Ok(result)
            }
        }
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

async fn store() -> Arc<Recording> {
    let store = Recording::new();
    let mut attributes = Attributes::new();
    attributes.insert(Attribute::ContentType, "text/plain; charset=latin1".into());
    store
        .put_opts(
            &Path::from("docs/hello world.txt"),
            PutPayload::from_static(HELLO),
            PutOptions {
                attributes,
                ..PutOptions::default()
            },
        )
        .await
        .unwrap();
    store
        .put(
            &Path::from("data.bin"),
            PutPayload::from_static(b"0123456789"),
        )
        .await
        .unwrap();
    store.take_calls();
    store
}

fn app(store: Arc<Recording>, timeout: Duration) -> Router {
    let storage: Arc<dyn Storage> = Arc::new(ObjectStoreStorage::new(store).timeout(timeout));
    Router::new()
        .route(
            "/s3/{*key}",
            get(
                |axum::extract::State(storage): axum::extract::State<Arc<dyn Storage>>,
                 DownloadName(key): DownloadName| async move {
                    StorageDownload::new(storage, key).await
                },
            ),
        )
        .layer(DownloadLayer::new())
        .with_state(storage)
}

const SECOND: Duration = Duration::from_secs(1);

#[tokio::test]
async fn metadata_comes_from_one_head_request() {
    let store = store().await;
    let storage = ObjectStoreStorage::new(store.clone()).base_url("/s3/");
    let meta = storage.metadata("docs/hello world.txt").await.unwrap();
    assert_eq!(meta.size, Some(13));
    assert_eq!(meta.content_type.as_deref(), Some("text/plain"));
    assert_eq!(meta.charset.as_deref(), Some("latin1"));
    assert!(meta.etag.is_some());
    assert!(meta.modified.is_some());
    assert_eq!(meta.url.as_deref(), Some("/s3/docs/hello%20world.txt"));
    assert_eq!(meta.relative_path.as_deref(), Some("docs/hello world.txt"));
    assert_eq!(meta.remote_url, None, "no signer, no remote URL");
    assert_eq!(store.take_calls(), vec![(true, None)]);
}

#[tokio::test]
async fn full_download_has_the_store_validators_and_type() {
    let store = store().await;
    let app = app(store.clone(), SECOND);
    let response = request(&app, Method::GET, "/s3/docs/hello%20world.txt", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "content-length").unwrap(), "13");
    assert_eq!(
        header(&response, "content-type").unwrap(),
        "text/plain; charset=latin1"
    );
    assert!(header(&response, "content-disposition")
        .unwrap()
        .contains("hello"));
    assert!(response.headers().contains_key(header::ETAG));
    assert!(response.headers().contains_key(header::LAST_MODIFIED));
    assert_eq!(header(&response, "accept-ranges").unwrap(), "bytes");
    assert_eq!(try_body(response).await.unwrap(), HELLO);
    assert_eq!(store.take_calls(), vec![(true, None), (false, None)]);
}

#[tokio::test]
async fn a_single_range_is_one_plain_ranged_read() {
    let store = store().await;
    let app = app(store.clone(), SECOND);
    let response = request(&app, Method::GET, "/s3/data.bin", &[("range", "bytes=2-4")]).await;
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(header(&response, "content-range").unwrap(), "bytes 2-4/10");
    assert_eq!(try_body(response).await.unwrap(), b"234");
    assert_eq!(
        store.take_calls(),
        vec![(true, None), (false, Some(GetRange::Bounded(2..5)))]
    );
}

#[tokio::test]
async fn multipart_ranges_are_assembled_from_ranged_reads() {
    let store = store().await;
    let app = app(store.clone(), SECOND);
    let response = request(
        &app,
        Method::GET,
        "/s3/data.bin",
        &[("range", "bytes=0-1,7-")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    assert!(header(&response, "content-type")
        .unwrap()
        .starts_with("multipart/byteranges; boundary="));
    let body = String::from_utf8(try_body(response).await.unwrap()).unwrap();
    assert!(
        body.contains("Content-Range: bytes 0-1/10\r\n\r\n01\r\n"),
        "{body}"
    );
    assert!(
        body.contains("Content-Range: bytes 7-9/10\r\n\r\n789\r\n"),
        "{body}"
    );
    assert_eq!(
        store.take_calls(),
        vec![
            (true, None),
            (false, Some(GetRange::Bounded(0..2))),
            (false, Some(GetRange::Bounded(7..10))),
        ]
    );
}

#[tokio::test]
async fn if_range_with_another_etag_gets_the_whole_object() {
    let store = store().await;
    let app = app(store.clone(), SECOND);
    let response = request(
        &app,
        Method::GET,
        "/s3/data.bin",
        &[("range", "bytes=2-4"), ("if-range", "\"other\"")],
    )
    .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(try_body(response).await.unwrap(), b"0123456789");
}

#[tokio::test]
async fn if_range_with_the_etag_gets_the_range() {
    let store = store().await;
    let app = app(store.clone(), SECOND);
    let etag = header(
        &request(&app, Method::HEAD, "/s3/data.bin", &[]).await,
        "etag",
    )
    .unwrap()
    .to_owned();
    let response = request(
        &app,
        Method::GET,
        "/s3/data.bin",
        &[("range", "bytes=2-4"), ("if-range", &etag)],
    )
    .await;
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(try_body(response).await.unwrap(), b"234");
}

#[tokio::test]
async fn conditions_are_answered_without_reading_the_object() {
    let store = store().await;
    let app = app(store.clone(), SECOND);
    let etag = header(
        &request(&app, Method::HEAD, "/s3/data.bin", &[]).await,
        "etag",
    )
    .unwrap()
    .to_owned();
    store.take_calls();
    let not_modified = request(
        &app,
        Method::GET,
        "/s3/data.bin",
        &[("if-none-match", &etag)],
    )
    .await;
    assert_eq!(not_modified.status(), StatusCode::NOT_MODIFIED);
    let failed = request(
        &app,
        Method::GET,
        "/s3/data.bin",
        &[("if-match", "\"other\"")],
    )
    .await;
    assert_eq!(failed.status(), StatusCode::PRECONDITION_FAILED);
    let head = request(&app, Method::HEAD, "/s3/data.bin", &[]).await;
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(header(&head, "content-length").unwrap(), "10");
    assert!(try_body(head).await.unwrap().is_empty());
    // Three HEAD requests to the store, no read of the bytes.
    assert_eq!(store.take_calls(), vec![(true, None); 3]);
}

#[tokio::test]
async fn an_empty_object_is_served_without_a_range_request() {
    let store = store().await;
    store
        .put(&Path::from("empty"), PutPayload::from_static(b""))
        .await
        .unwrap();
    let app = app(store.clone(), SECOND);
    let response = request(&app, Method::GET, "/s3/empty", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "content-length").unwrap(), "0");
    assert!(try_body(response).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_missing_object_is_404() {
    let store = store().await;
    let response = request(&app(store, SECOND), Method::GET, "/s3/nope.txt", &[]).await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_failing_store_is_502() {
    let store = store().await;
    store.set_mode(Mode::Fail);
    let response = request(&app(store, SECOND), Method::GET, "/s3/data.bin", &[]).await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(try_body(response).await.unwrap(), b"Bad Gateway\n");
}

#[tokio::test]
async fn a_store_that_does_not_answer_is_504() {
    let store = store().await;
    store.set_mode(Mode::Hang);
    let app = app(store, Duration::from_millis(100));
    let response = request(&app, Method::GET, "/s3/data.bin", &[]).await;
    assert_eq!(response.status(), StatusCode::GATEWAY_TIMEOUT);
}

#[tokio::test]
async fn a_store_that_stalls_mid_body_aborts_the_transfer() {
    let store = store().await;
    let app = app(store.clone(), Duration::from_millis(200));
    // Metadata first, then the body stalls after three bytes.
    let response = request(&app, Method::GET, "/s3/data.bin", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    store.set_mode(Mode::Stall);
    let err = try_body(response).await.unwrap_err();
    assert!(err.contains("stalled"), "{err}");
}

#[tokio::test]
async fn a_slow_but_steady_body_is_not_cut_off() {
    // Each chunk arrives within the timeout, the whole takes longer than it.
    let store = store().await;
    let storage = ObjectStoreStorage::new(store).timeout(Duration::from_millis(150));
    let mut stream = storage.open("data.bin", None).await.unwrap();
    let mut got = Vec::new();
    while let Some(chunk) = stream.next().await {
        tokio::time::sleep(Duration::from_millis(100)).await;
        got.extend_from_slice(&chunk.unwrap());
    }
    assert_eq!(got, b"0123456789");
}

async fn refused(name: &str) {
    let store = store().await;
    let storage = ObjectStoreStorage::new(store.clone());
    let err = storage.metadata(name).await.unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound, "{name:?}: {err}");
    assert_eq!(
        DownloadError::from_io(&err).status(),
        StatusCode::NOT_FOUND,
        "{name:?}"
    );
    assert!(storage.open(name, None).await.is_err(), "{name:?}");
    assert!(store.take_calls().is_empty(), "{name:?} reached the store");
}

#[tokio::test]
async fn dot_dot_is_refused() {
    refused("docs/../data.bin").await;
}

#[tokio::test]
async fn absolute_name_is_refused() {
    refused("/data.bin").await;
}

#[tokio::test]
async fn backslash_is_refused() {
    refused("docs\\hello.txt").await;
}

#[tokio::test]
async fn nul_is_refused() {
    refused("data.bin\0").await;
}

#[tokio::test]
async fn control_character_is_refused() {
    refused("data\n.bin").await;
}

#[tokio::test]
async fn encoded_slash_is_refused() {
    refused("docs%2Fhello.txt").await;
    refused("docs%5chello.txt").await;
}

#[tokio::test]
async fn encoded_dot_dot_is_refused() {
    refused("%2e%2e/data.bin").await;
}

#[tokio::test]
async fn empty_name_is_refused() {
    refused("").await;
    refused("./").await;
}

#[tokio::test]
async fn keys_are_used_exactly_not_re_encoded() {
    let store = store().await;
    store
        .put(
            &Path::parse("100% é#?.txt").unwrap(),
            PutPayload::from_static(b"odd"),
        )
        .await
        .unwrap();
    let storage = ObjectStoreStorage::new(store);
    let meta = storage.metadata("100% é#?.txt").await.unwrap();
    assert_eq!(meta.size, Some(3));
}

#[test]
fn store_errors_keep_their_status_through_io() {
    let err = std::io::Error::other(DownloadError::bad_gateway("store down"));
    assert_eq!(
        DownloadError::from_io(&err).status(),
        StatusCode::BAD_GATEWAY
    );
    let err = std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        DownloadError::gateway_timeout("slow store"),
    );
    assert_eq!(
        DownloadError::from_io(&err).status(),
        StatusCode::GATEWAY_TIMEOUT
    );
}

/// Signs by appending the key and the expiry to a fixed store address.
#[derive(Debug)]
struct FakeSigner;

#[async_trait]
impl Signer for FakeSigner {
    async fn signed_url(
        &self,
        method: Method,
        path: &Path,
        expires_in: Duration,
    ) -> object_store::Result<Url> {
        assert_eq!(method, Method::GET);
        let url = format!(
            "http://127.0.0.1:9/bucket/{path}?X-Amz-Expires={}",
            expires_in.as_secs()
        );
        Ok(Url::parse(&url).unwrap())
    }
}

const SIGNED: &str = "http://127.0.0.1:9/bucket/data.bin?X-Amz-Expires=60";

fn handing_app(store: Arc<Recording>, rule: Rule) -> Router {
    let storage: Arc<dyn Storage> = Arc::new(
        ObjectStoreStorage::new(store)
            .base_url("/s3/")
            .presign(Arc::new(FakeSigner), Duration::from_secs(60)),
    );
    Router::new()
        .route(
            "/s3/{*key}",
            get(
                |axum::extract::State(storage): axum::extract::State<Arc<dyn Storage>>,
                 DownloadName(key): DownloadName| async move {
                    StorageDownload::new(storage, key).await
                },
            ),
        )
        .layer(DownloadLayer::with_settings(
            DownloadSettings::new(Backend::Nginx).rule(rule),
        ))
        .with_state(storage)
}

fn remote_rule() -> Rule {
    Rule::nginx("/x-accel-remote/")
        .source_url("/s3/")
        .remote(true)
}

#[tokio::test]
async fn presigned_url_is_in_the_metadata() {
    let store = store().await;
    let storage =
        ObjectStoreStorage::new(store).presign(Arc::new(FakeSigner), Duration::from_secs(60));
    let meta = storage.metadata("data.bin").await.unwrap();
    assert_eq!(meta.remote_url.as_deref(), Some(SIGNED));
}

#[tokio::test]
async fn remote_rule_hands_the_download_to_nginx_with_the_url() {
    let store = store().await;
    let app = handing_app(store.clone(), remote_rule());
    let response = request(&app, Method::GET, "/s3/data.bin", &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header(&response, "x-accel-redirect").unwrap(),
        "/x-accel-remote/data.bin"
    );
    assert_eq!(header(&response, "x-accel-remote-url").unwrap(), SIGNED);
    assert!(response.headers().get(X_ACCEL_REMOTE_RANGE).is_none());
    assert!(response.headers().contains_key(header::ETAG));
    assert!(try_body(response).await.unwrap().is_empty());
    // The application read no byte: one HEAD.
    assert_eq!(store.take_calls(), vec![(true, None)]);
}

#[tokio::test]
async fn remote_hand_off_passes_the_single_range_the_engine_chose() {
    let store = store().await;
    let app = handing_app(store, remote_rule());
    let response = request(&app, Method::GET, "/s3/data.bin", &[("range", "bytes=-3")]).await;
    assert_eq!(
        header(&response, "x-accel-remote-range").unwrap(),
        "bytes=7-9"
    );
    // If-Range with another tag: the whole file, no range for the store.
    let response = request(
        &app,
        Method::GET,
        "/s3/data.bin",
        &[("range", "bytes=0-1"), ("if-range", "\"old\"")],
    )
    .await;
    assert_eq!(
        header(&response, "x-accel-redirect").unwrap(),
        "/x-accel-remote/data.bin"
    );
    assert!(response.headers().get(X_ACCEL_REMOTE_RANGE).is_none());
}

#[tokio::test]
async fn remote_hand_off_leaves_head_conditions_and_multipart_to_the_application() {
    let store = store().await;
    let app = handing_app(store.clone(), remote_rule());
    let head = request(&app, Method::HEAD, "/s3/data.bin", &[]).await;
    assert_eq!(head.status(), StatusCode::OK);
    assert!(head.headers().get(X_ACCEL_REDIRECT).is_none());
    assert_eq!(header(&head, "content-length").unwrap(), "10");
    let etag = header(&head, "etag").unwrap().to_owned();
    let not_modified = request(
        &app,
        Method::GET,
        "/s3/data.bin",
        &[("if-none-match", &etag)],
    )
    .await;
    assert_eq!(not_modified.status(), StatusCode::NOT_MODIFIED);
    assert!(not_modified.headers().get(X_ACCEL_REDIRECT).is_none());
    let multipart = request(
        &app,
        Method::GET,
        "/s3/data.bin",
        &[("range", "bytes=0-0,9-9")],
    )
    .await;
    assert_eq!(multipart.status(), StatusCode::PARTIAL_CONTENT);
    assert!(multipart.headers().get(X_ACCEL_REDIRECT).is_none());
    let unsatisfiable = request(&app, Method::GET, "/s3/data.bin", &[("range", "bytes=50-")]).await;
    assert_eq!(unsatisfiable.status(), StatusCode::RANGE_NOT_SATISFIABLE);
}

#[tokio::test]
async fn redirect_rule_sends_the_client_to_the_store() {
    let store = store().await;
    let app = handing_app(store, Rule::redirect().source_url("/s3/"));
    let response = request(&app, Method::GET, "/s3/data.bin", &[]).await;
    assert_eq!(response.status(), StatusCode::FOUND);
    assert_eq!(header(&response, "location").unwrap(), SIGNED);
    assert_eq!(
        header(&response, "cache-control").unwrap(),
        "private, no-store"
    );
    assert!(try_body(response).await.unwrap().is_empty());
}

#[tokio::test]
async fn without_a_signer_a_remote_rule_does_not_match() {
    let store = store().await;
    let storage: Arc<dyn Storage> = Arc::new(ObjectStoreStorage::new(store).base_url("/s3/"));
    let settings = DownloadSettings::new(Backend::Nginx).rule(remote_rule());
    let meta = storage.metadata("data.bin").await.unwrap();
    assert_eq!(settings.target(&meta), None);
}
