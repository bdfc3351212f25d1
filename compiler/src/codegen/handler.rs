//! Code generation: One `async fn` per route, calling the runtime in API Gateway's order: authorization, validation, the integration.

use super::*;

pub(super) fn handler_name(r: &Route) -> proc_macro2::Ident {
    let base = match &r.operation_id {
        Some(id) => id.clone(),
        None => format!("{}{}", r.method.as_str().to_ascii_lowercase(), r.path.raw),
    };
    let mut s = String::from("route_");
    let mut last_us = true;
    for c in base.chars() {
        if c.is_ascii_alphanumeric() {
            if c.is_ascii_uppercase() && !last_us {
                s.push('_');
            }
            s.push(c.to_ascii_lowercase());
            last_us = false;
        } else if !last_us {
            s.push('_');
            last_us = true;
        }
    }
    let s = s.trim_end_matches('_').to_string();
    format_ident!("{}", s)
}

pub(super) fn handler<'a>(
    api: &'a Api,
    r: &'a Route,
    name: &proc_macro2::Ident,
    models: &mut crate::schema::Validators<'a>,
    response_models: &mut crate::schema::Validators<'a>,
) -> TokenStream {
    let Some(i) = &r.integration else {
        return quote!();
    };
    let doc = format!(
        " `{} {}`{}: `{}` integration.",
        r.method.as_str(),
        r.path.raw,
        r.operation_id
            .as_ref()
            .map(|o| format!(" ({})", crate::schema::doc_text(o)))
            .unwrap_or_default(),
        i.kind.value.as_str()
    );
    let authorize = authorization(api, r);
    let access = access_check(api, r);
    let body = match i.kind.value {
        IntegrationType::Mock => mock(api, i, name),
        IntegrationType::HttpProxy => http_proxy(api, r, i),
        IntegrationType::Http => http(api, r, i, name),
        IntegrationType::Aws
            if matches!(
                i.uri.as_ref().map(|u| &u.value),
                Some(IntegrationUri::AwsService { .. })
            ) =>
        {
            aws_service(api, r, i, name)
        }
        IntegrationType::AwsProxy if i.integration_subtype.is_some() => aws_subtype(i),
        IntegrationType::Aws | IntegrationType::AwsProxy => lambda(api, r, i, name),
    };
    let body = if cacheable(api, r) {
        cached(r, i, body)
    } else {
        body
    };
    let validation = parameter_validation(api, r);
    let admit = admission(api, r);
    let validation = quote!(#access #authorize #admit #validation);
    let typed = typed_parameters(api, r, name, models);
    let body_validation = body_validation(api, r, name, models);
    let checked = match r.validation.responses.unwrap_or(api.response_validation) {
        ResponseValidation::Off => None,
        mode => response_model_fn(r, name, response_models)
            .map(|f| (f, mode == ResponseValidation::Strict)),
    };
    let Some(((model_fn, model_code), strict)) = checked else {
        return quote! {
            #[doc = #doc]
            async fn #name(rt: &Runtime, cx: &mut Context, req: Request) -> Response {
                #validation
                #typed
                #body_validation
                #body
            }
        };
    };
    let inner = format_ident!("{}_integration", name);
    quote! {
        #[doc = #doc]
        /// Its responses are checked against the declared schemas.
        async fn #name(rt: &Runtime, cx: &mut Context, req: Request) -> Response {
            let response = #inner(rt, cx, req).await;
            validate::response(cx, response, #strict, #model_fn).await
        }

        async fn #inner(rt: &Runtime, cx: &mut Context, req: Request) -> Response {
            #validation
            #typed
            #body_validation
            #body
        }

        #model_code
    }
}
