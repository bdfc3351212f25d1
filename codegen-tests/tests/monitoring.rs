//! Monitoring over real sockets (`specs/monitoring.yaml`): `/metrics` with CloudWatch's
//! names whose counts match the requests sent (checked by `promtool check metrics` too),
//! `/healthz` and `/readyz` (503 while draining), X-Ray trace ids passed to the backend and
//! to a Lambda function, and each AWS access-log example format rendered field by field.

mod common;
mod lambda_support;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{get, send, Backend};
use specgate_codegen_tests as gen;
use specgate_runtime::config::Config;
use specgate_runtime::server::{spawn, Handle};

async fn start(stage: &str, backend: &Backend, configure: impl FnOnce(&mut Config)) -> Handle {
    let mut config = Config::for_tests();
    config.stage = Some(stage.into());
    config.stage_vars = vec![("backend".into(), backend.addr.to_string())];
    config.admin_listen = Some("127.0.0.1:0".parse().unwrap());
    configure(&mut config);
    spawn(gen::monitoring::Api, config).await.unwrap()
}

/// The value of the one sample of `metric` whose labels include every `labels` pair.
fn sample(text: &str, metric: &str, labels: &[(&str, &str)]) -> f64 {
    let found: Vec<f64> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (name_labels, value) = l.rsplit_once(' ')?;
            let (name, rest) = name_labels.split_once('{').unwrap_or((name_labels, "}"));
            if name != metric {
                return None;
            }
            let all = labels
                .iter()
                .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")));
            all.then(|| value.parse().ok()).flatten()
        })
        .collect();
    assert_eq!(found.len(), 1, "{metric} {labels:?} in\n{text}");
    found[0]
}

/// Debian's prometheus package provides promtool; installed when missing.
fn promtool() -> &'static str {
    common::apt_install("promtool", "prometheus");
    "promtool"
}

