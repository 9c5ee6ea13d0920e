//! (6) Hot paths of every call, as micro-benchmarks: a token-cache hit, request validation
//! (`yc_iam::Validate`), and the facade's per-call work (request ids, metadata stamping,
//! authorization, endpoint and channel lookup, timeout) measured as the difference between a
//! facade `Get` and a raw-stub `Get` against the same constant server in the same run.
//!
//! `cargo bench --bench hot_paths`

mod common;

use std::{collections::BTreeMap, time::Duration};

use criterion::{Criterion, criterion_group, criterion_main};
use yc_iam::{
    Client, Credentials, Validate,
    emulator::{DEFAULT_FOLDER_ID, DEFAULT_IAM_TOKEN, DEFAULT_OAUTH_TOKEN, Emulator},
    model::{AccessBinding, AccessBindingDelta},
    proto::yandex::cloud::{
        access::UpdateAccessBindingsRequest,
        iam::v1::{
            CreateServiceAccountRequest, GetServiceAccountRequest, ServiceAccount,
            service_account_service_client::ServiceAccountServiceClient,
        },
    },
};

use common::{ROLES, Stubs, constant_server};

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn token_cache(c: &mut Criterion) {
    let rt = current_thread();
    let emu = rt.block_on(Emulator::builder().start()).expect("emulator");
    // OAuth credentials: the first call exchanges the token, every later one hits the cache.
    let client = Client::builder()
        .with_endpoint(emu.endpoint())
        .with_credentials(Credentials::oauth_token(DEFAULT_OAUTH_TOKEN))
        .build()
        .expect("client");
    rt.block_on(client.iam_token()).expect("first exchange");
    c.bench_function("hot/token-cache-hit", |b| {
        b.to_async(&rt)
            .iter(|| async { std::hint::black_box(client.iam_token().await.expect("token")) })
    });
    rt.block_on(emu.shutdown());
}

fn validation(c: &mut Criterion) {
    let create = CreateServiceAccountRequest {
        folder_id: DEFAULT_FOLDER_ID.to_owned(),
        name: "ai-studio-bot".to_owned(),
        description: "calls AI Studio with an API key".to_owned(),
        labels: BTreeMap::from([
            ("team".to_owned(), "ml".to_owned()),
            ("env".to_owned(), "prod".to_owned()),
        ]),
        ..Default::default()
    };
    let update = UpdateAccessBindingsRequest {
        resource_id: DEFAULT_FOLDER_ID.to_owned(),
        access_binding_deltas: ROLES
            .iter()
            .map(|role| AccessBindingDelta::add(AccessBinding::service_account(*role, "ajeq4b0c1d2e3f4g5h6i")))
            .collect(),
    };
    assert!(create.validate().is_ok() && update.validate().is_ok());
    c.bench_function("hot/validate-create-service-account", |b| {
        b.iter(|| std::hint::black_box(&create).validate())
    });
    c.bench_function("hot/validate-update-access-bindings", |b| {
        b.iter(|| std::hint::black_box(&update).validate())
    });
}

fn per_call(c: &mut Criterion) {
    // The server runs on its own runtime thread, so both clients see the same server.
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let answer = ServiceAccount {
        id: "ajeq4b0c1d2e3f4g5h6i".to_owned(),
        folder_id: DEFAULT_FOLDER_ID.to_owned(),
        name: "ai-studio-bot".to_owned(),
        ..Default::default()
    };
    let endpoint = constant_server(&server_rt, answer);
    let rt = current_thread();
    let stubs = rt.block_on(Stubs::connect(&endpoint));
    let client = Client::builder()
        .with_endpoint(&endpoint)
        .with_service_endpoint("iam", &endpoint)
        .with_credentials(Credentials::iam_token(DEFAULT_IAM_TOKEN))
        .build()
        .expect("client");
    rt.block_on(client.service_accounts().get("ajeq4b0c1d2e3f4g5h6i"))
        .expect("facade get");

    let mut group = c.benchmark_group("hot/get-constant-server");
    group.measurement_time(Duration::from_secs(4));
    group.bench_function("stubs", |b| {
        b.to_async(&rt).iter(|| async {
            ServiceAccountServiceClient::new(stubs.channel())
                .get(stubs.request(GetServiceAccountRequest {
                    service_account_id: "ajeq4b0c1d2e3f4g5h6i".to_owned(),
                }))
                .await
                .expect("get")
        })
    });
    group.bench_function("facade", |b| {
        b.to_async(&rt).iter(|| async {
            client
                .service_accounts()
                .get("ajeq4b0c1d2e3f4g5h6i")
                .await
                .expect("get")
        })
    });
    group.finish();
}

criterion_group!(benches, token_cache, validation, per_call);
criterion_main!(benches);
