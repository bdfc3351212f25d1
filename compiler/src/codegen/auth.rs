//! Code generation: Authorization: Lambda, JWT and Cognito authorizers in front of a route.

use super::*;

/// The route's authorizer check (API Gateway runs it before validating the request): the
/// first scheme of its `security` that has a Lambda authorizer.
pub(super) fn authorization(api: &Api, r: &Route) -> TokenStream {
    let found = r
        .security
        .iter()
        .flat_map(|req| req.schemes.iter())
        .find_map(|(name, scopes)| {
            let s = api.security_schemes.get(&name.value)?;
            Some((s, s.authorizer.as_ref()?, scopes))
        });
    let Some((scheme, a, scopes)) = found else {
        return quote!();
    };
    let jwt_like = match (a.kind, &a.jwt) {
        (AuthorizerKind::Jwt, Some(jwt)) => {
            let header = a
                .identity_source
                .first()
                .and_then(|s| s.value.trim().strip_prefix("$request.header."))
                .unwrap_or("Authorization")
                .to_ascii_lowercase();
            Some((
                vec![jwt.issuer.value.clone()],
                jwt.audience.clone(),
                header,
                false,
            ))
        }
        (AuthorizerKind::CognitoUserPools, _) => {
            let issuers: Vec<String> = a
                .provider_arns
                .iter()
                .filter_map(|p| cognito_issuer(&p.value))
                .collect();
            let header = a
                .identity_source
                .first()
                .and_then(|s| s.value.trim().strip_prefix("method.request.header."))
                .map(str::to_string)
                .or_else(|| match &scheme.kind {
                    SchemeKind::ApiKey { name, .. } => Some(name.clone()),
                    _ => None,
                })
                .unwrap_or_else(|| "Authorization".to_string())
                .to_ascii_lowercase();
            Some((issuers, Vec::new(), header, true))
        }
        _ => None,
    };
    if let Some((issuers, audience, header, cognito)) = jwt_like {
        return quote! {
            static AUTHORIZER: jwt::JwtAuthorizer = jwt::JwtAuthorizer {
                issuers: &[#(#issuers),*],
                audience: &[#(#audience),*],
                header: #header,
                cognito: #cognito,
            };
            if let Err(denied) = jwt::authorize(rt, cx, &AUTHORIZER, &[#(#scopes),*]).await {
                return denied;
            }
        };
    }
    let Some(IntegrationUri::Lambda {
        region, function, ..
    }) = a.uri.as_ref().map(|u| &u.value)
    else {
        return quote!();
    };
    let kind = match (a.kind, api.flavor) {
        (AuthorizerKind::Token, _) => quote!(auth::Kind::Token),
        (AuthorizerKind::Request, Flavor::Http) => {
            let v1 = a
                .payload_format_version
                .as_ref()
                .is_some_and(|v| v.value == "1.0");
            let simple = a.enable_simple_responses && !v1;
            quote!(auth::Kind::Http { simple: #simple, v1: #v1 })
        }
        (AuthorizerKind::Request, _) => quote!(auth::Kind::Request),
        // JWT and Cognito are refused by `support`.
        _ => return quote!(),
    };
    let mut sources: Vec<String> = a.identity_source.iter().map(|s| s.value.clone()).collect();
    if sources.is_empty() && a.kind == AuthorizerKind::Token {
        // A token authorizer reads the header its `apiKey` scheme names.
        if let SchemeKind::ApiKey { name, .. } = &scheme.kind {
            sources.push(format!("method.request.header.{name}"));
        }
    }
    let identity: Vec<TokenStream> = sources
        .iter()
        .filter_map(|s| {
            let s = s.trim().trim_start_matches('$');
            let s = s.strip_prefix("method.").unwrap_or(s);
            if let Some(h) = s.strip_prefix("request.header.") {
                return Some(quote!(auth::Identity::Header(#h)));
            }
            if let Some(q) = s.strip_prefix("request.querystring.") {
                return Some(quote!(auth::Identity::Query(#q)));
            }
            if let Some(v) = s.strip_prefix("stageVariables.") {
                return Some(quote!(auth::Identity::StageVar(#v)));
            }
            let var = context_var(s.strip_prefix("context.")?)?;
            Some(quote!(auth::Identity::Context(#var)))
        })
        .collect();
    let name = scheme.name.as_str();
    let ttl = a.result_ttl_seconds.value.max(0) as u64;
    let function = stage_string(function);
    let validation = a
        .identity_validation_expression
        .as_ref()
        .filter(|_| a.kind == AuthorizerKind::Token)
        .map(|e| format!("^(?:{})$", e.value))
        .filter(|re| regex::Regex::new(re).is_ok());
    let (validation_static, validation_arg) = match validation {
        Some(re) => (
            quote! {
                static VALID: std::sync::LazyLock<Regex> =
                    std::sync::LazyLock::new(|| Regex::new(#re).expect("checked at compile time"));
            },
            quote!(Some(&*VALID)),
        ),
        None => (quote!(), quote!(None)),
    };
    let route_key = (api.flavor == Flavor::Http).then(|| {
        let key = route_key(r);
        quote!(cx.route_key = Some(String::from(#key));)
    });
    quote! {
        static AUTHORIZER: auth::LambdaAuthorizer = auth::LambdaAuthorizer {
            name: #name,
            kind: #kind,
            region: #region,
            identity: &[#(#identity),*],
            ttl_seconds: #ttl,
        };
        #validation_static
        #route_key
        let function = #function;
        if let Err(denied) = auth::lambda(rt, cx, &AUTHORIZER, &function, #validation_arg).await {
            return denied;
        }
    }
}

/// The IAM and resource-policy check in front of a route (`iam::check`), before its
/// authorizer; nothing when the API has neither.
pub(super) fn access_check(api: &Api, r: &Route) -> TokenStream {
    let iam = api.uses_iam(r);
    if !iam && api.policy.is_none() {
        return quote!();
    }
    let has_authorizer = r
        .security
        .iter()
        .flat_map(|req| req.schemes.iter())
        .any(|(name, _)| {
            api.security_schemes
                .get(&name.value)
                .is_some_and(|s| s.authorizer.is_some())
        });
    let mode = if iam {
        quote!(iam::Mode::Iam)
    } else if has_authorizer {
        quote!(iam::Mode::Authorizer)
    } else {
        quote!(iam::Mode::None)
    };
    quote! {
        let req = match iam::check(rt, cx, req, #mode).await {
            Ok(req) => req,
            Err(refused) => return refused,
        };
    }
}

/// The issuer of a Cognito user pool ARN (`arn:aws:cognito-idp:{region}:{account}:
/// userpool/{poolId}`): `https://cognito-idp.{region}.amazonaws.com/{poolId}`.
pub(super) fn cognito_issuer(arn: &str) -> Option<String> {
    let parts: Vec<&str> = arn.split(':').collect();
    let region = parts.get(3)?;
    let pool = parts.get(5)?.strip_prefix("userpool/")?;
    Some(format!("https://cognito-idp.{region}.amazonaws.com/{pool}"))
}

/// An HTTP API route's key: `GET /pets/{id}`, `ANY /x`, or `$default`.
pub(super) fn route_key(r: &Route) -> String {
    if r.path.is_default {
        return "$default".to_string();
    }
    let m = match r.method {
        Method::Any => "ANY",
        m => m.as_str(),
    };
    format!("{m} {}", r.path.raw)
}
