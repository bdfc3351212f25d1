//! "No panic on request input", as a tested property: every runtime function that request
//! bytes reach is fed arbitrary (and adversarial: multi-byte, control, percent-escaped)
//! input. Runs on stable Rust with proptest.
//!
//! `cargo test` runs a bounded number of cases per target (`FUZZ_CASES`, default 256); a
//! soak run sets more, e.g. `FUZZ_CASES=200000 cargo test --release -p specgate-runtime
//! --test fuzz`.

use std::sync::Arc;

use bytes::Bytes;
use proptest::prelude::*;
use serde_json::Value;
use specgate_runtime::context::Context;
use specgate_runtime::params::{self, Kind, Param, Shape, Style};
use specgate_runtime::schema::{self, format};
use specgate_runtime::vtl::{self, ops};
use specgate_runtime::{auth, lambda, path};

fn cases() -> u32 {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Text made to hit boundaries: multi-byte characters, escapes, digits, separators.
fn nasty() -> impl Strategy<Value = String> {
    let atoms = prop::sample::select(vec![
        "a",
        "Z",
        "0",
        "9",
        "-",
        "+",
        ":",
        "T",
        "t",
        "Z",
        ".",
        "..",
        "/",
        "\\",
        "%",
        "%2f",
        "%2e",
        "%ff",
        "%C3%A9",
        "%",
        "%4",
        "é",
        "日本",
        "🦀",
        "\u{0}",
        "\n",
        "\r\n",
        " ",
        ",",
        "=",
        "&",
        ";",
        "[",
        "]",
        "{",
        "}",
        "'",
        "\"",
        "$",
        "*",
        "?",
        "@",
        "e",
        "E",
        "1e309",
        "-0",
        "2024-02-29",
        "T23:59:60",
        "+01:00",
        "==",
        "Ä",
    ]);
    prop_oneof![
        prop::collection::vec(atoms, 0..24).prop_map(|v| v.concat()),
        any::<String>(),
        "\\PC{0,40}",
    ]
}

/// Arbitrary JSON values, a few levels deep.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        nasty().prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec((nasty(), inner), 0..6)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn context(target: &str, headers: &[(String, String)]) -> Context {
    let mut b = http::Request::builder().method("POST");
    b = b.uri(
        target
            .parse::<http::Uri>()
            .unwrap_or_else(|_| http::Uri::from_static("/")),
    );
    for (k, v) in headers {
        if let (Ok(k), Ok(v)) = (
            http::HeaderName::from_bytes(k.as_bytes()),
            http::HeaderValue::from_str(v),
        ) {
            b = b.header(k, v);
        }
    }
    let (mut parts, _) = b.body(()).unwrap().into_parts();
    Context::new(
        &mut parts,
        "127.0.0.1:9".parse().unwrap(),
        Arc::from("dev"),
        Arc::new(Vec::new()),
    )
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn format_checks(s in nasty()) {
        let _ = format::date(&s);
        let _ = format::date_time(&s);
        let _ = format::email(&s);
        let _ = format::hostname(&s);
        let _ = format::ipv4(&s);
        let _ = format::ipv6(&s);
        let _ = format::uri(&s);
        let _ = format::uuid(&s);
        let _ = format::byte(&s);
        let _ = schema::length(&s);
        let _ = schema::format_message("date-time", &s);
        let _ = schema::pattern_message(&s, &s);
    }

    #[test]
    fn schema_helpers(a in json(), b in json()) {
        let (x, y) = (specgate_runtime::json::Value::from(&a), specgate_runtime::json::Value::from(&b));
        let _ = schema::equal(&x, &y);
        let _ = schema::type_name(&x);
        if let specgate_runtime::json::Value::Array(items) = &x {
            let _ = schema::unique(items);
        }
        if let Value::Number(n) = &a {
            let _ = schema::is_integer(n);
            let _ = schema::multiple_of(n, 0.1);
            let _ = schema::multiple_of(n, 3.0);
            let _ = format::integer_in(n, i32::MIN.into(), i32::MAX.into());
            let _ = schema::number_text(n);
        }
    }

    #[test]
    fn paths(p in nasty()) {
        let segs = path::segments(&p);
        let decoded = path::decode_all(&segs);
        let strs = path::as_strs(&decoded);
        let _ = path::has_dot_segment(&strs);
        for s in &segs {
            let r = path::reencode_segment(s);
            // Re-encoding keeps the bytes: decoding it gives what decoding the raw gave.
            prop_assert_eq!(path::decode_bytes(&r).into_owned(), path::decode_bytes(s).into_owned());
        }
        let _ = path::decode_query(&p);
        let _ = path::encode_query(&p);
        let _ = path::encode_segment(&p);
    }

    #[test]
    fn typed_parameters(v in nasty(), name in nasty(), cookie in nasty()) {
        for kind in [Kind::Integer, Kind::Number, Kind::Boolean, Kind::String, Kind::Any] {
            let _ = params::coerce(&v, kind);
        }
        const PROPS: &[(&str, Kind, bool)] = &[("a", Kind::Integer, false), ("b", Kind::String, true)];
        let _ = params::form(&v, Shape::Object(PROPS));
        let target = format!("/x?{}", path::encode_query(&v).replace("%3D", "=").replace("%26", "&"));
        let cx = context(&target, &[("cookie".into(), cookie.clone()), ("x-h".into(), v.clone())]);
        let pairs = params::query_pairs(&cx);
        let leaked: &'static str = Box::leak(name.clone().into_boxed_str());
        for style in [Style::Form, Style::SpaceDelimited, Style::PipeDelimited, Style::DeepObject, Style::Simple, Style::Label, Style::Matrix] {
            for explode in [false, true] {
                for shape in [Shape::Primitive(Kind::Integer), Shape::Array(Kind::Number), Shape::Object(PROPS)] {
                    let p = Param { name: leaked, style, explode, shape };
                    let _ = params::query(&pairs, &p);
                    let _ = params::cookie(&cx, &p);
                    let _ = params::header(&cx, &Param { name: "x-h", ..p });
                    let _ = params::path(&cx, &p);
                }
            }
        }
    }

    #[test]
    fn jsonpath(doc in json(), p in nasty()) {
        let _ = vtl::path(&doc, &p);
        let _ = vtl::path(&doc, &format!("$.{p}"));
        let _ = vtl::path(&doc, &format!("$['{p}']"));
        let _ = vtl::json(&doc, &format!("$..{p}"));
    }

    #[test]
    fn vtl_util(s in nasty(), body in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = vtl::escape_javascript(&s);
        let _ = vtl::url_encode(&s);
        let _ = vtl::url_decode(&s);
        let _ = vtl::base64_decode(&s);
        let _ = vtl::base64_decode_bytes(&body);
        let _ = vtl::parse_json(&s);
        let v = vtl::input(&body);
        let _ = vtl::render(&v);
    }

    #[test]
    fn vtl_string_methods(recv in nasty(), a in nasty(), i in -3i64..40, j in -3i64..40) {
        let r = Value::String(recv);
        let argsets = [
            vec![],
            vec![Value::from(i)],
            vec![Value::from(i), Value::from(j)],
            vec![Value::String(a.clone())],
            vec![Value::String(a.clone()), Value::String(a.clone())],
            vec![Value::String(a.clone()), Value::from(i)],
        ];
        for name in [
            "length", "substring", "charAt", "indexOf", "lastIndexOf", "replace", "replaceAll",
            "replaceFirst", "split", "matches", "startsWith", "endsWith", "trim", "toLowerCase",
            "toUpperCase", "concat", "contains", "equalsIgnoreCase", "compareTo", "intValue",
            "doubleValue", "booleanValue", "isEmpty", "toString", "equals",
        ] {
            let m = ops::M::from_java_name(name).unwrap();
            for args in &argsets {
                let _ = ops::call(&r, m, args);
            }
        }
    }

    #[test]
    fn vtl_values(a in json(), b in json(), i in -3i64..10) {
        let _ = ops::eq(&a, &b);
        let _ = ops::compare(&a, &b);
        let _ = ops::string(&a);
        let _ = ops::range(&a, &b);
        let _ = ops::range(&Value::from(i), &Value::from(i * 1000));
        for op in [ops::Arith::Sub, ops::Arith::Mul, ops::Arith::Div, ops::Arith::Rem] {
            let _ = ops::arith(op, &a, &b);
        }
        let _ = ops::add(&a, &b, "", "");
        let _ = ops::neg(&a);
        for name in ["size", "get", "getOrDefault", "containsKey", "keySet", "values", "entrySet", "subList", "indexOf", "isEmpty"] {
            let m = ops::M::from_java_name(name).unwrap();
            let _ = ops::call(&a, m, std::slice::from_ref(&b));
            let _ = ops::call(&a, m, &[Value::from(i), Value::from(i + 2)]);
        }
        let mut root = a.clone();
        ops::set_at(&mut root, &[b.clone(), Value::from(i)], Value::Null);
        let _ = ops::index(std::borrow::Cow::Borrowed(&a), &b);
    }

    #[test]
    fn lambda_outputs(payload in prop_oneof![
        prop::collection::vec(any::<u8>(), 0..128),
        json().prop_map(|v| v.to_string().into_bytes()),
        (json(), json(), nasty()).prop_map(|(h, b, s)| serde_json::json!({
            "statusCode": s, "headers": h, "multiValueHeaders": b, "body": s,
            "isBase64Encoded": true, "cookies": h,
        }).to_string().into_bytes()),
    ], function_error in any::<bool>()) {
        let cx = context("/p?a=1", &[]);
        let out = lambda::Output { payload: Bytes::from(payload), function_error };
        let _ = lambda::proxy::parse_v1(&out.payload);
        let _ = lambda::proxy::rest(&cx, &out, &["image/png", "*/*"]);
        let _ = lambda::error_message(&out);
    }

    /// JSON text, well-formed or broken anywhere: the runtime's tree (its one-pass reader,
    /// serde_json behind it) is the one serde_json builds, or fails with serde_json's error.
    #[test]
    fn json_text(text in prop_oneof![
        prop::collection::vec(any::<u8>(), 0..128),
        json().prop_map(|v| v.to_string().into_bytes()),
        (json(), prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4))
            .prop_map(|(v, damage)| {
                let mut b = v.to_string().into_bytes();
                for (at, byte) in damage {
                    let at = at.index(b.len());
                    b[at] = byte;
                }
                b
            }),
    ]) {
        let theirs = serde_json::from_slice::<Value>(&text);
        match (specgate_runtime::json::Value::parse(&text), theirs) {
            (Ok(ours), Ok(theirs)) => {
                prop_assert_eq!(ours.to_string(), theirs.to_string());
            }
            (Err(ours), Err(theirs)) => prop_assert_eq!(ours.to_string(), theirs.to_string()),
            (ours, theirs) => prop_assert!(false, "ours {:?}, serde_json {:?}", ours.is_ok(), theirs.is_ok()),
        }
    }

    #[test]
    fn lambda_events(target in nasty(), headers in prop::collection::vec((nasty(), nasty()), 0..4), body in prop::collection::vec(any::<u8>(), 0..64)) {
        let cx = context(&format!("/{}", path::encode_query(&target)), &headers);
        let body = Bytes::from(body);
        let _ = lambda::event::v1(&cx, &body, &["*/*"], Some("1.0"));
        let _ = lambda::event::v2(&cx, &body, "ANY /{proxy+}");
    }

    #[test]
    fn authorizer_policies(output in json(), arn in nasty(), pattern in nasty()) {
        let _ = auth::decide(auth::Kind::Token, &output, &arn);
        let _ = auth::decide(auth::Kind::Request, &output, &arn);
        let _ = auth::wildcard(&pattern, &arn);
    }

    #[test]
    fn jwt_tokens(token in prop_oneof![
        nasty(),
        (nasty(), nasty(), nasty()).prop_map(|(a, b, c)| format!("{a}.{b}.{c}")),
        (json(), json()).prop_map(|(h, c)| {
            use base64::Engine;
            let e = base64::engine::general_purpose::URL_SAFE_NO_PAD;
            format!("{}.{}.c2ln", e.encode(h.to_string()), e.encode(c.to_string()))
        }),
    ]) {
        let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(serde_json::json!({"keys": []})).unwrap();
        let _ = specgate_runtime::jwt::verify(&token, &set, "https://issuer", &["aud"], &["s"], false);
    }

    #[test]
    fn sigv4_signatures(
        auth in prop_oneof![
            nasty(),
            (nasty(), nasty(), nasty()).prop_map(|(c, h, sig)| format!("AWS4-HMAC-SHA256 Credential={c}, SignedHeaders={h}, Signature={sig}")),
            (nasty(), nasty()).prop_map(|(k, d)| format!("AWS4-HMAC-SHA256 Credential={k}/{d}/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-date, Signature=00")),
        ],
        date in nasty(),
        query in nasty(),
        path in nasty(),
        body in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        use specgate_runtime::sigv4;
        let mut headers = http::HeaderMap::new();
        if let Ok(v) = http::HeaderValue::from_str(&auth) {
            headers.insert("authorization", v);
        }
        if let Ok(v) = http::HeaderValue::from_str(&date) {
            headers.insert("x-amz-date", v);
        }
        let _ = sigv4::parse_amz_date(&date);
        for q in [None, Some(query.as_str()), Some("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=a%2Fb&X-Amz-Expires=9")] {
            let no_auth = http::HeaderMap::new();
            for h in [&headers, &no_auth] {
                if let Ok(claimed) = sigv4::claimed(h, q) {
                    let req = sigv4::Signed {
                        method: "GET",
                        raw_path: &path,
                        raw_query: q,
                        headers: h,
                        host: "h",
                        body: &body,
                    };
                    let _ = sigv4::verify(&claimed, "secret", "us-east-1", &req, std::time::SystemTime::now());
                }
            }
        }
    }

    #[test]
    fn iam_policies(doc in json(), ip in nasty(), arn in nasty()) {
        use specgate_runtime::policy::{Policy, Request, Scope};
        let scope = Scope { region: "r".into(), account: "1".into(), api: "a".into() };
        for resource_policy in [true, false] {
            if let Ok(p) = Policy::parse(&doc, &scope, resource_policy) {
                let _ = p.evaluate(&Request {
                    caller: None,
                    action: "execute-api:Invoke",
                    resource: &arn,
                    source_ip: ip.parse().unwrap_or(std::net::IpAddr::from([127, 0, 0, 1])),
                    now: 0,
                    secure: false,
                    user_agent: Some(&ip),
                    referer: None,
                    region: "r",
                    stage: "s",
                });
            }
        }
        let _ = specgate_runtime::policy::glob(&ip, &arn, true);
    }

    #[test]
    fn http1_requests(parts in prop::collection::vec(http1_atom(), 0..48), step in 1usize..64) {
        let bytes: Vec<u8> = parts.concat();
        if let Ok((head, body)) = specgate_runtime::http1::decode_request(&bytes, step) {
            // Whatever parses, parses the same fed all at once.
            let (again, body_again) = specgate_runtime::http1::decode_request(&bytes, bytes.len())
                .expect("the same request fed at once");
            prop_assert_eq!(head.uri, again.uri);
            prop_assert_eq!(body, body_again);
        }
        let _ = specgate_runtime::upstream::pool::decode_response_head(&bytes);
    }

    #[test]
    fn http1_random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512), step in 1usize..64) {
        let _ = specgate_runtime::http1::decode_request(&bytes, step);
        let _ = specgate_runtime::upstream::pool::decode_response_head(&bytes);
    }
}

