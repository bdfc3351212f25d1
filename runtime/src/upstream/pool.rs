//! The connection pool to HTTP backends (shared by a worker's requests): HTTP/1.1 and
//! HTTP/2, plain and TLS with webpki roots, names resolved with hickory.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::dns::Resolver;
use crate::framing::FieldName;
use crate::Body;

/// Backend requests in flight (all workers), and those that failed, for the metrics.
pub static IN_FLIGHT: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);
/// Backend requests that timed out.
pub static TIMEOUTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
/// Backend requests that failed to connect or broke off.
pub static FAILURES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The shared upstream client (HTTP/1.1 and HTTP/2, plain and TLS with webpki roots).
pub type Client =
    hyper_util::client::legacy::Client<hyper_rustls::HttpsConnector<HttpConnector<Resolver>>, Body>;

/// Builds the upstream client.
pub fn client() -> Result<Client, String> {
    let mut http = HttpConnector::new_with_resolver(Resolver::default());
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(Duration::from_secs(10)));
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS client setup: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .wrap_connector(http);
    Ok(
        hyper_util::client::legacy::Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(256)
            .build(https),
    )
}

/// A worker's own pool of plain HTTP/1.1 connections to backends named by IP address, the
/// common case of a gateway in front of services (`http://10.0.3.7:8080`, VPC links).
///
/// The exchange runs on the request's own task: the request head and body go out in one
/// vectored write, the response is read and parsed (httparse, as hyper) into the header map
/// the handler returns, and the connection goes back to the pool. hyper's client connection
/// would add a task and a channel hop per request and parse the response into maps grown
/// again later (issue 20). Each worker has its own pool (its event loop is single-threaded,
/// so the lock is never contended). Anything else (TLS, HTTP/2, host names to resolve) goes
/// through [`Client`].
#[derive(Default)]
pub struct Local {
    idle: std::sync::Mutex<Vec<(SocketAddr, Pooled)>>,
}

/// A buffered backend response (non-proxy integrations select on it and map it).
#[derive(Debug)]
pub struct Buffered {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: http::HeaderMap,
    /// The fields, when they were kept unparsed ([`Fields::Raw`]; `headers` is empty then).
    pub raw: Option<Box<crate::framing::RawFields>>,
    /// Body.
    pub body: Bytes,
}

impl Buffered {
    /// A response with its fields in `headers`.
    pub fn new(status: u16, headers: http::HeaderMap, body: Bytes) -> Buffered {
        Buffered {
            status,
            headers,
            raw: None,
            body,
        }
    }
}

/// How a response's fields are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fields {
    /// In the header map, as the backend sent them.
    AsSent,
    /// In the header map, renamed or dropped as API Gateway does on proxy responses
    /// ([`REMAP_RESPONSE`]).
    Remapped,
    /// Renamed or dropped as [`Fields::Remapped`], but unparsed
    /// ([`crate::framing::RawFields`]): for an answer that passes them on untouched.
    Raw,
}

/// Idle connections kept per worker (all addresses).
const MAX_IDLE: usize = 256;
/// The most header fields in a backend's response head, and its most bytes.
const MAX_HEADERS: usize = 100;
const MAX_HEAD: usize = 64 * 1024;
/// Room left in a response's header map for what the gateway adds (ids, remapped names).
const EXTRA_HEADERS: usize = 3;

/// Why an exchange with a backend failed.
#[derive(Debug)]
pub enum LocalError {
    /// Before a complete response head: connecting, sending, or a broken head. Carries the
    /// request body's own error when that was the cause (the client's fault).
    Send(crate::BoxError),
    /// The response body: too large, broken framing, or cut off.
    Body(String),
    /// The deadline passed first.
    Timeout,
}

impl Local {
    /// The address `req` goes to when the fast path serves it: `http://` to an IP literal.
    pub fn eligible(req: &http::Request<Body>) -> Option<SocketAddr> {
        let uri = req.uri();
        if uri.scheme() != Some(&http::uri::Scheme::HTTP) {
            return None;
        }
        address(uri.authority()?.as_str())
    }

