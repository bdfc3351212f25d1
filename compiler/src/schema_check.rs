//! Checks of JSON Schemas (models) with exact locations: every keyword is known, has a
//! value of the right shape, patterns compile with ECMA-262 semantics, and `$ref`s resolve
//! the way [`crate::schema`] resolves them when it generates validators.
//!
//! API Gateway models are JSON Schema draft-04; OpenAPI 3.0's Schema Object is a subset
//! with a few additions. Draft-04 forms that OpenAPI 3.0 does not allow (`type` lists,
//! `items` lists, `patternProperties`, `dependencies`, `additionalItems`, `definitions`,
//! `id`, `$schema`) are accepted with a warning and validated as draft-04.

use crate::codes;
use crate::diag::Diagnostics;
use crate::tree::{Node, NodeValue};

/// OpenAPI 3.0 Schema Object keywords.
const OPENAPI: &[&str] = &[
    "title",
    "multipleOf",
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
    "maxProperties",
    "minProperties",
    "required",
    "enum",
    "type",
    "allOf",
    "oneOf",
    "anyOf",
    "not",
    "items",
    "properties",
    "additionalProperties",
    "description",
    "format",
    "default",
    "nullable",
    "discriminator",
    "readOnly",
    "writeOnly",
    "xml",
    "externalDocs",
    "example",
    "deprecated",
    "$ref",
];

/// Draft-04 keywords OpenAPI 3.0 leaves out.
const DRAFT4: &[&str] = &[
    "definitions",
    "patternProperties",
    "dependencies",
    "additionalItems",
    "id",
    "$schema",
];

const TYPES: &[&str] = &[
    "array", "boolean", "integer", "null", "number", "object", "string",
];

/// Checks the schema `node`, the root of a model (`components.schemas.X`, or a request
/// body's or parameter's inline schema). `doc` is the document root, for
/// `#/components/schemas/…` references.
pub fn check(d: &mut Diagnostics, doc: &Node, node: &Node) {
    let mut c = Checker {
        d,
        doc,
        model: node,
    };
    c.schema(node, 0);
}

struct Checker<'a, 'd> {
    d: &'d mut Diagnostics,
    doc: &'a Node,
    model: &'a Node,
}

/// Nesting deeper than this is refused (the loader bounds documents too).
const MAX_DEPTH: usize = 200;

