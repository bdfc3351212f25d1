//! The gateway IR: what the gateway does, independent of how the spec said it.
//!
//! This is the only thing `check` and `codegen` read; they never see OpenAPI types. Every
//! element keeps the [`Span`] it was lowered from, so later stages can still point into the
//! user's file. Values are plain data; enum values that AWS treats case-insensitively are
//! normalised here.

use indexmap::IndexMap;
use serde_json::Value;

use crate::source::Span;

/// A value with the place it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Where it was written.
    pub span: Span,
}

impl<T> Spanned<T> {
    /// Wraps a value.
    pub fn new(value: T, span: Span) -> Self {
        Spanned { value, span }
    }
}

/// A parameter mapping: target (key) → source expression (value), both with their spans.
pub type Mapping = (Spanned<String>, Spanned<String>);

/// REST (API Gateway v1) or HTTP API (v2) behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// REST API: 403 `Missing Authentication Token` for unknown routes, gateway responses,
    /// validators, VTL, usage plans.
    Rest,
    /// HTTP API: 404 `Not Found`, `$default` route, gateway-managed CORS, parameter mapping.
    Http,
}

/// The whole API.
#[derive(Debug, Clone)]
pub struct Api {
    /// REST or HTTP behaviour.
    pub flavor: Flavor,
    /// `info.title`.
    pub title: String,
    /// `info.version`.
    pub version: String,
    /// `servers`, with their base paths.
    pub servers: Vec<Server>,
    /// Every route, in document order.
    pub routes: Vec<Route>,
    /// `components.securitySchemes`.
    pub security_schemes: IndexMap<String, SecurityScheme>,
    /// `x-amazon-apigateway-request-validators`.
    pub request_validators: IndexMap<String, RequestValidator>,
    /// Root `x-amazon-apigateway-request-validator`: the default for every operation.
    pub default_validator: Option<Spanned<String>>,
    /// `x-specgate-validation: {parameters: typed}`: every parameter with a schema is
    /// decoded by its `style`/`explode` and validated against it (beyond API Gateway).
    pub typed_parameters: bool,
    /// `x-specgate-validation: {responses: log | strict}`: integration responses are checked
    /// against the operation's declared response schemas.
    pub response_validation: ResponseValidation,
    /// `x-specgate-validation: {bodies: typed}`: `application/x-www-form-urlencoded` bodies
    /// are decoded into objects before validation.
    pub typed_bodies: bool,
    /// `x-specgate-validation: {formats: openapi}`: also check OpenAPI's `date`, `uuid`,
    /// `byte`, `int32` and `int64` (API Gateway, like fge, ignores them).
    pub openapi_formats: bool,
    /// `x-amazon-apigateway-api-key-source`.
    pub api_key_source: ApiKeySource,
    /// `x-amazon-apigateway-binary-media-types`.
    pub binary_media_types: Vec<Spanned<String>>,
    /// `x-amazon-apigateway-cors` (HTTP APIs).
    pub cors: Option<Cors>,
    /// `x-amazon-apigateway-gateway-responses`, keyed by response type.
    pub gateway_responses: IndexMap<String, GatewayResponse>,
    /// `x-amazon-apigateway-minimum-compression-size`.
    pub minimum_compression_size: Option<Spanned<u64>>,
    /// `x-amazon-apigateway-policy`: the resource policy document.
    pub policy: Option<Spanned<Value>>,
    /// `x-amazon-apigateway-security-policy` (TLS policy for the listener).
    pub security_policy: Option<Spanned<String>>,
    /// `x-amazon-apigateway-endpoint-access-mode`.
    pub endpoint_access_mode: Option<Spanned<String>>,
    /// Reusable schemas from `components.schemas`, raw JSON with their spans.
    pub schemas: IndexMap<String, Schema>,
    /// Number of documentation parts in `x-amazon-apigateway-documentation` (no runtime effect).
    pub documentation_parts: usize,
    /// `x-specgate-stages`, in document order (the first is the default).
    pub stages: Vec<Stage>,
    /// `x-specgate-usage-plans`, in document order.
    pub usage_plans: Vec<UsagePlan>,
    /// Placeholders without a value where the gateway needs one (an integration URI,
    /// credentials, an authorizer URI, an issuer, a VPC link).
    pub unresolved: Vec<Unresolved>,
}

/// A token bucket: `rateLimit` requests per second refill a bucket of `burstLimit`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Throttle {
    /// Requests per second (may be fractional).
    pub rate: f64,
    /// Bucket size.
    pub burst: u32,
}

