//! The assertions the proxy tests share: every offloaded route answers
//! through the proxy with the file's exact bytes, sent by the proxy.

use std::path::Path;

use reqwest::header::{
    HeaderMap, CONTENT_DISPOSITION, CONTENT_RANGE, CONTENT_TYPE, RANGE, X_CONTENT_TYPE_OPTIONS,
};
use reqwest::{Client, StatusCode};
use sha2::{Digest, Sha256};

use crate::media::{sample, Sample, BIG_LEN, BIG_NAME, SAMPLES};
use crate::spy::Upstream;
use crate::Stack;

/// The header an offloaded route hands the download off with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandOff {
    /// `X-Accel-Redirect: /x-accel/{name, segments percent-encoded}`.
    XAccelRedirect,
    /// `X-Sendfile: {MEDIA_ROOT}/{name}`, the path byte for byte.
    XSendfile,
}

impl HandOff {
    /// The header's name, lower-case.
    #[must_use]
    pub fn header(self) -> &'static str {
        match self {
            HandOff::XAccelRedirect => "x-accel-redirect",
            HandOff::XSendfile => "x-sendfile",
        }
    }
}

/// A route of the demo that hands its downloads off to the proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route {
    /// The URL prefix, with both slashes, e.g. `/nginx/`.
    pub prefix: &'static str,
    /// How it hands off.
    pub hand_off: HandOff,
}

/// `/nginx/{*name}`: `#[x_accel]` on the handler.
pub const NGINX: Route = Route {
    prefix: "/nginx/",
    hand_off: HandOff::XAccelRedirect,
};
/// `/optimized/{*name}`: the global middleware's nginx rule.
pub const OPTIMIZED: Route = Route {
    prefix: "/optimized/",
    hand_off: HandOff::XAccelRedirect,
};
/// `/apache/{*name}`: `#[x_sendfile]` on the handler.
pub const APACHE: Route = Route {
    prefix: "/apache/",
    hand_off: HandOff::XSendfile,
};
/// `/lighttpd/{*name}`: `#[x_sendfile]` on the handler.
pub const LIGHTTPD: Route = Route {
    prefix: "/lighttpd/",
    hand_off: HandOff::XSendfile,
};

impl Route {
    /// The URL path of `sample` under this route.
    #[must_use]
    pub fn path(&self, sample: &Sample) -> String {
        format!("{}{}", self.prefix, sample.url_path())
    }

    /// Whether the demo hands `sample` off on this route. X-Sendfile
    /// carries the path byte for byte, and lighttpd percent-decodes it, so
    /// a name holding `%` is streamed by the application instead.
    #[must_use]
    pub fn hands_off(&self, sample: &Sample) -> bool {
        self.hand_off == HandOff::XAccelRedirect || !sample.name.contains('%')
    }

    /// The hand-off header value the demo must answer for `sample`, as bytes.
    #[must_use]
    pub fn expected_hand_off(&self, media_root: &Path, sample: &Sample) -> Vec<u8> {
        match self.hand_off {
            HandOff::XAccelRedirect => format!("/x-accel/{}", sample.url_path()).into_bytes(),
            HandOff::XSendfile => format!("{}/{}", media_root.display(), sample.name).into_bytes(),
        }
    }
}

/// One HTTP answer, body read in full.
#[derive(Debug)]
pub struct Fetched {
    /// Its status.
    pub status: StatusCode,
    /// Its headers.
    pub headers: HeaderMap,
    /// Its body.
    pub body: Vec<u8>,
}

impl Fetched {
    /// The header `name` as text, if present.
    ///
    /// # Panics
    ///
    /// When it is not visible ASCII.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| {
            v.to_str()
                .unwrap_or_else(|_| panic!("header {name} is not ASCII: {v:?}"))
        })
    }

    /// Hex SHA-256 of the body.
    #[must_use]
    pub fn body_sha256(&self) -> String {
        hex(&Sha256::digest(&self.body))
    }
}

/// Lower-case hex.
#[must_use]
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An HTTP client for loopback tests: no system proxy, no redirects.
///
/// # Panics
///
/// When reqwest cannot build one.
#[must_use]
pub fn client() -> Client {
    Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .expect("an HTTP client")
}

