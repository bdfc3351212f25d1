//! The generated code is part of the product: snapshots of what small specs generate, and
//! byte-identical output for identical input.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn generate(rel: &str) -> specgate::codegen::Crate {
    let path = root().join(rel);
    let text = std::fs::read_to_string(&path).unwrap();
    let a = specgate::analyze_text(Path::new(rel), text);
    assert_eq!(a.diagnostics.error_count(), 0, "{rel}");
    let api = a.api.unwrap();
    specgate::codegen::generate(
        &api,
        rel,
        &specgate::codegen::RuntimeDep::Version("0.1.0".into()),
    )
}

fn file<'a>(c: &'a specgate::codegen::Crate, name: &str) -> &'a str {
    &c.files.iter().find(|(n, _)| n == name).unwrap().1
}

#[test]
fn hello_example() {
    let c = generate("examples/hello/api.yaml");
    insta::assert_snapshot!("hello_gateway_rs", file(&c, "src/gateway.rs"));
    insta::assert_snapshot!("hello_main_rs", file(&c, "src/main.rs"));
    insta::assert_snapshot!("hello_cargo_toml", file(&c, "Cargo.toml"));
}

#[test]
fn http_api() {
    let c = generate("specs/http-api.yaml");
    insta::assert_snapshot!("http_api_gateway_rs", file(&c, "src/gateway.rs"));
}

#[test]
fn petstore() {
    let c = generate("specs/petstore.yaml");
    insta::assert_snapshot!("petstore_gateway_rs", file(&c, "src/gateway.rs"));
}

#[test]
fn templates() {
    let c = generate("specs/templates.yaml");
    insta::assert_snapshot!("templates_gateway_rs", file(&c, "src/gateway.rs"));
}

#[test]
fn lambda_and_authorizers() {
    let c = generate("specs/authorizers.yaml");
    insta::assert_snapshot!("authorizers_gateway_rs", file(&c, "src/gateway.rs"));
    let c = generate("specs/lambda.yaml");
    insta::assert_snapshot!("lambda_gateway_rs", file(&c, "src/gateway.rs"));
}

#[test]
fn output_is_deterministic() {
    for rel in [
        "specs/petstore.yaml",
        "specs/http-api.yaml",
        "specs/templates.yaml",
        "specs/lambda.yaml",
        "specs/authorizers.yaml",
        "examples/hello/api.yaml",
    ] {
        assert_eq!(generate(rel), generate(rel), "{rel}");
    }
}
