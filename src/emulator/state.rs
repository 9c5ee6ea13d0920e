//! The emulator's data: clouds, folders, service accounts, keys, bindings, Lockbox secrets,
//! operations, idempotency records and issued tokens, with the JSON form it is saved in.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use prost_types::{Any, Timestamp};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::clock::Clock;
use crate::proto::google::rpc;
use crate::proto::yandex::cloud::access::{AccessBinding, Subject};
use crate::proto::yandex::cloud::iam::v1::{ApiKey, ServiceAccount, service_account};
use crate::proto::yandex::cloud::operation::{Operation, operation};
use crate::proto::yandex::cloud::resourcemanager::v1::{Cloud, Folder, folder};

mod keys;
mod lockbox;

pub(crate) use keys::{AccessKeyRec, AuthorizedKeyRec, Keys};
pub(crate) use lockbox::{EntryRec, EntryValue, Lockbox, PasswordSpecRec, SecretRec, VersionRec, VersionState};

/// The growing records and indexes. Std's keyed hash: names and idempotency keys come from
/// callers, and a hash without a random key lets one caller make every insert collide.
type Map<V> = std::collections::HashMap<String, V>;

/// A timestamp in the state file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct Ts {
    pub(crate) seconds: i64,
    pub(crate) nanos: i32,
}

impl From<&Timestamp> for Ts {
    fn from(t: &Timestamp) -> Self {
        Self {
            seconds: t.seconds,
            nanos: t.nanos,
        }
    }
}

impl From<Ts> for Timestamp {
    fn from(t: Ts) -> Self {
        Timestamp {
            seconds: t.seconds,
            nanos: t.nanos,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CloudRec {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) organization_id: String,
    pub(crate) created_at: Ts,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct FolderRec {
    pub(crate) id: String,
    pub(crate) cloud_id: String,
    pub(crate) name: String,
    pub(crate) created_at: Ts,
}

/// What every resource of a folder has (a service account, a Lockbox secret), saved flat in its
/// record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ResourceMeta {
    pub(crate) id: String,
    pub(crate) folder_id: String,
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) created_at: Ts,
}

impl ResourceMeta {
    /// A resource made `now`, without a description or labels.
    pub(crate) fn new(id: &str, folder_id: String, name: String, now: Timestamp) -> Self {
        ResourceMeta {
            id: id.to_owned(),
            folder_id,
            name,
            description: String::new(),
            labels: BTreeMap::new(),
            created_at: (&now).into(),
        }
    }

    /// The message of the resource with these fields set, and its own left to the caller.
    pub(crate) fn to_proto<P: FromMeta>(&self) -> P {
        P::from_meta(self)
    }

    pub(crate) fn described(self, description: String, labels: BTreeMap<String, String>) -> Self {
        ResourceMeta {
            description,
            labels,
            ..self
        }
    }
}

/// The message of a folder resource, made from the fields its record keeps in [`ResourceMeta`].
pub(crate) trait FromMeta {
    fn from_meta(meta: &ResourceMeta) -> Self;
}

macro_rules! from_meta {
    ($($proto:ty),*) => {$(
        impl FromMeta for $proto {
            fn from_meta(meta: &ResourceMeta) -> Self {
                Self {
                    id: meta.id.clone(),
                    folder_id: meta.folder_id.clone(),
                    created_at: Some(meta.created_at.into()),
                    name: meta.name.clone(),
                    description: meta.description.clone(),
                    labels: meta.labels.clone(),
                    ..Default::default()
                }
            }
        }
    )*};
}

from_meta!(ServiceAccount, crate::proto::yandex::cloud::lockbox::v1::Secret);

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SaRec {
    #[serde(flatten)]
    pub(crate) meta: ResourceMeta,
    pub(crate) expires_at: Option<Ts>,
    /// When one of its keys last authenticated (an `Api-Key` call, a JWT exchange).
    #[serde(default)]
    pub(crate) last_authenticated_at: Option<Ts>,
    /// Suspended by the cloud (the API has no call for it; [`super::Emulator::suspend_service_account`]
    /// stands in): its keys no longer authenticate.
    #[serde(default)]
    pub(crate) suspended: bool,
}

/// What every kind of key has (an API key, an authorized key, a static access key), saved flat in
/// its record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct KeyMeta {
    pub(crate) id: String,
    pub(crate) service_account_id: String,
    pub(crate) description: String,
    pub(crate) created_at: Ts,
    pub(crate) last_used_at: Option<Ts>,
}