    /// [`Local::eligible`] for a backend URL as text: its address, its authority (for
    /// `Host`) and its request target, when it is `http://` to an IP literal and the target
    /// is a path of visible ASCII (what a generated URL is: segments percent-encoded, the
    /// client's query string as it came); `None` sends it the general way.
    pub fn direct(url: &str) -> Option<(SocketAddr, &str, &str)> {
        let rest = url.strip_prefix("http://")?;
        let at = rest
            .bytes()
            .position(|b| matches!(b, b'/' | b'?' | b'#'))
            .unwrap_or(rest.len());
        let (authority, target) = rest.split_at(at);
        // Visible ASCII (`!`..=`~`) but `#`; not short-circuiting, so checked in vectors.
        let visible = target
            .bytes()
            .fold(true, |ok, b| ok & (b.wrapping_sub(b'!') < 94) & (b != b'#'));
        if !target.starts_with('/') || !visible {
            return None;
        }
        Some((remembered_address(authority)?, authority, target))
    }
    /// Sends `req` to `addr` on an idle connection, or a new one, and reads the whole
    /// response (at most `max` body bytes), all before `deadline`.
    pub async fn exchange(
        &self,
        addr: SocketAddr,
        req: http::Request<Body>,
        max: usize,
        fields: Fields,
        deadline: Instant,
    ) -> Result<Buffered, LocalError> {
        let (parts, body) = req.into_parts();
        let head = encode_request(&parts);
        self.exchange_head(addr, head, parts.method, body, max, fields, deadline)
            .await
    }

    /// [`Local::exchange`] for a request whose head the caller wrote: its request line in
    /// origin form and its fields, without the framing fields (written here, from the body)
    /// and the blank line.
    ///
    /// The deadline is kept by the connection's own timer, which stays in the timer wheel
    /// between exchanges ([`crate::conn::poll_deadline`], as a client connection's head
    /// timeout is): moved once per timeout period for a connection in steady use. A timer
    /// per exchange cost a registration and a removal in the wheel, a runtime handle cloned
    /// and dropped, and a clock reading.
    #[allow(clippy::too_many_arguments)]
    pub fn exchange_head<E>(
        &self,
        addr: SocketAddr,
        head: crate::framing::HeadBuf,
        method: http::Method,
        body: Body,
        max: usize,
        fields: Fields,
        deadline: Instant,
    ) -> impl Future<Output = Result<Buffered, E>> + Send + '_
    where
        E: From<LocalError> + 'static,
    {
        // One future over the exchange's, with no `async` block or combinators around it: an
        // `async` block keeps what it captured for its whole life beside what it moved it
        // into, and each combinator (a `map` to give the connection back, another for the
        // caller's error type) was a layer the answer was moved out through. This future,
        // boxed per request, stays under mimalloc's small-object size (1 KiB).
        let reading = Reading {
            head_request: method == http::Method::HEAD,
            fields,
            max,
        };
        let (stream, timer) = match self.take(addr) {
            Some(p) => (Some(p.stream), p.timer),
            None => (None, None),
        };
        Within {
            pool: self,
            addr,
            timer,
            deadline,
            exchange: self.exchange_on(addr, stream, head, method, body, reading),
            error: std::marker::PhantomData,
        }
    }

    /// One exchange on `stream` (taken from the pool), or on a new connection: the answer,
    /// and the connection when it can serve another request.
    // Not an `async fn`: one keeps its arguments beside the locals it moves them into (a
    // connection, the head, the body: room the exchange's boxed future carries for nothing).
    #[allow(clippy::manual_async_fn)]
    fn exchange_on(
        &self,
        addr: SocketAddr,
        mut stream: Option<TcpStream>,
        mut head: crate::framing::HeadBuf,
        method: http::Method,
        mut body: Body,
        reading: Reading,
    ) -> impl Future<Output = Result<(Buffered, Option<TcpStream>), LocalError>> + Send + '_ {
        async move {
            use http_body_util::BodyExt;
            use hyper::body::Body as _;
            let length = body.size_hint().exact();
            end_head(&mut head, &method, length);
            // The first piece of the body goes out with the head; a body that is all in it can
            // be sent again on a new connection if a pooled one turns out closed.
            let first = match body.frame().await {
                None => Bytes::new(),
                Some(Ok(f)) => f.into_data().unwrap_or_default(),
                Some(Err(e)) => return Err(LocalError::Send(e)),
            };
            // The rest of the body, if any, can be sent once only. (Taken from `body` and
            // `stream` in place: a local moved out of either is room the future keeps.)
            let whole = body.is_end_stream();
            let mut rest_sent = whole;
            loop {
                let pooled = stream.is_some() || {
                    stream = self.take(addr).map(|p| p.stream);
                    stream.is_some()
                };
                if stream.is_none() {
                    stream = Some(connect(addr).await.map_err(LocalError::Send)?);
                }
                let Some(s) = stream.as_mut() else {
                    // Not reached: a connection was found or made just above.
                    return Err(LocalError::Send("no connection to the backend".into()));
                };
                let rest = (!rest_sent).then(|| std::mem::take(&mut body));
                rest_sent = true;
                let sent = send(s, &head, &first, rest, length, reading).await;
                match sent {
                    Ok((resp, reusable)) => {
                        return Ok((resp, if reusable { stream.take() } else { None }))
                    }
                    // A pooled connection closed under a request sent whole: on the next one.
                    Err(Retry::Stale) if pooled && whole => stream = None,
                    Err(Retry::Stale) => {
                        return Err(LocalError::Send(
                            "the backend closed the connection without answering".into(),
                        ))
                    }
                    Err(Retry::Failed(e)) => return Err(e),
                }
            }
        }
    }

    /// An idle connection to `addr` that is still open (nothing to read, no end of file).
    fn take(&self, addr: SocketAddr) -> Option<Pooled> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        while let Some(i) = idle.iter().rposition(|(a, _)| *a == addr) {
            let (_, p) = idle.swap_remove(i);
            let mut probe = [0u8; 1];
            if matches!(p.stream.try_read(&mut probe), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
            {
                return Some(p);
            }
        }
        None
    }

    /// Keeps a connection whose exchange is complete for the next request to its address.
    fn give_back(&self, addr: SocketAddr, pooled: Pooled) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push((addr, pooled));
        }
    }
}

