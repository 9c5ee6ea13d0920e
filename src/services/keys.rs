//! `yandex.cloud.iam.v1.KeyService`: authorized keys (RSA key pairs whose private key signs the
//! JWT exchanged for IAM tokens), with the create that is safe to retry (`create_once.rs`).

use futures_util::TryStreamExt as _;
use secrecy::SecretString;

use crate::{
    Client, Error, ErrorKind, Operation, Paginator,
    client::{Method, ServiceId},
    proto::yandex::cloud::iam::v1::{
        CreateKeyRequest, CreateKeyResponse, DeleteKeyMetadata, DeleteKeyRequest, GetKeyRequest, Key, ListKeysRequest,
        UpdateKeyMetadata, UpdateKeyRequest, key, key_service_client::KeyServiceClient as Stub,
    },
};

use super::create_once::{KeyService, create_once};
use super::update_mask::{Update, UpdateRequest};

const GET: Method = Method::read(ServiceId::Iam, "cannot get authorized key");
const LIST: Method = Method::read(ServiceId::Iam, "cannot list authorized keys");
const CREATE: Method = Method::mutate(ServiceId::Iam, "cannot create authorized key");
const UPDATE: Method = Method::mutate(ServiceId::Iam, "cannot update authorized key");
const DELETE: Method = Method::mutate(ServiceId::Iam, "cannot delete authorized key");

/// Authorized keys: `client.keys()`.
#[derive(Debug, Clone)]
pub struct Keys {
    client: Client,
}

/// The request to create an authorized key for a service account.
#[derive(Debug, Clone)]
pub struct CreateKey {
    request: CreateKeyRequest,
}

impl CreateKey {
    /// An RSA-2048 key for service account `service_account_id`.
    pub fn new(service_account_id: impl Into<String>) -> Self {
        CreateKey {
            request: CreateKeyRequest {
                service_account_id: service_account_id.into(),
                key_algorithm: key::Algorithm::Rsa2048 as i32,
                ..Default::default()
            },
        }
    }

    /// The key pair's algorithm (RSA-2048 unless set).
    pub fn algorithm(mut self, algorithm: key::Algorithm) -> Self {
        self.request.key_algorithm = algorithm as i32;
        self
    }

    /// The description (up to 256 characters).
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.request.description = description.into();
        self
    }

    /// The wire request.
    pub fn into_request(self) -> CreateKeyRequest {
        self.request
    }
}

/// A new authorized key and its private key, which the API shows only once. `Debug` hides the
/// private key.
#[derive(Debug, Clone)]
pub struct CreatedKey {
    /// The key (id, service account, algorithm, public key, ...).
    pub key: Key,
    /// The private key as the API returns it: Yandex's `PLEASE DO NOT REMOVE THIS LINE!` line,
    /// then the PEM.
    pub private_key: SecretString,
}

/// The request to change an authorized key; only the fields set are changed.
#[derive(Debug, Clone)]
pub struct UpdateKey(Update<UpdateKeyRequest>);

impl UpdateRequest for UpdateKeyRequest {
    fn update_mask(&mut self) -> &mut Option<prost_types::FieldMask> {
        &mut self.update_mask
    }
}

impl UpdateKey {
    /// A change to authorized key `id`.
    pub fn new(id: impl Into<String>) -> Self {
        UpdateKey(Update::new(UpdateKeyRequest {
            key_id: id.into(),
            ..Default::default()
        }))
    }

    /// A new description.
    pub fn description(self, description: impl Into<String>) -> Self {
        Self(self.0.set("description", |r| r.description = description.into()))
    }

    /// The wire request (with its field mask).
    pub fn into_request(self) -> UpdateKeyRequest {
        self.0.into_request()
    }
}

/// The key and its private key, taken out of the reply so that no plain copy is left.
fn take_created(reply: &mut CreateKeyResponse) -> Result<CreatedKey, Error> {
    let private_key = crate::secret::take(&mut reply.private_key);
    let Some(key) = reply.key.take() else {
        return Err(Error::new(ErrorKind::Other, CREATE.what, "the answer holds no key"));
    };
    Ok(CreatedKey { key, private_key })
}

impl Keys {
    pub(crate) fn new(client: Client) -> Self {
        Keys { client }
    }

    /// The authorized key with this id (its public key included).
    pub async fn get(&self, id: impl Into<String>) -> Result<Key, Error> {
        let request = GetKeyRequest {
            key_id: id.into(),
            ..Default::default()
        };
        call!(self, GET, request, get)
    }

    /// Every authorized key of a service account, as a stream.
    pub fn list(&self, service_account_id: impl Into<String>) -> Paginator<Key> {
        let request = ListKeysRequest {
            service_account_id: service_account_id.into(),
            ..Default::default()
        };
        self.client
            .paginate(LIST, request, |ch, r| async move { Stub::new(ch).list(r).await })
    }

    /// Creates an authorized key and returns it with its private key.
    ///
    /// Safe to retry, like [`ApiKeys::create`](crate::ApiKeys::create): a retried call leaves
    /// exactly one new key, the one whose private key the caller holds.
    pub async fn create(&self, request: CreateKey) -> Result<CreatedKey, Error> {
        let rpc = |ch, r| async move { Stub::new(ch).create(r).await };
        create_once(
            self,
            &self.client,
            &CREATE,
            request.into_request(),
            rpc,
            take_created,
            |c| &c.key,
        )
        .await
    }

    /// Changes an authorized key.
    pub async fn update(&self, request: UpdateKey) -> Result<Operation<Key, UpdateKeyMetadata>, Error> {
        operation!(self, UPDATE, request.into_request(), update)
    }

    /// Deletes an authorized key.
    pub async fn delete(&self, id: impl Into<String>) -> Result<Operation<(), DeleteKeyMetadata>, Error> {
        let request = DeleteKeyRequest { key_id: id.into() };
        operation!(self, DELETE, request, delete)
    }
}

impl KeyService for Keys {
    type Request = CreateKeyRequest;
    type Key = Key;

    fn owner(request: &CreateKeyRequest) -> &str {
        &request.service_account_id
    }

    fn id(key: &Key) -> &str {
        &key.id
    }

    fn created_at(key: &Key) -> Option<&prost_types::Timestamp> {
        key.created_at.as_ref()
    }

    fn made_by(request: &CreateKeyRequest, key: &Key) -> bool {
        // An unspecified algorithm is made as RSA-2048.
        let wanted = match key::Algorithm::try_from(request.key_algorithm) {
            Ok(key::Algorithm::Unspecified) => key::Algorithm::Rsa2048 as i32,
            _ => request.key_algorithm,
        };
        key.description == request.description && key.key_algorithm == wanted
    }

    async fn keys_of(&self, service_account_id: &str) -> Result<Vec<Key>, Error> {
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
    fn the_private_key_is_taken_out_of_the_reply_not_copied() {
        let mut reply = CreateKeyResponse {
            key: Some(Key {
                id: "ajekey".into(),
                ..Default::default()
            }),
            private_key: "PLEASE DO NOT REMOVE THIS LINE!\n-----BEGIN PRIVATE KEY-----".into(),
        };
        let created = take_created(&mut reply).expect("a key");
        assert!(
            created
                .private_key
                .expose_secret()
                .ends_with("-----BEGIN PRIVATE KEY-----")
        );
        assert_eq!(reply.private_key, "", "the reply still holds a copy of the private key");
        assert!(!format!("{created:?}").contains("BEGIN"));
    }
}
