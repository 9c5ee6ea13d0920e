//! A read-only copy of the emulator's state, for tests and audits.

use std::collections::BTreeMap;

use super::clock::Clock;
use super::state::State;
use crate::proto::yandex::cloud::access::AccessBinding;
use crate::proto::yandex::cloud::iam::v1::{ApiKey, Key, ServiceAccount, awscompatibility::AccessKey};
use crate::proto::yandex::cloud::lockbox::v1::{Secret, Version};
use crate::proto::yandex::cloud::operation::Operation;
use crate::proto::yandex::cloud::resourcemanager::v1::{Cloud, Folder};

/// The emulator's state at one moment.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Snapshot {
    /// Every cloud.
    pub clouds: Vec<Cloud>,
    /// Every folder.
    pub folders: Vec<Folder>,
    /// Every live service account.
    pub service_accounts: Vec<ServiceAccount>,
    /// Access bindings by resource (cloud, folder or Lockbox secret) id.
    pub access_bindings: BTreeMap<String, Vec<AccessBinding>>,
    /// Every API key ever created, with whether it is still live.
    pub api_keys: Vec<ApiKeyState>,
    /// Every live authorized key, as `KeyService.Get` shows it (public key only).
    pub authorized_keys: Vec<Key>,
    /// Every live static access key, as `AccessKeyService.Get` shows it (never its secret).
    pub access_keys: Vec<AccessKey>,
    /// Every Lockbox secret, as `SecretService.Get` shows it now (payloads are never in a snapshot).
    pub lockbox_secrets: Vec<Secret>,
    /// The versions of each Lockbox secret by secret id, oldest first, as `ListVersions` shows them.
    pub lockbox_versions: BTreeMap<String, Vec<Version>>,
    /// Every operation, as `OperationService.Get` would show it now.
    pub operations: Vec<Operation>,
}

/// An API key (its masked secret only) and whether it is live (not deleted).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ApiKeyState {
    /// The key as `ApiKeyService.Get` shows it.
    pub api_key: ApiKey,
    /// False once the key (or its service account) was deleted.
    pub live: bool,
}

impl Snapshot {
    /// The live API keys of one service account.
    pub fn live_keys_of(&self, service_account_id: &str) -> Vec<&ApiKey> {
        self.api_keys
            .iter()
            .filter(|k| k.live && k.api_key.service_account_id == service_account_id)
            .map(|k| &k.api_key)
            .collect()
    }

    /// The live authorized keys of one service account.
    pub fn authorized_keys_of(&self, service_account_id: &str) -> Vec<&Key> {
        let owner = Some(crate::proto::yandex::cloud::iam::v1::key::Subject::ServiceAccountId(
            service_account_id.to_owned(),
        ));
        self.authorized_keys.iter().filter(|k| k.subject == owner).collect()
    }

    /// The live static access keys of one service account.
    pub fn access_keys_of(&self, service_account_id: &str) -> Vec<&AccessKey> {
        self.access_keys
            .iter()
            .filter(|k| k.service_account_id == service_account_id)
            .collect()
    }

    /// The Lockbox secret with this name, in any folder.
    pub fn lockbox_secret_named(&self, name: &str) -> Option<&Secret> {
        self.lockbox_secrets.iter().find(|s| s.name == name)
    }

    /// The live service account with this name, in any folder.
    pub fn service_account_named(&self, name: &str) -> Option<&ServiceAccount> {
        self.service_accounts.iter().find(|sa| sa.name == name)
    }
}

pub(crate) fn take(state: &State, clock: &Clock) -> Snapshot {
    // The growing collections are hash maps: sorted by id here, so snapshots compare equal.
    let mut service_accounts: Vec<ServiceAccount> = state.service_accounts.values().map(|s| s.to_proto()).collect();
    service_accounts.sort_unstable_by(|a, b| a.id.cmp(&b.id));
    let mut api_keys: Vec<ApiKeyState> = state
        .api_keys
        .values()
        .map(|k| ApiKeyState {
            api_key: k.to_proto(),
            live: !k.deleted,
        })
        .collect();
    api_keys.sort_unstable_by(|a, b| a.api_key.id.cmp(&b.api_key.id));
    let mut operations: Vec<Operation> = state.operations.values().map(|o| o.render(clock)).collect();
    operations.sort_unstable_by(|a, b| a.id.cmp(&b.id));
    let mut authorized_keys: Vec<Key> = state.keys.authorized.values().map(|k| k.to_proto()).collect();
    authorized_keys.sort_unstable_by(|a, b| a.id.cmp(&b.id));
    let mut access_keys: Vec<AccessKey> = state.keys.access.values().map(|k| k.to_proto()).collect();
    access_keys.sort_unstable_by(|a, b| a.id.cmp(&b.id));
    let mut lockbox_secrets: Vec<Secret> = state.lockbox.all().map(|s| s.to_proto(clock)).collect();
    lockbox_secrets.sort_unstable_by(|a, b| a.id.cmp(&b.id));
    let lockbox_versions = state
        .lockbox
        .all()
        .map(|s| {
            (
                s.meta.id.clone(),
                s.versions.iter().map(|v| v.to_proto(&s.meta.id, clock)).collect(),
            )
        })
        .collect();
    Snapshot {
        clouds: state.clouds.values().map(|c| c.to_proto()).collect(),
        folders: state.folders.values().map(|f| f.to_proto()).collect(),
        service_accounts,
        access_bindings: state
            .bindings
            .iter()
            .map(|(resource, set)| (resource.clone(), set.iter().map(|b| b.to_proto()).collect()))
            .collect(),
        api_keys,
        authorized_keys,
        access_keys,
        lockbox_secrets,
        lockbox_versions,
        operations,
    }
}
