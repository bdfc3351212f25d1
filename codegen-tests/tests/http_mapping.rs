//! HTTP API parameter mapping (`specs/http-mapping.yaml`) over real sockets: what the
//! backend receives (headers appended, overwritten and removed; query string and path
//! rewritten) and what the client gets (response headers and the status code mapped).

mod common;

use common::{gateway, send, Backend};
use specgate_codegen_tests as gen;

#[tokio::test]
async fn requests_and_responses_are_mapped() {
    let backend = Backend::start().await;
    let gw = gateway(
        gen::http_mapping::Api,
        None,
        &[("backend", backend.addr.to_string())],
    )
    .await;
    let r = send(
        gw.addr,
        "GET",
        "/items/42?p=3&debug=1",
        &[("x-user", "ada"), ("x-secret", "s3cr3t")],
        b"",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let seen = backend.one();
    assert_eq!(seen.target, "/v2/items/42?p=3&page=3&id=42");
    assert_eq!(seen.header("x-caller"), Some("ada"));
    assert_eq!(seen.header("x-stage"), Some("$default"));
    assert_eq!(seen.header("x-secret"), None);
    assert_eq!(
        seen.header("x-user"),
        Some("ada"),
        "unmapped headers are forwarded"
    );
    // The answer: mapped by its status (200).
    assert_eq!(r.header("x-request"), Some(r.request_id().as_str()));
    assert_eq!(r.header("server"), None);
    assert_eq!(r.header("x-backend-version"), Some("v7"));

    // A 404 from the backend becomes a 410, with its own header.
    let r = send(gw.addr, "GET", "/items/7", &[("x-want-status", "404")], b"").await;
    assert_eq!(r.status, 410);
    assert_eq!(r.header("x-gone"), Some("yes"));
    assert_eq!(r.header("x-request"), None, "the 200 mappings do not apply");
    gw.shutdown().await.unwrap();
}
