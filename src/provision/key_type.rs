//! The three kinds of key a service account has, and what the flow does with each through the
//! API: list a service account's keys as [`ManagedKey`]s, create one, delete one. Everything
//! else in the flow (plan, apply, sinks, markers) is the same for every kind.

use futures_util::TryStreamExt as _;
use serde::Deserialize;

use crate::model::{AccessKey, ApiKey, Key, KeySubject, Timestamp};
use crate::{Client, CreateAccessKey, CreateApiKey, CreateKey, Error};

/// The three kinds of key a service account has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyType {
    /// `ApiKeyService`: a secret sent as `Api-Key`, limited to scopes, optionally expiring.
    #[default]
    ApiKey,
    /// `KeyService`: an RSA key pair whose private key signs the JWTs exchanged for IAM tokens
    /// (the `key.json` of `yc iam key create`).
    AuthorizedKey,
    /// `awscompatibility.AccessKeyService`: an AWS-compatible access key id and secret.
    StaticKey,
}

/// The RSA key sizes of authorized keys.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub enum KeyAlgorithm {
    /// RSA with a 2048-bit modulus (the default).
    #[default]
    #[serde(rename = "rsa-2048")]
    Rsa2048,
    /// RSA with a 4096-bit modulus.
    #[serde(rename = "rsa-4096")]
    Rsa4096,
}

impl KeyType {
    /// Every kind, in the order an inventory lists them.
    pub const ALL: [KeyType; 3] = [KeyType::ApiKey, KeyType::AuthorizedKey, KeyType::StaticKey];

    /// `api-key`, `authorized-key` or `static-key`, as the CLI and manifests name it.
    pub fn name(self) -> &'static str {
        match self {
            KeyType::ApiKey => "api-key",
            KeyType::AuthorizedKey => "authorized-key",
            KeyType::StaticKey => "static-key",
        }
    }

    /// The kind named `api-key`, `authorized-key` or `static-key`.
    pub fn from_name(name: &str) -> Option<KeyType> {
        KeyType::ALL.into_iter().find(|k| k.name() == name)
    }

    /// A phrase for people: `API key`, `authorized key`, `static access key`.
    pub fn describe(self) -> &'static str {
        match self {
            KeyType::ApiKey => "API key",
            KeyType::AuthorizedKey => "authorized key",
            KeyType::StaticKey => "static access key",
        }
    }

    /// The keys of this kind a service account has.
    pub(crate) async fn list(self, client: &Client, service_account_id: &str) -> Result<Vec<ManagedKey>, Error> {
        Ok(match self {
            KeyType::ApiKey => {
                let keys: Vec<ApiKey> = client.api_keys().list(service_account_id).try_collect().await?;
                keys.iter().map(ManagedKey::from).collect()
            }
            KeyType::AuthorizedKey => {
                let keys: Vec<Key> = client.keys().list(service_account_id).try_collect().await?;
                keys.iter().map(ManagedKey::from).collect()
            }
            KeyType::StaticKey => {
                let keys: Vec<AccessKey> = client.access_keys().list(service_account_id).try_collect().await?;
                keys.iter().map(ManagedKey::from).collect()
            }
        })
    }

    /// Sets the description of the key with this (resource) id and waits; a key already gone
    /// counts as done.
    pub(crate) async fn describe_key(self, client: &Client, id: &str, description: String) -> Result<(), Error> {
        use crate::{UpdateAccessKey, UpdateApiKey, UpdateKey};
        unless_gone(match self {
            KeyType::ApiKey => {
                let update = UpdateApiKey::new(id).description(description);
                async { client.api_keys().update(update).await?.wait().await.map(drop) }.await
            }
            KeyType::AuthorizedKey => {
                let update = UpdateKey::new(id).description(description);
                async { client.keys().update(update).await?.wait().await.map(drop) }.await
            }
            KeyType::StaticKey => {
                let update = UpdateAccessKey::new(id).description(description);
                async { client.access_keys().update(update).await?.wait().await.map(drop) }.await
            }
        })
    }

    /// Deletes the key with this (resource) id and waits; a key already gone counts as deleted.
    pub(crate) async fn delete(self, client: &Client, id: &str) -> Result<(), Error> {
        unless_gone(match self {
            KeyType::ApiKey => async { client.api_keys().delete(id).await?.wait().await }.await,
            KeyType::AuthorizedKey => async { client.keys().delete(id).await?.wait().await }.await,
            KeyType::StaticKey => async { client.access_keys().delete(id).await?.wait().await }.await,
        })
    }
}

