//! `binaryMediaTypes` and `contentHandling` (specs/binary.yaml) over real sockets: what the
//! backend receives after the request conversion, and what the client gets after the
//! response conversion, following AWS's content type conversion tables.

mod common;

use common::*;
use specgate_codegen_tests as gen;

async fn start() -> (Backend, specgate_runtime::server::Handle) {
    let backend = Backend::start().await;
    let gw = gateway(
        gen::binary::Api,
        None,
        &[("backend", backend.addr.to_string())],
    )
    .await;
    (backend, gw)
}

/// The body the echo backend says it received.
fn echoed(r: &Reply) -> String {
    r.json()["body"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn convert_to_text_gives_the_template_base64() {
    let (backend, gw) = start().await;
    let png = [0x89, b'P', b'N', b'G', 0x00, 0xff];
    let r = send(
        gw.addr,
        "POST",
        "/to-text",
        &[("content-type", "image/png")],
        &png,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        String::from_utf8(backend.one().body).unwrap(),
        r#"{"image": "iVBORwD/", "length": 8}"#
    );
    // A text payload is not converted (and, with no template for it, passes through).
    let r = send(
        gw.addr,
        "POST",
        "/to-text",
        &[("content-type", "application/json")],
        br#"{"a": 1}"#,
    )
    .await;
    assert_eq!(echoed(&r), r#"{"a": 1}"#);
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn convert_to_binary_decodes_text_payloads() {
    let (backend, gw) = start().await;
    let r = send(
        gw.addr,
        "POST",
        "/to-binary",
        &[("content-type", "text/plain")],
        b"aGVsbG8gd29ybGQ=",
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(backend.one().body, b"hello world");
    // A binary payload is already binary.
    let r = send(
        gw.addr,
        "POST",
        "/to-binary",
        &[("content-type", "application/octet-stream")],
        b"aGk=",
    )
    .await;
    assert_eq!(echoed(&r), "aGk=");
    // Text that is not base64 cannot be converted: 500, and the backend is not called.
    let r = send(
        gw.addr,
        "POST",
        "/to-binary",
        &[("content-type", "text/plain")],
        b"not base64!",
    )
    .await;
    assert_eq!(r.status, 500);
    assert_eq!(r.text(), r#"{"message":"Internal server error"}"#);
    assert_eq!(backend.seen().len(), 2);
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn responses_follow_the_first_accept_type() {
    let (_backend, gw) = start().await;
    let download = |body: &'static str, ct: &'static str, accept: &'static str| {
        let addr = gw.addr;
        async move {
            send(
                addr,
                "GET",
                "/download",
                &[
                    ("x-want-body", body),
                    ("x-want-content-type", ct),
                    ("accept", accept),
                ],
                b"",
            )
            .await
        }
    };
    // Text payload, binary Accept: decoded from base64.
    let r = download("aGk=", "text/plain", "image/png, */*").await;
    assert_eq!(r.status, 200);
    assert_eq!(&r.body[..], b"hi");
    assert_eq!(r.header("content-type"), Some("text/plain"));
    // Text payload, text Accept: as is.
    let r = download("aGk=", "text/plain", "text/html, image/png").await;
    assert_eq!(&r.body[..], b"aGk=");
    // Binary payload, text Accept: base64.
    let r = download("PNG", "application/octet-stream", "application/json").await;
    assert_eq!(&r.body[..], b"UE5H");
    assert_eq!(r.header("content-type"), Some("application/octet-stream"));
    // Binary payload, binary Accept: as is.
    let r = download("PNG", "application/octet-stream", "image/png").await;
    assert_eq!(&r.body[..], b"PNG");
    // Text payload that is not base64, binary Accept: the conversion fails.
    let r = download("plain words", "text/plain", "image/png").await;
    assert_eq!(r.status, 500);
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn response_convert_to_text_feeds_the_template() {
    let (_backend, gw) = start().await;
    let r = send(
        gw.addr,
        "GET",
        "/download-as-text",
        &[
            ("x-want-body", "PNG"),
            ("x-want-content-type", "application/octet-stream"),
            ("accept", "image/png"),
        ],
        b"",
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), r#"{"data": "UE5H"}"#);
    // A text payload stays text.
    let r = send(
        gw.addr,
        "GET",
        "/download-as-text",
        &[
            ("x-want-body", "plain"),
            ("x-want-content-type", "text/plain"),
        ],
        b"",
    )
    .await;
    assert_eq!(r.text(), r#"{"data": "plain"}"#);
    gw.shutdown().await.unwrap();
}
