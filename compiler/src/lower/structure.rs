//! Lowering: the document's structure checked against the `openapiv3` crate's model of
//! OpenAPI 3.0 (on a second thread, beside the tree-walking lowering).

use super::*;

/// Validates the document against the `openapiv3` model. serde stops at the first
/// mismatch, so each mismatch is reported and patched (a number or boolean where a string
/// belongs becomes that string, as API Gateway's importer reads it; anything else is
/// removed) and the document is read again, up to a bound. Diagnostics at places that
/// lowering also reports are dropped later (`dedupe_structure`).
pub(super) fn structure(l: &Loaded, root: &Node) -> Diagnostics {
    let mut diags = Diagnostics::default();
    let d = &mut diags;
    const MAX_ROUNDS: usize = 20;
    let mut json = root.to_json();
    // Schemas are checked by `schema_check`, which knows draft-04 and reports with exact
    // locations; openapiv3's Schema model would reject draft-04 forms API Gateway accepts.
    blank_schemas(&mut json, false);
    let mut reported: Vec<String> = Vec::new();
    let mut removed: Vec<String> = Vec::new();
    for _ in 0..MAX_ROUNDS {
        let result: Result<openapiv3::OpenAPI, _> = serde_path_to_error::deserialize(&json);
        let Err(e) = result else { return diags };
        let mut tokens = Vec::new();
        for seg in e.path().iter() {
            use serde_path_to_error::Segment as S;
            match seg {
                S::Seq { index } => tokens.push(index.to_string()),
                S::Map { key } => tokens.push(key.clone()),
                S::Enum { .. } | S::Unknown => {}
            }
        }
        let pointer: String = tokens
            .iter()
            .map(|t| format!("/{}", crate::tree::escape_pointer_token(t)))
            .collect();
        let inner = humanize(&e.inner().to_string());
        // openapiv3 reads `paths` through its own map type, which loses the path below it;
        // reading the path items one by one finds the exact place.
        let (pointer, inner) = if pointer == "/paths" {
            refine_paths(&json).unwrap_or((pointer, inner))
        } else {
            (pointer, inner)
        };
        if reported.contains(&pointer) {
            return diags;
        }
        reported.push(pointer.clone());
        let p = Pointer {
            file: root.span.file,
            pointer: pointer.clone(),
        };
        let span = l.span_of(&p);
        let at = if pointer.is_empty() {
            "/".to_string()
        } else {
            pointer.clone()
        };
        let lenient = inner.starts_with("invalid type:")
            && inner.ends_with("expected a string")
            && json
                .pointer(&pointer)
                .is_some_and(|v| v.is_number() || v.is_boolean());
        if lenient {
            let text = json
                .pointer(&pointer)
                .map(|v| v.to_string())
                .unwrap_or_default();
            d.warning(
                &codes::STRUCTURE,
                span,
                format!("OpenAPI requires a string here; this is read as \"{text}\""),
            )
            .label(format!("at `{at}`"))
            .help(format!("quote it: \"{text}\""));
            if let Some(v) = json.pointer_mut(&pointer) {
                *v = serde_json::Value::String(text);
            }
            continue;
        }
        if let Some((what, patch)) = aws_accepts(&inner, &pointer) {
            // A field this pass removed itself (reported as an error) is not missing twice.
            let field = inner
                .strip_prefix("missing field `")
                .and_then(|f| f.strip_suffix('`'));
            if field.is_some_and(|f| removed.contains(&format!("{pointer}/{f}"))) {
                if patch(&mut json, &pointer) {
                    continue;
                }
                return diags;
            }
            d.warning(&codes::STRUCTURE, span, what)
                .label(format!("at `{at}`"))
                .help("other OpenAPI tools may refuse this; write it as OpenAPI 3.0 has it");
            if patch(&mut json, &pointer) {
                continue;
            }
            return diags;
        }
        d.error(
            &codes::STRUCTURE,
            span,
            format!("this does not match the OpenAPI 3.0 structure: {inner}"),
        )
        .label(format!("at `{at}`"));
        // Remove the offending value and read again to find further problems.
        let removed_now = match pointer.rsplit_once('/') {
            Some((parent, last)) => match json.pointer_mut(parent) {
                Some(serde_json::Value::Object(m)) => m
                    .shift_remove(&*crate::tree::unescape_pointer_token(last))
                    .is_some(),
                Some(serde_json::Value::Array(a)) => match last.parse::<usize>() {
                    Ok(i) if i < a.len() => {
                        a.remove(i);
                        true
                    }
                    _ => false,
                },
                _ => false,
            },
            None => false,
        };
        if !removed_now {
            return diags;
        }
        removed.push(pointer);
    }
    diags
}

