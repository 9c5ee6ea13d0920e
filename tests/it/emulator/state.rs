//! The state file: everything created before a restart is there after it.

use yc_iam::emulator::{DEFAULT_FOLDER_ID, Emulator};
use yc_iam::proto::yandex::cloud::access::{
    AccessBinding, AccessBindingDelta, ListAccessBindingsRequest, Subject, UpdateAccessBindingsRequest,
};
use yc_iam::proto::yandex::cloud::iam::v1::{GetApiKeyRequest, GetServiceAccountRequest};
use yc_iam::proto::yandex::cloud::operation::GetOperationRequest;

use super::support::{Auth, clients, clients_with, create_account, create_key, wait};

/// A state-file path in a fresh temporary folder, which lives as long as the returned guard.
fn state_file() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.json");
    (dir, path)
}

/// An emulator that loads and saves `path`.
async fn start_on(path: &std::path::Path) -> Emulator {
    Emulator::builder().with_state_file(path).start().await.expect("start")
}

#[tokio::test]
async fn restart_with_the_state_file_keeps_every_resource() {
    let (_dir, path) = state_file();
    let emu = Emulator::builder()
        .with_folder(DEFAULT_FOLDER_ID)
        .with_state_file(&path)
        .start()
        .await
        .expect("start");
    let mut c = clients(&emu).await;
    let sa = create_account(&mut c, "persistent").await;
    let created = create_key(&mut c, &sa.id).await;
    let key = created.api_key.expect("key");
    let delta = AccessBindingDelta::add(AccessBinding {
        role_id: "ai.languageModels.user".into(),
        subject: Some(Subject {
            id: sa.id.clone(),
            r#type: "serviceAccount".into(),
        }),
    });
    let op = c
        .folders
        .update_access_bindings(UpdateAccessBindingsRequest {
            resource_id: DEFAULT_FOLDER_ID.into(),
            access_binding_deltas: vec![delta],
        })
        .await
        .expect("bind")
        .into_inner();
    let op = wait(&mut c, op).await;
    let before = emu.snapshot();
    drop(c);
    emu.shutdown().await;

    let emu = Emulator::builder()
        .with_folder(DEFAULT_FOLDER_ID)
        .with_state_file(&path)
        .start()
        .await
        .expect("restart");
    let mut c = clients(&emu).await;
    let got = c
        .accounts
        .get(GetServiceAccountRequest {
            service_account_id: sa.id.clone(),
        })
        .await
        .expect("sa");
    assert_eq!(got.into_inner(), sa);
    let got = c
        .keys
        .get(GetApiKeyRequest {
            api_key_id: key.id.clone(),
        })
        .await
        .expect("key")
        .into_inner();
    assert_eq!(got, key);
    let bindings = c
        .folders
        .list_access_bindings(ListAccessBindingsRequest {
            resource_id: DEFAULT_FOLDER_ID.into(),
            ..Default::default()
        })
        .await
        .expect("bindings")
        .into_inner();
    assert_eq!(bindings.access_bindings.len(), 1);
    let again = c
        .operations
        .get(GetOperationRequest {
            operation_id: op.id.clone(),
        })
        .await
        .expect("op")
        .into_inner();
    assert_eq!(again, op);
    // Before the key is used: its use stamps the account's `last_authenticated_at`.
    let after = emu.snapshot();
    let mut by_key = clients_with(&emu, Auth::api_key(&created.secret)).await;
    by_key
        .accounts
        .get(GetServiceAccountRequest {
            service_account_id: sa.id.clone(),
        })
        .await
        .expect("secret works");

    assert_eq!(after.service_accounts, before.service_accounts);
    assert_eq!(after.access_bindings, before.access_bindings);
    assert_eq!(after.folders, before.folders);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).expect("state file").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    emu.shutdown().await;
}

#[tokio::test]
async fn a_corrupt_state_file_is_an_error_at_start() {
    let (_dir, path) = state_file();
    std::fs::write(&path, b"{ not json").expect("write");
    let err = Emulator::builder()
        .with_state_file(&path)
        .start()
        .await
        .expect_err("corrupt");
    assert!(err.to_string().contains("state"), "{err}");
}

