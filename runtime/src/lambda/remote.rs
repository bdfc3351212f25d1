//! The Lambda Invoke API (`POST /2015-03-31/functions/{name}/invocations`), signed with
//! SigV4 (aws-sigv4) using credentials from the standard places: the `AWS_ACCESS_KEY_ID` /
//! `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN` variables, else the shared credentials and
//! config files (`AWS_SHARED_CREDENTIALS_FILE`, `AWS_CONFIG_FILE`, `~/.aws/…`) for
//! `AWS_PROFILE` (default `default`). Instance roles, SSO and `credential_process` are not
//! read. `--lambda-endpoint` sends the calls to any compatible endpoint instead of
//! `https://lambda.{region}.amazonaws.com`.

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderValue, Method};
use http_body_util::BodyExt;

use super::invocation::{InvocationType, InvokeError, Output, MAX_RESPONSE};
use crate::upstream::pool::Client;

pub use crate::credentials::{credentials, Keys};

/// The Invoke API client settings.
pub struct Remote {
    endpoint: Option<String>,
}

impl Remote {
    /// Calls go to `endpoint` (scheme and authority, e.g. `http://127.0.0.1:9001`) when
    /// given, else to the function's region.
    pub fn new(endpoint: Option<String>) -> Remote {
        Remote {
            endpoint: endpoint.map(|e| e.trim_end_matches('/').to_string()),
        }
    }

    /// Invokes `function` through the Invoke API.
    // The Invoke API's parameters, passed through as they are.
    #[allow(clippy::too_many_arguments)]
    pub async fn invoke(
        &self,
        client: &Client,
        function: &str,
        region: &str,
        payload: Bytes,
        kind: InvocationType,
        timeout: Duration,
        trace: Option<&str>,
    ) -> Result<Output, InvokeError> {
        let path = format!(
            "2015-03-31/functions/{}/invocations",
            encode_function(function)
        );
        let req = self
            .request(client, &path, region, payload, kind, trace)
            .await?;
        let exchange = async {
            let resp = client
                .request(req)
                .await
                .map_err(|e| InvokeError::Failed(format!("Invoke API: {e}")))?;
            let status = resp.status();
            let function_error = resp.headers().contains_key("x-amz-function-error");
            // The Invoke API answers at most Lambda's limit; more is not read.
            let body = http_body_util::Limited::new(resp.into_body(), MAX_RESPONSE)
                .collect()
                .await
                .map_err(|e| InvokeError::Failed(format!("Invoke API: {e}")))?
                .to_bytes();
            if !status.is_success() {
                return Err(InvokeError::Failed(format!(
                    "Invoke API answered {status}: {}",
                    String::from_utf8_lossy(&body)
                )));
            }
            Ok(Output {
                payload: body,
                function_error,
            })
        };
        match tokio::time::timeout(timeout, exchange).await {
            Err(_) => Err(InvokeError::Timeout),
            Ok(r) => r,
        }
    }
}

impl Remote {
    /// The signed Invoke API request for `path` (after the endpoint), with X-Ray's header.
    async fn request(
        &self,
        client: &Client,
        path: &str,
        region: &str,
        payload: Bytes,
        kind: InvocationType,
        trace: Option<&str>,
    ) -> Result<http::Request<crate::Body>, InvokeError> {
        let keys = crate::credentials::resolve(client).await.ok_or_else(|| {
            InvokeError::Failed(
                "no AWS credentials (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a \
                 profile in ~/.aws/credentials), and no local function of this name"
                    .to_string(),
            )
        })?;
        let endpoint = self
            .endpoint
            .clone()
            .unwrap_or_else(|| format!("https://lambda.{region}.amazonaws.com"));
        let url = format!("{endpoint}/{path}");
        let mut req = signed_request(&url, region, &keys, payload, kind, SystemTime::now())
            .map_err(InvokeError::Failed)?;
        // Not signed: X-Ray's header is added to signed calls as they travel.
        if let Some(v) = trace.and_then(|t| http::HeaderValue::from_str(t).ok()) {
            req.headers_mut().insert("x-amzn-trace-id", v);
        }
        Ok(req)
    }

