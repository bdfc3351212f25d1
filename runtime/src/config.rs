//! The gateway binary's command line (every flag has an environment equivalent).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, ValueEnum};

/// Access-log format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One JSON object per request.
    Json,
    /// One human-readable line per request.
    Text,
}

/// What happens to requests while the shared state (Redis) is unreachable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StateFailure {
    /// Let them through, uncounted.
    Open,
    /// Refuse them (500).
    Closed,
}

/// Flags of a generated gateway.
#[derive(Debug, Clone, Parser)]
#[command(about = "An API gateway compiled by specgate", version)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "SPECGATE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Stage to serve (`$context.stage`); default: the first stage in the spec, else `$default`.
    #[arg(long, env = "SPECGATE_STAGE")]
    pub stage: Option<String>,
    /// Set or override a stage variable, `name=value` (repeatable).
    #[arg(long = "stage-var", value_parser = parse_kv, env = "SPECGATE_STAGE_VARS", value_delimiter = ',')]
    pub stage_vars: Vec<(String, String)>,
    /// Access-log format.
    #[arg(long, env = "SPECGATE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// No access log.
    #[arg(long, env = "SPECGATE_QUIET")]
    pub quiet: bool,
    /// Write the access log to this file (appended; reopened on SIGHUP, for logrotate)
    /// instead of stdout.
    #[arg(long, env = "SPECGATE_ACCESS_LOG_FILE")]
    pub access_log_file: Option<PathBuf>,
    /// Export spans (request, authorizer, validation, integration) over OTLP/HTTP to this
    /// collector (`http://127.0.0.1:4318`; sent to `/v1/traces`).
    #[arg(long, env = "SPECGATE_OTLP_ENDPOINT")]
    pub otlp_endpoint: Option<String>,
    /// The share of requests traced when the client does not say (`Sampled=` or the
    /// `traceparent` flag), 0 to 1.
    #[arg(long, env = "SPECGATE_TRACE_SAMPLE_RATE", default_value_t = 0.05)]
    pub trace_sample_rate: f64,
    /// Write execution logs (`loggingLevel` in the stage's method settings) to this file
    /// (appended; reopened on SIGHUP) instead of stderr.
    #[arg(long, env = "SPECGATE_EXECUTION_LOG_FILE")]
    pub execution_log_file: Option<PathBuf>,
    /// Serve `/metrics`, `/healthz` and `/readyz` on this address (off the public port).
    #[arg(long, env = "SPECGATE_ADMIN_LISTEN")]
    pub admin_listen: Option<SocketAddr>,
    /// PEM certificate chain; with `--tls-key`, serve HTTPS (HTTP/1.1 and h2 by ALPN).
    #[arg(long, env = "SPECGATE_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for `--tls-cert`.
    #[arg(long, env = "SPECGATE_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Worker threads, each with its own event loop, listener (SO_REUSEPORT) and upstream
    /// pool; default: one per CPU.
    #[arg(long, env = "SPECGATE_WORKERS")]
    pub workers: Option<usize>,
    /// Seconds to let in-flight requests finish after SIGTERM/SIGINT.
    #[arg(long, env = "SPECGATE_DRAIN_SECONDS", default_value_t = 30)]
    pub drain_seconds: u64,
    /// Most client connections the process serves at once; more are closed on accept.
    /// Default: three quarters of the file-descriptor limit (raised to its hard maximum).
    #[arg(long, env = "SPECGATE_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Seconds a new connection may take to send its first bytes (and to finish a TLS
    /// handshake), and an HTTP/1 request head to arrive, counted from when the gateway
    /// starts waiting for it: also HTTP/1's keep-alive idle limit.
    #[arg(long, env = "SPECGATE_FIRST_BYTE_TIMEOUT", default_value_t = 10)]
    pub first_byte_timeout: u64,
    /// Seconds a connection may stay silent in both directions (an HTTP/2 connection
    /// without streams, a client that stops reading its response) before it is closed.
    #[arg(long, env = "SPECGATE_IDLE_TIMEOUT", default_value_t = 60)]
    pub idle_timeout: u64,
    /// Seconds a request body may pause between two chunks before the request is answered
    /// 408.
    #[arg(long, env = "SPECGATE_BODY_TIMEOUT", default_value_t = 10)]
    pub body_timeout: u64,
    /// Where API keys, quota counts and IAM principals are kept (an SQLite database is
    /// created there).
    #[arg(
        long,
        env = "SPECGATE_STATE_DIR",
        default_value = "specgate-state",
        global = true
    )]
    pub state_dir: PathBuf,
    /// Keep keys, throttles and quotas in Redis, shared by every replica:
    /// `redis://HOST:PORT[/DB]` or `rediss://…` (TLS).
    #[arg(long, env = "SPECGATE_STATE", global = true)]
    pub state: Option<String>,
    /// While Redis cannot be reached: `open` lets requests through uncounted (keys are still
    /// checked against the last list read), `closed` refuses them (500).
    #[arg(long, env = "SPECGATE_STATE_FAILURE", value_enum, default_value_t = StateFailure::Open)]
    pub state_failure: StateFailure,
    /// The account-level throttle's rate (requests per second, all routes and keys of this
    /// process); 0 turns it off. AWS's default: 10,000.
    #[arg(long, env = "SPECGATE_ACCOUNT_RATE_LIMIT", default_value_t = 10_000.0)]
    pub account_rate_limit: f64,
    /// The account-level throttle's burst. AWS's default: 5,000.
    #[arg(long, env = "SPECGATE_ACCOUNT_BURST_LIMIT", default_value_t = 5_000)]
    pub account_burst_limit: u32,
    /// Send Lambda Invoke API calls to this endpoint (e.g. `http://127.0.0.1:9001`) instead
    /// of `https://lambda.{region}.amazonaws.com`.
    #[arg(long, env = "SPECGATE_LAMBDA_ENDPOINT")]
    pub lambda_endpoint: Option<String>,
    /// Run a Lambda function locally, `NAME=COMMAND` (repeatable): COMMAND is started with
    /// `AWS_LAMBDA_RUNTIME_API` set and serves the function's invocations.
    #[arg(long = "function", value_parser = parse_kv, env = "SPECGATE_FUNCTIONS", value_delimiter = ';')]
    pub functions: Vec<(String, String)>,
    /// Most processes of one local function at a time (shared out among the workers).
    #[arg(long, env = "SPECGATE_FUNCTION_CONCURRENCY", default_value_t = 4)]
    pub function_concurrency: usize,
    /// A local function's timeout in seconds (default: the integration's timeout); a
    /// process past it is killed and replaced.
    #[arg(long = "function-timeout", env = "SPECGATE_FUNCTION_TIMEOUT")]
    pub function_timeout_seconds: Option<u64>,
    /// Where a JWT issuer's OpenID configuration is read, `ISSUER=URL` (repeatable): tokens
    /// must still name ISSUER; its keys come from URL (a local identity provider, a test).
    #[arg(long = "jwt-discovery", value_parser = parse_kv, env = "SPECGATE_JWT_DISCOVERY", value_delimiter = ',')]
    pub jwt_discovery: Vec<(String, String)>,
    /// Send AWS-service integrations (and STS) to this endpoint instead of
    /// `https://{service}.{region}.amazonaws.com`, as `AWS_ENDPOINT_URL` does for the SDKs;
    /// a service's own `AWS_ENDPOINT_URL_<SERVICE>` still wins.
    #[arg(long, env = "SPECGATE_AWS_ENDPOINT_URL")]
    pub aws_endpoint_url: Option<String>,
    /// Where a VPC link's private backend is, `ID=HOST:PORT` (repeatable): integrations with
    /// `connectionType: VPC_LINK` and that `connectionId` connect there, sending the host of
    /// their `uri` as `Host`.
    #[arg(long = "vpc-link", value_parser = parse_vpc_link, env = "SPECGATE_VPC_LINKS", value_delimiter = ',')]
    pub vpc_links: Vec<(String, String)>,
    /// The key that seals IAM principals' secret access keys in the state store: a file
    /// holding 32 random bytes (base64), created (mode 0600) by `principals add` when
    /// missing. Every replica sharing a Redis store needs the same file. Default:
    /// `secrets.key` in the state directory.
    #[arg(long, env = "SPECGATE_SECRETS_KEY_FILE", global = true)]
    pub secrets_key_file: Option<PathBuf>,
    /// The region this gateway answers for: SigV4 signatures must be scoped to it, and
    /// method ARNs (`arn:aws:execute-api:{region}:…`) name it.
    #[arg(
        long,
        env = "SPECGATE_REGION",
        default_value = "us-east-1",
        global = true
    )]
    pub region: String,
    /// The account id in method ARNs, resource policies' `execute-api:/…` shorthand and
    /// `$context.accountId`.
    #[arg(
        long,
        env = "SPECGATE_ACCOUNT_ID",
        default_value = "000000000000",
        global = true
    )]
    pub account_id: String,
    /// The API id in method ARNs and `$context.apiId`.
    #[arg(
        long,
        env = "SPECGATE_API_ID",
        default_value = "specgate",
        global = true
    )]
    pub api_id: String,
    /// How many `X-Forwarded-For` hops to trust for the client's address (`aws:SourceIp`
    /// in policies, `$context.identity.sourceIp`): 0 (the default) uses the connection's
    /// peer; N takes the Nth address from the right, as added by N trusted load balancers.
    #[arg(long, env = "SPECGATE_TRUSTED_PROXY_HOPS", default_value_t = 0)]
    pub trusted_proxy_hops: usize,
    /// What to do instead of serving.
    #[command(subcommand)]
    pub command: Option<crate::cli::Command>,
}

