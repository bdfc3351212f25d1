//! The key store the flags name: Redis (`--state redis://…`) or the state directory's
//! SQLite database (`--state-dir`). The serving gateway and the operator commands open the
//! same one.

use std::path::Path;

/// The store `--state` names (`redis://…`, `rediss://…`), else the state directory's
/// database. `namespace` separates the APIs that share one Redis.
pub fn open(
    state: Option<&str>,
    dir: &Path,
    namespace: &str,
) -> Result<std::sync::Arc<dyn crate::keys::KeyStore>, String> {
    match state {
        Some(url) => Ok(std::sync::Arc::new(
            crate::redis_state::RedisStore::connect(url, namespace)?,
        )),
        None => Ok(std::sync::Arc::new(crate::keys::Store::open(dir)?)),
    }
}
