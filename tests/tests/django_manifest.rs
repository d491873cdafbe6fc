//! Interoperability with real Django (installed from PyPI by
//! `./scripts/test.sh` into a virtual environment): Django's own
//! `collectstatic` with `ManifestStaticFilesStorage` and ours over the same
//! tree, then each side reads the other's manifest.
//!
//! Without that Python (`AXUM_DOWNLOAD_DJANGO_PYTHON`, set by the script)
//! these tests fail with the command to run; they never skip.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use axum_download::static_files::{Collect, ManifestEntry, StaticManifest, StaticUrls};
use percent_encoding::percent_decode_str;
use serde_json::Value;
use tempfile::TempDir;

/// Files whose bytes no rewriting touches: their hashed names must be
/// Django's exactly. Awkward names on purpose.
const PLAIN: &[(&str, &[u8])] = &[
    ("LICENSE", b"MIT License\n"),
    (".htaccess", b"Deny from all\n"),
    ("archive.tar.gz", b"\x1f\x8b\x08\x00not really"),
    ("img/logo.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"),
    ("img/with space.svg", b"<svg/>\n"),
    (
        "\u{65e5}\u{672c}/\u{e9}t\u{e9}.txt",
        "\u{e9}t\u{e9}\n".as_bytes(),
    ),
    // No `url()` in a comment: Django's regular expressions would try to
    // rewrite it and fail on the missing file.
    ("css/plain.css", b"a { color: red }\n/* plain */\n"),
    ("js/plain.js", b"console.log('no imports');\n"),
    ("empty.txt", b""),
];

/// Files with references: rewritten by both, each in its own spelling.
const REWRITTEN: &[(&str, &[u8])] = &[
    (
        "css/app.css",
        b"@import url(\"plain.css\");\nbody { background: url(../img/logo.png) }\n",
    ),
    ("js/app.js", b"import \"./plain.js\";\n"),
];

/// The Python of the virtual environment with Django.
fn python() -> PathBuf {
    let hint = "run ./scripts/test.sh, which creates the virtual environment with Django \
                and sets AXUM_DOWNLOAD_DJANGO_PYTHON";
    let Some(python) = std::env::var_os("AXUM_DOWNLOAD_DJANGO_PYTHON") else {
        panic!("AXUM_DOWNLOAD_DJANGO_PYTHON is not set: {hint}");
    };
    let python = PathBuf::from(python);
    let ok = Command::new(&python)
        .args(["-c", "import django"])
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "{} cannot import django: {hint}", python.display());
    python
}

fn source_tree() -> TempDir {
    let src = TempDir::new().unwrap();
    for (name, bytes) in PLAIN.iter().chain(REWRITTEN) {
        let path = src.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, bytes).unwrap();
    }
    src
}

/// A Django project in a temporary directory, its static root at `root`.
struct Django {
    python: PathBuf,
    project: TempDir,
}

impl Django {
    fn new(source: &Path, root: &Path) -> Self {
        let project = TempDir::new().unwrap();
        let settings = format!(
            "SECRET_KEY = 'interop-test'\n\
             INSTALLED_APPS = ['django.contrib.staticfiles']\n\
             STATIC_URL = '/static/'\n\
             STATIC_ROOT = {root:?}\n\
             STATICFILES_DIRS = [{source:?}]\n\
             STORAGES = {{'staticfiles': {{'BACKEND': \
             'django.contrib.staticfiles.storage.ManifestStaticFilesStorage'}}}}\n",
            root = root.to_str().unwrap(),
            source = source.to_str().unwrap(),
        );
        std::fs::write(project.path().join("interop_settings.py"), settings).unwrap();
        Self {
            python: python(),
            project,
        }
    }

    fn python(&self, args: &[&str]) -> String {
        let output = Command::new(&self.python)
            .args(args)
            .env("DJANGO_SETTINGS_MODULE", "interop_settings")
            .env("PYTHONPATH", self.project.path())
            .env("PYTHONIOENCODING", "utf-8")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "python {args:?} failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    fn collectstatic(&self) {
        self.python(&[
            "-m",
            "django",
            "collectstatic",
            "--noinput",
            "--no-default-ignore",
            "-v0",
        ]);
    }

