//! `/archive/{*dir}`: the regular files below `MEDIA_ROOT/dir` as `DIR.zip`.

use axum::extract::State;
use axum_download::{ArchiveDownload, DownloadName};

use crate::{AppState, Download};

/// Confined like `/path/`: a missing or escaping directory answers 404.
pub(crate) async fn archive_download(
    State(state): State<AppState>,
    DownloadName(dir): DownloadName,
) -> Download {
    ArchiveDownload::from_root(state.media_root.as_path(), dir).await
}
