//! Gateway responses: the answers API Gateway itself gives (unknown route, timeouts, …), with
//! AWS's default status codes, `{"message": …}` bodies and `x-amzn-ErrorType` headers, and
//! their customisation through `x-amazon-apigateway-gateway-responses`.

use http::header::{HeaderName, HeaderValue, CONTENT_TYPE};

use crate::context::Context;
use crate::template::{self, Part, Source};
use crate::{full, Flavor, Response};

/// Gateway response types (the subset the runtime produces today is marked in
/// [`ResponseType::default_status`] by use; all exist so that customisations compile).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum ResponseType {
    AccessDenied,
    ApiConfigurationError,
    AuthorizerConfigurationError,
    AuthorizerFailure,
    BadRequestBody,
    BadRequestParameters,
    Default4xx,
    Default5xx,
    ExpiredToken,
    IntegrationFailure,
    IntegrationTimeout,
    InvalidApiKey,
    InvalidSignature,
    MissingAuthenticationToken,
    QuotaExceeded,
    RequestTooLarge,
    ResourceNotFound,
    Throttled,
    Unauthorized,
    UnsupportedMediaType,
    WafFiltered,
}

impl ResponseType {
    /// The AWS name (`MISSING_AUTHENTICATION_TOKEN`).
    pub fn name(self) -> &'static str {
        use ResponseType::*;
        match self {
            AccessDenied => "ACCESS_DENIED",
            ApiConfigurationError => "API_CONFIGURATION_ERROR",
            AuthorizerConfigurationError => "AUTHORIZER_CONFIGURATION_ERROR",
            AuthorizerFailure => "AUTHORIZER_FAILURE",
            BadRequestBody => "BAD_REQUEST_BODY",
            BadRequestParameters => "BAD_REQUEST_PARAMETERS",
            Default4xx => "DEFAULT_4XX",
            Default5xx => "DEFAULT_5XX",
            ExpiredToken => "EXPIRED_TOKEN",
            IntegrationFailure => "INTEGRATION_FAILURE",
            IntegrationTimeout => "INTEGRATION_TIMEOUT",
            InvalidApiKey => "INVALID_API_KEY",
            InvalidSignature => "INVALID_SIGNATURE",
            MissingAuthenticationToken => "MISSING_AUTHENTICATION_TOKEN",
            QuotaExceeded => "QUOTA_EXCEEDED",
            RequestTooLarge => "REQUEST_TOO_LARGE",
            ResourceNotFound => "RESOURCE_NOT_FOUND",
            Throttled => "THROTTLED",
            Unauthorized => "UNAUTHORIZED",
            UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            WafFiltered => "WAF_FILTERED",
        }
    }

    /// AWS's default status code.
    pub fn default_status(self) -> u16 {
        use ResponseType::*;
        match self {
            AccessDenied
            | ExpiredToken
            | InvalidApiKey
            | InvalidSignature
            | MissingAuthenticationToken
            | WafFiltered => 403,
            ApiConfigurationError
            | AuthorizerConfigurationError
            | AuthorizerFailure
            | Default5xx => 500,
            BadRequestBody | BadRequestParameters | Default4xx => 400,
            IntegrationFailure | IntegrationTimeout => 504,
            QuotaExceeded | Throttled => 429,
            RequestTooLarge => 413,
            ResourceNotFound => 404,
            Unauthorized => 401,
            UnsupportedMediaType => 415,
        }
    }

    /// AWS's default message (`None` renders as JSON `null`).
    pub fn default_message(self) -> Option<&'static str> {
        use ResponseType::*;
        Some(match self {
            AccessDenied => "User is not authorized to access this resource",
            ApiConfigurationError | Default5xx => "Internal server error",
            // [?] LocalStack answers `{"message": null}`; AWS documents no message.
            AuthorizerConfigurationError | AuthorizerFailure => return None,
            BadRequestBody => "Invalid request body",
            BadRequestParameters => "Missing required request parameters",
            Default4xx => "Bad Request",
            ExpiredToken => "The security token included in the request is expired",
            IntegrationFailure => "Internal server error",
            IntegrationTimeout => "Endpoint request timed out",
            InvalidApiKey | WafFiltered => "Forbidden",
            InvalidSignature => {
                "The request signature we calculated does not match the signature you provided"
            }
            MissingAuthenticationToken => "Missing Authentication Token",
            QuotaExceeded => "Limit Exceeded",
            RequestTooLarge => "Request Too Long",
            ResourceNotFound => "Not Found",
            Throttled => "Too Many Requests",
            Unauthorized => "Unauthorized",
            UnsupportedMediaType => "Unsupported Media Type",
        })
    }

    /// The `x-amzn-ErrorType` header value.
    pub fn error_type(self) -> Option<&'static str> {
        use ResponseType::*;
        Some(match self {
            AccessDenied => "AccessDeniedException",
            AuthorizerConfigurationError => "AuthorizerConfigurationException",
            AuthorizerFailure => "AuthorizerFailureException",
            BadRequestBody | BadRequestParameters | UnsupportedMediaType => "BadRequestException",
            ExpiredToken => "ExpiredTokenException",
            IntegrationFailure | IntegrationTimeout | ApiConfigurationError | Default5xx => {
                "InternalServerErrorException"
            }
            InvalidApiKey | WafFiltered => "ForbiddenException",
            InvalidSignature => "InvalidSignatureException",
            MissingAuthenticationToken => "MissingAuthenticationTokenException",
            QuotaExceeded => "LimitExceededException",
            ResourceNotFound => "ResourceNotFoundException",
            Throttled => "TooManyRequestsException",
            Unauthorized => "UnauthorizedException",
            Default4xx | RequestTooLarge => return None,
        })
    }
}

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

/// `x-amzn-RequestId` (and `x-amz-apigw-id` on REST APIs) on every response.
pub fn add_ids(r: &mut Response, cx: &Context, rest: bool) {
    if let Ok(v) = HeaderValue::from_str(&cx.request_id) {
        r.headers_mut().insert("x-amzn-requestid", v.clone());
        if rest {
            let short: String = cx
                .request_id
                .chars()
                .filter(|c| *c != '-')
                .take(16)
                .collect();
            if let Ok(id) = HeaderValue::from_str(&short) {
                r.headers_mut().insert("x-amz-apigw-id", id);
            }
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
