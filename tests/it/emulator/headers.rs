//! Response metadata: request and trace ids on every answer, `RequestInfo` in error details,
//! and the journal of received calls.

use tonic::Code;
use yc_iam::emulator::{DEFAULT_FOLDER_ID, Emulator};
use yc_iam::proto::google::rpc::RequestInfo;
use yc_iam::proto::yandex::cloud::iam::v1::{
    CreateServiceAccountRequest, GetServiceAccountRequest, ListServiceAccountsRequest,
};

use super::support::{Auth, clients, clients_with, create_account, detail, with_idempotency_key};

#[tokio::test]
async fn every_response_carries_request_and_trace_ids() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let ok = c
        .accounts
        .list(ListServiceAccountsRequest {
            folder_id: DEFAULT_FOLDER_ID.into(),
            ..Default::default()
        })
        .await
        .expect("list");
    let first = ok
        .metadata()
        .get("x-request-id")
        .expect("x-request-id")
        .to_str()
        .expect("text")
        .to_owned();
    assert!(ok.metadata().get("x-server-trace-id").is_some());
    let again = c
        .accounts
        .list(ListServiceAccountsRequest {
            folder_id: DEFAULT_FOLDER_ID.into(),
            ..Default::default()
        })
        .await
        .expect("list");
    assert_ne!(
        again.metadata().get("x-request-id").and_then(|v| v.to_str().ok()),
        Some(first.as_str())
    );

    let mut anonymous = clients_with(&emu, Auth::none()).await;
    let err = anonymous
        .accounts
        .get(GetServiceAccountRequest {
            service_account_id: "ajenosuchaccount0001".into(),
        })
        .await
        .expect_err("unauthenticated");
    assert_eq!(err.code(), Code::Unauthenticated);
    assert!(err.metadata().get("x-request-id").is_some());
    assert!(err.metadata().get("x-server-trace-id").is_some());
}

#[tokio::test]
async fn errors_carry_request_info_matching_the_request_id() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let err = c
        .accounts
        .get(GetServiceAccountRequest {
            service_account_id: "ajenosuchaccount0001".into(),
        })
        .await
        .expect_err("not found");
    let info: RequestInfo = detail(&err, "google.rpc.RequestInfo").expect("RequestInfo");
    let header = err
        .metadata()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .expect("x-request-id");
    assert_eq!(info.request_id, header);

    let invalid = c
        .accounts
        .get(GetServiceAccountRequest {
            service_account_id: String::new(),
        })
        .await
        .expect_err("invalid");
    assert!(
        detail::<RequestInfo>(&invalid, "google.rpc.RequestInfo").is_some(),
        "alongside BadRequest"
    );
}

#[tokio::test]
async fn journal_records_method_metadata_and_request() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let request = CreateServiceAccountRequest {
        folder_id: DEFAULT_FOLDER_ID.into(),
        name: "journaled".into(),
        ..Default::default()
    };
    c.accounts
        .create(with_idempotency_key(request.clone(), "journal-key"))
        .await
        .expect("create");
    let journal = emu.journal();
    let entry = journal.last().expect("one call");
    assert_eq!(entry.method, "/yandex.cloud.iam.v1.ServiceAccountService/Create");
    assert_eq!(entry.header("idempotency-key"), Some("journal-key"));
    assert!(entry.header("authorization").is_some_and(|v| v.starts_with("Bearer ")));
    assert_eq!(entry.decode::<CreateServiceAccountRequest>().expect("decodes"), request);
    assert!(!format!("{entry:?}").contains("Bearer"), "Debug masks authorization");
    emu.clear_journal();
    assert!(emu.journal().is_empty());
}

#[tokio::test]
async fn the_journal_keeps_only_its_capacity_and_none_at_zero() {
    for (capacity, kept) in [(0, 0), (2, 2)] {
        let emu = Emulator::builder()
            .with_journal_capacity(capacity)
            .start()
            .await
            .expect("start");
        let mut c = clients(&emu).await;
        for name in ["one-account", "two-account", "three-account"] {
            create_account(&mut c, name).await;
        }
        let journal = emu.journal();
        assert_eq!(journal.len(), kept, "capacity {capacity}");
        if let Some(last) = journal.last() {
            let request: CreateServiceAccountRequest = last.decode().expect("create request");
            assert_eq!(request.name, "three-account");
        }
    }
}
