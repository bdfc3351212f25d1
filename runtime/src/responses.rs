//! Gateway responses: the answers API Gateway itself gives (unknown route, timeouts, …), with
//! AWS's default status codes, `{"message": …}` bodies and `x-amzn-ErrorType` headers, and
//! their customisation through `x-amazon-apigateway-gateway-responses`.

use http::header::{HeaderName, HeaderValue, CONTENT_TYPE};

use crate::context::Context;
use crate::template::{self, Part, Source};
use crate::{full, Flavor, Response};

pub use crate::response_type::ResponseType;

/// A customised gateway response, as generated from the spec.
#[derive(Debug)]
pub struct CustomResponse {
    /// `statusCode`.
    pub status: Option<u16>,
    /// `responseParameters` for headers: name → source.
    pub headers: &'static [(&'static str, Source)],
    /// `responseTemplates`: media type → template.
    pub templates: &'static [(&'static str, &'static [Part])],
}

/// Renders a gateway response.
pub fn render(
    flavor: Flavor,
    custom: &'static [(ResponseType, CustomResponse)],
    cx: &mut Context,
    kind: ResponseType,
    message: Option<String>,
) -> Response {
    let message_text = message.or_else(|| kind.default_message().map(str::to_string));
    cx.error = Some((kind, message_text.clone().unwrap_or_default()));
    if flavor == Flavor::Http {
        // HTTP APIs have fixed error bodies and no customisation.
        let (status, msg) = match kind {
            ResponseType::MissingAuthenticationToken | ResponseType::ResourceNotFound => {
                (404, "Not Found")
            }
            ResponseType::IntegrationTimeout => (503, "Service Unavailable"),
            ResponseType::IntegrationFailure | ResponseType::ApiConfigurationError => {
                (500, "Internal Server Error")
            }
            ResponseType::Unauthorized => (401, "Unauthorized"),
            ResponseType::AccessDenied | ResponseType::InvalidApiKey => (403, "Forbidden"),
            ResponseType::Throttled => (429, "Too Many Requests"),
            ResponseType::RequestTooLarge => (413, "Request Entity Too Large"),
            _ => (
                kind.default_status(),
                message_text.as_deref().unwrap_or("Internal Server Error"),
            ),
        };
        let body = serde_json::json!({ "message": msg }).to_string();
        let mut r = http::Response::new(full(body));
        *r.status_mut() =
            http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
        r.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        add_ids(&mut r, cx, false);
        return r;
    }
    // Explicit type, then DEFAULT_4XX / DEFAULT_5XX, then the built-in answer.
    let class = if kind.default_status() >= 500 {
        ResponseType::Default5xx
    } else {
        ResponseType::Default4xx
    };
    let find = |k: ResponseType| custom.iter().find(|(t, _)| *t == k).map(|(_, c)| c);
    let specific = find(kind);
    let fallback = find(class);
    let status = specific
        .and_then(|c| c.status)
        .or_else(|| fallback.and_then(|c| c.status))
        .unwrap_or(kind.default_status());
    let templates = specific
        .filter(|c| !c.templates.is_empty())
        .or(fallback.filter(|c| !c.templates.is_empty()))
        .map(|c| c.templates)
        .unwrap_or(&[]);
    let (content_type, body) = match templates
        .iter()
        .find(|(m, _)| *m == "application/json")
        .or(templates.first())
    {
        Some((media, parts)) => (*media, template::render(parts, cx)),
        None => ("application/json", default_body(message_text.as_deref())),
    };
    let mut r = http::Response::new(full(body));
    *r.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    let h = r.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_str(content_type).unwrap_or(HeaderValue::from_static("application/json")),
    );
    if let Some(t) = kind.error_type() {
        h.insert("x-amzn-errortype", HeaderValue::from_static(t));
    }
    // Class-level headers first, then the specific type's (which win).
    for c in [fallback, specific].into_iter().flatten() {
        for (name, src) in c.headers {
            if let (Ok(n), Some(v)) = (HeaderName::from_bytes(name.as_bytes()), src.value(cx, None))
            {
                if let Ok(v) = HeaderValue::from_str(&v) {
                    h.insert(n, v);
                }
            }
        }
    }
    add_ids(&mut r, cx, true);
    r
}

/// `{"message":"…"}` exactly as API Gateway's default template renders it.
fn default_body(message: Option<&str>) -> String {
    let m = match message {
        Some(m) => serde_json::Value::from(m).to_string(),
        None => "null".to_string(),
    };
    format!("{{\"message\":{m}}}")
}

pub use crate::framing::{X_AMZN_REQUESTID, X_AMZ_APIGW_ID};

/// `x-amzn-RequestId` (and `x-amz-apigw-id` on REST APIs) on every response.
pub fn add_ids(r: &mut Response, cx: &Context, rest: bool) {
    // A backend's fields passed on unparsed: the ids go with them, and no map is built.
    if let Some(raw) = r.body_mut().raw_fields_mut() {
        if let Some(ids) = crate::framing::Ids::new(&cx.request_id, rest) {
            raw.set_ids(ids);
            return;
        }
    }
    let Ok(v) = HeaderValue::from_str(&cx.request_id) else {
        return;
    };
    let headers = r.headers_mut();
    headers.reserve(2);
    headers.insert(X_AMZN_REQUESTID, v);
    if rest {
        let (short, n) = crate::framing::short_id(cx.request_id.as_bytes());
        if let Ok(id) = HeaderValue::from_bytes(&short[..n]) {
            headers.insert(X_AMZ_APIGW_ID, id);
        }
    }
}

