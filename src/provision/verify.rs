//! Proving that a key works: `TokenizerService.Tokenize` of AI Studio called with the key itself,
//! again and again until it succeeds or the time allowed runs out.
//!
//! A role binding made a moment ago may take a while to apply in the cloud; until it does, the
//! key's calls are refused with `PERMISSION_DENIED` (or, while a new authorized key is not yet
//! known everywhere, `UNAUTHENTICATED`). Those two answers are tried again, with a growing pause;
//! any other failure ends the check at once. Tokenize costs nothing and changes nothing, which is
//! why it is the call made.

use std::time::Duration;

use tokio::time::Instant;

use secrecy::{ExposeSecret as _, SecretString};

use super::{
    InvalidInput, IssuedKey, KeySink, KeyType, LockboxReport, LockboxSink, ManagedKey, Provision, ProvisionError,
    READER_ROLE, StoredKey,
};
use crate::auth::AuthorizedKey;
use crate::client::{Method, ServiceId};
use crate::proto::yandex::cloud::{
    ai::foundation_models::v1::{TokenizeRequest, tokenizer_service_client::TokenizerServiceClient},
    lockbox::v1::payload,
};
use crate::{Client, Credentials, Error, ErrorKind};

/// How long [`verify_key`] keeps trying unless told otherwise.
pub const DEFAULT_VERIFY_TIMEOUT: Duration = Duration::from_secs(120);
/// The model called in the service account's folder unless another is named.
pub const DEFAULT_VERIFY_MODEL: &str = "yandexgpt-lite/latest";
/// The text sent to the tokenizer.
const PROBE_TEXT: &str = "yc-iam verify";
/// The first pause after a refusal; each next one is half as long again, up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(200);
const MAX_PAUSE: Duration = Duration::from_millis(500);

const TOKENIZE: Method = Method::read(ServiceId::AiFoundationModels, "cannot tokenize with the new key");

/// What `provision --verify` checks: which model the key calls, and for how long it keeps trying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verify {
    /// The model URI; `gpt://<folder id>/yandexgpt-lite/latest` in the account's folder when
    /// `None`.
    pub model_uri: Option<String>,
    /// How long to keep trying while the key is refused.
    pub timeout: Duration,
}

impl Default for Verify {
    fn default() -> Self {
        Verify {
            model_uri: None,
            timeout: DEFAULT_VERIFY_TIMEOUT,
        }
    }
}

impl Verify {
    /// The defaults: the default model of the account's folder, [`DEFAULT_VERIFY_TIMEOUT`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Calls this model instead.
    pub fn model_uri(mut self, uri: impl Into<String>) -> Self {
        self.model_uri = Some(uri.into());
        self
    }

    /// Keeps trying for this long.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The model URI called for an account of `folder_id`.
    pub fn model_for(&self, folder_id: &str) -> String {
        self.model_uri
            .clone()
            .unwrap_or_else(|| format!("gpt://{folder_id}/{DEFAULT_VERIFY_MODEL}"))
    }

    /// The model URI is `gpt://<folder id>/<model>[/<version>]` and the timeout is not zero.
    pub(super) fn check(&self) -> Result<(), InvalidInput> {
        if let Some(uri) = &self.model_uri {
            check_model_uri("verify_model", uri)?;
        }
        if self.timeout.is_zero() {
            return Err(InvalidInput::new("verify_timeout", "0s", "must be longer than zero"));
        }
        Ok(())
    }
}

/// Checks a text-model URI: `gpt://<folder id>/<model>[/<version>]`.
pub fn check_model_uri(field: &str, uri: &str) -> Result<(), InvalidInput> {
    let rule = "must be gpt://<folder id>/<model>[/<version>]";
    let parts: Vec<&str> = match uri.strip_prefix("gpt://") {
        Some(path) => path.split('/').collect(),
        None => return Err(InvalidInput::new(field, uri, rule)),
    };
    let folder_ok = super::check_id(field, parts[0]).is_ok();
    let names_ok = parts[1..].iter().all(|p| {
        !p.is_empty()
            && p.len() <= 100
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'@'))
    });
    if folder_ok && (2..=3).contains(&parts.len()) && names_ok {
        Ok(())
    } else {
        Err(InvalidInput::new(field, uri, rule))
    }
}

