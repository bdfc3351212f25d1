//! Part of stage 1, **load**: Swagger 2.0 documents read as OpenAPI 3.0.
//!
//! `aws apigateway get-export --export-type swagger` writes Swagger 2.0, and many projects
//! keep 2.0 files. Rather than a second lowering with its own readers and diagnostics, the
//! 2.0 tree is rewritten into the 3.0 shape before lowering — the same tree type, every moved
//! node keeping its span, every new node taking the span of what it was made from — so one
//! lowering reads both and every diagnostic still points into the 2.0 file. (This departs
//! from DESIGN.md's "second lowering"; `docs/ARCHITECTURE.md` says why.)
//!
//! What changes: `swagger` → `openapi: 3.0.1`; `host`/`basePath`/`schemes` → `servers`;
//! `definitions`/`parameters`/`responses`/`securityDefinitions` → `components.*`; `in: body`
//! and `formData` parameters → `requestBody` with the operation's (or the document's)
//! `consumes` types; other parameters' `type`/`format`/`items`/… → `schema`, and
//! `collectionFormat` → `style`/`explode`; responses' `schema` → `content` with `produces`
//! types, `headers` → header objects with a `schema`; `#/definitions/…` references →
//! `#/components/schemas/…`. Every `x-amazon-apigateway-*` extension stays where it is:
//! they are written the same way in both versions.

use crate::codes;
use crate::diag::Diagnostics;
use crate::source::Span;
use crate::tree::{Entry, Node, NodeValue};

const METHODS: &[&str] = &[
    "get",
    "put",
    "post",
    "delete",
    "options",
    "head",
    "patch",
    "x-amazon-apigateway-any-method",
];

/// Keys of a Swagger 2.0 non-body parameter that belong to its `schema` in 3.0.
const SCHEMA_KEYS: &[&str] = &[
    "type",
    "format",
    "items",
    "default",
    "maximum",
    "exclusiveMaximum",
    "minimum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "pattern",
    "maxItems",
    "minItems",
    "uniqueItems",
    "enum",
    "multipleOf",
];

/// True when the tree is a Swagger 2.0 document.
pub fn is_swagger2(root: &Node) -> bool {
    root.get("swagger").is_some()
}

