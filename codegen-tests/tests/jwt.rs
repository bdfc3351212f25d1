//! The JWT authorizer of specs/jwt.yaml against keys generated here (RSA by `openssl`, EC
//! P-256 by rcgen) and served from a local OpenID discovery + JWKS endpoint: good RS256 and
//! ES256 tokens get through with their claims; expired, wrong-audience, wrong-issuer,
//! `alg: none`, HMAC-with-the-public-key and unknown-key tokens are refused; scopes decide
//! between 200 and 403.

mod common;
mod lambda_support;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use bytes::Bytes;
use common::*;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use specgate_codegen_tests as gen;

const ISSUER: &str = "https://issuer.example.com/";
const AUDIENCE: &str = "api://specgate";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Keys made for this run.
struct TestKeys {
    rsa_pem: Vec<u8>,
    rsa_public_pem: Vec<u8>,
    rsa_n: String,
    ec_pem: Vec<u8>,
    ec_x: String,
    ec_y: String,
}

fn keys() -> TestKeys {
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "specgate-jwt-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let key = dir.join("rsa.pem");
    let ok = std::process::Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
        ])
        .arg(&key)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "openssl genpkey failed");
    let out = std::process::Command::new("openssl")
        .args(["rsa", "-noout", "-modulus", "-in"])
        .arg(&key)
        .output()
        .unwrap();
    let modulus = String::from_utf8(out.stdout).unwrap();
    let hex = modulus.trim().trim_start_matches("Modulus=");
    let n: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    let public = std::process::Command::new("openssl")
        .args(["rsa", "-pubout", "-in"])
        .arg(&key)
        .output()
        .unwrap()
        .stdout;
    let rsa_pem = std::fs::read(&key).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let ec = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let point = ec.public_key_raw();
    assert_eq!(point.len(), 65);
    TestKeys {
        rsa_pem,
        rsa_public_pem: public,
        rsa_n: b64(&n),
        ec_pem: ec.serialize_pem().into_bytes(),
        ec_x: b64(&point[1..33]),
        ec_y: b64(&point[33..]),
    }
}

/// The identity provider: discovery document and key set, counting key set fetches.
async fn provider(keys: &TestKeys) -> (SocketAddr, Arc<AtomicUsize>) {
    provider_padded(keys, 0).await
}

/// [`provider`], its key set carrying `pad` bytes of an extra member.
async fn provider_padded(keys: &TestKeys, pad: usize) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let jwks = json!({"keys": [
        {"kty": "RSA", "kid": "rsa1", "use": "sig", "alg": "RS256", "n": keys.rsa_n, "e": "AQAB"},
        {"kty": "EC", "kid": "ec1", "use": "sig", "alg": "ES256", "crv": "P-256", "x": keys.ec_x, "y": keys.ec_y},
    ], "padding": "x".repeat(pad)})
    .to_string();
    let discovery =
        json!({"issuer": ISSUER, "jwks_uri": format!("http://{addr}/keys")}).to_string();
    let fetches = Arc::new(AtomicUsize::new(0));
    let count = fetches.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let (jwks, discovery, count) = (jwks.clone(), discovery.clone(), count.clone());
            tokio::spawn(async move {
                let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let body = match req.uri().path() {
                        "/.well-known/openid-configuration" => discovery.clone(),
                        "/keys" => {
                            count.fetch_add(1, Ordering::SeqCst);
                            jwks.clone()
                        }
                        _ => String::new(),
                    };
                    async move {
                        Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from(body))))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    (addr, fetches)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn claims(extra: Value) -> Value {
    let mut c =
        json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "user-7", "exp": now() + 600, "iat": now()});
    if let (Value::Object(c), Value::Object(e)) = (&mut c, extra) {
        c.extend(e);
    }
    c
}

fn rs256(keys: &TestKeys, claims: &Value) -> String {
    let mut h = Header::new(Algorithm::RS256);
    h.kid = Some("rsa1".into());
    jsonwebtoken::encode(
        &h,
        claims,
        &EncodingKey::from_rsa_pem(&keys.rsa_pem).unwrap(),
    )
    .unwrap()
}

