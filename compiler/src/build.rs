//! Stage 5, **build**: write the generated crate and compile it with cargo into one
//! statically linked executable.
//!
//! The target directory is shared by every spec (`~/.cache/specgate/target`, or
//! `$SPECGATE_CACHE_DIR/target`), so the runtime and its dependencies compile once and a
//! rebuild after a spec edit compiles only the generated crate. Files whose content did not
//! change are not rewritten, so cargo's freshness checks keep working.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::codegen::{self, Crate, RuntimeDep};
use crate::ir::Api;

/// Where the runtime comes from: `$SPECGATE_RUNTIME_PATH`, else the checkout this compiler
/// was built from, else the crates.io version matching the compiler.
pub fn runtime_dep() -> RuntimeDep {
    if let Some(p) = std::env::var_os("SPECGATE_RUNTIME_PATH") {
        return RuntimeDep::Path(PathBuf::from(p).display().to_string());
    }
    let local = Path::new(env!("CARGO_MANIFEST_DIR")).join("../runtime");
    if local.join("Cargo.toml").exists() {
        let p = local.canonicalize().unwrap_or(local);
        return RuntimeDep::Path(p.display().to_string());
    }
    RuntimeDep::Version(env!("CARGO_PKG_VERSION").to_string())
}

/// The cache directory (`$SPECGATE_CACHE_DIR`, `$XDG_CACHE_HOME/specgate`, `~/.cache/specgate`).
pub fn cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("SPECGATE_CACHE_DIR") {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(d).join("specgate");
    }
    if let Some(h) = std::env::var_os("HOME") {
        return PathBuf::from(h).join(".cache/specgate");
    }
    std::env::temp_dir().join("specgate-cache")
}

/// Writes a generated crate under `dir`, leaving unchanged files untouched.
pub fn write_crate(c: &Crate, dir: &Path) -> Result<(), String> {
    for (rel, text) in &c.files {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        if std::fs::read_to_string(&path).ok().as_deref() == Some(text.as_str()) {
            continue;
        }
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

/// What a build did.
#[derive(Debug)]
pub struct Report {
    /// The executable.
    pub output: PathBuf,
    /// The generated crate.
    pub crate_dir: PathBuf,
    /// Seconds cargo took.
    pub seconds: f64,
}

/// Options of a build.
#[derive(Debug, Clone)]
pub struct Options {
    /// Link statically (`+crt-static`).
    pub static_link: bool,
    /// Print cargo's progress lines to stderr.
    pub progress: bool,
    /// Build with the generated crate's `optimized` profile (fat LTO, one codegen unit)
    /// instead of `release`.
    pub optimize: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            static_link: true,
            progress: true,
            optimize: false,
        }
    }
}

fn host_triple() -> Result<String, String> {
    let out = Command::new(rustc())
        .arg("-vV")
        .output()
        .map_err(|e| format!("cannot run rustc (is a Rust toolchain installed?): {e}"))?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        .ok_or_else(|| "rustc -vV printed no host triple".to_string())
}

fn rustc() -> String {
    std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into())
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// Generates, writes and compiles `api` into the executable `output`.
pub fn build(
    api: &Api,
    source_name: &str,
    output: &Path,
    opts: &Options,
) -> Result<Report, String> {
    let generated = codegen::generate(api, source_name, &runtime_dep());
    let name = codegen::crate_name(&api.title);
    let cache = cache_dir();
    let crate_dir = cache.join("crates").join(&name);
    write_crate(&generated, &crate_dir)?;
    let target_dir = std::env::var_os("SPECGATE_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| cache.join("target"));
    let triple = host_triple()?;
    let profile = if opts.optimize {
        "optimized"
    } else {
        "release"
    };
    let mut cmd = Command::new(cargo());
    cmd.current_dir(&crate_dir)
        .args([
            "build",
            "--profile",
            profile,
            "--bin",
            &name,
            "--target",
            &triple,
        ])
        .arg("--target-dir")
        .arg(&target_dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .env_remove("CARGO_TARGET_DIR");
    if opts.static_link && triple.contains("linux") {
        // Static glibc: the binary runs on any Linux of the same architecture.
        let mut flags = std::env::var("RUSTFLAGS").unwrap_or_default();
        if !flags.is_empty() {
            flags.push(' ');
        }
        flags.push_str("-C target-feature=+crt-static");
        cmd.env("RUSTFLAGS", flags);
    }
    let started = Instant::now();
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot run cargo (is a Rust toolchain installed?): {e}"))?;
    let mut log = Vec::new();
    if let Some(err) = child.stderr.take() {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            if opts.progress {
                let t = line.trim_start();
                if t.starts_with("Compiling") || t.starts_with("Finished") {
                    eprintln!("  {t}");
                }
            }
            log.push(line);
        }
    }
    let status = child
        .wait()
        .map_err(|e| format!("cargo did not finish: {e}"))?;
    let seconds = started.elapsed().as_secs_f64();
    if !status.success() {
        let errors: Vec<&String> = log
            .iter()
            .skip_while(|l| !l.starts_with("error") && !l.starts_with("warning: unused"))
            .collect();
        let shown: Vec<&str> = if errors.is_empty() {
            log.iter()
                .rev()
                .take(30)
                .rev()
                .map(String::as_str)
                .collect()
        } else {
            errors.iter().take(60).map(|s| s.as_str()).collect()
        };
        return Err(format!(
            "cargo failed to compile the generated gateway ({}):\n{}\n\nThe generated crate is at {}. \
             A spec that passes `specgate check` should always compile: please report this with the spec.",
            status,
            shown.join("\n"),
            crate_dir.display()
        ));
    }
    // Each gateway crate names its binary after itself, so gateways built from different
    // specs in the shared target directory never overwrite each other.
    let built = target_dir.join(&triple).join(profile).join(&name);
    if let Some(parent) = output.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    // Copy to a temporary name and rename, so a running gateway at `output` is replaced
    // atomically rather than overwritten in place.
    let tmp = output.with_extension("specgate-tmp");
    std::fs::copy(&built, &tmp)
        .map_err(|e| format!("cannot copy {} to {}: {e}", built.display(), tmp.display()))?;
    std::fs::rename(&tmp, output)
        .map_err(|e| format!("cannot move the gateway to {}: {e}", output.display()))?;
    Ok(Report {
        output: output.to_path_buf(),
        crate_dir,
        seconds,
    })
}
