//! Answers a REST proxy event with what it saw; `…/raise` fails. With `ECHO_HTTP=ADDR` the
//! same handler answers plain HTTP requests instead (the benchmark's baseline).

use lambda_runtime::{service_fn, Error, LambdaEvent};
use serde_json::{json, Value};

/// The handler's work: the answer for a method and path.
fn answer(method: &str, path: &str, request_id: &str, arn: &str) -> Value {
    json!({
        "runtime": "rust",
        "requestId": request_id,
        "arn": arn,
        "path": path,
        "method": method,
    })
}

async fn handler(event: LambdaEvent<Value>) -> Result<Value, Error> {
    let (payload, context) = event.into_parts();
    let path = payload["path"].as_str().unwrap_or("").to_string();
    if path.ends_with("/raise") {
        return Err("the rust function failed".into());
    }
    let method = payload["httpMethod"].as_str().unwrap_or("");
    let body = answer(
        method,
        &path,
        &context.request_id,
        &context.invoked_function_arn,
    );
    Ok(json!({
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": body.to_string(),
    }))
}

async fn serve_http(addr: String) -> Result<(), Error> {
    use http_body_util::Full;
    use hyper::body::Bytes;
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(|req: hyper::Request<hyper::body::Incoming>| async move {
                let body = answer(req.method().as_str(), req.uri().path(), "-", "-");
                Ok::<_, std::convert::Infallible>(
                    hyper::Response::builder()
                        .header("content-type", "application/json")
                        .body(Full::new(Bytes::from(body.to_string())))
                        .expect("static response"),
                )
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                .await;
        });
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    if let Ok(addr) = std::env::var("ECHO_HTTP") {
        return serve_http(addr).await;
    }
    lambda_runtime::run(service_fn(handler)).await
}
