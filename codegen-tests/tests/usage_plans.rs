//! API keys, usage plans, throttles and quotas (`specs/usage-plans.yaml`) over real sockets,
//! with keys in a real state database (SQLite in a temporary state directory).

mod common;

use std::path::PathBuf;

use common::{send, Reply};
use serde_json::json;
use specgate_codegen_tests as gen;
use specgate_runtime::config::Config;
use specgate_runtime::keys::Store;
use specgate_runtime::server::{spawn, Handle};

fn state_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sg-usage-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

async fn gateway(dir: &std::path::Path, stage: &str, tune: impl FnOnce(&mut Config)) -> Handle {
    let mut config = Config::for_tests();
    config.stage = Some(stage.into());
    config.state_dir = dir.to_path_buf();
    tune(&mut config);
    spawn(gen::usage_plans::Api, config).await.unwrap()
}

async fn get(gw: &Handle, path: &str, key: Option<&str>) -> Reply {
    let headers: Vec<(&str, &str)> = key.map(|k| ("x-api-key", k)).into_iter().collect();
    send(gw.addr, "GET", path, &headers, b"").await
}

fn assert_refused(r: &Reply, status: u16, message: &str) {
    assert_eq!(r.status, status, "{}", r.text());
    assert_eq!(r.json(), json!({ "message": message }));
}

