//! Lambda through the Invoke API (`--lambda-endpoint`): a test Invoke API server checks each
//! call's SigV4 signature (recomputed here from the request it received), its path and its
//! payload, and answers as Lambda does (results, function errors, service errors, delays).
//! One test per binary: it sets the AWS credential variables of the process.

mod common;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use common::*;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use specgate_codegen_tests as gen;
use specgate_runtime::config::Config;
use specgate_runtime::server::spawn;

const ACCESS_KEY: &str = "AKIDSPECGATETEST";
const SECRET_KEY: &str = "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seQ";
const TOKEN: &str = "session-token-for-tests";

/// What the server saw of one call.
#[derive(Debug, Clone)]
struct Call {
    path: String,
    invocation_type: String,
    signature_ok: bool,
    scope: String,
    payload: Value,
}

async fn invoke_api() -> (SocketAddr, Arc<Mutex<Vec<Call>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let calls: Arc<Mutex<Vec<Call>>> = Arc::default();
    let log = calls.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let log = log.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let log = log.clone();
                    async move {
                        let (parts, body) = req.into_parts();
                        let body = body.collect().await.unwrap().to_bytes();
                        let got = parts.headers["authorization"].to_str().unwrap().to_string();
                        let signature_ok = got
                            == sigv4_authorization(&parts, &body, ACCESS_KEY, SECRET_KEY)
                            && parts.headers["x-amz-security-token"] == TOKEN;
                        // The check can fail: another secret gives another signature.
                        assert_ne!(got, sigv4_authorization(&parts, &body, ACCESS_KEY, "wrong"));
                        let payload: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                        let path = parts.uri.path().to_string();
                        let scope = got
                            .split("Credential=")
                            .nth(1)
                            .and_then(|c| c.split(',').next())
                            .unwrap_or("")
                            .to_string();
                        log.lock().unwrap().push(Call {
                            path,
                            invocation_type: parts.headers["x-amz-invocation-type"]
                                .to_str()
                                .unwrap()
                                .to_string(),
                            signature_ok,
                            scope,
                            payload: payload.clone(),
                        });
                        let asked = payload["path"].as_str().unwrap_or("").to_string();
                        let resp = hyper::Response::builder();
                        let resp = if asked.ends_with("/error") {
                            resp.status(200)
                                .header("x-amz-function-error", "Unhandled")
                                .body(Full::new(Bytes::from(
                                    r#"{"errorMessage":"boom","errorType":"Error"}"#,
                                )))
                        } else if asked.ends_with("/denied") {
                            resp.status(403).body(Full::new(Bytes::from(
                                r#"{"Message":"not allowed","Type":"User"}"#,
                            )))
                        } else {
                            if asked.ends_with("/slow") {
                                tokio::time::sleep(Duration::from_secs(3)).await;
                            }
                            resp.status(200).body(Full::new(Bytes::from(
                                r#"{"statusCode": 200, "headers": {"x-from": "remote"}, "body": "from remote"}"#,
                            )))
                        };
                        Ok::<_, Infallible>(resp.unwrap())
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    (addr, calls)
}

#[tokio::test]
async fn invoke_api_calls_are_signed_and_answered_like_lambda() {
    // This binary's only test: the process environment is its own.
    std::env::set_var("AWS_ACCESS_KEY_ID", ACCESS_KEY);
    std::env::set_var("AWS_SECRET_ACCESS_KEY", SECRET_KEY);
    std::env::set_var("AWS_SESSION_TOKEN", TOKEN);
    let (api, calls) = invoke_api().await;
    let mut config = Config::for_tests();
    config.lambda_endpoint = Some(format!("http://{api}"));
    let gw = spawn(gen::lambda::Api, config).await.unwrap();

    let r = send(gw.addr, "GET", "/remote/hello?x=1", &[], b"").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), "from remote");
    assert_eq!(r.header("x-from"), Some("remote"));
    let call = calls.lock().unwrap()[0].clone();
    assert!(call.signature_ok, "{call:?}");
    assert_eq!(
        call.path,
        "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aeu-west-1%3A123456789012%3Afunction%3Aremote-echo%3Alive/invocations"
    );
    assert!(call.scope.starts_with(ACCESS_KEY));
    assert!(
        call.scope.ends_with("/eu-west-1/lambda/aws4_request"),
        "{}",
        call.scope
    );
    assert_eq!(call.invocation_type, "RequestResponse");
    assert_eq!(call.payload["resource"], "/remote/{proxy+}");
    assert_eq!(call.payload["path"], "/remote/hello");
    assert_eq!(call.payload["queryStringParameters"]["x"], "1");

    // A function error is a 502.
    let r = get(gw.addr, "/remote/error").await;
    assert_eq!(r.status, 502);
    assert_eq!(r.text(), r#"{"message": "Internal server error"}"#);
    // The Lambda service refusing the call is a 500.
    let r = get(gw.addr, "/remote/denied").await;
    assert_eq!(r.status, 500);
    assert_eq!(r.text(), r#"{"message":"Internal server error"}"#);
    // Past the integration's 2 s: 504.
    let r = get(gw.addr, "/remote/slow").await;
    assert_eq!(r.status, 504);
    assert!(calls.lock().unwrap().iter().all(|c| c.signature_ok));
    gw.shutdown().await.unwrap();
}
