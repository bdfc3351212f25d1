//! REST `aws` integrations with AWS services other than Lambda
//! (`arn:aws:apigateway:{region}:{service}:action/{Action}` and `…:path/{path}`): the
//! request API Gateway would send, signed with SigV4 (aws-sigv4), with the integration's
//! `credentials` role assumed through STS (cached until shortly before it expires) or the
//! gateway's own credentials.
//!
//! - JSON-protocol services (DynamoDB, Kinesis, Step Functions, EventBridge, Firehose, CloudWatch
//!   Logs), `action/X`: `POST /` with `X-Amz-Target: {prefix}.X` and
//!   `application/x-amz-json-1.0|1.1`, the body the request template built.
//! - Query-protocol services (SQS, SNS, STS, SES, CloudWatch), `action/X`: `?Action=X` and the
//!   mapped query string, with the integration's method and body.
//! - `path/…`: the path on the service's endpoint, with the integration's method, headers,
//!   query string and body (S3, SQS queue URLs, …).
//!
//! Endpoints follow the AWS SDKs: `AWS_ENDPOINT_URL_<SERVICE>`, then the gateway's
//! `--aws-endpoint-url`, then `AWS_ENDPOINT_URL` (so a gateway can point at a local
//! emulator), else `https://{service}.{region}.amazonaws.com`.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::Method;

use crate::context::Context;
use crate::credentials::{sign, Keys};
use crate::responses::ResponseType;
use crate::state::Runtime;
use crate::upstream::Buffered;
use crate::Response;

/// What an integration calls.
#[derive(Debug)]
pub struct Service {
    /// The service (`dynamodb`, `sqs`, `states`, …), or `subdomain.service`.
    pub service: &'static str,
    /// The region of the ARN.
    pub region: &'static str,
    /// `action/X`: the action.
    pub action: Option<&'static str>,
    /// The integration's `credentials` (a role to assume), if any.
    pub role: Option<&'static str>,
}

/// How an action-style service is called.
pub enum Protocol {
    /// `X-Amz-Target: {prefix}.{Action}`, `application/x-amz-json-{version}`.
    Json(&'static str, &'static str),
    /// `?Action={Action}`.
    Query,
}

/// The protocol of an action-style service, `None` when specgate does not know it.
pub fn protocol(service: &str) -> Option<Protocol> {
    Some(match service {
        "dynamodb" => Protocol::Json("DynamoDB_20120810", "1.0"),
        "states" => Protocol::Json("AWSStepFunctions", "1.0"),
        "kinesis" => Protocol::Json("Kinesis_20131202", "1.1"),
        "events" => Protocol::Json("AWSEvents", "1.1"),
        "firehose" => Protocol::Json("Firehose_20150804", "1.1"),
        "logs" => Protocol::Json("Logs_20140328", "1.1"),
        "sqs" | "sns" | "sts" | "ses" | "email" | "monitoring" => Protocol::Query,
        _ => return None,
    })
}

/// The SDKs' service id for `AWS_ENDPOINT_URL_<ID>` (and the signing name).
fn service_id(service: &str) -> (&str, &str) {
    match service {
        "states" => ("SFN", "states"),
        "events" => ("EVENTBRIDGE", "events"),
        "logs" => ("CLOUDWATCH_LOGS", "logs"),
        "monitoring" => ("CLOUDWATCH", "monitoring"),
        "email" => ("SES", "ses"),
        s => (s, s),
    }
}

/// The service's base URL (no trailing slash); `flag` is `--aws-endpoint-url`.
pub fn endpoint(service: &str, region: &str, flag: Option<&str>) -> String {
    let (sub, svc) = match service.rsplit_once('.') {
        Some((sub, svc)) => (Some(sub), svc),
        None => (None, service),
    };
    if let Some(e) = endpoint_override(svc, flag) {
        return e;
    }
    match sub {
        Some(sub) => format!("https://{sub}.{svc}.{region}.amazonaws.com"),
        None => format!("https://{svc}.{region}.amazonaws.com"),
    }
}

