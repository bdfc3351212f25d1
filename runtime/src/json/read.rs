//! The JSON text of a request (or a function's answer) read into a [`Value`] in one pass,
//! for text that serde_json would accept. By hand because serde's visitor protocol was
//! most of a validated request's cost: a 775-byte order took about 27,000 instructions to
//! parse through `Deserialize` (a `MapAccess` call, a key seed and a value seed per member,
//! a second scan of every string for its escapes) where this reader takes a fraction of
//! that.
//!
//! It is a fast path, not a second authority: it accepts a subset of what serde_json
//! accepts and builds the same tree from it (the caller's tests compare the two on
//! generated, corpus and malformed text). Whatever it is not sure of — any syntax error,
//! invalid escapes, lone surrogates, numbers that are not small integers, nesting deeper
//! than [`MAX_DEPTH`] — it gives up on, and the caller parses with serde_json, whose errors
//! and number conversions are then the ones the gateway reports.

use std::borrow::Cow;

use super::{Map, Str, Value};

/// Nesting the reader takes on itself; serde_json's limit is 127 levels, the deeper ones
/// it judges.
const MAX_DEPTH: u32 = 100;

/// `text` as a value, or `None` when serde_json should judge it.
pub(super) fn value(text: &str) -> Option<Value<'_>> {
    let mut r = Reader {
        text,
        bytes: text.as_bytes(),
        at: 0,
        members: Vec::with_capacity(16),
        items: Vec::with_capacity(16),
    };
    let v = r.value(0)?;
    r.skip_space();
    (r.at == r.bytes.len()).then_some(v)
}

struct Reader<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
    /// The members of the objects being read, innermost last, and the items of the arrays:
    /// a container's own vector is made once its size is known (one allocation of the
    /// right size, where pushing into it grew it two or three times).
    members: Vec<(Str<'a>, Value<'a>)>,
    items: Vec<Value<'a>>,
}

