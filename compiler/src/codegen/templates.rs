//! Code generation: Mapping templates: the `templates` module of compiled VTL functions, and request mapping (template by `Content-Type`, passthrough, binary conversions).

use super::*;

/// The name of a compiled template: `<handler>_request_<k>` or `<handler>_response_<n>_<k>`.
pub(super) fn template_fn(
    handler: &proc_macro2::Ident,
    response: Option<usize>,
    k: usize,
) -> proc_macro2::Ident {
    match response {
        None => format_ident!("{}_request_{}", handler, k),
        Some(n) => format_ident!("{}_response_{}_{}", handler, n, k),
    }
}

/// `&[(media, templates::f), …]` for a template map.
pub(super) fn template_table(
    templates: &indexmap::IndexMap<String, Spanned<String>>,
    handler: &proc_macro2::Ident,
    response: Option<usize>,
) -> TokenStream {
    let items = templates.keys().enumerate().map(|(k, media)| {
        let f = template_fn(handler, response, k);
        quote!((#media, templates::#f as vtl::Template))
    });
    quote!(&[#(#items),*])
}

/// Whether an integration runs any template (then its handler tracks the override maps in
/// `ov`).
pub(super) fn templated(i: &Integration) -> bool {
    !i.request_templates.is_empty() || i.responses.iter().any(|r| !r.templates.is_empty())
}

/// Every mapping template of the API, compiled (`mod templates`).
pub(super) fn templates_module(api: &Api) -> TokenStream {
    let mut fns = Vec::new();
    for r in &api.routes {
        let Some(i) = &r.integration else { continue };
        let handler = handler_name(r);
        let what = format!("`{} {}`", r.method.as_str(), r.path.raw);
        let mut one = |t: &Spanned<String>, name: proc_macro2::Ident, doc: String| {
            // `check` refuses templates that do not compile, so the fallback is not reached
            // from the CLI; a library caller that skipped it gets a template that fails.
            fns.push(compile_template(&t.value, &name, &doc).unwrap_or_else(|_| {
                quote! {
                    #[doc = #doc]
                    pub fn #name(_env: &Env<'_>, _ov: &mut Value) -> Result<String, Failure> {
                        Err(Failure::Internal("template not compiled".into()))
                    }
                }
            }));
        };
        for (k, (media, t)) in i.request_templates.iter().enumerate() {
            one(
                t,
                template_fn(&handler, None, k),
                format!(" `{media}` request template of {what}."),
            );
        }
        for (n, resp) in i.responses.iter().enumerate() {
            for (k, (media, t)) in resp.templates.iter().enumerate() {
                let pattern = resp
                    .pattern
                    .as_ref()
                    .map_or("default", |p| p.value.as_str());
                one(
                    t,
                    template_fn(&handler, Some(n), k),
                    format!(
                        " `{media}` response template of {what}, integration response `{pattern}`."
                    ),
                );
            }
        }
    }
    if fns.is_empty() {
        return quote!();
    }
    let items = templates_items(&fns);
    quote! {
        /// Mapping templates (Velocity), compiled: one function per template.
        mod templates {
            #items
        }
    }
}

/// One template compiled to `pub fn #name(env, ov)`, or why it cannot be.
pub(super) fn compile_template(
    source: &str,
    name: &proc_macro2::Ident,
    doc: &str,
) -> Result<TokenStream, String> {
    let ast = crate::vtl::parse(source).map_err(|e| {
        let (line, col) = e.line_col(source);
        format!("{line}:{col}: {}", e.message)
    })?;
    crate::vtl_gen::compile(&ast, source, name, doc).map_err(|errs| {
        errs.iter()
            .map(|u| {
                let at = crate::vtl::ParseError {
                    offset: u.offset,
                    message: String::new(),
                };
                let (line, col) = at.line_col(source);
                format!("{line}:{col}: {}", u.message)
            })
            .collect::<Vec<_>>()
            .join("; ")
    })
}

/// The imports compiled templates use, then the functions.
pub(super) fn templates_items(fns: &[TokenStream]) -> TokenStream {
    quote! {
        #![allow(non_snake_case, unused_mut, unused_assignments, unused_variables, unreachable_code, dead_code)]
        // Conditions are the template's own (`#if(1 == 1)`, `!false`).
        #![allow(clippy::eq_op, clippy::nonminimal_bool, clippy::overly_complex_bool_expr)]
        use specgate_runtime::serde_json::{self, Value};
        use specgate_runtime::vtl::{self, ops, ops::Arith, Env, Failure, M};
        use specgate_runtime::Var;
        use std::borrow::Cow;
        use std::cmp::Ordering;

        #(#fns)*
    }
}

/// Module items for stand-alone templates (tools, conformance tests): `pub fn <name>` for
/// each `(name, source)`, and `pub static TEMPLATES: &[vtl::Template]` in the same order.
/// Errors name the template and the line:column inside it.
pub fn template_module(templates: &[(String, String)]) -> Result<TokenStream, String> {
    let mut fns = Vec::new();
    let mut names = Vec::new();
    for (name, source) in templates {
        let ident = format_ident!("{}", name);
        let doc = format!(" Template `{name}`.");
        fns.push(compile_template(source, &ident, &doc).map_err(|e| format!("{name}: {e}"))?);
        names.push(ident);
    }
    let items = templates_items(&fns);
    Ok(quote! {
        #items
        pub static TEMPLATES: &[vtl::Template] = &[#(#names),*];
    })
}

pub(super) fn passthrough(i: &Integration) -> TokenStream {
    match i.passthrough {
        Passthrough::WhenNoMatch => quote!(vtl::Passthrough::WhenNoMatch),
        Passthrough::WhenNoTemplates => quote!(vtl::Passthrough::WhenNoTemplates),
        Passthrough::Never => quote!(vtl::Passthrough::Never),
    }
}

/// The API's `binaryMediaTypes` as a `&[&str]` expression.
pub(super) fn binary_types(api: &Api) -> TokenStream {
    let types = api.binary_media_types.iter().map(|t| t.value.as_str());
    quote!(&[#(#types),*])
}

pub(super) fn content_handling(ch: ContentHandling) -> TokenStream {
    match ch {
        ContentHandling::ConvertToText => quote!(vtl::mapping::ContentHandling::ConvertToText),
        ContentHandling::ConvertToBinary => {
            quote!(vtl::mapping::ContentHandling::ConvertToBinary)
        }
    }
}

/// Reads the client's body into `body` and applies the integration's `contentHandling`.
pub(super) fn read_request_body(api: &Api, i: &Integration) -> TokenStream {
    let convert = i.content_handling.map(|ch| {
        let ch = content_handling(ch);
        let types = binary_types(api);
        quote! {
            // API Gateway's answer to a payload it cannot convert is a 500 (unverified
            // which gateway response; API_CONFIGURATION_ERROR's is the one it documents
            // for a configuration that cannot handle a request).
            let Some(body) = vtl::mapping::convert_request(body, cx, #types, #ch) else {
                return rt.gateway_response(cx, ResponseType::ApiConfigurationError);
            };
        }
    });
    quote! {
        let body = match vtl::mapping::read_body(req).await {
            Ok(b) => b,
            Err(r) => return r,
        };
        #convert
    }
}

/// Request mapping: reads the body, runs the request template the `Content-Type` selects
/// (or applies `passthroughBehavior`), and binds `body`, `mapped` and `ov`.
pub(super) fn request_mapping(
    api: &Api,
    i: &Integration,
    handler: &proc_macro2::Ident,
) -> TokenStream {
    let table = template_table(&i.request_templates, handler, None);
    let passthrough = passthrough(i);
    let read = read_request_body(api, i);
    quote! {
        #read
        let mapped = match vtl::mapping::map_request(rt, cx, &body, #table, #passthrough) {
            Ok(m) => m,
            Err(r) => return r,
        };
    }
}