/// Assumed roles' credentials, until shortly before they expire.
static ASSUMED: Mutex<Vec<(String, Keys, SystemTime)>> = Mutex::new(Vec::new());

/// The credentials to call with: the caller's (`arn:aws:iam::*:user/*` on an IAM-authorized
/// method: the keys the caller signed with), the role's (assumed through STS), or the
/// gateway's own.
async fn keys(
    rt: &Runtime,
    cx: &Context,
    role: Option<&str>,
    region: &str,
) -> Result<Keys, String> {
    if role.is_some_and(|r| r.starts_with("arn:aws:iam::*:user/")) {
        let caller = cx
            .iam
            .as_ref()
            .ok_or("the caller's credentials are asked for, but the request was not signed")?;
        let known = rt
            .shared
            .access
            .principals
            .as_ref()
            .and_then(|p| p.get(&caller.access_key))
            .ok_or("the caller's access key is no longer known")?;
        return Ok(Keys {
            access_key: caller.access_key.clone(),
            secret_key: known.secret.clone(),
            session_token: None,
        });
    }
    let base = crate::credentials::resolve(&rt.client).await.ok_or_else(|| {
        "no AWS credentials (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile in ~/.aws/credentials)".to_string()
    })?;
    let Some(role) = role.filter(|r| r.starts_with("arn:") && r.contains(":role/")) else {
        return Ok(base);
    };
    let now = SystemTime::now();
    if let Some((_, k, _)) = ASSUMED
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .find(|(r, _, until)| r == role && *until > now)
    {
        return Ok(k.clone());
    }
    let url = format!(
        "{}/?Action=AssumeRole&Version=2011-06-15&RoleSessionName=specgate&RoleArn={}",
        endpoint("sts", region, rt.config.aws_endpoint_url.as_deref()),
        crate::path::encode_query(role)
    );
    let req = sign(
        Method::POST,
        &url,
        region,
        "sts",
        &base,
        Vec::new(),
        Bytes::new(),
        SystemTime::now(),
    )?;
    let resp = crate::upstream::send_buffered(rt, req, 10_000)
        .await
        .map_err(|e| format!("AssumeRole {role}: {e}"))?;
    let text = String::from_utf8_lossy(&resp.body);
    if resp.status != 200 {
        return Err(format!("AssumeRole {role}: {} {text}", resp.status));
    }
    let tag = |t: &str| -> Option<String> {
        let start = text.find(&format!("<{t}>"))? + t.len() + 2;
        let end = text[start..].find(&format!("</{t}>"))? + start;
        Some(text[start..end].to_string())
    };
    let keys = Keys {
        access_key: tag("AccessKeyId").ok_or("AssumeRole: no AccessKeyId")?,
        secret_key: tag("SecretAccessKey").ok_or("AssumeRole: no SecretAccessKey")?,
        session_token: tag("SessionToken"),
    };
    // Assumed roles last an hour by default; renewed five minutes early.
    let until = now + Duration::from_secs(55 * 60);
    let mut cache = ASSUMED.lock().unwrap_or_else(|p| p.into_inner());
    cache.retain(|(r, _, _)| r != role);
    cache.push((role.to_string(), keys.clone(), until));
    Ok(keys)
}

