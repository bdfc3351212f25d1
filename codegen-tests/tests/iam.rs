//! IAM authorization and resource policies (`specs/iam.yaml`) over real sockets: principals
//! added with the operator commands, requests signed by two independent SigV4 clients (the
//! aws-sigv4 crate here, botocore's `SigV4Auth` and `SigV4QueryAuth` in Python), every
//! tampered part refused with AWS's answer, and the policy matrix: the resource policy
//! alone, with IAM for callers of this account and of another, and with a Lambda token
//! authorizer.

mod common;
mod lambda_support;

use std::time::{Duration, SystemTime};

use common::*;
use serde_json::Value;
use specgate_codegen_tests as gen;
use specgate_runtime::cli::Principals;
use specgate_runtime::config::Config;

/// A principal added as an operator would (`./gateway principals add`); its access key
/// id and secret.
fn add(config: &Config, arn: &str, policy: Option<Value>) -> (String, String) {
    add_with(config, arn, policy, None).0
}

/// [`add`] with temporary credentials (`--expires-in`): also the session token.
fn add_with(
    config: &Config,
    arn: &str,
    policy: Option<Value>,
    expires_in: Option<u64>,
) -> ((String, String), Option<String>) {
    let store = specgate_runtime::store::open(None, &config.state_dir, "IAM").unwrap();
    let file = policy.map(|p| {
        let f = config
            .state_dir
            .join(format!("{}.json", arn.rsplit('/').next().unwrap()));
        std::fs::create_dir_all(&config.state_dir).unwrap();
        std::fs::write(&f, p.to_string()).unwrap();
        f
    });
    let out = specgate_runtime::cli::principals(
        &Principals::Add {
            arn: arn.into(),
            access_key_id: None,
            secret_access_key: None,
            policy: file,
            expires_in,
        },
        &*store,
        &config.secrets_key_path(),
    )
    .unwrap();
    let v: Value = serde_json::from_str(&out).unwrap();
    (
        (
            v["accessKeyId"].as_str().unwrap().into(),
            v["secretAccessKey"].as_str().unwrap().into(),
        ),
        v["sessionToken"].as_str().map(str::to_string),
    )
}

fn denied(who: &str, resource: &str, explicit: bool) -> String {
    serde_json::json!({"message": format!(
        "User: {who} is not authorized to perform: execute-api:Invoke on resource: arn:aws:execute-api:us-east-1:********0000:specgate/test/{resource}{}",
        if explicit { " with an explicit deny" } else { "" }
    )})
    .to_string()
}

