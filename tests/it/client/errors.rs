//! Errors carry the server's request ids, and no secret shows in any error or
//! `Debug` output.

use secrecy::ExposeSecret as _;
use yc_iam::{AuthorizedKey, CreateApiKey, Credentials, ErrorKind, emulator::Emulator};

use super::{FOLDER, builder, client, create_sa, emulator, start};
use crate::common::client_with;

#[tokio::test]
async fn server_errors_carry_request_ids_and_read_as_one_line() {
    let emu = emulator().await;
    let client = client(&emu);
    let err = client
        .service_accounts()
        .get("ajenosuchaccount0001")
        .await
        .expect_err("not found");
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.code(), Some(tonic::Code::NotFound));
    assert!(err.server_request_id().is_some_and(|id| !id.is_empty()), "{err:?}");
    assert!(err.server_trace_id().is_some(), "{err:?}");
    let sent = emu.journal().pop().expect("journaled");
    assert_eq!(err.client_request_id(), sent.header("x-client-request-id"));
    let shown = err.to_string();
    assert!(shown.starts_with("cannot get service account: not found: "), "{shown}");
    assert!(!shown.contains('\n'));
    // The same id arrives as `google.rpc.RequestInfo` in the status details.
    let status = std::error::Error::source(&err)
        .and_then(|s| s.downcast_ref::<tonic::Status>())
        .expect("the status is the source");
    let details = <yc_iam::proto::google::rpc::Status as prost::Message>::decode(status.details()).expect("details");
    let info = details
        .details
        .iter()
        .find(|d| d.type_url.ends_with("/google.rpc.RequestInfo"))
        .map(|d| <yc_iam::proto::google::rpc::RequestInfo as prost::Message>::decode(d.value.as_slice()))
        .expect("RequestInfo")
        .expect("decodes");
    assert_eq!(err.server_request_id(), Some(info.request_id.as_str()));
}

#[tokio::test]
async fn errors_and_debug_output_never_show_secrets() {
    const IAM: &str = "t1.super-secret-iam-token";
    const OAUTH: &str = "y0_super-secret-oauth-token";
    const API_KEY: &str = "AQVNsuper-secret-api-key";
    let emu = start(Emulator::builder().with_iam_token(IAM)).await;
    let pem =
        std::fs::read_to_string(format!("{}/tests/fixtures/keys/sa.pem", env!("CARGO_MANIFEST_DIR"))).expect("fixture");
    let key = AuthorizedKey::new("ajekey", "ajesa", pem.clone().into()).expect("key");
    let pem_body: String = pem.lines().nth(1).expect("a line of the key").to_owned();

    let kinds = [
        Credentials::iam_token("t1.wrong-but-secret"),
        Credentials::oauth_token(OAUTH),
        Credentials::authorized_key(key.clone()),
        Credentials::api_key(API_KEY),
    ];
    let secrets = [IAM, "t1.wrong-but-secret", OAUTH, API_KEY, pem_body.as_str(), "eyJ"];
    let mut shown = Vec::new();
    for credentials in kinds {
        shown.push(format!("{credentials:?}"));
        let client = client_with(&emu, credentials);
        shown.push(format!("{client:?}"));
        let err = client.folders().get(FOLDER).await.expect_err("refused");
        assert!(
            matches!(err.kind(), ErrorKind::Unauthenticated | ErrorKind::Credentials),
            "{err}"
        );
        shown.push(err.to_string());
        shown.push(format!("{err:?}"));
        let mut source = std::error::Error::source(&err);
        while let Some(s) = source {
            shown.push(s.to_string());
            shown.push(format!("{s:?}"));
            source = s.source();
        }
    }
    shown.push(format!("{key:?}"));

    // A created key's secret stays out of Debug too.
    let admin = builder(&emu)
        .with_credentials(Credentials::iam_token(IAM))
        .build()
        .expect("client");
    let sa = create_sa(&admin, "secret-keeper").await;
    let created = admin.api_keys().create(CreateApiKey::new(&sa.id)).await.expect("key");
    shown.push(format!("{created:?}"));
    let key_secret = created.secret.expose_secret().to_owned();

    for text in &shown {
        for secret in secrets.iter().copied().chain([key_secret.as_str()]) {
            assert!(!text.contains(secret), "{secret:?} shows in {text}");
        }
    }
}

#[tokio::test]
async fn an_attempt_without_an_answer_within_the_timeout_fails_as_a_timeout_and_tells_the_server() {
    use std::time::{Duration, Instant};
    let emu = emulator().await;
    emu.set_fault(
        "/yandex.cloud.iam.v1.ServiceAccountService/Get",
        yc_iam::emulator::Fault::Delay(Duration::from_secs(30)),
    );
    let client = builder(&emu)
        .with_timeout(Duration::from_millis(300))
        .with_retry(yc_iam::RetryPolicy::disabled())
        .build()
        .expect("client");
    let started = Instant::now();
    let err = client
        .service_accounts()
        .get("ajenosuchaccount0001")
        .await
        .expect_err("no answer in time");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "gave up after {:?}",
        started.elapsed()
    );
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err:?}");
    assert_eq!(err.to_string(), "cannot get service account: no answer within 300 ms");
    assert!(err.client_request_id().is_some());
    let sent = emu.journal().pop().expect("journaled");
    assert_eq!(sent.header("grpc-timeout"), Some("300000u"));
}
