//! `yc-iam rotate` killed with SIGKILL at any moment never loses the key: right after the kill the
//! key file holds a live key whose secret the emulator accepts, and so it does after every rerun.
//! A rerun finishes the rotation (the key an interrupted run made and never wrote is deleted, a
//! key that was not rotated yet is); when the kill left the rotation done, the rerun keeps the old
//! key, shown waiting for the grace. A run after the grace leaves the state of an uninterrupted
//! rotation: exactly one live key, a new one, the one in the file.
//!
//! Operations are slowed so the moments spread over every step (listing, reading the file, the
//! new key, writing it), and one scenario loses the key-create response once, which widens the
//! window where a key exists that the file does not hold. Each scenario's uninterrupted run is cut
//! into equal slices and each kill lands at a random point of its own slice; the slices reach a
//! little past the run's end, since the rotation is done only once the file is written and no
//! call follows that. `cargo test` runs 50 kills; more with `YC_CRASH_MOMENTS=200`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use time::format_description::well_known::Rfc3339;

use yc_iam::emulator::{Emulator, Fault};
use yc_iam::provision::StoredKey;

use super::crash::{kill_command_at, kills, landed, spread_kills, tally};
use super::{FOLDER, Harness};

const CREATE_KEY: &str = "/yandex.cloud.iam.v1.ApiKeyService/Create";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Scenario {
    /// A rotation as it runs.
    Plain,
    /// A rotation whose key-create response is lost once after the key was made.
    LostCreateResponse,
}

const SCENARIOS: [Scenario; 2] = [Scenario::Plain, Scenario::LostCreateResponse];

impl Scenario {
    fn prepare(self, emu: &Emulator) {
        emu.clear_faults();
        if self == Scenario::LostCreateResponse {
            emu.set_fault(CREATE_KEY, Fault::DropResponseAfterApply { n: 1 });
        }
    }
}

/// What a kill left behind, before the rerun.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum LeftBehind {
    /// Only the old key, in the file.
    NotRotated,
    /// A new key the file does not hold, beside the old one.
    KeyNobodyHolds,
    /// The new key in the file, the old one kept for the grace.
    Rotated,
}

/// How long a replaced key stays.
const GRACE: Duration = Duration::from_secs(3600);

/// `rotate` of one account's keys with a grace of an hour, the file given, judged at the
/// emulator's time.
fn rotate(h: &Harness, name: &str, file: &str, policy: &[&str]) -> Vec<String> {
    let now = h.emu.now().format(&Rfc3339).expect("formats");
    let mut args = vec![
        "rotate",
        "--folder-id",
        FOLDER,
        "--service-account-name",
        name,
        "--sink",
        file,
    ];
    args.extend_from_slice(policy);
    args.extend_from_slice(&["--grace", "1h", "--now", &now]);
    args.into_iter().map(str::to_owned).collect()
}

/// Provisions `name` into `file` and returns the key's id; the rotation follows at once.
async fn provisioned(h: &Harness, name: &str, file: &str) -> String {
    h.provision(name, file, &[]).await.success();
    StoredKey::read(&h.path(file)).unwrap().expect("provisioned").id
}

async fn run(h: &Harness, args: &[String]) -> super::Run {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    h.run(&args).await
}

const EVERY_KEY: &[&str] = &["--all-keys"];
/// Selects no key a test just made: the run only deletes replaced keys.
const NONE_YOUNG: &[&str] = &["--older-than", "1d"];

/// The key the file holds is live and its secret works; returns its id.
async fn file_key_works(h: &Harness, name: &str, file: &str, when: &str) -> String {
    let stored = StoredKey::read(&h.path(file))
        .expect("readable")
        .unwrap_or_else(|| panic!("{when}: the file holds a key"));
    let snap = h.emu.snapshot();
    let sa = snap.service_account_named(name).expect("the account");
    assert!(
        snap.live_keys_of(&sa.id).iter().any(|k| k.id == stored.id),
        "{when}: the key the file holds is live"
    );
    h.assert_secret_accepted(&stored, &sa.id).await;
    stored.id
}

