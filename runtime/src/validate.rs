//! Request validation helpers called by generated code. The generated handler passes the
//! facts (which parameters are required, already in API Gateway's order); nothing here reads
//! a spec.

use crate::context::Context;

/// Where a required parameter is looked up (`method.request.<in>.<name>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum In {
    /// `method.request.header.*`: case-insensitive, as HTTP header names are. (LocalStack
    /// compares case-sensitively; AWS documents headers as case-insensitive, so we follow that.)
    Header,
    /// `method.request.path.*`.
    Path,
    /// `method.request.querystring.*` (case-sensitive, decoded).
    Query,
}

/// API Gateway's parameter validation (`validateRequestParameters`): every required
/// parameter must be present and not blank. `required` is in the order API Gateway lists
/// them: sorted by the full key (`method.request.header.*` < `path.*` < `querystring.*`).
/// Returns the gateway response message when something is missing, and records it as
/// `$context.error.validationErrorString`.
pub fn missing_parameters(cx: &mut Context, required: &[(In, &str)]) -> Option<String> {
    let missing: Vec<&str> = required
        .iter()
        .filter(|(location, name)| {
            let value = match location {
                In::Header => cx.header(name).map(str::to_string),
                In::Path => cx.path_param(name).map(str::to_string),
                In::Query => cx.query_param(name),
            };
            value.is_none_or(|v| v.trim().is_empty())
        })
        .map(|(_, name)| *name)
        .collect();
    if missing.is_empty() {
        return None;
    }
    let message = format!(
        "Missing required request parameters: [{}]",
        missing.join(", ")
    );
    cx.validation_error = Some(message.clone());
    Some(message)
}
