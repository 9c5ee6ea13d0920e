//! Raw-stub clients for the emulator, and small helpers shared by its tests.

use prost::Message;
use prost_types::Any;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Status};
use yc_iam::emulator::{DEFAULT_FOLDER_ID, DEFAULT_IAM_TOKEN, Emulator};
use yc_iam::proto::google::rpc;
use yc_iam::proto::yandex::cloud::endpoint::api_endpoint_service_client::ApiEndpointServiceClient;
use yc_iam::proto::yandex::cloud::iam::v1::api_key_service_client::ApiKeyServiceClient;
use yc_iam::proto::yandex::cloud::iam::v1::iam_token_service_client::IamTokenServiceClient;
use yc_iam::proto::yandex::cloud::iam::v1::service_account_service_client::ServiceAccountServiceClient;
use yc_iam::proto::yandex::cloud::iam::v1::{
    CreateApiKeyRequest, CreateApiKeyResponse, CreateServiceAccountRequest, ServiceAccount,
};
use yc_iam::proto::yandex::cloud::lockbox::v1::payload_service_client::PayloadServiceClient;
use yc_iam::proto::yandex::cloud::lockbox::v1::secret_service_client::SecretServiceClient;
use yc_iam::proto::yandex::cloud::lockbox::v1::{
    CreateSecretRequest, PayloadEntryChange, Secret, payload_entry_change,
};
use yc_iam::proto::yandex::cloud::operation::operation_service_client::OperationServiceClient;
use yc_iam::proto::yandex::cloud::operation::{GetOperationRequest, Operation, operation};
use yc_iam::proto::yandex::cloud::resourcemanager::v1::cloud_service_client::CloudServiceClient;
use yc_iam::proto::yandex::cloud::resourcemanager::v1::folder_service_client::FolderServiceClient;

/// Adds `authorization` to every call (or nothing, for unauthenticated probes).
#[derive(Clone)]
pub(crate) struct Auth(Option<MetadataValue<Ascii>>);

impl Auth {
    pub(crate) fn bearer(token: &str) -> Self {
        Self(Some(format!("Bearer {token}").parse().expect("ascii token")))
    }

    pub(crate) fn api_key(secret: &str) -> Self {
        Self(Some(format!("Api-Key {secret}").parse().expect("ascii secret")))
    }

    pub(crate) fn none() -> Self {
        Self(None)
    }
}

impl Interceptor for Auth {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(value) = &self.0 {
            request.metadata_mut().insert("authorization", value.clone());
        }
        Ok(request)
    }
}

pub(crate) type Authed = InterceptedService<Channel, Auth>;

/// One client per service, sharing a channel.
pub(crate) struct Clients {
    pub(crate) accounts: ServiceAccountServiceClient<Authed>,
    pub(crate) keys: ApiKeyServiceClient<Authed>,
    pub(crate) folders: FolderServiceClient<Authed>,
    pub(crate) clouds: CloudServiceClient<Authed>,
    pub(crate) operations: OperationServiceClient<Authed>,
    pub(crate) secrets: SecretServiceClient<Authed>,
    pub(crate) payloads: PayloadServiceClient<Authed>,
    pub(crate) tokens: IamTokenServiceClient<Channel>,
    pub(crate) endpoints: ApiEndpointServiceClient<Channel>,
}

pub(crate) async fn channel(emu: &Emulator) -> Channel {
    Endpoint::from_shared(emu.endpoint())
        .expect("endpoint")
        .connect()
        .await
        .expect("connect")
}

/// Clients authenticated with the default token.
pub(crate) async fn clients(emu: &Emulator) -> Clients {
    clients_with(emu, Auth::bearer(DEFAULT_IAM_TOKEN)).await
}

pub(crate) async fn clients_with(emu: &Emulator, auth: Auth) -> Clients {
    clients_at(&emu.endpoint(), auth).await
}

/// Clients of the emulator at `endpoint` (for example one running as a separate process).
pub(crate) async fn clients_at(endpoint: &str, auth: Auth) -> Clients {
    let channel = Endpoint::from_shared(endpoint.to_owned())
        .expect("endpoint")
        .connect()
        .await
        .expect("connect");
    let authed = |c: &Channel| InterceptedService::new(c.clone(), auth.clone());
    Clients {
        accounts: ServiceAccountServiceClient::new(authed(&channel)),
        keys: ApiKeyServiceClient::new(authed(&channel)),
        folders: FolderServiceClient::new(authed(&channel)),
        clouds: CloudServiceClient::new(authed(&channel)),
        operations: OperationServiceClient::new(authed(&channel)),
        secrets: SecretServiceClient::new(authed(&channel)),
        payloads: PayloadServiceClient::new(authed(&channel)),
        tokens: IamTokenServiceClient::new(channel.clone()),
        endpoints: ApiEndpointServiceClient::new(channel),
    }
}

