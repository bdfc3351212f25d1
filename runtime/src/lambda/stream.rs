//! Lambda response streaming (REST `responseTransferMode: STREAM` with a
//! `…/2021-11-15/functions/{fn}/response-streaming-invocations` proxy integration): the
//! function's bytes reach the client as the function writes them.
//!
//! A streamed proxy response is Lambda's HTTP integration format (what
//! `awslambda.HttpResponseStream.from` and the Rust runtime's streaming responses write):
//! a JSON prelude with `statusCode`, `headers`, `multiValueHeaders` and `cookies`, eight NUL
//! bytes, then the body. A function that returns a whole (unstreamed) proxy response is
//! answered as a buffered one. Locally the function streams through the Runtime API
//! (`Lambda-Runtime-Function-Response-Mode: streaming`, chunked, errors in trailers); remotely
//! through the Invoke API's `InvokeWithResponseStream`, whose answer is an AWS event stream of
//! `PayloadChunk` and `InvokeComplete` events (decoded here: [`EventStream`]).

use bytes::{Bytes, BytesMut};
use tokio::sync::mpsc;

use super::invocation::Output;

/// A stream's chunks as they arrive; an `Err` ends it with the function's error.
pub type Chunks = mpsc::Receiver<Result<Bytes, String>>;

/// How many chunks may wait between the function and the client (backpressure).
pub const DEPTH: usize = 16;

/// What a streaming invocation gives: the chunks, or (for a function that failed before
/// streaming) its error output.
pub enum Streamed {
    /// The response, as it is written.
    Chunks(Chunks),
    /// A function error, answered whole.
    Failed(Output),
}

/// A response body: `first`, then every chunk of `rx`; a function error mid-stream aborts
/// the response (the client sees the connection end before the body does, as on AWS).
pub fn body(first: Bytes, rx: Chunks) -> crate::Body {
    let start = (!first.is_empty()).then_some(first);
    let stream = futures_util::stream::unfold((start, rx), |(start, mut rx)| async move {
        if let Some(b) = start {
            return Some((Ok(hyper::body::Frame::data(b)), (None, rx)));
        }
        match rx.recv().await? {
            Ok(b) => Some((Ok(hyper::body::Frame::data(b)), (None, rx))),
            Err(e) => Some((Err(crate::BoxError::from(e)), (None, rx))),
        }
    });
    crate::Body::new(http_body_util::StreamBody::new(stream))
}

/// One event of an AWS event stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// `:message-type` (`event`, `exception`, `error`).
    pub message_type: String,
    /// `:event-type` (`PayloadChunk`, `InvokeComplete`) or `:exception-type`.
    pub event_type: String,
    /// The payload.
    pub payload: Bytes,
}

/// A decoder of AWS's event-stream framing (`application/vnd.amazon.eventstream`): each
/// message is a 12-byte prelude (total length, headers length, CRC-32 of those 8 bytes),
/// the headers, the payload and a CRC-32 of the whole message.
#[derive(Default)]
pub struct EventStream {
    buf: BytesMut,
}

