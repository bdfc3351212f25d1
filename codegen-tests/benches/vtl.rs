//! Compiled mapping templates vs a tree-walking interpreter (`tests/vtl_support`), on the
//! AWS documentation's Kinesis `PutRecords` request template and DynamoDB `Query` response
//! template (cases of `vtl/conformance.yaml`) with 25 records / items.
//!
//! Both engines run the same runtime operations and render the same text (checked here and
//! by `tests/vtl_conformance.rs`). Two measurements per template:
//! - `render`: a fresh `Env` per render, as in a request (the payload is parsed once per
//!   render by both);
//! - `template`: the `Env` is reused, so the payload is parsed once and only the template
//!   runs.
//!
//! `cargo bench -p specgate-codegen-tests --bench vtl`

#[path = "../tests/vtl_support/mod.rs"]
mod vtl_support;

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use serde_json::{json, Value};
use specgate_codegen_tests::vtl_conformance::TEMPLATES;
use specgate_runtime::vtl::{self, Env};

fn kinesis_body() -> String {
    let records: Vec<Value> = (0..25)
        .map(|i| {
            json!({
                "data": format!("order {i}: 3 widgets, shipped to warehouse {}", i % 4),
                "partitionKey": format!("customer-{}", i * 7919 % 1000),
            })
        })
        .collect();
    json!({ "records": records }).to_string()
}

fn dynamodb_body() -> String {
    let items: Vec<Value> = (0..25)
        .map(|i| {
            json!({
                "commentId": {"S": format!("c-{i:04}")},
                "pageId": {"S": "breaking-news-story-01"},
                "userName": {"S": format!("user{}", i % 9)},
                "message": {"S": format!("Comment number {i}, with some text in it.")},
            })
        })
        .collect();
    json!({ "Count": 25, "Items": items, "ScannedCount": 25 }).to_string()
}

fn bench(c: &mut Criterion) {
    let cases = vtl_support::cases();
    for (case_name, body) in [
        ("aws-docs-kinesis-put-records", kinesis_body()),
        ("aws-docs-dynamodb-query-response", dynamodb_body()),
    ] {
        let k = cases
            .iter()
            .position(|c| c["name"] == case_name)
            .expect("the conformance file has the case");
        let case = &cases[k];
        let compiled = TEMPLATES[k];
        let src = case["template"].as_str().unwrap().to_string();
        let ast = specgate::vtl::parse(&src).unwrap();
        let cx = vtl_support::context(case);
        let body = body.into_bytes();

        // Same output from both engines before anything is timed.
        let env = Env::new(&cx, &body);
        let a = compiled(&env, &mut vtl::empty_overrides()).unwrap();
        let b = vtl_support::render(&ast, &src, &env, &mut vtl::empty_overrides()).unwrap();
        assert_eq!(a, b);
        assert!(a.len() > 1000, "{case_name} renders a realistic payload");

        let mut g = c.benchmark_group(format!("vtl/{case_name}"));
        g.bench_function("render/compiled", |bch| {
            bch.iter(|| {
                let env = Env::new(&cx, black_box(&body));
                compiled(&env, &mut vtl::empty_overrides()).unwrap()
            })
        });
        g.bench_function("render/interpreted", |bch| {
            bch.iter(|| {
                let env = Env::new(&cx, black_box(&body));
                vtl_support::render(&ast, &src, &env, &mut vtl::empty_overrides()).unwrap()
            })
        });
        let warm = Env::new(&cx, &body);
        let _ = warm.doc();
        g.bench_function("template/compiled", |bch| {
            bch.iter(|| compiled(black_box(&warm), &mut vtl::empty_overrides()).unwrap())
        });
        g.bench_function("template/interpreted", |bch| {
            bch.iter(|| {
                vtl_support::render(&ast, &src, black_box(&warm), &mut vtl::empty_overrides())
                    .unwrap()
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
