//! The events as the first implementation built them (serde values for HTTP APIs' 2.0 events, a
//! member writer and grouped vectors for REST's): kept as the oracle the events written now are
//! compared with, byte for byte, over many requests (`event::tests`).

use bytes::Bytes;
use serde_json::{json, Map, Value};

use crate::context::{header_name_as_sent, Context, Var};
use crate::json::string_into;

fn var(cx: &Context, v: Var) -> Value {
    cx.var(v)
        .map_or(Value::Null, |s| Value::String(s.into_owned()))
}

/// `body` and `isBase64Encoded`: a binary payload (its `Content-Type` is one of the API's
/// binary media types, or it is not UTF-8) goes as base64.
fn body(cx: &Context, body: &Bytes, binary_types: &[&str]) -> (Value, bool) {
    if body.is_empty() {
        return (Value::Null, false);
    }
    let binary = crate::vtl::mapping::is_binary(binary_types, cx.header("content-type"));
    match std::str::from_utf8(body) {
        Ok(text) if !binary => (Value::String(text.to_string()), false),
        _ => (Value::String(crate::vtl::base64_encode_bytes(body)), true),
    }
}

/// Query parameters: (last value of each name, all values of each name), decoded.
fn query(cx: &Context) -> (Map<String, Value>, Map<String, Value>) {
    let mut last = Map::new();
    let mut all: Map<String, Value> = Map::new();
    for kv in cx.query.as_deref().unwrap_or("").split('&') {
        if kv.is_empty() {
            continue;
        }
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        let (k, v) = (crate::path::decode_query(k), crate::path::decode_query(v));
        last.insert(k.clone(), Value::String(v.clone()));
        match all.entry(k).or_insert_with(|| Value::Array(Vec::new())) {
            Value::Array(a) => a.push(Value::String(v)),
            _ => unreachable!("only arrays are inserted"),
        }
    }
    (last, all)
}

/// A JSON object written straight into text: the events are built on every request, and
/// writing them directly avoids building a map of owned values only to serialise it.
struct Obj<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> Obj<'a> {
    fn open(out: &'a mut String) -> Self {
        out.push('{');
        Obj { out, first: true }
    }

    fn comma(&mut self) {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
    }

    /// A member of the event's fixed shape: its name is this crate's text, with nothing to
    /// escape, written as it is (two thirds of an event's strings are such names; through
    /// [`string_into`] they cost a tenth of the gateway's instructions per Lambda call).
    fn key(&mut self, k: &'static str) -> &mut String {
        debug_assert!(
            k.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\'),
            "{k} needs escaping"
        );
        self.comma();
        self.out.reserve(k.len() + 3);
        self.out.push('"');
        self.out.push_str(k);
        self.out.push_str("\":");
        self.out
    }

    /// A member named by the request (a header or parameter name): the name escaped.
    fn name(&mut self, k: &str) -> &mut String {
        self.comma();
        string_into(self.out, k);
        self.out.push(':');
        self.out
    }

    fn str(&mut self, k: &'static str, v: &str) {
        string_into(self.key(k), v);
    }

    fn opt(&mut self, k: &'static str, v: Option<&str>) {
        match v {
            Some(v) => self.str(k, v),
            None => self.key(k).push_str("null"),
        }
    }

    fn raw(&mut self, k: &'static str, json: &str) {
        self.key(k).push_str(json);
    }

    fn close(self) {
        self.out.push('}');
    }
}

/// `{"k": "v", …}` or `null`, for (name, value) pairs in order.
fn map_into<'v>(out: &mut String, pairs: impl Iterator<Item = (&'v str, &'v str)>) {
    let mut pairs = pairs.peekable();
    if pairs.peek().is_none() {
        out.push_str("null");
        return;
    }
    let mut o = Obj::open(out);
    for (k, v) in pairs {
        string_into(o.name(k), v);
    }
    o.close();
}

/// `{"k": ["v1", "v2"], …}` or `null`, for names with several values in order.
fn multi_into(out: &mut String, groups: &[(&str, Vec<&str>)]) {
    if groups.is_empty() {
        out.push_str("null");
        return;
    }
    let mut o = Obj::open(out);
    for (k, vs) in groups {
        let out = o.name(k);
        out.push('[');
        for (i, v) in vs.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            string_into(out, v);
        }
        out.push(']');
    }
    o.close();
}

/// Values grouped by name (names the same when `same` says so; the first one seen names
/// the group), names in first-seen order.
fn group<'k, 'v>(
    pairs: impl Iterator<Item = (&'k str, &'v str)>,
    same: fn(&str, &str) -> bool,
) -> Vec<(&'k str, Vec<&'v str>)> {
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    for (k, v) in pairs {
        match groups.iter_mut().find(|(n, _)| same(n, k)) {
            Some((_, vs)) => vs.push(v),
            None => groups.push((k, vec![v])),
        }
    }
    groups
}