#[tokio::test]
async fn metrics_count_what_was_served_and_pass_promtool() {
    let backend = Backend::start().await;
    let gw = start("prod", &backend, |_| {}).await;
    let admin = gw.admin_addr.expect("admin listener");
    for _ in 0..3 {
        assert_eq!(get(gw.addr, "/pets").await.status, 200);
    }
    assert_eq!(get(gw.addr, "/nowhere").await.status, 403);
    assert_eq!(get(gw.addr, "/nowhere/else").await.status, 403);
    let bad = send(
        gw.addr,
        "POST",
        "/pets",
        &[("content-type", "application/json")],
        b"{}",
    )
    .await;
    assert_eq!(bad.status, 400);
    assert_eq!(get(gw.addr, "/fail").await.status, 500);

    let m = get(admin, "/metrics").await;
    assert_eq!(m.status, 200);
    assert_eq!(
        m.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let text = m.text();
    let pets = [
        ("api", "Monitoring"),
        ("stage", "prod"),
        ("resource", "/pets"),
        ("method", "GET"),
    ];
    // `GET /pets` has detailed metrics; everything else counts under the API.
    let api = [
        ("api", "Monitoring"),
        ("stage", "prod"),
        ("resource", ""),
        ("method", ""),
    ];
    assert_eq!(sample(&text, "apigateway_count_total", &pets), 3.0);
    assert_eq!(sample(&text, "apigateway_count_total", &api), 4.0);
    assert_eq!(sample(&text, "apigateway_4xx_error_total", &api), 3.0);
    assert_eq!(sample(&text, "apigateway_5xx_error_total", &api), 1.0);
    assert_eq!(sample(&text, "apigateway_4xx_error_total", &pets), 0.0);
    assert_eq!(
        sample(&text, "apigateway_latency_seconds_count", &pets),
        3.0
    );
    assert_eq!(sample(&text, "apigateway_latency_seconds_count", &api), 4.0);
    // Only the proxied requests called an integration.
    assert_eq!(
        sample(&text, "apigateway_integration_latency_seconds_count", &pets),
        3.0
    );
    assert_eq!(
        sample(&text, "apigateway_integration_latency_seconds_count", &api),
        0.0
    );
    assert!(sample(&text, "specgate_connections_open", &[]) >= 0.0);
    // Process-wide (other tests of this binary run beside this one): present, not exact.
    assert!(sample(&text, "specgate_upstream_requests_in_flight", &[]) >= 0.0);
    assert!(sample(&text, "specgate_upstream_timeouts_total", &[]) >= 0.0);
    assert_eq!(sample(&text, "specgate_panics_total", &[]), 0.0);

    // promtool reads it as Prometheus does.
    let tool = promtool();
    let mut child = Command::new(tool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // The example Grafana dashboard asks for metrics that exist (REST names here; the HTTP
    // API's `4xx`/`5xx` stand beside them with `or`).
    let dashboard = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../examples/monitoring/grafana-dashboard.json"),
    )
    .unwrap();
    let names =
        specgate_runtime::prelude::Regex::new(r"\b(?:apigateway|specgate)_[a-z0-9_]+").unwrap();
    for m in names.find_iter(&dashboard) {
        let name = m.as_str();
        if name == "apigateway_4xx_total" || name == "apigateway_5xx_total" {
            continue;
        }
        // A family without samples yet shows only its `# TYPE` line (without `_total`).
        let family = ["_total", "_bucket", "_count", "_sum"]
            .iter()
            .find_map(|s| name.strip_suffix(s))
            .unwrap_or(name);
        assert!(
            text.lines().any(|l| l.starts_with(name))
                || text.contains(&format!("# TYPE {family} ")),
            "the dashboard's {name} is not in /metrics"
        );
    }

    // OpenMetrics when the scraper asks for it.
    let om = send(
        admin,
        "GET",
        "/metrics",
        &[("accept", "application/openmetrics-text;version=1.0.0")],
        b"",
    )
    .await;
    assert!(om
        .header("content-type")
        .unwrap()
        .starts_with("application/openmetrics-text"));
    assert!(om.text().ends_with("# EOF\n"), "{}", om.text());
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn health_and_readiness_while_draining() {
    let backend = Backend::start().await;
    let gw = start("prod", &backend, |c| c.drain_seconds = 10).await;
    let admin = gw.admin_addr.unwrap();
    let r = get(admin, "/healthz").await;
    assert_eq!((r.status, r.text().as_str()), (200, "ok\n"));
    let r = get(admin, "/readyz").await;
    assert_eq!((r.status, r.text().as_str()), (200, "ready\n"));
    // A slow request in flight keeps the gateway draining after shutdown begins.
    let addr = gw.addr;
    let slow = tokio::spawn(async move {
        send(addr, "GET", "/pets", &[("x-want-delay-ms", "1500")], b"").await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let stopping = tokio::spawn(gw.shutdown());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let r = get(admin, "/readyz").await;
    assert_eq!((r.status, r.text().as_str()), (503, "draining\n"));
    assert_eq!(get(admin, "/healthz").await.status, 200);
    assert_eq!(
        slow.await.unwrap().status,
        200,
        "the in-flight request finished"
    );
    stopping.await.unwrap().unwrap();
}

#[tokio::test]
async fn trace_ids_reach_the_backend() {
    let backend = Backend::start().await;
    let gw = start("prod", &backend, |_| {}).await;
    // The client's trace header is passed on as it is.
    let given = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
    assert_eq!(
        send(gw.addr, "GET", "/pets", &[("x-amzn-trace-id", given)], b"")
            .await
            .status,
        200
    );
    // Without one, the gateway starts one: `Root=1-{8 hex}-{24 hex}`.
    assert_eq!(get(gw.addr, "/pets").await.status, 200);
    let seen = backend.seen();
    assert_eq!(seen[0].header("x-amzn-trace-id"), Some(given));
    let started = seen[1].header("x-amzn-trace-id").expect("a trace header");
    let parts: Vec<&str> = started
        .strip_prefix("Root=1-")
        .unwrap()
        .split('-')
        .collect();
    assert_eq!(parts.len(), 2, "{started}");
    assert_eq!(parts[0].len(), 8);
    assert_eq!(parts[1].len(), 24);
    assert!(
        parts
            .iter()
            .all(|p| p.bytes().all(|b| b.is_ascii_hexdigit())),
        "{started}"
    );
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn trace_ids_reach_a_lambda_function() {
    let gw = lambda_support::start(gen::lambda::Api, |c| {
        c.admin_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    let given = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";
    let r = send(
        gw.addr,
        "GET",
        "/echo/trace",
        &[("x-amzn-trace-id", given)],
        b"",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), given);
    // The local function's process shows in the metrics.
    let m = get(gw.admin_addr.unwrap(), "/metrics").await.text();
    let running = [("function", "echo"), ("state", "running")];
    assert_eq!(
        sample(&m, "specgate_lambda_processes", &running),
        1.0,
        "{m}"
    );
    gw.shutdown().await.unwrap();
}
