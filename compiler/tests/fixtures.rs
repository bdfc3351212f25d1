//! Every broken spec under `specs/invalid/` produces the diagnostic its file name starts
//! with (`sg0200-…` → SG0200), and its full human-readable output is a reviewed snapshot.
//! Every good spec under `specs/` checks clean. Every diagnostic code has a fixture.

use std::path::{Path, PathBuf};

use specgate::codes;
use specgate::diag::render_human;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.is_file()
                && matches!(
                    p.extension().and_then(|e| e.to_str()),
                    Some("yaml" | "yml" | "json")
                )
        })
        .collect();
    v.sort();
    v
}

/// Analyses a file under a workspace-relative display path, so snapshots do not depend on
/// where the checkout is.
fn analyze(rel: &Path) -> specgate::Analysis {
    let text = std::fs::read_to_string(workspace().join(rel)).unwrap();
    specgate::analyze_text(rel, text)
}

#[test]
fn invalid_specs_report_their_code_with_a_snapshot() {
    let dir = workspace().join("specs/invalid");
    let files = files_in(&dir);
    assert!(files.len() >= 30, "only {} fixtures", files.len());
    for path in files {
        let name = path.file_stem().unwrap().to_str().unwrap().to_string();
        let code = name.split('-').next().unwrap().to_ascii_uppercase();
        let rel = Path::new("specs/invalid").join(path.file_name().unwrap());
        let a = analyze(&rel);
        let found: Vec<&str> = a.diagnostics.items().iter().map(|d| d.code.id).collect();
        assert!(
            found.contains(&code.as_str()),
            "{name}: expected {code}, found {found:?}"
        );
        let out = render_human(&a.loaded.db, a.diagnostics.items(), false);
        insta::assert_snapshot!(name, out);
    }
}

#[test]
fn every_code_has_a_fixture() {
    let names: Vec<String> = files_in(&workspace().join("specs/invalid"))
        .iter()
        .map(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .to_ascii_uppercase()
        })
        .collect();
    for c in codes::ALL {
        assert!(
            names.iter().any(|n| n.starts_with(c.id)),
            "no fixture in specs/invalid for {} ({})",
            c.id,
            c.name
        );
    }
}

#[test]
fn good_specs_check_clean() {
    let files = files_in(&workspace().join("specs"));
    assert!(!files.is_empty());
    for path in files {
        let a = specgate::analyze_file(&path).unwrap();
        let out = render_human(&a.loaded.db, a.diagnostics.items(), false);
        assert!(a.diagnostics.is_empty(), "{}:\n{out}", path.display());
        assert!(a.api.is_some());
    }
}

/// `docs/diagnostics.md` lists every code; regenerate with `UPDATE_DOCS=1 cargo test`.
#[test]
fn diagnostics_doc_is_current() {
    let mut md = String::from(
        "# Diagnostics\n\n\
         Every problem `specgate check` reports has a stable code. A code never changes meaning;\n\
         retired codes are not reused. Each code has at least one example under\n\
         [`specs/invalid/`](../specs/invalid), named after it, whose exact output is a snapshot in\n\
         `compiler/tests/snapshots/`.\n\n\
         This file is generated from `compiler/src/codes.rs` (`UPDATE_DOCS=1 cargo test -p specgate --test fixtures`).\n\n\
         | code | name | what it means | examples |\n| --- | --- | --- | --- |\n",
    );
    let fixtures: Vec<String> = files_in(&workspace().join("specs/invalid"))
        .iter()
        .map(|p| p.file_name().unwrap().to_str().unwrap().to_string())
        .collect();
    for c in codes::ALL {
        let examples: Vec<String> = fixtures
            .iter()
            .filter(|f| f.to_ascii_uppercase().starts_with(c.id))
            .map(|f| format!("[{f}](../specs/invalid/{f})"))
            .collect();
        md.push_str(&format!(
            "| {} | `{}` | {} | {} |\n",
            c.id,
            c.name,
            c.summary.replace('|', "\\|"),
            examples.join(", ")
        ));
    }
    let path = workspace().join("docs/diagnostics.md");
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, &md).unwrap();
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        current, md,
        "docs/diagnostics.md is stale: run UPDATE_DOCS=1 cargo test -p specgate --test fixtures"
    );
}

/// A problem inside a `$ref`'d file is reported at its place in that file.
#[test]
fn diagnostics_point_into_referenced_files() {
    let dir = std::env::temp_dir().join(format!("sg-refloc-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("parts")).unwrap();
    std::fs::write(
        dir.join("api.yaml"),
        "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /pets/{id}:\n    get:\n      parameters:\n        - $ref: 'parts/params.yaml#/Id'\n      responses: {'200': {description: ok}}\n      x-amazon-apigateway-integration: {type: mock}\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("parts/params.yaml"),
        "# shared parameters\nId:\n  name: id\n  in: path\n  required: false\n",
    )
    .unwrap();
    let a = specgate::analyze_file(&dir.join("api.yaml")).unwrap();
    let d = a
        .diagnostics
        .items()
        .iter()
        .find(|d| d.code == &codes::PATH_PARAM_OPTIONAL)
        .expect("SG0205");
    let loc = a.loaded.db.location(d.primary.span);
    assert!(loc.ends_with("parts/params.yaml:5:13"), "{loc}");
    std::fs::remove_dir_all(&dir).ok();
}

/// Documents under `specs/planned/` are valid and use features the gateway does not generate
/// yet: the only errors are SG0105 `unsupported`, one per feature.
#[test]
fn planned_specs_report_only_unsupported_features() {
    let files = files_in(&workspace().join("specs/planned"));
    assert!(!files.is_empty());
    for path in files {
        let a = specgate::analyze_file(&path).unwrap();
        let out = render_human(&a.loaded.db, a.diagnostics.items(), false);
        assert!(a.api.is_some(), "{out}");
        assert!(
            a.diagnostics.error_count() > 0,
            "{}: nothing unsupported any more; move it to specs/",
            path.display()
        );
        for d in a.diagnostics.items() {
            assert_eq!(
                d.code.id,
                codes::UNSUPPORTED.id,
                "{}:\n{out}",
                path.display()
            );
        }
    }
}
