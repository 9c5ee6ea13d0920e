//! Lockbox `SecretService`: secrets in folders (names unique within a folder), their versions and
//! the life of a version: ACTIVE, SCHEDULED_FOR_DESTRUCTION, then DESTROYED once its `destroy_at`
//! passes on the emulator's clock. A new version is the base version (the current one unless
//! named; any version not destroyed) changed by the given entries. A generated secret (one with
//! a password specification) gets a fresh generated value in each version added without changes.

use std::collections::BTreeSet;

use tokio::time::Duration;
use tonic::{Request, Response, Status};

use super::access_bindings::Resource;
use super::lockbox_password;
use super::service_account::require_folder;
use super::{Call, Outcome, Svc, checked};
use crate::emulator::Inner;
use crate::emulator::clock;
use crate::emulator::errors::{already_exists, failed_precondition, invalid_argument, not_found, pack};
use crate::emulator::page::page;
use crate::emulator::state::{
    EntryRec, EntryValue, PasswordSpecRec, ResourceMeta, SecretRec, State, VersionRec, VersionState,
};
use crate::proto::yandex::cloud::access::{
    ListAccessBindingsRequest, ListAccessBindingsResponse, SetAccessBindingsRequest, UpdateAccessBindingsRequest,
};
use crate::proto::yandex::cloud::lockbox::v1::secret_service_server::SecretService;
use crate::proto::yandex::cloud::lockbox::v1::{
    ActivateSecretMetadata, ActivateSecretRequest, AddVersionRequest, CancelVersionDestructionRequest,
    CreateSecretMetadata, CreateSecretRequest, DeactivateSecretMetadata, DeactivateSecretRequest, DeleteSecretMetadata,
    DeleteSecretRequest, GetSecretRequest, ListSecretOperationsRequest, ListSecretOperationsResponse,
    ListSecretsRequest, ListSecretsResponse, ListVersionsRequest, ListVersionsResponse, PasswordPayloadSpecification,
    PayloadEntryChange, ScheduleVersionDestructionRequest, Secret, SetCurrentVersionRequest, UpdateSecretMetadata,
    UpdateSecretRequest, Version, create_secret_request, payload_entry_change, update_secret_request,
};
use crate::proto::yandex::cloud::operation::Operation;

const SERVICE: &str = "/yandex.cloud.lockbox.v1.SecretService/";
/// The prefix of Lockbox ids (secrets and versions).
pub(crate) const ID_PREFIX: &str = "e6q";
/// The most bytes one payload entry may hold (text as UTF-8).
pub(crate) const MAX_ENTRY_BYTES: usize = 65_536;
/// How long a version scheduled for destruction waits when the request names no period.
const DEFAULT_PENDING_PERIOD: Duration = Duration::from_secs(7 * 24 * 3600);

/// The type URLs of the secret's own operation metadata (each has `secret_id` as field 1).
const METADATA_TYPES: &[&str] = &[
    "yandex.cloud.lockbox.v1.CreateSecretMetadata",
    "yandex.cloud.lockbox.v1.UpdateSecretMetadata",
    "yandex.cloud.lockbox.v1.DeleteSecretMetadata",
    "yandex.cloud.lockbox.v1.ActivateSecretMetadata",
    "yandex.cloud.lockbox.v1.DeactivateSecretMetadata",
    "yandex.cloud.lockbox.v1.AddVersionMetadata",
    "yandex.cloud.lockbox.v1.SetCurrentVersionMetadata",
    "yandex.cloud.lockbox.v1.ScheduleVersionDestructionMetadata",
    "yandex.cloud.lockbox.v1.CancelVersionDestructionMetadata",
];

fn method(name: &str) -> String {
    format!("{SERVICE}{name}")
}

/// NOT_FOUND unless the secret exists.
pub(crate) fn require_secret<'a>(state: &'a State, id: &str) -> Result<&'a SecretRec, Status> {
    state
        .lockbox
        .get(id)
        .ok_or_else(|| not_found(format!("Secret {id} not found")))
}

fn require_version<'a>(secret: &'a SecretRec, id: &str) -> Result<&'a VersionRec, Status> {
    secret
        .version(id)
        .ok_or_else(|| not_found(format!("Version {id} of secret {} not found", secret.meta.id)))
}

