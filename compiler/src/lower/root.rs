//! Lowering: the root object: the OpenAPI version, `info`, stages, servers and endpoint types, CORS, documentation and the resource policy.

use super::*;

impl<'a> Cx<'a> {
    /// Accepts OpenAPI 3.0.x only; anything else is one clear diagnostic.
    pub(super) fn version(&mut self, root: &Node) -> bool {
        if root.as_object().is_none() {
            self.type_error(root, "an OpenAPI document", "an object");
            return false;
        }
        let Some(v) = root.get("openapi") else {
            self.d
                .error(
                    &codes::VERSION,
                    Span::new(
                        root.span.file,
                        root.span.start as usize,
                        root.span.start as usize,
                    ),
                    "this is not an OpenAPI document: the root has no `openapi` field",
                )
                .help("an OpenAPI 3.0 document starts with `openapi: 3.0.3`");
            return false;
        };
        let text = match &v.value {
            NodeValue::String(s) => s.clone(),
            NodeValue::Number(n) => n.to_string(),
            _ => String::new(),
        };
        if text.starts_with("3.0") && (text == "3.0" || text.starts_with("3.0.")) {
            return true;
        }
        let msg = if text.starts_with("3.1") {
            format!("OpenAPI {text} is not supported yet; specgate reads OpenAPI 3.0.x")
        } else {
            format!("`openapi: {text}` is not a version specgate reads (OpenAPI 3.0.x)")
        };
        self.d
            .error(&codes::VERSION, v.span, msg)
            .label("unsupported version")
            .help("AWS exports OpenAPI 3.0.1; write `openapi: 3.0.3` if the document uses only 3.0 features");
        false
    }

