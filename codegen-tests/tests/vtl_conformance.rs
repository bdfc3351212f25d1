//! The VTL conformance cases (`codegen-tests/vtl/conformance.yaml`): each template is
//! compiled to Rust by the build script (`gen::vtl_conformance`), rendered here against the
//! case's request, and compared byte for byte with the expected output, the overrides it
//! wrote, or the failure it must end in. Every case names where its expected output comes
//! from (AWS documentation, AWS-recorded behaviour, Velocity 1.7).

mod vtl_support;

use serde_json::Value;
use specgate_codegen_tests::vtl_conformance::TEMPLATES;
use specgate_runtime::vtl::{self, Env, Failure};
use vtl_support::{cases, context, string};

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

/// Renders a case with `render` and compares with what the case expects.
fn run(
    case: &Value,
    render: impl Fn(&Env<'_>, &mut Value) -> Result<String, Failure>,
) -> Result<(), String> {
    let cx = context(case);
    let body = string(&case["body"]);
    let env = Env::new(&cx, body.as_bytes());
    let mut ov = vtl::empty_overrides();
    let got = render(&env, &mut ov);
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
        if let Err(e) = run(case, template) {
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

/// The interpreter the benchmark compares compiled templates with renders every case as
/// the compiled code does (so the benchmark compares two engines with the same output).
#[test]
fn interpreter_baseline_agrees_on_every_case() {
    let mut failures = Vec::new();
    for case in cases() {
        if case["compile_error"].is_string() {
            continue;
        }
        let src = string(&case["template"]);
        let ast = specgate::vtl::parse(&src).unwrap();
        if let Err(e) = run(&case, |env, ov| vtl_support::render(&ast, &src, env, ov)) {
            failures.push(format!("- {}: {e}", string(&case["name"])));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every Java method name the compiler accepts means the same runtime method by name.
#[test]
fn compiler_and_runtime_agree_on_method_names() {
    for (name, variant) in specgate::vtl_gen::METHODS {
        let m = vtl::M::from_java_name(name)
            .unwrap_or_else(|| panic!("the runtime does not know `{name}`"));
        assert_eq!(format!("{m:?}"), *variant, "{name}");
    }
}
