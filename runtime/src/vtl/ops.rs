//! Velocity's operators and the Java methods templates call on values, with Velocity 1.7's
//! semantics as API Gateway runs it: integer arithmetic stays integral, a number mixed with
//! a double becomes a double, division by zero is null; `==` compares numbers by value,
//! values of one kind by content and anything else by its string form (a null equals `""`,
//! AWS-recorded); ordering applies to numbers only.
//!
//! Values move through generated code as `Cow<Value>`: a variable or a member of one is
//! borrowed, a computed value owned, so reading `$item.name` copies nothing.

use std::borrow::Cow;
use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::HashMap;

use regex::Regex;
use serde_json::{Map, Number, Value};

use super::{render, render_into, truthy, Failure};

/// The null every missing value borrows.
pub static NULL: Value = Value::Null;

/// Most iterations one `#foreach` runs (API Gateway's documented limit; Velocity's
/// `directive.foreach.maxloops` ends the loop there without an error).
pub const MAX_LOOP: usize = 1000;

/// A variable's value for keeping elsewhere: what it borrows stays borrowed (so
/// `#set($root = $input.path('$'))` never copies the payload); a value it owns is copied.
pub fn reborrow<'e>(v: &Cow<'e, Value>) -> Cow<'e, Value> {
    match v {
        Cow::Borrowed(b) => Cow::Borrowed(b),
        Cow::Owned(o) => Cow::Owned(o.clone()),
    }
}

/// `.name` on a value: a map member; `.empty` / `.size` on a list or map are Velocity's
/// `isEmpty()` / `size()` property shorthands. Anything else is null.
pub fn prop<'v>(v: Cow<'v, Value>, name: &str) -> Cow<'v, Value> {
    match v {
        Cow::Borrowed(Value::Object(m)) => match m.get(name) {
            Some(x) => Cow::Borrowed(x),
            None => shorthand(&Value::Null, name),
        },
        Cow::Owned(Value::Object(mut m)) => Cow::Owned(m.swap_remove(name).unwrap_or(Value::Null)),
        other => shorthand(&other, name),
    }
}

fn shorthand<'v>(v: &Value, name: &str) -> Cow<'v, Value> {
    match (v, name) {
        (Value::Array(a), "empty") => Cow::Owned(Value::Bool(a.is_empty())),
        (Value::String(s), "empty") => Cow::Owned(Value::Bool(s.is_empty())),
        (Value::Array(a), "size") => Cow::Owned(Value::from(a.len())),
        _ => Cow::Borrowed(&NULL),
    }
}

/// `[key]` on a value: a list element by integer index, a map member by the key's string form.
pub fn index<'v>(v: Cow<'v, Value>, key: &Value) -> Cow<'v, Value> {
    match (v, key) {
        (Cow::Borrowed(Value::Array(a)), Value::Number(n)) => {
            Cow::Borrowed(n.as_u64().and_then(|i| a.get(i as usize)).unwrap_or(&NULL))
        }
        (Cow::Owned(Value::Array(mut a)), Value::Number(n)) => Cow::Owned(
            n.as_u64()
                .filter(|i| (*i as usize) < a.len())
                .map(|i| a.swap_remove(i as usize))
                .unwrap_or(Value::Null),
        ),
        (v @ Cow::Borrowed(Value::Object(_)) | v @ Cow::Owned(Value::Object(_)), k) => {
            prop(v, &render(k))
        }
        _ => Cow::Borrowed(&NULL),
    }
}

