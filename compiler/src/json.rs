//! A strict RFC 8259 JSON parser that builds the spanned [`Node`] tree directly.
//!
//! Written by hand because no maintained JSON crate reports spans for every value and key,
//! and the YAML scanner (which also reads JSON) is about ten times slower on large exports
//! such as GitHub's 13 MB description. Input that is not strict JSON (comments, trailing
//! commas, YAML flow style) makes this parser give up, and the YAML parser reads the file
//! instead — so it never changes what is accepted, only how fast.

use serde_json::Number;

use crate::source::{FileId, Span};
use crate::tree::{Entry, Node, NodeValue, MAX_DEPTH};

/// Why strict JSON parsing stopped (the caller falls back to the YAML parser).
#[derive(Debug)]
pub struct NotJson {
    /// Byte offset.
    pub at: usize,
    /// What was expected there.
    pub expected: &'static str,
}

/// A duplicate key found while parsing: (key, first key span, second key span).
pub type Duplicate = (String, Span, Span);

/// Parses `text` as one JSON value. Duplicate keys keep the first value and are returned.
pub fn parse(file: FileId, text: &str) -> Result<(Node, Vec<Duplicate>), NotJson> {
    let mut p = P {
        b: text.as_bytes(),
        s: text,
        i: 0,
        file,
        dups: Vec::new(),
    };
    p.ws();
    let n = p.value(0)?;
    p.ws();
    if p.i != p.b.len() {
        return p.err("the end of the document");
    }
    Ok((n, p.dups))
}

struct P<'a> {
    b: &'a [u8],
    s: &'a str,
    i: usize,
    file: FileId,
    dups: Vec<Duplicate>,
}

