//! `yandex.cloud.iam.v1.ApiKeyService`, with the safe retry of `Create`.
//!
//! `Create` returns the secret directly and is not an operation, so a lost answer could leave a
//! key whose secret nobody holds. Before creating, the service account's keys are listed; after
//! an ambiguous failure (the request may have been applied), the keys are listed again once the
//! call has settled and every new key matching the request, other than the one whose secret the
//! caller receives, is deleted. A retried call thus leaves exactly one new live key.

use std::collections::HashSet;

use futures_util::TryStreamExt as _;
use secrecy::SecretString;
use tokio::time::Instant;

use crate::{
    Client, Error, ErrorKind, Operation, Paginator,
    client::{Method, ServiceId, new_id, poll_interval, validate},
    paginate::Page,
    proto::yandex::cloud::iam::v1::{
        ApiKey, CreateApiKeyRequest, DeleteApiKeyMetadata, DeleteApiKeyRequest, GetApiKeyRequest,
        ListApiKeyScopesRequest, ListApiKeysRequest, UpdateApiKeyMetadata, UpdateApiKeyRequest,
        api_key_service_client::ApiKeyServiceClient as Stub,
    },
};

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
    paths: Vec<&'static str>,
}

impl UpdateApiKey {
    /// A change to API key `id`.
    pub fn new(id: impl Into<String>) -> Self {
        UpdateApiKey {
            request: UpdateApiKeyRequest {
                api_key_id: id.into(),
                ..Default::default()
            },
            paths: Vec::new(),
        }
    }

    fn touch(&mut self, path: &'static str) {
        if !self.paths.contains(&path) {
            self.paths.push(path);
        }
    }

    /// A new description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.request.description = description.into();
        self.touch("description");
        self
    }

    /// New scopes (replacing all).
    pub fn scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.request.scopes = scopes.into_iter().map(Into::into).collect();
        self.touch("scopes");
        self
    }

    /// A new expiry.
    pub fn expires_at(mut self, at: impl Into<prost_types::Timestamp>) -> Self {
        self.request.expires_at = Some(at.into());
        self.touch("expires_at");
        self
    }

    /// The wire request (with its field mask).
    pub fn into_request(self) -> UpdateApiKeyRequest {
        let mut request = self.request;
        request.update_mask = Some(prost_types::FieldMask {
            paths: self.paths.iter().map(|p| (*p).to_owned()).collect(),
        });
        request
    }
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
        let client = self.client.clone();
        let service_account_id = service_account_id.into();
        Paginator::new(move |page_token, page_size| {
            let client = client.clone();
            let request = ListApiKeysRequest {
                service_account_id: service_account_id.clone(),
                page_size,
                page_token,
            };
            async move {
                let reply = client
                    .call(&LIST, request, |ch, r| async move { Stub::new(ch).list(r).await })
                    .await?;
                let reply = reply.into_inner();
                Ok(Page {
                    items: reply.api_keys,
                    next_page_token: reply.next_page_token,
                })
            }
        })
    }

    /// Every scope an API key may be given, as a stream.
    pub fn list_scopes(&self) -> Paginator<String> {
        let client = self.client.clone();
        Paginator::new(move |page_token, page_size| {
            let client = client.clone();
            let request = ListApiKeyScopesRequest { page_size, page_token };
            async move {
                let reply = client
                    .call(&LIST_SCOPES, request, |ch, r| async move {
                        Stub::new(ch).list_scopes(r).await
                    })
                    .await?;
                let reply = reply.into_inner();
                Ok(Page {
                    items: reply.scopes,
                    next_page_token: reply.next_page_token,
                })
            }
        })
    }

    /// Creates an API key and returns it with its secret.
    ///
    /// Safe to retry: if an attempt fails in a way that may have created the key anyway, the
    /// retry is followed by a reconciliation that deletes any key made by this call whose secret
    /// was never received, so exactly one new key remains and the caller holds its secret.
    pub async fn create(&self, request: CreateApiKey) -> Result<CreatedApiKey, Error> {
        let request = request.into_request();
        validate(&CREATE, &request)?;
        let before = self.key_ids(&request.service_account_id).await?;
        let policy = self.client.retry_policy().clone();
        let idempotency_key = new_id();
        let call = |ch, r| async move { Stub::new(ch).create(r).await };
        let start = Instant::now();
        let mut attempts = 0;
        let mut ambiguous = false;
        loop {
            attempts += 1;
            match self
                .client
                .attempt(&CREATE, &request, Some(&idempotency_key), &call)
                .await
            {
                Ok(reply) => {
                    let reply = reply.into_inner();
                    let Some(api_key) = reply.api_key.clone() else {
                        return Err(Error::new(ErrorKind::Other, CREATE.what, "the answer holds no api key"));
                    };
                    let created = CreatedApiKey {
                        api_key,
                        secret: SecretString::from(reply.secret.clone()),
                    };
                    if ambiguous {
                        self.remove_orphans(&request, &before, Some(&created.api_key.id))
                            .await?;
                    }
                    return Ok(created);
                }
                Err(err) => {
                    ambiguous |= maybe_applied(&err);
                    match policy.next_delay(&err, attempts, start.elapsed()) {
                        Some(delay) => tokio::time::sleep(delay).await,
                        None => {
                            if ambiguous {
                                // Best effort: a key nobody holds the secret of must not stay.
                                if let Err(cleanup) = self.remove_orphans(&request, &before, None).await {
                                    tracing::warn!(error = %cleanup, "could not remove api keys left by a failed create");
                                }
                            }
                            return Err(err);
                        }
                    }
                }
            }
        }
    }

    async fn key_ids(&self, service_account_id: &str) -> Result<HashSet<String>, Error> {
        self.list(service_account_id.to_owned())
            .map_ok(|k| k.id)
            .try_collect()
            .await
    }

    /// Deletes the keys that appeared since `before`, match the request, and are not `keep`.
    async fn remove_orphans(
        &self,
        request: &CreateApiKeyRequest,
        before: &HashSet<String>,
        keep: Option<&str>,
    ) -> Result<(), Error> {
        let keys: Vec<ApiKey> = self.list(request.service_account_id.clone()).try_collect().await?;
        for key in keys {
            let ours = !before.contains(&key.id)
                && Some(key.id.as_str()) != keep
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
        let hint = poll_interval(reply.metadata());
        Ok(Operation::new(self.client.clone(), reply.into_inner(), hint))
    }

    /// Deletes an API key.
    pub async fn delete(&self, id: impl Into<String>) -> Result<Operation<(), DeleteApiKeyMetadata>, Error> {
        let request = DeleteApiKeyRequest { api_key_id: id.into() };
        let reply = self
            .client
            .call(&DELETE, request, |ch, r| async move { Stub::new(ch).delete(r).await })
            .await?;
        let hint = poll_interval(reply.metadata());
        Ok(Operation::new(self.client.clone(), reply.into_inner(), hint))
    }
}
