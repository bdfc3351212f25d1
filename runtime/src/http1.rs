//! specgate's HTTP/1.1 server connection (plaintext, and TLS connections that negotiate
//! `http/1.1`); HTTP/2 stays with hyper.
//!
//! Why by hand (DESIGN.md names hyper for HTTP): hyper's server connection keeps an 8 KB
//! read buffer, a write buffer and the service's future inline for the whole life of a
//! connection — 23 KB per idle keep-alive connection (issue 13) — and its dispatcher was
//! the largest user-space item in the profile of a proxied request (issue 20). A gateway's
//! connection is simpler than a general server's: requests are small, there is no upgrade
//! (WebSocket is not served over this path), the handler is one known function. So:
//!
//! - **Nothing allocated while a connection waits.** A silent connection is read through a
//!   per-thread scratch buffer; its own buffer exists only while a request is being read,
//!   and the handler's future is boxed per request rather than held inline.
//! - **One write per response** where the socket allows: head and body go out in one
//!   vectored write, the `Date` header comes from a per-thread cache.
//! - **Parsing is httparse's** (hyper's parser); framing follows RFC 9112 and is strict
//!   where request smuggling lives: `Transfer-Encoding` together with `Content-Length`,
//!   differing `Content-Length`s, an empty or overlong chunk size, a chunk longer than
//!   declared, or a transfer coding other than `chunked` are refused (400, or 501 for an
//!   unknown coding), and the connection is closed.
//!
//! The request body is read by whoever polls it (the handler, or the upstream client's
//! task when a proxied body streams to a backend) through the connection's shared state;
//! the lock is never held across an await. When the handler answers before the body has
//! been read, the part already received is skipped and the connection kept; otherwise the
//! answer carries `Connection: close`, and the rest of the upload is read and discarded for
//! a moment after it (a lingering close), so that the client sees the answer and not a reset.

use std::cell::RefCell;
use std::future::{poll_fn, Future};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use http::header::{HeaderValue, CONNECTION};
use http::{Method, StatusCode, Version};
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::{Instant, Sleep};

use crate::framing::{
    add_length, poll_read_scratch, step_body, step_body_keeping, Chunk, Framing, Step,
};
use crate::headers::Headers;
use crate::Response;

/// The most bytes a request head (request line and headers) may take. A little over API
/// Gateway's 10,240-byte limit, so that heads just over it are parsed and answered with
/// API Gateway's own 431 by the handler rather than cut off here.
pub const MAX_HEAD: usize = 16 * 1024;
/// The most header fields in a request head (hyper's default).
const MAX_HEADERS: usize = 100;
/// Reads of a request body ask for at most this much at once.
const BODY_READ: usize = 64 * 1024;
/// The HTTP/2 connection preface (prior knowledge, h2c).
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// How long the rest of an unread upload is read and discarded after the answer.
const LINGER: Duration = Duration::from_secs(2);
/// The most bytes discarded that way.
const LINGER_BYTES: u64 = 64 * 1024 * 1024;

/// A byte stream a connection is served over: TCP, or TLS over TCP.
pub trait Stream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Stream for T {}

/// A type-erased stream: the connection code is compiled once, in this crate, not once
/// per generated gateway and transport (one dynamic call per read or write).
pub type BoxStream = Box<dyn Stream>;

/// The future answering one request.
pub type Answer = Pin<Box<dyn Future<Output = Response> + Send>>;

/// What a connection calls for each request (the gateway's handler).
pub type Service =
    Arc<dyn Fn(http::Request<RequestBody>, Headers, SocketAddr) -> Answer + Send + Sync>;

thread_local! {
    static DATE_CACHE: RefCell<(u64, [u8; 29])> = const { RefCell::new((u64::MAX, [0u8; 29])) };
    /// When the service finished the answer it just returned ([`answered_at`]).
    static ANSWERED_AT: std::cell::Cell<Option<std::time::SystemTime>> =
        const { std::cell::Cell::new(None) };
}

/// Called by the service as it finishes an answer, with the clock reading it took for the
/// request's latency: the answer's `Date` is written from it instead of a second reading of
/// the clock (one of a proxied request's six). [`serve`] takes it in the same poll that
/// completes the service's future, so it never belongs to another answer; an answer whose
/// service did not leave one reads the clock.
pub fn answered_at(time: std::time::SystemTime) {
    ANSWERED_AT.set(Some(time));
}

