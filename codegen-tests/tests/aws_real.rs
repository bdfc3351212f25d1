//! Real users' AWS-service definitions, built as they are kept (placeholders given values as
//! a deployment gives them), against moto's AWS emulator (from PyPI, on a free loopback
//! port): the developer guide's S3 binary-image API and Kinesis proxy, the DynamoDB CRUD
//! sample with its request validator, the SNS SMS sample; and the HTTP API Step Functions
//! sample against a stand-in endpoint (moto has no StartSyncExecution) that checks each
//! call's signature with aws-sigv4. Each test checks the effect inside the service with boto3 and
//! the response the client got.
#![cfg(aws_real_corpus)]

mod common;

use common::{fake_aws, send, Moto};
use specgate_codegen_tests as gen;
use specgate_runtime::config::Config;

fn keys() {
    std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_dynamodb_sns_and_kinesis_samples_work() {
    let moto = Moto::start();
    moto.boto(
        "s3 = boto3.client('s3', **kw)\n\
         s3.create_bucket(Bucket='images')\n\
         ddb = boto3.client('dynamodb', **kw)\n\
         ddb.create_table(TableName='reminders', KeySchema=[{'AttributeName': 'id', 'KeyType': 'HASH'}], AttributeDefinitions=[{'AttributeName': 'id', 'AttributeType': 'S'}], BillingMode='PAY_PER_REQUEST')",
    );
    keys();
    let config = || {
        let mut c = Config::for_tests();
        c.aws_endpoint_url = Some(moto.url.clone());
        c
    };

    // S3 (03): a binary object put and read back through `path/{key}`. The sample's `key`
    // is a file name (`GET /s3?key={file-name}` in the guide) and its URI names no bucket:
    // here the S3 endpoint is the bucket's (`AWS_ENDPOINT_URL_S3` with the bucket as its
    // path). A `/` in the key would be sent as `%2F`, as API Gateway encodes path values.
    std::env::set_var("AWS_ENDPOINT_URL_S3", format!("{}/images", moto.url));
    let gw = specgate_runtime::server::spawn(gen::real_s3_binary::Api, config())
        .await
        .unwrap();
    let image: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    let octets = [("content-type", "application/octet-stream")];
    let r = send(gw.addr, "PUT", "/s3?key=cat.jpg", &octets, &image).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let stored = moto.boto(
        "b = boto3.client('s3', **kw).get_object(Bucket='images', Key='cat.jpg')['Body'].read()\n\
         print(len(b), b[:4].hex(), b[-4:].hex())",
    );
    assert_eq!(stored, "3000 00010203 b4b5b6b7");
    let r = send(
        gw.addr,
        "GET",
        "/s3?key=cat.jpg",
        &[("accept", "image/jpeg")],
        b"",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(&r.body[..], &image[..]);
    // An object that is not there: S3's 404 selects the `default` response, 500.
    let r = send(gw.addr, "GET", "/s3?key=dog.jpg", &[], b"").await;
    assert_eq!(r.status, 500, "{}", r.text());
    std::env::remove_var("AWS_ENDPOINT_URL_S3");
    gw.shutdown().await.unwrap();

    // DynamoDB (07): the request validator, then UpdateItem, GetItem, DeleteItem and Scan.
    let gw = specgate_runtime::server::spawn(gen::real_dynamodb_crud::Api, config())
        .await
        .unwrap();
    let json = [("content-type", "application/json")];
    let r = send(
        gw.addr,
        "PUT",
        "/reminders/r1",
        &json,
        br#"{"description": 7}"#,
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text());
    let reminder = br#"{"description": "dentist", "datetime": "2026-12-01T09:00:00Z", "email": "ada@example.com"}"#;
    let r = send(gw.addr, "PUT", "/reminders/r1", &json, reminder).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["message"], "Reminder updated successfully");
    assert_eq!(r.json()["data"]["description"], "dentist");
    let item = moto.boto(
        "print(boto3.client('dynamodb', **kw).get_item(TableName='reminders', Key={'id': {'S': 'r1'}})['Item']['email']['S'])",
    );
    assert_eq!(item, "ada@example.com");
    let r = send(gw.addr, "GET", "/reminders/r1", &json, b"").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json(),
        serde_json::json!({"id": "r1", "description": "dentist", "datetime": "2026-12-01T09:00:00Z", "email": "ada@example.com"})
    );
    let r = send(gw.addr, "DELETE", "/reminders/r1", &json, b"").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["data"]["id"], "r1");
    let left =
        moto.boto("print(boto3.client('dynamodb', **kw).scan(TableName='reminders')['Count'])");
    assert_eq!(left, "0");
    gw.shutdown().await.unwrap();

    // SNS (12): an SMS published through `path//` with a form body the template built.
    let gw = specgate_runtime::server::spawn(gen::real_sns_sms::Api, config())
        .await
        .unwrap();
    let r = send(
        gw.addr,
        "POST",
        "/",
        &json,
        br#"{"PhoneNumber": "+15555550100", "Message": "your code is 1234"}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(
        r.text().contains("<MessageId>"),
        "SNS's answer: {}",
        r.text()
    );
    // SNS read the phone number from the form: one it cannot use is SNS's error (the
    // sample maps every status to 200, as AWS would answer).
    let r = send(
        gw.addr,
        "POST",
        "/",
        &json,
        br#"{"PhoneNumber": "not a number", "Message": "x"}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("InvalidParameter"), "{}", r.text());
    gw.shutdown().await.unwrap();

    // The guide's Kinesis proxy: a stream created, described, records put one and many at a
    // time, read back through a shard iterator, the stream listed and deleted.
    let gw = specgate_runtime::server::spawn(gen::kinesis_proxy::Api, config())
        .await
        .unwrap();
    let r = send(
        gw.addr,
        "POST",
        "/streams/orders",
        &json,
        br#"{"ShardCount": 1}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = send(gw.addr, "GET", "/streams", &json, b"").await;
    assert_eq!(
        r.json()["StreamNames"],
        serde_json::json!(["orders"]),
        "{}",
        r.text()
    );
    let r = send(gw.addr, "GET", "/streams/orders", &json, b"").await;
    let shard = r.json()["StreamDescription"]["Shards"][0]["ShardId"]
        .as_str()
        .unwrap()
        .to_string();
    let r = send(
        gw.addr,
        "PUT",
        "/streams/orders/record",
        &json,
        br#"{"Data": "first", "PartitionKey": "p1"}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.json()["SequenceNumber"].is_string(), "{}", r.text());
    let r = send(
        gw.addr,
        "PUT",
        "/streams/orders/records",
        &json,
        br#"{"records": [{"data": "second", "partition-key": "p2"}, {"data": "third", "partition-key": "p3"}]}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["FailedRecordCount"], 0, "{}", r.text());
    let r = send(
        gw.addr,
        "GET",
        &format!("/streams/orders/sharditerator?shard-id={shard}"),
        &json,
        b"",
    )
    .await;
    // moto's iterators end in a newline (base64.encodebytes); AWS's have none.
    let iterator = r.json()["ShardIterator"]
        .as_str()
        .unwrap()
        .trim()
        .to_string();
    let r = send(
        gw.addr,
        "GET",
        "/streams/orders/records",
        &[
            ("content-type", "application/json"),
            ("shard-iterator", iterator.as_str()),
        ],
        b"",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    use base64::Engine as _;
    let data: Vec<(String, String)> = r.json()["Records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|rec| {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(rec["Data"].as_str().unwrap())
                .unwrap();
            (
                rec["PartitionKey"].as_str().unwrap().to_string(),
                String::from_utf8(bytes).unwrap(),
            )
        })
        .collect();
    // PutRecord's template encodes `$input.json('$.Data')` (quotes included), PutRecords'
    // encodes the plain value: the guide's templates, as AWS renders them.
    assert_eq!(
        data,
        vec![
            ("p1".to_string(), "\"first\"".to_string()),
            ("p2".to_string(), "second".to_string()),
            ("p3".to_string(), "third".to_string()),
        ]
    );
    let r = send(gw.addr, "DELETE", "/streams/orders", &json, b"").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let streams =
        moto.boto("print(len(boto3.client('kinesis', **kw).list_streams()['StreamNames']))");
    assert_eq!(streams, "0");
    gw.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn step_functions_sync_sample_works() {
    keys();
    // The stand-in answers STS's AssumeRole (the sample's role) and Step Functions.
    let (fake, calls) = fake_aws(|call| {
        if call.target.contains("Action=AssumeRole") {
            (
                200,
                "text/xml",
                "<AssumeRoleResponse><AssumeRoleResult><Credentials>\
                 <AccessKeyId>testing</AccessKeyId><SecretAccessKey>testing</SecretAccessKey>\
                 <SessionToken>session-from-sts</SessionToken>\
                 <Expiration>2099-01-01T00:00:00Z</Expiration>\
                 </Credentials></AssumeRoleResult></AssumeRoleResponse>"
                    .into(),
            )
        } else {
            (
                200,
                "application/x-amz-json-1.0",
                r#"{"status": "SUCCEEDED", "output": "{\"processed\":true}"}"#.into(),
            )
        }
    })
    .await;
    let mut config = Config::for_tests();
    config.aws_endpoint_url = Some(format!("http://{fake}"));
    let gw = specgate_runtime::server::spawn(gen::real_sfn_sync::Api, config)
        .await
        .unwrap();
    // The API's CORS: a preflight is answered before the integration.
    let r = send(
        gw.addr,
        "OPTIONS",
        "/",
        &[
            ("origin", "https://forms.example"),
            ("access-control-request-method", "POST"),
        ],
        b"",
    )
    .await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    let r = send(
        gw.addr,
        "POST",
        "/",
        &[
            ("content-type", "application/json"),
            ("origin", "https://forms.example"),
        ],
        br#"{"name": "Ada"}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["status"], "SUCCEEDED");
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    let calls = calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 2, "{calls:?}");
    assert!(calls.iter().all(|c| c.signature_ok), "{calls:?}");
    assert!(calls[0]
        .target
        .contains("RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fsfn"));
    let call = &calls[1];
    assert_eq!(
        call.headers["x-amz-target"],
        "AWSStepFunctions.StartSyncExecution"
    );
    // Signed with the assumed role's session credentials.
    assert_eq!(call.headers["x-amz-security-token"], "session-from-sts");
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&call.body).unwrap(),
        serde_json::json!({
            "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:express",
            "input": "{\"name\": \"Ada\"}"
        })
    );
    gw.shutdown().await.unwrap();
}

/// The developer guide's IAM example (its operations given mocks in a test copy): unsigned
/// requests are refused, a principal whose policy allows `execute-api:Invoke` is admitted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guides_iam_example_enforces_iam() {
    use common::{send_owned, sign_execute_api};
    let mut config = Config::for_tests();
    config.state_dir =
        std::env::temp_dir().join(format!("specgate-iam-example-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&config.state_dir);
    std::fs::create_dir_all(&config.state_dir).unwrap();
    let policy = config.state_dir.join("policy.json");
    std::fs::write(&policy, r#"{"Statement": {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "arn:aws:execute-api:us-east-1:*:*/*/GET/operation1"}}"#).unwrap();
    let store = specgate_runtime::store::open(None, &config.state_dir, "openapi3").unwrap();
    let out = specgate_runtime::cli::principals(
        &specgate_runtime::cli::Principals::Add {
            arn: "arn:aws:iam::000000000000:user/reader".into(),
            access_key_id: None,
            secret_access_key: None,
            policy: Some(policy),
            expires_in: None,
        },
        &*store,
        &config.secrets_key_path(),
    )
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let keys = (
        v["accessKeyId"].as_str().unwrap().to_string(),
        v["secretAccessKey"].as_str().unwrap().to_string(),
    );
    let gw = specgate_runtime::server::spawn(gen::real_iam_example::Api, config)
        .await
        .unwrap();
    let r = send(gw.addr, "GET", "/operation1", &[], b"").await;
    assert_eq!(r.status, 403);
    assert_eq!(r.text(), r#"{"message":"Missing Authentication Token"}"#);
    let now = std::time::SystemTime::now();
    let (t, h) = sign_execute_api(gw.addr, "GET", "/operation1", &[], b"", &keys, now, false);
    let r = send_owned(gw.addr, "GET", &t, &h, b"").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json(),
        serde_json::json!({"caller": "arn:aws:iam::000000000000:user/reader"})
    );
    // Its policy names operation1 only.
    let (t, h) = sign_execute_api(gw.addr, "GET", "/operation2", &[], b"", &keys, now, false);
    let r = send_owned(gw.addr, "GET", &t, &h, b"").await;
    assert_eq!(r.status, 403);
    gw.shutdown().await.unwrap();
}
