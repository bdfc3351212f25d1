//! Part of stage 1, **load**: documents as users keep them, before they are rendered.
//!
//! SAM and CloudFormation templates hold API definitions with intrinsic functions (`Ref`,
//! `Fn::Sub`, `Fn::GetAtt`, `Fn::Join`, `Fn::If`, `Fn::ImportValue`, … and their short `!Sub`
//! tags, which `tree.rs` reads as the long form) and `${AWS::Region}`-style pseudo parameters;
//! Terraform `templatefile` definitions hold `${name}`. This pass renders them in the tree,
//! before lowering, with the values the user gave (`--var NAME=VALUE`, `--vars FILE`,
//! `--region`). What has no value stays as `${Name}` text in a string node that keeps the
//! span of what was written, and is recorded as a [`Placeholder`]: `check` warns once per name,
//! and lowering marks the ones whose value the gateway needs (integration URIs, credentials,
//! authorizer URIs, issuers), which `build` refuses to leave unresolved.
//!
//! Written by hand: no crate evaluates CloudFormation intrinsics over a spanned tree.

use std::collections::BTreeMap;

use crate::codes;
use crate::diag::Diagnostics;
use crate::source::{SourceFile, Span};
use crate::tree::{Entry, Node, NodeValue};

/// Values for placeholders: `--var`, `--vars`, `--region`.
#[derive(Debug, Clone, Default)]
pub struct Vars {
    values: BTreeMap<String, String>,
}

impl Vars {
    /// Values from `NAME=VALUE` pairs, then `--vars` files (JSON or YAML maps; nested maps are
    /// flattened with dots, so `{X: {Arn: …}}` gives `X.Arn`), then the region. A pair given
    /// on the command line wins over a file.
    pub fn new(
        pairs: &[String],
        files: &[std::path::PathBuf],
        region: Option<String>,
    ) -> Result<Vars, String> {
        let mut v = Vars::default();
        if let Some(r) = region.filter(|r| !r.is_empty()) {
            v.values.insert("AWS::Region".into(), r);
        }
        for f in files {
            let text = std::fs::read_to_string(f)
                .map_err(|e| format!("cannot read --vars file {}: {e}", f.display()))?;
            let mut db = crate::source::SourceDb::new();
            let id = db.add(f, text);
            let mut d = Diagnostics::default();
            let Some(tree) = crate::tree::parse(id, db.file(id), &mut d) else {
                return Err(format!(
                    "--vars file {} is not valid YAML or JSON",
                    f.display()
                ));
            };
            if tree.as_object().is_none() {
                return Err(format!(
                    "--vars file {} must hold a map of names to values",
                    f.display()
                ));
            }
            flatten("", &tree, &mut v.values);
        }
        for p in pairs {
            let Some((name, value)) = p.split_once('=') else {
                return Err(format!("--var `{p}` is not NAME=VALUE"));
            };
            if name.is_empty() {
                return Err(format!("--var `{p}` has no name"));
            }
            v.values.insert(name.to_string(), value.to_string());
        }
        Ok(v)
    }

    /// A value by name; pseudo parameters that have one answer outside AWS default to it.
    fn get(&self, name: &str) -> Option<String> {
        if let Some(v) = self.values.get(name) {
            return Some(v.clone());
        }
        match name {
            "AWS::Partition" => Some("aws".into()),
            "AWS::URLSuffix" => Some("amazonaws.com".into()),
            _ => None,
        }
    }

    /// True when no value was given at all.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

fn flatten(prefix: &str, node: &Node, out: &mut BTreeMap<String, String>) {
    let join = |k: &str| {
        if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}.{k}")
        }
    };
    match &node.value {
        NodeValue::Object(entries) => {
            for e in entries {
                flatten(&join(&e.key), &e.value, out);
            }
        }
        NodeValue::String(s) => {
            out.insert(prefix.to_string(), s.clone());
        }
        NodeValue::Number(n) => {
            out.insert(prefix.to_string(), n.to_string());
        }
        NodeValue::Bool(b) => {
            out.insert(prefix.to_string(), b.to_string());
        }
        NodeValue::Null | NodeValue::Array(_) => {}
    }
}