/// The value at `keys` under `root`, for writing (`#set($a.b.c = …)`, `$a.b.put(…)`).
pub fn place_mut<'v>(root: &'v mut Value, keys: &[Value]) -> Option<&'v mut Value> {
    let mut cur = root;
    for k in keys {
        cur = match (cur, k) {
            (Value::Object(m), k) => m.get_mut(render(k).as_str())?,
            (Value::Array(a), Value::Number(n)) => a.get_mut(usize::try_from(n.as_u64()?).ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// `#set($root.k1.k2 = value)`: puts `value` into the map (or list slot) at the path; a path
/// through something else changes nothing (Velocity logs and continues).
pub fn set_at(root: &mut Value, keys: &[Value], value: Value) {
    let Some((last, parents)) = keys.split_last() else {
        *root = value;
        return;
    };
    match (place_mut(root, parents), last) {
        (Some(Value::Object(m)), k) => {
            m.insert(render(k), value);
        }
        (Some(Value::Array(a)), Value::Number(n)) => {
            if let Some(slot) = n.as_u64().and_then(|i| a.get_mut(i as usize)) {
                *slot = value;
            }
        }
        _ => {}
    }
}

/// Builds the override maps ([`super::empty_overrides`]) before a template that uses them
/// runs; templates start with none (null), which every reader of overrides takes as empty.
pub fn ensure_overrides(ov: &mut Value) {
    if ov.is_null() {
        *ov = super::empty_overrides();
    }
}

/// `#set($context.requestOverride.… = value)` (or `responseOverride`): overrides are final,
/// so one set twice in a template fails it and API Gateway answers 5XX (AWS docs). `done`
/// holds the overrides this template has set (header names in any case are one).
pub fn set_override(
    ov: &mut Value,
    keys: &[Value],
    value: Value,
    done: &mut Vec<String>,
) -> Result<(), Failure> {
    let mut name = keys.iter().map(render).collect::<Vec<_>>().join(".");
    if keys.get(1).and_then(Value::as_str) == Some("header") {
        name = name.to_ascii_lowercase();
    }
    if done.contains(&name) {
        return Err(Failure::Internal(format!(
            "$context.{name} is overridden twice; an override is final"
        )));
    }
    done.push(name);
    set_at(ov, keys, value);
    Ok(())
}

/// What `#foreach` walks: a list's elements, a map's values, a range; nothing else iterates.
/// Elements of a borrowed list are borrowed.
pub fn items(v: Cow<'_, Value>) -> Vec<Cow<'_, Value>> {
    match v {
        Cow::Borrowed(Value::Array(a)) => a.iter().map(Cow::Borrowed).collect(),
        Cow::Borrowed(Value::Object(m)) => m.values().map(Cow::Borrowed).collect(),
        Cow::Owned(Value::Array(a)) => a.into_iter().map(Cow::Owned).collect(),
        Cow::Owned(Value::Object(m)) => m.into_iter().map(|(_, v)| Cow::Owned(v)).collect(),
        _ => Vec::new(),
    }
}

/// `[a..b]`: the integers from `a` to `b`, counting down when `b < a`.
pub fn range(a: &Value, b: &Value) -> Value {
    let (Some(a), Some(b)) = (int(a), int(b)) else {
        return Value::Null;
    };
    // In 128 bits: the ends may be any two 64-bit integers (their difference overflowed).
    let (a, b) = (i128::from(a), i128::from(b));
    let n = (a - b).unsigned_abs().min(1_000_000) as i128;
    let step = if b >= a { 1 } else { -1 };
    Value::Array(
        (0..=n)
            .map_while(|k| i64::try_from(a + k * step).ok())
            .map(Value::from)
            .collect(),
    )
}

fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

/// A number as Velocity sees it.
#[derive(Clone, Copy)]
enum Num {
    I(i64),
    F(f64),
}

fn num(v: &Value) -> Option<Num> {
    let Value::Number(n) = v else { return None };
    match n.as_i64() {
        Some(i) if !n.is_f64() => Some(Num::I(i)),
        _ => n.as_f64().map(Num::F),
    }
}

fn float_value(f: f64) -> Value {
    Number::from_f64(f).map_or(Value::Null, Value::Number)
}

/// Arithmetic operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arith {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Rem,
}

/// `a op b`: null unless both are numbers; integer division truncates; a division by zero
/// is null (Velocity logs it and goes on); integer overflow widens to a double.
pub fn arith(op: Arith, a: &Value, b: &Value) -> Value {
    let (Some(x), Some(y)) = (num(a), num(b)) else {
        return Value::Null;
    };
    match (x, y) {
        (Num::I(x), Num::I(y)) => {
            let r = match op {
                Arith::Add => x.checked_add(y),
                Arith::Sub => x.checked_sub(y),
                Arith::Mul => x.checked_mul(y),
                Arith::Div if y == 0 => return Value::Null,
                Arith::Rem if y == 0 => return Value::Null,
                Arith::Div => x.checked_div(y),
                Arith::Rem => x.checked_rem(y),
            };
            match r {
                Some(r) => Value::from(r),
                None => arith_f(op, x as f64, y as f64),
            }
        }
        (x, y) => arith_f(op, as_f(x), as_f(y)),
    }
}

fn as_f(n: Num) -> f64 {
    match n {
        Num::I(i) => i as f64,
        Num::F(f) => f,
    }
}

fn arith_f(op: Arith, x: f64, y: f64) -> Value {
    match op {
        Arith::Add => float_value(x + y),
        Arith::Sub => float_value(x - y),
        Arith::Mul => float_value(x * y),
        Arith::Div if y == 0.0 => Value::Null,
        Arith::Rem if y == 0.0 => Value::Null,
        Arith::Div => float_value(x / y),
        Arith::Rem => float_value(x % y),
    }
}

/// `a + b`: with a string on either side, the two as text joined (a null side is written
/// as its reference, `$x`, as Velocity 1.7's `ASTAddNode` does); otherwise [`arith`].
pub fn add(a: &Value, b: &Value, a_literal: &str, b_literal: &str) -> Value {
    if !(a.is_string() || b.is_string()) {
        return arith(Arith::Add, a, b);
    }
    let side = |v: &Value, literal: &str| match v {
        Value::Null => literal.to_string(),
        v => string(v).into_owned(),
    };
    let mut out = side(a, a_literal);
    out.push_str(&side(b, b_literal));
    Value::String(out)
}

/// `-x`.
pub fn neg(v: &Value) -> Value {
    match num(v) {
        Some(Num::I(i)) => i
            .checked_neg()
            .map_or_else(|| float_value(-(i as f64)), Value::from),
        Some(Num::F(f)) => float_value(-f),
        None => Value::Null,
    }
}

/// `!x`.
pub fn not(v: &Value) -> Value {
    Value::Bool(!truthy(v))
}

/// `a == b` as Velocity 1.7 decides it, with API Gateway's null rule.
pub fn eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Null, Value::String(s)) | (Value::String(s), Value::Null) => s.is_empty(),
        (Value::Null, _) | (_, Value::Null) => false,
        (Value::Number(_), Value::Number(_)) => compare(a, b) == Some(Ordering::Equal),
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Array(_), Value::Array(_)) | (Value::Object(_), Value::Object(_)) => {
            crate::schema::equal(&a.into(), &b.into())
        }
        _ => render(a) == render(b),
    }
}

