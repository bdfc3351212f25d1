//! Answers a REST proxy event with what it saw; `…/raise` fails.

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

async fn handler(event: LambdaEvent<Value>) -> Result<Value, Error> {
    let (payload, context) = event.into_parts();
    let path = payload["path"].as_str().unwrap_or("").to_string();
    if path.ends_with("/raise") {
        return Err("the rust function failed".into());
    }
    let body = json!({
        "runtime": "rust",
        "requestId": context.request_id,
        "arn": context.invoked_function_arn,
        "path": path,
        "method": payload["httpMethod"],
    });
    Ok(json!({
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": body.to_string(),
    }))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(handler)).await
}
