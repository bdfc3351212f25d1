//! What a Lambda proxy integration answers, from the function's output (reference §3.2,
//! §3.3): REST's strict format 1.0 contract (anything else is a 502), and HTTP APIs' 2.0
//! contract with its inference for output without `statusCode`.

use bytes::Bytes;
use http::{HeaderName, HeaderValue};
// The runtime's own tree: strings borrowed from the output, no hashing (`crate::json`).
use crate::json::Value;

use super::Output;
use crate::context::Context;
use crate::responses::ResponseType;
use crate::state::Runtime;
use crate::{full, Response};

pub use crate::responses::bad_gateway;

/// A scalar header value as text (`true`, `1`, `"x"`); anything else is not a header value.
fn header_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The parts of a valid format 1.0 response.
#[derive(Debug, PartialEq)]
pub struct V1 {
    /// Status.
    pub status: u16,
    /// Headers in order, multi-value ones joined.
    pub headers: Vec<(String, String)>,
    /// Body text (base64 when `base64`).
    pub body: String,
    /// `isBase64Encoded`.
    pub base64: bool,
}

/// Reads format 1.0 output; `None` when API Gateway would answer 502.
pub fn parse_v1(payload: &[u8]) -> Option<V1> {
    let Ok(Value::Object(m)) = Value::parse(payload) else {
        return None;
    };
    // `{}` is refused, any key outside the contract too (AWS-recorded).
    if m.is_empty() {
        return None;
    }
    const KEYS: &[&str] = &[
        "statusCode",
        "headers",
        "multiValueHeaders",
        "body",
        "isBase64Encoded",
    ];
    if m.keys().any(|k| !KEYS.contains(&k.as_str())) {
        return None;
    }
    let status = match m.get("statusCode") {
        None | Some(Value::Null) => 200,
        Some(Value::Number(n)) => u16::try_from(n.as_u64()?).ok()?,
        Some(Value::String(s)) => s.trim().parse().ok()?,
        Some(_) => return None,
    };
    if !(100..=599).contains(&status) {
        return None;
    }
    let mut headers: Vec<(String, String)> = Vec::new();
    match m.get("multiValueHeaders") {
        None | Some(Value::Null) => {}
        Some(Value::Object(h)) => {
            for (k, v) in h {
                let Value::Array(items) = v else { return None };
                let values: Option<Vec<String>> = items.iter().map(header_text).collect();
                headers.push((k.to_string(), values?.join(", ")));
            }
        }
        Some(_) => return None,
    }
    match m.get("headers") {
        None | Some(Value::Null) => {}
        Some(Value::Object(h)) => {
            for (k, v) in h {
                let v = header_text(v)?;
                // A name in both maps: the multi values first, then this one.
                match headers
                    .iter_mut()
                    .find(|(n, _)| n.eq_ignore_ascii_case(k.as_str()))
                {
                    Some((_, existing)) => {
                        existing.push_str(", ");
                        existing.push_str(&v);
                    }
                    None => headers.push((k.to_string(), v)),
                }
            }
        }
        Some(_) => return None,
    }
    let body = match m.get("body") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.to_string(),
        Some(_) => return None,
    };
    let base64 = match m.get("isBase64Encoded") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return None,
    };
    Some(V1 {
        status,
        headers,
        body,
        base64,
    })
}

fn build(
    status: u16,
    headers: &[(String, String)],
    set_cookies: &[String],
    body: Bytes,
) -> Option<Response> {
    let mut b = http::Response::builder().status(status);
    let mut has_type = false;
    for (k, v) in headers {
        let name = HeaderName::from_bytes(k.as_bytes()).ok()?;
        has_type |= name == http::header::CONTENT_TYPE;
        b = b.header(name, HeaderValue::from_str(v).ok()?);
    }
    for c in set_cookies {
        b = b.header(http::header::SET_COOKIE, HeaderValue::from_str(c).ok()?);
    }
    if !has_type {
        b = b.header("content-type", "application/json");
    }
    b.body(full(body)).ok()
}

/// The body of a response that says `isBase64Encoded`: decoded when the client's first
/// `Accept` type is binary, else the base64 text as is (AWS-recorded).
fn decoded(cx: &Context, binary_types: &[&str], text: String) -> Option<Bytes> {
    if crate::vtl::mapping::is_binary(binary_types, cx.header("accept")) {
        crate::vtl::base64_decode_bytes(text.as_bytes()).map(Bytes::from)
    } else {
        Some(Bytes::from(text))
    }
}

