//! API keys and their usage, kept in the state directory (`--state-dir`): an SQLite database
//! (rusqlite, bundled), so several processes — the serving gateway and `./gateway keys …` —
//! can use it at once, and a crash loses nothing that was committed.
//!
//! Key values are never stored: only their SHA-256 digest, looked up by digest. Comparing
//! digests leaks nothing useful about a value (finding a value for a digest prefix is as
//! hard as guessing the key), which is why no separate constant-time comparison is needed
//! after the lookup; values are printed once, when created, and never logged.
//!
//! Usage is counted per key and UTC day (AWS's `get-usage` shape). The gateway counts in
//! memory ([`crate::usage`]) and writes the counts here every 100 ms and at shutdown: a
//! crash loses at most the last 100 ms of counts, a restart nothing.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension};

/// One API key as stored (without its value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// AWS-style key id (10 characters).
    pub id: String,
    /// Its unique name.
    pub name: String,
    /// The usage plan it belongs to.
    pub plan: String,
    /// Disabled keys are refused (403).
    pub enabled: bool,
    /// Creation time, RFC 3339 (UTC).
    pub created: String,
    /// The first characters of the value, to recognise it (`abcd…`).
    pub prefix: String,
}

/// The state database.
pub struct Store {
    conn: Mutex<Connection>,
    path: PathBuf,
}

/// A SHA-256 digest of a key value.
pub type Digest = [u8; 32];

/// The digest of a key value.
pub fn digest(value: &str) -> Digest {
    let d = ring::digest::digest(&ring::digest::SHA256, value.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// API Gateway's key values: 20 to 128 characters.
pub fn valid_value(value: &str) -> bool {
    (20..=128).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_graphic())
}

/// `n` random characters from `[A-Za-z0-9]`.
pub fn random_text(n: usize) -> Result<String, String> {
    use ring::rand::SecureRandom;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let rng = ring::rand::SystemRandom::new();
    let mut out = String::with_capacity(n);
    while out.len() < n {
        let mut b = [0u8; 64];
        rng.fill(&mut b)
            .map_err(|_| "the system's random source failed".to_string())?;
        // Rejection sampling: 248 = 4 × 62, so every character is equally likely.
        for x in b {
            if x < 248 && out.len() < n {
                out.push(ALPHABET[usize::from(x % 62)] as char);
            }
        }
    }
    Ok(out)
}

/// Now, RFC 3339 (UTC, seconds).
pub fn now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    crate::calendar::format_iso(secs)
}

/// A new key named `name` in `plan`, with `value` or a random one (checked as API Gateway
/// does), and its value.
pub fn new_key(name: &str, plan: &str, value: Option<&str>) -> Result<(Key, String), String> {
    if name.is_empty() || name.len() > 128 {
        return Err("a key name has 1 to 128 characters".into());
    }
    let value = match value {
        Some(v) if valid_value(v) => v.to_string(),
        Some(_) => {
            return Err(
                "a key value has 20 to 128 visible ASCII characters (API Gateway's rule)".into(),
            )
        }
        None => random_text(40)?,
    };
    let key = Key {
        id: random_text(10)?.to_ascii_lowercase(),
        name: name.to_string(),
        plan: plan.to_string(),
        enabled: true,
        created: now_rfc3339(),
        prefix: value.chars().take(4).collect(),
    };
    Ok((key, value))
}

/// An IAM principal as stored (`crate::principals` makes and reads them): its secret
/// sealed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoredPrincipal {
    /// `arn:aws:iam::{account}:user/{name}` (or `role/…`).
    pub arn: String,
    /// Its unique id (`AIDA…`), `$context.identity.user`.
    pub user_id: String,
    /// The access key id (`AKIA…`).
    pub access_key_id: String,
    /// The secret access key, sealed (base64 of nonce, ciphertext and tag).
    pub sealed_secret: String,
    /// The identity policy (JSON), if any; none means no permission (AWS's implicit deny).
    pub policy: Option<String>,
    /// Creation time, RFC 3339 (UTC).
    pub created: String,
    /// Temporary credentials: the hex SHA-256 of their session token (a bearer value, so
    /// only its digest is kept), which requests must carry as `X-Amz-Security-Token`.
    #[serde(default)]
    pub session_token_digest: Option<String>,
    /// Temporary credentials: when they expire (seconds since the epoch).
    #[serde(default)]
    pub expires: Option<u64>,
}

