//! The gateway's own AWS credentials, found as the AWS SDKs find them: the environment,
//! the shared files and profiles, then container credentials (ECS/EKS:
//! `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` or `_FULL_URI` with
//! `AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE]`), then the instance's role through IMDSv2
//! (`AWS_EC2_METADATA_SERVICE_ENDPOINT` overrides the address,
//! `AWS_EC2_METADATA_DISABLED=true` turns it off). Credentials from a metadata service are
//! kept until five minutes before they expire.
//!
//! Written here rather than with the AWS SDK's provider chain, which would bring the SDK's
//! whole runtime into every gateway; the two metadata protocols are a few requests each.
//!
//! [`sign`] signs a request with them (SigV4, through aws-sigv4) for the Lambda Invoke API
//! and AWS-service integrations alike.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use std::path::PathBuf;

use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use http::Method;

use crate::upstream::pool::Client;

/// Access keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    /// `aws_access_key_id`.
    pub access_key: String,
    /// `aws_secret_access_key`.
    pub secret_key: String,
    /// `aws_session_token`.
    pub session_token: Option<String>,
}

/// Credentials from the environment, then the shared files.
pub fn credentials() -> Option<Keys> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    if let (Some(access_key), Some(secret_key)) =
        (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY"))
    {
        return Some(Keys {
            access_key,
            secret_key,
            session_token: env("AWS_SESSION_TOKEN"),
        });
    }
    let profile = env("AWS_PROFILE").unwrap_or_else(|| "default".to_string());
    let home = env("HOME").map(PathBuf::from);
    let credentials_file = env("AWS_SHARED_CREDENTIALS_FILE")
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".aws/credentials")));
    let config_file = env("AWS_CONFIG_FILE")
        .map(PathBuf::from)
        .or_else(|| home.as_ref().map(|h| h.join(".aws/config")));
    // The credentials file names sections `[name]`; the config file `[profile name]`
    // (`[default]` for the default profile).
    let config_section = if profile == "default" {
        profile.clone()
    } else {
        format!("profile {profile}")
    };
    [
        (credentials_file, profile.clone()),
        (config_file, config_section),
    ]
    .into_iter()
    .filter_map(|(file, section)| {
        let text = std::fs::read_to_string(file?).ok()?;
        keys_in(&text, &section)
    })
    .next()
}

/// The keys of `[section]` in an AWS shared config/credentials file (INI: `key = value`
/// lines, `#`/`;` comments). Written here because the format needs a dozen lines and the
/// AWS SDK's loader would bring the whole SDK runtime.
fn keys_in(text: &str, section: &str) -> Option<Keys> {
    let mut current = String::new();
    let (mut ak, mut sk, mut token) = (None, None, None);
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = name.trim().to_string();
            continue;
        }
        if current != section {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let v = v.trim().to_string();
        match k.trim() {
            "aws_access_key_id" => ak = Some(v),
            "aws_secret_access_key" => sk = Some(v),
            "aws_session_token" => token = Some(v),
            _ => {}
        }
    }
    Some(Keys {
        access_key: ak?,
        secret_key: sk?,
        session_token: token,
    })
}

static CACHED: Mutex<Option<(Keys, SystemTime)>> = Mutex::new(None);

fn env(k: &str) -> Option<String> {
    std::env::var(k).ok().filter(|v| !v.is_empty())
}

/// The credentials to sign with, or `None` when there are none anywhere.
pub async fn resolve(client: &Client) -> Option<Keys> {
    if let Some(k) = credentials() {
        return Some(k);
    }
    let now = SystemTime::now();
    if let Some((k, until)) = CACHED.lock().unwrap_or_else(|p| p.into_inner()).clone() {
        if until > now {
            return Some(k);
        }
    }
    let found = match container(client).await {
        Some(x) => Some(x),
        None => instance(client).await,
    };
    let (keys, expires) = found?;
    let until = expires
        .and_then(|e| e.checked_sub(Duration::from_secs(300)))
        .unwrap_or(now + Duration::from_secs(600));
    *CACHED.lock().unwrap_or_else(|p| p.into_inner()) = Some((keys.clone(), until));
    Some(keys)
}

async fn get(
    client: &Client,
    method: http::Method,
    url: &str,
    headers: &[(&str, String)],
) -> Option<(u16, String)> {
    let mut b = http::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        b = b.header(*k, v);
    }
    let req = b.body(crate::empty()).ok()?;
    let call = async {
        let resp = client.request(req).await.ok()?;
        let status = resp.status().as_u16();
        // Credentials documents are under a kilobyte or two; more is not read.
        let body = http_body_util::BodyExt::collect(http_body_util::Limited::new(
            resp.into_body(),
            64 * 1024,
        ))
        .await
        .ok()?
        .to_bytes();
        Some((status, String::from_utf8_lossy(&body).into_owned()))
    };
    tokio::time::timeout(Duration::from_secs(2), call)
        .await
        .ok()
        .flatten()
}

/// `{"AccessKeyId", "SecretAccessKey", "Token", "Expiration"}`, as both services answer.
fn parse(text: &str) -> Option<(Keys, Option<SystemTime>)> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    let s = |k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
    let keys = Keys {
        access_key: s("AccessKeyId")?,
        secret_key: s("SecretAccessKey")?,
        session_token: s("Token"),
    };
    let expires = s("Expiration").and_then(|e| rfc3339(&e));
    Some((keys, expires))
}

