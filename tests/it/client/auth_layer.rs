//! The client's credentials on raw tonic stubs: `AuthLayer` over a `Channel` and the interceptor
//! for `with_interceptor` stamp `authorization` and the request ids from the client's one token
//! cache; a failed exchange reaches the stub's caller as a `tonic::Status` without the secret.

use std::{
    collections::HashSet,
    convert::Infallible,
    sync::{Arc, Mutex},
    time::Duration,
};

use secrecy::ExposeSecret as _;
use tokio::time::Instant;
use tonic::{Code, transport::Channel};
use yc_iam::{
    Client, Credentials, RetryPolicy,
    emulator::{Emulator, Fault},
    proto::yandex::cloud::{
        ai::foundation_models::v1::{TokenizeRequest, tokenizer_service_client::TokenizerServiceClient},
        resourcemanager::v1::{GetFolderRequest, folder_service_client::FolderServiceClient},
    },
};

use super::{FOLDER, TOKEN_CREATE, calls, client, create_sa, start};
use crate::common::client_with;

const OAUTH: &str = "y0_auth-layer-test";
const FOLDER_GET: &str = "/yandex.cloud.resourcemanager.v1.FolderService/Get";

async fn setup() -> (Emulator, Client, Channel) {
    let emu = start(Emulator::builder().with_oauth_token(OAUTH)).await;
    let client = oauth_client(&emu, OAUTH);
    let channel = Channel::from_shared(emu.endpoint())
        .expect("the emulator's endpoint is a URI")
        .connect_lazy();
    (emu, client, channel)
}

fn oauth_client(emu: &Emulator, token: &str) -> Client {
    Client::builder()
        .with_endpoint(emu.endpoint())
        .with_credentials(Credentials::oauth_token(token))
        .with_retry(RetryPolicy::disabled())
        .build()
        .expect("client builds")
}

fn layered(client: &Client, channel: Channel) -> FolderServiceClient<yc_iam::auth::AuthService<Channel>> {
    FolderServiceClient::new(tower::ServiceBuilder::new().layer(client.auth_layer()).service(channel))
}

fn get_folder() -> GetFolderRequest {
    GetFolderRequest {
        folder_id: FOLDER.to_owned(),
    }
}

#[tokio::test]
async fn concurrent_calls_through_the_layer_share_one_exchange_and_carry_fresh_request_ids() {
    let (emu, client, channel) = setup().await;
    let stub = layered(&client, channel);
    let answers = futures_util::future::join_all((0..200).map(|_| {
        let mut stub = stub.clone();
        async move { stub.get(get_folder()).await }
    }))
    .await;
    assert!(answers.iter().all(Result::is_ok), "every call is authorized");
    assert_eq!(calls(&emu, TOKEN_CREATE).len(), 1);
    let sent = calls(&emu, FOLDER_GET);
    assert_eq!(sent.len(), 200);
    assert!(
        sent.iter()
            .all(|c| c.header("authorization").is_some_and(|a| a.starts_with("Bearer ")))
    );
    assert!(
        sent.iter()
            .all(|c| c.header("x-client-trace-id") == Some(client.trace_id()))
    );
    let request_ids: HashSet<_> = sent.iter().filter_map(|c| c.header("x-client-request-id")).collect();
    assert_eq!(request_ids.len(), 200, "each call has its own request id");
}

#[tokio::test]
async fn the_layer_and_the_facade_use_the_same_token() {
    let (emu, client, channel) = setup().await;
    client.folders().get(FOLDER).await.expect("the facade's call");
    let mut stub = layered(&client, channel);
    stub.get(get_folder()).await.expect("the stub's call");
    assert_eq!(calls(&emu, TOKEN_CREATE).len(), 1);
    let sent = calls(&emu, FOLDER_GET);
    assert_eq!(sent[0].header("authorization"), sent[1].header("authorization"));
}

#[tokio::test]
async fn a_request_id_set_by_the_caller_is_kept() {
    let (emu, client, channel) = setup().await;
    let mut request = tonic::Request::new(get_folder());
    request
        .metadata_mut()
        .insert("x-client-request-id", "my-own-id".parse().expect("a header value"));
    layered(&client, channel).get(request).await.expect("the call");
    assert_eq!(
        calls(&emu, FOLDER_GET)[0].header("x-client-request-id"),
        Some("my-own-id")
    );
}

