//! The generated gateways, started in-process on loopback ports, talking to real local
//! backends. Every assertion is about bytes on the wire: status, headers, body.

mod common;

use common::*;
use specgate_codegen_tests as gen;

// ---------------------------------------------------------------- examples/hello (mock)

#[tokio::test]
async fn hello_mock_renders_context_and_stage_variables() {
    let gw = gateway(gen::example_hello::Api, None, &[]).await;
    let r = get(gw.addr, "/hello").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    let id = r.request_id();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    assert_eq!(r.header("x-amz-apigw-id").map(str::len), Some(16));
    // The first stage in the spec is the default one.
    assert_eq!(
        r.text(),
        format!(r#"{{"message": "Hello, world", "stage": "dev", "requestId": "{id}"}}"#)
    );
    // Every request gets its own id.
    assert_ne!(get(gw.addr, "/hello").await.request_id(), id);
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn hello_stage_selection_and_overrides() {
    let gw = gateway(gen::example_hello::Api, Some("prod"), &[]).await;
    let r = get(gw.addr, "/hello").await;
    assert_eq!(r.json()["message"], "Good day, world");
    assert_eq!(r.json()["stage"], "prod");
    gw.shutdown().await.unwrap();

    let gw = gateway(
        gen::example_hello::Api,
        Some("prod"),
        &[("greeting", "Ahoy".into())],
    )
    .await;
    assert_eq!(
        get(gw.addr, "/hello").await.json()["message"],
        "Ahoy, world"
    );
    gw.shutdown().await.unwrap();
}

#[test]
fn unknown_stage_is_refused_at_start() {
    let mut config = specgate_runtime::Config::for_tests();
    config.stage = Some("staging".into());
    let Err(err) = specgate_runtime::Runtime::new(&gen::example_hello::API, config) else {
        panic!("stage `staging` accepted");
    };
    assert!(
        err.contains("staging") && err.contains("dev") && err.contains("prod"),
        "{err}"
    );
}

#[tokio::test]
async fn hello_cors_preflight_is_the_mock_options_method() {
    let gw = gateway(gen::example_hello::Api, None, &[]).await;
    let r = send(
        gw.addr,
        "OPTIONS",
        "/hello",
        &[("origin", "https://x.example")],
        b"",
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("access-control-allow-headers"),
        Some("Content-Type,X-Amz-Date,Authorization,X-Api-Key")
    );
    assert_eq!(
        r.header("access-control-allow-methods"),
        Some("GET,OPTIONS")
    );
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_eq!(r.body.len(), 0);
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn hello_path_parameters_and_non_default_status() {
    let gw = gateway(gen::example_hello::Api, None, &[]).await;
    let r = get(gw.addr, "/hello/ada%20lovelace").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.text(),
        r#"{"path": "/hello/ada%20lovelace", "resource": "/hello/{name}", "method": "GET"}"#
    );
    let r = get(gw.addr, "/teapot").await;
    assert_eq!(r.status, 418);
    assert_eq!(r.text(), r#"{"message": "I am a teapot"}"#);
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn hello_unknown_route_uses_the_customised_gateway_response() {
    let gw = gateway(gen::example_hello::Api, None, &[]).await;
    for (method, target) in [
        ("GET", "/nowhere"),
        ("DELETE", "/hello"),
        ("GET", "/hello/"),
        ("GET", "/"),
    ] {
        let r = send(gw.addr, method, target, &[], b"").await;
        assert_eq!(r.status, 404, "{method} {target}");
        assert_eq!(
            r.header("x-amzn-errortype"),
            Some("MissingAuthenticationTokenException")
        );
        assert_eq!(r.header("access-control-allow-origin"), Some("*"));
        let id = r.request_id();
        assert_eq!(
            r.text(),
            format!(r#"{{"message": "No route for {method} {target}", "requestId": "{id}"}}"#)
        );
    }
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn dot_segments_are_never_routed() {
    let gw = gateway(gen::example_hello::Api, None, &[]).await;
    for target in [
        "/hello/..",
        "/hello/%2E%2E",
        "/x/../hello",
        "/./hello",
        "/hello/.",
    ] {
        let r = get(gw.addr, target).await;
        assert_eq!(r.status, 404, "{target}: {}", r.text());
        assert_eq!(
            r.header("x-amzn-errortype"),
            Some("MissingAuthenticationTokenException")
        );
    }
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn oversized_body_gets_the_plain_text_413() {
    let gw = gateway(gen::example_hello::Api, None, &[]).await;
    let big = vec![b'x'; 10 * 1024 * 1024 + 1];
    let r = send(gw.addr, "GET", "/hello", &[], &big).await;
    assert_eq!(r.status, 413);
    assert_eq!(r.header("content-type"), Some("text/plain"));
    assert_eq!(r.text(), "HTTP content length exceeded 10485760 bytes.");
    gw.shutdown().await.unwrap();
}

// ---------------------------------------------------------------- specs/petstore.yaml (REST)

async fn petstore() -> (Backend, specgate_runtime::server::Handle) {
    let backend = Backend::start().await;
    let gw = gateway(
        gen::petstore::Api,
        None,
        &[("backend", backend.addr.to_string())],
    )
    .await;
    (backend, gw)
}

#[tokio::test]
async fn http_integration_maps_request_parameters() {
    let (backend, gw) = petstore().await;
    let r = send(
        gw.addr,
        "GET",
        "/pets?limit=5&other=x",
        &[
            ("x-trace", "abc"),
            ("x-not-mapped", "1"),
            ("content-type", "text/plain"),
        ],
        b"",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let seen = backend.one();
    assert_eq!(seen.method, "GET");
    // Non-proxy: only mapped parameters reach the backend; `other` does not.
    assert_eq!(seen.target, "/pets?max=5");
    assert_eq!(seen.header("x-trace-id"), Some("abc"));
    assert_eq!(seen.header("x-request-id"), Some(r.request_id().as_str()));
    assert_eq!(seen.header("x-source"), Some("gateway"));
    assert_eq!(seen.header("x-env"), Some("test"));
    assert_eq!(seen.header("x-not-mapped"), None);
    // No response template: the backend body passes through.
    assert_eq!(r.json()["target"], "/pets?max=5");
    assert_eq!(r.header("content-type"), Some("application/json"));
    // responseParameters from the backend's headers and the context.
    assert_eq!(r.header("x-backend-version"), Some("7"));
    assert_eq!(r.header("x-stage"), Some("test"));
    // Backend headers are not passed through by non-proxy integrations.
    assert_eq!(r.header("server"), None);
    assert_eq!(r.header("x-version"), None);
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn http_integration_selects_responses_on_backend_status() {
    let (backend, gw) = petstore().await;
    let r = send(gw.addr, "GET", "/pets", &[("x-trace", "want-503")], b"").await;
    assert_eq!(r.status, 502);
    assert_eq!(r.header("x-backend-status"), Some("failed"));
    let id = r.request_id();
    assert_eq!(
        r.text(),
        format!(r#"{{"message": "the pet store is down", "requestId": "{id}"}}"#)
    );
    let r = send(gw.addr, "GET", "/pets", &[("x-trace", "want-404")], b"").await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (404, r#"{"message": "no pets here"}"#)
    );
    // Selection patterns match the whole status: 3xx matches neither, so `default` answers.
    let r = send(gw.addr, "GET", "/pets?limit=302", &[], b"").await;
    assert_eq!(r.status, 200);
    assert_eq!(backend.seen().len(), 3);
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn http_proxy_forwards_everything_and_remaps_headers() {
    let (backend, gw) = petstore().await;
    let r = send(
        gw.addr,
        "POST",
        "/pets?dry_run=1&tag=a%20b",
        &[
            ("content-type", "application/json"),
            ("x-custom", "yes"),
            ("x-want-status", "201"),
            ("x-forwarded-for", "10.0.0.1"),
            ("expect", "nothing"),
        ],
        br#"{"name": "Rex", "kind": "dog"}"#,
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let seen = backend.one();
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.target, "/pets?dry_run=1&tag=a%20b");
    assert_eq!(seen.body, br#"{"name": "Rex", "kind": "dog"}"#);
    assert_eq!(seen.header("content-type"), Some("application/json"));
    assert_eq!(seen.header("x-custom"), Some("yes"));
    assert_eq!(seen.header("x-forwarded-for"), Some("10.0.0.1, 127.0.0.1"));
    assert_eq!(seen.header("expect"), None);
    assert_eq!(seen.header("host"), Some(backend.addr.to_string().as_str()));
    // The backend's answer comes back with API Gateway's renames.
    assert_eq!(r.header("x-version"), Some("7"));
    assert_eq!(r.header("server"), None);
    assert_eq!(r.header("x-amzn-remapped-server"), Some("test-backend"));
    assert!(r.header("x-amzn-remapped-date").is_some());
    assert!(r.header("x-amzn-remapped-content-length").is_some());
    assert_eq!(r.json()["body"], r#"{"name": "Rex", "kind": "dog"}"#);
    // The request's ids: on the answer (REST's short id is the id's first 16 characters
    // other than dashes) and in the trace id the backend was sent.
    let id = r.header("x-amzn-requestid").unwrap().to_string();
    assert_eq!(id.len(), 36, "{id}");
    let short: String = id.chars().filter(|&c| c != '-').take(16).collect();
    assert_eq!(r.header("x-amz-apigw-id"), Some(short.as_str()));
    let trace = seen.header("x-amzn-trace-id").unwrap();
    let hex: String = id.chars().filter(|&c| c != '-').take(24).collect();
    assert!(
        trace.starts_with("Root=1-") && trace.ends_with(&format!("-{hex}")),
        "{trace} for {id}"
    );
    assert_eq!(trace.len(), "Root=1-".len() + 8 + 1 + 24, "{trace}");
    // A trace id the client sent goes on as it came.
    let r = send(
        gw.addr,
        "POST",
        "/pets",
        &[
            ("content-type", "application/json"),
            (
                "x-amzn-trace-id",
                "Root=1-5759e988-bd862e3fe1be46a994272793",
            ),
        ],
        br#"{"name": "Rex", "kind": "dog"}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let seen = &backend.seen()[1];
    assert_eq!(
        seen.header("x-amzn-trace-id"),
        Some("Root=1-5759e988-bd862e3fe1be46a994272793")
    );
    assert_eq!(seen.header("x-forwarded-for"), Some("127.0.0.1"));
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn http_proxy_timeout_is_504_with_default_5xx_headers() {
    let (_backend, gw) = petstore().await;
    // createPet has timeoutInMillis: 500.
    let r = send(
        gw.addr,
        "POST",
        "/pets",
        &[("x-want-delay-ms", "1500")],
        br#"{"name":"Rex","kind":"dog"}"#,
    )
    .await;
    assert_eq!(r.status, 504);
    assert_eq!(r.text(), r#"{"message":"Endpoint request timed out"}"#);
    assert_eq!(
        r.header("x-amzn-errortype"),
        Some("InternalServerErrorException")
    );
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    gw.shutdown().await.unwrap();
}

/// The worker's pool keeps a connection's timer between exchanges and moves it only when it
/// fires early. Each exchange still gets its own route's whole timeout, counted from its own
/// start: one that runs past the previous exchange's deadline is not cut off, a timer left
/// idle past its deadline is set again, and a shorter timeout than the last one's is kept.
#[tokio::test]
async fn pooled_connections_time_each_exchange_from_its_own_start() {
    let (backend, gw) = petstore().await;
    let pet = br#"{"name":"Rex","kind":"dog"}"#;
    // One client connection: one worker, so one pool.
    let mut c = KeepAlive::connect(gw.addr).await;
    // createPet's timeout is 500 ms: its first exchange leaves the timer 500 ms ahead.
    assert_eq!(c.send("POST", "/pets", &[], pet).await.status, 200);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    // 400 ms from here ends 200 ms past the first exchange's deadline.
    let r = c
        .send("POST", "/pets", &[("x-want-delay-ms", "400")], pet)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // The timer fires while the connection is idle, and is set again for the next one.
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    let r = c
        .send("POST", "/pets", &[("x-want-delay-ms", "300")], pet)
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // getPet (the default 29 s) moves the timer later; createPet brings it back to 500 ms.
    assert_eq!(c.send("GET", "/pets/7", &[], b"").await.status, 200);
    let seen = backend.seen();
    assert_eq!(seen.len(), 4);
    assert!(
        seen.iter().all(|s| s.peer == seen[0].peer),
        "one backend connection: {:?}",
        seen.iter().map(|s| s.peer).collect::<Vec<_>>()
    );
    let started = std::time::Instant::now();
    let r = c
        .send("POST", "/pets", &[("x-want-delay-ms", "3000")], pet)
        .await;
    assert_eq!(r.status, 504);
    assert_eq!(r.text(), r#"{"message":"Endpoint request timed out"}"#);
    let waited = started.elapsed();
    assert!(
        waited < std::time::Duration::from_millis(2500),
        "timed out after {waited:?}"
    );
    assert_eq!(backend.seen()[4].peer, seen[0].peer);
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn unreachable_backend_is_an_integration_failure() {
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let gw = gateway(gen::petstore::Api, None, &[("backend", port.to_string())]).await;
    let r = send(
        gw.addr,
        "POST",
        "/pets",
        &[],
        br#"{"name":"Rex","kind":"dog"}"#,
    )
    .await;
    assert_eq!(r.status, 504);
    assert_eq!(
        r.text(),
        r#"{"message":"Network error communicating with endpoint"}"#
    );
    assert_eq!(
        r.header("x-amzn-errortype"),
        Some("InternalServerErrorException")
    );
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn path_parameters_are_decoded_once_and_re_encoded() {
    let (backend, gw) = petstore().await;
    assert_eq!(get(gw.addr, "/pets/42").await.status, 200);
    assert_eq!(get(gw.addr, "/pets/a%2Fb%20c").await.status, 200);
    let targets: Vec<String> = backend.seen().into_iter().map(|s| s.target).collect();
    assert_eq!(targets, ["/animals/42", "/animals/a%2Fb%20c"]);
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn literal_segments_win_over_parameters() {
    let (backend, gw) = petstore().await;
    let r = get(gw.addr, "/pets/search").await;
    assert_eq!(r.text(), r#"{"route": "/pets/search"}"#);
    assert!(backend.seen().is_empty());
    let r = send(gw.addr, "DELETE", "/pets/7", &[], b"").await;
    assert_eq!(r.status, 204);
    assert!(r.body.is_empty());
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn greedy_proxy_keeps_slashes_and_any_method() {
    let (backend, gw) = petstore().await;
    let r = send(gw.addr, "PUT", "/files/a/b%20c/d.txt?v=1", &[], b"data").await;
    assert_eq!(r.status, 200);
    let seen = backend.one();
    assert_eq!(seen.method, "PUT");
    assert_eq!(seen.target, "/storage/a/b%20c/d.txt?v=1");
    assert_eq!(seen.body, b"data");
    // `{proxy+}` needs at least one segment.
    let r = get(gw.addr, "/files").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.header("x-stage"), Some("test"));
    assert_eq!(r.text(), r#"{"message": "No route for GET /files"}"#);
    // A dot segment never reaches the backend.
    assert_eq!(get(gw.addr, "/files/../pets").await.status, 404);
    assert_eq!(get(gw.addr, "/files/a/%2e%2e/b").await.status, 404);
    assert_eq!(backend.seen().len(), 1);
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn mock_health_uses_the_stage() {
    let gw = gateway(gen::petstore::Api, Some("prod"), &[]).await;
    let r = get(gw.addr, "/health").await;
    assert_eq!(
        r.text(),
        r#"{"status": "ok", "stage": "prod", "env": "prod"}"#
    );
    gw.shutdown().await.unwrap();
}

// ---------------------------------------------------------------- specs/http-api.yaml (HTTP API)

async fn orders() -> (Backend, specgate_runtime::server::Handle) {
    let backend = Backend::start().await;
    let gw = gateway(
        gen::http_api::Api,
        None,
        &[("backend", backend.addr.to_string())],
    )
    .await;
    (backend, gw)
}

#[tokio::test]
async fn http_api_routes_and_fills_route_parameters() {
    let (backend, gw) = orders().await;
    let r = get(gw.addr, "/orders/o-1?full=true").await;
    assert_eq!(r.status, 200);
    // HTTP APIs send x-amzn-RequestId but not x-amz-apigw-id.
    assert!(r.header("x-amzn-requestid").is_some());
    assert_eq!(r.header("x-amz-apigw-id"), None);
    assert_eq!(get(gw.addr, "/orders").await.status, 200);
    assert_eq!(get(gw.addr, "/static/css/site.css").await.status, 200);
    let targets: Vec<String> = backend.seen().into_iter().map(|s| s.target).collect();
    assert_eq!(
        targets,
        ["/orders/o-1?full=true", "/orders", "/assets/css/site.css"]
    );
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn http_api_default_route_gets_the_full_path() {
    let (backend, gw) = orders().await;
    let r = send(gw.addr, "PATCH", "/anything/else?q=1", &[], b"x").await;
    assert_eq!(r.status, 200);
    // POST /orders has no route of its own: `$default` takes it.
    assert_eq!(send(gw.addr, "POST", "/orders", &[], b"").await.status, 200);
    let seen: Vec<(String, String)> = backend
        .seen()
        .into_iter()
        .map(|s| (s.method, s.target))
        .collect();
    assert_eq!(
        seen,
        [
            (
                "PATCH".to_string(),
                "/fallback/anything/else?q=1".to_string()
            ),
            ("POST".to_string(), "/fallback/orders".to_string())
        ]
    );
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn http_api_errors_are_fixed() {
    let (_backend, gw) = orders().await;
    let r = get(gw.addr, "/orders/slow").await;
    assert_eq!(r.status, 200);
    let r = send(
        gw.addr,
        "GET",
        "/orders/slow",
        &[("x-want-delay-ms", "1500")],
        b"",
    )
    .await;
    assert_eq!(r.status, 503);
    assert_eq!(r.text(), r#"{"message":"Service Unavailable"}"#);
    assert_eq!(r.header("x-amzn-errortype"), None);
    let r = get(gw.addr, "/..").await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (404, r#"{"message":"Not Found"}"#)
    );
    gw.shutdown().await.unwrap();
}

// ---------------------------------------------------------------- AWS corpus documents

#[cfg(aws_corpus)]
#[tokio::test]
async fn aws_mock_with_cors_options() {
    let gw = gateway(gen::aws_openapi_basepath_server_variable::Api, None, &[]).await;
    let r = get(gw.addr, "/test").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert!(r.body.is_empty());
    let r = send(gw.addr, "OPTIONS", "/test", &[], b"").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("access-control-allow-methods"),
        Some("GET,OPTIONS")
    );
    assert_eq!(
        r.header("access-control-allow-headers"),
        Some("Content-Type,X-Amz-Date,Authorization,X-Api-Key,X-Amz-Security-Token")
    );
    // The server's basePath variable is ignored, as API Gateway's importer does by default.
    let r = get(gw.addr, "/base-var/test").await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (403, r#"{"message":"Missing Authentication Token"}"#)
    );
    assert_eq!(
        r.header("x-amzn-errortype"),
        Some("MissingAuthenticationTokenException")
    );
    gw.shutdown().await.unwrap();
}

#[cfg(aws_corpus)]
#[tokio::test]
async fn aws_stage_variables_build_the_backend_url() {
    use tokio::io::AsyncReadExt;
    // The document's URI is `https://${stageVariables.TestHost}/...`: the gateway must open a
    // TLS connection to the host the stage variable names. A raw listener there sees the
    // ClientHello (record type 0x16, TLS major version 3); with no certificate to offer it
    // hangs up, and the gateway answers with an integration failure. The document uses
    // `payloadFormatVersion`, an HTTP API feature, so it is an HTTP API: its integration
    // failures are 500 `Internal Server Error`.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let host = listener.local_addr().unwrap();
    let hello = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut b = [0u8; 2];
        s.read_exact(&mut b).await.unwrap();
        b
    });
    let vars = [
        ("TestHost", host.to_string()),
        ("testPath", "v2/items".to_string()),
        ("querystring", "src=gw".to_string()),
    ];
    let gw = gateway(gen::aws_openapi_spec_stage_variables::Api, None, &vars).await;
    let r = get(gw.addr, "/path1?x=1").await;
    assert_eq!(hello.await.unwrap(), [0x16, 0x03]);
    assert_eq!(r.status, 500);
    assert_eq!(r.text(), r#"{"message":"Internal Server Error"}"#);
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn http_integration_timeout_covers_a_stalled_body() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // A backend that sends its headers and part of the body, then stalls.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 4096];
        let _ = s.read(&mut buf).await;
        s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc")
            .await
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_secs(10)).await;
    });
    let gw = gateway(gen::petstore::Api, None, &[("backend", addr.to_string())]).await;
    // listPets (`http`) has timeoutInMillis: 2000.
    let r = get(gw.addr, "/pets").await;
    assert_eq!(r.status, 504);
    assert_eq!(r.text(), r#"{"message":"Endpoint request timed out"}"#);
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn required_parameters_are_validated_in_aws_order() {
    let (_backend, gw) = petstore().await;
    // Header first, then query strings, each sorted by name (the full keys' order).
    let r = get(gw.addr, "/pets/1/visits").await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.text(),
        r#"{"message":"Missing required request parameters: [X-Visitor, from, to]"}"#
    );
    assert_eq!(r.header("x-amzn-errortype"), Some("BadRequestException"));
    assert_eq!(
        r.header("x-validation-error"),
        Some("Missing required request parameters: [X-Visitor, from, to]")
    );
    // Blank counts as missing; header names are case-insensitive; optional `note` is not needed.
    let r = send(
        gw.addr,
        "GET",
        "/pets/1/visits?from=&to=2",
        &[("x-visitor", "ann")],
        b"",
    )
    .await;
    assert_eq!(
        r.text(),
        r#"{"message":"Missing required request parameters: [from]"}"#
    );
    let r = send(
        gw.addr,
        "GET",
        "/pets/1/visits?from=1&to=2",
        &[("X-VISITOR", "ann")],
        b"",
    )
    .await;
    assert_eq!((r.status, r.text().as_str()), (200, r#"{"visits": []}"#));
    gw.shutdown().await.unwrap();
}

// ---------------------------------------------------------------- request body validation

/// POSTs `body` to createPet (validator `all`, model `NewPet`) with JSON content type.
async fn create_pet(addr: std::net::SocketAddr, body: &str) -> Reply {
    send(
        addr,
        "POST",
        "/pets",
        &[("content-type", "application/json; charset=utf-8")],
        body.as_bytes(),
    )
    .await
}

#[tokio::test]
async fn body_validation_rejects_with_aws_messages_and_never_reaches_the_backend() {
    let (backend, gw) = petstore().await;
    let cases: &[(&str, &str)] = &[
        // `id` is required but readOnly: not required in requests.
        (
            r#"{"name": "Rex"}"#,
            r#"[object has missing required properties (["kind"])]"#,
        ),
        // An empty body is validated as `{}`.
        (
            "",
            r#"[object has missing required properties (["kind","name"])]"#,
        ),
        (
            r#"{"name": "Rex", "kind": "cow"}"#,
            r#"[instance value ("cow") not found in enum (possible values: ["cat","dog","bird"])]"#,
        ),
        (
            r#"{"name": 7, "kind": "dog"}"#,
            r#"[instance type (integer) does not match any allowed primitive type (allowed: ["string"])]"#,
        ),
        (
            r#"{"name": "Rex", "kind": "dog", "colour": "red", "age": 3}"#,
            r#"[object instance has properties which are not allowed by the schema: ["colour"]]"#,
        ),
        // Several failures in one body: all reported, in document order.
        (
            r#"{"name": "", "kind": "dog", "age": 41.5, "tags": ["a", "a", "b c"]}"#,
            concat!(
                r#"[string "" is too short (length: 0, required minimum: 1), "#,
                r#"numeric instance is greater than the required maximum (maximum: 40, found: 41.5), "#,
                r#"instance type (number) does not match any allowed primitive type (allowed: ["integer"]), "#,
                r#"array must not contain duplicate elements]"#
            ),
        ),
        // Nested models through `$ref`, `format: email`, `nullable`.
        (
            r#"{"name": "Rex", "kind": "dog", "owner": {"email": "not an address", "phone": null}}"#,
            r#"[string "not an address" is not a valid email address]"#,
        ),
        // Recursion: Owner.pets is a list of NewPet.
        (
            r#"{"name": "Rex", "kind": "dog", "owner": {"email": "a@b.example", "pets": [{"name": "Tom"}]}}"#,
            r#"[object has missing required properties (["kind"])]"#,
        ),
        (
            "[1, 2]",
            r#"[instance type (array) does not match any allowed primitive type (allowed: ["object"])]"#,
        ),
    ];
    for (body, detail) in cases {
        let r = create_pet(gw.addr, body).await;
        assert_eq!(r.status, 400, "{body}");
        assert_eq!(r.text(), r#"{"message":"Invalid request body"}"#, "{body}");
        assert_eq!(r.header("x-amzn-errortype"), Some("BadRequestException"));
        assert_eq!(r.header("x-validation-error"), Some(*detail), "{body}");
    }
    // Not JSON at all.
    let r = create_pet(gw.addr, "{name").await;
    assert_eq!(
        (r.status, r.text().as_str()),
        (400, r#"{"message":"Invalid request body"}"#)
    );
    assert!(
        backend.seen().is_empty(),
        "an invalid body reached the backend"
    );

    // A valid body goes through, byte for byte.
    let body = r#"{"name": "Rex", "kind": "dog", "age": 3, "tags": ["good", "boy"], "owner": {"email": "ann@example.com", "phone": null, "pets": []}}"#;
    let r = create_pet(gw.addr, body).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let seen = backend.one();
    assert_eq!(seen.body, body.as_bytes());
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn body_models_are_selected_by_content_type() {
    let (backend, gw) = petstore().await;
    // A Content-Type without a model is not validated (API Gateway's rule)…
    let r = send(
        gw.addr,
        "POST",
        "/pets",
        &[("content-type", "text/plain")],
        b"anything",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // …the form model is `{type: object}`, and a form body is not JSON.
    let r = send(
        gw.addr,
        "POST",
        "/pets",
        &[("content-type", "application/x-www-form-urlencoded")],
        b"a=1",
    )
    .await;
    assert_eq!(r.status, 400);
    // No Content-Type: validated as application/json.
    let r = send(gw.addr, "POST", "/pets", &[], br#"{"kind": "cat"}"#).await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.header("x-validation-error"),
        Some(r#"[object has missing required properties (["name"])]"#)
    );
    assert_eq!(backend.seen().len(), 1);
    gw.shutdown().await.unwrap();
}

// ---------------------------------------------------------------- response validation

#[tokio::test]
async fn strict_response_validation_turns_schema_breaks_into_502() {
    let backend = Backend::start().await;
    let gw = gateway(
        gen::response_validation::Api,
        None,
        &[("backend", backend.addr.to_string())],
    )
    .await;
    // The echo matches `Echo`: passed on untouched.
    let r = send(gw.addr, "POST", "/echo", &[], b"hi").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["body"], "hi");
    // Too long a body breaks `maxLength` in the echo.
    let r = send(gw.addr, "POST", "/echo", &[], b"far too long").await;
    assert_eq!(r.status, 502);
    assert_eq!(r.text(), r#"{"message":"Internal server error"}"#);
    assert_eq!(
        r.header("x-specgate-response-error"),
        Some(
            r#"status 200: /body: string "far too long" is too long (length: 12, maximum allowed: 10)"#
        )
    );
    // 201 declares `Created`: `id` (readOnly) is required in responses, `secret`
    // (writeOnly) is not.
    let r = send(gw.addr, "POST", "/echo", &[("x-want-status", "201")], b"").await;
    assert_eq!(r.status, 502);
    assert_eq!(
        r.header("x-specgate-response-error"),
        Some(r#"status 201: /: object has missing required properties (["id"])"#)
    );
    // `4XX` covers 404.
    let r = send(gw.addr, "POST", "/echo", &[("x-want-status", "404")], b"").await;
    assert_eq!(r.status, 502);
    assert_eq!(
        r.header("x-specgate-response-error"),
        Some(r#"status 404: /: object has missing required properties (["error"])"#)
    );
    // 500 declares nothing: not checked.
    let r = send(gw.addr, "POST", "/echo", &[("x-want-status", "500")], b"").await;
    assert_eq!(r.status, 500);
    // Nor does 200 in text/plain (the media type is the backend's own field, passed on as
    // it came).
    let r = send(
        gw.addr,
        "POST",
        "/echo",
        &[("x-want-body", "plain words")],
        b"",
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.header("x-specgate-response-error"));
    assert_eq!(r.header("content-type"), Some("text/plain"));
    assert_eq!(r.text(), "plain words");
    // An operation's own `x-specgate-validation: {responses: off}` wins over the root's.
    let r = send(gw.addr, "POST", "/unchecked", &[], b"far too long").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["target"], "/unchecked");
    gw.shutdown().await.unwrap();
}

/// A backend answering every request on a connection with the same bytes.
async fn fixed_backend(answer: &'static [u8]) -> std::net::SocketAddr {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let Ok(n) = s.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    // Requests without bodies: one answer per blank line.
                    while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        buf.drain(..end + 4);
                        if s.write_all(answer).await.is_err() {
                            return;
                        }
                    }
                }
            });
        }
    });
    addr
}

#[tokio::test]
async fn http_proxy_passes_the_backends_fields_on_in_its_order_remapped_over_http1_and_h2() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let backend = fixed_backend(
        b"HTTP/1.1 200 OK\r\nServer: Raw/1\r\nX-Mixed-Case: A\r\nSet-Cookie: a=1\r\n\
          X-Other: 1\r\nset-cookie: b=2\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\n\
          Keep-Alive: timeout=5\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
    )
    .await;
    let gw = gateway(
        gen::petstore::Api,
        None,
        &[("backend", backend.to_string())],
    )
    .await;
    // HTTP/1: the head as written, field by field.
    let mut s = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
    s.write_all(b"GET /pets/7 HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8(out).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert_eq!(body, "ok");
    let lines: Vec<&str> = head.split("\r\n").collect();
    assert_eq!(lines[0], "HTTP/1.1 200 OK");
    let names: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l.split_once(": ").unwrap().0)
        .collect();
    assert_eq!(
        names,
        [
            "x-amzn-remapped-server",
            "x-mixed-case",
            "set-cookie",
            "x-other",
            "set-cookie",
            "x-amzn-remapped-date",
            "x-amzn-requestid",
            "x-amz-apigw-id",
            "content-length",
            "date",
            "connection"
        ],
        "{head}"
    );
    assert_eq!(lines[1], "x-amzn-remapped-server: Raw/1");
    assert_eq!(lines[3], "set-cookie: a=1");
    assert_eq!(lines[5], "set-cookie: b=2");
    assert_eq!(
        lines[6],
        "x-amzn-remapped-date: Mon, 01 Jan 2024 00:00:00 GMT"
    );
    assert_eq!(lines[9], "content-length: 2");
    // HTTP/2: the same fields, from the header map.
    let stream = tokio::net::TcpStream::connect(gw.addr).await.unwrap();
    let (mut send, conn) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    let req = hyper::Request::get(format!("http://{}/pets/7", gw.addr))
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .unwrap();
    let resp = send.send_request(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    let h = resp.headers();
    let all = |n: &str| -> Vec<&str> { h.get_all(n).iter().map(|v| v.to_str().unwrap()).collect() };
    assert_eq!(all("set-cookie"), ["a=1", "b=2"]);
    assert_eq!(all("x-amzn-remapped-server"), ["Raw/1"]);
    assert_eq!(all("x-mixed-case"), ["A"]);
    assert!(all("server").is_empty() && all("keep-alive").is_empty());
    assert!(all("transfer-encoding").is_empty());
    assert_eq!(all("x-amzn-requestid").len(), 1);
    gw.shutdown().await.unwrap();
}

/// The bench spec's order model read by its acceptor (the fast path of body validation)
/// and by the tree validator, on the benchmark's order and on every variant made by
/// replacing one of its values, dropping or adding a member: the acceptor accepts exactly
/// what the validator finds valid (this model has no keyword the acceptor leaves to the
/// tree, and the variants no escapes or repeated names), and a member named twice is left
/// to the tree.
#[test]
fn order_acceptor_agrees_with_the_validator_on_every_variant() {
    use gen::bench_proxy::models::{accept_order, order};
    use serde_json::{json, Value as J};
    use specgate_runtime::json::{Scan, Value};
    use specgate_runtime::schema::{Path, Report};
    let lines: Vec<J> = (0..6)
        .map(|i| {
            json!({"sku": format!("SKU-{i:04}"), "quantity": i + 1, "unit_price": 9.99 + f64::from(i),
                   "tags": ["gift", format!("batch-{i}")]})
        })
        .collect();
    let base = json!({
        "id": "ord_20261125a", "currency": "EUR", "created_at": "2026-11-25T10:00:00Z",
        "notes": null,
        "customer": {"id": 42, "email": "ada@example.com", "name": "Ada Lovelace",
                     "address": {"street": "1 Analytical Way", "city": "London", "country": "GB"}},
        "lines": lines,
    });
    let leaves = [
        json!(null),
        json!(true),
        json!(0),
        json!(-1),
        json!(1),
        json!(7.5),
        json!(1001),
        json!(""),
        json!("x"),
        json!("EUR"),
        json!("gb"),
        json!("GB"),
        json!("ord_2026abcd"),
        json!("2026-11-25T10:00:00Z"),
        json!("not a date"),
        json!("a@b.example"),
        json!([]),
        json!(["x"]),
        json!(["a", "a"]),
        json!([1]),
        json!({}),
        json!({"country": "GB"}),
        json!({"id": 1, "email": "a@b.example"}),
    ];
    let verdicts = |text: &str| {
        let tree = Value::parse(text.as_bytes()).unwrap();
        let mut report = Report::new();
        order(&tree, &Path::Root, &mut report);
        (report.ok(), Scan::accepts(text, accept_order))
    };
    // Every value's pointer in the order.
    fn pointers(v: &J, at: String, out: &mut Vec<String>) {
        match v {
            J::Object(m) => m
                .iter()
                .for_each(|(k, x)| pointers(x, format!("{at}/{k}"), out)),
            J::Array(a) => a
                .iter()
                .enumerate()
                .for_each(|(i, x)| pointers(x, format!("{at}/{i}"), out)),
            _ => {}
        }
        out.push(at);
    }
    let mut at = Vec::new();
    pointers(&base, String::new(), &mut at);
    let mut variants = vec![base.clone()];
    for p in at.iter().filter(|p| !p.is_empty()) {
        for leaf in &leaves {
            let mut v = base.clone();
            *v.pointer_mut(p).unwrap() = leaf.clone();
            variants.push(v);
        }
    }
    for p in &at {
        if let Some(J::Object(m)) = base.pointer(p) {
            for k in m.keys() {
                let mut v = base.clone();
                v.pointer_mut(p).unwrap().as_object_mut().unwrap().remove(k);
                variants.push(v);
            }
            let mut v = base.clone();
            v.pointer_mut(p)
                .unwrap()
                .as_object_mut()
                .unwrap()
                .insert("extra".into(), json!(1));
            variants.push(v);
        }
    }
    let (mut valid, mut invalid) = (0, 0);
    for v in &variants {
        for text in [v.to_string(), serde_json::to_string_pretty(v).unwrap()] {
            let (tree, fast) = verdicts(&text);
            assert_eq!(fast, tree, "{text}");
            if tree {
                valid += 1;
            } else {
                invalid += 1;
            }
        }
    }
    assert!(
        valid > 100 && invalid > 1000,
        "{valid} valid, {invalid} invalid variants"
    );
    // A member named twice: the tree keeps the last value (valid here), the acceptor
    // leaves it to the tree; a repeated tag is refused by both.
    let text = base.to_string().replacen('{', r#"{"currency": "XXX", "#, 1);
    assert_eq!(verdicts(&text), (true, false));
    let text = base.to_string().replacen(r#""batch-0""#, r#""gift""#, 1);
    assert_eq!(verdicts(&text), (false, false));
    // Text after the value, or a broken one: not accepted.
    assert!(!Scan::accepts(&format!("{base} {{}}"), accept_order));
    assert!(!Scan::accepts(
        &base.to_string().replacen(',', ",,", 1),
        accept_order
    ));
}
