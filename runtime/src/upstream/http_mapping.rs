//! HTTP APIs' parameter mapping: an integration's `requestParameters`
//! (`append|overwrite|remove:header.X`, `…:querystring.X`, `overwrite:path`) and its
//! per-status `responseParameters` (`…:header.X`, `overwrite:statuscode`), compiled into
//! tables of operations; values are `$request.*`, `$context.*`, `$stageVariables.*`,
//! `$response.header.*`, static text, and `${…}` concatenations of those.

use http::header::{HeaderName, HeaderValue};
use http::HeaderMap;

use crate::context::{Context, Var};

/// What a mapping does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `append:` adds a value (headers: another value; query strings: another parameter).
    Append,
    /// `overwrite:` replaces every value.
    Overwrite,
    /// `remove:` drops it.
    Remove,
}

/// What a mapping changes.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    /// A header.
    Header(&'static str),
    /// A query-string parameter.
    Query(&'static str),
    /// The request path (`overwrite:path`).
    Path,
    /// The response's status code (`overwrite:statuscode`).
    StatusCode,
}

/// A piece of a mapping value.
#[derive(Debug, Clone, Copy)]
pub enum Val {
    /// Static text.
    Lit(&'static str),
    /// `$request.header.<name>` (every value, joined with `,`).
    Header(&'static str),
    /// `$request.querystring.<name>` (every value, joined with `,`).
    Query(&'static str),
    /// `$request.path`.
    Path,
    /// `$request.path.<name>`.
    PathParam(&'static str),
    /// `$context.<var>`.
    Context(Var),
    /// `$context.authorizer.claims.<name>` and `$context.authorizer.<key>`.
    Authorizer(&'static str, &'static str),
    /// `$stageVariables.<name>`.
    StageVar(&'static str),
    /// `$response.header.<name>`.
    ResponseHeader(&'static str),
    /// `$request.body` (`""`) or `$request.body.<a.b>` (subtype integrations).
    Body(&'static str),
}

/// One mapping.
#[derive(Debug)]
pub struct Mapping {
    /// What it does.
    pub op: Op,
    /// What it changes.
    pub target: Target,
    /// Its value, in pieces.
    pub value: &'static [Val],
}

/// An integration's mappings.
#[derive(Debug)]
pub struct HttpMapping {
    /// `requestParameters`.
    pub request: &'static [Mapping],
    /// `responseParameters` by status code.
    pub responses: &'static [(u16, &'static [Mapping])],
}

/// A value, given the request body (subtype integrations read it).
pub fn value_with_body(cx: &Context, parts: &[Val], body: &[u8]) -> String {
    let mut out = String::new();
    for p in parts {
        match p {
            Val::Body(path) => {
                if path.is_empty() {
                    out.push_str(&String::from_utf8_lossy(body));
                    continue;
                }
                let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(body) else {
                    continue;
                };
                for key in path.split('.') {
                    v = v.get(key).cloned().unwrap_or(serde_json::Value::Null);
                }
                match v {
                    serde_json::Value::Null => {}
                    serde_json::Value::String(s) => out.push_str(&s),
                    other => out.push_str(&other.to_string()),
                }
            }
            other => out.push_str(&value(cx, std::slice::from_ref(other), None)),
        }
    }
    out
}

fn value(cx: &Context, parts: &[Val], response: Option<&HeaderMap>) -> String {
    let mut out = String::new();
    for p in parts {
        match p {
            Val::Lit(s) => out.push_str(s),
            Val::Header(n) => {
                let all: Vec<&str> = cx
                    .headers
                    .get_all(*n)
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .collect();
                out.push_str(&all.join(","));
            }
            Val::Query(n) => {
                let all: Vec<String> = cx
                    .query
                    .as_deref()
                    .unwrap_or("")
                    .split('&')
                    .filter_map(|kv| {
                        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                        (crate::path::decode_query(k) == *n).then(|| crate::path::decode_query(v))
                    })
                    .collect();
                out.push_str(&all.join(","));
            }
            Val::Path => out.push_str(&cx.path),
            Val::PathParam(n) => out.push_str(cx.path_param(n).unwrap_or("")),
            Val::Context(v) => {
                if let Some(s) = cx.var(*v) {
                    out.push_str(&s);
                }
            }
            Val::Authorizer(group, key) => {
                let a = cx.authorizer.as_ref();
                // JWT authorizers keep their claims under `jwt`.
                let v = match *group {
                    "" => a.and_then(|a| a.get(*key)),
                    g => a
                        .and_then(|a| a.get(g).or_else(|| a.get("jwt").and_then(|j| j.get(g))))
                        .and_then(|c| c.get(*key)),
                };
                match v {
                    Some(serde_json::Value::String(s)) => out.push_str(s),
                    Some(serde_json::Value::Null) | None => {}
                    Some(other) => out.push_str(&other.to_string()),
                }
            }
            Val::StageVar(n) => out.push_str(cx.stage_var(n).unwrap_or("")),
            Val::Body(_) => {}
            Val::ResponseHeader(n) => {
                if let Some(v) = response
                    .and_then(|h| h.get(*n))
                    .and_then(|v| v.to_str().ok())
                {
                    out.push_str(v);
                }
            }
        }
    }
    out
}

fn header_op(h: &mut HeaderMap, op: Op, name: &str, v: String) {
    let Ok(name) = HeaderName::from_bytes(name.as_bytes()) else {
        return;
    };
    match op {
        Op::Remove => {
            h.remove(&name);
        }
        Op::Append | Op::Overwrite => {
            let Ok(v) = HeaderValue::from_str(&v) else {
                return;
            };
            if op == Op::Overwrite {
                h.insert(name, v);
            } else {
                h.append(name, v);
            }
        }
    }
}

/// Applies `requestParameters` to the backend request: its URL (path and query string) and
/// headers.
pub fn apply_request(cx: &Context, maps: &[Mapping], url: &mut String, headers: &mut HeaderMap) {
    for m in maps {
        let v = value(cx, m.value, None);
        match m.target {
            Target::Header(n) => header_op(headers, m.op, n, v),
            Target::Query(n) => match m.op {
                Op::Append => super::add_query_param(url, n, &v),
                Op::Overwrite => super::set_query_param(url, n, &v),
                Op::Remove => super::remove_query_param(url, n),
            },
            Target::Path => {
                // `overwrite:path`: the URL's path, keeping its address and query string.
                let start = url.find("://").map_or(0, |i| i + 3);
                let path_at = url[start..].find('/').map_or(url.len(), |i| start + i);
                let query_at = url[path_at..].find('?').map_or(url.len(), |i| path_at + i);
                let path = if v.starts_with('/') {
                    v
                } else {
                    format!("/{v}")
                };
                url.replace_range(path_at..query_at, &path);
            }
            Target::StatusCode => {}
        }
    }
}

/// Applies the `responseParameters` of the backend's status to the answer.
pub fn apply_response(
    cx: &Context,
    mapping: &HttpMapping,
    status: &mut http::StatusCode,
    headers: &mut HeaderMap,
) {
    let Some((_, maps)) = mapping
        .responses
        .iter()
        .find(|(s, _)| *s == status.as_u16())
    else {
        return;
    };
    let backend = headers.clone();
    for m in maps.iter() {
        let v = value(cx, m.value, Some(&backend));
        match m.target {
            Target::Header(n) => header_op(headers, m.op, n, v),
            Target::StatusCode => {
                if let Ok(s) = v.trim().parse::<u16>() {
                    if let Ok(s) = http::StatusCode::from_u16(s) {
                        *status = s;
                    }
                }
            }
            Target::Query(_) | Target::Path => {}
        }
    }
}
