//! Signed, expiring URLs: [`UrlSigner`] makes and checks them,
//! [`SignatureLayer`] answers 403 to requests without a valid one, and
//! [`SignedStorage`] publishes a storage's files under signed URLs.
//!
//! A signature is `EXPIRES.MAC`: the expiry in Unix seconds and the hex
//! HMAC-SHA256 of `EXPIRES` and the *decoded* request path. Signing the
//! decoded path means every correct percent-encoding of a name verifies
//! (django-downloadview signs one form and compares another, so any name
//! that needs encoding is refused there). Several keys can verify, so keys
//! can rotate; the comparison is constant-time.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The latest expiry a signature states: the last second of the year 9999.
const LATEST_EXPIRY: u64 = 253_402_300_799;

use axum::response::{IntoResponse, Response};
use futures_util::future::{BoxFuture, Either, Ready};
use hmac::{Hmac, Mac};
use http::{Request, StatusCode};
use percent_encoding::percent_decode_str;
use sha2::Sha256;
use tower_layer::Layer;
use tower_service::Service;

use crate::conditional::ByteRange;
use crate::file::{ByteStream, FileMeta};
use crate::storage::Storage;

/// The query parameter that carries the signature.
///
/// ```
/// use std::time::Duration;
/// use axum_download::signature::{UrlSigner, SIGNATURE_PARAM};
///
/// let url = UrlSigner::new(b"secret").sign_path("/a.txt", Duration::from_secs(60));
/// assert!(url.contains(&format!("?{SIGNATURE_PARAM}=")));
/// ```
pub const SIGNATURE_PARAM: &str = "X-Signature";

type HmacSha256 = Hmac<Sha256>;

/// Makes and checks signed, expiring URLs.
///
/// ```
/// use std::time::Duration;
/// use axum_download::signature::UrlSigner;
///
/// let signer = UrlSigner::new(b"a long random secret").verify_also(b"last month's secret");
/// let url = signer.sign_path("/signed/espace é.txt", Duration::from_secs(3600));
/// assert!(url.starts_with("/signed/espace%20%C3%A9.txt?X-Signature="));
/// ```
#[derive(Clone)]
pub struct UrlSigner {
    /// The first key signs; all of them verify.
    keys: Arc<Vec<Vec<u8>>>,
}

impl fmt::Debug for UrlSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UrlSigner")
            .field("keys", &self.keys.len())
            .finish()
    }
}

/// Why a signature was refused: missing, malformed, expired or invalid.
///
/// Like every error of this crate, an opaque value: its message says what
/// was wrong, and `is_…` methods tell the cases apart.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use axum_download::signature::UrlSigner;
///
/// let signer = UrlSigner::new(b"secret");
/// let now = SystemTime::now();
/// let signature = signer.signature("/a.txt", now - Duration::from_secs(1));
/// let err = signer.verify("/a.txt", &signature, now).unwrap_err();
/// assert!(err.is_expired());
/// assert_eq!(err.to_string(), "expired signature");
/// assert!(signer.verify("/a.txt", "tomorrow", now).unwrap_err().is_malformed());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignatureError {
    reason: Reason,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reason {
    /// No `X-Signature` parameter.
    Missing,
    /// Not `EXPIRES.MAC` with a number and 64 hex digits.
    Malformed,
    /// The expiry has passed.
    Expired,
    /// The MAC does not match this path with any key.
    Invalid,
}

impl SignatureError {
    const MISSING: Self = Self {
        reason: Reason::Missing,
    };
    const MALFORMED: Self = Self {
        reason: Reason::Malformed,
    };
    const EXPIRED: Self = Self {
        reason: Reason::Expired,
    };
    const INVALID: Self = Self {
        reason: Reason::Invalid,
    };

    /// The URL has no `X-Signature` parameter.
    ///
    /// ```
    /// use axum_download::signature::UrlSigner;
    ///
    /// let err = UrlSigner::new(b"secret").verify_uri(&"/a.txt".parse().unwrap()).unwrap_err();
    /// assert!(err.is_missing());
    /// ```
    #[must_use]
    pub fn is_missing(&self) -> bool {
        self.reason == Reason::Missing
    }

