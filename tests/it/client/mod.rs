//! The client facade against the in-process emulator.

mod api_key_create;
mod auth_layer;
mod credentials;
mod cycling_pages;
mod deadlines;
mod discovery;
mod errors;
mod failing_operation;
mod key_kinds;
mod metadata;
mod operations;
mod pagination;
mod python_sdk;
mod reconcile;
mod retries;
mod silent_connection;
mod tls;
mod token_cache;
mod validation;

use std::time::Duration;

use yc_iam::{
    Client, ClientBuilder, CreateServiceAccount, Credentials, RetryPolicy,
    emulator::{DEFAULT_FOLDER_ID, DEFAULT_IAM_TOKEN, Emulator, EmulatorBuilder, JournalEntry},
    model::ServiceAccount,
};

pub(crate) const FOLDER: &str = DEFAULT_FOLDER_ID;

pub(crate) const SA_CREATE: &str = "/yandex.cloud.iam.v1.ServiceAccountService/Create";
pub(crate) const SA_LIST: &str = "/yandex.cloud.iam.v1.ServiceAccountService/List";
pub(crate) const KEY_CREATE: &str = "/yandex.cloud.iam.v1.ApiKeyService/Create";
pub(crate) const TOKEN_CREATE: &str = "/yandex.cloud.iam.v1.IamTokenService/Create";
pub(crate) const ENDPOINT_LIST: &str = "/yandex.cloud.endpoint.ApiEndpointService/List";
pub(crate) const OP_GET: &str = "/yandex.cloud.operation.OperationService/Get";

/// An emulator with the defaults.
pub(crate) async fn emulator() -> Emulator {
    start(Emulator::builder()).await
}

pub(crate) async fn start(builder: EmulatorBuilder) -> Emulator {
    builder.start().await.expect("the emulator starts")
}

/// A client builder for the emulator with its default IAM token and quick retries.
pub(crate) fn builder(emu: &Emulator) -> ClientBuilder {
    Client::builder()
        .with_endpoint(emu.endpoint())
        .with_credentials(Credentials::iam_token(DEFAULT_IAM_TOKEN))
        .with_retry(RetryPolicy::default().with_initial_backoff(Duration::from_millis(10)))
}

pub(crate) fn client(emu: &Emulator) -> Client {
    builder(emu).build().expect("the client builds")
}

/// The journaled calls of one method.
pub(crate) fn calls(emu: &Emulator, method: &str) -> Vec<JournalEntry> {
    emu.journal().into_iter().filter(|e| e.method == method).collect()
}

/// Creates a service account and waits for it.
pub(crate) async fn create_sa(client: &Client, name: &str) -> ServiceAccount {
    client
        .service_accounts()
        .create(CreateServiceAccount::new(FOLDER, name))
        .await
        .expect("create is accepted")
        .wait()
        .await
        .expect("the service account is created")
}