/// Calls the service: `target` is the path and query string the integration built (`/` for
/// actions), `headers` its mapped headers, `body` what its template rendered.
// The integration request's pieces, passed as the generated handler has them.
#[allow(clippy::too_many_arguments)]
pub async fn call(
    rt: &Runtime,
    cx: &mut Context,
    svc: &Service,
    method: Method,
    target: String,
    headers: Vec<(std::borrow::Cow<'static, str>, String)>,
    body: Bytes,
    timeout_ms: u64,
) -> Result<Buffered, Response> {
    let base_service = svc.service.rsplit('.').next().unwrap_or(svc.service);
    let (_, signing_name) = service_id(base_service);
    let base = endpoint(
        svc.service,
        svc.region,
        rt.config.aws_endpoint_url.as_deref(),
    );
    let mut url = format!("{base}{target}");
    let mut extra: Vec<(HeaderName, HeaderValue)> = Vec::new();
    let mut method = method;
    if let Some(action) = svc.action {
        match protocol(base_service) {
            Some(Protocol::Json(prefix, version)) => {
                method = Method::POST;
                extra = json_headers(&format!("{prefix}.{action}"), version);
            }
            Some(Protocol::Query) | None => {
                let sep = if url.contains('?') { '&' } else { '?' };
                url = format!("{url}{sep}Action={action}");
            }
        }
    }
    for (name, value) in headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            if !extra.iter().any(|(k, _)| *k == n) {
                extra.push((n, v));
            }
        }
    }
    signed_call(
        rt,
        cx,
        svc.role,
        (method, url, extra, body),
        svc.region,
        signing_name,
        timeout_ms,
    )
    .await
}

/// Signs a service request with the credentials to call with (the caller's, the role's or
/// the gateway's own), sends it within `timeout_ms` and logs the exchange. A missing key or
/// an unsignable request is the API's configuration error (500).
async fn signed_call(
    rt: &Runtime,
    cx: &mut Context,
    role: Option<&str>,
    (method, url, headers, body): (Method, String, Vec<(HeaderName, HeaderValue)>, Bytes),
    region: &str,
    signing_name: &str,
    timeout_ms: u64,
) -> Result<Buffered, Response> {
    let signed = match keys(rt, cx, role, region).await {
        Ok(keys) => sign(
            method,
            &url,
            region,
            signing_name,
            &keys,
            headers,
            body,
            SystemTime::now(),
        ),
        Err(e) => Err(e),
    };
    let req = match signed {
        Ok(r) => r,
        Err(e) => {
            crate::warn!("specgate: {}: {e}", cx.request_id);
            cx.exec_error(|| format!("Execution failed due to configuration error: {e}"));
            return Err(rt.gateway_response(cx, ResponseType::ApiConfigurationError));
        }
    };
    cx.exec_info(|| format!("Endpoint request URI: {url}"));
    let started = std::time::Instant::now();
    let sent = crate::upstream::send(rt, req, timeout_ms).await;
    cx.integration_done(started, sent.as_ref().ok().map(|r| r.status));
    match sent {
        Ok(r) => {
            let ms = cx.integration_ms.unwrap_or(0.0).round() as u64;
            cx.exec_info(|| {
                format!(
                    "Received response. Status: {}, Integration latency: {ms} ms",
                    r.status
                )
            });
            cx.exec_body("Endpoint response body before transformations", &r.body);
            Ok(r)
        }
        Err(f) => Err(f.respond(rt, cx)),
    }
}

/// How a subtype parameter's value is written into the service's request.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ty {
    /// A JSON string.
    Str,
    /// A JSON number (the value parsed; left a string when it is not a number).
    Int,
    /// A JSON array: the value when it is one, else its comma-separated parts.
    List,
    /// A JSON object or array: the value parsed (a string when it is not JSON).
    Json,
    /// Base64 of the value's bytes (Kinesis' `Data` blob).
    Base64,
}

/// An HTTP API subtype integration: the service, how it is called, and the parameters API
/// Gateway documents for it with the field each becomes.
struct SubtypeSpec {
    name: &'static str,
    /// Service (endpoint and signing name).
    service: &'static str,
    /// `X-Amz-Target` (JSON protocol); empty for AppConfig's REST call.
    target: &'static str,
    /// `application/x-amz-json-{version}`.
    version: &'static str,
    /// The request body is `{"Entries": [fields]}` (EventBridge).
    entries: bool,
    /// (parameter, field, type); `Region` is never a field.
    params: &'static [(&'static str, &'static str, Ty)],
}

