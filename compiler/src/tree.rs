//! The spanned document tree: a JSON-like value in which every node and every mapping key
//! knows where it came from.
//!
//! YAML and JSON are both read through `saphyr-parser`'s event stream (JSON is YAML 1.2 flow
//! syntax). The tree is built by hand from the events rather than with saphyr's own loader so
//! that duplicate keys, aliases and non-string keys become diagnostics with exact locations
//! instead of being silently merged.

use std::borrow::Cow;

use saphyr_parser::{Event, Parser, ScalarStyle, Span as YSpan};
use serde_json::{Map, Number, Value};

use crate::codes;
use crate::diag::Diagnostics;
use crate::source::{FileId, SourceFile, Span};

/// A node of a loaded document.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Where the node's text is.
    pub span: Span,
    /// What it holds.
    pub value: NodeValue,
}

/// The value of a [`Node`].
#[derive(Debug, Clone, PartialEq)]
pub enum NodeValue {
    /// `null`, `~` or an empty YAML value.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer or float.
    Number(Number),
    /// A string (quoted, or a plain scalar that is not null, a bool or a number).
    String(String),
    /// A sequence.
    Array(Vec<Node>),
    /// A mapping, in source order.
    Object(Vec<Entry>),
}

/// One key/value pair of a mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The key, always a string (YAML `200:` becomes `"200"`).
    pub key: String,
    /// Where the key is written.
    pub key_span: Span,
    /// The value.
    pub value: Node,
}

impl Node {
    /// The entries of a mapping, or `None`.
    pub fn as_object(&self) -> Option<&[Entry]> {
        match &self.value {
            NodeValue::Object(e) => Some(e),
            _ => None,
        }
    }
    /// The items of a sequence, or `None`.
    pub fn as_array(&self) -> Option<&[Node]> {
        match &self.value {
            NodeValue::Array(a) => Some(a),
            _ => None,
        }
    }
    /// The string, or `None`.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            NodeValue::String(s) => Some(s),
            _ => None,
        }
    }
    /// The bool, or `None`.
    pub fn as_bool(&self) -> Option<bool> {
        match &self.value {
            NodeValue::Bool(b) => Some(*b),
            _ => None,
        }
    }
    /// An integer value (also a float without fraction, as exports sometimes write `1.0`).
    pub fn as_i64(&self) -> Option<i64> {
        match &self.value {
            NodeValue::Number(n) => n.as_i64().or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                    .map(|f| f as i64)
            }),
            _ => None,
        }
    }
    /// A number's value.
    pub fn as_f64(&self) -> Option<f64> {
        match &self.value {
            NodeValue::Number(n) => n.as_f64(),
            _ => None,
        }
    }

    /// The entry for `key` in a mapping.
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        self.as_object()?.iter().find(|e| e.key == key)
    }
    /// The value for `key` in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|e| &e.value)
    }
    /// A short name of the node's type, for messages.
    pub fn type_name(&self) -> &'static str {
        match self.value {
            NodeValue::Null => "null",
            NodeValue::Bool(_) => "boolean",
            NodeValue::Number(_) => "number",
            NodeValue::String(_) => "string",
            NodeValue::Array(_) => "array",
            NodeValue::Object(_) => "object",
        }
    }

    /// Follows an RFC 6901 JSON pointer (`""` is the node itself).
    pub fn pointer(&self, pointer: &str) -> Option<&Node> {
        if pointer.is_empty() {
            return Some(self);
        }
        let rest = pointer.strip_prefix('/')?;
        let mut node = self;
        for raw in rest.split('/') {
            let token = unescape_pointer_token(raw);
            node = match &node.value {
                NodeValue::Object(entries) => &entries.iter().find(|e| e.key == token)?.value,
                NodeValue::Array(items) => {
                    if token.starts_with('+') || (token.len() > 1 && token.starts_with('0')) {
                        return None;
                    }
                    items.get(token.parse::<usize>().ok()?)?
                }
                _ => return None,
            };
        }
        Some(node)
    }

    /// Converts to a `serde_json::Value` (key order kept).
    pub fn to_json(&self) -> Value {
        match &self.value {
            NodeValue::Null => Value::Null,
            NodeValue::Bool(b) => Value::Bool(*b),
            NodeValue::Number(n) => Value::Number(n.clone()),
            NodeValue::String(s) => Value::String(s.clone()),
            NodeValue::Array(a) => Value::Array(a.iter().map(Node::to_json).collect()),
            NodeValue::Object(entries) => {
                let mut m = Map::with_capacity(entries.len());
                for e in entries {
                    m.insert(e.key.clone(), e.value.to_json());
                }
                Value::Object(m)
            }
        }
    }

    /// Number of nodes in this subtree.
    pub fn count(&self) -> usize {
        1 + match &self.value {
            NodeValue::Array(a) => a.iter().map(Node::count).sum(),
            NodeValue::Object(e) => e.iter().map(|e| e.value.count()).sum(),
            _ => 0,
        }
    }
}

