//! Metrics with CloudWatch's names, in Prometheus's formats (prometheus-client).
//!
//! API Gateway's CloudWatch metrics keep their names, in Prometheus's spelling (snake case,
//! base units, `_total` on counters), so AWS users find them: REST APIs have `Count`,
//! `4XXError`, `5XXError`, `Latency`, `IntegrationLatency`, `CacheHitCount` and
//! `CacheMissCount` as `apigateway_count_total`, `apigateway_4xx_error_total`,
//! `apigateway_5xx_error_total`, `apigateway_latency_seconds`,
//! `apigateway_integration_latency_seconds`, `apigateway_cache_hit_count_total` and
//! `apigateway_cache_miss_count_total`; HTTP APIs have `4xx`, `5xx` and `DataProcessed` as
//! `apigateway_4xx_total`, `apigateway_5xx_total` and `apigateway_data_processed_bytes_total`. The dimensions are labels: `api` and `stage` always, `resource` and
//! `method` only for routes whose stage settings enable detailed metrics
//! (`metricsEnabled`/`detailedMetricsEnabled`, as AWS does). Other routes count under
//! `resource=""`, `method=""`, so a sum over every series is the API's total. Labels are the
//! route's template, never the raw path, so the series stay bounded. Latencies are
//! histograms in seconds (CloudWatch shows milliseconds).
//!
//! The gateway's own metrics are prefixed `specgate_`: requests refused by throttles and
//! quotas, authorizer cache hits and misses, state-store errors, open connections, panics,
//! and dropped access-log lines.
//!
//! On the request path a worker looks its route's handles up in its own map (one lock, never
//! contended), then does a few atomic increments and two histogram observations.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::context::Context;
use crate::response_type::ResponseType;
use crate::Flavor;

/// A route's dimensions.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    /// `info.title` (CloudWatch's `ApiName`).
    pub api: &'static str,
    /// The stage.
    pub stage: &'static str,
    /// The resource template (`/pets/{id}`), or empty without detailed metrics.
    pub resource: &'static str,
    /// The method, or empty without detailed metrics.
    pub method: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    api: &'static str,
    stage: &'static str,
    reason: &'static str,
}

/// Latency buckets (seconds) for a gateway: sub-millisecond hits to the 30 s integration
/// limit.
const LATENCY_SECONDS: [f64; 15] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_SECONDS)
}

type Histograms = Family<RouteLabels, Histogram, fn() -> Histogram>;

/// One route's metrics, resolved once per worker.
#[derive(Clone)]
pub struct RouteMetrics {
    count: Counter,
    client_errors: Counter,
    server_errors: Counter,
    latency: Histogram,
    integration_latency: Histogram,
    cache_hits: Counter,
    cache_misses: Counter,
    data_processed: Counter,
}

/// Counters the rest of the runtime bumps (read at scrape time).
#[derive(Debug, Default)]
pub struct Counts {
    /// Lambda authorizer results served from the cache.
    pub authorizer_cache_hits: AtomicU64,
    /// Lambda authorizer calls.
    pub authorizer_cache_misses: AtomicU64,
}

/// The process's metrics.
pub struct Metrics {
    registry: Registry,
    api: &'static str,
    stage: &'static str,
    flavor: Flavor,
    /// Method keys (`*/*`, `/pets/*`, `/pets/GET`) → detailed metrics on or off.
    detailed: &'static [(&'static str, bool)],
    count: Family<RouteLabels, Counter>,
    client_errors: Family<RouteLabels, Counter>,
    server_errors: Family<RouteLabels, Counter>,
    latency: Histograms,
    integration_latency: Histograms,
    cache_hits: Family<RouteLabels, Counter>,
    cache_misses: Family<RouteLabels, Counter>,
    data_processed: Family<RouteLabels, Counter>,
    refused: Family<ReasonLabels, Counter>,
    /// Counters other modules bump.
    pub counts: Arc<Counts>,
}

/// What the process-wide collector reads at scrape time.
pub struct Sources {
    /// Open client connections.
    pub connections: Arc<crate::conn::Limit>,
    /// The usage state (its store errors), when there is one.
    pub usage: Option<Arc<crate::usage::Usage>>,
    /// The Lambda functions (their local processes), when there are some.
    pub lambda: Option<Arc<crate::lambda::functions::Lambda>>,
}