/// ALREADY_EXISTS if another secret of the folder has `name` (unnamed secrets never clash).
fn require_unique_name(state: &State, folder_id: &str, name: &str, except: &str) -> Result<(), Status> {
    match state.lockbox.named(folder_id, name) {
        Some(other) if !name.is_empty() && other.meta.id != except => Err(already_exists(format!(
            "Secret with name {name} already exists in folder {folder_id}"
        ))),
        _ => Ok(()),
    }
}

/// The rules on entries the proto options cannot say: a text value's size in bytes, and one
/// change per key. `field` names the repeated field in errors.
fn check_entries(changes: &[PayloadEntryChange], field: &str) -> Result<(), Status> {
    let mut keys = BTreeSet::new();
    for (i, change) in changes.iter().enumerate() {
        if let Some(payload_entry_change::Value::TextValue(text)) = &change.value
            && text.len() > MAX_ENTRY_BYTES
        {
            return Err(invalid_argument(
                &format!("{field}[{i}].text_value"),
                &format!("an entry holds at most {MAX_ENTRY_BYTES} bytes"),
            ));
        }
        if !keys.insert(change.key.as_str()) {
            return Err(invalid_argument(&format!("{field}[{i}].key"), "duplicate entry key"));
        }
    }
    Ok(())
}

fn entry_value(value: payload_entry_change::Value) -> EntryValue {
    match value {
        payload_entry_change::Value::TextValue(text) => EntryValue::Text(text),
        payload_entry_change::Value::BinaryValue(bytes) => EntryValue::Binary(bytes),
    }
}

/// The entries of a new version: `base` with each change applied in order. A change with a value
/// sets its key (replacing or appending); a change without one removes its key from the base.
fn changed_entries(base: &[EntryRec], changes: Vec<PayloadEntryChange>, field: &str) -> Result<Vec<EntryRec>, Status> {
    let mut entries = base.to_vec();
    for (i, mut change) in changes.into_iter().enumerate() {
        let position = entries.iter().position(|e| e.key == change.key);
        // Taken out: a change clears what it still holds when dropped.
        match (change.value.take(), position) {
            (Some(value), Some(at)) => entries[at].value = Some(entry_value(value)),
            (Some(value), None) => entries.push(EntryRec {
                key: std::mem::take(&mut change.key),
                value: Some(entry_value(value)),
            }),
            (None, Some(at)) => {
                entries.remove(at);
            }
            (None, None) => {
                return Err(invalid_argument(
                    &format!("{field}[{i}]"),
                    "a change without a value removes an entry, and the base version has no entry with this key",
                ));
            }
        }
    }
    if entries.is_empty() {
        return Err(invalid_argument(field, "a version holds at least one entry"));
    }
    Ok(entries)
}

fn new_version(
    inner: &Inner,
    description: String,
    entries: Vec<EntryRec>,
    password_spec: Option<PasswordSpecRec>,
) -> VersionRec {
    VersionRec {
        id: inner.new_id(ID_PREFIX),
        created_at: (&inner.clock.now()).into(),
        description,
        destroy_at: None,
        entries,
        password_spec,
    }
}

/// Applies `change` to a copy of the secret, stores it and answers with the secret as it is after.
fn change_secret(
    inner: &Inner,
    state: &mut State,
    id: &str,
    change: impl FnOnce(&mut SecretRec) -> Result<(), Status>,
) -> Result<Secret, Status> {
    let mut secret = require_secret(state, id)?.clone();
    change(&mut secret)?;
    let rendered = secret.to_proto(&inner.clock);
    state.lockbox.put(secret);
    Ok(rendered)
}

/// Sets when a version is destroyed (`None`: never) in a copy of the secret, stores it, wakes the
/// destruction task, and answers with the version as it is after.
fn set_destroy_at(
    inner: &Inner,
    state: &mut State,
    (secret_id, version_id): (&str, &str),
    destroy_at: Option<prost_types::Timestamp>,
) -> Result<Version, Status> {
    let mut secret = require_secret(state, secret_id)?.clone();
    let version = secret
        .version_mut(version_id)
        .ok_or_else(|| not_found(format!("Version {version_id} of secret {secret_id} not found")))?;
    version.destroy_at = destroy_at.as_ref().map(Into::into);
    let rendered = version.to_proto(secret_id, &inner.clock);
    state.lockbox.put(secret);
    inner.destructions_changed.notify_one();
    Ok(rendered)
}