#[tokio::test]
async fn a_refused_exchange_fails_the_call_as_unauthenticated_without_the_secret() {
    let (emu, _, channel) = setup().await;
    let client = oauth_client(&emu, "y0_not-this-one");
    let status = layered(&client, channel)
        .get(get_folder())
        .await
        .expect_err("the exchange is refused");
    assert_eq!(status.code(), Code::Unauthenticated);
    assert!(
        status
            .message()
            .starts_with("cannot exchange credentials for an IAM token"),
        "{status:?}"
    );
    assert!(status.message().contains("request id"), "{status:?}");
    assert!(!format!("{status:?}").contains("y0_not-this-one"), "{status:?}");
    assert!(calls(&emu, FOLDER_GET).is_empty(), "the call itself is not sent");
}

#[tokio::test]
async fn an_unreachable_iam_fails_the_call_as_unavailable() {
    let (emu, client, channel) = setup().await;
    emu.set_fault(
        TOKEN_CREATE,
        Fault::FailFirst {
            n: 1,
            code: Code::Unavailable,
        },
    );
    let status = layered(&client, channel.clone())
        .get(get_folder())
        .await
        .expect_err("IAM is down");
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    layered(&client, channel)
        .get(get_folder())
        .await
        .expect("the next call exchanges again and succeeds");
}

#[tokio::test]
async fn a_token_the_server_refuses_is_exchanged_again_for_the_next_call() {
    let (emu, client, channel) = setup().await;
    let mut stub = layered(&client, channel);
    stub.get(get_folder()).await.expect("first call");
    emu.set_fault(
        FOLDER_GET,
        Fault::FailFirst {
            n: 1,
            code: Code::Unauthenticated,
        },
    );
    let refused = stub.get(get_folder()).await.expect_err("the server refuses");
    assert_eq!(refused.code(), Code::Unauthenticated);
    stub.get(get_folder()).await.expect("a new token serves");
    assert_eq!(calls(&emu, TOKEN_CREATE).len(), 2);
}

#[tokio::test]
async fn a_token_refused_on_the_call_that_obtained_it_is_exchanged_again_for_the_next_call() {
    let (emu, client, channel) = setup().await;
    emu.set_fault(
        FOLDER_GET,
        Fault::FailFirst {
            n: 1,
            code: Code::Unauthenticated,
        },
    );
    let mut stub = layered(&client, channel);
    let refused = stub.get(get_folder()).await.expect_err("the server refuses");
    assert_eq!(refused.code(), Code::Unauthenticated);
    assert_eq!(calls(&emu, TOKEN_CREATE).len(), 1);
    stub.get(get_folder()).await.expect("a new token serves");
    assert_eq!(calls(&emu, TOKEN_CREATE).len(), 2);
}

#[tokio::test]
async fn an_api_key_goes_out_as_it_is() {
    let (emu, _, channel) = setup().await;
    let admin = client(&emu);
    let account = create_sa(&admin, "layer-key").await;
    let created = admin
        .api_keys()
        .create(yc_iam::CreateApiKey::new(&account.id))
        .await
        .expect("a key");
    let secret = yc_iam::ExposeSecret::expose_secret(&created.secret).to_owned();
    let client = client_with(&emu, Credentials::api_key(secret.clone()));
    // The account has no role on the folder; what matters is what was sent.
    let _ = layered(&client, channel).get(get_folder()).await;
    let sent = calls(&emu, FOLDER_GET);
    assert!(sent[0].sent_authorization(&format!("Api-Key {secret}")));
    assert!(calls(&emu, TOKEN_CREATE).is_empty());
}

#[tokio::test]
async fn an_interceptor_authorizes_a_generated_client_from_the_same_cache() {
    let (emu, client, channel) = setup().await;
    let interceptor = client.interceptor().await.expect("the first token");
    let mut stub = FolderServiceClient::with_interceptor(channel, interceptor);
    for _ in 0..3 {
        stub.get(get_folder()).await.expect("an authorized call");
    }
    client.folders().get(FOLDER).await.expect("the facade's call");
    assert_eq!(calls(&emu, TOKEN_CREATE).len(), 1);
    let sent = calls(&emu, FOLDER_GET);
    assert_eq!(sent.len(), 4);
    assert!(
        sent.iter()
            .all(|c| c.header("authorization") == sent[3].header("authorization"))
    );
    assert!(sent.iter().all(|c| c.header("x-client-request-id").is_some()));
}

