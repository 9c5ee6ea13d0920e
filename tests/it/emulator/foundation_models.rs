//! AI Studio's tokenizer and text generation: callers need the API-key scope
//! `yc.ai.languageModels.execute` and a model role on the folder of `model_uri` (or its cloud),
//! a binding counts only once the binding delay has passed, a malformed `model_uri` is refused,
//! and the answers are deterministic (tokens with stable ids, an echo of the last user message).

use std::time::Duration;

use tonic::Code;
use tonic::transport::Channel;
use yc_iam::emulator::{DEFAULT_CLOUD_ID, DEFAULT_FOLDER_ID, DEFAULT_IAM_TOKEN, Emulator};
use yc_iam::proto::yandex::cloud::access::{AccessBinding, AccessBindingDelta, UpdateAccessBindingsRequest};
use yc_iam::proto::yandex::cloud::ai::foundation_models::v1::{
    CompletionOptions, CompletionRequest, CompletionResponse, Message, TokenizeRequest, alternative::AlternativeStatus,
    message, text_generation_service_client::TextGenerationServiceClient,
    tokenizer_service_client::TokenizerServiceClient,
};
use yc_iam::proto::yandex::cloud::iam::v1::CreateApiKeyRequest;
use yc_iam::proto::yandex::cloud::lockbox::v1::GetPayloadRequest;

use super::support::{Auth, Clients, bad_field, channel, clients, create_account, create_secret, text_entry, wait};

type Tokenizer = TokenizerServiceClient<tonic::service::interceptor::InterceptedService<Channel, Auth>>;

fn model() -> String {
    format!("gpt://{DEFAULT_FOLDER_ID}/yandexgpt-lite/latest")
}

fn tokenize_request(text: &str) -> TokenizeRequest {
    TokenizeRequest {
        model_uri: model(),
        text: text.to_owned(),
    }
}

async fn tokenizer(emu: &Emulator, auth: Auth) -> Tokenizer {
    TokenizerServiceClient::with_interceptor(channel(emu).await, auth)
}

async fn grant(admin: &mut Clients, resource: &str, role: &str, service_account_id: &str) {
    let request = UpdateAccessBindingsRequest {
        resource_id: resource.into(),
        access_binding_deltas: vec![AccessBindingDelta::add(AccessBinding::service_account(
            role,
            service_account_id,
        ))],
    };
    let op = if resource == DEFAULT_CLOUD_ID {
        admin.clouds.update_access_bindings(request).await
    } else if resource == DEFAULT_FOLDER_ID {
        admin.folders.update_access_bindings(request).await
    } else {
        admin.secrets.update_access_bindings(request).await
    };
    wait(admin, op.expect("bind").into_inner()).await;
}

/// A new account and the secret of its API key with these scopes.
async fn account_key(admin: &mut Clients, name: &str, scopes: &[&str]) -> (String, String) {
    let account = create_account(admin, name).await;
    let key = admin
        .keys
        .create(CreateApiKeyRequest {
            service_account_id: account.id.clone(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            ..Default::default()
        })
        .await
        .expect("key")
        .into_inner();
    (account.id, key.secret)
}

const SCOPE: &str = "yc.ai.languageModels.execute";

#[tokio::test]
async fn tokenize_answers_words_and_punctuation_with_stable_ids() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut stub = tokenizer(&emu, Auth::bearer(DEFAULT_IAM_TOKEN)).await;
    let answer = stub
        .tokenize(tokenize_request("Hello, world! Hello"))
        .await
        .expect("tokenize")
        .into_inner();
    let texts: Vec<&str> = answer.tokens.iter().map(|t| t.text.as_str()).collect();
    assert_eq!(texts, ["<s>", "Hello", ",", "world", "!", "Hello"]);
    assert!(answer.tokens[0].special && answer.tokens[0].id == 1);
    assert!(answer.tokens[1..].iter().all(|t| !t.special));
    assert_eq!(answer.tokens[1].id, answer.tokens[5].id, "the same text, the same id");
    assert_ne!(answer.tokens[1].id, answer.tokens[3].id);
    let again = stub
        .tokenize(tokenize_request("world"))
        .await
        .expect("again")
        .into_inner();
    assert_eq!(
        again.tokens[1].id, answer.tokens[3].id,
        "ids do not depend on the context"
    );
    assert!(!answer.model_version.is_empty());
}

