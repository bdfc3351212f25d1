//! Stage 2, **lower**: the loaded document → the gateway IR.
//!
//! Lowering reads the spanned tree, so every value keeps its location. Every key is accounted
//! for: OpenAPI fields that do not exist are `unknown-field` warnings, `x-amazon-apigateway-*`
//! and `x-specgate-*` keys and fields that do not exist are `unknown-extension` warnings with a
//! suggestion, and features specgate does not implement are `unsupported` errors. Other `x-*`
//! extensions belong to their authors and are left alone. The document's overall structure is
//! also checked against the `openapiv3` crate's model of OpenAPI 3.0.

use indexmap::IndexMap;

use crate::codes;
use crate::diag::Diagnostics;
use crate::ir::*;
use crate::load::{Loaded, Pointer};
use crate::source::Span;
use crate::tree::{Entry, Node, NodeValue};

const OPERATION_METHODS: &[(&str, Method)] = &[
    ("get", Method::Get),
    ("put", Method::Put),
    ("post", Method::Post),
    ("delete", Method::Delete),
    ("options", Method::Options),
    ("head", Method::Head),
    ("patch", Method::Patch),
    ("trace", Method::Trace),
];

/// Every `x-amazon-apigateway-*` extension and where it belongs, for suggestions.
pub const AWS_EXTENSIONS: &[&str] = &[
    "x-amazon-apigateway-any-method",
    "x-amazon-apigateway-integration",
    "x-amazon-apigateway-integrations",
    "x-amazon-apigateway-authorizer",
    "x-amazon-apigateway-authtype",
    "x-amazon-apigateway-auth",
    "x-amazon-apigateway-api-key-source",
    "x-amazon-apigateway-binary-media-types",
    "x-amazon-apigateway-cors",
    "x-amazon-apigateway-documentation",
    "x-amazon-apigateway-endpoint-configuration",
    "x-amazon-apigateway-gateway-responses",
    "x-amazon-apigateway-importexport-version",
    "x-amazon-apigateway-minimum-compression-size",
    "x-amazon-apigateway-policy",
    "x-amazon-apigateway-request-validators",
    "x-amazon-apigateway-request-validator",
    "x-amazon-apigateway-tag-value",
    "x-amazon-apigateway-endpoint-access-mode",
    "x-amazon-apigateway-security-policy",
];

/// `x-specgate-*` extensions that exist, and whether this version implements them.
pub const SPECGATE_EXTENSIONS: &[(&str, bool)] = &[
    ("x-specgate-api-type", true),
    ("x-specgate-stages", true),
    ("x-specgate-usage-plans", false),
    ("x-specgate-validation", true),
    ("x-specgate-websocket", false),
    ("x-specgate-portal", false),
];

/// The gateway response types API Gateway defines.
pub const GATEWAY_RESPONSE_TYPES: &[&str] = &[
    "ACCESS_DENIED",
    "API_CONFIGURATION_ERROR",
    "AUTHORIZER_CONFIGURATION_ERROR",
    "AUTHORIZER_FAILURE",
    "BAD_REQUEST_BODY",
    "BAD_REQUEST_PARAMETERS",
    "DEFAULT_4XX",
    "DEFAULT_5XX",
    "EXPIRED_TOKEN",
    "INTEGRATION_FAILURE",
    "INTEGRATION_TIMEOUT",
    "INVALID_API_KEY",
    "INVALID_SIGNATURE",
    "MISSING_AUTHENTICATION_TOKEN",
    "QUOTA_EXCEEDED",
    "REQUEST_TOO_LARGE",
    "RESOURCE_NOT_FOUND",
    "THROTTLED",
    "UNAUTHORIZED",
    "UNSUPPORTED_MEDIA_TYPE",
    "WAF_FILTERED",
];

/// The result of lowering: the IR when the document could be read as OpenAPI 3.0.
pub fn lower(l: &Loaded, diags: &mut Diagnostics) -> Option<Api> {
    let root_id = l.root?;
    let root = l.root_tree()?;
    let ptr = Pointer {
        file: root_id,
        pointer: String::new(),
    };
    let mut cx = Cx {
        l,
        d: diags,
        flavor: Flavor::Rest,
    };
    if !cx.version(root) {
        return None;
    }
    // The openapiv3 structure pass is independent of lowering: run it on a second core.
    std::thread::scope(|scope| {
        let structure = scope.spawn(|| structure(l, root));
        let api = cx.api(root, &ptr);
        match structure.join() {
            Ok(d) => cx.d.extend(d),
            Err(_) => {
                cx.d.error(
                    &codes::STRUCTURE,
                    root.span,
                    "internal error: the structure check failed; please report this",
                );
            }
        }
        Some(api)
    })
}

/// The settings written in one `x-specgate-validation` (unset keys are `None`).
#[derive(Default)]
struct SpecgateValidation {
    typed_parameters: Option<bool>,
    typed_bodies: Option<bool>,
    openapi_formats: Option<bool>,
    responses: Option<ResponseValidation>,
}

struct Cx<'a> {
    l: &'a Loaded,
    d: &'a mut Diagnostics,
    flavor: Flavor,
}

/// What kind of object a field table describes, for messages and for which unknown keys
/// are reported with which code.
#[derive(Clone, Copy, PartialEq)]
enum Vocab {
    /// A standard OpenAPI object: unknown non-`x-` keys are `unknown-field`.
    OpenApi,
    /// An AWS or specgate extension object: every unknown key is `unknown-extension`.
    Extension,
}

impl<'a> Cx<'a> {
    // ---------------------------------------------------------------- generic readers

