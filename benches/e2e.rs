//! End-to-end figures that criterion is not made for; `benches/run.sh` runs them.
//!
//! ```text
//! cargo bench --bench e2e -- wait [--flows N]          (2) the flow with operations that take 1 s
//! cargo bench --bench e2e -- bulk [--endpoint URL] [--flows N] [--concurrency C] [--rounds R]
//!                                                      (4) many flows over one client
//! cargo bench --bench e2e -- overhead [--rounds N]     (1) facade vs stubs (plain, and sending
//!                                                      the facade's headers), rounds alternated
//! cargo bench --bench e2e -- profile [--facade|--stubs|--stubs-spec|--gets] [--flows N] [--concurrency N]
//!                                                      a plain loop of flows to run under callgrind
//! cargo bench --bench e2e -- sinks [--rounds N] [--runs N]
//!                                                      (8) provision into Lockbox vs into a key file,
//!                                                      against one emulator, rounds alternated
//! cargo bench --bench e2e -- audit [--rounds N] [--parallel N] [--latency-ms MS]
//!                                                      (10) `yc_iam::audit` over 100 accounts × 3 keys
//!                                                      vs the same listings one call at a time,
//!                                                      rounds alternated; MS held on every call
//! cargo bench --bench e2e -- fleet [--rounds N] [--parallel N] [--accounts N]
//!                                                      (9) `yc-iam apply` of N accounts (one role,
//!                                                      one API key in a file each), its no-op
//!                                                      re-apply, and N sequential `yc-iam
//!                                                      provision` runs, all against one `yc-iam
//!                                                      emulator` process, rounds alternated
//! ```
//! With no mode (as plain `cargo bench` runs it) both run once, small.

mod common;

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use common::{
    Stubs, arg, emulator, facade, facade_flow, median, process_cpu, run_concurrent, runtime, stub_flow, unique_name,
};

const GET_OPERATION: &str = "/yandex.cloud.operation.OperationService/Get";

