//! Lowering: which kind of API the document describes — REST or HTTP — inferred from what it
//! uses, since users' files rarely say (`x-amazon-apigateway-importexport-version` is written
//! only by HTTP API exports).

use super::*;

/// The first place each kind of API shows itself.
#[derive(Default)]
struct Markers {
    rest: Option<(Span, &'static str)>,
    http: Option<(Span, &'static str)>,
}

impl Markers {
    fn rest(&mut self, span: Span, what: &'static str) {
        self.rest.get_or_insert((span, what));
    }
    fn http(&mut self, span: Span, what: &'static str) {
        self.http.get_or_insert((span, what));
    }

    /// Walks the document (the root file; `$ref`'d files hold schemas, not markers).
    fn scan(&mut self, node: &Node, depth: usize) {
        if depth > 64 {
            return;
        }
        match &node.value {
            NodeValue::Object(entries) => {
                for e in entries {
                    self.entry(e);
                    self.scan(&e.value, depth + 1);
                }
            }
            NodeValue::Array(items) => {
                for i in items {
                    self.scan(i, depth + 1);
                }
            }
            _ => {}
        }
    }

    fn entry(&mut self, e: &Entry) {
        let span = e.key_span;
        match e.key.as_str() {
            "x-amazon-apigateway-importexport-version" => {
                self.http(span, "x-amazon-apigateway-importexport-version")
            }
            "x-amazon-apigateway-cors" => self.http(span, "x-amazon-apigateway-cors"),
            "x-amazon-apigateway-integrations" => {
                self.http(span, "x-amazon-apigateway-integrations")
            }
            "integrationSubtype" => self.http(span, "integrationSubtype"),
            "payloadFormatVersion" => self.http(span, "payloadFormatVersion"),
            "requestTemplates" => self.rest(span, "requestTemplates"),
            "x-amazon-apigateway-request-validators" => {
                self.rest(span, "x-amazon-apigateway-request-validators")
            }
            "x-amazon-apigateway-request-validator" => {
                self.rest(span, "x-amazon-apigateway-request-validator")
            }
            "x-amazon-apigateway-api-key-source" => {
                self.rest(span, "x-amazon-apigateway-api-key-source")
            }
            "x-amazon-apigateway-gateway-responses" => {
                self.rest(span, "x-amazon-apigateway-gateway-responses")
            }
            "x-amazon-apigateway-integration" => {
                let t = e.value.get("type");
                match t
                    .and_then(Node::as_str)
                    .map(str::to_ascii_lowercase)
                    .as_deref()
                {
                    Some("aws") => self.rest(t.map_or(span, |t| t.span), "an `aws` integration"),
                    Some("mock") => self.rest(t.map_or(span, |t| t.span), "a `mock` integration"),
                    Some("http") => self.rest(
                        t.map_or(span, |t| t.span),
                        "an `http` (non-proxy) integration",
                    ),
                    _ => {}
                }
                if let Some(params) = e.value.get("requestParameters").and_then(Node::as_object) {
                    for p in params {
                        if p.key.starts_with("integration.request.") {
                            self.rest(p.key_span, "an `integration.request.*` parameter mapping");
                        } else if ["overwrite:", "append:", "remove:"]
                            .iter()
                            .any(|x| p.key.starts_with(x))
                            || p.value.as_str().is_some_and(|v| v.starts_with("$request."))
                        {
                            self.http(p.key_span, "a `$request.*` parameter mapping");
                        }
                    }
                }
            }
            "x-amazon-apigateway-authorizer" => {
                if let Some(t) = e.value.get("type") {
                    if t.as_str().is_some_and(|s| s.eq_ignore_ascii_case("jwt")) {
                        self.http(t.span, "a `jwt` authorizer");
                    }
                }
            }
            _ => {}
        }
    }
}

impl<'a> Cx<'a> {
    /// `x-specgate-api-type` when written; otherwise what the document uses. When it uses
    /// both kinds' features, REST wins: an HTTP API cannot have the REST-only ones (mock,
    /// `aws` and `http` integrations, mapping templates, validators, gateway responses, API
    /// key sources), while a REST API only ignores the HTTP-only ones, each of which is then
    /// reported where it is read (SG0309). The conflict itself is reported once.
    pub(super) fn infer_flavor(&mut self, root: &'a Node) -> Flavor {
        if let Some(n) = root.get("x-specgate-api-type") {
            if let Some(f) = self.one_of(
                n,
                "API type",
                &[("rest", Flavor::Rest), ("http", Flavor::Http)],
            ) {
                return f;
            }
        }
        let mut m = Markers::default();
        m.scan(root, 0);
        match (m.rest, m.http) {
            (Some((rest_span, rest_what)), Some((http_span, http_what))) => {
                self.d
                    .warning(
                        &codes::FLAVOUR_MISMATCH,
                        rest_span,
                        format!("this document uses both REST API features ({rest_what}) and HTTP API features ({http_what}); it is read as a REST API"),
                    )
                    .label(format!("{rest_what}: REST APIs only"))
                    .secondary(http_span, format!("{http_what}: HTTP APIs only"))
                    .help("an HTTP API cannot have the REST API feature, and a REST API ignores the HTTP API one; set `x-specgate-api-type: rest` or `http` to say which this is");
                Flavor::Rest
            }
            (None, Some(_)) => Flavor::Http,
            _ => Flavor::Rest,
        }
    }
}