    /// The signature is not `EXPIRES.MAC` with a number and 64 hex digits.
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use axum_download::signature::UrlSigner;
    ///
    /// let err = UrlSigner::new(b"secret").verify("/a.txt", "1.zz", SystemTime::now()).unwrap_err();
    /// assert!(err.is_malformed());
    /// ```
    #[must_use]
    pub fn is_malformed(&self) -> bool {
        self.reason == Reason::Malformed
    }

    /// The signature was valid, but its expiry has passed.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use axum_download::signature::UrlSigner;
    ///
    /// let signer = UrlSigner::new(b"secret");
    /// let then = SystemTime::now() - Duration::from_secs(60);
    /// let err = signer.verify("/a.txt", &signer.signature("/a.txt", then), SystemTime::now()).unwrap_err();
    /// assert!(err.is_expired());
    /// ```
    #[must_use]
    pub fn is_expired(&self) -> bool {
        self.reason == Reason::Expired
    }

    /// The MAC does not match this path with any key: tampered, made for
    /// another path, or made with an unknown key.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use axum_download::signature::UrlSigner;
    ///
    /// let signer = UrlSigner::new(b"secret");
    /// let later = SystemTime::now() + Duration::from_secs(60);
    /// let err = signer.verify("/b.txt", &signer.signature("/a.txt", later), SystemTime::now()).unwrap_err();
    /// assert!(err.is_invalid());
    /// ```
    #[must_use]
    pub fn is_invalid(&self) -> bool {
        self.reason == Reason::Invalid
    }
}

impl fmt::Display for SignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self.reason {
            Reason::Missing => "missing signature",
            Reason::Malformed => "malformed signature",
            Reason::Expired => "expired signature",
            Reason::Invalid => "invalid signature",
        })
    }
}

impl std::error::Error for SignatureError {}

impl UrlSigner {
    /// A signer with one secret (use at least 32 random bytes).
    ///
    /// ```
    /// use axum_download::signature::UrlSigner;
    ///
    /// # std::env::set_var("DOWNLOAD_URL_SECRET", "0123456789abcdef0123456789abcdef");
    /// let secret = std::env::var("DOWNLOAD_URL_SECRET").expect("DOWNLOAD_URL_SECRET is set");
    /// let signer = UrlSigner::new(secret);
    /// ```
    #[must_use]
    pub fn new(secret: impl AsRef<[u8]>) -> Self {
        Self {
            keys: Arc::new(vec![secret.as_ref().to_vec()]),
        }
    }

    /// Also accepts signatures made with `secret` (an older key, while
    /// URLs signed with it may still be in use).
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use axum_download::signature::UrlSigner;
    ///
    /// let old = UrlSigner::new(b"old secret");
    /// let signature = old.signature("/a.txt", SystemTime::now() + Duration::from_secs(60));
    ///
    /// let rotated = UrlSigner::new(b"new secret").verify_also(b"old secret");
    /// assert!(rotated.verify("/a.txt", &signature, SystemTime::now()).is_ok());
    /// ```
    #[must_use]
    pub fn verify_also(self, secret: impl AsRef<[u8]>) -> Self {
        let mut keys = (*self.keys).clone();
        keys.push(secret.as_ref().to_vec());
        Self {
            keys: Arc::new(keys),
        }
    }

    fn mac(key: &[u8], expires: u64, path: &str) -> HmacSha256 {
        // HMAC accepts keys of any length.
        let mut mac = HmacSha256::new_from_slice(key).unwrap_or_else(|_| {
            HmacSha256::new_from_slice(&[0]).unwrap_or_else(|_| unreachable!())
        });
        mac.update(expires.to_string().as_bytes());
        mac.update(b"\n");
        mac.update(path.as_bytes());
        mac
    }

    /// The signature of the decoded `path`, valid until `expires`.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use axum_download::signature::UrlSigner;
    ///
    /// let expires = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    /// let signature = UrlSigner::new(b"secret").signature("/a.txt", expires);
    /// assert!(signature.starts_with("1700000000."));
    /// assert_eq!(signature.len(), "1700000000.".len() + 64);
    /// ```
    #[must_use]
    pub fn signature(&self, path: &str, expires: SystemTime) -> String {
        let expires = expires
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let tag = Self::mac(&self.keys[0], expires, path)
            .finalize()
            .into_bytes();
        let mut out = format!("{expires}.");
        for byte in tag {
            out.push_str(&format!("{byte:02x}"));
        }
        out
    }

