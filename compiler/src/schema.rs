//! Code generation of JSON Schema validators: one plain Rust function per schema location,
//! shared by every `$ref` to it, so a model used by ten operations is compiled once and
//! recursive models are recursive functions. Nothing is interpreted at request time.
//!
//! Semantics are draft-04 (API Gateway's models) plus OpenAPI 3.0's `nullable` and the
//! request direction of `readOnly`. Messages are the fge json-schema-validator's, which API
//! Gateway reports in `$context.error.validationErrorString`.
//!
//! `$ref` resolution follows API Gateway's model import: `#/components/schemas/Name…` names
//! a model of the document; any other `#…` reference resolves inside the model that contains
//! it (each model is its own JSON Schema document, as in API Gateway), and `#name` finds the
//! subschema whose draft-04 `id` is `#name`.

use std::collections::{BTreeSet, HashMap, HashSet};

use indexmap::IndexMap;
use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};
use serde_json::{Map, Value};

use crate::ir::Api;

mod accept;
use accept::sub_loc;

/// Keywords whose value is one subschema.
const ONE: &[&str] = &["not", "additionalProperties", "additionalItems", "items"];
/// Keywords whose value is a list of subschemas.
const MANY: &[&str] = &["allOf", "anyOf", "oneOf", "items"];
/// Keywords whose value maps names to subschemas.
const MAPS: &[&str] = &[
    "properties",
    "patternProperties",
    "definitions",
    "dependencies",
];

/// Translates an ECMA-262 pattern into the `regex` crate's syntax: `\d`, `\w` and their
/// negations are ASCII-only in ECMA-262 but Unicode-aware in `regex`.
pub fn ecma_regex(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut in_class = false;
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(n) = chars.next() else {
                    out.push('\\');
                    break;
                };
                let (inside, outside) = match n {
                    'd' => ("0-9", "[0-9]"),
                    'D' => ("[^0-9]", "[^0-9]"),
                    'w' => ("A-Za-z0-9_", "[A-Za-z0-9_]"),
                    'W' => ("[^A-Za-z0-9_]", "[^A-Za-z0-9_]"),
                    _ => {
                        out.push('\\');
                        out.push(n);
                        continue;
                    }
                };
                out.push_str(if in_class { inside } else { outside });
            }
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                // `[]` and `[^]` open with a literal `]` in regex but not in ECMA-262; a
                // leading `^` stays a negation.
                let rest = chars.as_str();
                if let Some(r) = rest.strip_prefix('^') {
                    out.push('^');
                    chars = r.chars();
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            _ => out.push(c),
        }
    }
    out
}

/// Where a schema is: a model (index into [`Validators::models`]) and a JSON pointer in it.
type Loc = (usize, String);

/// The validators for a set of root schemas.
pub struct Validators<'a> {
    models: Vec<(String, &'a Value)>,
    by_name: HashMap<&'a str, usize>,
    fns: IndexMap<Loc, Ident>,
    queue: Vec<Loc>,
    /// The acceptors ([`Validators::root_accepting`]) and those still to generate.
    accepts: IndexMap<Loc, Ident>,
    accept_queue: Vec<Loc>,
    out: Vec<TokenStream>,
    regexes: IndexMap<String, Ident>,
    enums: Vec<TokenStream>,
    names: HashSet<String>,
    openapi_formats: bool,
    /// Validating responses: `writeOnly` (not `readOnly`) properties are exempt from
    /// `required`.
    responses: bool,
}

