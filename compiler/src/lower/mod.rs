//! Stage 2, **lower**: the loaded document → the gateway IR.
//!
//! Lowering reads the spanned tree, so every value keeps its location. Every key is accounted
//! for: OpenAPI fields that do not exist are `unknown-field` warnings, `x-amazon-apigateway-*`
//! and `x-specgate-*` keys and fields that do not exist are `unknown-extension` warnings with a
//! suggestion, and features specgate does not implement are `unsupported` errors. Other `x-*`
//! extensions belong to their authors and are left alone. The document's overall structure is
//! also checked against the `openapiv3` crate's model of OpenAPI 3.0.
//!
//! This file holds [`lower`], the lowering context `Cx` and its typed readers (`object`,
//! `string`, `one_of`, …). Each part of the document has a file with an `impl Cx` block:
//!
//! | file | lowers |
//! | --- | --- |
//! | `flavor.rs` | REST or HTTP API: `x-specgate-api-type`, or inferred from the features used |
//! | `root.rs` | the version, the root object, `x-specgate-*` settings, stages, servers, endpoint types, CORS, documentation, resource policies |
//! | `paths.rs` | paths and path templates, operations, parameters, request bodies |
//! | `integration.rs` | `x-amazon-apigateway-integration`, integration responses, integration URIs and ARNs |
//! | `security.rs` | security schemes, authorizers, `security` requirements |
//! | `responses.rs` | gateway responses |
//! | `validators.rs` | request validators |
//! | `usage.rs` | usage plans and `methodSettings` throttles |
//! | `structure.rs` | the `openapiv3` structure pass (a free function, run on a second thread) |

use indexmap::IndexMap;

use crate::codes;
use crate::diag::Diagnostics;
use crate::ir::*;
use crate::load::{Loaded, Pointer};
use crate::source::Span;
use crate::tree::{Entry, Node, NodeValue};

mod flavor;
mod integration;
mod paths;
mod responses;
mod root;
pub use root::{POLICY_KEYS, POLICY_OPERATORS};
mod security;
mod structure;
mod usage;
mod validators;

use structure::structure;

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
    ("x-specgate-usage-plans", true),
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
        unresolved: Vec::new(),
    };
    if !cx.version(root) {
        return None;
    }
    // The openapiv3 structure pass is independent of lowering: run it on a second core.
    std::thread::scope(|scope| {
        let structure = scope.spawn(|| structure(l, root));
        let mut api = cx.api(root, &ptr);
        api.unresolved = std::mem::take(&mut cx.unresolved);
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
    /// Placeholders without a value found where the gateway needs a value.
    unresolved: Vec<Unresolved>,
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

    /// Records the unresolved placeholders in a value the gateway needs (`what` names it for
    /// messages); true when there are any, so that the caller skips checks the placeholder
    /// would fail (one root cause, one diagnostic).
    fn needs(&mut self, s: &Spanned<String>, what: &'static str) -> bool {
        let names = crate::placeholders::names_in(&s.value);
        for name in &names {
            let span = self
                .l
                .placeholders
                .iter()
                .find(|p| {
                    p.name == *name
                        && p.span.file == s.span.file
                        && p.span.start >= s.span.start
                        && p.span.end <= s.span.end
                })
                .map_or(s.span, |p| p.span);
            self.unresolved.push(Unresolved {
                name: name.to_string(),
                span,
                what,
            });
        }
        !names.is_empty()
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