fn live_keys(h: &Harness, name: &str) -> usize {
    let snap = h.emu.snapshot();
    let sa = snap.service_account_named(name).expect("the account");
    snap.live_keys_of(&sa.id).len()
}

fn left_behind(h: &Harness, name: &str, file: &str, original: &str) -> LeftBehind {
    let live = live_keys(h, name);
    let held = StoredKey::read(&h.path(file)).ok().flatten().map(|k| k.id);
    match (live, held.as_deref() == Some(original)) {
        (1, true) => LeftBehind::NotRotated,
        (2, true) => LeftBehind::KeyNobodyHolds,
        (2, false) => LeftBehind::Rotated,
        other => panic!("a kill left {other:?} for {name}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotate_killed_at_any_moment_never_loses_the_key_and_a_rerun_finishes_the_rotation() {
    let (kills, started) = (kills(), Instant::now());
    let calibrate = |h: Arc<Harness>, s: usize, scenario: Scenario| async move {
        let (name, file) = (format!("sa-calibrate-{s}"), format!("calibrate-{s}.yaml"));
        provisioned(&h, &name, &file).await;
        scenario.prepare(&h.emu);
        let start = Instant::now();
        run(&h, &rotate(&h, &name, &file, EVERY_KEY)).await.success();
        start.elapsed()
    };
    let kill = |h: Arc<Harness>, i: usize, scenario: Scenario, at: Duration| async move {
        let (name, file) = (format!("sa-crash-{i}"), format!("crash-{i}.yaml"));
        h.emu.clear_faults();
        let original = provisioned(&h, &name, &file).await;
        scenario.prepare(&h.emu);
        let args = rotate(&h, &name, &file, EVERY_KEY);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        kill_command_at(&h, &args, at).await;
        h.emu.clear_faults();
        let outcome = left_behind(&h, &name, &file, &original);
        file_key_works(&h, &name, &file, &format!("after a kill at {at:?}")).await;

        let rerun = run(&h, &rotate(&h, &name, &file, EVERY_KEY)).await;
        assert_eq!(rerun.code, Some(0), "rerun after a kill at {at:?}: {}", rerun.stderr);
        let held = file_key_works(&h, &name, &file, "after the rerun").await;
        if outcome == LeftBehind::Rotated {
            assert_eq!(live_keys(&h, &name), 2, "the old key stays for the grace");
            let row = rerun.stdout.lines().find(|l| l.contains(&original));
            assert!(
                row.is_some_and(|r| r.contains("wait") && r.contains(&held)),
                "the old key waits: {}",
                rerun.stdout
            );
        }
        h.emu.advance(GRACE + Duration::from_secs(60));
        let finish = run(&h, &rotate(&h, &name, &file, NONE_YOUNG)).await;
        assert_eq!(finish.code, Some(0), "{}", finish.stderr);
        let end = h.assert_provisioned(&name, &file).await;
        assert_ne!(end, original, "rotated once the runs are done (kill at {at:?})");
        outcome
    };
    // The slices reach 15% past the run: the rotation is done once the file is written.
    let seen = tally(spread_kills((&SCENARIOS, kills), (0x0707, 1.15), calibrate, kill).await);
    assert!(landed(&seen, &[LeftBehind::NotRotated]) > 0, "{seen:?}");
    assert!(landed(&seen, &[LeftBehind::KeyNobodyHolds]) > 0, "{seen:?}");
    assert!(landed(&seen, &[LeftBehind::Rotated]) > 0, "{seen:?}");
    println!(
        "rotate crash soak: {kills} SIGKILLs in {:.0} s; the file always held a working key, and every \
         rerun finished the rotation; left behind by the kills: {seen:?}",
        started.elapsed().as_secs_f64()
    );
}