#[tokio::test]
async fn a_state_file_with_a_value_of_the_wrong_type_is_refused_without_quoting_the_value() {
    let (_dir, path) = state_file();
    let written = include_str!("../../fixtures/emulator/state-v1.json")
        .replace("\"deleted\": false", "\"deleted\": \"AQVNwrongly-placed-secret\"");
    std::fs::write(&path, &written).expect("write");
    let err = Emulator::builder()
        .with_state_file(&path)
        .start()
        .await
        .expect_err("a string where a boolean belongs");
    let mut chain = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        chain = format!("{chain}: {cause}");
        source = cause.source();
    }
    assert!(!chain.contains("AQVN"), "{chain}");
    let line = written.lines().position(|l| l.contains("AQVN")).expect("the line") + 1;
    assert!(chain.contains(&format!("line {line} column")), "{chain}");
}

#[tokio::test]
async fn every_change_reaches_the_state_file_without_a_shutdown() {
    let (_dir, path) = state_file();
    let emu = start_on(&path).await;
    let mut c = clients(&emu).await;
    let sa = create_account(&mut c, "saved-early").await;
    let mut saved = false;
    for _ in 0..500 {
        if std::fs::read_to_string(&path).is_ok_and(|text| text.contains(&sa.id)) {
            saved = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(
        saved,
        "the new account is in the state file while the emulator still runs"
    );
    // Dropped without shutdown, as after a crash: a new emulator still finds the account.
    drop(emu);
    let emu = start_on(&path).await;
    assert!(emu.snapshot().service_account_named("saved-early").is_some());
}

#[tokio::test]
async fn shutdown_does_not_wait_for_idle_clients() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    create_account(&mut c, "idle-client").await;
    let started = std::time::Instant::now();
    emu.shutdown().await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    drop(c);
}

#[tokio::test]
async fn after_a_restart_names_stay_taken_and_api_keys_still_authenticate() {
    let (_dir, path) = state_file();
    let emu = start_on(&path).await;
    let mut c = clients(&emu).await;
    let sa = create_account(&mut c, "remembered").await;
    let created = create_key(&mut c, &sa.id).await;
    drop(c);
    emu.shutdown().await;

    let emu = start_on(&path).await;
    let mut c = clients(&emu).await;
    let err = c
        .accounts
        .create(yc_iam::proto::yandex::cloud::iam::v1::CreateServiceAccountRequest {
            folder_id: DEFAULT_FOLDER_ID.into(),
            name: "remembered".into(),
            ..Default::default()
        })
        .await
        .expect_err("name still taken");
    assert_eq!(err.code(), tonic::Code::AlreadyExists);
    let mut by_key = clients_with(&emu, Auth::api_key(&created.secret)).await;
    by_key
        .accounts
        .get(GetServiceAccountRequest {
            service_account_id: sa.id.clone(),
        })
        .await
        .expect("the secret still works");
    emu.shutdown().await;
}

#[cfg(unix)]
#[tokio::test]
async fn a_symlink_planted_where_the_state_was_once_staged_is_never_followed() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, path) = state_file();
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "untouched").expect("victim");
    std::os::unix::fs::symlink(&victim, dir.path().join("state.json.tmp")).expect("plant");
    let emu = start_on(&path).await;
    let mut c = clients(&emu).await;
    let account = create_account(&mut c, "secretive").await;
    create_key(&mut c, &account.id).await;
    drop(c);
    emu.shutdown().await;
    assert_eq!(std::fs::read_to_string(&victim).expect("victim"), "untouched");
    let mode = std::fs::metadata(&path).expect("state").permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[tokio::test]
async fn a_state_file_an_earlier_build_wrote_loads_and_is_written_back_field_for_field() {
    // Written by an earlier build after provisioning an API key to a file, an authorized key to a
    // file and a static key to Lockbox; its secrets replaced by placeholders.
    let written = include_str!("../../fixtures/emulator/state-v1.json");
    let (_dir, path) = state_file();
    std::fs::write(&path, written).unwrap();
    start_on(&path).await.shutdown().await;
    let rewritten = std::fs::read_to_string(&path).unwrap();
    assert_ne!(
        rewritten, written,
        "the file was written again (in the emulator's own layout)"
    );
    let before: serde_json::Value = serde_json::from_str(written).unwrap();
    let after: serde_json::Value = serde_json::from_str(&rewritten).unwrap();
    assert_eq!(after, before);
}
