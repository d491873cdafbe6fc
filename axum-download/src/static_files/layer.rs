//! [`StaticFiles`]: a tower layer that answers the static files under its
//! URL prefix and hands every other request to the service it wraps.

use std::borrow::Cow;
use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, PoisonError, RwLock};
use std::task::{Context, Poll};

use axum::body::Body;
use axum::response::Response;
use futures_util::future::BoxFuture;
use http::header::{self, HeaderName};
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode, Uri};
use percent_encoding::percent_decode_str;
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use super::negotiate::Accepted;
use super::table::{Asset, Policy, Table};
use super::{StaticFilesError, StaticManifest, MANIFEST_NAME};
use crate::conditional::Conditions;
use crate::fs::{self, Confinement};
use crate::respond::{finish, finish_with_settings};
use crate::settings::SharedSettings;

/// The `Cache-Control` of names the manifest lists as hashed: their bytes
/// never change under that name, so any cache may keep them for a year
/// without asking again.
///
/// ```
/// # use axum_download::static_files::{StaticFiles, HASHED_CACHE_CONTROL};
/// assert_eq!(HASHED_CACHE_CONTROL, "public, max-age=31536000, immutable");
/// // Shorter, for a CDN that should drop old files sooner:
/// let builder = StaticFiles::collected("static").hashed_cache_control("public, max-age=2592000, immutable");
/// ```
pub const HASHED_CACHE_CONTROL: &str = "public, max-age=31536000, immutable";

/// The `Cache-Control` of every other name (originals, HTML): caches keep
/// them but ask again each time, which the `ETag` makes a cheap 304.
///
/// ```
/// # use axum_download::static_files::UNHASHED_CACHE_CONTROL;
/// assert_eq!(UNHASHED_CACHE_CONTROL, "no-cache");
/// ```
pub const UNHASHED_CACHE_CONTROL: &str = "no-cache";

/// Files up to this size are kept in memory once read, by default.
///
/// ```
/// # use axum_download::static_files::{StaticFiles, DEFAULT_BYTE_CACHE_FILE, DEFAULT_BYTE_CACHE_TOTAL};
/// // Twice the default per file, the default in all:
/// let builder = StaticFiles::collected("static")
///     .byte_cache(2 * DEFAULT_BYTE_CACHE_FILE, DEFAULT_BYTE_CACHE_TOTAL);
/// ```
pub const DEFAULT_BYTE_CACHE_FILE: u64 = 16 * 1024;

/// The most memory the byte cache takes, by default.
///
/// ```
/// # use axum_download::static_files::DEFAULT_BYTE_CACHE_TOTAL;
/// assert_eq!(DEFAULT_BYTE_CACHE_TOTAL, 64 << 20);
/// ```
pub const DEFAULT_BYTE_CACHE_TOTAL: u64 = 64 * 1024 * 1024;

/// The largest file the byte cache may hold: one read of the blocking pool.
const BYTE_CACHE_FILE_LIMIT: u64 = 256 * 1024;

