//! Lowering: integrations (`x-amazon-apigateway-integration`), their responses, and integration URIs and ARNs.

use super::*;

/// HTTP API subtype integrations (AWS's "Integration subtype reference"): their required
/// parameters, then the optional ones (`Region` is accepted by every subtype). The runtime's
/// table (`runtime/src/aws_service.rs`, `SUBTYPES`) holds the same names with the service
/// field each becomes; the compiler does not link the runtime.
pub(crate) const SUBTYPES: &[(&str, &[&str], &[&str])] = &[
    (
        "SQS-SendMessage",
        &["QueueUrl", "MessageBody"],
        &[
            "DelaySeconds",
            "MessageAttributes",
            "MessageDeduplicationId",
            "MessageGroupId",
            "MessageSystemAttributes",
        ],
    ),
    (
        "SQS-ReceiveMessage",
        &["QueueUrl"],
        &[
            "AttributeNames",
            "MaxNumberOfMessages",
            "MessageAttributeNames",
            "ReceiveRequestAttemptId",
            "VisibilityTimeout",
            "WaitTimeSeconds",
        ],
    ),
    ("SQS-DeleteMessage", &["QueueUrl", "ReceiptHandle"], &[]),
    ("SQS-PurgeQueue", &["QueueUrl"], &[]),
    (
        "EventBridge-PutEvents",
        &["Detail", "DetailType", "Source"],
        &["Time", "EventBusName", "Resources", "TraceHeader"],
    ),
    (
        "Kinesis-PutRecord",
        &["StreamName", "Data", "PartitionKey"],
        &["SequenceNumberForOrdering", "ExplicitHashKey"],
    ),
    (
        "StepFunctions-StartExecution",
        &["StateMachineArn"],
        &["Name", "Input", "TraceHeader"],
    ),
    (
        "StepFunctions-StartSyncExecution",
        &["StateMachineArn"],
        &["Name", "Input", "TraceHeader"],
    ),
    (
        "StepFunctions-StopExecution",
        &["ExecutionArn"],
        &["Cause", "Error"],
    ),
    (
        "AppConfig-GetConfiguration",
        &["Application", "Environment", "Configuration", "ClientId"],
        &["ClientConfigurationVersion"],
    ),
];