fn es256(keys: &TestKeys, claims: &Value) -> String {
    let mut h = Header::new(Algorithm::ES256);
    h.kid = Some("ec1".into());
    jsonwebtoken::encode(&h, claims, &EncodingKey::from_ec_pem(&keys.ec_pem).unwrap()).unwrap()
}

async fn call(addr: SocketAddr, path: &str, token: &str) -> Reply {
    let bearer = format!("Bearer {token}");
    send(addr, "GET", path, &[("authorization", &bearer)], b"").await
}

#[tokio::test]
async fn a_key_set_over_a_megabyte_is_not_read() {
    let keys = keys();
    for (pad, status) in [(900 * 1024, 201), (1024 * 1024, 401)] {
        let (idp, fetches) = provider_padded(&keys, pad).await;
        let gw = lambda_support::start(gen::jwt::Api, |c| {
            c.jwt_discovery = vec![(ISSUER.into(), format!("http://{idp}"))];
        })
        .await;
        let r = call(gw.addr, "/me", &rs256(&keys, &claims(json!({})))).await;
        assert_eq!(r.status, status, "{pad}: {}", r.text());
        assert!(fetches.load(Ordering::SeqCst) >= 1);
        gw.shutdown().await.unwrap();
    }
}

#[tokio::test]
async fn jwt_authorizer_accepts_good_tokens_and_refuses_the_rest() {
    let keys = keys();
    let (idp, fetches) = provider(&keys).await;
    let gw = lambda_support::start(gen::jwt::Api, |c| {
        c.jwt_discovery = vec![(ISSUER.into(), format!("http://{idp}"))];
    })
    .await;
    let addr = gw.addr;

    // RS256 and ES256 tokens from the issuer's keys get through; the function sees the claims.
    let r = call(addr, "/me", &rs256(&keys, &claims(json!({})))).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let auth = &r.json()["event"]["requestContext"]["authorizer"]["jwt"];
    assert_eq!(auth["claims"]["sub"], "user-7");
    assert_eq!(auth["claims"]["iss"], ISSUER);
    assert_eq!(auth["scopes"], Value::Null);
    let r = call(addr, "/me", &es256(&keys, &claims(json!({})))).await;
    assert_eq!(r.status, 201, "{}", r.text());
    // An access token names its client instead of an audience.
    let access = claims(json!({"aud": null, "client_id": AUDIENCE, "scope": "read admin"}));
    let r = call(addr, "/admin", &rs256(&keys, &access)).await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(
        r.json()["event"]["requestContext"]["authorizer"]["jwt"]["scopes"],
        json!(["read", "admin"])
    );

    // Refused: 401.
    let unauthorized = |r: &Reply| {
        assert_eq!(r.status, 401, "{}", r.text());
        assert_eq!(r.text(), r#"{"message":"Unauthorized"}"#);
    };
    unauthorized(&get(addr, "/me").await);
    unauthorized(&call(addr, "/me", "not.a.token").await);
    let expired = claims(json!({"exp": now() - 60}));
    unauthorized(&call(addr, "/me", &rs256(&keys, &expired)).await);
    let not_yet = claims(json!({"nbf": now() + 600}));
    unauthorized(&call(addr, "/me", &rs256(&keys, &not_yet)).await);
    let other_audience = claims(json!({"aud": "api://someone-else"}));
    unauthorized(&call(addr, "/me", &rs256(&keys, &other_audience)).await);
    let other_issuer = claims(json!({"iss": "https://evil.example.com/"}));
    unauthorized(&call(addr, "/me", &rs256(&keys, &other_issuer)).await);
    // `alg: none`, unsigned.
    let none = format!(
        "{}.{}.",
        b64(br#"{"alg":"none","kid":"rsa1","typ":"JWT"}"#),
        b64(claims(json!({})).to_string().as_bytes())
    );
    unauthorized(&call(addr, "/me", &none).await);
    // Key confusion: HS256 "signed" with the RSA public key as the HMAC secret.
    let mut h = Header::new(Algorithm::HS256);
    h.kid = Some("rsa1".into());
    let confused = jsonwebtoken::encode(
        &h,
        &claims(json!({})),
        &EncodingKey::from_secret(&keys.rsa_public_pem),
    )
    .unwrap();
    unauthorized(&call(addr, "/me", &confused).await);
    // Signed with the EC key but claiming the RSA key's kid.
    let mut h = Header::new(Algorithm::ES256);
    h.kid = Some("rsa1".into());
    let swapped = jsonwebtoken::encode(
        &h,
        &claims(json!({})),
        &EncodingKey::from_ec_pem(&keys.ec_pem).unwrap(),
    )
    .unwrap();
    unauthorized(&call(addr, "/me", &swapped).await);
    // A tampered payload.
    let good = rs256(&keys, &claims(json!({})));
    let parts: Vec<&str> = good.split('.').collect();
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        b64(claims(json!({"sub": "admin"})).to_string().as_bytes()),
        parts[2]
    );
    unauthorized(&call(addr, "/me", &forged).await);
    // A kid the issuer does not have: the keys are fetched again (at most every 30 s).
    let mut h = Header::new(Algorithm::RS256);
    h.kid = Some("rotated".into());
    let rotated = jsonwebtoken::encode(
        &h,
        &claims(json!({})),
        &EncodingKey::from_rsa_pem(&keys.rsa_pem).unwrap(),
    )
    .unwrap();
    unauthorized(&call(addr, "/me", &rotated).await);
    assert_eq!(fetches.load(Ordering::SeqCst), 1, "keys are cached");

    // A good token without the route's scope: 403.
    let r = call(
        addr,
        "/admin",
        &rs256(&keys, &claims(json!({"scope": "read"}))),
    )
    .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.text(), r#"{"message":"Forbidden"}"#);
    gw.shutdown().await.unwrap();
}

const POOL: &str = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_TestPool";

fn pool_claims(extra: Value) -> Value {
    let mut c = json!({"iss": POOL, "sub": "user-9", "exp": now() + 600, "iat": now()});
    if let (Value::Object(c), Value::Object(e)) = (&mut c, extra) {
        c.extend(e);
    }
    c
}

#[tokio::test]
async fn cognito_authorizer_takes_id_tokens_and_scoped_access_tokens() {
    let keys = keys();
    let (idp, _) = provider(&keys).await;
    let mut config = specgate_runtime::config::Config::for_tests();
    config.jwt_discovery = vec![(POOL.into(), format!("http://{idp}"))];
    let gw = specgate_runtime::server::spawn(gen::cognito::Api, config)
        .await
        .unwrap();
    let raw = |token: String| async move {
        // Cognito tokens are sent as they are, without `Bearer`.
        send(
            gw.addr,
            "GET",
            "/profile",
            &[("authorization", &token)],
            b"",
        )
        .await
    };
    let id =
        pool_claims(json!({"token_use": "id", "email": "u9@example.com", "aud": "some-client"}));
    let r = raw(rs256(&keys, &id)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), r#"{"sub": "user-9", "email": "u9@example.com"}"#);
    // An access token is not an ID token; another pool's token is not this pool's.
    let access =
        pool_claims(json!({"token_use": "access", "scope": "pets/read", "client_id": "app"}));
    assert_eq!(raw(rs256(&keys, &access)).await.status, 401);
    let elsewhere = json!({"iss": "https://cognito-idp.us-east-1.amazonaws.com/other", "token_use": "id", "sub": "x", "exp": now() + 600});
    assert_eq!(raw(rs256(&keys, &elsewhere)).await.status, 401);

    // A route with scopes wants an access token holding one of them; anything else is 401.
    let r = call(gw.addr, "/pets", &es256(&keys, &access)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.text(), r#"{"client": "app"}"#);
    let wrong_scope = pool_claims(json!({"token_use": "access", "scope": "pets/write"}));
    let r = call(gw.addr, "/pets", &es256(&keys, &wrong_scope)).await;
    assert_eq!(r.status, 401);
    assert_eq!(r.text(), r#"{"message":"Unauthorized"}"#);
    assert_eq!(call(gw.addr, "/pets", &rs256(&keys, &id)).await.status, 401);
    gw.shutdown().await.unwrap();
}
