//! Operation polling — quick to see a finished operation, frugal with slow ones,
//! tolerant of an operation not visible yet, and strict about failures and types.

use std::time::Duration;

use tokio::time::Instant;
use tonic::Code;
use yc_iam::{
    CreateServiceAccount, ErrorKind, Operation,
    emulator::{Emulator, Fault},
    model::ApiKey,
};

use super::{FOLDER, OP_GET, builder, calls, client, start};

async fn slow_emulator(delay: Duration) -> Emulator {
    start(Emulator::builder().with_op_delay(delay)).await
}

#[tokio::test(start_paused = true)]
async fn operation_done_at_300_ms_is_seen_by_425_ms() {
    let emu = slow_emulator(Duration::from_millis(300)).await;
    let client = client(&emu);
    client.folders().get(FOLDER).await.expect("warm up");
    let start = Instant::now();
    let op = client
        .service_accounts()
        .create(CreateServiceAccount::new(FOLDER, "quick-op"))
        .await
        .expect("create");
    assert!(!op.is_done());
    let sa = op.wait().await.expect("done");
    let seen = start.elapsed();
    assert_eq!(sa.name, "quick-op");
    assert!(seen >= Duration::from_millis(300), "{seen:?}");
    assert!(seen <= Duration::from_millis(425), "seen done only at {seen:?}");
}

#[tokio::test(start_paused = true)]
async fn operation_finishing_after_10_s_is_polled_at_most_25_times() {
    let emu = slow_emulator(Duration::from_secs(10)).await;
    let client = client(&emu);
    let start = Instant::now();
    let op = client
        .service_accounts()
        .create(CreateServiceAccount::new(FOLDER, "slow-op"))
        .await
        .expect("create");
    op.wait().await.expect("done");
    let seen = start.elapsed();
    let polls = calls(&emu, OP_GET).len();
    assert!(polls <= 25, "{polls} polls");
    assert!(
        seen <= Duration::from_millis(10_000 + 10_000 / 3 + 25),
        "seen done only at {seen:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn server_poll_interval_is_honoured() {
    let emu = start(
        Emulator::builder()
            .with_op_delay(Duration::from_secs(3))
            .with_poll_interval(Duration::from_secs(1)),
    )
    .await;
    let client = client(&emu);
    let op = client
        .service_accounts()
        .create(CreateServiceAccount::new(FOLDER, "hinted-op"))
        .await
        .expect("create");
    op.wait().await.expect("done");
    let polls = calls(&emu, OP_GET).len();
    assert!(
        (3..=4).contains(&polls),
        "{polls} polls at a 1 s interval for a 3 s operation"
    );
}

#[tokio::test(start_paused = true)]
async fn not_found_right_after_creation_is_tolerated() {
    let emu = slow_emulator(Duration::from_millis(200)).await;
    let client = client(&emu);
    let op = client
        .service_accounts()
        .create(CreateServiceAccount::new(FOLDER, "not-yet-visible"))
        .await
        .expect("create");
    emu.set_fault(
        OP_GET,
        Fault::FailFirst {
            n: 2,
            code: Code::NotFound,
        },
    );
    let sa = op.wait().await.expect("NOT_FOUND at first is tolerated");
    assert_eq!(sa.name, "not-yet-visible");
}

#[tokio::test(start_paused = true)]
async fn operation_that_stays_not_found_fails_with_its_id() {
    let emu = slow_emulator(Duration::from_secs(60)).await;
    let client = client(&emu);
    let op = client
        .service_accounts()
        .create(CreateServiceAccount::new(FOLDER, "vanishing-op"))
        .await
        .expect("create");
    let id = op.id().to_owned();
    emu.set_fault(
        OP_GET,
        Fault::FailFirst {
            n: 1000,
            code: Code::NotFound,
        },
    );
    let err = op.wait().await.expect_err("NOT_FOUND for long is an error");
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.operation_id(), Some(id.as_str()));
}