/// `a == 'literal'`: [`eq`] against a string, without building one.
pub fn eq_str(a: &Value, s: &str) -> bool {
    match a {
        Value::String(x) => x == s,
        Value::Null => s.is_empty(),
        Value::Array(_) | Value::Object(_) | Value::Number(_) | Value::Bool(_) => render(a) == s,
    }
}

/// Ordering of two numbers; `None` when either is not a number (then every comparison is
/// false, as in Velocity 1.7).
pub fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (num(a)?, num(b)?) {
        (Num::I(x), Num::I(y)) => Some(x.cmp(&y)),
        (x, y) => as_f(x).partial_cmp(&as_f(y)),
    }
}

/// The string form of a value, as a method argument that wants a `String` receives it.
pub fn string(v: &Value) -> Cow<'_, str> {
    match v {
        Value::String(s) => Cow::Borrowed(s),
        other => Cow::Owned(render(other)),
    }
}

/// Java methods templates may call. The compiler maps each written name to one of these
/// (an unknown name is a compile-time error), so dispatch is a `match` on an enum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum M {
    Size,
    IsEmpty,
    Get,
    GetOrDefault,
    ContainsKey,
    ContainsValue,
    KeySet,
    Values,
    EntrySet,
    Put,
    PutAll,
    Remove,
    Clear,
    Add,
    AddAll,
    Set,
    SubList,
    Contains,
    IndexOf,
    LastIndexOf,
    Length,
    Substring,
    Replace,
    ReplaceAll,
    ReplaceFirst,
    ToLowerCase,
    ToUpperCase,
    Trim,
    Split,
    StartsWith,
    EndsWith,
    Equals,
    EqualsIgnoreCase,
    Matches,
    CharAt,
    Concat,
    ToString,
    IntValue,
    DoubleValue,
    BooleanValue,
    CompareTo,
}

