//! The IAM principals a self-hosted gateway knows (it has no IAM to ask): their ARNs, access
//! keys and identity policies, kept in the state store (the state directory's database or
//! Redis) and managed with `./gateway principals …`.
//!
//! Secret access keys are stored **encrypted**, not hashed: SigV4's signing key is an HMAC
//! chain that starts from the secret itself, so a verifier needs the secret (AWS keeps it
//! recoverably too). They are sealed with ChaCha20-Poly1305 (ring) under a 256-bit key kept
//! outside the store (`--secrets-key-file`, default `secrets.key` in the state directory,
//! created with mode 0600), with the access key id as associated data, so a sealed secret
//! cannot be moved to another key. A copy of the store (a Redis dump, a backup of the
//! database) reveals no secret without the key file. Secrets are printed once, when made,
//! and never logged.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::keys::KeyStore;
use crate::policy::{Caller, Policy, Scope};

/// A principal as stored (the store's record type).
pub use crate::keys::StoredPrincipal as Stored;

/// Seals and opens secrets with the key file's key.
pub struct Sealer(ring::aead::LessSafeKey);

impl Sealer {
    /// The key in `path`; with `create`, a new random key is written there first when the
    /// file does not exist.
    pub fn load(path: &Path, create: bool) -> Result<Sealer, String> {
        use base64::Engine as _;
        use ring::rand::SecureRandom;
        let engine = base64::engine::general_purpose::STANDARD;
        if create && !path.exists() {
            let mut key = [0u8; 32];
            ring::rand::SystemRandom::new()
                .fill(&mut key)
                .map_err(|_| "the system's random source failed".to_string())?;
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            }
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(|e| format!("cannot create the secrets key {}: {e}", path.display()))?;
            writeln!(f, "{}", engine.encode(key))
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        }
        let text = std::fs::read_to_string(path).map_err(|e| {
            format!(
                "cannot read the secrets key {} ({e}); every gateway that verifies IAM signatures needs the key file `principals add` created (--secrets-key-file)",
                path.display()
            )
        })?;
        let bytes = engine
            .decode(text.trim())
            .ok()
            .filter(|b| b.len() == 32)
            .ok_or_else(|| {
                format!(
                    "{} does not hold a secrets key (32 bytes, base64)",
                    path.display()
                )
            })?;
        let key = ring::aead::UnboundKey::new(&ring::aead::CHACHA20_POLY1305, &bytes)
            .map_err(|_| "the secrets key is unusable".to_string())?;
        Ok(Sealer(ring::aead::LessSafeKey::new(key)))
    }

    /// `secret` sealed, bound to `access_key_id`.
    pub fn seal(&self, secret: &str, access_key_id: &str) -> Result<String, String> {
        use base64::Engine as _;
        use ring::aead::{Aad, Nonce, NONCE_LEN};
        use ring::rand::SecureRandom;
        let mut nonce = [0u8; NONCE_LEN];
        ring::rand::SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| "the system's random source failed".to_string())?;
        let mut data = secret.as_bytes().to_vec();
        self.0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(access_key_id.as_bytes()),
                &mut data,
            )
            .map_err(|_| "cannot seal the secret".to_string())?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Ok(base64::engine::general_purpose::STANDARD.encode(out))
    }

    /// The secret `sealed` holds, if it was sealed with this key for `access_key_id`.
    pub fn open(&self, sealed: &str, access_key_id: &str) -> Result<String, String> {
        use base64::Engine as _;
        use ring::aead::{Aad, Nonce, NONCE_LEN};
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(sealed)
            .map_err(|_| "a sealed secret is not base64".to_string())?;
        if bytes.len() < NONCE_LEN {
            return Err("a sealed secret is too short".into());
        }
        let (nonce, data) = bytes.split_at(NONCE_LEN);
        let mut data = data.to_vec();
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| "bad nonce".to_string())?;
        let plain = self
            .0
            .open_in_place(nonce, Aad::from(access_key_id.as_bytes()), &mut data)
            .map_err(|_| {
                format!("the secret of {access_key_id} does not open with this secrets key (another key file?)")
            })?;
        String::from_utf8(plain.to_vec()).map_err(|_| "a secret is not UTF-8".to_string())
    }
}

/// `prefix` and `n` random characters from `[A-Z2-7]`, as AWS's ids look.
fn aws_id(prefix: &str, n: usize) -> Result<String, String> {
    use ring::rand::SecureRandom;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut b = vec![0u8; n];
    ring::rand::SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| "the system's random source failed".to_string())?;
    let mut s = prefix.to_string();
    s.extend(b.iter().map(|x| ALPHABET[usize::from(x % 32)] as char));
    Ok(s)
}

/// The account of an IAM ARN (`arn:aws:iam::123456789012:user/x` → `123456789012`).
pub fn account_of(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(6, ':');
    let (arn_, _partition, service, _region, account) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    let resource = parts.next()?;
    (arn_ == "arn"
        && (service == "iam" || service == "sts")
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && !resource.is_empty())
    .then_some(account)
}

