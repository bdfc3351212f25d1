//! The JSON Schema Test Suite (draft 4, as in `../shared/corpora/jsts`) through the real
//! generated code path: `build.rs` turns every test group into a model and the request body
//! of `POST /g<n>` with API Gateway's body validator on, and each case is sent to the
//! generated gateway over a socket. A valid instance must get 200 from the mock, an invalid
//! one 400 `Invalid request body`.
#![cfg(jsts_corpus)]

mod common;

use common::*;
use specgate_codegen_tests as gen;

#[tokio::test]
async fn json_schema_test_suite_draft4_agrees_on_every_case() {
    let cases: serde_json::Value =
        serde_json::from_str(include_str!(concat!(env!("OUT_DIR"), "/jsts-cases.json"))).unwrap();
    let cases = cases.as_array().unwrap();
    let gw = gateway(gen::jsts::Api, None, &[]).await;
    let mut wrong = Vec::new();
    for c in cases {
        let (group, file, description, data, valid) = (
            c[0].as_u64().unwrap(),
            &c[1],
            &c[2],
            &c[3],
            c[4].as_bool().unwrap(),
        );
        let body = data.to_string();
        let r = send(
            gw.addr,
            "POST",
            &format!("/g{group}"),
            &[("content-type", "application/json")],
            body.as_bytes(),
        )
        .await;
        let agrees = if valid {
            r.status == 200
        } else {
            r.status == 400 && r.text() == r#"{"message":"Invalid request body"}"#
        };
        if !agrees {
            wrong.push(format!(
                "{file} {description}: {body} should be {}, got {} {}",
                if valid { "valid" } else { "invalid" },
                r.status,
                r.text()
            ));
        }
    }
    gw.shutdown().await.unwrap();
    println!(
        "JSON Schema Test Suite draft4: {}/{} cases agree",
        cases.len() - wrong.len(),
        cases.len()
    );
    // The corpus README counts 589 cases in the groups without remote references.
    assert_eq!(cases.len(), 589);
    assert!(
        wrong.is_empty(),
        "{} disagree:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

/// Every case read by its group's acceptor (the fast path of `validate::body`) directly: an
/// acceptor may only accept what the tree validator finds valid, and it must take on the
/// plain valid cases itself, else the fast path is never taken.
#[test]
fn acceptors_accept_only_what_the_validators_find_valid() {
    use gen::jsts::models;
    use specgate_runtime::json::{Scan, Value};
    use specgate_runtime::schema::{Path, Report};
    use specgate_runtime::validate::{Accept, Model};
    let table: &[(Model, Accept)] = include!(concat!(env!("OUT_DIR"), "/jsts-models.rs"));
    let cases: serde_json::Value =
        serde_json::from_str(include_str!(concat!(env!("OUT_DIR"), "/jsts-cases.json"))).unwrap();
    let (mut valid, mut accepted) = (0, 0);
    for c in cases.as_array().unwrap() {
        let group = c[0].as_u64().unwrap() as usize;
        let text = c[3].to_string();
        let (model, accept) = table[group];
        let tree = Value::parse(text.as_bytes()).unwrap();
        let mut report = Report::new();
        model(&tree, &Path::Root, &mut report);
        let fast = Scan::accepts(&text, accept);
        assert!(
            !fast || report.ok(),
            "{} {}: {text} accepted, but the validator says {}",
            c[1],
            c[2],
            report.error_string()
        );
        valid += usize::from(report.ok());
        accepted += usize::from(fast);
        // `SHOW_UNSURE=1`: list the valid cases left to the tree (what to take on next).
        if report.ok() && !fast && std::env::var_os("SHOW_UNSURE").is_some() {
            println!("unsure: {} {}: {text}", c[1], c[2]);
        }
    }
    println!("acceptors took {accepted} of the {valid} valid cases");
    // Most valid cases have no keyword that needs a container's whole tree.
    assert!(accepted * 10 >= valid * 6, "{accepted} of {valid}");
}
