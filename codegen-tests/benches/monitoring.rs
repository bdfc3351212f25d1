//! What monitoring adds to each request, measured alone: counting it in the metrics (a
//! detailed route and an API-level one) and rendering an access-log line in AWS's JSON
//! example format (`specs/monitoring.yaml`, stage `json`) and in the built-in JSON line.
//!
//! `cargo bench -p specgate-codegen-tests --bench monitoring`

use std::hint::black_box;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, Criterion};
use specgate_codegen_tests::monitoring::API;
use specgate_runtime::access_log::{render, Outcome};
use specgate_runtime::context::Context;
use specgate_runtime::metrics::{Handles, Metrics, Sample, Sources};

fn context(resource: &'static str) -> Context {
    let req = specgate_runtime::http::Request::builder()
        .uri("/pets?limit=10")
        .header("host", "api.example.com")
        .header("user-agent", "bench/1.0")
        .body(())
        .unwrap();
    let (mut parts, ()) = req.into_parts();
    let mut cx = Context::new(
        &mut parts,
        "127.0.0.1:40000".parse().unwrap(),
        Arc::from("prod"),
        Arc::new(Vec::new()),
    );
    cx.resource_path = resource;
    cx.integration_ms = Some(1.7);
    cx.integration_status = Some(200);
    cx
}

fn bench(c: &mut Criterion) {
    let prod = API.stages.iter().find(|s| s.name == "prod").unwrap();
    let metrics = Metrics::new(
        API.title,
        "prod",
        API.flavor,
        prod.detailed_metrics,
        Sources {
            connections: specgate_runtime::conn::Limit::new(1000),
            usage: None,
            lambda: None,
        },
    );
    let handles = Handles::default();
    let sample = Sample {
        status: 200,
        latency_ms: 2.0,
        bytes: 120,
    };
    let detailed = context("/pets");
    let plain = context("/fail");
    c.bench_function("metrics: record a request (detailed route)", |b| {
        b.iter(|| handles.record(&metrics, black_box(&detailed), &sample))
    });
    c.bench_function("metrics: record a request (API-level route)", |b| {
        b.iter(|| handles.record(&metrics, black_box(&plain), &sample))
    });
    let json = API.stages.iter().find(|s| s.name == "json").unwrap();
    let parts = json.access_log.unwrap();
    let outcome = Outcome {
        status: 200,
        response_length: Some(24),
        latency_ms: 2,
        data_processed: 24,
    };
    c.bench_function("access log: AWS's JSON example format", |b| {
        b.iter(|| black_box(render(parts, black_box(&detailed), &outcome)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
