//! `$context`: what API Gateway knows about a request, for templates, mappings and logs.

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::headers::Headers;

use crate::response_type::ResponseType;

/// `$context` variables the runtime can supply. Codegen maps the names written in the spec to
/// these at compile time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Var {
    /// `$context.requestId`
    RequestId,
    /// `$context.extendedRequestId`
    ExtendedRequestId,
    /// `$context.httpMethod`
    HttpMethod,
    /// `$context.path` (the request path as received)
    Path,
    /// `$context.resourcePath` (the matched template)
    ResourcePath,
    /// `$context.resourceId`
    ResourceId,
    /// `$context.stage`
    Stage,
    /// `$context.requestTime` (CLF format)
    RequestTime,
    /// `$context.requestTimeEpoch` (milliseconds)
    RequestTimeEpoch,
    /// `$context.identity.sourceIp`
    SourceIp,
    /// `$context.identity.userAgent`
    UserAgent,
    /// `$context.identity.apiKey`
    ApiKey,
    /// `$context.identity.apiKeyId`
    ApiKeyId,
    /// `$context.identity.caller` (an IAM caller's principal id)
    IdentityCaller,
    /// `$context.identity.user` (an IAM caller's principal id)
    IdentityUser,
    /// `$context.identity.userArn`
    IdentityUserArn,
    /// `$context.identity.accountId` (an IAM caller's account)
    IdentityAccountId,
    /// `$context.identity.accessKey`
    IdentityAccessKey,
    /// `$context.domainName`
    DomainName,
    /// `$context.domainPrefix`
    DomainPrefix,
    /// `$context.protocol`
    Protocol,
    /// `$context.apiId`
    ApiId,
    /// `$context.accountId`
    AccountId,
    /// `$context.error.message`
    ErrorMessage,
    /// `$context.error.messageString` (the message as a JSON string, quotes included)
    ErrorMessageString,
    /// `$context.error.responseType`
    ErrorResponseType,
    /// `$context.error.validationErrorString` (why request validation failed)
    ErrorValidationErrorString,
}

impl Var {
    /// The variable for a `$context.` name (without the prefix).
    pub fn from_name(name: &str) -> Option<Var> {
        Some(match name {
            "requestId" => Var::RequestId,
            "extendedRequestId" => Var::ExtendedRequestId,
            "httpMethod" => Var::HttpMethod,
            "path" => Var::Path,
            "resourcePath" => Var::ResourcePath,
            "resourceId" => Var::ResourceId,
            "stage" => Var::Stage,
            "requestTime" => Var::RequestTime,
            "requestTimeEpoch" => Var::RequestTimeEpoch,
            "identity.sourceIp" => Var::SourceIp,
            "identity.userAgent" => Var::UserAgent,
            "identity.apiKey" => Var::ApiKey,
            "identity.apiKeyId" => Var::ApiKeyId,
            "identity.caller" => Var::IdentityCaller,
            "identity.user" => Var::IdentityUser,
            "identity.userArn" => Var::IdentityUserArn,
            "identity.accountId" => Var::IdentityAccountId,
            "identity.accessKey" => Var::IdentityAccessKey,
            "domainName" => Var::DomainName,
            "domainPrefix" => Var::DomainPrefix,
            "protocol" => Var::Protocol,
            "apiId" => Var::ApiId,
            "accountId" => Var::AccountId,
            "error.message" => Var::ErrorMessage,
            "error.messageString" => Var::ErrorMessageString,
            "error.responseType" => Var::ErrorResponseType,
            "error.validationErrorString" => Var::ErrorValidationErrorString,
            _ => return None,
        })
    }
}