    pub(super) fn api(&mut self, root: &'a Node, ptr: &Pointer) -> Api {
        // Flavour first: it changes how everything else is read.
        let flavor = self.infer_flavor(root);
        self.flavor = flavor;
        let mut api = Api {
            flavor,
            title: String::new(),
            version: String::new(),
            servers: Vec::new(),
            routes: Vec::new(),
            security_schemes: IndexMap::new(),
            request_validators: IndexMap::new(),
            default_validator: None,
            typed_parameters: false,
            openapi_formats: false,
            typed_bodies: false,
            response_validation: ResponseValidation::Off,
            api_key_source: ApiKeySource::Header,
            binary_media_types: Vec::new(),
            cors: None,
            gateway_responses: IndexMap::new(),
            minimum_compression_size: None,
            policy: None,
            security_policy: None,
            endpoint_access_mode: None,
            schemas: IndexMap::new(),
            documentation_parts: 0,
            stages: Vec::new(),
            usage_plans: Vec::new(),
            unresolved: Vec::new(),
        };
        const ROOT: &[&str] = &[
            "openapi",
            "info",
            "servers",
            "paths",
            "components",
            "security",
            "tags",
            "externalDocs",
            "x-amazon-apigateway-api-key-source",
            "x-amazon-apigateway-binary-media-types",
            "x-amazon-apigateway-cors",
            "x-amazon-apigateway-documentation",
            "x-amazon-apigateway-endpoint-configuration",
            "x-amazon-apigateway-gateway-responses",
            "x-amazon-apigateway-importexport-version",
            "x-amazon-apigateway-minimum-compression-size",
            "x-amazon-apigateway-policy",
            "x-amazon-apigateway-request-validators",
            "x-amazon-apigateway-request-validator",
            "x-amazon-apigateway-endpoint-access-mode",
            "x-amazon-apigateway-security-policy",
            "x-specgate-api-type",
            "x-specgate-stages",
            "x-specgate-usage-plans",
            "x-specgate-validation",
            "x-specgate-websocket",
            "x-specgate-portal",
        ];
        // Swagger 2.0 keys left in an OpenAPI 3.0 document: say where 3.0 keeps them.
        const SWAGGER2: &[(&str, &str)] = &[
            ("definitions", "schemas go under `components.schemas` (and `#/definitions/X` references become `#/components/schemas/X`)"),
            ("securityDefinitions", "security schemes go under `components.securitySchemes`"),
            ("host", "the address goes into `servers: [{url: https://host/basePath}]`"),
            ("basePath", "the base path goes into `servers: [{url: https://host/basePath}]`"),
            ("schemes", "the scheme goes into `servers: [{url: https://host/basePath}]`"),
            ("consumes", "request media types are the keys of each `requestBody.content`"),
            ("produces", "response media types are the keys of each response's `content`"),
        ];
        let mut known = ROOT.to_vec();
        if let Some(entries) = root.as_object() {
            for e in entries {
                if let Some((_, home)) = SWAGGER2.iter().find(|(k, _)| *k == e.key) {
                    known.push(e.key.as_str());
                    self.d
                        .warning(
                            &codes::VERSION,
                            e.key_span,
                            format!("`{}` is Swagger 2.0; this OpenAPI 3.0 document does not read it", e.key),
                        )
                        .label("Swagger 2.0 leftover")
                        .help(format!("in OpenAPI 3.0 {home}; or declare the whole file `swagger: \"2.0\"` if it is one"));
                }
            }
        }
        let Some(entries) = self.object(root, "the OpenAPI object", &known, Vocab::OpenApi) else {
            return api;
        };
        // Unimplemented specgate extensions are errors, never silently dropped.
        for e in entries {
            if let Some((_, false)) = SPECGATE_EXTENSIONS.iter().find(|(n, _)| *n == e.key) {
                self.unsupported(
                    e.key_span,
                    format!("`{}` is not implemented in this version of specgate", e.key),
                    "remove it for now; it is planned (see docs/extensions.md)",
                );
            }
        }
        if let Some(info) = root.get("info") {
            if let Some(t) = info.get("title").and_then(Node::as_str) {
                api.title = t.to_string();
            }
            if let Some(v) = info.get("version") {
                api.version = self
                    .scalar_string(v, "info.version")
                    .map(|s| s.value)
                    .unwrap_or_default();
            }
        }
        if let Some(n) = root.get("x-specgate-stages") {
            api.stages = self.stages(n);
        }
        if let Some(n) = root.get("x-specgate-usage-plans") {
            api.usage_plans = self.usage_plans(n);
        }
        if let Some(n) = root.get("x-specgate-validation") {
            let v = self.specgate_validation(n);
            api.typed_parameters = v.typed_parameters.unwrap_or(false);
            api.openapi_formats = v.openapi_formats.unwrap_or(false);
            api.response_validation = v.responses.unwrap_or_default();
            api.typed_bodies = v.typed_bodies.unwrap_or(false);
        }
        if let Some(n) = root.get("x-amazon-apigateway-importexport-version") {
            if let Some(v) = self.scalar_string(n, "import/export version") {
                if v.value != "1.0" {
                    self.d
                        .error(
                            &codes::INVALID_VALUE,
                            n.span,
                            format!("`{}` is not a valid import/export version", v.value),
                        )
                        .help("the only version is \"1.0\"");
                }
            }
        }
        // Tags may carry x-amazon-apigateway-tag-value.
        {
            for t in self.items_of(root, "tags") {
                if let Some(n) = t.get("x-amazon-apigateway-tag-value") {
                    self.string(n, "x-amazon-apigateway-tag-value");
                }
                self.object(
                    t,
                    "a Tag object",
                    &[
                        "name",
                        "description",
                        "externalDocs",
                        "x-amazon-apigateway-tag-value",
                    ],
                    Vocab::OpenApi,
                );
            }
        }
        if let Some(servers) = root.get("servers") {
            api.servers = self.servers(servers);
        }
        if let Some(n) = root.get("x-amazon-apigateway-endpoint-configuration") {
            // Swagger 2.0 keeps it at the root; OAS 3 inside servers. Accept both.
            self.endpoint_configuration(n);
        }
        if let Some(n) = root.get("x-amazon-apigateway-api-key-source") {
            if let Some(s) = self.one_of(
                n,
                "API key source",
                &[
                    ("HEADER", ApiKeySource::Header),
                    ("AUTHORIZER", ApiKeySource::Authorizer),
                ],
            ) {
                api.api_key_source = s;
            }
            self.rest_only(n.span, "x-amazon-apigateway-api-key-source");
        }
        if let Some(n) = root.get("x-amazon-apigateway-binary-media-types") {
            api.binary_media_types = self.string_list(n, "a binary media type");
            self.rest_only(n.span, "x-amazon-apigateway-binary-media-types");
        }
        if let Some(n) = root.get("x-amazon-apigateway-cors") {
            api.cors = self.cors(n);
        }
        if let Some(n) = root.get("x-amazon-apigateway-documentation") {
            api.documentation_parts = self.documentation(n);
        }
        if let Some(n) = root.get("x-amazon-apigateway-gateway-responses") {
            api.gateway_responses = self.gateway_responses(n);
            self.rest_only(n.span, "x-amazon-apigateway-gateway-responses");
        }
        if let Some(n) = root.get("x-amazon-apigateway-minimum-compression-size") {
            if let Some(v) = self.integer(n, "the minimum compression size") {
                if !(0..=10_485_760).contains(&v) {
                    self.d
                        .error(
                            &codes::INVALID_LIMIT,
                            n.span,
                            "Invalid minimum compression size, must be between 0 and 10485760",
                        )
                        .label(format!("{v} bytes"));
                } else {
                    api.minimum_compression_size = Some(Spanned::new(v as u64, n.span));
                }
            }
        }
        if let Some(n) = root.get("x-amazon-apigateway-policy") {
            self.policy(n);
            api.policy = Some(Spanned::new(n.to_json(), n.span));
        }
        if let Some(n) = root.get("x-amazon-apigateway-request-validators") {
            api.request_validators = self.request_validators(n);
            self.rest_only(n.span, "x-amazon-apigateway-request-validators");
        }
        if let Some(n) = root.get("x-amazon-apigateway-request-validator") {
            api.default_validator = self.string(n, "the default request validator");
        }
        if let Some(n) = root.get("x-amazon-apigateway-security-policy") {
            api.security_policy = self.string(n, "the security policy");
        }
        if let Some(n) = root.get("x-amazon-apigateway-endpoint-access-mode") {
            api.endpoint_access_mode = self.string(n, "the endpoint access mode");
        }
        let components = root.get("components");
        if let Some(c) = components {
            self.object(
                c,
                "the Components object",
                &[
                    "schemas",
                    "responses",
                    "parameters",
                    "examples",
                    "requestBodies",
                    "headers",
                    "securitySchemes",
                    "links",
                    "callbacks",
                    "x-amazon-apigateway-integrations",
                ],
                Vocab::OpenApi,
            );
            {
                for e in self.entries_of(c, "securitySchemes") {
                    let p = ptr.join("components").join("securitySchemes").join(&e.key);
                    if let Some(scheme) = self.security_scheme(&e.key, &e.value, &p) {
                        api.security_schemes.insert(e.key.clone(), scheme);
                    }
                }
            }
            {
                for e in self.entries_of(c, "schemas") {
                    self.schema_tree(&e.value);
                    api.schemas.insert(
                        e.key.clone(),
                        Schema {
                            json: e.value.to_json(),
                            span: e.value.span,
                        },
                    );
                }
            }
            if let Some(n) = c.get("x-amazon-apigateway-integrations") {
                self.http_only(n.span, "x-amazon-apigateway-integrations");
            }
        }
        let default_security = root.get("security").map(|n| (self.security(n), n.span));
        if let Some(paths) = root.get("paths") {
            if let Some(entries) = paths.as_object() {
                for e in entries {
                    let p = ptr.join("paths").join(&e.key);
                    self.path_item(
                        e,
                        &p,
                        &default_security,
                        &api.default_validator,
                        &mut api.routes,
                    );
                }
            } else {
                self.type_error(paths, "`paths`", "an object");
            }
        }
        self.implicit_api_key_scheme(&mut api);
        api
    }

