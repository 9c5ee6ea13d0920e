//! API keys: secret and mask shapes, idempotent creation, scopes, listing.

use tonic::Code;
use yc_iam::emulator::Emulator;
use yc_iam::proto::yandex::cloud::iam::v1::{
    ApiKey, CreateApiKeyRequest, GetApiKeyRequest, ListApiKeyScopesRequest, ListApiKeysRequest, UpdateApiKeyRequest,
};

use super::support::{bad_field, clients, create_account, response_of, unpack, wait, with_idempotency_key};

fn create(sa: &str) -> CreateApiKeyRequest {
    CreateApiKeyRequest {
        service_account_id: sa.into(),
        description: "for tests".into(),
        scopes: vec!["yc.ai.languageModels.execute".into()],
        ..Default::default()
    }
}

#[tokio::test]
async fn secret_starts_with_aqvn_and_the_mask_shows_its_last_six_characters() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let sa = create_account(&mut c, "keyed").await;
    let created = c.keys.create(create(&sa.id)).await.expect("create").into_inner();
    assert!(created.secret.starts_with("AQVN"), "secret shape");
    assert_eq!(created.secret.len(), 40);
    let key = created.api_key.clone().expect("key");
    assert_eq!(
        key.masked_secret,
        format!("****{}", &created.secret[created.secret.len() - 6..])
    );
    assert_eq!(key.scopes, ["yc.ai.languageModels.execute"]);
    assert!(key.id.starts_with("aje") && key.id.len() == 20);
    assert!(
        !format!("{created:?}").contains(&created.secret),
        "Debug redacts the secret"
    );

    let got = c
        .keys
        .get(GetApiKeyRequest {
            api_key_id: key.id.clone(),
        })
        .await
        .expect("get")
        .into_inner();
    assert_eq!(got, key);
    let listed = c
        .keys
        .list(ListApiKeysRequest {
            service_account_id: sa.id.clone(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.api_keys, [key]);
}

#[tokio::test]
async fn same_idempotency_key_returns_the_same_key_and_secret() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let sa = create_account(&mut c, "keyed-once").await;
    let key = "0b7c9a4e-8f3d-4e2a-9c1b-2a3b4c5d6e7f";
    let first = c
        .keys
        .create(with_idempotency_key(create(&sa.id), key))
        .await
        .expect("first")
        .into_inner();
    let second = c
        .keys
        .create(with_idempotency_key(create(&sa.id), key))
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(first.api_key, second.api_key);
    assert_eq!(first.secret, second.secret);
    assert_eq!(emu.snapshot().live_keys_of(&sa.id).len(), 1);
}

#[tokio::test]
async fn unknown_scope_or_account_is_rejected() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let sa = create_account(&mut c, "scoped").await;
    let mut request = create(&sa.id);
    request.scopes = vec!["yc.ai.languageModels.execute".into(), "yc.no.such.scope".into()];
    let err = c.keys.create(request).await.expect_err("unknown scope");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(bad_field(&err), "scopes[1]");

    let mut request = create(&sa.id);
    request.scopes = vec![
        "yc.ai.languageModels.execute".into(),
        "yc.ai.languageModels.execute".into(),
    ];
    let err = c.keys.create(request).await.expect_err("duplicate scopes");
    assert_eq!(err.code(), Code::InvalidArgument);

    let err = c
        .keys
        .create(create("ajenosuchaccount0001"))
        .await
        .expect_err("unknown account");
    assert_eq!(err.code(), Code::NotFound);
    let err = c
        .keys
        .get(GetApiKeyRequest {
            api_key_id: "ajenosuchkey00000001".into(),
        })
        .await
        .expect_err("unknown");
    assert_eq!(err.code(), Code::NotFound);
}

#[tokio::test]
async fn update_changes_scopes_through_an_operation() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let sa = create_account(&mut c, "rescoped").await;
    let key = c
        .keys
        .create(create(&sa.id))
        .await
        .expect("create")
        .into_inner()
        .api_key
        .expect("key");
    let op = c
        .keys
        .update(UpdateApiKeyRequest {
            api_key_id: key.id.clone(),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["scopes".into()],
            }),
            scopes: vec!["yc.ai.foundationModels.execute".into()],
            ..Default::default()
        })
        .await
        .expect("update")
        .into_inner();
    let op = wait(&mut c, op).await;
    let updated: ApiKey = unpack(response_of(&op), "yandex.cloud.iam.v1.ApiKey");
    assert_eq!(updated.scopes, ["yc.ai.foundationModels.execute"]);
    assert_eq!(updated.masked_secret, key.masked_secret);
}

