//! Stage 4, **codegen**: the IR → a Rust crate that links `specgate-runtime`.
//!
//! Reads only the IR. The output is deterministic, formatted with prettyplease, and meant to
//! be read: one `match` over path segments for routing (most specific first, so the order
//! of the arms *is* the routing priority), one `async fn` per route that calls runtime
//! helpers in API Gateway's order, and statics for the API's facts. What this version cannot
//! generate yet is reported by [`support`] as `unsupported` diagnostics, so it is a compile
//! error, never a runtime surprise.

use std::cmp::Ordering;

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::codes;
use crate::diag::Diagnostics;
use crate::ir::*;

/// The files of a generated crate: (relative path, contents).
#[derive(Debug, Clone, PartialEq)]
pub struct Crate {
    /// `Cargo.toml`, `src/main.rs`, `src/gateway.rs`.
    pub files: Vec<(String, String)>,
}

/// Where the generated crate finds the runtime.
#[derive(Debug, Clone)]
pub enum RuntimeDep {
    /// A path dependency (a checkout of this repository).
    Path(String),
    /// A crates.io version.
    Version(String),
}

/// Reports what this version cannot generate. Run by `check` and by `build`.
pub fn support(api: &Api, db: &crate::source::SourceDb, d: &mut Diagnostics) {
    for r in &api.routes {
        let Some(i) = &r.integration else { continue };
        if let Some(u) = &i.uri {
            if let IntegrationUri::Lambda {
                streaming: true, ..
            } = u.value
            {
                d.error(
                    &codes::UNSUPPORTED,
                    u.span,
                    "Lambda response streaming is not supported yet",
                )
                .help("use `2015-03-31/functions/{functionArn}/invocations`");
            }
        }
        for (media, t) in &i.request_templates {
            unsupported_template(d, db, t, media);
        }
        for resp in &i.responses {
            for (media, t) in &resp.templates {
                unsupported_template(d, db, t, media);
            }
        }
        for (_, src) in i
            .request_parameters
            .iter()
            .chain(i.responses.iter().flat_map(|r| r.parameters.iter()))
        {
            // Malformed expressions are check's SG0307; this reports valid but ungenerated ones.
            let well_formed = src.value.starts_with('\'')
                || [
                    "method.request.",
                    "integration.response.",
                    "context.",
                    "stageVariables.",
                ]
                .iter()
                .any(|p| src.value.starts_with(p));
            if well_formed && source(&src.value).is_none() {
                d.error(
                    &codes::UNSUPPORTED,
                    src.span,
                    format!("mapping source `{}` is not supported yet", src.value),
                )
                .help("supported: method.request.{path|querystring|header}.x, context.x, stageVariables.x, 'static', integration.response.header.x");
            }
        }
        if api.flavor == Flavor::Http && !i.request_parameters.is_empty() {
            d.error(
                &codes::UNSUPPORTED,
                i.request_parameters[0].0.span,
                "HTTP API parameter mapping is not supported yet",
            );
        }
        if i.content_handling.is_some() && i.kind.value == IntegrationType::HttpProxy {
            d.error(
                &codes::UNSUPPORTED,
                i.span,
                "`contentHandling` on an `http_proxy` integration is not supported yet",
            )
            .help("the body is passed through as bytes; drop `contentHandling` to keep it so");
        }
    }
    for g in api.gateway_responses.values() {
        for (target, src) in &g.parameters {
            if target.value.starts_with("gatewayresponse.header.") && source(&src.value).is_none() {
                d.error(
                    &codes::UNSUPPORTED,
                    src.span,
                    format!("gateway response header source `{}` is not supported yet", src.value),
                )
                .help("supported: 'static', context.x, stageVariables.x, method.request.{path|querystring|header}.x");
            }
        }
    }
    for (name, g) in &api.gateway_responses {
        for (media, t) in &g.templates {
            if let Err(why) = parse_template(&t.value) {
                // Gateway-response templates are not VTL in API Gateway (plain substitution).
                gateway_response_template(d, t, &format!("{name} {media}"), &why);
            }
        }
    }
    // REST APIs ignore `x-amazon-apigateway-cors` (check warns about it); HTTP APIs need it.
    if let Some(c) = api.cors.as_ref().filter(|_| api.flavor == Flavor::Http) {
        d.error(
            &codes::UNSUPPORTED,
            c.span,
            "`x-amazon-apigateway-cors` is not supported yet",
        );
    }
    for s in api.security_schemes.values() {
        // Refuse to build a gateway that would silently let every caller through.
        let why = match &s.authorizer {
            _ if s.is_iam() => Some("IAM (SigV4) authorization is not enforced yet"),
            None => None,
            Some(a) => match a.kind {
                AuthorizerKind::Token | AuthorizerKind::Request => (!matches!(
                    a.uri.as_ref().map(|u| &u.value),
                    Some(IntegrationUri::Lambda { .. })
                ))
                .then_some("its `authorizerUri` is not a Lambda function specgate can call"),
                AuthorizerKind::Jwt => a
                    .jwt
                    .is_none()
                    .then_some("it has no `jwtConfiguration` to check tokens with"),
                AuthorizerKind::CognitoUserPools => (!a
                    .provider_arns
                    .iter()
                    .any(|p| cognito_issuer(&p.value).is_some()))
                .then_some("it has no user pool ARN to find the pool's keys with"),
            },
        };
        if let Some(why) = why {
            d.error(
                &codes::UNSUPPORTED,
                s.span,
                format!("security scheme `{}` cannot be enforced: {why}", s.name),
            )
            .help("a gateway built now would let every caller through; Lambda, JWT and Cognito authorizers are enforced");
        }
    }
    // A route is only as protected as the schemes it names: one that is not enforced would
    // let every caller through.
    let unenforced: Vec<(&Route, &Spanned<String>)> = api
        .routes
        .iter()
        .flat_map(|r| {
            r.security
                .iter()
                .flat_map(|req| req.schemes.iter())
                .filter(|(name, _)| {
                    api.security_schemes
                        .get(&name.value)
                        .is_some_and(|s| s.authorizer.is_none() && !s.is_iam())
                })
                .map(move |(name, _)| (r, name))
        })
        .collect();
    if let Some((r, name)) = unenforced.first() {
        d.error(
            &codes::UNSUPPORTED,
            r.security_span.unwrap_or(name.span),
            format!(
                "`security` with `{}` (API keys) is not enforced yet ({} route{})",
                name.value,
                unenforced.len(),
                if unenforced.len() == 1 { "" } else { "s" }
            ),
        )
        .help("API keys and usage plans are planned; a gateway built now would let every caller through");
    }
    if api.policy.is_some() {
        d.error(
            &codes::UNSUPPORTED,
            api.policy.as_ref().map(|p| p.span).unwrap_or_default(),
            "resource policies are not enforced yet",
        );
    }
}

/// A template that parses but uses something the generator does not compile (an unknown
/// method, `$input.x`, a recursive macro…) is `SG0105`, at the construct; a syntax error is
/// reported by [`check_templates`] instead.
fn unsupported_template(
    d: &mut Diagnostics,
    db: &crate::source::SourceDb,
    t: &Spanned<String>,
    key: &str,
) {
    let Ok(ast) = crate::vtl::parse(&t.value) else {
        return;
    };
    let name = format_ident!("t");
    let Err(errors) = crate::vtl_gen::compile(&ast, &t.value, &name, "") else {
        return;
    };
    let text = &db.file(t.span.file).text;
    for e in errors {
        let at = template_offset(text, t.span, &t.value, e.offset)
            .map(|o| crate::source::Span::new(t.span.file, o, o))
            .unwrap_or(t.span);
        d.error(
            &codes::UNSUPPORTED,
            at,
            format!("the `{key}` template: {}", e.message),
        )
        .help("specgate compiles templates to Rust; this construct has no compiled form");
    }
}

fn gateway_response_template(d: &mut Diagnostics, t: &Spanned<String>, key: &str, why: &str) {
    d.error(
        &codes::UNSUPPORTED,
        t.span,
        format!("the `{key}` gateway response template uses more than substitution ({why})"),
    )
    .help("gateway-response templates are not VTL in API Gateway: plain text with `$context.*`, `$stageVariables.*` and `method.request.*` references");
}

/// Every mapping template must be valid Velocity (`SG0308`), reported at the place in the
/// spec where the parser stopped.
pub fn check_templates(api: &Api, db: &crate::source::SourceDb, d: &mut Diagnostics) {
    let mut all: Vec<(String, &Spanned<String>)> = Vec::new();
    for r in &api.routes {
        let Some(i) = &r.integration else { continue };
        all.extend(i.request_templates.iter().map(|(m, t)| (m.clone(), t)));
        for resp in &i.responses {
            all.extend(resp.templates.iter().map(|(m, t)| (m.clone(), t)));
        }
    }
    for (key, t) in all {
        let Err(e) = crate::vtl::parse(&t.value) else {
            continue;
        };
        let (line, col) = e.line_col(&t.value);
        let text = &db.file(t.span.file).text;
        let at = template_offset(text, t.span, &t.value, e.offset)
            .map(|o| crate::source::Span::new(t.span.file, o, o))
            .unwrap_or(t.span);
        d.error(
            &codes::VTL_SYNTAX,
            at,
            format!("the `{key}` template is not valid Velocity: {}", e.message),
        )
        .label(format!("line {line}, column {col} of the template"))
        .help("API Gateway would refuse this template too");
    }
}