impl M {
    /// The method a Java name means (`size` is [`M::Size`]), for tools that dispatch by
    /// name at run time; the compiler resolves names when it generates code.
    pub fn from_java_name(name: &str) -> Option<M> {
        Some(match name {
            "size" => M::Size,
            "isEmpty" => M::IsEmpty,
            "get" => M::Get,
            "getOrDefault" => M::GetOrDefault,
            "containsKey" => M::ContainsKey,
            "containsValue" => M::ContainsValue,
            "keySet" => M::KeySet,
            "values" => M::Values,
            "entrySet" => M::EntrySet,
            "put" => M::Put,
            "putAll" => M::PutAll,
            "remove" => M::Remove,
            "clear" => M::Clear,
            "add" => M::Add,
            "addAll" => M::AddAll,
            "set" => M::Set,
            "subList" => M::SubList,
            "contains" => M::Contains,
            "indexOf" => M::IndexOf,
            "lastIndexOf" => M::LastIndexOf,
            "length" => M::Length,
            "substring" => M::Substring,
            "replace" => M::Replace,
            "replaceAll" => M::ReplaceAll,
            "replaceFirst" => M::ReplaceFirst,
            "toLowerCase" => M::ToLowerCase,
            "toUpperCase" => M::ToUpperCase,
            "trim" => M::Trim,
            "split" => M::Split,
            "startsWith" => M::StartsWith,
            "endsWith" => M::EndsWith,
            "equals" => M::Equals,
            "equalsIgnoreCase" => M::EqualsIgnoreCase,
            "matches" => M::Matches,
            "charAt" => M::CharAt,
            "concat" => M::Concat,
            "toString" => M::ToString,
            "intValue" => M::IntValue,
            "doubleValue" => M::DoubleValue,
            "booleanValue" => M::BooleanValue,
            "compareTo" => M::CompareTo,
            _ => return None,
        })
    }

    /// Whether the method changes its receiver (then generated code calls [`call_mut`]).
    pub fn mutates(self) -> bool {
        matches!(
            self,
            M::Put | M::PutAll | M::Remove | M::Clear | M::Add | M::AddAll | M::Set
        )
    }
}

fn arg(args: &[Value], i: usize) -> &Value {
    args.get(i).unwrap_or(&NULL)
}

fn exception(what: &str) -> Failure {
    Failure::Internal(format!("template method failed: {what}"))
}

/// A Java string index (UTF-16 units) as a byte offset into `s`.
fn byte_at(s: &str, units: i64) -> Option<usize> {
    if units < 0 {
        return None;
    }
    let mut u = 0i64;
    for (b, c) in s.char_indices() {
        if u == units {
            return Some(b);
        }
        u += c.len_utf16() as i64;
        if u > units {
            return None;
        }
    }
    (u == units).then_some(s.len())
}

fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

fn utf16_index(s: &str, byte: usize) -> i64 {
    utf16_len(&s[..byte]) as i64
}

thread_local! {
    static REGEXES: RefCell<HashMap<String, Regex>> = RefCell::new(HashMap::new());
}

/// A Java regex compiled once per thread (templates pass the same literal every time).
fn with_regex<T>(pattern: &str, f: impl FnOnce(&Regex) -> T) -> Result<T, Failure> {
    REGEXES.with(|cache| {
        let mut cache = cache.borrow_mut();
        if let Some(re) = cache.get(pattern) {
            return Ok(f(re));
        }
        let re = Regex::new(pattern).map_err(|_| exception("invalid regular expression"))?;
        let out = f(&re);
        if cache.len() < 256 {
            cache.insert(pattern.to_string(), re);
        }
        Ok(out)
    })
}

