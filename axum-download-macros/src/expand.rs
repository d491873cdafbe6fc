//! Expansion: the handler is wrapped so its response goes through
//! `axum_download::rfc9110::finish_with_settings` with the attribute's one rule.
//! On an invalid attribute the handler is emitted unchanged beside the
//! error, so the user sees that one error and not a cascade.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned;
use syn::{FnArg, ItemFn, ReturnType};

use crate::args::{Args, Kind, NumberOrOff};

pub(crate) fn expand(kind: Kind, attr: TokenStream, item: TokenStream) -> TokenStream {
    let function: ItemFn = match syn::parse2(item.clone()) {
        Ok(function) => function,
        Err(_) => {
            let message = format!("`#[{}]` applies to an `async fn` handler", kind.name());
            let error = syn::Error::new(Span::call_site(), message).to_compile_error();
            return quote! { #error #item };
        }
    };
    let args = match (|input: ParseStream<'_>| Args::parse(kind, input)).parse2(attr) {
        Ok(args) => args,
        Err(error) => {
            let error = error.to_compile_error();
            return quote! { #error #function };
        }
    };
    match wrap(kind, &args, &function) {
        Ok(tokens) => tokens,
        Err(error) => {
            let error = error.to_compile_error();
            quote! { #error #function }
        }
    }
}

fn wrap(kind: Kind, args: &Args, function: &ItemFn) -> syn::Result<TokenStream> {
    let sig = &function.sig;
    if sig.asyncness.is_none() {
        return Err(syn::Error::new(
            sig.fn_token.span(),
            format!("`#[{}]` applies to an `async fn` handler", kind.name()),
        ));
    }
    if let Some(receiver) = sig.receiver() {
        return Err(syn::Error::new(
            receiver.span(),
            format!(
                "`#[{}]` applies to free handler functions, not methods",
                kind.name()
            ),
        ));
    }
    let attrs = &function.attrs;
    let vis = &function.vis;
    let name = &sig.ident;
    let generics = &sig.generics;
    let where_clause = &generics.where_clause;
    let body = &function.block;
    let output = match &sig.output {
        ReturnType::Default => quote!(()),
        ReturnType::Type(_, ty) => quote!(#ty),
    };

    let mut outer_params = Vec::new();
    let mut inner_params = Vec::new();
    let mut forwarded = Vec::new();
    for (index, input) in sig.inputs.iter().enumerate() {
        let FnArg::Typed(typed) = input else {
            continue;
        };
        let ident = format_ident!("__axum_download_arg{}", index);
        let ty = &typed.ty;
        let pat = &typed.pat;
        let param_attrs = &typed.attrs;
        outer_params.push(quote!(#(#param_attrs)* #ident: #ty));
        inner_params.push(quote!(#pat: #ty));
        forwarded.push(ident);
    }

    let settings = settings_tokens(kind, args);
    let span = sig.ident.span();
    let conditions = quote_spanned!(span=> __axum_download_conditions);
    Ok(quote! {
        #(#attrs)*
        #vis async fn #name #generics (
            #conditions: ::axum_download::__private::Conditions,
            __axum_download_layer: ::axum_download::__private::LayerSettings,
            #(#outer_params),*
        ) -> ::axum_download::__private::Response #where_clause {
            async fn __axum_download_handler #generics (#(#inner_params),*) -> #output #where_clause #body
            static __AXUM_DOWNLOAD_SETTINGS: ::std::sync::LazyLock<::axum_download::__private::DownloadSettings> =
                ::std::sync::LazyLock::new(|| #settings);
            let response = ::axum_download::__private::IntoResponse::into_response(
                __axum_download_handler(#(#forwarded),*).await,
            );
            ::axum_download::__private::finish_with_settings(
                response,
                &#conditions,
                __axum_download_layer.for_macro(&__AXUM_DOWNLOAD_SETTINGS),
            )
        }
    })
}

fn settings_tokens(kind: Kind, args: &Args) -> TokenStream {
    let mut rule = match kind {
        Kind::XAccel => {
            let destination = args
                .destination_url
                .as_ref()
                .map(syn::LitStr::value)
                .unwrap_or_default();
            quote!(::axum_download::__private::Rule::nginx(#destination))
        }
        Kind::XSendfile => quote!(::axum_download::__private::Rule::x_sendfile()),
    };
    if args.source_url.is_none() && args.source_dir.is_none() {
        // The handler is the rule's source: every file it returns.
        rule = quote!(#rule.catch_all(true));
    }
    if let Some(url) = &args.source_url {
        rule = quote!(#rule.source_url(#url));
    }
    if let Some(dir) = &args.source_dir {
        rule = quote!(#rule.source_dir(#dir));
    }
    if let Some(dir) = &args.destination_dir {
        rule = quote!(#rule.destination_dir(#dir));
    }
    if let Some(buffering) = &args.buffering {
        rule = quote!(#rule.buffering(#buffering));
    }
    if let Some(expires) = &args.expires {
        let value = match expires {
            NumberOrOff::Number(n) => {
                quote!(::axum_download::__private::Expires::After(::std::time::Duration::from_secs(#n)))
            }
            NumberOrOff::Off => quote!(::axum_download::__private::Expires::Off),
        };
        rule = quote!(#rule.expires(#value));
    }
    if let Some(rate) = &args.limit_rate {
        let value = match rate {
            NumberOrOff::Number(n) => {
                quote!(::axum_download::__private::LimitRate::BytesPerSecond(#n))
            }
            NumberOrOff::Off => quote!(::axum_download::__private::LimitRate::Off),
        };
        rule = quote!(#rule.limit_rate(#value));
    }
    let backend = match kind {
        Kind::XAccel => quote!(::axum_download::__private::Backend::Nginx),
        Kind::XSendfile => quote!(::axum_download::__private::Backend::XSendfile),
    };
    quote!(::axum_download::__private::DownloadSettings::new(#backend).rule(#rule))
}
