//! Code generation: the stage cache — each stage's cache settings as data, and, for routes a
//! stage may cache, the lookup before the integration and the store after it.

use super::*;

/// A stage's cache (`None` without `cacheClusterEnabled`).
pub(super) fn stage_cache(s: &Stage) -> TokenStream {
    if !s.cache_cluster {
        return quote!(None);
    }
    let size = s.cache_size_mb;
    let methods = s.method_caching.iter().map(|(k, c)| {
        let key = &k.value;
        let opt_bool = |b: Option<bool>| match b {
            Some(b) => quote!(Some(#b)),
            None => quote!(None),
        };
        let enabled = opt_bool(c.enabled);
        let require = opt_bool(c.require_authorization);
        let ttl = match c.ttl {
            Some(t) => quote!(Some(#t)),
            None => quote!(None),
        };
        let unauthorized = match c.unauthorized {
            Some(UnauthorizedCacheControl::FailWith403) => quote!(Some(Unauthorized::FailWith403)),
            Some(UnauthorizedCacheControl::SucceedWithResponseHeader) => {
                quote!(Some(Unauthorized::SucceedWithResponseHeader))
            }
            Some(UnauthorizedCacheControl::SucceedWithoutResponseHeader) => {
                quote!(Some(Unauthorized::SucceedWithoutResponseHeader))
            }
            None => quote!(None),
        };
        quote!((#key, CacheSetting {
            enabled: #enabled,
            ttl: #ttl,
            require_authorization: #require,
            unauthorized: #unauthorized,
        }))
    });
    quote!(Some(&CacheInfo { size_mb: #size, methods: &[#(#methods),*] }))
}

/// Whether some stage may cache the route: its cache is on and the route's method setting
/// (or `*/*`) enables caching, or says nothing and the method is GET.
pub(super) fn cacheable(api: &Api, r: &Route) -> bool {
    let method = r.method.as_str();
    api.stages.iter().filter(|s| s.cache_cluster).any(|s| {
        let find = |p: &str, m: &str| {
            s.method_caching.iter().find_map(|(k, c)| {
                let (kp, km) = k.value.rsplit_once('/')?;
                (kp == p && km == m).then_some(*c)
            })
        };
        let layers = [
            find(&r.path.raw, method),
            find(&r.path.raw, "*"),
            find("*", "*"),
        ];
        let enabled = layers.iter().flatten().find_map(|c| c.enabled);
        let ttl = layers.iter().flatten().find_map(|c| c.ttl);
        enabled.unwrap_or(r.method == Method::Get || r.method == Method::Any) && ttl != Some(0)
    })
}

/// Wraps the integration `body` of a cacheable route: answered from the cache when it
/// can be, stored after when it missed.
pub(super) fn cached(r: &Route, i: &Integration, body: TokenStream) -> TokenStream {
    let params = i.cache_key_parameters.iter().filter_map(|p| {
        let src = source(&p.value)?;
        let name = &p.value;
        Some(quote!((#name, #src)))
    });
    let namespace = i
        .cache_namespace
        .clone()
        .unwrap_or_else(|| r.path.raw.clone());
    quote! {
        static CACHE_KEY: KeyParts = KeyParts {
            parameters: &[#(#params),*],
            namespace: #namespace,
        };
        let ticket = match rt.cache_lookup(cx, &CACHE_KEY).await {
            cache::Step::Off => None,
            cache::Step::Answer(resp) => return resp,
            cache::Step::Miss(ticket) => Some(ticket),
        };
        let resp: Response = async { #body }.await;
        match ticket {
            Some(ticket) => rt.cache_store(ticket, resp).await,
            None => resp,
        }
    }
}
