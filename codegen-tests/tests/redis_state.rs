//! Two replicas of one gateway sharing a real `redis-server` (`--state redis://…`), started
//! here on a free loopback port: keys, quotas, throttles, the stage cache and IAM principals
//! hold across both, and a Redis
//! that stops and comes back behaves as documented (requests pass uncounted while it is
//! down with `--state-failure open`, are refused with `closed`; counting resumes after).

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{send, Reply};
use specgate_codegen_tests as gen;
use specgate_runtime::config::{Config, StateFailure};
use specgate_runtime::keys::KeyStore;
use specgate_runtime::redis_state::RedisStore;
use specgate_runtime::server::{spawn, Handle};

struct Redis {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Redis {
    /// `redis-server` on `port` (a free one when 0), keeping its data in `dir` (append-only
    /// file), so that a restart keeps what was written.
    fn start(port: u16, dir: &Path) -> Redis {
        let port = if port == 0 {
            std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port()
        } else {
            port
        };
        common::apt_install("redis-server", "redis-server");
        std::fs::create_dir_all(dir).unwrap();
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args([
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ])
            .arg("--dir")
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (Debian's redis-server package; .ci/run installs it)");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Redis {
            child,
            port,
            dir: dir.to_path_buf(),
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn replica(url: &str, tune: impl FnOnce(&mut Config)) -> Handle {
    let mut config = Config::for_tests();
    config.stage = Some("prod".into());
    config.state = Some(url.to_string());
    tune(&mut config);
    spawn(gen::usage_plans::Api, config).await.unwrap()
}

async fn get(addr: SocketAddr, path: &str, key: Option<&str>) -> Reply {
    let headers: Vec<(&str, &str)> = key.map(|k| ("x-api-key", k)).into_iter().collect();
    send(addr, "GET", path, &headers, b"").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_share_keys_quotas_and_throttles() {
    let dir = std::env::temp_dir().join(format!("sg-redis-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut redis = Redis::start(0, &dir);
    let url = redis.url();
    let store = RedisStore::connect(&url, "Usage Plans").unwrap();
    let (_, gold) = store.create("gold-key", "gold", None).unwrap();
    let a = replica(&url, |_| {}).await;
    let b = replica(&url, |_| {}).await;

    // Keys: unknown everywhere, known everywhere.
    assert_eq!(
        get(a.addr, "/keyed", Some("nobody-has-this-key-here"))
            .await
            .status,
        403
    );
    // gold's quota is 5 a day, counted across both replicas.
    for i in 0..5 {
        let gw = if i % 2 == 0 { a.addr } else { b.addr };
        let r = get(gw, "/keyed", Some(&gold)).await;
        assert_eq!(r.status, 200, "request {i}: {}", r.text());
    }
    for gw in [a.addr, b.addr] {
        let r = get(gw, "/keyed", Some(&gold)).await;
        assert_eq!(r.status, 429);
        assert_eq!(r.json(), serde_json::json!({"message": "Limit Exceeded"}));
    }
    // A key created while the replicas run reaches both.
    let (_, silver) = store.create("silver-key", "silver", None).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while get(b.addr, "/open", None).await.status == 200
        && get(b.addr, "/keyed", Some(&silver)).await.status != 200
    {
        assert!(
            Instant::now() < deadline,
            "the new key never reached replica b"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();

    // The account throttle (20 rps, burst 1) over both replicas: what passes is what one
    // bucket allows, within 5 %.
    let limited = |c: &mut Config| {
        c.account_rate_limit = 20.0;
        c.account_burst_limit = 1;
    };
    let a = replica(&url, limited).await;
    let b = replica(&url, limited).await;
    let started = Instant::now();
    let mut admitted = 0u32;
    while started.elapsed() < Duration::from_secs(3) {
        let (ra, rb) = tokio::join!(get(a.addr, "/open", None), get(b.addr, "/open", None));
        admitted += u32::from(ra.status == 200) + u32::from(rb.status == 200);
    }
    let expected = 1.0 + 20.0 * started.elapsed().as_secs_f64();
    let ratio = f64::from(admitted) / expected;
    assert!(
        (0.95..=1.05).contains(&ratio),
        "{admitted} admitted over both replicas, {expected:.0} expected"
    );

    // Redis stops: requests pass uncounted (open), or are refused (closed), and the
    // replicas say they are not ready.
    let closed = replica(&url, |c| {
        c.state_failure = StateFailure::Closed;
        c.admin_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    let admin = closed.admin_addr.unwrap();
    assert_eq!(get(admin, "/readyz", None).await.status, 200);
    redis.stop();
    let r = get(admin, "/readyz", None).await;
    assert_eq!(r.status, 503);
    assert!(
        r.text().starts_with("state store unreachable"),
        "{}",
        r.text()
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let r = get(a.addr, "/keyed", Some(&silver)).await;
    assert_eq!(r.status, 200, "fail open: {}", r.text());
    let r = get(closed.addr, "/keyed", Some(&silver)).await;
    assert_eq!(r.status, 500, "fail closed: {}", r.text());
    assert_eq!(
        r.json(),
        serde_json::json!({"message": "Internal server error"})
    );
    // It comes back (same port, same data): counting resumes.
    let redis = Redis::start(redis.port, &redis.dir.clone());
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let r = get(closed.addr, "/open", None).await;
        if r.status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "no reconnection: {}", r.text());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // gold's quota is still used up (the count survived Redis's restart).
    assert_eq!(get(closed.addr, "/keyed", Some(&gold)).await.status, 429);
    for gw in [a, b, closed] {
        gw.shutdown().await.unwrap();
    }
    drop(redis);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_share_the_stage_cache() {
    let dir = std::env::temp_dir().join(format!("sg-redis-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let redis = Redis::start(0, &dir);
    let backend = common::Backend::start().await;
    let start = || async {
        let mut config = Config::for_tests();
        config.stage = Some("prod".into());
        config.state = Some(redis.url());
        config.stage_vars = vec![("backend".into(), backend.addr.to_string())];
        spawn(gen::cache::Api, config).await.unwrap()
    };
    let (a, b) = (start().await, start().await);
    let first = get(a.addr, "/items?type=shared", None).await;
    assert_eq!(first.status, 200, "{}", first.text());
    assert_eq!(backend.seen().len(), 1);
    // The other replica answers from the entry the first one stored.
    let second = get(b.addr, "/items?type=shared", None).await;
    assert_eq!(second.status, 200);
    assert_eq!(second.body, first.body);
    assert_eq!(backend.seen().len(), 1);
    // Another key misses on both.
    get(b.addr, "/items?type=other", None).await;
    assert_eq!(backend.seen().len(), 2);
    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
    drop(redis);
    let _ = std::fs::remove_dir_all(&dir);
}

/// IAM principals kept in Redis: added once with the operator command, both replicas verify
/// the caller's signature (they share the secrets key file), and a deletion reaches both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_share_iam_principals() {
    let dir = std::env::temp_dir().join(format!("specgate-redis-iam-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let redis = Redis::start(0, &dir.join("redis"));
    let key_file = dir.join("secrets.key");
    let store = RedisStore::connect(&redis.url(), "IAM").unwrap();
    let policy = dir.join("policy.json");
    std::fs::write(
        &policy,
        r#"{"Statement": [{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"}]}"#,
    )
    .unwrap();
    let out = specgate_runtime::cli::principals(
        &specgate_runtime::cli::Principals::Add {
            arn: "arn:aws:iam::000000000000:user/shared".into(),
            access_key_id: None,
            secret_access_key: None,
            policy: Some(policy),
            expires_in: None,
        },
        &store,
        &key_file,
    )
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let keys = (
        v["accessKeyId"].as_str().unwrap().to_string(),
        v["secretAccessKey"].as_str().unwrap().to_string(),
    );
    // The record in Redis holds no secret in the clear.
    assert!(!store
        .principals()
        .unwrap()
        .iter()
        .any(|p| p.sealed_secret.contains(&keys.1)));
    let mut replicas = Vec::new();
    for i in 0..2 {
        let mut config = Config::for_tests();
        config.stage = Some("test".into());
        config.state = Some(redis.url());
        config.state_dir = dir.join(format!("replica-{i}"));
        config.secrets_key_file = Some(key_file.clone());
        replicas.push(spawn(gen::iam::Api, config).await.unwrap());
    }
    for gw in &replicas {
        let r = common::signed_post(gw.addr, "/orders", b"{}", &keys).await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.json()["arn"], "arn:aws:iam::000000000000:user/shared");
    }
    assert!(store
        .delete_principal("arn:aws:iam::000000000000:user/shared")
        .unwrap());
    for gw in &replicas {
        assert!(
            common::refused_soon(gw.addr, "/orders", b"{}", &keys).await,
            "a deleted principal still works on a replica"
        );
    }
    for gw in replicas {
        gw.shutdown().await.unwrap();
    }
}
