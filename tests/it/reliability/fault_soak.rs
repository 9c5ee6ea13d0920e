//! Many provisioning flows with distinct names through one client at
//! concurrency 32, against an emulator that fails 30% of calls with UNAVAILABLE, applies 5% of
//! calls and then drops their response, and now and then answers a burst of calls with
//! RESOURCE_EXHAUSTED. Every flow must complete, and an audit of the emulator's state must find
//! exactly the service accounts, bindings and keys asked for — no duplicate, no orphan, and every
//! live key's secret in the caller's hands.
//!
//! `cargo test` runs 40 flows. The full size:
//! `YC_SOAK_FLOWS=500 cargo test --test it fault_soak -- --ignored --nocapture`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use std::path::Path;

use futures_util::StreamExt as _;
use tonic::Code;
use yc_iam::emulator::{ALL_METHODS, DEFAULT_FOLDER_ID, DEFAULT_IAM_TOKEN, Emulator, Fault, Quota};
use yc_iam::model::AccessBinding;
use yc_iam::provision::{Provision, StoredKey};
use yc_iam::{Client, Credentials, ErrorKind, ExposeSecret as _, RetryPolicy, SecretString};

const FOLDER: &str = DEFAULT_FOLDER_ID;
const CONCURRENCY: usize = 32;
const ROLES: [&str; 2] = ["ai.languageModels.user", "viewer"];
const SCOPES: [&str; 1] = ["yc.ai.languageModels.execute"];
/// A flow is run again after the client gave up on one of its calls, at most this often.
const STEP_TRIES: usize = 40;
const UNAVAILABLE_RATE: f64 = 0.30;
const DROP_RATE: f64 = 0.05;
/// Calls answered RESOURCE_EXHAUSTED in one burst.
const BURST_CALLS: u32 = 24;
/// How often the fault schedule changes; one period in four starts with a burst.
const PERIOD: Duration = Duration::from_millis(150);

/// What one flow ended with.
struct Outcome {
    name: String,
    service_account_id: String,
    api_key_id: String,
    secret: SecretString,
}

/// Counters of what the flows had to get through.
#[derive(Default)]
struct Tally {
    reruns: AtomicUsize,
    already_exists: AtomicUsize,
}

/// The steady faults, with a burst of RESOURCE_EXHAUSTED in front when `burst`.
fn faults(seed: u64, burst: bool) -> Fault {
    let mut rules = Vec::new();
    if burst {
        rules.push(Fault::FailFirst {
            n: BURST_CALLS,
            code: Code::ResourceExhausted,
        });
    }
    rules.push(Fault::FailRate {
        rate: UNAVAILABLE_RATE,
        seed,
        code: Code::Unavailable,
    });
    rules.push(Fault::DropRate {
        rate: DROP_RATE,
        seed: seed ^ 0x5eed,
    });
    Fault::Any(rules)
}

/// The library's provisioning flow (`yc_iam::provision`), run again — as a person would rerun the
/// command — whenever a run fails because the client gave up on a call, up to `STEP_TRIES` runs.
async fn flow(client: &Client, tally: &Tally, dir: &Path, name: String) -> Result<Outcome, String> {
    let file = dir.join(format!("{name}.yaml"));
    let plan = Provision::new(FOLDER, name.clone())
        .description("fault soak")
        .roles(ROLES)
        .scopes(SCOPES)
        .key_description("fault soak")
        .output_file(&file);
    let mut last = String::new();
    for run in 0..STEP_TRIES {
        match plan.run(client).await {
            Ok(report) => {
                tally.reruns.fetch_add(run, Ordering::Relaxed);
                let stored = StoredKey::read(&file)
                    .map_err(|e| format!("{name}: {e}"))?
                    .ok_or_else(|| format!("{name}: no key file after a successful run"))?;
                return Ok(Outcome {
                    name,
                    service_account_id: report.service_account.id,
                    api_key_id: stored.id,
                    secret: stored.secret,
                });
            }
            Err(e) if e.is_invalid_input() => return Err(format!("{name}: {e}")),
            Err(e) => {
                if e.api_error().is_some_and(|a| a.kind() == ErrorKind::AlreadyExists) {
                    tally.already_exists.fetch_add(1, Ordering::Relaxed);
                }
                last = e.to_string();
            }
        }
    }
    Err(format!("{name}: still failing after {STEP_TRIES} runs: {last}"))
}

