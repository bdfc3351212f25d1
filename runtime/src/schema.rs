//! Helpers for the JSON Schema validators the compiler generates (one plain function per
//! schema). Nothing here reads a schema: the generated code passes the constants it was
//! compiled with. Error messages follow the fge json-schema-validator, which API Gateway
//! uses for models (draft-04); API Gateway publishes them as
//! `$context.error.validationErrorString`, e.g.
//! `[object has missing required properties (["email"])]`.

use std::fmt::Write;

use crate::json::{Map, Value};
use serde_json::Number;

/// Collects validation failures. A *quiet* report (used inside `anyOf`, `oneOf` and `not`)
/// only records that something failed, so the validator can stop at the first failure and
/// no message is ever formatted.
#[derive(Debug, Default)]
pub struct Report {
    /// (JSON pointer of the failing value, message).
    messages: Vec<(String, String)>,
    failures: usize,
    quiet: bool,
}

/// Where a value is in the instance, as a chain on the stack (nothing is allocated unless
/// a check fails).
#[derive(Debug, Clone, Copy)]
pub enum Path<'a> {
    /// The whole body.
    Root,
    /// A member of an object.
    Key(&'a Path<'a>, &'a str),
    /// An item of an array.
    Index(&'a Path<'a>, usize),
}

impl Path<'_> {
    /// The JSON pointer (`/items/0/name`; empty for the root).
    pub fn pointer(&self) -> String {
        match self {
            Path::Root => String::new(),
            Path::Key(parent, k) => {
                format!(
                    "{}/{}",
                    parent.pointer(),
                    k.replace('~', "~0").replace('/', "~1")
                )
            }
            Path::Index(parent, i) => format!("{}/{i}", parent.pointer()),
        }
    }
}

/// Validates `v` with `f` without keeping messages: does it pass?
pub fn passes(v: &Value, p: &Path<'_>, f: fn(&Value, &Path<'_>, &mut Report)) -> bool {
    let mut q = Report::quiet();
    f(v, p, &mut q);
    q.ok()
}

impl Report {
    /// A report that keeps every message.
    pub fn new() -> Report {
        Report::default()
    }

    /// A report that only counts failures.
    pub fn quiet() -> Report {
        Report {
            quiet: true,
            ..Report::default()
        }
    }

    /// Records a failure; `message` is only called when messages are kept.
    #[cold]
    pub fn fail(&mut self, at: &Path<'_>, message: impl FnOnce() -> String) {
        self.failures += 1;
        if !self.quiet {
            self.messages.push((at.pointer(), message()));
        }
    }

    /// How many failures so far (compare before and after a keyword group).
    #[inline]
    pub fn failures(&self) -> usize {
        self.failures
    }

    /// A quiet report that has failed: the caller may stop validating.
    #[inline]
    pub fn done(&self) -> bool {
        self.quiet && self.failures > 0
    }

    /// No failure recorded.
    #[inline]
    pub fn ok(&self) -> bool {
        self.failures == 0
    }

    /// The failures: (JSON pointer of the value, message).
    pub fn messages(&self) -> &[(String, String)] {
        &self.messages
    }

    /// `[message, message]`, as API Gateway's `$context.error.validationErrorString`.
    pub fn error_string(&self) -> String {
        let list: Vec<&str> = self.messages.iter().map(|(_, m)| m.as_str()).collect();
        format!("[{}]", list.join(", "))
    }

    /// `/pointer: message; …` for logs (which value failed, not only why).
    pub fn detail(&self) -> String {
        let list: Vec<String> = self
            .messages
            .iter()
            .map(|(p, m)| format!("{}: {m}", if p.is_empty() { "/" } else { p }))
            .collect();
        list.join("; ")
    }
}

