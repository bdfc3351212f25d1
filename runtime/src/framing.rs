//! HTTP/1.1 message framing (RFC 9112 §6–7), shared by the server's request bodies
//! (`http1`) and the upstream client's response bodies (`upstream::pool`): how a body is
//! delimited, the decoder that takes it out of a buffer piece by piece, and reads through
//! a per-thread scratch buffer. A leaf module: it depends on nothing else in the crate.

use std::cell::RefCell;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes, BytesMut};
use http::header::HeaderName;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The longest chunk-size line (with extensions) and the most trailer bytes accepted.
pub const MAX_CHUNK_LINE: usize = 1024;
/// The most bytes of trailer fields accepted after a chunked body.
pub const MAX_TRAILERS: usize = 16 * 1024;

/// How the current request's body is delimited, and how far it has been read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// `Content-Length`: bytes still to come.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked(Chunk),
    /// The body has been read to its end.
    Done,
    /// The body's framing was broken, the connection failed, or the connection moved on
    /// without it: no further byte of it can be read.
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
/// Where a chunked body's decoder stands.
pub enum Chunk {
    /// Expecting a chunk-size line.
    Size,
    /// Inside a chunk: bytes left.
    Data(u64),
    /// After a chunk's data: its CRLF.
    DataEnd,
    /// After the last chunk: trailer fields until an empty line (bytes seen so far).
    Trailers(usize),
}

/// Where a parsed field's name and value sit in the buffer it was parsed from: offsets, so
/// that the buffer can be frozen once the parser lets go of it and each field shared from
/// it rather than copied. Shared by the request parser (`http1`) and the response parser
/// (`upstream::pool`).
#[derive(Debug, Clone, Copy)]
pub struct Span {
    name: (u32, u32),
    value: (u32, u32),
}

impl Span {
    /// Where the field `f`, parsed out of `buf`, sits in it.
    #[inline]
    pub fn of(buf: &[u8], f: &httparse::Header<'_>) -> Span {
        Span {
            name: range(buf, f.name.as_bytes()),
            value: range(buf, f.value),
        }
    }

    /// The field's name in `head` (the buffer, or what was frozen of it).
    #[inline]
    pub fn name<'h>(&self, head: &'h [u8]) -> &'h [u8] {
        &head[self.name.0 as usize..self.name.1 as usize]
    }

    /// The field's value in `head`.
    #[inline]
    pub fn value<'h>(&self, head: &'h [u8]) -> &'h [u8] {
        &head[self.value.0 as usize..self.value.1 as usize]
    }
}

/// The spans of a head's fields (inline for 24 of them; heads are at most 64 KB, so offsets
/// fit in 32 bits).
pub type Spans = smallvec::SmallVec<[Span; 24]>;

