//! A fleet manifest planned and applied against the emulator: the plan reads and changes
//! nothing; applying makes exactly what it listed; a second apply makes no mutating call; edits
//! to the manifest show as updates, added and removed roles, and (with prune) deletions; and
//! nothing this fleet does not manage is touched, whatever prune says.

use std::path::Path;
use std::time::{Duration, Instant};

use futures_util::TryStreamExt as _;
use yc_iam::Client;
use yc_iam::emulator::{DEFAULT_FOLDER_ID, Emulator};
use yc_iam::fleet::{AccountState, Manifest};
use yc_iam::{CreateServiceAccount, model::ServiceAccount};

use crate::common::client_with;
use crate::provision::start;

fn manifest(body: &str) -> Manifest {
    let text = format!(
        "apiVersion: yc-iam/v1\nkind: Fleet\nmetadata: {{ name: ai-prod }}\ndefaults: {{ folder_id: {DEFAULT_FOLDER_ID} }}\nservice_accounts:\n{body}"
    );
    Manifest::parse(&text, Path::new("fleet.yaml"), Path::new(".")).expect("a valid manifest")
}

const TWO: &str = r"  - name: sa-chat
    description: chat backend
    labels: { team: ai }
    roles: [ai.languageModels.user, viewer]
  - name: sa-ci
    roles: [editor]
";

fn mutations(emu: &Emulator) -> Vec<String> {
    emu.journal()
        .iter()
        .filter(|e| {
            ["/Create", "/Update", "/Delete", "/UpdateAccessBindings"]
                .iter()
                .any(|m| e.method.ends_with(m))
        })
        .filter(|e| !e.method.contains("IamTokenService"))
        .map(|e| e.method.clone())
        .collect()
}

async fn accounts(client: &Client) -> Vec<ServiceAccount> {
    client
        .service_accounts()
        .list(DEFAULT_FOLDER_ID)
        .try_collect()
        .await
        .unwrap()
}

async fn roles_of(client: &Client, account_id: &str) -> Vec<String> {
    let bindings: Vec<_> = client
        .folders()
        .list_access_bindings(DEFAULT_FOLDER_ID)
        .try_collect()
        .await
        .unwrap();
    let mut roles: Vec<String> = bindings
        .into_iter()
        .filter(|b| b.subject.as_ref().is_some_and(|s| s.id == account_id))
        .map(|b| b.role_id)
        .collect();
    roles.sort();
    roles
}

#[tokio::test]
async fn a_fleet_plan_changes_nothing_and_applying_it_twice_changes_once() {
    let (emu, client, _dir) = start().await;
    let fleet = manifest(TWO);
    let plan = fleet.plan(&client, false).await.unwrap();
    assert!(mutations(&emu).is_empty(), "planning sends no mutating call");
    assert_eq!(plan.summary(), (2, 0, 0));
    let shown = plan.to_string();
    assert!(
        shown.contains(&format!("+ sa-chat (create in folder {DEFAULT_FOLDER_ID})")),
        "{shown}"
    );
    assert!(
        shown.contains(&format!("  + role editor on folder {DEFAULT_FOLDER_ID}")),
        "{shown}"
    );
    assert!(shown.ends_with("2 to create, 0 to change, 0 to delete."), "{shown}");

    let report = plan.apply(&client, 16).await;
    assert!(report.succeeded(), "{report}");
    let all = accounts(&client).await;
    let chat = all.iter().find(|a| a.name == "sa-chat").expect("sa-chat exists");
    assert_eq!(chat.description, "chat backend");
    assert_eq!(chat.labels["team"], "ai");
    assert_eq!(chat.labels["managed-by"], "yc-iam");
    assert_eq!(chat.labels["fleet"], "ai-prod");
    assert_eq!(roles_of(&client, &chat.id).await, ["ai.languageModels.user", "viewer"]);
    // Both accounts' roles went in one call on the folder.
    let binding_calls = mutations(&emu)
        .iter()
        .filter(|m| m.ends_with("/UpdateAccessBindings"))
        .count();
    assert_eq!(binding_calls, 1);

    let before = mutations(&emu).len();
    let again = fleet.plan(&client, true).await.unwrap();
    assert!(!again.changes(), "{again}");
    assert_eq!(
        again.to_string(),
        format!(
            "Prune looked for fleet ai-prod's accounts in folder {DEFAULT_FOLDER_ID} only: the API lists accounts by folder.\nNo changes: the cloud matches fleet ai-prod."
        )
    );
    let report = again.apply(&client, 16).await;
    assert!(report.succeeded() && !report.changed(), "{report}");
    assert_eq!(mutations(&emu).len(), before, "a second apply makes no mutating call");
}

