//! `ServiceAccountService`: service accounts in folders, names unique within the cloud.

use prost_types::Any;
use tonic::{Request, Response, Status};

use super::{Call, Outcome, Svc, apply_mask, checked};
use crate::emulator::Quota;
use crate::emulator::errors::{already_exists, invalid_argument, not_found, pack, permission_denied};
use crate::emulator::page::page;
use crate::emulator::state::{ResourceMeta, SaRec, State};
use crate::proto::yandex::cloud::iam::v1::service_account_service_server::ServiceAccountService;
use crate::proto::yandex::cloud::iam::v1::{
    CreateServiceAccountMetadata, CreateServiceAccountRequest, DeleteServiceAccountMetadata,
    DeleteServiceAccountRequest, GetServiceAccountRequest, ListServiceAccountsRequest, ListServiceAccountsResponse,
    ServiceAccount, UpdateServiceAccountMetadata, UpdateServiceAccountRequest,
};
use crate::proto::yandex::cloud::operation::Operation;

const CREATE: &str = "/yandex.cloud.iam.v1.ServiceAccountService/Create";
const UPDATE: &str = "/yandex.cloud.iam.v1.ServiceAccountService/Update";
const DELETE: &str = "/yandex.cloud.iam.v1.ServiceAccountService/Delete";

/// An `Any` holding `google.protobuf.Empty`.
pub(crate) fn empty_any() -> Any {
    Any {
        type_url: "type.googleapis.com/google.protobuf.Empty".to_owned(),
        value: Vec::new(),
    }
}

/// PERMISSION_DENIED unless the folder exists: the real API does not reveal unknown folders.
pub(crate) fn require_folder(state: &State, folder_id: &str) -> Result<(), Status> {
    if state.folders.contains_key(folder_id) {
        Ok(())
    } else {
        Err(permission_denied(format!("Permission denied to folder {folder_id}")))
    }
}

pub(crate) fn require_service_account<'a>(state: &'a State, id: &str) -> Result<&'a SaRec, Status> {
    state
        .service_accounts
        .get(id)
        .ok_or_else(|| not_found(format!("Service account {id} not found")))
}

/// ALREADY_EXISTS if another service account in the folder's cloud has `name` (an index lookup).
fn require_unique_name(state: &State, folder_id: &str, name: &str, except: &str) -> Result<(), Status> {
    if state.name_taken(folder_id, name, except) {
        Err(already_exists(format!(
            "Service account with name {name} already exists"
        )))
    } else {
        Ok(())
    }
}

/// The value of a `name="…"` filter; the API accepts only 3–63 character names in it.
fn name_filter(filter: &str) -> Result<Option<String>, Status> {
    let filter = filter.trim();
    if filter.is_empty() {
        return Ok(None);
    }
    let bad = || {
        invalid_argument(
            "filter",
            "filter must look like name=\"<name>\" with a 3-63 character name",
        )
    };
    let rest = filter.strip_prefix("name").ok_or_else(bad)?.trim_start();
    let rest = rest.strip_prefix('=').ok_or_else(bad)?.trim_start();
    let value = rest
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .ok_or_else(bad)?;
    let len = value.chars().count();
    if !(3..=63).contains(&len) || value.contains('"') {
        return Err(bad());
    }
    Ok(Some(value.to_owned()))
}

#[tonic::async_trait]
impl ServiceAccountService for Svc {
    async fn get(&self, request: Request<GetServiceAccountRequest>) -> Result<Response<ServiceAccount>, Status> {
        let request = checked(request)?;
        self.inner
            .read(|state| require_service_account(state, &request.service_account_id).map(SaRec::to_proto))
            .map(Response::new)
    }

    async fn list(
        &self,
        request: Request<ListServiceAccountsRequest>,
    ) -> Result<Response<ListServiceAccountsResponse>, Status> {
        let request = checked(request)?;
        let name = name_filter(&request.filter)?;
        let items = self.inner.read(|state| {
            require_folder(state, &request.folder_id)?;
            let in_folder = |sa: &&SaRec| sa.meta.folder_id == request.folder_id;
            let entry = |sa: &SaRec| (sa.meta.id.clone(), sa.to_proto());
            Ok::<_, Status>(match &name {
                // A name filter is an index lookup, not a scan.
                Some(name) => state
                    .accounts_named(&request.folder_id, name)
                    .filter(in_folder)
                    .map(entry)
                    .collect::<Vec<_>>(),
                None => state.service_accounts.values().filter(in_folder).map(entry).collect(),
            })
        })?;
        let (service_accounts, next_page_token) = page(items, request.page_size, &request.page_token)?;
        Ok(Response::new(ListServiceAccountsResponse {
            service_accounts,
            next_page_token,
        }))
    }

