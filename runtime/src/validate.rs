//! Request validation helpers called by generated code. The generated handler passes the
//! facts (which parameters are required, already in API Gateway's order); nothing here reads
//! a spec.

use http_body_util::BodyExt;

use crate::context::Context;
use crate::responses::ResponseType;
use crate::schema::{Path, Report};
use crate::state::Runtime;
use crate::{full, Request, Response};

/// A generated body validator.
pub type Model = fn(&crate::json::Value<'_>, &Path<'_>, &mut Report);

/// A generated acceptor: the same model checked as the text is read (see
/// [`crate::json::Scan`]); `None` when it is not sure the body is valid.
pub type Accept = for<'a> fn(&mut crate::json::Scan<'a>) -> Option<()>;

/// The request's media type as API Gateway selects models by it: the `Content-Type`
/// without parameters, lower-cased; `application/json` when the header is absent.
pub fn media_type(cx: &Context) -> String {
    given_media_type(cx).to_ascii_lowercase()
}

/// The request's media type as sent (any case): [`media_type`] before lower-casing.
fn given_media_type(cx: &Context) -> &str {
    match cx.header("content-type") {
        Some(v) => v.split(';').next().unwrap_or_default().trim(),
        None => "application/json",
    }
}

/// Which of `media` (lower-case media types, as the generated body validation lists its
/// models) the request's media type is, as [`media_type`] reads it, compared without
/// lower-casing it into a string of its own.
pub fn media_index(cx: &Context, media: &[&str]) -> Option<usize> {
    let given = given_media_type(cx);
    media.iter().position(|m| m.eq_ignore_ascii_case(given))
}

/// `validateRequestBody`: reads the whole body (within the 10 MB limit), validates it with
/// `model` as API Gateway does (an empty body is validated as `{}`), and gives the request
/// back with the body buffered, or the gateway response to send: 400 `Invalid request body`
/// with `$context.error.validationErrorString` set to the validator's messages.
///
/// `accept` reads the body first: a body it accepts is valid and needs no tree; for any
/// other, the tree is built and `model` gives the verdict and the messages.
pub async fn body(
    rt: &Runtime,
    cx: &mut Context,
    req: Request,
    model: Model,
    accept: Accept,
) -> Result<Request, Response> {
    let (parts, body) = req.into_parts();
    let bytes = crate::body::collect(body)
        .await
        .map_err(crate::body::ClientBodyError::response)?;
    cx.exec_body("Method request body before transformations", &bytes);
    let started = cx.span_start();
    let accepted =
        std::str::from_utf8(&bytes).is_ok_and(|text| crate::json::Scan::accepts(text, accept));
    let failure = if accepted { None } else { judge(&bytes, model) };
    cx.span_since("validation", started, failure.is_some());
    if let Some((message, detail)) = failure {
        let media = media_type(cx);
        cx.exec_error(|| {
            format!("Request body does not match model schema for content type {media}: {message}")
        });
        cx.validation_error = Some(message);
        cx.validation_detail = Some(detail);
        return Err(rt.gateway_response(cx, ResponseType::BadRequestBody));
    }
    Ok(http::Request::from_parts(parts, full(bytes)))
}

/// The tree validator's verdict on a body: `None` when valid, else the
/// `validationErrorString` and the detail for the log.
fn judge(bytes: &[u8], model: Model) -> Option<(String, String)> {
    let parsed = if bytes.iter().all(u8::is_ascii_whitespace) {
        Ok(crate::json::Value::Object(crate::json::Map::default()))
    } else {
        crate::json::Value::parse(bytes)
    };
    match parsed {
        // Unverified on AWS: the exact validationErrorString for a body that is not JSON.
        // fge never sees such a body; API Gateway answers `Invalid request body`.
        Err(e) => Some((format!("[Invalid JSON: {e}]"), format!("/: not JSON ({e})"))),
        Ok(v) => {
            let mut report = Report::new();
            model(&v, &Path::Root, &mut report);
            (!report.ok()).then(|| (report.error_string(), report.detail()))
        }
    }
}

/// Where a required parameter is looked up (`method.request.<in>.<name>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum In {
    /// `method.request.header.*`: case-insensitive, as HTTP header names are. (LocalStack
    /// compares case-sensitively; AWS documents headers as case-insensitive, so we follow that.)
    Header,
    /// `method.request.path.*`.
    Path,
    /// `method.request.querystring.*` (case-sensitive, decoded).
    Query,
}

/// API Gateway's parameter validation (`validateRequestParameters`): every required
/// parameter must be present and not blank. `required` is in the order API Gateway lists
/// them: sorted by the full key (`method.request.header.*` < `path.*` < `querystring.*`).
/// Returns the gateway response message when something is missing, and records it as
/// `$context.error.validationErrorString`.
pub fn missing_parameters(cx: &mut Context, required: &[(In, &str)]) -> Option<String> {
    let missing: Vec<&str> = required
        .iter()
        .filter(|(location, name)| {
            let given = |v: &str| !v.trim().is_empty();
            !match location {
                In::Header => cx.header(name).is_some_and(given),
                In::Path => cx.path_param(name).is_some_and(given),
                In::Query => cx.query_param(name).is_some_and(|v| given(&v)),
            }
        })
        .map(|(_, name)| *name)
        .collect();
    if missing.is_empty() {
        return None;
    }
    let message = format!(
        "Missing required request parameters: [{}]",
        missing.join(", ")
    );
    cx.exec_error(|| format!("Request validation failed: {message}"));
    cx.validation_error = Some(message.clone());
    Some(message)
}