impl Checker<'_, '_> {
    fn schema(&mut self, n: &Node, depth: usize) {
        if depth > MAX_DEPTH {
            self.d.error(
                &codes::TOO_LARGE,
                n.span,
                format!("schemas nested deeper than {MAX_DEPTH} levels"),
            );
            return;
        }
        let Some(entries) = n.as_object() else {
            self.d
                .error(
                    &codes::STRUCTURE,
                    n.span,
                    format!("a schema must be an object, found {}", n.type_name()),
                )
                .help("write `{}` for a schema that allows everything");
            return;
        };
        if let Some(r) = n.get("$ref") {
            self.reference(r);
            // Draft-04: `$ref` replaces its siblings; they are not validated.
            return;
        }
        for e in entries {
            let k = e.key.as_str();
            let v = &e.value;
            if k.starts_with("x-") {
                continue;
            }
            if DRAFT4.contains(&k) {
                self.d
                    .warning(
                        &codes::NOT_OPENAPI_SCHEMA,
                        e.key_span,
                        format!("`{k}` is JSON Schema draft-04, not OpenAPI 3.0"),
                    )
                    .help("specgate and API Gateway models accept and validate it; other OpenAPI tools may not");
            } else if !OPENAPI.contains(&k) {
                let suggestion = crate::suggest::closest(k, OPENAPI.iter().chain(DRAFT4).copied());
                let w = self.d.warning(
                    &codes::UNKNOWN_FIELD,
                    e.key_span,
                    format!("`{k}` is not a schema keyword; it is ignored by validation"),
                );
                if let Some(s) = suggestion {
                    w.help(format!("did you mean `{s}`?"));
                }
                continue;
            }
            match k {
                "type" => self.type_keyword(v),
                "pattern" => {
                    if let Some(p) = self.string(v, k) {
                        self.pattern(p, v, "this `pattern` cannot be compiled");
                    }
                }
                "multipleOf" if v.as_f64().is_none_or(|x| x <= 0.0) => {
                    self.wrong(v, k, "a number greater than 0");
                }
                "maximum" | "minimum" if v.as_f64().is_none() => self.wrong(v, k, "a number"),
                "exclusiveMaximum" | "exclusiveMinimum" | "uniqueItems" | "nullable"
                | "readOnly" | "writeOnly" | "deprecated"
                    if v.as_bool().is_none() =>
                {
                    self.wrong(v, k, "true or false");
                }
                "maxLength" | "minLength" | "maxItems" | "minItems" | "maxProperties"
                | "minProperties"
                    if v.as_i64().is_none_or(|x| x < 0) =>
                {
                    self.wrong(v, k, "a non-negative integer");
                }
                "required" => match v.as_array() {
                    Some(items) => {
                        for i in items {
                            if i.as_str().is_none() {
                                self.wrong(i, "required", "property names (strings)");
                            }
                        }
                    }
                    None => self.wrong(v, k, "a list of property names"),
                },
                "enum" if v.as_array().is_none() => self.wrong(v, k, "a list of values"),
                "format" | "title" | "description" | "id" | "$schema" => {
                    self.string(v, k);
                }
                "allOf" | "anyOf" | "oneOf" => match v.as_array() {
                    Some(list) => {
                        for s in list {
                            self.schema(s, depth + 1);
                        }
                    }
                    None => self.wrong(v, k, "a list of schemas"),
                },
                "not" => self.schema(v, depth + 1),
                "items" => match &v.value {
                    NodeValue::Array(list) => {
                        self.d
                            .warning(
                                &codes::NOT_OPENAPI_SCHEMA,
                                v.span,
                                "a list of `items` schemas (tuple validation) is JSON Schema draft-04, not OpenAPI 3.0",
                            )
                            .help("specgate and API Gateway models validate it item by item");
                        for s in list {
                            self.schema(s, depth + 1);
                        }
                    }
                    _ => self.schema(v, depth + 1),
                },
                "additionalProperties" | "additionalItems" if v.as_bool().is_none() => {
                    self.schema(v, depth + 1);
                }
                "properties" | "definitions" | "patternProperties" => match v.as_object() {
                    Some(members) => {
                        for m in members {
                            if k == "patternProperties" {
                                self.pattern(
                                    &m.key,
                                    &m.value,
                                    "this `patternProperties` pattern cannot be compiled",
                                );
                            }
                            self.schema(&m.value, depth + 1);
                        }
                    }
                    None => self.wrong(v, k, "a mapping of names to schemas"),
                },
                "dependencies" => match v.as_object() {
                    Some(members) => {
                        for m in members {
                            match &m.value.value {
                                NodeValue::Array(names) => {
                                    for i in names {
                                        if i.as_str().is_none() {
                                            self.wrong(
                                                i,
                                                "dependencies",
                                                "property names (strings)",
                                            );
                                        }
                                    }
                                }
                                _ => self.schema(&m.value, depth + 1),
                            }
                        }
                    }
                    None => {
                        self.wrong(v, k, "a mapping of property names to schemas or name lists")
                    }
                },
                "discriminator" if v.get("propertyName").and_then(Node::as_str).is_none() => {
                    self.wrong(v, k, "an object with `propertyName`");
                }
                "discriminator" => self.discriminator(v),
                _ => {}
            }
        }
    }

    /// `discriminator.mapping` values name models (`Name` or `#/components/schemas/Name`).
    /// Validation follows the `oneOf`/`anyOf` beside it, which already decides validity.
    fn discriminator(&mut self, v: &Node) {
        for m in v
            .get("mapping")
            .and_then(Node::as_object)
            .unwrap_or_default()
        {
            let Some(target) = m.value.as_str() else {
                self.wrong(&m.value, "mapping", "a schema name or reference");
                continue;
            };
            let pointer = match target.strip_prefix('#') {
                Some(p) => p.to_string(),
                None => format!(
                    "/components/schemas/{}",
                    target.replace('~', "~0").replace('/', "~1")
                ),
            };
            if self.doc.pointer(&pointer).is_none() {
                self.d
                    .error(
                        &codes::REF_UNRESOLVED,
                        m.value.span,
                        format!("discriminator value `{}` maps to `{target}`, which does not exist", m.key),
                    )
                    .help("map to a schema of `components.schemas`, by name or as `#/components/schemas/Name`");
            }
        }
    }

