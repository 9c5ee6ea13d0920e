//! Authentication: the `authorization` header of every call, and the credentials
//! `IamTokenService.Create` exchanges for IAM tokens (OAuth tokens, service-account JWTs signed
//! with a configured key or one `KeyService.Create` made).

use http::HeaderMap;
use jsonwebtoken::{Algorithm, Validation};
use prost_types::Timestamp;
use tokio::time::Duration;
use tonic::Status;

use super::errors::unauthenticated;
use super::state::{State, TokenRec, Ts, sha256_hex};
use super::{Inner, clock, ids, lock};

/// Who made a call, as established by the `authorization` header.
#[derive(Debug, Clone)]
pub(crate) enum Principal {
    /// A configured IAM token or one exchanged for an OAuth token.
    User(String),
    /// A token issued for a service-account JWT, or an API key.
    ServiceAccount(String),
}

impl Principal {
    pub(crate) fn subject_id(&self) -> &str {
        match self {
            Self::User(id) | Self::ServiceAccount(id) => id,
        }
    }
}

/// The user behind configured and OAuth-exchanged tokens.
pub(crate) const EMULATOR_USER_ID: &str = "ajeemulatoruser00001";

/// A service-account key whose JWTs `IamTokenService.Create` accepts.
#[derive(Clone)]
pub(crate) struct AuthorizedKey {
    pub(crate) key_id: String,
    pub(crate) service_account_id: String,
    pub(crate) decoding_key: jsonwebtoken::DecodingKey,
}

/// The audience of service-account JWTs.
pub(crate) const JWT_AUDIENCE: &str = "https://iam.api.cloud.yandex.net/iam/v1/tokens";
/// Lifetime of issued IAM tokens.
pub(crate) const TOKEN_LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// Longest JWT lifetime accepted (`exp - iat`), Yandex's limit for service-account JWTs.
const MAX_JWT_LIFETIME: i64 = 3600;
/// How far ahead of the emulator's clock a JWT's `iat` and `nbf` may be (the signer's clock skew).
const JWT_CLOCK_SKEW: i64 = 300;

/// Establishes who is calling from the `authorization` header.
pub(crate) fn authenticate(inner: &Inner, headers: &HeaderMap) -> Result<Principal, Status> {
    let Some(value) = headers.get(http::header::AUTHORIZATION) else {
        return Err(unauthenticated(
            "The request is unauthenticated: authorization header is missing",
        ));
    };
    let value = value
        .to_str()
        .map_err(|_| unauthenticated("The authorization header is malformed"))?;
    let (scheme, credential) = value.split_once(' ').unwrap_or((value, ""));
    let credential = credential.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        if inner.iam_tokens.iter().any(|t| t == credential) {
            return Ok(Principal::User(EMULATOR_USER_ID.to_owned()));
        }
        // Hashed before the lock is taken: every call with a token passes here.
        let digest = sha256_hex(credential.as_bytes());
        let state = lock(&inner.state);
        return match state.tokens.get(&digest) {
            Some(rec) if !inner.clock.is_past(&rec.expires_at.into()) => Ok(if rec.subject == EMULATOR_USER_ID {
                Principal::User(rec.subject.clone())
            } else {
                Principal::ServiceAccount(rec.subject.clone())
            }),
            Some(_) => Err(unauthenticated("The token has expired")),
            None => Err(unauthenticated("The token is invalid")),
        };
    }
    if scheme.eq_ignore_ascii_case("api-key") {
        return api_key(inner, credential);
    }
    Err(unauthenticated(
        "Unsupported authorization scheme; use Bearer or Api-Key",
    ))
}

/// The service account whose live, unexpired API key `secret` is; the key's `last_used_at` and
/// its account's `last_authenticated_at` become now.
fn api_key(inner: &Inner, secret: &str) -> Result<Principal, Status> {
    let now: Ts = (&inner.clock.now()).into();
    let digest = sha256_hex(secret.as_bytes());
    let mut state = lock(&inner.state);
    let key = state
        .live_key_by_digest(&digest)
        .ok_or_else(|| unauthenticated("The API key is invalid"))?;
    if key.expires_at.is_some_and(|e| e <= now) {
        return Err(unauthenticated("The API key has expired"));
    }
    let account = key.meta.service_account_id.clone();
    state.account_authenticated(&account, now).map_err(unauthenticated)?;
    if let Some(key) = state.live_key_by_digest(&digest) {
        key.meta.last_used_at = Some(now);
    }
    drop(state);
    inner.note_change();
    Ok(Principal::ServiceAccount(account))
}

/// Issues an IAM token for `subject`, valid for 12 hours.
pub(crate) fn issue_token(inner: &Inner, state: &mut State, subject: &str) -> Result<(String, Timestamp), Status> {
    let token = ids::iam_token()?;
    let expires_at = clock::add(&inner.clock.now(), TOKEN_LIFETIME);
    let clock = &inner.clock;
    state.tokens.retain(|_, rec| !clock.is_past(&rec.expires_at.into()));
    // The state keeps the token's digest only: enough to recognise it, useless to a reader of the
    // state file.
    state.tokens.insert(
        sha256_hex(token.as_bytes()),
        TokenRec {
            subject: subject.to_owned(),
            expires_at: (&expires_at).into(),
        },
    );
    Ok((token, expires_at))
}

