//! REST `aws` integrations with AWS services (`specs/aws-services.yaml`) against a real AWS
//! emulator (moto's server, from PyPI, on a free loopback port, reached through
//! `AWS_ENDPOINT_URL` as the AWS SDKs are): DynamoDB items written, read back and queried
//! through the JSON protocol with an assumed role (STS), an SQS message sent through a `path/`
//! integration with a form body, an SNS message published through the query protocol, and a
//! service error selected by its status code, a Step Functions execution started and an
//! EventBridge event put through the JSON protocol. What arrived is read back with boto3.
//! The signatures are proven against a stand-in endpoint that recomputes them with aws-sigv4.

mod common;

use common::{fake_aws, send, Moto};
use specgate_codegen_tests as gen;
use specgate_runtime::config::Config;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_sqs_and_sns_through_the_gateway() {
    service_calls_carry_valid_signatures().await;
    let moto = Moto::start();
    moto.boto(
        "ddb = boto3.client('dynamodb', **kw)\n\
         ddb.create_table(TableName='orders', KeySchema=[{'AttributeName': 'id', 'KeyType': 'HASH'}], AttributeDefinitions=[{'AttributeName': 'id', 'AttributeType': 'S'}], BillingMode='PAY_PER_REQUEST')\n\
         boto3.client('sqs', **kw).create_queue(QueueName='orders')\n\
         sqs = boto3.client('sqs', **kw)\n\
         q = sqs.create_queue(QueueName='notifications')['QueueUrl']\n\
         arn = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=['QueueArn'])['Attributes']['QueueArn']\n\
         sns = boto3.client('sns', **kw)\n\
         topic = sns.create_topic(Name='orders')['TopicArn']\n\
         sns.subscribe(TopicArn=topic, Protocol='sqs', Endpoint=arn)\n\
         defn = json.dumps({'StartAt': 'P', 'States': {'P': {'Type': 'Pass', 'End': True}}})\n\
         boto3.client('stepfunctions', **kw).create_state_machine(name='fulfil', definition=defn, roleArn='arn:aws:iam::123456789012:role/sfn')\n\
         ev = boto3.client('events', **kw)\n\
         ev.put_rule(Name='orders', EventPattern=json.dumps({'source': ['shop.orders']}))\n\
         ev.put_targets(Rule='orders', Targets=[{'Id': 'q', 'Arn': arn}])",
    );
    // The gateway's own credentials, as a deployment would set them, and the emulator's
    // address (`--aws-endpoint-url`; the second gateway below uses `AWS_ENDPOINT_URL`).
    std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
    let mut config = Config::for_tests();
    config.stage = Some("test".into());
    config.aws_endpoint_url = Some(moto.url.clone());
    let gw = specgate_runtime::server::spawn(gen::aws_services::Api, config)
        .await
        .unwrap();
    let json = [("content-type", "application/json")];

    // DynamoDB PutItem, then GetItem.
    let r = send(gw.addr, "PUT", "/orders/42", &json, br#"{"name": "Ada"}"#).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), serde_json::json!({"stored": "42"}));
    let item = moto.boto("print(json.dumps(boto3.client('dynamodb', **kw).get_item(TableName='orders', Key={'id': {'S': '42'}})['Item']))");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&item).unwrap(),
        serde_json::json!({"id": {"S": "42"}, "name": {"S": "Ada"}})
    );
    let r = send(gw.addr, "GET", "/orders/42", &json, b"").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), serde_json::json!({"id": "42", "name": "Ada"}));
    // Query, its items mapped with `#foreach`.
    let r = send(gw.addr, "GET", "/orders/42/history", &json, b"").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), serde_json::json!([{"id": "42", "name": "Ada"}]));

    // A service error (no such table in this stage's variables) selects the 4xx response.
    std::env::set_var("AWS_ENDPOINT_URL", &moto.url);
    let mut config = Config::for_tests();
    config.stage = Some("test".into());
    config.stage_vars = vec![("table".into(), "missing".into())];
    let other = specgate_runtime::server::spawn(gen::aws_services::Api, config)
        .await
        .unwrap();
    let r = send(other.addr, "PUT", "/orders/1", &json, br#"{"name": "x"}"#).await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(
        r.json()["error"],
        "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException"
    );
    other.shutdown().await.unwrap();

    // SQS through `path/`: the form body the template built.
    let r = send(gw.addr, "POST", "/queue", &json, br#"{"order": 42}"#).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let body = moto.boto(
        "sqs = boto3.client('sqs', **kw)\n\
         url = sqs.get_queue_url(QueueName='orders')['QueueUrl']\n\
         print(sqs.receive_message(QueueUrl=url)['Messages'][0]['Body'])",
    );
    assert_eq!(body, r#"{"order": 42}"#);

    // SNS through the query protocol, with mapped query parameters.
    let r = send(gw.addr, "GET", "/notify?msg=hello", &[], b"").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), serde_json::json!({"published": true}));
    // The topic delivered it to the queue subscribed to it.
    let delivered = moto.boto(
        "sqs = boto3.client('sqs', **kw)\n\
         url = sqs.get_queue_url(QueueName='notifications')['QueueUrl']\n\
         print(json.loads(sqs.receive_message(QueueUrl=url)['Messages'][0]['Body'])['Message'])",
    );
    assert_eq!(delivered, "hello");

    // Step Functions StartExecution (JSON protocol, `action/`): the execution exists, named
    // and fed as the template said.
    let r = send(gw.addr, "POST", "/fulfil/42", &json, br#"{"items": 3}"#).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let execution = r.json()["execution"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(execution.ends_with(":fulfil:order-42"), "{}", r.text());
    let input = moto.boto(&format!(
        "print(boto3.client('stepfunctions', **kw).describe_execution(executionArn='{execution}')['input'])"
    ));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&input).unwrap(),
        serde_json::json!({"items": 3})
    );

    // EventBridge PutEvents: the rule routes the event to the queue.
    let r = send(gw.addr, "POST", "/events", &json, br#"{"order": 7}"#).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), serde_json::json!({"failed": 0}));
    let event = moto.boto(
        "sqs = boto3.client('sqs', **kw)\n\
         url = sqs.get_queue_url(QueueName='notifications')['QueueUrl']\n\
         e = json.loads(sqs.receive_message(QueueUrl=url)['Messages'][0]['Body'])\n\
         print(e['source'], e['detail-type'], json.dumps(e['detail']))",
    );
    assert_eq!(event, r#"shop.orders OrderPlaced {"order": 7}"#);

    // Container credentials (ECS/EKS): no keys in the environment, a credentials endpoint
    // that wants its token.
    let asked = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = asked.clone();
    let creds_addr = common::serve(move |req: http::request::Parts, _body: bytes::Bytes| {
        let counter = counter.clone();
        async move {
            let ok = req
                .headers
                .get("authorization")
                .is_some_and(|v| v == "container-token");
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let body = if ok {
                r#"{"AccessKeyId":"testing","SecretAccessKey":"testing","Token":"session","Expiration":"2099-01-01T00:00:00Z"}"#
            } else {
                "{}"
            };
            hyper::Response::builder()
                .status(if ok { 200 } else { 401 })
                .body(http_body_util::Full::new(bytes::Bytes::from(body)))
                .unwrap()
        }
    })
    .await;
    std::env::remove_var("AWS_ACCESS_KEY_ID");
    std::env::remove_var("AWS_SECRET_ACCESS_KEY");
    std::env::set_var(
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        format!("http://{creds_addr}/v2/credentials"),
    );
    std::env::set_var("AWS_CONTAINER_AUTHORIZATION_TOKEN", "container-token");
    let mut config = Config::for_tests();
    config.stage = Some("test".into());
    let container = specgate_runtime::server::spawn(gen::aws_services::Api, config)
        .await
        .unwrap();
    let r = send(container.addr, "GET", "/orders/42", &json, b"").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["name"], "Ada");
    assert_eq!(
        asked.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "asked once, then cached"
    );
    container.shutdown().await.unwrap();
    gw.shutdown().await.unwrap();
}

