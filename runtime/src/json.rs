//! The JSON tree request validation reads: what `serde_json::Value` holds, built for one
//! look. Strings borrow from the body when they have no escapes, objects are their members
//! in order (no hash index), so a body costs its containers' allocations and little else.
//! `serde_json::Value` with `preserve_order` (which the project needs for VTL and Lambda
//! output) hashed every key with SipHash into an `IndexMap` and copied every string: about
//! two thirds of a validated request's instructions. Text serde_json would accept is read
//! in one pass by [`read`]; anything else, and so every error message, is serde_json's
//! (same grammar, same errors, same nesting limit).
//!
//! Semantics follow `serde_json::Value` exactly where validation can see them: numbers are
//! `serde_json::Number` (an integer beyond 64 bits becomes an `f64`), and a member named
//! twice keeps its first position and its last value, as `IndexMap::insert` does.

mod read;

pub use read::Scan;

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Number;

/// A JSON string, escaped exactly as serde_json escapes it (`"`, `\\`, the short escapes
/// `\b \f \n \r \t`, other control characters as `\u00xx`; nothing else), written straight
/// into `out`. By hand because serde_json escapes only into an `io::Write`: through it, each
/// of a Lambda event's seventy-odd strings cost an allocation, a UTF-8 check of what it
/// wrote and a copy (a third of the gateway's instructions per Lambda call). Access-log
/// lines are written with it too.
pub fn string_into(out: &mut String, s: &str) {
    out.reserve(s.len() + 2);
    out.push('"');
    escaped_into(out, s);
    out.push('"');
}

/// [`string_into`] without the quotes: what `s` is inside a JSON string (pieces of one
/// string written one after the other, as a list joined with commas).
pub fn escaped_into(out: &mut String, s: &str) {
    // What each byte becomes: 0 itself, `u` a `\u00xx` escape, else the letter after `\`.
    static ESCAPE: [u8; 256] = {
        let mut t = [0u8; 256];
        let mut i = 0;
        while i < 0x20 {
            t[i] = b'u';
            i += 1;
        }
        t[0x08] = b'b';
        t[0x09] = b't';
        t[0x0a] = b'n';
        t[0x0c] = b'f';
        t[0x0d] = b'r';
        t[b'"' as usize] = b'"';
        t[b'\\' as usize] = b'\\';
        t
    };
    const HEX: &[u8; 16] = b"0123456789abcdef";
    // Eight bytes at a time while none of them needs escaping (a byte below 0x20, `"` or
    // `\\`, found by the usual word tricks: a byte's top bit set by the borrow of a
    // subtraction it underflows).
    const ONES: u64 = 0x0101_0101_0101_0101;
    const TOPS: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |w: u64| w.wrapping_sub(ONES) & !w & TOPS;
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        if let Some(word) = bytes.get(i..i + 8) {
            let w = u64::from_le_bytes(word.try_into().unwrap_or_default());
            let control = w.wrapping_sub(ONES * 0x20) & !w & TOPS;
            let quote = zero_byte(w ^ (ONES * u64::from(b'"')));
            let backslash = zero_byte(w ^ (ONES * u64::from(b'\\')));
            if control | quote | backslash == 0 {
                i += 8;
                continue;
            }
        }
        let at = i;
        i += 1;
        let b = bytes[at];
        let e = ESCAPE[usize::from(b)];
        if e == 0 {
            continue;
        }
        // Escaped bytes are ASCII: `at` and `at + 1` are character boundaries.
        out.push_str(&s[start..at]);
        out.push('\\');
        out.push(char::from(e));
        if e == b'u' {
            out.push_str("00");
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 15)]));
        }
        start = at + 1;
    }
    out.push_str(&s[start..]);
}

