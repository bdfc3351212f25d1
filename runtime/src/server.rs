//! The HTTP server: accept loop (HTTP/1.1 and h2c, or TLS with ALPN), limits, request
//! context, access log, graceful shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::{Config, LogFormat};
use crate::conn::{Guarded, Timeouts};
use crate::context::Context;
use crate::responses;
use crate::state::Runtime;
use crate::{Gateway, Response};

pub use crate::body::MAX_BODY;
/// API Gateway's limit on the request line and header values together (10,240 bytes).
pub const MAX_HEADER_BYTES: usize = 10_240;

/// The generated binary's `main`: parse flags, serve until SIGTERM/SIGINT, drain.
///
/// Thread per core: each worker thread runs its own single-threaded event loop with its own
/// listener on the same address (SO_REUSEPORT, the kernel spreads connections) and its own
/// upstream pool, so a request and its backend connection never hop between threads.
pub fn main<G: Gateway>(gateway: G) -> ExitCode {
    main_dyn(Arc::new(gateway))
}

/// [`main`], compiled once (see [`Gateway`]).
fn main_dyn(gateway: Arc<dyn Gateway>) -> ExitCode {
    use clap::Parser;
    let mut config = Config::parse();
    let workers = config
        .workers
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
        .max(1);
    // What the workers share (local functions' lanes) is sized by the count in force.
    config.workers = Some(workers);
    let info = gateway.info();
    if let Some(command) = &config.command {
        return crate::cli::run(
            command,
            config.state.as_deref(),
            &config.state_dir,
            &config.secrets_key_path(),
            info,
        );
    }
    // Validate the configuration (stage, TLS files) once, before binding anything.
    let first = match Runtime::new(info, config.clone()) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    if let Some(path) = &config.access_log_file {
        if let Err(e) = crate::log::to_file(path) {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    }
    if let Some(path) = &config.execution_log_file {
        if let Err(e) = crate::log::EXECUTION.to_file(path) {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    }
    if let Some(endpoint) = &config.otlp_endpoint {
        if let Err(e) = crate::trace::start(endpoint, info.title) {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    }
    crate::memory::watch(first.shared.connections.clone(), Duration::from_secs(2));
    first.shared.usage.watch();
    let (stop, stopped) = watch::channel(false);
    let event_loop = |what: &str| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the {what} event loop: {e}"))
    };
    let rt = match event_loop("main") {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    // SO_REUSEPORT would let this gateway silently share a port with another process of the
    // same user: make sure the address is free first.
    if config.listen.port() != 0 {
        if let Err(e) = std::net::TcpListener::bind(config.listen) {
            eprintln!("error: cannot listen on {}: {e}", config.listen);
            return ExitCode::from(2);
        }
    }
    let listener = match rt.block_on(async { bind(config.listen) }) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let addr = listener.local_addr().unwrap_or(config.listen);
    let scheme = if config.tls_cert.is_some() {
        "https"
    } else {
        "http"
    };
    eprintln!(
        "specgate: {} listening on {scheme}://{addr} (stage {}, {workers} worker{})",
        info.title,
        first.stage,
        if workers == 1 { "" } else { "s" }
    );
    let mut threads = Vec::new();
    for n in 1..workers {
        let sibling = first.sibling(config.clone());
        let gateway = gateway.clone();
        let mut stopped = stopped.clone();
        let built = event_loop("worker");
        let spawned = std::thread::Builder::new()
            .name(format!("specgate-{n}"))
            .spawn(move || -> Result<(), String> {
                crate::lambda::local::set_worker(n);
                let rt = built?;
                rt.block_on(async move {
                    let listener = bind(addr)?;
                    let runtime = sibling?;
                    serve(gateway, runtime, listener, async move {
                        let _ = stopped.wait_for(|v| *v).await;
                    })
                    .await
                })
            });
        match spawned {
            Ok(t) => threads.push(t),
            Err(e) => eprintln!("warning: cannot start worker {n}: {e}"),
        }
    }
    let first_usage = first.shared.usage.clone();
    let admin = match admin_listener(&rt, &first) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    #[cfg(unix)]
    rt.spawn(async {
        // logrotate: reopen the access-log file.
        if let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        {
            while hup.recv().await.is_some() {
                crate::log::reopen();
            }
        }
    });
    let mut result = rt.block_on(serve(gateway, first, listener, async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    }));
    if let Some(a) = admin {
        a.abort();
    }
    for t in threads {
        let r = t
            .join()
            .unwrap_or_else(|_| Err("a worker thread panicked".to_string()));
        if result.is_ok() {
            result = r;
        }
    }
    if let Err(e) = first_usage.flush() {
        crate::warn!("specgate: usage counts not written: {e}");
    }
    let dropped = crate::log::finish();
    if dropped > 0 {
        crate::warn!("specgate: {dropped} access-log lines dropped: stdout did not keep up");
    }
    let panics = PANICS.load(std::sync::atomic::Ordering::Relaxed);
    if panics > 0 {
        crate::warn!("specgate: {panics} requests failed with an internal error (panic)");
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

/// A listener with SO_REUSEPORT (on Unix), so every worker can bind the same address.
fn bind(addr: SocketAddr) -> Result<TcpListener, String> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()
    } else {
        tokio::net::TcpSocket::new_v6()
    }
    .map_err(|e| format!("cannot create a socket: {e}"))?;
    let _ = socket.set_reuseaddr(true);
    #[cfg(unix)]
    socket
        .set_reuseport(true)
        .map_err(|e| format!("cannot set SO_REUSEPORT: {e}"))?;
    socket
        .bind(addr)
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    socket
        .listen(1024)
        .map_err(|e| format!("cannot listen on {addr}: {e}"))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}

/// A running gateway started by [`spawn`] (tests and embedding).
pub struct Handle {
    /// The bound address.
    pub addr: SocketAddr,
    /// The admin listener's address (`--admin-listen`).
    pub admin_addr: Option<SocketAddr>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<Result<(), String>>,
}

impl Handle {
    /// Stops accepting, drains in-flight requests, and waits.
    pub async fn shutdown(self) -> Result<(), String> {
        let _ = self.stop.send(true);
        self.task.await.map_err(|e| e.to_string())?
    }
}

/// Starts a gateway on `config.listen` inside the current tokio runtime.
pub async fn spawn<G: Gateway>(gateway: G, config: Config) -> Result<Handle, String> {
    spawn_dyn(Arc::new(gateway), config).await
}

/// [`spawn`], compiled once (see [`Gateway`]).
async fn spawn_dyn(gateway: Arc<dyn Gateway>, mut config: Config) -> Result<Handle, String> {
    // Served on the caller's event loop, whatever `--workers` says: what the workers share
    // (local functions' lanes) is sized for one.
    config.workers = Some(1);
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let runtime = Runtime::new(gateway.info(), config)?;
    if let Some(endpoint) = &runtime.config.otlp_endpoint {
        if !crate::trace::enabled() {
            crate::trace::start(endpoint, gateway.info().title)?;
        }
    }
    runtime.shared.usage.watch();
    let usage = runtime.shared.usage.clone();
    let (admin_addr, admin) = match runtime.config.admin_listen {
        Some(a) => {
            let l = TcpListener::bind(a)
                .await
                .map_err(|e| format!("cannot listen on {a} (--admin-listen): {e}"))?;
            let admin_addr = l.local_addr().ok();
            let shared = runtime.shared.clone();
            let state = runtime.config.state.clone();
            (
                admin_addr,
                Some(tokio::spawn(crate::admin::serve(l, shared, state))),
            )
        }
        None => (None, None),
    };
    let (stop, mut rx) = watch::channel(false);
    let task = tokio::spawn(async move {
        let served = serve(gateway, runtime, listener, async move {
            let _ = rx.wait_for(|v| *v).await;
        })
        .await;
        if let Some(a) = admin {
            a.abort();
        }
        // Nothing counted is lost when the gateway stops.
        usage.flush()?;
        served
    });
    Ok(Handle {
        addr,
        admin_addr,
        stop,
        task,
    })
}

/// Starts the admin listener (`--admin-listen`) on the main event loop.
fn admin_listener(
    rt: &tokio::runtime::Runtime,
    first: &Runtime,
) -> Result<Option<tokio::task::JoinHandle<()>>, String> {
    let Some(addr) = first.config.admin_listen else {
        return Ok(None);
    };
    let listener = rt
        .block_on(TcpListener::bind(addr))
        .map_err(|e| format!("cannot listen on {addr} (--admin-listen): {e}"))?;
    eprintln!(
        "specgate: admin endpoints on http://{} (/metrics, /healthz, /readyz)",
        listener.local_addr().unwrap_or(addr)
    );
    Ok(Some(rt.spawn(crate::admin::serve(
        listener,
        first.shared.clone(),
        first.config.state.clone(),
    ))))
}

/// Serves until `shutdown` completes, then drains for up to `drain_seconds`.
pub async fn serve(
    gateway: Arc<dyn Gateway>,
    runtime: Runtime,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), String> {
    let tls = match (&runtime.config.tls_cert, &runtime.config.tls_key) {
        (Some(c), Some(k)) => Some(tls_acceptor(c, k)?),
        _ => None,
    };
    let timeouts = Timeouts {
        first_byte: Duration::from_secs(runtime.config.first_byte_timeout.max(1)),
        idle: Duration::from_secs(runtime.config.idle_timeout.max(1)),
    };
    let runtime = Arc::new(runtime);
    // HTTP/2 (h2c with prior knowledge, or TLS with ALPN `h2`) is hyper's; HTTP/1.1 is
    // specgate's own connection code (`http1`).
    let mut h2 = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
    h2.timer(TokioTimer::new())
        .max_header_list_size(crate::http1::MAX_HEAD as u32)
        .max_concurrent_streams(128);
    let h2 = Arc::new(h2);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let drain = crate::http1::Drain::default();
    let settings = crate::http1::Settings {
        head_timeout: timeouts.first_byte,
        keep_trailers: false,
    };
    let body_idle = Duration::from_secs(runtime.config.body_timeout.max(1));
    let http1_service: crate::http1::Service = {
        let g = gateway.clone();
        let rt = runtime.clone();
        // The request's future is `handle`'s own, boxed as it is: an `async` block around
        // it would hold the request twice and be copied whole into the box.
        Arc::new(move |req, headers, peer| {
            let (parts, body) = req.into_parts();
            let body = crate::body::http1(body, body_idle);
            crate::boxed(handle(g.clone(), rt.clone(), parts, headers, body, peer))
        })
    };
    // Access-log lines are handed to the writer thread on an interval (see `log`).
    let flusher = {
        let log = runtime.log.clone();
        let exec_log = runtime.exec_log.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(crate::log::FLUSH_INTERVAL);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                log.flush();
                exec_log.flush();
            }
        })
    };
    let mut last_refusal_warning: Option<tokio::time::Instant> = None;
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(x) => x,
                    // Out of file descriptors and the like: back off instead of spinning.
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let Some(permit) = runtime.shared.connections.try_acquire() else {
                    // Over the limit: closed at once (the client sees the connection end
                    // before any response), and said so at most once a minute.
                    drop(stream);
                    let now = tokio::time::Instant::now();
                    if last_refusal_warning.is_none_or(|t| now - t > Duration::from_secs(60)) {
                        last_refusal_warning = Some(now);
                        crate::warn!(
                            "specgate: {} connections open (--max-connections): refusing new ones",
                            runtime.shared.connections.max()
                        );
                    }
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let stream = Guarded::new(stream, timeouts, Some(permit));
                let h2_service = {
                    let g = gateway.clone();
                    let rt = runtime.clone();
                    service_fn(move |req: http::Request<Incoming>| {
                        let g = g.clone();
                        let rt = rt.clone();
                        async move {
                            let (mut parts, body) = req.into_parts();
                            let headers = std::mem::take(&mut parts.headers).into();
                            let body = crate::body::http2(body, body_idle);
                            let mut resp = handle(g, rt, parts, headers, body, peer).await;
                            // hyper writes the header map only.
                            crate::framing::RawFields::materialize(&mut resp);
                            Ok::<_, Infallible>(resp)
                        }
                    })
                };
                let service = http1_service.clone();
                let drain = drain.clone();
                let h2 = h2.clone();
                let watcher = graceful.watcher();
                // A task's size is that of its largest state: the HTTP/2 and TLS states are
                // boxed or spawned apart, so that an idle HTTP/1 connection stays small.
                match tls.clone() {
                    None => {
                        tokio::spawn(async move {
                            use crate::http1::Start;
                            match crate::http1::start(Box::new(stream)).await {
                                Start::Closed => {}
                                Start::Http1(io, buf) => {
                                    crate::http1::serve(io, buf, peer, settings, drain, service).await
                                }
                                Start::Http2(io) => {
                                    let conn = h2.serve_connection(TokioIo::new(io), h2_service);
                                    let _ = Box::pin(watcher.watch(conn)).await;
                                }
                            }
                        });
                    }
                    Some(acceptor) => {
                        tokio::spawn(async move {
                            // The guard bounds a stalled handshake (first-byte, then idle timeout).
                            let Ok(tls_stream) = acceptor.accept(stream).await else {
                                return;
                            };
                            if tls_stream.get_ref().1.alpn_protocol() == Some(b"h2") {
                                let conn = h2.serve_connection(TokioIo::new(tls_stream), h2_service);
                                let _ = Box::pin(watcher.watch(conn)).await;
                            } else {
                                let io: crate::http1::BoxStream = Box::new(tls_stream);
                                crate::http1::serve(io, BytesMut::new(), peer, settings, drain, service).await;
                            }
                        });
                    }
                }
            }
            _ = &mut shutdown => break,
        }
    }
    runtime
        .shared
        .draining
        .store(true, std::sync::atomic::Ordering::Relaxed);
    drop(listener);
    drain.start();
    let drain_for = Duration::from_secs(runtime.config.drain_seconds);
    let result = tokio::select! {
        _ = async { graceful.shutdown().await; drain.requests_done().await } => Ok(()),
        _ = tokio::time::sleep(drain_for) => Err(format!("{} s passed with requests still in flight", drain_for.as_secs())),
    };
    flusher.abort();
    runtime.log.flush();
    runtime.exec_log.flush();
    result
}

