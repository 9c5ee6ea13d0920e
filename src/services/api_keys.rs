//! `yandex.cloud.iam.v1.ApiKeyService`, with the create that is safe to retry
//! (`create_once.rs`).

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

use super::create_once::{KeyService, create_once};
use super::update_mask::{Update, UpdateRequest};

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
pub struct UpdateApiKey(Update<UpdateApiKeyRequest>);

impl UpdateRequest for UpdateApiKeyRequest {
    fn update_mask(&mut self) -> &mut Option<prost_types::FieldMask> {
        &mut self.update_mask
    }
}

impl UpdateApiKey {
    /// A change to API key `id`.
    pub fn new(id: impl Into<String>) -> Self {
        UpdateApiKey(Update::new(UpdateApiKeyRequest {
            api_key_id: id.into(),
            ..Default::default()
        }))
    }

    /// A new description.
    pub fn description(self, description: impl Into<String>) -> Self {
        Self(self.0.set("description", |r| r.description = description.into()))
    }

    /// New scopes (replacing all).
    pub fn scopes<S: Into<String>>(self, scopes: impl IntoIterator<Item = S>) -> Self {
        Self(
            self.0
                .set("scopes", |r| r.scopes = scopes.into_iter().map(Into::into).collect()),
        )
    }

    /// A new expiry.
    pub fn expires_at(self, at: impl Into<prost_types::Timestamp>) -> Self {
        Self(self.0.set("expires_at", |r| r.expires_at = Some(at.into())))
    }

    /// The wire request (with its field mask).
    pub fn into_request(self) -> UpdateApiKeyRequest {
        self.0.into_request()
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
        call!(self, GET, request, get)
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
        let rpc = |ch, r| async move { Stub::new(ch).create(r).await };
        create_once(
            self,
            &self.client,
            &CREATE,
            request.into_request(),
            rpc,
            take_created,
            |c| &c.api_key,
        )
        .await
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
        operation!(self, UPDATE, request, update)
    }

    /// Deletes an API key.
    pub async fn delete(&self, id: impl Into<String>) -> Result<Operation<(), DeleteApiKeyMetadata>, Error> {
        let request = DeleteApiKeyRequest { api_key_id: id.into() };
        operation!(self, DELETE, request, delete)
    }
}

impl KeyService for ApiKeys {
    type Request = CreateApiKeyRequest;
    type Key = ApiKey;

    fn owner(request: &CreateApiKeyRequest) -> &str {
        &request.service_account_id
    }

    fn id(key: &ApiKey) -> &str {
        &key.id
    }

    fn created_at(key: &ApiKey) -> Option<&prost_types::Timestamp> {
        key.created_at.as_ref()
    }

    fn made_by(request: &CreateApiKeyRequest, key: &ApiKey) -> bool {
        key.description == request.description
            && key.scopes == request.scopes
            // The server may store the expiry with less precision than was sent.
            && key.expires_at.as_ref().map(|t| t.seconds) == request.expires_at.as_ref().map(|t| t.seconds)
    }

    async fn keys_of(&self, service_account_id: &str) -> Result<Vec<ApiKey>, Error> {
        self.list(service_account_id).try_collect().await
    }

    async fn delete_and_wait(&self, id: &str) -> Result<(), Error> {
        self.delete(id).await?.wait().await
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