/// Static files as a tower layer: the files of a collected root (or, in
/// development, of the source directories) under a URL prefix, `/static/`
/// by default.
///
/// Under its prefix it answers `GET` and `HEAD` for the names it knows,
/// 404 for any other name, and 405 (with `Allow: GET, HEAD`) for any other
/// method. Every request outside the prefix goes to the wrapped service
/// untouched, and its response comes back untouched: the layer never looks
/// inside the application.
///
/// **What it serves.** [`collected`](Self::collected) builds an in-memory
/// table at start-up from the manifest (`staticfiles.json`, Django's
/// format): every hashed name and every original it lists, with the `.br`,
/// `.zst` and `.gz` sidecars found next to them. Each representation's
/// headers are computed then, once; a request looks its name up, opens the
/// file on the blocking pool (no metadata call) or takes it from the byte
/// cache, and answers. [`development`](Self::development) resolves names
/// in the source directories at each request instead (no collect needed),
/// through the same answering code.
///
/// **Caching, from the manifest.** A name the manifest lists as a hashed
/// copy gets [`HASHED_CACHE_CONTROL`] (`public, max-age=31536000,
/// immutable`); every other name (the originals, HTML) gets
/// [`UNHASHED_CACHE_CONTROL`] (`no-cache`). No file-name pattern decides.
///
/// **Encodings.** With sidecars, `Accept-Encoding` picks the
/// representation: the highest q-value, then the smallest; `q=0` refuses a
/// coding; `identity` is honoured, and when nothing is acceptable identity
/// is sent (RFC 9110 lets a server disregard the header rather than answer
/// 406). Each representation has its own strong `ETag`, and every answer
/// for a name with sidecars carries `Vary: Accept-Encoding`.
///
/// **HTTP.** Conditional requests, single, suffix and multipart ranges,
/// `If-Range` and `HEAD` are answered by the engine the downloads use
/// ([`decide`](crate::rfc9110::decide), [`finish`](crate::rfc9110::finish)); a `HEAD` or a 304
/// never opens the file, and `Content-Disposition` is never sent.
///
/// **Refused.** A name outside the table; `..`, `.` and empty segments;
/// `\`; NUL; a leading `/`; encoded separators (`%2F`, `%5C`); a name that
/// is not UTF-8 once decoded: all 404. In development the name must also
/// stay inside its source directory (symbolic links included).
///
/// ```no_run
/// use axum::{routing::get, Router};
/// use axum_download::static_files::StaticFiles;
///
/// # fn run() -> Result<(), axum_download::static_files::StaticFilesError> {
/// let static_files = StaticFiles::collected("static").build()?;
/// let app: Router = Router::new()
///     .route("/", get(|| async { "home" }))
///     .layer(static_files);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct StaticFiles {
    shared: Arc<Shared>,
}

struct Shared {
    prefix: String,
    policy: Policy,
    source: Source,
    hand_off: Option<SharedSettings>,
}

enum Source {
    Collected {
        root: PathBuf,
        manifest: PathBuf,
        table: RwLock<Table>,
    },
    Development {
        sources: Arc<[PathBuf]>,
    },
}

impl fmt::Debug for StaticFiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("StaticFiles");
        debug.field("prefix", &self.shared.prefix);
        match &self.shared.source {
            Source::Collected { root, manifest, .. } => debug
                .field("root", root)
                .field("manifest", manifest)
                .field("names", &self.len()),
            Source::Development { sources } => debug.field("development", sources),
        };
        debug.finish_non_exhaustive()
    }
}

/// How to build [`StaticFiles`]: from [`StaticFiles::collected`] or
/// [`StaticFiles::development`], then [`build`](Self::build).
///
/// Invalid settings (a header that is not a header, a prefix that is not a
/// path) are recorded and returned by `build`, never a panic.
///
/// ```
/// use axum_download::static_files::StaticFiles;
///
/// let err = StaticFiles::collected("static").prefix("assets").build().unwrap_err();
/// assert_eq!(err.to_string(), "`prefix` must start with `/`, not \"assets\"");
/// ```
#[must_use]
pub struct StaticFilesBuilder {
    source: Wanted,
    prefix: String,
    hashed_cache_control: String,
    unhashed_cache_control: String,
    headers: HeaderMap,
    byte_cache: Option<(u64, u64)>,
    hand_off: Option<SharedSettings>,
    error: Option<StaticFilesError>,
}

enum Wanted {
    Collected {
        root: PathBuf,
        manifest: Option<PathBuf>,
    },
    Development(Vec<PathBuf>),
}

impl fmt::Debug for StaticFilesBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticFilesBuilder")
            .field("prefix", &self.prefix)
            .field("hashed_cache_control", &self.hashed_cache_control)
            .field("unhashed_cache_control", &self.unhashed_cache_control)
            .field("headers", &self.headers)
            .field("byte_cache", &self.byte_cache)
            .finish_non_exhaustive()
    }
}

impl StaticFiles {
    /// The files of a collected root, listed by its manifest
    /// (`ROOT/staticfiles.json` unless [`manifest`](StaticFilesBuilder::manifest)
    /// says otherwise), as `collectstatic` (this crate's or Django's) wrote
    /// them.
    ///
    /// ```
    /// use axum_download::static_files::{Collect, StaticFiles};
    ///
    /// let src = tempfile::tempdir()?;
    /// std::fs::write(src.path().join("app.css"), "body { color: red }")?;
    /// let root = tempfile::tempdir()?;
    /// Collect::new(root.path()).source(src.path()).run()?;
    ///
    /// let static_files = StaticFiles::collected(root.path()).build()?;
    /// assert_eq!(static_files.len(), 2); // app.css and app.<hash>.css
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn collected(root: impl Into<PathBuf>) -> StaticFilesBuilder {
        StaticFilesBuilder::new(Wanted::Collected {
            root: root.into(),
            manifest: None,
        })
    }