/// An idle connection and the timer its exchanges' deadlines are kept by: armed at its
/// last exchange's deadline, or fired since (a fired timer wakes the task that last waited
/// on it, once, for nothing).
struct Pooled {
    stream: TcpStream,
    timer: Option<Pin<Box<Sleep>>>,
}

pin_project_lite::pin_project! {
    /// An exchange with `addr` that fails with [`LocalError::Timeout`] at `deadline`, kept
    /// by `timer` (a connection's, or made here for a new one). When it ends with a
    /// connection that can serve again, the connection goes back to `pool` with the timer;
    /// its error is given as `E`.
    struct Within<'p, F, E> {
        pool: &'p Local,
        addr: SocketAddr,
        timer: Option<Pin<Box<Sleep>>>,
        deadline: Instant,
        #[pin]
        exchange: F,
        error: std::marker::PhantomData<fn() -> E>,
    }
}

impl<F, E> Future for Within<'_, F, E>
where
    F: Future<Output = Result<(Buffered, Option<TcpStream>), LocalError>>,
    E: From<LocalError>,
{
    type Output = Result<Buffered, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let exchanged = match this.exchange.poll(cx) {
            Poll::Ready(r) => r,
            Poll::Pending => match crate::conn::poll_deadline(this.timer, *this.deadline, cx) {
                Poll::Ready(()) => Err(LocalError::Timeout),
                Poll::Pending => return Poll::Pending,
            },
        };
        let timer = this.timer.take();
        Poll::Ready(match exchanged {
            Ok((resp, reusable)) => {
                if let Some(stream) = reusable {
                    this.pool.give_back(*this.addr, Pooled { stream, timer });
                }
                Ok(resp)
            }
            Err(e) => Err(E::from(e)),
        })
    }
}

enum Retry {
    /// A pooled connection was closed under the request: nothing was answered.
    Stale,
    Failed(LocalError),
}

