//! The Lockbox sink: each key lives in a version of a secret, with the entries `api-key`,
//! `api-key-id` and `folder-id`; the key in use is the one the current version names.
//!
//! Reading costs one call in the steady state: `PayloadService.GetEx` by folder and name (or id)
//! answers with the secret's id, the current version's id and its entries. Only when it finds
//! nothing is the folder listed, to tell a missing secret from one without a version yet.
//!
//! Writing keeps what others put there: a new version is based on the current one
//! (`base_version_id`), so the secret's other entries are copied into it, and a version added
//! meanwhile by someone else stops the run instead of being overwritten (see
//! [`add_key_version`]).

use futures_util::TryStreamExt as _;

use crate::model::LockboxVersion as Version;

use super::super::report::ProvisionError;
use super::super::{IssuedKey, api};
use super::{Held, LockboxSecret, LockboxSink};
use crate::model::{AccessBindingDelta, LockboxVersionStatus, Subject};
use crate::{AddVersion, Client, CreateSecret, Error, ErrorKind, SecretRef};

/// The role that lets a subject read the payload.
pub const READER_ROLE: &str = "lockbox.payloadViewer";
/// The label a secret made by `provision` carries.
const MANAGED_BY: (&str, &str) = ("managed-by", "yc-iam");

/// What the plan found of the Lockbox secret and what applying it changes there.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LockboxPlan {
    /// The secret: found, or to be created.
    pub secret: SecretPlan,
    /// Readers that do not have `lockbox.payloadViewer` on the secret yet.
    pub readers_missing: Vec<Subject>,
    /// The current version, when this sink added it and a new version replaces it: scheduled
    /// for destruction once the new version is current.
    pub replaced_version: Option<String>,
    /// Versions this sink added that are no longer current but still active (replaced by a
    /// version of another writer, or by a run interrupted before it scheduled them): scheduled
    /// for destruction before the new key is made. Versions without the sink's marker are never
    /// scheduled.
    pub versions_to_destroy: Vec<String>,
}

impl LockboxPlan {
    /// Whether applying the plan changes the secret even when the key is kept.
    pub fn changes(&self) -> bool {
        matches!(self.secret, SecretPlan::Create { .. })
            || !self.readers_missing.is_empty()
            || !self.versions_to_destroy.is_empty()
    }
}

/// The secret as the plan found it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum SecretPlan {
    /// It exists.
    Existing {
        /// The secret's id.
        id: String,
        /// Its name, when known: a secret given by id whose payload was read is known by its
        /// id alone (`GetEx` does not say the name).
        name: Option<String>,
        /// Its current version, if it has one.
        current_version: Option<String>,
    },
    /// There is no secret with this name in the folder: it will be created.
    Create {
        /// The folder.
        folder_id: String,
        /// The name.
        name: String,
    },
}

/// What a run did to the Lockbox secret.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct LockboxReport {
    /// The secret's id.
    pub secret_id: String,
    /// Its name, when known (see [`SecretPlan::Existing`]).
    pub secret_name: Option<String>,
    /// Its folder, when the sink names the secret by name (a secret given by id is found in
    /// any folder).
    pub folder_id: Option<String>,
    /// Whether the run created it.
    pub secret_created: bool,
    /// The current version, holding the key; `None` only in the report of a run that failed
    /// before a version held a key.
    pub version_id: Option<String>,
    /// Whether the run added that version.
    pub version_added: bool,
    /// Versions scheduled for destruction.
    pub versions_scheduled: Vec<String>,
    /// Readers granted `lockbox.payloadViewer` (`TYPE:ID`).
    pub readers_added: Vec<String>,
}

impl LockboxReport {
    /// Whether the run changed the secret.
    pub fn changed(&self) -> bool {
        self.secret_created
            || self.version_added
            || !self.versions_scheduled.is_empty()
            || !self.readers_added.is_empty()
    }
}

/// The secret as read: what the plan says of it and the key its current version holds.
pub(in crate::provision) struct Found {
    pub(in crate::provision) secret: SecretPlan,
    pub(in crate::provision) held: Option<Held>,
}

fn step(sink: &LockboxSink, folder_id: &str) -> String {
    match &sink.secret {
        LockboxSecret::Name(name) => format!("cannot read lockbox secret {name:?} in folder {folder_id}"),
        LockboxSecret::Id(id) => format!("cannot read lockbox secret {id}"),
    }
}