    /// Development: the files of the source directories, found at each
    /// request (the first directory that has the name wins, as in a
    /// collect), so an edited file is served at once and nothing needs
    /// collecting. Every name is unhashed (`no-cache`), and no sidecar is
    /// served; errors are those of production.
    ///
    /// ```
    /// use axum_download::static_files::StaticFiles;
    ///
    /// let assets = tempfile::tempdir()?;
    /// let static_files = StaticFiles::development([assets.path()]).build()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn development<I>(sources: I) -> StaticFilesBuilder
    where
        I: IntoIterator,
        I::Item: Into<PathBuf>,
    {
        StaticFilesBuilder::new(Wanted::Development(
            sources.into_iter().map(Into::into).collect(),
        ))
    }

    /// The URL prefix, ending in `/`.
    ///
    /// ```
    /// # use axum_download::static_files::StaticFiles;
    /// # let dir = tempfile::tempdir().unwrap();
    /// let static_files = StaticFiles::development([dir.path()]).prefix("/assets").build().unwrap();
    /// assert_eq!(static_files.prefix(), "/assets/");
    /// ```
    #[must_use]
    pub fn prefix(&self) -> &str {
        &self.shared.prefix
    }

    /// How many names the table answers (hashed names and originals); 0 in
    /// development, where names are found at each request.
    ///
    /// ```
    /// # use axum_download::static_files::StaticFiles;
    /// # let dir = tempfile::tempdir().unwrap();
    /// let static_files = StaticFiles::development([dir.path()]).build().unwrap();
    /// assert!(static_files.is_empty());
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        match &self.shared.source {
            Source::Collected { table, .. } => {
                table.read().unwrap_or_else(PoisonError::into_inner).len()
            }
            Source::Development { .. } => 0,
        }
    }

    /// Whether the table answers no name.
    ///
    /// ```
    /// # use axum_download::static_files::StaticFiles;
    /// # let dir = tempfile::tempdir().unwrap();
    /// # std::fs::write(dir.path().join("staticfiles.json"), r#"{"paths": {}, "version": "1.1"}"#).unwrap();
    /// let static_files = StaticFiles::collected(dir.path()).build().unwrap();
    /// assert!(static_files.is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reads the manifest and the root again and swaps the new table in,
    /// at once for every clone of this layer: a request is answered from the
    /// old table or from the new one, never from a mixture. On an error the
    /// old table stays. Runs on the blocking pool; returns how many names
    /// the new table answers (0 in development, where there is nothing to
    /// reload).
    ///
    /// # Errors
    ///
    /// As [`StaticFilesBuilder::build`]: an unreadable manifest, a listed
    /// hashed file missing.
    ///
    /// ```no_run
    /// # use axum_download::static_files::StaticFiles;
    /// # async fn run(static_files: StaticFiles) {
    /// match static_files.reload().await {
    ///     Ok(names) => eprintln!("static files: {names} names"),
    ///     Err(err) => eprintln!("static files: reload failed, keeping the old ones: {err}"),
    /// }
    /// # }
    /// ```
    pub async fn reload(&self) -> Result<usize, StaticFilesError> {
        let shared = self.shared.clone();
        tokio::task::spawn_blocking(move || shared.reload_blocking())
            .await
            .unwrap_or_else(|err| Err(StaticFilesError::config(format!("reload: {err}"))))
    }

    /// The layer on its own, as a service (an axum fallback, say): names
    /// under the prefix as the layer answers them, 404 for everything else.
    ///
    /// ```
    /// use axum::Router;
    /// use axum_download::static_files::StaticFiles;
    ///
    /// # let dir = tempfile::tempdir().unwrap();
    /// let static_files = StaticFiles::development([dir.path()]).build().unwrap();
    /// let app: Router = Router::new().fallback_service(static_files.service());
    /// ```
    #[must_use]
    pub fn service(&self) -> StaticFilesService<NotFound> {
        self.layer(NotFound)
    }

    /// The answer to a request for `uri`, when the prefix owns it.
    fn answer(&self, method: &Method, uri: &Uri, headers: &HeaderMap) -> Option<Answer> {
        let rest = self.owned(uri.path())?;
        if method != Method::GET && method != Method::HEAD {
            return Some(Answer::Ready(method_not_allowed()));
        }
        let Some(name) = request_name(rest) else {
            return Some(Answer::Ready(not_found(method)));
        };
        let conditions = Conditions::new(method, headers);
        let accepted = Accepted::from_headers(headers);
        match &self.shared.source {
            Source::Collected { table, .. } => {
                let table = table.read().unwrap_or_else(PoisonError::into_inner);
                Some(Answer::Ready(match table.get(&name) {
                    Some(asset) => self.shared.respond(asset, &conditions, &accepted),
                    None => not_found(method),
                }))
            }
            Source::Development { sources } => {
                let shared = self.shared.clone();
                let sources = sources.clone();
                let name = name.into_owned();
                Some(Answer::Later(Box::pin(async move {
                    let plain =
                        if conditions.method() == Method::GET && conditions.is_unconditional() {
                            fs::Prefetch::Small
                        } else {
                            fs::Prefetch::Nothing
                        };
                    let wanted = name.clone();
                    let found =
                        fs::spawn_blocking(move || find_live(&sources, &wanted, plain)).await;
                    match found {
                        Ok(resolved) => {
                            let asset = Asset::live(&shared.policy, &name, resolved);
                            shared.respond(&asset, &conditions, &accepted)
                        }
                        Err(_) => not_found(conditions.method()),
                    }
                })))
            }
        }
    }

    /// The rest of `path` after the prefix, when the prefix owns it (the
    /// prefix without its final `/` is owned too, and answers 404).
    fn owned<'a>(&self, path: &'a str) -> Option<&'a str> {
        let prefix = self.shared.prefix.as_str();
        match path.strip_prefix(prefix) {
            Some(rest) => Some(rest),
            None if path.len() + 1 == prefix.len() && prefix.starts_with(path) => Some(""),
            None => None,
        }
    }
}

