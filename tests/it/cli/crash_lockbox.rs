//! `provision --output lockbox://NAME` killed with SIGKILL at any moment, then run again, ends in
//! the state of an uninterrupted run: one service account, the binding, exactly one live key
//! carrying the secret's marker, the one the current version's `api-key-id` names, whose
//! `api-key` the emulator accepts, and no active version besides the current one (every replaced
//! version is scheduled for destruction).
//!
//! Operations are slowed so the moments spread over every step (secret, key, version, schedule,
//! delete), and during `--rotate` the schedule and the delete are delayed to widen the window
//! between the new version and the old key's deletion. As in the key-file soak, each scenario's
//! uninterrupted run is cut into equal slices and each kill lands at a random point of its own
//! slice. `cargo test` runs 50 kills; more with `YC_CRASH_MOMENTS=200`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::TryStreamExt as _;
use yc_iam::emulator::{DEFAULT_IAM_TOKEN, Emulator, Fault};
use yc_iam::model::LockboxVersionStatus;
use yc_iam::{Client, Credentials, SecretRef};

use super::crash::{DELETE_KEY, kill_at, landed, spread_kills, tally};
use super::{FOLDER, Harness};
use crate::common::client_with;

const SCHEDULE: &str = "/yandex.cloud.lockbox.v1.SecretService/ScheduleVersionDestruction";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Scenario {
    /// A fresh provision: account, roles, secret, key, first version.
    Fresh,
    /// A rotation: new key, new version, the old one scheduled, the old key deleted (slowly).
    Rotate,
}

const SCENARIOS: [Scenario; 2] = [Scenario::Fresh, Scenario::Rotate];

impl Scenario {
    fn prepare(self, emu: &Emulator) {
        emu.clear_faults();
        if self == Scenario::Rotate {
            emu.set_fault(DELETE_KEY, Fault::Delay(Duration::from_millis(200)));
            emu.set_fault(SCHEDULE, Fault::Delay(Duration::from_millis(200)));
        }
    }

    fn extra(self) -> &'static [&'static str] {
        match self {
            Scenario::Rotate => &["--rotate"],
            Scenario::Fresh => &[],
        }
    }
}

/// What a kill left behind, before the rerun.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum LeftBehind {
    Nothing,
    NoSecret,
    SecretWithoutKey,
    KeyTheSecretDoesNotHold,
    TwoLiveKeys,
    FinishedRun,
}

fn admin(emu: &Emulator) -> Client {
    client_with(emu, Credentials::iam_token(DEFAULT_IAM_TOKEN))
}

/// The key id the current version of `secret` names, if it has one.
async fn held_key(client: &Client, secret: &str) -> Option<(String, String)> {
    let by = SecretRef::Name {
        folder_id: FOLDER.into(),
        name: secret.into(),
    };
    let payload = client.lockbox().payload_ex(by, None).await.ok()?;
    let text = |k: &str| payload.entries.get(k).map(|v| String::from_utf8_lossy(v).into_owned());
    Some((text("api-key-id")?, text("api-key")?))
}

async fn left_behind(h: &Harness, client: &Client, name: &str, secret: &str) -> LeftBehind {
    let snap = h.emu.snapshot();
    let Some(sa) = snap.service_account_named(name) else {
        return LeftBehind::Nothing;
    };
    let live = snap.live_keys_of(&sa.id);
    let found = client
        .lockbox()
        .find_by_name(FOLDER, secret)
        .await
        .expect("list secrets");
    if found.is_none() {
        return LeftBehind::NoSecret;
    }
    let held = held_key(client, secret).await.map(|(id, _)| id);
    match (live.len(), held) {
        (0, _) => LeftBehind::SecretWithoutKey,
        (1, Some(id)) if live[0].id == id => LeftBehind::FinishedRun,
        (1, _) => LeftBehind::KeyTheSecretDoesNotHold,
        _ => LeftBehind::TwoLiveKeys,
    }
}

