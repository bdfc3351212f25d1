//! Runtime support for compiled mapping templates: how API Gateway's Velocity renders values,
//! its JSONPath (`$input.path`, `$input.json`), `$util`, the operators and Java methods
//! templates call ([`ops`]) and what a template reads and writes ([`Env`]). The compiler
//! turns each template into a Rust function calling these; nothing here parses a template.
//!
//! Values are `serde_json::Value`s: JSON is what templates read and write, and it holds every
//! Velocity value API Gateway produces (maps keep insertion order).

use std::fmt::Write;

use serde_json::{Map, Value};

mod env;
pub mod mapping;
pub mod ops;

pub use env::{empty_overrides, overrides, Env, Failure, Overrides};
pub use mapping::{Passthrough, Template};
pub use ops::M;

/// How a value renders in template output (API Gateway, reference §2.1, AWS-recorded):
/// null renders as nothing; strings as they are; numbers and booleans as Java prints them;
/// a map as Java's `toString` (`{k=v, k2=v2}`, no quotes) with lists inside rendered as
/// JSON; a list as compact JSON.
pub fn render(v: &Value) -> String {
    let mut out = String::new();
    render_into(v, &mut out);
    out
}

/// [`render`] into `out`.
pub fn render_into(v: &Value, out: &mut String) {
    match v {
        Value::Null => {}
        Value::String(s) => out.push_str(s),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match n.as_f64().filter(|_| n.is_f64()) {
            Some(f) => java_double(f, out),
            None => {
                let _ = write!(out, "{n}");
            }
        },
        Value::Array(_) => out.push_str(&v.to_string()),
        Value::Object(m) => map_to_string(m, out),
    }
}

fn map_to_string(m: &Map<String, Value>, out: &mut String) {
    out.push('{');
    for (i, (k, v)) in m.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(k);
        out.push('=');
        match v {
            Value::Object(inner) => map_to_string(inner, out),
            Value::Null => out.push_str("null"),
            other => render_into(other, out),
        }
    }
    out.push('}');
}

/// How Java's `Double.toString` prints a double: plain decimal with at least one fractional
/// digit for magnitudes in [10^-3, 10^7), else `d.dddE±n`; the digits are the shortest that
/// read back to the same double.
pub fn java_double(f: f64, out: &mut String) {
    if f.is_nan() {
        out.push_str("NaN");
        return;
    }
    if f.is_infinite() {
        out.push_str(if f > 0.0 { "Infinity" } else { "-Infinity" });
        return;
    }
    if f == 0.0 {
        out.push_str(if f.is_sign_negative() { "-0.0" } else { "0.0" });
        return;
    }
    let a = f.abs();
    if (1e-3..1e7).contains(&a) {
        let s = format!("{f}");
        out.push_str(&s);
        if !s.contains('.') {
            out.push_str(".0");
        }
        return;
    }
    // `{:e}` gives the shortest digits as `d.ddde±n`; Java writes `d.dddE±n` with `.0`
    // when there is a single digit.
    let s = format!("{f:e}");
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    out.push_str(mantissa);
    if !mantissa.contains('.') {
        out.push_str(".0");
    }
    out.push('E');
    out.push_str(exp);
}

/// Velocity 1.7 truthiness in `#if`: null and `false` are false; everything else, the empty
/// string included, is true (AWS's own templates test `$x != ""` for that reason).
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        _ => true,
    }
}

/// Why a JSONPath could not be evaluated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathError(pub String);

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Child(String),
    Index(i64),
    Wildcard,
    Descend(Option<String>),
}

/// Parses the JSONPath subset API Gateway templates use: `$`, `.name`, `['name']`,
/// `["name"]`, `[0]`, `[-1]`, `[*]`, `.*`, `..name`.
fn steps(path: &str) -> Result<(Vec<Step>, bool), PathError> {
    let p = path.trim();
    let rest = p
        .strip_prefix('$')
        .ok_or_else(|| PathError(format!("`{path}` does not start with `$`")))?;
    let b = rest.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    let mut definite = true;
    let name_end = |i: usize| {
        b[i..]
            .iter()
            .position(|c| matches!(c, b'.' | b'['))
            .map_or(b.len(), |n| i + n)
    };
    while i < b.len() {
        match b[i] {
            b'.' if b.get(i + 1) == Some(&b'.') => {
                definite = false;
                i += 2;
                if b.get(i) == Some(&b'*') {
                    i += 1;
                    out.push(Step::Descend(None));
                } else {
                    let e = name_end(i);
                    out.push(Step::Descend(Some(rest[i..e].to_string())));
                    i = e;
                }
            }
            b'.' => {
                i += 1;
                if b.get(i) == Some(&b'*') {
                    definite = false;
                    i += 1;
                    out.push(Step::Wildcard);
                } else {
                    let e = name_end(i);
                    if e == i {
                        return Err(PathError(format!("empty name in `{path}`")));
                    }
                    out.push(Step::Child(rest[i..e].to_string()));
                    i = e;
                }
            }
            b'[' => {
                let close = rest[i..]
                    .find(']')
                    .map(|n| i + n)
                    .ok_or_else(|| PathError(format!("`[` without `]` in `{path}`")))?;
                let inner = rest[i + 1..close].trim();
                if inner == "*" {
                    definite = false;
                    out.push(Step::Wildcard);
                } else if let Some(q) = inner
                    .strip_prefix('\'')
                    .and_then(|s| s.strip_suffix('\''))
                    .or_else(|| inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')))
                {
                    out.push(Step::Child(q.to_string()));
                } else {
                    let n = inner.parse::<i64>().map_err(|_| {
                        PathError(format!("unsupported selector `[{inner}]` in `{path}`"))
                    })?;
                    out.push(Step::Index(n));
                }
                i = close + 1;
            }
            _ => {
                return Err(PathError(format!(
                    "unexpected `{}` in `{path}`",
                    b[i] as char
                )))
            }
        }
    }
    Ok((out, definite))
}

fn descend<'v>(v: &'v Value, name: Option<&str>, out: &mut Vec<&'v Value>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if name.is_none_or(|n| n == k) {
                    out.push(x);
                }
                descend(x, name, out);
            }
        }
        Value::Array(a) => {
            for x in a {
                if name.is_none() {
                    out.push(x);
                }
                descend(x, name, out);
            }
        }
        _ => {}
    }
}