#[tokio::test]
async fn a_key_with_the_scope_and_the_role_on_the_folder_may_tokenize() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut admin = clients(&emu).await;
    let (account, secret) = account_key(&mut admin, "fm-user", &[SCOPE]).await;
    let mut stub = tokenizer(&emu, Auth::api_key(&secret)).await;
    let denied = stub.tokenize(tokenize_request("hi")).await.expect_err("no role yet");
    assert_eq!(denied.code(), Code::PermissionDenied);
    assert!(denied.message().contains("ai.languageModels.user"), "{denied:?}");
    assert!(denied.message().contains(DEFAULT_FOLDER_ID), "{denied:?}");
    grant(&mut admin, DEFAULT_FOLDER_ID, "ai.languageModels.user", &account).await;
    stub.tokenize(tokenize_request("hi"))
        .await
        .expect("allowed with the role");
}

#[tokio::test]
async fn broader_roles_and_a_role_on_the_cloud_count() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut admin = clients(&emu).await;
    for (name, resource, role) in [
        ("fm-editor", DEFAULT_FOLDER_ID, "ai.editor"),
        ("fm-admin", DEFAULT_FOLDER_ID, "admin"),
        ("fm-cloud", DEFAULT_CLOUD_ID, "ai.languageModels.user"),
    ] {
        let (account, secret) = account_key(&mut admin, name, &[SCOPE]).await;
        grant(&mut admin, resource, role, &account).await;
        let mut stub = tokenizer(&emu, Auth::api_key(&secret)).await;
        stub.tokenize(tokenize_request("hi"))
            .await
            .unwrap_or_else(|e| panic!("{role} on {resource}: {e:?}"));
    }
    let (account, secret) = account_key(&mut admin, "fm-viewer", &[SCOPE]).await;
    grant(&mut admin, DEFAULT_FOLDER_ID, "viewer", &account).await;
    let mut stub = tokenizer(&emu, Auth::api_key(&secret)).await;
    let denied = stub
        .tokenize(tokenize_request("hi"))
        .await
        .expect_err("viewer is not enough");
    assert_eq!(denied.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn a_key_without_the_scope_is_denied_naming_the_scope() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut admin = clients(&emu).await;
    let (account, secret) = account_key(&mut admin, "fm-tts", &["yc.ai.speechkitTts.execute"]).await;
    grant(&mut admin, DEFAULT_FOLDER_ID, "ai.languageModels.user", &account).await;
    let denied = tokenizer(&emu, Auth::api_key(&secret))
        .await
        .tokenize(tokenize_request("hi"))
        .await
        .expect_err("wrong scope");
    assert_eq!(denied.code(), Code::PermissionDenied);
    assert!(denied.message().contains(SCOPE), "{denied:?}");
}

#[tokio::test]
async fn a_key_scoped_to_every_ai_studio_model_may_call_the_text_models() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut admin = clients(&emu).await;
    let (account, secret) = account_key(&mut admin, "fm-all", &["yc.ai.foundationModels.execute"]).await;
    grant(&mut admin, DEFAULT_FOLDER_ID, "ai.languageModels.user", &account).await;
    let tokens = tokenizer(&emu, Auth::api_key(&secret))
        .await
        .tokenize(tokenize_request("hi"))
        .await
        .expect("the all-models scope includes the text models")
        .into_inner();
    assert!(!tokens.tokens.is_empty());
}

