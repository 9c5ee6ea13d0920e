//! `awscompatibility.AccessKeyService`: static access keys of service accounts. `Create` hands out
//! the secret once; the emulator keeps it so that it could check it later.

use tonic::{Request, Response, Status};

use super::api_key::owner;
use super::key::operations_of;
use super::service_account::{empty_any, require_service_account};
use super::{Call, Outcome, Svc, idempotency_key, principal, validate};
use crate::emulator::errors::{invalid_argument, not_found, pack};
use crate::emulator::ids;
use crate::emulator::page::page;
use crate::emulator::state::{AccessKeyRec, IdemRec, State};
use crate::proto::yandex::cloud::iam::v1::awscompatibility::access_key_service_server::AccessKeyService;
use crate::proto::yandex::cloud::iam::v1::awscompatibility::{
    AccessKey, CreateAccessKeyRequest, CreateAccessKeyResponse, DeleteAccessKeyMetadata, DeleteAccessKeyRequest,
    GetAccessKeyRequest, ListAccessKeyOperationsRequest, ListAccessKeyOperationsResponse, ListAccessKeysRequest,
    ListAccessKeysResponse, UpdateAccessKeyMetadata, UpdateAccessKeyRequest,
};
use crate::proto::yandex::cloud::operation::Operation;

const CREATE: &str = "/yandex.cloud.iam.v1.awscompatibility.AccessKeyService/Create";
const UPDATE: &str = "/yandex.cloud.iam.v1.awscompatibility.AccessKeyService/Update";
const DELETE: &str = "/yandex.cloud.iam.v1.awscompatibility.AccessKeyService/Delete";
const UPDATE_METADATA: &str = "yandex.cloud.iam.v1.awscompatibility.UpdateAccessKeyMetadata";
const DELETE_METADATA: &str = "yandex.cloud.iam.v1.awscompatibility.DeleteAccessKeyMetadata";

fn require_key<'a>(state: &'a State, id: &str) -> Result<&'a AccessKeyRec, Status> {
    state
        .keys
        .access
        .get(id)
        .ok_or_else(|| not_found(format!("Access key {id} not found")))
}

#[tonic::async_trait]
impl AccessKeyService for Svc {
    async fn list(&self, request: Request<ListAccessKeysRequest>) -> Result<Response<ListAccessKeysResponse>, Status> {
        let principal = principal(&request);
        let request = request.into_inner();
        validate(&request)?;
        let sa = owner(&request.service_account_id, &principal)?;
        let items = self.inner.read(|state| {
            require_service_account(state, &sa)?;
            Ok::<_, Status>(
                state
                    .keys
                    .access
                    .values()
                    .filter(|k| k.service_account_id == sa)
                    .map(|k| (k.id.clone(), k.to_proto()))
                    .collect::<Vec<_>>(),
            )
        })?;
        let (access_keys, next_page_token) = page(items, request.page_size, &request.page_token)?;
        Ok(Response::new(ListAccessKeysResponse {
            access_keys,
            next_page_token,
        }))
    }

    async fn get(&self, request: Request<GetAccessKeyRequest>) -> Result<Response<AccessKey>, Status> {
        let request = request.into_inner();
        validate(&request)?;
        self.inner
            .read(|state| require_key(state, &request.access_key_id).map(AccessKeyRec::to_proto))
            .map(Response::new)
    }

