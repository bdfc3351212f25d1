//! Calls to HTTP backends (through the pool in `pool`): `http_proxy` forwarding with API
//! Gateway's header rules, and buffered calls for non-proxy `http` integrations.

pub mod http_mapping;
pub mod pool;

use std::time::Duration;

use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Method};
use http_body_util::BodyExt;

use crate::context::Context;
use crate::responses::ResponseType;
use crate::state::Runtime;
use crate::{Body, Request, Response};

pub use pool::{client, Buffered, Client};

/// Request headers API Gateway does not forward (hop-by-hop and a few of its own); names
/// made once, so that removing them hashes no string.
const DROP_REQUEST: [HeaderName; 15] = [
    http::header::CONNECTION,
    http::header::CONTENT_LENGTH,
    HeaderName::from_static("content-md5"),
    http::header::EXPECT,
    http::header::HOST,
    HeaderName::from_static("keep-alive"),
    http::header::MAX_FORWARDS,
    http::header::PROXY_AUTHENTICATE,
    HeaderName::from_static("proxy-connection"),
    http::header::SERVER,
    http::header::TE,
    http::header::TRAILER,
    http::header::TRANSFER_ENCODING,
    http::header::UPGRADE,
    http::header::WWW_AUTHENTICATE,
];

use pool::REMAP_RESPONSE;

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
const X_AMZN_TRACE_ID: HeaderName = HeaderName::from_static("x-amzn-trace-id");
const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");

/// Why a backend call failed.
#[derive(Debug)]
pub enum Failure {
    /// No response within the integration timeout.
    Timeout,
    /// Connection refused, reset, DNS, TLS…
    Network(String),
    /// The backend's response body broke off (reset, truncated) or was over the limit.
    Body(String),
    /// The client's request body failed while it was being forwarded.
    Client(crate::body::ClientBodyError),
}

impl Failure {
    /// The gateway response API Gateway gives for it.
    pub fn respond(&self, rt: &Runtime, cx: &mut Context) -> Response {
        match self {
            Failure::Timeout => rt.gateway_response(cx, ResponseType::IntegrationTimeout),
            // [ls] LocalStack's message for an unreachable HTTP backend; AWS's default status
            // for INTEGRATION_FAILURE is 504.
            Failure::Network(_) => rt.gateway_response_with(
                cx,
                ResponseType::IntegrationFailure,
                "Network error communicating with endpoint".to_string(),
            ),
            // A response API Gateway cannot use: 502 `Internal server error`, as for a
            // malformed Lambda proxy response (unverified for HTTP backends on AWS).
            Failure::Body(_) => crate::responses::bad_gateway(),
            Failure::Client(c) => c.response(),
        }
    }
}

/// The most an integration response may hold (API Gateway's 10 MB payload limit).
const MAX_RESPONSE: usize = 10 * 1024 * 1024;