/// `x-specgate-validation: {bodies: typed}` for `application/x-www-form-urlencoded`: the
/// body's fields are decoded (each as an exploded `form` parameter: a repeated field is a
/// list when the schema says `array`) into an object, read as the schema's types and
/// validated with `model`. Failures are API Gateway's `Invalid request body`.
pub async fn form(
    rt: &Runtime,
    cx: &mut Context,
    req: Request,
    model: Model,
    shape: crate::params::Shape,
) -> Result<Request, Response> {
    let (parts, body) = req.into_parts();
    let bytes = crate::body::collect(body)
        .await
        .map_err(crate::body::ClientBodyError::response)?;
    let value = crate::params::form(&String::from_utf8_lossy(&bytes), shape);
    let mut report = Report::new();
    model(&crate::json::Value::from(&value), &Path::Root, &mut report);
    if !report.ok() {
        cx.validation_error = Some(report.error_string());
        cx.validation_detail = Some(report.detail());
        return Err(rt.gateway_response(cx, ResponseType::BadRequestBody));
    }
    Ok(http::Request::from_parts(parts, full(bytes)))
}

/// Picks the response model for a status code and media type (generated per route).
pub type ResponseModels = fn(u16, &str) -> Option<Model>;

/// `x-specgate-validation: {responses: log | strict}`: checks an integration response
/// against the schema its operation declares for the status and media type. A mismatch is
/// logged (one JSON line on stderr, with the JSON pointer of each failing value); in strict
/// mode the client gets a 502 `{"message":"Internal server error"}` instead, with the reason
/// in `x-specgate-response-error`. Gateway responses (`x-amzn-ErrorType`) are not checked.
pub async fn response(
    cx: &Context,
    mut resp: Response,
    strict: bool,
    models: ResponseModels,
) -> Response {
    // A proxied answer's fields may still be raw (`framing::RawFields`): the media type and
    // the error type are read from the map.
    crate::framing::RawFields::materialize(&mut resp);
    if resp.headers().contains_key("x-amzn-errortype") {
        return resp;
    }
    let media = resp
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_else(|| "application/json".to_string());
    let Some(model) = models(resp.status().as_u16(), &media) else {
        return resp;
    };
    let (parts, body) = resp.into_parts();
    let bytes = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return bad_response(
                cx,
                strict,
                "the response body could not be read".into(),
                None,
            )
        }
    };
    let failure = match crate::json::Value::parse(&bytes) {
        Err(e) => Some(format!("/: not JSON ({e})")),
        Ok(v) => {
            let mut report = Report::new();
            model(&v, &Path::Root, &mut report);
            (!report.ok()).then(|| report.detail())
        }
    };
    match failure {
        None => http::Response::from_parts(parts, full(bytes)),
        Some(why) => {
            let status = parts.status.as_u16();
            let original = http::Response::from_parts(parts, full(bytes));
            bad_response(
                cx,
                strict,
                format!("status {status}: {why}"),
                Some(original),
            )
        }
    }
}

fn bad_response(cx: &Context, strict: bool, why: String, original: Option<Response>) -> Response {
    crate::warn!(
        "{}",
        serde_json::json!({
            "level": "warn",
            "message": "integration response does not match its declared schema",
            "requestId": cx.request_id,
            "resourcePath": cx.resource_path,
            "errors": why,
        })
    );
    match original {
        Some(r) if !strict => r,
        _ => {
            let mut r = http::Response::new(full(r#"{"message":"Internal server error"}"#));
            *r.status_mut() = http::StatusCode::BAD_GATEWAY;
            r.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("application/json"),
            );
            let visible: String = why
                .chars()
                .map(|c| {
                    if c.is_ascii_graphic() || c == ' ' {
                        c
                    } else {
                        '?'
                    }
                })
                .collect();
            if let Ok(v) = http::HeaderValue::from_str(&visible) {
                r.headers_mut().insert("x-specgate-response-error", v);
            }
            r
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The media index agrees with the lower-cased media type on parameters, case, blanks
    /// and an absent header.
    #[test]
    fn media_index_reads_the_media_type_as_media_type_does() {
        let listed = ["application/json", "application/x-www-form-urlencoded"];
        for (header, expected) in [
            (None, Some(0)),
            (Some("application/json"), Some(0)),
            (Some("Application/JSON; charset=utf-8"), Some(0)),
            (Some("  application/x-www-form-urlencoded ;x=1"), Some(1)),
            (Some("text/plain"), None),
            (Some(""), None),
            (Some("application/json2"), None),
        ] {
            let mut b = http::Request::builder().uri("/");
            if let Some(h) = header {
                b = b.header("content-type", h);
            }
            let (mut parts, _) = b.body(()).unwrap().into_parts();
            let cx = Context::for_tests(&mut parts);
            assert_eq!(media_index(&cx, &listed), expected, "{header:?}");
            let by_type = listed.iter().position(|m| *m == media_type(&cx));
            assert_eq!(by_type, expected, "{header:?}");
        }
    }
}