/// A change to a key that is already gone (the call or its operation answered NOT_FOUND) has
/// nothing left to do.
fn unless_gone(result: Result<(), Error>) -> Result<(), Error> {
    match result {
        Err(e) if e.kind() == crate::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

impl std::fmt::Display for KeyType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What a new key is made with: the request fields every kind shares and those of one kind.
pub(super) struct NewKey<'a> {
    pub(super) service_account_id: &'a str,
    pub(super) description: String,
    pub(super) scopes: Vec<String>,
    pub(super) expires_at: Option<Timestamp>,
    pub(super) algorithm: KeyAlgorithm,
    /// The keys the account had before (never deleted by the create, see `create_once`).
    pub(super) existing: &'a [String],
}

impl NewKey<'_> {
    /// Creates the key (safe to retry, see `create_once`) and returns it with its secret.
    pub(super) async fn create(self, kind: KeyType, client: &Client) -> Result<(ManagedKey, super::IssuedKey), Error> {
        use super::issued::{AuthorizedKeyFile, StaticKey};
        Ok(match kind {
            KeyType::ApiKey => {
                let mut request = CreateApiKey::new(self.service_account_id)
                    .scopes(self.scopes)
                    .description(self.description)
                    .existing_keys(self.existing);
                if let Some(at) = self.expires_at {
                    request = request.expires_at(at);
                }
                let created = client.api_keys().create(request).await?;
                let managed = ManagedKey::from(&created.api_key);
                (
                    managed,
                    super::IssuedKey::Api(super::stored_from(&created.api_key, created.secret)),
                )
            }
            KeyType::AuthorizedKey => {
                let algorithm = match self.algorithm {
                    KeyAlgorithm::Rsa2048 => crate::model::KeyAlgorithm::Rsa2048,
                    KeyAlgorithm::Rsa4096 => crate::model::KeyAlgorithm::Rsa4096,
                };
                let request = CreateKey::new(self.service_account_id)
                    .algorithm(algorithm)
                    .description(self.description)
                    .existing_keys(self.existing);
                let created = client.keys().create(request).await?;
                let managed = ManagedKey::from(&created.key);
                let file = AuthorizedKeyFile::new(&created.key, created.private_key);
                (managed, super::IssuedKey::Authorized(file))
            }
            KeyType::StaticKey => {
                let request = CreateAccessKey::new(self.service_account_id)
                    .description(self.description)
                    .existing_keys(self.existing);
                let created = client.access_keys().create(request).await?;
                let managed = ManagedKey::from(&created.access_key);
                let key = StaticKey::new(&created.access_key, created.secret);
                (managed, super::IssuedKey::Static(key))
            }
        })
    }
}

/// A key of any kind as the flow sees it: no secret, only what reconciling a sink needs.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ManagedKey {
    /// The kind.
    pub kind: KeyType,
    /// The resource id (what `Get` and `Delete` take).
    pub id: String,
    /// The id a sink names the key by: the resource id, except for a static key, whose sink
    /// holds its AWS access key id (`key_id`).
    pub held_as: String,
    /// The owner.
    pub service_account_id: String,
    /// The description (ends with the marker of the sink yc-iam made it for).
    pub description: String,
    /// When it was made.
    pub created_at: Option<Timestamp>,
    /// API keys only: the scopes (the deprecated single `scope` included).
    pub scopes: Vec<String>,
    /// API keys only: when it expires.
    pub expires_at: Option<Timestamp>,
}

impl From<&ApiKey> for ManagedKey {
    #[allow(deprecated)] // keys made with the deprecated single `scope` field count too
    fn from(k: &ApiKey) -> Self {
        let mut scopes = k.scopes.clone();
        if !k.scope.is_empty() && !scopes.contains(&k.scope) {
            scopes.push(k.scope.clone());
        }
        ManagedKey {
            kind: KeyType::ApiKey,
            id: k.id.clone(),
            held_as: k.id.clone(),
            service_account_id: k.service_account_id.clone(),
            description: k.description.clone(),
            created_at: k.created_at,
            scopes,
            expires_at: k.expires_at,
        }
    }
}

impl From<&Key> for ManagedKey {
    fn from(k: &Key) -> Self {
        let owner = match &k.subject {
            Some(KeySubject::ServiceAccountId(id)) => id.clone(),
            _ => String::new(),
        };
        ManagedKey {
            kind: KeyType::AuthorizedKey,
            id: k.id.clone(),
            held_as: k.id.clone(),
            service_account_id: owner,
            description: k.description.clone(),
            created_at: k.created_at,
            scopes: Vec::new(),
            expires_at: None,
        }
    }
}

impl From<&AccessKey> for ManagedKey {
    fn from(k: &AccessKey) -> Self {
        ManagedKey {
            kind: KeyType::StaticKey,
            id: k.id.clone(),
            held_as: k.key_id.clone(),
            service_account_id: k.service_account_id.clone(),
            description: k.description.clone(),
            created_at: k.created_at,
            scopes: Vec::new(),
            expires_at: None,
        }
    }
}