    /// AWS's own samples require API keys with `security: [{api_key: []}]` and no scheme
    /// defined. The name is API Gateway's convention for "API key required" (its exports
    /// define `api_key` as the `x-api-key` header), so such a requirement is read that way,
    /// with a warning. (Whether the importer itself fills the scheme in is not confirmed;
    /// this is the reading consistent with its exports.)
    fn implicit_api_key_scheme(&mut self, api: &mut Api) {
        if api.security_schemes.contains_key("api_key") {
            return;
        }
        let mut first = None;
        for r in &api.routes {
            for req in &r.security {
                for (name, _) in &req.schemes {
                    if name.value == "api_key"
                        && first.is_none_or(|f: Span| name.span.start < f.start)
                    {
                        first = Some(name.span);
                    }
                }
            }
        }
        let Some(span) = first else { return };
        self.d
            .warning(
                &codes::UNKNOWN_SECURITY_SCHEME,
                span,
                "security scheme `api_key` is not defined; it is read as API Gateway's API key (the `x-api-key` header)",
            )
            .label("undefined scheme")
            .help("define it: `api_key: {type: apiKey, name: x-api-key, in: header}` under `components.securitySchemes` (Swagger 2.0: `securityDefinitions`)");
        api.security_schemes.insert(
            "api_key".into(),
            SecurityScheme {
                name: "api_key".into(),
                kind: SchemeKind::ApiKey {
                    location: ParamIn::Header,
                    name: "x-api-key".into(),
                },
                auth_type: None,
                authorizer: None,
                span,
            },
        );
    }