    /// The signed URL of the decoded `path` (segments get percent-encoded),
    /// valid for `ttl`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use axum_download::signature::UrlSigner;
    ///
    /// let signer = UrlSigner::new(b"secret");
    /// let url = signer.sign_path("/files/a b.txt", Duration::from_secs(600));
    /// assert!(url.starts_with("/files/a%20b.txt?X-Signature="));
    /// assert!(signer.verify_uri(&url.parse().unwrap()).is_ok());
    /// ```
    #[must_use]
    pub fn sign_path(&self, path: &str, ttl: Duration) -> String {
        // A lifetime past what the clock can hold is capped, never a panic.
        let latest = UNIX_EPOCH + Duration::from_secs(LATEST_EXPIRY);
        let expires = SystemTime::now()
            .checked_add(ttl)
            .map_or(latest, |t| t.min(latest));
        let signature = self.signature(path, expires);
        format!(
            "{}?{SIGNATURE_PARAM}={signature}",
            crate::url_path::encode_path(path)
        )
    }

    /// Checks `signature` for the decoded `path` at time `now`.
    ///
    /// ```
    /// use std::time::{Duration, SystemTime};
    /// use axum_download::signature::UrlSigner;
    ///
    /// let signer = UrlSigner::new(b"secret");
    /// let now = SystemTime::now();
    /// let signature = signer.signature("/a.txt", now + Duration::from_secs(60));
    /// assert_eq!(signer.verify("/a.txt", &signature, now), Ok(()));
    /// assert!(signer.verify("/b.txt", &signature, now).unwrap_err().is_invalid());
    /// ```
    pub fn verify(
        &self,
        path: &str,
        signature: &str,
        now: SystemTime,
    ) -> Result<(), SignatureError> {
        let (expires, hex) = signature.split_once('.').ok_or(SignatureError::MALFORMED)?;
        if expires.is_empty() || !expires.bytes().all(|b| b.is_ascii_digit()) {
            return Err(SignatureError::MALFORMED);
        }
        let expires: u64 = expires.parse().map_err(|_| SignatureError::MALFORMED)?;
        let tag = decode_hex(hex).ok_or(SignatureError::MALFORMED)?;
        let now = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let valid = self
            .keys
            .iter()
            .any(|key| Self::mac(key, expires, path).verify_slice(&tag).is_ok());
        if !valid {
            return Err(SignatureError::INVALID);
        }
        // Checked after the MAC, so an attacker learns nothing from timing
        // about which part was wrong.
        if expires < now {
            return Err(SignatureError::EXPIRED);
        }
        Ok(())
    }

    /// Checks a request's URI: its decoded path and its `X-Signature`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use axum_download::signature::UrlSigner;
    ///
    /// let signer = UrlSigner::new(b"secret");
    /// let url = signer.sign_path("/é.txt", Duration::from_secs(60));
    /// assert_eq!(signer.verify_uri(&url.parse().unwrap()), Ok(()));
    /// assert!(signer.verify_uri(&"/a.txt".parse().unwrap()).unwrap_err().is_missing());
    /// ```
    pub fn verify_uri(&self, uri: &http::Uri) -> Result<(), SignatureError> {
        let signature = uri
            .query()
            .and_then(|query| {
                query.split('&').find_map(|pair| {
                    let (name, value) = pair.split_once('=')?;
                    (name == SIGNATURE_PARAM).then_some(value)
                })
            })
            .ok_or(SignatureError::MISSING)?;
        let signature = percent_decode_str(signature)
            .decode_utf8()
            .map_err(|_| SignatureError::MALFORMED)?;
        let path = percent_decode_str(uri.path())
            .decode_utf8()
            .map_err(|_| SignatureError::INVALID)?;
        self.verify(&path, &signature, SystemTime::now())
    }
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if hex.len() != 64 {
        return None;
    }
    let digit = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    };
    hex.as_bytes()
        .chunks(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

/// Answers `403 Forbidden` to every request whose URL does not carry a
/// valid signature for its path; passes the others on.
///
/// ```
/// use axum::{routing::get, Router};
/// use axum_download::signature::{SignatureLayer, UrlSigner};
///
/// let signer = UrlSigner::new(b"a long random secret");
/// let app: Router = Router::new()
///     .route("/signed/{*name}", get(|| async { "secret file" }))
///     .layer(SignatureLayer::new(signer));
/// ```
#[derive(Debug, Clone)]
pub struct SignatureLayer {
    signer: UrlSigner,
}

impl SignatureLayer {
    /// Checks signatures with `signer`.
    ///
    /// ```
    /// use axum::{body::Body, routing::get, Router};
    /// use axum_download::signature::{SignatureLayer, UrlSigner};
    /// use http::{Request, StatusCode};
    /// use tower::ServiceExt;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let app = Router::new()
    ///     .route("/a.txt", get(|| async { "hello" }))
    ///     .layer(SignatureLayer::new(UrlSigner::new(b"secret")));
    /// let response = app.oneshot(Request::get("/a.txt").body(Body::empty()).unwrap()).await.unwrap();
    /// assert_eq!(response.status(), StatusCode::FORBIDDEN);
    /// # }
    /// ```
    #[must_use]
    pub fn new(signer: UrlSigner) -> Self {
        Self { signer }
    }
}

impl<S> Layer<S> for SignatureLayer {
    type Service = SignatureService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SignatureService {
            inner,
            signer: self.signer.clone(),
        }
    }
}

