//! Code generation: API management — usage plans and stage throttles as data for the
//! runtime (`usage`), and each route's admission check (API key, throttles, quota).

use super::*;

fn throttle(t: &Throttle) -> TokenStream {
    let (rate, burst) = (t.rate, t.burst);
    quote!(Throttle { rate: #rate, burst: #burst })
}

fn method_throttles(entries: &[(Spanned<String>, Throttle)]) -> TokenStream {
    let items = entries.iter().map(|(k, t)| {
        let key = &k.value;
        let t = throttle(t);
        quote!((#key, #t))
    });
    quote!(&[#(#items),*])
}

/// A stage's `methodSettings` throttles.
pub(super) fn stage_throttles(s: &Stage) -> TokenStream {
    method_throttles(&s.method_throttles)
}

/// `x-specgate-usage-plans` as `PlanInfo`s.
pub(super) fn usage_plans(api: &Api) -> TokenStream {
    let plans = api.usage_plans.iter().map(|p| {
        let name = &p.name;
        let throttle = match &p.throttle {
            Some(t) => {
                let t = throttle(t);
                quote!(Some(#t))
            }
            None => quote!(None),
        };
        let quota = match &p.quota {
            Some(q) => {
                let (limit, offset) = (q.limit, q.offset);
                let period = match q.period {
                    QuotaPeriod::Day => quote!(Period::Day),
                    QuotaPeriod::Week => quote!(Period::Week),
                    QuotaPeriod::Month => quote!(Period::Month),
                };
                quote!(Some(QuotaInfo { limit: #limit, period: #period, offset: #offset }))
            }
            None => quote!(None),
        };
        let stages = p.api_stages.iter().map(|s| {
            let stage = &s.stage.value;
            let overrides = method_throttles(&s.throttle);
            quote!((#stage, #overrides))
        });
        quote!(PlanInfo {
            name: #name,
            throttle: #throttle,
            quota: #quota,
            stages: &[#(#stages),*],
        })
    });
    quote!(&[#(#plans),*])
}

/// Where keys come from.
pub(super) fn key_source(api: &Api) -> TokenStream {
    match api.api_key_source {
        ApiKeySource::Header => quote!(KeySource::Header),
        ApiKeySource::Authorizer => quote!(KeySource::Authorizer),
    }
}

/// Whether the route requires an API key: one of its `security` requirements names the
/// API-key scheme (API Gateway's `apiKeyRequired`).
pub(super) fn key_required(api: &Api, r: &Route) -> bool {
    r.security
        .iter()
        .flat_map(|req| req.schemes.iter())
        .any(|(name, _)| {
            api.security_schemes
                .get(&name.value)
                .is_some_and(SecurityScheme::is_api_key)
        })
}

/// The route's admission check, after its authorizer (API Gateway's order).
pub(super) fn admission(api: &Api, r: &Route) -> TokenStream {
    let required = key_required(api, r);
    quote! {
        if let Some(resp) = rt.refusal(cx, #required).await {
            return resp;
        }
    }
}