fn tls_acceptor(
    cert: &std::path::Path,
    key: &std::path::Path,
) -> Result<tokio_rustls::TlsAcceptor, String> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| format!("cannot read {}: {e}", cert.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("cannot read {}: {e}", cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("cannot read {}: {e}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("TLS certificate/key: {e}"))?;
    cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(cfg)))
}

pub use crate::log::PANICS;

/// The size API Gateway limits (the request line and the header values), and the length
/// the request declares (its first `Content-Length`, when it is a number): one pass over
/// the fields for both.
fn header_size_and_length(
    parts: &http::request::Parts,
    headers: &crate::headers::Headers,
) -> (usize, Option<u64>) {
    let target = parts.uri.path_and_query().map_or(1, |p| p.as_str().len());
    // `METHOD SP target SP HTTP/1.1 CRLF`
    let mut size = parts.method.as_str().len() + target + 12;
    let mut length = None;
    for (name, value) in headers.fields() {
        size += value.len();
        if name.len() == 14 && length.is_none() && name.eq_ignore_ascii_case(b"content-length") {
            length = Some(
                std::str::from_utf8(value)
                    .ok()
                    .and_then(|v| v.parse::<u64>().ok()),
            );
        }
    }
    (size, length.flatten())
}

/// The client's address behind `hops` trusted proxies: the `hops`-th address from the
/// right of `X-Forwarded-For` (each proxy appends the address it received from). Fewer
/// addresses than hops, or one that does not parse, leaves the peer's.
pub fn forwarded_client(headers: &http::HeaderMap, hops: usize) -> Option<std::net::IpAddr> {
    let all: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let i = all.len().checked_sub(hops)?;
    all.get(i)?.parse().ok()
}

