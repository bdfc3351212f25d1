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
    let home = std::env::var("HOME").expect("HOME");
    let venv = Path::new(&home).join(".cache/specgate/schemathesis-venv");
    let exe = venv.join("bin/schemathesis");
    let ready = Command::new(&exe)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ready {
        let ok = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "python3 -m venv failed");
        let ok = Command::new(venv.join("bin/pip"))
            .args(["install", "--quiet", "schemathesis==4.*"])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "pip install schemathesis failed");
    }
    exe
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
        .env("NO_COLOR", "1")
        .env("SCHEMATHESIS_HOOKS", "")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis found failures on {}:\n{text}\n{}",
        spec.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{}: {}", spec.display(), text.lines().last().unwrap_or(""));
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
