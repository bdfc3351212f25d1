//! Acceptors: for each request-body validator, a function that checks the same model while
//! the JSON text is read (`specgate_runtime::json::Scan`), so that a valid body needs no
//! tree. An acceptor answers "valid" or "not sure", never "invalid": whatever it does not
//! take on (see [`Validators::generate_acceptor`]) is left to the validator, whose verdict
//! and messages stand.

use proc_macro2::{Ident, TokenStream};
use quote::quote;
use serde_json::{Map, Value};

use super::{doc_text, name_switch, Loc, Validators};

impl<'a> Validators<'a> {
    /// The validator function for a request body's schema and its acceptor (the same
    /// checks made as the JSON text is read: `specgate_runtime::json::Scan`).
    pub fn root_accepting(&mut self, schema: &'a Value, hint: &str) -> (Ident, Ident) {
        let model = self.models.len();
        self.models.push((hint.to_string(), schema));
        let f = self.function((model, String::new()));
        let a = self.acceptor((model, String::new()));
        loop {
            if let Some(loc) = self.queue.pop() {
                self.generate(loc);
            } else if let Some(loc) = self.accept_queue.pop() {
                self.generate_acceptor(loc);
            } else {
                break;
            }
        }
        (f, a)
    }

    /// The acceptor of the schema at `loc` (queued for generation if new): named after its
    /// validator, which it calls for scalars.
    fn acceptor(&mut self, loc: Loc) -> Ident {
        let loc = self.resolve(loc.clone()).unwrap_or(loc);
        if let Some(a) = self.accepts.get(&loc) {
            return a.clone();
        }
        let f = self.function(loc.clone());
        let a = self.fresh_name(&format!("accept_{f}"));
        self.accepts.insert(loc.clone(), a.clone());
        self.accept_queue.push(loc);
        a
    }

    /// An acceptor: objects and arrays read member by member, each checked by its own
    /// acceptor; scalars read whole and checked by the validator. Where the schema has a
    /// keyword that needs a container's whole tree (`enum`, `allOf`, `anyOf`, `oneOf`,
    /// `not`, `dependencies`, `patternProperties`, `minProperties`, `maxProperties`, a list
    /// of `items`), the acceptor is not sure of such a container and the tree decides.
    fn generate_acceptor(&mut self, loc: Loc) {
        let a = self.accepts[&loc].clone();
        let f = self.fns[&loc].clone();
        let doc = doc_text(&format!(
            " Accepts what [`{f}`] finds valid, reading the text (`None`: not sure)."
        ));
        let body = match self.value(&loc) {
            Some(Value::Object(s)) if !s.contains_key("$ref") => {
                let whole = ["enum", "allOf", "anyOf", "oneOf", "not"]
                    .iter()
                    .any(|k| s.contains_key(*k));
                let object = if whole || !allows(s, "object") {
                    quote!(None)
                } else {
                    self.accept_object(&loc, s)
                };
                let array = if whole || !allows(s, "array") {
                    quote!(None)
                } else {
                    self.accept_array(&loc, s)
                };
                quote! {
                    match j.peek()? {
                        b'{' => { #object }
                        b'[' => { #array }
                        _ => j.scalar(#f),
                    }
                }
            }
            // No checks (see `generate`): any JSON value.
            _ => quote!(j.skip()),
        };
        self.out.push(quote! {
            #[doc = #doc]
            pub fn #a(j: &mut Scan<'_>) -> Option<()> {
                #body
            }
        });
    }

    /// An object's members, each checked by its property's acceptor (or the
    /// `additionalProperties` one, or skipped); a declared or required name seen twice, an
    /// undeclared one under `additionalProperties: false` or a required one missing: not
    /// sure.
    fn accept_object(&mut self, loc: &Loc, s: &'a Map<String, Value>) -> TokenStream {
        let unsure = [
            "dependencies",
            "patternProperties",
            "minProperties",
            "maxProperties",
        ];
        if unsure.iter().any(|k| s.contains_key(*k)) {
            return quote!(None);
        }
        let props: Vec<&str> = s
            .get("properties")
            .and_then(Value::as_object)
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let required = self.required(loc, s);
        let mut names: Vec<&str> = props.clone();
        for r in &required {
            if !names.contains(r) {
                names.push(r);
            }
        }
        if names.len() > 64 {
            return quote!(None);
        }
        let other = match s.get("additionalProperties") {
            Some(Value::Bool(false)) => quote!(return None;),
            Some(Value::Object(_)) => {
                let x = self.acceptor(sub_loc(loc, &["additionalProperties"]));
                quote!(#x(j)?;)
            }
            _ => quote!(j.skip()?;),
        };
        let arms: Vec<(&str, TokenStream)> = names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let bit = 1u64 << i;
                let then = if props.contains(name) {
                    let x = self.acceptor(sub_loc(loc, &["properties", name]));
                    quote!(#x(j)?;)
                } else {
                    other.clone()
                };
                (
                    *name,
                    quote! {
                        if seen & #bit != 0 {
                            return None;
                        }
                        seen |= #bit;
                        #then
                    },
                )
            })
            .collect();
        let (seen, dispatch) = if names.is_empty() {
            (quote!(), other)
        } else {
            (
                quote!(let mut seen = 0u64;),
                name_switch(&quote!(k.len()), &quote!(k), &arms, &other),
            )
        };
        let mask: u64 = names
            .iter()
            .enumerate()
            .filter(|(_, n)| required.contains(n))
            .map(|(i, _)| 1u64 << i)
            .sum();
        let check = if mask == 0 {
            quote!()
        } else {
            quote! {
                if seen & #mask != #mask {
                    return None;
                }
            }
        };
        // A name is only looked at when it is compared.
        let bind = if names.is_empty() {
            quote!(_k)
        } else {
            quote!(k)
        };
        quote! {
            j.open()?;
            #seen
            let mut first = true;
            while let Some(#bind) = j.key(&mut first) {
                #dispatch
            }
            j.ended()?;
            #check
            Some(())
        }
    }

