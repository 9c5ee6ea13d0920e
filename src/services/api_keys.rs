//! `yandex.cloud.iam.v1.ApiKeyService`, with the safe retry of `Create`.
//!
//! `Create` returns the secret directly and is not an operation, so a lost answer could leave a
//! key whose secret nobody holds. The common path is one RPC. After an ambiguous failure (the
//! request may have been applied) the call is retried with the same `idempotency-key` (a server
//! that honours it answers with the first key), and once it settles the service account's keys
//! are listed: every key matching the request that was made during this call, other than the one
//! whose secret the caller receives, is deleted. "During this call" is read on the server's clock,
//! anchored by the `created_at` of the key received. A retried call thus leaves exactly one new
//! live key.

use futures_util::TryStreamExt as _;
use secrecy::SecretString;

use crate::{
    Client, Error, ErrorKind, Operation, Paginator,
    client::{Method, ServiceId, validate},
    proto::yandex::cloud::iam::v1::{
        ApiKey, CreateApiKeyRequest, CreateApiKeyResponse, DeleteApiKeyMetadata, DeleteApiKeyRequest, GetApiKeyRequest,
        ListApiKeyScopesRequest, ListApiKeysRequest, UpdateApiKeyMetadata, UpdateApiKeyRequest,
        api_key_service_client::ApiKeyServiceClient as Stub,
    },
};

use super::update_mask::UpdateMask;

const GET: Method = Method::read(ServiceId::Iam, "cannot get api key");
const LIST: Method = Method::read(ServiceId::Iam, "cannot list api keys");
const LIST_SCOPES: Method = Method::read(ServiceId::Iam, "cannot list api key scopes");
const CREATE: Method = Method::mutate(ServiceId::Iam, "cannot create api key");
const UPDATE: Method = Method::mutate(ServiceId::Iam, "cannot update api key");
const DELETE: Method = Method::mutate(ServiceId::Iam, "cannot delete api key");

/// API keys: `client.api_keys()`.
#[derive(Debug, Clone)]
pub struct ApiKeys {
    client: Client,
}

/// The request to create an API key for a service account.
#[derive(Debug, Clone)]
pub struct CreateApiKey {
    request: CreateApiKeyRequest,
}

impl CreateApiKey {
    /// A key for service account `service_account_id`.
    pub fn new(service_account_id: impl Into<String>) -> Self {
        CreateApiKey {
            request: CreateApiKeyRequest {
                service_account_id: service_account_id.into(),
                ..Default::default()
            },
        }
    }

    /// The scopes the key may be used for, e.g. `yc.ai.languageModels.execute`.
    pub fn scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.request.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// The description (up to 256 characters).
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.request.description = description.into();
        self
    }

    /// When the key expires (a `SystemTime` or a proto `Timestamp`).
    pub fn expires_at(mut self, at: impl Into<prost_types::Timestamp>) -> Self {
        self.request.expires_at = Some(at.into());
        self
    }

    /// The wire request.
    pub fn into_request(self) -> CreateApiKeyRequest {
        self.request
    }
}

/// A new API key and its secret, which the API shows only once. `Debug` hides the secret.
#[derive(Debug, Clone)]
pub struct CreatedApiKey {
    /// The key (id, service account, scopes, masked secret, ...).
    pub api_key: ApiKey,
    /// The secret, sent as `Authorization: Api-Key <secret>`.
    pub secret: SecretString,
}

/// The request to change an API key; only the fields set are changed.
#[derive(Debug, Clone)]
pub struct UpdateApiKey {
    request: UpdateApiKeyRequest,
    mask: UpdateMask,
}

impl UpdateApiKey {
    /// A change to API key `id`.
    pub fn new(id: impl Into<String>) -> Self {
        UpdateApiKey {
            request: UpdateApiKeyRequest {
                api_key_id: id.into(),
                ..Default::default()
            },
            mask: UpdateMask::default(),
        }
    }

