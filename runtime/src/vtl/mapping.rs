//! Where compiled templates run in a request (reference §1.2, §1.5, §2.2): the request
//! template chosen by `Content-Type` under `passthroughBehavior`, the response template
//! chosen by `Accept`, a mock's status from its rendered request template, and the
//! overrides templates write.

use bytes::Bytes;
use http::{HeaderName, HeaderValue};
use serde_json::Value;

use super::env::overrides;
use super::{Env, Failure, Overrides};
use crate::context::Context;
use crate::responses::ResponseType;
use crate::state::Runtime;
use crate::{Request, Response};

/// A compiled template: what it reads, and the override maps it may write.
pub type Template = fn(&Env<'_>, &mut Value) -> Result<String, Failure>;

/// `passthroughBehavior`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Passthrough {
    /// `when_no_match` (the default): a body with no template goes as received.
    WhenNoMatch,
    /// `when_no_templates`: as received only when there are no templates at all; else 415.
    WhenNoTemplates,
    /// `never`: 415 without a matching template.
    Never,
}

/// The result of request mapping.
pub struct Mapped {
    /// The rendered template; `None` when the body passes through.
    pub body: Option<Bytes>,
    /// The override maps the template wrote (`Value::Null` when none ran).
    pub overrides: Value,
}

impl Mapped {
    /// The overrides, as the runtime applies them.
    pub fn overrides(&self) -> Overrides {
        overrides(&self.overrides)
    }
}

/// Reads the whole request body (within the 10 MB limit).
pub async fn read_body(req: Request) -> Result<Bytes, Response> {
    crate::body::collect(req.into_body())
        .await
        .map_err(crate::body::ClientBodyError::response)
}

/// The response for a template that failed: 400 with API Gateway's `Could not process
/// payload` message for a payload that is not JSON, else 500 `Internal server error`.
pub fn failure(rt: &Runtime, cx: &mut Context, f: Failure) -> Response {
    match f {
        Failure::Payload(message) => {
            rt.gateway_response_with(cx, ResponseType::BadRequestBody, message)
        }
        Failure::Internal(_) => rt.gateway_response(cx, ResponseType::ApiConfigurationError),
    }
}

/// Runs the request template for the request's media type (absent `Content-Type` means
/// `application/json`; parameters are ignored), or applies `passthroughBehavior` when none
/// matches: the body as received, or 415 `Unsupported Media Type`.
// The error is the response to send, built once and moved out: boxing it buys nothing.
#[allow(clippy::result_large_err)]
pub fn map_request(
    rt: &Runtime,
    cx: &mut Context,
    body: &Bytes,
    templates: &[(&str, Template)],
    passthrough: Passthrough,
) -> Result<Mapped, Response> {
    let media = crate::validate::media_type(cx);
    let Some((_, template)) = templates
        .iter()
        .find(|(m, _)| m.eq_ignore_ascii_case(&media))
    else {
        return match passthrough {
            Passthrough::WhenNoMatch => Ok(Mapped {
                body: None,
                overrides: Value::Null,
            }),
            Passthrough::WhenNoTemplates if templates.is_empty() => Ok(Mapped {
                body: None,
                overrides: Value::Null,
            }),
            _ => Err(rt.gateway_response(cx, ResponseType::UnsupportedMediaType)),
        };
    };
    // Built by the template if it uses them (`ops::ensure_overrides`).
    let mut ov = Value::Null;
    let rendered = template(&Env::new(cx, body), &mut ov).map(|text| (text, ov));
    match rendered {
        Ok((text, overrides)) => Ok(Mapped {
            body: Some(Bytes::from(text)),
            overrides,
        }),
        Err(f) => Err(failure(rt, cx, f)),
    }
}

/// The status a mock integration answers with: `statusCode` of its rendered request
/// template. API Gateway reads it leniently (`{statusCode: 200}` works, AWS-recorded), so
/// this accepts JSON and unquoted keys alike; without one it is 200 (unverified on AWS for
/// a template that omits it).
pub fn mock_status(rendered: &[u8]) -> u16 {
    let text = String::from_utf8_lossy(rendered);
    let Some(at) = text.find("statusCode") else {
        return 200;
    };
    let rest = text[at + "statusCode".len()..]
        .trim_start_matches(['"', '\''])
        .trim_start();
    let Some(rest) = rest.strip_prefix(':') else {
        return 200;
    };
    let rest = rest.trim_start().trim_start_matches(['"', '\'']);
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap_or(200)
}

