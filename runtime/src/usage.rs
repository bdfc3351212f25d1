//! API management on the request path: API keys, usage-plan throttles and quotas, stage
//! `methodSettings` throttles and the account throttle, in API Gateway's order.
//!
//! A request to a route that requires a key must carry one (`x-api-key`, or the Lambda
//! authorizer's `usageIdentifierKey` with `x-amazon-apigateway-api-key-source: AUTHORIZER`)
//! that exists, is enabled and belongs to a plan covering this stage: otherwise 403
//! `Forbidden`. Then the throttles, each a token bucket (governor's GCRA: `rate` per second
//! refills a bucket of `burst`): the key's method override or its plan throttle, the stage's
//! method setting or its `*/*`, the account (`--account-rate-limit`/`--account-burst-limit`,
//! AWS's 10,000 rps and 5,000 burst by default) → 429 `Too Many Requests`. Then the plan's
//! quota, counted per calendar period in UTC (DAY from 00:00, WEEK from Sunday 00:00 —
//! AWS's older reference counts weeks from Sunday; unverified — MONTH from the 1st) → 429
//! `Limit Exceeded`. Everything is counted in this process, shared by all its workers, so
//! limits are exact within one process; quota counts are written to the state database
//! (`keys`) every 100 ms and read back at start, so a restart loses none.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota as Gcra, RateLimiter};

pub use crate::calendar::{
    civil_from_days, days_from_civil, format_day, parse_day, period_start, today, Period,
};
use crate::context::Context;
use crate::keys::{self, Digest, KeyStore};
use crate::response_type::ResponseType;

/// A token bucket from the spec.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Throttle {
    /// Requests per second.
    pub rate: f64,
    /// Bucket size.
    pub burst: u32,
}

/// A usage plan's quota.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuotaInfo {
    /// Requests per period.
    pub limit: u64,
    /// The period.
    pub period: Period,
    /// Requests taken off the limit in a key's first period.
    pub offset: u64,
}

/// A usage plan (generated from `x-specgate-usage-plans`).
#[derive(Debug)]
pub struct PlanInfo {
    /// Its name.
    pub name: &'static str,
    /// Per-key throttle.
    pub throttle: Option<Throttle>,
    /// Per-key quota.
    pub quota: Option<QuotaInfo>,
    /// Stages it covers: stage name → per-method overrides (`/pets/GET` → throttle).
    pub stages: &'static [(&'static str, &'static [(&'static str, Throttle)])],
}

/// Where a key is read from (`x-amazon-apigateway-api-key-source`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    /// The `x-api-key` header.
    Header,
    /// The Lambda authorizer's `usageIdentifierKey`.
    Authorizer,
}

/// A bucket: closed when its rate or burst is zero (nothing passes).
enum Bucket<L> {
    Closed,
    Open(L),
}

/// One throttle: its token bucket in this process, and what Redis needs to keep it there
/// (its name and numbers).
struct Limit<L> {
    name: String,
    throttle: Throttle,
    local: Bucket<L>,
}

type Direct = Limit<DefaultDirectRateLimiter>;
type Keyed = Limit<DefaultKeyedRateLimiter<u32>>;

fn gcra(t: Throttle) -> Option<Gcra> {
    let burst = NonZeroU32::new(t.burst)?;
    if !(t.rate > 0.0 && t.rate.is_finite()) {
        return None;
    }
    let period = Duration::from_secs_f64((1.0 / t.rate).min(1e9));
    Some(Gcra::with_period(period)?.allow_burst(burst))
}

fn direct(name: &str, t: Throttle) -> Direct {
    Limit {
        name: name.to_string(),
        throttle: t,
        local: match gcra(t) {
            Some(q) => Bucket::Open(RateLimiter::direct(q)),
            None => Bucket::Closed,
        },
    }
}

fn keyed(name: &str, t: Throttle) -> Keyed {
    Limit {
        name: name.to_string(),
        throttle: t,
        local: match gcra(t) {
            Some(q) => Bucket::Open(RateLimiter::keyed(q)),
            None => Bucket::Closed,
        },
    }
}

impl<L> Limit<L> {
    fn closed(&self) -> bool {
        matches!(self.local, Bucket::Closed)
    }
}

impl Direct {
    fn admit(&self) -> bool {
        match &self.local {
            Bucket::Closed => false,
            Bucket::Open(l) => l.check().is_ok(),
        }
    }
}

