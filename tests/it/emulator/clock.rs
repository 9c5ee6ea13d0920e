//! The emulator's clock, moved in-process (`advance`, `set_now`) or at start (`with_start_time`):
//! creation times, issued tokens, expiring API keys, operations and Lockbox destruction all follow
//! it; a key's use stamps `last_used_at` and its account's `last_authenticated_at` on it; a
//! suspended account's keys stop authenticating; a state file resumes a moved clock.

use std::time::Duration;

use time::OffsetDateTime;
use time::macros::datetime;
use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use yc_iam::emulator::{DEFAULT_FOLDER_ID, DEFAULT_IAM_TOKEN, DEFAULT_OAUTH_TOKEN, Emulator};
use yc_iam::model::{from_timestamp, to_timestamp};
use yc_iam::proto::yandex::cloud::iam::v1::create_iam_token_request::Identity;
use yc_iam::proto::yandex::cloud::iam::v1::key_service_client::KeyServiceClient;
use yc_iam::proto::yandex::cloud::iam::v1::{
    CreateApiKeyRequest, CreateIamTokenRequest, CreateKeyRequest, GetApiKeyRequest, GetKeyRequest,
    GetServiceAccountRequest, ListServiceAccountsRequest, ServiceAccount, service_account,
};
use yc_iam::proto::yandex::cloud::lockbox::v1::{
    AddVersionRequest, ListVersionsRequest, ScheduleVersionDestructionRequest, version,
};

use super::support::{Auth, Clients, channel, clients, clients_with, create_account, create_secret, text_entry, wait};
use crate::common::client_with;

const DAY: Duration = Duration::from_secs(86_400);

fn list_request() -> ListServiceAccountsRequest {
    ListServiceAccountsRequest {
        folder_id: DEFAULT_FOLDER_ID.into(),
        ..Default::default()
    }
}

/// Whether two times are within two seconds of each other (the clock runs while a test does).
fn close(a: OffsetDateTime, b: OffsetDateTime) -> bool {
    (a - b).abs() <= time::Duration::seconds(2)
}

fn at(ts: Option<prost_types::Timestamp>) -> OffsetDateTime {
    from_timestamp(&ts.expect("a time")).expect("in range")
}

async fn account(c: &mut Clients, id: &str) -> ServiceAccount {
    c.accounts
        .get(GetServiceAccountRequest {
            service_account_id: id.into(),
        })
        .await
        .expect("get account")
        .into_inner()
}

#[tokio::test]
async fn created_at_follows_the_start_time_and_every_advance() {
    let start = datetime!(2030-01-01 00:00 UTC);
    let emu = Emulator::builder().with_start_time(start).start().await.expect("start");
    assert!(close(emu.now(), start), "{}", emu.now());
    let mut c = clients(&emu).await;
    let first = create_account(&mut c, "first").await;
    assert!(close(at(first.created_at), start));

    emu.advance(100 * DAY);
    let later = create_account(&mut c, "later").await;
    assert!(close(at(later.created_at), start + 100 * DAY), "{:?}", later.created_at);

    emu.set_now(datetime!(2029-06-01 12:00 UTC));
    let earlier = create_account(&mut c, "earlier").await;
    assert!(close(at(earlier.created_at), datetime!(2029-06-01 12:00 UTC)));
}

#[tokio::test]
async fn advancing_the_clock_expires_issued_tokens_and_api_keys_on_it() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let sa = create_account(&mut c, "expiring").await;
    let key = c
        .keys
        .create(CreateApiKeyRequest {
            service_account_id: sa.id.clone(),
            expires_at: Some(to_timestamp(emu.now() + DAY)),
            ..Default::default()
        })
        .await
        .expect("key")
        .into_inner();
    let token = c
        .tokens
        .create(CreateIamTokenRequest {
            identity: Some(Identity::YandexPassportOauthToken(DEFAULT_OAUTH_TOKEN.into())),
        })
        .await
        .expect("token")
        .into_inner();
    assert!(close(at(token.expires_at), emu.now() + Duration::from_secs(12 * 3600)));
    let mut by_token = clients_with(&emu, Auth::bearer(&token.iam_token)).await;
    let mut by_key = clients_with(&emu, Auth::api_key(&key.secret)).await;
    by_token.accounts.list(list_request()).await.expect("a fresh token");

    emu.advance(Duration::from_secs(12 * 3600 + 1));
    let expired = by_token.accounts.list(list_request()).await.expect_err("expired");
    assert_eq!(expired.code(), Code::Unauthenticated);
    by_key
        .accounts
        .list(list_request())
        .await
        .expect("the key has half a day left");

    emu.advance(DAY / 2);
    let expired = by_key.accounts.list(list_request()).await.expect_err("expired");
    assert_eq!(expired.code(), Code::Unauthenticated);
    assert!(expired.message().contains("expired"), "{}", expired.message());
}

