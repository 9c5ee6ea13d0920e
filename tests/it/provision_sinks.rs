//! Provisioning into each sink through the library: a dotenv file and a Kubernetes manifest hold
//! the key's three entries (parsed back as a dotenv loader and a YAML reader see them), are
//! private, keep what else they held, and a second run keeps the key they hold; `--rotate`
//! replaces it and deletes the old key. A Lockbox secret is created once, each key is a version
//! based on the current one (other entries kept, a concurrent version detected), the versions
//! the sink added are scheduled for destruction once replaced while versions of other writers are
//! left alone, readers are granted once, and the steady state costs one Lockbox call.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use futures_util::TryStreamExt as _;
use yc_iam::emulator::{DEFAULT_FOLDER_ID, DEFAULT_IAM_TOKEN, Emulator, Fault};
use yc_iam::model::{LockboxVersion, LockboxVersionStatus, Subject};
use yc_iam::provision::{EntryNames, KeyAction, KeyReason, KeySink, LockboxSink, Provision, READER_ROLE};
use yc_iam::{AddVersion, Client, Credentials, RetryPolicy, SecretRef};

use crate::common::{authenticates, created, dotenv, get};
use crate::provision::start;

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).expect("metadata").permissions().mode() & 0o777
}

#[tokio::test]
async fn a_dotenv_file_holds_the_three_entries_privately_and_a_second_run_keeps_the_key() {
    let (emu, client, dir) = start().await;
    let path = dir.path().join(".env");
    std::fs::write(&path, "# the app's settings\nDEBUG=1\n").expect("write");
    let p = Provision::new(DEFAULT_FOLDER_ID, "sa-env").output(KeySink::env(&path));
    let first = p.run(&client).await.expect("first run");
    let id = created(&first).0;
    assert!(matches!(
        first.key,
        Some(KeyAction::Created {
            reason: KeyReason::SinkEmpty,
            ..
        })
    ));

    let entries = dotenv(&path);
    assert_eq!(get(&entries, "DEBUG"), Some("1"), "other lines are kept");
    assert_eq!(get(&entries, "YC_API_KEY_ID"), Some(id.as_str()));
    assert_eq!(get(&entries, "YC_FOLDER_ID"), Some(DEFAULT_FOLDER_ID));
    let secret = get(&entries, "YC_API_KEY").expect("the secret is there").to_owned();
    assert!(secret.starts_with("AQVN"), "an API-key secret");
    #[cfg(unix)]
    assert_eq!(mode(&path), 0o600);
    authenticates(&emu, &secret, &first.service_account.id).await;

    let second = p.run(&client).await.expect("second run");
    assert!(!second.changed(), "{second:?}");
    assert!(matches!(&second.key, Some(KeyAction::Kept { key }) if key.id == id));
    assert_eq!(dotenv(&path), entries, "the file is unchanged");

    let rotated = p.clone().rotate(true).run(&client).await.expect("rotation");
    let new_id = created(&rotated).0;
    assert_ne!(new_id, id);
    assert_eq!(rotated.keys_deleted, vec![id]);
    assert_eq!(get(&dotenv(&path), "YC_API_KEY_ID"), Some(new_id.as_str()));
    let account = &rotated.service_account.id;
    assert_eq!(live_keys(&emu, account), vec![new_id]);
}

#[tokio::test]
async fn a_kubernetes_manifest_is_an_opaque_secret_with_the_entries_and_a_second_run_keeps_the_key() {
    let (emu, client, dir) = start().await;
    let path = dir.path().join("secret.yaml");
    let sink = KeySink::K8s {
        path: path.clone(),
        secret_name: None,
        entries: EntryNames {
            api_key: "API_KEY".into(),
            ..EntryNames::env()
        },
    };
    let p = Provision::new(DEFAULT_FOLDER_ID, "sa-k8s").output(sink);
    let first = p.run(&client).await.expect("first run");
    let id = created(&first).0;

    let text = std::fs::read_to_string(&path).expect("the manifest exists");
    let doc: serde_norway::Value = serde_norway::from_str(&text).expect("YAML");
    assert_eq!(doc["apiVersion"].as_str(), Some("v1"));
    assert_eq!(doc["kind"].as_str(), Some("Secret"));
    assert_eq!(doc["type"].as_str(), Some("Opaque"));
    assert_eq!(doc["metadata"]["name"].as_str(), Some("sa-k8s"));
    assert_eq!(
        doc["metadata"]["labels"]["app.kubernetes.io/managed-by"].as_str(),
        Some("yc-iam")
    );
    assert_eq!(doc["stringData"]["YC_API_KEY_ID"].as_str(), Some(id.as_str()));
    assert_eq!(doc["stringData"]["YC_FOLDER_ID"].as_str(), Some(DEFAULT_FOLDER_ID));
    let secret = doc["stringData"]["API_KEY"]
        .as_str()
        .expect("the renamed entry")
        .to_owned();
    assert!(doc["stringData"].get("YC_API_KEY").is_none());
    #[cfg(unix)]
    assert_eq!(mode(&path), 0o600);
    authenticates(&emu, &secret, &first.service_account.id).await;

    let second = p.run(&client).await.expect("second run");
    assert!(!second.changed(), "{second:?}");
    assert_eq!(std::fs::read_to_string(&path).expect("manifest"), text);
}

