//! `yc-iam audit`: a folder's or a cloud's keys as a table or a document with their flags, exit 3
//! when a `--fail-on` flag is raised and 0 otherwise, ages judged on a kept emulator's clock unless
//! `--now` is given, and bad flags refused before any call.

use std::time::Duration;

use time::format_description::well_known::Rfc3339;
use yc_iam::emulator::DEFAULT_IAM_TOKEN;
use yc_iam::{CreateAccessKey, CreateApiKey, CreateServiceAccount, Credentials};

use yc_iam::emulator::Emulator;

use super::{FOLDER, Harness, OTHER_FOLDER, json, on_kept_emulator};
use crate::common::client_with;

const DAY: Duration = Duration::from_secs(86_400);

/// In FOLDER: `old` with a never-used API key and a managed static key; in OTHER_FOLDER: `other`
/// with an API key expiring in 45 days. Then the clock moves 40 days on.
async fn fleet(h: &Harness) -> String {
    let client = client_with(&h.emu, Credentials::iam_token(DEFAULT_IAM_TOKEN));
    let make = |folder: &'static str, name: &'static str| {
        let client = client.clone();
        async move {
            client
                .service_accounts()
                .create(CreateServiceAccount::new(folder, name))
                .await
                .expect("create")
                .wait()
                .await
                .expect("made")
        }
    };
    let old = make(FOLDER, "old").await;
    client.api_keys().create(CreateApiKey::new(&old.id)).await.expect("key");
    client
        .access_keys()
        .create(CreateAccessKey::new(&old.id).description("s3 [yc-iam:0123abcd]"))
        .await
        .expect("static key");
    let other = make(OTHER_FOLDER, "other").await;
    let expiring = CreateApiKey::new(&other.id).expires_at(yc_iam::model::to_timestamp(h.emu.now() + 45 * DAY));
    client.api_keys().create(expiring).await.expect("expiring key");
    h.emu.advance(40 * DAY);
    h.emu.now().format(&Rfc3339).expect("formats")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_prints_each_key_with_its_flags_and_fails_on_the_flags_asked_for() {
    let h = Harness::start().await;
    let now = fleet(&h).await;

    let run = h
        .run(&["audit", "--folder-id", FOLDER, "--now", &now, "--format", "json"])
        .await;
    run.success();
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    let accounts = doc["accounts"].as_array().expect("accounts");
    assert_eq!(accounts.len(), 1, "one folder only");
    assert_eq!(accounts[0]["name"], "old");
    let keys = accounts[0]["keys"].as_array().expect("keys");
    let summary: Vec<(String, bool, Vec<String>)> = keys
        .iter()
        .map(|k| {
            (
                k["kind"].as_str().unwrap_or_default().to_owned(),
                k["managed"].as_bool().unwrap_or_default(),
                k["flags"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|f| f.as_str().map(str::to_owned))
                    .collect(),
            )
        })
        .collect();
    let flags = |names: &[&str]| names.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        summary,
        [
            (
                "api-key".to_owned(),
                false,
                flags(&["unused", "never-used", "no-expiry"])
            ),
            ("static-key".to_owned(), true, flags(&["unused", "never-used"])),
        ]
    );
    assert!(
        keys[1]["access_key_id"].as_str().is_some_and(|id| id.starts_with("YC")),
        "{}",
        keys[1]
    );
    assert!(keys[0]["age_seconds"].as_u64().is_some_and(|s| s >= 40 * 86_400));

    let gated = h
        .run(&[
            "audit",
            "--folder-id",
            FOLDER,
            "--now",
            &now,
            "--fail-on",
            "expired,unused",
        ])
        .await;
    assert_eq!(gated.code, Some(3), "{}", gated.stderr);
    assert!(
        gated.stdout.starts_with("ACCOUNT"),
        "the table is still printed:\n{}",
        gated.stdout
    );
    assert!(gated.stderr.contains("unused"), "{}", gated.stderr);
    assert!(!gated.stderr.contains("expired"), "{}", gated.stderr);
    let passing = h
        .run(&[
            "audit",
            "--folder-id",
            FOLDER,
            "--now",
            &now,
            "--fail-on",
            "expired,expiring",
        ])
        .await;
    passing.success();

    // The whole cloud: both folders; the other folder's key expires within 14 days of the new now.
    let run = h
        .run(&[
            "audit",
            "--cloud-id",
            super::CLOUD,
            "--now",
            &now,
            "--fail-on",
            "expiring",
        ])
        .await;
    assert_eq!(run.code, Some(3), "{}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "a header and three keys:\n{}", run.stdout);
    assert!(lines[0].contains("LAST USED") && lines[0].contains("FLAGS"));
    assert!(
        lines.iter().any(|l| l.starts_with("other") && l.contains("expiring")),
        "{}",
        run.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_audit_flags_are_usage_errors_and_nothing_is_sent() {
    let h = Harness::start().await;
    h.emu.clear_journal();
    for args in [
        &["audit", "--folder-id", FOLDER, "--fail-on", "stale"][..],
        &["audit", "--folder-id", FOLDER, "--unused-for", "0s"],
        &["audit", "--folder-id", FOLDER, "--expiring-within", "soon"],
        &["audit", "--folder-id", FOLDER, "--parallel", "0"],
        &["audit", "--folder-id", FOLDER, "--now", "yesterday"],
        &["audit", "--folder-id", FOLDER, "--cloud-id", super::CLOUD],
        &["audit", "--folder-id", "not an id"],
    ] {
        let run = h.run(args).await;
        assert_eq!(run.code, Some(2), "{args:?}: {}", run.stderr);
        assert_eq!(run.stderr_lines().len(), 1, "{args:?}: one line: {}", run.stderr);
    }
    assert!(h.emu.journal().is_empty(), "nothing was sent");
}

/// The JSON answer of the binary against the emulator state kept in `dir`.
async fn kept(dir: &std::path::Path, args: &[&str]) -> serde_json::Value {
    json(&on_kept_emulator(dir, &[&["--format", "json"], args].concat()).await)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_of_a_kept_emulator_judges_ages_by_its_clock_unless_now_is_given() {
    let dir = tempfile::tempdir().unwrap();
    kept(
        dir.path(),
        &["provision", "--name", "sa-app", "--output", "api-key.yaml"],
    )
    .await;
    let emu = Emulator::builder()
        .with_state_file(dir.path().join("emulator.json"))
        .start()
        .await
        .expect("state loads");
    let made_at = emu.now();
    emu.advance(40 * DAY);
    emu.shutdown().await;
    let key = |doc: &serde_json::Value| {
        let key = &doc["accounts"][0]["keys"][0];
        (key["age_seconds"].as_u64().expect("age"), key["flags"].to_string())
    };

    let (age, flags) = key(&kept(dir.path(), &["audit", "--unused-for", "30d"]).await);
    assert!(age >= 40 * 86_400, "aged by the emulator's clock: {age} s");
    assert!(flags.contains("\"unused\""), "{flags}");

    let then = (made_at + DAY).format(&Rfc3339).expect("formats");
    let (age, flags) = key(&kept(dir.path(), &["audit", "--unused-for", "30d", "--now", &then]).await);
    assert!(age < 2 * 86_400, "aged at --now: {age} s");
    assert!(!flags.contains("\"unused\""), "{flags}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_at_the_end_of_time_counts_every_later_expiry_as_expiring_instead_of_panicking() {
    let dir = tempfile::tempdir().unwrap();
    kept(
        dir.path(),
        &[
            "provision",
            "--name",
            "sa-app",
            "--output",
            "api-key.yaml",
            "--expires-in",
            "30d",
        ],
    )
    .await;
    // A server may send any expiry: this one is the last day of the year 9999.
    let state = dir.path().join("emulator.json");
    let mut doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&state).unwrap()).unwrap();
    for key in doc["api_keys"].as_object_mut().expect("api keys").values_mut() {
        key["expires_at"]["seconds"] = 253_402_214_400_i64.into();
    }
    std::fs::write(&state, serde_json::to_vec(&doc).unwrap()).unwrap();

    let args = ["audit", "--now", "9999-12-30T00:00:00Z", "--expiring-within", "100d"];
    let doc = kept(dir.path(), &args).await;
    let flags = doc["accounts"][0]["keys"][0]["flags"].to_string();
    assert!(flags.contains("\"expiring\""), "{flags}");
    assert!(!flags.contains("\"expired\""), "{flags}");
}