    /// `x-specgate-validation`: `parameters: aws | typed`, `bodies: aws | typed`,
    /// `formats: aws | openapi`, `responses: off | log | strict`.
    pub(super) fn specgate_validation(&mut self, node: &'a Node) -> SpecgateValidation {
        let mut v = SpecgateValidation::default();
        let Some(entries) = self.object(
            node,
            "x-specgate-validation",
            &["parameters", "bodies", "formats", "responses"],
            Vocab::Extension,
        ) else {
            return v;
        };
        for e in entries {
            match e.key.as_str() {
                "parameters" => {
                    v.typed_parameters =
                        self.one_of(&e.value, "parameters", &[("aws", false), ("typed", true)]);
                }
                "bodies" => {
                    v.typed_bodies =
                        self.one_of(&e.value, "bodies", &[("aws", false), ("typed", true)]);
                }
                "formats" => {
                    v.openapi_formats =
                        self.one_of(&e.value, "formats", &[("aws", false), ("openapi", true)]);
                }
                "responses" => {
                    v.responses = self.one_of(
                        &e.value,
                        "responses",
                        &[
                            ("off", ResponseValidation::Off),
                            ("log", ResponseValidation::Log),
                            ("strict", ResponseValidation::Strict),
                        ],
                    );
                }
                _ => {}
            }
        }
        v
    }

    pub(super) fn stages(&mut self, node: &'a Node) -> Vec<Stage> {
        let Some(entries) = node.as_object() else {
            self.type_error(node, "x-specgate-stages", "an object of stages");
            return Vec::new();
        };
        let mut out = Vec::new();
        for e in entries {
            let valid_name = !e.key.is_empty()
                && e.key.len() <= 128
                && e.key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !valid_name && e.key != "$default" {
                self.d
                    .error(
                        &codes::INVALID_VALUE,
                        e.key_span,
                        format!("`{}` is not a valid stage name", e.key),
                    )
                    .help("stage names use letters, digits, `_` and `-` (at most 128)");
                continue;
            }
            const PLANNED: &[&str] = &["throttlingRateLimit", "throttlingBurstLimit"];
            const KNOWN: &[&str] = &[
                "accessLogSetting",
                "tracingEnabled",
                "variables",
                "description",
                "methodSettings",
                "cacheClusterEnabled",
                "cacheClusterSize",
                "defaultRouteSettings",
                "routeSettings",
            ];
            if self
                .object_with_planned(
                    &e.value,
                    "a stage",
                    KNOWN,
                    PLANNED,
                    "stages carry variables, method and route settings, the cache and access logs for now",
                )
                .is_none()
            {
                continue;
            }
            let mut variables = Vec::new();
            for v in self.entries_of(&e.value, "variables") {
                let valid = !v.key.is_empty()
                    && v.key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
                if !valid {
                    self.d
                        .error(
                            &codes::INVALID_VALUE,
                            v.key_span,
                            format!("`{}` is not a valid stage variable name", v.key),
                        )
                        .help("stage variable names use letters, digits and `_`");
                    continue;
                }
                if let Some(val) = self.scalar_string(&v.value, "a stage variable") {
                    variables.push((v.key.clone(), val.value));
                }
            }
            let (mut method_throttles, method_caching, mut detailed_metrics, execution_logs) =
                match e.value.get("methodSettings") {
                    Some(m) => self.method_settings(m),
                    None => (Vec::new(), Vec::new(), Vec::new(), Vec::new()),
                };
            // HTTP APIs: `defaultRouteSettings` and `routeSettings` ("GET /pets"), read as
            // the method settings `*/*` and `/pets/GET`.
            let (route_throttles, route_metrics) = self.route_settings(&e.value);
            method_throttles.extend(route_throttles);
            detailed_metrics.extend(route_metrics);
            if let Some(t) = e.value.get("tracingEnabled") {
                // X-Ray trace headers are always accepted, started and passed on.
                self.boolean(t, "tracingEnabled");
            }
            let access_log_format = e.value.get("accessLogSetting").and_then(|a| {
                self.object(
                    a,
                    "accessLogSetting",
                    &["format", "destinationArn"],
                    Vocab::Extension,
                )?;
                if let Some(d) = a.get("destinationArn") {
                    // The destination is the gateway's own (stdout or `--access-log-file`).
                    self.string(d, "destinationArn");
                }
                a.get("format").and_then(|f| self.string(f, "format"))
            });
            let cache_cluster = e
                .value
                .get("cacheClusterEnabled")
                .and_then(|n| self.boolean(n, "cacheClusterEnabled"))
                .unwrap_or(false);
            // API Gateway's smallest cache, 0.5 GB, unless a size is given.
            let cache_size_mb = e
                .value
                .get("cacheClusterSize")
                .and_then(|n| self.cache_size(n))
                .unwrap_or(512);
            out.push(Stage {
                name: e.key.clone(),
                variables,
                method_throttles,
                method_caching,
                cache_cluster,
                cache_size_mb,
                access_log_format,
                detailed_metrics,
                execution_logs,
                span: e.key_span,
            });
        }
        out
    }

