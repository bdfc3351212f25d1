//! Stage 3, **check**: semantic rules over the IR. Each rule has a stable code (see
//! [`crate::codes`]) and at least one fixture under `specs/invalid/`.

use std::collections::HashMap;

use crate::codes;
use crate::diag::Diagnostics;
use crate::ir::*;

/// Runs every rule.
pub fn check(api: &Api, d: &mut Diagnostics) {
    routes(api, d);
    for r in &api.routes {
        path_parameters(r, d);
        security(api, r, d);
        validator(api, r, d);
        if let Some(i) = &r.integration {
            integration(api, r, i, d);
        }
    }
    missing_integrations(api, d);
    usage(api, d);
    if let Some(v) = &api.default_validator {
        if !api.request_validators.contains_key(&v.value) {
            unknown_validator(api, v, d);
        }
    }
    for s in api.security_schemes.values() {
        if let Some(a) = &s.authorizer {
            authorizer(api, s, a, d);
        }
    }
    for t in &api.binary_media_types {
        if !is_media_range(&t.value) {
            d.error(
                &codes::INVALID_VALUE,
                t.span,
                format!("`{}` is not a media type", t.value),
            )
            .help("binary media types look like `image/png`, `image/*` or `*/*`");
        }
    }
}

fn is_media_range(s: &str) -> bool {
    let token = |t: &str| {
        !t.is_empty()
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+*~".contains(&b))
    };
    match s.split_once('/') {
        Some((a, b)) => token(a) && token(b.split(';').next().unwrap_or("").trim()),
        None => false,
    }
}

/// Two operations on the same method and the same path shape (`/pets/{id}` and
/// `/pets/{petId}` are the same route to a router).
fn routes(api: &Api, d: &mut Diagnostics) {
    let mut seen: HashMap<(Method, String), &Route> = HashMap::new();
    for r in &api.routes {
        let key = (r.method, r.path.shape());
        if let Some(prev) = seen.get(&key) {
            let msg = if prev.path.raw == r.path.raw {
                format!("`{} {}` is defined twice", r.method.as_str(), r.path.raw)
            } else {
                format!(
                    "`{} {}` and `{} {}` match the same requests",
                    r.method.as_str(),
                    r.path.raw,
                    prev.method.as_str(),
                    prev.path.raw
                )
            };
            d.error(&codes::ROUTE_CONFLICT, r.path_span, msg)
                .label("this route")
                .secondary(prev.path_span, "conflicts with this one")
                .help("a router cannot tell these apart by parameter names; merge them or use one name");
        } else {
            seen.insert(key, r);
        }
        if r.path.is_default && api.flavor == Flavor::Rest {
            d.error(
                &codes::FLAVOUR_MISMATCH,
                r.path_span,
                "`/$default` is the HTTP-API default route; REST APIs use `/{proxy+}`",
            )
            .help("set `x-specgate-api-type: http` if this is an HTTP API");
        }
        if r.path.is_default && (r.method != Method::Any || !r.is_default_route) {
            d.warning(
                &codes::INVALID_PATH,
                r.span,
                "the `$default` route is `x-amazon-apigateway-any-method` with `isDefaultRoute: true`",
            );
        }
    }
}

fn path_parameters(r: &Route, d: &mut Diagnostics) {
    let template: Vec<&str> = r.path.param_names().collect();
    for p in r.parameters.iter().filter(|p| p.location == ParamIn::Path) {
        if !template.contains(&p.name.as_str()) {
            let dd = d
                .error(
                    &codes::PATH_PARAM_NOT_IN_TEMPLATE,
                    p.span,
                    format!(
                        "path parameter `{}` does not appear in `{}`",
                        p.name, r.path.raw
                    ),
                )
                .label("declared here")
                .secondary(r.path_span, "the path");
            if let Some(s) = crate::suggest::closest(&p.name, template.iter().copied()) {
                dd.help(format!("did you mean `{s}`?"));
            }
        }
    }
    for name in template {
        let declared = r
            .parameters
            .iter()
            .any(|p| p.location == ParamIn::Path && p.name == name);
        if !declared {
            // API Gateway itself treats template variables as required parameters, so this is
            // a warning: the gateway works, but the document is not valid OpenAPI.
            d.warning(
                &codes::PATH_PARAM_UNDECLARED,
                r.span,
                format!(
                    "`{{{name}}}` in `{}` has no path parameter on {} {}",
                    r.path.raw,
                    r.method.as_str(),
                    r.path.raw
                ),
            )
            .secondary(r.path_span, "in this path")
            .help(format!(
                "add `- {{name: {name}, in: path, required: true, schema: {{type: string}}}}` to `parameters`"
            ));
        }
    }
}

