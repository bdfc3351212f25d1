//! Diagnostics: values collected across the pipeline (never panics), and their renderings
//! for people (rustc style), machines (JSON), code scanning (SARIF 2.1.0) and GitHub Actions
//! workflow annotations.

use std::fmt::Write as _;

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
use serde_json::json;

use crate::codes::Code;
use crate::source::{SourceDb, Span};

/// How bad a diagnostic is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// The spec cannot be compiled as written.
    Error,
    /// The spec compiles, but something is probably not what the author meant.
    Warning,
}

impl Severity {
    /// `error` / `warning`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// A labelled span.
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    /// Where.
    pub span: Span,
    /// What to say there (may be empty).
    pub message: String,
}

/// One problem found in the user's input.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// Stable code.
    pub code: &'static Code,
    /// The main message.
    pub message: String,
    /// The primary location.
    pub primary: Label,
    /// Related locations.
    pub secondary: Vec<Label>,
    /// How to fix it, if there is something useful to say.
    pub help: Option<String>,
}

impl Diagnostic {
    /// Sets the label at the primary span.
    pub fn label(&mut self, message: impl Into<String>) -> &mut Self {
        self.primary.message = message.into();
        self
    }
    /// Adds a related location.
    pub fn secondary(&mut self, span: Span, message: impl Into<String>) -> &mut Self {
        self.secondary.push(Label {
            span,
            message: message.into(),
        });
        self
    }
    /// Sets the help line.
    pub fn help(&mut self, help: impl Into<String>) -> &mut Self {
        self.help = Some(help.into());
        self
    }
}

/// The diagnostics of one run.
#[derive(Debug, Default, Clone)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    /// Adds a diagnostic and returns it for labels and help.
    pub fn push(
        &mut self,
        severity: Severity,
        code: &'static Code,
        span: Span,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        self.items.push(Diagnostic {
            severity,
            code,
            message: message.into(),
            primary: Label {
                span,
                message: String::new(),
            },
            secondary: Vec::new(),
            help: None,
        });
        self.items.last_mut().expect("just pushed")
    }
    /// Adds an error.
    pub fn error(
        &mut self,
        code: &'static Code,
        span: Span,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        self.push(Severity::Error, code, span, message)
    }
    /// Adds a warning.
    pub fn warning(
        &mut self,
        code: &'static Code,
        span: Span,
        message: impl Into<String>,
    ) -> &mut Diagnostic {
        self.push(Severity::Warning, code, span, message)
    }
    /// All diagnostics, in the order found.
    pub fn items(&self) -> &[Diagnostic] {
        &self.items
    }
    /// Number of diagnostics.
    pub fn len(&self) -> usize {
        self.items.len()
    }
    /// No diagnostics at all.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
    /// Number of errors.
    pub fn error_count(&self) -> usize {
        self.items
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }
    /// Number of warnings.
    pub fn warning_count(&self) -> usize {
        self.items.len() - self.error_count()
    }
    /// Appends another collection.
    pub fn extend(&mut self, other: Diagnostics) {
        self.items.extend(other.items);
    }
    /// Sorts by file and position (stable for equal positions), for deterministic output.
    pub fn sort(&mut self) {
        self.items.sort_by_key(|d| {
            (
                d.primary.span.file,
                d.primary.span.start,
                d.primary.span.end,
            )
        });
        // One root cause, one diagnostic: a node reached twice (an integration two
        // operations `$ref`) is read twice but reported once.
        self.items.dedup_by(|a, b| {
            a.code == b.code && a.primary.span == b.primary.span && a.message == b.message
        });
    }
    /// Consumes into the list.
    pub fn into_vec(self) -> Vec<Diagnostic> {
        self.items
    }
}

/// Output formats of `specgate check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// rustc-style text with source snippets.
    Human,
    /// One JSON document.
    Json,
    /// SARIF 2.1.0 for code scanning.
    Sarif,
    /// GitHub Actions workflow commands (`::error file=…`).
    Github,
}

