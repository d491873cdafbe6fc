//! The demo's object-store routes against a real S3-compatible server
//! (moto, installed by `scripts/test.sh`): `/s3/` streamed by the
//! application, `/s3-nginx/` fetched from the store by nginx itself
//! (`deploy/nginx.conf`, `/x-accel-remote/`), and what happens when the
//! store goes away.

use e2e::checks::{self, get_with, hex, Fetched, HandOff};
use e2e::demo::Demo;
use e2e::media::{big_bytes, Media};
use e2e::s3::{Fixture, S3Stack, BIG_KEY, BIG_KEY_LEN, FIXTURES};
use reqwest::StatusCode;
use sha2::{Digest, Sha256};

const HELLO: Fixture = FIXTURES[0];

async fn get(stack: &S3Stack, url: &str, headers: &[(&str, &str)]) -> Fetched {
    get_with(&stack.client, url, headers).await
}

async fn head(stack: &S3Stack, url: &str) -> reqwest::Response {
    stack
        .client
        .head(url)
        .send()
        .await
        .unwrap_or_else(|err| panic!("HEAD {url}: {err}"))
}

fn sha256(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Headers of the store that must never reach the client.
fn assert_nothing_of_the_store(fetched: &Fetched, what: &str) {
    checks::assert_no_hand_off_headers(fetched, what);
    for name in fetched.headers.keys() {
        let name = name.as_str();
        assert!(
            !name.starts_with("x-amz"),
            "{what}: the store's {name} reached the client: {:?}",
            fetched.headers
        );
    }
    let body = String::from_utf8_lossy(&fetched.body);
    assert!(
        !body.contains("X-Amz-Signature"),
        "{what}: a presigned URL reached the client"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_route_streams_objects_with_the_store_validators() {
    let stack = S3Stack::start().await;
    for fixture in FIXTURES {
        let url = stack.demo.url(&format!("/s3/{}", fixture.url_path()));
        let fetched = get(&stack, &url, &[]).await;
        let content = fixture.content();
        assert_eq!(fetched.status, StatusCode::OK, "{url}");
        assert_eq!(fetched.body_sha256(), sha256(&content), "{url}: bytes");
        assert_eq!(
            fetched.header("content-length"),
            Some(content.len().to_string().as_str()),
            "{url}"
        );
        let etag = fetched
            .header("etag")
            .unwrap_or_else(|| panic!("{url}: no ETag"));
        assert!(etag.starts_with('"'), "{url}: the store's ETag {etag}");
        assert!(fetched.header("last-modified").is_some(), "{url}");
        assert_eq!(fetched.header("accept-ranges"), Some("bytes"), "{url}");
        if let Some(stored) = fixture.content_type {
            let essence = stored.split(';').next().unwrap_or("");
            let got = fetched.header("content-type").unwrap_or("");
            assert!(got.starts_with(essence), "{url}: Content-Type {got}");
        }
    }
    let html = get(&stack, &stack.demo.url("/s3/page.html"), &[]).await;
    assert_eq!(html.header("content-security-policy"), Some("sandbox"));
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_route_answers_ranges_conditions_and_head() {
    let stack = S3Stack::start().await;
    let url = stack.demo.url(&format!("/s3/{BIG_KEY}"));
    assert_ranges_conditions_and_head(&stack, &url, "/s3/").await;
    for (path, what) in [
        ("/s3/nope.txt", "missing key"),
        ("/s3/docs/..%2fhello-world.txt", "encoded separator"),
        ("/s3/docs%5chello-world.txt", "encoded backslash"),
    ] {
        let fetched = get(&stack, &stack.demo.url(path), &[]).await;
        assert_eq!(fetched.status, StatusCode::NOT_FOUND, "{what}: {path}");
    }
}

/// Ranges, `If-Range`, 304, 412, 416 and `HEAD` of the large object at `url`.
async fn assert_ranges_conditions_and_head(stack: &S3Stack, url: &str, what: &str) {
    let len = BIG_KEY_LEN;
    let full = get(stack, url, &[]).await;
    assert_eq!(full.status, StatusCode::OK, "{what}");
    let etag = full.header("etag").expect("an ETag").to_owned();
    let modified = full
        .header("last-modified")
        .expect("a Last-Modified")
        .to_owned();

    let ranged = get(stack, url, &[("range", "bytes=1000-1999")]).await;
    assert_eq!(ranged.status, StatusCode::PARTIAL_CONTENT, "{what}");
    assert_eq!(
        ranged.header("content-range"),
        Some(format!("bytes 1000-1999/{len}").as_str()),
        "{what}"
    );
    assert_eq!(ranged.body, big_bytes(1000..2000), "{what}: range bytes");

    let suffix = get(stack, url, &[("range", "bytes=-5000")]).await;
    assert_eq!(suffix.status, StatusCode::PARTIAL_CONTENT, "{what}");
    assert_eq!(
        suffix.body,
        big_bytes(len - 5000..len),
        "{what}: suffix bytes"
    );

    let multipart = get(stack, url, &[("range", "bytes=0-9,100-109")]).await;
    assert_eq!(multipart.status, StatusCode::PARTIAL_CONTENT, "{what}");
    let content_type = multipart.header("content-type").unwrap_or("").to_owned();
    assert!(
        content_type.starts_with("multipart/byteranges; boundary="),
        "{what}: {content_type}"
    );
    let body = multipart.body;
    for (range, bytes) in [("0-9", big_bytes(0..10)), ("100-109", big_bytes(100..110))] {
        let mut part = format!("Content-Range: bytes {range}/{len}\r\n\r\n").into_bytes();
        part.extend_from_slice(&bytes);
        assert!(
            body.windows(part.len()).any(|w| w == part.as_slice()),
            "{what}: part {range} missing from the multipart body"
        );
    }

    let stale = get(
        stack,
        url,
        &[("range", "bytes=0-9"), ("if-range", "\"stale\"")],
    )
    .await;
    assert_eq!(
        stale.status,
        StatusCode::OK,
        "{what}: If-Range with another ETag"
    );
    assert_eq!(
        stale.body_sha256(),
        full.body_sha256(),
        "{what}: stale If-Range bytes"
    );

    let fresh = get(stack, url, &[("range", "bytes=0-9"), ("if-range", &etag)]).await;
    assert_eq!(
        fresh.status,
        StatusCode::PARTIAL_CONTENT,
        "{what}: If-Range with the ETag"
    );
    assert_eq!(fresh.body, big_bytes(0..10), "{what}");

    let unsatisfiable = get(stack, url, &[("range", &format!("bytes={len}-"))]).await;
    assert_eq!(
        unsatisfiable.status,
        StatusCode::RANGE_NOT_SATISFIABLE,
        "{what}"
    );

    let not_modified = get(stack, url, &[("if-none-match", &etag)]).await;
    assert_eq!(
        not_modified.status,
        StatusCode::NOT_MODIFIED,
        "{what}: If-None-Match"
    );
    assert!(not_modified.body.is_empty());
    let not_modified = get(stack, url, &[("if-modified-since", &modified)]).await;
    assert_eq!(
        not_modified.status,
        StatusCode::NOT_MODIFIED,
        "{what}: If-Modified-Since"
    );
    let failed = get(stack, url, &[("if-match", "\"other\"")]).await;
    assert_eq!(
        failed.status,
        StatusCode::PRECONDITION_FAILED,
        "{what}: If-Match"
    );

    let head = head(stack, url).await;
    assert_eq!(head.status(), StatusCode::OK, "{what}: HEAD");
    assert_eq!(
        head.headers()
            .get("content-length")
            .map(|v| v.to_str().unwrap()),
        Some(len.to_string().as_str()),
        "{what}: HEAD"
    );
    assert_eq!(
        head.headers().get("etag").map(|v| v.to_str().unwrap()),
        Some(etag.as_str()),
        "{what}: HEAD"
    );
    assert!(head.bytes().await.unwrap().is_empty(), "{what}: HEAD body");
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_nginx_route_is_fetched_from_the_store_by_nginx() {
    let stack = S3Stack::start().await;
    for fixture in FIXTURES {
        let path = format!("/s3-nginx/{}", fixture.url_path());
        let direct = get(
            &stack,
            &stack.demo.url(&format!("/s3/{}", fixture.url_path())),
            &[],
        )
        .await;
        let _ = stack.spy.take();
        let _ = stack.store_spy.take_requests();
        let fetched = get(
            &stack,
            &stack.proxy.url(&path),
            &[
                ("cookie", "session=client-cookie-e2e"),
                ("authorization", "Bearer client-token-e2e"),
            ],
        )
        .await;
        assert_eq!(
            fetched.status,
            StatusCode::OK,
            "{path}: {}",
            stack.proxy.logs()
        );
        assert_eq!(
            fetched.body_sha256(),
            sha256(&fixture.content()),
            "{path}: bytes"
        );
        // The application answered with a hand-off and no body.
        checks::assert_upstream_hand_off(&stack.spy.take(), HandOff::XAccelRedirect, &path);
        assert_nothing_of_the_store(&fetched, &path);
        for name in [
            "content-type",
            "content-disposition",
            "etag",
            "last-modified",
            "cache-control",
            "content-length",
        ] {
            assert_eq!(
                fetched.header(name),
                direct.header(name),
                "{path}: {name} differs from the application's own answer"
            );
        }
        assert_eq!(fetched.header("x-content-type-options"), Some("nosniff"));
        // nginx's request reached the store, with the store's Host and
        // nothing of the client's.
        let requests = stack.store_spy.take_requests();
        let requests = String::from_utf8_lossy(&requests.bytes).to_ascii_lowercase();
        let host = format!("host: {}\r\n", stack.store_spy.addr());
        assert!(
            requests.contains("get /media/") && requests.contains("x-amz-signature="),
            "{path}: no presigned GET reached the store: {requests}"
        );
        assert!(
            requests.contains(&host),
            "{path}: no {host:?} in {requests}"
        );
        assert!(
            !requests.contains("client-cookie-e2e") && !requests.contains("client-token-e2e"),
            "{path}: the client's cookie or authorization reached the store: {requests}"
        );
    }
    let html = get(&stack, &stack.proxy.url("/s3-nginx/page.html"), &[]).await;
    assert_eq!(html.header("content-security-policy"), Some("sandbox"));
    // The hand-off location is internal: a client gets a 404, not the
    // store's answer nor a 502.
    let internal = get(
        &stack,
        &stack.proxy.url("/x-accel-remote/hello-world.txt"),
        &[],
    )
    .await;
    assert_eq!(internal.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_nginx_route_answers_ranges_conditions_and_head() {
    let stack = S3Stack::start().await;
    let url = stack.proxy.url(&format!("/s3-nginx/{BIG_KEY}"));
    assert_ranges_conditions_and_head(&stack, &url, "/s3-nginx/ through nginx").await;
    // A single range is fetched by nginx as that range: only its bytes
    // leave the store.
    let _ = stack.store_spy.take();
    let ranged = get(&stack, &url, &[("range", "bytes=5-14")]).await;
    assert_eq!(ranged.body, big_bytes(5..15));
    let from_store = stack.store_spy.take();
    assert!(
        from_store.total < 64 * 1024,
        "the store sent {} bytes for a 10-byte range",
        from_store.total
    );
    let missing = get(&stack, &stack.proxy.url("/s3-nginx/nope.txt"), &[]).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_store_that_stops_aborts_the_transfer_and_then_answers_502() {
    let mut stack = S3Stack::start().await;
    let url = stack.demo.url(&format!("/s3/{BIG_KEY}"));
    let mut response = stack.client.get(&url).send().await.expect("GET big.bin");
    assert_eq!(response.status(), StatusCode::OK);
    let first = response
        .chunk()
        .await
        .expect("a first chunk")
        .expect("bytes");
    assert!(!first.is_empty());
    stack.store.stop();
    let mut received = first.len() as u64;
    let outcome = loop {
        match response.chunk().await {
            Ok(Some(chunk)) => received += chunk.len() as u64,
            Ok(None) => break Ok(()),
            Err(err) => break Err(err),
        }
    };
    assert!(
        outcome.is_err() && received < BIG_KEY_LEN,
        "the store stopped, yet the transfer ended cleanly after {received} of {BIG_KEY_LEN} bytes"
    );

    let relay = get(
        &stack,
        &stack.demo.url(&format!("/s3/{}", HELLO.url_path())),
        &[],
    )
    .await;
    assert_eq!(
        relay.status,
        StatusCode::BAD_GATEWAY,
        "/s3/ with the store gone"
    );
    let handed = get(
        &stack,
        &stack.proxy.url(&format!("/s3-nginx/{}", HELLO.url_path())),
        &[],
    )
    .await;
    assert_eq!(
        handed.status,
        StatusCode::BAD_GATEWAY,
        "/s3-nginx/ with the store gone"
    );
    assert_nothing_of_the_store(&handed, "/s3-nginx/ with the store gone");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_s3_the_routes_answer_404() {
    let media = Media::shared();
    let demo = Demo::start(media.root());
    let client = checks::client();
    for path in ["/s3/hello-world.txt", "/s3-nginx/hello-world.txt"] {
        let fetched = get_with(&client, &demo.url(path), &[]).await;
        assert_eq!(fetched.status, StatusCode::NOT_FOUND, "{path}");
    }
}