fn security(api: &Api, r: &Route, d: &mut Diagnostics) {
    if api.flavor == Flavor::Http && r.security.len() > 1 {
        if let Some(span) = r.security_span {
            d.error(
                &codes::FLAVOUR_MISMATCH,
                span,
                "HTTP APIs accept one security requirement per operation",
            );
        }
    }
    for req in &r.security {
        for (name, scopes) in &req.schemes {
            let Some(scheme) = api.security_schemes.get(&name.value) else {
                let dd = d
                    .error(
                        &codes::UNKNOWN_SECURITY_SCHEME,
                        name.span,
                        format!("security scheme `{}` is not defined", name.value),
                    )
                    .label("unknown scheme");
                match crate::suggest::closest(
                    &name.value,
                    api.security_schemes.keys().map(String::as_str),
                ) {
                    Some(s) => dd.help(format!("did you mean `{s}`?")),
                    None => dd.help("define it under `components.securitySchemes`"),
                };
                continue;
            };
            let checks_scopes = matches!(
                scheme.kind,
                SchemeKind::OAuth2 | SchemeKind::OpenIdConnect { .. }
            ) || scheme.authorizer.as_ref().is_some_and(|a| {
                matches!(
                    a.kind,
                    AuthorizerKind::Jwt | AuthorizerKind::CognitoUserPools
                )
            });
            if !scopes.is_empty() && !checks_scopes {
                d.error(
                    &codes::SCOPES_NOT_ALLOWED,
                    name.span,
                    format!(
                        "scheme `{}` cannot check scopes ({})",
                        name.value,
                        scopes.join(", ")
                    ),
                )
                .help("authorization scopes work with JWT and Cognito authorizers; use `[]` here");
            }
        }
    }
}

fn validator(api: &Api, r: &Route, d: &mut Diagnostics) {
    if let Some(v) = &r.validator {
        let is_default = api
            .default_validator
            .as_ref()
            .is_some_and(|dv| dv.span == v.span);
        if !is_default && !api.request_validators.contains_key(&v.value) {
            unknown_validator(api, v, d);
        }
    }
}

fn unknown_validator(api: &Api, v: &Spanned<String>, d: &mut Diagnostics) {
    let dd = d
        .error(
            &codes::UNKNOWN_VALIDATOR,
            v.span,
            format!("request validator `{}` is not defined", v.value),
        )
        .label("unknown validator");
    match crate::suggest::closest(&v.value, api.request_validators.keys().map(String::as_str)) {
        Some(s) => dd.help(format!("did you mean `{s}`?")),
        None => dd.help("define it under the root `x-amazon-apigateway-request-validators`"),
    };
}

fn missing_integrations(api: &Api, d: &mut Diagnostics) {
    let without: Vec<&Route> = api
        .routes
        .iter()
        .filter(|r| r.integration.is_none())
        .collect();
    if without.is_empty() {
        return;
    }
    if without.len() == api.routes.len() && without.len() > 1 {
        // A plain OpenAPI document: one diagnostic, not one per operation.
        let first = without[0];
        d.error(
            &codes::NO_INTEGRATION,
            first.span,
            format!(
                "none of the {} operations has an `x-amazon-apigateway-integration`, so the gateway cannot serve any of them",
                without.len()
            ),
        )
        .label("the first operation without an integration")
        .help("add an integration to each operation, e.g. `x-amazon-apigateway-integration: {type: http_proxy, httpMethod: ANY, uri: \"https://backend.example.com/pets\"}`");
        return;
    }
    for r in without {
        d.error(
            &codes::NO_INTEGRATION,
            r.span,
            format!(
                "`{} {}` has no `x-amazon-apigateway-integration`",
                r.method.as_str(),
                r.path.raw
            ),
        )
        .label("no backend for this operation")
        .help("API Gateway cannot deploy a method without an integration; add one (`type: mock` answers from the gateway itself)");
    }
}

/// Selection patterns that match every status code or error message.
const CATCH_ALL: &[&str] = &[
    "",
    ".*",
    ".+",
    "(.|\\n)*",
    "(.|\\n)+",
    "[\\s\\S]*",
    "[\\s\\S]+",
    "(?s).*",
    "(?s).+",
];

