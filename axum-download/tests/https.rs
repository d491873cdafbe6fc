//! `HttpDownload` against a real HTTPS upstream on 127.0.0.1.
//!
//! Each test makes its certificates with rcgen (a CA and a leaf for
//! 127.0.0.1, or a leaf that must be refused), starts a TLS upstream with
//! tokio-rustls on an ephemeral port, and relays it through `HttpDownload`
//! behind `DownloadLayer`, in process, with a client built from the
//! re-exported `axum_download::reqwest`. The same tests run once per TLS
//! feature: rustls, and native-tls when it is enabled too.
#![cfg(any(feature = "rustls", feature = "native-tls"))]

mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use axum_download::{
    reqwest, Conditions, DownloadError, DownloadLayer, DownloadResponse, HttpDownload,
};
use http::header::{
    ACCEPT_RANGES, CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG,
    LAST_MODIFIED, RANGE,
};
use http::{HeaderMap, Method, StatusCode};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use support::{body, header, request, text};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

const REPORT: &[u8] = b"quarterly report, relayed over TLS\n";
const REPORT_TAG: &str = "\"tls-v1\"";
const REPORT_DATE: &str = "Tue, 14 Nov 2023 22:13:20 GMT";
/// rustls's and OpenSSL's words for a chain to no trusted root.
const UNKNOWN_ISSUER: &[&str] = &["unknownissuer", "unable to get local issuer certificate"];

// ---------------------------------------------------------------------------
// Certificates, made at test time.
// ---------------------------------------------------------------------------

/// A certificate authority: its certificate (to trust) and what signs.
struct Authority {
    der: CertificateDer<'static>,
    issuer: Issuer<'static, KeyPair>,
}

impl Authority {
    fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::new()).unwrap();
        params.distinguished_name = distinguished(name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().unwrap();
        let der = params.self_signed(&key).unwrap().der().clone();
        Self {
            der,
            issuer: Issuer::new(params, key),
        }
    }

    /// A leaf for `names`, valid now unless `params` says otherwise.
    fn leaf(&self, names: &[&str], edit: impl FnOnce(&mut CertificateParams)) -> Identity {
        let names: Vec<String> = names.iter().map(|&n| n.to_owned()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params.distinguished_name = distinguished("upstream");
        edit(&mut params);
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        Identity {
            chain: vec![cert.der().clone()],
            key: PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
        }
    }

    fn certificate(&self) -> reqwest::Certificate {
        reqwest::Certificate::from_der(&self.der).unwrap()
    }
}

fn distinguished(common_name: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, common_name);
    name
}

/// What the upstream presents: a certificate chain and its key.
struct Identity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

/// A self-signed leaf for 127.0.0.1: no CA anyone trusts issued it.
fn self_signed() -> Identity {
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    params.distinguished_name = distinguished("self-signed upstream");
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    Identity {
        chain: vec![cert.der().clone()],
        key: PrivatePkcs8KeyDer::from(key.serialize_der()).into(),
    }
}

// ---------------------------------------------------------------------------
// The upstream: axum over tokio-rustls.
// ---------------------------------------------------------------------------