/// Rewrites a Swagger 2.0 root into the OpenAPI 3.0 shape. A `swagger` value other than
/// "2.0" is reported and left alone (lowering then reports the missing `openapi`).
pub fn upgrade(root: &mut Node, diags: &mut Diagnostics) {
    let Some(version) = root.get("swagger") else {
        return;
    };
    let text = match &version.value {
        NodeValue::String(s) => s.clone(),
        NodeValue::Number(n) => n.to_string(),
        _ => String::new(),
    };
    if text != "2.0" && text != "2" {
        diags
            .error(&codes::VERSION, version.span, format!("`swagger: {text}` is not a version specgate reads (Swagger 2.0 or OpenAPI 3.0.x)"))
            .label("unsupported version");
        return;
    }
    let NodeValue::Object(entries) = std::mem::replace(&mut root.value, NodeValue::Null) else {
        return;
    };
    let mut u = Upgrade::default();
    for e in &entries {
        match e.key.as_str() {
            "consumes" => u.consumes = media_types(&e.value),
            "produces" => u.produces = media_types(&e.value),
            "parameters" => {
                if let Some(ps) = e.value.as_object() {
                    u.shared_parameters = ps.to_vec();
                }
            }
            _ => {}
        }
    }
    let mut out: Vec<Entry> = Vec::new();
    let mut components: Vec<Entry> = Vec::new();
    let (mut host, mut base_path, mut schemes) = (None, None, None);
    for mut e in entries {
        match e.key.as_str() {
            "swagger" => {
                e.key = "openapi".into();
                e.value = string(e.value.span, "3.0.1");
                out.push(e);
            }
            "host" => host = Some(e),
            "basePath" => base_path = Some(e),
            "schemes" => schemes = Some(e),
            "consumes" | "produces" => {}
            "definitions" => {
                e.key = "schemas".into();
                u.refs(&mut e.value);
                components.push(e);
            }
            "parameters" => {
                // Non-body shared parameters become components; body ones are inlined where
                // they are referenced (3.0 has no body parameters).
                let mut params = Vec::new();
                if let NodeValue::Object(ps) = e.value.value {
                    for mut p in ps {
                        if !is_body(&p.value) {
                            u.parameter(&mut p.value);
                            params.push(p);
                        }
                    }
                }
                if !params.is_empty() {
                    components.push(Entry {
                        key: "parameters".into(),
                        key_span: e.key_span,
                        value: object(e.value.span, params),
                    });
                }
            }
            "responses" => {
                let produces = u.produces.clone();
                if let NodeValue::Object(rs) = &mut e.value.value {
                    for r in rs.iter_mut() {
                        u.response(&mut r.value, &produces);
                    }
                }
                components.push(e);
            }
            "securityDefinitions" => {
                e.key = "securitySchemes".into();
                if let NodeValue::Object(schemes) = &mut e.value.value {
                    for s in schemes.iter_mut() {
                        security_scheme(&mut s.value);
                    }
                }
                components.push(e);
            }
            "paths" => {
                if let NodeValue::Object(items) = &mut e.value.value {
                    for item in items.iter_mut() {
                        u.path_item(&mut item.value);
                    }
                }
                out.push(e);
            }
            _ => {
                if e.key.starts_with("x-") {
                    u.refs(&mut e.value);
                }
                out.push(e);
            }
        }
    }
    if host.is_some() || base_path.is_some() {
        let span = base_path
            .as_ref()
            .or(host.as_ref())
            .map(|e| e.key_span)
            .unwrap_or(root.span);
        let path = base_path
            .as_ref()
            .and_then(|e| e.value.as_str())
            .unwrap_or("");
        let url = match host.as_ref().and_then(|e| e.value.as_str()) {
            Some(h) => {
                let scheme = schemes
                    .as_ref()
                    .and_then(|e| e.value.as_array())
                    .and_then(|a| {
                        a.iter()
                            .filter_map(Node::as_str)
                            .find(|s| *s == "https")
                            .or_else(|| a.first().and_then(Node::as_str))
                    })
                    .unwrap_or("https");
                format!("{scheme}://{h}{path}")
            }
            None => path.to_string(),
        };
        let server = object(span, vec![entry("url", span, string(span, &url))]);
        out.push(entry(
            "servers",
            span,
            Node {
                span,
                value: NodeValue::Array(vec![server]),
            },
        ));
    }
    if !components.is_empty() {
        let span = components[0].key_span;
        out.push(entry("components", span, object(span, components)));
    }
    root.value = NodeValue::Object(out);
}

#[derive(Default)]
struct Upgrade {
    consumes: Vec<(String, Span)>,
    produces: Vec<(String, Span)>,
    /// The document's `parameters`, for inlining referenced body parameters.
    shared_parameters: Vec<Entry>,
}

impl Upgrade {
    fn path_item(&mut self, item: &mut Node) {
        let NodeValue::Object(entries) = &mut item.value else {
            return;
        };
        // Path-level body parameters apply to every operation: move them into each.
        let mut shared_body = Vec::new();
        if let Some(p) = entries.iter_mut().find(|e| e.key == "parameters") {
            if let NodeValue::Array(ps) = &mut p.value.value {
                let mut kept = Vec::new();
                for mut param in std::mem::take(ps) {
                    self.inline_body_ref(&mut param);
                    if is_body(&param) {
                        shared_body.push(param);
                    } else {
                        self.parameter(&mut param);
                        kept.push(param);
                    }
                }
                *ps = kept;
            }
        }
        for e in entries.iter_mut() {
            if METHODS.contains(&e.key.as_str()) {
                self.operation(&mut e.value, &shared_body);
            }
        }
        entries
            .retain(|e| e.key != "parameters" || e.value.as_array().is_none_or(|a| !a.is_empty()));
    }