/// A Java replacement string (`$1`, `\$`) in the regex crate's syntax (`${1}`, `$$`).
fn java_replacement(r: &str) -> String {
    let mut out = String::with_capacity(r.len() + 4);
    let mut it = r.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '\\' => match it.next() {
                Some('$') => out.push_str("$$"),
                Some(x) => out.push(x),
                None => {}
            },
            '$' => {
                let mut digits = String::new();
                while let Some(d) = it.peek().filter(|d| d.is_ascii_digit()) {
                    digits.push(*d);
                    it.next();
                }
                out.push_str(&format!("${{{digits}}}"));
            }
            c => out.push(c),
        }
    }
    out
}

/// Calls a method that does not change its receiver. A method the receiver's kind lacks is
/// null (Velocity renders it as empty text in API Gateway); a Java exception (an index out
/// of range, a bad regex) fails the template.
pub fn call(recv: &Value, m: M, args: &[Value]) -> Result<Value, Failure> {
    let a0 = arg(args, 0);
    Ok(match (recv, m) {
        (Value::Null, _) => Value::Null,
        (_, M::ToString) => Value::String(render(recv)),
        (_, M::Equals) => {
            Value::Bool(eq(recv, a0) && std::mem::discriminant(recv) == std::mem::discriminant(a0))
        }
        (Value::Object(o), _) => map_method(o, m, args)?,
        (Value::Array(a), _) => list_method(a, m, args)?,
        (Value::String(s), _) => string_method(s, m, args)?,
        (Value::Number(_), M::IntValue) => match num(recv) {
            Some(Num::I(i)) => Value::from(i),
            Some(Num::F(f)) => Value::from(f.trunc() as i64),
            None => Value::Null,
        },
        (Value::Number(_), M::DoubleValue) => {
            num(recv).map_or(Value::Null, |n| float_value(as_f(n)))
        }
        (Value::Number(_), M::CompareTo) => match compare(recv, a0) {
            Some(o) => Value::from(o as i8),
            None => return Err(exception("compareTo with a non-number")),
        },
        (Value::Bool(b), M::BooleanValue) => Value::Bool(*b),
        _ => Value::Null,
    })
}

fn map_method(o: &Map<String, Value>, m: M, args: &[Value]) -> Result<Value, Failure> {
    let a0 = arg(args, 0);
    Ok(match m {
        M::Size => Value::from(o.len()),
        M::IsEmpty => Value::Bool(o.is_empty()),
        M::Get => o.get(string(a0).as_ref()).cloned().unwrap_or(Value::Null),
        M::GetOrDefault => o
            .get(string(a0).as_ref())
            .cloned()
            .unwrap_or_else(|| arg(args, 1).clone()),
        M::ContainsKey => Value::Bool(o.contains_key(string(a0).as_ref())),
        M::ContainsValue => Value::Bool(o.values().any(|v| eq(v, a0))),
        M::KeySet => Value::Array(o.keys().map(|k| Value::String(k.clone())).collect()),
        M::Values => Value::Array(o.values().cloned().collect()),
        M::EntrySet => Value::Array(
            o.iter()
                .map(|(k, v)| {
                    let mut e = Map::new();
                    e.insert("key".into(), Value::String(k.clone()));
                    e.insert("value".into(), v.clone());
                    Value::Object(e)
                })
                .collect(),
        ),
        _ => Value::Null,
    })
}