/// A new principal's record, its secret sealed; returns it and the secret (shown once).
pub fn new_principal(
    sealer: &Sealer,
    arn: &str,
    access_key_id: Option<&str>,
    secret: Option<&str>,
    policy: Option<String>,
) -> Result<(Stored, String), String> {
    if account_of(arn).is_none() || !(arn.contains(":user/") || arn.contains(":role/")) {
        return Err(format!(
            "`{arn}` is not an IAM user or role ARN (arn:aws:iam::123456789012:user/NAME)"
        ));
    }
    let access_key_id = match access_key_id {
        Some(k)
            if (16..=128).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_alphanumeric()) =>
        {
            k.to_string()
        }
        Some(_) => return Err("an access key id has 16 to 128 letters and digits".into()),
        None => aws_id("AKIA", 16)?,
    };
    let secret = match secret {
        Some(s) if (16..=128).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_graphic()) => {
            s.to_string()
        }
        Some(_) => return Err("a secret access key has 16 to 128 visible characters".into()),
        None => crate::keys::random_text(40)?,
    };
    if let Some(p) = &policy {
        check_policy(p)?;
    }
    let stored = Stored {
        arn: arn.to_string(),
        user_id: aws_id("AIDA", 17)?,
        sealed_secret: sealer.seal(&secret, &access_key_id)?,
        access_key_id,
        policy,
        created: crate::keys::now_rfc3339(),
        session_token_digest: None,
        expires: None,
    };
    Ok((stored, secret))
}

/// Makes `p` temporary credentials, valid for `seconds` from now: a new session token
/// (returned, shown once) that requests must carry.
pub fn make_temporary(p: &mut Stored, seconds: u64) -> Result<String, String> {
    let token = crate::keys::random_text(96)?;
    p.session_token_digest = Some(hex_digest(&token));
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    p.expires = Some(now + seconds);
    Ok(token)
}

/// The hex SHA-256 of a session token.
pub fn hex_digest(token: &str) -> String {
    crate::path::hex(&crate::keys::digest(token))
}

/// An identity policy is read as the gateway will read it.
pub fn check_policy(text: &str) -> Result<(), String> {
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("the policy is not JSON: {e}"))?;
    let scope = Scope {
        region: "us-east-1".into(),
        account: "000000000000".into(),
        api: "api".into(),
    };
    Policy::parse(&v, &scope, false).map(|_| ())
}

/// A principal as the serving gateway holds it.
pub struct Known {
    /// Who it is.
    pub caller: Caller,
    /// Its secret access key.
    pub secret: String,
    /// Its identity policy.
    pub policy: Option<Policy>,
    /// Temporary credentials: the digest of the session token requests must carry.
    pub token_digest: Option<String>,
    /// Temporary credentials: when they expire (seconds since the epoch).
    pub expires: Option<u64>,
}

/// The principals by access key id, reloaded when the store changes.
pub struct Principals {
    by_key: RwLock<HashMap<String, Arc<Known>>>,
    store: Arc<dyn KeyStore>,
    sealer: Sealer,
    scope: Scope,
}

impl Principals {
    /// Reads every principal from `store`.
    pub fn new(
        store: Arc<dyn KeyStore>,
        sealer: Sealer,
        scope: Scope,
    ) -> Result<Arc<Self>, String> {
        let p = Arc::new(Principals {
            by_key: RwLock::new(HashMap::new()),
            store,
            sealer,
            scope,
        });
        p.reload()?;
        Ok(p)
    }

    /// The principal an access key belongs to.
    pub fn get(&self, access_key_id: &str) -> Option<Arc<Known>> {
        self.by_key
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(access_key_id)
            .cloned()
    }

    /// Reads the principals again. One that cannot be used (a secret sealed under another
    /// key, a policy that does not parse) is left out, with a warning: it is refused.
    pub fn reload(&self) -> Result<(), String> {
        let mut map = HashMap::new();
        for s in self.store.principals()? {
            let secret = match self.sealer.open(&s.sealed_secret, &s.access_key_id) {
                Ok(x) => x,
                Err(e) => {
                    crate::warn!("specgate: principal {}: {e}", s.arn);
                    continue;
                }
            };
            let policy = match &s.policy {
                None => None,
                Some(text) => {
                    let parsed = serde_json::from_str::<serde_json::Value>(text)
                        .map_err(|e| e.to_string())
                        .and_then(|v| Policy::parse(&v, &self.scope, false));
                    match parsed {
                        Ok(p) => Some(p),
                        Err(e) => {
                            crate::warn!("specgate: principal {}: its policy: {e}", s.arn);
                            continue;
                        }
                    }
                }
            };
            let caller = Caller {
                account: account_of(&s.arn).unwrap_or("").to_string(),
                arn: s.arn.clone(),
                user_id: s.user_id.clone(),
                access_key: s.access_key_id.clone(),
            };
            map.insert(
                s.access_key_id.clone(),
                Arc::new(Known {
                    caller,
                    secret,
                    policy,
                    token_digest: s.session_token_digest.clone(),
                    expires: s.expires,
                }),
            );
        }
        *self.by_key.write().unwrap_or_else(|p| p.into_inner()) = map;
        Ok(())
    }