use Ty::*;

/// Every subtype of AWS's table, with the parameters of its "Integration subtype reference".
/// SQS is called through its JSON protocol (AWS JSON 1.0, which SQS has accepted since 2023),
/// so `MessageAttributes` keep their structure.
static SUBTYPES: &[SubtypeSpec] = &[
    SubtypeSpec {
        name: "SQS-SendMessage",
        service: "sqs",
        target: "AmazonSQS.SendMessage",
        version: "1.0",
        entries: false,
        params: &[
            ("QueueUrl", "QueueUrl", Str),
            ("MessageBody", "MessageBody", Str),
            ("DelaySeconds", "DelaySeconds", Int),
            ("MessageAttributes", "MessageAttributes", Json),
            ("MessageDeduplicationId", "MessageDeduplicationId", Str),
            ("MessageGroupId", "MessageGroupId", Str),
            ("MessageSystemAttributes", "MessageSystemAttributes", Json),
        ],
    },
    SubtypeSpec {
        name: "SQS-ReceiveMessage",
        service: "sqs",
        target: "AmazonSQS.ReceiveMessage",
        version: "1.0",
        entries: false,
        params: &[
            ("QueueUrl", "QueueUrl", Str),
            ("AttributeNames", "AttributeNames", List),
            ("MaxNumberOfMessages", "MaxNumberOfMessages", Int),
            ("MessageAttributeNames", "MessageAttributeNames", List),
            ("ReceiveRequestAttemptId", "ReceiveRequestAttemptId", Str),
            ("VisibilityTimeout", "VisibilityTimeout", Int),
            ("WaitTimeSeconds", "WaitTimeSeconds", Int),
        ],
    },
    SubtypeSpec {
        name: "SQS-DeleteMessage",
        service: "sqs",
        target: "AmazonSQS.DeleteMessage",
        version: "1.0",
        entries: false,
        params: &[
            ("QueueUrl", "QueueUrl", Str),
            ("ReceiptHandle", "ReceiptHandle", Str),
        ],
    },
    SubtypeSpec {
        name: "SQS-PurgeQueue",
        service: "sqs",
        target: "AmazonSQS.PurgeQueue",
        version: "1.0",
        entries: false,
        params: &[("QueueUrl", "QueueUrl", Str)],
    },
    SubtypeSpec {
        name: "EventBridge-PutEvents",
        service: "events",
        target: "AWSEvents.PutEvents",
        version: "1.1",
        entries: true,
        params: &[
            ("Detail", "Detail", Str),
            ("DetailType", "DetailType", Str),
            ("Source", "Source", Str),
            ("Time", "Time", Str),
            ("EventBusName", "EventBusName", Str),
            ("Resources", "Resources", List),
            ("TraceHeader", "TraceHeader", Str),
        ],
    },
    SubtypeSpec {
        name: "Kinesis-PutRecord",
        service: "kinesis",
        target: "Kinesis_20131202.PutRecord",
        version: "1.1",
        entries: false,
        // Unverified: AWS documents `Data` as the record's data blob; a blob travels
        // base64-encoded in Kinesis' JSON protocol, so the mapped value is encoded here as
        // the SDKs encode a blob.
        params: &[
            ("StreamName", "StreamName", Str),
            ("Data", "Data", Base64),
            ("PartitionKey", "PartitionKey", Str),
            (
                "SequenceNumberForOrdering",
                "SequenceNumberForOrdering",
                Str,
            ),
            ("ExplicitHashKey", "ExplicitHashKey", Str),
        ],
    },
    SubtypeSpec {
        name: "StepFunctions-StartExecution",
        service: "states",
        target: "AWSStepFunctions.StartExecution",
        version: "1.0",
        entries: false,
        params: &[
            ("StateMachineArn", "stateMachineArn", Str),
            ("Name", "name", Str),
            ("Input", "input", Str),
            ("TraceHeader", "traceHeader", Str),
        ],
    },
    SubtypeSpec {
        name: "StepFunctions-StartSyncExecution",
        service: "sync-states",
        target: "AWSStepFunctions.StartSyncExecution",
        version: "1.0",
        entries: false,
        params: &[
            ("StateMachineArn", "stateMachineArn", Str),
            ("Name", "name", Str),
            ("Input", "input", Str),
            ("TraceHeader", "traceHeader", Str),
        ],
    },
    SubtypeSpec {
        name: "StepFunctions-StopExecution",
        service: "states",
        target: "AWSStepFunctions.StopExecution",
        version: "1.0",
        entries: false,
        params: &[
            ("ExecutionArn", "executionArn", Str),
            ("Cause", "cause", Str),
            ("Error", "error", Str),
        ],
    },
    SubtypeSpec {
        name: "AppConfig-GetConfiguration",
        service: "appconfig",
        target: "",
        version: "",
        entries: false,
        params: &[
            ("Application", "", Str),
            ("Environment", "", Str),
            ("Configuration", "", Str),
            ("ClientId", "client_id", Str),
            (
                "ClientConfigurationVersion",
                "client_configuration_version",
                Str,
            ),
        ],
    },
];

