//! The events API Gateway sends to a Lambda proxy integration: REST (payload format 1.0,
//! also HTTP APIs' 1.0 with `"version": "1.0"`) and HTTP APIs' 2.0 (reference §3.1, §3.3;
//! shapes checked against the public fixtures in `shared/corpora/lambda-events`).
//!
//! Both are written straight into their text, once per call: the fixed shape as literal
//! pieces between the values (a member writer pushed each name with its quotes and comma
//! separately, 80 instructions a member), the request's headers and parameters read where
//! they are (names grouped through a chain of indices, not a vector per name), the
//! context's values written in place. The first implementation (serde values for 2.0, a
//! member writer for 1.0) is kept in `reference.rs` as the oracle the tests compare with.

use std::borrow::Cow;

use bytes::Bytes;
use serde_json::Value;

use crate::context::{header_name_as_sent, Context};
use crate::json::{escaped_into, string_into};

#[cfg(test)]
mod reference;

/// `null`, or `v` as a JSON string.
fn opt_into(out: &mut String, v: Option<&str>) {
    match v {
        Some(v) => string_into(out, v),
        None => out.push_str("null"),
    }
}

/// Text known to need no escaping (digits, hex, an address, a date) as a JSON string.
fn plain_into(out: &mut String, s: &str) {
    out.push('"');
    out.push_str(s);
    out.push('"');
}

/// For each of `n` entries, named by `name`: the index of the next entry of the same name
/// (`NONE` after the last) and whether it is its name's first. Names are compared exactly,
/// or ignoring ASCII case (`fold_case`); past a few dozen entries through a map of the
/// names (lowered when case is ignored), so that a request with thousands of parameters
/// costs no quadratic scan.
fn chains<'a>(n: usize, name: impl Fn(usize) -> &'a str, fold_case: bool) -> Vec<(usize, bool)> {
    let mut out = vec![(NONE, true); n];
    if n <= 32 {
        for i in 1..n {
            let same = |j: &usize| {
                let (a, b) = (name(*j), name(i));
                if fold_case {
                    a.eq_ignore_ascii_case(b)
                } else {
                    a == b
                }
            };
            if let Some(j) = (0..i).rev().find(same) {
                out[j].0 = i;
                out[i].1 = false;
            }
        }
    } else {
        let mut last: std::collections::HashMap<Cow<str>, usize> =
            std::collections::HashMap::with_capacity(n);
        for i in 0..n {
            let key = match name(i) {
                k if fold_case && k.bytes().any(|b| b.is_ascii_uppercase()) => {
                    Cow::Owned(k.to_ascii_lowercase())
                }
                k => Cow::Borrowed(k),
            };
            if let Some(j) = last.insert(key, i) {
                out[j].0 = i;
                out[i].1 = false;
            }
        }
    }
    out
}

const NONE: usize = usize::MAX;

/// How a name's values are written.
#[derive(Clone, Copy, PartialEq)]
enum Values {
    /// The last one (REST's single-value maps, a map built by inserting in order).
    Last,
    /// All of them, as a list.
    All,
    /// All of them, joined with commas (HTTP APIs' 2.0 headers and parameters).
    Joined,
}

/// `{"name": …, …}` of the entries `chain` links ([`chains`]): each name once, as its first
/// entry spells it, in first-seen order.
fn groups_into<'a>(
    out: &mut String,
    name: impl Fn(usize) -> &'a str,
    value: impl Fn(usize) -> &'a str,
    chain: &[(usize, bool)],
    values: Values,
) {
    out.push('{');
    let mut first = true;
    for (i, &(next, head)) in chain.iter().enumerate() {
        if !head {
            continue;
        }
        if !first {
            out.push(',');
        }
        first = false;
        string_into(out, name(i));
        out.push(':');
        let mut at = i;
        match values {
            Values::Last => {
                let mut next = next;
                while next != NONE {
                    at = next;
                    next = chain[at].0;
                }
                string_into(out, value(at));
            }
            Values::All | Values::Joined => {
                out.push_str(if values == Values::All { "[\"" } else { "\"" });
                loop {
                    escaped_into(out, value(at));
                    at = chain[at].0;
                    if at == NONE {
                        break;
                    }
                    out.push_str(if values == Values::All { "\",\"" } else { "," });
                }
                out.push_str(if values == Values::All { "\"]" } else { "\"" });
            }
        }
    }
    out.push('}');
}