#[tokio::test]
async fn an_interceptor_is_not_made_from_credentials_iam_refuses() {
    let (emu, _, _) = setup().await;
    let err = oauth_client(&emu, "y0_not-this-one")
        .interceptor()
        .await
        .expect_err("the exchange is refused");
    assert_eq!(err.kind(), yc_iam::ErrorKind::Unauthenticated);
}

#[tokio::test(start_paused = true)]
async fn an_interceptor_renews_an_hour_old_token_in_the_background() {
    let (emu, client, channel) = setup().await;
    let mut stub = FolderServiceClient::with_interceptor(channel, client.interceptor().await.expect("a token"));
    stub.get(get_folder()).await.expect("a call with the first token");
    tokio::time::advance(std::time::Duration::from_secs(61 * 60)).await;
    stub.get(get_folder()).await.expect("the old token still serves");
    // The exchange started by that call completes on its own.
    for _ in 0..100 {
        if calls(&emu, TOKEN_CREATE).len() == 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(calls(&emu, TOKEN_CREATE).len(), 2);
    stub.get(get_folder()).await.expect("a call with the new token");
    let sent = calls(&emu, FOLDER_GET);
    assert_ne!(sent[1].header("authorization"), sent[2].header("authorization"));
}

#[tokio::test]
async fn a_thousand_concurrent_tokenize_calls_through_the_layer_make_one_token_exchange() {
    let (emu, client, channel) = setup().await;
    let stub = TokenizerServiceClient::new(tower::ServiceBuilder::new().layer(client.auth_layer()).service(channel));
    let answers = futures_util::future::join_all((0..1000).map(|i| {
        let mut stub = stub.clone();
        async move {
            stub.tokenize(TokenizeRequest {
                model_uri: format!("gpt://{FOLDER}/yandexgpt-lite/latest"),
                text: format!("call {i}"),
            })
            .await
        }
    }))
    .await;
    assert!(answers.iter().all(Result::is_ok), "every call is answered");
    assert_eq!(calls(&emu, TOKEN_CREATE).len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_late_refusal_of_an_old_token_keeps_the_token_obtained_since() {
    let emu = start(Emulator::builder().with_oauth_token(OAUTH)).await;
    let client = oauth_client(&emu, OAUTH);
    let old = client.iam_token().await.expect("a first token");
    // A server that holds its first request until told, then refuses it as UNAUTHENTICATED.
    let (release, held) = tokio::sync::oneshot::channel::<()>();
    let held = Arc::new(Mutex::new(Some(held)));
    let server = tower::service_fn(move |_: http::Request<()>| {
        let held = held.clone();
        async move {
            let first = held.lock().expect("not poisoned").take();
            if let Some(first) = first {
                let _ = first.await;
            }
            let mut response = http::Response::new(());
            response
                .headers_mut()
                .insert("grpc-status", http::HeaderValue::from_static("16"));
            Ok::<_, Infallible>(response)
        }
    });
    let layered = tower::ServiceBuilder::new().layer(client.auth_layer()).service(server);
    let slow = tokio::spawn(tower::ServiceExt::oneshot(layered, http::Request::new(())));
    tokio::time::sleep(Duration::from_millis(10)).await;
    // The token is an hour old: the client obtains a new one while the old one's call is held.
    tokio::time::advance(Duration::from_secs(61 * 60)).await;
    client.iam_token().await.expect("a token");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(calls(&emu, TOKEN_CREATE).len(), 2, "the token was renewed");
    let _ = release.send(());
    slow.await.expect("the held call ends").expect("an answer");
    let now = client.iam_token().await.expect("a token");
    assert_ne!(now.expose_secret(), old.expose_secret(), "the new token is in use");
    assert_eq!(
        calls(&emu, TOKEN_CREATE).len(),
        2,
        "the refusal of the old token cost no exchange"
    );
}
#[tokio::test(start_paused = true)]
async fn a_call_through_the_layer_waits_for_a_token_no_longer_than_its_deadline() {
    let (emu, client, channel) = setup().await;
    emu.set_fault(TOKEN_CREATE, Fault::Delay(Duration::from_secs(4)));
    let mut request = tonic::Request::new(get_folder());
    request.set_timeout(Duration::from_millis(300));
    let started = Instant::now();
    let status = layered(&client, channel)
        .get(request)
        .await
        .expect_err("no token came within the deadline");
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    // On the paused clock this is exact: the call ends at its deadline, not when IAM answers.
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "waited {:?}",
        started.elapsed()
    );
}