struct ProcessCollector {
    connections: Arc<crate::conn::Limit>,
    usage: Option<Arc<crate::usage::Usage>>,
    lambda: Option<Arc<crate::lambda::functions::Lambda>>,
    counts: Arc<Counts>,
}

impl std::fmt::Debug for ProcessCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ProcessCollector")
    }
}

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let counter = |encoder: &mut DescriptorEncoder, name: &str, help: &str, v: u64| {
            let c = ConstCounter::new(v);
            let m = encoder.encode_descriptor(name, help, None, c.metric_type())?;
            c.encode(m)
        };
        counter(
            &mut encoder,
            "specgate_state_store_errors",
            "Operations on the shared state (Redis) that failed.",
            self.usage
                .as_ref()
                .map_or(0, |u| u.state_errors.load(Ordering::Relaxed)),
        )?;
        counter(
            &mut encoder,
            "specgate_panics",
            "Requests that failed with an internal error (answered 500; the gateway served on).",
            crate::log::PANICS.load(Ordering::Relaxed),
        )?;
        counter(
            &mut encoder,
            "specgate_access_log_dropped_lines",
            "Access-log lines dropped because the destination did not keep up.",
            crate::log::dropped(),
        )?;
        counter(
            &mut encoder,
            "specgate_connections_refused",
            "Client connections closed on accept because --max-connections were open.",
            self.connections.refused(),
        )?;
        counter(
            &mut encoder,
            "specgate_authorizer_cache_hits",
            "Lambda authorizer results served from the authorizer cache.",
            self.counts.authorizer_cache_hits.load(Ordering::Relaxed),
        )?;
        counter(
            &mut encoder,
            "specgate_authorizer_cache_misses",
            "Lambda authorizer invocations (not in the cache).",
            self.counts.authorizer_cache_misses.load(Ordering::Relaxed),
        )?;
        use crate::upstream::pool;
        counter(
            &mut encoder,
            "specgate_upstream_timeouts",
            "Backend requests that timed out (answered 504).",
            pool::TIMEOUTS.load(Ordering::Relaxed),
        )?;
        counter(
            &mut encoder,
            "specgate_upstream_failures",
            "Backend requests that could not connect or broke off.",
            pool::FAILURES.load(Ordering::Relaxed),
        )?;
        let gauge = |encoder: &mut DescriptorEncoder, name: &str, help: &str, v: i64| {
            let g = ConstGauge::new(v);
            let m = encoder.encode_descriptor(name, help, None, g.metric_type())?;
            g.encode(m)
        };
        gauge(
            &mut encoder,
            "specgate_upstream_requests_in_flight",
            "Backend requests waiting for their answer now (the upstream pool's load).",
            pool::IN_FLIGHT.load(Ordering::Relaxed),
        )?;
        if let Some(l) = &self.lambda {
            let procs = l.local_processes();
            if !procs.is_empty() {
                let mut family = encoder.encode_descriptor(
                    "specgate_lambda_processes",
                    "Local Lambda function processes (state: running, idle).",
                    None,
                    prometheus_client::metrics::MetricType::Gauge,
                )?;
                for (name, running, idle) in procs {
                    for (state, n) in [("running", running), ("idle", idle)] {
                        let labels = [("function", name.as_str()), ("state", state)];
                        let m = family.encode_family(&labels)?;
                        ConstGauge::new(n as i64).encode(m)?;
                    }
                }
            }
        }
        gauge(
            &mut encoder,
            "specgate_connections_open",
            "Client connections open now.",
            self.connections.active() as i64,
        )
    }
}