impl Keyed {
    fn admit(&self, key: u32) -> bool {
        match &self.local {
            Bucket::Closed => false,
            Bucket::Open(l) => l.check_key(&key).is_ok(),
        }
    }
}

/// A request's key with its plan, the key's throttle and the stage's.
type Limits<'u> = (
    Option<(Known, &'u Plan)>,
    Option<&'u Keyed>,
    Option<&'u Direct>,
);

/// Method-keyed limits: resource path → method (or `*`) → limit.
type Methods<B> = HashMap<&'static str, HashMap<&'static str, B>>;

fn by_method<B>(
    entries: &[(&'static str, Throttle)],
    make: impl Fn(&str, Throttle) -> B,
) -> Methods<B> {
    let mut out: Methods<B> = HashMap::new();
    for (key, t) in entries {
        if let Some((path, method)) = key.rsplit_once('/') {
            out.entry(path).or_default().insert(method, make(key, *t));
        }
    }
    out
}

fn lookup<'m, B>(m: &'m Methods<B>, cx: &Context) -> Option<&'m B> {
    let methods = m.get(cx.resource_path)?;
    methods.get(cx.method.as_str()).or_else(|| methods.get("*"))
}

struct Plan {
    info: &'static PlanInfo,
    throttle: Option<Keyed>,
    methods: Methods<Keyed>,
}

/// A key as the gateway knows it.
#[derive(Clone)]
struct Known {
    id: Arc<str>,
    /// A small number for the throttles' keyed buckets.
    slot: u32,
    plan: Arc<str>,
    enabled: bool,
    created_day: i64,
}

/// A quota counter: the period it counts and the requests in it.
struct Counter {
    period_start: i64,
    used: u64,
}

/// Where limits are counted.
enum Counting {
    /// In this process (exact within it).
    Local,
    /// In Redis, shared by every replica.
    Redis(Box<Shared>),
}

/// Counting in Redis.
struct Shared {
    client: redis::Client,
    prefix: String,
    script: redis::Script,
    /// Requests pass (uncounted) while Redis cannot be reached.
    fail_open: bool,
    last_warning: Mutex<Option<std::time::Instant>>,
}

/// What the workers of a process share for API management.
pub struct Usage {
    stage_name: String,
    account: Option<Direct>,
    stage: Option<Direct>,
    stage_methods: Methods<Direct>,
    plans: HashMap<&'static str, Plan>,
    keys: RwLock<HashMap<Digest, Known>>,
    slots: Mutex<HashMap<String, u32>>,
    counters: Mutex<HashMap<u32, Counter>>,
    /// Requests counted since the last flush, by key id and day.
    pending: Mutex<HashMap<(Arc<str>, i64), u64>>,
    store: Option<Arc<dyn KeyStore>>,
    counting: Counting,
    /// Admissions Redis could not decide (unreachable, too slow): for the metrics.
    pub state_errors: std::sync::atomic::AtomicU64,
    source: KeySource,
}

/// Where the state is and what to do without it (from the gateway's flags).
pub struct StateConfig<'a> {
    /// `--state redis://…`, or `None` for the state directory.
    pub url: Option<&'a str>,
    /// `--state-dir`.
    pub dir: &'a Path,
    /// Separates APIs sharing one Redis (the API's title).
    pub namespace: &'a str,
    /// `--state-failure open`: requests pass while Redis is unreachable.
    pub fail_open: bool,
}

/// A multiplexed Redis connection of one worker, made on first use.
pub type RedisConnection = tokio::sync::OnceCell<redis::aio::ConnectionManager>;

