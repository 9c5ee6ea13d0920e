//! `ApiKeyService`: scoped API keys of service accounts, with secrets shown once at creation.

use tonic::{Request, Response, Status};

use super::account_key::{AccountKey, owner};
use super::{Call, Svc, checked, idempotency_key, principal};
use crate::emulator::Quota;
use crate::emulator::errors::invalid_argument;
use crate::emulator::ids;
use crate::emulator::page::page;
use crate::emulator::state::{KeyMeta, KeyRec, SecretKind, State};
use crate::proto::yandex::cloud::iam::v1::api_key_service_server::ApiKeyService;
use crate::proto::yandex::cloud::iam::v1::{
    ApiKey, CreateApiKeyRequest, CreateApiKeyResponse, DeleteApiKeyRequest, GetApiKeyRequest, ListApiKeyScopesRequest,
    ListApiKeyScopesResponse, ListApiKeysRequest, ListApiKeysResponse, UpdateApiKeyRequest,
};
use crate::proto::yandex::cloud::operation::Operation;

const CREATE: &str = "/yandex.cloud.iam.v1.ApiKeyService/Create";

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

impl AccountKey for KeyRec {
    type Proto = ApiKey;
    const NOUN: &'static str = "API key";
    const MESSAGE: &'static str = "yandex.cloud.iam.v1.ApiKey";
    const UPDATE_METHOD: &'static str = "/yandex.cloud.iam.v1.ApiKeyService/Update";
    const DELETE_METHOD: &'static str = "/yandex.cloud.iam.v1.ApiKeyService/Delete";
    const UPDATE_METADATA: &'static str = "yandex.cloud.iam.v1.UpdateApiKeyMetadata";
    const DELETE_METADATA: &'static str = "yandex.cloud.iam.v1.DeleteApiKeyMetadata";
    const UPDATE_DESCRIPTION: &'static str = "Update API key";
    const DELETE_DESCRIPTION: &'static str = "Delete API key";
    const FIELDS: &'static [&'static str] = &["description", "scopes", "expires_at"];
    const SECRET_KIND: SecretKind = SecretKind::ApiKey;
    const QUOTA: Option<Quota> = Some(Quota::ApiKeysPerCloud);

    fn meta(&self) -> &KeyMeta {
        &self.meta
    }

    fn to_proto(&self) -> ApiKey {
        KeyRec::to_proto(self)
    }

    /// A deleted key is kept (its id stays taken) but answers NOT_FOUND.
    fn find<'a>(state: &'a State, id: &str) -> Option<&'a Self> {
        state.api_keys.get(id).filter(|k| !k.deleted)
    }

    fn of_account<'a>(state: &'a State, service_account_id: &'a str) -> impl Iterator<Item = &'a Self> {
        state.keys_of(service_account_id).filter(|k| !k.deleted)
    }

    fn put(state: &mut State, key: Self) {
        state.put_api_key(key);
    }

    fn remove(state: &mut State, id: &str) {
        state.delete_api_key(id);
    }
}

fn check_scopes(scopes: &[String]) -> Result<(), Status> {
    for (i, scope) in scopes.iter().enumerate() {
        if !SCOPES.contains(&scope.as_str()) {
            return Err(invalid_argument(&format!("scopes[{i}]"), "unknown scope"));
        }
    }
    Ok(())
}

#[tonic::async_trait]
impl ApiKeyService for Svc {
    async fn list(&self, request: Request<ListApiKeysRequest>) -> Result<Response<ListApiKeysResponse>, Status> {
        let principal = principal(&request);
        let request = checked(request)?;
        let (api_keys, next_page_token) = self.list_keys::<KeyRec>(
            &principal,
            &request.service_account_id,
            request.page_size,
            &request.page_token,
        )?;
        Ok(Response::new(ListApiKeysResponse {
            api_keys,
            next_page_token,
        }))
    }

    async fn get(&self, request: Request<GetApiKeyRequest>) -> Result<Response<ApiKey>, Status> {
        let request = checked(request)?;
        self.get_key::<KeyRec>(&request.api_key_id)
    }

    async fn create(&self, request: Request<CreateApiKeyRequest>) -> Result<Response<CreateApiKeyResponse>, Status> {
        let key = idempotency_key(&request, CREATE);
        let principal = principal(&request);
        let mut body = checked(request)?;
        let sa = owner(&body.service_account_id, &principal)?;
        let mut scopes = std::mem::take(&mut body.scopes);
        // The deprecated single `scope` still works when `scopes` is empty, as in the real API.
        #[allow(deprecated)]
        if scopes.is_empty() && !body.scope.is_empty() {
            #[allow(deprecated)]
            scopes.push(body.scope.clone());
        }
        check_scopes(&scopes)?;
        let (api_key, secret) = self.create_key::<KeyRec>(key, &sa, |id, now| {
            let secret = ids::api_key_secret()?;
            let meta = KeyMeta::new(id, sa.clone(), body.description, now);
            let record = KeyRec::new(meta, scopes, body.expires_at.as_ref().map(Into::into), &secret);
            Ok((record, secret))
        })?;
        Ok(Response::new(CreateApiKeyResponse {
            api_key: Some(api_key),
            secret,
        }))
    }

    async fn update(&self, request: Request<UpdateApiKeyRequest>) -> Result<Response<Operation>, Status> {
        let (call, body) = Call::checked(request, KeyRec::UPDATE_METHOD)?;
        check_scopes(&body.scopes)?;
        let UpdateApiKeyRequest {
            api_key_id,
            update_mask,
            description,
            scopes,
            expires_at,
        } = body;
        self.update_key(call, api_key_id, update_mask, move |key: &mut KeyRec, field| {
            match field {
                "description" => key.meta.description.clone_from(&description),
                "scopes" => key.scopes.clone_from(&scopes),
                "expires_at" => key.expires_at = expires_at.as_ref().map(Into::into),
                _ => return false,
            }
            true
        })
    }

    async fn delete(&self, request: Request<DeleteApiKeyRequest>) -> Result<Response<Operation>, Status> {
        let (call, body) = Call::checked(request, KeyRec::DELETE_METHOD)?;
        self.delete_key::<KeyRec>(call, body.api_key_id)
    }

    async fn list_scopes(
        &self,
        request: Request<ListApiKeyScopesRequest>,
    ) -> Result<Response<ListApiKeyScopesResponse>, Status> {
        let request = checked(request)?;
        let items = SCOPES.iter().map(|s| ((*s).to_owned(), (*s).to_owned())).collect();
        let (scopes, next_page_token) = page(items, request.page_size, &request.page_token)?;
        Ok(Response::new(ListApiKeyScopesResponse {
            scopes,
            next_page_token,
        }))
    }
}
