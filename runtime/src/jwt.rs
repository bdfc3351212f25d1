//! JWT authorizers (HTTP APIs, reference §1.3): the token from the identity source (with or
//! without `Bearer `), its signature checked with the issuer's keys (found through
//! `{issuer}/.well-known/openid-configuration`, cached for an hour and fetched again for an
//! unknown `kid`), `iss`, `exp`/`nbf`, `aud` (or `client_id`) and the route's scopes.
//! Only asymmetric algorithms are accepted, and only with a key of their own family, so
//! neither `alg: none` nor an HMAC token "signed" with a public key gets through.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::BodyExt;
use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

use crate::context::Context;
use crate::responses::ResponseType;
use crate::state::Runtime;
use crate::Response;

/// A JWT authorizer as the generated code describes it.
#[derive(Debug)]
pub struct JwtAuthorizer {
    /// `jwtConfiguration.issuer`, or the issuers of a Cognito authorizer's user pools.
    pub issuers: &'static [&'static str],
    /// `jwtConfiguration.audience` (not checked for Cognito).
    pub audience: &'static [&'static str],
    /// The header that holds the token (`$request.header.Authorization`).
    pub header: &'static str,
    /// A REST `cognito_user_pools` authorizer: no audience; with scopes an access token
    /// (`token_use: access`) holding one of them, without scopes an ID token; any failure is
    /// a 401; claims go to `$context.authorizer.claims`.
    pub cognito: bool,
}

/// The `iss` a token claims (unverified: it only picks which issuer's keys to try).
fn claimed_issuer(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64::Engine::decode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        payload.trim_end_matches('='),
    )
    .ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    v.get("iss")?.as_str().map(str::to_string)
}

const KEYS_TTL: Duration = Duration::from_secs(3600);
/// An unknown `kid` fetches the keys again, at most this often.
const REFETCH_AFTER: Duration = Duration::from_secs(30);

/// Fetches `issuer`'s keys through its OpenID discovery document (or `--jwt-discovery`).
async fn fetch(rt: &Runtime, issuer: &str) -> Result<Arc<JwkSet>, String> {
    let base = rt
        .config
        .jwt_discovery
        .iter()
        .find(|(i, _)| i == issuer)
        .map_or(issuer, |(_, url)| url.as_str());
    let discovery = format!(
        "{}/.well-known/openid-configuration",
        base.trim_end_matches('/')
    );
    let config = get_json(rt, &discovery).await?;
    let jwks_uri = config
        .get("jwks_uri")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{discovery} has no jwks_uri"))?;
    let set: JwkSet = serde_json::from_value(get_json(rt, jwks_uri).await?)
        .map_err(|e| format!("{jwks_uri}: {e}"))?;
    let set = Arc::new(set);
    rt.shared.jwks.insert(issuer, set.clone());
    Ok(set)
}

/// The key set of `issuer` that has `kid` (or any key when the token names none).
async fn keys_for_token(
    rt: &Runtime,
    issuer: &str,
    kid: Option<&str>,
) -> Result<Arc<JwkSet>, String> {
    let has = |set: &JwkSet| kid.is_none_or(|k| set.find(k).is_some());
    match rt.shared.jwks.cached(issuer) {
        Some((at, set)) if at.elapsed() < KEYS_TTL && has(&set) => Ok(set),
        Some((at, set)) if at.elapsed() < REFETCH_AFTER => Ok(set),
        _ => fetch(rt, issuer).await,
    }
}

/// The most bytes of an issuer's discovery document or key set read.
const MAX_DOCUMENT: usize = 1024 * 1024;

async fn get_json(rt: &Runtime, url: &str) -> Result<Value, String> {
    let req = http::Request::get(url)
        .body(crate::empty())
        .map_err(|e| format!("{url}: {e}"))?;
    let exchange = async {
        let resp = rt.client.request(req).await.map_err(|e| e.to_string())?;
        if !resp.status().is_success() {
            return Err(format!("answered {}", resp.status()));
        }
        // Discovery documents and key sets are a few kilobytes; more is not read.
        let body = http_body_util::Limited::new(resp.into_body(), MAX_DOCUMENT)
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        serde_json::from_slice(&body).map_err(|e| e.to_string())
    };
    match tokio::time::timeout(Duration::from_secs(5), exchange).await {
        Err(_) => Err(format!("{url}: timed out")),
        Ok(r) => r.map_err(|e| format!("{url}: {e}")),
    }
}

/// Why a token is refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// 401: no token, a bad one, or one of someone else.
    Unauthorized(String),
    /// 403: a good token without any of the route's scopes.
    Forbidden,
}