/// One request: limits, context, the generated handler, ids, access log. What comes
/// before routing runs when the request arrives; the future returned routes and finishes.
/// Not an `async fn`: one keeps its arguments for its whole life beside what it moved them
/// into, and it held the context inline; its future was 1,872 bytes, above mimalloc's
/// small-object size (1 KiB), allocated on the slow path and copied whole into its box per
/// request. The context is boxed on its own (a small object) and the future is 384 bytes.
fn handle(
    g: Arc<dyn Gateway>,
    rt: Arc<Runtime>,
    parts: http::request::Parts,
    headers: crate::headers::Headers,
    body: crate::Body,
    peer: SocketAddr,
) -> impl std::future::Future<Output = Response> + Send + 'static {
    use futures_util::FutureExt;
    let peer = match rt.config.trusted_proxy_hops {
        0 => peer,
        hops => {
            forwarded_client(&headers, hops).map_or(peer, |ip| SocketAddr::new(ip, peer.port()))
        }
    };
    let (size, declared) = header_size_and_length(&parts, &headers);
    let too_large = size > MAX_HEADER_BYTES;
    // Allocated first and written into: `Box::new` of the call's result built the context
    // on the stack and copied it (several hundred bytes) into the box.
    let mut cx: Box<Context> = Box::write(
        Box::new_uninit(),
        Context::with_headers(
            &parts,
            headers,
            peer,
            rt.stage.clone(),
            rt.stage_vars.clone(),
        ),
    );
    if !rt.exec_settings.is_empty() {
        let data = rt
            .exec_settings
            .iter()
            .any(|(_, s)| s.data_trace == Some(true));
        cx.exec = Some(Box::new(crate::exec_log::ExecLog::new(data)));
    }
    if crate::trace::enabled() {
        let xray = cx.trace_id().map(|t| t.into_owned()).unwrap_or_default();
        let traceparent = cx.header("traceparent");
        let trace = crate::trace::Trace::of(&xray, traceparent, rt.config.trace_sample_rate);
        cx.trace = Some(Box::new(trace));
    }
    let cors = rt.info.cors;
    let preflight =
        cors.is_some() && crate::cors::CorsInfo::is_preflight(&parts.method, &cx.headers);
    let next = if too_large {
        Next::Answer(responses::header_too_large())
    } else if declared.is_some_and(|n| n > MAX_BODY) {
        Next::Answer(responses::request_too_large(MAX_BODY))
    } else if let Some(c) = cors.filter(|_| preflight) {
        // Before routing and authorizers, as API Gateway answers preflights.
        Next::Answer(c.preflight(&cx.headers))
    } else {
        Next::Route(http::Request::from_parts(parts, body))
    };
    async move {
        let (g, rt) = (&*g, &*rt);
        let mut resp = match next {
            Next::Answer(resp) => resp,
            Next::Route(req) => {
                // `handle` routes before its future exists: the call is guarded too.
                let handled = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    g.handle(rt, &mut cx, req)
                })) {
                    Ok(route) => std::panic::AssertUnwindSafe(route).catch_unwind().await,
                    Err(panic) => Err(panic),
                };
                match handled {
                    Ok(r) => r,
                    // A bug (ours or in generated code) while handling this request: API
                    // Gateway's 500, and the worker serves on. The panic message went to
                    // stderr already.
                    Err(_) => {
                        PANICS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        crate::warn!(
                            "specgate: {}: internal error while handling {} {}",
                            cx.request_id,
                            cx.method,
                            cx.resource_path
                        );
                        responses::internal_error()
                    }
                }
            }
        };
        if let Some(c) = cors.filter(|_| !preflight) {
            crate::framing::RawFields::materialize(&mut resp);
            c.decorate(&cx.headers, resp.headers_mut());
        }
        let has_id = resp.headers().contains_key(&responses::X_AMZN_REQUESTID)
            || resp
                .body()
                .raw_fields()
                .is_some_and(crate::framing::RawFields::has_request_id);
        if !has_id {
            responses::add_ids_to_write(&mut resp, &cx, rt.info.flavor == crate::Flavor::Rest);
        }
        let status = resp.status().as_u16();
        let answered = std::time::SystemTime::now();
        // The HTTP/1 answer's `Date` reuses this reading.
        crate::http1::answered_at(answered);
        let latency_ms = unix_ms(answered).saturating_sub(cx.start_ms) as u64;
        let response_length = hyper::body::Body::size_hint(resp.body()).exact();
        let data_processed = declared.unwrap_or(0) + response_length.unwrap_or(0);
        rt.metric_handles.record(
            &rt.shared.metrics,
            &cx,
            &crate::metrics::Sample {
                status,
                latency_ms: latency_ms as f64,
                bytes: data_processed,
            },
        );
        if !rt.config.quiet {
            let line = match rt.access_log {
                // The stage's `accessLogSetting.format`.
                Some(parts) => crate::access_log::render(
                    parts,
                    &cx,
                    &crate::access_log::Outcome {
                        status,
                        response_length,
                        latency_ms,
                        data_processed,
                    },
                ),
                None => access_log_line(rt.config.log_format, &cx, status, latency_ms),
            };
            rt.log.line(&line);
        }
        if cx.exec.is_some() {
            crate::framing::RawFields::materialize(&mut resp);
            execution_log(rt, &mut cx, status, resp.headers(), latency_ms);
        }
        if let Some(t) = cx.trace.take().filter(|t| t.sampled) {
            let resource = if cx.resource_path.is_empty() {
                cx.path.as_str()
            } else {
                cx.resource_path
            };
            crate::trace::export(crate::trace::Finished {
                name: format!("{} {resource}", cx.method),
                start: t.start,
                end: crate::trace::now_ns(),
                attributes: vec![
                    ("http.request.method", cx.method.to_string()),
                    ("url.path", cx.path.clone()),
                    ("http.route", cx.resource_path.to_string()),
                    ("http.response.status_code", status.to_string()),
                    ("aws.request_id", cx.request_id.clone()),
                    (
                        "aws.xray.trace_id",
                        cx.trace_id().unwrap_or_default().into_owned(),
                    ),
                    ("apigateway.stage", cx.stage.to_string()),
                ],
                error: status >= 500,
                trace: *t,
            });
        }
        resp
    }
}

