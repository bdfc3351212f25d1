//! Lambda authorizers (reference §1.3): REST `token` and `request` authorizers and HTTP
//! API request authorizers (IAM policy or simple responses). The identity sources are read,
//! the result is cached by them for `authorizerResultTtlInSeconds`, the function's policy is
//! evaluated against the request's method ARN (with `*` and `?` wildcards), and what it
//! returned becomes `$context.authorizer` / `requestContext.authorizer`.

use std::time::{Duration, Instant};

use bytes::Bytes;
use regex::Regex;
use serde_json::{json, Map, Value};

use crate::context::{Context, Var};
use crate::lambda::{InvocationType, InvokeError};
use crate::responses::ResponseType;
use crate::state::Runtime;
use crate::{Flavor, Response};

/// Which authorizer it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// REST `token`: one header, `{"type": "TOKEN", "authorizationToken", "methodArn"}`.
    Token,
    /// REST `request`: the request's parameters, `{"type": "REQUEST", …}`.
    Request,
    /// HTTP API request authorizer (`simple`: `{"isAuthorized"}` responses instead of IAM
    /// policies, payload format 2.0 only).
    Http {
        /// `enableSimpleResponses`.
        simple: bool,
        /// `authorizerPayloadFormatVersion` is `1.0`.
        v1: bool,
    },
}