/// What a client's `Cache-Control: max-age=0` gets when it is not authorised to invalidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnauthorizedCacheControl {
    /// 403.
    FailWith403,
    /// Served from the cache, with a `Warning` header.
    SucceedWithResponseHeader,
    /// Served from the cache.
    SucceedWithoutResponseHeader,
}

/// The caching fields of one `methodSettings` entry (unset: inherited or AWS's default).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct CacheSetting {
    /// `cachingEnabled`.
    pub enabled: Option<bool>,
    /// `cacheTtlInSeconds` (0–3600).
    pub ttl: Option<u32>,
    /// `requireAuthorizationForCacheControl`.
    pub require_authorization: Option<bool>,
    /// `unauthorizedCacheControlHeaderStrategy`.
    pub unauthorized: Option<UnauthorizedCacheControl>,
}

/// A usage plan's quota period (calendar periods in UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaPeriod {
    /// From 00:00 UTC.
    Day,
    /// From Sunday 00:00 UTC.
    Week,
    /// From the 1st, 00:00 UTC.
    Month,
}

/// `quota` of a usage plan.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quota {
    /// Requests per period.
    pub limit: u64,
    /// The period.
    pub period: QuotaPeriod,
    /// Requests taken off the limit in a key's first period.
    pub offset: u64,
}

/// One entry of `x-specgate-usage-plans` (AWS's field names).
#[derive(Debug, Clone)]
pub struct UsagePlan {
    /// The plan's name (what `keys create --plan` names).
    pub name: String,
    /// Per-key throttle.
    pub throttle: Option<Throttle>,
    /// Per-key quota.
    pub quota: Option<Quota>,
    /// The stages the plan covers, with per-method throttle overrides.
    pub api_stages: Vec<PlanStage>,
    /// Where it is defined.
    pub span: Span,
}

/// One `apiStages` entry of a usage plan.
#[derive(Debug, Clone)]
pub struct PlanStage {
    /// The stage's name.
    pub stage: Spanned<String>,
    /// `"/pets/GET"` → throttle.
    pub throttle: Vec<(Spanned<String>, Throttle)>,
}

/// A stage (`x-specgate-stages`): AWS keeps stages outside the spec.
#[derive(Debug, Clone)]
pub struct Stage {
    /// Name (`$context.stage`).
    pub name: String,
    /// Stage variables.
    pub variables: Vec<(String, String)>,
    /// `methodSettings` throttles: `"*/*"` or `"/pets/GET"` → throttle.
    pub method_throttles: Vec<(Spanned<String>, Throttle)>,
    /// `methodSettings` caching: `"*/*"` or `"/pets/GET"` → settings.
    pub method_caching: Vec<(Spanned<String>, CacheSetting)>,
    /// `cacheClusterEnabled`.
    pub cache_cluster: bool,
    /// `cacheClusterSize` in MB (API Gateway's sizes are GB: 0.5 … 237).
    pub cache_size_mb: u64,
    /// `accessLogSetting.format`.
    pub access_log_format: Option<Spanned<String>>,
    /// `methodSettings.*.metricsEnabled` / `detailedMetricsEnabled`: method key → on/off.
    pub detailed_metrics: Vec<(Spanned<String>, bool)>,
    /// `methodSettings.*.loggingLevel` / `dataTraceEnabled`: method key → settings.
    pub execution_logs: Vec<(Spanned<String>, ExecutionLog)>,
    /// Where it is defined.
    pub span: Span,
}

/// A method's execution-log settings (unset fields fall through to `*/*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExecutionLog {
    /// `loggingLevel`: `OFF` (0), `ERROR` (1), `INFO` (2).
    pub level: Option<u8>,
    /// `dataTraceEnabled`.
    pub data_trace: Option<bool>,
}

/// `x-amazon-apigateway-api-key-source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ApiKeySource {
    /// The `x-api-key` header.
    #[default]
    Header,
    /// `usageIdentifierKey` from a Lambda authorizer.
    Authorizer,
}

/// One entry of `servers`.
#[derive(Debug, Clone)]
pub struct Server {
    /// The URL template as written.
    pub url: String,
    /// The base path the API is served under (from the URL path, variables substituted
    /// with their defaults; `/` when none). AWS strips it before routing.
    pub base_path: String,
    /// Server variables and their defaults.
    pub variables: IndexMap<String, String>,
    /// `x-amazon-apigateway-endpoint-configuration` inside this server.
    pub endpoint_configuration: Option<EndpointConfiguration>,
    /// Where the server is.
    pub span: Span,
}

