//! Access bindings of the resources that have them (clouds, folders, Lockbox secrets), kept in one
//! map by resource id and changed with effective deltas that leave out no-op changes. Folders and
//! clouds answer a change with its effective deltas; Lockbox secrets with `google.protobuf.Empty`,
//! as the real services do.

use std::collections::BTreeSet;

use tonic::{Request, Response, Status};

use super::service_account::{empty_any, require_folder};
use super::{Call, Outcome, Svc, checked};
use crate::emulator::Inner;
use crate::emulator::clock::{self, Clock};
use crate::emulator::errors::{invalid_argument, not_found, pack, permission_denied};
use crate::emulator::page::page;
use crate::emulator::state::{BindingRec, State};
use crate::proto::yandex::cloud::access::{
    AccessBinding, AccessBindingAction, AccessBindingDelta, AccessBindingsOperationResult, ListAccessBindingsRequest,
    ListAccessBindingsResponse, SetAccessBindingsMetadata, SetAccessBindingsRequest, UpdateAccessBindingsMetadata,
    UpdateAccessBindingsRequest,
};
use crate::proto::yandex::cloud::operation::Operation;

/// Subject types the API knows.
const SUBJECT_TYPES: &[&str] = &["userAccount", "serviceAccount", "federatedUser", "group", "system"];

/// A kind of resource that has access bindings.
#[derive(Clone, Copy)]
pub(crate) enum Resource {
    Folder,
    Cloud,
    LockboxSecret,
}

impl Resource {
    fn set_access_bindings(self) -> &'static str {
        match self {
            Resource::Folder => "/yandex.cloud.resourcemanager.v1.FolderService/SetAccessBindings",
            Resource::Cloud => "/yandex.cloud.resourcemanager.v1.CloudService/SetAccessBindings",
            Resource::LockboxSecret => "/yandex.cloud.lockbox.v1.SecretService/SetAccessBindings",
        }
    }

    fn update_access_bindings(self) -> &'static str {
        match self {
            Resource::Folder => "/yandex.cloud.resourcemanager.v1.FolderService/UpdateAccessBindings",
            Resource::Cloud => "/yandex.cloud.resourcemanager.v1.CloudService/UpdateAccessBindings",
            Resource::LockboxSecret => "/yandex.cloud.lockbox.v1.SecretService/UpdateAccessBindings",
        }
    }

    pub(crate) fn require(self, state: &State, id: &str) -> Result<(), Status> {
        match self {
            Resource::Folder => require_folder(state, id),
            Resource::Cloud if state.clouds.contains_key(id) => Ok(()),
            Resource::Cloud => Err(permission_denied(format!("Permission denied to cloud {id}"))),
            Resource::LockboxSecret if state.lockbox.get(id).is_some() => Ok(()),
            Resource::LockboxSecret => Err(not_found(format!("Secret {id} not found"))),
        }
    }

    /// The response of a change: folders and clouds list its effective deltas, secrets say nothing.
    fn response(self, effective_deltas: Vec<AccessBindingDelta>) -> prost_types::Any {
        match self {
            Resource::Folder | Resource::Cloud => pack(
                "yandex.cloud.access.AccessBindingsOperationResult",
                &AccessBindingsOperationResult { effective_deltas },
            ),
            Resource::LockboxSecret => empty_any(),
        }
    }
}

/// The key of a binding in [`State::pending_bindings`].
fn pending_key(resource_id: &str, binding: &BindingRec) -> String {
    format!("{resource_id}\u{1}{}", binding.key())
}

/// Whether service account `account_id` holds one of `roles` on one of `resources` through a
/// binding in effect: one added less than the emulator's binding delay ago is not yet, as a
/// new binding in the real cloud takes a while to apply.
pub(crate) fn holds_role(state: &State, clock: &Clock, account_id: &str, resources: &[&str], roles: &[&str]) -> bool {
    resources.iter().any(|resource| {
        state.bindings.get(*resource).is_some_and(|bindings| {
            bindings.iter().any(|b| {
                b.subject_type == "serviceAccount"
                    && b.subject_id == account_id
                    && roles.contains(&b.role_id.as_str())
                    && state
                        .pending_bindings
                        .get(&pending_key(resource, b))
                        .is_none_or(|at| clock.is_past(&(*at).into()))
            })
        })
    })
}

/// Notes when the bindings a change added take effect (after the binding delay), and forgets
/// the removed ones.
fn note_pending(inner: &Inner, state: &mut State, resource_id: &str, effective: &[AccessBindingDelta]) {
    let effective_at = clock::add(&inner.clock.now(), inner.binding_delay);
    for delta in effective {
        let binding = BindingRec::from_proto(&delta.access_binding.clone().unwrap_or_default());
        let key = pending_key(resource_id, &binding);
        if delta.action == AccessBindingAction::Add as i32 && !inner.binding_delay.is_zero() {
            state.pending_bindings.insert(key, (&effective_at).into());
        } else {
            state.pending_bindings.remove(&key);
        }
    }
}

