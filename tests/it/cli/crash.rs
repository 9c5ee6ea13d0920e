//! A `provision` killed with SIGKILL, then run again, ends in the state of an uninterrupted run:
//! one service account, the binding, exactly one live key, the one in the file, whose secret the
//! emulator accepts, and no temporary file.
//!
//! Operations are slowed so the moments spread over every step, and two windows that are short
//! in real life are widened with emulator faults:
//! - a key created whose secret has not reached the file: the first `ApiKeyService.Create`
//!   response is lost after the key was made, so the client waits to retry (a kill there leaves
//!   an orphan key that only the description marker identifies);
//! - during `--rotate`, the new key written but the old one not yet deleted: `Delete` is delayed.
//!
//! Each scenario's uninterrupted run is cut into as many equal slices as it gets kills, and each
//! kill lands at a random point of its own slice: no stretch of the run is missed. `cargo test`
//! runs 50 kills; the full soak is `YC_CRASH_MOMENTS=200 cargo test --test it provision_killed --
//! --nocapture`.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use yc_iam::emulator::{Emulator, Fault};
use yc_iam::provision::StoredKey;

use super::{FOLDER, Harness};

/// How long operations take.
pub(super) const OP_DELAY: Duration = Duration::from_millis(120);
/// Each worker has its own emulator, so the faults it sets affect only its own runs.
pub(super) const WORKERS: usize = 5;
const CREATE_KEY: &str = "/yandex.cloud.iam.v1.ApiKeyService/Create";
pub(super) const DELETE_KEY: &str = "/yandex.cloud.iam.v1.ApiKeyService/Delete";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Scenario {
    /// A fresh provision.
    Fresh,
    /// A fresh provision whose key-create response is lost once.
    LostCreateResponse,
    /// A rotation of a provisioned account, with a slow delete of the old key.
    Rotate,
}

const SCENARIOS: [Scenario; 3] = [Scenario::Fresh, Scenario::LostCreateResponse, Scenario::Rotate];

impl Scenario {
    fn prepare(self, emu: &Emulator) {
        emu.clear_faults();
        match self {
            Scenario::Fresh => {}
            Scenario::LostCreateResponse => emu.set_fault(CREATE_KEY, Fault::DropResponseAfterApply { n: 1 }),
            Scenario::Rotate => emu.set_fault(DELETE_KEY, Fault::Delay(Duration::from_millis(200))),
        }
    }

    fn extra(self) -> &'static [&'static str] {
        match self {
            Scenario::Rotate => &["--rotate"],
            _ => &[],
        }
    }
}