impl<'a> Reader<'a> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    /// JSON's whitespace (serde_json's set: space, tab, line feed, carriage return). Most
    /// calls find none: a byte above the space ends the loop on one comparison.
    #[inline(always)]
    fn skip_space(&mut self) {
        while let Some(&b) = self.bytes.get(self.at) {
            if b > b' ' || !matches!(b, b' ' | b'\n' | b'\t' | b'\r') {
                return;
            }
            self.at += 1;
        }
    }

    /// The next byte that is not whitespace, consumed.
    #[inline(always)]
    fn next_token(&mut self) -> Option<u8> {
        self.skip_space();
        let b = self.peek()?;
        self.at += 1;
        Some(b)
    }

    fn value(&mut self, depth: u32) -> Option<Value<'a>> {
        match self.next_token()? {
            b'"' => self.string().map(Value::String),
            b'{' => self.object(depth + 1),
            b'[' => self.array(depth + 1),
            b't' => self.literal(b"rue", Value::Bool(true)),
            b'f' => self.literal(b"alse", Value::Bool(false)),
            b'n' => self.literal(b"ull", Value::Null),
            b'-' | b'0'..=b'9' => {
                self.at -= 1;
                self.number()
            }
            _ => None,
        }
    }

    fn literal(&mut self, rest: &[u8], v: Value<'a>) -> Option<Value<'a>> {
        let end = self.at + rest.len();
        (self.bytes.get(self.at..end)? == rest).then(|| {
            self.at = end;
            v
        })
    }

    fn object(&mut self, depth: u32) -> Option<Value<'a>> {
        if depth > MAX_DEPTH {
            return None;
        }
        match self.next_token()? {
            b'}' => return Some(Value::Object(Map(Vec::new()))),
            b'"' => {}
            _ => return None,
        }
        let base = self.members.len();
        loop {
            let name = self.string()?;
            if self.next_token()? != b':' {
                return None;
            }
            let v = self.value(depth)?;
            self.members.push((name, v));
            match self.next_token()? {
                b',' => {
                    // A name must follow (no trailing comma).
                    if self.next_token()? != b'"' {
                        return None;
                    }
                }
                b'}' => break,
                _ => return None,
            }
        }
        let mut m = Map(self.members.split_off(base));
        m.dedup();
        Some(Value::Object(m))
    }

    fn array(&mut self, depth: u32) -> Option<Value<'a>> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.skip_space();
        if self.peek()? == b']' {
            self.at += 1;
            return Some(Value::Array(Vec::new()));
        }
        let base = self.items.len();
        loop {
            let v = self.value(depth)?;
            self.items.push(v);
            match self.next_token()? {
                b',' => {}
                b']' => return Some(Value::Array(self.items.split_off(base))),
                _ => return None,
            }
        }
    }

    /// A string's contents, the opening quote consumed: borrowed when it has no escapes.
    #[inline(always)]
    fn string(&mut self) -> Option<Str<'a>> {
        let start = self.at;
        loop {
            self.skip_plain();
            match *self.bytes.get(self.at)? {
                b'"' => {
                    // Both ends are ASCII, so both are character boundaries of `text`.
                    // (`split_at_checked` is inlined; `str::get` with a range was a call
                    // per string.)
                    let s = self
                        .text
                        .split_at_checked(self.at)?
                        .0
                        .split_at_checked(start)?
                        .1;
                    self.at += 1;
                    return Some(Str(Cow::Borrowed(s)));
                }
                b'\\' => return self.escaped(start),
                // Control characters must be escaped.
                0..=0x1f => return None,
                _ => self.at += 1,
            }
        }
    }

    /// Past a string's bytes up to the next that ends a plain run (a quote, a backslash or
    /// a control character), eight at a time: strings are most of a body's bytes, and a
    /// byte at a time cost ten instructions each. Stops short of the text's last eight
    /// bytes, which the caller's byte loop reads.
    #[inline(always)]
    fn skip_plain(&mut self) {
        while let Some(word) = self.bytes.get(self.at..self.at + 8) {
            let w = u64::from_le_bytes(word.try_into().unwrap_or_default());
            let special = special_bytes(w);
            if special != 0 {
                // The lowest flag is exact (a false one can only follow a true one).
                self.at += (special.trailing_zeros() / 8) as usize;
                return;
            }
            self.at += 8;
        }
    }

    /// The rest of a string with escapes, from `start` (just after its opening quote);
    /// `self.at` is at its first backslash.
    fn escaped(&mut self, start: usize) -> Option<Str<'a>> {
        let mut out = String::with_capacity(self.at - start + 16);
        let mut plain = start;
        loop {
            self.skip_plain();
            match *self.bytes.get(self.at)? {
                b'"' => {
                    out.push_str(self.text.get(plain..self.at)?);
                    self.at += 1;
                    return Some(Str(Cow::Owned(out)));
                }
                b'\\' => {
                    out.push_str(self.text.get(plain..self.at)?);
                    let e = *self.bytes.get(self.at + 1)?;
                    self.at += 2;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => out.push(self.unicode_escape()?),
                        _ => return None,
                    }
                    plain = self.at;
                }
                0..=0x1f => return None,
                _ => self.at += 1,
            }
        }
    }

    /// The character of a `\u` escape whose four digits start at `self.at`: a surrogate
    /// pair makes one; a lone surrogate is serde_json's to refuse.
    fn unicode_escape(&mut self) -> Option<char> {
        let first = self.hex4()?;
        match first {
            0xD800..=0xDBFF => {
                if self.bytes.get(self.at..self.at + 2)? != b"\\u" {
                    return None;
                }
                self.at += 2;
                let second = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&second) {
                    return None;
                }
                char::from_u32(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00))
            }
            0xDC00..=0xDFFF => None,
            c => char::from_u32(c),
        }
    }

    fn hex4(&mut self) -> Option<u32> {
        let digits = self.bytes.get(self.at..self.at + 4)?;
        let mut n = 0;
        for &d in digits {
            n = n * 16 + char::from(d).to_digit(16)?;
        }
        self.at += 4;
        Some(n)
    }

    /// A number: JSON's grammar checked here; an integer of up to 18 digits becomes a
    /// `Number` directly, a fraction or exponent of up to 15 significant digits and a
    /// power of ten within 22 by serde_json's own arithmetic (see [`small_float`]),
    /// anything else (`-0`, larger numbers) through serde_json's conversion of the text.
    fn number(&mut self) -> Option<Value<'a>> {
        let start = self.at;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.at += 1;
        }
        let int_start = self.at;
        match self.peek()? {
            b'0' => self.at += 1,
            b'1'..=b'9' => {
                while let Some(b'0'..=b'9') = self.peek() {
                    self.at += 1;
                }
            }
            _ => return None,
        }
        let int_end = self.at;
        let mut fraction: &[u8] = &[];
        let mut exponent: Option<(bool, &[u8])> = None;
        if self.peek() == Some(b'.') {
            self.at += 1;
            let from = self.at;
            self.digits()?;
            fraction = &self.bytes[from..self.at];
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.at += 1;
            let minus = self.peek() == Some(b'-');
            if let Some(b'+' | b'-') = self.peek() {
                self.at += 1;
            }
            let from = self.at;
            self.digits()?;
            exponent = Some((minus, &self.bytes[from..self.at]));
        }
        let digits = &self.bytes[int_start..int_end];
        if fraction.is_empty() && exponent.is_none() && digits.len() <= 18 {
            let n = decimal(0, digits);
            // `-0` is a float in serde_json's tree; it goes the slow way below.
            if !negative {
                return Some(Value::Number(n.into()));
            }
            if n != 0 {
                return Some(Value::Number((-(n as i64)).into()));
            }
        } else if let Some(f) = small_float(digits, fraction, exponent) {
            let f = if negative { -f } else { f };
            if let Some(n) = serde_json::Number::from_f64(f) {
                return Some(Value::Number(n));
            }
        }
        let text = self.text.get(start..self.at)?;
        let n: serde_json::Number = text.parse().ok()?;
        Some(Value::Number(n))
    }

    /// One or more decimal digits.
    fn digits(&mut self) -> Option<()> {
        let from = self.at;
        while let Some(b'0'..=b'9') = self.peek() {
            self.at += 1;
        }
        (self.at > from).then_some(())
    }
}