/// The REST (payload format 1.0) event as JSON text. `version` is `Some("1.0")` for HTTP
/// APIs.
pub(super) fn v1_json(
    cx: &Context,
    payload: &Bytes,
    binary_types: &[&str],
    version: Option<&str>,
) -> String {
    let mut out = String::with_capacity(1024 + payload.len() * 4 / 3);
    // Read where they arrived (no header map built for the event), names exactly as sent;
    // `group` below gathers a name's values in the order they came. A name sent in two
    // cases is one header (HTTP names are case-insensitive), named as it first came: how
    // AWS groups such a pair is not recorded (reference §3.1 is silent), this is what a
    // header map would do.
    let headers: Vec<(std::borrow::Cow<str>, &str)> = cx
        .headers
        .fields()
        // Not forwarded to the function (reference §3.1).
        .filter(|(n, _)| {
            !n.eq_ignore_ascii_case(b"connection") && !n.eq_ignore_ascii_case(b"content-length")
        })
        .filter_map(|(n, v)| {
            let n = std::str::from_utf8(n).ok()?;
            // HTTP APIs lower every header name, in payload 1.0 as in 2.0 (AWS's developer
            // guide on HTTP API Lambda integrations: "All header names are lowercase"; the
            // aws-lambda-go 1.0 authorizer fixture's mixed case looks copied from a REST
            // event, so the guide is followed); REST APIs keep them as sent.
            let name = match version {
                Some(_) if n.bytes().any(|b| b.is_ascii_uppercase()) => {
                    std::borrow::Cow::Owned(n.to_ascii_lowercase())
                }
                Some(_) => std::borrow::Cow::Borrowed(n),
                None => header_name_as_sent(cx, n),
            };
            Some((name, crate::headers::as_text(v)?))
        })
        .collect();
    let query: Vec<(String, String)> = cx
        .query
        .as_deref()
        .unwrap_or("")
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (crate::path::decode_query(k), crate::path::decode_query(v))
        })
        .collect();
    let header_groups = group(headers.iter().map(|(k, v)| (k.as_ref(), *v)), |a, b| {
        a.eq_ignore_ascii_case(b)
    });
    let query_groups = group(
        query.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        |a, b| a == b,
    );
    let mut e = Obj::open(&mut out);
    if let Some(v) = version {
        e.str("version", v);
    }
    e.str("resource", cx.resource_path);
    e.str("path", &cx.path);
    e.str("httpMethod", cx.method.as_str());
    // A repeated name: the last value in the single-value maps.
    let last = |groups: &[(&str, Vec<&str>)], out: &mut String| {
        map_into(
            out,
            groups
                .iter()
                .map(|(k, vs)| (*k, vs.last().copied().unwrap_or(""))),
        )
    };
    last(&header_groups, e.key("headers"));
    multi_into(e.key("multiValueHeaders"), &header_groups);
    last(&query_groups, e.key("queryStringParameters"));
    multi_into(e.key("multiValueQueryStringParameters"), &query_groups);
    map_into(e.key("pathParameters"), cx.raw_path_params.iter());
    map_into(
        e.key("stageVariables"),
        cx.stage_vars.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    );
    {
        let mut rc = Obj::open(e.key("requestContext"));
        rc.opt("resourceId", cx.var(Var::ResourceId).as_deref());
        rc.str("resourcePath", cx.resource_path);
        rc.str("httpMethod", cx.method.as_str());
        rc.str("extendedRequestId", &cx.request_id);
        rc.opt("requestTime", cx.var(Var::RequestTime).as_deref());
        let mut path = String::with_capacity(1 + cx.stage.len() + cx.path.len());
        for piece in ["/", &cx.stage, &cx.path] {
            path.push_str(piece);
        }
        rc.str("path", &path);
        rc.opt("accountId", cx.var(Var::AccountId).as_deref());
        rc.str("protocol", cx.protocol);
        rc.str("stage", &cx.stage);
        rc.opt("domainPrefix", cx.var(Var::DomainPrefix).as_deref());
        rc.raw(
            "requestTimeEpoch",
            itoa::Buffer::new().format(cx.start_ms as u64),
        );
        rc.str("requestId", &cx.request_id);
        {
            let mut id = Obj::open(rc.key("identity"));
            for key in [
                "cognitoIdentityPoolId",
                "accountId",
                "cognitoIdentityId",
                "caller",
                "sourceIp",
                "principalOrgId",
                "accessKey",
                "cognitoAuthenticationType",
                "cognitoAuthenticationProvider",
                "userArn",
                "userAgent",
                "user",
            ] {
                match key {
                    "sourceIp" => id.opt(key, cx.var(Var::SourceIp).as_deref()),
                    "userAgent" => id.opt(key, cx.var(Var::UserAgent).as_deref()),
                    "caller" => id.opt(key, cx.var(Var::IdentityCaller).as_deref()),
                    "user" => id.opt(key, cx.var(Var::IdentityUser).as_deref()),
                    "userArn" => id.opt(key, cx.var(Var::IdentityUserArn).as_deref()),
                    "accountId" => id.opt(key, cx.var(Var::IdentityAccountId).as_deref()),
                    "accessKey" => id.opt(key, cx.var(Var::IdentityAccessKey).as_deref()),
                    _ => id.raw(key, "null"),
                }
            }
            // Present when the request was admitted with an API key (AWS-recorded events).
            if let (Some(k), Some(kid)) = (&cx.api_key, &cx.api_key_id) {
                id.str("apiKey", k);
                id.str("apiKeyId", kid);
            }
            id.close();
        }
        rc.opt("domainName", cx.var(Var::DomainName).as_deref());
        rc.str("deploymentId", "specgate");
        rc.opt("apiId", cx.var(Var::ApiId).as_deref());
        if let Some(auth) = &cx.authorizer {
            rc.raw("authorizer", &auth.to_string());
        }
        rc.close();
    }
    let (body, base64) = body(cx, payload, binary_types);
    match body {
        Value::String(b) => e.str("body", &b),
        _ => e.raw("body", "null"),
    }
    e.raw("isBase64Encoded", if base64 { "true" } else { "false" });
    e.close();
    out
}

