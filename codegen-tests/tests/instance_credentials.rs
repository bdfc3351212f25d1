//! The gateway's own credentials from an EC2 instance's metadata service (IMDSv2: a session
//! token first, then the role's credentials with it), as the AWS SDKs find them when nothing
//! else is set; the service call is signed with them (checked by a stand-in endpoint) and
//! they are asked for once, then cached. Its own test binary: credentials are per process.

mod common;

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use common::{fake_aws, send, serve};
use http_body_util::Full;
use specgate_codegen_tests as gen;
use specgate_runtime::config::Config;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instance_metadata_credentials_sign_service_calls() {
    // The metadata service: PUT /latest/api/token, then the role and its credentials, each
    // only with the token.
    let asked: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = asked.clone();
    let imds = serve(move |req: http::request::Parts, _body: Bytes| {
        let log = log.clone();
        async move {
            let path = req.uri.path().to_string();
            log.lock().unwrap().push(format!("{} {path}", req.method));
            let token_ok = req
                .headers
                .get("x-aws-ec2-metadata-token")
                .is_some_and(|t| t == "imds-session");
            let (status, body) = match (req.method.as_str(), path.as_str()) {
                ("PUT", "/latest/api/token")
                    if req.headers.contains_key("x-aws-ec2-metadata-token-ttl-seconds") =>
                {
                    (200, "imds-session".to_string())
                }
                ("GET", "/latest/meta-data/iam/security-credentials/") if token_ok => {
                    (200, "gateway-role".to_string())
                }
                ("GET", "/latest/meta-data/iam/security-credentials/gateway-role") if token_ok => (
                    200,
                    r#"{"Code":"Success","AccessKeyId":"AKIAINSTANCE0000001","SecretAccessKey":"testing","Token":"instance-session","Expiration":"2099-01-01T00:00:00Z"}"#.to_string(),
                ),
                _ => (401, String::new()),
            };
            hyper::Response::builder()
                .status(status)
                .body(Full::new(Bytes::from(body)))
                .unwrap()
        }
    })
    .await;
    for k in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    ] {
        std::env::remove_var(k);
    }
    std::env::set_var("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent");
    std::env::set_var("AWS_CONFIG_FILE", "/nonexistent");
    std::env::set_var(
        "AWS_EC2_METADATA_SERVICE_ENDPOINT",
        format!("http://{imds}"),
    );
    let (fake, calls) = fake_aws(|_| (200, "text/xml", "<SendMessageResponse/>".into())).await;
    let mut config = Config::for_tests();
    config.stage = Some("test".into());
    config.aws_endpoint_url = Some(format!("http://{fake}"));
    let gw = specgate_runtime::server::spawn(gen::aws_services::Api, config)
        .await
        .unwrap();
    let json = [("content-type", "application/json")];
    for _ in 0..2 {
        let r = send(gw.addr, "POST", "/queue", &json, br#"{"order": 1}"#).await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let calls = calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 2);
    for c in &calls {
        assert!(c.signature_ok, "{c:?}");
        assert_eq!(c.headers["x-amz-security-token"], "instance-session");
        let auth = c.headers["authorization"].to_str().unwrap();
        assert!(auth.contains("Credential=AKIAINSTANCE0000001/"), "{auth}");
    }
    assert_eq!(
        asked.lock().unwrap().clone(),
        vec![
            "PUT /latest/api/token",
            "GET /latest/meta-data/iam/security-credentials/",
            "GET /latest/meta-data/iam/security-credentials/gateway-role",
        ],
        "asked once, then cached"
    );
    gw.shutdown().await.unwrap();
}
