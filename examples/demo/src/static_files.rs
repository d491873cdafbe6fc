//! The demo's static files: `demo collectstatic ...`, `/static/` (the
//! `StaticFiles` layer around the whole application), `/static-url/` and
//! the `/` page.
//!
//! Without `--static-root` the demo collects its shipped assets
//! (`examples/demo/assets/`) into a temporary directory at start-up.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use axum_download::static_files::{Collect, StaticFiles, StaticUrls, MANIFEST_NAME};
use axum_download::SharedSettings;

use crate::Config;

/// `demo collectstatic ...`: the `collectstatic` command of
/// `axum-download-cli`, same flags, same exit statuses.
pub fn collectstatic(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    axum_download_cli::run("demo collectstatic", args)
}

/// The assets shipped with the demo.
pub fn default_assets() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets")
}

/// The collected static files the demo serves.
#[derive(Debug, Clone)]
pub struct Statics {
    urls: StaticUrls,
    /// The collected root: `--static-root`, or the temporary collect.
    root: PathBuf,
    /// `/static/`, answered from the table built from the manifest.
    files: StaticFiles,
    /// The `/` page's template.
    pages: Arc<minijinja::Environment<'static>>,
    /// Keeps the temporary collect alive as long as the router.
    _temp: Option<Arc<tempfile::TempDir>>,
}

impl Statics {
    /// Reads the manifest of `--static-root` (or `--manifest`); without
    /// `--static-root`, collects the shipped assets first. `settings` are
    /// the demo's hand-off rules: a rule matching `/static/` URLs or the
    /// root's directory lets the proxy send the files.
    pub fn prepare(config: &Config, settings: &SharedSettings) -> Result<Self, String> {
        let (root, temp) = match &config.static_root {
            Some(root) => {
                if !root.is_dir() {
                    return Err(format!("--static-root {}: not a directory", root.display()));
                }
                (root.clone(), None)
            }
            None => {
                let temp = tempfile::Builder::new()
                    .prefix("demo-static-")
                    .tempdir()
                    .map_err(|err| format!("a temporary static root: {err}"))?;
                let mut collect = Collect::new(temp.path()).source(default_assets());
                if let Some(manifest) = &config.manifest {
                    collect = collect.manifest_path(manifest);
                }
                collect
                    .run()
                    .map_err(|err| format!("collecting {}: {err}", default_assets().display()))?;
                (temp.path().to_path_buf(), Some(Arc::new(temp)))
            }
        };
        let manifest = config
            .manifest
            .clone()
            .unwrap_or_else(|| root.join(MANIFEST_NAME));
        let flag = if config.manifest.is_some() {
            "--manifest"
        } else {
            "--static-root"
        };
        let urls =
            StaticUrls::from_manifest_file(&manifest).map_err(|err| format!("{flag}: {err}"))?;
        let files = StaticFiles::collected(&root)
            .manifest(&manifest)
            .hand_off(settings.clone())
            .build()
            .map_err(|err| format!("{flag}: {err}"))?;
        let pages = Arc::new(pages(&urls, files.prefix())?);
        Ok(Self {
            urls,
            root,
            files,
            pages,
            _temp: temp,
        })
    }

    /// The `/static/` layer.
    pub fn files(&self) -> &StaticFiles {
        &self.files
    }

    /// The collected root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The URLs through the manifest.
    pub fn urls(&self) -> &StaticUrls {
        &self.urls
    }

    /// `/static-url/{*name}` and `/`.
    pub fn router(self) -> Router {
        Router::new()
            .route("/static-url/{*name}", get(static_url))
            .route("/", get(index))
            .with_state(Arc::new(self))
    }
}

/// The template environment of the demo's pages: `static(name)` is the
/// hashed URL of a static file, `integrity(name)` its Subresource
/// Integrity value; a name the manifest does not list fails the page.
fn pages(urls: &StaticUrls, prefix: &str) -> Result<minijinja::Environment<'static>, String> {
    fn failed(err: impl std::fmt::Display) -> minijinja::Error {
        minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, err.to_string())
    }
    let mut env = minijinja::Environment::new();
    env.add_template("index.html", include_str!("../templates/index.html"))
        .map_err(|err| format!("templates/index.html: {err}"))?;
    let base = urls.clone().base_url(prefix);
    let for_urls = base.clone();
    // Both values are safe in an attribute as they are (a percent-encoded
    // URL, `sha384-` and base64): not HTML-escaped, so `/` stays `/`.
    env.add_function("static", move |name: &str| {
        for_urls
            .url(name)
            .map(minijinja::Value::from_safe_string)
            .map_err(failed)
    });
    env.add_function("integrity", move |name: &str| {
        match base.integrity(name).map_err(failed)? {
            Some(integrity) => Ok(minijinja::Value::from_safe_string(integrity.to_owned())),
            None => Err(failed(format!(
                "the manifest records no integrity for {name:?}"
            ))),
        }
    });
    env.add_global("prefix", prefix.to_owned());
    Ok(env)
}

/// `/`: the page linking the stylesheet and the script through the
/// manifest. `no-cache`: the next deploy's hashed names must reach the
/// browser.
async fn index(State(statics): State<Arc<Statics>>) -> Response {
    let page = statics
        .pages
        .get_template("index.html")
        .and_then(|template| template.render(()));
    match page {
        Ok(html) => (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            html,
        )
            .into_response(),
        Err(err) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the page could not be rendered: {err}\n"),
        )
            .into_response(),
    }
}

/// The URL of `name` through the manifest, as `text/plain`; 404 for a name
/// the manifest does not list.
async fn static_url(
    State(statics): State<Arc<Statics>>,
    axum_download::DownloadName(name): axum_download::DownloadName,
) -> Response {
    match statics.urls.url(&name) {
        Ok(url) => ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], url).into_response(),
        Err(err) => (StatusCode::NOT_FOUND, format!("{err}\n")).into_response(),
    }
}
