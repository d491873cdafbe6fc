//! Property tests of the public API, each checked against a small model
//! written here: the RFC 9110 engine ([`decide`]: ranges and
//! preconditions), the `Content-Disposition` formatter, path confinement
//! ([`PathDownload::from_root`] on a real temporary tree with links that
//! point outside), and the hand-off rule matcher ([`Rule::target`],
//! [`DownloadSettings::target`], [`encode_path`]).

use std::future::IntoFuture;
use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::response::Response;
use axum_download::file::FileMeta;
use axum_download::offload::{hand_off, Backend, HandOff, Rule, X_SENDFILE};
use axum_download::rfc9110::{
    content_disposition, decide, ByteRange, Decision, Disposition, ETag, Validators, MAX_RANGES,
    MAX_RANGE_SPECS,
};
use axum_download::storage::encode_path;
use axum_download::{Conditions, DownloadSettings, PathDownload};
use http::header::{IF_MATCH, IF_MODIFIED_SINCE, IF_NONE_MATCH, IF_RANGE, IF_UNMODIFIED_SINCE};
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use percent_encoding::percent_decode_str;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

/// `cases` cases, and no regression files written next to the tests: a
/// failure prints its minimal input instead.
fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Runs `decide` on a request made of `method` and `headers`.
fn run(
    method: &Method,
    headers: &[(HeaderName, String)],
    validators: &Validators,
    length: Option<u64>,
    ranges: bool,
) -> Decision {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let value = HeaderValue::from_str(value).expect("generated header values are valid");
        map.append(name.clone(), value);
    }
    decide(&Conditions::new(method, &map), validators, length, ranges)
}

// ---------------------------------------------------------------------------
// 1. Ranges
// ---------------------------------------------------------------------------

/// One generated `Range` specifier, as the model understands it.
#[derive(Debug, Clone)]
enum Spec {
    /// `first-last`, `first <= last`.
    FromTo(u64, u64),
    /// `first-`.
    Open(u64),
    /// `-suffix`.
    Suffix(u64),
    /// Reversed or malformed: the whole header is ignored.
    Invalid,
    /// Blank: an empty list element, skipped.
    Empty,
}

#[derive(Debug, Clone)]
struct Item {
    spec: Spec,
    text: String,
}

/// Malformed specifiers (each one makes the whole header invalid).
const GARBAGE: &[&str] = &[
    "abc",
    "1-2-3",
    "--1",
    "+1-2",
    "-",
    "1 -2",
    "1- 2",
    "0x1-2",
    "-1-",
    "1-a",
    "a-1",
    "1.5-2",
    "=",
    "bytes=0-1",
    "0-1é",
    "-+1",
    "1_000-2",
    "١-٢",
];

/// A position: its text in the header and its (saturated) value.
fn number(length: u64) -> BoxedStrategy<(String, u64)> {
    let high = length.saturating_mul(2).saturating_add(2);
    prop_oneof![
        6 => (0..=high).prop_map(|n| (n.to_string(), n)),
        2 => (length.saturating_sub(2)..=length.saturating_add(2)).prop_map(|n| (n.to_string(), n)),
        1 => Just((u64::MAX.to_string(), u64::MAX)),
        1 => Just(((u64::MAX - 1).to_string(), u64::MAX - 1)),
        // 21 digits or more: past u64::MAX, saturates.
        1 => "[1-9][0-9]{20,40}".prop_map(|s| (s, u64::MAX)),
        1 => (0..=high, 1..4usize).prop_map(|(n, zeros)| (format!("{}{n}", "0".repeat(zeros)), n)),
    ]
    .boxed()
}

fn padding() -> impl Strategy<Value = &'static str> {
    prop_oneof![6 => Just(""), 1 => Just(" "), 1 => Just("\t"), 1 => Just("  ")]
}

fn item(length: u64, with_invalid: bool) -> BoxedStrategy<Item> {
    let from_to = (number(length), number(length), any::<bool>()).prop_map(|(a, b, reverse)| {
        let (lo, hi) = if a.1 <= b.1 { (a, b) } else { (b, a) };
        if reverse && lo.1 < hi.1 {
            (Spec::Invalid, format!("{}-{}", hi.0, lo.0))
        } else {
            (Spec::FromTo(lo.1, hi.1), format!("{}-{}", lo.0, hi.0))
        }
    });
    // A short range, so that several stay apart (multipart answers).
    let short =
        (0..=length.saturating_add(2), 0..=(length / 16).max(2)).prop_map(|(first, span)| {
            (
                Spec::FromTo(first, first + span),
                format!("{first}-{}", first + span),
            )
        });
    let open = number(length).prop_map(|n| (Spec::Open(n.1), format!("{}-", n.0)));
    let suffix = number(length).prop_map(|n| (Spec::Suffix(n.1), format!("-{}", n.0)));
    let body = if with_invalid {
        prop_oneof![
            3 => from_to,
            4 => short.clone(),
            2 => open,
            2 => suffix,
            1 => select(GARBAGE).prop_map(|g| (Spec::Invalid, g.to_owned())),
            1 => Just((Spec::Empty, String::new())),
        ]
        .boxed()
    } else {
        // Reversed ones are turned valid below.
        prop_oneof![3 => from_to, 4 => short, 1 => open, 1 => suffix].boxed()
    };
    (padding(), body, padding())
        .prop_map(move |(left, (spec, text), right)| {
            let (spec, text) = match spec {
                Spec::Invalid if !with_invalid => (Spec::Empty, String::new()),
                other => (other, text),
            };
            Item {
                spec,
                text: format!("{left}{text}{right}"),
            }
        })
        .boxed()
}

/// A `Range` header: (length, unit is `bytes`, specifiers, header text).
fn range_case() -> impl Strategy<Value = (u64, bool, Vec<Item>, String)> {
    prop_oneof![3 => 0..=3u64, 2 => 0..64u64, 5 => 0..10_000u64]
        .prop_flat_map(|length| {
            let items = prop_oneof![
                4 => vec(item(length, false), 1..6),
                2 => vec(item(length, false), 6..24),
                3 => vec(item(length, true), 0..8),
                // Around MAX_RANGE_SPECS, all valid: the count decides.
                1 => vec(item(length, false), 90..110),
            ];
            let unit = prop_oneof![
                8 => select(&[
                    ("bytes", true),
                    ("Bytes", true),
                    ("BYTES", true),
                    ("bytes ", true),
                    (" bytes", true),
                ][..]),
                1 => select(&[("items", false), ("byte", false), ("", false)][..]),
            ];
            let separator = select(&[",", ", ", " ,", ",,"][..]);
            (Just(length), unit, items, separator)
        })
        .prop_map(|(length, (unit, unit_ok), items, separator)| {
            let texts: Vec<&str> = items.iter().map(|i| i.text.as_str()).collect();
            let header = format!("{unit}={}", texts.join(separator));
            (length, unit_ok, items, header)
        })
}