/// The request head in origin form, the backend's authority as `Host` when the request has
/// none (as the legacy client does for HTTP/1), without framing fields ([`end_head`]).
pub(super) fn encode_request(parts: &http::request::Parts) -> crate::framing::HeadBuf {
    let mut out = crate::framing::head_buf(256 + parts.headers.len() * 48);
    out.extend_from_slice(parts.method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(
        parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .as_bytes(),
    );
    out.extend_from_slice(b" HTTP/1.1\r\n");
    if !parts.headers.contains_key(http::header::HOST) {
        if let Some(a) = parts.uri.authority() {
            push_field(
                &mut out,
                FieldName::Renamed(&http::header::HOST),
                &[a.as_str().as_bytes()],
            );
        }
    }
    for (name, value) in &parts.headers {
        if name == http::header::CONTENT_LENGTH
            || name == http::header::TRANSFER_ENCODING
            || name == http::header::CONNECTION
        {
            continue;
        }
        push_field(&mut out, FieldName::Renamed(name), &[value.as_bytes()]);
    }
    out
}

/// Appends one header field, its name in lower case and its value given in pieces.
pub fn push_field(out: &mut Vec<u8>, name: FieldName<'_>, value: &[&[u8]]) {
    match name {
        FieldName::Sent(name) => {
            let at = out.len();
            out.extend_from_slice(name);
            crate::framing::lower_ascii(&mut out[at..]);
        }
        FieldName::Renamed(name) => out.extend_from_slice(name.as_str().as_bytes()),
    }
    out.extend_from_slice(b": ");
    for piece in value {
        out.extend_from_slice(piece);
    }
    out.extend_from_slice(b"\r\n");
}

/// Ends a request head: the framing fields the body calls for, and the blank line.
// Inlined: once `http` integrations shared the pool's direct path, LLVM stopped inlining it
// into the exchange (a call per request).
#[inline(always)]
fn end_head(out: &mut Vec<u8>, method: &http::Method, length: Option<u64>) {
    match length {
        // No body: a length only where the method has a body by nature (as hyper).
        Some(0) => {
            if matches!(
                *method,
                http::Method::POST | http::Method::PUT | http::Method::PATCH
            ) {
                out.extend_from_slice(b"content-length: 0\r\n");
            }
        }
        Some(n) => {
            out.extend_from_slice(b"content-length: ");
            out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        None => out.extend_from_slice(b"transfer-encoding: chunked\r\n"),
    }
    out.extend_from_slice(b"\r\n");
}

/// One exchange on `stream`: the head and first body piece, the rest of the body (`rest`),
/// then the whole response. `Ok` with whether the connection can be reused.
// Not an `async fn`, for the reason `Local::exchange_on` gives.
#[allow(clippy::manual_async_fn)]
fn send<'a>(
    stream: &'a mut TcpStream,
    head: &'a [u8],
    first: &'a [u8],
    mut rest: Option<Body>,
    length: Option<u64>,
    reading: Reading,
) -> impl Future<Output = Result<(Buffered, bool), Retry>> + Send + 'a {
    async move {
        use http_body_util::BodyExt;
        let chunked = length.is_none();
        let sent = if !chunked {
            write_all(stream, &[head, first]).await
        } else if first.is_empty() {
            write_all(stream, &[head]).await
        } else {
            let size = format!("{:x}\r\n", first.len());
            write_all(stream, &[head, size.as_bytes(), first, b"\r\n"]).await
        };
        // A write that fails on a pooled connection: it was closed under us. A response may
        // still be there (a backend that answers before reading the body and closes).
        let mut write_failed = sent.is_err();
        if let Some(body) = rest.as_mut().filter(|_| !write_failed) {
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|e| Retry::Failed(LocalError::Send(e)))?;
                let Ok(data) = frame.into_data() else {
                    continue;
                };
                if data.is_empty() {
                    continue;
                }
                let r = if chunked {
                    let size = format!("{:x}\r\n", data.len());
                    write_all(stream, &[size.as_bytes(), &data, b"\r\n"]).await
                } else {
                    write_all(stream, &[&data]).await
                };
                if r.is_err() {
                    write_failed = true;
                    break;
                }
            }
        }
        if chunked && !write_failed {
            write_failed = write_all(stream, &[b"0\r\n\r\n"]).await.is_err();
        }
        let (resp, reusable) = read_response(stream, reading).await?;
        Ok((resp, reusable && !write_failed))
    }
}

/// Writes all of `parts` ([`crate::framing::poll_write_parts`]: one system call where it can).
async fn write_all(stream: &mut TcpStream, parts: &[&[u8]]) -> std::io::Result<()> {
    crate::framing::write_all(parts, |cx, skip| {
        crate::framing::poll_write_parts(stream, cx, parts, skip)
    })
    .await
}

/// How a response is read.
#[derive(Clone, Copy)]
struct Reading {
    /// The request was `HEAD`: no body follows, whatever the head says.
    head_request: bool,
    /// How the fields are kept.
    fields: Fields,
    /// The most body bytes accepted.
    max: usize,
}