impl KeyMeta {
    /// A key of `service_account_id` made `now`, never used yet.
    pub(crate) fn new(id: String, service_account_id: String, description: String, now: Timestamp) -> Self {
        KeyMeta {
            id,
            service_account_id,
            description,
            created_at: (&now).into(),
            last_used_at: None,
        }
    }
}

/// An API key. The secret itself is not kept: its SHA-256 recognises it, and its mask is what
/// `ApiKey.masked_secret` shows.
#[derive(Clone, Serialize, Deserialize)]
#[serde(from = "SavedKeyRec")]
pub(crate) struct KeyRec {
    #[serde(flatten)]
    pub(crate) meta: KeyMeta,
    pub(crate) scopes: Vec<String>,
    pub(crate) expires_at: Option<Ts>,
    pub(crate) masked_secret: String,
    /// Hex SHA-256 of the secret; empty once the key is deleted.
    pub(crate) secret_sha256: String,
    pub(crate) deleted: bool,
}

impl KeyRec {
    /// A live key whose secret is `secret`.
    pub(crate) fn new(meta: KeyMeta, scopes: Vec<String>, expires_at: Option<Ts>, secret: &str) -> Self {
        KeyRec {
            meta,
            scopes,
            expires_at,
            masked_secret: super::ids::mask_secret(secret),
            secret_sha256: sha256_hex(secret.as_bytes()),
            deleted: false,
        }
    }
}

/// An API key as state files hold it: earlier builds kept the secret itself, which is turned
/// into its digest and mask on load.
#[derive(Deserialize)]
struct SavedKeyRec {
    #[serde(flatten)]
    meta: KeyMeta,
    scopes: Vec<String>,
    expires_at: Option<Ts>,
    #[serde(default)]
    masked_secret: String,
    #[serde(default)]
    secret_sha256: String,
    #[serde(default)]
    secret: Option<String>,
    deleted: bool,
}

impl From<SavedKeyRec> for KeyRec {
    fn from(saved: SavedKeyRec) -> Self {
        let masked_secret = match &saved.secret {
            Some(secret) => super::ids::mask_secret(secret),
            None => saved.masked_secret,
        };
        let secret_sha256 = saved_digest(saved.secret, saved.secret_sha256);
        KeyRec {
            meta: saved.meta,
            scopes: saved.scopes,
            expires_at: saved.expires_at,
            masked_secret,
            // A deleted key keeps no digest.
            secret_sha256: if saved.deleted { String::new() } else { secret_sha256 },
            deleted: saved.deleted,
        }
    }
}

/// The digest a key read from a state file keeps: of its secret, which an earlier build saved
/// in clear (cleared here once hashed), or the digest saved.
pub(super) fn saved_digest(secret: Option<String>, digest: String) -> String {
    match secret {
        Some(secret) => sha256_hex(secrecy::zeroize::Zeroizing::new(secret).as_bytes()),
        None => digest,
    }
}

impl fmt::Debug for KeyRec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRec")
            .field("id", &self.meta.id)
            .field("deleted", &self.deleted)
            .finish_non_exhaustive()
    }
}

/// One access binding: role, subject type, subject id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct BindingRec {
    pub(crate) role_id: String,
    pub(crate) subject_type: String,
    pub(crate) subject_id: String,
}