/// The end state an uninterrupted run leaves; returns the key's id.
async fn assert_provisioned(h: &Harness, client: &Client, name: &str, secret: &str) -> String {
    let snap = h.emu.snapshot();
    let accounts: Vec<_> = snap.service_accounts.iter().filter(|sa| sa.name == name).collect();
    assert_eq!(accounts.len(), 1, "exactly one service account {name}");
    let sa = accounts[0];
    let bound = snap
        .access_bindings
        .get(FOLDER)
        .into_iter()
        .flatten()
        .any(|b| b.role_id == "ai.languageModels.user" && b.subject.as_ref().is_some_and(|s| s.id == sa.id));
    assert!(bound, "the role is bound for {name}");
    let found = client
        .lockbox()
        .find_by_name(FOLDER, secret)
        .await
        .expect("list")
        .expect("the secret exists");
    let marker = format!("[yc-iam:lockbox:{}]", found.id);
    let live = snap.live_keys_of(&sa.id);
    assert_eq!(live.len(), 1, "exactly one live key for {name}: {live:?}");
    assert!(live[0].description.ends_with(&marker), "{:?}", live[0].description);
    let (held, api_key) = held_key(client, secret).await.expect("the current version holds a key");
    assert_eq!(held, live[0].id, "the current version names the live key");
    let as_key = client_with(&h.emu, Credentials::api_key(api_key));
    let got = as_key
        .service_accounts()
        .get(&sa.id)
        .await
        .expect("the api-key is accepted");
    assert_eq!(got.id, sa.id);
    let versions: Vec<_> = client
        .lockbox()
        .list_versions(&found.id)
        .try_collect()
        .await
        .expect("versions");
    let active: Vec<_> = versions
        .iter()
        .filter(|v| v.status == LockboxVersionStatus::Active as i32)
        .map(|v| v.id.clone())
        .collect();
    let current = found.current_version.map(|v| v.id);
    assert_eq!(active.len(), 1, "only the current version is active: {versions:?}");
    assert_eq!(Some(&active[0]), current.as_ref());
    held
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provision_into_lockbox_killed_at_any_moment_recovers_every_time() {
    let (kills, started) = (super::crash::kills(), Instant::now());
    let calibrate = |h: Arc<Harness>, s: usize, scenario: Scenario| async move {
        let (name, output) = (format!("sa-calibrate-{s}"), format!("lockbox://calibrate-{s}"));
        if scenario == Scenario::Rotate {
            h.provision(&name, &output, &[]).await.success();
        }
        scenario.prepare(&h.emu);
        let start = Instant::now();
        h.provision(&name, &output, scenario.extra()).await.success();
        start.elapsed()
    };
    let kill = |h: Arc<Harness>, i: usize, scenario: Scenario, at: Duration| async move {
        let client = admin(&h.emu);
        let (name, secret) = (format!("sa-crash-{i}"), format!("crash-{i}"));
        let output = format!("lockbox://{secret}");
        if scenario == Scenario::Rotate {
            h.emu.clear_faults();
            h.provision(&name, &output, &[]).await.success();
        }
        scenario.prepare(&h.emu);
        kill_at(&h, &name, &output, scenario.extra(), at).await;
        let left = left_behind(&h, &client, &name, &secret).await;
        h.emu.clear_faults();
        let again = h.provision(&name, &output, &[]).await;
        assert_eq!(
            again.code,
            Some(0),
            "rerun after a kill at {at:?} ({scenario:?}): {}",
            again.stderr
        );
        assert_provisioned(&h, &client, &name, &secret).await;
        left
    };
    let seen = tally(spread_kills((&SCENARIOS, kills), (0x10c4b0, 1.05), calibrate, kill).await);
    // The kills landed before the secret, between the secret and its first version, and in the
    // window where a key the secret does not hold is live.
    assert!(
        landed(&seen, &[LeftBehind::Nothing, LeftBehind::NoSecret]) > 0,
        "{seen:?}"
    );
    assert!(
        landed(
            &seen,
            &[
                LeftBehind::KeyTheSecretDoesNotHold,
                LeftBehind::TwoLiveKeys,
                LeftBehind::SecretWithoutKey
            ]
        ) > 0,
        "{seen:?}"
    );
    println!(
        "lockbox crash soak: {kills} SIGKILLs in {:.0} s; every rerun ended with one live marked key, the one the \
         current version names, its api-key accepted, only the current version active; left behind: {seen:?}",
        started.elapsed().as_secs_f64()
    );
}