/// The service of [`SignatureLayer`].
///
/// ```
/// use std::convert::Infallible;
/// use std::time::Duration;
/// use axum::{body::Body, response::Response};
/// use axum_download::signature::{SignatureLayer, SignatureService, UrlSigner};
/// use http::Request;
/// use tower::{service_fn, Layer, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let signer = UrlSigner::new(b"secret");
/// let url = signer.sign_path("/a.txt", Duration::from_secs(60));
/// let inner = service_fn(|_: Request<Body>| async { Ok::<_, Infallible>(Response::new(Body::from("hello"))) });
/// let service: SignatureService<_> = SignatureLayer::new(signer).layer(inner);
/// let response = service.oneshot(Request::get(url).body(Body::empty()).unwrap()).await.unwrap();
/// assert_eq!(response.status(), http::StatusCode::OK);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct SignatureService<S> {
    inner: S,
    signer: UrlSigner,
}

impl<S, B> Service<Request<B>> for SignatureService<S>
where
    S: Service<Request<B>, Response = Response>,
{
    type Response = Response;
    type Error = S::Error;
    type Future = Either<S::Future, Ready<Result<Response, S::Error>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        match self.signer.verify_uri(request.uri()) {
            Ok(()) => Either::Left(self.inner.call(request)),
            Err(err) => {
                crate::report::error(403, &err);
                let response =
                    (StatusCode::FORBIDDEN, format!("Forbidden: {err}\n")).into_response();
                Either::Right(futures_util::future::ready(Ok(response)))
            }
        }
    }
}

/// A storage whose URLs come out signed: [`Storage::url`] gives the inner
/// storage's URL with an `X-Signature` valid for `ttl`.
///
/// ```
/// use std::time::Duration;
/// use axum_download::signature::{SignedStorage, UrlSigner};
/// use axum_download::{FileSystemStorage, Storage};
///
/// let signer = UrlSigner::new(b"secret");
/// let storage = SignedStorage::new(
///     FileSystemStorage::new("/srv/private").base_url("/private/"),
///     signer.clone(),
///     Duration::from_secs(300),
/// );
/// let url = storage.url("a.txt").unwrap();
/// assert!(url.starts_with("/private/a.txt?X-Signature="));
/// assert!(signer.verify_uri(&url.parse().unwrap()).is_ok());
/// ```
pub struct SignedStorage<S> {
    inner: S,
    signer: UrlSigner,
    ttl: Duration,
}

impl<S> fmt::Debug for SignedStorage<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedStorage")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl<S: Storage> SignedStorage<S> {
    /// Signs the URLs of `inner` with `signer`, valid for `ttl`.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use axum_download::signature::{SignedStorage, UrlSigner};
    /// use axum_download::{FileSystemStorage, Storage};
    ///
    /// let inner = FileSystemStorage::new("/srv/private").base_url("/private/");
    /// let storage: Arc<dyn Storage> = Arc::new(SignedStorage::new(inner, UrlSigner::new(b"secret"), Duration::from_secs(60)));
    /// ```
    pub fn new(inner: S, signer: UrlSigner, ttl: Duration) -> Self {
        Self { inner, signer, ttl }
    }
}