/// `2026-11-30T12:00:00Z` as a time.
fn rfc3339(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    if b.len() < 19 {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (n(0..4)?, n(5..7)?, n(8..10)?);
    let (h, mi, se) = (n(11..13)?, n(14..16)?, n(17..19)?);
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let secs = days * 86_400 + h * 3600 + mi * 60 + se;
    u64::try_from(secs)
        .ok()
        .map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s))
}

async fn container(client: &Client) -> Option<(Keys, Option<SystemTime>)> {
    let url = match (
        env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"),
        env("AWS_CONTAINER_CREDENTIALS_FULL_URI"),
    ) {
        (Some(rel), _) => format!("http://169.254.170.2{rel}"),
        (None, Some(full)) => full,
        (None, None) => return None,
    };
    let token = env("AWS_CONTAINER_AUTHORIZATION_TOKEN").or_else(|| {
        env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
            .and_then(|f| std::fs::read_to_string(f).ok())
            .map(|t| t.trim().to_string())
    });
    let headers: Vec<(&str, String)> = token.map(|t| ("authorization", t)).into_iter().collect();
    let (status, body) = get(client, http::Method::GET, &url, &headers).await?;
    (status == 200).then(|| parse(&body)).flatten()
}

async fn instance(client: &Client) -> Option<(Keys, Option<SystemTime>)> {
    if env("AWS_EC2_METADATA_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true")) {
        return None;
    }
    let base =
        env("AWS_EC2_METADATA_SERVICE_ENDPOINT").unwrap_or_else(|| "http://169.254.169.254".into());
    let base = base.trim_end_matches('/');
    let (status, token) = get(
        client,
        http::Method::PUT,
        &format!("{base}/latest/api/token"),
        &[("x-aws-ec2-metadata-token-ttl-seconds", "21600".into())],
    )
    .await?;
    if status != 200 {
        return None;
    }
    let auth = [("x-aws-ec2-metadata-token", token.trim().to_string())];
    let roles = format!("{base}/latest/meta-data/iam/security-credentials/");
    let (status, role) = get(client, http::Method::GET, &roles, &auth).await?;
    let role = role.lines().next()?.trim().to_string();
    if status != 200 || role.is_empty() {
        return None;
    }
    let (status, body) = get(client, http::Method::GET, &format!("{roles}{role}"), &auth).await?;
    (status == 200).then(|| parse(&body)).flatten()
}

/// A request signed with SigV4 for `signing_name` in `region` at `time`: `headers` (and
/// `host`) are signed with it; `Content-Length` is added after. S3 also gets the payload's
/// `x-amz-content-sha256`, as it requires.
// The signature's inputs, each needed.
#[allow(clippy::too_many_arguments)]
pub fn sign(
    method: Method,
    url: &str,
    region: &str,
    signing_name: &str,
    keys: &Keys,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Bytes,
    time: SystemTime,
) -> Result<http::Request<crate::Body>, String> {
    use aws_sigv4::http_request::{
        sign, PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings,
    };
    use aws_sigv4::sign::v4;
    let uri: http::Uri = url.parse().map_err(|e| format!("`{url}`: {e}"))?;
    let host = uri
        .authority()
        .map(|a| a.as_str().to_string())
        .ok_or_else(|| format!("`{url}` has no host"))?;
    let mut req = http::Request::builder()
        .method(method.clone())
        .uri(uri)
        .body(())
        .map_err(|e| e.to_string())?;
    let h = req.headers_mut();
    for (k, v) in headers {
        h.insert(k, v);
    }
    h.insert(
        http::header::HOST,
        HeaderValue::from_str(&host).map_err(|e| e.to_string())?,
    );
    let identity = aws_credential_types::Credentials::new(
        keys.access_key.clone(),
        keys.secret_key.clone(),
        keys.session_token.clone(),
        None,
        "specgate",
    )
    .into();
    let mut settings = SigningSettings::default();
    if signing_name == "s3" {
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    }
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(signing_name)
        .time(time)
        .settings(settings)
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let signed_headers: Vec<(&str, &str)> = req
        .headers()
        .iter()
        .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?)))
        .collect();
    let signable = SignableRequest::new(
        method.as_str(),
        url,
        signed_headers.into_iter(),
        SignableBody::Bytes(&body),
    )
    .map_err(|e| e.to_string())?;
    let (instructions, _) = sign(signable, &params)
        .map_err(|e| e.to_string())?
        .into_parts();
    instructions.apply_to_request_http1x(&mut req);
    let (mut parts, ()) = req.into_parts();
    parts
        .headers
        .insert(http::header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    Ok(http::Request::from_parts(parts, crate::full(body)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_files() {
        let text = "[default]\naws_access_key_id = AKID\naws_secret_access_key=SECRET\n\n[profile dev]\n# comment\naws_access_key_id = DEV\naws_secret_access_key = DEVSECRET\naws_session_token = TOKEN\n";
        assert_eq!(
            keys_in(text, "default"),
            Some(Keys {
                access_key: "AKID".into(),
                secret_key: "SECRET".into(),
                session_token: None
            })
        );
        assert_eq!(
            keys_in(text, "profile dev")
                .unwrap()
                .session_token
                .as_deref(),
            Some("TOKEN")
        );
        assert_eq!(keys_in(text, "nope"), None);
    }

    #[test]
    fn metadata_answers_parse() {
        let (k, exp) = parse(
            r#"{"AccessKeyId":"AKIA","SecretAccessKey":"s","Token":"t","Expiration":"2026-11-30T12:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(
            (k.access_key.as_str(), k.session_token.as_deref()),
            ("AKIA", Some("t"))
        );
        let secs = exp
            .unwrap()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert_eq!(secs, 1_796_040_000);
    }
}
