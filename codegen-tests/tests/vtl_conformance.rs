//! The VTL conformance cases (`codegen-tests/vtl/conformance.yaml`): each template is
//! compiled to Rust by the build script (`gen::vtl_conformance`), rendered here against the
//! case's request, and compared byte for byte with the expected output, the overrides it
//! wrote, or the failure it must end in. Every case names where its expected output comes
//! from (AWS documentation, AWS-recorded behaviour, Velocity 1.7).

use std::net::SocketAddr;
use std::sync::Arc;

use serde_json::Value;
use specgate_codegen_tests::vtl_conformance::TEMPLATES;
use specgate_runtime::context::Context;
use specgate_runtime::vtl::{self, Env, Failure};

fn cases() -> Vec<Value> {
    let text = include_str!(concat!(env!("OUT_DIR"), "/vtl-cases.json"));
    serde_json::from_str::<Value>(text)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The request context a case describes.
fn context(case: &Value) -> Context {
    let method = case["method"].as_str().unwrap_or("POST");
    let path = case["request_path"].as_str().unwrap_or("/test/items");
    let uri = match case["query"].as_str() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    };
    let mut req = http::Request::builder()
        .method(method)
        .uri(uri)
        .version(http::Version::HTTP_11);
    if let Some(headers) = case["headers"].as_array() {
        for h in headers {
            req = req.header(h[0].as_str().unwrap(), h[1].as_str().unwrap());
        }
    }
    let (parts, ()) = req.body(()).unwrap().into_parts();
    let stage_vars: Vec<(String, String)> = case["stage_variables"]
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), string(v))).collect())
        .unwrap_or_default();
    let peer: SocketAddr = "203.0.113.7:4711".parse().unwrap();
    let mut cx = Context::new(&parts, peer, Arc::from("test"), Arc::new(stage_vars));
    let resource = case["resource_path"].as_str().unwrap_or("/items");
    cx.resource_path = Box::leak(resource.to_string().into_boxed_str());
    if let Some(params) = case["path_params"].as_object() {
        for (k, v) in params {
            let name: &'static str = Box::leak(k.clone().into_boxed_str());
            let v = string(v);
            cx.bind(name, &v, &v);
        }
    }
    cx
}

/// The overrides a case expects, in the shape of `vtl::Overrides`.
fn expected_overrides(want: &Value) -> vtl::Overrides {
    let pairs = |key: &str| -> Vec<(String, String)> {
        want[key]
            .as_array()
            .map(|a| a.iter().map(|p| (string(&p[0]), string(&p[1]))).collect())
            .unwrap_or_default()
    };
    vtl::Overrides {
        request_headers: pairs("request_headers"),
        request_query: pairs("request_query"),
        request_path: pairs("request_path"),
        response_headers: pairs("response_headers"),
        status: want["status"].as_u64().map(|s| s as u16),
    }
}

fn run(case: &Value, template: vtl::Template) -> Result<(), String> {
    let cx = context(case);
    let body = string(&case["body"]);
    let env = Env::new(&cx, body.as_bytes());
    let mut ov = vtl::empty_overrides();
    let got = template(&env, &mut ov);
    match (&case["error"], got) {
        (Value::Null, Ok(out)) => {
            let want = string(&case["expected"]);
            if out != want {
                return Err(format!("output\n  got:  {out:?}\n  want: {want:?}"));
            }
            let got = vtl::overrides(&ov);
            let want = expected_overrides(&case["overrides"]);
            if got != want {
                return Err(format!("overrides\n  got:  {got:?}\n  want: {want:?}"));
            }
            Ok(())
        }
        (Value::Null, Err(e)) => Err(format!("failed with {e:?}")),
        (Value::String(kind), Err(e)) => {
            let ok = match (kind.as_str(), &e) {
                ("payload", Failure::Payload(m)) | ("internal", Failure::Internal(m)) => {
                    m.contains(case["error_contains"].as_str().unwrap_or(""))
                }
                _ => false,
            };
            if ok {
                Ok(())
            } else {
                Err(format!("expected a `{kind}` failure, got {e:?}"))
            }
        }
        (want, Ok(out)) => Err(format!("expected failure {want}, rendered {out:?}")),
        (want, Err(e)) => Err(format!(
            "`error: {want}` is not `payload` or `internal` ({e:?})"
        )),
    }
}

#[test]
fn every_conformance_case_renders_exactly() {
    let cases = cases();
    assert_eq!(cases.len(), TEMPLATES.len());
    assert!(cases.len() >= 60, "the conformance file lost cases");
    let mut failures = Vec::new();
    let mut ran = 0;
    for (case, template) in cases.iter().zip(TEMPLATES) {
        if case["compile_error"].is_string() {
            continue;
        }
        ran += 1;
        if let Err(e) = run(case, *template) {
            failures.push(format!(
                "- {} ({}): {e}",
                string(&case["name"]),
                string(&case["source"])
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {ran} cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_case_names_its_source() {
    for case in cases() {
        let source = string(&case["source"]);
        assert!(
            [
                "AWS docs",
                "AWS-recorded",
                "Velocity 1.7",
                "Java",
                "specgate"
            ]
            .iter()
            .any(|s| source.starts_with(s)),
            "case `{}` has source `{source}`",
            string(&case["name"])
        );
    }
}
