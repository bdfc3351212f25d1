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

#[test]
fn aws_specs() {
    let dir = corpora().join("aws-specs");
    if !dir.exists() {
        eprintln!("shared/corpora is not beside this checkout; skipping");
        return;
    }
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    let mut all = String::new();
    for n in names {
        all.push_str(&format!(
            "## {n}\n{}\n",
            summarize(&format!("aws-specs/{n}"))
        ));
    }
    insta::assert_snapshot!(all);
}

#[test]
fn openapi_examples_and_github() {
    let dir = corpora().join("specs");
    if !dir.exists() {
        eprintln!("shared/corpora is not beside this checkout; skipping");
        return;
    }
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".yaml") || n.ends_with(".json"))
        .collect();
    names.sort();
    let mut all = String::new();
    for n in names {
        all.push_str(&format!("## {n}\n{}\n", summarize(&format!("specs/{n}"))));
    }
    insta::assert_snapshot!(all);
}
