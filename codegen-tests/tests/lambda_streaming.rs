//! REST Lambda response streaming (`specs/lambda-streaming.yaml`): the function's bytes
//! reach the client while the function is still running. A local function
//! (`functions/streamer.py`, on the Runtime API's streaming protocol) writes `part 1`, then
//! waits for a file the test creates only after it has read `part 1` from the gateway: a
//! gateway that buffered would never answer. The same through a stand-in Invoke API that
//! answers `InvokeWithResponseStream` with an AWS event stream, held back the same way.

mod common;
mod lambda_support;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use specgate_codegen_tests as gen;
use specgate_runtime::config::Config;

/// A response whose body is read frame by frame.
struct Streaming {
    status: u16,
    headers: http::HeaderMap,
    body: hyper::body::Incoming,
}

async fn open(addr: SocketAddr, target: &str) -> Streaming {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let req = hyper::Request::builder()
        .uri(target)
        .header("host", addr.to_string())
        .body(Full::new(Bytes::new()))
        .unwrap();
    let resp = sender.send_request(req).await.unwrap();
    let (parts, body) = resp.into_parts();
    Streaming {
        status: parts.status.as_u16(),
        headers: parts.headers,
        body,
    }
}

impl Streaming {
    /// Body bytes until `text` has arrived (within 10 s).
    async fn until(&mut self, text: &str) -> String {
        let mut got = String::new();
        while !got.contains(text) {
            let frame = tokio::time::timeout(Duration::from_secs(10), self.body.frame())
                .await
                .unwrap_or_else(|_| panic!("`{text}` did not arrive; got {got:?}"))
                .unwrap_or_else(|| panic!("the body ended before `{text}`; got {got:?}"))
                .unwrap();
            if let Ok(d) = frame.into_data() {
                got.push_str(&String::from_utf8_lossy(&d));
            }
        }
        got
    }

    /// The rest of the body, or the error that ended it.
    async fn rest(self) -> Result<String, String> {
        match tokio::time::timeout(Duration::from_secs(10), self.body.collect()).await {
            Err(_) => Err("timed out".into()),
            Ok(Err(e)) => Err(e.to_string()),
            Ok(Ok(b)) => Ok(String::from_utf8_lossy(&b.to_bytes()).into_owned()),
        }
    }
}

