//! End to end: the real `specgate build` compiles a spec into a statically linked
//! executable, which then serves the API over a real socket and drains on SIGTERM.
//! The first run compiles the runtime in release mode (a minute or two); later runs reuse the
//! shared target directory and compile only the generated crate.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Whether an ELF executable has no program interpreter (PT_INTERP), i.e. needs no dynamic
/// loader: what `file` reports as "statically linked" / "static-pie linked".
fn is_static_elf(bytes: &[u8]) -> bool {
    assert_eq!(&bytes[..4], b"\x7fELF");
    assert_eq!(bytes[4], 2, "64-bit");
    let u16_at = |o: usize| u16::from_le_bytes([bytes[o], bytes[o + 1]]) as usize;
    let u64_at = |o: usize| u64::from_le_bytes(bytes[o..o + 8].try_into().unwrap()) as usize;
    let (phoff, phentsize, phnum) = (u64_at(0x20), u16_at(0x36), u16_at(0x38));
    (0..phnum).all(|i| {
        let p = phoff + i * phentsize;
        u32::from_le_bytes(bytes[p..p + 4].try_into().unwrap()) != 3
    })
}

fn http_get(addr: &str, path: &str) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

/// Runs `specgate build spec -o exe`, asserts success, returns what it printed.
fn specgate_build(spec: &Path, exe: &Path) -> String {
    specgate_build_with(spec, exe, &[])
}

/// `specgate build spec -o exe` with more arguments.
fn specgate_build_with(spec: &Path, exe: &Path, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_specgate"))
        .arg("build")
        .arg(spec)
        .arg("-o")
        .arg(exe)
        .args(args)
        .env_remove("RUSTFLAGS")
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{log}");
    log
}

#[test]
#[cfg(target_os = "linux")]
fn specgate_build_produces_a_static_gateway_that_serves_and_drains() {
    let (dir, spec, text) = hello_spec("sg-e2e", "E2E Hello");
    let exe = dir.join("gateway");
    let log = specgate_build(&spec, &exe);
    assert!(log.contains("specgate: built"), "{log}");
    assert!(
        is_static_elf(&std::fs::read(&exe).unwrap()),
        "not statically linked"
    );

    // A small edit recompiles only the generated crate.
    std::fs::write(&spec, text.replace("I am a teapot", "I am still a teapot")).unwrap();
    let log = specgate_build(&spec, &exe);
    let compiled: Vec<&str> = log
        .lines()
        .filter(|l| l.trim_start().starts_with("Compiling"))
        .collect();
    assert_eq!(compiled.len(), 1, "{log}");
    assert!(compiled[0].contains("e2e-hello-gateway"), "{log}");

    // Run it: port 0, read the bound address from its first line.
    let (mut child, addr) = start(&exe, &["--stage", "prod", "--quiet", "--workers", "2"]);
    let resp = serves_hello(&addr);
    assert!(
        resp.ends_with(r#"{"message": "I am still a teapot"}"#),
        "{resp}"
    );
    let resp = http_get(&addr, "/nope");
    assert!(resp.starts_with("HTTP/1.1 404 Not Found\r\n"), "{resp}");
    assert!(
        resp.to_ascii_lowercase()
            .contains("x-amzn-errortype: missingauthenticationtokenexception\r\n"),
        "{resp}"
    );

    // Workers share the port through SO_REUSEPORT, but a second gateway may not.
    let second = Command::new(&exe)
        .args(["--listen", &addr, "--quiet"])
        .output()
        .unwrap();
    assert_eq!(second.status.code(), Some(2));
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains(&format!("cannot listen on {addr}")), "{err}");
    assert!(http_get(&addr, "/hello").starts_with("HTTP/1.1 200 OK\r\n"));

    // SIGTERM: drain and exit 0.
    terminate(&mut child);

    access_log_never_stops_the_gateway(&exe);
    no_log_line_lost_under_load(&exe, &dir);
    operator_commands(&exe, &dir);
    std::fs::remove_dir_all(&dir).ok();
}

/// `--optimize` builds with the generated crate's `optimized` profile (whole-program LTO):
/// the executable it makes is static and serves the same API. Its first build compiles the
/// runtime and its dependencies for that profile (minutes; cached afterwards).
#[test]
#[cfg(target_os = "linux")]
fn specgate_build_optimize_uses_the_optimized_profile() {
    let (dir, spec, _) = hello_spec("sg-e2e-opt", "E2E Optimized Hello");
    let exe = dir.join("gateway");
    let log = specgate_build_with(&spec, &exe, &["--optimize"]);
    assert!(
        log.lines()
            .any(|l| l.trim_start().starts_with("Finished `optimized` profile")),
        "{log}"
    );
    assert!(
        is_static_elf(&std::fs::read(&exe).unwrap()),
        "not statically linked"
    );
    let (mut child, addr) = start(&exe, &["--stage", "prod", "--quiet", "--workers", "1"]);
    serves_hello(&addr);
    terminate(&mut child);
    std::fs::remove_dir_all(&dir).ok();
}

/// The hello example under a title of its own (so the test's crate never collides with a
/// user's build), written to `api.yaml` in a new directory named after `name`: the
/// directory, the spec's path and its text.
fn hello_spec(name: &str, title: &str) -> (PathBuf, PathBuf, String) {
    let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let spec = dir.join("api.yaml");
    let text = std::fs::read_to_string(workspace().join("examples/hello/api.yaml")).unwrap();
    let text = text.replace("title: Hello", &format!("title: {title}"));
    std::fs::write(&spec, &text).unwrap();
    (dir, spec, text)
}

