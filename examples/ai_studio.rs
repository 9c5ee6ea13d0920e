//! A backend's use of AI Studio with a key the library provisions, against the in-process
//! emulator: provision a service account, its role and a scoped API key (checked to work before
//! it is used, since a new role binding takes a moment to apply), then call the generated
//! `TokenizerService` and `TextGenerationService` stubs with the client's `AuthLayer` in front.
//!
//! Run with `cargo run --example ai_studio`. Against Yandex Cloud, build the provisioning client
//! with real credentials and the default endpoint, and open the channel to
//! `https://llm.api.cloud.yandex.net:443` with TLS (see `AuthLayer`'s documentation).

use std::time::Duration;

use futures_util::StreamExt as _;
use tonic::transport::Channel;
use yc_iam::{
    Client, Credentials,
    emulator::{DEFAULT_FOLDER_ID, DEFAULT_IAM_TOKEN, Emulator},
    proto::yandex::cloud::ai::foundation_models::v1::{
        CompletionRequest, Message, TokenizeRequest, message::Content,
        text_generation_service_client::TextGenerationServiceClient, tokenizer_service_client::TokenizerServiceClient,
    },
    provision::{Provision, Verify},
};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // As in the cloud, a new role binding takes a while to apply.
    let emulator = Emulator::builder()
        .with_binding_delay(Duration::from_millis(500))
        .start()
        .await?;
    let admin = Client::builder()
        .with_endpoint(emulator.endpoint())
        .with_credentials(Credentials::iam_token(DEFAULT_IAM_TOKEN))
        .build()?;

    // 1. The account, `ai.languageModels.user` and a key scoped to the text models, handed back
    //    to this program rather than written to a file; verified before it is returned.
    let report = Provision::new(DEFAULT_FOLDER_ID, "ai-studio-backend")
        .output_to_caller()
        .verify(Verify::new().timeout(Duration::from_secs(30)))
        .run(&admin)
        .await?;
    if let Some(verified) = &report.verification {
        println!(
            "the new key works with {} after {} ms ({} calls)",
            verified.model_uri,
            verified.usable_after.as_millis(),
            verified.attempts
        );
    }
    let key = report.secret_for_caller.as_ref().ok_or("no key returned")?;
    let credentials = key.credentials().ok_or("the key authenticates nothing")?;

    // 2. A client holding only the new key; its layer authorizes any stub's calls with it.
    let backend = Client::builder()
        .with_endpoint(emulator.endpoint())
        .with_credentials(credentials)
        .build()?;
    let channel = Channel::from_shared(emulator.endpoint())?.connect_lazy();
    let channel = tower::ServiceBuilder::new()
        .layer(backend.auth_layer())
        .service(channel);
    let model_uri = format!("gpt://{DEFAULT_FOLDER_ID}/yandexgpt-lite/latest");

    // 3. Tokenize.
    let mut tokenizer = TokenizerServiceClient::new(channel.clone());
    let tokens = tokenizer
        .tokenize(TokenizeRequest {
            model_uri: model_uri.clone(),
            text: "Hello, AI Studio!".to_owned(),
        })
        .await?
        .into_inner()
        .tokens;
    let shown: Vec<String> = tokens.iter().map(|t| format!("{}#{}", t.text, t.id)).collect();
    println!("Tokenize: {} tokens: {}", tokens.len(), shown.join(" "));

    // 4. Completion, a server stream of answers; the last one is final.
    let mut generator = TextGenerationServiceClient::new(channel);
    let request = CompletionRequest {
        model_uri,
        messages: vec![Message {
            role: "user".to_owned(),
            content: Some(Content::Text("Say hello back.".to_owned())),
        }],
        ..Default::default()
    };
    let mut answers = generator.completion(request).await?.into_inner();
    while let Some(answer) = answers.next().await {
        let answer = answer?;
        for alternative in &answer.alternatives {
            let text = match alternative.message.as_ref().and_then(|m| m.content.as_ref()) {
                Some(Content::Text(text)) => text.as_str(),
                _ => "",
            };
            println!("Completion: {text:?} ({:?})", alternative.status());
        }
        if let Some(usage) = answer.usage {
            println!(
                "usage: {} tokens in, {} out",
                usage.input_text_tokens, usage.completion_tokens
            );
        }
    }

    emulator.shutdown().await;
    Ok(())
}
