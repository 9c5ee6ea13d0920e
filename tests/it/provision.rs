//! The provisioning flow through the library: a plan reads the cloud and changes nothing, holds
//! no secret, and applying it makes exactly the changes it listed; a run that fails part way
//! hands back what it had done.

use crate::common::client_with;
use tonic::Code;
use yc_iam::emulator::{DEFAULT_FOLDER_ID, DEFAULT_IAM_TOKEN, Emulator, Fault};
use yc_iam::provision::StoredKey;
use yc_iam::provision::{AccountPlan, KeyAction, KeyPlan, KeyReason, Provision};
use yc_iam::{Client, Credentials, ExposeSecret};

/// A fresh emulator, a client with its administrator's token, and a scratch directory.
pub(crate) async fn start() -> (Emulator, Client, tempfile::TempDir) {
    let emu = Emulator::builder().start().await.expect("the emulator starts");
    let client = client_with(&emu, Credentials::iam_token(DEFAULT_IAM_TOKEN));
    (emu, client, tempfile::tempdir().expect("temp dir"))
}

fn mutations(emu: &Emulator) -> usize {
    emu.journal()
        .iter()
        .filter(|e| {
            ["/Create", "/Delete", "/UpdateAccessBindings"]
                .iter()
                .any(|m| e.method.ends_with(m))
        })
        .filter(|e| !e.method.contains("IamTokenService"))
        .count()
}

#[tokio::test]
async fn a_plan_changes_nothing_and_applying_it_makes_what_it_listed() {
    let (emu, client, dir) = start().await;
    let file = dir.path().join("key.yaml");
    let p = Provision::new(DEFAULT_FOLDER_ID, "sa-plan").output_file(&file);
    let plan = p.plan(&client).await.expect("plan");
    assert!(matches!(plan.account, AccountPlan::Create), "{plan:?}");
    assert_eq!(plan.roles_missing, vec![yc_iam::provision::DEFAULT_ROLE]);
    assert!(matches!(
        plan.key,
        KeyPlan::Create {
            reason: KeyReason::NoKeyFile,
            replaces: None
        }
    ));
    assert!(plan.changes());
    assert_eq!(mutations(&emu), 0, "planning sends no mutating call");
    assert!(!file.exists());

    let report = plan.apply(&client).await.expect("apply");
    assert!(report.service_account_created);
    assert_eq!(report.roles_added, vec![yc_iam::provision::DEFAULT_ROLE]);
    let Some(KeyAction::Created { key, .. }) = &report.key else {
        panic!("a key was created: {report:?}");
    };
    let stored = StoredKey::read(&file).unwrap().expect("the key file is written");
    assert_eq!(stored.id, key.id);

    // Planned again, nothing is left to do.
    let again = p.plan(&client).await.expect("plan");
    assert!(!again.changes(), "{again:?}");
    assert!(matches!(&again.key, KeyPlan::Keep(k) if k.id == stored.id));
}

#[tokio::test]
async fn a_plan_names_the_keys_it_replaces_but_holds_no_secret() {
    let (_emu, client, dir) = start().await;
    let file = dir.path().join("key.yaml");
    let p = Provision::new(DEFAULT_FOLDER_ID, "sa-rotate").output_file(&file);
    p.run(&client).await.expect("first run");
    let stored = StoredKey::read(&file).unwrap().expect("key file");
    let plan = p.clone().rotate(true).plan(&client).await.expect("plan");
    assert!(matches!(
        &plan.key,
        KeyPlan::Create { reason: KeyReason::Rotate, replaces: Some(old) } if *old == stored.id
    ));
    assert_eq!(plan.keys_to_delete, vec![stored.id.clone()]);
    let shown = format!("{plan:?}");
    assert!(shown.contains(&stored.id));
    assert!(!shown.contains(stored.secret.expose_secret()), "{shown}");
}

#[tokio::test]
async fn a_run_failing_at_the_key_hands_back_the_account_and_roles_it_made() {
    let (emu, client, dir) = start().await;
    emu.set_fault(
        "/yandex.cloud.iam.v1.ApiKeyService/Create",
        Fault::FailFirst {
            n: 1,
            code: Code::PermissionDenied,
        },
    );
    let p = Provision::new(DEFAULT_FOLDER_ID, "sa-partial").output_file(dir.path().join("key.yaml"));
    let err = p.run(&client).await.expect_err("the key step fails");
    assert_eq!(err.api_error().and_then(|e| e.code()), Some(Code::PermissionDenied));
    let done = err.partial_report().expect("the error carries what was done");
    assert!(done.service_account_created);
    assert_eq!(done.service_account.name, "sa-partial");
    assert_eq!(done.roles_added, vec![yc_iam::provision::DEFAULT_ROLE]);
    assert!(done.key.is_none());

    // The fault was for one call: the rerun finds the account and role and makes the key.
    let report = p.run(&client).await.expect("rerun");
    assert!(!report.service_account_created);
    assert_eq!(report.service_account.id, done.service_account.id);
    assert_eq!(report.roles_present, vec![yc_iam::provision::DEFAULT_ROLE]);
    assert!(matches!(report.key, Some(KeyAction::Created { .. })));
}

#[tokio::test]
async fn verifying_a_key_stops_at_the_first_answer_that_is_not_a_refusal() {
    use yc_iam::provision::verify_key;
    let (_emu, client, _dir) = start().await;
    // The emulator answers INVALID_ARGUMENT for a folder id in capitals: no point trying again.
    let err = verify_key(
        &client,
        Credentials::iam_token(DEFAULT_IAM_TOKEN),
        "gpt://B1G/yandexgpt-lite/latest",
        std::time::Duration::from_secs(30),
    )
    .await
    .expect_err("a malformed model URI");
    assert_eq!((err.attempts, err.timed_out), (1, false), "{err}");
    assert_eq!(err.source.code(), Some(Code::InvalidArgument));
    assert!(err.source.server_request_id().is_some(), "the last call's ids are kept");
}

#[tokio::test]
async fn verifying_a_refused_key_tries_again_until_the_timeout() {
    use yc_iam::provision::verify_key;
    let (_emu, client, _dir) = start().await;
    let err = verify_key(
        &client,
        Credentials::api_key("AQVN-not-a-key"),
        &format!("gpt://{DEFAULT_FOLDER_ID}/yandexgpt-lite/latest"),
        std::time::Duration::from_millis(800),
    )
    .await
    .expect_err("an unknown key");
    assert!(err.timed_out, "{err}");
    assert!(err.attempts > 1, "refusals are tried again: {err}");
    assert_eq!(err.source.code(), Some(Code::Unauthenticated));
    assert!(err.waited <= std::time::Duration::from_millis(800), "{err}");
}