impl BindingRec {
    pub(crate) fn from_proto(b: &AccessBinding) -> Self {
        let subject = b.subject.clone().unwrap_or_default();
        Self {
            role_id: b.role_id.clone(),
            subject_type: subject.r#type,
            subject_id: subject.id,
        }
    }

    pub(crate) fn to_proto(&self) -> AccessBinding {
        AccessBinding {
            role_id: self.role_id.clone(),
            subject: Some(Subject {
                id: self.subject_id.clone(),
                r#type: self.subject_type.clone(),
            }),
        }
    }

    /// The ordering key used for pagination.
    pub(crate) fn key(&self) -> String {
        format!("{}\u{1}{}\u{1}{}", self.role_id, self.subject_type, self.subject_id)
    }
}

/// An `Any` as stored: the bytes are kept as they are and written to the state file as hex, so
/// the hot path never converts them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct AnyRec {
    pub(crate) type_url: String,
    #[serde(serialize_with = "hex_out", deserialize_with = "hex_in")]
    pub(crate) value: Vec<u8>,
}

impl AnyRec {
    pub(crate) fn from_proto(a: Any) -> Self {
        Self {
            type_url: a.type_url,
            value: a.value,
        }
    }

    pub(crate) fn to_proto(&self) -> Any {
        Any {
            type_url: self.type_url.clone(),
            value: self.value.clone(),
        }
    }
}

fn hex_out<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex(bytes))
}

fn hex_in<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    // A value that is not hex reads as empty, as it always did.
    let text = String::deserialize(d)?;
    Ok(unhex(&text).unwrap_or_default())
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum OpResult {
    Response(AnyRec),
    Error { code: i32, message: String },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct OpRec {
    pub(crate) id: String,
    pub(crate) description: String,
    pub(crate) created_at: Ts,
    pub(crate) created_by: String,
    pub(crate) done_at: Ts,
    pub(crate) metadata: AnyRec,
    pub(crate) result: OpResult,
}

impl OpRec {
    /// The operation as `OperationService.Get` shows it now.
    pub(crate) fn render(&self, clock: &Clock) -> Operation {
        let done = clock.is_past(&self.done_at.into());
        let result = if done {
            Some(match &self.result {
                OpResult::Response(any) => operation::Result::Response(any.to_proto()),
                OpResult::Error { code, message } => operation::Result::Error(rpc::Status {
                    code: *code,
                    message: message.clone(),
                    details: Vec::new(),
                }),
            })
        } else {
            None
        };
        Operation {
            id: self.id.clone(),
            description: self.description.clone(),
            created_at: Some(self.created_at.into()),
            created_by: self.created_by.clone(),
            modified_at: Some(if done { self.done_at } else { self.created_at }.into()),
            done,
            metadata: Some(self.metadata.to_proto()),
            result,
        }
    }
}

/// What an `idempotency-key` of a mutation that answers with an operation already produced.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) enum IdemRec {
    Operation { operation_id: String },
}

/// An idempotency record as state files hold it. Earlier builds also saved each key `Create`
/// with the secret it handed out; those records are dropped on load.
#[derive(Deserialize)]
enum SavedIdem {
    Operation {
        operation_id: String,
    },
    #[serde(alias = "Key", alias = "AccessKey")]
    ApiKey(serde::de::IgnoredAny),
}

fn operations_only<'de, D: Deserializer<'de>>(d: D) -> Result<Map<IdemRec>, D::Error> {
    let saved = Map::<SavedIdem>::deserialize(d)?;
    Ok(saved
        .into_iter()
        .filter_map(|(key, record)| match record {
            SavedIdem::Operation { operation_id } => Some((key, IdemRec::Operation { operation_id })),
            SavedIdem::ApiKey(_) => None,
        })
        .collect())
}

/// A kind of key whose `Create` hands out a secret once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SecretKind {
    ApiKey,
    Key,
    AccessKey,
}