/// The bytes a satisfiable specifier asks for, `None` when unsatisfiable.
fn spec_bytes(spec: &Spec, length: u64) -> Option<(u64, u64)> {
    match *spec {
        Spec::FromTo(first, last) if first < length => {
            Some((first, last.saturating_add(1).min(length)))
        }
        Spec::Open(first) if first < length => Some((first, length)),
        Spec::Suffix(n) if n > 0 && length > 0 => Some((length - n.min(length), length)),
        _ => None,
    }
}

/// The reference model's union of requested bytes, as maximal runs.
fn runs(intervals: &[(u64, u64)], length: u64) -> Vec<ByteRange> {
    let len = usize::try_from(length).expect("small length");
    let mut depth = vec![0i64; len + 1];
    for &(start, end) in intervals {
        depth[usize::try_from(start).unwrap()] += 1;
        depth[usize::try_from(end).unwrap()] -= 1;
    }
    let mut out = Vec::new();
    let mut level = 0;
    let mut open = None;
    for (i, delta) in depth.iter().enumerate() {
        level += delta;
        match (level > 0, open) {
            (true, None) => open = Some(i as u64),
            (false, Some(start)) => {
                out.push(ByteRange {
                    start,
                    end: i as u64,
                });
                open = None;
            }
            _ => {}
        }
    }
    assert!(open.is_none(), "every run ends by the length");
    out
}

/// The covered bytes of an engine answer, as maximal runs.
fn covered(ranges: &[ByteRange], length: u64) -> Vec<ByteRange> {
    let intervals: Vec<(u64, u64)> = ranges.iter().map(|r| (r.start, r.end)).collect();
    runs(&intervals, length)
}

fn decide_range(header: &str, length: u64) -> Decision {
    run(
        &Method::GET,
        &[(http::header::RANGE, header.to_owned())],
        &Validators::default(),
        Some(length),
        true,
    )
}

fn arbitrary_header_value() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[ -~]{0,3000}",
        3 => "bytes=[0-9,\\- ]{0,3000}",
        1 => "bytes=[0-9]{0,3000}-[0-9]{0,3000}",
        1 => "[\"W/,* a-c]{0,3000}",
        1 => vec("[0-9]{0,4}-[0-9]{0,4}", 0..600).prop_map(|v| format!("bytes={}", v.join(","))),
    ]
}

proptest! {
    #![proptest_config(config(2048))]

    /// The engine's range answer is well-formed and covers exactly the
    /// satisfiable requested bytes (checked against a run-length model).
    #[test]
    fn range_answer_covers_exactly_the_satisfiable_requested_bytes(
        (length, unit_ok, items, header) in range_case()
    ) {
        let decision = decide_range(&header, length);

        let listed: Vec<&Spec> = items
            .iter()
            .map(|i| &i.spec)
            .filter(|s| !matches!(s, Spec::Empty))
            .collect();
        let valid = unit_ok
            && !listed.is_empty()
            && listed.len() <= MAX_RANGE_SPECS
            && !listed.iter().any(|s| matches!(s, Spec::Invalid));
        let requested: Vec<(u64, u64)> =
            listed.iter().filter_map(|s| spec_bytes(s, length)).collect();
        // The brief's own definition of a satisfiable specifier.
        let satisfiable = listed.iter().any(|s| match **s {
            Spec::FromTo(first, _) | Spec::Open(first) => first < length,
            Spec::Suffix(n) => n > 0 && length > 0,
            _ => false,
        });
        prop_assert_eq!(satisfiable, !requested.is_empty());

        // Shape invariants.
        match &decision {
            Decision::Partial(r) => {
                prop_assert!(!r.is_empty() && r.end <= length, "{:?}", r);
            }
            Decision::MultiPart(parts) => {
                prop_assert!((2..=MAX_RANGES).contains(&parts.len()), "{} parts", parts.len());
                for r in parts {
                    prop_assert!(!r.is_empty() && r.end <= length, "{:?}", r);
                }
                for pair in parts.windows(2) {
                    // Sorted, not overlapping and not adjacent.
                    prop_assert!(pair[0].end < pair[1].start, "{:?}", pair);
                }
            }
            Decision::RangeNotSatisfiable => {
                prop_assert!(valid, "416 for a header that should be ignored");
                prop_assert!(length == 0 || !satisfiable, "416 with a satisfiable spec");
            }
            Decision::Full => {}
            other => prop_assert!(false, "a Range alone never gives {:?}", other),
        }

        // Coverage: the union of the answer is the union of the request.
        let want = runs(&requested, length);
        match &decision {
            Decision::Partial(r) => prop_assert_eq!(covered(&[*r], length), want.clone()),
            Decision::MultiPart(parts) => prop_assert_eq!(covered(parts, length), want.clone()),
            _ => {}
        }

        // The whole model.
        let expected = if !valid {
            Decision::Full
        } else if !satisfiable {
            Decision::RangeNotSatisfiable
        } else if want.len() == 1 {
            Decision::Partial(want[0])
        } else if want.len() > MAX_RANGES {
            Decision::Full
        } else {
            Decision::MultiPart(want)
        };
        prop_assert_eq!(decision, expected);
    }
}