async fn soak(flows: usize) {
    // A cloud whose quota was raised: one service account per flow.
    let emu = Emulator::builder()
        .with_quota(Quota::ServiceAccountsPerCloud, flows as u64)
        .start()
        .await
        .expect("the emulator starts");
    let before = emu.snapshot();
    let baseline: BTreeSet<String> = before
        .access_bindings
        .get(FOLDER)
        .into_iter()
        .flatten()
        .map(|b| format!("{b:?}"))
        .collect();
    let client = Client::builder()
        .with_endpoint(emu.endpoint())
        .with_credentials(Credentials::iam_token(DEFAULT_IAM_TOKEN))
        .with_retry(
            RetryPolicy::default()
                .with_max_attempts(8)
                .with_initial_backoff(Duration::from_millis(5))
                .with_max_backoff(Duration::from_millis(100))
                .with_total_timeout(Duration::from_secs(30)),
        )
        .with_timeout(Duration::from_secs(10))
        .build()
        .expect("the client builds");

    // The fault schedule: steady faults, re-seeded every period, a burst one period in four.
    emu.set_fault(ALL_METHODS, faults(1, true));
    let emu = Arc::new(emu);
    let bursts = Arc::new(AtomicUsize::new(1));
    let schedule = {
        let (emu, bursts) = (emu.clone(), bursts.clone());
        tokio::spawn(async move {
            for period in 2u64..100_000 {
                tokio::time::sleep(PERIOD).await;
                let burst = period % 4 == 0;
                bursts.fetch_add(usize::from(burst), Ordering::Relaxed);
                emu.set_fault(ALL_METHODS, faults(period, burst));
            }
        })
    };

    let tally = Arc::new(Tally::default());
    let dir = tempfile::tempdir().expect("a scratch directory for the key files");
    let started = Instant::now();
    let names: Vec<String> = (0..flows).map(|i| format!("soak-{i:04}")).collect();
    let results: Vec<Result<Outcome, String>> = futures_util::stream::iter(names.clone())
        .map(|name| {
            let client = client.clone();
            let tally = tally.clone();
            let dir = dir.path().to_owned();
            async move { flow(&client, &tally, &dir, name).await }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let elapsed = started.elapsed();
    schedule.abort();
    let bursts = bursts.load(Ordering::Relaxed);
    emu.clear_faults();
    let journal_calls = emu.journal().len();

    let failures: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(
        failures.is_empty(),
        "{} of {flows} flows failed; first: {:?}",
        failures.len(),
        failures.first()
    );
    let outcomes: Vec<Outcome> = results.into_iter().filter_map(Result::ok).collect();

    // The audit.
    let after = emu.snapshot();
    let in_folder: Vec<_> = after
        .service_accounts
        .iter()
        .filter(|sa| sa.folder_id == FOLDER)
        .collect();
    let sa_names: BTreeSet<&str> = in_folder.iter().map(|sa| sa.name.as_str()).collect();
    assert_eq!(in_folder.len(), flows, "exactly one service account per flow");
    assert_eq!(sa_names.len(), flows, "no duplicate names");
    assert_eq!(
        sa_names,
        names.iter().map(String::as_str).collect(),
        "exactly the requested names"
    );
    let by_name: BTreeMap<&str, &str> = in_folder.iter().map(|sa| (sa.name.as_str(), sa.id.as_str())).collect();

    let bindings: Vec<String> = after
        .access_bindings
        .get(FOLDER)
        .into_iter()
        .flatten()
        .map(|b| format!("{b:?}"))
        .collect();
    let distinct: BTreeSet<String> = bindings.iter().cloned().collect();
    assert_eq!(bindings.len(), distinct.len(), "no duplicate bindings");
    let mut expected = baseline.clone();
    for o in &outcomes {
        assert_eq!(
            by_name.get(o.name.as_str()),
            Some(&o.service_account_id.as_str()),
            "{} is the account found",
            o.name
        );
        for role in ROLES {
            expected.insert(format!(
                "{:?}",
                AccessBinding::service_account(role, o.service_account_id.clone())
            ));
        }
    }
    assert_eq!(distinct, expected, "exactly the requested bindings");

    let live: Vec<_> = after.api_keys.iter().filter(|k| k.live).map(|k| &k.api_key).collect();
    let dead = after.api_keys.len() - live.len();
    assert_eq!(live.len(), flows, "exactly one live key per flow");
    for o in &outcomes {
        let keys = after.live_keys_of(&o.service_account_id);
        assert_eq!(keys.len(), 1, "{} has exactly one live key", o.name);
        let key = keys[0];
        assert_eq!(
            key.id, o.api_key_id,
            "{}'s live key is the one whose secret the flow holds",
            o.name
        );
        let secret = o.secret.expose_secret();
        assert!(
            key.masked_secret.ends_with(&secret[secret.len() - 6..]),
            "{}: the secret matches the key",
            o.name
        );
        assert_eq!(key.scopes, SCOPES, "{}: the requested scopes", o.name);
    }
    // Every secret held really opens its key.
    let checks = futures_util::stream::iter(&outcomes)
        .map(|o| {
            let endpoint = emu.endpoint();
            async move {
                let by_key = Client::builder()
                    .with_endpoint(endpoint)
                    .with_credentials(Credentials::api_key(o.secret.expose_secret()))
                    .build()
                    .expect("client");
                by_key
                    .api_keys()
                    .get(o.api_key_id.clone())
                    .await
                    .map(|k| k.id == o.api_key_id)
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<_>>()
        .await;
    assert!(
        checks.iter().all(|c| matches!(c, Ok(true))),
        "every secret authenticates as its key"
    );

    let reruns = tally.reruns.load(Ordering::Relaxed);
    let already = tally.already_exists.load(Ordering::Relaxed);
    println!(
        "fault soak: {flows} flows at concurrency {CONCURRENCY} through one client in {:.1} s; faults: {:.0}% UNAVAILABLE, \
         {:.0}% applied-then-dropped, {bursts} bursts of {BURST_CALLS} RESOURCE_EXHAUSTED; last {journal_calls} calls journaled; \
         {reruns} flows rerun after the client gave up on a call ({already} of them on ALREADY_EXISTS); audit: {} service accounts, \
         {} bindings ({} requested), {} live keys each opened by its secret, {dead} keys deleted by reconciliation, \
         0 duplicates, 0 orphans",
        elapsed.as_secs_f64(),
        UNAVAILABLE_RATE * 100.0,
        DROP_RATE * 100.0,
        in_folder.len(),
        distinct.len() - baseline.len(),
        flows * ROLES.len(),
        live.len(),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forty_faulty_flows_leave_exactly_what_was_asked() {
    soak(super::env_count("YC_SOAK_FLOWS_CI", 40)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "full size: YC_SOAK_FLOWS=500 cargo test --test it fault_soak -- --ignored --nocapture"]
async fn five_hundred_faulty_flows_leave_exactly_what_was_asked() {
    soak(super::env_count("YC_SOAK_FLOWS", 500)).await;
}