    /// Checks that `node` is an object with only `known` keys (and `x-` extensions for OpenAPI
    /// objects), reporting the rest. Returns the entries.
    fn object(
        &mut self,
        node: &'a Node,
        what: &str,
        known: &[&str],
        vocab: Vocab,
    ) -> Option<&'a [Entry]> {
        let Some(entries) = node.as_object() else {
            self.d.error(
                &codes::STRUCTURE,
                node.span,
                format!("{what} must be an object, found {}", node.type_name()),
            );
            return None;
        };
        for e in entries {
            if known.contains(&e.key.as_str()) {
                continue;
            }
            if vocab == Vocab::OpenApi && e.key.starts_with("x-") {
                self.extension_key(e, what);
                continue;
            }
            let suggestion = crate::suggest::closest(&e.key, known.iter().copied());
            let (code, msg) = match vocab {
                Vocab::OpenApi => (
                    &codes::UNKNOWN_FIELD,
                    format!("`{}` is not a field of {what} in OpenAPI 3.0", e.key),
                ),
                Vocab::Extension => (
                    &codes::UNKNOWN_EXTENSION,
                    format!("`{}` is not a field of {what}", e.key),
                ),
            };
            let d = self.d.warning(code, e.key_span, msg).label("unknown field");
            match suggestion {
                Some(s) => d.help(format!("did you mean `{s}`?")),
                None => d.help(format!("known fields: {}", known.join(", "))),
            };
        }
        Some(entries)
    }

    /// An `x-` key on an OpenAPI object that the caller did not handle: AWS and specgate
    /// names must exist (and belong here); other vendors' extensions are theirs.
    fn extension_key(&mut self, e: &Entry, what: &str) {
        let k = e.key.as_str();
        if k.starts_with("x-amazon-apigateway-") {
            if AWS_EXTENSIONS.contains(&k) {
                self.d
                    .warning(
                        &codes::UNKNOWN_EXTENSION,
                        e.key_span,
                        format!("`{k}` does not belong on {what}; API Gateway ignores it here"),
                    )
                    .label("misplaced extension")
                    .help(extension_home(k));
            } else {
                let d = self
                    .d
                    .warning(
                        &codes::UNKNOWN_EXTENSION,
                        e.key_span,
                        format!("`{k}` is not an API Gateway extension"),
                    )
                    .label("unknown extension");
                if let Some(s) = crate::suggest::closest(k, AWS_EXTENSIONS.iter().copied()) {
                    d.help(format!("did you mean `{s}`?"));
                }
            }
        } else if k.starts_with("x-specgate-") {
            if SPECGATE_EXTENSIONS.iter().any(|(n, _)| *n == k) {
                self.d
                    .warning(
                        &codes::UNKNOWN_EXTENSION,
                        e.key_span,
                        format!("`{k}` does not belong on {what}"),
                    )
                    .help("specgate extensions are written at the root of the document");
            } else {
                let d = self
                    .d
                    .warning(
                        &codes::UNKNOWN_EXTENSION,
                        e.key_span,
                        format!("`{k}` is not a specgate extension"),
                    )
                    .label("unknown extension");
                if let Some(s) =
                    crate::suggest::closest(k, SPECGATE_EXTENSIONS.iter().map(|(n, _)| *n))
                {
                    d.help(format!("did you mean `{s}`?"));
                }
            }
        }
    }

    /// The entries of `parent[key]` when it is an object; a type error (and nothing) if it is
    /// something else; nothing if it is absent.
    fn entries_of(&mut self, parent: &'a Node, key: &str) -> &'a [Entry] {
        match parent.get(key) {
            None => &[],
            Some(n) => match n.as_object() {
                Some(e) => e,
                None => {
                    self.type_error(n, &format!("`{key}`"), "an object");
                    &[]
                }
            },
        }
    }

    /// The items of `parent[key]` when it is an array (see [`Self::entries_of`]).
    fn items_of(&mut self, parent: &'a Node, key: &str) -> &'a [Node] {
        match parent.get(key) {
            None => &[],
            Some(n) => match n.as_array() {
                Some(i) => i,
                None => {
                    self.type_error(n, &format!("`{key}`"), "an array");
                    &[]
                }
            },
        }
    }

    fn type_error(&mut self, node: &Node, what: &str, expected: &str) {
        self.d.error(
            &codes::STRUCTURE,
            node.span,
            format!("{what} must be {expected}, found {}", node.type_name()),
        );
    }

    fn string(&mut self, node: &Node, what: &str) -> Option<Spanned<String>> {
        match &node.value {
            NodeValue::String(s) => Some(Spanned::new(s.clone(), node.span)),
            _ => {
                self.type_error(node, what, "a string");
                None
            }
        }
    }

    /// A string; numbers and booleans are accepted as written (exports write `"1.0"` as `1.0`).
    fn scalar_string(&mut self, node: &Node, what: &str) -> Option<Spanned<String>> {
        match &node.value {
            NodeValue::String(s) => Some(Spanned::new(s.clone(), node.span)),
            NodeValue::Number(n) => {
                let s = match n.as_f64() {
                    Some(f) if n.is_f64() && f.fract() == 0.0 => format!("{f:.1}"),
                    _ => n.to_string(),
                };
                Some(Spanned::new(s, node.span))
            }
            NodeValue::Bool(b) => Some(Spanned::new(b.to_string(), node.span)),
            _ => {
                self.type_error(node, what, "a string");
                None
            }
        }
    }

    fn boolean(&mut self, node: &Node, what: &str) -> Option<bool> {
        match &node.value {
            NodeValue::Bool(b) => Some(*b),
            // CloudFormation-style exports sometimes quote booleans.
            NodeValue::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
            NodeValue::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
            _ => {
                self.type_error(node, what, "a boolean");
                None
            }
        }
    }

    fn integer(&mut self, node: &Node, what: &str) -> Option<i64> {
        if let Some(i) = node.as_i64() {
            return Some(i);
        }
        if let Some(i) = node.as_str().and_then(|s| s.trim().parse::<i64>().ok()) {
            return Some(i);
        }
        self.type_error(node, what, "an integer");
        None
    }

    fn string_list(&mut self, node: &Node, what: &str) -> Vec<Spanned<String>> {
        match node.as_array() {
            Some(items) => items.iter().filter_map(|n| self.string(n, what)).collect(),
            None => {
                self.type_error(node, what, "an array of strings");
                Vec::new()
            }
        }
    }

    /// A `key → string` map (parameter mappings, templates).
    fn string_map(&mut self, node: &'a Node, what: &str) -> Vec<Mapping> {
        let Some(entries) = node.as_object() else {
            self.type_error(node, what, "an object");
            return Vec::new();
        };
        entries
            .iter()
            .filter_map(|e| {
                let v = self.string(&e.value, &format!("{what} `{}`", e.key))?;
                Some((Spanned::new(e.key.clone(), e.key_span), v))
            })
            .collect()
    }

    /// An enum value, matched case-insensitively as API Gateway's importer does.
    fn one_of<T: Copy>(&mut self, node: &Node, what: &str, choices: &[(&str, T)]) -> Option<T> {
        let s = self.string(node, what)?;
        if let Some((_, v)) = choices
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(&s.value))
        {
            return Some(*v);
        }
        let names: Vec<&str> = choices.iter().map(|(n, _)| *n).collect();
        let d = self
            .d
            .error(
                &codes::INVALID_VALUE,
                node.span,
                format!("`{}` is not a valid {what}", s.value),
            )
            .label("unknown value");
        match crate::suggest::closest(&s.value, names.iter().copied()) {
            Some(c) => d.help(format!("did you mean `{c}`?")),
            None => d.help(format!("expected one of: {}", names.join(", "))),
        };
        None
    }

    /// The span of `part` inside the source text of `span` (the whole span when the text is
    /// escaped differently in the source).
    fn sub_span(&self, span: Span, part: &str) -> Span {
        let text = &self.l.db.file(span.file).text;
        text.get(span.start as usize..span.end as usize)
            .and_then(|t| t.find(part))
            .map(|i| {
                let start = span.start as usize + i;
                Span::new(span.file, start, start + part.len())
            })
            .unwrap_or(span)
    }

    fn unsupported(&mut self, span: Span, msg: impl Into<String>, help: &str) {
        self.d
            .error(&codes::UNSUPPORTED, span, msg)
            .label("not supported")
            .help(help);
    }

    fn deref(&mut self, node: &'a Node, ptr: &Pointer) -> Option<(&'a Node, Pointer)> {
        self.l.deref(node, ptr, self.d)
    }

    // ---------------------------------------------------------------- document

    /// Accepts OpenAPI 3.0.x only; anything else is one clear diagnostic.
    fn version(&mut self, root: &Node) -> bool {
        if root.as_object().is_none() {
            self.type_error(root, "an OpenAPI document", "an object");
            return false;
        }
        if let Some(sw) = root.get("swagger") {
            self.d
                .error(
                    &codes::VERSION,
                    sw.span,
                    "Swagger 2.0 documents are not supported yet; specgate reads OpenAPI 3.0.x",
                )
                .label("Swagger 2.0")
                .help("export the API as OpenAPI 3 (`aws apigateway get-export --export-type oas30`) or convert it with swagger2openapi");
            return false;
        }
        let Some(v) = root.get("openapi") else {
            self.d
                .error(
                    &codes::VERSION,
                    Span::new(
                        root.span.file,
                        root.span.start as usize,
                        root.span.start as usize,
                    ),
                    "this is not an OpenAPI document: the root has no `openapi` field",
                )
                .help("an OpenAPI 3.0 document starts with `openapi: 3.0.3`");
            return false;
        };
        let text = match &v.value {
            NodeValue::String(s) => s.clone(),
            NodeValue::Number(n) => n.to_string(),
            _ => String::new(),
        };
        if text.starts_with("3.0") && (text == "3.0" || text.starts_with("3.0.")) {
            return true;
        }
        let msg = if text.starts_with("3.1") {
            format!("OpenAPI {text} is not supported yet; specgate reads OpenAPI 3.0.x")
        } else {
            format!("`openapi: {text}` is not a version specgate reads (OpenAPI 3.0.x)")
        };
        self.d
            .error(&codes::VERSION, v.span, msg)
            .label("unsupported version")
            .help("AWS exports OpenAPI 3.0.1; write `openapi: 3.0.3` if the document uses only 3.0 features");
        false
    }

    fn api(&mut self, root: &'a Node, ptr: &Pointer) -> Api {
        // Flavour first: it changes how everything else is read.
        let mut flavor = if root
            .get("x-amazon-apigateway-importexport-version")
            .is_some()
        {
            Flavor::Http
        } else {
            Flavor::Rest
        };
        if let Some(n) = root.get("x-specgate-api-type") {
            if let Some(f) = self.one_of(
                n,
                "API type",
                &[("rest", Flavor::Rest), ("http", Flavor::Http)],
            ) {
                flavor = f;
            }
        }
        self.flavor = flavor;
        let mut api = Api {
            flavor,
            title: String::new(),
            version: String::new(),
            servers: Vec::new(),
            routes: Vec::new(),
            security_schemes: IndexMap::new(),
            request_validators: IndexMap::new(),
            default_validator: None,
            typed_parameters: false,
            openapi_formats: false,
            typed_bodies: false,
            response_validation: ResponseValidation::Off,
            api_key_source: ApiKeySource::Header,
            binary_media_types: Vec::new(),
            cors: None,
            gateway_responses: IndexMap::new(),
            minimum_compression_size: None,
            policy: None,
            security_policy: None,
            endpoint_access_mode: None,
            schemas: IndexMap::new(),
            documentation_parts: 0,
            stages: Vec::new(),
        };
        const ROOT: &[&str] = &[
            "openapi",
            "info",
            "servers",
            "paths",
            "components",
            "security",
            "tags",
            "externalDocs",
            "x-amazon-apigateway-api-key-source",
            "x-amazon-apigateway-binary-media-types",
            "x-amazon-apigateway-cors",
            "x-amazon-apigateway-documentation",
            "x-amazon-apigateway-endpoint-configuration",
            "x-amazon-apigateway-gateway-responses",
            "x-amazon-apigateway-importexport-version",
            "x-amazon-apigateway-minimum-compression-size",
            "x-amazon-apigateway-policy",
            "x-amazon-apigateway-request-validators",
            "x-amazon-apigateway-request-validator",
            "x-amazon-apigateway-endpoint-access-mode",
            "x-amazon-apigateway-security-policy",
            "x-specgate-api-type",
            "x-specgate-stages",
            "x-specgate-usage-plans",
            "x-specgate-validation",
            "x-specgate-websocket",
            "x-specgate-portal",
        ];
        let Some(entries) = self.object(root, "the OpenAPI object", ROOT, Vocab::OpenApi) else {
            return api;
        };
        // Unimplemented specgate extensions are errors, never silently dropped.
        for e in entries {
            if let Some((_, false)) = SPECGATE_EXTENSIONS.iter().find(|(n, _)| *n == e.key) {
                self.unsupported(
                    e.key_span,
                    format!("`{}` is not implemented in this version of specgate", e.key),
                    "remove it for now; it is planned (see docs/extensions.md)",
                );
            }
        }
        if let Some(info) = root.get("info") {
            if let Some(t) = info.get("title").and_then(Node::as_str) {
                api.title = t.to_string();
            }
            if let Some(v) = info.get("version") {
                api.version = self
                    .scalar_string(v, "info.version")
                    .map(|s| s.value)
                    .unwrap_or_default();
            }
        }
        if let Some(n) = root.get("x-specgate-stages") {
            api.stages = self.stages(n);
        }
        if let Some(n) = root.get("x-specgate-validation") {
            let v = self.specgate_validation(n);
            api.typed_parameters = v.typed_parameters.unwrap_or(false);
            api.openapi_formats = v.openapi_formats.unwrap_or(false);
            api.response_validation = v.responses.unwrap_or_default();
            api.typed_bodies = v.typed_bodies.unwrap_or(false);
        }
        if let Some(n) = root.get("x-amazon-apigateway-importexport-version") {
            if let Some(v) = self.scalar_string(n, "import/export version") {
                if v.value != "1.0" {
                    self.d
                        .error(
                            &codes::INVALID_VALUE,
                            n.span,
                            format!("`{}` is not a valid import/export version", v.value),
                        )
                        .help("the only version is \"1.0\"");
                }
            }
        }
        // Tags may carry x-amazon-apigateway-tag-value.
        {
            for t in self.items_of(root, "tags") {
                if let Some(n) = t.get("x-amazon-apigateway-tag-value") {
                    self.string(n, "x-amazon-apigateway-tag-value");
                }
                self.object(
                    t,
                    "a Tag object",
                    &[
                        "name",
                        "description",
                        "externalDocs",
                        "x-amazon-apigateway-tag-value",
                    ],
                    Vocab::OpenApi,
                );
            }
        }
        if let Some(servers) = root.get("servers") {
            api.servers = self.servers(servers);
        }
        if let Some(n) = root.get("x-amazon-apigateway-endpoint-configuration") {
            // Swagger 2.0 keeps it at the root; OAS 3 inside servers. Accept both.
            self.endpoint_configuration(n);
        }
        if let Some(n) = root.get("x-amazon-apigateway-api-key-source") {
            if let Some(s) = self.one_of(
                n,
                "API key source",
                &[
                    ("HEADER", ApiKeySource::Header),
                    ("AUTHORIZER", ApiKeySource::Authorizer),
                ],
            ) {
                api.api_key_source = s;
            }
            self.rest_only(n.span, "x-amazon-apigateway-api-key-source");
        }
        if let Some(n) = root.get("x-amazon-apigateway-binary-media-types") {
            api.binary_media_types = self.string_list(n, "a binary media type");
            self.rest_only(n.span, "x-amazon-apigateway-binary-media-types");
        }
        if let Some(n) = root.get("x-amazon-apigateway-cors") {
            api.cors = self.cors(n);
        }
        if let Some(n) = root.get("x-amazon-apigateway-documentation") {
            api.documentation_parts = self.documentation(n);
        }
        if let Some(n) = root.get("x-amazon-apigateway-gateway-responses") {
            api.gateway_responses = self.gateway_responses(n);
            self.rest_only(n.span, "x-amazon-apigateway-gateway-responses");
        }
        if let Some(n) = root.get("x-amazon-apigateway-minimum-compression-size") {
            if let Some(v) = self.integer(n, "the minimum compression size") {
                if !(0..=10_485_760).contains(&v) {
                    self.d
                        .error(
                            &codes::INVALID_LIMIT,
                            n.span,
                            "Invalid minimum compression size, must be between 0 and 10485760",
                        )
                        .label(format!("{v} bytes"));
                } else {
                    api.minimum_compression_size = Some(Spanned::new(v as u64, n.span));
                }
            }
        }
        if let Some(n) = root.get("x-amazon-apigateway-policy") {
            self.policy(n);
            api.policy = Some(Spanned::new(n.to_json(), n.span));
        }
        if let Some(n) = root.get("x-amazon-apigateway-request-validators") {
            api.request_validators = self.request_validators(n);
            self.rest_only(n.span, "x-amazon-apigateway-request-validators");
        }
        if let Some(n) = root.get("x-amazon-apigateway-request-validator") {
            api.default_validator = self.string(n, "the default request validator");
        }
        if let Some(n) = root.get("x-amazon-apigateway-security-policy") {
            api.security_policy = self.string(n, "the security policy");
        }
        if let Some(n) = root.get("x-amazon-apigateway-endpoint-access-mode") {
            api.endpoint_access_mode = self.string(n, "the endpoint access mode");
        }
        let components = root.get("components");
        if let Some(c) = components {
            self.object(
                c,
                "the Components object",
                &[
                    "schemas",
                    "responses",
                    "parameters",
                    "examples",
                    "requestBodies",
                    "headers",
                    "securitySchemes",
                    "links",
                    "callbacks",
                    "x-amazon-apigateway-integrations",
                ],
                Vocab::OpenApi,
            );
            {
                for e in self.entries_of(c, "securitySchemes") {
                    let p = ptr.join("components").join("securitySchemes").join(&e.key);
                    if let Some(scheme) = self.security_scheme(&e.key, &e.value, &p) {
                        api.security_schemes.insert(e.key.clone(), scheme);
                    }
                }
            }
            {
                for e in self.entries_of(c, "schemas") {
                    self.schema_tree(&e.value);
                    api.schemas.insert(
                        e.key.clone(),
                        Schema {
                            json: e.value.to_json(),
                            span: e.value.span,
                        },
                    );
                }
            }
            if let Some(n) = c.get("x-amazon-apigateway-integrations") {
                self.http_only(n.span, "x-amazon-apigateway-integrations");
            }
        }
        let default_security = root.get("security").map(|n| (self.security(n), n.span));
        if let Some(paths) = root.get("paths") {
            if let Some(entries) = paths.as_object() {
                for e in entries {
                    let p = ptr.join("paths").join(&e.key);
                    self.path_item(
                        e,
                        &p,
                        &default_security,
                        &api.default_validator,
                        &mut api.routes,
                    );
                }
            } else {
                self.type_error(paths, "`paths`", "an object");
            }
        }
        api
    }

    /// `x-specgate-validation`: `parameters: aws | typed`, `bodies: aws | typed`,
    /// `formats: aws | openapi`, `responses: off | log | strict`.
    fn specgate_validation(&mut self, node: &'a Node) -> SpecgateValidation {
        let mut v = SpecgateValidation::default();
        let Some(entries) = self.object(
            node,
            "x-specgate-validation",
            &["parameters", "bodies", "formats", "responses"],
            Vocab::Extension,
        ) else {
            return v;
        };
        for e in entries {
            match e.key.as_str() {
                "parameters" => {
                    v.typed_parameters =
                        self.one_of(&e.value, "parameters", &[("aws", false), ("typed", true)]);
                }
                "bodies" => {
                    v.typed_bodies =
                        self.one_of(&e.value, "bodies", &[("aws", false), ("typed", true)]);
                }
                "formats" => {
                    v.openapi_formats =
                        self.one_of(&e.value, "formats", &[("aws", false), ("openapi", true)]);
                }
                "responses" => {
                    v.responses = self.one_of(
                        &e.value,
                        "responses",
                        &[
                            ("off", ResponseValidation::Off),
                            ("log", ResponseValidation::Log),
                            ("strict", ResponseValidation::Strict),
                        ],
                    );
                }
                _ => {}
            }
        }
        v
    }

    fn stages(&mut self, node: &'a Node) -> Vec<Stage> {
        let Some(entries) = node.as_object() else {
            self.type_error(node, "x-specgate-stages", "an object of stages");
            return Vec::new();
        };
        let mut out = Vec::new();
        for e in entries {
            let valid_name = !e.key.is_empty()
                && e.key.len() <= 128
                && e.key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !valid_name && e.key != "$default" {
                self.d
                    .error(
                        &codes::INVALID_VALUE,
                        e.key_span,
                        format!("`{}` is not a valid stage name", e.key),
                    )
                    .help("stage names use letters, digits, `_` and `-` (at most 128)");
                continue;
            }
            const PLANNED: &[&str] = &[
                "methodSettings",
                "cacheClusterEnabled",
                "cacheClusterSize",
                "accessLogSetting",
                "throttlingRateLimit",
                "throttlingBurstLimit",
                "tracingEnabled",
            ];
            let mut known = vec!["variables", "description"];
            known.extend(PLANNED);
            if self
                .object(&e.value, "a stage", &known, Vocab::Extension)
                .is_none()
            {
                continue;
            }
            for p in PLANNED {
                if let Some(k) = e.value.entry(p) {
                    self.unsupported(
                        k.key_span,
                        format!("stage setting `{p}` is not implemented yet"),
                        "stages carry `variables` for now",
                    );
                }
            }
            let mut variables = Vec::new();
            for v in self.entries_of(&e.value, "variables") {
                let valid = !v.key.is_empty()
                    && v.key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if !valid {
                    self.d
                        .error(
                            &codes::INVALID_VALUE,
                            v.key_span,
                            format!("`{}` is not a valid stage variable name", v.key),
                        )
                        .help("stage variable names use letters, digits and `_`");
                    continue;
                }
                if let Some(val) = self.scalar_string(&v.value, "a stage variable") {
                    variables.push((v.key.clone(), val.value));
                }
            }
            out.push(Stage {
                name: e.key.clone(),
                variables,
                span: e.key_span,
            });
        }
        out
    }

    fn rest_only(&mut self, span: Span, what: &str) {
        if self.flavor == Flavor::Http {
            self.d
                .warning(
                    &codes::FLAVOUR_MISMATCH,
                    span,
                    format!("`{what}` applies to REST APIs; this is an HTTP API, which ignores it"),
                )
                .help("remove it, or drop `x-amazon-apigateway-importexport-version` / set `x-specgate-api-type: rest` if this is a REST API");
        }
    }

    fn http_only(&mut self, span: Span, what: &str) {
        if self.flavor == Flavor::Rest {
            self.d
                .warning(
                    &codes::FLAVOUR_MISMATCH,
                    span,
                    format!("`{what}` applies to HTTP APIs; this is a REST API, which ignores it"),
                )
                .help("set `x-specgate-api-type: http` (or add `x-amazon-apigateway-importexport-version: \"1.0\"`) if this is an HTTP API");
        }
    }

    fn servers(&mut self, node: &'a Node) -> Vec<Server> {
        let Some(items) = node.as_array() else {
            self.type_error(node, "`servers`", "an array");
            return Vec::new();
        };
        let mut out = Vec::new();
        for s in items {
            if self
                .object(
                    s,
                    "a Server object",
                    &[
                        "url",
                        "description",
                        "variables",
                        "x-amazon-apigateway-endpoint-configuration",
                    ],
                    Vocab::OpenApi,
                )
                .is_none()
            {
                continue;
            }
            let Some(url) = s.get("url").and_then(|u| self.string(u, "a server url")) else {
                continue;
            };
            let mut variables = IndexMap::new();
            {
                for v in self.entries_of(s, "variables") {
                    if let Some(d) = v
                        .value
                        .get("default")
                        .and_then(|d| self.scalar_string(d, "a server variable default"))
                    {
                        variables.insert(v.key.clone(), d.value);
                    }
                }
            }
            let endpoint_configuration = s
                .get("x-amazon-apigateway-endpoint-configuration")
                .and_then(|n| self.endpoint_configuration(n));
            let base_path = base_path_of(&url.value, &variables);
            out.push(Server {
                url: url.value,
                base_path,
                variables,
                endpoint_configuration,
                span: s.span,
            });
        }
        out
    }

    fn endpoint_configuration(&mut self, node: &'a Node) -> Option<EndpointConfiguration> {
        self.object(
            node,
            "x-amazon-apigateway-endpoint-configuration",
            &[
                "disableExecuteApiEndpoint",
                "vpcEndpointIds",
                "ipAddressType",
            ],
            Vocab::Extension,
        )?;
        let mut c = EndpointConfiguration::default();
        if let Some(n) = node.get("disableExecuteApiEndpoint") {
            c.disable_execute_api_endpoint = self
                .boolean(n, "disableExecuteApiEndpoint")
                .unwrap_or(false);
        }
        if let Some(n) = node.get("vpcEndpointIds") {
            c.vpc_endpoint_ids = self
                .string_list(n, "a VPC endpoint id")
                .into_iter()
                .map(|s| s.value)
                .collect();
            if !c.vpc_endpoint_ids.is_empty() {
                self.unsupported(
                    n.span,
                    "VPC endpoints exist only inside AWS",
                    "a self-hosted gateway is private by where it listens: use `--listen` on a private address and remove `vpcEndpointIds`",
                );
            }
        }
        if let Some(n) = node.get("ipAddressType") {
            c.ip_address_type = self
                .one_of(
                    n,
                    "IP address type",
                    &[("ipv4", "ipv4"), ("dualstack", "dualstack")],
                )
                .map(str::to_string);
        }
        Some(c)
    }

    fn cors(&mut self, node: &'a Node) -> Option<Cors> {
        self.http_only(node.span, "x-amazon-apigateway-cors");
        self.object(
            node,
            "x-amazon-apigateway-cors",
            &[
                "allowOrigins",
                "allowCredentials",
                "exposeHeaders",
                "maxAge",
                "allowMethods",
                "allowHeaders",
            ],
            Vocab::Extension,
        )?;
        let mut c = Cors {
            span: node.span,
            ..Cors::default()
        };
        let list = |cx: &mut Self, k: &str| {
            node.get(k)
                .map(|n| cx.string_list(n, k).into_iter().map(|s| s.value).collect())
                .unwrap_or_default()
        };
        c.allow_origins = list(self, "allowOrigins");
        c.expose_headers = list(self, "exposeHeaders");
        c.allow_methods = list(self, "allowMethods");
        c.allow_headers = list(self, "allowHeaders");
        if let Some(n) = node.get("allowCredentials") {
            c.allow_credentials = self.boolean(n, "allowCredentials").unwrap_or(false);
        }
        if let Some(n) = node.get("maxAge") {
            c.max_age = self.integer(n, "maxAge");
            if let Some(m) = c.max_age {
                if !(0..=86400).contains(&m) {
                    self.d
                        .error(
                            &codes::INVALID_LIMIT,
                            n.span,
                            "maxAge must be between 0 and 86400 seconds",
                        )
                        .label(format!("{m}"));
                }
            }
        }
        if c.allow_credentials && c.allow_origins.iter().any(|o| o == "*") {
            self.d
                .error(
                    &codes::INVALID_VALUE,
                    node.span,
                    "allowCredentials cannot be true when allowOrigins contains `*`",
                )
                .help("list the allowed origins explicitly; browsers reject credentials with a wildcard origin");
        }
        Some(c)
    }

    fn documentation(&mut self, node: &'a Node) -> usize {
        self.rest_only(node.span, "x-amazon-apigateway-documentation");
        if self
            .object(
                node,
                "x-amazon-apigateway-documentation",
                &["version", "documentationParts"],
                Vocab::Extension,
            )
            .is_none()
        {
            return 0;
        }
        let Some(parts) = node.get("documentationParts") else {
            return 0;
        };
        let Some(items) = parts.as_array() else {
            self.type_error(parts, "documentationParts", "an array");
            return 0;
        };
        for p in items {
            if self
                .object(
                    p,
                    "a documentation part",
                    &["location", "properties"],
                    Vocab::Extension,
                )
                .is_none()
            {
                continue;
            }
            if let Some(loc) = p.get("location") {
                if self
                    .object(
                        loc,
                        "a documentation part location",
                        &["type", "path", "method", "statusCode", "name"],
                        Vocab::Extension,
                    )
                    .is_some()
                {
                    if let Some(t) = loc.get("type") {
                        const TYPES: &[(&str, ())] = &[
                            ("API", ()),
                            ("AUTHORIZER", ()),
                            ("MODEL", ()),
                            ("RESOURCE", ()),
                            ("METHOD", ()),
                            ("PATH_PARAMETER", ()),
                            ("QUERY_PARAMETER", ()),
                            ("REQUEST_HEADER", ()),
                            ("REQUEST_BODY", ()),
                            ("RESPONSE", ()),
                            ("RESPONSE_HEADER", ()),
                            ("RESPONSE_BODY", ()),
                        ];
                        self.one_of(t, "documentation location type", TYPES);
                    }
                }
            }
        }
        items.len()
    }

    fn gateway_responses(&mut self, node: &'a Node) -> IndexMap<String, GatewayResponse> {
        let mut out = IndexMap::new();
        let Some(entries) = node.as_object() else {
            self.type_error(node, "x-amazon-apigateway-gateway-responses", "an object");
            return out;
        };
        for e in entries {
            if !GATEWAY_RESPONSE_TYPES.contains(&e.key.as_str()) {
                let d = self
                    .d
                    .error(
                        &codes::GATEWAY_RESPONSE,
                        e.key_span,
                        format!("`{}` is not a gateway response type", e.key),
                    )
                    .label("unknown response type");
                match crate::suggest::closest(&e.key, GATEWAY_RESPONSE_TYPES.iter().copied()) {
                    Some(s) => d.help(format!("did you mean `{s}`?")),
                    None => d.help("see docs/extensions.md for the list of response types"),
                };
                continue;
            }
            let n = &e.value;
            if self
                .object(
                    n,
                    "a gateway response",
                    &["statusCode", "responseParameters", "responseTemplates"],
                    Vocab::Extension,
                )
                .is_none()
            {
                continue;
            }
            let status = n.get("statusCode").and_then(|s| {
                let v = self.scalar_string(s, "statusCode")?;
                match v.value.parse::<u16>() {
                    Ok(code) if (100..=599).contains(&code) => Some(Spanned::new(code, s.span)),
                    _ => {
                        self.d.error(
                            &codes::GATEWAY_RESPONSE,
                            s.span,
                            format!("`{}` is not an HTTP status code", v.value),
                        );
                        None
                    }
                }
            });
            if e.key == "REQUEST_TOO_LARGE" {
                // AWS answers oversized requests before any customisation applies.
                self.d
                    .warning(
                        &codes::GATEWAY_RESPONSE,
                        e.key_span,
                        "REQUEST_TOO_LARGE cannot be customised: API Gateway always answers 413 with its plain-text message",
                    )
                    .help("remove this entry");
            }
            let parameters = n
                .get("responseParameters")
                .map(|p| self.string_map(p, "a gateway response parameter"))
                .unwrap_or_default();
            for (k, _) in &parameters {
                if !k.value.starts_with("gatewayresponse.header.")
                    && !k.value.starts_with("gatewayresponse.path.")
                    && !k.value.starts_with("gatewayresponse.querystring.")
                {
                    self.d
                        .error(
                            &codes::INVALID_MAPPING,
                            k.span,
                            format!("`{}` is not a gateway response parameter", k.value),
                        )
                        .help(
                            "keys look like `gatewayresponse.header.Access-Control-Allow-Origin`",
                        );
                }
            }
            let templates = n
                .get("responseTemplates")
                .map(|t| self.string_map(t, "a response template"))
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k.value, v))
                .collect();
            out.insert(
                e.key.clone(),
                GatewayResponse {
                    status,
                    parameters,
                    templates,
                    span: n.span,
                },
            );
        }
        out
    }

    fn policy(&mut self, node: &'a Node) {
        self.rest_only(node.span, "x-amazon-apigateway-policy");
        if self
            .object(
                node,
                "a resource policy",
                &["Version", "Id", "Statement"],
                Vocab::Extension,
            )
            .is_none()
        {
            return;
        }
        let Some(st) = node.get("Statement") else {
            self.d.error(
                &codes::INVALID_VALUE,
                node.span,
                "a resource policy needs a `Statement`",
            );
            return;
        };
        let statements: Vec<&Node> = match &st.value {
            NodeValue::Array(a) => a.iter().collect(),
            NodeValue::Object(_) => vec![st],
            _ => {
                self.type_error(st, "Statement", "an object or array");
                return;
            }
        };
        for s in statements {
            if self
                .object(
                    s,
                    "a policy statement",
                    &[
                        "Sid",
                        "Effect",
                        "Principal",
                        "NotPrincipal",
                        "Action",
                        "NotAction",
                        "Resource",
                        "NotResource",
                        "Condition",
                    ],
                    Vocab::Extension,
                )
                .is_none()
            {
                continue;
            }
            match s.get("Effect") {
                Some(e) => {
                    self.one_of(e, "policy Effect", &[("Allow", ()), ("Deny", ())]);
                }
                None => {
                    self.d.error(
                        &codes::INVALID_VALUE,
                        s.span,
                        "a policy statement needs `Effect: Allow` or `Effect: Deny`",
                    );
                }
            }
        }
    }

    fn request_validators(&mut self, node: &'a Node) -> IndexMap<String, RequestValidator> {
        let mut out = IndexMap::new();
        let Some(entries) = node.as_object() else {
            self.type_error(node, "x-amazon-apigateway-request-validators", "an object");
            return out;
        };
        for e in entries {
            if self
                .object(
                    &e.value,
                    "a request validator",
                    &["validateRequestBody", "validateRequestParameters"],
                    Vocab::Extension,
                )
                .is_none()
            {
                continue;
            }
            let b = e
                .value
                .get("validateRequestBody")
                .and_then(|n| self.boolean(n, "validateRequestBody"));
            let p = e
                .value
                .get("validateRequestParameters")
                .and_then(|n| self.boolean(n, "validateRequestParameters"));
            out.insert(
                e.key.clone(),
                RequestValidator {
                    validate_body: b.unwrap_or(false),
                    validate_parameters: p.unwrap_or(false),
                    span: e.key_span,
                },
            );
        }
        out
    }

    // ---------------------------------------------------------------- security

    fn security_scheme(
        &mut self,
        name: &str,
        node: &'a Node,
        ptr: &Pointer,
    ) -> Option<SecurityScheme> {
        let (node, _) = self.deref(node, ptr)?;
        self.object(
            node,
            "a Security Scheme object",
            &[
                "type",
                "description",
                "name",
                "in",
                "scheme",
                "bearerFormat",
                "flows",
                "openIdConnectUrl",
                "x-amazon-apigateway-authtype",
                "x-amazon-apigateway-authorizer",
            ],
            Vocab::OpenApi,
        )?;
        let t = node.get("type");
        let kind = match t.and_then(Node::as_str) {
            Some("apiKey") => {
                let location = node
                    .get("in")
                    .and_then(|n| {
                        self.one_of(
                            n,
                            "apiKey location",
                            &[
                                ("header", ParamIn::Header),
                                ("query", ParamIn::Query),
                                ("cookie", ParamIn::Cookie),
                            ],
                        )
                    })
                    .unwrap_or(ParamIn::Header);
                let pname = node
                    .get("name")
                    .and_then(|n| self.string(n, "the apiKey name"))
                    .map(|s| s.value)
                    .unwrap_or_default();
                SchemeKind::ApiKey {
                    location,
                    name: pname,
                }
            }
            Some("http") => SchemeKind::Http {
                scheme: node
                    .get("scheme")
                    .and_then(Node::as_str)
                    .unwrap_or("")
                    .to_ascii_lowercase(),
            },
            Some("oauth2") => SchemeKind::OAuth2,
            Some("openIdConnect") => SchemeKind::OpenIdConnect {
                url: node
                    .get("openIdConnectUrl")
                    .and_then(Node::as_str)
                    .unwrap_or("")
                    .to_string(),
            },
            _ => {
                let span = t.map(|t| t.span).unwrap_or(node.span);
                self.d.error(
                    &codes::STRUCTURE,
                    span,
                    "a security scheme needs `type`: apiKey, http, oauth2 or openIdConnect",
                );
                return None;
            }
        };
        let auth_type = node
            .get("x-amazon-apigateway-authtype")
            .and_then(|n| self.string(n, "x-amazon-apigateway-authtype"))
            .map(|s| s.value);
        let authorizer = node
            .get("x-amazon-apigateway-authorizer")
            .and_then(|n| self.authorizer(n, &kind));
        Some(SecurityScheme {
            name: name.to_string(),
            kind,
            auth_type,
            authorizer,
            span: node.span,
        })
    }

    fn authorizer(&mut self, node: &'a Node, scheme: &SchemeKind) -> Option<Authorizer> {
        self.object(
            node,
            "x-amazon-apigateway-authorizer",
            &[
                "type",
                "authorizerUri",
                "authorizerCredentials",
                "identitySource",
                "identityValidationExpression",
                "authorizerResultTtlInSeconds",
                "providerARNs",
                "authorizerPayloadFormatVersion",
                "enableSimpleResponses",
                "jwtConfiguration",
            ],
            Vocab::Extension,
        )?;
        let Some(tn) = node.get("type") else {
            self.d
                .error(&codes::AUTHORIZER, node.span, "an authorizer needs `type`")
                .help("one of: token, request, cognito_user_pools (REST); request, jwt (HTTP)");
            return None;
        };
        let kind = self.one_of(
            tn,
            "authorizer type",
            &[
                ("token", AuthorizerKind::Token),
                ("request", AuthorizerKind::Request),
                ("cognito_user_pools", AuthorizerKind::CognitoUserPools),
                ("jwt", AuthorizerKind::Jwt),
            ],
        )?;
        match (kind, self.flavor) {
            (AuthorizerKind::Jwt, Flavor::Rest) => {
                self.d
                    .error(&codes::FLAVOUR_MISMATCH, tn.span, "`jwt` authorizers belong to HTTP APIs")
                    .help("REST APIs verify JWTs with `cognito_user_pools`, or mark the API as an HTTP API with `x-specgate-api-type: http`");
            }
            (AuthorizerKind::Token | AuthorizerKind::CognitoUserPools, Flavor::Http) => {
                self.d.error(
                    &codes::FLAVOUR_MISMATCH,
                    tn.span,
                    format!(
                        "`{}` authorizers belong to REST APIs; HTTP APIs have `request` and `jwt`",
                        kind_name(kind)
                    ),
                );
            }
            _ => {}
        }
        let uri = node.get("authorizerUri").and_then(|n| {
            let s = self.string(n, "authorizerUri")?;
            let u = self.classify_uri(&s)?;
            Some(Spanned::new(u, s.span))
        });
        if node.get("authorizerUri").is_none()
            && matches!(kind, AuthorizerKind::Token | AuthorizerKind::Request)
        {
            self.d.error(
                &codes::AUTHORIZER,
                node.span,
                "this Lambda authorizer needs an `authorizerUri` (the function to call)",
            );
        }
        let credentials = node
            .get("authorizerCredentials")
            .and_then(|n| self.string(n, "authorizerCredentials"));
        let identity_source: Vec<Spanned<String>> = match node.get("identitySource") {
            Some(n) => match &n.value {
                // HTTP exports write a comma-separated string; the v2 API takes a list.
                NodeValue::Array(_) => self.string_list(n, "an identity source"),
                _ => self
                    .string(n, "identitySource")
                    .map(|s| {
                        s.value
                            .split(',')
                            .map(|p| p.trim())
                            .filter(|p| !p.is_empty())
                            .map(|p| Spanned::new(p.to_string(), self.sub_span(s.span, p)))
                            .collect()
                    })
                    .unwrap_or_default(),
            },
            None => match (kind, scheme) {
                // TOKEN and Cognito authorizers read the scheme's header.
                (
                    AuthorizerKind::Token | AuthorizerKind::CognitoUserPools,
                    SchemeKind::ApiKey { name, .. },
                ) => {
                    vec![Spanned::new(
                        format!("method.request.header.{name}"),
                        node.span,
                    )]
                }
                (AuthorizerKind::Jwt, _) => vec![Spanned::new(
                    "$request.header.Authorization".into(),
                    node.span,
                )],
                _ => Vec::new(),
            },
        };
        let identity_validation_expression = node
            .get("identityValidationExpression")
            .and_then(|n| self.string(n, "identityValidationExpression"));
        let ttl = match node.get("authorizerResultTtlInSeconds") {
            Some(n) => Spanned::new(
                self.integer(n, "authorizerResultTtlInSeconds")
                    .unwrap_or(300),
                n.span,
            ),
            None => Spanned::new(300, node.span),
        };
        let provider_arns = node
            .get("providerARNs")
            .map(|n| self.string_list(n, "a provider ARN"))
            .unwrap_or_default();
        let payload_format_version = node
            .get("authorizerPayloadFormatVersion")
            .and_then(|n| self.scalar_string(n, "authorizerPayloadFormatVersion"));
        let enable_simple_responses = node
            .get("enableSimpleResponses")
            .and_then(|n| self.boolean(n, "enableSimpleResponses"))
            .unwrap_or(false);
        let jwt = node.get("jwtConfiguration").and_then(|n| {
            self.object(
                n,
                "jwtConfiguration",
                &["issuer", "audience"],
                Vocab::Extension,
            )?;
            let issuer = match n.get("issuer") {
                Some(i) => self.string(i, "issuer")?,
                None => {
                    self.d.error(
                        &codes::AUTHORIZER,
                        n.span,
                        "jwtConfiguration needs an `issuer`",
                    );
                    return None;
                }
            };
            let audience = n
                .get("audience")
                .map(|a| {
                    self.string_list(a, "an audience")
                        .into_iter()
                        .map(|s| s.value)
                        .collect()
                })
                .unwrap_or_default();
            Some(JwtConfiguration { issuer, audience })
        });
        Some(Authorizer {
            kind,
            uri,
            credentials,
            identity_source,
            identity_validation_expression,
            result_ttl_seconds: ttl,
            provider_arns,
            payload_format_version,
            enable_simple_responses,
            jwt,
            span: node.span,
        })
    }

    fn security(&mut self, node: &'a Node) -> Vec<SecurityRequirement> {
        let Some(items) = node.as_array() else {
            self.type_error(node, "`security`", "an array of security requirements");
            return Vec::new();
        };
        let mut out = Vec::new();
        for req in items {
            let Some(entries) = req.as_object() else {
                self.type_error(req, "a security requirement", "an object");
                continue;
            };
            let schemes = entries
                .iter()
                .map(|e| {
                    let scopes = self
                        .string_list(&e.value, "a scope")
                        .into_iter()
                        .map(|s| s.value)
                        .collect();
                    (Spanned::new(e.key.clone(), e.key_span), scopes)
                })
                .collect();
            out.push(SecurityRequirement { schemes });
        }
        out
    }

    // ---------------------------------------------------------------- paths

    fn path_item(
        &mut self,
        entry: &'a Entry,
        ptr: &Pointer,
        default_security: &Option<(Vec<SecurityRequirement>, Span)>,
        default_validator: &Option<Spanned<String>>,
        routes: &mut Vec<Route>,
    ) {
        let Some((item, item_ptr)) = self.deref(&entry.value, ptr) else {
            return;
        };
        let Some(path) = self.path_template(&entry.key, entry.key_span) else {
            return;
        };
        let mut known: Vec<&str> = vec![
            "summary",
            "description",
            "servers",
            "parameters",
            "$ref",
            "x-amazon-apigateway-any-method",
        ];
        known.extend(OPERATION_METHODS.iter().map(|(m, _)| *m));
        if self
            .object(item, "a Path Item object", &known, Vocab::OpenApi)
            .is_none()
        {
            return;
        }
        let common = item
            .get("parameters")
            .map(|n| self.parameters(n, &item_ptr.join("parameters")))
            .unwrap_or_default();
        let mut ops: Vec<(&str, Method)> = OPERATION_METHODS.to_vec();
        ops.push(("x-amazon-apigateway-any-method", Method::Any));
        for (key, method) in ops {
            let Some(op_entry) = item.entry(key) else {
                continue;
            };
            let op_ptr = item_ptr.join(key);
            if method == Method::Trace {
                self.unsupported(
                    op_entry.key_span,
                    "API Gateway does not route TRACE",
                    "remove the `trace` operation",
                );
                continue;
            }
            if let Some(r) = self.operation(
                op_entry,
                &op_ptr,
                method,
                &path,
                entry.key_span,
                &common,
                default_security,
                default_validator,
            ) {
                routes.push(r);
            }
        }
    }

    /// Parses a path template and reports what API Gateway would reject.
    fn path_template(&mut self, raw: &str, span: Span) -> Option<PathTemplate> {
        if raw == "/$default" {
            return Some(PathTemplate {
                raw: raw.to_string(),
                segments: Vec::new(),
                is_default: true,
            });
        }
        if !raw.starts_with('/') {
            self.d
                .error(
                    &codes::INVALID_PATH,
                    span,
                    format!("path `{raw}` must start with `/`"),
                )
                .label("invalid path");
            return None;
        }
        let mut segments = Vec::new();
        let body = &raw[1..];
        let parts: Vec<&str> = if body.is_empty() {
            Vec::new()
        } else {
            body.split('/').collect()
        };
        let mut ok = true;
        for (i, part) in parts.iter().enumerate() {
            if part.is_empty() {
                let msg = if i + 1 == parts.len() {
                    format!("path `{raw}` ends with `/`; API Gateway paths have no trailing slash")
                } else {
                    format!("path `{raw}` has an empty segment (`//`)")
                };
                self.d
                    .error(&codes::INVALID_PATH, span, msg)
                    .label("invalid path");
                ok = false;
                continue;
            }
            if let Some(inner) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                let (name, greedy) = match inner.strip_suffix('+') {
                    Some(n) => (n, true),
                    None => (inner, false),
                };
                if inner.contains(['{', '}']) {
                    self.d
                        .error(&codes::INVALID_PATH, span, format!("segment `{part}` mixes text and parameters"))
                        .label("invalid segment")
                        .help("API Gateway path parameters must be whole segments, like `/compare/{basehead}`");
                    ok = false;
                    continue;
                }
                if name.is_empty()
                    || !name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
                {
                    self.d
                        .error(
                            &codes::INVALID_PATH,
                            span,
                            format!("`{{{inner}}}` is not a valid path parameter name"),
                        )
                        .help("names use letters, digits, `_`, `-` and `.`");
                    ok = false;
                    continue;
                }
                if greedy && i + 1 != parts.len() {
                    self.d
                        .error(&codes::GREEDY_NOT_LAST, span, format!("`{{{inner}}}` must be the last segment of `{raw}`"))
                        .label("greedy parameter in the middle")
                        .help("a greedy parameter matches the rest of the path, so nothing can follow it");
                    ok = false;
                    continue;
                }
                segments.push(if greedy {
                    Segment::Greedy(name.into())
                } else {
                    Segment::Param(name.into())
                });
            } else if part.contains(['{', '}']) {
                self.d
                    .error(
                        &codes::INVALID_PATH,
                        span,
                        format!("segment `{part}` mixes text and a parameter"),
                    )
                    .label("invalid segment")
                    .help(
                        "API Gateway path parameters must be whole segments, like `/files/{name}`",
                    );
                ok = false;
            } else if let Some(bad) = part
                .chars()
                .find(|c| !(c.is_ascii_alphanumeric() || "_-.,:".contains(*c)))
            {
                // API Gateway allows only [A-Za-z0-9_\-.,:] in literal segments.
                self.d
                    .error(
                        &codes::INVALID_PATH,
                        span,
                        format!("`{bad}` is not allowed in an API Gateway path (segment `{part}`)"),
                    )
                    .label("invalid character")
                    .help("literal segments may use letters, digits and `_-.,:`");
                ok = false;
            } else {
                segments.push(Segment::Literal(part.to_string()));
            }
        }
        let mut names: Vec<&str> = Vec::new();
        for s in &segments {
            if let Segment::Param(n) | Segment::Greedy(n) = s {
                if names.contains(&n.as_str()) {
                    self.d.error(
                        &codes::INVALID_PATH,
                        span,
                        format!("path parameter `{n}` appears twice in `{raw}`"),
                    );
                    ok = false;
                }
                names.push(n);
            }
        }
        ok.then(|| PathTemplate {
            raw: raw.to_string(),
            segments,
            is_default: false,
        })
    }

    fn parameters(&mut self, node: &'a Node, ptr: &Pointer) -> Vec<Parameter> {
        let Some(items) = node.as_array() else {
            self.type_error(node, "`parameters`", "an array");
            return Vec::new();
        };
        let mut out: Vec<Parameter> = Vec::new();
        for (i, raw) in items.iter().enumerate() {
            let Some((n, _)) = self.deref(raw, &ptr.join(&i.to_string())) else {
                continue;
            };
            let Some(param) = self.parameter(n) else {
                continue;
            };
            if let Some(prev) = out
                .iter()
                .find(|q| q.name == param.name && q.location == param.location)
            {
                self.d
                    .error(
                        &codes::DUPLICATE_PARAMETER,
                        raw.span,
                        format!(
                            "{} parameter `{}` is declared twice",
                            param.location.as_str(),
                            param.name
                        ),
                    )
                    .secondary(prev.span, "first declared here");
                continue;
            }
            out.push(param);
        }
        out
    }

    fn parameter(&mut self, n: &'a Node) -> Option<Parameter> {
        self.object(
            n,
            "a Parameter object",
            &[
                "name",
                "in",
                "description",
                "required",
                "deprecated",
                "allowEmptyValue",
                "style",
                "explode",
                "allowReserved",
                "schema",
                "example",
                "examples",
                "content",
            ],
            Vocab::OpenApi,
        )?;
        let Some(name) = n
            .get("name")
            .and_then(|x| self.string(x, "a parameter name"))
        else {
            self.d
                .error(&codes::STRUCTURE, n.span, "a parameter needs a `name`");
            return None;
        };
        let Some(inn) = n.get("in") else {
            self.d.error(
                &codes::STRUCTURE,
                n.span,
                format!("parameter `{}` needs `in`", name.value),
            );
            return None;
        };
        let location = self.one_of(
            inn,
            "parameter location",
            &[
                ("path", ParamIn::Path),
                ("query", ParamIn::Query),
                ("header", ParamIn::Header),
                ("cookie", ParamIn::Cookie),
            ],
        )?;
        let required = n
            .get("required")
            .and_then(|r| self.boolean(r, "required"))
            .unwrap_or(false);
        if location == ParamIn::Path && !required {
            let span = n.get("required").map(|r| r.span).unwrap_or(n.span);
            self.d
                .error(&codes::PATH_PARAM_OPTIONAL, span, format!("path parameter `{}` must be `required: true`", name.value))
                .help("a path segment is always present; OpenAPI requires `required: true` for path parameters");
        }
        let default_style = match location {
            ParamIn::Path | ParamIn::Header => "simple",
            ParamIn::Query | ParamIn::Cookie => "form",
        };
        let style = n
            .get("style")
            .and_then(|s| self.string(s, "style"))
            .map(|s| s.value)
            .unwrap_or_else(|| default_style.to_string());
        let explode = n
            .get("explode")
            .and_then(|e| self.boolean(e, "explode"))
            .unwrap_or(style == "form");
        let schema = n.get("schema").map(|s| {
            self.schema_tree(s);
            Schema {
                json: s.to_json(),
                span: s.span,
            }
        });
        Some(Parameter {
            name: name.value,
            location,
            required,
            style,
            explode,
            schema,
            span: n.span,
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn operation(
        &mut self,
        entry: &'a Entry,
        ptr: &Pointer,
        method: Method,
        path: &PathTemplate,
        path_span: Span,
        common: &[Parameter],
        default_security: &Option<(Vec<SecurityRequirement>, Span)>,
        default_validator: &Option<Spanned<String>>,
    ) -> Option<Route> {
        let n = &entry.value;
        let mut known = vec![
            "tags",
            "summary",
            "description",
            "externalDocs",
            "operationId",
            "parameters",
            "requestBody",
            "responses",
            "callbacks",
            "deprecated",
            "security",
            "servers",
            "x-amazon-apigateway-integration",
            "x-amazon-apigateway-request-validator",
            "x-amazon-apigateway-auth",
            "x-specgate-validation",
        ];
        if method == Method::Any {
            known.push("isDefaultRoute");
        }
        self.object(
            n,
            &format!("the {} operation", method.as_str()),
            &known,
            Vocab::OpenApi,
        )?;
        let own = n
            .get("parameters")
            .map(|p| self.parameters(p, &ptr.join("parameters")))
            .unwrap_or_default();
        // Operation parameters override path-level ones with the same name and location.
        let mut parameters: Vec<Parameter> = common
            .iter()
            .filter(|c| {
                !own.iter()
                    .any(|o| o.name == c.name && o.location == c.location)
            })
            .cloned()
            .collect();
        parameters.extend(own);
        let request_body = n
            .get("requestBody")
            .and_then(|b| self.request_body(b, &ptr.join("requestBody")));
        let (security, security_span) = match n.get("security") {
            Some(s) => (self.security(s), Some(s.span)),
            None => match default_security {
                Some((s, span)) => (s.clone(), Some(*span)),
                None => (Vec::new(), None),
            },
        };
        let validation = match n.get("x-specgate-validation") {
            Some(v) => {
                let settings = self.specgate_validation(v);
                if let Some(f) = v.get("formats") {
                    self.d
                        .warning(
                            &codes::INVALID_VALUE,
                            f.span,
                            "`formats` is read at the root only; here it is ignored",
                        )
                        .help("set `formats` in the root `x-specgate-validation`");
                }
                ValidationOverride {
                    typed_parameters: settings.typed_parameters,
                    typed_bodies: settings.typed_bodies,
                    responses: settings.responses,
                }
            }
            None => ValidationOverride::default(),
        };
        let validator = match n.get("x-amazon-apigateway-request-validator") {
            Some(v) => self.string(v, "the request validator"),
            None => default_validator.clone(),
        };
        let auth_type = n.get("x-amazon-apigateway-auth").and_then(|a| {
            self.object(a, "x-amazon-apigateway-auth", &["type"], Vocab::Extension)?;
            let t = a.get("type")?;
            let v = self.one_of(
                t,
                "auth type",
                &[("NONE", AuthType::None), ("AWS_IAM", AuthType::AwsIam)],
            )?;
            Some(Spanned::new(v, t.span))
        });
        let integration = n
            .get("x-amazon-apigateway-integration")
            .and_then(|i| self.integration(i, &ptr.join("x-amazon-apigateway-integration")));
        let mut responses = IndexMap::new();
        {
            {
                for e in self.entries_of(n, "responses") {
                    if e.key.starts_with("x-") {
                        continue;
                    }
                    let Some((rn, _)) = self.deref(&e.value, &ptr.join("responses").join(&e.key))
                    else {
                        continue;
                    };
                    if self
                        .object(
                            rn,
                            "a Response object",
                            &["description", "headers", "content", "links"],
                            Vocab::OpenApi,
                        )
                        .is_none()
                    {
                        continue;
                    }
                    let names = |k: &str| {
                        rn.get(k)
                            .and_then(Node::as_object)
                            .map(|es| es.iter().map(|e| e.key.clone()).collect())
                            .unwrap_or_default()
                    };
                    let mut schemas = IndexMap::new();
                    for c in rn
                        .get("content")
                        .and_then(Node::as_object)
                        .unwrap_or_default()
                    {
                        if let Some(sn) = c.value.get("schema") {
                            self.schema_tree(sn);
                            schemas.insert(
                                c.key.clone(),
                                Schema {
                                    json: sn.to_json(),
                                    span: sn.span,
                                },
                            );
                        }
                    }
                    responses.insert(
                        e.key.clone(),
                        MethodResponse {
                            headers: names("headers"),
                            content: names("content"),
                            schemas,
                            span: e.key_span,
                        },
                    );
                }
            }
        }
        let is_default_route = n
            .get("isDefaultRoute")
            .and_then(|b| self.boolean(b, "isDefaultRoute"))
            .unwrap_or(false);
        let operation_id = n
            .get("operationId")
            .and_then(Node::as_str)
            .map(str::to_string);
        Some(Route {
            method,
            path: path.clone(),
            operation_id,
            span: entry.key_span,
            path_span,
            parameters,
            request_body,
            security,
            security_span,
            validator,
            validation,
            auth_type,
            integration,
            responses,
            is_default_route,
        })
    }

    fn request_body(&mut self, node: &'a Node, ptr: &Pointer) -> Option<RequestBody> {
        let (n, _) = self.deref(node, ptr)?;
        self.object(
            n,
            "a Request Body object",
            &["description", "content", "required"],
            Vocab::OpenApi,
        )?;
        let required = n
            .get("required")
            .and_then(|r| self.boolean(r, "required"))
            .unwrap_or(false);
        let mut content = IndexMap::new();
        {
            for e in self.entries_of(n, "content") {
                if self
                    .object(
                        &e.value,
                        "a Media Type object",
                        &["schema", "example", "examples", "encoding"],
                        Vocab::OpenApi,
                    )
                    .is_none()
                {
                    continue;
                }
                let schema = e.value.get("schema").map(|s| {
                    self.schema_tree(s);
                    Schema {
                        json: s.to_json(),
                        span: s.span,
                    }
                });
                content.insert(e.key.clone(), schema);
            }
        }
        Some(RequestBody {
            required,
            content,
            span: n.span,
        })
    }

    /// Checks a schema (`schema_check`). `$ref`s are not followed here: every named schema
    /// is checked once from `components`.
    fn schema_tree(&mut self, node: &'a Node) {
        if let Some(doc) = self.l.root_tree() {
            crate::schema_check::check(self.d, doc, node);
        }
    }

    // ---------------------------------------------------------------- integrations

    fn integration(&mut self, node: &'a Node, ptr: &Pointer) -> Option<Integration> {
        let (node, _) = self.deref(node, ptr)?;
        self.object(
            node,
            "x-amazon-apigateway-integration",
            &[
                "type",
                "uri",
                "httpMethod",
                "credentials",
                "requestParameters",
                "requestTemplates",
                "passthroughBehavior",
                "contentHandling",
                "timeoutInMillis",
                "cacheKeyParameters",
                "cacheNamespace",
                "connectionType",
                "connectionId",
                "integrationTarget",
                "tlsConfig",
                "payloadFormatVersion",
                "integrationSubtype",
                "responseTransferMode",
                "responses",
                "responseParameters",
            ],
            Vocab::Extension,
        )?;
        let Some(tn) = node.get("type") else {
            self.d
                .error(&codes::STRUCTURE, node.span, "an integration needs `type`")
                .help("one of: http_proxy, http, aws_proxy, aws, mock");
            return None;
        };
        let kind = self.one_of(
            tn,
            "integration type",
            &[
                ("aws", IntegrationType::Aws),
                ("aws_proxy", IntegrationType::AwsProxy),
                ("http", IntegrationType::Http),
                ("http_proxy", IntegrationType::HttpProxy),
                ("mock", IntegrationType::Mock),
            ],
        )?;
        let uri = node.get("uri").and_then(|n| {
            let s = self.string(n, "uri")?;
            let u = self.classify_uri(&s)?;
            Some(Spanned::new(u, s.span))
        });
        if node.get("uri").is_none() && kind != IntegrationType::Mock {
            self.d.error(
                &codes::INTEGRATION_COMBINATION,
                node.span,
                format!("a `{}` integration needs a `uri`", kind.as_str()),
            );
        }
        let http_method = node
            .get("httpMethod")
            .and_then(|n| self.string(n, "httpMethod"))
            .map(|s| Spanned::new(s.value.to_ascii_uppercase(), s.span));
        let credentials = node
            .get("credentials")
            .and_then(|n| self.string(n, "credentials"));
        let mut request_parameters = Vec::new();
        if let Some(rp) = node.get("requestParameters") {
            request_parameters = self.string_map(rp, "a request parameter");
        }
        let request_templates = node
            .get("requestTemplates")
            .map(|t| self.string_map(t, "a request template"))
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k.value, v))
            .collect();
        let passthrough = node
            .get("passthroughBehavior")
            .and_then(|n| {
                self.one_of(
                    n,
                    "passthrough behavior",
                    &[
                        ("when_no_match", Passthrough::WhenNoMatch),
                        ("when_no_templates", Passthrough::WhenNoTemplates),
                        ("never", Passthrough::Never),
                    ],
                )
            })
            .unwrap_or_default();
        let content_handling = node
            .get("contentHandling")
            .and_then(|n| self.content_handling(n));
        let default_timeout = if self.flavor == Flavor::Http {
            30_000
        } else {
            29_000
        };
        let timeout_ms = match node.get("timeoutInMillis") {
            Some(n) => Spanned::new(
                self.integer(n, "timeoutInMillis")
                    .unwrap_or(default_timeout),
                n.span,
            ),
            None => Spanned::new(default_timeout, node.span),
        };
        let cache_key_parameters = node
            .get("cacheKeyParameters")
            .map(|n| self.string_list(n, "a cache key parameter"))
            .unwrap_or_default();
        let cache_namespace = node
            .get("cacheNamespace")
            .and_then(|n| self.string(n, "cacheNamespace"))
            .map(|s| s.value);
        let mut vpc_link = None;
        if let Some(n) = node.get("connectionType") {
            if let Some(is_vpc) = self.one_of(
                n,
                "connection type",
                &[("INTERNET", false), ("VPC_LINK", true)],
            ) {
                if is_vpc {
                    vpc_link = Some(Spanned::new("VPC_LINK".to_string(), n.span));
                    self.unsupported(
                        n.span,
                        "VPC links reach private networks inside AWS; a self-hosted gateway cannot use them",
                        "set `connectionType: INTERNET` (or remove it) and point `uri` at the backend's address",
                    );
                }
            }
        }
        if let Some(n) = node.get("connectionId") {
            self.string(n, "connectionId");
        }
        let integration_target = node
            .get("integrationTarget")
            .and_then(|n| self.string(n, "integrationTarget"));
        if let Some(t) = &integration_target {
            self.unsupported(
                t.span,
                "`integrationTarget` (VPC link v2) exists only inside AWS",
                "point `uri` at the backend's address instead",
            );
        }
        let mut tls_insecure_skip_verification = false;
        let mut tls_server_name = None;
        if let Some(t) = node.get("tlsConfig") {
            if self
                .object(
                    t,
                    "tlsConfig",
                    &["insecureSkipVerification", "serverNameToVerify"],
                    Vocab::Extension,
                )
                .is_some()
            {
                tls_insecure_skip_verification = t
                    .get("insecureSkipVerification")
                    .and_then(|b| self.boolean(b, "insecureSkipVerification"))
                    .unwrap_or(false);
                tls_server_name = t
                    .get("serverNameToVerify")
                    .and_then(|s| self.string(s, "serverNameToVerify"))
                    .map(|s| s.value);
            }
        }
        let payload_format_version = node
            .get("payloadFormatVersion")
            .and_then(|n| self.scalar_string(n, "payloadFormatVersion"));
        if let Some(v) = &payload_format_version {
            if v.value != "1.0" && v.value != "2.0" {
                self.d
                    .error(
                        &codes::INVALID_VALUE,
                        v.span,
                        format!("`{}` is not a payload format version", v.value),
                    )
                    .help("use \"1.0\" or \"2.0\"");
            }
        }
        let integration_subtype = node
            .get("integrationSubtype")
            .and_then(|n| self.string(n, "integrationSubtype"));
        if let Some(s) = &integration_subtype {
            self.unsupported(
                s.span,
                format!("AWS-service integration `{}` is not supported yet", s.value),
                "call the service from a Lambda function, or an http_proxy integration, for now",
            );
        }
        let stream_response = node.get("responseTransferMode").and_then(|n| {
            let stream = self.one_of(
                n,
                "response transfer mode",
                &[("BUFFERED", false), ("STREAM", true)],
            )?;
            if stream {
                self.unsupported(
                    n.span,
                    "response streaming is not supported yet",
                    "remove `responseTransferMode` (the default, BUFFERED, is supported)",
                );
            }
            stream.then_some(n.span)
        });
        let mut responses = Vec::new();
        let mut http_response_parameters = IndexMap::new();
        if let Some(r) = node.get("responses") {
            responses = self.integration_responses(r);
        }
        if let Some(rp) = node.get("responseParameters") {
            if let Some(entries) = rp.as_object() {
                for e in entries {
                    http_response_parameters.insert(
                        e.key.clone(),
                        self.string_map(&e.value, "a response parameter"),
                    );
                }
            } else {
                self.type_error(rp, "responseParameters", "an object");
            }
        }
        Some(Integration {
            kind: Spanned::new(kind, tn.span),
            uri,
            http_method,
            credentials,
            request_parameters,
            request_templates,
            passthrough,
            content_handling,
            timeout_ms,
            cache_key_parameters,
            cache_namespace,
            vpc_link,
            integration_target,
            tls_insecure_skip_verification,
            tls_server_name,
            payload_format_version,
            integration_subtype,
            stream_response,
            responses,
            http_response_parameters,
            span: node.span,
        })
    }

    fn content_handling(&mut self, n: &Node) -> Option<ContentHandling> {
        self.one_of(
            n,
            "content handling",
            &[
                ("CONVERT_TO_TEXT", ContentHandling::ConvertToText),
                ("CONVERT_TO_BINARY", ContentHandling::ConvertToBinary),
            ],
        )
    }

    fn integration_responses(&mut self, node: &'a Node) -> Vec<IntegrationResponse> {
        let Some(entries) = node.as_object() else {
            self.type_error(node, "responses", "an object");
            return Vec::new();
        };
        let mut out = Vec::new();
        for e in entries {
            let n = &e.value;
            if self
                .object(
                    n,
                    "an integration response",
                    &[
                        "statusCode",
                        "responseParameters",
                        "responseTemplates",
                        "contentHandling",
                    ],
                    Vocab::Extension,
                )
                .is_none()
            {
                continue;
            }
            let Some(status) = n
                .get("statusCode")
                .and_then(|s| self.scalar_string(s, "statusCode"))
            else {
                self.d
                    .error(
                        &codes::STRUCTURE,
                        n.span,
                        "an integration response needs `statusCode`",
                    )
                    .label(format!("response for `{}`", e.key));
                continue;
            };
            let pattern = (e.key != "default").then(|| Spanned::new(e.key.clone(), e.key_span));
            let parameters = n
                .get("responseParameters")
                .map(|p| self.string_map(p, "a response parameter"))
                .unwrap_or_default();
            let templates = n
                .get("responseTemplates")
                .map(|t| self.string_map(t, "a response template"))
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k.value, v))
                .collect();
            let content_handling = n
                .get("contentHandling")
                .and_then(|c| self.content_handling(c));
            out.push(IntegrationResponse {
                pattern,
                status,
                parameters,
                templates,
                content_handling,
                span: n.span,
            });
        }
        out
    }

    /// Classifies an integration or authorizer uri; malformed ARNs are reported here.
    fn classify_uri(&mut self, s: &Spanned<String>) -> Option<IntegrationUri> {
        let v = s.value.trim();
        if v.starts_with("http://") || v.starts_with("https://") {
            return Some(IntegrationUri::Http(v.to_string()));
        }
        if let Some(rest) = v.strip_prefix("arn:") {
            return self.classify_arn(v, rest, s.span);
        }
        // Stage-variable-only URIs (`${stageVariables.url}`) are resolved at run time.
        if v.starts_with("${stageVariables.") {
            return Some(IntegrationUri::Http(v.to_string()));
        }
        if v.starts_with("${") {
            self.d
                .error(&codes::INVALID_URI, s.span, format!("`{v}` is an unrendered template placeholder"))
                .label("placeholder")
                .help("this looks like a Terraform `templatefile` or CloudFormation substitution; check the rendered document (API Gateway only substitutes `${stageVariables.*}` and `${AWS::*}`)");
            return None;
        }
        self.d
            .error(&codes::INVALID_URI, s.span, format!("`{v}` is neither an http(s) URL nor an ARN"))
            .label("invalid uri")
            .help("HTTP backends use a full URL such as `https://backend.example.com/{proxy}`; Lambda uses `arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{functionArn}/invocations`");
        None
    }

    fn classify_arn(&mut self, full: &str, rest: &str, span: Span) -> Option<IntegrationUri> {
        // arn:partition:service:region:account:resource
        let parts: Vec<&str> = rest.splitn(5, ':').collect();
        if parts.len() < 5 || parts[0].is_empty() || parts[1].is_empty() {
            self.bad_arn(
                span,
                full,
                "an ARN has the form `arn:partition:service:region:account:resource`",
            );
            return None;
        }
        let (partition, service, region, account, resource) =
            (parts[0], parts[1], parts[2], parts[3], parts[4]);
        if !matches!(
            partition,
            "aws" | "aws-cn" | "aws-us-gov" | "aws-iso" | "aws-iso-b" | "aws-eu"
        ) && !partition.starts_with("${")
        {
            self.bad_arn(
                span,
                full,
                &format!("`{partition}` is not an AWS partition"),
            );
            return None;
        }
        match service {
            "apigateway" => {
                // arn:aws:apigateway:{region}:{service}:{path|action}/{…}
                if region.is_empty() {
                    self.bad_arn(span, full, "the region is missing");
                    return None;
                }
                let svc = account;
                let Some((kind, target)) = resource.split_once('/') else {
                    self.d
                        .error(&codes::INVALID_ARN, span, "AWS ARN for integration must contain path or action")
                        .label("neither `path/` nor `action/`")
                        .help("e.g. `arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{arn}/invocations`");
                    return None;
                };
                if kind != "path" && kind != "action" {
                    self.d
                        .error(
                            &codes::INVALID_ARN,
                            span,
                            "AWS ARN for integration must contain path or action",
                        )
                        .label(format!("`{kind}` is neither"));
                    return None;
                }
                if svc == "lambda" && kind == "path" {
                    let (fun, streaming) =
                        if let Some(r) = target.strip_prefix("2015-03-31/functions/") {
                            (r.strip_suffix("/invocations"), false)
                        } else if let Some(r) = target.strip_prefix("2021-11-15/functions/") {
                            (r.strip_suffix("/response-streaming-invocations"), true)
                        } else {
                            (None, false)
                        };
                    let Some(fun) = fun.filter(|f| !f.is_empty()) else {
                        self.bad_arn(
                            span,
                            full,
                            "a Lambda integration uri ends in `path/2015-03-31/functions/{functionArn}/invocations`",
                        );
                        return None;
                    };
                    if fun.starts_with("arn:") && !fun.contains("${") {
                        self.lambda_function_arn(fun, span)?;
                    }
                    return Some(IntegrationUri::Lambda {
                        region: region.to_string(),
                        function: fun.to_string(),
                        streaming,
                    });
                }
                Some(IntegrationUri::AwsService {
                    region: region.to_string(),
                    service: svc.to_string(),
                    kind: kind.to_string(),
                    target: target.to_string(),
                })
            }
            "lambda" => {
                // HTTP APIs accept a bare function ARN.
                self.lambda_function_arn(full, span)?;
                Some(IntegrationUri::Lambda {
                    region: region.to_string(),
                    function: full.to_string(),
                    streaming: false,
                })
            }
            "elasticloadbalancing" | "servicediscovery" => {
                Some(IntegrationUri::Other(full.to_string()))
            }
            _ => {
                self.bad_arn(
                    span,
                    full,
                    &format!("`{service}` ARNs cannot be integration targets; use an `arn:aws:apigateway:` service ARN"),
                );
                None
            }
        }
    }

    /// `arn:aws:lambda:{region}:{account}:function:{name}[:qualifier]`.
    fn lambda_function_arn(&mut self, arn: &str, span: Span) -> Option<()> {
        let parts: Vec<&str> = arn.split(':').collect();
        let ok = parts.len() >= 7
            && parts.len() <= 8
            && parts[2] == "lambda"
            && !parts[3].is_empty()
            && (parts[4].len() == 12 && parts[4].bytes().all(|b| b.is_ascii_digit())
                || parts[4].starts_with("${"))
            && parts[5] == "function"
            && !parts[6].is_empty();
        if ok {
            Some(())
        } else {
            self.bad_arn(span, arn, "a Lambda function ARN is `arn:aws:lambda:{region}:{12-digit account}:function:{name}[:{alias}]`");
            None
        }
    }

    fn bad_arn(&mut self, span: Span, arn: &str, why: &str) {
        self.d
            .error(&codes::INVALID_ARN, span, format!("malformed ARN `{arn}`"))
            .label("malformed ARN")
            .help(why.to_string());
    }
}