/// How long the answer of a key `Create` with an idempotency key can be replayed, secret
/// included, on the emulator's clock. Yandex keeps idempotency keys for a limited time it does
/// not state; this is the emulator's choice, far beyond the client's retries (a minute by
/// default).
pub(crate) const REPLAY_LIFETIME: std::time::Duration = std::time::Duration::from_secs(3600);

/// One key `Create`'s answer: the key made and the secret handed out.
#[derive(Clone)]
struct Replay {
    kind: SecretKind,
    key_id: String,
    secret: secrecy::zeroize::Zeroizing<String>,
    expires_at: Ts,
}

/// The answers of recent key `Create`s by idempotency key, so a retried call gets the same key
/// and secret. Held in memory only: never written to the state file, forgotten when the key is
/// deleted; not replayed after [`REPLAY_LIFETIME`], and dropped from memory by the next key
/// `Create` sent with an idempotency key after that. A repeat after a restart makes a new key, as one after
/// the record expired would; a client that retried reconciles (`create_once` deletes the key
/// whose secret it never received), so one live key remains and its secret is held.
#[derive(Default, Clone)]
pub(crate) struct Replays {
    by_idem: Map<Replay>,
    /// The idempotency key of each key id's `Create`.
    by_key: Map<String>,
    /// Idempotency keys in the order they were recorded, with when each expires.
    order: std::collections::VecDeque<(Ts, String)>,
}

impl Replays {
    /// The key id and secret a `Create` of `kind` with idempotency key `idem` handed out, unless
    /// that answer expired by `now`.
    pub(crate) fn get(&self, idem: &str, kind: SecretKind, now: Ts) -> Option<(&str, &str)> {
        let replay = self
            .by_idem
            .get(idem)
            .filter(|r| r.kind == kind && now < r.expires_at)?;
        Some((&replay.key_id, &replay.secret))
    }

    /// Records the answer of a `Create` at `now`, and forgets the answers expired by then.
    pub(crate) fn insert(&mut self, idem: String, kind: SecretKind, key_id: String, secret: &str, now: Ts) {
        while let Some((expires_at, _)) = self.order.front()
            && *expires_at <= now
        {
            if let Some((expires_at, idem)) = self.order.pop_front()
                && self.by_idem.get(&idem).is_some_and(|r| r.expires_at == expires_at)
            {
                self.forget(&idem);
            }
        }
        let recorded: Timestamp = now.into();
        let expires_at = (&super::clock::add(&recorded, REPLAY_LIFETIME)).into();
        self.order.push_back((expires_at, idem.clone()));
        self.by_key.insert(key_id.clone(), idem.clone());
        let secret = secrecy::zeroize::Zeroizing::new(secret.to_owned());
        self.by_idem.insert(
            idem,
            Replay {
                kind,
                key_id,
                secret,
                expires_at,
            },
        );
    }

    /// Forgets the answer of the `Create` that made key `key_id` (it was deleted).
    pub(crate) fn forget_key(&mut self, key_id: &str) {
        if let Some(idem) = self.by_key.get(key_id).cloned() {
            self.forget(&idem);
        }
    }

    fn forget(&mut self, idem: &str) {
        if let Some(replay) = self.by_idem.remove(idem) {
            self.by_key.remove(&replay.key_id);
        }
    }
}

#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct TokenRec {
    pub(crate) subject: String,
    pub(crate) expires_at: Ts,
}

