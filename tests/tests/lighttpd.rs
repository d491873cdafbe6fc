//! lighttpd in front of the demo, configured by `deploy/lighttpd.conf`
//! (mod_proxy with `x-sendfile` enabled): the `X-Sendfile` hand-offs of
//! `/lighttpd/` (per-handler `#[x_sendfile]`) are served by lighttpd.

use e2e::checks::{self, LIGHTTPD};
use e2e::proxy::ProxyKind;
use e2e::Stack;

#[tokio::test(flavor = "multi_thread")]
async fn lighttpd_route_files_are_sent_by_lighttpd() {
    let stack = Stack::start(ProxyKind::Lighttpd);
    checks::assert_files_served_by_proxy(&stack, LIGHTTPD).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn ranges_are_answered_by_lighttpd() {
    let stack = Stack::start(ProxyKind::Lighttpd);
    checks::assert_ranges_served_by_proxy(&stack, LIGHTTPD).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn other_routes_pass_through_lighttpd() {
    let stack = Stack::start(ProxyKind::Lighttpd);
    checks::assert_app_served_route_passes_through(&stack).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn client_validators_agree_through_lighttpd() {
    let stack = Stack::start(ProxyKind::Lighttpd);
    checks::assert_validators_agree_through_proxy(&stack, LIGHTTPD).await;
}
