//! `awscompatibility.AccessKeyService`: static access keys of service accounts. `Create` hands out
//! the secret once; the emulator keeps its digest, enough to check it later.

use tonic::{Request, Response, Status};

use super::account_key::{AccountKey, owner};
use super::{Call, Svc, checked, idempotency_key, principal};
use crate::emulator::ids;
use crate::emulator::state::{AccessKeyRec, KeyMeta, SecretKind, State, sha256_hex};
use crate::proto::yandex::cloud::iam::v1::awscompatibility::access_key_service_server::AccessKeyService;
use crate::proto::yandex::cloud::iam::v1::awscompatibility::{
    AccessKey, CreateAccessKeyRequest, CreateAccessKeyResponse, DeleteAccessKeyRequest, GetAccessKeyRequest,
    ListAccessKeyOperationsRequest, ListAccessKeyOperationsResponse, ListAccessKeysRequest, ListAccessKeysResponse,
    UpdateAccessKeyRequest,
};
use crate::proto::yandex::cloud::operation::Operation;

const CREATE: &str = "/yandex.cloud.iam.v1.awscompatibility.AccessKeyService/Create";

impl AccountKey for AccessKeyRec {
    type Proto = AccessKey;
    const NOUN: &'static str = "Access key";
    const MESSAGE: &'static str = "yandex.cloud.iam.v1.awscompatibility.AccessKey";
    const UPDATE_METHOD: &'static str = "/yandex.cloud.iam.v1.awscompatibility.AccessKeyService/Update";
    const DELETE_METHOD: &'static str = "/yandex.cloud.iam.v1.awscompatibility.AccessKeyService/Delete";
    const UPDATE_METADATA: &'static str = "yandex.cloud.iam.v1.awscompatibility.UpdateAccessKeyMetadata";
    const DELETE_METADATA: &'static str = "yandex.cloud.iam.v1.awscompatibility.DeleteAccessKeyMetadata";
    const UPDATE_DESCRIPTION: &'static str = "Update access key";
    const DELETE_DESCRIPTION: &'static str = "Delete access key";
    const FIELDS: &'static [&'static str] = &["description"];
    const SECRET_KIND: SecretKind = SecretKind::AccessKey;

    fn meta(&self) -> &KeyMeta {
        &self.meta
    }

    fn to_proto(&self) -> AccessKey {
        AccessKeyRec::to_proto(self)
    }

    fn find<'a>(state: &'a State, id: &str) -> Option<&'a Self> {
        state.keys.access.get(id)
    }

    fn of_account<'a>(state: &'a State, service_account_id: &'a str) -> impl Iterator<Item = &'a Self> {
        state.keys.access.of(service_account_id)
    }

    fn put(state: &mut State, key: Self) {
        state.keys.access.put(key);
    }

    fn remove(state: &mut State, id: &str) {
        state.keys.access.remove(id);
    }
}

#[tonic::async_trait]
impl AccessKeyService for Svc {
    async fn list(&self, request: Request<ListAccessKeysRequest>) -> Result<Response<ListAccessKeysResponse>, Status> {
        let principal = principal(&request);
        let request = checked(request)?;
        let (access_keys, next_page_token) = self.list_keys::<AccessKeyRec>(
            &principal,
            &request.service_account_id,
            request.page_size,
            &request.page_token,
        )?;
        Ok(Response::new(ListAccessKeysResponse {
            access_keys,
            next_page_token,
        }))
    }

    async fn get(&self, request: Request<GetAccessKeyRequest>) -> Result<Response<AccessKey>, Status> {
        let request = checked(request)?;
        self.get_key::<AccessKeyRec>(&request.access_key_id)
    }

    async fn create(
        &self,
        request: Request<CreateAccessKeyRequest>,
    ) -> Result<Response<CreateAccessKeyResponse>, Status> {
        let idem = idempotency_key(&request, CREATE);
        let principal = principal(&request);
        let body = checked(request)?;
        let sa = owner(&body.service_account_id, &principal)?;
        let (access_key, secret) = self.create_key::<AccessKeyRec>(idem, &sa, |id, now| {
            let secret = ids::access_key_secret()?;
            let record = AccessKeyRec {
                meta: KeyMeta::new(id, sa.clone(), body.description, now),
                key_id: ids::access_key_id()?,
                secret_sha256: sha256_hex(secret.as_bytes()),
            };
            Ok((record, secret))
        })?;
        Ok(Response::new(CreateAccessKeyResponse {
            access_key: Some(access_key),
            secret,
        }))
    }

    async fn update(&self, request: Request<UpdateAccessKeyRequest>) -> Result<Response<Operation>, Status> {
        let (call, body) = Call::checked(request, AccessKeyRec::UPDATE_METHOD)?;
        let UpdateAccessKeyRequest {
            access_key_id,
            update_mask,
            description,
        } = body;
        self.update_key(
            call,
            access_key_id,
            update_mask,
            move |key: &mut AccessKeyRec, field| {
                match field {
                    "description" => key.meta.description.clone_from(&description),
                    _ => return false,
                }
                true
            },
        )
    }

    async fn delete(&self, request: Request<DeleteAccessKeyRequest>) -> Result<Response<Operation>, Status> {
        let (call, body) = Call::checked(request, AccessKeyRec::DELETE_METHOD)?;
        self.delete_key::<AccessKeyRec>(call, body.access_key_id)
    }

    async fn list_operations(
        &self,
        request: Request<ListAccessKeyOperationsRequest>,
    ) -> Result<Response<ListAccessKeyOperationsResponse>, Status> {
        let request = checked(request)?;
        let (operations, next_page_token) =
            self.key_operations::<AccessKeyRec>(&request.access_key_id, request.page_size, &request.page_token)?;
        Ok(Response::new(ListAccessKeyOperationsResponse {
            operations,
            next_page_token,
        }))
    }
}