/// Sends `req` and buffers the whole response, all within `timeout_ms`, as API Gateway does
/// for every non-streaming integration: a backend that sends its headers and then stalls is
/// a timeout, one that resets or truncates its body is a failure, never a truncated 200.
/// When the request body fails because of the client (broken framing, over the limit,
/// stalled), that is the client's error, not the backend's.
/// `remap`: a proxy integration's response, whose headers API Gateway renames
/// ([`REMAP_RESPONSE`]; renamed as the head is parsed on the worker's own pool).
async fn exchange(
    rt: &Runtime,
    req: http::Request<Body>,
    timeout_ms: u64,
    remap: bool,
) -> Result<Buffered, Failure> {
    fn failure(e: &(dyn std::error::Error + 'static)) -> Failure {
        match crate::body::client_fault(e) {
            Some(c) => Failure::Client(c),
            None => Failure::Network(e.to_string()),
        }
    }
    let exchange = async {
        // Plain HTTP/1 to an IP address: the worker's own pool; anything else: the client.
        if let Some(addr) = pool::Local::eligible(&req) {
            return rt
                .local_pool
                .exchange(addr, req, MAX_RESPONSE, remap)
                .await
                .map_err(|e| match e {
                    pool::LocalError::Send(e) => failure(&*e),
                    pool::LocalError::Body(e) => Failure::Body(e),
                });
        }
        let resp = rt.client.request(req).await.map_err(|e| failure(&e))?;
        let (parts, body) = resp.into_parts();
        let body = http_body_util::Limited::new(body, MAX_RESPONSE)
            .collect()
            .await
            .map_err(|e| Failure::Body(e.to_string()))?
            .to_bytes();
        let mut headers = parts.headers;
        if remap {
            remap_response_headers(&mut headers);
        }
        Ok(Buffered {
            status: parts.status.as_u16(),
            headers,
            body,
        })
    };
    use std::sync::atomic::Ordering;
    pool::IN_FLIGHT.fetch_add(1, Ordering::Relaxed);
    let r = match tokio::time::timeout(Duration::from_millis(timeout_ms), exchange).await {
        Err(_) => Err(Failure::Timeout),
        Ok(r) => r,
    };
    pool::IN_FLIGHT.fetch_sub(1, Ordering::Relaxed);
    match &r {
        Err(Failure::Timeout) => {
            pool::TIMEOUTS.fetch_add(1, Ordering::Relaxed);
        }
        Err(Failure::Network(_) | Failure::Body(_)) => {
            pool::FAILURES.fetch_add(1, Ordering::Relaxed);
        }
        _ => {}
    }
    r
}

/// Sends a prepared request and buffers the answer within `timeout_ms` (AWS-service calls).
pub async fn send(
    rt: &Runtime,
    req: http::Request<Body>,
    timeout_ms: u64,
) -> Result<Buffered, Failure> {
    exchange(rt, req, timeout_ms, false).await
}

/// [`send`], with the failure as text (calls made for the gateway itself, like STS).
pub async fn send_buffered(
    rt: &Runtime,
    req: http::Request<Body>,
    timeout_ms: u64,
) -> Result<Buffered, String> {
    exchange(rt, req, timeout_ms, false)
        .await
        .map_err(|f| match f {
            Failure::Timeout => "timed out".to_string(),
            Failure::Network(e) | Failure::Body(e) => e,
            Failure::Client(_) => "the request body failed".to_string(),
        })
}

/// Sets query parameter `name` in a backend URL: earlier values of it are removed
/// (`requestOverride.querystring.*`).
pub fn set_query_param(url: &mut String, name: &str, value: &str) {
    remove_query_param(url, name);
    add_query_param(url, name, value);
}

/// Removes every value of query parameter `name` from a backend URL.
pub fn remove_query_param(url: &mut String, name: &str) {
    if let Some(q) = url.find('?') {
        let kept: Vec<String> = url[q + 1..]
            .split('&')
            .filter(|kv| {
                let k = kv.split_once('=').map_or(*kv, |(k, _)| k);
                !kv.is_empty() && crate::path::decode_query(k) != name
            })
            .map(str::to_string)
            .collect();
        url.truncate(q);
        if !kept.is_empty() {
            url.push('?');
            url.push_str(&kept.join("&"));
        }
    }
}

/// Appends the client's query string to a backend URL (`http_proxy` forwards it as is).
pub fn append_query(url: &mut String, query: Option<&str>) {
    if let Some(q) = query.filter(|q| !q.is_empty()) {
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(q);
    }
}

/// Appends a request path (already percent-encoded as received) to a backend URL, with one
/// slash between them.
pub fn append_path(url: &mut String, path: &str) {
    while url.ends_with('/') {
        url.pop();
    }
    if !path.starts_with('/') {
        url.push('/');
    }
    url.push_str(path);
}

/// Adds `name=value` to a backend URL's query string.
pub fn add_query_param(url: &mut String, name: &str, value: &str) {
    url.push(if url.contains('?') { '&' } else { '?' });
    url.push_str(&crate::path::encode_query(name));
    url.push('=');
    url.push_str(&crate::path::encode_query(value));
}

/// `http_proxy`: forwards the request (method, headers, streamed body) to `url` and the
/// response back, with API Gateway's header rules. `method` `None` keeps the client's.
/// `headers` are mapped request headers (set, replacing the client's).
// The generated handler's pieces of the backend request, passed as they are.
#[allow(clippy::too_many_arguments)]
pub async fn http_proxy(
    rt: &Runtime,
    cx: &mut Context,
    req: Request,
    url: String,
    method: Option<Method>,
    headers: Vec<(std::borrow::Cow<'static, str>, String)>,
    timeout_ms: u64,
    mapping: Option<&'static http_mapping::HttpMapping>,
) -> Response {
    let mut url = url;
    let (mut parts, body) = req.into_parts();
    // Forward the client's headers in place (no copy), minus the ones API Gateway drops.
    let h = &mut parts.headers;
    drop_request_headers(h);
    forwarded_for(h, cx);
    trace_header(h, cx);
    for (name, value) in headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            h.insert(n, v);
        }
    }
    if let Some(m) = mapping {
        http_mapping::apply_request(cx, m.request, &mut url, h);
    }
    // The URL came from the spec and request values: an unusable URL is the API's fault.
    let Ok(uri) = url.parse::<http::Uri>() else {
        return rt.gateway_response(cx, ResponseType::ApiConfigurationError);
    };
    let mut upstream_req = http::Request::new(body);
    *upstream_req.method_mut() = method.unwrap_or(parts.method);
    *upstream_req.uri_mut() = uri;
    *upstream_req.headers_mut() = parts.headers;
    log_request(cx, upstream_req.uri(), upstream_req.headers());
    let started = std::time::Instant::now();
    // The exchange's future (2 KB) is written into an allocation of its own: held inline,
    // it made every enclosing future (this one, the route's, the handler's) that much
    // larger, and each of them is copied once into its parent.
    let exchanging: Box<_> = Box::write(
        Box::new_uninit(),
        exchange(rt, upstream_req, timeout_ms, true),
    );
    let exchanged = Box::into_pin(exchanging).await;
    cx.integration_done(started, exchanged.as_ref().ok().map(|r| r.status));
    log_response(cx, &exchanged, true);
    let resp = match exchanged {
        Ok(r) => r,
        Err(f) => return f.respond(rt, cx),
    };
    let mut out = http::Response::new(crate::full(resp.body));
    *out.status_mut() =
        http::StatusCode::from_u16(resp.status).unwrap_or(http::StatusCode::BAD_GATEWAY);
    *out.headers_mut() = resp.headers;
    if let Some(m) = mapping {
        let (mut parts, body) = out.into_parts();
        http_mapping::apply_response(cx, m, &mut parts.status, &mut parts.headers);
        out = http::Response::from_parts(parts, body);
    }
    out
}

