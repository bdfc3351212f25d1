//! Test peers: a real HTTP backend on a loopback port that records what it receives, and a
//! client that sends exactly the request line it is given.

#![allow(dead_code)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use specgate_runtime::config::Config;
use specgate_runtime::server::{spawn, Handle};
use specgate_runtime::Gateway;
use tokio::net::{TcpListener, TcpStream};

/// What the backend received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    /// Path and query exactly as on the request line.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The address the request came from: one per connection.
    pub peer: SocketAddr,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A backend. It answers 200 with a JSON echo of the request, headers `x-version: 7` and
/// `server: test-backend`. The request can ask for something else (so that both proxy and
/// non-proxy integrations can steer it): a header `x-want-status: N` or `x-trace-id: want-N`,
/// or a query parameter `max=N` with N ≥ 300, sets the status; `x-want-delay-ms: N` delays
/// the answer; `x-want-header: name: value` adds a response header; `x-want-body: text` (with `x-want-content-type`, default `text/plain`)
/// replaces the echo.
pub struct Backend {
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Backend {
    pub async fn start() -> Backend {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let log = seen.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, peer)) = listener.accept().await else {
                    continue;
                };
                let log = log.clone();
                tokio::spawn(async move {
                    let svc = service_fn(move |req: hyper::Request<Incoming>| {
                        let log = log.clone();
                        async move { Ok::<_, Infallible>(answer(req, peer, log).await) }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        Backend { addr, seen }
    }

    /// Every request received so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// The only request received; panics unless exactly one arrived.
    pub fn one(&self) -> Seen {
        let s = self.seen();
        assert_eq!(s.len(), 1, "backend saw {s:#?}");
        s[0].clone()
    }
}

async fn answer(
    req: hyper::Request<Incoming>,
    peer: SocketAddr,
    log: Arc<Mutex<Vec<Seen>>>,
) -> hyper::Response<Full<Bytes>> {
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes().to_vec())
        .unwrap_or_default();
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let target = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let seen = Seen {
        method: parts.method.to_string(),
        target: target.clone(),
        headers: headers.clone(),
        body: body.clone(),
        peer,
    };
    log.lock().unwrap().push(seen.clone());
    let want = |name: &str| seen.header(name).and_then(|v| v.parse::<u64>().ok());
    let status = want("x-want-status")
        .or_else(|| {
            seen.header("x-trace-id")
                .and_then(|v| v.strip_prefix("want-")?.parse().ok())
        })
        .or_else(|| {
            parts.uri.query().and_then(|q| {
                q.split('&')
                    .find_map(|kv| kv.strip_prefix("max="))
                    .and_then(|v| v.parse::<u64>().ok())
                    .filter(|n| (300..600).contains(n))
            })
        })
        .unwrap_or(200);
    // A status a response can carry, whatever was asked for.
    let status = if (100..600).contains(&status) {
        status
    } else {
        200
    };
    if let Some(ms) = want("x-want-delay-ms") {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    if let Some(want) = seen.header("x-want-body") {
        // The body (and content type) the request asks for, as is.
        let content_type = seen.header("x-want-content-type").unwrap_or("text/plain");
        return hyper::Response::builder()
            .status(status as u16)
            .header("content-type", content_type)
            .body(Full::new(Bytes::from(want.to_string())))
            .unwrap();
    }
    let echo = serde_json::json!({
        "method": seen.method,
        "target": target,
        "body": String::from_utf8_lossy(&body),
    });
    let mut b = hyper::Response::builder()
        .status(status as u16)
        .header("content-type", "application/json")
        .header("x-version", "7")
        .header("server", "test-backend");
    // `x-want-header: name: value` adds a response header.
    if let Some((name, value)) = seen
        .header("x-want-header")
        .and_then(|h| h.split_once(": "))
    {
        b = b.header(name, value);
    }
    b.body(Full::new(Bytes::from(echo.to_string()))).unwrap()
}

/// A response as the client received it.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
    /// `x-amzn-RequestId`, which every answer carries.
    pub fn request_id(&self) -> String {
        self.header("x-amzn-requestid")
            .expect("x-amzn-RequestId")
            .to_string()
    }
}

/// Sends one request over a fresh HTTP/1.1 connection. `target` goes on the request line
/// exactly as written (no normalisation).
pub async fn send(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    KeepAlive::connect(addr)
        .await
        .send(method, target, headers, body)
        .await
}

/// One keep-alive HTTP/1.1 connection to a gateway, for requests that must reach the same
/// worker (and so the same pool of backend connections) one after another.
pub struct KeepAlive {
    addr: SocketAddr,
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
}

impl KeepAlive {
    pub async fn connect(addr: SocketAddr) -> KeepAlive {
        let stream = TcpStream::connect(addr).await.unwrap();
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(conn);
        KeepAlive { addr, sender }
    }

    pub async fn send(
        &mut self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Reply {
        let mut b = hyper::Request::builder()
            .method(method)
            .uri(target)
            .header("host", self.addr.to_string());
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        let req = b.body(Full::new(Bytes::copy_from_slice(body))).unwrap();
        self.sender.ready().await.unwrap();
        let resp = self.sender.send_request(req).await.unwrap();
        let (parts, body) = resp.into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        Reply {
            status: parts.status.as_u16(),
            headers: parts.headers,
            body,
        }
    }
}

/// Sends one request with its header names written exactly as given (hyper's client
/// lowers them), on a fresh connection it then closes; the answer must carry a
/// `Content-Length`.
pub async fn send_names_as_written(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(&[head.as_bytes(), body].concat())
        .await
        .unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut raw))
        .await
        .expect("the gateway answered within 30 s")
        .unwrap();
    let mut fields = [httparse::EMPTY_HEADER; 64];
    let mut resp = httparse::Response::new(&mut fields);
    let httparse::Status::Complete(at) = resp.parse(&raw).unwrap() else {
        panic!("an incomplete head: {}", String::from_utf8_lossy(&raw));
    };
    let mut headers = hyper::HeaderMap::new();
    for f in resp.headers.iter() {
        headers.append(
            hyper::header::HeaderName::from_bytes(f.name.as_bytes()).unwrap(),
            hyper::header::HeaderValue::from_bytes(f.value).unwrap(),
        );
    }
    let length: usize = headers["content-length"].to_str().unwrap().parse().unwrap();
    assert_eq!(raw.len() - at, length, "the body is the declared length");
    Reply {
        status: resp.code.unwrap(),
        headers,
        body: Bytes::copy_from_slice(&raw[at..]),
    }
}

pub async fn get(addr: SocketAddr, target: &str) -> Reply {
    send(addr, "GET", target, &[], b"").await
}

/// Starts a gateway in-process on a loopback port with `stage` and stage variables.
pub async fn gateway<G: Gateway>(g: G, stage: Option<&str>, vars: &[(&str, String)]) -> Handle {
    let mut config = Config::for_tests();
    config.stage = stage.map(str::to_string);
    config.stage_vars = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    spawn(g, config).await.unwrap()
}

/// A Python virtual environment `~/.cache/specgate/<name>` with `requirement` installed from
/// PyPI (once per machine); returns its `bin` folder. `probe` (a program in `bin` and its
/// arguments) succeeds once the package is there.
pub fn python_env(name: &str, requirement: &str, probe: &[&str]) -> std::path::PathBuf {
    use std::process::Command;
    let home = std::env::var("HOME").expect("HOME");
    let venv = std::path::Path::new(&home)
        .join(".cache/specgate")
        .join(name);
    let bin = venv.join("bin");
    let ready = Command::new(bin.join(probe[0]))
        .args(&probe[1..])
        .output()
        .is_ok_and(|o| o.status.success());
    if !ready {
        let ok = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "python3 -m venv failed");
        let ok = Command::new(bin.join("pip"))
            .args(["install", "--quiet", requirement])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "pip install {requirement} failed");
    }
    bin
}

