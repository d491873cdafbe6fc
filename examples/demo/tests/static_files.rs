//! The demo's static files against its contract (`shared/demo-contract.md`,
//! "Static files"): `demo collectstatic` run as a process, `/static-url/`
//! driven in-process through the demo's router.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use demo::{Config, Prepared};
use http_body_util::BodyExt;
use tempfile::TempDir;
use tower::ServiceExt;

/// Runs `demo collectstatic ARGS`.
fn collectstatic(args: &[&Path]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_demo"));
    command.arg("collectstatic");
    for arg in args {
        command.arg(arg);
    }
    command.output().expect("run the demo binary")
}

/// Runs `demo collectstatic --source SRC --static-root OUT EXTRA...`.
fn collect_into(src: &Path, out: &Path, extra: &[&Path]) -> Output {
    let mut args = vec![flag("--source"), src, flag("--static-root"), out];
    args.extend_from_slice(extra);
    collectstatic(&args)
}

fn flag(name: &str) -> &Path {
    Path::new(name)
}

fn assets() -> PathBuf {
    demo::static_files::default_assets()
}

/// Every file under `root` with its bytes.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                files.insert(path.strip_prefix(root).unwrap().to_path_buf(), bytes);
            }
        }
    }
    files
}

fn manifest(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn collectstatic_writes_hashed_copies_and_a_django_manifest() {
    let out = TempDir::new().unwrap();
    let run = collect_into(&assets(), out.path(), &[]);
    assert!(run.status.success(), "{}", stderr(&run));
    let manifest = manifest(&out.path().join("staticfiles.json"));
    assert_eq!(manifest["version"], "1.1");
    assert_eq!(manifest["hash"].as_str().unwrap().len(), 12);
    let css = manifest["paths"]["css/app.css"].as_str().unwrap();
    assert!(
        css.starts_with("css/app.") && css.ends_with(".css") && css.len() == 24,
        "{css}"
    );
    // The original is kept; the hashed copy refers to hashed names.
    assert!(out.path().join("css/app.css").is_file());
    let text = std::fs::read_to_string(out.path().join(css)).unwrap();
    let font = manifest["paths"]["fonts/demo.eot"].as_str().unwrap();
    assert!(text.contains(&format!("../{font}?#iefix")), "{text}");
    let base = manifest["paths"]["css/base.css"].as_str().unwrap();
    assert!(
        text.contains(&format!("@import \"{}\" layer(base);", &base[4..])),
        "{text}"
    );
    assert!(
        text.contains("url(not-a-file.png)"),
        "comments are left alone: {text}"
    );
    assert!(text.contains("url(data:image/gif;base64,"), "{text}");
    let js = manifest["paths"]["js/app.js"].as_str().unwrap();
    let script = std::fs::read_to_string(out.path().join(js)).unwrap();
    let greet = manifest["paths"]["js/greet.js"].as_str().unwrap();
    assert!(
        script.contains(&format!("from \"./{}\"", &greet[3..])),
        "{script}"
    );
    // Integrity and sidecars.
    let extra = &manifest["axum_download"]["files"]["css/app.css"];
    assert!(extra["integrity"].as_str().unwrap().starts_with("sha384-"));
    assert!(out.path().join(format!("{css}.br")).is_file());
}

#[test]
fn collectstatic_twice_gives_byte_identical_output() {
    let (one, two) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    for out in [&one, &two] {
        let run = collect_into(&assets(), out.path(), &[]);
        assert!(run.status.success(), "{}", stderr(&run));
    }
    assert_eq!(snapshot(one.path()), snapshot(two.path()));
    // --check on an up-to-date root: nothing would change, exit 0.
    let check = collect_into(&assets(), one.path(), &[flag("--check")]);
    assert_eq!(check.status.code(), Some(0), "{}", stderr(&check));
    assert!(check.stdout.is_empty());
}

#[test]
fn check_exits_1_when_something_would_change() {
    let out = TempDir::new().unwrap();
    let check = collect_into(&assets(), out.path(), &[flag("--check")]);
    assert_eq!(check.status.code(), Some(1), "{}", stderr(&check));
    assert!(String::from_utf8_lossy(&check.stdout).contains("staticfiles.json"));
    assert!(
        !out.path().join("staticfiles.json").exists(),
        "--check writes nothing"
    );
}

/// A source whose stylesheet refers to a missing image on line 3.
fn broken_source() -> TempDir {
    let src = TempDir::new().unwrap();
    std::fs::create_dir(src.path().join("css")).unwrap();
    std::fs::write(
        src.path().join("css/site.css"),
        "/* url(fine.png) */\nbody { color: red }\nh1 { background: url(../img/missing.png) }\n",
    )
    .unwrap();
    src
}

#[test]
fn a_missing_reference_exits_2_with_one_line() {
    let src = broken_source();
    let out = TempDir::new().unwrap();
    let run = collect_into(src.path(), out.path(), &[]);
    assert_eq!(run.status.code(), Some(2));
    let text = stderr(&run);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains("css/site.css:3:"), "{text}");
    assert!(text.contains("../img/missing.png"), "{text}");
    assert!(!out.path().join("staticfiles.json").exists());
}

