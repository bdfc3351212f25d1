//! Calls to HTTP backends (through the pool in `pool`): `http_proxy` forwarding with API
//! Gateway's header rules, and buffered calls for non-proxy `http` integrations.

pub mod http_mapping;
pub mod pool;

use std::time::Duration;

use http::header::{HeaderName, HeaderValue, HOST};
use http::{HeaderMap, Method};
use http_body_util::BodyExt;

use crate::context::Context;
use crate::framing::FieldName;
use crate::responses::ResponseType;
use crate::state::Runtime;
use crate::{Body, Request, Response};

pub use pool::{client, Buffered, Client};

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

/// For the pool's exchange future, which gives its error as the caller's type.
impl From<pool::LocalError> for Failure {
    fn from(e: pool::LocalError) -> Failure {
        Failure::local(e)
    }
}

impl Failure {
    /// A failure of the request's sending: the client's when its body failed.
    fn of(e: &(dyn std::error::Error + 'static)) -> Failure {
        match crate::body::client_fault(e) {
            Some(c) => Failure::Client(c),
            None => Failure::Network(e.to_string()),
        }
    }

    /// A failure of the worker's pool.
    fn local(e: pool::LocalError) -> Failure {
        match e {
            pool::LocalError::Send(e) => Failure::of(&*e),
            pool::LocalError::Body(e) => Failure::Body(e),
            pool::LocalError::Timeout => Failure::Timeout,
        }
    }

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
/// `fields`: `Remapped` for a proxy integration's response, whose headers API Gateway
/// renames ([`REMAP_RESPONSE`]; renamed as the head is parsed on the worker's own pool).
fn exchange(
    rt: &Runtime,
    req: http::Request<Body>,
    timeout_ms: u64,
    fields: pool::Fields,
) -> impl std::future::Future<Output = Result<Buffered, Failure>> + '_ {
    counted(exchanging(
        rt,
        req,
        fields,
        deadline(std::time::Instant::now(), timeout_ms),
    ))
}

/// The deadline of an exchange started at `started` (the caller's own clock reading: a
/// second reading cost a clock call per request). At most 49 days ahead, which cannot
/// overflow.
fn deadline(started: std::time::Instant, timeout_ms: u64) -> tokio::time::Instant {
    let limit = Duration::from_millis(timeout_ms.min(u64::from(u32::MAX)));
    tokio::time::Instant::from_std(started) + limit
}

/// A backend exchange in flight, in an allocation of its own (a kilobyte: moved whole into
/// each wrapper it was held in, it was copied once per wrapper).
type Exchanging<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Buffered, Failure>> + Send + 'a>>;

/// [`exchange`], not yet counted, failing with [`Failure::Timeout`] at `deadline`: on the
/// worker's pool, by the connection's own timer; on the client, by a timer of its own.
fn exchanging(
    rt: &Runtime,
    req: http::Request<Body>,
    fields: pool::Fields,
    deadline: tokio::time::Instant,
) -> Exchanging<'_> {
    crate::boxed(async move {
        // Plain HTTP/1 to an IP address: the worker's own pool; anything else: the client.
        if let Some(addr) = pool::Local::eligible(&req) {
            return rt
                .local_pool
                .exchange(addr, req, MAX_RESPONSE, fields, deadline)
                .await
                .map_err(Failure::local);
        }
        let buffered = async {
            let resp = rt.client.request(req).await.map_err(|e| Failure::of(&e))?;
            let (parts, body) = resp.into_parts();
            let body = http_body_util::Limited::new(body, MAX_RESPONSE)
                .collect()
                .await
                .map_err(|e| Failure::Body(e.to_string()))?
                .to_bytes();
            let mut headers = parts.headers;
            if fields != pool::Fields::AsSent {
                remap_response_headers(&mut headers);
            }
            Ok(Buffered::new(parts.status.as_u16(), headers, body))
        };
        tokio::time::timeout_at(deadline, buffered)
            .await
            .unwrap_or(Err(Failure::Timeout))
    })
}

/// Runs a backend exchange, counted in the metrics (in flight, timed out, failed). Not an
/// `async fn`: that would hold `exchange` twice in its state, once unstarted and once
/// running. The exchange comes boxed: the wrapper stays small, cheap to move.
fn counted(
    exchange: Exchanging<'_>,
) -> impl std::future::Future<Output = Result<Buffered, Failure>> + '_ {
    use futures_util::FutureExt;
    let in_flight = InFlight::start();
    exchange.map(move |r| {
        in_flight.end(&r);
        r
    })
}