/// fge's name for a value's type: `integer` for numbers written without a fraction or
/// exponent (serde_json keeps those as integers; `1.0` is a `number`, as in Jackson).
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if !is_integer(n) => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// An integer in the draft-04 sense: written without a fraction or exponent. serde_json
/// keeps integers beyond 64 bits as `f64`; those (integral, outside `i64`/`u64`) are taken
/// for integers too, as Jackson's BigInteger nodes are. (serde_json forgets how a number was
/// written, so `1e30` is then an integer as well: a deviation from fge only for integral
/// values beyond 2^63 written with an exponent.)
#[inline]
pub fn is_integer(n: &Number) -> bool {
    match n.as_f64() {
        _ if !n.is_f64() => true,
        Some(f) => f.is_finite() && f.fract() == 0.0 && f.abs() >= 9_223_372_036_854_775_808.0,
        None => false,
    }
}

/// The value of a number as `f64`.
#[inline]
pub fn num(n: &Number) -> f64 {
    n.as_f64().unwrap_or(f64::NAN)
}

/// `type` failed: `instance type (string) does not match any allowed primitive type (allowed: ["integer"])`.
#[cold]
pub fn type_message(v: &Value, allowed: &str) -> String {
    format!(
        "instance type ({}) does not match any allowed primitive type (allowed: {allowed})",
        type_name(v)
    )
}

/// Mathematical equality of JSON values (`1 == 1.0`; `false != 0`).
pub fn equal<'a>(a: &'a Value<'a>, b: &'a Value<'a>) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => numbers_equal(x, y),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| equal(a, b))
        }
        (Value::Object(x), Value::Object(y)) if x.len() != y.len() => false,
        // Members are looked up by a scan: large objects are compared sorted by name
        // instead (names are unique within an object), never quadratically.
        (Value::Object(x), Value::Object(y)) if x.len() > 16 => {
            let sorted = |m: &'a Map<'a>| {
                let mut v: Vec<(&'a str, &'a Value<'a>)> =
                    m.iter().map(|(k, v)| (k.as_str(), v)).collect();
                v.sort_unstable_by_key(|(k, _)| *k);
                v
            };
            sorted(x)
                .iter()
                .zip(sorted(y).iter())
                .all(|((k, a), (l, b))| k == l && equal(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.iter().all(|(k, a)| y.get(k).is_some_and(|b| equal(a, b)))
        }
        _ => a == b,
    }
}

fn numbers_equal(x: &Number, y: &Number) -> bool {
    match (x.as_i64(), y.as_i64()) {
        (Some(a), Some(b)) => a == b,
        _ => match (x.as_u64(), y.as_u64()) {
            (Some(a), Some(b)) => a == b,
            _ => num(x) == num(y),
        },
    }
}

/// `uniqueItems` for an acceptor ([`crate::json::Scan`]): the texts of an array's strings
/// (each without escapes, so equal texts are equal strings), the first eight kept on the
/// stack.
#[derive(Default)]
pub struct Distinct<'a> {
    first: [&'a str; 8],
    n: usize,
    rest: Vec<&'a str>,
}

impl<'a> Distinct<'a> {
    /// One more item's text.
    #[inline]
    pub fn push(&mut self, text: &'a str) {
        match self.first.get_mut(self.n) {
            Some(slot) => *slot = text,
            None => self.rest.push(text),
        }
        self.n += 1;
    }

    /// Whether no two texts are equal. (By reference: the value is 150 bytes, and taking
    /// it by value copied it per array.)
    pub fn all_different(&mut self) -> bool {
        if self.rest.is_empty() {
            let texts = &self.first[..self.n];
            return match texts {
                [] | [_] => true,
                [a, b] => a != b,
                _ => texts
                    .iter()
                    .enumerate()
                    .all(|(i, a)| !texts[i + 1..].contains(a)),
            };
        }
        self.rest.extend_from_slice(&self.first);
        self.rest.sort_unstable();
        self.rest.windows(2).all(|w| w[0] != w[1])
    }
}

/// `uniqueItems`: no two items are equal.
pub fn unique(items: &[Value]) -> bool {
    // Quadratic, but on scalars and short arrays this beats hashing; large arrays of
    // strings take the hashed path.
    if items.len() > 32 && items.iter().all(Value::is_string) {
        let mut seen = std::collections::HashSet::with_capacity(items.len());
        return items.iter().all(|v| seen.insert(v.as_str()));
    }
    for (i, a) in items.iter().enumerate() {
        if items[i + 1..].iter().any(|b| equal(a, b)) {
            return false;
        }
    }
    true
}

/// `multipleOf`: exact for integers, within floating-point rounding otherwise (so that
/// `0.0075` is a multiple of `0.0001`).
pub fn multiple_of(n: &Number, divisor: f64) -> bool {
    if let (Some(i), true) = (n.as_i64(), divisor.fract() == 0.0 && divisor.abs() < 9.0e15) {
        return i % (divisor as i64) == 0;
    }
    let q = num(n) / divisor;
    if !q.is_finite() {
        return false;
    }
    (q - q.round()).abs() <= q.abs().max(1.0) * 1e-9
}

/// String length in Unicode code points, as JSON Schema counts it.
#[inline]
pub fn length(s: &str) -> usize {
    if s.is_ascii() {
        s.len()
    } else {
        s.chars().count()
    }
}

/// A number for a message: as written when an integer, else Java's `BigDecimal` look.
pub fn number_text(n: &Number) -> String {
    n.to_string()
}

/// `["a","b"]` as fge prints a set of names.
pub fn names(names: &[&str]) -> String {
    let mut out = String::from("[");
    for (i, n) in names.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&serde_json::Value::String((*n).to_string()).to_string());
    }
    out.push(']');
    out
}