/// Reads into `buf` itself (a request head or body under way).
fn poll_read_into(
    io: &mut BoxStream,
    buf: &mut BytesMut,
    want: usize,
    cx: &mut Context<'_>,
) -> Poll<io::Result<usize>> {
    if buf.capacity() == buf.len() {
        buf.reserve(want.clamp(1024, BODY_READ));
    }
    tokio_util::io::poll_read_buf(Pin::new(&mut **io), cx, buf)
}

/// The RFC 7231 date of `now` (else the current second), formatted once per second per
/// thread.
fn write_date(out: &mut Vec<u8>, now: Option<std::time::SystemTime>) {
    let now = now.unwrap_or_else(std::time::SystemTime::now);
    let secs = now
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    DATE_CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.0 != secs {
            let s = httpdate::fmt_http_date(now);
            if s.len() == 29 {
                c.1.copy_from_slice(s.as_bytes());
                c.0 = secs;
            } else {
                out.extend_from_slice(s.as_bytes());
                return;
            }
        }
        out.extend_from_slice(&c.1);
    });
}

// ---------------------------------------------------------------------------------------
// Draining

/// A worker's drain signal: once started, idle connections close, requests in flight are
/// answered with `Connection: close`, and [`Drain::requests_done`] tells when none is left.
#[derive(Clone, Default)]
pub struct Drain(Arc<DrainState>);

#[derive(Default)]
struct DrainState {
    draining: AtomicBool,
    started: Notify,
    busy: AtomicUsize,
    done: Notify,
}

impl Drain {
    /// Starts draining.
    pub fn start(&self) {
        self.0.draining.store(true, Ordering::SeqCst);
        self.0.started.notify_waiters();
        self.0.done.notify_waiters();
    }

    fn draining(&self) -> bool {
        self.0.draining.load(Ordering::Relaxed)
    }

    /// Resolves once draining has started and no request is in flight.
    pub async fn requests_done(&self) {
        loop {
            let done = self.0.done.notified();
            tokio::pin!(done);
            done.as_mut().enable();
            if self.draining() && self.0.busy.load(Ordering::SeqCst) == 0 {
                return;
            }
            done.await;
        }
    }

    fn busy(&self) -> Busy<'_> {
        self.0.busy.fetch_add(1, Ordering::SeqCst);
        Busy(self)
    }
}

/// A request in flight.
struct Busy<'a>(&'a Drain);

impl Drop for Busy<'_> {
    fn drop(&mut self) {
        if self.0 .0.busy.fetch_sub(1, Ordering::SeqCst) == 1 && self.0.draining() {
            self.0 .0.done.notify_waiters();
        }
    }
}

// ---------------------------------------------------------------------------------------
// Protocol detection

/// What a new plaintext connection speaks.
pub enum Start {
    /// The client went away (or stayed silent past the first-byte timeout) before a
    /// request.
    Closed,
    /// HTTP/1: serve it with [`serve`], starting from these bytes.
    Http1(BoxStream, BytesMut),
    /// The HTTP/2 preface: hand the stream (which replays what was read) to hyper.
    Http2(Prefixed),
}

/// Reads a new connection's first bytes — through the scratch buffer, so that a silent
/// connection holds no buffer — and tells HTTP/1 from the HTTP/2 preface.
pub async fn start(mut io: BoxStream) -> Start {
    let mut buf = BytesMut::new();
    loop {
        match poll_fn(|cx| poll_read_scratch(&mut *io, &mut buf, cx)).await {
            Ok(0) | Err(_) => return Start::Closed,
            Ok(_) => {}
        }
        let n = buf.len().min(H2_PREFACE.len());
        if buf[..n] != H2_PREFACE[..n] {
            return Start::Http1(io, buf);
        }
        if n == H2_PREFACE.len() {
            return Start::Http2(Prefixed {
                pre: buf.freeze(),
                io,
            });
        }
    }
}

/// A stream that first replays bytes already read from it.
pub struct Prefixed {
    pre: Bytes,
    io: BoxStream,
}

impl AsyncRead for Prefixed {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.pre.is_empty() {
            let n = self.pre.len().min(buf.remaining());
            buf.put_slice(&self.pre[..n]);
            self.pre.advance(n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut *self.io).poll_read(cx, buf)
    }
}