/// The query string's parameters, decoded, in order.
fn query_pairs(cx: &Context) -> Vec<(Cow<'_, str>, Cow<'_, str>)> {
    cx.query
        .as_deref()
        .unwrap_or("")
        .split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (
                crate::path::decode_query_cow(k),
                crate::path::decode_query_cow(v),
            )
        })
        .collect()
}

/// The payload as the event's `body` (without its name) and whether it went as base64.
fn body_into(out: &mut String, payload: &Bytes, base64: bool) {
    match std::str::from_utf8(payload) {
        Ok(text) if !base64 => string_into(out, text),
        _ => plain_into(out, &crate::vtl::base64_encode_bytes(payload)),
    }
}

/// What an event's text will need, roughly: its fixed part and what the request brings.
fn capacity(cx: &Context, payload: &Bytes, headers: &[(Cow<str>, &str)]) -> usize {
    let fields: usize = headers.iter().map(|(n, v)| n.len() + v.len() + 6).sum();
    1536 + 2 * fields
        + 2 * cx.query.as_deref().map_or(0, str::len)
        + 2 * cx.path.len()
        + payload.len() * 4 / 3
}

/// The REST (payload format 1.0) event as JSON text. `version` is `Some("1.0")` for HTTP
/// APIs' payload format 1.0, which lowers every header name.
pub fn v1_json(
    cx: &Context,
    payload: &Bytes,
    binary_types: &[&str],
    version: Option<&str>,
) -> String {
    // Read where they arrived (no header map built for the event), names exactly as sent;
    // a name's values gathered in the order they came. A name sent in two cases is one
    // header (HTTP names are case-insensitive), named as it first came: how AWS groups such
    // a pair is not recorded (reference §3.1 is silent), this is what a header map would do.
    let headers: Vec<(Cow<str>, &str)> = cx
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
                    Cow::Owned(n.to_ascii_lowercase())
                }
                Some(_) => Cow::Borrowed(n),
                None => header_name_as_sent(cx, n),
            };
            Some((name, crate::headers::as_text(v)?))
        })
        .collect();
    let query = query_pairs(cx);
    let mut out = String::with_capacity(capacity(cx, payload, &headers));
    let o = &mut out;
    o.push('{');
    if let Some(v) = version {
        o.push_str("\"version\":");
        string_into(o, v);
        o.push(',');
    }
    o.push_str("\"resource\":");
    string_into(o, cx.resource_path);
    o.push_str(",\"path\":");
    string_into(o, &cx.path);
    o.push_str(",\"httpMethod\":");
    string_into(o, cx.method.as_str());
    // A repeated name: the last value in the single-value maps.
    let (name, value) = (|i: usize| &*headers[i].0, |i: usize| headers[i].1);
    let keys = [",\"headers\":", ",\"multiValueHeaders\":"];
    rest_maps(o, keys, headers.len(), name, value, true);
    let (name, value) = (|i: usize| &*query[i].0, |i: usize| &*query[i].1);
    let keys = [
        ",\"queryStringParameters\":",
        ",\"multiValueQueryStringParameters\":",
    ];
    rest_maps(o, keys, query.len(), name, value, false);
    // Written as they are (a repeated name twice), as API Gateway's maps are built.
    o.push_str(",\"pathParameters\":");
    pairs_into(o, cx.raw_path_params.iter());
    o.push_str(",\"stageVariables\":");
    pairs_into(
        o,
        cx.stage_vars.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    );
    o.push_str(",\"requestContext\":{\"resourceId\":\"");
    crate::context::resource_id_into(o, cx.resource_path);
    o.push_str("\",\"resourcePath\":");
    string_into(o, cx.resource_path);
    o.push_str(",\"httpMethod\":");
    string_into(o, cx.method.as_str());
    o.push_str(",\"extendedRequestId\":");
    string_into(o, &cx.request_id);
    o.push_str(",\"requestTime\":\"");
    crate::context::clf_time_into(o, cx.start_ms);
    o.push_str("\",\"path\":\"/");
    escaped_into(o, &cx.stage);
    escaped_into(o, &cx.path);
    o.push_str("\",\"accountId\":\"000000000000\",\"protocol\":");
    string_into(o, cx.protocol);
    o.push_str(",\"stage\":");
    string_into(o, &cx.stage);
    let host = cx.header("host").map(crate::context::domain_of);
    o.push_str(",\"domainPrefix\":");
    opt_into(o, host.map(|h| h.1));
    o.push_str(",\"requestTimeEpoch\":");
    o.push_str(itoa::Buffer::new().format(cx.start_ms as u64));
    o.push_str(",\"requestId\":");
    string_into(o, &cx.request_id);
    let iam = cx.iam.as_deref();
    o.push_str(",\"identity\":{\"cognitoIdentityPoolId\":null,\"accountId\":");
    opt_into(o, iam.map(|c| c.account.as_str()));
    o.push_str(",\"cognitoIdentityId\":null,\"caller\":");
    opt_into(o, iam.map(|c| c.user_id.as_str()));
    o.push_str(",\"sourceIp\":\"");
    let mut ip = [0u8; 46];
    let ip = crate::context::ip_text(cx.peer.ip(), &mut ip);
    o.push_str(std::str::from_utf8(ip).unwrap_or_default());
    o.push_str("\",\"principalOrgId\":null,\"accessKey\":");
    opt_into(o, iam.map(|c| c.access_key.as_str()));
    o.push_str(
        ",\"cognitoAuthenticationType\":null,\"cognitoAuthenticationProvider\":null,\"userArn\":",
    );
    opt_into(o, iam.map(|c| c.arn.as_str()));
    o.push_str(",\"userAgent\":");
    opt_into(o, cx.header("user-agent"));
    o.push_str(",\"user\":");
    opt_into(o, iam.map(|c| c.user_id.as_str()));
    // Present when the request was admitted with an API key (AWS-recorded events).
    if let (Some(k), Some(kid)) = (&cx.api_key, &cx.api_key_id) {
        o.push_str(",\"apiKey\":");
        string_into(o, k);
        o.push_str(",\"apiKeyId\":");
        string_into(o, kid);
    }
    o.push_str("},\"domainName\":");
    opt_into(o, host.map(|h| h.0));
    o.push_str(",\"deploymentId\":\"specgate\",\"apiId\":\"specgate\"");
    if let Some(auth) = &cx.authorizer {
        o.push_str(",\"authorizer\":");
        o.push_str(&auth.to_string());
    }
    o.push_str("},\"body\":");
    let binary = crate::vtl::mapping::is_binary(binary_types, cx.header("content-type"));
    let base64 = !payload.is_empty() && (binary || std::str::from_utf8(payload).is_err());
    match payload.is_empty() {
        true => o.push_str("null"),
        false => body_into(o, payload, base64),
    }
    o.push_str(if base64 {
        ",\"isBase64Encoded\":true}"
    } else {
        ",\"isBase64Encoded\":false}"
    });
    out
}