proptest! {
    #![proptest_config(config(512))]

    /// Any visible-ASCII value in any of the engine's headers: no panic,
    /// a quick answer, and a range answer still within the length.
    #[test]
    fn decide_never_panics_and_returns_quickly_on_any_header_value(
        range in arbitrary_header_value(),
        others in vec(proptest::option::of("[ -~]{0,300}"), 5),
        length in proptest::option::of(0..10_000u64),
        method in select(vec![Method::GET, Method::HEAD, Method::POST]),
        ranges in any::<bool>(),
    ) {
        let mut headers = vec![(http::header::RANGE, range)];
        for (name, value) in
            [IF_MATCH, IF_NONE_MATCH, IF_MODIFIED_SINCE, IF_UNMODIFIED_SINCE, IF_RANGE]
                .into_iter()
                .zip(others)
        {
            if let Some(value) = value {
                headers.push((name, value));
            }
        }
        let validators = Validators {
            etag: Some(ETag::strong("abc")),
            last_modified: Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000)),
        };
        let started = Instant::now();
        let decision = run(&method, &headers, &validators, length, ranges);
        let took = started.elapsed();
        prop_assert!(took < Duration::from_millis(250), "took {:?}", took);
        let limit = length.unwrap_or(0);
        match decision {
            Decision::Partial(r) => prop_assert!(!r.is_empty() && r.end <= limit),
            Decision::MultiPart(parts) => {
                prop_assert!((2..=MAX_RANGES).contains(&parts.len()));
                prop_assert!(parts.iter().all(|r| !r.is_empty() && r.end <= limit));
            }
            _ => {}
        }
    }
}

// ---------------------------------------------------------------------------
// 2. Preconditions
// ---------------------------------------------------------------------------

/// 9999-12-31T23:59:59Z, the last second an HTTP date can name.
const LAST_HTTP_SECOND: u64 = 253_402_300_799;

fn http_date(secs: u64) -> String {
    httpdate::fmt_http_date(UNIX_EPOCH + Duration::from_secs(secs))
}

fn tag_text() -> impl Strategy<Value = String> {
    // A tiny alphabet so generated tags often collide with the current one.
    prop_oneof![2 => "[a-c]{0,2}", 1 => "[!#-~]{0,8}"]
}

fn etag() -> impl Strategy<Value = ETag> {
    (tag_text(), any::<bool>()).prop_map(|(tag, weak)| {
        if weak {
            ETag::weak(tag)
        } else {
            ETag::strong(tag)
        }
    })
}

fn render(tag: &ETag) -> String {
    tag.to_header_value()
        .to_str()
        .expect("entity tags are visible ASCII")
        .to_owned()
}

/// An entity-tag list header over one or more lines, members from `members`.
fn list_lines(
    name: &HeaderName,
    members: &[String],
    separator: &str,
    split: usize,
) -> Vec<(HeaderName, String)> {
    let split = split.min(members.len());
    let (first, second) = members.split_at(split);
    [first, second]
        .into_iter()
        .filter(|part| !part.is_empty())
        .map(|part| (name.clone(), part.join(separator)))
        .collect()
}

fn list_separator() -> impl Strategy<Value = &'static str> {
    select(&[",", ", ", " , ", ",\t"][..])
}

/// Some modification time (with a sub-second part) and its whole second.
fn modified() -> impl Strategy<Value = (u64, SystemTime)> {
    (
        prop_oneof![1 => Just(0u64), 1 => Just(LAST_HTTP_SECOND), 6 => 0..=LAST_HTTP_SECOND],
        0..1_000_000_000u32,
    )
        .prop_map(|(secs, nanos)| {
            (
                secs,
                UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_nanos(u64::from(nanos)),
            )
        })
}

/// A date near `secs`, within HTTP dates.
fn near(secs: u64, delta: i64) -> u64 {
    secs.saturating_add_signed(delta).min(LAST_HTTP_SECOND)
}

fn date_delta() -> impl Strategy<Value = i64> {
    prop_oneof![4 => -3..=3i64, 1 => -100_000_000..=100_000_000i64]
}

/// Values for the headers a property does not constrain: realistic ones,
/// garbage, and nothing.
fn any_value_of(name: HeaderName) -> BoxedStrategy<Option<(HeaderName, String)>> {
    let value: BoxedStrategy<String> = if name == http::header::RANGE {
        prop_oneof![
            Just("bytes=0-0".to_owned()),
            Just("bytes=-5".to_owned()),
            Just("bytes=0-1,5-9".to_owned()),
            Just("bytes=99999-".to_owned()),
            "[ -~]{0,20}",
        ]
        .boxed()
    } else if name == IF_MATCH || name == IF_NONE_MATCH {
        prop_oneof![
            Just("*".to_owned()),
            vec(etag(), 0..4).prop_map(|v| v.iter().map(render).collect::<Vec<_>>().join(", ")),
            "[ -~]{0,20}",
        ]
        .boxed()
    } else {
        prop_oneof![
            (0..=LAST_HTTP_SECOND).prop_map(http_date),
            etag().prop_map(|t| render(&t)),
            "[ -~]{0,20}",
        ]
        .boxed()
    };
    proptest::option::of(value.prop_map(move |v| (name.clone(), v))).boxed()
}

fn any_method() -> impl Strategy<Value = Method> {
    select(vec![
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::OPTIONS,
        Method::PATCH,
    ])
}

