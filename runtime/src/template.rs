//! Pre-parsed substitution templates: gateway-response templates and static mapping
//! templates (`{"stage": "$context.stage"}`). The compiler splits each template into parts;
//! rendering is concatenation.

use crate::context::{Context, Var};

/// One piece of a template.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    /// Text as written.
    Lit(&'static str),
    /// `$context.x`.
    Ctx(Var),
    /// `$stageVariables.x`.
    StageVar(&'static str),
    /// `method.request.header.x` (gateway responses).
    Header(&'static str),
    /// `method.request.querystring.x`.
    Query(&'static str),
    /// `method.request.path.x`.
    Path(&'static str),
}

/// Renders parts against a request context. Missing values render as empty text, as
/// API Gateway renders undefined variables.
pub fn render(parts: &[Part], cx: &Context) -> String {
    let mut out = String::new();
    for p in parts {
        match p {
            Part::Lit(s) => out.push_str(s),
            Part::Ctx(v) => {
                if let Some(s) = cx.var(*v) {
                    out.push_str(&s);
                }
            }
            Part::StageVar(n) => out.push_str(cx.stage_var(n).unwrap_or("")),
            Part::Header(n) => out.push_str(cx.header(n).unwrap_or("")),
            Part::Query(n) => out.push_str(&cx.query_param(n).unwrap_or_default()),
            Part::Path(n) => out.push_str(cx.path_param(n).unwrap_or("")),
        }
    }
    out
}

/// Chooses a response template by the request's `Accept` header, as API Gateway does: the
/// first media type of `Accept` if a template has it, else `application/json`, else the
/// first template. Returns the media type and the template.
pub fn select_template<'a>(
    templates: &'a [(&'a str, &'a [Part])],
    accept: Option<&str>,
) -> (&'a str, &'a [Part]) {
    match pick_by_accept(templates, accept) {
        Some((m, p)) => (m, p),
        None => ("application/json", &[]),
    }
}

/// The entry of `templates` (media type → anything) API Gateway's `Accept` rule picks.
pub fn pick_by_accept<'a, 's, T>(
    templates: &'a [(&'s str, T)],
    accept: Option<&str>,
) -> Option<&'a (&'s str, T)> {
    let wanted = accept.and_then(|a| a.split(',').next()).map(|m| {
        m.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase()
    });
    wanted
        .and_then(|w| templates.iter().find(|(m, _)| m.eq_ignore_ascii_case(&w)))
        .or_else(|| templates.iter().find(|(m, _)| *m == "application/json"))
        .or(templates.first())
}

/// A value source of a header mapping (`responseParameters`, gateway response headers).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `'static'`.
    Static(&'static str),
    /// `context.x`.
    Ctx(Var),
    /// `stageVariables.x`.
    StageVar(&'static str),
    /// `method.request.header.x`.
    Header(&'static str),
    /// `method.request.querystring.x`.
    Query(&'static str),
    /// `method.request.path.x`.
    Path(&'static str),
    /// `integration.response.header.x` (integration responses only).
    ResponseHeader(&'static str),
}

impl Source {
    /// Adds header `name` to an integration response with this source's value; nothing when
    /// the request has no value or it cannot be a header value.
    pub fn header(
        &self,
        builder: http::response::Builder,
        name: &'static str,
        cx: &Context,
        response_headers: Option<&http::HeaderMap>,
    ) -> http::response::Builder {
        match self
            .value(cx, response_headers)
            .and_then(|v| http::HeaderValue::from_str(&v).ok())
        {
            Some(v) => builder.header(name, v),
            None => builder,
        }
    }

    /// The value against a request (and, for integration responses, the backend's headers).
    pub fn value(
        &self,
        cx: &Context,
        response_headers: Option<&http::HeaderMap>,
    ) -> Option<String> {
        match self {
            Source::Static(s) => Some((*s).to_string()),
            Source::Ctx(v) => cx.var(*v).map(|s| s.into_owned()),
            Source::StageVar(n) => cx.stage_var(n).map(str::to_string),
            Source::Header(n) => cx.header(n).map(str::to_string),
            Source::Query(n) => cx.query_param(n),
            Source::Path(n) => cx.path_param(n).map(str::to_string),
            Source::ResponseHeader(n) => {
                response_headers?.get(*n)?.to_str().ok().map(str::to_string)
            }
        }
    }
}
