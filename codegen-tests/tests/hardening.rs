//! Hardening: what an attacker or a flaky network can send a gateway, over real sockets.
//! Every test here failed before the fix it covers (issue 13): a remote crash, silent
//! connections held for ever, client body errors answered as backend failures, backends that
//! stall or break off mid-body, typed-value edge cases, path tricks, oversized headers.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{get, send};
use specgate_codegen_tests as gen;
use specgate_runtime::config::Config;
use specgate_runtime::server::{spawn, Handle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn gateway_with(backend: Option<SocketAddr>, tune: impl FnOnce(&mut Config)) -> Handle {
    let mut config = Config::for_tests();
    if let Some(b) = backend {
        config.stage_vars = vec![("backend".into(), b.to_string())];
    }
    tune(&mut config);
    spawn(gen::hardening::Api, config).await.unwrap()
}

/// Writes `request` on a fresh connection and reads until the server closes it (or 5 s).
async fn raw(addr: SocketAddr, request: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(request).await.unwrap();
    read_all(&mut s).await
}

async fn read_all(s: &mut TcpStream) -> String {
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

fn status_of(resp: &str) -> u16 {
    resp.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status line in {resp:?}"))
}

fn body_of(resp: &str) -> &str {
    resp.split_once("\r\n\r\n").map_or("", |(_, b)| b)
}

/// A backend that answers every request with `script`'s bytes and then does what it says.
#[derive(Clone, Copy)]
enum Misbehave {
    /// Headers and part of the body, then silence (connection kept open).
    StallAfterHeaders,
    /// Headers (content-length 100) and 10 bytes, then the connection is closed.
    Truncate,
    /// A chunked body broken off after one chunk.
    ResetChunked,
}

async fn bad_backend(how: Misbehave) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                // Read the request head (these tests send bodiless requests).
                let _ = s.read(&mut buf).await;
                match how {
                    Misbehave::StallAfterHeaders => {
                        let _ = s
                            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n0123456789")
                            .await;
                        tokio::time::sleep(Duration::from_secs(30)).await;
                    }
                    Misbehave::Truncate => {
                        let _ = s
                            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\n0123456789")
                            .await;
                    }
                    Misbehave::ResetChunked => {
                        let _ = s
                            .write_all(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n")
                            .await;
                    }
                }
            });
        }
    });
    addr
}

#[tokio::test]
async fn multibyte_date_time_is_a_client_error_not_a_crash() {
    let gw = gateway_with(None, |_| {}).await;
    let r = send(
        gw.addr,
        "POST",
        "/events",
        &[("content-type", "application/json")],
        "{\"at\":\"aaaaaaaaa\u{e9}0123456789\"}".as_bytes(),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(
        r.json(),
        serde_json::json!({"message": "Invalid request body"})
    );
    let r = get(gw.addr, "/events?at=aaaaaaaaa%C3%A90123456789").await;
    assert_eq!(r.status, 400, "{}", r.text());
    // Still serving.
    let r = get(gw.addr, "/events?at=2024-01-02T03:04:05Z").await;
    assert_eq!(r.status, 200, "{}", r.text());
    gw.shutdown().await.unwrap();
}

/// A gateway whose handler panics on `/boom`.
struct Panicky;

impl specgate_runtime::Gateway for Panicky {
    fn info(&self) -> &'static specgate_runtime::ApiInfo {
        specgate_runtime::Gateway::info(&gen::hardening::Api)
    }

    // Panics before any future exists, as a bug in routing would.
    fn handle<'a>(
        &'a self,
        rt: &'a specgate_runtime::Runtime,
        cx: &'a mut specgate_runtime::Context,
        req: specgate_runtime::Request,
    ) -> specgate_runtime::Handling<'a> {
        if req.uri().path() == "/boom" {
            panic!("a bug while handling {}", req.uri());
        }
        specgate_runtime::Gateway::handle(&gen::hardening::Api, rt, cx, req)
    }
}