/// (2) Sequential flows against an emulator whose operations take 1 s: wall time per flow and
/// `OperationService.Get` calls per operation (from the emulator's journal).
async fn wait(flows: usize) {
    let emu = emulator(Duration::from_secs(1)).await;
    let client = facade(&emu.endpoint());
    let mut times = Vec::new();
    for _ in 0..flows {
        emu.clear_journal();
        let start = Instant::now();
        facade_flow(&client, unique_name("w")).await.expect("flow");
        let took = start.elapsed();
        let polls = emu.journal().iter().filter(|e| e.method == GET_OPERATION).count();
        println!(
            "wait: flow with 1 s operations took {:.3} s, {:.1} polls per operation",
            took.as_secs_f64(),
            polls as f64 / 2.0
        );
        times.push(took.as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    println!(
        "wait: median {:.3} s over {flows} flows (floor 2.000 s)",
        times[times.len() / 2]
    );
    emu.shutdown().await;
}

/// (4) `flows` flows at `concurrency` over one client, `rounds` times: flows per second, and the median.
async fn bulk(endpoint: Option<String>, flows: usize, concurrency: usize, rounds: usize) {
    let local = match &endpoint {
        Some(_) => None,
        None => Some(emulator(Duration::ZERO).await),
    };
    let endpoint = endpoint.unwrap_or_else(|| local.as_ref().map(|e| e.endpoint()).unwrap_or_default());
    let client = facade(&endpoint);
    // Discovery and the connection happen once per client; not part of the figure.
    facade_flow(&client, unique_name("bulk-warm"))
        .await
        .expect("warm-up flow");
    let mut rates = Vec::new();
    for round in 0..rounds.max(1) {
        let failures = Arc::new(AtomicUsize::new(0));
        let prefix = format!("bulk{}r{round}", std::process::id());
        let took = {
            let failures = failures.clone();
            let client = client.clone();
            run_concurrent(flows, concurrency, move |_| {
                let client = client.clone();
                let failures = failures.clone();
                let name = unique_name(&prefix);
                async move {
                    if let Err(e) = facade_flow(&client, name).await {
                        eprintln!("bulk: flow failed: {e}");
                        failures.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
            .await
        };
        let rate = flows as f64 / took.as_secs_f64();
        println!(
            "bulk: {flows} flows at concurrency {concurrency} over one client in {:.3} s = {rate:.1} flows/s ({} failed)",
            took.as_secs_f64(),
            failures.load(Ordering::Relaxed)
        );
        rates.push(rate);
    }
    rates.sort_by(f64::total_cmp);
    println!(
        "bulk: median {:.1} flows/s over {} rounds",
        rates[rates.len() / 2],
        rates.len()
    );
    if let Some(emu) = local {
        emu.shutdown().await;
    }
}

/// (1) Facade against stubs, alternating rounds so that a change in the machine's load hits
/// all alike: per round, 200 sequential flows and 1,000 flows at concurrency 64 for each of the
/// plain stubs, the stubs sending the facade's headers by hand, and the facade. Each variant has its
/// own emulator, so none sees a store another filled. Prints medians.
async fn overhead(rounds: usize) {
    const VARIANTS: [&str; 3] = ["stubs", "stubs + facade headers", "facade"];
    let mut emulators = Vec::new();
    for _ in VARIANTS {
        emulators.push(emulator(Duration::ZERO).await);
    }
    let plain = Stubs::connect(&emulators[0].endpoint()).await;
    let with_headers = Stubs::connect(&emulators[1].endpoint()).await.with_spec_metadata();
    let client = facade(&emulators[2].endpoint());
    let flow = move |variant: usize, name: String| {
        let (plain, with_headers, client) = (plain.clone(), with_headers.clone(), client.clone());
        async move {
            match variant {
                0 => stub_flow(&plain, name, Duration::ZERO).await.map(drop).expect("flow"),
                1 => stub_flow(&with_headers, name, Duration::ZERO)
                    .await
                    .map(drop)
                    .expect("flow"),
                _ => facade_flow(&client, name).await.expect("flow"),
            }
        }
    };
    for variant in 0..VARIANTS.len() {
        flow(variant, unique_name("ow")).await;
    }
    let mut sequential = vec![Vec::new(); VARIANTS.len()];
    let mut bulk = vec![Vec::new(); VARIANTS.len()];
    for _ in 0..rounds {
        for (variant, times) in sequential.iter_mut().enumerate() {
            let start = Instant::now();
            for _ in 0..200 {
                flow(variant, unique_name("os")).await;
            }
            times.push(start.elapsed().as_secs_f64() / 200.0);
        }
        for (variant, rates) in bulk.iter_mut().enumerate() {
            let flow = flow.clone();
            let took = run_concurrent(1_000, 64, move |_| flow(variant, unique_name("ob"))).await;
            rates.push(1_000.0 / took.as_secs_f64());
        }
    }
    let seq: Vec<f64> = sequential.into_iter().map(|mut v| median(&mut v)).collect();
    let rate: Vec<f64> = bulk.into_iter().map(|mut v| median(&mut v)).collect();
    print_split(
        &format!("sequential flow (median of {rounds} rounds)"),
        VARIANTS.iter().zip(&seq).map(|(v, t)| format!("{v} {:.0} µs", t * 1e6)),
        "time",
        [seq[2] / seq[0], seq[1] / seq[0], seq[2] / seq[1]],
    );
    print_split(
        "1,000 flows at 64",
        VARIANTS.iter().zip(&rate).map(|(v, r)| format!("{v} {r:.0} flows/s")),
        "throughput",
        [rate[2] / rate[0], rate[1] / rate[0], rate[2] / rate[1]],
    );
    for emu in emulators {
        emu.shutdown().await;
    }
}

/// (8) `Provision::run` into a Lockbox secret against the same into a key file, on one emulator:
/// a first run (account, roles, key; for Lockbox also the secret and its first version), a second
/// run (nothing to change) and a rotation. Each round times `runs` of each, file and Lockbox
/// alternated; the medians over the rounds and their ratio (Lockbox / file) are printed.
async fn sinks(rounds: usize, runs: usize) {
    use yc_iam::provision::{KeySink, LockboxSink, Provision};
    const STEPS: [&str; 3] = ["first run", "second run", "rotation"];
    let emu = emulator(Duration::ZERO).await;
    let client = facade(&emu.endpoint());
    let dir = tempfile::tempdir().expect("temp dir");
    let sink = |lockbox: bool, name: &str| {
        if lockbox {
            KeySink::Lockbox(LockboxSink::new(name))
        } else {
            KeySink::File(dir.path().join(format!("{name}.yaml")))
        }
    };
    // Discovery and the connections (both Lockbox endpoints too) are not part of the figure.
    for lockbox in [false, true] {
        let name = unique_name("sink-warm");
        let p = Provision::new(yc_iam::emulator::DEFAULT_FOLDER_ID, &name).output(sink(lockbox, &name));
        p.run(&client).await.expect("warm-up run");
    }
    // times[step][lockbox] = per-round mean seconds per run; calls[step][lockbox] = calls per run.
    let mut times = vec![[Vec::new(), Vec::new()]; STEPS.len()];
    let mut calls = vec![[0.0; 2]; STEPS.len()];
    for _ in 0..rounds {
        for lockbox in [false, true] {
            let names: Vec<String> = (0..runs).map(|_| unique_name("sink")).collect();
            let plans: Vec<Provision> = names
                .iter()
                .map(|name| Provision::new(yc_iam::emulator::DEFAULT_FOLDER_ID, name).output(sink(lockbox, name)))
                .collect();
            for (step, slot) in times.iter_mut().enumerate() {
                emu.clear_journal();
                let start = Instant::now();
                for p in &plans {
                    p.clone().rotate(step == 2).run(&client).await.expect("run");
                }
                slot[usize::from(lockbox)].push(start.elapsed().as_secs_f64() / runs as f64);
                calls[step][usize::from(lockbox)] = emu.journal().len() as f64 / runs as f64;
            }
        }
    }
    for ((step, [file, lockbox]), [file_calls, lockbox_calls]) in STEPS.iter().zip(times.iter_mut()).zip(calls) {
        let (file, lockbox) = (median(file), median(lockbox));
        println!(
            "sinks: {step}: file {:.0} µs ({file_calls:.1} calls), lockbox {:.0} µs ({lockbox_calls:.1} calls), \
             lockbox/file {:.2} (median of {rounds} rounds of {runs})",
            file * 1e6,
            lockbox * 1e6,
            lockbox / file
        );
    }
    emu.shutdown().await;
}

/// Prints a line of figures, one per variant, and a line of ratios: facade over stubs, split into
/// the stubs sending the facade's headers over the stubs, and the facade over those.
fn print_split(what: &str, figures: impl Iterator<Item = String>, measure: &str, [all, headers, code]: [f64; 3]) {
    println!("overhead: {what}: {}", figures.collect::<Vec<_>>().join(", "));
    println!(
        "overhead: {what}: facade/stubs {measure} {all:.2}; of which the headers {headers:.2} and the \
         facade's code {code:.2}"
    );
}

/// A plain loop of sequential flows (or, with `--gets`, `ServiceAccountService.Get` calls through
/// the stubs), to run under `valgrind --tool=callgrind`.
async fn profile(use_stubs: bool, spec_headers: bool, gets: bool, flows: usize, concurrency: usize) {
    let emu = emulator(Duration::ZERO).await;
    let mut stubs = Stubs::connect(&emu.endpoint()).await;
    if spec_headers {
        stubs = stubs.with_spec_metadata();
    }
    let client = facade(&emu.endpoint());
    if gets {
        let account = client
            .service_accounts()
            .create(yc_iam::CreateServiceAccount::new(
                yc_iam::emulator::DEFAULT_FOLDER_ID,
                "profiled",
            ))
            .await
            .expect("create")
            .wait()
            .await
            .expect("wait");
        for _ in 0..flows {
            let request = yc_iam::proto::yandex::cloud::iam::v1::GetServiceAccountRequest {
                service_account_id: account.id.clone(),
            };
            yc_iam::proto::yandex::cloud::iam::v1::service_account_service_client::ServiceAccountServiceClient::new(
                stubs.channel(),
            )
            .get(stubs.request(request))
            .await
            .expect("get");
        }
        emu.shutdown().await;
        return;
    }
    if concurrency > 1 {
        run_concurrent(flows, concurrency, move |_| {
            let (stubs, client) = (stubs.clone(), client.clone());
            async move {
                if use_stubs {
                    stub_flow(&stubs, unique_name("p"), Duration::ZERO).await.expect("flow");
                } else {
                    facade_flow(&client, unique_name("p")).await.expect("flow");
                }
            }
        })
        .await;
        emu.shutdown().await;
        return;
    }
    for _ in 0..flows {
        if use_stubs {
            stub_flow(&stubs, unique_name("p"), Duration::ZERO).await.expect("flow");
        } else {
            facade_flow(&client, unique_name("p")).await.expect("flow");
        }
    }
    emu.shutdown().await;
}

/// (10) 100 service accounts with three keys each (API keys, static keys and one authorized key in
/// ten), then `yc_iam::audit` and the same listings made one call at a time, alternated round by
/// round: the median of each and their ratio. With `latency_ms`, the emulator holds every call
/// that long before handling it, as a network between client and cloud would.
async fn audit(rounds: usize, parallel: usize, latency_ms: u64) {
    use futures_util::TryStreamExt as _;
    use yc_iam::audit::{Policy, Scope};
    use yc_iam::{CreateAccessKey, CreateApiKey, CreateKey, CreateServiceAccount};

    let emu = emulator(Duration::ZERO).await;
    let client = facade(&emu.endpoint());
    let folder = yc_iam::emulator::DEFAULT_FOLDER_ID;
    for i in 0..100 {
        let sa = client
            .service_accounts()
            .create(CreateServiceAccount::new(folder, format!("audit-{i:03}")))
            .await
            .expect("create")
            .wait()
            .await
            .expect("made");
        client
            .api_keys()
            .create(CreateApiKey::new(&sa.id))
            .await
            .expect("api key");
        client
            .access_keys()
            .create(CreateAccessKey::new(&sa.id))
            .await
            .expect("static key");
        if i % 10 == 0 {
            client
                .keys()
                .create(CreateKey::new(&sa.id))
                .await
                .expect("authorized key");
        } else {
            client
                .api_keys()
                .create(CreateApiKey::new(&sa.id))
                .await
                .expect("api key");
        }
    }
    if latency_ms > 0 {
        let latency = Duration::from_millis(latency_ms);
        emu.set_fault(yc_iam::emulator::ALL_METHODS, yc_iam::emulator::Fault::Delay(latency));
    }
    let scope = Scope::Folder(folder.to_owned());
    let policy = Policy::default().parallel(parallel);
    let (mut concurrent, mut sequential) = (Vec::new(), Vec::new());
    // CPU time of the whole process (client and in-process emulator) per variant: divided by the
    // wall time, how many cores each kept busy.
    let (mut concurrent_cpu, mut sequential_cpu) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..rounds {
        let (start, cpu) = (Instant::now(), process_cpu());
        let inventory = yc_iam::audit::audit(&client, &scope, &policy).await.expect("audit");
        concurrent.push(start.elapsed().as_secs_f64());
        concurrent_cpu += process_cpu() - cpu;
        assert_eq!(inventory.keys().count(), 300);

        let (start, cpu) = (Instant::now(), process_cpu());
        let mut keys = 0;
        let accounts: Vec<yc_iam::model::ServiceAccount> = client
            .service_accounts()
            .list(folder)
            .try_collect()
            .await
            .expect("accounts");
        for sa in &accounts {
            let api: Vec<_> = client.api_keys().list(&sa.id).try_collect().await.expect("api keys");
            let authorized: Vec<_> = client.keys().list(&sa.id).try_collect().await.expect("keys");
            let access: Vec<_> = client
                .access_keys()
                .list(&sa.id)
                .try_collect()
                .await
                .expect("access keys");
            keys += api.len() + authorized.len() + access.len();
        }
        sequential.push(start.elapsed().as_secs_f64());
        sequential_cpu += process_cpu() - cpu;
        assert_eq!(keys, 300);
    }
    let cores = |cpu: Duration, wall: &[f64]| cpu.as_secs_f64() / wall.iter().sum::<f64>();
    let (concurrent_cores, sequential_cores) = (cores(concurrent_cpu, &concurrent), cores(sequential_cpu, &sequential));
    let (c, s) = (median(&mut concurrent), median(&mut sequential));
    println!(
        "audit: 100 accounts x 3 keys, 301 listings, {latency_ms} ms added per call: audit at --parallel {parallel} {:.1} ms, \
         one call at a time {:.1} ms, ratio {:.3} (median of {rounds}); cores kept busy (process CPU / wall): \
         audit {concurrent_cores:.2}, one at a time {sequential_cores:.2}",
        c * 1e3,
        s * 1e3,
        c / s
    );
}

/// (9) A fleet of `accounts` service accounts, each with one folder role and one API key in a key
/// file, made by one `yc-iam apply --parallel N` process and by `accounts` sequential `yc-iam
/// provision` processes doing the same, all against one `yc-iam emulator` process; then the
/// apply again, which has nothing to change. Each round gives each side folders of its own (so
/// the fleet's listing of its folder sees only its accounts) and alternates the three; the
/// medians and the ratios are printed.
fn fleet(rounds: usize, parallel: usize, accounts: usize) {
    let Some(bin) = option_env!("CARGO_BIN_EXE_yc-iam") else {
        eprintln!("fleet: the yc-iam binary is not built (needs the cli feature)");
        std::process::exit(2);
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let folder = |side: &str, round: usize| format!("b1gbench{side}{round:06}");
    // A cloud whose quotas were raised: every round leaves both sides' accounts, a key each.
    let made = 2 * rounds * accounts;
    let mut args = vec!["emulator".to_owned(), "--listen".to_owned(), "127.0.0.1:0".to_owned()];
    args.extend(["--quota".to_owned(), format!("service-accounts={made},api-keys={made}")]);
    for round in 0..rounds {
        for side in ["fleet", "prov"] {
            args.extend(["--folder".to_owned(), folder(side, round)]);
        }
    }
    let mut emulator = external_emulator(bin, &args);
    let endpoint = emulator.1.clone();
    let run = |what: &str, args: &[String]| {
        let start = Instant::now();
        let out = std::process::Command::new(bin)
            .arg("--endpoint")
            .arg(&endpoint)
            .args(args)
            .env("HOME", dir.path())
            .env("YC_IAM_TOKEN", yc_iam::emulator::DEFAULT_IAM_TOKEN)
            .output()
            .expect("yc-iam runs");
        let took = start.elapsed().as_secs_f64();
        assert!(
            out.status.success(),
            "fleet: {what} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        took
    };
    let (mut apply, mut again, mut sequential) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let keys = dir.path().join(format!("r{round}"));
        std::fs::create_dir(&keys).expect("key folder");
        let manifest = dir.path().join(format!("fleet-{round}.yaml"));
        std::fs::write(
            &manifest,
            fleet_manifest(round, &folder("fleet", round), accounts, &keys),
        )
        .expect("manifest");
        let apply_args: Vec<String> = ["apply", "--yes", "--parallel", &parallel.to_string(), "-f"]
            .into_iter()
            .map(str::to_owned)
            .chain([manifest.display().to_string()])
            .collect();
        apply.push(run("apply", &apply_args));
        again.push(run("the second apply", &apply_args));
        let start = Instant::now();
        for i in 0..accounts {
            let args = [
                "provision",
                "--folder-id",
                &folder("prov", round),
                "--name",
                &format!("prov-{round}-{i:03}"),
                "--role",
                common::ROLES[0],
                "--scope",
                common::SCOPE,
                "--output",
                &keys.join(format!("prov-{i:03}.yaml")).display().to_string(),
            ]
            .map(str::to_owned);
            run("provision", &args);
        }
        sequential.push(start.elapsed().as_secs_f64());
        println!(
            "fleet: round {round}: apply {:.0} ms, no-op apply {:.0} ms, {accounts} provision runs {:.0} ms",
            apply[round] * 1e3,
            again[round] * 1e3,
            sequential[round] * 1e3
        );
    }
    emulator.0.kill().ok();
    emulator.0.wait().ok();
    let (a, n, s) = (median(&mut apply), median(&mut again), median(&mut sequential));
    println!(
        "fleet: {accounts} accounts x (1 role + 1 API key to a file), median of {rounds}: apply --parallel {parallel} \
         {:.0} ms, no-op re-apply {:.0} ms, {accounts} sequential provision runs {:.0} ms; provision runs / apply {:.1}",
        a * 1e3,
        n * 1e3,
        s * 1e3,
        s / a
    );
}

/// The manifest of round `round`: `accounts` accounts in `folder`, each with one role and one API
/// key written under `keys`.
fn fleet_manifest(round: usize, folder: &str, accounts: usize, keys: &std::path::Path) -> String {
    let mut text = format!(
        "apiVersion: yc-iam/v1\nkind: Fleet\nmetadata: {{ name: bench-{round} }}\ndefaults: {{ folder_id: {folder} }}\n\
         service_accounts:\n"
    );
    for i in 0..accounts {
        let output = keys.join(format!("fleet-{i:03}.yaml"));
        text.push_str(&format!(
            "  - name: fleet-{round}-{i:03}\n    roles: [{}]\n    keys:\n      - {{ type: api-key, scopes: [{}], output: {} }}\n",
            common::ROLES[0],
            common::SCOPE,
            output.display()
        ));
    }
    text
}

/// Starts `yc-iam emulator` (the arguments given) and returns it with the endpoint it printed
/// (its stdout is kept open with it).
fn external_emulator(bin: &str, args: &[String]) -> (std::process::Child, String, impl Sized) {
    use std::io::BufRead as _;
    let mut child = std::process::Command::new(bin)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the emulator starts");
    let mut line = String::new();
    let mut stdout = std::io::BufReader::new(child.stdout.take().expect("its stdout"));
    stdout.read_line(&mut line).expect("its address");
    let address = line.trim();
    let endpoint = if address.contains("://") {
        address.to_owned()
    } else {
        format!("http://{address}")
    };
    (child, endpoint, stdout)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let number = |name: &str, default: usize| arg(&args, name).and_then(|v| v.parse().ok()).unwrap_or(default);
    let rt = runtime();
    match args.first().map(String::as_str) {
        Some("wait") => rt.block_on(wait(number("--flows", 5))),
        Some("bulk") => rt.block_on(bulk(
            arg(&args, "--endpoint"),
            number("--flows", 1_000),
            number("--concurrency", 64),
            number("--rounds", 1),
        )),
        Some("overhead") => rt.block_on(overhead(number("--rounds", 7))),
        Some("sinks") => rt.block_on(sinks(number("--rounds", 7), number("--runs", 50))),
        Some("audit") => rt.block_on(audit(
            number("--rounds", 7),
            number("--parallel", 16),
            number("--latency-ms", 0) as u64,
        )),
        Some("fleet") => fleet(
            number("--rounds", 5),
            number("--parallel", 16),
            number("--accounts", 100),
        ),
        Some("profile") => rt.block_on(profile(
            args.iter().any(|a| a == "--stubs" || a == "--stubs-spec"),
            args.iter().any(|a| a == "--stubs-spec"),
            args.iter().any(|a| a == "--gets"),
            number("--flows", 200),
            number("--concurrency", 1),
        )),
        Some(other) if !other.starts_with('-') => {
            eprintln!("unknown mode {other:?}: expected wait, bulk, overhead, profile, sinks, audit or fleet");
            std::process::exit(2);
        }
        _ => {
            rt.block_on(wait(1));
            rt.block_on(bulk(None, 1_000, 64, 1));
        }
    }
}
