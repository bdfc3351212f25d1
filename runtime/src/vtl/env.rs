//! What a compiled template reads (`$input`, `$context`, `$stageVariables`) and writes
//! (`$context.requestOverride.*`, `$context.responseOverride.*`).

use std::borrow::Cow;
use std::cell::OnceCell;

use serde_json::{Map, Value};

use super::{path_cow, render, PathError};
use crate::context::{Context, Var};

/// Why a template could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The payload a template read as JSON is not JSON: API Gateway answers 400
    /// `Could not process payload…` (recorded in 2015; the detail after it is Jayway's
    /// parser message on AWS and serde's here).
    Payload(String),
    /// A template error (a Java exception in a method, an invalid JSONPath): 500.
    Internal(String),
}

impl From<PathError> for Failure {
    fn from(e: PathError) -> Self {
        Failure::Internal(format!("invalid JSONPath: {}", e.0))
    }
}

/// Overrides a template wrote (reference §2.2), applied after it has rendered.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// `requestOverride.header.X` (a list value gives several headers).
    pub request_headers: Vec<(String, String)>,
    /// `requestOverride.querystring.X`.
    pub request_query: Vec<(String, String)>,
    /// `requestOverride.path.X`.
    pub request_path: Vec<(String, String)>,
    /// `responseOverride.header.X`.
    pub response_headers: Vec<(String, String)>,
    /// `responseOverride.status`: only an integer from 100 to 599 counts.
    pub status: Option<u16>,
}

impl Overrides {
    /// Whether nothing was overridden.
    pub fn is_empty(&self) -> bool {
        *self == Overrides::default()
    }
}

/// One template's inputs and the overrides it writes.
pub struct Env<'a> {
    cx: &'a Context,
    body: &'a [u8],
    doc: OnceCell<Result<Value, Failure>>,
    params: OnceCell<Value>,
    stage: OnceCell<Value>,
}

/// The override maps a template starts with: `{"requestOverride": {"header", "path",
/// "querystring"}, "responseOverride": {"header", "status"}}`. Templates read and write
/// them as maps; generated code gets them beside the [`Env`] (`ov`), so that variables can
/// borrow from the `Env` while the overrides change.
pub fn empty_overrides() -> Value {
    serde_json::json!({
        "requestOverride": {"header": {}, "path": {}, "querystring": {}},
        "responseOverride": {"header": {}, "status": null},
    })
}

impl<'a> Env<'a> {
    /// A template over `body` (the client's for request templates, the backend's for
    /// response templates) in the request's context.
    pub fn new(cx: &'a Context, body: &'a [u8]) -> Self {
        Env {
            cx,
            body,
            doc: OnceCell::new(),
            params: OnceCell::new(),
            stage: OnceCell::new(),
        }
    }

    /// The request context.
    pub fn cx(&self) -> &Context {
        self.cx
    }

