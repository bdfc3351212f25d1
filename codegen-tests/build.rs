//! Compiles every buildable spec into one module each of this crate: the top-level documents
//! in `specs/`, every `examples/*/api.yaml`, and the AWS corpus documents this version can
//! generate. A spec with errors fails the build with specgate's diagnostics.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// AWS-exported documents (in `../shared/corpora/aws-specs`) whose features are generated.
const CORPUS: &[&str] = &[
    "openapi-basepath-server-variable.yaml",
    "openapi.spec.stage-variables.json",
    "swagger-mock-cors.json",
];

/// Real users' documents (in `../shared/corpora/aws-real`) built as they are, with the values
/// a deployment would give their CloudFormation placeholders (`--var NAME=VALUE`).
const AWS_REAL: &[(&str, &str, &[&str])] = &[
    ("real_s3_binary", "03-awsdocs-s3-binary-images-oas30.json", &[]),
    (
        "real_dynamodb_crud",
        "07-sp-dynamodb-crud-validators.yaml",
        &[
            "APIGatewayDynamoDBRole.Arn=arn:aws:iam::123456789012:role/reminders",
            "AWS::Region=us-east-1",
            "RemindersTable=reminders",
        ],
    ),
    (
        "real_sfn_sync",
        "09-sp-httpapi-stepfunctions-sync.yaml",
        &[
            "HttpApiRole.Arn=arn:aws:iam::123456789012:role/sfn",
            "StateMachineExpressSync.Arn=arn:aws:states:us-east-1:123456789012:stateMachine:express",
        ],
    ),
    (
        "real_sns_sms",
        "12-sp-sns-publish-sms.yaml",
        &["AWS::AccountId=123456789012", "AWS::Region=us-east-1"],
    ),
];

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut specs: Vec<(String, PathBuf, String)> = Vec::new();
    let spec_dir = root.join("specs");
    println!("cargo:rerun-if-changed={}", spec_dir.display());
    for path in files(&spec_dir) {
        let name = format!("specs/{}", file_name(&path));
        specs.push((module(&path), path, name));
    }
    let bench_dir = spec_dir.join("bench");
    println!("cargo:rerun-if-changed={}", bench_dir.display());
    for path in files(&bench_dir) {
        let name = format!("specs/bench/{}", file_name(&path));
        specs.push((format!("bench_{}", module(&path)), path, name));
    }
    let examples = root.join("examples");
    println!("cargo:rerun-if-changed={}", examples.display());
    if let Ok(dirs) = std::fs::read_dir(&examples) {
        let mut dirs: Vec<PathBuf> = dirs.filter_map(|e| e.ok()).map(|e| e.path()).collect();
        dirs.sort();
        for d in dirs {
            let api = d.join("api.yaml");
            if api.is_file() {
                let name = format!("examples/{}/api.yaml", file_name(&d));
                specs.push((format!("example_{}", module(&d)), api, name));
            }
        }
    }
    let corpus = root.join("../shared/corpora/aws-specs");
    let mut have_corpus = false;
    for f in CORPUS {
        let path = corpus.join(f);
        if path.is_file() {
            have_corpus = true;
            specs.push((
                format!("aws_{}", module(&path)),
                path,
                format!("aws-specs/{f}"),
            ));
        }
    }
    let real = root.join("../shared/corpora/aws-real");
    let mut have_real = false;
    let mut real_specs = Vec::new();
    for (module, f, vars) in AWS_REAL {
        let path = real.join(f);
        if path.is_file() {
            have_real = true;
            real_specs.push((*module, path, *f, *vars));
        }
    }
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    // The guide's IAM example declares no integrations: a test copy gives every operation a
    // mock that answers with the caller's ARN.
    let iam_example = real.join("25-awsdocs-iam-sigv4-authtype.json");
    if iam_example.is_file() {
        println!("cargo:rerun-if-changed={}", iam_example.display());
        let text = std::fs::read_to_string(&iam_example).expect("read the IAM example");
        let mut doc: serde_json::Value =
            serde_json::from_str(&text).expect("the IAM example is JSON");
        if let Some(paths) = doc["paths"].as_object_mut() {
            for item in paths.values_mut() {
                for op in item
                    .as_object_mut()
                    .into_iter()
                    .flat_map(|o| o.values_mut())
                {
                    op["x-amazon-apigateway-integration"] = serde_json::json!({
                        "type": "mock",
                        "requestTemplates": {"application/json": "{\"statusCode\": 200}"},
                        "responses": {"default": {"statusCode": "200", "responseTemplates": {
                            "application/json": "{\"caller\": \"$context.identity.userArn\"}"}}}
                    });
                }
            }
        }
        let copy = out_dir.join("iam-example-with-mocks.json");
        std::fs::write(&copy, serde_json::to_string_pretty(&doc).expect("JSON"))
            .expect("write the copy");
        let no_vars: &[&str] = &[];
        real_specs.push((
            "real_iam_example",
            copy,
            "25-awsdocs-iam-sigv4-authtype.json (with mocks)",
            no_vars,
        ));
    }
    let jsts = root.join("../shared/corpora/jsts/draft4");
    let have_jsts = jsts.is_dir();
    if have_jsts {
        println!("cargo:rerun-if-changed={}", jsts.display());
        let (spec, cases) = jsts_spec(&jsts);
        let spec_path = out_dir.join("jsts-draft4.json");
        std::fs::write(&spec_path, &spec).expect("write the JSTS spec");
        std::fs::write(out_dir.join("jsts-cases.json"), cases).expect("write the JSTS cases");
        // Each group's validator and acceptor (`models::g<n>`, `models::accept_g<n>`), for
        // the test that holds acceptors to their validators' verdicts.
        let groups = spec.matches("\"operationId\"").count();
        let table: String = (0..groups)
            .map(|n| format!("(models::g{n}, models::accept_g{n}),\n"))
            .collect();
        std::fs::write(out_dir.join("jsts-models.rs"), format!("&[\n{table}]\n"))
            .expect("write the JSTS model table");
        specs.push(("jsts".into(), spec_path, "jsts-draft4.json".into()));
    }
    // Specs compiled to their router only (`codegen::router_module`), for the router benchmark.
    let mut routers: Vec<(String, PathBuf, String)> = Vec::new();
    let github = root.join("../shared/corpora/specs/github-api.github.com.json");
    let have_github = github.is_file();
    if have_github {
        println!("cargo:rerun-if-changed={}", github.display());
        let (spec, instances) = github_bench_spec(&github);
        let spec_path = out_dir.join("github-models.json");
        std::fs::write(&spec_path, spec).expect("write the GitHub models spec");
        std::fs::write(out_dir.join("github-instances.json"), instances)
            .expect("write the GitHub instances");
        specs.push((
            "bench_github".into(),
            spec_path,
            "github-models.json".into(),
        ));
        let routes = github_routes_spec(&github);
        let routes_path = out_dir.join("github-routes.json");
        std::fs::write(&routes_path, routes).expect("write the GitHub routes spec");
        routers.push((
            "bench_github_routes".into(),
            routes_path,
            "github-routes.json".into(),
        ));
        println!("cargo:rustc-cfg=github_corpus");
    }
    println!("cargo::rustc-check-cfg=cfg(github_corpus)");
    let mut out = String::new();
    for (module, path, display) in &specs {
        println!("cargo:rerun-if-changed={}", path.display());
        let api = lower(path, display);
        let tokens =
            specgate::codegen::format_file(specgate::codegen::gateway_module(&api, display));
        let _ = writeln!(out, "pub mod {module} {{\n{tokens}\n}}");
    }
    for (module, path, file, vars) in &real_specs {
        println!("cargo:rerun-if-changed={}", path.display());
        let pairs: Vec<String> = vars.iter().map(|v| v.to_string()).collect();
        let opts = specgate::Options {
            vars: specgate::placeholders::Vars::new(&pairs, &[], None).expect("vars"),
            for_build: true,
        };
        let display = format!("aws-real/{file}");
        let text =
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let a = specgate::analyze_text_with(path, text, &opts);
        let api = match a.api {
            Some(api) if a.diagnostics.error_count() == 0 => api,
            _ => panic!(
                "{display} does not compile:\n{}",
                specgate::diag::render_human(&a.loaded.db, a.diagnostics.items(), false)
            ),
        };
        let tokens =
            specgate::codegen::format_file(specgate::codegen::gateway_module(&api, &display));
        let _ = writeln!(out, "pub mod {module} {{\n{tokens}\n}}");
    }
    for (module, path, display) in &routers {
        let api = lower(path, display);
        let tokens = specgate::codegen::format_file(specgate::codegen::router_module(&api));
        let _ = writeln!(out, "pub mod {module} {{\n{tokens}\n}}");
    }
    out.push_str(&vtl_conformance(&root, &out_dir));
    if have_corpus {
        println!("cargo:rustc-cfg=aws_corpus");
    }
    println!("cargo::rustc-check-cfg=cfg(aws_corpus)");
    if have_real {
        println!("cargo:rustc-cfg=aws_real_corpus");
    }
    println!("cargo::rustc-check-cfg=cfg(aws_real_corpus)");
    if have_jsts {
        println!("cargo:rustc-cfg=jsts_corpus");
    }
    println!("cargo::rustc-check-cfg=cfg(jsts_corpus)");
    let dest = out_dir.join("gateways.rs");
    std::fs::write(&dest, out).unwrap_or_else(|e| panic!("{}: {e}", dest.display()));
}