fn list_method(a: &[Value], m: M, args: &[Value]) -> Result<Value, Failure> {
    let a0 = arg(args, 0);
    Ok(match m {
        M::Size => Value::from(a.len()),
        M::IsEmpty => Value::Bool(a.is_empty()),
        M::Get => match int(a0).and_then(|i| usize::try_from(i).ok()) {
            Some(i) if i < a.len() => a[i].clone(),
            _ => return Err(exception("list index out of range")),
        },
        M::Contains => Value::Bool(a.iter().any(|v| eq(v, a0))),
        M::IndexOf => Value::from(a.iter().position(|v| eq(v, a0)).map_or(-1, |i| i as i64)),
        M::LastIndexOf => Value::from(a.iter().rposition(|v| eq(v, a0)).map_or(-1, |i| i as i64)),
        M::SubList => {
            let (from, to) = (int(a0).unwrap_or(-1), int(arg(args, 1)).unwrap_or(-1));
            if from < 0 || to < from || to as usize > a.len() {
                return Err(exception("subList index out of range"));
            }
            Value::Array(a[from as usize..to as usize].to_vec())
        }
        _ => Value::Null,
    })
}

fn string_method(s: &str, m: M, args: &[Value]) -> Result<Value, Failure> {
    let a0 = arg(args, 0);
    let a1 = arg(args, 1);
    let text = |v: &Value| -> String { string(v).into_owned() };
    Ok(match m {
        M::Length => Value::from(utf16_len(s)),
        M::IsEmpty => Value::Bool(s.is_empty()),
        M::Substring => {
            let from = int(a0).and_then(|i| byte_at(s, i));
            let to = if args.len() > 1 {
                int(a1).and_then(|i| byte_at(s, i))
            } else {
                Some(s.len())
            };
            match (from, to) {
                (Some(f), Some(t)) if f <= t => Value::String(s[f..t].to_string()),
                _ => return Err(exception("substring index out of range")),
            }
        }
        M::CharAt => match int(a0)
            .and_then(|i| byte_at(s, i))
            .and_then(|b| s[b..].chars().next())
        {
            Some(c) => Value::String(c.to_string()),
            None => return Err(exception("charAt index out of range")),
        },
        M::Contains => Value::Bool(s.contains(string(a0).as_ref())),
        M::StartsWith => Value::Bool(s.starts_with(string(a0).as_ref())),
        M::EndsWith => Value::Bool(s.ends_with(string(a0).as_ref())),
        M::IndexOf => Value::from(
            s.find(string(a0).as_ref())
                .map_or(-1, |b| utf16_index(s, b)),
        ),
        M::LastIndexOf => Value::from(
            s.rfind(string(a0).as_ref())
                .map_or(-1, |b| utf16_index(s, b)),
        ),
        M::EqualsIgnoreCase => {
            Value::Bool(matches!(a0, Value::String(o) if o.to_lowercase() == s.to_lowercase()))
        }
        M::ToLowerCase => Value::String(s.to_lowercase()),
        M::ToUpperCase => Value::String(s.to_uppercase()),
        M::Trim => Value::String(s.trim_matches(|c: char| c <= ' ').to_string()),
        M::Concat => Value::String(format!("{s}{}", string(a0))),
        M::Replace => Value::String(s.replace(string(a0).as_ref(), string(a1).as_ref())),
        M::ReplaceAll | M::ReplaceFirst => {
            let repl = java_replacement(&text(a1));
            with_regex(&text(a0), |re| {
                let out = if m == M::ReplaceAll {
                    re.replace_all(s, repl.as_str())
                } else {
                    re.replace(s, repl.as_str())
                };
                Value::String(out.into_owned())
            })?
        }
        M::Matches => {
            let whole = format!("^(?:{})$", text(a0));
            with_regex(&whole, |re| Value::Bool(re.is_match(s)))?
        }
        M::Split => with_regex(&text(a0), |re| {
            // Java's `split`: trailing empty strings are dropped; a zero-width match at the
            // start produces no leading empty string.
            let mut parts: Vec<&str> = re.split(s).collect();
            if parts.first() == Some(&"")
                && re.find(s).is_some_and(|m| m.start() == 0 && m.end() == 0)
            {
                parts.remove(0);
            }
            while parts.len() > 1 && parts.last() == Some(&"") {
                parts.pop();
            }
            if s.is_empty() {
                parts = vec![""];
            }
            Value::Array(
                parts
                    .into_iter()
                    .map(|p| Value::String(p.to_string()))
                    .collect(),
            )
        })?,
        M::CompareTo => {
            let o = text(a0);
            Value::from(match s.cmp(o.as_str()) {
                Ordering::Less => -1,
                Ordering::Equal => 0,
                Ordering::Greater => 1,
            })
        }
        _ => Value::Null,
    })
}