/// Where keys and usage are kept: the SQLite database of a state directory ([`Store`]) or
/// Redis ([`crate::redis_state::RedisStore`]). The operator commands and the serving
/// gateway use the same one.
pub trait KeyStore: Send + Sync {
    /// Adds a key; returns it and its value (shown once).
    fn create(&self, name: &str, plan: &str, value: Option<&str>) -> Result<(Key, String), String>;
    /// Every key, by name.
    fn list(&self) -> Result<Vec<Key>, String>;
    /// Every key with its digest.
    fn index(&self) -> Result<Vec<(Digest, Key)>, String>;
    /// The key with this id or name.
    fn find(&self, id_or_name: &str) -> Result<Option<Key>, String>;
    /// Enables or disables a key; `false` when there is none.
    fn set_enabled(&self, id_or_name: &str, enabled: bool) -> Result<bool, String>;
    /// Deletes a key; `false` when there is none.
    fn delete(&self, id_or_name: &str) -> Result<bool, String>;
    /// Changes whenever the keys change.
    fn version(&self) -> Result<i64, String>;
    /// Adds counted requests: (key id, day) → requests.
    fn add_usage(&self, counts: &HashMap<(String, i64), u64>) -> Result<(), String>;
    /// Requests of `key_id` on days `from..=to`, by day.
    fn usage(&self, key_id: &str, from: i64, to: i64) -> Result<Vec<(i64, u64)>, String>;
    /// Adds an IAM principal; `replace` replaces the one with its ARN (a rotation).
    fn put_principal(&self, p: &StoredPrincipal, replace: bool) -> Result<(), String>;
    /// Every IAM principal, by ARN.
    fn principals(&self) -> Result<Vec<StoredPrincipal>, String>;
    /// Deletes the principal with this ARN; `false` when there is none.
    fn delete_principal(&self, arn: &str) -> Result<bool, String>;
}

impl KeyStore for Store {
    fn create(&self, name: &str, plan: &str, value: Option<&str>) -> Result<(Key, String), String> {
        Store::create(self, name, plan, value)
    }
    fn list(&self) -> Result<Vec<Key>, String> {
        Store::list(self)
    }
    fn index(&self) -> Result<Vec<(Digest, Key)>, String> {
        Store::index(self)
    }
    fn find(&self, id_or_name: &str) -> Result<Option<Key>, String> {
        Store::find(self, id_or_name)
    }
    fn set_enabled(&self, id_or_name: &str, enabled: bool) -> Result<bool, String> {
        Store::set_enabled(self, id_or_name, enabled)
    }
    fn delete(&self, id_or_name: &str) -> Result<bool, String> {
        Store::delete(self, id_or_name)
    }
    fn version(&self) -> Result<i64, String> {
        Store::version(self)
    }
    fn add_usage(&self, counts: &HashMap<(String, i64), u64>) -> Result<(), String> {
        Store::add_usage(self, counts)
    }
    fn usage(&self, key_id: &str, from: i64, to: i64) -> Result<Vec<(i64, u64)>, String> {
        Store::usage(self, key_id, from, to)
    }
    fn put_principal(&self, p: &StoredPrincipal, replace: bool) -> Result<(), String> {
        let record = serde_json::to_string(p).map_err(|e| e.to_string())?;
        let c = self.conn();
        let sql = if replace {
            "INSERT OR REPLACE INTO principals (arn, access_key_id, record) VALUES (?1, ?2, ?3)"
        } else {
            "INSERT INTO principals (arn, access_key_id, record) VALUES (?1, ?2, ?3)"
        };
        match c.execute(sql, params![p.arn, p.access_key_id, record]) {
            Ok(_) => Ok(()),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                Err(format!(
                    "a principal `{}` (or with access key {}) exists already",
                    p.arn, p.access_key_id
                ))
            }
            Err(e) => Err(self.err(e)),
        }
    }
    fn principals(&self) -> Result<Vec<StoredPrincipal>, String> {
        let c = self.conn();
        let mut st = c
            .prepare("SELECT record FROM principals ORDER BY arn")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| r.get::<_, String>(0))
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for r in rows {
            let text = r.map_err(|e| self.err(e))?;
            out.push(serde_json::from_str(&text).map_err(|e| format!("a principal record: {e}"))?);
        }
        Ok(out)
    }
    fn delete_principal(&self, arn: &str) -> Result<bool, String> {
        let c = self.conn();
        let n = c
            .execute("DELETE FROM principals WHERE arn = ?1", params![arn])
            .map_err(|e| self.err(e))?;
        Ok(n > 0)
    }
}