/// `x-amazon-apigateway-endpoint-configuration`.
#[derive(Debug, Clone, Default)]
pub struct EndpointConfiguration {
    /// Only custom domains serve the API.
    pub disable_execute_api_endpoint: bool,
    /// VPC endpoint ids (private APIs).
    pub vpc_endpoint_ids: Vec<String>,
    /// `ipv4` / `dualstack`.
    pub ip_address_type: Option<String>,
}

/// An HTTP method of a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    /// GET
    Get,
    /// PUT
    Put,
    /// POST
    Post,
    /// DELETE
    Delete,
    /// OPTIONS
    Options,
    /// HEAD
    Head,
    /// PATCH
    Patch,
    /// TRACE (OpenAPI allows it; API Gateway does not)
    Trace,
    /// `x-amazon-apigateway-any-method`: every method not declared explicitly on the path.
    Any,
}

impl Method {
    /// Upper-case name (`ANY` for the catch-all).
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Put => "PUT",
            Method::Post => "POST",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
            Method::Head => "HEAD",
            Method::Patch => "PATCH",
            Method::Trace => "TRACE",
            Method::Any => "ANY",
        }
    }
}

/// A path template such as `/pets/{petId}` or `/{proxy+}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathTemplate {
    /// As written in the spec.
    pub raw: String,
    /// Parsed segments (empty for `/`).
    pub segments: Vec<Segment>,
    /// The HTTP-API `$default` route (`/$default`).
    pub is_default: bool,
}

/// One segment of a path template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Matches exactly this text.
    Literal(String),
    /// `{name}`: one whole segment.
    Param(String),
    /// `{name+}`: the rest of the path (one or more segments).
    Greedy(String),
}

impl PathTemplate {
    /// The template with every parameter name replaced by `{}`, for conflict detection.
    pub fn shape(&self) -> String {
        let mut s = String::new();
        for seg in &self.segments {
            s.push('/');
            match seg {
                Segment::Literal(l) => s.push_str(l),
                Segment::Param(_) => s.push_str("{}"),
                Segment::Greedy(_) => s.push_str("{+}"),
            }
        }
        if s.is_empty() {
            s.push('/');
        }
        s
    }
    /// Names of the template's parameters, in order.
    pub fn param_names(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Param(n) | Segment::Greedy(n) => Some(n.as_str()),
            Segment::Literal(_) => None,
        })
    }
}

/// One method on one path.
#[derive(Debug, Clone)]
pub struct Route {
    /// The method.
    pub method: Method,
    /// The path.
    pub path: PathTemplate,
    /// `operationId`.
    pub operation_id: Option<String>,
    /// The operation object (the method key).
    pub span: Span,
    /// Where the path key is written.
    pub path_span: Span,
    /// Path-level and operation-level parameters merged (operation wins).
    pub parameters: Vec<Parameter>,
    /// `requestBody`.
    pub request_body: Option<RequestBody>,
    /// Security requirements in effect: the operation's own, or the root default.
    /// An empty list means no authorization.
    pub security: Vec<SecurityRequirement>,
    /// Where `security` came from (operation or root).
    pub security_span: Option<Span>,
    /// The request validator in effect (operation or root default).
    pub validator: Option<Spanned<String>>,
    /// The operation's own `x-specgate-validation` (each key set overrides the root's).
    pub validation: ValidationOverride,
    /// `x-amazon-apigateway-auth`.
    pub auth_type: Option<Spanned<AuthType>>,
    /// `x-amazon-apigateway-integration`.
    pub integration: Option<Integration>,
    /// Declared method responses: status code (or `default`) → response.
    pub responses: IndexMap<String, MethodResponse>,
    /// `isDefaultRoute` inside `x-amazon-apigateway-any-method` (HTTP APIs).
    pub is_default_route: bool,
}

/// `x-amazon-apigateway-auth` type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthType {
    /// No authorization.
    None,
    /// IAM (SigV4).
    AwsIam,
}

/// Where a parameter is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ParamIn {
    /// Path segment.
    Path,
    /// Query string.
    Query,
    /// Header.
    Header,
    /// Cookie.
    Cookie,
}

impl ParamIn {
    /// The OpenAPI name.
    pub fn as_str(self) -> &'static str {
        match self {
            ParamIn::Path => "path",
            ParamIn::Query => "query",
            ParamIn::Header => "header",
            ParamIn::Cookie => "cookie",
        }
    }
}