/// A key that worked: the model it called, how long after the check began it was first accepted,
/// and how many calls that took.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Verification {
    /// The model URI called.
    pub model_uri: String,
    /// From the first call to the first accepted one.
    pub usable_after: Duration,
    /// Calls made, the accepted one included.
    pub attempts: u32,
}

/// A key that did not work: refused until the time ran out, or failed another way.
#[derive(Debug, thiserror::Error)]
#[error("{}", self.describe())]
#[non_exhaustive]
pub struct VerifyError {
    /// The model URI called.
    pub model_uri: String,
    /// How long the check ran.
    pub waited: Duration,
    /// Calls made.
    pub attempts: u32,
    /// Whether the time allowed ran out (otherwise an answer other than a refusal ended it).
    pub timed_out: bool,
    /// The last call's error, with its request ids.
    #[source]
    pub source: Error,
}

impl VerifyError {
    fn describe(&self) -> String {
        let waited = crate::client::fmt_duration(self.waited);
        let calls = if self.attempts == 1 { "call" } else { "calls" };
        if self.timed_out {
            format!(
                "the key was not usable with {} within {waited} ({} {calls})",
                self.model_uri, self.attempts
            )
        } else {
            format!(
                "the key could not be checked with {} (after {waited}, {} {calls})",
                self.model_uri, self.attempts
            )
        }
    }
}

/// Calls `TokenizerService.Tokenize` on `model_uri` with `credentials` (an API key, or any
/// credentials that yield an IAM token, such as a new authorized key) until it succeeds or
/// `timeout` has passed. `PERMISSION_DENIED` and `UNAUTHENTICATED` are tried again after a pause
/// (200 ms, growing to 500 ms); any other failure is returned at once. The calls go where `client`'s
/// would (its endpoint, discovery, TLS settings, retry policy for transient failures) but carry
/// only `credentials`: endpoint id `ai-foundation-models`, `llm.api.cloud.yandex.net:443` behind
/// the default endpoint.
///
/// # Errors
/// [`VerifyError`] with the last call's error when the key was refused until the timeout, or
/// failed otherwise; its `timed_out` tells which.
pub async fn verify_key(
    client: &Client,
    credentials: Credentials,
    model_uri: &str,
    timeout: Duration,
) -> Result<Verification, VerifyError> {
    let start = Instant::now();
    // A century is no deadline in practice, and a longer timeout (a library caller's
    // `Duration::MAX`) would overflow the clock.
    let deadline = start + timeout.min(Duration::from_secs(100 * 365 * 86_400));
    let failed = |source: Error, attempts: u32, timed_out: bool| VerifyError {
        model_uri: model_uri.to_owned(),
        waited: start.elapsed(),
        attempts,
        timed_out,
        source,
    };
    let client = match client.with_credentials(credentials) {
        Ok(client) => client,
        Err(e) => return Err(failed(e, 0, false)),
    };
    let mut pause = FIRST_PAUSE;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let call = tokenize(&client, model_uri);
        let err = match tokio::time::timeout_at(deadline, call).await {
            Ok(Ok(())) => {
                return Ok(Verification {
                    model_uri: model_uri.to_owned(),
                    usable_after: start.elapsed(),
                    attempts,
                });
            }
            Ok(Err(e)) => e,
            Err(_) => {
                let late = Error::new(
                    ErrorKind::Timeout,
                    TOKENIZE.what,
                    format!("no answer within {}", crate::client::fmt_duration(timeout)),
                );
                return Err(failed(late, attempts, true));
            }
        };
        if !refused(&err) {
            return Err(failed(err, attempts, false));
        }
        let now = Instant::now();
        if now + pause >= deadline {
            return Err(failed(err, attempts, true));
        }
        tracing::debug!(attempts, ?pause, error = %err, "the key is not usable yet");
        tokio::time::sleep(pause).await;
        pause = (pause + pause / 2).min(MAX_PAUSE);
    }
}

/// What became of the check of the key a run put in place.
pub(super) enum Checked {
    /// The key worked.
    Verified(Verification),
    /// The key could not be tried; why.
    Skipped(String),
}

