//! Kill-safety of key replacement: a run killed while it replaces a key (the `provision` flow, a
//! fleet's apply, a rotation) and then run again ends with exactly one live key in the sink, and
//! no key whose secret nobody holds, whatever made the replaced key.
//!
//! A run is killed by dropping it while the emulator holds the call it is making
//! ([`Fault::Delay`]): the held call is never applied, and nothing after it is sent.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::time::Duration;

use futures_util::TryStreamExt as _;
use tonic::Code;
use yc_iam::emulator::{DEFAULT_FOLDER_ID, Emulator, Fault};
use yc_iam::fleet::Manifest;
use yc_iam::model::LockboxVersionStatus;
use yc_iam::provision::{DEFAULT_SCOPE, IssuedKey, KeySink, LockboxSink, Provision, StoredKey};
use yc_iam::rotate::{Rotation, Select};
use yc_iam::{Client, CreateApiKey, CreateServiceAccount, ExposeSecret};

use crate::common::created;
use crate::provision::start;

const DELETE_API_KEY: &str = "/yandex.cloud.iam.v1.ApiKeyService/Delete";
const DAY: Duration = Duration::from_secs(86_400);

/// Runs `run` until the emulator receives a call of `method`, holds that call, and drops the run
/// with it in flight: a kill at that moment. Panics if the run ends first.
async fn killed_at<F: Future>(emu: &Emulator, method: &str, run: F) {
    emu.set_fault(method, Fault::Delay(Duration::from_secs(30)));
    let before = calls(emu, method);
    let reached = async {
        while calls(emu, method) == before {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::select! {
        _ = run => panic!("the run ended before it called {method}"),
        _ = tokio::time::timeout(Duration::from_secs(20), reached) => {}
    }
    emu.clear_faults();
}

fn calls(emu: &Emulator, method: &str) -> usize {
    emu.journal().iter().filter(|e| e.method == method).count()
}

/// The account's live API keys, sorted.
fn live(emu: &Emulator, account: &str) -> Vec<String> {
    let mut ids: Vec<String> = emu
        .snapshot()
        .live_keys_of(account)
        .iter()
        .map(|k| k.id.clone())
        .collect();
    ids.sort();
    ids
}

/// A service account with an API key made the way `yc iam api-key create` makes it (no marker in
/// its description) with `scopes`, written to `file` as the key file.
async fn account_with_yc_key(client: &Client, name: &str, scopes: &[&str], file: &Path) -> (String, String) {
    let account = client
        .service_accounts()
        .create(CreateServiceAccount::new(DEFAULT_FOLDER_ID, name))
        .await
        .expect("create")
        .wait()
        .await
        .expect("the account");
    let made = client
        .api_keys()
        .create(
            CreateApiKey::new(&account.id)
                .scopes(scopes.iter().copied())
                .description("for the chat bot"),
        )
        .await
        .expect("a key made with yc");
    let stored = StoredKey {
        id: made.api_key.id.clone(),
        service_account_id: account.id.clone(),
        created_at: None,
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        expires_at: None,
        secret: made.secret,
    };
    stored.write(file).expect("the key file");
    (account.id, made.api_key.id)
}

#[tokio::test]
async fn a_key_from_yc_that_a_killed_rotation_replaced_is_deleted_by_the_next_run() {
    let (emu, client, dir) = start().await;
    let file = dir.path().join("key.yaml");
    let (account, yc_key) = account_with_yc_key(&client, "sa-yc", &[DEFAULT_SCOPE], &file).await;
    let p = Provision::new(DEFAULT_FOLDER_ID, "sa-yc").output_file(&file);

    killed_at(&emu, DELETE_API_KEY, p.clone().rotate(true).run(&client)).await;
    let held = StoredKey::read(&file).unwrap().expect("the key file").id;
    assert_ne!(held, yc_key, "the new key reached the file before the kill");

    p.run(&client).await.expect("the next run");
    p.run(&client).await.expect("the one after");
    assert_eq!(live(&emu, &account), vec![held], "the replaced key is gone");
    let kept = client.api_keys().get(&live(&emu, &account)[0]).await.unwrap();
    assert!(kept.description.contains("[yc-iam:"), "{}", kept.description);
}

fn manifest(file: &Path, scopes: &str) -> Manifest {
    let text = format!(
        "apiVersion: yc-iam/v1\nkind: Fleet\nmetadata: {{ name: ai-prod }}\ndefaults: {{ folder_id: {DEFAULT_FOLDER_ID} }}\nservice_accounts:\n  - name: sa-chat\n    keys:\n      - {{ type: api-key, scopes: [{scopes}], output: '{}' }}\n",
        file.display()
    );
    Manifest::parse(&text, Path::new("fleet.yaml"), Path::new(".")).expect("a valid manifest")
}

async fn apply(fleet: &Manifest, client: &Client) -> yc_iam::fleet::Report {
    let report = fleet.plan(client, false).await.expect("plan").apply(client, 4).await;
    assert!(report.succeeded(), "{report}");
    report
}

#[tokio::test]
async fn a_provision_key_a_killed_fleet_apply_replaced_is_deleted_by_the_next_apply() {
    let (emu, client, dir) = start().await;
    let file = dir.path().join("key.yaml");
    let labels = BTreeMap::from([
        ("managed-by".to_owned(), "yc-iam".to_owned()),
        ("fleet".to_owned(), "ai-prod".to_owned()),
    ]);
    let first = Provision::new(DEFAULT_FOLDER_ID, "sa-chat")
        .labels(labels)
        .output_file(&file)
        .run(&client)
        .await
        .expect("provision");
    let (old, account) = created(&first);
    // The fleet adopts the account and the key its sink holds...
    apply(&manifest(&file, DEFAULT_SCOPE), &client).await;
    assert_eq!(live(&emu, &account), vec![old.clone()]);

    // ...then the entry's scopes change, and the apply that replaces the key is killed.
    let changed = manifest(&file, &format!("{DEFAULT_SCOPE}, yc.ai.foundationModels.execute"));
    killed_at(&emu, DELETE_API_KEY, async {
        changed
            .plan(&client, false)
            .await
            .expect("plan")
            .apply(&client, 4)
            .await
    })
    .await;
    let held = StoredKey::read(&file).unwrap().expect("the key file").id;
    assert_ne!(held, old, "the new key reached the file before the kill");

    let next = apply(&changed, &client).await;
    let last = apply(&changed, &client).await;
    assert_eq!(live(&emu, &account), vec![held]);
    for report in [next, last] {
        assert!(!report.to_string().contains("left alone"), "{report}");
    }
}

#[tokio::test]
async fn a_key_whose_lost_answer_was_retried_reaches_the_caller_even_when_the_clean_up_cannot_list() {
    let (emu, client, _dir) = start().await;
    emu.set_fault(
        "/yandex.cloud.iam.v1.ApiKeyService/Create",
        Fault::DropResponseAfterApply { n: 1 },
    );
    // Every listing fails until the client's retries run out.
    let always = Fault::FailFirst {
        n: u32::MAX,
        code: Code::Unavailable,
    };
    emu.set_fault("/yandex.cloud.iam.v1.ApiKeyService/List", always);
    let report = Provision::new(DEFAULT_FOLDER_ID, "sa-lost-answer")
        .output_to_caller()
        .run(&client)
        .await
        .expect("the key arrived: the run succeeds");
    emu.clear_faults();
    let Some(IssuedKey::Api(key)) = &report.secret_for_caller else {
        panic!("the caller gets the key: {report:?}");
    };
    assert!(!key.secret.expose_secret().is_empty());
    let account = report.service_account.id.clone();
    // The clean-up could not list, so the first attempt's key may still be there; the one the
    // caller holds is live.
    assert!(live(&emu, &account).contains(&key.id));
}

async fn active_versions(client: &Client, secret_id: &str) -> Vec<String> {
    let versions: Vec<_> = client
        .lockbox()
        .list_versions(secret_id)
        .try_collect()
        .await
        .expect("versions");
    versions
        .into_iter()
        .filter(|v| v.status() == LockboxVersionStatus::Active)
        .map(|v| v.id)
        .collect()
}

#[tokio::test]
async fn a_lockbox_version_a_killed_rotation_left_active_is_scheduled_when_its_key_is_deleted() {
    let (emu, client, _dir) = start().await;
    let p = Provision::new(DEFAULT_FOLDER_ID, "sa-box").output(KeySink::Lockbox(LockboxSink::new("box")));
    let first = p.run(&client).await.expect("provision");
    let (old, account) = created(&first);
    let secret_id = first.lockbox.clone().expect("lockbox").secret_id;
    emu.advance(100 * DAY);
    let rotation = |emu: &Emulator| Rotation::new(DEFAULT_FOLDER_ID, Select::OlderThan(90 * DAY)).at(emu.now());

    killed_at(
        &emu,
        "/yandex.cloud.lockbox.v1.SecretService/ScheduleVersionDestruction",
        rotation(&emu).run(&client),
    )
    .await;
    assert_eq!(active_versions(&client, &secret_id).await.len(), 2);
    // During the grace nothing is due; after it the old key goes, and provision finds nothing to do.
    let during = rotation(&emu).run(&client).await.expect("during the grace");
    assert!(!during.failed(), "{:?}", during.entries);
    emu.advance(2 * DAY);
    let after = rotation(&emu).run(&client).await.expect("after the grace");
    assert!(!after.failed(), "{:?}", after.entries);
    assert!(!live(&emu, &account).contains(&old), "the replaced key is deleted");
    p.run(&client).await.expect("provision again");

    let (current, _) = crate::common::payload(&client, yc_iam::SecretRef::Id(secret_id.clone())).await;
    assert_eq!(
        active_versions(&client, &secret_id).await,
        vec![current],
        "no version naming the deleted key is left active"
    );
}

#[tokio::test]
async fn a_fleet_entry_whose_type_changes_leaves_none_of_the_old_kinds_entries_in_its_sink() {
    let (emu, client, dir) = start().await;
    let (env, k8s) = (dir.path().join("chat.env"), dir.path().join("chat-secret.yaml"));
    std::fs::write(&env, "# the app's own settings\nDEBUG=1\n").unwrap();
    let entries = |kind: &str| {
        let text = format!(
            "apiVersion: yc-iam/v1\nkind: Fleet\nmetadata: {{ name: ai-prod }}\ndefaults: {{ folder_id: {DEFAULT_FOLDER_ID} }}\nservice_accounts:\n  - name: sa-chat\n    keys:\n      - {{ type: {kind}, output: 'env:{}' }}\n      - {{ type: {kind}, output: 'k8s:{}' }}\n      - {{ type: {kind}, output: 'lockbox://chat-key' }}\n",
            env.display(),
            k8s.display()
        );
        Manifest::parse(&text, Path::new("fleet.yaml"), Path::new(".")).expect("a valid manifest")
    };
    apply(&entries("api-key, scopes: [yc.ai.languageModels.execute]"), &client).await;
    assert!(std::fs::read_to_string(&k8s).unwrap().contains("YC_API_KEY_ID"));

    let after = entries("authorized-key");
    apply(&after, &client).await;
    let account = account_named(&emu, "sa-chat");
    assert!(live(&emu, &account).is_empty(), "the API keys are gone");
    let lines = crate::common::dotenv(&env);
    let mut names: Vec<&str> = lines.iter().map(|(name, _)| name.as_str()).collect();
    names.sort();
    assert_eq!(
        names,
        ["DEBUG", "YC_AUTHORIZED_KEY", "YC_AUTHORIZED_KEY_ID", "YC_FOLDER_ID"],
        "the app's line and the new kind's entries only"
    );
    let manifest = std::fs::read_to_string(&k8s).unwrap();
    assert!(!manifest.contains("YC_API_KEY"), "{}", manifest.lines().count());
    assert!(manifest.contains("YC_AUTHORIZED_KEY_ID"));
    let secret_id = secret_named(&emu, "chat-key");
    let (current, entries) = crate::common::payload(&client, yc_iam::SecretRef::Id(secret_id.clone())).await;
    let names: Vec<&str> = entries.keys().map(String::as_str).collect();
    assert_eq!(names, ["authorized-key", "authorized-key-id", "folder-id"]);
    assert_eq!(active_versions(&client, &secret_id).await, vec![current]);
    assert!(!after.plan(&client, false).await.unwrap().changes());
}

fn secret_named(emu: &Emulator, name: &str) -> String {
    emu.snapshot()
        .lockbox_secret_named(name)
        .expect("the secret")
        .id
        .clone()
}

fn account_named(emu: &Emulator, name: &str) -> String {
    emu.snapshot()
        .service_account_named(name)
        .expect("the account")
        .id
        .clone()
}

#[tokio::test]
async fn a_key_from_yc_without_scopes_is_replaced_and_deleted_by_provision() {
    let (emu, client, dir) = start().await;
    let file = dir.path().join("key.yaml");
    // Older keys carry no scopes: the create allows none, an update asks for one to a hundred.
    let (account, old) = account_with_yc_key(&client, "sa-old", &[], &file).await;

    let p = Provision::new(DEFAULT_FOLDER_ID, "sa-old").output_file(&file);
    p.run(&client).await.expect("the run replaces the key");
    let held = StoredKey::read(&file).unwrap().expect("the key file");
    assert_ne!(held.id, old);
    assert_eq!(held.scopes, [DEFAULT_SCOPE]);
    assert_eq!(live(&emu, &account), vec![held.id], "the scope-less key is gone");
}

#[tokio::test]
async fn a_fleet_keeps_the_old_kinds_key_while_another_writers_current_lockbox_version_names_it() {
    let (emu, client, _dir) = start().await;
    let entry = |kind: &str| {
        let text = format!(
            "apiVersion: yc-iam/v1\nkind: Fleet\nmetadata: {{ name: ai-prod }}\ndefaults: {{ folder_id: {DEFAULT_FOLDER_ID} }}\nservice_accounts:\n  - name: sa-chat\n    keys:\n      - {{ type: {kind}, output: 'lockbox://chat-key' }}\n"
        );
        Manifest::parse(&text, Path::new("fleet.yaml"), Path::new(".")).expect("a valid manifest")
    };
    apply(&entry("api-key, scopes: [yc.ai.languageModels.execute]"), &client).await;
    let account = account_named(&emu, "sa-chat");
    let old = live(&emu, &account);
    assert_eq!(old.len(), 1);

    // The type changes; the apply is killed as it reads the version it would drop the old entries from.
    let after = entry("authorized-key");
    let plan = after.plan(&client, false).await.expect("plan");
    killed_at(
        &emu,
        "/yandex.cloud.lockbox.v1.PayloadService/Get",
        plan.apply(&client, 4),
    )
    .await;
    // Another writer adds a version of its own, based on the current one: it names the old key.
    let secret_id = secret_named(&emu, "chat-key");
    let current = client.lockbox().get(&secret_id).await.unwrap().current_version.unwrap();
    let theirs = client
        .lockbox()
        .add_version(
            yc_iam::AddVersion::new(&secret_id)
                .base_version_id(&current.id)
                .description("edited by hand"),
        )
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();

    let report = after.plan(&client, false).await.expect("plan").apply(&client, 4).await;
    assert!(!report.succeeded(), "{report}");
    let (current, entries) = crate::common::payload(&client, yc_iam::SecretRef::Id(secret_id.clone())).await;
    assert_eq!(current, theirs.id);
    assert_eq!(entries.get("api-key-id").map(String::as_str), Some(old[0].as_str()));
    assert_eq!(live(&emu, &account), old, "the key the current version names is kept");
}

#[tokio::test]
async fn marking_a_key_without_scopes_leaves_it_without_scopes() {
    let (_emu, client, dir) = start().await;
    let (_, id) = account_with_yc_key(&client, "sa-bare", &[], &dir.path().join("key.yaml")).await;
    client
        .api_keys()
        .update(yc_iam::UpdateApiKey::new(&id).description("for the chat bot [yc-iam:0badf00d]"))
        .await
        .expect("the update is sent")
        .wait()
        .await
        .expect("the update is applied");
    let key = client.api_keys().get(&id).await.expect("the key");
    assert_eq!(key.description, "for the chat bot [yc-iam:0badf00d]");
    assert!(key.scopes.is_empty(), "{:?}", key.scopes);
}