#[test]
fn lenient_keeps_the_reference_and_warns() {
    let src = broken_source();
    let out = TempDir::new().unwrap();
    let run = collect_into(src.path(), out.path(), &[flag("--lenient")]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(stderr(&run).contains("warning"), "{}", stderr(&run));
    let manifest = manifest(&out.path().join("staticfiles.json"));
    let css = manifest["paths"]["css/site.css"].as_str().unwrap();
    let text = std::fs::read_to_string(out.path().join(css)).unwrap();
    assert!(text.contains("url(../img/missing.png)"));
}

#[test]
fn duplicates_are_reported_and_the_manifest_can_live_elsewhere() {
    let first = TempDir::new().unwrap();
    std::fs::write(first.path().join("a.txt"), "first").unwrap();
    let second = TempDir::new().unwrap();
    std::fs::write(second.path().join("a.txt"), "second").unwrap();
    let out = TempDir::new().unwrap();
    let elsewhere = TempDir::new().unwrap();
    let manifest_path = elsewhere.path().join("manifest.json");
    let run = collectstatic(&[
        flag("--source"),
        first.path(),
        flag("--source"),
        second.path(),
        flag("--static-root"),
        out.path(),
        flag("--manifest"),
        &manifest_path,
    ]);
    assert!(run.status.success(), "{}", stderr(&run));
    assert!(stderr(&run).contains("duplicate a.txt"), "{}", stderr(&run));
    assert_eq!(std::fs::read(out.path().join("a.txt")).unwrap(), b"first");
    assert!(manifest(&manifest_path)["paths"]["a.txt"].is_string());
    assert!(!out.path().join("staticfiles.json").exists());
}

#[test]
fn bad_flags_exit_2_with_one_line() {
    for args in [
        vec![flag("--nope")],
        vec![flag("--source"), Path::new("/nonexistent/x")],
        vec![
            flag("--source"),
            Path::new("/nonexistent/x"),
            flag("--static-root"),
            Path::new("/tmp/out"),
        ],
    ] {
        let run = collectstatic(&args);
        assert_eq!(run.status.code(), Some(2), "{args:?}");
        assert_eq!(
            stderr(&run).lines().count(),
            1,
            "{args:?}: {}",
            stderr(&run)
        );
    }
}

async fn get(router: axum::Router, path: &str) -> (StatusCode, String, String) {
    let response = router
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        content_type,
        String::from_utf8(body.to_vec()).unwrap(),
    )
}

fn router(args: &[&str]) -> axum::Router {
    let config = Config::from_args(args.iter().map(|s| (*s).to_owned())).unwrap();
    Prepared::new(&config, SocketAddr::from(([127, 0, 0, 1], 8000)))
        .unwrap()
        .router()
}

#[tokio::test]
async fn static_url_answers_hashed_urls_of_the_shipped_assets() {
    let (status, content_type, body) = get(router(&[]), "/static-url/css/app.css").await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("text/plain"));
    assert!(
        body.starts_with("/static/css/app.") && body.ends_with(".css"),
        "{body}"
    );
    assert_eq!(body.len(), "/static/css/app.0123456789ab.css".len());
    let (status, _, _) = get(router(&[]), "/static-url/css/nope.css").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn static_url_reads_the_given_root_and_manifest() {
    let out = TempDir::new().unwrap();
    let elsewhere = TempDir::new().unwrap();
    let manifest_path = elsewhere.path().join("m.json");
    let run = collect_into(&assets(), out.path(), &[flag("--manifest"), &manifest_path]);
    assert!(run.status.success(), "{}", stderr(&run));
    let expected = manifest(&manifest_path)["paths"]["js/app.js"]
        .as_str()
        .unwrap()
        .to_owned();
    let root = out.path().to_str().unwrap();
    let router = router(&[
        "--static-root",
        root,
        "--manifest",
        manifest_path.to_str().unwrap(),
    ]);
    let (status, _, body) = get(router, "/static-url/js/app.js").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, format!("/static/{expected}"));

    // A root without a manifest is a start-up error that names the flag.
    let config = Config::from_args(["--static-root".to_owned(), root.to_owned()]).unwrap();
    let err = Prepared::new(&config, SocketAddr::from(([127, 0, 0, 1], 8000))).unwrap_err();
    assert!(err.starts_with("--static-root"), "{err}");
}
