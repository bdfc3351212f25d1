//! Traces: W3C/X-Ray ids per request, and spans exported over OTLP/HTTP (protobuf) when
//! `--otlp-endpoint` is given.
//!
//! A request's trace id is the X-Ray root (`1-{8 hex}-{24 hex}`) read as 32 hex digits, so
//! the X-Ray header and the W3C `traceparent` name the same trace. The parent is taken from
//! the client's `traceparent` or X-Ray `Parent=`. Whether a request is sampled follows the
//! client's flag (`Sampled=1`, or the `traceparent` flags) and otherwise `--trace-sample-rate`.
//! A sampled request produces a server span for the request and child spans for the
//! authorizer, request validation and the integration. Spans are handed to one exporter
//! thread over a bounded queue: when it is full they are dropped and counted, never waited
//! for. The thread sends a batch every second, or every 512 spans.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{
    span, status, ResourceSpans, ScopeSpans, Span, Status,
};
use prost::Message;

use crate::path::hex;
use crate::path::unhex;

/// The trace a request belongs to.
#[derive(Debug, Clone)]
pub struct Trace {
    /// 16 bytes: the X-Ray root's time and random parts.
    pub trace_id: [u8; 16],
    /// This request's (server) span.
    pub span_id: [u8; 8],
    /// The caller's span, when it sent one.
    pub parent: Option<[u8; 8]>,
    /// Whether spans are recorded and exported.
    pub sampled: bool,
    /// Child spans recorded so far.
    pub children: Vec<Child>,
    /// When the request arrived (Unix ns).
    pub start: u64,
    /// The id of the call in progress (sent in `traceparent`), for its span.
    pub call: Option<[u8; 8]>,
}

/// A finished child span.
#[derive(Debug, Clone)]
pub struct Child {
    /// Its id.
    pub span_id: [u8; 8],
    /// `authorizer`, `validation`, `integration`.
    pub name: &'static str,
    /// Unix nanoseconds.
    pub start: u64,
    /// Unix nanoseconds.
    pub end: u64,
    /// Whether it failed.
    pub error: bool,
}

/// Unix time in nanoseconds.
pub fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// A fresh span id (never all zero).
pub fn span_id() -> [u8; 8] {
    static STATE: AtomicU64 = AtomicU64::new(0x2545_F491_4F6C_DD1D);
    let mut z = STATE.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed) ^ now_ns();
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z | 1).to_be_bytes()
}

impl Trace {
    /// The trace of a request: `xray` is its `X-Amzn-Trace-Id` value (the client's or the
    /// one the gateway started), `traceparent` the client's W3C header.
    pub fn of(xray: &str, traceparent: Option<&str>, sample_rate: f64) -> Trace {
        let mut trace_id = [0u8; 16];
        let mut parent = None;
        let mut sampled = None;
        for part in xray.split(';') {
            let (k, v) = part.trim().split_once('=').unwrap_or(("", ""));
            match k {
                "Root" => {
                    let digits: String = v
                        .strip_prefix("1-")
                        .unwrap_or(v)
                        .chars()
                        .filter(char::is_ascii_hexdigit)
                        .collect();
                    if let Some(id) = unhex::<16>(&digits) {
                        trace_id = id;
                    }
                }
                "Parent" => parent = unhex::<8>(v),
                "Sampled" => sampled = Some(v == "1"),
                _ => {}
            }
        }
        // `00-{trace}-{parent}-{flags}`: the W3C header wins for the parent and the flag when
        // its trace is the same (or the X-Ray header was started here).
        if let Some(tp) = traceparent {
            let f: Vec<&str> = tp.trim().split('-').collect();
            if f.len() == 4 && f[0] == "00" {
                if let (Some(t), Some(p)) = (unhex::<16>(f[1]), unhex::<8>(f[2])) {
                    if parent.is_none() {
                        trace_id = t;
                        parent = Some(p);
                        sampled = u8::from_str_radix(f[3], 16).ok().map(|x| x & 1 == 1);
                    }
                }
            }
        }
        let sampled = sampled.unwrap_or_else(|| {
            sample_rate >= 1.0
                || (sample_rate > 0.0
                    && (u64::from_be_bytes(span_id()) % 1_000_000) < (sample_rate * 1e6) as u64)
        });
        Trace {
            trace_id,
            span_id: span_id(),
            parent,
            sampled,
            children: Vec::new(),
            start: now_ns(),
            call: None,
        }
    }

    /// The `traceparent` for a backend call starting now; the call's span gets its id.
    pub fn call_header(&mut self) -> String {
        let id = span_id();
        self.call = Some(id);
        self.traceparent(id)
    }

    /// The W3C header for a call made on behalf of this request, from span `from`.
    pub fn traceparent(&self, from: [u8; 8]) -> String {
        format!(
            "00-{}-{}-{}",
            hex(&self.trace_id),
            hex(&from),
            if self.sampled { "01" } else { "00" }
        )
    }

    /// Records a finished child span (when sampled); returns its id.
    pub fn child(&mut self, name: &'static str, start: u64, end: u64, error: bool) -> [u8; 8] {
        let id = match self.call.take() {
            Some(id) if name == "integration" => id,
            _ => span_id(),
        };
        if self.sampled {
            self.children.push(Child {
                span_id: id,
                name,
                start,
                end,
                error,
            });
        }
        id
    }
}