proptest! {
    #![proptest_config(config(1024))]

    /// `If-None-Match` listing the current tag (strong or weak, anywhere in
    /// the list, over one or two lines) is 304 for GET and HEAD when there
    /// is no `If-Match`; only a failing `If-Unmodified-Since` (evaluated
    /// first) can turn it into 412.
    #[test]
    fn if_none_match_with_current_tag_is_not_modified(
        current in etag(),
        others in vec(etag(), 0..4),
        position in any::<prop::sample::Index>(),
        current_as_weak in any::<bool>(),
        star in any::<bool>(),
        separator in list_separator(),
        split in 0..6usize,
        (secs, last_modified) in modified(),
        has_last_modified in any::<bool>(),
        unmodified_since in proptest::option::of(date_delta()),
        noise in (
            any_value_of(IF_MODIFIED_SINCE),
            any_value_of(IF_RANGE),
            any_value_of(http::header::RANGE),
        ),
        head in any::<bool>(),
        length in proptest::option::of(0..10_000u64),
    ) {
        let mut members: Vec<String> = others.iter().map(render).collect();
        let listed = if current_as_weak {
            ETag::weak(current.tag())
        } else {
            ETag::strong(current.tag())
        };
        members.insert(position.index(members.len() + 1), render(&listed));
        if star {
            members.push("*".to_owned());
        }
        let mut headers = list_lines(&IF_NONE_MATCH, &members, separator, split);
        let unmodified_since = unmodified_since.map(|d| near(secs, d));
        if let Some(since) = unmodified_since {
            headers.push((IF_UNMODIFIED_SINCE, http_date(since)));
        }
        headers.extend([noise.0, noise.1, noise.2].into_iter().flatten());
        let validators = Validators {
            etag: Some(current),
            last_modified: has_last_modified.then_some(last_modified),
        };
        let method = if head { Method::HEAD } else { Method::GET };
        let decision = run(&method, &headers, &validators, length, true);

        let unmodified_fails =
            has_last_modified && unmodified_since.is_some_and(|since| secs > since);
        let expected = if unmodified_fails {
            Decision::PreconditionFailed
        } else {
            Decision::NotModified
        };
        prop_assert_eq!(decision, expected, "{:?}", headers);
    }

    /// A well-formed `If-Match` that does not strongly match the current
    /// tag (weak tags never match, no tag never matches) is 412, whatever
    /// the method and the other headers.
    #[test]
    fn failing_if_match_is_always_precondition_failed(
        current in proptest::option::of(etag()),
        members in vec(etag(), 1..5),
        add_weak_current in any::<bool>(),
        separator in list_separator(),
        split in 0..6usize,
        noise in (
            any_value_of(IF_NONE_MATCH),
            any_value_of(IF_MODIFIED_SINCE),
            any_value_of(IF_UNMODIFIED_SINCE),
            any_value_of(IF_RANGE),
            any_value_of(http::header::RANGE),
        ),
        last_modified in proptest::option::of(modified()),
        method in any_method(),
        length in proptest::option::of(0..10_000u64),
        ranges in any::<bool>(),
    ) {
        // Make every member fail the strong comparison.
        let mut members: Vec<ETag> = members
            .into_iter()
            .map(|m| match &current {
                Some(c) if !c.is_weak() && !m.is_weak() && m.tag() == c.tag() => {
                    ETag::weak(m.tag())
                }
                _ => m,
            })
            .collect();
        if let (true, Some(c)) = (add_weak_current, &current) {
            members.push(ETag::weak(c.tag()));
        }
        let rendered: Vec<String> = members.iter().map(render).collect();
        let mut headers = list_lines(&IF_MATCH, &rendered, separator, split);
        headers.extend([noise.0, noise.1, noise.2, noise.3, noise.4].into_iter().flatten());
        let validators = Validators {
            etag: current,
            last_modified: last_modified.map(|(_, t)| t),
        };
        let decision = run(&method, &headers, &validators, length, ranges);
        prop_assert_eq!(decision, Decision::PreconditionFailed, "{:?}", headers);
    }

    /// Without `If-None-Match`, `If-Modified-Since` at or after the
    /// modification second is 304 for GET and HEAD (once `If-Match` /
    /// `If-Unmodified-Since` pass), and before it is never 304.
    #[test]
    fn if_modified_since_at_or_after_modification_is_not_modified(
        (secs, last_modified) in modified(),
        since_delta in date_delta(),
        current in proptest::option::of(tag_text().prop_map(ETag::strong)),
        if_match_mode in 0..3u8,
        unmodified_since in proptest::option::of(date_delta()),
        noise in (any_value_of(IF_RANGE), any_value_of(http::header::RANGE)),
        head in any::<bool>(),
        length in proptest::option::of(0..10_000u64),
    ) {
        let since = near(secs, since_delta);
        let mut headers = vec![(IF_MODIFIED_SINCE, http_date(since))];
        let has_if_match = match (if_match_mode, &current) {
            (1, _) => {
                headers.push((IF_MATCH, "*".to_owned()));
                true
            }
            (2, Some(tag)) => {
                headers.push((IF_MATCH, format!("\"zz\", {}", render(tag))));
                true
            }
            _ => false,
        };
        let unmodified_since = unmodified_since.map(|d| near(secs, d));
        if let Some(u) = unmodified_since {
            headers.push((IF_UNMODIFIED_SINCE, http_date(u)));
        }
        headers.extend([noise.0, noise.1].into_iter().flatten());
        let validators = Validators {
            etag: current,
            last_modified: Some(last_modified),
        };
        let method = if head { Method::HEAD } else { Method::GET };
        let decision = run(&method, &headers, &validators, length, true);

        let precondition_fails = !has_if_match && unmodified_since.is_some_and(|u| secs > u);
        if precondition_fails {
            prop_assert_eq!(decision, Decision::PreconditionFailed, "{:?}", headers);
        } else if since >= secs {
            prop_assert_eq!(decision, Decision::NotModified, "{:?}", headers);
        } else {
            prop_assert!(
                !matches!(decision, Decision::NotModified | Decision::PreconditionFailed),
                "{:?} for {:?}",
                decision,
                headers
            );
        }
    }
}

// ---------------------------------------------------------------------------
// 3. Content-Disposition
// ---------------------------------------------------------------------------

const NAME_PIECES: &[&str] = &[
    "a",
    "Z",
    "0",
    ".",
    ".txt",
    " ",
    "\t",
    "\r",
    "\n",
    "\r\nSet-Cookie: x=y",
    "\"",
    "\\",
    "%",
    "%41",
    "'",
    ";",
    "=",
    "*",
    "filename*=UTF-8''evil",
    "é",
    "e\u{301}",
    "\u{301}",
    "ﬁ",
    "日本語",
    "\u{0}",
    "\u{7f}",
    "\u{85}",
    "\u{202e}",
    "\u{feff}",
    "😀",
    "／",
    "‥",
];

fn file_name() -> impl Strategy<Value = String> {
    prop_oneof![
        2 => any::<String>(),
        2 => vec(select(NAME_PIECES), 1..8).prop_map(|v| v.concat()),
        1 => "\\PC{1,16}",
        1 => "[ -~]{1,16}",
    ]
    .prop_filter("a non-empty name", |s| !s.is_empty())
}

/// RFC 8187 `attr-char`.
fn is_attr_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b)
}