/// One request's context.
#[derive(Debug, Clone)]
pub struct Context {
    /// Unique id (also `x-amzn-RequestId`).
    pub request_id: String,
    /// HTTP method as received.
    pub method: http::Method,
    /// Path as received (without the query string).
    pub path: String,
    /// The raw query string (without `?`), if any.
    pub query: Option<String>,
    /// Request headers: read where they arrived until something needs a header map
    /// (`Deref<Target = HeaderMap>` builds it once).
    pub headers: Headers,
    /// Matched resource template, e.g. `/pets/{petId}` (empty before routing).
    pub resource_path: &'static str,
    /// Path parameters: name → percent-decoded value.
    pub path_params: Params,
    /// Path parameters as they were on the wire (still percent-encoded), for backend URLs.
    pub raw_path_params: Params,
    /// Stage name.
    pub stage: Arc<str>,
    /// Stage variables.
    pub stage_vars: Arc<Vec<(String, String)>>,
    /// Client address.
    pub peer: SocketAddr,
    /// `HTTP/1.1`, `HTTP/2.0`.
    pub protocol: &'static str,
    /// Request start, milliseconds since the epoch.
    pub start_ms: u128,
    /// Set when the gateway answers with a gateway response.
    pub error: Option<(ResponseType, String)>,
    /// Set when request validation fails: `$context.error.validationErrorString`.
    pub validation_error: Option<String>,
    /// With a failed body validation: each failure with the JSON pointer of the value
    /// (`/owner/email: …`), for the access log.
    pub validation_detail: Option<String>,
    /// What an authorizer returned (`$context.authorizer`, `requestContext.authorizer`).
    pub authorizer: Option<serde_json::Value>,
    /// The API key the request was admitted with (`$context.identity.apiKey`).
    pub api_key: Option<String>,
    /// Its id (`$context.identity.apiKeyId`).
    pub api_key_id: Option<std::sync::Arc<str>>,
    /// The IAM caller, once its signature and policies admitted it (`$context.identity.*`).
    pub iam: Option<Box<crate::policy::Caller>>,
    /// The IAM caller may invalidate cache entries (`execute-api:InvalidateCache`).
    pub may_invalidate_cache: bool,
    /// A Lambda authorizer's `usageIdentifierKey` (the key with the AUTHORIZER key source).
    pub usage_identifier_key: Option<String>,
    /// `hit` or `miss` when the stage cache was asked (access log `cacheStatus`).
    pub cache_status: Option<&'static str>,
    /// HTTP APIs: the matched route's key (`GET /pets/{id}`).
    pub route_key: Option<String>,
    /// Milliseconds the integration took (`$context.integrationLatency`), once called.
    pub integration_ms: Option<f64>,
    /// The integration's status code (`$context.integration.status`), once called.
    pub integration_status: Option<u16>,
    /// The trace, when spans are exported (`--otlp-endpoint`).
    pub trace: Option<Box<crate::trace::Trace>>,
    /// The execution log, when the stage configures one.
    pub exec: Option<Box<crate::exec_log::ExecLog>>,
}

impl Context {
    /// A context for a request that has just arrived. Its headers move here (not copied):
    /// the request goes on to the handler without them, and integrations read them from the
    /// context (`http_proxy` writes them to the backend from here).
    pub fn new(
        parts: &mut http::request::Parts,
        peer: SocketAddr,
        stage: Arc<str>,
        stage_vars: Arc<Vec<(String, String)>>,
    ) -> Self {
        let headers = std::mem::take(&mut parts.headers).into();
        Context::with_headers(parts, headers, peer, stage, stage_vars)
    }

    /// [`Context::new`] with the request's fields given apart (an HTTP/1 request's, as
    /// they arrived: see [`Headers`]).
    pub fn with_headers(
        parts: &http::request::Parts,
        headers: Headers,
        peer: SocketAddr,
        stage: Arc<str>,
        stage_vars: Arc<Vec<(String, String)>>,
    ) -> Self {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let start_ms = now.as_millis();
        Context {
            request_id: new_request_id(now.as_nanos() as u64),
            method: parts.method.clone(),
            path: parts.uri.path().to_string(),
            query: parts.uri.query().map(str::to_string),
            headers,
            resource_path: "",
            path_params: Params::new(),
            raw_path_params: Params::new(),
            stage,
            stage_vars,
            peer,
            protocol: match parts.version {
                http::Version::HTTP_2 => "HTTP/2.0",
                http::Version::HTTP_10 => "HTTP/1.0",
                _ => "HTTP/1.1",
            },
            start_ms,
            error: None,
            validation_error: None,
            validation_detail: None,
            authorizer: None,
            api_key: None,
            api_key_id: None,
            iam: None,
            may_invalidate_cache: false,
            usage_identifier_key: None,
            cache_status: None,
            route_key: None,
            integration_ms: None,
            integration_status: None,
            trace: None,
            exec: None,
        }
    }

