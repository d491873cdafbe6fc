//! The demo's `/static/` and `/` against the contract
//! (`shared/demo-contract.md`, "Static files"), driven in-process through
//! the demo's router: the shipped assets collected at start-up, served by
//! the `StaticFiles` layer around the whole application.

use std::collections::BTreeSet;
use std::net::SocketAddr;

use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::Router;
use base64::Engine as _;
use bytes::Bytes;
use demo::{Config, Prepared};
use http_body_util::BodyExt;
use sha2::{Digest, Sha384};
use tower::ServiceExt;

fn prepared() -> Prepared {
    let config = Config::from_args(Vec::<String>::new()).unwrap();
    Prepared::new(&config, SocketAddr::from(([127, 0, 0, 1], 8000))).unwrap()
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }

    fn text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap()
    }
}

async fn send(router: &Router, method: Method, uri: &str, headers: &[(&str, &str)]) -> Answer {
    let mut request = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = router
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (parts, body) = response.into_parts();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body: body.collect().await.unwrap().to_bytes(),
    }
}

async fn get(router: &Router, uri: &str, headers: &[(&str, &str)]) -> Answer {
    send(router, Method::GET, uri, headers).await
}

/// The hashed URL of `name`, from `/static-url/`.
async fn url_of(router: &Router, name: &str) -> String {
    let answer = get(router, &format!("/static-url/{name}"), &[]).await;
    assert_eq!(answer.status, StatusCode::OK, "{name}");
    answer.text().to_owned()
}

/// The value of `attribute` in the first tag of `html` that contains
/// `marker`.
fn attribute<'a>(html: &'a str, marker: &str, attribute: &str) -> &'a str {
    let tag_start = html
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} in {html}"));
    let tag_start = html[..tag_start].rfind('<').unwrap();
    let tag = &html[tag_start..tag_start + html[tag_start..].find('>').unwrap()];
    let key = format!("{attribute}=\"");
    let start = tag
        .find(&key)
        .unwrap_or_else(|| panic!("{attribute} in {tag}"))
        + key.len();
    &tag[start..start + tag[start..].find('"').unwrap()]
}

fn sri(bytes: &[u8]) -> String {
    format!(
        "sha384-{}",
        base64::engine::general_purpose::STANDARD.encode(Sha384::digest(bytes))
    )
}

