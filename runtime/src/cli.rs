//! The gateway binary's operator commands (serving is the default): API keys and usage,
//! kept in the state directory (`--state-dir`) that the serving gateway reads. A running
//! gateway sees a change within 100 ms.
//!
//! ```text
//!     ./gateway keys create --name alice --plan gold [--value V]   # prints the value once
//!     ./gateway keys list | show KEY | disable KEY | enable KEY | delete KEY
//!     ./gateway keys import keys.csv                                # AWS's CSV import format
//!     ./gateway usage --plan gold [--key KEY] [--from 2026-11-01 --to 2026-11-30]
//!     ./gateway principals add --arn ARN [--access-key-id ID] [--secret-access-key S] [--policy FILE]
//!     ./gateway principals list | show ARN|KEY | delete ARN|KEY | rotate ARN|KEY
//! ```

use std::process::ExitCode;

use clap::Subcommand;
use serde_json::{json, Value};

use crate::keys::{Key, KeyStore};
use crate::usage::{format_day, parse_day, period_start, today, PlanInfo};
use crate::ApiInfo;

/// An operator command.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Manage API keys.
    #[command(subcommand)]
    Keys(Keys),
    /// Manage the IAM principals that sign requests to `AWS_IAM` routes.
    #[command(subcommand)]
    Principals(Principals),
    /// Requests counted per key and day, in AWS's `get-usage` shape (JSON).
    Usage {
        /// The usage plan.
        #[arg(long)]
        plan: String,
        /// Only this key (id or name).
        #[arg(long)]
        key: Option<String>,
        /// First day (YYYY-MM-DD, UTC); default: the start of the current quota period.
        #[arg(long)]
        from: Option<String>,
        /// Last day (YYYY-MM-DD, UTC); default: today.
        #[arg(long)]
        to: Option<String>,
    },
}

/// `principals …`
#[derive(Debug, Clone, Subcommand)]
pub enum Principals {
    /// Add an IAM principal that may sign requests (SigV4) to `AWS_IAM` routes; prints its
    /// secret access key (shown this once).
    Add {
        /// Its ARN, `arn:aws:iam::ACCOUNT:user/NAME` (or `role/NAME`).
        #[arg(long)]
        arn: String,
        /// The access key id; default: a new `AKIA…` id.
        #[arg(long)]
        access_key_id: Option<String>,
        /// The secret access key; default: 40 random characters.
        #[arg(long)]
        secret_access_key: Option<String>,
        /// Its identity policy (a JSON IAM policy allowing `execute-api:Invoke`); without
        /// one it may call nothing, unless a resource policy allows it.
        #[arg(long)]
        policy: Option<std::path::PathBuf>,
        /// Temporary credentials valid for this many seconds: a session token is made
        /// (printed once) that requests must carry as `X-Amz-Security-Token`.
        #[arg(long)]
        expires_in: Option<u64>,
    },
    /// List principals (never their secrets).
    List,
    /// Show one principal (ARN or access key id).
    Show {
        /// ARN or access key id.
        principal: String,
    },
    /// Delete a principal: its key stops working within 100 ms.
    Delete {
        /// ARN or access key id.
        principal: String,
    },
    /// Give a principal a new access key and secret (the old ones stop working); prints them.
    Rotate {
        /// ARN or access key id.
        principal: String,
        /// The new access key id; default: a new `AKIA…` id.
        #[arg(long)]
        access_key_id: Option<String>,
        /// The new secret access key; default: 40 random characters.
        #[arg(long)]
        secret_access_key: Option<String>,
    },
}

/// `keys …`
#[derive(Debug, Clone, Subcommand)]
pub enum Keys {
    /// Create a key in a usage plan and print its value (shown this once).
    Create {
        /// A unique name.
        #[arg(long)]
        name: String,
        /// The usage plan.
        #[arg(long)]
        plan: String,
        /// The value (20–128 characters); default: 40 random characters.
        #[arg(long)]
        value: Option<String>,
    },
    /// List keys (never their values).
    List,
    /// Show one key (id or name).
    Show {
        /// Id or name.
        key: String,
    },
    /// Refuse a key (403) until enabled again.
    Disable {
        /// Id or name.
        key: String,
    },
    /// Accept a disabled key again.
    Enable {
        /// Id or name.
        key: String,
    },
    /// Delete a key and its usage.
    Delete {
        /// Id or name.
        key: String,
    },
    /// Import keys from a CSV file in AWS's format (`Name,Key,Enabled,UsagePlanIds`, …).
    Import {
        /// The CSV file.
        file: std::path::PathBuf,
    },
}