/// Decodes `~1` and `~0` in one JSON pointer token.
pub fn unescape_pointer_token(raw: &str) -> Cow<'_, str> {
    if raw.contains('~') {
        Cow::Owned(raw.replace("~1", "/").replace("~0", "~"))
    } else {
        Cow::Borrowed(raw)
    }
}

/// Encodes one JSON pointer token.
pub fn escape_pointer_token(raw: &str) -> Cow<'_, str> {
    if raw.contains(['~', '/']) {
        Cow::Owned(raw.replace('~', "~0").replace('/', "~1"))
    } else {
        Cow::Borrowed(raw)
    }
}

/// Most nodes a document may expand to through YAML aliases, against "billion laughs" inputs.
pub const MAX_NODES: usize = 5_000_000;
/// Deepest nesting accepted (the tree is built with an explicit stack, but later stages recurse).
pub const MAX_DEPTH: usize = 256;

enum Frame {
    Seq {
        start: Span,
        anchor: usize,
        intrinsic: Option<&'static str>,
        items: Vec<Node>,
    },
    Map {
        start: Span,
        anchor: usize,
        intrinsic: Option<&'static str>,
        entries: Vec<Entry>,
        pending_key: Option<(String, Span)>,
    },
}

/// CloudFormation's short-form tags (`!Sub`, `!GetAtt`, …) and the long form each stands for.
/// A tagged node is read as the one-key mapping the long form writes (`{"Fn::Sub": …}`), so
/// the placeholder pass (`placeholders.rs`) sees one shape.
fn cloudformation_tag(tag: Option<&saphyr_parser::Tag>) -> Option<&'static str> {
    let tag = tag?;
    if tag.handle != "!" {
        return None;
    }
    Some(match tag.suffix.as_str() {
        "Ref" => "Ref",
        "Condition" => "Condition",
        "Sub" => "Fn::Sub",
        "GetAtt" => "Fn::GetAtt",
        "Join" => "Fn::Join",
        "If" => "Fn::If",
        "ImportValue" => "Fn::ImportValue",
        "Select" => "Fn::Select",
        "Split" => "Fn::Split",
        "FindInMap" => "Fn::FindInMap",
        "Base64" => "Fn::Base64",
        "GetAZs" => "Fn::GetAZs",
        "Cidr" => "Fn::Cidr",
        "Equals" => "Fn::Equals",
        "Not" => "Fn::Not",
        "And" => "Fn::And",
        "Or" => "Fn::Or",
        "Transform" => "Fn::Transform",
        _ => return None,
    })
}

/// Wraps a node read with a CloudFormation short-form tag into its long form.
fn intrinsic_node(function: Option<&'static str>, node: Node) -> Node {
    match function {
        None => node,
        Some(f) => Node {
            span: node.span,
            value: NodeValue::Object(vec![Entry {
                key: f.to_string(),
                key_span: node.span,
                value: node,
            }]),
        },
    }
}