/// The HTTP API payload format 2.0 event for the route `route_key` (`GET /pets/{id}` or
/// `$default`).
pub(super) fn v2(cx: &Context, payload: &Bytes, route_key: &str) -> Value {
    let mut headers: Map<String, Value> = Map::new();
    let mut cookies = Vec::new();
    // Read where they arrived (no header map built for the event), names lowered: the
    // same names, values and order a map gives.
    for (name, value) in cx.headers.fields() {
        let (Ok(name), Some(value)) = (std::str::from_utf8(name), crate::headers::as_text(value))
        else {
            continue;
        };
        if name.eq_ignore_ascii_case("cookie") {
            cookies.extend(
                value
                    .split(';')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(|c| Value::String(c.to_string())),
            );
            continue;
        }
        let name = name.to_ascii_lowercase();
        // Repeated headers are joined with commas.
        match headers.get_mut(&name) {
            Some(Value::String(s)) => {
                s.push(',');
                s.push_str(value);
            }
            _ => {
                headers.insert(name, Value::String(value.to_string()));
            }
        }
    }
    let (_, all) = query(cx);
    let query: Map<String, Value> = all
        .into_iter()
        .map(|(k, v)| {
            let joined = v
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default();
            (k, Value::String(joined))
        })
        .collect();
    let mut request_context = json!({
        "accountId": var(cx, Var::AccountId),
        "apiId": var(cx, Var::ApiId),
        "domainName": var(cx, Var::DomainName),
        "domainPrefix": var(cx, Var::DomainPrefix),
        "http": {
            "method": cx.method.as_str(),
            "path": cx.path,
            "protocol": cx.protocol,
            "sourceIp": var(cx, Var::SourceIp),
            "userAgent": var(cx, Var::UserAgent),
        },
        "requestId": cx.request_id,
        "routeKey": route_key,
        "stage": &*cx.stage,
        "time": var(cx, Var::RequestTime),
        "timeEpoch": cx.start_ms as u64,
    });
    if let (Some(auth), Value::Object(rc)) = (&cx.authorizer, &mut request_context) {
        rc.insert("authorizer".into(), auth.clone());
    }
    let mut event = Map::new();
    event.insert("version".into(), json!("2.0"));
    event.insert("routeKey".into(), json!(route_key));
    event.insert("rawPath".into(), json!(cx.path));
    event.insert(
        "rawQueryString".into(),
        json!(cx.query.as_deref().unwrap_or("")),
    );
    if !cookies.is_empty() {
        event.insert("cookies".into(), Value::Array(cookies));
    }
    event.insert("headers".into(), Value::Object(headers));
    if !query.is_empty() {
        event.insert("queryStringParameters".into(), Value::Object(query));
    }
    if !cx.raw_path_params.is_empty() {
        let params: Map<String, Value> = cx
            .path_params
            .iter()
            .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
            .collect();
        event.insert("pathParameters".into(), Value::Object(params));
    }
    event.insert("requestContext".into(), request_context);
    if !cx.stage_vars.is_empty() {
        let vars: Map<String, Value> = cx
            .stage_vars
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        event.insert("stageVariables".into(), Value::Object(vars));
    }
    let base64 = !payload.is_empty()
        && (!super::textual(cx.header("content-type")) || std::str::from_utf8(payload).is_err());
    if !payload.is_empty() {
        let text = if base64 {
            crate::vtl::base64_encode_bytes(payload)
        } else {
            String::from_utf8_lossy(payload).into_owned()
        };
        event.insert("body".into(), Value::String(text));
    }
    event.insert("isBase64Encoded".into(), Value::Bool(base64));
    Value::Object(event)
}
