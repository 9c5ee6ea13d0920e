//! The state file: everything created before a restart is there after it.

use yc_iam::emulator::{DEFAULT_FOLDER_ID, Emulator};
use yc_iam::proto::yandex::cloud::access::{
    AccessBinding, AccessBindingDelta, ListAccessBindingsRequest, Subject, UpdateAccessBindingsRequest,
};
use yc_iam::proto::yandex::cloud::iam::v1::{
    CreateApiKeyRequest, CreateApiKeyResponse, DeleteApiKeyRequest, GetApiKeyRequest, GetServiceAccountRequest,
};
use yc_iam::proto::yandex::cloud::operation::GetOperationRequest;

use super::support::{Auth, clients, clients_with, create_account, create_key, wait, with_idempotency_key};

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
    let mut before: serde_json::Value = serde_json::from_str(written).unwrap();
    let after: serde_json::Value = serde_json::from_str(&rewritten).unwrap();
    // Every field comes back as it was, except the secrets of live keys: the earlier build kept
    // them in clear, and they are written back as what the emulator now keeps instead, the
    // SHA-256 of each (`printf %s fixture-secret-1 | sha256sum`) and the API key's mask.
    let api_key = &mut before["api_keys"]["ajesbdd55yh1rz5ocpdl"];
    api_key.as_object_mut().unwrap().remove("secret");
    api_key["masked_secret"] = "****cret-1".into();
    api_key["secret_sha256"] = "7bc233cc850e734f012f41c1895d81e33a711b0a0559dcfaa2563b449afbdcce".into();
    let access_key = &mut before["keys"]["access"]["aje1acj11gnhcw5nilt7"];
    access_key.as_object_mut().unwrap().remove("secret");
    access_key["secret_sha256"] = "43106414a75ba0395d476e07ba7fd907e4ecde48b5d97bcfc064faf79f3ea1f2".into();
    assert_eq!(after, before);
    assert!(!rewritten.contains("fixture-secret-1") && !rewritten.contains("fixture-secret-2"));
}

/// The fixture with an issued token and the idempotency records an earlier build saved: one of
/// an operation, one of an API key's `Create` with its secret.
fn earlier_state_with_a_token_and_replays(token: &str) -> String {
    let mut state: serde_json::Value =
        serde_json::from_str(include_str!("../../fixtures/emulator/state-v1.json")).unwrap();
    state["tokens"] = serde_json::json!({
        token: { "subject": "ajeemulatoruser00001", "expires_at": { "seconds": 4102444800_i64, "nanos": 0 } }
    });
    state["idempotency"] = serde_json::json!({
        "ajeemulatoruser00001 /yandex.cloud.iam.v1.ApiKeyService/Create k1":
            { "ApiKey": { "api_key_id": "ajesbdd55yh1rz5ocpdl", "secret": "fixture-secret-1" } },
        "ajeemulatoruser00001 /yandex.cloud.iam.v1.KeyService/Create k2":
            { "Key": { "key_id": "ajey7dxhpukdrrejnzpt", "private_key": "-----BEGIN PRIVATE KEY-----" } },
        "ajeemulatoruser00001 /yandex.cloud.iam.v1.ServiceAccountService/Create k3":
            { "Operation": { "operation_id": "aje9ubsevwkmy3dzltxt" } },
    });
    state.to_string()
}

#[tokio::test]
async fn an_earlier_builds_tokens_and_secrets_still_work_after_loading_and_are_written_back_as_digests() {
    let token = "t1.legacy-token-an-earlier-build-saved";
    let (_dir, path) = state_file();
    std::fs::write(&path, earlier_state_with_a_token_and_replays(token)).unwrap();
    let emu = start_on(&path).await;
    let mut c = clients_with(&emu, Auth::bearer(token)).await;
    c.accounts
        .get(GetServiceAccountRequest {
            service_account_id: "ajesrkh5va7rez64a80z".into(),
        })
        .await
        .expect("the saved token still authenticates");
    let mut by_key = clients_with(&emu, Auth::api_key("fixture-secret-1")).await;
    by_key
        .accounts
        .get(GetServiceAccountRequest {
            service_account_id: "ajesrkh5va7rez64a80z".into(),
        })
        .await
        .expect("the saved API key still authenticates");
    assert!(emu.accepts_access_key("YCAJEAG_GIj8IqeK-uKgYr18S", "fixture-secret-2"));
    emu.shutdown().await;
    let rewritten = std::fs::read_to_string(&path).unwrap();
    for secret in [token, "fixture-secret-1", "fixture-secret-2", "PRIVATE KEY"] {
        assert!(!rewritten.contains(secret), "{secret} is still in the state file");
    }
    let saved: serde_json::Value = serde_json::from_str(&rewritten).unwrap();
    let idempotency = saved["idempotency"].as_object().unwrap();
    assert_eq!(
        idempotency.keys().collect::<Vec<_>>(),
        ["ajeemulatoruser00001 /yandex.cloud.iam.v1.ServiceAccountService/Create k3"],
        "the operation's record is kept, the key Creates' records (with their secrets) are not"
    );
}

