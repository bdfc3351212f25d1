//! specgate's runtime: everything a generated gateway needs that does not depend on the spec.
//!
//! Generated code implements [`Gateway`] (routing and one handler per route, all
//! straight-line code) and calls the helpers here; the runtime never sees OpenAPI and never
//! interprets the spec. The request path follows API Gateway's order: limits → route →
//! (auth, throttling, validation: later) → integration request → integration → integration
//! response → gateway responses → access log.

// Two audited exceptions, both in `memory`: the global allocator on mimalloc's C functions,
// and `memory::trim`, which calls mimalloc's `mi_collect`.
#![deny(unsafe_code)]
#![warn(missing_docs)]

/// The allocator of every gateway (and of the tests that link the runtime): mimalloc, for
/// the reasons measured in [`memory`].
#[global_allocator]
static ALLOCATOR: memory::Mimalloc = memory::Mimalloc;

pub mod access_log;
pub mod admin;
pub mod auth;
pub mod aws_service;
pub mod body;
pub mod cache;
pub mod caches;
pub mod calendar;
pub mod cli;
pub mod config;
pub mod conn;
pub mod context;
pub mod cors;
pub mod credentials;
pub mod dns;
pub mod exec_log;
pub mod framing;
pub mod headers;
pub mod http1;
pub mod iam;
pub mod json;
pub mod jwt;
pub mod keys;
pub mod lambda;
pub mod log;
pub mod memory;
pub mod metrics;
pub mod params;
pub mod path;
pub mod policy;
pub mod principals;
pub mod redis_state;
pub mod response_type;
pub mod responses;
pub mod schema;
pub mod server;
pub mod sigv4;
pub mod state;
pub mod store;
pub mod template;
pub mod trace;
pub mod upstream;
pub mod usage;
pub mod validate;
pub mod vtl;

use std::future::Future;

use bytes::Bytes;
use http_body_util::combinators::BoxBody;

pub use config::Config;
pub use context::{Context, Var};
pub use responses::{CustomResponse, ResponseType};
pub use state::Runtime;
pub use template::Part;

/// Errors inside bodies.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// The body type both directions use: a boxed stream, or bytes in memory held as they are
/// (a box and a dynamic call per frame otherwise; most answers are in memory).
///
/// An answer passed on from a backend also carries the backend's fields unparsed
/// ([`framing::RawFields`]): they ride with the body, not in the response's extensions,
/// whose map cost three allocations per answer. Whatever reads or changes an answer's
/// fields, or rebuilds an answer from its parts with another body, calls
/// [`framing::RawFields::materialize`] first.
pub struct Body {
    kind: BodyKind,
    raw: Option<Box<framing::RawFields>>,
}

enum BodyKind {
    /// In memory: taken by the first poll.
    Full(Option<Bytes>),
    Stream(BoxBody<Bytes, BoxError>),
}

impl Body {
    /// A streamed body.
    pub fn new<B>(body: B) -> Body
    where
        B: hyper::body::Body<Data = Bytes> + Send + Sync + 'static,
        B::Error: Into<BoxError>,
    {
        use http_body_util::BodyExt;
        Body {
            kind: BodyKind::Stream(body.map_err(Into::into).boxed()),
            raw: None,
        }
    }

    /// A body of these bytes.
    pub fn full(data: impl Into<Bytes>) -> Body {
        Body {
            kind: BodyKind::Full(Some(data.into())),
            raw: None,
        }
    }

    /// The backend's unparsed fields this answer carries, if any.
    pub fn raw_fields(&self) -> Option<&framing::RawFields> {
        self.raw.as_deref()
    }

    /// [`Body::raw_fields`], to change.
    pub fn raw_fields_mut(&mut self) -> Option<&mut framing::RawFields> {
        self.raw.as_deref_mut()
    }

    /// Takes the unparsed fields out (to move them into the answer's header map).
    pub fn take_raw_fields(&mut self) -> Option<Box<framing::RawFields>> {
        self.raw.take()
    }

    /// Makes this body carry unparsed fields (replacing any it carried).
    pub fn set_raw_fields(&mut self, raw: Box<framing::RawFields>) {
        self.raw = Some(raw);
    }

    /// This body, carrying a backend's unparsed fields.
    pub fn with_raw_fields(mut self, raw: Box<framing::RawFields>) -> Body {
        self.raw = Some(raw);
        self
    }
}

