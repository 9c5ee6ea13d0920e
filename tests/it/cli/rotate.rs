//! `yc-iam rotate` against a kept emulator state whose clock is 100 days on: a dry run changes
//! nothing, the run replaces the old managed key in its file and leaves the hand-made one, a run
//! within the grace makes nothing new and reports the pending deletion, a run after the grace
//! deletes it; judged on the emulator's clock unless `--now` is given. A failed rotation is shown
//! on its key and exits 1; bad flags are refused in one line with exit 2 before anything is sent.

use std::path::Path;
use std::time::Duration;

use time::format_description::well_known::Rfc3339;
use yc_iam::emulator::Emulator;
use yc_iam::provision::StoredKey;

use super::{FOLDER, Harness, json, on_kept_emulator};

const DAY: Duration = Duration::from_secs(86_400);

/// The entry of key `id` in a JSON report.
fn key<'a>(doc: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    doc["keys"]
        .as_array()
        .expect("keys")
        .iter()
        .find(|k| k["id"] == id)
        .unwrap_or_else(|| panic!("no key {id} in {doc}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotate_replaces_the_old_managed_key_and_deletes_it_only_after_the_grace() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    on_kept_emulator(home, &["provision", "--name", "sa-app", "--output", "api-key.yaml"])
        .await
        .success();
    let old = StoredKey::read(&home.join("api-key.yaml"))
        .unwrap()
        .expect("key file")
        .id;
    let hand = on_kept_emulator(
        home,
        &[
            "--format",
            "json",
            "api-key",
            "create",
            "--service-account-name",
            "sa-app",
        ],
    )
    .await;
    let hand = json(&hand)["api_key"]["id"].as_str().expect("hand-made key").to_owned();

    // The kept emulator's clock moves 100 days on.
    let emu = Emulator::builder()
        .with_state_file(home.join("emulator.json"))
        .start()
        .await
        .expect("state loads");
    emu.advance(100 * DAY);
    emu.shutdown().await;

    let rotate = [
        "rotate",
        "--all",
        "--older-than",
        "90d",
        "--sink",
        "api-key.yaml",
        "--format",
        "json",
    ];
    let before = std::fs::read(home.join("api-key.yaml")).unwrap();
    let dry = json(&on_kept_emulator(home, &[&rotate[..], &["--dry-run"]].concat()).await);
    assert_eq!(dry["dry_run"], true);
    assert_eq!(key(&dry, &old)["action"], "rotate");
    assert_eq!(key(&dry, &old)["new_key_id"], serde_json::Value::Null);
    assert_eq!(
        std::fs::read(home.join("api-key.yaml")).unwrap(),
        before,
        "a dry run changes nothing"
    );

    let done = json(&on_kept_emulator(home, &rotate).await);
    let now = time::OffsetDateTime::parse(done["now"].as_str().expect("now"), &Rfc3339).unwrap();
    assert!(
        now > time::OffsetDateTime::now_utc() + 99 * DAY,
        "judged on the emulator's clock: {now}"
    );
    assert_eq!(done["grace"], "1d");
    let rotated = key(&done, &old);
    assert_eq!(rotated["action"], "rotate", "{rotated}");
    assert_eq!(rotated["kind"], "api-key");
    assert_eq!(rotated["reason"], "older than 90d");
    assert!(rotated["age_seconds"].as_u64().is_some_and(|s| s >= 100 * 86_400));
    assert!(
        rotated["sink"].as_str().is_some_and(|s| s.ends_with("api-key.yaml")),
        "{rotated}"
    );
    let new = rotated["new_key_id"].as_str().expect("new key id").to_owned();
    let due = time::OffsetDateTime::parse(rotated["deletion_due"].as_str().expect("due"), &Rfc3339).unwrap();
    assert!(due > now + Duration::from_secs(23 * 3600), "{due} vs {now}");
    assert_eq!(key(&done, &hand)["action"], "leave");
    assert_eq!(key(&done, &hand)["managed"], false);
    let stored = StoredKey::read(&home.join("api-key.yaml")).unwrap().expect("key file");
    assert_eq!(stored.id, new, "the file holds the new key");

    // Within the grace: the table says the old key waits; nothing new is made.
    let waiting = on_kept_emulator(
        home,
        &["rotate", "--all", "--older-than", "90d", "--sink", "api-key.yaml"],
    )
    .await;
    waiting.success();
    let header = waiting.stdout.lines().next().unwrap_or_default();
    assert!(
        header.contains("ACTION") && header.contains("DELETION DUE"),
        "{}",
        waiting.stdout
    );
    let row = waiting
        .stdout
        .lines()
        .find(|l| l.contains(&old))
        .expect("the old key's row");
    assert!(
        row.contains("wait") && row.contains(&format!("replaced by {new}")),
        "{row}"
    );
    let stored = StoredKey::read(&home.join("api-key.yaml")).unwrap().expect("key file");
    assert_eq!(stored.id, new, "the file still holds the new key");
    let mut all = vec![old.clone(), new.clone(), hand.clone()];
    all.sort_unstable();
    assert_eq!(api_key_ids(home, "sa-app").await, all, "no key was made or deleted");

    // Judged a day and more later (--now): the old key goes, the others stay.
    let later = (due + Duration::from_secs(60)).format(&Rfc3339).unwrap();
    let after = json(&on_kept_emulator(home, &[&rotate[..], &["--now", &later]].concat()).await);
    assert_eq!(key(&after, &old)["action"], "delete");
    assert_eq!(key(&after, &new)["action"], "leave");
    let mut expected = vec![new, hand];
    expected.sort_unstable();
    assert_eq!(api_key_ids(home, "sa-app").await, expected);
}

/// The ids of an account's API keys, sorted, as `api-key list` shows them.
async fn api_key_ids(home: &Path, account: &str) -> Vec<String> {
    let args = ["--format", "json", "api-key", "list", "--service-account-name", account];
    let listed = json(&on_kept_emulator(home, &args).await);
    let mut ids: Vec<String> = listed
        .as_array()
        .expect("keys")
        .iter()
        .filter_map(|k| k["id"].as_str().map(str::to_owned))
        .collect();
    ids.sort_unstable();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_rotate_flags_are_usage_errors_and_nothing_is_sent() {
    let h = Harness::start().await;
    h.emu.clear_journal();
    let rotate = |flags: &[&'static str]| [&["rotate", "--folder-id", FOLDER][..], flags].concat();
    for args in [
        rotate(&["--all"]),
        rotate(&["--older-than", "90d"]),
        rotate(&["--all", "--service-account-name", "sa", "--all-keys"]),
        rotate(&["--all", "--older-than", "90d", "--all-keys"]),
        rotate(&["--all", "--older-than", "soon"]),
        rotate(&["--all", "--all-keys", "--grace", "a day"]),
        rotate(&["--all", "--all-keys", "--key-type", "ssh-key"]),
        rotate(&["--all", "--all-keys", "--sink", "lockbox://ci"]),
        rotate(&["--service-account-name", "Bad", "--all-keys"]),
        vec!["rotate", "--folder-id", "not an id", "--all", "--all-keys"],
        rotate(&["--all", "--all-keys", "--aws-profile", "no spaces"]),
    ] {
        let run = h.run(&args).await;
        assert_eq!(run.code, Some(2), "{args:?}: {}", run.stderr);
        assert_eq!(run.stderr_lines().len(), 1, "{args:?}: one line: {}", run.stderr);
    }
    let sink = h.run(&rotate(&["--all", "--all-keys", "--sink", "-"])).await;
    assert!(sink.stderr.contains("--sink"), "{}", sink.stderr);
    // A time and a span whose sum is past the last time there is: refused, never a panic.
    let end = "9999-12-30T00:00:00Z";
    for (policy, flag) in [
        (&["--all-keys", "--grace", "1w"][..], "--grace"),
        (&["--expiring-within", "1w"], "--expiring-within"),
    ] {
        let args = [&rotate(&["--all", "--now", end])[..], policy].concat();
        let run = h.run(&args).await;
        assert_eq!(run.code, Some(2), "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(flag), "{}", run.stderr);
        assert_eq!(run.stderr_lines().len(), 1, "{}", run.stderr);
    }
    assert!(h.emu.journal().is_empty(), "nothing was sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_that_fails_is_reported_on_its_key_and_exits_1() {
    let h = Harness::start().await;
    h.provision("sa-fail", "api-key.yaml", &[]).await.success();
    let held = StoredKey::read(&h.path("api-key.yaml")).unwrap().expect("key file").id;
    h.emu.set_fault(
        "/yandex.cloud.iam.v1.ApiKeyService/Create",
        yc_iam::emulator::Fault::FailFirst {
            n: 10,
            code: tonic::Code::PermissionDenied,
        },
    );
    let run = h
        .run(&[
            "rotate",
            "--folder-id",
            FOLDER,
            "--all",
            "--all-keys",
            "--sink",
            "api-key.yaml",
            "--format",
            "json",
        ])
        .await;
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("the report is printed");
    let entry = key(&doc, &held);
    assert_eq!(entry["action"], "failed");
    assert!(
        entry["error"].as_str().is_some_and(|e| e.contains("cannot create")),
        "{entry}"
    );
    assert!(run.stderr.contains("could not be rotated"), "{}", run.stderr);
    assert_eq!(
        StoredKey::read(&h.path("api-key.yaml")).unwrap().expect("key file").id,
        held
    );
}
