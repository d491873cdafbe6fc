//! The collect step: source directories → a static root with hashed
//! copies, rewritten references, precompressed sidecars and the manifest.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use md5::{Digest as _, Md5};
use rayon::prelude::*;
use sha2::Sha384;

use super::compress::{compress, is_compressible};
use super::manifest::{short_hex, MANIFEST_NAME};
use super::naming::hashed_name;
use super::rewrite::{self, RefKind, Reference, Syntax, Target};
use super::write::{holds, write_if_changed};
use super::{Encoding, ManifestEntry, StaticFilesError, StaticManifest};

/// Collects static files, the way Django's `collectstatic` does with
/// `ManifestStaticFilesStorage`, in one pass.
///
/// Every file of the source directories is copied into the static root
/// (the first source wins on a duplicate name; each duplicate is listed in
/// the report) along with a hashed copy `name.<12 hex of MD5>.ext`, named
/// exactly as Django names it. In `*.css` and `*.js` (`.mjs`, `.cjs`)
/// files, references to other collected files are rewritten to their
/// hashed names before hashing: CSS `url()` and `@import`, JavaScript
/// `import`/`export ... from`/`import("...")`, and `sourceMappingURL` in
/// both. Files are processed in dependency order, so a changed image
/// renames every stylesheet that uses it; files that refer to each other
/// in a cycle share one hash. Text files also get `.br`, `.zst` and `.gz`
/// sidecars when those are smaller. The manifest (`staticfiles.json`, in
/// Django's format) is written last.
///
/// Output is deterministic, files whose bytes are already right are not
/// written again, and every write is a temporary file renamed into place.
///
/// ```
/// use axum_download::static_files::Collect;
///
/// let src = tempfile::tempdir()?;
/// std::fs::create_dir(src.path().join("css"))?;
/// std::fs::write(src.path().join("css/app.css"), "body { background: url(bg.png) }")?;
/// std::fs::write(src.path().join("css/bg.png"), b"\x89PNG")?;
/// let root = tempfile::tempdir()?;
///
/// let report = Collect::new(root.path()).source(src.path()).run()?;
/// let hashed = report.manifest.hashed_name("css/app.css").unwrap();
/// let css = std::fs::read_to_string(root.path().join(hashed))?;
/// let bg = report.manifest.hashed_name("css/bg.png").unwrap();
/// assert_eq!(css, format!("body {{ background: url({}) }}", &bg[4..]));
/// assert!(root.path().join("staticfiles.json").exists());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
#[must_use]
pub struct Collect {
    sources: Vec<PathBuf>,
    static_root: PathBuf,
    manifest: Option<PathBuf>,
    static_url: String,
    lenient: bool,
    strict_source_maps: bool,
    compress: bool,
    progress: Option<ProgressFn>,
}

impl fmt::Debug for Collect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Collect")
            .field("sources", &self.sources)
            .field("static_root", &self.static_root)
            .field("manifest", &self.manifest)
            .field("static_url", &self.static_url)
            .field("lenient", &self.lenient)
            .field("strict_source_maps", &self.strict_source_maps)
            .field("compress", &self.compress)
            .finish_non_exhaustive()
    }
}

/// The observer of [`Collect::on_progress`].
type ProgressFn = Arc<dyn Fn(&Progress) + Send + Sync>;

/// How far a collect is, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// Files done.
    pub files: u64,
    /// Files to do in all.
    pub total_files: u64,
    /// Bytes of source files done.
    pub bytes: u64,
    /// Bytes of source files in all.
    pub total_bytes: u64,
}

/// A file name found in more than one source directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    /// The logical name, e.g. `css/app.css`.
    pub name: String,
    /// The file collected (from the earlier source).
    pub kept: PathBuf,
    /// The file ignored.
    pub shadowed: PathBuf,
}

/// What a collect did, or in [`Collect::check`] would do.
#[derive(Debug)]
#[non_exhaustive]
pub struct CollectReport {
    /// Source files collected.
    pub files: usize,
    /// Their size in bytes.
    pub bytes: u64,
    /// Output files written, removed (stale sidecars) or, when checking,
    /// that would be; sorted.
    pub changed: Vec<PathBuf>,
    /// Output files that already held the right bytes.
    pub unchanged: usize,
    /// Names found in more than one source.
    pub duplicates: Vec<Duplicate>,
    /// References kept as written because their target is missing (lenient
    /// mode, source maps), one line each.
    pub warnings: Vec<String>,
    /// The manifest written.
    pub manifest: StaticManifest,
    /// Where the manifest is.
    pub manifest_path: PathBuf,
}