/// The operations on one version that only a version in a given state allows.
#[derive(Debug, Clone, Copy)]
enum VersionOp {
    SetCurrent,
    ScheduleDestruction,
    CancelDestruction,
}

impl VersionOp {
    /// The state the version must be in, and the end of the FAILED_PRECONDITION message when it
    /// is not ("Version {id} ...").
    fn requires(self) -> (VersionState, &'static str) {
        match self {
            VersionOp::SetCurrent => (
                VersionState::Active,
                "is not active and cannot become the current version",
            ),
            VersionOp::ScheduleDestruction => (
                VersionState::Active,
                "is already scheduled for destruction or destroyed",
            ),
            VersionOp::CancelDestruction => (
                VersionState::ScheduledForDestruction,
                "is not scheduled for destruction",
            ),
        }
    }

    /// The operation's description and the name of its metadata message.
    fn names(self) -> (&'static str, &'static str) {
        match self {
            VersionOp::SetCurrent => ("Set current secret version", "SetCurrentVersionMetadata"),
            VersionOp::ScheduleDestruction => (
                "Schedule secret version destruction",
                "ScheduleVersionDestructionMetadata",
            ),
            VersionOp::CancelDestruction => ("Cancel secret version destruction", "CancelVersionDestructionMetadata"),
        }
    }
}

impl Svc {
    /// `SetCurrentVersion`, `ScheduleVersionDestruction` and `CancelVersionDestruction`: the
    /// version checked, then `apply` given the secret and version ids; it answers the version as it
    /// is after, and when it will be destroyed.
    fn change_version(
        &self,
        call: Call,
        op: VersionOp,
        ids: (String, String),
        apply: impl FnOnce(&Inner, &mut State, (&str, &str)) -> Result<(Version, Option<prost_types::Timestamp>), Status>
        + Send
        + 'static,
    ) -> Result<Response<Operation>, Status> {
        let (secret_id, version_id) = ids;
        self.operation(call, move |inner, state| {
            let version = require_version(require_secret(state, &secret_id)?, &version_id)?;
            let (required, refusal) = op.requires();
            if version.state(&inner.clock) != required {
                return Err(failed_precondition(format!("Version {version_id} {refusal}")));
            }
            let (rendered, destroy_at) = apply(inner, state, (&secret_id, &version_id))?;
            let metadata = VersionMetadata {
                secret_id,
                version_id,
                destroy_at,
            };
            let (description, metadata_type) = op.names();
            Ok(version_outcome(description, metadata_type, metadata, &rendered))
        })
    }

    /// `Activate` and `Deactivate`: the secret's status set, answered with the secret.
    fn set_active(
        &self,
        call: Call,
        secret_id: String,
        active: bool,
        description: &'static str,
        metadata: prost_types::Any,
    ) -> Result<Response<Operation>, Status> {
        self.operation(call, move |inner, state| {
            let rendered = change_secret(inner, state, &secret_id, |secret| {
                secret.active = active;
                Ok(())
            })?;
            Ok(Outcome {
                description,
                metadata,
                response: pack("yandex.cloud.lockbox.v1.Secret", &rendered),
            })
        })
    }
}

/// A `google.protobuf.Duration` as a `Duration`; INVALID_ARGUMENT when negative or malformed.
fn pending_period(period: Option<&prost_types::Duration>) -> Result<Duration, Status> {
    let Some(period) = period else {
        return Ok(DEFAULT_PENDING_PERIOD);
    };
    let bad = || invalid_argument("pending_period", "must be a non-negative duration");
    let seconds = u64::try_from(period.seconds).map_err(|_| bad())?;
    let nanos = u32::try_from(period.nanos)
        .ok()
        .filter(|n| *n < 1_000_000_000)
        .ok_or_else(bad)?;
    Ok(Duration::new(seconds, nanos))
}