    async fn create(&self, request: Request<CreateServiceAccountRequest>) -> Result<Response<Operation>, Status> {
        let (call, body) = Call::checked(request, CREATE)?;
        self.operation(call, move |inner, state| {
            require_folder(state, &body.folder_id)?;
            require_unique_name(state, &body.folder_id, &body.name, "")?;
            inner
                .quotas
                .check_room(Quota::ServiceAccountsPerCloud, state, &body.folder_id)?;
            let id = inner.new_id("aje");
            let record = SaRec {
                meta: ResourceMeta::new(&id, body.folder_id, body.name, inner.clock.now())
                    .described(body.description, body.labels),
                expires_at: body.expires_at.as_ref().map(Into::into),
                last_authenticated_at: None,
                suspended: false,
            };
            let account = record.to_proto();
            state.put_service_account(record);
            Ok(Outcome {
                description: "Create service account",
                metadata: pack(
                    "yandex.cloud.iam.v1.CreateServiceAccountMetadata",
                    &CreateServiceAccountMetadata { service_account_id: id },
                ),
                response: pack("yandex.cloud.iam.v1.ServiceAccount", &account),
            })
        })
    }

    async fn update(&self, request: Request<UpdateServiceAccountRequest>) -> Result<Response<Operation>, Status> {
        let (call, body) = Call::checked(request, UPDATE)?;
        self.operation(call, move |_inner, state| {
            let current = require_service_account(state, &body.service_account_id)?.clone();
            let mut updated = current.clone();
            apply_mask(
                body.update_mask.as_ref(),
                &["name", "description", "labels", "expires_at"],
                |path| {
                    match path {
                        "name" => updated.meta.name.clone_from(&body.name),
                        "description" => updated.meta.description.clone_from(&body.description),
                        "labels" => updated.meta.labels.clone_from(&body.labels),
                        "expires_at" => updated.expires_at = body.expires_at.as_ref().map(Into::into),
                        _ => return false,
                    }
                    true
                },
            )?;
            if updated.meta.name != current.meta.name {
                require_unique_name(state, &updated.meta.folder_id, &updated.meta.name, &updated.meta.id)?;
            }
            let account = updated.to_proto();
            state.put_service_account(updated);
            Ok(Outcome {
                description: "Update service account",
                metadata: pack(
                    "yandex.cloud.iam.v1.UpdateServiceAccountMetadata",
                    &UpdateServiceAccountMetadata {
                        service_account_id: body.service_account_id.clone(),
                    },
                ),
                response: pack("yandex.cloud.iam.v1.ServiceAccount", &account),
            })
        })
    }

    async fn delete(&self, request: Request<DeleteServiceAccountRequest>) -> Result<Response<Operation>, Status> {
        let (call, body) = Call::checked(request, DELETE)?;
        let id = body.service_account_id;
        self.operation(call, move |_inner, state| {
            require_service_account(state, &id)?;
            state.remove_service_account(&id);
            for bindings in state.bindings.values_mut() {
                bindings.retain(|b| !(b.subject_type == "serviceAccount" && b.subject_id == id));
            }
            Ok(Outcome {
                description: "Delete service account",
                metadata: pack(
                    "yandex.cloud.iam.v1.DeleteServiceAccountMetadata",
                    &DeleteServiceAccountMetadata { service_account_id: id },
                ),
                response: empty_any(),
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_filters_accept_three_to_sixty_three_characters() {
        assert_eq!(name_filter("").ok(), Some(None));
        assert_eq!(name_filter("name=\"abc\"").ok(), Some(Some("abc".into())));
        assert_eq!(name_filter(" name = \"abc\" ").ok(), Some(Some("abc".into())));
        for bad in ["name=\"ab\"", "name=abc", "id=\"abc\"", "name=\"abc", "name=\"a\"b\""] {
            assert!(name_filter(bad).is_err(), "{bad}");
        }
    }
}