impl Collect {
    /// A collect into `static_root`; add sources with
    /// [`source`](Self::source).
    pub fn new(static_root: impl Into<PathBuf>) -> Self {
        Self {
            sources: Vec::new(),
            static_root: static_root.into(),
            manifest: None,
            static_url: "/static/".to_owned(),
            lenient: false,
            strict_source_maps: false,
            compress: true,
            progress: None,
        }
    }

    /// Adds a source directory; earlier ones win on a duplicate name.
    pub fn source(mut self, dir: impl Into<PathBuf>) -> Self {
        self.sources.push(dir.into());
        self
    }

    /// Writes the manifest to `path` instead of `STATIC_ROOT/staticfiles.json`.
    pub fn manifest_path(mut self, path: impl Into<PathBuf>) -> Self {
        self.manifest = Some(path.into());
        self
    }

    /// The URL the static root is published under (Django's `STATIC_URL`,
    /// default `/static/`): references to absolute paths under it are
    /// static files too; other absolute paths are left alone.
    pub fn static_url(mut self, url: impl Into<String>) -> Self {
        self.static_url = url.into();
        if !self.static_url.ends_with('/') {
            self.static_url.push('/');
        }
        self
    }

    /// Keeps a reference to a missing file as written, with a warning,
    /// instead of failing.
    pub fn lenient(mut self) -> Self {
        self.lenient = true;
        self
    }

    /// Fails on a missing source map too (by default it is a warning: a
    /// minifier's leftover comment should not stop a deploy).
    pub fn strict_source_maps(mut self) -> Self {
        self.strict_source_maps = true;
        self
    }

    /// Whether to write `.br`, `.zst` and `.gz` sidecars (default: yes).
    pub fn compress(mut self, compress: bool) -> Self {
        self.compress = compress;
        self
    }

    /// Calls `f` as files are done (from several threads).
    ///
    /// ```
    /// # use axum_download::static_files::Collect;
    /// let collect = Collect::new("static").on_progress(|p| eprint!("\r{}/{}", p.files, p.total_files));
    /// ```
    pub fn on_progress(mut self, f: impl Fn(&Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(f));
        self
    }

    /// Collects.
    ///
    /// # Errors
    ///
    /// A missing or unreadable source, a static root inside a source (or
    /// the reverse), a file name that is not UTF-8, a reference to a file
    /// that is not collected (unless lenient), a failed write.
    pub fn run(&self) -> Result<CollectReport, StaticFilesError> {
        self.execute(false)
    }