/// Parses a YAML or JSON text into a tree. Problems are reported to `diags`; `None` when the
/// text could not be read as one document.
pub fn parse(file_id: FileId, file: &SourceFile, diags: &mut Diagnostics) -> Option<Node> {
    let is_json_file = file
        .path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    if is_json_file || file.text.trim_start().starts_with(['{', '[']) {
        match crate::json::parse(file_id, &file.text) {
            Ok((node, dups)) => {
                for (key, first, again) in dups {
                    duplicate_key(diags, &key, again, first);
                }
                return Some(node);
            }
            // A `.json` file is held to JSON's rules, with JSON's error message.
            Err(e) if is_json_file => {
                diags
                    .error(
                        &codes::SYNTAX,
                        Span::new(file_id, e.at, e.at),
                        format!("this file is not valid JSON: expected {}", e.expected),
                    )
                    .label(format!("expected {} here", e.expected));
                return None;
            }
            // Not strict JSON (comments, YAML flow style): the YAML parser reads it.
            Err(_) => {}
        }
    }
    match parse_yaml(file_id, file, diags) {
        Ok(root) => root,
        Err((at, info)) => {
            if info.contains("invalid indentation in quoted scalar") {
                if let Some(root) = reparse_lenient(file_id, file, at, diags) {
                    return Some(root);
                }
            }
            diags
                .error(
                    &codes::SYNTAX,
                    Span::new(file_id, at, at),
                    format!("this file is not valid YAML or JSON: {info}"),
                )
                .label("the parser stopped here");
            None
        }
    }
}

/// Inserted indentation: (offset in the original text, spaces inserted there), sorted.
type Inserted = Vec<(usize, usize)>;

/// PyYAML, and so CloudFormation and SAM, accept a multi-line quoted scalar whose
/// continuation lines are indented less than YAML 1.2 requires; saphyr does not. Such
/// scalars are re-indented in a copy of the text (which does not change their value: a
/// quoted scalar's line breaks fold and leading spaces are dropped), the copy is parsed, and
/// every span is mapped back to the original text. One warning per scalar.
fn reparse_lenient(
    file_id: FileId,
    file: &SourceFile,
    first_error: usize,
    diags: &mut Diagnostics,
) -> Option<Node> {
    let mut inserted: Inserted = Vec::new();
    let mut at = first_error;
    let mut fixed_scalars = Vec::new();
    for _ in 0..256 {
        // `at` is an offset in the original text: the quoted scalar's opening quote.
        let more = reindent_scalar(&file.text, at)?;
        if more.is_empty() {
            return None;
        }
        fixed_scalars.push(at);
        inserted.extend(more);
        inserted.sort_unstable();
        let mut text = String::with_capacity(file.text.len() + inserted.len() * 8);
        let mut last = 0;
        for (pos, n) in &inserted {
            text.push_str(&file.text[last..*pos]);
            text.extend(std::iter::repeat_n(' ', *n));
            last = *pos;
        }
        text.push_str(&file.text[last..]);
        let mut db = crate::source::SourceDb::new();
        let tmp = db.add(file.path.clone(), text);
        let mut local = Diagnostics::default();
        match parse_yaml(file_id, db.file(tmp), &mut local) {
            Ok(root) => {
                let mut root = root?;
                remap_node(&mut root, &inserted);
                for mut d in local.into_vec() {
                    d.primary.span = remap(d.primary.span, &inserted);
                    for l in &mut d.secondary {
                        l.span = remap(l.span, &inserted);
                    }
                    let nd = diags.push(d.severity, d.code, d.primary.span, d.message);
                    nd.primary.message = d.primary.message;
                    nd.secondary = d.secondary;
                    nd.help = d.help;
                }
                for start in fixed_scalars {
                    diags
                        .warning(&codes::SYNTAX, Span::new(file_id, start, start + 1), "this quoted scalar's continuation lines are indented less than YAML requires; PyYAML and CloudFormation accept it, and so does specgate")
                        .label("multi-line quoted scalar")
                        .help("indent each continuation line more than the key it belongs to");
                }
                return Some(root);
            }
            Err((next, info)) if info.contains("invalid indentation in quoted scalar") => {
                at = remap_offset(next as u32, &inserted) as usize;
            }
            Err(_) => return None,
        }
    }
    None
}