impl Usage {
    /// The state for serving `stage` of an API with these plans and stage throttles. The
    /// key store is opened only when the API has usage plans (keys need it); Redis, when
    /// named, counts the throttles and quotas.
    pub fn new(
        stage: &str,
        plans: &'static [PlanInfo],
        stage_throttles: &'static [(&'static str, Throttle)],
        account: Option<Throttle>,
        source: KeySource,
        state: &StateConfig<'_>,
    ) -> Result<Usage, String> {
        let mut by_name = HashMap::new();
        for p in plans {
            let Some((_, overrides)) = p.stages.iter().find(|(s, _)| *s == stage) else {
                continue;
            };
            by_name.insert(
                p.name,
                Plan {
                    info: p,
                    throttle: p.throttle.map(|t| keyed("plan", t)),
                    methods: by_method(overrides, keyed),
                },
            );
        }
        let counting = match state.url {
            Some(url) => {
                let store = crate::redis_state::RedisStore::connect(url, state.namespace)?;
                Counting::Redis(Box::new(Shared {
                    client: store.client().clone(),
                    prefix: store.key_prefix().to_string(),
                    script: redis::Script::new(crate::redis_state::ADMIT),
                    fail_open: state.fail_open,
                    last_warning: Mutex::new(None),
                }))
            }
            None => Counting::Local,
        };
        let store = if plans.is_empty() {
            None
        } else {
            Some(crate::store::open(state.url, state.dir, state.namespace)?)
        };
        let stage_default = stage_throttles
            .iter()
            .find(|(k, _)| *k == "*/*")
            .map(|(k, t)| direct(k, *t));
        let methods: Vec<(&'static str, Throttle)> = stage_throttles
            .iter()
            .filter(|(k, _)| *k != "*/*")
            .copied()
            .collect();
        let u = Usage {
            stage_name: stage.to_string(),
            account: account.map(|t| direct("account", t)),
            stage: stage_default,
            stage_methods: by_method(&methods, direct),
            plans: by_name,
            keys: RwLock::new(HashMap::new()),
            slots: Mutex::new(HashMap::new()),
            counters: Mutex::new(HashMap::new()),
            pending: Mutex::new(HashMap::new()),
            store,
            counting,
            state_errors: std::sync::atomic::AtomicU64::new(0),
            source,
        };
        u.reload()?;
        Ok(u)
    }

    /// Reads the keys from the state database again.
    pub fn reload(&self) -> Result<(), String> {
        let Some(store) = &self.store else {
            return Ok(());
        };
        let index = store.index()?;
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        let mut keys = HashMap::with_capacity(index.len());
        for (digest, k) in index {
            let next = slots.len() as u32;
            let slot = *slots.entry(k.id.clone()).or_insert(next);
            let created_day = parse_day(k.created.get(..10).unwrap_or("")).unwrap_or(0);
            keys.insert(
                digest,
                Known {
                    id: Arc::from(k.id.as_str()),
                    slot,
                    plan: Arc::from(k.plan.as_str()),
                    enabled: k.enabled,
                    created_day,
                },
            );
        }
        *self.keys.write().unwrap_or_else(|p| p.into_inner()) = keys;
        Ok(())
    }

    /// Writes the counted requests to the state database.
    pub fn flush(&self) -> Result<(), String> {
        let Some(store) = &self.store else {
            return Ok(());
        };
        let pending = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|p| p.into_inner()));
        let counts = pending
            .iter()
            .map(|((id, day), n)| ((id.to_string(), *day), *n))
            .collect();
        if let Err(e) = store.add_usage(&counts) {
            // Keep the counts for the next attempt.
            let mut p = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            for (k, n) in pending {
                *p.entry(k).or_default() += n;
            }
            return Err(e);
        }
        Ok(())
    }

    /// Starts the thread that writes counts every 100 ms and reloads keys when another
    /// process (`./gateway keys …`) changed them.
    pub fn watch(self: &Arc<Self>) {
        let Some(store) = self.store.clone() else {
            return;
        };
        let me = Arc::downgrade(self);
        let _ = std::thread::Builder::new()
            .name("specgate-usage".into())
            .spawn(move || {
                // Read the version before reloading, so that no change made between the
                // gateway's first read and this thread's start is missed.
                let mut version = store.version().unwrap_or(0);
                if let Some(u) = me.upgrade() {
                    let _ = u.reload();
                }
                let mut last_warning = None::<std::time::Instant>;
                loop {
                    std::thread::sleep(Duration::from_millis(100));
                    let Some(u) = me.upgrade() else { return };
                    let result = u.flush().and_then(|()| {
                        let v = store.version()?;
                        if v != version {
                            version = v;
                            u.reload()?;
                        }
                        Ok(())
                    });
                    if let Err(e) = result {
                        if last_warning.is_none_or(|t| t.elapsed() > Duration::from_secs(60)) {
                            last_warning = Some(std::time::Instant::now());
                            crate::warn!("specgate: state database: {e}");
                        }
                    }
                }
            });
    }

    /// Admits the request, or says which gateway response refuses it (`INVALID_API_KEY`
    /// 403, `THROTTLED` or `QUOTA_EXCEEDED` 429), when the counts are kept in this process;
    /// `None` when they are in Redis ([`Usage::admit`]). Not `async`: a route's future does
    /// not carry the Redis exchange's state when it never waits for one.
    pub fn admit_here(
        &self,
        cx: &mut Context,
        key_required: bool,
    ) -> Option<Result<(), ResponseType>> {
        match self.counting {
            Counting::Local => Some(self.admit_local(cx, key_required)),
            Counting::Redis(_) => None,
        }
    }

    /// The key (when the route requires one) with its plan, the key's throttle and the
    /// stage's throttle for this request's method.
    fn limits(&self, cx: &mut Context, key_required: bool) -> Result<Limits<'_>, ResponseType> {
        let key = if key_required {
            Some(self.identify(cx)?)
        } else {
            None
        };
        let key_limit = key
            .as_ref()
            .and_then(|(_, plan)| lookup(&plan.methods, cx).or(plan.throttle.as_ref()));
        let stage_limit = lookup(&self.stage_methods, cx).or(self.stage.as_ref());
        Ok((key, key_limit, stage_limit))
    }

    /// [`Usage::admit_here`], counted in this process.
    fn admit_local(&self, cx: &mut Context, key_required: bool) -> Result<(), ResponseType> {
        let (key, key_limit, stage_limit) = self.limits(cx, key_required)?;
        // Throttles, most specific first: the key's, the stage's, the account's.
        if let (Some((k, _)), Some(l)) = (&key, key_limit) {
            if !l.admit(k.slot) {
                return Err(ResponseType::Throttled);
            }
        }
        if stage_limit.is_some_and(|l| !l.admit()) {
            return Err(ResponseType::Throttled);
        }
        if self.account.as_ref().is_some_and(|l| !l.admit()) {
            return Err(ResponseType::Throttled);
        }
        if let Some((k, plan)) = &key {
            if let Some(q) = plan.info.quota {
                // The request's day (from its arrival time, already read).
                let day = crate::calendar::day_of_ms(cx.start_ms);
                if !self.count(k, q, day) {
                    return Err(ResponseType::QuotaExceeded);
                }
            }
        }
        Ok(())
    }

    /// Admits the request, or says which gateway response refuses it (`INVALID_API_KEY`
    /// 403, `THROTTLED` or `QUOTA_EXCEEDED` 429): here, or in Redis.
    pub async fn admit(
        &self,
        cx: &mut Context,
        key_required: bool,
        redis: &RedisConnection,
    ) -> Result<(), ResponseType> {
        match &self.counting {
            Counting::Local => self.admit_local(cx, key_required),
            Counting::Redis(shared) => {
                let (key, key_limit, stage_limit) = self.limits(cx, key_required)?;
                let Shared {
                    client,
                    prefix,
                    script,
                    fail_open,
                    last_warning,
                } = &**shared;
                let closed = key_limit.is_some_and(Limit::closed)
                    || stage_limit.is_some_and(Limit::closed)
                    || self.account.as_ref().is_some_and(Limit::closed);
                if closed {
                    return Err(ResponseType::Throttled);
                }
                let mut inv = script.prepare_invoke();
                let mut n = 0usize;
                let mut args: Vec<String> = Vec::new();
                let mut bucket = |name: String, t: Throttle| {
                    inv.key(name);
                    args.push(t.rate.to_string());
                    args.push(t.burst.to_string());
                    n += 1;
                };
                if let (Some((k, plan)), Some(l)) = (&key, key_limit) {
                    bucket(
                        format!("{prefix}b:{}:{}:{}", plan.info.name, k.id, l.name),
                        l.throttle,
                    );
                }
                if let Some(l) = stage_limit {
                    bucket(
                        format!("{prefix}b:stage:{}:{}", self.stage_name, l.name),
                        l.throttle,
                    );
                }
                if let Some(l) = &self.account {
                    bucket(format!("{prefix}b:account"), l.throttle);
                }
                let quota = key
                    .as_ref()
                    .and_then(|(k, plan)| Some((k, plan.info.quota?)));
                match quota {
                    Some((k, q)) => {
                        let day = today();
                        let start = period_start(q.period, day);
                        let ttl_days = match q.period {
                            Period::Day => 2,
                            Period::Week => 8,
                            Period::Month => 32,
                        };
                        let first = period_start(q.period, k.created_day) == start;
                        inv.key(format!("{prefix}q:{}:{start}", k.id));
                        inv.key(format!("{prefix}usage:{}:{day}", k.id));
                        args.push(q.limit.to_string());
                        args.push((ttl_days * 86_400).to_string());
                        args.push(crate::redis_state::USAGE_TTL_SECONDS.to_string());
                        args.push(if first { q.offset } else { 0 }.to_string());
                    }
                    None => args.extend(["-1", "0", "0", "0"].map(str::to_string)),
                }
                inv.arg(n);
                for a in &args {
                    inv.arg(a);
                }
                let outcome = async {
                    let conn = redis
                        .get_or_try_init(|| redis::aio::ConnectionManager::new(client.clone()))
                        .await?;
                    let mut conn = conn.clone();
                    inv.invoke_async::<i64>(&mut conn).await
                };
                match tokio::time::timeout(Duration::from_secs(1), outcome).await {
                    Ok(Ok(0)) => Ok(()),
                    Ok(Ok(2)) => Err(ResponseType::QuotaExceeded),
                    Ok(Ok(_)) => Err(ResponseType::Throttled),
                    failed => {
                        self.state_errors
                            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let why = match failed {
                            Ok(Err(e)) => e.to_string(),
                            _ => "no answer within 1 s".to_string(),
                        };
                        let mut last = last_warning.lock().unwrap_or_else(|p| p.into_inner());
                        if last.is_none_or(|t| t.elapsed() > Duration::from_secs(60)) {
                            *last = Some(std::time::Instant::now());
                            crate::warn!(
                                "specgate: Redis unreachable ({why}): requests {} uncounted",
                                if *fail_open { "pass" } else { "are refused" }
                            );
                        }
                        if *fail_open {
                            Ok(())
                        } else {
                            Err(ResponseType::Default5xx)
                        }
                    }
                }
            }
        }
    }

    /// The request's API key, or `INVALID_API_KEY`: missing, unknown, disabled, or in a plan
    /// that does not cover this stage.
    fn identify(&self, cx: &mut Context) -> Result<(Known, &Plan), ResponseType> {
        let value = match self.source {
            KeySource::Header => cx.header("x-api-key").map(str::to_string),
            KeySource::Authorizer => cx.usage_identifier_key.clone(),
        };
        let Some(value) = value.filter(|v| !v.is_empty() && v.len() <= 1024) else {
            return Err(ResponseType::InvalidApiKey);
        };
        let digest = keys::digest(&value);
        let known = self
            .keys
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&digest)
            .cloned();
        let Some(known) = known.filter(|k| k.enabled) else {
            return Err(ResponseType::InvalidApiKey);
        };
        let Some(plan) = self.plans.get(&*known.plan) else {
            return Err(ResponseType::InvalidApiKey);
        };
        cx.api_key = Some(value);
        cx.api_key_id = Some(known.id.clone());
        Ok((known, plan))
    }

    /// Counts one request against key `k`'s quota; `false` when the quota is used up.
    fn count(&self, k: &Known, q: QuotaInfo, day: i64) -> bool {
        let start = period_start(q.period, day);
        let mut counters = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        let c = match counters.get_mut(&k.slot) {
            Some(c) if c.period_start == start => c,
            _ => {
                // A new period (or the first request since start): what the database has.
                let stored: u64 = self
                    .store
                    .as_ref()
                    .and_then(|s| s.usage(&k.id, start, day).ok())
                    .map(|days| days.iter().map(|(_, n)| n).sum())
                    .unwrap_or(0);
                let pending: u64 = self
                    .pending
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .iter()
                    .filter(|((id, d), _)| **id == *k.id && *d >= start)
                    .map(|(_, n)| *n)
                    .sum();
                let first_period = period_start(q.period, k.created_day) == start;
                let offset = if first_period { q.offset } else { 0 };
                counters.insert(
                    k.slot,
                    Counter {
                        period_start: start,
                        used: stored + pending + offset,
                    },
                );
                match counters.get_mut(&k.slot) {
                    Some(c) => c,
                    None => return false,
                }
            }
        };
        if c.used >= q.limit {
            return false;
        }
        c.used += 1;
        drop(counters);
        *self
            .pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry((k.id.clone(), day))
            .or_default() += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets() {
        let t = direct(
            "t",
            Throttle {
                rate: 1.0,
                burst: 3,
            },
        );
        assert!(t.admit() && t.admit() && t.admit());
        assert!(!t.admit());
        assert!(!direct(
            "t",
            Throttle {
                rate: 0.0,
                burst: 3
            }
        )
        .admit());
        assert!(!direct(
            "t",
            Throttle {
                rate: 5.0,
                burst: 0
            }
        )
        .admit());
        let k = keyed(
            "k",
            Throttle {
                rate: 1.0,
                burst: 1,
            },
        );
        assert!(k.admit(1) && k.admit(2));
        assert!(!k.admit(1));
    }
}