/// What `handle` does once the request's context exists.
enum Next {
    /// Answered before routing (limits, a CORS preflight).
    Answer(Response),
    /// Routed to the generated handler.
    Route(crate::Request),
}

/// Writes a request's execution log, as the route's `loggingLevel` says: what the method
/// received, what was collected on the way, and how it ended.
fn execution_log(
    rt: &Runtime,
    cx: &mut Context,
    status: u16,
    response_headers: &http::HeaderMap,
    latency_ms: u64,
) {
    use crate::exec_log::{headers, Level};
    let Some(exec) = cx.exec.take() else { return };
    let (level, data) =
        crate::exec_log::setting(rt.exec_settings, cx.resource_path, cx.method.as_str());
    if level == Level::Off {
        return;
    }
    let id = cx.request_id.clone();
    let mut lines = Vec::new();
    if level >= Level::Info {
        let path_params: Vec<String> = cx
            .path_params
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        lines.push(format!(
            "({id}) Extended Request Id: {}",
            &id[..id.len().min(16)]
        ));
        lines.push(format!("({id}) Starting execution for request: {id}"));
        lines.push(format!(
            "({id}) HTTP Method: {}, Resource Path: {}",
            cx.method, cx.path
        ));
        lines.push(format!(
            "({id}) Method request path: {{{}}}",
            path_params.join(", ")
        ));
        lines.push(format!(
            "({id}) Method request query string: {{{}}}",
            cx.query.as_deref().unwrap_or("").replace('&', ", ")
        ));
        lines.push(format!(
            "({id}) Method request headers: {}",
            headers(&cx.headers)
        ));
    }
    exec.render(level, &id, data, &mut lines);
    if let Some((kind, message)) = &cx.error {
        lines.push(format!(
            "({id}) Gateway response type: {} with status code: {status}",
            kind.name()
        ));
        if level >= Level::Info && !message.is_empty() {
            lines.push(format!(
                "({id}) Gateway response body: {{\"message\":{}}}",
                serde_json::Value::from(message.as_str())
            ));
        }
    }
    if level >= Level::Info {
        lines.push(format!(
            "({id}) Method response headers: {}",
            headers(response_headers)
        ));
        if status < 400 {
            lines.push(format!("({id}) Successfully completed execution"));
        }
    }
    if level >= Level::Info || status >= 400 {
        lines.push(format!(
            "({id}) Method completed with status: {status} ({latency_ms} ms)"
        ));
    }
    for l in lines {
        rt.exec_log.line(&l);
    }
}

