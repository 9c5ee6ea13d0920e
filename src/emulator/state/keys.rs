//! Authorized keys and static access keys as the emulator keeps them. An authorized key keeps only
//! its public half (the private key is handed out once, by `Create`); a static access key keeps the
//! SHA-256 of its secret, enough to check a presented secret and useless to a reader.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::{KeyMeta, Map, saved_digest, sorted};
use crate::proto::yandex::cloud::iam::v1::awscompatibility::AccessKey;
use crate::proto::yandex::cloud::iam::v1::{Key, key};

/// An authorized key: an RSA public key whose JWTs `IamTokenService.Create` accepts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct AuthorizedKeyRec {
    #[serde(flatten)]
    pub(crate) meta: KeyMeta,
    /// A `Key.Algorithm` value.
    pub(crate) algorithm: i32,
    /// The public key as PEM (SubjectPublicKeyInfo).
    pub(crate) public_key: String,
}

impl AuthorizedKeyRec {
    pub(crate) fn to_proto(&self) -> Key {
        Key {
            id: self.meta.id.clone(),
            created_at: Some(self.meta.created_at.into()),
            description: self.meta.description.clone(),
            key_algorithm: self.algorithm,
            public_key: self.public_key.clone(),
            last_used_at: self.meta.last_used_at.map(Into::into),
            subject: Some(key::Subject::ServiceAccountId(self.meta.service_account_id.clone())),
        }
    }
}

/// A static (AWS-compatible) access key: `key_id` is the public access key id, `secret_sha256`
/// the hex SHA-256 of the secret access key.
#[derive(Clone, Serialize, Deserialize)]
#[serde(from = "SavedAccessKeyRec")]
pub(crate) struct AccessKeyRec {
    #[serde(flatten)]
    pub(crate) meta: KeyMeta,
    pub(crate) key_id: String,
    pub(crate) secret_sha256: String,
}

/// A static key as state files hold it: earlier builds kept the secret itself, which is turned
/// into its digest on load.
#[derive(Deserialize)]
struct SavedAccessKeyRec {
    #[serde(flatten)]
    meta: KeyMeta,
    key_id: String,
    #[serde(default)]
    secret_sha256: String,
    #[serde(default)]
    secret: Option<String>,
}

impl From<SavedAccessKeyRec> for AccessKeyRec {
    fn from(saved: SavedAccessKeyRec) -> Self {
        AccessKeyRec {
            meta: saved.meta,
            key_id: saved.key_id,
            secret_sha256: saved_digest(saved.secret, saved.secret_sha256),
        }
    }
}

impl fmt::Debug for AccessKeyRec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessKeyRec")
            .field("id", &self.meta.id)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl AccessKeyRec {
    pub(crate) fn to_proto(&self) -> AccessKey {
        AccessKey {
            id: self.meta.id.clone(),
            service_account_id: self.meta.service_account_id.clone(),
            created_at: Some(self.meta.created_at.into()),
            description: self.meta.description.clone(),
            key_id: self.key_id.clone(),
            last_used_at: self.meta.last_used_at.map(Into::into),
        }
    }
}

/// Both kinds, each by id with the ids of each account's keys beside them. Deleted keys are
/// removed: nothing answers for them afterwards.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub(crate) struct Keys {
    pub(crate) authorized: ByAccount<AuthorizedKeyRec>,
    pub(crate) access: ByAccount<AccessKeyRec>,
}

/// A key record, which its kind's index keeps by id and owner.
pub(crate) trait Owned {
    fn meta(&self) -> &KeyMeta;
}

impl Owned for AuthorizedKeyRec {
    fn meta(&self) -> &KeyMeta {
        &self.meta
    }
}

impl Owned for AccessKeyRec {
    fn meta(&self) -> &KeyMeta {
        &self.meta
    }
}

/// The records of one kind of key by id, and their ids by service account. Records are added
/// and removed only through the methods below, which keep the two in step (a listing reads one
/// account's keys, not every key); the state file holds the records alone.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent, bound(serialize = "R: Serialize", deserialize = "R: Deserialize<'de>"))]
pub(crate) struct ByAccount<R> {
    #[serde(serialize_with = "sorted")]
    records: Map<R>,
    /// Rebuilt after loading.
    #[serde(skip)]
    by_account: Map<BTreeSet<String>>,
}

impl<R> Default for ByAccount<R> {
    fn default() -> Self {
        ByAccount {
            records: Map::default(),
            by_account: Map::default(),
        }
    }
}

impl<R: Owned> ByAccount<R> {
    /// The key `id`.
    pub(crate) fn get(&self, id: &str) -> Option<&R> {
        self.records.get(id)
    }

    /// The key `id`, to change anything but its owner.
    pub(crate) fn get_mut(&mut self, id: &str) -> Option<&mut R> {
        self.records.get_mut(id)
    }

    /// Every key, in any order.
    pub(crate) fn values(&self) -> impl Iterator<Item = &R> {
        self.records.values()
    }

    /// Adds a key, or replaces the one with its id.
    pub(crate) fn put(&mut self, key: R) {
        let (id, owner) = (key.meta().id.clone(), key.meta().service_account_id.clone());
        self.remove(&id);
        self.by_account.entry(owner).or_default().insert(id.clone());
        self.records.insert(id, key);
    }

    /// Removes a key.
    pub(crate) fn remove(&mut self, id: &str) {
        let Some(old) = self.records.remove(id) else {
            return;
        };
        if let Some(ids) = self.by_account.get_mut(&old.meta().service_account_id) {
            ids.remove(id);
            if ids.is_empty() {
                self.by_account.remove(&old.meta().service_account_id);
            }
        }
    }

    /// The keys of a service account.
    pub(crate) fn of<'a>(&'a self, account: &str) -> impl Iterator<Item = &'a R> + 'a {
        let ids = self.by_account.get(account).into_iter().flatten();
        ids.filter_map(|id| self.records.get(id))
    }

    /// Removes every key of a deleted service account.
    fn remove_account(&mut self, account: &str) {
        for id in self.by_account.remove(account).unwrap_or_default() {
            self.records.remove(&id);
        }
    }

    /// Recomputes the index from the records (after loading).
    fn rebuild_index(&mut self) {
        self.by_account.clear();
        for key in std::mem::take(&mut self.records).into_values() {
            self.put(key);
        }
    }
}

impl Keys {
    /// Recomputes the per-account indexes from the records (after loading).
    pub(crate) fn rebuild_index(&mut self) {
        self.authorized.rebuild_index();
        self.access.rebuild_index();
    }

    /// Removes every key of a deleted service account.
    pub(crate) fn remove_account(&mut self, service_account_id: &str) {
        self.authorized.remove_account(service_account_id);
        self.access.remove_account(service_account_id);
    }
}
