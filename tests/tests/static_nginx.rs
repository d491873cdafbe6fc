//! Static files handed off to nginx through the download rules: the demo's
//! shipped assets collected into `MEDIA_ROOT/static`, served at `/static/`
//! by the `StaticFiles` layer with a `--settings` rule that hands
//! `/static/` URLs to `/x-accel/static/`, behind `deploy/nginx.conf` as it
//! is. Names without sidecars are sent by nginx with the application's
//! headers; names with sidecars stay with the application.

use std::path::Path;

use e2e::checks::{self, HandOff};
use e2e::demo::Demo;
use e2e::media::make_public;
use e2e::proxy::{Proxy, ProxyKind};
use e2e::spy::Spy;
use reqwest::StatusCode;
use tempfile::TempDir;

/// A media root holding a collected static root, the demo serving both,
/// nginx in front. Fields drop in order.
struct StaticStack {
    proxy: Proxy,
    spy: Spy,
    demo: Demo,
    media: TempDir,
}

impl StaticStack {
    fn start() -> StaticStack {
        let _ = ProxyKind::Nginx.require();
        let media = TempDir::new().expect("a media root");
        let static_root = media.path().join("static");
        axum_download::static_files::Collect::new(&static_root)
            .source(demo::static_files::default_assets())
            .run()
            .expect("collect the demo's assets");
        publish(media.path());
        let settings = media.path().join("settings.toml");
        std::fs::write(
            &settings,
            "backend = \"nginx\"\n\n[[rules]]\nsource_url = \"/static/\"\n\
             destination_url = \"/x-accel/static/\"\n",
        )
        .expect("write the settings");
        let static_root = static_root.to_string_lossy().into_owned();
        let settings = settings.to_string_lossy().into_owned();
        let demo = Demo::start_with(
            media.path(),
            &["--static-root", &static_root, "--settings", &settings],
            &[],
        );
        let spy = Spy::start(demo.addr());
        let proxy = Proxy::start(ProxyKind::Nginx, spy.addr(), media.path());
        StaticStack {
            proxy,
            spy,
            demo,
            media,
        }
    }

    fn manifest(&self) -> axum_download::static_files::StaticManifest {
        axum_download::static_files::StaticManifest::from_file(
            self.media.path().join("static/staticfiles.json"),
        )
        .expect("the manifest")
    }
}

/// nginx's workers read the files as another user: every directory 755,
/// every file 644 (the collect writes through private temporary files).
fn publish(dir: &Path) {
    make_public(dir, true);
    for entry in std::fs::read_dir(dir).expect("list the media root") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            publish(&path);
        } else {
            make_public(&path, false);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn names_without_sidecars_are_sent_by_nginx_with_the_application_headers() {
    let stack = StaticStack::start();
    let client = checks::client();
    let manifest = stack.manifest();
    for name in ["img/pixel.png", "fonts/demo.woff2"] {
        let hashed = manifest.hashed_name(name).expect("listed");
        for (path, cache_control) in [
            (format!("/static/{name}"), "no-cache"),
            (
                format!("/static/{hashed}"),
                "public, max-age=31536000, immutable",
            ),
        ] {
            let _ = stack.spy.take();
            let through = checks::get(&client, &stack.proxy.url(&path), None).await;
            let upstream = stack.spy.take();
            assert_eq!(
                through.status,
                StatusCode::OK,
                "{path}\n{}",
                stack.proxy.logs()
            );
            checks::assert_upstream_hand_off(&upstream, HandOff::XAccelRedirect, &path);
            checks::assert_no_hand_off_headers(&through, &path);
            let file = stack
                .media
                .path()
                .join("static")
                .join(&path["/static/".len()..]);
            assert_eq!(
                through.body,
                std::fs::read(&file).expect("the file"),
                "{path}"
            );

            // The application's own answer (the hand-off, asked directly):
            // nginx keeps its Content-Type and Cache-Control, and computes
            // the same ETag and Last-Modified from the file.
            let direct = checks::get(&client, &stack.demo.url(&path), None).await;
            assert_eq!(
                through.header("cache-control"),
                Some(cache_control),
                "{path}"
            );
            for header in [
                "content-type",
                "cache-control",
                "etag",
                "last-modified",
                "x-content-type-options",
            ] {
                assert_eq!(
                    through.header(header),
                    direct.header(header),
                    "{header} of {path}"
                );
            }
            assert_eq!(through.header("content-disposition"), None);
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn ranges_of_handed_off_names_are_answered_by_nginx() {
    let stack = StaticStack::start();
    let client = checks::client();
    let path = "/static/img/pixel.png";
    let bytes = std::fs::read(stack.media.path().join("static/img/pixel.png")).expect("the file");
    let _ = stack.spy.take();
    let partial = checks::get(&client, &stack.proxy.url(path), Some("bytes=1-4")).await;
    assert_eq!(partial.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(partial.body, &bytes[1..5]);
    checks::assert_upstream_hand_off(&stack.spy.take(), HandOff::XAccelRedirect, path);
}

#[tokio::test(flavor = "multi_thread")]
async fn names_with_sidecars_and_304s_are_answered_by_the_application() {
    let stack = StaticStack::start();
    let client = checks::client();
    let hashed = stack
        .manifest()
        .hashed_name("css/app.css")
        .expect("listed")
        .to_owned();
    let path = format!("/static/{hashed}");
    let url = stack.proxy.url(&path);
    let _ = stack.spy.take();
    let br = checks::get_with(&client, &url, &[("accept-encoding", "br")]).await;
    let upstream = stack.spy.take();
    assert_eq!(br.status, StatusCode::OK);
    assert_eq!(br.header("content-encoding"), Some("br"));
    assert_eq!(br.header("vary"), Some("Accept-Encoding"));
    let sidecar = stack.media.path().join(format!("static/{hashed}.br"));
    assert_eq!(br.body, std::fs::read(sidecar).expect("the sidecar"));
    let head = String::from_utf8_lossy(&upstream.bytes);
    assert!(
        !head.to_ascii_lowercase().contains("x-accel-redirect"),
        "{head}"
    );

    let etag = br.header("etag").expect("an etag").to_owned();
    let not_modified = checks::get_with(
        &client,
        &url,
        &[("accept-encoding", "br"), ("if-none-match", &etag)],
    )
    .await;
    assert_eq!(not_modified.status, StatusCode::NOT_MODIFIED);
    assert_eq!(not_modified.header("vary"), Some("Accept-Encoding"));
    assert_eq!(not_modified.header("etag"), Some(etag.as_str()));

    // The page and the rest of the application pass through.
    let page = checks::get(&client, &stack.proxy.url("/"), None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(String::from_utf8_lossy(&page.body).contains(&path));
}