/// A request carrying `idempotency-key`.
pub(crate) fn with_idempotency_key<T>(message: T, key: &str) -> Request<T> {
    let mut request = Request::new(message);
    request
        .metadata_mut()
        .insert("idempotency-key", key.parse().expect("ascii key"));
    request
}

/// Decodes an `Any`, checking its type URL names `full_name`.
pub(crate) fn unpack<M: Message + Default>(any: &Any, full_name: &str) -> M {
    assert_eq!(any.type_url, format!("type.googleapis.com/{full_name}"));
    M::decode(any.value.as_slice()).expect("decodes")
}

/// The response of a finished operation.
pub(crate) fn response_of(op: &Operation) -> &Any {
    match &op.result {
        Some(operation::Result::Response(any)) => any,
        other => panic!("operation {} has no response: {other:?}", op.id),
    }
}

/// Polls until the operation is done.
pub(crate) async fn wait(c: &mut Clients, op: Operation) -> Operation {
    let mut op = op;
    while !op.done {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        op = c
            .operations
            .get(GetOperationRequest {
                operation_id: op.id.clone(),
            })
            .await
            .expect("get op")
            .into_inner();
    }
    op
}

/// Creates a service account in the default folder and waits for it.
pub(crate) async fn create_account(c: &mut Clients, name: &str) -> ServiceAccount {
    let op = c
        .accounts
        .create(CreateServiceAccountRequest {
            folder_id: DEFAULT_FOLDER_ID.into(),
            name: name.into(),
            ..Default::default()
        })
        .await
        .expect("create")
        .into_inner();
    let op = wait(c, op).await;
    unpack(response_of(&op), "yandex.cloud.iam.v1.ServiceAccount")
}

/// Creates an API key (no scopes, no expiry) for an account.
pub(crate) async fn create_key(c: &mut Clients, service_account_id: &str) -> CreateApiKeyResponse {
    c.keys
        .create(CreateApiKeyRequest {
            service_account_id: service_account_id.into(),
            ..Default::default()
        })
        .await
        .expect("key")
        .into_inner()
}

/// The `google.rpc.Status` in an error's details.
pub(crate) fn rpc_status(status: &Status) -> rpc::Status {
    rpc::Status::decode(status.details()).expect("details are a google.rpc.Status")
}

/// The detail of type `full_name` in an error, decoded.
pub(crate) fn detail<M: Message + Default>(status: &Status, full_name: &str) -> Option<M> {
    rpc_status(status)
        .details
        .iter()
        .find(|d| d.type_url == format!("type.googleapis.com/{full_name}"))
        .map(|d| M::decode(d.value.as_slice()).expect("detail decodes"))
}

/// The field named by an INVALID_ARGUMENT's `google.rpc.BadRequest`.
pub(crate) fn bad_field(status: &Status) -> String {
    let bad: rpc::BadRequest = detail(status, "google.rpc.BadRequest").expect("BadRequest detail");
    bad.field_violations
        .first()
        .map(|v| v.field.clone())
        .unwrap_or_default()
}

/// A payload entry change holding text.
pub(crate) fn text_entry(key: &str, value: &str) -> PayloadEntryChange {
    PayloadEntryChange {
        key: key.into(),
        value: Some(payload_entry_change::Value::TextValue(value.into())),
    }
}

/// Creates a Lockbox secret in the default folder holding `entries` as its first version, and
/// waits for it.
pub(crate) async fn create_secret(c: &mut Clients, name: &str, entries: Vec<PayloadEntryChange>) -> Secret {
    let op = c
        .secrets
        .create(CreateSecretRequest {
            folder_id: DEFAULT_FOLDER_ID.into(),
            name: name.into(),
            version_payload_entries: entries,
            ..Default::default()
        })
        .await
        .expect("create secret")
        .into_inner();
    let op = wait(c, op).await;
    unpack(response_of(&op), "yandex.cloud.lockbox.v1.Secret")
}