/// Checks the subject of a binding that is being added; `field` names it in an error.
fn check_subject(state: &State, binding: &BindingRec, field: impl FnOnce() -> String) -> Result<(), Status> {
    if !SUBJECT_TYPES.contains(&binding.subject_type.as_str()) {
        return Err(invalid_argument(
            &format!("{}.subject.type", field()),
            "unknown subject type",
        ));
    }
    if binding.subject_type == "serviceAccount" && !state.service_accounts.contains_key(&binding.subject_id) {
        return Err(not_found(format!("Service account {} not found", binding.subject_id)));
    }
    Ok(())
}

impl Svc {
    pub(crate) fn list_bindings(
        &self,
        kind: Resource,
        request: Request<ListAccessBindingsRequest>,
    ) -> Result<Response<ListAccessBindingsResponse>, Status> {
        let request = checked(request)?;
        let items = self.inner.read(|state| {
            kind.require(state, &request.resource_id)?;
            Ok::<_, Status>(
                state
                    .bindings
                    .get(&request.resource_id)
                    .map(|set| set.iter().map(|b| (b.key(), b.to_proto())).collect::<Vec<_>>())
                    .unwrap_or_default(),
            )
        })?;
        let (access_bindings, next_page_token) = page(items, request.page_size, &request.page_token)?;
        Ok(Response::new(ListAccessBindingsResponse {
            access_bindings,
            next_page_token,
        }))
    }

    pub(crate) fn set_bindings(
        &self,
        kind: Resource,
        request: Request<SetAccessBindingsRequest>,
    ) -> Result<Response<Operation>, Status> {
        let (call, body) = Call::checked(request, kind.set_access_bindings())?;
        self.operation(call, move |inner, state| {
            kind.require(state, &body.resource_id)?;
            let mut wanted = BTreeSet::new();
            for (i, binding) in body.access_bindings.iter().enumerate() {
                let binding = BindingRec::from_proto(binding);
                check_subject(state, &binding, || format!("access_bindings[{i}]"))?;
                wanted.insert(binding);
            }
            let current = state.bindings.entry(body.resource_id.clone()).or_default();
            let mut effective: Vec<AccessBindingDelta> = current
                .difference(&wanted)
                .map(|b| AccessBindingDelta::remove(b.to_proto()))
                .collect();
            effective.extend(
                wanted
                    .difference(current)
                    .map(|b| AccessBindingDelta::add(b.to_proto())),
            );
            *current = wanted;
            note_pending(inner, state, &body.resource_id, &effective);
            Ok(Outcome {
                description: "Set access bindings",
                metadata: pack(
                    "yandex.cloud.access.SetAccessBindingsMetadata",
                    &SetAccessBindingsMetadata {
                        resource_id: body.resource_id.clone(),
                    },
                ),
                response: kind.response(effective),
            })
        })
    }

    pub(crate) fn update_bindings(
        &self,
        kind: Resource,
        request: Request<UpdateAccessBindingsRequest>,
    ) -> Result<Response<Operation>, Status> {
        let (call, body) = Call::checked(request, kind.update_access_bindings())?;
        self.operation(call, move |inner, state| {
            kind.require(state, &body.resource_id)?;
            let mut changes = Vec::with_capacity(body.access_binding_deltas.len());
            for (i, d) in body.access_binding_deltas.iter().enumerate() {
                let binding = d.access_binding.as_ref().map_or_else(
                    || BindingRec::from_proto(&AccessBinding::default()),
                    BindingRec::from_proto,
                );
                let action = AccessBindingAction::try_from(d.action)
                    .ok()
                    .filter(|a| *a != AccessBindingAction::Unspecified)
                    .ok_or_else(|| {
                        invalid_argument(&format!("access_binding_deltas[{i}].action"), "must be ADD or REMOVE")
                    })?;
                if action == AccessBindingAction::Add {
                    check_subject(state, &binding, || format!("access_binding_deltas[{i}].access_binding"))?;
                }
                changes.push((action, binding));
            }
            let current = state.bindings.entry(body.resource_id.clone()).or_default();
            let mut effective = Vec::new();
            for (action, binding) in changes {
                let change = match action {
                    AccessBindingAction::Remove => current
                        .remove(&binding)
                        .then(|| AccessBindingDelta::remove(binding.to_proto())),
                    _ => current
                        .insert(binding.clone())
                        .then(|| AccessBindingDelta::add(binding.to_proto())),
                };
                effective.extend(change);
            }
            note_pending(inner, state, &body.resource_id, &effective);
            Ok(Outcome {
                description: "Update access bindings",
                metadata: pack(
                    "yandex.cloud.access.UpdateAccessBindingsMetadata",
                    &UpdateAccessBindingsMetadata {
                        resource_id: body.resource_id.clone(),
                    },
                ),
                response: kind.response(effective),
            })
        })
    }
}
