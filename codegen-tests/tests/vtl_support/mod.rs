//! Shared by the VTL conformance test and the VTL benchmark: the request context a
//! conformance case describes, and a tree-walking interpreter over specgate's parsed
//! templates — the baseline compiled templates are measured against.
//!
//! The interpreter is what a template engine without code generation does: it walks the
//! syntax tree for every render, keeps variables in a hash map of owned values, looks
//! methods up by name and copies what it reads. It calls the same runtime operations as the
//! generated code (`specgate_runtime::vtl::ops`), so the two differ in how they execute a
//! template, not in what a method or operator means; the conformance test checks that it
//! renders every case exactly as the compiled code does.

#![allow(dead_code)]

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use serde_json::{Map, Value};
use specgate::vtl::{Access, BinOp, Expr, Node, Ref, Template, UnOp};
use specgate::vtl_gen::RESERVED;
use specgate_runtime::context::Context;
use specgate_runtime::vtl::{self, ops, ops::Arith, Env, Failure, M};

/// The conformance cases (`vtl/conformance.yaml`, as the build script wrote them).
pub fn cases() -> Vec<Value> {
    let text = include_str!(concat!(env!("OUT_DIR"), "/vtl-cases.json"));
    serde_json::from_str::<Value>(text)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// A case field as text (absent is empty).
pub fn string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The request context a conformance case (or benchmark input) describes.
pub fn context(case: &Value) -> Context {
    let method = case["method"].as_str().unwrap_or("POST");
    let path = case["request_path"].as_str().unwrap_or("/test/items");
    let uri = match case["query"].as_str() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_string(),
    };
    let mut req = http::Request::builder()
        .method(method)
        .uri(uri)
        .version(http::Version::HTTP_11);
    if let Some(headers) = case["headers"].as_array() {
        for h in headers {
            req = req.header(h[0].as_str().unwrap(), h[1].as_str().unwrap());
        }
    }
    let (mut parts, ()) = req.body(()).unwrap().into_parts();
    let stage_vars: Vec<(String, String)> = case["stage_variables"]
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), string(v))).collect())
        .unwrap_or_default();
    let peer: SocketAddr = "203.0.113.7:4711".parse().unwrap();
    let mut cx = Context::new(&mut parts, peer, Arc::from("test"), Arc::new(stage_vars));
    let resource = case["resource_path"].as_str().unwrap_or("/items");
    cx.resource_path = Box::leak(resource.to_string().into_boxed_str());
    if !case["authorizer"].is_null() {
        cx.authorizer = Some(case["authorizer"].clone());
    }
    if let Some(params) = case["path_params"].as_object() {
        for (k, v) in params {
            let name: &'static str = Box::leak(k.clone().into_boxed_str());
            let v = string(v);
            cx.bind(name, &v, &v);
        }
    }
    cx
}

/// How a block ended.
enum Flow {
    Next,
    Break,
    Stop,
}

struct Loop {
    index: usize,
    len: usize,
}

/// Renders `t` (parsed from `src`) by walking it.
pub fn render(t: &Template, src: &str, env: &Env<'_>, ov: &mut Value) -> Result<String, Failure> {
    let mut macros = HashMap::new();
    collect_macros(&t.nodes, &mut macros);
    let mut i = Interp {
        src,
        env,
        ov,
        vars: HashMap::new(),
        defines: HashMap::new(),
        macros,
        loops: Vec::new(),
        overridden: Vec::new(),
    };
    let mut out = String::new();
    i.block(&t.nodes, &mut out)?;
    Ok(out)
}

type Macros<'t> = HashMap<&'t str, (&'t [String], &'t [Node])>;

fn collect_macros<'t>(nodes: &'t [Node], into: &mut Macros<'t>) {
    for n in nodes {
        match n {
            Node::Macro { name, params, body } => {
                into.insert(name, (params, body));
                collect_macros(body, into);
            }
            Node::If {
                branches,
                otherwise,
            } => {
                for (_, b) in branches {
                    collect_macros(b, into);
                }
                if let Some(b) = otherwise {
                    collect_macros(b, into);
                }
            }
            Node::Foreach { body, .. } | Node::Define { body, .. } => collect_macros(body, into),
            _ => {}
        }
    }
}

struct Interp<'t, 'a, 'e> {
    src: &'t str,
    env: &'a Env<'e>,
    ov: &'a mut Value,
    vars: HashMap<String, Value>,
    defines: HashMap<String, &'t [Node]>,
    macros: Macros<'t>,
    loops: Vec<Loop>,
    overridden: Vec<String>,
}