/// [`add_ids`] for an answer on its way out (nothing reads or rebuilds it after): the ids
/// are written after its fields as they are, with unparsed fields made for them when it
/// carries none, never inserted into its header map (two insertions were 500 instructions
/// of a Lambda call's answer).
pub fn add_ids_to_write(r: &mut Response, cx: &Context, rest: bool) {
    // An id field the answer has in its map already is replaced there, in its place.
    let in_map = rest && r.headers().contains_key(X_AMZ_APIGW_ID);
    let Some(ids) = crate::framing::Ids::new(&cx.request_id, rest).filter(|_| !in_map) else {
        return add_ids(r, cx, rest);
    };
    match r.body_mut().raw_fields_mut() {
        Some(raw) => raw.set_ids(ids),
        None => {
            let mut raw = crate::framing::RawFields::new(bytes::Bytes::new(), Default::default());
            raw.set_ids(ids);
            r.body_mut().set_raw_fields(Box::new(raw));
        }
    }
}

/// The plain-text 413 API Gateway gives for bodies over 10 MB (not customisable).
pub fn request_too_large(limit: u64) -> Response {
    let mut r = http::Response::new(full(format!("HTTP content length exceeded {limit} bytes.")));
    *r.status_mut() = http::StatusCode::PAYLOAD_TOO_LARGE;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    r
}

/// Request line and header values over API Gateway's 10,240 bytes: 431 (AWS's exact answer
/// is unverified; its front end rejects such requests before API Gateway's own code runs).
pub fn header_too_large() -> Response {
    let mut r = http::Response::new(full(r#"{"message": "Request Header Fields Too Large"}"#));
    *r.status_mut() = http::StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r.headers_mut()
        .insert(http::header::CONNECTION, HeaderValue::from_static("close"));
    r
}

/// API Gateway's answer to its own failure: 500 `{"message": "Internal server error"}`.
pub fn internal_error() -> Response {
    let mut r = http::Response::new(full(r#"{"message": "Internal server error"}"#));
    *r.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r.headers_mut().insert(
        "x-amzn-errortype",
        HeaderValue::from_static("InternalServerErrorException"),
    );
    r
}

/// REST's answer to output it cannot use (AWS-recorded: 502, this body, this error type).
pub fn bad_gateway() -> Response {
    http::Response::builder()
        .status(http::StatusCode::BAD_GATEWAY)
        .header("content-type", "application/json")
        .header("x-amzn-ErrorType", "InternalServerErrorException")
        .body(full(r#"{"message": "Internal server error"}"#))
        .expect("static response")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An answer on its way out carries its ids unparsed, after its own fields; one whose
    /// map has an `x-amz-apigw-id` already gets them in the map, replaced in place.
    #[test]
    fn ids_on_the_way_out_follow_the_fields_once() {
        let mut parts = http::Request::new(()).into_parts().0;
        let mut cx = Context::for_tests(&mut parts);
        cx.request_id = "c6af9ac6-7b61-11e6-9a41-93e8deadbeef".into();
        let names = |r: &mut Response| {
            assert!(r.body().raw_fields().is_some_and(|f| f.has_request_id()));
            crate::framing::RawFields::materialize(r);
            let names: Vec<String> = r.headers().keys().map(|n| n.to_string()).collect();
            names
        };
        let mut r = http::Response::new(crate::empty());
        r.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        add_ids_to_write(&mut r, &cx, true);
        assert!(r.headers().get(X_AMZN_REQUESTID).is_none());
        assert_eq!(
            names(&mut r),
            ["content-type", "x-amzn-requestid", "x-amz-apigw-id"]
        );
        assert_eq!(r.headers()[X_AMZ_APIGW_ID], "c6af9ac67b6111e6");
        let mut r = http::Response::new(crate::empty());
        r.headers_mut()
            .insert(X_AMZ_APIGW_ID, HeaderValue::from_static("mine"));
        r.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        add_ids_to_write(&mut r, &cx, true);
        assert!(r.body().raw_fields().is_none());
        let names: Vec<_> = r.headers().keys().map(|n| n.as_str()).collect();
        assert_eq!(
            names,
            ["x-amz-apigw-id", "content-type", "x-amzn-requestid"]
        );
        assert_eq!(r.headers()[X_AMZ_APIGW_ID], "c6af9ac67b6111e6");
    }

    #[test]
    fn the_apigw_id_is_the_request_ids_first_sixteen_characters_without_dashes() {
        let mut parts = http::Request::new(()).into_parts().0;
        let mut cx = Context::for_tests(&mut parts);
        for (id, short) in [
            ("c6af9ac6-7b61-11e6-9a41-93e8deadbeef", "c6af9ac67b6111e6"),
            ("c6af9ac6-7b61--1e6-9a41-93e8deadbeef", "c6af9ac67b611e69"),
            ("a-b-c", "abc"),
        ] {
            cx.request_id = id.to_string();
            let mut r = http::Response::new(crate::empty());
            add_ids(&mut r, &cx, true);
            assert_eq!(r.headers()["x-amzn-requestid"], id);
            assert_eq!(r.headers()["x-amz-apigw-id"], short, "{id}");
        }
    }
}
