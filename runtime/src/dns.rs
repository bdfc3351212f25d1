//! Name resolution for backend calls with hickory, a DNS resolver written in Rust.
//!
//! A statically linked binary cannot use glibc's `getaddrinfo` reliably (it loads NSS
//! modules at run time), so the gateway resolves names itself: `/etc/hosts` first, then the
//! name servers of `/etc/resolv.conf`, with hickory's cache. IP literals never reach here
//! (hyper's connector parses them).

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use hickory_resolver::TokioResolver;
use hyper_util::client::legacy::connect::dns::Name;

/// A `tower` service resolving names for hyper-util's `HttpConnector`.
#[derive(Clone, Default)]
pub struct Resolver {
    inner: Arc<OnceLock<Result<TokioResolver, String>>>,
}

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Resolver")
    }
}

fn system_resolver() -> Result<TokioResolver, String> {
    TokioResolver::builder_tokio()
        .map_err(|e| format!("cannot read the system DNS configuration: {e}"))?
        .build()
        .map_err(|e| format!("cannot start the DNS resolver: {e}"))
}

/// Why a name did not resolve.
#[derive(Debug)]
pub struct ResolveError(String);

impl std::fmt::Display for ResolveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ResolveError {}

type Addrs = std::vec::IntoIter<SocketAddr>;

impl tower_service::Service<Name> for Resolver {
    type Response = Addrs;
    type Error = ResolveError;
    type Future = Pin<Box<dyn Future<Output = Result<Addrs, ResolveError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), ResolveError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let inner = self.inner.clone();
        Box::pin(async move {
            // Created on first use, inside the runtime, and kept for its cache.
            let resolver = inner
                .get_or_init(system_resolver)
                .as_ref()
                .map_err(|e| ResolveError(e.clone()))?;
            let ips = resolver
                .lookup_ip(name.as_str())
                .await
                .map_err(|e| ResolveError(format!("{}: {e}", name.as_str())))?;
            let addrs: Vec<SocketAddr> = ips.iter().map(|ip| SocketAddr::new(ip, 0)).collect();
            if addrs.is_empty() {
                return Err(ResolveError(format!("{}: no addresses", name.as_str())));
            }
            Ok(addrs.into_iter())
        })
    }
}