    /// A `$ref` to a shared body parameter is replaced by the parameter itself.
    fn inline_body_ref(&self, param: &mut Node) {
        let Some(target) = param.get("$ref").and_then(Node::as_str) else {
            return;
        };
        let Some(name) = target.strip_prefix("#/parameters/") else {
            return;
        };
        let name = crate::tree::unescape_pointer_token(name);
        if let Some(shared) = self.shared_parameters.iter().find(|p| p.key == name) {
            if is_body(&shared.value) {
                *param = shared.value.clone();
            }
        }
    }

    fn operation(&mut self, op: &mut Node, shared_body: &[Node]) {
        let NodeValue::Object(entries) = &mut op.value else {
            return;
        };
        let consumes = entries
            .iter()
            .find(|e| e.key == "consumes")
            .map(|e| media_types(&e.value))
            .unwrap_or_else(|| self.consumes.clone());
        let produces = entries
            .iter()
            .find(|e| e.key == "produces")
            .map(|e| media_types(&e.value))
            .unwrap_or_else(|| self.produces.clone());
        let mut body: Option<Node> = None;
        let mut form: Vec<Node> = Vec::new();
        for b in shared_body {
            body = Some(b.clone());
        }
        if let Some(p) = entries.iter_mut().find(|e| e.key == "parameters") {
            if let NodeValue::Array(ps) = &mut p.value.value {
                let mut kept = Vec::new();
                for mut param in std::mem::take(ps) {
                    self.inline_body_ref(&mut param);
                    match param.get("in").and_then(Node::as_str) {
                        Some("body") => body = Some(param),
                        Some("formData") => form.push(param),
                        _ => {
                            self.parameter(&mut param);
                            kept.push(param);
                        }
                    }
                }
                *ps = kept;
            }
        }
        entries.retain(|e| {
            !matches!(e.key.as_str(), "consumes" | "produces" | "schemes")
                && (e.key != "parameters" || e.value.as_array().is_none_or(|a| !a.is_empty()))
        });
        if let Some(mut b) = body {
            self.refs(&mut b);
            let span = b.span;
            let schema = b
                .get("schema")
                .cloned()
                .unwrap_or_else(|| object(span, Vec::new()));
            let mut fields = Vec::new();
            if let Some(d) = b.entry("description") {
                fields.push(d.clone());
            }
            if let Some(r) = b.entry("required") {
                fields.push(r.clone());
            }
            let types = if consumes.is_empty() {
                vec![("application/json".to_string(), span)]
            } else {
                consumes.clone()
            };
            fields.push(entry("content", span, content(&types, &schema)));
            entries.push(entry("requestBody", span, object(span, fields)));
        } else if !form.is_empty() {
            let span = form[0].span;
            let mut properties = Vec::new();
            let mut required = Vec::new();
            for f in &form {
                let Some(name) = f.get("name").and_then(Node::as_str) else {
                    continue;
                };
                if f.get("required").and_then(Node::as_bool) == Some(true) {
                    required.push(string(f.span, name));
                }
                let mut schema = schema_of(f);
                if schema.get("type").and_then(Node::as_str) == Some("file") {
                    // `type: file` is a binary string in 3.0.
                    schema = object(
                        f.span,
                        vec![
                            entry("type", f.span, string(f.span, "string")),
                            entry("format", f.span, string(f.span, "binary")),
                        ],
                    );
                }
                properties.push(entry(name, f.span, schema));
            }
            let mut schema = vec![
                entry("type", span, string(span, "object")),
                entry("properties", span, object(span, properties)),
            ];
            if !required.is_empty() {
                schema.push(entry(
                    "required",
                    span,
                    Node {
                        span,
                        value: NodeValue::Array(required),
                    },
                ));
            }
            let types = if consumes.iter().any(|(t, _)| t == "multipart/form-data") {
                vec![("multipart/form-data".to_string(), span)]
            } else {
                vec![("application/x-www-form-urlencoded".to_string(), span)]
            };
            entries.push(entry(
                "requestBody",
                span,
                object(
                    span,
                    vec![entry(
                        "content",
                        span,
                        content(&types, &object(span, schema)),
                    )],
                ),
            ));
        }
        if let Some(r) = entries.iter_mut().find(|e| e.key == "responses") {
            if let NodeValue::Object(rs) = &mut r.value.value {
                for resp in rs.iter_mut().filter(|e| !e.key.starts_with("x-")) {
                    self.response(&mut resp.value, &produces);
                }
            }
        }
        for e in entries.iter_mut().filter(|e| e.key.starts_with("x-")) {
            self.refs(&mut e.value);
        }
    }

