//! Code generation: `mock` integrations: the status from the request template (known at compile time when constant).

use super::*;

/// The status of a mock whose request templates are all constant JSON with the same
/// `statusCode`, under `when_no_match` (so no request can get another answer).
pub(super) fn constant_mock_status(i: &Integration) -> Option<u64> {
    if i.passthrough != Passthrough::WhenNoMatch {
        return None;
    }
    let statuses: Vec<u64> = i
        .request_templates
        .values()
        .map(|t| crate::vtl::constant_status(&t.value).filter(|s| (100..=599).contains(s)))
        .collect::<Option<_>>()?;
    let first = *statuses.first()?;
    // A passed-through request (another media type) is a 200.
    (first == 200 && statuses.iter().all(|s| *s == first)).then_some(first)
}

pub(super) fn mock(api: &Api, i: &Integration, handler: &proc_macro2::Ident) -> TokenStream {
    // Receives the body without keeping it: a broken, oversized or stalled upload is still
    // the client's error (400/413/408), as on routes that read the body.
    let drain = quote! {
        if let Err(resp) = body::drain(req).await {
            return resp;
        }
    };
    if i.request_templates.is_empty() {
        if i.passthrough == Passthrough::Never {
            return quote!(rt.gateway_response(cx, ResponseType::UnsupportedMediaType));
        }
        // No template: the status is 200, so the response is chosen here.
        let responses = integration_responses(api, i, Selector::Constant("200".into()), handler);
        let ov = templated(i).then(|| quote!(let ov = serde_json::Value::Null;));
        return quote!(#drain #ov #responses);
    }
    if let Some(status) = constant_mock_status(i) {
        // Every template is plain JSON text with the same status: chosen here; the body is
        // only received (API Gateway takes the whole request before the integration).
        let responses =
            integration_responses(api, i, Selector::Constant(status.to_string()), handler);
        let ov = templated(i).then(|| quote!(let ov = serde_json::Value::Null;));
        return quote!(#drain #ov #responses);
    }
    // The rendered request template decides the status: `{"statusCode": 200}`.
    let mapping = request_mapping(api, i, handler);
    let responses = integration_responses(api, i, Selector::Mock, handler);
    quote! {
        #mapping
        let selector = mapped.body.as_deref().map_or(200, vtl::mapping::mock_status).to_string();
        let ov = mapped.overrides;
        #responses
    }
}