/// Everything the emulator knows; saved as JSON in the state file.
///
/// The collections that grow with use are hash maps, so a lookup costs the same with 100 or
/// 100,000 entries; they are written to the file in key order. Service accounts and API keys are
/// changed only through the methods below, which keep [`Indexes`] in step.
#[derive(Default, Clone, Serialize, Deserialize)]
pub(crate) struct State {
    pub(crate) clouds: BTreeMap<String, CloudRec>,
    pub(crate) folders: BTreeMap<String, FolderRec>,
    #[serde(serialize_with = "sorted")]
    pub(crate) service_accounts: Map<SaRec>,
    #[serde(serialize_with = "sorted")]
    pub(crate) api_keys: Map<KeyRec>,
    /// Access bindings by resource id: clouds, folders and Lockbox secrets.
    pub(crate) bindings: BTreeMap<String, BTreeSet<BindingRec>>,
    /// When bindings added under a binding delay take effect, by `<resource id>\u{1}<binding key>`;
    /// a binding without an entry is in effect. Absent from older state files.
    #[serde(default)]
    pub(crate) pending_bindings: BTreeMap<String, Ts>,
    /// Absent from state files written before the emulator served Lockbox.
    #[serde(default)]
    pub(crate) lockbox: Lockbox,
    /// Authorized and static access keys; absent from state files written before the emulator
    /// served them.
    #[serde(default)]
    pub(crate) keys: Keys,
    #[serde(serialize_with = "sorted")]
    pub(crate) operations: Map<OpRec>,
    #[serde(serialize_with = "sorted", deserialize_with = "operations_only")]
    pub(crate) idempotency: Map<IdemRec>,
    /// Key `Create` answers for replays, secrets included: in memory only.
    #[serde(skip)]
    pub(crate) replays: Replays,
    /// Issued IAM tokens by the hex SHA-256 of the token (earlier builds keyed them by the token
    /// itself; those are rekeyed on load).
    #[serde(serialize_with = "sorted", deserialize_with = "tokens_by_digest")]
    pub(crate) tokens: Map<TokenRec>,
    /// Nanoseconds the emulator's clock ran ahead of the real time when this was saved (set only
    /// on the copy that is saved; the running clock keeps its own), so a restart resumes it.
    #[serde(default)]
    pub(crate) clock_shift: i64,
    /// Derived from the records; rebuilt after loading ([`State::rebuild_indexes`]).
    #[serde(skip)]
    index: Indexes,
}

/// Whether `key` is a hex SHA-256, as the state keeps tokens; an IAM token never is.
fn is_digest(key: &str) -> bool {
    key.len() == 64 && key.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn tokens_by_digest<'de, D: Deserializer<'de>>(d: D) -> Result<Map<TokenRec>, D::Error> {
    let saved = Map::<TokenRec>::deserialize(d)?;
    Ok(saved
        .into_iter()
        .map(|(key, token)| {
            if is_digest(&key) {
                (key, token)
            } else {
                let key = secrecy::zeroize::Zeroizing::new(key);
                (sha256_hex(key.as_bytes()), token)
            }
        })
        .collect())
}

/// Lookups that would otherwise scan every record.
#[derive(Default, Clone)]
struct Indexes {
    /// Service-account ids by cloud id and name (names are unique within a cloud).
    names: Map<Map<Vec<String>>>,
    /// Live (not deleted) API-key ids by the hex SHA-256 of their secret, for `Api-Key`
    /// authentication.
    secrets: Map<String>,
    /// API-key ids (live or not) by service account.
    keys_by_account: Map<BTreeSet<String>>,
    /// How many service accounts each cloud holds, for its quota.
    accounts_by_cloud: Map<usize>,
    /// How many live API keys the accounts of each cloud hold, for its quota.
    live_keys_by_cloud: Map<usize>,
}

/// The cloud a folder belongs to ("" for an unknown folder).
fn cloud_of<'a>(folders: &'a BTreeMap<String, FolderRec>, folder_id: &str) -> &'a str {
    folders.get(folder_id).map_or("", |f| f.cloud_id.as_str())
}

impl Indexes {
    fn add_name(&mut self, cloud: &str, account: &SaRec) {
        self.names
            .entry(cloud.to_owned())
            .or_default()
            .entry(account.meta.name.clone())
            .or_default()
            .push(account.meta.id.clone());
        *self.accounts_by_cloud.entry(cloud.to_owned()).or_default() += 1;
    }

