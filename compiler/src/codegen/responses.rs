//! Code generation: Integration responses (selection, header mappings, response templates) and gateway-response templates.

use super::*;

/// A pre-parsed template piece.
#[derive(Debug, Clone, PartialEq)]
pub enum TemplatePart {
    /// Text.
    Lit(String),
    /// `$context.x` (name after the prefix).
    Ctx(String),
    /// `$stageVariables.x`.
    Stage(String),
}

/// Splits a template into text and `$context.*` / `$stageVariables.*` references; anything
/// else that looks like VTL is refused.
pub fn parse_template(t: &str) -> Result<Vec<TemplatePart>, String> {
    let mut parts = Vec::new();
    let mut lit = String::new();
    let b = t.as_bytes();
    let mut i = 0;
    while i < t.len() {
        let c = b[i];
        if c == b'#' {
            let rest = &t[i + 1..];
            for d in [
                "set", "if", "else", "foreach", "end", "break", "stop", "define", "macro", "#", "*",
            ] {
                if rest.starts_with(d) {
                    return Err(format!("`#{d}`"));
                }
            }
        }
        if c == b'$' {
            let (formal, start) = if t[i + 1..].starts_with('{') {
                (true, i + 2)
            } else {
                (false, i + 1)
            };
            let start = if t[start..].starts_with('!') {
                start + 1
            } else {
                start
            };
            let end = t[start..]
                .find(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '.' || ch == '_'))
                .map(|e| start + e)
                .unwrap_or(t.len());
            let name = t[start..end].trim_end_matches('.');
            let consumed_end = start + name.len();
            if let Some(var) = name.strip_prefix("context.") {
                if !lit.is_empty() {
                    parts.push(TemplatePart::Lit(std::mem::take(&mut lit)));
                }
                parts.push(TemplatePart::Ctx(var.to_string()));
            } else if let Some(var) = name.strip_prefix("stageVariables.") {
                if !lit.is_empty() {
                    parts.push(TemplatePart::Lit(std::mem::take(&mut lit)));
                }
                parts.push(TemplatePart::Stage(var.to_string()));
            } else if !name.starts_with(|ch: char| ch.is_ascii_alphabetic()) {
                // Not a reference (`$`, `$5`, `$.x`): VTL prints it as text.
                lit.push('$');
                i += 1;
                continue;
            } else {
                return Err(format!("`${name}`"));
            }
            i = consumed_end;
            if formal {
                if t[i..].starts_with('}') {
                    i += 1;
                } else {
                    return Err("an unclosed `${`".into());
                }
            }
            continue;
        }
        let ch = t[i..].chars().next().unwrap_or('\0');
        lit.push(ch);
        i += ch.len_utf8().max(1);
    }
    if !lit.is_empty() {
        parts.push(TemplatePart::Lit(lit));
    }
    Ok(parts)
}