impl<S: Storage> Storage for SignedStorage<S> {
    fn metadata<'a>(&'a self, name: &'a str) -> BoxFuture<'a, io::Result<FileMeta>> {
        Box::pin(async move {
            let mut meta = self.inner.metadata(name).await?;
            meta.url = self.url(name);
            Ok(meta)
        })
    }

    fn open(
        &self,
        name: &str,
        range: Option<ByteRange>,
    ) -> BoxFuture<'static, io::Result<ByteStream>> {
        self.inner.open(name, range)
    }

    fn url(&self, name: &str) -> Option<String> {
        let url = self.inner.url(name)?;
        let path = percent_decode_str(url.split('?').next().unwrap_or(&url))
            .decode_utf8()
            .ok()?
            .into_owned();
        Some(self.signer.sign_path(&path, self.ttl))
    }

    fn path(&self, name: &str) -> Option<PathBuf> {
        self.inner.path(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> UrlSigner {
        UrlSigner::new(b"test secret")
    }

    fn later() -> SystemTime {
        SystemTime::now() + Duration::from_secs(60)
    }

    #[test]
    fn valid_signature_verifies() {
        let sig = signer().signature("/signed/a.txt", later());
        assert_eq!(
            signer().verify("/signed/a.txt", &sig, SystemTime::now()),
            Ok(())
        );
    }

    #[test]
    fn other_path_is_invalid() {
        let sig = signer().signature("/signed/a.txt", later());
        assert_eq!(
            signer().verify("/signed/b.txt", &sig, SystemTime::now()),
            Err(SignatureError::INVALID)
        );
    }

    #[test]
    fn tampered_expiry_is_invalid() {
        let sig = signer().signature("/signed/a.txt", later());
        let (expires, mac) = sig.split_once('.').unwrap();
        let forged = format!("{}.{mac}", expires.parse::<u64>().unwrap() + 3600);
        assert_eq!(
            signer().verify("/signed/a.txt", &forged, SystemTime::now()),
            Err(SignatureError::INVALID)
        );
    }

    #[test]
    fn tampered_mac_is_invalid() {
        let sig = signer().signature("/signed/a.txt", later());
        let mut bytes = sig.into_bytes();
        let last = bytes.len() - 1;
        bytes[last] = if bytes[last] == b'0' { b'1' } else { b'0' };
        let forged = String::from_utf8(bytes).unwrap();
        assert_eq!(
            signer().verify("/signed/a.txt", &forged, SystemTime::now()),
            Err(SignatureError::INVALID)
        );
    }

    #[test]
    fn expired_signature_is_refused() {
        let past = SystemTime::now() - Duration::from_secs(1);
        let sig = signer().signature("/signed/a.txt", past);
        assert_eq!(
            signer().verify("/signed/a.txt", &sig, SystemTime::now()),
            Err(SignatureError::EXPIRED)
        );
    }

    #[test]
    fn other_key_is_invalid_until_accepted() {
        let old = UrlSigner::new(b"old secret");
        let sig = old.signature("/a", later());
        assert_eq!(
            signer().verify("/a", &sig, SystemTime::now()),
            Err(SignatureError::INVALID)
        );
        let rotated = signer().verify_also(b"old secret");
        assert_eq!(rotated.verify("/a", &sig, SystemTime::now()), Ok(()));
        // New URLs are signed with the first key.
        let new_sig = rotated.signature("/a", later());
        assert_eq!(signer().verify("/a", &new_sig, SystemTime::now()), Ok(()));
    }

    #[test]
    fn malformed_signatures() {
        for bad in ["", "123", "abc.def", ".00", "1.zz", "1.0123", "-1.00"] {
            assert_eq!(
                signer().verify("/a", bad, SystemTime::now()),
                Err(SignatureError::MALFORMED),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn uri_with_encoded_name_verifies() {
        let url = signer().sign_path("/signed/espace é.txt", Duration::from_secs(60));
        let uri: http::Uri = url.parse().unwrap();
        assert_eq!(signer().verify_uri(&uri), Ok(()));
        // Another valid encoding of the same path verifies too.
        let other: http::Uri = url.replace("%C3%A9", "%c3%a9").parse().unwrap();
        assert_eq!(signer().verify_uri(&other), Ok(()));
    }

    #[test]
    fn uri_without_signature_is_missing() {
        let uri: http::Uri = "/signed/a.txt?x=1".parse().unwrap();
        assert_eq!(signer().verify_uri(&uri), Err(SignatureError::MISSING));
    }
}
