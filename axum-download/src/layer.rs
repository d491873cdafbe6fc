//! [`DownloadLayer`]: answers conditional requests, ranges and `HEAD` for
//! every download response of the services it wraps.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use axum::extract::FromRequestParts;
use axum::response::Response;
use http::request::Parts;
use http::Request;
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::conditional::Conditions;
use crate::respond::finish_with_settings;
use crate::settings::{DownloadSettings, SharedSettings};

/// Applies RFC 9110 conditional requests and ranges to every
/// [`DownloadResponse`](crate::DownloadResponse) the inner service returns.
///
/// The layer only pre- and post-processes: it reads the request's method
/// and conditional headers before calling the inner service, and rewrites a
/// download response afterwards (304, 412, 206, 416, `HEAD`). Any other
/// response passes through untouched.
///
/// ```
/// use axum::{routing::get, Router};
/// use axum_download::{DownloadLayer, VirtualDownload};
///
/// let app: Router = Router::new()
///     .route("/hello.txt", get(|| async { VirtualDownload::text("hello.txt", "hello") }))
///     .layer(DownloadLayer::new());
/// ```
#[derive(Debug, Clone)]
pub struct DownloadLayer {
    settings: SharedSettings,
    /// Whether the application gave settings (the macros follow only those).
    explicit: bool,
}

impl Default for DownloadLayer {
    fn default() -> Self {
        Self {
            settings: SharedSettings::new(DownloadSettings::default()),
            explicit: false,
        }
    }
}

impl DownloadLayer {
    /// A layer answering conditions and ranges, handing nothing off.
    ///
    /// ```
    /// use axum::{body::Body, routing::get, Router};
    /// use axum_download::{DownloadLayer, VirtualDownload};
    /// use http::{Request, StatusCode};
    /// use tower::ServiceExt;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let app = Router::new()
    ///     .route("/a.txt", get(|| async { VirtualDownload::text("a.txt", "hello") }))
    ///     .layer(DownloadLayer::new());
    /// let request = Request::get("/a.txt").header("range", "bytes=1-3").body(Body::empty()).unwrap();
    /// let response = app.oneshot(request).await.unwrap();
    /// assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    /// assert_eq!(response.headers()["content-range"], "bytes 1-3/5");
    /// # }
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// A layer that also hands downloads off to the reverse proxy by the
    /// rules of `settings` (validate them first, at start-up).
    ///
    /// ```
    /// use std::path::PathBuf;
    /// use axum::{body::Body, extract::State, routing::get, Router};
    /// use axum_download::offload::{Backend, Rule};
    /// use axum_download::{DownloadError, DownloadLayer, DownloadName, DownloadResponse, DownloadSettings, PathDownload};
    /// use http::Request;
    /// use tower::ServiceExt;
    ///
    /// async fn download(
    ///     State(media): State<PathBuf>,
    ///     DownloadName(name): DownloadName,
    /// ) -> Result<DownloadResponse, DownloadError> {
    ///     PathDownload::from_root(media, name).await
    /// }
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// # let dir = tempfile::tempdir()?;
    /// # std::fs::write(dir.path().join("a.txt"), "hello")?;
    /// # let media = dir.path().to_owned();
    /// let settings = DownloadSettings::new(Backend::Nginx).rule(Rule::nginx("/x-accel/").catch_all(true));
    /// let app = Router::new()
    ///     .route("/media/{*name}", get(download))
    ///     .layer(DownloadLayer::with_settings(settings))
    ///     .with_state(media);
    /// let response = app.oneshot(Request::get("/media/a.txt").body(Body::empty()).unwrap()).await.unwrap();
    /// assert_eq!(response.headers()["x-accel-redirect"], "/x-accel/a.txt");
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn with_settings(settings: impl Into<Arc<DownloadSettings>>) -> Self {
        Self::shared(SharedSettings::new(settings))
    }

    /// A layer reading its settings from `settings` at each request, so
    /// that replacing them (see [`SharedSettings::replace`]) takes effect
    /// at once. The settings are also handed to the `#[x_accel]` and
    /// `#[x_sendfile]` handlers inside: with the `development` backend they
    /// stream instead of handing off.
    ///
    /// ```
    /// use axum::{routing::get, Router};
    /// use axum_download::offload::Backend;
    /// use axum_download::{DownloadLayer, DownloadSettings, SharedSettings, VirtualDownload};
    ///
    /// let shared = SharedSettings::new(DownloadSettings::new(Backend::Development));
    /// let app: Router = Router::new()
    ///     .route("/a.txt", get(|| async { VirtualDownload::text("a.txt", "hello") }))
    ///     .layer(DownloadLayer::shared(shared.clone()));
    /// // Later: hand off to nginx from the next request on.
    /// shared.replace(DownloadSettings::new(Backend::Nginx)).unwrap();
    /// ```
    #[must_use]
    pub fn shared(settings: SharedSettings) -> Self {
        Self {
            settings,
            explicit: true,
        }
    }
}

