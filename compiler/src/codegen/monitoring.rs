//! Code generation: monitoring: each stage's access-log format (`accessLogSetting.format`)
//! parsed into parts at compile time, and its detailed-metrics settings.

use super::*;

/// A piece of an access-log format.
#[derive(Debug, PartialEq)]
pub(crate) enum LogPart<'a> {
    /// Text.
    Lit(&'a str),
    /// `$context.<name>`.
    Var(&'a str),
}

/// Splits a format into text and `$context.*` variables (`$context.a.b` takes letters,
/// digits, `_` and inner dots).
pub(crate) fn parse_format(format: &str) -> Vec<LogPart<'_>> {
    let mut out = Vec::new();
    let mut rest = format;
    while let Some(i) = rest.find("$context.") {
        let after = &rest[i + "$context.".len()..];
        let len = after
            .char_indices()
            .take_while(|(_, c)| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
            .map(|(i, c)| i + c.len_utf8())
            .last()
            .unwrap_or(0);
        let name = after[..len].trim_end_matches('.');
        if name.is_empty() {
            out.push(LogPart::Lit(&rest[..i + "$context.".len()]));
            rest = after;
            continue;
        }
        if i > 0 {
            out.push(LogPart::Lit(&rest[..i]));
        }
        out.push(LogPart::Var(name));
        rest = &after[name.len()..];
    }
    if !rest.is_empty() {
        out.push(LogPart::Lit(rest));
    }
    out
}

/// The runtime's `LogVar` for an access-log variable AWS documents; `None` when AWS has no
/// such variable.
pub(crate) fn log_var(name: &str) -> Option<TokenStream> {
    if let Some(v) = context_var(name) {
        return Some(quote!(access_log::LogVar::Context(#v)));
    }
    Some(match name {
        "status" => quote!(access_log::LogVar::Status),
        "responseLength" => quote!(access_log::LogVar::ResponseLength),
        "responseLatency" => quote!(access_log::LogVar::ResponseLatency),
        "integrationLatency" | "integration.latency" => {
            quote!(access_log::LogVar::IntegrationLatency)
        }
        "integrationStatus" | "integration.status" => quote!(access_log::LogVar::IntegrationStatus),
        "xrayTraceId" => quote!(access_log::LogVar::XrayTraceId),
        "dataProcessed" => quote!(access_log::LogVar::DataProcessed),
        "routeKey" => quote!(access_log::LogVar::RouteKey),
        "authorizer.principalId" => quote!(access_log::LogVar::PrincipalId),
        // Values only AWS has (IAM callers, WAF, endpoint request ids, canaries, …): `-`.
        "awsEndpointRequestId"
        | "awsEndpointRequestId2"
        | "deploymentId"
        | "isCanaryRequest"
        | "wafResponseCode"
        | "webaclArn"
        | "integration.error"
        | "integration.requestId"
        | "integration.integrationStatus"
        | "integrationErrorMessage"
        | "authorizer.error"
        | "authorizer.latency"
        | "authorizer.status"
        | "authorizer.integrationLatency"
        | "authorizer.integrationStatus"
        | "authorizer.requestId" => quote!(access_log::LogVar::None),
        _ => {
            if let Some(claim) = name.strip_prefix("authorizer.claims.") {
                return Some(quote!(access_log::LogVar::Claim(#claim)));
            }
            const ONLY_AWS: &[&str] = &[
                "identity.",
                "authorize.",
                "authenticate.",
                "waf.",
                "customDomain.",
                "requestOverride.",
                "responseOverride.",
            ];
            if ONLY_AWS.iter().any(|p| name.starts_with(p)) {
                return Some(quote!(access_log::LogVar::None));
            }
            if let Some(key) = name.strip_prefix("authorizer.") {
                if !key.contains('.') {
                    return Some(quote!(access_log::LogVar::Authorizer(#key)));
                }
            }
            return None;
        }
    })
}

/// `StageInfo.access_log`.
pub(super) fn stage_access_log(s: &Stage) -> TokenStream {
    let Some(f) = &s.access_log_format else {
        return quote!(None);
    };
    let parts = parse_format(&f.value).into_iter().filter_map(|p| match p {
        LogPart::Lit(t) => Some(quote!(access_log::Part::Lit(#t))),
        LogPart::Var(name) => log_var(name).map(|v| quote!(access_log::Part::Var(#v))),
    });
    quote!(Some(&[#(#parts),*]))
}

/// `StageInfo.detailed_metrics`.
pub(super) fn stage_detailed_metrics(s: &Stage) -> TokenStream {
    let items = s.detailed_metrics.iter().map(|(k, on)| {
        let k = &k.value;
        quote!((#k, #on))
    });
    quote!(&[#(#items),*])
}

/// `ApiInfo.cors`: HTTP APIs' gateway-managed CORS (REST APIs ignore the extension).
pub(super) fn cors_info(api: &Api) -> TokenStream {
    let Some(c) = api.cors.as_ref().filter(|_| api.flavor == Flavor::Http) else {
        return quote!(None);
    };
    let origins = &c.allow_origins;
    let expose = &c.expose_headers;
    let methods = &c.allow_methods;
    let headers = &c.allow_headers;
    let credentials = c.allow_credentials;
    let max_age = match c.max_age {
        Some(m) => {
            let m = m.clamp(0, 86_400) as u32;
            quote!(Some(#m))
        }
        None => quote!(None),
    };
    quote!(Some(&CorsInfo {
        allow_origins: &[#(#origins),*],
        allow_credentials: #credentials,
        expose_headers: &[#(#expose),*],
        max_age: #max_age,
        allow_methods: &[#(#methods),*],
        allow_headers: &[#(#headers),*],
    }))
}

/// `StageInfo.execution_logs`.
pub(super) fn stage_execution_logs(s: &Stage) -> TokenStream {
    let items = s.execution_logs.iter().map(|(k, l)| {
        let k = &k.value;
        let level = match l.level {
            None => quote!(None),
            Some(0) => quote!(Some(exec_log::Level::Off)),
            Some(1) => quote!(Some(exec_log::Level::Error)),
            Some(_) => quote!(Some(exec_log::Level::Info)),
        };
        let data = match l.data_trace {
            None => quote!(None),
            Some(b) => quote!(Some(#b)),
        };
        quote!((#k, exec_log::Setting { level: #level, data_trace: #data }))
    });
    quote!(&[#(#items),*])
}

/// An access-log format AWS would refuse: no request id, or an unknown variable.
pub(crate) fn check_access_logs(api: &Api, d: &mut Diagnostics) {
    for s in &api.stages {
        let Some(f) = &s.access_log_format else {
            continue;
        };
        let parts = parse_format(&f.value);
        let names: Vec<&str> = parts
            .iter()
            .filter_map(|p| match p {
                LogPart::Var(n) => Some(*n),
                LogPart::Lit(_) => None,
            })
            .collect();
        if !names
            .iter()
            .any(|n| *n == "requestId" || *n == "extendedRequestId")
        {
            d.error(
                &codes::INVALID_VALUE,
                f.span,
                "Access log format must include at least $context.requestId or $context.extendedRequestId",
            )
            .help("API Gateway refuses such a format; add `$context.requestId`");
        }
        for n in names {
            if log_var(n).is_none() {
                d.error(
                    &codes::INVALID_VALUE,
                    f.span,
                    format!("`$context.{n}` is not an access-log variable"),
                )
                .help("see AWS's list of `$context` variables for access logging (status, responseLength, requestTime, identity.sourceIp, …)");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_split_into_text_and_variables() {
        assert_eq!(
            parse_format(r#"{"id":"$context.requestId","ip":"$context.identity.sourceIp"}."#),
            vec![
                LogPart::Lit(r#"{"id":""#),
                LogPart::Var("requestId"),
                LogPart::Lit(r#"","ip":""#),
                LogPart::Var("identity.sourceIp"),
                LogPart::Lit(r#""}."#),
            ]
        );
        assert_eq!(
            parse_format("$context.status. $context."),
            vec![LogPart::Var("status"), LogPart::Lit(". $context.")]
        );
    }
}