/// Evaluates a JSONPath like Jayway JsonPath (which API Gateway uses): a definite path gives
/// its value or null when it leads nowhere; an indefinite one (`*`, `..`) a list of matches.
pub fn path(doc: &Value, path: &str) -> Result<Value, PathError> {
    path_cow(doc, path).map(std::borrow::Cow::into_owned)
}

/// [`path`] without copying: a definite path borrows the value it reaches.
pub fn path_cow<'v>(doc: &'v Value, path: &str) -> Result<std::borrow::Cow<'v, Value>, PathError> {
    use std::borrow::Cow;
    let (steps, definite) = steps(path)?;
    let mut current: Vec<&Value> = vec![doc];
    for s in &steps {
        let mut next = Vec::new();
        for v in current {
            match s {
                Step::Child(name) => {
                    if let Some(x) = v.get(name.as_str()) {
                        next.push(x);
                    }
                }
                Step::Index(n) => {
                    if let Value::Array(a) = v {
                        let idx = if *n < 0 { a.len() as i64 + n } else { *n };
                        if let Some(x) = usize::try_from(idx).ok().and_then(|i| a.get(i)) {
                            next.push(x);
                        }
                    }
                }
                Step::Wildcard => match v {
                    Value::Object(m) => next.extend(m.values()),
                    Value::Array(a) => next.extend(a.iter()),
                    _ => {}
                },
                Step::Descend(name) => descend(v, name.as_deref(), &mut next),
            }
        }
        current = next;
    }
    Ok(if definite {
        Cow::Borrowed(current.first().copied().unwrap_or(&ops::NULL))
    } else {
        Cow::Owned(Value::Array(current.into_iter().cloned().collect()))
    })
}

