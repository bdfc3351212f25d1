use super::*;
use crate::framing::{MAX_CHUNK_LINE, MAX_TRAILERS};
use http::header::{CONTENT_LENGTH, TRANSFER_ENCODING};

fn head(raw: &[u8]) -> Parsed {
    let mut buf = BytesMut::from(raw);
    parse_head(&mut buf)
}

fn status(raw: &[u8]) -> Option<u16> {
    match head(raw) {
        Parsed::Reject(s) => Some(s.as_u16()),
        _ => None,
    }
}

fn framing_of(raw: &[u8]) -> Framing {
    match head(raw) {
        Parsed::Head(h) => h.framing,
        Parsed::Partial => panic!("partial"),
        Parsed::Reject(s) => panic!("rejected {s}"),
    }
}

#[test]
fn parses_a_head_and_shares_its_bytes() {
    let mut buf = BytesMut::from(
        &b"GET /a/b%20c?x=1 HTTP/1.1\r\nHost: h\r\nX-Many: 1\r\nx-many: 2\r\n\r\nNEXT"[..],
    );
    let Parsed::Head(h) = parse_head(&mut buf) else {
        panic!()
    };
    assert_eq!(h.parts.method, Method::GET);
    assert_eq!(h.parts.uri.path(), "/a/b%20c");
    assert_eq!(h.parts.uri.query(), Some("x=1"));
    assert_eq!(h.parts.version, Version::HTTP_11);
    // The fields stay in the head's bytes until a map is asked for.
    assert!(h.parts.headers.is_empty());
    assert!(!h.headers.is_built());
    assert_eq!(h.headers.values("x-many").count(), 2);
    assert_eq!(h.headers.get_all("x-many").iter().count(), 2);
    assert_eq!(h.framing, Framing::Length(0));
    assert!(h.keep_alive);
    assert_eq!(&buf[..], b"NEXT");
}