    async fn create(
        &self,
        request: Request<CreateAccessKeyRequest>,
    ) -> Result<Response<CreateAccessKeyResponse>, Status> {
        validate(request.get_ref())?;
        let idem = idempotency_key(&request, CREATE);
        let principal = principal(&request);
        let body = request.into_inner();
        let sa = owner(&body.service_account_id, &principal)?;
        let inner = &*self.inner;
        let response = inner.mutate(|state| {
            if let Some(idem) = &idem
                && let Some(IdemRec::AccessKey { access_key_id, secret }) = state.idempotency.get(idem)
                && let Some(existing) = state.keys.access.get(access_key_id)
            {
                return Ok(CreateAccessKeyResponse {
                    access_key: Some(existing.to_proto()),
                    secret: secret.clone(),
                });
            }
            require_service_account(state, &sa)?;
            let id = inner.new_id("aje");
            let secret = ids::access_key_secret()?;
            let record = AccessKeyRec {
                id: id.clone(),
                service_account_id: sa,
                description: body.description,
                key_id: ids::access_key_id()?,
                secret: secret.clone(),
                created_at: (&inner.clock.now()).into(),
                last_used_at: None,
            };
            let access_key = record.to_proto();
            state.keys.access.insert(id.clone(), record);
            if let Some(idem) = idem {
                state.idempotency.insert(
                    idem,
                    IdemRec::AccessKey {
                        access_key_id: id,
                        secret: secret.clone(),
                    },
                );
            }
            Ok(CreateAccessKeyResponse {
                access_key: Some(access_key),
                secret,
            })
        })?;
        Ok(Response::new(response))
    }

    async fn update(&self, request: Request<UpdateAccessKeyRequest>) -> Result<Response<Operation>, Status> {
        validate(request.get_ref())?;
        let call = Call::of(&request, UPDATE);
        let body = request.into_inner();
        self.operation(call, move |_inner, state| {
            let mut updated = require_key(state, &body.access_key_id)?.clone();
            let paths: Vec<String> = match &body.update_mask {
                Some(mask) if !mask.paths.is_empty() => mask.paths.clone(),
                _ => vec!["description".into()],
            };
            for (i, path) in paths.iter().enumerate() {
                match path.as_str() {
                    "description" => updated.description.clone_from(&body.description),
                    _ => return Err(invalid_argument(&format!("update_mask.paths[{i}]"), "unknown field")),
                }
            }
            let access_key = updated.to_proto();
            state.keys.access.insert(updated.id.clone(), updated);
            Ok(Outcome {
                description: "Update access key",
                metadata: pack(
                    UPDATE_METADATA,
                    &UpdateAccessKeyMetadata {
                        access_key_id: body.access_key_id.clone(),
                    },
                ),
                response: pack("yandex.cloud.iam.v1.awscompatibility.AccessKey", &access_key),
            })
        })
    }

    async fn delete(&self, request: Request<DeleteAccessKeyRequest>) -> Result<Response<Operation>, Status> {
        validate(request.get_ref())?;
        let call = Call::of(&request, DELETE);
        let id = request.into_inner().access_key_id;
        self.operation(call, move |_inner, state| {
            require_key(state, &id)?;
            state.keys.access.remove(&id);
            Ok(Outcome {
                description: "Delete access key",
                metadata: pack(DELETE_METADATA, &DeleteAccessKeyMetadata { access_key_id: id }),
                response: empty_any(),
            })
        })
    }

    async fn list_operations(
        &self,
        request: Request<ListAccessKeyOperationsRequest>,
    ) -> Result<Response<ListAccessKeyOperationsResponse>, Status> {
        let request = request.into_inner();
        validate(&request)?;
        let inner = &*self.inner;
        let items = inner.read(|state| {
            require_key(state, &request.access_key_id)?;
            // Update and delete metadata both carry only `access_key_id`, field 1.
            let id_of = |bytes: &[u8]| {
                <UpdateAccessKeyMetadata as prost::Message>::decode(bytes)
                    .ok()
                    .map(|m| m.access_key_id)
            };
            Ok::<_, Status>(operations_of(
                state,
                &inner.clock,
                [UPDATE_METADATA, DELETE_METADATA],
                id_of,
                &request.access_key_id,
            ))
        })?;
        let (operations, next_page_token) = page(items, request.page_size, &request.page_token)?;
        Ok(Response::new(ListAccessKeyOperationsResponse {
            operations,
            next_page_token,
        }))
    }
}
