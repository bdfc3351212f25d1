//! Lambda integrations: the events API Gateway sends (`event`), the proxy response contract
//! (`proxy`), and the two ways a function is reached — the Lambda Invoke API, SigV4-signed
//! (`remote`), or a local process served through the Lambda Runtime API (`local`).

pub mod event;
pub mod local;
pub mod proxy;
pub mod remote;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use crate::config::Config;
use crate::context::Context;
use crate::responses::ResponseType;
use crate::server::Runtime;
use crate::Response;

/// How a function was invoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvocationType {
    /// Wait for the result.
    RequestResponse,
    /// `X-Amz-Invocation-Type: Event`: queued, not awaited.
    Event,
}

/// What a function returned.
#[derive(Debug, Clone, PartialEq)]
pub struct Output {
    /// The payload (the result, or the error object when the function failed).
    pub payload: Bytes,
    /// The function failed (`X-Amz-Function-Error`); the payload is
    /// `{"errorMessage", "errorType", "stackTrace"}`.
    pub function_error: bool,
}

/// Why there is no output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvokeError {
    /// No answer within the integration timeout.
    Timeout,
    /// The function could not be invoked (unknown function, no credentials, the Lambda
    /// service refused, the local process could not start).
    Failed(String),
    /// The payload is over Lambda's 6 MB synchronous invocation limit.
    TooLarge,
}

/// Lambda's limit on a synchronous invocation's payload.
pub const MAX_PAYLOAD: usize = 6 * 1024 * 1024;

/// The functions this gateway calls: local ones by name (`--function NAME=COMMAND`), every
/// other through the Invoke API.
pub struct Lambda {
    remote: remote::Remote,
    local: Option<local::Host>,
    /// Lambda authorizer results, shared by the workers.
    pub auth_cache: crate::auth::Cache,
    /// JWT authorizers' signing keys, shared by the workers.
    pub jwks: crate::jwt::Keys,
}

impl Lambda {
    /// From the gateway's flags; local functions start their Runtime API now (their
    /// processes start on first use).
    pub fn new(config: &Config) -> Result<Arc<Lambda>, String> {
        let local = if config.functions.is_empty() {
            None
        } else {
            Some(local::Host::start(
                &config.functions,
                config.function_concurrency.max(1),
                config.function_timeout_seconds,
            )?)
        };
        Ok(Arc::new(Lambda {
            remote: remote::Remote::new(config.lambda_endpoint.clone()),
            local,
            auth_cache: crate::auth::Cache::default(),
            jwks: crate::jwt::Keys::default(),
        }))
    }

    /// Invokes `function` (a function ARN, partial ARN or name, with an optional
    /// `:alias`) in `region` with `payload`.
    pub async fn invoke(
        &self,
        rt: &Runtime,
        function: &str,
        region: &str,
        payload: Bytes,
        kind: InvocationType,
        timeout: Duration,
    ) -> Result<Output, InvokeError> {
        if payload.len() > MAX_PAYLOAD {
            return Err(InvokeError::TooLarge);
        }
        if let Some(local) = &self.local {
            if let Some(f) = local.function(function_name(function)) {
                return f.invoke(payload, kind, timeout).await;
            }
        }
        self.remote
            .invoke(rt, function, region, payload, kind, timeout)
            .await
    }
}

/// The function's name in any of the forms Lambda accepts: `name`, `name:alias`,
/// `123456789012:function:name`, `arn:aws:lambda:region:account:function:name[:alias]`.
pub fn function_name(function: &str) -> &str {
    let parts: Vec<&str> = function.split(':').collect();
    match parts.iter().position(|p| *p == "function") {
        Some(i) if i + 1 < parts.len() => parts[i + 1],
        _ => parts[0],
    }
}

/// The gateway response for a failed invocation: a timeout is 504 `Endpoint request timed
/// out`; anything else is a 500 `Internal server error` (API Gateway's answer when it cannot
/// invoke the function, e.g. without permission).
pub fn failure(rt: &Runtime, cx: &mut Context, e: &InvokeError) -> Response {
    match e {
        InvokeError::Timeout => rt.gateway_response(cx, ResponseType::IntegrationTimeout),
        // AWS-recorded (reference §3.2): 413, this body, BadRequestException.
        InvokeError::TooLarge => http::Response::builder()
            .status(413)
            .header("content-type", "application/json")
            .header("x-amzn-ErrorType", "BadRequestException")
            .body(crate::full(r#"{"message": "Request Too Long"}"#))
            .expect("static response"),
        InvokeError::Failed(why) => {
            if !rt.config.quiet {
                crate::warn!(
                    "specgate: {}: Lambda invocation failed: {why}",
                    cx.request_id
                );
            }
            rt.gateway_response(cx, ResponseType::ApiConfigurationError)
        }
    }
}

/// `errorMessage` of a function error payload (`""` when there is none): what non-proxy
/// integration responses are selected by.
pub fn error_message(out: &Output) -> String {
    if !out.function_error {
        return String::new();
    }
    serde_json::from_slice::<serde_json::Value>(&out.payload)
        .ok()
        .and_then(|v| v.get("errorMessage").map(crate::vtl::render))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_names() {
        assert_eq!(function_name("hello"), "hello");
        assert_eq!(function_name("hello:live"), "hello");
        assert_eq!(function_name("123456789012:function:hello"), "hello");
        assert_eq!(
            function_name("arn:aws:lambda:us-east-1:123456789012:function:hello:3"),
            "hello"
        );
    }
}