/// The parameters a subtype takes (`Region` included), for the compiler's checks.
pub fn subtype_params(name: &str) -> Option<Vec<&'static str>> {
    let spec = SUBTYPES.iter().find(|s| s.name == name)?;
    let mut p: Vec<&str> = spec.params.iter().map(|(p, _, _)| *p).collect();
    p.push("Region");
    Some(p)
}

fn typed(ty: Ty, v: String) -> serde_json::Value {
    use serde_json::Value;
    match ty {
        Str => Value::String(v),
        Int => v
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or(Value::String(v)),
        List => match serde_json::from_str::<Value>(&v) {
            Ok(a @ Value::Array(_)) => a,
            _ => Value::Array(
                v.split(',')
                    .map(|s| Value::from(s.trim()))
                    .filter(|s| s.as_str() != Some(""))
                    .collect(),
            ),
        },
        Json => serde_json::from_str::<Value>(&v).unwrap_or(Value::String(v)),
        Base64 => {
            use base64::Engine as _;
            Value::String(base64::engine::general_purpose::STANDARD.encode(v.as_bytes()))
        }
    }
}

/// The region an ARN or a service URL names.
fn region_of(arn_or_url: &str) -> Option<String> {
    if let Some(rest) = arn_or_url.strip_prefix("arn:") {
        return rest
            .split(':')
            .nth(2)
            .filter(|r| !r.is_empty())
            .map(str::to_string);
    }
    // https://sqs.{region}.amazonaws.com/…
    let host = arn_or_url.split("://").nth(1)?.split('/').next()?;
    let mut parts = host.split('.');
    let (_, region) = (parts.next()?, parts.next()?);
    region.contains('-').then(|| region.to_string())
}