/// A JSON value; strings borrow from the text they were parsed from where they can.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, as serde_json reads it.
    Number(Number),
    /// A string.
    String(Str<'a>),
    /// An array.
    Array(Vec<Value<'a>>),
    /// An object.
    Object(Map<'a>),
}

/// A string of a [`Value`], borrowed or owned (one with escapes is unescaped into its own).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Str<'a>(Cow<'a, str>);

impl Str<'_> {
    /// The text.
    #[inline]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for Str<'_> {
    type Target = str;
    #[inline]
    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Str<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An object's members, in the order they were first written (each name once).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Map<'a>(Vec<(Str<'a>, Value<'a>)>);

impl<'a> Map<'a> {
    /// How many members.
    #[inline]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// No members.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The members' names.
    pub fn keys(&self) -> impl Iterator<Item = &Str<'a>> {
        self.0.iter().map(|(k, _)| k)
    }

    /// The members.
    pub fn iter(&self) -> impl Iterator<Item = (&Str<'a>, &Value<'a>)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    /// The member named `key`.
    pub fn get(&self, key: &str) -> Option<&Value<'a>> {
        self.0
            .iter()
            .find(|(k, _)| k.as_str() == key)
            .map(|(_, v)| v)
    }

    /// Whether a member is named `key`.
    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Members named twice: the first position keeps the last value (`IndexMap::insert`).
    fn dedup(&mut self) {
        let n = self.0.len();
        if n < 2 {
            return;
        }
        // Positions in name order (stable: equal names stay in the order written). Small
        // objects are compared pairwise; large ones sorted, so that no body is quadratic.
        if n <= 16 {
            let twice = (0..n).any(|i| (i + 1..n).any(|j| self.0[i].0 == self.0[j].0));
            if !twice {
                return;
            }
        }
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| self.0[a].0.cmp(&self.0[b].0));
        let mut drop = vec![false; n];
        let mut i = 0;
        while i < n {
            let mut j = i + 1;
            while j < n && self.0[order[j]].0 == self.0[order[i]].0 {
                j += 1;
            }
            if j - i > 1 {
                // order[i] is the first written, order[j - 1] the last.
                let (first, last) = (order[i], order[j - 1]);
                let value = std::mem::replace(&mut self.0[last].1, Value::Null);
                self.0[first].1 = value;
                for &k in &order[i + 1..j] {
                    drop[k] = true;
                }
            }
            i = j;
        }
        let mut k = 0;
        self.0.retain(|_| {
            k += 1;
            !drop[k - 1]
        });
    }
}

impl<'m, 'a> IntoIterator for &'m Map<'a> {
    type Item = (&'m Str<'a>, &'m Value<'a>);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'m, (Str<'a>, Value<'a>)>,
        fn(&'m (Str<'a>, Value<'a>)) -> (&'m Str<'a>, &'m Value<'a>),
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter().map(|(k, v)| (k, v))
    }
}

impl<'a> Value<'a> {
    /// Parses JSON text (serde_json's grammar and errors). Text that is UTF-8 throughout
    /// (checked at once, in vectors) is read as a `str`, so that serde_json does not check
    /// each string again; other text goes the byte way, for serde_json's error and position.
    pub fn parse(text: &'a [u8]) -> Result<Value<'a>, serde_json::Error> {
        match std::str::from_utf8(text) {
            // Read in one pass where it can be; serde_json judges the rest.
            Ok(s) => read::value(s).map_or_else(|| serde_json::from_str(s), Ok),
            Err(_) => serde_json::from_slice(text),
        }
    }

    /// `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// A string.
    pub fn is_string(&self) -> bool {
        matches!(self, Value::String(_))
    }

    /// The members of an object.
    pub fn as_object(&self) -> Option<&Map<'a>> {
        match self {
            Value::Object(m) => Some(m),
            _ => None,
        }
    }

    /// The text of a string.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s.as_str()),
            _ => None,
        }
    }
}

