//! A request's header fields as they arrived, with a `HeaderMap` built only when something
//! asks for one.
//!
//! An HTTP/1 request's fields stay where httparse found them: the head's bytes and each
//! field's span ([`crate::framing::Span`]). The paths every request takes — the size check,
//! the declared length, the API key, the trace id, a proxied request's fields copied into
//! the backend's head — read them there, by a comparison of a few bytes per field. Whatever
//! else reads the fields goes through `Deref<Target = HeaderMap>`, which builds the map once
//! (a name lookup, a value check and a hashed insertion per field, two allocations: a sixth
//! of a bare proxied request's instructions when every request paid for it). Once built
//! (or changed through `DerefMut`), the map is what every accessor reads.
//!
//! Why by hand: `http::HeaderMap` is the right type for a header map, and this keeps it;
//! what it cannot do is exist without being built.

use std::ops::{Deref, DerefMut};
use std::sync::OnceLock;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::HeaderMap;

use crate::framing::Span;

/// A request's header fields (see the module's documentation).
#[derive(Default)]
pub struct Headers {
    /// Built on first use, or given (HTTP/2, tests, requests made up by the gateway).
    /// Boxed: inline, it made the request's context (and every move of it) 100 bytes
    /// larger for a map that a bare proxied request never builds.
    map: OnceLock<Box<HeaderMap>>,
    /// The head the fields arrived in, and where each sits in it: read while `map` is not
    /// built. A vector of the fields' exact number (one allocation; inline room for a
    /// browser's two dozen made the context 400 bytes larger, copied at every move).
    head: Bytes,
    fields: Vec<Span>,
}

impl Headers {
    /// The fields of an HTTP/1 head: `fields` are spans of `head`, each name a token and
    /// each value valid in a `HeaderValue` (httparse checks both as it parses).
    pub(crate) fn raw(head: Bytes, fields: Vec<Span>) -> Headers {
        Headers {
            map: OnceLock::new(),
            head,
            fields,
        }
    }

    /// The fields of `head`, a whole request head (tests).
    #[cfg(test)]
    pub(crate) fn parse_for_tests(head: &[u8]) -> Headers {
        let head = Bytes::copy_from_slice(head);
        let mut fields = [httparse::EMPTY_HEADER; 32];
        let mut req = httparse::Request::new(&mut fields);
        assert!(req.parse(&head).unwrap().is_complete());
        let spans = crate::framing::field_spans(&head, req.headers).collect();
        Headers::raw(head, spans)
    }

    /// Whether the header map has been built (tests).
    #[cfg(test)]
    pub(crate) fn is_built(&self) -> bool {
        self.map.get().is_some()
    }

    /// Whether the fields are read where they arrived (no map stands in for them).
    fn unbuilt(&self) -> bool {
        self.map.get().is_none()
    }

    /// The header map, built now if it was not.
    pub fn map(&self) -> &HeaderMap {
        self.map.get_or_init(|| {
            let mut map = HeaderMap::with_capacity(self.fields.len());
            for f in &self.fields {
                // httparse admitted both (a token, and no control characters but tab):
                // neither fails, and a field that did would not be one the client could
                // have meant.
                if let (Ok(name), Ok(value)) = (
                    HeaderName::from_bytes(f.name(&self.head)),
                    HeaderValue::from_maybe_shared(self.head.slice_ref(f.value(&self.head))),
                ) {
                    map.append(name, value);
                }
            }
            Box::new(map)
        })
    }

    /// The header map, taken out (built if it was not).
    pub fn into_map(mut self) -> HeaderMap {
        self.map();
        self.map.take().map(|m| *m).unwrap_or_default()
    }

    /// The value of the first field named `name` (any case), as `HeaderMap::get` finds it.
    pub fn value(&self, name: &str) -> Option<&[u8]> {
        if self.unbuilt() {
            self.fields()
                .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
                .map(|(_, v)| v)
        } else {
            self.map().get(name).map(HeaderValue::as_bytes)
        }
    }

    /// [`Headers::value`] as text, when it is visible ASCII (`HeaderValue::to_str`).
    pub fn text(&self, name: &str) -> Option<&str> {
        as_text(self.value(name)?)
    }

    /// [`Headers::values`] that are text, as `HeaderValue::to_str` admits them.
    pub fn texts<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.values(name).filter_map(as_text)
    }

    /// Each value of the fields named `name` (any case), in the order they came.
    pub fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a [u8]> + 'a {
        self.fields()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v)
    }

    /// Whether [`Headers::fields`] gives the names exactly as the client sent them: the
    /// fields of an HTTP/1 head, still read where they arrived (a map built to look them up
    /// does not change that; one changed through `DerefMut` stands for them from then on,
    /// in lower case, as an HTTP/2 request's map does).
    pub fn names_as_sent(&self) -> bool {
        !self.head.is_empty()
    }

    /// Every field, name (as sent, any case; lower case from a map) and value. Raw fields
    /// come in the order they arrived; a map's, name by name.
    #[inline]
    pub fn fields(&self) -> Fields<'_> {
        if self.names_as_sent() {
            Fields::Raw(&self.head, self.fields.iter())
        } else {
            Fields::Map(self.map().iter())
        }
    }

    /// How many fields there are.
    pub fn count(&self) -> usize {
        if self.unbuilt() {
            self.fields.len()
        } else {
            self.map().len()
        }
    }
}