/// The body as templates see it: JSON when it parses, else the text as a JSON string (a
/// non-JSON payload is a string value, AWS-recorded); an empty body is `{}`.
pub fn input(body: &[u8]) -> Value {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Value::Object(Map::new());
    }
    serde_json::from_slice(body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

/// `$input.json(path)`: the result serialised as JSON text (strings quoted). A path that
/// leads nowhere renders `""`, as LocalStack records (unverified on AWS).
pub fn json(doc: &Value, p: &str) -> Result<String, PathError> {
    Ok(match path(doc, p)? {
        Value::Null => "\"\"".to_string(),
        v => v.to_string(),
    })
}

/// `$util.escapeJavaScript`: backslash escapes as Java's `StringEscapeUtils.escapeJavaScript`
/// (commons-lang 2): `'` → `\'`, `"` → `\"`, `\` → `\\`, `/` → `\/`, control characters as
/// `\b \t \n \f \r` or `\uXXXX`, and every non-ASCII character as `\uXXXX` (UTF-16 units).
/// Unverified on AWS for `/` and non-ASCII; this follows the commons-lang function API
/// Gateway's Java runtime is documented to use.
pub fn escape_javascript(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' => out.push_str("\\/"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    let _ = write!(out, "\\u{:04X}", unit);
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// `$util.urlEncode`: `application/x-www-form-urlencoded` (Java's `URLEncoder`, UTF-8):
/// letters, digits and `.-*_` stay, space becomes `+`, everything else `%XX`.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'*' | b'_' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// `$util.urlDecode`: `+` is a space, `%XX` a byte; invalid escapes stay as written.
pub fn url_decode(s: &str) -> String {
    crate::path::decode_query(s)
}

/// Base64 as API Gateway reads it: the standard alphabet, padding optional, line breaks and
/// blanks ignored (a template's or payload's base64 is often wrapped).
const B64: base64::engine::GeneralPurpose =
    base64::engine::general_purpose::STANDARD_PAD_INDIFFERENT;

/// Base64 of bytes (standard alphabet, padded).
pub fn base64_encode_bytes(b: &[u8]) -> String {
    use base64::Engine as _;
    B64.encode(b)
}

/// The bytes base64 text stands for, or `None` when it is not base64.
pub fn base64_decode_bytes(text: &[u8]) -> Option<Vec<u8>> {
    use base64::Engine as _;
    if text.iter().any(u8::is_ascii_whitespace) {
        let packed: Vec<u8> = text
            .iter()
            .copied()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        return B64.decode(packed).ok();
    }
    B64.decode(text).ok()
}

/// `$util.base64Encode` (of the UTF-8 bytes).
pub fn base64_encode(s: &str) -> String {
    base64_encode_bytes(s.as_bytes())
}

/// `$util.base64Decode`: `None` when the text is not base64 or does not decode to UTF-8
/// text (the template then fails, as API Gateway's does).
pub fn base64_decode(s: &str) -> Option<String> {
    String::from_utf8(base64_decode_bytes(s.as_bytes())?).ok()
}

/// `$util.parseJson`: the value of a JSON text, or `None` when it is not JSON.
pub fn parse_json(s: &str) -> Option<Value> {
    serde_json::from_str(s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stringification_matches_aws_recordings() {
        // Reference §2.1 [aws-rec]: maps as Java's toString, lists as JSON, nesting rules.
        assert_eq!(render(&json!({"foo": "bar", "n": 1})), "{foo=bar, n=1}");
        assert_eq!(render(&json!([{"foo": "bar"}])), r#"[{"foo":"bar"}]"#);
        assert_eq!(
            render(&json!({"foo": [{"nested": "bar"}]})),
            r#"{foo=[{"nested":"bar"}]}"#
        );
        assert_eq!(render(&json!(null)), "");
        assert_eq!(render(&json!(true)), "true");
        assert_eq!(render(&json!("a=b")), "a=b");
    }

    #[test]
    fn jsonpath_subset() {
        let doc =
            json!({"a": {"b": [10, 20, {"c": "x"}]}, "k y": 1, "list": [{"id": 1}, {"id": 2}]});
        assert_eq!(path(&doc, "$").unwrap(), doc);
        assert_eq!(path(&doc, "$.a.b[1]").unwrap(), json!(20));
        assert_eq!(path(&doc, "$.a.b[-1].c").unwrap(), json!("x"));
        assert_eq!(path(&doc, "$['k y']").unwrap(), json!(1));
        assert_eq!(path(&doc, "$.missing.x").unwrap(), Value::Null);
        assert_eq!(path(&doc, "$.list[*].id").unwrap(), json!([1, 2]));
        assert_eq!(path(&doc, "$..id").unwrap(), json!([1, 2]));
        assert_eq!(path(&doc, "$.list.*.id").unwrap(), json!([1, 2]));
        assert!(path(&doc, "a.b").is_err());
        assert!(path(&doc, "$[?(@.id)]").is_err());
        assert_eq!(json(&doc, "$.a.b[2]").unwrap(), r#"{"c":"x"}"#);
        assert_eq!(json(&doc, "$.nothing").unwrap(), r#""""#);
        // Empty body is `{}`; a non-JSON payload is a string (AWS-recorded).
        assert_eq!(json(&input(b""), "$").unwrap(), "{}");
        assert_eq!(input(b"a=b"), json!("a=b"));
    }

    #[test]
    fn util_functions() {
        assert_eq!(
            escape_javascript("it's \"x\"\n\\/é"),
            "it\\'s \\\"x\\\"\\n\\\\\\/\\u00E9"
        );
        // AWS-recorded urlEncode examples: space → +, { → %7B, " → %22, : → %3A.
        assert_eq!(url_encode("{\"a\": 1 b}"), "%7B%22a%22%3A+1+b%7D");
        assert_eq!(url_decode("%7B%22a%22%3A+1"), "{\"a\": 1");
        assert_eq!(base64_encode("hello"), "aGVsbG8=");
        assert_eq!(base64_encode(""), "");
        assert_eq!(base64_encode("ab"), "YWI=");
        assert_eq!(base64_decode("aGVsbG8=").as_deref(), Some("hello"));
        assert_eq!(base64_decode("YWI").as_deref(), Some("ab"));
        assert_eq!(base64_decode("!!"), None);
        assert_eq!(parse_json(r#"{"k": [1]}"#), Some(json!({"k": [1]})));
        assert!(truthy(&json!("x")) && truthy(&json!("")) && !truthy(&Value::Null));
        assert!(!truthy(&json!(false)) && truthy(&json!(0)));
    }

    #[test]
    fn doubles_print_as_java_does() {
        let j = |f: f64| {
            let mut s = String::new();
            java_double(f, &mut s);
            s
        };
        assert_eq!(j(1.0), "1.0");
        assert_eq!(j(1.5), "1.5");
        assert_eq!(j(-0.25), "-0.25");
        assert_eq!(j(1e7), "1.0E7");
        assert_eq!(j(1.25e-5), "1.25E-5");
        assert_eq!(j(0.001), "0.001");
        assert_eq!(j(123456.789), "123456.789");
        assert_eq!(render(&json!(2.0)), "2.0");
        assert_eq!(render(&json!(7)), "7");
    }
}