fn unix_ms(time: std::time::SystemTime) -> u128 {
    time.duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
}

/// One access-log line, written straight into a string (no intermediate JSON value: this
/// runs for every request).
fn access_log_line(format: LogFormat, cx: &Context, status: u16, latency: u64) -> String {
    let mut out = String::with_capacity(320);
    match format {
        LogFormat::Json => {
            let field = |out: &mut String, name: &str, v: Option<&str>| {
                out.push_str(",\"");
                out.push_str(name);
                out.push_str("\":");
                match v {
                    Some(v) => crate::json::string_into(out, v),
                    None => out.push_str("null"),
                }
            };
            // Written piece by piece (no `write!`: the formatting machinery was a quarter
            // of a logged request's extra instructions, the escaping a half).
            out.push_str("{\"requestId\":");
            crate::json::string_into(&mut out, &cx.request_id);
            out.push_str(",\"ip\":\"");
            push_ip_and_time(&mut out, cx, "\",\"requestTime\":\"");
            out.push('"');
            field(&mut out, "httpMethod", Some(cx.method.as_str()));
            field(&mut out, "path", Some(&cx.path));
            field(&mut out, "resourcePath", Some(cx.resource_path));
            out.push_str(",\"status\":");
            out.push_str(itoa::Buffer::new().format(status));
            field(&mut out, "protocol", Some(cx.protocol));
            out.push_str(",\"responseLatency\":");
            out.push_str(itoa::Buffer::new().format(latency));
            field(
                &mut out,
                "errorResponseType",
                cx.error.as_ref().map(|(t, _)| t.name()),
            );
            field(
                &mut out,
                "validationErrorString",
                cx.validation_error.as_deref(),
            );
            field(
                &mut out,
                "validationErrors",
                cx.validation_detail.as_deref(),
            );
            field(&mut out, "cacheStatus", cx.cache_status);
            field(&mut out, "apiKeyId", cx.api_key_id.as_deref());
            out.push('}');
        }
        LogFormat::Text => {
            // `{ip} - - [{time}] "{method} {path} {protocol}" {status} {id} {latency}ms`.
            push_ip_and_time(&mut out, cx, " - - [");
            out.push_str("] \"");
            for (part, then) in [
                (cx.method.as_str(), " "),
                (&cx.path, " "),
                (cx.protocol, "\" "),
                (itoa::Buffer::new().format(status), " "),
                (&cx.request_id, " "),
                (itoa::Buffer::new().format(latency), "ms"),
            ] {
                out.push_str(part);
                out.push_str(then);
            }
        }
    }
    out
}