#[test]
fn keep_alive_rules() {
    let ka = |raw: &[u8]| match head(raw) {
        Parsed::Head(h) => h.keep_alive,
        _ => panic!(),
    };
    assert!(!ka(b"GET / HTTP/1.1\r\nConnection: Close\r\n\r\n"));
    assert!(!ka(b"GET / HTTP/1.1\r\nConnection: te, close\r\n\r\n"));
    assert!(!ka(b"GET / HTTP/1.0\r\n\r\n"));
    assert!(ka(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"));
}

#[test]
fn smuggling_shapes_are_refused() {
    // Both framings.
    assert_eq!(
        status(b"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"),
        Some(400)
    );
    // Differing lengths, in one field or two.
    assert_eq!(
        status(b"POST / HTTP/1.1\r\nContent-Length: 3, 4\r\n\r\n"),
        Some(400)
    );
    assert_eq!(
        status(b"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n"),
        Some(400)
    );
    // Not digits.
    assert_eq!(
        status(b"POST / HTTP/1.1\r\nContent-Length: +3\r\n\r\n"),
        Some(400)
    );
    assert_eq!(
        status(b"POST / HTTP/1.1\r\nContent-Length: 0x3\r\n\r\n"),
        Some(400)
    );
    assert_eq!(
        status(b"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n"),
        Some(400)
    );
    // Chunked not last, or in HTTP/1.0, or an unknown coding.
    assert_eq!(
        status(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked, identity\r\n\r\n"),
        Some(400)
    );
    assert_eq!(
        status(b"POST / HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n\r\n"),
        Some(400)
    );
    assert_eq!(
        status(b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"),
        Some(400)
    );
    assert_eq!(
        status(b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"),
        Some(501)
    );
    assert_eq!(
        status(
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n"
        ),
        Some(501)
    );
    // A space before the colon, a folded line, a bare LF inside the request line.
    assert_eq!(
        status(b"POST / HTTP/1.1\r\nContent-Length : 3\r\n\r\n"),
        Some(400)
    );
    assert_eq!(status(b"GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n"), Some(400));
    assert_eq!(status(b"GET / HTTP/2.0\r\n\r\n"), Some(400));
    // Equal duplicates are one length.
    assert_eq!(
        framing_of(b"POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n"),
        Framing::Length(3)
    );
    assert_eq!(
        framing_of(b"POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n"),
        Framing::Chunked(Chunk::Size)
    );
}

#[test]
fn too_many_headers_is_431() {
    let mut raw = b"GET / HTTP/1.1\r\n".to_vec();
    for i in 0..=MAX_HEADERS {
        raw.extend_from_slice(format!("x-{i}: v\r\n").as_bytes());
    }
    raw.extend_from_slice(b"\r\n");
    assert_eq!(status(&raw), Some(431));
}

/// Decodes `raw` as a chunked body fed `step` bytes at a time.
fn dechunk(raw: &[u8], step: usize) -> Result<(Vec<u8>, Vec<u8>), ()> {
    dechunk_keeping(raw, step, false).map(|(body, rest, _)| (body, rest))
}

/// [`dechunk`], with the trailer lines when `keep` (as the Runtime API's connections do).
#[allow(clippy::type_complexity)]
fn dechunk_keeping(
    raw: &[u8],
    step: usize,
    keep: bool,
) -> Result<(Vec<u8>, Vec<u8>, Option<Vec<Bytes>>), ()> {
    let mut s = Shared {
        io: Box::new(tokio::io::empty()),
        buf: BytesMut::new(),
        framing: Framing::Chunked(Chunk::Size),
        continue_sent: None,
        trailers: keep.then(Vec::new),
    };
    let mut out = Vec::new();
    let mut fed = 0;
    loop {
        match s.step() {
            Step::Data(d) => out.extend_from_slice(&d),
            Step::End => return Ok((out, s.buf.to_vec(), s.trailers)),
            Step::Bad => return Err(()),
            Step::NeedMore(_) => {
                if fed == raw.len() {
                    return Err(());
                }
                let n = step.min(raw.len() - fed);
                s.buf.extend_from_slice(&raw[fed..fed + n]);
                fed += n;
            }
        }
    }
}

#[test]
fn chunked_bodies_decode_in_any_split() {
    let raw = b"3\r\nabc\r\nA;ext=1\r\n0123456789\r\n0\r\nTrailer: x\r\n\r\nGET";
    for step in [1, 2, 3, 7, raw.len()] {
        let (body, rest) = dechunk(raw, step).unwrap();
        assert_eq!(body, b"abc0123456789", "step {step}");
        if step == raw.len() {
            assert_eq!(rest, b"GET");
        }
    }
}

#[test]
fn trailer_fields_are_kept_only_when_asked() {
    let raw = b"3\r\nabc\r\n0\r\nA: 1\r\nB-c:  two \r\nno colon\r\nBad Name: v\r\n\r\nGET";
    for step in [1, 2, 5, raw.len()] {
        let (body, rest, kept) = dechunk_keeping(raw, step, true).unwrap();
        assert_eq!(body, b"abc", "step {step}");
        let kept = kept.unwrap();
        assert_eq!(
            kept,
            [&b"A: 1"[..], b"B-c:  two ", b"no colon", b"Bad Name: v"],
            "step {step}"
        );
        if step == raw.len() {
            assert_eq!(rest, b"GET");
        }
        // As fields: names lowered, values trimmed, lines that are no field left out.
        let map = trailer_fields(&kept);
        assert_eq!(map.len(), 2);
        assert_eq!(map["a"], "1");
        assert_eq!(map["b-c"], "two");
        let (_, _, skipped) = dechunk_keeping(raw, step, false).unwrap();
        assert_eq!(skipped, None);
    }
}

#[test]
fn broken_chunks_fail() {
    for raw in [
        &b"zz\r\nabc\r\n0\r\n\r\n"[..],
        b"3\r\nabcdefgh\r\n0\r\n\r\n",
        b"\r\nabc\r\n0\r\n\r\n",
        b"3\nabc\r\n0\r\n\r\n",
        b"3\r\nabc\n0\r\n\r\n",
        b"11111111111111111\r\n",
        b"-1\r\n",
    ] {
        for step in [1, raw.len()] {
            assert!(
                dechunk(raw, step).is_err(),
                "{:?}",
                String::from_utf8_lossy(raw)
            );
        }
    }
    let long_ext = [
        b"1;".as_slice(),
        &[b'x'; MAX_CHUNK_LINE],
        b"\r\na\r\n0\r\n\r\n",
    ]
    .concat();
    assert!(dechunk(&long_ext, 4096).is_err());
    let long_trailer = [b"0\r\nx: ".as_slice(), &[b'y'; MAX_TRAILERS], b"\r\n\r\n"].concat();
    assert!(dechunk(&long_trailer, 4096).is_err());
}

fn response(status: u16, body: &'static str) -> Response {
    let mut r = http::Response::new(crate::full(body));
    *r.status_mut() = StatusCode::from_u16(status).unwrap();
    r
}

#[test]
fn heads_carry_length_date_and_connection() {
    let (h, f) = encode_head(
        &response(200, "hello"),
        false,
        Version::HTTP_11,
        false,
        None,
    );
    let h = String::from_utf8(h.to_vec()).unwrap();
    assert!(h.starts_with("HTTP/1.1 200 OK\r\n"), "{h}");
    assert!(h.contains("content-length: 5\r\n"));
    assert!(h.contains("date: "));
    assert!(!h.contains("connection"));
    assert_eq!(f, BodyFraming::Length(5));
    // The handler's framing headers never reach the wire as given.
    let mut r = response(200, "hello");
    r.headers_mut()
        .insert(CONTENT_LENGTH, HeaderValue::from_static("99"));
    r.headers_mut()
        .insert(TRANSFER_ENCODING, HeaderValue::from_static("chunked"));
    let (h, _) = encode_head(&r, false, Version::HTTP_11, true, None);
    let h = String::from_utf8(h.to_vec()).unwrap();
    assert!(
        h.contains("content-length: 5\r\n") && !h.contains("99"),
        "{h}"
    );
    assert!(!h.contains("transfer-encoding"));
    assert!(h.ends_with("connection: close\r\n\r\n"));
    // HEAD keeps the length of the body it does not send; 204 has none.
    let mut r = response(200, "");
    r.headers_mut()
        .insert(CONTENT_LENGTH, HeaderValue::from_static("42"));
    let (h, f) = encode_head(&r, true, Version::HTTP_11, false, None);
    assert!(String::from_utf8(h.to_vec())
        .unwrap()
        .contains("content-length: 42\r\n"));
    assert_eq!(f, BodyFraming::None);
    let (h, _) = encode_head(&response(204, ""), false, Version::HTTP_11, false, None);
    assert!(!String::from_utf8(h.to_vec())
        .unwrap()
        .contains("content-length"));
    // HTTP/1.0 keep-alive is said so.
    let (h, _) = encode_head(&response(200, "x"), false, Version::HTTP_10, false, None);
    assert!(String::from_utf8(h.to_vec())
        .unwrap()
        .contains("connection: keep-alive\r\n"));
}

/// The fields are not checked again when a header map is built from them: httparse
/// refuses what `HeaderName` and `HeaderValue` would.
#[test]
fn fields_a_header_map_would_refuse_are_refused_at_parse() {
    for bad in [
        &b"GET / HTTP/1.1\r\nX-A: a\x7fb\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nX-A: a\x01b\r\n\r\n",
        b"GET / HTTP/1.1\r\nX-A: a\x00b\r\n\r\n",
        b"GET / HTTP/1.1\r\n: empty-name\r\n\r\n",
        b"GET / HTTP/1.1\r\nX(A): b\r\n\r\n",
        b"GET / HTTP/1.1\r\nX A: b\r\n\r\n",
        b"GET / HTTP/1.1\r\nX\xc3\xa9: b\r\n\r\n",
    ] {
        assert_eq!(status(bad), Some(400), "{:?}", String::from_utf8_lossy(bad));
    }
    // Tab and obs-text in a value are fields a map holds too.
    let Parsed::Head(h) = head(b"GET / HTTP/1.1\r\nX-A: a\tb\xe9\r\nX-B: \r\n\r\n") else {
        panic!()
    };
    assert_eq!(h.headers.count(), 2);
    assert_eq!(h.headers.len(), 2);
    assert_eq!(h.headers.get("x-a").unwrap().as_bytes(), b"a\tb\xe9");
}