#[tokio::test]
async fn a_panic_answers_500_and_the_gateway_serves_on() {
    let gw = spawn(Panicky, Config::for_tests()).await.unwrap();
    let before = specgate_runtime::server::PANICS.load(std::sync::atomic::Ordering::Relaxed);
    let r = get(gw.addr, "/boom").await;
    assert_eq!(r.status, 500);
    assert_eq!(
        r.json(),
        serde_json::json!({"message": "Internal server error"})
    );
    assert!(r.header("x-amzn-requestid").is_some());
    let after = specgate_runtime::server::PANICS.load(std::sync::atomic::Ordering::Relaxed);
    assert!(after > before);
    let r = get(gw.addr, "/events").await;
    assert_eq!(r.status, 200, "{}", r.text());
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn silent_connections_are_closed() {
    let gw = gateway_with(None, |c| {
        c.first_byte_timeout = 1;
        c.idle_timeout = 2;
    })
    .await;
    // No byte at all.
    let started = Instant::now();
    let mut s = TcpStream::connect(gw.addr).await.unwrap();
    assert_eq!(read_all(&mut s).await, "");
    let waited = started.elapsed();
    assert!(waited < Duration::from_secs(4), "closed after {waited:?}");
    // Half an HTTP/2 preface.
    let started = Instant::now();
    let mut s = TcpStream::connect(gw.addr).await.unwrap();
    s.write_all(b"PRI * HTTP/2.0\r\n").await.unwrap();
    let _ = read_all(&mut s).await;
    assert!(started.elapsed() < Duration::from_secs(4));
    // Half a request line: hyper's header timeout (the first-byte timeout).
    let started = Instant::now();
    let mut s = TcpStream::connect(gw.addr).await.unwrap();
    s.write_all(b"GET /events HT").await.unwrap();
    let _ = read_all(&mut s).await;
    assert!(started.elapsed() < Duration::from_secs(4));
    // A keep-alive connection that goes quiet after a request: HTTP/1 waits for the next
    // request head for the first-byte timeout at most.
    let started = Instant::now();
    let mut s = TcpStream::connect(gw.addr).await.unwrap();
    s.write_all(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let out = read_all(&mut s).await;
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(4),
        "closed after {waited:?}"
    );
    gw.shutdown().await.unwrap();
}

/// The wait for a keep-alive connection's next head is timed from when it starts: a timer
/// left from an earlier wait that fires meanwhile does not close the connection.
#[tokio::test]
async fn the_head_timeout_counts_from_each_wait() {
    let gw = gateway_with(None, |c| {
        c.first_byte_timeout = 1;
        c.idle_timeout = 5;
    })
    .await;
    async fn one_response(s: &mut TcpStream) -> String {
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
                .await
                .expect("a response")
                .unwrap();
            assert!(n > 0, "closed: {}", String::from_utf8_lossy(&out));
            out.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&out).to_string();
            if let Some(end) = text.find("\r\n\r\n") {
                let length: usize = text[..end]
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length: ")
                            .map(str::to_string)
                    })
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                if out.len() >= end + 4 + length {
                    return text;
                }
            }
        }
    }
    let request = b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut s = TcpStream::connect(gw.addr).await.unwrap();
    // The first wait's timer is set for 1 s from now.
    tokio::time::sleep(Duration::from_millis(600)).await;
    s.write_all(request).await.unwrap();
    assert!(one_response(&mut s)
        .await
        .starts_with("HTTP/1.1 200 OK\r\n"));
    // The next wait began at 0.6 s; the old timer fires at 1 s, within it.
    tokio::time::sleep(Duration::from_millis(700)).await;
    s.write_all(request).await.unwrap();
    assert!(one_response(&mut s)
        .await
        .starts_with("HTTP/1.1 200 OK\r\n"));
    // And a wait that runs out still closes the connection, a second after it began.
    let started = Instant::now();
    assert_eq!(read_all(&mut s).await, "");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(4),
        "closed after {waited:?}"
    );
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn idle_http2_connections_are_closed() {
    use bytes::Bytes;
    use http_body_util::{BodyExt, Empty};
    use hyper_util::rt::{TokioExecutor, TokioIo};
    let gw = gateway_with(None, |c| c.idle_timeout = 1).await;
    let stream = TcpStream::connect(gw.addr).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
            .await
            .unwrap();
    let conn = tokio::spawn(conn);
    let req = hyper::Request::get(format!("http://{}/events", gw.addr))
        .body(Empty::<Bytes>::new())
        .unwrap();
    let resp = sender.send_request(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    let _ = resp.into_body().collect().await;
    let started = Instant::now();
    let ended = tokio::time::timeout(Duration::from_secs(5), conn).await;
    assert!(ended.is_ok(), "the idle h2 connection was not closed");
    assert!(started.elapsed() >= Duration::from_millis(500));
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn connections_over_the_limit_are_refused_and_others_served_after() {
    let gw = gateway_with(None, |c| {
        c.max_connections = Some(3);
        c.first_byte_timeout = 30;
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(gw.addr).await.unwrap());
    }
    // Let the gateway accept them.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    let out = raw(
        gw.addr,
        b"GET /events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(out, "", "a fourth connection was served");
    assert!(started.elapsed() < Duration::from_secs(2));
    drop(held);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let r = get(gw.addr, "/events").await;
    assert_eq!(r.status, 200);
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn malformed_chunked_bodies_are_400_on_every_kind_of_route() {
    let backend = common::Backend::start().await;
    let gw = gateway_with(Some(backend.addr), |_| {}).await;
    for path in ["/proxy/upload", "/events", "/mock"] {
        for body in [
            // Not a chunk size.
            &b"zz\r\nabc\r\n0\r\n\r\n"[..],
            // A chunk longer than it said.
            &b"3\r\nabcdefgh\r\n0\r\n\r\n"[..],
        ] {
            let mut req = format!(
                "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                 Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            )
            .into_bytes();
            req.extend_from_slice(body);
            let out = raw(gw.addr, &req).await;
            assert_eq!(status_of(&out), 400, "{path}: {out}");
            assert_eq!(body_of(&out), r#"{"message": "Bad Request"}"#, "{path}");
        }
    }
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn oversized_chunked_upload_to_a_proxy_is_413() {
    let backend = common::Backend::start().await;
    let gw = gateway_with(Some(backend.addr), |_| {}).await;
    let mut s = TcpStream::connect(gw.addr).await.unwrap();
    s.write_all(
        b"POST /proxy/upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
    )
    .await
    .unwrap();
    let chunk = vec![b'a'; 1 << 20];
    let mut head = format!("{:x}\r\n", chunk.len()).into_bytes();
    head.extend_from_slice(&chunk);
    head.extend_from_slice(b"\r\n");
    // 11 MB; the gateway may answer and close before all of it is written.
    for _ in 0..11 {
        if s.write_all(&head).await.is_err() {
            break;
        }
    }
    let _ = s.write_all(b"0\r\n\r\n").await;
    let out = read_all(&mut s).await;
    assert_eq!(status_of(&out), 413, "{out}");
    assert_eq!(
        body_of(&out),
        "HTTP content length exceeded 10485760 bytes."
    );
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn slow_bodies_time_out_with_408() {
    let gw = gateway_with(None, |c| c.body_timeout = 1).await;
    for path in ["/mock", "/events"] {
        let mut s = TcpStream::connect(gw.addr).await.unwrap();
        let req = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
             Content-Length: 20\r\n\r\n{{\"at\""
        );
        s.write_all(req.as_bytes()).await.unwrap();
        let started = Instant::now();
        let out = read_all(&mut s).await;
        assert_eq!(status_of(&out), 408, "{path}: {out}");
        assert!(started.elapsed() < Duration::from_secs(4));
    }
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn backends_that_stall_or_break_off_mid_body() {
    for (path, how, status) in [
        ("/proxy/x", Misbehave::StallAfterHeaders, 504),
        ("/proxy/x", Misbehave::Truncate, 502),
        ("/proxy/x", Misbehave::ResetChunked, 502),
        ("/buffered", Misbehave::StallAfterHeaders, 504),
    ] {
        let backend = bad_backend(how).await;
        let gw = gateway_with(Some(backend), |_| {}).await;
        let started = Instant::now();
        let r = get(gw.addr, path).await;
        assert_eq!(r.status, status, "{path}: {}", r.text());
        // The route's timeoutInMillis is 1000.
        assert!(started.elapsed() < Duration::from_secs(3), "{path}");
        if status == 504 {
            assert_eq!(
                r.json(),
                serde_json::json!({"message": "Endpoint request timed out"})
            );
        } else {
            assert_eq!(
                r.json(),
                serde_json::json!({"message": "Internal server error"})
            );
        }
        gw.shutdown().await.unwrap();
    }
}

#[tokio::test]
async fn integers_beyond_64_bits_and_empty_exploded_lists() {
    let gw = gateway_with(None, |_| {}).await;
    let big = "123456789012345678901234567890";
    let r = get(gw.addr, &format!("/events?n={big}")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = get(gw.addr, &format!("/events?n=-{big}")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = get(gw.addr, "/events?n=1.5").await;
    assert_eq!(r.status, 400, "{}", r.text());
    let r = send(
        gw.addr,
        "POST",
        "/events",
        &[("content-type", "application/json")],
        format!("{{\"n\": {big}}}").as_bytes(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // `ids=` (exploded) and `idl=` (not exploded) are both the empty list.
    for q in ["ids=", "idl=", "ids=1&ids=2", "idl=1,2"] {
        let r = get(gw.addr, &format!("/events?{q}")).await;
        assert_eq!(r.status, 200, "{q}: {}", r.text());
    }
    let r = get(gw.addr, "/events?ids=x").await;
    assert_eq!(r.status, 400);
    let r = send(gw.addr, "GET", "/events", &[("cookie", "tags=")], b"").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = send(gw.addr, "GET", "/events", &[("cookie", "tags=x")], b"").await;
    assert_eq!(r.status, 400, "{}", r.text());
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn encoded_dot_segments_are_refused_and_bytes_kept() {
    let backend = common::Backend::start().await;
    let gw = gateway_with(Some(backend.addr), |_| {}).await;
    for path in [
        "/proxy/..%2fadmin",
        "/proxy/a/..%2F..%2Fadmin",
        "/proxy/%2e%2e%5cadmin",
        "/items/..%2fadmin",
        "/proxy/.%2fx",
    ] {
        let r = get(gw.addr, path).await;
        assert_eq!(r.status, 403, "{path}: {}", r.text());
        assert_eq!(
            r.json(),
            serde_json::json!({"message": "Missing Authentication Token"})
        );
    }
    assert!(backend.seen().is_empty(), "{:?}", backend.seen());
    // Bytes that are not UTF-8 reach the backend as the client sent them.
    let r = get(gw.addr, "/items/a%ffb").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(backend.one().target, "/items/a%FFb");
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn headers_are_limited_to_10240_bytes() {
    let gw = gateway_with(None, |_| {}).await;
    let fits = "v".repeat(10_000);
    let r = send(gw.addr, "GET", "/events", &[("x-big", &fits)], b"").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let over = "v".repeat(10_300);
    let r = send(gw.addr, "GET", "/events", &[("x-big", &over)], b"").await;
    assert_eq!(r.status, 431);
    assert_eq!(
        r.json(),
        serde_json::json!({"message": "Request Header Fields Too Large"})
    );
    // Several headers add up.
    let part = "v".repeat(4_000);
    let r = send(
        gw.addr,
        "GET",
        "/events",
        &[("x-a", &part), ("x-b", &part), ("x-c", &part)],
        b"",
    )
    .await;
    assert_eq!(r.status, 431);
    gw.shutdown().await.unwrap();
}

/// A backend that closes each keep-alive connection right after answering (without
/// `Connection: close`): the worker's pool does not reuse a connection closed under it, so
/// every client request succeeds, each on a new connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backends_that_close_idle_connections_lose_no_request() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let backend = listener.local_addr().unwrap();
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                continue;
            };
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                let mut got = Vec::new();
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match s.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = s
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{\"ok\":true}")
                    .await;
                // Closed without saying so: the client sees it only when it reads again.
            });
        }
    });
    let gw = bench_gateway(backend).await;
    for i in 0..30 {
        let r = get(gw.addr, "/items/1").await;
        assert_eq!(r.status, 200, "request {i}: {}", r.text());
        assert_eq!(r.text(), r#"{"ok":true}"#);
    }
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 30);
    gw.shutdown().await.unwrap();
}

/// The bench API's gateway, on its `bench` stage, proxying to `backend`.
async fn bench_gateway(backend: SocketAddr) -> Handle {
    common::gateway(
        gen::bench_proxy::Api,
        Some("bench"),
        &[("backend", backend.to_string())],
    )
    .await
}

/// Sequential requests to a keep-alive backend share one connection (the worker's pool keeps
/// it between requests).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backend_connections_are_reused() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let backend = listener.local_addr().unwrap();
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        loop {
            let Ok((s, _)) = listener.accept().await else {
                continue;
            };
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(|_req| async {
                    Ok::<_, std::convert::Infallible>(hyper::Response::new(
                        http_body_util::Full::new(bytes::Bytes::from_static(b"{}")),
                    ))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(s), svc)
                    .await;
            });
        }
    });
    let mut config = Config::for_tests();
    config.stage = Some("bench".into());
    config.stage_vars = vec![("backend".into(), backend.to_string())];
    config.workers = Some(1);
    config.state_dir = std::env::temp_dir().join(format!("specgate-reuse-{}", std::process::id()));
    let gw = spawn(gen::bench_proxy::Api, config).await.unwrap();
    for _ in 0..30 {
        assert_eq!(get(gw.addr, "/items/1").await.status, 200);
    }
    assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
    gw.shutdown().await.unwrap();
}

/// The benchmark's mapped route (`bench/run.sh`'s "http + VTL response template") answers
/// with its template's reshaping of the backend's JSON, not an error the benchmark would
/// count as cheap.
#[tokio::test]
async fn the_bench_mapped_route_reshapes_the_backends_answer() {
    let backend = common::serve(
        |req: http::request::Parts, _body: bytes::Bytes| async move {
            assert_eq!(req.uri.path(), "/items/7");
            hyper::Response::builder()
                .header("content-type", "application/json")
                .body(http_body_util::Full::new(bytes::Bytes::from_static(
                    br#"{"id": 7, "name": "Rex \"the\" dog"}"#,
                )))
                .unwrap()
        },
    )
    .await;
    let gw = bench_gateway(backend).await;
    let r = get(gw.addr, "/mapped/items/7").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let id = r.header("x-amzn-requestid").unwrap().to_string();
    assert_eq!(
        r.text(),
        format!(
            "{{\"item\": {{\"id\": 7, \"name\": \"Rex \\\"the\\\" dog\"}}, \"requested\": \"7\", \"requestId\": \"{id}\"}}\n"
        )
    );
    gw.shutdown().await.unwrap();
}

/// Request-smuggling shapes (RFC 9112 §6) are refused and the connection closed, so that no
/// second request can hide in the first one's body; nothing reaches the backend.
#[tokio::test]
async fn smuggling_shapes_are_refused_and_the_connection_closed() {
    let backend = common::Backend::start().await;
    let gw = gateway_with(Some(backend.addr), |_| {}).await;
    for (fields, want) in [
        ("Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", 400),
        ("Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", 400),
        ("Content-Length: 5\r\nContent-Length: 0\r\n", 400),
        ("Content-Length: 5, 0\r\n", 400),
        ("Transfer-Encoding: chunked, identity\r\n", 400),
        ("Transfer-Encoding: gzip, chunked\r\n", 501),
        ("Transfer-Encoding : chunked\r\n", 400),
        ("Transfer-Encoding: chunked\r\n Content-Length: 5\r\n", 400),
    ] {
        let req = format!(
            "POST /proxy/upload HTTP/1.1\r\nHost: x\r\n{fields}\r\n0\r\n\r\n\
             GET /proxy/smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
        );
        let out = raw(gw.addr, req.as_bytes()).await;
        assert_eq!(status_of(&out), want, "{fields:?}: {out}");
        assert_eq!(out.matches("HTTP/1.1 ").count(), 1, "{fields:?}: {out}");
        assert!(out.contains("\r\nconnection: close\r\n"), "{out}");
    }
    // An empty chunk size is not a zero one.
    let out = raw(
        gw.addr,
        b"POST /proxy/upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\r\n\r\n\
          GET /proxy/smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .await;
    assert_eq!(status_of(&out), 400, "{out}");
    assert!(
        backend.seen().iter().all(|s| s.target != "/smuggled"),
        "{:?}",
        backend.seen()
    );
    gw.shutdown().await.unwrap();
}

/// `Expect: 100-continue`, then pipelined requests on the same connection, answered in
/// order; HTTP/1.0 clients get keep-alive only when they ask for it.
#[tokio::test]
async fn continue_pipelining_and_http_1_0() {
    let backend = common::Backend::start().await;
    let gw = gateway_with(Some(backend.addr), |_| {}).await;
    let mut s = TcpStream::connect(gw.addr).await.unwrap();
    s.write_all(
        b"POST /proxy/upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
    )
    .await
    .unwrap();
    let mut interim = [0u8; 25];
    tokio::time::timeout(Duration::from_secs(5), s.read_exact(&mut interim))
        .await
        .expect("no 100 Continue")
        .unwrap();
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    s.write_all(b"hello").await.unwrap();
    s.write_all(
        b"GET /proxy/a HTTP/1.1\r\nHost: x\r\n\r\nGET /proxy/b HTTP/1.1\r\nHost: x\r\n\r\n\
          GET /proxy/c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await
    .unwrap();
    let out = read_all(&mut s).await;
    assert_eq!(out.matches("HTTP/1.1 200 OK\r\n").count(), 4, "{out}");
    let seen: Vec<(String, Vec<u8>)> = backend
        .seen()
        .into_iter()
        .map(|s| (s.target, s.body))
        .collect();
    assert_eq!(
        seen,
        [
            ("/upload".to_string(), b"hello".to_vec()),
            ("/a".into(), vec![]),
            ("/b".into(), vec![]),
            ("/c".into(), vec![])
        ]
    );
    // HTTP/1.0: closed after the answer unless keep-alive is asked for.
    let out = raw(
        gw.addr,
        b"GET /events HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /events HTTP/1.0\r\n\r\n\
          GET /events HTTP/1.0\r\n\r\n",
    )
    .await;
    assert_eq!(out.matches("HTTP/1.1 200 OK\r\n").count(), 2, "{out}");
    assert_eq!(
        out.matches("\r\nconnection: keep-alive\r\n").count(),
        1,
        "{out}"
    );
    gw.shutdown().await.unwrap();
}

/// An answer given before the request's body has arrived closes the connection, and the
/// client still reads it while its upload goes on (the rest is read and discarded).
#[tokio::test]
async fn an_early_answer_to_an_upload_is_read_by_the_client() {
    let gw = gateway_with(None, |_| {}).await;
    let mut s = TcpStream::connect(gw.addr).await.unwrap();
    s.write_all(b"POST /proxy/x HTTP/1.1\r\nHost: x\r\nContent-Length: 3000000\r\n\r\n")
        .await
        .unwrap();
    // The route's backend stage variable is missing: the gateway answers at once.
    let chunk = vec![b'a'; 100_000];
    for _ in 0..30 {
        if s.write_all(&chunk).await.is_err() {
            break;
        }
    }
    let out = read_all(&mut s).await;
    let status = status_of(&out);
    assert!(status >= 400, "{out}");
    assert!(out.contains("\r\nconnection: close\r\n"), "{out}");
    gw.shutdown().await.unwrap();
}

/// Shutting down closes idle keep-alive connections at once.
#[tokio::test]
async fn drain_closes_idle_connections() {
    let gw = gateway_with(None, |c| c.first_byte_timeout = 30).await;
    let mut s = TcpStream::connect(gw.addr).await.unwrap();
    s.write_all(b"GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200 OK\r\n"));
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(5), gw.shutdown())
        .await
        .expect("shutdown waited for an idle connection")
        .unwrap();
    let n = tokio::time::timeout(Duration::from_secs(2), s.read(&mut buf))
        .await
        .expect("the idle connection was left open")
        .unwrap_or(0);
    assert_eq!(n, 0);
    assert!(started.elapsed() < Duration::from_secs(3));
}

/// A backend that answers every connection's first request with `answer`, then closes.
async fn scripted_backend(answer: &'static [u8]) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                let _ = s.read(&mut buf).await;
                let _ = s.write_all(answer).await;
            });
        }
    });
    addr
}