/// Non-proxy integrations choose their response by selection pattern; a backend result that
/// no pattern matches and no `default` catches is API Gateway's 500 (`No match for output
/// mapping and no default output mapping`). Warn where that can happen.
fn unmatched_statuses(api: &Api, r: &Route, i: &Integration, d: &mut Diagnostics) {
    // HTTP APIs have no integration responses (and no such integrations: SG0309).
    if api.flavor != Flavor::Rest {
        return;
    }
    if !matches!(
        i.kind.value,
        IntegrationType::Http | IntegrationType::Aws | IntegrationType::Mock
    ) {
        return;
    }
    let catches_all = i.responses.iter().any(|resp| match &resp.pattern {
        None => true,
        Some(p) => CATCH_ALL.contains(&p.value.as_str()),
    });
    if catches_all {
        return;
    }
    if i.kind.value == IntegrationType::Mock && !i.responses.is_empty() {
        // A mock's status comes from its request template: when every template is a
        // constant `{"statusCode": N}`, the statuses are known; otherwise they are not, and
        // nothing is said.
        let Some(statuses) = constant_mock_statuses(i) else {
            return;
        };
        let matched = |status: &str| {
            i.responses.iter().any(|resp| {
                resp.pattern.as_ref().is_some_and(|p| {
                    regex::Regex::new(&format!("^(?:{})$", p.value))
                        .is_ok_and(|re| re.is_match(status))
                })
            })
        };
        if statuses.iter().all(|s| matched(&s.to_string())) {
            return;
        }
    }
    let what = match i.kind.value {
        IntegrationType::Mock => "status codes",
        IntegrationType::Http => "backend status codes",
        _ => "results",
    };
    let message = if i.responses.is_empty() {
        format!(
            "`{} {}` has no integration responses: every answer of its `{}` integration becomes a 500",
            r.method.as_str(),
            r.path.raw,
            i.kind.value.as_str()
        )
    } else {
        format!(
            "`{} {}`: {what} that no `selectionPattern` matches have no response (API Gateway answers 500)",
            r.method.as_str(),
            r.path.raw
        )
    };
    d.warning(&codes::UNMATCHED_STATUS, i.kind.span, message)
        .help("add a `default` entry to the integration's `responses`");
}

/// The statuses a mock's request templates always give (a missing template: 200), or
/// `None` when a template computes it.
fn constant_mock_statuses(i: &Integration) -> Option<Vec<u64>> {
    if i.request_templates.is_empty() {
        return Some(vec![200]);
    }
    // A request of another media type passes through: no `statusCode` in it is a 200.
    let passed = (i.passthrough == crate::ir::Passthrough::WhenNoMatch).then_some(200);
    let mut statuses: Vec<u64> = i
        .request_templates
        .values()
        .map(|t| crate::vtl::constant_status(&t.value))
        .collect::<Option<_>>()?;
    statuses.extend(passed);
    Some(statuses)
}

/// AWS services whose `action/…` protocol the runtime knows (`aws_service::protocol`).
const KNOWN_ACTION_SERVICES: &[&str] = &[
    "dynamodb",
    "states",
    "kinesis",
    "events",
    "firehose",
    "logs",
    "sqs",
    "sns",
    "sts",
    "ses",
    "email",
    "monitoring",
];

