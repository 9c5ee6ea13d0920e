//! An API-key create whose response is lost leaves exactly one live key, and the caller
//! holds its secret.

use futures_util::TryStreamExt as _;
use secrecy::ExposeSecret as _;
use yc_iam::{CreateApiKey, Credentials, emulator::Fault};

use super::{KEY_CREATE, calls, client, create_sa, emulator};
use crate::common::client_with;

#[tokio::test]
async fn retried_create_with_a_dropped_response_leaves_one_live_key() {
    let emu = emulator().await;
    let client = client(&emu);
    let sa = create_sa(&client, "dropped-response").await;
    emu.set_fault(KEY_CREATE, Fault::DropResponseAfterApply { n: 1 });

    let created = client
        .api_keys()
        .create(
            CreateApiKey::new(&sa.id)
                .scopes(["yc.ai.languageModels.execute"])
                .description("for the bot"),
        )
        .await
        .expect("the create is retried to success");

    assert_eq!(calls(&emu, KEY_CREATE).len(), 2, "the lost attempt and the retry");
    let snapshot = emu.snapshot();
    let live = snapshot.live_keys_of(&sa.id);
    assert_eq!(live.len(), 1, "exactly one live key: {live:?}");
    assert_eq!(live[0].id, created.api_key.id);

    // The secret the caller holds is the live key's.
    let with_key = client_with(&emu, Credentials::api_key(created.secret.expose_secret()));
    let listed: Vec<_> = with_key
        .api_keys()
        .list(&sa.id)
        .try_collect()
        .await
        .expect("the secret authenticates");
    assert_eq!(listed.len(), 1);
}

#[tokio::test]
async fn other_keys_of_the_service_account_are_left_alone() {
    let emu = emulator().await;
    let client = client(&emu);
    let sa = create_sa(&client, "keeps-old-keys").await;
    let old = client
        .api_keys()
        .create(CreateApiKey::new(&sa.id).description("old"))
        .await
        .expect("old key");
    emu.set_fault(KEY_CREATE, Fault::DropResponseAfterApply { n: 1 });
    let new = client
        .api_keys()
        .create(CreateApiKey::new(&sa.id).description("new"))
        .await
        .expect("new key");
    let mut live: Vec<_> = emu
        .snapshot()
        .live_keys_of(&sa.id)
        .iter()
        .map(|k| k.id.clone())
        .collect();
    live.sort();
    let mut expected = vec![old.api_key.id, new.api_key.id];
    expected.sort();
    assert_eq!(live, expected);
}

#[tokio::test]
async fn a_create_whose_answer_is_lost_and_the_emulator_restarted_still_leaves_one_live_key_the_caller_holds() {
    use std::time::Duration;
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port");
    let dir = tempfile::tempdir().expect("dir");
    let state = dir.path().join("state.json");
    let on_addr = || {
        yc_iam::emulator::Emulator::builder()
            .with_listen(addr)
            .with_state_file(&state)
    };
    let first = super::start(on_addr()).await;
    // The retry comes at least a second after the lost answer: the restart happens in between.
    let client = yc_iam::Client::builder()
        .with_endpoint(format!("http://{addr}"))
        .with_credentials(Credentials::iam_token(yc_iam::emulator::DEFAULT_IAM_TOKEN))
        .with_retry(
            yc_iam::RetryPolicy::default()
                .with_max_attempts(10)
                .with_initial_backoff(Duration::from_secs(2))
                .with_max_backoff(Duration::from_secs(2)),
        )
        .build()
        .expect("client");
    let sa = create_sa(&client, "restarted").await;
    first.set_fault(KEY_CREATE, Fault::DropResponseAfterApply { n: 1 });
    let creating = {
        let (client, sa) = (client.clone(), sa.id.clone());
        tokio::spawn(async move {
            client
                .api_keys()
                .create(CreateApiKey::new(&sa).description("across a restart"))
                .await
        })
    };
    while calls(&first, KEY_CREATE).is_empty() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    first.shutdown().await;
    // The restarted emulator cannot answer the retry with the first key's secret (it never saved
    // it), so it makes a key; the client deletes the first one, whose secret it never received.
    let second = super::start(on_addr()).await;
    let created = creating.await.expect("task").expect("the create is retried to success");
    assert_eq!(
        calls(&second, KEY_CREATE).len(),
        1,
        "the retry reached the restarted emulator"
    );
    let snapshot = second.snapshot();
    let live = snapshot.live_keys_of(&sa.id);
    assert_eq!(live.len(), 1, "exactly one live key: {live:?}");
    assert_eq!(live[0].id, created.api_key.id);
    let with_key = client_with(&second, Credentials::api_key(created.secret.expose_secret()));
    let listed: Vec<_> = with_key
        .api_keys()
        .list(&sa.id)
        .try_collect()
        .await
        .expect("the secret the caller holds authenticates");
    assert_eq!(listed.len(), 1);
    second.shutdown().await;
}
