//! Attribute macros for [`axum-download`](https://docs.rs/axum-download):
//! `#[x_accel(...)]` and `#[x_sendfile(...)]` hand one handler's downloads
//! off to the reverse proxy. Use them through `axum_download`, which
//! re-exports them and documents them with examples.

use proc_macro::TokenStream;

mod args;
mod expand;

/// Hands the handler's download off to nginx with `X-Accel-Redirect`.
///
/// Keys, all optional but `destination_url`: `source_url = "/..."` or
/// `source_dir = "/abs/dir"`, `destination_url = "/internal/"`,
/// `buffering = true|false`, `expires = SECONDS|"off"`,
/// `limit_rate = BYTES_PER_SECOND|"off"`. Mistakes are compile errors at
/// the offending token.
#[proc_macro_attribute]
pub fn x_accel(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(args::Kind::XAccel, attr.into(), item.into()).into()
}

/// Hands the handler's download off to Apache (mod_xsendfile) or lighttpd
/// with `X-Sendfile`.
///
/// Keys, all optional: `source_url = "/..."` (then `destination_dir` is
/// required) or `source_dir = "/abs/dir"`, and `destination_dir = "/abs/dir"`.
/// Without keys the file's own absolute path is sent.
#[proc_macro_attribute]
pub fn x_sendfile(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(args::Kind::XSendfile, attr.into(), item.into()).into()
}