/// The fields a [`RawFields`] passes on: where each sits in the head, and the name it goes
/// under when renamed. Inline for twelve (a backend's answer usually has five to ten):
/// the raw fields are boxed whole, once, with their ids, where a vector and a box for the
/// ids were two allocations more per answer.
pub type KeptFields = smallvec::SmallVec<[(Span, Option<&'static HeaderName>); 12]>;

/// A backend's response fields kept as they arrived, for an answer that passes them on
/// unchanged but for names renamed or dropped: written straight into the client's head
/// (`http1`), never parsed into a header map unless something needs to look at them
/// ([`RawFields::materialize`]). Carried with the response's body ([`crate::Body`]). Each field in a map
/// cost a name lookup, a value check and a hashed insertion: a sixth of a proxied request's
/// instructions.
#[derive(Debug, Clone)]
pub struct RawFields {
    /// The head the fields were parsed from.
    head: Bytes,
    /// The fields passed on, in the backend's order: where each sits in `head`, and the name
    /// it is passed on under when it is renamed.
    fields: KeptFields,
    /// The gateway's own id fields, written after the response's header map (where
    /// `responses::add_ids` would have put them) without building that map.
    ids: Option<Ids>,
    /// The backend sent an `x-amzn-RequestId` (noted as the fields were read).
    sent_request_id: bool,
}

/// Whether a header map takes `value` as a field value: no control character but tab, no
/// DEL. Checked without short-circuiting, so that the compiler checks the bytes in vectors.
#[inline]
pub fn value_ok(value: &[u8]) -> bool {
    value
        .iter()
        .fold(true, |ok, &b| ok & (b >= 0x20 || b == b'\t') & (b != 0x7f))
}

/// Fields the gateway writes itself (a Runtime API reply's), made into [`RawFields`]: the
/// few fields of a small answer without a header map (each insertion hashed its name and
/// checked its value; four of them were 1,500 instructions of a Lambda call).
#[derive(Debug, Default)]
pub struct OwnFields {
    head: Vec<u8>,
    fields: KeptFields,
}

impl OwnFields {
    /// Room for values of about `bytes` bytes.
    pub fn with_capacity(bytes: usize) -> OwnFields {
        OwnFields {
            head: Vec::with_capacity(bytes),
            fields: KeptFields::new(),
        }
    }

    /// Adds the field `name` with `value`; a value a header map would refuse (a control
    /// character, DEL) is left out: `false`. The name goes as a renamed field's does
    /// (written as it is, in lower case), the value into the fields' head.
    pub fn push(&mut self, name: &'static HeaderName, value: &[u8]) -> bool {
        if !value_ok(value) {
            return false;
        }
        let at = self.head.len() as u32;
        self.head.extend_from_slice(value);
        let value = (at, self.head.len() as u32);
        let span = Span {
            name: (at, at),
            value,
        };
        self.fields.push((span, Some(name)));
        true
    }

    /// The fields, to go with an answer's body ([`crate::Body::with_raw_fields`]).
    pub fn finish(self) -> Box<RawFields> {
        Box::new(RawFields::new(Bytes::from(self.head), self.fields))
    }
}

/// `x-amzn-RequestId`, on every response.
pub const X_AMZN_REQUESTID: HeaderName = HeaderName::from_static("x-amzn-requestid");
/// REST APIs' `x-amz-apigw-id`.
pub const X_AMZ_APIGW_ID: HeaderName = HeaderName::from_static("x-amz-apigw-id");
static REQUEST_ID: HeaderName = X_AMZN_REQUESTID;
static APIGW_ID: HeaderName = X_AMZ_APIGW_ID;

/// The first `out.len()` bytes of `id` that `keep` takes, written into `out`; how many. A
/// UUID-shaped id (the ids made here are) is copied group by group, not byte by byte.
/// `keep` must refuse `-`.
pub fn id_chars(id: &[u8], out: &mut [u8], keep: impl Fn(u8) -> bool) -> usize {
    if id.len() == 36 && [8, 13, 18, 23].iter().all(|&i| id[i] == b'-') {
        let mut n = 0;
        for group in [0..8, 9..13, 14..18, 19..23, 24..36] {
            let take = (out.len() - n).min(group.len());
            out[n..n + take].copy_from_slice(&id[group.start..group.start + take]);
            n += take;
        }
        // Not short-circuiting: the compiler checks the bytes in vectors (an early exit per
        // byte made this a two-percent item of a proxied request's profile).
        if out[..n].iter().fold(true, |ok, &b| ok & keep(b)) {
            return n;
        }
    }
    let mut n = 0;
    for b in id.iter().copied().filter(|&b| keep(b)) {
        if n == out.len() {
            break;
        }
        out[n] = b;
        n += 1;
    }
    n
}

/// REST's `x-amz-apigw-id` for a request id: its first 16 characters other than dashes,
/// and how many there are.
pub fn short_id(request_id: &[u8]) -> ([u8; 16], usize) {
    let mut short = [0u8; 16];
    let n = id_chars(request_id, &mut short, |b| b != b'-');
    (short, n)
}

/// `x-amzn-RequestId` and, for REST APIs, `x-amz-apigw-id`, kept inline.
#[derive(Debug, Clone, Copy)]
pub struct Ids {
    request_id: [u8; 36],
    len: u8,
    rest: bool,
}

impl Ids {
    /// The ids of a request whose id is `request_id`; `rest` adds the short id REST APIs
    /// send. `None` when the id is longer than a UUID's text or has bytes other than
    /// visible ASCII and spaces: the header map takes (or refuses) those.
    pub fn new(request_id: &str, rest: bool) -> Option<Ids> {
        let id = request_id.as_bytes();
        // Not short-circuiting: the compiler checks the bytes in vectors.
        let plain = id
            .iter()
            .fold(true, |ok, &b| ok & (b.wrapping_sub(b' ') < 0x5f));
        if !plain || id.len() > 36 {
            return None;
        }
        let mut request_id = [0u8; 36];
        request_id[..id.len()].copy_from_slice(id);
        Some(Ids {
            request_id,
            len: id.len() as u8,
            rest,
        })
    }

    fn each(&self, mut f: impl FnMut(&'static HeaderName, &[u8])) {
        f(&REQUEST_ID, self.request_id());
        if self.rest {
            let (short, n) = self.short();
            f(&APIGW_ID, &short[..n]);
        }
    }

    fn request_id(&self) -> &[u8] {
        &self.request_id[..usize::from(self.len)]
    }

    fn short(&self) -> ([u8; 16], usize) {
        short_id(self.request_id())
    }

    /// Writes the fields into an HTTP/1 head.
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"x-amzn-requestid: ");
        out.extend_from_slice(self.request_id());
        if self.rest {
            let (short, n) = self.short();
            out.extend_from_slice(b"\r\nx-amz-apigw-id: ");
            out.extend_from_slice(&short[..n]);
        }
        out.extend_from_slice(b"\r\n");
    }
}

impl RawFields {
    /// Fields of `head` (parsed from it: names are tokens, values visible bytes, spaces and
    /// tabs, as a header map requires).
    pub fn new(head: Bytes, fields: KeptFields) -> RawFields {
        let mut raw = RawFields {
            head: Bytes::new(),
            fields,
            ids: None,
            sent_request_id: false,
        };
        raw.set_head(head);
        raw
    }

    /// None yet, in their box: [`RawFields::keep`] adds them, [`RawFields::set_head`] gives
    /// the head they are in.
    pub fn boxed() -> Box<RawFields> {
        Box::new(RawFields::new(Bytes::new(), KeptFields::new()))
    }

    /// Keeps the field at `span` (of the head to come), under `renamed` if given.
    #[inline]
    pub fn keep(&mut self, span: Span, renamed: Option<&'static HeaderName>) {
        self.fields.push((span, renamed));
    }

    /// The head the kept fields are in (from which whether one is an `x-amzn-RequestId`).
    pub fn set_head(&mut self, head: Bytes) {
        self.sent_request_id = self.fields.iter().any(|(span, renamed)| {
            let name = span.name(&head);
            renamed.is_none()
                && name.len() == REQUEST_ID.as_str().len()
                && name.eq_ignore_ascii_case(REQUEST_ID.as_str().as_bytes())
        });
        self.head = head;
    }

    /// Whether the answer carries an `x-amzn-RequestId`: the backend's (noted when the
    /// fields were kept), or the gateway's ([`RawFields::set_ids`]).
    pub fn has_request_id(&self) -> bool {
        self.sent_request_id || self.ids.is_some()
    }

    /// Adds the gateway's id fields, written after the response's header map.
    pub fn set_ids(&mut self, ids: Ids) {
        self.ids = Some(ids);
    }

    /// The gateway's id fields, if set: name (lower case) and value.
    pub fn each_id(&self, f: impl FnMut(&'static HeaderName, &[u8])) {
        if let Some(ids) = &self.ids {
            ids.each(f);
        }
    }

    /// Writes the gateway's id fields, if set, into an HTTP/1 head.
    pub fn write_ids(&self, out: &mut Vec<u8>) {
        if let Some(ids) = &self.ids {
            ids.write(out);
        }
    }

    /// Each field passed on, in the backend's order: its name (the backend's bytes, in its
    /// case, or the name it was renamed to, in lower case) and its value.
    pub fn each(&self, mut f: impl FnMut(FieldName<'_>, &[u8])) {
        for (span, renamed) in &self.fields {
            let name = match renamed {
                Some(n) => FieldName::Renamed(n),
                None => FieldName::Sent(span.name(&self.head)),
            };
            f(name, span.value(&self.head));
        }
    }

    /// At most how many bytes the fields take in a head (renamed ones grow by their
    /// `x-amzn-remapped-` prefix).
    pub fn size_hint(&self) -> usize {
        self.head.len() + self.fields.len() * 16 + if self.ids.is_some() { 96 } else { 0 }
    }

    /// Moves a response's raw fields (if it has any) into its header map, after the fields
    /// already there: for whatever reads or changes the answer's fields (a cache, CORS,
    /// HTTP/2).
    pub fn materialize(resp: &mut crate::Response) {
        let Some(raw) = resp.body_mut().take_raw_fields() else {
            return;
        };
        let headers = resp.headers_mut();
        headers.reserve(raw.fields.len());
        raw.each(|name, value| {
            let name = match name {
                FieldName::Sent(n) => match HeaderName::from_bytes(n) {
                    Ok(n) => n,
                    // Not expected: the parser took tokens only.
                    Err(_) => return,
                },
                FieldName::Renamed(n) => n.clone(),
            };
            if let Ok(v) = http::HeaderValue::from_maybe_shared(raw.head.slice_ref(value)) {
                headers.append(name, v);
            }
        });
        // After the map's own fields, as `responses::add_ids` puts them.
        raw.each_id(|name, value| {
            if let Ok(v) = http::HeaderValue::from_bytes(value) {
                headers.insert(name.clone(), v);
            }
        });
    }
}

/// A passed-on field's name.
pub enum FieldName<'a> {
    /// As the other end sent it (any case: lowered when written).
    Sent(&'a [u8]),
    /// A header name (lower case already): the one the field was renamed to, or one the
    /// gateway writes.
    Renamed(&'a HeaderName),
}

impl FieldName<'_> {
    /// The name's bytes, in the case they are in.
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            FieldName::Sent(n) => n,
            FieldName::Renamed(n) => n.as_str().as_bytes(),
        }
    }
}

/// Where `fields`, parsed out of `buf`, sit in it.
pub fn spans(buf: &[u8], fields: &[httparse::Header<'_>]) -> Spans {
    let mut out = Spans::new();
    out.extend(field_spans(buf, fields));
    out
}

/// Where each of `fields`, parsed out of `buf`, sits in it.
pub fn field_spans<'a>(
    buf: &'a [u8],
    fields: &'a [httparse::Header<'_>],
) -> impl ExactSizeIterator<Item = Span> + 'a {
    fields.iter().map(move |f| Span::of(buf, f))
}

