//! The three kinds of key a service account has, as [`AccountKeys`] sends them: each kind's
//! messages and RPCs, its new key with the secret the API shows once, and the request fields only
//! it has. `yandex.cloud.iam.v1.ApiKeyService` (API keys), `KeyService` (authorized keys: RSA key
//! pairs whose private key signs the JWT exchanged for IAM tokens) and
//! `awscompatibility.AccessKeyService` (static access keys, the AWS-compatible credentials of
//! Object Storage and the other S3/SQS-like services).

use prost_types::Timestamp;
use secrecy::SecretString;
use tonic::transport::Channel;

use super::account_keys::{AccountKey, AccountKeys, CreateAccountKey, KeyMethods, Sealed, UpdateAccountKey};
use crate::{
    Error, ErrorKind, Paginator,
    client::{Method, ServiceId, validate},
    proto::yandex::cloud::iam::v1::{
        ApiKey, CreateApiKeyRequest, CreateApiKeyResponse, CreateKeyRequest, CreateKeyResponse, DeleteApiKeyMetadata,
        DeleteApiKeyRequest, DeleteKeyMetadata, DeleteKeyRequest, GetApiKeyRequest, GetKeyRequest, Key,
        ListApiKeyScopesRequest, ListApiKeysRequest, ListApiKeysResponse, ListKeysRequest, ListKeysResponse,
        UpdateApiKeyMetadata, UpdateApiKeyRequest, UpdateKeyMetadata, UpdateKeyRequest,
        api_key_service_client::ApiKeyServiceClient,
        awscompatibility::{
            AccessKey, CreateAccessKeyRequest, CreateAccessKeyResponse, DeleteAccessKeyMetadata,
            DeleteAccessKeyRequest, GetAccessKeyRequest, ListAccessKeysRequest, ListAccessKeysResponse,
            UpdateAccessKeyMetadata, UpdateAccessKeyRequest, access_key_service_client::AccessKeyServiceClient,
        },
        key,
        key_service_client::KeyServiceClient,
    },
    proto::yandex::cloud::operation::Operation as RawOperation,
};

use super::update_mask::update_request;

type RpcResult<T> = Result<tonic::Response<T>, tonic::Status>;

/// API keys: `client.api_keys()`.
pub type ApiKeys = AccountKeys<ApiKey>;
/// Authorized keys: `client.keys()`.
pub type Keys = AccountKeys<Key>;
/// Static access keys: `client.access_keys()`.
pub type AccessKeys = AccountKeys<AccessKey>;

/// The request to create an API key for a service account.
pub type CreateApiKey = CreateAccountKey<ApiKey>;
/// The request to create an authorized key (RSA-2048 unless set) for a service account.
pub type CreateKey = CreateAccountKey<Key>;
/// The request to create a static access key for a service account.
pub type CreateAccessKey = CreateAccountKey<AccessKey>;

/// The request to change an API key; only the fields set are changed.
pub type UpdateApiKey = UpdateAccountKey<ApiKey>;
/// The request to change an authorized key; only the fields set are changed.
pub type UpdateKey = UpdateAccountKey<Key>;
/// The request to change a static access key (by its resource id); only the fields set are
/// changed.
pub type UpdateAccessKey = UpdateAccountKey<AccessKey>;

/// A new API key and its secret, which the API shows only once. `Debug` hides the secret.
#[derive(Debug, Clone)]
pub struct CreatedApiKey {
    /// The key (id, service account, scopes, masked secret, ...).
    pub api_key: ApiKey,
    /// The secret, sent as `Authorization: Api-Key <secret>`.
    pub secret: SecretString,
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

/// A new static access key and its secret access key, which the API shows only once. `Debug`
/// hides the secret.
#[derive(Debug, Clone)]
pub struct CreatedAccessKey {
    /// The key: its resource `id`, and `key_id`, the access key id AWS clients send.
    pub access_key: AccessKey,
    /// The secret access key.
    pub secret: SecretString,
}

impl CreateApiKey {
    /// The scopes the key may be used for, e.g. `yc.ai.languageModels.execute`.
    pub fn scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.request.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// When the key expires (a `SystemTime` or a proto `Timestamp`).
    pub fn expires_at(mut self, at: impl Into<Timestamp>) -> Self {
        self.request.expires_at = Some(at.into());
        self
    }
}

impl UpdateApiKey {
    /// New scopes (replacing all).
    pub fn scopes<S: Into<String>>(self, scopes: impl IntoIterator<Item = S>) -> Self {
        Self(
            self.0
                .set("scopes", |r| r.scopes = scopes.into_iter().map(Into::into).collect()),
        )
    }