/// `n` followed by decimal `digits` (that fit in a `u64`), as a number.
#[inline]
fn decimal(n: u64, digits: &[u8]) -> u64 {
    digits.iter().fold(n, |n, &d| n * 10 + u64::from(d - b'0'))
}

/// The magnitude of a number with a fraction or an exponent, computed as serde_json
/// computes it (without its `float_roundtrip` feature: the digits as an integer, times or
/// divided by a power of ten), when both are exact in an `f64` (at most 15 digits, a power
/// of at most 22): one rounding of exact operands, so also what a correctly rounding
/// parser (serde_json's `float_roundtrip`) gives. `None`: serde_json's to convert.
pub(super) fn small_float(
    int: &[u8],
    fraction: &[u8],
    exponent: Option<(bool, &[u8])>,
) -> Option<f64> {
    const POW10: [f64; 23] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
        1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ];
    if int.len() + fraction.len() > 15 {
        return None;
    }
    let significand = decimal(decimal(0, int), fraction);
    let mut power = -(fraction.len() as i64);
    if let Some((minus, digits)) = exponent {
        if digits.len() > 4 {
            return None;
        }
        let e = decimal(0, digits) as i64;
        power += if minus { -e } else { e };
    }
    let f = significand as f64;
    let scale = *POW10.get(usize::try_from(power.unsigned_abs()).ok()?)?;
    Some(if power >= 0 { f * scale } else { f / scale })
}

/// The top bit of each byte of `w` set where the lowest such byte is a quote, a backslash
/// or a control character (bits above the lowest may be set falsely by a borrow; the
/// lowest is exact).
#[inline]
fn special_bytes(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const TOPS: u64 = 0x8080_8080_8080_8080;
    let zero_byte = |x: u64| x.wrapping_sub(ONES) & !x & TOPS;
    let control = w.wrapping_sub(ONES * 0x20) & !w & TOPS;
    control | zero_byte(w ^ (ONES * u64::from(b'"'))) | zero_byte(w ^ (ONES * u64::from(b'\\')))
}

/// JSON text read value by value, for the acceptors specgate generates next to each body
/// validator: a valid body is checked as it is read, with no tree built, dropped or
/// deduplicated (the tree cost two thirds of a validated request's instructions).
///
/// An acceptor answers `Some(())` only when the text is JSON serde_json accepts and the
/// tree validator would find nothing wrong with it; `None` means "not sure": a syntax
/// error, something the reader leaves to serde_json (see [`value`]), a member named twice
/// where that matters, a keyword the acceptor does not take on, or a failed check. The
/// caller then parses and validates the tree as before, so every message, and every
/// verdict on a body the acceptor is unsure of, is the tree validator's.
pub struct Scan<'a> {
    r: Reader<'a>,
    /// Objects and arrays open.
    depth: u32,
    /// A member's name could not be read (see [`Scan::key`]).
    broken: bool,
    /// Where the last string [`Scan::scalar`] read began (its opening quote), when it had
    /// no escapes, and its text.
    plain: (usize, &'a str),
}

