//! The events API Gateway sends to a Lambda proxy integration: REST (payload format 1.0,
//! also HTTP APIs' 1.0 with `"version": "1.0"`) and HTTP APIs' 2.0 (reference §3.1, §3.3;
//! shapes checked against the public fixtures in `shared/corpora/lambda-events`).

use bytes::Bytes;
use serde_json::{json, Map, Value};

use crate::context::{header_name_as_sent, Context, Var};

fn var(cx: &Context, v: Var) -> Value {
    cx.var(v)
        .map_or(Value::Null, |s| Value::String(s.into_owned()))
}

fn map_or_null(m: Map<String, Value>) -> Value {
    if m.is_empty() {
        Value::Null
    } else {
        Value::Object(m)
    }
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

/// The REST (payload format 1.0) event. `version` is `Some("1.0")` for HTTP APIs.
pub fn v1(cx: &Context, payload: &Bytes, binary_types: &[&str], version: Option<&str>) -> Value {
    let mut headers = Map::new();
    let mut multi: Map<String, Value> = Map::new();
    for (name, value) in &cx.headers {
        // Not forwarded to the function (reference §3.1).
        if name == http::header::CONNECTION || name == http::header::CONTENT_LENGTH {
            continue;
        }
        let Ok(value) = value.to_str() else { continue };
        let name = header_name_as_sent(cx.protocol, name.as_str());
        headers.insert(name.clone(), Value::String(value.to_string()));
        match multi
            .entry(name)
            .or_insert_with(|| Value::Array(Vec::new()))
        {
            Value::Array(a) => a.push(Value::String(value.to_string())),
            _ => unreachable!("only arrays are inserted"),
        }
    }
    let (query, multi_query) = query(cx);
    let path_params: Map<String, Value> = cx
        .raw_path_params
        .iter()
        .map(|(k, v)| ((*k).to_string(), Value::String(v.clone())))
        .collect();
    let stage_vars: Map<String, Value> = cx
        .stage_vars
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let mut identity = Map::new();
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
        let v = match key {
            "sourceIp" => var(cx, Var::SourceIp),
            "userAgent" => var(cx, Var::UserAgent),
            _ => Value::Null,
        };
        identity.insert(key.to_string(), v);
    }
    let mut request_context = json!({
        "resourceId": var(cx, Var::ResourceId),
        "resourcePath": cx.resource_path,
        "httpMethod": cx.method.as_str(),
        "extendedRequestId": cx.request_id,
        "requestTime": var(cx, Var::RequestTime),
        "path": format!("/{}{}", cx.stage, cx.path),
        "accountId": var(cx, Var::AccountId),
        "protocol": cx.protocol,
        "stage": &*cx.stage,
        "domainPrefix": var(cx, Var::DomainPrefix),
        "requestTimeEpoch": cx.start_ms as u64,
        "requestId": cx.request_id,
        "identity": identity,
        "domainName": var(cx, Var::DomainName),
        "deploymentId": "specgate",
        "apiId": var(cx, Var::ApiId),
    });
    if let (Some(auth), Value::Object(rc)) = (&cx.authorizer, &mut request_context) {
        rc.insert("authorizer".into(), auth.clone());
    }
    let (body, base64) = body(cx, payload, binary_types);
    let mut event = Map::new();
    if let Some(v) = version {
        event.insert("version".into(), Value::String(v.to_string()));
    }
    event.insert(
        "resource".into(),
        Value::String(cx.resource_path.to_string()),
    );
    event.insert("path".into(), Value::String(cx.path.clone()));
    event.insert("httpMethod".into(), Value::String(cx.method.to_string()));
    event.insert("headers".into(), map_or_null(headers));
    event.insert("multiValueHeaders".into(), map_or_null(multi));
    event.insert("queryStringParameters".into(), map_or_null(query));
    event.insert(
        "multiValueQueryStringParameters".into(),
        map_or_null(multi_query),
    );
    event.insert("pathParameters".into(), map_or_null(path_params));
    event.insert("stageVariables".into(), map_or_null(stage_vars));
    event.insert("requestContext".into(), request_context);
    event.insert("body".into(), body);
    event.insert("isBase64Encoded".into(), Value::Bool(base64));
    Value::Object(event)
}

/// Whether an HTTP API sends a payload of this type as text (otherwise as base64).
/// HTTP APIs have no binary media types; AWS documents that it base64-encodes binary
/// bodies without saying which types are text: this list is specgate's (unverified).
fn textual(content_type: Option<&str>) -> bool {
    let Some(ct) = content_type else { return true };
    let m = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    m.starts_with("text/")
        || m.ends_with("/json")
        || m.ends_with("+json")
        || m.ends_with("/xml")
        || m.ends_with("+xml")
        || m == "application/x-www-form-urlencoded"
        || m == "application/javascript"
        || m == "application/graphql"
}

/// The HTTP API payload format 2.0 event for the route `route_key` (`GET /pets/{id}` or
/// `$default`).
pub fn v2(cx: &Context, payload: &Bytes, route_key: &str) -> Value {
    let mut headers: Map<String, Value> = Map::new();
    let mut cookies = Vec::new();
    for (name, value) in &cx.headers {
        let Ok(value) = value.to_str() else { continue };
        if name == http::header::COOKIE {
            cookies.extend(
                value
                    .split(';')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(|c| Value::String(c.to_string())),
            );
            continue;
        }
        // Repeated headers are joined with commas.
        match headers.get_mut(name.as_str()) {
            Some(Value::String(s)) => {
                s.push(',');
                s.push_str(value);
            }
            _ => {
                headers.insert(name.as_str().to_string(), Value::String(value.to_string()));
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
            .map(|(k, v)| ((*k).to_string(), Value::String(v.clone())))
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
        && (!textual(cx.header("content-type")) || std::str::from_utf8(payload).is_err());
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