#[tokio::test]
async fn manifest_edits_show_as_updates_role_changes_and_with_prune_a_rename_as_delete_and_create() {
    let (_emu, client, _dir) = start().await;
    applied(&manifest(TWO), &client).await;
    let edited = manifest(
        r"  - name: sa-chat
    description: chat backend v2
    labels: { team: ai }
    roles: [ai.languageModels.user]
  - name: sa-build
    roles: [editor]
",
    );
    // Without prune: the description changes, nothing is removed, sa-ci stays.
    let plan = edited.plan(&client, false).await.unwrap();
    let chat = &plan.accounts[0];
    assert!(
        matches!(&chat.state, AccountState::Update { description: Some(d), labels: None, .. } if d == "chat backend v2")
    );
    assert!(chat.roles_to_remove.is_empty());
    assert!(plan.deletions.is_empty());
    assert_eq!(plan.summary(), (1, 1, 0));

    // With prune: viewer is removed from sa-chat, and the rename is sa-ci deleted, sa-build made.
    let plan = edited.plan(&client, true).await.unwrap();
    let shown = plan.to_string();
    assert!(
        shown.contains("  ~ description \"chat backend\" → \"chat backend v2\""),
        "{shown}"
    );
    assert!(
        shown.contains(&format!("  - role viewer on folder {DEFAULT_FOLDER_ID}")),
        "{shown}"
    );
    assert!(shown.contains("+ sa-build"), "{shown}");
    assert!(shown.contains("- sa-ci ("), "{shown}");
    assert!(shown.ends_with("1 to create, 1 to change, 1 to delete."), "{shown}");
    let report = plan.apply(&client, 4).await;
    assert!(report.succeeded(), "{report}");
    let names: Vec<String> = {
        let mut n: Vec<_> = accounts(&client).await.into_iter().map(|a| a.name).collect();
        n.sort();
        n
    };
    assert_eq!(names, ["sa-build", "sa-chat"]);
    let chat = accounts(&client)
        .await
        .into_iter()
        .find(|a| a.name == "sa-chat")
        .unwrap();
    assert_eq!(roles_of(&client, &chat.id).await, ["ai.languageModels.user"]);
    assert!(!edited.plan(&client, true).await.unwrap().changes());
}

#[tokio::test]
async fn what_the_fleet_does_not_manage_is_never_touched_even_with_prune() {
    let (emu, client, _dir) = start().await;
    // Made by hand: one with the manifest's name, one the manifest does not name.
    let own = |name: &str| CreateServiceAccount::new(DEFAULT_FOLDER_ID, name);
    let twin = client
        .service_accounts()
        .create(own("sa-ci"))
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    let other = client
        .service_accounts()
        .create(own("sa-manual"))
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    let binding = yc_iam::model::AccessBinding::service_account("viewer", &other.id);
    client
        .folders()
        .update_access_bindings(DEFAULT_FOLDER_ID, vec![yc_iam::model::AccessBindingDelta::add(binding)])
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();

    let plan = manifest(TWO).plan(&client, true).await.unwrap();
    assert!(matches!(plan.accounts[1].state, AccountState::Foreign(_)));
    assert!(plan.deletions.is_empty(), "{plan}");
    assert!(plan.to_string().contains("! sa-ci ("), "{plan}");
    let before = mutations(&emu).len();
    let report = plan.apply(&client, 4).await;
    assert!(!report.succeeded());
    let failed = &report.accounts[1];
    assert_eq!(failed.name, "sa-ci");
    assert!(
        failed
            .error
            .as_ref()
            .unwrap()
            .to_string()
            .contains("not managed by fleet ai-prod"),
        "{report}"
    );
    assert!(
        report.accounts[0].error.is_none(),
        "one account's failure does not stop the others: {report}"
    );
    // sa-chat made and bound (one create, one binding call); the hand-made accounts untouched.
    assert_eq!(mutations(&emu).len() - before, 2, "{:?}", &mutations(&emu)[before..]);
    let twin_now = client.service_accounts().get(&twin.id).await.unwrap();
    assert_eq!(twin_now.labels, twin.labels);
    assert_eq!(roles_of(&client, &twin.id).await, Vec::<String>::new());
    assert_eq!(roles_of(&client, &other.id).await, ["viewer"]);
}