impl<'a> From<&'a serde_json::Value> for Value<'a> {
    /// A serde_json tree as one of these (strings borrowed).
    fn from(v: &'a serde_json::Value) -> Value<'a> {
        match v {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => Value::Number(n.clone()),
            serde_json::Value::String(s) => Value::String(Str(Cow::Borrowed(s))),
            serde_json::Value::Array(a) => Value::Array(a.iter().map(Value::from).collect()),
            serde_json::Value::Object(o) => Value::Object(Map(o
                .iter()
                .map(|(k, v)| (Str(Cow::Borrowed(k.as_str())), Value::from(v)))
                .collect())),
        }
    }
}

impl From<&Value<'_>> for serde_json::Value {
    fn from(v: &Value<'_>) -> serde_json::Value {
        match v {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(n) => serde_json::Value::Number(n.clone()),
            Value::String(s) => serde_json::Value::String(s.to_string()),
            Value::Array(a) => serde_json::Value::Array(a.iter().map(Into::into).collect()),
            Value::Object(o) => serde_json::Value::Object(
                o.iter().map(|(k, v)| (k.to_string(), v.into())).collect(),
            ),
        }
    }
}

/// Compact JSON text, as `serde_json::Value` prints it (for messages).
impl fmt::Display for Value<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&serde_json::Value::from(self), f)
    }
}

impl<'de> Deserialize<'de> for Str<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Borrowed(s)))
            }
            fn visit_str<E>(self, s: &str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(s.to_owned())))
            }
            fn visit_string<E>(self, s: String) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(s)))
            }
        }
        d.deserialize_str(V)
    }
}