/// Validates the document against the `openapiv3` model. serde stops at the first
/// mismatch, so each mismatch is reported and patched (a number or boolean where a string
/// belongs becomes that string, as API Gateway's importer reads it; anything else is
/// removed) and the document is read again, up to a bound. Diagnostics at places that
/// lowering also reports are dropped later (`dedupe_structure`).
fn structure(l: &Loaded, root: &Node) -> Diagnostics {
    let mut diags = Diagnostics::default();
    let d = &mut diags;
    const MAX_ROUNDS: usize = 20;
    let mut json = root.to_json();
    // Schemas are checked by `schema_check`, which knows draft-04 and reports with exact
    // locations; openapiv3's Schema model would reject draft-04 forms API Gateway accepts.
    blank_schemas(&mut json, false);
    let mut reported: Vec<String> = Vec::new();
    for _ in 0..MAX_ROUNDS {
        let result: Result<openapiv3::OpenAPI, _> = serde_path_to_error::deserialize(&json);
        let Err(e) = result else { return diags };
        let mut tokens = Vec::new();
        for seg in e.path().iter() {
            use serde_path_to_error::Segment as S;
            match seg {
                S::Seq { index } => tokens.push(index.to_string()),
                S::Map { key } => tokens.push(key.clone()),
                S::Enum { .. } | S::Unknown => {}
            }
        }
        let pointer: String = tokens
            .iter()
            .map(|t| format!("/{}", crate::tree::escape_pointer_token(t)))
            .collect();
        let inner = e.inner().to_string();
        let inner = inner
            .split(" at line ")
            .next()
            .unwrap_or(&inner)
            .to_string();
        // openapiv3 reads `paths` through its own map type, which loses the path below it;
        // reading the path items one by one finds the exact place.
        let (pointer, inner) = if pointer == "/paths" {
            refine_paths(&json).unwrap_or((pointer, inner))
        } else {
            (pointer, inner)
        };
        if reported.contains(&pointer) {
            return diags;
        }
        reported.push(pointer.clone());
        let p = Pointer {
            file: root.span.file,
            pointer: pointer.clone(),
        };
        let span = l.span_of(&p);
        let at = if pointer.is_empty() {
            "/".to_string()
        } else {
            pointer.clone()
        };
        let lenient = inner.starts_with("invalid type:")
            && inner.ends_with("expected a string")
            && json
                .pointer(&pointer)
                .is_some_and(|v| v.is_number() || v.is_boolean());
        if lenient {
            let text = json
                .pointer(&pointer)
                .map(|v| v.to_string())
                .unwrap_or_default();
            d.warning(
                &codes::STRUCTURE,
                span,
                format!("OpenAPI requires a string here; this is read as \"{text}\""),
            )
            .label(format!("at `{at}`"))
            .help(format!("quote it: \"{text}\""));
            if let Some(v) = json.pointer_mut(&pointer) {
                *v = serde_json::Value::String(text);
            }
            continue;
        }
        d.error(
            &codes::STRUCTURE,
            span,
            format!("this does not match the OpenAPI 3.0 structure: {inner}"),
        )
        .label(format!("at `{at}`"));
        // Remove the offending value and read again to find further problems.
        let removed = match pointer.rsplit_once('/') {
            Some((parent, last)) => match json.pointer_mut(parent) {
                Some(serde_json::Value::Object(m)) => m
                    .shift_remove(&*crate::tree::unescape_pointer_token(last))
                    .is_some(),
                Some(serde_json::Value::Array(a)) => match last.parse::<usize>() {
                    Ok(i) if i < a.len() => {
                        a.remove(i);
                        true
                    }
                    _ => false,
                },
                _ => false,
            },
            None => false,
        };
        if !removed {
            return diags;
        }
    }
    diags
}