impl<'a> Cx<'a> {
    pub(super) fn integration(&mut self, node: &'a Node, ptr: &Pointer) -> Option<Integration> {
        let (node, _) = self.deref(node, ptr)?;
        self.object(
            node,
            "x-amazon-apigateway-integration",
            &[
                "type",
                "uri",
                "httpMethod",
                "credentials",
                "requestParameters",
                "requestTemplates",
                "passthroughBehavior",
                "contentHandling",
                "timeoutInMillis",
                "cacheKeyParameters",
                "cacheNamespace",
                "connectionType",
                "connectionId",
                "integrationTarget",
                "tlsConfig",
                "payloadFormatVersion",
                "integrationSubtype",
                "responseTransferMode",
                "responses",
                "responseParameters",
            ],
            Vocab::Extension,
        )?;
        let Some(tn) = node.get("type") else {
            self.d
                .error(&codes::STRUCTURE, node.span, "an integration needs `type`")
                .help("one of: http_proxy, http, aws_proxy, aws, mock");
            return None;
        };
        let kind = self.one_of(
            tn,
            "integration type",
            &[
                ("aws", IntegrationType::Aws),
                ("aws_proxy", IntegrationType::AwsProxy),
                ("http", IntegrationType::Http),
                ("http_proxy", IntegrationType::HttpProxy),
                ("mock", IntegrationType::Mock),
            ],
        )?;
        let uri = node.get("uri").and_then(|n| {
            let s = self.string(n, "uri")?;
            let u = if self.needs(&s, "the integration uri") {
                self.classify_unrendered(&s)
            } else {
                self.classify_uri(&s)?
            };
            Some(Spanned::new(u, s.span))
        });
        // Subtype (AWS service) integrations of HTTP APIs name their target in parameters.
        if node.get("uri").is_none()
            && kind != IntegrationType::Mock
            && node.get("integrationSubtype").is_none()
        {
            self.d.error(
                &codes::INTEGRATION_COMBINATION,
                node.span,
                format!("a `{}` integration needs a `uri`", kind.as_str()),
            );
        }
        let http_method = node
            .get("httpMethod")
            .and_then(|n| self.string(n, "httpMethod"))
            .map(|s| Spanned::new(s.value.to_ascii_uppercase(), s.span));
        let credentials = node
            .get("credentials")
            .and_then(|n| self.string(n, "credentials"));
        if let Some(c) = &credentials {
            self.needs(c, "the integration credentials");
        }
        let mut request_parameters = Vec::new();
        if let Some(rp) = node.get("requestParameters") {
            request_parameters = self.string_map(rp, "a request parameter");
        }
        for (_, v) in &request_parameters {
            self.needs(v, "a request parameter mapping");
        }
        let request_templates = node
            .get("requestTemplates")
            .map(|t| self.string_map(t, "a request template"))
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k.value, v))
            .collect();
        let passthrough = node
            .get("passthroughBehavior")
            .and_then(|n| {
                self.one_of(
                    n,
                    "passthrough behavior",
                    &[
                        ("when_no_match", Passthrough::WhenNoMatch),
                        ("when_no_templates", Passthrough::WhenNoTemplates),
                        ("never", Passthrough::Never),
                    ],
                )
            })
            .unwrap_or_default();
        let content_handling = node
            .get("contentHandling")
            .and_then(|n| self.content_handling(n));
        let default_timeout = if self.flavor == Flavor::Http {
            30_000
        } else {
            29_000
        };
        let timeout_ms = match node.get("timeoutInMillis") {
            Some(n) => Spanned::new(
                self.integer(n, "timeoutInMillis")
                    .unwrap_or(default_timeout),
                n.span,
            ),
            None => Spanned::new(default_timeout, node.span),
        };
        let cache_key_parameters = node
            .get("cacheKeyParameters")
            .map(|n| self.string_list(n, "a cache key parameter"))
            .unwrap_or_default();
        let cache_namespace = node
            .get("cacheNamespace")
            .and_then(|n| self.string(n, "cacheNamespace"))
            .map(|s| s.value);
        let mut vpc_link = None;
        let connection_id = node
            .get("connectionId")
            .and_then(|n| self.string(n, "connectionId"));
        if let Some(n) = node.get("connectionType") {
            if let Some(is_vpc) = self.one_of(
                n,
                "connection type",
                &[("INTERNET", false), ("VPC_LINK", true)],
            ) {
                if is_vpc {
                    match &connection_id {
                        Some(id) => {
                            self.needs(id, "the VPC link id");
                            vpc_link = Some(id.clone());
                        }
                        None => {
                            self.d
                                .error(&codes::INTEGRATION_COMBINATION, n.span, "a `VPC_LINK` connection needs a `connectionId`")
                                .help("name the VPC link (its id, or `${stageVariables.vpcLinkId}`); the gateway is given its private address with `--vpc-link ID=HOST:PORT`");
                        }
                    }
                }
            }
        }
        // The load balancer behind a VPC link: AWS routes to it; here `--vpc-link` names the
        // address, so the ARN is read and kept for the route table only.
        let integration_target = node
            .get("integrationTarget")
            .and_then(|n| self.string(n, "integrationTarget"));
        let mut tls_insecure_skip_verification = false;
        let mut tls_server_name = None;
        if let Some(t) = node.get("tlsConfig") {
            if self
                .object(
                    t,
                    "tlsConfig",
                    &["insecureSkipVerification", "serverNameToVerify"],
                    Vocab::Extension,
                )
                .is_some()
            {
                tls_insecure_skip_verification = t
                    .get("insecureSkipVerification")
                    .and_then(|b| self.boolean(b, "insecureSkipVerification"))
                    .unwrap_or(false);
                tls_server_name = t
                    .get("serverNameToVerify")
                    .and_then(|s| self.string(s, "serverNameToVerify"))
                    .map(|s| s.value);
            }
        }
        let payload_format_version = node
            .get("payloadFormatVersion")
            .and_then(|n| self.scalar_string(n, "payloadFormatVersion"));
        if let Some(v) = &payload_format_version {
            if v.value != "1.0" && v.value != "2.0" {
                self.d
                    .error(
                        &codes::INVALID_VALUE,
                        v.span,
                        format!("`{}` is not a payload format version", v.value),
                    )
                    .help("use \"1.0\" or \"2.0\"");
            }
        }
        let integration_subtype = node
            .get("integrationSubtype")
            .and_then(|n| self.string(n, "integrationSubtype"));
        if let Some(s) = &integration_subtype {
            match SUBTYPES.iter().find(|(name, _, _)| *name == s.value) {
                None => {
                    let names: Vec<&str> = SUBTYPES.iter().map(|(n, _, _)| *n).collect();
                    let help = match crate::suggest::closest(&s.value, names.iter().copied()) {
                        Some(c) => format!("did you mean `{c}`?"),
                        None => format!("API Gateway's subtypes: {}", names.join(", ")),
                    };
                    self.d
                        .error(
                            &codes::INVALID_VALUE,
                            s.span,
                            format!("`{}` is not an integration subtype", s.value),
                        )
                        .help(help);
                }
                Some((name, required, optional)) => {
                    let given: Vec<&Entry> = node
                        .get("requestParameters")
                        .and_then(Node::as_object)
                        .map(|e| e.iter().collect())
                        .unwrap_or_default();
                    for r in *required {
                        if !given.iter().any(|e| e.key == *r) {
                            self.d
                                .error(
                                    &codes::INVALID_MAPPING,
                                    s.span,
                                    format!("`{name}` needs the request parameter `{r}`"),
                                )
                                .help(format!("add `{r}` to `requestParameters`"));
                        }
                    }
                    for e in given {
                        let known = |k: &str| {
                            k == "Region" || required.contains(&k) || optional.contains(&k)
                        };
                        if !known(&e.key) {
                            let all: Vec<&str> =
                                required.iter().chain(optional.iter()).copied().collect();
                            let help = match crate::suggest::closest(&e.key, all.iter().copied()) {
                                Some(c) => format!("did you mean `{c}`?"),
                                None => format!("its parameters: {}, Region", all.join(", ")),
                            };
                            self.d
                                .error(
                                    &codes::INVALID_MAPPING,
                                    e.key_span,
                                    format!("`{name}` has no request parameter `{}`", e.key),
                                )
                                .help(help);
                        }
                    }
                }
            }
        }
        let stream_response = node.get("responseTransferMode").and_then(|n| {
            let stream = self.one_of(
                n,
                "response transfer mode",
                &[("BUFFERED", false), ("STREAM", true)],
            )?;
            stream.then_some(n.span)
        });
        let mut responses = Vec::new();
        let mut http_response_parameters = IndexMap::new();
        if let Some(r) = node.get("responses") {
            responses = self.integration_responses(r);
        }
        if let Some(rp) = node.get("responseParameters") {
            if let Some(entries) = rp.as_object() {
                for e in entries {
                    http_response_parameters.insert(
                        e.key.clone(),
                        self.string_map(&e.value, "a response parameter"),
                    );
                }
            } else {
                self.type_error(rp, "responseParameters", "an object");
            }
        }
        Some(Integration {
            kind: Spanned::new(kind, tn.span),
            uri,
            http_method,
            credentials,
            request_parameters,
            request_templates,
            passthrough,
            content_handling,
            timeout_ms,
            cache_key_parameters,
            cache_namespace,
            vpc_link,
            integration_target,
            tls_insecure_skip_verification,
            tls_server_name,
            payload_format_version,
            integration_subtype,
            stream_response,
            responses,
            http_response_parameters,
            span: node.span,
        })
    }

    pub(super) fn content_handling(&mut self, n: &Node) -> Option<ContentHandling> {
        self.one_of(
            n,
            "content handling",
            &[
                ("CONVERT_TO_TEXT", ContentHandling::ConvertToText),
                ("CONVERT_TO_BINARY", ContentHandling::ConvertToBinary),
            ],
        )
    }

    pub(super) fn integration_responses(&mut self, node: &'a Node) -> Vec<IntegrationResponse> {
        let Some(entries) = node.as_object() else {
            self.type_error(node, "responses", "an object");
            return Vec::new();
        };
        let mut out = Vec::new();
        for e in entries {
            let n = &e.value;
            if self
                .object(
                    n,
                    "an integration response",
                    &[
                        "statusCode",
                        "responseParameters",
                        "responseTemplates",
                        "contentHandling",
                    ],
                    Vocab::Extension,
                )
                .is_none()
            {
                continue;
            }
            let Some(status) = n
                .get("statusCode")
                .and_then(|s| self.scalar_string(s, "statusCode"))
            else {
                self.d
                    .error(
                        &codes::STRUCTURE,
                        n.span,
                        "an integration response needs `statusCode`",
                    )
                    .label(format!("response for `{}`", e.key));
                continue;
            };
            let pattern = (e.key != "default").then(|| Spanned::new(e.key.clone(), e.key_span));
            let parameters = n
                .get("responseParameters")
                .map(|p| self.string_map(p, "a response parameter"))
                .unwrap_or_default();
            for (_, v) in &parameters {
                self.needs(v, "a response parameter mapping");
            }
            let templates = n
                .get("responseTemplates")
                .map(|t| self.string_map(t, "a response template"))
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k.value, v))
                .collect();
            let content_handling = n
                .get("contentHandling")
                .and_then(|c| self.content_handling(c));
            out.push(IntegrationResponse {
                pattern,
                status,
                parameters,
                templates,
                content_handling,
                span: n.span,
            });
        }
        out
    }

    /// Classifies a uri that still holds placeholders as far as the rest of it tells (an ARN
    /// or URL around `${…}` keeps its kind); what the placeholder would make malformed is not
    /// reported, since the placeholder already is.
    pub(super) fn classify_unrendered(&mut self, s: &Spanned<String>) -> IntegrationUri {
        let v = s.value.trim();
        if v.starts_with("${") {
            return IntegrationUri::Placeholder(v.to_string());
        }
        // `${AWS::Region}` would split an ARN at its colons: classify with them hidden.
        let mut hidden = s.clone();
        for name in crate::placeholders::names_in(&s.value) {
            hidden.value = hidden.value.replace(
                &format!("${{{name}}}"),
                &format!("${{{}}}", name.replace(':', "_")),
            );
        }
        let reported = std::mem::take(self.d);
        let u = self.classify_uri(&hidden);
        *self.d = reported;
        u.unwrap_or_else(|| IntegrationUri::Placeholder(v.to_string()))
    }

    /// Classifies an integration or authorizer uri; malformed ARNs are reported here.
    pub(super) fn classify_uri(&mut self, s: &Spanned<String>) -> Option<IntegrationUri> {
        let v = s.value.trim();
        if v.starts_with("http://") || v.starts_with("https://") {
            return Some(IntegrationUri::Http(v.to_string()));
        }
        if let Some(rest) = v.strip_prefix("arn:") {
            return self.classify_arn(v, rest, s.span);
        }
        // Stage-variable-only URIs (`${stageVariables.url}`) are resolved at run time.
        if v.starts_with("${stageVariables.") {
            return Some(IntegrationUri::Http(v.to_string()));
        }
        if v.starts_with("${") {
            self.d
                .error(&codes::INVALID_URI, s.span, format!("`{v}` is an unrendered template placeholder"))
                .label("placeholder")
                .help("this looks like a Terraform `templatefile` or CloudFormation substitution; check the rendered document (API Gateway only substitutes `${stageVariables.*}` and `${AWS::*}`)");
            return None;
        }
        self.d
            .error(&codes::INVALID_URI, s.span, format!("`{v}` is neither an http(s) URL nor an ARN"))
            .label("invalid uri")
            .help("HTTP backends use a full URL such as `https://backend.example.com/{proxy}`; Lambda uses `arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{functionArn}/invocations`");
        None
    }

    pub(super) fn classify_arn(
        &mut self,
        full: &str,
        rest: &str,
        span: Span,
    ) -> Option<IntegrationUri> {
        // arn:partition:service:region:account:resource
        let parts: Vec<&str> = rest.splitn(5, ':').collect();
        if parts.len() < 5 || parts[0].is_empty() || parts[1].is_empty() {
            self.bad_arn(
                span,
                full,
                "an ARN has the form `arn:partition:service:region:account:resource`",
            );
            return None;
        }
        let (partition, service, region, account, resource) =
            (parts[0], parts[1], parts[2], parts[3], parts[4]);
        if !matches!(
            partition,
            "aws" | "aws-cn" | "aws-us-gov" | "aws-iso" | "aws-iso-b" | "aws-eu"
        ) && !partition.starts_with("${")
        {
            self.bad_arn(
                span,
                full,
                &format!("`{partition}` is not an AWS partition"),
            );
            return None;
        }
        match service {
            "apigateway" => {
                // arn:aws:apigateway:{region}:{service}:{path|action}/{…}
                if region.is_empty() {
                    self.bad_arn(span, full, "the region is missing");
                    return None;
                }
                let svc = account;
                let Some((kind, target)) = resource.split_once('/') else {
                    self.d
                        .error(&codes::INVALID_ARN, span, "AWS ARN for integration must contain path or action")
                        .label("neither `path/` nor `action/`")
                        .help("e.g. `arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{arn}/invocations`");
                    return None;
                };
                if kind != "path" && kind != "action" {
                    self.d
                        .error(
                            &codes::INVALID_ARN,
                            span,
                            "AWS ARN for integration must contain path or action",
                        )
                        .label(format!("`{kind}` is neither"));
                    return None;
                }
                if svc == "lambda" && kind == "path" {
                    let (fun, streaming) =
                        if let Some(r) = target.strip_prefix("2015-03-31/functions/") {
                            (r.strip_suffix("/invocations"), false)
                        } else if let Some(r) = target.strip_prefix("2021-11-15/functions/") {
                            (r.strip_suffix("/response-streaming-invocations"), true)
                        } else {
                            (None, false)
                        };
                    let Some(fun) = fun.filter(|f| !f.is_empty()) else {
                        self.bad_arn(
                            span,
                            full,
                            "a Lambda integration uri ends in `path/2015-03-31/functions/{functionArn}/invocations`",
                        );
                        return None;
                    };
                    if fun.starts_with("arn:") && !fun.contains("${") {
                        self.lambda_function_arn(fun, span)?;
                    }
                    return Some(IntegrationUri::Lambda {
                        region: region.to_string(),
                        function: fun.to_string(),
                        streaming,
                    });
                }
                Some(IntegrationUri::AwsService {
                    region: region.to_string(),
                    service: svc.to_string(),
                    kind: kind.to_string(),
                    target: target.to_string(),
                })
            }
            "lambda" => {
                // HTTP APIs accept a bare function ARN.
                self.lambda_function_arn(full, span)?;
                Some(IntegrationUri::Lambda {
                    region: region.to_string(),
                    function: full.to_string(),
                    streaming: false,
                })
            }
            "elasticloadbalancing" | "servicediscovery" => {
                Some(IntegrationUri::Other(full.to_string()))
            }
            _ => {
                self.bad_arn(
                    span,
                    full,
                    &format!("`{service}` ARNs cannot be integration targets; use an `arn:aws:apigateway:` service ARN"),
                );
                None
            }
        }
    }

    /// `arn:aws:lambda:{region}:{account}:function:{name}[:qualifier]`.
    pub(super) fn lambda_function_arn(&mut self, arn: &str, span: Span) -> Option<()> {
        let parts: Vec<&str> = arn.split(':').collect();
        let ok = parts.len() >= 7
            && parts.len() <= 8
            && parts[2] == "lambda"
            && !parts[3].is_empty()
            && (parts[4].len() == 12 && parts[4].bytes().all(|b| b.is_ascii_digit())
                || parts[4].starts_with("${"))
            && parts[5] == "function"
            && !parts[6].is_empty();
        if ok {
            Some(())
        } else {
            self.bad_arn(span, arn, "a Lambda function ARN is `arn:aws:lambda:{region}:{12-digit account}:function:{name}[:{alias}]`");
            None
        }
    }

    pub(super) fn bad_arn(&mut self, span: Span, arn: &str, why: &str) {
        self.d
            .error(&codes::INVALID_ARN, span, format!("malformed ARN `{arn}`"))
            .label("malformed ARN")
            .help(why.to_string());
    }
}