fn integration(api: &Api, r: &Route, i: &Integration, d: &mut Diagnostics) {
    unmatched_statuses(api, r, i, d);
    let kind = i.kind.value;
    let is_lambda = matches!(
        i.uri.as_ref().map(|u| &u.value),
        Some(IntegrationUri::Lambda { .. })
    );
    // Which integration types each flavour has.
    if api.flavor == Flavor::Http
        && !matches!(kind, IntegrationType::AwsProxy | IntegrationType::HttpProxy)
    {
        d.error(
            &codes::FLAVOUR_MISMATCH,
            i.kind.span,
            format!(
                "HTTP APIs support `aws_proxy` and `http_proxy` integrations, not `{}`",
                kind.as_str()
            ),
        )
        .help("use `http_proxy` for HTTP backends and `aws_proxy` for Lambda");
    }
    // uri form vs type.
    match (kind, &i.uri) {
        (IntegrationType::Mock, Some(u)) => {
            d.warning(
                &codes::INTEGRATION_COMBINATION,
                u.span,
                "a `mock` integration has no backend; this uri is not used",
            );
        }
        (IntegrationType::Mock, None) => {}
        // A missing uri is reported by lowering; an invalid one too; a placeholder as such.
        (_, None) => {}
        (_, Some(u)) if matches!(u.value, IntegrationUri::Placeholder(_)) => {}
        (IntegrationType::Http | IntegrationType::HttpProxy, Some(u)) => {
            let ok = matches!(u.value, IntegrationUri::Http(_))
                || (api.flavor == Flavor::Http
                    && matches!(u.value, IntegrationUri::Other(_))
                    && i.vpc_link.is_some());
            if !ok {
                d.error(
                    &codes::INTEGRATION_COMBINATION,
                    u.span,
                    format!("a `{}` integration needs an http(s) URL", kind.as_str()),
                )
                .help("Lambda and AWS services use `aws_proxy` or `aws`");
            }
        }
        (IntegrationType::AwsProxy, Some(u)) => {
            if !is_lambda {
                d.error(
                    &codes::INTEGRATION_COMBINATION,
                    u.span,
                    "Integrations of type 'AWS_PROXY' currently only supports Lambda function and Firehose stream invocations.",
                )
                .help("proxy to HTTP backends with `http_proxy`; call other AWS services with `aws`");
            }
        }
        (IntegrationType::Aws, Some(u)) => {
            if matches!(u.value, IntegrationUri::Http(_) | IntegrationUri::Other(_)) {
                d.error(
                    &codes::INTEGRATION_COMBINATION,
                    u.span,
                    "an `aws` integration needs an `arn:aws:apigateway:` service or Lambda ARN",
                )
                .help("HTTP backends use `http` or `http_proxy`");
            } else if let IntegrationUri::AwsService { service, kind, .. } = &u.value {
                let svc = service.rsplit('.').next().unwrap_or(service);
                if kind == "action" && !KNOWN_ACTION_SERVICES.contains(&svc) {
                    d.error(
                        &codes::UNSUPPORTED,
                        u.span,
                        format!("actions of the AWS service `{svc}` are not supported yet"),
                    )
                    .label("not supported")
                    .help("supported: DynamoDB, Kinesis, Step Functions, EventBridge, Firehose, CloudWatch Logs, SQS, SNS, STS, SES; any service through `path/…`");
                }
                let iam = api.uses_iam(r);
                if !iam
                    && i.credentials
                        .as_ref()
                        .is_some_and(|c| c.value.contains(":user/*"))
                {
                    d.error(
                        &codes::INVALID_VALUE,
                        i.credentials.as_ref().map_or(u.span, |c| c.span),
                        "the caller's credentials (`arn:aws:iam::*:user/*`) exist only on a method authorized with IAM",
                    )
                    .help("add `x-amazon-apigateway-auth: {type: AWS_IAM}` to the operation, or name a role to assume");
                }
            }
        }
    }
    // httpMethod.
    match (&i.http_method, kind) {
        (None, IntegrationType::Mock) => {}
        (None, _) if api.flavor == Flavor::Http && !is_lambda => {}
        (None, _) => {
            if api.flavor == Flavor::Rest || !is_lambda {
                d.error(
                    &codes::INTEGRATION_COMBINATION,
                    i.span,
                    format!("a `{}` integration needs `httpMethod`", kind.as_str()),
                )
                .help(if is_lambda {
                    "Lambda is invoked with `httpMethod: POST`"
                } else {
                    "the method sent to the backend; `ANY` forwards the client's method"
                });
            }
        }
        (Some(m), _) => {
            const METHODS: &[&str] = &[
                "GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "ANY",
            ];
            if !METHODS.contains(&m.value.as_str()) {
                d.error(
                    &codes::INVALID_VALUE,
                    m.span,
                    format!("`{}` is not an HTTP method", m.value),
                );
            } else if is_lambda && m.value != "POST" {
                d.error(
                    &codes::INTEGRATION_COMBINATION,
                    m.span,
                    format!("Lambda is invoked with POST, not {}", m.value),
                )
                .label("must be POST")
                .help("`httpMethod` is the method toward the backend; the client's method can be anything");
            } else if m.value == "ANY" && kind == IntegrationType::Aws {
                // AWS deploys it (real SAM templates call Step Functions this way); the
                // service request is a POST whatever is written.
                d.warning(
                    &codes::INTEGRATION_COMBINATION,
                    m.span,
                    "`httpMethod: ANY` on an `aws` integration: AWS services are called with POST",
                )
                .help("write `httpMethod: POST`");
            } else if m.value == "ANY" && kind != IntegrationType::HttpProxy {
                d.error(
                    &codes::INTEGRATION_COMBINATION,
                    m.span,
                    "`httpMethod: ANY` is only meaningful for `http_proxy`",
                );
            }
        }
    }
    // Timeout.
    let (min, max) = match api.flavor {
        Flavor::Rest => (50, 29_000),
        Flavor::Http => (50, 30_000),
    };
    let t = i.timeout_ms.value;
    if !(min..=max).contains(&t) {
        d.error(
            &codes::INTEGRATION_TIMEOUT,
            i.timeout_ms.span,
            format!("timeoutInMillis must be between {min} and {max}, found {t}"),
        )
        .label("out of range");
    }
    // Payload format version.
    if api.flavor == Flavor::Http {
        match &i.payload_format_version {
            Some(v) if v.value == "2.0" && !is_lambda => {
                d.error(
                    &codes::INTEGRATION_COMBINATION,
                    v.span,
                    "payload format 2.0 is only for Lambda proxy integrations",
                )
                .help("HTTP backends use payloadFormatVersion \"1.0\"");
            }
            None if is_lambda => {
                d.error(
                    &codes::INTEGRATION_COMBINATION,
                    i.span,
                    "a Lambda integration in an HTTP API needs `payloadFormatVersion` (\"1.0\" or \"2.0\")",
                );
            }
            _ => {}
        }
    } else if let Some(v) = &i.payload_format_version {
        d.warning(
            &codes::FLAVOUR_MISMATCH,
            v.span,
            "`payloadFormatVersion` applies to HTTP APIs; REST Lambda proxies always send format 1.0",
        );
    }
    let proxy = matches!(kind, IntegrationType::HttpProxy | IntegrationType::AwsProxy);
    if proxy && !i.responses.is_empty() {
        d.warning(
            &codes::INTEGRATION_COMBINATION,
            i.responses[0].span,
            format!(
                "`{}` integrations pass the backend's response through; `responses` is not used",
                kind.as_str()
            ),
        );
    }
    if api.flavor == Flavor::Http {
        for (k, t) in &i.request_templates {
            d.warning(
                &codes::FLAVOUR_MISMATCH,
                t.span,
                format!("HTTP APIs have no mapping templates; the `{k}` template is not used"),
            );
        }
    }
    // Selection patterns are Java regexes matched against the whole string.
    for resp in &i.responses {
        if let Some(p) = &resp.pattern {
            if let Err(e) = regex::Regex::new(&format!("^(?:{})$", p.value)) {
                d.error(
                    &codes::INVALID_REGEX,
                    p.span,
                    format!("selection pattern `{}` is not a valid regular expression", p.value),
                )
                .label(last_line(&e.to_string()))
                .help("selection patterns match the whole status code (or Lambda errorMessage), e.g. `4\\d{2}` or `.*not found.*`");
            }
        }
        if resp
            .status
            .value
            .parse::<u16>()
            .map_or(true, |s| !(100..=599).contains(&s))
        {
            d.error(
                &codes::INVALID_VALUE,
                resp.status.span,
                format!("`{}` is not an HTTP status code", resp.status.value),
            );
        } else if !r.responses.is_empty()
            && !r.responses.contains_key(&resp.status.value)
            && !r.responses.contains_key("default")
        {
            d.warning(
                &codes::INTEGRATION_COMBINATION,
                resp.status.span,
                format!(
                    "status {} is not a declared response of {} {}",
                    resp.status.value,
                    r.method.as_str(),
                    r.path.raw
                ),
            )
            .help("API Gateway requires every integration response status to be a method response; add it under `responses`");
        }
        for (target, source) in &resp.parameters {
            response_mapping(target, source, d);
        }
    }
    if api.flavor == Flavor::Rest {
        for (target, source) in &i.request_parameters {
            request_mapping(r, target, source, d);
        }
    } else if i.integration_subtype.is_none() {
        // With a subtype, `requestParameters` are the AWS service's parameters, not mappings.
        for (target, source) in &i.request_parameters {
            http_request_mapping(target, source, d);
        }
    }
    if let Some(c) = &i.credentials {
        // A placeholder is reported once, as a placeholder.
        if crate::placeholders::names_in(&c.value).is_empty() {
            iam_arn(c, d);
        }
    }
}

