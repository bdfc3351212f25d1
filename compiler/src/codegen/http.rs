//! Code generation: HTTP integrations: `http_proxy` (streamed to the backend) and `http` (mapped request, integration responses); backend URLs and mapped headers and query strings.

use super::*;

/// Code that builds the backend URL into `url`: `{name}` placeholders from path mappings
/// (the greedy `{proxy}` keeps its slashes), `${stageVariables.x}` from the stage.
pub(super) fn url_builder(r: &Route, i: &Integration) -> TokenStream {
    url_builder_with(r, i, false)
}

/// [`url_builder`]; with `overrides`, a `requestOverride.path.<name>` a request template
/// wrote (in `request_overrides`) fills `{name}` first.
pub(super) fn url_builder_with(r: &Route, i: &Integration, overrides: bool) -> TokenStream {
    if let Some(IntegrationUri::AwsService { kind, target, .. }) = i.uri.as_ref().map(|u| &u.value)
    {
        // The path on the service's endpoint (`path/…`), or `/` for an action.
        let template = if kind == "path" {
            format!("/{}", target.trim_start_matches('/'))
        } else {
            "/".to_string()
        };
        return url_from_template(r, i, &template, overrides);
    }
    let Some(IntegrationUri::Http(uri)) = i.uri.as_ref().map(|u| &u.value) else {
        if i.vpc_link.is_some() {
            // A load balancer's ARN behind a VPC link (HTTP APIs): the request path goes to
            // the address `--vpc-link` gives (`vpc_link` below puts it in).
            return quote! {
                let mut url = String::from("http://vpc-link");
                url.push_str(&cx.path);
            };
        }
        return quote!(let mut url = String::new(););
    };
    url_from_template(r, i, uri, overrides)
}