    /// A new expiry.
    pub fn expires_at(self, at: impl Into<Timestamp>) -> Self {
        Self(self.0.set("expires_at", |r| r.expires_at = Some(at.into())))
    }
}

impl CreateKey {
    /// The key pair's algorithm (RSA-2048 unless set).
    pub fn algorithm(mut self, algorithm: key::Algorithm) -> Self {
        self.request.key_algorithm = algorithm as i32;
        self
    }
}

const LIST_SCOPES: Method = Method::read(ServiceId::Iam, "cannot list api key scopes");

impl ApiKeys {
    /// Every scope an API key may be given, as a stream.
    pub fn list_scopes(&self) -> Paginator<String> {
        list!(
            self,
            LIST_SCOPES,
            ListApiKeyScopesRequest::default(),
            ApiKeyServiceClient::list_scopes
        )
    }
}

/// The error of a reply that holds no key.
fn no_key(kind: &KeyMethods, what: &str) -> Error {
    Error::new(ErrorKind::Other, kind.create.what, what)
}

/// The items of an [`AccountKey`] impl that differ between the kinds only in names: the calls as
/// errors name them (`$noun`), the requests that carry only the key's id (the field `$id`) or
/// its owner, the five RPCs of the kind's generated client, and the fields every kind of key
/// and request has.
macro_rules! alike_in_every_kind {
    ($client:ident, $id:ident, $noun:literal $(, create { $($field:ident: $value:expr),* })?) => {
        const METHODS: KeyMethods = KeyMethods {
            get: Method::read(ServiceId::Iam, concat!("cannot get ", $noun)),
            list: Method::read(ServiceId::Iam, concat!("cannot list ", $noun, "s")),
            create: Method::mutate(ServiceId::Iam, concat!("cannot create ", $noun)),
            update: Method::mutate(ServiceId::Iam, concat!("cannot update ", $noun)),
            delete: Method::mutate(ServiceId::Iam, concat!("cannot delete ", $noun)),
        };

        #[allow(clippy::needless_update)]
        fn get_request($id: String) -> Self::GetRequest {
            Self::GetRequest { $id, ..Default::default() }
        }

        fn list_request(service_account_id: String) -> Self::ListRequest {
            Self::ListRequest { service_account_id, ..Default::default() }
        }

        fn create_request(service_account_id: String) -> Self::CreateRequest {
            Self::CreateRequest { service_account_id, $($($field: $value,)*)? ..Default::default() }
        }

        fn update_request($id: String) -> Self::UpdateRequest {
            Self::UpdateRequest { $id, ..Default::default() }
        }

        fn delete_request($id: String) -> Self::DeleteRequest {
            Self::DeleteRequest { $id }
        }

        async fn get(ch: Channel, r: tonic::Request<Self::GetRequest>) -> RpcResult<Self> {
            $client::new(ch).get(r).await
        }

        async fn list(ch: Channel, r: tonic::Request<Self::ListRequest>) -> RpcResult<Self::ListResponse> {
            $client::new(ch).list(r).await
        }

        async fn create(ch: Channel, r: tonic::Request<Self::CreateRequest>) -> RpcResult<Self::CreateResponse> {
            $client::new(ch).create(r).await
        }

        async fn update(ch: Channel, r: tonic::Request<Self::UpdateRequest>) -> RpcResult<RawOperation> {
            $client::new(ch).update(r).await
        }

        async fn delete(ch: Channel, r: tonic::Request<Self::DeleteRequest>) -> RpcResult<RawOperation> {
            $client::new(ch).delete(r).await
        }

        fn owner(request: &Self::CreateRequest) -> &str {
            &request.service_account_id
        }

        fn id(&self) -> &str {
            &self.id
        }

        fn created_at(&self) -> Option<&Timestamp> {
            self.created_at.as_ref()
        }

        fn create_description(request: &mut Self::CreateRequest) -> &mut String {
            &mut request.description
        }

        fn update_description(request: &mut Self::UpdateRequest) -> &mut String {
            &mut request.description
        }
    };
}

impl Sealed for ApiKey {}

impl AccountKey for ApiKey {
    type Created = CreatedApiKey;
    type UpdateMetadata = UpdateApiKeyMetadata;
    type DeleteMetadata = DeleteApiKeyMetadata;
    type GetRequest = GetApiKeyRequest;
    type ListRequest = ListApiKeysRequest;
    type ListResponse = ListApiKeysResponse;
    type CreateRequest = CreateApiKeyRequest;
    type CreateResponse = CreateApiKeyResponse;
    type UpdateRequest = UpdateApiKeyRequest;
    type DeleteRequest = DeleteApiKeyRequest;

