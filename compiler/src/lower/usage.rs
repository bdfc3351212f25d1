//! Lowering: API management — `x-specgate-usage-plans` (AWS's usage-plan fields) and the
//! throttles of a stage's `methodSettings`.

use super::*;

/// A method key and whether it has detailed metrics.
type MetricsSetting = (Spanned<String>, bool);

impl<'a> Cx<'a> {
    /// A number of requests per second (`rateLimit`), a non-negative finite number.
    fn rate(&mut self, node: &Node, what: &str) -> Option<f64> {
        let v = node
            .as_f64()
            .or_else(|| node.as_str().and_then(|s| s.trim().parse::<f64>().ok()));
        match v {
            Some(r) if r.is_finite() && r >= 0.0 => Some(r),
            Some(_) => {
                self.d
                    .error(
                        &codes::INVALID_LIMIT,
                        node.span,
                        format!("{what} must be a number of requests per second, 0 or more"),
                    )
                    .label("out of range");
                None
            }
            None => {
                self.type_error(node, what, "a number");
                None
            }
        }
    }

    /// A count that fits API Gateway's integer fields (`burstLimit`, `limit`, `offset`).
    fn count(&mut self, node: &Node, what: &str, max: i64) -> Option<i64> {
        let v = self.integer(node, what)?;
        if !(0..=max).contains(&v) {
            self.d
                .error(
                    &codes::INVALID_LIMIT,
                    node.span,
                    format!("{what} must be between 0 and {max}"),
                )
                .label("out of range");
            return None;
        }
        Some(v)
    }

    /// A throttle object with `rate`/`burst` named as given. Both are required.
    fn throttle(
        &mut self,
        node: &'a Node,
        what: &str,
        rate: &str,
        burst: &str,
    ) -> Option<Throttle> {
        self.object(node, what, &[rate, burst], Vocab::Extension)?;
        let r = match node.get(rate) {
            Some(n) => self.rate(n, rate),
            None => {
                self.d
                    .error(
                        &codes::INVALID_VALUE,
                        node.span,
                        format!("{what} has no `{rate}`"),
                    )
                    .help(format!(
                        "a throttle has `{rate}` (requests per second) and `{burst}`"
                    ));
                None
            }
        };
        let b = match node.get(burst) {
            Some(n) => self.count(n, burst, i64::from(u32::MAX)),
            None => {
                self.d
                    .error(
                        &codes::INVALID_VALUE,
                        node.span,
                        format!("{what} has no `{burst}`"),
                    )
                    .help(format!(
                        "a throttle has `{rate}` (requests per second) and `{burst}`"
                    ));
                None
            }
        };
        Some(Throttle {
            rate: r?,
            burst: u32::try_from(b?).ok()?,
        })
    }

    /// An object of `known` fields and of `planned` ones, which are reported as not
    /// implemented yet (`help` says what the object does carry).
    pub(super) fn object_with_planned(
        &mut self,
        node: &'a Node,
        what: &str,
        known: &[&str],
        planned: &[&str],
        help: &str,
    ) -> Option<()> {
        let all: Vec<&str> = known.iter().chain(planned).copied().collect();
        self.object(node, what, &all, Vocab::Extension)?;
        for p in planned {
            if let Some(k) = node.entry(p) {
                self.unsupported(
                    k.key_span,
                    format!("`{p}` in {what} is not implemented yet"),
                    help,
                );
            }
        }
        Some(())
    }

    /// `throttlingRateLimit`/`throttlingBurstLimit` when either is set (a method or route
    /// setting may carry none).
    fn setting_throttle(&mut self, node: &'a Node, what: &str) -> Option<Throttle> {
        const RATE: &str = "throttlingRateLimit";
        const BURST: &str = "throttlingBurstLimit";
        if node.get(RATE).is_none() && node.get(BURST).is_none() {
            return None;
        }
        self.throttle(node, what, RATE, BURST)
    }

