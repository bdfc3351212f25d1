//! The stage cache (`cacheClusterEnabled`, `methodSettings` caching, integration
//! `cacheKeyParameters` and `cacheNamespace`), in API Gateway's terms:
//!
//! - A method is cached when its stage has the cache on and its method setting (`/pets/GET`,
//!   then `/pets/*`, then `*/*`) says `cachingEnabled`; GET methods are cached by default.
//!   TTL `cacheTtlInSeconds`, 300 by default, 0 turns caching off.
//! - The key is the method, the request path (with its path parameters), the values of the
//!   integration's `cacheKeyParameters`, and its `cacheNamespace`: query strings and headers
//!   not listed are ignored (`?type=admin&department=A` serves `?type=admin&department=B`).
//! - Responses over 1,048,576 bytes are not cached, nor responses other than 2xx (API
//!   Gateway's exact rule for error statuses is unverified; caching them would serve a
//!   backend's passing failure for the whole TTL).
//! - `Cache-Control: max-age=0` asks for a fresh answer. With
//!   `requireAuthorizationForCacheControl` (the default) the caller must be allowed
//!   `execute-api:InvalidateCache`: an IAM caller whose policies allow it (checked by
//!   `iam::check`); for anyone else `unauthorizedCacheControlHeaderStrategy` decides: 403,
//!   or served as usual with (the default) or without a `Warning` header. An allowed
//!   caller's entry (or anyone's, without the requirement) is fetched again and replaced.
//!
//! The cache is held in this process (moka, bounded by `cacheClusterSize`, entries weighed
//! by their size) and shared by its workers; with `--state redis://…` it is held in Redis
//! instead (entries expire there with their TTL) and shared by every replica, and an
//! unreachable Redis is a miss. Hits and misses are counted and reach the
//! access log (`cacheStatus`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::HeaderMap;
use http_body_util::BodyExt;

use crate::context::Context;
use crate::response_type::ResponseType;
use crate::template::Source;
use crate::Response;

/// The client asks for a fresh answer (`Cache-Control: max-age=0`).
pub fn asks_refresh(cx: &Context) -> bool {
    cx.header("cache-control").is_some_and(|v| {
        v.split(',')
            .any(|d| d.trim().eq_ignore_ascii_case("max-age=0"))
    })
}

/// API Gateway's largest cached response.
pub const MAX_ENTRY: usize = 1_048_576;

/// `unauthorizedCacheControlHeaderStrategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unauthorized {
    /// 403.
    FailWith403,
    /// Served as usual, with a `Warning` header.
    SucceedWithResponseHeader,
    /// Served as usual.
    SucceedWithoutResponseHeader,
}

/// The caching fields of one `methodSettings` entry (unset: inherited or the default).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Setting {
    /// `cachingEnabled`.
    pub enabled: Option<bool>,
    /// `cacheTtlInSeconds`.
    pub ttl: Option<u32>,
    /// `requireAuthorizationForCacheControl`.
    pub require_authorization: Option<bool>,
    /// `unauthorizedCacheControlHeaderStrategy`.
    pub unauthorized: Option<Unauthorized>,
}

/// A stage's cache (generated).
#[derive(Debug)]
pub struct CacheInfo {
    /// `cacheClusterSize`, in MB.
    pub size_mb: u64,
    /// `methodSettings` caching: `*/*`, `/pets/*` or `/pets/GET` → setting.
    pub methods: &'static [(&'static str, Setting)],
}

/// What a route adds to its cache key (generated from its integration).
#[derive(Debug)]
pub struct KeyParts {
    /// `cacheKeyParameters`, as mapping sources.
    pub parameters: &'static [(&'static str, Source)],
    /// `cacheNamespace`.
    pub namespace: &'static str,
}

#[derive(Clone)]
struct Entry {
    status: u16,
    headers: HeaderMap,
    body: Bytes,
    ttl: Duration,
}

struct Ttl;