    /// Computes everything and writes nothing: the report's
    /// [`changed`](CollectReport::changed) lists what [`run`](Self::run)
    /// would write or remove, empty when the static root is up to date.
    ///
    /// # Errors
    ///
    /// As [`run`](Self::run), but for writes.
    ///
    /// ```
    /// # use axum_download::static_files::Collect;
    /// let src = tempfile::tempdir()?;
    /// std::fs::write(src.path().join("a.txt"), "a")?;
    /// let root = tempfile::tempdir()?;
    /// let collect = Collect::new(root.path()).source(src.path());
    /// assert!(!collect.check()?.changed.is_empty());
    /// collect.run()?;
    /// assert!(collect.check()?.changed.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check(&self) -> Result<CollectReport, StaticFilesError> {
        self.execute(true)
    }

    fn execute(&self, check: bool) -> Result<CollectReport, StaticFilesError> {
        self.validate()?;
        let (files, duplicates) = discover(&self.sources)?;
        let sink = Sink {
            root: self.static_root.clone(),
            check,
            compress: self.compress,
            changed: Mutex::new(Vec::new()),
            unchanged: AtomicUsize::new(0),
        };
        let tracker = Tracker {
            progress: self.progress.clone(),
            files: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            total_files: files.len() as u64,
            total_bytes: files.iter().map(|f| f.size).sum(),
        };
        let (texts, plain): (Vec<&SourceFile>, Vec<&SourceFile>) =
            files.iter().partition(|f| Syntax::of(&f.logical).is_some());

        let mut outputs: HashMap<String, Output> = plain
            .par_iter()
            .map(|file| {
                let bytes = read(&file.path)?;
                let output = sink.emit(&file.logical, &bytes, &bytes, None)?;
                tracker.done(file.size);
                Ok((file.logical.clone(), output))
            })
            .collect::<Result<_, StaticFilesError>>()?;

        let names: HashMap<&str, usize> = files
            .iter()
            .enumerate()
            .map(|(i, f)| (f.logical.as_str(), i))
            .collect();
        let parsed: Vec<Parsed> = texts
            .par_iter()
            .map(|file| self.parse(file, &names))
            .collect::<Result<_, _>>()?;
        let mut warnings: Vec<String> = Vec::new();
        for file in &parsed {
            for missing in &file.missing {
                let error = StaticFilesError::missing_reference(
                    &file.file.path,
                    missing.line,
                    &missing.url,
                );
                if !missing.tolerated {
                    return Err(error);
                }
                warnings.push(format!("{error}; kept as written"));
            }
        }

        let order = dependency_levels(&parsed);
        for level in order {
            let done: Vec<(String, Output)> = level
                .par_iter()
                .map(|members| {
                    let done = process_component(members, &parsed, &outputs, &sink)?;
                    for &m in members {
                        tracker.done(parsed[m].file.size);
                    }
                    Ok(done)
                })
                .collect::<Result<Vec<_>, StaticFilesError>>()?
                .into_iter()
                .flatten()
                .collect();
            outputs.extend(done);
        }

        let manifest = StaticManifest::new(files.iter().filter_map(|f| {
            let out = outputs.remove(&f.logical)?;
            Some(
                ManifestEntry::new(f.logical.clone(), out.hashed)
                    .with_integrity(out.integrity)
                    .with_encodings(out.encodings),
            )
        }));
        let manifest_path = self
            .manifest
            .clone()
            .unwrap_or_else(|| self.static_root.join(MANIFEST_NAME));
        // Last, so the manifest never names a file not yet written.
        sink.put(&manifest_path, manifest.to_json().as_bytes())?;

        let mut changed = sink.changed.into_inner().unwrap_or_else(|e| e.into_inner());
        changed.sort();
        Ok(CollectReport {
            files: files.len(),
            bytes: tracker.total_bytes,
            changed,
            unchanged: sink.unchanged.into_inner(),
            duplicates,
            warnings,
            manifest,
            manifest_path,
        })
    }

    fn validate(&self) -> Result<(), StaticFilesError> {
        if self.sources.is_empty() {
            return Err(StaticFilesError::config(
                "no source directory given: add at least one source",
            ));
        }
        let root = absolute(&self.static_root);
        for source in &self.sources {
            let meta = std::fs::metadata(source)
                .map_err(|err| StaticFilesError::io("read it", source, err))?;
            if !meta.is_dir() {
                return Err(StaticFilesError::config(format!(
                    "source {}: not a directory",
                    source.display()
                )));
            }
            let source_abs = absolute(source);
            if root.starts_with(&source_abs) || source_abs.starts_with(&root) {
                return Err(StaticFilesError::config(format!(
                    "the static root {} and the source {} overlap: the collect would read its own output",
                    self.static_root.display(),
                    source.display()
                )));
            }
        }
        Ok(())
    }

    /// Reads and scans a stylesheet or script, and resolves its references.
    fn parse(
        &self,
        file: &SourceFile,
        names: &HashMap<&str, usize>,
    ) -> Result<Parsed, StaticFilesError> {
        let bytes = read(&file.path)?;
        let syntax = Syntax::of(&file.logical).unwrap_or(Syntax::Css);
        let mut refs = Vec::new();
        let mut missing = Vec::new();
        for reference in syntax.scan(&bytes) {
            let url = String::from_utf8_lossy(&bytes[reference.start..reference.end]);
            let url = url.trim();
            let target = rewrite::resolve(&file.logical, url, &self.static_url, reference.kind);
            let (logical, path_end) = match target {
                Target::External => continue,
                Target::File { logical, path_end } if names.contains_key(logical.as_str()) => {
                    (logical, path_end)
                }
                Target::File { .. } | Target::Outside => {
                    let line = rewrite::line_of(&bytes, reference.start);
                    missing.push(Missing {
                        line,
                        url: url.to_owned(),
                        tolerated: self.lenient
                            || (reference.kind == RefKind::SourceMap && !self.strict_source_maps),
                    });
                    continue;
                }
            };
            // Trimmed URLs keep their leading blanks out of the edit.
            let lead = bytes[reference.start..reference.end]
                .iter()
                .take_while(|b| b.is_ascii_whitespace())
                .count();
            let edit = Reference {
                start: reference.start + lead,
                end: reference.start + lead + url.len(),
                kind: reference.kind,
            };
            refs.push(Resolved {
                reference: edit,
                url: url.to_owned(),
                target: logical,
                path_end,
            });
        }
        Ok(Parsed {
            file: file.clone(),
            bytes,
            refs,
            missing,
        })
    }
}