#[tokio::test]
async fn scopes_are_listed_in_pages() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let all = listed_scopes(&mut c, 4).await;
    for scope in [
        "yc.ai.languageModels.execute",
        "yc.ai.imageGeneration.execute",
        "yc.ai.foundationModels.execute",
    ] {
        assert!(all.iter().any(|s| s == scope), "{scope}");
    }
}

/// Every scope `ListScopes` returns, across all pages of `page_size`.
async fn listed_scopes(c: &mut super::support::Clients, page_size: i64) -> Vec<String> {
    let mut all = Vec::new();
    let mut token = String::new();
    loop {
        let page = c
            .keys
            .list_scopes(ListApiKeyScopesRequest {
                page_size,
                page_token: token.clone(),
            })
            .await
            .expect("page")
            .into_inner();
        all.extend(page.scopes);
        if page.next_page_token.is_empty() {
            return all;
        }
        token = page.next_page_token;
    }
}

#[tokio::test]
async fn every_listed_scope_is_accepted_by_create_and_the_documented_ones_are_listed() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let sa = create_account(&mut c, "all-scopes").await;
    let listed = listed_scopes(&mut c, 5).await;
    for documented in [
        "yc.ai.imageGeneration.execute",
        "yc.ai.languageModels.execute",
        "yc.ai.speechkitStt.execute",
        "yc.ai.speechkitTts.execute",
        "yc.ai.translate.execute",
        "yc.ai.vision.execute",
        "yc.monitoring.manage",
        "yc.search-api.execute",
        "yc.serverless.containers.invoke",
        "yc.serverless.functions.invoke",
    ] {
        assert!(listed.iter().any(|s| s == documented), "{documented} in {listed:?}");
    }
    for scope in &listed {
        let mut request = create(&sa.id);
        request.scopes = vec![scope.clone()];
        c.keys
            .create(request)
            .await
            .unwrap_or_else(|e| panic!("{scope}: {e:?}"));
    }
    let mut all = create(&sa.id);
    all.scopes = listed;
    c.keys.create(all).await.expect("all scopes at once");
}

#[tokio::test]
async fn another_callers_replay_of_an_idempotency_key_gets_a_new_key_not_the_first_secret() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let sa = create_account(&mut c, "replayed").await;
    let key = "5d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6";
    let first = c
        .keys
        .create(with_idempotency_key(create(&sa.id), key))
        .await
        .expect("first")
        .into_inner();
    // The account itself, through its own API key, replays the user's idempotency-key.
    let mut other = super::support::clients_with(&emu, super::support::Auth::api_key(&first.secret)).await;
    let replay = other
        .keys
        .create(with_idempotency_key(create(&sa.id), key))
        .await
        .expect("a new request")
        .into_inner();
    assert_ne!(
        replay.secret, first.secret,
        "another caller never sees the first secret"
    );
    assert_ne!(
        replay.api_key.as_ref().map(|k| &k.id),
        first.api_key.as_ref().map(|k| &k.id)
    );
    assert_eq!(emu.snapshot().live_keys_of(&sa.id).len(), 2);
    // The first caller's own retry still returns its key.
    let retry = c
        .keys
        .create(with_idempotency_key(create(&sa.id), key))
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(retry.secret, first.secret);
}

#[tokio::test(flavor = "current_thread")]
async fn secrets_and_tokens_do_not_follow_the_id_generator() {
    // Two emulators whose id generators start from the same seed make the same ids; their
    // secrets and tokens must still differ.
    let mut made = Vec::new();
    for _ in 0..2 {
        fastrand::seed(42);
        let emu = Emulator::builder().start().await.expect("start");
        let mut c = clients(&emu).await;
        let sa = create_account(&mut c, "seeded").await;
        let key = c.keys.create(create(&sa.id)).await.expect("key").into_inner();
        let token = c
            .tokens
            .create(yc_iam::proto::yandex::cloud::iam::v1::CreateIamTokenRequest {
                identity: Some(
                    yc_iam::proto::yandex::cloud::iam::v1::create_iam_token_request::Identity::YandexPassportOauthToken(
                        yc_iam::emulator::DEFAULT_OAUTH_TOKEN.into(),
                    ),
                ),
            })
            .await
            .expect("token")
            .into_inner();
        made.push((sa.id, key.secret, token.iam_token));
    }
    assert_eq!(made[0].0, made[1].0, "ids follow the seed");
    assert_ne!(made[0].1, made[1].1, "API-key secrets do not");
    assert_ne!(made[0].2, made[1].2, "IAM tokens do not");
}