impl<S> Layer<S> for DownloadLayer {
    type Service = DownloadService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        DownloadService {
            inner,
            settings: self.settings.clone(),
            explicit: self.explicit,
        }
    }
}

/// The service of [`DownloadLayer`].
///
/// ```
/// use std::convert::Infallible;
/// use axum::{body::Body, response::IntoResponse};
/// use axum_download::layer::DownloadService;
/// use axum_download::{DownloadLayer, VirtualDownload};
/// use http::{Method, Request};
/// use tower::{service_fn, Layer, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let inner = service_fn(|_: Request<Body>| async {
///     Ok::<_, Infallible>(VirtualDownload::text("a.txt", "hello").into_response())
/// });
/// let service: DownloadService<_> = DownloadLayer::new().layer(inner);
/// let request = Request::builder().method(Method::HEAD).body(Body::empty()).unwrap();
/// let response = service.oneshot(request).await.unwrap();
/// assert_eq!(response.headers()["content-length"], "5");
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct DownloadService<S> {
    inner: S,
    settings: SharedSettings,
    explicit: bool,
}

impl<S, B> Service<Request<B>> for DownloadService<S>
where
    S: Service<Request<B>, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        let conditions = Conditions::new(request.method(), request.headers());
        let settings = self.settings.load();
        if self.explicit {
            request
                .extensions_mut()
                .insert(LayerSettings(Some(settings.clone())));
        }
        ResponseFuture {
            inner: self.inner.call(request),
            conditions: Some(conditions),
            settings,
        }
    }
}

pin_project! {
    /// The response future of [`DownloadService`]: the inner service's
    /// response, finished for the request's conditions.
    ///
    /// ```
    /// use std::convert::Infallible;
    /// use axum::{body::Body, response::IntoResponse};
    /// use axum_download::layer::ResponseFuture;
    /// use axum_download::{DownloadLayer, VirtualDownload};
    /// use http::Request;
    /// use tower::{service_fn, Layer, Service, ServiceExt};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mut service = DownloadLayer::new().layer(service_fn(|_: Request<Body>| async {
    ///     Ok::<_, Infallible>(VirtualDownload::text("a.txt", "hello").into_response())
    /// }));
    /// let future: ResponseFuture<_> = service.ready().await.unwrap().call(Request::new(Body::empty()));
    /// assert_eq!(future.await.unwrap().status(), http::StatusCode::OK);
    /// # }
    /// ```
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        conditions: Option<Conditions>,
        settings: Arc<DownloadSettings>,
    }
}

impl<F, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = ready!(this.inner.poll(cx))?;
        let conditions = this.conditions.take().unwrap_or_default();
        Poll::Ready(Ok(finish_with_settings(
            response,
            &conditions,
            this.settings,
        )))
    }
}

/// The settings of the [`DownloadLayer`] around a handler, as the layer put
/// them in the request: what the hand-off macros read to follow the
/// application's backend.
#[doc(hidden)]
#[derive(Debug, Clone)]
pub struct LayerSettings(pub Option<Arc<DownloadSettings>>);

impl<S: Send + Sync> FromRequestParts<S> for LayerSettings {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<LayerSettings>()
            .cloned()
            .unwrap_or(LayerSettings(None)))
    }
}

impl LayerSettings {
    /// The settings a hand-off macro applies: its own rule, unless the
    /// application's settings (given to the layer) say the backend is
    /// `development` (then nothing is handed off and the file streams from
    /// the application, with the same headers).
    pub fn for_macro<'a>(&self, own: &'a DownloadSettings) -> &'a DownloadSettings {
        match &self.0 {
            Some(app) if app.backend == crate::offload::Backend::Development => {
                &crate::respond::NO_HAND_OFF
            }
            _ => own,
        }
    }
}

/// Captures the request's conditional and range headers in a handler, for
/// [`DownloadResponse::respond_to`](crate::DownloadResponse::respond_to),
/// when the app does not use [`DownloadLayer`].
impl<S: Send + Sync> FromRequestParts<S> for Conditions {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Conditions::new(&parts.method, &parts.headers))
    }
}