impl<'t> Interp<'t, '_, '_> {
    fn block(&mut self, nodes: &'t [Node], out: &mut String) -> Result<Flow, Failure> {
        for n in nodes {
            match self.node(n, out)? {
                Flow::Next => {}
                flow => return Ok(flow),
            }
        }
        Ok(Flow::Next)
    }

    fn node(&mut self, n: &'t Node, out: &mut String) -> Result<Flow, Failure> {
        match n {
            Node::Text(t) => out.push_str(t),
            Node::Ref(r) => {
                let v = self.reference(r)?;
                ops::put(out, &v);
            }
            Node::Escaped(r, raw) => {
                if self.reference(r)?.is_null() {
                    out.push('\\');
                }
                out.push_str(raw);
            }
            Node::Set { target, value } => {
                let v = self.expr(value)?;
                self.assign(target, v)?;
            }
            Node::If {
                branches,
                otherwise,
            } => {
                for (c, body) in branches {
                    if vtl::truthy(&self.expr(c)?) {
                        return self.block(body, out);
                    }
                }
                if let Some(body) = otherwise {
                    return self.block(body, out);
                }
            }
            Node::Foreach {
                var,
                iterable,
                body,
            } => return self.foreach(var, iterable, body, out),
            // `#break` outside a loop ends the template, as in the generated code.
            Node::Break if self.loops.is_empty() => return Ok(Flow::Stop),
            Node::Break => return Ok(Flow::Break),
            Node::Stop => return Ok(Flow::Stop),
            Node::Define { name, body } => {
                self.defines.insert(name.clone(), body);
            }
            Node::Macro { .. } => {}
            Node::Call { name, args, .. } => {
                let Some((params, body)) = self.macros.get(name.as_str()).copied() else {
                    return Ok(Flow::Next);
                };
                let mut saved = Vec::new();
                for (p, a) in params.iter().zip(args) {
                    let v = self.expr(a)?;
                    saved.push((p, self.vars.insert(p.clone(), v)));
                }
                let flow = self.block(body, out)?;
                for (p, old) in saved.into_iter().rev() {
                    match old {
                        Some(v) => self.vars.insert(p.clone(), v),
                        None => self.vars.remove(p.as_str()),
                    };
                }
                if let Flow::Stop = flow {
                    return Ok(Flow::Stop);
                }
            }
        }
        Ok(Flow::Next)
    }

    fn foreach(
        &mut self,
        var: &str,
        iterable: &'t Expr,
        body: &'t [Node],
        out: &mut String,
    ) -> Result<Flow, Failure> {
        let items: Vec<Value> = ops::items(Cow::Owned(self.expr(iterable)?))
            .into_iter()
            .map(Cow::into_owned)
            .collect();
        let old = self.vars.remove(var);
        let len = items.len();
        self.loops.push(Loop { index: 0, len });
        let mut flow = Flow::Next;
        for (index, item) in items.into_iter().take(ops::MAX_LOOP).enumerate() {
            self.loops.last_mut().expect("pushed").index = index;
            self.vars.insert(var.to_string(), item);
            match self.block(body, out)? {
                Flow::Next => {}
                Flow::Break => break,
                Flow::Stop => {
                    flow = Flow::Stop;
                    break;
                }
            }
        }
        self.loops.pop();
        match old {
            Some(v) => self.vars.insert(var.to_string(), v),
            None => self.vars.remove(var),
        };
        Ok(flow)
    }

    fn is_local(&self, name: &str) -> bool {
        self.vars.contains_key(name) || !RESERVED.contains(&name)
    }

    /// The keys of a path of properties and indexes (`None` when a method is on it).
    fn keys(&mut self, path: &'t [Access]) -> Result<Option<Vec<Value>>, Failure> {
        let mut keys = Vec::new();
        for a in path {
            match a {
                Access::Prop(p) => keys.push(Value::String(p.clone())),
                Access::Index(e) => keys.push(self.expr(e)?),
                Access::Method(..) => return Ok(None),
            }
        }
        Ok(Some(keys))
    }

    fn assign(&mut self, target: &'t Ref, v: Value) -> Result<(), Failure> {
        let name = target.name.as_str();
        if target.path.is_empty() {
            self.vars.insert(name.to_string(), v);
            return Ok(());
        }
        if name == "context" && !self.vars.contains_key(name) {
            if let Some(keys) = self.keys(&target.path)? {
                let overrides = matches!(
                    keys.first().and_then(Value::as_str),
                    Some("requestOverride" | "responseOverride")
                );
                if overrides {
                    ops::set_override(self.ov, &keys, v, &mut self.overridden)?;
                }
            }
            return Ok(());
        }
        if !self.is_local(name) {
            return Ok(());
        }
        let Some(keys) = self.keys(&target.path)? else {
            return Ok(());
        };
        let root = self.vars.entry(name.to_string()).or_insert(Value::Null);
        ops::set_at(root, &keys, v);
        Ok(())
    }

