//! End-to-end figures that criterion is not made for; `scripts/bench/run.sh` runs them.
//!
//! ```text
//! cargo bench --bench e2e -- wait [--flows N]          (2) the flow with operations that take 1 s
//! cargo bench --bench e2e -- bulk [--endpoint URL] [--flows N] [--concurrency C] [--rounds R]
//!                                                      (4) many flows over one client
//! cargo bench --bench e2e -- overhead [--rounds N]     (1) facade vs stubs, rounds alternated
//! cargo bench --bench e2e -- profile [--facade|--stubs|--gets] [--flows N] [--concurrency N]
//!                                                      a plain loop of flows to run under callgrind
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

use common::{Stubs, emulator, facade, facade_flow, run_concurrent, runtime, stub_flow, unique_name};

const GET_OPERATION: &str = "/yandex.cloud.operation.OperationService/Get";

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

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
/// both alike: per round, 200 sequential flows and 1,000 flows at concurrency 64 for each. Each
/// variant has its own emulator, so neither sees a store the other filled. Prints medians.
async fn overhead(rounds: usize) {
    let stub_emu = emulator(Duration::ZERO).await;
    let facade_emu = emulator(Duration::ZERO).await;
    let stubs = Stubs::connect(&stub_emu.endpoint()).await;
    let client = facade(&facade_emu.endpoint());
    facade_flow(&client, unique_name("ow")).await.expect("warm-up flow");
    stub_flow(&stubs, unique_name("ow"), Duration::ZERO)
        .await
        .expect("warm-up flow");
    let (mut seq_s, mut seq_f, mut bulk_s, mut bulk_f) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let start = Instant::now();
        for _ in 0..200 {
            stub_flow(&stubs, unique_name("os"), Duration::ZERO)
                .await
                .expect("flow");
        }
        seq_s.push(start.elapsed().as_secs_f64() / 200.0);
        let start = Instant::now();
        for _ in 0..200 {
            facade_flow(&client, unique_name("of")).await.expect("flow");
        }
        seq_f.push(start.elapsed().as_secs_f64() / 200.0);
        let s = stubs.clone();
        let took = run_concurrent(1_000, 64, move |_| {
            let s = s.clone();
            async move {
                stub_flow(&s, unique_name("obs"), Duration::ZERO).await.expect("flow");
            }
        })
        .await;
        bulk_s.push(1_000.0 / took.as_secs_f64());
        let c = client.clone();
        let took = run_concurrent(1_000, 64, move |_| {
            let c = c.clone();
            async move {
                facade_flow(&c, unique_name("obf")).await.expect("flow");
            }
        })
        .await;
        bulk_f.push(1_000.0 / took.as_secs_f64());
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (ss, sf, bs, bf) = (
        median(&mut seq_s),
        median(&mut seq_f),
        median(&mut bulk_s),
        median(&mut bulk_f),
    );
    println!(
        "overhead: sequential flow: stubs {:.0} µs, facade {:.0} µs, facade/stubs time {:.2} (median of {rounds} rounds)",
        ss * 1e6,
        sf * 1e6,
        sf / ss
    );
    println!(
        "overhead: 1,000 flows at 64: stubs {bs:.0} flows/s, facade {bf:.0} flows/s, facade/stubs throughput {:.2}",
        bf / bs
    );
    stub_emu.shutdown().await;
    facade_emu.shutdown().await;
}

/// A plain loop of sequential flows (or, with `--gets`, `ServiceAccountService.Get` calls through
/// the stubs), to run under `valgrind --tool=callgrind`.
async fn profile(use_stubs: bool, gets: bool, flows: usize, concurrency: usize) {
    let emu = emulator(Duration::ZERO).await;
    let stubs = Stubs::connect(&emu.endpoint()).await;
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
        Some("profile") => rt.block_on(profile(
            args.iter().any(|a| a == "--stubs"),
            args.iter().any(|a| a == "--gets"),
            number("--flows", 200),
            number("--concurrency", 1),
        )),
        Some(other) if !other.starts_with('-') => {
            eprintln!("unknown mode {other:?}: expected wait, bulk, overhead or profile");
            std::process::exit(2);
        }
        _ => {
            rt.block_on(wait(1));
            rt.block_on(bulk(None, 1_000, 64, 1));
        }
    }
}