/// 1-based line/column of both ends of a span.
fn region(db: &SourceDb, span: Span) -> (usize, usize, usize, usize) {
    let f = db.file(span.file);
    let (l1, c1) = f.line_col(span.start as usize);
    let (l2, c2) = f.line_col(span.end as usize);
    (l1, c1, l2, c2)
}

/// Renders diagnostics as rustc-style text. `color` adds ANSI styles.
pub fn render_human(db: &SourceDb, diags: &[Diagnostic], color: bool) -> String {
    let renderer = if color {
        Renderer::styled()
    } else {
        Renderer::plain()
    };
    let mut out = String::new();
    for d in diags {
        let level = match d.severity {
            Severity::Error => Level::ERROR,
            Severity::Warning => Level::WARNING,
        };
        // Only the lines around the labels go to the renderer, so a 13 MB file costs nothing.
        let mut labels = vec![(&d.primary, true)];
        labels.extend(d.secondary.iter().map(|l| (l, false)));
        let mut groups_by_file: Vec<(crate::source::FileId, Vec<(&Label, bool)>)> = Vec::new();
        for (l, primary) in labels {
            match groups_by_file.iter_mut().find(|(f, _)| *f == l.span.file) {
                Some((_, v)) => v.push((l, primary)),
                None => groups_by_file.push((l.span.file, vec![(l, primary)])),
            }
        }
        let mut snippets = Vec::new();
        for (file_id, labels) in &groups_by_file {
            let f = db.file(*file_id);
            // Long spans (a whole object) are shown by their first lines only; lines between
            // labels are folded by the renderer.
            const MAX_SPAN_LINES: usize = 8;
            let lines: Vec<(usize, usize)> = labels
                .iter()
                .map(|(l, _)| {
                    let start = f.line_col(l.span.start as usize).0;
                    let end = f.line_col(l.span.end as usize).0;
                    (start, end.min(start + MAX_SPAN_LINES).min(f.line_count()))
                })
                .collect();
            let first = lines.iter().map(|l| l.0).min().unwrap_or(1);
            let last = lines.iter().map(|l| l.1).max().unwrap_or(1);
            let window = f.line_range(first).start..f.line_range(last).end;
            let src = &f.text[window.clone()];
            let mut snippet = Snippet::source(src)
                .line_start(first)
                .path(f.path.display().to_string())
                .fold(true);
            for (l, primary) in labels {
                let s = (l.span.start as usize).clamp(window.start, window.end) - window.start;
                let e = (l.span.end as usize).clamp(window.start, window.end) - window.start;
                let kind = if *primary {
                    AnnotationKind::Primary
                } else {
                    AnnotationKind::Context
                };
                snippet = snippet.annotation(kind.span(s..e).label(l.message.as_str()));
            }
            snippets.push(snippet);
        }
        let title = level
            .clone()
            .primary_title(d.message.as_str())
            .id(d.code.id);
        let mut report: Vec<Group> = vec![title.elements(snippets)];
        if let Some(h) = &d.help {
            report.push(Group::with_title(Level::HELP.secondary_title(h.as_str())));
        }
        let _ = writeln!(out, "{}\n", renderer.render(&report));
    }
    out
}

/// A one-line summary such as `2 errors, 1 warning`.
pub fn summary(diags: &[Diagnostic]) -> String {
    let e = diags
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    let w = diags.len() - e;
    let plural = |n: usize, s: &str| format!("{n} {s}{}", if n == 1 { "" } else { "s" });
    format!("{}, {}", plural(e, "error"), plural(w, "warning"))
}

