//! Access logs in the stage's `accessLogSetting.format` (`specs/monitoring.yaml`): AWS's
//! CLF, JSON, XML and CSV examples, written to a file (`--access-log-file`), every field
//! checked against what the client saw; and no line lost when the gateway stops under load.
//! Execution logs (`loggingLevel`, `dataTraceEnabled`) are checked here too, with secrets
//! masked. The log destinations are process-wide, so this file holds one test.

mod common;

use common::{get, Backend, Reply};
use specgate_codegen_tests as gen;
use specgate_runtime::config::Config;
use specgate_runtime::server::spawn;

async fn serve_and_log(stage: &str, backend: &Backend) -> (Reply, Reply) {
    let mut config = Config::for_tests();
    config.quiet = false;
    config.stage = Some(stage.into());
    config.stage_vars = vec![("backend".into(), backend.addr.to_string())];
    let gw = spawn(gen::monitoring::Api, config).await.unwrap();
    let ok = get(gw.addr, "/pets").await;
    let missing = get(gw.addr, "/nowhere").await;
    gw.shutdown().await.unwrap();
    (ok, missing)
}

#[tokio::test]
async fn formats_render_every_field_and_nothing_is_lost_at_shutdown() {
    let dir = std::env::temp_dir().join(format!("specgate-access-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("access.log");
    let _ = std::fs::remove_file(&path);
    specgate_runtime::log::to_file(&path).unwrap();
    let exec_path = dir.join("execution.log");
    let _ = std::fs::remove_file(&exec_path);
    specgate_runtime::log::EXECUTION
        .to_file(&exec_path)
        .unwrap();
    let backend = Backend::start().await;
    let mut replies = Vec::new();
    for stage in ["prod", "json", "xml", "csv"] {
        replies.push(serve_and_log(stage, &backend).await);
    }
    // Execution logs (stage `prod`): INFO with bodies for `GET /pets`, ERROR elsewhere.
    let exec = {
        let mut config = Config::for_tests();
        config.quiet = false;
        config.stage = Some("prod".into());
        config.stage_vars = vec![("backend".into(), backend.addr.to_string())];
        let gw = spawn(gen::monitoring::Api, config).await.unwrap();
        let secret = [
            ("authorization", "Bearer secret-token-XYZ9"),
            ("x-api-key", "key-abcdef-1234"),
        ];
        let info = common::send(gw.addr, "GET", "/pets?limit=2", &secret, b"").await;
        let json = [("content-type", "application/json")];
        let invalid = common::send(gw.addr, "POST", "/pets", &json, b"{}").await;
        let valid = common::send(gw.addr, "POST", "/pets", &json, br#"{"name": "x"}"#).await;
        gw.shutdown().await.unwrap();
        (info, invalid, valid)
    };
    // The access-log lines of those three (stage `prod`, CLF).
    let exec_access_lines = 3;

    // Under load: 200 requests in flight when the gateway is told to stop.
    let mut config = Config::for_tests();
    config.quiet = false;
    config.stage = Some("csv".into());
    config.stage_vars = vec![("backend".into(), backend.addr.to_string())];
    let gw = spawn(gen::monitoring::Api, config).await.unwrap();
    let addr = gw.addr;
    let load: Vec<_> = (0..200)
        .map(|_| {
            tokio::spawn(async move {
                common::send(addr, "GET", "/pets", &[("x-want-delay-ms", "300")], b"").await
            })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    gw.shutdown().await.unwrap();
    let mut answered = 0;
    for l in load {
        if l.await.map(|r| r.status == 200).unwrap_or(false) {
            answered += 1;
        }
    }
    assert_eq!(specgate_runtime::log::finish(), 0, "no line dropped");

    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 8 + exec_access_lines + answered, "{text}");
    let id = |r: &Reply| r.request_id();
    let len = |r: &Reply| r.body.len().to_string();

    // CLF: `ip caller user [time] "method resource protocol" status length id extendedId`.
    let (ok, missing) = &replies[0];
    let f: Vec<&str> = lines[0].split(' ').collect();
    assert_eq!(&f[..3], ["127.0.0.1", "-", "-"], "{}", lines[0]);
    assert!(f[3].starts_with('[') && f[4].ends_with(']'), "{}", lines[0]);
    assert_eq!(&f[5..8], ["\"GET", "/pets", "HTTP/1.1\""]);
    assert_eq!(f[8], "200");
    assert_eq!(f[9], len(ok));
    assert_eq!(f[10], id(ok));
    assert_eq!(f.len(), 12, "{}", lines[0]);
    let f: Vec<&str> = lines[1].split(' ').collect();
    assert_eq!(
        &f[5..10],
        ["\"GET", "-", "HTTP/1.1\"", "403", &len(missing)]
    );
    assert_eq!(f[10], id(missing));

    // JSON: a JSON object, `-` where AWS has a value and specgate has none.
    let (ok, _) = &replies[1];
    let v: serde_json::Value = serde_json::from_str(lines[2]).unwrap();
    assert_eq!(v["requestId"], id(ok));
    assert_eq!(v["ip"], "127.0.0.1");
    assert_eq!(v["caller"], "-");
    assert_eq!(v["httpMethod"], "GET");
    assert_eq!(v["resourcePath"], "/pets");
    assert_eq!(v["status"], "200");
    assert_eq!(v["protocol"], "HTTP/1.1");
    assert_eq!(v["responseLength"], len(ok));
    assert!(
        v["integrationLatency"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .is_ok(),
        "{v}"
    );
    assert!(
        v["xrayTraceId"].as_str().unwrap().starts_with("Root=1-"),
        "{v}"
    );
    let v: serde_json::Value = serde_json::from_str(lines[3]).unwrap();
    assert_eq!(
        (v["status"].as_str(), v["integrationLatency"].as_str()),
        (Some("403"), Some("-"))
    );

    // XML.
    let (ok, _) = &replies[2];
    let x = lines[4];
    assert!(
        x.starts_with(&format!("<request id=\"{}\">", id(ok))),
        "{x}"
    );
    for part in [
        "<ip>127.0.0.1</ip>".to_string(),
        "<caller>-</caller>".into(),
        "<httpMethod>GET</httpMethod>".into(),
        "<resourcePath>/pets</resourcePath>".into(),
        "<status>200</status>".into(),
        format!("<responseLength>{}</responseLength>", len(ok)),
    ] {
        assert!(x.contains(&part), "{part} in {x}");
    }
    assert!(x.ends_with("</request>"), "{x}");

    // CSV.
    let (ok, _) = &replies[3];
    let f: Vec<&str> = lines[6].split(',').collect();
    assert_eq!(f.len(), 11, "{}", lines[6]);
    assert_eq!((f[0], f[1], f[2]), ("127.0.0.1", "-", "-"));
    assert_eq!(
        (f[4], f[5], f[6], f[7]),
        ("GET", "/pets", "HTTP/1.1", "200")
    );
    assert_eq!((f[8], f[9]), (len(ok).as_str(), id(ok).as_str()));
    // The lines written under load are CSV lines of answered requests.
    assert!(lines[8 + exec_access_lines..]
        .iter()
        .all(|l| l.split(',').nth(7) == Some("200")));

    let log = std::fs::read_to_string(&exec_path).unwrap();
    let (info, invalid, valid) = exec;
    let of = |r: &Reply| -> Vec<String> {
        let prefix = format!("({}) ", r.request_id());
        log.lines()
            .filter_map(|l| l.strip_prefix(&prefix).map(str::to_string))
            .collect()
    };
    let lines = of(&info);
    assert!(
        lines.contains(&"HTTP Method: GET, Resource Path: /pets".to_string()),
        "{lines:#?}"
    );
    assert!(
        lines.contains(&"Method request query string: {limit=2}".to_string()),
        "{lines:#?}"
    );
    let headers = lines
        .iter()
        .find(|l| l.starts_with("Method request headers: "))
        .unwrap();
    assert!(
        headers.contains("authorization=********************XYZ9"),
        "{headers}"
    );
    assert!(headers.contains("x-api-key=***********1234"), "{headers}");
    assert!(
        !log.contains("secret-token") && !log.contains("key-abcdef"),
        "secrets are masked"
    );
    let uri = format!("Endpoint request URI: http://{}/pets?limit=2", backend.addr);
    assert!(lines.contains(&uri), "{lines:#?}");
    assert!(lines
        .iter()
        .any(|l| l.starts_with("Received response. Status: 200, Integration latency: ")));
    // The endpoint's headers under the names it sent (the client gets them remapped).
    let sent = lines
        .iter()
        .find(|l| l.starts_with("Endpoint response headers: "))
        .unwrap();
    assert!(
        sent.contains("content-length=") && !sent.contains("x-amzn-remapped"),
        "{sent}"
    );
    let body = lines
        .iter()
        .find(|l| l.starts_with("Endpoint response body before transformations: "))
        .unwrap();
    assert!(body.contains("\"target\":\"/pets?limit=2\""), "{body}");
    assert!(lines.contains(&"Successfully completed execution".to_string()));
    assert!(
        lines
            .last()
            .unwrap()
            .starts_with("Method completed with status: 200"),
        "{lines:#?}"
    );
    // ERROR level: only what went wrong.
    let lines = of(&invalid);
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert!(
        lines[0].starts_with(
            "Request body does not match model schema for content type application/json: "
        ),
        "{lines:#?}"
    );
    assert_eq!(
        lines[1],
        "Gateway response type: BAD_REQUEST_BODY with status code: 400"
    );
    assert!(lines[2].starts_with("Method completed with status: 400"));
    assert!(
        of(&valid).is_empty(),
        "a success logs nothing at ERROR level"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