/// `GET url`, with `Range: range` if given.
///
/// # Panics
///
/// When the request fails.
pub async fn get(client: &Client, url: &str, range: Option<&str>) -> Fetched {
    let headers: Vec<(&str, &str)> = range.map(|r| (RANGE.as_str(), r)).into_iter().collect();
    get_with(client, url, &headers).await
}

/// `GET url` with these request headers.
///
/// # Panics
///
/// When the request fails.
pub async fn get_with(client: &Client, url: &str, headers: &[(&str, &str)]) -> Fetched {
    let mut request = client.get(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request
        .send()
        .await
        .unwrap_or_else(|err| panic!("GET {url}: {err}"));
    let status = response.status();
    let headers = response.headers().clone();
    let body = response
        .bytes()
        .await
        .unwrap_or_else(|err| panic!("GET {url}: reading the body: {err}"))
        .to_vec();
    Fetched {
        status,
        headers,
        body,
    }
}

/// Asserts that `upstream`, what the demo sent the proxy for one request,
/// is a 200 hand-off: status line, headers with `hand_off`, empty body.
///
/// # Panics
///
/// When it is not.
pub fn assert_upstream_hand_off(upstream: &Upstream, hand_off: HandOff, what: &str) {
    let text = String::from_utf8_lossy(&upstream.bytes);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        panic!("{what}: the demo's answer to the proxy has no end of headers: {text:?}");
    };
    assert!(
        head.starts_with("HTTP/1.1 200 "),
        "{what}: the demo answered the proxy {head:?}"
    );
    let prefix = format!("{}:", hand_off.header());
    assert!(
        head.lines()
            .any(|line| line.to_ascii_lowercase().starts_with(&prefix)),
        "{what}: the demo's answer to the proxy has no {} header: {head:?}",
        hand_off.header()
    );
    assert!(
        body.is_empty() || body == "0\r\n\r\n",
        "{what}: the demo sent the proxy a body ({} bytes in all), so the proxy did not \
         serve the file itself: {:?}",
        upstream.total,
        &body[..body.len().min(200)]
    );
}

/// Asserts no proxy hand-off header reached the client.
///
/// # Panics
///
/// When one did.
pub fn assert_no_hand_off_headers(fetched: &Fetched, what: &str) {
    for name in fetched.headers.keys() {
        let name = name.as_str();
        assert!(
            !name.starts_with("x-accel-") && name != "x-sendfile",
            "{what}: the proxy let the hand-off header {name} through: {:?}",
            fetched.headers
        );
    }
}

/// For every sample file under `route`: the demo, asked directly, hands the
/// download off (200, empty body, the contract's hand-off header); through
/// the proxy the client gets the file's exact bytes (SHA-256), the
/// application's `Content-Disposition`, `Content-Type` and
/// `X-Content-Type-Options`, and no hand-off
/// header; and the demo's answer as the proxy received it (through the
/// relay) had an empty body, so the proxy sent the bytes.
///
/// # Panics
///
/// On the first difference.
pub async fn assert_files_served_by_proxy(stack: &Stack, route: Route) {
    let root = stack.media.root();
    for sample in SAMPLES {
        let path = route.path(sample);
        let what = format!("{} {path}", stack.proxy.kind().name());
        if !route.hands_off(sample) {
            assert_streamed_by_app(stack, &path, sample, route.hand_off, &what).await;
            continue;
        }

        let direct = get(&stack.client, &stack.demo.url(&path), None).await;
        assert_eq!(direct.status, StatusCode::OK, "{what}: the demo, directly");
        assert!(
            direct.body.is_empty(),
            "{what}: the demo, directly, sent {} body bytes instead of handing off",
            direct.body.len()
        );
        assert_eq!(
            direct
                .headers
                .get(route.hand_off.header())
                .map(|v| v.as_bytes()),
            Some(route.expected_hand_off(root, sample).as_slice()),
            "{what}: the demo's {} header",
            route.hand_off.header()
        );
        if let Some(disposition) = sample.disposition {
            assert_eq!(
                direct.header("content-disposition"),
                Some(disposition),
                "{what}: the demo's Content-Disposition"
            );
        }

        let _ = stack.spy.take();
        let proxied = get(&stack.client, &stack.proxy.url(&path), None).await;
        let upstream = stack.spy.take();
        assert_eq!(proxied.status, StatusCode::OK, "{what}: through the proxy");
        assert_eq!(
            proxied.body.len() as u64,
            sample.size(),
            "{what}: body length through the proxy"
        );
        assert_eq!(
            proxied.body_sha256(),
            hex(&sample.sha256()),
            "{what}: SHA-256 of the body through the proxy"
        );
        assert_no_hand_off_headers(&proxied, &what);
        assert_eq!(
            proxied.headers.get(CONTENT_DISPOSITION),
            direct.headers.get(CONTENT_DISPOSITION),
            "{what}: Content-Disposition through the proxy"
        );
        assert!(
            direct.headers.contains_key(CONTENT_DISPOSITION),
            "{what}: the demo sent no Content-Disposition"
        );
        assert_eq!(
            proxied.headers.get(CONTENT_TYPE),
            direct.headers.get(CONTENT_TYPE),
            "{what}: Content-Type through the proxy"
        );
        assert_eq!(
            proxied.headers.get(X_CONTENT_TYPE_OPTIONS),
            direct.headers.get(X_CONTENT_TYPE_OPTIONS),
            "{what}: X-Content-Type-Options through the proxy"
        );
        assert_upstream_hand_off(&upstream, route.hand_off, &what);
    }
}