/// `integration.request.{path|querystring|header}.<name>` ← source.
fn request_mapping(
    r: &Route,
    target: &Spanned<String>,
    source: &Spanned<String>,
    d: &mut Diagnostics,
) {
    let t = &target.value;
    let ok_target = [
        "path",
        "querystring",
        "header",
        "multivaluequerystring",
        "multivalueheader",
    ]
    .iter()
    .any(|loc| {
        t.strip_prefix("integration.request.")
            .and_then(|rest| rest.strip_prefix(loc))
            .and_then(|rest| rest.strip_prefix('.'))
            .is_some_and(valid_param_name)
    });
    if !ok_target {
        d.error(
            &codes::INVALID_MAPPING,
            target.span,
            format!("`{t}` is not a request parameter target"),
        )
        .help("targets look like `integration.request.header.X-Tenant`, `integration.request.querystring.q` or `integration.request.path.id`");
    }
    let s = &source.value;
    // A placeholder is reported once, as a placeholder.
    if !crate::placeholders::names_in(s).is_empty() {
        return;
    }
    if let Some(rest) = s.strip_prefix("method.request.") {
        let (loc, name) = rest.split_once('.').unwrap_or((rest, ""));
        let known_loc = matches!(
            loc,
            "path" | "querystring" | "multivaluequerystring" | "header" | "multivalueheader"
        );
        if loc == "body" && name.is_empty() && rest == "body" {
            return;
        }
        if loc == "body" {
            return;
        }
        if !known_loc || !valid_param_name(name) {
            d.error(
                &codes::INVALID_MAPPING,
                source.span,
                format!("`{s}` is not a valid mapping expression"),
            )
            .help("sources are `method.request.{path|querystring|header|multivaluequerystring|multivalueheader}.<name>`, `method.request.body[.<path>]`, `context.<var>`, `stageVariables.<var>` or `'static'`");
            return;
        }
        // The referenced method parameter must exist (path params exist through the template).
        let exists = match loc {
            "path" => r.path.param_names().any(|n| n == name),
            "querystring" | "multivaluequerystring" => r
                .parameters
                .iter()
                .any(|p| p.location == ParamIn::Query && p.name == name),
            _ => r
                .parameters
                .iter()
                .any(|p| p.location == ParamIn::Header && p.name.eq_ignore_ascii_case(name)),
        };
        if !exists {
            d.error(
                &codes::INVALID_MAPPING,
                source.span,
                format!(
                    "`{s}` refers to a parameter that {} {} does not declare",
                    r.method.as_str(),
                    r.path.raw
                ),
            )
            .help("API Gateway requires mapped method parameters to be declared in `parameters`");
        }
        return;
    }
    if !valid_static_or_context(s) {
        d.error(
            &codes::INVALID_MAPPING,
            source.span,
            format!("`{s}` is not a valid mapping expression"),
        )
        .help("static values are single-quoted (`'application/json'`); other sources start with `method.request.`, `context.` or `stageVariables.`");
    }
}

