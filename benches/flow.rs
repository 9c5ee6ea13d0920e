//! (1) Facade overhead: the provisioning flow through `yc_iam::Client` against the raw generated
//! stubs doing the same RPCs (the floor), in-process against the emulator with instant operations;
//! one flow at a time, and 1,000 flows at concurrency 64 over one client.
//!
//! `cargo bench --bench flow`; the ratios are printed by `scripts/bench/run.sh`.

mod common;

use std::time::Duration;

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};

use common::{Stubs, emulator, facade, facade_flow, run_concurrent, runtime, stub_flow, unique_name};

const BULK: usize = 1_000;
const CONCURRENCY: usize = 64;

fn sequential(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("flow/sequential");
    group.sample_size(30).measurement_time(Duration::from_secs(4));
    {
        // A fresh emulator per variant, so neither measures against a store the other filled.
        let emu = rt.block_on(emulator(Duration::ZERO));
        let stubs = rt.block_on(Stubs::connect(&emu.endpoint()));
        group.bench_function("stubs", |b| {
            b.to_async(&rt)
                .iter(|| async { stub_flow(&stubs, unique_name("s"), Duration::ZERO).await.expect("flow") })
        });
        rt.block_on(emu.shutdown());
    }
    {
        let emu = rt.block_on(emulator(Duration::ZERO));
        let client = facade(&emu.endpoint());
        group.bench_function("facade", |b| {
            b.to_async(&rt)
                .iter(|| async { facade_flow(&client, unique_name("f")).await.expect("flow") })
        });
        rt.block_on(emu.shutdown());
    }
    group.finish();
}

fn concurrent(c: &mut Criterion) {
    let rt = runtime();
    let mut group = c.benchmark_group("flow/1000-at-64");
    // Each iteration provisions 1,000 accounts: few, equal-sized samples keep the store small.
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(BULK as u64));
    {
        let emu = rt.block_on(emulator(Duration::ZERO));
        let stubs = rt.block_on(Stubs::connect(&emu.endpoint()));
        group.bench_function("stubs", |b| {
            b.to_async(&rt).iter_custom(|iters| {
                let stubs = stubs.clone();
                async move {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let stubs = stubs.clone();
                        total += run_concurrent(BULK, CONCURRENCY, move |_| {
                            let stubs = stubs.clone();
                            async move {
                                stub_flow(&stubs, unique_name("cs"), Duration::ZERO)
                                    .await
                                    .expect("flow");
                            }
                        })
                        .await;
                    }
                    total
                }
            })
        });
        rt.block_on(emu.shutdown());
    }
    {
        let emu = rt.block_on(emulator(Duration::ZERO));
        let client = facade(&emu.endpoint());
        group.bench_function("facade", |b| {
            b.to_async(&rt).iter_custom(|iters| {
                let client = client.clone();
                async move {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let client = client.clone();
                        total += run_concurrent(BULK, CONCURRENCY, move |_| {
                            let client = client.clone();
                            async move {
                                facade_flow(&client, unique_name("cf")).await.expect("flow");
                            }
                        })
                        .await;
                    }
                    total
                }
            })
        });
        rt.block_on(emu.shutdown());
    }
    group.finish();
}

criterion_group!(benches, sequential, concurrent);
criterion_main!(benches);
