//! The route table shown by `specgate routes`: what the gateway will answer, and what guards
//! each route.

use serde::Serialize;

use crate::ir::{Api, AuthorizerKind, IntegrationUri, Route, SchemeKind};

/// One row of the table.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RouteRow {
    /// `GET`, …, `ANY`.
    pub method: String,
    /// Path template, with the base path.
    pub path: String,
    /// Integration type, or `-`.
    pub integration: String,
    /// Backend URL, Lambda function, AWS service, or `-`.
    pub target: String,
    /// What authorises the caller: `none`, scheme names with their kind, `iam`.
    pub auth: String,
    /// Request validator name, or `-`.
    pub validator: String,
    /// `operationId`, or `-`.
    pub operation_id: String,
}

/// The rows, in document order.
pub fn table(api: &Api) -> Vec<RouteRow> {
    // API Gateway's importer ignores the servers' base path by default (`basepath=ignore`):
    // routes are served at the paths as written.
    api.routes.iter().map(|r| row(api, r, "")).collect()
}

fn row(api: &Api, r: &Route, base: &str) -> RouteRow {
    let (integration, target) = match &r.integration {
        None => ("-".to_string(), "-".to_string()),
        Some(i) => {
            let target = match i.uri.as_ref().map(|u| &u.value) {
                None => "-".to_string(),
                Some(IntegrationUri::Http(u)) => u.clone(),
                Some(IntegrationUri::Lambda { function, .. }) => format!("lambda:{function}"),
                Some(IntegrationUri::AwsService {
                    service,
                    kind,
                    target,
                    ..
                }) => {
                    format!("{service}:{kind}/{target}")
                }
                Some(IntegrationUri::Other(o) | IntegrationUri::Placeholder(o)) => o.clone(),
            };
            (i.kind.value.as_str().to_string(), target)
        }
    };
    let mut alternatives = Vec::new();
    if let Some(a) = &r.auth_type {
        if a.value == crate::ir::AuthType::AwsIam {
            alternatives.push("iam".to_string());
        }
    }
    for req in &r.security {
        let all: Vec<String> = req
            .schemes
            .iter()
            .map(|(name, scopes)| {
                let kind = api.security_schemes.get(&name.value).map(|s| {
                    if s.is_iam() {
                        "iam".to_string()
                    } else if s.is_api_key() {
                        "api-key".to_string()
                    } else if let Some(a) = &s.authorizer {
                        match a.kind {
                            AuthorizerKind::Token => "lambda-token",
                            AuthorizerKind::Request => "lambda-request",
                            AuthorizerKind::CognitoUserPools => "cognito",
                            AuthorizerKind::Jwt => "jwt",
                        }
                        .to_string()
                    } else {
                        match &s.kind {
                            SchemeKind::ApiKey { .. } => "api-key".into(),
                            SchemeKind::Http { scheme } => format!("http-{scheme}"),
                            SchemeKind::OAuth2 => "oauth2".into(),
                            SchemeKind::OpenIdConnect { .. } => "oidc".into(),
                        }
                    }
                });
                let mut s = format!("{}({})", name.value, kind.unwrap_or_else(|| "?".into()));
                if !scopes.is_empty() {
                    s.push_str(&format!("[{}]", scopes.join(" ")));
                }
                s
            })
            .collect();
        if all.is_empty() {
            alternatives.push("none".to_string());
        } else {
            alternatives.push(all.join(" + "));
        }
    }
    let auth = if alternatives.is_empty() {
        "none".to_string()
    } else {
        alternatives.join(" | ")
    };
    let path = if r.path.is_default {
        "$default".to_string()
    } else {
        format!("{base}{}", r.path.raw)
    };
    RouteRow {
        method: r.method.as_str().to_string(),
        path,
        integration,
        target,
        auth,
        validator: r
            .validator
            .as_ref()
            .map(|v| v.value.clone())
            .unwrap_or_else(|| "-".into()),
        operation_id: r.operation_id.clone().unwrap_or_else(|| "-".into()),
    }
}

/// The rows as an aligned text table.
pub fn render_text(rows: &[RouteRow]) -> String {
    let headers = [
        "METHOD",
        "PATH",
        "INTEGRATION",
        "TARGET",
        "AUTH",
        "VALIDATOR",
        "OPERATION",
    ];
    let cells: Vec<[&str; 7]> = rows
        .iter()
        .map(|r| {
            [
                r.method.as_str(),
                r.path.as_str(),
                r.integration.as_str(),
                r.target.as_str(),
                r.auth.as_str(),
                r.validator.as_str(),
                r.operation_id.as_str(),
            ]
        })
        .collect();
    let mut widths = headers.map(|h| h.chars().count());
    for row in &cells {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cols: &[&str; 7]| {
        let mut l = String::new();
        for (i, (c, w)) in cols.iter().zip(widths).enumerate() {
            l.push_str(c);
            if i + 1 < cols.len() {
                l.push_str(&" ".repeat(w - c.chars().count() + 2));
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(&headers);
    for row in &cells {
        line(row);
    }
    out
}