#[tokio::test]
async fn api_keys_reach_their_sinks_once_and_an_entry_removed_is_pruned_only_with_prune() {
    let (emu, client, dir) = start().await;
    let file = dir.path().join("chat.yaml");
    let env = dir.path().join("chat.env");
    let scope = "scopes: [yc.ai.languageModels.execute]";
    let both = manifest(&format!(
        "  - name: sa-chat\n    roles: [ai.languageModels.user]\n    keys:\n      - {{ type: api-key, {scope}, output: {} }}\n      - {{ type: api-key, {scope}, expires_in: 90d, output: 'env:{}' }}\n",
        file.display(),
        env.display()
    ));
    let plan = both.plan(&client, true).await.unwrap();
    let shown = plan.to_string();
    assert!(
        shown.contains(&format!("  + key api-key → {} (no key file yet)", file.display())),
        "{shown}"
    );
    assert!(
        shown.contains(&format!(
            "  + key api-key → env:{} (the output holds no key yet)",
            env.display()
        )),
        "{shown}"
    );
    let report = plan.apply(&client, 16).await;
    assert!(report.succeeded(), "{report}");

    let in_file = yc_iam::provision::StoredKey::read(&file)
        .unwrap()
        .expect("the key file is written");
    let env_text = std::fs::read_to_string(&env).unwrap();
    let env_key_id = env_text
        .lines()
        .find_map(|l| l.strip_prefix("YC_API_KEY_ID="))
        .expect("the dotenv file names its key")
        .to_owned();
    let account = accounts(&client)
        .await
        .into_iter()
        .find(|a| a.name == "sa-chat")
        .unwrap();
    let live: Vec<_> = client.api_keys().list(&account.id).try_collect().await.unwrap();
    let mut live_ids: Vec<&str> = live.iter().map(|k| k.id.as_str()).collect();
    live_ids.sort();
    let mut held = vec![in_file.id.as_str(), env_key_id.as_str()];
    held.sort();
    assert_eq!(live_ids, held, "exactly one live key per sink, the one it holds");
    assert!(
        live.iter().all(|k| k.description.starts_with("fleet ai-prod [yc-iam:")),
        "{live:?}"
    );

    let before = mutations(&emu).len();
    let again = both.plan(&client, true).await.unwrap();
    assert!(!again.changes(), "{again}");
    assert!(again.apply(&client, 16).await.succeeded());
    assert_eq!(mutations(&emu).len(), before, "kept keys make no call");

    // A key someone described by hand in the fleet's words, without a marker, is not the fleet's.
    let by_hand = client
        .api_keys()
        .create(yc_iam::CreateApiKey::new(&account.id).description("fleet ai-prod: made by hand"))
        .await
        .unwrap()
        .api_key
        .id;

    let one = manifest(&format!(
        "  - name: sa-chat\n    roles: [ai.languageModels.user]\n    keys:\n      - {{ type: api-key, {scope}, output: {} }}\n",
        file.display()
    ));
    assert!(
        !one.plan(&client, false).await.unwrap().changes(),
        "without prune the key stays"
    );
    let plan = one.plan(&client, true).await.unwrap();
    let pruned: Vec<&str> = plan.accounts[0].keys_to_prune.iter().map(|k| k.id.as_str()).collect();
    assert_eq!(pruned, [env_key_id.as_str()]);
    assert!(plan.to_string().contains(&format!(
        "  - api-key {env_key_id} (its sink is no longer in the manifest)"
    )));
    assert!(plan.apply(&client, 16).await.succeeded());
    let live: Vec<_> = client.api_keys().list(&account.id).try_collect().await.unwrap();
    let mut live: Vec<&str> = live.iter().map(|k| k.id.as_str()).collect();
    live.sort();
    let mut kept = vec![in_file.id.as_str(), by_hand.as_str()];
    kept.sort();
    assert_eq!(live, kept, "the file's key and the hand-made one stay");
}