/// The stored form of a request's password specification, checked.
fn password_spec(spec: Option<PasswordPayloadSpecification>) -> Result<Option<PasswordSpecRec>, Status> {
    let spec = spec.map(PasswordSpecRec::from_proto);
    if let Some(spec) = &spec {
        lockbox_password::check(spec, "password_payload_specification")?;
    }
    Ok(spec)
}

/// `entries` with the generated entry of `spec` set to a fresh value.
fn regenerated(entries: &[EntryRec], spec: &PasswordSpecRec) -> Result<Vec<EntryRec>, Status> {
    let fresh = lockbox_password::generate(spec, "password_payload_specification")?;
    let mut entries = entries.to_vec();
    match entries.iter_mut().find(|e| e.key == fresh.key) {
        Some(entry) => *entry = fresh,
        None => entries.push(fresh),
    }
    Ok(entries)
}

#[tonic::async_trait]
impl SecretService for Svc {
    async fn get(&self, request: Request<GetSecretRequest>) -> Result<Response<Secret>, Status> {
        let request = checked(request)?;
        let clock = &self.inner.clock;
        self.inner
            .read(|state| require_secret(state, &request.secret_id).map(|s| s.to_proto(clock)))
            .map(Response::new)
    }

    async fn list(&self, request: Request<ListSecretsRequest>) -> Result<Response<ListSecretsResponse>, Status> {
        let request = checked(request)?;
        let clock = &self.inner.clock;
        let items = self.inner.read(|state| {
            require_folder(state, &request.folder_id)?;
            Ok::<_, Status>(
                state
                    .lockbox
                    .in_folder(&request.folder_id)
                    .map(|s| (s.meta.id.clone(), s.to_proto(clock)))
                    .collect::<Vec<_>>(),
            )
        })?;
        let (secrets, next_page_token) = page(items, request.page_size, &request.page_token)?;
        Ok(Response::new(ListSecretsResponse {
            secrets,
            next_page_token,
        }))
    }

    async fn create(&self, request: Request<CreateSecretRequest>) -> Result<Response<Operation>, Status> {
        let (call, mut body) = Call::checked(request, &method("Create"))?;
        check_entries(&body.version_payload_entries, "version_payload_entries")?;
        let changes = std::mem::take(&mut body.version_payload_entries);
        let spec = password_spec(
            body.payload_specification
                .take()
                .map(|create_secret_request::PayloadSpecification::PasswordPayloadSpecification(spec)| spec),
        )?;
        if spec.is_some() && !changes.is_empty() {
            return Err(invalid_argument(
                "password_payload_specification",
                "cannot be set together with version_payload_entries",
            ));
        }
        let has_payload = spec.is_some() || !changes.is_empty();
        let with_version = match body.create_version {
            Some(true) if !has_payload => {
                return Err(invalid_argument(
                    "version_payload_entries",
                    "version_payload_entries or password_payload_specification is required when create_version is true",
                ));
            }
            Some(wanted) => wanted,
            None => has_payload,
        };
        if let Some(i) = changes.iter().position(|c| c.value.is_none()) {
            return Err(invalid_argument(
                &format!("version_payload_entries[{i}]"),
                "a text_value or a binary_value is required",
            ));
        }
        self.operation(call, move |inner, state| {
            require_folder(state, &body.folder_id)?;
            require_unique_name(state, &body.folder_id, &body.name, "")?;
            let id = inner.new_id(ID_PREFIX);
            let version = match (&spec, with_version) {
                (_, false) => None,
                (Some(spec), true) => {
                    let entries = regenerated(&[], spec)?;
                    Some(new_version(
                        inner,
                        body.version_description,
                        entries,
                        Some(spec.clone()),
                    ))
                }
                (None, true) => {
                    let entries = changed_entries(&[], changes, "version_payload_entries")?;
                    Some(new_version(inner, body.version_description, entries, None))
                }
            };
            let version_id = version.as_ref().map(|v| v.id.clone()).unwrap_or_default();
            let secret = SecretRec {
                meta: ResourceMeta::new(&id, body.folder_id, body.name, inner.clock.now())
                    .described(body.description, body.labels),
                kms_key_id: body.kms_key_id,
                active: true,
                deletion_protection: body.deletion_protection,
                current_version: version_id.clone(),
                versions: version.into_iter().collect(),
                password_spec: spec,
            };
            let rendered = secret.to_proto(&inner.clock);
            state.lockbox.put(secret);
            Ok(Outcome {
                description: "Create secret",
                metadata: pack(
                    "yandex.cloud.lockbox.v1.CreateSecretMetadata",
                    &CreateSecretMetadata {
                        secret_id: id,
                        version_id,
                    },
                ),
                response: pack("yandex.cloud.lockbox.v1.Secret", &rendered),
            })
        })
    }