/// Calls a method that changes its receiver (`put`, `add`, …) and returns what Java returns:
/// `put` and `remove` the previous value, `add` `true`, the others null.
pub fn call_mut(recv: Option<&mut Value>, m: M, mut args: Vec<Value>) -> Result<Value, Failure> {
    let Some(recv) = recv else {
        return Ok(Value::Null);
    };
    let a0 = args.first().cloned().unwrap_or(Value::Null);
    Ok(match recv {
        Value::Object(o) => match m {
            M::Put => {
                let v = args.get_mut(1).map(std::mem::take).unwrap_or(Value::Null);
                o.insert(render(&a0), v).unwrap_or(Value::Null)
            }
            M::PutAll => {
                if let Value::Object(other) = a0 {
                    o.extend(other);
                }
                Value::Null
            }
            M::Remove => o.shift_remove(string(&a0).as_ref()).unwrap_or(Value::Null),
            M::Clear => {
                o.clear();
                Value::Null
            }
            _ => call(recv, m, &args)?,
        },
        Value::Array(a) => match m {
            M::Add if args.len() >= 2 => {
                let i = int(&a0)
                    .and_then(|i| usize::try_from(i).ok())
                    .filter(|i| *i <= a.len());
                let Some(i) = i else {
                    return Err(exception("list index out of range"));
                };
                a.insert(i, std::mem::take(&mut args[1]));
                Value::Null
            }
            M::Add => {
                a.push(a0);
                Value::Bool(true)
            }
            M::AddAll => {
                if let Value::Array(more) = a0 {
                    a.extend(more);
                }
                Value::Bool(true)
            }
            M::Set => {
                let v = args.get_mut(1).map(std::mem::take).unwrap_or(Value::Null);
                match int(&a0)
                    .and_then(|i| usize::try_from(i).ok())
                    .and_then(|i| a.get_mut(i))
                {
                    Some(slot) => std::mem::replace(slot, v),
                    None => return Err(exception("list index out of range")),
                }
            }
            M::Remove => match &a0 {
                Value::Number(n) if n.as_u64().is_some_and(|i| (i as usize) < a.len()) => {
                    a.remove(n.as_u64().unwrap_or(0) as usize)
                }
                Value::Number(_) => return Err(exception("list index out of range")),
                other => match a.iter().position(|v| eq(v, other)) {
                    Some(i) => {
                        a.remove(i);
                        Value::Bool(true)
                    }
                    None => Value::Bool(false),
                },
            },
            M::Clear => {
                a.clear();
                Value::Null
            }
            _ => call(recv, m, &args)?,
        },
        other => call(other, m, &args)?,
    })
}

/// Whether a reference has no value (Velocity's "not in the context").
pub fn is_null(v: &Value) -> bool {
    v.is_null()
}