    fn type_keyword(&mut self, v: &Node) {
        let names: Vec<&Node> = match &v.value {
            NodeValue::String(_) => vec![v],
            NodeValue::Array(list) => {
                self.d
                    .warning(
                        &codes::NOT_OPENAPI_SCHEMA,
                        v.span,
                        "a list of types is JSON Schema draft-04, not OpenAPI 3.0",
                    )
                    .help("in OpenAPI 3.0, use one type with `nullable: true`, or `anyOf`");
                list.iter().collect()
            }
            _ => {
                self.wrong(v, "type", "a type name");
                return;
            }
        };
        for n in names {
            match n.as_str() {
                Some(t) if TYPES.contains(&t) => {}
                _ => {
                    let e = self
                        .d
                        .error(&codes::STRUCTURE, n.span, "not a JSON Schema type");
                    e.help(format!("one of: {}", TYPES.join(", ")));
                    if let Some(s) = n
                        .as_str()
                        .and_then(|t| crate::suggest::closest(t, TYPES.iter().copied()))
                    {
                        e.help(format!("did you mean `{s}`?"));
                    }
                }
            }
        }
    }

    fn pattern(&mut self, pattern: &str, at: &Node, message: &str) {
        if let Err(err) = regex::Regex::new(&crate::schema::ecma_regex(pattern)) {
            self.d
                .error(&codes::INVALID_REGEX, at.span, message.to_string())
                .label(crate::check::last_line(&err.to_string()))
                .help("specgate compiles patterns to a linear-time regex engine: look-around and backreferences are not available");
        }
    }

    fn string<'n>(&mut self, v: &'n Node, k: &str) -> Option<&'n str> {
        let s = v.as_str();
        if s.is_none() {
            self.wrong(v, k, "a string");
        }
        s
    }

    fn wrong(&mut self, v: &Node, k: &str, expected: &str) {
        self.d.error(
            &codes::STRUCTURE,
            v.span,
            format!("`{k}` must be {expected}, found {}", v.type_name()),
        );
    }

    /// A `$ref` inside a schema resolves as [`crate::schema`] resolves it.
    fn reference(&mut self, r: &Node) {
        let Some(s) = r.as_str() else {
            self.wrong(r, "$ref", "a string");
            return;
        };
        let Some(frag) = s.strip_prefix('#') else {
            // Other files are read by the loader and checked where lowering follows them;
            // validators only follow references inside the document.
            self.d
                .error(
                    &codes::UNSUPPORTED,
                    r.span,
                    format!("`{s}`: a schema reference to another document is not supported yet"),
                )
                .help("move the schema into `components.schemas` and refer to it as `#/components/schemas/Name`");
            return;
        };
        let frag = crate::load::percent_decode(frag);
        let found = if frag.starts_with("/components/schemas/") {
            self.doc.pointer(&frag).is_some()
        } else if frag.is_empty() || frag.starts_with('/') {
            self.model.pointer(&frag).is_some()
        } else {
            let id = format!("#{frag}");
            has_id(self.model, &id)
        };
        if !found {
            self.d
                .error(&codes::REF_UNRESOLVED, r.span, format!("`{s}` points at nothing"))
                .help("`#/components/schemas/Name` names a model; any other `#/…` pointer is read inside the model that contains it, as API Gateway reads models");
        }
    }
}

fn has_id(n: &Node, id: &str) -> bool {
    match &n.value {
        NodeValue::Object(entries) => entries.iter().any(|e| {
            (e.key == "id" && e.value.as_str() == Some(id))
                || (!matches!(e.key.as_str(), "enum" | "default" | "example")
                    && has_id(&e.value, id))
        }),
        NodeValue::Array(items) => items.iter().any(|i| has_id(i, id)),
        _ => false,
    }
}
