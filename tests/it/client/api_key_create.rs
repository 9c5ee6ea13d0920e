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