    fn remove_name(&mut self, cloud: &str, account: &SaRec) {
        if let Some(names) = self.names.get_mut(cloud)
            && let Some(ids) = names.get_mut(&account.meta.name)
        {
            ids.retain(|id| *id != account.meta.id);
            if ids.is_empty() {
                names.remove(&account.meta.name);
            }
        }
        count_down(&mut self.accounts_by_cloud, cloud);
    }

    /// Counts a live key of an account in `cloud`, or one no longer live (`live` false).
    fn count_live_key(&mut self, cloud: &str, live: bool) {
        if live {
            *self.live_keys_by_cloud.entry(cloud.to_owned()).or_default() += 1;
        } else {
            count_down(&mut self.live_keys_by_cloud, cloud);
        }
    }

    fn add_key(&mut self, key: &KeyRec) {
        if !key.deleted {
            self.secrets.insert(key.secret_sha256.clone(), key.meta.id.clone());
        }
        self.keys_by_account
            .entry(key.meta.service_account_id.clone())
            .or_default()
            .insert(key.meta.id.clone());
    }
}

fn count_down(counts: &mut Map<usize>, key: &str) {
    if let Some(count) = counts.get_mut(key) {
        *count = count.saturating_sub(1);
    }
}

/// Writes a hash map in key order, so the state file is stable from one save to the next.
fn sorted<S: Serializer, V: Serialize>(map: &Map<V>, s: S) -> Result<S::Ok, S::Error> {
    let mut entries: Vec<(&String, &V)> = map.iter().collect();
    entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
    s.collect_map(entries)
}

impl State {
    /// A copy of the records without the indexes, for saving outside the lock.
    pub(crate) fn records(&self) -> State {
        State {
            clouds: self.clouds.clone(),
            folders: self.folders.clone(),
            service_accounts: self.service_accounts.clone(),
            api_keys: self.api_keys.clone(),
            bindings: self.bindings.clone(),
            pending_bindings: self.pending_bindings.clone(),
            lockbox: self.lockbox.clone(),
            keys: self.keys.clone(),
            operations: self.operations.clone(),
            idempotency: self.idempotency.clone(),
            replays: Replays::default(),
            tokens: self.tokens.clone(),
            clock_shift: self.clock_shift,
            index: Indexes::default(),
        }
    }

    /// Recomputes the indexes from the records (after loading, or after folders were added).
    pub(crate) fn rebuild_indexes(&mut self) {
        self.index = Indexes::default();
        for account in self.service_accounts.values() {
            self.index
                .add_name(cloud_of(&self.folders, &account.meta.folder_id), account);
        }
        for key in self.api_keys.values() {
            self.index.add_key(key);
            if !key.deleted {
                let cloud = self.key_cloud(key).to_owned();
                self.index.count_live_key(&cloud, true);
            }
        }
        self.lockbox.rebuild_index();
        self.keys.rebuild_index();
    }

    /// The cloud a folder belongs to ("" for an unknown folder).
    pub(crate) fn cloud_of(&self, folder_id: &str) -> &str {
        cloud_of(&self.folders, folder_id)
    }

    /// The cloud of the account that owns `key` ("" if the account is gone).
    fn key_cloud(&self, key: &KeyRec) -> &str {
        self.service_accounts
            .get(&key.meta.service_account_id)
            .map_or("", |account| cloud_of(&self.folders, &account.meta.folder_id))
    }

    /// How many service accounts the cloud holds.
    pub(crate) fn accounts_in_cloud(&self, cloud_id: &str) -> usize {
        self.index.accounts_by_cloud.get(cloud_id).copied().unwrap_or(0)
    }

    /// How many API keys that are not deleted the service accounts of the cloud hold.
    pub(crate) fn live_api_keys_in_cloud(&self, cloud_id: &str) -> usize {
        self.index.live_keys_by_cloud.get(cloud_id).copied().unwrap_or(0)
    }

