//! HTTP APIs' gateway-managed CORS (`specs/http-cors.yaml`) over real sockets: preflights
//! answered by the gateway before routing and authorizers, CORS headers on every answer,
//! the backend's own CORS headers dropped, disallowed origins left without them.

mod common;

use common::{get, send, Backend};
use specgate_codegen_tests as gen;

const ORIGIN: &str = "https://app.example.com";

#[tokio::test]
async fn preflights_and_answers_carry_the_configured_headers() {
    let backend = Backend::start().await;
    let mut config = specgate_runtime::config::Config::for_tests();
    config.stage_vars = vec![("backend".into(), backend.addr.to_string())];
    config.admin_listen = Some("127.0.0.1:0".parse().unwrap());
    let gw = specgate_runtime::server::spawn(gen::http_cors::Api, config)
        .await
        .unwrap();
    let preflight = |path: &'static str, origin: &'static str| {
        let addr = gw.addr;
        async move {
            send(
                addr,
                "OPTIONS",
                path,
                &[
                    ("origin", origin),
                    ("access-control-request-method", "POST"),
                    ("access-control-request-headers", "content-type"),
                ],
                b"",
            )
            .await
        }
    };
    let r = preflight("/items", ORIGIN).await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(r.header("access-control-allow-origin"), Some(ORIGIN));
    assert_eq!(r.header("access-control-allow-methods"), Some("GET,POST"));
    assert_eq!(
        r.header("access-control-allow-headers"),
        Some("content-type,authorization")
    );
    assert_eq!(r.header("access-control-max-age"), Some("600"));
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
    assert!(r.body.is_empty());
    // Before authorizers (no token here), and for paths no route has.
    assert_eq!(preflight("/private", ORIGIN).await.status, 204);
    assert_eq!(preflight("/nowhere", ORIGIN).await.status, 204);
    assert!(
        backend.seen().is_empty(),
        "preflights never reach the backend"
    );
    // Another origin: no CORS headers, so the browser refuses.
    let r = preflight("/items", "https://evil.example.com").await;
    assert_eq!(r.status, 204);
    assert_eq!(r.header("access-control-allow-origin"), None);

    // An answer: the gateway's CORS headers replace the backend's.
    let r = send(
        gw.addr,
        "GET",
        "/items",
        &[
            ("origin", ORIGIN),
            ("x-want-header", "access-control-allow-origin: *"),
        ],
        b"",
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("access-control-allow-origin"), Some(ORIGIN));
    assert_eq!(r.header("access-control-allow-credentials"), Some("true"));
    assert_eq!(r.header("access-control-expose-headers"), Some("x-version"));
    // Without an Origin, none (and the backend's is still dropped).
    let r = send(
        gw.addr,
        "GET",
        "/items",
        &[("x-want-header", "access-control-allow-origin: *")],
        b"",
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("access-control-allow-origin"), None);
    // The gateway's own errors get them too.
    let r = send(gw.addr, "GET", "/private", &[("origin", ORIGIN)], b"").await;
    assert_eq!(r.status, 401);
    assert_eq!(r.header("access-control-allow-origin"), Some(ORIGIN));
    // A plain OPTIONS (no preflight headers) is routed as usual: no OPTIONS route here.
    let r = send(gw.addr, "OPTIONS", "/items", &[("origin", ORIGIN)], b"").await;
    assert_eq!(r.status, 404);

    // An HTTP API's metrics have CloudWatch's HTTP API names: `4xx`, `5xx`, `DataProcessed`.
    let m = get(gw.admin_addr.unwrap(), "/metrics").await.text();
    let value = |name: &str| -> f64 {
        m.lines()
            .find(|l| l.starts_with(name) && l.contains(r#"api="HTTP CORS""#))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{name} in\n{m}"))
    };
    assert_eq!(value("apigateway_count_total"), 8.0);
    assert_eq!(value("apigateway_4xx_total"), 2.0, "the 401 and the 404");
    assert_eq!(value("apigateway_5xx_total"), 0.0);
    assert!(value("apigateway_data_processed_bytes_total") > 0.0);
    assert!(
        !m.contains("apigateway_4xx_error"),
        "REST's names are not used"
    );
    gw.shutdown().await.unwrap();
}