impl Shared {
    fn respond(&self, asset: &Asset, conditions: &Conditions, accepted: &Accepted) -> Response {
        let response = asset.choose(accepted).response();
        match &self.hand_off {
            // A name with sidecars stays with the application: the proxy
            // keeps neither `Vary` nor a sidecar's `Content-Encoding`.
            Some(settings) if !asset.negotiated() => {
                finish_with_settings(response, conditions, &settings.load())
            }
            _ => finish(response, conditions),
        }
    }

    fn reload_blocking(&self) -> Result<usize, StaticFilesError> {
        let Source::Collected {
            root,
            manifest,
            table,
        } = &self.source
        else {
            return Ok(0);
        };
        let fresh =
            Table::from_manifest(root, &StaticManifest::from_file(manifest)?, &self.policy)?;
        let names = fresh.len();
        let old = std::mem::replace(
            &mut *table.write().unwrap_or_else(PoisonError::into_inner),
            fresh,
        );
        // Freed after the lock is released.
        drop(old);
        Ok(names)
    }
}

/// The first source directory that has `name`, opened.
fn find_live(
    sources: &[PathBuf],
    name: &str,
    prefetch: fs::Prefetch,
) -> std::io::Result<fs::Resolved> {
    for source in sources {
        if let Ok(resolved) = fs::resolve_blocking(source, name, Confinement::default(), prefetch) {
            return Ok(resolved);
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::NotFound,
        format!("{name:?} is in no source directory"),
    ))
}

/// The decoded name of a request path's rest, `None` when refused.
fn request_name(raw: &str) -> Option<Cow<'_, str>> {
    // `%2F` and `%5C` would make one segment two after the checks a proxy
    // or a cache in front made on the encoded path.
    let encoded_separator = raw.as_bytes().windows(3).any(|w| {
        w[0] == b'%'
            && matches!(
                (w[1], w[2].to_ascii_lowercase()),
                (b'2', b'f') | (b'5', b'c')
            )
    });
    if encoded_separator {
        return None;
    }
    let name = percent_decode_str(raw).decode_utf8().ok()?;
    super::table::is_plain_name(&name).then_some(name)
}