    /// The service accounts named `name` in the cloud of `folder_id` (any folder of that cloud).
    pub(crate) fn accounts_named<'a>(&'a self, folder_id: &str, name: &str) -> impl Iterator<Item = &'a SaRec> + 'a {
        self.index
            .names
            .get(cloud_of(&self.folders, folder_id))
            .and_then(|names| names.get(name))
            .into_iter()
            .flatten()
            .filter_map(|id| self.service_accounts.get(id))
    }

    /// Whether a service account other than `except` has `name` in the cloud of `folder_id`.
    pub(crate) fn name_taken(&self, folder_id: &str, name: &str, except: &str) -> bool {
        self.accounts_named(folder_id, name).any(|sa| sa.meta.id != except)
    }

    /// Adds a service account, or replaces the one with its id.
    pub(crate) fn put_service_account(&mut self, account: SaRec) {
        if let Some(old) = self.service_accounts.remove(&account.meta.id) {
            self.index
                .remove_name(cloud_of(&self.folders, &old.meta.folder_id), &old);
        }
        self.index
            .add_name(cloud_of(&self.folders, &account.meta.folder_id), &account);
        self.service_accounts.insert(account.meta.id.clone(), account);
    }

    /// Removes a service account; its API keys stop working (they stay, marked deleted).
    pub(crate) fn remove_service_account(&mut self, id: &str) -> Option<SaRec> {
        if !self.service_accounts.contains_key(id) {
            return None;
        }
        let keys: Vec<String> = self
            .index
            .keys_by_account
            .get(id)
            .map(|keys| keys.iter().cloned().collect())
            .unwrap_or_default();
        let others = self.keys.authorized.of(id).map(|k| &k.meta.id);
        let others: Vec<String> = others
            .chain(self.keys.access.of(id).map(|k| &k.meta.id))
            .cloned()
            .collect();
        // While the account is there, so each key is counted off its cloud.
        for key in keys {
            self.delete_api_key(&key);
        }
        for key in others {
            self.replays.forget_key(&key);
        }
        let account = self.service_accounts.remove(id)?;
        self.index
            .remove_name(cloud_of(&self.folders, &account.meta.folder_id), &account);
        self.keys.remove_account(id);
        Some(account)
    }

    /// Adds an API key, or replaces the one with its id.
    pub(crate) fn put_api_key(&mut self, key: KeyRec) {
        if let Some(old) = self.api_keys.remove(&key.meta.id) {
            self.index.secrets.remove(&old.secret_sha256);
            if !old.deleted {
                let cloud = self.key_cloud(&old).to_owned();
                self.index.count_live_key(&cloud, false);
            }
        }
        self.index.add_key(&key);
        if !key.deleted {
            let cloud = self.key_cloud(&key).to_owned();
            self.index.count_live_key(&cloud, true);
        }
        self.api_keys.insert(key.meta.id.clone(), key);
    }

    /// Marks an API key deleted: its secret no longer authenticates, and nothing of it is kept
    /// (its digest is cleared, the answer of its `Create` forgotten).
    pub(crate) fn delete_api_key(&mut self, id: &str) {
        let Some(key) = self.api_keys.get(id).filter(|k| !k.deleted) else {
            return;
        };
        let cloud = self.key_cloud(key).to_owned();
        self.index.count_live_key(&cloud, false);
        if let Some(key) = self.api_keys.get_mut(id) {
            key.deleted = true;
            self.index.secrets.remove(&key.secret_sha256);
            key.secret_sha256.clear();
        }
        self.replays.forget_key(id);
    }

    /// The live API key whose secret has this digest ([`sha256_hex`]).
    pub(crate) fn live_key_by_digest(&mut self, digest: &str) -> Option<&mut KeyRec> {
        let id = self.index.secrets.get(digest)?;
        self.api_keys.get_mut(id).filter(|k| !k.deleted)
    }

    /// Records that a key of `service_account_id` authenticated at `now`; refuses a suspended or
    /// deleted account.
    pub(crate) fn account_authenticated(&mut self, service_account_id: &str, now: Ts) -> Result<(), &'static str> {
        match self.service_accounts.get_mut(service_account_id) {
            Some(account) if account.suspended => Err("The service account is suspended"),
            Some(account) => {
                account.last_authenticated_at = Some(now);
                Ok(())
            }
            None => Err("The service account does not exist"),
        }
    }

    /// The scopes of the live API key whose secret has this digest ([`sha256_hex`]).
    pub(crate) fn live_key_scopes(&self, digest: &str) -> Option<&[String]> {
        let id = self.index.secrets.get(digest)?;
        self.api_keys
            .get(id)
            .filter(|k| !k.deleted)
            .map(|k| k.scopes.as_slice())
    }

    /// The API keys (live or not) of a service account, in id order.
    pub(crate) fn keys_of<'a>(&'a self, service_account_id: &str) -> impl Iterator<Item = &'a KeyRec> + 'a {
        self.index
            .keys_by_account
            .get(service_account_id)
            .into_iter()
            .flatten()
            .filter_map(|id| self.api_keys.get(id))
    }
}