/// Verifies the key a run put in place: the new key, or the kept key read back from its sink (a
/// key file, the secret entry of a dotenv file, manifest or the Lockbox version `lockbox` names).
/// A sink that holds no usable key, or an authorized key other than the kept one, fails; a
/// Lockbox payload the caller may not read (a role taken away since the plan read it) is a skip,
/// with the reason.
pub(super) async fn in_place(
    client: &Client,
    input: &Provision,
    verify: &Verify,
    (issued, kept_key): (Option<&IssuedKey>, Option<&ManagedKey>),
    lockbox: Option<&LockboxReport>,
) -> Result<Checked, ProvisionError> {
    let credentials = match (issued, kept_key) {
        (Some(key), _) => key.credentials().ok_or_else(|| STATIC_KEY.to_owned()),
        (None, Some(held)) => kept(client, input, held, lockbox).await?,
        (None, None) => Err("no key was put in place".to_owned()),
    };
    let credentials = match credentials {
        Ok(credentials) => credentials,
        Err(why) => return Ok(Checked::Skipped(why)),
    };
    let model_uri = verify.model_for(&input.folder_id);
    let key_id = issued
        .map(|k| k.held_as().to_owned())
        .or_else(|| kept_key.map(|k| k.held_as.clone()));
    match verify_key(client, credentials, &model_uri, verify.timeout).await {
        Ok(done) => Ok(Checked::Verified(done)),
        Err(source) => Err(ProvisionError::NotVerified {
            key_id,
            source,
            partial: None,
        }),
    }
}

/// Why a static access key is not verified (the inputs refuse `verify` for one).
const STATIC_KEY: &str = "a static access key is not used with AI Studio";

/// The credentials of the key the sink kept (`held`), or why they cannot be read.
async fn kept(
    client: &Client,
    input: &Provision,
    held: &ManagedKey,
    lockbox: Option<&LockboxReport>,
) -> Result<Result<Credentials, String>, ProvisionError> {
    let (secret, place) = match &input.output {
        KeySink::File(path) => return kept_in_file(path, input.key_type, held),
        sink @ (KeySink::Env { path, .. } | KeySink::K8s { path, .. }) => {
            let place = path.display().to_string();
            let secret = sink
                .read_secret()
                .map_err(|e| unreadable(&place)(Error::credentials(e.to_string())))?;
            (secret, place)
        }
        KeySink::Lockbox(sink) => match kept_in_lockbox(client, sink, lockbox).await? {
            Ok(found) => found,
            Err(why) => return Ok(Err(why)),
        },
        KeySink::Caller => return Ok(Err("a key for the caller is never kept".to_owned())),
    };
    let Some(secret) = secret else {
        let missing = Error::credentials("it holds the key's id but not its secret");
        return Err(unreadable(&place)(missing));
    };
    match input.key_type {
        KeyType::ApiKey => Ok(Ok(Credentials::api_key(secret.expose_secret()))),
        KeyType::AuthorizedKey => AuthorizedKey::from_json(secret.expose_secret())
            .and_then(|key| the_kept(key, held))
            .map(|key| Ok(Credentials::authorized_key(key)))
            .map_err(unreadable(&place)),
        KeyType::StaticKey => Ok(Err(STATIC_KEY.to_owned())),
    }
}

/// `key` when it is the kept key `held`: an authorized key's document names its id and account,
/// and one put there by another hand would verify a key that is not the one reported. (An API
/// key's secret does not name its key, so it cannot be checked so.)
fn the_kept(key: AuthorizedKey, held: &ManagedKey) -> Result<AuthorizedKey, Error> {
    if key.id() == held.id && key.service_account_id() == held.service_account_id {
        return Ok(key);
    }
    Err(Error::credentials(format!(
        "it holds authorized key {} of service account {}, not the kept key {} of {}",
        key.id(),
        key.service_account_id(),
        held.id,
        held.service_account_id
    )))
}

