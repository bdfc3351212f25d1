//! IAM authorization (`AWS_IAM` routes) and resource policies (`x-amazon-apigateway-policy`),
//! evaluated before a route's authorizer as API Gateway evaluates them.
//!
//! The decision follows AWS's table ("How API Gateway resource policies affect the
//! authorization workflow"):
//!
//! | route's authorization | resource policy | result |
//! | --- | --- | --- |
//! | none | Allow / Neither / Deny | allowed / refused / refused |
//! | Lambda, Cognito or JWT authorizer | Deny | refused (the authorizer is not called) |
//! | Lambda, Cognito or JWT authorizer | Allow or Neither | the authorizer decides |
//! | IAM, caller in the API's account | either policy allows, none denies | allowed |
//! | IAM, caller in another account | both allow, none denies | allowed |
//! | IAM, no resource policy | the identity policy allows | allowed |
//!
//! Refusals are `ACCESS_DENIED` (403) with AWS's message, `User: {arn|anonymous} is not
//! authorized to perform: execute-api:Invoke on resource: {arn}[ with an explicit deny]`,
//! the account in the resource ARN masked as AWS masks it.

use std::sync::Arc;

pub use crate::principals::Access;
use std::time::SystemTime;

use crate::context::Context;
use crate::policy::Decision;
use crate::responses::ResponseType;
use crate::state::Runtime;
use crate::{Request, Response};

/// How a route is authorized, as the resource-policy table needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// No authorization.
    None,
    /// A Lambda, Cognito or JWT authorizer (run after this check).
    Authorizer,
    /// IAM (SigV4).
    Iam,
}

/// A resource ARN as AWS shows it in refusals: the account masked but its last 4 digits.
fn masked(arn: &str) -> String {
    let mut parts: Vec<String> = arn.splitn(6, ':').map(str::to_string).collect();
    if let Some(account) = parts.get_mut(4) {
        let n = account.chars().count();
        if n > 4 {
            *account = format!("{}{}", "*".repeat(n - 4), &account[account.len() - 4..]);
        }
    }
    parts.join(":")
}

// The wording follows the reference's ACCESS_DENIED row, marked unverified there ([?]): it is
// what AWS is reported to answer, with the account masked as AWS masks it.
fn refuse(rt: &Runtime, cx: &mut Context, who: &str, arn: &str, explicit: bool) -> Response {
    let message = format!(
        "User: {who} is not authorized to perform: execute-api:Invoke on resource: {}{}",
        masked(arn),
        if explicit {
            " with an explicit deny"
        } else {
            ""
        }
    );
    cx.exec_error(|| format!("Authorization failed: {message}"));
    rt.gateway_response_with(cx, ResponseType::AccessDenied, message)
}

/// Checks a request against IAM (when the route uses it) and the resource policy. Returns
/// the request (its body buffered when the signature covered it) or the refusal.
pub async fn check(
    rt: &Runtime,
    cx: &mut Context,
    req: Request,
    mode: Mode,
) -> Result<Request, Response> {
    let access = &rt.shared.access;
    if mode != Mode::Iam && access.policy.is_none() {
        return Ok(req);
    }
    let now = SystemTime::now();
    let (req, known) = if mode == Mode::Iam {
        let (req, known) = authenticate(rt, cx, req, now).await?;
        (req, Some(known))
    } else {
        (req, None)
    };
    let caller = known.as_ref().map(|k| &k.caller);
    let arn = access.method_arn(cx);
    let source_ip = cx.peer.ip();
    let secs = now
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let request = crate::policy::Request {
        caller,
        action: "execute-api:Invoke",
        resource: &arn,
        source_ip,
        now: secs,
        secure: rt.config.tls_cert.is_some(),
        user_agent: cx.header("user-agent"),
        referer: cx.header("referer"),
        region: &access.scope.region,
        stage: &cx.stage,
    };
    let resource = access.policy.as_ref().map(|p| p.evaluate(&request));
    let who = caller.map_or("anonymous", |c| c.arn.as_str()).to_string();
    let allowed = match mode {
        Mode::None => match resource {
            None | Some(Decision::Allow) => true,
            Some(Decision::Deny) => return Err(refuse(rt, cx, &who, &arn, true)),
            Some(Decision::Neither) => false,
        },
        Mode::Authorizer => match resource {
            Some(Decision::Deny) => return Err(refuse(rt, cx, &who, &arn, true)),
            _ => true,
        },
        Mode::Iam => {
            let identity = known
                .as_ref()
                .and_then(|k| k.policy.as_ref())
                .map_or(Decision::Neither, |p| p.evaluate(&request));
            match iam_decision(identity, resource, caller, &access.scope.account) {
                Some(allowed) => allowed,
                None => return Err(refuse(rt, cx, &who, &arn, true)),
            }
        }
    };
    if !allowed {
        return Err(refuse(rt, cx, &who, &arn, false));
    }
    // `Cache-Control: max-age=0` from an IAM caller: may it invalidate the cache entry
    // (`execute-api:InvalidateCache`, by the same table)?
    if mode == Mode::Iam && crate::cache::asks_refresh(cx) {
        let invalidate = crate::policy::Request {
            action: "execute-api:InvalidateCache",
            ..request
        };
        let identity = known
            .as_ref()
            .and_then(|k| k.policy.as_ref())
            .map_or(Decision::Neither, |p| p.evaluate(&invalidate));
        let resource = access.policy.as_ref().map(|p| p.evaluate(&invalidate));
        cx.may_invalidate_cache =
            iam_decision(identity, resource, caller, &access.scope.account) == Some(true);
    }
    if let Some(c) = caller {
        cx.iam = Some(Box::new(c.clone()));
    }
    Ok(req)
}

