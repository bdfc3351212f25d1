//! Schemathesis (from PyPI) against gateways generated from `specs/petstore.yaml` and
//! `specs/typed-params.yaml`, with a fixed seed: valid and invalid requests of every shape
//! the specs allow, and the gateway itself never answers 5xx (the backend here never does,
//! so every 5xx would be the gateway's).
//!
//! `SCHEMATHESIS_EXAMPLES` raises the number of cases per operation for a soak run (default
//! 25); `SCHEMATHESIS_SEED` changes the seed.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use specgate_codegen_tests as gen;

/// A Python environment with schemathesis, installed once per machine.
fn schemathesis() -> PathBuf {
    common::python_env(
        "schemathesis-venv",
        "schemathesis==4.*",
        &["schemathesis", "--version"],
    )
    .join("schemathesis")
}

fn run(exe: &Path, spec: &str, addr: std::net::SocketAddr) {
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(spec);
    let examples = std::env::var("SCHEMATHESIS_EXAMPLES").unwrap_or_else(|_| "25".into());
    let seed = std::env::var("SCHEMATHESIS_SEED").unwrap_or_else(|_| "20261130".into());
    let out = Command::new(exe)
        .arg("run")
        .arg(&spec)
        .args(["--url", &format!("http://{addr}")])
        .args(["--checks", "not_a_server_error"])
        .args(["--seed", &seed, "--max-examples", &examples])
        .args(["--phases", "examples,coverage,fuzzing"])
        .args(["--workers", "2", "--request-timeout", "10"])
        .args(["--generation-database", "none"])
        // Its caches go to a folder of its own, not into the checkout.
        .current_dir(std::env::temp_dir())
        .env("NO_COLOR", "1")
        .env("SCHEMATHESIS_HOOKS", "")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    // A failed check is a failure here; schemathesis's own errors (its generator sometimes
    // reports "Inconsistent results" from Hypothesis) are not the gateway's and only noted.
    let failures = text.contains("=== FAILURES ===") || text.contains("Server error");
    assert!(
        !failures && text.contains("Test cases:"),
        "schemathesis found failures on {}:\n{text}\n{}",
        spec.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    if !out.status.success() {
        eprintln!(
            "note: schemathesis reported errors of its own on {}",
            spec.display()
        );
    }
    // The summary: how many cases ran, and the verdict.
    let mut lines = text.lines();
    let cases = lines
        .by_ref()
        .skip_while(|l| !l.starts_with("Test cases:"))
        .nth(1)
        .unwrap_or("")
        .trim()
        .to_string();
    eprintln!(
        "{}: {cases}; {}",
        spec.display(),
        text.lines()
            .last()
            .unwrap_or("")
            .trim_matches(|c| c == '=' || c == ' ')
    );
}

#[test]
fn no_generated_request_makes_the_gateway_answer_5xx() {
    let exe = schemathesis();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (backend, pets, typed) = rt.block_on(async {
        let backend = common::Backend::start().await;
        let pets = common::gateway(
            gen::petstore::Api,
            None,
            &[("backend", backend.addr.to_string())],
        )
        .await;
        let typed = common::gateway(gen::typed_params::Api, None, &[]).await;
        (backend, pets, typed)
    });
    run(&exe, "specs/petstore.yaml", pets.addr);
    run(&exe, "specs/typed-params.yaml", typed.addr);
    assert!(!backend.seen().is_empty(), "nothing reached the backend");
    rt.block_on(async {
        pets.shutdown().await.unwrap();
        typed.shutdown().await.unwrap();
    });
}