/// A REST `aws_proxy` answer (payload format 1.0): a function error or unusable output is
/// a 502.
pub fn rest(cx: &Context, out: &Output, binary_types: &[&str]) -> Response {
    if out.function_error {
        return bad_gateway();
    }
    let Some(v) = parse_v1(&out.payload) else {
        return bad_gateway();
    };
    let body = if v.base64 {
        match decoded(cx, binary_types, v.body) {
            Some(b) => b,
            None => return bad_gateway(),
        }
    } else {
        Bytes::from(v.body)
    };
    build(v.status, &v.headers, &[], body).unwrap_or_else(bad_gateway)
}

/// An HTTP API answer for payload format `version` (`1.0` or `2.0`): a function error or
/// unusable output is a 500 `Internal Server Error`.
pub fn http_api(rt: &Runtime, cx: &mut Context, out: &Output, version: &str) -> Response {
    let answer = if out.function_error {
        None
    } else if version == "1.0" {
        parse_v1(&out.payload).and_then(|v| {
            let body = if v.base64 {
                crate::vtl::base64_decode_bytes(v.body.as_bytes()).map(Bytes::from)?
            } else {
                Bytes::from(v.body)
            };
            build(v.status, &v.headers, &[], body)
        })
    } else {
        v2(&out.payload)
    };
    answer.unwrap_or_else(|| rt.gateway_response(cx, ResponseType::ApiConfigurationError))
}

/// Format 2.0: a JSON object with `statusCode` is the response; any other JSON is the body
/// of a 200 `application/json` answer (a JSON string's text, else the JSON as written).
fn v2(payload: &[u8]) -> Option<Response> {
    let value = Value::parse(payload).ok()?;
    let Some(m) = value.as_object().filter(|m| m.contains_key("statusCode")) else {
        let body = match &value {
            Value::String(s) => Bytes::from(s.to_string()),
            _ => Bytes::copy_from_slice(payload),
        };
        return build(200, &[], &[], body);
    };
    let status = match m.get("statusCode")? {
        Value::Number(n) => u16::try_from(n.as_u64()?).ok()?,
        Value::String(s) => s.trim().parse().ok()?,
        _ => return None,
    };
    let mut headers = Vec::new();
    if let Some(Value::Object(h)) = m.get("headers") {
        for (k, v) in h {
            headers.push((k.to_string(), header_text(v)?));
        }
    }
    let cookies: Vec<String> = match m.get("cookies") {
        Some(Value::Array(a)) => a.iter().filter_map(header_text).collect(),
        _ => Vec::new(),
    };
    let text = match m.get("body") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.to_string(),
        Some(other) => other.to_string(),
    };
    let body = if m.get("isBase64Encoded") == Some(&Value::Bool(true)) {
        Bytes::from(crate::vtl::base64_decode_bytes(text.as_bytes())?)
    } else {
        Bytes::from(text)
    };
    build(status, &headers, &cookies, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_1_0_follows_the_recorded_outcomes() {
        // Reference §3.2, AWS-recorded.
        assert_eq!(parse_v1(br#"{"statusCode": 200}"#).unwrap().status, 200);
        assert_eq!(
            parse_v1(br#"{"headers": {"test-header": "value"}}"#)
                .unwrap()
                .status,
            200
        );
        assert_eq!(parse_v1(br#"{"statusCode": "201"}"#).unwrap().status, 201);
        assert!(parse_v1(br#"{"statusCode": "test"}"#).is_none());
        assert!(parse_v1(b"{}").is_none());
        assert!(parse_v1(br#"{"statusCode": 200, "wrongValue": 1}"#).is_none());
        assert!(parse_v1(br#""justAString""#).is_none());
        assert!(parse_v1(br#"{"multiValueHeaders": {"a": "b"}}"#).is_none());
        let v = parse_v1(
            br#"{"headers": {"header-bool": true, "Dup": "value-solo"}, "multiValueHeaders": {"dup": ["value-multi"]}}"#,
        )
        .unwrap();
        assert_eq!(
            v.headers,
            vec![
                ("dup".to_string(), "value-multi, value-solo".to_string()),
                ("header-bool".to_string(), "true".to_string()),
            ]
        );
        assert!(parse_v1(br#"{"statusCode": 200, "headers": null}"#).is_some());
    }
}