    async fn update(&self, request: Request<UpdateSecretRequest>) -> Result<Response<Operation>, Status> {
        let (call, mut body) = Call::checked(request, &method("Update"))?;
        let paths = body.update_mask.as_ref().map(|m| m.paths.clone()).unwrap_or_default();
        if paths.is_empty() {
            return Err(invalid_argument("update_mask", "names no field to update"));
        }
        let spec = password_spec(
            body.payload_specification
                .take()
                .map(|update_secret_request::PayloadSpecification::PasswordPayloadSpecification(spec)| spec),
        )?;
        self.operation(call, move |inner, state| {
            let folder_id = require_secret(state, &body.secret_id)?.meta.folder_id.clone();
            if paths.iter().any(|p| p == "name") {
                require_unique_name(state, &folder_id, &body.name, &body.secret_id)?;
            }
            let rendered = change_secret(inner, state, &body.secret_id, |secret| {
                for (i, path) in paths.iter().enumerate() {
                    match path.as_str() {
                        "name" => secret.meta.name = body.name.clone(),
                        "description" => secret.meta.description = body.description.clone(),
                        "labels" => secret.meta.labels = body.labels.clone(),
                        "deletion_protection" => secret.deletion_protection = body.deletion_protection,
                        "password_payload_specification" => secret.password_spec = spec.clone(),
                        _ => return Err(invalid_argument(&format!("update_mask.paths[{i}]"), "unknown field")),
                    }
                }
                Ok(())
            })?;
            Ok(Outcome {
                description: "Update secret",
                metadata: pack(
                    "yandex.cloud.lockbox.v1.UpdateSecretMetadata",
                    &UpdateSecretMetadata {
                        secret_id: body.secret_id.clone(),
                    },
                ),
                response: pack("yandex.cloud.lockbox.v1.Secret", &rendered),
            })
        })
    }

    async fn delete(&self, request: Request<DeleteSecretRequest>) -> Result<Response<Operation>, Status> {
        let (call, body) = Call::checked(request, &method("Delete"))?;
        let id = body.secret_id;
        self.operation(call, move |inner, state| {
            if require_secret(state, &id)?.deletion_protection {
                return Err(failed_precondition(format!(
                    "Secret {id} is protected from deletion; turn deletion_protection off first"
                )));
            }
            let removed = state.lockbox.remove(&id).map(|s| s.to_proto(&inner.clock));
            state.bindings.remove(&id);
            Ok(Outcome {
                description: "Delete secret",
                metadata: pack(
                    "yandex.cloud.lockbox.v1.DeleteSecretMetadata",
                    &DeleteSecretMetadata { secret_id: id },
                ),
                response: pack("yandex.cloud.lockbox.v1.Secret", &removed.unwrap_or_default()),
            })
        })
    }

    async fn activate(&self, request: Request<ActivateSecretRequest>) -> Result<Response<Operation>, Status> {
        let (call, body) = Call::checked(request, &method("Activate"))?;
        let secret_id = body.secret_id;
        let metadata = pack(
            "yandex.cloud.lockbox.v1.ActivateSecretMetadata",
            &ActivateSecretMetadata {
                secret_id: secret_id.clone(),
            },
        );
        self.set_active(call, secret_id, true, "Activate secret", metadata)
    }

    async fn deactivate(&self, request: Request<DeactivateSecretRequest>) -> Result<Response<Operation>, Status> {
        let (call, body) = Call::checked(request, &method("Deactivate"))?;
        let secret_id = body.secret_id;
        let metadata = pack(
            "yandex.cloud.lockbox.v1.DeactivateSecretMetadata",
            &DeactivateSecretMetadata {
                secret_id: secret_id.clone(),
            },
        );
        self.set_active(call, secret_id, false, "Deactivate secret", metadata)
    }