/// A backend exchange in flight, counted until it ends or is dropped (a client that went
/// away takes its request's exchange with it).
struct InFlight;

impl InFlight {
    fn start() -> InFlight {
        pool::IN_FLIGHT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        InFlight
    }

    /// The exchange ended with `r`: no longer in flight, and counted if it timed out or
    /// failed.
    fn end(self, r: &Result<Buffered, Failure>) {
        drop(self);
        let counter = match r {
            Err(Failure::Timeout) => Some(&pool::TIMEOUTS),
            Err(Failure::Network(_) | Failure::Body(_)) => Some(&pool::FAILURES),
            _ => None,
        };
        if let Some(c) = counter {
            c.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        pool::IN_FLIGHT.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Sends a prepared request and buffers the answer within `timeout_ms` (AWS-service calls).
pub async fn send(
    rt: &Runtime,
    req: http::Request<Body>,
    timeout_ms: u64,
) -> Result<Buffered, Failure> {
    exchange(rt, req, timeout_ms, pool::Fields::AsSent).await
}

/// [`send`], with the failure as text (calls made for the gateway itself, like STS).
pub async fn send_buffered(
    rt: &Runtime,
    req: http::Request<Body>,
    timeout_ms: u64,
) -> Result<Buffered, String> {
    exchange(rt, req, timeout_ms, pool::Fields::AsSent)
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
///
/// The backend request is made when this is called; the future returned waits for the
/// answer. Not an `async fn`: one keeps its arguments (the request, the URL, the mapped
/// headers) for its whole life, and this one's future, inline in the route's, made that
/// larger than mimalloc's small-object size (1 KiB), allocated on the slow path per request.
// The generated handler's pieces of the backend request, passed as they are.
#[allow(clippy::too_many_arguments)]
pub fn http_proxy<'a>(
    rt: &'a Runtime,
    cx: &'a mut Context,
    req: Request,
    url: String,
    method: Option<Method>,
    headers: Vec<(std::borrow::Cow<'static, str>, String)>,
    timeout_ms: u64,
    mapping: Option<&'static http_mapping::HttpMapping>,
) -> impl std::future::Future<Output = Response> + Send + 'a {
    let sent = send_proxied(rt, cx, req, url, method, headers, timeout_ms, mapping);
    async move {
        let (exchanging, started) = match sent {
            Ok(sent) => sent,
            Err(resp) => return *resp,
        };
        proxied(rt, cx, exchanging, started, mapping).await
    }
}

/// `http_proxy`'s backend request, made: the exchange under way and when it started, or
/// the answer when the request cannot be made (boxed: it is rare, and the future holds
/// this result).
#[allow(clippy::too_many_arguments)]
fn send_proxied<'a>(
    rt: &'a Runtime,
    cx: &mut Context,
    req: Request,
    url: String,
    method: Option<Method>,
    headers: Vec<(std::borrow::Cow<'static, str>, String)>,
    timeout_ms: u64,
    mapping: Option<&'static http_mapping::HttpMapping>,
) -> Result<(Exchanging<'a>, std::time::Instant), Box<Response>> {
    let (parts, body) = req.into_parts();
    let method = method.unwrap_or(parts.method);
    let mapped = Mapped::new(&headers);
    let started;
    // The exchange's future (a kilobyte) is written into an allocation of its own: held
    // inline, it made every enclosing future (this one, the route's, the handler's) that
    // much larger, and each of them is copied once into its parent.
    let exchanging: Exchanging<'_>;
    match pool::Local::direct(&url).filter(|_| mapping.is_none() && cx.exec.is_none()) {
        // Plain HTTP to an IP address with nothing to map or log: the head is written from
        // the context's fields straight into the bytes sent (no header map, no URI).
        Some((addr, authority, target)) => {
            let mut head = crate::framing::head_buf(256 + cx.headers.count() * 48);
            for piece in [method.as_str(), " ", target, " HTTP/1.1\r\n"] {
                head.extend_from_slice(piece.as_bytes());
            }
            if !mapped.has(&http::header::HOST) {
                pool::push_field(
                    &mut head,
                    FieldName::Renamed(&HOST),
                    &[authority.as_bytes()],
                );
            }
            proxy_fields(cx, &mapped, |name, value| {
                pool::push_field(&mut head, name, value)
            });
            started = std::time::Instant::now();
            let sent = rt.local_pool.exchange_head(
                addr,
                head,
                method,
                body,
                MAX_RESPONSE,
                pool::Fields::Raw,
                deadline(started, timeout_ms),
            );
            exchanging = crate::boxed(sent);
        }
        None => {
            let mut url = url;
            let mut h = HeaderMap::with_capacity(cx.headers.count() + 3);
            proxy_fields(cx, &mapped, |name, value| {
                if let (Ok(n), Ok(v)) = (
                    HeaderName::from_bytes(name.as_bytes()),
                    HeaderValue::from_maybe_shared(bytes::Bytes::from(value.concat())),
                ) {
                    h.append(n, v);
                }
            });
            if let Some(m) = mapping {
                http_mapping::apply_request(cx, m.request, &mut url, &mut h);
            }
            // The URL came from the spec and request values: an unusable URL is the API's
            // fault.
            let Ok(uri) = url.parse::<http::Uri>() else {
                return Err(Box::new(
                    rt.gateway_response(cx, ResponseType::ApiConfigurationError),
                ));
            };
            let mut upstream_req = http::Request::new(body);
            *upstream_req.method_mut() = method;
            *upstream_req.uri_mut() = uri;
            *upstream_req.headers_mut() = h;
            log_request(cx, upstream_req.uri(), upstream_req.headers());
            started = std::time::Instant::now();
            exchanging = self::exchanging(
                rt,
                upstream_req,
                pool::Fields::Remapped,
                deadline(started, timeout_ms),
            );
        }
    }
    Ok((exchanging, started))
}

/// `http_proxy`'s answer: the backend's, as API Gateway passes it on.
async fn proxied(
    rt: &Runtime,
    cx: &mut Context,
    exchanging: Exchanging<'_>,
    started: std::time::Instant,
    mapping: Option<&'static http_mapping::HttpMapping>,
) -> Response {
    // Counted as `counted` does, without its layer: the answer comes straight out of the
    // boxed exchange (a `map` around it was one more move of it).
    let in_flight = InFlight::start();
    let exchanged = exchanging.await;
    in_flight.end(&exchanged);
    cx.integration_done(started, exchanged.as_ref().ok().map(|r| r.status));
    log_response(cx, &exchanged, true);
    let resp = match exchanged {
        Ok(r) => r,
        Err(f) => return f.respond(rt, cx),
    };
    let mut body = crate::full(resp.body);
    if let Some(raw) = resp.raw {
        // Passed on as they came (renamed as API Gateway does); see `framing::RawFields`.
        body = body.with_raw_fields(raw);
    }
    let mut out = http::Response::new(body);
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

/// A route's mapped request headers (`requestParameters`), each of which replaces the
/// client's field of its name: the valid ones, the last of each name.
struct Mapped<'a> {
    fields: Vec<(HeaderName, &'a str)>,
}

impl<'a> Mapped<'a> {
    fn new(headers: &'a [(std::borrow::Cow<'static, str>, String)]) -> Self {
        let mut fields: Vec<(HeaderName, &str)> = Vec::new();
        for (name, value) in headers {
            let Ok(name) = HeaderName::from_bytes(name.as_bytes()) else {
                continue;
            };
            if HeaderValue::from_str(value).is_err() {
                continue;
            }
            fields.retain(|(n, _)| *n != name);
            fields.push((name, value));
        }
        Mapped { fields }
    }

    fn has(&self, name: &HeaderName) -> bool {
        self.fields.iter().any(|(n, _)| n == name)
    }

    /// [`Mapped::has`] for a name as a client sent it (any case).
    fn has_sent(&self, name: &[u8]) -> bool {
        self.fields
            .iter()
            .any(|(n, _)| n.as_str().as_bytes().eq_ignore_ascii_case(name))
    }
}

/// What `http_proxy` does with a client's field.
#[derive(Debug, PartialEq)]
enum Sent {
    /// Forwarded as it came.
    Kept,
    /// One of the fields API Gateway drops from a proxied request (hop-by-hop, framing,
    /// `Host`, and a few more).
    Dropped,
    /// `X-Forwarded-For`: the peer is appended.
    Forwarded,
    /// `X-Amzn-Trace-Id`: kept, and none is started.
    TraceId,
    /// `traceparent`: replaced when spans are exported.
    Traceparent,
}

impl Sent {
    /// The fate of a field named `name` (any case). Dispatched on the length first: most
    /// names are compared with nothing, and none is hashed or parsed.
    fn of(name: &[u8]) -> Sent {
        let is = |n: &[u8]| name.eq_ignore_ascii_case(n);
        let dropped = match name.len() {
            2 => is(b"te"),
            4 => is(b"host"),
            6 => is(b"expect") || is(b"server"),
            7 => is(b"trailer") || is(b"upgrade"),
            10 => is(b"connection") || is(b"keep-alive"),
            11 if is(b"traceparent") => return Sent::Traceparent,
            11 => is(b"content-md5"),
            12 => is(b"max-forwards"),
            14 => is(b"content-length"),
            15 if is(b"x-forwarded-for") => return Sent::Forwarded,
            15 if is(b"x-amzn-trace-id") => return Sent::TraceId,
            16 => is(b"proxy-connection") || is(b"www-authenticate"),
            17 => is(b"transfer-encoding"),
            18 => is(b"proxy-authenticate"),
            _ => false,
        };
        if dropped {
            Sent::Dropped
        } else {
            Sent::Kept
        }
    }
}

/// The fields `http_proxy` sends, in order, each as a name (any case: the writer lowers
/// it) and its value in pieces: the client's (minus the ones API Gateway drops and the
/// ones replaced below), `X-Forwarded-For` with the peer appended, the trace headers, the
/// mapped headers.
fn proxy_fields(
    cx: &mut Context,
    mapped: &Mapped<'_>,
    mut field: impl FnMut(FieldName<'_>, &[&[u8]]),
) {
    let traceparent = cx
        .trace
        .as_mut()
        .map(|t| t.call_header())
        .filter(|_| !mapped.has(&TRACEPARENT));
    let cx = &*cx;
    // Read on the way through the client's fields (a lookup each, otherwise).
    let mut has_id = mapped.has(&X_AMZN_TRACE_ID);
    let mut forwarded = None;
    for (name, value) in cx.headers.fields() {
        let replaced = match Sent::of(name) {
            Sent::Kept => false,
            Sent::Dropped => true,
            Sent::Forwarded => {
                // The first one, as a header map's `get` gives.
                forwarded.get_or_insert(value);
                continue;
            }
            // One that came with the request is forwarded as it came.
            Sent::TraceId => {
                has_id = true;
                false
            }
            Sent::Traceparent => traceparent.is_some(),
        };
        if !replaced && !mapped.has_sent(name) {
            field(FieldName::Sent(name), &[value]);
        }
    }
    if !mapped.has(&X_FORWARDED_FOR) {
        // The earlier hops, then the peer.
        let mut ip = [0u8; 46];
        let ip = crate::context::ip_text(cx.peer.ip(), &mut ip);
        match forwarded {
            Some(prev) => field(FieldName::Renamed(&X_FORWARDED_FOR), &[prev, b", ", ip]),
            None => field(FieldName::Renamed(&X_FORWARDED_FOR), &[ip]),
        }
    }
    if let Some(t) = &traceparent {
        field(FieldName::Renamed(&TRACEPARENT), &[t.as_bytes()]);
    }
    backend_trace_id(cx, has_id, |t| {
        field(FieldName::Renamed(&X_AMZN_TRACE_ID), &[t])
    });
    for (name, value) in &mapped.fields {
        field(FieldName::Renamed(name), &[value.as_bytes()]);
    }
}

/// The `X-Amzn-Trace-Id` a backend request carries, unless it has one already (`has_id`):
/// the exported trace's id when spans are exported, else one started here.
fn backend_trace_id(cx: &Context, has_id: bool, f: impl FnOnce(&[u8])) {
    if has_id {
        return;
    }
    if cx.trace.is_some() {
        if let Some(t) = cx.trace_id() {
            f(t.as_bytes());
        }
    } else {
        let (t, n) = cx.new_trace_id_bytes();
        f(&t[..n]);
    }
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

/// The renaming the worker's pool does as it parses (`pool::kept_as`), for a response that
/// came through the general client.
fn remap_response_headers(h: &mut HeaderMap) {
    let mut renamed = HeaderMap::with_capacity(h.len());
    // `into_iter` names a field once, then gives its further values without a name.
    let mut name = None;
    for (k, v) in std::mem::take(h) {
        if let Some(k) = k {
            name = pool::kept_as(k);
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
    // Plain HTTP to an IP address with no execution log to show the request to: the head
    // is written straight into the bytes sent (no URI parsed, no header map hashed), as
    // `http_proxy` does.
    if let Some((addr, authority, target)) = pool::Local::direct(&url).filter(|_| cx.exec.is_none())
    {
        let head = direct_head(cx, &method, authority, target, &headers);
        let started = std::time::Instant::now();
        let sent = rt.local_pool.exchange_head(
            addr,
            head,
            method,
            body,
            MAX_RESPONSE,
            pool::Fields::AsSent,
            deadline(started, timeout_ms),
        );
        let exchanged = counted(crate::boxed(sent)).await;
        cx.integration_done(started, exchanged.as_ref().ok().map(|r| r.status));
        log_response(cx, &exchanged, false);
        return exchanged.map_err(|f| f.respond(rt, cx));
    }
    let mut b = http::Request::builder().method(method).uri(url.as_str());
    if let Some(h) = b.headers_mut() {
        *h = header_map(cx, headers);
    }
    let req = b
        .body(body)
        .map_err(|_| rt.gateway_response(cx, ResponseType::ApiConfigurationError))?;
    log_request(cx, req.uri(), req.headers());
    let started = std::time::Instant::now();
    let exchanged = exchange(rt, req, timeout_ms, pool::Fields::AsSent).await;
    cx.integration_done(started, exchanged.as_ref().ok().map(|r| r.status));
    log_response(cx, &exchanged, false);
    exchanged.map_err(|f| f.respond(rt, cx))
}

/// An `http` integration's request fields as a header map: each mapped header `insert`ed
/// (a name given again keeps its first place and takes the last value; a name or value
/// the map refuses is left out), then the trace headers.
fn header_map(
    cx: &mut Context,
    headers: Vec<(std::borrow::Cow<'static, str>, String)>,
) -> HeaderMap {
    let mut h = HeaderMap::with_capacity(headers.len() + 2);
    for (name, value) in headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            h.insert(n, v);
        }
    }
    let has_id = h.contains_key(&X_AMZN_TRACE_ID);
    let traceparent = cx.trace.as_mut().map(|t| t.call_header());
    if let Some(v) = traceparent.and_then(|v| HeaderValue::try_from(v).ok()) {
        h.insert(TRACEPARENT, v);
    }
    backend_trace_id(cx, has_id, |t| {
        if let Ok(v) = HeaderValue::from_bytes(t) {
            h.insert(X_AMZN_TRACE_ID, v);
        }
    });
    h
}

/// The head [`header_map`]'s fields make for `method target` (the bytes `pool` writes for
/// such a request: `Host` from `authority` unless a field names it, the framing fields
/// left to the pool), written without the map.
fn direct_head(
    cx: &mut Context,
    method: &Method,
    authority: &str,
    target: &str,
    headers: &[(std::borrow::Cow<'static, str>, String)],
) -> crate::framing::HeadBuf {
    // The map's rules: a name is a token (any case), a value has no control character but
    // tab; a name given again keeps its first place and takes the last value.
    fn insert<'a>(fields: &mut Vec<(&'a str, &'a [u8])>, name: &'a str, value: &'a [u8]) {
        // RFC 9110's `tchar`s.
        static TOKEN: [bool; 256] = {
            let mut t = [false; 256];
            let mut b = 0;
            while b < 128 {
                t[b] = (b as u8).is_ascii_alphanumeric();
                b += 1;
            }
            let extra = b"!#$%&'*+-.^_`|~";
            let mut i = 0;
            while i < extra.len() {
                t[extra[i] as usize] = true;
                i += 1;
            }
            t
        };
        let token = name.bytes().fold(true, |ok, b| ok & TOKEN[usize::from(b)]);
        if name.is_empty() || !token || !crate::framing::value_ok(value) {
            return;
        }
        match fields
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some(field) => field.1 = value,
            None => fields.push((name, value)),
        }
    }
    let mut fields: Vec<(&str, &[u8])> = Vec::with_capacity(headers.len() + 2);
    for (name, value) in headers {
        insert(&mut fields, name, value.as_bytes());
    }
    let has_id = fields
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("x-amzn-trace-id"));
    let traceparent = cx.trace.as_mut().map(|t| t.call_header());
    if let Some(v) = &traceparent {
        insert(&mut fields, "traceparent", v.as_bytes());
    }
    let mut trace_id: Option<Vec<u8>> = None;
    backend_trace_id(cx, has_id, |t| trace_id = Some(t.to_vec()));
    if let Some(t) = &trace_id {
        insert(&mut fields, "x-amzn-trace-id", t);
    }
    let mut head = crate::framing::head_buf(256 + fields.len() * 48);
    for piece in [method.as_str(), " ", target, " HTTP/1.1\r\n"] {
        head.extend_from_slice(piece.as_bytes());
    }
    if !fields.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        pool::push_field(
            &mut head,
            FieldName::Renamed(&http::header::HOST),
            &[authority.as_bytes()],
        );
    }
    for (name, value) in fields {
        let framing = ["content-length", "transfer-encoding", "connection"];
        if !framing.iter().any(|f| name.eq_ignore_ascii_case(f)) {
            pool::push_field(&mut head, FieldName::Sent(name.as_bytes()), &[value]);
        }
    }
    head
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
                                .iter()
                                .find(|(_, to)| to == k)
                                .map_or(k, |(from, _)| from)
                                .clone();
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
#[cfg(test)]
mod tests {
    use super::*;

    /// The head written without a header map is the one the general path's map makes, byte
    /// for byte: names in any case, given twice, refused (not tokens, values with control
    /// characters), `Host` given or not, framing fields given, the trace id given or not.
    #[test]
    fn direct_heads_are_the_header_maps_heads() {
        let (mut parts, _) = http::Request::builder()
            .uri("/orders?x=1")
            .body(())
            .unwrap()
            .into_parts();
        let mut cx = Context::for_tests(&mut parts);
        let h = |list: &[(&'static str, &str)]| -> Vec<(std::borrow::Cow<'static, str>, String)> {
            list.iter()
                .map(|(n, v)| (std::borrow::Cow::Borrowed(*n), v.to_string()))
                .collect()
        };
        for headers in [
            h(&[]),
            h(&[("Accept", "application/json"), ("X-Custom", "a b\tc")]),
            h(&[("x-a", "1"), ("X-B", "2"), ("X-A", "3")]),
            h(&[("Host", "api.example"), ("x-a", "1")]),
            h(&[
                ("bad name", "1"),
                ("x-ok", "bad\u{1}value"),
                ("", "empty"),
                ("x-utf8", "caf\u{e9}"),
            ]),
            h(&[
                ("Content-Length", "5"),
                ("Connection", "close"),
                ("Transfer-Encoding", "chunked"),
            ]),
            h(&[("X-Amzn-Trace-Id", "Root=1-mine"), ("traceparent", "00-x")]),
            h(&[("x-del", "\u{7f}"), ("x-tab", "\t")]),
            h(&[
                ("x(y", "1"),
                ("x-caf\u{e9}", "2"),
                ("x:y", "3"),
                ("X_Under~score!", "4"),
            ]),
        ] {
            for (method, url) in [
                (Method::GET, "http://127.0.0.1:8080/items/7"),
                (Method::POST, "http://10.0.0.1/orders?x=1&y=%20"),
            ] {
                let (_, authority, target) = pool::Local::direct(url).unwrap();
                let direct = direct_head(&mut cx, &method, authority, target, &headers);
                let mut req = http::Request::builder().method(method.clone()).uri(url);
                *req.headers_mut().unwrap() = header_map(&mut cx, headers.clone());
                let (general, _) = req.body(()).unwrap().into_parts();
                let general = pool::encode_request(&general);
                assert_eq!(
                    String::from_utf8_lossy(&direct),
                    String::from_utf8_lossy(&general),
                    "{headers:?}"
                );
            }
        }
    }

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
            let mut buf = [0u8; 46];
            assert_eq!(
                crate::context::ip_text(ip, &mut buf),
                ip.to_string().as_bytes()
            );
        }
    }

    fn map(fields: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for &(n, v) in fields {
            h.append(HeaderName::from_static(n), HeaderValue::from_static(v));
        }
        h
    }

    /// The fields `proxy_fields` gives for a request with `fields` from 10.1.2.3.
    fn sent(
        fields: &[(&'static str, &'static str)],
        mapped: &[(&'static str, &str)],
    ) -> Vec<String> {
        let mut parts = http::Request::new(()).into_parts().0;
        parts.headers = map(fields);
        let mut cx = Context::new(
            &mut parts,
            "10.1.2.3:5000".parse().unwrap(),
            "prod".into(),
            Default::default(),
        );
        cx.start_ms = 1_795_589_407_123;
        cx.request_id = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef".to_string();
        let mapped: Vec<_> = mapped
            .iter()
            .map(|&(n, v)| (std::borrow::Cow::Borrowed(n), v.to_string()))
            .collect();
        let write = |cx: &mut Context| {
            let mut out = Vec::new();
            proxy_fields(cx, &Mapped::new(&mapped), |name, value| {
                out.push(format!(
                    "{}: {}",
                    String::from_utf8(name.as_bytes().to_ascii_lowercase()).unwrap(),
                    String::from_utf8(value.concat()).unwrap()
                ))
            });
            out
        };
        let from_map = write(&mut cx);
        // The same fields as an HTTP/1 head brings them (names as sent, upper case here),
        // read where they arrived: the same fields go out.
        let mut head = b"GET / HTTP/1.1\r\n".to_vec();
        for (n, v) in fields {
            head.extend_from_slice(format!("{}: {v}\r\n", n.to_uppercase()).as_bytes());
        }
        head.extend_from_slice(b"\r\n");
        cx.headers = crate::headers::Headers::parse_for_tests(&head);
        assert_eq!(write(&mut cx), from_map);
        assert!(
            !cx.headers.is_built(),
            "the raw fields were read without a map"
        );
        from_map
    }

    #[test]
    fn dropped_names_are_told_apart_in_any_case() {
        for name in [
            "connection",
            "content-length",
            "content-md5",
            "expect",
            "host",
            "keep-alive",
            "max-forwards",
            "proxy-authenticate",
            "proxy-connection",
            "server",
            "te",
            "trailer",
            "transfer-encoding",
            "upgrade",
            "www-authenticate",
        ] {
            assert_eq!(Sent::of(name.as_bytes()), Sent::Dropped, "{name}");
            assert_eq!(Sent::of(name.to_uppercase().as_bytes()), Sent::Dropped);
        }
        for name in [
            "accept",
            "tf",
            "hosts",
            "x-forwarded-fox",
            "content-type",
            "",
        ] {
            assert_eq!(Sent::of(name.as_bytes()), Sent::Kept, "{name}");
        }
        assert_eq!(Sent::of(b"X-Forwarded-For"), Sent::Forwarded);
        assert_eq!(Sent::of(b"X-AMZN-TRACE-ID"), Sent::TraceId);
        assert_eq!(Sent::of(b"TraceParent"), Sent::Traceparent);
    }

    #[test]
    fn proxied_fields_drop_append_and_replace_as_api_gateway() {
        assert_eq!(
            sent(
                &[
                    ("host", "a"),
                    ("content-md5", "b"),
                    ("x-keep", "c"),
                    ("proxy-connection", "d"),
                    ("x-keep", "e"),
                ],
                &[]
            ),
            [
                "x-keep: c",
                "x-keep: e",
                "x-forwarded-for: 10.1.2.3",
                "x-amzn-trace-id: Root=1-6b06851f-c6af9ac67b6111e69a4193e8",
            ]
        );
        // Earlier hops kept (the first field), a trace id that came forwarded as it came,
        // mapped headers replacing the client's (the last of a name, invalid ones left out).
        assert_eq!(
            sent(
                &[
                    ("x-forwarded-for", "1.1.1.1, 2.2.2.2"),
                    ("x-amzn-trace-id", "Root=1-abc"),
                    ("x-api", "client"),
                ],
                &[
                    ("X-Api", "one"),
                    ("x-api", "two"),
                    ("x-bad", "a\nb"),
                    ("host", "h")
                ]
            ),
            [
                "x-amzn-trace-id: Root=1-abc",
                "x-forwarded-for: 1.1.1.1, 2.2.2.2, 10.1.2.3",
                "x-api: two",
                "host: h",
            ]
        );
        assert_eq!(
            sent(
                &[],
                &[("X-Forwarded-For", "mine"), ("x-amzn-trace-id", "t")]
            ),
            ["x-forwarded-for: mine", "x-amzn-trace-id: t"]
        );
    }

    #[test]
    fn proxy_responses_from_the_general_client_are_remapped() {
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