    /// A method key: `*/*` or `/resource/path/METHOD` (`*` for any method).
    fn method_key(&mut self, key: &str, span: Span) -> bool {
        if key == "*/*" {
            return true;
        }
        let ok = key.starts_with('/')
            && key.rsplit_once('/').is_some_and(|(path, m)| {
                !path.is_empty()
                    && (m == "*"
                        || OPERATION_METHODS
                            .iter()
                            .any(|(n, _)| n.eq_ignore_ascii_case(m))
                        || m == "ANY")
            });
        if !ok {
            self.d
                .error(
                    &codes::INVALID_VALUE,
                    span,
                    format!("`{key}` is not a method key"),
                )
                .help("method keys are `*/*` or the resource path and method, as in `/pets/{petId}/GET`");
        }
        ok
    }

    /// A stage's `methodSettings`: throttles, caching, detailed metrics, execution logs.
    #[allow(clippy::type_complexity)]
    pub(super) fn method_settings(
        &mut self,
        node: &'a Node,
    ) -> (
        Vec<(Spanned<String>, Throttle)>,
        Vec<(Spanned<String>, CacheSetting)>,
        Vec<MetricsSetting>,
        Vec<(Spanned<String>, ExecutionLog)>,
    ) {
        const CACHING: &[&str] = &[
            "cachingEnabled",
            "cacheTtlInSeconds",
            "requireAuthorizationForCacheControl",
            "unauthorizedCacheControlHeaderStrategy",
        ];
        const PLANNED: &[&str] = &["cacheDataEncrypted"];
        let mut throttles = Vec::new();
        let mut caching = Vec::new();
        let mut metrics = Vec::new();
        let mut logs = Vec::new();
        let Some(entries) = node.as_object() else {
            self.type_error(node, "methodSettings", "an object of method keys");
            return (throttles, caching, metrics, logs);
        };
        for e in entries {
            if !self.method_key(&e.key, e.key_span) {
                continue;
            }
            let mut known = vec![
                "throttlingRateLimit",
                "throttlingBurstLimit",
                "metricsEnabled",
                "loggingLevel",
                "dataTraceEnabled",
            ];
            known.extend(CACHING);
            if self
                .object_with_planned(
                    &e.value,
                    "a method setting",
                    &known,
                    PLANNED,
                    "method settings carry throttles, caching and metrics for now",
                )
                .is_none()
            {
                continue;
            }
            if let Some(on) = e
                .value
                .get("metricsEnabled")
                .and_then(|n| self.boolean(n, "metricsEnabled"))
            {
                metrics.push((Spanned::new(e.key.clone(), e.key_span), on));
            }
            let logging = ExecutionLog {
                level: e.value.get("loggingLevel").and_then(|n| {
                    self.one_of(n, "loggingLevel", &[("OFF", 0), ("ERROR", 1), ("INFO", 2)])
                }),
                data_trace: e
                    .value
                    .get("dataTraceEnabled")
                    .and_then(|n| self.boolean(n, "dataTraceEnabled")),
            };
            if logging != ExecutionLog::default() {
                logs.push((Spanned::new(e.key.clone(), e.key_span), logging));
            }
            if let Some(t) = self.setting_throttle(&e.value, "a method setting") {
                throttles.push((Spanned::new(e.key.clone(), e.key_span), t));
            }
            if CACHING.iter().any(|k| e.value.get(k).is_some()) {
                let mut c = CacheSetting::default();
                if let Some(n) = e.value.get("cachingEnabled") {
                    c.enabled = self.boolean(n, "cachingEnabled");
                }
                if let Some(n) = e.value.get("cacheTtlInSeconds") {
                    c.ttl = self.count(n, "cacheTtlInSeconds", 3600).map(|t| t as u32);
                }
                if let Some(n) = e.value.get("requireAuthorizationForCacheControl") {
                    c.require_authorization =
                        self.boolean(n, "requireAuthorizationForCacheControl");
                }
                if let Some(n) = e.value.get("unauthorizedCacheControlHeaderStrategy") {
                    c.unauthorized = self.one_of(
                        n,
                        "unauthorizedCacheControlHeaderStrategy",
                        &[
                            ("FAIL_WITH_403", UnauthorizedCacheControl::FailWith403),
                            (
                                "SUCCEED_WITH_RESPONSE_HEADER",
                                UnauthorizedCacheControl::SucceedWithResponseHeader,
                            ),
                            (
                                "SUCCEED_WITHOUT_RESPONSE_HEADER",
                                UnauthorizedCacheControl::SucceedWithoutResponseHeader,
                            ),
                        ],
                    );
                }
                caching.push((Spanned::new(e.key.clone(), e.key_span), c));
            }
        }
        (throttles, caching, metrics, logs)
    }

