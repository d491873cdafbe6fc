//! nginx in front of the demo's `/cached/` route: a cached remote file is a
//! local file, so a hand-off rule on the cache directory (kept inside
//! MEDIA_ROOT, which `deploy/nginx.conf` maps at `/x-accel/`) lets nginx
//! send it, ranges included.

use std::ffi::OsString;
use std::path::Path;

use e2e::checks::{self, HandOff};
use e2e::media::{sample, BIG_NAME};
use e2e::proxy::ProxyKind;
use e2e::Stack;
use reqwest::StatusCode;

/// The demo with its cache in `MEDIA_ROOT/.cache` and a settings file that
/// hands off every file there to `/x-accel/.cache/`.
fn start() -> Stack {
    Stack::start_with(ProxyKind::Nginx, |root: &Path| {
        let cache = root.join(".cache");
        let settings = root.join(".cache-settings.toml");
        let text = format!(
            "backend = \"nginx\"\n\n[[rules]]\nsource_dir = {:?}\ndestination_url = \"/x-accel/.cache/\"\n",
            cache.display().to_string()
        );
        std::fs::write(&settings, text).expect("write the settings file");
        vec![
            OsString::from("--cache-dir"),
            cache.into_os_string(),
            OsString::from("--settings"),
            settings.into_os_string(),
        ]
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn cached_files_are_sent_by_nginx() {
    let stack = start();
    for name in ["hello-world.txt", BIG_NAME] {
        let sample = sample(name);
        let url = stack.proxy.url(&format!("/cached/{}", sample.url_path()));
        let _ = stack.spy.take();
        let fetched = checks::get(&stack.client, &url, None).await;
        assert_eq!(
            fetched.status,
            StatusCode::OK,
            "{name}\n{}",
            stack.proxy.logs()
        );
        assert_eq!(
            fetched.body_sha256(),
            checks::hex(&sample.sha256()),
            "{name}"
        );
        checks::assert_no_hand_off_headers(&fetched, name);
        let upstream = stack.spy.take();
        checks::assert_upstream_hand_off(&upstream, HandOff::XAccelRedirect, name);
    }
    // A range of the cached copy, answered by nginx.
    let big = sample(BIG_NAME);
    let url = stack.proxy.url(&format!("/cached/{}", big.url_path()));
    let fetched = checks::get(&stack.client, &url, Some("bytes=1000000-1000099")).await;
    assert_eq!(fetched.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(fetched.body, big.slice(1_000_000..1_000_100));
    let upstream = stack.spy.take();
    checks::assert_upstream_hand_off(&upstream, HandOff::XAccelRedirect, "range");
}