impl<'a> Scan<'a> {
    /// Whether `accept` accepts all of `text` (one value, whitespace around it).
    pub fn accepts(text: &'a str, accept: fn(&mut Scan<'a>) -> Option<()>) -> bool {
        let mut s = Scan {
            r: Reader {
                text,
                bytes: text.as_bytes(),
                at: 0,
                members: Vec::new(),
                items: Vec::new(),
            },
            depth: 0,
            broken: false,
            plain: (usize::MAX, ""),
        };
        if accept(&mut s).is_none() {
            return false;
        }
        s.r.skip_space();
        s.r.at == s.r.bytes.len()
    }

    /// The first byte of the next value, whitespace skipped (not consumed).
    #[inline]
    pub fn peek(&mut self) -> Option<u8> {
        self.r.skip_space();
        self.r.peek()
    }

    /// The next value, which must not be an object or an array, read and checked by the
    /// tree validator `check` (a scalar's tree is the value itself: nothing allocated
    /// unless a string has escapes).
    #[inline]
    pub fn scalar(&mut self, check: crate::validate::Model) -> Option<()> {
        let at = self.mark();
        let v = match *self.r.bytes.get(at)? {
            b'"' => {
                self.r.at += 1;
                let text = self.r.string()?;
                if let Cow::Borrowed(t) = text.0 {
                    self.plain = (at, t);
                }
                Value::String(text)
            }
            b'-' | b'0'..=b'9' => self.r.number()?,
            b'{' | b'[' => return None,
            _ => self.r.value(0)?,
        };
        let ok = crate::schema::passes(&v, &crate::schema::Path::Root, check);
        // A borrowed string (the usual scalar) owns nothing: no call to its drop glue.
        if let Value::String(Str(Cow::Borrowed(_))) = v {
            std::mem::forget(v);
        } else {
            drop(v);
        }
        ok.then_some(())
    }

    /// Past the `{` or `[` the caller peeked.
    #[inline]
    pub fn open(&mut self) -> Option<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        self.r.at += 1;
        Some(())
    }

    /// The name of an open object's next member, its `:` consumed; `None` when the object
    /// has ended (its `}` consumed) or its text is broken, which [`Scan::ended`] tells
    /// apart. A name with escapes counts as broken: the acceptor leaves it to the tree.
    /// `first`: no member read yet.
    #[inline]
    pub fn key(&mut self, first: &mut bool) -> Option<&'a str> {
        match self.name(first) {
            Ok(name) => name,
            Err(()) => {
                self.broken = true;
                None
            }
        }
    }

    /// A member's name, `Ok(None)` at the object's end, `Err` for broken text.
    #[inline(always)]
    fn name(&mut self, first: &mut bool) -> Result<Option<&'a str>, ()> {
        let mut t = self.r.next_token().ok_or(())?;
        if std::mem::replace(first, false) {
            if t == b'}' {
                self.depth -= 1;
                return Ok(None);
            }
        } else {
            match t {
                b',' => t = self.r.next_token().ok_or(())?,
                b'}' => {
                    self.depth -= 1;
                    return Ok(None);
                }
                _ => return Err(()),
            }
        }
        if t != b'"' {
            return Err(());
        }
        let Some(Str(Cow::Borrowed(k))) = self.r.string() else {
            return Err(());
        };
        if self.r.next_token() != Some(b':') {
            return Err(());
        }
        Ok(Some(k))
    }

    /// After [`Scan::key`] said `None`: whether the object ended well.
    #[inline]
    pub fn ended(&self) -> Option<()> {
        (!self.broken).then_some(())
    }

    /// Whether an open array has another item (not consumed); at its end, the `]` is
    /// consumed. `first`: no item read yet.
    #[inline]
    pub fn item(&mut self, first: &mut bool) -> Option<bool> {
        if std::mem::replace(first, false) {
            if self.peek()? == b']' {
                self.r.at += 1;
                self.depth -= 1;
                return Some(false);
            }
            return Some(true);
        }
        match self.r.next_token()? {
            b',' => Some(true),
            b']' => {
                self.depth -= 1;
                Some(false)
            }
            _ => None,
        }
    }

    /// Past the next value, whatever it is (its syntax checked).
    pub fn skip(&mut self) -> Option<()> {
        match self.peek()? {
            b'{' => {
                self.open()?;
                let mut first = true;
                while self.key(&mut first).is_some() {
                    self.skip()?;
                }
                self.ended()
            }
            b'[' => {
                self.open()?;
                let mut first = true;
                while self.item(&mut first)? {
                    self.skip()?;
                }
                Some(())
            }
            _ => self.r.value(0).map(drop),
        }
    }

    /// Where the next value starts (whitespace skipped).
    #[inline]
    pub fn mark(&mut self) -> usize {
        self.r.skip_space();
        self.r.at
    }

    /// The text of the string read by [`Scan::scalar`] as the value that began at `from`
    /// ([`Scan::mark`]), when it had no escapes: such texts are equal exactly when the
    /// strings are (`uniqueItems` over strings, compared without decoding). `None` for
    /// anything else.
    #[inline]
    pub fn plain_string_at(&self, from: usize) -> Option<&'a str> {
        (self.plain.0 == from).then_some(self.plain.1)
    }
}