/// How a placeholder is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `Ref: Name` / `!Ref Name`.
    Ref,
    /// `Fn::GetAtt: [Name, Attr]` / `!GetAtt Name.Attr`.
    GetAtt,
    /// `${Name}` inside `Fn::Sub`.
    Sub,
    /// `Fn::ImportValue: Name`.
    ImportValue,
    /// `Fn::If: [Condition, …]`: the condition's value.
    If,
    /// `Fn::FindInMap: [Map, Key, Key]`.
    FindInMap,
    /// `${AWS::Region}`-style pseudo parameter in a plain string.
    Pseudo,
    /// `${name}` in a plain string: a Terraform `templatefile` variable.
    Template,
}

impl Form {
    /// How the form is named in messages.
    pub fn describe(self) -> &'static str {
        match self {
            Form::Ref => "CloudFormation `Ref`",
            Form::GetAtt => "CloudFormation `Fn::GetAtt`",
            Form::Sub => "CloudFormation `Fn::Sub` variable",
            Form::ImportValue => "CloudFormation `Fn::ImportValue`",
            Form::If => "CloudFormation `Fn::If` condition",
            Form::FindInMap => "CloudFormation `Fn::FindInMap`",
            Form::Pseudo => "CloudFormation pseudo parameter",
            Form::Template => "Terraform `templatefile` variable",
        }
    }
}

/// A placeholder left without a value.
#[derive(Debug, Clone, PartialEq)]
pub struct Placeholder {
    /// The name a value is given under (`--var NAME=…`): `X`, `X.Arn`, `AWS::Region`.
    pub name: String,
    /// Where it is written.
    pub span: Span,
    /// How it is written.
    pub form: Form,
}

/// Renders every placeholder in `node` that has a value; records the rest.
pub fn render(
    node: &mut Node,
    file: &SourceFile,
    vars: &Vars,
    out: &mut Vec<Placeholder>,
    diags: &mut Diagnostics,
) {
    let mut r = Renderer {
        file,
        vars,
        out,
        diags,
    };
    r.node(node, false);
}

/// Names of unresolved placeholders written as `${Name}` in a string (after rendering every
/// remaining one is unresolved). API Gateway's own `${stageVariables.x}` (and the
/// `${request.…}`/`${context.…}` forms of HTTP API mappings) are not placeholders.
pub fn names_in(s: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = s;
    let mut offset = 0;
    while let Some(i) = rest.find("${") {
        let start = offset + i;
        let escaped = start > 0 && s.as_bytes()[start - 1] == b'$';
        let after = &s[start + 2..];
        let Some(end) = after.find('}') else { break };
        let name = &after[..end];
        if !escaped && is_placeholder_name(name) {
            names.push(name);
        }
        offset = start + 2 + end + 1;
        rest = &s[offset..];
    }
    names
}

fn is_placeholder_name(name: &str) -> bool {
    const API_GATEWAY: &[&str] = &[
        "stageVariables.",
        "request.",
        "response.",
        "context.",
        "method.",
        "integration.",
        "input.",
        "util.",
    ];
    !name.is_empty()
        && !API_GATEWAY.iter().any(|p| name.starts_with(p))
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | ':' | '-'))
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
}

/// Keys under which strings are prose or code (descriptions, examples, regular expressions,
/// mapping templates): Terraform-style `${name}` there is rendered when a value is given but
/// never reported, since VTL and regular expressions write `${…}` themselves.
const TEXT_KEYS: &[&str] = &[
    "description",
    "summary",
    "example",
    "examples",
    "pattern",
    "requestTemplates",
    "responseTemplates",
    "x-amazon-apigateway-documentation",
];

struct Renderer<'a> {
    file: &'a SourceFile,
    vars: &'a Vars,
    out: &'a mut Vec<Placeholder>,
    diags: &'a mut Diagnostics,
}