#[tokio::test]
async fn a_file_in_another_format_is_left_alone_and_refused_before_anything_is_sent() {
    let (emu, client, dir) = start().await;
    let path = dir.path().join("deploy.yaml");
    std::fs::write(&path, "kind: Deployment\napiVersion: apps/v1\n").expect("write");
    let err = Provision::new(DEFAULT_FOLDER_ID, "sa-other")
        .output(KeySink::k8s(&path))
        .run(&client)
        .await
        .unwrap_err();
    assert!(err.is_invalid_input(), "{err}");
    assert!(err.to_string().contains("not a Kubernetes v1 Secret manifest"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&path).expect("read"),
        "kind: Deployment\napiVersion: apps/v1\n"
    );
    assert!(emu.snapshot().service_account_named("sa-other").is_none());
}

/// The ids of the account's live API keys.
fn live_keys(emu: &Emulator, account_id: &str) -> Vec<String> {
    emu.snapshot()
        .live_keys_of(account_id)
        .iter()
        .map(|k| k.id.clone())
        .collect()
}

fn lockbox_sink(name: &str) -> KeySink {
    KeySink::Lockbox(LockboxSink::new(name))
}

/// The current payload of the secret named `name` in the default folder.
async fn payload(client: &Client, name: &str) -> (String, BTreeMap<String, String>) {
    let secret = SecretRef::Name {
        folder_id: DEFAULT_FOLDER_ID.into(),
        name: name.into(),
    };
    crate::common::payload(client, secret).await
}

async fn versions(client: &Client, secret_id: &str) -> Vec<LockboxVersion> {
    client
        .lockbox()
        .list_versions(secret_id)
        .try_collect()
        .await
        .expect("versions")
}

/// Another writer's version, based on `base`, adding the entry `db-password`.
async fn add_their_version(client: &Client, secret_id: &str, base: &str) -> LockboxVersion {
    client
        .lockbox()
        .add_version(
            AddVersion::new(secret_id)
                .base_version_id(base)
                .description("the database password")
                .entry("db-password", &"hunter2".to_owned().into()),
        )
        .await
        .expect("add")
        .wait()
        .await
        .expect("added")
}

fn lockbox_calls(emu: &Emulator) -> Vec<String> {
    emu.journal()
        .into_iter()
        .filter(|e| e.method.contains("lockbox"))
        .map(|e| e.method)
        .collect()
}

#[tokio::test]
async fn provision_into_lockbox_keeps_the_key_in_the_current_version_and_a_second_run_reads_it_in_one_call() {
    let (emu, client, _dir) = start().await;
    let p = Provision::new(DEFAULT_FOLDER_ID, "sa-lockbox").output(lockbox_sink("ai-key"));
    let first = p.run(&client).await.expect("first run");
    let id = created(&first).0;
    let placed = first.lockbox.clone().expect("the Lockbox report");
    assert!(placed.secret_created && placed.version_added, "{placed:?}");

    let secret = client.lockbox().get(&placed.secret_id).await.expect("the secret");
    assert_eq!(secret.name, "ai-key");
    assert_eq!(secret.labels.get("managed-by").map(String::as_str), Some("yc-iam"));
    let (version, entries) = payload(&client, "ai-key").await;
    assert_eq!(Some(&version), placed.version_id.as_ref());
    assert_eq!(entries.get("api-key-id"), Some(&id));
    assert_eq!(entries.get("folder-id").map(String::as_str), Some(DEFAULT_FOLDER_ID));
    authenticates(&emu, &entries["api-key"], &first.service_account.id).await;
    let key = client.api_keys().get(&id).await.expect("the key");
    assert!(
        key.description
            .ends_with(&format!("[yc-iam:lockbox:{}]", placed.secret_id)),
        "the marker names the secret: {}",
        key.description
    );
    let shown = format!("{first:?}");
    assert!(!shown.contains(&entries["api-key"]), "no secret in the report");

    emu.clear_journal();
    let second = p.run(&client).await.expect("second run");
    assert!(!second.changed(), "{second:?}");
    assert!(matches!(&second.key, Some(KeyAction::Kept { key }) if key.id == id));
    assert_eq!(
        lockbox_calls(&emu),
        vec!["/yandex.cloud.lockbox.v1.PayloadService/GetEx"],
        "the steady state reads the secret in one call"
    );
}

