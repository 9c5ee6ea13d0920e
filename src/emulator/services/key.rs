//! `KeyService`: authorized keys of service accounts. `Create` makes an RSA key pair and hands out
//! the private key once, preceded by the line Yandex puts before it; the public key is kept, and a
//! JWT signed with the private key is exchanged for an IAM token at once.

use tonic::{Request, Response, Status};

use super::api_key::owner;
use super::service_account::{empty_any, require_service_account};
use super::{Call, Outcome, Svc, idempotency_key, principal, validate};
use crate::emulator::errors::{invalid_argument, not_found, pack};
use crate::emulator::key_pair;
use crate::emulator::page::page;
use crate::emulator::state::{AuthorizedKeyRec, IdemRec, State};
use crate::proto::yandex::cloud::iam::v1::key_service_server::KeyService;
use crate::proto::yandex::cloud::iam::v1::{
    CreateKeyRequest, CreateKeyResponse, DeleteKeyMetadata, DeleteKeyRequest, GetKeyRequest, Key, KeyFormat,
    ListKeyOperationsRequest, ListKeyOperationsResponse, ListKeysRequest, ListKeysResponse, UpdateKeyMetadata,
    UpdateKeyRequest, key,
};
use crate::proto::yandex::cloud::operation::Operation;

const CREATE: &str = "/yandex.cloud.iam.v1.KeyService/Create";
const UPDATE: &str = "/yandex.cloud.iam.v1.KeyService/Update";
const DELETE: &str = "/yandex.cloud.iam.v1.KeyService/Delete";
const UPDATE_METADATA: &str = "yandex.cloud.iam.v1.UpdateKeyMetadata";
const DELETE_METADATA: &str = "yandex.cloud.iam.v1.DeleteKeyMetadata";

fn require_key<'a>(state: &'a State, id: &str) -> Result<&'a AuthorizedKeyRec, Status> {
    state
        .keys
        .authorized
        .get(id)
        .ok_or_else(|| not_found(format!("Key {id} not found")))
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

/// The replay of an earlier `Create` with the same idempotency key, if there was one.
fn replay(state: &State, key: Option<&String>) -> Option<CreateKeyResponse> {
    let Some(IdemRec::Key { key_id, private_key }) = state.idempotency.get(key?) else {
        return None;
    };
    let existing = state.keys.authorized.get(key_id)?;
    Some(CreateKeyResponse {
        key: Some(existing.to_proto()),
        private_key: private_key.clone(),
    })
}

/// The ids of the keys whose operations `metadata` (an update or delete metadata) names.
pub(crate) fn operations_of(
    state: &State,
    clock: &crate::emulator::clock::Clock,
    kinds: [&str; 2],
    id_of: impl Fn(&[u8]) -> Option<String>,
    id: &str,
) -> Vec<(String, Operation)> {
    state
        .operations
        .values()
        .filter(|op| {
            kinds
                .iter()
                .any(|kind| op.metadata.type_url.strip_prefix("type.googleapis.com/") == Some(kind))
                && id_of(&op.metadata.value).as_deref() == Some(id)
        })
        .map(|op| (op.id.clone(), op.render(clock)))
        .collect()
}

#[tonic::async_trait]
impl KeyService for Svc {
    async fn get(&self, request: Request<GetKeyRequest>) -> Result<Response<Key>, Status> {
        let request = request.into_inner();
        validate(&request)?;
        check_format(request.format)?;
        self.inner
            .read(|state| require_key(state, &request.key_id).map(AuthorizedKeyRec::to_proto))
            .map(Response::new)
    }

    async fn list(&self, request: Request<ListKeysRequest>) -> Result<Response<ListKeysResponse>, Status> {
        let principal = principal(&request);
        let request = request.into_inner();
        validate(&request)?;
        check_format(request.format)?;
        let sa = owner(&request.service_account_id, &principal)?;
        let items = self.inner.read(|state| {
            require_service_account(state, &sa)?;
            Ok::<_, Status>(
                state
                    .keys
                    .authorized
                    .values()
                    .filter(|k| k.service_account_id == sa)
                    .map(|k| (k.id.clone(), k.to_proto()))
                    .collect::<Vec<_>>(),
            )
        })?;
        let (keys, next_page_token) = page(items, request.page_size, &request.page_token)?;
        Ok(Response::new(ListKeysResponse { keys, next_page_token }))
    }