impl AsyncWrite for Prefixed {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut *self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut *self.io).poll_shutdown(cx)
    }
}

// ---------------------------------------------------------------------------------------
// Request heads

/// A parsed request head.
struct Head {
    parts: http::request::Parts,
    headers: Headers,
    framing: Framing,
    keep_alive: bool,
    expect_continue: bool,
}

/// The outcome of parsing the buffered bytes as a request head.
enum Parsed {
    Head(Box<Head>),
    Partial,
    Reject(StatusCode),
}

fn parse_head(buf: &mut BytesMut) -> Parsed {
    // Uninitialised: httparse writes what it finds (a 3 KB memset per request otherwise).
    let mut headers = [const { std::mem::MaybeUninit::uninit() }; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut []);
    let len = match req.parse_with_uninit_headers(buf, &mut headers) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        Err(httparse::Error::TooManyHeaders) => {
            return Parsed::Reject(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
        }
        Err(_) => return Parsed::Reject(StatusCode::BAD_REQUEST),
    };
    let version = match req.version {
        Some(0) => Version::HTTP_10,
        Some(1) => Version::HTTP_11,
        _ => return Parsed::Reject(StatusCode::HTTP_VERSION_NOT_SUPPORTED),
    };
    let Ok(method) = Method::from_bytes(req.method.unwrap_or_default().as_bytes()) else {
        return Parsed::Reject(StatusCode::BAD_REQUEST);
    };
    // The fields that decide framing and persistence, noted as they go by so that a
    // request without them is not looked up for them. Dispatched on the length first.
    let (mut length, mut coded, mut connection, mut expect) = (false, false, false, false);
    for f in req.headers.iter() {
        let name = f.name.as_bytes();
        let is = |n: &[u8]| name.eq_ignore_ascii_case(n);
        match name.len() {
            14 => length |= is(b"content-length"),
            17 => coded |= is(b"transfer-encoding"),
            10 => connection |= is(b"connection"),
            6 => expect |= is(b"expect"),
            _ => {}
        }
    }
    // Where the target and each field sit in the buffer, so that the head can be frozen
    // and its parts shared rather than copied. The fields stay there (`Headers`): a
    // header map is built only for what asks for one.
    let target = crate::framing::range(buf, req.path.unwrap_or_default().as_bytes());
    let fields: Vec<_> = crate::framing::field_spans(buf, req.headers).collect();
    // A buffer holding exactly this head is frozen whole (splitting it would allocate).
    let head = if len == buf.len() {
        std::mem::take(buf).freeze()
    } else {
        buf.split_to(len).freeze()
    };
    let Ok(uri) = http::Uri::from_maybe_shared(head.slice(target.0 as usize..target.1 as usize))
    else {
        return Parsed::Reject(StatusCode::BAD_REQUEST);
    };
    let headers = Headers::raw(head, fields);
    let framing = if length || coded {
        match framing(&headers, version, coded, length) {
            Ok(f) => f,
            Err(status) => return Parsed::Reject(status),
        }
    } else {
        Framing::Length(0)
    };
    let (mut close, mut keep) = (false, false);
    if connection {
        for v in headers.values("connection") {
            crate::framing::connection_value(v, &mut close, &mut keep);
        }
    }
    let keep_alive = !close && (version == Version::HTTP_11 || keep);
    let expect_continue = expect
        && version == Version::HTTP_11
        && framing != Framing::Length(0)
        && headers
            .value("expect")
            .is_some_and(|v| v.eq_ignore_ascii_case(b"100-continue"));
    let mut parts = http::Request::new(()).into_parts().0;
    parts.method = method;
    parts.uri = uri;
    parts.version = version;
    Parsed::Head(Box::new(Head {
        parts,
        headers,
        framing,
        keep_alive,
        expect_continue,
    }))
}

