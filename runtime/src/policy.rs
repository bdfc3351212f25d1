//! IAM policy documents, as API Gateway evaluates them: resource policies
//! (`x-amazon-apigateway-policy`) and the identity policies of the principals the gateway
//! keeps. A statement applies when its principal, action, resource and every condition
//! match; an explicit `Deny` wins over any `Allow`, and neither is an implicit deny that the
//! caller of [`Policy::evaluate`] combines with the authorization type (AWS's table, in
//! [`crate::iam`]).
//!
//! Supported: `Principal`/`NotPrincipal` (`*`, `{"AWS": …}` with account ids, account roots
//! and IAM ARNs), `Action`/`NotAction` and `Resource`/`NotResource` with `*` and `?`
//! wildcards (`execute-api:/stage/METHOD/path` expanded to the API's ARN as AWS expands it on
//! import), and `Condition` with the String, Numeric, Date, Bool, IpAddress, Arn and Null
//! operators, their `…IfExists` forms and the `ForAnyValue:`/`ForAllValues:` qualifiers, on
//! the global keys a gateway knows (`aws:SourceIp`, `aws:PrincipalArn`, `aws:CurrentTime`, …).
//! Anything else is refused when the policy is read: a policy that cannot be evaluated is an
//! error, never a silent allow.

use std::net::IpAddr;

use serde_json::Value;

/// The condition keys the gateway supplies (lower case; IAM keys are case-insensitive).
/// `aws:SourceVpc`, `aws:SourceVpce` and `aws:PrincipalOrgID` are known but absent (a
/// self-hosted gateway has no VPC endpoint or organisation), so only their `…IfExists`,
/// negated and `Null` forms can match.
pub const KEYS: &[&str] = &[
    "aws:sourceip",
    "aws:sourcevpc",
    "aws:sourcevpce",
    "aws:vpcsourceip",
    "aws:principalarn",
    "aws:principalaccount",
    "aws:principaltype",
    "aws:principalorgid",
    "aws:userid",
    "aws:username",
    "aws:currenttime",
    "aws:epochtime",
    "aws:securetransport",
    "aws:useragent",
    "aws:referer",
    "aws:requestedregion",
    "execute-api:stage",
];

/// The condition operators (without `IfExists` and qualifiers).
pub const OPERATORS: &[&str] = &[
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
    "NumericEquals",
    "NumericNotEquals",
    "NumericLessThan",
    "NumericLessThanEquals",
    "NumericGreaterThan",
    "NumericGreaterThanEquals",
    "DateEquals",
    "DateNotEquals",
    "DateLessThan",
    "DateLessThanEquals",
    "DateGreaterThan",
    "DateGreaterThanEquals",
    "Bool",
    "BinaryEquals",
    "IpAddress",
    "NotIpAddress",
    "ArnEquals",
    "ArnLike",
    "ArnNotEquals",
    "ArnNotLike",
    "Null",
];

/// A parsed policy.
#[derive(Debug, Clone)]
pub struct Policy {
    statements: Vec<Statement>,
}

#[derive(Debug, Clone)]
struct Statement {
    allow: bool,
    principal: Option<(bool, Principals)>,
    action: (bool, Vec<String>),
    resource: (bool, Vec<String>),
    conditions: Vec<Condition>,
}

#[derive(Debug, Clone)]
enum Principals {
    Anyone,
    /// IAM ARNs, and accounts as `arn:aws:iam::{account}:root`.
    Arns(Vec<String>),
}

#[derive(Debug, Clone)]
struct Condition {
    op: &'static str,
    if_exists: bool,
    all_values: bool,
    key: String,
    values: Vec<String>,
}

/// Where `execute-api:/…` shorthand resources point.
#[derive(Debug, Clone)]
pub struct Scope {
    /// The region.
    pub region: String,
    /// The account id.
    pub account: String,
    /// The API id.
    pub api: String,
}

/// Who is calling, for principal matching and the `aws:Principal*` keys.
#[derive(Debug, Clone)]
pub struct Caller {
    /// `arn:aws:iam::{account}:user/{name}` (or `role/…`).
    pub arn: String,
    /// The account.
    pub account: String,
    /// The principal's unique id (`AIDA…`).
    pub user_id: String,
    /// The access key the request was signed with.
    pub access_key: String,
}