    /// A non-body parameter: its type keywords move under `schema`.
    fn parameter(&mut self, p: &mut Node) {
        if p.get("$ref").is_some() {
            self.refs(p);
            return;
        }
        let schema = schema_of(p);
        let collection = p
            .get("collectionFormat")
            .and_then(Node::as_str)
            .map(str::to_string);
        let location = p.get("in").and_then(Node::as_str).unwrap_or("").to_string();
        let NodeValue::Object(entries) = &mut p.value else {
            return;
        };
        let span = entries.first().map_or(Span::default(), |e| e.key_span);
        let has_schema = entries
            .iter()
            .any(|e| SCHEMA_KEYS.contains(&e.key.as_str()));
        entries.retain(|e| !SCHEMA_KEYS.contains(&e.key.as_str()) && e.key != "collectionFormat");
        if has_schema {
            entries.push(entry("schema", span, schema));
        } else if !entries
            .iter()
            .any(|e| e.key == "schema" || e.key == "content")
        {
            // 2.0 requires `type`; AWS's importer does without and reads a string.
            entries.push(entry(
                "schema",
                span,
                object(span, vec![entry("type", span, string(span, "string"))]),
            ));
        }
        // collectionFormat: csv is 3.0's default for path and header, but not for query
        // (form + explode); multi is form + explode; ssv/pipes have their own styles.
        let style = match (collection.as_deref(), location.as_str()) {
            (Some("multi"), _) => return,
            (Some("csv") | None, "query") if has_array(entries) => None,
            (Some("ssv"), _) => Some("spaceDelimited"),
            (Some("pipes"), _) => Some("pipeDelimited"),
            _ => return,
        };
        if let Some(style) = style {
            entries.push(entry("style", span, string(span, style)));
        }
        let no = Node {
            span,
            value: NodeValue::Bool(false),
        };
        entries.push(entry("explode", span, no));
    }

    /// A response: `schema` → `content`, header types → header `schema`.
    fn response(&mut self, r: &mut Node, produces: &[(String, Span)]) {
        if r.get("$ref").is_some() {
            self.refs(r);
            return;
        }
        let span = r.span;
        let NodeValue::Object(entries) = &mut r.value else {
            return;
        };
        if !entries.iter().any(|e| e.key == "description") {
            // Swagger 2.0 requires it too, but API Gateway's importer does without.
            entries.insert(0, entry("description", span, string(span, "")));
        }
        if let Some(i) = entries.iter().position(|e| e.key == "schema") {
            let mut schema = entries.remove(i);
            self.refs(&mut schema.value);
            let types = if produces.is_empty() {
                vec![("application/json".to_string(), schema.key_span)]
            } else {
                produces.to_vec()
            };
            entries.push(entry(
                "content",
                schema.key_span,
                content(&types, &schema.value),
            ));
        }
        entries.retain(|e| e.key != "examples");
        if let Some(h) = entries.iter_mut().find(|e| e.key == "headers") {
            if let NodeValue::Object(hs) = &mut h.value.value {
                for header in hs.iter_mut() {
                    let schema = schema_of(&header.value);
                    if let NodeValue::Object(fields) = &mut header.value.value {
                        let hspan = header.key_span;
                        fields.retain(|f| {
                            !SCHEMA_KEYS.contains(&f.key.as_str()) && f.key != "collectionFormat"
                        });
                        fields.push(entry("schema", hspan, schema));
                    }
                }
            }
        }
    }