/// Pieces of HTTP/1 messages, well and badly formed.
fn http1_atom() -> impl Strategy<Value = Vec<u8>> {
    prop::sample::select(vec![
        &b"GET "[..],
        b"POST ",
        b"HTTP/1.1 200 OK\r\n",
        b"HTTP/1.0 100 Continue\r\n\r\n",
        b"/a/b?c=d ",
        b"/%ff%2e%2e/ ",
        b"http://h/x ",
        b"* ",
        b"HTTP/1.1\r\n",
        b"HTTP/1.0\r\n",
        b"HTTP/2.0\r\n",
        b"Host: x\r\n",
        b"Content-Length: 5\r\n",
        b"Content-Length: 0\r\n",
        b"Content-Length: 5, 5\r\n",
        b"Content-Length: 18446744073709551616\r\n",
        b"Transfer-Encoding: chunked\r\n",
        b"Transfer-Encoding: gzip, chunked\r\n",
        b"Connection: close, keep-alive\r\n",
        b"Expect: 100-continue\r\n",
        b"X: \xc3\xa9\x80\r\n",
        b" folded\r\n",
        b"\r\n",
        b"\n",
        b"\r",
        b"5\r\nhello\r\n",
        b"0\r\n\r\n",
        b"ffffffffffffffff\r\n",
        b"1;ext=\"q\"\r\n",
        b"a\r\n0123456789\r\n",
        b"Trailer: t\r\n",
        b"hello",
        b"\x00",
        b":",
    ])
    .prop_map(<[u8]>::to_vec)
}