    /// An HTTP API stage's `defaultRouteSettings` and `routeSettings` throttles, as method
    /// keys (`*/*`, `/pets/GET`; `ANY /pets` is `/pets/*`).
    pub(super) fn route_settings(
        &mut self,
        stage: &'a Node,
    ) -> (Vec<(Spanned<String>, Throttle)>, Vec<MetricsSetting>) {
        let mut out = Vec::new();
        let mut metrics = Vec::new();
        let mut one = |cx: &mut Self, node: &'a Node, key: String, span: Span| {
            let planned = cx.object_with_planned(
                node,
                "route settings",
                &[
                    "throttlingRateLimit",
                    "throttlingBurstLimit",
                    "detailedMetricsEnabled",
                    "loggingLevel",
                    "dataTraceEnabled",
                ],
                &[],
                "route settings carry throttles and metrics",
            );
            for k in ["loggingLevel", "dataTraceEnabled"] {
                if let Some(e) = node.entry(k) {
                    cx.d.warning(
                        &codes::FLAVOUR_MISMATCH,
                        e.key_span,
                        format!("`{k}` applies to WebSocket APIs; HTTP APIs have no execution logs and ignore it"),
                    )
                    .help("use the access log (`accessLogSetting`) for HTTP APIs");
                }
            }
            if planned.is_some() {
                if let Some(t) = cx.setting_throttle(node, "route settings") {
                    out.push((Spanned::new(key.clone(), span), t));
                }
                if let Some(on) = node
                    .get("detailedMetricsEnabled")
                    .and_then(|n| cx.boolean(n, "detailedMetricsEnabled"))
                {
                    metrics.push((Spanned::new(key, span), on));
                }
            }
        };
        if let Some(e) = stage.entry("defaultRouteSettings") {
            one(self, &e.value, "*/*".into(), e.key_span);
        }
        for e in self.entries_of(stage, "routeSettings") {
            let key = match e.key.split_once(' ') {
                Some((m, path)) if path.starts_with('/') => {
                    let m = if m == "ANY" { "*" } else { m };
                    format!("{path}/{m}")
                }
                _ => {
                    self.d
                        .error(
                            &codes::INVALID_VALUE,
                            e.key_span,
                            format!("`{}` is not a route key", e.key),
                        )
                        .help("route keys are a method and a path, as in `GET /pets`");
                    continue;
                }
            };
            one(self, &e.value, key, e.key_span);
        }
        (out, metrics)
    }

    /// `cacheClusterSize`: one of API Gateway's sizes (GB), as MB.
    pub(super) fn cache_size(&mut self, node: &Node) -> Option<u64> {
        const SIZES: &[(&str, u64)] = &[
            ("0.5", 512),
            ("1.6", 1_638),
            ("6.1", 6_246),
            ("13.5", 13_824),
            ("28.4", 29_082),
            ("58.2", 59_597),
            ("118", 120_832),
            ("237", 242_688),
        ];
        let text = self.scalar_string(node, "cacheClusterSize")?;
        if let Some((_, mb)) = SIZES.iter().find(|(s, _)| *s == text.value) {
            return Some(*mb);
        }
        let names: Vec<&str> = SIZES.iter().map(|(s, _)| *s).collect();
        self.d
            .error(
                &codes::INVALID_VALUE,
                node.span,
                format!("`{}` is not a cache cluster size", text.value),
            )
            .help(format!("API Gateway's sizes (GB): {}", names.join(", ")));
        None
    }

    /// `x-specgate-usage-plans`: name → plan.
    pub(super) fn usage_plans(&mut self, node: &'a Node) -> Vec<UsagePlan> {
        let mut out = Vec::new();
        let Some(entries) = node.as_object() else {
            self.type_error(node, "x-specgate-usage-plans", "an object of usage plans");
            return out;
        };
        for e in entries {
            let valid = !e.key.is_empty()
                && e.key.len() <= 128
                && e.key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
            if !valid {
                self.d
                    .error(
                        &codes::INVALID_VALUE,
                        e.key_span,
                        format!("`{}` is not a valid usage plan name", e.key),
                    )
                    .help("plan names use letters, digits, `_`, `-` and `.` (at most 128)");
                continue;
            }
            if self
                .object(
                    &e.value,
                    "a usage plan",
                    &["description", "throttle", "quota", "apiStages"],
                    Vocab::Extension,
                )
                .is_none()
            {
                continue;
            }
            let throttle = e
                .value
                .get("throttle")
                .and_then(|t| self.throttle(t, "a usage plan throttle", "rateLimit", "burstLimit"));
            let quota = e.value.get("quota").and_then(|q| self.quota(q));
            let mut api_stages = Vec::new();
            for s in self.items_of(&e.value, "apiStages") {
                if self
                    .object(
                        s,
                        "an apiStages entry",
                        &["stage", "apiId", "throttle"],
                        Vocab::Extension,
                    )
                    .is_none()
                {
                    continue;
                }
                let Some(stage) = s.get("stage").and_then(|n| self.string(n, "stage")) else {
                    self.d
                        .error(
                            &codes::INVALID_VALUE,
                            s.span,
                            "an apiStages entry has no `stage`",
                        )
                        .help("name one of the stages in `x-specgate-stages`");
                    continue;
                };
                let mut throttle = Vec::new();
                for m in self.entries_of(s, "throttle") {
                    if !self.method_key(&m.key, m.key_span) || m.key == "*/*" {
                        if m.key == "*/*" {
                            self.d
                                .error(
                                    &codes::INVALID_VALUE,
                                    m.key_span,
                                    "a usage plan's method throttles name one method",
                                )
                                .help("the plan's own `throttle` covers every method");
                        }
                        continue;
                    }
                    if let Some(t) =
                        self.throttle(&m.value, "a method throttle", "rateLimit", "burstLimit")
                    {
                        throttle.push((Spanned::new(m.key.clone(), m.key_span), t));
                    }
                }
                api_stages.push(PlanStage { stage, throttle });
            }
            out.push(UsagePlan {
                name: e.key.clone(),
                throttle,
                quota,
                api_stages,
                span: e.key_span,
            });
        }
        out
    }

    fn quota(&mut self, node: &'a Node) -> Option<Quota> {
        self.object(
            node,
            "a usage plan quota",
            &["limit", "period", "offset"],
            Vocab::Extension,
        )?;
        let limit = match node.get("limit") {
            Some(n) => self.count(n, "limit", i64::MAX),
            None => {
                self.d
                    .error(&codes::INVALID_VALUE, node.span, "a quota has no `limit`")
                    .help("a quota has `limit` (requests) and `period` (DAY, WEEK or MONTH)");
                None
            }
        };
        let period = match node.get("period") {
            Some(n) => self.one_of(
                n,
                "quota period",
                &[
                    ("DAY", QuotaPeriod::Day),
                    ("WEEK", QuotaPeriod::Week),
                    ("MONTH", QuotaPeriod::Month),
                ],
            ),
            None => {
                self.d
                    .error(&codes::INVALID_VALUE, node.span, "a quota has no `period`")
                    .help("a quota has `limit` (requests) and `period` (DAY, WEEK or MONTH)");
                None
            }
        };
        let offset = match node.get("offset") {
            Some(n) => self.count(n, "offset", i64::MAX),
            None => Some(0),
        };
        let (limit, offset) = (limit? as u64, offset? as u64);
        if offset > limit {
            self.d
                .error(&codes::INVALID_LIMIT, node.span, "a quota's `offset` is larger than its `limit`")
                .help("`offset` is the number of requests taken off the limit in a key's first period");
            return None;
        }
        Some(Quota {
            limit,
            period: period?,
            offset,
        })
    }
}
