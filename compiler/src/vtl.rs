//! A parser for API Gateway's mapping templates (Apache Velocity 1.7, the subset API Gateway
//! runs): text, references (`$x`, `$!x`, `${x}`, `.prop`, `.method(args)`, `[index]`),
//! directives (`#set`, `#if`/`#elseif`/`#else`/`#end`, `#foreach`, `#break`, `#stop`,
//! `#define`, `#macro` and macro calls), comments (`##`, `#* *#`), unparsed blocks
//! (`#[[ ]]#`) and expressions (literals, lists, ranges, maps, arithmetic, comparisons,
//! boolean logic in symbols or words).
//!
//! Written by hand, not generated, because the compiler needs Velocity's own lexical rules
//! (a `$` or `#` that does not start a reference or directive is text) and byte offsets
//! for every error; no maintained Rust crate parses VTL. Parsing never panics: every
//! problem is a [`ParseError`] with the offset where it was found (fuzzed in the tests).

use std::ops::Range;

/// A parsed template.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    /// Its nodes in order.
    pub nodes: Vec<Node>,
}

/// One piece of a template.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// Literal text.
    Text(String),
    /// A reference rendered in place.
    Ref(Ref),
    /// `\\$x`: prints `$x` as written when the reference has a value, `\\$x` when not
    /// (Velocity 1.7's escaped reference).
    Escaped(Ref, String),
    /// `#set($target = value)`.
    Set {
        /// The reference assigned to.
        target: Ref,
        /// The value.
        value: Expr,
    },
    /// `#if … #elseif … #else … #end`.
    If {
        /// Conditions and their bodies, in order.
        branches: Vec<(Expr, Vec<Node>)>,
        /// The `#else` body.
        otherwise: Option<Vec<Node>>,
    },
    /// `#foreach($var in iterable) … #else … #end`.
    Foreach {
        /// The loop variable (without `$`).
        var: String,
        /// What is iterated.
        iterable: Expr,
        /// The body.
        body: Vec<Node>,
    },
    /// `#break`.
    Break,
    /// `#stop`.
    Stop,
    /// `#define($name) … #end`.
    Define {
        /// The reference name (without `$`).
        name: String,
        /// The body.
        body: Vec<Node>,
    },
    /// `#macro(name $a $b) … #end`.
    Macro {
        /// The macro's name.
        name: String,
        /// Parameter names (without `$`).
        params: Vec<String>,
        /// The body.
        body: Vec<Node>,
    },
    /// `#name(args)`: a call of a macro defined in the template.
    Call {
        /// The macro's name.
        name: String,
        /// Arguments.
        args: Vec<Expr>,
        /// Where the call is.
        span: Range<usize>,
    },
}

/// A reference: `$name.a.b(…)[…]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Ref {
    /// `$!x`: renders nothing when undefined.
    pub quiet: bool,
    /// The first identifier.
    pub name: String,
    /// Property, method and index accesses after it.
    pub path: Vec<Access>,
    /// Where it is written (offsets into the template).
    pub span: Range<usize>,
}

/// One step after a reference's name.
#[derive(Debug, Clone, PartialEq)]
pub enum Access {
    /// `.name`
    Prop(String),
    /// `.name(args)`
    Method(String, Vec<Expr>),
    /// `[expr]`
    Index(Expr),
}

/// An expression inside a directive.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A reference.
    Ref(Ref),
    /// `'text'`: taken literally.
    Str(String),
    /// `"text $x"`: references inside are rendered.
    Interpolated(Vec<Node>),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// `true` / `false`.
    Bool(bool),
    /// `null` (accepted as API Gateway's templates sometimes write it).
    Null,
    /// `[a, b]`
    List(Vec<Expr>),
    /// `[a..b]`
    Range(Box<Expr>, Box<Expr>),
    /// `{k: v}`
    Map(Vec<(Expr, Expr)>),
    /// `!x`, `-x`
    Unary(UnOp, Box<Expr>),
    /// `a op b`
    Binary(BinOp, Box<Expr>, Box<Expr>),
}

/// Unary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnOp {
    /// `!` / `not`
    Not,
    /// `-`
    Neg,
}

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    /// `||` / `or`
    Or,
    /// `&&` / `and`
    And,
    /// `==` / `eq`
    Eq,
    /// `!=` / `ne`
    Ne,
    /// `<` / `lt`
    Lt,
    /// `<=` / `le`
    Le,
    /// `>` / `gt`
    Gt,
    /// `>=` / `ge`
    Ge,
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Rem,
}

