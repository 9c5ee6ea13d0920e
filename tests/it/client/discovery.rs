//! Endpoint discovery happens once per client. (That the default endpoint
//! is never discovered is a unit test in `src/client.rs`: it needs no server.)

use yc_iam::{Client, CreateApiKey, Credentials, emulator::DEFAULT_IAM_TOKEN};

use super::{ENDPOINT_LIST, FOLDER, calls, client, create_sa, emulator};

#[tokio::test]
async fn non_default_endpoint_is_discovered_once_per_client() {
    let emu = emulator().await;
    let client = client(&emu);
    // Many first calls at once, to all three services.
    let first = futures_util::future::join_all((0..20).map(|_| {
        let client = client.clone();
        async move {
            client.folders().get(FOLDER).await?;
            client.operations().get("nonexistent-op").await.ok();
            client.service_accounts().find_by_name(FOLDER, "nobody").await
        }
    }))
    .await;
    assert!(first.iter().all(Result::is_ok));
    let sa = create_sa(&client, "discovered").await;
    client.api_keys().create(CreateApiKey::new(&sa.id)).await.expect("key");
    assert_eq!(calls(&emu, ENDPOINT_LIST).len(), 1);
    let list = &calls(&emu, ENDPOINT_LIST)[0];
    assert_eq!(
        list.header("authorization"),
        None,
        "no authorization on ApiEndpointService"
    );

    let other = super::client(&emu);
    other.folders().get(FOLDER).await.expect("second client");
    assert_eq!(calls(&emu, ENDPOINT_LIST).len(), 2, "one more for a new client");
}

#[tokio::test]
async fn service_overrides_skip_discovery() {
    let emu = emulator().await;
    let client = Client::builder()
        .with_endpoint("http://127.0.0.1:9")
        .with_service_endpoint("iam", emu.endpoint())
        .with_service_endpoint("resource-manager", emu.endpoint())
        .with_service_endpoint("operation", emu.endpoint())
        .with_credentials(Credentials::iam_token(DEFAULT_IAM_TOKEN))
        .build()
        .expect("client");
    client
        .folders()
        .get(FOLDER)
        .await
        .expect("get folder through the override");
    assert!(calls(&emu, ENDPOINT_LIST).is_empty());
}
