//! Rotation by policy through the library, on an emulator whose clock is 100 days on: exactly the
//! managed keys older than 90 days rotate (keys without a marker, young keys and keys whose file
//! was not given are left), each sink holds a new key that authenticates, the old keys stay until
//! the grace has passed and the run after deletes them; a dry run changes nothing, and a run
//! interrupted after making a key is finished by the next.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use yc_iam::emulator::{DEFAULT_FOLDER_ID, DEFAULT_IAM_TOKEN, Emulator, Fault};
use yc_iam::provision::{KeySink, KeyType, LockboxSink, Provision, SinkAddress, StoredKey};
use yc_iam::rotate::{Action, Reason, Rotation, Select};
use yc_iam::{AuthorizedKey, Client, CreateApiKey, Credentials, ExposeSecret, RetryPolicy, SecretRef};

use crate::common::{authenticates, client_with, created, dotenv, payload};
use crate::provision::start;

const DAY: Duration = Duration::from_secs(86_400);
const HOUR: Duration = Duration::from_secs(3600);

fn live(emu: &Emulator, account: &str) -> Vec<String> {
    let snap = emu.snapshot();
    let mut ids: Vec<String> = snap
        .live_keys_of(account)
        .iter()
        .map(|k| k.id.clone())
        .chain(snap.authorized_keys_of(account).iter().map(|k| k.id.clone()))
        .chain(snap.access_keys_of(account).iter().map(|k| k.id.clone()))
        .collect();
    ids.sort();
    ids
}

/// Every key id with its action and reason.
fn decisions(entries: &[yc_iam::rotate::Entry]) -> BTreeMap<String, (Action, Reason)> {
    entries
        .iter()
        .map(|e| (e.key.id.clone(), (e.action, e.reason.clone())))
        .collect()
}

fn mutations(emu: &Emulator) -> Vec<String> {
    emu.journal()
        .into_iter()
        .map(|e| e.method)
        .filter(|m| {
            ["/Create", "/Delete", "/AddVersion", "/ScheduleVersionDestruction"]
                .iter()
                .any(|c| m.ends_with(c))
                && !m.contains("IamTokenService")
        })
        .collect()
}