    alike_in_every_kind!(ApiKeyServiceClient, api_key_id, "api key");

    fn take_created(reply: &mut CreateApiKeyResponse) -> Result<CreatedApiKey, Error> {
        let secret = crate::secret::take(&mut reply.secret);
        let api_key = reply
            .api_key
            .take()
            .ok_or_else(|| no_key(&Self::METHODS, "the answer holds no api key"))?;
        Ok(CreatedApiKey { api_key, secret })
    }

    fn key_of(created: &CreatedApiKey) -> &ApiKey {
        &created.api_key
    }

    fn made_by(&self, request: &CreateApiKeyRequest) -> bool {
        self.description == request.description
            && self.scopes == request.scopes
            // The server may store the expiry with less precision than was sent.
            && self.expires_at.as_ref().map(|t| t.seconds) == request.expires_at.as_ref().map(|t| t.seconds)
    }

    /// The API's rules ask for one to a hundred scopes in every update, even one whose mask
    /// leaves them out; when the request does not change the scopes, the current ones are read
    /// first and sent unchanged. A key made without scopes (the create allows none; older keys
    /// carry at most the deprecated `scope`) has none to send: that `scope`, else a stand-in,
    /// fills the field, which the mask keeps the server from applying.
    async fn complete_update(keys: &ApiKeys, request: &mut UpdateApiKeyRequest) -> Result<(), Error> {
        let touches_scopes = request
            .update_mask
            .as_ref()
            .is_some_and(|m| m.paths.iter().any(|p| p == "scopes"));
        if !touches_scopes && request.scopes.is_empty() {
            // Check everything else before reading anything.
            let mut probe = request.clone();
            probe.scopes = vec!["unchanged".to_owned()];
            validate(&Self::METHODS.update, &probe)?;
            let key = keys.get(request.api_key_id.clone()).await?;
            request.scopes = scopes_to_resend(key);
        }
        Ok(())
    }
}

/// The scopes an update that leaves them alone sends for `key` (see `complete_update`).
#[allow(deprecated)]
fn scopes_to_resend(key: ApiKey) -> Vec<String> {
    if !key.scopes.is_empty() {
        key.scopes
    } else if !key.scope.is_empty() {
        vec![key.scope]
    } else {
        // Any scope the API knows: it only satisfies the rule, since the mask leaves it out.
        vec![crate::provision::DEFAULT_SCOPE.to_owned()]
    }
}

impl Sealed for Key {}

impl AccountKey for Key {
    type Created = CreatedKey;
    type UpdateMetadata = UpdateKeyMetadata;
    type DeleteMetadata = DeleteKeyMetadata;
    type GetRequest = GetKeyRequest;
    type ListRequest = ListKeysRequest;
    type ListResponse = ListKeysResponse;
    type CreateRequest = CreateKeyRequest;
    type CreateResponse = CreateKeyResponse;
    type UpdateRequest = UpdateKeyRequest;
    type DeleteRequest = DeleteKeyRequest;

    alike_in_every_kind!(
        KeyServiceClient,
        key_id,
        "authorized key",
        create {
            key_algorithm: key::Algorithm::Rsa2048 as i32
        }
    );