    /// What Django's configured storage answers for `names`, reading the
    /// manifest in its static root: `{"urls": {name: url}, "hash": ...}`.
    fn storage_view(&self, names: &[&str]) -> Value {
        let script = "import json, sys, django\n\
                      django.setup()\n\
                      from django.contrib.staticfiles.storage import staticfiles_storage as s\n\
                      names = json.loads(sys.argv[1])\n\
                      print(json.dumps({'urls': {n: s.url(n) for n in names}, \
                      'hash': s.manifest_hash, 'paths': s.hashed_files}))";
        let names = serde_json::to_string(names).unwrap();
        serde_json::from_str(&self.python(&["-c", script, &names])).unwrap()
    }
}

/// Django's collect of `src`: the project and its static root.
fn django_collected(src: &Path) -> (Django, TempDir) {
    let root = TempDir::new().unwrap();
    let django = Django::new(src, root.path());
    django.collectstatic();
    (django, root)
}

/// Our collect of `src`: the static root and the manifest.
fn our_collected(src: &Path) -> (TempDir, StaticManifest) {
    let root = TempDir::new().unwrap();
    let report = Collect::new(root.path()).source(src).run().unwrap();
    (root, report.manifest)
}

fn all_names() -> Vec<&'static str> {
    PLAIN.iter().chain(REWRITTEN).map(|(n, _)| *n).collect()
}

fn decoded(url: &str) -> String {
    percent_decode_str(url).decode_utf8().unwrap().into_owned()
}

fn paths(manifest: &StaticManifest) -> BTreeMap<String, String> {
    manifest
        .entries()
        .map(|e| (e.logical().to_owned(), e.hashed().to_owned()))
        .collect()
}

#[test]
fn hashed_names_and_manifest_hash_equal_djangos() {
    let src = source_tree();
    let (_django, django_root) = django_collected(src.path());
    let theirs = StaticManifest::from_file(django_root.path().join("staticfiles.json")).unwrap();
    let (_our_root, ours) = our_collected(src.path());

    let (our_paths, their_paths) = (paths(&ours), paths(&theirs));
    assert_eq!(
        our_paths.keys().collect::<Vec<_>>(),
        their_paths.keys().collect::<Vec<_>>(),
        "both collect the same files"
    );
    for (name, _) in PLAIN {
        assert_eq!(
            our_paths[*name], their_paths[*name],
            "hashed name of {name}"
        );
    }
    // Django's `hash` over Django's own paths, computed by us.
    let recomputed = StaticManifest::new(
        theirs
            .entries()
            .map(|e| ManifestEntry::new(e.logical(), e.hashed())),
    );
    assert_eq!(recomputed.hash(), theirs.hash());
    assert_ne!(recomputed.hash(), ours.hash(), "the rewritten files differ");
}

#[test]
fn django_reads_our_manifest() {
    let src = source_tree();
    let (our_root, ours) = our_collected(src.path());
    let django = Django::new(src.path(), our_root.path());
    let view = django.storage_view(&all_names());
    assert_eq!(view["hash"], ours.hash(), "Django loads our hash as is");
    let urls = StaticUrls::new(ours.clone());
    for name in all_names() {
        let theirs = view["urls"][name].as_str().unwrap();
        assert_eq!(decoded(&urls.url(name).unwrap()), decoded(theirs), "{name}");
    }
    let their_paths: BTreeMap<String, String> =
        serde_json::from_value(view["paths"].clone()).unwrap();
    assert_eq!(their_paths, paths(&ours));
}

#[test]
fn we_read_djangos_manifest() {
    let src = source_tree();
    let (django, django_root) = django_collected(src.path());
    let raw: Value = serde_json::from_slice(
        &std::fs::read(django_root.path().join("staticfiles.json")).unwrap(),
    )
    .unwrap();
    let theirs = StaticManifest::from_file(django_root.path().join("staticfiles.json")).unwrap();
    assert_eq!(theirs.hash(), raw["hash"].as_str().unwrap());
    let view = django.storage_view(&all_names());
    let urls = StaticUrls::new(theirs);
    for name in all_names() {
        assert_eq!(
            urls.manifest().hashed_name(name),
            raw["paths"][name].as_str(),
            "{name}"
        );
        let theirs = view["urls"][name].as_str().unwrap();
        assert_eq!(decoded(&urls.url(name).unwrap()), decoded(theirs), "{name}");
        // Every name Django lists exists in its root.
        let hashed = urls.manifest().hashed_name(name).unwrap();
        assert!(django_root.path().join(hashed).is_file(), "{hashed}");
    }
}
