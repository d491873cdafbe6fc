//! `/cached/{*name}`: `UPSTREAM/name` through a bounded local cache
//! (`--cache-dir`, `--cache-size`).

use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::State;
use axum::routing::{get, MethodRouter};
use axum_download::{Conditions, DownloadName, RemoteCache};

use crate::{Config, Download, Prepared};

/// The cache and where it fetches from.
#[derive(Clone)]
pub(crate) struct CachedFiles {
    cache: RemoteCache,
    upstream: Arc<str>,
    /// The default cache directory, removed when the demo exits.
    _temporary: Option<Arc<tempfile::TempDir>>,
}

/// `--cache-size BYTES`: a whole number of bytes, or with a binary suffix
/// (`512K`, `64M`, `1G`).
pub(crate) fn parse_size(text: &str) -> Result<u64, String> {
    let (digits, unit) = match text.char_indices().last() {
        Some((at, 'K' | 'k')) => (&text[..at], 1 << 10),
        Some((at, 'M' | 'm')) => (&text[..at], 1 << 20),
        Some((at, 'G' | 'g')) => (&text[..at], 1 << 30),
        _ => (text, 1),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(unit))
        .ok_or_else(|| "not a size like 1073741824 or 1G".to_owned())
}

impl Prepared {
    /// Opens the cache of `/cached/`: `--cache-dir`, or a temporary
    /// directory.
    pub async fn with_cache(mut self, config: &Config) -> Result<Self, String> {
        let (dir, temporary): (PathBuf, _) = match &config.cache_dir {
            Some(dir) => (dir.clone(), None),
            None => {
                let temporary = tempfile::Builder::new()
                    .prefix("axum-download-demo-cache.")
                    .tempdir()
                    .map_err(|err| format!("--cache-dir (a temporary directory): {err}"))?;
                (temporary.path().to_path_buf(), Some(Arc::new(temporary)))
            }
        };
        let cache = RemoteCache::builder(&dir)
            .max_size(config.cache_size)
            // The demo's files are public, and its default upstream (its own
            // `/path/`) marks every download `private, no-cache`.
            .store_private(true)
            .open()
            .await
            .map_err(|err| format!("--cache-dir {}: {err}", dir.display()))?;
        self.cache = Some(CachedFiles {
            cache,
            upstream: self.state.upstream.clone(),
            _temporary: temporary,
        });
        Ok(self)
    }
}

/// The route, or 404 when the cache was not opened.
pub(crate) fn route<S: Clone + Send + Sync + 'static>(
    files: Option<CachedFiles>,
) -> MethodRouter<S> {
    match files {
        Some(files) => get(cached_download).with_state(files),
        None => get(|| async { axum::http::StatusCode::NOT_FOUND }),
    }
}

async fn cached_download(
    State(files): State<CachedFiles>,
    conditions: Conditions,
    DownloadName(name): DownloadName,
) -> Download {
    files
        .cache
        .from_base(&*files.upstream, name)
        .forward(&conditions)
        .await
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_with_and_without_suffix() {
        assert_eq!(parse_size("1024"), Ok(1024));
        assert_eq!(parse_size("64M"), Ok(64 << 20));
        assert_eq!(parse_size("1g"), Ok(1 << 30));
        for bad in ["", "G", "-1", "1.5G", "1T", "99999999999999999999G"] {
            assert!(parse_size(bad).is_err(), "{bad:?}");
        }
    }
}