fn valid_static_or_context(s: &str) -> bool {
    (s.len() >= 2 && s.starts_with('\'') && s.ends_with('\''))
        || s.strip_prefix("context.").is_some_and(|v| !v.is_empty())
        || s.strip_prefix("stageVariables.")
            .is_some_and(valid_param_name)
}

fn valid_param_name(n: &str) -> bool {
    !n.is_empty()
        && n.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._$-".contains(&b))
}

/// `method.response.header.<name>` ← `integration.response.*` | static | context | stage var.
fn response_mapping(target: &Spanned<String>, source: &Spanned<String>, d: &mut Diagnostics) {
    if !target
        .value
        .strip_prefix("method.response.header.")
        .is_some_and(valid_param_name)
    {
        d.error(
            &codes::INVALID_MAPPING,
            target.span,
            format!("`{}` is not a response parameter target", target.value),
        )
        .help("targets look like `method.response.header.Access-Control-Allow-Origin`");
    }
    let s = &source.value;
    // A placeholder is reported once, as a placeholder.
    if !crate::placeholders::names_in(s).is_empty() {
        return;
    }
    let ok = s == "integration.response.body"
        || s.strip_prefix("integration.response.body.")
            .is_some_and(|p| !p.is_empty())
        || s.strip_prefix("integration.response.header.")
            .is_some_and(valid_param_name)
        || s.strip_prefix("integration.response.multivalueheader.")
            .is_some_and(valid_param_name)
        || valid_static_or_context(s);
    if !ok {
        d.error(
            &codes::INVALID_MAPPING,
            source.span,
            format!("`{s}` is not a valid response mapping expression"),
        )
        .help("sources are `integration.response.header.<name>`, `integration.response.body[.<path>]`, `context.<var>`, `stageVariables.<var>` or `'static'`");
    }
}

/// HTTP-API parameter mapping: `append|overwrite|remove:header.X`, `…:querystring.X`,
/// `overwrite:path`.
fn http_request_mapping(target: &Spanned<String>, source: &Spanned<String>, d: &mut Diagnostics) {
    let t = &target.value;
    let ok = match t.split_once(':') {
        Some(("overwrite", "path")) => true,
        Some(("append" | "overwrite" | "remove", rest)) => rest
            .strip_prefix("header.")
            .or_else(|| rest.strip_prefix("querystring."))
            .is_some_and(|n| !n.is_empty()),
        _ => false,
    };
    if !ok {
        d.error(
            &codes::INVALID_MAPPING,
            target.span,
            format!("`{t}` is not an HTTP API parameter mapping"),
        )
        .help("keys look like `append:header.X-Tenant`, `overwrite:querystring.page`, `remove:header.Cookie` or `overwrite:path`");
        return;
    }
    if let Some(h) = t
        .split_once(':')
        .and_then(|(_, r)| r.strip_prefix("header."))
    {
        let lower = h.to_ascii_lowercase();
        const RESERVED: &[&str] = &[
            "authorization",
            "connection",
            "content-encoding",
            "content-length",
            "content-location",
            "forwarded",
            "keep-alive",
            "origin",
            "proxy-authenticate",
            "proxy-authorization",
            "te",
            "trailers",
            "transfer-encoding",
            "upgrade",
            "x-forwarded-for",
            "x-forwarded-host",
            "x-forwarded-proto",
            "via",
        ];
        if RESERVED.contains(&lower.as_str())
            || ["access-control-", "apigw-", "x-amz-", "x-amzn-"]
                .iter()
                .any(|p| lower.starts_with(p))
        {
            d.error(
                &codes::INVALID_MAPPING,
                target.span,
                format!("header `{h}` is reserved and cannot be mapped in an HTTP API"),
            );
        }
    }
    if t.starts_with("remove:") && !source.value.is_empty() && source.value != "''" {
        d.warning(
            &codes::INVALID_MAPPING,
            source.span,
            "a `remove:` mapping takes an empty value (`''`)",
        );
    }
}

