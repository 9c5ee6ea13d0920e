//! (5) The emulator as a server: unary `ServiceAccountService.Get` at concurrency 64 from one
//! client (one channel), against a trivial tonic server answering a constant message on the same
//! generated service; and the same against stores of 100 and 100,000 service accounts.
//!
//! `cargo bench --bench emulator`; the ratios are printed by `benches/run.sh`.

mod common;

use std::{sync::Arc, time::Duration};

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use yc_iam::{
    emulator::{DEFAULT_FOLDER_ID, Emulator, Quota},
    proto::yandex::cloud::iam::v1::{
        CreateServiceAccountRequest, GetServiceAccountRequest,
        service_account_service_client::ServiceAccountServiceClient,
    },
};

use common::{Stubs, constant_server, run_concurrent, runtime};

const CONCURRENCY: usize = 64;
/// Calls per measured iteration.
const CALLS: usize = 6_400;

/// An emulator whose store holds `n` service accounts, loaded from a state file written from the
/// record of one real account (creating 100,000 through the API would take long). Returns the
/// emulator and the ids.
fn emulator_with(rt: &tokio::runtime::Runtime, n: usize, dir: &std::path::Path) -> (Emulator, Vec<String>) {
    rt.block_on(async {
        let path = dir.join(format!("state-{n}.json"));
        // One account through the API, to learn the record's shape from the saved state.
        let emu = Emulator::builder()
            .with_state_file(&path)
            .start()
            .await
            .expect("emulator");
        let stubs = Stubs::connect(&emu.endpoint()).await;
        let op = ServiceAccountServiceClient::new(stubs.channel())
            .create(stubs.request(CreateServiceAccountRequest {
                folder_id: DEFAULT_FOLDER_ID.to_owned(),
                name: "template".to_owned(),
                ..Default::default()
            }))
            .await
            .expect("create")
            .into_inner();
        emu.shutdown().await;
        let mut state: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).expect("state")).expect("json");
        let accounts = state["service_accounts"].as_object_mut().expect("service_accounts map");
        let template = accounts.values().next().cloned().expect("one account");
        accounts.clear();
        let mut ids = Vec::with_capacity(n);
        for i in 0..n {
            // 20 characters like real ids; distinct from the operation's id prefix.
            let id = format!("ajebench{i:012}");
            let mut record = template.clone();
            record["id"] = id.clone().into();
            record["name"] = format!("bench-{i}").into();
            accounts.insert(id.clone(), record);
            ids.push(id);
        }
        let _ = op;
        std::fs::write(&path, serde_json::to_vec(&state).expect("json")).expect("write state");
        // A cloud whose quota was raised to hold them (a state file over the quota loads anyway;
        // this keeps the store a cloud could have).
        let emu = Emulator::builder()
            .with_state_file(&path)
            .with_quota(Quota::ServiceAccountsPerCloud, n as u64)
            .start()
            .await
            .expect("emulator");
        (emu, ids)
    })
}

/// `CALLS` Gets, 64 in flight over one channel, cycling through `ids`.
fn bench_gets(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    rt: &tokio::runtime::Runtime,
    name: &str,
    endpoint: &str,
    ids: Arc<Vec<String>>,
) {
    let stubs = rt.block_on(Stubs::connect(endpoint));
    group.bench_function(name, |b| {
        b.to_async(rt).iter_custom(|iters| {
            let stubs = stubs.clone();
            let ids = ids.clone();
            async move {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let stubs = stubs.clone();
                    let ids = ids.clone();
                    total += run_concurrent(CALLS, CONCURRENCY, move |i| {
                        let stubs = stubs.clone();
                        let id = ids[(i * 7919) % ids.len()].clone();
                        async move {
                            let account = ServiceAccountServiceClient::new(stubs.channel())
                                .get(stubs.request(GetServiceAccountRequest { service_account_id: id }))
                                .await
                                .expect("get")
                                .into_inner();
                            std::hint::black_box(account);
                        }
                    })
                    .await;
                }
                total
            }
        })
    });
}

fn get_at_64(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    let mut group = c.benchmark_group("emulator/get-at-64");
    group
        .sample_size(20)
        .sampling_mode(SamplingMode::Flat)
        .measurement_time(Duration::from_secs(4))
        .throughput(Throughput::Elements(CALLS as u64));

    let (small, small_ids) = emulator_with(&rt, 100, dir.path());
    let (large, large_ids) = emulator_with(&rt, 100_000, dir.path());
    // The constant server answers with an account as big as the emulator's.
    let answer = rt.block_on(async {
        let stubs = Stubs::connect(&small.endpoint()).await;
        ServiceAccountServiceClient::new(stubs.channel())
            .get(stubs.request(GetServiceAccountRequest {
                service_account_id: small_ids[0].clone(),
            }))
            .await
            .expect("get")
            .into_inner()
    });
    let constant = constant_server(&rt, answer);

    bench_gets(
        &mut group,
        &rt,
        "constant-server",
        &constant,
        Arc::new(small_ids.clone()),
    );
    bench_gets(&mut group, &rt, "emulator-100", &small.endpoint(), Arc::new(small_ids));
    bench_gets(
        &mut group,
        &rt,
        "emulator-100000",
        &large.endpoint(),
        Arc::new(large_ids),
    );
    group.finish();
    rt.block_on(async {
        small.shutdown().await;
        large.shutdown().await;
    });
}

criterion_group!(benches, get_at_64);
criterion_main!(benches);