/// The byte offset in the file of byte `offset` of a template written at `span`: exact for
/// plain, literal-block and double-quoted (JSON or YAML) strings; `None` when the written
/// form cannot be followed.
fn template_offset(
    file: &str,
    span: crate::source::Span,
    template: &str,
    offset: usize,
) -> Option<usize> {
    let (start, end) = (span.start as usize, span.end as usize);
    let src = file.get(start..end)?;
    if src == template {
        return Some(start + offset);
    }
    if let Some(body) = src.strip_prefix('"') {
        // A double-quoted string: walk the escapes.
        let (mut t, mut k) = (0usize, 0usize);
        let b = body.as_bytes();
        while t < offset && k < b.len() {
            if b[k] == b'\\' {
                let (width, produced) = match b.get(k + 1)? {
                    b'u' => {
                        let c = u32::from_str_radix(body.get(k + 2..k + 6)?, 16).ok()?;
                        (6, char::from_u32(c).map_or(3, char::len_utf8))
                    }
                    _ => (2, 1),
                };
                k += width;
                t += produced;
            } else {
                k += 1;
                t += 1;
            }
        }
        return Some(start + 1 + k);
    }
    // A literal block (`|`): the first line starts at `span.start`, the others after the
    // same indentation.
    let indent = start - file[..start].rfind('\n').map_or(0, |n| n + 1);
    let (mut t, mut s) = (0usize, start);
    for (k, line) in template.split_inclusive('\n').enumerate() {
        let src_line_start = if k == 0 { start } else { s + indent };
        let written = file.get(src_line_start..src_line_start + line.len())?;
        if written != line && written.trim_end() != line.trim_end() {
            return None;
        }
        if offset < t + line.len() {
            return Some(src_line_start + (offset - t));
        }
        t += line.len();
        s = src_line_start + line.len();
    }
    Some(s)
}

/// A pre-parsed template piece.
#[derive(Debug, Clone, PartialEq)]
pub enum TemplatePart {
    /// Text.
    Lit(String),
    /// `$context.x` (name after the prefix).
    Ctx(String),
    /// `$stageVariables.x`.
    Stage(String),
}

/// Splits a template into text and `$context.*` / `$stageVariables.*` references; anything
/// else that looks like VTL is refused.
pub fn parse_template(t: &str) -> Result<Vec<TemplatePart>, String> {
    let mut parts = Vec::new();
    let mut lit = String::new();
    let b = t.as_bytes();
    let mut i = 0;
    while i < t.len() {
        let c = b[i];
        if c == b'#' {
            let rest = &t[i + 1..];
            for d in [
                "set", "if", "else", "foreach", "end", "break", "stop", "define", "macro", "#", "*",
            ] {
                if rest.starts_with(d) {
                    return Err(format!("`#{d}`"));
                }
            }
        }
        if c == b'$' {
            let (formal, start) = if t[i + 1..].starts_with('{') {
                (true, i + 2)
            } else {
                (false, i + 1)
            };
            let start = if t[start..].starts_with('!') {
                start + 1
            } else {
                start
            };
            let end = t[start..]
                .find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '.' || ch == '_'))
                .map(|e| start + e)
                .unwrap_or(t.len());
            let name = t[start..end].trim_end_matches('.');
            let consumed_end = start + name.len();
            if let Some(var) = name.strip_prefix("context.") {
                if !lit.is_empty() {
                    parts.push(TemplatePart::Lit(std::mem::take(&mut lit)));
                }
                parts.push(TemplatePart::Ctx(var.to_string()));
            } else if let Some(var) = name.strip_prefix("stageVariables.") {
                if !lit.is_empty() {
                    parts.push(TemplatePart::Lit(std::mem::take(&mut lit)));
                }
                parts.push(TemplatePart::Stage(var.to_string()));
            } else if !name.starts_with(|ch: char| ch.is_ascii_alphabetic()) {
                // Not a reference (`$`, `$5`, `$.x`): VTL prints it as text.
                lit.push('$');
                i += 1;
                continue;
            } else {
                return Err(format!("`${name}`"));
            }
            i = consumed_end;
            if formal {
                if t[i..].starts_with('}') {
                    i += 1;
                } else {
                    return Err("an unclosed `${`".into());
                }
            }
            continue;
        }
        let ch = t[i..].chars().next().unwrap_or('\0');
        lit.push(ch);
        i += ch.len_utf8().max(1);
    }
    if !lit.is_empty() {
        parts.push(TemplatePart::Lit(lit));
    }
    Ok(parts)
}

