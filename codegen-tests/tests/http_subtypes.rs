//! HTTP API subtype integrations (`specs/http-subtypes.yaml`), every subtype of AWS's table.
//! Against moto (an AWS emulator from PyPI, on a free loopback port): SQS messages sent,
//! received, deleted and purged, an EventBridge event, a Kinesis record, Step Functions
//! executions started and stopped, made from request values, the services' answers returned
//! as they are; what arrived is read back with boto3. Step Functions' synchronous executions
//! and AppConfig's GetConfiguration, which moto does not emulate, go to a stand-in endpoint
//! that checks each call's SigV4 signature with aws-sigv4.

mod common;

use common::{fake_aws, send, Moto};
use specgate_codegen_tests as gen;
use specgate_runtime::config::Config;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subtypes_call_their_services() {
    let moto = Moto::start();
    let url = moto.url.clone();
    let boto = |code: &str| moto.boto(code);
    boto(
        "boto3.client('sqs', **kw).create_queue(QueueName='subtype-orders')\n\
         defn = json.dumps({'StartAt': 'P', 'States': {'P': {'Type': 'Pass', 'End': True}}})\n\
         boto3.client('stepfunctions', **kw).create_state_machine(name='orders', definition=defn, roleArn='arn:aws:iam::123456789012:role/sfn')\n\
         boto3.client('kinesis', **kw).create_stream(StreamName='orders', ShardCount=1)",
    );
    std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
    let mut config = Config::for_tests();
    config.aws_endpoint_url = Some(url.clone());
    let gw = specgate_runtime::server::spawn(gen::http_subtypes::Api, config)
        .await
        .unwrap();
    let json = [("content-type", "application/json")];

    let r = send(
        gw.addr,
        "POST",
        "/send",
        &json,
        br#"{"message": "order 42"}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let got = boto(
        "sqs = boto3.client('sqs', **kw)\n\
         u = sqs.get_queue_url(QueueName='subtype-orders')['QueueUrl']\n\
         print(sqs.receive_message(QueueUrl=u)['Messages'][0]['Body'])",
    );
    assert_eq!(got, "order 42");

    let r = send(gw.addr, "POST", "/events", &json, br#"{"id": 42}"#).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["FailedEntryCount"], 0, "{}", r.text());

    let r = send(
        gw.addr,
        "POST",
        "/start",
        &[("content-type", "application/json"), ("x-order", "42")],
        br#"{"id": 42}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let arn = r.json()["executionArn"].as_str().unwrap().to_string();
    assert!(arn.ends_with(":order-42"), "{arn}");
    let input = boto(&format!(
        "print(boto3.client('stepfunctions', **kw).describe_execution(executionArn='{arn}')['input'])"
    ));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&input).unwrap(),
        serde_json::json!({"id": 42})
    );

    // StopExecution of the execution just started (moto's executions run until stopped).
    let stop = serde_json::json!({"arn": arn, "cause": "customer cancelled"}).to_string();
    let r = send(gw.addr, "POST", "/stop", &json, stop.as_bytes()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.json()["stopDate"].is_number(), "{}", r.text());
    let status = boto(&format!(
        "print(boto3.client('stepfunctions', **kw).describe_execution(executionArn='{arn}')['status'])"
    ));
    assert_eq!(status, "ABORTED");

    // SQS ReceiveMessage (a typed parameter: MaxNumberOfMessages is a number), then
    // DeleteMessage with the receipt handle, then PurgeQueue.
    for m in ["one", "two"] {
        let body = format!(r#"{{"message": "{m}"}}"#);
        let r = send(gw.addr, "POST", "/send", &json, body.as_bytes()).await;
        assert_eq!(r.status, 200, "{}", r.text());
    }
    let r = send(gw.addr, "GET", "/messages?max=10", &[], b"").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let messages = r.json()["Messages"].as_array().cloned().unwrap_or_default();
    assert_eq!(messages.len(), 2, "{}", r.text());
    assert!(
        messages[0]["Attributes"]["SentTimestamp"].is_string(),
        "AttributeNames: All"
    );
    let receipt = messages[0]["ReceiptHandle"].as_str().unwrap().to_string();
    let r = send(
        gw.addr,
        "DELETE",
        "/messages",
        &[("x-receipt", receipt.as_str())],
        b"",
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = send(gw.addr, "POST", "/purge", &[], b"").await;
    assert_eq!(r.status, 200, "{}", r.text());
    let left = boto(
        "sqs = boto3.client('sqs', **kw)\n\
         u = sqs.get_queue_url(QueueName='subtype-orders')['QueueUrl']\n\
         print(len(sqs.receive_message(QueueUrl=u, VisibilityTimeout=0).get('Messages', [])))",
    );
    assert_eq!(left, "0");

    // Kinesis PutRecord: the body as the record's data, the path's key as partition key.
    let r = send(
        gw.addr,
        "PUT",
        "/records/customer-7",
        &json,
        br#"{"total": 5}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.json()["SequenceNumber"].is_string(), "{}", r.text());
    let record = boto(
        "k = boto3.client('kinesis', **kw)\n\
         shard = k.describe_stream(StreamName='orders')['StreamDescription']['Shards'][0]['ShardId']\n\
         it = k.get_shard_iterator(StreamName='orders', ShardId=shard, ShardIteratorType='TRIM_HORIZON')['ShardIterator']\n\
         r = k.get_records(ShardIterator=it)['Records'][0]\n\
         print(r['PartitionKey'], r['Data'].decode())",
    );
    assert_eq!(record, r#"customer-7 {"total": 5}"#);
    gw.shutdown().await.unwrap();

    // StartSyncExecution and AppConfig's GetConfiguration against a stand-in endpoint.
    let (fake, calls) = fake_aws(|call| {
        if call.target.starts_with("/applications/") {
            (200, "application/json", r#"{"beta": true}"#.into())
        } else {
            (
                200,
                "application/x-amz-json-1.0",
                r#"{"status": "SUCCEEDED", "output": "{\"ok\":1}"}"#.into(),
            )
        }
    })
    .await;
    std::env::set_var("AWS_ENDPOINT_URL_SFN", format!("http://{fake}"));
    std::env::set_var("AWS_ENDPOINT_URL_APPCONFIG", format!("http://{fake}"));
    let mut config = Config::for_tests();
    config.aws_endpoint_url = Some(url.clone());
    let gw = specgate_runtime::server::spawn(gen::http_subtypes::Api, config)
        .await
        .unwrap();
    let r = send(gw.addr, "POST", "/run", &json, br#"{"id": 7}"#).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["status"], "SUCCEEDED");
    let r = send(gw.addr, "GET", "/config/flags?version=3", &[], b"").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), serde_json::json!({"beta": true}));
    assert_eq!(r.header("content-type"), Some("application/json"));
    let calls = calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 2);
    assert!(calls.iter().all(|c| c.signature_ok), "{calls:?}");
    let run = &calls[0];
    assert_eq!(
        run.headers["x-amz-target"],
        "AWSStepFunctions.StartSyncExecution"
    );
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&run.body).unwrap(),
        serde_json::json!({
            "stateMachineArn": "arn:aws:states:us-east-1:123456789012:stateMachine:orders",
            "input": "{\"id\": 7}"
        })
    );
    let auth = run.headers["authorization"].to_str().unwrap();
    assert!(auth.contains("/us-east-1/states/aws4_request"), "{auth}");
    let config_call = &calls[1];
    assert_eq!(config_call.method, "GET");
    assert_eq!(
        config_call.target,
        "/applications/shop/environments/production/configurations/flags?client_id=gateway-%24default&client_configuration_version=3"
    );
    let auth = config_call.headers["authorization"].to_str().unwrap();
    assert!(auth.contains("/eu-west-1/appconfig/aws4_request"), "{auth}");
    std::env::remove_var("AWS_ENDPOINT_URL_SFN");
    std::env::remove_var("AWS_ENDPOINT_URL_APPCONFIG");
    gw.shutdown().await.unwrap();
}