/// `required` failed: the message naming the members missing from `o`.
#[cold]
pub fn missing(o: &Map<'_>, required: &[&str]) -> String {
    let mut absent: Vec<&str> = required
        .iter()
        .copied()
        .filter(|k| !o.contains_key(k))
        .collect();
    absent.sort_unstable();
    absent.dedup();
    format!(
        "object has missing required properties ({})",
        names(&absent)
    )
}

/// `additionalProperties: false`: the message for the properties not allowed.
#[cold]
pub fn not_allowed(extra: &mut Vec<&str>) -> String {
    extra.sort_unstable();
    format!(
        "object instance has properties which are not allowed by the schema: {}",
        names(extra)
    )
}

/// `enum` failed.
#[cold]
pub fn enum_message(v: &Value, allowed: &str) -> String {
    format!("instance value ({v}) not found in enum (possible values: {allowed})")
}

/// `pattern` failed.
#[cold]
pub fn pattern_message(pattern: &str, s: &str) -> String {
    format!("ECMA 262 regex \"{pattern}\" does not match input string \"{s}\"")
}

/// `format` failed.
#[cold]
pub fn format_message(format: &str, s: &str) -> String {
    match format {
        "date-time" | "date" => {
            let expected = if format == "date" {
                "[yyyy-MM-dd]"
            } else {
                "[yyyy-MM-dd'T'HH:mm:ssZ, yyyy-MM-dd'T'HH:mm:ss.[0-9]{1,12}Z]"
            };
            format!("string \"{s}\" is invalid against requested date format(s) {expected}")
        }
        "email" => format!("string \"{s}\" is not a valid email address"),
        "hostname" => format!("string \"{s}\" is not a valid hostname"),
        "ipv4" => format!("string \"{s}\" is not a valid IPv4 address"),
        "ipv6" => format!("string \"{s}\" is not a valid IPv6 address"),
        "uri" => format!("string \"{s}\" is not a valid URI"),
        "uuid" => format!("input string \"{s}\" is not a valid UUID"),
        "byte" => "input is not a valid Base64 string: illegal characters".to_string(),
        _ => format!("string \"{s}\" is invalid against format \"{format}\""),
    }
}

/// The draft-04 `dependencies` message for a property dependency.
#[cold]
pub fn dependency_message(o: &Map<'_>, property: &str, requires: &[&str]) -> String {
    let mut absent: Vec<&str> = requires
        .iter()
        .copied()
        .filter(|k| !o.contains_key(k))
        .collect();
    absent.sort_unstable();
    let mut all = requires.to_vec();
    all.sort_unstable();
    format!(
        "property \"{property}\" of object has missing property dependencies (schema requires {}; missing: {})",
        names(&all),
        names(&absent)
    )
}