    /// An array's items, each checked by the `items` acceptor (or skipped), counted for
    /// `minItems`/`maxItems`; `uniqueItems` taken on for strings without escapes.
    fn accept_array(&mut self, loc: &Loc, s: &'a Map<String, Value>) -> TokenStream {
        let item = match s.get("items") {
            Some(Value::Object(_)) => {
                let x = self.acceptor(sub_loc(loc, &["items"]));
                quote!(#x(j)?;)
            }
            Some(Value::Array(_)) => return quote!(None),
            _ => quote!(j.skip()?;),
        };
        let count = |k: &str| s.get(k).and_then(Value::as_u64).map(|n| n as usize);
        let (min, max) = (count("minItems").filter(|m| *m > 0), count("maxItems"));
        let unique = s.get("uniqueItems") == Some(&Value::Bool(true));
        let mut before = Vec::new();
        let mut each = Vec::new();
        let mut after = Vec::new();
        if min.is_some() || max.is_some() {
            before.push(quote!(let mut n = 0usize;));
            each.push(quote!(n += 1;));
        }
        if let Some(max) = max {
            each.push(quote! {
                if n > #max {
                    return None;
                }
            });
        }
        if let Some(min) = min {
            after.push(quote! {
                if n < #min {
                    return None;
                }
            });
        }
        let item = if unique {
            before.push(quote!(let mut texts = schema::Distinct::default();));
            after.push(quote! {
                if !texts.all_different() {
                    return None;
                }
            });
            quote! {
                let at = j.mark();
                #item
                texts.push(j.plain_string_at(at)?);
            }
        } else {
            item
        };
        quote! {
            j.open()?;
            #(#before)*
            let mut first = true;
            while j.item(&mut first)? {
                #item
                #(#each)*
            }
            #(#after)*
            Some(())
        }
    }
}

/// The schema at `tail` (names, escaped as JSON pointer tokens) under `loc`.
pub(super) fn sub_loc(loc: &Loc, tail: &[&str]) -> Loc {
    let mut ptr = loc.1.clone();
    for t in tail {
        ptr.push('/');
        ptr.push_str(&t.replace('~', "~0").replace('/', "~1"));
    }
    (loc.0, ptr)
}

/// Whether the schema's `type` lets an instance of JSON type `kind` (`object` or `array`)
/// through, as [`type_check`] judges: a `type` that names no known type checks nothing.
fn allows(s: &Map<String, Value>, kind: &str) -> bool {
    let types: Vec<&str> = match s.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).collect(),
        _ => return true,
    };
    let known = [
        "array", "boolean", "integer", "null", "number", "object", "string",
    ];
    !types.iter().any(|t| known.contains(t)) || types.contains(&kind)
}
