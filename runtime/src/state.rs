//! The runtime's shared state: what generated handlers get besides the request
//! ([`Runtime`], one per worker) and what the workers of a process share ([`Shared`]).
//!
//! It sits between the clients it holds (the upstream pool, the Lambda functions, caches)
//! and the request phases that use it (`upstream`, `lambda`, `auth`, `jwt`, `validate`,
//! `vtl::mapping`); none of those is imported here, so the modules form no cycle.

use std::sync::Arc;

use crate::config::Config;
use crate::context::Context;
use crate::responses::{self, ResponseType};
use crate::upstream::pool;
use crate::{caches, conn, usage, ApiInfo, Response};

/// What handlers get besides the request: the upstream client, stage, configuration.
pub struct Runtime {
    /// Static facts about the API.
    pub info: &'static ApiInfo,
    /// The shared upstream connection pool.
    pub client: pool::Client,
    /// This worker's own plain HTTP/1 connections to backends named by IP address.
    pub local_pool: pool::Local,
    /// The configuration the gateway was started with.
    pub config: Config,
    /// Lambda functions (shared by every worker).
    pub lambda: Arc<crate::lambda::functions::Lambda>,
    /// What the workers of this process share.
    pub shared: Arc<Shared>,
    pub(crate) log: crate::log::Buffer,
    /// This worker's execution-log buffer.
    pub(crate) exec_log: crate::log::Buffer,
    /// The stage's execution-log settings.
    pub(crate) exec_settings: &'static [(&'static str, crate::exec_log::Setting)],
    /// This worker's connection to Redis (`--state redis://…`), made on first use.
    redis: usage::RedisConnection,
    pub(crate) stage: Arc<str>,
    pub(crate) stage_vars: Arc<Vec<(String, String)>>,
    /// This worker's handles on the per-route metrics.
    pub(crate) metric_handles: crate::metrics::Handles,
    /// The stage's access-log format, if it has one.
    pub(crate) access_log: Option<&'static [crate::access_log::Part]>,
}

/// What every worker of a gateway process shares (besides the Lambda functions).
pub struct Shared {
    /// Lambda authorizer results.
    pub authorizers: caches::Authorizers,
    /// JWT issuers' signing keys.
    pub jwks: caches::Jwks,
    /// The process-wide connection limit.
    pub connections: Arc<conn::Limit>,
    /// API keys, usage plans, throttles and quotas.
    pub usage: Arc<usage::Usage>,
    /// The stage cache (`cacheClusterEnabled`).
    pub cache: Option<crate::cache::StageCache>,
    /// Metrics for `/metrics`.
    pub metrics: crate::metrics::Metrics,
    /// Set when the gateway stops accepting (`/readyz` answers 503).
    pub draining: std::sync::atomic::AtomicBool,
    /// IAM principals and the resource policy.
    pub access: crate::principals::Access,
}