    async fn list_versions(
        &self,
        request: Request<ListVersionsRequest>,
    ) -> Result<Response<ListVersionsResponse>, Status> {
        let request = checked(request)?;
        let clock = &self.inner.clock;
        let items = self.inner.read(|state| {
            let secret = require_secret(state, &request.secret_id)?;
            // Versions are never removed, so their position orders them for good (oldest first).
            Ok::<_, Status>(
                secret
                    .versions
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (format!("{i:010}"), v.to_proto(&secret.meta.id, clock)))
                    .collect::<Vec<_>>(),
            )
        })?;
        let (versions, next_page_token) = page(items, request.page_size, &request.page_token)?;
        Ok(Response::new(ListVersionsResponse {
            versions,
            next_page_token,
        }))
    }

    async fn add_version(&self, request: Request<AddVersionRequest>) -> Result<Response<Operation>, Status> {
        let (call, mut body) = Call::checked(request, &method("AddVersion"))?;
        check_entries(&body.payload_entries, "payload_entries")?;
        let changes = std::mem::take(&mut body.payload_entries);
        self.operation(call, move |inner, state| {
            let secret = require_secret(state, &body.secret_id)?;
            // Yandex says only that the entries not given are copied from the base; nothing says a
            // base that is no longer current is refused, so any version of the secret will do,
            // except a destroyed one, whose values are gone. Clients detect concurrent writers
            // themselves (the provision sink reads the current version before and after).
            let base = if body.base_version_id.is_empty() {
                secret.version(&secret.current_version)
            } else {
                let base = require_version(secret, &body.base_version_id)?;
                if base.state(&inner.clock) == VersionState::Destroyed {
                    return Err(failed_precondition(format!(
                        "Version {} is destroyed and cannot be a base",
                        body.base_version_id
                    )));
                }
                Some(base)
            };
            let base = base.map(|v| v.entries.as_slice()).unwrap_or_default();
            // A generated secret's new version without changes gets a fresh generated value.
            let (entries, spec) = match &secret.password_spec {
                Some(spec) if changes.is_empty() => (regenerated(base, spec)?, Some(spec.clone())),
                _ => (changed_entries(base, changes, "payload_entries")?, None),
            };
            let version = new_version(inner, body.description, entries, spec);
            let version_id = version.id.clone();
            let rendered = version.to_proto(&body.secret_id, &inner.clock);
            change_secret(inner, state, &body.secret_id, |secret| {
                secret.versions.push(version);
                secret.current_version = version_id.clone();
                Ok(())
            })?;
            let metadata = VersionMetadata {
                secret_id: body.secret_id.clone(),
                version_id,
                destroy_at: None,
            };
            Ok(version_outcome(
                "Add secret version",
                "AddVersionMetadata",
                metadata,
                &rendered,
            ))
        })
    }

    async fn set_current_version(
        &self,
        request: Request<SetCurrentVersionRequest>,
    ) -> Result<Response<Operation>, Status> {
        let (call, body) = Call::checked(request, &method("SetCurrentVersion"))?;
        let ids = (body.secret_id, body.version_id);
        self.change_version(
            call,
            VersionOp::SetCurrent,
            ids,
            |inner, state, (secret_id, version_id)| {
                let version = require_version(require_secret(state, secret_id)?, version_id)?;
                let rendered = version.to_proto(secret_id, &inner.clock);
                change_secret(inner, state, secret_id, |secret| {
                    secret.current_version = version_id.to_owned();
                    Ok(())
                })?;
                Ok((rendered, None))
            },
        )
    }

    async fn schedule_version_destruction(
        &self,
        request: Request<ScheduleVersionDestructionRequest>,
    ) -> Result<Response<Operation>, Status> {
        let (call, body) = Call::checked(request, &method("ScheduleVersionDestruction"))?;
        let period = pending_period(body.pending_period.as_ref())?;
        let ids = (body.secret_id, body.version_id);
        self.change_version(call, VersionOp::ScheduleDestruction, ids, move |inner, state, ids| {
            let (secret_id, version_id) = ids;
            if version_id == require_secret(state, secret_id)?.current_version {
                return Err(failed_precondition(format!(
                    "Version {version_id} is the current version of secret {secret_id} and cannot be destroyed"
                )));
            }
            let destroy_at = clock::add(&inner.clock.now(), period);
            let rendered = set_destroy_at(inner, state, ids, Some(destroy_at))?;
            Ok((rendered, Some(destroy_at)))
        })
    }

    async fn cancel_version_destruction(
        &self,
        request: Request<CancelVersionDestructionRequest>,
    ) -> Result<Response<Operation>, Status> {
        let (call, body) = Call::checked(request, &method("CancelVersionDestruction"))?;
        let ids = (body.secret_id, body.version_id);
        self.change_version(call, VersionOp::CancelDestruction, ids, |inner, state, ids| {
            Ok((set_destroy_at(inner, state, ids, None)?, None))
        })
    }

    async fn list_operations(
        &self,
        request: Request<ListSecretOperationsRequest>,
    ) -> Result<Response<ListSecretOperationsResponse>, Status> {
        let request = checked(request)?;
        let clock = &self.inner.clock;
        let items = self.inner.read(|state| {
            require_secret(state, &request.secret_id)?;
            Ok::<_, Status>(
                state
                    .operations
                    .values()
                    .filter(|op| about_secret(&op.metadata.type_url, &op.metadata.value, &request.secret_id))
                    .map(|op| {
                        let key = format!("{:020}.{:09}.{}", op.created_at.seconds, op.created_at.nanos, op.id);
                        (key, op.render(clock))
                    })
                    .collect::<Vec<_>>(),
            )
        })?;
        let (operations, next_page_token) = page(items, request.page_size, &request.page_token)?;
        Ok(Response::new(ListSecretOperationsResponse {
            operations,
            next_page_token,
        }))
    }

    async fn list_access_bindings(
        &self,
        request: Request<ListAccessBindingsRequest>,
    ) -> Result<Response<ListAccessBindingsResponse>, Status> {
        self.list_bindings(Resource::LockboxSecret, request)
    }

    async fn set_access_bindings(
        &self,
        request: Request<SetAccessBindingsRequest>,
    ) -> Result<Response<Operation>, Status> {
        self.set_bindings(Resource::LockboxSecret, request)
    }

    async fn update_access_bindings(
        &self,
        request: Request<UpdateAccessBindingsRequest>,
    ) -> Result<Response<Operation>, Status> {
        self.update_bindings(Resource::LockboxSecret, request)
    }
}