/// Replaces every schema (a `schema` value, and the members of `components.schemas`) with
/// `{}`, keeping references.
fn blank_schemas(v: &mut serde_json::Value, in_components: bool) {
    use serde_json::Value;
    let Value::Object(m) = v else {
        if let Value::Array(items) = v {
            for i in items {
                blank_schemas(i, false);
            }
        }
        return;
    };
    for (k, child) in m.iter_mut() {
        let is_schema = k == "schema" && child.is_object();
        if is_schema && child.get("$ref").is_none() {
            *child = Value::Object(Default::default());
        } else if in_components && k == "schemas" {
            if let Value::Object(schemas) = child {
                for s in schemas.values_mut() {
                    if s.is_object() && s.get("$ref").is_none() {
                        *s = Value::Object(Default::default());
                    }
                }
            }
        } else if !is_schema {
            blank_schemas(child, k == "components");
        }
    }
}

/// The first path item that does not deserialize, as (pointer, message).
fn refine_paths(json: &serde_json::Value) -> Option<(String, String)> {
    let paths = json.get("paths")?.as_object()?;
    for (key, item) in paths {
        if item.get("$ref").is_some() {
            continue;
        }
        let r: Result<openapiv3::PathItem, _> = serde_path_to_error::deserialize(item);
        if let Err(e) = r {
            let mut pointer = format!("/paths/{}", crate::tree::escape_pointer_token(key));
            for seg in e.path().iter() {
                use serde_path_to_error::Segment as S;
                let tok = match seg {
                    S::Seq { index } => index.to_string(),
                    S::Map { key } => key.clone(),
                    S::Enum { .. } | S::Unknown => continue,
                };
                pointer.push('/');
                pointer.push_str(&crate::tree::escape_pointer_token(&tok));
            }
            let inner = e.inner().to_string();
            let inner = inner
                .split(" at line ")
                .next()
                .unwrap_or(&inner)
                .to_string();
            return Some((pointer, inner));
        }
    }
    None
}

