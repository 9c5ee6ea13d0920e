//! Fault injection: fail first N, seeded fail rate, drop after apply, delay; RetryInfo.

use std::time::Duration;

use tonic::Code;
use yc_iam::emulator::{ALL_METHODS, DEFAULT_FOLDER_ID, Emulator, Fault};
use yc_iam::proto::google::rpc::{RequestInfo, RetryInfo};
use yc_iam::proto::yandex::cloud::iam::v1::{
    CreateApiKeyRequest, CreateServiceAccountRequest, ListServiceAccountsRequest,
};

use super::support::{clients, detail, with_idempotency_key};

const CREATE: &str = "/yandex.cloud.iam.v1.ServiceAccountService/Create";
const LIST: &str = "/yandex.cloud.iam.v1.ServiceAccountService/List";

fn create(name: &str) -> CreateServiceAccountRequest {
    CreateServiceAccountRequest {
        folder_id: DEFAULT_FOLDER_ID.into(),
        name: name.into(),
        ..Default::default()
    }
}

fn list() -> ListServiceAccountsRequest {
    ListServiceAccountsRequest {
        folder_id: DEFAULT_FOLDER_ID.into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn first_calls_fail_with_unavailable_then_succeed() {
    let emu = Emulator::builder()
        .with_fault(
            LIST,
            Fault::FailFirst {
                n: 2,
                code: Code::Unavailable,
            },
        )
        .start()
        .await
        .expect("start");
    let mut c = clients(&emu).await;
    for _ in 0..2 {
        let err = c.accounts.list(list()).await.expect_err("injected");
        assert_eq!(err.code(), Code::Unavailable);
        assert!(detail::<RequestInfo>(&err, "google.rpc.RequestInfo").is_some());
    }
    c.accounts.list(list()).await.expect("third call served");
    assert_eq!(emu.journal().len(), 3, "failed calls are journaled too");
}

#[tokio::test]
async fn resource_exhausted_carries_retry_info() {
    let emu = Emulator::builder().start().await.expect("start");
    emu.set_fault(
        LIST,
        Fault::FailFirst {
            n: 1,
            code: Code::ResourceExhausted,
        },
    );
    let mut c = clients(&emu).await;
    let err = c.accounts.list(list()).await.expect_err("injected");
    assert_eq!(err.code(), Code::ResourceExhausted);
    let retry: RetryInfo = detail(&err, "google.rpc.RetryInfo").expect("RetryInfo");
    assert!(retry.retry_delay.is_some());
    emu.set_fault(
        LIST,
        Fault::FailFirst {
            n: 1,
            code: Code::Unavailable,
        },
    );
    emu.clear_faults();
    c.accounts.list(list()).await.expect("faults cleared");
}

#[tokio::test]
async fn fail_rate_is_reproducible_for_a_seed() {
    async fn outcomes(seed: u64) -> Vec<bool> {
        let fault = Fault::FailRate {
            rate: 0.5,
            seed,
            code: Code::Unavailable,
        };
        let emu = Emulator::builder()
            .with_fault(ALL_METHODS, fault)
            .start()
            .await
            .expect("start");
        let mut c = clients(&emu).await;
        let mut out = Vec::new();
        for _ in 0..24 {
            out.push(c.accounts.list(list()).await.is_ok());
        }
        out
    }
    let first = outcomes(7).await;
    assert_eq!(first, outcomes(7).await);
    assert!(first.contains(&true) && first.contains(&false), "{first:?}");
}

#[tokio::test]
async fn dropped_response_was_applied_and_a_retry_with_the_same_key_gets_it() {
    let emu = Emulator::builder()
        .with_fault(CREATE, Fault::DropResponseAfterApply { n: 1 })
        .start()
        .await
        .expect("start");
    let mut c = clients(&emu).await;
    let key = "d7c1e2f3-0a4b-4c5d-8e9f-001122334455";
    let err = c
        .accounts
        .create(with_idempotency_key(create("dropped"), key))
        .await
        .expect_err("dropped");
    assert_eq!(err.code(), Code::Unavailable);
    assert_eq!(emu.snapshot().service_accounts.len(), 1, "the change was applied");
    let op = c
        .accounts
        .create(with_idempotency_key(create("dropped"), key))
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(emu.snapshot().operations.len(), 1);
    assert_eq!(op.id, emu.snapshot().operations[0].id);
}

#[tokio::test(start_paused = true)]
async fn delayed_responses_arrive_after_the_delay() {
    let emu = Emulator::builder().start().await.expect("start");
    emu.set_fault(LIST, Fault::Delay(Duration::from_secs(5)));
    let mut c = clients(&emu).await;
    let started = tokio::time::Instant::now();
    c.accounts.list(list()).await.expect("served late");
    assert!(started.elapsed() >= Duration::from_secs(5));
}

#[tokio::test]
async fn retried_key_creation_after_a_lost_response_leaves_one_key() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let sa = super::support::create_account(&mut c, "retried-key").await;
    emu.set_fault(
        "/yandex.cloud.iam.v1.ApiKeyService/Create",
        Fault::DropResponseAfterApply { n: 1 },
    );
    let request = CreateApiKeyRequest {
        service_account_id: sa.id.clone(),
        ..Default::default()
    };
    let key = "6a1f0e2d-3c4b-4a59-8e7f-0123456789ab";
    let err = c
        .keys
        .create(with_idempotency_key(request.clone(), key))
        .await
        .expect_err("lost");
    assert_eq!(err.code(), Code::Unavailable);
    let created = c
        .keys
        .create(with_idempotency_key(request, key))
        .await
        .expect("retry")
        .into_inner();
    let live = emu.snapshot();
    let live = live.live_keys_of(&sa.id);
    assert_eq!(live.len(), 1);
    assert_eq!(Some(live[0]), created.api_key.as_ref());
}

#[tokio::test(start_paused = true)]
async fn a_caller_that_gives_up_on_a_delayed_response_finds_the_change_made() {
    let emu = Emulator::builder().start().await.expect("start");
    emu.set_fault(CREATE, Fault::DelayResponseAfterApply(Duration::from_secs(60)));
    let mut c = clients(&emu).await;
    let mut request = with_idempotency_key(create("slow-answer"), "b3c2d1e0-1111-4222-8333-444455556666");
    request.set_timeout(Duration::from_secs(5));
    let err = c.accounts.create(request).await.expect_err("timed out");
    assert!(
        matches!(err.code(), Code::Cancelled | Code::DeadlineExceeded | Code::Unavailable),
        "{err:?}"
    );
    assert_eq!(
        emu.snapshot().service_accounts.len(),
        1,
        "applied before the answer was delayed"
    );
    emu.clear_faults();
    let retry = with_idempotency_key(create("slow-answer"), "b3c2d1e0-1111-4222-8333-444455556666");
    let op = c
        .accounts
        .create(retry)
        .await
        .expect("retry gets the first operation")
        .into_inner();
    assert_eq!(op.id, emu.snapshot().operations[0].id);
}

#[tokio::test(start_paused = true)]
async fn a_caller_that_gives_up_on_a_delayed_call_leaves_nothing_applied() {
    let emu = Emulator::builder().start().await.expect("start");
    emu.set_fault(CREATE, Fault::Delay(Duration::from_secs(60)));
    let mut c = clients(&emu).await;
    let mut request = tonic::Request::new(create("never-made"));
    request.set_timeout(Duration::from_secs(5));
    c.accounts.create(request).await.expect_err("timed out");
    tokio::time::sleep(Duration::from_secs(120)).await;
    assert!(emu.snapshot().service_accounts.is_empty());
}

#[tokio::test]
async fn a_failed_operation_ends_with_its_error_and_applies_nothing() {
    let emu = Emulator::builder().start().await.expect("start");
    emu.set_fault(
        CREATE,
        Fault::FailOperation {
            code: Code::FailedPrecondition,
        },
    );
    let mut c = clients(&emu).await;
    let op = c
        .accounts
        .create(create("refused-sa"))
        .await
        .expect("the call itself is accepted")
        .into_inner();
    let done = super::support::wait(&mut c, op).await;
    let Some(yc_iam::proto::yandex::cloud::operation::operation::Result::Error(status)) = done.result else {
        panic!("the operation ends with an error: {done:?}");
    };
    assert_eq!(status.code, Code::FailedPrecondition as i32);
    let listed = c.accounts.list(list()).await.expect("list").into_inner();
    assert!(listed.service_accounts.is_empty(), "nothing was created");
}

#[tokio::test]
async fn a_wrong_operation_response_is_an_any_of_another_type() {
    let emu = Emulator::builder().start().await.expect("start");
    emu.set_fault(CREATE, Fault::WrongOperationResponse);
    let mut c = clients(&emu).await;
    let op = c.accounts.create(create("odd-sa")).await.expect("create").into_inner();
    let done = super::support::wait(&mut c, op).await;
    assert_eq!(
        super::support::response_of(&done).type_url,
        "type.googleapis.com/google.protobuf.Empty"
    );
    let listed = c.accounts.list(list()).await.expect("list").into_inner();
    assert_eq!(listed.service_accounts.len(), 1, "the change itself was applied");
}