/// REST's pair of maps of `n` named entries, each under its key: a name's last value, then
/// all of its values; `null` both when there are none.
fn rest_maps<'a>(
    o: &mut String,
    keys: [&str; 2],
    n: usize,
    name: impl Fn(usize) -> &'a str + Copy,
    value: impl Fn(usize) -> &'a str + Copy,
    fold_case: bool,
) {
    let chain = chains(n, name, fold_case);
    for (key, values) in keys.into_iter().zip([Values::Last, Values::All]) {
        o.push_str(key);
        match n {
            0 => o.push_str("null"),
            _ => groups_into(o, name, value, &chain, values),
        }
    }
}

/// `{"k": "v", …}` for (name, value) pairs in order, or `null` when there are none.
fn pairs_into<'v>(out: &mut String, pairs: impl Iterator<Item = (&'v str, &'v str)>) {
    let mut first = true;
    for (k, v) in pairs {
        out.push(if first { '{' } else { ',' });
        first = false;
        string_into(out, k);
        out.push(':');
        string_into(out, v);
    }
    out.push_str(if first { "null" } else { "}" });
}

/// The REST (payload format 1.0) event as a value (authorizer events start from it).
pub fn v1(cx: &Context, payload: &Bytes, binary_types: &[&str], version: Option<&str>) -> Value {
    serde_json::from_str(&v1_json(cx, payload, binary_types, version)).unwrap_or(Value::Null)
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
/// `$default`) as JSON text.
pub fn v2_json(cx: &Context, payload: &Bytes, route_key: &str) -> String {
    // Read where they arrived (no header map built for the event), names lowered: the
    // same names, values and order a map gives. Cookies go apart.
    let mut cookies: Vec<&str> = Vec::new();
    let headers: Vec<(Cow<str>, &str)> = cx
        .headers
        .fields()
        .filter_map(|(n, v)| {
            let (Ok(n), Some(v)) = (std::str::from_utf8(n), crate::headers::as_text(v)) else {
                return None;
            };
            if n.eq_ignore_ascii_case("cookie") {
                cookies.extend(v.split(';').map(str::trim).filter(|c| !c.is_empty()));
                return None;
            }
            Some(match n.bytes().any(|b| b.is_ascii_uppercase()) {
                true => (Cow::Owned(n.to_ascii_lowercase()), v),
                false => (Cow::Borrowed(n), v),
            })
        })
        .collect();
    let mut out = String::with_capacity(capacity(cx, payload, &headers));
    let o = &mut out;
    o.push_str("{\"version\":\"2.0\",\"routeKey\":");
    string_into(o, route_key);
    o.push_str(",\"rawPath\":");
    string_into(o, &cx.path);
    o.push_str(",\"rawQueryString\":");
    string_into(o, cx.query.as_deref().unwrap_or(""));
    if !cookies.is_empty() {
        o.push_str(",\"cookies\":[");
        for (i, c) in cookies.iter().enumerate() {
            if i > 0 {
                o.push(',');
            }
            string_into(o, c);
        }
        o.push(']');
    }
    // Repeated headers are joined with commas.
    o.push_str(",\"headers\":");
    let (n, name, value) = (
        headers.len(),
        |i: usize| &*headers[i].0,
        |i: usize| headers[i].1,
    );
    groups_into(o, name, value, &chains(n, name, false), Values::Joined);
    let query = query_pairs(cx);
    if !query.is_empty() {
        o.push_str(",\"queryStringParameters\":");
        let (n, name, value) = (
            query.len(),
            |i: usize| &*query[i].0,
            |i: usize| &*query[i].1,
        );
        groups_into(o, name, value, &chains(n, name, false), Values::Joined);
    }
    // Names come from the route, each once.
    if !cx.raw_path_params.is_empty() {
        o.push_str(",\"pathParameters\":");
        let params: Vec<(&str, &str)> = cx.path_params.iter().collect();
        let (n, name, value) = (params.len(), |i: usize| params[i].0, |i: usize| params[i].1);
        groups_into(o, name, value, &chains(n, name, false), Values::Last);
    }
    let host = cx.header("host").map(crate::context::domain_of);
    o.push_str(",\"requestContext\":{\"accountId\":\"000000000000\",\"apiId\":\"specgate\",\"domainName\":");
    opt_into(o, host.map(|h| h.0));
    o.push_str(",\"domainPrefix\":");
    opt_into(o, host.map(|h| h.1));
    o.push_str(",\"http\":{\"method\":");
    string_into(o, cx.method.as_str());
    o.push_str(",\"path\":");
    string_into(o, &cx.path);
    o.push_str(",\"protocol\":");
    string_into(o, cx.protocol);
    o.push_str(",\"sourceIp\":\"");
    let mut ip = [0u8; 46];
    let ip = crate::context::ip_text(cx.peer.ip(), &mut ip);
    o.push_str(std::str::from_utf8(ip).unwrap_or_default());
    o.push_str("\",\"userAgent\":");
    opt_into(o, cx.header("user-agent"));
    o.push_str("},\"requestId\":");
    string_into(o, &cx.request_id);
    o.push_str(",\"routeKey\":");
    string_into(o, route_key);
    o.push_str(",\"stage\":");
    string_into(o, &cx.stage);
    o.push_str(",\"time\":\"");
    crate::context::clf_time_into(o, cx.start_ms);
    o.push_str("\",\"timeEpoch\":");
    o.push_str(itoa::Buffer::new().format(cx.start_ms as u64));
    if let Some(auth) = &cx.authorizer {
        o.push_str(",\"authorizer\":");
        o.push_str(&auth.to_string());
    }
    o.push('}');
    if !cx.stage_vars.is_empty() {
        o.push_str(",\"stageVariables\":");
        let vars = &cx.stage_vars;
        let (n, name, value) = (vars.len(), |i: usize| &*vars[i].0, |i: usize| &*vars[i].1);
        groups_into(o, name, value, &chains(n, name, false), Values::Last);
    }
    let base64 = !payload.is_empty()
        && (!textual(cx.header("content-type")) || std::str::from_utf8(payload).is_err());
    if !payload.is_empty() {
        o.push_str(",\"body\":");
        body_into(o, payload, base64);
    }
    o.push_str(if base64 {
        ",\"isBase64Encoded\":true}"
    } else {
        ",\"isBase64Encoded\":false}"
    });
    out
}

/// The HTTP API payload format 2.0 event as a value (authorizer events start from it).
pub fn v2(cx: &Context, payload: &Bytes, route_key: &str) -> Value {
    serde_json::from_str(&v2_json(cx, payload, route_key)).unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use crate::json::string_into;
    use proptest::prelude::*;

    fn escaped(s: &str) -> String {
        let mut out = String::from("x");
        string_into(&mut out, s);
        out.split_off(1)
    }

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        for s in [
            "",
            "plain",
            "a\"b\\c",
            "\n\r\t\u{8}\u{c}\u{0}\u{1f}\u{7f}",
            "é/ü 😀",
            "\"\"",
        ] {
            assert_eq!(escaped(s), serde_json::to_string(s).unwrap(), "{s:?}");
        }
        // Every position of a word-at-a-time scan, with neighbours on both sides.
        for special in ['"', '\\', '\n', '\u{1}', '\u{1f}', ' ', '\u{7f}', 'é'] {
            for at in 0..26 {
                let mut s: String = "abcdefghijklmnopqrstuvwxy".into();
                s.insert(at, special);
                s.push_str(&s.clone());
                assert_eq!(escaped(&s), serde_json::to_string(&s).unwrap(), "{s:?}");
            }
        }
    }

    /// The REST event's headers carry the names exactly as the client sent them (AWS's
    /// recorded event keeps `tEsT-HEADeR`), a name's values gathered in order whatever case
    /// each came in, the framing fields left out, a value that is not text left out; a map
    /// built to look a field up changes nothing.
    #[test]
    fn event_headers_keep_the_names_as_sent() {
        let head = b"GET /a HTTP/1.1\r\nHOST: h\r\nx-many: 1\r\nAccept: */*\r\nX-MANY: 2\r\nContent-Length: 0\r\nX-Bin: caf\xc3\xa9\r\ntEsT-HEADeR: aValUE\r\n\r\n";
        let mut parts = http::Request::new(()).into_parts().0;
        let mut cx = crate::context::Context::for_tests(&mut parts);
        cx.headers = crate::headers::Headers::parse_for_tests(head);
        let text =
            |cx: &crate::context::Context| super::v1_json(cx, &bytes::Bytes::new(), &[], None);
        let from_raw = text(&cx);
        assert_eq!(cx.headers.get("x-many").unwrap(), "1");
        assert_eq!(from_raw, text(&cx));
        let e: serde_json::Value = serde_json::from_str(&from_raw).unwrap();
        assert_eq!(
            e["headers"],
            serde_json::json!({"HOST": "h", "x-many": "2", "Accept": "*/*", "tEsT-HEADeR": "aValUE"})
        );
        assert_eq!(
            e["multiValueHeaders"]["x-many"],
            serde_json::json!(["1", "2"])
        );
        // A field changed on the way: the map stands for the fields, and the names come
        // back in canonical case (what HTTP/1 clients mostly send).
        cx.headers
            .insert("x-added", http::HeaderValue::from_static("3"));
        let e: serde_json::Value = serde_json::from_str(&text(&cx)).unwrap();
        assert_eq!(
            e["headers"],
            serde_json::json!({"Host": "h", "X-Many": "2", "Accept": "*/*", "Test-Header": "aValUE", "X-Added": "3"})
        );
        // An HTTP API's payload 1.0 lowers them.
        let e: serde_json::Value =
            serde_json::from_str(&super::v1_json(&cx, &bytes::Bytes::new(), &[], Some("1.0")))
                .unwrap();
        assert_eq!(e["headers"]["test-header"], "aValUE");
        assert_eq!(
            e["multiValueHeaders"]["x-many"],
            serde_json::json!(["1", "2"])
        );
        // HTTP/2 names are lower case on the wire, and stay so.
        cx.protocol = "HTTP/2.0";
        let e: serde_json::Value = serde_json::from_str(&text(&cx)).unwrap();
        assert_eq!(e["headers"]["test-header"], "aValUE");
        // The HTTP API event lowers them (names lowered, repeated values joined, cookies
        // apart), from the raw fields as from a map.
        let mut parts = http::Request::new(()).into_parts().0;
        let mut cx = crate::context::Context::for_tests(&mut parts);
        cx.headers = crate::headers::Headers::parse_for_tests(
            b"GET /a HTTP/1.1\r\nHOST: h\r\nCookie: a=1; b=2\r\nx-many: 1\r\nAccept: */*\r\nX-MANY: 2\r\ncookie: c=3\r\n\r\n",
        );
        let from_raw = super::v2(&cx, &bytes::Bytes::new(), "$default");
        cx.headers
            .insert("x-added", http::HeaderValue::from_static("3"));
        cx.headers.remove("x-added");
        let from_map = super::v2(&cx, &bytes::Bytes::new(), "$default");
        assert_eq!(
            serde_json::to_string(&from_raw).unwrap(),
            serde_json::to_string(&from_map).unwrap()
        );
        assert_eq!(
            from_raw["headers"],
            serde_json::json!({"host": "h", "x-many": "1,2", "accept": "*/*"})
        );
        assert_eq!(
            from_raw["cookies"],
            serde_json::json!(["a=1", "b=2", "c=3"])
        );
    }

    /// A request for the events: fields from a small set of names in any case (cookies,
    /// framing fields, repeats), values with quotes, backslashes and non-text bytes, a query
    /// with repeats and escapes, path parameters, stage variables, a payload of any bytes.
    #[allow(clippy::type_complexity)]
    fn request() -> impl Strategy<
        Value = (
            Vec<(usize, bool, String)>,
            Vec<(String, String)>,
            Vec<(usize, String)>,
            Vec<(usize, String)>,
            (Vec<u8>, usize, bool, bool, bool, bool),
        ),
    > {
        (
            prop::collection::vec(
                (0..NAMES.len(), any::<bool>(), "[ -~]{0,10}|caf\\xc3\\xa9"),
                0..12,
            ),
            prop::collection::vec(("[ab+%2C0]{0,4}", "[ab+%2C0\"]{0,4}"), 0..40),
            prop::collection::vec((0..2usize, "[a-z%é\"]{0,5}"), 0..3),
            prop::collection::vec((0..3usize, "[a-z\\\"]{0,4}"), 0..4),
            (
                prop::collection::vec(any::<u8>(), 0..24),
                0..TYPES.len(),
                any::<bool>(),
                any::<bool>(),
                any::<bool>(),
                any::<bool>(),
            ),
        )
    }

    const NAMES: [&str; 10] = [
        "Host",
        "host",
        "Cookie",
        "cookie",
        "User-Agent",
        "Content-Type",
        "Connection",
        "content-length",
        "X-Many",
        "x-MANY",
    ];
    const TYPES: [&str; 3] = ["application/json", "image/png", "text/plain; charset=utf-8"];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]
        /// Both events, byte for byte as the first implementation wrote them.
        #[test]
        fn events_are_written_as_the_reference_writes_them(
            (fields, query, params, vars, (payload, ty, http2, mapped, extra, version)) in request()
        ) {
            let mut head = b"GET /a HTTP/1.1\r\n".to_vec();
            for (name, upper, value) in &fields {
                let name = if *upper { NAMES[*name].to_ascii_uppercase() } else { NAMES[*name].to_string() };
                head.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
            }
            head.extend_from_slice(format!("Content-Type: {}\r\n\r\n", TYPES[ty]).as_bytes());
            let head = String::from_utf8_lossy(&head).replace("caf\\xc3\\xa9", "café");
            let mut parts = http::Request::new(()).into_parts().0;
            let mut cx = crate::context::Context::for_tests(&mut parts);
            cx.headers = crate::headers::Headers::parse_for_tests(head.as_bytes());
            if mapped {
                cx.headers.insert("x-added", http::HeaderValue::from_static("3"));
            }
            if http2 {
                cx.protocol = "HTTP/2.0";
            }
            cx.path = "/a/\"b\"\\é".into();
            cx.resource_path = "/a/{id}";
            let q: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
            cx.query = (!q.is_empty()).then(|| q.join("&") + "&&x");
            for (name, value) in &params {
                cx.raw_path_params.push(["id", "name"][*name], value);
                cx.path_params.push(["id", "name"][*name], &crate::path::decode(value));
            }
            cx.stage_vars = std::sync::Arc::new(
                vars.iter().map(|(k, v)| (["a", "b", "c"][*k].to_string(), v.clone())).collect(),
            );
            if extra {
                cx.api_key = Some("key\"1".into());
                cx.api_key_id = Some("kid".into());
                cx.iam = Some(Box::new(crate::policy::Caller {
                    arn: "arn:aws:iam::123456789012:user/u".into(),
                    account: "123456789012".into(),
                    user_id: "AIDA\\1".into(),
                    access_key: "AKIA1".into(),
                }));
                cx.authorizer = Some(serde_json::json!({"principalId": "p\"", "n": 1}));
            }
            let payload = bytes::Bytes::from(payload);
            let version = version.then_some("1.0");
            prop_assert_eq!(
                super::v1_json(&cx, &payload, &["image/png"], version),
                super::reference::v1_json(&cx, &payload, &["image/png"], version)
            );
            prop_assert_eq!(
                super::v2_json(&cx, &payload, "GET /a/{id}"),
                super::reference::v2(&cx, &payload, "GET /a/{id}").to_string()
            );
        }

        #[test]
        fn any_string_is_escaped_as_serde_json_escapes_it(s in "\\PC*|[\\x00-\\x7f]*") {
            prop_assert_eq!(escaped(&s), serde_json::to_string(&s).unwrap());
        }
    }
}
