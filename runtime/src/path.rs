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

/// Whether a decoded segment is `.` or `..`, or holds one once split at the slashes and
/// backslashes it decoded to (`..%2fadmin`, `%2e%2e%5c`). Such paths are never routed:
/// normalising them here would let `/public/../admin` reach a route it does not spell, and
/// forwarding them would let a backend that normalises (most do, after decoding) escape the
/// integration's base path. The gateway answers them like an unknown route.
pub fn has_dot_segment(decoded: &[&str]) -> bool {
    decoded
        .iter()
        .any(|s| s.split(['/', '\\']).any(|part| part == "." || part == ".."))
}

/// Percent-decodes a path segment. Invalid escapes are kept as written; invalid UTF-8 is
/// replaced (U+FFFD), so decoding never fails.
pub fn decode(s: &str) -> Cow<'_, str> {
    match decode_bytes(s) {
        Cow::Borrowed(_) => Cow::Borrowed(s),
        Cow::Owned(b) => Cow::Owned(match String::from_utf8(b) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        }),
    }
}

/// The bytes a percent-encoded text stands for (invalid escapes kept as written).
pub fn decode_bytes(s: &str) -> Cow<'_, [u8]> {
    if !s.contains('%') {
        return Cow::Borrowed(s.as_bytes());
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex_digit(b[i + 1]), hex_digit(b[i + 2])) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    Cow::Owned(out)
}

/// A raw (percent-encoded, as received) path segment encoded again for a backend URL: the
/// same bytes, with every byte outside the segment's safe set escaped. Bytes that are not
/// UTF-8 (`%FF`) stay what the client sent.
pub fn reencode_segment(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    push_reencoded_segment(&mut out, raw);
    out
}

/// [`reencode_segment`], appended to `out` (a backend URL being built: no string of its own
/// per parameter).
pub fn push_reencoded_segment(out: &mut String, raw: &str) {
    push_encoded(out, &decode_bytes(raw), SEGMENT_SAFE);
}

/// [`decode_query`], borrowing a component with nothing to decode.
pub fn decode_query_cow(s: &str) -> Cow<'_, str> {
    if s.contains('+') {
        Cow::Owned(decode(&s.replace('+', " ")).into_owned())
    } else {
        decode(s)
    }
}

/// Decodes a query-string component (`+` is a space).
pub fn decode_query(s: &str) -> String {
    decode_query_cow(s).into_owned()
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(HEX[usize::from(b >> 4)] as char);
        s.push(HEX[usize::from(b & 15)] as char);
    }
    s
}

/// The `N` bytes `s` spells in hex (either case); `None` unless it is exactly `2N` hex digits.
pub fn unhex<const N: usize>(s: &str) -> Option<[u8; N]> {
    let b = s.as_bytes();
    if b.len() != N * 2 {
        return None;
    }
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        *o = hex_digit(b[2 * i])? * 16 + hex_digit(b[2 * i + 1])?;
    }
    Some(out)
}

/// Characters a path segment may hold unescaped (RFC 3986 `pchar` minus `%`).
const SEGMENT_SAFE: &[u8] = b"-._~!$&'()*+,;=:@";

/// Percent-encodes every byte of `s` that is not ASCII alphanumeric or in `keep`.
fn encode(s: &str, keep: &[u8]) -> String {
    encode_bytes(s.as_bytes(), keep)
}

/// Percent-encodes every byte that is not ASCII alphanumeric or in `keep` (upper-case
/// escapes, as SigV4 and URLs want them).
pub fn encode_bytes(bytes: &[u8], keep: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    push_encoded(&mut out, bytes, keep);
    out
}

/// [`encode_bytes`], appended to `out`.
pub fn push_encoded(out: &mut String, bytes: &[u8], keep: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in bytes {
        if b.is_ascii_alphanumeric() || keep.contains(&b) {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 15)] as char);
        }
    }
}

/// Percent-encodes a value for use inside one path segment of a backend URL.
pub fn encode_segment(s: &str) -> String {
    encode(s, SEGMENT_SAFE)
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
        assert!(has_dot_segment(&["../admin"]));
        assert!(has_dot_segment(&["a\\..\\b"]));
        assert!(has_dot_segment(&["x/."]));
        assert!(!has_dot_segment(&["a/b", "..x/y"]));
        assert_eq!(reencode_segment("%ff%41b%2F"), "%FFAb%2F");
        assert_eq!(reencode_segment("caf%C3%A9 x"), "caf%C3%A9%20x");
        let mut url = String::from("http://10.0.0.1/pets/");
        push_reencoded_segment(&mut url, "caf%C3%A9 x");
        assert_eq!(url, "http://10.0.0.1/pets/caf%C3%A9%20x");
        assert_eq!(decode("%zz%4"), "%zz%4");
        assert_eq!(decode("%C3%A9"), "é");
        assert_eq!(decode("%FF"), "\u{FFFD}");
        assert_eq!(decode_query("a+b%20c"), "a b c");
        assert_eq!(encode_segment("a b/é"), "a%20b%2F%C3%A9");
    }
}