/// [`url_builder_with`] for a URL template (`{name}` and `${stageVariables.x}` filled in).
fn url_from_template(r: &Route, i: &Integration, uri: &str, overrides: bool) -> TokenStream {
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
    let mut rest = uri;
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
                        stmts.push(quote!(path::push_reencoded_segment(&mut url, cx.raw_path_param(#p).unwrap_or(""));));
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
                        stmts.push(quote!(path::push_reencoded_segment(&mut url, cx.raw_path_param(#name).unwrap_or(""));));
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
    // Room for the template, stage variables and parameters without growing on the way.
    let room = proc_macro2::Literal::usize_unsuffixed((uri.len() + 64).next_power_of_two());
    quote! {
        let mut url = String::with_capacity(#room);
        #(#stmts)*
    }
}

/// With `connectionType: VPC_LINK`: the backend URL's address becomes the link's private
/// target (`--vpc-link ID=HOST:PORT`) and the URL's host is sent as `Host`, as AWS does.
pub(super) fn vpc_link(i: &Integration) -> TokenStream {
    let Some(id) = &i.vpc_link else {
        return quote!();
    };
    let id = match id
        .value
        .strip_prefix("${stageVariables.")
        .and_then(|v| v.strip_suffix('}'))
    {
        Some(var) => quote!(&cx.stage_var(#var).unwrap_or("").to_string()),
        None => {
            let id = &id.value;
            quote!(#id)
        }
    };
    quote! {
        if let Some(resp) = upstream::via_vpc_link(rt, cx, #id, &mut url, &mut headers) {
            return resp;
        }
    }
}

/// An HTTP API value (`$request.header.x`, `${request.path.id}-x`, static text) as the
/// runtime's `Val` pieces; `None` for what is not supported yet (bodies).
pub(crate) fn http_mapping_value(v: &str) -> Option<Vec<TokenStream>> {
    if v.contains("${") {
        let mut out = Vec::new();
        let mut rest = v;
        while let Some(i) = rest.find("${") {
            if i > 0 {
                let lit = &rest[..i];
                out.push(quote!(http_mapping::Val::Lit(#lit)));
            }
            let after = &rest[i + 2..];
            let end = after.find('}')?;
            out.push(mapping_expr(&after[..end])?);
            rest = &after[end + 1..];
        }
        if !rest.is_empty() {
            out.push(quote!(http_mapping::Val::Lit(#rest)));
        }
        return Some(out);
    }
    if let Some(e) = v.strip_prefix('$') {
        return Some(vec![mapping_expr(e)?]);
    }
    let lit = if v == "''" { "" } else { v };
    Some(vec![quote!(http_mapping::Val::Lit(#lit))])
}

/// One `request.header.x`-style expression of an HTTP API mapping value.
fn mapping_expr(e: &str) -> Option<TokenStream> {
    if let Some(n) = e.strip_prefix("request.header.") {
        let n = n.to_ascii_lowercase();
        return Some(quote!(http_mapping::Val::Header(#n)));
    }
    if let Some(n) = e.strip_prefix("request.querystring.") {
        return Some(quote!(http_mapping::Val::Query(#n)));
    }
    if e == "request.path" {
        return Some(quote!(http_mapping::Val::Path));
    }
    if let Some(n) = e.strip_prefix("request.path.") {
        return Some(quote!(http_mapping::Val::PathParam(#n)));
    }
    if let Some(n) = e.strip_prefix("stageVariables.") {
        return Some(quote!(http_mapping::Val::StageVar(#n)));
    }
    if e == "request.body" {
        return Some(quote!(http_mapping::Val::Body("")));
    }
    if let Some(p) = e.strip_prefix("request.body.") {
        return Some(quote!(http_mapping::Val::Body(#p)));
    }
    if let Some(n) = e.strip_prefix("response.header.") {
        let n = n.to_ascii_lowercase();
        return Some(quote!(http_mapping::Val::ResponseHeader(#n)));
    }
    if let Some(n) = e.strip_prefix("context.authorizer.claims.") {
        return Some(quote!(http_mapping::Val::Authorizer("claims", #n)));
    }
    if let Some(n) = e.strip_prefix("context.") {
        if let Some(v) = context_var(n) {
            return Some(quote!(http_mapping::Val::Context(#v)));
        }
        if let Some(k) = n.strip_prefix("authorizer.").filter(|k| !k.contains('.')) {
            return Some(quote!(http_mapping::Val::Authorizer("", #k)));
        }
    }
    None
}

/// One HTTP API mapping key (`append:header.X`, `overwrite:path`, `overwrite:statuscode`).
fn http_mapping_target(key: &str) -> Option<(TokenStream, TokenStream)> {
    let (op, target) = key.split_once(':')?;
    let op = match op {
        "append" => quote!(http_mapping::Op::Append),
        "overwrite" => quote!(http_mapping::Op::Overwrite),
        "remove" => quote!(http_mapping::Op::Remove),
        _ => return None,
    };
    let target = if let Some(h) = target.strip_prefix("header.") {
        let h = h.to_ascii_lowercase();
        quote!(http_mapping::Target::Header(#h))
    } else if let Some(q) = target.strip_prefix("querystring.") {
        quote!(http_mapping::Target::Query(#q))
    } else if target == "path" {
        quote!(http_mapping::Target::Path)
    } else if target == "statuscode" {
        quote!(http_mapping::Target::StatusCode)
    } else {
        return None;
    };
    Some((op, target))
}

/// An HTTP API integration's parameter mapping as a `static MAPPING` (`None` without one).
pub(super) fn http_api_mapping(api: &Api, i: &Integration) -> Option<TokenStream> {
    if api.flavor != Flavor::Http
        || (i.request_parameters.is_empty() && i.http_response_parameters.is_empty())
    {
        return None;
    }
    let one = |k: &str, v: &str| -> Option<TokenStream> {
        let (op, target) = http_mapping_target(k)?;
        let parts = http_mapping_value(v)?;
        Some(quote!(http_mapping::Mapping { op: #op, target: #target, value: &[#(#parts),*] }))
    };
    let request = i
        .request_parameters
        .iter()
        .filter_map(|(k, v)| one(&k.value, &v.value));
    let responses = i
        .http_response_parameters
        .iter()
        .filter_map(|(status, maps)| {
            let status: u16 = status.parse().ok()?;
            let maps = maps.iter().filter_map(|(k, v)| one(&k.value, &v.value));
            Some(quote!((#status, &[#(#maps),*])))
        });
    Some(quote! {
        static MAPPING: http_mapping::HttpMapping = http_mapping::HttpMapping {
            request: &[#(#request),*],
            responses: &[#(#responses),*],
        };
    })
}

pub(super) fn header_mappings(i: &Integration) -> TokenStream {
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

pub(super) fn query_mappings(i: &Integration) -> TokenStream {
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

pub(super) fn http_proxy(_api: &Api, r: &Route, i: &Integration) -> TokenStream {
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
    let vpc = vpc_link(i);
    let (mapping_static, mapping) = match http_api_mapping(_api, i) {
        Some(m) => (m, quote!(Some(&MAPPING))),
        None => (quote!(), quote!(None)),
    };
    quote! {
        #mapping_static
        #url
        upstream::append_query(&mut url, cx.query.as_deref());
        #queries
        #headers
        #vpc
        upstream::http_proxy(rt, cx, req, url, #method, headers, #timeout, #mapping).await
    }
}

/// The parts of a non-proxy integration request both `http` and AWS-service integrations
/// build alike: the method, the request mapping (template, overrides), the URL with its
/// mapped path and query string, the mapped headers and the client's content type, and the
/// integration responses. `payload` is the body to send: the rendered template, or the body
/// read (`buffered`) or streamed as received.
struct NonProxy {
    /// Binds `method`, `url`, `headers` (and `body`, `mapped`, `ov` as the mapping needs).
    prepare: TokenStream,
    responses: TokenStream,
    payload: TokenStream,
    timeout: u64,
}

fn non_proxy(
    api: &Api,
    r: &Route,
    i: &Integration,
    handler: &proc_macro2::Ident,
    any_method: TokenStream,
    buffered: bool,
) -> NonProxy {
    let mapping = !i.request_templates.is_empty();
    let url = url_builder_with(r, i, mapping);
    let queries = query_mappings(i);
    let headers = header_mappings(i);
    let method = match i.http_method.as_ref().map(|m| m.value.as_str()) {
        None | Some("ANY") => any_method,
        Some(m) => {
            let m = format_ident!("{}", m);
            quote!(Method::#m)
        }
    };
    let responses = if i.responses.is_empty() {
        // No integration responses: API Gateway cannot map the answer.
        quote!(rt.gateway_response(cx, ResponseType::ApiConfigurationError))
    } else {
        integration_responses(api, i, Selector::Backend, handler)
    };
    let null_ov = templated(i).then(|| quote!(let ov = serde_json::Value::Null;));
    let (read, overrides, payload, ov) = if mapping {
        (
            request_mapping(api, i, handler),
            quote! {
                for (k, v) in &request_overrides.request_query {
                    upstream::set_query_param(&mut url, k, v);
                }
                vtl::mapping::override_headers(&mut headers, &request_overrides);
            },
            quote!(mapped.body.unwrap_or(body)),
            quote!(let ov = mapped.overrides;),
        )
    } else if buffered || i.content_handling.is_some() {
        // The body is read (to be converted, or because the call needs it whole).
        (
            read_request_body(api, i),
            quote!(),
            quote!(body),
            quote!(#null_ov),
        )
    } else {
        (
            quote!(),
            quote!(),
            quote!(req.into_body()),
            quote!(#null_ov),
        )
    };
    // `http_call` takes a body; the AWS-service call takes the bytes.
    let streamed = !mapping && !buffered && i.content_handling.is_none();
    let payload = if streamed || buffered {
        payload
    } else {
        quote!(full(#payload))
    };
    let bind_overrides = mapping.then(|| quote!(let request_overrides = mapped.overrides();));
    let vpc = vpc_link(i);
    let prepare = quote! {
        let method = #method;
        #read
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
        #vpc
        #ov
    };
    NonProxy {
        prepare,
        responses,
        payload,
        timeout: i.timeout_ms.value as u64,
    }
}

pub(super) fn http(
    api: &Api,
    r: &Route,
    i: &Integration,
    handler: &proc_macro2::Ident,
) -> TokenStream {
    let NonProxy {
        prepare,
        responses,
        payload,
        timeout,
    } = non_proxy(api, r, i, handler, quote!(req.method().clone()), false);
    quote! {
        #prepare
        let backend = match upstream::http_call(rt, cx, method, url, headers, #payload, #timeout).await {
            Ok(b) => b,
            Err(resp) => return resp,
        };
        #responses
    }
}

/// A REST `aws` integration with an AWS service other than Lambda: the request the mapping
/// builds (template body, mapped path, query string and headers), sent to the service signed
/// with SigV4 (`aws_service::call`), its answer mapped by the integration responses.
pub(super) fn aws_service(
    api: &Api,
    r: &Route,
    i: &Integration,
    handler: &proc_macro2::Ident,
) -> TokenStream {
    let Some(IntegrationUri::AwsService {
        region,
        service,
        kind,
        target,
    }) = i.uri.as_ref().map(|u| &u.value)
    else {
        return quote!(rt.gateway_response(cx, ResponseType::ApiConfigurationError));
    };
    let action = if kind == "action" {
        quote!(Some(#target))
    } else {
        quote!(None)
    };
    let role = match i.credentials.as_ref().map(|c| c.value.as_str()) {
        Some(c) => quote!(Some(#c)),
        None => quote!(None),
    };
    let NonProxy {
        prepare,
        responses,
        payload,
        timeout,
    } = non_proxy(api, r, i, handler, quote!(Method::POST), true);
    quote! {
        static SERVICE: aws_service::Service = aws_service::Service {
            service: #service,
            region: #region,
            action: #action,
            role: #role,
        };
        #prepare
        let backend = match aws_service::call(rt, cx, &SERVICE, method, url, headers, #payload, #timeout).await {
            Ok(b) => b,
            Err(resp) => return resp,
        };
        #responses
    }
}

/// An HTTP API subtype integration (`integrationSubtype`): its parameters as mapping values
/// (`$request.body.x` included), the body read, the service called (`aws_service::subtype`).
pub(super) fn aws_subtype(i: &Integration) -> TokenStream {
    let Some(subtype) = &i.integration_subtype else {
        return quote!(rt.gateway_response(cx, ResponseType::ApiConfigurationError));
    };
    let subtype = &subtype.value;
    let params = i.request_parameters.iter().filter_map(|(k, v)| {
        let name = &k.value;
        let parts = http_mapping_value(&v.value)?;
        Some(quote!((#name, &[#(#parts),*])))
    });
    let role = match i.credentials.as_ref().map(|c| c.value.as_str()) {
        Some(c) => quote!(Some(#c)),
        None => quote!(None),
    };
    let timeout = i.timeout_ms.value as u64;
    quote! {
        static PARAMS: &[(&str, &[http_mapping::Val])] = &[#(#params),*];
        let body = match vtl::mapping::read_body(req).await {
            Ok(b) => b,
            Err(r) => return r,
        };
        aws_service::subtype(rt, cx, #subtype, #role, PARAMS, &body, #timeout).await
    }
}
