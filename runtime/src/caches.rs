//! What the workers of one gateway process share and remember between requests: Lambda
//! authorizer results and JWT issuers' signing keys. Plain storage; the logic that fills it
//! is in `auth` and `jwt`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use serde_json::Value;

/// Authorizer results by authorizer and identity, shared by the gateway's workers.
#[derive(Default)]
pub struct Authorizers {
    entries: Mutex<HashMap<(String, String), (Instant, Value)>>,
}

impl Authorizers {
    pub(crate) fn get(&self, key: &(String, String)) -> Option<Value> {
        let mut m = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        match m.get(key) {
            Some((until, v)) if *until > Instant::now() => Some(v.clone()),
            Some(_) => {
                m.remove(key);
                None
            }
            None => None,
        }
    }

    pub(crate) fn put(&self, key: (String, String), ttl: Duration, v: Value) {
        let mut m = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        // Bounded: expired entries go first, then everything if it is still too big.
        if m.len() >= 10_000 {
            let now = Instant::now();
            m.retain(|_, (until, _)| *until > now);
            if m.len() >= 10_000 {
                m.clear();
            }
        }
        m.insert(key, (Instant::now() + ttl, v));
    }
}

/// Signing keys by issuer, shared by the workers.
#[derive(Default)]
pub struct Jwks {
    sets: Mutex<HashMap<String, (Instant, Arc<JwkSet>)>>,
}

impl Jwks {
    /// The key set of `issuer` and when it was fetched.
    pub(crate) fn cached(&self, issuer: &str) -> Option<(Instant, Arc<JwkSet>)> {
        self.sets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(issuer)
            .cloned()
    }

    /// Keeps `set` as `issuer`'s keys, fetched now.
    pub(crate) fn insert(&self, issuer: &str, set: Arc<JwkSet>) {
        self.sets
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(issuer.to_string(), (Instant::now(), set));
    }
}
