//! Execution logs (`methodSettings` `loggingLevel: ERROR | INFO`, `dataTraceEnabled`), in the
//! spirit of CloudWatch's execution log: each request's method request, authorizer,
//! validation, integration request and response, and completion. Lines carry the request id,
//! as AWS's do (`(id) Method completed with status: 200`). Secrets (`Authorization`,
//! `x-api-key`, cookies, session tokens) are masked and bodies are cut at 1,024 bytes, as
//! AWS cuts them. Lines go through a buffered writer like the access log (stderr, or
//! `--execution-log-file`).
//!
//! Lines are collected during the request only when the stage configures execution logging.
//! At the end, the route's setting (`/path/METHOD`, then `/path/*`, then `*/*`) decides which
//! are written: none (`OFF`), the errors (`ERROR`), or all (`INFO`). Bodies are written only
//! with `dataTraceEnabled`.

use std::fmt::Write as _;

/// `loggingLevel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Nothing.
    Off,
    /// Errors only.
    Error,
    /// Everything.
    Info,
}

/// One method key's settings (unset fields fall through to the wider key).
#[derive(Debug, Clone, Copy)]
pub struct Setting {
    /// `loggingLevel`.
    pub level: Option<Level>,
    /// `dataTraceEnabled`.
    pub data_trace: Option<bool>,
}

/// What a request has logged so far.
#[derive(Debug, Clone, Default)]
pub struct ExecLog {
    /// Level, whether it is a body (data tracing), text.
    lines: Vec<(Level, bool, String)>,
    /// Whether bodies are kept (some method setting enables data tracing).
    pub data: bool,
}

/// The most of a body written (AWS's cut).
const MAX_BODY: usize = 1024;

/// Headers whose values are masked.
const SECRET: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "x-api-key",
    "cookie",
    "set-cookie",
    "x-amz-security-token",
];

impl ExecLog {
    /// A log for one request.
    pub fn new(data: bool) -> ExecLog {
        ExecLog {
            lines: Vec::new(),
            data,
        }
    }

    /// An INFO line.
    pub fn info(&mut self, line: String) {
        self.lines.push((Level::Info, false, line));
    }

    /// An ERROR line.
    pub fn error(&mut self, line: String) {
        self.lines.push((Level::Error, false, line));
    }

    /// A body line (data tracing only).
    pub fn body(&mut self, what: &str, body: &[u8]) {
        if self.data {
            let line = format!("{what}: {}", truncated(body));
            self.lines.push((Level::Info, true, line));
        }
    }

    /// The lines to write at `level` (bodies only with `data`), with their prefix.
    pub fn render(&self, level: Level, request_id: &str, data: bool, out: &mut Vec<String>) {
        for (l, is_body, line) in &self.lines {
            if *l <= level && (data || !is_body) {
                out.push(format!("({request_id}) {line}"));
            }
        }
    }
}

/// A body as text, cut at 1,024 bytes.
pub fn truncated(body: &[u8]) -> String {
    let cut = body.len() > MAX_BODY;
    let mut s = String::from_utf8_lossy(&body[..body.len().min(MAX_BODY)]).into_owned();
    if cut {
        s.push_str(" [TRUNCATED]");
    }
    s
}

/// A value with all but its last four characters masked.
pub fn mask(v: &str) -> String {
    let n = v.chars().count();
    let keep: String = v.chars().skip(n.saturating_sub(4)).collect();
    if n <= 4 {
        "*".repeat(n)
    } else {
        format!("{}{keep}", "*".repeat(n - 4))
    }
}

/// Headers as AWS prints them (`{Accept=*/*, Host=…}`), secrets masked.
pub fn headers(h: &http::HeaderMap) -> String {
    let mut out = String::from("{");
    for (i, (k, v)) in h.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        let v = String::from_utf8_lossy(v.as_bytes());
        let v = if SECRET.contains(&k.as_str()) {
            mask(&v)
        } else {
            v.into_owned()
        };
        let _ = write!(out, "{}={v}", k.as_str());
    }
    out.push('}');
    out
}

/// The setting for `resource`/`method`: `/path/METHOD`, `/path/*`, `*/*`, field by field.
pub fn setting(settings: &[(&str, Setting)], resource: &str, method: &str) -> (Level, bool) {
    let find = |p: &str, m: &str| {
        settings.iter().find_map(|(k, s)| {
            let (kp, km) = k.rsplit_once('/')?;
            (kp == p && km == m).then_some(*s)
        })
    };
    let layers = [find(resource, method), find(resource, "*"), find("*", "*")];
    let mut level = None;
    let mut data = None;
    for s in layers.into_iter().flatten() {
        level = level.or(s.level);
        data = data.or(s.data_trace);
    }
    (level.unwrap_or(Level::Off), data.unwrap_or(false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_and_bodies_cut() {
        assert_eq!(mask("Bearer abcdefgh"), "***********efgh");
        assert_eq!(mask("abc"), "***");
        let mut h = http::HeaderMap::new();
        h.insert("x-api-key", "key-1234567890".parse().unwrap());
        h.insert("accept", "*/*".parse().unwrap());
        assert_eq!(headers(&h), "{x-api-key=**********7890, accept=*/*}");
        let long = vec![b'a'; 2000];
        assert_eq!(truncated(&long).len(), 1024 + " [TRUNCATED]".len());
    }

    #[test]
    fn settings_merge_from_the_narrowest_key() {
        let s = [
            (
                "*/*",
                Setting {
                    level: Some(Level::Error),
                    data_trace: Some(false),
                },
            ),
            (
                "/pets/GET",
                Setting {
                    level: Some(Level::Info),
                    data_trace: None,
                },
            ),
        ];
        assert_eq!(setting(&s, "/pets", "GET"), (Level::Info, false));
        assert_eq!(setting(&s, "/pets", "POST"), (Level::Error, false));
        assert_eq!(setting(&[], "/pets", "GET"), (Level::Off, false));
    }
}