impl CloudRec {
    pub(crate) fn to_proto(&self) -> Cloud {
        Cloud {
            id: self.id.clone(),
            created_at: Some(self.created_at.into()),
            name: self.name.clone(),
            description: String::new(),
            organization_id: self.organization_id.clone(),
            labels: BTreeMap::new(),
        }
    }
}

impl FolderRec {
    pub(crate) fn to_proto(&self) -> Folder {
        Folder {
            id: self.id.clone(),
            cloud_id: self.cloud_id.clone(),
            created_at: Some(self.created_at.into()),
            name: self.name.clone(),
            description: String::new(),
            labels: BTreeMap::new(),
            status: folder::Status::Active as i32,
        }
    }
}

impl SaRec {
    pub(crate) fn to_proto(&self) -> ServiceAccount {
        ServiceAccount {
            last_authenticated_at: self.last_authenticated_at.map(Into::into),
            status: if self.suspended {
                service_account::Status::Suspended
            } else {
                service_account::Status::Active
            } as i32,
            expires_at: self.expires_at.map(Into::into),
            ..self.meta.to_proto()
        }
    }
}

impl KeyRec {
    // The deprecated `scope` mirrors the first scope, as the real API fills it.
    #[allow(deprecated)]
    pub(crate) fn to_proto(&self) -> ApiKey {
        ApiKey {
            id: self.meta.id.clone(),
            service_account_id: self.meta.service_account_id.clone(),
            created_at: Some(self.meta.created_at.into()),
            description: self.meta.description.clone(),
            last_used_at: self.meta.last_used_at.map(Into::into),
            scope: self.scopes.first().cloned().unwrap_or_default(),
            expires_at: self.expires_at.map(Into::into),
            scopes: self.scopes.clone(),
            masked_secret: self.masked_secret.clone(),
        }
    }
}

/// The SHA-256 of `bytes` in hex: what the emulator keeps of a credential it only has to
/// recognise (an issued IAM token, an API-key secret).
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref())
}

// Table-driven: these run for every operation, inside the state lock.
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        text.push(char::from(DIGITS[usize::from(b >> 4)]));
        text.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    text
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    bytes
        .chunks_exact(2)
        .map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_values_survive_the_hex_round_trip() {
        let any = Any {
            type_url: "t".into(),
            value: vec![0, 1, 254, 255],
        };
        let rec = AnyRec::from_proto(any.clone());
        assert_eq!(rec.to_proto(), any);
        let json = serde_json::to_string(&rec).expect("json");
        assert!(json.contains("\"0001feff\""), "{json}");
        let back: AnyRec = serde_json::from_str(&json).expect("back");
        assert_eq!(back.to_proto(), any);
    }
}
