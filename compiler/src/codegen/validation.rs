//! Code generation: Request validation: required and typed parameters, bodies against their models, response models.

use super::*;

/// The request validator in force for a route (its own, else the API's default) and its name.
pub(super) fn validator<'a>(
    api: &'a Api,
    r: &'a Route,
) -> Option<(&'a Spanned<String>, &'a RequestValidator)> {
    let name = r.validator.as_ref().or(api.default_validator.as_ref())?;
    Some((name, api.request_validators.get(&name.value)?))
}

/// `validateRequestParameters`: the required path, query and header parameters, checked
/// before the integration, in API Gateway's order (sorted by `method.request.<in>.<name>`).
pub(super) fn parameter_validation(api: &Api, r: &Route) -> TokenStream {
    if !validator(api, r).is_some_and(|(_, v)| v.validate_parameters) {
        return quote!();
    }
    let mut required: Vec<(String, TokenStream, &str)> = r
        .parameters
        .iter()
        .filter(|p| p.required)
        .filter_map(|p| {
            let (key, loc) = match p.location {
                ParamIn::Header => ("header", quote!(In::Header)),
                ParamIn::Path => ("path", quote!(In::Path)),
                ParamIn::Query => ("querystring", quote!(In::Query)),
                // API Gateway has no cookie parameters (`method.request.*` has no cookies).
                ParamIn::Cookie => return None,
            };
            Some((
                format!("method.request.{key}.{}", p.name),
                loc,
                p.name.as_str(),
            ))
        })
        .collect();
    if required.is_empty() {
        return quote!();
    }
    required.sort_by(|a, b| a.0.cmp(&b.0));
    let items = required.iter().map(|(_, loc, name)| quote!((#loc, #name)));
    quote! {
        if let Some(message) = validate::missing_parameters(cx, &[#(#items),*]) {
            return rt.gateway_response_with(cx, ResponseType::BadRequestParameters, message);
        }
    }
}

/// `x-specgate-validation: {parameters: typed}`: each parameter with a schema is decoded by
/// its `style`/`explode` and validated; failures are a 400 `BAD_REQUEST_PARAMETERS` naming
/// each parameter (`querystring.limit: …`) in API Gateway's key order.
pub(super) fn typed_parameters<'a>(
    api: &'a Api,
    r: &'a Route,
    name: &proc_macro2::Ident,
    models: &mut crate::schema::Validators<'a>,
) -> TokenStream {
    if !r
        .validation
        .typed_parameters
        .unwrap_or(api.typed_parameters)
    {
        return quote!();
    }
    let mut params: Vec<(String, &Parameter)> = r
        .parameters
        .iter()
        .filter(|p| p.schema.is_some())
        .map(|p| {
            let key = match p.location {
                ParamIn::Header => "header",
                ParamIn::Path => "path",
                ParamIn::Query => "querystring",
                ParamIn::Cookie => "cookie",
            };
            (format!("{key}.{}", p.name), p)
        })
        .collect();
    if params.is_empty() {
        return quote!();
    }
    // API Gateway's order for parameter keys; cookies (not an API Gateway location) last.
    params.sort_by_key(|(k, p)| (p.location == ParamIn::Cookie, k.clone()));
    let checks = params.iter().map(|(key, p)| {
        let Some(schema) = &p.schema else {
            return quote!();
        };
        let f = models.root(&schema.json, &format!("{name}_{}", key.replace('.', "_")));
        let shape = models.param_shape(&schema.json);
        let style = match p.style.as_str() {
            "label" => quote!(params::Style::Label),
            "matrix" => quote!(params::Style::Matrix),
            "form" => quote!(params::Style::Form),
            "spaceDelimited" => quote!(params::Style::SpaceDelimited),
            "pipeDelimited" => quote!(params::Style::PipeDelimited),
            "deepObject" => quote!(params::Style::DeepObject),
            _ => quote!(params::Style::Simple),
        };
        let read = match p.location {
            ParamIn::Header => quote!(params::header(cx, &p)),
            ParamIn::Path => quote!(params::path(cx, &p)),
            ParamIn::Query => quote!(params::query(&query, &p)),
            ParamIn::Cookie => quote!(params::cookie(cx, &p)),
        };
        let pname = &p.name;
        let explode = p.explode;
        let missing = if p.required {
            let m = format!("{key}: required parameter is missing");
            quote!(None => invalid.push(#m.to_string()),)
        } else {
            quote!(None => {})
        };
        quote! {
            let p = params::Param { name: #pname, style: #style, explode: #explode, shape: #shape };
            match #read {
                Some(v) => params::check(&mut invalid, #key, &v, models::#f),
                #missing
            }
        }
    });
    let query = if params.iter().any(|(_, p)| p.location == ParamIn::Query) {
        quote!(let query = params::query_pairs(cx);)
    } else {
        quote!()
    };
    quote! {
        #query
        let mut invalid: Vec<String> = Vec::new();
        #(#checks)*
        if !invalid.is_empty() {
            let message = params::message(cx, &invalid);
            return rt.gateway_response_with(cx, ResponseType::BadRequestParameters, message);
        }
    }
}

/// `validateRequestBody`: the model for the request's media type (exact match, else a
/// `*/*` entry as API Gateway's `$default`); no model for the media type, no validation.
pub(super) fn body_validation<'a>(
    api: &'a Api,
    r: &'a Route,
    name: &proc_macro2::Ident,
    models: &mut crate::schema::Validators<'a>,
) -> TokenStream {
    if !validator(api, r).is_some_and(|(_, v)| v.validate_body) {
        return quote!();
    }
    let Some(body) = &r.request_body else {
        return quote!();
    };
    let mut arms = Vec::new();
    let mut default = None;
    for (media, schema) in &body.content {
        let Some(schema) = schema else { continue };
        let media = media.to_ascii_lowercase();
        // `x-specgate-validation: {bodies: typed}`: a form is decoded (each field as a
        // `form`, exploded parameter) before it is validated; API Gateway reads it as JSON.
        let typed = r.validation.typed_bodies.unwrap_or(api.typed_bodies);
        let check = if typed && media == "application/x-www-form-urlencoded" {
            let f = models.root(&schema.json, &format!("{name}_body"));
            let shape = models.param_shape(&schema.json);
            quote!(validate::form(rt, cx, req, models::#f, #shape).await)
        } else {
            let (f, a) = models.root_accepting(&schema.json, &format!("{name}_body"));
            quote!(validate::body(rt, cx, req, models::#f, models::#a).await)
        };
        if media == "*/*" {
            default = Some(check);
        } else {
            arms.push((media, check));
        }
    }
    if arms.is_empty() && default.is_none() {
        return quote!();
    }
    let default = default.unwrap_or_else(|| quote!(Ok(req)));
    // The request's media type found among the models' (no lower-cased copy of it made).
    let select = if arms.is_empty() {
        default
    } else {
        let media = arms.iter().map(|(m, _)| m);
        let arms = arms
            .iter()
            .enumerate()
            .map(|(i, (_, check))| quote!(Some(#i) => #check,));
        quote! {
            match validate::media_index(cx, &[#(#media),*]) {
                #(#arms)*
                _ => #default,
            }
        }
    };
    quote! {
        let checked = #select;
        let req = match checked {
            Ok(req) => req,
            Err(response) => return response,
        };
    }
}

/// `x-specgate-validation: {responses: …}`: a function choosing the declared response schema
/// for a status code and media type (exact codes, then `2XX`-style ranges, then `default`).
pub(super) fn response_model_fn<'a>(
    r: &'a Route,
    name: &proc_macro2::Ident,
    response_models: &mut crate::schema::Validators<'a>,
) -> Option<(proc_macro2::Ident, TokenStream)> {
    let mut exact = Vec::new();
    let mut ranges = Vec::new();
    let mut default = Vec::new();
    for (code, resp) in &r.responses {
        if resp.schemas.is_empty() {
            continue;
        }
        let media_arms: Vec<TokenStream> = resp
            .schemas
            .iter()
            .map(|(media, schema)| {
                let f = response_models.root(
                    &schema.json,
                    &format!("{name}_response_{}", code.to_ascii_lowercase()),
                );
                let media = media.to_ascii_lowercase();
                if media == "*/*" {
                    quote!(_ => Some(response_models::#f),)
                } else if let Some(prefix) = media.strip_suffix("/*") {
                    let prefix = format!("{prefix}/");
                    quote!(m if m.starts_with(#prefix) => Some(response_models::#f),)
                } else {
                    quote!(#media => Some(response_models::#f),)
                }
            })
            .collect();
        let body = quote! {
            match media {
                #(#media_arms)*
                _ => None,
            }
        };
        let upper = code.to_ascii_uppercase();
        if let Ok(n) = code.parse::<u16>() {
            exact.push(quote!(#n => #body,));
        } else if upper.len() == 3 && upper.ends_with("XX") {
            let d = u16::from(upper.as_bytes()[0].wrapping_sub(b'0'));
            let (lo, hi) = (d * 100, d * 100 + 99);
            ranges.push(quote!(#lo..=#hi => #body,));
        } else if code == "default" {
            default.push(quote!(_ => #body,));
        }
    }
    if exact.is_empty() && ranges.is_empty() && default.is_empty() {
        return None;
    }
    let f = format_ident!("{}_response_model", name);
    let fallback = if default.is_empty() {
        quote!(_ => None,)
    } else {
        quote!(#(#default)*)
    };
    let doc = format!(
        " The declared response schema of `{} {}` for a status and media type.",
        r.method.as_str(),
        r.path.raw
    );
    Some((
        f.clone(),
        quote! {
            #[doc = #doc]
            fn #f(status: u16, media: &str) -> Option<validate::Model> {
                match status {
                    #(#exact)*
                    #(#ranges)*
                    #fallback
                }
            }
        },
    ))
}
