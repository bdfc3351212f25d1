//! REST `aws` integrations with AWS services (`specs/aws-services.yaml`) against a real AWS
//! emulator (moto's server, from PyPI, on a free loopback port, reached through
//! `AWS_ENDPOINT_URL` as the AWS SDKs are): DynamoDB items written and read back through
//! the JSON protocol with an assumed role (STS), an SQS message sent through a `path/`
//! integration with a form body, an SNS message published through the query protocol, and a
//! service error selected by its status code. What arrived is read back with boto3.

mod common;

use common::{send, Moto};
use specgate_codegen_tests as gen;
use specgate_runtime::config::Config;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_sqs_and_sns_through_the_gateway() {
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
         sns.subscribe(TopicArn=topic, Protocol='sqs', Endpoint=arn)",
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

    // Container credentials (ECS/EKS): no keys in the environment, a credentials endpoint
    // that wants its token.
    let creds = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let creds_addr = creds.local_addr().unwrap();
    let asked = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = asked.clone();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = creds.accept().await else {
                continue;
            };
            let counter = counter.clone();
            tokio::spawn(async move {
                let svc = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let counter = counter.clone();
                        async move {
                            let ok = req
                                .headers()
                                .get("authorization")
                                .is_some_and(|v| v == "container-token");
                            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                            let body = if ok {
                                r#"{"AccessKeyId":"testing","SecretAccessKey":"testing","Token":"session","Expiration":"2099-01-01T00:00:00Z"}"#
                            } else {
                                "{}"
                            };
                            Ok::<_, std::convert::Infallible>(
                                hyper::Response::builder()
                                    .status(if ok { 200 } else { 401 })
                                    .body(http_body_util::Full::new(bytes::Bytes::from(body)))
                                    .unwrap(),
                            )
                        }
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
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
