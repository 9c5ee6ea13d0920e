//! `KeyService`: authorized keys of service accounts. `Create` makes an RSA key pair and hands out
//! the private key once, preceded by the line Yandex puts before it; the public key is kept, and a
//! JWT signed with the private key is exchanged for an IAM token at once.

use tonic::{Request, Response, Status};

use super::account_key::{AccountKey, owner, replay};
use super::service_account::require_service_account;
use super::{Call, Svc, checked, idempotency_key, principal};
use crate::emulator::errors::invalid_argument;
use crate::emulator::key_pair;
use crate::emulator::state::{AuthorizedKeyRec, KeyMeta, SecretKind, State};
use crate::proto::yandex::cloud::iam::v1::key_service_server::KeyService;
use crate::proto::yandex::cloud::iam::v1::{
    CreateKeyRequest, CreateKeyResponse, DeleteKeyRequest, GetKeyRequest, Key, KeyFormat, ListKeyOperationsRequest,
    ListKeyOperationsResponse, ListKeysRequest, ListKeysResponse, UpdateKeyRequest, key,
};
use crate::proto::yandex::cloud::operation::Operation;

const CREATE: &str = "/yandex.cloud.iam.v1.KeyService/Create";

impl AccountKey for AuthorizedKeyRec {
    type Proto = Key;
    const NOUN: &'static str = "Key";
    const MESSAGE: &'static str = "yandex.cloud.iam.v1.Key";
    const UPDATE_METHOD: &'static str = "/yandex.cloud.iam.v1.KeyService/Update";
    const DELETE_METHOD: &'static str = "/yandex.cloud.iam.v1.KeyService/Delete";
    const UPDATE_METADATA: &'static str = "yandex.cloud.iam.v1.UpdateKeyMetadata";
    const DELETE_METADATA: &'static str = "yandex.cloud.iam.v1.DeleteKeyMetadata";
    const UPDATE_DESCRIPTION: &'static str = "Update key";
    const DELETE_DESCRIPTION: &'static str = "Delete key";
    const FIELDS: &'static [&'static str] = &["description"];
    const SECRET_KIND: SecretKind = SecretKind::Key;

    fn meta(&self) -> &KeyMeta {
        &self.meta
    }

    fn to_proto(&self) -> Key {
        AuthorizedKeyRec::to_proto(self)
    }

    fn find<'a>(state: &'a State, id: &str) -> Option<&'a Self> {
        state.keys.authorized.get(id)
    }

    fn of_account<'a>(state: &'a State, service_account_id: &'a str) -> impl Iterator<Item = &'a Self> {
        state.keys.authorized.of(service_account_id)
    }

    fn put(state: &mut State, key: Self) {
        state.keys.authorized.put(key);
    }

    fn remove(state: &mut State, id: &str) {
        state.keys.authorized.remove(id);
    }
}

/// INVALID_ARGUMENT unless `format` is a `KeyFormat` (only `PEM_FILE` exists).
fn check_format(format: i32) -> Result<(), Status> {
    KeyFormat::try_from(format)
        .map(drop)
        .map_err(|_| invalid_argument("format", "unknown key format"))
}

/// The algorithm and modulus size a `Create` asks for; unspecified means RSA-2048, as in `yc`.
fn algorithm(value: i32) -> Result<(key::Algorithm, usize), Status> {
    match key::Algorithm::try_from(value) {
        Ok(key::Algorithm::Unspecified | key::Algorithm::Rsa2048) => Ok((key::Algorithm::Rsa2048, 2048)),
        Ok(key::Algorithm::Rsa4096) => Ok((key::Algorithm::Rsa4096, 4096)),
        Err(_) => Err(invalid_argument("key_algorithm", "unknown key algorithm")),
    }
}

/// The private key as `CreateKeyResponse` carries it: Yandex's warning line, then the PEM.
fn private_key_text(key_id: &str, pem: &str) -> String {
    format!("PLEASE DO NOT REMOVE THIS LINE! Yandex.Cloud SA Key ID <{key_id}>\n{pem}")
}

#[tonic::async_trait]
impl KeyService for Svc {
    async fn get(&self, request: Request<GetKeyRequest>) -> Result<Response<Key>, Status> {
        let request = checked(request)?;
        check_format(request.format)?;
        self.get_key::<AuthorizedKeyRec>(&request.key_id)
    }

    async fn list(&self, request: Request<ListKeysRequest>) -> Result<Response<ListKeysResponse>, Status> {
        let principal = principal(&request);
        let request = checked(request)?;
        check_format(request.format)?;
        let (keys, next_page_token) = self.list_keys::<AuthorizedKeyRec>(
            &principal,
            &request.service_account_id,
            request.page_size,
            &request.page_token,
        )?;
        Ok(Response::new(ListKeysResponse { keys, next_page_token }))
    }

    async fn create(&self, request: Request<CreateKeyRequest>) -> Result<Response<CreateKeyResponse>, Status> {
        let idem = idempotency_key(&request, CREATE);
        let principal = principal(&request);
        let body = checked(request)?;
        check_format(body.format)?;
        let (algorithm, bits) = algorithm(body.key_algorithm)?;
        let sa = owner(&body.service_account_id, &principal)?;
        let inner = self.inner.clone();
        // Checked before the costly key generation, and again under the lock below.
        if let Some((key, private_key)) = inner.read(|state| {
            require_service_account(state, &sa)?;
            Ok::<_, Status>(replay::<AuthorizedKeyRec>(state, idem.as_ref(), &inner.clock.now()))
        })? {
            return Ok(Response::new(CreateKeyResponse {
                key: Some(key),
                private_key,
            }));
        }
        let pair = tokio::task::spawn_blocking(move || key_pair::generate(bits))
            .await
            .map_err(|_| Status::internal("key generation stopped"))??;
        let (key, private_key) = self.create_key::<AuthorizedKeyRec>(idem, &sa, |id, now| {
            let private_key = private_key_text(&id, &pair.private_pem);
            let record = AuthorizedKeyRec {
                meta: KeyMeta::new(id, sa.clone(), body.description, now),
                algorithm: algorithm as i32,
                public_key: pair.public_pem,
            };
            Ok((record, private_key))
        })?;
        Ok(Response::new(CreateKeyResponse {
            key: Some(key),
            private_key,
        }))
    }

    async fn update(&self, request: Request<UpdateKeyRequest>) -> Result<Response<Operation>, Status> {
        let (call, body) = Call::checked(request, AuthorizedKeyRec::UPDATE_METHOD)?;
        let UpdateKeyRequest {
            key_id,
            update_mask,
            description,
        } = body;
        self.update_key(call, key_id, update_mask, move |key: &mut AuthorizedKeyRec, field| {
            match field {
                "description" => key.meta.description.clone_from(&description),
                _ => return false,
            }
            true
        })
    }

    async fn delete(&self, request: Request<DeleteKeyRequest>) -> Result<Response<Operation>, Status> {
        let (call, body) = Call::checked(request, AuthorizedKeyRec::DELETE_METHOD)?;
        self.delete_key::<AuthorizedKeyRec>(call, body.key_id)
    }

    async fn list_operations(
        &self,
        request: Request<ListKeyOperationsRequest>,
    ) -> Result<Response<ListKeyOperationsResponse>, Status> {
        let request = checked(request)?;
        let (operations, next_page_token) =
            self.key_operations::<AuthorizedKeyRec>(&request.key_id, request.page_size, &request.page_token)?;
        Ok(Response::new(ListKeyOperationsResponse {
            operations,
            next_page_token,
        }))
    }
}