    /// A context for unit tests: `parts` from 127.0.0.1:1, on stage `prod`.
    #[cfg(test)]
    pub(crate) fn for_tests(parts: &mut http::request::Parts) -> Self {
        Context::new(
            parts,
            "127.0.0.1:1".parse().unwrap(),
            Arc::from("prod"),
            Arc::new(Vec::new()),
        )
    }

    /// Runs a router on the request's path: `select` gets its raw and decoded segments and
    /// binds what it matches. A path with a dot segment is never routed
    /// ([`crate::path::has_dot_segment`]): `None`. The path is lent out meanwhile, not
    /// copied.
    pub fn select<R>(
        &mut self,
        select: impl FnOnce(&mut Context, &[&str], &[&str]) -> Option<R>,
    ) -> Option<R> {
        use crate::path;
        let p = std::mem::take(&mut self.path);
        let selected = {
            let raw = path::segments(&p);
            // Without a `%` (most paths) there is nothing to decode: the raw segments are
            // the decoded ones, and without a dot there is no dot segment either.
            let encoded = p.contains('%');
            let decoded = encoded.then(|| path::decode_all(&raw));
            let decoded = decoded.as_deref().map(path::as_strs);
            let segments = decoded.as_deref().unwrap_or(&raw);
            if (encoded || p.contains('.')) && path::has_dot_segment(segments) {
                None
            } else {
                select(self, &raw, segments)
            }
        };
        self.path = p;
        selected
    }

    /// Binds a path parameter matched by the router (raw as received, and decoded).
    pub fn bind(&mut self, name: &'static str, raw: &str, decoded: &str) {
        self.raw_path_params.push(name, raw);
        self.path_params.push(name, decoded);
    }

    /// Binds a greedy `{name+}` parameter to the rest of the path (segments joined by `/`).
    pub fn bind_greedy(&mut self, name: &'static str, raw_segments: &[&str]) {
        let raw = raw_segments.join("/");
        let decoded = raw_segments
            .iter()
            .map(|s| crate::path::decode(s))
            .collect::<Vec<_>>()
            .join("/");
        self.raw_path_params.push(name, &raw);
        self.path_params.push(name, &decoded);
    }