impl Runtime {
    /// A runtime for `info` with `config` (stage chosen and variables merged here), with
    /// its own Lambda functions and shared state.
    pub fn new(info: &'static ApiInfo, config: Config) -> Result<Runtime, String> {
        let missing: Vec<&str> = info
            .vpc_links
            .iter()
            .copied()
            .filter(|id| !config.vpc_links.iter().any(|(k, _)| k == id))
            .collect();
        if !missing.is_empty() {
            return Err(format!(
                "the API sends requests through VPC link{} {}; give the private address of each: {}",
                if missing.len() == 1 { "" } else { "s" },
                missing.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", "),
                missing.iter().map(|m| format!("--vpc-link {m}=HOST:PORT")).collect::<Vec<_>>().join(" ")
            ));
        }
        let lambda = crate::lambda::functions::Lambda::new(&config)?;
        let max = config
            .max_connections
            .unwrap_or_else(conn::default_max_connections);
        let (stage_info, stage) = stage_of(info, &config)?;
        let account = (config.account_rate_limit > 0.0).then_some(usage::Throttle {
            rate: config.account_rate_limit,
            burst: config.account_burst_limit,
        });
        let usage = usage::Usage::new(
            &stage,
            info.usage_plans,
            stage_info.map_or(&[], |s| s.throttles),
            account,
            info.api_key_source,
            &usage::StateConfig {
                url: config.state.as_deref(),
                dir: &config.state_dir,
                namespace: info.title,
                fail_open: config.state_failure == crate::config::StateFailure::Open,
            },
        )?;
        let connections = conn::Limit::new(max);
        let usage = Arc::new(usage);
        // One stage per process: its name lives as long as the process.
        let stage_name: &'static str = Box::leak(stage.to_string().into_boxed_str());
        let metrics = crate::metrics::Metrics::new(
            info.title,
            stage_name,
            info.flavor,
            stage_info.map_or(&[], |s| s.detailed_metrics),
            crate::metrics::Sources {
                connections: connections.clone(),
                usage: Some(usage.clone()),
                lambda: Some(lambda.clone()),
            },
        );
        let shared = Arc::new(Shared {
            authorizers: caches::Authorizers::default(),
            jwks: caches::Jwks::default(),
            connections,
            usage,
            metrics,
            draining: std::sync::atomic::AtomicBool::new(false),
            access: crate::principals::Access::new(
                info,
                crate::policy::Scope {
                    region: config.region.clone(),
                    account: config.account_id.clone(),
                    api: config.api_id.clone(),
                },
                config.state.as_deref(),
                &config.state_dir,
                &config.secrets_key_path(),
            )?,
            cache: crate::cache::StageCache::new(
                stage_info.and_then(|s| s.cache),
                config
                    .state
                    .as_deref()
                    .map(|url| -> Result<_, String> {
                        Ok(crate::cache::Shared {
                            client: redis::Client::open(url).map_err(|e| {
                                format!("{}: {e}", crate::redis_state::redacted(url))
                            })?,
                            prefix: crate::redis_state::prefix(info.title),
                        })
                    })
                    .transpose()?,
            ),
        });
        Self::build(info, config, lambda, shared)
    }

    /// A runtime for another worker: it shares this one's Lambda functions, caches and
    /// connection limit.
    pub fn sibling(&self, config: Config) -> Result<Runtime, String> {
        Self::build(self.info, config, self.lambda.clone(), self.shared.clone())
    }

    fn build(
        info: &'static ApiInfo,
        config: Config,
        lambda: Arc<crate::lambda::functions::Lambda>,
        shared: Arc<Shared>,
    ) -> Result<Runtime, String> {
        let (stage_info, stage) = stage_of(info, &config)?;
        let mut vars: Vec<(String, String)> = stage_info
            .map(|s| {
                s.variables
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect()
            })
            .unwrap_or_default();
        for (k, v) in &config.stage_vars {
            match vars.iter_mut().find(|(n, _)| n == k) {
                Some(slot) => slot.1 = v.clone(),
                None => vars.push((k.clone(), v.clone())),
            }
        }
        Ok(Runtime {
            info,
            client: pool::client()?,
            local_pool: pool::Local::default(),
            config,
            lambda,
            shared,
            log: crate::log::Buffer::new(),
            exec_log: crate::log::Buffer::to(&crate::log::EXECUTION),
            exec_settings: stage_info.map_or(&[], |s| s.execution_logs),
            redis: usage::RedisConnection::new(),
            stage,
            stage_vars: Arc::new(vars),
            metric_handles: crate::metrics::Handles::default(),
            access_log: stage_info.and_then(|s| s.access_log),
        })
    }

    /// API keys, throttles and quotas for this request (API Gateway checks them after
    /// authorizers, before validation): the gateway response that refuses it, if one does.
    /// Counted in this process without waiting; in Redis through a future of its own (the
    /// route's future does not carry its state).
    pub async fn refusal(&self, cx: &mut Context, key_required: bool) -> Option<Response> {
        let usage = &self.shared.usage;
        let verdict = match usage.admit_here(cx, key_required) {
            Some(v) => v,
            None => crate::boxed(usage.admit(cx, key_required, &self.redis)).await,
        };
        Some(self.gateway_response(cx, verdict.err()?))
    }

    /// Asks the stage cache about this request (after validation, before the integration).
    pub async fn cache_lookup(
        &self,
        cx: &mut Context,
        parts: &crate::cache::KeyParts,
    ) -> crate::cache::Step {
        use crate::cache::{Lookup, Step};
        let Some(cache) = &self.shared.cache else {
            return Step::Off;
        };
        match cache.lookup(cx, parts, &self.redis).await {
            Lookup::Off => Step::Off,
            Lookup::Hit(r) => Step::Answer(r),
            Lookup::Refused(kind) => Step::Answer(self.gateway_response(cx, kind)),
            Lookup::Miss(t) => Step::Miss(t),
        }
    }

    /// Keeps the integration's answer for a cache miss.
    pub async fn cache_store(&self, ticket: crate::cache::Ticket, mut resp: Response) -> Response {
        match &self.shared.cache {
            Some(cache) => {
                // The entry keeps the fields in a map.
                crate::framing::RawFields::materialize(&mut resp);
                cache.store(ticket, resp, &self.redis).await
            }
            None => resp,
        }
    }

    /// A gateway response of `kind` with its default (or customised) message.
    pub fn gateway_response(&self, cx: &mut Context, kind: ResponseType) -> Response {
        responses::render(
            self.info.flavor,
            self.info.gateway_responses,
            cx,
            kind,
            None,
        )
    }

    /// A gateway response of `kind` with a specific message.
    pub fn gateway_response_with(
        &self,
        cx: &mut Context,
        kind: ResponseType,
        message: String,
    ) -> Response {
        responses::render(
            self.info.flavor,
            self.info.gateway_responses,
            cx,
            kind,
            Some(message),
        )
    }
}

/// The stage `config` serves (its facts when the spec defines it) and its name.
fn stage_of(
    info: &'static ApiInfo,
    config: &Config,
) -> Result<(Option<&'static crate::StageInfo>, Arc<str>), String> {
    let stage_info = match &config.stage {
        Some(name) => match info.stages.iter().find(|s| s.name == name) {
            Some(s) => Some(s),
            None if info.stages.is_empty() => None,
            None => {
                let names: Vec<&str> = info.stages.iter().map(|s| s.name).collect();
                return Err(format!(
                    "stage `{name}` is not defined; this gateway has: {}",
                    names.join(", ")
                ));
            }
        },
        None => info.stages.first(),
    };
    let stage: Arc<str> = match (&config.stage, stage_info) {
        (_, Some(s)) => s.name.into(),
        (Some(n), None) => n.as_str().into(),
        (None, None) => "$default".into(),
    };
    Ok((stage_info, stage))
}
