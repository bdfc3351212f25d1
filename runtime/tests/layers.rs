//! The runtime's modules form no import cycle: a file may use another only if that one does
//! not (directly or through others) use it back. The crate root (`lib.rs`, re-exports and
//! the body helpers) is left out. Cycles made `server::Runtime` a knot that every feature had
//! to touch; `state.rs` now sits between the clients it holds and the phases that use it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module path of a source file: `lambda/mod.rs` → `lambda`, `lambda/proxy.rs` → `lambda::proxy`.
fn module_of(rel: &str) -> String {
    let rel = rel.trim_end_matches(".rs");
    let rel = rel.trim_end_matches("/mod");
    if rel == "lib" {
        String::new()
    } else {
        rel.replace('/', "::")
    }
}

fn files(dir: &Path, base: &Path, out: &mut Vec<(String, String)>) {
    // A folder that vanished meanwhile (a tool's temporary one) has no sources to read.
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, base, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            let rel = p
                .strip_prefix(base)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            out.push((module_of(&rel), std::fs::read_to_string(&p).unwrap()));
        }
    }
}

/// Every `crate::a::b…` path in `text` (expanding `use crate::{a, b::c}` groups) and every
/// `super::x` (relative to `module`), as module paths.
fn references(module: &str, text: &str) -> Vec<String> {
    let mut out = Vec::new();
    // Drop line comments and the test module.
    let code: String = text
        .split("#[cfg(test)]")
        .next()
        .unwrap_or("")
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    let parent = module.rsplit_once("::").map_or("", |(p, _)| p).to_string();
    for (prefix, base) in [("crate::", String::new()), ("super::", parent)] {
        let mut rest = code.as_str();
        while let Some(i) = rest.find(prefix) {
            let before = rest[..i].chars().last();
            rest = &rest[i + prefix.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let join = |p: &str| {
                if base.is_empty() {
                    p.to_string()
                } else {
                    format!("{base}::{p}")
                }
            };
            if let Some(group) = rest.strip_prefix('{') {
                let end = group.find('}').unwrap_or(group.len());
                for item in group[..end].split(',') {
                    let item = item.trim();
                    if !item.is_empty() {
                        out.push(join(item));
                    }
                }
            } else {
                let end = rest
                    .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                    .unwrap_or(rest.len());
                out.push(join(rest[..end].trim_end_matches(':')));
            }
        }
    }
    out
}

#[test]
fn runtime_modules_form_no_import_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut all = Vec::new();
    files(&src, &src, &mut all);
    let modules: BTreeSet<String> = all.iter().map(|(m, _)| m.clone()).collect();
    // Resolve a path to the deepest module file it names.
    let resolve = |path: &str| -> Option<String> {
        let parts: Vec<&str> = path.split("::").filter(|p| !p.is_empty()).collect();
        (1..=parts.len())
            .rev()
            .map(|n| parts[..n].join("::"))
            .find(|m| modules.contains(m))
    };
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (m, text) in &all {
        if m.is_empty() {
            continue;
        }
        for r in references(m, text) {
            if let Some(target) = resolve(&r) {
                // A module may use its own children, and a child its parent's items only
                // through `super::` (checked like any other edge).
                if &target != m && !target.is_empty() {
                    edges.entry(m.clone()).or_default().insert(target);
                }
            }
        }
    }
    // Depth-first search for a cycle.
    fn visit(
        n: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match state.get(n) {
            Some(2) => return None,
            Some(1) => {
                let at = stack.iter().position(|s| s == n).unwrap_or(0);
                let mut cycle = stack[at..].to_vec();
                cycle.push(n.to_string());
                return Some(cycle);
            }
            _ => {}
        }
        state.insert(n.to_string(), 1);
        stack.push(n.to_string());
        for next in edges.get(n).into_iter().flatten() {
            if let Some(c) = visit(next, edges, state, stack) {
                return Some(c);
            }
        }
        stack.pop();
        state.insert(n.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for m in &modules {
        let mut stack = Vec::new();
        if let Some(cycle) = visit(m, &edges, &mut state, &mut stack) {
            panic!("import cycle: {}", cycle.join(" → "));
        }
    }
    // The test sees real edges (guards against a parser that finds nothing).
    assert!(edges.get("server").is_some_and(|e| e.contains("state")));
    assert!(edges.get("upstream").is_some_and(|e| e.contains("state")));
}
