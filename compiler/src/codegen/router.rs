//! Code generation: The route table compiled to a decision tree over decoded path segments, and the `impl Gateway` that dispatches to handlers.

use std::cmp::Ordering;

use super::*;

pub(super) fn seg_rank(s: &Segment) -> (u8, &str) {
    match s {
        Segment::Literal(l) => (0, l.as_str()),
        Segment::Param(_) => (1, ""),
        Segment::Greedy(_) => (2, ""),
    }
}

/// Routing priority: segment by segment (literal < parameter < greedy), longer literal
/// prefixes first; then explicit methods before ANY.
pub(super) fn route_order(a: &Route, b: &Route) -> Ordering {
    for (x, y) in a.path.segments.iter().zip(&b.path.segments) {
        match seg_rank(x).cmp(&seg_rank(y)) {
            Ordering::Equal => continue,
            o => return o,
        }
    }
    b.path
        .segments
        .len()
        .cmp(&a.path.segments.len())
        .then((a.method == Method::Any).cmp(&(b.method == Method::Any)))
        .then(a.method.cmp(&b.method))
}

/// The routes the router knows, in priority order (the index is the route's id).
pub(super) fn routed(api: &Api) -> Vec<&Route> {
    let mut routes: Vec<&Route> = api
        .routes
        .iter()
        .filter(|r| r.integration.is_some() && !r.path.is_default)
        .collect();
    routes.sort_by(|a, b| route_order(a, b));
    routes
}

/// The route table as a trie of path segments.
#[derive(Default)]
pub(super) struct Trie {
    /// Routes whose template ends here, explicit methods before ANY.
    pub(super) terminal: Vec<usize>,
    pub(super) literals: std::collections::BTreeMap<String, Trie>,
    pub(super) param: Option<Box<Trie>>,
    /// Greedy `{name+}` routes at this depth.
    pub(super) greedy: Vec<usize>,
}

/// `route(method, segments)`: the id of the route API Gateway would pick, as a decision tree
/// over the segments — each segment is looked at once, compared only with the literals of
/// its length, and alternatives are tried in API Gateway's priority (literal, then
/// parameter, then greedy; explicit methods before ANY), backtracking when a branch has no
/// route for the rest of the path or for the method.
pub(super) fn route_function(api: &Api) -> TokenStream {
    let routes = routed(api);
    let mut root = Trie::default();
    for (id, r) in routes.iter().enumerate() {
        let mut t = &mut root;
        let mut greedy = false;
        for seg in &r.path.segments {
            match seg {
                Segment::Literal(l) => t = t.literals.entry(l.clone()).or_default(),
                Segment::Param(_) => t = t.param.get_or_insert_with(Default::default),
                Segment::Greedy(_) => {
                    t.greedy.push(id);
                    greedy = true;
                    break;
                }
            }
        }
        if !greedy {
            t.terminal.push(id);
        }
    }
    let body = trie_code(&root, 0, &routes);
    quote! {
        /// The route for a method and decoded path segments (see the ids in `handle`), or
        /// `None`.
        pub fn route(m: &Method, s: &[&str]) -> Option<usize> {
            #body
            None
        }
    }
}