/// The credentials of a kept key (`held`), read from its key file.
fn kept_in_file(
    path: &std::path::Path,
    kind: KeyType,
    held: &ManagedKey,
) -> Result<Result<Credentials, String>, ProvisionError> {
    let place = path.display();
    match kind {
        KeyType::ApiKey => {
            match StoredKey::read(path).map_err(|e| unreadable(&place)(Error::credentials(e.to_string())))? {
                Some(key) => Ok(Ok(Credentials::api_key(key.secret.expose_secret()))),
                None => Err(unreadable(place)(Error::credentials("the file is gone"))),
            }
        }
        KeyType::AuthorizedKey => AuthorizedKey::from_file(path)
            .and_then(|key| the_kept(key, held))
            .map(|key| Ok(Credentials::authorized_key(key)))
            .map_err(unreadable(place)),
        KeyType::StaticKey => Ok(Err(STATIC_KEY.to_owned())),
    }
}

/// The secret entry of the Lockbox version that holds the kept key, with where it was read;
/// `Err` with the reason when the caller may not read the payload.
async fn kept_in_lockbox(
    client: &Client,
    sink: &LockboxSink,
    lockbox: Option<&LockboxReport>,
) -> Result<Result<(Option<SecretString>, String), String>, ProvisionError> {
    let Some(LockboxReport {
        secret_id,
        version_id: Some(version),
        ..
    }) = lockbox
    else {
        return Ok(Err("the Lockbox secret has no version holding the key".to_owned()));
    };
    let place = format!("lockbox secret {secret_id} (version {version})");
    match client.lockbox().payload(secret_id.as_str(), Some(version)).await {
        Ok(mut payload) => {
            let secret = payload
                .entries
                .iter_mut()
                .find(|entry| entry.key == sink.entries.api_key)
                .and_then(|entry| match &mut entry.value {
                    Some(payload::entry::Value::TextValue(text)) if !text.trim().is_empty() => {
                        Some(crate::secret::take(text))
                    }
                    _ => None,
                });
            Ok(Ok((secret, place)))
        }
        Err(e) if e.kind() == ErrorKind::PermissionDenied => Ok(Err(format!(
            "the caller may not read the payload of {place}, which holds the kept key ({READER_ROLE} is needed): {e}"
        ))),
        Err(e) => Err(unreadable(&place)(e)),
    }
}

/// The failure to read back a kept key from `place`: a failure of the run, not bad input (the
/// sink was read and written before).
fn unreadable(place: impl std::fmt::Display) -> impl FnOnce(Error) -> ProvisionError {
    super::api(format!("cannot read the kept key from {place}"))
}

/// How a binding or key that has not applied yet shows: the key is refused. A failed token
/// exchange of a new authorized key is wrapped as a credentials error around the refusal.
fn refused(err: &Error) -> bool {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = current {
        if let Some(e) = e.downcast_ref::<Error>()
            && matches!(e.kind(), ErrorKind::PermissionDenied | ErrorKind::Unauthenticated)
        {
            return true;
        }
        current = e.source();
    }
    false
}

async fn tokenize(client: &Client, model_uri: &str) -> Result<(), Error> {
    let request = TokenizeRequest {
        model_uri: model_uri.to_owned(),
        text: PROBE_TEXT.to_owned(),
    };
    client
        .call(&TOKENIZE, request, |ch, req| async move {
            TokenizerServiceClient::new(ch).tokenize(req).await
        })
        .await
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_uris_are_checked_before_anything_is_sent() {
        for good in [
            "gpt://b1gexample0000000000/yandexgpt-lite/latest",
            "gpt://b1g/yandexgpt",
            "gpt://b1g/yandexgpt/rc",
        ] {
            assert!(check_model_uri("verify_model", good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "gpt://",
            "gpt:///m",
            "emb://b1g/m",
            "gpt://b1g",
            "gpt://b1g/m/l/x",
            "gpt://b1g/m x",
        ] {
            let err = check_model_uri("verify_model", bad).expect_err(bad);
            assert_eq!(err.field, "verify_model");
        }
    }

    #[test]
    fn the_default_model_is_in_the_accounts_folder() {
        assert_eq!(
            Verify::new().model_for("b1gfolder"),
            "gpt://b1gfolder/yandexgpt-lite/latest"
        );
        assert_eq!(
            Verify::new().model_uri("gpt://b1g/m").model_for("b1gfolder"),
            "gpt://b1g/m"
        );
        let err = Verify::new().timeout(Duration::ZERO).check().unwrap_err();
        assert_eq!(err.field, "verify_timeout");
    }
}