/// Where `part` (a slice of `buf`) sits in `buf`.
pub fn range(buf: &[u8], part: &[u8]) -> (u32, u32) {
    let start = (part.as_ptr() as usize).wrapping_sub(buf.as_ptr() as usize);
    (start as u32, (start + part.len()) as u32)
}

/// The comma-separated tokens of one field value, trimmed.
pub fn value_tokens(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(<[u8]>::trim_ascii)
        .filter(|t| !t.is_empty())
}

/// Lowers the ASCII letters of `b` (a field name on its way into a head) a word at a time:
/// a byte at a time, it was 7 instructions a byte. Lowering is idempotent, so the last
/// word may overlap the one before it.
pub fn lower_ascii(b: &mut [u8]) {
    if b.len() >= 8 {
        let mut at = 0;
        while at < b.len() {
            let i = at.min(b.len() - 8);
            let word = u64::from_ne_bytes(b[i..i + 8].try_into().unwrap_or_default());
            b[i..i + 8].copy_from_slice(&lower_word(word).to_ne_bytes());
            at += 8;
        }
    } else if b.len() >= 4 {
        for i in [0, b.len() - 4] {
            let word = u32::from_ne_bytes(b[i..i + 4].try_into().unwrap_or_default());
            b[i..i + 4].copy_from_slice(&(lower_word(u64::from(word)) as u32).to_ne_bytes());
        }
    } else {
        b.make_ascii_lowercase();
    }
}