/// A compact rendering of a number limit, as fge prints it.
pub fn limit(x: f64) -> String {
    let mut s = String::new();
    if x.fract() == 0.0 && x.abs() < 1e15 {
        let _ = write!(s, "{}", x as i64);
    } else {
        let _ = write!(s, "{x}");
    }
    s
}

/// Format checks for the common formats. Each returns `true` when `s` conforms.
pub mod format {
    use std::net::{Ipv4Addr, Ipv6Addr};

    /// RFC 3339 `full-date`.
    pub fn date(s: &str) -> bool {
        date_bytes(s.as_bytes())
    }

    /// [`date`] on bytes: callers look at prefixes of strings, and a byte prefix of a
    /// `str` need not end on a character boundary (slicing the `str` there panics).
    fn date_bytes(b: &[u8]) -> bool {
        b.len() == 10
            && b[4] == b'-'
            && b[7] == b'-'
            && digits(&b[0..4])
            && digits(&b[5..7])
            && digits(&b[8..10])
            && valid_day(num(&b[0..4]), num(&b[5..7]), num(&b[8..10]))
    }

    /// RFC 3339 `date-time` (`T` or `t`, `Z` or an offset, optional fraction).
    pub fn date_time(s: &str) -> bool {
        let b = s.as_bytes();
        if b.len() < 20 || !date_bytes(&b[..10]) || !matches!(b[10], b'T' | b't' | b' ') {
            return false;
        }
        let t = &b[11..];
        if t.len() < 9 || t[2] != b':' || t[5] != b':' {
            return false;
        }
        if !(digits(&t[0..2]) && digits(&t[3..5]) && digits(&t[6..8])) {
            return false;
        }
        if num(&t[0..2]) > 23 || num(&t[3..5]) > 59 || num(&t[6..8]) > 60 {
            return false;
        }
        let mut rest = &t[8..];
        if rest.first() == Some(&b'.') {
            let n = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
            if n == 0 {
                return false;
            }
            rest = &rest[1 + n..];
        }
        match rest {
            [b'Z' | b'z'] => true,
            [b'+' | b'-', h1, h2, b':', m1, m2] => {
                digits(&[*h1, *h2, *m1, *m2]) && num(&[*h1, *h2]) <= 23 && num(&[*m1, *m2]) <= 59
            }
            _ => false,
        }
    }

    fn digits(b: &[u8]) -> bool {
        b.iter().all(u8::is_ascii_digit)
    }

    fn num(b: &[u8]) -> u32 {
        b.iter().fold(0, |n, c| n * 10 + u32::from(c - b'0'))
    }

    fn valid_day(y: u32, m: u32, d: u32) -> bool {
        let leap = (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400);
        let days = match m {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return false,
        };
        (1..=days).contains(&d)
    }

