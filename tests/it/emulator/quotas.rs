//! The cloud's quotas: 100 service accounts and 1,000 API keys per cloud unless raised; a create
//! beyond one is RESOURCE_EXHAUSTED naming the quota and makes nothing, a replayed create still
//! answers, deleting frees room, and a state file holding more than a lowered quota still loads.

use tonic::{Code, Status};
use yc_iam::emulator::{DEFAULT_CLOUD_ID, DEFAULT_FOLDER_ID, Emulator, Quota};
use yc_iam::proto::yandex::cloud::iam::v1::{
    CreateApiKeyRequest, CreateServiceAccountRequest, DeleteApiKeyRequest, DeleteServiceAccountRequest,
    ListServiceAccountsRequest, ServiceAccount,
};

use super::support::{Clients, clients, create_account, create_key, response_of, unpack, wait, with_idempotency_key};

fn account_request(name: &str) -> CreateServiceAccountRequest {
    CreateServiceAccountRequest {
        folder_id: DEFAULT_FOLDER_ID.into(),
        name: name.into(),
        ..Default::default()
    }
}

fn key_request(service_account_id: &str) -> CreateApiKeyRequest {
    CreateApiKeyRequest {
        service_account_id: service_account_id.into(),
        ..Default::default()
    }
}

async fn account_count(c: &mut Clients) -> usize {
    c.accounts
        .list(ListServiceAccountsRequest {
            folder_id: DEFAULT_FOLDER_ID.into(),
            page_size: 1000,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .service_accounts
        .len()
}

fn assert_exhausted(status: &Status, what: &str) {
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(status.message().contains(what), "names the quota: {status:?}");
    assert!(
        status.message().contains(DEFAULT_CLOUD_ID),
        "names the cloud: {status:?}"
    );
}

/// Checks that creating the account `name` is refused, the message saying `what` (the quota).
async fn refused_account(c: &mut Clients, name: &str, what: &str) {
    let refused = c
        .accounts
        .create(account_request(name))
        .await
        .expect_err("over the quota");
    assert_exhausted(&refused, what);
}

/// Checks that creating a key of the account is refused, the message saying `what` (the quota).
async fn refused_key(c: &mut Clients, service_account_id: &str, what: &str) {
    let refused = c
        .keys
        .create(key_request(service_account_id))
        .await
        .expect_err("over the quota");
    assert_exhausted(&refused, what);
}

#[tokio::test]
async fn a_cloud_holds_100_service_accounts_and_the_next_create_is_refused_making_nothing() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let first = c
        .accounts
        .create(with_idempotency_key(account_request("sa-0"), "first"))
        .await
        .expect("create")
        .into_inner();
    for i in 1..100 {
        create_account(&mut c, &format!("sa-{i}")).await;
    }
    refused_account(&mut c, "sa-100", "service accounts per cloud is 100").await;
    assert_eq!(account_count(&mut c).await, 100, "nothing was made");
    let replayed = c
        .accounts
        .create(with_idempotency_key(account_request("sa-0"), "first"))
        .await
        .expect("a replay of an earlier create still answers")
        .into_inner();
    assert_eq!(replayed.id, first.id);

    let made: ServiceAccount = unpack(
        response_of(&wait(&mut c, first).await),
        "yandex.cloud.iam.v1.ServiceAccount",
    );
    delete_account(&mut c, &made.id).await;
    create_account(&mut c, "sa-100").await;
}

async fn delete_account(c: &mut Clients, id: &str) {
    let op = c
        .accounts
        .delete(DeleteServiceAccountRequest {
            service_account_id: id.into(),
        })
        .await
        .expect("delete")
        .into_inner();
    wait(c, op).await;
}

#[tokio::test]
async fn a_cloud_holds_1000_live_api_keys_and_deleting_a_key_or_its_account_makes_room() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let first = create_account(&mut c, "keys-a").await;
    let second = create_account(&mut c, "keys-b").await;
    let replayed_key = c
        .keys
        .create(with_idempotency_key(key_request(&first.id), "first-key"))
        .await
        .expect("key")
        .into_inner();
    for _ in 1..500 {
        create_key(&mut c, &first.id).await;
    }
    let mut last = None;
    for _ in 0..500 {
        last = create_key(&mut c, &second.id).await.api_key;
    }
    refused_key(&mut c, &second.id, "API keys per cloud is 1000").await;
    let again = c
        .keys
        .create(with_idempotency_key(key_request(&first.id), "first-key"))
        .await
        .expect("a replay of an earlier create still answers")
        .into_inner();
    assert_eq!(again.api_key, replayed_key.api_key);

    let op = c
        .keys
        .delete(DeleteApiKeyRequest {
            api_key_id: last.expect("a key").id,
        })
        .await
        .expect("delete")
        .into_inner();
    wait(&mut c, op).await;
    create_key(&mut c, &second.id).await;
    c.keys.create(key_request(&second.id)).await.expect_err("full again");
    delete_account(&mut c, &first.id).await;
    create_key(&mut c, &second.id).await;
}

#[tokio::test]
async fn quotas_set_on_the_builder_are_enforced_instead_of_the_defaults() {
    // A cloud whose quota of service accounts was raised, as Yandex does on request.
    let emu = Emulator::builder()
        .with_quota(Quota::ServiceAccountsPerCloud, 120)
        .with_quota(Quota::ApiKeysPerCloud, 2)
        .start()
        .await
        .expect("start");
    let mut c = clients(&emu).await;
    let account = create_account(&mut c, "raised-0").await;
    for i in 1..120 {
        create_account(&mut c, &format!("raised-{i}")).await;
    }
    refused_account(&mut c, "raised-120", "service accounts per cloud is 120").await;
    create_key(&mut c, &account.id).await;
    create_key(&mut c, &account.id).await;
    refused_key(&mut c, &account.id, "API keys per cloud is 2").await;
}

#[tokio::test]
async fn quotas_are_configuration_so_a_state_file_holding_more_than_a_lowered_quota_still_loads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("state.json");
    let emu = Emulator::builder().with_state_file(&file).start().await.expect("start");
    let mut c = clients(&emu).await;
    let mut kept = Vec::new();
    for i in 0..3 {
        kept.push(create_account(&mut c, &format!("kept-{i}")).await);
    }
    create_key(&mut c, &kept[0].id).await;
    create_key(&mut c, &kept[1].id).await;
    drop(c);
    emu.shutdown().await;

    let lowered = |limit| {
        Emulator::builder()
            .with_state_file(&file)
            .with_quota(Quota::ServiceAccountsPerCloud, limit)
            .with_quota(Quota::ApiKeysPerCloud, limit)
    };
    let emu = lowered(2).start().await.expect("loads over the quota");
    let mut c = clients(&emu).await;
    assert_eq!(account_count(&mut c).await, 3);
    refused_account(
        &mut c,
        "one-more",
        "service accounts per cloud is 2 and cloud b1gemulatorcloud0001 has 3",
    )
    .await;
    refused_key(
        &mut c,
        &kept[2].id,
        "API keys per cloud is 2 and cloud b1gemulatorcloud0001 has 2",
    )
    .await;
    drop(c);
    emu.shutdown().await;

    let emu = lowered(4).start().await.expect("start");
    let mut c = clients(&emu).await;
    create_account(&mut c, "one-more").await;
    create_key(&mut c, &kept[2].id).await;
}