/// Renders a value into the output (a null renders nothing: API Gateway prints undefined
/// and null references as empty text, AWS-recorded).
pub fn put(out: &mut String, v: &Value) {
    render_into(v, out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn c(recv: Value, m: M, args: &[Value]) -> Value {
        call(&recv, m, args).unwrap()
    }

    #[test]
    fn arithmetic_and_comparison() {
        assert_eq!(arith(Arith::Add, &json!(2), &json!(3)), json!(5));
        assert_eq!(arith(Arith::Div, &json!(7), &json!(2)), json!(3));
        assert_eq!(arith(Arith::Div, &json!(7), &json!(0)), Value::Null);
        assert_eq!(arith(Arith::Mul, &json!(1.5), &json!(2)), json!(3.0));
        assert_eq!(arith(Arith::Add, &json!("a"), &json!(1)), Value::Null);
        assert_eq!(
            arith(Arith::Add, &json!(i64::MAX), &json!(1)),
            json!(i64::MAX as f64 + 1.0)
        );
        assert!(eq(&Value::Null, &json!("")));
        assert!(eq(&json!(1), &json!(1.0)));
        assert!(eq(&json!(1), &json!("1")));
        assert!(!eq(&Value::Null, &json!(0)));
        assert_eq!(compare(&json!(2), &json!(10)), Some(Ordering::Less));
        assert_eq!(compare(&json!("2"), &json!(10)), None);
        assert_eq!(range(&json!(3), &json!(1)), json!([3, 2, 1]));
        // Ends far apart or at the edges of 64 bits: cut at a million, never past i64.
        assert_eq!(
            range(&json!(i64::MIN), &json!(5)).as_array().map(Vec::len),
            Some(1_000_001)
        );
        assert_eq!(
            range(&json!(i64::MAX - 1), &json!(i64::MAX)),
            json!([i64::MAX - 1, i64::MAX])
        );
        assert_eq!(
            range(&json!(i64::MAX), &json!(i64::MIN))
                .as_array()
                .map(Vec::len),
            Some(1_000_001)
        );
        assert_eq!(
            range(&json!(i64::MIN + 1), &json!(i64::MIN)),
            json!([i64::MIN + 1, i64::MIN])
        );
        assert_eq!(
            range(&json!(i64::MAX - 2), &json!(i64::MAX))
                .as_array()
                .map(Vec::len),
            Some(3)
        );
    }

    #[test]
    fn methods() {
        assert_eq!(c(json!("Hello"), M::Length, &[]), json!(5));
        assert_eq!(
            c(json!("Hello"), M::Substring, &[json!(1), json!(3)]),
            json!("el")
        );
        assert!(call(&json!("Hello"), M::Substring, &[json!(9)]).is_err());
        assert_eq!(
            c(json!("a,b,,"), M::Split, &[json!(",")]),
            json!(["a", "b"])
        );
        assert_eq!(
            c(
                json!("a-b-c"),
                M::ReplaceAll,
                &[json!("-(\\w)"), json!("<$1>")]
            ),
            json!("a<b><c>")
        );
        assert_eq!(
            c(json!("it's"), M::ReplaceAll, &[json!("\\\\'"), json!("'")]),
            json!("it's")
        );
        assert_eq!(c(json!("  x "), M::Trim, &[]), json!("x"));
        assert_eq!(c(json!("abc"), M::Matches, &[json!("a.")]), json!(false));
        assert_eq!(c(json!("é€x"), M::IndexOf, &[json!("x")]), json!(2));
        assert_eq!(
            c(json!({"a": 1, "b": 2}), M::KeySet, &[]),
            json!(["a", "b"])
        );
        assert_eq!(c(json!({"a": 1}), M::Get, &[json!("a")]), json!(1));
        assert_eq!(c(json!([1, 2, 3]), M::Contains, &[json!(2)]), json!(true));
        assert_eq!(c(json!([1]), M::ToString, &[]), json!("[1]"));
        assert_eq!(c(json!(2.7), M::IntValue, &[]), json!(2));
        let mut m = json!({"a": 1});
        assert_eq!(
            call_mut(Some(&mut m), M::Put, vec![json!("a"), json!(2)]).unwrap(),
            json!(1)
        );
        assert_eq!(m, json!({"a": 2}));
        let mut l = json!([]);
        assert_eq!(
            call_mut(Some(&mut l), M::Add, vec![json!("x")]).unwrap(),
            json!(true)
        );
        assert_eq!(l, json!(["x"]));
    }

    #[test]
    fn places() {
        let mut v = json!({"a": {"b": [1, 2]}});
        set_at(&mut v, &[json!("a"), json!("c")], json!(3));
        set_at(&mut v, &[json!("a"), json!("b"), json!(0)], json!(9));
        set_at(&mut v, &[json!("x"), json!("y")], json!(0));
        assert_eq!(v, json!({"a": {"b": [9, 2], "c": 3}}));
        let b = prop(Cow::Borrowed(&v), "a");
        assert_eq!(index(prop(b, "b"), &json!(1)).into_owned(), json!(2));
        assert_eq!(prop(Cow::Owned(json!([1])), "size").into_owned(), json!(1));
    }
}