    /// A new description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.request.description = description.into();
        self.mask.touch("description");
        self
    }

    /// New scopes (replacing all).
    pub fn scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.request.scopes = scopes.into_iter().map(Into::into).collect();
        self.mask.touch("scopes");
        self
    }

    /// A new expiry.
    pub fn expires_at(mut self, at: impl Into<prost_types::Timestamp>) -> Self {
        self.request.expires_at = Some(at.into());
        self.mask.touch("expires_at");
        self
    }

    /// The wire request (with its field mask).
    pub fn into_request(self) -> UpdateApiKeyRequest {
        let mut request = self.request;
        request.update_mask = Some(self.mask.into_field_mask());
        request
    }
}

/// How far an orphan's `created_at` may precede the call's start on the server's clock (the
/// server's clock is read against ours through the received key's `created_at` and the time its
/// answer arrived, which is off by that answer's travel time; the first attempt's is not known).
const SLACK: i128 = 1_000_000_000;
/// The clock skew allowed between this machine and the server when no server time is known.
const SKEW: i128 = 5_000_000_000;

/// A span of server time, in nanoseconds since the Unix epoch.
struct Window {
    from: i128,
    to: i128,
}

impl Window {
    /// From the call's start to now, on this machine's clock, widened by the allowed skew.
    fn local(call_started: i128) -> Self {
        Window {
            from: call_started - SKEW,
            to: wall_nanos() + SKEW,
        }
    }

    fn contains(&self, at: i128) -> bool {
        self.from <= at && at <= self.to
    }
}

fn wall_nanos() -> i128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i128)
        .unwrap_or_default()
}

/// True when a failed create may nevertheless have made the key.
fn maybe_applied(err: &Error) -> bool {
    use tonic::Code;
    match err.code() {
        Some(
            Code::InvalidArgument
            | Code::NotFound
            | Code::AlreadyExists
            | Code::PermissionDenied
            | Code::Unauthenticated
            | Code::FailedPrecondition
            | Code::ResourceExhausted
            | Code::OutOfRange
            | Code::Unimplemented,
        ) => false,
        Some(_) => true,
        None => matches!(err.kind(), ErrorKind::Transport | ErrorKind::Timeout | ErrorKind::Other),
    }
}

/// The key and its secret, taken out of the reply so that no plain copy of the secret is left.
fn take_created(reply: &mut CreateApiKeyResponse) -> Result<CreatedApiKey, Error> {
    let secret = crate::secret::take(&mut reply.secret);
    let Some(api_key) = reply.api_key.take() else {
        return Err(Error::new(ErrorKind::Other, CREATE.what, "the answer holds no api key"));
    };
    Ok(CreatedApiKey { api_key, secret })
}

impl ApiKeys {
    pub(crate) fn new(client: Client) -> Self {
        ApiKeys { client }
    }

    /// The API key with this id.
    pub async fn get(&self, id: impl Into<String>) -> Result<ApiKey, Error> {
        let request = GetApiKeyRequest { api_key_id: id.into() };
        let reply = self
            .client
            .call(&GET, request, |ch, r| async move { Stub::new(ch).get(r).await })
            .await?;
        Ok(reply.into_inner())
    }

    /// Every API key of a service account, as a stream.
    pub fn list(&self, service_account_id: impl Into<String>) -> Paginator<ApiKey> {
        let request = ListApiKeysRequest {
            service_account_id: service_account_id.into(),
            ..Default::default()
        };
        self.client
            .paginate(LIST, request, |ch, r| async move { Stub::new(ch).list(r).await })
    }

    /// Every scope an API key may be given, as a stream.
    pub fn list_scopes(&self) -> Paginator<String> {
        self.client
            .paginate(LIST_SCOPES, ListApiKeyScopesRequest::default(), |ch, r| async move {
                Stub::new(ch).list_scopes(r).await
            })
    }

