//! HTTP API subtype integrations (`specs/http-subtypes.yaml`) against moto (an AWS
//! emulator from PyPI, on a free loopback port): an SQS message, an EventBridge event and a
//! Step Functions execution made from request values, the services' answers returned as
//! they are. What arrived is read back with boto3.

mod common;

use common::{send, Moto};
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
         boto3.client('stepfunctions', **kw).create_state_machine(name='orders', definition=defn, roleArn='arn:aws:iam::123456789012:role/sfn')",
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
    gw.shutdown().await.unwrap();
}