/// The bytes of `x` with `A`–`Z` lowered (SWAR: no byte's sum carries into the next).
const fn lower_word(x: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    let low7 = x & (0x7f * ONES);
    // The top bit of each byte: set where its low seven bits are at least `A`, and where
    // they are above `Z`.
    let from_a = low7 + (0x80 - b'A' as u64) * ONES;
    let past_z = low7 + (0x7f - b'Z' as u64) * ONES;
    let upper = from_a & !past_z & !x & (0x80 * ONES);
    x | (upper >> 2)
}

/// Notes `close` and `keep-alive` among one `Connection` value's tokens.
pub fn connection_value(value: &[u8], close: &mut bool, keep: &mut bool) {
    // The usual values, one token as it stands, without splitting the list.
    if value.len() == 10 && value.eq_ignore_ascii_case(b"keep-alive") {
        *keep = true;
        return;
    }
    if value.len() == 5 && value.eq_ignore_ascii_case(b"close") {
        *close = true;
        return;
    }
    for t in value_tokens(value) {
        *close |= t.eq_ignore_ascii_case(b"close");
        *keep |= t.eq_ignore_ascii_case(b"keep-alive");
    }
}

/// Why `Content-Length` fields cannot delimit a body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadLength {
    /// A token that is not a length.
    Invalid,
    /// Lengths that differ.
    Differing,
}