/// Reads one response: its head (skipping interim 1xx answers), then its whole body.
async fn read_response(
    stream: &mut TcpStream,
    reading: Reading,
) -> Result<(Buffered, bool), Retry> {
    let Reading {
        head_request,
        fields,
        max,
    } = reading;
    use crate::framing::{Framing, Step};
    use tokio::io::AsyncReadExt;
    let failed = |e: String| Retry::Failed(LocalError::Send(e.into()));
    let mut buf = BytesMut::new();
    let mut got_any = false;
    let (status, version, headers, raw, delimiting) = loop {
        if !buf.is_empty() {
            match parse_response(&mut buf, fields) {
                Ok(Some((status, ..))) if status.is_informational() => {
                    if status == http::StatusCode::SWITCHING_PROTOCOLS {
                        return Err(failed("the backend switched protocols".into()));
                    }
                    continue;
                }
                Ok(Some(head)) => break head,
                Ok(None) if buf.len() > MAX_HEAD => {
                    return Err(failed("the backend's response head is too large".into()))
                }
                Ok(None) => {}
                Err(e) => return Err(failed(e)),
            }
        }
        // Through the per-thread scratch buffer: the response's buffer is as large as what
        // arrived, not a fixed 8 KB (a large allocation per request).
        let read =
            std::future::poll_fn(|cx| crate::framing::poll_read_scratch(stream, &mut buf, cx));
        let n = read.await.map_err(|e| {
            if got_any {
                failed(e.to_string())
            } else {
                Retry::Stale
            }
        })?;
        if n == 0 {
            return Err(if got_any {
                failed("the backend closed the connection in the response head".into())
            } else {
                Retry::Stale
            });
        }
        got_any = true;
    };
    let body_error = |e: &str| Retry::Failed(LocalError::Body(e.to_string()));
    let no_body = head_request
        || status == http::StatusCode::NO_CONTENT
        || status == http::StatusCode::NOT_MODIFIED;
    let mut reusable = !delimiting.close && (version == http::Version::HTTP_11 || delimiting.keep);
    let mut framing = if no_body {
        Framing::Length(0)
    } else if delimiting.coded {
        if delimiting.chunked_last {
            Framing::Chunked(crate::framing::Chunk::Size)
        } else {
            reusable = false;
            Framing::Failed
        }
    } else if let Some(e) = delimiting.bad_length {
        // The head arrived, but the body cannot be delimited: a body failure (502).
        return Err(body_error(e));
    } else {
        match delimiting.length {
            Some(n) => Framing::Length(n),
            None => {
                reusable = false;
                Framing::Failed
            }
        }
    };
    let body = if framing == Framing::Failed {
        // Delimited by the end of the connection.
        let mut body = std::mem::take(&mut buf);
        loop {
            if body.len() > max {
                return Err(body_error("the backend's response is too large"));
            }
            match stream.read_buf(&mut body).await {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => return Err(body_error(&e.to_string())),
            }
        }
        body.freeze()
    } else {
        if let Framing::Length(n) = framing {
            if n > max as u64 {
                return Err(body_error("the backend's response is too large"));
            }
        }
        // A body read in one piece (the usual case: it came with the head) is that piece,
        // sharing the head's buffer; only a second piece starts a buffer of their own.
        // (Made mutable, the shared piece was copied into an allocation of its own.)
        let mut first: Option<Bytes> = None;
        let mut out = BytesMut::new();
        loop {
            match crate::framing::step_body(&mut framing, &mut buf) {
                Step::Data(d) => {
                    if first.is_none() && out.is_empty() {
                        first = Some(d);
                    } else {
                        if let Some(f) = first.take() {
                            out.reserve(f.len() + d.len());
                            out.extend_from_slice(&f);
                        }
                        out.extend_from_slice(&d);
                    }
                    if first.as_ref().map_or(out.len(), Bytes::len) > max {
                        return Err(body_error("the backend's response is too large"));
                    }
                }
                Step::End => break,
                Step::Bad => return Err(body_error("the backend's response body is malformed")),
                Step::NeedMore(want) => {
                    buf.reserve(want.clamp(4096, 256 * 1024));
                    match stream.read_buf(&mut buf).await {
                        Ok(0) => {
                            return Err(body_error("the backend closed the connection mid-body"))
                        }
                        Ok(_) => {}
                        Err(e) => return Err(body_error(&e.to_string())),
                    }
                }
            }
        }
        // Bytes after the response: the backend is not speaking HTTP/1.1 as expected.
        if !buf.is_empty() {
            reusable = false;
        }
        first.unwrap_or_else(|| out.freeze())
    };
    Ok((
        Buffered {
            status: status.as_u16(),
            headers,
            raw,
            body,
        },
        reusable,
    ))
}

/// Parses a backend's response head out of `bytes`: status, version and headers, or the
/// error a backend call fails with (`Ok(None)`: incomplete). Tests and fuzzing.
#[allow(clippy::type_complexity)]
pub fn decode_response_head(
    bytes: &[u8],
) -> Result<Option<(http::StatusCode, http::Version, http::HeaderMap)>, String> {
    Ok(parse_response(&mut BytesMut::from(bytes), Fields::AsSent)?.map(|(s, v, h, ..)| (s, v, h)))
}

/// Backend response headers API Gateway renames to `x-amzn-Remapped-<name>` on proxy
/// integrations (`Transfer-Encoding` is dropped).
pub static REMAP_RESPONSE: [(http::HeaderName, http::HeaderName); 4] = [
    (
        http::header::CONNECTION,
        http::HeaderName::from_static("x-amzn-remapped-connection"),
    ),
    (
        http::header::CONTENT_LENGTH,
        http::HeaderName::from_static("x-amzn-remapped-content-length"),
    ),
    (
        http::header::DATE,
        http::HeaderName::from_static("x-amzn-remapped-date"),
    ),
    (
        http::header::SERVER,
        http::HeaderName::from_static("x-amzn-remapped-server"),
    ),
];