    /// Invokes `function` with `InvokeWithResponseStream`
    /// (`POST /2021-11-15/functions/{name}/response-streaming-invocations`): the payload
    /// chunks of its event stream as they arrive; an `InvokeComplete` with an error code
    /// ends the stream with it.
    pub async fn invoke_stream(
        &self,
        client: &Client,
        function: &str,
        region: &str,
        payload: Bytes,
        timeout: Duration,
        trace: Option<&str>,
    ) -> Result<super::stream::Streamed, InvokeError> {
        use super::stream::{EventStream, Streamed, DEPTH};
        let path = format!(
            "2021-11-15/functions/{}/response-streaming-invocations",
            encode_function(function)
        );
        let req = self
            .request(
                client,
                &path,
                region,
                payload,
                InvocationType::RequestResponse,
                trace,
            )
            .await?;
        let resp = match tokio::time::timeout(timeout, client.request(req)).await {
            Err(_) => return Err(InvokeError::Timeout),
            Ok(Err(e)) => return Err(InvokeError::Failed(format!("Invoke API: {e}"))),
            Ok(Ok(r)) => r,
        };
        let status = resp.status();
        if !status.is_success() {
            let body = http_body_util::Limited::new(resp.into_body(), MAX_RESPONSE)
                .collect()
                .await
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            return Err(InvokeError::Failed(format!(
                "Invoke API answered {status}: {}",
                String::from_utf8_lossy(&body)
            )));
        }
        let (tx, rx) = tokio::sync::mpsc::channel(DEPTH);
        let mut body = resp.into_body();
        tokio::spawn(async move {
            let mut decoder = EventStream::default();
            while let Some(frame) = body.frame().await {
                let Ok(frame) = frame else {
                    let _ = tx.send(Err("the Invoke API stream broke".into())).await;
                    return;
                };
                let Ok(data) = frame.into_data() else {
                    continue;
                };
                let events = match decoder.push(&data) {
                    Ok(e) => e,
                    Err(e) => {
                        let _ = tx.send(Err(e)).await;
                        return;
                    }
                };
                for e in events {
                    match (e.message_type.as_str(), e.event_type.as_str()) {
                        ("event", "PayloadChunk") => {
                            if tx.send(Ok(e.payload)).await.is_err() {
                                return;
                            }
                        }
                        ("event", "InvokeComplete") => {
                            let done: serde_json::Value =
                                serde_json::from_slice(&e.payload).unwrap_or_default();
                            if let Some(code) = done
                                .get("ErrorCode")
                                .and_then(|c| c.as_str())
                                .filter(|c| !c.is_empty())
                            {
                                let _ = tx.send(Err(format!("function error {code}"))).await;
                            }
                            return;
                        }
                        (_, kind) => {
                            let _ = tx.send(Err(format!("Invoke API stream: {kind}"))).await;
                            return;
                        }
                    }
                }
            }
        });
        Ok(Streamed::Chunks(rx))
    }
}

/// The function in the request path: `:` percent-encoded, as the AWS SDKs send it.
fn encode_function(function: &str) -> String {
    function.replace(':', "%3A")
}

/// The signed Invoke request.
pub fn signed_request(
    url: &str,
    region: &str,
    keys: &Keys,
    payload: Bytes,
    kind: InvocationType,
    time: SystemTime,
) -> Result<http::Request<crate::Body>, String> {
    let invocation = match kind {
        InvocationType::RequestResponse => "RequestResponse",
        InvocationType::Event => "Event",
    };
    let headers = vec![
        (
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        ),
        (
            http::header::HeaderName::from_static("x-amz-invocation-type"),
            HeaderValue::from_static(invocation),
        ),
    ];
    crate::credentials::sign(
        Method::POST,
        url,
        region,
        "lambda",
        keys,
        headers,
        payload,
        time,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_signed() {
        let keys = Keys {
            access_key: "AKIDEXAMPLE".into(),
            secret_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            session_token: None,
        };
        let req = signed_request(
            "http://127.0.0.1:9001/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Ahello/invocations",
            "us-east-1",
            &keys,
            Bytes::from_static(b"{}"),
            InvocationType::Event,
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        )
        .unwrap();
        let auth = req.headers()["authorization"].to_str().unwrap();
        assert!(auth.starts_with(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20231114/us-east-1/lambda/aws4_request"
        ));
        assert_eq!(req.headers()["x-amz-date"], "20231114T221320Z");
        assert_eq!(req.headers()["x-amz-invocation-type"], "Event");
    }
}