/// Accepts TCP connections and completes the TLS handshake; a failed
/// handshake (a client refusing the certificate) is skipped.
struct TlsListener {
    tcp: tokio::net::TcpListener,
    acceptor: TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<tokio::net::TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((stream, addr)) = self.tcp.accept().await else {
                continue;
            };
            if let Ok(stream) = self.acceptor.accept(stream).await {
                return (stream, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// `/report.txt`, with validators, and one `bytes=a-b` range as a 206.
async fn upstream_report(headers: HeaderMap) -> Response {
    let common = Response::builder()
        .header(CONTENT_TYPE, "text/plain; charset=utf-8")
        .header(ETAG, REPORT_TAG)
        .header(LAST_MODIFIED, REPORT_DATE)
        .header(ACCEPT_RANGES, "bytes");
    let range = headers
        .get(RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("bytes="))
        .and_then(|v| v.split_once('-'))
        .and_then(|(a, b)| Some((a.parse::<usize>().ok()?, b.parse::<usize>().ok()?)))
        .filter(|&(a, b)| a <= b && b < REPORT.len());
    match range {
        Some((first, last)) => common
            .status(StatusCode::PARTIAL_CONTENT)
            .header(
                CONTENT_RANGE,
                format!("bytes {first}-{last}/{}", REPORT.len()),
            )
            .header(CONTENT_LENGTH, last + 1 - first)
            .body(Body::from(&REPORT[first..=last]))
            .unwrap(),
        None => common
            .header(CONTENT_LENGTH, REPORT.len())
            .body(Body::from(REPORT))
            .unwrap(),
    }
}

/// Starts an HTTPS upstream presenting `identity`; returns its base URL.
async fn start_upstream(identity: Identity) -> String {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(identity.chain, identity.key)
        .unwrap();
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = tcp.local_addr().unwrap();
    let listener = TlsListener {
        tcp,
        acceptor: TlsAcceptor::from(Arc::new(config)),
    };
    let upstream = Router::new().route("/report.txt", get(upstream_report));
    tokio::spawn(async move {
        axum::serve(listener, upstream).await.unwrap();
    });
    format!("https://{addr}")
}

// ---------------------------------------------------------------------------
// The clients and the app under test.
// ---------------------------------------------------------------------------

/// reqwest's TLS backends this build has.
#[derive(Clone, Copy)]
enum Tls {
    #[cfg(feature = "rustls")]
    Rustls,
    #[cfg(feature = "native-tls")]
    Native,
}

impl Tls {
    /// A client of this backend that trusts `ca` only.
    fn trusting(self, ca: &Authority) -> reqwest::Client {
        let builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .tls_certs_only([ca.certificate()]);
        let builder = match self {
            #[cfg(feature = "rustls")]
            Tls::Rustls => builder.tls_backend_rustls(),
            #[cfg(feature = "native-tls")]
            Tls::Native => builder.tls_backend_native(),
        };
        builder.build().unwrap()
    }
}

#[derive(Clone)]
struct Upstream {
    base: String,
    /// `None`: the crate's built-in client.
    client: Option<reqwest::Client>,
}

async fn relay(
    State(upstream): State<Upstream>,
    conditions: Conditions,
    Path(name): Path<String>,
) -> Result<DownloadResponse, DownloadError> {
    let mut download = HttpDownload::from_base(&upstream.base, name)
        .forward(&conditions)
        .timeout(Duration::from_secs(5));
    if let Some(client) = upstream.client {
        download = download.client(client);
    }
    download.await
}

async fn call(upstream: Upstream, headers: &[(&str, &str)]) -> Response {
    let app = Router::new()
        .route("/{name}", get(relay))
        .with_state(upstream)
        .layer(DownloadLayer::new());
    request(&app, Method::GET, "/report.txt", headers).await
}

/// The upstream is refused: the relay answers a bare 502, and the error
/// (what the log gets) names the certificate problem, in the words of
/// rustls or OpenSSL (`why`, lowercase).
async fn assert_refused(upstream: Upstream, why: &[&str]) {
    let response = call(upstream.clone(), &[]).await;
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(header(&response, CONTENT_DISPOSITION), None);
    assert_eq!(text(response).await, "Bad Gateway\n");

    let mut download = HttpDownload::new(format!("{}/report.txt", upstream.base));
    if let Some(client) = upstream.client {
        download = download.client(client);
    }
    let err = download.await.unwrap_err();
    assert_eq!(err.status(), StatusCode::BAD_GATEWAY);
    let detail = err.to_string().to_lowercase();
    assert!(
        detail.contains("certificate") && why.iter().any(|w| detail.contains(w)),
        "expected one of {why:?} in {detail:?}"
    );
}

// ---------------------------------------------------------------------------
// The tests, once per backend.
// ---------------------------------------------------------------------------

async fn trusted_ca_relays_200_with_bytes_and_headers(tls: Tls) {
    let ca = Authority::new("axum-download test CA");
    let base = start_upstream(ca.leaf(&["127.0.0.1"], |_| {})).await;
    let client = Some(tls.trusting(&ca));
    let response = call(Upstream { base, client }, &[]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        header(&response, CONTENT_TYPE),
        Some("text/plain; charset=utf-8")
    );
    let length = REPORT.len().to_string();
    assert_eq!(header(&response, CONTENT_LENGTH), Some(length.as_str()));
    assert_eq!(header(&response, ETAG), Some(REPORT_TAG));
    assert_eq!(header(&response, LAST_MODIFIED), Some(REPORT_DATE));
    assert_eq!(
        header(&response, CONTENT_DISPOSITION),
        Some("attachment; filename=\"report.txt\"")
    );
    assert_eq!(body(response).await, REPORT);
}

async fn trusted_ca_range_relays_206(tls: Tls) {
    let ca = Authority::new("axum-download test CA");
    let base = start_upstream(ca.leaf(&["127.0.0.1"], |_| {})).await;
    let client = Some(tls.trusting(&ca));
    let response = call(Upstream { base, client }, &[("range", "bytes=0-9")]).await;
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    let range = format!("bytes 0-9/{}", REPORT.len());
    assert_eq!(header(&response, CONTENT_RANGE), Some(range.as_str()));
    assert_eq!(header(&response, CONTENT_LENGTH), Some("10"));
    assert_eq!(body(response).await, &REPORT[..10]);
}

async fn certificate_from_untrusted_ca_answers_502(tls: Tls) {
    let trusted = Authority::new("axum-download test CA");
    let other = Authority::new("some other CA");
    let base = start_upstream(other.leaf(&["127.0.0.1"], |_| {})).await;
    let client = Some(tls.trusting(&trusted));
    assert_refused(Upstream { base, client }, UNKNOWN_ISSUER).await;
}

async fn certificate_for_another_host_answers_502(tls: Tls) {
    let ca = Authority::new("axum-download test CA");
    let base = start_upstream(ca.leaf(&["files.example"], |_| {})).await;
    let client = Some(tls.trusting(&ca));
    assert_refused(
        Upstream { base, client },
        &["not valid for name", "ip address mismatch"],
    )
    .await;
}

async fn expired_certificate_answers_502(tls: Tls) {
    let ca = Authority::new("axum-download test CA");
    let identity = ca.leaf(&["127.0.0.1"], |params| {
        params.not_before = rcgen::date_time_ymd(2020, 1, 1);
        params.not_after = rcgen::date_time_ymd(2021, 1, 1);
    });
    let base = start_upstream(identity).await;
    let client = Some(tls.trusting(&ca));
    assert_refused(Upstream { base, client }, &["expired"]).await;
}

async fn metadata_first_reads_the_bytes_with_the_same_client(tls: Tls) {
    let ca = Authority::new("axum-download test CA");
    let base = start_upstream(ca.leaf(&["127.0.0.1"], |_| {})).await;
    // The metadata by `HEAD`, then the bytes by a `GET` when the body is read.
    let download = HttpDownload::new(format!("{base}/report.txt"))
        .client(tls.trusting(&ca))
        .metadata_first()
        .await
        .unwrap();
    let response = axum::response::IntoResponse::into_response(download);
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, ETAG), Some(REPORT_TAG));
    assert_eq!(body(response).await, REPORT);
}

/// One `#[tokio::test]` per scenario above, for one backend.
macro_rules! tests_for {
    ($backend:expr => $($scenario:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $scenario() {
                super::$scenario($backend).await;
            }
        )*
    };
}

#[cfg(feature = "rustls")]
mod rustls_backend {
    tests_for!(super::Tls::Rustls =>
        trusted_ca_relays_200_with_bytes_and_headers,
        trusted_ca_range_relays_206,
        certificate_from_untrusted_ca_answers_502,
        certificate_for_another_host_answers_502,
        expired_certificate_answers_502,
        metadata_first_reads_the_bytes_with_the_same_client,
    );
}

#[cfg(feature = "native-tls")]
mod native_tls_backend {
    tests_for!(super::Tls::Native =>
        trusted_ca_relays_200_with_bytes_and_headers,
        trusted_ca_range_relays_206,
        certificate_from_untrusted_ca_answers_502,
        certificate_for_another_host_answers_502,
        expired_certificate_answers_502,
        metadata_first_reads_the_bytes_with_the_same_client,
    );
}

// ---------------------------------------------------------------------------
// The built-in client.
// ---------------------------------------------------------------------------

#[tokio::test]
async fn built_in_client_refuses_self_signed_upstream_with_502() {
    let base = start_upstream(self_signed()).await;
    let why = ["unknownissuer", "self-signed", "self signed"];
    assert_refused(Upstream { base, client: None }, &why).await;
}

#[tokio::test]
async fn built_in_client_refuses_upstream_of_a_private_ca_with_502() {
    let ca = Authority::new("axum-download test CA");
    let base = start_upstream(ca.leaf(&["127.0.0.1"], |_| {})).await;
    assert_refused(Upstream { base, client: None }, UNKNOWN_ISSUER).await;
}