/// What a response head says about its body and its connection, gathered as its fields are
/// read (so that none is looked up again in the header map).
#[derive(Debug, Default)]
struct Delimiting {
    /// `Connection: close`.
    close: bool,
    /// `Connection: keep-alive`.
    keep: bool,
    /// A `Transfer-Encoding` field.
    coded: bool,
    /// Its last coding is `chunked`.
    chunked_last: bool,
    /// The `Content-Length`, when every one given agrees.
    length: Option<u64>,
    /// Why the `Content-Length` fields cannot be used.
    bad_length: Option<&'static str>,
}

/// The response fields the gateway itself reads or renames, told apart by name once per
/// field (a name compared for framing and again for renaming was twice the work).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Known {
    Connection,
    ContentLength,
    Date,
    Server,
    TransferEncoding,
    Other,
}

impl Known {
    /// The field named `name` (any case; a token, as every field name the parser passes
    /// is). Dispatched on the length first: most names are compared with nothing. A name
    /// of the same length is compared without branches: for token bytes, setting bit 0x20
    /// lowers a letter, keeps `-`, and makes no other byte a lower-case letter or `-`
    /// (`eq_ignore_ascii_case` lowered both sides and stopped at the first difference:
    /// 65 instructions a field).
    fn of(name: &[u8]) -> Known {
        let is = |n: &[u8]| {
            name.iter()
                .zip(n)
                .fold(0u8, |diff, (a, b)| diff | ((a | 0x20) ^ b))
                == 0
        };
        match name.len() {
            10 if is(b"connection") => Known::Connection,
            14 if is(b"content-length") => Known::ContentLength,
            4 if is(b"date") => Known::Date,
            6 if is(b"server") => Known::Server,
            17 if is(b"transfer-encoding") => Known::TransferEncoding,
            _ => Known::Other,
        }
    }
}

impl Delimiting {
    /// Notes what a field of kind `known` says.
    fn see(&mut self, known: Known, value: &[u8]) {
        use crate::framing::{add_length, connection_value, value_tokens, BadLength};
        match known {
            Known::Connection => connection_value(value, &mut self.close, &mut self.keep),
            Known::TransferEncoding => {
                self.coded = true;
                for t in value_tokens(value) {
                    self.chunked_last = t.eq_ignore_ascii_case(b"chunked");
                }
            }
            Known::ContentLength if self.bad_length.is_none() => {
                self.bad_length = add_length(value, &mut self.length).err().map(|e| match e {
                    BadLength::Invalid => "the backend sent an invalid Content-Length",
                    BadLength::Differing => "the backend sent differing Content-Lengths",
                });
            }
            _ => {}
        }
    }
}

/// The name a proxy response's field is kept under: renamed or dropped as API Gateway does
/// ([`remapped`]).
pub(super) fn kept_as(name: http::HeaderName) -> Option<http::HeaderName> {
    let known = Known::of(name.as_str().as_bytes());
    known_kept_as(name, known)
}

/// [`kept_as`] for a field whose kind is known already.
fn known_kept_as(name: http::HeaderName, known: Known) -> Option<http::HeaderName> {
    match remapped(known)? {
        Some(to) => Some(to.clone()),
        None => Some(name),
    }
}

type ResponseHead = (
    http::StatusCode,
    http::Version,
    http::HeaderMap,
    Option<Box<crate::framing::RawFields>>,
    Delimiting,
);

/// What API Gateway does with a proxy response's field of kind `known`: `None` to drop
/// it, `Some(None)` to keep it, `Some(Some(new))` to rename it ([`REMAP_RESPONSE`]).
fn remapped(known: Known) -> Option<Option<&'static http::HeaderName>> {
    Some(match known {
        Known::Connection => Some(&REMAP_RESPONSE[0].1),
        Known::ContentLength => Some(&REMAP_RESPONSE[1].1),
        Known::Date => Some(&REMAP_RESPONSE[2].1),
        Known::Server => Some(&REMAP_RESPONSE[3].1),
        Known::TransferEncoding => return None,
        Known::Other => None,
    })
}