    pub(super) fn rest_only(&mut self, span: Span, what: &str) {
        if self.flavor == Flavor::Http {
            self.d
                .warning(
                    &codes::FLAVOUR_MISMATCH,
                    span,
                    format!("`{what}` applies to REST APIs; this is an HTTP API, which ignores it"),
                )
                .help("remove it, or set `x-specgate-api-type: rest` if this is a REST API");
        }
    }

    pub(super) fn http_only(&mut self, span: Span, what: &str) {
        if self.flavor == Flavor::Rest {
            self.d
                .warning(
                    &codes::FLAVOUR_MISMATCH,
                    span,
                    format!("`{what}` applies to HTTP APIs; this is a REST API, which ignores it"),
                )
                .help("set `x-specgate-api-type: http` if this is an HTTP API");
        }
    }

    pub(super) fn servers(&mut self, node: &'a Node) -> Vec<Server> {
        // A single Server object where a list belongs is read as one (API Gateway accepts
        // it; the structure pass warns).
        let items = match node.as_array() {
            Some(items) => items,
            None if node.as_object().is_some() => std::slice::from_ref(node),
            None => {
                self.type_error(node, "`servers`", "an array");
                return Vec::new();
            }
        };
        let mut out = Vec::new();
        for s in items {
            if self
                .object(
                    s,
                    "a Server object",
                    &[
                        "url",
                        "description",
                        "variables",
                        "x-amazon-apigateway-endpoint-configuration",
                    ],
                    Vocab::OpenApi,
                )
                .is_none()
            {
                continue;
            }
            let Some(url) = s.get("url").and_then(|u| self.string(u, "a server url")) else {
                continue;
            };
            let mut variables = IndexMap::new();
            {
                for v in self.entries_of(s, "variables") {
                    if let Some(d) = v
                        .value
                        .get("default")
                        .and_then(|d| self.scalar_string(d, "a server variable default"))
                    {
                        variables.insert(v.key.clone(), d.value);
                    }
                }
            }
            let endpoint_configuration = s
                .get("x-amazon-apigateway-endpoint-configuration")
                .and_then(|n| self.endpoint_configuration(n));
            let base_path = base_path_of(&url.value, &variables);
            out.push(Server {
                url: url.value,
                base_path,
                variables,
                endpoint_configuration,
                span: s.span,
            });
        }
        out
    }

    pub(super) fn endpoint_configuration(
        &mut self,
        node: &'a Node,
    ) -> Option<EndpointConfiguration> {
        self.object(
            node,
            "x-amazon-apigateway-endpoint-configuration",
            &[
                "disableExecuteApiEndpoint",
                "vpcEndpointIds",
                "ipAddressType",
            ],
            Vocab::Extension,
        )?;
        let mut c = EndpointConfiguration::default();
        if let Some(n) = node.get("disableExecuteApiEndpoint") {
            c.disable_execute_api_endpoint = self
                .boolean(n, "disableExecuteApiEndpoint")
                .unwrap_or(false);
        }
        if let Some(n) = node.get("vpcEndpointIds") {
            c.vpc_endpoint_ids = self
                .string_list(n, "a VPC endpoint id")
                .into_iter()
                .map(|s| s.value)
                .collect();
            if !c.vpc_endpoint_ids.is_empty() {
                self.unsupported(
                    n.span,
                    "VPC endpoints exist only inside AWS",
                    "a self-hosted gateway is private by where it listens: use `--listen` on a private address and remove `vpcEndpointIds`",
                );
            }
        }
        if let Some(n) = node.get("ipAddressType") {
            c.ip_address_type = self
                .one_of(
                    n,
                    "IP address type",
                    &[("ipv4", "ipv4"), ("dualstack", "dualstack")],
                )
                .map(str::to_string);
        }
        Some(c)
    }

