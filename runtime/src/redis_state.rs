//! State in Redis (`--state redis://HOST:PORT[/DB]`, or `rediss://` with TLS), for several
//! gateway replicas behind one load balancer: API keys, throttle buckets and quota counts are
//! shared, so N replicas enforce one limit.
//!
//! Every admission is one round trip: [`ADMIT`], a server-side Lua script, reads the
//! request's buckets (the key's, the stage's, the account's) and its quota counter, and only
//! when all of them admit it takes a token from each bucket and counts the request — so a
//! refused request consumes nothing, and two replicas can never both take the last token.
//! Buckets are token buckets on Redis's own clock (`TIME`): rate per second, burst as size.
//!
//! All keys live under `sg:{namespace}:` (the API's name), so several APIs can share a Redis.
//! Keys (API keys) are a hash of digest → key record; a version counter tells the replicas
//! to reload them. The operator commands use blocking connections; the request path uses a
//! multiplexed, self-reconnecting connection (redis's `ConnectionManager`) per worker.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use redis::Commands;
use serde_json::{json, Value};

use crate::keys::{digest, new_key, Digest, Key, KeyStore};

/// The admission script. KEYS: the buckets, then (when a quota applies) the quota counter
/// and the day's usage counter. ARGV: the number of buckets; rate and burst of each; then
/// the quota's limit (-1: none), the counter's expiry, the usage counter's expiry, and the
/// requests taken off the limit when the counter starts (a key's first period).
/// Returns 0 (admitted), 1 (throttled) or 2 (quota exceeded).
pub const ADMIT: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local n = tonumber(ARGV[1])
local left = {}
for i = 1, n do
  local rate = tonumber(ARGV[2 * i])
  local burst = tonumber(ARGV[2 * i + 1])
  local b = redis.call('HMGET', KEYS[i], 'tokens', 'ts')
  local tokens = tonumber(b[1]) or burst
  local ts = tonumber(b[2]) or now
  if now > ts then
    tokens = math.min(burst, tokens + (now - ts) * rate)
  end
  if tokens < 1 then
    return 1
  end
  left[i] = tokens - 1
end
local q = 2 * n + 2
local limit = tonumber(ARGV[q])
if limit >= 0 then
  local used = tonumber(redis.call('GET', KEYS[n + 1]) or ARGV[q + 3])
  if used >= limit then
    return 2
  end
end
for i = 1, n do
  local rate = tonumber(ARGV[2 * i])
  local burst = tonumber(ARGV[2 * i + 1])
  redis.call('HSET', KEYS[i], 'tokens', tostring(left[i]), 'ts', tostring(now))
  redis.call('EXPIRE', KEYS[i], math.ceil(burst / rate) + 1)
end
if limit >= 0 then
  if redis.call('EXISTS', KEYS[n + 1]) == 0 then
    redis.call('SET', KEYS[n + 1], ARGV[q + 3])
  end
  redis.call('INCR', KEYS[n + 1])
  redis.call('EXPIRE', KEYS[n + 1], ARGV[q + 1])
  redis.call('INCR', KEYS[n + 2])
  redis.call('EXPIRE', KEYS[n + 2], ARGV[q + 2])
end
return 0
"#;

/// How long usage counters are kept (for `./gateway usage`): a little over a year.
pub const USAGE_TTL_SECONDS: u64 = 400 * 86_400;

/// The key prefix of one API.
pub fn prefix(namespace: &str) -> String {
    let ns: String = namespace
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    format!("sg:{ns}:")
}

/// Redis as the key store (operator commands and the replicas' key index).
pub struct RedisStore {
    client: redis::Client,
    conn: Mutex<Option<redis::Connection>>,
    prefix: String,
    url: String,
}

use crate::path::{hex, unhex};

fn record(k: &Key) -> String {
    json!({
        "id": k.id, "name": k.name, "plan": k.plan, "enabled": k.enabled,
        "created": k.created, "prefix": k.prefix,
    })
    .to_string()
}

fn parse(text: &str) -> Option<Key> {
    let v: Value = serde_json::from_str(text).ok()?;
    let s = |f: &str| v.get(f).and_then(Value::as_str).map(str::to_string);
    Some(Key {
        id: s("id")?,
        name: s("name")?,
        plan: s("plan")?,
        enabled: v.get("enabled").and_then(Value::as_bool).unwrap_or(true),
        created: s("created").unwrap_or_default(),
        prefix: s("prefix").unwrap_or_default(),
    })
}

