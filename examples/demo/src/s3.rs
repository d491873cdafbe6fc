//! `--s3 http://HOST:PORT/BUCKET`: the object-store routes.
//!
//! - `/s3/{*key}`: the object, streamed by the application
//!   (`ObjectStoreStorage` behind `StorageDownload`).
//! - `/s3-nginx/{*key}`: the same, handed off to nginx with a presigned URL
//!   (`Rule::remote`): nginx fetches the object from the store itself.
//!
//! Without `--s3` both answer 404.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum_download::offload::{Backend, Rule};
use axum_download::rfc9110::finish_with_settings;
use axum_download::{
    Conditions, DownloadError, DownloadName, DownloadSettings, ObjectStoreStorage, Storage,
    StorageDownload,
};
use object_store::aws::AmazonS3Builder;
use object_store::{ClientOptions, RetryConfig};

use crate::AppState;

/// How long a presigned URL handed to nginx stays valid.
const PRESIGN_EXPIRY: Duration = Duration::from_secs(300);

/// The store's address: `http://HOST:PORT` and the bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Address {
    pub(crate) endpoint: String,
    pub(crate) bucket: String,
}

/// Parses `http://HOST:PORT/BUCKET` (or `https://`).
pub(crate) fn parse(url: &str) -> Result<Address, String> {
    let bad = || "not a URL like http://127.0.0.1:9000/BUCKET".to_owned();
    let (scheme, rest) = url.split_once("://").ok_or_else(bad)?;
    if scheme != "http" && scheme != "https" {
        return Err(bad());
    }
    let (host, bucket) = rest.trim_end_matches('/').split_once('/').ok_or_else(bad)?;
    let valid_bucket = !bucket.is_empty()
        && bucket
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    if host.is_empty() || !valid_bucket {
        return Err(bad());
    }
    Ok(Address {
        endpoint: format!("{scheme}://{host}"),
        bucket: bucket.to_owned(),
    })
}

/// The two storages over one bucket, and the hand-off of `/s3-nginx/`.
pub(crate) struct S3 {
    relay: Arc<dyn Storage>,
    nginx: Arc<dyn Storage>,
    hand_off: DownloadSettings,
}

/// Connects to the bucket with the credentials and region of the standard
/// AWS variables. Nothing is asked of the store yet.
pub(crate) fn connect(address: &Address) -> Result<S3, String> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let (Some(key_id), Some(secret)) = (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY"))
    else {
        return Err(
            "--s3 needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment".to_owned(),
        );
    };
    let region = var("AWS_REGION")
        .or_else(|| var("AWS_DEFAULT_REGION"))
        .unwrap_or_else(|| "us-east-1".to_owned());
    let mut builder = AmazonS3Builder::new()
        .with_endpoint(&address.endpoint)
        .with_bucket_name(&address.bucket)
        .with_region(region)
        .with_access_key_id(key_id)
        .with_secret_access_key(secret)
        .with_virtual_hosted_style_request(false)
        // No total timeout: it would cut long downloads. The storage's own
        // per-chunk timeout guards the body instead.
        .with_client_options(
            ClientOptions::new()
                .with_allow_http(true)
                .with_timeout_disabled()
                .with_connect_timeout(Duration::from_secs(5)),
        )
        // A store that is down answers 502 at once, not after minutes of
        // retries.
        .with_retry(RetryConfig {
            max_retries: 1,
            retry_timeout: Duration::from_secs(5),
            ..RetryConfig::default()
        });
    if let Some(token) = var("AWS_SESSION_TOKEN") {
        builder = builder.with_token(token);
    }
    let store = Arc::new(
        builder
            .build()
            .map_err(|err| format!("--s3 {}/{}: {err}", address.endpoint, address.bucket))?,
    );
    Ok(S3 {
        relay: Arc::new(ObjectStoreStorage::new(store.clone())),
        nginx: Arc::new(ObjectStoreStorage::new(store.clone()).presign(store, PRESIGN_EXPIRY)),
        hand_off: DownloadSettings::new(Backend::Nginx)
            .rule(Rule::nginx("/x-accel-remote/").catch_all(true).remote(true)),
    })
}

fn configured(state: &AppState) -> Result<&S3, DownloadError> {
    state
        .s3
        .as_deref()
        .ok_or_else(|| DownloadError::not_found("the demo runs without --s3"))
}

/// `/s3/{*key}`: the object, streamed through the application.
pub(crate) async fn relay(
    State(state): State<AppState>,
    DownloadName(key): DownloadName,
) -> Result<axum_download::DownloadResponse, DownloadError> {
    StorageDownload::new(configured(&state)?.relay.clone(), key).await
}

/// `/s3-nginx/{*key}`: conditions answered here, then an empty answer with
/// `X-Accel-Redirect: /x-accel-remote/{key}` and the presigned URL in
/// `X-Accel-Remote-Url` (what `#[x_accel]` does for local files, with this
/// route's own rule whatever `--settings` says).
pub(crate) async fn nginx(
    State(state): State<AppState>,
    conditions: Conditions,
    DownloadName(key): DownloadName,
) -> Response {
    let s3 = match configured(&state) {
        Ok(s3) => s3,
        Err(err) => return err.into_response(),
    };
    match StorageDownload::new(s3.nginx.clone(), key).await {
        Ok(download) => finish_with_settings(download.into_response(), &conditions, &s3.hand_off),
        Err(err) => err.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_is_endpoint_and_bucket() {
        assert_eq!(
            parse("http://127.0.0.1:9000/media/").unwrap(),
            Address {
                endpoint: "http://127.0.0.1:9000".to_owned(),
                bucket: "media".to_owned()
            }
        );
    }

    #[test]
    fn bad_addresses_are_errors() {
        for bad in [
            "127.0.0.1:9000/media",
            "ftp://h/media",
            "http://h",
            "http://h/",
            "http:///media",
            "http://h/a/b",
            "http://h/Media",
        ] {
            assert!(parse(bad).unwrap_err().contains("not a URL"), "{bad}");
        }
    }
}