    /// A pragmatic address check: one `@`, a non-empty local part, a domain with no blanks.
    pub fn email(s: &str) -> bool {
        match s.rsplit_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.is_empty()
                    && !s.chars().any(char::is_whitespace)
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !local.contains('@')
            }
            None => false,
        }
    }

    /// RFC 1123 host name.
    pub fn hostname(s: &str) -> bool {
        !s.is_empty()
            && s.len() <= 253
            && s.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
            })
    }

    /// Dotted-quad IPv4.
    pub fn ipv4(s: &str) -> bool {
        s.parse::<Ipv4Addr>().is_ok()
    }

    /// IPv6.
    pub fn ipv6(s: &str) -> bool {
        s.parse::<Ipv6Addr>().is_ok()
    }

    /// An absolute URI: a scheme, `:`, and no characters URIs cannot hold (blanks, controls,
    /// `<>"\\^`{|}`). Non-ASCII characters are let through, as IRIs allow them.
    pub fn uri(s: &str) -> bool {
        let b = s.as_bytes();
        // The scheme: a letter, then letters, digits, `+`, `-`, `.`, up to the `:`.
        let scheme = b
            .iter()
            .position(|c| !(c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.')))
            .unwrap_or(b.len());
        if scheme == 0 || !b[0].is_ascii_alphabetic() || b.get(scheme) != Some(&b':') {
            return false;
        }
        let rest = &b[scheme + 1..];
        // Branch-free so that it vectorises: URIs are checked by the dozen in API payloads.
        let mut bad = false;
        for &c in rest {
            bad |= (c <= b' ')
                | (c == 0x7f)
                | (c == b'<')
                | (c == b'>')
                | (c == b'"')
                | (c == b'\\')
                | (c == b'^')
                | (c == b'`')
                | (c == b'{')
                | (c == b'|')
                | (c == b'}');
        }
        !rest.is_empty() && !bad
    }

    /// `8-4-4-4-12` hexadecimal.
    pub fn uuid(s: &str) -> bool {
        let b = s.as_bytes();
        b.len() == 36
            && b.iter().enumerate().all(|(i, c)| match i {
                8 | 13 | 18 | 23 => *c == b'-',
                _ => c.is_ascii_hexdigit(),
            })
    }

    /// An integer within `lo..=hi` (OpenAPI `int32`/`int64`); non-integers are left to `type`.
    pub fn integer_in(n: &serde_json::Number, lo: i64, hi: i64) -> bool {
        match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => (lo..=hi).contains(&i),
            (None, Some(_)) => false,
            _ => {
                let f = n.as_f64().unwrap_or(0.0);
                f.fract() != 0.0 || (f >= lo as f64 && f <= hi as f64)
            }
        }
    }

    /// Standard base64 with padding (OpenAPI `byte`).
    pub fn byte(s: &str) -> bool {
        let b = s.as_bytes();
        if !b.len().is_multiple_of(4) {
            return false;
        }
        let pad = b.iter().rev().take_while(|c| **c == b'=').count();
        pad <= 2
            && b[..b.len() - pad]
                .iter()
                .all(|c| c.is_ascii_alphanumeric() || *c == b'+' || *c == b'/')
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A tree of this module's type from `json!` (leaked: tests only).
    fn j(v: serde_json::Value) -> Value<'static> {
        Value::from(&*Box::leak(Box::new(v)))
    }

    #[test]
    fn distinct_texts_are_told_apart_on_the_stack_and_past_it() {
        for n in [0usize, 1, 2, 8, 9, 40] {
            let texts: Vec<String> = (0..n).map(|i| format!("\"t{i}\"")).collect();
            let all = |extra: Option<&str>| {
                let mut d = Distinct::default();
                for t in &texts {
                    d.push(t);
                }
                if let Some(e) = extra {
                    d.push(e);
                }
                d.all_different()
            };
            assert!(all(None), "{n}");
            assert!(all(Some("\"new\"")), "{n}");
            // A repeat of the first, the last and a middle text, wherever it lands.
            for t in [texts.first(), texts.last(), texts.get(n / 2)]
                .into_iter()
                .flatten()
            {
                assert!(!all(Some(t)), "{n} {t}");
            }
        }
    }

    #[test]
    fn integers_beyond_64_bits() {
        let v = Value::parse(b"123456789012345678901234567890").unwrap();
        assert_eq!(type_name(&v), "integer");
        let v = Value::parse(b"-18446744073709551617").unwrap();
        assert_eq!(type_name(&v), "integer");
        let v = Value::parse(b"1.5").unwrap();
        assert_eq!(type_name(&v), "number");
        let v = Value::parse(b"1.0").unwrap();
        assert_eq!(type_name(&v), "number");
    }

    #[test]
    fn equality_is_mathematical() {
        assert!(equal(&j(json!(1)), &j(json!(1.0))));
        assert!(!equal(&j(json!(false)), &j(json!(0))));
        assert!(equal(
            &j(json!({"a": [1, 2.0]})),
            &j(json!({"a": [1.0, 2]}))
        ));
        assert!(!unique(&[j(json!(1.0)), j(json!(1))]));
        assert!(unique(&[j(json!({"a": 1})), j(json!({"a": 2}))]));
        // Large objects (compared sorted by name): member order does not matter.
        let big = |order: &mut dyn Iterator<Item = usize>, last: i64| {
            let mut m = serde_json::Map::new();
            for i in order {
                m.insert(
                    format!("k{i}"),
                    json!(if i == 39 { last } else { i as i64 }),
                );
            }
            j(serde_json::Value::Object(m))
        };
        let a = big(&mut (0..40), 39);
        assert!(equal(&a, &big(&mut (0..40).rev(), 39)));
        assert!(!equal(&a, &big(&mut (0..40).rev(), 40)));
        assert!(!equal(&a, &big(&mut (1..41), 39)));
    }

    #[test]
    fn multiples() {
        let n = |v: serde_json::Value| v.as_number().cloned().unwrap();
        assert!(multiple_of(&n(json!(0.0075)), 0.0001));
        assert!(!multiple_of(&n(json!(0.00751)), 0.0001));
        assert!(multiple_of(&n(json!(4.5)), 1.5));
        assert!(!multiple_of(&n(json!(35)), 1.5));
        assert!(!multiple_of(&n(json!(1e308)), 0.123456789));
        assert!(multiple_of(&n(json!(10)), 2.0));
    }

    #[test]
    fn formats() {
        // A multi-byte character across byte 10 once split a `str` inside a character.
        assert!(!format::date_time("aaaaaaaaa\u{e9}0123456789"));
        assert!(!format::date_time("2024-01-0\u{e9}T03:04:05Z"));
        assert!(!format::date("2024-01-\u{e9}"));
        assert!(format::date("2024-02-29"));
        assert!(!format::date("2023-02-29"));
        assert!(format::date_time("2024-01-02T03:04:05.123Z"));
        assert!(format::date_time("2024-01-02T03:04:05+01:00"));
        assert!(!format::date_time("2024-01-02 03:04"));
        assert!(format::uuid("123e4567-e89b-12d3-a456-426614174000"));
        assert!(!format::uuid("123e4567e89b12d3a456426614174000"));
        assert!(format::byte("aGVsbG8="));
        assert!(!format::byte("aGVsbG8"));
        assert!(format::email("a@b.example"));
        assert!(!format::email("a b@c"));
        assert!(format::uri("https://example.com/x?y"));
        assert!(!format::uri("/relative"));
        assert!(format::ipv6("::1") && !format::ipv4("256.1.1.1"));
        let n = |v: serde_json::Value| v.as_number().cloned().unwrap();
        assert!(format::integer_in(
            &n(json!(2147483647)),
            i32::MIN as i64,
            i32::MAX as i64
        ));
        assert!(!format::integer_in(
            &n(json!(2147483648u64)),
            i32::MIN as i64,
            i32::MAX as i64
        ));
        assert!(!format::integer_in(
            &n(json!(18446744073709551615u64)),
            i64::MIN,
            i64::MAX
        ));
    }

    #[test]
    fn messages_look_like_fge() {
        let Value::Object(o) = j(json!({"a": 1})) else {
            unreachable!()
        };
        assert_eq!(
            missing(&o, &["email", "a", "b"]),
            r#"object has missing required properties (["b","email"])"#
        );
        assert_eq!(
            type_message(&j(json!("x")), r#"["integer"]"#),
            r#"instance type (string) does not match any allowed primitive type (allowed: ["integer"])"#
        );
        let mut r = Report::new();
        r.fail(&Path::Root, || "one".into());
        let root = Path::Root;
        let items = Path::Key(&root, "a/b");
        r.fail(&Path::Index(&items, 3), || "two".into());
        assert_eq!(r.error_string(), "[one, two]");
        assert_eq!(r.detail(), "/: one; /a~1b/3: two");
    }
}