/// Splits a formatted value into the unescaped quoted fallback and the
/// encoded `filename*` value, if any.
fn parse_disposition(value: &str, kind: &str) -> Result<(String, Option<String>), String> {
    let prefix = format!("{kind}; filename=\"");
    let rest = value
        .strip_prefix(&prefix)
        .ok_or_else(|| format!("{value:?} does not start with {prefix:?}"))?;
    let mut fallback = String::new();
    let mut chars = rest.char_indices();
    let after = loop {
        match chars.next() {
            Some((_, '\\')) => match chars.next() {
                Some((_, c)) => fallback.push(c),
                None => return Err(format!("{value:?}: dangling backslash")),
            },
            Some((i, '"')) => break &rest[i + 1..],
            Some((_, c)) => fallback.push(c),
            None => return Err(format!("{value:?}: unterminated quoted string")),
        }
    };
    if after.is_empty() {
        return Ok((fallback, None));
    }
    let extended = after
        .strip_prefix("; filename*=UTF-8''")
        .ok_or_else(|| format!("{value:?}: unexpected {after:?} after the quoted name"))?;
    Ok((fallback, Some(extended.to_owned())))
}

proptest! {
    #![proptest_config(config(2048))]

    /// Any non-empty Unicode name gives a visible-ASCII value whose quoted
    /// fallback is ASCII and whose `filename*` decodes to the exact name
    /// (or, without `filename*`, whose fallback is the exact name).
    #[test]
    fn content_disposition_is_ascii_and_round_trips_the_name(
        name in file_name(),
        inline in any::<bool>(),
    ) {
        let (disposition, kind) = if inline {
            (Disposition::Inline, "inline")
        } else {
            (Disposition::Attachment, "attachment")
        };
        let value = content_disposition(disposition, Some(&name));
        prop_assert!(
            value.bytes().all(|b| (0x20..=0x7e).contains(&b)),
            "not visible ASCII: {:?}",
            value
        );
        prop_assert!(!value.contains(['\r', '\n']));
        prop_assert!(HeaderValue::from_str(&value).is_ok());
        let (fallback, extended) = parse_disposition(&value, kind).map_err(TestCaseError::fail)?;
        prop_assert!(fallback.is_ascii(), "fallback {:?}", fallback);
        match extended {
            Some(encoded) => {
                let mut bytes = encoded.bytes();
                while let Some(b) = bytes.next() {
                    if b == b'%' {
                        let hex: Vec<u8> = bytes.by_ref().take(2).collect();
                        prop_assert!(
                            hex.len() == 2 && hex.iter().all(u8::is_ascii_hexdigit),
                            "bad escape in {:?}",
                            encoded
                        );
                    } else {
                        prop_assert!(is_attr_char(b), "{:?} in {:?}", b as char, encoded);
                    }
                }
                let decoded = percent_decode_str(&encoded).decode_utf8();
                prop_assert_eq!(decoded.as_deref().ok(), Some(name.as_str()));
            }
            None => prop_assert_eq!(&fallback, &name),
        }
    }
}

// ---------------------------------------------------------------------------
// 4. Path confinement
// ---------------------------------------------------------------------------

#[cfg(unix)]
mod confinement {
    use super::*;
    use axum_download::test_util::TempMediaRoot;

    thread_local! {
        static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("a current-thread runtime");
    }

    fn block_on<F: IntoFuture>(future: F) -> F::Output {
        RUNTIME.with(|rt| rt.block_on(future.into_future()))
    }

    /// A root with files, a directory, links inside and out; a directory
    /// and a file outside it (siblings), and a link to the root itself.
    struct Tree {
        _media: TempMediaRoot,
        base: PathBuf,
        root: PathBuf,
    }

    fn tree() -> Tree {
        let media = TempMediaRoot::new();
        let base = media.path().canonicalize().expect("canonical temp dir");
        let root = base.join("root");
        media.dir("root/sub/deeper");
        media.dir("root/dir_only");
        media.dir("outside");
        for (path, text) in [
            ("root/a.txt", "a"),
            ("root/sub/b.txt", "b"),
            ("root/sub/deeper/c.txt", "c"),
            ("root/é.txt", "accent"),
            ("root/%2e%2e", "a file named %2e%2e"),
            ("root/..a", "dots in a name"),
            ("root/CON", "device name"),
            ("root/nul.txt", "device name"),
            ("root/C:", "drive-looking name"),
            ("outside/d.txt", "outside"),
            ("secret.txt", "secret"),
        ] {
            media.file(path, text);
        }
        for (link, target) in [
            ("root/link_out", "../outside"),
            ("root/link_secret", "../secret.txt"),
            ("root/link_up", ".."),
            ("root/link_abs", "/etc/passwd"),
            ("root/link_in", "a.txt"),
            ("root/sub/link_sibling", "../a.txt"),
            ("root/link_dot", "."),
            ("rootlink", "root"),
        ] {
            media.symlink(link, target);
        }
        Tree {
            _media: media,
            base,
            root,
        }
    }

    const PATH_PIECES: &[&str] = &[
        "..",
        "..",
        ".",
        "/",
        "/",
        "/",
        "\\",
        "%2e",
        "%2e%2e",
        "%2E%2E",
        "%2f",
        "%2F",
        "%5c",
        "\0",
        "C:",
        "c:",
        "CON",
        "con.txt",
        "nul.txt",
        "COM1",
        "a.txt",
        "sub",
        "deeper",
        "b.txt",
        "c.txt",
        "é.txt",
        "e\u{301}.txt",
        "outside",
        "secret.txt",
        "d.txt",
        "root",
        "rootlink",
        "dir_only",
        "link_out",
        "link_secret",
        "link_up",
        "link_abs",
        "link_in",
        "link_sibling",
        "link_dot",
        "etc",
        "passwd",
        "..a",
        "日本",
        "\u{202e}",
        " ",
        "",
    ];

    fn untrusted() -> impl Strategy<Value = String> {
        prop_oneof![
            1 => vec(select(PATH_PIECES), 0..10).prop_map(|v| v.concat()),
            1 => vec(select(PATH_PIECES), 0..8).prop_map(|v| v.join("/")),
            1 => (
                select(&["", "/", "./", "../", "..\\", "C:/", "//"][..]),
                vec(select(PATH_PIECES), 0..6)
            )
                .prop_map(|(lead, v)| format!("{lead}{}", v.join("/"))),
            // Real paths, inside and out, with noise between the segments.
            3 => (
                select(KNOWN_PATHS),
                vec((proptest::option::of(select(NOISE)), select(&["/", "/", "//", "\\"][..])), 8),
            )
                .prop_map(|(known, noise)| {
                    let mut out = String::new();
                    for (i, segment) in known.split('/').enumerate() {
                        let (extra, separator) = noise[i % noise.len()];
                        if i > 0 {
                            out.push_str(separator);
                        }
                        if let Some(extra) = extra {
                            out.push_str(extra);
                            out.push('/');
                        }
                        out.push_str(segment);
                    }
                    out
                }),
        ]
    }

