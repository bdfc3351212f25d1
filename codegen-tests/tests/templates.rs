//! Compiled mapping templates in a running gateway (specs/templates.yaml), over real
//! sockets: what the backend receives from a request template (body, overrides), what the
//! client gets from response templates (chosen by `Accept`), `passthroughBehavior`, mock
//! status selection and response overrides. Outputs are compared byte for byte, with the
//! whitespace Velocity 1.7 produces (a directive's line end is dropped).

mod common;

use common::*;
use specgate_codegen_tests as gen;

async fn start() -> (Backend, specgate_runtime::server::Handle) {
    let backend = Backend::start().await;
    let gw = gateway(
        gen::templates::Api,
        None,
        &[("backend", backend.addr.to_string())],
    )
    .await;
    (backend, gw)
}

const ORDER: &[u8] =
    br#"{"items": [{"id": "a1", "name": "Widget"}, {"id": "b2", "name": "Gadget"}]}"#;

const BATCH: &str = r#"{
  "StreamName": "orders-stream",
  "Records": [
    {"PartitionKey": "a1", "Data": "V2lkZ2V0"},
    {"PartitionKey": "b2", "Data": "R2FkZ2V0"}
  ]
}
"#;

#[tokio::test]
async fn request_template_builds_the_backend_request() {
    let (backend, gw) = start().await;
    let r = send(
        gw.addr,
        "POST",
        "/orders/acme?ignored=1",
        &[
            ("content-type", "application/json"),
            ("x-client", "not forwarded"),
        ],
        ORDER,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let seen = backend.one();
    assert_eq!(seen.method, "POST");
    // Path from the mapping, query string only from the override (a non-proxy integration
    // does not forward the client's).
    assert_eq!(seen.target, "/records/acme?count=2");
    assert_eq!(seen.header("x-tenant"), Some("acme"));
    assert_eq!(seen.header("x-client"), None);
    assert_eq!(String::from_utf8_lossy(&seen.body), BATCH);
    // The default response template printed the body the backend echoed, and set a header.
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("x-backend-target"), Some("/records/acme?count=2"));
    assert_eq!(r.text(), format!("{BATCH}\n"));
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn response_template_is_chosen_by_accept() {
    let (_backend, gw) = start().await;
    let r = send(
        gw.addr,
        "POST",
        "/orders/acme",
        &[("accept", "text/plain, application/json")],
        ORDER,
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/plain"));
    assert_eq!(r.text(), "sent to /records/acme?count=2");
    // An Accept no template has falls back to application/json.
    let r = send(
        gw.addr,
        "POST",
        "/orders/acme",
        &[("accept", "image/png")],
        ORDER,
    )
    .await;
    assert_eq!(r.header("content-type"), Some("application/json"));
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn selection_by_backend_status_runs_that_responses_template() {
    let (backend, gw) = start().await;
    let r = send(gw.addr, "POST", "/orders/acme?want=404", &[], ORDER).await;
    assert_eq!(backend.one().header("x-want-status"), Some("404"));
    assert_eq!(r.status, 404);
    assert_eq!(
        r.text(),
        r#"{"message": "no such stream", "tenant": "acme"}"#
    );
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn passthrough_never_refuses_other_media_types() {
    let (backend, gw) = start().await;
    let r = send(
        gw.addr,
        "POST",
        "/orders/acme",
        &[("content-type", "text/plain")],
        b"hello",
    )
    .await;
    assert_eq!(r.status, 415);
    assert_eq!(r.text(), r#"{"message":"Unsupported Media Type"}"#);
    assert!(backend.seen().is_empty());
    // Media type parameters do not matter.
    let r = send(
        gw.addr,
        "POST",
        "/orders/acme",
        &[("content-type", "Application/JSON; charset=utf-8")],
        ORDER,
    )
    .await;
    assert_eq!(r.status, 200);
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_payload_that_is_not_json_is_a_400() {
    let (backend, gw) = start().await;
    let r = send(gw.addr, "POST", "/orders/acme", &[], b"{\"items\": [").await;
    assert_eq!(r.status, 400);
    let message = r.json()["message"].as_str().unwrap_or_default().to_string();
    assert!(
        message.starts_with("Could not process payload"),
        "{message}"
    );
    assert!(backend.seen().is_empty());
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn mock_status_comes_from_the_rendered_template() {
    let (_backend, gw) = start().await;
    let r = get(gw.addr, "/mock/404").await;
    assert_eq!(r.status, 404);
    assert_eq!(
        r.text(),
        "{\"message\": \"mock said 404\", \"method\": \"GET\"}\n"
    );
    // `{statusCode: 200}` without quotes is read too; 500 matches no pattern: default.
    for code in ["200", "500"] {
        let r = get(gw.addr, &format!("/mock/{code}")).await;
        assert_eq!(r.status, 200);
        assert_eq!(
            r.text(),
            format!(
                "{{\"list\": [\"a\",\"b\",\"c\"], \"map\": \"{{k=v, n=1}}\", \"size\": 3, \"upper\": \"{code}\", \"count\": \"123\"}}\n"
            )
        );
    }
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn overrides_from_a_mock_request_template_apply_without_a_response_override() {
    let (_backend, gw) = start().await;
    let r = get(gw.addr, "/mock/teapot").await;
    assert_eq!(r.status, 418);
    assert_eq!(r.header("x-brew"), Some("no"));
    assert!(r.text().contains("\"upper\": \"TEAPOT\""), "{}", r.text());
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn method_request_passthrough_template() {
    let (_backend, gw) = start().await;
    let r = get(gw.addr, "/echo-params/42?q=it's%20%22x%22&z=1").await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.text(),
        "{\n\"path\": {\n\"id\": \"42\"\n},\n\"querystring\": {\n\"q\": \"it\\'s \\\"x\\\"\",\n\"z\": \"1\"\n}\n}\n"
    );
    gw.shutdown().await.unwrap();
}