/// Runs the response template API Gateway's `Accept` rule picks over the integration's
/// response `body`, continuing from the request template's `overrides`. Returns the media
/// type, the body and the overrides.
pub fn map_response(
    cx: &Context,
    templates: &[(&'static str, Template)],
    body: &[u8],
    overrides: Value,
) -> Result<Option<(&'static str, String, Value)>, Failure> {
    let Some(&(media, template)) = crate::template::pick_by_accept(templates, cx.header("accept"))
    else {
        return Ok(None);
    };
    let mut ov = overrides;
    let text = template(&Env::new(cx, body), &mut ov)?;
    Ok(Some((media, text, ov)))
}

/// The end of an integration-response arm with response templates: the body by the
/// template the `Accept` header picks, run over `input`, its `Content-Type` (unless
/// `responseParameters` mapped one into `builder`), the template's overrides applied. A
/// template failure is API Gateway's 500 (or 400 for a payload that is not JSON).
pub fn respond(
    rt: &Runtime,
    cx: &mut Context,
    builder: http::response::Builder,
    templates: &[(&'static str, Template)],
    input: &[u8],
    overrides: Value,
) -> Response {
    match map_response(cx, templates, input, overrides) {
        Ok(Some((media, text, ov))) => finish(rt, cx, builder, media, Bytes::from(text), &ov),
        Ok(None) => finish(
            rt,
            cx,
            builder,
            "application/json",
            Bytes::new(),
            &Value::Null,
        ),
        Err(f) => failure(rt, cx, f),
    }
}

/// The end of an integration-response arm without templates: `body` (the backend's, or
/// none for a mock) as `application/json` unless `responseParameters` mapped a type.
pub fn passthrough(
    rt: &Runtime,
    cx: &mut Context,
    builder: http::response::Builder,
    body: Bytes,
    overrides: &Value,
) -> Response {
    finish(rt, cx, builder, "application/json", body, overrides)
}

fn finish(
    rt: &Runtime,
    cx: &mut Context,
    mut builder: http::response::Builder,
    content_type: &'static str,
    body: Bytes,
    overrides: &Value,
) -> Response {
    // Only `responseParameters` put headers into the builder: a mapped type wins.
    let mapped = builder
        .headers_ref()
        .is_some_and(|h| h.contains_key(http::header::CONTENT_TYPE));
    if !mapped {
        builder = builder.header(http::header::CONTENT_TYPE, content_type);
    }
    let mut resp = builder
        .body(crate::full(body))
        .unwrap_or_else(|_| rt.gateway_response(cx, ResponseType::ApiConfigurationError));
    apply_response_overrides(&mut resp, overrides);
    resp
}

/// Applies `responseOverride.status` and `responseOverride.header.*` to the answer.
pub fn apply_response_overrides(resp: &mut Response, overrides: &Value) {
    if overrides.is_null() {
        return;
    }
    let o = super::env::overrides(overrides);
    if let Some(s) = o.status.and_then(|s| http::StatusCode::from_u16(s).ok()) {
        *resp.status_mut() = s;
    }
    let mut first = true;
    let mut last: Option<&str> = None;
    for (name, value) in &o.response_headers {
        let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) else {
            continue;
        };
        // A list value gives one header per element; the first replaces what was there.
        if last != Some(name.as_str()) {
            first = true;
        }
        if first {
            resp.headers_mut().insert(n, v);
        } else {
            resp.headers_mut().append(n, v);
        }
        first = false;
        last = Some(name.as_str());
    }
}

/// Applies `requestOverride.header.*` to the mapped request headers (replacing any of the
/// same name).
pub fn override_headers(
    headers: &mut Vec<(std::borrow::Cow<'static, str>, String)>,
    o: &Overrides,
) {
    for (name, _) in &o.request_headers {
        headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }
    for (name, value) in &o.request_headers {
        headers.push((name.clone().into(), value.clone()));
    }
}

/// `contentHandling` of an integration (request payload) or integration response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentHandling {
    /// A binary payload becomes its base64 text; text stays as it is.
    ConvertToText,
    /// A text payload is base64-decoded into bytes; binary stays as it is.
    ConvertToBinary,
}

/// Whether `media` (a `Content-Type`, or an `Accept` whose first media type counts) is one of
/// the API's `binaryMediaTypes`. Parameters are ignored, case does not matter, and `*/*` or
/// `type/*` in the list match as wildcards.
pub fn is_binary(types: &[&str], media: Option<&str>) -> bool {
    let Some(m) = media
        .and_then(|m| m.split([',', ';']).next())
        .map(str::trim)
        .filter(|m| !m.is_empty())
    else {
        return false;
    };
    let (mt, ms) = m.split_once('/').unwrap_or((m, ""));
    types.iter().any(|t| {
        let (tt, ts) = t.split_once('/').unwrap_or((t, ""));
        (tt == "*" || tt.eq_ignore_ascii_case(mt)) && (ts == "*" || ts.eq_ignore_ascii_case(ms))
    })
}

/// One conversion; `None` when a text payload that must become binary is not base64.
fn convert(body: Bytes, binary: bool, ch: ContentHandling) -> Option<Bytes> {
    match (ch, binary) {
        (ContentHandling::ConvertToText, true) => {
            Some(Bytes::from(super::base64_encode_bytes(&body)))
        }
        (ContentHandling::ConvertToBinary, false) => {
            super::base64_decode_bytes(&body).map(Bytes::from)
        }
        _ => Some(body),
    }
}

/// The request payload as the integration gets it (AWS's request conversion table): the
/// payload is binary when its `Content-Type` is a binary media type. Templates see the
/// converted payload.
pub fn convert_request(
    body: Bytes,
    cx: &Context,
    types: &[&str],
    ch: ContentHandling,
) -> Option<Bytes> {
    convert(body, is_binary(types, cx.header("content-type")), ch)
}

/// The integration response payload as the method response gets it (AWS's response
/// conversion table): with `contentHandling`, as it says; without it, a binary payload for a
/// client whose first `Accept` type is text becomes base64 text, and a text payload for a
/// client that accepts a binary type is base64-decoded. Nothing changes when the API has no
/// binary media types.
pub fn convert_response(
    body: Bytes,
    content_type: Option<&str>,
    cx: &Context,
    types: &[&str],
    ch: Option<ContentHandling>,
) -> Option<Bytes> {
    let binary = is_binary(types, content_type);
    match ch {
        Some(ch) => convert(body, binary, ch),
        None if types.is_empty() => Some(body),
        None => match (binary, is_binary(types, cx.header("accept"))) {
            (true, false) => convert(body, true, ContentHandling::ConvertToText),
            (false, true) => convert(body, false, ContentHandling::ConvertToBinary),
            _ => Some(body),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mock_status_is_read_leniently() {
        assert_eq!(mock_status(br#"{"statusCode": 404}"#), 404);
        assert_eq!(mock_status(b"{statusCode: 201}"), 201);
        assert_eq!(mock_status(b"{ 'statusCode' : '302' }"), 302);
        assert_eq!(mock_status(b"{}"), 200);
        assert_eq!(mock_status(b""), 200);
    }

    #[test]
    fn binary_media_types_match_like_api_gateway() {
        let types = ["image/png", "application/*"];
        assert!(is_binary(&types, Some("image/png")));
        assert!(is_binary(&types, Some("IMAGE/PNG; q=1")));
        assert!(is_binary(&types, Some("application/zip")));
        assert!(is_binary(&types, Some("image/png, text/html")));
        assert!(!is_binary(&types, Some("text/html, image/png")));
        assert!(!is_binary(&types, Some("image/jpeg")));
        assert!(!is_binary(&types, None));
        assert!(is_binary(&["*/*"], Some("text/plain")));
    }

    #[test]
    fn conversions_follow_the_tables() {
        let text = Bytes::from_static(b"aGk=");
        let bin = Bytes::from_static(b"hi");
        let t = ContentHandling::ConvertToText;
        let b = ContentHandling::ConvertToBinary;
        assert_eq!(convert(bin.clone(), true, t).unwrap(), "aGk=");
        assert_eq!(convert(text.clone(), false, t).unwrap(), "aGk=");
        assert_eq!(convert(text.clone(), false, b).unwrap(), "hi");
        assert_eq!(convert(bin.clone(), true, b).unwrap(), "hi");
        assert!(convert(Bytes::from_static(b"not base64!"), false, b).is_none());
    }
}