impl<'de> Deserialize<'de> for Value<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any valid JSON value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value<'de>, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Value<'de>, E> {
        Ok(Value::Number(n.into()))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Value<'de>, E> {
        Ok(Value::Number(n.into()))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Value<'de>, E> {
        // As serde_json's own tree: a non-finite number (not JSON) is null.
        Ok(Number::from_f64(n).map_or(Value::Null, Value::Number))
    }

    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Value<'de>, E> {
        Ok(Value::String(Str(Cow::Borrowed(s))))
    }

    fn visit_str<E>(self, s: &str) -> Result<Value<'de>, E> {
        Ok(Value::String(Str(Cow::Owned(s.to_owned()))))
    }

    fn visit_string<E>(self, s: String) -> Result<Value<'de>, E> {
        Ok(Value::String(Str(Cow::Owned(s))))
    }

    fn visit_none<E>(self) -> Result<Value<'de>, E> {
        Ok(Value::Null)
    }

    fn visit_unit<E>(self) -> Result<Value<'de>, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value<'de>, D::Error> {
        Deserialize::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value<'de>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(v) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value<'de>, A::Error> {
        let mut members = Vec::with_capacity(map.size_hint().unwrap_or(0).min(64));
        while let Some((k, v)) = map.next_entry::<Str<'de>, Value<'de>>()? {
            members.push((k, v));
        }
        let mut m = Map(members);
        m.dedup();
        Ok(Value::Object(m))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tree serde_json builds and this one, compared through serde_json's.
    fn same(text: &str) {
        let theirs: Result<serde_json::Value, _> = serde_json::from_str(text);
        let ours = Value::parse(text.as_bytes());
        match (theirs, ours) {
            (Ok(t), Ok(o)) => {
                assert_eq!(serde_json::Value::from(&o), t, "{text}");
                // Member order too (`==` on serde_json's maps ignores it).
                assert_eq!(o.to_string(), t.to_string(), "{text}");
            }
            (Err(t), Err(o)) => assert_eq!(t.to_string(), o.to_string(), "{text}"),
            (t, o) => panic!("{text}: serde_json {t:?}, ours {o:?}"),
        }
    }

    #[test]
    fn builds_what_serde_json_builds() {
        for text in [
            "null",
            "true",
            "0",
            "-1",
            "18446744073709551615",
            "18446744073709551616",
            "-9223372036854775809",
            "1.5e300",
            "1e400",
            "0.1",
            // Fractions and exponents the reader converts itself (and ones just past its
            // limits, which serde_json converts).
            "9.99",
            "[10.99, -13.99, 0.5e1, 7E+3, 1e-0, 1E+0, 4.35, 0.30000000000000004]",
            "-0.0",
            "-0e5",
            "[1e22, 1e23, 1e-22, 1e-23, -1.5e-22, 999999999999999e22]",
            "[123456789012345.6, 12345678901234.5, 0.000000000000001, 0.0000000000000001]",
            "[1e00022, 1e000022, 2.5e-0007, 1.0E-7]",
            "1.",
            "1.e5",
            "1e",
            "1e+",
            "-.5",
            r#""plain""#,
            r#""esc\"aped\u00e9\ud83d\ude00""#,
            r#"{"a": 1, "b": [true, null, {"c": "d"}], "e": {}}"#,
            r#"{"z": 1, "a": 2, "z": 3}"#,
            r#"{"k": 1, "k": 2, "k": 3, "j": 4}"#,
            r#"{"a\u0062": 1, "ab": 2}"#,
            "[1, 2,]",
            "[\"caf\u{e9}\", {\"\u{e9}\": 1}]",
            "{\"a\": 1} x",
            "",
            "[",
            "\"\\x\"",
            &"[".repeat(200),
        ] {
            same(text);
        }
    }

    /// JSON text from a small vocabulary, so that objects often name a member twice.
    fn text() -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just("null".to_string()),
            any::<bool>().prop_map(|b| b.to_string()),
            any::<i64>().prop_map(|n| n.to_string()),
            any::<u64>().prop_map(|n| n.to_string()),
            any::<f64>().prop_map(|n| format!("{n:e}")),
            // Short decimals, as prices and measures are written.
            (
                -99_999i64..99_999,
                "[0-9]{0,12}",
                proptest::option::of((any::<bool>(), 0u32..40)),
            )
                .prop_map(|(int, fraction, exponent)| {
                    let mut t = int.to_string();
                    if !fraction.is_empty() {
                        t = format!("{t}.{fraction}");
                    }
                    if let Some((minus, e)) = exponent {
                        t = format!("{t}e{}{e}", if minus { "-" } else { "+" });
                    }
                    t
                }),
            "[a-c\u{e9}\\\"]{0,3}".prop_map(|s| serde_json::Value::String(s).to_string()),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6)
                    .prop_map(|items| format!("[{}]", items.join(","))),
                proptest::collection::vec(("[abc]{1,2}", inner), 0..8).prop_map(|members| {
                    let m: Vec<String> = members
                        .iter()
                        .map(|(k, v)| format!("\"{k}\": {v}"))
                        .collect();
                    format!("{{{}}}", m.join(", "))
                }),
            ]
        })
    }

    proptest::proptest! {
        #[test]
        fn any_text_builds_what_serde_json_builds(t in text()) {
            same(&t);
        }
    }

    /// `t` with `byte` written over (`how` 0), the byte dropped (1) or `byte` inserted (2)
    /// at `at` (modulo the length); unchanged for any other `how`.
    fn damage(t: String, at: usize, byte: u8, how: u8) -> Vec<u8> {
        let mut b = t.into_bytes();
        let at = at % (b.len() + 1);
        match how {
            0 if at < b.len() => b[at] = byte,
            1 if at < b.len() => {
                b.remove(at);
            }
            0..=2 => b.insert(at, byte),
            _ => {}
        }
        b
    }

    proptest::proptest! {
        /// Text with one byte changed, dropped or added: the reader must refuse what
        /// serde_json refuses (its error is then the one reported) and read the rest alike.
        #[test]
        fn damaged_text_is_judged_as_serde_json_judges_it(
            t in text(),
            at in 0usize..200,
            byte in proptest::prop_oneof![
                proptest::sample::select(b"{}[],:\"\\ 0-.eEtfnu/x\t\n".to_vec()),
                0u8..0x80,
            ],
            how in 0u8..3,
        ) {
            let b = damage(t, at, byte, how);
            // (A change inside a two-byte character can leave text that is not UTF-8, which
            // serde_json's byte reader judges on its own.)
            if let Ok(t) = std::str::from_utf8(&b) {
                same(t);
            }
        }
    }

    /// An acceptor that takes any value: the scanner's own grammar.
    fn any(j: &mut Scan<'_>) -> Option<()> {
        j.skip()
    }

    proptest::proptest! {
        /// The scanner reads the text the one-pass reader reads (so only text serde_json
        /// accepts), whole or with one byte changed, dropped or added.
        #[test]
        fn the_scanner_takes_what_the_reader_takes(
            t in text(),
            at in 0usize..200,
            byte in proptest::sample::select(b"{}[],:\" 0-.etfnu\\".to_vec()),
            how in 0u8..4,
        ) {
            let b = damage(t, at, byte, how);
            if let Ok(t) = std::str::from_utf8(&b) {
                // (A name with escapes is left to the tree.)
                let read = read::value(t).is_some();
                let scanned = Scan::accepts(t, any);
                proptest::prop_assert!(!scanned || read, "{}", t);
                proptest::prop_assert!(scanned || !read || t.contains('\\'), "{}", t);
            }
        }
    }

    #[test]
    fn the_scanner_refuses_broken_containers_and_deep_nesting() {
        for text in [
            "{",
            "[",
            "{}",
            "[]",
            "{,}",
            "[,]",
            "[1,]",
            "{\"a\":1,}",
            "{\"a\" 1}",
            "{\"a\":}",
            "{1:2}",
            "[1 2]",
            "{\"a\":1 \"b\":2}",
            "[}",
            "{]",
            "  [ 1 , { } ]  ",
            "[1] [2]",
            "{\"a\":[{\"b\":\"c\"}],\"d\":null}",
            "{\"a\":{}",
            "[{\"a\":{}]",
            "{\"a\":{}}}",
            "{\"a\":[]",
            "[[]",
            "{\"a\":1}}",
        ] {
            assert_eq!(
                Scan::accepts(text, any),
                read::value(text).is_some(),
                "{text}"
            );
        }
        assert!(!Scan::accepts(r#"{"a\u0062": 1}"#, any));
        let deep = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(Scan::accepts(&deep(100), any));
        assert!(!Scan::accepts(&deep(101), any));
    }

    /// What the one-pass reader must take on itself (else the fast path is never taken),
    /// and what it must leave to serde_json.
    #[test]
    fn short_decimals_are_converted_by_the_reader_within_its_limits() {
        use read::small_float;
        assert_eq!(small_float(b"9", b"99", None), Some(9.99));
        assert_eq!(small_float(b"0", b"5", Some((false, b"1"))), Some(5.0));
        assert_eq!(small_float(b"1", b"", Some((true, b"22"))), Some(1e-22));
        assert_eq!(small_float(b"1", b"", Some((false, b"0022"))), Some(1e22));
        assert_eq!(
            small_float(b"12345678901234", b"5", None),
            Some(12345678901234.5)
        );
        // Past its limits: 16 digits, a power beyond 22, five exponent digits.
        assert_eq!(small_float(b"123456789012345", b"6", None), None);
        assert_eq!(small_float(b"1", b"", Some((false, b"23"))), None);
        assert_eq!(small_float(b"1", b"5", Some((true, b"22"))), None);
        assert_eq!(small_float(b"1", b"", Some((false, b"00001"))), None);
    }

    #[test]
    fn the_reader_takes_ordinary_text_and_leaves_the_rest() {
        for text in [
            r#"{"id": 7, "items": [{"sku": "A-1", "qty": 2, "price": 19.99}], "gift": false, "note": null}"#,
            r#" [ -12 , 0 , 123456789012345678 , 1e3 , -0.5 , "t\u00e9\n\ud83d\ude00" ] "#,
            r#"{"a": {"a": {"a": []}}, "a": true}"#,
            "\"caf\u{e9}\"",
        ] {
            assert!(read::value(text).is_some(), "{text}");
            same(text);
        }
        // Every position of an escape, a character or a stray control character in a
        // string read eight bytes at a time, with neighbours on both sides.
        for special in [
            "\\\"", "\\\\", "\\n", "\\u00e9", "\u{e9}", "\u{1}", "\u{1f}", "\u{7f}",
        ] {
            for at in 0..26 {
                let mut s: String = "abcdefghijklmnopqrstuvwxy".into();
                s.insert_str(at, special);
                same(&format!("[\"{s}\", {{\"{s}\": \"{s}{s}\"}}]"));
            }
        }
        let deep = format!("{}{}", "[".repeat(120), "]".repeat(120));
        for text in [
            "",
            " ",
            "[1,]",
            "{\"a\":1,}",
            "01",
            "1.",
            "-",
            "+1",
            "1e",
            ".5",
            "tru",
            "nul",
            "\"\\ud800\"",
            "\"\\udc00\"",
            "\"\\ud800\\u0041\"",
            "\"\\x\"",
            "\"a\tb\"",
            "{\"a\" 1}",
            "{1: 2}",
            "[1 2]",
            "1 2",
            "1e400",
            &deep,
        ] {
            assert!(read::value(text).is_none(), "{text:?}");
            same(text);
        }
    }

    /// Every JSON file of the shared corpora (OpenAPI documents, AWS specs, the JSON Schema
    /// Test Suite, Lambda events): the same tree as serde_json's, read in one pass.
    #[test]
    fn corpus_documents_read_as_serde_json_reads_them() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpora");
        let mut stack = vec![root];
        let mut seen = 0;
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in entries.flatten() {
                let path = e.path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|x| x == "json") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    same(&text);
                    if serde_json::from_str::<serde_json::Value>(&text).is_ok() {
                        assert!(read::value(&text).is_some(), "{}", path.display());
                    }
                    seen += 1;
                }
            }
        }
        assert!(seen > 50, "the corpora hold {seen} JSON files");
    }

    #[test]
    fn text_that_is_not_utf8_fails_as_serde_json_says() {
        for text in [&b"[\"\xff\"]"[..], b"{\"a\": \"\xc3\"}", b"\xef\xbb\xbf{}"] {
            let theirs = serde_json::from_slice::<serde_json::Value>(text).unwrap_err();
            let ours = Value::parse(text).unwrap_err();
            assert_eq!(ours.to_string(), theirs.to_string());
        }
    }

    #[test]
    fn duplicate_names_keep_the_first_position_and_the_last_value_in_large_objects() {
        let mut text = String::from("{");
        for i in 0..40 {
            text.push_str(&format!("\"k{}\": {i}, ", i % 25));
        }
        text.push_str("\"k3\": \"last\"}");
        same(&text);
        let v = Value::parse(text.as_bytes()).unwrap();
        let Value::Object(o) = &v else { panic!() };
        assert_eq!(o.len(), 25);
        assert_eq!(o.get("k3").and_then(Value::as_str), Some("last"));
        assert_eq!(o.keys().next().map(|k| k.as_str()), Some("k0"));
    }

    #[test]
    fn strings_without_escapes_are_borrowed() {
        let text = br#"{"name": "Rex", "esc": "a\nb"}"#;
        let Value::Object(o) = Value::parse(text).unwrap() else {
            panic!()
        };
        let kinds: Vec<bool> = o
            .iter()
            .flat_map(|(k, v)| {
                let Value::String(s) = v else { panic!() };
                [
                    matches!(k.0, Cow::Borrowed(_)),
                    matches!(s.0, Cow::Borrowed(_)),
                ]
            })
            .collect();
        assert_eq!(kinds, [true, true, true, false]);
    }
}
