//! HTTP APIs' gateway-managed CORS (`x-amazon-apigateway-cors`): the gateway answers
//! preflight requests itself, before routing and authorizers (so an `OPTIONS` route or an
//! authorizer never sees them). It adds the CORS headers to every other answer, and drops
//! whatever CORS headers the backend sent, as API Gateway does.
//!
//! Unverified on AWS: the preflight status (204 is used, as AWS's docs show) and whether a
//! disallowed origin's preflight still gets 204 (it does here, without CORS headers, so the
//! browser refuses it).

use http::header::{HeaderName, HeaderValue};
use http::HeaderMap;

use crate::headers::Headers;

/// `x-amazon-apigateway-cors`.
#[derive(Debug)]
pub struct CorsInfo {
    /// `allowOrigins` (`*` allowed).
    pub allow_origins: &'static [&'static str],
    /// `allowCredentials`.
    pub allow_credentials: bool,
    /// `exposeHeaders`.
    pub expose_headers: &'static [&'static str],
    /// `maxAge` (seconds).
    pub max_age: Option<u32>,
    /// `allowMethods` (`*` allowed).
    pub allow_methods: &'static [&'static str],
    /// `allowHeaders` (`*` allowed).
    pub allow_headers: &'static [&'static str],
}

impl CorsInfo {
    /// The `Access-Control-Allow-Origin` value for a request's `Origin`, if it is allowed.
    fn allowed(&self, origin: Option<&str>) -> Option<String> {
        let origin = origin?;
        if self.allow_origins.contains(&"*") {
            return Some("*".into());
        }
        self.allow_origins
            .iter()
            .any(|o| o.eq_ignore_ascii_case(origin))
            .then(|| origin.to_string())
    }

    /// Whether `headers` make a preflight request (an `OPTIONS` with `Origin` and
    /// `Access-Control-Request-Method`).
    pub fn is_preflight(method: &http::Method, headers: &Headers) -> bool {
        method == http::Method::OPTIONS
            && headers.value("origin").is_some()
            && headers.value("access-control-request-method").is_some()
    }

    /// The answer to a preflight request.
    pub fn preflight(&self, headers: &Headers) -> crate::Response {
        let mut r = http::Response::new(crate::empty());
        *r.status_mut() = http::StatusCode::NO_CONTENT;
        let origin = headers.text("origin");
        if let Some(allow) = self.allowed(origin) {
            let h = r.headers_mut();
            insert(h, http::header::ACCESS_CONTROL_ALLOW_ORIGIN, &allow);
            if !self.allow_methods.is_empty() {
                insert(
                    h,
                    http::header::ACCESS_CONTROL_ALLOW_METHODS,
                    &self.allow_methods.join(","),
                );
            }
            if !self.allow_headers.is_empty() {
                insert(
                    h,
                    http::header::ACCESS_CONTROL_ALLOW_HEADERS,
                    &self.allow_headers.join(","),
                );
            }
            if let Some(age) = self.max_age {
                insert(h, http::header::ACCESS_CONTROL_MAX_AGE, &age.to_string());
            }
            if self.allow_credentials {
                insert(h, http::header::ACCESS_CONTROL_ALLOW_CREDENTIALS, "true");
            }
        }
        r
    }

    /// The CORS headers of an answer (the backend's own are dropped).
    pub fn decorate(&self, request: &Headers, response: &mut HeaderMap) {
        let names: Vec<HeaderName> = response
            .keys()
            .filter(|k| k.as_str().starts_with("access-control-"))
            .cloned()
            .collect();
        for n in names {
            response.remove(n);
        }
        let origin = request.text("origin");
        let Some(allow) = self.allowed(origin) else {
            return;
        };
        insert(response, http::header::ACCESS_CONTROL_ALLOW_ORIGIN, &allow);
        if self.allow_credentials {
            insert(
                response,
                http::header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                "true",
            );
        }
        if !self.expose_headers.is_empty() {
            insert(
                response,
                http::header::ACCESS_CONTROL_EXPOSE_HEADERS,
                &self.expose_headers.join(","),
            );
        }
    }
}

fn insert(h: &mut HeaderMap, name: HeaderName, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        h.insert(name, v);
    }
}
