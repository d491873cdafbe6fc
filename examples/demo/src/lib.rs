//! The axum-download reference application: every download kind on one
//! router, as `shared/demo-contract.md` describes.
//!
//! Run with:
//!
//! ```text
//! cargo run --release -p demo -- [--addr 127.0.0.1:8000] [--media-root DIR] [--upstream URL] [--settings FILE]
//!                                 [--static-root DIR] [--manifest FILE] [--cache-dir DIR] [--cache-size BYTES]
//!                                 [--s3 http://HOST:PORT/BUCKET]
//! cargo run --release -p demo -- collectstatic --source DIR --static-root OUT [--manifest FILE] [--lenient]
//! ```
//!
//! `--help` lists the flags; the log goes to stderr, filtered by `RUST_LOG`
//! (see [`access_log`]).

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::extract::{Query, State};
use axum::routing::get;
use axum::Router;
use axum_download::healthcheck::Healthcheck;
use axum_download::offload::{Backend, Rule};
use axum_download::signature::{SignatureLayer, SignedStorage, UrlSigner};
use axum_download::{
    x_accel, x_sendfile, Conditions, DownloadError, DownloadLayer, DownloadName, DownloadObject,
    DownloadResponse, DownloadSettings, FileSystemStorage, HttpDownload, ObjectDownload,
    ObjectFile, OpenFileCache, PathDownload, SharedSettings, Storage, StorageDownload,
    VirtualDownload,
};
use bytes::Bytes;
use serde::Deserialize;

pub mod access_log;
mod archive;
mod cache;
mod s3;
pub mod static_files;

/// What the demo serves, from its command line.
#[derive(Debug, Clone, PartialEq, Eq, clap::Parser)]
#[command(
    name = "demo",
    version,
    // A flag given twice: the last one wins.
    args_override_self = true,
    about = "The axum-download reference application: every download kind on one router.",
    after_help = "Also: demo collectstatic --help\n\
                  Environment: RUST_LOG (default: info), DEMO_SIGNING_KEY (at least 16 bytes; \
                  default: a random key per process)."
)]
pub struct Config {
    /// Where to listen.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8000")]
    pub addr: SocketAddr,
    /// The directory served [default: the demo's shipped media].
    #[arg(long, value_name = "DIR", default_value_os_t = default_media_root(), hide_default_value = true)]
    pub media_root: PathBuf,
    /// Base URL of `/http/` downloads [default: the demo's own `/path/`].
    #[arg(long, value_name = "URL", value_parser = parse_upstream)]
    pub upstream: Option<String>,
    /// A TOML or JSON settings file (backend and hand-off rules), re-read
    /// on SIGHUP [default: `/media/optimized/` URLs handed off to nginx].
    #[arg(long, value_name = "FILE")]
    pub settings: Option<PathBuf>,
    /// Where `/cached/` keeps its files [default: a temporary directory].
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// The most bytes `/cached/` keeps: a number, or with K, M or G [default: 1G].
    #[arg(
        long,
        value_name = "BYTES",
        value_parser = cache::parse_size,
        default_value_t = axum_download::cache::DEFAULT_CACHE_SIZE,
        hide_default_value = true
    )]
    pub cache_size: u64,
    /// A collected static root served at `/static/` [default: the shipped
    /// assets, collected at start-up].
    #[arg(long, value_name = "DIR")]
    pub static_root: Option<PathBuf>,
    /// The manifest, when not `STATIC_ROOT/staticfiles.json`.
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    /// The S3-compatible store behind `/s3/` and `/s3-nginx/`, credentials
    /// from `AWS_*` [default: none, those routes answer 404].
    #[arg(long, value_name = "http://HOST:PORT/BUCKET", value_parser = parse_s3)]
    pub s3: Option<String>,
}

/// The settings used without `--settings`: `/optimized/` downloads (URLs
/// under `/media/optimized/`) are handed off to nginx's `/x-accel/`.
pub fn default_settings() -> DownloadSettings {
    DownloadSettings::new(Backend::Nginx)
        .rule(Rule::nginx("/x-accel/").source_url("/media/optimized/"))
}

/// The media shipped with the demo.
pub fn default_media_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("media")
}