/// Sends a request through a VPC link: the backend URL's address becomes the link's private
/// target (`--vpc-link ID=HOST:PORT`), and the URL's own host goes as the `Host` header, as
/// API Gateway sends it. A link without a target (one named by a stage variable) is the
/// API's configuration error (500), logged with the id: the answer is returned.
pub fn via_vpc_link(
    rt: &Runtime,
    cx: &mut Context,
    id: &str,
    url: &mut String,
    headers: &mut Vec<(std::borrow::Cow<'static, str>, String)>,
) -> Option<Response> {
    let Some((_, target)) = rt.config.vpc_links.iter().find(|(k, _)| k == id) else {
        crate::warn!(
            "specgate: {}: no --vpc-link target for VPC link `{id}`; answering 500",
            cx.request_id
        );
        return Some(rt.gateway_response(cx, ResponseType::ApiConfigurationError));
    };
    let Some(scheme_end) = url.find("://") else {
        return Some(rt.gateway_response(cx, ResponseType::ApiConfigurationError));
    };
    let start = scheme_end + 3;
    let end = url[start..]
        .find(['/', '?'])
        .map_or(url.len(), |i| start + i);
    let host = url[start..end].to_string();
    url.replace_range(start..end, target);
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        headers.push((std::borrow::Cow::Borrowed("host"), host));
    }
    None
}

