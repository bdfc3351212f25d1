//! Lowering: gateway responses (`x-amazon-apigateway-gateway-responses`).

use super::*;

impl<'a> Cx<'a> {
    pub(super) fn gateway_responses(
        &mut self,
        node: &'a Node,
    ) -> IndexMap<String, GatewayResponse> {
        let mut out = IndexMap::new();
        let Some(entries) = node.as_object() else {
            self.type_error(node, "x-amazon-apigateway-gateway-responses", "an object");
            return out;
        };
        for e in entries {
            if !GATEWAY_RESPONSE_TYPES.contains(&e.key.as_str()) {
                let d = self
                    .d
                    .error(
                        &codes::GATEWAY_RESPONSE,
                        e.key_span,
                        format!("`{}` is not a gateway response type", e.key),
                    )
                    .label("unknown response type");
                match crate::suggest::closest(&e.key, GATEWAY_RESPONSE_TYPES.iter().copied()) {
                    Some(s) => d.help(format!("did you mean `{s}`?")),
                    None => d.help("see docs/extensions.md for the list of response types"),
                };
                continue;
            }
            let n = &e.value;
            if self
                .object(
                    n,
                    "a gateway response",
                    &["statusCode", "responseParameters", "responseTemplates"],
                    Vocab::Extension,
                )
                .is_none()
            {
                continue;
            }
            let status = n.get("statusCode").and_then(|s| {
                let v = self.scalar_string(s, "statusCode")?;
                match v.value.parse::<u16>() {
                    Ok(code) if (100..=599).contains(&code) => Some(Spanned::new(code, s.span)),
                    _ => {
                        self.d.error(
                            &codes::GATEWAY_RESPONSE,
                            s.span,
                            format!("`{}` is not an HTTP status code", v.value),
                        );
                        None
                    }
                }
            });
            if e.key == "REQUEST_TOO_LARGE" {
                // AWS answers oversized requests before any customisation applies.
                self.d
                    .warning(
                        &codes::GATEWAY_RESPONSE,
                        e.key_span,
                        "REQUEST_TOO_LARGE cannot be customised: API Gateway always answers 413 with its plain-text message",
                    )
                    .help("remove this entry");
            }
            let parameters = n
                .get("responseParameters")
                .map(|p| self.string_map(p, "a gateway response parameter"))
                .unwrap_or_default();
            for (k, _) in &parameters {
                if !k.value.starts_with("gatewayresponse.header.")
                    && !k.value.starts_with("gatewayresponse.path.")
                    && !k.value.starts_with("gatewayresponse.querystring.")
                {
                    self.d
                        .error(
                            &codes::INVALID_MAPPING,
                            k.span,
                            format!("`{}` is not a gateway response parameter", k.value),
                        )
                        .help(
                            "keys look like `gatewayresponse.header.Access-Control-Allow-Origin`",
                        );
                }
            }
            let templates = n
                .get("responseTemplates")
                .map(|t| self.string_map(t, "a response template"))
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k.value, v))
                .collect();
            out.insert(
                e.key.clone(),
                GatewayResponse {
                    status,
                    parameters,
                    templates,
                    span: n.span,
                },
            );
        }
        out
    }
}
