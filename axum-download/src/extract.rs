//! [`DownloadName`]: the untrusted file name of a request, from its raw path.

use axum::extract::{FromRequestParts, RawPathParams};
use http::request::Parts;

use crate::error::DownloadError;

/// The file name a request asks for: the route's last path parameter
/// (`/files/{*name}` or `/files/{name}`), percent-decoded, after checking
/// the *raw* request path for what decoding would hide.
///
/// axum's `Path<String>` decodes `%2F` into `/` before the handler sees it,
/// so `/files/a%2Fb` would reach `a/b`, a file in another directory than
/// the URL shows. `DownloadName` answers 404 instead for an encoded
/// separator (`%2F`, `%5C`, any case) anywhere in the path and for a name
/// that does not decode to UTF-8. Everything else (`..`, absolute paths, `\`, NUL...) is refused
/// by the download kinds themselves
/// ([`PathDownload::from_root`](crate::PathDownload::from_root),
/// [`FileSystemStorage`](crate::FileSystemStorage),
/// [`HttpDownload::from_base`](crate::HttpDownload::from_base)).
///
/// ```
/// use axum::{routing::get, Router};
/// use axum_download::{DownloadError, DownloadName, DownloadResponse, PathDownload};
///
/// async fn download(DownloadName(name): DownloadName) -> Result<DownloadResponse, DownloadError> {
///     PathDownload::from_root("/srv/media", name).await
/// }
///
/// let app: Router = Router::new().route("/files/{*name}", get(download));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadName(pub String);

impl<S: Send + Sync> FromRequestParts<S> for DownloadName {
    type Rejection = DownloadError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        // The router matched static segments on the raw path, so an encoded
        // separator anywhere in it sits in a parameter.
        refuse_encoded_separator(parts.uri.path())?;
        // Parameters come percent-decoded; one that is not UTF-8 is refused.
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|err| DownloadError::not_found(format_args!("DownloadName: {err}")))?;
        let Some((_, name)) = params.iter().last() else {
            return Err(DownloadError::internal(
                "DownloadName needs a route with a path parameter, e.g. `/files/{*name}`",
            ));
        };
        Ok(DownloadName(name.to_owned()))
    }
}

/// 404 for a raw path holding `%2F` or `%5C` (any case).
pub(crate) fn refuse_encoded_separator(raw: &str) -> Result<(), DownloadError> {
    let lower = raw.to_ascii_lowercase();
    if lower.contains("%2f") || lower.contains("%5c") {
        return Err(DownloadError::not_found(format_args!(
            "refused name {raw:?}: encoded separator"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_slash_is_refused_in_any_case() {
        for raw in ["a%2Fb", "a%2fb", "%2F..%2Fetc", "a%5Cb", "a%5cb"] {
            assert!(refuse_encoded_separator(raw).is_err(), "{raw}");
        }
    }

    #[test]
    fn other_escapes_pass() {
        for raw in [
            "/files/espace%20%C3%A9.txt",
            "/files/a/b.txt",
            "/files/100%25.txt",
        ] {
            assert!(refuse_encoded_separator(raw).is_ok(), "{raw}");
        }
    }
}
