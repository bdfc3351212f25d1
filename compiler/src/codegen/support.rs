//! Code generation: what the IR holds that code generation cannot generate yet: `SG0105` diagnostics, so that `check` and `build` agree (also the checks of templates that only code generation can make).

use super::*;

/// Reports what this version cannot generate. Run by `check` and by `build`.
pub fn support(api: &Api, db: &crate::source::SourceDb, d: &mut Diagnostics) {
    check_access_logs(api, d);
    for r in &api.routes {
        let Some(i) = &r.integration else { continue };
        let streaming_uri = matches!(
            i.uri.as_ref().map(|u| &u.value),
            Some(IntegrationUri::Lambda {
                streaming: true,
                ..
            })
        );
        match (i.stream_response, streaming_uri) {
            (Some(at), _)
                if !(streaming_uri
                    && i.kind.value == IntegrationType::AwsProxy
                    && api.flavor == Flavor::Rest) =>
            {
                if i.kind.value == IntegrationType::AwsProxy && api.flavor == Flavor::Rest {
                    d.error(
                        &codes::INVALID_VALUE,
                        i.uri.as_ref().map_or(at, |u| u.span),
                        "a streamed Lambda response is invoked through `response-streaming-invocations`",
                    )
                    .help("use `arn:aws:apigateway:{region}:lambda:path/2021-11-15/functions/{functionArn}/response-streaming-invocations`");
                } else {
                    d.error(
                        &codes::UNSUPPORTED,
                        at,
                        "response streaming is supported for REST Lambda proxy (`aws_proxy`) integrations only, not yet for this one",
                    )
                    .help("remove `responseTransferMode` (the default, BUFFERED, is supported)");
                }
            }
            (None, true) => {
                d.error(
                    &codes::INVALID_VALUE,
                    i.uri.as_ref().map_or(i.span, |u| u.span),
                    "`response-streaming-invocations` needs `responseTransferMode: STREAM`",
                )
                .help("add `responseTransferMode: STREAM`, or use `2015-03-31/functions/{functionArn}/invocations`");
            }
            _ => {}
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
        if api.flavor == Flavor::Http && i.integration_subtype.is_none() {
            http_mapping_support(i, d);
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
    for s in api.security_schemes.values() {
        // Refuse to build a gateway that would silently let every caller through.
        let why = match &s.authorizer {
            _ if s.is_iam() => None,
            None => None,
            Some(a) => match a.kind {
                // A placeholder uri is reported as such (and refused by `build`); a missing or
                // malformed one by lowering.
                AuthorizerKind::Token | AuthorizerKind::Request => (!matches!(
                    a.uri.as_ref().map(|u| &u.value),
                    None | Some(IntegrationUri::Lambda { .. } | IntegrationUri::Placeholder(_))
                ))
                .then_some("its `authorizerUri` is not a Lambda function specgate can call"),
                AuthorizerKind::Jwt => a
                    .jwt
                    .is_none()
                    .then_some("it has no `jwtConfiguration` to check tokens with"),
                AuthorizerKind::CognitoUserPools => (!a.provider_arns.iter().any(|p| {
                    cognito_issuer(&p.value).is_some()
                        || !crate::placeholders::names_in(&p.value).is_empty()
                }))
                .then_some("it has no user pool ARN to find the pool's keys with"),
            },
        };
        if let Some(why) = why {
            d.error(
                &codes::UNSUPPORTED,
                s.span,
                format!("security scheme `{}` cannot be enforced: {why}", s.name),
            )
            .help("a gateway built now would let every caller through; IAM, Lambda, JWT and Cognito authorizers are enforced");
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
                        .is_some_and(|s| s.authorizer.is_none() && !s.is_iam() && !s.is_api_key())
                })
                .map(move |(name, _)| (r, name))
        })
        .collect();
    if let Some((r, name)) = unenforced.first() {
        d.error(
            &codes::UNSUPPORTED,
            r.security_span.unwrap_or(name.span),
            format!(
                "`security` with `{}` cannot be enforced ({} route{})",
                name.value,
                unenforced.len(),
                if unenforced.len() == 1 { "" } else { "s" }
            ),
        )
        .help("an `apiKey` scheme without an authorizer is API Gateway's API key only when it names the `x-api-key` header; a gateway built now would let every caller through");
    }
}

/// A template that parses but uses something the generator does not compile (an unknown
/// method, `$input.x`, a recursive macro…) is `SG0105`, at the construct; a syntax error is
/// reported by [`check_templates`] instead.
pub(super) fn unsupported_template(
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

pub(super) fn gateway_response_template(
    d: &mut Diagnostics,
    t: &Spanned<String>,
    key: &str,
    why: &str,
) {
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
pub(super) fn template_offset(
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

/// HTTP API parameter mapping: on `http_proxy` integrations, with every value form but
/// bodies (`$request.body.*`, `$response.body.*`); response mappings keyed by status code.
fn http_mapping_support(i: &Integration, d: &mut Diagnostics) {
    let mapped = !i.request_parameters.is_empty() || !i.http_response_parameters.is_empty();
    if mapped && i.kind.value != IntegrationType::HttpProxy {
        let span = i.request_parameters.first().map_or(i.span, |(k, _)| k.span);
        d.error(
            &codes::UNSUPPORTED,
            span,
            format!(
                "parameter mapping on `{}` integrations is not supported yet",
                i.kind.value.as_str()
            ),
        )
        .help("HTTP API parameter mapping works on `http_proxy` integrations");
        return;
    }
    let all = i
        .request_parameters
        .iter()
        .chain(i.http_response_parameters.values().flatten());
    for (_, v) in all {
        let body = v.value.contains("request.body") || v.value.contains("response.body");
        if crate::placeholders::names_in(&v.value).is_empty()
            && (body || http_mapping_value(&v.value).is_none())
        {
            if body {
                d.error(&codes::UNSUPPORTED, v.span, "mapping from a body (`$request.body.*`, `$response.body.*`) is not supported yet")
                    .help("map headers, query strings, the path, `$context.*` or `$stageVariables.*`");
            } else {
                d.error(&codes::INVALID_MAPPING, v.span, format!("`{}` is not an HTTP API mapping value", v.value))
                    .help("values are `$request.header.x`, `$request.querystring.x`, `$request.path[.x]`, `$context.x`, `$stageVariables.x`, `$response.header.x`, static text, or `${…}` concatenations of them");
            }
        }
    }
    for (status, maps) in &i.http_response_parameters {
        if status
            .parse::<u16>()
            .map_or(true, |s| !(100..600).contains(&s))
        {
            if let Some((k, _)) = maps.first() {
                d.error(
                    &codes::INVALID_MAPPING,
                    k.span,
                    format!("`{status}` is not a status code"),
                )
                .help("response parameters are keyed by the backend's status code, e.g. `\"404\"`");
            }
        }
        for (k, _) in maps {
            let ok = match k.value.split_once(':') {
                Some(("overwrite", "statuscode")) => true,
                Some(("append" | "overwrite" | "remove", rest)) => {
                    rest.strip_prefix("header.").is_some_and(|n| !n.is_empty())
                }
                _ => false,
            };
            if !ok {
                d.error(&codes::INVALID_MAPPING, k.span, format!("`{}` is not an HTTP API response mapping", k.value))
                    .help("keys look like `append:header.X-Id`, `remove:header.Server` or `overwrite:statuscode`");
            }
        }
    }
}