/// Parses a response head from `buf` (consumed when complete).
fn parse_response(buf: &mut BytesMut, fields: Fields) -> Result<Option<ResponseHead>, String> {
    // Uninitialised fields: httparse writes what it finds (initialising all that are
    // allowed cost a 3 KB copy per response).
    let mut headers = [const { std::mem::MaybeUninit::uninit() }; MAX_HEADERS];
    let mut resp = httparse::Response::new(&mut []);
    let parsed = httparse::ParserConfig::default().parse_response_with_uninit_headers(
        &mut resp,
        buf,
        &mut headers,
    );
    let len = match parsed {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            return Err("invalid response from the backend: too many headers".to_string())
        }
        Err(e) => return Err(format!("invalid response from the backend: {e}")),
    };
    let invalid = |m: &str| m.to_string();
    let status = resp
        .code
        .and_then(|c| http::StatusCode::from_u16(c).ok())
        .ok_or_else(|| invalid("invalid status from the backend"))?;
    let version = if resp.version == Some(0) {
        http::Version::HTTP_10
    } else {
        http::Version::HTTP_11
    };
    let mut delimiting = Delimiting::default();
    if fields == Fields::Raw {
        // httparse took only tokens for names and visible bytes, spaces and tabs for
        // values: what the header map would refuse was refused already. The kept fields
        // go straight into their box from the parser's (a list of spans first, and the
        // fields moved into the box after, were three copies of a few hundred bytes).
        let mut raw = crate::framing::RawFields::boxed();
        for f in resp.headers.iter() {
            let known = Known::of(f.name.as_bytes());
            delimiting.see(known, f.value);
            if let Some(renamed) = remapped(known) {
                raw.keep(crate::framing::Span::of(buf, f), renamed);
            }
        }
        raw.set_head(buf.split_to(len).freeze());
        return Ok(Some((
            status,
            version,
            http::HeaderMap::new(),
            Some(raw),
            delimiting,
        )));
    }
    let spans = crate::framing::spans(buf, resp.headers);
    let head = buf.split_to(len).freeze();
    let mut map = http::HeaderMap::with_capacity(spans.len() + EXTRA_HEADERS);
    for f in &spans {
        let name = http::HeaderName::from_bytes(f.name(&head))
            .map_err(|_| invalid("invalid header name from the backend"))?;
        let value = f.value(&head);
        let known = Known::of(name.as_str().as_bytes());
        delimiting.see(known, value);
        let value = http::HeaderValue::from_maybe_shared(head.slice_ref(value))
            .map_err(|_| invalid("invalid header value from the backend"))?;
        let kept = if fields == Fields::Remapped {
            known_kept_as(name, known)
        } else {
            Some(name)
        };
        if let Some(name) = kept {
            map.append(name, value);
        }
    }
    Ok(Some((status, version, map, None, delimiting)))
}

/// [`address`], remembered for the last authority this worker sent to: a generated URL
/// names the same backend request after request, and parsing it cost a tenth of the
/// pool's own work.
fn remembered_address(authority: &str) -> Option<SocketAddr> {
    thread_local! {
        static LAST: std::cell::RefCell<(String, Option<SocketAddr>)> =
            const { std::cell::RefCell::new((String::new(), None)) };
    }
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        if last.1.is_none() || last.0 != authority {
            let addr = address(authority)?;
            last.0.clear();
            last.0.push_str(authority);
            last.1 = Some(addr);
        }
        last.1
    })
}

/// The address of an authority that is an IP literal (`10.0.0.7:8080`, `[::1]`, port 80 by
/// default); `None` for a name or anything else (user information, an empty port).
fn address(authority: &str) -> Option<SocketAddr> {
    if let Ok(a) = authority.parse() {
        return Some(a);
    }
    let host = authority
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(authority);
    Some(SocketAddr::new(host.parse().ok()?, 80))
}