/// A file of a source directory.
#[derive(Debug, Clone)]
struct SourceFile {
    logical: String,
    path: PathBuf,
    size: u64,
}

/// A stylesheet or script with its resolved references.
struct Parsed {
    file: SourceFile,
    bytes: Vec<u8>,
    refs: Vec<Resolved>,
    missing: Vec<Missing>,
}

struct Resolved {
    reference: Reference,
    url: String,
    target: String,
    path_end: usize,
}

struct Missing {
    line: usize,
    url: String,
    tolerated: bool,
}

/// A collected file's outcome.
struct Output {
    hash: String,
    hashed: String,
    integrity: String,
    encodings: Vec<Encoding>,
}

/// Lists the files of `sources`, sorted by logical name; the first source
/// wins on a duplicate.
fn discover(sources: &[PathBuf]) -> Result<(Vec<SourceFile>, Vec<Duplicate>), StaticFilesError> {
    let mut files: BTreeMap<String, SourceFile> = BTreeMap::new();
    let mut duplicates = Vec::new();
    for source in sources {
        for entry in walkdir::WalkDir::new(source)
            .follow_links(true)
            .sort_by_file_name()
        {
            let entry = entry.map_err(|err| {
                let path = err.path().unwrap_or(source).to_path_buf();
                StaticFilesError::io("list it", &path, err.into())
            })?;
            if !entry.file_type().is_file() {
                continue;
            }
            let path = entry.path();
            let relative = path.strip_prefix(source).unwrap_or(path);
            let parts: Option<Vec<&str>> = relative
                .components()
                .map(|c| c.as_os_str().to_str())
                .collect();
            let Some(parts) = parts else {
                return Err(StaticFilesError::config(format!(
                    "{}: the file name is not UTF-8, which a manifest cannot hold",
                    path.display()
                )));
            };
            let logical = parts.join("/");
            let size = entry
                .metadata()
                .map_err(|err| StaticFilesError::io("read it", path, err.into()))?
                .len();
            if let Some(kept) = files.get(&logical) {
                duplicates.push(Duplicate {
                    name: logical,
                    kept: kept.path.clone(),
                    shadowed: path.to_path_buf(),
                });
                continue;
            }
            files.insert(
                logical.clone(),
                SourceFile {
                    logical,
                    path: path.to_path_buf(),
                    size,
                },
            );
        }
    }
    Ok((files.into_values().collect(), duplicates))
}

/// Groups the stylesheets and scripts into strongly connected components
/// (files that refer to each other in a cycle), then into levels: every
/// component's dependencies lie in earlier levels, so each level can be
/// processed in parallel once the previous ones are done.
fn dependency_levels(parsed: &[Parsed]) -> Vec<Vec<Vec<usize>>> {
    let index: HashMap<&str, usize> = parsed
        .iter()
        .enumerate()
        .map(|(i, p)| (p.file.logical.as_str(), i))
        .collect();
    let edges: Vec<Vec<usize>> = parsed
        .iter()
        .map(|p| {
            p.refs
                .iter()
                .filter_map(|r| index.get(r.target.as_str()).copied())
                .collect()
        })
        .collect();
    let components = strongly_connected(&edges);
    let mut component_of = vec![0; parsed.len()];
    for (c, members) in components.iter().enumerate() {
        for &m in members {
            component_of[m] = c;
        }
    }
    let mut level = vec![0usize; components.len()];
    let mut levels: Vec<Vec<Vec<usize>>> = Vec::new();
    // Components come dependencies first, so their levels are known.
    for (c, members) in components.into_iter().enumerate() {
        level[c] = members
            .iter()
            .flat_map(|&m| &edges[m])
            .map(|&w| component_of[w])
            .filter(|&d| d != c)
            .map(|d| level[d] + 1)
            .max()
            .unwrap_or(0);
        if levels.len() <= level[c] {
            levels.resize_with(level[c] + 1, Vec::new);
        }
        levels[level[c]].push(members);
    }
    levels
}

