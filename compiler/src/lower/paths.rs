//! Lowering: paths, operations, parameters and request bodies.

use super::*;

impl<'a> Cx<'a> {
    pub(super) fn path_item(
        &mut self,
        entry: &'a Entry,
        ptr: &Pointer,
        default_security: &Option<(Vec<SecurityRequirement>, Span)>,
        default_validator: &Option<Spanned<String>>,
        routes: &mut Vec<Route>,
    ) {
        let Some((item, item_ptr)) = self.deref(&entry.value, ptr) else {
            return;
        };
        let Some(path) = self.path_template(&entry.key, entry.key_span) else {
            return;
        };
        let mut known: Vec<&str> = vec![
            "summary",
            "description",
            "servers",
            "parameters",
            "$ref",
            "x-amazon-apigateway-any-method",
        ];
        known.extend(OPERATION_METHODS.iter().map(|(m, _)| *m));
        if self
            .object(item, "a Path Item object", &known, Vocab::OpenApi)
            .is_none()
        {
            return;
        }
        let common = item
            .get("parameters")
            .map(|n| self.parameters(n, &item_ptr.join("parameters")))
            .unwrap_or_default();
        let mut ops: Vec<(&str, Method)> = OPERATION_METHODS.to_vec();
        ops.push(("x-amazon-apigateway-any-method", Method::Any));
        for (key, method) in ops {
            let Some(op_entry) = item.entry(key) else {
                continue;
            };
            let op_ptr = item_ptr.join(key);
            if method == Method::Trace {
                self.unsupported(
                    op_entry.key_span,
                    "API Gateway does not route TRACE",
                    "remove the `trace` operation",
                );
                continue;
            }
            if let Some(r) = self.operation(
                op_entry,
                &op_ptr,
                method,
                &path,
                entry.key_span,
                &common,
                default_security,
                default_validator,
            ) {
                routes.push(r);
            }
        }
    }