/// Renders diagnostics as one JSON document (an array of objects).
pub fn render_json(db: &SourceDb, diags: &[Diagnostic]) -> String {
    let items: Vec<_> = diags
        .iter()
        .map(|d| {
            let loc = |l: &Label| {
                let (l1, c1, l2, c2) = region(db, l.span);
                json!({
                    "file": db.file(l.span.file).path.display().to_string(),
                    "line": l1, "column": c1, "endLine": l2, "endColumn": c2,
                    "label": l.message,
                })
            };
            json!({
                "severity": d.severity.as_str(),
                "code": d.code.id,
                "name": d.code.name,
                "message": d.message,
                "location": loc(&d.primary),
                "related": d.secondary.iter().map(loc).collect::<Vec<_>>(),
                "help": d.help,
            })
        })
        .collect();
    serde_json::to_string_pretty(&items).unwrap_or_default()
}

/// Renders SARIF 2.1.0 (loads in GitHub code scanning: rules with ids, results with
/// physical locations relative to the repository root).
pub fn render_sarif(db: &SourceDb, diags: &[Diagnostic]) -> String {
    let mut rule_ids: Vec<&'static Code> = Vec::new();
    for d in diags {
        if !rule_ids.iter().any(|c| c.id == d.code.id) {
            rule_ids.push(d.code);
        }
    }
    rule_ids.sort_by_key(|c| c.id);
    let rules: Vec<_> = rule_ids
        .iter()
        .map(|c| {
            json!({
                "id": c.id,
                "name": c.name,
                "shortDescription": {"text": c.summary},
            })
        })
        .collect();
    let phys = |l: &Label| {
        let (l1, c1, l2, c2) = region(db, l.span);
        json!({
            "physicalLocation": {
                "artifactLocation": {"uri": sarif_uri(&db.file(l.span.file).path)},
                "region": {"startLine": l1, "startColumn": c1, "endLine": l2, "endColumn": c2}
            }
        })
    };
    let results: Vec<_> = diags
        .iter()
        .map(|d| {
            let mut text = d.message.clone();
            if let Some(h) = &d.help {
                text.push_str("\nhelp: ");
                text.push_str(h);
            }
            json!({
                "ruleId": d.code.id,
                "ruleIndex": rule_ids.iter().position(|c| c.id == d.code.id),
                "level": d.severity.as_str(),
                "message": {"text": text},
                "locations": [phys(&d.primary)],
                "relatedLocations": d.secondary.iter().enumerate().map(|(i, l)| {
                    let mut v = phys(l);
                    v["id"] = json!(i);
                    v["message"] = json!({"text": l.message});
                    v
                }).collect::<Vec<_>>(),
            })
        })
        .collect();
    let doc = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "specgate",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://example.invalid/specgate",
                "rules": rules,
            }},
            "results": results,
        }]
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

fn sarif_uri(path: &std::path::Path) -> String {
    let s = path.display().to_string().replace('\\', "/");
    s.strip_prefix("./").unwrap_or(&s).to_string()
}

/// Renders GitHub Actions workflow commands, one line per diagnostic.
pub fn render_github(db: &SourceDb, diags: &[Diagnostic]) -> String {
    // Property values escape `%`, CR, LF, `:` and `,`; the message escapes `%`, CR and LF.
    fn esc_data(s: &str) -> String {
        s.replace('%', "%25")
            .replace('\r', "%0D")
            .replace('\n', "%0A")
    }
    fn esc_prop(s: &str) -> String {
        esc_data(s).replace(':', "%3A").replace(',', "%2C")
    }
    let mut out = String::new();
    for d in diags {
        let (l1, c1, l2, c2) = region(db, d.primary.span);
        let mut msg = d.message.clone();
        if let Some(h) = &d.help {
            msg.push_str("\nhelp: ");
            msg.push_str(h);
        }
        let _ = writeln!(
            out,
            "::{} file={},line={},col={},endLine={},endColumn={},title={}::{}",
            d.severity.as_str(),
            esc_prop(&sarif_uri(&db.file(d.primary.span.file).path)),
            l1,
            c1,
            l2,
            c2,
            esc_prop(&format!("{} {}", d.code.id, d.code.name)),
            esc_data(&msg)
        );
    }
    out
}