#[tokio::test]
async fn a_key_older_than_rotate_after_is_replaced_and_the_old_one_deleted() {
    let (emu, client, dir) = start().await;
    let file = dir.path().join("chat.yaml");
    let fleet = manifest(&format!(
        "  - name: sa-chat\n    keys: [{{ type: api-key, scopes: [yc.ai.languageModels.execute], rotate_after: 60d, output: {} }}]\n",
        file.display()
    ));
    // The key is made 61 days ago: the emulator's clock is set back while it is made.
    let now = time::OffsetDateTime::now_utc();
    emu.set_now(now - time::Duration::days(61));
    applied(&fleet, &client).await;
    let old = yc_iam::provision::StoredKey::read(&file).unwrap().unwrap().id;
    emu.set_now(now);

    let plan = fleet.plan(&client, false).await.unwrap();
    let shown = plan.to_string();
    assert!(
        shown.contains(&format!("  ↻ rotate key {old} → {} (age 61d > 60d)", file.display())),
        "{shown}"
    );
    let report = plan.apply(&client, 4).await;
    assert!(report.succeeded(), "{report}");
    let new = yc_iam::provision::StoredKey::read(&file).unwrap().unwrap().id;
    assert_ne!(new, old);
    let account = accounts(&client)
        .await
        .into_iter()
        .find(|a| a.name == "sa-chat")
        .unwrap();
    let live: Vec<_> = client.api_keys().list(&account.id).try_collect().await.unwrap();
    assert_eq!(live.iter().map(|k| k.id.as_str()).collect::<Vec<_>>(), [new.as_str()]);
    assert!(
        !fleet.plan(&client, false).await.unwrap().changes(),
        "a young key is kept"
    );
}

/// Plans (without prune) and applies `fleet`, which must succeed.
async fn applied(fleet: &Manifest, client: &Client) {
    let report = fleet.plan(client, false).await.unwrap().apply(client, 4).await;
    assert!(report.succeeded(), "{report}");
}

async fn account_id(client: &Client, name: &str) -> String {
    accounts(client)
        .await
        .into_iter()
        .find(|a| a.name == name)
        .expect("the account exists")
        .id
}