impl StaticFilesBuilder {
    fn new(source: Wanted) -> Self {
        Self {
            source,
            prefix: "/static/".to_owned(),
            hashed_cache_control: HASHED_CACHE_CONTROL.to_owned(),
            unhashed_cache_control: UNHASHED_CACHE_CONTROL.to_owned(),
            headers: HeaderMap::new(),
            byte_cache: Some((DEFAULT_BYTE_CACHE_FILE, DEFAULT_BYTE_CACHE_TOTAL)),
            hand_off: None,
            error: None,
        }
    }

    fn fail(&mut self, error: StaticFilesError) {
        self.error.get_or_insert(error);
    }

    /// Where the manifest is read, when it is not `ROOT/staticfiles.json`
    /// (the manifest can ship with the code while the files live
    /// elsewhere). Collected roots only.
    ///
    /// ```
    /// # use axum_download::static_files::StaticFiles;
    /// let builder = StaticFiles::collected("/srv/static").manifest("deploy/staticfiles.json");
    /// ```
    pub fn manifest(mut self, path: impl Into<PathBuf>) -> Self {
        match &mut self.source {
            Wanted::Collected { manifest, .. } => *manifest = Some(path.into()),
            Wanted::Development(_) => self.fail(StaticFilesError::config(
                "`manifest` applies to collected static files; development reads the sources",
            )),
        }
        self
    }

    /// The URL prefix the files are published under (Django's
    /// `STATIC_URL`), `/static/` by default; a missing final `/` is added.
    ///
    /// ```
    /// # use axum_download::static_files::StaticFiles;
    /// let builder = StaticFiles::collected("static").prefix("/assets/");
    /// ```
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The `Cache-Control` of hashed names, instead of
    /// [`HASHED_CACHE_CONTROL`].
    ///
    /// ```
    /// # use axum_download::static_files::StaticFiles;
    /// let builder = StaticFiles::collected("static").hashed_cache_control("public, max-age=86400");
    /// ```
    pub fn hashed_cache_control(mut self, policy: impl Into<String>) -> Self {
        self.hashed_cache_control = policy.into();
        self
    }

    /// The `Cache-Control` of every name that is not hashed, instead of
    /// [`UNHASHED_CACHE_CONTROL`].
    ///
    /// ```
    /// # use axum_download::static_files::StaticFiles;
    /// let builder = StaticFiles::collected("static").unhashed_cache_control("public, max-age=60");
    /// ```
    pub fn unhashed_cache_control(mut self, policy: impl Into<String>) -> Self {
        self.unhashed_cache_control = policy.into();
        self
    }

    /// A header sent with every file answer (200, 206, 304, 416), over the
    /// computed ones: `Access-Control-Allow-Origin` for fonts, a
    /// `Content-Security-Policy`. Repeat for more values of one header.
    ///
    /// ```
    /// # use axum_download::static_files::StaticFiles;
    /// let builder = StaticFiles::collected("static").header("access-control-allow-origin", "*");
    /// let err = StaticFiles::collected("static").header("bad name", "x").build().unwrap_err();
    /// assert!(err.to_string().starts_with("`header`:"));
    /// ```
    pub fn header<K, V>(mut self, name: K, value: V) -> Self
    where
        K: TryInto<HeaderName>,
        K::Error: fmt::Display,
        V: TryInto<HeaderValue>,
        V::Error: fmt::Display,
    {
        match (name.try_into(), value.try_into()) {
            (Ok(name), Ok(value)) => {
                self.headers.append(name, value);
            }
            (Err(err), _) => self.fail(StaticFilesError::config(format!(
                "`header`: invalid header name: {err}"
            ))),
            (_, Err(err)) => self.fail(StaticFilesError::config(format!(
                "`header`: invalid header value: {err}"
            ))),
        }
        self
    }

    /// Keeps files of up to `max_file` bytes in memory once read, up to
    /// `total` bytes in all (default [`DEFAULT_BYTE_CACHE_FILE`] and
    /// [`DEFAULT_BYTE_CACHE_TOTAL`]; `max_file` is at most 256 KiB).
    /// Collected roots only: in development every request reads the file.
    ///
    /// ```
    /// # use axum_download::static_files::StaticFiles;
    /// let builder = StaticFiles::collected("static").byte_cache(4096, 8 << 20);
    /// ```
    pub fn byte_cache(mut self, max_file: u64, total: u64) -> Self {
        self.byte_cache = Some((max_file.min(BYTE_CACHE_FILE_LIMIT), total));
        self
    }

