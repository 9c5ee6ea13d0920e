//! The provisioning flow on the `yandex-cloud` crate (create a service account, wait, grant two
//! folder roles, wait, create a scoped API key): `yandex-cloud-flow [ENDPOINT] [FOLDER]`, token in
//! `YC_TOKEN`.

use std::time::Duration;

use prost::Message as _;
use tonic::transport::Channel;
use yandex_cloud::{
    yandex::cloud::{
        access::{AccessBinding, AccessBindingAction, AccessBindingDelta, Subject, UpdateAccessBindingsRequest},
        iam::v1::{
            api_key_service_client::ApiKeyServiceClient, service_account_service_client::ServiceAccountServiceClient,
            CreateApiKeyRequest, CreateServiceAccountRequest, ServiceAccount,
        },
        operation::{operation, operation_service_client::OperationServiceClient, GetOperationRequest, Operation},
        resourcemanager::v1::folder_service_client::FolderServiceClient,
    },
    AuthInterceptor,
};

async fn wait(channel: &Channel, token: &str, mut op: Operation) -> Result<Operation, Box<dyn std::error::Error>> {
    let mut ops = OperationServiceClient::with_interceptor(channel.clone(), AuthInterceptor::new(token.to_owned()));
    while !op.done {
        tokio::time::sleep(Duration::from_millis(20)).await;
        op = ops.get(GetOperationRequest { operation_id: op.id.clone() }).await?.into_inner();
    }
    Ok(op)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let endpoint = args.next().unwrap_or_else(|| "http://127.0.0.1:4567".into());
    let folder = args.next().unwrap_or_else(|| "b1gemulatorfolder001".into());
    let token = std::env::var("YC_TOKEN").unwrap_or_else(|_| "t1.emulator-default-token".into());
    let channel = Channel::from_shared(endpoint)?.connect().await?;
    let auth = || AuthInterceptor::new(token.clone());

    let op = ServiceAccountServiceClient::with_interceptor(channel.clone(), auth())
        .create(CreateServiceAccountRequest {
            folder_id: folder.clone(),
            name: format!("build-cost-{}", std::process::id()),
            ..Default::default()
        })
        .await?
        .into_inner();
    let op = wait(&channel, &token, op).await?;
    let Some(operation::Result::Response(any)) = op.result else {
        return Err("the operation failed".into());
    };
    let account = ServiceAccount::decode(any.value.as_slice())?;

    let deltas = ["ai.languageModels.user", "ai.imageGeneration.user"]
        .into_iter()
        .map(|role| AccessBindingDelta {
            action: AccessBindingAction::Add as i32,
            access_binding: Some(AccessBinding {
                role_id: role.to_owned(),
                subject: Some(Subject { id: account.id.clone(), r#type: "serviceAccount".to_owned() }),
            }),
        })
        .collect();
    let op = FolderServiceClient::with_interceptor(channel.clone(), auth())
        .update_access_bindings(UpdateAccessBindingsRequest { resource_id: folder, access_binding_deltas: deltas })
        .await?
        .into_inner();
    wait(&channel, &token, op).await?;

    let key = ApiKeyServiceClient::with_interceptor(channel, auth())
        .create(CreateApiKeyRequest {
            service_account_id: account.id.clone(),
            scopes: vec!["yc.ai.languageModels.execute".to_owned()],
            ..Default::default()
        })
        .await?
        .into_inner();
    println!("{} {}", account.id, key.api_key.map(|k| k.id).unwrap_or_default());
    Ok(())
}