async fn api_key_ids(client: &Client, account_id: &str) -> Vec<String> {
    let live: Vec<_> = client.api_keys().list(account_id).try_collect().await.unwrap();
    let mut ids: Vec<String> = live.into_iter().map(|k| k.id).collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn a_key_marked_for_a_fleet_sink_without_the_fleet_tag_is_reported_and_never_deleted() {
    let (emu, client, dir) = start().await;
    let env = dir.path().join("chat.env");
    let fleet = manifest(&format!(
        "  - name: sa-chat\n    keys: [{{ type: api-key, scopes: [yc.ai.languageModels.execute], output: 'env:{}' }}]\n",
        env.display()
    ));
    applied(&fleet, &client).await;
    let account = account_id(&client, "sa-chat").await;
    let held = api_key_ids(&client, &account).await;
    let live: Vec<_> = client.api_keys().list(&account).try_collect().await.unwrap();
    let description = &live[0].description;
    let marker = &description[description.rfind("[yc-iam:").expect("a marker")..];
    // Keys a killed run left for the same sink: one of a `provision` run (no fleet tag), one of
    // this fleet.
    let made = |description: String| {
        let client = client.clone();
        let account = account.clone();
        async move {
            client
                .api_keys()
                .create(yc_iam::CreateApiKey::new(&account).description(description))
                .await
                .unwrap()
                .api_key
                .id
        }
    };
    let theirs = made(format!("chat bot {marker}")).await;
    let ours = made(format!("fleet ai-prod {marker}")).await;

    let plan = fleet.plan(&client, true).await.unwrap();
    let key = &plan.accounts[0].keys[0];
    assert_eq!(key.leftovers, [ours.as_str()]);
    assert_eq!(key.left_alone, [theirs.as_str()]);
    let line = format!(
        "  ! key {theirs} carries the marker of env:{} without fleet ai-prod's tag: not this fleet's, left alone",
        env.display()
    );
    assert!(plan.to_string().contains(&line), "{plan}");
    let report = plan.apply(&client, 4).await;
    assert!(report.succeeded(), "{report}");
    assert_eq!(
        report.accounts[0].left_alone,
        [format!("key {theirs} (env:{})", env.display())]
    );
    assert!(
        report.to_string().contains(&format!("  ! key {theirs} (env:")),
        "{report}"
    );
    let mut expected = vec![held[0].clone(), theirs.clone()];
    expected.sort();
    assert_eq!(
        api_key_ids(&client, &account).await,
        expected,
        "the fleet's leftover is deleted, the other kept"
    );

    let before = mutations(&emu).len();
    let again = fleet.plan(&client, true).await.unwrap();
    assert!(!again.changes(), "{again}");
    assert_eq!(again.accounts[0].keys[0].left_alone, [theirs]);
    assert!(again.apply(&client, 4).await.succeeded());
    assert_eq!(mutations(&emu).len(), before, "nothing more is deleted");
}

#[tokio::test]
async fn a_lockbox_secret_named_by_name_in_one_entry_and_by_id_in_another_is_refused_as_one_sink() {
    let (emu, client, _dir) = start().await;
    let by_name = "  - name: sa-chat\n    keys: [{ type: api-key, scopes: [yc.ai.languageModels.execute], output: 'lockbox://chat-key' }]\n";
    applied(&manifest(by_name), &client).await;
    let secret = client
        .lockbox()
        .find_by_name(DEFAULT_FOLDER_ID, "chat-key")
        .await
        .unwrap()
        .expect("the secret is made")
        .id;
    let both = manifest(&format!(
        "{by_name}  - name: sa-s3\n    keys: [{{ type: static-key, output: 'lockbox://{secret}' }}]\n"
    ));
    let before = mutations(&emu).len();
    let error = both.plan(&client, false).await.expect_err("one secret, two entries");
    assert!(error.is_invalid_input(), "{error}");
    assert!(
        error.to_string().contains(&format!(
            "service_accounts[1].keys[0].output: lockbox://{secret} is Lockbox secret {secret}, which service_accounts[0].keys[0] already keeps its key in as lockbox://chat-key: one key per sink"
        )),
        "{error}"
    );
    assert_eq!(mutations(&emu).len(), before, "nothing is changed");
}

#[tokio::test]
async fn a_key_whose_type_changes_is_replaced_by_the_new_kind_in_its_sink_and_the_old_kind_deleted() {
    let (emu, client, dir) = start().await;
    let env = dir.path().join("chat.env");
    let (yaml, s3) = (dir.path().join("chat.yaml"), dir.path().join("chat-s3.env"));
    let api_key =
        |output: String| format!("{{ type: api-key, scopes: [yc.ai.languageModels.execute], output: '{output}' }}");
    let entries = |keys: &[String]| manifest(&format!("  - name: sa-chat\n    keys: [{}]\n", keys.join(", ")));
    let before = entries(&[
        api_key(format!("env:{}", env.display())),
        api_key(yaml.display().to_string()),
    ]);
    applied(&before, &client).await;
    let account = account_id(&client, "sa-chat").await;
    let old = api_key_ids(&client, &account).await;
    assert_eq!(old.len(), 2);

    // The dotenv file's entry becomes a static key on the same output; the key file's entry a
    // static key in another file (so the old file is a sink no longer listed: pruned).
    let after = entries(&[
        format!("{{ type: static-key, output: 'env:{}' }}", env.display()),
        format!("{{ type: static-key, output: 'env:{}' }}", s3.display()),
    ]);
    let plan = after.plan(&client, true).await.unwrap();
    let shown = plan.to_string();
    let in_env = env_value(&env, "YC_API_KEY_ID");
    let in_yaml = yc_iam::provision::StoredKey::read(&yaml).unwrap().unwrap().id;
    for line in [
        format!(
            "  + key static-key → env:{} (the output holds no key yet)",
            env.display()
        ),
        format!(
            "  - api-key {in_env} (the type of env:{} changed to static-key)",
            env.display()
        ),
        format!(
            "  + key static-key → env:{} (the output holds no key yet)",
            s3.display()
        ),
        format!("  - api-key {in_yaml} (its sink is no longer in the manifest)"),
    ] {
        assert!(shown.contains(&line), "{line}\n{shown}");
    }
    assert_eq!(plan.summary(), (0, 1, 0));
    let report = plan.apply(&client, 4).await;
    assert!(report.succeeded(), "{report}");

    assert_eq!(
        api_key_ids(&client, &account).await,
        Vec::<String>::new(),
        "the API keys are gone"
    );
    let snap = emu.snapshot();
    let mut live: Vec<&str> = snap
        .access_keys_of(&account)
        .iter()
        .map(|k| k.key_id.as_str())
        .collect();
    live.sort();
    let mut held = vec![
        env_value(&env, "AWS_ACCESS_KEY_ID"),
        env_value(&s3, "AWS_ACCESS_KEY_ID"),
    ];
    held.sort();
    assert_eq!(live, held, "one static key per sink, the one it holds");

    let calls = mutations(&emu).len();
    let again = after.plan(&client, true).await.unwrap();
    assert!(!again.changes(), "{again}");
    assert!(again.apply(&client, 4).await.succeeded());
    assert_eq!(mutations(&emu).len(), calls, "a second apply changes nothing");
}

#[tokio::test]
async fn a_type_change_cut_short_before_the_old_kind_was_deleted_is_finished_by_the_next_apply() {
    let (emu, client, dir) = start().await;
    let env = dir.path().join("chat.env");
    let entry = |kind: &str| {
        manifest(&format!(
            "  - name: sa-chat\n    keys: [{{ type: {kind}, output: 'env:{}' }}]\n",
            env.display()
        ))
    };
    applied(&entry("api-key, scopes: [yc.ai.languageModels.execute]"), &client).await;
    let account = account_id(&client, "sa-chat").await;
    assert_eq!(api_key_ids(&client, &account).await.len(), 1);

    // The new kind reaches the file, and the old kind's key is not deleted: as if killed there.
    let after = entry("static-key");
    emu.set_fault(
        "/yandex.cloud.iam.v1.ApiKeyService/Delete",
        yc_iam::emulator::Fault::FailOperation {
            code: tonic::Code::Internal,
        },
    );
    let cut_short = after.plan(&client, false).await.unwrap().apply(&client, 4).await;
    assert!(!cut_short.succeeded(), "{cut_short}");
    assert_eq!(
        api_key_ids(&client, &account).await.len(),
        1,
        "the old kind is still live"
    );
    emu.clear_faults();

    let rerun = after.plan(&client, false).await.unwrap();
    assert!(rerun.changes(), "the old kind's key is found again: {rerun}");
    let report = rerun.apply(&client, 4).await;
    assert!(report.succeeded(), "{report}");
    assert_eq!(api_key_ids(&client, &account).await, Vec::<String>::new());
    let live: Vec<String> = emu
        .snapshot()
        .access_keys_of(&account)
        .iter()
        .map(|k| k.key_id.clone())
        .collect();
    assert_eq!(live, vec![env_value(&env, "AWS_ACCESS_KEY_ID")]);
    assert!(!after.plan(&client, false).await.unwrap().changes());
}

/// The `List` calls the emulator has journaled, counted by service (`ApiKeyService`…).
fn lists(emu: &Emulator) -> std::collections::BTreeMap<String, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for entry in emu.journal() {
        if let Some(service) = entry.method.strip_suffix("/List") {
            let service = service.rsplit('.').next().unwrap_or(service).to_owned();
            *counts.entry(service).or_insert(0) += 1;
        }
    }
    counts
}