/// A request parameter.
#[derive(Debug, Clone)]
pub struct Parameter {
    /// Name.
    pub name: String,
    /// Location.
    pub location: ParamIn,
    /// `required`.
    pub required: bool,
    /// `style` (defaulted per location as OpenAPI says).
    pub style: String,
    /// `explode` (defaulted per style).
    pub explode: bool,
    /// `schema`, raw.
    pub schema: Option<Schema>,
    /// Where the parameter is.
    pub span: Span,
}

/// A request body.
#[derive(Debug, Clone)]
pub struct RequestBody {
    /// `required`.
    pub required: bool,
    /// Media type → schema.
    pub content: IndexMap<String, Option<Schema>>,
    /// Where the body is.
    pub span: Span,
}

/// A declared method response.
#[derive(Debug, Clone)]
pub struct MethodResponse {
    /// Header names.
    pub headers: Vec<String>,
    /// Media types.
    pub content: Vec<String>,
    /// Media type → schema, for the media types that have one.
    pub schemas: IndexMap<String, Schema>,
    /// Where it is.
    pub span: Span,
}

/// An operation's `x-specgate-validation`: `None` keeps the API's setting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ValidationOverride {
    /// `parameters`.
    pub typed_parameters: Option<bool>,
    /// `bodies`.
    pub typed_bodies: Option<bool>,
    /// `responses`.
    pub responses: Option<ResponseValidation>,
}

/// What happens to an integration response that does not match its declared schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResponseValidation {
    /// Not checked (API Gateway's behaviour).
    #[default]
    Off,
    /// Logged, and passed on.
    Log,
    /// Logged, and replaced by a 502.
    Strict,
}

/// A JSON Schema kept as written (no keyword lost), with the place it came from.
#[derive(Debug, Clone)]
pub struct Schema {
    /// The schema as JSON; `$ref`s are kept as written.
    pub json: Value,
    /// Where it is.
    pub span: Span,
}

/// One `security` entry: all of these schemes must pass (AND); the entries of a list are
/// alternatives (OR).
#[derive(Debug, Clone)]
pub struct SecurityRequirement {
    /// Scheme name → scopes.
    pub schemes: Vec<(Spanned<String>, Vec<String>)>,
}

/// A security scheme.
#[derive(Debug, Clone)]
pub struct SecurityScheme {
    /// The name in `components.securitySchemes`.
    pub name: String,
    /// OpenAPI `type`.
    pub kind: SchemeKind,
    /// `x-amazon-apigateway-authtype`.
    pub auth_type: Option<String>,
    /// `x-amazon-apigateway-authorizer`.
    pub authorizer: Option<Authorizer>,
    /// Where the scheme is.
    pub span: Span,
}

/// OpenAPI security scheme types.
#[derive(Debug, Clone, PartialEq)]
pub enum SchemeKind {
    /// `apiKey` in a header, query or cookie.
    ApiKey {
        /// Where the key is.
        location: ParamIn,
        /// Header / parameter name.
        name: String,
    },
    /// `http` (basic, bearer).
    Http {
        /// `scheme`.
        scheme: String,
    },
    /// `oauth2`.
    OAuth2,
    /// `openIdConnect`.
    OpenIdConnect {
        /// `openIdConnectUrl`.
        url: String,
    },
}

impl Api {
    /// Whether a route is authorized with IAM (SigV4): `x-amazon-apigateway-auth: {type:
    /// AWS_IAM}` on the operation, or a `security` scheme with `x-amazon-apigateway-authtype:
    /// awsSigv4`.
    pub fn uses_iam(&self, r: &Route) -> bool {
        if let Some(t) = &r.auth_type {
            return t.value == AuthType::AwsIam;
        }
        r.security
            .iter()
            .flat_map(|req| req.schemes.iter())
            .any(|(name, _)| {
                self.security_schemes
                    .get(&name.value)
                    .is_some_and(|s| s.is_iam())
            })
    }
}

impl SecurityScheme {
    /// An IAM (SigV4) scheme: apiKey `Authorization` header with authtype `awsSigv4`.
    pub fn is_iam(&self) -> bool {
        self.authorizer.is_none()
            && self
                .auth_type
                .as_deref()
                .is_some_and(|t| t.to_ascii_lowercase().starts_with("aws"))
    }
    /// The API-key scheme that usage plans use (`x-api-key` header, no authorizer).
    pub fn is_api_key(&self) -> bool {
        matches!(&self.kind, SchemeKind::ApiKey { location: ParamIn::Header, name } if name.eq_ignore_ascii_case("x-api-key"))
            && self.authorizer.is_none()
    }
}