impl Default for Body {
    fn default() -> Body {
        Body::full(Bytes::new())
    }
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = match &self.kind {
            BodyKind::Full(b) => format!("Full({} bytes)", b.as_ref().map_or(0, Bytes::len)),
            BodyKind::Stream(_) => "Stream".to_string(),
        };
        f.debug_struct("Body")
            .field("kind", &kind)
            .field("raw_fields", &self.raw.is_some())
            .finish()
    }
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, BoxError>>> {
        match &mut self.get_mut().kind {
            BodyKind::Full(b) => std::task::Poll::Ready(
                b.take()
                    .filter(|b| !b.is_empty())
                    .map(|b| Ok(hyper::body::Frame::data(b))),
            ),
            BodyKind::Stream(s) => std::pin::Pin::new(s).poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            BodyKind::Full(b) => b.as_ref().is_none_or(Bytes::is_empty),
            BodyKind::Stream(s) => s.is_end_stream(),
        }
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        match &self.kind {
            BodyKind::Full(b) => {
                hyper::body::SizeHint::with_exact(b.as_ref().map_or(0, |b| b.len() as u64))
            }
            BodyKind::Stream(s) => s.size_hint(),
        }
    }
}
/// A request as handlers see it.
pub type Request = http::Request<Body>;
/// A response as handlers return it.
pub type Response = http::Response<Body>;

/// REST (API Gateway v1) or HTTP API (v2) behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// Unknown routes: 403 `Missing Authentication Token`.
    Rest,
    /// Unknown routes: 404 `Not Found`.
    Http,
}

/// A stage compiled into the gateway.
#[derive(Debug)]
pub struct StageInfo {
    /// Stage name (`$context.stage`).
    pub name: &'static str,
    /// Stage variables.
    pub variables: &'static [(&'static str, &'static str)],
    /// `methodSettings` throttles: `*/*` or `/pets/GET` → throttle.
    pub throttles: &'static [(&'static str, usage::Throttle)],
    /// The stage cache, when `cacheClusterEnabled`.
    pub cache: Option<&'static cache::CacheInfo>,
    /// `accessLogSetting.format`, parsed.
    pub access_log: Option<&'static [access_log::Part]>,
    /// Detailed (per-method) metrics: `*/*`, `/pets/*` or `/pets/GET` → on or off.
    pub detailed_metrics: &'static [(&'static str, bool)],
    /// Execution logging (`loggingLevel`, `dataTraceEnabled`) by method key.
    pub execution_logs: &'static [(&'static str, exec_log::Setting)],
}

/// What the runtime needs to know about the API (generated as a `static`).
#[derive(Debug)]
pub struct ApiInfo {
    /// `info.title`.
    pub title: &'static str,
    /// REST or HTTP behaviour.
    pub flavor: Flavor,
    /// Stages; the first is the default.
    pub stages: &'static [StageInfo],
    /// Customised gateway responses.
    pub gateway_responses: &'static [(ResponseType, CustomResponse)],
    /// Usage plans (`x-specgate-usage-plans`).
    pub usage_plans: &'static [usage::PlanInfo],
    /// Where API keys are read from.
    pub api_key_source: usage::KeySource,
    /// VPC links the API names by id; each needs `--vpc-link ID=HOST:PORT`.
    pub vpc_links: &'static [&'static str],
    /// HTTP APIs' gateway-managed CORS.
    pub cors: Option<&'static cors::CorsInfo>,
    /// The resource policy (`x-amazon-apigateway-policy`), as JSON.
    pub resource_policy: Option<&'static str>,
    /// Whether any route is authorized with IAM (the principals are loaded).
    pub uses_iam: bool,
}

/// A request's handling in flight: the route's future, in an allocation of its own.
pub type Handling<'a> = std::pin::Pin<Box<dyn Future<Output = Response> + Send + 'a>>;

/// The one trait generated code implements.
///
/// `handle` returns the route's own future, boxed ([`boxed`]), not one future for all
/// routes: an `async fn handle` is as large as its largest route's state (3 KB for the
/// bench's API, with a validated JSON body and a cache), and that much was copied into its
/// box for every request, whatever the route. The server takes `Arc<dyn Gateway>`, so it is
/// compiled once, in this crate, instead of once more in every generated crate: a one-line
/// spec edit recompiles only the generated routes (issue 20's rebuild time).
pub trait Gateway: Send + Sync + 'static {
    /// Static facts about the API.
    fn info(&self) -> &'static ApiInfo;
    /// Routes and answers one request. `cx` holds the request context; error answers are
    /// made with [`Runtime::gateway_response`].
    fn handle<'a>(&'a self, rt: &'a Runtime, cx: &'a mut Context, req: Request) -> Handling<'a>;
}