impl Config {
    /// Parses the command line (without the program name); an error is
    /// one line, e.g. for `--help`, the usage.
    pub fn from_args<I>(args: I) -> Result<Self, String>
    where
        I: IntoIterator<Item = String>,
    {
        Self::parse_args(args.into_iter().map(OsString::from)).map_err(|err| one_line(&err))
    }

    /// Parses the command line (without the program name), with clap's
    /// error, which is also how `--help` and `--version` come back.
    pub fn parse_args<I>(args: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = OsString>,
    {
        <Self as clap::Parser>::try_parse_from(std::iter::once(OsString::from("demo")).chain(args))
    }
}

/// clap's message on one line: its text without the usage and the hint.
pub fn one_line(err: &clap::Error) -> String {
    err.to_string()
        .lines()
        .map(str::trim)
        .take_while(|line| !line.starts_with("Usage:") && !line.starts_with("For more information"))
        .filter(|line| !line.is_empty())
        .map(|line| line.strip_prefix("error: ").unwrap_or(line))
        .collect::<Vec<_>>()
        .join("; ")
}

/// `--upstream`: an `http://` or `https://` base, without its trailing `/`.
fn parse_upstream(url: &str) -> Result<String, String> {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err("not an http:// or https:// URL".to_owned());
    }
    Ok(url.trim_end_matches('/').to_owned())
}

/// `--s3`: checked here, connected to at start-up.
fn parse_s3(url: &str) -> Result<String, String> {
    s3::parse(url).map(|_| url.to_owned())
}

/// One entry of `documents.json`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct DocumentEntry {
    slug: String,
    file: String,
    basename: Option<String>,
    mime_type: Option<String>,
    modified: Option<String>,
}

/// A document served by `/object/{slug}`.
#[derive(Clone)]
struct Document {
    storage: Arc<dyn Storage>,
    file: String,
    basename: Option<String>,
    mime_type: Option<String>,
    modified: Option<SystemTime>,
}

impl DownloadObject for Document {
    fn file(&self) -> Option<ObjectFile> {
        Some(ObjectFile {
            storage: self.storage.clone(),
            name: self.file.clone(),
        })
    }

    fn basename(&self) -> Option<String> {
        self.basename.clone()
    }

    fn mime_type(&self) -> Option<String> {
        self.mime_type.clone()
    }

    fn modified(&self) -> Option<SystemTime> {
        self.modified
    }
}

/// Where `/object/` finds its documents.
#[derive(Clone)]
enum Documents {
    /// From `documents.json`.
    Listed(Arc<Vec<(String, Document)>>),
    /// One per regular file at the top of the media root, slug = file name.
    TopLevelFiles,
}

#[derive(Clone)]
struct AppState {
    media_root: Arc<PathBuf>,
    /// Small media files, remembered for a second (nginx's open_file_cache).
    open_files: OpenFileCache,
    storage: Arc<dyn Storage>,
    optimized: Arc<dyn Storage>,
    settings: SharedSettings,
    healthcheck: Arc<Healthcheck>,
    signer: UrlSigner,
    signed: Arc<dyn Storage>,
    documents: Documents,
    upstream: Arc<str>,
    s3: Option<Arc<s3::S3>>,
}

/// Checks the media root and loads `documents.json` when present: the
/// start-up errors the demo reports before listening.
pub struct Prepared {
    state: AppState,
    cache: Option<cache::CachedFiles>,
    statics: static_files::Statics,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("media_root", &self.state.media_root)
            .field("settings", &self.state.settings.load())
            .finish_non_exhaustive()
    }
}