#[tokio::test]
async fn a_malformed_model_uri_is_an_invalid_argument() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut stub = tokenizer(&emu, Auth::bearer(DEFAULT_IAM_TOKEN)).await;
    for uri in [
        "",
        "yandexgpt-lite",
        "gpt://",
        "gpt://b1g/",
        "gpt://b1g/m/latest/extra",
        "ds://b1g/m",
    ] {
        let refused = stub
            .tokenize(TokenizeRequest {
                model_uri: uri.into(),
                text: "hi".into(),
            })
            .await
            .expect_err(uri);
        assert_eq!(refused.code(), Code::InvalidArgument, "{uri}");
        assert_eq!(bad_field(&refused), "model_uri");
    }
    let unknown = stub
        .tokenize(TokenizeRequest {
            model_uri: "gpt://b1gnosuchfolder/yandexgpt-lite/latest".into(),
            text: "hi".into(),
        })
        .await
        .expect_err("no such folder");
    assert_eq!(unknown.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn calls_without_valid_credentials_are_unauthenticated() {
    let emu = Emulator::builder().start().await.expect("start");
    for auth in [Auth::none(), Auth::api_key("AQVNnot-a-key"), Auth::bearer("t1.nope")] {
        let refused = tokenizer(&emu, auth)
            .await
            .tokenize(tokenize_request("hi"))
            .await
            .expect_err("refused");
        assert_eq!(refused.code(), Code::Unauthenticated);
    }
}

#[tokio::test(start_paused = true)]
async fn a_new_binding_takes_effect_after_the_binding_delay() {
    let emu = Emulator::builder()
        .with_binding_delay(Duration::from_secs(3))
        .start()
        .await
        .expect("start");
    let mut admin = clients(&emu).await;
    let (account, secret) = account_key(&mut admin, "fm-delay", &[SCOPE]).await;
    grant(&mut admin, DEFAULT_FOLDER_ID, "ai.languageModels.user", &account).await;
    let mut stub = tokenizer(&emu, Auth::api_key(&secret)).await;
    let early = stub.tokenize(tokenize_request("hi")).await.expect_err("not yet");
    assert_eq!(early.code(), Code::PermissionDenied);
    tokio::time::advance(Duration::from_secs(2)).await;
    stub.tokenize(tokenize_request("hi")).await.expect_err("still not");
    tokio::time::advance(Duration::from_secs(1)).await;
    stub.tokenize(tokenize_request("hi"))
        .await
        .expect("in effect after 3 s");
}

#[tokio::test(start_paused = true)]
async fn a_payload_reader_binding_also_waits_for_the_binding_delay() {
    let emu = Emulator::builder()
        .with_binding_delay(Duration::from_secs(3))
        .start()
        .await
        .expect("start");
    let mut admin = clients(&emu).await;
    let secret = create_secret(&mut admin, "delayed", vec![text_entry("k", "v")]).await;
    let (account, key) = account_key(&mut admin, "reader", &[]).await;
    grant(&mut admin, &secret.id, "lockbox.payloadViewer", &account).await;
    let mut reader = super::support::clients_with(&emu, Auth::api_key(&key)).await;
    let get = || GetPayloadRequest {
        secret_id: secret.id.clone(),
        version_id: String::new(),
    };
    let early = reader.payloads.get(get()).await.expect_err("not yet");
    assert_eq!(early.code(), Code::PermissionDenied);
    tokio::time::advance(Duration::from_secs(3)).await;
    reader.payloads.get(get()).await.expect("in effect");
}

fn completion(text: &str, options: Option<CompletionOptions>) -> CompletionRequest {
    CompletionRequest {
        model_uri: model(),
        completion_options: options,
        messages: vec![
            Message {
                role: "system".into(),
                content: Some(message::Content::Text("Be brief.".into())),
            },
            Message {
                role: "user".into(),
                content: Some(message::Content::Text(text.into())),
            },
        ],
        ..Default::default()
    }
}

async fn complete(emu: &Emulator, request: CompletionRequest) -> Result<Vec<CompletionResponse>, tonic::Status> {
    let mut stub = TextGenerationServiceClient::with_interceptor(channel(emu).await, Auth::bearer(DEFAULT_IAM_TOKEN));
    let mut stream = stub.completion(request).await?.into_inner();
    let mut out = Vec::new();
    while let Some(answer) = stream.message().await? {
        out.push(answer);
    }
    Ok(out)
}

fn answer_of(response: &CompletionResponse) -> (&str, AlternativeStatus) {
    let alternative = &response.alternatives[0];
    let message = alternative.message.as_ref().expect("a message");
    assert_eq!(message.role, "assistant");
    let Some(message::Content::Text(text)) = &message.content else {
        panic!("a text answer");
    };
    (text, alternative.status())
}

#[tokio::test]
async fn completion_echoes_the_last_user_message() {
    let emu = Emulator::builder().start().await.expect("start");
    let answers = complete(&emu, completion("Say hello, please", None))
        .await
        .expect("answers");
    assert_eq!(answers.len(), 1);
    assert_eq!(answer_of(&answers[0]), ("Say hello, please", AlternativeStatus::Final));
    let usage = answers[0].usage.expect("usage");
    // "Be brief." is 3 tokens, "Say hello, please" 4.
    assert_eq!(
        (usage.input_text_tokens, usage.completion_tokens, usage.total_tokens),
        (7, 4, 11)
    );
}

#[tokio::test]
async fn a_streamed_completion_sends_the_answer_so_far_then_the_final_one() {
    let emu = Emulator::builder().start().await.expect("start");
    let options = CompletionOptions {
        stream: true,
        ..Default::default()
    };
    let answers = complete(&emu, completion("one two three", Some(options)))
        .await
        .expect("answers");
    let got: Vec<_> = answers.iter().map(answer_of).collect();
    assert_eq!(
        got,
        [
            ("one", AlternativeStatus::Partial),
            ("one two", AlternativeStatus::Partial),
            ("one two three", AlternativeStatus::Final),
        ]
    );
}

#[tokio::test]
async fn a_long_streamed_completion_sends_at_most_sixteen_partials_whose_size_is_linear_in_the_answer() {
    let emu = Emulator::builder().start().await.expect("start");
    let text = (0..20_000).map(|i| format!("w{i}")).collect::<Vec<_>>().join(" ");
    let options = CompletionOptions {
        stream: true,
        ..Default::default()
    };
    let answers = complete(&emu, completion(&text, Some(options))).await.expect("answers");
    let (last, partials) = answers.split_last().expect("a final answer");
    assert_eq!(answer_of(last), (text.as_str(), AlternativeStatus::Final));
    assert_eq!(last.usage.expect("usage").completion_tokens, 20_000);
    assert!((2..=16).contains(&partials.len()), "{} partial answers", partials.len());
    let mut before = 0;
    for partial in partials {
        let (so_far, status) = answer_of(partial);
        assert_eq!(status, AlternativeStatus::Partial);
        assert!(
            text.starts_with(so_far) && so_far.len() > before,
            "each partial grows the one before"
        );
        before = so_far.len();
        // Each word here is one token.
        let words = so_far.split_whitespace().count() as i64;
        let usage = partial.usage.expect("usage");
        assert_eq!((usage.completion_tokens, usage.input_text_tokens), (words, 20_003));
    }
    let sent: usize = answers.iter().map(prost::Message::encoded_len).sum();
    // At most 17 messages, none longer than the answer; a partial per word would send the
    // answer's size about 10,000 times over.
    assert!(
        sent <= 18 * text.len(),
        "{sent} bytes sent for an answer of {}",
        text.len()
    );
}

#[tokio::test]
async fn max_tokens_cuts_the_answer() {
    let emu = Emulator::builder().start().await.expect("start");
    let options = CompletionOptions {
        max_tokens: Some(2),
        ..Default::default()
    };
    let answers = complete(&emu, completion("Hello, world", Some(options)))
        .await
        .expect("answers");
    assert_eq!(answer_of(&answers[0]), ("Hello,", AlternativeStatus::TruncatedFinal));
    assert_eq!(answers[0].usage.expect("usage").completion_tokens, 2);
}

#[tokio::test]
async fn a_completion_without_a_user_message_is_an_invalid_argument() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut request = completion("x", None);
    request.messages.truncate(1);
    let refused = complete(&emu, request).await.expect_err("no user message");
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert_eq!(bad_field(&refused), "messages");
}