impl moka::Expiry<String, Arc<Entry>> for Ttl {
    fn expire_after_create(
        &self,
        _key: &String,
        value: &Arc<Entry>,
        _created_at: std::time::Instant,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

/// A miss to fill: the key and for how long.
pub struct Ticket {
    key: String,
    ttl: Duration,
    warning: bool,
}

/// What the cache says about a request.
pub enum Lookup {
    /// Not cached here.
    Off,
    /// The cached answer.
    Hit(Response),
    /// Refused (`FAIL_WITH_403`).
    Refused(ResponseType),
    /// Not in the cache: call the integration, then [`StageCache::store`].
    Miss(Ticket),
}

/// What a handler does after asking the cache.
pub enum Step {
    /// Call the integration; nothing to store.
    Off,
    /// Answer with this (a hit, or a refusal).
    Answer(Response),
    /// Call the integration and store its answer ([`crate::Runtime::cache_store`]).
    Miss(Ticket),
}

/// Where entries are kept when several replicas share them (`--state redis://…`).
pub struct Shared {
    /// The Redis client (each worker keeps its own connection).
    pub client: redis::Client,
    /// The API's key prefix.
    pub prefix: String,
}

/// The cache of the stage being served.
pub struct StageCache {
    info: &'static CacheInfo,
    entries: moka::sync::Cache<String, Arc<Entry>>,
    shared: Option<Shared>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl StageCache {
    /// The cache for `info` (`None` when the stage has no cache cluster).
    pub fn new(info: Option<&'static CacheInfo>, shared: Option<Shared>) -> Option<StageCache> {
        let info = info?;
        let entries = moka::sync::Cache::builder()
            .max_capacity(info.size_mb.saturating_mul(1 << 20))
            .weigher(|k: &String, v: &Arc<Entry>| {
                let headers: usize = v
                    .headers
                    .iter()
                    .map(|(n, v)| n.as_str().len() + v.len())
                    .sum();
                u32::try_from(k.len() + headers + v.body.len() + 64).unwrap_or(u32::MAX)
            })
            .expire_after(Ttl)
            .build();
        Some(StageCache {
            info,
            entries,
            shared,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        })
    }

    /// Requests answered from the cache, and requests that missed it.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }

    /// The setting that applies to the request: `/path/METHOD`, `/path/*`, `*/*`, merged
    /// field by field in that order.
    fn setting(&self, cx: &Context) -> Setting {
        let path = cx.resource_path;
        let method = cx.method.as_str();
        let find = |p: &str, m: &str| {
            self.info.methods.iter().find_map(|(k, s)| {
                let (kp, km) = k.rsplit_once('/')?;
                (kp == p && km == m).then_some(*s)
            })
        };
        let layers = [find(path, method), find(path, "*"), find("*", "*")];
        let mut out = Setting::default();
        for s in layers.into_iter().flatten() {
            out.enabled = out.enabled.or(s.enabled);
            out.ttl = out.ttl.or(s.ttl);
            out.require_authorization = out.require_authorization.or(s.require_authorization);
            out.unauthorized = out.unauthorized.or(s.unauthorized);
        }
        out
    }

    /// Looks the request up.
    pub async fn lookup(
        &self,
        cx: &mut Context,
        parts: &KeyParts,
        conn: &crate::usage::RedisConnection,
    ) -> Lookup {
        let s = self.setting(cx);
        let enabled = s.enabled.unwrap_or(cx.method == http::Method::GET);
        let ttl = s.ttl.unwrap_or(300);
        if !enabled || ttl == 0 {
            return Lookup::Off;
        }
        let mut key = format!("{} {} {}", cx.method, cx.path, parts.namespace);
        for (name, src) in parts.parameters {
            key.push('\u{0}');
            key.push_str(name);
            key.push('=');
            if let Some(v) = src.value(cx, None) {
                key.push_str(&v);
            }
        }
        let refresh = asks_refresh(cx);
        let mut warning = false;
        if refresh {
            if s.require_authorization.unwrap_or(true) && !cx.may_invalidate_cache {
                // Invalidating needs `execute-api:InvalidateCache` (IAM): not authorised.
                match s
                    .unauthorized
                    .unwrap_or(Unauthorized::SucceedWithResponseHeader)
                {
                    Unauthorized::FailWith403 => {
                        return Lookup::Refused(ResponseType::AccessDenied)
                    }
                    Unauthorized::SucceedWithResponseHeader => warning = true,
                    Unauthorized::SucceedWithoutResponseHeader => {}
                }
            } else {
                self.entries.invalidate(&key);
                self.forget(&key, conn).await;
            }
        }
        if let Some(e) = self.get(&key, conn).await {
            self.hits.fetch_add(1, Ordering::Relaxed);
            cx.cache_status = Some("hit");
            let mut r = http::Response::new(crate::full(e.body.clone()));
            *r.status_mut() = http::StatusCode::from_u16(e.status).unwrap_or(http::StatusCode::OK);
            *r.headers_mut() = e.headers.clone();
            if warning {
                add_warning(&mut r);
            }
            return Lookup::Hit(r);
        }
        self.misses.fetch_add(1, Ordering::Relaxed);
        cx.cache_status = Some("miss");
        Lookup::Miss(Ticket {
            key,
            ttl: Duration::from_secs(u64::from(ttl)),
            warning,
        })
    }

    /// Keeps the integration's answer for the ticket's TTL (2xx, at most 1 MB) and returns it.
    pub async fn store(
        &self,
        ticket: Ticket,
        resp: Response,
        conn: &crate::usage::RedisConnection,
    ) -> Response {
        if !resp.status().is_success() {
            return resp;
        }
        let (parts, body) = resp.into_parts();
        // Generated answers have their body in memory already: collecting does not wait.
        let body = match body.collect().await {
            Ok(b) => b.to_bytes(),
            Err(_) => return crate::responses::internal_error(),
        };
        if body.len() <= MAX_ENTRY {
            let entry = Entry {
                status: parts.status.as_u16(),
                headers: parts.headers.clone(),
                body: body.clone(),
                ttl: ticket.ttl,
            };
            match &self.shared {
                Some(shared) => self.put_shared(shared, &ticket.key, &entry, conn).await,
                None => self.entries.insert(ticket.key, Arc::new(entry)),
            }
        }
        let mut r = http::Response::from_parts(parts, crate::full(body));
        if ticket.warning {
            add_warning(&mut r);
        }
        r
    }
}

impl StageCache {
    async fn connection(
        &self,
        shared: &Shared,
        conn: &crate::usage::RedisConnection,
    ) -> Option<redis::aio::ConnectionManager> {
        let c = tokio::time::timeout(
            Duration::from_secs(1),
            conn.get_or_try_init(|| redis::aio::ConnectionManager::new(shared.client.clone())),
        )
        .await;
        match c {
            Ok(Ok(c)) => Some(c.clone()),
            _ => None,
        }
    }

    /// The entry for `key`: from Redis when replicas share the cache (an unreachable Redis
    /// is a miss), else from this process.
    async fn get(&self, key: &str, conn: &crate::usage::RedisConnection) -> Option<Arc<Entry>> {
        let Some(shared) = &self.shared else {
            return self.entries.get(key);
        };
        let mut c = self.connection(shared, conn).await?;
        let name = format!("{}cache:{key}", shared.prefix);
        let got = tokio::time::timeout(
            Duration::from_secs(1),
            redis::cmd("GET")
                .arg(&name)
                .query_async::<Option<Vec<u8>>>(&mut c),
        )
        .await;
        let bytes = got.ok()?.ok()??;
        decode(&bytes).map(Arc::new)
    }

    async fn put_shared(
        &self,
        shared: &Shared,
        key: &str,
        e: &Entry,
        conn: &crate::usage::RedisConnection,
    ) {
        let Some(mut c) = self.connection(shared, conn).await else {
            return;
        };
        let name = format!("{}cache:{key}", shared.prefix);
        let _ = tokio::time::timeout(
            Duration::from_secs(1),
            redis::cmd("SET")
                .arg(&name)
                .arg(encode(e))
                .arg("PX")
                .arg(e.ttl.as_millis().max(1) as u64)
                .query_async::<()>(&mut c),
        )
        .await;
    }

    async fn forget(&self, key: &str, conn: &crate::usage::RedisConnection) {
        let Some(shared) = &self.shared else { return };
        let Some(mut c) = self.connection(shared, conn).await else {
            return;
        };
        let name = format!("{}cache:{key}", shared.prefix);
        let _ = tokio::time::timeout(
            Duration::from_secs(1),
            redis::cmd("DEL").arg(&name).query_async::<()>(&mut c),
        )
        .await;
    }
}

/// An entry as kept in Redis: status, headers and body in a small JSON record (header values
/// and body in base64: they need not be UTF-8).
fn encode(e: &Entry) -> Vec<u8> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let headers: Vec<serde_json::Value> = e
        .headers
        .iter()
        .map(|(n, v)| serde_json::json!([n.as_str(), b64.encode(v.as_bytes())]))
        .collect();
    serde_json::json!({
        "status": e.status,
        "headers": headers,
        "body": b64.encode(&e.body),
        "ttlMs": e.ttl.as_millis() as u64,
    })
    .to_string()
    .into_bytes()
}

fn decode(bytes: &[u8]) -> Option<Entry> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD;
    let v: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let mut headers = HeaderMap::new();
    for h in v.get("headers")?.as_array()? {
        let name = http::HeaderName::from_bytes(h.get(0)?.as_str()?.as_bytes()).ok()?;
        let value = http::HeaderValue::from_bytes(&b64.decode(h.get(1)?.as_str()?).ok()?).ok()?;
        headers.append(name, value);
    }
    Some(Entry {
        status: u16::try_from(v.get("status")?.as_u64()?).ok()?,
        headers,
        body: Bytes::from(b64.decode(v.get("body")?.as_str()?).ok()?),
        ttl: Duration::from_millis(v.get("ttlMs")?.as_u64()?),
    })
}

/// API Gateway's notice that `Cache-Control` was ignored (wording unverified).
fn add_warning(r: &mut Response) {
    r.headers_mut().insert(
        http::header::WARNING,
        http::HeaderValue::from_static(
            "199 - \"Cache-control headers were ignored because the caller was unauthorized.\"",
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_survive_encoding() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "content-type",
            http::HeaderValue::from_static("application/json"),
        );
        headers.append("x-a", http::HeaderValue::from_bytes(b"\xfftext").unwrap());
        let e = Entry {
            status: 201,
            headers,
            body: Bytes::from_static(b"\x00\xffbody"),
            ttl: Duration::from_millis(1500),
        };
        let d = decode(&encode(&e)).unwrap();
        assert_eq!(
            (d.status, &d.headers, &d.body, d.ttl),
            (e.status, &e.headers, &e.body, e.ttl)
        );
        assert!(decode(b"{}").is_none());
    }
}
