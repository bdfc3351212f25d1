//! Swagger 2.0 documents build and serve: `specs/swagger2-pets.json` (2.0) and
//! `specs/swagger2-pets-oas30.yaml` (the same API in OpenAPI 3.0) answer every request alike
//! over real sockets, against one real backend; an AWS-exported 2.0 document's mock routes
//! answer; and VPC links reach the private target `--vpc-link` names.

mod common;

use common::{gateway, send, Backend, Reply};
use specgate_codegen_tests as gen;

/// The same request to both gateways: status, body and the headers AWS sets must agree.
async fn both(
    two: std::net::SocketAddr,
    three: std::net::SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let a = send(two, method, target, headers, body).await;
    let b = send(three, method, target, headers, body).await;
    assert_eq!(
        a.status,
        b.status,
        "{method} {target}: {} vs {}",
        a.text(),
        b.text()
    );
    assert_eq!(a.text(), b.text(), "{method} {target}");
    for h in ["content-type", "x-version", "x-amzn-errortype"] {
        assert_eq!(a.header(h), b.header(h), "{method} {target}: header {h}");
    }
    a
}

#[tokio::test]
async fn swagger2_serves_as_its_openapi3_equivalent() {
    let backend = Backend::start().await;
    let vars = [("backend", backend.addr.to_string())];
    let two = gateway(gen::swagger2_pets::Api, None, &vars).await;
    let three = gateway(gen::swagger2_pets_oas30::Api, None, &vars).await;
    let json = [("content-type", "application/json")];

    // Query parameter validation (the document's default validator) and mapping.
    let r = both(two.addr, three.addr, "GET", "/pets", &[], b"").await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json(),
        serde_json::json!({"message": "Missing required request parameters: [type]"})
    );
    let r = both(two.addr, three.addr, "GET", "/pets?type=dog", &[], b"").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("x-version"), Some("7"));
    let seen: Vec<String> = backend.seen().iter().map(|s| s.target.clone()).collect();
    assert_eq!(seen, vec!["/pets?kind=dog", "/pets?kind=dog"]);

    // A body parameter is the request body, validated against its definition.
    let r = both(
        two.addr,
        three.addr,
        "POST",
        "/pets",
        &json,
        br#"{"tag": "x"}"#,
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json(),
        serde_json::json!({"message": "Invalid request body"})
    );
    let r = both(
        two.addr,
        three.addr,
        "POST",
        "/pets",
        &json,
        br#"{"name": "Rex"}"#,
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(
        r.json(),
        serde_json::json!({"method": "POST", "sent": {"name": "Rex"}})
    );

    // Mock integrations, path parameters, form bodies.
    let r = both(two.addr, three.addr, "GET", "/pets/42", &[], b"").await;
    assert_eq!(r.json(), serde_json::json!({"id": "42", "name": "Rex"}));
    let form = [("content-type", "application/x-www-form-urlencoded")];
    let r = both(
        two.addr,
        three.addr,
        "POST",
        "/feedback",
        &form,
        b"rating=5",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), serde_json::json!({"thanks": true}));

    // What no route serves.
    let r = both(two.addr, three.addr, "DELETE", "/pets", &[], b"").await;
    assert_eq!(r.status, 403);
    two.shutdown().await.unwrap();
    three.shutdown().await.unwrap();
}

/// An API exported from AWS as Swagger 2.0 (`aws-specs/swagger-mock-cors.json`): its CORS
/// preflight mocks answer with the headers it maps.
#[cfg(aws_corpus)]
#[tokio::test]
async fn aws_exported_swagger2_mock_routes_answer() {
    let gw = gateway(gen::aws_swagger_mock_cors::Api, None, &[]).await;
    let r = send(
        gw.addr,
        "OPTIONS",
        "/product/12",
        &[("content-type", "application/json")],
        b"",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://localhost:8080")
    );
    assert_eq!(
        r.header("access-control-allow-methods"),
        Some("OPTIONS,POST,GET")
    );
    assert_eq!(r.text(), "{}\n");
    gw.shutdown().await.unwrap();
}

/// `connectionType: VPC_LINK`: the request goes to the address `--vpc-link` gives for the
/// link, with the `uri`'s host as `Host`; a link named by a stage variable without a target
/// is a 500; a link named by id without a target stops the gateway from starting.
#[tokio::test]
async fn vpc_links_reach_their_private_target() {
    let backend = Backend::start().await;
    let mut config = specgate_runtime::config::Config::for_tests();
    config.vpc_links = vec![("vl-1234".into(), backend.addr.to_string())];
    config.stage_vars = vec![("link".into(), "vl-unknown".into())];
    let gw = specgate_runtime::server::spawn(gen::vpc_link::Api, config)
        .await
        .unwrap();
    let r = send(gw.addr, "GET", "/orders/7?x=1", &[], b"").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let seen = backend.one();
    assert_eq!(seen.target, "/orders/7?x=1");
    assert_eq!(seen.header("host"), Some("internal-orders.example.com"));
    let r = send(gw.addr, "GET", "/staged", &[], b"").await;
    assert_eq!(r.status, 500);
    assert_eq!(
        r.json(),
        serde_json::json!({"message": "Internal server error"})
    );
    assert_eq!(backend.seen().len(), 1, "nothing went to the backend");
    gw.shutdown().await.unwrap();

    let missing = specgate_runtime::server::spawn(
        gen::vpc_link::Api,
        specgate_runtime::config::Config::for_tests(),
    )
    .await;
    let err = missing
        .err()
        .expect("no target for the link: the gateway must not start");
    assert!(
        err.to_string().contains("--vpc-link vl-1234=HOST:PORT"),
        "{err}"
    );
}