/// `x-amazon-apigateway-authorizer`.
#[derive(Debug, Clone)]
pub struct Authorizer {
    /// Authorizer type.
    pub kind: AuthorizerKind,
    /// `authorizerUri`: the Lambda to call.
    pub uri: Option<Spanned<IntegrationUri>>,
    /// `authorizerCredentials`.
    pub credentials: Option<Spanned<String>>,
    /// `identitySource`, split on commas.
    pub identity_source: Vec<Spanned<String>>,
    /// `identityValidationExpression`.
    pub identity_validation_expression: Option<Spanned<String>>,
    /// `authorizerResultTtlInSeconds` (default 300).
    pub result_ttl_seconds: Spanned<i64>,
    /// `providerARNs` (Cognito).
    pub provider_arns: Vec<Spanned<String>>,
    /// `authorizerPayloadFormatVersion` (HTTP).
    pub payload_format_version: Option<Spanned<String>>,
    /// `enableSimpleResponses` (HTTP, payload 2.0).
    pub enable_simple_responses: bool,
    /// `jwtConfiguration`.
    pub jwt: Option<JwtConfiguration>,
    /// Where the authorizer object is.
    pub span: Span,
}

/// Authorizer types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthorizerKind {
    /// Lambda TOKEN authorizer (REST).
    Token,
    /// Lambda REQUEST authorizer.
    Request,
    /// Cognito user pools (REST).
    CognitoUserPools,
    /// JWT (HTTP).
    Jwt,
}

/// `jwtConfiguration`.
#[derive(Debug, Clone)]
pub struct JwtConfiguration {
    /// `issuer`.
    pub issuer: Spanned<String>,
    /// `audience`.
    pub audience: Vec<String>,
}

/// A named request validator.
#[derive(Debug, Clone)]
pub struct RequestValidator {
    /// `validateRequestBody`.
    pub validate_body: bool,
    /// `validateRequestParameters`.
    pub validate_parameters: bool,
    /// Where it is defined.
    pub span: Span,
}

/// `x-amazon-apigateway-cors`.
#[derive(Debug, Clone, Default)]
pub struct Cors {
    /// `allowOrigins`.
    pub allow_origins: Vec<String>,
    /// `allowCredentials`.
    pub allow_credentials: bool,
    /// `exposeHeaders`.
    pub expose_headers: Vec<String>,
    /// `maxAge` in seconds.
    pub max_age: Option<i64>,
    /// `allowMethods`.
    pub allow_methods: Vec<String>,
    /// `allowHeaders`.
    pub allow_headers: Vec<String>,
    /// Where it is.
    pub span: Span,
}

/// A customised gateway response.
#[derive(Debug, Clone)]
pub struct GatewayResponse {
    /// `statusCode`.
    pub status: Option<Spanned<u16>>,
    /// `responseParameters`: `gatewayresponse.header.X` → source expression.
    pub parameters: Vec<Mapping>,
    /// `responseTemplates`: MIME → template.
    pub templates: IndexMap<String, Spanned<String>>,
    /// Where it is.
    pub span: Span,
}

/// `x-amazon-apigateway-integration` type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntegrationType {
    /// AWS service or Lambda, non-proxy.
    Aws,
    /// Lambda proxy (or HTTP-API AWS-service subtype).
    AwsProxy,
    /// HTTP backend, non-proxy.
    Http,
    /// HTTP backend, proxy.
    HttpProxy,
    /// Answered by the gateway itself.
    Mock,
}

impl IntegrationType {
    /// The name as exports write it.
    pub fn as_str(self) -> &'static str {
        match self {
            IntegrationType::Aws => "aws",
            IntegrationType::AwsProxy => "aws_proxy",
            IntegrationType::Http => "http",
            IntegrationType::HttpProxy => "http_proxy",
            IntegrationType::Mock => "mock",
        }
    }
}

