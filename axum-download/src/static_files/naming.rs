//! Hashed names as Django's `HashedFilesMixin.hashed_name` makes them:
//! the hash goes before the last extension of the file name, as Python's
//! `os.path.splitext` finds it.

/// `dir/name.<hash>.ext` for `dir/name.ext`.
pub(crate) fn hashed_name(logical: &str, hash: &str) -> String {
    let (dir, file) = match logical.rfind('/') {
        Some(slash) => logical.split_at(slash + 1),
        None => ("", logical),
    };
    let (root, ext) = split_extension(file);
    format!("{dir}{root}.{hash}{ext}")
}

/// Python's `os.path.splitext` on a file name: the extension starts at the
/// last dot, unless everything before that dot is dots (`.htaccess`,
/// `..a` have none).
pub(crate) fn split_extension(file: &str) -> (&str, &str) {
    match file.rfind('.') {
        Some(dot) if file[..dot].bytes().any(|b| b != b'.') => file.split_at(dot),
        _ => (file, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_like_django() {
        // Python: root, ext = os.path.splitext(name); f"{root}.{h}{ext}"
        let h = "0123456789ab";
        for (name, expected) in [
            ("css/app.css", "css/app.0123456789ab.css"),
            ("LICENSE", "LICENSE.0123456789ab"),
            ("a.tar.gz", "a.tar.0123456789ab.gz"),
            (".htaccess", ".htaccess.0123456789ab"),
            ("..a", "..a.0123456789ab"),
            ("...a.b", "...a.0123456789ab.b"),
            ("dir.d/file", "dir.d/file.0123456789ab"),
            ("trailing.", "trailing.0123456789ab."),
            ("é/日本.js", "é/日本.0123456789ab.js"),
        ] {
            assert_eq!(hashed_name(name, h), expected, "{name}");
        }
    }
}
