//! Lambda integrations: the events API Gateway sends (`event`), the proxy response contract
//! (`proxy`), and the two ways a function is reached — the Lambda Invoke API, SigV4-signed
//! (`remote`), or a local process served through the Lambda Runtime API (`local`).

pub mod event;
pub mod functions;
pub mod invocation;
pub mod local;
pub mod proxy;
pub mod remote;
pub mod stream;

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

/// The delimiter between the prelude and the body.
const DELIMITER: [u8; 8] = [0; 8];
/// The largest prelude read before giving up on finding the delimiter.
const MAX_PRELUDE: usize = 64 * 1024;

/// The client's response for a streamed REST proxy invocation: the prelude's status and
/// headers, then the body as it comes. The first byte must come within `timeout`.
pub async fn streamed(
    rt: &Runtime,
    cx: &mut Context,
    invoked: Result<stream::Streamed, InvokeError>,
    timeout: std::time::Duration,
) -> Response {
    let mut rx = match invoked {
        Ok(stream::Streamed::Chunks(rx)) => rx,
        Ok(stream::Streamed::Failed(out)) => return proxy::rest(cx, &out, &[]),
        Err(e) => return failure(rt, cx, &e),
    };
    let mut head = bytes::BytesMut::new();
    let deadline = tokio::time::Instant::now() + timeout;
    // Read until the delimiter (or the end: a whole proxy response).
    let split = loop {
        if let Some(i) = head.windows(DELIMITER.len()).position(|w| w == DELIMITER) {
            break Some(i);
        }
        if head.len() > MAX_PRELUDE {
            break None;
        }
        let next = if head.is_empty() {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(n) => n,
                Err(_) => return failure(rt, cx, &InvokeError::Timeout),
            }
        } else {
            rx.recv().await
        };
        match next {
            Some(Ok(b)) => head.extend_from_slice(&b),
            Some(Err(e)) => {
                cx.exec_error(|| format!("Lambda function stream failed: {e}"));
                return rt.gateway_response(cx, ResponseType::ApiConfigurationError);
            }
            None => {
                // Not streamed: the payload is a whole proxy response.
                let out = Output {
                    payload: head.freeze(),
                    function_error: false,
                };
                return proxy::rest(cx, &out, &[]);
            }
        }
    };
    let Some(i) = split else {
        cx.exec_error(|| "Lambda function stream has no response prelude".to_string());
        return rt.gateway_response(cx, ResponseType::ApiConfigurationError);
    };
    let prelude: serde_json::Value = match serde_json::from_slice(&head[..i]) {
        Ok(v @ serde_json::Value::Object(_)) => v,
        _ => {
            cx.exec_error(|| "Malformed Lambda proxy response".to_string());
            // AWS answers a malformed proxy response with 502.
            return proxy::rest(
                cx,
                &Output {
                    payload: bytes::Bytes::from_static(b"not a proxy response"),
                    function_error: false,
                },
                &[],
            );
        }
    };
    bytes::Buf::advance(&mut head, i + DELIMITER.len());
    let status = prelude
        .get("statusCode")
        .and_then(|s| s.as_u64().or_else(|| s.as_str()?.parse().ok()))
        .and_then(|s| http::StatusCode::from_u16(u16::try_from(s).ok()?).ok())
        .unwrap_or(http::StatusCode::OK);
    let mut resp = http::Response::new(stream::body(head.freeze(), rx));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    let mut put = |k: &str, v: &serde_json::Value| {
        let text = match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        if let (Ok(k), Ok(v)) = (
            http::HeaderName::from_bytes(k.as_bytes()),
            http::HeaderValue::from_str(&text),
        ) {
            h.append(k, v);
        }
    };
    if let Some(m) = prelude.get("headers").and_then(|v| v.as_object()) {
        for (k, v) in m {
            put(k, v);
        }
    }
    if let Some(m) = prelude.get("multiValueHeaders").and_then(|v| v.as_object()) {
        for (k, vs) in m {
            for v in vs.as_array().into_iter().flatten() {
                put(k, v);
            }
        }
    }
    for c in prelude
        .get("cookies")
        .and_then(|v| v.as_array())
        .into_iter()
        .flatten()
    {
        put("set-cookie", c);
    }
    if !resp.headers().contains_key(http::header::CONTENT_TYPE) {
        resp.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
    }
    cx.exec_info(|| format!("Method response streaming with status: {}", status.as_u16()));
    resp
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
        // `function` as the last part names nothing: the first part stands.
        assert_eq!(function_name("a:function"), "a");
        assert_eq!(function_name("function:function:x"), "function");
        assert_eq!(function_name(""), "");
        assert_eq!(function_name("function:x"), "x");
        assert_eq!(function_name(":"), "");
        assert_eq!(function_name("a::b"), "a");
        assert_eq!(function_name("fünction:function:ä:ö"), "ä");
        // The same answer as the rule read off `split(':')`, for every text of up to four
        // parts from a few that matter.
        fn by_split(f: &str) -> &str {
            let parts: Vec<&str> = f.split(':').collect();
            (1..parts.len())
                .find(|&i| parts[i - 1] == "function")
                .map_or(parts[0], |i| parts[i])
        }
        let pieces = ["", "a", "function", "ä", "Function", "functions"];
        let mut texts = vec![String::new()];
        for _ in 0..4 {
            let longer: Vec<String> = texts
                .iter()
                .flat_map(|t| pieces.iter().map(move |p| format!("{t}:{p}")))
                .collect();
            for t in &longer {
                let t = &t[1..];
                assert_eq!(function_name(t), by_split(t), "{t:?}");
            }
            texts = longer;
        }
    }
}
