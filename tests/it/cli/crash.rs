//! A `provision` killed with SIGKILL at a random moment, then run again, ends in the state of an
//! uninterrupted run: one service account, the binding, exactly one live key, in the file.
//!
//! Operations are slowed so the moments spread over every step, and two windows that are short
//! in real life are widened with emulator faults:
//! - a key created whose secret has not reached the file: the first `ApiKeyService.Create`
//!   response is lost after the key was made, so the client waits to retry (a kill there leaves
//!   an orphan key that only the description marker identifies);
//! - during `--rotate`, the new key written but the old one not yet deleted: `Delete` is delayed.

use std::time::{Duration, Instant};

use yc_iam::emulator::{Emulator, Fault};

use super::{FOLDER, Harness};

/// How long operations take.
const OP_DELAY: Duration = Duration::from_millis(120);
const KILLS: usize = 50;
/// Each worker has its own emulator, so the faults it sets affect only its own runs.
const WORKERS: usize = 5;
const CREATE_KEY: &str = "/yandex.cloud.iam.v1.ApiKeyService/Create";
const DELETE_KEY: &str = "/yandex.cloud.iam.v1.ApiKeyService/Delete";

#[derive(Debug, Clone, Copy)]
enum Scenario {
    /// A fresh provision.
    Fresh,
    /// A fresh provision whose key-create response is lost once.
    LostCreateResponse,
    /// A rotation of a provisioned account, with a slow delete of the old key.
    Rotate,
}

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

const SCENARIOS: [Scenario; 3] = [Scenario::Fresh, Scenario::LostCreateResponse, Scenario::Rotate];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provision_killed_at_fifty_random_moments_recovers_every_time() {
    // `YC_CRASH_MOMENTS` runs a longer soak (e.g. 200) with the same checks.
    let kills = std::env::var("YC_CRASH_MOMENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(KILLS);
    kill_and_recover(kills, 0x5eed).await;
}

/// Kills `provision` at `kills` random moments (seeded) spread over the scenarios, reruns it after
/// each kill, and checks the end state every time; panics on the first violation. Needs a
/// multi-threaded runtime.
pub(crate) async fn kill_and_recover(kills: usize, seed: u64) {
    let mut workers = Vec::new();
    for w in 0..WORKERS {
        workers.push(tokio::spawn(async move {
            let h = Harness::with(Emulator::builder().with_op_delay(OP_DELAY)).await;
            // How long each scenario takes uninterrupted, to spread the kill moments over it.
            let mut spans = Vec::new();
            for (s, scenario) in SCENARIOS.iter().enumerate() {
                let (name, file) = (format!("sa-calibrate-{s}"), format!("calibrate-{s}.yaml"));
                if matches!(scenario, Scenario::Rotate) {
                    h.provision(&name, &file, &[]).await.success();
                }
                scenario.prepare(&h.emu);
                let start = Instant::now();
                h.provision(&name, &file, scenario.extra()).await.success();
                spans.push(start.elapsed());
            }
            let mut rng = fastrand::Rng::with_seed(seed + w as u64);
            let mut outcomes = Vec::new();
            for i in (w..kills).step_by(WORKERS) {
                let s = i % SCENARIOS.len();
                let scenario = SCENARIOS[s];
                let at = spans[s].mul_f64(rng.f64());
                let (name, file) = (format!("sa-crash-{i}"), format!("crash-{i}.yaml"));
                if matches!(scenario, Scenario::Rotate) {
                    h.emu.clear_faults();
                    h.provision(&name, &file, &[]).await.success();
                }
                scenario.prepare(&h.emu);
                kill_at(&h, &name, &file, scenario.extra(), at).await;
                outcomes.push(state_after_kill(&h, &name, &file));
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
                    .unwrap()
                    .filter_map(|e| e.ok()?.file_name().into_string().ok())
                    .filter(|n| n.starts_with(&format!(".{file}.tmp")))
                    .collect();
                assert!(leftovers.is_empty(), "a temporary key file is left: {leftovers:?}");
            }
            outcomes
        }));
    }
    let mut outcomes = Vec::new();
    for w in workers {
        outcomes.extend(w.await.unwrap());
    }
    assert_eq!(outcomes.len(), kills);
    // The kills landed in different steps, including the two dangerous windows.
    let seen = |o: &str| outcomes.iter().filter(|x| x.as_str() == o).count();
    assert!(seen("no account") + seen("account, no key") > 0, "{outcomes:?}");
    assert!(seen("a key nobody holds") + seen("two live keys") > 0, "{outcomes:?}");
}

/// What a kill left behind, for checking that the moments spread over the steps.
fn state_after_kill(h: &Harness, name: &str, file: &str) -> String {
    let snap = h.emu.snapshot();
    let Some(sa) = snap.service_account_named(name) else {
        return "no account".into();
    };
    let live = snap.live_keys_of(&sa.id);
    let in_file = yc_iam::provision::StoredKey::read(&h.path(file))
        .ok()
        .flatten()
        .map(|k| k.id);
    match (live.len(), in_file) {
        (0, _) => "account, no key".into(),
        (1, Some(id)) if live[0].id == id => "done".into(),
        (1, _) => "a key nobody holds".into(),
        (2, _) => "two live keys".into(),
        (n, _) => format!("{n} live keys"),
    }
}

/// Starts `provision` and kills it with SIGKILL after `at` (if it is still running).
async fn kill_at(h: &Harness, name: &str, file: &str, extra: &[&str], at: Duration) {
    let mut cmd = h.command();
    cmd.args(["provision", "--folder-id", FOLDER, "--name", name, "--output", file])
        .args(extra);
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = cmd.spawn().expect("binary starts");
    tokio::time::sleep(at).await;
    // `kill` sends SIGKILL on Unix; it fails only if the process already exited.
    let _ = child.kill();
    tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
}