/// AWS's table for IAM callers: `None` for an explicit deny, else whether it is allowed
/// (a caller of the API's account needs either policy to allow; of another, both).
fn iam_decision(
    identity: Decision,
    resource: Option<Decision>,
    caller: Option<&crate::policy::Caller>,
    account: &str,
) -> Option<bool> {
    if identity == Decision::Deny || resource == Some(Decision::Deny) {
        return None;
    }
    let same_account = caller.is_some_and(|c| c.account == account);
    Some(match resource {
        None => identity == Decision::Allow,
        Some(r) if same_account => r == Decision::Allow || identity == Decision::Allow,
        Some(r) => r == Decision::Allow && identity == Decision::Allow,
    })
}

/// Verifies the request's SigV4 signature; the request (body buffered) and its principal.
async fn authenticate(
    rt: &Runtime,
    cx: &mut Context,
    req: Request,
    now: SystemTime,
) -> Result<(Request, Arc<crate::principals::Known>), Response> {
    use crate::sigv4::Failure;
    let fail = |rt: &Runtime, cx: &mut Context, f: Failure| -> Response {
        let kind = match f {
            Failure::Missing => ResponseType::MissingAuthenticationToken,
            Failure::ExpiredToken => ResponseType::ExpiredToken,
            Failure::Incomplete(_) | Failure::Invalid(_) | Failure::UnknownKey => {
                ResponseType::InvalidSignature
            }
        };
        let error_type = match &f {
            Failure::Incomplete(_) => Some("IncompleteSignatureException"),
            Failure::UnknownKey => Some("UnrecognizedClientException"),
            _ => None,
        };
        let message = f.message();
        cx.exec_error(|| {
            format!(
                "Authorization failed: {}",
                message.lines().next().unwrap_or("")
            )
        });
        let mut resp = rt.gateway_response_with(cx, kind, message);
        if let Some(t) = error_type {
            resp.headers_mut()
                .insert("x-amzn-errortype", http::HeaderValue::from_static(t));
        }
        resp
    };
    let claimed = match crate::sigv4::claimed(&cx.headers, req.uri().query()) {
        Ok(c) => c,
        Err(f) => return Err(fail(rt, cx, f)),
    };
    let principals = rt.shared.access.principals.as_ref();
    let Some(known) = principals.and_then(|p| p.get(&claimed.access_key)) else {
        return Err(fail(rt, cx, Failure::UnknownKey));
    };
    // Temporary credentials need their session token (compared by digest: it is a bearer
    // value, and only its digest is stored); long-term keys take none. A token that does not
    // match is refused as AWS refuses a token it does not know; a matching one past its
    // expiry is EXPIRED_TOKEN.
    match (&known.token_digest, &claimed.token) {
        (None, None) => {}
        (Some(want), Some(got)) if *want == crate::principals::hex_digest(got) => {
            let secs = now
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            if known.expires.is_some_and(|e| secs >= e) {
                return Err(fail(rt, cx, Failure::ExpiredToken));
            }
        }
        _ => return Err(fail(rt, cx, Failure::UnknownKey)),
    }
    let (parts, body) = req.into_parts();
    let body = match crate::body::collect(body).await {
        Ok(b) => b,
        Err(e) => return Err(e.response()),
    };
    let host = cx
        .headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| parts.uri.authority().map(|a| a.as_str()))
        .unwrap_or("");
    let signed = crate::sigv4::Signed {
        method: parts.method.as_str(),
        raw_path: parts.uri.path(),
        raw_query: parts.uri.query(),
        headers: &cx.headers,
        host,
        body: &body,
    };
    if let Err(f) = crate::sigv4::verify(&claimed, &known.secret, &rt.config.region, &signed, now) {
        return Err(fail(rt, cx, f));
    }
    Ok((http::Request::from_parts(parts, crate::full(body)), known))
}

#[cfg(test)]
mod tests {
    #[test]
    fn accounts_are_masked() {
        assert_eq!(
            super::masked("arn:aws:execute-api:us-east-1:123456789012:abc/prod/GET/pets"),
            "arn:aws:execute-api:us-east-1:********9012:abc/prod/GET/pets"
        );
    }
}
