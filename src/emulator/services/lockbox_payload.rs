//! Lockbox `PayloadService`: the values of a secret's version, for callers allowed to read them.
//!
//! A payload is readable by the emulator's own users (its configured tokens, which act as the
//! cloud's administrator) and by service accounts holding `lockbox.payloadViewer`,
//! `lockbox.editor`, `lockbox.admin`, `editor` or `admin` on the secret, its folder or its cloud.
//! Anyone else gets PERMISSION_DENIED, whether or not the secret exists, so that a caller without
//! the role learns nothing; a caller with the role on the folder learns that a name is not there.

use tonic::{Request, Response, Status};

use super::access_bindings::holds_role;
use super::lockbox_secret::require_secret;
use super::service_account::require_folder;
use super::{Svc, checked, principal};
use crate::emulator::Principal;
use crate::emulator::clock::Clock;
use crate::emulator::errors::{failed_precondition, not_found, permission_denied};
use crate::emulator::state::{EntryRec, SecretRec, State, VersionState};
use crate::proto::yandex::cloud::lockbox::v1::payload_service_server::PayloadService;
use crate::proto::yandex::cloud::lockbox::v1::{
    GetExRequest, GetExResponse, GetPayloadRequest, Payload, get_ex_request, payload,
};

/// The roles that let a subject read payloads.
pub(crate) const PAYLOAD_READER_ROLES: &[&str] = &[
    "lockbox.payloadViewer",
    "lockbox.editor",
    "lockbox.admin",
    "editor",
    "admin",
];

/// Whether `principal` may read payloads of secrets bound at these resources (secret, folder, cloud).
fn may_read(state: &State, clock: &Clock, principal: &Principal, resources: &[&str]) -> bool {
    match principal {
        Principal::User(_) => true,
        Principal::ServiceAccount(id) => holds_role(state, clock, id, resources, PAYLOAD_READER_ROLES),
    }
}

fn denied(what: &str) -> Status {
    permission_denied(format!("Permission denied to the payload of secret {what}"))
}

/// The secret `id` if `principal` may read its payload; PERMISSION_DENIED otherwise, and for an
/// unknown id unless the caller may read every payload.
fn readable_by_id<'a>(
    state: &'a State,
    clock: &Clock,
    principal: &Principal,
    id: &str,
) -> Result<&'a SecretRec, Status> {
    match state.lockbox.get(id) {
        Some(secret) if may_read(state, clock, principal, &resources(state, secret)) => Ok(secret),
        Some(_) => Err(denied(id)),
        None if matches!(principal, Principal::User(_)) => require_secret(state, id),
        None => Err(denied(id)),
    }
}

/// The secret named `name` in the folder, if `principal` may read its payload. Without a role on
/// the folder (or above) an unknown name is PERMISSION_DENIED too.
fn readable_by_name<'a>(
    state: &'a State,
    clock: &Clock,
    principal: &Principal,
    folder_id: &str,
    name: &str,
) -> Result<&'a SecretRec, Status> {
    require_folder(state, folder_id)?;
    let on_folder = may_read(state, clock, principal, &[folder_id, state.cloud_of(folder_id)]);
    match state.lockbox.named(folder_id, name) {
        Some(secret) if on_folder || may_read(state, clock, principal, &[&secret.meta.id]) => Ok(secret),
        None if on_folder => Err(not_found(format!("Secret {name} not found in folder {folder_id}"))),
        _ => Err(denied(name)),
    }
}

fn resources<'a>(state: &'a State, secret: &'a SecretRec) -> [&'a str; 3] {
    [
        &secret.meta.id,
        &secret.meta.folder_id,
        state.cloud_of(&secret.meta.folder_id),
    ]
}

/// The entries of a version (the current one when `version_id` is empty) that can be read now: the
/// secret must be active and the version neither scheduled for destruction nor destroyed.
fn readable_entries<'a>(
    secret: &'a SecretRec,
    version_id: &str,
    clock: &Clock,
) -> Result<(String, &'a [EntryRec]), Status> {
    if !secret.active {
        return Err(failed_precondition(format!(
            "Secret {} is deactivated; its payload cannot be read",
            secret.meta.id
        )));
    }
    let id = if version_id.is_empty() {
        secret.current_version.as_str()
    } else {
        version_id
    };
    if id.is_empty() {
        return Err(not_found(format!("Secret {} has no versions", secret.meta.id)));
    }
    let version = secret
        .version(id)
        .ok_or_else(|| not_found(format!("Version {id} of secret {} not found", secret.meta.id)))?;
    match version.state(clock) {
        VersionState::Active => Ok((version.id.clone(), &version.entries)),
        VersionState::ScheduledForDestruction => Err(failed_precondition(format!(
            "Version {id} is scheduled for destruction; its payload cannot be read"
        ))),
        VersionState::Destroyed => Err(failed_precondition(format!("Version {id} is destroyed"))),
    }
}

#[tonic::async_trait]
impl PayloadService for Svc {
    async fn get(&self, request: Request<GetPayloadRequest>) -> Result<Response<Payload>, Status> {
        let principal = principal(&request);
        let request = checked(request)?;
        let clock = &self.inner.clock;
        self.inner
            .read(|state| {
                let secret = readable_by_id(state, clock, &principal, &request.secret_id)?;
                let (version_id, entries) = readable_entries(secret, &request.version_id, clock)?;
                Ok(Payload {
                    version_id,
                    entries: entries
                        .iter()
                        .filter_map(|e| {
                            e.value.as_ref().map(|value| payload::Entry {
                                key: e.key.clone(),
                                value: Some(value.to_proto()),
                            })
                        })
                        .collect(),
                })
            })
            .map(Response::new)
    }

    async fn get_ex(&self, request: Request<GetExRequest>) -> Result<Response<GetExResponse>, Status> {
        let principal = principal(&request);
        let request = checked(request)?;
        let clock = &self.inner.clock;
        self.inner
            .read(|state| {
                let secret = match &request.identifier {
                    Some(get_ex_request::Identifier::SecretId(id)) => readable_by_id(state, clock, &principal, id)?,
                    Some(get_ex_request::Identifier::FolderAndName(at)) => {
                        readable_by_name(state, clock, &principal, &at.folder_id, &at.secret_name)?
                    }
                    // The generated validation refuses a request without an identifier.
                    None => return Err(not_found("Secret not found")),
                };
                let (version_id, entries) = readable_entries(secret, &request.version_id, clock)?;
                Ok(GetExResponse {
                    secret_id: secret.meta.id.clone(),
                    version_id,
                    entries: entries
                        .iter()
                        .filter_map(|e| e.value.as_ref().map(|value| (e.key.clone(), value.bytes())))
                        .collect(),
                })
            })
            .map(Response::new)
    }
}
