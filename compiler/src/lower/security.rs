//! Lowering: security schemes, authorizers (`x-amazon-apigateway-authorizer`) and `security` requirements.

use super::*;

impl<'a> Cx<'a> {
    pub(super) fn security_scheme(
        &mut self,
        name: &str,
        node: &'a Node,
        ptr: &Pointer,
    ) -> Option<SecurityScheme> {
        let (node, _) = self.deref(node, ptr)?;
        self.object(
            node,
            "a Security Scheme object",
            &[
                "type",
                "description",
                "name",
                "in",
                "scheme",
                "bearerFormat",
                "flows",
                "openIdConnectUrl",
                "x-amazon-apigateway-authtype",
                "x-amazon-apigateway-authorizer",
            ],
            Vocab::OpenApi,
        )?;
        let t = node.get("type");
        let kind = match t.and_then(Node::as_str) {
            Some("apiKey") => {
                let location = node
                    .get("in")
                    .and_then(|n| {
                        self.one_of(
                            n,
                            "apiKey location",
                            &[
                                ("header", ParamIn::Header),
                                ("query", ParamIn::Query),
                                ("cookie", ParamIn::Cookie),
                            ],
                        )
                    })
                    .unwrap_or(ParamIn::Header);
                let pname = node
                    .get("name")
                    .and_then(|n| self.string(n, "the apiKey name"))
                    .map(|s| s.value)
                    .unwrap_or_default();
                SchemeKind::ApiKey {
                    location,
                    name: pname,
                }
            }
            Some("http") => SchemeKind::Http {
                scheme: node
                    .get("scheme")
                    .and_then(Node::as_str)
                    .unwrap_or("")
                    .to_ascii_lowercase(),
            },
            Some("oauth2") => SchemeKind::OAuth2,
            Some("openIdConnect") => SchemeKind::OpenIdConnect {
                url: node
                    .get("openIdConnectUrl")
                    .and_then(Node::as_str)
                    .unwrap_or("")
                    .to_string(),
            },
            _ => {
                let span = t.map(|t| t.span).unwrap_or(node.span);
                self.d.error(
                    &codes::STRUCTURE,
                    span,
                    "a security scheme needs `type`: apiKey, http, oauth2 or openIdConnect",
                );
                return None;
            }
        };
        let auth_type = node
            .get("x-amazon-apigateway-authtype")
            .and_then(|n| self.string(n, "x-amazon-apigateway-authtype"))
            .map(|s| s.value);
        let authorizer = node
            .get("x-amazon-apigateway-authorizer")
            .and_then(|n| self.authorizer(n, &kind));
        Some(SecurityScheme {
            name: name.to_string(),
            kind,
            auth_type,
            authorizer,
            span: node.span,
        })
    }