/// The request body's framing (RFC 9112 §6), refusing what smuggling is made of. `coded`
/// and `length`: whether the head has a `Transfer-Encoding` and a `Content-Length` field.
fn framing(
    headers: &Headers,
    version: Version,
    coded: bool,
    length: bool,
) -> Result<Framing, StatusCode> {
    if coded {
        // Both framings at once, or chunked in HTTP/1.0: the two ends of a chain of
        // servers may disagree on where this request ends.
        if length || version == Version::HTTP_10 {
            return Err(StatusCode::BAD_REQUEST);
        }
        let codings: Vec<&[u8]> = headers
            .values("transfer-encoding")
            .flat_map(crate::framing::value_tokens)
            .collect();
        return match codings.as_slice() {
            [one] if one.eq_ignore_ascii_case(b"chunked") => Ok(Framing::Chunked(Chunk::Size)),
            // Chunked last, after a coding the gateway cannot undo (gzip, …).
            [.., last] if last.eq_ignore_ascii_case(b"chunked") => Err(StatusCode::NOT_IMPLEMENTED),
            // Without chunked last, a request's length cannot be known.
            _ => Err(StatusCode::BAD_REQUEST),
        };
    }
    let mut total: Option<u64> = None;
    for v in headers.values("content-length") {
        add_length(v, &mut total).map_err(|_| StatusCode::BAD_REQUEST)?;
    }
    // A Content-Length field with no value at all.
    if total.is_none() && length {
        return Err(StatusCode::BAD_REQUEST);
    }
    Ok(Framing::Length(total.unwrap_or(0)))
}

