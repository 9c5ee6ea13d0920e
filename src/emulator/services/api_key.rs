//! `ApiKeyService`: scoped API keys of service accounts, with secrets shown once at creation.

use tonic::{Request, Response, Status};

use super::service_account::{empty_any, require_service_account};
use super::{Call, Outcome, Svc, idempotency_key, principal, validate};
use crate::emulator::errors::{invalid_argument, not_found, pack};
use crate::emulator::page::page;
use crate::emulator::state::{IdemRec, KeyRec, State};
use crate::emulator::{Principal, ids};
use crate::proto::yandex::cloud::iam::v1::api_key_service_server::ApiKeyService;
use crate::proto::yandex::cloud::iam::v1::{
    ApiKey, CreateApiKeyRequest, CreateApiKeyResponse, DeleteApiKeyMetadata, DeleteApiKeyRequest, GetApiKeyRequest,
    ListApiKeyScopesRequest, ListApiKeyScopesResponse, ListApiKeysRequest, ListApiKeysResponse, UpdateApiKeyMetadata,
    UpdateApiKeyRequest,
};
use crate::proto::yandex::cloud::operation::Operation;

const CREATE: &str = "/yandex.cloud.iam.v1.ApiKeyService/Create";
const UPDATE: &str = "/yandex.cloud.iam.v1.ApiKeyService/Update";
const DELETE: &str = "/yandex.cloud.iam.v1.ApiKeyService/Delete";

/// The scopes an API key may be restricted to, as Yandex documents them (the default list of
/// `yc iam api-key create` and the others): both `ListScopes` and the check of `Create` and
/// `Update` read this one list.
pub(crate) const SCOPES: &[&str] = &[
    "yc.ai.foundationModels.execute",
    "yc.ai.imageGeneration.execute",
    "yc.ai.languageModels.execute",
    "yc.ai.speechkitStt.execute",
    "yc.ai.speechkitTts.execute",
    "yc.ai.translate.execute",
    "yc.ai.vision.execute",
    "yc.monitoring.manage",
    "yc.postbox.send",
    "yc.search-api.execute",
    "yc.serverless.containers.invoke",
    "yc.serverless.functions.invoke",
    "yc.ydb.tables.manage",
    "yc.ydb.topics.manage",
];

fn require_key<'a>(state: &'a State, id: &str) -> Result<&'a KeyRec, Status> {
    state
        .api_keys
        .get(id)
        .filter(|k| !k.deleted)
        .ok_or_else(|| not_found(format!("API key {id} not found")))
}

fn check_scopes(scopes: &[String]) -> Result<(), Status> {
    for (i, scope) in scopes.iter().enumerate() {
        if !SCOPES.contains(&scope.as_str()) {
            return Err(invalid_argument(&format!("scopes[{i}]"), "unknown scope"));
        }
    }
    Ok(())
}

/// The service account a key request is about: the named one, or the calling service account.
pub(crate) fn owner(named: &str, principal: &Principal) -> Result<String, Status> {
    match (named.is_empty(), principal) {
        (false, _) => Ok(named.to_owned()),
        (true, Principal::ServiceAccount(id)) => Ok(id.clone()),
        (true, Principal::User(_)) => Err(invalid_argument("service_account_id", "required for user accounts")),
    }
}

#[tonic::async_trait]
impl ApiKeyService for Svc {
    async fn list(&self, request: Request<ListApiKeysRequest>) -> Result<Response<ListApiKeysResponse>, Status> {
        let principal = principal(&request);
        let request = request.into_inner();
        validate(&request)?;
        let sa = owner(&request.service_account_id, &principal)?;
        let items = self.inner.read(|state| {
            require_service_account(state, &sa)?;
            Ok::<_, Status>(
                state
                    .keys_of(&sa)
                    .filter(|k| !k.deleted)
                    .map(|k| (k.id.clone(), k.to_proto()))
                    .collect::<Vec<_>>(),
            )
        })?;
        let (api_keys, next_page_token) = page(items, request.page_size, &request.page_token)?;
        Ok(Response::new(ListApiKeysResponse {
            api_keys,
            next_page_token,
        }))
    }

    async fn get(&self, request: Request<GetApiKeyRequest>) -> Result<Response<ApiKey>, Status> {
        let request = request.into_inner();
        validate(&request)?;
        self.inner
            .read(|state| require_key(state, &request.api_key_id).map(KeyRec::to_proto))
            .map(Response::new)
    }