/// A file the demo does not hand off on this route (see
/// [`Route::hands_off`]): no hand-off header, and the exact bytes through
/// the proxy, which the relay saw the demo send.
async fn assert_streamed_by_app(
    stack: &Stack,
    path: &str,
    sample: &Sample,
    hand_off: HandOff,
    what: &str,
) {
    let direct = get(&stack.client, &stack.demo.url(path), None).await;
    assert_eq!(direct.status, StatusCode::OK, "{what}: the demo, directly");
    assert!(
        !direct.headers.contains_key(hand_off.header()),
        "{what}: the demo handed off a name X-Sendfile cannot carry exactly"
    );
    let _ = stack.spy.take();
    let proxied = get(&stack.client, &stack.proxy.url(path), None).await;
    let upstream = stack.spy.take();
    assert_eq!(proxied.status, StatusCode::OK, "{what}: through the proxy");
    assert_eq!(
        proxied.body_sha256(),
        hex(&sample.sha256()),
        "{what}: SHA-256 of the body through the proxy"
    );
    assert!(
        upstream.total >= sample.size(),
        "{what}: the relay did not see the demo send the body"
    );
}

/// Range requests under `route` through the proxy: 206 with the right
/// `Content-Range` and bytes, sent by the proxy (the demo answered the
/// proxy with a 200 hand-off and an empty body, as it answers directly).
///
/// # Panics
///
/// On the first difference.
pub async fn assert_ranges_served_by_proxy(stack: &Stack, route: Route) {
    let big = sample(BIG_NAME);
    let hello = sample("hello-world.txt");
    let boundary = 64 * 1024 * 1024 - 4;
    let cases: [(&Sample, String, u64, u64); 4] = [
        (hello, "bytes=6-10".to_owned(), 6, 10),
        (
            big,
            "bytes=1000000-1999999".to_owned(),
            1_000_000,
            1_999_999,
        ),
        (big, format!("bytes={boundary}-"), boundary, BIG_LEN - 1),
        (big, "bytes=-100".to_owned(), BIG_LEN - 100, BIG_LEN - 1),
    ];
    for (sample, range, first, last) in cases {
        let path = route.path(sample);
        let what = format!("{} {path} Range: {range}", stack.proxy.kind().name());

        let direct = get(&stack.client, &stack.demo.url(&path), Some(&range)).await;
        assert_eq!(
            direct.status,
            StatusCode::OK,
            "{what}: the demo, directly, hands off rather than answering the range"
        );
        assert!(direct.body.is_empty(), "{what}: the demo sent a body");
        assert!(
            direct.headers.contains_key(route.hand_off.header()),
            "{what}: the demo sent no {} header",
            route.hand_off.header()
        );

        let _ = stack.spy.take();
        let proxied = get(&stack.client, &stack.proxy.url(&path), Some(&range)).await;
        let upstream = stack.spy.take();
        assert_eq!(
            proxied.status,
            StatusCode::PARTIAL_CONTENT,
            "{what}: through the proxy ({:?})",
            proxied.headers
        );
        assert_eq!(
            proxied.headers.get(CONTENT_RANGE).map(|v| v.as_bytes()),
            Some(format!("bytes {first}-{last}/{}", sample.size()).as_bytes()),
            "{what}: Content-Range through the proxy"
        );
        let expected = sample.slice(first..last + 1);
        assert_eq!(
            proxied.body.len(),
            expected.len(),
            "{what}: body length through the proxy"
        );
        assert!(
            proxied.body == expected,
            "{what}: the bytes through the proxy are not the file's bytes {first}-{last}"
        );
        assert_no_hand_off_headers(&proxied, &what);
        assert_upstream_hand_off(&upstream, route.hand_off, &what);
    }
}