/// What arrives at the service is signed as aws-sigv4 signs it: recomputed from the request
/// the stand-in received, for a `path/` call with a form body and a JSON-protocol action.
/// (Run first by the test above: both set the process's credentials.)
async fn service_calls_carry_valid_signatures() {
    let (fake, calls) = fake_aws(|_| (200, "application/json", "{}".into())).await;
    std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
    let mut config = Config::for_tests();
    config.stage = Some("test".into());
    config.aws_endpoint_url = Some(format!("http://{fake}"));
    let gw = specgate_runtime::server::spawn(gen::aws_services::Api, config)
        .await
        .unwrap();
    let json = [("content-type", "application/json")];
    let r = send(
        gw.addr,
        "POST",
        "/queue?ignored=1",
        &json,
        br#"{"order": "a b"}"#,
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = send(gw.addr, "POST", "/events", &json, br#"{"order": 7}"#).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let calls = calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 2);
    assert!(calls.iter().all(|c| c.signature_ok), "{calls:?}");
    assert_eq!(calls[0].target, "/123456789012/orders");
    assert_eq!(
        &calls[0].body[..],
        b"Action=SendMessage&MessageBody=%7B%22order%22%3A+%22a+b%22%7D"
    );
    let auth = calls[0].headers["authorization"].to_str().unwrap();
    assert!(auth.contains("/us-east-1/sqs/aws4_request"), "{auth}");
    assert_eq!(calls[1].headers["x-amz-target"], "AWSEvents.PutEvents");
    assert_eq!(
        calls[1].headers["content-type"],
        "application/x-amz-json-1.1"
    );
    gw.shutdown().await.unwrap();
}