fn config() -> Config {
    let mut c = Config::for_tests();
    c.stage = Some("test".into());
    c.state_dir = std::env::temp_dir().join(format!(
        "specgate-iam-{}-{}",
        std::process::id(),
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    c.trusted_proxy_hops = 1;
    c.functions.push(lambda_support::authorizer_function());
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_policy_matrix() {
    let config = config();
    let invoke_orders = serde_json::json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "arn:aws:execute-api:*:*:*/*/*/orders*"}]});
    let everything = serde_json::json!({"Statement": [{"Effect": "Allow", "Action": "execute-api:*", "Resource": "*"}]});
    let alice = add(&config, "arn:aws:iam::000000000000:user/alice", None);
    let bob = add(
        &config,
        "arn:aws:iam::000000000000:user/bob",
        Some(invoke_orders),
    );
    let dave = add(&config, "arn:aws:iam::000000000000:user/dave", None);
    let mallory = add(
        &config,
        "arn:aws:iam::000000000000:user/mallory",
        Some(everything.clone()),
    );
    let erin = add(
        &config,
        "arn:aws:iam::111111111111:user/erin",
        Some(everything),
    );
    let frank = add(&config, "arn:aws:iam::111111111111:user/frank", None);
    let reporter = add(
        &config,
        "arn:aws:iam::000000000000:user/reporter",
        Some(
            serde_json::json!({"Statement": [{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "arn:aws:execute-api:*:*:*/*/GET/reports/*"}]}),
        ),
    );
    let auditor = add(
        &config,
        "arn:aws:iam::000000000000:user/auditor",
        Some(
            serde_json::json!({"Statement": [{"Effect": "Allow", "Action": ["execute-api:Invoke", "execute-api:InvalidateCache"], "Resource": "arn:aws:execute-api:*:*:*/*/GET/reports/*"}]}),
        ),
    );
    let gw = specgate_runtime::server::spawn(gen::iam::Api, config.clone())
        .await
        .unwrap();
    let json = ("content-type", "application/json");
    let body = br#"{"items": 2}"#;
    let now = SystemTime::now();

    // The resource policy alone (no authorization): an explicit allow is needed.
    let r = get(gw.addr, "/open").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = send(
        gw.addr,
        "GET",
        "/open",
        &[("x-forwarded-for", "198.51.100.4")],
        b"",
    )
    .await;
    assert_eq!(r.json()["ip"], "198.51.100.4", "one trusted hop");
    let r = send(
        gw.addr,
        "GET",
        "/open",
        &[("x-forwarded-for", "203.0.113.9")],
        b"",
    )
    .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.text(), denied("anonymous", "GET/open", true));
    assert_eq!(r.header("x-amzn-errortype"), Some("AccessDeniedException"));
    let r = get(gw.addr, "/closed").await;
    assert_eq!(r.status, 403);
    assert_eq!(r.text(), denied("anonymous", "GET/closed", false));

    // IAM without a signature.
    let r = send(gw.addr, "POST", "/orders", &[json], body).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.text(), r#"{"message":"Missing Authentication Token"}"#);

    // IAM, callers of this account: either policy allowing is enough.
    let call = |who: &(String, String), method: &'static str, target: &'static str| {
        let (t, h) = sign_execute_api(
            gw.addr,
            method,
            target,
            &[json],
            if method == "POST" { body } else { b"" },
            who,
            now,
            false,
        );
        async move {
            send_owned(
                gw.addr,
                method,
                &t,
                &h,
                if method == "POST" { body } else { b"" },
            )
            .await
        }
    };
    let r = call(&alice, "POST", "/orders").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let id = r.json();
    assert_eq!(id["arn"], "arn:aws:iam::000000000000:user/alice");
    assert_eq!(id["account"], "000000000000");
    assert_eq!(id["key"], alice.0);
    assert!(id["user"].as_str().unwrap().starts_with("AIDA"), "{id}");
    assert_eq!(id["caller"], id["user"]);
    let r = call(&bob, "POST", "/orders").await;
    assert_eq!(r.status, 200, "identity policy alone: {}", r.text());
    let r = call(&dave, "POST", "/orders").await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.text(),
        denied("arn:aws:iam::000000000000:user/dave", "POST/orders", false)
    );
    let r = call(&mallory, "POST", "/orders").await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.text(),
        denied(
            "arn:aws:iam::000000000000:user/mallory",
            "POST/orders",
            true
        )
    );

    // Another account: both policies must allow.
    let r = call(&erin, "GET", "/orders/7").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json(),
        serde_json::json!({"id": "7", "arn": "arn:aws:iam::111111111111:user/erin"})
    );
    let r = call(&erin, "POST", "/orders").await;
    assert_eq!(r.status, 403, "the resource policy does not allow it");
    let r = call(&frank, "GET", "/orders/7").await;
    assert_eq!(r.status, 403, "no identity policy");
    assert_eq!(
        r.text(),
        denied(
            "arn:aws:iam::111111111111:user/frank",
            "GET/orders/7",
            false
        )
    );

    // The blocked range applies to signed callers too.
    let (t, mut h) = sign_execute_api(gw.addr, "GET", "/orders/7", &[], b"", &alice, now, false);
    h.push(("x-forwarded-for".into(), "203.0.113.1".into()));
    let r = send_owned(gw.addr, "GET", &t, &h, b"").await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.text(),
        denied("arn:aws:iam::000000000000:user/alice", "GET/orders/7", true)
    );

    // A presigned URL (the query-string form).
    let (t, h) = sign_execute_api(
        gw.addr,
        "GET",
        "/orders/9?view=full",
        &[],
        b"",
        &alice,
        now,
        true,
    );
    assert!(t.contains("X-Amz-Signature="), "{t}");
    let r = send_owned(gw.addr, "GET", &t, &h, b"").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["id"], "9");

    // A cached IAM route: refreshing its entry needs `execute-api:InvalidateCache`.
    let report = |who: &(String, String), refresh: bool| {
        let extra: &[(&str, &str)] = if refresh {
            &[("cache-control", "max-age=0")]
        } else {
            &[]
        };
        let (t, h) = sign_execute_api(
            gw.addr,
            "GET",
            "/reports/1",
            extra,
            b"",
            who,
            SystemTime::now(),
            false,
        );
        async move { send_owned(gw.addr, "GET", &t, &h, b"").await }
    };
    let first = report(&reporter, false).await;
    assert_eq!(first.status, 200, "{}", first.text());
    let cached = report(&reporter, false).await;
    assert_eq!(
        cached.json()["request"],
        first.json()["request"],
        "served from the cache"
    );
    let r = report(&reporter, true).await;
    assert_eq!(r.status, 403, "no InvalidateCache permission: {}", r.text());
    let fresh = report(&auditor, true).await;
    assert_eq!(fresh.status, 200, "{}", fresh.text());
    assert_ne!(
        fresh.json()["request"],
        first.json()["request"],
        "fetched again"
    );
    let after = report(&reporter, false).await;
    assert_eq!(
        after.json()["request"],
        fresh.json()["request"],
        "the entry was replaced"
    );

    // A Lambda token authorizer behind the resource policy: an explicit deny stops the
    // request first; otherwise the authorizer decides, allowed by the policy or not.
    let bearer = |t: &'static str| [("authorization", t)];
    let r = send(gw.addr, "GET", "/authorized", &bearer("Bearer alice"), b"").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["principal"], "id-alice");
    let r = send(
        gw.addr,
        "GET",
        "/authorized-too",
        &bearer("Bearer alice"),
        b"",
    )
    .await;
    assert_eq!(
        r.status,
        200,
        "the policy's silence leaves it to the authorizer: {}",
        r.text()
    );
    let r = send(gw.addr, "GET", "/authorized", &bearer("Bearer denied"), b"").await;
    assert_eq!(r.status, 403);
    let r = send(
        gw.addr,
        "GET",
        "/authorized",
        &[
            ("authorization", "Bearer alice"),
            ("x-forwarded-for", "203.0.113.50"),
        ],
        b"",
    )
    .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.text(), denied("anonymous", "GET/authorized", true));
    gw.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_requests_are_refused_as_aws_refuses_them() {
    let config = config();
    let alice = add(&config, "arn:aws:iam::000000000000:user/alice", None);
    let gw = specgate_runtime::server::spawn(gen::iam::Api, config.clone())
        .await
        .unwrap();
    let now = SystemTime::now();
    let json = ("content-type", "application/json");
    let body = br#"{"items": 2}"#;
    let (target, headers) = sign_execute_api(
        gw.addr,
        "POST",
        "/orders?tag=a&tag=b",
        &[json],
        body,
        &alice,
        now,
        false,
    );
    let r = send_owned(gw.addr, "POST", &target, &headers, body).await;
    assert_eq!(r.status, 200, "the untouched request: {}", r.text());

    let mismatch = |r: &Reply| {
        assert_eq!(r.status, 403, "{}", r.text());
        assert_eq!(
            r.header("x-amzn-errortype"),
            Some("InvalidSignatureException")
        );
        let m = r.json()["message"].as_str().unwrap().to_string();
        assert!(
            m.starts_with(
                "The request signature we calculated does not match the signature you provided."
            ),
            "{m}"
        );
        m
    };
    // Method, path, query, a signed header, the body.
    let (t, h) = sign_execute_api(gw.addr, "GET", "/orders/7", &[], b"", &alice, now, false);
    assert_eq!(send_owned(gw.addr, "GET", &t, &h, b"").await.status, 200);
    mismatch(&send_owned(gw.addr, "DELETE", &t, &h, b"").await);
    let r = send_owned(
        gw.addr,
        "POST",
        &target.replace("/orders", "/orders/"),
        &headers,
        body,
    )
    .await;
    assert_eq!(r.status, 403);
    mismatch(
        &send_owned(
            gw.addr,
            "POST",
            &target.replace("tag=b", "tag=c"),
            &headers,
            body,
        )
        .await,
    );
    let changed: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                if k == "content-type" {
                    "text/plain".into()
                } else {
                    v.clone()
                },
            )
        })
        .collect();
    let m = mismatch(&send_owned(gw.addr, "POST", &target, &changed, body).await);
    assert!(
        m.contains("content-type:text/plain"),
        "the canonical request is shown: {m}"
    );
    mismatch(&send_owned(gw.addr, "POST", &target, &headers, br#"{"items": 3}"#).await);
    // The date: re-dated by hand, and a request signed 10 minutes ago.
    let redated: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                if k == "x-amz-date" {
                    v.replace('T', "T0").replacen("0", "", 1)
                } else {
                    v.clone()
                },
            )
        })
        .collect();
    let r = send_owned(gw.addr, "POST", &target, &redated, body).await;
    assert_eq!(r.status, 403);
    let old = now - Duration::from_secs(600);
    let (t, h) = sign_execute_api(
        gw.addr,
        "POST",
        "/orders",
        &[json],
        body,
        &alice,
        old,
        false,
    );
    let r = send_owned(gw.addr, "POST", &t, &h, body).await;
    assert_eq!(r.status, 403);
    let m = r.json()["message"].as_str().unwrap().to_string();
    assert!(
        m.starts_with("Signature expired: ") && m.ends_with(" - 5 min.)"),
        "{m}"
    );
    // Another secret, an unknown key, a session token nobody issued.
    let wrong = (alice.0.clone(), "not-the-secret-of-alice".to_string());
    mismatch(&signed_post(gw.addr, "/orders", body, &wrong).await);
    let unknown = ("AKIAUNKNOWNUNKNOWN00".to_string(), alice.1.clone());
    let r = signed_post(gw.addr, "/orders", body, &unknown).await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.text(),
        r#"{"message":"The security token included in the request is invalid."}"#
    );
    assert_eq!(
        r.header("x-amzn-errortype"),
        Some("UnrecognizedClientException")
    );
    let mut with_token = headers.clone();
    with_token.push(("x-amz-security-token".into(), "forged".into()));
    let r = send_owned(gw.addr, "POST", &target, &with_token, body).await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.text(),
        r#"{"message":"The security token included in the request is invalid."}"#
    );
    // Temporary credentials: the session token is needed and checked; past their expiry,
    // EXPIRED_TOKEN.
    let temporary = |seconds: u64| {
        let arn = format!("arn:aws:iam::000000000000:user/temp-{seconds}");
        let (keys, token) = add_with(&config, &arn, None, Some(seconds));
        (keys, token.unwrap())
    };
    let (temp, token) = temporary(3600);
    let (expired, expired_token) = temporary(0);
    // The gateway sees new principals within 100 ms.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let signed = |keys: &(String, String), token: Option<&str>| {
        sign_execute_api_token(
            gw.addr,
            "GET",
            "/orders/5",
            &[],
            b"",
            keys,
            token,
            SystemTime::now(),
            false,
        )
    };
    let (t, h) = signed(&temp, Some(&token));
    let r = send_owned(gw.addr, "GET", &t, &h, b"").await;
    assert_eq!(
        r.status, 403,
        "no policy allows temp-3600 (but it is authenticated)"
    );
    assert_eq!(
        r.text(),
        denied(
            "arn:aws:iam::000000000000:user/temp-3600",
            "GET/orders/5",
            false
        )
    );
    let (t, h) = signed(&temp, None);
    let r = send_owned(gw.addr, "GET", &t, &h, b"").await;
    assert_eq!(
        r.text(),
        r#"{"message":"The security token included in the request is invalid."}"#
    );
    let (t, h) = signed(&temp, Some("forged-token"));
    let r = send_owned(gw.addr, "GET", &t, &h, b"").await;
    assert_eq!(
        r.text(),
        r#"{"message":"The security token included in the request is invalid."}"#
    );
    let (t, h) = signed(&expired, Some(&expired_token));
    let r = send_owned(gw.addr, "GET", &t, &h, b"").await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.text(),
        r#"{"message":"The security token included in the request is expired"}"#
    );
    assert_eq!(r.header("x-amzn-errortype"), Some("ExpiredTokenException"));

    // Not SigV4 at all.
    let r = send(
        gw.addr,
        "POST",
        "/orders",
        &[("authorization", "Bearer abc")],
        body,
    )
    .await;
    assert_eq!(r.status, 403);
    assert_eq!(
        r.header("x-amzn-errortype"),
        Some("IncompleteSignatureException")
    );
    assert_eq!(
        r.text(),
        r#"{"message":"abc not a valid key=value pair (missing equal-sign) in Authorization header: 'Bearer abc'."}"#
    );

    // botocore signs independently: the header form (with a double-encoded path and
    // repeated query keys) and the presigned form.
    let python = boto_env().join("python");
    let script = format!(
        r#"
import botocore.auth, botocore.awsrequest, botocore.credentials, urllib.request, urllib.error
creds = botocore.credentials.Credentials('{key}', '{secret}')
def go(method, path, body=None, query=False):
    url = 'http://{addr}' + path
    req = botocore.awsrequest.AWSRequest(method=method, url=url, data=body, headers={{'Content-Type': 'application/json'}})
    if query:
        botocore.auth.SigV4QueryAuth(creds, 'execute-api', 'us-east-1', expires=300).add_auth(req)
    else:
        botocore.auth.SigV4Auth(creds, 'execute-api', 'us-east-1').add_auth(req)
    p = req.prepare()
    r = urllib.request.Request(p.url, data=p.body, headers=dict(p.headers), method=method)
    try:
        resp = urllib.request.urlopen(r)
        print(resp.status, resp.read().decode().replace('\n', ' '))
    except urllib.error.HTTPError as e:
        print(e.code, e.read().decode().replace('\n', ' '))
go('POST', '/orders', b'{{"items": 1}}')
go('GET', '/orders/a%20b?x=2&x=1&y=%2F')
go('GET', '/orders/42', query=True)
"#,
        key = alice.0,
        secret = alice.1,
        addr = gw.addr
    );
    let out = common::python_script(&python, &script);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines[0].starts_with("200 "), "{}", lines[0]);
    assert!(lines[1].starts_with("200 "), "{}", lines[1]);
    assert!(lines[1].contains(r#""id": "a b""#), "{}", lines[1]);
    assert!(lines[2].starts_with("200 "), "{}", lines[2]);

    // Rotation: the old key stops working, the new one works (within 100 ms of the change).
    let store = specgate_runtime::store::open(None, &config.state_dir, "IAM").unwrap();
    let out = specgate_runtime::cli::principals(
        &Principals::Rotate {
            principal: "arn:aws:iam::000000000000:user/alice".into(),
            access_key_id: None,
            secret_access_key: None,
        },
        &*store,
        &config.secrets_key_path(),
    )
    .unwrap();
    let v: Value = serde_json::from_str(&out).unwrap();
    let rotated = (
        v["accessKeyId"].as_str().unwrap().to_string(),
        v["secretAccessKey"].as_str().unwrap().to_string(),
    );
    assert!(
        refused_soon(gw.addr, "/orders", body, &alice).await,
        "the old key still works"
    );
    let r = signed_post(gw.addr, "/orders", body, &rotated).await;
    assert_eq!(r.status, 200, "{}", r.text());
    // The store holds no secret in the clear.
    let db = std::fs::read(config.state_dir.join("specgate.sqlite")).unwrap_or_default();
    let wal = std::fs::read(config.state_dir.join("specgate.sqlite-wal")).unwrap_or_default();
    for file in [db, wal] {
        assert!(
            !file
                .windows(rotated.1.len())
                .any(|w| w == rotated.1.as_bytes()),
            "a secret is stored in the clear"
        );
    }
    gw.shutdown().await.unwrap();
}

/// `credentials: arn:aws:iam::*:user/*`: the service is called with the keys the caller
/// signed with (the stand-in checks the signature with the caller's secret).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_is_called_as_the_caller() {
    let mut config = config();
    let (fake, calls) = fake_aws_with("secret-of-the-caller-0123456789", |_| {
        (200, "text/xml", "<SendMessageResponse/>".into())
    })
    .await;
    config.aws_endpoint_url = Some(format!("http://{fake}"));
    let store = specgate_runtime::store::open(None, &config.state_dir, "Orders queue").unwrap();
    let policy = config.state_dir.join("caller.json");
    std::fs::create_dir_all(&config.state_dir).unwrap();
    std::fs::write(
        &policy,
        r#"{"Statement": [{"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*"}]}"#,
    )
    .unwrap();
    specgate_runtime::cli::principals(
        &Principals::Add {
            arn: "arn:aws:iam::000000000000:user/caller".into(),
            access_key_id: Some("AKIACALLERCALLER0001".into()),
            secret_access_key: Some("secret-of-the-caller-0123456789".into()),
            policy: Some(policy),
            expires_in: None,
        },
        &*store,
        &config.secrets_key_path(),
    )
    .unwrap();
    let gw = specgate_runtime::server::spawn(gen::iam_caller::Api, config)
        .await
        .unwrap();
    let caller = (
        "AKIACALLERCALLER0001".to_string(),
        "secret-of-the-caller-0123456789".to_string(),
    );
    let body = br#"{"order": 1}"#;
    let r = signed_post(gw.addr, "/orders", body, &caller).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let calls = calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 1);
    assert!(calls[0].signature_ok, "{:?}", calls[0]);
    let auth = calls[0].headers["authorization"].to_str().unwrap();
    assert!(auth.contains("Credential=AKIACALLERCALLER0001/"), "{auth}");
    assert!(auth.contains("/us-east-1/sqs/aws4_request"), "{auth}");
    gw.shutdown().await.unwrap();
}
