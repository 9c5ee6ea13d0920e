//! The provisioning flow with the library, against the in-process emulator: create a service
//! account, grant it a folder role, and issue a scoped API key — the AI Studio setup.
//!
//! Run with `cargo run --example provision_flow`. Against Yandex Cloud, build the client with
//! real credentials (e.g. `Credentials::from_file("key.json")?`) and the default endpoint.

use std::time::Duration;

use yc_iam::{
    Client, CreateApiKey, CreateServiceAccount, Credentials,
    emulator::{DEFAULT_FOLDER_ID, DEFAULT_IAM_TOKEN, Emulator},
    model::{AccessBinding, AccessBindingDelta},
};

const ROLE: &str = "ai.languageModels.user";
const SCOPE: &str = "yc.ai.languageModels.execute";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Operations take a little while, as in the cloud.
    let emulator = Emulator::builder()
        .with_op_delay(Duration::from_millis(150))
        .start()
        .await?;
    let client = Client::builder()
        .with_endpoint(emulator.endpoint())
        .with_credentials(Credentials::iam_token(DEFAULT_IAM_TOKEN))
        .build()?;
    let folder_id = DEFAULT_FOLDER_ID;

    // 1. The service account: found by name, or created.
    let sa = match client
        .service_accounts()
        .find_by_name(folder_id, "ai-studio-bot")
        .await?
    {
        Some(sa) => {
            println!("service account {} ({}) already exists", sa.name, sa.id);
            sa
        }
        None => {
            let op = client
                .service_accounts()
                .create(CreateServiceAccount::new(folder_id, "ai-studio-bot").description("calls AI Studio"))
                .await?;
            println!("creating service account (operation {})...", op.id());
            let sa = op.wait().await?;
            println!("created service account {} ({})", sa.name, sa.id);
            sa
        }
    };

    // 2. The folder role.
    let delta = AccessBindingDelta::add(AccessBinding::service_account(ROLE, &sa.id));
    let op = client.folders().update_access_bindings(folder_id, vec![delta]).await?;
    println!("granting {ROLE} on folder {folder_id} (operation {})...", op.id());
    let result = op.wait().await?;
    println!("effective changes: {}", result.effective_deltas.len());

    // 3. The API key; its secret is shown once by the API and never printed here.
    let created = client
        .api_keys()
        .create(CreateApiKey::new(&sa.id).scopes([SCOPE]).description("AI Studio key"))
        .await?;
    println!(
        "created api key {} with scopes {:?} (secret {}); use it as `Authorization: Api-Key <secret>`",
        created.api_key.id, created.api_key.scopes, created.api_key.masked_secret
    );

    emulator.shutdown().await;
    Ok(())
}