/// The metadata of every operation on a version: `AddVersionMetadata`,
/// `SetCurrentVersionMetadata` and `CancelVersionDestructionMetadata` are fields 1 and 2,
/// `ScheduleVersionDestructionMetadata` adds 3.
#[derive(Clone, PartialEq, prost::Message)]
struct VersionMetadata {
    #[prost(string, tag = "1")]
    secret_id: String,
    #[prost(string, tag = "2")]
    version_id: String,
    #[prost(message, optional, tag = "3")]
    destroy_at: Option<prost_types::Timestamp>,
}

/// The outcome of an operation on a version: `metadata` as the message `metadata_type` names, and
/// the version as it is after.
fn version_outcome(
    description: &'static str,
    metadata_type: &str,
    metadata: VersionMetadata,
    version: &Version,
) -> Outcome {
    Outcome {
        description,
        metadata: pack(&format!("yandex.cloud.lockbox.v1.{metadata_type}"), &metadata),
        response: pack("yandex.cloud.lockbox.v1.Version", version),
    }
}

/// Whether an operation's metadata is about `secret_id`: the secret's own metadata types and the
/// access-binding ones all carry the id in field 1.
fn about_secret(type_url: &str, value: &[u8], secret_id: &str) -> bool {
    use prost::Message;
    let Some(name) = type_url.strip_prefix("type.googleapis.com/") else {
        return false;
    };
    let access = matches!(
        name,
        "yandex.cloud.access.SetAccessBindingsMetadata" | "yandex.cloud.access.UpdateAccessBindingsMetadata"
    );
    if !access && !METADATA_TYPES.contains(&name) {
        return false;
    }
    DeleteSecretMetadata::decode(value).is_ok_and(|m| m.secret_id == secret_id)
}