    /// Paths of the tree (and through its links), served or not.
    const KNOWN_PATHS: &[&str] = &[
        "a.txt",
        "sub/b.txt",
        "sub/deeper/c.txt",
        "sub/link_sibling",
        "link_in",
        "link_dot/a.txt",
        "link_up/root/a.txt",
        "link_up/rootlink/sub/b.txt",
        "link_up/secret.txt",
        "link_up/outside/d.txt",
        "link_out/d.txt",
        "link_secret",
        "link_abs",
        "é.txt",
        "%2e%2e",
        "..a",
        "CON",
        "nul.txt",
        "C:",
        "dir_only",
        "sub/../a.txt",
        "sub/deeper/../../a.txt",
    ];

    /// What may be slipped between two segments.
    const NOISE: &[&str] = &[".", "", "..", "%2e%2e", "sub", "sub/..", "link_dot", "\0"];

    /// Windows device names, with any extension (the documented refusal).
    fn is_device_name(segment: &str) -> bool {
        let stem = segment.split('.').next().unwrap_or("").trim_end();
        let upper = stem.to_ascii_uppercase();
        ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"].contains(&upper.as_str())
            || ((upper.starts_with("COM") || upper.starts_with("LPT"))
                && upper.len() == 4
                && matches!(upper.as_bytes()[3], b'1'..=b'9'))
    }

    proptest! {
        #![proptest_config(config(512))]

        /// A resolved download's local path is always inside the canonical
        /// root; a path with a `..` component, an absolute or drive path, a
        /// backslash or NUL, or one that resolves outside through a link
        /// is 404. Paths to regular files inside the root do resolve.
        #[test]
        fn path_download_never_leaves_the_root(
            untrusted in untrusted(),
            root_variant in 0..4u8,
        ) {
            let tree = TREE.with(|t| (t.base.clone(), t.root.clone()));
            let (base, root) = tree;
            let canonical_root = root.canonicalize().unwrap();
            let given_root = match root_variant {
                0 => root.clone(),
                1 => PathBuf::from(format!("{}/", root.display())),
                2 => base.join("rootlink"),
                _ => base.join("root/../root"),
            };

            let result = block_on(PathDownload::from_root(&given_root, untrusted.clone()));

            // Would the components leave the root?
            let segments: Vec<&str> = untrusted
                .split('/')
                .filter(|s| !s.is_empty() && *s != ".")
                .collect();
            let bytes = untrusted.as_bytes();
            let drive = bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':';
            let dot_dot = untrusted.split(['/', '\\']).any(|s| s == "..");
            let target = canonical_root.join(segments.iter().collect::<PathBuf>());
            let resolved = target.canonicalize().ok();
            let outside = resolved.as_ref().is_some_and(|r| !r.starts_with(&canonical_root));
            let leaves = dot_dot
                || untrusted.starts_with(['/', '\\'])
                || untrusted.contains(['\\', '\0'])
                || drive
                || outside;
            let refused = leaves
                || segments.is_empty()
                || segments.iter().any(|s| is_device_name(s));
            let servable = !refused && resolved.as_ref().is_some_and(|r| r.is_file());

            match result {
                Ok(download) => {
                    let meta = download.meta();
                    let local = meta.local_path.clone().expect("a local path");
                    let real = local.canonicalize().expect("the served file exists");
                    prop_assert!(
                        real.starts_with(&canonical_root),
                        "{:?} served {:?}, outside {:?}",
                        untrusted,
                        real,
                        canonical_root
                    );
                    prop_assert!(local.starts_with(&given_root), "{:?}", local);
                    prop_assert!(real.is_file());
                    prop_assert!(!leaves, "{:?} should have been refused", untrusted);
                    let relative = meta.relative_path.clone().unwrap_or_default();
                    prop_assert!(
                        !relative.split(['/', '\\']).any(|s| s == ".." || s.is_empty()),
                        "relative path {:?}",
                        relative
                    );
                    prop_assert!(servable, "{:?} served but not expected", untrusted);
                }
                Err(err) => {
                    prop_assert_eq!(err.status(), http::StatusCode::NOT_FOUND, "{}", err);
                    prop_assert!(!servable, "{:?} refused: {}", untrusted, err);
                }
            }
        }
    }

    thread_local! {
        // One tree per test thread; proptest runs a test's cases on its thread.
        static TREE: Tree = tree();
    }

    /// The tree really holds what the property relies on (so a refusal is
    /// never only a missing file).
    #[test]
    fn tree_has_inside_and_outside_targets() {
        let (base, root) = TREE.with(|t| (t.base.clone(), t.root.clone()));
        for served in [
            "a.txt",
            "sub/deeper/c.txt",
            "./sub//b.txt",
            "link_in",
            "é.txt",
        ] {
            let download = block_on(PathDownload::from_root(&root, served))
                .unwrap_or_else(|e| panic!("{served}: {e}"));
            assert!(download.meta().local_path.is_some());
        }
        for refused in [
            "../secret.txt",
            "link_secret",
            "link_out/d.txt",
            "link_up/secret.txt",
            "link_abs",
            "CON",
        ] {
            let err = block_on(PathDownload::from_root(&root, refused)).unwrap_err();
            assert_eq!(err.status(), http::StatusCode::NOT_FOUND, "{refused}");
        }
        assert!(base.join("secret.txt").is_file());
        assert!(base.join("outside/d.txt").is_file());
    }
}

// ---------------------------------------------------------------------------
// 5. Hand-off rules
// ---------------------------------------------------------------------------

const URL_PIECES: &[&str] = &[
    "media",
    "nginxdir",
    "nginxdir-other",
    "-other",
    "..",
    "..",
    ".",
    "%2e%2e",
    "%2E%2e",
    "%2e",
    ".%2e",
    "%2f",
    "%2F",
    "..%2f..",
    "%5c",
    "%5C..",
    "%00",
    "%0a",
    "%0D%0A",
    "%09",
    "%20",
    "%25",
    "%252e%252e",
    "%",
    "%zz",
    "%ff",
    "%c3%a9",
    "%3f",
    "%23",
    "a.txt",
    "é",
    "日本語",
    "?",
    "#",
    "?q=/media/nginxdir/a",
    "#/../x",
    "a b",
    "\t",
    "\\",
    "",
];