impl Metrics {
    /// The metrics of a gateway for `api` on `stage`.
    pub fn new(
        api: &'static str,
        stage: &'static str,
        flavor: Flavor,
        detailed: &'static [(&'static str, bool)],
        sources: Sources,
    ) -> Metrics {
        let mut registry = Registry::default();
        let counts = Arc::new(Counts::default());
        let count = Family::<RouteLabels, Counter>::default();
        let client_errors = Family::<RouteLabels, Counter>::default();
        let server_errors = Family::<RouteLabels, Counter>::default();
        let latency: Histograms = Family::new_with_constructor(latency_histogram);
        let integration_latency: Histograms = Family::new_with_constructor(latency_histogram);
        let cache_hits = Family::<RouteLabels, Counter>::default();
        let cache_misses = Family::<RouteLabels, Counter>::default();
        let data_processed = Family::<RouteLabels, Counter>::default();
        let refused = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "apigateway_count",
            "Requests (CloudWatch: Count).",
            count.clone(),
        );
        let (e4, e5) = match flavor {
            Flavor::Rest => ("apigateway_4xx_error", "apigateway_5xx_error"),
            Flavor::Http => ("apigateway_4xx", "apigateway_5xx"),
        };
        registry.register(
            e4,
            "Client errors, 4xx answers (CloudWatch).",
            client_errors.clone(),
        );
        registry.register(
            e5,
            "Server errors, 5xx answers (CloudWatch).",
            server_errors.clone(),
        );
        registry.register(
            "apigateway_latency_seconds",
            "Seconds from receiving a request to answering it (CloudWatch: Latency, in ms there).",
            latency.clone(),
        );
        registry.register(
            "apigateway_integration_latency_seconds",
            "Seconds from calling the backend to its answer (CloudWatch: IntegrationLatency, in ms there).",
            integration_latency.clone(),
        );
        match flavor {
            Flavor::Rest => {
                registry.register(
                    "apigateway_cache_hit_count",
                    "Requests answered from the stage cache (CloudWatch: CacheHitCount).",
                    cache_hits.clone(),
                );
                registry.register(
                    "apigateway_cache_miss_count",
                    "Cacheable requests the stage cache did not hold (CloudWatch: CacheMissCount).",
                    cache_misses.clone(),
                );
            }
            Flavor::Http => {
                registry.register(
                    "apigateway_data_processed_bytes",
                    "Bytes of requests and responses (CloudWatch: DataProcessed).",
                    data_processed.clone(),
                );
            }
        }
        registry.register(
            "specgate_refused_requests",
            "Requests refused by a throttle or a quota (reason: throttle, quota).",
            refused.clone(),
        );
        // Present from the start (at 0), so that dashboards and alerts see the series.
        for reason in ["throttle", "quota"] {
            let _ = refused.get_or_create(&ReasonLabels { api, stage, reason });
        }
        registry.register_collector(Box::new(ProcessCollector {
            connections: sources.connections,
            usage: sources.usage,
            lambda: sources.lambda,
            counts: counts.clone(),
        }));
        Metrics {
            registry,
            api,
            stage,
            flavor,
            detailed,
            count,
            client_errors,
            server_errors,
            latency,
            integration_latency,
            cache_hits,
            cache_misses,
            data_processed,
            refused,
            counts,
        }
    }

    /// Whether the stage's settings give `resource`/`method` detailed metrics:
    /// `/path/METHOD`, then `/path/*`, then `*/*`.
    fn detailed_for(&self, resource: &str, method: &str) -> bool {
        let find = |p: &str, m: &str| {
            self.detailed.iter().find_map(|(k, on)| {
                let (kp, km) = k.rsplit_once('/')?;
                (kp == p && km == m).then_some(*on)
            })
        };
        find(resource, method)
            .or_else(|| find(resource, "*"))
            .or_else(|| find("*", "*"))
            .unwrap_or(false)
    }

    fn route(&self, resource: &'static str, method: &http::Method) -> RouteMetrics {
        let labels = if !resource.is_empty() && self.detailed_for(resource, method.as_str()) {
            RouteLabels {
                api: self.api,
                stage: self.stage,
                resource,
                method: static_method(method),
            }
        } else {
            RouteLabels {
                api: self.api,
                stage: self.stage,
                resource: "",
                method: "",
            }
        };
        RouteMetrics {
            count: self.count.get_or_create(&labels).clone(),
            client_errors: self.client_errors.get_or_create(&labels).clone(),
            server_errors: self.server_errors.get_or_create(&labels).clone(),
            latency: self.latency.get_or_create(&labels).clone(),
            integration_latency: self.integration_latency.get_or_create(&labels).clone(),
            cache_hits: self.cache_hits.get_or_create(&labels).clone(),
            cache_misses: self.cache_misses.get_or_create(&labels).clone(),
            data_processed: self.data_processed.get_or_create(&labels).clone(),
        }
    }

    /// The text for `/metrics`: OpenMetrics when `openmetrics`, else Prometheus's text format.
    pub fn encode(&self, openmetrics: bool) -> String {
        let mut out = String::new();
        let r = if openmetrics {
            prometheus_client::encoding::text::encode(&mut out, &self.registry)
        } else {
            prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry)
        };
        if r.is_err() {
            out.clear();
        }
        out
    }
}