/// A new connection to `addr` (10 s to connect, as the legacy client).
async fn connect(addr: SocketAddr) -> Result<TcpStream, crate::BoxError> {
    let stream = tokio::time::timeout(Duration::from_secs(10), TcpStream::connect(addr))
        .await
        .map_err(|_| format!("connecting to {addr} timed out"))??;
    stream.set_nodelay(true)?;
    Ok(stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The remembered address follows the authority asked for, names and all.
    #[test]
    fn remembered_addresses_follow_the_authority() {
        let v4: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let v6: SocketAddr = "[::1]:80".parse().unwrap();
        for (authority, expected) in [
            ("127.0.0.1:8080", Some(v4)),
            ("127.0.0.1:8080", Some(v4)),
            ("[::1]", Some(v6)),
            ("backend.internal:8080", None),
            ("[::1]", Some(v6)),
            ("127.0.0.1:8080", Some(v4)),
            ("127.0.0.1:", None),
        ] {
            assert_eq!(remembered_address(authority), expected, "{authority}");
        }
    }

    /// Every known name is told apart in any case and from every name one token byte away.
    #[test]
    fn known_names_in_any_case_and_nothing_else() {
        let tokens: Vec<u8> = (0u8..128)
            .filter(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(b))
            .collect();
        for (name, known) in [
            ("connection", Known::Connection),
            ("content-length", Known::ContentLength),
            ("date", Known::Date),
            ("server", Known::Server),
            ("transfer-encoding", Known::TransferEncoding),
        ] {
            assert_eq!(Known::of(name.as_bytes()), known);
            assert_eq!(Known::of(name.to_ascii_uppercase().as_bytes()), known);
            for at in 0..name.len() {
                for &b in &tokens {
                    let mut other = name.as_bytes().to_vec();
                    other[at] = b;
                    let same = b.to_ascii_lowercase() == name.as_bytes()[at];
                    let want = if same { known } else { Known::Other };
                    assert_eq!(
                        Known::of(&other),
                        want,
                        "{:?}",
                        String::from_utf8_lossy(&other)
                    );
                }
            }
        }
    }

    fn parse(head: &str, remap: bool) -> ResponseHead {
        let fields = if remap {
            Fields::Remapped
        } else {
            Fields::AsSent
        };
        parse_response(&mut BytesMut::from(head), fields)
            .unwrap()
            .unwrap()
    }

    #[test]
    fn proxy_heads_are_renamed_as_they_are_read() {
        let head = "HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: today\r\nTransfer-Encoding: gzip, chunked\r\n\
                    Connection: keep-alive, close\r\nX-A: 1\r\n\r\n";
        let (_, _, map, _, d) = parse(head, true);
        let names: Vec<_> = map.keys().map(|k| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "x-amzn-remapped-server",
                "x-amzn-remapped-date",
                "x-amzn-remapped-connection",
                "x-a"
            ]
        );
        assert!(d.coded && d.chunked_last && d.close && d.keep);
        let (_, _, map, ..) = parse(head, false);
        let names: Vec<_> = map.keys().map(|k| k.as_str()).collect();
        assert_eq!(
            names,
            ["server", "date", "transfer-encoding", "connection", "x-a"]
        );
    }

    #[test]
    fn lengths_are_checked_as_they_are_read() {
        let d = parse(
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 5, 5\r\n\r\n",
            true,
        )
        .4;
        assert_eq!((d.length, d.bad_length), (Some(5), None));
        let d = parse(
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
            true,
        )
        .4;
        assert_eq!(
            d.bad_length,
            Some("the backend sent differing Content-Lengths")
        );
        let d = parse("HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\n", false).4;
        assert_eq!(
            d.bad_length,
            Some("the backend sent an invalid Content-Length")
        );
        let d = parse(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
            false,
        )
        .4;
        assert!(d.coded && !d.chunked_last);
        let d = parse("HTTP/1.1 204 No Content\r\n\r\n", false).4;
        assert!(!d.coded && d.length.is_none() && !d.close);
    }

    #[test]
    fn heads_with_many_fields_are_read_whole() {
        let mut head = String::from("HTTP/1.1 200 OK\r\n");
        for i in 0..60 {
            head.push_str(&format!("X-{i}: {i}\r\n"));
        }
        head.push_str("\r\n");
        assert_eq!(parse(&head, false).2.len(), 60);
        head.insert_str(17, &"X-More: 1\r\n".repeat(MAX_HEADERS));
        assert!(
            parse_response(&mut BytesMut::from(head.as_str()), Fields::AsSent)
                .unwrap_err()
                .contains("too many headers")
        );
    }

    #[test]
    fn raw_fields_pass_on_what_the_remapped_map_holds() {
        let heads = [
            "HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: today\r\nTransfer-Encoding: gzip, chunked\r\n\
             Connection: keep-alive, close\r\nX-A: 1\r\nSet-Cookie: a=1\r\nX-B: 2\r\nset-cookie: b=2\r\n\r\n",
            "HTTP/1.1 404 Not Found\r\nCONTENT-LENGTH: 5\r\ncontent-length: 5\r\nX-Amzn-RequestId: r\r\n\r\n",
            "HTTP/1.1 204 No Content\r\n\r\n",
        ];
        for head in heads {
            let (status, version, map, raw, d) = parse(head, true);
            assert!(raw.is_none());
            let (s2, v2, empty, raw, d2) = parse_response(&mut BytesMut::from(head), Fields::Raw)
                .unwrap()
                .unwrap();
            assert_eq!((status, version), (s2, v2));
            assert!(empty.is_empty());
            assert_eq!(format!("{d:?}"), format!("{d2:?}"));
            let raw = raw.unwrap();
            assert_eq!(raw.has_request_id(), map.contains_key("x-amzn-requestid"));
            let mut resp = http::Response::new(crate::Body::default().with_raw_fields(raw));
            crate::framing::RawFields::materialize(&mut resp);
            assert_eq!(resp.headers(), &map, "{head}");
            assert!(resp.body().raw_fields().is_none());
        }
    }
}