    pub(super) fn authorizer(&mut self, node: &'a Node, scheme: &SchemeKind) -> Option<Authorizer> {
        self.object(
            node,
            "x-amazon-apigateway-authorizer",
            &[
                "type",
                "authorizerUri",
                "authorizerCredentials",
                "identitySource",
                "identityValidationExpression",
                "authorizerResultTtlInSeconds",
                "providerARNs",
                "authorizerPayloadFormatVersion",
                "enableSimpleResponses",
                "jwtConfiguration",
            ],
            Vocab::Extension,
        )?;
        let Some(tn) = node.get("type") else {
            self.d
                .error(&codes::AUTHORIZER, node.span, "an authorizer needs `type`")
                .help("one of: token, request, cognito_user_pools (REST); request, jwt (HTTP)");
            return None;
        };
        let kind = self.one_of(
            tn,
            "authorizer type",
            &[
                ("token", AuthorizerKind::Token),
                ("request", AuthorizerKind::Request),
                ("cognito_user_pools", AuthorizerKind::CognitoUserPools),
                ("jwt", AuthorizerKind::Jwt),
            ],
        )?;
        match (kind, self.flavor) {
            (AuthorizerKind::Jwt, Flavor::Rest) => {
                self.d
                    .error(&codes::FLAVOUR_MISMATCH, tn.span, "`jwt` authorizers belong to HTTP APIs")
                    .help("REST APIs verify JWTs with `cognito_user_pools`, or mark the API as an HTTP API with `x-specgate-api-type: http`");
            }
            (AuthorizerKind::Token | AuthorizerKind::CognitoUserPools, Flavor::Http) => {
                self.d.error(
                    &codes::FLAVOUR_MISMATCH,
                    tn.span,
                    format!(
                        "`{}` authorizers belong to REST APIs; HTTP APIs have `request` and `jwt`",
                        kind_name(kind)
                    ),
                );
            }
            _ => {}
        }
        let uri = node.get("authorizerUri").and_then(|n| {
            let s = self.string(n, "authorizerUri")?;
            let u = if self.needs(&s, "the authorizer uri") {
                self.classify_unrendered(&s)
            } else {
                self.classify_uri(&s)?
            };
            Some(Spanned::new(u, s.span))
        });
        if node.get("authorizerUri").is_none()
            && matches!(kind, AuthorizerKind::Token | AuthorizerKind::Request)
        {
            self.d.error(
                &codes::AUTHORIZER,
                node.span,
                "this Lambda authorizer needs an `authorizerUri` (the function to call)",
            );
        }
        let credentials = node
            .get("authorizerCredentials")
            .and_then(|n| self.string(n, "authorizerCredentials"));
        if let Some(c) = &credentials {
            self.needs(c, "the authorizer credentials");
        }
        let identity_source: Vec<Spanned<String>> = match node.get("identitySource") {
            Some(n) => match &n.value {
                // HTTP exports write a comma-separated string; the v2 API takes a list.
                NodeValue::Array(_) => self.string_list(n, "an identity source"),
                _ => self
                    .string(n, "identitySource")
                    .map(|s| {
                        s.value
                            .split(',')
                            .map(|p| p.trim())
                            .filter(|p| !p.is_empty())
                            .map(|p| Spanned::new(p.to_string(), self.sub_span(s.span, p)))
                            .collect()
                    })
                    .unwrap_or_default(),
            },
            None => match (kind, scheme) {
                // TOKEN and Cognito authorizers read the scheme's header.
                (
                    AuthorizerKind::Token | AuthorizerKind::CognitoUserPools,
                    SchemeKind::ApiKey { name, .. },
                ) => {
                    vec![Spanned::new(
                        format!("method.request.header.{name}"),
                        node.span,
                    )]
                }
                (AuthorizerKind::Jwt, _) => vec![Spanned::new(
                    "$request.header.Authorization".into(),
                    node.span,
                )],
                _ => Vec::new(),
            },
        };
        let identity_validation_expression = node
            .get("identityValidationExpression")
            .and_then(|n| self.string(n, "identityValidationExpression"));
        let ttl = match node.get("authorizerResultTtlInSeconds") {
            Some(n) => Spanned::new(
                self.integer(n, "authorizerResultTtlInSeconds")
                    .unwrap_or(300),
                n.span,
            ),
            None => Spanned::new(300, node.span),
        };
        let provider_arns = node
            .get("providerARNs")
            .map(|n| self.string_list(n, "a provider ARN"))
            .unwrap_or_default();
        for p in &provider_arns {
            self.needs(p, "the Cognito user pool ARN");
        }
        let payload_format_version = node
            .get("authorizerPayloadFormatVersion")
            .and_then(|n| self.scalar_string(n, "authorizerPayloadFormatVersion"));
        let enable_simple_responses = node
            .get("enableSimpleResponses")
            .and_then(|n| self.boolean(n, "enableSimpleResponses"))
            .unwrap_or(false);
        let jwt = node.get("jwtConfiguration").and_then(|n| {
            self.object(
                n,
                "jwtConfiguration",
                &["issuer", "audience"],
                Vocab::Extension,
            )?;
            let issuer = match n.get("issuer") {
                Some(i) => {
                    let issuer = self.string(i, "issuer")?;
                    self.needs(&issuer, "the JWT issuer");
                    issuer
                }
                None => {
                    self.d.error(
                        &codes::AUTHORIZER,
                        n.span,
                        "jwtConfiguration needs an `issuer`",
                    );
                    return None;
                }
            };
            let audience = n
                .get("audience")
                .map(|a| {
                    self.string_list(a, "an audience")
                        .into_iter()
                        .map(|s| s.value)
                        .collect()
                })
                .unwrap_or_default();
            Some(JwtConfiguration { issuer, audience })
        });
        Some(Authorizer {
            kind,
            uri,
            credentials,
            identity_source,
            identity_validation_expression,
            result_ttl_seconds: ttl,
            provider_arns,
            payload_format_version,
            enable_simple_responses,
            jwt,
            span: node.span,
        })
    }

    pub(super) fn security(&mut self, node: &'a Node) -> Vec<SecurityRequirement> {
        let Some(items) = node.as_array() else {
            self.type_error(node, "`security`", "an array of security requirements");
            return Vec::new();
        };
        let mut out = Vec::new();
        for req in items {
            let Some(entries) = req.as_object() else {
                self.type_error(req, "a security requirement", "an object");
                continue;
            };
            let schemes = entries
                .iter()
                .map(|e| {
                    let scopes = self
                        .string_list(&e.value, "a scope")
                        .into_iter()
                        .map(|s| s.value)
                        .collect();
                    (Spanned::new(e.key.clone(), e.key_span), scopes)
                })
                .collect();
            out.push(SecurityRequirement { schemes });
        }
        out
    }
}