/// The subject an OAuth token stands for.
pub(crate) fn check_oauth(inner: &Inner, oauth_token: &str) -> Result<String, Status> {
    if inner.oauth_tokens.iter().any(|t| t == oauth_token) {
        Ok(EMULATOR_USER_ID.to_owned())
    } else {
        Err(unauthenticated("The OAuth token is invalid or expired"))
    }
}

/// The service account a JWT is signed for, after checking its key, signature and claims.
pub(crate) fn check_jwt(inner: &Inner, jwt: &str) -> Result<String, Status> {
    let invalid = |why: &str| unauthenticated(format!("The JWT is invalid: {why}"));
    let header = jsonwebtoken::decode_header(jwt).map_err(|_| invalid("malformed"))?;
    if header.alg != Algorithm::PS256 {
        return Err(invalid("only PS256 is accepted"));
    }
    let kid = header.kid.ok_or_else(|| invalid("kid is missing"))?;
    let key = match inner.authorized_keys.iter().find(|k| k.key_id == kid) {
        Some(configured) => configured.clone(),
        None => created_key(inner, &kid).ok_or_else(|| invalid("unknown key id"))?,
    };
    // jsonwebtoken checks the signature, `aud` and `iss`; the times are checked below on the raw
    // claims, because jsonwebtoken 9 takes a time claim of the wrong JSON type for an absent one.
    let mut validation = Validation::new(Algorithm::PS256);
    validation.set_audience(&[JWT_AUDIENCE]);
    validation.set_issuer(&[key.service_account_id.as_str()]);
    validation.set_required_spec_claims(&["aud", "iss"]);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    let data = jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(jwt, &key.decoding_key, &validation)
        .map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            match e.kind() {
                ErrorKind::InvalidSignature => invalid("signature does not match the key"),
                ErrorKind::InvalidAudience => invalid("wrong aud"),
                ErrorKind::InvalidIssuer => invalid("iss is not the key's service account"),
                _ => invalid("claims or signature rejected"),
            }
        })?;
    // The JWT's times come from the signer's clock, which moving the emulator's clock leaves alone.
    check_jwt_times(&data.claims, inner.clock.real_now().seconds).map_err(|why| invalid(&why))?;
    let now = inner.clock.now();
    // A key made by `KeyService.Create` records its use, and its account its authentication;
    // configured keys and their accounts need not be in the state.
    inner.mutate(|state| {
        if let Some(created) = state.keys.authorized.get_mut(&kid) {
            created.meta.last_used_at = Some((&now).into());
        }
        match state.account_authenticated(&key.service_account_id, (&now).into()) {
            Err(why) if state.service_accounts.contains_key(&key.service_account_id) => Err(unauthenticated(why)),
            _ => Ok(()),
        }
    })?;
    Ok(key.service_account_id)
}

/// A key made by `KeyService.Create`, by id, with its public key ready to check signatures.
fn created_key(inner: &Inner, key_id: &str) -> Option<AuthorizedKey> {
    let state = lock(&inner.state);
    let created = state.keys.authorized.get(key_id)?;
    // The emulator wrote this PEM itself; one it cannot read counts as an unknown key.
    let decoding_key = jsonwebtoken::DecodingKey::from_rsa_pem(created.public_key.as_bytes()).ok()?;
    Some(AuthorizedKey {
        key_id: created.meta.id.clone(),
        service_account_id: created.meta.service_account_id.clone(),
        decoding_key,
    })
}

/// Whether a JWT's times hold at `now` (seconds since the epoch): `iat` and `exp` are integers,
/// `iat` is at most [`JWT_CLOCK_SKEW`] ahead, `exp` is still ahead, `exp - iat` is at most
/// [`MAX_JWT_LIFETIME`], and an `nbf`, if present, is an integer at most the skew ahead.
fn check_jwt_times(claims: &serde_json::Map<String, serde_json::Value>, now: i64) -> Result<(), String> {
    let time = |name: &str| -> Result<Option<i64>, String> {
        match claims.get(name) {
            None => Ok(None),
            Some(serde_json::Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| format!("{name} is not a whole number of seconds")),
            Some(_) => Err(format!("{name} is not a number")),
        }
    };
    let iat = time("iat")?.ok_or("iat is missing")?;
    let exp = time("exp")?.ok_or("exp is missing")?;
    let latest_start = now.saturating_add(JWT_CLOCK_SKEW);
    if iat > latest_start {
        return Err("iat is in the future".to_owned());
    }
    if exp <= now {
        return Err("expired".to_owned());
    }
    match exp.checked_sub(iat) {
        Some(lifetime) if (0..=MAX_JWT_LIFETIME).contains(&lifetime) => {}
        _ => return Err(format!("exp - iat must be between 0 and {MAX_JWT_LIFETIME} seconds")),
    }
    if time("nbf")?.is_some_and(|nbf| nbf > latest_start) {
        return Err("nbf is in the future".to_owned());
    }
    Ok(())
}
