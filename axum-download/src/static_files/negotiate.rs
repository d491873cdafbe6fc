//! `Accept-Encoding` (RFC 9110, section 12.5.3): which representation of a
//! static file a request gets.
//!
//! The rules, in the RFC's terms:
//!
//! - a coding listed with `q=0` is refused; `*` stands for every coding
//!   not listed by name, `identity` included;
//! - `identity` (no coding) is acceptable unless refused by
//!   `identity;q=0`, or by `*;q=0` without an `identity` entry; when it is
//!   not listed at all it ranks below every coding the client named;
//! - no `Accept-Encoding` at all, or an empty one: identity only (the RFC
//!   lets a server assume anything then; sending the bytes as stored is the
//!   answer every client can read);
//! - the highest q-value wins, and among equals the smallest
//!   representation;
//! - when nothing is acceptable (`identity;q=0` and no acceptable
//!   sidecar), identity is sent anyway: RFC 9110 (section 12.1) lets a
//!   server disregard the header rather than answer 406, and a page whose
//!   stylesheet answers 406 is broken for no gain.

use http::header::ACCEPT_ENCODING;
use http::HeaderMap;

use super::Encoding;

/// A q-value in thousandths (`q=0.5` is 500).
type Weight = u16;

/// The weight of an `identity` the client did not name: acceptable, and
/// below any coding the client did name.
const UNNAMED_IDENTITY: Weight = 0;

/// What the request's `Accept-Encoding` says about each coding this crate
/// serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Accepted {
    /// `None`: refused. `Some(w)`: acceptable with weight `w` (ranked
    /// above every smaller `w`).
    identity: Option<Weight>,
    /// Brotli, zstd, gzip, in [`Encoding::ALL`] order.
    codings: [Option<Weight>; 3],
}

impl Accepted {
    /// Identity only: what a request without `Accept-Encoding` gets.
    pub(crate) const IDENTITY: Accepted = Accepted {
        identity: Some(UNNAMED_IDENTITY),
        codings: [None; 3],
    };

    /// Reads every `Accept-Encoding` field of `headers`.
    pub(crate) fn from_headers(headers: &HeaderMap) -> Self {
        let mut fields = headers.get_all(ACCEPT_ENCODING).iter().peekable();
        if fields.peek().is_none() {
            return Self::IDENTITY;
        }
        let mut listed = Listed::default();
        for field in fields {
            // A field that is not text is ignored, as a malformed element is.
            if let Ok(text) = field.to_str() {
                listed.read(text);
            }
        }
        listed.resolve()
    }

    /// The weight of `encoding` (`None` for identity), `None` when refused.
    fn weight(&self, encoding: Option<Encoding>) -> Option<Weight> {
        match encoding {
            None => self.identity,
            Some(encoding) => self.codings[index(encoding)],
        }
    }

    /// The representation to send, from `(encoding, size)` pairs
    /// (identity is `None`): the acceptable one with the highest weight,
    /// the smallest among equals, the first among equal sizes. `None` when
    /// none is acceptable.
    pub(crate) fn choose(
        &self,
        representations: impl IntoIterator<Item = (Option<Encoding>, u64)>,
    ) -> Option<usize> {
        let mut best: Option<(usize, Weight, u64)> = None;
        for (position, (encoding, size)) in representations.into_iter().enumerate() {
            let Some(weight) = self.weight(encoding) else {
                continue;
            };
            let better = match best {
                None => true,
                Some((_, w, s)) => weight > w || (weight == w && size < s),
            };
            if better {
                best = Some((position, weight, size));
            }
        }
        best.map(|(position, _, _)| position)
    }
}

fn index(encoding: Encoding) -> usize {
    match encoding {
        Encoding::Brotli => 0,
        Encoding::Zstd => 1,
        Encoding::Gzip => 2,
    }
}

/// The entries of the fields as listed, before the defaults apply.
#[derive(Debug, Default)]
struct Listed {
    identity: Option<Weight>,
    star: Option<Weight>,
    codings: [Option<Weight>; 3],
}

impl Listed {
    fn read(&mut self, text: &str) {
        for element in text.split(',') {
            let Some((token, weight)) = parse_element(element) else {
                continue;
            };
            let slot = match token.to_ascii_lowercase().as_str() {
                "identity" => &mut self.identity,
                "*" => &mut self.star,
                "br" => &mut self.codings[index(Encoding::Brotli)],
                "zstd" => &mut self.codings[index(Encoding::Zstd)],
                // RFC 9110, 8.4.1.3: a recipient treats x-gzip as gzip.
                "gzip" | "x-gzip" => &mut self.codings[index(Encoding::Gzip)],
                _ => continue,
            };
            // The first entry for a coding counts.
            slot.get_or_insert(weight);
        }
    }

    fn resolve(self) -> Accepted {
        let accept = |weight: Option<Weight>| weight.filter(|w| *w > 0);
        let identity = match self.identity.or(self.star) {
            Some(weight) => accept(Some(weight)),
            None => Some(UNNAMED_IDENTITY),
        };
        Accepted {
            identity,
            codings: self.codings.map(|listed| accept(listed.or(self.star))),
        }
    }
}

/// `token [ OWS ";" OWS "q=" qvalue ]`; `None` when malformed or empty.
fn parse_element(element: &str) -> Option<(&str, Weight)> {
    let mut parts = element.split(';');
    let token = parts.next()?.trim_matches([' ', '\t']);
    if token.is_empty() || !token.bytes().all(is_tchar) {
        return None;
    }
    let mut weight = 1000;
    for parameter in parts {
        let (name, value) = parameter.trim_matches([' ', '\t']).split_once('=')?;
        if name.trim_end_matches([' ', '\t']).eq_ignore_ascii_case("q") {
            weight = parse_qvalue(value.trim_start_matches([' ', '\t']))?;
        }
    }
    Some((token, weight))
}

/// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`, in
/// thousandths.
fn parse_qvalue(text: &str) -> Option<Weight> {
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, fraction),
        None => (text, ""),
    };
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut thousandths: Weight = 0;
    for (position, digit) in fraction.bytes().enumerate() {
        thousandths += Weight::from(digit - b'0') * [100, 10, 1][position];
    }
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// RFC 9110 `tchar`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    const BR: Option<Encoding> = Some(Encoding::Brotli);
    const ZSTD: Option<Encoding> = Some(Encoding::Zstd);
    const GZIP: Option<Encoding> = Some(Encoding::Gzip);

    /// identity 1000 bytes, br 200, zstd 210, gzip 250.
    const ALL: [(Option<Encoding>, u64); 4] = [(None, 1000), (BR, 200), (ZSTD, 210), (GZIP, 250)];

    fn accepted(fields: &[&str]) -> Accepted {
        let mut headers = HeaderMap::new();
        for field in fields {
            headers.append(ACCEPT_ENCODING, HeaderValue::from_str(field).unwrap());
        }
        Accepted::from_headers(&headers)
    }

    fn chosen(fields: &[&str]) -> Option<Option<Encoding>> {
        accepted(fields).choose(ALL).map(|i| ALL[i].0)
    }

    #[test]
    fn no_header_gets_identity() {
        assert_eq!(
            Accepted::from_headers(&HeaderMap::new()),
            Accepted::IDENTITY
        );
        assert_eq!(Accepted::IDENTITY.choose(ALL), Some(0));
    }

    #[test]
    fn empty_header_gets_identity() {
        assert_eq!(chosen(&[""]), Some(None));
        assert_eq!(chosen(&[" , "]), Some(None));
    }

    #[test]
    fn equal_weights_get_the_smallest() {
        assert_eq!(chosen(&["gzip, deflate, br, zstd"]), Some(BR));
        assert_eq!(chosen(&["gzip, zstd"]), Some(ZSTD));
        assert_eq!(chosen(&["*"]), Some(BR));
    }

    #[test]
    fn higher_weight_wins_over_size() {
        assert_eq!(chosen(&["br;q=0.5, gzip"]), Some(GZIP));
        assert_eq!(chosen(&["br;q=0.5, identity"]), Some(None));
    }

    #[test]
    fn q_zero_refuses() {
        assert_eq!(chosen(&["br;q=0, gzip"]), Some(GZIP));
        assert_eq!(chosen(&["br;q=0.000, zstd;q=0, gzip;q=0"]), Some(None));
        assert_eq!(chosen(&["*;q=0, gzip"]), Some(GZIP));
    }

    #[test]
    fn unnamed_identity_ranks_below_named_codings() {
        assert_eq!(chosen(&["gzip;q=0.001"]), Some(GZIP));
        // Named with a weight, identity competes.
        assert_eq!(chosen(&["gzip;q=0.5, identity;q=0.8"]), Some(None));
    }

    #[test]
    fn identity_refused_by_name_or_by_star() {
        let refused = accepted(&["identity;q=0"]);
        assert_eq!(refused.choose([(None, 10)]), None);
        // A coding the client did not name is not acceptable either.
        assert_eq!(refused.choose([(None, 10), (GZIP, 20)]), None);
        let gzip = accepted(&["identity;q=0, gzip"]);
        assert_eq!(gzip.choose([(None, 10), (GZIP, 20)]), Some(1));
        let star = accepted(&["*;q=0"]);
        assert_eq!(star.choose(ALL), None);
        // A more specific identity entry wins over the star.
        let specific = accepted(&["*;q=0, identity"]);
        assert_eq!(specific.choose(ALL), Some(0));
    }

    #[test]
    fn star_covers_codings_not_named() {
        assert_eq!(chosen(&["gzip;q=1, *;q=0.5"]), Some(GZIP));
        assert_eq!(chosen(&["br;q=0, *"]), Some(ZSTD));
    }

    #[test]
    fn fields_and_case_and_aliases() {
        assert_eq!(chosen(&["deflate", "BR"]), Some(BR));
        assert_eq!(chosen(&["x-gzip"]), Some(GZIP));
        assert_eq!(chosen(&["GZip ; Q=0.7 "]), Some(GZIP));
    }

    #[test]
    fn first_entry_for_a_coding_counts() {
        assert_eq!(chosen(&["br;q=0, br"]), Some(None));
    }

    #[test]
    fn malformed_elements_are_ignored() {
        for field in [
            "br;q=2",
            "br;q=1.5",
            "br;q=0.5x",
            "br;q=.5",
            "br;q=0.1234",
            "br;q",
            "b r",
            "br;q=-1",
        ] {
            assert_eq!(chosen(&[field]), Some(None), "{field}");
        }
        assert_eq!(chosen(&["br;q=2, gzip"]), Some(GZIP));
    }

    #[test]
    fn qvalues_parse_per_grammar() {
        assert_eq!(parse_qvalue("1"), Some(1000));
        assert_eq!(parse_qvalue("1.000"), Some(1000));
        assert_eq!(parse_qvalue("1."), Some(1000));
        assert_eq!(parse_qvalue("0.5"), Some(500));
        assert_eq!(parse_qvalue("0.05"), Some(50));
        assert_eq!(parse_qvalue("0.001"), Some(1));
        assert_eq!(parse_qvalue("1.001"), None);
        assert_eq!(parse_qvalue("0.0001"), None);
        assert_eq!(parse_qvalue(""), None);
    }

    #[test]
    fn only_identity_available() {
        assert_eq!(accepted(&["br"]).choose([(None, 5)]), Some(0));
    }
}