fn url() -> impl Strategy<Value = String> {
    prop_oneof![
        (select(&["", "/"][..]), vec(select(URL_PIECES), 0..8))
            .prop_map(|(lead, v)| format!("{lead}{}", v.join("/"))),
        vec(select(URL_PIECES), 0..8).prop_map(|v| format!("/media/nginxdir/{}", v.join("/"))),
        vec(select(URL_PIECES), 0..6).prop_map(|v| format!("/media/nginxdir{}", v.concat())),
        vec(select(URL_PIECES), 0..6).prop_map(|v| format!("/media/{}", v.join("/"))),
        // Mostly harmless segments under the prefix, so that many match.
        vec(
            prop_oneof![4 => select(URL_BENIGN), 1 => select(URL_PIECES)],
            1..6
        )
        .prop_map(|v| format!("/media/nginxdir/{}", v.join("/"))),
    ]
}

const URL_BENIGN: &[&str] = &[
    "a.txt",
    "x",
    "é",
    "日本語",
    "a b",
    "%20",
    "%c3%a9",
    "%25",
    "%",
    "%zz",
    "%3f",
    "%23",
    "",
    "-other",
    "nginxdir",
    "..a",
    "%2e%2e.txt",
];

const DIR_PIECES: &[&str] = &[
    "srv",
    "media",
    "media-other",
    "..",
    "..",
    ".",
    "",
    "%2e%2e",
    "%",
    "%41",
    "a\\..\\b",
    "\\",
    " ",
    "a ",
    "\t",
    "\n",
    "\r",
    "\u{7f}",
    "\u{85}",
    "a.txt",
    "a b",
    "é",
    "日本語",
    "?",
    "#",
    ";",
];

fn local_path() -> impl Strategy<Value = PathBuf> {
    (
        select(
            &[
                "/srv/media",
                "/srv/media/",
                "/srv//media",
                "/srv/./media",
                "/srv/media/..",
                "/srv/media-other",
                "/srv",
                "srv/media",
                "",
                "/",
            ][..],
        ),
        vec(select(DIR_PIECES), 0..6),
    )
        .prop_map(|(lead, v)| PathBuf::from(format!("{lead}/{}", v.join("/"))))
}

/// The hand-off URI invariants: under the destination, encoded, no way up.
fn check_uri(uri: &str) -> Result<(), TestCaseError> {
    prop_assert!(uri.starts_with("/x-accel/"), "{:?}", uri);
    prop_assert!(uri.is_ascii(), "{:?}", uri);
    prop_assert!(
        !uri.chars()
            .any(|c| matches!(c, '?' | '#' | ' ') || c.is_control()),
        "{:?}",
        uri
    );
    let decoded = percent_decode_str(uri).decode_utf8_lossy();
    prop_assert!(
        !decoded.split(['/', '\\']).any(|s| s == ".."),
        "{:?} decodes to {:?}",
        uri,
        decoded
    );
    Ok(())
}

/// The decoded segments after the destination.
fn uri_segments(uri: &str) -> Vec<String> {
    uri.trim_start_matches("/x-accel/")
        .split('/')
        .map(|s| percent_decode_str(s).decode_utf8_lossy().into_owned())
        .collect()
}

/// A segment a hand-off may carry.
fn safe_segment(s: &str) -> bool {
    s != "." && s != ".." && !s.contains(['/', '\\', '\0'])
}

/// The `X-Sendfile` invariants: no `%`, no control byte, a valid header.
fn check_sendfile(path: &Path) -> Result<(), TestCaseError> {
    let text = path.to_str().expect("generated paths are UTF-8");
    prop_assert!(!text.contains('%'), "{:?}", path);
    prop_assert!(
        !text.bytes().any(|b| b < 0x20 || b == 0x7f),
        "control character in X-Sendfile path {:?}",
        path
    );
    prop_assert!(
        !path.components().any(|c| c == Component::ParentDir),
        "{:?}",
        path
    );
    let target = HandOff::XSendfile {
        path: path.to_path_buf(),
    };
    let response = hand_off(Response::new(Body::empty()), &target);
    prop_assert_eq!(
        response
            .headers()
            .get(X_SENDFILE)
            .map(HeaderValue::as_bytes),
        Some(text.as_bytes())
    );
    Ok(())
}

fn meta_with(url: Option<String>, local: Option<PathBuf>, relative: Option<String>) -> FileMeta {
    let mut meta = FileMeta::default();
    meta.url = url;
    meta.local_path = local;
    meta.relative_path = relative;
    meta
}