/// The VTL conformance cases (`vtl/conformance.yaml`) compiled into `mod vtl_conformance`:
/// `TEMPLATES[i]` renders case `i` of `vtl-cases.json` (the cases as JSON, in OUT_DIR). A
/// case with `compile_error` must fail to compile with that text in the message; its slot
/// holds a template that fails, and the test skips it.
fn vtl_conformance(root: &Path, out_dir: &Path) -> String {
    use serde_json::Value;
    let path = root.join("codegen-tests/vtl/conformance.yaml");
    println!("cargo:rerun-if-changed={}", path.display());
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut diags = specgate::diag::Diagnostics::default();
    let loaded = specgate::load::Loaded::load_text(&path, text, &Default::default(), &mut diags);
    let doc = match loaded.root_tree() {
        Some(t) if diags.error_count() == 0 => t.to_json(),
        _ => panic!(
            "vtl/conformance.yaml does not load:\n{}",
            specgate::diag::render_human(&loaded.db, diags.items(), false)
        ),
    };
    let cases = doc["cases"].as_array().expect("`cases:` is a list");
    let mut templates = Vec::new();
    let mut wrong = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let name = case["name"].as_str().unwrap_or("?");
        let source = case["template"]
            .as_str()
            .unwrap_or_else(|| panic!("case `{name}` has no template"));
        let fn_name = format!("case_{i}");
        let compiled = specgate::codegen::template_module(&[(fn_name.clone(), source.into())]);
        match (&case["compile_error"], compiled) {
            (Value::String(want), Err(e)) if e.contains(want.as_str()) => {
                templates.push((fn_name, "#stop".to_string()));
            }
            (Value::String(want), r) => {
                wrong.push(format!(
                    "case `{name}`: expected a compile error with `{want}`, got {r:?}"
                ));
                templates.push((fn_name, "#stop".to_string()));
            }
            (_, Err(e)) => {
                wrong.push(format!("case `{name}` does not compile: {e}"));
                templates.push((fn_name, "#stop".to_string()));
            }
            (_, Ok(_)) => templates.push((fn_name, source.into())),
        }
    }
    assert!(
        wrong.is_empty(),
        "vtl/conformance.yaml:\n{}",
        wrong.join("\n")
    );
    let module = specgate::codegen::template_module(&templates)
        .unwrap_or_else(|e| panic!("conformance templates: {e}"));
    std::fs::write(
        out_dir.join("vtl-cases.json"),
        serde_json::to_string(&doc["cases"]).expect("cases serialise"),
    )
    .expect("write vtl-cases.json");
    let tokens = specgate::codegen::format_file(module);
    format!("pub mod vtl_conformance {{\n{tokens}\n}}\n")
}