#[tokio::test]
async fn a_no_op_plan_lists_each_accounts_keys_once_per_kind_however_many_entries_it_has() {
    const N: usize = 5;
    let (emu, client, dir) = start().await;
    let body: String = (0..N)
        .map(|i| {
            let (file, env) = (dir.path().join(format!("sa-{i}.yaml")), dir.path().join(format!("sa-{i}.env")));
            format!(
                "  - name: sa-fleet-{i}\n    keys:\n      - {{ type: api-key, scopes: [yc.ai.languageModels.execute], output: {} }}\n      - {{ type: static-key, output: 'env:{}' }}\n",
                file.display(),
                env.display()
            )
        })
        .collect();
    let fleet = manifest(&body);
    applied(&fleet, &client).await;
    for prune in [false, true] {
        emu.clear_journal();
        let plan = fleet.plan(&client, prune).await.unwrap();
        assert!(!plan.changes(), "{plan}");
        // The folder's accounts once; then each account's keys once per kind, shared by its two
        // entries, their other-kind keys and leftovers, and prune.
        let expected = [
            ("AccessKeyService", N),
            ("ApiKeyService", N),
            ("KeyService", N),
            ("ServiceAccountService", 1),
        ]
        .map(|(service, n)| (service.to_owned(), n));
        assert_eq!(lists(&emu), expected.into(), "prune: {prune}");
    }
}