/// Checks `token` against `set`; the claims when it is good.
pub fn verify(
    token: &str,
    set: &JwkSet,
    issuer: &str,
    audience: &[&str],
    scopes: &[&str],
    cognito: bool,
) -> Result<Map<String, Value>, Refusal> {
    let bad = |why: &str| Refusal::Unauthorized(why.to_string());
    let header = jsonwebtoken::decode_header(token).map_err(|e| bad(&e.to_string()))?;
    let jwk = match &header.kid {
        Some(kid) => set.find(kid),
        None if set.keys.len() == 1 => set.keys.first(),
        None => None,
    }
    .ok_or_else(|| bad("no key for the token's kid"))?;
    // The algorithm must suit the key: RSA keys verify RS*/PS*, EC keys ES*.
    let suits = matches!(
        (&jwk.algorithm, header.alg),
        (
            AlgorithmParameters::RSA(_),
            Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512,
        ) | (
            AlgorithmParameters::EllipticCurve(_),
            Algorithm::ES256 | Algorithm::ES384
        )
    );
    if !suits {
        return Err(bad("the algorithm does not suit the key"));
    }
    let key = DecodingKey::from_jwk(jwk).map_err(|e| bad(&e.to_string()))?;
    let mut validation = Validation::new(header.alg);
    validation.set_issuer(&[issuer]);
    validation.validate_nbf = true;
    validation.validate_aud = false;
    validation.leeway = 0;
    validation.set_required_spec_claims(&["exp", "iss"]);
    let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation)
        .map_err(|e| bad(&e.to_string()))?;
    let claims = data.claims;
    if cognito {
        let token_use = claims.get("token_use").and_then(Value::as_str);
        if scopes.is_empty() {
            return match token_use {
                Some("id") => Ok(claims),
                _ => Err(bad("an ID token is needed")),
            };
        }
        let granted = token_scopes(&claims);
        return if token_use == Some("access")
            && scopes.iter().any(|s| granted.iter().any(|g| g == s))
        {
            Ok(claims)
        } else {
            Err(bad("an access token with one of the scopes is needed"))
        };
    }
    // `aud` (ID tokens) or `client_id` (access tokens) must be one of the audiences.
    let auds: Vec<&str> = match claims.get("aud") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let client_id = claims.get("client_id").and_then(Value::as_str);
    let audience_ok = auds
        .iter()
        .chain(client_id.iter())
        .any(|a| audience.contains(a));
    if !audience_ok {
        return Err(bad("audience"));
    }
    if !scopes.is_empty() {
        let granted = token_scopes(&claims);
        if !scopes.iter().any(|s| granted.iter().any(|g| g == s)) {
            return Err(Refusal::Forbidden);
        }
    }
    Ok(claims)
}

/// `scope` (space-separated) or `scp` (list or string).
fn token_scopes(claims: &Map<String, Value>) -> Vec<String> {
    let words = |v: &Value| -> Vec<String> {
        match v {
            Value::String(s) => s.split_whitespace().map(str::to_string).collect(),
            Value::Array(a) => a
                .iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        }
    };
    claims
        .get("scope")
        .or_else(|| claims.get("scp"))
        .map(words)
        .unwrap_or_default()
}

/// Runs the JWT authorizer for this request with the route's `scopes`: `Ok` with
/// `$context.authorizer.jwt.claims` / `.scopes` set, or the gateway's 401/403.
pub async fn authorize(
    rt: &Runtime,
    cx: &mut Context,
    a: &JwtAuthorizer,
    scopes: &[&str],
) -> Result<(), Response> {
    let Some(raw) = cx.header(a.header).map(str::to_string) else {
        return Err(rt.gateway_response(cx, ResponseType::Unauthorized));
    };
    let token = raw
        .strip_prefix("Bearer ")
        .or_else(|| raw.strip_prefix("bearer "))
        .unwrap_or(&raw)
        .trim()
        .to_string();
    let kid = jsonwebtoken::decode_header(&token).ok().and_then(|h| h.kid);
    let claimed = claimed_issuer(&token);
    let Some(issuer) = a
        .issuers
        .iter()
        .find(|i| claimed.as_deref() == Some(**i))
        .or(a.issuers.first())
        .copied()
    else {
        return Err(rt.gateway_response(cx, ResponseType::Unauthorized));
    };
    let set = match keys_for_token(rt, issuer, kid.as_deref()).await {
        Ok(set) => set,
        Err(e) => {
            if !rt.config.quiet {
                crate::warn!("specgate: {}: JWT keys: {e}", cx.request_id);
            }
            return Err(rt.gateway_response(cx, ResponseType::Unauthorized));
        }
    };
    match verify(&token, &set, issuer, a.audience, scopes, a.cognito) {
        Ok(claims) => {
            let claims: Map<String, Value> = claims
                .into_iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(s) => Value::String(s),
                        other => Value::String(crate::vtl::render(&other)),
                    };
                    (k, v)
                })
                .collect();
            let granted = token_scopes(&claims);
            let scopes = if granted.is_empty() {
                Value::Null
            } else {
                Value::from(granted)
            };
            cx.authorizer = Some(if a.cognito {
                serde_json::json!({ "claims": claims })
            } else {
                serde_json::json!({"jwt": {"claims": claims, "scopes": scopes}})
            });
            Ok(())
        }
        Err(Refusal::Forbidden) => Err(rt.gateway_response(cx, ResponseType::AccessDenied)),
        Err(Refusal::Unauthorized(_)) => Err(rt.gateway_response(cx, ResponseType::Unauthorized)),
    }
}
