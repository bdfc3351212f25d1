//! Lambda integrations with real local functions: a Python function run by `awslambdaric`
//! (from PyPI, installed into `~/.cache/specgate/venv` on first use) through the gateway's
//! Lambda Runtime API, behind the REST API of specs/lambda.yaml and the HTTP API of
//! specs/lambda-http.yaml. Events are compared with the public fixtures in
//! `shared/corpora/lambda-events`.

mod common;
mod lambda_support;

use std::collections::BTreeSet;
use std::path::Path;

use common::*;
use lambda_support::*;
use serde_json::Value;
use specgate_codegen_tests as gen;
use specgate_runtime::server::Handle;

fn fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/corpora/lambda-events")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// The type of a JSON value, for comparing shapes.
fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[tokio::test]
async fn rest_proxy_event_has_the_aws_shape() {
    let gw = start(gen::lambda::Api, |_| {}).await;
    // Names in the cases AWS's recorded event shows (`tEsT-HEADeR`): the event keeps them
    // as sent.
    let r = send_names_as_written(
        gw.addr,
        "POST",
        "/echo/hello/world%21?name=me&name=you+too",
        &[
            ("Content-Type", "application/json"),
            ("X-Custom", "one"),
            ("x-CUSTOM", "two"),
            ("user-agent", "specgate-test"),
            ("tEsT-HEADeR", "aValUE"),
        ],
        b"{\r\n\t\"a\": 1\r\n}",
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.header("x-function"), Some("echo"));
    assert_eq!(r.header("x-multi"), Some("a, b"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    let answer = r.json();
    let event = &answer["event"];

    // The keys and value types of AWS's sample event, and `isBase64Encoded` (which the
    // sample leaves out and API Gateway sends, reference §3.1).
    let sample = fixture("aws-lambda-go/apigw-request.json");
    let mut expected = keys(&sample);
    expected.insert("isBase64Encoded".to_string());
    assert_eq!(keys(event), expected);
    for k in keys(&sample) {
        if !sample[&k].is_null() && !event[&k].is_null() {
            assert_eq!(kind(&event[&k]), kind(&sample[&k]), "{k}");
        }
    }
    let rc = &event["requestContext"];
    let sample_rc = &sample["requestContext"];
    for k in keys(sample_rc) {
        // No authorizer on this route.
        if k != "authorizer" {
            assert!(rc.get(&k).is_some(), "requestContext.{k} is missing");
        }
    }
    for k in keys(&sample_rc["identity"]) {
        // `apiKey`/`apiKeyId` come with API keys, `clientCert` with mutual TLS.
        if !["apiKey", "apiKeyId", "clientCert"].contains(&k.as_str()) {
            assert!(rc["identity"].get(&k).is_some(), "identity.{k} is missing");
        }
    }

    // The values API Gateway puts there.
    assert_eq!(event["resource"], "/echo/{proxy+}");
    assert_eq!(event["path"], "/echo/hello/world%21");
    assert_eq!(event["httpMethod"], "POST");
    assert_eq!(event["headers"]["Content-Type"], "application/json");
    assert_eq!(event["headers"]["X-Custom"], "two");
    assert_eq!(
        event["multiValueHeaders"]["X-Custom"],
        serde_json::json!(["one", "two"])
    );
    assert_eq!(event["headers"]["user-agent"], "specgate-test");
    assert_eq!(event["headers"]["tEsT-HEADeR"], "aValUE");
    assert_eq!(
        event["multiValueHeaders"]["tEsT-HEADeR"],
        serde_json::json!(["aValUE"])
    );
    assert!(event["headers"].get("Content-Length").is_none());
    assert!(event["headers"].get("Connection").is_none());
    assert_eq!(
        event["queryStringParameters"],
        serde_json::json!({"name": "you too"})
    );
    assert_eq!(
        event["multiValueQueryStringParameters"],
        serde_json::json!({"name": ["me", "you too"]})
    );
    // Path parameters keep the client's encoding.
    assert_eq!(
        event["pathParameters"],
        serde_json::json!({"proxy": "hello/world%21"})
    );
    assert_eq!(event["stageVariables"], serde_json::json!({"fn": "echo"}));
    assert_eq!(rc["path"], "/test/echo/hello/world%21");
    assert_eq!(rc["stage"], "test");
    assert_eq!(rc["resourcePath"], "/echo/{proxy+}");
    assert_eq!(rc["httpMethod"], "POST");
    assert_eq!(rc["identity"]["sourceIp"], "127.0.0.1");
    assert_eq!(rc["identity"]["userAgent"], "specgate-test");
    assert_eq!(rc["identity"]["caller"], Value::Null);
    assert_eq!(rc["requestId"].as_str(), Some(r.request_id().as_str()));
    assert!(rc["requestTimeEpoch"].as_u64().unwrap() > 1_600_000_000_000);
    assert_eq!(event["body"], "{\r\n\t\"a\": 1\r\n}");
    assert_eq!(event["isBase64Encoded"], false);

    // The Runtime API gave the function its context.
    assert_eq!(
        answer["arn"],
        "arn:aws:lambda:us-east-1:000000000000:function:echo"
    );
    assert!(answer["remainingMs"].as_u64().unwrap() > 20_000);
    assert_ne!(answer["requestId"].as_str(), Some(r.request_id().as_str()));

    // No query string, headers or body: null, as AWS sends them.
    let r = send(gw.addr, "GET", "/echo/x", &[], b"").await;
    let event = &r.json()["event"];
    assert_eq!(event["queryStringParameters"], Value::Null);
    assert_eq!(event["multiValueQueryStringParameters"], Value::Null);
    assert_eq!(event["body"], Value::Null);
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_rust_lambda_runtime_function_serves_the_same_route() {
    let binary = rust_function();
    let gw = start(gen::lambda::Api, |c| {
        c.functions = vec![("rust-echo".into(), format!("'{}'", binary.display()))];
        c.stage_vars = vec![("fn".into(), "rust-echo".into())];
    })
    .await;
    let r = send(gw.addr, "DELETE", "/echo/from/rust", &[], b"").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let answer = r.json();
    assert_eq!(answer["runtime"], "rust");
    assert_eq!(answer["path"], "/echo/from/rust");
    assert_eq!(answer["method"], "DELETE");
    assert_eq!(
        answer["arn"],
        "arn:aws:lambda:us-east-1:000000000000:function:rust-echo"
    );
    assert!(!answer["requestId"].as_str().unwrap().is_empty());
    let r = get(gw.addr, "/echo/raise").await;
    assert_eq!(r.status, 502);
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_event_over_6_mb_is_413() {
    let gw = start(gen::lambda::Api, |_| {}).await;
    let body = vec![b'a'; 6 * 1024 * 1024];
    let r = send(
        gw.addr,
        "POST",
        "/echo/big",
        &[("content-type", "text/plain")],
        &body,
    )
    .await;
    assert_eq!(r.status, 413);
    assert_eq!(r.text(), r#"{"message": "Request Too Long"}"#);
    assert_eq!(r.header("x-amzn-errortype"), Some("BadRequestException"));
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_answer_over_lambdas_6_mb_is_a_function_error() {
    let gw = start(gen::lambda::Api, |_| {}).await;
    let r = get(gw.addr, "/echo/large").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body.len(), 6_000_000);
    // Over 6,291,556 bytes: the Runtime API refuses it (413), the invocation fails, API
    // Gateway answers 502.
    let r = get(gw.addr, "/echo/huge").await;
    assert_eq!(r.status, 502);
    assert_eq!(r.text(), r#"{"message": "Internal server error"}"#);
    // The function serves on (its process replaced if the refusal ended it).
    let r = get(gw.addr, "/echo/after").await;
    assert_eq!(r.status, 201);
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn binary_bodies_arrive_as_base64() {
    let gw = start(gen::lambda::Api, |_| {}).await;
    let r = send(
        gw.addr,
        "PUT",
        "/echo/upload",
        &[("content-type", "image/png")],
        &[0x89, b'P', b'N', b'G', 0, 0xff],
    )
    .await;
    assert_eq!(r.status, 201);
    let event = &r.json()["event"];
    assert_eq!(event["body"], "iVBORwD/");
    assert_eq!(event["isBase64Encoded"], true);
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn function_errors_and_bad_output_are_502() {
    let gw = start(gen::lambda::Api, |_| {}).await;
    for path in ["/echo/raise", "/echo/malformed", "/echo/crash"] {
        let r = get(gw.addr, path).await;
        assert_eq!(r.status, 502, "{path}: {}", r.text());
        assert_eq!(r.text(), r#"{"message": "Internal server error"}"#);
        assert_eq!(
            r.header("x-amzn-errortype"),
            Some("InternalServerErrorException")
        );
    }
    // The crashed process was replaced.
    let r = get(gw.addr, "/echo/after-crash").await;
    assert_eq!(r.status, 201, "{}", r.text());
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_invocation_past_the_integration_timeout_is_504_and_the_process_replaced() {
    let gw = start(gen::lambda::Api, |c| c.function_concurrency = 1).await;
    let first = get(gw.addr, "/slow/x").await;
    assert_eq!(first.status, 201);
    let pid = first.json()["pid"].as_u64().unwrap();
    let t = std::time::Instant::now();
    let r = get(gw.addr, "/slow/sleep").await;
    assert_eq!(r.status, 504, "{}", r.text());
    assert_eq!(r.text(), r#"{"message":"Endpoint request timed out"}"#);
    assert!(t.elapsed() < std::time::Duration::from_secs(5));
    // With one process allowed, the next invocation runs on its replacement.
    let r = get(gw.addr, "/slow/x").await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_ne!(r.json()["pid"].as_u64().unwrap(), pid);
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_function_timeout_is_a_function_error() {
    let gw = start(gen::lambda::Api, |c| c.function_timeout_seconds = Some(1)).await;
    let r = get(gw.addr, "/echo/sleep").await;
    assert_eq!(r.status, 502, "{}", r.text());
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn concurrent_invocations_get_their_own_processes() {
    let gw = start(gen::lambda::Api, |c| c.function_concurrency = 3).await;
    let addr = gw.addr;
    // The function answers only when three invocations are inside it at once.
    let dir = std::env::temp_dir().join(format!("specgate-barrier-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let target = format!("/echo/barrier?n=3&dir={}", dir.display());
    let calls: Vec<_> = (0..3)
        .map(|_| {
            let target = target.clone();
            tokio::spawn(async move { get(addr, &target).await })
        })
        .collect();
    let mut pids = BTreeSet::new();
    for c in calls {
        let r = c.await.unwrap();
        assert_eq!(r.status, 201, "{}", r.text());
        pids.insert(r.json()["pid"].as_u64().unwrap());
    }
    assert_eq!(pids.len(), 3);
    let _ = std::fs::remove_dir_all(&dir);
    gw.shutdown().await.unwrap();
    // No function process outlives the gateway (gone, or a zombie waiting to be reaped).
    for pid in pids {
        assert_gone(pid);
    }
}

/// Process `pid` is gone, or a zombie waiting to be reaped, within 5 s.
fn assert_gone(pid: u64) {
    let alive = || {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
            s.rsplit(')')
                .next()
                .is_some_and(|r| !r.trim_start().starts_with('Z'))
        })
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while alive() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(!alive(), "function process {pid} is still running");
}

#[tokio::test]
async fn non_proxy_integrations_select_responses_by_error_message() {
    let gw = start(gen::lambda::Api, |_| {}).await;
    let r = send(
        gw.addr,
        "POST",
        "/classic/bob",
        &[("content-type", "application/json")],
        b"{}",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), r#"{"message": "hello bob"}"#);
    let r = send(
        gw.addr,
        "POST",
        "/classic/bob",
        &[("content-type", "application/json")],
        br#"{"fail": true}"#,
    )
    .await;
    assert_eq!(r.status, 404, "{}", r.text());
    assert_eq!(
        r.text(),
        r#"{"error": "something went wrong: item not found", "type": "ValueError"}"#
    );
    // `X-Amz-Invocation-Type: 'Event'`: accepted without waiting for the function.
    let t = std::time::Instant::now();
    let r = send(gw.addr, "POST", "/later", &[], b"{}").await;
    assert_eq!(r.status, 202);
    assert_eq!(r.text(), "");
    assert!(t.elapsed() < std::time::Duration::from_secs(2));
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn http_api_payload_2_0() {
    let gw = start(gen::lambda_http::Api, |_| {}).await;
    let r = send(
        gw.addr,
        "GET",
        "/items/42?a=1&a=2&b=x",
        &[
            ("cookie", "c1=v1; c2=v2"),
            ("x-custom", "one"),
            ("x-custom", "two"),
        ],
        b"",
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let event = &r.json()["event"];
    let sample = fixture("aws-lambda-rust-runtime/example-apigw-v2-request-no-authorizer.json");
    for k in keys(&sample) {
        assert!(event.get(&k).is_some(), "{k} is missing");
        assert_eq!(kind(&event[&k]), kind(&sample[&k]), "{k}");
    }
    for k in keys(&sample["requestContext"]) {
        // `authentication` comes with mutual TLS.
        if k != "authentication" {
            assert!(
                event["requestContext"].get(&k).is_some(),
                "requestContext.{k}"
            );
        }
    }
    assert_eq!(event["version"], "2.0");
    assert_eq!(event["routeKey"], "GET /items/{id}");
    assert_eq!(event["rawPath"], "/items/42");
    assert_eq!(event["rawQueryString"], "a=1&a=2&b=x");
    assert_eq!(event["cookies"], serde_json::json!(["c1=v1", "c2=v2"]));
    assert_eq!(event["headers"]["x-custom"], "one,two");
    assert!(event["headers"].get("cookie").is_none());
    assert_eq!(
        event["queryStringParameters"],
        serde_json::json!({"a": "1,2", "b": "x"})
    );
    assert_eq!(event["pathParameters"], serde_json::json!({"id": "42"}));
    assert_eq!(event["requestContext"]["http"]["method"], "GET");
    assert_eq!(event["requestContext"]["http"]["sourceIp"], "127.0.0.1");
    assert_eq!(event["requestContext"]["routeKey"], "GET /items/{id}");
    assert_eq!(event["isBase64Encoded"], false);
    assert!(event.get("body").is_none());

    // Output without `statusCode` is the body of a 200 JSON answer.
    let r = get(gw.addr, "/bare").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.json(), serde_json::json!({"hello": "world"}));

    // Payload format 1.0 on an HTTP API: the REST event with a version.
    let r = get(gw.addr, "/v1/raise").await;
    assert_eq!(r.status, 500);
    assert_eq!(r.text(), r#"{"message":"Internal Server Error"}"#);
    let r = send_names_as_written(gw.addr, "GET", "/v1/x", &[("X-Custom", "one")], b"").await;
    assert_eq!(r.status, 201);
    assert_eq!(r.json()["event"]["version"], "1.0");
    // Header names lowered, as HTTP APIs send them in both payload formats.
    assert_eq!(r.json()["event"]["headers"]["x-custom"], "one");
    assert_eq!(
        r.json()["event"]["multiValueHeaders"]["x-custom"],
        serde_json::json!(["one"])
    );
    assert!(r.json()["event"]["headers"].get("X-Custom").is_none());
    assert_eq!(r.json()["event"]["resource"], "/v1/{proxy+}");
    gw.shutdown().await.unwrap();
}

/// The gateway of specs/authorizers.yaml with the Python authorizer and echo functions.
async fn authorized() -> Handle {
    authorized_with(gen::authorizers::Api).await
}

async fn authorized_with<G: specgate_runtime::Gateway>(g: G) -> Handle {
    start(g, |c| {
        c.functions.push(authorizer_function());
    })
    .await
}

async fn with_token(gw: &Handle, method: &str, path: &str, token: &str) -> Reply {
    send(gw.addr, method, path, &[("authorization", token)], b"").await
}

#[tokio::test]
async fn token_authorizer_decides_and_its_result_is_cached() {
    let gw = authorized().await;
    // No token, or one the validation expression refuses: 401 without calling the function.
    let r = get(gw.addr, "/token").await;
    assert_eq!(r.status, 401);
    assert_eq!(r.text(), r#"{"message":"Unauthorized"}"#);
    assert_eq!(r.header("x-amzn-errortype"), Some("UnauthorizedException"));
    let r = with_token(&gw, "GET", "/token", "Bearer not-valid!").await;
    assert_eq!(r.status, 401);

    let r = with_token(&gw, "GET", "/token", "Bearer alice").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let first = r.json();
    assert_eq!(first["principal"], "id-alice");
    assert_eq!(first["user"], "alice");
    // Cached for the token (300 s): the same answer, even for another method.
    let r = with_token(&gw, "POST", "/token/other", "Bearer alice").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["invocation"], first["invocation"]);

    let r = with_token(&gw, "GET", "/token", "Bearer denied").await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.text(),
        r#"{"message":"User is not authorized to access this resource with an explicit deny"}"#
    );
    assert_eq!(r.header("x-amzn-errortype"), Some("AccessDeniedException"));
    let r = with_token(&gw, "GET", "/token", "Bearer narrow").await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.text(),
        r#"{"message":"User is not authorized to access this resource"}"#
    );
    let r = with_token(&gw, "GET", "/token", "Bearer unauthorized").await;
    assert_eq!(r.status, 401);
    for broken in ["Bearer boom", "Bearer malformed"] {
        let r = with_token(&gw, "GET", "/token", broken).await;
        assert_eq!(r.status, 500, "{broken}");
        assert_eq!(r.text(), r#"{"message":null}"#);
        assert_eq!(
            r.header("x-amzn-errortype"),
            Some("AuthorizerConfigurationException")
        );
    }
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn request_authorizer_needs_every_identity_source() {
    let gw = authorized().await;
    let r = send(gw.addr, "GET", "/request", &[("x-user", "bob")], b"").await;
    assert_eq!(r.status, 401);
    let r = send(
        gw.addr,
        "GET",
        "/request?tenant=acme",
        &[("x-user", "bob")],
        b"",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json(),
        serde_json::json!({"principal": "id-bob", "tenant": "acme", "kind": "REQUEST"})
    );
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn the_authorizer_context_reaches_the_function() {
    let gw = authorized().await;
    let r = with_token(&gw, "GET", "/proxy", "Bearer carol").await;
    assert_eq!(r.status, 201, "{}", r.text());
    let auth = &r.json()["event"]["requestContext"]["authorizer"];
    assert_eq!(auth["principalId"], "id-carol");
    assert_eq!(auth["user"], "carol");
    assert_eq!(auth["kind"], "TOKEN");
    assert!(auth["integrationLatency"].is_u64());
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn http_api_lambda_authorizer_with_simple_responses() {
    let gw = authorized_with(gen::lambda_http::Api).await;
    let r = get(gw.addr, "/private").await;
    assert_eq!(r.status, 401);
    assert_eq!(r.text(), r#"{"message":"Unauthorized"}"#);
    let r = send(gw.addr, "GET", "/private", &[("x-user", "denied")], b"").await;
    assert_eq!(r.status, 403);
    assert_eq!(r.text(), r#"{"message":"Forbidden"}"#);
    let r = send(gw.addr, "GET", "/private", &[("x-user", "dana")], b"").await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(
        r.json()["event"]["requestContext"]["authorizer"],
        serde_json::json!({"lambda": {"user": "dana", "groups": ["a", "b"]}})
    );
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn api_key_from_the_authorizer() {
    let dir = std::env::temp_dir().join(format!("sg-usage-auth-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let store = specgate_runtime::keys::Store::open(&dir).unwrap();
    let value = "partner-key-0123456789abcdef";
    let (key, _) = store.create("partner", "partners", Some(value)).unwrap();
    let d = dir.clone();
    let gw = start(gen::usage_authorizer::Api, move |c| {
        c.state_dir = d;
        c.functions.push(authorizer_function());
    })
    .await;
    let call = |q: &str| {
        let path = format!("/partner{q}");
        async move { send(gw.addr, "GET", &path, &[("x-user", "ada")], b"").await }
    };
    // The authorizer gives no usageIdentifierKey, or an unknown one: 403.
    let r = call("").await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(r.json(), serde_json::json!({"message": "Forbidden"}));
    assert_eq!(call("?usage_key=unknown-key-0123456789").await.status, 403);
    // Its key, whatever the x-api-key header says; the quota of 2 counts it.
    let q = format!("?usage_key={value}");
    let r = call(&q).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json(),
        serde_json::json!({"user": "ada", "apiKeyId": key.id})
    );
    assert_eq!(call(&q).await.status, 200);
    let r = call(&q).await;
    assert_eq!(r.status, 429);
    assert_eq!(r.json(), serde_json::json!({"message": "Limit Exceeded"}));
    gw.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// With two workers, a function's processes are split into two lanes: each worker's
/// invocations are served by its own lane's process, on its own event loop (a gateway
/// started by `spawn` has one lane, so this drives the host from two threads as the
/// server's workers do).
#[test]
fn each_worker_invokes_through_its_own_lane() {
    use specgate_runtime::lambda::{local, InvocationType};
    let (name, command) = echo_function();
    let host =
        std::sync::Arc::new(local::Host::start(&[(name.clone(), command)], 2, None, 2).unwrap());
    let worker = |n: usize| {
        let (host, name) = (host.clone(), name.clone());
        std::thread::spawn(move || {
            local::set_worker(n);
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                let f = host.function(&name).unwrap();
                let mut pids = BTreeSet::new();
                for _ in 0..3 {
                    let out = f
                        .invoke(
                            bytes::Bytes::from_static(br#"{"path": "/lane"}"#),
                            InvocationType::RequestResponse,
                            std::time::Duration::from_secs(30),
                            None,
                        )
                        .await
                        .unwrap();
                    assert!(!out.function_error);
                    let answer: Value = serde_json::from_slice(&out.payload).unwrap();
                    let body: Value =
                        serde_json::from_str(answer["body"].as_str().unwrap()).unwrap();
                    pids.insert(body["pid"].as_u64().unwrap());
                }
                pids
            })
        })
    };
    let (a, b) = (worker(0), worker(1));
    let (a, b) = (a.join().unwrap(), b.join().unwrap());
    // One process per lane, each serving only its own worker's invocations.
    assert_eq!((a.len(), b.len()), (1, 1), "{a:?} {b:?}");
    assert_ne!(a, b);
    assert_eq!(host.processes()[0].1, 2);
    // The workers' event loops are gone: so are the processes they ran.
    for pid in a.into_iter().chain(b) {
        assert_gone(pid);
    }
}