impl Caller {
    /// `User` for `…:user/…`, else `AssumedRole`/`Account` as the ARN says.
    fn principal_type(&self) -> &'static str {
        if self.arn.contains(":user/") {
            "User"
        } else if self.arn.ends_with(":root") {
            "Account"
        } else {
            "AssumedRole"
        }
    }
    /// The user name (`…:user/path/name` → `name`), for users.
    fn user_name(&self) -> Option<&str> {
        self.arn
            .split_once(":user/")
            .map(|(_, n)| n.rsplit('/').next().unwrap_or(n))
    }
}

/// One request, as policies see it.
pub struct Request<'a> {
    /// The authenticated caller; `None` is anonymous.
    pub caller: Option<&'a Caller>,
    /// `execute-api:Invoke`.
    pub action: &'a str,
    /// The method ARN.
    pub resource: &'a str,
    /// The client's address (`aws:SourceIp`).
    pub source_ip: IpAddr,
    /// Now, seconds since the epoch.
    pub now: u64,
    /// TLS (`aws:SecureTransport`).
    pub secure: bool,
    /// `User-Agent`.
    pub user_agent: Option<&'a str>,
    /// `Referer`.
    pub referer: Option<&'a str>,
    /// The gateway's region.
    pub region: &'a str,
    /// The stage.
    pub stage: &'a str,
}

/// What a policy says about a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// A statement allows it and none denies it.
    Allow,
    /// A statement denies it.
    Deny,
    /// No statement applies (an implicit deny).
    Neither,
}

