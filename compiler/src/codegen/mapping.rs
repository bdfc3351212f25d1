//! Code generation: Parameter-mapping sources (`method.request.*`, `context.*`, `stageVariables.*`, static values) as runtime calls.

use super::*;

/// A mapping source expression, as the runtime's `Source`.
pub(super) fn source(expr: &str) -> Option<TokenStream> {
    if expr.len() >= 2 && expr.starts_with('\'') && expr.ends_with('\'') {
        let v = &expr[1..expr.len() - 1];
        return Some(quote!(Source::Static(#v)));
    }
    if let Some(v) = expr.strip_prefix("context.") {
        let var = context_var(v)?;
        return Some(quote!(Source::Ctx(#var)));
    }
    if let Some(v) = expr.strip_prefix("stageVariables.") {
        return Some(quote!(Source::StageVar(#v)));
    }
    if let Some(v) = expr.strip_prefix("method.request.header.") {
        return Some(quote!(Source::Header(#v)));
    }
    if let Some(v) = expr.strip_prefix("method.request.querystring.") {
        return Some(quote!(Source::Query(#v)));
    }
    if let Some(v) = expr.strip_prefix("method.request.path.") {
        return Some(quote!(Source::Path(#v)));
    }
    if let Some(v) = expr.strip_prefix("integration.response.header.") {
        return Some(quote!(Source::ResponseHeader(#v)));
    }
    None
}

/// `$context` names the runtime supplies, as `Var` variants.
pub(crate) fn context_var(name: &str) -> Option<TokenStream> {
    let v = match name {
        "requestId" => quote!(Var::RequestId),
        "extendedRequestId" => quote!(Var::ExtendedRequestId),
        "httpMethod" => quote!(Var::HttpMethod),
        "path" => quote!(Var::Path),
        "resourcePath" => quote!(Var::ResourcePath),
        "resourceId" => quote!(Var::ResourceId),
        "stage" => quote!(Var::Stage),
        "requestTime" => quote!(Var::RequestTime),
        "requestTimeEpoch" => quote!(Var::RequestTimeEpoch),
        "identity.sourceIp" => quote!(Var::SourceIp),
        "identity.userAgent" => quote!(Var::UserAgent),
        "identity.apiKey" => quote!(Var::ApiKey),
        "identity.apiKeyId" => quote!(Var::ApiKeyId),
        "identity.caller" => quote!(Var::IdentityCaller),
        "identity.user" => quote!(Var::IdentityUser),
        "identity.userArn" => quote!(Var::IdentityUserArn),
        "identity.accountId" => quote!(Var::IdentityAccountId),
        "identity.accessKey" => quote!(Var::IdentityAccessKey),
        "domainName" => quote!(Var::DomainName),
        "domainPrefix" => quote!(Var::DomainPrefix),
        "protocol" => quote!(Var::Protocol),
        "apiId" => quote!(Var::ApiId),
        "accountId" => quote!(Var::AccountId),
        "error.message" => quote!(Var::ErrorMessage),
        "error.messageString" => quote!(Var::ErrorMessageString),
        "error.responseType" => quote!(Var::ErrorResponseType),
        "error.validationErrorString" => quote!(Var::ErrorValidationErrorString),
        _ => return None,
    };
    Some(v)
}

/// Request parameters mapped to `integration.request.<kind>.<name>`.
pub(super) fn mapped<'a>(i: &'a Integration, kind: &str) -> Vec<(&'a str, &'a str)> {
    let prefix = format!("integration.request.{kind}.");
    i.request_parameters
        .iter()
        .filter_map(|(t, s)| Some((t.value.strip_prefix(&prefix)?, s.value.as_str())))
        .collect()
}

/// `'value'`: a static mapping value, known at compile time.
pub(super) fn static_value(expr: &str) -> Option<&str> {
    expr.strip_prefix('\'')?.strip_suffix('\'')
}

/// A mapping value in generated code, as an owned `String` and as a `&str`.
pub(super) struct Val {
    pub(super) owned: TokenStream,
    pub(super) borrowed: TokenStream,
}

/// Code that passes the value of mapping source `expr` to `use_value`: a static value
/// directly, anything else only when the request has it. `backend` is the
/// `Option<&HeaderMap>` of backend response headers for `integration.response.header.*`.
pub(super) fn with_value(
    expr: &str,
    backend: &TokenStream,
    use_value: impl Fn(Val) -> TokenStream,
) -> Option<TokenStream> {
    if let Some(v) = static_value(expr) {
        return Some(use_value(Val {
            owned: quote!(String::from(#v)),
            borrowed: quote!(#v),
        }));
    }
    let src = source(expr)?;
    let body = use_value(Val {
        owned: quote!(v),
        borrowed: quote!(&v),
    });
    Some(quote! {
        if let Some(v) = #src.value(cx, #backend) {
            #body
        }
    })
}

/// Whether `v` is a valid header value as `HeaderValue::from_static` requires (visible
/// ASCII, space, tab).
pub(super) fn is_header_value(v: &str) -> bool {
    v.bytes().all(|b| (32..127).contains(&b) || b == b'\t')
}

/// An expression for the text that `text` (with `${stageVariables.x}` parts) is at request
/// time: the literal itself when it has no stage variables, else a `String`.
pub(super) fn stage_string(text: &str) -> TokenStream {
    if !text.contains("${stageVariables.") {
        return quote!(#text);
    }
    let mut parts = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("${stageVariables.") {
        let (lit, after) = rest.split_at(at);
        let after = &after["${stageVariables.".len()..];
        let Some(end) = after.find('}') else { break };
        if !lit.is_empty() {
            parts.push(quote!(s.push_str(#lit);));
        }
        let var = &after[..end];
        parts.push(quote!(s.push_str(cx.stage_var(#var).unwrap_or(""));));
        rest = &after[end + 1..];
    }
    if !rest.is_empty() {
        parts.push(quote!(s.push_str(#rest);));
    }
    quote!({
        let mut s = String::new();
        #(#parts)*
        s
    })
}