#[tokio::test]
async fn rotate_older_than_90d_replaces_exactly_the_old_managed_keys_and_deletes_them_after_the_grace() {
    let (emu, client, dir) = start().await;
    let (file, json, env, lost) = (
        dir.path().join("api-key.yaml"),
        dir.path().join("key.json"),
        dir.path().join(".env"),
        dir.path().join("lost.yaml"),
    );
    let provision =
        |name: &str, kind: KeyType, sink: KeySink| Provision::new(DEFAULT_FOLDER_ID, name).key_type(kind).output(sink);
    // Four managed keys of the three kinds in four sinks, one whose file will not be given, and a
    // hand-made key without a marker.
    let (old_file, sa_file) = created(
        &provision("sa-file", KeyType::ApiKey, KeySink::File(file.clone()))
            .run(&client)
            .await
            .unwrap(),
    );
    let (old_json, sa_json) = created(
        &provision("sa-json", KeyType::AuthorizedKey, KeySink::File(json.clone()))
            .run(&client)
            .await
            .unwrap(),
    );
    let (old_env, sa_env) = created(
        &provision("sa-env", KeyType::ApiKey, KeySink::env(&env))
            .run(&client)
            .await
            .unwrap(),
    );
    let boxed = provision(
        "sa-box",
        KeyType::StaticKey,
        KeySink::Lockbox(LockboxSink::new("ci-s3")),
    )
    .run(&client)
    .await
    .unwrap();
    let secret_id = boxed.lockbox.clone().expect("lockbox").secret_id;
    let (old_box, sa_box) = created(&boxed);
    let (old_lost, _) = created(
        &provision("sa-lost", KeyType::ApiKey, KeySink::File(lost.clone()))
            .run(&client)
            .await
            .unwrap(),
    );
    let unmarked = client
        .api_keys()
        .create(
            CreateApiKey::new(&sa_file)
                .scopes(["yc.ai.languageModels.execute"])
                .description("by hand"),
        )
        .await
        .expect("hand-made key")
        .api_key
        .id;
    emu.advance(100 * DAY);
    let young_file = dir.path().join("young.yaml");
    let (young, _) = created(
        &provision("sa-young", KeyType::ApiKey, KeySink::File(young_file.clone()))
            .run(&client)
            .await
            .unwrap(),
    );

    let rotation = |now| {
        Rotation::new(DEFAULT_FOLDER_ID, Select::OlderThan(90 * DAY))
            .sink(SinkAddress::File(file.clone()))
            .sink(SinkAddress::File(json.clone()))
            .sink(SinkAddress::Env(env.clone()))
            .sink(SinkAddress::File(young_file.clone()))
            .at(now)
    };
    let before_file = std::fs::read(&file).unwrap();

    // A dry run: the plan, and nothing changed.
    emu.clear_journal();
    let plan = rotation(emu.now()).plan(&client).await.expect("plan");
    let old = Reason::OlderThan(90 * DAY);
    let expected = BTreeMap::from([
        (old_file.clone(), (Action::Rotate, old.clone())),
        (old_json.clone(), (Action::Rotate, old.clone())),
        (old_env.clone(), (Action::Rotate, old.clone())),
        (old_box.clone(), (Action::Rotate, old.clone())),
        (old_lost.clone(), (Action::Leave, Reason::SinkNotGiven)),
        (unmarked.clone(), (Action::Leave, Reason::NotManaged)),
        (young.clone(), (Action::Leave, Reason::Young(90 * DAY))),
    ]);
    assert_eq!(decisions(&plan.entries), expected);
    assert!(
        mutations(&emu).is_empty(),
        "a plan changes nothing: {:?}",
        mutations(&emu)
    );
    assert_eq!(std::fs::read(&file).unwrap(), before_file);

    // The run: a new key in each sink; every old key still there.
    let report = plan.apply(&client).await;
    assert!(!report.failed(), "{:?}", report.entries);
    let rotated: BTreeMap<String, String> = report
        .with_action(Action::Rotate)
        .map(|e| {
            let due = e.deletion_due.expect("deletion due");
            assert!(
                due >= report.now + 24 * HOUR - Duration::from_secs(60),
                "{due} after {}",
                report.now
            );
            (e.key.id.clone(), e.new_key_id.clone().expect("new key"))
        })
        .collect();
    assert_eq!(rotated.len(), 4);
    let stored = StoredKey::read(&file).unwrap().expect("key file");
    assert_eq!(stored.id, rotated[&old_file]);
    authenticates(&emu, stored.secret.expose_secret(), &sa_file).await;
    let authorized = AuthorizedKey::from_file(&json).expect("key.json");
    assert_eq!(authorized.id(), rotated[&old_json]);
    let as_json = client_with(&emu, Credentials::authorized_key(authorized));
    as_json
        .service_accounts()
        .get(&sa_json)
        .await
        .expect("the new key.json works");
    let vars: BTreeMap<_, _> = dotenv(&env).into_iter().collect();
    assert_eq!(vars["YC_API_KEY_ID"], rotated[&old_env]);
    authenticates(&emu, &vars["YC_API_KEY"], &sa_env).await;
    let entries = payload(&client, SecretRef::Id(secret_id.clone())).await.1;
    let snap = emu.snapshot();
    let new_static = snap
        .access_keys_of(&sa_box)
        .into_iter()
        .find(|k| k.id == rotated[&old_box])
        .expect("the new static key");
    assert_eq!(entries["access-key-id"], new_static.key_id);
    assert!(emu.accepts_access_key(&entries["access-key-id"], &entries["secret-access-key"]));
    for (account, old) in [
        (&sa_file, &old_file),
        (&sa_json, &old_json),
        (&sa_env, &old_env),
        (&sa_box, &old_box),
    ] {
        assert!(live(&emu, account).contains(old), "{old} stays during the grace");
    }

    // Within the grace: nothing new, the deletions pending.
    emu.advance(12 * HOUR);
    emu.clear_journal();
    let waiting = rotation(emu.now()).run(&client).await.expect("run in the grace");
    assert!(mutations(&emu).is_empty(), "{:?}", mutations(&emu));
    for old in [&old_file, &old_json, &old_env, &old_box] {
        let e = waiting.entries.iter().find(|e| e.key.id == **old).expect("entry");
        assert_eq!(e.action, Action::Wait, "{e:?}");
        assert_eq!(
            e.reason,
            Reason::Replaced {
                by: rotated[old].clone()
            }
        );
    }

    // After the grace: the old keys go, nothing else.
    emu.advance(13 * HOUR);
    let after = rotation(emu.now()).run(&client).await.expect("run after the grace");
    let deleted: Vec<&str> = after.with_action(Action::Delete).map(|e| e.key.id.as_str()).collect();
    assert_eq!(deleted.len(), 4, "{deleted:?}");
    assert_eq!(live(&emu, &sa_file), {
        let mut ids = vec![rotated[&old_file].clone(), unmarked.clone()];
        ids.sort();
        ids
    });
    assert_eq!(live(&emu, &sa_json), vec![rotated[&old_json].clone()]);
    assert_eq!(live(&emu, &sa_env), vec![rotated[&old_env].clone()]);
    assert_eq!(live(&emu, &sa_box), vec![rotated[&old_box].clone()]);
    let young_owner = emu
        .snapshot()
        .service_account_named("sa-young")
        .expect("sa-young")
        .id
        .clone();
    assert_eq!(live(&emu, &young_owner), vec![young]);
    assert!(
        !rotation(emu.now()).plan(&client).await.unwrap().changes(),
        "then nothing is left to do"
    );
}