    /// The value of a `$context` variable (`None` renders as empty text).
    pub fn var(&self, v: Var) -> Option<Cow<'_, str>> {
        Some(match v {
            Var::RequestId | Var::ExtendedRequestId => Cow::Borrowed(self.request_id.as_str()),
            Var::HttpMethod => Cow::Borrowed(self.method.as_str()),
            Var::Path => Cow::Borrowed(self.path.as_str()),
            Var::ResourcePath => Cow::Borrowed(self.resource_path),
            Var::ResourceId => Cow::Owned(resource_id(self.resource_path)),
            Var::Stage => Cow::Borrowed(&*self.stage),
            Var::RequestTime => Cow::Owned(clf_time(self.start_ms)),
            Var::RequestTimeEpoch => {
                Cow::Owned(itoa::Buffer::new().format(self.start_ms).to_owned())
            }
            Var::SourceIp => {
                let mut buf = [0u8; 46];
                let ip = ip_text(self.peer.ip(), &mut buf);
                Cow::Owned(String::from_utf8_lossy(ip).into_owned())
            }
            Var::UserAgent => Cow::Borrowed(self.header("user-agent")?),
            Var::ApiKey => Cow::Borrowed(self.api_key.as_deref()?),
            Var::ApiKeyId => Cow::Borrowed(self.api_key_id.as_deref()?),
            Var::IdentityCaller | Var::IdentityUser => Cow::Borrowed(&self.iam.as_ref()?.user_id),
            Var::IdentityUserArn => Cow::Borrowed(&self.iam.as_ref()?.arn),
            Var::IdentityAccountId => Cow::Borrowed(&self.iam.as_ref()?.account),
            Var::IdentityAccessKey => Cow::Borrowed(&self.iam.as_ref()?.access_key),
            Var::DomainName => Cow::Borrowed(domain_of(self.header("host")?).0),
            Var::DomainPrefix => Cow::Borrowed(domain_of(self.header("host")?).1),
            Var::Protocol => Cow::Borrowed(self.protocol),
            Var::ApiId => Cow::Borrowed("specgate"),
            Var::AccountId => Cow::Borrowed("000000000000"),
            Var::ErrorMessage => Cow::Borrowed(self.error.as_ref()?.1.as_str()),
            Var::ErrorMessageString => {
                Cow::Owned(serde_json::Value::from(self.error.as_ref()?.1.as_str()).to_string())
            }
            Var::ErrorResponseType => Cow::Borrowed(self.error.as_ref()?.0.name()),
            Var::ErrorValidationErrorString => Cow::Borrowed(self.validation_error.as_deref()?),
        })
    }

    /// The X-Ray trace header of this request (`$context.xrayTraceId`): the client's
    /// `X-Amzn-Trace-Id` when it carries a `Root=1-…`, else one started here from the
    /// request's time and id (`Root=1-{epoch seconds, hex}-{24 hex digits}`), the same every
    /// time it is asked for.
    pub fn trace_id(&self) -> Option<Cow<'_, str>> {
        if let Some(h) = self.header("x-amzn-trace-id") {
            if h.len() <= 256 && h.split(';').any(|p| p.trim().starts_with("Root=1-")) {
                return Some(Cow::Borrowed(h));
            }
        }
        // A trace the client started with `traceparent` keeps its id in X-Ray's form too.
        if let Some(t) = &self.trace {
            let h = crate::path::hex(&t.trace_id);
            return Some(Cow::Owned(format!("Root=1-{}-{}", &h[..8], &h[8..])));
        }
        Some(Cow::Owned(self.new_trace_id()))
    }

    /// The trace id this gateway starts for a request that brought none:
    /// `Root=1-{epoch seconds, 8 hex}-{24 hex of the request id}`, built in one buffer.
    pub fn new_trace_id(&self) -> String {
        let (s, n) = self.new_trace_id_bytes();
        // ASCII throughout (checked, not converted: a lossy conversion walked it in chunks).
        std::str::from_utf8(&s[..n]).unwrap_or_default().to_owned()
    }

    /// [`Context::new_trace_id`] as bytes in a buffer, and how many of them: for a field
    /// written straight into a backend request's head.
    pub fn new_trace_id_bytes(&self) -> ([u8; 40], usize) {
        const ROOT: &[u8] = b"Root=1-";
        let mut s = [0u8; 40];
        s[..ROOT.len()].copy_from_slice(ROOT);
        let secs = (self.start_ms / 1000) as u32;
        s[ROOT.len()..ROOT.len() + 8].copy_from_slice(&hex8(secs));
        s[ROOT.len() + 8] = b'-';
        let start = ROOT.len() + 9;
        let n = start
            + crate::framing::id_chars(self.request_id.as_bytes(), &mut s[start..], |b| {
                // `is_ascii_hexdigit` without its early exit, so the check vectorises.
                (b.wrapping_sub(b'0') < 10) | ((b | 0x20).wrapping_sub(b'a') < 6)
            });
        (s, n)
    }

    /// Notes how long the integration took and what it answered (and its span, when traced).
    pub fn integration_done(&mut self, started: std::time::Instant, status: Option<u16>) {
        let elapsed = started.elapsed();
        self.integration_ms = Some(elapsed.as_secs_f64() * 1000.0);
        self.integration_status = status;
        let error = status.is_none_or(|s| s >= 500);
        self.span("integration", elapsed, error);
    }

    /// An INFO execution-log line (built only when the stage logs executions).
    pub fn exec_info(&mut self, line: impl FnOnce() -> String) {
        if let Some(e) = &mut self.exec {
            e.info(line());
        }
    }

    /// An ERROR execution-log line.
    pub fn exec_error(&mut self, line: impl FnOnce() -> String) {
        if let Some(e) = &mut self.exec {
            e.error(line());
        }
    }

    /// A body in the execution log (with `dataTraceEnabled`).
    pub fn exec_body(&mut self, what: &str, body: &[u8]) {
        if let Some(e) = &mut self.exec {
            e.body(what, body);
        }
    }

    /// The start of a span: the clock is read only when the request is traced (a read
    /// costs about 30 ns; see [`Context::span_since`]).
    pub fn span_start(&self) -> Option<std::time::Instant> {
        self.trace.as_ref().map(|_| std::time::Instant::now())
    }

    /// Records a child span begun at `started` ([`Context::span_start`]) that ended now.
    pub fn span_since(
        &mut self,
        name: &'static str,
        started: Option<std::time::Instant>,
        error: bool,
    ) {
        if let Some(started) = started {
            self.span(name, started.elapsed(), error);
        }
    }

    /// Records a child span that ended now and lasted `elapsed` (when the request is traced).
    pub fn span(&mut self, name: &'static str, elapsed: std::time::Duration, error: bool) {
        if let Some(t) = &mut self.trace {
            let end = crate::trace::now_ns();
            let start = end.saturating_sub(elapsed.as_nanos() as u64);
            t.child(name, start, end, error);
        }
    }

    /// A request header (first value).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.text(name)
    }

    /// A query-string parameter, decoded; the last value when repeated (as API Gateway maps it).
    pub fn query_param(&self, name: &str) -> Option<String> {
        let q = self.query.as_deref()?;
        q.split('&').rev().find_map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            // A name with nothing to decode is compared as it is (no copy per field).
            let matches = if k.contains(['%', '+']) {
                crate::path::decode_query(k) == name
            } else {
                k == name
            };
            matches.then(|| crate::path::decode_query(v))
        })
    }

    /// A path parameter, decoded.
    pub fn path_param(&self, name: &str) -> Option<&str> {
        self.path_params.get(name)
    }

    /// A path parameter as received (percent-encoded).
    pub fn raw_path_param(&self, name: &str) -> Option<&str> {
        self.raw_path_params.get(name)
    }

    /// A stage variable.
    pub fn stage_var(&self, name: &str) -> Option<&str> {
        self.stage_vars
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A header name in the case API Gateway's events and `$input.params()` show it: exactly
/// as the client sent it (AWS's recorded REST event keeps `tEsT-HEADeR`, reference §3.1).
/// `name` is one of `cx.headers.fields()`: as sent while the HTTP/1 fields are read where
/// they arrived, and HTTP/2 names are lower case on the wire, so both pass unchanged. Only
/// an HTTP/1 request whose fields a map has replaced (a header changed on the way) lost the
/// case; canonical case (`Content-Type`) is what HTTP/1 clients mostly send, so it stands in.
pub fn header_name_as_sent<'a>(cx: &Context, name: &'a str) -> Cow<'a, str> {
    if cx.headers.names_as_sent() || cx.protocol.starts_with("HTTP/2") {
        return Cow::Borrowed(name);
    }
    let mut out = String::with_capacity(name.len());
    let mut up = true;
    for c in name.chars() {
        out.push(if up {
            c.to_ascii_uppercase()
        } else {
            c.to_ascii_lowercase()
        });
        up = c == '-';
    }
    Cow::Owned(out)
}

