//! The stage cache (`specs/cache.yaml`) over real sockets, against a backend that counts
//! what reaches it.

mod common;

use std::time::Duration;

use common::{gateway, send, Backend, Reply};
use specgate_codegen_tests as gen;

async fn start(stage: &str) -> (Backend, specgate_runtime::server::Handle) {
    let backend = Backend::start().await;
    let gw = gateway(
        gen::cache::Api,
        Some(stage),
        &[("backend", backend.addr.to_string())],
    )
    .await;
    (backend, gw)
}

async fn get(gw: &specgate_runtime::server::Handle, path: &str, headers: &[(&str, &str)]) -> Reply {
    send(gw.addr, "GET", path, headers, b"").await
}

#[tokio::test]
async fn hits_misses_key_parameters_and_ttl() {
    let (backend, gw) = start("prod").await;
    let first = get(&gw, "/items?type=a&dept=x", &[]).await;
    assert_eq!(first.status, 200, "{}", first.text());
    assert_eq!(backend.seen().len(), 1);
    // `dept` is not a cache key parameter: the same entry answers.
    let again = get(&gw, "/items?type=a&dept=y", &[]).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body, first.body, "a hit answers the cached body");
    assert_eq!(backend.seen().len(), 1);
    // `type` is one: another entry.
    assert_eq!(get(&gw, "/items?type=b", &[]).await.status, 200);
    assert_eq!(backend.seen().len(), 2);
    // A route the settings exclude is never cached.
    get(&gw, "/nocache", &[]).await;
    get(&gw, "/nocache", &[]).await;
    assert_eq!(backend.seen().len(), 4);
    // The TTL is 2 s.
    tokio::time::sleep(Duration::from_millis(2200)).await;
    get(&gw, "/items?type=a", &[]).await;
    assert_eq!(backend.seen().len(), 5);
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn errors_are_not_cached_and_uncached_stages_cache_nothing() {
    let (backend, gw) = start("prod").await;
    let r = get(&gw, "/items?type=e", &[("x-want-status", "500")]).await;
    assert_eq!(r.status, 500);
    let r = get(&gw, "/items?type=e", &[]).await;
    assert_eq!(r.status, 200);
    assert_eq!(backend.seen().len(), 2, "the 500 was cached");
    gw.shutdown().await.unwrap();

    let (backend, gw) = start("plain").await;
    get(&gw, "/items?type=a", &[]).await;
    get(&gw, "/items?type=a", &[]).await;
    assert_eq!(backend.seen().len(), 2);
    gw.shutdown().await.unwrap();
}

#[tokio::test]
async fn cache_control_max_age_0_by_strategy() {
    let (backend, gw) = start("prod").await;
    let refresh = [("cache-control", "max-age=0")];
    // Default: authorisation required, the caller is not authorised (no IAM yet), so the
    // cached answer comes with a Warning.
    get(&gw, "/items?type=w", &[]).await;
    let r = get(&gw, "/items?type=w", &refresh).await;
    assert_eq!(r.status, 200);
    assert!(
        r.header("warning").is_some_and(|w| w.contains("ignored")),
        "{:?}",
        r.headers
    );
    assert_eq!(backend.seen().len(), 1);
    // FAIL_WITH_403.
    get(&gw, "/strict", &[]).await;
    let r = get(&gw, "/strict", &refresh).await;
    assert_eq!(r.status, 403, "{}", r.text());
    // No authorisation required: the entry is fetched again.
    get(&gw, "/open", &[]).await;
    get(&gw, "/open", &[]).await;
    let before = backend.seen().len();
    let r = get(&gw, "/open", &refresh).await;
    assert_eq!(r.status, 200);
    assert!(r.header("warning").is_none());
    assert_eq!(backend.seen().len(), before + 1);
    gw.shutdown().await.unwrap();
}