impl Store {
    /// Opens (creating if needed) the database in `dir`.
    pub fn open(dir: &Path) -> Result<Store, String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create the state directory {}: {e}", dir.display()))?;
        let path = dir.join("specgate.sqlite");
        let conn =
            Connection::open(&path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
        // The busy timeout first: another process (a gateway, `keys …`) may hold the
        // database while this one switches it to WAL.
        let setup = "PRAGMA busy_timeout = 5000;
             PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             CREATE TABLE IF NOT EXISTS api_keys (
                 id TEXT PRIMARY KEY,
                 name TEXT NOT NULL UNIQUE,
                 digest BLOB NOT NULL UNIQUE,
                 prefix TEXT NOT NULL,
                 plan TEXT NOT NULL,
                 enabled INTEGER NOT NULL,
                 created TEXT NOT NULL
             );
             CREATE TABLE IF NOT EXISTS principals (
                 arn TEXT PRIMARY KEY,
                 access_key_id TEXT NOT NULL UNIQUE,
                 record TEXT NOT NULL
             );
             CREATE TABLE IF NOT EXISTS usage (
                 key_id TEXT NOT NULL,
                 day INTEGER NOT NULL,
                 used INTEGER NOT NULL,
                 PRIMARY KEY (key_id, day)
             );";
        conn.execute_batch(setup)
            .map_err(|e| format!("cannot set up {}: {e}", path.display()))?;
        Ok(Store {
            conn: Mutex::new(conn),
            path,
        })
    }