impl Prepared {
    /// Validates `config` for a server reachable at `local_addr`.
    pub fn new(config: &Config, local_addr: SocketAddr) -> Result<Self, String> {
        let given = &config.media_root;
        let meta = std::fs::metadata(given)
            .map_err(|err| format!("--media-root {}: {err}", given.display()))?;
        if !meta.is_dir() {
            return Err(format!("--media-root {}: not a directory", given.display()));
        }
        std::fs::read_dir(given)
            .map_err(|err| format!("--media-root {}: {err}", given.display()))?;
        // X-Sendfile needs the absolute path.
        let root = &given
            .canonicalize()
            .map_err(|err| format!("--media-root {}: {err}", given.display()))?;
        let settings = match &config.settings {
            Some(path) => {
                DownloadSettings::from_file(path).map_err(|err| format!("--settings {err}"))?
            }
            None => default_settings(),
        };
        let storage: Arc<dyn Storage> =
            Arc::new(FileSystemStorage::new(root.clone()).base_url("/media/"));
        let optimized: Arc<dyn Storage> =
            Arc::new(FileSystemStorage::new(root.clone()).base_url("/media/optimized/"));
        let documents = load_documents(root, &storage)?;
        let signer = UrlSigner::new(signing_key()?);
        let signed: Arc<dyn Storage> = Arc::new(SignedStorage::new(
            FileSystemStorage::new(root.clone()).base_url("/signed/"),
            signer.clone(),
            Duration::from_secs(DEFAULT_SIGNATURE_TTL),
        ));
        let s3 = match &config.s3 {
            Some(url) => {
                let address = s3::parse(url).map_err(|err| format!("--s3 {url:?}: {err}"))?;
                Some(Arc::new(s3::connect(&address)?))
            }
            None => None,
        };
        let upstream = config
            .upstream
            .clone()
            .unwrap_or_else(|| format!("http://{local_addr}/path"));
        let settings = SharedSettings::new(settings);
        let statics = static_files::Statics::prepare(config, &settings)?;
        Ok(Self {
            statics,
            state: AppState {
                media_root: Arc::new(root.clone()),
                open_files: OpenFileCache::new(),
                storage,
                optimized: optimized.clone(),
                settings,
                healthcheck: Arc::new(Healthcheck::new(
                    optimized.clone(),
                    HEALTHCHECK_FILE,
                    HEALTHCHECK_CONTENT,
                )),
                signer,
                signed,
                documents,
                upstream: upstream.into(),
                s3,
            },
            cache: None,
        })
    }

    /// The settings the router's layer reads at each request: replace them
    /// to change the rules while serving (the demo does on SIGHUP).
    pub fn settings(&self) -> SharedSettings {
        self.state.settings.clone()
    }

    /// The demo's router: the application inside the static-files layer,
    /// inside the access log.
    pub fn router(self) -> Router {
        let (app, static_files) = self.into_parts();
        app.layer(static_files).layer(access_log::layer())
    }

    /// The application without the static-files layer, and the layer:
    /// `app.layer(static_files)` is [`router`](Self::router).
    pub fn into_parts(self) -> (Router, axum_download::static_files::StaticFiles) {
        let static_files = self.statics.files().clone();
        let layer = DownloadLayer::shared(self.state.settings.clone());
        let app = Router::new()
            .route("/path/{*name}", get(path_download))
            .route("/inline/{*name}", get(inline_download))
            .route("/storage/{*name}", get(storage_download))
            .route("/object/{slug}", get(object_download))
            .route("/http/{*name}", get(http_download))
            .route("/http-nginx/{*name}", get(http_nginx_download))
            .route("/virtual/hello-world.txt", get(virtual_hello))
            .route("/virtual/stream", get(virtual_stream))
            .route("/nginx/{*name}", get(nginx_download))
            .route("/apache/{*name}", get(apache_download))
            .route("/lighttpd/{*name}", get(lighttpd_download))
            .route("/optimized/{*name}", get(optimized_download))
            .route("/healthcheck", get(healthcheck))
            .route(
                "/signed/{*name}",
                get(signed_download).layer(SignatureLayer::new(self.state.signer.clone())),
            )
            .route("/sign/{*name}", get(sign))
            .route("/archive/{*dir}", get(archive::archive_download))
            .route("/cached/{*name}", cache::route(self.cache))
            .route("/s3/{*key}", get(s3::relay))
            .route("/s3-nginx/{*key}", get(s3::nginx))
            .layer(layer)
            .with_state(self.state)
            .merge(self.statics.router());
        (app, static_files)
    }
}

