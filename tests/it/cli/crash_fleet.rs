//! `yc-iam apply` of a fleet of 20 accounts killed with SIGKILL at any moment, then run again,
//! ends in the manifest's state: each account once, with its role, exactly one live key per key
//! entry (the one its file holds), `plan` with nothing to change, and the account and key made by
//! hand beside the fleet untouched. Operations are slowed so the kills spread over every phase
//! (accounts, bindings, keys); the run is cut into as many slices as it gets kills and each kill
//! lands at a random point of its own slice. `cargo test` makes 50 kills; more with
//! `YC_CRASH_MOMENTS`.

use std::process::Stdio;
use std::time::{Duration, Instant};

use yc_iam::emulator::{Emulator, Quota};
use yc_iam::provision::StoredKey;

use super::{FOLDER, Harness};

const ACCOUNTS: usize = 20;
const WORKERS: usize = 4;

fn kills() -> usize {
    std::env::var("YC_CRASH_MOMENTS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(50)
}

/// A manifest of fleet `fleet`: accounts `<fleet>-sa-<j>`, each with `viewer` and an API key in
/// `<fleet>-<j>.yaml`.
fn manifest(h: &Harness, fleet: &str) -> String {
    let mut text = format!(
        "apiVersion: yc-iam/v1\nkind: Fleet\nmetadata: {{ name: {fleet} }}\ndefaults: {{ folder_id: {FOLDER} }}\nservice_accounts:\n"
    );
    for j in 0..ACCOUNTS {
        text.push_str(&format!(
            "  - name: {fleet}-sa-{j}\n    roles: [viewer]\n    keys: [{{ type: api-key, scopes: [yc.ai.languageModels.execute], output: {fleet}-{j}.yaml }}]\n"
        ));
    }
    let path = h.path(&format!("{fleet}.yaml"));
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

async fn apply(h: &Harness, file: &str) -> super::Run {
    h.run(&["apply", "-f", file, "--yes", "--parallel", "8"]).await
}

/// Starts `apply` and kills it after `at`; true if it was still running.
async fn kill_at(h: &Harness, file: &str, at: Duration) -> bool {
    let mut cmd = h.command();
    cmd.args(["apply", "-f", file, "--yes", "--parallel", "8"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().expect("the binary starts");
    tokio::time::sleep(at).await;
    let running = matches!(child.try_wait(), Ok(None));
    let _ = child.kill();
    tokio::task::spawn_blocking(move || child.wait())
        .await
        .expect("joins")
        .expect("waits");
    running
}

/// The manifest's state: every account once, with viewer, one live key, the one its file holds.
fn assert_converged(h: &Harness, fleet: &str) {
    let snap = h.emu.snapshot();
    let bindings = snap.access_bindings.get(FOLDER).cloned().unwrap_or_default();
    for j in 0..ACCOUNTS {
        let name = format!("{fleet}-sa-{j}");
        let accounts: Vec<_> = snap.service_accounts.iter().filter(|sa| sa.name == name).collect();
        assert_eq!(accounts.len(), 1, "{name} exists once");
        let sa = accounts[0];
        assert_eq!(sa.labels.get("fleet").map(String::as_str), Some(fleet));
        assert!(
            bindings
                .iter()
                .any(|b| b.role_id == "viewer" && b.subject.as_ref().is_some_and(|s| s.id == sa.id)),
            "{name} holds viewer"
        );
        let live: Vec<&str> = snap.live_keys_of(&sa.id).iter().map(|k| k.id.as_str()).collect();
        let held = StoredKey::read(&h.path(&format!("{fleet}-{j}.yaml")))
            .unwrap()
            .map(|k| k.id);
        assert_eq!(
            live,
            held.as_deref().into_iter().collect::<Vec<_>>(),
            "{name}: one live key, the one its file holds"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_killed_at_any_moment_converges_on_the_rerun_and_touches_nothing_unmanaged() {
    let kills = kills();
    let started = Instant::now();
    let mut workers = Vec::new();
    for w in 0..WORKERS {
        workers.push(tokio::spawn(async move {
            // A cloud whose quotas were raised: each worker's fleets (two to time, one per kill)
            // and the hand-made account stay, each account with a key (two while a rerun
            // replaces one a kill left).
            let accounts = ((kills.div_ceil(WORKERS) + 2) * ACCOUNTS + 1) as u64;
            let builder = Emulator::builder()
                .with_op_delay(Duration::from_millis(40))
                .with_quota(Quota::ServiceAccountsPerCloud, accounts)
                .with_quota(Quota::ApiKeysPerCloud, 2 * accounts);
            let h = Harness::with(builder).await;
            // Made by hand beside the fleets: never touched by them.
            let own = h
                .run(&["sa", "create", "--folder-id", FOLDER, "--name", "by-hand"])
                .await;
            own.success();
            let own_key = h
                .run(&[
                    "api-key",
                    "create",
                    "--folder-id",
                    FOLDER,
                    "--service-account-name",
                    "by-hand",
                ])
                .await;
            own_key.success();
            let before = h.emu.snapshot();
            let hand = before.service_account_named("by-hand").unwrap().clone();
            let hand_keys = before.live_keys_of(&hand.id).len();

            // The faster of two applies: the first pays for a cold start a killed run does not.
            let mut span = Duration::MAX;
            for c in 0..2 {
                let calibrate = manifest(&h, &format!("cal{w}x{c}"));
                let start = Instant::now();
                apply(&h, &calibrate).await.success();
                span = span.min(start.elapsed());
            }
            let mut rng = fastrand::Rng::with_seed(0xf1ee7 + w as u64);
            let mut running = 0;
            for i in (w..kills).step_by(WORKERS) {
                let fleet = format!("k{i}");
                let file = manifest(&h, &fleet);
                let at = span.mul_f64((i as f64 + rng.f64()) / kills as f64 * 1.05);
                let hit = kill_at(&h, &file, at).await;
                running += usize::from(hit);
                if !hit {
                    // That apply ended before `at`: applies run faster now than when timed (the
                    // machine's load changed), so the later kills aim within this one's length.
                    span = span.min(at);
                }
                let again = apply(&h, &file).await;
                assert_eq!(
                    again.code,
                    Some(0),
                    "rerun after a kill at {at:?}: {}{}",
                    again.stdout,
                    again.stderr
                );
                assert_converged(&h, &fleet);
                let plan = h.run(&["plan", "-f", &file, "--prune"]).await;
                assert_eq!(
                    plan.code,
                    Some(0),
                    "nothing left to change after a kill at {at:?}: {}",
                    plan.stdout
                );
            }
            let after = h.emu.snapshot();
            let hand_now = after
                .service_account_named("by-hand")
                .expect("the hand-made account stays");
            assert_eq!(hand_now.labels, hand.labels);
            assert_eq!(after.live_keys_of(&hand.id).len(), hand_keys, "the hand-made key stays");
            running
        }));
    }
    let mut running = 0;
    for w in workers {
        running += w.await.expect("a worker finished");
    }
    assert!(
        running > kills / 2,
        "most kills land while apply runs ({running} of {kills})"
    );
    println!(
        "fleet crash soak: {kills} SIGKILLs of an apply of {ACCOUNTS} accounts ({running} while running) in {:.0} s; \
         every rerun converged and planned no change",
        started.elapsed().as_secs_f64()
    );
}
