//! Writing files the safe way: compare first, then a temporary file in the
//! same directory renamed over the target, so a reader sees the old bytes
//! or the new ones and an unchanged file keeps its modification time.

use std::fs;
use std::io::{ErrorKind, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use super::StaticFilesError;

/// Whether `path` already holds exactly `bytes`.
pub(crate) fn holds(path: &Path, bytes: &[u8]) -> Result<bool, StaticFilesError> {
    match fs::metadata(path) {
        Ok(meta) if meta.is_file() && meta.len() == bytes.len() as u64 => {}
        Ok(_) => return Ok(false),
        Err(err) if err.kind() == ErrorKind::NotFound => return Ok(false),
        Err(err) => return Err(StaticFilesError::io("read it", path, err)),
    }
    match fs::read(path) {
        Ok(existing) => Ok(existing == bytes),
        Err(err) if err.kind() == ErrorKind::NotFound => Ok(false),
        Err(err) => Err(StaticFilesError::io("read it", path, err)),
    }
}

/// Writes `bytes` to `path` unless it already holds them; returns whether
/// it wrote. Missing parent directories are created.
pub(crate) fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<bool, StaticFilesError> {
    if holds(path, bytes)? {
        return Ok(false);
    }
    write_atomically(path, bytes)?;
    Ok(true)
}

/// Writes `bytes` to a temporary file next to `path`, then renames it over
/// `path`.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), StaticFilesError> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);

    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir).map_err(|err| StaticFilesError::io("create it", dir, err))?;
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temp = dir.join(format!(
        ".{name}.{}.{}.tmp",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = fs::File::create(&temp)
        .and_then(|mut file| file.write_all(bytes))
        .map_err(|err| StaticFilesError::io("write it", &temp, err))
        .and_then(|()| {
            fs::rename(&temp, path).map_err(|err| StaticFilesError::io("replace it", path, err))
        });
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_once_then_leaves_equal_bytes_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/c.txt");
        assert!(write_if_changed(&path, b"one").unwrap());
        assert!(!write_if_changed(&path, b"one").unwrap());
        assert!(write_if_changed(&path, b"two").unwrap());
        assert_eq!(fs::read(&path).unwrap(), b"two");
        // No temporary file is left behind.
        assert_eq!(fs::read_dir(path.parent().unwrap()).unwrap().count(), 1);
    }

    #[test]
    fn a_directory_in_the_way_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("taken")).unwrap();
        let err = write_if_changed(&dir.path().join("taken"), b"x").unwrap_err();
        assert!(err.to_string().contains("taken"), "{err}");
    }
}