#[tokio::test]
async fn a_key_create_is_replayed_with_its_secret_only_in_memory_and_made_afresh_after_a_restart() {
    let (_dir, path) = state_file();
    let emu = start_on(&path).await;
    let mut c = clients(&emu).await;
    let sa = create_account(&mut c, "replayed").await;
    let request = || {
        let create = CreateApiKeyRequest {
            service_account_id: sa.id.clone(),
            scopes: vec!["yc.ai.languageModels.execute".into()],
            ..Default::default()
        };
        with_idempotency_key(create, "6f1c2d3e-0000-4000-8000-000000000001")
    };
    let first = c.keys.create(request()).await.expect("create").into_inner();
    let again = c.keys.create(request()).await.expect("retry").into_inner();
    assert_eq!((&again.api_key, &again.secret), (&first.api_key, &first.secret));
    drop(c);
    emu.shutdown().await;
    let saved = std::fs::read_to_string(&path).unwrap();
    assert!(!saved.contains(&first.secret), "the replay's secret is not saved");

    // After a restart the answer cannot be given again (its secret is gone), so the repeat makes
    // a key as a new call would; a client that retried deletes the one it never got
    // (`create_once`).
    let emu = start_on(&path).await;
    let mut c = clients(&emu).await;
    let after = c.keys.create(request()).await.expect("repeat").into_inner();
    let (first_key, after_key) = (first.api_key.expect("key"), after.api_key.expect("key"));
    assert_ne!(after_key.id, first_key.id);
    assert!(after.secret.starts_with("AQVN") && after.secret != first.secret);
    emu.shutdown().await;
}

#[tokio::test]
async fn a_key_create_is_replayed_for_an_hour_and_never_once_the_key_is_deleted() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let sa = create_account(&mut c, "replayed-for-a-while").await;
    let request = |idem: &str| {
        let create = CreateApiKeyRequest {
            service_account_id: sa.id.clone(),
            scopes: vec!["yc.ai.languageModels.execute".into()],
            ..Default::default()
        };
        with_idempotency_key(create, idem)
    };
    let id_of = |r: &CreateApiKeyResponse| r.api_key.as_ref().expect("key").id.clone();
    let first = c.keys.create(request("a")).await.expect("create").into_inner();
    emu.advance(std::time::Duration::from_secs(3599));
    let within = c.keys.create(request("a")).await.expect("within the hour").into_inner();
    assert_eq!((id_of(&within), &within.secret), (id_of(&first), &first.secret));
    emu.advance(std::time::Duration::from_secs(1));
    let later = c.keys.create(request("a")).await.expect("after the hour").into_inner();
    assert_ne!(id_of(&later), id_of(&first));

    let doomed = c.keys.create(request("b")).await.expect("create").into_inner();
    let op = c
        .keys
        .delete(DeleteApiKeyRequest {
            api_key_id: id_of(&doomed),
        })
        .await
        .expect("delete")
        .into_inner();
    wait(&mut c, op).await;
    let repeat = c.keys.create(request("b")).await.expect("repeat").into_inner();
    assert_ne!(
        repeat.secret, doomed.secret,
        "a deleted key's secret is not handed out again"
    );
    emu.shutdown().await;
}

fn sha256_hex(text: &str) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, text.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn tokens_and_key_secrets_reach_the_state_file_only_as_digests_and_a_deleted_keys_not_at_all() {
    use yc_iam::proto::yandex::cloud::iam::v1::CreateIamTokenRequest;
    use yc_iam::proto::yandex::cloud::iam::v1::create_iam_token_request::Identity;
    let (_dir, path) = state_file();
    let emu = start_on(&path).await;
    let mut c = clients(&emu).await;
    let token = c
        .tokens
        .create(CreateIamTokenRequest {
            identity: Some(Identity::YandexPassportOauthToken(
                yc_iam::emulator::DEFAULT_OAUTH_TOKEN.into(),
            )),
        })
        .await
        .expect("exchange")
        .into_inner()
        .iam_token;
    let sa = create_account(&mut c, "digested").await;
    let kept = create_key(&mut c, &sa.id).await;
    let deleted = create_key(&mut c, &sa.id).await;
    let op = c
        .keys
        .delete(DeleteApiKeyRequest {
            api_key_id: deleted.api_key.as_ref().expect("key").id.clone(),
        })
        .await
        .expect("delete")
        .into_inner();
    wait(&mut c, op).await;
    drop(c);
    emu.shutdown().await;
    let saved = std::fs::read_to_string(&path).unwrap();
    for (what, value) in [
        ("token", &token),
        ("secret", &kept.secret),
        ("deleted secret", &deleted.secret),
    ] {
        assert!(!saved.contains(value.as_str()), "the {what} is in the state file");
    }
    assert!(saved.contains(&sha256_hex(&token)) && saved.contains(&sha256_hex(&kept.secret)));
    assert!(
        !saved.contains(&sha256_hex(&deleted.secret)),
        "a deleted key keeps nothing of its secret"
    );

    let emu = start_on(&path).await;
    for (auth, works) in [
        (Auth::bearer(&token), true),
        (Auth::api_key(&kept.secret), true),
        (Auth::api_key(&deleted.secret), false),
    ] {
        let mut c = clients_with(&emu, auth).await;
        let got = c
            .accounts
            .get(GetServiceAccountRequest {
                service_account_id: sa.id.clone(),
            })
            .await;
        assert_eq!(got.is_ok(), works, "{got:?}");
    }
    emu.shutdown().await;
}