/// A request's spans, ready to export.
pub struct Finished {
    /// The trace.
    pub trace: Trace,
    /// `GET /pets/{id}`.
    pub name: String,
    /// Unix ns.
    pub start: u64,
    /// Unix ns.
    pub end: u64,
    /// Attributes of the server span.
    pub attributes: Vec<(&'static str, String)>,
    /// A 5xx answer.
    pub error: bool,
}

struct Exporter {
    tx: std::sync::mpsc::SyncSender<Finished>,
    dropped: AtomicU64,
}

static EXPORTER: OnceLock<Exporter> = OnceLock::new();

/// Starts the exporter thread sending to `endpoint` (`http://collector:4318`; spans go to
/// `{endpoint}/v1/traces`) for service `service`.
pub fn start(endpoint: &str, service: &'static str) -> Result<(), String> {
    let url = format!("{}/v1/traces", endpoint.trim_end_matches('/'));
    let uri: http::Uri = url
        .parse()
        .map_err(|e| format!("--otlp-endpoint `{endpoint}`: {e}"))?;
    let (tx, rx) = std::sync::mpsc::sync_channel::<Finished>(4096);
    std::thread::Builder::new()
        .name("specgate-otlp".into())
        .spawn(move || export_loop(rx, uri, service))
        .map_err(|e| format!("cannot start the OTLP exporter: {e}"))?;
    let _ = EXPORTER.set(Exporter {
        tx,
        dropped: AtomicU64::new(0),
    });
    Ok(())
}

/// Whether spans are exported.
pub fn enabled() -> bool {
    EXPORTER.get().is_some()
}

/// Hands a request's spans to the exporter (dropped, and counted, when it is behind).
pub fn export(f: Finished) {
    if let Some(e) = EXPORTER.get() {
        if e.tx.try_send(f).is_err() {
            e.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn export_loop(rx: std::sync::mpsc::Receiver<Finished>, uri: http::Uri, service: &'static str) {
    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return;
    };
    let Ok(client) = crate::upstream::pool::client() else {
        return;
    };
    let mut batch: Vec<Finished> = Vec::new();
    loop {
        let first = rx.recv_timeout(Duration::from_secs(1));
        match first {
            Ok(f) => batch.push(f),
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
        }
        while batch.len() < 512 {
            match rx.try_recv() {
                Ok(f) => batch.push(f),
                Err(_) => break,
            }
        }
        if batch.is_empty() {
            continue;
        }
        let body = encode(&batch, service);
        batch.clear();
        let req = http::Request::builder()
            .method(http::Method::POST)
            .uri(uri.clone())
            .header("content-type", "application/x-protobuf")
            .body(crate::full(body));
        if let Ok(req) = req {
            rt.block_on(async {
                let _ = tokio::time::timeout(Duration::from_secs(10), client.request(req)).await;
            });
        }
    }
}

fn attr(key: &str, value: String) -> KeyValue {
    KeyValue {
        key: key.to_string(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(value)),
        }),
        ..Default::default()
    }
}

fn status(error: bool) -> Option<Status> {
    Some(Status {
        code: if error {
            status::StatusCode::Error as i32
        } else {
            status::StatusCode::Unset as i32
        },
        ..Default::default()
    })
}

/// One OTLP request for a batch of requests' spans.
pub fn encode(batch: &[Finished], service: &str) -> Vec<u8> {
    let mut spans = Vec::new();
    for f in batch {
        let t = &f.trace;
        spans.push(Span {
            trace_id: t.trace_id.to_vec(),
            span_id: t.span_id.to_vec(),
            parent_span_id: t.parent.map(|p| p.to_vec()).unwrap_or_default(),
            name: f.name.clone(),
            kind: span::SpanKind::Server as i32,
            start_time_unix_nano: f.start,
            end_time_unix_nano: f.end,
            attributes: f
                .attributes
                .iter()
                .map(|(k, v)| attr(k, v.clone()))
                .collect(),
            status: status(f.error),
            ..Default::default()
        });
        for c in &t.children {
            spans.push(Span {
                trace_id: t.trace_id.to_vec(),
                span_id: c.span_id.to_vec(),
                parent_span_id: t.span_id.to_vec(),
                name: c.name.to_string(),
                kind: if c.name == "integration" {
                    span::SpanKind::Client as i32
                } else {
                    span::SpanKind::Internal as i32
                },
                start_time_unix_nano: c.start,
                end_time_unix_nano: c.end,
                status: status(c.error),
                ..Default::default()
            });
        }
    }
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![attr("service.name", service.to_string())],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope {
                    name: "specgate".into(),
                    version: env!("CARGO_PKG_VERSION").into(),
                    ..Default::default()
                }),
                spans,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_come_from_xray_or_traceparent() {
        let t = Trace::of(
            "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1",
            None,
            0.0,
        );
        assert_eq!(hex(&t.trace_id), "5759e988bd862e3fe1be46a994272793");
        assert_eq!(
            t.parent.map(|p| hex(&p)).as_deref(),
            Some("53995c3f42cd8ad8")
        );
        assert!(t.sampled);
        let t = Trace::of(
            "Root=1-00000001-000000000000000000000001",
            Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
            0.0,
        );
        assert_eq!(hex(&t.trace_id), "0af7651916cd43dd8448eb211c80319c");
        assert_eq!(
            t.parent.map(|p| hex(&p)).as_deref(),
            Some("b7ad6b7169203331")
        );
        assert!(t.sampled);
        let tp = t.traceparent([1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(
            tp,
            "00-0af7651916cd43dd8448eb211c80319c-0102030405060708-01"
        );
        assert!(!Trace::of("Root=1-00000001-000000000000000000000001", None, 0.0).sampled);
        assert!(Trace::of("Root=1-00000001-000000000000000000000001", None, 1.0).sampled);
    }
}