#[tokio::test]
async fn rotating_into_lockbox_adds_one_version_and_schedules_the_replaced_one() {
    let (emu, client, _dir) = start().await;
    let p = Provision::new(DEFAULT_FOLDER_ID, "sa-rotate-lb").output(lockbox_sink("ai-key"));
    let first = p.run(&client).await.expect("first run");
    let old = created(&first).0;
    let secret_id = first.lockbox.clone().expect("report").secret_id;
    let (ours, _) = payload(&client, "ai-key").await;
    let before = versions(&client, &secret_id).await.len();

    let rotated = p.clone().rotate(true).run(&client).await.expect("rotation");
    let new = created(&rotated).0;
    let placed = rotated.lockbox.clone().expect("report");
    assert!(placed.version_added);
    assert_eq!(placed.versions_scheduled, vec![ours.clone()]);
    assert_eq!(rotated.keys_deleted, vec![old]);
    let all = versions(&client, &secret_id).await;
    assert_eq!(all.len(), before + 1, "exactly one version added");
    let replaced = all.iter().find(|v| v.id == ours).expect("the replaced version");
    assert_eq!(replaced.status(), LockboxVersionStatus::ScheduledForDestruction);
    let destroy_at = replaced.destroy_at.as_ref().expect("a destruction time").seconds;
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    assert!(
        (destroy_at - now - 7 * 86_400).abs() < 120,
        "destroyed after seven days"
    );
    let (_, entries) = payload(&client, "ai-key").await;
    assert_eq!(entries.get("api-key-id"), Some(&new));
    assert_eq!(live_keys(&emu, &rotated.service_account.id), vec![new]);
}

#[tokio::test]
async fn rotating_after_another_writer_schedules_only_our_versions_and_keeps_theirs_and_their_entries() {
    let (emu, client, _dir) = start().await;
    let p = Provision::new(DEFAULT_FOLDER_ID, "sa-other-writer").output(lockbox_sink("ai-key"));
    let first = p.run(&client).await.expect("first run");
    let old = created(&first).0;
    let secret_id = first.lockbox.clone().expect("report").secret_id;
    // Someone else adds an entry of their own, in a version of theirs based on ours.
    let (ours, _) = payload(&client, "ai-key").await;
    let theirs = add_their_version(&client, &secret_id, &ours).await;

    let plan = p.clone().rotate(true).plan(&client).await.expect("plan");
    let planned = plan.lockbox.clone().expect("the Lockbox plan");
    assert_eq!(planned.versions_to_destroy, vec![ours.clone()], "{planned:?}");
    assert_eq!(planned.replaced_version, None, "the current version is not ours");
    let rotated = plan.apply(&client).await.expect("rotation");
    let new = created(&rotated).0;
    let placed = rotated.lockbox.clone().expect("report");
    assert_eq!(placed.versions_scheduled, vec![ours.clone()]);
    assert_eq!(rotated.keys_deleted, vec![old]);
    let all = versions(&client, &secret_id).await;
    let status = |id: &str| all.iter().find(|v| v.id == id).expect("the version").status();
    assert_eq!(status(&ours), LockboxVersionStatus::ScheduledForDestruction);
    assert_eq!(status(&theirs.id), LockboxVersionStatus::Active, "theirs is left alone");
    let (current, entries) = payload(&client, "ai-key").await;
    assert_eq!(Some(&current), placed.version_id.as_ref());
    assert_eq!(entries.get("api-key-id"), Some(&new));
    assert_eq!(entries.get("db-password").map(String::as_str), Some("hunter2"));
    assert_eq!(live_keys(&emu, &rotated.service_account.id), vec![new]);

    // The next rotation replaces our version, which is current again.
    let again = p.clone().rotate(true).run(&client).await.expect("second rotation");
    assert_eq!(again.lockbox.expect("report").versions_scheduled, vec![current]);
    let all = versions(&client, &secret_id).await;
    let theirs_now = all.iter().find(|v| v.id == theirs.id).expect("theirs");
    assert_eq!(theirs_now.status(), LockboxVersionStatus::Active, "still left alone");
}

