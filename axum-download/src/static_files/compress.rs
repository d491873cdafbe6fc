//! Precompressed sidecars (`NAME.br`, `NAME.zst`, `NAME.gz`): deterministic
//! bytes, kept only when smaller than the file.

use std::io::Write;

use super::Encoding;

/// Whether files named like `name` are worth compressing: text formats and
/// uncompressed fonts, not images, archives or already compressed fonts.
pub(crate) fn is_compressible(name: &str) -> bool {
    const TYPES: &[&str] = &[
        "css",
        "js",
        "mjs",
        "cjs",
        "json",
        "map",
        "svg",
        "html",
        "htm",
        "txt",
        "xml",
        "csv",
        "md",
        "wasm",
        "ttf",
        "otf",
        "eot",
        "ico",
        "webmanifest",
        "ts",
    ];
    let file = name.rsplit('/').next().unwrap_or(name);
    let (_, ext) = super::naming::split_extension(file);
    let ext = ext.trim_start_matches('.').to_ascii_lowercase();
    TYPES.contains(&ext.as_str())
}

/// `bytes` compressed with `encoding`, if that is smaller.
pub(crate) fn compress(encoding: Encoding, bytes: &[u8]) -> Option<Vec<u8>> {
    let out = match encoding {
        Encoding::Brotli => brotli_bytes(bytes),
        Encoding::Zstd => zstd::bulk::compress(bytes, 19).ok()?,
        Encoding::Gzip => gzip_bytes(bytes)?,
    };
    (out.len() < bytes.len()).then_some(out)
}

fn brotli_bytes(bytes: &[u8]) -> Vec<u8> {
    let params = brotli::enc::BrotliEncoderParams {
        quality: 11,
        lgwin: 22,
        size_hint: bytes.len(),
        ..Default::default()
    };
    let mut out = Vec::with_capacity(bytes.len() / 2);
    let mut input = bytes;
    // Writing to a Vec cannot fail.
    let _ = brotli::BrotliCompress(&mut input, &mut out, &params);
    out
}

/// Gzip with a zero modification time and no file name, so equal input
/// gives equal bytes.
fn gzip_bytes(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut encoder = flate2::GzBuilder::new().mtime(0).write(
        Vec::with_capacity(bytes.len() / 2),
        flate2::Compression::best(),
    );
    encoder.write_all(bytes).ok()?;
    encoder.finish().ok()
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn compresses_text_deterministically_and_round_trips() {
        let text = "body { color: red; }\n".repeat(200);
        for encoding in Encoding::ALL {
            let once = compress(encoding, text.as_bytes()).unwrap();
            assert_eq!(compress(encoding, text.as_bytes()).unwrap(), once);
            let mut back = Vec::new();
            match encoding {
                Encoding::Brotli => {
                    brotli::Decompressor::new(&once[..], 4096)
                        .read_to_end(&mut back)
                        .unwrap();
                }
                Encoding::Zstd => back = zstd::decode_all(&once[..]).unwrap(),
                Encoding::Gzip => {
                    flate2::read::GzDecoder::new(&once[..])
                        .read_to_end(&mut back)
                        .unwrap();
                }
            }
            assert_eq!(back, text.as_bytes(), "{encoding}");
        }
        // The gzip header: no modification time, no file name flag.
        let gz = compress(Encoding::Gzip, text.as_bytes()).unwrap();
        assert_eq!(&gz[4..8], &[0, 0, 0, 0]);
        assert_eq!(gz[3] & 0x08, 0);
    }

    #[test]
    fn keeps_only_smaller_output() {
        for encoding in Encoding::ALL {
            assert_eq!(compress(encoding, b"a"), None);
        }
    }

    #[test]
    fn compressible_types() {
        assert!(is_compressible("css/app.0123456789ab.css"));
        assert!(is_compressible("FONT.TTF"));
        assert!(!is_compressible("img/logo.png"));
        assert!(!is_compressible("fonts/a.woff2"));
        assert!(!is_compressible("LICENSE"));
    }
}