    pub(super) fn cors(&mut self, node: &'a Node) -> Option<Cors> {
        self.http_only(node.span, "x-amazon-apigateway-cors");
        self.object(
            node,
            "x-amazon-apigateway-cors",
            &[
                "allowOrigins",
                "allowCredentials",
                "exposeHeaders",
                "maxAge",
                "allowMethods",
                "allowHeaders",
            ],
            Vocab::Extension,
        )?;
        let mut c = Cors {
            span: node.span,
            ..Cors::default()
        };
        let list = |cx: &mut Self, k: &str| {
            node.get(k)
                .map(|n| cx.string_list(n, k).into_iter().map(|s| s.value).collect())
                .unwrap_or_default()
        };
        c.allow_origins = list(self, "allowOrigins");
        c.expose_headers = list(self, "exposeHeaders");
        c.allow_methods = list(self, "allowMethods");
        c.allow_headers = list(self, "allowHeaders");
        if let Some(n) = node.get("allowCredentials") {
            c.allow_credentials = self.boolean(n, "allowCredentials").unwrap_or(false);
        }
        if let Some(n) = node.get("maxAge") {
            c.max_age = self.integer(n, "maxAge");
            if let Some(m) = c.max_age {
                if !(0..=86400).contains(&m) {
                    self.d
                        .error(
                            &codes::INVALID_LIMIT,
                            n.span,
                            "maxAge must be between 0 and 86400 seconds",
                        )
                        .label(format!("{m}"));
                }
            }
        }
        if c.allow_credentials && c.allow_origins.iter().any(|o| o == "*") {
            self.d
                .error(
                    &codes::INVALID_VALUE,
                    node.span,
                    "allowCredentials cannot be true when allowOrigins contains `*`",
                )
                .help("list the allowed origins explicitly; browsers reject credentials with a wildcard origin");
        }
        Some(c)
    }

    pub(super) fn documentation(&mut self, node: &'a Node) -> usize {
        self.rest_only(node.span, "x-amazon-apigateway-documentation");
        if self
            .object(
                node,
                "x-amazon-apigateway-documentation",
                &["version", "createdDate", "documentationParts"],
                Vocab::Extension,
            )
            .is_none()
        {
            return 0;
        }
        let Some(parts) = node.get("documentationParts") else {
            return 0;
        };
        let Some(items) = parts.as_array() else {
            self.type_error(parts, "documentationParts", "an array");
            return 0;
        };
        for p in items {
            if self
                .object(
                    p,
                    "a documentation part",
                    &["location", "properties"],
                    Vocab::Extension,
                )
                .is_none()
            {
                continue;
            }
            if let Some(loc) = p.get("location") {
                if self
                    .object(
                        loc,
                        "a documentation part location",
                        &["type", "path", "method", "statusCode", "name"],
                        Vocab::Extension,
                    )
                    .is_some()
                {
                    if let Some(t) = loc.get("type") {
                        const TYPES: &[(&str, ())] = &[
                            ("API", ()),
                            ("AUTHORIZER", ()),
                            ("MODEL", ()),
                            ("RESOURCE", ()),
                            ("METHOD", ()),
                            ("PATH_PARAMETER", ()),
                            ("QUERY_PARAMETER", ()),
                            ("REQUEST_HEADER", ()),
                            ("REQUEST_BODY", ()),
                            ("RESPONSE", ()),
                            ("RESPONSE_HEADER", ()),
                            ("RESPONSE_BODY", ()),
                        ];
                        self.one_of(t, "documentation location type", TYPES);
                    }
                }
            }
        }
        items.len()
    }

    pub(super) fn policy(&mut self, node: &'a Node) {
        self.rest_only(node.span, "x-amazon-apigateway-policy");
        if self
            .object(
                node,
                "a resource policy",
                &["Version", "Id", "Statement"],
                Vocab::Extension,
            )
            .is_none()
        {
            return;
        }
        let Some(st) = node.get("Statement") else {
            self.d.error(
                &codes::INVALID_VALUE,
                node.span,
                "a resource policy needs a `Statement`",
            );
            return;
        };
        let statements: Vec<&Node> = match &st.value {
            NodeValue::Array(a) => a.iter().collect(),
            NodeValue::Object(_) => vec![st],
            _ => {
                self.type_error(st, "Statement", "an object or array");
                return;
            }
        };
        for s in statements {
            if self
                .object(
                    s,
                    "a policy statement",
                    &[
                        "Sid",
                        "Effect",
                        "Principal",
                        "NotPrincipal",
                        "Action",
                        "NotAction",
                        "Resource",
                        "NotResource",
                        "Condition",
                    ],
                    Vocab::Extension,
                )
                .is_none()
            {
                continue;
            }
            match s.get("Effect") {
                Some(e) => {
                    self.one_of(e, "policy Effect", &[("Allow", ()), ("Deny", ())]);
                }
                None => {
                    self.d.error(
                        &codes::INVALID_VALUE,
                        s.span,
                        "a policy statement needs `Effect: Allow` or `Effect: Deny`",
                    );
                }
            }
            self.policy_statement(s);
        }
    }