/// Tarjan's algorithm, without recursion (a long chain of imports must not
/// overflow the stack). Components come out dependencies first.
fn strongly_connected(edges: &[Vec<usize>]) -> Vec<Vec<usize>> {
    const UNSEEN: usize = usize::MAX;
    let n = edges.len();
    let (mut index, mut low, mut on_stack) = (vec![UNSEEN; n], vec![0; n], vec![false; n]);
    let (mut stack, mut components, mut next) = (Vec::new(), Vec::new(), 0);
    for root in 0..n {
        if index[root] != UNSEEN {
            continue;
        }
        let mut calls: Vec<(usize, usize)> = vec![(root, 0)];
        index[root] = next;
        low[root] = next;
        next += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(&(v, edge)) = calls.last() {
            if let Some(&w) = edges[v].get(edge) {
                if let Some(call) = calls.last_mut() {
                    call.1 += 1;
                }
                if index[w] == UNSEEN {
                    index[w] = next;
                    low[w] = next;
                    next += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    calls.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            calls.pop();
            if let Some(&(u, _)) = calls.last() {
                low[u] = low[u].min(low[v]);
            }
            if low[v] == index[v] {
                let mut members = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    members.push(w);
                    if w == v {
                        break;
                    }
                }
                members.sort_unstable();
                components.push(members);
            }
        }
    }
    components
}

/// Rewrites, hashes and writes one component's files. A lone file is
/// hashed over its final bytes; files in a cycle share one hash, taken over
/// their names and bytes with the references outside the cycle rewritten.
fn process_component(
    members: &[usize],
    parsed: &[Parsed],
    outputs: &HashMap<String, Output>,
    sink: &Sink,
) -> Result<Vec<(String, Output)>, StaticFilesError> {
    let inside = |target: &str| members.iter().any(|&m| parsed[m].file.logical == target);
    let rewritten = |p: &Parsed, shared: Option<&str>| -> Vec<u8> {
        let edits: Vec<(Reference, String)> = p
            .refs
            .iter()
            .filter_map(|r| {
                let hash = match outputs.get(&r.target) {
                    Some(out) => out.hash.as_str(),
                    None => shared?,
                };
                Some((r.reference, rewrite::hashed_url(&r.url, r.path_end, hash)))
            })
            .collect();
        rewrite::apply(&p.bytes, &edits)
    };
    let cyclic = members.len() > 1 || parsed[members[0]].refs.iter().any(|r| inside(&r.target));
    let shared = cyclic.then(|| {
        let mut hasher = Md5::new();
        for &m in members {
            let partial = rewritten(&parsed[m], None);
            hasher.update(parsed[m].file.logical.as_bytes());
            hasher.update([0]);
            hasher.update((partial.len() as u64).to_le_bytes());
            hasher.update(&partial);
        }
        short_hex(&hasher.finalize())
    });
    members
        .iter()
        .map(|&m| {
            let p = &parsed[m];
            let final_bytes = rewritten(p, shared.as_deref());
            let output = sink.emit(&p.file.logical, &p.bytes, &final_bytes, shared.clone())?;
            Ok((p.file.logical.clone(), output))
        })
        .collect()
}

/// Where outputs go; when checking, only compared.
struct Sink {
    root: PathBuf,
    check: bool,
    compress: bool,
    changed: Mutex<Vec<PathBuf>>,
    unchanged: AtomicUsize,
}

impl Sink {
    /// Writes the original and the hashed copy of `logical`, and their
    /// sidecars. `hash` is the shared hash of a cycle; otherwise it is
    /// taken over `final_bytes`.
    fn emit(
        &self,
        logical: &str,
        original: &[u8],
        final_bytes: &[u8],
        hash: Option<String>,
    ) -> Result<Output, StaticFilesError> {
        let hash = hash.unwrap_or_else(|| short_hex(&Md5::digest(final_bytes)));
        let hashed = hashed_name(logical, &hash);
        let integrity = format!(
            "sha384-{}",
            base64::engine::general_purpose::STANDARD.encode(Sha384::digest(final_bytes))
        );
        self.put(&self.root.join(logical), original)?;
        self.put(&self.root.join(&hashed), final_bytes)?;
        let mut encodings = Vec::new();
        let same = original == final_bytes;
        for encoding in Encoding::ALL {
            let wanted = self.compress && is_compressible(logical);
            let packed = wanted.then(|| compress(encoding, final_bytes)).flatten();
            let packed_original = if same {
                packed.clone()
            } else {
                wanted.then(|| compress(encoding, original)).flatten()
            };
            if packed.is_some() {
                encodings.push(encoding);
            }
            self.sidecar(&hashed, encoding, packed.as_deref())?;
            self.sidecar(logical, encoding, packed_original.as_deref())?;
        }
        Ok(Output {
            hash,
            hashed,
            integrity,
            encodings,
        })
    }

    /// Writes `name`'s sidecar, or removes a stale one.
    fn sidecar(
        &self,
        name: &str,
        encoding: Encoding,
        bytes: Option<&[u8]>,
    ) -> Result<(), StaticFilesError> {
        let path = self.root.join(format!("{name}.{}", encoding.extension()));
        match bytes {
            Some(bytes) => self.put(&path, bytes),
            None => self.remove(&path),
        }
    }

    fn put(&self, path: &Path, bytes: &[u8]) -> Result<(), StaticFilesError> {
        let changed = if self.check {
            !holds(path, bytes)?
        } else {
            write_if_changed(path, bytes)?
        };
        if changed {
            self.record(path);
        } else {
            self.unchanged.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    fn remove(&self, path: &Path) -> Result<(), StaticFilesError> {
        match std::fs::symlink_metadata(path) {
            Ok(meta) if meta.is_file() => {
                if !self.check {
                    std::fs::remove_file(path)
                        .map_err(|err| StaticFilesError::io("remove it", path, err))?;
                }
                self.record(path);
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn record(&self, path: &Path) {
        self.changed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(path.to_path_buf());
    }
}

/// Counts progress and tells the observer.
struct Tracker {
    progress: Option<ProgressFn>,
    files: AtomicU64,
    bytes: AtomicU64,
    total_files: u64,
    total_bytes: u64,
}

impl Tracker {
    fn done(&self, size: u64) {
        let files = self.files.fetch_add(1, Ordering::Relaxed) + 1;
        let bytes = self.bytes.fetch_add(size, Ordering::Relaxed) + size;
        if let Some(progress) = &self.progress {
            progress(&Progress {
                files,
                total_files: self.total_files,
                bytes,
                total_bytes: self.total_bytes,
            });
        }
    }
}

fn read(path: &Path) -> Result<Vec<u8>, StaticFilesError> {
    std::fs::read(path).map_err(|err| StaticFilesError::io("read it", path, err))
}

/// `path` made absolute with symbolic links resolved, as far as it exists.
fn absolute(path: &Path) -> PathBuf {
    let mut existing = path;
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = existing.canonicalize() {
            return rest.iter().rev().fold(real, |acc, part| acc.join(part));
        }
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_owned());
                existing = if parent.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    parent
                };
            }
            _ => return path.to_path_buf(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    /// A source tree from `(name, content)` pairs.
    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (name, content) in files {
            let path = dir.path().join(name);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, content).unwrap();
        }
        dir
    }

    fn collect(src: &Path) -> (tempfile::TempDir, CollectReport) {
        let root = tempfile::tempdir().unwrap();
        let report = Collect::new(root.path()).source(src).run().unwrap();
        (root, report)
    }

    fn hashed<'a>(report: &'a CollectReport, name: &str) -> &'a str {
        report.manifest.hashed_name(name).unwrap()
    }

    fn read(root: &Path, name: &str) -> String {
        fs::read_to_string(root.join(name)).unwrap()
    }

    /// Every file under `root` with its bytes.
    fn snapshot(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
        walkdir::WalkDir::new(root)
            .into_iter()
            .map(Result::unwrap)
            .filter(|e| e.file_type().is_file())
            .map(|e| {
                (
                    e.path().strip_prefix(root).unwrap().to_path_buf(),
                    fs::read(e.path()).unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn plain_files_get_md5_names_and_originals_are_kept() {
        let src = tree(&[("LICENSE", "MIT\n"), ("img/a.png", "png")]);
        let (root, report) = collect(src.path());
        let md5 = |s: &str| short_hex(&Md5::digest(s.as_bytes()));
        assert_eq!(
            hashed(&report, "LICENSE"),
            format!("LICENSE.{}", md5("MIT\n"))
        );
        assert_eq!(
            hashed(&report, "img/a.png"),
            format!("img/a.{}.png", md5("png"))
        );
        assert_eq!(read(root.path(), "LICENSE"), "MIT\n");
        assert_eq!(read(root.path(), hashed(&report, "LICENSE")), "MIT\n");
    }

    #[test]
    fn a_changed_image_renames_every_stylesheet_that_uses_it() {
        let files = [
            ("img/a.png", "one"),
            ("css/a.css", "x { background: url(../img/a.png) }"),
            ("css/b.css", "@import 'a.css';"),
            ("css/c.css", "y { color: red }"),
        ];
        let (_, before) = collect(tree(&files).path());
        let mut changed = files;
        changed[0].1 = "two";
        let (root, after) = collect(tree(&changed).path());
        for name in ["img/a.png", "css/a.css", "css/b.css"] {
            assert_ne!(hashed(&before, name), hashed(&after, name), "{name}");
        }
        assert_eq!(hashed(&before, "css/c.css"), hashed(&after, "css/c.css"));
        // The hash of a rewritten file is over its final bytes.
        let b = hashed(&after, "css/b.css");
        let text = read(root.path(), b);
        assert_eq!(
            text,
            format!("@import '{}';", &hashed(&after, "css/a.css")[4..])
        );
        assert_eq!(
            b,
            hashed_name("css/b.css", &short_hex(&Md5::digest(text.as_bytes())))
        );
    }

    #[test]
    fn an_import_cycle_shares_one_hash_and_needs_one_pass() {
        let src = tree(&[
            ("a.css", "@import url(b.css); a { background: url(i.png) }"),
            ("b.css", "@import \"a.css\";"),
            ("i.png", "i"),
        ]);
        let (root, report) = collect(src.path());
        let (a, b) = (hashed(&report, "a.css"), hashed(&report, "b.css"));
        assert_eq!(a[2..14], b[2..14], "{a} {b}");
        assert_eq!(
            read(root.path(), a),
            format!(
                "@import url({b}); a {{ background: url({}) }}",
                hashed(&report, "i.png")
            )
        );
        assert_eq!(read(root.path(), b), format!("@import \"{a}\";"));
    }

    #[test]
    fn a_missing_reference_names_file_line_and_reference() {
        let src = tree(&[("css/app.css", "a {}\nb { background: url(gone.png) }\n")]);
        let root = tempfile::tempdir().unwrap();
        let err = Collect::new(root.path())
            .source(src.path())
            .run()
            .unwrap_err();
        assert!(err.is_missing_reference());
        let message = err.to_string();
        assert!(message.contains("css/app.css:2:"), "{message}");
        assert!(message.contains("\"gone.png\""), "{message}");
        // Nothing is published when the collect fails.
        assert!(!root.path().join(MANIFEST_NAME).exists());
    }

    #[test]
    fn lenient_keeps_the_reference_and_warns() {
        let src = tree(&[("app.js", "import x from './gone.js';\n")]);
        let root = tempfile::tempdir().unwrap();
        let report = Collect::new(root.path())
            .source(src.path())
            .lenient()
            .run()
            .unwrap();
        assert_eq!(report.warnings.len(), 1);
        assert!(report.warnings[0].contains("./gone.js"));
        assert_eq!(
            read(root.path(), hashed(&report, "app.js")),
            "import x from './gone.js';\n"
        );
    }

    #[test]
    fn a_missing_source_map_warns_unless_strict() {
        let src = tree(&[("app.js", "f();\n//# sourceMappingURL=app.js.map\n")]);
        let (_, report) = collect(src.path());
        assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
        let root = tempfile::tempdir().unwrap();
        let err = Collect::new(root.path())
            .source(src.path())
            .strict_source_maps()
            .run()
            .unwrap_err();
        assert!(err.is_missing_reference());
    }

    #[test]
    fn the_first_source_wins_and_duplicates_are_reported() {
        let first = tree(&[("a.txt", "first")]);
        let second = tree(&[("a.txt", "second"), ("b.txt", "b")]);
        let root = tempfile::tempdir().unwrap();
        let report = Collect::new(root.path())
            .source(first.path())
            .source(second.path())
            .run()
            .unwrap();
        assert_eq!(read(root.path(), "a.txt"), "first");
        assert_eq!(report.duplicates.len(), 1);
        assert_eq!(report.duplicates[0].name, "a.txt");
        assert_eq!(report.duplicates[0].shadowed, second.path().join("a.txt"));
        assert_eq!(report.files, 2);
    }

    #[test]
    fn same_input_gives_identical_output_and_nothing_is_rewritten() {
        let src = tree(&[
            (
                "css/app.css",
                &"body { background: url(../img/a.svg) }\n".repeat(50),
            ),
            ("img/a.svg", &"<svg></svg>\n".repeat(50)),
            ("js/app.js", "import './m.js';\n"),
            ("js/m.js", "export {};\n"),
        ]);
        let (first_root, first) = collect(src.path());
        let (second_root, _) = collect(src.path());
        assert_eq!(snapshot(first_root.path()), snapshot(second_root.path()));
        assert!(first.changed.len() > 8);
        assert!(first
            .manifest
            .get("css/app.css")
            .unwrap()
            .encodings()
            .contains(&Encoding::Gzip));

        let collect = Collect::new(first_root.path()).source(src.path());
        assert!(collect.check().unwrap().changed.is_empty());
        let again = collect.run().unwrap();
        assert!(again.changed.is_empty(), "{:?}", again.changed);
        assert_eq!(again.unchanged, first.changed.len());

        fs::write(src.path().join("js/m.js"), "export const x = 1;\n").unwrap();
        let check = collect.check().unwrap();
        assert!(check
            .changed
            .iter()
            .any(|p| p.ends_with(hashed(&check, "js/app.js"))));
        assert!(!first_root.path().join(hashed(&check, "js/m.js")).exists());
    }

    #[test]
    fn a_stale_sidecar_of_an_original_is_removed() {
        let src = tree(&[("a.css", &"a { color: red }\n".repeat(40))]);
        let (root, _) = collect(src.path());
        assert!(root.path().join("a.css.gz").exists());
        fs::write(src.path().join("a.css"), "b{}").unwrap();
        Collect::new(root.path()).source(src.path()).run().unwrap();
        assert!(!root.path().join("a.css.gz").exists());
    }

    #[test]
    fn overlapping_roots_and_missing_sources_are_refused() {
        let src = tree(&[("a.txt", "a")]);
        let inside = Collect::new(src.path().join("static")).source(src.path());
        assert!(inside.run().unwrap_err().to_string().contains("overlap"));
        let missing = Collect::new(src.path().join("out")).source(src.path().join("nope"));
        assert!(missing.run().unwrap_err().to_string().contains("nope"));
        assert!(Collect::new(src.path()).run().is_err());
    }

    #[test]
    fn the_manifest_path_is_configurable() {
        let src = tree(&[("a.txt", "a")]);
        let root = tempfile::tempdir().unwrap();
        let elsewhere = tempfile::tempdir().unwrap();
        let path = elsewhere.path().join("m.json");
        let report = Collect::new(root.path())
            .source(src.path())
            .manifest_path(&path)
            .run()
            .unwrap();
        assert_eq!(StaticManifest::from_file(&path).unwrap(), report.manifest);
        assert!(!root.path().join(MANIFEST_NAME).exists());
    }

    #[test]
    fn a_long_import_chain_does_not_overflow_the_stack() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..3000 {
            let next = if i + 1 < 3000 {
                format!("import './m{}.js';", i + 1)
            } else {
                String::new()
            };
            fs::write(dir.path().join(format!("m{i}.js")), next).unwrap();
        }
        let root = tempfile::tempdir().unwrap();
        let report = Collect::new(root.path())
            .source(dir.path())
            .compress(false)
            .run()
            .unwrap();
        assert_eq!(report.manifest.len(), 3000);
    }
}
