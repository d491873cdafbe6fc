//! Static files with hashed names and a Django-compatible manifest.
//!
//! Django's `ManifestStaticFilesStorage` gives every static file a
//! cache-busting name (`app.css` → `app.3f2a1b4c5d6e.css`) and records the
//! mapping in `staticfiles.json`. This module reads and writes that
//! manifest, so an application can look URLs up at run time
//! ([`StaticUrls`], feature `static-files`) and a deploy step can produce
//! the files ([`Collect`], feature `collect`, also installable as the
//! `collectstatic` command of the `axum-download-cli` crate). Either side
//! can be Django: a manifest written here is read by Django's storage, and
//! a manifest written by Django is read here.
//!
//! ```
//! use axum_download::static_files::{StaticManifest, StaticUrls};
//!
//! let manifest = StaticManifest::from_json(
//!     r#"{"paths": {"js/app.js": "js/app.5e1c2d3a4b6f.js"}, "version": "1.1", "hash": "0123456789ab"}"#,
//! )?;
//! let urls = StaticUrls::new(manifest);
//! assert_eq!(urls.url("js/app.js")?, "/static/js/app.5e1c2d3a4b6f.js");
//! # Ok::<(), axum_download::static_files::StaticFilesError>(())
//! ```
//!
//! What the collect step understands in stylesheets and scripts, what it
//! leaves alone, and how it orders its work is described on [`Collect`].
//!
//! [`StaticFiles`] serves the collected root: a tower layer around the
//! whole application that answers the names under its prefix from an
//! in-memory table built from the manifest (sidecars negotiated, caching
//! decided by the manifest, conditionals and ranges by the download
//! engine) and passes every other request through untouched.

#[cfg(feature = "collect")]
mod collect;
#[cfg(feature = "collect")]
mod compress;
mod error;
mod layer;
mod lookup;
mod manifest;
#[cfg(feature = "collect")]
mod naming;
mod negotiate;
#[cfg(feature = "collect")]
mod rewrite;
mod table;
#[cfg(feature = "collect")]
mod write;

#[cfg(feature = "collect")]
pub use collect::{Collect, CollectReport, Duplicate, Progress};
pub use error::StaticFilesError;
pub use layer::{
    NotFound, ResponseFuture, StaticFiles, StaticFilesBuilder, StaticFilesService,
    DEFAULT_BYTE_CACHE_FILE, DEFAULT_BYTE_CACHE_TOTAL, HASHED_CACHE_CONTROL,
    UNHASHED_CACHE_CONTROL,
};
pub use lookup::StaticUrls;
pub use manifest::{Encoding, ManifestEntry, StaticManifest, MANIFEST_NAME, MANIFEST_VERSION};