#[tokio::test]
async fn a_rotation_interrupted_after_making_its_key_is_finished_by_the_next_run() {
    let (emu, client, _dir) = start().await;
    let p = Provision::new(DEFAULT_FOLDER_ID, "sa-cut").output(KeySink::Lockbox(LockboxSink::new("cut")));
    let first = p.run(&client).await.expect("provision");
    let (old, account) = created(&first);
    let secret_id = first.lockbox.clone().expect("lockbox").secret_id;
    emu.advance(100 * DAY);

    // The new key is made, but its version never reaches the secret.
    emu.set_fault(
        "/yandex.cloud.lockbox.v1.SecretService/AddVersion",
        Fault::FailFirst {
            n: 1,
            code: tonic::Code::Unavailable,
        },
    );
    let impatient = Client::builder()
        .with_endpoint(emu.endpoint())
        .with_credentials(Credentials::iam_token(DEFAULT_IAM_TOKEN))
        .with_retry(RetryPolicy::disabled())
        .build()
        .unwrap();
    let rotation = || Rotation::new(DEFAULT_FOLDER_ID, Select::OlderThan(90 * DAY)).at(emu.now());
    let cut = rotation().run(&impatient).await.expect("planned");
    assert!(cut.failed());
    assert_eq!(
        payload(&client, SecretRef::Id(secret_id.clone())).await.1["api-key-id"],
        old,
        "the secret still holds the old key"
    );
    let live_after_cut = live(&emu, &account);
    assert_eq!(
        live_after_cut.len(),
        2,
        "the old key and the one that never reached the secret"
    );

    emu.clear_faults();
    let rerun = rotation().run(&client).await.expect("rerun");
    assert!(!rerun.failed(), "{:?}", rerun.entries);
    let d = decisions(&rerun.entries);
    let leftover = live_after_cut.iter().find(|id| **id != old).expect("leftover");
    assert_eq!(d[leftover], (Action::Delete, Reason::Leftover { held: old.clone() }));
    assert_eq!(d[&old], (Action::Rotate, Reason::OlderThan(90 * DAY)));
    let new = rerun
        .entries
        .iter()
        .find_map(|e| e.new_key_id.clone())
        .expect("new key");
    assert_eq!(
        payload(&client, SecretRef::Id(secret_id.clone())).await.1["api-key-id"],
        new
    );
    let mut expected = vec![old, new];
    expected.sort();
    assert_eq!(
        live(&emu, &account),
        expected,
        "the old key waits for the grace; the leftover is gone"
    );
}

#[tokio::test]
async fn a_rotated_key_keeps_its_scopes_lifetime_and_the_manifest_keeps_its_secret_name() {
    let (emu, client, dir) = start().await;
    let manifest = dir.path().join("secret.yaml");
    let sink = KeySink::K8s {
        path: manifest.clone(),
        secret_name: Some("app-credentials".into()),
        entries: yc_iam::provision::EntryNames::env(),
    };
    let scopes = ["yc.ai.languageModels.execute", "yc.ai.foundationModels.execute"];
    let made = Provision::new(DEFAULT_FOLDER_ID, "sa-k8s")
        .scopes(scopes)
        .expires_at(emu.now() + 120 * DAY)
        .output(sink)
        .run(&client)
        .await
        .expect("provision");
    let (old, account) = created(&made);
    emu.advance(100 * DAY);

    let report = Rotation::new(DEFAULT_FOLDER_ID, Select::ExpiringWithin(30 * DAY))
        .account("sa-k8s")
        .sink(SinkAddress::K8s(manifest.clone()))
        .at(emu.now())
        .clock(emu.now())
        .run(&client)
        .await
        .expect("rotation");
    let d = decisions(&report.entries);
    assert_eq!(d[&old], (Action::Rotate, Reason::ExpiringWithin(30 * DAY)));
    let new = report.entries[0].new_key_id.clone().expect("new key");
    let key = client.api_keys().get(&new).await.expect("the new key");
    let mut got = key.scopes.clone();
    got.sort();
    let mut want: Vec<String> = scopes.iter().map(|s| (*s).to_owned()).collect();
    want.sort();
    assert_eq!(got, want, "the same scopes");
    let expires = yc_iam::model::from_timestamp(key.expires_at.as_ref().expect("an expiry")).unwrap();
    let lifetime = expires - yc_iam::model::from_timestamp(key.created_at.as_ref().unwrap()).unwrap();
    assert!(
        (lifetime - time::Duration::days(120)).abs() < time::Duration::minutes(1),
        "{lifetime}"
    );
    let doc: serde_json::Value = serde_norway::from_str(&std::fs::read_to_string(&manifest).unwrap()).unwrap();
    assert_eq!(doc["metadata"]["name"], "app-credentials");
    assert_eq!(doc["stringData"]["YC_API_KEY_ID"], new.as_str());
    authenticates(&emu, doc["stringData"]["YC_API_KEY"].as_str().unwrap(), &account).await;
}

