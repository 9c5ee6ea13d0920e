//! The official Python SDK as a witness: its generated `TokenizerService` stub, given a key the
//! library provisioned (`authorization: Api-Key …`), gets from the emulator the same answer as
//! the library's stub behind `AuthLayer`. Ignored by default: it needs Python with the SDK
//! installed; `YC_IAM_PYTHON` names the interpreter (`.ci/run` makes one when pip can).

use std::process::Command;

use serde_json::{Value, json};
use tonic::transport::Channel;
use yc_iam::{
    ExposeSecret as _,
    proto::yandex::cloud::ai::foundation_models::v1::{
        TokenizeRequest, tokenizer_service_client::TokenizerServiceClient,
    },
    provision::{IssuedKey, Provision, Verify},
};

use super::{FOLDER, client, emulator};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/python-sdk/tokenize_witness.py");

#[tokio::test]
#[ignore = "needs Python with `yandexcloud` (README, section Emulator)"]
async fn the_python_sdks_tokenizer_stub_gets_the_same_answer_as_ours_with_the_provisioned_key() {
    let python = std::env::var("YC_IAM_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let emu = emulator().await;
    let admin = client(&emu);
    let report = Provision::new(FOLDER, "sa-python-witness")
        .output_to_caller()
        .verify(Verify::new())
        .run(&admin)
        .await
        .expect("provisioned and verified");
    let issued = report.secret_for_caller.as_ref().expect("the key for the caller");
    let IssuedKey::Api(key) = issued else {
        panic!("an API key, not {:?}", issued.kind());
    };
    let model_uri = format!("gpt://{FOLDER}/yandexgpt-lite/latest");
    let text = "Hello, AI Studio! Привет, 2 мира.";

    // Ours: the generated stub with the new key's client layered in front.
    let ours_client = admin
        .with_credentials(issued.credentials().expect("an API key authenticates"))
        .expect("a client with the new key");
    let channel = Channel::from_shared(emu.endpoint()).expect("endpoint").connect_lazy();
    let channel = tower::ServiceBuilder::new()
        .layer(ours_client.auth_layer())
        .service(channel);
    let reply = TokenizerServiceClient::new(channel)
        .tokenize(TokenizeRequest {
            model_uri: model_uri.clone(),
            text: text.to_owned(),
        })
        .await
        .expect("our stub's call")
        .into_inner();
    let ours = json!({
        "model_version": reply.model_version,
        "tokens": reply.tokens.iter().map(|t| json!([t.id, t.text, t.special])).collect::<Vec<_>>(),
    });
    let dir = tempfile::tempdir().unwrap();
    let expect = dir.path().join("ours.json");
    std::fs::write(&expect, ours.to_string()).unwrap();

    // Theirs: the SDK's stub, the secret in the environment rather than on the command line.
    let address = emu.endpoint().trim_start_matches("http://").to_owned();
    let mut cmd = Command::new(python);
    cmd.arg(SCRIPT)
        .args(["--endpoint", &address, "--model-uri", &model_uri, "--text", text])
        .arg("--expect")
        .arg(&expect)
        .env("YC_API_KEY", key.secret.expose_secret());
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .expect("python runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the SDK's call or comparison failed: {stderr}");
    let theirs: Value = serde_json::from_slice(&out.stdout).expect("the script prints JSON");
    assert_eq!(theirs, ours);
    assert!(ours["tokens"].as_array().is_some_and(|t| t.len() > 5), "{ours}");
}
