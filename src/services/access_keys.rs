//! `yandex.cloud.iam.v1.awscompatibility.AccessKeyService`: static access keys, the AWS-compatible
//! credentials of Object Storage and the other S3/SQS-like services, with the create that is safe
//! to retry (`create_once.rs`).

use futures_util::TryStreamExt as _;
use secrecy::SecretString;

use crate::{
    Client, Error, ErrorKind, Operation, Paginator,
    client::{Method, ServiceId},
    proto::yandex::cloud::iam::v1::awscompatibility::{
        AccessKey, CreateAccessKeyRequest, CreateAccessKeyResponse, DeleteAccessKeyMetadata, DeleteAccessKeyRequest,
        GetAccessKeyRequest, ListAccessKeysRequest, UpdateAccessKeyMetadata, UpdateAccessKeyRequest,
        access_key_service_client::AccessKeyServiceClient as Stub,
    },
};

use super::create_once::{KeyService, create_once};
use super::update_mask::{Update, UpdateRequest};

const GET: Method = Method::read(ServiceId::Iam, "cannot get access key");
const LIST: Method = Method::read(ServiceId::Iam, "cannot list access keys");
const CREATE: Method = Method::mutate(ServiceId::Iam, "cannot create access key");
const UPDATE: Method = Method::mutate(ServiceId::Iam, "cannot update access key");
const DELETE: Method = Method::mutate(ServiceId::Iam, "cannot delete access key");

/// Static access keys: `client.access_keys()`.
#[derive(Debug, Clone)]
pub struct AccessKeys {
    client: Client,
}

/// The request to create a static access key for a service account.
#[derive(Debug, Clone)]
pub struct CreateAccessKey {
    request: CreateAccessKeyRequest,
}

impl CreateAccessKey {
    /// A key for service account `service_account_id`.
    pub fn new(service_account_id: impl Into<String>) -> Self {
        CreateAccessKey {
            request: CreateAccessKeyRequest {
                service_account_id: service_account_id.into(),
                ..Default::default()
            },
        }
    }

    /// The description (up to 256 characters).
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.request.description = description.into();
        self
    }

    /// The wire request.
    pub fn into_request(self) -> CreateAccessKeyRequest {
        self.request
    }
}

/// A new static access key and its secret access key, which the API shows only once. `Debug`
/// hides the secret.
#[derive(Debug, Clone)]
pub struct CreatedAccessKey {
    /// The key: its resource `id`, and `key_id`, the access key id AWS clients send.
    pub access_key: AccessKey,
    /// The secret access key.
    pub secret: SecretString,
}

/// The request to change a static access key; only the fields set are changed.
#[derive(Debug, Clone)]
pub struct UpdateAccessKey(Update<UpdateAccessKeyRequest>);

impl UpdateRequest for UpdateAccessKeyRequest {
    fn update_mask(&mut self) -> &mut Option<prost_types::FieldMask> {
        &mut self.update_mask
    }
}

impl UpdateAccessKey {
    /// A change to the access key whose resource id is `id`.
    pub fn new(id: impl Into<String>) -> Self {
        UpdateAccessKey(Update::new(UpdateAccessKeyRequest {
            access_key_id: id.into(),
            ..Default::default()
        }))
    }

    /// A new description.
    pub fn description(self, description: impl Into<String>) -> Self {
        Self(self.0.set("description", |r| r.description = description.into()))
    }

    /// The wire request (with its field mask).
    pub fn into_request(self) -> UpdateAccessKeyRequest {
        self.0.into_request()
    }
}

/// The key and its secret, taken out of the reply so that no plain copy is left.
fn take_created(reply: &mut CreateAccessKeyResponse) -> Result<CreatedAccessKey, Error> {
    let secret = crate::secret::take(&mut reply.secret);
    let Some(access_key) = reply.access_key.take() else {
        return Err(Error::new(
            ErrorKind::Other,
            CREATE.what,
            "the answer holds no access key",
        ));
    };
    Ok(CreatedAccessKey { access_key, secret })
}

impl AccessKeys {
    pub(crate) fn new(client: Client) -> Self {
        AccessKeys { client }
    }

    /// The access key whose resource id is `id` (not its AWS `key_id`).
    pub async fn get(&self, id: impl Into<String>) -> Result<AccessKey, Error> {
        let request = GetAccessKeyRequest {
            access_key_id: id.into(),
        };
        call!(self, GET, request, get)
    }

    /// Every static access key of a service account, as a stream.
    pub fn list(&self, service_account_id: impl Into<String>) -> Paginator<AccessKey> {
        let request = ListAccessKeysRequest {
            service_account_id: service_account_id.into(),
            ..Default::default()
        };
        self.client
            .paginate(LIST, request, |ch, r| async move { Stub::new(ch).list(r).await })
    }

    /// Creates a static access key and returns it with its secret.
    ///
    /// Safe to retry, like [`ApiKeys::create`](crate::ApiKeys::create): a retried call leaves
    /// exactly one new key, the one whose secret the caller holds.
    pub async fn create(&self, request: CreateAccessKey) -> Result<CreatedAccessKey, Error> {
        let rpc = |ch, r| async move { Stub::new(ch).create(r).await };
        let request = request.into_request();
        create_once(self, &self.client, &CREATE, request, rpc, take_created, |c| {
            &c.access_key
        })
        .await
    }

    /// Changes a static access key.
    pub async fn update(
        &self,
        request: UpdateAccessKey,
    ) -> Result<Operation<AccessKey, UpdateAccessKeyMetadata>, Error> {
        operation!(self, UPDATE, request.into_request(), update)
    }

    /// Deletes the static access key whose resource id is `id`.
    pub async fn delete(&self, id: impl Into<String>) -> Result<Operation<(), DeleteAccessKeyMetadata>, Error> {
        let request = DeleteAccessKeyRequest {
            access_key_id: id.into(),
        };
        operation!(self, DELETE, request, delete)
    }
}

impl KeyService for AccessKeys {
    type Request = CreateAccessKeyRequest;
    type Key = AccessKey;

    fn owner(request: &CreateAccessKeyRequest) -> &str {
        &request.service_account_id
    }

    fn id(key: &AccessKey) -> &str {
        &key.id
    }

    fn created_at(key: &AccessKey) -> Option<&prost_types::Timestamp> {
        key.created_at.as_ref()
    }

    fn made_by(request: &CreateAccessKeyRequest, key: &AccessKey) -> bool {
        key.description == request.description
    }

    async fn keys_of(&self, service_account_id: &str) -> Result<Vec<AccessKey>, Error> {
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
        let mut reply = CreateAccessKeyResponse {
            access_key: Some(AccessKey {
                id: "ajekey".into(),
                key_id: "YCAJEexample".into(),
                ..Default::default()
            }),
            secret: "YCsecretvalue".into(),
        };
        let created = take_created(&mut reply).expect("a key");
        assert_eq!(created.secret.expose_secret(), "YCsecretvalue");
        assert_eq!(reply.secret, "", "the reply still holds a copy of the secret");
        assert!(!format!("{created:?}").contains("YCsecretvalue"));
    }
}
