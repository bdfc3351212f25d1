//! The `specgate` command.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use specgate::diag::{self, Format};

#[derive(Parser)]
#[command(
    name = "specgate",
    version,
    about = "Compile OpenAPI documents with API Gateway extensions into gateway binaries"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Values for the placeholders of unrendered SAM, CloudFormation and Terraform documents.
#[derive(clap::Args, Clone, Default)]
struct VarArgs {
    /// A placeholder's value, `NAME=VALUE` (repeatable): `Ref`/`${Name}` as `Name`,
    /// `Fn::GetAtt [X, Arn]` as `X.Arn`, pseudo parameters as `AWS::AccountId`.
    #[arg(long = "var", value_name = "NAME=VALUE")]
    vars: Vec<String>,
    /// A JSON or YAML file mapping placeholder names to values (repeatable; nested maps
    /// give dotted names, so `{X: {Arn: …}}` is `X.Arn`); `--var` wins over it.
    #[arg(long = "vars", value_name = "FILE")]
    var_files: Vec<PathBuf>,
    /// The value of `${AWS::Region}` (default: `AWS_REGION`, then `AWS_DEFAULT_REGION`).
    #[arg(long)]
    region: Option<String>,
}

impl VarArgs {
    fn options(&self, for_build: bool) -> Result<specgate::Options, ExitCode> {
        let region = self
            .region
            .clone()
            .or_else(|| std::env::var("AWS_REGION").ok())
            .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok());
        match specgate::placeholders::Vars::new(&self.vars, &self.var_files, region) {
            Ok(vars) => Ok(specgate::Options { vars, for_build }),
            Err(e) => {
                eprintln!("error: {e}");
                Err(ExitCode::from(2))
            }
        }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Check documents for every problem, with exact locations (exit 0 ok, 1 errors, 2 could not run).
    Check {
        /// OpenAPI documents (YAML or JSON).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutFormat::Human)]
        format: OutFormat,
        /// Treat warnings as errors (exit 1 when there are any).
        #[arg(long)]
        deny_warnings: bool,
        /// Colour for human output.
        #[arg(long, value_enum, default_value_t = Color::Auto)]
        color: Color,
        #[command(flatten)]
        vars: VarArgs,
    },
    /// Write the generated gateway crate (readable, formatted, deterministic).
    Emit {
        /// OpenAPI document.
        file: PathBuf,
        /// Directory to write the crate into.
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        vars: VarArgs,
    },
    /// Compile a spec into one statically linked gateway executable.
    Build {
        /// OpenAPI document.
        file: PathBuf,
        /// Where to write the executable.
        #[arg(short, long, default_value = "./gateway")]
        output: PathBuf,
        /// Link dynamically (faster to link; the binary then needs the host's libc).
        #[arg(long)]
        no_static: bool,
        /// Optimise the whole program for the executable you ship (link-time optimisation
        /// across the runtime and its dependencies, one codegen unit): about 6% fewer
        /// instructions per proxied request, but every build takes minutes, not seconds.
        #[arg(long)]
        optimize: bool,
        #[command(flatten)]
        vars: VarArgs,
    },
    /// Build, then start the gateway (default 127.0.0.1:8080); extra arguments go to the gateway.
    Run {
        /// OpenAPI document.
        file: PathBuf,
        /// Arguments for the gateway, after `--` (e.g. `-- --listen 0.0.0.0:8080 --stage prod`).
        #[arg(last = true)]
        gateway_args: Vec<String>,
        #[command(flatten)]
        vars: VarArgs,
    },
    /// Show the route table the gateway will have.
    Routes {
        /// OpenAPI document.
        file: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = TableFormat::Human)]
        format: TableFormat,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum OutFormat {
    Human,
    Json,
    Sarif,
    Github,
}

#[derive(Clone, Copy, ValueEnum)]
enum TableFormat {
    Human,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Check {
            files,
            format,
            deny_warnings,
            color,
            vars,
        } => match vars.options(false) {
            Ok(opts) => check(&files, format, deny_warnings, color, &opts),
            Err(code) => code,
        },
        Command::Routes { file, format } => routes(&file, format),
        Command::Emit { file, out, vars } => match vars.options(true) {
            Ok(opts) => emit(&file, &out, &opts),
            Err(code) => code,
        },
        Command::Build {
            file,
            output,
            no_static,
            optimize,
            vars,
        } => match vars
            .options(true)
            .and_then(|opts| build(&file, &output, !no_static, optimize, &opts))
        {
            Ok(_) => ExitCode::SUCCESS,
            Err(code) => code,
        },
        Command::Run {
            file,
            gateway_args,
            vars,
        } => match vars.options(true) {
            Ok(opts) => run(&file, &gateway_args, &opts),
            Err(code) => code,
        },
    }
}