/// The worker's HTTP/1 client reads every framing a backend may use, skips interim
/// answers, and refuses framing that could be read two ways.
#[tokio::test]
async fn backend_response_framings() {
    for (answer, status, body) in [
        (
            &b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n6;x=y\r\n world\r\n0\r\nx-trailer: 1\r\n\r\n"[..],
            200,
            "hello world",
        ),
        (
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\ncontent-length: 2\r\n\r\nok",
            201,
            "ok",
        ),
        (b"HTTP/1.0 200 OK\r\nx-a: b\r\n\r\nuntil the end", 200, "until the end"),
        (
            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\nok",
            502,
            "",
        ),
        (
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
            502,
            "",
        ),
        (b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nab", 502, ""),
        // No response head at all: a network failure, as before (504).
        (b"not http at all\r\n\r\n", 504, ""),
    ] {
        let backend = scripted_backend(answer).await;
        let gw = gateway_with(Some(backend), |_| {}).await;
        let r = get(gw.addr, "/proxy/x").await;
        let shown = String::from_utf8_lossy(answer);
        assert_eq!(r.status, status, "{shown}: {}", r.text());
        if status == 200 || status == 201 {
            assert_eq!(r.text(), body, "{shown}");
        }
        gw.shutdown().await.unwrap();
    }
}