/// The spaces to insert so that the quoted scalar opening at `at` has every continuation
/// line indented past the line it starts on.
fn reindent_scalar(text: &str, at: usize) -> Option<Inserted> {
    let bytes = text.as_bytes();
    let quote = *bytes.get(at)?;
    if quote != b'"' && quote != b'\'' {
        return None;
    }
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let need = text[line_start..at]
        .bytes()
        .take_while(|b| *b == b' ')
        .count()
        + 1;
    let mut out = Vec::new();
    let mut i = at + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quote == b'"' => i += 2,
            b'\'' if quote == b'\'' && bytes.get(i + 1) == Some(&b'\'') => i += 2,
            b if b == quote => return Some(out),
            b'\n' => {
                i += 1;
                let have = bytes[i..].iter().take_while(|b| **b == b' ').count();
                let blank = matches!(bytes.get(i + have), Some(b'\n' | b'\r') | None);
                if have < need && !blank {
                    out.push((i, need - have));
                }
            }
            _ => i += 1,
        }
    }
    None
}

/// An offset in the re-indented text → the original text (inserted spaces map to the place
/// they were inserted at).
fn remap_offset(b: u32, inserted: &Inserted) -> u32 {
    let mut shift = 0usize;
    for (pos, n) in inserted {
        let at = pos + shift;
        if (b as usize) < at {
            break;
        }
        if (b as usize) < at + n {
            return *pos as u32;
        }
        shift += n;
    }
    (b as usize - shift) as u32
}

fn remap(s: Span, inserted: &Inserted) -> Span {
    Span {
        file: s.file,
        start: remap_offset(s.start, inserted),
        end: remap_offset(s.end, inserted),
    }
}

fn remap_node(n: &mut Node, inserted: &Inserted) {
    n.span = remap(n.span, inserted);
    match &mut n.value {
        NodeValue::Object(entries) => {
            for e in entries {
                e.key_span = remap(e.key_span, inserted);
                remap_node(&mut e.value, inserted);
            }
        }
        NodeValue::Array(items) => {
            for i in items {
                remap_node(i, inserted);
            }
        }
        _ => {}
    }
}

