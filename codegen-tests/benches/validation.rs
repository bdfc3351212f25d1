//! Generated validators vs the `jsonschema` crate on GitHub's models (from
//! `../shared/corpora/specs/github-api.github.com.json`), same instances: each model's
//! documented example, and a list of 200 issues. Both sides validate an already parsed
//! tree: `serde_json::Value` for `jsonschema`, the same converted to `specgate_runtime::json`'s
//! tree for the generated code (parsing is not measured here). GitHub's own
//! `pull-request` example does not match its schema (a requested team without `type`), so
//! it also measures the failure path.
//!
//! `cargo bench -p specgate-codegen-tests --bench validation`

use criterion::{criterion_group, criterion_main, Criterion};

#[cfg(github_corpus)]
mod github {
    use criterion::Criterion;
    use serde_json::{json, Map, Value};
    use specgate_codegen_tests::bench_github::models;
    use specgate_runtime::schema::{Path, Report};
    use std::hint::black_box;

    type Model = specgate_runtime::validate::Model;

    /// OpenAPI's `nullable` and request-direction `readOnly` in draft-04 terms, so that the
    /// baseline validates exactly what the generated code validates.
    fn draft4(v: &mut Value) {
        match v {
            Value::Object(m) => {
                for child in m.values_mut() {
                    draft4(child);
                }
                if let Some(Value::Object(props)) = m.get("properties") {
                    let read_only: Vec<String> = props
                        .iter()
                        .filter(|(_, p)| p.get("readOnly") == Some(&Value::Bool(true)))
                        .map(|(k, _)| k.clone())
                        .collect();
                    if let Some(Value::Array(req)) = m.get_mut("required") {
                        req.retain(|r| !read_only.iter().any(|k| Some(k.as_str()) == r.as_str()));
                    }
                }
                if m.remove("nullable") == Some(Value::Bool(true)) {
                    let combinators = ["allOf", "anyOf", "oneOf", "not", "$ref"]
                        .iter()
                        .any(|k| m.contains_key(*k));
                    match (m.get("type").cloned(), combinators) {
                        (Some(Value::String(t)), false) => {
                            m.insert("type".into(), json!([t, "null"]));
                            if let Some(Value::Array(e)) = m.get_mut("enum") {
                                e.push(Value::Null);
                            }
                        }
                        _ => {
                            let rest = Value::Object(std::mem::take(m));
                            m.insert("anyOf".into(), json!([{"type": "null"}, rest]));
                        }
                    }
                }
            }
            Value::Array(a) => a.iter_mut().for_each(draft4),
            _ => {}
        }
    }

    pub fn bench(c: &mut Criterion) {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/corpora/specs/github-api.github.com.json"
        ))
        .expect("the GitHub description");
        let doc: Value = serde_json::from_str(&text).unwrap();
        let mut schemas = doc["components"]["schemas"].clone();
        draft4(&mut schemas);
        let instances: Map<String, Value> = serde_json::from_str(include_str!(concat!(
            env!("OUT_DIR"),
            "/github-instances.json"
        )))
        .unwrap();
        let issues = Value::Array(vec![instances["issue"].clone(); 200]);
        let cases: Vec<(&str, Model, Value, Value)> = vec![
            (
                "simple-user",
                models::simple_user,
                instances["simple-user"].clone(),
                json!({"$ref": "#/components/schemas/simple-user"}),
            ),
            (
                "integration",
                models::integration,
                instances["integration"].clone(),
                json!({"$ref": "#/components/schemas/integration"}),
            ),
            (
                "issue",
                models::issue,
                instances["issue"].clone(),
                json!({"$ref": "#/components/schemas/issue"}),
            ),
            (
                "pull-request",
                models::pull_request,
                instances["pull-request"].clone(),
                json!({"$ref": "#/components/schemas/pull-request"}),
            ),
            (
                "workflow-run",
                models::workflow_run,
                instances["workflow-run"].clone(),
                json!({"$ref": "#/components/schemas/workflow-run"}),
            ),
            (
                "200 issues",
                models::issue_list,
                issues,
                json!({"type": "array", "items": {"$ref": "#/components/schemas/issue"}}),
            ),
        ];
        let mut g = c.benchmark_group("validate");
        for (name, generated, instance, root) in &cases {
            let mut schema = root.clone();
            schema["components"] = json!({"schemas": schemas});
            let baseline = jsonschema::draft4::new(&schema).expect("a valid draft-04 schema");
            let ours = specgate_runtime::json::Value::from(instance);
            let mut report = Report::new();
            generated(&ours, &Path::Root, &mut report);
            let errors: Vec<String> = baseline
                .iter_errors(instance)
                .map(|e| e.to_string())
                .collect();
            assert_eq!(
                report.ok(),
                errors.is_empty(),
                "{name}: generated {:?} vs jsonschema {errors:?}",
                report.detail()
            );
            println!("{name}: valid = {} {}", report.ok(), report.detail());
            // Valid instances: the whole instance is walked either way. Invalid ones: first
            // failure (quiet report vs `is_valid`) and all messages (report vs `iter_errors`).
            g.bench_function(format!("generated/{name}"), |b| {
                b.iter(|| {
                    let mut r = Report::quiet();
                    generated(black_box(&ours), &Path::Root, &mut r);
                    r.ok()
                })
            });
            g.bench_function(format!("jsonschema/{name}"), |b| {
                b.iter(|| baseline.is_valid(black_box(instance)))
            });
            if !report.ok() {
                g.bench_function(format!("generated/{name} (messages)"), |b| {
                    b.iter(|| {
                        let mut r = Report::new();
                        generated(black_box(&ours), &Path::Root, &mut r);
                        r.error_string()
                    })
                });
                g.bench_function(format!("jsonschema/{name} (messages)"), |b| {
                    b.iter(|| {
                        baseline
                            .iter_errors(black_box(instance))
                            .map(|e| e.to_string())
                            .collect::<Vec<_>>()
                    })
                });
            }
        }
        g.finish();
    }
}

fn benches(c: &mut Criterion) {
    #[cfg(github_corpus)]
    github::bench(c);
    #[cfg(not(github_corpus))]
    let _ = c;
}

criterion_group!(validation, benches);
criterion_main!(validation);
