//! The connection pool to HTTP backends (shared by a worker's requests): HTTP/1.1 and
//! HTTP/2, plain and TLS with webpki roots, names resolved with hickory.

use std::time::Duration;

use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::dns::Resolver;
use crate::Body;

/// Backend requests in flight (all workers), and those that failed, for the metrics.
pub static IN_FLIGHT: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);
/// Backend requests that timed out.
pub static TIMEOUTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
/// Backend requests that failed to connect or broke off.
pub static FAILURES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The shared upstream client (HTTP/1.1 and HTTP/2, plain and TLS with webpki roots).
pub type Client =
    hyper_util::client::legacy::Client<hyper_rustls::HttpsConnector<HttpConnector<Resolver>>, Body>;

/// Builds the upstream client.
pub fn client() -> Result<Client, String> {
    let mut http = HttpConnector::new_with_resolver(Resolver::default());
    http.enforce_http(false);
    http.set_nodelay(true);
    http.set_connect_timeout(Some(Duration::from_secs(10)));
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS client setup: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .wrap_connector(http);
    Ok(
        hyper_util::client::legacy::Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(256)
            .build(https),
    )
}

/// A worker's own pool of plain HTTP/1.1 connections to backends named by IP address, the
/// common case of a gateway in front of services (`http://10.0.3.7:8080`, VPC links): idle
/// connections kept per address, taken and given back without the legacy client's shared
/// pool, checkout futures and connector stack. Each worker has its own (its event loop is
/// single-threaded, so the lock is never contended). Anything else (TLS, HTTP/2, host names
/// to resolve) goes through [`Client`].
#[derive(Default)]
pub struct Local {
    idle: std::sync::Mutex<Vec<(std::net::SocketAddr, Sender)>>,
}

type Sender = hyper::client::conn::http1::SendRequest<Body>;

/// Idle connections kept per worker (all addresses).
const MAX_IDLE: usize = 256;

impl Local {
    /// The address `req` goes to when the fast path serves it: `http://` to an IP literal.
    pub fn eligible(req: &http::Request<Body>) -> Option<std::net::SocketAddr> {
        let uri = req.uri();
        if uri.scheme() != Some(&http::uri::Scheme::HTTP) {
            return None;
        }
        let auth = uri.authority()?;
        let host = auth.host();
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let ip: std::net::IpAddr = host.parse().ok()?;
        Some(std::net::SocketAddr::new(ip, auth.port_u16().unwrap_or(80)))
    }

    /// Sends `req` to `addr` on an idle connection, or a new one; the response head (its
    /// body read by the caller, after which the connection is given back with
    /// [`Local::give_back`]).
    pub async fn send(
        &self,
        addr: std::net::SocketAddr,
        req: http::Request<Body>,
    ) -> Result<(http::Response<hyper::body::Incoming>, Sender), crate::BoxError> {
        let (mut parts, body) = req.into_parts();
        // Origin form on the wire, the backend's authority as `Host` (what the legacy client
        // does for HTTP/1).
        if !parts.headers.contains_key(http::header::HOST) {
            if let Some(v) = parts
                .uri
                .authority()
                .and_then(|a| http::HeaderValue::from_str(a.as_str()).ok())
            {
                parts.headers.insert(http::header::HOST, v);
            }
        }
        let origin = parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .parse::<http::Uri>()
            .unwrap_or_else(|_| http::Uri::from_static("/"));
        parts.uri = origin;
        let req = http::Request::from_parts(parts, body);
        // An idle connection the backend closed meanwhile gives the request back unsent:
        // it goes on a new connection then (as the legacy client retries).
        let req = match self.take(addr) {
            Some(mut sender) => match sender.try_send_request(req).await {
                Ok(resp) => return Ok((resp, sender)),
                Err(mut e) => match e.take_message() {
                    Some(req) => req,
                    None => return Err(e.into_error().into()),
                },
            },
            None => req,
        };
        let mut sender = connect(addr).await?;
        let resp = sender.send_request(req).await?;
        Ok((resp, sender))
    }

    fn take(&self, addr: std::net::SocketAddr) -> Option<Sender> {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        while let Some(i) = idle.iter().rposition(|(a, _)| *a == addr) {
            let (_, s) = idle.swap_remove(i);
            if s.is_ready() {
                return Some(s);
            }
        }
        None
    }

    /// Keeps a connection whose exchange is complete for the next request to its address.
    pub fn give_back(&self, addr: std::net::SocketAddr, sender: Sender) {
        if sender.is_closed() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < MAX_IDLE {
            idle.push((addr, sender));
        }
    }
}

/// A new HTTP/1.1 connection to `addr` (10 s to connect, as the legacy client), its
/// connection task spawned on this worker.
async fn connect(addr: std::net::SocketAddr) -> Result<Sender, crate::BoxError> {
    let stream = tokio::time::timeout(
        Duration::from_secs(10),
        tokio::net::TcpStream::connect(addr),
    )
    .await
    .map_err(|_| format!("connecting to {addr} timed out"))??;
    stream.set_nodelay(true)?;
    let (sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}