/// Why a template does not parse, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// Byte offset into the template.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

impl ParseError {
    /// (line, column), both from 1, of the error in `template`.
    pub fn line_col(&self, template: &str) -> (usize, usize) {
        let before = &template[..self.offset.min(template.len())];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        (line, col)
    }
}

/// API Gateway's limit on a mapping template's size.
pub const MAX_TEMPLATE_BYTES: usize = 300 * 1024;
/// Deepest nesting of directives and expressions accepted.
const MAX_DEPTH: usize = 100;

/// The status a mock's request template always gives: text without directives or
/// references that is JSON with a `statusCode` (API Gateway's `{"statusCode": 200}`).
/// `None` when the template computes it.
pub fn constant_status(template: &str) -> Option<u64> {
    let ast = parse(template).ok()?;
    if !ast.nodes.iter().all(|n| matches!(n, Node::Text(_))) {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(template).ok()?;
    v.get("statusCode")?.as_u64()
}

/// Parses a template.
pub fn parse(src: &str) -> Result<Template, ParseError> {
    if src.len() > MAX_TEMPLATE_BYTES {
        return Err(ParseError {
            offset: 0,
            message: format!(
                "the template is {} bytes; API Gateway allows {MAX_TEMPLATE_BYTES}",
                src.len()
            ),
        });
    }
    let mut p = Parser {
        s: src,
        b: src.as_bytes(),
        i: 0,
        depth: 0,
        macros: Vec::new(),
    };
    let (nodes, end) = p.block(&[])?;
    if let Some((word, at)) = end {
        return Err(ParseError {
            offset: at,
            message: format!(
                "`#{word}` without a matching `#if`, `#foreach`, `#define` or `#macro`"
            ),
        });
    }
    Ok(Template { nodes })
}

struct Parser<'a> {
    s: &'a str,
    b: &'a [u8],
    i: usize,
    depth: usize,
    macros: Vec<String>,
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_'
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
}