/// Where an identity source is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identity {
    /// `method.request.header.X` / `$request.header.X`.
    Header(&'static str),
    /// `method.request.querystring.X` / `$request.querystring.X`.
    Query(&'static str),
    /// `stageVariables.X` / `$stageVariables.X`.
    StageVar(&'static str),
    /// `context.X` / `$context.X`.
    Context(Var),
}

/// A Lambda authorizer as the generated code describes it.
#[derive(Debug)]
pub struct LambdaAuthorizer {
    /// The security scheme's name (the cache is per authorizer).
    pub name: &'static str,
    /// Token, request or HTTP.
    pub kind: Kind,
    /// The function's region.
    pub region: &'static str,
    /// `identitySource`.
    pub identity: &'static [Identity],
    /// `authorizerResultTtlInSeconds`.
    pub ttl_seconds: u64,
}

fn identity_value(cx: &Context, i: Identity) -> Option<String> {
    let v = match i {
        Identity::Header(h) => cx.header(h).map(str::to_string),
        Identity::Query(q) => cx.query_param(q),
        Identity::StageVar(s) => cx.stage_var(s).map(str::to_string),
        Identity::Context(v) => cx.var(v).map(|s| s.into_owned()),
    };
    v.filter(|s| !s.is_empty())
}

/// The ARN a policy is evaluated against: `arn:aws:execute-api:{region}:{account}:{api}/
/// {stage}/{METHOD}/{path}` (HTTP APIs: the route ARN, the same shape).
pub fn method_arn(cx: &Context, region: &str) -> String {
    format!(
        "arn:aws:execute-api:{region}:{}:{}/{}/{}{}",
        cx.var(Var::AccountId).unwrap_or_default(),
        cx.var(Var::ApiId).unwrap_or_default(),
        cx.stage,
        cx.method.as_str(),
        cx.path
    )
}

/// Runs the authorizer for this request: `Ok` (with `cx.authorizer` set) lets it through,
/// `Err` is the gateway's answer (401, 403 or 500).
pub async fn lambda(
    rt: &Runtime,
    cx: &mut Context,
    a: &LambdaAuthorizer,
    function: &str,
    validation: Option<&Regex>,
) -> Result<(), Response> {
    let values: Vec<Option<String>> = a.identity.iter().map(|i| identity_value(cx, *i)).collect();
    // A missing identity source is a 401 without calling the function.
    if values.iter().any(Option::is_none) {
        return Err(rt.gateway_response(cx, ResponseType::Unauthorized));
    }
    let values: Vec<String> = values.into_iter().flatten().collect();
    if let (Kind::Token, Some(re), Some(token)) = (a.kind, validation, values.first()) {
        if !re.is_match(token) {
            return Err(rt.gateway_response(cx, ResponseType::Unauthorized));
        }
    }
    let arn = method_arn(cx, a.region);
    let key = (a.name.to_string(), values.join("\u{1f}"));
    let cached = if a.ttl_seconds > 0 {
        rt.shared.authorizers.get(&key)
    } else {
        None
    };
    let counts = &rt.shared.metrics.counts;
    let output = match cached {
        Some(v) => {
            counts
                .authorizer_cache_hits
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            v
        }
        None => {
            counts
                .authorizer_cache_misses
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let event = event(cx, a, &arn, &values);
            let started = Instant::now();
            let invoked = rt
                .lambda
                .invoke(
                    &rt.client,
                    function,
                    a.region,
                    Bytes::from(event.to_string()),
                    InvocationType::RequestResponse,
                    // An authorizer has 10 s (reference §1.3).
                    Duration::from_secs(10),
                    cx.trace_id().as_deref(),
                )
                .await;
            cx.span(
                "authorizer",
                started.elapsed(),
                invoked.as_ref().map_or(true, |o| o.function_error),
            );
            let ms = started.elapsed().as_millis();
            match &invoked {
                Ok(o) if !o.function_error => {
                    cx.exec_info(|| format!("Authorizer {function} answered in {ms} ms"))
                }
                Ok(_) => cx.exec_error(|| {
                    format!("Execution failed: the authorizer {function} failed ({ms} ms)")
                }),
                Err(e) => cx.exec_error(|| {
                    format!(
                        "Execution failed due to configuration error: authorizer {function}: {e:?}"
                    )
                }),
            }
            let out = match invoked {
                Ok(out) => out,
                Err(InvokeError::Timeout | InvokeError::Failed(_) | InvokeError::TooLarge) => {
                    return Err(rt.gateway_response(cx, ResponseType::AuthorizerConfigurationError));
                }
            };
            if out.function_error {
                // `throw new Error("Unauthorized")` is the documented way to answer 401.
                if crate::lambda::error_message(&out) == "Unauthorized" {
                    return Err(rt.gateway_response(cx, ResponseType::Unauthorized));
                }
                return Err(rt.gateway_response(cx, ResponseType::AuthorizerConfigurationError));
            }
            let Ok(mut v) = serde_json::from_slice::<Value>(&out.payload) else {
                return Err(rt.gateway_response(cx, ResponseType::AuthorizerConfigurationError));
            };
            if let Value::Object(m) = &mut v {
                m.insert(
                    "integrationLatency".into(),
                    Value::from(started.elapsed().as_millis() as u64),
                );
            }
            if a.ttl_seconds > 0 {
                rt.shared
                    .authorizers
                    .put(key, Duration::from_secs(a.ttl_seconds), v.clone());
            }
            v
        }
    };
    match decide(a.kind, &output, &arn) {
        Decision::Allow(context) => {
            cx.authorizer = Some(context);
            // The API key of `x-amazon-apigateway-api-key-source: AUTHORIZER`.
            cx.usage_identifier_key = output
                .get("usageIdentifierKey")
                .and_then(Value::as_str)
                .map(str::to_string);
            Ok(())
        }
        Decision::Deny { explicit } => Err(match (rt.info.flavor, explicit) {
            (Flavor::Rest, true) => rt.gateway_response_with(
                cx,
                ResponseType::AccessDenied,
                "User is not authorized to access this resource with an explicit deny".into(),
            ),
            _ => rt.gateway_response(cx, ResponseType::AccessDenied),
        }),
        Decision::Invalid => {
            Err(rt.gateway_response(cx, ResponseType::AuthorizerConfigurationError))
        }
    }
}

fn event(cx: &Context, a: &LambdaAuthorizer, arn: &str, values: &[String]) -> Value {
    match a.kind {
        Kind::Token => json!({
            "type": "TOKEN",
            "authorizationToken": values.first().cloned().unwrap_or_default(),
            "methodArn": arn,
        }),
        Kind::Request => {
            let mut e = crate::lambda::event::v1(cx, &Bytes::new(), &[], None);
            if let Value::Object(m) = &mut e {
                m.remove("body");
                m.remove("isBase64Encoded");
                let rest = std::mem::take(m);
                m.insert("type".into(), json!("REQUEST"));
                m.insert("methodArn".into(), json!(arn));
                m.extend(rest);
            }
            e
        }
        Kind::Http { v1: true, .. } => {
            // Payload 1.0: the REST request event with the identity joined by commas.
            let joined = values.join(",");
            let mut e = crate::lambda::event::v1(cx, &Bytes::new(), &[], Some("1.0"));
            if let Value::Object(m) = &mut e {
                m.remove("body");
                m.remove("isBase64Encoded");
                m.insert("type".into(), json!("REQUEST"));
                m.insert("methodArn".into(), json!(arn));
                m.insert("identitySource".into(), json!(joined));
                m.insert("authorizationToken".into(), json!(joined));
            }
            e
        }
        Kind::Http { .. } => {
            let route_key = cx
                .route_key
                .clone()
                .unwrap_or_else(|| "$default".to_string());
            let mut e = crate::lambda::event::v2(cx, &Bytes::new(), &route_key);
            if let Value::Object(m) = &mut e {
                m.remove("body");
                m.remove("isBase64Encoded");
                m.insert("type".into(), json!("REQUEST"));
                m.insert("routeArn".into(), json!(arn));
                m.insert("identitySource".into(), json!(values));
            }
            e
        }
    }
}

/// What the authorizer's answer means for this request.
#[derive(Debug, PartialEq)]
pub enum Decision {
    /// Let it through, with this `$context.authorizer`.
    Allow(Value),
    /// 403; `explicit` when a `Deny` statement matched.
    Deny {
        /// A `Deny` matched (REST words its message differently).
        explicit: bool,
    },
    /// The answer is not one an authorizer may give: 500.
    Invalid,
}

/// Reads an authorizer's output.
pub fn decide(kind: Kind, output: &Value, arn: &str) -> Decision {
    let Some(m) = output.as_object() else {
        return Decision::Invalid;
    };
    let context = match m.get("context") {
        None | Some(Value::Null) => Map::new(),
        // HTTP APIs pass any JSON through.
        Some(Value::Object(c)) if matches!(kind, Kind::Http { .. }) => c.clone(),
        Some(Value::Object(c)) => {
            // REST: only strings, numbers and booleans, and each is read as a string.
            if c.values().any(|v| v.is_object() || v.is_array()) {
                return Decision::Invalid;
            }
            c.iter()
                .map(|(k, v)| (k.clone(), Value::String(crate::vtl::render(v))))
                .collect()
        }
        Some(_) => return Decision::Invalid,
    };
    if let Kind::Http { simple: true, .. } = kind {
        return match m.get("isAuthorized") {
            Some(Value::Bool(true)) => Decision::Allow(json!({"lambda": context})),
            Some(Value::Bool(false)) => Decision::Deny { explicit: false },
            _ => Decision::Invalid,
        };
    }
    let Some(principal) = m.get("principalId").and_then(Value::as_str) else {
        return Decision::Invalid;
    };
    let Some(statements) = m
        .get("policyDocument")
        .and_then(|p| p.get("Statement"))
        .and_then(Value::as_array)
    else {
        return Decision::Invalid;
    };
    let mut allowed = false;
    for s in statements {
        let effect = s.get("Effect").and_then(Value::as_str).unwrap_or("");
        let action = one_or_many(s.get("Action"));
        let resource = one_or_many(s.get("Resource"));
        let applies = action
            .iter()
            .any(|a| matches!(a.as_str(), "*" | "execute-api:*" | "execute-api:Invoke"))
            && resource.iter().any(|r| wildcard(r, arn));
        if !applies {
            continue;
        }
        match effect {
            "Deny" => return Decision::Deny { explicit: true },
            "Allow" => allowed = true,
            _ => return Decision::Invalid,
        }
    }
    if !allowed {
        return Decision::Deny { explicit: false };
    }
    let mut auth = Map::new();
    auth.insert("principalId".into(), Value::String(principal.to_string()));
    if let Some(l) = m.get("integrationLatency") {
        auth.insert("integrationLatency".into(), l.clone());
    }
    auth.extend(context);
    match kind {
        Kind::Http { .. } => Decision::Allow(json!({"lambda": auth})),
        _ => Decision::Allow(Value::Object(auth)),
    }
}

fn one_or_many(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// IAM's wildcard match: `*` is any run of characters (`/` included), `?` one character.
pub fn wildcard(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str = "arn:aws:execute-api:us-east-1:000000000000:specgate/test/GET/pets/42";

    fn policy(effect: &str, resource: &str) -> Value {
        json!({
            "principalId": "user-1",
            "policyDocument": {"Version": "2012-10-17", "Statement": [
                {"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}
            ]},
            "context": {"tenant": "acme", "n": 1, "ok": true},
        })
    }

    #[test]
    fn wildcards() {
        assert!(wildcard("arn:aws:execute-api:*:*:*/test/GET/pets/*", ARN));
        assert!(wildcard("*", ARN));
        assert!(wildcard(
            "arn:aws:execute-api:us-east-1:000000000000:specgate/*",
            ARN
        ));
        assert!(wildcard(
            "arn:aws:execute-api:us-east-1:000000000000:specgate/test/GET/pets/4?",
            ARN
        ));
        assert!(!wildcard(
            "arn:aws:execute-api:us-east-1:000000000000:specgate/test/POST/*",
            ARN
        ));
        assert!(!wildcard(
            "arn:aws:execute-api:us-east-1:000000000000:specgate/test/GET/pets",
            ARN
        ));
    }

    #[test]
    fn policies() {
        let allow = decide(
            Kind::Token,
            &policy("Allow", "arn:aws:execute-api:*:*:*/test/GET/*"),
            ARN,
        );
        assert_eq!(
            allow,
            Decision::Allow(
                json!({"principalId": "user-1", "tenant": "acme", "n": "1", "ok": "true"})
            )
        );
        assert_eq!(
            decide(Kind::Token, &policy("Deny", "*"), ARN),
            Decision::Deny { explicit: true }
        );
        assert_eq!(
            decide(
                Kind::Token,
                &policy("Allow", "arn:aws:execute-api:*:*:*/test/POST/*"),
                ARN
            ),
            Decision::Deny { explicit: false }
        );
        assert_eq!(
            decide(Kind::Token, &json!({"principalId": "x"}), ARN),
            Decision::Invalid
        );
        let nested = json!({"principalId": "x", "policyDocument": {"Statement": []}, "context": {"a": {"b": 1}}});
        assert_eq!(decide(Kind::Token, &nested, ARN), Decision::Invalid);
        assert_eq!(
            decide(
                Kind::Http {
                    simple: true,
                    v1: false,
                },
                &json!({"isAuthorized": true, "context": {"a": "b"}}),
                ARN
            ),
            Decision::Allow(json!({"lambda": {"a": "b"}}))
        );
        assert_eq!(
            decide(
                Kind::Http {
                    simple: true,
                    v1: false,
                },
                &json!({"isAuthorized": false}),
                ARN
            ),
            Decision::Deny { explicit: false }
        );
    }
}