fn authorizer(api: &Api, s: &SecurityScheme, a: &Authorizer, d: &mut Diagnostics) {
    let needs_lambda = matches!(a.kind, AuthorizerKind::Token | AuthorizerKind::Request);
    if needs_lambda {
        match &a.uri {
            // Missing or unreadable: reported by lowering.
            None => {}
            Some(u)
                if !matches!(
                    u.value,
                    IntegrationUri::Lambda { .. } | IntegrationUri::Placeholder(_)
                ) =>
            {
                d.error(
                    &codes::AUTHORIZER,
                    u.span,
                    "`authorizerUri` must be a Lambda function invocation ARN",
                )
                .help("`arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{functionArn}/invocations`");
            }
            _ => {}
        }
    }
    if a.kind == AuthorizerKind::CognitoUserPools {
        if a.provider_arns.is_empty() {
            d.error(
                &codes::AUTHORIZER,
                a.span,
                "a `cognito_user_pools` authorizer needs `providerARNs`",
            );
        }
        for p in &a.provider_arns {
            let parts: Vec<&str> = p.value.split(':').collect();
            let ok = parts.len() == 6
                && parts[0] == "arn"
                && parts[2] == "cognito-idp"
                && !parts[3].is_empty()
                && parts[5].starts_with("userpool/")
                && parts[5].len() > "userpool/".len();
            if !ok && !p.value.contains("${") {
                d.error(
                    &codes::INVALID_ARN,
                    p.span,
                    format!("malformed ARN `{}`", p.value),
                )
                .help(
                    "a user pool ARN is `arn:aws:cognito-idp:{region}:{account}:userpool/{poolId}`",
                );
            }
        }
    }
    if a.kind == AuthorizerKind::Jwt && a.jwt.is_none() {
        let has_oidc = matches!(&s.kind, SchemeKind::OpenIdConnect { url } if !url.is_empty());
        if !has_oidc {
            d.error(
                &codes::AUTHORIZER,
                a.span,
                "a `jwt` authorizer needs `jwtConfiguration` with an `issuer`",
            );
        }
    }
    if let Some(j) = &a.jwt {
        if !j.issuer.value.starts_with("https://") && !j.issuer.value.starts_with("http://") {
            d.error(
                &codes::AUTHORIZER,
                j.issuer.span,
                "the JWT issuer must be an https URL",
            )
            .help("the issuer is also where `/.well-known/openid-configuration` is fetched");
        }
    }
    let ttl = a.result_ttl_seconds.value;
    if !(0..=3600).contains(&ttl) {
        d.error(
            &codes::INVALID_LIMIT,
            a.result_ttl_seconds.span,
            format!("authorizerResultTtlInSeconds must be between 0 and 3600, found {ttl}"),
        );
    }
    if let Some(e) = &a.identity_validation_expression {
        if a.kind != AuthorizerKind::Token {
            d.warning(
                &codes::AUTHORIZER,
                e.span,
                "identityValidationExpression is only used by `token` authorizers",
            );
        }
        if let Err(err) = regex::Regex::new(&format!("^(?:{})$", e.value)) {
            d.error(
                &codes::INVALID_REGEX,
                e.span,
                "identityValidationExpression is not a valid regular expression",
            )
            .label(last_line(&err.to_string()));
        }
    }
    if a.kind == AuthorizerKind::Request && a.identity_source.is_empty() && ttl > 0 {
        d.error(
            &codes::AUTHORIZER,
            a.span,
            "a cached `request` authorizer needs an `identitySource` (the cache key)",
        )
        .help("set `identitySource`, or `authorizerResultTtlInSeconds: 0` to disable caching");
    }
    for src in &a.identity_source {
        let v = &src.value;
        let ok = match api.flavor {
            Flavor::Rest => [
                "method.request.header.",
                "method.request.querystring.",
                "stageVariables.",
                "context.",
            ]
            .iter()
            .any(|p| v.strip_prefix(p).is_some_and(|n| !n.is_empty())),
            Flavor::Http => [
                "$request.header.",
                "$request.querystring.",
                "$context.",
                "$stageVariables.",
            ]
            .iter()
            .any(|p| v.strip_prefix(p).is_some_and(|n| !n.is_empty())),
        };
        if !ok {
            d.error(
                &codes::AUTHORIZER,
                src.span,
                format!("`{v}` is not an identity source"),
            )
            .help(match api.flavor {
                Flavor::Rest => {
                    "REST identity sources look like `method.request.header.Authorization`"
                }
                Flavor::Http => {
                    "HTTP API identity sources look like `$request.header.Authorization`"
                }
            });
        }
    }
    if api.flavor == Flavor::Http && a.kind == AuthorizerKind::Request {
        match &a.payload_format_version {
            None => {
                d.error(
                    &codes::AUTHORIZER,
                    a.span,
                    "a Lambda authorizer in an HTTP API needs `authorizerPayloadFormatVersion` (\"1.0\" or \"2.0\")",
                );
            }
            Some(v) if v.value != "1.0" && v.value != "2.0" => {
                d.error(
                    &codes::INVALID_VALUE,
                    v.span,
                    format!("`{}` is not a payload format version", v.value),
                );
            }
            Some(v) if a.enable_simple_responses && v.value != "2.0" => {
                d.error(
                    &codes::AUTHORIZER,
                    v.span,
                    "simple responses need payload format 2.0",
                );
            }
            _ => {}
        }
    }
    if let Some(c) = &a.credentials {
        iam_arn(c, d);
    }
}