/// Reads the secret and the key its current version holds.
pub(in crate::provision) async fn read(
    client: &Client,
    sink: &LockboxSink,
    folder_id: &str,
) -> Result<Found, ProvisionError> {
    let lockbox = client.lockbox();
    let by = match &sink.secret {
        LockboxSecret::Name(name) => SecretRef::Name {
            folder_id: folder_id.to_owned(),
            name: name.clone(),
        },
        LockboxSecret::Id(id) => SecretRef::Id(id.clone()),
    };
    let first = match lockbox.payload_ex(by, None).await {
        Ok(payload) => {
            let held = payload
                .entries
                .get(&sink.entries.api_key_id)
                .and_then(|id| std::str::from_utf8(id).ok())
                .map(str::trim)
                .filter(|id| !id.is_empty())
                .map(|id| Held::id(id.to_owned()));
            let name = match &sink.secret {
                LockboxSecret::Name(name) => Some(name.clone()),
                // GetEx by id does not say the name, and it is not worth a call: reports only.
                LockboxSecret::Id(_) => None,
            };
            let secret = SecretPlan::Existing {
                id: payload.secret_id.clone(),
                name,
                current_version: Some(payload.version_id.clone()),
            };
            return Ok(Found { secret, held });
        }
        Err(e) if matches!(e.code(), Some(tonic::Code::NotFound | tonic::Code::FailedPrecondition)) => e,
        Err(e) => return Err(api(step(sink, folder_id))(e)),
    };
    // No payload: either there is no such secret or it has no version yet (a run was killed
    // between creating it and adding the first version).
    let secret = match &sink.secret {
        LockboxSecret::Name(name) => lockbox.find_by_name(folder_id, name).await,
        LockboxSecret::Id(id) => lockbox.get(id).await.map(Some),
    }
    .map_err(api(step(sink, folder_id)))?;
    match (secret, &sink.secret) {
        (Some(s), _) if s.current_version.is_none() => Ok(Found {
            secret: SecretPlan::Existing {
                id: s.id,
                name: Some(s.name),
                current_version: None,
            },
            held: None,
        }),
        (None, LockboxSecret::Name(name)) => Ok(Found {
            secret: SecretPlan::Create {
                folder_id: folder_id.to_owned(),
                name: name.clone(),
            },
            held: None,
        }),
        // A secret with a version whose payload cannot be read: the first answer says why.
        _ => Err(api(step(sink, folder_id))(first)),
    }
}

/// The readers that lack `lockbox.payloadViewer` on the secret.
pub(in crate::provision) async fn missing_readers(
    client: &Client,
    secret_id: &str,
    readers: &[Subject],
) -> Result<Vec<Subject>, ProvisionError> {
    if readers.is_empty() {
        return Ok(Vec::new());
    }
    let bindings: Vec<_> = client
        .lockbox()
        .list_access_bindings(secret_id)
        .try_collect()
        .await
        .map_err(api(format!(
            "cannot list access bindings of lockbox secret {secret_id}"
        )))?;
    let mut missing: Vec<Subject> = Vec::new();
    for reader in readers {
        let bound = bindings
            .iter()
            .any(|b| b.role_id == READER_ROLE && b.subject.as_ref() == Some(reader));
        if !bound && !missing.contains(reader) {
            missing.push(reader.clone());
        }
    }
    Ok(missing)
}

/// The active versions of the secret whose description carries `marker`: the versions this sink
/// added that are not yet scheduled for destruction.
pub(in crate::provision) async fn active_versions_with(
    client: &Client,
    secret_id: &str,
    marker: &str,
) -> Result<Vec<String>, ProvisionError> {
    let versions: Vec<_> = client
        .lockbox()
        .list_versions(secret_id)
        .try_collect()
        .await
        .map_err(api(format!("cannot list versions of lockbox secret {secret_id}")))?;
    Ok(versions
        .into_iter()
        .filter(|v| v.status == LockboxVersionStatus::Active as i32 && v.description.ends_with(marker))
        .map(|v| v.id)
        .collect())
}