impl EventStream {
    /// Adds bytes; returns the events completed by them, or why the stream is broken.
    pub fn push(&mut self, data: &[u8]) -> Result<Vec<Event>, String> {
        self.buf.extend_from_slice(data);
        let mut out = Vec::new();
        loop {
            if self.buf.len() < 12 {
                return Ok(out);
            }
            let total =
                u32::from_be_bytes([self.buf[0], self.buf[1], self.buf[2], self.buf[3]]) as usize;
            let headers_len =
                u32::from_be_bytes([self.buf[4], self.buf[5], self.buf[6], self.buf[7]]) as usize;
            if total < 16 || headers_len > total - 16 || total > 16 * 1024 * 1024 {
                return Err(format!("bad event-stream message length {total}"));
            }
            let prelude_crc =
                u32::from_be_bytes([self.buf[8], self.buf[9], self.buf[10], self.buf[11]]);
            if crc32(&self.buf[..8]) != prelude_crc {
                return Err("event-stream prelude checksum mismatch".into());
            }
            if self.buf.len() < total {
                return Ok(out);
            }
            let message = self.buf.split_to(total).freeze();
            let crc = u32::from_be_bytes([
                message[total - 4],
                message[total - 3],
                message[total - 2],
                message[total - 1],
            ]);
            if crc32(&message[..total - 4]) != crc {
                return Err("event-stream message checksum mismatch".into());
            }
            let headers = &message[12..12 + headers_len];
            let mut event = Event {
                message_type: String::new(),
                event_type: String::new(),
                payload: message.slice(12 + headers_len..total - 4),
            };
            let mut h = headers;
            while !h.is_empty() {
                let name_len = usize::from(h[0]);
                let name = h.get(1..1 + name_len).ok_or("truncated header name")?;
                let rest = h.get(1 + name_len..).ok_or("truncated header")?;
                let (&kind, rest) = rest.split_first().ok_or("truncated header type")?;
                // Value sizes by type (AWS event-stream encoding).
                let (value, rest): (&[u8], &[u8]) = match kind {
                    0 | 1 => (&[], rest),
                    2 => rest.split_at_checked(1).ok_or("truncated byte")?,
                    3 => rest.split_at_checked(2).ok_or("truncated short")?,
                    4 => rest.split_at_checked(4).ok_or("truncated int")?,
                    5 | 8 => rest.split_at_checked(8).ok_or("truncated long")?,
                    6 | 7 => {
                        let len = rest
                            .get(..2)
                            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
                            .ok_or("truncated length")?;
                        let r = rest.get(2..).ok_or("truncated value")?;
                        r.split_at_checked(len).ok_or("truncated value")?
                    }
                    9 => rest.split_at_checked(16).ok_or("truncated uuid")?,
                    k => return Err(format!("unknown event-stream header type {k}")),
                };
                let text = String::from_utf8_lossy(value).into_owned();
                match name {
                    b":message-type" => event.message_type = text,
                    b":event-type" | b":exception-type" | b":error-code" => event.event_type = text,
                    _ => {}
                }
                h = rest;
            }
            out.push(event);
        }
    }
}

/// CRC-32 (IEEE), as event-stream messages carry it.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

/// An event-stream message (for tests and stand-ins): string headers, payload.
pub fn encode_event(headers: &[(&str, &str)], payload: &[u8]) -> Vec<u8> {
    let mut h = Vec::new();
    for (k, v) in headers {
        h.push(k.len() as u8);
        h.extend_from_slice(k.as_bytes());
        h.push(7);
        h.extend_from_slice(&(v.len() as u16).to_be_bytes());
        h.extend_from_slice(v.as_bytes());
    }
    let total = 12 + h.len() + payload.len() + 4;
    let mut m = Vec::with_capacity(total);
    m.extend_from_slice(&(total as u32).to_be_bytes());
    m.extend_from_slice(&(h.len() as u32).to_be_bytes());
    let crc = crc32(&m[..8]);
    m.extend_from_slice(&crc.to_be_bytes());
    m.extend_from_slice(&h);
    m.extend_from_slice(payload);
    let crc = crc32(&m);
    m.extend_from_slice(&crc.to_be_bytes());
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn events_decode_in_any_split() {
        let mut wire = encode_event(
            &[(":message-type", "event"), (":event-type", "PayloadChunk")],
            b"hello ",
        );
        wire.extend(encode_event(
            &[
                (":message-type", "event"),
                (":event-type", "InvokeComplete"),
            ],
            b"{}",
        ));
        for cut in 0..wire.len() {
            let mut d = EventStream::default();
            let mut events = d.push(&wire[..cut]).unwrap();
            events.extend(d.push(&wire[cut..]).unwrap());
            assert_eq!(events.len(), 2, "cut at {cut}");
            assert_eq!(events[0].event_type, "PayloadChunk");
            assert_eq!(&events[0].payload[..], b"hello ");
            assert_eq!(events[1].event_type, "InvokeComplete");
        }
        let mut broken = wire.clone();
        broken[20] ^= 1;
        assert!(EventStream::default().push(&broken).is_err());
    }
}
