//! specgate: compiles OpenAPI documents with Amazon API Gateway extensions into specialised
//! gateway binaries.
//!
//! The pipeline is `load → lower → check → codegen → build`; see `docs/ARCHITECTURE.md`.
//! This crate is the compiler library and the `specgate` command.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod build;
pub mod check;
pub mod codegen;
pub mod codes;
pub mod diag;
pub mod ir;
pub mod json;
pub mod load;
pub mod lower;
pub mod placeholders;
pub mod routes;
pub mod schema;
pub mod schema_check;
pub mod source;
pub mod suggest;
pub mod swagger2;
pub mod tree;
pub mod vtl;
pub mod vtl_gen;

use std::path::Path;

pub use diag::{Diagnostic, Diagnostics, Severity};
pub use load::{Fatal, Loaded};

/// The result of the front half of the pipeline for one document.
#[derive(Debug)]
pub struct Analysis {
    /// The loaded files.
    pub loaded: Loaded,
    /// The IR, when the document could be read as OpenAPI 3.0.
    pub api: Option<ir::Api>,
    /// Everything found, sorted by position.
    pub diagnostics: Diagnostics,
}

impl Analysis {
    /// True when there are no errors (warnings allowed).
    pub fn ok(&self) -> bool {
        self.diagnostics.error_count() == 0
    }
}

/// How a document is analysed.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Values for CloudFormation and Terraform placeholders.
    pub vars: placeholders::Vars,
    /// For `build`/`run`/`emit`: a placeholder whose value the gateway needs is an error
    /// (in `check` it is a warning: a spec in CI is checked before it is rendered).
    pub for_build: bool,
}

/// load → lower → check for a file.
pub fn analyze_file(path: &Path) -> Result<Analysis, Fatal> {
    analyze_file_with(path, &Options::default())
}

/// load → lower → check for a file, with placeholder values and the mode.
pub fn analyze_file_with(path: &Path, opts: &Options) -> Result<Analysis, Fatal> {
    let mut d = Diagnostics::default();
    let loaded = Loaded::load(path, &opts.vars, &mut d)?;
    Ok(finish(loaded, d, opts))
}

/// load → lower → check for a document held in memory (relative `$ref`s resolve against
/// `path`'s folder).
pub fn analyze_text(path: &Path, text: String) -> Analysis {
    analyze_text_with(path, text, &Options::default())
}

/// [`analyze_text`] with placeholder values and the mode.
pub fn analyze_text_with(path: &Path, text: String, opts: &Options) -> Analysis {
    let mut d = Diagnostics::default();
    let loaded = Loaded::load_text(path, text, &opts.vars, &mut d);
    finish(loaded, d, opts)
}

fn finish(loaded: Loaded, mut d: Diagnostics, opts: &Options) -> Analysis {
    let api = lower::lower(&loaded, &mut d);
    let needed: Vec<_> = api
        .as_ref()
        .map(|a| {
            a.unresolved
                .iter()
                .map(|u| (u.name.clone(), u.span, u.what))
                .collect()
        })
        .unwrap_or_default();
    if opts.for_build {
        placeholders::require(&needed, &mut d);
    } else {
        placeholders::report(&loaded.placeholders, &needed, &mut d);
    }
    if let Some(api) = &api {
        check::check(api, &mut d);
        codegen::support(api, &loaded.db, &mut d);
        codegen::check_templates(api, &loaded.db, &mut d);
    }
    dedupe_structure(&mut d);
    d.sort();
    Analysis {
        loaded,
        api,
        diagnostics: d,
    }
}

/// The `openapiv3` structure pass and lowering can find the same problem at the same place;
/// keep the more specific diagnostic from lowering.
fn dedupe_structure(d: &mut Diagnostics) {
    let items = std::mem::take(d).into_vec();
    let mut out = Diagnostics::default();
    for (i, x) in items.iter().enumerate() {
        let from_serde = x.code == &codes::STRUCTURE
            && x.message
                .starts_with("this does not match the OpenAPI 3.0 structure");
        let overlapped = from_serde
            && items.iter().enumerate().any(|(j, y)| {
                j != i
                    && y.severity == Severity::Error
                    && y.primary.span.file == x.primary.span.file
                    && y.primary.span.start >= x.primary.span.start
                    && y.primary.span.end <= x.primary.span.end
            });
        if !overlapped {
            let nd = out.push(x.severity, x.code, x.primary.span, x.message.clone());
            nd.primary.message = x.primary.message.clone();
            nd.secondary = x.secondary.clone();
            nd.help = x.help.clone();
        }
    }
    *d = out;
}