/// The URL without its password (for messages).
pub fn redacted(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://…@{}", &url[..s], &url[at + 1..]),
        _ => url.to_string(),
    }
}

impl RedisStore {
    /// Connects to `url` (checked now: an unreachable Redis stops the gateway at start).
    pub fn connect(url: &str, namespace: &str) -> Result<RedisStore, String> {
        let client = redis::Client::open(url).map_err(|e| format!("{}: {e}", redacted(url)))?;
        let store = RedisStore {
            client,
            conn: Mutex::new(None),
            prefix: prefix(namespace),
            url: redacted(url),
        };
        store.with(|c| redis::cmd("PING").query::<String>(c))?;
        Ok(store)
    }

    /// The client, for the request path's multiplexed connections.
    pub fn client(&self) -> &redis::Client {
        &self.client
    }

    /// The key prefix of this API.
    pub fn key_prefix(&self) -> &str {
        &self.prefix
    }

    fn with<T>(
        &self,
        f: impl Fn(&mut redis::Connection) -> redis::RedisResult<T>,
    ) -> Result<T, String> {
        let mut slot = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        // One reconnect per call: a connection Redis closed (restart, timeout) is replaced.
        for attempt in 0..2 {
            if slot.is_none() {
                let c = self
                    .client
                    .get_connection_with_timeout(Duration::from_secs(2))
                    .map_err(|e| format!("{}: {e}", self.url))?;
                let _ = c.set_read_timeout(Some(Duration::from_secs(2)));
                let _ = c.set_write_timeout(Some(Duration::from_secs(2)));
                *slot = Some(c);
            }
            let Some(c) = slot.as_mut() else { continue };
            match f(c) {
                Ok(v) => return Ok(v),
                Err(e) if attempt == 0 && (e.is_io_error() || e.is_connection_dropped()) => {
                    *slot = None;
                }
                Err(e) => {
                    *slot = None;
                    return Err(format!("{}: {e}", self.url));
                }
            }
        }
        Err(format!("{}: cannot reach Redis", self.url))
    }

    fn k(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    fn digest_of(&self, id_or_name: &str) -> Result<Option<(String, Key)>, String> {
        let (ids, names, keys) = (self.k("keyids"), self.k("keynames"), self.k("keys"));
        self.with(|c| {
            let id: Option<String> = c.hget(&names, id_or_name)?;
            let id = id.unwrap_or_else(|| id_or_name.to_string());
            let d: Option<String> = c.hget(&ids, &id)?;
            let Some(d) = d else { return Ok(None) };
            let rec: Option<String> = c.hget(&keys, &d)?;
            Ok(rec.and_then(|r| parse(&r)).map(|k| (d, k)))
        })
    }
}

impl KeyStore for RedisStore {
    fn create(&self, name: &str, plan: &str, value: Option<&str>) -> Result<(Key, String), String> {
        let (key, value) = new_key(name, plan, value)?;
        let d = hex(&digest(&value));
        let (ids, names, keys, version) = (
            self.k("keyids"),
            self.k("keynames"),
            self.k("keys"),
            self.k("keys:version"),
        );
        let created = self.with(|c| {
            if !c.hset_nx::<_, _, _, bool>(&names, &key.name, &key.id)? {
                return Ok(false);
            }
            if !c.hset_nx::<_, _, _, bool>(&keys, &d, record(&key))? {
                let _: () = c.hdel(&names, &key.name)?;
                return Ok(false);
            }
            let _: () = c.hset(&ids, &key.id, &d)?;
            let _: i64 = c.incr(&version, 1)?;
            Ok(true)
        })?;
        if !created {
            return Err(format!(
                "a key named `{name}` (or with this value) exists already"
            ));
        }
        Ok((key, value))
    }

    fn list(&self) -> Result<Vec<Key>, String> {
        let mut keys: Vec<Key> = self.index()?.into_iter().map(|(_, k)| k).collect();
        keys.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(keys)
    }

    fn index(&self) -> Result<Vec<(Digest, Key)>, String> {
        let keys = self.k("keys");
        let all: HashMap<String, String> = self.with(|c| c.hgetall(&keys))?;
        Ok(all
            .into_iter()
            .filter_map(|(d, rec)| Some((unhex::<32>(&d)?, parse(&rec)?)))
            .collect())
    }

    fn find(&self, id_or_name: &str) -> Result<Option<Key>, String> {
        Ok(self.digest_of(id_or_name)?.map(|(_, k)| k))
    }

