//! Property tests: mutated documents never make the loader, lowering, check or the
//! renderers panic. Two mutators: byte-level edits of real documents (syntax errors, broken
//! indentation, stray quotes), and value-level replacements inside parsed documents (every
//! field gets every wrong type, which exercises lowering's type paths).

use std::path::Path;

use proptest::prelude::*;
use serde_json::Value;

fn seeds() -> &'static [(String, String)] {
    static SEEDS: std::sync::OnceLock<Vec<(String, String)>> = std::sync::OnceLock::new();
    SEEDS.get_or_init(load_seeds)
}

fn load_seeds() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let mut v = Vec::new();
    for dir in [
        "specs",
        "specs/invalid",
        "../shared/corpora/aws-specs",
        "../shared/corpora/aws-real",
    ] {
        let Ok(rd) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        let mut files: Vec<_> = rd
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .collect();
        files.sort();
        for p in files {
            if let Ok(t) = std::fs::read_to_string(&p) {
                v.push((p.file_name().unwrap().to_string_lossy().into_owned(), t));
            }
        }
    }
    assert!(!v.is_empty());
    v
}

fn exercise(name: &str, text: String) {
    let a = specgate::analyze_text(Path::new(name), text);
    let items = a.diagnostics.items();
    let db = &a.loaded.db;
    let _ = specgate::diag::render_human(db, items, false);
    let _ = specgate::diag::render_json(db, items);
    let _ = specgate::diag::render_sarif(db, items);
    let _ = specgate::diag::render_github(db, items);
    if let Some(api) = &a.api {
        let _ = specgate::routes::render_text(&specgate::routes::table(api));
    }
}

#[derive(Debug, Clone)]
enum Edit {
    Delete(usize, usize),
    Insert(usize, &'static str),
    DuplicateLine(usize),
    Truncate(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    const TOKENS: &[&str] = &[
        "{",
        "}",
        "[",
        "]",
        ":",
        ",",
        "\"",
        "'",
        "\n",
        "  ",
        "- ",
        "&a ",
        "*a",
        "$ref: '#/x'",
        "~",
        "null",
        "1e999",
        "é",
        "\t",
        "{proxy+}",
        "x-amazon-apigateway-integration: 1\n",
    ];
    prop_oneof![
        (any::<usize>(), 0usize..40).prop_map(|(a, n)| Edit::Delete(a, n)),
        (any::<usize>(), proptest::sample::select(TOKENS)).prop_map(|(a, t)| Edit::Insert(a, t)),
        any::<usize>().prop_map(Edit::DuplicateLine),
        any::<usize>().prop_map(Edit::Truncate),
    ]
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut b = text.as_bytes().to_vec();
    for e in edits {
        let len = b.len().max(1);
        match e {
            Edit::Delete(at, n) => {
                let at = at % len;
                let end = (at + n).min(b.len());
                if at < end {
                    b.drain(at..end);
                }
            }
            Edit::Insert(at, t) => {
                let at = at % (b.len() + 1);
                b.splice(at..at, t.bytes());
            }
            Edit::DuplicateLine(n) => {
                let s = String::from_utf8_lossy(&b).into_owned();
                let lines: Vec<&str> = s.lines().collect();
                if !lines.is_empty() {
                    let i = n % lines.len();
                    let mut out: Vec<&str> = lines.clone();
                    out.insert(i, lines[i]);
                    b = out.join("\n").into_bytes();
                }
            }
            Edit::Truncate(at) => b.truncate(at % len),
        }
    }
    String::from_utf8_lossy(&b).into_owned()
}

fn wrong_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        Just(Value::from(1.5)),
        "[a-z{}/+$ .:'*]{0,12}".prop_map(Value::String),
        Just(Value::Array(vec![Value::from(1), Value::Null])),
        Just(serde_json::json!({"$ref": "#/paths"})),
        Just(serde_json::json!({"type": "mock", "uri": "arn:aws:"})),
        Just(serde_json::json!({})),
    ]
}

/// Replaces the `pick`-th node (in pre-order) with `v`.
fn replace_nth(doc: &mut Value, pick: usize, v: Value) {
    fn count(x: &Value) -> usize {
        1 + match x {
            Value::Array(a) => a.iter().map(count).sum(),
            Value::Object(o) => o.values().map(count).sum(),
            _ => 0,
        }
    }
    fn go(x: &mut Value, n: &mut usize, v: &mut Option<Value>) {
        if *n == 0 {
            if let Some(v) = v.take() {
                *x = v;
            }
            return;
        }
        *n -= 1;
        match x {
            Value::Array(a) => a.iter_mut().for_each(|c| go(c, n, v)),
            Value::Object(o) => o.values_mut().for_each(|c| go(c, n, v)),
            _ => {}
        }
    }
    let total = count(doc);
    let mut n = pick % total;
    go(doc, &mut n, &mut Some(v));
}

