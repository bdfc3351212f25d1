//! Access-log lines in the stage's `accessLogSetting.format`: text with `$context`
//! variables, parsed at compile time into [`Part`]s and rendered here per request. AWS's CLF,
//! JSON, XML and CSV examples work as written. A variable without a value renders as `-`,
//! as in API Gateway's logs.

use std::borrow::Cow;

use crate::context::{Context, Var};

/// One piece of a format.
#[derive(Debug, Clone, Copy)]
pub enum Part {
    /// Text written as is.
    Lit(&'static str),
    /// A `$context` variable.
    Var(LogVar),
}

/// The `$context` variables of access logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogVar {
    /// One the request context supplies (also to templates).
    Context(Var),
    /// `$context.status`: the answer's status code.
    Status,
    /// `$context.responseLength`: the answer's body length.
    ResponseLength,
    /// `$context.responseLatency` (ms).
    ResponseLatency,
    /// `$context.integrationLatency` / `$context.integration.latency` (ms).
    IntegrationLatency,
    /// `$context.integrationStatus` / `$context.integration.status`.
    IntegrationStatus,
    /// `$context.xrayTraceId`.
    XrayTraceId,
    /// `$context.dataProcessed` (HTTP APIs): request and response bytes.
    DataProcessed,
    /// `$context.routeKey` (HTTP APIs).
    RouteKey,
    /// `$context.authorizer.principalId`.
    PrincipalId,
    /// `$context.authorizer.claims.<name>`.
    Claim(&'static str),
    /// `$context.authorizer.<key>`.
    Authorizer(&'static str),
    /// `$context.cacheStatus` hit/miss (specgate's; AWS has no access-log variable for it).
    CacheStatus,
    /// A variable AWS documents that has no value outside AWS (WAF, IAM caller, …): `-`.
    None,
}

/// What is known once the answer is ready.
pub struct Outcome {
    /// Status code.
    pub status: u16,
    /// Body bytes, when known.
    pub response_length: Option<u64>,
    /// Milliseconds from arrival to the answer.
    pub latency_ms: u64,
    /// Request and response body bytes.
    pub data_processed: u64,
}

/// Renders one line.
pub fn render(parts: &[Part], cx: &Context, o: &Outcome) -> String {
    let mut out = String::with_capacity(256);
    for p in parts {
        match p {
            Part::Lit(s) => out.push_str(s),
            Part::Var(v) => match value(*v, cx, o) {
                Some(s) if !s.is_empty() => out.push_str(&s),
                _ => out.push('-'),
            },
        }
    }
    out
}

fn value<'a>(v: LogVar, cx: &'a Context, o: &Outcome) -> Option<Cow<'a, str>> {
    Some(match v {
        LogVar::Context(var) => return cx.var(var),
        LogVar::Status => Cow::Owned(o.status.to_string()),
        LogVar::ResponseLength => Cow::Owned(o.response_length?.to_string()),
        LogVar::ResponseLatency => Cow::Owned(o.latency_ms.to_string()),
        LogVar::IntegrationLatency => Cow::Owned(format!("{}", cx.integration_ms?.round() as u64)),
        LogVar::IntegrationStatus => Cow::Owned(cx.integration_status?.to_string()),
        LogVar::XrayTraceId => cx.trace_id()?,
        LogVar::DataProcessed => Cow::Owned(o.data_processed.to_string()),
        LogVar::RouteKey => Cow::Borrowed(cx.route_key.as_deref()?),
        LogVar::PrincipalId => authorizer_text(cx.authorizer.as_ref()?.get("principalId")?)?,
        LogVar::Claim(name) => authorizer_text(cx.authorizer.as_ref()?.get("claims")?.get(name)?)?,
        LogVar::Authorizer(key) => authorizer_text(cx.authorizer.as_ref()?.get(key)?)?,
        LogVar::CacheStatus => Cow::Borrowed(cx.cache_status?),
        LogVar::None => return None,
    })
}

fn authorizer_text(v: &serde_json::Value) -> Option<Cow<'_, str>> {
    match v {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(Cow::Borrowed(s.as_str())),
        other => Some(Cow::Owned(other.to_string())),
    }
}