impl Renderer<'_> {
    fn node(&mut self, node: &mut Node, text: bool) {
        if let Some(function) = intrinsic_name(node) {
            if let Some(rendered) = self.intrinsic(node, &function) {
                *node = rendered;
            }
            return;
        }
        match &mut node.value {
            NodeValue::Object(entries) => {
                for e in entries.iter_mut() {
                    let text = text || TEXT_KEYS.contains(&e.key.as_str());
                    self.node(&mut e.value, text);
                }
            }
            NodeValue::Array(items) => {
                for i in items.iter_mut() {
                    self.node(i, text);
                }
            }
            NodeValue::String(s) if s.contains("${") => {
                let (rendered, missing) = self.substitute(s, None);
                for name in missing {
                    let pseudo = name.starts_with("AWS::");
                    if pseudo || !text {
                        let form = if pseudo { Form::Pseudo } else { Form::Template };
                        self.record(name, node.span, form);
                    }
                }
                if let NodeValue::String(s) = &mut node.value {
                    *s = rendered;
                }
            }
            _ => {}
        }
    }

    /// Replaces every `${Name}` that has a value (from `local`, then the vars); returns the
    /// text and the names left without one. `${!Literal}` is `Fn::Sub`'s escape for `${Literal}`.
    fn substitute(
        &self,
        s: &str,
        local: Option<&BTreeMap<String, String>>,
    ) -> (String, Vec<String>) {
        let mut out = String::with_capacity(s.len());
        let mut missing = Vec::new();
        let mut rest = s;
        while let Some(i) = rest.find("${") {
            let escaped = i > 0 && rest.as_bytes()[i - 1] == b'$';
            out.push_str(&rest[..i]);
            let after = &rest[i + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[i..]);
                return (out, missing);
            };
            let name = &after[..end];
            let whole = &rest[i..i + 2 + end + 1];
            rest = &after[end + 1..];
            if local.is_some() {
                if let Some(lit) = name.strip_prefix('!') {
                    out.push_str("${");
                    out.push_str(lit);
                    out.push('}');
                    continue;
                }
            }
            if escaped || !is_placeholder_name(name) {
                out.push_str(whole);
                continue;
            }
            match local
                .and_then(|l| l.get(name).cloned())
                .or_else(|| self.vars.get(name))
            {
                Some(v) => out.push_str(&v),
                None => {
                    out.push_str(whole);
                    missing.push(name.to_string());
                }
            }
        }
        out.push_str(rest);
        (out, missing)
    }

    /// Where `${name}` is written inside `within`, or `within` itself.
    fn locate(&self, name: &str, within: Span) -> Span {
        let text = self
            .file
            .text
            .get(within.start as usize..within.end as usize)
            .unwrap_or_default();
        let needle = format!("${{{name}}}");
        match text.find(&needle) {
            Some(i) => Span::new(
                within.file,
                within.start as usize + i,
                within.start as usize + i + needle.len(),
            ),
            None => within,
        }
    }

    fn record(&mut self, name: String, within: Span, form: Form) {
        let span = match form {
            Form::Sub | Form::Pseudo | Form::Template => self.locate(&name, within),
            _ => within,
        };
        self.out.push(Placeholder { name, span, form });
    }

    /// The string an intrinsic stands for, with `${Name}` for what has no value.
    fn string_of(&mut self, node: &mut Node) -> Option<String> {
        if intrinsic_name(node).is_some() {
            let function = intrinsic_name(node)?;
            let rendered = self.intrinsic(node, &function)?;
            *node = rendered;
        }
        match &node.value {
            NodeValue::String(s) => Some(s.clone()),
            NodeValue::Number(n) => Some(n.to_string()),
            NodeValue::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    fn cannot(&mut self, span: Span, function: &str, why: &str) -> Option<Node> {
        self.diags
            .warning(&codes::PLACEHOLDER, span, format!("`{function}` cannot be rendered here: {why}"))
            .label("left as written")
            .help("render the template first (`sam build`, `aws cloudformation package`, `terraform apply`), or write the value itself");
        None
    }

    /// Evaluates one intrinsic function; `None` leaves the node as written (reported).
    fn intrinsic(&mut self, node: &mut Node, function: &str) -> Option<Node> {
        let NodeValue::Object(entries) = &mut node.value else {
            return None;
        };
        // From the function's name to the end of its argument (a block mapping's own span
        // runs on to the next key).
        let span = Span::new(
            node.span.file,
            entries[0].key_span.start as usize,
            entries[0].value.span.end as usize,
        );
        let text_node = |s: String| Node {
            span,
            value: NodeValue::String(s),
        };
        let arg = &mut entries[0].value;
        match function {
            "Ref" => {
                let name = arg.as_str()?.to_string();
                if name == "AWS::NoValue" {
                    return Some(Node { span, value: NodeValue::Null });
                }
                Some(text_node(self.value_or_record(name, span, Form::Ref)))
            }
            "Fn::GetAtt" => {
                let name = match &arg.value {
                    NodeValue::String(s) => s.clone(),
                    NodeValue::Array(items) => {
                        let parts: Vec<String> = items.iter().filter_map(|i| i.as_str().map(str::to_string)).collect();
                        if parts.len() != items.len() || parts.len() < 2 {
                            return self.cannot(span, function, "it takes [LogicalName, Attribute]");
                        }
                        parts.join(".")
                    }
                    _ => return self.cannot(span, function, "it takes [LogicalName, Attribute]"),
                };
                Some(text_node(self.value_or_record(name, span, Form::GetAtt)))
            }
            "Fn::ImportValue" => {
                let name = self.string_of(arg)?;
                Some(text_node(self.value_or_record(name, span, Form::ImportValue)))
            }
            "Fn::FindInMap" => {
                let parts: Vec<String> = match &mut arg.value {
                    NodeValue::Array(items) if items.len() == 3 => {
                        let mut p = Vec::new();
                        for i in items.iter_mut() {
                            p.push(self.string_of(i)?);
                        }
                        p
                    }
                    _ => return self.cannot(span, function, "it takes [MapName, TopLevelKey, SecondLevelKey]"),
                };
                Some(text_node(self.value_or_record(parts.join("."), span, Form::FindInMap)))
            }
            "Fn::Sub" => {
                let (template, local) = match &mut arg.value {
                    NodeValue::String(s) => (s.clone(), BTreeMap::new()),
                    NodeValue::Array(items) if items.len() == 2 => {
                        let template = items[0].as_str()?.to_string();
                        let mut local = BTreeMap::new();
                        if let NodeValue::Object(vars) = &mut items[1].value {
                            for e in vars.iter_mut() {
                                if let Some(v) = self.string_of(&mut e.value) {
                                    if names_in(&v).is_empty() {
                                        local.insert(e.key.clone(), v);
                                    }
                                }
                            }
                        }
                        (template, local)
                    }
                    _ => return self.cannot(span, function, "it takes a string or [String, {Name: Value}]"),
                };
                let (rendered, missing) = self.substitute(&template, Some(&local));
                for name in missing {
                    let form = if name.starts_with("AWS::") { Form::Pseudo } else { Form::Sub };
                    self.record(name, span, form);
                }
                Some(text_node(rendered))
            }
            "Fn::Join" => {
                let NodeValue::Array(items) = &mut arg.value else {
                    return self.cannot(span, function, "it takes [Delimiter, [Values]]");
                };
                if items.len() != 2 {
                    return self.cannot(span, function, "it takes [Delimiter, [Values]]");
                }
                let delimiter = items[0].as_str()?.to_string();
                let parts = &mut items[1];
                if let Some(f) = intrinsic_name(parts) {
                    *parts = self.intrinsic(parts, &f)?;
                }
                let NodeValue::Array(values) = &mut parts.value else {
                    return self.cannot(span, function, "its second argument must be a list");
                };
                let mut strings = Vec::new();
                for v in values.iter_mut() {
                    strings.push(self.string_of(v)?);
                }
                Some(text_node(strings.join(&delimiter)))
            }
            "Fn::Select" => {
                let NodeValue::Array(items) = &mut arg.value else {
                    return self.cannot(span, function, "it takes [Index, [Values]]");
                };
                if items.len() != 2 {
                    return self.cannot(span, function, "it takes [Index, [Values]]");
                }
                let index = self.string_of(&mut items[0])?.parse::<usize>().ok()?;
                let list = &mut items[1];
                if let Some(f) = intrinsic_name(list) {
                    *list = self.intrinsic(list, &f)?;
                }
                let NodeValue::Array(values) = &mut list.value else {
                    return self.cannot(span, function, "its second argument must be a list");
                };
                let mut chosen = values.get(index).cloned()?;
                self.node(&mut chosen, false);
                Some(Node { span, ..chosen })
            }
            "Fn::Split" => {
                let NodeValue::Array(items) = &mut arg.value else {
                    return self.cannot(span, function, "it takes [Delimiter, String]");
                };
                if items.len() != 2 {
                    return self.cannot(span, function, "it takes [Delimiter, String]");
                }
                let delimiter = items[0].as_str()?.to_string();
                let s = self.string_of(&mut items[1])?;
                if delimiter.is_empty() {
                    return self.cannot(span, function, "the delimiter is empty");
                }
                let parts = s.split(delimiter.as_str()).map(|p| text_node(p.to_string())).collect();
                Some(Node { span, value: NodeValue::Array(parts) })
            }
            "Fn::If" => {
                let NodeValue::Array(items) = &mut arg.value else {
                    return self.cannot(span, function, "it takes [Condition, ValueIfTrue, ValueIfFalse]");
                };
                if items.len() != 3 {
                    return self.cannot(span, function, "it takes [Condition, ValueIfTrue, ValueIfFalse]");
                }
                let condition = items[0].as_str()?.to_string();
                // Without a value the first branch is read, so the rest of the document is
                // still checked; the condition is reported like any missing value.
                let take_true = match self.vars.get(&condition).as_deref() {
                    Some(v) => v.eq_ignore_ascii_case("true"),
                    None => {
                        self.record(condition, items[0].span, Form::If);
                        true
                    }
                };
                let mut chosen = items[if take_true { 1 } else { 2 }].clone();
                self.node(&mut chosen, false);
                Some(chosen)
            }
            _ => self.cannot(span, function, "specgate renders Ref, Fn::Sub, Fn::GetAtt, Fn::Join, Fn::If, Fn::ImportValue, Fn::FindInMap, Fn::Select and Fn::Split"),
        }
    }

    fn value_or_record(&mut self, name: String, span: Span, form: Form) -> String {
        match self.vars.get(&name) {
            Some(v) => v,
            None => {
                let text = format!("${{{name}}}");
                self.record(name, span, form);
                text
            }
        }
    }
}

/// `Ref` or `Fn::…` when `node` is a one-key mapping naming an intrinsic function.
fn intrinsic_name(node: &Node) -> Option<String> {
    match node.as_object()? {
        [Entry { key, .. }] if key == "Ref" || key.starts_with("Fn::") => Some(key.clone()),
        _ => None,
    }
}

/// Reports each unresolved name once, at its first place, with the others as secondary labels.
pub fn report(
    placeholders: &[Placeholder],
    needed: &[(String, Span, &'static str)],
    diags: &mut Diagnostics,
) {
    let mut by_name: BTreeMap<&str, Vec<&Placeholder>> = BTreeMap::new();
    for p in placeholders {
        by_name.entry(&p.name).or_default().push(p);
    }
    for (name, places) in by_name {
        let first = places[0];
        let need = needed.iter().find(|(n, _, _)| n == name);
        let msg = match need {
            Some((_, _, what)) => format!(
                "{} `{name}` has no value; the gateway needs it for {what}",
                first.form.describe()
            ),
            None => format!(
                "{} `{name}` has no value; it stays as text",
                first.form.describe()
            ),
        };
        let d = diags.warning(&codes::PLACEHOLDER, first.span, msg);
        d.label("unrendered placeholder");
        for p in places.iter().skip(1).take(4) {
            d.secondary(p.span, "also here");
        }
        d.help(format!(
            "`specgate build`/`run` take its value: `--var {name}=VALUE` (or a `--vars` file)"
        ));
    }
}

/// In `build`, each needed placeholder without a value is an error.
pub fn require(needed: &[(String, Span, &'static str)], diags: &mut Diagnostics) {
    let mut seen: Vec<&str> = Vec::new();
    for (name, span, what) in needed {
        if seen.contains(&name.as_str()) {
            continue;
        }
        seen.push(name);
        diags
            .error(
                &codes::PLACEHOLDER,
                *span,
                format!("`{name}` has no value, and the gateway needs it for {what}"),
            )
            .label("unrendered placeholder")
            .help(format!(
                "pass `--var {name}=VALUE` (or a `--vars` file holding `{name}`)"
            ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_skip_api_gateway_variables_and_escapes() {
        assert_eq!(
            names_in("arn:${AWS::Region}:x/${Fn.Arn}/${stageVariables.s}"),
            vec!["AWS::Region", "Fn.Arn"]
        );
        assert_eq!(names_in("$${literal} ${ok_1}"), vec!["ok_1"]);
        assert!(names_in("${unterminated").is_empty());
    }
}