    fn reference(&mut self, r: &'t Ref) -> Result<Value, Failure> {
        let name = r.name.as_str();
        let (base, rest): (Value, &'t [Access]) = if self.vars.contains_key(name) {
            (self.vars[name].clone(), &r.path)
        } else if let Some(body) = self.defines.get(name).copied() {
            let mut s = String::new();
            self.block(body, &mut s)?;
            (Value::String(s), &r.path)
        } else {
            match name {
                "input" => return self.input(r),
                "util" => return self.util(r),
                "context" => (self.env.context_map(self.ov), &r.path),
                "stageVariables" => (self.env.stage_vars().clone(), &r.path),
                "foreach" => {
                    let Some(Access::Prop(p)) = r.path.first() else {
                        return Ok(Value::Null);
                    };
                    let Some(l) = self.loops.last() else {
                        return Ok(Value::Null);
                    };
                    let v = match p.as_str() {
                        "index" => Value::from(l.index),
                        "count" => Value::from(l.index + 1),
                        "hasNext" => Value::Bool(l.index + 1 < l.len),
                        "first" => Value::Bool(l.index == 0),
                        "last" => Value::Bool(l.index + 1 == l.len),
                        _ => Value::Null,
                    };
                    (v, &r.path[1..])
                }
                "velocityCount" => (
                    self.loops
                        .last()
                        .map_or(Value::Null, |l| Value::from(l.index + 1)),
                    &r.path,
                ),
                _ => (Value::Null, &r.path),
            }
        };
        self.accesses(base, rest, Some(r))
    }

    fn input(&mut self, r: &'t Ref) -> Result<Value, Failure> {
        let (base, rest) = match r.path.first() {
            Some(Access::Prop(p)) if p == "body" => (self.env.body(), &r.path[1..]),
            Some(Access::Method(m, args)) => {
                let arg = match args.first() {
                    Some(a) => Some(string(&self.expr(a)?)),
                    None => None,
                };
                let v = match (m.as_str(), arg) {
                    ("body", None) => self.env.body(),
                    ("path", Some(p)) => self.env.path(&p)?.into_owned(),
                    ("json", Some(p)) => self.env.json(&p)?,
                    ("params", None) => self.env.params().clone(),
                    ("params", Some(p)) => self.env.param(&p),
                    _ => Value::Null,
                };
                (v, &r.path[1..])
            }
            _ => return Ok(Value::Null),
        };
        self.accesses(base, rest, None)
    }

    fn util(&mut self, r: &'t Ref) -> Result<Value, Failure> {
        let Some(Access::Method(m, args)) = r.path.first() else {
            return Ok(Value::Null);
        };
        let a = match args.first() {
            Some(a) => string(&self.expr(a)?),
            None => String::new(),
        };
        let v = match m.as_str() {
            "escapeJavaScript" => Value::String(vtl::escape_javascript(&a)),
            "urlEncode" => Value::String(vtl::url_encode(&a)),
            "urlDecode" => Value::String(vtl::url_decode(&a)),
            "base64Encode" => Value::String(vtl::base64_encode(&a)),
            "base64Decode" => Value::String(
                vtl::base64_decode(&a)
                    .ok_or_else(|| Failure::Internal("$util.base64Decode: not base64".into()))?,
            ),
            "parseJson" => vtl::parse_json(&a)
                .ok_or_else(|| Failure::Internal("$util.parseJson: not JSON".into()))?,
            _ => Value::Null,
        };
        self.accesses(v, &r.path[1..], None)
    }

    /// Applies `path` to `base`; `root` is the variable (or `$context`) `base` was read
    /// from, so that a mutating method changes it in place.
    fn accesses(
        &mut self,
        base: Value,
        path: &'t [Access],
        root: Option<&'t Ref>,
    ) -> Result<Value, Failure> {
        let mut cur = base;
        for (k, a) in path.iter().enumerate() {
            cur = match a {
                Access::Prop(p) => ops::prop(Cow::Owned(cur), p).into_owned(),
                Access::Index(e) => {
                    let key = self.expr(e)?;
                    ops::index(Cow::Owned(cur), &key).into_owned()
                }
                Access::Method(name, args) => {
                    let Some(m) = M::from_java_name(name) else {
                        return Ok(Value::Null);
                    };
                    let mut values = Vec::with_capacity(args.len());
                    for a in args {
                        values.push(self.expr(a)?);
                    }
                    if m.mutates() {
                        self.call_mut(cur, m, values, root, &path[..k])?
                    } else {
                        ops::call(&cur, m, &values)?
                    }
                }
            };
        }
        Ok(cur)
    }