/// A request id shaped like API Gateway's (a UUID v4 from a fast process-local generator:
/// unique, not a secret).
/// A request id, mixed from a process-wide counter and `nanos` (the request's arrival).
fn new_request_id(nanos: u64) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static STATE: AtomicU64 = AtomicU64::new(0);
    let seed = STATE.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed) ^ nanos;
    let mix = |mut z: u64| {
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let a = mix(seed);
    // The process id, read once: `std::process::id()` is a system call per request.
    static PID: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let b = mix(a ^ *PID.get_or_init(|| u64::from(std::process::id())));
    // A version 4 UUID.
    uuid_text(
        a >> 32,
        (a >> 16) & 0xffff,
        0x4000 | (a & 0x0fff),
        ((b >> 48) & 0x3fff) | 0x8000,
        b & 0xffff_ffff_ffff,
    )
}

/// `{8 hex}-{4 hex}-{4 hex}-{4 hex}-{12 hex}` of these five values (each cut to its
/// digits), written without the formatting machinery: request ids, made on every request.
pub fn uuid_text(g1: u64, g2: u64, g3: u64, g4: u64, g5: u64) -> String {
    let mut out = [b'-'; 36];
    out[0..8].copy_from_slice(&hex8(g1 as u32));
    let middle = hex8(((g2 as u32 & 0xffff) << 16) | (g3 as u32 & 0xffff));
    out[9..13].copy_from_slice(&middle[..4]);
    out[14..18].copy_from_slice(&middle[4..]);
    let next = hex8(((g4 as u32 & 0xffff) << 16) | ((g5 >> 32) as u32 & 0xffff));
    out[19..23].copy_from_slice(&next[..4]);
    out[24..28].copy_from_slice(&next[4..]);
    out[28..36].copy_from_slice(&hex8(g5 as u32));
    String::from_utf8(out.to_vec()).unwrap_or_default()
}