fn forwarded_for(h: &mut HeaderMap, cx: &Context) {
    // The earlier hops, then the peer's address, written into one buffer.
    let mut value = String::with_capacity(48);
    if let Some(prev) = h.get(&X_FORWARDED_FOR).and_then(|v| v.to_str().ok()) {
        value.push_str(prev);
        value.push_str(", ");
    }
    push_ip(&mut value, cx.peer.ip());
    if let Ok(v) = HeaderValue::try_from(value) {
        h.insert(X_FORWARDED_FOR, v);
    }
}

/// Appends `ip` as text; IPv4 without the formatting machinery (every proxied request
/// writes one).
fn push_ip(out: &mut String, ip: std::net::IpAddr) {
    match ip {
        std::net::IpAddr::V4(v4) => {
            let mut digits = itoa::Buffer::new();
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    out.push('.');
                }
                out.push_str(digits.format(octet));
            }
        }
        std::net::IpAddr::V6(v6) => {
            use std::fmt::Write as _;
            let _ = write!(out, "{v6}");
        }
    }
}

/// Removes the [`DROP_REQUEST`] headers: one pass over the fields finds which are there
/// (usually `Host` alone), and only those are removed (each removal hashes the name).
fn drop_request_headers(h: &mut HeaderMap) {
    let present = present_in(h, &DROP_REQUEST);
    for (i, name) in DROP_REQUEST.iter().enumerate() {
        if present & (1 << i) != 0 {
            h.remove(name);
        }
    }
}

/// A bit for each of `names` (at most 32) found among `h`'s fields.
fn present_in(h: &HeaderMap, names: &[HeaderName]) -> u32 {
    let mut present = 0u32;
    for key in h.keys() {
        if let Some(i) = names.iter().position(|n| n == key) {
            present |= 1 << i;
        }
    }
    present
}

/// The renaming the worker's pool does as it parses (`pool::kept_as`), for a response that
/// came through the general client.
fn remap_response_headers(h: &mut HeaderMap) {
    let mut renamed = HeaderMap::with_capacity(h.len());
    // `into_iter` names a field once, then gives its further values without a name.
    let mut name = None;
    for (k, v) in std::mem::take(h) {
        if let Some(k) = k {
            name = pool::kept_as(k, true);
        }
        if let Some(n) = &name {
            renamed.append(n.clone(), v);
        }
    }
    *h = renamed;
}