    /// Creates an API key and returns it with its secret.
    ///
    /// Safe to retry: if an attempt fails in a way that may have created the key anyway, the
    /// retry is followed by a reconciliation that deletes any key made by this call whose secret
    /// was never received, so exactly one new key remains and the caller holds its secret.
    pub async fn create(&self, request: CreateApiKey) -> Result<CreatedApiKey, Error> {
        let request = request.into_request();
        let call_started = wall_nanos();
        let mut ambiguous = false;
        let result = self
            .client
            .call_observed(
                &CREATE,
                request.clone(),
                |ch, r| async move { Stub::new(ch).create(r).await },
                |err| ambiguous |= maybe_applied(err),
            )
            .await;
        let reply = match result {
            Ok(reply) => reply,
            Err(err) => {
                if ambiguous {
                    // Best effort: a key nobody holds the secret of must not stay.
                    let window = Window::local(call_started);
                    if let Err(cleanup) = self.remove_orphans(&request, &window, None).await {
                        tracing::warn!(error = %cleanup, "could not remove api keys left by a failed create");
                    }
                }
                return Err(err);
            }
        };
        let received = wall_nanos();
        let created = take_created(&mut reply.into_inner())?;
        if ambiguous {
            // The key just received dates this call on the server's clock: an earlier attempt's
            // key was made between the call's start and the received key's creation.
            let window = match created.api_key.created_at.as_ref() {
                Some(at) => {
                    let made = crate::timestamp::unix_nanos(at);
                    Window {
                        from: call_started + (made - received) - SLACK,
                        to: made,
                    }
                }
                None => Window::local(call_started),
            };
            self.remove_orphans(&request, &window, Some(&created.api_key.id))
                .await?;
        }
        Ok(created)
    }

    /// Deletes the keys made within `window` that match the request, except `keep`: keys this
    /// call made but whose secret never arrived.
    async fn remove_orphans(
        &self,
        request: &CreateApiKeyRequest,
        window: &Window,
        keep: Option<&str>,
    ) -> Result<(), Error> {
        let keys: Vec<ApiKey> = self.list(request.service_account_id.clone()).try_collect().await?;
        for key in keys {
            let ours = Some(key.id.as_str()) != keep
                && key.created_at.as_ref().is_some_and(|at| window.contains(crate::timestamp::unix_nanos(at)))
                && key.description == request.description
                && key.scopes == request.scopes
                // The server may store the expiry with less precision than was sent.
                && key.expires_at.as_ref().map(|t| t.seconds) == request.expires_at.as_ref().map(|t| t.seconds);
            if ours {
                tracing::debug!(api_key_id = %key.id, "deleting an api key whose secret was lost");
                match self.delete(key.id.clone()).await {
                    Ok(op) => {
                        op.wait().await?;
                    }
                    Err(e) if e.kind() == ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(())
    }

    /// Changes an API key.
    ///
    /// The API's rules ask for at least one scope in every update; when the request does not
    /// change the scopes, the current ones are read first and sent unchanged.
    pub async fn update(&self, request: UpdateApiKey) -> Result<Operation<ApiKey, UpdateApiKeyMetadata>, Error> {
        let mut request = request.into_request();
        let touches_scopes = request
            .update_mask
            .as_ref()
            .is_some_and(|m| m.paths.iter().any(|p| p == "scopes"));
        if !touches_scopes && request.scopes.is_empty() {
            // Check everything else before reading anything.
            let mut probe = request.clone();
            probe.scopes = vec!["unchanged".to_owned()];
            validate(&UPDATE, &probe)?;
            request.scopes = self.get(request.api_key_id.clone()).await?.scopes;
        }
        let reply = self
            .client
            .call(&UPDATE, request, |ch, r| async move { Stub::new(ch).update(r).await })
            .await?;
        Ok(Operation::from_reply(self.client.clone(), reply))
    }

    /// Deletes an API key.
    pub async fn delete(&self, id: impl Into<String>) -> Result<Operation<(), DeleteApiKeyMetadata>, Error> {
        let request = DeleteApiKeyRequest { api_key_id: id.into() };
        let reply = self
            .client
            .call(&DELETE, request, |ch, r| async move { Stub::new(ch).delete(r).await })
            .await?;
        Ok(Operation::from_reply(self.client.clone(), reply))
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret as _;

    use super::*;

    #[test]
    fn the_secret_is_taken_out_of_the_reply_not_copied() {
        let mut reply = CreateApiKeyResponse {
            api_key: Some(ApiKey {
                id: "ajekey".into(),
                ..Default::default()
            }),
            secret: "AQVNsecret".into(),
        };
        let created = take_created(&mut reply).expect("a key");
        assert_eq!(created.secret.expose_secret(), "AQVNsecret");
        assert_eq!(reply.secret, "", "the reply still holds a copy of the secret");
    }
}