fn load_documents(root: &Path, storage: &Arc<dyn Storage>) -> Result<Documents, String> {
    let path = root.join("documents.json");
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Documents::TopLevelFiles)
        }
        Err(err) => return Err(format!("{}: {err}", path.display())),
    };
    let entries: Vec<DocumentEntry> =
        serde_json::from_str(&text).map_err(|err| format!("{}: {err}", path.display()))?;
    let mut documents = Vec::with_capacity(entries.len());
    for (index, entry) in entries.into_iter().enumerate() {
        let modified = match entry.modified.as_deref() {
            None => None,
            Some(text) => Some(parse_modified(text).map_err(|err| {
                format!(
                    "{}: document {} (\"{}\"): modified {text:?} is not an RFC 3339 time: {err}",
                    path.display(),
                    index + 1,
                    entry.slug
                )
            })?),
        };
        documents.push((
            entry.slug,
            Document {
                storage: storage.clone(),
                file: entry.file,
                basename: entry.basename,
                mime_type: entry.mime_type,
                modified,
            },
        ));
    }
    Ok(Documents::Listed(Arc::new(documents)))
}

/// A `modified` time of `documents.json`: RFC 3339 (`2024-05-01T12:30:00Z`,
/// a real date, an offset), not before 1970 (HTTP dates start there).
fn parse_modified(text: &str) -> Result<SystemTime, String> {
    let time: jiff::Timestamp = text.parse().map_err(|err: jiff::Error| err.to_string())?;
    if time < jiff::Timestamp::UNIX_EPOCH {
        return Err("before 1970".to_owned());
    }
    Ok(SystemTime::from(time))
}

type Download = Result<DownloadResponse, DownloadError>;

/// `name` under the media root, read early for a plain `GET`: what
/// `/path/`, `/inline/` and the hand-off routes serve.
fn media_file(state: &AppState, conditions: &Conditions, name: String) -> PathDownload {
    PathDownload::from_root(state.media_root.as_path(), name)
        .for_request(conditions)
        .cached(&state.open_files)
}

async fn path_download(
    State(state): State<AppState>,
    conditions: Conditions,
    DownloadName(name): DownloadName,
) -> Download {
    media_file(&state, &conditions, name).await
}

async fn inline_download(
    State(state): State<AppState>,
    conditions: Conditions,
    DownloadName(name): DownloadName,
) -> Download {
    Ok(media_file(&state, &conditions, name).await?.inline())
}

async fn storage_download(
    State(state): State<AppState>,
    DownloadName(name): DownloadName,
) -> Download {
    StorageDownload::new(state.storage, name).await
}

async fn object_download(
    State(state): State<AppState>,
    DownloadName(slug): DownloadName,
) -> Download {
    let document = match &state.documents {
        Documents::Listed(list) => list
            .iter()
            .find(|(s, _)| *s == slug)
            .map(|(_, doc)| doc.clone()),
        Documents::TopLevelFiles => Some(Document {
            storage: state.storage.clone(),
            file: slug,
            basename: None,
            mime_type: None,
            modified: None,
        }),
    };
    ObjectDownload::new(document.as_ref()).await
}

async fn http_download(
    State(state): State<AppState>,
    conditions: Conditions,
    DownloadName(name): DownloadName,
) -> Download {
    // `..`, `%2e%2e`, `//host`, `a\b` and friends answer 404 here: the
    // name never leaves the upstream base.
    HttpDownload::from_base(&*state.upstream, name)
        .forward(&conditions)
        .await
}

/// `/http/`, handed to nginx: the upstream's metadata only (`HEAD`), the
/// conditions answered here, then `X-Accel-Redirect: /x-accel-remote/{name}`
/// with the upstream URL, which nginx fetches and streams itself.
async fn http_nginx_download(
    State(state): State<AppState>,
    conditions: Conditions,
    DownloadName(name): DownloadName,
) -> axum::response::Response {
    static REMOTE: std::sync::LazyLock<DownloadSettings> = std::sync::LazyLock::new(|| {
        DownloadSettings::new(Backend::Nginx)
            .rule(Rule::nginx("/x-accel-remote/").remote(true).catch_all(true))
    });
    use axum::response::IntoResponse;
    match HttpDownload::from_base(&*state.upstream, name)
        .metadata_first()
        .forward(&conditions)
        .await
    {
        Ok(download) => axum_download::rfc9110::finish_with_settings(
            download.into_response(),
            &conditions,
            &REMOTE,
        ),
        Err(err) => err.into_response(),
    }
}

/// `X-Accel-Redirect: /x-accel/{name}`: nginx maps `/x-accel/` to the media root.
#[x_accel(destination_url = "/x-accel/")]
async fn nginx_download(
    State(state): State<AppState>,
    conditions: Conditions,
    DownloadName(name): DownloadName,
) -> Download {
    media_file(&state, &conditions, name).await
}