fn static_method(m: &http::Method) -> &'static str {
    METHODS[method_slot(m) as usize]
}

/// The methods counted apart, `OTHER` for the rest ([`method_slot`]).
const METHODS: [&str; 8] = [
    "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "OTHER",
];

/// A method's place in [`METHODS`].
fn method_slot(m: &http::Method) -> u8 {
    match *m {
        http::Method::GET => 0,
        http::Method::POST => 1,
        http::Method::PUT => 2,
        http::Method::DELETE => 3,
        http::Method::PATCH => 4,
        http::Method::HEAD => 5,
        http::Method::OPTIONS => 6,
        _ => 7,
    }
}

/// A worker's handles, by route: the resource path (by address: each is a `'static` string
/// of the generated code) and the method's slot, so that a client sending made-up methods
/// adds no entry (each would have held eight handles for good) and a key hashes as two
/// integers (foldhash, not SipHash: nothing here is chosen by a client).
#[derive(Default)]
pub struct Handles {
    routes: Mutex<HashMap<(usize, u8), RouteMetrics, foldhash::fast::FixedState>>,
}

/// What one answered request adds.
pub struct Sample {
    /// The answer's status.
    pub status: u16,
    /// Milliseconds from arrival to the answer's head.
    pub latency_ms: f64,
    /// Request and response body bytes.
    pub bytes: u64,
}

impl Handles {
    /// Counts one answered request.
    pub fn record(&self, metrics: &Metrics, cx: &Context, s: &Sample) {
        let key = (
            cx.resource_path.as_ptr() as usize ^ cx.resource_path.len(),
            method_slot(&cx.method),
        );
        // The worker's own map (the lock is never contended): recorded through the entry
        // in place, as a clone would bump and drop eight shared counts per request.
        let mut map = self.routes.lock().unwrap_or_else(|p| p.into_inner());
        let route = map
            .entry(key)
            .or_insert_with(|| metrics.route(cx.resource_path, &cx.method));
        route.count.inc();
        match s.status {
            400..=499 => {
                route.client_errors.inc();
            }
            500..=599 => {
                route.server_errors.inc();
            }
            _ => {}
        }
        route.latency.observe(s.latency_ms / 1000.0);
        if let Some(ms) = cx.integration_ms {
            route.integration_latency.observe(ms / 1000.0);
        }
        match (metrics.flavor, cx.cache_status) {
            (Flavor::Rest, Some("hit")) => {
                route.cache_hits.inc();
            }
            (Flavor::Rest, Some("miss")) => {
                route.cache_misses.inc();
            }
            (Flavor::Http, _) => {
                route.data_processed.inc_by(s.bytes);
            }
            _ => {}
        }
        let reason = match cx.error.as_ref().map(|e| e.0) {
            Some(ResponseType::Throttled) => Some("throttle"),
            Some(ResponseType::QuotaExceeded) => Some("quota"),
            _ => None,
        };
        if let Some(reason) = reason {
            metrics
                .refused
                .get_or_create(&ReasonLabels {
                    api: metrics.api,
                    stage: metrics.stage,
                    reason,
                })
                .inc();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_up_methods_share_one_entry_per_route() {
        let metrics = Metrics::new(
            "api",
            "prod",
            Flavor::Rest,
            &[],
            Sources {
                connections: crate::conn::Limit::new(16),
                usage: None,
                lambda: None,
            },
        );
        let handles = Handles::default();
        let mut parts = http::Request::new(()).into_parts().0;
        let mut cx = Context::for_tests(&mut parts);
        cx.resource_path = "/things";
        let sample = Sample {
            status: 200,
            latency_ms: 1.0,
            bytes: 0,
        };
        for i in 0..50 {
            cx.method = http::Method::from_bytes(format!("M{i}").as_bytes()).unwrap();
            handles.record(&metrics, &cx, &sample);
        }
        cx.method = http::Method::GET;
        handles.record(&metrics, &cx, &sample);
        let routes = handles.routes.lock().unwrap();
        assert_eq!(routes.len(), 2);
        let other = &routes[&(
            cx.resource_path.as_ptr() as usize ^ cx.resource_path.len(),
            method_slot(&http::Method::from_bytes(b"M1").unwrap()),
        )];
        // Without detailed metrics every request counts under the stage's labels.
        assert_eq!(other.count.get(), 51);
    }
}