/// The value of `name` in a dotenv file.
fn env_value(path: &Path, name: &str) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("{name} in {}", path.display()))
        .to_owned()
}

#[tokio::test]
async fn apply_reports_each_phase_step_by_step_to_its_observer() {
    use std::sync::Mutex;
    use yc_iam::fleet::{Phase, Step};
    let (_emu, client, dir) = start().await;
    let file = dir.path().join("ci.yaml");
    let fleet = manifest(&format!(
        "{TWO}    keys: [{{ type: api-key, scopes: [yc.ai.languageModels.execute], output: {} }}]\n",
        file.display()
    ));
    let steps: Mutex<Vec<Step>> = Mutex::new(Vec::new());
    let observe = |step: Step| steps.lock().unwrap().push(step);
    let report = fleet
        .plan(&client, false)
        .await
        .unwrap()
        .apply_with(&client, 4, &observe)
        .await;
    assert!(report.succeeded(), "{report}");
    let steps = steps.into_inner().unwrap();
    // Per phase, in order: the start (0 done), then one report per step up to the total.
    let mut phases: Vec<(Phase, usize)> = Vec::new();
    for step in &steps {
        match phases.last() {
            Some((phase, _)) if *phase == step.phase => {}
            _ => {
                assert_eq!(step.done, 0, "a phase starts at 0: {steps:?}");
                phases.push((step.phase, step.total));
            }
        }
    }
    assert_eq!(
        phases,
        [
            (Phase::Accounts, 2),
            (Phase::Bindings, 1),
            (Phase::Keys, 1),
            (Phase::Deletions, 0)
        ]
    );
    for (phase, total) in phases {
        let done: Vec<usize> = steps.iter().filter(|s| s.phase == phase).map(|s| s.done).collect();
        assert_eq!(done, (0..=total).collect::<Vec<_>>(), "{phase:?}");
    }

    // Pruning an account: the call removing its binding and its deletion are counted.
    let steps: Mutex<Vec<Step>> = Mutex::new(Vec::new());
    let observe = |step: Step| steps.lock().unwrap().push(step);
    let one = manifest(
        "  - name: sa-chat\n    description: chat backend\n    labels: { team: ai }\n    roles: [ai.languageModels.user, viewer]\n",
    );
    let report = one
        .plan(&client, true)
        .await
        .unwrap()
        .apply_with(&client, 4, &observe)
        .await;
    assert!(report.succeeded(), "{report}");
    let last = |phase: Phase| steps.lock().unwrap().iter().rev().find(|s| s.phase == phase).copied();
    assert_eq!(last(Phase::Accounts).map(|s| (s.done, s.total)), Some((0, 0)));
    assert_eq!(last(Phase::Bindings).map(|s| (s.done, s.total)), Some((1, 1)));
    assert_eq!(
        last(Phase::Deletions).map(|s| (s.done, s.total)),
        Some((1, 1)),
        "sa-ci deleted"
    );
}