/// Installs a Debian package when `program` is missing (as `.ci/run` does): `apt-get`, or
/// `sudo apt-get` when not root, with one `apt-get update` retry.
pub fn apt_install(program: &str, package: &str) {
    use std::process::{Command, Stdio};
    let present = Command::new(program)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if present {
        return;
    }
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let apt = |args: &[&str]| {
        let mut c = if root {
            Command::new("apt-get")
        } else {
            let mut c = Command::new("sudo");
            c.arg("apt-get");
            c
        };
        c.args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let install = ["install", "-y", "--no-install-recommends", package];
    let ok = apt(&install) || (apt(&["update"]) && apt(&install));
    assert!(ok, "cannot install {package} (apt-get install {package})");
}

/// The Python environment with moto, boto3 and botocore (from PyPI); its `bin` folder.
pub fn boto_env() -> std::path::PathBuf {
    python_env(
        "moto-venv",
        "moto[server]==5.*",
        &["python", "-c", "import moto.server, boto3"],
    )
}

/// moto's AWS emulator (from PyPI) on a free loopback port, stopped when dropped.
pub struct Moto {
    child: std::process::Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    python: std::path::PathBuf,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Moto {
    pub fn start() -> Moto {
        use std::process::{Command, Stdio};
        let bin = boto_env();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(bin.join("moto_server"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Moto {
            child,
            url: format!("http://127.0.0.1:{port}"),
            python: bin.join("python"),
        }
    }

    /// Runs boto3 code against the emulator (`kw` holds the client arguments); returns what
    /// it prints.
    pub fn boto(&self, code: &str) -> String {
        let script = format!(
            "import boto3, json\nkw = dict(endpoint_url='{}', region_name='us-east-1', aws_access_key_id='testing', aws_secret_access_key='testing')\n{code}",
            self.url
        );
        python_script(&self.python, &script).trim().to_string()
    }
}

/// Runs `script` with the interpreter `python`; fails the test unless it succeeds; returns
/// what it printed.
pub fn python_script(python: &std::path::Path, script: &str) -> String {
    let out = std::process::Command::new(python)
        .args(["-c", script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `20231114T221320Z` as a time.
pub fn amz_date(s: &str) -> Option<std::time::SystemTime> {
    let n = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (n(0..4)?, n(4..6)?, n(6..8)?);
    let (hh, mm, ss) = (n(9..11)?, n(11..13)?, n(13..15)?);
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + hh * 3600 + mm * 60 + ss;
    Some(std::time::UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).ok()?))
}

/// The `Authorization` header the aws-sigv4 crate computes for the request that arrived
/// (`parts`, `body`) with these keys: its region and service from the credential scope the
/// request names, its signed headers from `SignedHeaders`, its time from `X-Amz-Date`. A
/// signer that disagrees with aws-sigv4 anywhere gets a different answer.
pub fn sigv4_authorization(
    parts: &http::request::Parts,
    body: &[u8],
    access_key: &str,
    secret: &str,
) -> String {
    use aws_sigv4::http_request::{
        sign, PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings,
    };
    use aws_sigv4::sign::v4;
    let header = |n: &str| {
        parts
            .headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    };
    let auth = header("authorization");
    let field = |name: &str| {
        auth.split(name)
            .nth(1)
            .and_then(|r| r.split(',').next())
            .unwrap_or("")
            .trim()
            .to_string()
    };
    let scope = field("Credential=");
    let scope: Vec<&str> = scope.split('/').collect();
    let (region, service) = (
        scope.get(2).copied().unwrap_or(""),
        scope.get(3).copied().unwrap_or(""),
    );
    let signed = field("SignedHeaders=");
    let token = parts
        .headers
        .get("x-amz-security-token")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let identity =
        aws_credential_types::Credentials::new(access_key, secret, token, None, "test").into();
    let mut settings = SigningSettings::default();
    if parts.headers.contains_key("x-amz-content-sha256") {
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    }
    let Some(time) = amz_date(header("x-amz-date")) else {
        return String::new();
    };
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(time)
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let url = format!(
        "http://{}{}",
        header("host"),
        parts.uri.path_and_query().map_or("/", |p| p.as_str())
    );
    let headers: Vec<(&str, &str)> = signed
        .split(';')
        .filter(|n| !n.starts_with("x-amz-date") && *n != "x-amz-security-token")
        .filter(|n| *n != "x-amz-content-sha256")
        .map(|n| (n, header(n)))
        .collect();
    let Ok(req) = SignableRequest::new(
        parts.method.as_str(),
        url,
        headers.into_iter(),
        SignableBody::Bytes(body),
    ) else {
        return String::new();
    };
    let (instructions, _) = sign(req, &params).unwrap().into_parts();
    let mut check = http::Request::new(());
    instructions.apply_to_request_http1x(&mut check);
    check.headers()["authorization"]
        .to_str()
        .unwrap()
        .to_string()
}

/// What a stand-in AWS endpoint received.
#[derive(Debug, Clone)]
pub struct AwsCall {
    pub method: String,
    /// Path and query.
    pub target: String,
    pub headers: http::HeaderMap,
    pub body: Bytes,
    /// The signature equals the one aws-sigv4 computes with the test keys, and not the one
    /// it computes with another secret.
    pub signature_ok: bool,
}

/// A loopback HTTP/1.1 server that answers every request with `handler` (given the request
/// head and its whole body); its address.
pub async fn serve<F, Fut>(handler: F) -> SocketAddr
where
    F: Fn(http::request::Parts, Bytes) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = hyper::Response<Full<Bytes>>> + Send + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let handler = handler.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req: hyper::Request<Incoming>| {
                    let handler = handler.clone();
                    async move {
                        let (parts, body) = req.into_parts();
                        let body = body
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        Ok::<_, Infallible>(handler(parts, body).await)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    addr
}

/// A stand-in for an AWS service moto does not emulate: records each call, checks its
/// signature with the secret `testing`, answers `(status, content type, body)`.
pub async fn fake_aws(
    answer: fn(&AwsCall) -> (u16, &'static str, String),
) -> (SocketAddr, Arc<Mutex<Vec<AwsCall>>>) {
    fake_aws_with("testing", answer).await
}

/// [`fake_aws`] checking signatures with another secret.
pub async fn fake_aws_with(
    secret: &'static str,
    answer: fn(&AwsCall) -> (u16, &'static str, String),
) -> (SocketAddr, Arc<Mutex<Vec<AwsCall>>>) {
    let calls: Arc<Mutex<Vec<AwsCall>>> = Arc::default();
    let log = calls.clone();
    let addr = serve(move |parts: http::request::Parts, body: Bytes| {
        let log = log.clone();
        async move {
            let got = parts
                .headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            let key = got
                .split("Credential=")
                .nth(1)
                .and_then(|c| c.split('/').next())
                .unwrap_or("")
                .to_string();
            let signature_ok = !got.is_empty()
                && got == sigv4_authorization(&parts, &body, &key, secret)
                && got != sigv4_authorization(&parts, &body, &key, "other");
            let call = AwsCall {
                method: parts.method.to_string(),
                target: parts
                    .uri
                    .path_and_query()
                    .map_or("/".into(), |p| p.to_string()),
                headers: parts.headers.clone(),
                body,
                signature_ok,
            };
            let (status, ct, text) = answer(&call);
            log.lock().unwrap().push(call);
            hyper::Response::builder()
                .status(status)
                .header("content-type", ct)
                .body(Full::new(Bytes::from(text)))
                .unwrap()
        }
    })
    .await;
    (addr, calls)
}

/// What aws-sigv4 adds to sign a request to an `execute-api` gateway (us-east-1): the target (changed for a presigned URL) and
/// headers.
#[allow(clippy::too_many_arguments)]
pub fn sign_execute_api(
    addr: std::net::SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    keys: &(String, String),
    time: std::time::SystemTime,
    presign: bool,
) -> (String, Vec<(String, String)>) {
    sign_execute_api_token(
        addr, method, target, headers, body, keys, None, time, presign,
    )
}

/// [`sign_execute_api`] with temporary credentials' session token.
#[allow(clippy::too_many_arguments)]
pub fn sign_execute_api_token(
    addr: std::net::SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    (key, secret): &(String, String),
    token: Option<&str>,
    time: std::time::SystemTime,
    presign: bool,
) -> (String, Vec<(String, String)>) {
    use aws_sigv4::http_request::{
        sign, SignableBody, SignableRequest, SignatureLocation, SigningSettings,
    };
    use aws_sigv4::sign::v4;
    let identity = aws_credential_types::Credentials::new(
        key,
        secret,
        token.map(str::to_string),
        None,
        "test",
    )
    .into();
    let mut settings = SigningSettings::default();
    if presign {
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(Duration::from_secs(300));
    }
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("execute-api")
        .time(time)
        .settings(settings)
        .build()
        .unwrap()
        .into();
    let host = addr.to_string();
    let url = format!("http://{host}{target}");
    let mut all: Vec<(&str, &str)> = vec![("host", host.as_str())];
    all.extend_from_slice(headers);
    let signable = SignableRequest::new(
        method,
        url.clone(),
        all.into_iter(),
        SignableBody::Bytes(body),
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    let mut req = http::Request::builder().uri(url).body(()).unwrap();
    instructions.apply_to_request_http1x(&mut req);
    let target = req.uri().path_and_query().unwrap().to_string();
    let mut out: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    out.extend(
        req.headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_string())),
    );
    (target, out)
}

pub async fn send_owned(
    addr: std::net::SocketAddr,
    method: &str,
    target: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Reply {
    let h: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    send(addr, method, target, &h, body).await
}

/// A JSON `POST` signed with `keys` (aws-sigv4, `execute-api`), sent now.
pub async fn signed_post(
    addr: SocketAddr,
    path: &str,
    body: &[u8],
    keys: &(String, String),
) -> Reply {
    let json = ("content-type", "application/json");
    let (target, headers) = sign_execute_api(
        addr,
        "POST",
        path,
        &[json],
        body,
        keys,
        std::time::SystemTime::now(),
        false,
    );
    send_owned(addr, "POST", &target, &headers, body).await
}

/// Whether signed `POST`s come to be refused (403) within 2.5 s: a change to a principal
/// reaches a running gateway within 100 ms.
pub async fn refused_soon(
    addr: SocketAddr,
    path: &str,
    body: &[u8],
    keys: &(String, String),
) -> bool {
    for _ in 0..50 {
        if signed_post(addr, path, body, keys).await.status == 403 {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}
