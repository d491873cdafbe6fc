//! Parsing and checking the attribute's arguments: every mistake is an
//! error spanned at the token that causes it.

use proc_macro2::Span;
use syn::parse::ParseStream;
use syn::{LitBool, LitInt, LitStr, Token};

mod kw {
    syn::custom_keyword!(source_url);
    syn::custom_keyword!(source_dir);
    syn::custom_keyword!(destination_url);
    syn::custom_keyword!(destination_dir);
    syn::custom_keyword!(buffering);
    syn::custom_keyword!(expires);
    syn::custom_keyword!(limit_rate);
}

/// Which attribute is being parsed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    XAccel,
    XSendfile,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::XAccel => "x_accel",
            Kind::XSendfile => "x_sendfile",
        }
    }
}

/// `SECONDS` / `BYTES` or `"off"`.
pub(crate) enum NumberOrOff {
    Number(u64),
    Off,
}

/// The checked arguments: the same keys as a settings rule.
#[derive(Default)]
pub(crate) struct Args {
    pub(crate) source_url: Option<LitStr>,
    pub(crate) source_dir: Option<LitStr>,
    pub(crate) destination_url: Option<LitStr>,
    pub(crate) destination_dir: Option<LitStr>,
    pub(crate) buffering: Option<LitBool>,
    pub(crate) expires: Option<NumberOrOff>,
    pub(crate) limit_rate: Option<NumberOrOff>,
}

