//! The `specgate` command as CI uses it: exit codes, and every output format.

use std::path::{Path, PathBuf};
use std::process::Command;

fn specgate() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_specgate"));
    c.current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap());
    c.env_remove("NO_COLOR");
    c
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = specgate().args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn exit_codes() {
    assert_eq!(run(&["check", "specs/petstore.yaml"]).0, 0);
    // A valid document that uses features not generated yet: errors that say so.
    let (code, _, err) = run(&["check", "--color", "never", "specs/planned/streaming.yaml"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("error[SG0105]: response streaming is supported for REST Lambda proxy (`aws_proxy`) integrations only, not yet for this one"),
        "{err}"
    );
    let (code, _, err) = run(&[
        "check",
        "--color",
        "never",
        "specs/invalid/sg0200-route-conflict.yaml",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("error[SG0200]"), "{err}");
    assert!(
        err.contains("--> specs/invalid/sg0200-route-conflict.yaml:13:3"),
        "{err}"
    );
    assert!(
        err.contains("specgate: checked 1 file: 1 error, 0 warnings"),
        "{err}"
    );
    // Warnings pass unless denied.
    assert_eq!(
        run(&["check", "specs/invalid/sg0102-unknown-field.yaml"]).0,
        0
    );
    assert_eq!(
        run(&[
            "check",
            "--deny-warnings",
            "specs/invalid/sg0102-unknown-field.yaml"
        ])
        .0,
        1
    );
    // Could not run.
    let (code, _, err) = run(&["check", "specs/no-such-file.yaml"]);
    assert_eq!(code, 2);
    assert!(err.contains("no-such-file.yaml"), "{err}");
    assert_eq!(run(&["check"]).0, 2, "clap usage errors exit 2");
}

#[test]
fn several_files_in_one_run() {
    let (code, _, err) = run(&[
        "check",
        "--color",
        "never",
        "specs/petstore.yaml",
        "specs/invalid/sg0200-route-conflict.yaml",
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("checked 2 files: 1 error, 0 warnings"),
        "{err}"
    );
}

#[test]
fn json_format() {
    let (code, out, _) = run(&[
        "check",
        "--format",
        "json",
        "specs/invalid/sg0401-unknown-validator.yaml",
    ]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let d = v
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "SG0401")
        .unwrap();
    assert_eq!(d["severity"], "error");
    assert_eq!(
        d["location"]["file"],
        "specs/invalid/sg0401-unknown-validator.yaml"
    );
    assert_eq!(d["location"]["line"], 8);
    assert_eq!(d["location"]["column"], 46);
    assert_eq!(d["help"], "did you mean `all`?");
}

#[test]
fn sarif_format_has_what_code_scanning_needs() {
    let (code, out, _) = run(&[
        "check",
        "--format",
        "sarif",
        "specs/invalid/sg0200-route-conflict.yaml",
        "specs/invalid/sg0401-unknown-validator.yaml",
    ]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let run = &v["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "specgate");
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    for r in results {
        // Every result names a rule that exists, at the index it claims.
        let idx = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[idx]["id"], r["ruleId"]);
        let loc = &r["locations"][0]["physicalLocation"];
        assert!(loc["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .starts_with("specs/invalid/"));
        assert!(loc["region"]["startLine"].as_u64().unwrap() >= 1);
        assert!(r["level"] == "error" || r["level"] == "warning");
    }
    let conflict = results.iter().find(|r| r["ruleId"] == "SG0200").unwrap();
    assert_eq!(
        conflict["locations"][0]["physicalLocation"]["region"]["startLine"],
        13
    );
    assert_eq!(
        conflict["relatedLocations"][0]["physicalLocation"]["region"]["startLine"],
        4
    );
}

#[test]
fn github_format_is_workflow_commands() {
    let (_, out, _) = run(&[
        "check",
        "--format",
        "github",
        "specs/invalid/sg0401-unknown-validator.yaml",
    ]);
    assert!(
        out.lines().any(|l| l
            == "::error file=specs/invalid/sg0401-unknown-validator.yaml,line=8,col=46,endLine=8,endColumn=48,title=SG0401 unknown-validator::request validator `al` is not defined%0Ahelp: did you mean `all`?"),
        "{out}"
    );
    assert!(
        out.lines()
            .all(|l| l.starts_with("::error ") || l.starts_with("::warning ")),
        "{out}"
    );
}

#[test]
fn routes_table_and_json() {
    let (code, out, _) = run(&["routes", "specs/petstore-rest.yaml"]);
    assert_eq!(code, 0);
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("METHOD  PATH"));
    assert!(lines.iter().any(
        |l| l.starts_with("GET     /pets/{petId}") && l.contains("cognito(cognito)[pets/read]")
    ));
    let (_, out, _) = run(&["routes", "--format", "json", "specs/http-orders.yaml"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let default = v
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["path"] == "$default")
        .unwrap();
    assert_eq!(default["method"], "ANY");
    assert_eq!(default["integration"], "aws_proxy");
}

#[test]
fn no_panic_on_unreadable_input() {
    let dir = std::env::temp_dir().join(format!("sg-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bin: PathBuf = dir.join("binary.yaml");
    std::fs::write(&bin, [0xff, 0xfe, 0x00, 0x41]).unwrap();
    let (code, _, err) = run(&["check", bin.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("not UTF-8"), "{err}");
    let empty = dir.join("empty.yaml");
    std::fs::write(&empty, "").unwrap();
    let (code, _, err) = run(&["check", "--color", "never", empty.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(err.contains("SG0002"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

/// Placeholders: `check` warns and passes; `emit`/`build` refuse what the gateway needs,
/// listing each missing name at its place with the flag to pass; `--var`, `--vars` and
/// `--region` give the values, which reach the generated code.
#[test]
fn placeholders_are_warnings_in_check_and_values_in_build() {
    let spec = "specs/invalid/sg0013-placeholder.yaml";
    let (code, _, err) = run(&["check", "--color", "never", spec]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("0 errors, 5 warnings"), "{err}");

    let out = std::env::temp_dir().join(format!("specgate-placeholders-{}", std::process::id()));
    let out_s = out.to_str().unwrap();
    let (code, _, err) = run(&["emit", spec, "--out", out_s]);
    assert_eq!(code, 1, "{err}");
    for (name, at) in [
        ("AWS::Region", "sg0013-placeholder.yaml:14:39"),
        ("OrdersFunction.Arn", "sg0013-placeholder.yaml:14:87"),
        ("ApiRole.Arn", "sg0013-placeholder.yaml:16:11"),
        ("legacy_base_url", "sg0013-placeholder.yaml:23:15"),
    ] {
        assert!(
            err.contains(&format!("error[SG0013]: `{name}` has no value")),
            "{name}: {err}"
        );
        assert!(err.contains(at), "{name} at {at}: {err}");
        assert!(err.contains(&format!("pass `--var {name}=VALUE`")), "{err}");
    }
    // The title's `${AWS::StackName}` is only text: not required.
    assert!(!err.contains("`AWS::StackName` has no value"), "{err}");
    assert!(err.contains("not compiled: 4 errors"), "{err}");

    let vars = out.with_extension("vars.yaml");
    std::fs::write(
        &vars,
        "OrdersFunction:\n  Arn: arn:aws:lambda:eu-west-1:123456789012:function:orders\nlegacy_base_url: http://127.0.0.1:9\n",
    )
    .unwrap();
    let (code, _, err) = run(&[
        "emit",
        spec,
        "--out",
        out_s,
        "--vars",
        vars.to_str().unwrap(),
        "--var",
        "ApiRole.Arn=arn:aws:iam::123456789012:role/api",
        "--region",
        "eu-west-1",
    ]);
    assert_eq!(code, 0, "{err}");
    let code_text = std::fs::read_to_string(out.join("src/gateway.rs")).unwrap();
    assert!(
        code_text.contains("arn:aws:lambda:eu-west-1:123456789012:function:orders"),
        "the function ARN reaches the gateway"
    );
    assert!(
        code_text.contains("http://127.0.0.1:9/items"),
        "the Terraform variable reaches the gateway"
    );
    // A --var on the command line wins over a --vars file; malformed pairs are usage errors.
    let (code, _, err) = run(&["emit", spec, "--out", out_s, "--var", "novalue"]);
    assert_eq!(code, 2);
    assert!(err.contains("--var `novalue` is not NAME=VALUE"), "{err}");
    let _ = std::fs::remove_dir_all(&out);
    let _ = std::fs::remove_file(&vars);
}
