//! A `provision` killed with SIGKILL, then run again, ends in the state of an uninterrupted run:
//! one service account, the binding, exactly one live key, the one in the file, whose secret the
//! emulator accepts, and no temporary file. It holds for each kind of key: API keys (key file),
//! authorized keys (`key.json`, its key signs in) and static access keys (AWS credentials file).
//!
//! Operations are slowed so the moments spread over every step, and two windows that are short
//! in real life are widened with emulator faults:
//! - a key created whose secret has not reached the file: the first `Create` response of the
//!   kind's service is lost after the key was made, so the client waits to retry (a kill there
//!   leaves an orphan key that only the description marker identifies);
//! - during `--rotate`, the new key written but the old one not yet deleted: `Delete` is delayed.
//!
//! Each scenario's uninterrupted run is cut into as many equal slices as it gets kills, and each
//! kill lands at a random point of its own slice: no stretch of the run is missed. `cargo test`
//! runs 50 kills per kind; the full soak is `YC_CRASH_MOMENTS=200 cargo test --test it
//! provision_killed -- --nocapture`.

use std::collections::BTreeMap;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use yc_iam::emulator::{Emulator, Fault, Snapshot};
use yc_iam::provision::{KeyType, StoredKey};

use super::{FOLDER, Harness};
use crate::common::client_with;

/// How long operations take.
pub(super) const OP_DELAY: Duration = Duration::from_millis(120);
/// Each worker has its own emulator, so the faults it sets affect only its own runs.
pub(super) const WORKERS: usize = 5;
pub(super) const DELETE_KEY: &str = "/yandex.cloud.iam.v1.ApiKeyService/Delete";

/// A kind of key as the soak drives and checks it.
#[derive(Debug, Clone, Copy)]
struct Kind(KeyType);

impl Kind {
    /// The kind's service, whose `Create` and `Delete` the faults slow down or cut.
    fn service(self) -> &'static str {
        match self.0 {
            KeyType::ApiKey => "/yandex.cloud.iam.v1.ApiKeyService",
            KeyType::AuthorizedKey => "/yandex.cloud.iam.v1.KeyService",
            KeyType::StaticKey => "/yandex.cloud.iam.v1.awscompatibility.AccessKeyService",
        }
    }

    /// How long a rotation's delete of the old key is held: the window with two live keys. An
    /// authorized key's create takes as long as the search for its RSA primes, which varies
    /// several-fold from run to run; a window that short against that spread would be missed by
    /// every kill, so it is widened for that kind.
    fn delete_delay(self) -> Duration {
        match self.0 {
            KeyType::AuthorizedKey => Duration::from_secs(2),
            _ => Duration::from_millis(200),
        }
    }

    fn file(self, stem: &str) -> String {
        let ext = match self.0 {
            KeyType::ApiKey => "yaml",
            KeyType::AuthorizedKey => "json",
            KeyType::StaticKey => "credentials",
        };
        format!("{stem}.{ext}")
    }

    /// The extra arguments of a run: the kind and the scenario's.
    fn args(self, scenario: Scenario) -> Vec<&'static str> {
        let mut args = vec!["--key-type", self.0.name()];
        if self.0 == KeyType::AuthorizedKey {
            // The emulator makes an RSA key pair per create, on the test machine's cores, which
            // the five workers and everything else running share: a create can outlast the
            // default 30 s per call there, which no real server takes.
            args.extend_from_slice(&["--timeout", "3m"]);
        }
        args.extend_from_slice(scenario.extra());
        args
    }

    /// The id the file names the key by; `None` when there is no readable key in it.
    fn in_file(self, h: &Harness, file: &str) -> Option<String> {
        let path = h.path(file);
        match self.0 {
            KeyType::ApiKey => StoredKey::read(&path).ok().flatten().map(|k| k.id),
            KeyType::AuthorizedKey => yc_iam::AuthorizedKey::from_file(&path).ok().map(|k| k.id().to_owned()),
            KeyType::StaticKey => aws_profile(&path).map(|(id, _)| id),
        }
    }

    /// The ids files name the live keys of this kind by.
    fn live(self, snap: &Snapshot, account: &str) -> Vec<String> {
        match self.0 {
            KeyType::ApiKey => snap.live_keys_of(account).iter().map(|k| k.id.clone()).collect(),
            KeyType::AuthorizedKey => snap.authorized_keys_of(account).iter().map(|k| k.id.clone()).collect(),
            KeyType::StaticKey => snap.access_keys_of(account).iter().map(|k| k.key_id.clone()).collect(),
        }
    }

    /// The end state of an uninterrupted run: one account with the binding, exactly one live key
    /// of the kind, the one in the file, whose secret works.
    async fn assert_provisioned(self, h: &Harness, name: &str, file: &str) {
        if let KeyType::ApiKey = self.0 {
            h.assert_provisioned(name, file).await;
            return;
        }
        let snap = h.emu.snapshot();
        let accounts: Vec<_> = snap.service_accounts.iter().filter(|sa| sa.name == name).collect();
        assert_eq!(accounts.len(), 1, "exactly one service account {name}");
        let sa = accounts[0];
        let bound = snap.access_bindings.get(FOLDER).into_iter().flatten().any(|b| {
            b.subject
                .as_ref()
                .is_some_and(|s| s.r#type == "serviceAccount" && s.id == sa.id)
        });
        assert!(bound, "the role is bound for {name}");
        let live = self.live(&snap, &sa.id);
        assert_eq!(live.len(), 1, "exactly one live {:?} for {name}: {live:?}", self.0);
        assert_eq!(
            self.in_file(h, file).as_ref(),
            Some(&live[0]),
            "the file holds the live key"
        );
        match self.0 {
            KeyType::AuthorizedKey => {
                let key = yc_iam::AuthorizedKey::from_file(h.path(file)).expect("a key file");
                let client = client_with(&h.emu, yc_iam::Credentials::authorized_key(key));
                let got = client.service_accounts().get(&sa.id).await.expect("the key signs in");
                assert_eq!(got.id, sa.id);
            }
            _ => {
                let (id, secret) = aws_profile(&h.path(file)).expect("a profile");
                assert!(h.emu.accepts_access_key(&id, &secret), "the secret is accepted");
            }
        }
    }
}

