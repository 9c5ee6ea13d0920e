//! Request metadata as the emulator received it: a request id per attempt, one trace id per
//! client, one idempotency key shared by a mutation's retries, and the user agent.

use std::collections::HashSet;

use yc_iam::{CreateServiceAccount, emulator::Fault};

use super::{FOLDER, SA_CREATE, builder, calls, client, emulator};

#[tokio::test]
async fn retries_share_the_idempotency_key_and_attempts_get_their_own_request_ids() {
    let emu = emulator().await;
    emu.set_fault(
        SA_CREATE,
        Fault::FailFirst {
            n: 2,
            code: tonic::Code::Unavailable,
        },
    );
    let client = client(&emu);
    client
        .service_accounts()
        .create(CreateServiceAccount::new(FOLDER, "first-sa"))
        .await
        .expect("create one");
    client
        .service_accounts()
        .create(CreateServiceAccount::new(FOLDER, "second-sa"))
        .await
        .expect("create two");

    let creates = calls(&emu, SA_CREATE);
    assert_eq!(creates.len(), 4, "two failed attempts, then two successful calls");
    let request_ids: HashSet<_> = creates
        .iter()
        .map(|e| e.header("x-client-request-id").expect("request id"))
        .collect();
    assert_eq!(request_ids.len(), 4, "a distinct x-client-request-id per attempt");
    for id in &request_ids {
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{id} is a UUID");
    }
    let keys: Vec<_> = creates
        .iter()
        .map(|e| e.header("idempotency-key").expect("idempotency key"))
        .collect();
    assert_eq!(keys[0], keys[1]);
    assert_eq!(keys[1], keys[2], "the same key on every retry of one call");
    assert_ne!(keys[2], keys[3], "a different key for a different call");

    let all = emu.journal();
    let traces: HashSet<_> = all
        .iter()
        .map(|e| e.header("x-client-trace-id").expect("trace id"))
        .collect();
    assert_eq!(traces.len(), 1, "one x-client-trace-id per client");
    assert_eq!(traces.iter().next().copied(), Some(client.trace_id()));
    for entry in &all {
        let ua = entry.header("user-agent").expect("user-agent");
        assert!(ua.starts_with(concat!("yc-iam/", env!("CARGO_PKG_VERSION"))), "{ua}");
    }
    let reads: Vec<_> = all
        .iter()
        .filter(|e| e.method.ends_with("/Get") || e.method.ends_with("/List"))
        .collect();
    assert!(
        reads.iter().all(|e| e.header("idempotency-key").is_none()),
        "reads carry no idempotency-key"
    );

    let other = builder(&emu).build().expect("second client");
    other.folders().get(FOLDER).await.expect("get folder");
    let last = emu.journal().pop().expect("journaled");
    assert_eq!(last.header("x-client-trace-id"), Some(other.trace_id()));
    assert_ne!(other.trace_id(), client.trace_id(), "each client has its own trace id");
}