/// `X-Sendfile: {MEDIA_ROOT}/{name}` for Apache's mod_xsendfile.
#[x_sendfile]
async fn apache_download(
    State(state): State<AppState>,
    conditions: Conditions,
    DownloadName(name): DownloadName,
) -> Download {
    media_file(&state, &conditions, name).await
}

/// `X-Sendfile: {MEDIA_ROOT}/{name}` for lighttpd.
#[x_sendfile]
async fn lighttpd_download(
    State(state): State<AppState>,
    conditions: Conditions,
    DownloadName(name): DownloadName,
) -> Download {
    media_file(&state, &conditions, name).await
}

/// A plain storage download: the global settings hand it off, because the
/// storage publishes it under `/media/optimized/`.
async fn optimized_download(
    State(state): State<AppState>,
    DownloadName(name): DownloadName,
) -> Download {
    StorageDownload::new(state.optimized, name).await
}

/// The file `/healthcheck` serves, from the `/optimized/` storage.
pub const HEALTHCHECK_FILE: &str = "healthcheck.txt";
/// What it must hold.
pub const HEALTHCHECK_CONTENT: &str = "axum-download healthcheck\n";

/// The whole chain: 503 if the storage cannot give the file; otherwise the
/// file, handed off like `/optimized/` (so through nginx the bytes come
/// from nginx).
async fn healthcheck(State(state): State<AppState>) -> axum::response::Response {
    state.healthcheck.respond().await
}

/// How long `/sign/` URLs stay valid without `?expires=`.
const DEFAULT_SIGNATURE_TTL: u64 = 3600;

/// The signing key: `DEMO_SIGNING_KEY` when set, else 32 random bytes for
/// this process (signed URLs then die with it).
fn signing_key() -> Result<Vec<u8>, String> {
    if let Some(key) = std::env::var_os("DEMO_SIGNING_KEY") {
        let key = key.into_encoded_bytes();
        if key.len() < 16 {
            return Err("DEMO_SIGNING_KEY must be at least 16 bytes".to_owned());
        }
        return Ok(key);
    }
    let mut key = vec![0u8; 32];
    getrandom::fill(&mut key)
        .map_err(|err| format!("no random signing key ({err}); set DEMO_SIGNING_KEY"))?;
    Ok(key)
}

/// `/storage/`, behind `SignatureLayer`: 403 without a valid signature.
async fn signed_download(
    State(state): State<AppState>,
    DownloadName(name): DownloadName,
) -> Download {
    StorageDownload::new(state.signed, name).await
}

#[derive(Debug, Deserialize)]
struct SignQuery {
    expires: Option<u64>,
}

/// The signed URL of `/signed/{name}`, as text, absolute when the request
/// says which host it reached.
async fn sign(
    State(state): State<AppState>,
    DownloadName(name): DownloadName,
    Query(query): Query<SignQuery>,
    headers: axum::http::HeaderMap,
) -> ([(axum::http::HeaderName, &'static str); 1], String) {
    let ttl = Duration::from_secs(query.expires.unwrap_or(DEFAULT_SIGNATURE_TTL));
    let path = state.signer.sign_path(&format!("/signed/{name}"), ttl);
    let url = match headers
        .get(axum::http::header::HOST)
        .and_then(|h| h.to_str().ok())
    {
        Some(host) => format!("http://{host}{path}"),
        None => path,
    };
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; charset=utf-8",
        )],
        url,
    )
}

async fn virtual_hello() -> DownloadResponse {
    VirtualDownload::text("hello-world.txt", "Hello world!\n")
}

#[derive(Debug, Deserialize)]
struct StreamQuery {
    size: Option<u64>,
}

/// Bytes per generated chunk.
const STREAM_CHUNK: u64 = 64 * 1024;

async fn virtual_stream(Query(query): Query<StreamQuery>) -> DownloadResponse {
    let size = query.size.unwrap_or(0);
    // Chunks always start at a multiple of 10, so each is a slice of one pattern.
    let pattern: Bytes = "0123456789".repeat((STREAM_CHUNK / 10) as usize).into();
    let step = pattern.len() as u64;
    let chunks = futures_util::stream::iter((0..size.div_ceil(step)).map(move |i| {
        let len = (size - i * step).min(step) as usize;
        Ok::<Bytes, std::convert::Infallible>(pattern.slice(..len))
    }));
    VirtualDownload::stream("stream.bin", chunks)
}