/// An HTTP API subtype integration (`integrationSubtype`): the service call its
/// `requestParameters` describe, answered with the service's own status and body, as API
/// Gateway answers.
// The call's pieces, as the generated handler has them.
#[allow(clippy::too_many_arguments)]
pub async fn subtype(
    rt: &Runtime,
    cx: &mut Context,
    subtype: &str,
    role: Option<&'static str>,
    params: &[(&str, &[crate::upstream::http_mapping::Val])],
    body: &[u8],
    timeout_ms: u64,
) -> Response {
    use crate::upstream::http_mapping::value_with_body;
    let Some(spec) = SUBTYPES.iter().find(|s| s.name == subtype) else {
        return rt.gateway_response(cx, ResponseType::ApiConfigurationError);
    };
    let get = |name: &str| -> Option<String> {
        params
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| value_with_body(cx, v, body))
    };
    let region = get("Region")
        .or_else(|| {
            ["QueueUrl", "StateMachineArn", "ExecutionArn"]
                .iter()
                .find_map(|p| get(p).and_then(|v| region_of(&v)))
        })
        .or_else(|| std::env::var("AWS_REGION").ok())
        .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
        .unwrap_or_else(|| "us-east-1".into());
    let flag = rt.config.aws_endpoint_url.as_deref();
    let (method, url, extra, payload) = if spec.service == "appconfig" {
        // The configuration's REST path, the client's id and version in the query string.
        let seg = |p: &str| crate::path::encode_query(&get(p).unwrap_or_default());
        let mut url = format!(
            "{}/applications/{}/environments/{}/configurations/{}?client_id={}",
            endpoint("appconfig", &region, flag),
            seg("Application"),
            seg("Environment"),
            seg("Configuration"),
            seg("ClientId"),
        );
        if let Some(v) = get("ClientConfigurationVersion") {
            url.push_str("&client_configuration_version=");
            url.push_str(&crate::path::encode_query(&v));
        }
        (Method::GET, url, Vec::new(), Bytes::new())
    } else {
        let mut fields = serde_json::Map::new();
        for (param, field, ty) in spec.params {
            if let Some(v) = get(param) {
                fields.insert((*field).into(), typed(*ty, v));
            }
        }
        let body = if spec.entries {
            serde_json::json!({ "Entries": [fields] })
        } else {
            serde_json::Value::Object(fields)
        };
        // StartSyncExecution has its own host (`sync-states.…`); an endpoint override
        // (a local emulator) serves both.
        let url = match (spec.service, endpoint_override("states", flag)) {
            ("sync-states", Some(base)) => format!("{base}/"),
            _ => format!("{}/", endpoint(spec.service, &region, flag)),
        };
        (
            Method::POST,
            url,
            json_headers(spec.target, spec.version),
            Bytes::from(body.to_string()),
        )
    };
    let signing_name = match spec.service {
        "sync-states" => "states",
        s => service_id(s).1,
    };
    match signed_call(
        rt,
        cx,
        role,
        (method, url, extra, payload),
        &region,
        signing_name,
        timeout_ms,
    )
    .await
    {
        Ok(r) => {
            let mut out = http::Response::new(crate::full(r.body));
            *out.status_mut() =
                http::StatusCode::from_u16(r.status).unwrap_or(http::StatusCode::BAD_GATEWAY);
            if let Some(ct) = r.headers.get(http::header::CONTENT_TYPE) {
                out.headers_mut()
                    .insert(http::header::CONTENT_TYPE, ct.clone());
            }
            out
        }
        Err(resp) => resp,
    }
}

fn json_headers(target: &str, version: &str) -> Vec<(HeaderName, HeaderValue)> {
    let mut h = Vec::new();
    if let Ok(v) = HeaderValue::from_str(target) {
        h.push((HeaderName::from_static("x-amz-target"), v));
    }
    if let Ok(v) = HeaderValue::from_str(&format!("application/x-amz-json-{version}")) {
        h.push((http::header::CONTENT_TYPE, v));
    }
    h
}

/// An endpoint override for `service`, if one is set: `AWS_ENDPOINT_URL_<SERVICE>`, then
/// `--aws-endpoint-url`, then `AWS_ENDPOINT_URL`.
fn endpoint_override(service: &str, flag: Option<&str>) -> Option<String> {
    let (id, _) = service_id(service);
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let key = format!(
        "AWS_ENDPOINT_URL_{}",
        id.to_ascii_uppercase().replace('-', "_")
    );
    env(&key)
        .or(flag.filter(|f| !f.is_empty()).map(str::to_string))
        .or_else(|| env("AWS_ENDPOINT_URL"))
        .map(|e| e.trim_end_matches('/').to_string())
}