    /// No byte cache: every request opens its file.
    ///
    /// ```
    /// # use axum_download::static_files::StaticFiles;
    /// let builder = StaticFiles::collected("static").no_byte_cache();
    /// ```
    pub fn no_byte_cache(mut self) -> Self {
        self.byte_cache = None;
        self
    }

    /// Lets the reverse proxy send the files, by the hand-off rules of
    /// `settings` (read at each request: replacing them takes effect at
    /// once), as for downloads: a rule on `source_url` matches the file's
    /// URL (prefix and name), a rule on `source_dir` its path. The
    /// headers are those the application would send. Names with sidecars
    /// are always sent by the application: the proxy would keep neither
    /// their `Vary` nor a sidecar's `Content-Encoding`.
    ///
    /// ```
    /// use axum_download::static_files::StaticFiles;
    /// use axum_download::{DownloadSettings};
    /// use axum_download::offload::{Backend, Rule};
    ///
    /// let settings = DownloadSettings::new(Backend::Nginx)
    ///     .rule(Rule::nginx("/x-accel/static/").source_url("/static/"));
    /// let builder = StaticFiles::collected("/srv/media/static").hand_off(settings);
    /// ```
    pub fn hand_off(mut self, settings: impl Into<SharedSettings>) -> Self {
        self.hand_off = Some(settings.into());
        self
    }

    /// Checks the settings and, for a collected root, reads the manifest
    /// and every file it lists (blocking: call it at start-up, or on the
    /// blocking pool). 10,000 listed files take well under a second.
    ///
    /// # Errors
    ///
    /// An invalid setting (the message names it), a root or source that
    /// is not a directory, an unreadable manifest, a listed name that is
    /// not a plain relative name, a hashed file the manifest lists that is
    /// missing.
    ///
    /// ```
    /// # use axum_download::static_files::StaticFiles;
    /// let err = StaticFiles::collected("/no/such/root").build().unwrap_err();
    /// assert!(err.to_string().starts_with("/no/such/root: "));
    /// ```
    pub fn build(self) -> Result<StaticFiles, StaticFilesError> {
        if let Some(error) = self.error {
            return Err(error);
        }
        let prefix = checked_prefix(self.prefix)?;
        let collected = matches!(self.source, Wanted::Collected { .. });
        let policy = Policy {
            prefix: prefix.clone(),
            hashed_cache_control: cache_control(
                "hashed_cache_control",
                &self.hashed_cache_control,
            )?,
            unhashed_cache_control: cache_control(
                "unhashed_cache_control",
                &self.unhashed_cache_control,
            )?,
            headers: self.headers,
            // In development every request reads the file as it is now.
            byte_cache: self.byte_cache.filter(|_| collected),
        };
        let source = match self.source {
            Wanted::Collected { root, manifest } => {
                let root = directory(&root)?;
                let manifest = manifest.unwrap_or_else(|| root.join(MANIFEST_NAME));
                let table =
                    Table::from_manifest(&root, &StaticManifest::from_file(&manifest)?, &policy)?;
                Source::Collected {
                    root,
                    manifest,
                    table: RwLock::new(table),
                }
            }
            Wanted::Development(sources) => {
                if sources.is_empty() {
                    return Err(StaticFilesError::config(
                        "development needs at least one source directory",
                    ));
                }
                let sources = sources
                    .iter()
                    .map(|source| directory(source))
                    .collect::<Result<_, _>>()?;
                Source::Development { sources }
            }
        };
        Ok(StaticFiles {
            shared: Arc::new(Shared {
                prefix,
                policy,
                source,
                hand_off: self.hand_off,
            }),
        })
    }
}

/// `prefix` with a final `/`, when it is a plain absolute URL path.
fn checked_prefix(mut prefix: String) -> Result<String, StaticFilesError> {
    if !prefix.starts_with('/') {
        return Err(StaticFilesError::config(format!(
            "`prefix` must start with `/`, not {prefix:?}"
        )));
    }
    if prefix.contains(['?', '#', '%', '\\'])
        || prefix.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(StaticFilesError::config(format!(
            "`prefix` must be a plain URL path (no `?`, `#`, `%`, `\\`, spaces or control characters), not {prefix:?}"
        )));
    }
    if !prefix.ends_with('/') {
        prefix.push('/');
    }
    Ok(prefix)
}