fn gate_path(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("specgate-gate-{}-{name}", std::process::id()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_function_streams_through_the_runtime_api() {
    let mut config = Config::for_tests();
    config.stage = Some("test".into());
    config.functions = vec![(
        "streamer".into(),
        format!(
            "cd '{}' && exec '{}' streamer.py",
            lambda_support::functions_dir().display(),
            lambda_support::python().display()
        ),
    )];
    let gw = specgate_runtime::server::spawn(gen::lambda_streaming::Api, config)
        .await
        .unwrap();
    let gate = gate_path("local");
    let _ = std::fs::remove_file(&gate);
    let mut r = open(gw.addr, &format!("/stream?gate={}", gate.display())).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers["content-type"], "text/plain");
    assert_eq!(r.headers["x-mode"], "streamed");
    let cookies: Vec<_> = r.headers.get_all("set-cookie").iter().collect();
    assert_eq!(cookies, ["a=1", "b=2"]);
    assert!(
        !r.headers.contains_key("content-length"),
        "a streamed body has no length"
    );
    // `part 1` arrives while the function waits for the gate.
    assert_eq!(r.until("part 1\n").await, "part 1\n");
    std::fs::write(&gate, b"").unwrap();
    assert_eq!(r.rest().await.unwrap(), "part 2\n");
    let _ = std::fs::remove_file(&gate);

    // A function that does not stream is answered as a buffered proxy response.
    let r = common::get(gw.addr, "/buffered").await;
    assert_eq!(r.status, 201);
    assert_eq!(r.text(), "whole");
    assert_eq!(r.header("x-mode"), Some("buffered"));
    // An error before any byte: API Gateway's 502.
    let r = common::get(gw.addr, "/raise").await;
    assert_eq!(r.status, 502);
    assert_eq!(r.text(), r#"{"message": "Internal server error"}"#);
    // An error after the first bytes: the connection ends before the body does (never a
    // clean end of the chunked body).
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut raw = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
    raw.write_all(b"GET /fail HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut got = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), raw.read_to_end(&mut got))
        .await
        .expect("the connection is closed")
        .unwrap();
    let got = String::from_utf8_lossy(&got);
    assert!(!got.contains("0\r\n\r\n"), "the body ended cleanly: {got}");
    gw.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_invoke_api_streams_an_event_stream() {
    use specgate_runtime::lambda::stream::encode_event;
    // The stand-in Invoke API: the prelude and `remote 1`, then (once the test says so)
    // `remote 2` and InvokeComplete.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let api = listener.local_addr().unwrap();
    let (release_tx, release_rx) = tokio::sync::watch::channel(false);
    let seen: Arc<Mutex<Vec<(String, bool)>>> = Arc::default();
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let (log, release) = (log.clone(), release_rx.clone());
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let (log, mut release) = (log.clone(), release.clone());
                        async move {
                            let (parts, body) = req.into_parts();
                            let body = body.collect().await.unwrap().to_bytes();
                            let auth = parts.headers["authorization"].to_str().unwrap().to_string();
                            let ok = auth
                                == common::sigv4_authorization(&parts, &body, "testing", "testing");
                            log.lock().unwrap().push((parts.uri.path().to_string(), ok));
                            let (tx, rx) = tokio::sync::mpsc::channel::<
                                Result<hyper::body::Frame<Bytes>, Infallible>,
                            >(4);
                            tokio::spawn(async move {
                                let event = |kind: &str, payload: &[u8]| {
                                    Ok(hyper::body::Frame::data(Bytes::from(encode_event(
                                        &[
                                            (":message-type", "event"),
                                            (":event-type", kind),
                                            (":content-type", "application/octet-stream"),
                                        ],
                                        payload,
                                    ))))
                                };
                                let mut prelude =
                                    br#"{"statusCode": 203, "headers": {"x-from": "invoke-api"}}"#
                                        .to_vec();
                                prelude.extend_from_slice(&[0; 8]);
                                let _ = tx.send(event("PayloadChunk", &prelude)).await;
                                let _ = tx.send(event("PayloadChunk", b"remote 1\n")).await;
                                let _ = release.wait_for(|r| *r).await;
                                let _ = tx.send(event("PayloadChunk", b"remote 2\n")).await;
                                let _ = tx.send(event("InvokeComplete", b"{}")).await;
                            });
                            let body = http_body_util::StreamBody::new(
                                futures_util::stream::unfold(rx, |mut rx| async move {
                                    rx.recv().await.map(|f| (f, rx))
                                }),
                            );
                            Ok::<_, Infallible>(
                                hyper::Response::builder()
                                    .header("content-type", "application/vnd.amazon.eventstream")
                                    .body(body)
                                    .unwrap(),
                            )
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
    let mut config = Config::for_tests();
    config.stage = Some("test".into());
    config.lambda_endpoint = Some(format!("http://{api}"));
    let gw = specgate_runtime::server::spawn(gen::lambda_streaming::Api, config)
        .await
        .unwrap();
    let mut r = open(gw.addr, "/anything").await;
    assert_eq!(r.status, 203);
    assert_eq!(r.headers["x-from"], "invoke-api");
    assert_eq!(r.until("remote 1\n").await, "remote 1\n");
    release_tx.send(true).unwrap();
    assert_eq!(r.rest().await.unwrap(), "remote 2\n");
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec![(
            "/2021-11-15/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Astreamer/response-streaming-invocations".to_string(),
            true
        )]
    );
    gw.shutdown().await.unwrap();
}