/// The eight lower-case hex digits of `x`, all at once in one word: each nibble spread to a
/// byte of its own, then turned into its digit (a table lookup per digit cost 350
/// instructions per request id).
fn hex8(x: u32) -> [u8; 8] {
    let x = u64::from(x);
    let v = ((x & 0xffff_0000) << 16) | (x & 0xffff);
    let v = ((v & 0x0000_ff00_0000_ff00) << 8) | (v & 0x0000_00ff_0000_00ff);
    let v = ((v & 0x00f0_00f0_00f0_00f0) << 4) | (v & 0x000f_000f_000f_000f);
    // 1 in each byte whose nibble is 10 or more: those skip to `a`.
    let letters = ((v + 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101;
    (v + 0x3030_3030_3030_3030 + letters * 39).to_be_bytes()
}

/// A request's path parameters: names and values, the values one after another in one
/// buffer that holds 24 bytes inline. Most routes have one or two short parameters: a
/// `String` per value cost an allocation per parameter, twice (raw and decoded).
#[derive(Debug, Clone, Default)]
pub struct Params {
    text: smallvec::SmallVec<[u8; 24]>,
    /// Each parameter's name and where its value ends in `text`.
    entries: smallvec::SmallVec<[(&'static str, usize); 2]>,
}

impl Params {
    /// No parameters.
    pub fn new() -> Params {
        Params::default()
    }

    /// Adds a parameter.
    pub fn push(&mut self, name: &'static str, value: &str) {
        self.text.extend_from_slice(value.as_bytes());
        self.entries.push((name, self.text.len()));
    }

    /// Each parameter's name and value, in the order they were added.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        let mut start = 0;
        self.entries.iter().map(move |&(name, end)| {
            // Whole `&str`s were pushed: each value is UTF-8 on its own.
            let value = std::str::from_utf8(&self.text[start..end]).unwrap_or_default();
            start = end;
            (name, value)
        })
    }

    /// The value of the first parameter named `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.entries.len()
    }
}

/// A stable short id for a resource path (API Gateway's resource ids are 6–10 characters).
fn resource_id(path: &str) -> String {
    let mut out = String::with_capacity(6);
    resource_id_into(&mut out, path);
    out
}

/// [`resource_id`] written at the end of `out` (six lower-case hex digits).
pub(crate) fn resource_id_into(out: &mut String, path: &str) {
    let mut h: u32 = 0x811c_9dc5;
    for b in path.bytes() {
        h = (h ^ b as u32).wrapping_mul(0x0100_0193);
    }
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.extend(
        (0..6)
            .rev()
            .map(|d| char::from(HEX[((h >> (d * 4)) & 15) as usize])),
    );
}

/// `$context.domainName` and `$context.domainPrefix` of a `Host` value: the host without
/// its port, and its first label.
pub(crate) fn domain_of(host: &str) -> (&str, &str) {
    // Short texts: a byte scan (`split` took a searcher each, 120 instructions).
    let cut = |s: &str, at: u8| s.bytes().position(|b| b == at).unwrap_or(s.len());
    let name = &host[..cut(host, b':')];
    (name, &name[..cut(name, b'.')])
}

/// `ip` as text in `buf` (IPv4 without the formatting machinery: every proxied request
/// writes one), as `Display` writes it.
pub fn ip_text(ip: std::net::IpAddr, buf: &mut [u8; 46]) -> &[u8] {
    let mut n = 0;
    match ip {
        std::net::IpAddr::V4(v4) => {
            // Each octet's digits written one by one (an `itoa` buffer and a copy per octet
            // were 170 instructions an address).
            for (i, octet) in v4.octets().into_iter().enumerate() {
                if i > 0 {
                    buf[n] = b'.';
                    n += 1;
                }
                if octet >= 100 {
                    buf[n] = b'0' + octet / 100;
                    n += 1;
                }
                if octet >= 10 {
                    buf[n] = b'0' + octet / 10 % 10;
                    n += 1;
                }
                buf[n] = b'0' + octet % 10;
                n += 1;
            }
        }
        std::net::IpAddr::V6(v6) => {
            use std::io::Write as _;
            let mut rest = &mut buf[..];
            // 45 bytes at most (INET6_ADDRSTRLEN less its NUL).
            let _ = write!(rest, "{v6}");
            n = 46 - rest.len();
        }
    }
    &buf[..n]
}

/// `25/Nov/2026:06:50:00 +0000`.
pub fn clf_time(ms: u128) -> String {
    let mut out = String::with_capacity(26);
    clf_time_into(&mut out, ms);
    out
}

/// [`clf_time`] written at the end of `out`.
pub fn clf_time_into(out: &mut String, ms: u128) {
    let secs = (ms / 1000) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (h, m, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    // `{d:02}/{month}/{year}:{h:02}:{m:02}:{s:02} +0000`, without the formatting machinery
    // (every Lambda event and access-log line asks for it).
    let two = |out: &mut String, v: i64| {
        out.push(char::from(b'0' + (v / 10 % 10) as u8));
        out.push(char::from(b'0' + (v % 10) as u8));
    };
    two(out, d);
    out.push('/');
    out.push_str(MONTHS[(month - 1) as usize]);
    out.push('/');
    out.push_str(itoa::Buffer::new().format(year));
    for v in [h, m, s] {
        out.push(':');
        two(out, v);
    }
    out.push_str(" +0000");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_text_is_display() {
        let mut buf = [0u8; 46];
        for a in 0..=255u8 {
            for ip in [
                std::net::Ipv4Addr::new(a, 0, 10, 255),
                std::net::Ipv4Addr::new(1, a, 99, 100),
                std::net::Ipv4Addr::new(255, 9, a, 0),
                std::net::Ipv4Addr::new(10, 200, 7, a),
            ] {
                let ip = std::net::IpAddr::V4(ip);
                assert_eq!(ip_text(ip, &mut buf), ip.to_string().as_bytes());
            }
        }
        for ip in [
            "::1",
            "2001:db8::8a2e:370:7334",
            "::ffff:192.0.2.1",
            "fe80::1:2:3:4:5:6",
        ] {
            let ip: std::net::IpAddr = ip.parse().unwrap();
            assert_eq!(ip_text(ip, &mut buf), ip.to_string().as_bytes());
        }
    }

    proptest::proptest! {
        #[test]
        fn uuid_text_is_what_format_writes(g1: u64, g2: u64, g3: u64, g4: u64, g5: u64) {
            let want = format!(
                "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
                g1 & 0xffff_ffff,
                g2 & 0xffff,
                g3 & 0xffff,
                g4 & 0xffff,
                g5 & 0xffff_ffff_ffff
            );
            proptest::prop_assert_eq!(uuid_text(g1, g2, g3, g4, g5), want);
        }
    }

    #[test]
    fn params_keep_names_values_and_order_inline_or_not() {
        let mut p = Params::new();
        assert!(p.is_empty());
        assert_eq!(p.get("id"), None);
        p.push("id", "7");
        p.push("empty", "");
        p.push(
            "name",
            "caf\u{e9} au lait, beyond the inline twenty-four bytes",
        );
        p.push("id", "second");
        assert_eq!(p.len(), 4);
        assert_eq!(
            p.iter().collect::<Vec<_>>(),
            [
                ("id", "7"),
                ("empty", ""),
                (
                    "name",
                    "caf\u{e9} au lait, beyond the inline twenty-four bytes"
                ),
                ("id", "second"),
            ]
        );
        // The first of a name, as a lookup in a list gives.
        assert_eq!(p.get("id"), Some("7"));
        assert_eq!(p.get("empty"), Some(""));
    }

    #[test]
    fn uuid_text_edges() {
        assert_eq!(
            uuid_text(0, 0, 0, 0, 0),
            "00000000-0000-0000-0000-000000000000"
        );
        let all = u64::MAX;
        assert_eq!(
            uuid_text(all, all, all, all, all),
            "ffffffff-ffff-ffff-ffff-ffffffffffff"
        );
        assert_eq!(
            uuid_text(0x0123_4567, 0x89ab, 0xcdef, 0x9a0f, 0x5f_a9b0_c1d2_e3f4),
            "01234567-89ab-cdef-9a0f-a9b0c1d2e3f4"
        );
    }

    #[test]
    fn clf_dates() {
        assert_eq!(clf_time(0), "01/Jan/1970:00:00:00 +0000");
        // 2026-11-25T06:50:07Z
        assert_eq!(clf_time(1_795_589_407_000), "25/Nov/2026:06:50:07 +0000");
        assert_eq!(clf_time(951_782_400_000), "29/Feb/2000:00:00:00 +0000");
        assert_eq!(clf_time(253_402_300_799_000), "31/Dec/9999:23:59:59 +0000");
        for path in ["", "/", "/pets/{petId}", "/a/b/c/d"] {
            let mut h: u32 = 0x811c_9dc5;
            for b in path.bytes() {
                h = (h ^ b as u32).wrapping_mul(0x0100_0193);
            }
            assert_eq!(resource_id(path), format!("{:06x}", h & 0xff_ffff));
        }
    }

    #[test]
    fn a_new_trace_id_is_the_time_and_the_request_id() {
        let mut parts = http::Request::new(()).into_parts().0;
        let mut cx = Context::for_tests(&mut parts);
        cx.start_ms = 1_795_589_407_123;
        cx.request_id = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef".to_string();
        // 1795589407 = 0x6b06851f.
        assert_eq!(
            cx.new_trace_id(),
            "Root=1-6b06851f-c6af9ac67b6111e69a4193e8"
        );
        // Only hex digits are taken, whatever the id holds.
        cx.request_id = "g-1x2-Fz".to_string();
        assert_eq!(cx.new_trace_id(), "Root=1-6b06851f-12F");
    }

    #[test]
    fn request_ids_are_uuid_shaped_and_distinct() {
        // Two requests arriving in the same nanosecond still get different ids.
        let a = new_request_id(7);
        let b = new_request_id(7);
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
    }

    #[test]
    fn query_parameters_by_decoded_name() {
        let mut parts = http::Request::get("/p?a%20b=1&x+y=2&plain=3&plain=4&e=&q=%41")
            .body(())
            .unwrap()
            .into_parts()
            .0;
        let cx = Context::for_tests(&mut parts);
        assert_eq!(cx.query_param("a b").as_deref(), Some("1"));
        assert_eq!(cx.query_param("x y").as_deref(), Some("2"));
        assert_eq!(cx.query_param("plain").as_deref(), Some("4"));
        assert_eq!(cx.query_param("e").as_deref(), Some(""));
        assert_eq!(cx.query_param("q").as_deref(), Some("A"));
        assert_eq!(cx.query_param("a%20b"), None);
        assert_eq!(cx.query_param("none"), None);
    }
}
