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
