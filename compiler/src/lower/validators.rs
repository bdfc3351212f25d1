//! Lowering: request validators (`x-amazon-apigateway-request-validators`).

use super::*;

impl<'a> Cx<'a> {
    pub(super) fn request_validators(
        &mut self,
        node: &'a Node,
    ) -> IndexMap<String, RequestValidator> {
        let mut out = IndexMap::new();
        let Some(entries) = node.as_object() else {
            self.type_error(node, "x-amazon-apigateway-request-validators", "an object");
            return out;
        };
        for e in entries {
            if self
                .object(
                    &e.value,
                    "a request validator",
                    &["validateRequestBody", "validateRequestParameters"],
                    Vocab::Extension,
                )
                .is_none()
            {
                continue;
            }
            let b = e
                .value
                .get("validateRequestBody")
                .and_then(|n| self.boolean(n, "validateRequestBody"));
            let p = e
                .value
                .get("validateRequestParameters")
                .and_then(|n| self.boolean(n, "validateRequestParameters"));
            out.insert(
                e.key.clone(),
                RequestValidator {
                    validate_body: b.unwrap_or(false),
                    validate_parameters: p.unwrap_or(false),
                    span: e.key_span,
                },
            );
        }
        out
    }
}