/// The access key id and secret of the `[default]` profile of an AWS credentials file.
fn aws_profile(path: &std::path::Path) -> Option<(String, String)> {
    let text = std::fs::read_to_string(path).ok()?;
    let profile = text.split("[default]\n").nth(1)?;
    let value = |name: &str| {
        profile
            .lines()
            .take_while(|l| !l.starts_with('['))
            .find_map(|l| l.strip_prefix(name)?.trim_start().strip_prefix('='))
            .map(|v| v.trim().to_owned())
    };
    Some((value("aws_access_key_id")?, value("aws_secret_access_key")?))
}

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
    fn prepare(self, emu: &Emulator, kind: Kind) {
        emu.clear_faults();
        let method = |name: &str| format!("{}/{name}", kind.service());
        match self {
            Scenario::Fresh => {}
            Scenario::LostCreateResponse => {
                emu.set_fault(&method("Create"), Fault::DropResponseAfterApply { n: 1 });
            }
            Scenario::Rotate => emu.set_fault(&method("Delete"), Fault::Delay(kind.delete_delay())),
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

/// The number of kills per kind: 50, or `YC_CRASH_MOMENTS`.
pub(super) fn kills() -> usize {
    std::env::var("YC_CRASH_MOMENTS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(50)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provision_killed_at_any_moment_recovers_every_time() {
    kill_and_recover(Kind(KeyType::ApiKey), kills(), 0x5eed).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provision_killed_at_any_moment_recovers_every_time_for_authorized_keys() {
    kill_and_recover(Kind(KeyType::AuthorizedKey), kills(), 0xa17e).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provision_killed_at_any_moment_recovers_every_time_for_static_keys() {
    kill_and_recover(Kind(KeyType::StaticKey), kills(), 0x57a7).await;
}

/// The skeleton of every crash soak: `kills` kills spread over `scenarios`. `WORKERS` workers, each
/// with its own emulator whose operations take `OP_DELAY`, first time each scenario's
/// uninterrupted run (`calibrate` runs scenario `s` and answers how long the part that is killed
/// took), then share the kills: kill `i` of scenario `s` (`kill` runs it and checks the recovery)
/// lands at a random point of its own slice of that run, so no stretch of the run is missed. The
/// slices reach `stretch` times the run (1.05: past its very end), and the very last kill lands at
/// `LATE` times the run: a machine that got busier since the calibration slows every run, and
/// without it no kill might land after a run's last step. Each worker's random
/// points come from `seed` plus its number. Answers each kill's scenario and what `kill` found.
/// Needs a multi-threaded runtime.
/// Where the very last kill lands, in runs as calibrated: after the run's end even when the
/// machine has become several times slower.
const LATE: f64 = 5.0;

pub(super) async fn spread_kills<S, O, C, CF, K, KF>(
    (scenarios, kills): (&'static [S], usize),
    (seed, stretch): (u64, f64),
    calibrate: C,
    kill: K,
) -> Vec<(S, O)>
where
    S: Copy + Send + Sync + 'static,
    O: Send + 'static,
    C: Fn(Arc<Harness>, usize, S) -> CF + Clone + Send + 'static,
    CF: Future<Output = Duration> + Send,
    K: Fn(Arc<Harness>, usize, S, Duration) -> KF + Clone + Send + 'static,
    KF: Future<Output = O> + Send,
{
    let per_scenario = kills.div_ceil(scenarios.len());
    let mut workers = Vec::new();
    for w in 0..WORKERS {
        let (calibrate, kill) = (calibrate.clone(), kill.clone());
        workers.push(tokio::spawn(async move {
            let h = Arc::new(Harness::with(Emulator::builder().with_op_delay(OP_DELAY)).await);
            let mut spans = Vec::new();
            for (s, scenario) in scenarios.iter().enumerate() {
                spans.push(calibrate(h.clone(), s, *scenario).await);
            }
            let mut rng = fastrand::Rng::with_seed(seed + w as u64);
            let mut outcomes = Vec::new();
            for i in (w..kills).step_by(WORKERS) {
                let s = i % scenarios.len();
                // Slice `i / scenarios` of the run, stretched.
                let slice = (i / scenarios.len()) as f64;
                let at = if i + 1 == kills {
                    spans[s].mul_f64(LATE)
                } else {
                    spans[s].mul_f64((slice + rng.f64()) / per_scenario as f64 * stretch)
                };
                outcomes.push((scenarios[s], kill(h.clone(), i, scenarios[s], at).await));
            }
            outcomes
        }));
    }
    let mut outcomes = Vec::new();
    for w in workers {
        outcomes.extend(w.await.expect("a worker finished"));
    }
    assert_eq!(outcomes.len(), kills);
    outcomes
}

/// How many kills left one of the `wanted` outcomes, in any scenario.
pub(super) fn landed<S, O: PartialEq>(seen: &BTreeMap<(S, O), usize>, wanted: &[O]) -> usize {
    seen.iter()
        .filter(|((_, outcome), _)| wanted.contains(outcome))
        .map(|(_, n)| n)
        .sum()
}

/// How many kills of each scenario left each outcome.
pub(super) fn tally<S: Ord, O: Ord>(outcomes: impl IntoIterator<Item = (S, O)>) -> BTreeMap<(S, O), usize> {
    let mut seen = BTreeMap::new();
    for outcome in outcomes {
        *seen.entry(outcome).or_default() += 1;
    }
    seen
}

/// Kills `provision` at `kills` moments spread over the scenarios, reruns it after each kill, and
/// checks the end state every time; panics on the first violation. Needs a multi-threaded runtime.
async fn kill_and_recover(kind: Kind, kills: usize, seed: u64) {
    let started = Instant::now();
    let calibrate = move |h: Arc<Harness>, s: usize, scenario: Scenario| async move {
        let (name, file) = (format!("sa-calibrate-{s}"), kind.file(&format!("calibrate-{s}")));
        if scenario == Scenario::Rotate {
            h.provision(&name, &file, &kind.args(Scenario::Fresh)).await.success();
        }
        scenario.prepare(&h.emu, kind);
        let start = Instant::now();
        h.provision(&name, &file, &kind.args(scenario)).await.success();
        start.elapsed()
    };
    let kill = move |h: Arc<Harness>, i: usize, scenario: Scenario, at: Duration| async move {
        let (name, file) = (format!("sa-crash-{i}"), kind.file(&format!("crash-{i}")));
        if scenario == Scenario::Rotate {
            h.emu.clear_faults();
            h.provision(&name, &file, &kind.args(Scenario::Fresh)).await.success();
        }
        scenario.prepare(&h.emu, kind);
        let running = kill_at(&h, &name, &file, &kind.args(scenario), at).await;
        let left = left_behind(&h, kind, &name, &file);
        h.emu.clear_faults();
        let again = h.provision(&name, &file, &kind.args(Scenario::Fresh)).await;
        assert_eq!(
            again.code,
            Some(0),
            "rerun after a kill at {at:?} ({scenario:?}): {}",
            again.stderr
        );
        kind.assert_provisioned(&h, &name, &file).await;
        let leftovers: Vec<_> = std::fs::read_dir(h.dir.path())
            .expect("the scratch directory")
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.contains(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "a temporary key file is left: {leftovers:?}");
        (left, running)
    };
    let outcomes = spread_kills((&SCENARIOS, kills), (seed, 1.05), calibrate, kill).await;
    let running = outcomes.iter().filter(|(_, (_, running))| *running).count();
    let seen = tally(outcomes.into_iter().map(|(scenario, (left, _))| (scenario, left)));
    // The kills landed in different steps, including the two dangerous windows.
    assert!(
        landed(&seen, &[LeftBehind::Nothing, LeftBehind::AccountWithoutKey]) > 0,
        "{seen:?}"
    );
    assert!(
        landed(&seen, &[LeftBehind::KeyNobodyHolds, LeftBehind::TwoLiveKeys]) > 0,
        "{seen:?}"
    );
    println!(
        "crash soak ({:?}): {kills} SIGKILLs ({running} while running, the rest just after it finished) over {} scenarios \
         in {:.0} s; every rerun ended in the state of an uninterrupted run (one account, the binding, one live key, \
         the one in the file, its secret accepted, no temporary file); left behind by the kills: {seen:?}",
        kind.0,
        SCENARIOS.len(),
        started.elapsed().as_secs_f64()
    );
}

/// What a kill left behind, for checking that the moments spread over the steps.
fn left_behind(h: &Harness, kind: Kind, name: &str, file: &str) -> LeftBehind {
    let snap = h.emu.snapshot();
    let Some(sa) = snap.service_account_named(name) else {
        return LeftBehind::Nothing;
    };
    let live = kind.live(&snap, &sa.id);
    match (live.len(), kind.in_file(h, file)) {
        (0, _) => LeftBehind::AccountWithoutKey,
        (1, Some(id)) if live[0] == id => LeftBehind::FinishedRun,
        (1, _) => LeftBehind::KeyNobodyHolds,
        (2, _) => LeftBehind::TwoLiveKeys,
        _ => LeftBehind::MoreLiveKeys,
    }
}

/// Starts `provision` and kills it with SIGKILL after `at`; true if it was still running.
pub(super) async fn kill_at(h: &Harness, name: &str, file: &str, extra: &[&str], at: Duration) -> bool {
    let mut args = vec!["provision", "--folder-id", FOLDER, "--name", name, "--output", file];
    args.extend_from_slice(extra);
    kill_command_at(h, &args, at).await
}

/// Starts the binary with `args` and kills it with SIGKILL after `at`; true if it was still
/// running.
pub(super) async fn kill_command_at(h: &Harness, args: &[&str], at: Duration) -> bool {
    let mut cmd = h.command();
    cmd.args(args).stdout(Stdio::null()).stderr(Stdio::null());
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
