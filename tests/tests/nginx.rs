//! nginx in front of the demo, configured by `deploy/nginx.conf`: the
//! `X-Accel-Redirect` hand-offs of `/nginx/` (per-handler `#[x_accel]`) and
//! `/optimized/` (the global middleware's rule) are served by nginx from
//! the internal location `/x-accel/`.

use e2e::checks::{self, NGINX, OPTIMIZED};
use e2e::proxy::ProxyKind;
use e2e::Stack;
use reqwest::StatusCode;

#[tokio::test(flavor = "multi_thread")]
async fn nginx_route_files_are_sent_by_nginx() {
    let stack = Stack::start(ProxyKind::Nginx);
    checks::assert_files_served_by_proxy(&stack, NGINX).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn optimized_route_files_are_sent_by_nginx() {
    let stack = Stack::start(ProxyKind::Nginx);
    checks::assert_files_served_by_proxy(&stack, OPTIMIZED).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn ranges_are_answered_by_nginx() {
    let stack = Stack::start(ProxyKind::Nginx);
    checks::assert_ranges_served_by_proxy(&stack, NGINX).await;
    checks::assert_ranges_served_by_proxy(&stack, OPTIMIZED).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn other_routes_pass_through_and_x_accel_is_internal() {
    let stack = Stack::start(ProxyKind::Nginx);
    checks::assert_app_served_route_passes_through(&stack).await;
    // The hand-off location is `internal`: clients cannot read MEDIA_ROOT
    // through it.
    let direct = checks::get(
        &stack.client,
        &stack.proxy.url("/x-accel/hello-world.txt"),
        None,
    )
    .await;
    assert_eq!(
        direct.status,
        StatusCode::NOT_FOUND,
        "nginx served /x-accel/ to a client"
    );
}

/// The healthcheck chain, as `Healthcheck` checks it: the storage holds the
/// file, the app answers `/healthcheck` with a hand-off, and only through
/// nginx do the bytes arrive; asked directly, the app's answer is reported
/// as a hand-off nobody served.
#[tokio::test(flavor = "multi_thread")]
async fn healthcheck_passes_through_nginx_only() {
    use std::sync::Arc;

    use axum_download::healthcheck::Healthcheck;
    use axum_download::{FileSystemStorage, Storage};

    let stack = Stack::start(ProxyKind::Nginx);
    let file = stack.media.root().join(demo::HEALTHCHECK_FILE);
    std::fs::write(&file, demo::HEALTHCHECK_CONTENT).expect("write the healthcheck file");
    e2e::media::make_public(&file, false);
    let storage: Arc<dyn Storage> = Arc::new(FileSystemStorage::new(stack.media.root()));
    let check = Healthcheck::new(storage, demo::HEALTHCHECK_FILE, demo::HEALTHCHECK_CONTENT);

    check.check_storage().await.expect("the storage link");
    let _ = stack.spy.take();
    check
        .check_url(&stack.proxy.url("/healthcheck"))
        .await
        .unwrap_or_else(|err| panic!("the chain through nginx: {err}\n{}", stack.proxy.logs()));
    let upstream = stack.spy.take();
    checks::assert_upstream_hand_off(&upstream, checks::HandOff::XAccelRedirect, "/healthcheck");

    let direct = check
        .check_url(&stack.demo.url("/healthcheck"))
        .await
        .expect_err("the app alone must not pass the whole-chain check");
    assert_eq!(direct.link(), "proxy", "{direct}");
}

#[tokio::test(flavor = "multi_thread")]
async fn client_validators_agree_through_nginx() {
    let stack = Stack::start(ProxyKind::Nginx);
    checks::assert_validators_agree_through_proxy(&stack, NGINX).await;
    checks::assert_validators_agree_through_proxy(&stack, OPTIMIZED).await;
}

/// `HttpDownload::metadata_first` with a `remote` rule: the demo answers
/// `/http-nginx/` with `X-Accel-Redirect: /x-accel-remote/...` and the
/// upstream URL (the demo's own `/path/`), and nginx fetches and streams the
/// file itself; a range is decided by the application and fetched by nginx.
#[tokio::test(flavor = "multi_thread")]
async fn remote_files_of_http_download_are_fetched_by_nginx() {
    let stack = Stack::start(ProxyKind::Nginx);
    let hello = e2e::media::sample("hello-world.txt");
    let path = format!("/http-nginx/{}", hello.url_path());

    let direct = checks::get(&stack.client, &stack.demo.url(&path), None).await;
    assert_eq!(direct.status, StatusCode::OK);
    assert!(direct.body.is_empty(), "the demo sent the body itself");
    assert_eq!(
        direct.header("x-accel-redirect"),
        Some(format!("/x-accel-remote/{}", hello.url_path()).as_str())
    );
    let remote = direct
        .header("x-accel-remote-url")
        .expect("the upstream URL");
    assert!(
        remote.ends_with(&format!("/path/{}", hello.url_path())),
        "{remote}"
    );

    let proxied = checks::get(&stack.client, &stack.proxy.url(&path), None).await;
    assert_eq!(proxied.status, StatusCode::OK, "{}", stack.proxy.logs());
    assert!(
        proxied.body == hello.slice(0..hello.size()),
        "{:?}",
        proxied.body
    );
    assert!(proxied.header("x-accel-remote-url").is_none());

    let ranged = checks::get(&stack.client, &stack.proxy.url(&path), Some("bytes=6-10")).await;
    assert_eq!(
        ranged.status,
        StatusCode::PARTIAL_CONTENT,
        "{:?}",
        ranged.headers
    );
    assert!(ranged.body == hello.slice(6..11));

    let missing = checks::get(
        &stack.client,
        &stack.proxy.url("/http-nginx/missing.txt"),
        None,
    )
    .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}