pub(super) fn template_tokens(t: &str) -> TokenStream {
    let parts = parse_template(t).unwrap_or_default();
    let items = parts.iter().map(|p| match p {
        TemplatePart::Lit(s) => quote!(Part::Lit(#s)),
        TemplatePart::Ctx(name) => match context_var(name) {
            Some(v) => quote!(Part::Ctx(#v)),
            // Unknown `$context` variables render empty, as in API Gateway.
            None => quote!(Part::Lit("")),
        },
        TemplatePart::Stage(name) => quote!(Part::StageVar(#name)),
    });
    quote!(&[#(#items),*])
}

pub(super) fn response_variant(name: &str) -> String {
    name.split('_')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + &c.as_str().to_ascii_lowercase(),
                None => String::new(),
            }
        })
        .collect::<String>()
}

/// What integration responses are selected on.
pub(super) enum Selector {
    /// A mock's status, known at compile time: the response is chosen by codegen.
    Constant(String),
    /// A mock's status from its rendered request template (`selector`), at request time.
    Mock,
    /// The backend's status (`backend.status`), matched at request time.
    Backend,
    /// A Lambda function's `errorMessage` (`selector`), with its payload in `backend`.
    Lambda,
}

/// Code that answers with one integration response: status, mapped headers, body (the
/// backend's, or its response template's output), then the template overrides.
pub(super) fn integration_response(
    api: &Api,
    resp: &IntegrationResponse,
    n: usize,
    selector: &Selector,
    handler: &proc_macro2::Ident,
    templated: bool,
) -> TokenStream {
    let status: u16 = resp.status.value.parse().unwrap_or(200);
    let backend = match selector {
        Selector::Backend | Selector::Lambda => quote!(Some(&backend.headers)),
        _ => quote!(None),
    };
    let headers: Vec<TokenStream> = resp
        .parameters
        .iter()
        .filter_map(|(t, s)| {
            let h = t.value.strip_prefix("method.response.header.")?;
            match static_value(&s.value) {
                // A valid static value goes in as is; checked here so it cannot fail at run time.
                Some(v) if is_header_value(v) => {
                    Some(quote!(builder = builder.header(#h, HeaderValue::from_static(#v));))
                }
                _ => source(&s.value)
                    .map(|src| quote!(builder = #src.header(builder, #h, cx, #backend);)),
            }
        })
        .collect();
    // The backend's payload after `contentHandling` (or the `Accept`-driven conversion of
    // an API with binary media types).
    let converts = resp.content_handling.is_some() || !api.binary_media_types.is_empty();
    let convert = match selector {
        Selector::Backend | Selector::Lambda if converts => {
            let types = binary_types(api);
            let ch = match resp.content_handling {
                Some(ch) => {
                    let ch = content_handling(ch);
                    quote!(Some(#ch))
                }
                None => quote!(None),
            };
            Some(quote! {
                let backend_type = backend.headers.get("content-type").and_then(|v| v.to_str().ok());
                let Some(payload) = vtl::mapping::convert_response(backend.body.clone(), backend_type, cx, #types, #ch) else {
                    return rt.gateway_response(cx, ResponseType::ApiConfigurationError);
                };
            })
        }
        _ => None,
    };
    let payload = if convert.is_some() {
        quote!(payload)
    } else {
        quote!(backend.body)
    };
    let ov = if templated {
        quote!(ov)
    } else {
        quote!(serde_json::Value::Null)
    };
    let finish = if resp.templates.is_empty() {
        let body = match selector {
            Selector::Backend | Selector::Lambda => quote!(#payload.clone()),
            _ => quote!(Bytes::new()),
        };
        quote!(vtl::mapping::passthrough(rt, cx, builder, #body, &#ov))
    } else {
        let input = match selector {
            Selector::Backend | Selector::Lambda => quote!(&#payload),
            _ => quote!(b""),
        };
        let table = template_table(&resp.templates, handler, Some(n));
        quote!(vtl::mapping::respond(rt, cx, builder, #table, #input, #ov))
    };
    // `mut` only where mapped headers change the builder.
    let binding = if headers.is_empty() {
        quote!(let builder)
    } else {
        quote!(let mut builder)
    };
    quote! {
        #binding = http::Response::builder().status(#status);
        #(#headers)*
        #convert
        #finish
    }
}

/// Integration-response selection and rendering shared by `http` and `mock`: the first
/// response whose selection pattern matches the whole status, else `default`, else API
/// Gateway's configuration error.
pub(super) fn integration_responses(
    api: &Api,
    i: &Integration,
    selector: Selector,
    handler: &proc_macro2::Ident,
) -> TokenStream {
    let no_match = quote!(rt.gateway_response(cx, ResponseType::ApiConfigurationError));
    let templated = templated(i);
    let default = i
        .responses
        .iter()
        .enumerate()
        .find(|(_, r)| r.pattern.is_none());
    if let Selector::Constant(status) = &selector {
        let chosen = i
            .responses
            .iter()
            .enumerate()
            .find(|(_, r)| {
                r.pattern.as_ref().is_some_and(|p| {
                    regex::Regex::new(&format!("^(?:{})$", p.value))
                        .is_ok_and(|re| re.is_match(status))
                })
            })
            .or(default);
        return match chosen {
            Some((n, resp)) => integration_response(api, resp, n, &selector, handler, templated),
            None => no_match,
        };
    }
    let arms: Vec<TokenStream> = i
        .responses
        .iter()
        .enumerate()
        .filter_map(|(n, resp)| {
            let re = format!("^(?:{})$", resp.pattern.as_ref()?.value);
            let static_name = format_ident!("SELECTION_{}", n);
            let build = integration_response(api, resp, n, &selector, handler, templated);
            Some(quote! {
                static #static_name: std::sync::LazyLock<Regex> =
                    std::sync::LazyLock::new(|| Regex::new(#re).expect("checked at compile time"));
                if #static_name.is_match(&selector) {
                    return { #build };
                }
            })
        })
        .collect();
    let fallback = match default {
        Some((n, resp)) => integration_response(api, resp, n, &selector, handler, templated),
        None => no_match,
    };
    // The status as text, only when a selection pattern reads it (a formatted `String`
    // per request otherwise spent on nothing).
    let selector_value = match selector {
        Selector::Backend if !arms.is_empty() => {
            quote!(let selector = backend.status.to_string();)
        }
        _ => quote!(),
    };
    quote! {
        #selector_value
        #(#arms)*
        #fallback
    }
}