/// Re-reads the `--settings` file into `shared`: one line saying what
/// changed, or (the error) why the old settings stay.
pub fn reload_settings(config: &Config, shared: &SharedSettings) -> Result<String, String> {
    let Some(path) = &config.settings else {
        return Ok("settings: no --settings file, nothing to reload".to_owned());
    };
    let failed = |err: &dyn std::fmt::Display| {
        format!("settings: reload failed, keeping the old ones: {err}")
    };
    let loaded = DownloadSettings::from_file(path).map_err(|err| failed(&err))?;
    let summary =
        |s: &DownloadSettings| format!("backend {}, {} rule(s)", s.backend, s.rules.len());
    let new = summary(&loaded);
    let old = shared.replace(loaded).map_err(|err| failed(&err))?;
    Ok(if *old == *shared.load() {
        format!("settings: reloaded {}, unchanged ({new})", path.display())
    } else {
        format!(
            "settings: reloaded {}: {} -> {new}",
            path.display(),
            summary(&old)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Config, String> {
        Config::from_args(list.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn defaults() {
        let config = args(&[]).unwrap();
        assert_eq!(config.addr, SocketAddr::from(([127, 0, 0, 1], 8000)));
        assert_eq!(config.media_root, default_media_root());
        assert_eq!(config.upstream, None);
    }

    #[test]
    fn flags_with_space_or_equals() {
        let config = args(&[
            "--addr",
            "127.0.0.1:9",
            "--media-root=/tmp",
            "--upstream",
            "http://h/x/",
        ])
        .unwrap();
        assert_eq!(config.addr.port(), 9);
        assert_eq!(config.media_root, PathBuf::from("/tmp"));
        assert_eq!(config.upstream.as_deref(), Some("http://h/x"));
    }

    #[test]
    fn bad_flags_are_errors() {
        let unknown = args(&["--nope"]).unwrap_err();
        assert!(unknown.contains("'--nope'"), "{unknown}");
        assert!(!unknown.contains('\n'), "{unknown}");
        assert!(args(&["--addr"]).unwrap_err().contains("--addr"));
        assert!(args(&["--addr", "here"]).unwrap_err().contains("'here'"));
        let upstream = args(&["--upstream", "ftp://x"]).unwrap_err();
        assert!(upstream.contains("--upstream"), "{upstream}");
        assert!(
            upstream.contains("not an http:// or https:// URL"),
            "{upstream}"
        );
        assert!(args(&["--cache-size", "1T"])
            .unwrap_err()
            .contains("--cache-size"));
        assert!(args(&["--s3", "ftp://x/b"])
            .unwrap_err()
            .contains("not a URL"));
    }

    #[test]
    fn the_last_of_a_repeated_flag_wins() {
        let config = args(&["--addr", "127.0.0.1:1", "--addr=127.0.0.1:2"]).unwrap();
        assert_eq!(config.addr.port(), 2);
    }

    #[test]
    fn cache_size_with_suffix() {
        assert_eq!(args(&["--cache-size=64M"]).unwrap().cache_size, 64 << 20);
    }

    fn secs(text: &str) -> Result<u64, String> {
        parse_modified(text).map(|t| t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs())
    }

    #[test]
    fn modified_utc() {
        assert_eq!(secs("2023-11-14T22:13:20Z"), Ok(1_700_000_000));
    }

    #[test]
    fn modified_offset_and_fraction() {
        assert_eq!(secs("2023-11-15T00:13:20.5+02:00"), Ok(1_700_000_000));
    }

    #[test]
    fn modified_malformed() {
        for bad in [
            "",
            "2023-11-14",
            "2023-13-01T00:00:00Z",
            "2023-02-31T00:00:00Z",
            "2023-11-14T22:13:20",
            "abcd-11-14T22:13:20Z",
            "14/11/2023 22:13",
            "1969-12-31T23:59:59Z",
        ] {
            assert!(parse_modified(bad).is_err(), "{bad}");
        }
    }
}
