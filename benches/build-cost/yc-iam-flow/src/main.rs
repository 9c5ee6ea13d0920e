//! The provisioning flow on `yc_iam` (create a service account, wait, grant two folder roles,
//! wait, create a scoped API key): `yc-iam-flow [ENDPOINT] [FOLDER]`, token in `YC_TOKEN`.

use yc_iam::{
    Client, CreateApiKey, CreateServiceAccount, Credentials,
    model::{AccessBinding, AccessBindingDelta},
};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let endpoint = args.next().unwrap_or_else(|| "http://127.0.0.1:4567".into());
    let folder = args.next().unwrap_or_else(|| "b1gemulatorfolder001".into());
    let token = std::env::var("YC_TOKEN").unwrap_or_else(|_| "t1.emulator-default-token".into());
    let client = Client::builder()
        .with_endpoint(endpoint)
        .with_credentials(Credentials::iam_token(token))
        .build()?;
    let name = format!("build-cost-{}", std::process::id());
    let account = client
        .service_accounts()
        .create(CreateServiceAccount::new(&folder, name))
        .await?
        .wait()
        .await?;
    let deltas = ["ai.languageModels.user", "ai.imageGeneration.user"]
        .into_iter()
        .map(|role| AccessBindingDelta::add(AccessBinding::service_account(role, &account.id)))
        .collect();
    client
        .folders()
        .update_access_bindings(&folder, deltas)
        .await?
        .wait()
        .await?;
    let key = client
        .api_keys()
        .create(CreateApiKey::new(&account.id).scopes(["yc.ai.languageModels.execute"]))
        .await?;
    println!("{} {}", account.id, key.api_key.id);
    Ok(())
}