impl Args {
    pub(crate) fn parse(kind: Kind, input: ParseStream<'_>) -> syn::Result<Self> {
        let mut args = Args::default();
        while !input.is_empty() {
            args.parse_one(kind, input)?;
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        args.check(kind)?;
        Ok(args)
    }

    fn parse_one(&mut self, kind: Kind, input: ParseStream<'_>) -> syn::Result<()> {
        let lookahead = input.lookahead1();
        if lookahead.peek(kw::source_url) {
            let key = input.parse::<kw::source_url>()?;
            let value = path_value(input, "source_url", "\"/media/\"")?;
            if self.source_dir.is_some() {
                return Err(syn::Error::new(
                    key.span,
                    "`source_url` cannot be combined with `source_dir`: keep one",
                ));
            }
            set_once(&mut self.source_url, value, "source_url", key.span)
        } else if lookahead.peek(kw::source_dir) {
            let key = input.parse::<kw::source_dir>()?;
            let value = path_value(input, "source_dir", "\"/srv/media\"")?;
            if self.source_url.is_some() {
                return Err(syn::Error::new(
                    key.span,
                    "`source_dir` cannot be combined with `source_url`: keep one",
                ));
            }
            set_once(&mut self.source_dir, value, "source_dir", key.span)
        } else if kind == Kind::XAccel && lookahead.peek(kw::destination_url) {
            let key = input.parse::<kw::destination_url>()?;
            let value = path_value(input, "destination_url", "\"/x-accel/\"")?;
            set_once(
                &mut self.destination_url,
                value,
                "destination_url",
                key.span,
            )
        } else if kind == Kind::XSendfile && lookahead.peek(kw::destination_dir) {
            let key = input.parse::<kw::destination_dir>()?;
            let value = path_value(input, "destination_dir", "\"/srv/media\"")?;
            set_once(
                &mut self.destination_dir,
                value,
                "destination_dir",
                key.span,
            )
        } else if kind == Kind::XAccel && lookahead.peek(kw::buffering) {
            let key = input.parse::<kw::buffering>()?;
            input.parse::<Token![=]>()?;
            let value: LitBool = input.parse().map_err(|err| {
                syn::Error::new(err.span(), "`buffering` expects `true` or `false`")
            })?;
            set_once(&mut self.buffering, value, "buffering", key.span)
        } else if kind == Kind::XAccel && lookahead.peek(kw::expires) {
            let key = input.parse::<kw::expires>()?;
            let value = number_or_off(input, "expires", "seconds")?;
            set_once(&mut self.expires, value, "expires", key.span)
        } else if kind == Kind::XAccel && lookahead.peek(kw::limit_rate) {
            let key = input.parse::<kw::limit_rate>()?;
            let value = number_or_off(input, "limit_rate", "bytes per second")?;
            set_once(&mut self.limit_rate, value, "limit_rate", key.span)
        } else if kind == Kind::XSendfile
            && (input.peek(kw::destination_url)
                || input.peek(kw::buffering)
                || input.peek(kw::expires)
                || input.peek(kw::limit_rate))
        {
            let ident: syn::Ident = input.parse()?;
            Err(syn::Error::new(
                ident.span(),
                format!(
                    "`{ident}` only applies to nginx: use `#[x_accel(...)]`, \
                     or `destination_dir` for X-Sendfile"
                ),
            ))
        } else if kind == Kind::XAccel && input.peek(kw::destination_dir) {
            let ident: syn::Ident = input.parse()?;
            Err(syn::Error::new(
                ident.span(),
                "`destination_dir` only applies to X-Sendfile: use `destination_url` for nginx",
            ))
        } else {
            Err(lookahead.error())
        }
    }

    fn check(&self, kind: Kind) -> syn::Result<()> {
        match kind {
            Kind::XAccel if self.destination_url.is_none() => Err(syn::Error::new(
                Span::call_site(),
                "`#[x_accel]` expects `destination_url = \"/...\"`, the internal location nginx serves the files from",
            )),
            Kind::XSendfile if self.source_url.is_some() && self.destination_dir.is_none() => {
                Err(syn::Error::new(
                    self.source_url.as_ref().map_or_else(Span::call_site, LitStr::span),
                    "`source_url` needs `destination_dir = \"/...\"`: X-Sendfile sends a file-system path",
                ))
            }
            _ => Ok(()),
        }
    }
}

fn set_once<T>(slot: &mut Option<T>, value: T, key: &str, span: Span) -> syn::Result<()> {
    if slot.is_some() {
        return Err(syn::Error::new(
            span,
            format!("`{key}` specified more than once"),
        ));
    }
    *slot = Some(value);
    Ok(())
}

/// `= "/..."`: a path checked by the rule checks the settings use too, so a
/// value is refused here exactly when a settings file would refuse it.
fn path_value(input: ParseStream<'_>, key: &str, example: &str) -> syn::Result<LitStr> {
    input.parse::<Token![=]>()?;
    let value: LitStr = input.parse().map_err(|err| {
        syn::Error::new(
            err.span(),
            format!("`{key}` expects a string, e.g. `{key} = {example}`"),
        )
    })?;
    let rule_key = axum_download_rules::Key::from_name(key)
        .ok_or_else(|| syn::Error::new(value.span(), format!("`{key}` is not a path key")))?;
    axum_download_rules::check(rule_key, &value.value())
        .map_err(|message| syn::Error::new(value.span(), format!("`{key}` {message}")))?;
    Ok(value)
}

fn number_or_off(input: ParseStream<'_>, key: &str, unit: &str) -> syn::Result<NumberOrOff> {
    input.parse::<Token![=]>()?;
    let expected = || format!("`{key}` expects {unit} as an integer, or \"off\"");
    if input.peek(LitInt) {
        let int: LitInt = input.parse()?;
        let value = int
            .base10_parse::<u64>()
            .map_err(|_| syn::Error::new(int.span(), expected()))?;
        Ok(NumberOrOff::Number(value))
    } else if input.peek(LitStr) {
        let text: LitStr = input.parse()?;
        if text.value() == "off" {
            Ok(NumberOrOff::Off)
        } else {
            Err(syn::Error::new(text.span(), expected()))
        }
    } else {
        Err(syn::Error::new(input.span(), expected()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse::Parser;

    /// The macros refuse exactly the values the settings refuse.
    #[test]
    fn same_verdicts_as_the_settings() {
        use axum_download_rules::{Key, CASES};
        for (key, value, ok) in CASES {
            let (kind, attr) = match key {
                Key::SourceUrl => (
                    Kind::XAccel,
                    format!("source_url = {value:?}, destination_url = \"/x/\""),
                ),
                Key::SourceDir => (
                    Kind::XAccel,
                    format!("source_dir = {value:?}, destination_url = \"/x/\""),
                ),
                Key::DestinationUrl => (Kind::XAccel, format!("destination_url = {value:?}")),
                Key::DestinationDir => (Kind::XSendfile, format!("destination_dir = {value:?}")),
            };
            let tokens: proc_macro2::TokenStream = attr.parse().unwrap();
            let parsed = (|input: ParseStream<'_>| Args::parse(kind, input)).parse2(tokens);
            assert_eq!(parsed.is_ok(), *ok, "{attr}");
            if let Err(err) = parsed {
                let expected = axum_download_rules::check(*key, value).unwrap_err();
                assert_eq!(err.to_string(), format!("`{}` {expected}", key.name()));
            }
        }
    }
}