proptest! {
    #![proptest_config(config(2048))]

    /// `source_url` matches on whole segments only, and the
    /// `X-Accel-Redirect` URI stays under the destination, encoded, with
    /// no `..` even after decoding, carrying exactly the matched segments.
    #[test]
    fn nginx_source_url_rule_matches_whole_segments_and_stays_under_destination(
        url in url(),
    ) {
        let rule = Rule::nginx("/x-accel/").source_url("/media/nginxdir");
        let meta = meta_with(Some(url.clone()), None, None);
        let target = rule.target(&meta, Backend::Development);

        let path = url.split(['?', '#']).next().unwrap_or("");
        let expected: Option<Vec<String>> = path.strip_prefix("/media/nginxdir/").and_then(|rest| {
            let segments: Option<Vec<String>> = rest
                .split('/')
                .filter(|s| !s.is_empty())
                .map(|s| percent_decode_str(s).decode_utf8().ok().map(|s| s.into_owned()))
                .collect();
            segments.filter(|s| !s.is_empty() && s.iter().all(|s| safe_segment(s)))
        });
        match target {
            Some(HandOff::Nginx { uri, .. }) => {
                prop_assert!(path.starts_with("/media/nginxdir/"), "{:?} matched", url);
                check_uri(&uri)?;
                prop_assert_eq!(Some(uri_segments(&uri)), expected, "{:?} -> {:?}", url, uri);
            }
            Some(other) => prop_assert!(false, "nginx rule gave {:?}", other),
            None => prop_assert!(expected.is_none(), "{:?} not matched", url),
        }
    }

    /// `source_dir` matches on whole components of a clean absolute path,
    /// and the URI carries exactly the components below the directory.
    #[test]
    fn nginx_source_dir_rule_matches_components_and_stays_under_destination(
        local in local_path(),
    ) {
        let rule = Rule::nginx("/x-accel/").source_dir("/srv/media");
        let meta = meta_with(None, Some(local.clone()), None);
        let target = rule.target(&meta, Backend::Development);

        let clean = local.is_absolute()
            && !local.components().any(|c| c == Component::ParentDir);
        let expected: Option<Vec<String>> = local
            .strip_prefix("/srv/media")
            .ok()
            .filter(|_| clean)
            .map(|rest| {
                rest.components()
                    .map(|c| c.as_os_str().to_str().unwrap().to_owned())
                    .collect::<Vec<_>>()
            })
            .filter(|s| !s.is_empty() && s.iter().all(|s| safe_segment(s)));
        match target {
            Some(HandOff::Nginx { uri, .. }) => {
                prop_assert!(clean && local.starts_with("/srv/media"), "{:?} matched", local);
                check_uri(&uri)?;
                prop_assert_eq!(Some(uri_segments(&uri)), expected, "{:?} -> {:?}", local, uri);
            }
            Some(other) => prop_assert!(false, "nginx rule gave {:?}", other),
            None => prop_assert!(expected.is_none(), "{:?} not matched", local),
        }
    }

    /// An `X-Sendfile` target is inside the destination directory (or is
    /// the file's own clean path), never holds `%` or a control character,
    /// and is sent byte for byte.
    #[test]
    fn x_sendfile_target_stays_in_destination_without_percent_or_controls(
        local in local_path(),
        relative in "[a-z./]{0,8}",
        rule_kind in 0..3u8,
    ) {
        let (rule, destination) = match rule_kind {
            0 => (
                Rule::x_sendfile().source_dir("/srv/media").destination_dir("/proxy/media"),
                Some(PathBuf::from("/proxy/media")),
            ),
            1 => (Rule::x_sendfile().source_dir("/srv/media"), Some(PathBuf::from("/srv/media"))),
            _ => (Rule::x_sendfile(), None),
        };
        let meta = meta_with(None, Some(local.clone()), Some(relative));
        match rule.target(&meta, Backend::Development) {
            Some(HandOff::XSendfile { path }) => {
                match &destination {
                    Some(dir) => {
                        prop_assert!(path.starts_with(dir) && path != *dir, "{:?} -> {:?}", local, path);
                        prop_assert_eq!(
                            path.strip_prefix(dir).ok(),
                            local.strip_prefix("/srv/media").ok()
                        );
                    }
                    None => {
                        prop_assert_eq!(&path, &local);
                        prop_assert!(path.is_absolute());
                    }
                }
                check_sendfile(&path)?;
            }
            Some(other) => prop_assert!(false, "x-sendfile rule gave {:?}", other),
            None => {}
        }
    }

    /// The `X-Sendfile` value reaches the proxy unchanged: a field value
    /// loses its leading and trailing whitespace (RFC 9110 section 5.5,
    /// OWS), so a path ending in a space or tab would name another file.
    #[test]
    fn x_sendfile_value_survives_field_whitespace_trimming(
        local in local_path(),
        relative in "[a-z./]{0,8}",
        rule_kind in 0..3u8,
    ) {
        let rule = match rule_kind {
            0 => Rule::x_sendfile().source_dir("/srv/media").destination_dir("/proxy/media"),
            1 => Rule::x_sendfile().source_dir("/srv/media"),
            _ => Rule::x_sendfile(),
        };
        let meta = meta_with(None, Some(local), Some(relative));
        if let Some(HandOff::XSendfile { path }) = rule.target(&meta, Backend::Development) {
            let text = path.to_str().expect("generated paths are UTF-8");
            prop_assert_eq!(
                text.trim_matches([' ', '\t']),
                text,
                "the proxy would read {:?}",
                text.trim_matches([' ', '\t'])
            );
        }
    }

    /// Settings try their rules in order: the first target wins, and it
    /// keeps every invariant above.
    #[test]
    fn settings_target_is_the_first_matching_rule(
        url in proptest::option::of(url()),
        local in proptest::option::of(local_path()),
        relative in proptest::option::of("[a-z./]{0,8}"),
    ) {
        let rules = [
            Rule::nginx("/x-accel/").source_url("/media/nginxdir"),
            Rule::nginx("/x-accel/").source_dir("/srv/media"),
            Rule::x_sendfile().source_dir("/srv/media").destination_dir("/proxy/media"),
            Rule::nginx("/x-accel/").catch_all(true),
        ];
        let settings = rules
            .iter()
            .cloned()
            .fold(DownloadSettings::new(Backend::Development), DownloadSettings::rule);
        prop_assert!(settings.validate().is_ok());
        let meta = meta_with(url, local, relative);
        let target = settings.target(&meta);
        let first = rules.iter().find_map(|r| r.target(&meta, Backend::Development));
        prop_assert_eq!(&target, &first);
        match target {
            Some(HandOff::Nginx { uri, .. }) => check_uri(&uri)?,
            Some(HandOff::XSendfile { path }) => {
                prop_assert!(path.starts_with("/proxy/media"));
                check_sendfile(&path)?;
            }
            Some(other) => prop_assert!(false, "unexpected hand-off {:?}", other),
            None => {}
        }
    }

    /// `encode_path` keeps the `/` structure, leaves nothing a URL path
    /// would misread, and decodes back to its input.
    #[test]
    fn encode_path_round_trips(
        path in prop_oneof![any::<String>(), vec(select(URL_PIECES), 0..8).prop_map(|v| v.join("/"))],
    ) {
        let encoded = encode_path(&path);
        prop_assert!(encoded.is_ascii());
        prop_assert!(!encoded.chars().any(|c| matches!(c, '?' | '#' | ' ' | '\\') || c.is_control()));
        prop_assert_eq!(encoded.split('/').count(), path.split('/').count());
        let decoded = percent_decode_str(&encoded).decode_utf8();
        prop_assert_eq!(decoded.as_deref().ok(), Some(path.as_str()));
    }
}