/// The control for the relay: a route the demo serves itself (`/path/`)
/// passes through the proxy unchanged, and the relay sees the demo send
/// the body, so an empty body seen by the relay really means a hand-off.
///
/// # Panics
///
/// When it does not.
pub async fn assert_app_served_route_passes_through(stack: &Stack) {
    let hello = sample("hello-world.txt");
    let path = format!("/path/{}", hello.url_path());
    let what = format!("{} {path}", stack.proxy.kind().name());
    let _ = stack.spy.take();
    let proxied = get(&stack.client, &stack.proxy.url(&path), None).await;
    let upstream = stack.spy.take();
    assert_eq!(proxied.status, StatusCode::OK, "{what}: through the proxy");
    assert_eq!(
        proxied.body,
        hello.slice(0..hello.size()),
        "{what}: body through the proxy"
    );
    assert_eq!(
        proxied.header("content-disposition"),
        hello.disposition,
        "{what}: Content-Disposition through the proxy"
    );
    let text = String::from_utf8_lossy(&upstream.bytes);
    let body = text.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    assert!(
        body.contains("Hello world!"),
        "{what}: the relay did not see the demo send the body: {text:?}"
    );
}

/// One validator for the client, whoever sends the bytes: the `ETag` a
/// client receives through the proxy is the one the application compares,
/// so `If-None-Match` gets a 304 and `If-Match` / `If-Range` with a range
/// get a 206, never a 412; no header arrives twice; the application's
/// caching policy arrives through the proxy.
///
/// # Panics
///
/// When any of that does not hold.
pub async fn assert_validators_agree_through_proxy(stack: &Stack, route: Route) {
    let hello = sample("hello-world.txt");
    let url = stack.proxy.url(&route.path(hello));
    let what = format!("{} {url}", stack.proxy.kind().name());
    let first = get(&stack.client, &url, None).await;
    assert_eq!(first.status, StatusCode::OK, "{what}");
    for name in first.headers.keys() {
        assert_eq!(
            first.headers.get_all(name).iter().count(),
            1,
            "{what}: `{name}` arrived more than once: {:?}",
            first.headers
        );
    }
    assert_eq!(
        first.header("cache-control"),
        Some(axum_download::DEFAULT_CACHE_CONTROL),
        "{what}: the application's caching policy"
    );
    let etag = first
        .header("etag")
        .unwrap_or_else(|| panic!("{what}: no ETag through the proxy: {:?}", first.headers))
        .to_owned();
    let direct = get(&stack.client, &stack.demo.url(&route.path(hello)), None).await;
    assert_eq!(
        direct.header("etag"),
        Some(etag.as_str()),
        "{what}: the application's ETag differs from the one the client got"
    );
    let revalidated = get_with(&stack.client, &url, &[("if-none-match", &etag)]).await;
    assert_eq!(
        revalidated.status,
        StatusCode::NOT_MODIFIED,
        "{what}: If-None-Match"
    );
    let matched = get_with(
        &stack.client,
        &url,
        &[("if-match", &etag), ("range", "bytes=0-4")],
    )
    .await;
    assert_eq!(
        matched.status,
        StatusCode::PARTIAL_CONTENT,
        "{what}: If-Match + Range"
    );
    assert_eq!(
        matched.body,
        hello.slice(0..5),
        "{what}: If-Match + Range body"
    );
    let resumed = get_with(
        &stack.client,
        &url,
        &[("if-range", &etag), ("range", "bytes=6-")],
    )
    .await;
    assert_eq!(
        resumed.status,
        StatusCode::PARTIAL_CONTENT,
        "{what}: If-Range"
    );
    assert_eq!(
        resumed.body,
        hello.slice(6..hello.size()),
        "{what}: If-Range body"
    );
    let stale = get_with(&stack.client, &url, &[("if-match", "\"other\"")]).await;
    assert_eq!(
        stale.status,
        StatusCode::PRECONDITION_FAILED,
        "{what}: stale If-Match"
    );
}