/// A future in an allocation of its own, written into it: `Box::pin(future)` built the
/// future (kilobytes, for a handler's) on the stack and copied all of it.
pub fn boxed<'a, F: Future + Send + 'a>(
    future: F,
) -> std::pin::Pin<Box<dyn Future<Output = F::Output> + Send + 'a>> {
    let written: Box<F> = Box::write(Box::new_uninit(), future);
    Box::into_pin(written)
}

/// Builds a body from bytes.
pub fn full(data: impl Into<Bytes>) -> Body {
    Body::full(data)
}

/// An empty body.
pub fn empty() -> Body {
    Body::default()
}

/// Re-exported so generated crates need only this one dependency.
pub use bytes;
pub use http;
pub use regex;
pub use serde_json;

/// Everything generated code uses.
pub mod prelude {
    pub use crate::access_log;
    pub use crate::aws_service;
    pub use crate::cache;
    pub use crate::cache::{CacheInfo, KeyParts, Setting as CacheSetting, Unauthorized};
    pub use crate::context::{Context, Var};
    pub use crate::cors::CorsInfo;
    pub use crate::exec_log;
    pub use crate::responses::{CustomResponse, ResponseType};
    pub use crate::state::Runtime;
    pub use crate::template::{self, select_template, Part, Source};
    pub use crate::upstream::http_mapping;
    pub use crate::usage::{KeySource, Period, PlanInfo, QuotaInfo, Throttle};
    pub use crate::validate::{self, In};
    pub use crate::{auth, body, empty, full, iam, jwt, lambda, params, path, upstream, vtl};
    pub use crate::{boxed, ApiInfo, Flavor, Gateway, Handling, Request, Response, StageInfo};
    pub use bytes::Bytes;
    pub use http;
    pub use regex::Regex;
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use hyper::body::Body as _;

    #[tokio::test]
    async fn bodies_in_memory_give_their_bytes_once() {
        let b = full("hello");
        assert!(!b.is_end_stream());
        assert_eq!(b.size_hint().exact(), Some(5));
        assert_eq!(b.collect().await.unwrap().to_bytes(), "hello");
        let mut e = empty();
        assert!(e.is_end_stream());
        assert_eq!(e.size_hint().exact(), Some(0));
        assert!(e.frame().await.is_none());
        let mut one = full("x");
        assert_eq!(
            one.frame().await.unwrap().unwrap().into_data().unwrap(),
            "x"
        );
        assert!(one.is_end_stream());
        assert!(one.frame().await.is_none());
    }

    #[tokio::test]
    async fn streamed_bodies_pass_their_frames_and_errors_on() {
        let frames: Vec<Result<hyper::body::Frame<Bytes>, BoxError>> = vec![
            Ok(hyper::body::Frame::data(Bytes::from("a"))),
            Ok(hyper::body::Frame::data(Bytes::from("b"))),
            Err("cut off".into()),
        ];
        let b = Body::new(http_body_util::StreamBody::new(futures_util::stream::iter(
            frames,
        )));
        assert_eq!(b.size_hint().exact(), None);
        let err = b.collect().await.unwrap_err();
        assert_eq!(err.to_string(), "cut off");
    }

    #[test]
    fn raw_fields_ride_with_the_body_through_its_parts() {
        let head = Bytes::from_static(b"HTTP/1.1 200 OK\r\nX-A: 1\r\n\r\n");
        let mut kept = framing::KeptFields::new();
        let mut fields = [httparse::EMPTY_HEADER; 4];
        let mut parsed = httparse::Response::new(&mut fields);
        parsed.parse(&head).unwrap();
        let spans = framing::spans(&head[..], parsed.headers);
        kept.extend(spans.iter().map(|s| (*s, None)));
        let raw = framing::RawFields::new(head.clone(), kept);
        let resp = http::Response::new(full("body").with_raw_fields(Box::new(raw)));
        let (parts, body) = resp.into_parts();
        let mut resp = http::Response::from_parts(parts, body);
        assert!(resp.body().raw_fields().is_some());
        framing::RawFields::materialize(&mut resp);
        assert!(resp.body().raw_fields().is_none());
        assert_eq!(resp.headers()["x-a"], "1");
    }
}