    /// `$input.body`: the payload as text; an empty payload is `{}` (AWS-recorded).
    pub fn body(&self) -> Value {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Value::String("{}".into());
        }
        Value::String(String::from_utf8_lossy(self.body).into_owned())
    }

    /// The payload as JSONPath sees it (see [`super::input`]); a payload that starts like
    /// JSON but is not fails with [`Failure::Payload`].
    pub fn doc(&self) -> Result<&Value, Failure> {
        self.doc
            .get_or_init(|| {
                let text = self.body.trim_ascii_start();
                if matches!(text.first(), Some(b'{' | b'[')) {
                    serde_json::from_slice(self.body)
                        .map_err(|e| Failure::Payload(format!("Could not process payload: {e}")))
                } else {
                    Ok(super::input(self.body))
                }
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// `$input.path(p)`.
    pub fn path(&self, p: &str) -> Result<Cow<'_, Value>, Failure> {
        Ok(path_cow(self.doc()?, p)?)
    }

    /// `$input.json(p)`.
    pub fn json(&self, p: &str) -> Result<Value, Failure> {
        Ok(Value::String(super::json(self.doc()?, p)?))
    }

    /// `$input.params()`: `{"path": {…}, "querystring": {…}, "header": {…}}`.
    pub fn params(&self) -> &Value {
        self.params.get_or_init(|| {
            let cx = self.cx;
            let mut path = Map::new();
            for (k, v) in cx.path_params.iter() {
                path.insert(k.to_string(), Value::String(v.to_string()));
            }
            let mut query = Map::new();
            if let Some(q) = cx.query.as_deref() {
                for kv in q.split('&').filter(|kv| !kv.is_empty()) {
                    let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                    // The last value of a repeated name wins (as API Gateway maps it).
                    query.insert(
                        crate::path::decode_query(k),
                        Value::String(crate::path::decode_query(v)),
                    );
                }
            }
            let mut header = Map::new();
            for (k, v) in cx.headers.fields() {
                let (Ok(k), Some(v)) = (std::str::from_utf8(k), crate::headers::as_text(v)) else {
                    continue;
                };
                // API Gateway shows header names as the client sent them; a repeated name
                // (in any case) keeps its first spelling and its last value.
                let name = crate::context::header_name_as_sent(cx, k);
                let value = Value::String(v.to_string());
                match header
                    .iter_mut()
                    .find(|(n, _)| n.eq_ignore_ascii_case(&name))
                {
                    Some((_, old)) => *old = value,
                    None => {
                        header.insert(name.into_owned(), value);
                    }
                }
            }
            serde_json::json!({"path": path, "querystring": query, "header": header})
        })
    }

    /// `$input.params(name)`: path, then query string, then header (by any case); `""`
    /// when none has it.
    pub fn param(&self, name: &str) -> Value {
        let cx = self.cx;
        if let Some(v) = cx.path_param(name) {
            return Value::String(v.to_string());
        }
        if let Some(v) = cx.query_param(name) {
            return Value::String(v);
        }
        // The last field of that name, read where it arrived (no header map built).
        let header = cx
            .headers
            .values(name)
            .last()
            .and_then(crate::headers::as_text);
        Value::String(header.unwrap_or("").to_string())
    }

    /// A `$context` variable the runtime knows.
    pub fn context(&self, v: Var) -> Value {
        self.cx
            .var(v)
            .map_or(Value::Null, |s| Value::String(s.into_owned()))
    }

    /// `$context` as one map (with the override maps `ov`), for templates that index it
    /// dynamically.
    pub fn context_map(&self, ov: &Value) -> Value {
        let mut m = Map::new();
        for (name, var) in [
            ("requestId", Var::RequestId),
            ("extendedRequestId", Var::ExtendedRequestId),
            ("httpMethod", Var::HttpMethod),
            ("path", Var::Path),
            ("resourcePath", Var::ResourcePath),
            ("resourceId", Var::ResourceId),
            ("stage", Var::Stage),
            ("requestTime", Var::RequestTime),
            ("requestTimeEpoch", Var::RequestTimeEpoch),
            ("domainName", Var::DomainName),
            ("domainPrefix", Var::DomainPrefix),
            ("protocol", Var::Protocol),
            ("apiId", Var::ApiId),
            ("accountId", Var::AccountId),
        ] {
            m.insert(name.into(), self.context(var));
        }
        m.insert(
            "identity".into(),
            serde_json::json!({
                "sourceIp": self.context(Var::SourceIp),
                "userAgent": self.context(Var::UserAgent),
                "apiKey": self.context(Var::ApiKey),
                "apiKeyId": self.context(Var::ApiKeyId),
                "caller": self.context(Var::IdentityCaller),
                "user": self.context(Var::IdentityUser),
                "userArn": self.context(Var::IdentityUserArn),
                "accountId": self.context(Var::IdentityAccountId),
                "accessKey": self.context(Var::IdentityAccessKey),
            }),
        );
        m.insert("authorizer".into(), self.authorizer().clone());
        if let Value::Object(o) = ov {
            m.extend(o.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        Value::Object(m)
    }

    /// `$context.authorizer`: what the request's authorizer returned (`principalId`, its
    /// context, or a JWT's `claims`); null without an authorizer.
    pub fn authorizer(&self) -> &Value {
        self.cx.authorizer.as_ref().unwrap_or(&super::ops::NULL)
    }

    /// `$stageVariables.name`.
    pub fn stage_var(&self, name: &str) -> Value {
        self.cx
            .stage_var(name)
            .map_or(Value::Null, |s| Value::String(s.to_string()))
    }

    /// `$stageVariables` as a map.
    pub fn stage_vars(&self) -> &Value {
        self.stage.get_or_init(|| {
            Value::Object(
                self.cx
                    .stage_vars
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect(),
            )
        })
    }
}

/// Reads the override maps a template wrote.
pub fn overrides(v: &Value) -> Overrides {
    let pairs = |section: &str, kind: &str| -> Vec<(String, String)> {
        let Some(Value::Object(m)) = v.get(section).and_then(|s| s.get(kind)) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, v) in m {
            match v {
                Value::Null => {}
                Value::Array(items) => {
                    out.extend(items.iter().map(|i| (k.clone(), render(i))));
                }
                other => out.push((k.clone(), render(other))),
            }
        }
        out
    };
    let status = v
        .get("responseOverride")
        .and_then(|r| r.get("status"))
        .and_then(Value::as_u64)
        .filter(|s| (100..=599).contains(s))
        .map(|s| s as u16);
    Overrides {
        request_headers: pairs("requestOverride", "header"),
        request_query: pairs("requestOverride", "querystring"),
        request_path: pairs("requestOverride", "path"),
        response_headers: pairs("responseOverride", "header"),
        status,
    }
}

#[cfg(test)]
mod tests {
    /// `$input.params().header` names the headers as the client sent them; a name repeated
    /// in another case is one header, under its first spelling, with its last value.
    #[test]
    fn params_header_names_are_as_sent() {
        let mut parts = http::Request::new(()).into_parts().0;
        let mut cx = crate::context::Context::for_tests(&mut parts);
        cx.headers = crate::headers::Headers::parse_for_tests(
            b"GET / HTTP/1.1\r\nHost: h\r\ntEsT-HEADeR: aValUE\r\nx-many: 1\r\nX-MANY: 2\r\n\r\n",
        );
        let env = super::Env::new(&cx, b"");
        assert_eq!(
            env.params()["header"],
            serde_json::json!({"Host": "h", "tEsT-HEADeR": "aValUE", "x-many": "2"})
        );
        let keys: Vec<&String> = env.params()["header"].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["Host", "tEsT-HEADeR", "x-many"]);
        // `$input.params(name)`: a header by any case, its last value; "" when none.
        assert_eq!(env.param("X-Many"), "2");
        assert_eq!(env.param("test-header"), "aValUE");
        assert_eq!(env.param("absent"), "");
        assert_eq!(env.param("not a name"), "");
        assert!(!cx.headers.is_built(), "no header map was built");
    }
}