/// A mapping source expression, as the runtime's `Source`.
fn source(expr: &str) -> Option<TokenStream> {
    if expr.len() >= 2 && expr.starts_with('\'') && expr.ends_with('\'') {
        let v = &expr[1..expr.len() - 1];
        return Some(quote!(Source::Static(#v)));
    }
    if let Some(v) = expr.strip_prefix("context.") {
        let var = context_var(v)?;
        return Some(quote!(Source::Ctx(#var)));
    }
    if let Some(v) = expr.strip_prefix("stageVariables.") {
        return Some(quote!(Source::StageVar(#v)));
    }
    if let Some(v) = expr.strip_prefix("method.request.header.") {
        return Some(quote!(Source::Header(#v)));
    }
    if let Some(v) = expr.strip_prefix("method.request.querystring.") {
        return Some(quote!(Source::Query(#v)));
    }
    if let Some(v) = expr.strip_prefix("method.request.path.") {
        return Some(quote!(Source::Path(#v)));
    }
    if let Some(v) = expr.strip_prefix("integration.response.header.") {
        return Some(quote!(Source::ResponseHeader(#v)));
    }
    None
}

/// `$context` names the runtime supplies, as `Var` variants.
pub(crate) fn context_var(name: &str) -> Option<TokenStream> {
    let v = match name {
        "requestId" => quote!(Var::RequestId),
        "extendedRequestId" => quote!(Var::ExtendedRequestId),
        "httpMethod" => quote!(Var::HttpMethod),
        "path" => quote!(Var::Path),
        "resourcePath" => quote!(Var::ResourcePath),
        "resourceId" => quote!(Var::ResourceId),
        "stage" => quote!(Var::Stage),
        "requestTime" => quote!(Var::RequestTime),
        "requestTimeEpoch" => quote!(Var::RequestTimeEpoch),
        "identity.sourceIp" => quote!(Var::SourceIp),
        "identity.userAgent" => quote!(Var::UserAgent),
        "domainName" => quote!(Var::DomainName),
        "domainPrefix" => quote!(Var::DomainPrefix),
        "protocol" => quote!(Var::Protocol),
        "apiId" => quote!(Var::ApiId),
        "accountId" => quote!(Var::AccountId),
        "error.message" => quote!(Var::ErrorMessage),
        "error.messageString" => quote!(Var::ErrorMessageString),
        "error.responseType" => quote!(Var::ErrorResponseType),
        "error.validationErrorString" => quote!(Var::ErrorValidationErrorString),
        _ => return None,
    };
    Some(v)
}

fn template_tokens(t: &str) -> TokenStream {
    let parts = parse_template(t).unwrap_or_default();
    let items = parts.iter().map(|p| match p {
        TemplatePart::Lit(s) => quote!(Part::Lit(#s)),
        TemplatePart::Ctx(name) => match context_var(name) {
            Some(v) => quote!(Part::Ctx(#v)),
            // Unknown `$context` variables render empty, as in API Gateway.
            None => quote!(Part::Lit("")),
        },
        TemplatePart::Stage(name) => quote!(Part::StageVar(#name)),
    });
    quote!(&[#(#items),*])
}

/// Generates the crate for `api`. `source_name` is shown in the generated header comment.
pub fn generate(api: &Api, source_name: &str, runtime: &RuntimeDep) -> Crate {
    let gateway = format_file(gateway_module(api, source_name));
    let main = format_file(quote! {
        #![doc = "Generated by specgate. Do not edit: change the spec and compile again."]
        #![forbid(unsafe_code)]
        mod gateway;
        fn main() -> std::process::ExitCode {
            specgate_runtime::server::main(gateway::Api)
        }
    });
    let dep = match runtime {
        RuntimeDep::Path(p) => format!("{{ path = {:?} }}", p),
        RuntimeDep::Version(v) => format!("{v:?}"),
    };
    let name = crate_name(&api.title);
    let cargo = format!(
        "# Generated by specgate from {source_name}. Do not edit.\n\
         [package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\npublish = false\n\n\
         [[bin]]\nname = \"{name}\"\npath = \"src/main.rs\"\n\n\
         [dependencies]\nspecgate-runtime = {dep}\n\n\
         [profile.release]\nopt-level = 3\ncodegen-units = 16\n\
         # unwind: a panic while handling one request answers 500; the gateway serves on.\n\
         panic = \"unwind\"\nstrip = true\n\n\
         [workspace]\n"
    );
    Crate {
        files: vec![
            ("Cargo.toml".into(), cargo),
            ("src/main.rs".into(), main),
            ("src/gateway.rs".into(), gateway),
        ],
    }
}

/// The generated crate's (and executable's) name, from the API's title.
pub fn crate_name(title: &str) -> String {
    let mut s: String = title
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    while s.contains("--") {
        s = s.replace("--", "-");
    }
    let s = s.trim_matches('-').to_string();
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        format!("gateway-{s}").trim_end_matches('-').to_string()
    } else {
        format!("{s}-gateway")
    }
}

/// Formats generated tokens as a Rust file (prettyplease).
pub fn format_file(tokens: TokenStream) -> String {
    match syn::parse2::<syn::File>(tokens.clone()) {
        Ok(file) => prettyplease::unparse(&file),
        // Generated code always parses; if it ever does not, emit it unformatted so the
        // compiler error points at the problem instead of hiding it.
        Err(_) => tokens.to_string(),
    }
}

/// The generated `gateway.rs`: facts, router, handlers. Usable as a module of any crate that
/// depends on `specgate-runtime` (the codegen tests include it directly).
pub fn gateway_module(api: &Api, source_name: &str) -> TokenStream {
    let header = [
        format!(
            " Gateway for \"{}\", generated by specgate from `{source_name}`.",
            api.title
        ),
        String::new(),
        " Do not edit: change the spec and compile again.".to_string(),
    ];
    let title = &api.title;
    let flavor = match api.flavor {
        Flavor::Rest => quote!(Flavor::Rest),
        Flavor::Http => quote!(Flavor::Http),
    };
    let stages = api.stages.iter().map(|s| {
        let name = &s.name;
        let vars = s.variables.iter().map(|(k, v)| quote!((#k, #v)));
        quote!(StageInfo { name: #name, variables: &[#(#vars),*] })
    });
    let responses = api.gateway_responses.iter().map(|(name, g)| {
        let variant = format_ident!("{}", response_variant(name));
        let status = match &g.status {
            Some(s) => {
                let v = s.value;
                quote!(Some(#v))
            }
            None => quote!(None),
        };
        let headers = g.parameters.iter().filter_map(|(k, v)| {
            let h = k.value.strip_prefix("gatewayresponse.header.")?;
            let src = source(&v.value)?;
            Some(quote!((#h, #src)))
        });
        let templates = g.templates.iter().map(|(media, t)| {
            let parts = template_tokens(&t.value);
            quote!((#media, #parts))
        });
        quote!((ResponseType::#variant, CustomResponse {
            status: #status,
            headers: &[#(#headers),*],
            templates: &[#(#templates),*],
        }))
    });
    let mut models = crate::schema::Validators::new(api);
    let mut response_models = crate::schema::Validators::for_responses(api);
    let (arms, handlers) = router(api, &mut models, &mut response_models);
    let response_models = if response_models.is_empty() {
        quote!()
    } else {
        response_models.module_named(
            format_ident!("response_models"),
            " Response validators (`x-specgate-validation: {responses: …}`), one function per schema.",
        )
    };
    let route_fn = route_function(api);
    let templates = templates_module(api);
    let models = if models.is_empty() {
        quote!()
    } else {
        models.module()
    };
    let no_route = quote!(rt.gateway_response(cx, ResponseType::MissingAuthenticationToken));
    let not_found = match api.routes.iter().find(|r| r.path.is_default) {
        Some(r) => {
            let f = handler_name(r);
            quote!(_ => { cx.resource_path = "$default"; #f(rt, cx, req).await })
        }
        None => quote!(_ => #no_route),
    };
    quote! {
        #(#![doc = #header])*
        #![allow(clippy::all, unused_imports, unused_variables, unused_mut)]

        use specgate_runtime::http::{HeaderValue, Method, StatusCode};
        use specgate_runtime::prelude::*;
        use specgate_runtime::serde_json;

        /// Static facts the runtime needs: flavour, stages, customised gateway responses.
        pub static API: ApiInfo = ApiInfo {
            title: #title,
            flavor: #flavor,
            stages: &[#(#stages),*],
            gateway_responses: &[#(#responses),*],
        };

        /// The gateway.
        pub struct Api;

        impl Gateway for Api {
            fn info(&self) -> &'static ApiInfo {
                &API
            }

            /// Finds the route ([`route`]), binds its path parameters and runs its handler.
            async fn handle(&self, rt: &Runtime, cx: &mut Context, req: Request) -> Response {
                let path = cx.path.clone();
                let raw = path::segments(&path);
                let decoded = path::decode_all(&raw);
                let segments = path::as_strs(&decoded);
                if path::has_dot_segment(&segments) {
                    return #no_route;
                }
                match route(req.method(), &segments) {
                    #(#arms)*
                    #not_found
                }
            }
        }

        #route_fn

        #(#handlers)*

        #models

        #response_models

        #templates
    }
}

fn response_variant(name: &str) -> String {
    name.split('_')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + &c.as_str().to_ascii_lowercase(),
                None => String::new(),
            }
        })
        .collect::<String>()
}

fn seg_rank(s: &Segment) -> (u8, &str) {
    match s {
        Segment::Literal(l) => (0, l.as_str()),
        Segment::Param(_) => (1, ""),
        Segment::Greedy(_) => (2, ""),
    }
}

/// Routing priority: segment by segment (literal < parameter < greedy), longer literal
/// prefixes first; then explicit methods before ANY.
fn route_order(a: &Route, b: &Route) -> Ordering {
    for (x, y) in a.path.segments.iter().zip(&b.path.segments) {
        match seg_rank(x).cmp(&seg_rank(y)) {
            Ordering::Equal => continue,
            o => return o,
        }
    }
    b.path
        .segments
        .len()
        .cmp(&a.path.segments.len())
        .then((a.method == Method::Any).cmp(&(b.method == Method::Any)))
        .then(a.method.cmp(&b.method))
}

/// The routes the router knows, in priority order (the index is the route's id).
fn routed(api: &Api) -> Vec<&Route> {
    let mut routes: Vec<&Route> = api
        .routes
        .iter()
        .filter(|r| r.integration.is_some() && !r.path.is_default)
        .collect();
    routes.sort_by(|a, b| route_order(a, b));
    routes
}

/// The route table as a trie of path segments.
#[derive(Default)]
struct Trie {
    /// Routes whose template ends here, explicit methods before ANY.
    terminal: Vec<usize>,
    literals: std::collections::BTreeMap<String, Trie>,
    param: Option<Box<Trie>>,
    /// Greedy `{name+}` routes at this depth.
    greedy: Vec<usize>,
}

/// `route(method, segments)`: the id of the route API Gateway would pick, as a decision tree
/// over the segments — each segment is looked at once, compared only with the literals of
/// its length, and alternatives are tried in API Gateway's priority (literal, then
/// parameter, then greedy; explicit methods before ANY), backtracking when a branch has no
/// route for the rest of the path or for the method.
fn route_function(api: &Api) -> TokenStream {
    let routes = routed(api);
    let mut root = Trie::default();
    for (id, r) in routes.iter().enumerate() {
        let mut t = &mut root;
        let mut greedy = false;
        for seg in &r.path.segments {
            match seg {
                Segment::Literal(l) => t = t.literals.entry(l.clone()).or_default(),
                Segment::Param(_) => t = t.param.get_or_insert_with(Default::default),
                Segment::Greedy(_) => {
                    t.greedy.push(id);
                    greedy = true;
                    break;
                }
            }
        }
        if !greedy {
            t.terminal.push(id);
        }
    }
    let body = trie_code(&root, 0, &routes);
    quote! {
        /// The route for a method and decoded path segments (see the ids in `handle`), or
        /// `None`.
        pub fn route(m: &Method, s: &[&str]) -> Option<usize> {
            #body
            None
        }
    }
}

fn method_checks(ids: &[usize], routes: &[&Route]) -> TokenStream {
    let checks = ids.iter().map(|id| match routes[*id].method {
        Method::Any => quote!(return Some(#id);),
        m => {
            let m = format_ident!("{}", m.as_str());
            quote! {
                if *m == Method::#m {
                    return Some(#id);
                }
            }
        }
    });
    quote!(#(#checks)*)
}

fn trie_code(t: &Trie, depth: usize, routes: &[&Route]) -> TokenStream {
    let mut out = TokenStream::new();
    if !t.terminal.is_empty() {
        let checks = method_checks(&t.terminal, routes);
        out.extend(quote! {
            if s.len() == #depth {
                #checks
            }
        });
    }
    if t.literals.is_empty() && t.param.is_none() && t.greedy.is_empty() {
        return out;
    }
    let seg = format_ident!("s{}", depth);
    let mut inner = TokenStream::new();
    if !t.literals.is_empty() {
        let arms: Vec<(&str, TokenStream)> = t
            .literals
            .iter()
            .map(|(l, child)| (l.as_str(), trie_code(child, depth + 1, routes)))
            .collect();
        inner.extend(crate::schema::name_switch(
            &quote!(#seg.len()),
            &quote!(#seg),
            &arms,
            &quote!(),
        ));
    }
    if let Some(p) = &t.param {
        let child = trie_code(p, depth + 1, routes);
        inner.extend(quote! {
            if !#seg.is_empty() {
                #child
            }
        });
    }
    if !t.greedy.is_empty() {
        inner.extend(method_checks(&t.greedy, routes));
    }
    out.extend(quote! {
        if let Some(&#seg) = s.get(#depth) {
            #inner
        }
    });
    out
}

/// A module with only the router of `api` (`route` and the `ROUTES` table), for the router
/// benchmark.
pub fn router_module(api: &Api) -> TokenStream {
    let route_fn = route_function(api);
    let table = routed(api).into_iter().map(|r| {
        let m = r.method.as_str();
        let p = &r.path.raw;
        quote!((#m, #p))
    });
    quote! {
        #![allow(clippy::all)]
        use specgate_runtime::http::Method;

        /// (method, template) by route id.
        pub static ROUTES: &[(&str, &str)] = &[#(#table),*];

        #route_fn
    }
}

fn handler_name(r: &Route) -> proc_macro2::Ident {
    let base = match &r.operation_id {
        Some(id) => id.clone(),
        None => format!("{}{}", r.method.as_str().to_ascii_lowercase(), r.path.raw),
    };
    let mut s = String::from("route_");
    let mut last_us = true;
    for c in base.chars() {
        if c.is_ascii_alphanumeric() {
            if c.is_ascii_uppercase() && !last_us {
                s.push('_');
            }
            s.push(c.to_ascii_lowercase());
            last_us = false;
        } else if !last_us {
            s.push('_');
            last_us = true;
        }
    }
    let s = s.trim_end_matches('_').to_string();
    format_ident!("{}", s)
}

fn router<'a>(
    api: &'a Api,
    models: &mut crate::schema::Validators<'a>,
    response_models: &mut crate::schema::Validators<'a>,
) -> (Vec<TokenStream>, Vec<TokenStream>) {
    let routes = routed(api);
    // Handler names must be unique even when operation ids collide after normalisation.
    let mut names: Vec<proc_macro2::Ident> = Vec::new();
    let mut arms = Vec::new();
    let mut handlers = Vec::new();
    let all: Vec<&Route> = api
        .routes
        .iter()
        .filter(|r| r.integration.is_some())
        .collect();
    let mut named: Vec<(&Route, proc_macro2::Ident)> = Vec::new();
    for r in &all {
        let mut n = handler_name(r);
        let mut k = 2u32;
        while names.contains(&n) {
            n = format_ident!("{}_{}", handler_name(r), k);
            k += 1;
        }
        names.push(n.clone());
        named.push((r, n));
    }
    let name_of = |r: &Route| {
        named
            .iter()
            .find(|(x, _)| std::ptr::eq(*x, r))
            .map(|(_, n)| n.clone())
            .unwrap_or_else(|| handler_name(r))
    };
    for (id, r) in routes.iter().enumerate() {
        let mut binds = Vec::new();
        for (i, seg) in r.path.segments.iter().enumerate() {
            match seg {
                Segment::Literal(_) => {}
                Segment::Param(name) => binds.push(quote!(cx.bind(#name, raw[#i], segments[#i]);)),
                Segment::Greedy(name) => binds.push(quote!(cx.bind_greedy(#name, &raw[#i..]);)),
            }
        }
        let f = name_of(r);
        let resource = &r.path.raw;
        arms.push(quote! {
            Some(#id) => {
                cx.resource_path = #resource;
                #(#binds)*
                #f(rt, cx, req).await
            }
        });
    }
    for (r, name) in &named {
        handlers.push(handler(api, r, name, models, response_models));
    }
    (arms, handlers)
}

/// The request validator in force for a route (its own, else the API's default) and its name.
fn validator<'a>(
    api: &'a Api,
    r: &'a Route,
) -> Option<(&'a Spanned<String>, &'a RequestValidator)> {
    let name = r.validator.as_ref().or(api.default_validator.as_ref())?;
    Some((name, api.request_validators.get(&name.value)?))
}

/// `validateRequestParameters`: the required path, query and header parameters, checked
/// before the integration, in API Gateway's order (sorted by `method.request.<in>.<name>`).
fn parameter_validation(api: &Api, r: &Route) -> TokenStream {
    if !validator(api, r).is_some_and(|(_, v)| v.validate_parameters) {
        return quote!();
    }
    let mut required: Vec<(String, TokenStream, &str)> = r
        .parameters
        .iter()
        .filter(|p| p.required)
        .filter_map(|p| {
            let (key, loc) = match p.location {
                ParamIn::Header => ("header", quote!(In::Header)),
                ParamIn::Path => ("path", quote!(In::Path)),
                ParamIn::Query => ("querystring", quote!(In::Query)),
                // API Gateway has no cookie parameters (`method.request.*` has no cookies).
                ParamIn::Cookie => return None,
            };
            Some((
                format!("method.request.{key}.{}", p.name),
                loc,
                p.name.as_str(),
            ))
        })
        .collect();
    if required.is_empty() {
        return quote!();
    }
    required.sort_by(|a, b| a.0.cmp(&b.0));
    let items = required.iter().map(|(_, loc, name)| quote!((#loc, #name)));
    quote! {
        if let Some(message) = validate::missing_parameters(cx, &[#(#items),*]) {
            return rt.gateway_response_with(cx, ResponseType::BadRequestParameters, message);
        }
    }
}

/// `x-specgate-validation: {parameters: typed}`: each parameter with a schema is decoded by
/// its `style`/`explode` and validated; failures are a 400 `BAD_REQUEST_PARAMETERS` naming
/// each parameter (`querystring.limit: …`) in API Gateway's key order.
fn typed_parameters<'a>(
    api: &'a Api,
    r: &'a Route,
    name: &proc_macro2::Ident,
    models: &mut crate::schema::Validators<'a>,
) -> TokenStream {
    if !r
        .validation
        .typed_parameters
        .unwrap_or(api.typed_parameters)
    {
        return quote!();
    }
    let mut params: Vec<(String, &Parameter)> = r
        .parameters
        .iter()
        .filter(|p| p.schema.is_some())
        .map(|p| {
            let key = match p.location {
                ParamIn::Header => "header",
                ParamIn::Path => "path",
                ParamIn::Query => "querystring",
                ParamIn::Cookie => "cookie",
            };
            (format!("{key}.{}", p.name), p)
        })
        .collect();
    if params.is_empty() {
        return quote!();
    }
    // API Gateway's order for parameter keys; cookies (not an API Gateway location) last.
    params.sort_by_key(|(k, p)| (p.location == ParamIn::Cookie, k.clone()));
    let checks = params.iter().map(|(key, p)| {
        let Some(schema) = &p.schema else {
            return quote!();
        };
        let f = models.root(&schema.json, &format!("{name}_{}", key.replace('.', "_")));
        let shape = models.param_shape(&schema.json);
        let style = match p.style.as_str() {
            "label" => quote!(params::Style::Label),
            "matrix" => quote!(params::Style::Matrix),
            "form" => quote!(params::Style::Form),
            "spaceDelimited" => quote!(params::Style::SpaceDelimited),
            "pipeDelimited" => quote!(params::Style::PipeDelimited),
            "deepObject" => quote!(params::Style::DeepObject),
            _ => quote!(params::Style::Simple),
        };
        let read = match p.location {
            ParamIn::Header => quote!(params::header(cx, &p)),
            ParamIn::Path => quote!(params::path(cx, &p)),
            ParamIn::Query => quote!(params::query(&query, &p)),
            ParamIn::Cookie => quote!(params::cookie(cx, &p)),
        };
        let pname = &p.name;
        let explode = p.explode;
        let missing = if p.required {
            let m = format!("{key}: required parameter is missing");
            quote!(None => invalid.push(#m.to_string()),)
        } else {
            quote!(None => {})
        };
        quote! {
            let p = params::Param { name: #pname, style: #style, explode: #explode, shape: #shape };
            match #read {
                Some(v) => params::check(&mut invalid, #key, &v, models::#f),
                #missing
            }
        }
    });
    let query = if params.iter().any(|(_, p)| p.location == ParamIn::Query) {
        quote!(let query = params::query_pairs(cx);)
    } else {
        quote!()
    };
    quote! {
        #query
        let mut invalid: Vec<String> = Vec::new();
        #(#checks)*
        if !invalid.is_empty() {
            let message = params::message(cx, &invalid);
            return rt.gateway_response_with(cx, ResponseType::BadRequestParameters, message);
        }
    }
}

/// `validateRequestBody`: the model for the request's media type (exact match, else a
/// `*/*` entry as API Gateway's `$default`); no model for the media type, no validation.
fn body_validation<'a>(
    api: &'a Api,
    r: &'a Route,
    name: &proc_macro2::Ident,
    models: &mut crate::schema::Validators<'a>,
) -> TokenStream {
    if !validator(api, r).is_some_and(|(_, v)| v.validate_body) {
        return quote!();
    }
    let Some(body) = &r.request_body else {
        return quote!();
    };
    let mut arms = Vec::new();
    let mut default = None;
    for (media, schema) in &body.content {
        let Some(schema) = schema else { continue };
        let f = models.root(&schema.json, &format!("{name}_body"));
        let media = media.to_ascii_lowercase();
        // `x-specgate-validation: {bodies: typed}`: a form is decoded (each field as a
        // `form`, exploded parameter) before it is validated; API Gateway reads it as JSON.
        let typed = r.validation.typed_bodies.unwrap_or(api.typed_bodies);
        let check = if typed && media == "application/x-www-form-urlencoded" {
            let shape = models.param_shape(&schema.json);
            quote!(validate::form(rt, cx, req, models::#f, #shape).await)
        } else {
            quote!(validate::body(rt, cx, req, models::#f).await)
        };
        if media == "*/*" {
            default = Some(check);
        } else {
            arms.push(quote!(#media => #check,));
        }
    }
    if arms.is_empty() && default.is_none() {
        return quote!();
    }
    let default = default.unwrap_or_else(|| quote!(Ok(req)));
    quote! {
        let checked = match validate::media_type(cx).as_str() {
            #(#arms)*
            _ => #default,
        };
        let req = match checked {
            Ok(req) => req,
            Err(response) => return response,
        };
    }
}

/// `x-specgate-validation: {responses: …}`: a function choosing the declared response schema
/// for a status code and media type (exact codes, then `2XX`-style ranges, then `default`).
fn response_model_fn<'a>(
    r: &'a Route,
    name: &proc_macro2::Ident,
    response_models: &mut crate::schema::Validators<'a>,
) -> Option<(proc_macro2::Ident, TokenStream)> {
    let mut exact = Vec::new();
    let mut ranges = Vec::new();
    let mut default = Vec::new();
    for (code, resp) in &r.responses {
        if resp.schemas.is_empty() {
            continue;
        }
        let media_arms: Vec<TokenStream> = resp
            .schemas
            .iter()
            .map(|(media, schema)| {
                let f = response_models.root(
                    &schema.json,
                    &format!("{name}_response_{}", code.to_ascii_lowercase()),
                );
                let media = media.to_ascii_lowercase();
                if media == "*/*" {
                    quote!(_ => Some(response_models::#f),)
                } else if let Some(prefix) = media.strip_suffix("/*") {
                    let prefix = format!("{prefix}/");
                    quote!(m if m.starts_with(#prefix) => Some(response_models::#f),)
                } else {
                    quote!(#media => Some(response_models::#f),)
                }
            })
            .collect();
        let body = quote! {
            match media {
                #(#media_arms)*
                _ => None,
            }
        };
        let upper = code.to_ascii_uppercase();
        if let Ok(n) = code.parse::<u16>() {
            exact.push(quote!(#n => #body,));
        } else if upper.len() == 3 && upper.ends_with("XX") {
            let d = u16::from(upper.as_bytes()[0].wrapping_sub(b'0'));
            let (lo, hi) = (d * 100, d * 100 + 99);
            ranges.push(quote!(#lo..=#hi => #body,));
        } else if code == "default" {
            default.push(quote!(_ => #body,));
        }
    }
    if exact.is_empty() && ranges.is_empty() && default.is_empty() {
        return None;
    }
    let f = format_ident!("{}_response_model", name);
    let fallback = if default.is_empty() {
        quote!(_ => None,)
    } else {
        quote!(#(#default)*)
    };
    let doc = format!(
        " The declared response schema of `{} {}` for a status and media type.",
        r.method.as_str(),
        r.path.raw
    );
    Some((
        f.clone(),
        quote! {
            #[doc = #doc]
            fn #f(status: u16, media: &str) -> Option<validate::Model> {
                match status {
                    #(#exact)*
                    #(#ranges)*
                    #fallback
                }
            }
        },
    ))
}

fn handler<'a>(
    api: &'a Api,
    r: &'a Route,
    name: &proc_macro2::Ident,
    models: &mut crate::schema::Validators<'a>,
    response_models: &mut crate::schema::Validators<'a>,
) -> TokenStream {
    let Some(i) = &r.integration else {
        return quote!();
    };
    let doc = format!(
        " `{} {}`{}: `{}` integration.",
        r.method.as_str(),
        r.path.raw,
        r.operation_id
            .as_ref()
            .map(|o| format!(" ({})", crate::schema::doc_text(o)))
            .unwrap_or_default(),
        i.kind.value.as_str()
    );
    let authorize = authorization(api, r);
    let body = match i.kind.value {
        IntegrationType::Mock => mock(api, i, name),
        IntegrationType::HttpProxy => http_proxy(api, r, i),
        IntegrationType::Http => http(api, r, i, name),
        IntegrationType::Aws | IntegrationType::AwsProxy => lambda(api, r, i, name),
    };
    let validation = parameter_validation(api, r);
    let validation = quote!(#authorize #validation);
    let typed = typed_parameters(api, r, name, models);
    let body_validation = body_validation(api, r, name, models);
    let checked = match r.validation.responses.unwrap_or(api.response_validation) {
        ResponseValidation::Off => None,
        mode => response_model_fn(r, name, response_models)
            .map(|f| (f, mode == ResponseValidation::Strict)),
    };
    let Some(((model_fn, model_code), strict)) = checked else {
        return quote! {
            #[doc = #doc]
            async fn #name(rt: &Runtime, cx: &mut Context, req: Request) -> Response {
                #validation
                #typed
                #body_validation
                #body
            }
        };
    };
    let inner = format_ident!("{}_integration", name);
    quote! {
        #[doc = #doc]
        /// Its responses are checked against the declared schemas.
        async fn #name(rt: &Runtime, cx: &mut Context, req: Request) -> Response {
            let response = #inner(rt, cx, req).await;
            validate::response(cx, response, #strict, #model_fn).await
        }

        async fn #inner(rt: &Runtime, cx: &mut Context, req: Request) -> Response {
            #validation
            #typed
            #body_validation
            #body
        }

        #model_code
    }
}

/// Request parameters mapped to `integration.request.<kind>.<name>`.
fn mapped<'a>(i: &'a Integration, kind: &str) -> Vec<(&'a str, &'a str)> {
    let prefix = format!("integration.request.{kind}.");
    i.request_parameters
        .iter()
        .filter_map(|(t, s)| Some((t.value.strip_prefix(&prefix)?, s.value.as_str())))
        .collect()
}

/// `'value'`: a static mapping value, known at compile time.
fn static_value(expr: &str) -> Option<&str> {
    expr.strip_prefix('\'')?.strip_suffix('\'')
}

/// A mapping value in generated code, as an owned `String` and as a `&str`.
struct Val {
    owned: TokenStream,
    borrowed: TokenStream,
}

/// Code that passes the value of mapping source `expr` to `use_value`: a static value
/// directly, anything else only when the request has it. `backend` is the
/// `Option<&HeaderMap>` of backend response headers for `integration.response.header.*`.
fn with_value(
    expr: &str,
    backend: &TokenStream,
    use_value: impl Fn(Val) -> TokenStream,
) -> Option<TokenStream> {
    if let Some(v) = static_value(expr) {
        return Some(use_value(Val {
            owned: quote!(String::from(#v)),
            borrowed: quote!(#v),
        }));
    }
    let src = source(expr)?;
    let body = use_value(Val {
        owned: quote!(v),
        borrowed: quote!(&v),
    });
    Some(quote! {
        if let Some(v) = #src.value(cx, #backend) {
            #body
        }
    })
}

/// Code that builds the backend URL into `url`: `{name}` placeholders from path mappings
/// (the greedy `{proxy}` keeps its slashes), `${stageVariables.x}` from the stage.
fn url_builder(r: &Route, i: &Integration) -> TokenStream {
    url_builder_with(r, i, false)
}

/// [`url_builder`]; with `overrides`, a `requestOverride.path.<name>` a request template
/// wrote (in `request_overrides`) fills `{name}` first.
fn url_builder_with(r: &Route, i: &Integration, overrides: bool) -> TokenStream {
    let Some(IntegrationUri::Http(uri)) = i.uri.as_ref().map(|u| &u.value) else {
        return quote!(let mut url = String::new(););
    };
    let path_maps = mapped(i, "path");
    let greedy: Vec<&str> = r
        .path
        .segments
        .iter()
        .filter_map(|s| match s {
            Segment::Greedy(n) => Some(n.as_str()),
            _ => None,
        })
        .collect();
    let mut stmts = Vec::new();
    let mut rest = uri.as_str();
    let mut lit = String::new();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix("${stageVariables.") {
            if let Some(end) = after.find('}') {
                if !lit.is_empty() {
                    stmts.push(quote!(url.push_str(#lit);));
                    lit.clear();
                }
                let var = &after[..end];
                stmts.push(quote!(url.push_str(cx.stage_var(#var).unwrap_or(""));));
                rest = &after[end + 1..];
                continue;
            }
        }
        if let Some(after) = rest.strip_prefix('{') {
            if let Some(end) = after.find('}') {
                let name = &after[..end];
                if !lit.is_empty() {
                    stmts.push(quote!(url.push_str(#lit);));
                    lit.clear();
                }
                let before = stmts.len();
                // The value comes from `integration.request.path.<name>`; a greedy source
                // keeps its slashes (as received), others are encoded as one segment.
                let src = path_maps.iter().find(|(n, _)| *n == name).map(|(_, e)| *e);
                let from_path = src.and_then(|e| e.strip_prefix("method.request.path."));
                match (src, from_path) {
                    (_, Some(p)) if greedy.contains(&p) => {
                        stmts.push(quote!(url.push_str(cx.raw_path_param(#p).unwrap_or(""));));
                    }
                    // A path parameter keeps the client's bytes (`%ff` stays `%FF`).
                    (_, Some(p)) => {
                        stmts.push(quote!(url.push_str(&path::reencode_segment(cx.raw_path_param(#p).unwrap_or("")));));
                    }
                    (Some(e), _) => {
                        if let Some(s) = source(e) {
                            stmts.push(quote!(url.push_str(&path::encode_segment(&#s.value(cx, None).unwrap_or_default()));));
                        }
                    }
                    // Unmapped: HTTP APIs fill `{name}` from the route's own parameters.
                    (None, _) if greedy.contains(&name) => {
                        stmts.push(quote!(url.push_str(cx.raw_path_param(#name).unwrap_or(""));));
                    }
                    (None, _) => {
                        stmts.push(quote!(url.push_str(&path::reencode_segment(cx.raw_path_param(#name).unwrap_or("")));));
                    }
                }
                if overrides {
                    let fill: Vec<TokenStream> = stmts.drain(before..).collect();
                    stmts.push(quote! {
                        match request_overrides.request_path.iter().rev().find(|(n, _)| n == #name) {
                            Some((_, v)) => url.push_str(&path::encode_segment(v)),
                            None => { #(#fill)* }
                        }
                    });
                }
                rest = &after[end + 1..];
                continue;
            }
        }
        let ch = rest.chars().next().unwrap_or(' ');
        lit.push(ch);
        rest = &rest[ch.len_utf8()..];
    }
    if !lit.is_empty() {
        stmts.push(quote!(url.push_str(#lit);));
    }
    if r.path.is_default {
        // The `$default` route forwards the full request path, appended to the URI.
        stmts.push(quote!(upstream::append_path(&mut url, &cx.path);));
    }
    quote! {
        let mut url = String::new();
        #(#stmts)*
    }
}

fn header_mappings(i: &Integration) -> TokenStream {
    let none = quote!(None);
    let hs = mapped(i, "header").into_iter().filter_map(|(name, expr)| {
        with_value(expr, &none, |v| {
            let v = v.owned;
            quote!(headers.push((std::borrow::Cow::Borrowed(#name), #v));)
        })
    });
    quote! {
        let mut headers: Vec<(std::borrow::Cow<'static, str>, String)> = Vec::new();
        #(#hs)*
    }
}

fn query_mappings(i: &Integration) -> TokenStream {
    let none = quote!(None);
    let qs = mapped(i, "querystring")
        .into_iter()
        .filter_map(|(name, expr)| {
            with_value(expr, &none, |v| {
                let v = v.borrowed;
                quote!(upstream::add_query_param(&mut url, #name, #v);)
            })
        });
    quote!(#(#qs)*)
}

fn http_proxy(_api: &Api, r: &Route, i: &Integration) -> TokenStream {
    let url = url_builder(r, i);
    let queries = query_mappings(i);
    let headers = header_mappings(i);
    let method = match i.http_method.as_ref().map(|m| m.value.as_str()) {
        None | Some("ANY") => quote!(None),
        Some(m) => {
            let m = format_ident!("{}", m);
            quote!(Some(Method::#m))
        }
    };
    let timeout = i.timeout_ms.value as u64;
    quote! {
        #url
        upstream::append_query(&mut url, cx.query.as_deref());
        #queries
        #headers
        upstream::http_proxy(rt, cx, req, url, #method, headers, #timeout).await
    }
}

/// Whether `v` is a valid header value as `HeaderValue::from_static` requires (visible
/// ASCII, space, tab).
fn is_header_value(v: &str) -> bool {
    v.bytes().all(|b| (32..127).contains(&b) || b == b'\t')
}

/// The route's authorizer check (API Gateway runs it before validating the request): the
/// first scheme of its `security` that has a Lambda authorizer.
fn authorization(api: &Api, r: &Route) -> TokenStream {
    let found = r
        .security
        .iter()
        .flat_map(|req| req.schemes.iter())
        .find_map(|(name, scopes)| {
            let s = api.security_schemes.get(&name.value)?;
            Some((s, s.authorizer.as_ref()?, scopes))
        });
    let Some((scheme, a, scopes)) = found else {
        return quote!();
    };
    let jwt_like = match (a.kind, &a.jwt) {
        (AuthorizerKind::Jwt, Some(jwt)) => {
            let header = a
                .identity_source
                .first()
                .and_then(|s| s.value.trim().strip_prefix("$request.header."))
                .unwrap_or("Authorization")
                .to_ascii_lowercase();
            Some((
                vec![jwt.issuer.value.clone()],
                jwt.audience.clone(),
                header,
                false,
            ))
        }
        (AuthorizerKind::CognitoUserPools, _) => {
            let issuers: Vec<String> = a
                .provider_arns
                .iter()
                .filter_map(|p| cognito_issuer(&p.value))
                .collect();
            let header = a
                .identity_source
                .first()
                .and_then(|s| s.value.trim().strip_prefix("method.request.header."))
                .map(str::to_string)
                .or_else(|| match &scheme.kind {
                    SchemeKind::ApiKey { name, .. } => Some(name.clone()),
                    _ => None,
                })
                .unwrap_or_else(|| "Authorization".to_string())
                .to_ascii_lowercase();
            Some((issuers, Vec::new(), header, true))
        }
        _ => None,
    };
    if let Some((issuers, audience, header, cognito)) = jwt_like {
        return quote! {
            static AUTHORIZER: jwt::JwtAuthorizer = jwt::JwtAuthorizer {
                issuers: &[#(#issuers),*],
                audience: &[#(#audience),*],
                header: #header,
                cognito: #cognito,
            };
            if let Err(denied) = jwt::authorize(rt, cx, &AUTHORIZER, &[#(#scopes),*]).await {
                return denied;
            }
        };
    }
    let Some(IntegrationUri::Lambda {
        region, function, ..
    }) = a.uri.as_ref().map(|u| &u.value)
    else {
        return quote!();
    };
    let kind = match (a.kind, api.flavor) {
        (AuthorizerKind::Token, _) => quote!(auth::Kind::Token),
        (AuthorizerKind::Request, Flavor::Http) => {
            let v1 = a
                .payload_format_version
                .as_ref()
                .is_some_and(|v| v.value == "1.0");
            let simple = a.enable_simple_responses && !v1;
            quote!(auth::Kind::Http { simple: #simple, v1: #v1 })
        }
        (AuthorizerKind::Request, _) => quote!(auth::Kind::Request),
        // JWT and Cognito are refused by `support`.
        _ => return quote!(),
    };
    let mut sources: Vec<String> = a.identity_source.iter().map(|s| s.value.clone()).collect();
    if sources.is_empty() && a.kind == AuthorizerKind::Token {
        // A token authorizer reads the header its `apiKey` scheme names.
        if let SchemeKind::ApiKey { name, .. } = &scheme.kind {
            sources.push(format!("method.request.header.{name}"));
        }
    }
    let identity: Vec<TokenStream> = sources
        .iter()
        .filter_map(|s| {
            let s = s.trim().trim_start_matches('$');
            let s = s.strip_prefix("method.").unwrap_or(s);
            if let Some(h) = s.strip_prefix("request.header.") {
                return Some(quote!(auth::Identity::Header(#h)));
            }
            if let Some(q) = s.strip_prefix("request.querystring.") {
                return Some(quote!(auth::Identity::Query(#q)));
            }
            if let Some(v) = s.strip_prefix("stageVariables.") {
                return Some(quote!(auth::Identity::StageVar(#v)));
            }
            let var = context_var(s.strip_prefix("context.")?)?;
            Some(quote!(auth::Identity::Context(#var)))
        })
        .collect();
    let name = scheme.name.as_str();
    let ttl = a.result_ttl_seconds.value.max(0) as u64;
    let function = stage_string(function);
    let validation = a
        .identity_validation_expression
        .as_ref()
        .filter(|_| a.kind == AuthorizerKind::Token)
        .map(|e| format!("^(?:{})$", e.value))
        .filter(|re| regex::Regex::new(re).is_ok());
    let (validation_static, validation_arg) = match validation {
        Some(re) => (
            quote! {
                static VALID: std::sync::LazyLock<Regex> =
                    std::sync::LazyLock::new(|| Regex::new(#re).expect("checked at compile time"));
            },
            quote!(Some(&*VALID)),
        ),
        None => (quote!(), quote!(None)),
    };
    let route_key = (api.flavor == Flavor::Http).then(|| {
        let key = route_key(r);
        quote!(cx.route_key = Some(String::from(#key));)
    });
    quote! {
        static AUTHORIZER: auth::LambdaAuthorizer = auth::LambdaAuthorizer {
            name: #name,
            kind: #kind,
            region: #region,
            identity: &[#(#identity),*],
            ttl_seconds: #ttl,
        };
        #validation_static
        #route_key
        let function = #function;
        if let Err(denied) = auth::lambda(rt, cx, &AUTHORIZER, &function, #validation_arg).await {
            return denied;
        }
    }
}

/// The issuer of a Cognito user pool ARN (`arn:aws:cognito-idp:{region}:{account}:
/// userpool/{poolId}`): `https://cognito-idp.{region}.amazonaws.com/{poolId}`.
fn cognito_issuer(arn: &str) -> Option<String> {
    let parts: Vec<&str> = arn.split(':').collect();
    let region = parts.get(3)?;
    let pool = parts.get(5)?.strip_prefix("userpool/")?;
    Some(format!("https://cognito-idp.{region}.amazonaws.com/{pool}"))
}

/// An HTTP API route's key: `GET /pets/{id}`, `ANY /x`, or `$default`.
fn route_key(r: &Route) -> String {
    if r.path.is_default {
        return "$default".to_string();
    }
    let m = match r.method {
        Method::Any => "ANY",
        m => m.as_str(),
    };
    format!("{m} {}", r.path.raw)
}

/// An expression for the text that `text` (with `${stageVariables.x}` parts) is at request
/// time: the literal itself when it has no stage variables, else a `String`.
fn stage_string(text: &str) -> TokenStream {
    if !text.contains("${stageVariables.") {
        return quote!(#text);
    }
    let mut parts = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("${stageVariables.") {
        let (lit, after) = rest.split_at(at);
        let after = &after["${stageVariables.".len()..];
        let Some(end) = after.find('}') else { break };
        if !lit.is_empty() {
            parts.push(quote!(s.push_str(#lit);));
        }
        let var = &after[..end];
        parts.push(quote!(s.push_str(cx.stage_var(#var).unwrap_or(""));));
        rest = &after[end + 1..];
    }
    if !rest.is_empty() {
        parts.push(quote!(s.push_str(#rest);));
    }
    quote!({
        let mut s = String::new();
        #(#parts)*
        s
    })
}

/// A Lambda integration: `aws_proxy` (the event in, the proxy response out) or `aws`
/// (request templates build the payload, integration responses are selected by the
/// function's `errorMessage`).
fn lambda(api: &Api, r: &Route, i: &Integration, handler: &proc_macro2::Ident) -> TokenStream {
    let Some(IntegrationUri::Lambda {
        region, function, ..
    }) = i.uri.as_ref().map(|u| &u.value)
    else {
        // `check` refuses AWS-service integrations; nothing else reaches here.
        return quote!(rt.gateway_response(cx, ResponseType::ApiConfigurationError));
    };
    let function = stage_string(function);
    let timeout = i.timeout_ms.value as u64;
    let types = binary_types(api);
    let invoke = |payload: TokenStream, kind: TokenStream| {
        quote! {
            let function = #function;
            let invoked = rt.lambda.invoke(
                rt,
                &function,
                #region,
                #payload,
                #kind,
                std::time::Duration::from_millis(#timeout),
            ).await;
        }
    };
    let sync = quote!(lambda::InvocationType::RequestResponse);
    if i.kind.value == IntegrationType::AwsProxy {
        let read = quote! {
            let body = match vtl::mapping::read_body(req).await {
                Ok(b) => b,
                Err(r) => return r,
            };
        };
        return if api.flavor == Flavor::Http {
            let version = i
                .payload_format_version
                .as_ref()
                .map_or("2.0", |v| v.value.as_str());
            let event = if version == "1.0" {
                quote!(lambda::event::v1_json(cx, &body, &[], Some("1.0")))
            } else {
                let route_key = route_key(r);
                quote!(lambda::event::v2(cx, &body, #route_key).to_string())
            };
            let call = invoke(quote!(Bytes::from(#event)), sync);
            quote! {
                #read
                #call
                match invoked {
                    Ok(out) => lambda::proxy::http_api(rt, cx, &out, #version),
                    Err(e) => lambda::failure(rt, cx, &e),
                }
            }
        } else {
            let call = invoke(
                quote!(Bytes::from(lambda::event::v1_json(cx, &body, #types, None))),
                sync,
            );
            quote! {
                #read
                #call
                match invoked {
                    Ok(out) => lambda::proxy::rest(cx, &out, #types),
                    Err(e) => lambda::failure(rt, cx, &e),
                }
            }
        };
    }
    // Non-proxy: `X-Amz-Invocation-Type: 'Event'` makes the call asynchronous.
    let asynchronous = i.request_parameters.iter().any(|(t, s)| {
        t.value
            .strip_prefix("integration.request.header.")
            .is_some_and(|h| h.eq_ignore_ascii_case("x-amz-invocation-type"))
            && static_value(&s.value) == Some("Event")
    });
    let kind = if asynchronous {
        quote!(lambda::InvocationType::Event)
    } else {
        sync
    };
    let mapping = request_mapping(api, i, handler);
    let call = invoke(quote!(mapped.body.map(Bytes::from).unwrap_or(body)), kind);
    let responses = if i.responses.is_empty() {
        quote!(rt.gateway_response(cx, ResponseType::ApiConfigurationError))
    } else {
        integration_responses(api, i, Selector::Lambda, handler)
    };
    let ov = templated(i).then(|| quote!(let ov = mapped.overrides;));
    quote! {
        #mapping
        #ov
        #call
        let out = match invoked {
            Ok(out) => out,
            Err(e) => return lambda::failure(rt, cx, &e),
        };
        // Integration responses are selected by the function's `errorMessage` (empty when
        // it did not fail); the payload is what templates see.
        let selector = lambda::error_message(&out);
        let backend = upstream::Buffered {
            status: 200,
            headers: http::HeaderMap::new(),
            body: out.payload,
        };
        #responses
    }
}

/// What integration responses are selected on.
enum Selector {
    /// A mock's status, known at compile time: the response is chosen by codegen.
    Constant(String),
    /// A mock's status from its rendered request template (`selector`), at request time.
    Mock,
    /// The backend's status (`backend.status`), matched at request time.
    Backend,
    /// A Lambda function's `errorMessage` (`selector`), with its payload in `backend`.
    Lambda,
}

/// The name of a compiled template: `<handler>_request_<k>` or `<handler>_response_<n>_<k>`.
fn template_fn(
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
fn template_table(
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
fn templated(i: &Integration) -> bool {
    !i.request_templates.is_empty() || i.responses.iter().any(|r| !r.templates.is_empty())
}

/// Every mapping template of the API, compiled (`mod templates`).
fn templates_module(api: &Api) -> TokenStream {
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
fn compile_template(
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
fn templates_items(fns: &[TokenStream]) -> TokenStream {
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

/// Code that answers with one integration response: status, mapped headers, body (the
/// backend's, or its response template's output), then the template overrides.
fn integration_response(
    api: &Api,
    resp: &IntegrationResponse,
    n: usize,
    selector: &Selector,
    handler: &proc_macro2::Ident,
    templated: bool,
) -> TokenStream {
    let status: u16 = resp.status.value.parse().unwrap_or(200);
    let backend = match selector {
        Selector::Backend | Selector::Lambda => quote!(Some(&backend.headers)),
        _ => quote!(None),
    };
    let headers = resp.parameters.iter().filter_map(|(t, s)| {
        let h = t.value.strip_prefix("method.response.header.")?;
        match static_value(&s.value) {
            // A valid static value goes in as is; checked here so it cannot fail at run time.
            Some(v) if is_header_value(v) => {
                Some(quote!(builder = builder.header(#h, HeaderValue::from_static(#v));))
            }
            _ => with_value(&s.value, &backend, |v| {
                let v = v.borrowed;
                quote! {
                    if let Ok(v) = HeaderValue::from_str(#v) {
                        builder = builder.header(#h, v);
                    }
                }
            }),
        }
    });
    // The backend's payload after `contentHandling` (or the `Accept`-driven conversion of
    // an API with binary media types).
    let converts = resp.content_handling.is_some() || !api.binary_media_types.is_empty();
    let convert = match selector {
        Selector::Backend | Selector::Lambda if converts => {
            let types = binary_types(api);
            let ch = match resp.content_handling {
                Some(ch) => {
                    let ch = content_handling(ch);
                    quote!(Some(#ch))
                }
                None => quote!(None),
            };
            Some(quote! {
                let backend_type = backend.headers.get("content-type").and_then(|v| v.to_str().ok());
                let Some(payload) = vtl::mapping::convert_response(backend.body.clone(), backend_type, cx, #types, #ch) else {
                    return rt.gateway_response(cx, ResponseType::ApiConfigurationError);
                };
            })
        }
        _ => None,
    };
    let payload = if convert.is_some() {
        quote!(payload)
    } else {
        quote!(backend.body)
    };
    let input = match selector {
        Selector::Backend | Selector::Lambda => quote!(&#payload),
        _ => quote!(b""),
    };
    let body = if resp.templates.is_empty() {
        match selector {
            // Passthrough: the backend's body.
            Selector::Backend | Selector::Lambda => {
                quote!(let (content_type, body) = ("application/json", #payload.clone());)
            }
            _ => quote!(let (content_type, body) = ("application/json", Bytes::new());),
        }
    } else {
        let table = template_table(&resp.templates, handler, Some(n));
        quote! {
            let (content_type, body, ov) = match vtl::mapping::map_response(cx, #table, #input, ov) {
                Ok(Some((media, text, ov))) => (media, Bytes::from(text), ov),
                Ok(None) => ("application/json", Bytes::new(), serde_json::Value::Null),
                Err(f) => return vtl::mapping::failure(rt, cx, f),
            };
        }
    };
    // A `Content-Type` mapped by `responseParameters` wins over the default.
    let mapped_type = resp.parameters.iter().any(|(t, _)| {
        t.value
            .strip_prefix("method.response.header.")
            .is_some_and(|h| h.eq_ignore_ascii_case("content-type"))
    });
    let content_type = if mapped_type {
        quote! {
            if !builder.headers_ref().is_some_and(|h| h.contains_key(http::header::CONTENT_TYPE)) {
                builder = builder.header("content-type", content_type);
            }
        }
    } else {
        quote!(builder = builder.header("content-type", content_type);)
    };
    let finish = if templated {
        quote! {
            let mut resp = builder
                .body(full(body))
                .unwrap_or_else(|_| rt.gateway_response(cx, ResponseType::ApiConfigurationError));
            vtl::mapping::apply_response_overrides(&mut resp, &ov);
            resp
        }
    } else {
        quote! {
            builder
                .body(full(body))
                .unwrap_or_else(|_| rt.gateway_response(cx, ResponseType::ApiConfigurationError))
        }
    };
    quote! {
        let mut builder = http::Response::builder().status(#status);
        #(#headers)*
        #convert
        #body
        #content_type
        #finish
    }
}

/// Integration-response selection and rendering shared by `http` and `mock`: the first
/// response whose selection pattern matches the whole status, else `default`, else API
/// Gateway's configuration error.
fn integration_responses(
    api: &Api,
    i: &Integration,
    selector: Selector,
    handler: &proc_macro2::Ident,
) -> TokenStream {
    let no_match = quote!(rt.gateway_response(cx, ResponseType::ApiConfigurationError));
    let templated = templated(i);
    let default = i
        .responses
        .iter()
        .enumerate()
        .find(|(_, r)| r.pattern.is_none());
    if let Selector::Constant(status) = &selector {
        let chosen = i
            .responses
            .iter()
            .enumerate()
            .find(|(_, r)| {
                r.pattern.as_ref().is_some_and(|p| {
                    regex::Regex::new(&format!("^(?:{})$", p.value))
                        .is_ok_and(|re| re.is_match(status))
                })
            })
            .or(default);
        return match chosen {
            Some((n, resp)) => integration_response(api, resp, n, &selector, handler, templated),
            None => no_match,
        };
    }
    let arms = i.responses.iter().enumerate().filter_map(|(n, resp)| {
        let re = format!("^(?:{})$", resp.pattern.as_ref()?.value);
        let static_name = format_ident!("SELECTION_{}", n);
        let build = integration_response(api, resp, n, &selector, handler, templated);
        Some(quote! {
            static #static_name: std::sync::LazyLock<Regex> =
                std::sync::LazyLock::new(|| Regex::new(#re).expect("checked at compile time"));
            if #static_name.is_match(&selector) {
                return { #build };
            }
        })
    });
    let fallback = match default {
        Some((n, resp)) => integration_response(api, resp, n, &selector, handler, templated),
        None => no_match,
    };
    let selector_value = match selector {
        Selector::Backend => quote!(let selector = backend.status.to_string();),
        _ => quote!(),
    };
    quote! {
        #selector_value
        #(#arms)*
        #fallback
    }
}

fn passthrough(i: &Integration) -> TokenStream {
    match i.passthrough {
        Passthrough::WhenNoMatch => quote!(vtl::Passthrough::WhenNoMatch),
        Passthrough::WhenNoTemplates => quote!(vtl::Passthrough::WhenNoTemplates),
        Passthrough::Never => quote!(vtl::Passthrough::Never),
    }
}

/// The API's `binaryMediaTypes` as a `&[&str]` expression.
fn binary_types(api: &Api) -> TokenStream {
    let types = api.binary_media_types.iter().map(|t| t.value.as_str());
    quote!(&[#(#types),*])
}

fn content_handling(ch: ContentHandling) -> TokenStream {
    match ch {
        ContentHandling::ConvertToText => quote!(vtl::mapping::ContentHandling::ConvertToText),
        ContentHandling::ConvertToBinary => {
            quote!(vtl::mapping::ContentHandling::ConvertToBinary)
        }
    }
}

/// Reads the client's body into `body` and applies the integration's `contentHandling`.
fn read_request_body(api: &Api, i: &Integration) -> TokenStream {
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
fn request_mapping(api: &Api, i: &Integration, handler: &proc_macro2::Ident) -> TokenStream {
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

/// The status of a mock whose request templates are all constant JSON with the same
/// `statusCode`, under `when_no_match` (so no request can get another answer).
fn constant_mock_status(i: &Integration) -> Option<u64> {
    if i.passthrough != Passthrough::WhenNoMatch {
        return None;
    }
    let statuses: Vec<u64> = i
        .request_templates
        .values()
        .map(|t| {
            let ast = crate::vtl::parse(&t.value).ok()?;
            if !ast
                .nodes
                .iter()
                .all(|n| matches!(n, crate::vtl::Node::Text(_)))
            {
                return None;
            }
            let v: serde_json::Value = serde_json::from_str(&t.value).ok()?;
            v.get("statusCode")?
                .as_u64()
                .filter(|s| (100..=599).contains(s))
        })
        .collect::<Option<_>>()?;
    let first = *statuses.first()?;
    // A passed-through request (another media type) is a 200.
    (first == 200 && statuses.iter().all(|s| *s == first)).then_some(first)
}

fn mock(api: &Api, i: &Integration, handler: &proc_macro2::Ident) -> TokenStream {
    // Receives the body without keeping it: a broken, oversized or stalled upload is still
    // the client's error (400/413/408), as on routes that read the body.
    let drain = quote! {
        if let Err(resp) = body::drain(req).await {
            return resp;
        }
    };
    if i.request_templates.is_empty() {
        if i.passthrough == Passthrough::Never {
            return quote!(rt.gateway_response(cx, ResponseType::UnsupportedMediaType));
        }
        // No template: the status is 200, so the response is chosen here.
        let responses = integration_responses(api, i, Selector::Constant("200".into()), handler);
        let ov = templated(i).then(|| quote!(let ov = serde_json::Value::Null;));
        return quote!(#drain #ov #responses);
    }
    if let Some(status) = constant_mock_status(i) {
        // Every template is plain JSON text with the same status: chosen here; the body is
        // only received (API Gateway takes the whole request before the integration).
        let responses =
            integration_responses(api, i, Selector::Constant(status.to_string()), handler);
        let ov = templated(i).then(|| quote!(let ov = serde_json::Value::Null;));
        return quote!(#drain #ov #responses);
    }
    // The rendered request template decides the status: `{"statusCode": 200}`.
    let mapping = request_mapping(api, i, handler);
    let responses = integration_responses(api, i, Selector::Mock, handler);
    quote! {
        #mapping
        let selector = mapped.body.as_deref().map_or(200, vtl::mapping::mock_status).to_string();
        let ov = mapped.overrides;
        #responses
    }
}

fn http(api: &Api, r: &Route, i: &Integration, handler: &proc_macro2::Ident) -> TokenStream {
    let mapping = !i.request_templates.is_empty();
    let url = url_builder_with(r, i, mapping);
    let queries = query_mappings(i);
    let headers = header_mappings(i);
    let method = match i.http_method.as_ref().map(|m| m.value.as_str()) {
        None | Some("ANY") => quote!(req.method().clone()),
        Some(m) => {
            let m = format_ident!("{}", m);
            quote!(Method::#m)
        }
    };
    let timeout = i.timeout_ms.value as u64;
    let responses = if i.responses.is_empty() {
        // No integration responses: API Gateway cannot map the answer.
        quote!(rt.gateway_response(cx, ResponseType::ApiConfigurationError))
    } else {
        integration_responses(api, i, Selector::Backend, handler)
    };
    let (prepare, overrides, payload, ov) = if mapping {
        (
            request_mapping(api, i, handler),
            quote! {
                for (k, v) in &request_overrides.request_query {
                    upstream::set_query_param(&mut url, k, v);
                }
                vtl::mapping::override_headers(&mut headers, &request_overrides);
            },
            quote!(full(mapped.body.unwrap_or(body))),
            quote!(let ov = mapped.overrides;),
        )
    } else if i.content_handling.is_some() {
        // The body is read to be converted, then sent.
        let ov = templated(i).then(|| quote!(let ov = serde_json::Value::Null;));
        (
            read_request_body(api, i),
            quote!(),
            quote!(full(body)),
            quote!(#ov),
        )
    } else {
        let ov = templated(i).then(|| quote!(let ov = serde_json::Value::Null;));
        (quote!(), quote!(), quote!(req.into_body()), quote!(#ov))
    };
    let bind_overrides = mapping.then(|| quote!(let request_overrides = mapped.overrides();));
    quote! {
        let method = #method;
        #prepare
        #bind_overrides
        #url
        #queries
        #headers
        // The body goes as received (or as the request template rendered it), with the
        // client's content type.
        if let Some(ct) = cx.header("content-type") {
            headers.push((std::borrow::Cow::Borrowed("content-type"), ct.to_string()));
        }
        #overrides
        #ov
        let backend = match upstream::http_call(rt, cx, method, url, headers, #payload, #timeout).await {
            Ok(b) => b,
            Err(resp) => return resp,
        };
        #responses
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates() {
        assert_eq!(
            parse_template(r#"{"s": "$context.stage", "v": "${stageVariables.v}", "cost": "$5"}"#)
                .unwrap(),
            vec![
                TemplatePart::Lit("{\"s\": \"".into()),
                TemplatePart::Ctx("stage".into()),
                TemplatePart::Lit("\", \"v\": \"".into()),
                TemplatePart::Stage("v".into()),
                TemplatePart::Lit("\", \"cost\": \"$5\"}".into()),
            ]
        );
        assert!(parse_template("#set($a = 1)").is_err());
        assert!(parse_template("$input.json('$')").is_err());
        assert!(parse_template("$util.escapeJavaScript($x)").is_err());
    }

    #[test]
    fn handler_names() {
        let mk = |id: Option<&str>, m, p: &str| Route {
            method: m,
            path: PathTemplate {
                raw: p.into(),
                segments: vec![],
                is_default: false,
            },
            operation_id: id.map(str::to_string),
            span: Default::default(),
            path_span: Default::default(),
            parameters: vec![],
            request_body: None,
            security: vec![],
            security_span: None,
            validator: None,
            validation: Default::default(),
            auth_type: None,
            integration: None,
            responses: Default::default(),
            is_default_route: false,
        };
        assert_eq!(
            handler_name(&mk(Some("listPets"), Method::Get, "/pets")).to_string(),
            "route_list_pets"
        );
        assert_eq!(
            handler_name(&mk(None, Method::Get, "/pets/{petId}")).to_string(),
            "route_get_pets_pet_id"
        );
        assert_eq!(crate_name("Petstore (REST)"), "petstore-rest-gateway");
    }
}