/// Creates the secret, without a version: the key's marker names the secret's id, so the secret
/// comes before the key, and the key before the version that holds it. A secret made by a run
/// killed just before (or by a concurrent run) is found by name and used.
pub(in crate::provision) async fn create_secret(
    client: &Client,
    folder_id: &str,
    name: &str,
) -> Result<String, ProvisionError> {
    let step = || format!("cannot create lockbox secret {name:?} in folder {folder_id}");
    let request = CreateSecret::new(folder_id, name)
        .description("API key kept by yc-iam provision")
        .label(MANAGED_BY.0, MANAGED_BY.1);
    let created = match client.lockbox().create(request).await {
        Ok(op) => op.wait().await,
        Err(e) => Err(e),
    };
    match created {
        Ok(secret) => Ok(secret.id),
        Err(e) if e.code() == Some(tonic::Code::AlreadyExists) || e.kind() == ErrorKind::AlreadyExists => {
            match client.lockbox().find_by_name(folder_id, name).await {
                Ok(Some(secret)) => Ok(secret.id),
                Ok(None) => Err(api(step())(e)),
                Err(e) => Err(api(step())(e)),
            }
        }
        Err(e) => Err(api(step())(e)),
    }
}

/// Grants `lockbox.payloadViewer` on the secret to `readers`, in one call.
pub(in crate::provision) async fn add_readers(
    client: &Client,
    secret_id: &str,
    readers: &[Subject],
) -> Result<Vec<String>, ProvisionError> {
    if readers.is_empty() {
        return Ok(Vec::new());
    }
    let deltas = readers
        .iter()
        .map(|s| {
            AccessBindingDelta::add(crate::model::AccessBinding::new(
                READER_ROLE,
                s.r#type.clone(),
                s.id.clone(),
            ))
        })
        .collect();
    let step = || format!("cannot grant {READER_ROLE} on lockbox secret {secret_id}");
    match client.lockbox().update_access_bindings(secret_id, deltas).await {
        Ok(op) => op.wait().await.map_err(api(step()))?,
        Err(e) => return Err(api(step())(e)),
    }
    Ok(readers.iter().map(|s| format!("{}:{}", s.r#type, s.id)).collect())
}

/// A version that was not confirmed added.
pub(in crate::provision) struct VersionNotAdded {
    /// Why.
    pub error: Error,
    /// Whether the server refused it for sure. When not (a lost answer, a wait cut short), the
    /// version may be current and name the key, which must then stay alive: the next run reads
    /// the secret and keeps the key or deletes it.
    pub refused: bool,
}

/// Adds the version holding `key`, based on `base` (the current version when the plan read the
/// secret), and returns the id of the version that holds it, current.
///
/// Yandex documents `base_version_id` only as the version whose entries the new one copies;
/// nothing says a base that is no longer current is refused. So writers that added versions
/// since the plan are detected here, not left to the server:
/// - right before the new version is added, the current version is read (another one there:
///   nothing is added, the key can go) and the versions are listed;
/// - right after, the current version is read again (another one there: the new version is not
///   current, so neither the replaced version nor the replaced key may go; the next run reads
///   the secret and decides), and the versions are listed again: one that is neither known nor
///   ours was added between the two reads, and its entries were left out of ours, which copied
///   the base. They are put back (see [`restore_entries`]).
pub(in crate::provision) async fn add_key_version(
    client: &Client,
    sink: &LockboxSink,
    secret_id: &str,
    base: Option<&str>,
    key: &IssuedKey,
    folder_id: &str,
    marker: &str,
) -> Result<String, VersionNotAdded> {
    let names = &sink.entries;
    let description = format!("{} {} made by yc-iam {marker}", key.kind().describe(), key.held_as());
    let mut request = AddVersion::new(secret_id)
        .description(description.clone())
        .entry(&names.api_key, &key.secret_entry())
        .entry(&names.api_key_id, &key.held_as().to_owned().into())
        .entry(&names.folder_id, &folder_id.to_owned().into());
    let mut known = Vec::new();
    if let Some(base) = base {
        let refused = |error| VersionNotAdded { error, refused: true };
        let current = current_version(client, secret_id).await.map_err(refused)?;
        if current.as_deref() != Some(base) {
            return Err(refused(another_writer(secret_id, base, current.as_deref())));
        }
        known = version_ids(client, secret_id).await.map_err(refused)?;
        request = request.base_version_id(base);
    }
    let refused_call = |error: Error| {
        let refused = matches!(
            error.kind(),
            ErrorKind::InvalidArgument
                | ErrorKind::Unauthenticated
                | ErrorKind::PermissionDenied
                | ErrorKind::NotFound
                | ErrorKind::AlreadyExists
                | ErrorKind::Credentials
                | ErrorKind::Config
        );
        VersionNotAdded { error, refused }
    };
    let operation = client.lockbox().add_version(request).await.map_err(refused_call)?;
    let version = operation.wait().await.map_err(|error| VersionNotAdded {
        refused: error.kind() == ErrorKind::OperationFailed,
        error,
    })?;
    let Some(base) = base else {
        return Ok(version.id);
    };
    // Added, so the key may be named by a version: whatever goes wrong now, it stays.
    let kept = |error| VersionNotAdded { error, refused: false };
    let current = current_version(client, secret_id).await.map_err(kept)?;
    if current.as_deref() != Some(version.id.as_str()) {
        return Err(kept(another_writer(secret_id, &version.id, current.as_deref())));
    }
    let mut theirs: Vec<Version> = client
        .lockbox()
        .list_versions(secret_id)
        .try_filter(|v| std::future::ready(v.id != version.id && !known.contains(&v.id)))
        .try_collect()
        .await
        .map_err(kept)?;
    if theirs.is_empty() {
        return Ok(version.id);
    }
    theirs.sort_by_key(|v| v.created_at.as_ref().map(|t| (t.seconds, t.nanos)));
    restore_entries(client, sink, secret_id, base, &version.id, &theirs, description)
        .await
        .map_err(kept)
}

/// Puts back the entries that the versions `theirs`, added by another writer between the check
/// before `ours` and `ours`, set or changed against `base`: `ours` copied `base`, so they are
/// missing from the current version. The new version is based on `ours` and carries them, later
/// versions winning; the key's own entries stay ours (two writers of one key: the last one
/// wins). `ours`, replaced, is scheduled for destruction. Returns the version that holds the
/// key, current. Entries that they removed are not removed again: a version can only set
/// entries.
async fn restore_entries(
    client: &Client,
    sink: &LockboxSink,
    secret_id: &str,
    base: &str,
    ours: &str,
    theirs: &[Version],
    description: String,
) -> Result<String, Error> {
    let lockbox = client.lockbox();
    let names = &sink.entries;
    let own = [&names.api_key, &names.api_key_id, &names.folder_id];
    let before = lockbox.payload(secret_id, Some(base)).await?;
    let mut payloads = Vec::with_capacity(theirs.len());
    for version in theirs {
        payloads.push(lockbox.payload(secret_id, Some(&version.id)).await?);
    }
    let mut restore = AddVersion::new(secret_id)
        .base_version_id(ours)
        .description(description);
    let mut restored = Vec::new();
    // The newest version first, so that the value it set is the one restored.
    for entry in payloads.iter().rev().flat_map(|p| &p.entries) {
        let unchanged = before
            .entries
            .iter()
            .any(|e| e.key == entry.key && e.value == entry.value);
        if own.contains(&&entry.key) || unchanged || restored.contains(&entry.key) {
            continue;
        }
        restored.push(entry.key.clone());
        restore = restore.copied_entry(entry);
    }
    if restored.is_empty() {
        return Ok(ours.to_owned());
    }
    let version = lockbox.add_version(restore).await?.wait().await?;
    let current = current_version(client, secret_id).await?;
    if current.as_deref() != Some(version.id.as_str()) {
        return Err(another_writer(secret_id, &version.id, current.as_deref()));
    }
    // Ours holds the same key as the new version; were it not scheduled now, the next run would
    // find it (it carries the sink's marker and is not current) and schedule it then.
    let _ = schedule_destruction(client, sink, secret_id, ours).await;
    Ok(version.id)
}

/// Schedules for destruction every version of the secret that carries its marker, is active and
/// is not current, and returns their ids: what a rotation does before it deletes a replaced key
/// of the secret, since a run killed after making the successor and before scheduling the
/// version it replaced leaves that version active, and once the key is gone nothing else would
/// ever look for it.
pub(crate) async fn retire_replaced(
    client: &Client,
    sink: &LockboxSink,
    secret_id: &str,
) -> Result<Vec<String>, ProvisionError> {
    let marker = super::marker::lockbox(secret_id);
    let (ours, current) = futures_util::future::try_join(active_versions_with(client, secret_id, &marker), async {
        current_version(client, secret_id)
            .await
            .map_err(api(format!("cannot read lockbox secret {secret_id}")))
    })
    .await?;
    let mut scheduled = Vec::new();
    for version in ours.into_iter().filter(|v| Some(v) != current.as_ref()) {
        schedule_destruction(client, sink, secret_id, &version)
            .await
            .map_err(api(format!(
                "cannot schedule version {version} of lockbox secret {secret_id} for destruction"
            )))?;
        scheduled.push(version);
    }
    Ok(scheduled)
}

/// Drops the entries `names` of a key of another kind, `held_as`, from the secret once a key of
/// the sink's kind replaced it (a fleet entry whose type changed), then schedules the versions
/// left behind. Only while the current version is ours (it carries the sink's marker) and its
/// `id_entry` still names that key is a version added: based on the current one, without those
/// entries. Every marked, active, non-current version is then scheduled ([`retire_replaced`]), so
/// a run killed in between is finished by the next. A version another writer added meanwhile
/// fails the step and keeps the key, which the next run finds again; so does a current version
/// another writer added that still names the key.
pub(crate) async fn drop_entries(
    client: &Client,
    sink: &LockboxSink,
    secret_id: &str,
    (names, id_entry): (&[&str], &str),
    held_as: &str,
) -> Result<(), ProvisionError> {
    use crate::proto::yandex::cloud::lockbox::v1::payload::entry::Value;
    let step = || format!("cannot drop the entries of key {held_as} from lockbox secret {secret_id}");
    let lockbox = client.lockbox();
    let secret = lockbox.get(secret_id).await.map_err(api(step()))?;
    let marker = super::marker::lockbox(secret_id);
    if let Some(current) = secret.current_version {
        let payload = lockbox
            .payload(secret_id, Some(&current.id))
            .await
            .map_err(api(step()))?;
        let names_it = payload
            .entries
            .iter()
            .any(|e| e.key == id_entry && matches!(&e.value, Some(Value::TextValue(id)) if id.trim() == held_as));
        let ours = current.description.ends_with(&marker);
        if !ours && names_it {
            return Err(api(step())(still_named(secret_id, &current.id, held_as)));
        }
        let present: Vec<&str> = names
            .iter()
            .copied()
            .filter(|name| payload.entries.iter().any(|e| e.key == *name))
            .collect();
        if ours && names_it && !present.is_empty() {
            let known = version_ids(client, secret_id).await.map_err(api(step()))?;
            let mut request = AddVersion::new(secret_id)
                .base_version_id(&current.id)
                .description(current.description.clone());
            for name in present {
                request = request.without_entry(name);
            }
            let added = async { lockbox.add_version(request).await?.wait().await }
                .await
                .map_err(api(step()))?;
            let after = version_ids(client, secret_id).await.map_err(api(step()))?;
            if let Some(theirs) = after.iter().find(|v| **v != added.id && !known.contains(v)) {
                return Err(api(step())(another_writer(secret_id, &added.id, Some(theirs))));
            }
        }
    }
    retire_replaced(client, sink, secret_id).await.map(drop)
}

/// The ids of the secret's versions.
async fn version_ids(client: &Client, secret_id: &str) -> Result<Vec<String>, Error> {
    client
        .lockbox()
        .list_versions(secret_id)
        .map_ok(|v| v.id)
        .try_collect()
        .await
}

/// The id of the secret's current version.
async fn current_version(client: &Client, secret_id: &str) -> Result<Option<String>, Error> {
    let secret = client.lockbox().get(secret_id).await?;
    Ok(secret.current_version.map(|v| v.id))
}

/// The error of a secret whose current version is not `expected`: another writer added one.
fn another_writer(secret_id: &str, expected: &str, current: Option<&str>) -> Error {
    Error::new(
        ErrorKind::InvalidArgument,
        format!("lockbox secret {secret_id}"),
        format!(
            "another writer changed the current version (expected {expected}, found {})",
            current.unwrap_or("none")
        ),
    )
}

/// The error of a key that another writer's current version still names: deleting it would
/// leave the sink naming a deleted key, so it is kept until a version without it is current.
fn still_named(secret_id: &str, version_id: &str, key_id: &str) -> Error {
    Error::new(
        ErrorKind::InvalidArgument,
        format!("lockbox secret {secret_id}"),
        format!("its current version {version_id}, added by another writer, still names key {key_id}"),
    )
}

/// Schedules `version_id` for destruction after the sink's pending period.
pub(in crate::provision) async fn schedule_destruction(
    client: &Client,
    sink: &LockboxSink,
    secret_id: &str,
    version_id: &str,
) -> Result<(), Error> {
    let op = client
        .lockbox()
        .schedule_version_destruction(secret_id, version_id, Some(sink.pending_period))
        .await?;
    op.wait().await.map(drop)
}