proptest! {
    // PROPTEST_CASES=20000 for a longer hunt.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(400),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn byte_edits_never_panic(seed in any::<usize>(), edits in proptest::collection::vec(edit(), 1..6)) {
        let seeds = seeds();
        let (name, text) = &seeds[seed % seeds.len()];
        exercise(name, apply(text, &edits));
    }

    #[test]
    fn wrong_types_never_panic(seed in any::<usize>(), picks in proptest::collection::vec((any::<usize>(), wrong_value()), 1..4)) {
        let seeds = seeds();
        let (name, text) = &seeds[seed % seeds.len()];
        let a = specgate::analyze_text(Path::new(name), text.clone());
        let Some(tree) = a.loaded.root_tree() else { return Ok(()) };
        let mut doc = tree.to_json();
        for (pick, v) in picks {
            replace_nth(&mut doc, pick, v);
        }
        exercise("mutated.json", serde_json::to_string_pretty(&doc).unwrap());
    }
}

/// Mapping templates: any text, and text built from Velocity's own tokens, parses or fails
/// with an error inside the template — never a panic; a template that parses compiles to
/// Rust that parses, or is refused with a reason.
fn vtl_text() -> impl Strategy<Value = String> {
    const TOKENS: &[&str] = &[
        "$",
        "$!",
        "${",
        "}",
        "$x",
        "$a.b",
        ".m(",
        ")",
        "(",
        "[",
        "]",
        "[1..3]",
        "#",
        "#set(",
        "#if(",
        "#elseif(",
        "#else",
        "#end",
        "#foreach(",
        " in ",
        "#break",
        "#stop",
        "#define(",
        "#macro(",
        "#{if}",
        "##",
        "#*",
        "*#",
        "#[[",
        "]]#",
        "\\",
        "'",
        "\"",
        "==",
        "&&",
        "||",
        "!",
        "not ",
        " and ",
        "-",
        "1",
        "2.5",
        "{",
        ":",
        ",",
        "\n",
        " ",
        "é",
        "$input.path('$')",
        "$input.params('a')",
        "$util.base64Encode(",
        "$context.requestOverride.header.X",
        "$context.responseOverride.status",
        "$foreach.index",
        "$velocityCount",
        "#macro(m $a)",
        "#m(",
        "\\$x",
        ".put('k', 1)",
        ".size()",
        " + ",
        " / ",
        "#set($x = ",
    ];
    prop_oneof![
        ".{0,64}",
        prop::collection::vec(prop::sample::select(TOKENS), 0..40).prop_map(|v| v.concat()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn vtl_parser_never_panics(src in vtl_text()) {
        match specgate::vtl::parse(&src) {
            Err(e) => {
                prop_assert!(e.offset <= src.len());
                let _ = e.line_col(&src);
            }
            Ok(_) => {
                if let Ok(tokens) = specgate::codegen::template_module(&[("t".into(), src.clone())]) {
                    prop_assert!(syn::parse2::<syn::File>(tokens).is_ok(), "{src:?}");
                }
            }
        }
    }
}

/// Every mapping template in the AWS corpus (exported from, or imported into, real API
/// Gateway) parses.
#[test]
fn aws_corpus_templates_parse() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/corpora/aws-specs");
    let Ok(rd) = std::fs::read_dir(&root) else {
        return;
    };
    fn collect(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    if matches!(k.as_str(), "requestTemplates" | "responseTemplates") {
                        if let Value::Object(t) = x {
                            out.extend(t.values().filter_map(|s| s.as_str().map(String::from)));
                        }
                    }
                    collect(x, out);
                }
            }
            Value::Array(a) => a.iter().for_each(|x| collect(x, out)),
            _ => {}
        }
    }
    let mut templates = Vec::new();
    for e in rd {
        let p = e.unwrap().path();
        if p.extension().and_then(|x| x.to_str()) != Some("json") {
            continue;
        }
        if let Ok(v) = serde_json::from_str::<Value>(&std::fs::read_to_string(&p).unwrap()) {
            collect(&v, &mut templates);
        }
    }
    assert!(!templates.is_empty());
    for t in &templates {
        if let Err(e) = specgate::vtl::parse(t) {
            panic!("{t:?}: {e:?}");
        }
    }
    println!("{} AWS corpus templates parse", templates.len());
}
