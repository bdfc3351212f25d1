//! The functions a gateway calls: local processes by name (`--function NAME=COMMAND`), every
//! other through the Invoke API. Shared by every worker of the process.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::invocation::{function_name, InvocationType, InvokeError, Output, MAX_PAYLOAD};
use super::{local, remote};
use crate::config::Config;
use crate::upstream::pool::Client;

/// The functions this gateway calls: local ones by name (`--function NAME=COMMAND`), every
/// other through the Invoke API.
pub struct Lambda {
    remote: remote::Remote,
    local: Option<local::Host>,
}

impl Lambda {
    /// From the gateway's flags; local functions start their Runtime API now (their
    /// processes start on first use).
    pub fn new(config: &Config) -> Result<Arc<Lambda>, String> {
        let local = if config.functions.is_empty() {
            None
        } else {
            Some(local::Host::start(
                &config.functions,
                config.function_concurrency.max(1),
                config.function_timeout_seconds,
                // The server sets the count it runs; a gateway started by `server::spawn`
                // serves on the caller's event loop: one lane.
                config.workers.unwrap_or(1),
            )?)
        };
        Ok(Arc::new(Lambda {
            remote: remote::Remote::new(config.lambda_endpoint.clone()),
            local,
        }))
    }

    /// Each local function's processes: name, running, idle.
    pub fn local_processes(&self) -> Vec<(String, usize, usize)> {
        self.local
            .as_ref()
            .map(|l| l.processes())
            .unwrap_or_default()
    }

    /// Invokes `function` (a function ARN, partial ARN or name, with an optional
    /// `:alias`) in `region` with `payload`; `trace` is the request's X-Ray trace header,
    /// passed on to the function.
    // The Invoke API's parameters, passed through as they are.
    #[allow(clippy::too_many_arguments)]
    pub async fn invoke(
        &self,
        client: &Client,
        function: &str,
        region: &str,
        payload: Bytes,
        kind: InvocationType,
        timeout: Duration,
        trace: Option<&str>,
    ) -> Result<Output, InvokeError> {
        if payload.len() > MAX_PAYLOAD {
            return Err(InvokeError::TooLarge);
        }
        if let Some(local) = &self.local {
            if let Some(f) = local.function(function_name(function)) {
                return f.invoke(payload, kind, timeout, trace).await;
            }
        }
        self.remote
            .invoke(client, function, region, payload, kind, timeout, trace)
            .await
    }

    /// Invokes `function` with its response streamed (`InvokeWithResponseStream`).
    pub async fn invoke_stream(
        &self,
        client: &Client,
        function: &str,
        region: &str,
        payload: Bytes,
        timeout: Duration,
        trace: Option<&str>,
    ) -> Result<super::stream::Streamed, InvokeError> {
        if payload.len() > MAX_PAYLOAD {
            return Err(InvokeError::TooLarge);
        }
        if let Some(local) = &self.local {
            if let Some(f) = local.function(function_name(function)) {
                return f.invoke_stream(payload, timeout, trace).await;
            }
        }
        self.remote
            .invoke_stream(client, function, region, payload, timeout, trace)
            .await
    }
}