/// The YAML reading proper: `Err((byte offset, message))` when the parser stops.
fn parse_yaml(
    file_id: FileId,
    file: &SourceFile,
    diags: &mut Diagnostics,
) -> Result<Option<Node>, (usize, String)> {
    let to_span = |s: &YSpan| {
        Span::new(
            file_id,
            file.byte_of_char(s.start.index()),
            file.byte_of_char(s.end.index()),
        )
    };
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: Vec<(usize, Node)> = Vec::new();
    let mut root: Option<Node> = None;
    let mut documents = 0usize;
    let mut total_nodes = 0usize;

    for item in Parser::new_from_str(&file.text) {
        let (event, yspan) = match item {
            Ok(x) => x,
            Err(e) => {
                return Err((file.byte_of_char(e.marker().index()), e.info().to_string()));
            }
        };
        let span = to_span(&yspan);
        let node = match event {
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    diags.error(
                        &codes::SYNTAX,
                        span,
                        "a spec file holds one document; this is a second YAML document",
                    );
                    return Ok(None);
                }
                continue;
            }
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => continue,
            Event::Alias(id) => match anchors.iter().rev().find(|(a, _)| *a == id) {
                Some((_, n)) => {
                    total_nodes += n.count();
                    if total_nodes > MAX_NODES {
                        diags.error(
                            &codes::TOO_LARGE,
                            span,
                            format!("aliases expand this document past {MAX_NODES} nodes"),
                        );
                        return Ok(None);
                    }
                    n.clone()
                }
                None => {
                    diags.error(&codes::SYNTAX, span, "alias to an unknown anchor");
                    return Ok(None);
                }
            },
            Event::Scalar(text, style, anchor, tag) => {
                total_nodes += 1;
                let value = scalar_value(&text, style, tag.as_deref().map(|t| t.suffix.as_str()));
                let n = intrinsic_node(cloudformation_tag(tag.as_deref()), Node { span, value });
                if anchor > 0 {
                    anchors.push((anchor, n.clone()));
                }
                n
            }
            Event::SequenceStart(anchor, tag) => {
                if stack.len() >= MAX_DEPTH {
                    diags.error(
                        &codes::TOO_LARGE,
                        span,
                        format!("nesting deeper than {MAX_DEPTH} levels"),
                    );
                    return Ok(None);
                }
                stack.push(Frame::Seq {
                    start: span,
                    anchor,
                    intrinsic: cloudformation_tag(tag.as_deref()),
                    items: Vec::new(),
                });
                continue;
            }
            Event::MappingStart(anchor, tag) => {
                if stack.len() >= MAX_DEPTH {
                    diags.error(
                        &codes::TOO_LARGE,
                        span,
                        format!("nesting deeper than {MAX_DEPTH} levels"),
                    );
                    return Ok(None);
                }
                stack.push(Frame::Map {
                    start: span,
                    anchor,
                    intrinsic: cloudformation_tag(tag.as_deref()),
                    entries: Vec::new(),
                    pending_key: None,
                });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                total_nodes += 1;
                let (n, anchor) = match stack.pop() {
                    Some(Frame::Seq {
                        start,
                        anchor,
                        intrinsic,
                        items,
                    }) => (
                        intrinsic_node(
                            intrinsic,
                            Node {
                                span: Span::new(file_id, start.start as usize, span.end as usize),
                                value: NodeValue::Array(items),
                            },
                        ),
                        anchor,
                    ),
                    Some(Frame::Map {
                        start,
                        anchor,
                        intrinsic,
                        entries,
                        ..
                    }) => (
                        intrinsic_node(
                            intrinsic,
                            Node {
                                span: Span::new(file_id, start.start as usize, span.end as usize),
                                value: NodeValue::Object(entries),
                            },
                        ),
                        anchor,
                    ),
                    None => continue,
                };
                if anchor > 0 {
                    anchors.push((anchor, n.clone()));
                }
                n
            }
        };
        if total_nodes > MAX_NODES {
            diags.error(
                &codes::TOO_LARGE,
                span,
                format!("this document has more than {MAX_NODES} nodes"),
            );
            return Ok(None);
        }
        match stack.last_mut() {
            None => root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map {
                entries,
                pending_key,
                ..
            }) => match pending_key.take() {
                None => {
                    let key = match &node.value {
                        NodeValue::String(s) => s.clone(),
                        NodeValue::Number(_) | NodeValue::Bool(_) | NodeValue::Null => {
                            // YAML `200:` or `true:` — keep the key as written.
                            let r = node.span.start as usize..node.span.end as usize;
                            file.text.get(r).unwrap_or_default().trim().to_string()
                        }
                        _ => {
                            diags.error(
                                &codes::SYNTAX,
                                node.span,
                                "mapping keys must be strings, not sequences or mappings",
                            );
                            return Ok(None);
                        }
                    };
                    *pending_key = Some((key, node.span));
                }
                Some((key, key_span)) => {
                    if let Some(prev) = entries.iter().find(|e| e.key == key) {
                        duplicate_key(diags, &key, key_span, prev.key_span);
                    } else {
                        entries.push(Entry {
                            key,
                            key_span,
                            value: node,
                        });
                    }
                }
            },
        }
    }
    if root.is_none() {
        diags.error(
            &codes::SYNTAX,
            Span::new(file_id, 0, 0),
            "the file is empty: expected an OpenAPI document",
        );
    }
    Ok(root)
}

fn duplicate_key(diags: &mut Diagnostics, key: &str, again: Span, first: Span) {
    diags
        .error(
            &codes::DUPLICATE_KEY,
            again,
            format!("duplicate key `{key}`"),
        )
        .label("written again here")
        .secondary(first, "first written here")
        .help("a key may appear once per mapping; remove one of them");
}