/// What a kill left behind, before the rerun.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum LeftBehind {
    Nothing,
    AccountWithoutKey,
    KeyNobodyHolds,
    TwoLiveKeys,
    MoreLiveKeys,
    FinishedRun,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provision_killed_at_any_moment_recovers_every_time() {
    let kills = std::env::var("YC_CRASH_MOMENTS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(50);
    kill_and_recover(kills, 0x5eed).await;
}

/// Kills `provision` at `kills` moments spread over the scenarios, reruns it after each kill, and
/// checks the end state every time; panics on the first violation. Needs a multi-threaded runtime.
async fn kill_and_recover(kills: usize, seed: u64) {
    let started = Instant::now();
    let per_scenario = kills.div_ceil(SCENARIOS.len());
    let mut workers = Vec::new();
    for w in 0..WORKERS {
        workers.push(tokio::spawn(async move {
            let h = Harness::with(Emulator::builder().with_op_delay(OP_DELAY)).await;
            // How long each scenario takes uninterrupted, to spread the kill moments over it.
            let mut spans = Vec::new();
            for (s, scenario) in SCENARIOS.iter().enumerate() {
                let (name, file) = (format!("sa-calibrate-{s}"), format!("calibrate-{s}.yaml"));
                if *scenario == Scenario::Rotate {
                    h.provision(&name, &file, &[]).await.success();
                }
                scenario.prepare(&h.emu);
                let start = Instant::now();
                h.provision(&name, &file, scenario.extra()).await.success();
                spans.push(start.elapsed());
            }
            let mut rng = fastrand::Rng::with_seed(seed + w as u64);
            let mut outcomes = Vec::new();
            let mut running = 0;
            for i in (w..kills).step_by(WORKERS) {
                let s = i % SCENARIOS.len();
                let scenario = SCENARIOS[s];
                // Slice `i / 3` of the run (stretched by 5% to also catch the very end).
                let slice = (i / SCENARIOS.len()) as f64;
                let at = spans[s].mul_f64((slice + rng.f64()) / per_scenario as f64 * 1.05);
                let (name, file) = (format!("sa-crash-{i}"), format!("crash-{i}.yaml"));
                if scenario == Scenario::Rotate {
                    h.emu.clear_faults();
                    h.provision(&name, &file, &[]).await.success();
                }
                scenario.prepare(&h.emu);
                running += usize::from(kill_at(&h, &name, &file, scenario.extra(), at).await);
                outcomes.push((scenario, left_behind(&h, &name, &file)));
                h.emu.clear_faults();
                let again = h.provision(&name, &file, &[]).await;
                assert_eq!(
                    again.code,
                    Some(0),
                    "rerun after a kill at {at:?} ({scenario:?}): {}",
                    again.stderr
                );
                h.assert_provisioned(&name, &file).await;
                let leftovers: Vec<_> = std::fs::read_dir(h.dir.path())
                    .expect("the scratch directory")
                    .filter_map(|e| e.ok()?.file_name().into_string().ok())
                    .filter(|n| n.contains(".tmp"))
                    .collect();
                assert!(leftovers.is_empty(), "a temporary key file is left: {leftovers:?}");
            }
            (outcomes, running)
        }));
    }
    let mut seen: BTreeMap<(Scenario, LeftBehind), usize> = BTreeMap::new();
    let mut running = 0;
    for w in workers {
        let (outcomes, r) = w.await.expect("a worker finished");
        running += r;
        for o in outcomes {
            *seen.entry(o).or_default() += 1;
        }
    }
    assert_eq!(seen.values().sum::<usize>(), kills);
    // The kills landed in different steps, including the two dangerous windows.
    let count = |wanted: &[LeftBehind]| {
        seen.iter()
            .filter(|((_, left), _)| wanted.contains(left))
            .map(|(_, n)| n)
            .sum::<usize>()
    };
    assert!(
        count(&[LeftBehind::Nothing, LeftBehind::AccountWithoutKey]) > 0,
        "{seen:?}"
    );
    assert!(
        count(&[LeftBehind::KeyNobodyHolds, LeftBehind::TwoLiveKeys]) > 0,
        "{seen:?}"
    );
    println!(
        "crash soak: {kills} SIGKILLs ({running} while running, the rest just after it finished) over {} scenarios \
         in {:.0} s; every rerun ended in the state of an uninterrupted run (one account, the binding, one live key, \
         the one in the file, its secret accepted, no temporary file); left behind by the kills: {seen:?}",
        SCENARIOS.len(),
        started.elapsed().as_secs_f64()
    );
}

/// What a kill left behind, for checking that the moments spread over the steps.
fn left_behind(h: &Harness, name: &str, file: &str) -> LeftBehind {
    let snap = h.emu.snapshot();
    let Some(sa) = snap.service_account_named(name) else {
        return LeftBehind::Nothing;
    };
    let live = snap.live_keys_of(&sa.id);
    let in_file = StoredKey::read(&h.path(file)).ok().flatten().map(|k| k.id);
    match (live.len(), in_file) {
        (0, _) => LeftBehind::AccountWithoutKey,
        (1, Some(id)) if live[0].id == id => LeftBehind::FinishedRun,
        (1, _) => LeftBehind::KeyNobodyHolds,
        (2, _) => LeftBehind::TwoLiveKeys,
        _ => LeftBehind::MoreLiveKeys,
    }
}

/// Starts `provision` and kills it with SIGKILL after `at`; true if it was still running.
pub(super) async fn kill_at(h: &Harness, name: &str, file: &str, extra: &[&str], at: Duration) -> bool {
    let mut cmd = h.command();
    cmd.args(["provision", "--folder-id", FOLDER, "--name", name, "--output", file])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().expect("the binary starts");
    tokio::time::sleep(at).await;
    let running = matches!(child.try_wait(), Ok(None));
    // `Child::kill` is SIGKILL on Unix; it fails only if the process already exited.
    let _ = child.kill();
    tokio::task::spawn_blocking(move || child.wait())
        .await
        .expect("joins")
        .expect("waits");
    running
}