    /// Starts the thread that reloads the principals when another process
    /// (`./gateway principals …`) changed them (checked every 100 ms).
    pub fn watch(self: &Arc<Self>) {
        let me = Arc::downgrade(self);
        let store = self.store.clone();
        let _ = std::thread::Builder::new()
            .name("specgate-principals".into())
            .spawn(move || {
                let mut version = store.version().unwrap_or(0);
                if let Some(p) = me.upgrade() {
                    let _ = p.reload();
                }
                let mut last_warning = None::<std::time::Instant>;
                loop {
                    std::thread::sleep(Duration::from_millis(100));
                    let Some(p) = me.upgrade() else { return };
                    let result = store.version().and_then(|v| {
                        if v != version {
                            version = v;
                            p.reload()?;
                        }
                        Ok(())
                    });
                    if let Err(e) = result {
                        if last_warning.is_none_or(|t| t.elapsed() > Duration::from_secs(60)) {
                            last_warning = Some(std::time::Instant::now());
                            crate::warn!("specgate: state store (principals): {e}");
                        }
                    }
                }
            });
    }
}

/// The process's IAM state: the resource policy, the principals (when a route uses IAM).
pub struct Access {
    /// The resource policy, parsed.
    pub policy: Option<Policy>,
    /// The principals, reloaded when they change.
    pub principals: Option<Arc<Principals>>,
    /// Region, account and API id of the method ARNs.
    pub scope: Scope,
}

impl Access {
    /// The state for `info` with `config`: the resource policy parsed (the compiler checked
    /// it), the principals read from the state store when any route uses IAM.
    pub fn new(
        info: &crate::ApiInfo,
        scope: Scope,
        state: Option<&str>,
        state_dir: &Path,
        key: &Path,
    ) -> Result<Access, String> {
        let policy = match info.resource_policy {
            None => None,
            Some(text) => {
                let v: serde_json::Value =
                    serde_json::from_str(text).map_err(|e| format!("the resource policy: {e}"))?;
                Some(
                    Policy::parse(&v, &scope, true)
                        .map_err(|e| format!("the resource policy: {e}"))?,
                )
            }
        };
        let principals = if info.uses_iam {
            let store = crate::store::open(state, state_dir, info.title)?;
            // No principal yet and no key: nobody can sign, every IAM request is refused;
            // the key appears with the first `principals add`.
            let sealer = if key.exists() || !store.principals()?.is_empty() {
                Sealer::load(key, false)?
            } else {
                Sealer::load(key, true)?
            };
            let p = Principals::new(store, sealer, scope.clone())?;
            p.watch();
            Some(p)
        } else {
            None
        };
        Ok(Access {
            policy,
            principals,
            scope,
        })
    }

    /// The method ARN of a request: `arn:aws:execute-api:{region}:{account}:{api}/{stage}/
    /// {METHOD}/{path}`.
    pub fn method_arn(&self, cx: &crate::context::Context) -> String {
        format!(
            "arn:aws:execute-api:{}:{}:{}/{}/{}{}",
            self.scope.region,
            self.scope.account,
            self.scope.api,
            cx.stage,
            cx.method.as_str(),
            cx.path
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_their_key_and_id() {
        let dir = std::env::temp_dir().join(format!("specgate-sealer-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let sealer = Sealer::load(&dir.join("secrets.key"), true).unwrap();
        let sealed = sealer.seal("wJalrXUtnFEMI/K7MDENG", "AKIAEXAMPLE").unwrap();
        assert!(!sealed.contains("wJalr"));
        assert_eq!(
            sealer.open(&sealed, "AKIAEXAMPLE").unwrap(),
            "wJalrXUtnFEMI/K7MDENG"
        );
        assert!(sealer.open(&sealed, "AKIAOTHER").is_err());
        let other = Sealer::load(&dir.join("other.key"), true).unwrap();
        assert!(other.open(&sealed, "AKIAEXAMPLE").is_err());
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("secrets.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn arns_and_ids() {
        assert_eq!(
            account_of("arn:aws:iam::123456789012:user/alice"),
            Some("123456789012")
        );
        assert_eq!(account_of("arn:aws:iam::1234:user/alice"), None);
        assert_eq!(account_of("arn:aws:s3:::bucket"), None);
        let id = aws_id("AKIA", 16).unwrap();
        assert_eq!(id.len(), 20);
        assert!(id.starts_with("AKIA"));
    }
}
