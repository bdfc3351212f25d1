//! The admin listener (`--admin-listen ADDR`), off the public port: `/metrics` (Prometheus
//! text, or OpenMetrics when the scraper asks for it), `/healthz` (the process is up) and
//! `/readyz` (serving, the shared state store reachable, not draining).

use std::convert::Infallible;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::state::Shared;

/// Serves the admin endpoints on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, shared: Arc<Shared>, state_url: Option<String>) {
    let state_url: Arc<Option<String>> = Arc::new(state_url);
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        let shared = shared.clone();
        let state_url = state_url.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req: hyper::Request<Incoming>| {
                let shared = shared.clone();
                let state_url = state_url.clone();
                async move { Ok::<_, Infallible>(answer(&req, &shared, state_url.as_deref()).await) }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc);
            let _ = tokio::time::timeout(Duration::from_secs(60), conn).await;
        });
    }
}

async fn answer(
    req: &hyper::Request<Incoming>,
    shared: &Shared,
    state_url: Option<&str>,
) -> hyper::Response<Full<Bytes>> {
    let text = |status: u16, body: &str| {
        hyper::Response::builder()
            .status(status)
            .header("content-type", "text/plain; charset=utf-8")
            .body(Full::new(Bytes::from(format!("{body}\n"))))
            .unwrap_or_default()
    };
    if req.method() != http::Method::GET && req.method() != http::Method::HEAD {
        return text(405, "method not allowed");
    }
    match req.uri().path() {
        "/metrics" => {
            let openmetrics = req
                .headers()
                .get(http::header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|a| a.contains("application/openmetrics-text"));
            let content_type = if openmetrics {
                "application/openmetrics-text; version=1.0.0; charset=utf-8"
            } else {
                "text/plain; version=0.0.4; charset=utf-8"
            };
            hyper::Response::builder()
                .header("content-type", content_type)
                .body(Full::new(Bytes::from(shared.metrics.encode(openmetrics))))
                .unwrap_or_default()
        }
        "/healthz" => text(200, "ok"),
        "/readyz" => {
            if shared.draining.load(Ordering::Relaxed) {
                return text(503, "draining");
            }
            if let Some(url) = state_url {
                if let Err(e) = ping(url).await {
                    return text(503, &format!("state store unreachable: {e}"));
                }
            }
            text(200, "ready")
        }
        _ => text(404, "not found: /metrics, /healthz, /readyz"),
    }
}

/// One PING to the shared state store, bounded to a second.
async fn ping(url: &str) -> Result<(), String> {
    let check = async {
        let client = redis::Client::open(url).map_err(|e| e.to_string())?;
        let mut con = client
            .get_multiplexed_async_connection()
            .await
            .map_err(|e| e.to_string())?;
        redis::cmd("PING")
            .query_async::<String>(&mut con)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    match tokio::time::timeout(Duration::from_secs(1), check).await {
        Ok(r) => r,
        Err(_) => Err("no answer within 1 s".into()),
    }
}