#[tokio::test]
async fn a_lost_create_answer_right_after_provisioning_keeps_the_key_the_file_holds() {
    let (emu, client, dir) = start().await;
    let file = dir.path().join("fresh.yaml");
    let made = Provision::new(DEFAULT_FOLDER_ID, "sa-fresh")
        .output(KeySink::File(file.clone()))
        .run(&client)
        .await
        .expect("provision");
    let (old, account) = created(&made);

    // A moment later, before the clock moves: the new key's answer is lost once, the retry gets
    // the same key, and the reconciliation looks for keys made around the call.
    emu.set_fault(
        "/yandex.cloud.iam.v1.ApiKeyService/Create",
        Fault::DropResponseAfterApply { n: 1 },
    );
    let report = Rotation::new(DEFAULT_FOLDER_ID, Select::AllKeys)
        .account("sa-fresh")
        .sink(SinkAddress::File(file.clone()))
        .at(emu.now())
        .run(&client)
        .await
        .expect("rotation");
    assert!(!report.failed(), "{:?}", report.entries);
    let new = report.entries[0].new_key_id.clone().expect("new key");
    assert_eq!(StoredKey::read(&file).unwrap().expect("key file").id, new);
    let mut expected = vec![old, new];
    expected.sort();
    assert_eq!(
        live(&emu, &account),
        expected,
        "the key the file held before stays for the grace; only the new key is added"
    );
}

#[tokio::test]
async fn a_lockbox_sink_that_cannot_be_read_fails_its_key_and_the_others_still_rotate() {
    let (emu, client, dir) = start().await;
    let boxed = Provision::new(DEFAULT_FOLDER_ID, "sa-denied")
        .output(KeySink::Lockbox(LockboxSink::new("denied")))
        .run(&client)
        .await
        .expect("provision into Lockbox");
    let (in_box, boxed_account) = created(&boxed);
    let file = dir.path().join("api-key.yaml");
    let (in_file, _) = created(
        &Provision::new(DEFAULT_FOLDER_ID, "sa-readable")
            .output(KeySink::File(file.clone()))
            .run(&client)
            .await
            .expect("provision into a file"),
    );
    emu.set_fault(
        "/yandex.cloud.lockbox.v1.PayloadService/GetEx",
        Fault::FailFirst {
            n: 1,
            code: tonic::Code::PermissionDenied,
        },
    );
    let report = Rotation::new(DEFAULT_FOLDER_ID, Select::AllKeys)
        .sink(SinkAddress::File(file.clone()))
        .at(emu.now())
        .run(&client)
        .await
        .expect("rotation");
    assert!(report.failed(), "a key whose sink could not be read is a failure");
    let e = report.entries.iter().find(|e| e.key.id == in_box).expect("entry");
    assert_eq!(e.action, Action::Failed, "{e:?}");
    assert!(matches!(e.reason, Reason::SinkUnreadable(_)), "{e:?}");
    assert!(e.error.is_some());
    assert_eq!(live(&emu, &boxed_account), vec![in_box.clone()], "nothing made for it");
    let d = decisions(&report.entries);
    assert_eq!(d[&in_file], (Action::Rotate, Reason::AllKeys), "the other key rotated");
}

/// The `aws_access_key_id` of one profile of an AWS credentials file.
fn access_key_in(path: &Path, profile: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).expect("credentials file");
    let mut inside = false;
    for line in text.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = name == profile;
        } else if let (true, Some((name, value))) = (inside, line.split_once('='))
            && name.trim() == "aws_access_key_id"
        {
            return Some(value.trim().to_owned());
        }
    }
    None
}

