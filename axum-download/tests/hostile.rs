//! Hostile file names and headers: CR, LF, quotes, `;`, `\` and control
//! characters in names on disk, in URLs, in hand-off targets and in an
//! upstream's headers never split or inject a header and never panic.

mod support;

use std::path::PathBuf;

use axum::body::Body;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use axum_download::offload::{Backend, Rule, X_ACCEL_REDIRECT, X_SENDFILE};
use axum_download::test_util::TempMediaRoot;
use axum_download::{DownloadLayer, DownloadSettings};
use http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use support::path_handler;
use tower::ServiceExt;

/// Names that are legal on Linux and hostile in a header.
const HOSTILE: &[&str] = &[
    "crlf\r\nSet-Cookie: stolen=1.txt",
    "lf\nX-Injected: 1.txt",
    "quote\"; filename=evil.exe",
    "semi;colon.txt",
    "tab\there.txt",
    "bell\u{7}.txt",
    "del\u{7f}.txt",
    "percent%0D%0A.txt",
    "question?hash#.txt",
    "unicode\u{2028}line.txt",
];

fn app(root: PathBuf, settings: DownloadSettings) -> Router {
    Router::new()
        .route("/{*name}", get(path_handler))
        .layer(DownloadLayer::with_settings(settings))
        .with_state(root)
}

fn url_of(name: &str) -> String {
    format!(
        "/{}",
        axum_download::storage::encode_path(name).replace('\t', "%09")
    )
}

async fn fetch(app: Router, name: &str) -> Response {
    app.oneshot(Request::get(url_of(name)).body(Body::empty()).unwrap())
        .await
        .unwrap()
}

fn media() -> TempMediaRoot {
    let media = TempMediaRoot::new();
    for name in HOSTILE {
        media.file(name, name.as_bytes());
    }
    media
}

/// Every header value is one line of visible ASCII or obs-text: no CR, LF
/// or NUL can end up in it, so nothing is split or injected.
fn assert_clean_headers(response: &Response, name: &str) {
    for (key, value) in response.headers() {
        let bytes = value.as_bytes();
        assert!(
            !bytes.iter().any(|b| matches!(b, b'\r' | b'\n' | 0)),
            "{name:?}: {key} = {value:?}"
        );
    }
    assert!(
        response.headers().get(header::SET_COOKIE).is_none(),
        "{name:?}"
    );
    assert!(response.headers().get("x-injected").is_none(), "{name:?}");
}

#[tokio::test]
async fn hostile_names_are_served_with_safe_headers() {
    let dir = media();
    for name in HOSTILE {
        let response = fetch(app(dir.path().into(), DownloadSettings::default()), name).await;
        assert_eq!(response.status(), StatusCode::OK, "{name:?}");
        assert_clean_headers(&response, name);
        let disposition = response.headers()[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .to_owned();
        // One parameter list: the quoted fallback cannot close early.
        assert!(
            disposition.starts_with("attachment; filename=\""),
            "{disposition}"
        );
        assert_eq!(
            disposition.matches("; filename").count(),
            2,
            "{name:?}: {disposition}"
        );
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(body, name.as_bytes(), "{name:?}");
    }
}

#[tokio::test]
async fn hostile_names_in_x_accel_targets_are_percent_encoded() {
    let dir = media();
    let settings = DownloadSettings::new(Backend::Nginx).rule(Rule::nginx("/x-accel/"));
    for name in HOSTILE {
        let response = fetch(app(dir.path().into(), settings.clone()), name).await;
        assert_clean_headers(&response, name);
        let target = response.headers()[X_ACCEL_REDIRECT].to_str().unwrap();
        assert!(target.starts_with("/x-accel/"), "{target}");
        assert!(
            !target[1..].contains(['?', '#', ' ', '"', '\\']),
            "{name:?}: {target}"
        );
        let decoded = percent_encoding::percent_decode_str(&target["/x-accel/".len()..])
            .decode_utf8()
            .unwrap();
        assert_eq!(decoded, *name, "the target decodes to the name");
    }
}

#[tokio::test]
async fn hostile_names_are_never_sent_in_x_sendfile() {
    let dir = media();
    let settings = DownloadSettings::new(Backend::XSendfile).rule(Rule::x_sendfile());
    for name in HOSTILE {
        let response = fetch(app(dir.path().into(), settings.clone()), name).await;
        assert_eq!(response.status(), StatusCode::OK, "{name:?}");
        assert_clean_headers(&response, name);
        match response.headers().get(X_SENDFILE) {
            // Sent only when the path is exactly representable.
            Some(value) => {
                let expected = dir.path().join(name);
                assert_eq!(value.as_bytes(), expected.to_str().unwrap().as_bytes());
            }
            None => {
                let body = response.into_body().collect().await.unwrap().to_bytes();
                assert_eq!(body, name.as_bytes(), "{name:?}: streamed by the app");
            }
        }
    }
}

#[test]
fn rule_targets_with_control_characters_are_refused_at_start_up() {
    for text in [
        "backend = \"nginx\"\n[[rules]]\ndestination_url = \"/x\\r\\nX-Injected: 1/\"\n",
        "backend = \"nginx\"\n[[rules]]\ndestination_url = \"/x?y/\"\n",
        "backend = \"nginx\"\n[[rules]]\ndestination_url = \"/x#y/\"\n",
    ] {
        let err = DownloadSettings::from_toml(text).unwrap_err();
        assert!(err.to_string().contains("destination_url"), "{err}");
    }
}

#[tokio::test]
async fn handler_header_with_crlf_is_ignored_not_injected() {
    let app = Router::new().route(
        "/",
        get(|| async {
            axum_download::VirtualDownload::text("a.txt", "a")
                .header("x-note", "ok\r\nSet-Cookie: stolen=1")
                .filename("b\r\nSet-Cookie: x=1.txt")
        }),
    );
    let response = app
        .oneshot(Request::get("/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_clean_headers(&response, "handler");
    assert!(response.headers().get("x-note").is_none());
}