impl<'a> Validators<'a> {
    /// Validators over the API's models (`components.schemas`).
    pub fn new(api: &'a Api) -> Validators<'a> {
        let mut v = Validators {
            models: Vec::new(),
            by_name: HashMap::new(),
            fns: IndexMap::new(),
            queue: Vec::new(),
            accepts: IndexMap::new(),
            accept_queue: Vec::new(),
            out: Vec::new(),
            regexes: IndexMap::new(),
            enums: Vec::new(),
            names: HashSet::new(),
            openapi_formats: api.openapi_formats,
            responses: false,
        };
        for (name, s) in &api.schemas {
            v.by_name.insert(name.as_str(), v.models.len());
            v.models.push((name.clone(), &s.json));
        }
        v
    }

    /// Validators for response bodies (the response direction of `readOnly`/`writeOnly`).
    pub fn for_responses(api: &'a Api) -> Validators<'a> {
        let mut v = Validators::new(api);
        v.responses = true;
        v
    }

    /// The validator function for a root schema (a request body's), generating it and
    /// everything it reaches. `hint` names an inline schema's function.
    pub fn root(&mut self, schema: &'a Value, hint: &str) -> Ident {
        let model = self.models.len();
        self.models.push((hint.to_string(), schema));
        let f = self.function((model, String::new()));
        while let Some(loc) = self.queue.pop() {
            self.generate(loc);
        }
        f
    }

    /// How a parameter with this schema is decoded (`params::Shape`): a primitive, an
    /// array of primitives or an object, with the JSON type each string is read as.
    pub fn param_shape(&self, schema: &'a Value) -> TokenStream {
        let v = self.deref(schema);
        let kind = |v: &Value| {
            let v = self.deref(v);
            match v.get("type").and_then(Value::as_str) {
                Some("integer") => quote!(params::Kind::Integer),
                Some("number") => quote!(params::Kind::Number),
                Some("boolean") => quote!(params::Kind::Boolean),
                Some("string") => quote!(params::Kind::String),
                _ => quote!(params::Kind::Any),
            }
        };
        let is_object = v.get("type").and_then(Value::as_str) == Some("object")
            || (v.get("type").is_none() && v.get("properties").is_some());
        match v.get("type").and_then(Value::as_str) {
            Some("array") => {
                let item = kind(v.get("items").unwrap_or(&Value::Null));
                quote!(params::Shape::Array(#item))
            }
            _ if is_object => {
                let props = v
                    .get("properties")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                    .map(|(name, p)| {
                        let p = self.deref(p);
                        if p.get("type").and_then(Value::as_str) == Some("array") {
                            let k = kind(p.get("items").unwrap_or(&Value::Null));
                            quote!((#name, #k, true))
                        } else {
                            let k = kind(p);
                            quote!((#name, #k, false))
                        }
                    });
                quote!(params::Shape::Object(&[#(#props),*]))
            }
            _ => {
                let k = kind(v);
                quote!(params::Shape::Primitive(#k))
            }
        }
    }

    /// Follows `#/components/schemas/…` references (a few hops at most).
    fn deref(&self, mut v: &'a Value) -> &'a Value {
        for _ in 0..16 {
            let Some(r) = v
                .get("$ref")
                .and_then(Value::as_str)
                .filter(|r| r.starts_with("#/components/schemas/"))
            else {
                return v;
            };
            match self.target(0, r).and_then(|loc| {
                (loc.0 < self.models.len())
                    .then(|| self.value(&loc))
                    .flatten()
            }) {
                Some(t) => v = t,
                None => return v,
            }
        }
        v
    }

    /// Nothing generated yet.
    pub fn is_empty(&self) -> bool {
        self.out.is_empty()
    }

    /// The `models` module: every validator, regex and enum constant.
    pub fn module(self) -> TokenStream {
        self.module_named(
            format_ident!("models"),
            " Request validators, one function per schema (generated from the models).",
        )
    }

    /// The module `name` holding every validator, regex and enum constant.
    pub fn module_named(self, name: Ident, doc: &str) -> TokenStream {
        let regexes = self.regexes.iter().map(|(pattern, name)| {
            let doc = doc_text(&format!(" `{pattern}`"));
            let translated = ecma_regex(pattern);
            quote! {
                #[doc = #doc]
                static #name: LazyLock<Regex> =
                    LazyLock::new(|| Regex::new(#translated).expect("compiled by specgate check"));
            }
        });
        let fns = &self.out;
        let enums = &self.enums;
        let json = if self.accepts.is_empty() {
            quote!(
                use specgate_runtime::json::Value;
            )
        } else {
            quote!(
                use specgate_runtime::json::{Scan, Value};
            )
        };
        quote! {
            #[doc = #doc]
            pub mod #name {
                use std::sync::LazyLock;
                use specgate_runtime::regex::Regex;
                use specgate_runtime::schema::{self, Path, Report};
                #json

                #(#regexes)*
                #(#enums)*
                #(#fns)*
            }
        }
    }

    fn value(&self, loc: &Loc) -> Option<&'a Value> {
        let root = self.models.get(loc.0)?.1;
        if loc.1.is_empty() {
            Some(root)
        } else {
            root.pointer(&loc.1)
        }
    }

    /// Follows `$ref`s from `loc` to a schema that is not a reference.
    fn resolve(&self, mut loc: Loc) -> Option<Loc> {
        for _ in 0..64 {
            let v = self.value(&loc)?;
            let Some(r) = v.get("$ref").and_then(Value::as_str) else {
                return Some(loc);
            };
            loc = self.target(loc.0, r)?;
        }
        None
    }

    /// Where `$ref: reference` written in model `model` points.
    fn target(&self, model: usize, reference: &str) -> Option<Loc> {
        let frag = reference.strip_prefix('#')?;
        let frag = crate::load::percent_decode(frag);
        if let Some(rest) = frag.strip_prefix("/components/schemas/") {
            let (name, tail) = match rest.find('/') {
                Some(i) => (&rest[..i], &rest[i..]),
                None => (rest, ""),
            };
            let name = name.replace("~1", "/").replace("~0", "~");
            let m = *self.by_name.get(name.as_str())?;
            return Some((m, tail.to_string()));
        }
        if frag.is_empty() || frag.starts_with('/') {
            return Some((model, frag));
        }
        // `#name`: the subschema whose `id` is `#name`.
        let wanted = format!("#{frag}");
        let mut found = None;
        walk(self.models[model].1, String::new(), &mut |ptr, s| {
            if found.is_none() && s.get("id").and_then(Value::as_str) == Some(wanted.as_str()) {
                found = Some(ptr.to_string());
            }
        });
        found.map(|p| (model, p))
    }

    /// The function validating the schema at `loc` (queued for generation if new).
    fn function(&mut self, loc: Loc) -> Ident {
        let loc = self.resolve(loc.clone()).unwrap_or(loc);
        if let Some(f) = self.fns.get(&loc) {
            return f.clone();
        }
        let mut base = snake(&format!("{}{}", self.models[loc.0].0, loc.1));
        if base.is_empty() || base.starts_with(|c: char| c.is_ascii_digit()) {
            base.insert_str(0, "schema_");
        }
        let f = self.fresh_name(&base);
        self.fns.insert(loc.clone(), f.clone());
        self.queue.push(loc);
        f
    }

    /// `base`, or `base_2`, `base_3`… when it is taken.
    fn fresh_name(&mut self, base: &str) -> Ident {
        let mut name = base.to_string();
        let mut n = 2;
        while !self.names.insert(name.clone()) {
            name = format!("{base}_{n}");
            n += 1;
        }
        format_ident!("{}", name)
    }

    fn regex(&mut self, pattern: &str) -> Ident {
        let n = self.regexes.len();
        self.regexes
            .entry(pattern.to_string())
            .or_insert_with(|| format_ident!("RE_{}", n))
            .clone()
    }

    fn generate(&mut self, loc: Loc) {
        let f = self.fns[&loc].clone();
        let doc = doc_text(&format!(
            " `{}#{}`",
            self.models[loc.0].0,
            if loc.1.is_empty() { "" } else { &loc.1 }
        ));
        let body = match self.value(&loc) {
            Some(Value::Object(s)) if !s.contains_key("$ref") => self.body(&loc, s),
            // A reference that leads nowhere (reported by `check`) or a cycle of pure
            // references: nothing to check.
            _ => quote!(),
        };
        self.out.push(quote! {
            #[doc = #doc]
            pub fn #f(v: &Value, p: &Path<'_>, r: &mut Report) {
                #body
            }
        });
    }

    fn sub(&mut self, loc: &Loc, tail: &[&str]) -> Ident {
        self.function(sub_loc(loc, tail))
    }

    /// The checks of one schema object, keywords in fge's order (alphabetical), then the
    /// members or items when the instance itself passed.
    fn body(&mut self, loc: &Loc, s: &'a Map<String, Value>) -> TokenStream {
        let mut checks: Vec<TokenStream> = Vec::new();
        let props: Vec<&str> = s
            .get("properties")
            .and_then(Value::as_object)
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let patterns: Vec<&str> = s
            .get("patternProperties")
            .and_then(Value::as_object)
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();

        // additionalItems: false with an `items` list.
        if let (Some(Value::Bool(false)), Some(Value::Array(items))) =
            (s.get("additionalItems"), s.get("items"))
        {
            let n = items.len();
            checks.push(quote! {
                if let Value::Array(a) = v {
                    if a.len() > #n {
                        r.fail(p, || format!("schema only allows {} elements in array but instance has {} elements", #n, a.len()));
                    }
                }
            });
        }
        // additionalProperties: false.
        if let Some(Value::Bool(false)) = s.get("additionalProperties") {
            let known = self.member_test(&props, &patterns, quote!(k));
            checks.push(quote! {
                if let Value::Object(o) = v {
                    let mut extra: Vec<&str> = Vec::new();
                    for k in o.keys() {
                        let known = #known;
                        if !known {
                            extra.push(k);
                        }
                    }
                    if !extra.is_empty() {
                        r.fail(p, || schema::not_allowed(&mut extra));
                    }
                }
            });
        }
        for kw in ["allOf", "anyOf"] {
            if let Some(Value::Array(list)) = s.get(kw) {
                let fs: Vec<Ident> = (0..list.len())
                    .map(|i| self.sub(loc, &[kw, &i.to_string()]))
                    .collect();
                let n = list.len();
                checks.push(if kw == "allOf" {
                    quote! {
                        let matched = [#(schema::passes(v, p, #fs)),*].iter().filter(|ok| **ok).count();
                        if matched < #n {
                            r.fail(p, || format!("instance failed to match all required schemas (matched only {} out of {})", matched, #n));
                        }
                    }
                } else {
                    quote! {
                        if !(#(schema::passes(v, p, #fs))||*) {
                            r.fail(p, || format!("instance failed to match at least one required schema among {}", #n));
                        }
                    }
                });
            }
        }
        if let Some(Value::Object(deps)) = s.get("dependencies") {
            for (name, dep) in deps {
                match dep {
                    Value::Array(list) => {
                        let req: Vec<&str> = list.iter().filter_map(Value::as_str).collect();
                        checks.push(quote! {
                            if let Value::Object(o) = v {
                                if o.contains_key(#name) && ![#(#req),*].iter().all(|k| o.contains_key(*k)) {
                                    r.fail(p, || schema::dependency_message(o, #name, &[#(#req),*]));
                                }
                            }
                        });
                    }
                    Value::Object(_) => {
                        let f = self.sub(loc, &["dependencies", name]);
                        checks.push(quote! {
                            if let Value::Object(o) = v {
                                if o.contains_key(#name) {
                                    #f(v, p, r);
                                }
                            }
                        });
                    }
                    _ => {}
                }
            }
        }
        if let Some(Value::Array(values)) = s.get("enum") {
            checks.push(self.enum_check(values));
        }
        if let Some(Value::String(format)) = s.get("format") {
            checks.push(format_check(format, self.openapi_formats));
        }
        checks.extend(numeric_and_size_checks(s));
        if let Some(not) = s.get("not").filter(|n| n.is_object()) {
            let _ = not;
            let f = self.sub(loc, &["not"]);
            checks.push(quote! {
                if schema::passes(v, p, #f) {
                    r.fail(p, || "instance matched a schema which it should not have".to_string());
                }
            });
        }
        if let Some(Value::Array(list)) = s.get("oneOf") {
            let fs: Vec<Ident> = (0..list.len())
                .map(|i| self.sub(loc, &["oneOf", &i.to_string()]))
                .collect();
            let n = list.len();
            checks.push(quote! {
                let matched = [#(schema::passes(v, p, #fs)),*].iter().filter(|ok| **ok).count();
                if matched != 1 {
                    r.fail(p, || format!("instance failed to match exactly one schema (matched {} out of {})", matched, #n));
                }
            });
        }
        if let Some(Value::String(pattern)) = s.get("pattern") {
            let re = self.regex(pattern);
            checks.push(quote! {
                if let Value::String(s) = v {
                    if !#re.is_match(s) {
                        r.fail(p, || schema::pattern_message(#pattern, s));
                    }
                }
            });
        }
        if s.contains_key("required") {
            let req = self.required(loc, s);
            if !req.is_empty() {
                // Count the required members present in one pass over the keys (no hashing);
                // names are only worked out when some are missing.
                let mut unique: Vec<&str> = req.clone();
                unique.sort_unstable();
                unique.dedup();
                let n = unique.len();
                let arms: Vec<(&str, TokenStream)> = unique
                    .iter()
                    .map(|name| (*name, quote!(present += 1;)))
                    .collect();
                let count = name_switch(&quote!(k.len()), &quote!(k.as_str()), &arms, &quote!());
                checks.push(quote! {
                    if let Value::Object(o) = v {
                        let mut present = 0usize;
                        for k in o.keys() {
                            #count
                        }
                        if present != #n {
                            r.fail(p, || schema::missing(o, &[#(#req),*]));
                        }
                    }
                });
            }
        }
        if let Some(check) = type_check(s) {
            checks.push(check);
        }
        if let Some(Value::Bool(true)) = s.get("uniqueItems") {
            checks.push(quote! {
                if let Value::Array(a) = v {
                    if !schema::unique(a) {
                        r.fail(p, || "array must not contain duplicate elements".to_string());
                    }
                }
            });
        }

        let children = self.children(loc, s, &props, &patterns);
        let nullable = if s.get("nullable") == Some(&Value::Bool(true)) {
            quote! {
                // OpenAPI `nullable: true`: null is allowed whatever else the schema says.
                if v.is_null() {
                    return;
                }
            }
        } else {
            quote!()
        };
        if children.is_empty() {
            quote! { #nullable #(#checks)* }
        } else {
            quote! {
                #nullable
                let before = r.failures();
                #(#checks)*
                if r.failures() != before {
                    return;
                }
                #children
            }
        }
    }

    /// The names `required` lists. OpenAPI 3.0: a required `readOnly` property is only
    /// required in responses, a required `writeOnly` one only in requests.
    fn required(&self, loc: &Loc, s: &'a Map<String, Value>) -> Vec<&'a str> {
        let exempt = if self.responses {
            "writeOnly"
        } else {
            "readOnly"
        };
        match s.get("required") {
            Some(Value::Array(req)) => req
                .iter()
                .filter_map(Value::as_str)
                .filter(|name| !self.flagged(loc, name, exempt))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Whether property `name` of the schema at `loc` has `flag: true`.
    fn flagged(&self, loc: &Loc, name: &str, flag: &str) -> bool {
        let ptr = format!(
            "{}/properties/{}",
            loc.1,
            name.replace('~', "~0").replace('/', "~1")
        );
        self.resolve((loc.0, ptr))
            .and_then(|l| self.value(&l))
            .and_then(|v| v.get(flag))
            == Some(&Value::Bool(true))
    }

    /// `k` is a declared property or matches a pattern property.
    fn member_test(&mut self, props: &[&str], patterns: &[&str], k: TokenStream) -> TokenStream {
        let mut tests = Vec::new();
        if !props.is_empty() {
            let arms: Vec<(&str, TokenStream)> = props.iter().map(|p| (*p, quote!(true))).collect();
            tests.push(name_switch(
                &quote!(#k.len()),
                &quote!(#k.as_str()),
                &arms,
                &quote!(false),
            ));
        }
        for pat in patterns {
            let re = self.regex(pat);
            tests.push(quote!(#re.is_match(#k)));
        }
        if tests.is_empty() {
            quote!(false)
        } else {
            quote!(#(#tests)||*)
        }
    }

    /// Validation of members (`properties`, `patternProperties`, `additionalProperties`)
    /// and items (`items`, `additionalItems`).
    fn children(
        &mut self,
        loc: &Loc,
        s: &'a Map<String, Value>,
        props: &[&str],
        patterns: &[&str],
    ) -> TokenStream {
        let mut out = TokenStream::new();
        let additional = match s.get("additionalProperties") {
            Some(Value::Object(_)) => Some(self.sub(loc, &["additionalProperties"])),
            _ => None,
        };
        if !props.is_empty() || !patterns.is_empty() || additional.is_some() {
            let prop_fns: Vec<Ident> = props
                .iter()
                .map(|name| self.sub(loc, &["properties", name]))
                .collect();
            let pattern_fns: Vec<(Ident, Ident)> = patterns
                .iter()
                .map(|pat| (self.regex(pat), self.sub(loc, &["patternProperties", pat])))
                .collect();
            let track = additional.is_some() && !pattern_fns.is_empty();
            let arms: Vec<(&str, TokenStream)> = props
                .iter()
                .zip(&prop_fns)
                .map(|(name, f)| {
                    if track {
                        (*name, quote!(#f(x, &at, r); matched = true;))
                    } else {
                        (*name, quote!(#f(x, &at, r);))
                    }
                })
                .collect();
            let fallback = match (&additional, track) {
                (Some(f), false) => quote!(#f(x, &at, r);),
                _ => quote!(),
            };
            let pattern_calls = pattern_fns.iter().map(|(re, f)| {
                if track {
                    quote! {
                        if #re.is_match(k) {
                            #f(x, &at, r);
                            matched = true;
                        }
                    }
                } else {
                    quote! {
                        if #re.is_match(k) {
                            #f(x, &at, r);
                        }
                    }
                }
            });
            let (start, end) = match (&additional, track) {
                (Some(f), true) => (
                    quote!(let mut matched = false;),
                    quote! {
                        if !matched {
                            #f(x, &at, r);
                        }
                    },
                ),
                _ => (quote!(), quote!()),
            };
            let dispatch = if props.is_empty() {
                match (&additional, track) {
                    (Some(f), false) => quote!(#f(x, &at, r);),
                    _ => quote!(),
                }
            } else {
                name_switch(&quote!(k.len()), &quote!(k.as_str()), &arms, &fallback)
            };
            out.extend(quote! {
                if let Value::Object(o) = v {
                    for (k, x) in o {
                        let at = Path::Key(p, k);
                        #start
                        #dispatch
                        #(#pattern_calls)*
                        #end
                        if r.done() {
                            return;
                        }
                    }
                }
            });
        }
        match s.get("items") {
            Some(Value::Object(_)) => {
                let f = self.sub(loc, &["items"]);
                out.extend(quote! {
                    if let Value::Array(a) = v {
                        for (i, x) in a.iter().enumerate() {
                            #f(x, &Path::Index(p, i), r);
                            if r.done() {
                                return;
                            }
                        }
                    }
                });
            }
            Some(Value::Array(list)) => {
                let fs: Vec<Ident> = (0..list.len())
                    .map(|i| self.sub(loc, &["items", &i.to_string()]))
                    .collect();
                let n = list.len();
                let rest = match s.get("additionalItems") {
                    Some(Value::Object(_)) => {
                        let f = self.sub(loc, &["additionalItems"]);
                        quote! {
                            for (i, x) in a.iter().enumerate().skip(#n) {
                                #f(x, &Path::Index(p, i), r);
                            }
                        }
                    }
                    _ => quote!(),
                };
                let idx = 0..n;
                out.extend(quote! {
                    if let Value::Array(a) = v {
                        #(
                            if let Some(x) = a.get(#idx) {
                                #fs(x, &Path::Index(p, #idx), r);
                            }
                        )*
                        #rest
                    }
                });
            }
            _ => {}
        }
        out
    }

    fn enum_check(&mut self, values: &[Value]) -> TokenStream {
        let allowed = Value::Array(values.to_vec()).to_string();
        if values.iter().all(Value::is_string) {
            let strs = values.iter().filter_map(Value::as_str);
            return quote! {
                if !matches!(v, Value::String(s) if matches!(s.as_str(), #(#strs)|*)) {
                    r.fail(p, || schema::enum_message(v, #allowed));
                }
            };
        }
        let name = format_ident!("ENUM_{}", self.enums.len());
        let doc = doc_text(&format!(" `enum: {allowed}`"));
        self.enums.push(quote! {
            #[doc = #doc]
            static #name: LazyLock<Vec<Value<'static>>> = LazyLock::new(|| match Value::parse(#allowed.as_bytes()) {
                Ok(Value::Array(a)) => a,
                _ => Vec::new(),
            });
        });
        quote! {
            if !#name.iter().any(|e| schema::equal(v, e)) {
                r.fail(p, || schema::enum_message(v, #allowed));
            }
        }
    }
}

/// Text for a generated doc comment: control characters (a property name may hold a
/// carriage return) are written as escapes, so the comment stays one valid line.
pub fn doc_text(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// `match` on a member name, bucketed by length first so that a key is compared with the
/// few names of its length only (a plain string `match` compares it with every arm).
/// `len` is the key's length expression, `key` the `&str` to match.
pub(crate) fn name_switch(
    len: &TokenStream,
    key: &TokenStream,
    arms: &[(&str, TokenStream)],
    fallback: &TokenStream,
) -> TokenStream {
    let mut by_len: std::collections::BTreeMap<usize, Vec<&(&str, TokenStream)>> =
        std::collections::BTreeMap::new();
    for a in arms {
        by_len.entry(a.0.len()).or_default().push(a);
    }
    let buckets = by_len.iter().map(|(n, arms)| {
        let names = arms.iter().map(|a| a.0);
        let bodies = arms.iter().map(|a| &a.1);
        quote! {
            #n => match #key {
                #(#names => { #bodies })*
                _ => { #fallback }
            },
        }
    });
    quote! {
        match #len {
            #(#buckets)*
            _ => { #fallback }
        }
    }
}

/// Calls `f(pointer, schema)` for every subschema of `root` (schema positions only: a
/// `properties` member named `$ref` or an `enum` value is not a schema).
pub fn walk<'v>(root: &'v Value, ptr: String, f: &mut impl FnMut(&str, &'v Map<String, Value>)) {
    let Value::Object(s) = root else { return };
    f(&ptr, s);
    let esc = |k: &str| k.replace('~', "~0").replace('/', "~1");
    for kw in ONE {
        if let Some(v @ Value::Object(_)) = s.get(*kw) {
            walk(v, format!("{ptr}/{kw}"), f);
        }
    }
    for kw in MANY {
        if let Some(Value::Array(list)) = s.get(*kw) {
            for (i, v) in list.iter().enumerate() {
                walk(v, format!("{ptr}/{kw}/{i}"), f);
            }
        }
    }
    for kw in MAPS {
        if let Some(Value::Object(m)) = s.get(*kw) {
            for (k, v) in m {
                walk(v, format!("{ptr}/{kw}/{}", esc(k)), f);
            }
        }
    }
}

fn type_check(s: &Map<String, Value>) -> Option<TokenStream> {
    let mut types: BTreeSet<&str> = match s.get("type")? {
        Value::String(t) => [t.as_str()].into(),
        Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
        _ => return None,
    };
    // fge lists `integer` among the allowed types whenever `number` is allowed.
    if types.contains("number") {
        types.insert("integer");
    }
    if s.get("nullable") == Some(&Value::Bool(true)) {
        types.insert("null");
    }
    let allowed = Value::Array(types.iter().map(|t| Value::from(*t)).collect()).to_string();
    let pats: Vec<TokenStream> = types
        .iter()
        .filter_map(|t| {
            Some(match *t {
                "array" => quote!(Value::Array(_)),
                "boolean" => quote!(Value::Bool(_)),
                "null" => quote!(Value::Null),
                "number" => quote!(Value::Number(_)),
                "object" => quote!(Value::Object(_)),
                "string" => quote!(Value::String(_)),
                _ => return None,
            })
        })
        .collect();
    let integer_only = types.contains("integer") && !types.contains("number");
    let integer = quote!(Value::Number(n) if schema::is_integer(n));
    let mismatch = match (pats.is_empty(), integer_only) {
        (true, true) => quote!(!matches!(v, #integer)),
        (false, true) => quote!(!matches!(v, #(#pats)|*) && !matches!(v, #integer)),
        (false, false) => quote!(!matches!(v, #(#pats)|*)),
        (true, false) => return None,
    };
    Some(quote! {
        if #mismatch {
            r.fail(p, || schema::type_message(v, #allowed));
        }
    })
}

/// Format checks: the formats fge validates by default for draft-04 (date-time, email,
/// hostname, ipv4, ipv6, uri). Unverified on AWS: API Gateway documents models as draft-04
/// without saying which formats it checks; fge, the validator its messages come from,
/// checks these. Other formats (OpenAPI's date, uuid, byte, int32 …) are not checked, as
/// fge ignores formats it does not know.
fn format_check(format: &str, openapi: bool) -> TokenStream {
    if openapi {
        // `x-specgate-validation: {formats: openapi}`: OpenAPI's own formats too.
        let range = match format {
            "int32" => Some((i32::MIN as i64, i32::MAX as i64)),
            "int64" => Some((i64::MIN, i64::MAX)),
            _ => None,
        };
        if let Some((lo, hi)) = range {
            return quote! {
                if let Value::Number(n) = v {
                    if !schema::format::integer_in(n, #lo, #hi) {
                        r.fail(p, || format!("numeric instance {} is out of range for format \"{}\"", n, #format));
                    }
                }
            };
        }
        let check = match format {
            "date" => Some(quote!(schema::format::date(s))),
            "uuid" => Some(quote!(schema::format::uuid(s))),
            "byte" => Some(quote!(schema::format::byte(s))),
            _ => None,
        };
        if let Some(check) = check {
            return quote! {
                if let Value::String(s) = v {
                    if !#check {
                        r.fail(p, || schema::format_message(#format, s));
                    }
                }
            };
        }
    }
    let check = match format {
        "date-time" => quote!(schema::format::date_time(s)),
        "email" => quote!(schema::format::email(s)),
        "hostname" => quote!(schema::format::hostname(s)),
        "ipv4" => quote!(schema::format::ipv4(s)),
        "ipv6" => quote!(schema::format::ipv6(s)),
        "uri" => quote!(schema::format::uri(s)),
        _ => return quote!(),
    };
    quote! {
        if let Value::String(s) = v {
            if !#check {
                r.fail(p, || schema::format_message(#format, s));
            }
        }
    }
}

/// The single-value keywords in fge's (alphabetical) order.
fn numeric_and_size_checks(s: &Map<String, Value>) -> Vec<TokenStream> {
    let mut out = Vec::new();
    let num = |k: &str| s.get(k).and_then(Value::as_f64);
    let count = |k: &str| s.get(k).and_then(Value::as_u64).map(|n| n as usize);
    let text = |k: &str| s.get(k).map(Value::to_string).unwrap_or_default();
    if let Some(n) = count("maxItems") {
        out.push(quote! {
            if let Value::Array(a) = v {
                if a.len() > #n {
                    r.fail(p, || format!("array is too long: must have at most {} elements but instance has {} elements", #n, a.len()));
                }
            }
        });
    }
    if let Some(n) = count("maxLength") {
        out.push(quote! {
            if let Value::String(s) = v {
                let len = schema::length(s);
                if len > #n {
                    r.fail(p, || format!("string \"{}\" is too long (length: {}, maximum allowed: {})", s, len, #n));
                }
            }
        });
    }
    if let Some(n) = count("maxProperties") {
        out.push(quote! {
            if let Value::Object(o) = v {
                if o.len() > #n {
                    r.fail(p, || format!("object has too many properties (found {} but schema requires at most {})", o.len(), #n));
                }
            }
        });
    }
    if let Some(max) = num("maximum") {
        let shown = text("maximum");
        out.push(if s.get("exclusiveMaximum") == Some(&Value::Bool(true)) {
            quote! {
                if let Value::Number(n) = v {
                    if schema::num(n) >= #max {
                        r.fail(p, || format!("numeric instance is not strictly lower than the required maximum {}", #shown));
                    }
                }
            }
        } else {
            quote! {
                if let Value::Number(n) = v {
                    if schema::num(n) > #max {
                        r.fail(p, || format!("numeric instance is greater than the required maximum (maximum: {}, found: {})", #shown, n));
                    }
                }
            }
        });
    }
    if let Some(n) = count("minItems") {
        out.push(quote! {
            if let Value::Array(a) = v {
                if a.len() < #n {
                    r.fail(p, || format!("array is too short: must have at least {} elements but instance has {} elements", #n, a.len()));
                }
            }
        });
    }
    if let Some(n) = count("minLength") {
        out.push(quote! {
            if let Value::String(s) = v {
                let len = schema::length(s);
                if len < #n {
                    r.fail(p, || format!("string \"{}\" is too short (length: {}, required minimum: {})", s, len, #n));
                }
            }
        });
    }
    if let Some(n) = count("minProperties") {
        out.push(quote! {
            if let Value::Object(o) = v {
                if o.len() < #n {
                    r.fail(p, || format!("object has too few properties (found {} but schema requires at least {})", o.len(), #n));
                }
            }
        });
    }
    if let Some(min) = num("minimum") {
        let shown = text("minimum");
        out.push(if s.get("exclusiveMinimum") == Some(&Value::Bool(true)) {
            quote! {
                if let Value::Number(n) = v {
                    if schema::num(n) <= #min {
                        r.fail(p, || format!("numeric instance is not strictly greater than the required minimum {}", #shown));
                    }
                }
            }
        } else {
            quote! {
                if let Value::Number(n) = v {
                    if schema::num(n) < #min {
                        r.fail(p, || format!("numeric instance is lower than the required minimum (minimum: {}, found: {})", #shown, n));
                    }
                }
            }
        });
    }
    if let Some(d) = num("multipleOf").filter(|d| *d > 0.0) {
        let shown = text("multipleOf");
        out.push(quote! {
            if let Value::Number(n) = v {
                if !schema::multiple_of(n, #d) {
                    r.fail(p, || format!("remainder of division is not zero ({} / {})", n, #shown));
                }
            }
        });
    }
    out
}

fn snake(s: &str) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in s.chars() {
        if c.is_ascii_uppercase() {
            if prev_lower {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
            prev_lower = false;
        } else if c.is_ascii_alphanumeric() {
            out.push(c);
            prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        } else {
            if !out.ends_with('_') && !out.is_empty() {
                out.push('_');
            }
            prev_lower = false;
        }
    }
    let out = out.trim_end_matches('_').to_string();
    if syn::parse_str::<Ident>(&out).is_err() {
        format!("{out}_")
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecma_classes_are_ascii() {
        assert_eq!(ecma_regex(r"^\d+$"), "^[0-9]+$");
        assert_eq!(ecma_regex(r"[\w.-]"), "[A-Za-z0-9_.-]");
        assert_eq!(ecma_regex(r"\\d"), r"\\d");
        assert_eq!(ecma_regex(r"[^\D]"), "[^[^0-9]]");
    }

    #[test]
    fn names_are_identifiers() {
        assert_eq!(snake("Pet/properties/name"), "pet_properties_name");
        assert_eq!(
            snake("G1/definitions/tilde~0field"),
            "g1_definitions_tilde_0field"
        );
        assert_eq!(snake("type"), "type_");
    }
}