/// Analyses a spec for emit/build/run: errors are printed and stop the command.
fn analyze_for_codegen(
    file: &std::path::Path,
    opts: &specgate::Options,
) -> Result<specgate::ir::Api, ExitCode> {
    let a = match specgate::analyze_file_with(file, opts) {
        Ok(a) => a,
        Err(specgate::Fatal(msg)) => {
            eprintln!("error: cannot read {msg}");
            return Err(ExitCode::from(2));
        }
    };
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    if !a.diagnostics.is_empty() {
        eprint!(
            "{}",
            diag::render_human(&a.loaded.db, a.diagnostics.items(), color)
        );
    }
    match a.api {
        Some(api) if a.diagnostics.error_count() == 0 => Ok(api),
        _ => {
            eprintln!(
                "specgate: not compiled: {}",
                diag::summary(a.diagnostics.items())
            );
            Err(ExitCode::from(1))
        }
    }
}

fn emit(file: &std::path::Path, out: &std::path::Path, opts: &specgate::Options) -> ExitCode {
    let api = match analyze_for_codegen(file, opts) {
        Ok(a) => a,
        Err(c) => return c,
    };
    let generated = specgate::codegen::generate(
        &api,
        &file.display().to_string(),
        &specgate::build::runtime_dep(),
    );
    match specgate::build::write_crate(&generated, out) {
        Ok(()) => {
            eprintln!("specgate: wrote the gateway crate to {}", out.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
    }
}

fn build(
    file: &std::path::Path,
    output: &std::path::Path,
    static_link: bool,
    optimize: bool,
    opts: &specgate::Options,
) -> Result<PathBuf, ExitCode> {
    let api = analyze_for_codegen(file, opts)?;
    eprintln!(
        "specgate: compiling {} ({} routes)",
        file.display(),
        api.routes.len()
    );
    let opts = specgate::build::Options {
        static_link,
        progress: true,
        optimize,
    };
    match specgate::build::build(&api, &file.display().to_string(), output, &opts) {
        Ok(r) => {
            eprintln!(
                "specgate: built {} in {:.1} s",
                r.output.display(),
                r.seconds
            );
            Ok(r.output)
        }
        Err(e) => {
            eprintln!("error: {e}");
            Err(ExitCode::from(1))
        }
    }
}

fn run(file: &std::path::Path, args: &[String], opts: &specgate::Options) -> ExitCode {
    let out = specgate::build::cache_dir().join("bin").join(
        file.file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "gateway".into()),
    );
    let exe = match build(file, &out, true, false, opts) {
        Ok(p) => p,
        Err(c) => return c,
    };
    // Replace this process with the gateway, so signals reach it directly.
    let err = exec(&exe, args);
    eprintln!("error: cannot start {}: {err}", exe.display());
    ExitCode::from(2)
}

#[cfg(unix)]
fn exec(exe: &std::path::Path, args: &[String]) -> std::io::Error {
    use std::os::unix::process::CommandExt;
    std::process::Command::new(exe).args(args).exec()
}

#[cfg(not(unix))]
fn exec(exe: &std::path::Path, args: &[String]) -> std::io::Error {
    match std::process::Command::new(exe).args(args).status() {
        Ok(s) => std::process::exit(s.code().unwrap_or(1)),
        Err(e) => e,
    }
}

fn check(
    files: &[PathBuf],
    format: OutFormat,
    deny_warnings: bool,
    color: Color,
    opts: &specgate::Options,
) -> ExitCode {
    let format = match format {
        OutFormat::Human => Format::Human,
        OutFormat::Json => Format::Json,
        OutFormat::Sarif => Format::Sarif,
        OutFormat::Github => Format::Github,
    };
    let color = match color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    };
    // One database for all files, so SARIF and JSON have one document for the whole run.
    let mut all: Vec<specgate::Diagnostic> = Vec::new();
    let mut dbs = Vec::new();
    let mut fatal = false;
    for f in files {
        match specgate::analyze_file_with(f, opts) {
            Ok(a) => {
                all.extend(
                    a.diagnostics
                        .items()
                        .iter()
                        .cloned()
                        .map(|d| (dbs.len(), d))
                        .map(|(_, d)| d),
                );
                dbs.push((a.loaded, a.diagnostics));
            }
            Err(specgate::Fatal(msg)) => {
                eprintln!("error: cannot read {msg}");
                fatal = true;
            }
        }
    }
    let errors = all
        .iter()
        .filter(|d| d.severity == specgate::Severity::Error)
        .count();
    let warnings = all.len() - errors;
    let mut out = std::io::stdout().lock();
    match format {
        Format::Human => {
            let mut err = std::io::stderr().lock();
            for (l, d) in &dbs {
                let _ = write!(err, "{}", diag::render_human(&l.db, d.items(), color));
            }
            let checked = dbs.len();
            let _ = writeln!(
                err,
                "specgate: checked {checked} file{}: {}",
                if checked == 1 { "" } else { "s" },
                diag::summary(&all)
            );
        }
        Format::Json | Format::Github | Format::Sarif => {
            // Each file's diagnostics refer to that file's database; render per file and merge.
            let text = match format {
                Format::Json => {
                    let mut v: Vec<serde_json::Value> = Vec::new();
                    for (l, d) in &dbs {
                        if let Ok(serde_json::Value::Array(a)) =
                            serde_json::from_str(&diag::render_json(&l.db, d.items()))
                        {
                            v.extend(a);
                        }
                    }
                    serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"
                }
                Format::Github => dbs
                    .iter()
                    .map(|(l, d)| diag::render_github(&l.db, d.items()))
                    .collect(),
                _ => {
                    let mut merged: Option<serde_json::Value> = None;
                    for (l, d) in &dbs {
                        let Ok(v) = serde_json::from_str::<serde_json::Value>(&diag::render_sarif(
                            &l.db,
                            d.items(),
                        )) else {
                            continue;
                        };
                        merged = Some(match merged {
                            None => v,
                            Some(mut m) => {
                                merge_sarif(&mut m, v);
                                m
                            }
                        });
                    }
                    let empty = diag::render_sarif(&specgate::source::SourceDb::new(), &[]);
                    merged
                        .map(|m| serde_json::to_string_pretty(&m).unwrap_or_default())
                        .unwrap_or(empty)
                        + "\n"
                }
            };
            let _ = out.write_all(text.as_bytes());
        }
    }
    // The process is about to exit: freeing a large document's trees would only cost time.
    std::mem::forget(dbs);
    if fatal {
        ExitCode::from(2)
    } else if errors > 0 || (deny_warnings && warnings > 0) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Merges the results and rules of a second SARIF run into the first.
fn merge_sarif(into: &mut serde_json::Value, from: serde_json::Value) {
    let rules_from = from["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let results_from = from["runs"][0]["results"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let run = &mut into["runs"][0];
    let mut rules = run["tool"]["driver"]["rules"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for r in rules_from {
        if !rules.iter().any(|x| x["id"] == r["id"]) {
            rules.push(r);
        }
    }
    rules.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    let mut results = run["results"].as_array().cloned().unwrap_or_default();
    results.extend(results_from);
    for res in &mut results {
        let idx = rules.iter().position(|r| r["id"] == res["ruleId"]);
        res["ruleIndex"] = serde_json::json!(idx);
    }
    run["tool"]["driver"]["rules"] = serde_json::Value::Array(rules);
    run["results"] = serde_json::Value::Array(results);
}

fn routes(file: &std::path::Path, format: TableFormat) -> ExitCode {
    let a = match specgate::analyze_file(file) {
        Ok(a) => a,
        Err(specgate::Fatal(msg)) => {
            eprintln!("error: cannot read {msg}");
            return ExitCode::from(2);
        }
    };
    let Some(api) = &a.api else {
        eprint!(
            "{}",
            diag::render_human(&a.loaded.db, a.diagnostics.items(), false)
        );
        return ExitCode::from(1);
    };
    let rows = specgate::routes::table(api);
    let text = match format {
        TableFormat::Human => specgate::routes::render_text(&rows),
        TableFormat::Json => serde_json::to_string_pretty(&rows).unwrap_or_default() + "\n",
    };
    // A closed pipe (`specgate routes … | head`) is not an error worth a panic.
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    if a.diagnostics.error_count() > 0 {
        eprintln!(
            "specgate: {} (run `specgate check {}` for details)",
            diag::summary(a.diagnostics.items()),
            file.display()
        );
    }
    ExitCode::SUCCESS
}
