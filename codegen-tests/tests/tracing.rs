//! OTLP trace export (`--otlp-endpoint`) received by a test collector and decoded with
//! OpenTelemetry's protobuf types: a server span per sampled request with its authorizer,
//! validation and integration children; the W3C `traceparent` and X-Ray header passed to the
//! backend name the same trace and the integration's span; unsampled requests send nothing.
//! The exporter is process-wide, so this file holds one test.

mod common;

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use common::{send, Backend};
use http_body_util::{BodyExt, Full};
use hyper_util::rt::{TokioExecutor, TokioIo};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::{span::SpanKind, status::StatusCode, Span};
use prost::Message;
use specgate_codegen_tests as gen;
use specgate_runtime::config::Config;

/// An OTLP/HTTP collector: every span it was sent, and the content types used.
async fn collector() -> (std::net::SocketAddr, Arc<Mutex<Vec<Span>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let spans: Arc<Mutex<Vec<Span>>> = Arc::default();
    let log = spans.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let log = log.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let log = log.clone();
                        async move {
                            assert_eq!(req.uri().path(), "/v1/traces");
                            assert_eq!(req.headers()["content-type"], "application/x-protobuf");
                            let body = req.into_body().collect().await.unwrap().to_bytes();
                            let decoded =
                                ExportTraceServiceRequest::decode(body).expect("OTLP protobuf");
                            for rs in decoded.resource_spans {
                                let service = rs.resource.unwrap().attributes[0].clone();
                                assert_eq!(service.key, "service.name");
                                for ss in rs.scope_spans {
                                    assert_eq!(ss.scope.unwrap().name, "specgate");
                                    log.lock().unwrap().extend(ss.spans);
                                }
                            }
                            Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::new())))
                        }
                    },
                );
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    (addr, spans)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[tokio::test]
async fn sampled_requests_export_their_span_tree() {
    let (otlp, spans) = collector().await;
    let backend = Backend::start().await;
    let mut config = Config::for_tests();
    config.stage = Some("prod".into());
    config.stage_vars = vec![("backend".into(), backend.addr.to_string())];
    config.otlp_endpoint = Some(format!("http://{otlp}"));
    config.trace_sample_rate = 0.0;
    let gw = specgate_runtime::server::spawn(gen::monitoring::Api, config)
        .await
        .unwrap();

    // A client that traces: its traceparent names the trace and the parent, and says sampled.
    let trace = "0af7651916cd43dd8448eb211c80319c";
    let client_span = "b7ad6b7169203331";
    let tp = format!("00-{trace}-{client_span}-01");
    let r = send(
        gw.addr,
        "GET",
        "/pets",
        &[("traceparent", tp.as_str())],
        b"",
    )
    .await;
    assert_eq!(r.status, 200);
    // A validation failure, sampled through X-Ray's header.
    let xray = "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1";
    let r = send(
        gw.addr,
        "POST",
        "/pets",
        &[
            ("x-amzn-trace-id", xray),
            ("content-type", "application/json"),
        ],
        b"{}",
    )
    .await;
    assert_eq!(r.status, 400);
    // Not sampled (the client says so, and the rate is 0): nothing exported.
    let r = send(
        gw.addr,
        "GET",
        "/pets",
        &[(
            "x-amzn-trace-id",
            "Root=1-11111111-222222222222222222222222;Sampled=0",
        )],
        b"",
    )
    .await;
    assert_eq!(r.status, 200);

    // The backend saw both headers, naming the same trace and the integration's span.
    let seen = backend.seen();
    assert_eq!(
        seen[0].header("x-amzn-trace-id"),
        Some("Root=1-0af76519-16cd43dd8448eb211c80319c")
    );
    let sent_tp = seen[0]
        .header("traceparent")
        .expect("traceparent to the backend");
    let f: Vec<&str> = sent_tp.split('-').collect();
    assert_eq!((f[0], f[1], f[3]), ("00", trace, "01"), "{sent_tp}");
    let integration_id = f[2].to_string();

    // Spans arrive within the exporter's one-second batching.
    let mut got = Vec::new();
    for _ in 0..50 {
        got = spans.lock().unwrap().clone();
        if got.len() >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let by_trace = |t: &str| -> Vec<Span> {
        got.iter()
            .filter(|s| hex(&s.trace_id) == t)
            .cloned()
            .collect()
    };
    let first = by_trace(trace);
    assert_eq!(first.len(), 2, "{first:#?}");
    let server = first
        .iter()
        .find(|s| s.kind == SpanKind::Server as i32)
        .unwrap();
    assert_eq!(server.name, "GET /pets");
    assert_eq!(hex(&server.parent_span_id), client_span);
    assert!(server.end_time_unix_nano >= server.start_time_unix_nano);
    let status = server
        .attributes
        .iter()
        .find(|a| a.key == "http.response.status_code")
        .unwrap();
    assert_eq!(
        format!("{:?}", status.value),
        format!(
            "{:?}",
            Some(opentelemetry_proto::tonic::common::v1::AnyValue {
                value: Some(
                    opentelemetry_proto::tonic::common::v1::any_value::Value::StringValue(
                        "200".into()
                    )
                )
            })
        )
    );
    let integration = first.iter().find(|s| s.name == "integration").unwrap();
    assert_eq!(integration.kind, SpanKind::Client as i32);
    assert_eq!(hex(&integration.span_id), integration_id);
    assert_eq!(integration.parent_span_id, server.span_id);
    assert!(integration.start_time_unix_nano >= server.start_time_unix_nano);

    let second = by_trace("5759e988bd862e3fe1be46a994272793");
    assert_eq!(second.len(), 2, "{second:#?}");
    let server = second
        .iter()
        .find(|s| s.kind == SpanKind::Server as i32)
        .unwrap();
    assert_eq!(server.name, "POST /pets");
    assert!(server.parent_span_id.is_empty());
    let validation = second.iter().find(|s| s.name == "validation").unwrap();
    assert_eq!(
        validation.status.as_ref().unwrap().code,
        StatusCode::Error as i32
    );
    assert_eq!(validation.parent_span_id, server.span_id);

    assert!(
        by_trace("11111111222222222222222222222222").is_empty(),
        "unsampled"
    );
    gw.shutdown().await.unwrap();
}
