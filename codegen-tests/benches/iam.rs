//! What IAM adds to a request, measured alone: verifying a SigV4 signature (a POST with a
//! JSON body, signed by the aws-sigv4 crate with `host`, `content-type` and `x-amz-date`) and
//! evaluating the resource policy of `specs/iam.yaml` (five statements, one with an IP
//! condition) plus an identity policy, for a caller of the API's account.
//!
//! `cargo bench -p specgate-codegen-tests --bench iam`

use std::hint::black_box;
use std::time::SystemTime;

use criterion::{criterion_group, criterion_main, Criterion};
use specgate_runtime::policy::{Caller, Policy, Request, Scope};
use specgate_runtime::sigv4;

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

fn signed_request(now: SystemTime) -> (http::request::Parts, Vec<u8>) {
    use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
    use aws_sigv4::sign::v4;
    let body =
        br#"{"order": {"id": 42, "items": ["a", "b", "c"], "note": "leave at the door"}}"#.to_vec();
    let identity =
        aws_credential_types::Credentials::new("AKIAIOSFODNN7EXAMPLE", SECRET, None, None, "bench")
            .into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region("us-east-1")
        .name("execute-api")
        .time(now)
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let url = "http://api.example.com/test/orders?tag=a&tag=b";
    let headers = [
        ("host", "api.example.com"),
        ("content-type", "application/json"),
    ];
    let signable =
        SignableRequest::new("POST", url, headers.into_iter(), SignableBody::Bytes(&body)).unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    let mut req = http::Request::builder()
        .method("POST")
        .uri("/test/orders?tag=a&tag=b")
        .header("host", "api.example.com")
        .header("content-type", "application/json")
        .body(())
        .unwrap();
    instructions.apply_to_request_http1x(&mut req);
    (req.into_parts().0, body)
}

fn bench(c: &mut Criterion) {
    let now = SystemTime::now();
    let (parts, body) = signed_request(now);
    c.bench_function("sigv4 verify (POST, 80-byte JSON body)", |b| {
        b.iter(|| {
            let claimed = sigv4::claimed(&parts.headers, parts.uri.query()).unwrap();
            let req = sigv4::Signed {
                method: "POST",
                raw_path: parts.uri.path(),
                raw_query: parts.uri.query(),
                headers: &parts.headers,
                host: "api.example.com",
                body: &body,
            };
            sigv4::verify(black_box(&claimed), SECRET, "us-east-1", &req, now).unwrap();
        })
    });

    let scope = Scope {
        region: "us-east-1".into(),
        account: "000000000000".into(),
        api: "specgate".into(),
    };
    // The policy as the compiler embedded it in the generated gateway.
    let text = specgate_codegen_tests::iam::API.resource_policy.unwrap();
    let resource: serde_json::Value = serde_json::from_str(text).unwrap();
    let resource = Policy::parse(&resource, &scope, true).unwrap();
    let identity = Policy::parse(
        &serde_json::json!({"Statement": [{"Effect": "Allow", "Action": "execute-api:Invoke",
            "Resource": "arn:aws:execute-api:*:*:*/*/*/orders*"}]}),
        &scope,
        false,
    )
    .unwrap();
    let caller = Caller {
        arn: "arn:aws:iam::000000000000:user/bob".into(),
        account: "000000000000".into(),
        user_id: "AIDABOB".into(),
        access_key: "AKIABOB".into(),
    };
    let arn = "arn:aws:execute-api:us-east-1:000000000000:specgate/test/POST/orders";
    c.bench_function("resource + identity policy evaluation", |b| {
        b.iter(|| {
            let req = Request {
                caller: Some(&caller),
                action: "execute-api:Invoke",
                resource: black_box(arn),
                source_ip: "198.51.100.7".parse().unwrap(),
                now: 1_796_040_000,
                secure: false,
                user_agent: None,
                referer: None,
                region: "us-east-1",
                stage: "test",
            };
            black_box((resource.evaluate(&req), identity.evaluate(&req)))
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