/// The client's address, `between`, and the request time (`25/Nov/2026:06:50:07 +0000`).
fn push_ip_and_time(out: &mut String, cx: &Context, between: &str) {
    let mut ip = [0u8; 46];
    let ip = crate::context::ip_text(cx.peer.ip(), &mut ip);
    out.push_str(std::str::from_utf8(ip).unwrap_or_default());
    out.push_str(between);
    crate::context::clf_time_into(out, cx.start_ms);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_log_names_the_failing_values() {
        let (mut parts, _) = http::Request::builder()
            .method("POST")
            .uri("/pets?x=1")
            .body(())
            .unwrap()
            .into_parts();
        let mut cx = Context::for_tests(&mut parts);
        cx.validation_error = Some(r#"[object has missing required properties (["kind"])]"#.into());
        cx.validation_detail =
            Some(r#"/owner/pets/0: object has missing required properties (["kind"])"#.into());
        let line: serde_json::Value =
            serde_json::from_str(&access_log_line(LogFormat::Json, &cx, 400, 3)).unwrap();
        assert_eq!(line["status"], 400);
        assert_eq!(line["responseLatency"], 3);
        assert_eq!(line["httpMethod"], "POST");
        assert_eq!(line["apiKeyId"], serde_json::Value::Null);
        assert_eq!(line["path"], "/pets");
        assert_eq!(
            line["validationErrors"],
            r#"/owner/pets/0: object has missing required properties (["kind"])"#
        );
        assert_eq!(
            line["validationErrorString"],
            r#"[object has missing required properties (["kind"])]"#
        );
        // Control characters and quotes stay valid JSON.
        cx.validation_error = Some("a \"quoted\"\n\u{1}value\\".into());
        let line: serde_json::Value =
            serde_json::from_str(&access_log_line(LogFormat::Json, &cx, 400, 3)).unwrap();
        assert_eq!(line["validationErrorString"], "a \"quoted\"\n\u{1}value\\");
        // Every field, in order, as the line is written.
        cx.start_ms = 1_795_589_407_123;
        cx.validation_error = None;
        cx.validation_detail = None;
        let text = access_log_line(LogFormat::Json, &cx, 200, 17);
        let expected = serde_json::json!({
            "requestId": cx.request_id, "ip": "127.0.0.1",
            "requestTime": "25/Nov/2026:06:50:07 +0000", "httpMethod": "POST", "path": "/pets",
            "resourcePath": "", "status": 200, "protocol": "HTTP/1.1", "responseLatency": 17,
            "errorResponseType": null, "validationErrorString": null, "validationErrors": null,
            "cacheStatus": null, "apiKeyId": null,
        });
        assert_eq!(text, expected.to_string());
        assert_eq!(
            access_log_line(LogFormat::Text, &cx, 200, 17),
            format!(
                "127.0.0.1 - - [25/Nov/2026:06:50:07 +0000] \"POST /pets HTTP/1.1\" 200 {} 17ms",
                cx.request_id
            )
        );
    }
}