/// Role ARNs: `arn:aws:iam::{account}:role/{name}`, or `arn:aws:iam::*:user/*` (caller's
/// credentials).
fn iam_arn(c: &Spanned<String>, d: &mut Diagnostics) {
    let v = &c.value;
    if v.contains("${") {
        return;
    }
    let parts: Vec<&str> = v.splitn(6, ':').collect();
    let ok = parts.len() == 6
        && parts[0] == "arn"
        && parts[2] == "iam"
        && parts[3].is_empty()
        && (parts[4] == "*"
            || (parts[4].len() == 12 && parts[4].bytes().all(|b| b.is_ascii_digit())))
        && (parts[5].starts_with("role/") || parts[5] == "user/*");
    if !ok {
        d.error(&codes::INVALID_ARN, c.span, format!("malformed ARN `{v}`"))
            .label("malformed ARN")
            .help("credentials are an IAM role ARN such as `arn:aws:iam::123456789012:role/apigw-invoke`");
    }
}

/// The last non-blank line of an error message (regex errors end with the useful part).
pub(crate) fn last_line(s: &str) -> String {
    s.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or(s)
        .trim()
        .to_string()
}

/// Whether method key `key` (`/pets/{petId}/GET`, `/pets/*`) names at least one route.
fn names_a_route(api: &Api, key: &str) -> bool {
    let Some((path, method)) = key.rsplit_once('/') else {
        return false;
    };
    api.routes.iter().any(|r| {
        r.path.raw == path
            && (method == "*"
                || r.method == Method::Any
                || r.method.as_str().eq_ignore_ascii_case(method))
    })
}

/// Usage plans and stage throttles: their stages exist, their method keys name routes,
/// and they are REST features.
fn usage(api: &Api, d: &mut Diagnostics) {
    let method_key = |key: &Spanned<String>, d: &mut Diagnostics| {
        if key.value != "*/*" && !names_a_route(api, &key.value) {
            d.error(
                &codes::INVALID_VALUE,
                key.span,
                format!("`{}` names no route of this API", key.value),
            )
            .help("method keys are a route's path as written in `paths` and its method, as in `/pets/{petId}/GET`");
        }
    };
    for s in &api.stages {
        for (key, _) in &s.method_throttles {
            method_key(key, d);
        }
        for (key, _) in &s.method_caching {
            method_key(key, d);
        }
        if api.flavor == Flavor::Http && (s.cache_cluster || !s.method_caching.is_empty()) {
            d.error(
                &codes::FLAVOUR_MISMATCH,
                s.span,
                format!("stage `{}` has a cache; HTTP APIs have none", s.name),
            )
            .help("the stage cache belongs to REST APIs");
        }
    }
    for p in &api.usage_plans {
        if api.flavor == Flavor::Http {
            d.error(
                &codes::FLAVOUR_MISMATCH,
                p.span,
                "usage plans and API keys belong to REST APIs; HTTP APIs have none",
            )
            .help("throttle HTTP APIs with a stage's `methodSettings`");
        }
        for st in &p.api_stages {
            if !api.stages.iter().any(|s| s.name == st.stage.value) {
                let names: Vec<&str> = api.stages.iter().map(|s| s.name.as_str()).collect();
                let e = d.error(
                    &codes::INVALID_VALUE,
                    st.stage.span,
                    format!(
                        "usage plan `{}` names stage `{}`, which is not defined",
                        p.name, st.stage.value
                    ),
                );
                match crate::suggest::closest(&st.stage.value, names.iter().copied()) {
                    Some(c) => e.help(format!("did you mean `{c}`?")),
                    None => e.help("declare the stage in `x-specgate-stages`"),
                };
            }
            for (key, _) in &st.throttle {
                method_key(key, d);
            }
        }
    }
}