    async fn create(&self, request: Request<CreateApiKeyRequest>) -> Result<Response<CreateApiKeyResponse>, Status> {
        validate(request.get_ref())?;
        let key = idempotency_key(&request, CREATE);
        let principal = principal(&request);
        let mut body = request.into_inner();
        let sa = owner(&body.service_account_id, &principal)?;
        let mut scopes = std::mem::take(&mut body.scopes);
        // The deprecated single `scope` still works when `scopes` is empty, as in the real API.
        #[allow(deprecated)]
        if scopes.is_empty() && !body.scope.is_empty() {
            #[allow(deprecated)]
            scopes.push(body.scope.clone());
        }
        check_scopes(&scopes)?;
        let inner = &*self.inner;
        let response = inner.mutate(|state| {
            if let Some(key) = &key
                && let Some(IdemRec::ApiKey { api_key_id, secret }) = state.idempotency.get(key)
                && let Some(existing) = state.api_keys.get(api_key_id)
            {
                return Ok(CreateApiKeyResponse {
                    api_key: Some(existing.to_proto()),
                    secret: secret.clone(),
                });
            }
            require_service_account(state, &sa)?;
            let id = inner.new_id("aje");
            let secret = ids::api_key_secret()?;
            let record = KeyRec {
                id: id.clone(),
                service_account_id: sa,
                description: body.description,
                scopes,
                created_at: (&inner.clock.now()).into(),
                expires_at: body.expires_at.as_ref().map(Into::into),
                last_used_at: None,
                secret: secret.clone(),
                deleted: false,
            };
            let api_key = record.to_proto();
            state.put_api_key(record);
            if let Some(key) = key {
                state.idempotency.insert(
                    key,
                    IdemRec::ApiKey {
                        api_key_id: id,
                        secret: secret.clone(),
                    },
                );
            }
            Ok(CreateApiKeyResponse {
                api_key: Some(api_key),
                secret,
            })
        })?;
        Ok(Response::new(response))
    }

    async fn update(&self, request: Request<UpdateApiKeyRequest>) -> Result<Response<Operation>, Status> {
        validate(request.get_ref())?;
        check_scopes(&request.get_ref().scopes)?;
        let call = Call::of(&request, UPDATE);
        let body = request.into_inner();
        self.operation(call, move |_inner, state| {
            let mut updated = require_key(state, &body.api_key_id)?.clone();
            let paths: Vec<String> = match &body.update_mask {
                Some(mask) if !mask.paths.is_empty() => mask.paths.clone(),
                _ => vec!["description".into(), "scopes".into(), "expires_at".into()],
            };
            for (i, path) in paths.iter().enumerate() {
                match path.as_str() {
                    "description" => updated.description = body.description.clone(),
                    "scopes" => updated.scopes = body.scopes.clone(),
                    "expires_at" => updated.expires_at = body.expires_at.as_ref().map(Into::into),
                    _ => return Err(invalid_argument(&format!("update_mask.paths[{i}]"), "unknown field")),
                }
            }
            let api_key = updated.to_proto();
            state.put_api_key(updated);
            Ok(Outcome {
                description: "Update API key",
                metadata: pack(
                    "yandex.cloud.iam.v1.UpdateApiKeyMetadata",
                    &UpdateApiKeyMetadata {
                        api_key_id: body.api_key_id.clone(),
                    },
                ),
                response: pack("yandex.cloud.iam.v1.ApiKey", &api_key),
            })
        })
    }

    async fn delete(&self, request: Request<DeleteApiKeyRequest>) -> Result<Response<Operation>, Status> {
        validate(request.get_ref())?;
        let call = Call::of(&request, DELETE);
        let id = request.into_inner().api_key_id;
        self.operation(call, move |_inner, state| {
            require_key(state, &id)?;
            state.delete_api_key(&id);
            Ok(Outcome {
                description: "Delete API key",
                metadata: pack(
                    "yandex.cloud.iam.v1.DeleteApiKeyMetadata",
                    &DeleteApiKeyMetadata { api_key_id: id },
                ),
                response: empty_any(),
            })
        })
    }

    async fn list_scopes(
        &self,
        request: Request<ListApiKeyScopesRequest>,
    ) -> Result<Response<ListApiKeyScopesResponse>, Status> {
        let request = request.into_inner();
        validate(&request)?;
        let items = SCOPES.iter().map(|s| ((*s).to_owned(), (*s).to_owned())).collect();
        let (scopes, next_page_token) = page(items, request.page_size, &request.page_token)?;
        Ok(Response::new(ListApiKeyScopesResponse {
            scopes,
            next_page_token,
        }))
    }
}
