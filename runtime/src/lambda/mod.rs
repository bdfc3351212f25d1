//! Lambda integrations: the events API Gateway sends (`event`), the proxy response contract
//! (`proxy`), and the two ways a function is reached — the Lambda Invoke API, SigV4-signed
//! (`remote`), or a local process served through the Lambda Runtime API (`local`).

pub mod event;
pub mod functions;
pub mod invocation;
pub mod local;
pub mod proxy;
pub mod remote;

pub use functions::Lambda;
pub use invocation::{function_name, InvocationType, InvokeError, Output, MAX_PAYLOAD};

use crate::context::Context;
use crate::responses::ResponseType;
use crate::state::Runtime;
use crate::Response;

/// The execution log's view of a Lambda invocation.
pub fn log_invocation(cx: &mut Context, function: &str, invoked: &Result<Output, InvokeError>) {
    cx.exec_info(|| format!("Sending request to Lambda function {function}"));
    match invoked {
        Ok(out) => {
            let ms = cx.integration_ms.unwrap_or(0.0).round() as u64;
            cx.exec_info(|| {
                format!("Received response. Status: 200, Integration latency: {ms} ms")
            });
            cx.exec_body(
                "Endpoint response body before transformations",
                &out.payload,
            );
            if out.function_error {
                let message = error_message(out);
                cx.exec_error(|| format!("Lambda function returned an error: {message}"));
            }
        }
        Err(e) => cx.exec_error(|| format!("Execution failed due to configuration error: {e:?}")),
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