    fn take_created(reply: &mut CreateKeyResponse) -> Result<CreatedKey, Error> {
        let private_key = crate::secret::take(&mut reply.private_key);
        let key = reply
            .key
            .take()
            .ok_or_else(|| no_key(&Self::METHODS, "the answer holds no key"))?;
        Ok(CreatedKey { key, private_key })
    }

    fn key_of(created: &CreatedKey) -> &Key {
        &created.key
    }

    fn made_by(&self, request: &CreateKeyRequest) -> bool {
        // An unspecified algorithm is made as RSA-2048.
        let wanted = match key::Algorithm::try_from(request.key_algorithm) {
            Ok(key::Algorithm::Unspecified) => key::Algorithm::Rsa2048 as i32,
            _ => request.key_algorithm,
        };
        self.description == request.description && self.key_algorithm == wanted
    }
}

impl Sealed for AccessKey {}

impl AccountKey for AccessKey {
    type Created = CreatedAccessKey;
    type UpdateMetadata = UpdateAccessKeyMetadata;
    type DeleteMetadata = DeleteAccessKeyMetadata;
    type GetRequest = GetAccessKeyRequest;
    type ListRequest = ListAccessKeysRequest;
    type ListResponse = ListAccessKeysResponse;
    type CreateRequest = CreateAccessKeyRequest;
    type CreateResponse = CreateAccessKeyResponse;
    type UpdateRequest = UpdateAccessKeyRequest;
    type DeleteRequest = DeleteAccessKeyRequest;

    alike_in_every_kind!(AccessKeyServiceClient, access_key_id, "access key");

    fn take_created(reply: &mut CreateAccessKeyResponse) -> Result<CreatedAccessKey, Error> {
        let secret = crate::secret::take(&mut reply.secret);
        let access_key =
            (reply.access_key.take()).ok_or_else(|| no_key(&Self::METHODS, "the answer holds no access key"))?;
        Ok(CreatedAccessKey { access_key, secret })
    }

    fn key_of(created: &CreatedAccessKey) -> &AccessKey {
        &created.access_key
    }

    fn made_by(&self, request: &CreateAccessKeyRequest) -> bool {
        self.description == request.description
    }
}

update_request!(UpdateApiKeyRequest);
update_request!(UpdateKeyRequest);
update_request!(UpdateAccessKeyRequest);

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret as _;

    use super::*;

    #[test]
    fn the_api_key_secret_is_taken_out_of_the_reply_not_copied() {
        let mut reply = CreateApiKeyResponse {
            api_key: Some(ApiKey {
                id: "ajekey".into(),
                ..Default::default()
            }),
            secret: "AQVNsecret".into(),
        };
        let created = ApiKey::take_created(&mut reply).expect("a key");
        assert_eq!(created.secret.expose_secret(), "AQVNsecret");
        assert_eq!(reply.secret, "", "the reply still holds a copy of the secret");
        assert!(!format!("{created:?}").contains("AQVNsecret"));
    }

    #[test]
    fn the_private_key_is_taken_out_of_the_reply_not_copied() {
        let mut reply = CreateKeyResponse {
            key: Some(Key {
                id: "ajekey".into(),
                ..Default::default()
            }),
            private_key: "PLEASE DO NOT REMOVE THIS LINE!\n-----BEGIN PRIVATE KEY-----".into(),
        };
        let created = Key::take_created(&mut reply).expect("a key");
        assert!(
            created
                .private_key
                .expose_secret()
                .ends_with("-----BEGIN PRIVATE KEY-----")
        );
        assert_eq!(reply.private_key, "", "the reply still holds a copy of the private key");
        assert!(!format!("{created:?}").contains("BEGIN"));
    }

    #[test]
    fn the_access_key_secret_is_taken_out_of_the_reply_not_copied() {
        let mut reply = CreateAccessKeyResponse {
            access_key: Some(AccessKey {
                id: "ajekey".into(),
                key_id: "YCAJEexample".into(),
                ..Default::default()
            }),
            secret: "YCsecretvalue".into(),
        };
        let created = AccessKey::take_created(&mut reply).expect("a key");
        assert_eq!(created.secret.expose_secret(), "YCsecretvalue");
        assert_eq!(reply.secret, "", "the reply still holds a copy of the secret");
        assert!(!format!("{created:?}").contains("YCsecretvalue"));
    }
}
