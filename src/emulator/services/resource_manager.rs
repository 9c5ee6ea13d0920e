//! `FolderService` and `CloudService`: the pre-created folders and clouds, and their access
//! bindings, changed with effective deltas that leave out no-op changes.

use std::collections::BTreeSet;

use tonic::{Request, Response, Status};

use super::service_account::require_folder;
use super::{Call, Outcome, Svc, validate};
use crate::emulator::errors::{invalid_argument, not_found, pack, permission_denied};
use crate::emulator::page::page;
use crate::emulator::state::{BindingRec, State};
use crate::proto::yandex::cloud::access::{
    AccessBinding, AccessBindingAction, AccessBindingDelta, AccessBindingsOperationResult, ListAccessBindingsRequest,
    ListAccessBindingsResponse, SetAccessBindingsMetadata, SetAccessBindingsRequest, UpdateAccessBindingsMetadata,
    UpdateAccessBindingsRequest,
};
use crate::proto::yandex::cloud::operation::Operation;
use crate::proto::yandex::cloud::resourcemanager::v1::cloud_service_server::CloudService;
use crate::proto::yandex::cloud::resourcemanager::v1::folder_service_server::FolderService;
use crate::proto::yandex::cloud::resourcemanager::v1::{
    Cloud, Folder, GetCloudRequest, GetFolderRequest, ListCloudsRequest, ListCloudsResponse, ListFoldersRequest,
    ListFoldersResponse,
};

/// `FolderService` over the shared state.
pub(crate) struct Folders(pub(crate) Svc);
/// `CloudService` over the shared state.
pub(crate) struct Clouds(pub(crate) Svc);

/// Subject types the API knows.
const SUBJECT_TYPES: &[&str] = &["userAccount", "serviceAccount", "federatedUser", "group", "system"];

#[derive(Clone, Copy)]
enum Kind {
    Folder,
    Cloud,
}