/// Non-proxy `http`: sends exactly the mapped request and buffers the response.
pub async fn http_call(
    rt: &Runtime,
    cx: &mut Context,
    method: Method,
    url: String,
    headers: Vec<(std::borrow::Cow<'static, str>, String)>,
    body: Body,
    timeout_ms: u64,
) -> Result<Buffered, Response> {
    let mut b = http::Request::builder().method(method).uri(url.as_str());
    if let Some(h) = b.headers_mut() {
        for (name, value) in headers {
            if let (Ok(n), Ok(v)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(&value),
            ) {
                h.insert(n, v);
            }
        }
    }
    if let Some(h) = b.headers_mut() {
        trace_header(h, cx);
    }
    let req = b
        .body(body)
        .map_err(|_| rt.gateway_response(cx, ResponseType::ApiConfigurationError))?;
    log_request(cx, req.uri(), req.headers());
    let started = std::time::Instant::now();
    let exchanged = exchange(rt, req, timeout_ms, false).await;
    cx.integration_done(started, exchanged.as_ref().ok().map(|r| r.status));
    log_response(cx, &exchanged, false);
    exchanged.map_err(|f| f.respond(rt, cx))
}

/// The execution log's view of an integration request.
fn log_request(cx: &mut Context, uri: &http::Uri, headers: &HeaderMap) {
    cx.exec_info(|| format!("Endpoint request URI: {uri}"));
    cx.exec_info(|| {
        format!(
            "Endpoint request headers: {}",
            crate::exec_log::headers(headers)
        )
    });
    cx.exec_info(|| format!("Sending request to {uri}"));
}

/// The execution log's view of an integration response, or of why there is none.
/// `remapped`: the headers were renamed as they were read ([`REMAP_RESPONSE`]); the log
/// shows them under the names the endpoint sent, as API Gateway's does.
fn log_response(cx: &mut Context, exchanged: &Result<Buffered, Failure>, remapped: bool) {
    match exchanged {
        Ok(r) => {
            let ms = cx.integration_ms.unwrap_or(0.0).round() as u64;
            cx.exec_info(|| {
                format!(
                    "Received response. Status: {}, Integration latency: {ms} ms",
                    r.status
                )
            });
            cx.exec_info(|| {
                let sent;
                let shown = if remapped {
                    sent = r
                        .headers
                        .iter()
                        .map(|(k, v)| {
                            let k = REMAP_RESPONSE
                                .into_iter()
                                .find(|(_, to)| to == k)
                                .map_or_else(|| k.clone(), |(from, _)| from);
                            (k, v.clone())
                        })
                        .collect::<HeaderMap>();
                    &sent
                } else {
                    &r.headers
                };
                format!(
                    "Endpoint response headers: {}",
                    crate::exec_log::headers(shown)
                )
            });
            cx.exec_body("Endpoint response body before transformations", &r.body);
        }
        Err(Failure::Timeout) => cx.exec_error(|| "Execution failed due to a timeout error".into()),
        Err(Failure::Network(e)) => {
            cx.exec_error(|| format!("Execution failed due to configuration error: {e}"))
        }
        Err(Failure::Body(e)) => {
            cx.exec_error(|| format!("Execution failed: the endpoint's response broke off: {e}"))
        }
        Err(Failure::Client(_)) => {
            cx.exec_error(|| "Execution failed: the client's request body broke off".into())
        }
    }
}

/// The X-Ray trace header goes to the backend (the client's, or the one started here), and
/// when spans are exported the W3C `traceparent` naming the integration's span.
fn trace_header(h: &mut HeaderMap, cx: &mut Context) {
    if let Some(t) = &mut cx.trace {
        if let Ok(v) = HeaderValue::from_str(&t.call_header()) {
            h.insert(TRACEPARENT, v);
        }
    }
    if h.contains_key(&X_AMZN_TRACE_ID) {
        return;
    }
    // None came with the request (the header is forwarded as it came, so `h` has it when
    // the request did): one built for this request moves into the header without a copy.
    let id = match cx.trace {
        Some(_) => cx.trace_id().map(std::borrow::Cow::into_owned),
        None => Some(cx.new_trace_id()),
    };
    if let Some(v) = id.and_then(|t| HeaderValue::try_from(t).ok()) {
        h.insert(X_AMZN_TRACE_ID, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ips_are_written_as_display_writes_them() {
        for ip in [
            "0.0.0.0",
            "127.0.0.1",
            "10.200.3.255",
            "::1",
            "2001:db8::8a2e:370:7334",
        ] {
            let ip: std::net::IpAddr = ip.parse().unwrap();
            let mut out = String::from("x, ");
            push_ip(&mut out, ip);
            assert_eq!(out, format!("x, {ip}"));
        }
    }

    fn map(fields: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for &(n, v) in fields {
            h.append(HeaderName::from_static(n), HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn dropped_and_remapped_headers() {
        let mut h = map(&[
            ("host", "a"),
            ("content-md5", "b"),
            ("x-keep", "c"),
            ("proxy-connection", "d"),
        ]);
        drop_request_headers(&mut h);
        assert_eq!(h.keys().map(|k| k.as_str()).collect::<Vec<_>>(), ["x-keep"]);

        let mut h = map(&[
            ("server", "nginx"),
            ("date", "today"),
            ("date", "again"),
            ("transfer-encoding", "chunked"),
            ("x-keep", "c"),
        ]);
        remap_response_headers(&mut h);
        let mut got: Vec<_> = h
            .iter()
            .map(|(k, v)| format!("{k}: {}", v.to_str().unwrap()))
            .collect();
        got.sort();
        assert_eq!(
            got,
            [
                "x-amzn-remapped-date: again",
                "x-amzn-remapped-date: today",
                "x-amzn-remapped-server: nginx",
                "x-keep: c"
            ]
        );
    }
}