/// serde's message without its position and without the Rust type names of the `openapiv3`
/// model (`ParameterSchemaOrContent`, `ReferenceOr`), which mean nothing to a spec's author.
fn humanize(message: &str) -> String {
    let m = message.split(" at line ").next().unwrap_or(message);
    if m.contains("ParameterSchemaOrContent") {
        return "a parameter needs a `schema` (or `content`)".into();
    }
    if let Some(i) = m.find("untagged enum ") {
        let name = m[i + "untagged enum ".len()..]
            .split_whitespace()
            .next()
            .unwrap_or("");
        return if name.starts_with("ReferenceOr") {
            "this is neither a `$ref` nor the object OpenAPI 3.0 expects here".into()
        } else {
            "this value has none of the shapes OpenAPI 3.0 allows here".into()
        };
    }
    if m.contains("variant of enum ") {
        return "this value has none of the shapes OpenAPI 3.0 allows here".into();
    }
    m.to_string()
}

type Patch = fn(&mut serde_json::Value, &str) -> bool;

/// Departures from OpenAPI 3.0 that API Gateway's importer accepts: what is missing, and how
/// to patch the document so that the structure check goes on.
fn aws_accepts(inner: &str, pointer: &str) -> Option<(&'static str, Patch)> {
    fn insert(
        json: &mut serde_json::Value,
        pointer: &str,
        key: &str,
        value: serde_json::Value,
    ) -> bool {
        match json.pointer_mut(pointer) {
            Some(serde_json::Value::Object(m)) => m.insert(key.to_string(), value).is_none(),
            _ => false,
        }
    }
    match inner {
        "missing field `responses`" => Some((
            "OpenAPI 3.0 requires `responses` in every operation; API Gateway's importer accepts an operation without them, and so does specgate",
            |j, p| insert(j, p, "responses", serde_json::json!({})),
        )),
        "missing field `version`" if pointer == "/info" => Some((
            "OpenAPI 3.0 requires `info.version`; API Gateway's importer accepts a document without it, and so does specgate",
            |j, p| insert(j, p, "version", serde_json::json!("")),
        )),
        "missing field `url`" if pointer.starts_with("/servers/") => Some((
            "OpenAPI 3.0 requires a `url` in every Server object; API Gateway's importer accepts one without it, and specgate ignores it",
            |j, p| insert(j, p, "url", serde_json::json!("/")),
        )),
        "a parameter needs a `schema` (or `content`)" => Some((
            "OpenAPI 3.0 requires a `schema` (or `content`) for every parameter; API Gateway's importer accepts one without, and specgate reads it as a string",
            |j, p| insert(j, p, "schema", serde_json::json!({"type": "string"})),
        )),
        _ if pointer == "/servers" && inner.starts_with("invalid type: map") => Some((
            "OpenAPI 3.0 requires `servers` to be a list; API Gateway's importer accepts a single Server object, and so does specgate",
            |j, p| match j.pointer_mut(p) {
                Some(v) => {
                    let server = v.take();
                    *v = serde_json::Value::Array(vec![server]);
                    true
                }
                None => false,
            },
        )),
        _ => None,
    }
}

/// Replaces every schema (a `schema` value, and the members of `components.schemas`) with
/// `{}`, keeping references.
fn blank_schemas(v: &mut serde_json::Value, in_components: bool) {
    use serde_json::Value;
    let Value::Object(m) = v else {
        if let Value::Array(items) = v {
            for i in items {
                blank_schemas(i, false);
            }
        }
        return;
    };
    for (k, child) in m.iter_mut() {
        let is_schema = k == "schema" && child.is_object();
        if is_schema && child.get("$ref").is_none() {
            *child = Value::Object(Default::default());
        } else if in_components && k == "schemas" {
            if let Value::Object(schemas) = child {
                for s in schemas.values_mut() {
                    if s.is_object() && s.get("$ref").is_none() {
                        *s = Value::Object(Default::default());
                    }
                }
            }
        } else if !is_schema {
            blank_schemas(child, k == "components");
        }
    }
}

/// The first path item that does not deserialize, as (pointer, message).
fn refine_paths(json: &serde_json::Value) -> Option<(String, String)> {
    let paths = json.get("paths")?.as_object()?;
    for (key, item) in paths {
        if item.get("$ref").is_some() {
            continue;
        }
        let r: Result<openapiv3::PathItem, _> = serde_path_to_error::deserialize(item);
        if let Err(e) = r {
            let mut pointer = format!("/paths/{}", crate::tree::escape_pointer_token(key));
            for seg in e.path().iter() {
                use serde_path_to_error::Segment as S;
                let tok = match seg {
                    S::Seq { index } => index.to_string(),
                    S::Map { key } => key.clone(),
                    S::Enum { .. } | S::Unknown => continue,
                };
                pointer.push('/');
                pointer.push_str(&crate::tree::escape_pointer_token(&tok));
            }
            return Some((pointer, humanize(&e.inner().to_string())));
        }
    }
    None
}