#[tokio::test]
async fn a_version_added_between_plan_and_apply_is_not_overwritten_and_the_new_key_is_deleted_again() {
    let (emu, client, _dir) = start().await;
    let p = Provision::new(DEFAULT_FOLDER_ID, "sa-race").output(lockbox_sink("ai-key"));
    let first = p.run(&client).await.expect("first run");
    let old = created(&first).0;
    let secret_id = first.lockbox.clone().expect("report").secret_id;
    let plan = p.clone().rotate(true).plan(&client).await.expect("plan");
    client
        .lockbox()
        .add_version(AddVersion::new(&secret_id).entry("other", &"x".to_owned().into()))
        .await
        .expect("add")
        .wait()
        .await
        .expect("added");
    let err = plan.apply(&client).await.unwrap_err();
    // The server would accept the stale base (Yandex copies entries from any base): the client
    // finds the other writer itself.
    assert_eq!(
        err.api_error().map(yc_iam::Error::kind),
        Some(yc_iam::ErrorKind::InvalidArgument),
        "{err}"
    );
    let why = err.api_error().map(yc_iam::Error::message).unwrap_or_default();
    assert!(why.contains("another writer"), "{why}");
    assert!(err.to_string().contains("the key was deleted again"), "{err}");
    assert_eq!(live_keys(&emu, &first.service_account.id), vec![old.clone()]);
    let (_, entries) = payload(&client, "ai-key").await;
    assert_eq!(entries.get("other").map(String::as_str), Some("x"));
    assert_eq!(entries.get("api-key-id"), Some(&old));
}