    /// What the gateway evaluates in a resource-policy statement (`runtime/src/policy.rs`
    /// reads the same): principals, API Gateway actions, API resources, and conditions with
    /// operators and keys it can evaluate. Anything else is an error: a policy that cannot
    /// be evaluated must not build.
    fn policy_statement(&mut self, s: &'a Node) {
        let pair = |yes: &str, no: &str| (s.get(yes), s.get(no));
        for (yes, no) in [
            ("Principal", "NotPrincipal"),
            ("Action", "NotAction"),
            ("Resource", "NotResource"),
        ] {
            match pair(yes, no) {
                (Some(_), Some(n)) => {
                    self.d.error(
                        &codes::INVALID_VALUE,
                        n.span,
                        format!("`{yes}` and `{no}` exclude each other"),
                    );
                }
                (None, None) => {
                    self.d
                        .error(
                            &codes::INVALID_VALUE,
                            s.span,
                            format!("a resource policy statement needs `{yes}` or `{no}`"),
                        )
                        .help(match yes {
                            "Principal" => "`Principal: \"*\"` for anyone, `{AWS: [account ids or ARNs]}` for some",
                            "Action" => "`Action: execute-api:Invoke`",
                            _ => "`Resource: execute-api:/*` (every stage, method and path)",
                        });
                }
                _ => {}
            }
        }
        if let Some(p) = s.get("Principal").or_else(|| s.get("NotPrincipal")) {
            match &p.value {
                NodeValue::String(v) if v == "*" => {}
                NodeValue::Object(entries) => {
                    for e in entries {
                        if e.key != "AWS" {
                            self.d
                                .error(
                                    &codes::INVALID_VALUE,
                                    e.key_span,
                                    format!("principal type `{}` cannot call an API", e.key),
                                )
                                .help("callers sign requests as `AWS` principals: `{AWS: [\"123456789012\", \"arn:aws:iam::123456789012:user/alice\"]}`");
                            continue;
                        }
                        for v in self.policy_values(&e.value, "AWS") {
                            let ok = v.value == "*"
                                || (v.value.len() == 12
                                    && v.value.bytes().all(|b| b.is_ascii_digit()))
                                || v.value.starts_with("arn:aws:iam::")
                                || v.value.starts_with("arn:aws:sts::")
                                || !crate::placeholders::names_in(&v.value).is_empty();
                            if !ok {
                                self.d.error(
                                    &codes::INVALID_VALUE,
                                    v.span,
                                    format!(
                                        "principal `{}` is not an account id or an IAM ARN",
                                        v.value
                                    ),
                                );
                            }
                        }
                    }
                }
                _ => {
                    self.type_error(p, "Principal", "\"*\" or an object like {AWS: …}");
                }
            }
        }
        if let Some(a) = s.get("Action").or_else(|| s.get("NotAction")) {
            for v in self.policy_values(a, "Action") {
                let service = v.value.split(':').next().unwrap_or("");
                if v.value != "*" && !service.eq_ignore_ascii_case("execute-api") {
                    self.d
                        .error(
                            &codes::INVALID_VALUE,
                            v.span,
                            format!("`{}` is not an API Gateway action", v.value),
                        )
                        .help("`execute-api:Invoke`, `execute-api:InvalidateCache` or `execute-api:*`");
                }
            }
        }
        if let Some(r) = s.get("Resource").or_else(|| s.get("NotResource")) {
            for v in self.policy_values(r, "Resource") {
                if !(v.value == "*"
                    || v.value.starts_with("arn:")
                    || v.value.starts_with("execute-api:"))
                {
                    self.d
                        .error(
                            &codes::INVALID_VALUE,
                            v.span,
                            format!("resource `{}` is not an ARN or `execute-api:/…`", v.value),
                        )
                        .help("`execute-api:/{stage}/{METHOD}/{path}`, wildcards allowed: `execute-api:/*/GET/pets/*`");
                }
            }
        }
        let Some(c) = s.get("Condition") else {
            return;
        };
        let Some(ops) = c.as_object() else {
            self.type_error(c, "Condition", "an object of operators");
            return;
        };
        for op in ops {
            let base = match op.key.split_once(':') {
                Some((q, b)) if q == "ForAnyValue" || q == "ForAllValues" => b,
                Some(_) => "",
                None => op.key.as_str(),
            };
            let name = base
                .strip_suffix("IfExists")
                .filter(|b| *b != "Null")
                .unwrap_or(base);
            if !POLICY_OPERATORS.contains(&name) {
                let help = match crate::suggest::closest(name, POLICY_OPERATORS.iter().copied()) {
                    Some(c) => format!("did you mean `{c}`?"),
                    None => "the IAM condition operators: StringEquals, StringLike, IpAddress, NotIpAddress, DateLessThan, Bool, ArnLike, Null, … (with `IfExists`, `ForAnyValue:`, `ForAllValues:`)".into(),
                };
                self.d
                    .error(
                        &codes::INVALID_VALUE,
                        op.key_span,
                        format!(
                            "`{}` is not a condition operator the gateway can evaluate",
                            op.key
                        ),
                    )
                    .help(help);
                continue;
            }
            let Some(keys) = op.value.as_object() else {
                self.type_error(&op.value, &op.key, "an object of condition keys");
                continue;
            };
            for k in keys {
                if !POLICY_KEYS.contains(&k.key.to_ascii_lowercase().as_str()) {
                    self.d
                        .error(
                            &codes::INVALID_VALUE,
                            k.key_span,
                            format!("condition key `{}` is not one the gateway can evaluate", k.key),
                        )
                        .help("aws:SourceIp, aws:SourceVpc, aws:SourceVpce, aws:VpcSourceIp, aws:PrincipalArn, aws:PrincipalAccount, aws:PrincipalType, aws:PrincipalOrgID, aws:userid, aws:username, aws:CurrentTime, aws:EpochTime, aws:SecureTransport, aws:UserAgent, aws:Referer, aws:RequestedRegion");
                    continue;
                }
                if name.ends_with("IpAddress") {
                    for v in self.policy_values(&k.value, &k.key) {
                        if !valid_cidr(&v.value) {
                            self.d.error(
                                &codes::INVALID_VALUE,
                                v.span,
                                format!("`{}` is not an IP address or CIDR block", v.value),
                            );
                        }
                    }
                }
            }
        }
    }