impl P<'_> {
    fn err<T>(&self, expected: &'static str) -> Result<T, NotJson> {
        Err(NotJson {
            at: self.i,
            expected,
        })
    }

    fn ws(&mut self) {
        while let Some(c) = self.b.get(self.i) {
            if matches!(c, b' ' | b'\t' | b'\n' | b'\r') {
                self.i += 1;
            } else {
                break;
            }
        }
    }

    fn span(&self, start: usize) -> Span {
        Span::new(self.file, start, self.i)
    }

    fn value(&mut self, depth: usize) -> Result<Node, NotJson> {
        if depth > MAX_DEPTH {
            return self.err("less nesting");
        }
        let start = self.i;
        let value = match self.b.get(self.i) {
            Some(b'{') => {
                self.i += 1;
                let mut entries: Vec<Entry> = Vec::new();
                self.ws();
                if self.b.get(self.i) == Some(&b'}') {
                    self.i += 1;
                } else {
                    loop {
                        self.ws();
                        let ks = self.i;
                        let key = self.string()?;
                        let key_span = self.span(ks);
                        self.ws();
                        if self.b.get(self.i) != Some(&b':') {
                            return self.err("`:`");
                        }
                        self.i += 1;
                        self.ws();
                        let v = self.value(depth + 1)?;
                        // Small objects dominate; a linear scan beats hashing here.
                        if let Some(prev) = entries.iter().find(|e| e.key == key) {
                            self.dups.push((key, prev.key_span, key_span));
                        } else {
                            entries.push(Entry {
                                key,
                                key_span,
                                value: v,
                            });
                        }
                        self.ws();
                        match self.b.get(self.i) {
                            Some(b',') => self.i += 1,
                            Some(b'}') => {
                                self.i += 1;
                                break;
                            }
                            _ => return self.err("`,` or `}`"),
                        }
                    }
                }
                NodeValue::Object(entries)
            }
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.b.get(self.i) == Some(&b']') {
                    self.i += 1;
                } else {
                    loop {
                        self.ws();
                        items.push(self.value(depth + 1)?);
                        self.ws();
                        match self.b.get(self.i) {
                            Some(b',') => self.i += 1,
                            Some(b']') => {
                                self.i += 1;
                                break;
                            }
                            _ => return self.err("`,` or `]`"),
                        }
                    }
                }
                NodeValue::Array(items)
            }
            Some(b'"') => NodeValue::String(self.string()?),
            Some(b't') => self.literal("true", NodeValue::Bool(true))?,
            Some(b'f') => self.literal("false", NodeValue::Bool(false))?,
            Some(b'n') => self.literal("null", NodeValue::Null)?,
            Some(b'-' | b'0'..=b'9') => NodeValue::Number(self.number()?),
            _ => return self.err("a value"),
        };
        Ok(Node {
            span: self.span(start),
            value,
        })
    }

    fn literal(&mut self, word: &str, v: NodeValue) -> Result<NodeValue, NotJson> {
        if self.b[self.i..].starts_with(word.as_bytes()) {
            self.i += word.len();
            Ok(v)
        } else {
            self.err("a value")
        }
    }

    fn number(&mut self) -> Result<Number, NotJson> {
        let start = self.i;
        if self.b.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        match self.b.get(self.i) {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                while matches!(self.b.get(self.i), Some(b'0'..=b'9')) {
                    self.i += 1;
                }
            }
            _ => return self.err("a digit"),
        }
        let mut float = false;
        if self.b.get(self.i) == Some(&b'.') {
            float = true;
            self.i += 1;
            if !matches!(self.b.get(self.i), Some(b'0'..=b'9')) {
                return self.err("a digit");
            }
            while matches!(self.b.get(self.i), Some(b'0'..=b'9')) {
                self.i += 1;
            }
        }
        if matches!(self.b.get(self.i), Some(b'e' | b'E')) {
            float = true;
            self.i += 1;
            if matches!(self.b.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !matches!(self.b.get(self.i), Some(b'0'..=b'9')) {
                return self.err("a digit");
            }
            while matches!(self.b.get(self.i), Some(b'0'..=b'9')) {
                self.i += 1;
            }
        }
        let t = &self.s[start..self.i];
        if !float {
            if let Ok(v) = t.parse::<i64>() {
                return Ok(Number::from(v));
            }
            if let Ok(v) = t.parse::<u64>() {
                return Ok(Number::from(v));
            }
        }
        t.parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .ok_or(NotJson {
                at: start,
                expected: "a number in range",
            })
    }

    fn string(&mut self) -> Result<String, NotJson> {
        if self.b.get(self.i) != Some(&b'"') {
            return self.err("a string in double quotes");
        }
        self.i += 1;
        let start = self.i;
        // Fast path: no escapes.
        while let Some(&c) = self.b.get(self.i) {
            match c {
                b'"' => {
                    let s = self.s[start..self.i].to_string();
                    self.i += 1;
                    return Ok(s);
                }
                b'\\' => break,
                0..=0x1f => return self.err("an escaped control character"),
                _ => self.i += 1,
            }
        }
        let mut out = String::from(&self.s[start..self.i]);
        loop {
            let Some(&c) = self.b.get(self.i) else {
                return self.err("the closing `\"`");
            };
            match c {
                b'"' => {
                    self.i += 1;
                    return Ok(out);
                }
                b'\\' => {
                    self.i += 1;
                    let Some(&e) = self.b.get(self.i) else {
                        return self.err("a valid escape sequence");
                    };
                    self.i += 1;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let hi = self.hex4()?;
                            let ch = if (0xD800..0xDC00).contains(&hi) {
                                if self.b.get(self.i) != Some(&b'\\')
                                    || self.b.get(self.i + 1) != Some(&b'u')
                                {
                                    return self.err("a valid escape sequence");
                                }
                                self.i += 2;
                                let lo = self.hex4()?;
                                if !(0xDC00..0xE000).contains(&lo) {
                                    return self.err("a valid escape sequence");
                                }
                                char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
                            } else {
                                char::from_u32(hi)
                            };
                            match ch {
                                Some(ch) => out.push(ch),
                                None => return self.err("a valid escape sequence"),
                            }
                        }
                        _ => return self.err("a valid escape sequence"),
                    }
                }
                0..=0x1f => return self.err("an escaped control character"),
                _ => {
                    // Copy one whole UTF-8 character.
                    let ch_len = utf8_len(c);
                    out.push_str(&self.s[self.i..self.i + ch_len]);
                    self.i += ch_len;
                }
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, NotJson> {
        let h = self.s.get(self.i..self.i + 4).unwrap_or("");
        // from_str_radix accepts a leading `+`, so check the digits first.
        if h.len() != 4 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
            return self.err("four hex digits");
        }
        self.i += 4;
        u32::from_str_radix(h, 16).or_else(|_| self.err("four hex digits"))
    }
}

fn utf8_len(first: u8) -> usize {
    match first {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_serde_json() {
        let text = r#"{"a": [1, -2.5e3, "x\u00e9\ud83d\ude00\n", true, null, {}], "b": 18446744073709551615}"#;
        let (n, d) = parse(FileId(0), text).unwrap();
        assert!(d.is_empty());
        let expected: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(n.to_json(), expected);
        let one = n.pointer("/a/1").unwrap();
        assert_eq!(
            &text[one.span.start as usize..one.span.end as usize],
            "-2.5e3"
        );
    }

    #[test]
    fn rejects_what_is_not_strict_json() {
        for bad in [
            "{a: 1}",
            "[1,]",
            "{\"a\":1} x",
            "\"\\x\"",
            "01",
            "1.",
            "[\"\u{1}\"]",
            "\"\\ud800\"",
            "",
        ] {
            assert!(parse(FileId(0), bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn duplicates_are_returned() {
        let (_, d) = parse(FileId(0), r#"{"a":1,"a":2}"#).unwrap();
        assert_eq!(d.len(), 1);
    }
}