/// Adds one `Content-Length` value's tokens to `length`: each must be a length, and every
/// one the same (RFC 9112 §6.3; the request parser and the backend client both hold to it).
pub fn add_length(value: &[u8], length: &mut Option<u64>) -> Result<(), BadLength> {
    for t in value_tokens(value) {
        let n = parse_length(t).ok_or(BadLength::Invalid)?;
        if length.is_some_and(|l| l != n) {
            return Err(BadLength::Differing);
        }
        *length = Some(n);
    }
    Ok(())
}

/// `1*DIGIT`, at most 19 digits (fits a u64).
pub fn parse_length(t: &[u8]) -> Option<u64> {
    if t.is_empty() || t.len() > 19 || !t.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // Nineteen digits at most: below u64::MAX, so nothing overflows.
    Some(t.iter().fold(0u64, |n, &d| n * 10 + u64::from(d - b'0')))
}

/// One step of decoding the buffered body bytes.
pub enum Step {
    /// The next piece of the body.
    Data(Bytes),
    /// More bytes are needed (about this many).
    NeedMore(usize),
    /// The body has ended.
    End,
    /// The framing is broken.
    Bad,
}

/// Decodes what `buf` holds of a message body framed as `framing` (shared by the server's
/// request bodies and the upstream client's response bodies). A chunked body's trailer
/// fields are skipped.
pub fn step_body(framing: &mut Framing, buf: &mut BytesMut) -> Step {
    step_body_keeping(framing, buf, None)
}

/// [`step_body`], keeping a chunked body's trailer field lines (`name: value`, without
/// their CRLF) in `trailers` when given.
pub fn step_body_keeping(
    framing: &mut Framing,
    buf: &mut BytesMut,
    mut trailers: Option<&mut Vec<Bytes>>,
) -> Step {
    loop {
        match *framing {
            Framing::Done => return Step::End,
            Framing::Failed => return Step::Bad,
            Framing::Length(0) => {
                *framing = Framing::Done;
                return Step::End;
            }
            Framing::Length(n) => {
                if buf.is_empty() {
                    return Step::NeedMore(usize::try_from(n).unwrap_or(usize::MAX));
                }
                let take = buf.len().min(usize::try_from(n).unwrap_or(usize::MAX));
                *framing = Framing::Length(n - take as u64);
                return Step::Data(buf.split_to(take).freeze());
            }
            Framing::Chunked(Chunk::Size) => {
                if buf.is_empty() {
                    return Step::NeedMore(16);
                }
                // httparse takes an empty size as 0: at least one digit is required.
                if !buf[0].is_ascii_hexdigit() {
                    return fail(framing);
                }
                match httparse::parse_chunk_size(buf) {
                    Ok(httparse::Status::Complete((used, size))) if used <= MAX_CHUNK_LINE => {
                        buf.advance(used);
                        *framing = Framing::Chunked(if size == 0 {
                            Chunk::Trailers(0)
                        } else {
                            Chunk::Data(size)
                        });
                    }
                    Ok(httparse::Status::Partial) if buf.len() < MAX_CHUNK_LINE => {
                        return Step::NeedMore(16)
                    }
                    _ => return fail(framing),
                }
            }
            Framing::Chunked(Chunk::Data(n)) => {
                if buf.is_empty() {
                    return Step::NeedMore(usize::try_from(n).unwrap_or(usize::MAX));
                }
                let take = buf.len().min(usize::try_from(n).unwrap_or(usize::MAX));
                let left = n - take as u64;
                *framing = Framing::Chunked(if left == 0 {
                    Chunk::DataEnd
                } else {
                    Chunk::Data(left)
                });
                return Step::Data(buf.split_to(take).freeze());
            }
            Framing::Chunked(Chunk::DataEnd) => {
                if buf.len() < 2 {
                    if buf.first().is_some_and(|&b| b != b'\r') {
                        return fail(framing);
                    }
                    return Step::NeedMore(2);
                }
                if &buf[..2] != b"\r\n" {
                    return fail(framing);
                }
                buf.advance(2);
                *framing = Framing::Chunked(Chunk::Size);
            }
            Framing::Chunked(Chunk::Trailers(seen)) => {
                let Some(at) = buf.windows(2).position(|w| w == b"\r\n") else {
                    if seen + buf.len() > MAX_TRAILERS {
                        return fail(framing);
                    }
                    return Step::NeedMore(64);
                };
                if at == 0 {
                    buf.advance(2);
                    *framing = Framing::Done;
                    return Step::End;
                }
                if seen + at + 2 > MAX_TRAILERS {
                    return fail(framing);
                }
                match trailers.as_deref_mut() {
                    Some(kept) => {
                        kept.push(buf.split_to(at).freeze());
                        buf.advance(2);
                    }
                    None => buf.advance(at + 2),
                }
                *framing = Framing::Chunked(Chunk::Trailers(seen + at + 2));
            }
        }
    }
}

