//! Apache httpd in front of the demo, configured by `deploy/apache.conf`
//! (mod_proxy, mod_proxy_http, mod_xsendfile): the `X-Sendfile` hand-offs of
//! `/apache/` (per-handler `#[x_sendfile]`) are served by Apache.

use e2e::checks::{self, APACHE};
use e2e::proxy::ProxyKind;
use e2e::Stack;

#[tokio::test(flavor = "multi_thread")]
async fn apache_route_files_are_sent_by_apache() {
    let stack = Stack::start(ProxyKind::Apache);
    checks::assert_files_served_by_proxy(&stack, APACHE).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn ranges_are_answered_by_apache() {
    let stack = Stack::start(ProxyKind::Apache);
    checks::assert_ranges_served_by_proxy(&stack, APACHE).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn other_routes_pass_through_apache() {
    let stack = Stack::start(ProxyKind::Apache);
    checks::assert_app_served_route_passes_through(&stack).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn client_validators_agree_through_apache() {
    let stack = Stack::start(ProxyKind::Apache);
    checks::assert_validators_agree_through_proxy(&stack, APACHE).await;
}