    /// Where the database is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn err(&self, e: rusqlite::Error) -> String {
        format!("{}: {e}", self.path.display())
    }

    /// Adds a key with `value` (or a new random one); returns it and its value.
    pub fn create(
        &self,
        name: &str,
        plan: &str,
        value: Option<&str>,
    ) -> Result<(Key, String), String> {
        let (key, value) = new_key(name, plan, value)?;
        let c = self.conn();
        c.execute(
            "INSERT INTO api_keys (id, name, digest, prefix, plan, enabled, created)
             VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6)",
            params![
                key.id,
                key.name,
                &digest(&value)[..],
                key.prefix,
                key.plan,
                key.created
            ],
        )
        .map_err(|e| match e {
            rusqlite::Error::SqliteFailure(f, _)
                if f.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                format!("a key named `{name}` (or with this value) exists already")
            }
            e => self.err(e),
        })?;
        Ok((key, value))
    }

    fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Key> {
        Ok(Key {
            id: r.get(0)?,
            name: r.get(1)?,
            prefix: r.get(2)?,
            plan: r.get(3)?,
            enabled: r.get::<_, i64>(4)? != 0,
            created: r.get(5)?,
        })
    }

    /// Every key, by name.
    pub fn list(&self) -> Result<Vec<Key>, String> {
        let c = self.conn();
        let mut st = c
            .prepare("SELECT id, name, prefix, plan, enabled, created FROM api_keys ORDER BY name")
            .map_err(|e| self.err(e))?;
        let rows = st.query_map([], Self::row).map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// Every key with its digest (the gateway's index).
    pub fn index(&self) -> Result<Vec<(Digest, Key)>, String> {
        let c = self.conn();
        let mut st = c
            .prepare("SELECT id, name, prefix, plan, enabled, created, digest FROM api_keys")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| {
                let key = Self::row(r)?;
                let d: Vec<u8> = r.get(6)?;
                let mut digest = [0u8; 32];
                if d.len() == 32 {
                    digest.copy_from_slice(&d);
                }
                Ok((digest, key))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// The key with this id or name.
    pub fn find(&self, id_or_name: &str) -> Result<Option<Key>, String> {
        let c = self.conn();
        c.query_row(
            "SELECT id, name, prefix, plan, enabled, created FROM api_keys WHERE id = ?1 OR name = ?1",
            params![id_or_name],
            Self::row,
        )
        .optional()
        .map_err(|e| self.err(e))
    }

    /// Enables or disables a key; `false` when there is none.
    pub fn set_enabled(&self, id_or_name: &str, enabled: bool) -> Result<bool, String> {
        let c = self.conn();
        let n = c
            .execute(
                "UPDATE api_keys SET enabled = ?2 WHERE id = ?1 OR name = ?1",
                params![id_or_name, i64::from(enabled)],
            )
            .map_err(|e| self.err(e))?;
        Ok(n > 0)
    }

    /// Deletes a key and its usage; `false` when there is none.
    pub fn delete(&self, id_or_name: &str) -> Result<bool, String> {
        let Some(k) = self.find(id_or_name)? else {
            return Ok(false);
        };
        let c = self.conn();
        c.execute("DELETE FROM usage WHERE key_id = ?1", params![k.id])
            .map_err(|e| self.err(e))?;
        c.execute("DELETE FROM api_keys WHERE id = ?1", params![k.id])
            .map_err(|e| self.err(e))?;
        Ok(true)
    }

    /// A number that changes whenever another connection commits (SQLite's `data_version`).
    pub fn version(&self) -> Result<i64, String> {
        let c = self.conn();
        c.query_row("PRAGMA data_version", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    /// Adds counted requests: (key id, UTC day number) → requests.
    pub fn add_usage(&self, counts: &HashMap<(String, i64), u64>) -> Result<(), String> {
        if counts.is_empty() {
            return Ok(());
        }
        let mut c = self.conn();
        let tx = c
            .transaction()
            .map_err(|e| format!("{}: {e}", self.path.display()))?;
        for ((key, day), n) in counts {
            tx.execute(
                "INSERT INTO usage (key_id, day, used) VALUES (?1, ?2, ?3)
                 ON CONFLICT (key_id, day) DO UPDATE SET used = used + excluded.used",
                params![key, day, *n as i64],
            )
            .map_err(|e| format!("{}: {e}", self.path.display()))?;
        }
        tx.commit()
            .map_err(|e| format!("{}: {e}", self.path.display()))
    }

    /// Requests counted for `key_id` on days `from..=to` (UTC day numbers), by day.
    pub fn usage(&self, key_id: &str, from: i64, to: i64) -> Result<Vec<(i64, u64)>, String> {
        let c = self.conn();
        let mut st = c
            .prepare("SELECT day, used FROM usage WHERE key_id = ?1 AND day BETWEEN ?2 AND ?3 ORDER BY day")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map(params![key_id, from, to], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?.max(0) as u64))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_without_their_values() {
        let dir = std::env::temp_dir().join(format!("sg-keys-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let s = Store::open(&dir).unwrap();
        let (k, value) = s.create("alice", "gold", None).unwrap();
        assert_eq!(value.len(), 40);
        assert!(s.create("alice", "gold", None).is_err());
        assert!(s.create("short", "gold", Some("too-short")).is_err());
        let index = s.index().unwrap();
        assert_eq!(index.len(), 1);
        assert_eq!(index[0].0, digest(&value));
        assert!(s.set_enabled("alice", false).unwrap());
        assert!(!s.find(&k.id).unwrap().unwrap().enabled);
        let raw = std::fs::read(s.path()).unwrap_or_default();
        assert!(!raw.windows(value.len()).any(|w| w == value.as_bytes()));
        let mut counts = HashMap::new();
        counts.insert((k.id.clone(), 20_000), 3);
        s.add_usage(&counts).unwrap();
        s.add_usage(&counts).unwrap();
        assert_eq!(s.usage(&k.id, 19_999, 20_001).unwrap(), vec![(20_000, 6)]);
        assert!(s.delete("alice").unwrap());
        assert!(s.list().unwrap().is_empty());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