fn parse_kv(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
        _ => Err(format!("`{s}` is not name=value")),
    }
}

fn parse_vpc_link(s: &str) -> Result<(String, String), String> {
    let (id, target) = parse_kv(s)?;
    let ok = match target.rsplit_once(':') {
        Some((host, port)) => !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0),
        None => false,
    };
    if !ok {
        return Err(format!(
            "`{target}` is not HOST:PORT (in --vpc-link {id}=HOST:PORT)"
        ));
    }
    Ok((id, target))
}

impl Config {
    /// Where the secrets key is: `--secrets-key-file`, else `secrets.key` in the state
    /// directory.
    pub fn secrets_key_path(&self) -> PathBuf {
        self.secrets_key_file
            .clone()
            .unwrap_or_else(|| self.state_dir.join("secrets.key"))
    }

    /// A configuration for tests: loopback, ephemeral port, no log.
    pub fn for_tests() -> Self {
        Config {
            listen: "127.0.0.1:0".parse().expect("literal address"),
            stage: None,
            stage_vars: Vec::new(),
            log_format: LogFormat::Text,
            quiet: true,
            access_log_file: None,
            admin_listen: None,
            execution_log_file: None,
            otlp_endpoint: None,
            trace_sample_rate: 0.05,
            tls_cert: None,
            tls_key: None,
            drain_seconds: 5,
            max_connections: None,
            first_byte_timeout: 10,
            idle_timeout: 60,
            body_timeout: 10,
            state_dir: std::env::temp_dir().join(format!("specgate-state-{}", std::process::id())),
            state: None,
            state_failure: StateFailure::Open,
            account_rate_limit: 0.0,
            account_burst_limit: 5_000,
            command: None,
            workers: None,
            lambda_endpoint: None,
            functions: Vec::new(),
            function_concurrency: 4,
            function_timeout_seconds: None,
            jwt_discovery: Vec::new(),
            vpc_links: Vec::new(),
            aws_endpoint_url: None,
            secrets_key_file: None,
            region: "us-east-1".into(),
            account_id: "000000000000".into(),
            api_id: "specgate".into(),
            trusted_proxy_hops: 0,
        }
    }
}
