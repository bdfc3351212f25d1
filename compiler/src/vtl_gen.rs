//! Compiles a parsed mapping template ([`crate::vtl`]) into a Rust function.
//!
//! The function takes the template's environment (`&mut vtl::Env`: `$input`, `$context`,
//! `$stageVariables`, the override maps) and returns the rendered text. Every Velocity
//! variable becomes a Rust local; `$input`, `$util`, `$context`, `$stageVariables`,
//! `$foreach` and `$velocityCount` are resolved here, at compile time, into direct calls;
//! method names become `vtl::M` variants; macros and `#define` blocks are inlined where
//! they are used; constant strings, lists and maps are built once. Values travel as
//! `Cow<Value>`, so reading a variable or a member of one copies nothing.
//!
//! What the generated code may not do is refused here with the offset of the construct in
//! the template, so the compiler reports it in the spec instead of a gateway failing later.

use std::collections::{HashMap, HashSet};

use proc_macro2::{Ident, TokenStream};
use quote::{format_ident, quote};

use crate::vtl::{Access, BinOp, Expr, Node, Ref, Template, UnOp};

/// A construct the generator cannot compile, with its offset in the template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    /// Byte offset into the template.
    pub offset: usize,
    /// What is not supported.
    pub message: String,
}

/// Java method names templates may call, and the runtime's `vtl::M` variant for each.
pub const METHODS: &[(&str, &str)] = &[
    ("size", "Size"),
    ("isEmpty", "IsEmpty"),
    ("get", "Get"),
    ("getOrDefault", "GetOrDefault"),
    ("containsKey", "ContainsKey"),
    ("containsValue", "ContainsValue"),
    ("keySet", "KeySet"),
    ("values", "Values"),
    ("entrySet", "EntrySet"),
    ("put", "Put"),
    ("putAll", "PutAll"),
    ("remove", "Remove"),
    ("clear", "Clear"),
    ("add", "Add"),
    ("addAll", "AddAll"),
    ("set", "Set"),
    ("subList", "SubList"),
    ("contains", "Contains"),
    ("indexOf", "IndexOf"),
    ("lastIndexOf", "LastIndexOf"),
    ("length", "Length"),
    ("substring", "Substring"),
    ("replace", "Replace"),
    ("replaceAll", "ReplaceAll"),
    ("replaceFirst", "ReplaceFirst"),
    ("toLowerCase", "ToLowerCase"),
    ("toUpperCase", "ToUpperCase"),
    ("trim", "Trim"),
    ("split", "Split"),
    ("startsWith", "StartsWith"),
    ("endsWith", "EndsWith"),
    ("equals", "Equals"),
    ("equalsIgnoreCase", "EqualsIgnoreCase"),
    ("matches", "Matches"),
    ("charAt", "CharAt"),
    ("concat", "Concat"),
    ("toString", "ToString"),
    ("intValue", "IntValue"),
    ("doubleValue", "DoubleValue"),
    ("booleanValue", "BooleanValue"),
    ("compareTo", "CompareTo"),
];

/// Methods that change their receiver.
const MUTATING: &[&str] = &["put", "putAll", "remove", "clear", "add", "addAll", "set"];

/// `$util` functions: name → (argument count, runtime call on the argument's text).
const UTIL: &[&str] = &[
    "escapeJavaScript",
    "urlEncode",
    "urlDecode",
    "base64Encode",
    "base64Decode",
    "parseJson",
];

/// Names that are not template variables.
pub const RESERVED: &[&str] = &[
    "input",
    "util",
    "context",
    "stageVariables",
    "foreach",
    "velocityCount",
];

struct Loop {
    label: syn::Lifetime,
    index: Ident,
    len: Ident,
    used_break: bool,
    used_index: bool,
}

struct Gen<'t> {
    /// The template's text (for the literal form of references).
    src: &'t str,
    vars: HashMap<String, Ident>,
    assigned: HashSet<String>,
    scopes: Vec<HashMap<String, Ident>>,
    loops: Vec<Loop>,
    macros: HashMap<String, (&'t [String], &'t [Node])>,
    defines: HashMap<String, &'t [Node]>,
    inlining: Vec<String>,
    /// The template sets overrides (the function tracks which).
    overrides: bool,
    /// Generating a value that is kept (in a variable, a loop, a macro argument): it must
    /// not borrow a variable, so variables are re-borrowed from what they borrow.
    storing: bool,
    /// The template reads or writes `$context.requestOverride`/`responseOverride` (or the
    /// whole `$context`): its override maps must exist before it runs.
    touches_overrides: bool,
    statics: Vec<TokenStream>,
    n: usize,
    errors: Vec<Unsupported>,
}

