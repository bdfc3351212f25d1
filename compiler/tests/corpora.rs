//! Every document in `../shared/corpora` loads without a panic, and what `check` reports on
//! each is a reviewed snapshot: code, position and message per finding. A change that adds a
//! false positive, drops a real finding or moves a location shows up here.

use std::path::{Path, PathBuf};

fn corpora() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpora")
}

fn summarize(rel: &str) -> String {
    let path = corpora().join(rel);
    let text = std::fs::read_to_string(&path).unwrap();
    let a = specgate::analyze_text(Path::new(rel), text);
    let mut out = String::new();
    for d in a.diagnostics.items() {
        let loc = a.loaded.db.location(d.primary.span);
        out.push_str(&format!(
            "{} {} {}: {}\n",
            d.severity.as_str(),
            d.code.id,
            loc,
            d.message
        ));
    }
    if let Some(api) = &a.api {
        out.push_str(&format!(
            "=> {} routes, {:?}\n",
            api.routes.len(),
            api.flavor
        ));
    }
    out
}

/// The summaries of every document in `corpora/<sub>` (names sorted), or `None` when the
/// corpora are not beside this checkout.
fn summarize_dir(sub: &str, only_specs: bool) -> Option<String> {
    let dir = corpora().join(sub);
    if !dir.exists() {
        eprintln!("shared/corpora is not beside this checkout; skipping");
        return None;
    }
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| !only_specs || n.ends_with(".yaml") || n.ends_with(".json"))
        .collect();
    names.sort();
    let mut all = String::new();
    for n in names {
        all.push_str(&format!("## {n}\n{}\n", summarize(&format!("{sub}/{n}"))));
    }
    Some(all)
}

#[test]
fn aws_specs() {
    if let Some(all) = summarize_dir("aws-specs", false) {
        insta::assert_snapshot!(all);
    }
}

/// Real API Gateway definitions as users keep them (SAM and Terraform placeholders, Swagger
/// 2.0, AWS service integrations). The errors left are either features other open issues
/// add (SG0105: AWS-service integrations and subtypes, IAM) or real
/// defects of the documents: `25-…` and `oas30_documentation_parts` have operations without
/// integrations (AWS refuses to deploy them), `openapi.spec.json` and
/// `petstore-authorizer.swagger.json` write `account-id` where an account number belongs,
/// and `openapi.spec.json` gives an HTTP API's Lambda authorizer a REST identity source and
/// no payload format version (its HTTP API features make it an HTTP API).
#[test]
fn aws_real() {
    if let Some(all) = summarize_dir("aws-real", true) {
        insta::assert_snapshot!(all);
    }
}

#[test]
fn openapi_examples_and_github() {
    if let Some(all) = summarize_dir("specs", true) {
        insta::assert_snapshot!(all);
    }
}