/// Parses one request — head and body — out of `bytes` fed `step` bytes at a time, as a
/// connection would: the head's parts and the decoded body, or the status a connection
/// answers with (`Err(None)`: the bytes end before the request does). Tests and fuzzing.
pub fn decode_request(
    bytes: &[u8],
    step: usize,
) -> Result<(http::request::Parts, Vec<u8>), Option<StatusCode>> {
    let step = step.max(1);
    let mut buf = BytesMut::new();
    let mut fed = 0;
    let head = loop {
        match parse_head(&mut buf) {
            Parsed::Head(h) => break h,
            Parsed::Reject(status) => return Err(Some(status)),
            Parsed::Partial if buf.len() >= MAX_HEAD => {
                return Err(Some(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE))
            }
            Parsed::Partial => {}
        }
        if fed == bytes.len() {
            return Err(None);
        }
        let n = step.min(bytes.len() - fed);
        buf.extend_from_slice(&bytes[fed..fed + n]);
        fed += n;
    };
    let mut framing = head.framing;
    let mut body = Vec::new();
    loop {
        match step_body(&mut framing, &mut buf) {
            Step::Data(d) => body.extend_from_slice(&d),
            Step::End => {
                let mut head = *head;
                head.parts.headers = head.headers.into_map();
                return Ok((head.parts, body));
            }
            Step::Bad => return Err(Some(StatusCode::BAD_REQUEST)),
            Step::NeedMore(_) => {
                if fed == bytes.len() {
                    return Err(None);
                }
                let n = step.min(bytes.len() - fed);
                buf.extend_from_slice(&bytes[fed..fed + n]);
                fed += n;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// The connection's shared state and the request body

/// The connection's state, shared by the connection and the request body being read.
struct Shared {
    io: BoxStream,
    buf: BytesMut,
    framing: Framing,
    /// Bytes of `100 Continue` still to send before the body is read (`None`: none owed).
    continue_sent: Option<usize>,
    /// The current request's chunked trailer field lines, on a connection that keeps
    /// them ([`Settings::keep_trailers`]; `None`: skipped).
    trailers: Option<Vec<Bytes>>,
}

const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

impl Shared {
    fn step(&mut self) -> Step {
        step_body_keeping(&mut self.framing, &mut self.buf, self.trailers.as_mut())
    }

    /// The next piece of the body, reading from the connection as needed.
    fn poll_body(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Bytes, BodyError>>> {
        // `Expect: 100-continue`: the client sends the body once told to.
        while let Some(sent) = self.continue_sent.filter(|&s| s < CONTINUE.len()) {
            if self.framing == Framing::Failed {
                break;
            }
            match Pin::new(&mut *self.io).poll_write(cx, &CONTINUE[sent..]) {
                Poll::Ready(Ok(n)) if n > 0 => self.continue_sent = Some(sent + n),
                Poll::Ready(_) => self.framing = Framing::Failed,
                Poll::Pending => return Poll::Pending,
            }
        }
        loop {
            match self.step() {
                Step::Data(b) => return Poll::Ready(Some(Ok(b))),
                Step::End => return Poll::Ready(None),
                Step::Bad => return Poll::Ready(Some(Err(BodyError))),
                Step::NeedMore(want) => {
                    match poll_read_into(&mut self.io, &mut self.buf, want, cx) {
                        Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => {
                            self.framing = Framing::Failed;
                            return Poll::Ready(Some(Err(BodyError)));
                        }
                        Poll::Ready(Ok(_)) => {}
                        Poll::Pending => return Poll::Pending,
                    }
                }
            }
        }
    }

    /// After the answer: skips the rest of an unread body if it has all arrived already.
    /// `false` when it has not (the connection cannot be reused) or it was broken.
    fn skip_buffered_body(&mut self) -> bool {
        if self.continue_sent == Some(0) {
            // `Expect: 100-continue` never answered: the client holds the body back.
            return matches!(self.framing, Framing::Done | Framing::Length(0));
        }
        loop {
            match self.step() {
                Step::Data(_) => {}
                Step::End => return true,
                Step::Bad | Step::NeedMore(_) => {
                    self.framing = Framing::Failed;
                    return false;
                }
            }
        }
    }
}

/// The connection's state, shared by the connection and the request body being read.
type SharedConn = Arc<Mutex<Shared>>;

fn lock(c: &SharedConn) -> MutexGuard<'_, Shared> {
    c.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The request body could not be read: broken framing, or the connection failed or ended
/// before it did. [`crate::body::ClientBody`] turns this into the client's 400.
#[derive(Debug)]
pub struct BodyError;

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("malformed or incomplete request body")
    }
}

impl std::error::Error for BodyError {}

/// A request's body, read from its connection as it is polled.
pub struct RequestBody {
    conn: Option<SharedConn>,
    /// `Content-Length` bytes not yet delivered (`None`: chunked).
    left: Option<u64>,
    ended: bool,
}

impl RequestBody {
    /// Whether the request has no body at all.
    pub fn is_empty(&self) -> bool {
        self.conn.is_none()
    }
}

impl HttpBody for RequestBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = &mut *self;
        let Some(conn) = this.conn.as_ref().filter(|_| !this.ended) else {
            return Poll::Ready(None);
        };
        let polled = lock(conn).poll_body(cx);
        match polled {
            Poll::Ready(Some(Ok(data))) => {
                if let Some(left) = this.left.as_mut() {
                    *left -= data.len() as u64;
                }
                Poll::Ready(Some(Ok(Frame::data(data))))
            }
            Poll::Ready(Some(Err(e))) => {
                this.ended = true;
                Poll::Ready(Some(Err(e)))
            }
            Poll::Ready(None) => {
                this.ended = true;
                let kept = lock(conn).trailers.take().filter(|t| !t.is_empty());
                Poll::Ready(kept.map(|lines| Ok(Frame::trailers(trailer_fields(&lines)))))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.conn.is_none() || self.ended || self.left == Some(0)
    }

    fn size_hint(&self) -> SizeHint {
        match (self.conn.is_none(), self.left) {
            (true, _) => SizeHint::with_exact(0),
            (false, Some(n)) => SizeHint::with_exact(n),
            (false, None) => SizeHint::default(),
        }
    }
}

/// Trailer field lines as a header map; a line that is not a valid field is left out.
fn trailer_fields(lines: &[Bytes]) -> http::HeaderMap {
    let mut map = http::HeaderMap::with_capacity(lines.len());
    for line in lines {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        let value = line[colon + 1..].trim_ascii();
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(&line[..colon]),
            http::HeaderValue::from_bytes(value),
        ) {
            map.append(name, value);
        }
    }
    map
}

// ---------------------------------------------------------------------------------------
// Serving

/// Timeouts of an HTTP/1 connection.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// From the end of one answer (or the connection's start) until the next request head
    /// has arrived in full.
    pub head_timeout: Duration,
    /// Whether request bodies end with their chunked trailer fields (a
    /// [`Frame::trailers`]); the gateway's do not (they are not passed on), the local
    /// Lambda Runtime API's do (a streamed response's error comes in them).
    pub keep_trailers: bool,
}

/// Serves HTTP/1.1 requests on `io` until the client closes, a timeout passes, the
/// framing breaks, or the worker drains. `buf` holds bytes already read.
pub async fn serve(
    io: BoxStream,
    buf: BytesMut,
    peer: SocketAddr,
    settings: Settings,
    drain: Drain,
    service: Service,
) {
    let conn: SharedConn = Arc::new(Mutex::new(Shared {
        io,
        buf,
        framing: Framing::Done,
        continue_sent: None,
        trailers: None,
    }));
    let mut timer: Option<Pin<Box<Sleep>>> = None;
    // Registered with the drain signal once for the connection's life, not once per head
    // (each registration and removal locks the worker's list of waiters).
    let drained = drain.0.started.notified();
    tokio::pin!(drained);
    drained.as_mut().enable();
    loop {
        let waiting = read_head(
            &conn,
            &mut timer,
            settings.head_timeout,
            &drain,
            drained.as_mut(),
        );
        let head = match waiting.await {
            Ok(Some(h)) => h,
            Ok(None) => return,
            Err(status) => {
                let _ = write_response(&conn, reject(status), false, Version::HTTP_11, true, None)
                    .await;
                linger(&conn).await;
                return;
            }
        };
        let busy = drain.busy();
        let Head {
            parts,
            headers,
            framing,
            keep_alive,
            expect_continue,
        } = *head;
        let head_request = parts.method == Method::HEAD;
        let version = parts.version;
        let body = {
            let mut c = lock(&conn);
            c.framing = framing;
            c.continue_sent = expect_continue.then_some(0);
            c.trailers = settings.keep_trailers.then(Vec::new);
            match framing {
                Framing::Length(0) => RequestBody {
                    conn: None,
                    left: Some(0),
                    ended: true,
                },
                Framing::Length(n) => RequestBody {
                    conn: Some(conn.clone()),
                    left: Some(n),
                    ended: false,
                },
                _ => RequestBody {
                    conn: Some(conn.clone()),
                    left: None,
                    ended: false,
                },
            }
        };
        let response = service(http::Request::from_parts(parts, body), headers, peer).await;
        let answered = ANSWERED_AT.take();
        let wants_close = response
            .headers()
            .get_all(CONNECTION)
            .iter()
            .any(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
        let body_done = lock(&conn).skip_buffered_body();
        let close = !keep_alive || wants_close || drain.draining() || !body_done;
        let written = write_response(&conn, response, head_request, version, close, answered).await;
        drop(busy);
        if !matches!(written, Ok(true)) {
            if written.is_ok() && !body_done {
                linger(&conn).await;
            } else {
                let _ = poll_fn(|cx| Pin::new(&mut *lock(&conn).io).poll_shutdown(cx)).await;
            }
            return;
        }
        // Release the buffer of a connection that has nothing pending: it waits for its
        // next request holding none (pipelined bytes stay).
        let mut c = lock(&conn);
        if c.buf.is_empty() {
            c.buf = BytesMut::new();
        }
    }
}

/// Waits for and parses the next request head: `Ok(None)` when the connection ends
/// quietly (closed, timed out or drained between requests), `Err` with the status to
/// answer a head that cannot be served.
async fn read_head(
    conn: &SharedConn,
    timer: &mut Option<Pin<Box<Sleep>>>,
    timeout: Duration,
    drain: &Drain,
    // The connection's registration with the drain signal.
    mut drained: Pin<&mut tokio::sync::futures::Notified<'_>>,
) -> Result<Option<Box<Head>>, StatusCode> {
    // Read from the clock when the head is first waited for (not at all for one that is
    // already buffered, as a pipelined one is).
    let mut deadline: Option<Instant> = None;
    loop {
        let waiting_quietly = {
            let mut c = lock(conn);
            if !c.buf.is_empty() {
                match parse_head(&mut c.buf) {
                    Parsed::Head(h) => return Ok(Some(h)),
                    Parsed::Reject(status) => return Err(status),
                    Parsed::Partial if c.buf.len() >= MAX_HEAD => {
                        return Err(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
                    }
                    Parsed::Partial => false,
                }
            } else {
                true
            }
        };
        if waiting_quietly && drain.draining() {
            return Ok(None);
        }
        let read = poll_fn(|cx| {
            let mut c = lock(conn);
            let c = &mut *c;
            let polled = if c.buf.is_empty() {
                poll_read_scratch(&mut *c.io, &mut c.buf, cx)
            } else {
                poll_read_into(&mut c.io, &mut c.buf, 4096, cx)
            };
            match polled {
                Poll::Ready(r) => return Poll::Ready(Some(r)),
                Poll::Pending => {}
            }
            if c.buf.is_empty() && drained.as_mut().poll(cx).is_ready() {
                return Poll::Ready(None);
            }
            // The connection's timer, kept from one head to the next: no timer-wheel update
            // per request.
            let due = *deadline.get_or_insert_with(|| Instant::now() + timeout);
            crate::conn::poll_deadline(timer, due, cx).map(|()| None)
        })
        .await;
        match read {
            Some(Ok(n)) if n > 0 => {}
            // Closed, failed, timed out, or drained: a partial head gets no answer
            // (as hyper's header-read timeout did).
            _ => return Ok(None),
        }
    }
}

/// The answer to a head that cannot be served, in API Gateway's style.
fn reject(status: StatusCode) -> Response {
    if status == StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE {
        return crate::responses::header_too_large();
    }
    let message = status.canonical_reason().unwrap_or("Bad Request");
    let mut r = http::Response::new(crate::full(format!(r#"{{"message": "{message}"}}"#)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// Encodes the status line and headers; returns the head and how the body is framed.
/// `answered`: when the answer was made ([`answered_at`]), for its `Date`.
fn encode_head(
    response: &Response,
    head_request: bool,
    version: Version,
    close: bool,
    answered: Option<std::time::SystemTime>,
) -> (crate::framing::HeadBuf, BodyFraming) {
    let status = response.status();
    let headers = response.headers();
    let no_body = head_request
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    let exact = response.body().size_hint().exact();
    let framing = if no_body {
        BodyFraming::None
    } else if let Some(n) = exact {
        BodyFraming::Length(n)
    } else if version == Version::HTTP_10 {
        // HTTP/1.0 has no chunked coding: the end of the connection ends the body.
        BodyFraming::UntilClose
    } else {
        BodyFraming::Chunked
    };
    let raw = response.body().raw_fields();
    let room = raw.map_or(0, crate::framing::RawFields::size_hint);
    let mut out = crate::framing::head_buf(160 + headers.len() * 40 + room);
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
    out.extend_from_slice(b"\r\n");
    let mut has_date = false;
    let mut has_length = false;
    // The body's own length decides, except where no body is sent: a HEAD answer or a 304
    // keeps the length the handler gave.
    let keep_length = framing == BodyFraming::None
        && status != StatusCode::NO_CONTENT
        && !status.is_informational();
    // One field, its name in lower case (the map's names are; a backend's raw ones may not be).
    let mut field = |name: &[u8], lower: bool, value: &[u8], out: &mut Vec<u8>| {
        // Dispatched on the length first: most names are compared with nothing.
        let is = |n: &[u8]| name.eq_ignore_ascii_case(n);
        match name.len() {
            10 if is(b"connection") || is(b"keep-alive") => return,
            17 if is(b"transfer-encoding") => return,
            14 if is(b"content-length") => {
                if !keep_length || has_length {
                    return;
                }
                has_length = true;
            }
            4 => has_date |= is(b"date"),
            _ => {}
        }
        let at = out.len();
        out.extend_from_slice(name);
        if !lower {
            crate::framing::lower_ascii(&mut out[at..]);
        }
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    };
    // A backend's fields passed on unparsed come first, as they would in the map.
    if let Some(raw) = raw {
        raw.each(|name, value| match name {
            crate::framing::FieldName::Sent(n) => field(n, false, value, &mut out),
            crate::framing::FieldName::Renamed(n) => {
                field(n.as_str().as_bytes(), true, value, &mut out)
            }
        });
    }
    for (name, value) in headers {
        field(name.as_str().as_bytes(), true, value.as_bytes(), &mut out);
    }
    if let Some(raw) = raw {
        // Neither framing nor a date: written as they are.
        raw.write_ids(&mut out);
    }
    match framing {
        BodyFraming::Length(n) => {
            out.extend_from_slice(b"content-length: ");
            out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        BodyFraming::Chunked => out.extend_from_slice(b"transfer-encoding: chunked\r\n"),
        BodyFraming::UntilClose => {}
        BodyFraming::None => {
            if head_request && !has_length && status != StatusCode::NO_CONTENT {
                if let Some(n) = exact {
                    out.extend_from_slice(b"content-length: ");
                    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
                    out.extend_from_slice(b"\r\n");
                }
            }
        }
    }
    if !has_date {
        out.extend_from_slice(b"date: ");
        write_date(&mut out, answered);
        out.extend_from_slice(b"\r\n");
    }
    if close || framing == BodyFraming::UntilClose {
        out.extend_from_slice(b"connection: close\r\n");
    } else if version == Version::HTTP_10 {
        out.extend_from_slice(b"connection: keep-alive\r\n");
    }
    out.extend_from_slice(b"\r\n");
    (out, framing)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyFraming {
    None,
    Length(u64),
    Chunked,
    /// HTTP/1.0 and a body of unknown length: the connection closes after it.
    UntilClose,
}

/// Writes one answer; `Ok(true)` when the connection can serve another request. HTTP/1.0
/// clients are answered in HTTP/1.1 form too, as nginx does, without chunked coding.
async fn write_response(
    conn: &SharedConn,
    response: Response,
    head_request: bool,
    version: Version,
    close: bool,
    answered: Option<std::time::SystemTime>,
) -> io::Result<bool> {
    use http_body_util::BodyExt;
    let (head, framing) = encode_head(&response, head_request, version, close, answered);
    let mut body = response.into_body();
    match framing {
        BodyFraming::None => {
            drop(body);
            write_all(conn, &[&head]).await?;
        }
        BodyFraming::Length(n) => {
            let mut sent = 0u64;
            let mut head = Some(head);
            while sent < n {
                let Some(frame) = body.frame().await else {
                    break;
                };
                let frame = frame.map_err(io::Error::other)?;
                let Ok(data) = frame.into_data() else {
                    continue;
                };
                let room = usize::try_from(n - sent).unwrap_or(usize::MAX);
                let data = &data[..data.len().min(room)];
                sent += data.len() as u64;
                match head.take() {
                    Some(h) => write_all(conn, &[&h, data]).await?,
                    None => write_all(conn, &[data]).await?,
                }
            }
            if let Some(h) = head {
                write_all(conn, &[&h]).await?;
            }
            if sent < n {
                // The body ended before its declared length: the client must not wait for
                // bytes that will never come.
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "response body shorter than its length",
                ));
            }
        }
        BodyFraming::UntilClose => {
            write_all(conn, &[&head]).await?;
            while let Some(frame) = body.frame().await {
                if let Ok(data) = frame.map_err(io::Error::other)?.into_data() {
                    write_all(conn, &[&data]).await?;
                }
            }
        }
        BodyFraming::Chunked => {
            write_all(conn, &[&head]).await?;
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(io::Error::other)?;
                let Ok(data) = frame.into_data() else {
                    continue;
                };
                if data.is_empty() {
                    continue;
                }
                let size = format!("{:x}\r\n", data.len());
                write_all(conn, &[size.as_bytes(), &data, b"\r\n"]).await?;
            }
            write_all(conn, &[b"0\r\n\r\n"]).await?;
        }
    }
    poll_fn(|cx| Pin::new(&mut *lock(conn).io).poll_flush(cx)).await?;
    Ok(!close && framing != BodyFraming::UntilClose)
}

/// Writes all of `parts` ([`crate::framing::poll_write_parts`]: one system call where it can).
async fn write_all(conn: &SharedConn, parts: &[&[u8]]) -> io::Result<()> {
    // The connection is locked per attempt, never across a wait.
    crate::framing::write_all(parts, |cx, skip| {
        crate::framing::poll_write_parts(&mut *lock(conn).io, cx, parts, skip)
    })
    .await
}

/// After an answer sent before the request's body was read: stop sending, then read and
/// discard what the client still sends for a moment, so that closing does not reset the
/// connection under an answer the client has not read yet.
async fn linger(conn: &SharedConn) {
    let _ = poll_fn(|cx| Pin::new(&mut *lock(conn).io).poll_shutdown(cx)).await;
    let discard = async {
        let mut total = 0u64;
        loop {
            let read = poll_fn(|cx| {
                let mut c = lock(conn);
                let c = &mut *c;
                c.buf.clear();
                poll_read_scratch(&mut *c.io, &mut c.buf, cx)
            })
            .await;
            match read {
                Ok(n) if n > 0 && total < LINGER_BYTES => total += n as u64,
                _ => return,
            }
        }
    };
    let _ = tokio::time::timeout(LINGER, discard).await;
}

#[cfg(test)]
mod tests;