/// Asks until the answer has `status` (the gateway's watcher sees keys changed through
/// another connection within about 100 ms; a loaded machine may take longer), at most 10 s.
async fn until(gw: &Handle, path: &str, key: &str, status: u16) -> Reply {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let r = get(gw, path, Some(key)).await;
        if r.status == status || std::time::Instant::now() > deadline {
            return r;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn keys_are_required_checked_and_identified() {
    let dir = state_dir("keys");
    let gw = gateway(&dir, "prod", |_| {}).await;
    let store = Store::open(&dir).unwrap();
    let (gold, gold_value) = store.create("alice", "gold", None).unwrap();
    let (_, dev_value) = store.create("dev", "devonly", None).unwrap();
    // The gateway started before the keys existed: it sees them.
    let ok = until(&gw, "/keyed", &gold_value, 200).await;
    assert_eq!(ok.status, 200, "{}", ok.text());

    assert_eq!(get(&gw, "/open", None).await.status, 200);
    assert_refused(&get(&gw, "/keyed", None).await, 403, "Forbidden");
    let forbidden = get(&gw, "/keyed", Some("not-a-key-of-this-gateway-at-all")).await;
    assert_refused(&forbidden, 403, "Forbidden");
    assert_eq!(
        forbidden.header("x-amzn-errortype"),
        Some("ForbiddenException")
    );
    // A key whose plan does not cover this stage.
    assert_refused(
        &get(&gw, "/keyed", Some(&dev_value)).await,
        403,
        "Forbidden",
    );
    let ok = get(&gw, "/keyed", Some(&gold_value)).await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert_eq!(ok.json(), json!({"apiKeyId": gold.id}));

    // Disabled, then enabled again, through the database the CLI uses.
    store.set_enabled("alice", false).unwrap();
    assert_refused(
        &until(&gw, "/keyed", &gold_value, 403).await,
        403,
        "Forbidden",
    );
    store.set_enabled("alice", true).unwrap();
    assert_eq!(until(&gw, "/keyed", &gold_value, 200).await.status, 200);
    gw.shutdown().await.unwrap();

    // The same key on the stage its plan does not cover, and the dev key on dev.
    let dev = gateway(&dir, "dev", |_| {}).await;
    assert_refused(
        &get(&dev, "/keyed", Some(&gold_value)).await,
        403,
        "Forbidden",
    );
    assert_eq!(get(&dev, "/keyed", Some(&dev_value)).await.status, 200);
    dev.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn quotas_are_exact_and_survive_a_restart() {
    let dir = state_dir("quota");
    let store = Store::open(&dir).unwrap();
    let (_, value) = store.create("q", "gold", None).unwrap();
    let gw = gateway(&dir, "prod", |_| {}).await;
    for i in 0..3 {
        let r = get(&gw, "/keyed", Some(&value)).await;
        assert_eq!(r.status, 200, "request {i}: {}", r.text());
    }
    gw.shutdown().await.unwrap();

    // A new process: the 3 requests were kept; 2 remain of the 5.
    let gw = gateway(&dir, "prod", |_| {}).await;
    for i in 3..5 {
        let r = get(&gw, "/keyed", Some(&value)).await;
        assert_eq!(r.status, 200, "request {i}: {}", r.text());
    }
    let over = get(&gw, "/keyed", Some(&value)).await;
    assert_refused(&over, 429, "Limit Exceeded");
    assert_eq!(
        over.header("x-amzn-errortype"),
        Some("LimitExceededException")
    );
    gw.shutdown().await.unwrap();
    let id = store.find("q").unwrap().unwrap().id;
    let today = specgate_runtime::usage::today();
    assert_eq!(store.usage(&id, today, today).unwrap(), vec![(today, 5)]);
    // `./gateway usage --plan gold`: AWS's get-usage shape, [used, remaining] per day.
    use specgate_runtime::cli::{execute, Command};
    let info = specgate_runtime::Gateway::info(&gen::usage_plans::Api);
    let day = specgate_runtime::usage::format_day(today);
    let out = execute(
        &Command::Usage {
            plan: "gold".into(),
            key: Some("q".into()),
            from: Some(day.clone()),
            to: Some(day.clone()),
        },
        &store,
        info,
    )
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v,
        json!({"usagePlanId": "gold", "startDate": day, "endDate": day, "items": {id.clone(): [[5, 0]]}})
    );
    let bad = Command::Usage {
        plan: "platinum".into(),
        key: None,
        from: None,
        to: None,
    };
    assert!(execute(&bad, &store, info)
        .unwrap_err()
        .contains("no usage plan `platinum`"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn throttles_per_key_per_method_stage_and_account() {
    let dir = state_dir("throttle");
    let store = Store::open(&dir).unwrap();
    let (_, silver) = store.create("s", "silver", None).unwrap();
    let (_, gold) = store.create("g", "gold", None).unwrap();
    let gw = gateway(&dir, "prod", |_| {}).await;
    // silver: burst 2 at 1 rps.
    assert_eq!(get(&gw, "/keyed", Some(&silver)).await.status, 200);
    assert_eq!(get(&gw, "/keyed", Some(&silver)).await.status, 200);
    let r = get(&gw, "/keyed", Some(&silver)).await;
    assert_refused(&r, 429, "Too Many Requests");
    assert_eq!(
        r.header("x-amzn-errortype"),
        Some("TooManyRequestsException")
    );
    // gold's override on /slow: burst 2 (its plan throttle is 100).
    assert_eq!(get(&gw, "/slow", Some(&gold)).await.status, 200);
    assert_eq!(get(&gw, "/slow", Some(&gold)).await.status, 200);
    assert_refused(
        &get(&gw, "/slow", Some(&gold)).await,
        429,
        "Too Many Requests",
    );
    // The stage's methodSettings on /limited: burst 3, no key.
    for _ in 0..3 {
        assert_eq!(get(&gw, "/limited", None).await.status, 200);
    }
    assert_refused(&get(&gw, "/limited", None).await, 429, "Too Many Requests");
    // Other routes are not limited by it.
    assert_eq!(get(&gw, "/open", None).await.status, 200);
    // The bucket refills at the rate (1 per second).
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(get(&gw, "/limited", None).await.status, 200);
    gw.shutdown().await.unwrap();

    // The account throttle covers every route.
    let gw = gateway(&dir, "prod", |c| {
        c.account_rate_limit = 1.0;
        c.account_burst_limit = 2;
    })
    .await;
    assert_eq!(get(&gw, "/open", None).await.status, 200);
    assert_eq!(get(&gw, "/limited", None).await.status, 200);
    assert_refused(&get(&gw, "/open", None).await, 429, "Too Many Requests");
    gw.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn keys_imported_from_aws_csv_work() {
    use specgate_runtime::cli::{run, Command, Keys};
    let dir = state_dir("import");
    let csv = dir.with_extension("csv");
    std::fs::write(
        &csv,
        "Name,Key,Description,Enabled,UsagePlanIds\n\
         imported,abcdefghijklmnopqrstuvwxyz012345,\"from AWS, exported\",true,silver\n\
         off,zyxwvutsrqponmlkjihgfedcba543210,,false,silver\n",
    )
    .unwrap();
    let info = specgate_runtime::Gateway::info(&gen::usage_plans::Api);
    let key = dir.join("secrets.key");
    let status = run(
        &Command::Keys(Keys::Import { file: csv.clone() }),
        None,
        &dir,
        &key,
        info,
    );
    assert_eq!(status, std::process::ExitCode::SUCCESS);
    // An unknown plan refuses the whole file.
    std::fs::write(
        &csv,
        "Key,UsagePlanIds\nqqqqqqqqqqqqqqqqqqqqqqqq,platinum\n",
    )
    .unwrap();
    let status = run(
        &Command::Keys(Keys::Import { file: csv.clone() }),
        None,
        &dir,
        &key,
        info,
    );
    assert_eq!(status, std::process::ExitCode::from(1));
    let gw = gateway(&dir, "prod", |_| {}).await;
    let ok = get(&gw, "/keyed", Some("abcdefghijklmnopqrstuvwxyz012345")).await;
    assert_eq!(ok.status, 200, "{}", ok.text());
    let off = get(&gw, "/keyed", Some("zyxwvutsrqponmlkjihgfedcba543210")).await;
    assert_refused(&off, 403, "Forbidden");
    assert_refused(
        &get(&gw, "/keyed", Some("qqqqqqqqqqqqqqqqqqqqqqqq")).await,
        403,
        "Forbidden",
    );
    gw.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(&csv);
}

#[tokio::test]
async fn http_api_route_settings_throttle() {
    let backend = common::Backend::start().await;
    let gw = common::gateway(
        gen::http_throttle::Api,
        None,
        &[("backend", backend.addr.to_string())],
    )
    .await;
    assert_eq!(get(&gw, "/limited", None).await.status, 200);
    assert_eq!(get(&gw, "/limited", None).await.status, 200);
    assert_refused(&get(&gw, "/limited", None).await, 429, "Too Many Requests");
    assert_eq!(get(&gw, "/other", None).await.status, 200);
    gw.shutdown().await.unwrap();
}