/// The IR of a spec; a spec with errors fails the build with specgate's diagnostics.
fn lower(path: &Path, display: &str) -> specgate::ir::Api {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let a = specgate::analyze_text(path, text);
    match a.api {
        Some(api) if a.diagnostics.error_count() == 0 => api,
        _ => panic!(
            "{display} does not compile:\n{}",
            specgate::diag::render_human(&a.loaded.db, a.diagnostics.items(), false)
        ),
    }
}

/// The JSON Schema Test Suite (draft 4) as one API: every test group's schema becomes the
/// model `G<n>` and the request body of `POST /g<n>`, validated by API Gateway's body
/// validator, so each case runs through the real generated code path. Groups that need a
/// remote document (`refRemote.json`, and schemas with `$ref`s into `http://` URIs) are
/// left out, as the issue allows. Returns the spec and the cases
/// (`[[group, file, description, data, valid], …]`).
fn jsts_spec(dir: &Path) -> (String, String) {
    use serde_json::{json, Map, Value};
    let mut schemas = Map::new();
    let mut paths = Map::new();
    let mut cases = Vec::new();
    for path in files(dir) {
        let file = file_name(&path);
        if file == "refRemote.json" {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read a JSTS file");
        let groups: Vec<Value> = serde_json::from_str(&text).expect("JSTS files are JSON");
        for g in groups {
            let schema = g["schema"].clone();
            let s = schema.to_string();
            if s.contains("http") && s.contains("$ref") {
                continue;
            }
            let n = schemas.len();
            let name = format!("G{n}");
            schemas.insert(name.clone(), schema);
            paths.insert(
                format!("/g{n}"),
                json!({"post": {
                    "operationId": format!("g{n}"),
                    "requestBody": {"content": {"application/json": {
                        "schema": {"$ref": format!("#/components/schemas/{name}")}}}},
                    "responses": {"200": {"description": "valid"}},
                    "x-amazon-apigateway-integration": {
                        "type": "mock",
                        "requestTemplates": {"application/json": "{\"statusCode\": 200}"},
                        "responses": {"default": {"statusCode": "200"}}
                    }
                }}),
            );
            for t in g["tests"].as_array().into_iter().flatten() {
                cases.push(json!([
                    n,
                    file,
                    format!(
                        "{} / {}",
                        g["description"].as_str().unwrap_or(""),
                        t["description"].as_str().unwrap_or("")
                    ),
                    t["data"],
                    t["valid"]
                ]));
            }
        }
    }
    let spec = json!({
        "openapi": "3.0.3",
        "info": {"title": "JSON Schema Test Suite draft4", "version": "1"},
        "x-amazon-apigateway-request-validators": {
            "body": {"validateRequestBody": true, "validateRequestParameters": false}
        },
        "x-amazon-apigateway-request-validator": "body",
        "paths": paths,
        "components": {"schemas": schemas}
    });
    (
        serde_json::to_string_pretty(&spec).expect("JSON"),
        Value::Array(cases).to_string(),
    )
}

/// GitHub models for the validation benchmark: a spec with all of GitHub's
/// `components.schemas` and one validated operation per benchmarked model, plus the
/// documented example of each model (`components.examples.<name>.value`) as the instance.
fn github_bench_spec(path: &Path) -> (String, String) {
    use serde_json::{json, Map, Value};
    const MODELS: &[&str] = &[
        "simple-user",
        "integration",
        "issue",
        "pull-request",
        "workflow-run",
        "issue-list",
    ];
    let text = std::fs::read_to_string(path).expect("read the GitHub description");
    let doc: Value = serde_json::from_str(&text).expect("GitHub's description is JSON");
    let mut schemas = doc["components"]["schemas"].clone();
    schemas["issue-list"] =
        json!({"type": "array", "items": {"$ref": "#/components/schemas/issue"}});
    let mut paths = Map::new();
    let mut instances = Map::new();
    for m in MODELS {
        paths.insert(
            format!("/{m}"),
            json!({"post": {
                "requestBody": {"content": {"application/json": {
                    "schema": {"$ref": format!("#/components/schemas/{m}")}}}},
                "responses": {"200": {"description": "valid"}},
                "x-amazon-apigateway-integration": {
                    "type": "mock",
                    "requestTemplates": {"application/json": "{\"statusCode\": 200}"},
                    "responses": {"default": {"statusCode": "200"}}
                }
            }}),
        );
        let example = &doc["components"]["examples"][m]["value"];
        if !example.is_null() {
            instances.insert(m.to_string(), example.clone());
        }
    }
    let spec = json!({
        "openapi": "3.0.3",
        "info": {"title": "GitHub models", "version": "1"},
        "x-amazon-apigateway-request-validators": {
            "body": {"validateRequestBody": true, "validateRequestParameters": false}
        },
        "x-amazon-apigateway-request-validator": "body",
        "paths": paths,
        "components": {"schemas": schemas}
    });
    (spec.to_string(), Value::Object(instances).to_string())
}

/// Every route of GitHub's REST description as a minimal API (a mock per operation, path
/// parameters declared), for the router benchmark. Templates API Gateway cannot route
/// (a segment mixing text and parameters, like `{base}...{head}`) are left out.
fn github_routes_spec(path: &Path) -> String {
    use serde_json::{json, Map, Value};
    let text = std::fs::read_to_string(path).expect("read the GitHub description");
    let doc: Value = serde_json::from_str(&text).expect("GitHub's description is JSON");
    let mut paths = Map::new();
    for (template, item) in doc["paths"].as_object().into_iter().flatten() {
        let mixed = template.split('/').any(|s| {
            s.contains('{')
                && !(s.starts_with('{') && s.ends_with('}') && s.matches('{').count() == 1)
        });
        if mixed {
            continue;
        }
        let params: Vec<Value> = template
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .map(|n| json!({"name": n, "in": "path", "required": true, "schema": {"type": "string"}}))
            .collect();
        let mut ops = Map::new();
        for method in ["get", "put", "post", "delete", "patch", "head", "options"] {
            if item.get(method).is_some() {
                ops.insert(
                    method.to_string(),
                    json!({
                        "parameters": params,
                        "responses": {"200": {"description": "ok"}},
                        "x-amazon-apigateway-integration": {
                            "type": "mock",
                            "requestTemplates": {"application/json": "{\"statusCode\": 200}"},
                            "responses": {"default": {"statusCode": "200"}}
                        }
                    }),
                );
            }
        }
        paths.insert(template.clone(), Value::Object(ops));
    }
    json!({
        "openapi": "3.0.3",
        "info": {"title": "GitHub routes", "version": "1"},
        "paths": paths
    })
    .to_string()
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    v.retain(|p| {
        p.is_file()
            && matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("yaml" | "yml" | "json")
            )
    });
    v.sort();
    v
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A Rust module name from a file or directory name.
fn module(p: &Path) -> String {
    let stem = p
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut m: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if m.starts_with(|c: char| c.is_ascii_digit()) {
        m.insert(0, '_');
    }
    m
}
