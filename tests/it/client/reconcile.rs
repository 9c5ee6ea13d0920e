//! A lost API-key create against a server that does NOT replay `idempotency-key` for
//! `ApiKeyService.Create` (the emulator does, which hides the harder case): a lost answer makes a
//! key nobody holds the secret of, and the client must delete it.

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, SystemTime},
};

use tonic::{Request, Response, Status, transport::server::TcpIncoming};
use yc_iam::{
    Client, CreateApiKey, Credentials, ErrorKind, RetryPolicy,
    proto::yandex::cloud::{
        iam::v1::{
            ApiKey, CreateApiKeyRequest, CreateApiKeyResponse, DeleteApiKeyRequest, GetApiKeyRequest,
            ListApiKeyScopesRequest, ListApiKeyScopesResponse, ListApiKeysRequest, ListApiKeysResponse,
            UpdateApiKeyRequest,
            api_key_service_server::{ApiKeyService, ApiKeyServiceServer},
        },
        operation::{Operation, operation},
    },
};

#[derive(Default)]
struct Keys {
    live: Vec<ApiKey>,
    next: u32,
    creates: u32,
    deletes: u32,
    lists: u32,
}

/// An ApiKeyService that applies every create but loses the answer of the first `lose` ones.
#[derive(Clone)]
struct Forgetful {
    keys: Arc<Mutex<Keys>>,
    lose: u32,
}

#[tonic::async_trait]
impl ApiKeyService for Forgetful {
    async fn list(&self, request: Request<ListApiKeysRequest>) -> Result<Response<ListApiKeysResponse>, Status> {
        let sa = request.into_inner().service_account_id;
        let mut keys = self.keys.lock().expect("lock");
        keys.lists += 1;
        let api_keys = keys
            .live
            .iter()
            .filter(|k| k.service_account_id == sa)
            .cloned()
            .collect();
        Ok(Response::new(ListApiKeysResponse {
            api_keys,
            next_page_token: String::new(),
        }))
    }

    async fn get(&self, _: Request<GetApiKeyRequest>) -> Result<Response<ApiKey>, Status> {
        Err(Status::unimplemented("get"))
    }

    async fn create(&self, request: Request<CreateApiKeyRequest>) -> Result<Response<CreateApiKeyResponse>, Status> {
        let request = request.into_inner();
        let mut keys = self.keys.lock().expect("lock");
        keys.creates += 1;
        keys.next += 1;
        let key = ApiKey {
            id: format!("ajekey{}", keys.next),
            service_account_id: request.service_account_id,
            description: request.description,
            scopes: request.scopes,
            expires_at: request.expires_at,
            created_at: Some(SystemTime::now().into()),
            ..Default::default()
        };
        keys.live.push(key.clone());
        if keys.creates <= self.lose {
            return Err(Status::unavailable("connection reset (the key was made)"));
        }
        Ok(Response::new(CreateApiKeyResponse {
            secret: format!("AQVNsecret{}", keys.next),
            api_key: Some(key),
        }))
    }

    async fn update(&self, _: Request<UpdateApiKeyRequest>) -> Result<Response<Operation>, Status> {
        Err(Status::unimplemented("update"))
    }

    async fn delete(&self, request: Request<DeleteApiKeyRequest>) -> Result<Response<Operation>, Status> {
        let id = request.into_inner().api_key_id;
        let mut keys = self.keys.lock().expect("lock");
        keys.deletes += 1;
        keys.live.retain(|k| k.id != id);
        Ok(Response::new(Operation {
            id: format!("op-delete-{id}"),
            done: true,
            result: Some(operation::Result::Response(prost_types::Any {
                type_url: "type.googleapis.com/google.protobuf.Empty".into(),
                value: Vec::new(),
            })),
            ..Default::default()
        }))
    }

    async fn list_scopes(
        &self,
        _: Request<ListApiKeyScopesRequest>,
    ) -> Result<Response<ListApiKeyScopesResponse>, Status> {
        Err(Status::unimplemented("list_scopes"))
    }
}

async fn serve(lose: u32) -> (SocketAddr, Arc<Mutex<Keys>>) {
    let keys = Arc::new(Mutex::new(Keys::default()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let service = ApiKeyServiceServer::new(Forgetful {
        keys: keys.clone(),
        lose,
    });
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(TcpIncoming::from(listener)),
    );
    (addr, keys)
}

fn client(addr: SocketAddr, attempts: u32) -> Client {
    let endpoint = format!("http://{addr}");
    Client::builder()
        .with_endpoint(&endpoint)
        .with_service_endpoint("iam", &endpoint)
        .with_service_endpoint("operation", &endpoint)
        .with_credentials(Credentials::iam_token("t1.test"))
        .with_retry(
            RetryPolicy::default()
                .with_max_attempts(attempts)
                .with_initial_backoff(Duration::ZERO),
        )
        .build()
        .expect("client")
}

#[tokio::test]
async fn key_made_by_a_lost_answer_is_deleted_and_one_live_key_remains() {
    let (addr, keys) = serve(2).await;
    let request = CreateApiKey::new("ajesa")
        .scopes(["yc.ai.languageModels.execute"])
        .description("bot");
    let created = client(addr, 5)
        .api_keys()
        .create(request)
        .await
        .expect("created on the third attempt");
    let keys = keys.lock().expect("lock");
    assert_eq!(keys.creates, 3);
    assert_eq!(keys.deletes, 2, "the two keys whose secrets were lost are deleted");
    assert_eq!(
        keys.live.iter().map(|k| k.id.as_str()).collect::<Vec<_>>(),
        [created.api_key.id.as_str()]
    );
}

#[tokio::test]
async fn create_that_never_succeeds_leaves_no_key_behind() {
    let (addr, keys) = serve(u32::MAX).await;
    let err = client(addr, 3)
        .api_keys()
        .create(CreateApiKey::new("ajesa"))
        .await
        .expect_err("every answer lost");
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    let keys = keys.lock().expect("lock");
    assert_eq!(keys.creates, 3);
    assert!(
        keys.live.is_empty(),
        "no key without a known secret remains: {:?}",
        keys.live
    );
}

#[tokio::test]
async fn keys_that_existed_before_are_kept() {
    let (addr, keys) = serve(1).await;
    let old = ApiKey {
        id: "ajeoldkey".into(),
        service_account_id: "ajesa".into(),
        description: "bot".into(),
        created_at: Some((SystemTime::now() - Duration::from_secs(600)).into()),
        ..Default::default()
    };
    keys.lock().expect("lock").live.push(old.clone());
    // The same description and scopes as the old key: only the key made by this call may go.
    let new = client(addr, 5)
        .api_keys()
        .create(CreateApiKey::new("ajesa").description("bot"))
        .await
        .expect("new key");
    let keys = keys.lock().expect("lock");
    assert_eq!(keys.deletes, 1);
    let live: Vec<_> = keys.live.iter().map(|k| k.id.as_str()).collect();
    assert_eq!(live, [old.id.as_str(), new.api_key.id.as_str()]);
}

#[tokio::test]
async fn create_that_succeeds_at_once_sends_one_rpc() {
    let (addr, keys) = serve(0).await;
    client(addr, 5)
        .api_keys()
        .create(CreateApiKey::new("ajesa"))
        .await
        .expect("created");
    let keys = keys.lock().expect("lock");
    assert_eq!((keys.creates, keys.lists, keys.deletes), (1, 0, 0));
}