    fn set_enabled(&self, id_or_name: &str, enabled: bool) -> Result<bool, String> {
        let Some((d, mut k)) = self.digest_of(id_or_name)? else {
            return Ok(false);
        };
        k.enabled = enabled;
        let (keys, version) = (self.k("keys"), self.k("keys:version"));
        self.with(|c| {
            let _: () = c.hset(&keys, &d, record(&k))?;
            c.incr::<_, _, i64>(&version, 1)
        })?;
        Ok(true)
    }

    fn delete(&self, id_or_name: &str) -> Result<bool, String> {
        let Some((d, k)) = self.digest_of(id_or_name)? else {
            return Ok(false);
        };
        let (ids, names, keys, version) = (
            self.k("keyids"),
            self.k("keynames"),
            self.k("keys"),
            self.k("keys:version"),
        );
        self.with(|c| {
            let _: () = c.hdel(&keys, &d)?;
            let _: () = c.hdel(&ids, &k.id)?;
            let _: () = c.hdel(&names, &k.name)?;
            c.incr::<_, _, i64>(&version, 1)
        })?;
        Ok(true)
    }

    fn put_principal(&self, p: &crate::keys::StoredPrincipal, replace: bool) -> Result<(), String> {
        let record = serde_json::to_string(p).map_err(|e| e.to_string())?;
        if !replace {
            let taken = self
                .principals()?
                .iter()
                .any(|q| q.arn == p.arn || q.access_key_id == p.access_key_id);
            if taken {
                return Err(format!(
                    "a principal `{}` (or with access key {}) exists already",
                    p.arn, p.access_key_id
                ));
            }
        }
        let (all, version) = (self.k("principals"), self.k("keys:version"));
        self.with(|c| {
            let _: () = c.hset(&all, &p.arn, &record)?;
            c.incr::<_, _, i64>(&version, 1)
        })?;
        Ok(())
    }

    fn principals(&self) -> Result<Vec<crate::keys::StoredPrincipal>, String> {
        let all = self.k("principals");
        let map: HashMap<String, String> = self.with(|c| c.hgetall(&all))?;
        let mut out: Vec<crate::keys::StoredPrincipal> = map
            .values()
            .map(|r| serde_json::from_str(r).map_err(|e| format!("a principal record: {e}")))
            .collect::<Result<_, _>>()?;
        out.sort_by(|a, b| a.arn.cmp(&b.arn));
        Ok(out)
    }

    fn delete_principal(&self, arn: &str) -> Result<bool, String> {
        let (all, version) = (self.k("principals"), self.k("keys:version"));
        self.with(|c| {
            let n: i64 = c.hdel(&all, arn)?;
            if n > 0 {
                let _: i64 = c.incr(&version, 1)?;
            }
            Ok(n > 0)
        })
    }

    fn version(&self) -> Result<i64, String> {
        let version = self.k("keys:version");
        self.with(|c| c.get::<_, Option<i64>>(&version))
            .map(|v| v.unwrap_or(0))
    }

    fn add_usage(&self, counts: &HashMap<(String, i64), u64>) -> Result<(), String> {
        for ((id, day), n) in counts {
            let key = self.k(&format!("usage:{id}:{day}"));
            self.with(|c| {
                let _: i64 = c.incr(&key, *n)?;
                c.expire::<_, ()>(&key, USAGE_TTL_SECONDS as i64)
            })?;
        }
        Ok(())
    }

    fn usage(&self, key_id: &str, from: i64, to: i64) -> Result<Vec<(i64, u64)>, String> {
        let names: Vec<String> = (from..=to)
            .map(|d| self.k(&format!("usage:{key_id}:{d}")))
            .collect();
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let values: Vec<Option<u64>> = self.with(|c| c.mget(&names))?;
        Ok((from..=to)
            .zip(values)
            .filter_map(|(d, v)| Some((d, v?)))
            .filter(|(_, n)| *n > 0)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_and_names() {
        let d = digest("x");
        assert_eq!(unhex::<32>(&hex(&d)), Some(d));
        assert_eq!(unhex::<32>("zz"), None);
        let k = Key {
            id: "abc".into(),
            name: "n".into(),
            plan: "p".into(),
            enabled: false,
            created: "2026-11-30T00:00:00Z".into(),
            prefix: "abcd".into(),
        };
        assert_eq!(parse(&record(&k)), Some(k));
        assert_eq!(prefix("Usage Plans"), "sg:usage-plans:");
        assert_eq!(
            redacted("redis://:secret@host:6379/0"),
            "redis://…@host:6379/0"
        );
    }
}
