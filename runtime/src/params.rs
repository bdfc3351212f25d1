//! Typed parameters (`x-specgate-validation: {parameters: typed}`, beyond API Gateway):
//! OpenAPI 3.0 `style`/`explode` decoding of path, query, header and cookie parameters into
//! JSON values, which the generated schema validators then check. The generated code passes
//! each parameter's style, explode and shape (from its schema); nothing here reads a spec.
//!
//! Serialisations (OpenAPI 3.0.3, "Style Examples"), for `id` = 5 / [3,4,5] /
//! {"role": "admin", "firstName": "Alex"}:
//!
//! | style | explode | primitive | array | object |
//! | --- | --- | --- | --- | --- |
//! | simple (path, header) | false | `5` | `3,4,5` | `role,admin,firstName,Alex` |
//! | simple | true | `5` | `3,4,5` | `role=admin,firstName=Alex` |
//! | label (path) | false | `.5` | `.3,4,5` | `.role,admin,firstName,Alex` |
//! | label | true | `.5` | `.3.4.5` | `.role=admin.firstName=Alex` |
//! | matrix (path) | false | `;id=5` | `;id=3,4,5` | `;id=role,admin,firstName,Alex` |
//! | matrix | true | `;id=5` | `;id=3;id=4;id=5` | `;role=admin;firstName=Alex` |
//! | form (query, cookie) | false | `id=5` | `id=3,4,5` | `id=role,admin,firstName,Alex` |
//! | form | true | `id=5` | `id=3&id=4&id=5` | `role=admin&firstName=Alex` |
//! | spaceDelimited (query) | false | | `id=3%204%205` | |
//! | pipeDelimited (query) | false | | `id=3\|4\|5` | |
//! | deepObject (query) | true | | | `id[role]=admin&id[firstName]=Alex` |

use serde_json::{Map, Number, Value};

use crate::context::Context;
use crate::schema::{Path, Report};

/// The JSON type a string is read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Kept as a string.
    String,
    /// An integer when it parses as one (else kept as a string, which the schema rejects).
    Integer,
    /// A number when it parses as one.
    Number,
    /// `true` / `false`.
    Boolean,
    /// No type in the schema: a string.
    Any,
}

/// What the schema says the parameter is.
#[derive(Debug, Clone, Copy)]
pub enum Shape {
    /// A single value.
    Primitive(Kind),
    /// A list of values.
    Array(Kind),
    /// An object with these properties: (name, type, whether the property is a list —
    /// then `Kind` is its items' type). Others are read as strings.
    Object(&'static [(&'static str, Kind, bool)]),
}

/// OpenAPI `style`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// `simple`
    Simple,
    /// `label`
    Label,
    /// `matrix`
    Matrix,
    /// `form`
    Form,
    /// `spaceDelimited`
    SpaceDelimited,
    /// `pipeDelimited`
    PipeDelimited,
    /// `deepObject`
    DeepObject,
}

/// A parameter's declaration, as generated code passes it.
#[derive(Debug, Clone, Copy)]
pub struct Param {
    /// Its name.
    pub name: &'static str,
    /// `style`.
    pub style: Style,
    /// `explode`.
    pub explode: bool,
    /// From its schema.
    pub shape: Shape,
}

/// Reads `s` as `kind`.
pub fn coerce(s: &str, kind: Kind) -> Value {
    match kind {
        Kind::Integer => integer(s).unwrap_or_else(|| Value::String(s.into())),
        Kind::Number => {
            if let Some(i) = integer(s) {
                return i;
            }
            s.parse::<f64>()
                .ok()
                .and_then(Number::from_f64)
                .map(Value::Number)
                .unwrap_or_else(|| Value::String(s.into()))
        }
        Kind::Boolean => match s {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            _ => Value::String(s.into()),
        },
        Kind::String | Kind::Any => Value::String(s.into()),
    }
}

/// An integer written in decimal digits, of any size: beyond 64 bits it is kept as the
/// nearest `f64`, which [`crate::schema::is_integer`] still takes for an integer.
fn integer(s: &str) -> Option<Value> {
    if let Ok(i) = s.parse::<i64>() {
        return Some(Value::from(i));
    }
    if let Ok(u) = s.parse::<u64>() {
        return Some(Value::from(u));
    }
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<f64>()
        .ok()
        .and_then(Number::from_f64)
        .map(Value::Number)
}

/// The items of an exploded list parameter: one empty value (`arr=`) is the empty list, as
/// it is for the non-exploded form.
fn exploded<'a>(values: impl Iterator<Item = &'a String>, kind: Kind) -> Option<Value> {
    let values: Vec<&String> = values.collect();
    match values.as_slice() {
        [] => None,
        [only] if only.is_empty() => Some(Value::Array(Vec::new())),
        _ => Some(Value::Array(
            values.iter().map(|v| coerce(v, kind)).collect(),
        )),
    }
}