    async fn create(&self, request: Request<CreateKeyRequest>) -> Result<Response<CreateKeyResponse>, Status> {
        validate(request.get_ref())?;
        check_format(request.get_ref().format)?;
        let (algorithm, bits) = algorithm(request.get_ref().key_algorithm)?;
        let idem = idempotency_key(&request, CREATE);
        let principal = principal(&request);
        let body = request.into_inner();
        let sa = owner(&body.service_account_id, &principal)?;
        let inner = self.inner.clone();
        // Checked before the costly key generation, and again under the lock below.
        if let Some(replayed) = inner.read(|state| {
            require_service_account(state, &sa)?;
            Ok::<_, Status>(replay(state, idem.as_ref()))
        })? {
            return Ok(Response::new(replayed));
        }
        let pair = tokio::task::spawn_blocking(move || key_pair::generate(bits))
            .await
            .map_err(|_| Status::internal("key generation stopped"))??;
        let response = inner.mutate(|state| {
            if let Some(replayed) = replay(state, idem.as_ref()) {
                return Ok(replayed);
            }
            require_service_account(state, &sa)?;
            let id = inner.new_id("aje");
            let record = AuthorizedKeyRec {
                id: id.clone(),
                service_account_id: sa,
                description: body.description,
                algorithm: algorithm as i32,
                public_key: pair.public_pem,
                created_at: (&inner.clock.now()).into(),
                last_used_at: None,
            };
            let key = record.to_proto();
            state.keys.authorized.insert(id.clone(), record);
            let private_key = private_key_text(&id, &pair.private_pem);
            if let Some(idem) = idem {
                state.idempotency.insert(
                    idem,
                    IdemRec::Key {
                        key_id: id,
                        private_key: private_key.clone(),
                    },
                );
            }
            Ok(CreateKeyResponse {
                key: Some(key),
                private_key,
            })
        })?;
        Ok(Response::new(response))
    }

    async fn update(&self, request: Request<UpdateKeyRequest>) -> Result<Response<Operation>, Status> {
        validate(request.get_ref())?;
        let call = Call::of(&request, UPDATE);
        let body = request.into_inner();
        self.operation(call, move |_inner, state| {
            let mut updated = require_key(state, &body.key_id)?.clone();
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
            let key = updated.to_proto();
            state.keys.authorized.insert(updated.id.clone(), updated);
            Ok(Outcome {
                description: "Update key",
                metadata: pack(
                    UPDATE_METADATA,
                    &UpdateKeyMetadata {
                        key_id: body.key_id.clone(),
                    },
                ),
                response: pack("yandex.cloud.iam.v1.Key", &key),
            })
        })
    }

    async fn delete(&self, request: Request<DeleteKeyRequest>) -> Result<Response<Operation>, Status> {
        validate(request.get_ref())?;
        let call = Call::of(&request, DELETE);
        let id = request.into_inner().key_id;
        self.operation(call, move |_inner, state| {
            require_key(state, &id)?;
            state.keys.authorized.remove(&id);
            Ok(Outcome {
                description: "Delete key",
                metadata: pack(DELETE_METADATA, &DeleteKeyMetadata { key_id: id }),
                response: empty_any(),
            })
        })
    }

    async fn list_operations(
        &self,
        request: Request<ListKeyOperationsRequest>,
    ) -> Result<Response<ListKeyOperationsResponse>, Status> {
        let request = request.into_inner();
        validate(&request)?;
        let inner = &*self.inner;
        let items = inner.read(|state| {
            require_key(state, &request.key_id)?;
            // Update and delete metadata both carry only `key_id`, field 1.
            let id_of = |bytes: &[u8]| {
                <UpdateKeyMetadata as prost::Message>::decode(bytes)
                    .ok()
                    .map(|m| m.key_id)
            };
            Ok::<_, Status>(operations_of(
                state,
                &inner.clock,
                [UPDATE_METADATA, DELETE_METADATA],
                id_of,
                &request.key_id,
            ))
        })?;
        let (operations, next_page_token) = page(items, request.page_size, &request.page_token)?;
        Ok(Response::new(ListKeyOperationsResponse {
            operations,
            next_page_token,
        }))
    }
}