fn key_json(k: &Key) -> Value {
    json!({
        "id": k.id,
        "name": k.name,
        "plan": k.plan,
        "enabled": k.enabled,
        "createdDate": k.created,
        "valuePrefix": format!("{}…", k.prefix),
    })
}

fn plan<'a>(info: &'a ApiInfo, name: &str) -> Result<&'a PlanInfo, String> {
    info.usage_plans
        .iter()
        .find(|p| p.name == name)
        .ok_or_else(|| {
            let names: Vec<&str> = info.usage_plans.iter().map(|p| p.name).collect();
            if names.is_empty() {
                "this gateway has no usage plans (`x-specgate-usage-plans`)".to_string()
            } else {
                format!(
                    "no usage plan `{name}`; this gateway has: {}",
                    names.join(", ")
                )
            }
        })
}

/// Runs `command`; the exit status is 0, 1 (refused: unknown key, bad input) or 2 (the state
/// database could not be used).
pub fn run(
    command: &Command,
    state: Option<&str>,
    state_dir: &std::path::Path,
    secrets_key: &std::path::Path,
    info: &ApiInfo,
) -> ExitCode {
    let store = match crate::store::open(state, state_dir, info.title) {
        Ok(s) => s,
        Err(e) => {
            crate::warn!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let result = match command {
        Command::Principals(p) => principals(p, &*store, secrets_key),
        _ => execute(command, &*store, info),
    };
    match result {
        Ok(out) => {
            use std::io::Write;
            let _ = writeln!(std::io::stdout(), "{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            crate::warn!("error: {e}");
            ExitCode::from(1)
        }
    }
}

fn principal_json(p: &crate::principals::Stored) -> Value {
    json!({
        "arn": p.arn,
        "userId": p.user_id,
        "accessKeyId": p.access_key_id,
        "policy": p.policy.as_deref().and_then(|t| serde_json::from_str::<Value>(t).ok()),
        "createDate": p.created,
        "expiration": p.expires.map(crate::calendar::format_iso),
    })
}

/// Runs a `principals` command against `store`, sealing secrets with the key in
/// `key_file`; what it prints on success.
pub fn principals(
    command: &Principals,
    store: &dyn KeyStore,
    key_file: &std::path::Path,
) -> Result<String, String> {
    use crate::principals::{new_principal, Sealer};
    let pretty = |v: Value| serde_json::to_string_pretty(&v).unwrap_or_default();
    let find = |who: &str| -> Result<crate::principals::Stored, String> {
        store
            .principals()?
            .into_iter()
            .find(|p| p.arn == who || p.access_key_id == who)
            .ok_or_else(|| format!("no principal `{who}`"))
    };
    Ok(match command {
        Principals::Add {
            arn,
            access_key_id,
            secret_access_key,
            policy,
            expires_in,
        } => {
            let policy = policy
                .as_ref()
                .map(|f| {
                    std::fs::read_to_string(f)
                        .map_err(|e| format!("cannot read {}: {e}", f.display()))
                })
                .transpose()?;
            let sealer = Sealer::load(key_file, true)?;
            let (p, secret) = new_principal(
                &sealer,
                arn,
                access_key_id.as_deref(),
                secret_access_key.as_deref(),
                policy,
            )?;
            let mut p = p;
            let token = expires_in
                .map(|s| crate::principals::make_temporary(&mut p, s))
                .transpose()?;
            store.put_principal(&p, false)?;
            let mut v = principal_json(&p);
            v["secretAccessKey"] = json!(secret);
            if let Some(t) = token {
                v["sessionToken"] = json!(t);
            }
            pretty(v)
        }
        Principals::List => pretty(Value::Array(
            store.principals()?.iter().map(principal_json).collect(),
        )),
        Principals::Show { principal } => pretty(principal_json(&find(principal)?)),
        Principals::Delete { principal } => {
            let p = find(principal)?;
            store.delete_principal(&p.arn)?;
            format!("deleted {}", p.arn)
        }
        Principals::Rotate {
            principal,
            access_key_id,
            secret_access_key,
        } => {
            let old = find(principal)?;
            let sealer = Sealer::load(key_file, false)?;
            let (mut p, secret) = new_principal(
                &sealer,
                &old.arn,
                access_key_id.as_deref(),
                secret_access_key.as_deref(),
                old.policy.clone(),
            )?;
            if p.access_key_id == old.access_key_id {
                return Err("the new access key id is the old one".into());
            }
            p.user_id = old.user_id;
            p.created = old.created;
            store.put_principal(&p, true)?;
            let mut v = principal_json(&p);
            v["secretAccessKey"] = json!(secret);
            pretty(v)
        }
    })
}

/// Runs `command` against `store`; what it prints on success.
pub fn execute(command: &Command, store: &dyn KeyStore, info: &ApiInfo) -> Result<String, String> {
    let missing = |k: &str| format!("no key `{k}`");
    let pretty = |v: Value| serde_json::to_string_pretty(&v).unwrap_or_default();
    Ok(match command {
        Command::Principals(_) => {
            return Err("`principals` commands need the secrets key (see `cli::principals`)".into())
        }
        Command::Keys(Keys::Create {
            name,
            plan: p,
            value,
        }) => {
            plan(info, p)?;
            let (k, value) = store.create(name, p, value.as_deref())?;
            let mut v = key_json(&k);
            v["value"] = json!(value);
            pretty(v)
        }
        Command::Keys(Keys::List) => {
            pretty(Value::Array(store.list()?.iter().map(key_json).collect()))
        }
        Command::Keys(Keys::Show { key }) => {
            let k = store.find(key)?.ok_or_else(|| missing(key))?;
            pretty(key_json(&k))
        }
        Command::Keys(Keys::Disable { key }) | Command::Keys(Keys::Enable { key }) => {
            let enable = matches!(command, Command::Keys(Keys::Enable { .. }));
            if !store.set_enabled(key, enable)? {
                return Err(missing(key));
            }
            pretty(key_json(&store.find(key)?.ok_or_else(|| missing(key))?))
        }
        Command::Keys(Keys::Delete { key }) => {
            if !store.delete(key)? {
                return Err(missing(key));
            }
            format!("deleted {key}")
        }
        Command::Keys(Keys::Import { file }) => {
            let text = std::fs::read_to_string(file)
                .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            let rows = import_rows(&text)?;
            // Check every row before creating any.
            for (line, r) in &rows {
                plan(info, &r.plan).map_err(|e| format!("line {line}: {e}"))?;
            }
            let mut created = Vec::new();
            for (line, r) in rows {
                let (k, _) = store
                    .create(&r.name, &r.plan, Some(&r.value))
                    .map_err(|e| format!("line {line}: {e}"))?;
                if !r.enabled {
                    store.set_enabled(&k.id, false)?;
                }
                created.push(json!({"id": k.id, "name": k.name}));
            }
            pretty(
                json!({"ids": created.iter().map(|c| c["id"].clone()).collect::<Vec<_>>(), "keys": created}),
            )
        }
        Command::Usage {
            plan: p,
            key,
            from,
            to,
        } => {
            let plan = plan(info, p)?;
            let today = today();
            let day = |s: &Option<String>, default: i64| match s {
                None => Ok(default),
                Some(s) => parse_day(s).ok_or_else(|| format!("`{s}` is not a date (YYYY-MM-DD)")),
            };
            let default_from = plan.quota.map_or(today, |q| period_start(q.period, today));
            let (from, to) = (day(from, default_from)?, day(to, today)?);
            if from > to {
                return Err("--from is after --to".into());
            }
            if to - from > 366 {
                return Err("at most 367 days at a time".into());
            }
            let keys: Vec<Key> = match key {
                Some(k) => vec![store.find(k)?.ok_or_else(|| missing(k))?],
                None => store
                    .list()?
                    .into_iter()
                    .filter(|k| k.plan == plan.name)
                    .collect(),
            };
            let mut items = serde_json::Map::new();
            for k in keys {
                let counted: std::collections::HashMap<i64, u64> =
                    store.usage(&k.id, from, to)?.into_iter().collect();
                let mut period = None;
                let mut used_in_period = 0u64;
                let days: Vec<Value> = (from..=to)
                    .map(|d| {
                        let used = counted.get(&d).copied().unwrap_or(0);
                        let remaining = plan.quota.map(|q| {
                            let start = period_start(q.period, d);
                            if period != Some(start) {
                                period = Some(start);
                                used_in_period = 0;
                            }
                            used_in_period += used;
                            q.limit.saturating_sub(used_in_period)
                        });
                        json!([used, remaining])
                    })
                    .collect();
                items.insert(k.id.clone(), Value::Array(days));
            }
            pretty(json!({
                "usagePlanId": plan.name,
                "startDate": format_day(from),
                "endDate": format_day(to),
                "items": items,
            }))
        }
    })
}

/// One row of an import file.
struct Row {
    name: String,
    value: String,
    plan: String,
    enabled: bool,
}

/// AWS's CSV key import: a header row naming the columns (`Name`, `Key`, `Description`,
/// `Enabled`, `UsagePlanIds`; any order, any case), then one key per row. Quoted fields
/// (`"a,b"`, `""` for a quote) are read as CSV has them.
fn import_rows(text: &str) -> Result<Vec<(usize, Row)>, String> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty());
    let (_, header) = lines.next().ok_or("the file is empty")?;
    let cols: Vec<String> = fields(header)
        .iter()
        .map(|c| c.trim().to_ascii_lowercase())
        .collect();
    let at = |name: &str| cols.iter().position(|c| c == name);
    let (Some(key_col), Some(plan_col)) = (at("key"), at("usageplanids")) else {
        return Err("the header needs `Key` and `UsagePlanIds` columns (AWS's CSV format)".into());
    };
    let name_col = at("name");
    let enabled_col = at("enabled");
    let mut out = Vec::new();
    for (i, line) in lines {
        let f = fields(line);
        let get = |c: Option<usize>| c.and_then(|c| f.get(c)).map(|s| s.trim().to_string());
        let value = get(Some(key_col)).unwrap_or_default();
        if value.is_empty() {
            return Err(format!("line {}: no key value", i + 1));
        }
        let plan = get(Some(plan_col))
            .and_then(|p| {
                p.split([';', ','])
                    .next()
                    .map(str::trim)
                    .map(str::to_string)
            })
            .filter(|p| !p.is_empty())
            .ok_or_else(|| format!("line {}: no usage plan", i + 1))?;
        let name = get(name_col)
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| format!("imported-{}", value.chars().take(6).collect::<String>()));
        let enabled = get(enabled_col).is_none_or(|e| !e.eq_ignore_ascii_case("false"));
        out.push((
            i + 1,
            Row {
                name,
                value,
                plan,
                enabled,
            },
        ));
    }
    Ok(out)
}

/// The fields of one CSV line.
fn fields(line: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                if let Some(f) = out.last_mut() {
                    f.push('"');
                }
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(String::new()),
            c => {
                if let Some(f) = out.last_mut() {
                    f.push(c);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows() {
        let rows = import_rows(
            "Name,key,description,Enabled,usageplanIds\n\
             alice,aaaaaaaaaaaaaaaaaaaaaaaa,\"first, key\",TRUE,gold\n\
             bob,bbbbbbbbbbbbbbbbbbbbbbbb,,false,silver\n",
        )
        .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].1.name, "alice");
        assert!(rows[0].1.enabled);
        assert_eq!(rows[1].1.plan, "silver");
        assert!(!rows[1].1.enabled);
        assert!(import_rows("name,enabled\nx,true\n").is_err());
        assert_eq!(fields(r#"a,"b,""c""",d"#), vec!["a", "b,\"c\"", "d"]);
    }
}