fn kind_of(props: &[(&str, Kind, bool)], name: &str) -> Kind {
    props
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, k, _)| *k)
        .unwrap_or(Kind::String)
}

fn is_list(props: &[(&str, Kind, bool)], name: &str) -> bool {
    props.iter().any(|(n, _, list)| *n == name && *list)
}

/// A list value: items split by `sep`.
fn array(s: &str, sep: char, kind: Kind) -> Value {
    if s.is_empty() {
        return Value::Array(Vec::new());
    }
    Value::Array(s.split(sep).map(|x| coerce(x, kind)).collect())
}

/// `k1,v1,k2,v2` (explode false) or `k1=v1<sep>k2=v2` (explode true).
fn object(s: &str, sep: char, exploded: bool, props: &[(&str, Kind, bool)]) -> Value {
    let mut m = Map::new();
    if s.is_empty() {
        return Value::Object(m);
    }
    if exploded {
        for pair in s.split(sep) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            m.insert(k.to_string(), coerce(v, kind_of(props, k)));
        }
    } else {
        let parts: Vec<&str> = s.split(sep).collect();
        for kv in parts.chunks(2) {
            let v = kv.get(1).copied().unwrap_or("");
            m.insert(kv[0].to_string(), coerce(v, kind_of(props, kv[0])));
        }
    }
    Value::Object(m)
}

/// A value written in `simple` style (path segments after their prefix, headers).
fn simple(s: &str, explode: bool, shape: Shape) -> Value {
    match shape {
        Shape::Primitive(k) => coerce(s, k),
        Shape::Array(k) => array(s, ',', k),
        Shape::Object(props) => object(s, ',', explode, props),
    }
}

/// A path parameter, from its decoded segment.
pub fn path(cx: &Context, p: &Param) -> Option<Value> {
    let raw = cx.path_param(p.name)?;
    Some(match p.style {
        Style::Label => {
            let s = raw.strip_prefix('.').unwrap_or(raw);
            match (p.shape, p.explode) {
                (Shape::Array(k), true) => array(s, '.', k),
                (Shape::Object(props), true) => object(s, '.', true, props),
                _ => simple(s, false, p.shape),
            }
        }
        Style::Matrix => {
            let s = raw.strip_prefix(';').unwrap_or(raw);
            let prefix = format!("{}=", p.name);
            match (p.shape, p.explode) {
                (Shape::Array(k), true) => Value::Array(
                    s.split(';')
                        .map(|x| coerce(x.strip_prefix(&prefix).unwrap_or(x), k))
                        .collect(),
                ),
                (Shape::Object(props), true) => object(s, ';', true, props),
                _ => simple(s.strip_prefix(&prefix).unwrap_or(s), false, p.shape),
            }
        }
        _ => simple(raw, p.explode, p.shape),
    })
}

/// A header parameter (`simple`); repeated headers are joined with `,` as HTTP allows.
pub fn header(cx: &Context, p: &Param) -> Option<Value> {
    let values: Vec<&str> = cx.headers.texts(p.name).collect();
    if values.is_empty() {
        return None;
    }
    Some(simple(&values.join(","), p.explode, p.shape))
}

/// The decoded query-string pairs, read once per request for all query parameters.
pub fn query_pairs(cx: &Context) -> Vec<(String, String)> {
    let Some(q) = cx.query.as_deref() else {
        return Vec::new();
    };
    q.split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (crate::path::decode_query(k), crate::path::decode_query(v))
        })
        .collect()
}

/// A query parameter, from the request's [`query_pairs`].
pub fn query(pairs: &[(String, String)], p: &Param) -> Option<Value> {
    let named = || pairs.iter().filter(|(k, _)| k == p.name).map(|(_, v)| v);
    match (p.style, p.shape) {
        (Style::DeepObject, Shape::Object(props)) => {
            let prefix = format!("{}[", p.name);
            let mut m = Map::new();
            for (k, v) in pairs {
                if let Some(prop) = k.strip_prefix(&prefix).and_then(|r| r.strip_suffix(']')) {
                    m.insert(prop.to_string(), coerce(v, kind_of(props, prop)));
                }
            }
            (!m.is_empty()).then_some(Value::Object(m))
        }
        (Style::Form, Shape::Object(props)) if p.explode => {
            // The object's properties are parameters of their own.
            let mut m = Map::new();
            for (k, v) in pairs {
                if let Some((name, kind, _)) = props.iter().find(|(n, _, _)| n == k) {
                    m.insert(name.to_string(), coerce(v, *kind));
                }
            }
            (!m.is_empty()).then_some(Value::Object(m))
        }
        (Style::Form, Shape::Array(k)) if p.explode => exploded(named(), k),
        (style, shape) => {
            // The last value when repeated, as API Gateway maps single values.
            let v = named().next_back()?;
            Some(match (style, shape) {
                (Style::SpaceDelimited, Shape::Array(k)) => array(v, ' ', k),
                (Style::PipeDelimited, Shape::Array(k)) => array(v, '|', k),
                _ => simple(v, false, shape),
            })
        }
    }
}