    /// A mutating method: on the variable (or override map) the receiver was read from when
    /// there is one, else on the copy.
    fn call_mut(
        &mut self,
        mut receiver: Value,
        m: M,
        args: Vec<Value>,
        root: Option<&'t Ref>,
        prefix: &'t [Access],
    ) -> Result<Value, Failure> {
        let Some(r) = root else {
            return ops::call_mut(Some(&mut receiver), m, args);
        };
        let Some(keys) = self.keys(prefix)? else {
            return ops::call_mut(Some(&mut receiver), m, args);
        };
        let name = r.name.as_str();
        if let Some(v) = self.vars.get_mut(name) {
            return ops::call_mut(ops::place_mut(v, &keys), m, args);
        }
        let overrides = name == "context"
            && matches!(
                keys.first().and_then(Value::as_str),
                Some("requestOverride" | "responseOverride")
            );
        if overrides {
            return ops::call_mut(ops::place_mut(self.ov, &keys), m, args);
        }
        ops::call_mut(Some(&mut receiver), m, args)
    }

    fn literal(&self, e: &Expr) -> String {
        match e {
            Expr::Ref(r) => self.src.get(r.span.clone()).unwrap_or_default().to_string(),
            _ => String::new(),
        }
    }

    fn expr(&mut self, e: &'t Expr) -> Result<Value, Failure> {
        Ok(match e {
            Expr::Ref(r) => self.reference(r)?,
            Expr::Str(s) => Value::String(s.clone()),
            Expr::Interpolated(nodes) => {
                let mut s = String::new();
                self.block(nodes, &mut s)?;
                Value::String(s)
            }
            Expr::Int(i) => Value::from(*i),
            Expr::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Expr::Bool(b) => Value::Bool(*b),
            Expr::Null => Value::Null,
            Expr::List(items) => {
                let mut out = Vec::with_capacity(items.len());
                for i in items {
                    out.push(self.expr(i)?);
                }
                Value::Array(out)
            }
            Expr::Range(a, b) => {
                let (a, b) = (self.expr(a)?, self.expr(b)?);
                ops::range(&a, &b)
            }
            Expr::Map(entries) => {
                let mut m = Map::new();
                for (k, v) in entries {
                    let k = vtl::render(&self.expr(k)?);
                    let v = self.expr(v)?;
                    m.insert(k, v);
                }
                Value::Object(m)
            }
            Expr::Unary(UnOp::Not, x) => Value::Bool(!vtl::truthy(&self.expr(x)?)),
            Expr::Unary(UnOp::Neg, x) => ops::neg(&self.expr(x)?),
            Expr::Binary(op, a, b) => match op {
                BinOp::And => {
                    Value::Bool(vtl::truthy(&self.expr(a)?) && vtl::truthy(&self.expr(b)?))
                }
                BinOp::Or => {
                    Value::Bool(vtl::truthy(&self.expr(a)?) || vtl::truthy(&self.expr(b)?))
                }
                _ => {
                    let (x, y) = (self.expr(a)?, self.expr(b)?);
                    match op {
                        BinOp::Eq => Value::Bool(ops::eq(&x, &y)),
                        BinOp::Ne => Value::Bool(!ops::eq(&x, &y)),
                        BinOp::Lt => Value::Bool(ops::compare(&x, &y) == Some(Ordering::Less)),
                        BinOp::Le => Value::Bool(matches!(
                            ops::compare(&x, &y),
                            Some(Ordering::Less | Ordering::Equal)
                        )),
                        BinOp::Gt => Value::Bool(ops::compare(&x, &y) == Some(Ordering::Greater)),
                        BinOp::Ge => Value::Bool(matches!(
                            ops::compare(&x, &y),
                            Some(Ordering::Greater | Ordering::Equal)
                        )),
                        BinOp::Add => ops::add(&x, &y, &self.literal(a), &self.literal(b)),
                        BinOp::Sub => ops::arith(Arith::Sub, &x, &y),
                        BinOp::Mul => ops::arith(Arith::Mul, &x, &y),
                        BinOp::Div => ops::arith(Arith::Div, &x, &y),
                        _ => ops::arith(Arith::Rem, &x, &y),
                    }
                }
            },
        })
    }
}
