//! The client's request body as handlers see it: API Gateway's 10 MB limit, an idle timeout
//! between chunks, and errors that say they are the client's fault.
//!
//! A request body can fail in three ways that are the client's doing: it is longer than the
//! limit, its framing is broken (an invalid chunk size, a chunk longer than declared, the
//! connection closed before the declared length), or it stalls. Every handler path reads the
//! body through [`ClientBody`], so these errors carry a [`ClientBodyError`] wherever they
//! surface — in a buffered read, or wrapped inside the upstream client's error when an
//! `http_proxy` route streams the body to a backend — and [`client_fault`] finds it there.
//! That is how a broken upload becomes a 4xx and is never mistaken for a backend failure.

use std::error::Error as StdError;
use std::fmt;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_TYPE};
use http_body_util::BodyExt;
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use tokio::time::Sleep;

use crate::{full, BoxError, Response};

/// API Gateway's payload limit: 10 MB.
pub const MAX_BODY: u64 = 10 * 1024 * 1024;

/// Why the client's body could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientBodyError {
    /// More than the payload limit.
    TooLarge(u64),
    /// Broken framing, or the connection ended before the body did.
    Malformed,
    /// No byte of the body arrived within the body idle timeout.
    Stalled,
}

impl fmt::Display for ClientBodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientBodyError::TooLarge(limit) => {
                write!(f, "request body exceeds {limit} bytes")
            }
            ClientBodyError::Malformed => f.write_str("malformed or incomplete request body"),
            ClientBodyError::Stalled => f.write_str("request body stalled"),
        }
    }
}

impl StdError for ClientBodyError {}

impl ClientBodyError {
    /// The answer to the client.
    ///
    /// Too large: API Gateway's plain-text 413 (AWS-recorded). Malformed and stalled bodies
    /// never reach API Gateway's own code on AWS (its front end rejects them); the 400 and
    /// 408 with `{"message": …}` bodies here are specgate's choice in API Gateway's style
    /// (unverified against AWS).
    pub fn response(self) -> Response {
        let (status, body) = match self {
            ClientBodyError::TooLarge(limit) => {
                return crate::responses::request_too_large(limit);
            }
            ClientBodyError::Malformed => (
                http::StatusCode::BAD_REQUEST,
                r#"{"message": "Bad Request"}"#,
            ),
            ClientBodyError::Stalled => (
                http::StatusCode::REQUEST_TIMEOUT,
                r#"{"message": "Request Timeout"}"#,
            ),
        };
        let mut r = http::Response::new(full(body));
        *r.status_mut() = status;
        r.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        r.headers_mut().insert(
            "x-amzn-errortype",
            HeaderValue::from_static("BadRequestException"),
        );
        // The connection's framing is lost: do not try to read another request from it.
        r.headers_mut()
            .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
        r
    }
}

/// The client's fault inside `e` or any error it wraps, if there is one.
pub fn client_fault(e: &(dyn StdError + 'static)) -> Option<ClientBodyError> {
    let mut cur: Option<&(dyn StdError + 'static)> = Some(e);
    // Bounded: error chains are short, and a cyclic chain must not hang a worker.
    for _ in 0..16 {
        let err = cur?;
        if let Some(c) = err.downcast_ref::<ClientBodyError>() {
            return Some(*c);
        }
        cur = err.source();
    }
    None
}

/// The request body with the limit and idle timeout applied (see the module docs).
pub struct ClientBody<B> {
    inner: B,
    seen: u64,
    limit: u64,
    idle: Duration,
    timer: Option<Pin<Box<Sleep>>>,
    failed: bool,
}

/// A request body from specgate's HTTP/1 connection, as handlers see it.
pub fn http1(inner: crate::http1::RequestBody, idle: Duration) -> crate::Body {
    if inner.is_empty() {
        return empty();
    }
    crate::Body::new(ClientBody::new(inner, MAX_BODY, idle))
}

/// A request body from hyper's HTTP/2 connection, as handlers see it.
pub fn http2(inner: Incoming, idle: Duration) -> crate::Body {
    if inner.is_end_stream() {
        return empty();
    }
    crate::Body::new(ClientBody::new(inner, MAX_BODY, idle))
}

/// An empty request body (no allocation).
fn empty() -> crate::Body {
    crate::Body::default()
}

impl<B> ClientBody<B>
where
    B: HttpBody<Data = Bytes> + Send + Sync + Unpin + 'static,
{
    /// Wraps `inner`: at most `limit` bytes, at most `idle` between two chunks.
    pub fn new(inner: B, limit: u64, idle: Duration) -> ClientBody<B> {
        ClientBody {
            inner,
            seen: 0,
            limit,
            idle,
            timer: None,
            failed: false,
        }
    }

    fn fail(&mut self, e: ClientBodyError) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.failed = true;
        self.timer = None;
        Poll::Ready(Some(Err(Box::new(e))))
    }
}

impl<B> HttpBody for ClientBody<B>
where
    B: HttpBody<Data = Bytes> + Send + Sync + Unpin + 'static,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = &mut *self;
        if this.failed {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                this.timer = None;
                if let Some(data) = frame.data_ref() {
                    this.seen = this.seen.saturating_add(data.len() as u64);
                    if this.seen > this.limit {
                        let limit = this.limit;
                        return this.fail(ClientBodyError::TooLarge(limit));
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(_))) => this.fail(ClientBodyError::Malformed),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                // The timer exists only while the body is waited for (most bodies arrive
                // with their headers and never need one).
                let idle = this.idle;
                let timer = this
                    .timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)));
                match timer.as_mut().poll(cx) {
                    Poll::Ready(()) => this.fail(ClientBodyError::Stalled),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.failed || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

use std::future::Future as _;

/// Reads a whole request body; a failure is the client's (a body that is not a
/// [`ClientBody`] fails only when its framing does).
pub async fn collect(body: crate::Body) -> Result<Bytes, ClientBodyError> {
    match body.collect().await {
        Ok(b) => Ok(b.to_bytes()),
        Err(e) => Err(client_fault(&*e).unwrap_or(ClientBodyError::Malformed)),
    }
}

/// Receives a request's body and discards it; the answer to send when that fails.
pub async fn drain(req: crate::Request) -> Result<(), Response> {
    let mut body = req.into_body();
    while let Some(frame) = body.frame().await {
        if let Err(e) = frame {
            return Err(client_fault(&*e)
                .unwrap_or(ClientBodyError::Malformed)
                .response());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Wrapper(Box<dyn StdError + Send + Sync>);
    impl fmt::Display for Wrapper {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("wrapped")
        }
    }
    impl StdError for Wrapper {
        fn source(&self) -> Option<&(dyn StdError + 'static)> {
            Some(&*self.0)
        }
    }

    #[test]
    fn finds_the_client_fault_inside_wrappers() {
        let e = Wrapper(Box::new(Wrapper(Box::new(ClientBodyError::Stalled))));
        assert_eq!(client_fault(&e), Some(ClientBodyError::Stalled));
        let other = Wrapper(Box::new(std::io::Error::other("reset")));
        assert_eq!(client_fault(&other), None);
    }

    #[test]
    fn responses() {
        assert_eq!(ClientBodyError::Malformed.response().status(), 400);
        assert_eq!(ClientBodyError::Stalled.response().status(), 408);
        assert_eq!(ClientBodyError::TooLarge(10).response().status(), 413);
    }
}