/// Compiles `t` (parsed from `src`) into
/// `fn #name(env: &Env<'_>, ov: &mut Value) -> Result<String, Failure>`.
pub fn compile(
    t: &Template,
    src: &str,
    name: &Ident,
    doc: &str,
) -> Result<TokenStream, Vec<Unsupported>> {
    let mut g = Gen {
        src,
        vars: HashMap::new(),
        assigned: HashSet::new(),
        scopes: Vec::new(),
        loops: Vec::new(),
        macros: HashMap::new(),
        defines: HashMap::new(),
        inlining: Vec::new(),
        storing: false,
        touches_overrides: false,
        overrides: false,
        statics: Vec::new(),
        n: 0,
        errors: Vec::new(),
    };
    g.collect(&t.nodes);
    let out = format_ident!("out");
    let body = g.nodes(&t.nodes, &out);
    if !g.errors.is_empty() {
        return Err(g.errors);
    }
    let mut locals: Vec<(&String, &Ident)> = g.vars.iter().collect();
    locals.sort();
    let locals = locals
        .into_iter()
        .map(|(_, v)| quote!(let mut #v: Cow<'_, Value> = Cow::Borrowed(&ops::NULL);));
    let statics = &g.statics;
    let tracker = g
        .overrides
        .then(|| quote!(let mut overridden: Vec<String> = Vec::new();));
    // Templates that never touch the override maps leave them unbuilt (null): most do not,
    // and building them costs a handful of allocations per request.
    let ensure = g
        .touches_overrides
        .then(|| quote!(ops::ensure_overrides(ov);));
    let capacity = text_len(&t.nodes).next_power_of_two().max(64);
    Ok(quote! {
        #[doc = #doc]
        pub fn #name(env: &Env<'_>, ov: &mut Value) -> Result<String, Failure> {
            #(#statics)*
            #ensure
            let mut out = String::with_capacity(#capacity);
            #tracker
            #(#locals)*
            #body
            Ok(out)
        }
    })
}

fn text_len(nodes: &[Node]) -> usize {
    nodes
        .iter()
        .map(|n| match n {
            Node::Text(t) => t.len(),
            _ => 8,
        })
        .sum()
}

fn method_variant(name: &str) -> Option<Ident> {
    METHODS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| format_ident!("{}", v))
}

/// `Cow::<Value>::Owned(x)` → `x`: lets generated code use a computed value directly.
fn unwrap_owned(t: &TokenStream) -> Option<TokenStream> {
    let syn::Expr::Call(call) = syn::parse2::<syn::Expr>(t.clone()).ok()? else {
        return None;
    };
    let func = &call.func;
    if call.args.len() == 1 && quote!(#func).to_string() == quote!(Cow::<Value>::Owned).to_string()
    {
        let arg = &call.args[0];
        return Some(quote!(#arg));
    }
    None
}

/// A `Cow<Value>` expression as a `&Value`.
fn by_ref(t: &TokenStream) -> TokenStream {
    match unwrap_owned(t) {
        Some(inner) => quote!(&#inner),
        // Every generated value is a call or a block, and every use a `&Value` parameter:
        // deref coercion turns `&Cow<Value>` into it, except through a block's value.
        None => {
            let block = matches!(
                t.clone().into_iter().next(),
                Some(proc_macro2::TokenTree::Group(g)) if g.delimiter() == proc_macro2::Delimiter::Brace
            );
            if block {
                quote!(&*#t)
            } else {
                quote!(&#t)
            }
        }
    }
}

fn sanitize(name: &str) -> String {
    name.replace('-', "_h_")
}

/// A key written statically: `.name` or `['name']`.
fn static_key(a: &Access) -> Option<&str> {
    match a {
        Access::Prop(p) => Some(p),
        Access::Index(Expr::Str(s)) => Some(s),
        _ => None,
    }
}

impl<'t> Gen<'t> {
    fn fresh(&mut self, prefix: &str) -> Ident {
        self.n += 1;
        format_ident!("{}{}", prefix, self.n)
    }

    fn unsupported(&mut self, offset: usize, message: impl Into<String>) -> TokenStream {
        self.errors.push(Unsupported {
            offset,
            message: message.into(),
        });
        quote!(Cow::Borrowed(&ops::NULL))
    }

    /// Macros (whose calls are inlined) and every name the template assigns.
    fn collect(&mut self, nodes: &'t [Node]) {
        for n in nodes {
            match n {
                // `#set($context.requestOverride.… = …)` writes API Gateway's maps, not a
                // local.
                Node::Set { target, .. }
                    if target.path.is_empty() || !RESERVED.contains(&target.name.as_str()) =>
                {
                    self.assigned.insert(target.name.clone());
                }
                Node::If {
                    branches,
                    otherwise,
                } => {
                    for (_, b) in branches {
                        self.collect(b);
                    }
                    if let Some(b) = otherwise {
                        self.collect(b);
                    }
                }
                Node::Foreach { var, body, .. } => {
                    self.assigned.insert(var.clone());
                    self.collect(body);
                }
                Node::Define { body, .. } => self.collect(body),
                Node::Macro { name, params, body } => {
                    self.macros.insert(name.clone(), (params, body));
                    self.collect(body);
                }
                _ => {}
            }
        }
    }

    /// The local holding template variable `name` (macro parameters first).
    fn var(&mut self, name: &str) -> Ident {
        for s in self.scopes.iter().rev() {
            if let Some(v) = s.get(name) {
                return v.clone();
            }
        }
        self.vars
            .entry(name.to_string())
            .or_insert_with(|| format_ident!("v_{}", sanitize(name)))
            .clone()
    }

    fn is_local(&self, name: &str) -> bool {
        self.scopes.iter().any(|s| s.contains_key(name)) || self.assigned.contains(name)
    }

    fn nodes(&mut self, nodes: &'t [Node], out: &Ident) -> TokenStream {
        let parts: Vec<TokenStream> = nodes.iter().map(|n| self.node(n, out)).collect();
        quote!(#(#parts)*)
    }

    fn node(&mut self, n: &'t Node, out: &Ident) -> TokenStream {
        match n {
            Node::Text(t) => {
                let mut chars = t.chars();
                match (chars.next(), chars.next()) {
                    (Some(c), None) => quote!(#out.push(#c);),
                    _ => quote!(#out.push_str(#t);),
                }
            }
            Node::Ref(r) => {
                if let Some(tokens) = self.render_direct(r, out) {
                    return tokens;
                }
                let v = self.reference(r);
                let v_ref = by_ref(&v);
                quote!(ops::put(&mut #out, #v_ref);)
            }
            Node::Escaped(r, raw) => {
                let v = self.reference(r);
                let v_ref = by_ref(&v);
                let escaped = format!("\\{raw}");
                quote! {
                    if ops::is_null(#v_ref) {
                        #out.push_str(#escaped);
                    } else {
                        #out.push_str(#raw);
                    }
                }
            }
            Node::Set { target, value } => self.set(target, value),
            Node::If {
                branches,
                otherwise,
            } => {
                let mut arms = Vec::new();
                for (c, body) in branches {
                    let c = self.condition(c);
                    let body = self.nodes(body, out);
                    arms.push(quote!(if #c { #body }));
                }
                let otherwise = otherwise.as_ref().map(|b| {
                    let b = self.nodes(b, out);
                    quote!(else { #b })
                });
                quote!(#(#arms)else* #otherwise)
            }
            Node::Foreach {
                var,
                iterable,
                body,
            } => self.foreach(var, iterable, body, out),
            Node::Break => match self.loops.last_mut() {
                Some(l) => {
                    l.used_break = true;
                    let label = &l.label;
                    quote!(break #label;)
                }
                None => quote!(return Ok(out);),
            },
            Node::Stop => quote!(return Ok(out);),
            Node::Define { name, body } => {
                self.defines.insert(name.clone(), body);
                quote!()
            }
            Node::Macro { .. } => quote!(),
            Node::Call { name, args, span } => self.call_macro(name, args, span.start, out),
        }
    }

    /// `$input.json(…)`, `$context.x` and `$stageVariables.x` are rendered without
    /// building a value.
    fn render_direct(&mut self, r: &'t Ref, out: &Ident) -> Option<TokenStream> {
        if self.is_local(&r.name) {
            return None;
        }
        if r.name == "context" {
            let keys: Vec<&str> = r.path.iter().map_while(static_key).collect();
            if keys.len() != r.path.len() {
                return None;
            }
            let var = crate::codegen::context_var(&keys.join("."))?;
            return Some(quote! {
                if let Some(v) = env.cx().var(#var) {
                    #out.push_str(&v);
                }
            });
        }
        if r.name == "stageVariables" {
            let [first] = r.path.as_slice() else {
                return None;
            };
            let name = static_key(first)?;
            return Some(quote! {
                if let Some(v) = env.cx().stage_var(#name) {
                    #out.push_str(v);
                }
            });
        }
        if r.name != "input" || r.path.len() != 1 {
            return None;
        }
        match &r.path[0] {
            Access::Method(m, args) if m == "json" && args.len() == 1 => {
                let p = self.text_arg(&args[0]);
                Some(quote!(ops::put(&mut #out, &env.json(#p)?);))
            }
            _ => None,
        }
    }

    fn foreach(
        &mut self,
        var: &str,
        iterable: &'t Expr,
        body: &'t [Node],
        out: &Ident,
    ) -> TokenStream {
        let items = self.stored(iterable);
        let v = self.var(var);
        let n = self.n + 1;
        self.n = n;
        self.loops.push(Loop {
            label: syn::Lifetime::new(&format!("'l{n}"), proc_macro2::Span::call_site()),
            index: format_ident!("i{}", n),
            len: format_ident!("n{}", n),
            used_break: false,
            used_index: false,
        });
        let body = self.nodes(body, out);
        let l = self.loops.pop().expect("pushed above");
        let label = &l.label;
        let label = l.used_break.then_some(quote!(#label:));
        let item = format_ident!("item{}", n);
        let list = format_ident!("list{}", n);
        let saved = format_ident!("saved{}", n);
        let (index, len) = (&l.index, &l.len);
        let iterate = if l.used_index {
            quote! {
                let #len = #list.len().min(ops::MAX_LOOP);
                #label for (#index, #item) in #list.into_iter().take(ops::MAX_LOOP).enumerate()
            }
        } else {
            quote!(#label for #item in #list.into_iter().take(ops::MAX_LOOP))
        };
        quote! {
            {
                let #list = ops::items(#items);
                // Velocity restores the loop variable afterwards.
                let #saved = std::mem::replace(&mut #v, Cow::Borrowed(&ops::NULL));
                #iterate {
                    #v = #item;
                    #body
                }
                #v = #saved;
            }
        }
    }

    fn call_macro(&mut self, name: &str, args: &'t [Expr], at: usize, out: &Ident) -> TokenStream {
        let Some((params, body)) = self.macros.get(name).copied() else {
            self.unsupported(
                at,
                format!("`#{name}` is not a macro defined in this template"),
            );
            return quote!();
        };
        if self.inlining.iter().any(|m| m == name) || self.inlining.len() > 16 {
            self.unsupported(
                at,
                format!("macro `#{name}` calls itself; recursive macros are not supported"),
            );
            return quote!();
        }
        if args.len() != params.len() {
            self.unsupported(
                at,
                format!(
                    "macro `#{name}` takes {} arguments, {} given",
                    params.len(),
                    args.len()
                ),
            );
            return quote!();
        }
        let mut scope = HashMap::new();
        let mut binds = Vec::new();
        for (p, a) in params.iter().zip(args) {
            let local = self.fresh(&format!("m_{}_", sanitize(p)));
            let v = self.stored(a);
            binds.push(quote!(let mut #local: Cow<'_, Value> = #v;));
            scope.insert(p.clone(), local);
        }
        self.inlining.push(name.to_string());
        self.scopes.push(scope);
        let body = self.nodes(body, out);
        self.scopes.pop();
        self.inlining.pop();
        quote!({ #(#binds)* #body })
    }

    fn set(&mut self, target: &'t Ref, value: &'t Expr) -> TokenStream {
        if target.path.is_empty() {
            if RESERVED.contains(&target.name.as_str()) && !self.is_local(&target.name) {
                self.unsupported(
                    target.span.start,
                    format!(
                        "`${}` is API Gateway's; a template cannot replace it",
                        target.name
                    ),
                );
                return quote!();
            }
            let local = self.var(&target.name);
            let v = self.stored(value);
            return quote!(#local = #v;);
        }
        let v = self.owned(value);
        let Some((root, keys)) = self.place(target) else {
            return quote!();
        };
        if target.name == "context" && !self.is_local("context") {
            // Overrides are final: the same one set twice fails the template.
            self.overrides = true;
            return quote! {
                {
                    let value = #v;
                    let keys = [#(#keys),*];
                    ops::set_override(#root, &keys, value, &mut overridden)?;
                }
            };
        }
        quote! {
            {
                let value = #v;
                let keys = [#(#keys),*];
                ops::set_at(#root, &keys, value);
            }
        }
    }

    /// A writable place: its root (a local or the override maps) and the keys under it.
    /// `None` (after reporting why) when the reference cannot be written.
    fn place(&mut self, r: &'t Ref) -> Option<(TokenStream, Vec<TokenStream>)> {
        let mut keys = Vec::new();
        for a in &r.path {
            keys.push(match a {
                Access::Prop(p) => quote!(Value::from(#p)),
                Access::Index(e) => self.owned(e),
                Access::Method(m, _) => {
                    self.unsupported(
                        r.span.start,
                        format!("cannot assign through the method call `.{m}(…)`"),
                    );
                    return None;
                }
            });
        }
        if r.name == "context" && !self.is_local("context") {
            let first = r.path.first().and_then(static_key);
            if matches!(first, Some("requestOverride" | "responseOverride")) {
                self.touches_overrides = true;
                return Some((quote!(&mut *ov), keys));
            }
            self.unsupported(
                r.span.start,
                "only `$context.requestOverride.*` and `$context.responseOverride.*` can be set",
            );
            return None;
        }
        if RESERVED.contains(&r.name.as_str()) && !self.is_local(&r.name) {
            self.unsupported(r.span.start, format!("`${}` cannot be assigned", r.name));
            return None;
        }
        let local = self.var(&r.name);
        Some((quote!(#local.to_mut()), keys))
    }

    /// An expression as a `bool`.
    /// A condition as a whole `if` tests it (no parentheses around `&&` / `||`).
    fn condition(&mut self, e: &'t Expr) -> TokenStream {
        match e {
            Expr::Binary(BinOp::And, a, b) => {
                let (a, b) = (self.cond(a), self.cond(b));
                quote!(#a && #b)
            }
            Expr::Binary(BinOp::Or, a, b) => {
                let (a, b) = (self.cond(a), self.cond(b));
                quote!(#a || #b)
            }
            _ => self.cond(e),
        }
    }

    fn cond(&mut self, e: &'t Expr) -> TokenStream {
        match e {
            Expr::Binary(op, a, b) => match op {
                BinOp::And => {
                    let (a, b) = (self.cond(a), self.cond(b));
                    quote!((#a && #b))
                }
                BinOp::Or => {
                    let (a, b) = (self.cond(a), self.cond(b));
                    quote!((#a || #b))
                }
                BinOp::Eq | BinOp::Ne => {
                    let eq = match (&**a, &**b) {
                        (x, Expr::Str(s)) | (Expr::Str(s), x) => {
                            let x = self.expr(x);
                            let x_ref = by_ref(&x);
                            quote!(ops::eq_str(#x_ref, #s))
                        }
                        _ => {
                            let (a, b) = (self.expr(a), self.expr(b));
                            let a_ref = by_ref(&a);
                            let b_ref = by_ref(&b);
                            quote!(ops::eq(#a_ref, #b_ref))
                        }
                    };
                    if *op == BinOp::Ne {
                        quote!(!#eq)
                    } else {
                        eq
                    }
                }
                BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                    let (a, b) = (self.expr(a), self.expr(b));
                    let pat = match op {
                        BinOp::Lt => quote!(Some(Ordering::Less)),
                        BinOp::Le => quote!(Some(Ordering::Less | Ordering::Equal)),
                        BinOp::Gt => quote!(Some(Ordering::Greater)),
                        _ => quote!(Some(Ordering::Greater | Ordering::Equal)),
                    };
                    let a_ref = by_ref(&a);
                    let b_ref = by_ref(&b);
                    quote!(matches!(ops::compare(#a_ref, #b_ref), #pat))
                }
                _ => {
                    let v = self.expr(e);
                    let v_ref = by_ref(&v);
                    quote!(vtl::truthy(#v_ref))
                }
            },
            Expr::Unary(UnOp::Not, x) => {
                let c = self.cond(x);
                quote!(!#c)
            }
            Expr::Bool(b) => quote!(#b),
            _ => {
                let v = self.expr(e);
                let v_ref = by_ref(&v);
                quote!(vtl::truthy(#v_ref))
            }
        }
    }

    /// An expression as a `Cow<Value>` that borrows no variable (see `storing`).
    fn stored(&mut self, e: &'t Expr) -> TokenStream {
        let before = std::mem::replace(&mut self.storing, true);
        let v = self.expr(e);
        self.storing = before;
        v
    }

    /// An expression as an owned `Value`.
    fn owned(&mut self, e: &'t Expr) -> TokenStream {
        match e {
            Expr::Int(i) => quote!(Value::from(#i)),
            Expr::Bool(b) => quote!(Value::Bool(#b)),
            Expr::Null => quote!(Value::Null),
            _ => {
                let v = self.expr(e);
                match unwrap_owned(&v) {
                    Some(inner) => inner,
                    None => quote!((#v).into_owned()),
                }
            }
        }
    }

    /// The text of an argument that Java receives as a `String`.
    fn text_arg(&mut self, e: &'t Expr) -> TokenStream {
        match e {
            Expr::Str(s) => quote!(#s),
            _ => {
                let v = self.expr(e);
                let v_ref = by_ref(&v);
                quote!(&ops::string(#v_ref))
            }
        }
    }

    /// A constant built once (`LazyLock`), borrowed wherever it is used.
    fn constant(&mut self, value: TokenStream) -> TokenStream {
        let name = self.fresh("K");
        self.statics.push(quote! {
            static #name: std::sync::LazyLock<Value> = std::sync::LazyLock::new(|| #value);
        });
        quote!(Cow::Borrowed(&*#name))
    }

    fn literal(e: &Expr) -> Option<serde_json::Value> {
        Some(match e {
            Expr::Str(s) => serde_json::Value::String(s.clone()),
            Expr::Int(i) => serde_json::Value::from(*i),
            Expr::Float(f) => serde_json::Value::from(*f),
            Expr::Bool(b) => serde_json::Value::Bool(*b),
            Expr::Null => serde_json::Value::Null,
            Expr::List(items) => {
                serde_json::Value::Array(items.iter().map(Self::literal).collect::<Option<_>>()?)
            }
            Expr::Map(pairs) => {
                let mut m = serde_json::Map::new();
                for (k, v) in pairs {
                    let k = match Self::literal(k)? {
                        serde_json::Value::String(s) => s,
                        other => other.to_string(),
                    };
                    m.insert(k, Self::literal(v)?);
                }
                serde_json::Value::Object(m)
            }
            _ => return None,
        })
    }

    /// An expression as a `Cow<Value>`.
    fn expr(&mut self, e: &'t Expr) -> TokenStream {
        if let Some(lit) = Self::literal(e) {
            return match lit {
                serde_json::Value::Number(n) if n.is_i64() => {
                    let i = n.as_i64().unwrap_or(0);
                    quote!(Cow::<Value>::Owned(Value::from(#i)))
                }
                serde_json::Value::Bool(b) => quote!(Cow::<Value>::Owned(Value::Bool(#b))),
                serde_json::Value::Null => quote!(Cow::Borrowed(&ops::NULL)),
                serde_json::Value::String(s) => {
                    self.constant(quote!(Value::String(String::from(#s))))
                }
                other => {
                    let text = other.to_string();
                    self.constant(quote!(serde_json::from_str(#text).unwrap_or(Value::Null)))
                }
            };
        }
        match e {
            Expr::Ref(r) => self.reference(r),
            Expr::Interpolated(nodes) => {
                let s = self.fresh("s");
                let body = self.nodes(nodes, &s);
                quote!({
                    let mut #s = String::new();
                    #body
                    Cow::<Value>::Owned(Value::String(#s))
                })
            }
            Expr::List(items) => {
                let items: Vec<_> = items.iter().map(|i| self.owned(i)).collect();
                quote!(Cow::<Value>::Owned(Value::Array(vec![#(#items),*])))
            }
            Expr::Map(pairs) => {
                let inserts: Vec<_> = pairs
                    .iter()
                    .map(|(k, v)| {
                        let k = self.expr(k);
                        let v = self.owned(v);
                        let k_ref = by_ref(&k);
                        quote!(m.insert(vtl::render(#k_ref), #v);)
                    })
                    .collect();
                quote!({
                    let mut m = serde_json::Map::new();
                    #(#inserts)*
                    Cow::<Value>::Owned(Value::Object(m))
                })
            }
            Expr::Range(a, b) => {
                let (a, b) = (self.expr(a), self.expr(b));
                let a_ref = by_ref(&a);
                let b_ref = by_ref(&b);
                quote!(Cow::<Value>::Owned(ops::range(#a_ref, #b_ref)))
            }
            Expr::Unary(UnOp::Not, x) => {
                let c = self.cond(x);
                quote!(Cow::<Value>::Owned(Value::Bool(!#c)))
            }
            Expr::Unary(UnOp::Neg, x) => {
                let x = self.expr(x);
                let x_ref = by_ref(&x);
                quote!(Cow::<Value>::Owned(ops::neg(#x_ref)))
            }
            Expr::Binary(op, a, b) => {
                let arith = match op {
                    BinOp::Add => quote!(Arith::Add),
                    BinOp::Sub => quote!(Arith::Sub),
                    BinOp::Mul => quote!(Arith::Mul),
                    BinOp::Div => quote!(Arith::Div),
                    BinOp::Rem => quote!(Arith::Rem),
                    _ => {
                        let c = self.cond(e);
                        return quote!(Cow::<Value>::Owned(Value::Bool(#c)));
                    }
                };
                let literal = |e: &Expr| match e {
                    Expr::Ref(r) => self.src.get(r.span.clone()).unwrap_or_default().to_string(),
                    _ => String::new(),
                };
                let (a_lit, b_lit) = (literal(a), literal(b));
                let (a, b) = (self.expr(a), self.expr(b));
                let a_ref = by_ref(&a);
                let b_ref = by_ref(&b);
                if *op == BinOp::Add {
                    // `+` concatenates when either side is a string (Velocity 1.7).
                    return quote!(Cow::<Value>::Owned(ops::add(#a_ref, #b_ref, #a_lit, #b_lit)));
                }
                quote!(Cow::<Value>::Owned(ops::arith(#arith, #a_ref, #b_ref)))
            }
            // Literals were handled above.
            _ => quote!(Cow::Borrowed(&ops::NULL)),
        }
    }

    /// A reference as a `Cow<Value>`.
    fn reference(&mut self, r: &'t Ref) -> TokenStream {
        let name = r.name.as_str();
        if self.is_local(name) || !RESERVED.contains(&name) {
            if let Some(body) = self
                .defines
                .get(name)
                .copied()
                .filter(|_| !self.is_local(name))
            {
                return self.define(name, body, r);
            }
            if !self.is_local(name) {
                // Never assigned anywhere: null, whatever follows it.
                return quote!(Cow::Borrowed(&ops::NULL));
            }
            let local = self.var(name);
            let base = if self.storing {
                quote!(ops::reborrow(&#local))
            } else {
                quote!(Cow::Borrowed(&*#local))
            };
            return self.accesses(base, &r.path, r, Some(quote!(#local.to_mut())));
        }
        match name {
            "input" => self.input(r),
            "util" => self.util(r),
            "context" => self.context(r),
            "stageVariables" => match r.path.first().and_then(static_key) {
                Some(k) => self.accesses(
                    quote!(Cow::<Value>::Owned(env.stage_var(#k))),
                    &r.path[1..],
                    r,
                    None,
                ),
                None => self.accesses(quote!(Cow::Borrowed(env.stage_vars())), &r.path, r, None),
            },
            "foreach" | "velocityCount" => self.loop_var(r),
            _ => quote!(Cow::Borrowed(&ops::NULL)),
        }
    }

    fn define(&mut self, name: &str, body: &'t [Node], r: &'t Ref) -> TokenStream {
        if self.inlining.iter().any(|m| m == name) || self.inlining.len() > 16 {
            return self.unsupported(r.span.start, format!("`#define(${name})` refers to itself"));
        }
        self.inlining.push(name.to_string());
        let s = self.fresh("d");
        let nodes = self.nodes(body, &s);
        self.inlining.pop();
        let base = quote!({
            let mut #s = String::new();
            #nodes
            Cow::<Value>::Owned(Value::String(#s))
        });
        self.accesses(base, &r.path, r, None)
    }

    fn loop_var(&mut self, r: &'t Ref) -> TokenStream {
        let Some(l) = self.loops.last_mut() else {
            return quote!(Cow::Borrowed(&ops::NULL));
        };
        l.used_index = true;
        let (i, n) = (l.index.clone(), l.len.clone());
        if r.name == "velocityCount" {
            return self.accesses(
                quote!(Cow::<Value>::Owned(Value::from(#i + 1))),
                &r.path,
                r,
                None,
            );
        }
        let Some(what) = r.path.first().and_then(static_key) else {
            return quote!(Cow::Borrowed(&ops::NULL));
        };
        let v = match what {
            "hasNext" => quote!(Value::Bool(#i + 1 < #n)),
            "index" => quote!(Value::from(#i)),
            "count" => quote!(Value::from(#i + 1)),
            "first" => quote!(Value::Bool(#i == 0)),
            "last" => quote!(Value::Bool(#i + 1 == #n)),
            other => {
                return self.unsupported(r.span.start, format!("`$foreach.{other}` is not supported (hasNext, index, count, first, last are)"));
            }
        };
        self.accesses(quote!(Cow::<Value>::Owned(#v)), &r.path[1..], r, None)
    }

    fn input(&mut self, r: &'t Ref) -> TokenStream {
        let Some(first) = r.path.first() else {
            return quote!(Cow::Borrowed(&ops::NULL));
        };
        let base = match first {
            Access::Prop(p) if p == "body" => quote!(Cow::<Value>::Owned(env.body())),
            Access::Method(m, args) => match (m.as_str(), args.as_slice()) {
                ("json", [p]) => {
                    let p = self.text_arg(p);
                    quote!(Cow::<Value>::Owned(env.json(#p)?))
                }
                ("path", [p]) => {
                    let p = self.text_arg(p);
                    quote!({
                        let v: Cow<'_, Value> = env.path(#p)?;
                        v
                    })
                }
                ("params", []) => quote!(Cow::Borrowed(env.params())),
                ("params", [p]) => {
                    let p = self.text_arg(p);
                    quote!(Cow::<Value>::Owned(env.param(#p)))
                }
                (m, _) => {
                    return self.unsupported(
                        r.span.start,
                        format!("`$input.{m}(…)` is not an API Gateway function (body, json, path, params are)"),
                    )
                }
            },
            other => {
                let what = static_key(other).unwrap_or("[…]");
                return self.unsupported(
                    r.span.start,
                    format!("`$input.{what}` is not an API Gateway variable (body, json, path, params are)"),
                );
            }
        };
        self.accesses(base, &r.path[1..], r, None)
    }

    fn util(&mut self, r: &'t Ref) -> TokenStream {
        let Some(Access::Method(m, args)) = r.path.first() else {
            return quote!(Cow::Borrowed(&ops::NULL));
        };
        if !UTIL.contains(&m.as_str()) {
            return self.unsupported(
                r.span.start,
                format!(
                    "`$util.{m}` is not an API Gateway function ({})",
                    UTIL.join(", ")
                ),
            );
        }
        let [a] = args.as_slice() else {
            return self.unsupported(r.span.start, format!("`$util.{m}` takes one argument"));
        };
        let a = self.text_arg(a);
        let base = match m.as_str() {
            "escapeJavaScript" => quote!(Value::String(vtl::escape_javascript(#a))),
            "urlEncode" => quote!(Value::String(vtl::url_encode(#a))),
            "urlDecode" => quote!(Value::String(vtl::url_decode(#a))),
            "base64Encode" => quote!(Value::String(vtl::base64_encode(#a))),
            "base64Decode" => {
                quote!(Value::String(vtl::base64_decode(#a).ok_or_else(|| Failure::Internal("$util.base64Decode: not base64".into()))?))
            }
            _ => {
                quote!(vtl::parse_json(#a).ok_or_else(|| Failure::Internal("$util.parseJson: not JSON".into()))?)
            }
        };
        self.accesses(quote!(Cow::<Value>::Owned(#base)), &r.path[1..], r, None)
    }

    fn context(&mut self, r: &'t Ref) -> TokenStream {
        let keys: Vec<&str> = r.path.iter().map_while(static_key).collect();
        match keys.first().copied() {
            Some("requestOverride" | "responseOverride") => {
                self.touches_overrides = true;
                let base = if self.storing {
                    quote!(Cow::<Value>::Owned(ov.clone()))
                } else {
                    quote!(Cow::Borrowed(&*ov))
                };
                return self.accesses(base, &r.path, r, Some(quote!(&mut *ov)));
            }
            Some("authorizer") => {
                return self.accesses(
                    quote!(Cow::Borrowed(env.authorizer())),
                    &r.path[1..],
                    r,
                    None,
                );
            }
            None => {
                self.touches_overrides = true;
                return self.accesses(
                    quote!(Cow::<Value>::Owned(env.context_map(ov))),
                    &r.path,
                    r,
                    None,
                );
            }
            _ => {}
        }
        for take in [2, 1] {
            if keys.len() < take {
                continue;
            }
            let name = keys[..take].join(".");
            if let Some(var) = crate::codegen::context_var(&name) {
                return self.accesses(
                    quote!(Cow::<Value>::Owned(env.context(#var))),
                    &r.path[take..],
                    r,
                    None,
                );
            }
        }
        // Variables the runtime does not supply (identity details without API keys …) are null,
        // as API Gateway renders a variable it has no value for.
        quote!(Cow::Borrowed(&ops::NULL))
    }

    /// Applies `path` to `base`. `root` is the writable place `base` borrows, if any (then
    /// `path` starts at it), so a mutating method can change it in place.
    fn accesses(
        &mut self,
        base: TokenStream,
        path: &'t [Access],
        r: &'t Ref,
        root: Option<TokenStream>,
    ) -> TokenStream {
        let mut cur = base;
        for (k, a) in path.iter().enumerate() {
            cur = match a {
                Access::Prop(p) => quote!(ops::prop(#cur, #p)),
                Access::Index(e) => {
                    let key = self.expr(e);
                    let key_ref = by_ref(&key);
                    quote!(ops::index(#cur, #key_ref))
                }
                Access::Method(m, args) => {
                    let Some(variant) = method_variant(m) else {
                        return self.unsupported(
                            r.span.start,
                            format!("method `.{m}(…)` is not supported in templates"),
                        );
                    };
                    let args: Vec<_> = args.iter().map(|a| self.owned(a)).collect();
                    if MUTATING.contains(&m.as_str()) {
                        // Reach the receiver in place when it is a variable (or a member of
                        // one); a computed receiver is changed and dropped, as in Java.
                        let prefix = &path[..k];
                        let place = match &root {
                            Some(root)
                                if prefix.iter().all(|a| !matches!(a, Access::Method(..))) =>
                            {
                                let keys: Vec<_> = prefix
                                    .iter()
                                    .map(|a| match a {
                                        Access::Prop(p) => quote!(Value::from(#p)),
                                        Access::Index(e) => self.owned(e),
                                        Access::Method(..) => quote!(Value::Null),
                                    })
                                    .collect();
                                quote!({
                                    let keys = [#(#keys),*];
                                    let args = vec![#(#args),*];
                                    ops::call_mut(ops::place_mut(#root, &keys), M::#variant, args)?
                                })
                            }
                            _ => quote!({
                                let mut recv = (#cur).into_owned();
                                ops::call_mut(Some(&mut recv), M::#variant, vec![#(#args),*])?
                            }),
                        };
                        quote!(Cow::<Value>::Owned(#place))
                    } else {
                        let cur_ref = by_ref(&cur);
                        quote!(Cow::<Value>::Owned(ops::call(#cur_ref, M::#variant, &[#(#args),*])?))
                    }
                }
            };
        }
        cur
    }
}