/// What an integration `uri` (or `authorizerUri`) is.
#[derive(Debug, Clone, PartialEq)]
pub enum IntegrationUri {
    /// A CloudFormation or Terraform placeholder with no value yet (`${uri}`): fine for
    /// `check`, refused by `build` (see `placeholders.rs`).
    Placeholder(String),
    /// An http(s) URL (may hold `{param}` and `${stageVariables.x}` placeholders).
    Http(String),
    /// A Lambda function, through the Invoke API.
    Lambda {
        /// Region of the `arn:aws:apigateway:` wrapper (or of the bare function ARN).
        region: String,
        /// The function ARN or name (may hold `${stageVariables.x}`).
        function: String,
        /// `response-streaming-invocations` instead of `invocations`.
        streaming: bool,
    },
    /// Another AWS service: `arn:aws:apigateway:{region}:{service}:{path|action}/{rest}`.
    AwsService {
        /// Region.
        region: String,
        /// Service or `subdomain.service`.
        service: String,
        /// `path` or `action`.
        kind: String,
        /// What follows `path/` or `action/`.
        target: String,
    },
    /// A listener/service ARN used with VPC links (HTTP APIs).
    Other(String),
}

/// A placeholder without a value where the gateway needs one.
#[derive(Debug, Clone, PartialEq)]
pub struct Unresolved {
    /// The name a value is given under (`--var NAME=…`).
    pub name: String,
    /// Where it is written.
    pub span: Span,
    /// What needs it, for messages ("the integration uri").
    pub what: &'static str,
}

/// `passthroughBehavior`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Passthrough {
    /// Forward bodies whose Content-Type has no template (default).
    #[default]
    WhenNoMatch,
    /// Forward only when no templates are defined; else 415.
    WhenNoTemplates,
    /// Always 415 without a matching template.
    Never,
}

/// `contentHandling`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentHandling {
    /// Base64-encode binary payloads.
    ConvertToText,
    /// Base64-decode text payloads.
    ConvertToBinary,
}

/// The backend of a route.
#[derive(Debug, Clone)]
pub struct Integration {
    /// `type`.
    pub kind: Spanned<IntegrationType>,
    /// `uri`, classified.
    pub uri: Option<Spanned<IntegrationUri>>,
    /// `httpMethod` (upper case; `ANY` = the client's method).
    pub http_method: Option<Spanned<String>>,
    /// `credentials`.
    pub credentials: Option<Spanned<String>>,
    /// REST `requestParameters`: target → source expression, in order.
    pub request_parameters: Vec<Mapping>,
    /// `requestTemplates`: MIME (or selection key) → template.
    pub request_templates: IndexMap<String, Spanned<String>>,
    /// `passthroughBehavior`.
    pub passthrough: Passthrough,
    /// `contentHandling`.
    pub content_handling: Option<ContentHandling>,
    /// `timeoutInMillis` (defaulted: 29000 REST, 30000 HTTP).
    pub timeout_ms: Spanned<i64>,
    /// `cacheKeyParameters`.
    pub cache_key_parameters: Vec<Spanned<String>>,
    /// `cacheNamespace`.
    pub cache_namespace: Option<String>,
    /// `connectionType: VPC_LINK`: the `connectionId` (a link id, or
    /// `${stageVariables.x}`), whose private target the gateway is given at start-up
    /// (`--vpc-link ID=HOST:PORT`).
    pub vpc_link: Option<Spanned<String>>,
    /// `integrationTarget` (REST VPC link v2).
    pub integration_target: Option<Spanned<String>>,
    /// `tlsConfig.insecureSkipVerification`.
    pub tls_insecure_skip_verification: bool,
    /// `tlsConfig.serverNameToVerify`.
    pub tls_server_name: Option<String>,
    /// `payloadFormatVersion` (`1.0` / `2.0`).
    pub payload_format_version: Option<Spanned<String>>,
    /// `integrationSubtype` (HTTP AWS-service integrations).
    pub integration_subtype: Option<Spanned<String>>,
    /// `responseTransferMode` is `STREAM`.
    pub stream_response: Option<Span>,
    /// REST `responses`, in document order.
    pub responses: Vec<IntegrationResponse>,
    /// HTTP-API `responseParameters`: status → (key → value).
    pub http_response_parameters: IndexMap<String, Vec<Mapping>>,
    /// The integration object.
    pub span: Span,
}

/// One entry of REST integration `responses`.
#[derive(Debug, Clone)]
pub struct IntegrationResponse {
    /// The selection pattern; `None` for `default`.
    pub pattern: Option<Spanned<String>>,
    /// `statusCode`.
    pub status: Spanned<String>,
    /// `responseParameters`: `method.response.header.X` → source.
    pub parameters: Vec<Mapping>,
    /// `responseTemplates`.
    pub templates: IndexMap<String, Spanned<String>>,
    /// `contentHandling`.
    pub content_handling: Option<ContentHandling>,
    /// Where it is.
    pub span: Span,
}