impl Parser<'_> {
    fn err<T>(&self, at: usize, message: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError {
            offset: at,
            message: message.into(),
        })
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn at(&self, k: usize) -> Option<u8> {
        self.b.get(self.i + k).copied()
    }

    fn starts(&self, t: &str) -> bool {
        self.b[self.i..].starts_with(t.as_bytes())
    }

    /// Nodes until one of `ends` (`end`, `else`, `elseif`) or the end of input. Returns the
    /// ending directive's name and offset, if one ended the block.
    #[allow(clippy::type_complexity)]
    fn block(&mut self, ends: &[&str]) -> Result<(Vec<Node>, Option<(String, usize)>), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.err(self.i, format!("directives nested deeper than {MAX_DEPTH}"));
        }
        let mut nodes = Vec::new();
        let mut text = String::new();
        let flush = |text: &mut String, nodes: &mut Vec<Node>| {
            if !text.is_empty() {
                nodes.push(Node::Text(std::mem::take(text)));
            }
        };
        while let Some(c) = self.peek() {
            match c {
                b'\\' if self.at(1) == Some(b'$') => {
                    self.i += 1;
                    let start = self.i;
                    match self.reference()? {
                        Some(r) => {
                            flush(&mut text, &mut nodes);
                            let raw = self.s[start..self.i].to_string();
                            nodes.push(Node::Escaped(r, raw));
                        }
                        None => {
                            self.i = start + 1;
                            text.push_str("\\$");
                        }
                    }
                }
                b'\\' if self.at(1) == Some(b'#') => {
                    // `\$x` / `\#if`: the escape is kept for the renderer to decide (Velocity
                    // only drops it before a defined reference); here it is text.
                    text.push('\\');
                    self.i += 1;
                    let n = self.peek().unwrap_or(b'$') as char;
                    text.push(n);
                    self.i += 1;
                }
                b'$' => {
                    let start = self.i;
                    match self.reference()? {
                        Some(r) => {
                            flush(&mut text, &mut nodes);
                            nodes.push(Node::Ref(r));
                        }
                        None => {
                            self.i = start + 1;
                            text.push('$');
                        }
                    }
                }
                b'#' => {
                    let start = self.i;
                    if self.starts("##") {
                        // Line comment, newline included.
                        match self.s[self.i..].find('\n') {
                            Some(n) => self.i += n + 1,
                            None => self.i = self.b.len(),
                        }
                        continue;
                    }
                    if self.starts("#*") {
                        match self.s[self.i + 2..].find("*#") {
                            Some(n) => self.i += 2 + n + 2,
                            None => return self.err(start, "`#*` comment without `*#`"),
                        }
                        continue;
                    }
                    if self.starts("#[[") {
                        match self.s[self.i + 3..].find("]]#") {
                            Some(n) => {
                                text.push_str(&self.s[self.i + 3..self.i + 3 + n]);
                                self.i += 3 + n + 3;
                            }
                            None => return self.err(start, "`#[[` block without `]]#`"),
                        }
                        continue;
                    }
                    let Some(word) = self.directive_word() else {
                        self.i = start + 1;
                        text.push('#');
                        continue;
                    };
                    if ends.contains(&word.as_str()) {
                        flush(&mut text, &mut nodes);
                        if word != "elseif" {
                            // Velocity 1.7's `#end` and `#else` tokens take the rest of
                            // their line when it is blank.
                            self.eat_line_end();
                        }
                        self.depth -= 1;
                        return Ok((nodes, Some((word, start))));
                    }
                    match self.directive(&word, start)? {
                        Some(node) => {
                            if matches!(node, Node::Set { .. }) {
                                // Velocity 1.7's `SET_DIRECTIVE` token starts with the
                                // blanks before `#set`: an indented `#set` line vanishes.
                                let kept = text.trim_end_matches([' ', '\t']).len();
                                text.truncate(kept);
                            }
                            flush(&mut text, &mut nodes);
                            nodes.push(node);
                        }
                        None => {
                            // Not a directive: the text as written.
                            text.push_str(&self.s[start..self.i]);
                        }
                    }
                }
                _ => {
                    // Copy a run of plain text at once.
                    let run = self.b[self.i..]
                        .iter()
                        .position(|c| matches!(c, b'$' | b'#' | b'\\'))
                        .map_or(self.b.len(), |n| self.i + n);
                    let run = if run == self.i { self.i + 1 } else { run };
                    text.push_str(&self.s[self.i..run]);
                    self.i = run;
                }
            }
        }
        flush(&mut text, &mut nodes);
        self.depth -= 1;
        if ends.is_empty() {
            Ok((nodes, None))
        } else {
            self.err(
                self.b.len(),
                "the template ends inside a directive: `#end` is missing",
            )
        }
    }

    /// `#word` or `#{word}` after the `#`; the cursor moves past it.
    fn directive_word(&mut self) -> Option<String> {
        let start = self.i;
        self.i += 1;
        let formal = self.peek() == Some(b'{');
        if formal {
            self.i += 1;
        }
        let w0 = self.i;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
        {
            self.i += 1;
        }
        if self.i == w0 || !self.b[w0].is_ascii_alphabetic() {
            self.i = start;
            return None;
        }
        let word = self.s[w0..self.i].to_string();
        if formal {
            if self.peek() != Some(b'}') {
                self.i = start;
                return None;
            }
            self.i += 1;
        }
        Some(word)
    }

    fn directive(&mut self, word: &str, start: usize) -> Result<Option<Node>, ParseError> {
        Ok(Some(match word {
            "set" => {
                self.open_paren(word, start)?;
                self.ws();
                let target_at = self.i;
                let Some(target) = self.reference()? else {
                    return self.err(target_at, "`#set` needs a reference to assign, like `$x`");
                };
                self.ws();
                if self.peek() != Some(b'=') {
                    return self.err(self.i, "expected `=` in `#set`");
                }
                self.i += 1;
                let value = self.expr()?;
                self.close_paren("#set")?;
                self.eat_line_end();
                Node::Set { target, value }
            }
            "if" => {
                self.open_paren(word, start)?;
                let mut cond = self.expr()?;
                self.close_paren("#if")?;
                self.eat_line_end();
                let mut branches = Vec::new();
                let mut otherwise = None;
                loop {
                    let (body, end) = self.block(&["end", "else", "elseif"])?;
                    branches.push((cond, body));
                    match end.as_ref().map(|(w, _)| w.as_str()) {
                        Some("elseif") => {
                            self.open_paren("elseif", start)?;
                            cond = self.expr()?;
                            self.close_paren("#elseif")?;
                            self.eat_line_end();
                        }
                        Some("else") => {
                            let (body, _) = self.block(&["end"])?;
                            otherwise = Some(body);
                            break;
                        }
                        _ => break,
                    }
                }
                Node::If {
                    branches,
                    otherwise,
                }
            }
            "foreach" => {
                self.open_paren(word, start)?;
                self.ws();
                let var_at = self.i;
                let var = match self.reference()? {
                    Some(r) if r.path.is_empty() => r.name,
                    _ => return self.err(var_at, "`#foreach` needs a loop variable, like `$item`"),
                };
                self.ws();
                if !self.starts("in") {
                    return self.err(self.i, "expected `in` in `#foreach`");
                }
                self.i += 2;
                let iterable = self.expr()?;
                self.close_paren("#foreach")?;
                self.eat_line_end();
                let (body, end) = self.block(&["end", "else"])?;
                if end.as_ref().is_some_and(|(w, _)| w == "else") {
                    // Velocity 1.7 has no `#foreach … #else`; read to `#end` so the error
                    // is about the real problem.
                    let (_, _) = self.block(&["end"])?;
                }
                Node::Foreach {
                    var,
                    iterable,
                    body,
                }
            }
            "break" => Node::Break,
            "stop" => Node::Stop,
            "define" => {
                self.open_paren(word, start)?;
                self.ws();
                let at = self.i;
                let name = match self.reference()? {
                    Some(r) if r.path.is_empty() => r.name,
                    _ => return self.err(at, "`#define` needs a reference name, like `$block`"),
                };
                self.close_paren("#define")?;
                self.eat_line_end();
                let (body, _) = self.block(&["end"])?;
                Node::Define { name, body }
            }
            "macro" => {
                self.open_paren(word, start)?;
                self.ws();
                let n0 = self.i;
                while self.peek().is_some_and(is_ident) {
                    self.i += 1;
                }
                if n0 == self.i {
                    return self.err(n0, "`#macro` needs a name");
                }
                let name = self.s[n0..self.i].to_string();
                let mut params = Vec::new();
                loop {
                    self.ws();
                    if self.peek() == Some(b',') {
                        self.i += 1;
                        continue;
                    }
                    if self.peek() == Some(b')') {
                        self.i += 1;
                        self.eat_line_end();
                        break;
                    }
                    let at = self.i;
                    match self.reference()? {
                        Some(r) if r.path.is_empty() => params.push(r.name),
                        _ => return self.err(at, "macro parameters are references, like `$a`"),
                    }
                }
                self.macros.push(name.clone());
                let (body, _) = self.block(&["end"])?;
                Node::Macro { name, params, body }
            }
            "include" | "parse" | "evaluate" if self.peek_paren() => {
                // Velocity directives that read or evaluate other templates: API Gateway
                // has none to read and refuses them.
                return self.err(
                    start,
                    format!("`#{word}` is not available in API Gateway mapping templates"),
                );
            }
            "end" | "else" | "elseif" => {
                return self.err(
                    start,
                    format!("`#{word}` without a matching `#if` or `#foreach`"),
                );
            }
            other if self.macros.iter().any(|m| m == other) && self.peek_paren() => {
                let name = other.to_string();
                self.open_paren(word, start)?;
                let mut args = Vec::new();
                loop {
                    self.ws();
                    match self.peek() {
                        Some(b')') => {
                            self.i += 1;
                            self.eat_line_end();
                            break;
                        }
                        Some(b',') => self.i += 1,
                        None => return self.err(self.i, "macro call without `)`"),
                        _ => args.push(self.unary()?),
                    }
                }
                Node::Call {
                    name,
                    args,
                    span: start..self.i,
                }
            }
            _ => return Ok(None),
        }))
    }

    fn peek_paren(&self) -> bool {
        self.b[self.i..]
            .iter()
            .find(|c| !matches!(c, b' ' | b'\t'))
            .is_some_and(|c| *c == b'(')
    }

    fn open_paren(&mut self, word: &str, start: usize) -> Result<(), ParseError> {
        self.ws();
        if self.peek() != Some(b'(') {
            return self.err(start, format!("`#{word}` needs `(`"));
        }
        self.i += 1;
        Ok(())
    }

    fn close_paren(&mut self, what: &str) -> Result<(), ParseError> {
        self.ws();
        if self.peek() != Some(b')') {
            return self.err(self.i, format!("expected `)` to close `{what}(`"));
        }
        self.i += 1;
        Ok(())
    }

    /// Velocity 1.7 drops blanks and the newline right after a directive's closing `)`
    /// (its `RPAREN` token includes them), and after `#end` / `#else`.
    fn eat_line_end(&mut self) {
        let save = self.i;
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
        if self.peek() == Some(b'\n') {
            self.i += 1;
        } else if self.starts("\r\n") {
            self.i += 2;
        } else {
            self.i = save;
        }
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    /// A reference at `$`, or `None` when the `$` is text (nothing is consumed then).
    fn reference(&mut self) -> Result<Option<Ref>, ParseError> {
        let start = self.i;
        if self.peek() != Some(b'$') {
            return Ok(None);
        }
        let mut j = self.i + 1;
        let quiet = self.b.get(j) == Some(&b'!');
        if quiet {
            j += 1;
        }
        let formal = self.b.get(j) == Some(&b'{');
        if formal {
            j += 1;
        }
        if !self.b.get(j).copied().is_some_and(is_ident_start) {
            return Ok(None);
        }
        self.i = j;
        let name = self.ident();
        let mut path = Vec::new();
        loop {
            match self.peek() {
                Some(b'.') if self.at(1).is_some_and(is_ident_start) => {
                    self.i += 1;
                    let n = self.ident();
                    if self.peek() == Some(b'(') {
                        self.i += 1;
                        let args = self.args(b')')?;
                        path.push(Access::Method(n, args));
                    } else {
                        path.push(Access::Prop(n));
                    }
                }
                Some(b'[') => {
                    self.i += 1;
                    let e = self.expr()?;
                    self.ws();
                    if self.peek() != Some(b']') {
                        return self.err(self.i, "expected `]`");
                    }
                    self.i += 1;
                    path.push(Access::Index(e));
                }
                _ => break,
            }
        }
        if formal {
            if self.peek() != Some(b'}') {
                return self.err(self.i, "expected `}` to close `${`");
            }
            self.i += 1;
        }
        Ok(Some(Ref {
            quiet,
            name,
            path,
            span: start..self.i,
        }))
    }

    fn ident(&mut self) -> String {
        let s = self.i;
        while self.peek().is_some_and(is_ident) {
            // `-` only inside a name, never at its end (`$a-` is `$a` then text).
            if self.peek() == Some(b'-') && !self.at(1).is_some_and(is_ident_start) {
                break;
            }
            self.i += 1;
        }
        self.s[s..self.i].to_string()
    }

    /// Comma-separated expressions up to `close`.
    fn args(&mut self, close: u8) -> Result<Vec<Expr>, ParseError> {
        let mut out = Vec::new();
        self.ws();
        if self.peek() == Some(close) {
            self.i += 1;
            return Ok(out);
        }
        loop {
            out.push(self.expr()?);
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(c) if c == close => {
                    self.i += 1;
                    return Ok(out);
                }
                _ => return self.err(self.i, format!("expected `,` or `{}`", close as char)),
            }
        }
    }

    fn expr(&mut self) -> Result<Expr, ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.err(
                self.i,
                format!("expressions nested deeper than {MAX_DEPTH}"),
            );
        }
        let e = self.binary(0);
        self.depth -= 1;
        e
    }

    /// Precedence climbing: or < and < equality < relational < additive < multiplicative.
    fn binary(&mut self, level: usize) -> Result<Expr, ParseError> {
        if level == 6 {
            return self.unary();
        }
        let mut left = self.binary(level + 1)?;
        loop {
            self.ws();
            let Some((op, len)) = self.operator(level) else {
                return Ok(left);
            };
            self.i += len;
            let right = self.binary(level + 1)?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
    }

    fn word(&self, w: &str) -> bool {
        self.starts(w) && !self.b.get(self.i + w.len()).copied().is_some_and(is_ident)
    }

    fn operator(&self, level: usize) -> Option<(BinOp, usize)> {
        let table: &[(&str, BinOp)] = match level {
            0 => &[("||", BinOp::Or), ("or", BinOp::Or)],
            1 => &[("&&", BinOp::And), ("and", BinOp::And)],
            2 => &[
                ("==", BinOp::Eq),
                ("!=", BinOp::Ne),
                ("eq", BinOp::Eq),
                ("ne", BinOp::Ne),
            ],
            3 => &[
                ("<=", BinOp::Le),
                (">=", BinOp::Ge),
                ("<", BinOp::Lt),
                (">", BinOp::Gt),
                ("le", BinOp::Le),
                ("ge", BinOp::Ge),
                ("lt", BinOp::Lt),
                ("gt", BinOp::Gt),
            ],
            4 => &[("+", BinOp::Add), ("-", BinOp::Sub)],
            _ => &[("*", BinOp::Mul), ("/", BinOp::Div), ("%", BinOp::Rem)],
        };
        table.iter().find_map(|(t, op)| {
            let alpha = t.as_bytes()[0].is_ascii_alphabetic();
            let hit = if alpha { self.word(t) } else { self.starts(t) };
            hit.then_some((*op, t.len()))
        })
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        self.ws();
        if self.peek() == Some(b'!') && self.at(1) != Some(b'=') {
            self.i += 1;
            return Ok(Expr::Unary(UnOp::Not, Box::new(self.nested_unary()?)));
        }
        if self.word("not") {
            self.i += 3;
            return Ok(Expr::Unary(UnOp::Not, Box::new(self.nested_unary()?)));
        }
        if self.peek() == Some(b'-') && !self.at(1).is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
            return Ok(Expr::Unary(UnOp::Neg, Box::new(self.nested_unary()?)));
        }
        self.primary()
    }

    fn nested_unary(&mut self) -> Result<Expr, ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return self.err(
                self.i,
                format!("expressions nested deeper than {MAX_DEPTH}"),
            );
        }
        let e = self.unary();
        self.depth -= 1;
        e
    }

    fn primary(&mut self) -> Result<Expr, ParseError> {
        self.ws();
        let start = self.i;
        match self.peek() {
            Some(b'$') => match self.reference()? {
                Some(r) => Ok(Expr::Ref(r)),
                None => self.err(start, "expected a reference after `$`"),
            },
            Some(b'\'') => {
                self.i += 1;
                match self.s[self.i..].find('\'') {
                    Some(n) => {
                        let s = self.s[self.i..self.i + n].to_string();
                        self.i += n + 1;
                        Ok(Expr::Str(s))
                    }
                    None => self.err(start, "unterminated string: `'` is missing"),
                }
            }
            Some(b'"') => {
                self.i += 1;
                let Some(n) = self.s[self.i..].find('"') else {
                    return self.err(start, "unterminated string: `\"` is missing");
                };
                let inner = &self.s[self.i..self.i + n];
                let base = self.i;
                self.i += n + 1;
                if !inner.contains('$') && !inner.contains('#') {
                    return Ok(Expr::Str(inner.to_string()));
                }
                let mut sub = Parser {
                    s: inner,
                    b: inner.as_bytes(),
                    i: 0,
                    depth: self.depth,
                    macros: self.macros.clone(),
                };
                match sub.block(&[]) {
                    Ok((nodes, None)) => Ok(Expr::Interpolated(nodes)),
                    Ok((_, Some((w, at)))) => {
                        self.err(base + at, format!("`#{w}` inside a string"))
                    }
                    Err(e) => self.err(base + e.offset, e.message),
                }
            }
            Some(b'[') => {
                self.i += 1;
                self.ws();
                if self.peek() == Some(b']') {
                    self.i += 1;
                    return Ok(Expr::List(Vec::new()));
                }
                let first = self.expr()?;
                self.ws();
                if self.starts("..") {
                    self.i += 2;
                    let last = self.expr()?;
                    self.ws();
                    if self.peek() != Some(b']') {
                        return self.err(self.i, "expected `]` to close the range");
                    }
                    self.i += 1;
                    return Ok(Expr::Range(Box::new(first), Box::new(last)));
                }
                let mut items = vec![first];
                loop {
                    self.ws();
                    match self.peek() {
                        Some(b',') => {
                            self.i += 1;
                            items.push(self.expr()?);
                        }
                        Some(b']') => {
                            self.i += 1;
                            return Ok(Expr::List(items));
                        }
                        _ => return self.err(self.i, "expected `,` or `]` in the list"),
                    }
                }
            }
            Some(b'{') => {
                self.i += 1;
                let mut entries = Vec::new();
                loop {
                    self.ws();
                    match self.peek() {
                        Some(b'}') => {
                            self.i += 1;
                            return Ok(Expr::Map(entries));
                        }
                        Some(b',') if !entries.is_empty() => self.i += 1,
                        None => return self.err(start, "unterminated map: `}` is missing"),
                        _ => {
                            let k = self.expr()?;
                            self.ws();
                            if self.peek() != Some(b':') {
                                return self.err(self.i, "expected `:` in the map");
                            }
                            self.i += 1;
                            let v = self.expr()?;
                            entries.push((k, v));
                        }
                    }
                }
            }
            Some(b'(') => {
                self.i += 1;
                let e = self.expr()?;
                self.close_paren("(")?;
                Ok(e)
            }
            Some(c) if c.is_ascii_digit() || c == b'-' => {
                let s = self.i;
                self.i += 1;
                while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    self.i += 1;
                }
                let mut float = false;
                if self.peek() == Some(b'.') && self.at(1).is_some_and(|c| c.is_ascii_digit()) {
                    float = true;
                    self.i += 1;
                    while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                        self.i += 1;
                    }
                }
                let text = &self.s[s..self.i];
                if float {
                    text.parse()
                        .map(Expr::Float)
                        .or_else(|_| self.err(s, format!("`{text}` is not a number")))
                } else {
                    text.parse().map(Expr::Int).or_else(|_| {
                        self.err(s, format!("`{text}` is not an integer Velocity can hold"))
                    })
                }
            }
            _ if self.word("true") => {
                self.i += 4;
                Ok(Expr::Bool(true))
            }
            _ if self.word("false") => {
                self.i += 5;
                Ok(Expr::Bool(false))
            }
            _ if self.word("null") => {
                self.i += 4;
                Ok(Expr::Null)
            }
            None => self.err(start, "the template ends inside an expression"),
            Some(_) => {
                let shown: String = self.s[self.i..].chars().take(12).collect();
                self.err(start, format!("expected a value, found `{shown}`"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(src: &str) -> Template {
        parse(src).unwrap_or_else(|e| panic!("{src:?}: {e:?}"))
    }

    #[test]
    fn text_and_references() {
        let t = ok("a $x b $!y ${z.w} $a.b('c').d[0] $ 5 $");
        assert_eq!(t.nodes.len(), 9);
        assert!(matches!(&t.nodes[1], Node::Ref(r) if r.name == "x" && !r.quiet));
        assert!(matches!(&t.nodes[3], Node::Ref(r) if r.quiet));
        assert!(matches!(&t.nodes[7], Node::Ref(r) if r.path.len() == 3));
        assert!(matches!(&t.nodes[8], Node::Text(s) if s == " $ 5 $"));
    }

    #[test]
    fn aws_style_template() {
        let src = r#"#set($inputRoot = $input.path('$'))
{
  "items": [
#foreach($elem in $inputRoot.Items)
    {"id": "$elem.id.S", "n": $elem.n.N}#if($foreach.hasNext),#end
#end
  ],
  "user": "$util.escapeJavaScript($input.params('user'))",
  "count": $inputRoot.Count ## trailing comment
}
#* block
comment *#"#;
        let t = ok(src);
        assert!(matches!(&t.nodes[0], Node::Set { .. }));
        assert!(t.nodes.iter().any(|n| matches!(n, Node::Foreach { .. })));
    }

    #[test]
    fn expressions() {
        ok("#if($a == 1 && !($b > 2) || $c.size() eq 0 and not $d)x#elseif($e)y#{else}z#end");
        ok("#set($m = {\"a\": [1..3], 'b': -2.5})#set($s = \"v=$x ${y}\")");
        ok("#macro(hi $who)Hello $who#end#hi('you')");
        ok("#define($body)text#end$body");
        ok("#foreach($i in [1, 2, 3])#if($i > 1)#break#end#end#stop");
        ok("\\$notref \\#if #[[ $raw #if ]]# #unknown #1");
    }

    #[test]
    fn errors_have_offsets() {
        let e = parse("ok\n#if($a\nmore").unwrap_err();
        assert_eq!(e.line_col("ok\n#if($a\nmore"), (3, 1));
        assert!(e.message.contains(")"), "{e:?}");
        assert!(parse("#end").unwrap_err().message.contains("without"));
        assert!(parse("#if($a)x").unwrap_err().message.contains("#end"));
        assert!(parse("#set($a 1)").unwrap_err().message.contains("="));
        assert!(parse("#foreach($a of $b)#end")
            .unwrap_err()
            .message
            .contains("in"));
        assert!(parse("${a").is_err());
        assert!(parse("#set($a = 'x)").is_err());
        assert!(parse(&"#if(true)".repeat(200)).is_err());
    }
}