#[tokio::test(start_paused = true)]
async fn waiting_longer_than_the_operation_timeout_fails_with_its_id() {
    let emu = slow_emulator(Duration::from_secs(120)).await;
    let client = builder(&emu)
        .with_operation_timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    let op = client
        .service_accounts()
        .create(CreateServiceAccount::new(FOLDER, "too-slow"))
        .await
        .expect("create");
    let id = op.id().to_owned();
    let start = Instant::now();
    let err = op.wait().await.expect_err("times out");
    assert_eq!(err.kind(), ErrorKind::Timeout);
    assert_eq!(err.operation_id(), Some(id.as_str()));
    assert!(start.elapsed() <= Duration::from_secs(6));
    assert!(err.to_string().contains(&id), "{err}");
}

#[tokio::test]
async fn response_of_the_wrong_type_is_an_error_not_a_panic() {
    let emu = start(Emulator::builder()).await;
    let client = client(&emu);
    let op = client
        .service_accounts()
        .create(CreateServiceAccount::new(FOLDER, "typed-op"))
        .await
        .expect("create");
    let id = op.id().to_owned();
    let raw = client.operations().wait(&id).await.expect("done");
    let err = Operation::<ApiKey, ()>::from_raw(&client, raw)
        .wait()
        .await
        .expect_err("wrong type");
    assert_eq!(err.kind(), ErrorKind::Other);
    assert_eq!(err.operation_id(), Some(id.as_str()));
    assert!(err.to_string().contains("yandex.cloud.iam.v1.ServiceAccount"), "{err}");
}

#[tokio::test]
async fn operation_metadata_is_typed() {
    let emu = start(Emulator::builder()).await;
    let client = client(&emu);
    let op = client
        .service_accounts()
        .create(CreateServiceAccount::new(FOLDER, "meta-op"))
        .await
        .expect("create");
    let meta = op.metadata().expect("metadata");
    let sa = op.wait().await.expect("done");
    assert_eq!(meta.service_account_id, sa.id);
}

#[tokio::test]
async fn failed_operation_becomes_an_error_with_its_id_and_status() {
    let emu = start(Emulator::builder()).await;
    let client = client(&emu);
    // A done operation that failed, as OperationService.Get would return it.
    let raw = yc_iam::model::RawOperation {
        id: "ajefailedop00000001".into(),
        done: true,
        result: Some(yc_iam::proto::yandex::cloud::operation::operation::Result::Error(
            yc_iam::proto::google::rpc::Status {
                code: Code::FailedPrecondition as i32,
                message: "Folder is being deleted".into(),
                details: Vec::new(),
            },
        )),
        ..Default::default()
    };
    let op = Operation::<yc_iam::model::ServiceAccount, ()>::from_raw(&client, raw);
    assert!(op.is_done());
    let err = op.wait().await.expect_err("failed");
    assert_eq!(err.kind(), ErrorKind::OperationFailed);
    assert_eq!(err.code(), Some(Code::FailedPrecondition));
    assert_eq!(err.operation_id(), Some("ajefailedop00000001"));
    assert_eq!(err.message(), "Folder is being deleted");
    assert_eq!(
        err.to_string(),
        "operation failed: failed precondition: Folder is being deleted (operation ajefailedop00000001)"
    );
    assert!(!err.is_invalid_input());
    assert!(emu.journal().is_empty(), "a done operation is not polled");
}

#[tokio::test(start_paused = true)]
async fn operations_are_seen_done_within_a_third_of_their_age_plus_25_ms() {
    for delay_ms in [40u64, 120, 300, 700, 1500, 2600] {
        let delay = Duration::from_millis(delay_ms);
        let emu = slow_emulator(delay).await;
        let client = client(&emu);
        client.folders().get(FOLDER).await.expect("warm up");
        let start = Instant::now();
        let name = format!("op-{delay_ms}");
        let op = client
            .service_accounts()
            .create(CreateServiceAccount::new(FOLDER, name))
            .await
            .expect("create");
        op.wait().await.expect("done");
        let late = start.elapsed().saturating_sub(delay);
        assert!(
            late <= delay / 3 + Duration::from_millis(25),
            "{delay:?}: seen {late:?} late"
        );
    }
}