fn fail(framing: &mut Framing) -> Step {
    *framing = Framing::Failed;
    Step::Bad
}

/// The per-thread buffer reads go through before their bytes are copied out.
const SCRATCH: usize = 16 * 1024;

thread_local! {
    static SCRATCH_BUF: RefCell<Box<[u8]>> = RefCell::new(vec![0u8; SCRATCH].into_boxed_slice());
}

/// Reads what is available into the per-thread scratch buffer and copies it into `buf`:
/// a connection waiting for its client holds no buffer of its own.
pub fn poll_read_scratch<R: AsyncRead + Unpin + ?Sized>(
    io: &mut R,
    buf: &mut BytesMut,
    cx: &mut Context<'_>,
) -> Poll<std::io::Result<usize>> {
    SCRATCH_BUF.with(|s| {
        let mut s = s.borrow_mut();
        let mut rb = ReadBuf::new(&mut s[..]);
        match Pin::new(io).poll_read(cx, &mut rb) {
            Poll::Ready(Ok(())) => {
                let n = rb.filled().len();
                buf.extend_from_slice(rb.filled());
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => Poll::Pending,
        }
    })
}

thread_local! {
    /// Head buffers whose message went out, kept for the next heads written on this thread.
    static SPARE_HEADS: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

/// How many spare head buffers a thread keeps, and the largest it keeps.
const SPARE_HEADS_KEPT: usize = 8;
const SPARE_HEAD_MAX: usize = 16 * 1024;

/// A buffer for a message head (a request to a backend, an answer to a client), with room
/// for `capacity` bytes: one whose message went out on this thread when there is one (each
/// head was an allocation of its own), given back when the `HeadBuf` is dropped.
pub fn head_buf(capacity: usize) -> HeadBuf {
    let mut v = SPARE_HEADS
        .with(|s| s.borrow_mut().pop())
        .unwrap_or_default();
    v.reserve(capacity);
    HeadBuf(v)
}

/// A head buffer from [`head_buf`], kept for the next head when dropped.
#[derive(Debug, Default)]
pub struct HeadBuf(Vec<u8>);

impl std::ops::Deref for HeadBuf {
    type Target = Vec<u8>;
    fn deref(&self) -> &Vec<u8> {
        &self.0
    }
}

impl std::ops::DerefMut for HeadBuf {
    fn deref_mut(&mut self) -> &mut Vec<u8> {
        &mut self.0
    }
}

impl Drop for HeadBuf {
    fn drop(&mut self) {
        let mut v = std::mem::take(&mut self.0);
        if v.capacity() == 0 || v.capacity() > SPARE_HEAD_MAX {
            return;
        }
        v.clear();
        // Not during the thread's teardown (the spares are gone then).
        let _ = SPARE_HEADS.try_with(|s| {
            let mut s = s.borrow_mut();
            if s.len() < SPARE_HEADS_KEPT {
                s.push(v);
            }
        });
    }
}

/// Writes all of `parts` through `write` (given how many bytes are already out; usually
/// [`poll_write_parts`]), failing when the stream takes none.
pub async fn write_all(
    parts: &[&[u8]],
    mut write: impl FnMut(&mut Context<'_>, usize) -> Poll<std::io::Result<usize>>,
) -> std::io::Result<()> {
    let total: usize = parts.iter().map(|p| p.len()).sum();
    let mut skip = 0;
    while skip < total {
        match std::future::poll_fn(|cx| write(cx, skip)).await? {
            0 => return Err(std::io::ErrorKind::WriteZero.into()),
            n => skip += n,
        }
    }
    Ok(())
}

/// Below this many bytes, the pieces of a message still to write are copied together and
/// sent with one `send`. A `writev` goes through the file layer (position lock, access check,
/// iovec import) before the socket's: 0.5 µs of kernel time per proxied request, measured
/// against `send` on the same loopback exchange, against a copy of a few hundred bytes.
const COALESCE: usize = 2048;

/// Writes what `io` takes now of the concatenation of `parts`, from byte `skip` on: one
/// plain write when a single piece is left or all that is left is small, else a vectored
/// write. `Ok(n)`: `n` more bytes written.
pub fn poll_write_parts<W: AsyncWrite + Unpin + ?Sized>(
    io: &mut W,
    cx: &mut Context<'_>,
    parts: &[&[u8]],
    skip: usize,
) -> Poll<std::io::Result<usize>> {
    let mut slices = [std::io::IoSlice::new(&[]); 4];
    let mut k = 0;
    let mut at = 0;
    let mut left = 0;
    for p in parts {
        let end = at + p.len();
        if end > skip && !p.is_empty() && k < slices.len() {
            let piece = &p[skip.saturating_sub(at)..];
            left += piece.len();
            slices[k] = std::io::IoSlice::new(piece);
            k += 1;
        }
        at = end;
    }
    let io = Pin::new(io);
    match k {
        0 => Poll::Ready(Ok(0)),
        1 => io.poll_write(cx, &slices[0]),
        _ if left <= COALESCE => COALESCED.with(|one| match one.try_borrow_mut() {
            Ok(mut one) => {
                one.clear();
                for s in &slices[..k] {
                    one.extend_from_slice(s);
                }
                io.poll_write(cx, &one)
            }
            // Borrowed already: only if `io` itself writes through this function (a
            // wrapping writer); its pieces then go out vectored.
            Err(_) => io.poll_write_vectored(cx, &slices[..k]),
        }),
        _ => io.poll_write_vectored(cx, &slices[..k]),
    }
}

thread_local! {
    /// Where [`poll_write_parts`] copies small pieces together: kept by the thread, so that
    /// the copy is neither an allocation nor a buffer zeroed on the stack (2 KB of `memset`
    /// per answer).
    static COALESCED: std::cell::RefCell<Vec<u8>> =
        std::cell::RefCell::new(Vec::with_capacity(COALESCE));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The gateway's own fields: a value a header map refuses is left out, the rest reach
    /// the map in order, under their names, when something needs it.
    #[test]
    fn own_fields_are_kept_unparsed_and_checked() {
        static A: HeaderName = HeaderName::from_static("x-a");
        static B: HeaderName = HeaderName::from_static("x-b");
        let mut f = OwnFields::with_capacity(8);
        assert!(f.push(&A, b"one two\tthree"));
        assert!(!f.push(&B, b"bad\r\nx-c: 1"));
        assert!(!f.push(&B, b"del\x7f"));
        assert!(f.push(&B, b"caf\xc3\xa9"));
        let mut resp = http::Response::new(crate::full("x").with_raw_fields(f.finish()));
        RawFields::materialize(&mut resp);
        let fields: Vec<_> = resp
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_bytes()))
            .collect();
        assert_eq!(
            fields,
            [
                ("x-a", &b"one two\tthree"[..]),
                ("x-b", &b"caf\xc3\xa9"[..])
            ]
        );
    }

    #[test]
    fn lengths_are_digits_that_fit() {
        assert_eq!(parse_length(b"0"), Some(0));
        assert_eq!(parse_length(b"007"), Some(7));
        assert_eq!(parse_length(b"775"), Some(775));
        assert_eq!(
            parse_length(b"9999999999999999999"),
            Some(9_999_999_999_999_999_999)
        );
        for bad in [
            &b""[..],
            b"18446744073709551615",
            b"1a",
            b"-1",
            b"+1",
            b" 1",
            b"1.0",
        ] {
            assert_eq!(
                parse_length(bad),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn connection_tokens() {
        for (value, close, keep) in [
            (&b"keep-alive"[..], false, true),
            (b"Keep-Alive", false, true),
            (b"close", true, false),
            (b"CLOSE", true, false),
            (b"upgrade", false, false),
            (b"keep-alivf", false, false),
            (b"Upgrade, close", true, false),
            (b" keep-alive , TE", false, true),
            (b"close,keep-alive", true, true),
            (b"", false, false),
        ] {
            let (mut c, mut k) = (false, false);
            connection_value(value, &mut c, &mut k);
            assert_eq!(
                (c, k),
                (close, keep),
                "{:?}",
                String::from_utf8_lossy(value)
            );
        }
    }

    #[test]
    fn lower_ascii_lowers_letters_and_nothing_else() {
        // Every byte value at every position of names from 0 to 20 bytes long.
        for len in 0..=20 {
            for at in 0..len {
                for b in 0..=255u8 {
                    let mut name: Vec<u8> = (0..len).map(|i| b"Ab-Zz@[`{"[i % 9]).collect();
                    name[at] = b;
                    let mut want = name.clone();
                    want.make_ascii_lowercase();
                    lower_ascii(&mut name);
                    assert_eq!(name, want, "len {len}, byte {b:#x} at {at}");
                }
            }
        }
    }

    #[test]
    fn head_buffers_are_kept_for_the_next_head_within_limits() {
        // On a thread of its own: the spares are per thread.
        std::thread::spawn(|| {
            let mut a = head_buf(100);
            a.extend_from_slice(b"GET / HTTP/1.1\r\n");
            let (ptr, cap) = (a.as_ptr(), a.capacity());
            drop(a);
            // The same allocation, empty, with its room.
            let b = head_buf(10);
            assert!(b.is_empty());
            assert_eq!((b.as_ptr(), b.capacity()), (ptr, cap));
            // A head grown past the limit is not kept.
            let mut big = b;
            big.reserve(SPARE_HEAD_MAX + 1);
            drop(big);
            assert_eq!(head_buf(0).capacity(), 0);
            // At most so many are kept.
            let many: Vec<HeadBuf> = (0..SPARE_HEADS_KEPT + 3).map(|_| head_buf(64)).collect();
            drop(many);
            assert_eq!(SPARE_HEADS.with(|s| s.borrow().len()), SPARE_HEADS_KEPT);
        })
        .join()
        .unwrap();
    }

    /// Takes at most `max` bytes per call and notes which kind of write each call was.
    struct Trickle {
        max: usize,
        got: Vec<u8>,
        calls: Vec<&'static str>,
    }

    impl AsyncWrite for Trickle {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<std::io::Result<usize>> {
            let n = buf.len().min(self.max);
            self.got.extend_from_slice(&buf[..n]);
            self.calls.push("write");
            Poll::Ready(Ok(n))
        }
        fn poll_write_vectored(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            bufs: &[std::io::IoSlice<'_>],
        ) -> Poll<std::io::Result<usize>> {
            let mut n = 0;
            for b in bufs {
                let take = b.len().min(self.max - n);
                self.got.extend_from_slice(&b[..take]);
                n += take;
            }
            self.calls.push("writev");
            Poll::Ready(Ok(n))
        }
        fn is_write_vectored(&self) -> bool {
            true
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    fn write_all(max: usize, parts: &[&[u8]]) -> Trickle {
        let mut w = Trickle {
            max,
            got: Vec::new(),
            calls: Vec::new(),
        };
        let total: usize = parts.iter().map(|p| p.len()).sum();
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let mut skip = 0;
        while skip < total {
            match poll_write_parts(&mut w, &mut cx, parts, skip) {
                Poll::Ready(Ok(n)) => skip += n,
                other => panic!("{other:?}"),
            }
        }
        w
    }

    #[test]
    fn small_pieces_go_out_in_one_plain_write() {
        let w = write_all(4096, &[b"HTTP/1.1 200 OK\r\n\r\n", b"", b"{\"id\":1}"]);
        assert_eq!(w.got, b"HTTP/1.1 200 OK\r\n\r\n{\"id\":1}");
        assert_eq!(w.calls, ["write"]);
    }

    #[test]
    fn partial_writes_resume_where_they_stopped() {
        let w = write_all(5, &[b"head\r\n", b"", b"body", b"!"]);
        assert_eq!(w.got, b"head\r\nbody!");
        assert_eq!(w.calls, ["write"; 3]);
    }

    #[test]
    fn large_pieces_go_out_vectored() {
        let body = vec![b'x'; COALESCE];
        let w = write_all(usize::MAX, &[b"head\r\n\r\n", &body]);
        assert_eq!(w.got.len(), 8 + COALESCE);
        assert_eq!(w.calls, ["writev"]);
        // One piece alone is written as it is, whatever its size.
        let w = write_all(usize::MAX, &[&body, b""]);
        assert_eq!(w.calls, ["write"]);
    }
}
