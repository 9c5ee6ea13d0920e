//! Authorized keys and static access keys as the emulator keeps them. An authorized key keeps only
//! its public half (the private key is handed out once, by `Create`); a static access key keeps its
//! secret so the emulator can check it, and neither `Debug` shows that secret.

use std::collections::BTreeSet;
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

/// Both kinds, by id. Deleted keys are removed: nothing answers for them afterwards. Keys are
/// added and removed only through the methods below, which keep the per-account indexes in step
/// (a listing reads one account's keys, not every key).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub(crate) struct Keys {
    #[serde(serialize_with = "sorted")]
    pub(crate) authorized: Map<AuthorizedKeyRec>,
    #[serde(serialize_with = "sorted")]
    pub(crate) access: Map<AccessKeyRec>,
    /// Authorized-key ids by service account; rebuilt after loading.
    #[serde(skip)]
    authorized_by_account: Map<BTreeSet<String>>,
    /// Static access-key ids by service account; rebuilt after loading.
    #[serde(skip)]
    access_by_account: Map<BTreeSet<String>>,
}

/// Adds `id` under `account`.
fn index(by_account: &mut Map<BTreeSet<String>>, account: &str, id: &str) {
    by_account.entry(account.to_owned()).or_default().insert(id.to_owned());
}

/// Removes `id` from under `account`.
fn unindex(by_account: &mut Map<BTreeSet<String>>, account: &str, id: &str) {
    if let Some(ids) = by_account.get_mut(account) {
        ids.remove(id);
        if ids.is_empty() {
            by_account.remove(account);
        }
    }
}

/// The records `by_account` lists under `account`.
fn of<'a, R>(
    records: &'a Map<R>,
    by_account: &'a Map<BTreeSet<String>>,
    account: &str,
) -> impl Iterator<Item = &'a R> + 'a {
    by_account
        .get(account)
        .into_iter()
        .flatten()
        .filter_map(|id| records.get(id))
}

impl Keys {
    /// Recomputes the per-account indexes from the records (after loading).
    pub(crate) fn rebuild_index(&mut self) {
        self.authorized_by_account.clear();
        self.access_by_account.clear();
        for k in self.authorized.values() {
            index(&mut self.authorized_by_account, &k.service_account_id, &k.id);
        }
        for k in self.access.values() {
            index(&mut self.access_by_account, &k.service_account_id, &k.id);
        }
    }

    /// Adds an authorized key, or replaces the one with its id.
    pub(crate) fn put_authorized(&mut self, key: AuthorizedKeyRec) {
        self.remove_authorized(&key.id);
        index(&mut self.authorized_by_account, &key.service_account_id, &key.id);
        self.authorized.insert(key.id.clone(), key);
    }

    /// Removes an authorized key.
    pub(crate) fn remove_authorized(&mut self, id: &str) {
        if let Some(old) = self.authorized.remove(id) {
            unindex(&mut self.authorized_by_account, &old.service_account_id, id);
        }
    }

    /// The authorized keys of a service account.
    pub(crate) fn authorized_of<'a>(&'a self, account: &str) -> impl Iterator<Item = &'a AuthorizedKeyRec> + 'a {
        of(&self.authorized, &self.authorized_by_account, account)
    }

    /// Adds a static access key, or replaces the one with its id.
    pub(crate) fn put_access(&mut self, key: AccessKeyRec) {
        self.remove_access(&key.id);
        index(&mut self.access_by_account, &key.service_account_id, &key.id);
        self.access.insert(key.id.clone(), key);
    }

    /// Removes a static access key.
    pub(crate) fn remove_access(&mut self, id: &str) {
        if let Some(old) = self.access.remove(id) {
            unindex(&mut self.access_by_account, &old.service_account_id, id);
        }
    }

    /// The static access keys of a service account.
    pub(crate) fn access_of<'a>(&'a self, account: &str) -> impl Iterator<Item = &'a AccessKeyRec> + 'a {
        of(&self.access, &self.access_by_account, account)
    }

    /// Removes every key of a deleted service account.
    pub(crate) fn remove_account(&mut self, service_account_id: &str) {
        for id in self
            .authorized_by_account
            .remove(service_account_id)
            .unwrap_or_default()
        {
            self.authorized.remove(&id);
        }
        for id in self.access_by_account.remove(service_account_id).unwrap_or_default() {
            self.access.remove(&id);
        }
    }
}
