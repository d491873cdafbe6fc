//! The demo's static files: `demo collectstatic ...` and `/static-url/`.
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
use axum_download::static_files::{Collect, StaticUrls, MANIFEST_NAME};

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
    /// Keeps the temporary collect alive as long as the router.
    _temp: Option<Arc<tempfile::TempDir>>,
}

impl Statics {
    /// Reads the manifest of `--static-root` (or `--manifest`); without
    /// `--static-root`, collects the shipped assets first.
    pub fn prepare(config: &Config) -> Result<Self, String> {
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
        let urls = StaticUrls::from_manifest_file(&manifest).map_err(|err| {
            let flag = if config.manifest.is_some() {
                "--manifest"
            } else {
                "--static-root"
            };
            format!("{flag}: {err}")
        })?;
        Ok(Self {
            urls,
            root,
            _temp: temp,
        })
    }

    /// The collected root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The URLs through the manifest.
    pub fn urls(&self) -> &StaticUrls {
        &self.urls
    }

    /// `/static-url/{*name}`.
    pub fn router(self) -> Router {
        Router::new()
            .route("/static-url/{*name}", get(static_url))
            .with_state(Arc::new(self))
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