#[tokio::test]
async fn prune_finds_the_fleets_accounts_in_the_default_folder_even_when_no_account_is_left_there() {
    const OTHER: &str = "b1gother000000000000";
    let emu = Emulator::builder()
        .with_folder(DEFAULT_FOLDER_ID)
        .with_folder(OTHER)
        .start()
        .await
        .unwrap();
    let client = client_with(
        &emu,
        yc_iam::Credentials::iam_token(yc_iam::emulator::DEFAULT_IAM_TOKEN),
    );
    let moved = format!("  - {{ name: sa-new, folder_id: {OTHER}, roles: [viewer] }}\n");
    applied(
        &manifest(&format!("  - {{ name: sa-old, roles: [viewer] }}\n{moved}")),
        &client,
    )
    .await;

    // No account of the manifest is left in the default folder: prune still reads it.
    let plan = manifest(&moved).plan(&client, true).await.unwrap();
    assert_eq!(plan.prune_folders, [DEFAULT_FOLDER_ID, OTHER]);
    let names: Vec<&str> = plan.deletions.iter().map(|d| d.account.name.as_str()).collect();
    assert_eq!(names, ["sa-old"]);
    let shown = plan.to_string();
    let note = format!(
        "Prune looked for fleet ai-prod's accounts in folder {DEFAULT_FOLDER_ID}, {OTHER} only: the API lists accounts by folder.\n"
    );
    assert!(shown.contains(&note), "{shown}");

    // A folder the manifest does not name at all is not read, and the plan says which were.
    let elsewhere = Manifest::parse(
        &format!("apiVersion: yc-iam/v1\nkind: Fleet\nmetadata: {{ name: ai-prod }}\nservice_accounts:\n{moved}"),
        Path::new("fleet.yaml"),
        Path::new("."),
    )
    .unwrap();
    let plan = elsewhere.plan(&client, true).await.unwrap();
    assert_eq!(plan.prune_folders, [OTHER]);
    assert!(plan.deletions.is_empty(), "{plan}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_reads_an_accounts_many_key_entries_a_bounded_number_at_a_time() {
    const ENTRIES: usize = 40;
    const IN_FLIGHT: usize = 16;
    const GET_EX: &str = "/yandex.cloud.lockbox.v1.PayloadService/GetEx";
    let (emu, client, _dir) = start().await;
    applied(&manifest("  - name: sa-many\n"), &client).await;
    let entries: String = (0..ENTRIES)
        .map(|i| {
            format!(
                "      - {{ type: api-key, scopes: [yc.ai.languageModels.execute], output: 'lockbox://many-{i}' }}\n"
            )
        })
        .collect();
    let fleet = manifest(&format!("  - name: sa-many\n    keys:\n{entries}"));
    // Each entry's first read is its secret's payload; none is answered for a while.
    emu.set_fault(GET_EX, yc_iam::emulator::Fault::Delay(Duration::from_secs(3)));
    emu.clear_journal();
    let plan = tokio::spawn({
        let client = client.clone();
        async move { fleet.plan(&client, false).await }
    });
    let started = || emu.journal().iter().filter(|e| e.method == GET_EX).count();
    let waiting = Instant::now();
    while started() < IN_FLIGHT && waiting.elapsed() < Duration::from_secs(2) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Time for any read past the bound to arrive, while the first ones are still held.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(started(), IN_FLIGHT, "entry reads in flight at once");
    emu.clear_faults();
    let plan = plan.await.unwrap().expect("the plan");
    assert_eq!(plan.accounts[0].keys.len(), ENTRIES);
}