#[tokio::test]
async fn index_links_the_stylesheet_and_the_module_through_the_manifest_with_integrity() {
    let router = prepared().router();
    let page = get(&router, "/", &[]).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(
        page.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let html = page.text();

    let css = url_of(&router, "css/app.css").await;
    let js = url_of(&router, "js/app.js").await;
    assert_eq!(attribute(html, "rel=\"stylesheet\"", "href"), css);
    assert_eq!(attribute(html, "type=\"module\"", "src"), js);

    // Each integrity value is the SHA-384 of the bytes served at that URL,
    // whatever the encoding on the wire (browsers check the decoded body).
    for (marker, url) in [("rel=\"stylesheet\"", &css), ("type=\"module\"", &js)] {
        let integrity = attribute(html, marker, "integrity");
        let served = get(&router, url, &[]).await;
        assert_eq!(served.status, StatusCode::OK, "{url}");
        assert_eq!(integrity, sri(&served.body), "{url}");
        assert!(integrity.starts_with("sha384-"));
    }
}

#[tokio::test]
async fn hashed_urls_are_immutable_and_originals_no_cache() {
    let router = prepared().router();
    for name in [
        "css/app.css",
        "js/app.js",
        "img/pixel.png",
        "fonts/demo.woff2",
    ] {
        let hashed = get(&router, &url_of(&router, name).await, &[]).await;
        assert_eq!(hashed.status, StatusCode::OK, "{name}");
        assert_eq!(
            hashed.header("cache-control"),
            Some("public, max-age=31536000, immutable"),
            "{name}"
        );
        let original = get(&router, &format!("/static/{name}"), &[]).await;
        assert_eq!(original.status, StatusCode::OK, "{name}");
        assert_eq!(original.header("cache-control"), Some("no-cache"), "{name}");
        assert!(original.header("etag").is_some());
        assert_eq!(original.header("content-disposition"), None);
        assert_eq!(hashed.header("content-disposition"), None);
    }
}

#[tokio::test]
async fn accept_encoding_picks_a_sidecar_with_vary_and_its_own_etag() {
    let router = prepared().router();
    let url = url_of(&router, "css/app.css").await;
    let identity = get(&router, &url, &[]).await;
    assert_eq!(identity.header("content-encoding"), None);
    assert_eq!(identity.header("vary"), Some("Accept-Encoding"));
    let mut tags = BTreeSet::from([identity.header("etag").unwrap().to_owned()]);
    for coding in ["br", "zstd", "gzip"] {
        let encoded = get(&router, &url, &[("accept-encoding", coding)]).await;
        assert_eq!(encoded.header("content-encoding"), Some(coding));
        assert_eq!(encoded.header("vary"), Some("Accept-Encoding"));
        assert!(encoded.body.len() < identity.body.len());
        tags.insert(encoded.header("etag").unwrap().to_owned());
    }
    assert_eq!(tags.len(), 4, "{tags:?}");
    let refused = get(&router, &url, &[("accept-encoding", "br;q=0, gzip")]).await;
    assert_eq!(refused.header("content-encoding"), Some("gzip"));
}

#[tokio::test]
async fn conditionals_and_ranges_keep_every_header() {
    let router = prepared().router();
    let url = url_of(&router, "js/app.js").await;
    let br = ("accept-encoding", "br");
    let full = get(&router, &url, &[br]).await;
    let etag = full.header("etag").unwrap().to_owned();
    let partial = get(&router, &url, &[br, ("range", "bytes=0-0")]).await;
    let suffix = get(&router, &url, &[br, ("range", "bytes=-5")]).await;
    let multipart = get(&router, &url, &[br, ("range", "bytes=0-0,2-3")]).await;
    let not_modified = get(&router, &url, &[br, ("if-none-match", &etag)]).await;
    let unsatisfiable = get(&router, &url, &[br, ("range", "bytes=9999999-")]).await;
    assert_eq!(partial.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(partial.body, full.body.slice(..1));
    assert_eq!(suffix.body, full.body.slice(full.body.len() - 5..));
    assert_eq!(multipart.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(not_modified.status, StatusCode::NOT_MODIFIED);
    assert_eq!(unsatisfiable.status, StatusCode::RANGE_NOT_SATISFIABLE);
    for answer in [&partial, &suffix, &multipart, &not_modified, &unsatisfiable] {
        for header in [
            "vary",
            "cache-control",
            "etag",
            "last-modified",
            "x-content-type-options",
        ] {
            assert_eq!(
                answer.header(header),
                full.header(header),
                "{header} on {}",
                answer.status
            );
        }
    }
    let if_range = get(
        &router,
        &url,
        &[br, ("range", "bytes=0-0"), ("if-range", "\"old\"")],
    )
    .await;
    assert_eq!(if_range.status, StatusCode::OK);
}

#[tokio::test]
async fn head_sends_the_headers_of_get_and_no_body() {
    let router = prepared().router();
    let url = url_of(&router, "img/logo.svg").await;
    let got = get(&router, &url, &[("accept-encoding", "gzip")]).await;
    let head = send(&router, Method::HEAD, &url, &[("accept-encoding", "gzip")]).await;
    assert_eq!(head.status, StatusCode::OK);
    assert_eq!(head.headers, got.headers);
    assert!(head.body.is_empty());
}

#[tokio::test]
async fn unknown_names_are_404_and_other_methods_405() {
    let router = prepared().router();
    for uri in [
        "/static/css/nope.css",
        "/static/staticfiles.json",
        "/static/../css/app.css",
        "/static/css%2Fapp.css",
        "/static/",
    ] {
        assert_eq!(
            get(&router, uri, &[]).await.status,
            StatusCode::NOT_FOUND,
            "{uri}"
        );
    }
    let post = send(&router, Method::POST, "/static/css/app.css", &[]).await;
    assert_eq!(post.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(post.header("allow"), Some("GET, HEAD"));
}

/// A request: method, URI, headers.
type Case = (
    Method,
    &'static str,
    &'static [(&'static str, &'static str)],
);

/// Everything outside `/static/` reaches the application exactly as
/// without the layer: the same router with and without it answers alike.
#[tokio::test]
async fn every_other_path_is_answered_exactly_as_without_the_layer() {
    let (app, static_files) = prepared().into_parts();
    let layered = app.clone().layer(static_files);
    let cases: &[Case] = &[
        (Method::GET, "/", &[]),
        (Method::GET, "/static-url/css/app.css", &[]),
        (Method::GET, "/static-url/nope.css", &[]),
        (Method::GET, "/virtual/hello-world.txt", &[]),
        (
            Method::GET,
            "/virtual/hello-world.txt",
            &[("range", "bytes=0-4")],
        ),
        (Method::HEAD, "/virtual/hello-world.txt", &[]),
        (Method::POST, "/virtual/hello-world.txt", &[]),
        (Method::GET, "/virtual/stream?size=100", &[]),
        (
            Method::GET,
            "/path/hello-world.txt",
            &[("accept-encoding", "br")],
        ),
        (
            Method::GET,
            "/path/hello-world.txt",
            &[("if-none-match", "*")],
        ),
        (Method::GET, "/path/espace%20%C3%A9.txt", &[]),
        (Method::GET, "/path/../Cargo.toml", &[]),
        (Method::GET, "/inline/pixel.png", &[]),
        (Method::GET, "/storage/nested/dir/file.txt", &[]),
        (Method::GET, "/nginx/hello-world.txt", &[]),
        (Method::GET, "/optimized/hello-world.txt", &[]),
        (Method::GET, "/signed/hello-world.txt", &[]),
        (Method::GET, "/staticfiles/css/app.css", &[]),
        (Method::GET, "/nothing/static/css/app.css", &[]),
        (Method::GET, "/nope", &[]),
    ];
    for (method, uri, headers) in cases {
        let plain = send(&app, method.clone(), uri, headers).await;
        let through = send(&layered, method.clone(), uri, headers).await;
        assert_eq!(plain.status, through.status, "{method} {uri}");
        assert_eq!(plain.headers, through.headers, "{method} {uri}");
        assert_eq!(plain.body, through.body, "{method} {uri}");
    }
}