fn kind_name(k: AuthorizerKind) -> &'static str {
    match k {
        AuthorizerKind::Token => "token",
        AuthorizerKind::Request => "request",
        AuthorizerKind::CognitoUserPools => "cognito_user_pools",
        AuthorizerKind::Jwt => "jwt",
    }
}

/// Where an AWS extension belongs, for misplaced-extension help.
fn extension_home(k: &str) -> &'static str {
    match k {
        "x-amazon-apigateway-integration"
        | "x-amazon-apigateway-request-validator"
        | "x-amazon-apigateway-auth" => {
            "it belongs on an operation (get, post, …, or x-amazon-apigateway-any-method)"
        }
        "x-amazon-apigateway-authorizer" | "x-amazon-apigateway-authtype" => {
            "it belongs on a security scheme"
        }
        "x-amazon-apigateway-any-method" => "it belongs on a path item, beside get/post/…",
        "x-amazon-apigateway-integrations" => "it belongs in `components`",
        "x-amazon-apigateway-tag-value" => "it belongs inside an entry of the root `tags`",
        "x-amazon-apigateway-endpoint-configuration" => {
            "it belongs inside a `servers` entry (or at the root)"
        }
        _ => "it belongs at the root of the document",
    }
}

/// The base path from a server URL: its path component with variables replaced by their
/// defaults, without a trailing `/`.
pub fn base_path_of(url: &str, vars: &IndexMap<String, String>) -> String {
    let mut u = url.to_string();
    for (k, v) in vars {
        u = u.replace(&format!("{{{k}}}"), v);
    }
    let after_scheme = match u.find("://") {
        Some(i) => &u[i + 3..],
        None => u.as_str(),
    };
    let path = if url.contains("://") {
        after_scheme
            .find('/')
            .map(|i| &after_scheme[i..])
            .unwrap_or("/")
    } else {
        after_scheme
    };
    let path = path.trim_end_matches('/');
    if path.is_empty() {
        "/".into()
    } else if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_paths() {
        let mut v = IndexMap::new();
        assert_eq!(base_path_of("https://api.example.com/v1/", &v), "/v1");
        assert_eq!(base_path_of("https://api.example.com", &v), "/");
        assert_eq!(base_path_of("/", &v), "/");
        v.insert("basePath".to_string(), "api".to_string());
        assert_eq!(base_path_of("http://localhost/{basePath}", &v), "/api");
    }
}
