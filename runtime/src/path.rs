//! Request paths: split into segments, then percent-decode each segment once. Splitting
//! before decoding means `%2F` inside a segment never becomes a separator, and nothing is
//! normalised (`..`, `//`), so the router sees exactly what the client sent and no path can
//! reach a route it does not spell.

use std::borrow::Cow;

use smallvec::SmallVec;

/// A path's segments: on the stack for paths of up to 16 segments (nearly all).
pub type Segments<'a> = SmallVec<[&'a str; 16]>;

/// Segments of a path, still encoded. `/` → `[]`; `/a/b` → `["a", "b"]`; a trailing slash
/// gives a final empty segment, which API Gateway routes do not match. A byte loop rather
/// than `str::split`: segments are short, and this runs for every request.
#[inline]
pub fn segments(path: &str) -> Segments<'_> {
    let p = path.strip_prefix('/').unwrap_or(path);
    let mut out = Segments::new();
    if p.is_empty() {
        return out;
    }
    let mut start = 0;
    for (i, &c) in p.as_bytes().iter().enumerate() {
        if c == b'/' {
            out.push(&p[start..i]);
            start = i + 1;
        }
    }
    out.push(&p[start..]);
    out
}

/// Every segment percent-decoded ([`decode`]).
pub fn decode_all<'a>(raw: &[&'a str]) -> SmallVec<[Cow<'a, str>; 16]> {
    raw.iter().map(|s| decode(s)).collect()
}

/// Borrowed views of decoded segments, for the router.
pub fn as_strs<'a>(decoded: &'a [Cow<'_, str>]) -> Segments<'a> {
    decoded.iter().map(|s| s.as_ref()).collect()
}

/// Whether a decoded segment is `.` or `..`. Such paths are never routed: normalising them
/// here would let `/public/../admin` reach a route it does not spell, and forwarding them
/// would let a backend that normalises (most do, after decoding `%2E`) escape the
/// integration's base path. The gateway answers them like an unknown route.
pub fn has_dot_segment(decoded: &[&str]) -> bool {
    decoded.iter().any(|s| *s == "." || *s == "..")
}

/// Percent-decodes a path segment. Invalid escapes are kept as written; invalid UTF-8 is
/// replaced (U+FFFD), so decoding never fails.
pub fn decode(s: &str) -> Cow<'_, str> {
    if !s.contains('%') {
        return Cow::Borrowed(s);
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

/// Decodes a query-string component (`+` is a space).
pub fn decode_query(s: &str) -> String {
    if s.contains('+') {
        decode(&s.replace('+', " ")).into_owned()
    } else {
        decode(s).into_owned()
    }
}

fn hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Percent-encodes every byte of `s` that is not ASCII alphanumeric or in `keep`.
fn encode(s: &str, keep: &[u8]) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || keep.contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Percent-encodes a value for use inside one path segment of a backend URL.
pub fn encode_segment(s: &str) -> String {
    encode(s, b"-._~!$&'()*+,;=:@")
}

/// Percent-encodes a query-string component.
pub fn encode_query(s: &str) -> String {
    encode(s, b"-._~")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_then_decode() {
        assert_eq!(segments("/").as_slice(), &[] as &[&str]);
        assert_eq!(segments("/a/b%2Fc").as_slice(), ["a", "b%2Fc"]);
        assert_eq!(decode("b%2Fc"), "b/c");
        assert_eq!(segments("/a/").as_slice(), ["a", ""]);
        assert_eq!(segments("/../x").as_slice(), ["..", "x"]);
        assert_eq!(segments("a//b").as_slice(), ["a", "", "b"]);
        assert!(has_dot_segment(&["a", ".."]));
        assert!(has_dot_segment(&[".", "b"]));
        assert!(!has_dot_segment(&["...", ".a", "a."]));
        assert_eq!(decode("%zz%4"), "%zz%4");
        assert_eq!(decode("%C3%A9"), "é");
        assert_eq!(decode("%FF"), "\u{FFFD}");
        assert_eq!(decode_query("a+b%20c"), "a b c");
        assert_eq!(encode_segment("a b/é"), "a%20b%2F%C3%A9");
    }
}