impl Kind {
    fn set_access_bindings(self) -> &'static str {
        match self {
            Kind::Folder => "/yandex.cloud.resourcemanager.v1.FolderService/SetAccessBindings",
            Kind::Cloud => "/yandex.cloud.resourcemanager.v1.CloudService/SetAccessBindings",
        }
    }

    fn update_access_bindings(self) -> &'static str {
        match self {
            Kind::Folder => "/yandex.cloud.resourcemanager.v1.FolderService/UpdateAccessBindings",
            Kind::Cloud => "/yandex.cloud.resourcemanager.v1.CloudService/UpdateAccessBindings",
        }
    }

    fn require(self, state: &State, id: &str) -> Result<(), Status> {
        match self {
            Kind::Folder => require_folder(state, id),
            Kind::Cloud if state.clouds.contains_key(id) => Ok(()),
            Kind::Cloud => Err(permission_denied(format!("Permission denied to cloud {id}"))),
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

fn result_any(effective_deltas: Vec<AccessBindingDelta>) -> prost_types::Any {
    pack(
        "yandex.cloud.access.AccessBindingsOperationResult",
        &AccessBindingsOperationResult { effective_deltas },
    )
}

impl Svc {
    fn list_bindings(
        &self,
        kind: Kind,
        request: ListAccessBindingsRequest,
    ) -> Result<ListAccessBindingsResponse, Status> {
        validate(&request)?;
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
        Ok(ListAccessBindingsResponse {
            access_bindings,
            next_page_token,
        })
    }

    fn set_bindings(
        &self,
        kind: Kind,
        request: Request<SetAccessBindingsRequest>,
    ) -> Result<Response<Operation>, Status> {
        validate(request.get_ref())?;
        let call = Call::of(&request, kind.set_access_bindings());
        let body = request.into_inner();
        self.operation(call, move |_inner, state| {
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
            Ok(Outcome {
                description: "Set access bindings",
                metadata: pack(
                    "yandex.cloud.access.SetAccessBindingsMetadata",
                    &SetAccessBindingsMetadata {
                        resource_id: body.resource_id.clone(),
                    },
                ),
                response: result_any(effective),
            })
        })
    }

    fn update_bindings(
        &self,
        kind: Kind,
        request: Request<UpdateAccessBindingsRequest>,
    ) -> Result<Response<Operation>, Status> {
        validate(request.get_ref())?;
        let call = Call::of(&request, kind.update_access_bindings());
        let body = request.into_inner();
        self.operation(call, move |_inner, state| {
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
            Ok(Outcome {
                description: "Update access bindings",
                metadata: pack(
                    "yandex.cloud.access.UpdateAccessBindingsMetadata",
                    &UpdateAccessBindingsMetadata {
                        resource_id: body.resource_id.clone(),
                    },
                ),
                response: result_any(effective),
            })
        })
    }
}

/// The value of an optional `name="…"` filter on folders and clouds.
fn loose_name_filter(filter: &str) -> Result<Option<String>, Status> {
    let filter = filter.trim();
    if filter.is_empty() {
        return Ok(None);
    }
    let value = filter
        .strip_prefix("name")
        .map(str::trim_start)
        .and_then(|r| r.strip_prefix('='))
        .map(str::trim)
        .and_then(|r| r.strip_prefix('"'))
        .and_then(|r| r.strip_suffix('"'))
        .ok_or_else(|| invalid_argument("filter", "filter must look like name=\"<name>\""))?;
    Ok(Some(value.to_owned()))
}

#[tonic::async_trait]
impl FolderService for Folders {
    async fn get(&self, request: Request<GetFolderRequest>) -> Result<Response<Folder>, Status> {
        let request = request.into_inner();
        validate(&request)?;
        self.0
            .inner
            .read(|state| {
                require_folder(state, &request.folder_id)?;
                Ok(state
                    .folders
                    .get(&request.folder_id)
                    .map(|f| f.to_proto())
                    .unwrap_or_default())
            })
            .map(Response::new)
    }

    async fn list(&self, request: Request<ListFoldersRequest>) -> Result<Response<ListFoldersResponse>, Status> {
        let request = request.into_inner();
        validate(&request)?;
        let name = loose_name_filter(&request.filter)?;
        let items = self.0.inner.read(|state| {
            Kind::Cloud.require(state, &request.cloud_id)?;
            Ok::<_, Status>(
                state
                    .folders
                    .values()
                    .filter(|f| f.cloud_id == request.cloud_id && name.as_ref().is_none_or(|n| &f.name == n))
                    .map(|f| (f.id.clone(), f.to_proto()))
                    .collect::<Vec<_>>(),
            )
        })?;
        let (folders, next_page_token) = page(items, request.page_size, &request.page_token)?;
        Ok(Response::new(ListFoldersResponse {
            folders,
            next_page_token,
        }))
    }

    async fn list_access_bindings(
        &self,
        request: Request<ListAccessBindingsRequest>,
    ) -> Result<Response<ListAccessBindingsResponse>, Status> {
        self.0
            .list_bindings(Kind::Folder, request.into_inner())
            .map(Response::new)
    }

    async fn set_access_bindings(
        &self,
        request: Request<SetAccessBindingsRequest>,
    ) -> Result<Response<Operation>, Status> {
        self.0.set_bindings(Kind::Folder, request)
    }

    async fn update_access_bindings(
        &self,
        request: Request<UpdateAccessBindingsRequest>,
    ) -> Result<Response<Operation>, Status> {
        self.0.update_bindings(Kind::Folder, request)
    }
}

#[tonic::async_trait]
impl CloudService for Clouds {
    async fn get(&self, request: Request<GetCloudRequest>) -> Result<Response<Cloud>, Status> {
        let request = request.into_inner();
        validate(&request)?;
        self.0
            .inner
            .read(|state| {
                Kind::Cloud.require(state, &request.cloud_id)?;
                Ok(state
                    .clouds
                    .get(&request.cloud_id)
                    .map(|c| c.to_proto())
                    .unwrap_or_default())
            })
            .map(Response::new)
    }

    async fn list(&self, request: Request<ListCloudsRequest>) -> Result<Response<ListCloudsResponse>, Status> {
        let request = request.into_inner();
        validate(&request)?;
        let name = loose_name_filter(&request.filter)?;
        let items = self.0.inner.read(|state| {
            state
                .clouds
                .values()
                .filter(|c| request.organization_id.is_empty() || c.organization_id == request.organization_id)
                .filter(|c| name.as_ref().is_none_or(|n| &c.name == n))
                .map(|c| (c.id.clone(), c.to_proto()))
                .collect::<Vec<_>>()
        });
        let (clouds, next_page_token) = page(items, request.page_size, &request.page_token)?;
        Ok(Response::new(ListCloudsResponse {
            clouds,
            next_page_token,
        }))
    }

    async fn list_access_bindings(
        &self,
        request: Request<ListAccessBindingsRequest>,
    ) -> Result<Response<ListAccessBindingsResponse>, Status> {
        self.0
            .list_bindings(Kind::Cloud, request.into_inner())
            .map(Response::new)
    }

    async fn set_access_bindings(
        &self,
        request: Request<SetAccessBindingsRequest>,
    ) -> Result<Response<Operation>, Status> {
        self.0.set_bindings(Kind::Cloud, request)
    }

    async fn update_access_bindings(
        &self,
        request: Request<UpdateAccessBindingsRequest>,
    ) -> Result<Response<Operation>, Status> {
        self.0.update_bindings(Kind::Cloud, request)
    }
}