    /// Rewrites 2.0 reference targets to their 3.0 places.
    fn refs(&self, node: &mut Node) {
        match &mut node.value {
            NodeValue::Object(entries) => {
                for e in entries.iter_mut() {
                    if e.key == "$ref" {
                        if let NodeValue::String(s) = &mut e.value.value {
                            for (from, to) in [
                                ("#/definitions/", "#/components/schemas/"),
                                ("#/parameters/", "#/components/parameters/"),
                                ("#/responses/", "#/components/responses/"),
                            ] {
                                if let Some(rest) = s.strip_prefix(from) {
                                    *s = format!("{to}{rest}");
                                    break;
                                }
                            }
                        }
                    } else {
                        self.refs(&mut e.value);
                    }
                }
            }
            NodeValue::Array(items) => {
                for i in items {
                    self.refs(i);
                }
            }
            _ => {}
        }
    }
}

fn is_body(p: &Node) -> bool {
    p.get("in").and_then(Node::as_str) == Some("body")
}

fn has_array(entries: &[Entry]) -> bool {
    entries
        .iter()
        .any(|e| e.key == "schema" && e.value.get("type").and_then(Node::as_str) == Some("array"))
}

/// The schema keywords of a 2.0 parameter or header, as a schema object (references inside
/// `items` rewritten).
fn schema_of(p: &Node) -> Node {
    let fields: Vec<Entry> = p
        .as_object()
        .unwrap_or_default()
        .iter()
        .filter(|e| SCHEMA_KEYS.contains(&e.key.as_str()))
        .cloned()
        .collect();
    let mut n = object(p.span, fields);
    Upgrade::default().refs(&mut n);
    n
}

fn security_scheme(s: &mut Node) {
    let span = s.span;
    let NodeValue::Object(entries) = &mut s.value else {
        return;
    };
    let Some(t) = entries.iter().position(|e| e.key == "type") else {
        return;
    };
    match entries[t].value.as_str() {
        Some("basic") => {
            entries[t].value = string(entries[t].value.span, "http");
            entries.push(entry("scheme", span, string(span, "basic")));
        }
        Some("oauth2") => {
            let flow = entries
                .iter()
                .find(|e| e.key == "flow")
                .and_then(|e| e.value.as_str())
                .unwrap_or("implicit")
                .to_string();
            let name = match flow.as_str() {
                "password" => "password",
                "application" => "clientCredentials",
                "accessCode" => "authorizationCode",
                _ => "implicit",
            };
            let mut fields = Vec::new();
            for k in ["authorizationUrl", "tokenUrl", "scopes"] {
                if let Some(e) = entries.iter().find(|e| e.key == k) {
                    fields.push(e.clone());
                }
            }
            if !fields.iter().any(|e| e.key == "scopes") {
                fields.push(entry("scopes", span, object(span, Vec::new())));
            }
            entries.retain(|e| {
                !matches!(
                    e.key.as_str(),
                    "flow" | "authorizationUrl" | "tokenUrl" | "scopes"
                )
            });
            entries.push(entry(
                "flows",
                span,
                object(span, vec![entry(name, span, object(span, fields))]),
            ));
        }
        _ => {}
    }
}

fn media_types(n: &Node) -> Vec<(String, Span)> {
    n.as_array()
        .unwrap_or_default()
        .iter()
        .filter_map(|t| Some((t.as_str()?.to_string(), t.span)))
        .collect()
}

fn content(types: &[(String, Span)], schema: &Node) -> Node {
    let span = types.first().map_or(schema.span, |t| t.1);
    object(
        span,
        types
            .iter()
            .map(|(t, s)| {
                entry(
                    t,
                    *s,
                    object(*s, vec![entry("schema", schema.span, schema.clone())]),
                )
            })
            .collect(),
    )
}

fn entry(key: &str, key_span: Span, value: Node) -> Entry {
    Entry {
        key: key.to_string(),
        key_span,
        value,
    }
}

fn object(span: Span, entries: Vec<Entry>) -> Node {
    Node {
        span,
        value: NodeValue::Object(entries),
    }
}

fn string(span: Span, s: &str) -> Node {
    Node {
        span,
        value: NodeValue::String(s.to_string()),
    }
}