pub(super) fn method_checks(ids: &[usize], routes: &[&Route]) -> TokenStream {
    let checks = ids.iter().map(|id| match routes[*id].method {
        Method::Any => quote!(return Some(#id);),
        m => {
            let m = format_ident!("{}", m.as_str());
            quote! {
                if *m == Method::#m {
                    return Some(#id);
                }
            }
        }
    });
    quote!(#(#checks)*)
}

pub(super) fn trie_code(t: &Trie, depth: usize, routes: &[&Route]) -> TokenStream {
    let mut out = TokenStream::new();
    if !t.terminal.is_empty() {
        let checks = method_checks(&t.terminal, routes);
        out.extend(quote! {
            if s.len() == #depth {
                #checks
            }
        });
    }
    if t.literals.is_empty() && t.param.is_none() && t.greedy.is_empty() {
        return out;
    }
    let seg = format_ident!("s{}", depth);
    let mut inner = TokenStream::new();
    if !t.literals.is_empty() {
        let arms: Vec<(&str, TokenStream)> = t
            .literals
            .iter()
            .map(|(l, child)| (l.as_str(), trie_code(child, depth + 1, routes)))
            .collect();
        inner.extend(crate::schema::name_switch(
            &quote!(#seg.len()),
            &quote!(#seg),
            &arms,
            &quote!(),
        ));
    }
    if let Some(p) = &t.param {
        let child = trie_code(p, depth + 1, routes);
        inner.extend(quote! {
            if !#seg.is_empty() {
                #child
            }
        });
    }
    if !t.greedy.is_empty() {
        inner.extend(method_checks(&t.greedy, routes));
    }
    out.extend(quote! {
        if let Some(&#seg) = s.get(#depth) {
            #inner
        }
    });
    out
}

/// A module with only the router of `api` (`route` and the `ROUTES` table), for the router
/// benchmark.
pub fn router_module(api: &Api) -> TokenStream {
    let route_fn = route_function(api);
    let table = routed(api).into_iter().map(|r| {
        let m = r.method.as_str();
        let p = &r.path.raw;
        quote!((#m, #p))
    });
    quote! {
        #![allow(clippy::all)]
        use specgate_runtime::http::Method;

        /// (method, template) by route id.
        pub static ROUTES: &[(&str, &str)] = &[#(#table),*];

        #route_fn
    }
}

pub(super) fn router<'a>(
    api: &'a Api,
    models: &mut crate::schema::Validators<'a>,
    response_models: &mut crate::schema::Validators<'a>,
) -> Routed {
    let routes = routed(api);
    // Handler names must be unique even when operation ids collide after normalisation.
    let mut names: Vec<proc_macro2::Ident> = Vec::new();
    let mut binds = Vec::new();
    let mut calls = Vec::new();
    let mut handlers = Vec::new();
    let all: Vec<&Route> = api
        .routes
        .iter()
        .filter(|r| r.integration.is_some())
        .collect();
    let mut named: Vec<(&Route, proc_macro2::Ident)> = Vec::new();
    for r in &all {
        let mut n = handler_name(r);
        let mut k = 2u32;
        while names.contains(&n) {
            n = format_ident!("{}_{}", handler_name(r), k);
            k += 1;
        }
        names.push(n.clone());
        named.push((r, n));
    }
    let name_of = |r: &Route| {
        named
            .iter()
            .find(|(x, _)| std::ptr::eq(*x, r))
            .map(|(_, n)| n.clone())
            .unwrap_or_else(|| handler_name(r))
    };
    for (id, r) in routes.iter().enumerate() {
        let mut bound = Vec::new();
        for (i, seg) in r.path.segments.iter().enumerate() {
            match seg {
                Segment::Literal(_) => {}
                Segment::Param(name) => bound.push(quote!(cx.bind(#name, raw[#i], segments[#i]);)),
                Segment::Greedy(name) => bound.push(quote!(cx.bind_greedy(#name, &raw[#i..]);)),
            }
        }
        let f = name_of(r);
        let resource = &r.path.raw;
        binds.push(quote! {
            Some(#id) => {
                cx.resource_path = #resource;
                #(#bound)*
            }
        });
        calls.push(quote!(Some(#id) => boxed(#f(rt, cx, req)),));
    }
    // The `$default` route (HTTP APIs) takes what no other matches, under the next id.
    let default = api.routes.iter().find(|r| r.path.is_default).map(|r| {
        let id = routes.len();
        let f = name_of(r);
        calls.push(quote!(Some(#id) => boxed(#f(rt, cx, req)),));
        quote!(None => {
            cx.resource_path = "$default";
            return Some(#id);
        })
    });
    for (r, name) in &named {
        handlers.push(handler(api, r, name, models, response_models));
    }
    Routed {
        binds,
        default,
        calls,
        handlers,
    }
}

/// The generated router's pieces: the arms that bind a matched route's parameters (in
/// `select`), the `$default` route's arm, the arms that call the handlers (in `handle`),
/// and the handlers.
pub(super) struct Routed {
    pub binds: Vec<TokenStream>,
    pub default: Option<TokenStream>,
    pub calls: Vec<TokenStream>,
    pub handlers: Vec<TokenStream>,
}