    /// A policy field's values (a string or a list of strings).
    fn policy_values(&mut self, n: &'a Node, what: &str) -> Vec<Spanned<String>> {
        match &n.value {
            NodeValue::String(v) => vec![Spanned::new(v.clone(), n.span)],
            NodeValue::Array(items) => items
                .iter()
                .filter_map(|i| match &i.value {
                    NodeValue::String(v) => Some(Spanned::new(v.clone(), i.span)),
                    NodeValue::Bool(b) => Some(Spanned::new(b.to_string(), i.span)),
                    NodeValue::Number(x) => Some(Spanned::new(x.to_string(), i.span)),
                    _ => {
                        self.type_error(i, what, "a string");
                        None
                    }
                })
                .collect(),
            NodeValue::Bool(b) => vec![Spanned::new(b.to_string(), n.span)],
            NodeValue::Number(x) => vec![Spanned::new(x.to_string(), n.span)],
            _ => {
                self.type_error(n, what, "a string or a list of strings");
                Vec::new()
            }
        }
    }
}

/// The IAM condition operators the gateway evaluates (`runtime/src/policy.rs`, `OPERATORS`;
/// the compiler does not link the runtime, `codegen-tests/tests/policy_lists.rs` keeps the
/// two equal).
pub const POLICY_OPERATORS: &[&str] = &[
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
    "NumericEquals",
    "NumericNotEquals",
    "NumericLessThan",
    "NumericLessThanEquals",
    "NumericGreaterThan",
    "NumericGreaterThanEquals",
    "DateEquals",
    "DateNotEquals",
    "DateLessThan",
    "DateLessThanEquals",
    "DateGreaterThan",
    "DateGreaterThanEquals",
    "Bool",
    "BinaryEquals",
    "IpAddress",
    "NotIpAddress",
    "ArnEquals",
    "ArnLike",
    "ArnNotEquals",
    "ArnNotLike",
    "Null",
];

/// The condition keys the gateway supplies, lower case (`runtime/src/policy.rs`, `KEYS`;
/// kept equal by `codegen-tests/tests/policy_lists.rs`).
pub const POLICY_KEYS: &[&str] = &[
    "aws:sourceip",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:vpcsourceip",
    "aws:principalarn",
    "aws:principalaccount",
    "aws:principaltype",
    "aws:principalorgid",
    "aws:userid",
    "aws:username",
    "aws:currenttime",
    "aws:epochtime",
    "aws:securetransport",
    "aws:useragent",
    "aws:referer",
    "aws:requestedregion",
    "execute-api:stage",
];

/// An IP address or a CIDR block (`10.0.0.0/8`, `2001:db8::/32`).
fn valid_cidr(v: &str) -> bool {
    let (ip, bits) = match v.split_once('/') {
        Some((ip, bits)) => (ip, Some(bits)),
        None => (v, None),
    };
    let Ok(ip) = ip.parse::<std::net::IpAddr>() else {
        return false;
    };
    let max = if ip.is_ipv4() { 32 } else { 128 };
    bits.is_none_or(|b| b.parse::<u8>().is_ok_and(|b| b <= max))
}