/// An `application/x-www-form-urlencoded` body as an object: each field coerced to its
/// property's type; a repeated field becomes a list.
pub fn form(body: &str, shape: Shape) -> Value {
    let props: &[(&str, Kind, bool)] = match shape {
        Shape::Object(props) => props,
        _ => &[],
    };
    let mut m = Map::new();
    for kv in body.split('&').filter(|kv| !kv.is_empty()) {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        let (k, v) = (crate::path::decode_query(k), crate::path::decode_query(v));
        let item = coerce(&v, kind_of(props, &k));
        if is_list(props, &k) && !m.contains_key(&k) {
            m.insert(k, Value::Array(vec![item]));
            continue;
        }
        match m.get_mut(&k) {
            Some(Value::Array(list)) => list.push(item),
            Some(prev) => {
                let first = prev.take();
                *prev = Value::Array(vec![first, item]);
            }
            None => {
                m.insert(k, item);
            }
        }
    }
    Value::Object(m)
}

/// A cookie parameter (`form`).
pub fn cookie(cx: &Context, p: &Param) -> Option<Value> {
    let mut values = Vec::new();
    for h in cx.headers.texts("cookie") {
        for c in h.split(';') {
            let (k, v) = c.trim().split_once('=').unwrap_or((c.trim(), ""));
            if k == p.name {
                values.push(v.to_string());
            }
        }
    }
    match p.shape {
        Shape::Array(k) if p.explode => exploded(values.iter(), k),
        shape => Some(simple(values.last()?, false, shape)),
    }
}

/// Validates one decoded parameter and records its failures as `<key>: <message>`.
pub fn check(
    errors: &mut Vec<String>,
    key: &str,
    value: &Value,
    model: fn(&crate::json::Value<'_>, &Path<'_>, &mut Report),
) {
    let mut r = Report::new();
    model(&crate::json::Value::from(value), &Path::Root, &mut r);
    for (_, m) in r.messages() {
        errors.push(format!("{key}: {m}"));
    }
}

/// The gateway response message for failed typed parameters; also recorded as
/// `$context.error.validationErrorString`.
pub fn message(cx: &mut Context, errors: &[String]) -> String {
    let list = format!("[{}]", errors.join(", "));
    cx.validation_error = Some(list.clone());
    format!("Invalid request parameters: {list}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PROPS: &[(&str, Kind, bool)] = &[
        ("role", Kind::String, false),
        ("age", Kind::Integer, false),
        ("tags", Kind::String, true),
    ];

    #[test]
    fn simple_values() {
        assert_eq!(
            simple("5", false, Shape::Primitive(Kind::Integer)),
            json!(5)
        );
        assert_eq!(
            simple("x", false, Shape::Primitive(Kind::Integer)),
            json!("x")
        );
        assert_eq!(
            simple("3,4,5", false, Shape::Array(Kind::Integer)),
            json!([3, 4, 5])
        );
        assert_eq!(
            simple("role,admin,age,7", false, Shape::Object(PROPS)),
            json!({"role": "admin", "age": 7})
        );
        assert_eq!(
            simple("role=admin,age=7", true, Shape::Object(PROPS)),
            json!({"role": "admin", "age": 7})
        );
        assert_eq!(coerce("1.5", Kind::Number), json!(1.5));
        assert_eq!(
            coerce("18446744073709551615", Kind::Integer),
            json!(u64::MAX)
        );
        let big = coerce("123456789012345678901234567890", Kind::Integer);
        assert!(matches!(&big, Value::Number(n) if crate::schema::is_integer(n)));
        assert_eq!(coerce("12e3", Kind::Integer), json!("12e3"));
        assert_eq!(coerce("-", Kind::Integer), json!("-"));
        let one_empty = [String::new()];
        assert_eq!(exploded(one_empty.iter(), Kind::Integer), Some(json!([])));
        assert_eq!(exploded([].iter(), Kind::Integer), None);
        assert_eq!(
            form(
                "role=a+b&age=3&tags=x&other=1&other=2",
                Shape::Object(PROPS)
            ),
            json!({"role": "a b", "age": 3, "tags": ["x"], "other": ["1", "2"]})
        );
        assert_eq!(coerce("true", Kind::Boolean), json!(true));
    }
}