#[tokio::test]
async fn keys_held_by_other_profiles_of_a_credentials_file_are_never_deleted() {
    let (emu, client, dir) = start().await;
    let creds = dir.path().join("credentials");
    let provision = |profile: &str| {
        Provision::new(DEFAULT_FOLDER_ID, "sa-two-profiles")
            .key_type(KeyType::StaticKey)
            .aws_profile(profile)
            .output(KeySink::File(creds.clone()))
    };
    let (in_default, account) = created(&provision("default").run(&client).await.expect("[default]"));
    let (in_ci, _) = created(&provision("ci").run(&client).await.expect("[ci]"));
    let aws_id = |id: &str| {
        let snap = emu.snapshot();
        let keys = snap.access_keys_of(&account);
        keys.iter().find(|k| k.id == id).map(|k| k.key_id.clone())
    };
    let (default_aws, ci_aws) = (aws_id(&in_default), aws_id(&in_ci));
    assert_eq!(access_key_in(&creds, "default"), default_aws);
    assert_eq!(access_key_in(&creds, "ci"), ci_aws);
    let mut both = vec![in_default.clone(), in_ci.clone()];
    both.sort();
    assert_eq!(
        live(&emu, &account),
        both,
        "provisioning [ci] keeps the key [default] holds"
    );

    // [default] rotates; the [ci] key, made after it with the same marker, is left.
    let rotation = || {
        Rotation::new(DEFAULT_FOLDER_ID, Select::AllKeys)
            .key_types([KeyType::StaticKey])
            .sink(SinkAddress::File(creds.clone()))
            .at(emu.now())
    };
    let report = rotation().run(&client).await.expect("rotate [default]");
    assert!(!report.failed(), "{:?}", report.entries);
    let d = decisions(&report.entries);
    assert_eq!(d[&in_default], (Action::Rotate, Reason::AllKeys));
    assert_eq!(d[&in_ci], (Action::Leave, Reason::HeldElsewhere));
    let new_default = report
        .entries
        .iter()
        .find_map(|e| e.new_key_id.clone())
        .expect("new key");
    assert_eq!(access_key_in(&creds, "default"), aws_id(&new_default));
    assert_eq!(access_key_in(&creds, "ci"), ci_aws, "[ci] untouched");

    // After the grace the replaced key goes; the [ci] key stays, and then rotates in [ci].
    emu.advance(25 * HOUR);
    let after = rotation().run(&client).await.expect("after the grace");
    assert_eq!(decisions(&after.entries)[&in_default].0, Action::Delete);
    assert!(live(&emu, &account).contains(&in_ci));
    let ci = rotation().aws_profile("ci").run(&client).await.expect("rotate [ci]");
    let d = decisions(&ci.entries);
    assert_eq!(d[&in_ci], (Action::Rotate, Reason::AllKeys));
    assert_eq!(d[&new_default], (Action::Leave, Reason::HeldElsewhere));
    let new_ci = ci
        .entries
        .iter()
        .find_map(|e| e.new_key_id.clone())
        .expect("new [ci] key");
    assert_eq!(access_key_in(&creds, "ci"), aws_id(&new_ci));
    assert_eq!(access_key_in(&creds, "default"), aws_id(&new_default));
}

#[tokio::test]
async fn a_successor_lives_as_long_as_its_key_from_the_servers_clock_whatever_time_is_judged_at() {
    let (emu, client, dir) = start().await;
    let file = dir.path().join("api-key.yaml");
    let made = Provision::new(DEFAULT_FOLDER_ID, "sa-lifetime")
        .expires_at(emu.now() + 30 * DAY)
        .output(KeySink::File(file.clone()))
        .run(&client)
        .await
        .expect("provision");
    let (old, _) = created(&made);
    let report = Rotation::new(DEFAULT_FOLDER_ID, Select::AllKeys)
        .sink(SinkAddress::File(file.clone()))
        .at(emu.now() - 365 * DAY)
        .clock(emu.now())
        .run(&client)
        .await
        .expect("rotation judged a year back");
    assert!(!report.failed(), "{:?}", report.entries);
    let new = decisions(&report.entries)
        .get(&old)
        .map(|_| report.entries[0].new_key_id.clone().expect("new key"))
        .expect("rotated");
    let key = client.api_keys().get(&new).await.expect("the new key");
    let expires = yc_iam::model::from_timestamp(key.expires_at.as_ref().expect("an expiry")).unwrap();
    assert!(
        (expires - (emu.now() + 30 * DAY)).abs() < time::Duration::minutes(1),
        "30 days from the server's clock, not from the time judged at: {expires}"
    );
}