#[tokio::test]
async fn entries_another_writer_adds_while_the_new_version_is_on_its_way_are_put_back() {
    const ADD_VERSION: &str = "/yandex.cloud.lockbox.v1.SecretService/AddVersion";
    let (emu, client, _dir) = start().await;
    let p = Provision::new(DEFAULT_FOLDER_ID, "sa-late-writer").output(lockbox_sink("ai-key"));
    let first = p.run(&client).await.expect("first run");
    let secret_id = first.lockbox.clone().expect("report").secret_id;
    let (ours, _) = payload(&client, "ai-key").await;

    // Our new version is held back on its way, after the check that the base is current...
    emu.set_fault(ADD_VERSION, Fault::Delay(Duration::from_millis(800)));
    emu.clear_journal();
    let rotation = tokio::spawn({
        let (p, client) = (p.clone(), client.clone());
        async move { p.rotate(true).run(&client).await }
    });
    tokio::time::timeout(Duration::from_secs(20), async {
        while !emu.journal().iter().any(|e| e.method == ADD_VERSION) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the rotation adds a version");
    // ...and meanwhile someone else adds a version of theirs, based on the same one.
    emu.clear_faults();
    let theirs = add_their_version(&client, &secret_id, &ours).await;

    let rotated = rotation.await.expect("the task").expect("rotation");
    let new = created(&rotated).0;
    let (current, entries) = payload(&client, "ai-key").await;
    assert_eq!(
        Some(&current),
        rotated.lockbox.as_ref().and_then(|l| l.version_id.as_ref())
    );
    assert_eq!(entries.get("api-key-id"), Some(&new));
    assert_eq!(
        entries.get("db-password").map(String::as_str),
        Some("hunter2"),
        "their entry is back in the current version"
    );
    authenticates(&emu, &entries["api-key"], &rotated.service_account.id).await;
    assert_eq!(live_keys(&emu, &rotated.service_account.id), vec![new]);
    for version in versions(&client, &secret_id).await {
        let expected = if version.id == theirs.id || version.id == current {
            LockboxVersionStatus::Active
        } else {
            LockboxVersionStatus::ScheduledForDestruction
        };
        assert_eq!(
            version.status(),
            expected,
            "version {} ({})",
            version.id,
            version.description
        );
    }
    let again = p.run(&client).await.expect("a second run");
    assert!(!again.changed(), "{again:?}");
}

#[tokio::test]
async fn readers_get_payload_viewer_on_the_secret_once() {
    let (_emu, client, _dir) = start().await;
    let reader = client
        .service_accounts()
        .create(yc_iam::CreateServiceAccount::new(DEFAULT_FOLDER_ID, "app-reader"))
        .await
        .expect("create")
        .wait()
        .await
        .expect("created");
    let subject = Subject {
        id: reader.id.clone(),
        r#type: "serviceAccount".into(),
    };
    let sink = LockboxSink::new("ai-key")
        .reader(subject.clone())
        .reader(subject.clone());
    let p = Provision::new(DEFAULT_FOLDER_ID, "sa-readers").output(KeySink::Lockbox(sink));
    let first = p.run(&client).await.expect("first run");
    let placed = first.lockbox.clone().expect("report");
    assert_eq!(placed.readers_added, vec![format!("serviceAccount:{}", reader.id)]);
    let bindings: Vec<_> = client
        .lockbox()
        .list_access_bindings(&placed.secret_id)
        .try_collect()
        .await
        .expect("bindings");
    assert!(
        bindings
            .iter()
            .any(|b| b.role_id == READER_ROLE && b.subject.as_ref() == Some(&subject))
    );
    let second = p.run(&client).await.expect("second run");
    assert!(!second.changed(), "{second:?}");
}

#[tokio::test]
async fn a_replaced_version_that_could_not_be_scheduled_keeps_its_key_until_a_rerun_finishes_both() {
    let (emu, client, _dir) = start().await;
    let p = Provision::new(DEFAULT_FOLDER_ID, "sa-schedule").output(lockbox_sink("ai-key"));
    let first = p.run(&client).await.expect("first run");
    let old = created(&first).0;
    let secret_id = first.lockbox.clone().expect("report").secret_id;
    let (old_version, _) = payload(&client, "ai-key").await;

    emu.set_fault(
        "/yandex.cloud.lockbox.v1.SecretService/ScheduleVersionDestruction",
        Fault::FailFirst {
            n: 1,
            code: tonic::Code::PermissionDenied,
        },
    );
    let rotated = p.clone().rotate(true).run(&client).await.expect("rotation");
    let new = created(&rotated).0;
    assert!(
        rotated.keys_deleted.is_empty(),
        "the old key stays while its version is active"
    );
    assert!(rotated.keys_not_deleted.iter().any(|(id, _)| *id == old));

    emu.clear_faults();
    let rerun = p.run(&client).await.expect("rerun");
    assert_eq!(rerun.keys_deleted, vec![old]);
    let all = versions(&client, &secret_id).await;
    let replaced = all.iter().find(|v| v.id == old_version).expect("the replaced version");
    assert_eq!(replaced.status(), LockboxVersionStatus::ScheduledForDestruction);
    assert_eq!(live_keys(&emu, &rerun.service_account.id), vec![new]);
}

#[tokio::test]
async fn a_version_whose_answer_was_lost_keeps_its_key_and_a_rerun_keeps_the_one_the_secret_holds() {
    let (emu, client, _dir) = start().await;
    let p = Provision::new(DEFAULT_FOLDER_ID, "sa-lost-version").output(lockbox_sink("ai-key"));
    let first = p.run(&client).await.expect("first run");
    let account = first.service_account.id.clone();

    // The version is added, but its answer never arrives and the client does not retry.
    emu.set_fault(
        "/yandex.cloud.lockbox.v1.SecretService/AddVersion",
        Fault::DropResponseAfterApply { n: 1 },
    );
    let impatient = Client::builder()
        .with_endpoint(emu.endpoint())
        .with_credentials(Credentials::iam_token(DEFAULT_IAM_TOKEN))
        .with_retry(RetryPolicy::disabled())
        .build()
        .expect("client");
    p.clone()
        .rotate(true)
        .run(&impatient)
        .await
        .expect_err("the answer was lost");
    let (_, entries) = payload(&client, "ai-key").await;
    let held = entries.get("api-key-id").cloned().expect("the secret names a key");
    let live = |emu: &Emulator| -> Vec<String> {
        emu.snapshot()
            .live_keys_of(&account)
            .iter()
            .map(|k| k.id.clone())
            .collect()
    };
    assert!(live(&emu).contains(&held), "the key the secret holds is alive");

    emu.clear_faults();
    p.run(&client).await.expect("rerun");
    assert_eq!(live(&emu), vec![held]);
}