    /// Parses a path template and reports what API Gateway would reject.
    pub(super) fn path_template(&mut self, raw: &str, span: Span) -> Option<PathTemplate> {
        if raw == "/$default" {
            return Some(PathTemplate {
                raw: raw.to_string(),
                segments: Vec::new(),
                is_default: true,
            });
        }
        if !raw.starts_with('/') {
            self.d
                .error(
                    &codes::INVALID_PATH,
                    span,
                    format!("path `{raw}` must start with `/`"),
                )
                .label("invalid path");
            return None;
        }
        let mut segments = Vec::new();
        let body = &raw[1..];
        let parts: Vec<&str> = if body.is_empty() {
            Vec::new()
        } else {
            body.split('/').collect()
        };
        let mut ok = true;
        for (i, part) in parts.iter().enumerate() {
            if part.is_empty() {
                let msg = if i + 1 == parts.len() {
                    format!("path `{raw}` ends with `/`; API Gateway paths have no trailing slash")
                } else {
                    format!("path `{raw}` has an empty segment (`//`)")
                };
                self.d
                    .error(&codes::INVALID_PATH, span, msg)
                    .label("invalid path");
                ok = false;
                continue;
            }
            if let Some(inner) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                let (name, greedy) = match inner.strip_suffix('+') {
                    Some(n) => (n, true),
                    None => (inner, false),
                };
                if inner.contains(['{', '}']) {
                    self.d
                        .error(&codes::INVALID_PATH, span, format!("segment `{part}` mixes text and parameters"))
                        .label("invalid segment")
                        .help("API Gateway path parameters must be whole segments, like `/compare/{basehead}`");
                    ok = false;
                    continue;
                }
                if name.is_empty()
                    || !name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
                {
                    self.d
                        .error(
                            &codes::INVALID_PATH,
                            span,
                            format!("`{{{inner}}}` is not a valid path parameter name"),
                        )
                        .help("names use letters, digits, `_`, `-` and `.`");
                    ok = false;
                    continue;
                }
                if greedy && i + 1 != parts.len() {
                    self.d
                        .error(&codes::GREEDY_NOT_LAST, span, format!("`{{{inner}}}` must be the last segment of `{raw}`"))
                        .label("greedy parameter in the middle")
                        .help("a greedy parameter matches the rest of the path, so nothing can follow it");
                    ok = false;
                    continue;
                }
                segments.push(if greedy {
                    Segment::Greedy(name.into())
                } else {
                    Segment::Param(name.into())
                });
            } else if part.contains(['{', '}']) {
                self.d
                    .error(
                        &codes::INVALID_PATH,
                        span,
                        format!("segment `{part}` mixes text and a parameter"),
                    )
                    .label("invalid segment")
                    .help(
                        "API Gateway path parameters must be whole segments, like `/files/{name}`",
                    );
                ok = false;
            } else if let Some(bad) = part
                .chars()
                .find(|c| !(c.is_ascii_alphanumeric() || "_-.,:".contains(*c)))
            {
                // API Gateway allows only [A-Za-z0-9_\-.,:] in literal segments.
                self.d
                    .error(
                        &codes::INVALID_PATH,
                        span,
                        format!("`{bad}` is not allowed in an API Gateway path (segment `{part}`)"),
                    )
                    .label("invalid character")
                    .help("literal segments may use letters, digits and `_-.,:`");
                ok = false;
            } else {
                segments.push(Segment::Literal(part.to_string()));
            }
        }
        let mut names: Vec<&str> = Vec::new();
        for s in &segments {
            if let Segment::Param(n) | Segment::Greedy(n) = s {
                if names.contains(&n.as_str()) {
                    self.d.error(
                        &codes::INVALID_PATH,
                        span,
                        format!("path parameter `{n}` appears twice in `{raw}`"),
                    );
                    ok = false;
                }
                names.push(n);
            }
        }
        ok.then(|| PathTemplate {
            raw: raw.to_string(),
            segments,
            is_default: false,
        })
    }

    pub(super) fn parameters(&mut self, node: &'a Node, ptr: &Pointer) -> Vec<Parameter> {
        let Some(items) = node.as_array() else {
            self.type_error(node, "`parameters`", "an array");
            return Vec::new();
        };
        let mut out: Vec<Parameter> = Vec::new();
        for (i, raw) in items.iter().enumerate() {
            let Some((n, _)) = self.deref(raw, &ptr.join(&i.to_string())) else {
                continue;
            };
            let Some(param) = self.parameter(n) else {
                continue;
            };
            if let Some(prev) = out
                .iter()
                .find(|q| q.name == param.name && q.location == param.location)
            {
                self.d
                    .error(
                        &codes::DUPLICATE_PARAMETER,
                        raw.span,
                        format!(
                            "{} parameter `{}` is declared twice",
                            param.location.as_str(),
                            param.name
                        ),
                    )
                    .secondary(prev.span, "first declared here");
                continue;
            }
            out.push(param);
        }
        out
    }

    pub(super) fn parameter(&mut self, n: &'a Node) -> Option<Parameter> {
        self.object(
            n,
            "a Parameter object",
            &[
                "name",
                "in",
                "description",
                "required",
                "deprecated",
                "allowEmptyValue",
                "style",
                "explode",
                "allowReserved",
                "schema",
                "example",
                "examples",
                "content",
            ],
            Vocab::OpenApi,
        )?;
        let Some(name) = n
            .get("name")
            .and_then(|x| self.string(x, "a parameter name"))
        else {
            self.d
                .error(&codes::STRUCTURE, n.span, "a parameter needs a `name`");
            return None;
        };
        let Some(inn) = n.get("in") else {
            self.d.error(
                &codes::STRUCTURE,
                n.span,
                format!("parameter `{}` needs `in`", name.value),
            );
            return None;
        };
        if let Some(v @ ("body" | "formData")) = inn.as_str() {
            self.d
                .error(&codes::VERSION, inn.span, format!("`in: {v}` is Swagger 2.0; OpenAPI 3.0 has no {v} parameters"))
                .label("Swagger 2.0 leftover")
                .help(if v == "body" {
                    "describe the body with the operation's `requestBody: {content: {application/json: {schema: …}}}`"
                } else {
                    "describe form fields as a `requestBody` with `application/x-www-form-urlencoded` content and an object schema"
                });
            return None;
        }
        let location = self.one_of(
            inn,
            "parameter location",
            &[
                ("path", ParamIn::Path),
                ("query", ParamIn::Query),
                ("header", ParamIn::Header),
                ("cookie", ParamIn::Cookie),
            ],
        )?;
        let required = n
            .get("required")
            .and_then(|r| self.boolean(r, "required"))
            .unwrap_or(false);
        if location == ParamIn::Path && !required {
            let span = n.get("required").map(|r| r.span).unwrap_or(n.span);
            self.d
                .error(&codes::PATH_PARAM_OPTIONAL, span, format!("path parameter `{}` must be `required: true`", name.value))
                .help("a path segment is always present; OpenAPI requires `required: true` for path parameters");
        }
        let default_style = match location {
            ParamIn::Path | ParamIn::Header => "simple",
            ParamIn::Query | ParamIn::Cookie => "form",
        };
        let style = n
            .get("style")
            .and_then(|s| self.string(s, "style"))
            .map(|s| s.value)
            .unwrap_or_else(|| default_style.to_string());
        let explode = n
            .get("explode")
            .and_then(|e| self.boolean(e, "explode"))
            .unwrap_or(style == "form");
        let schema = n.get("schema").map(|s| {
            self.schema_tree(s);
            Schema {
                json: s.to_json(),
                span: s.span,
            }
        });
        Some(Parameter {
            name: name.value,
            location,
            required,
            style,
            explode,
            schema,
            span: n.span,
        })
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn operation(
        &mut self,
        entry: &'a Entry,
        ptr: &Pointer,
        method: Method,
        path: &PathTemplate,
        path_span: Span,
        common: &[Parameter],
        default_security: &Option<(Vec<SecurityRequirement>, Span)>,
        default_validator: &Option<Spanned<String>>,
    ) -> Option<Route> {
        let n = &entry.value;
        let mut known = vec![
            "tags",
            "summary",
            "description",
            "externalDocs",
            "operationId",
            "parameters",
            "requestBody",
            "responses",
            "callbacks",
            "deprecated",
            "security",
            "servers",
            "x-amazon-apigateway-integration",
            "x-amazon-apigateway-request-validator",
            "x-amazon-apigateway-auth",
            "x-specgate-validation",
        ];
        if method == Method::Any {
            known.push("isDefaultRoute");
        }
        self.object(
            n,
            &format!("the {} operation", method.as_str()),
            &known,
            Vocab::OpenApi,
        )?;
        let own = n
            .get("parameters")
            .map(|p| self.parameters(p, &ptr.join("parameters")))
            .unwrap_or_default();
        // Operation parameters override path-level ones with the same name and location.
        let mut parameters: Vec<Parameter> = common
            .iter()
            .filter(|c| {
                !own.iter()
                    .any(|o| o.name == c.name && o.location == c.location)
            })
            .cloned()
            .collect();
        parameters.extend(own);
        let request_body = n
            .get("requestBody")
            .and_then(|b| self.request_body(b, &ptr.join("requestBody")));
        let (security, security_span) = match n.get("security") {
            Some(s) => (self.security(s), Some(s.span)),
            None => match default_security {
                Some((s, span)) => (s.clone(), Some(*span)),
                None => (Vec::new(), None),
            },
        };
        let validation = match n.get("x-specgate-validation") {
            Some(v) => {
                let settings = self.specgate_validation(v);
                if let Some(f) = v.get("formats") {
                    self.d
                        .warning(
                            &codes::INVALID_VALUE,
                            f.span,
                            "`formats` is read at the root only; here it is ignored",
                        )
                        .help("set `formats` in the root `x-specgate-validation`");
                }
                ValidationOverride {
                    typed_parameters: settings.typed_parameters,
                    typed_bodies: settings.typed_bodies,
                    responses: settings.responses,
                }
            }
            None => ValidationOverride::default(),
        };
        let validator = match n.get("x-amazon-apigateway-request-validator") {
            Some(v) => self.string(v, "the request validator"),
            None => default_validator.clone(),
        };
        let auth_type = n.get("x-amazon-apigateway-auth").and_then(|a| {
            self.object(a, "x-amazon-apigateway-auth", &["type"], Vocab::Extension)?;
            let t = a.get("type")?;
            let v = self.one_of(
                t,
                "auth type",
                &[("NONE", AuthType::None), ("AWS_IAM", AuthType::AwsIam)],
            )?;
            Some(Spanned::new(v, t.span))
        });
        let integration = n
            .get("x-amazon-apigateway-integration")
            .and_then(|i| self.integration(i, &ptr.join("x-amazon-apigateway-integration")));
        let mut responses = IndexMap::new();
        {
            {
                for e in self.entries_of(n, "responses") {
                    if e.key.starts_with("x-") {
                        continue;
                    }
                    let Some((rn, _)) = self.deref(&e.value, &ptr.join("responses").join(&e.key))
                    else {
                        continue;
                    };
                    if self
                        .object(
                            rn,
                            "a Response object",
                            &["description", "headers", "content", "links"],
                            Vocab::OpenApi,
                        )
                        .is_none()
                    {
                        continue;
                    }
                    let names = |k: &str| {
                        rn.get(k)
                            .and_then(Node::as_object)
                            .map(|es| es.iter().map(|e| e.key.clone()).collect())
                            .unwrap_or_default()
                    };
                    let mut schemas = IndexMap::new();
                    for c in rn
                        .get("content")
                        .and_then(Node::as_object)
                        .unwrap_or_default()
                    {
                        if let Some(sn) = c.value.get("schema") {
                            self.schema_tree(sn);
                            schemas.insert(
                                c.key.clone(),
                                Schema {
                                    json: sn.to_json(),
                                    span: sn.span,
                                },
                            );
                        }
                    }
                    responses.insert(
                        e.key.clone(),
                        MethodResponse {
                            headers: names("headers"),
                            content: names("content"),
                            schemas,
                            span: e.key_span,
                        },
                    );
                }
            }
        }
        let is_default_route = n
            .get("isDefaultRoute")
            .and_then(|b| self.boolean(b, "isDefaultRoute"))
            .unwrap_or(false);
        let operation_id = n
            .get("operationId")
            .and_then(Node::as_str)
            .map(str::to_string);
        Some(Route {
            method,
            path: path.clone(),
            operation_id,
            span: entry.key_span,
            path_span,
            parameters,
            request_body,
            security,
            security_span,
            validator,
            validation,
            auth_type,
            integration,
            responses,
            is_default_route,
        })
    }

    pub(super) fn request_body(&mut self, node: &'a Node, ptr: &Pointer) -> Option<RequestBody> {
        let (n, _) = self.deref(node, ptr)?;
        self.object(
            n,
            "a Request Body object",
            &["description", "content", "required"],
            Vocab::OpenApi,
        )?;
        let required = n
            .get("required")
            .and_then(|r| self.boolean(r, "required"))
            .unwrap_or(false);
        let mut content = IndexMap::new();
        {
            for e in self.entries_of(n, "content") {
                if self
                    .object(
                        &e.value,
                        "a Media Type object",
                        &["schema", "example", "examples", "encoding"],
                        Vocab::OpenApi,
                    )
                    .is_none()
                {
                    continue;
                }
                let schema = e.value.get("schema").map(|s| {
                    self.schema_tree(s);
                    Schema {
                        json: s.to_json(),
                        span: s.span,
                    }
                });
                content.insert(e.key.clone(), schema);
            }
        }
        Some(RequestBody {
            required,
            content,
            span: n.span,
        })
    }

    /// Checks a schema (`schema_check`). `$ref`s are not followed here: every named schema
    /// is checked once from `components`.
    pub(super) fn schema_tree(&mut self, node: &'a Node) {
        if let Some(doc) = self.l.root_tree() {
            crate::schema_check::check(self.d, doc, node);
        }
    }
}