impl Policy {
    /// Reads a policy document (its JSON); `scope` expands `execute-api:/…` resources.
    /// `resource_policy` says whether statements carry a `Principal` (resource policies)
    /// or must not (identity policies).
    pub fn parse(doc: &Value, scope: &Scope, resource_policy: bool) -> Result<Policy, String> {
        let doc = match doc {
            // A policy kept as text (a stage's or principal's policy file read as a string).
            Value::String(s) => &serde_json::from_str::<Value>(s)
                .map_err(|e| format!("the policy is not JSON: {e}"))?,
            d => d,
        };
        let obj = doc.as_object().ok_or("a policy is a JSON object")?;
        for k in obj.keys() {
            if !matches!(k.as_str(), "Version" | "Id" | "Statement") {
                return Err(format!("a policy has no field `{k}`"));
            }
        }
        let statements = match obj.get("Statement") {
            Some(Value::Array(a)) => a.iter().collect::<Vec<_>>(),
            Some(s @ Value::Object(_)) => vec![s],
            _ => return Err("a policy needs a `Statement` (an object or a list)".into()),
        };
        let statements = statements
            .into_iter()
            .enumerate()
            .map(|(i, s)| {
                statement(s, scope, resource_policy).map_err(|e| format!("Statement {i}: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Policy { statements })
    }

    /// The decision for `req`: an explicit deny wins, then an allow.
    pub fn evaluate(&self, req: &Request<'_>) -> Decision {
        let mut allowed = false;
        for s in &self.statements {
            if s.applies(req) {
                if !s.allow {
                    return Decision::Deny;
                }
                allowed = true;
            }
        }
        if allowed {
            Decision::Allow
        } else {
            Decision::Neither
        }
    }
}

fn strings(v: &Value, what: &str) -> Result<Vec<String>, String> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(a) => a
            .iter()
            .map(|x| match x {
                Value::String(s) => Ok(s.clone()),
                Value::Bool(b) => Ok(b.to_string()),
                Value::Number(n) => Ok(n.to_string()),
                _ => Err(format!("`{what}` holds strings")),
            })
            .collect(),
        Value::Bool(b) => Ok(vec![b.to_string()]),
        Value::Number(n) => Ok(vec![n.to_string()]),
        _ => Err(format!("`{what}` is a string or a list of strings")),
    }
}

fn statement(v: &Value, scope: &Scope, resource_policy: bool) -> Result<Statement, String> {
    let o = v.as_object().ok_or("a statement is an object")?;
    for k in o.keys() {
        if !matches!(
            k.as_str(),
            "Sid"
                | "Effect"
                | "Principal"
                | "NotPrincipal"
                | "Action"
                | "NotAction"
                | "Resource"
                | "NotResource"
                | "Condition"
        ) {
            return Err(format!("a statement has no field `{k}`"));
        }
    }
    let allow = match o.get("Effect").and_then(Value::as_str) {
        Some("Allow") => true,
        Some("Deny") => false,
        _ => return Err("`Effect` is `Allow` or `Deny`".into()),
    };
    let principal = match (o.get("Principal"), o.get("NotPrincipal")) {
        (Some(_), Some(_)) => {
            return Err("`Principal` and `NotPrincipal` exclude each other".into())
        }
        (Some(p), None) => Some((true, principals(p, scope)?)),
        (None, Some(p)) => Some((false, principals(p, scope)?)),
        (None, None) => None,
    };
    if resource_policy && principal.is_none() {
        return Err("a resource policy statement needs a `Principal` or `NotPrincipal`".into());
    }
    if !resource_policy && principal.is_some() {
        return Err("an identity policy names no `Principal` (it applies to its principal)".into());
    }
    let pair = |yes: &str, no: &str| -> Result<(bool, Vec<String>), String> {
        match (o.get(yes), o.get(no)) {
            (Some(_), Some(_)) => Err(format!("`{yes}` and `{no}` exclude each other")),
            (Some(v), None) => Ok((true, strings(v, yes)?)),
            (None, Some(v)) => Ok((false, strings(v, no)?)),
            (None, None) => Err(format!("a statement needs `{yes}` or `{no}`")),
        }
    };
    let action = pair("Action", "NotAction")?;
    for a in &action.1 {
        let service = a.split(':').next().unwrap_or("");
        if a != "*" && !service.eq_ignore_ascii_case("execute-api") {
            return Err(format!(
                "action `{a}` is not an API Gateway action (`execute-api:Invoke`, `execute-api:InvalidateCache`, `execute-api:*`)"
            ));
        }
    }
    let (positive, resources) = pair("Resource", "NotResource")?;
    let resources = resources
        .into_iter()
        .map(|r| expand(&r, scope))
        .collect::<Result<Vec<_>, _>>()?;
    let mut conditions = Vec::new();
    if let Some(c) = o.get("Condition") {
        let c = c.as_object().ok_or("`Condition` is an object")?;
        for (op, keys) in c {
            let keys = keys
                .as_object()
                .ok_or_else(|| format!("`{op}` maps condition keys to values"))?;
            let (qualifier, base) = match op.split_once(':') {
                Some((q, b)) => (Some(q), b),
                None => (None, op.as_str()),
            };
            let all_values = match qualifier {
                None | Some("ForAnyValue") => false,
                Some("ForAllValues") => true,
                Some(q) => {
                    return Err(format!(
                        "`{q}` is not a set operator (ForAnyValue, ForAllValues)"
                    ))
                }
            };
            let (name, if_exists) = match base.strip_suffix("IfExists") {
                Some(b) if b != "Null" => (b, true),
                _ => (base, false),
            };
            let op: &'static str = OPERATORS
                .iter()
                .find(|o| **o == name)
                .ok_or_else(|| format!("`{op}` is not a condition operator"))?;
            for (key, values) in keys {
                let lower = key.to_ascii_lowercase();
                if !KEYS.contains(&lower.as_str()) {
                    return Err(format!(
                        "condition key `{key}` is not one the gateway knows (aws:SourceIp, aws:SourceVpc, aws:SourceVpce, aws:PrincipalArn, aws:PrincipalAccount, aws:userid, aws:username, aws:CurrentTime, aws:EpochTime, aws:SecureTransport, aws:UserAgent, aws:Referer, …)"
                    ));
                }
                let values = strings(values, key)?;
                if op.ends_with("IpAddress") {
                    for v in &values {
                        cidr(v)
                            .ok_or_else(|| format!("`{v}` is not an IP address or CIDR block"))?;
                    }
                }
                if op.starts_with("Date") {
                    for v in &values {
                        date(v).ok_or_else(|| {
                            format!("`{v}` is not a date (ISO 8601 or epoch seconds)")
                        })?;
                    }
                }
                if op.starts_with("Numeric") {
                    for v in &values {
                        v.parse::<f64>()
                            .map_err(|_| format!("`{v}` is not a number"))?;
                    }
                }
                conditions.push(Condition {
                    op,
                    if_exists,
                    all_values,
                    key: lower,
                    values,
                });
            }
        }
    }
    Ok(Statement {
        allow,
        principal,
        action,
        resource: (positive, resources),
        conditions,
    })
}

fn principals(v: &Value, scope: &Scope) -> Result<Principals, String> {
    let _ = scope;
    let list = match v {
        Value::String(s) if s == "*" => return Ok(Principals::Anyone),
        Value::Object(o) => {
            let mut out = Vec::new();
            for (kind, ids) in o {
                if kind != "AWS" {
                    return Err(format!(
                        "principal type `{kind}` cannot call an API (only `AWS` principals sign requests)"
                    ));
                }
                out.extend(strings(ids, "AWS")?);
            }
            out
        }
        _ => return Err("`Principal` is `*` or `{\"AWS\": …}`".into()),
    };
    if list.iter().any(|p| p == "*") {
        return Ok(Principals::Anyone);
    }
    list.into_iter()
        .map(|p| {
            if p.len() == 12 && p.bytes().all(|b| b.is_ascii_digit()) {
                Ok(format!("arn:aws:iam::{p}:root"))
            } else if p.starts_with("arn:aws:iam::") || p.starts_with("arn:aws:sts::") {
                Ok(p)
            } else {
                Err(format!(
                    "principal `{p}` is not an account id or an IAM ARN"
                ))
            }
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Principals::Arns)
}

/// `execute-api:/stage/METHOD/path` → the API's ARN; ARNs and `*` stay as they are.
fn expand(r: &str, scope: &Scope) -> Result<String, String> {
    if r == "*" || r.starts_with("arn:") {
        return Ok(r.to_string());
    }
    if let Some(rest) = r.strip_prefix("execute-api:") {
        let rest = rest.strip_prefix('/').unwrap_or(rest);
        return Ok(format!(
            "arn:aws:execute-api:{}:{}:{}/{rest}",
            scope.region, scope.account, scope.api
        ));
    }
    Err(format!(
        "resource `{r}` is not an ARN or `execute-api:/stage/METHOD/path`"
    ))
}

/// AWS's wildcard match: `*` any run of characters, `?` one (a character, not a byte).
/// Iterative with one backtrack point, no allocation.
pub fn glob(pattern: &str, text: &str, ignore_case: bool) -> bool {
    let same = |a: char, b: char| a == b || (ignore_case && a.to_lowercase().eq(b.to_lowercase()));
    let (mut p, mut t) = (pattern.chars(), text.chars());
    // Where to resume after the last `*`: the pattern after it, the text one further on.
    let mut star: Option<(std::str::Chars<'_>, std::str::Chars<'_>)> = None;
    loop {
        let (pc, tc) = (p.clone().next(), t.clone().next());
        match (pc, tc) {
            (Some('*'), _) => {
                p.next();
                star = Some((p.clone(), t.clone()));
            }
            (Some(a), Some(b)) if a == '?' || same(a, b) => {
                p.next();
                t.next();
            }
            (None, None) => return true,
            (_, Some(_)) | (Some(_), None) => {
                let Some((sp, mut st)) = star.clone() else {
                    return false;
                };
                // The `*` takes one more character.
                if st.next().is_none() {
                    return false;
                }
                p = sp.clone();
                t = st.clone();
                star = Some((sp, st));
            }
        }
    }
}

fn cidr(v: &str) -> Option<ipnet::IpNet> {
    v.parse::<ipnet::IpNet>()
        .ok()
        .or_else(|| v.parse::<IpAddr>().ok().map(ipnet::IpNet::from))
}

/// An ISO 8601 date-time (or date) or epoch seconds, as seconds since the epoch.
fn date(v: &str) -> Option<i64> {
    if let Ok(n) = v.parse::<i64>() {
        return Some(n);
    }
    let d = v.get(..10)?;
    let day = crate::calendar::parse_day(d)?;
    let mut secs = day * 86_400;
    if let Some(t) = v.get(11..19) {
        let n = |r: std::ops::Range<usize>| t.get(r)?.parse::<i64>().ok();
        secs += n(0..2)? * 3600 + n(3..5)? * 60 + n(6..8)?;
    } else if v.len() > 10 {
        return None;
    }
    Some(secs)
}

impl Statement {
    fn applies(&self, req: &Request<'_>) -> bool {
        if let Some((positive, set)) = &self.principal {
            let inside = match set {
                Principals::Anyone => true,
                Principals::Arns(arns) => req.caller.is_some_and(|c| {
                    arns.iter()
                        .any(|a| *a == c.arn || *a == format!("arn:aws:iam::{}:root", c.account))
                }),
            };
            if inside != *positive {
                return false;
            }
        }
        let (positive, actions) = &self.action;
        if actions.iter().any(|a| glob(a, req.action, true)) != *positive {
            return false;
        }
        let (positive, resources) = &self.resource;
        if resources.iter().any(|r| glob(r, req.resource, false)) != *positive {
            return false;
        }
        self.conditions.iter().all(|c| c.holds(req))
    }
}

impl Condition {
    fn holds(&self, req: &Request<'_>) -> bool {
        let value = context_value(&self.key, req);
        if self.op == "Null" {
            let want_absent = self.values.iter().any(|v| v.eq_ignore_ascii_case("true"));
            return value.is_none() == want_absent;
        }
        let negated = self.op.contains("Not");
        let Some(value) = value else {
            // AWS: a missing key matches `…IfExists` and the negated operators only.
            return self.if_exists || negated;
        };
        // Single-valued keys: ForAllValues over one value is the same test.
        let _ = self.all_values;
        let any = self.values.iter().any(|v| self.matches(v, &value));
        if negated {
            !any
        } else {
            any
        }
    }

    fn matches(&self, want: &str, got: &str) -> bool {
        let op = self.op;
        if op.starts_with("String") {
            let like = op.contains("Like");
            let ci = op.contains("IgnoreCase");
            return if like {
                glob(want, got, false)
            } else if ci {
                want.eq_ignore_ascii_case(got)
            } else {
                want == got
            };
        }
        if op.starts_with("Arn") {
            return glob(want, got, false);
        }
        if op.starts_with("Numeric") || op.starts_with("Date") {
            let parse = |s: &str| -> Option<f64> {
                if op.starts_with("Date") {
                    date(s).map(|d| d as f64)
                } else {
                    s.parse().ok()
                }
            };
            let (Some(w), Some(g)) = (parse(want), parse(got)) else {
                return false;
            };
            let base = op.trim_start_matches("Numeric").trim_start_matches("Date");
            return match base {
                "Equals" | "NotEquals" => g == w,
                "LessThan" => g < w,
                "LessThanEquals" => g <= w,
                "GreaterThan" => g > w,
                "GreaterThanEquals" => g >= w,
                _ => false,
            };
        }
        if op == "Bool" {
            return want.eq_ignore_ascii_case(got);
        }
        if op.ends_with("IpAddress") {
            let (Some(net), Ok(ip)) = (cidr(want), got.parse::<IpAddr>()) else {
                return false;
            };
            return net.contains(&ip);
        }
        // BinaryEquals: base64 values compared as given.
        want == got
    }
}

fn context_value(key: &str, req: &Request<'_>) -> Option<String> {
    let c = req.caller;
    Some(match key {
        "aws:sourceip" => req.source_ip.to_string(),
        "aws:principalarn" => c?.arn.clone(),
        "aws:principalaccount" => c?.account.clone(),
        "aws:principaltype" => c.map_or("Anonymous", Caller::principal_type).to_string(),
        "aws:userid" => c.map_or("anonymous".to_string(), |c| c.user_id.clone()),
        "aws:username" => c?.user_name()?.to_string(),
        "aws:currenttime" => crate::calendar::format_iso(req.now),
        "aws:epochtime" => req.now.to_string(),
        "aws:securetransport" => req.secure.to_string(),
        "aws:useragent" => req.user_agent?.to_string(),
        "aws:referer" => req.referer?.to_string(),
        "aws:requestedregion" => req.region.to_string(),
        "execute-api:stage" => req.stage.to_string(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope() -> Scope {
        Scope {
            region: "us-east-1".into(),
            account: "123456789012".into(),
            api: "abc123".into(),
        }
    }

    fn req<'a>(caller: Option<&'a Caller>, ip: &str, resource: &'a str) -> Request<'a> {
        Request {
            caller,
            action: "execute-api:Invoke",
            resource,
            source_ip: ip.parse().unwrap(),
            now: 1_796_040_000,
            secure: false,
            user_agent: None,
            referer: None,
            region: "us-east-1",
            stage: "prod",
        }
    }

    #[test]
    fn ip_lists_and_explicit_deny() {
        let p = Policy::parse(
            &serde_json::json!({
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "execute-api:/*"},
                    {"Effect": "Deny", "Principal": "*", "Action": "execute-api:Invoke", "Resource": "execute-api:/*",
                     "Condition": {"NotIpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.0.2.7"]}}}
                ]
            }),
            &scope(),
            true,
        )
        .unwrap();
        let arn = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/pets";
        assert_eq!(p.evaluate(&req(None, "10.1.2.3", arn)), Decision::Allow);
        assert_eq!(p.evaluate(&req(None, "192.0.2.7", arn)), Decision::Allow);
        assert_eq!(p.evaluate(&req(None, "192.0.2.8", arn)), Decision::Deny);
        let other = "arn:aws:execute-api:us-east-1:123456789012:other/prod/GET/pets";
        assert_eq!(p.evaluate(&req(None, "10.1.2.3", other)), Decision::Neither);
    }

    #[test]
    fn principals_and_wildcards() {
        let p = Policy::parse(
            &serde_json::json!({
                "Statement": {"Effect": "Allow", "Principal": {"AWS": ["210987654321", "arn:aws:iam::123456789012:user/alice"]},
                              "Action": "execute-api:*", "Resource": "execute-api:/prod/GET/pets/*"}
            }),
            &scope(),
            true,
        )
        .unwrap();
        let alice = Caller {
            arn: "arn:aws:iam::123456789012:user/alice".into(),
            account: "123456789012".into(),
            user_id: "AIDAALICE".into(),
            access_key: "AKIAALICE".into(),
        };
        let bob = Caller {
            arn: "arn:aws:iam::123456789012:user/bob".into(),
            ..alice.clone()
        };
        let carol = Caller {
            arn: "arn:aws:iam::210987654321:user/carol".into(),
            account: "210987654321".into(),
            ..alice.clone()
        };
        let arn = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/GET/pets/7";
        assert_eq!(
            p.evaluate(&req(Some(&alice), "1.2.3.4", arn)),
            Decision::Allow
        );
        assert_eq!(
            p.evaluate(&req(Some(&bob), "1.2.3.4", arn)),
            Decision::Neither
        );
        assert_eq!(
            p.evaluate(&req(Some(&carol), "1.2.3.4", arn)),
            Decision::Allow
        );
        assert_eq!(p.evaluate(&req(None, "1.2.3.4", arn)), Decision::Neither);
        let post = "arn:aws:execute-api:us-east-1:123456789012:abc123/prod/POST/pets/7";
        assert_eq!(
            p.evaluate(&req(Some(&alice), "1.2.3.4", post)),
            Decision::Neither
        );
    }

    #[test]
    fn conditions_on_missing_keys_and_dates() {
        let p = Policy::parse(
            &serde_json::json!({"Statement": [
                {"Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*",
                 "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}},
            ]}),
            &scope(),
            true,
        )
        .unwrap();
        // No VPC endpoint here: the negated operator matches, the deny applies.
        assert_eq!(p.evaluate(&req(None, "1.2.3.4", "x")), Decision::Deny);
        let p = Policy::parse(
            &serde_json::json!({"Statement": [
                {"Effect": "Allow", "Action": "execute-api:Invoke", "Resource": "*",
                 "Condition": {"DateLessThan": {"aws:CurrentTime": "2027-01-01T00:00:00Z"},
                               "StringEqualsIfExists": {"aws:SourceVpc": "vpc-1"}}},
            ]}),
            &scope(),
            false,
        )
        .unwrap();
        assert_eq!(p.evaluate(&req(None, "1.2.3.4", "x")), Decision::Allow);
    }

    #[test]
    fn what_cannot_be_evaluated_is_refused() {
        let bad = [
            serde_json::json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*", "Condition": {"StringEquals": {"aws:SourceAccount": "1"}}}]}),
            serde_json::json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*", "Condition": {"StringSorta": {"aws:SourceIp": "1"}}}]}),
            serde_json::json!({"Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "*", "Resource": "*"}]}),
            serde_json::json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}]}),
            serde_json::json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*", "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/33"}}}]}),
            serde_json::json!({"Statement": [{"Effect": "Maybe", "Principal": "*", "Action": "*", "Resource": "*"}]}),
        ];
        for b in bad {
            assert!(Policy::parse(&b, &scope(), true).is_err(), "{b}");
        }
    }

    #[test]
    fn globs() {
        assert!(glob("a*c", "abbbc", false));
        assert!(glob("a?c", "abc", false));
        assert!(!glob("a?c", "abbc", false));
        assert!(glob("*", "", false));
        assert!(glob("EXECUTE-API:*", "execute-api:Invoke", true));
        assert!(!glob("a*b", "ac", false));
        assert!(glob("*/GET/*", "arn:x/prod/GET/pets/1", false));
        assert!(!glob("*/GET/*", "arn:x/prod/POST/pets/1", false));
        assert!(glob("a*b*c", "aXbYbZc", false));
        assert!(!glob("a*b*c", "aXbYbZ", false));
        assert!(glob("é?", "éü", false));
        assert!(glob("**", "", false));
        assert!(!glob("?", "", false));
    }
}
