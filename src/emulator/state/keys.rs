//! Authorized keys and static access keys as the emulator keeps them. An authorized key keeps only
//! its public half (the private key is handed out once, by `Create`); a static access key keeps its
//! secret so the emulator can check it, and neither `Debug` shows that secret.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{Map, Ts, sorted};
use crate::proto::yandex::cloud::iam::v1::awscompatibility::AccessKey;
use crate::proto::yandex::cloud::iam::v1::{Key, key};

/// An authorized key: an RSA public key whose JWTs `IamTokenService.Create` accepts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct AuthorizedKeyRec {
    pub(crate) id: String,
    pub(crate) service_account_id: String,
    pub(crate) description: String,
    /// A `Key.Algorithm` value.
    pub(crate) algorithm: i32,
    /// The public key as PEM (SubjectPublicKeyInfo).
    pub(crate) public_key: String,
    pub(crate) created_at: Ts,
    pub(crate) last_used_at: Option<Ts>,
}

impl AuthorizedKeyRec {
    pub(crate) fn to_proto(&self) -> Key {
        Key {
            id: self.id.clone(),
            created_at: Some(self.created_at.into()),
            description: self.description.clone(),
            key_algorithm: self.algorithm,
            public_key: self.public_key.clone(),
            last_used_at: self.last_used_at.map(Into::into),
            subject: Some(key::Subject::ServiceAccountId(self.service_account_id.clone())),
        }
    }
}

/// A static (AWS-compatible) access key: `key_id` is the public access key id, `secret` the secret
/// access key.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct AccessKeyRec {
    pub(crate) id: String,
    pub(crate) service_account_id: String,
    pub(crate) description: String,
    pub(crate) key_id: String,
    pub(crate) secret: String,
    pub(crate) created_at: Ts,
    pub(crate) last_used_at: Option<Ts>,
}

impl fmt::Debug for AccessKeyRec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessKeyRec")
            .field("id", &self.id)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl AccessKeyRec {
    pub(crate) fn to_proto(&self) -> AccessKey {
        AccessKey {
            id: self.id.clone(),
            service_account_id: self.service_account_id.clone(),
            created_at: Some(self.created_at.into()),
            description: self.description.clone(),
            key_id: self.key_id.clone(),
            last_used_at: self.last_used_at.map(Into::into),
        }
    }
}

/// Both kinds, by id. Deleted keys are removed: nothing answers for them afterwards.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub(crate) struct Keys {
    #[serde(serialize_with = "sorted")]
    pub(crate) authorized: Map<AuthorizedKeyRec>,
    #[serde(serialize_with = "sorted")]
    pub(crate) access: Map<AccessKeyRec>,
}

impl Keys {
    /// Removes every key of a deleted service account.
    pub(crate) fn remove_account(&mut self, service_account_id: &str) {
        self.authorized
            .retain(|_, k| k.service_account_id != service_account_id);
        self.access.retain(|_, k| k.service_account_id != service_account_id);
    }
}