fn cache_control(key: &str, policy: &str) -> Result<HeaderValue, StaticFilesError> {
    match HeaderValue::from_str(policy) {
        Ok(value) if !policy.trim().is_empty() => Ok(value),
        _ => Err(StaticFilesError::config(format!(
            "`{key}` must be a non-empty header value, not {policy:?}"
        ))),
    }
}

/// `dir` made absolute, when it is a directory.
fn directory(dir: &Path) -> Result<PathBuf, StaticFilesError> {
    let metadata =
        std::fs::metadata(dir).map_err(|err| StaticFilesError::io("read it", dir, err))?;
    if !metadata.is_dir() {
        return Err(StaticFilesError::config(format!(
            "{}: not a directory",
            dir.display()
        )));
    }
    std::path::absolute(dir).map_err(|err| StaticFilesError::io("make it absolute", dir, err))
}

fn not_found(method: &Method) -> Response {
    plain(method, StatusCode::NOT_FOUND, "404 Not Found\n")
}

fn method_not_allowed() -> Response {
    let mut response = plain(
        &Method::GET,
        StatusCode::METHOD_NOT_ALLOWED,
        "405 Method Not Allowed\n",
    );
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
    response
}

/// A short text answer; `no-cache`, so that a 404 for a file deployed a
/// moment later is not kept by a cache.
fn plain(method: &Method, status: StatusCode, text: &'static str) -> Response {
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        Body::from(text)
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(text.len()));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(UNHASHED_CACHE_CONTROL),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

impl<S> Layer<S> for StaticFiles {
    type Service = StaticFilesService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        StaticFilesService {
            files: self.clone(),
            inner,
        }
    }
}

/// The service of [`StaticFiles`]: static files under the prefix, `S` for
/// everything else.
///
/// ```
/// use axum::{routing::get, Router};
/// use axum_download::static_files::{StaticFiles, StaticFilesService};
/// use tower_layer::Layer;
///
/// # let dir = tempfile::tempdir().unwrap();
/// let static_files = StaticFiles::development([dir.path()]).build().unwrap();
/// let app: Router = Router::new().route("/", get(|| async { "home" }));
/// let service: StaticFilesService<Router> = static_files.layer(app);
/// ```
#[derive(Debug, Clone)]
pub struct StaticFilesService<S> {
    files: StaticFiles,
    inner: S,
}

impl<S, B> Service<Request<B>> for StaticFilesService<S>
where
    S: Service<Request<B>, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let state = match self
            .files
            .answer(request.method(), request.uri(), request.headers())
        {
            None => State::Inner {
                future: self.inner.call(request),
            },
            Some(Answer::Ready(response)) => State::Ready {
                response: Some(response),
            },
            Some(Answer::Later(future)) => State::Later { future },
        };
        ResponseFuture { state }
    }
}

/// An answer of the layer itself.
enum Answer {
    Ready(Response),
    Later(BoxFuture<'static, Response>),
}

pin_project! {
    /// The response future of [`StaticFilesService`].
    ///
    /// ```
    /// use axum_download::static_files::ResponseFuture;
    ///
    /// fn is_send<T: Send>() {}
    /// is_send::<ResponseFuture<std::future::Ready<()>>>();
    /// ```
    pub struct ResponseFuture<F> {
        #[pin]
        state: State<F>,
    }
}

pin_project! {
    #[project = StateProjection]
    enum State<F> {
        Inner { #[pin] future: F },
        Ready { response: Option<Response> },
        Later { future: BoxFuture<'static, Response> },
    }
}

impl<F, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response, E>>,
{
    type Output = Result<Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProjection::Inner { future } => future.poll(cx),
            StateProjection::Ready { response } => {
                Poll::Ready(Ok(response.take().unwrap_or_else(|| {
                    plain(
                        &Method::GET,
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "polled after completion\n",
                    )
                })))
            }
            StateProjection::Later { future } => future.as_mut().poll(cx).map(Ok),
        }
    }
}

/// The inner service of [`StaticFiles::service`]: 404 for every request.
///
/// ```
/// use axum_download::static_files::NotFound;
/// use tower::ServiceExt;
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let response = NotFound.oneshot(http::Request::new(())).await.unwrap();
/// assert_eq!(response.status(), 404);
/// # });
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct NotFound;

impl<B> Service<Request<B>> for NotFound {
    type Response = Response;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        std::future::ready(Ok(not_found(request.method())))
    }
}
