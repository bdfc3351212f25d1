//! Shared by the Lambda tests: a Python with awslambdaric, the test functions
//! (`codegen-tests/functions`) and a gateway started with them.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use specgate_runtime::config::Config;
use specgate_runtime::server::{spawn, Handle};
use specgate_runtime::Gateway;

/// A Python with awslambdaric, installed once per machine.
pub fn python() -> PathBuf {
    static PYTHON: OnceLock<PathBuf> = OnceLock::new();
    PYTHON
        .get_or_init(|| {
            crate::common::python_env(
                "venv",
                "awslambdaric==3.*",
                &["python", "-c", "import awslambdaric"],
            )
            .join("python")
        })
        .clone()
}

/// The Rust function (`functions/rust-echo`, on the `lambda_runtime` crate), built once.
pub fn rust_function() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY
        .get_or_init(|| {
            let home = std::env::var("HOME").expect("HOME");
            let target = Path::new(&home).join(".cache/specgate/functions-target");
            let ok = Command::new(env!("CARGO"))
                .args(["build", "--release", "--quiet", "--manifest-path"])
                .arg(functions_dir().join("rust-echo/Cargo.toml"))
                .env("CARGO_TARGET_DIR", &target)
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "building functions/rust-echo failed");
            target.join("release/rust-echo")
        })
        .clone()
}

pub fn functions_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("functions")
}

/// The Python echo function as `--function echo=…`.
pub fn echo_function() -> (String, String) {
    (
        "echo".to_string(),
        format!(
            "cd '{}' && exec '{}' -m awslambdaric echo.handler",
            functions_dir().display(),
            python().display()
        ),
    )
}

pub async fn start<G: Gateway>(g: G, configure: impl FnOnce(&mut Config)) -> Handle {
    let mut config = Config::for_tests();
    config.functions = vec![echo_function()];
    configure(&mut config);
    spawn(g, config).await.unwrap()
}

/// The Python authorizer (`functions/authorizer.py`) as `--function authorizer=…`.
pub fn authorizer_function() -> (String, String) {
    (
        "authorizer".to_string(),
        format!(
            "cd '{}' && exec '{}' -m awslambdaric authorizer.handler",
            functions_dir().display(),
            python().display()
        ),
    )
}