/// Resolves a scalar by the YAML 1.2 core schema (JSON numbers, `true`, `null`, `~`, …).
fn scalar_value(text: &str, style: ScalarStyle, tag: Option<&str>) -> NodeValue {
    if style != ScalarStyle::Plain || tag == Some("str") {
        return NodeValue::String(text.to_string());
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return NodeValue::Null,
        "true" | "True" | "TRUE" => return NodeValue::Bool(true),
        "false" | "False" | "FALSE" => return NodeValue::Bool(false),
        _ => {}
    }
    if let Some(n) = parse_number(text) {
        return NodeValue::Number(n);
    }
    NodeValue::String(text.to_string())
}

fn parse_number(text: &str) -> Option<Number> {
    let b = text.as_bytes();
    let first = *b.first()?;
    if !(first.is_ascii_digit() || first == b'-' || first == b'+' || first == b'.') {
        return None;
    }
    if let Some(hex) = text.strip_prefix("0x") {
        return i64::from_str_radix(hex, 16).ok().map(Number::from);
    }
    if let Some(oct) = text.strip_prefix("0o") {
        return i64::from_str_radix(oct, 8).ok().map(Number::from);
    }
    let digits = text.trim_start_matches(['-', '+']);
    if !digits.is_empty() && digits.bytes().all(|c| c.is_ascii_digit()) {
        if let Ok(i) = text.parse::<i64>() {
            return Some(Number::from(i));
        }
        if let Ok(u) = text.parse::<u64>() {
            return Some(Number::from(u));
        }
    }
    let is_float_syntax = digits
        .bytes()
        .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'-' | b'+'))
        && digits.bytes().any(|c| c.is_ascii_digit());
    if is_float_syntax {
        if let Ok(f) = text.parse::<f64>() {
            return Number::from_f64(f);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceDb;

    fn load(text: &str) -> (Option<Node>, Diagnostics) {
        let mut db = SourceDb::new();
        let id = db.add("t.yaml", text.to_string());
        let mut d = Diagnostics::default();
        let n = parse(id, db.file(id), &mut d);
        (n, d)
    }

    #[test]
    fn yaml_scalars_follow_the_core_schema() {
        let (n, d) = load("a: 1\nb: '1'\nc: true\nd: ~\ne: 1.5\nf: 0x1F\ng: yes\n200: x\n");
        assert!(d.is_empty());
        let n = n.unwrap();
        assert_eq!(
            n.to_json(),
            serde_json::json!({"a":1,"b":"1","c":true,"d":null,"e":1.5,"f":31,"g":"yes","200":"x"})
        );
    }

    #[test]
    fn duplicate_keys_are_reported_with_both_places() {
        let (_, d) = load("a: 1\nb: 2\na: 3\n");
        assert_eq!(d.len(), 1);
        assert_eq!(d.items()[0].code.id, codes::DUPLICATE_KEY.id);
    }

    #[test]
    fn json_spans_point_at_values() {
        let text = "{\"paths\": {\"/a\": {\"get\": 7}}}";
        let (n, _) = load(text);
        let n = n.unwrap();
        let v = n.pointer("/paths/~1a/get").unwrap();
        assert_eq!(&text[v.span.start as usize..v.span.end as usize], "7");
    }

    #[test]
    fn aliases_are_expanded_and_bounded() {
        let (n, d) = load("a: &x {k: 1}\nb: *x\n");
        assert!(d.is_empty());
        assert_eq!(n.unwrap().pointer("/b/k").unwrap().as_i64(), Some(1));
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            bomb.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let (n, d) = load(&bomb);
        assert!(n.is_none());
        assert_eq!(d.items()[0].code.id, codes::TOO_LARGE.id);
    }

    #[test]
    fn syntax_errors_have_a_location() {
        let (n, d) = load("a: [1, 2\nb: 3\n");
        assert!(n.is_none());
        assert_eq!(d.items()[0].code.id, codes::SYNTAX.id);
    }
}
