//! criterion micro-benchmarks of axum-download's pure hot paths: the RFC 9110
//! engine (`decide`, with the `Conditions` capture the layer does per
//! request), `Content-Disposition` formatting, and hand-off rule matching.
//!
//! ```text
//! cargo bench --manifest-path bench/Cargo.toml -p micro
//! ```

use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use axum_download::{Conditions, DownloadSettings};
use axum_download::file::{FileMeta};
use axum_download::offload::{Backend, Rule};
use axum_download::rfc9110::{content_disposition, decide, Disposition, ETag, Validators};
use criterion::{criterion_group, criterion_main, Criterion};
use http::{HeaderMap, HeaderValue, Method};

/// The validators of a 512 MiB file, as a local file gets them.
fn validators() -> Validators {
    Validators {
        etag: Some(ETag::strong("2b4f1a-20000000-18a1b2c3d4e5f600")),
        last_modified: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)),
    }
}

const LENGTH: u64 = 512 * 1024 * 1024;

fn conditions(headers: &[(&'static str, &'static str)]) -> Conditions {
    let mut map = HeaderMap::new();
    // Headers a browser sends that the engine must skip.
    map.insert("host", HeaderValue::from_static("127.0.0.1:8000"));
    map.insert("user-agent", HeaderValue::from_static("Mozilla/5.0 (X11)"));
    map.insert("accept", HeaderValue::from_static("*/*"));
    for (name, value) in headers {
        map.append(*name, HeaderValue::from_static(value));
    }
    Conditions::new(&Method::GET, &map)
}

fn bench_decide(c: &mut Criterion) {
    let validators = validators();
    let cases: [(&str, Vec<(&'static str, &'static str)>); 6] = [
        ("no_headers", vec![]),
        (
            "if_none_match_hit",
            vec![("if-none-match", "\"2b4f1a-20000000-18a1b2c3d4e5f600\"")],
        ),
        (
            "if_none_match_list_miss",
            vec![("if-none-match", "\"a\", W/\"b\", \"c\", \"d\"")],
        ),
        (
            "if_modified_since",
            vec![("if-modified-since", "Wed, 15 Nov 2023 00:00:00 GMT")],
        ),
        ("range_single", vec![("range", "bytes=1048576-2097151")]),
        (
            "range_multipart",
            vec![(
                "range",
                "bytes=0-99, 200-299, 250-1023, 4096-8191, -500, 1048576-",
            )],
        ),
    ];
    let mut group = c.benchmark_group("decide");
    for (name, headers) in &cases {
        let conditions = conditions(headers);
        group.bench_function(*name, |b| {
            b.iter(|| {
                decide(
                    black_box(&conditions),
                    black_box(&validators),
                    black_box(Some(LENGTH)),
                    true,
                )
            });
        });
    }
    group.finish();

    // What the layer does per request before the handler: capture the
    // method and the conditional headers.
    let mut group = c.benchmark_group("conditions_capture");
    let mut plain = HeaderMap::new();
    plain.insert("host", HeaderValue::from_static("127.0.0.1:8000"));
    plain.insert("user-agent", HeaderValue::from_static("wrk"));
    group.bench_function("no_conditional_headers", |b| {
        b.iter(|| Conditions::new(black_box(&Method::GET), black_box(&plain)));
    });
    let mut with_range = plain.clone();
    with_range.insert("range", HeaderValue::from_static("bytes=0-1023"));
    with_range.insert(
        "if-range",
        HeaderValue::from_static("\"2b4f1a-20000000-18a1b2c3d4e5f600\""),
    );
    group.bench_function("range_and_if_range", |b| {
        b.iter(|| Conditions::new(black_box(&Method::GET), black_box(&with_range)));
    });
    group.finish();
}

fn bench_content_disposition(c: &mut Criterion) {
    let mut group = c.benchmark_group("content_disposition");
    for (name, filename) in [
        ("ascii", "annual-report-2024.pdf"),
        ("ascii_space", "annual report 2024.pdf"),
        ("non_ascii", "données é.bin"),
        ("cjk", "日本語のファイル名.pdf"),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| content_disposition(Disposition::Attachment, black_box(Some(filename))));
        });
    }
    group.finish();
}

fn meta(url: Option<&str>, local_path: Option<&str>, relative: Option<&str>) -> FileMeta {
    let mut meta = FileMeta::named("report.pdf");
    meta.size = Some(1024);
    meta.url = url.map(str::to_owned);
    meta.local_path = local_path.map(PathBuf::from);
    meta.relative_path = relative.map(str::to_owned);
    meta
}

fn bench_rules(c: &mut Criterion) {
    let settings = DownloadSettings::new(Backend::Nginx)
        .rule(Rule::nginx("/x-accel/avatars/").source_url("/media/avatars/"))
        .rule(
            Rule::x_sendfile()
                .source_dir("/srv/archive")
                .destination_dir("/mnt/archive"),
        )
        .rule(
            Rule::nginx("/x-accel/")
                .source_url("/media/optimized/")
                .buffering(false),
        );
    let last_rule = meta(
        Some("/media/optimized/docs/2024/annual%20report.pdf"),
        Some("/srv/media/docs/2024/annual report.pdf"),
        Some("docs/2024/annual report.pdf"),
    );
    let source_dir = meta(
        None,
        Some("/srv/archive/2019/scan-0001.tiff"),
        Some("2019/scan-0001.tiff"),
    );
    let no_match = meta(
        Some("/media/private/secret.pdf"),
        Some("/srv/private/secret.pdf"),
        Some("secret.pdf"),
    );
    let mut group = c.benchmark_group("settings_target");
    group.bench_function("third_rule_source_url", |b| {
        b.iter(|| settings.target(black_box(&last_rule)));
    });
    group.bench_function("second_rule_source_dir", |b| {
        b.iter(|| settings.target(black_box(&source_dir)));
    });
    group.bench_function("no_rule_matches", |b| {
        b.iter(|| settings.target(black_box(&no_match)));
    });
    group.finish();

    let rule = Rule::nginx("/x-accel/").source_url("/media/optimized/");
    let mut group = c.benchmark_group("rule_target");
    group.bench_function("single_nginx_rule", |b| {
        b.iter(|| rule.target(black_box(&last_rule), Backend::Nginx));
    });
    group.finish();
}

criterion_group!(
    benches,
    bench_decide,
    bench_content_disposition,
    bench_rules
);
criterion_main!(benches);