/// Asserts the hello example's two routes answer on `addr` (stage `prod`); the teapot's
/// answer, for its body.
fn serves_hello(addr: &str) -> String {
    let resp = http_get(addr, "/hello");
    assert!(resp.starts_with("HTTP/1.1 200 OK\r\n"), "{resp}");
    assert!(
        resp.contains(r#"{"message": "Good day, world", "stage": "prod""#),
        "{resp}"
    );
    let resp = http_get(addr, "/teapot");
    assert!(resp.starts_with("HTTP/1.1 418 "), "{resp}");
    resp
}

/// Starts the gateway on a free port with `args` and stdout piped; returns it and its
/// address (read from its first line on stderr).
fn start(exe: &Path, args: &[&str]) -> (std::process::Child, String) {
    let mut child = Command::new(exe)
        .args(["--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let addr = first
        .split("http://")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in {first:?}"))
        .to_string();
    (child, addr)
}

fn terminate(child: &mut std::process::Child) {
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{status:?}");
}

/// The access log goes to stdout. A closed stdout (`gateway | head`) used to panic the
/// process, and a full one to block its event loop; neither may stop it serving, and on
/// SIGTERM every line reaches a stdout that is read.
fn access_log_never_stops_the_gateway(exe: &Path) {
    // Closed: the reader is gone before the first line.
    let (mut child, addr) = start(exe, &["--workers", "1"]);
    drop(child.stdout.take());
    for _ in 0..50 {
        assert!(http_get(&addr, "/hello").starts_with("HTTP/1.1 200 OK\r\n"));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(http_get(&addr, "/hello").starts_with("HTTP/1.1 200 OK\r\n"));
    terminate(&mut child);

    // Full: nobody reads the pipe (64 KiB) while far more than that is logged.
    let (mut child, addr) = start(exe, &["--workers", "1"]);
    let stdout = child.stdout.take().unwrap();
    let path = format!("/hello/{}", "x".repeat(400));
    for _ in 0..1500 {
        assert!(http_get(&addr, &path).starts_with("HTTP/1.1 200 OK\r\n"));
    }
    drop(stdout);
    terminate(&mut child);

    // Read: every line arrives, the last ones flushed at SIGTERM.
    let (mut child, addr) = start(exe, &["--workers", "1"]);
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut all = String::new();
        stdout.read_to_string(&mut all).unwrap();
        all
    });
    for _ in 0..200 {
        assert!(http_get(&addr, "/hello").starts_with("HTTP/1.1 200 OK\r\n"));
    }
    terminate(&mut child);
    let log = reader.join().unwrap();
    assert_eq!(log.lines().count(), 200, "{log}");
    assert!(
        log.lines()
            .all(|l| l.contains("\"GET /hello HTTP/1.1\" 200")),
        "{log}"
    );
}

/// SIGTERM while clients keep sending: every request a client got an answer to is in the
/// access-log file (`--access-log-file`), found by its request id.
fn no_log_line_lost_under_load(exe: &Path, dir: &Path) {
    let file = dir.join("access.log");
    let (mut child, addr) = start(
        exe,
        &[
            "--workers",
            "2",
            "--access-log-file",
            file.to_str().unwrap(),
        ],
    );
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let clients: Vec<_> = (0..8)
        .map(|_| {
            let addr = addr.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut ids = Vec::new();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let Ok(mut s) = TcpStream::connect(&addr) else {
                        break;
                    };
                    let _ = write!(
                        s,
                        "GET /hello HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
                    );
                    let mut out = String::new();
                    if s.read_to_string(&mut out).is_err() || !out.starts_with("HTTP/1.1 200") {
                        continue;
                    }
                    if let Some(id) = out
                        .lines()
                        .find_map(|l| l.strip_prefix("x-amzn-requestid: "))
                    {
                        ids.push(id.trim().to_string());
                    }
                }
                ids
            })
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(500));
    terminate(&mut child);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let answered: Vec<String> = clients
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    let log = std::fs::read_to_string(&file).unwrap();
    assert!(
        answered.len() > 100,
        "only {} requests answered",
        answered.len()
    );
    let missing: Vec<&String> = answered
        .iter()
        .filter(|id| !log.contains(id.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {} answered requests not logged",
        missing.len(),
        answered.len()
    );
}

/// `keys …` and `usage …` run instead of serving, against `--state-dir`.
fn operator_commands(exe: &Path, dir: &Path) {
    let state = dir.join("state");
    let run = |args: &[&str]| {
        Command::new(exe)
            .args(args)
            .arg("--state-dir")
            .arg(&state)
            .output()
            .unwrap()
    };
    let out = run(&["keys", "list"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "[]");
    // This API has no usage plans: a key cannot be created.
    let out = run(&["keys", "create", "--name", "a", "--plan", "gold"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("this gateway has no usage plans"), "{err}");
    let out = run(&["keys", "show", "nobody"]);
    assert_eq!(out.status.code(), Some(1));
    let help = Command::new(exe).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    for word in [
        "keys",
        "usage",
        "--state-dir",
        "--max-connections",
        "--account-rate-limit",
    ] {
        assert!(help.contains(word), "--help lacks {word}: {help}");
    }
}
