//! Operations: completion after the configured delay (on paused time), lookups, cancel, poll hint.

use std::time::Duration;

use tonic::Code;
use yc_iam::emulator::{DEFAULT_FOLDER_ID, Emulator};
use yc_iam::proto::yandex::cloud::iam::v1::CreateServiceAccountRequest;
use yc_iam::proto::yandex::cloud::operation::{CancelOperationRequest, GetOperationRequest};

use super::support::{clients, response_of};

fn create(name: &str) -> CreateServiceAccountRequest {
    CreateServiceAccountRequest {
        folder_id: DEFAULT_FOLDER_ID.into(),
        name: name.into(),
        ..Default::default()
    }
}

#[tokio::test(start_paused = true)]
async fn operations_are_done_only_after_the_delay() {
    let emu = Emulator::builder()
        .with_op_delay(Duration::from_secs(30))
        .start()
        .await
        .expect("start");
    let mut c = clients(&emu).await;
    let op = c.accounts.create(create("slow")).await.expect("create").into_inner();
    assert!(!op.done && op.result.is_none());
    let get = GetOperationRequest {
        operation_id: op.id.clone(),
    };

    tokio::time::advance(Duration::from_secs(29)).await;
    let still = c.operations.get(get.clone()).await.expect("get").into_inner();
    assert!(!still.done);
    let err = c
        .operations
        .cancel(CancelOperationRequest {
            operation_id: op.id.clone(),
        })
        .await;
    assert_eq!(
        err.expect_err("running operations cannot be cancelled").code(),
        Code::FailedPrecondition
    );

    tokio::time::advance(Duration::from_secs(2)).await;
    let done = c.operations.get(get).await.expect("get").into_inner();
    assert!(done.done);
    assert_eq!(
        response_of(&done).type_url,
        "type.googleapis.com/yandex.cloud.iam.v1.ServiceAccount"
    );
    let modified = done.modified_at.expect("modified").seconds - done.created_at.expect("created").seconds;
    assert_eq!(modified, 30);
}

#[tokio::test]
async fn unknown_operation_is_not_found() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let err = c
        .operations
        .get(GetOperationRequest {
            operation_id: "ajenosuchoperation01".into(),
        })
        .await;
    assert_eq!(err.expect_err("unknown").code(), Code::NotFound);
    let err = c
        .operations
        .get(GetOperationRequest {
            operation_id: String::new(),
        })
        .await;
    assert_eq!(err.expect_err("empty id").code(), Code::InvalidArgument);
}

#[tokio::test]
async fn poll_interval_hint_is_sent_when_configured() {
    let emu = Emulator::builder()
        .with_poll_interval(Duration::from_secs(2))
        .start()
        .await
        .expect("start");
    let mut c = clients(&emu).await;
    let response = c.accounts.create(create("hinted")).await.expect("create");
    assert_eq!(
        response
            .metadata()
            .get("x-operation-poll-interval")
            .and_then(|v| v.to_str().ok()),
        Some("2")
    );
}
