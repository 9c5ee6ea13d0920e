//! (1) Facade overhead: the provisioning flow through `yc_iam::Client` against the raw generated
//! stubs doing the same RPCs (the floor), in-process against the emulator with instant operations;
//! one flow at a time, and 1,000 flows at concurrency 64 over one client.
//!
//! Every sample gets a fresh emulator (started outside the timed part), so that what is measured
//! is the client, not a store that grows over the run.
//!
//! `cargo bench --bench flow`; the ratios are printed by `benches/run.sh`.

mod common;

use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};

use common::{Stubs, emulator, facade, facade_flow, run_concurrent, runtime, stub_flow, unique_name};

const BULK: usize = 1_000;
const CONCURRENCY: usize = 64;

/// Runs `iters` rounds of `round` against a fresh emulator; times only the rounds.
async fn on_fresh_emulator(iters: u64, stubs: bool, round: impl AsyncRound) -> Duration {
    let emu = emulator(Duration::ZERO).await;
    let endpoint = emu.endpoint();
    let target = if stubs {
        Target::Stubs(Stubs::connect(&endpoint).await)
    } else {
        Target::Facade(facade(&endpoint))
    };
    // Discovery and the connection happen once per client: not part of the figure.
    target.flow(unique_name("warm")).await;
    let start = Instant::now();
    for _ in 0..iters {
        round.run(&target).await;
    }
    let took = start.elapsed();
    emu.shutdown().await;
    took
}

#[derive(Clone)]
enum Target {
    Stubs(Stubs),
    Facade(yc_iam::Client),
}

impl Target {
    async fn flow(&self, name: String) {
        match self {
            Target::Stubs(stubs) => {
                stub_flow(stubs, name, Duration::ZERO).await.expect("flow");
            }
            Target::Facade(client) => facade_flow(client, name).await.expect("flow"),
        }
    }
}

trait AsyncRound {
    async fn run(&self, target: &Target);
}

struct One;
impl AsyncRound for One {
    async fn run(&self, target: &Target) {
        target.flow(unique_name("s")).await;
    }
}

struct Bulk;
impl AsyncRound for Bulk {
    async fn run(&self, target: &Target) {
        let target = target.clone();
        run_concurrent(BULK, CONCURRENCY, move |_| {
            let target = target.clone();
            async move { target.flow(unique_name("c")).await }
        })
        .await;
    }
}

fn sequential(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("flow/sequential");
    group.sample_size(30).measurement_time(Duration::from_secs(4));
    for (name, stubs) in [("stubs", true), ("facade", false)] {
        group.bench_function(name, |b| {
            b.to_async(&rt)
                .iter_custom(|iters| on_fresh_emulator(iters, stubs, One))
        });
    }
    group.finish();
}

fn concurrent(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("flow/1000-at-64");
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(BULK as u64));
    for (name, stubs) in [("stubs", true), ("facade", false)] {
        group.bench_function(name, |b| {
            b.to_async(&rt)
                .iter_custom(|iters| on_fresh_emulator(iters, stubs, Bulk))
        });
    }
    group.finish();
}

criterion_group!(benches, sequential, concurrent);
criterion_main!(benches);