#[tokio::test]
async fn operations_finish_and_versions_are_destroyed_when_the_clock_passes_their_time() {
    let emu = Emulator::builder()
        .with_op_delay(3600 * Duration::from_secs(1))
        .start()
        .await
        .expect("start");
    let mut c = clients(&emu).await;
    let op = c
        .secrets
        .create(yc_iam::proto::yandex::cloud::lockbox::v1::CreateSecretRequest {
            folder_id: DEFAULT_FOLDER_ID.into(),
            name: "slow".into(),
            version_payload_entries: vec![text_entry("k", "old")],
            ..Default::default()
        })
        .await
        .expect("create")
        .into_inner();
    assert!(!op.done);
    emu.advance(Duration::from_secs(3600));
    let secret = wait(&mut c, op).await;
    assert!(secret.done, "done once an hour passed on the emulator's clock");

    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let secret = create_secret(&mut c, "rotated", vec![text_entry("k", "old")]).await;
    let old = secret.current_version.clone().expect("first version");
    let op = c
        .secrets
        .add_version(AddVersionRequest {
            secret_id: secret.id.clone(),
            payload_entries: vec![text_entry("k", "new")],
            ..Default::default()
        })
        .await
        .expect("add")
        .into_inner();
    wait(&mut c, op).await;
    let op = c
        .secrets
        .schedule_version_destruction(ScheduleVersionDestructionRequest {
            secret_id: secret.id.clone(),
            version_id: old.id.clone(),
            pending_period: None,
        })
        .await
        .expect("schedule")
        .into_inner();
    wait(&mut c, op).await;
    let status = |emu: &Emulator| {
        emu.snapshot().lockbox_versions[&secret.id]
            .iter()
            .find(|v| v.id == old.id)
            .map(|v| v.status)
    };
    assert_eq!(status(&emu), Some(version::Status::ScheduledForDestruction as i32));
    emu.advance(7 * DAY);
    assert_eq!(status(&emu), Some(version::Status::Destroyed as i32));
    let listed = c
        .secrets
        .list_versions(ListVersionsRequest {
            secret_id: secret.id.clone(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert!(
        listed
            .versions
            .iter()
            .any(|v| v.id == old.id && v.status == version::Status::Destroyed as i32)
    );
}

#[tokio::test]
async fn key_use_stamps_last_used_at_and_the_accounts_last_authenticated_at_on_the_moved_clock() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let sa = create_account(&mut c, "user").await;
    assert_eq!(sa.last_authenticated_at, None);
    let key = super::support::create_key(&mut c, &sa.id).await;
    let key_id = key.api_key.as_ref().expect("key").id.clone();
    let get_key = |c: &mut Clients| {
        let mut keys = c.keys.clone();
        let id = key_id.clone();
        async move {
            keys.get(GetApiKeyRequest { api_key_id: id })
                .await
                .expect("get key")
                .into_inner()
        }
    };
    assert_eq!(get_key(&mut c).await.last_used_at, None);

    emu.advance(30 * DAY);
    let mut by_key = clients_with(&emu, Auth::api_key(&key.secret)).await;
    by_key.accounts.list(list_request()).await.expect("the key works");
    assert!(close(at(get_key(&mut c).await.last_used_at), emu.now()));
    assert!(close(
        at(account(&mut c, &sa.id).await.last_authenticated_at),
        emu.now()
    ));

    // An authorized key: its JWT carries the signer's (real) times, and is still accepted.
    let mut keys = KeyServiceClient::new(InterceptedService::new(
        channel(&emu).await,
        Auth::bearer(DEFAULT_IAM_TOKEN),
    ));
    let created = keys
        .create(CreateKeyRequest {
            service_account_id: sa.id.clone(),
            ..Default::default()
        })
        .await
        .expect("create key")
        .into_inner();
    emu.advance(10 * DAY);
    let authorized = yc_iam::AuthorizedKey::new(
        created.key.as_ref().expect("key").id.clone(),
        sa.id.clone(),
        created.private_key.clone().into(),
    )
    .expect("a key");
    let client = client_with(&emu, yc_iam::Credentials::authorized_key(authorized));
    client.iam_token().await.expect("the JWT is exchanged");
    let used = keys
        .get(GetKeyRequest {
            key_id: created.key.as_ref().expect("key").id.clone(),
            ..Default::default()
        })
        .await
        .expect("get")
        .into_inner();
    assert!(close(at(used.last_used_at), emu.now()));
    assert!(close(
        at(account(&mut c, &sa.id).await.last_authenticated_at),
        emu.now()
    ));
}

#[tokio::test]
async fn a_suspended_account_shows_it_and_its_api_keys_no_longer_authenticate() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let sa = create_account(&mut c, "suspended").await;
    let key = super::support::create_key(&mut c, &sa.id).await;
    let mut by_key = clients_with(&emu, Auth::api_key(&key.secret)).await;
    by_key.accounts.list(list_request()).await.expect("works before");

    assert!(emu.suspend_service_account(&sa.id));
    assert!(!emu.suspend_service_account("ajenosuchaccount0001"));
    assert_eq!(
        account(&mut c, &sa.id).await.status,
        service_account::Status::Suspended as i32
    );
    let refused = by_key.accounts.list(list_request()).await.expect_err("suspended");
    assert_eq!(refused.code(), Code::Unauthenticated);
}

#[tokio::test]
async fn a_state_file_resumes_a_moved_clock_unless_a_start_time_is_given() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.json");
    let emu = Emulator::builder().with_state_file(&path).start().await.expect("start");
    emu.advance(100 * DAY);
    let moved = emu.now();
    emu.shutdown().await;

    let emu = Emulator::builder()
        .with_state_file(&path)
        .start()
        .await
        .expect("restart");
    assert!(close(emu.now(), moved), "{} vs {moved}", emu.now());
    emu.shutdown().await;

    let start = datetime!(2031-02-03 04:05 UTC);
    let emu = Emulator::builder()
        .with_state_file(&path)
        .with_start_time(start)
        .start()
        .await
        .expect("restart at a time");
    assert!(close(emu.now(), start));
    emu.shutdown().await;
}