/// A value as text: visible ASCII and tabs only, as `HeaderValue::to_str` admits.
pub fn as_text(v: &[u8]) -> Option<&str> {
    if v.iter().all(|&b| b == b'\t' || (0x20..0x7f).contains(&b)) {
        std::str::from_utf8(v).ok()
    } else {
        None
    }
}

/// The fields of [`Headers::fields`].
pub enum Fields<'a> {
    /// Where they arrived.
    Raw(&'a [u8], std::slice::Iter<'a, Span>),
    /// From the map.
    Map(http::header::Iter<'a, HeaderValue>),
}

impl<'a> Iterator for Fields<'a> {
    type Item = (&'a [u8], &'a [u8]);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Fields::Raw(head, spans) => spans.next().map(|f| (f.name(head), f.value(head))),
            Fields::Map(map) => map
                .next()
                .map(|(n, v)| (n.as_str().as_bytes(), v.as_bytes())),
        }
    }
}

impl From<HeaderMap> for Headers {
    fn from(map: HeaderMap) -> Headers {
        Headers {
            map: OnceLock::from(Box::new(map)),
            head: Bytes::new(),
            fields: Vec::new(),
        }
    }
}

impl Deref for Headers {
    type Target = HeaderMap;

    fn deref(&self) -> &HeaderMap {
        self.map()
    }
}

impl DerefMut for Headers {
    fn deref_mut(&mut self) -> &mut HeaderMap {
        self.map();
        // The map stands for the fields from now on.
        self.head = Bytes::new();
        self.fields = Vec::new();
        self.map.get_mut().expect("built just above")
    }
}

impl Clone for Headers {
    fn clone(&self) -> Headers {
        Headers::from(self.map().clone())
    }
}

impl std::fmt::Debug for Headers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(
                self.fields()
                    .map(|(n, v)| (String::from_utf8_lossy(n), String::from_utf8_lossy(v))),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(head: &[u8]) -> Headers {
        Headers::parse_for_tests(head)
    }

    const HEAD: &[u8] = b"GET / HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 1.2.3.4\r\nAccept: x\r\nx-forwarded-for: 5.6.7.8\r\nX-Bin: caf\xc3\xa9\r\n\r\n";

    #[test]
    fn raw_and_built_answer_alike() {
        let raw = parsed(HEAD);
        let built = parsed(HEAD);
        built.map();
        for h in [&raw, &built] {
            assert_eq!(h.value("x-forwarded-for"), Some(&b"1.2.3.4"[..]));
            assert_eq!(h.value("X-FORWARDED-FOR"), Some(&b"1.2.3.4"[..]));
            assert_eq!(h.text("host"), Some("a"));
            assert_eq!(h.value("missing"), None);
            let all: Vec<&[u8]> = h.values("x-forwarded-for").collect();
            assert_eq!(all, [&b"1.2.3.4"[..], b"5.6.7.8"]);
            assert_eq!(h.count(), 5);
            // Not visible ASCII: a value, not text (as HeaderValue::to_str).
            assert_eq!(h.value("x-bin"), Some("café".as_bytes()));
            assert_eq!(h.text("x-bin"), None);
            assert_eq!(h.texts("x-bin").count(), 0);
            assert_eq!(
                h.texts("x-forwarded-for").collect::<Vec<_>>(),
                ["1.2.3.4", "5.6.7.8"]
            );
        }
        assert!(!raw.is_built(), "nothing above needed the map");
        // Raw fields in the order they came, names as sent, whether a map was built to
        // look them up or not; once a change makes the map stand for them, the map's, by
        // name, lower case.
        for h in [&raw, &built] {
            assert!(h.names_as_sent());
            let names: Vec<&[u8]> = h.fields().map(|(n, _)| n).collect();
            assert_eq!(
                names,
                [
                    &b"Host"[..],
                    b"X-Forwarded-For",
                    b"Accept",
                    b"x-forwarded-for",
                    b"X-Bin"
                ]
            );
        }
        let mut changed = parsed(HEAD);
        changed.insert("x-new", HeaderValue::from_static("1"));
        changed.remove("x-new");
        assert!(!changed.names_as_sent());
        let names: Vec<&[u8]> = changed.fields().map(|(n, _)| n).collect();
        assert_eq!(
            names,
            [
                &b"host"[..],
                b"x-forwarded-for",
                b"x-forwarded-for",
                b"accept",
                b"x-bin"
            ]
        );
        assert_eq!(raw.get("accept").unwrap(), "x");
        assert_eq!(raw.len(), 5);
    }

    #[test]
    fn a_change_goes_to_the_map_and_the_map_is_read_from_then_on() {
        let mut h = parsed(HEAD);
        h.insert("x-new", HeaderValue::from_static("1"));
        h.remove("host");
        assert_eq!(h.value("x-new"), Some(&b"1"[..]));
        assert_eq!(h.value("host"), None);
        assert_eq!(h.fields().count(), 5);
        let map = h.into_map();
        assert_eq!(map.get("x-new").unwrap(), "1");
    }

    #[test]
    fn empty_and_given() {
        let h = Headers::default();
        assert_eq!(h.value("host"), None);
        assert_eq!(h.count(), 0);
        assert!(h.is_empty());
        let mut map = HeaderMap::new();
        map.insert("host", HeaderValue::from_static("b"));
        let h = Headers::from(map);
        assert_eq!(h.text("Host"), Some("b"));
        assert_eq!(format!("{h:?}"), r#"{"host": "b"}"#);
    }
}
