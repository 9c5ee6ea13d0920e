//! What the benchmarks share: an emulator, a facade client and raw stubs pointed at it, and the
//! provisioning flow written twice (through the facade, and through the generated stubs doing the
//! same RPCs with nothing else: the floor; or with the headers the facade must send, by hand).

#![allow(dead_code, unreachable_pub)]

use std::{
    future::Future,
    sync::{
        Arc,
        atomic::{AtomicU8, AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use tonic::{
    metadata::AsciiMetadataValue,
    transport::{Channel, Endpoint},
};
use yc_iam::{
    Client, CreateApiKey, CreateServiceAccount, Credentials, RetryPolicy,
    emulator::{DEFAULT_FOLDER_ID, DEFAULT_IAM_TOKEN, Emulator, Quota},
    model::{AccessBinding, AccessBindingDelta, ServiceAccount},
    proto::yandex::cloud::{
        access::UpdateAccessBindingsRequest,
        iam::v1::{
            CreateApiKeyRequest, CreateApiKeyResponse, CreateServiceAccountRequest,
            api_key_service_client::ApiKeyServiceClient, service_account_service_client::ServiceAccountServiceClient,
        },
        operation::{GetOperationRequest, Operation, operation, operation_service_client::OperationServiceClient},
        resourcemanager::v1::folder_service_client::FolderServiceClient,
    },
};

/// The two roles the flow grants on the folder, and the API key's scope.
pub const ROLES: [&str; 2] = ["ai.languageModels.user", "ai.imageGeneration.user"];
pub const SCOPE: &str = "yc.ai.languageModels.execute";

/// A multi-threaded runtime over both cores, as a service would run.
/// The value after `name` among the command-line `args`, if any.
pub fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

/// The median of `values` (the upper one of an even count).
pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// CPU time all threads of this process have used so far (Linux: the first field of each task's
/// `schedstat`, in nanoseconds), so that a bench can show how many cores a run kept busy.
pub fn process_cpu() -> Duration {
    let tasks = std::fs::read_dir("/proc/self/task").expect("/proc/self/task");
    let nanos = tasks
        .filter_map(|task| std::fs::read_to_string(task.ok()?.path().join("schedstat")).ok())
        .filter_map(|stat| stat.split_whitespace().next()?.parse::<u64>().ok())
        .sum();
    Duration::from_nanos(nanos)
}

pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Quotas far beyond what any bench makes in one cloud (each flow makes an account and a key;
/// bulk and overhead rounds make thousands).
pub const RAISED_QUOTA: u64 = 10_000_000;

/// An emulator whose operations take `op_delay`, in a cloud whose quotas were raised.
pub async fn emulator(op_delay: Duration) -> Emulator {
    Emulator::builder()
        .with_op_delay(op_delay)
        .with_quota(Quota::ServiceAccountsPerCloud, RAISED_QUOTA)
        .with_quota(Quota::ApiKeysPerCloud, RAISED_QUOTA)
        .start()
        .await
        .expect("emulator starts")
}

/// The facade, as a caller would build it for the emulator (discovery happens on first use).
pub fn facade(endpoint: &str) -> Client {
    Client::builder()
        .with_endpoint(endpoint)
        .with_credentials(Credentials::iam_token(DEFAULT_IAM_TOKEN))
        .with_retry(RetryPolicy::default())
        .build()
        .expect("client builds")
}

/// A unique, valid service-account name.
pub fn unique_name(prefix: &str) -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("{prefix}-{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

/// What one flow produced, for checks and for counting polls.
#[derive(Debug, Default, Clone, Copy)]
pub struct FlowStats {
    /// `OperationService.Get` calls made while waiting (both operations together).
    pub polls: u32,
}

/// The flow through the facade: create a service account, wait, grant two folder roles, wait,
/// create a scoped API key.
pub async fn facade_flow(client: &Client, name: String) -> Result<(), yc_iam::Error> {
    let account = client
        .service_accounts()
        .create(CreateServiceAccount::new(DEFAULT_FOLDER_ID, name))
        .await?
        .wait()
        .await?;
    let deltas = ROLES
        .iter()
        .map(|role| AccessBindingDelta::add(AccessBinding::service_account(*role, &account.id)))
        .collect();
    client
        .folders()
        .update_access_bindings(DEFAULT_FOLDER_ID, deltas)
        .await?
        .wait()
        .await?;
    let key = client
        .api_keys()
        .create(CreateApiKey::new(&account.id).scopes([SCOPE]))
        .await?;
    assert_eq!(key.api_key.service_account_id, account.id);
    Ok(())
}

/// The generated stubs over one channel, with the bearer token attached by hand.
#[derive(Clone)]
pub struct Stubs {
    channel: Channel,
    authorization: AsciiMetadataValue,
    /// Set by [`Stubs::with_spec_metadata`].
    spec_metadata: Option<SpecMetadata>,
}

/// The metadata the facade must send on every call, beyond `authorization`.
#[derive(Clone)]
struct SpecMetadata {
    trace_id: AsciiMetadataValue,
    timeout: AsciiMetadataValue,
    /// Which of the two unique ids have gone out indexable once (bits 1 and 2).
    ids_indexed: Arc<AtomicU8>,
}

impl SpecMetadata {
    /// A fresh UUID, sent the way the facade sends its unique ids: never indexed in HPACK but for
    /// the first of each header, which leaves the name in the table.
    fn unique_value(&self, header: u8) -> AsciiMetadataValue {
        let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
        let text = uuid::Uuid::new_v4().hyphenated().encode_lower(&mut text);
        let mut value = AsciiMetadataValue::try_from(&*text).expect("a UUID is a header value");
        if self.ids_indexed.fetch_or(header, Ordering::Relaxed) & header != 0 {
            value.set_sensitive(true);
        }
        value
    }
}

impl Stubs {
    pub async fn connect(endpoint: &str) -> Stubs {
        let channel = Endpoint::from_shared(endpoint.to_owned())
            .expect("endpoint")
            .tcp_nodelay(true)
            .connect()
            .await
            .expect("channel connects");
        Stubs {
            channel,
            authorization: format!("Bearer {DEFAULT_IAM_TOKEN}").parse().expect("header"),
            spec_metadata: None,
        }
    }

    /// The stubs sending, by hand and the way the facade does, the headers it sends: a fresh
    /// `x-client-request-id`, one `x-client-trace-id`, an `idempotency-key` on mutations and the
    /// facade's default `grpc-timeout` (30 s). What they cost over the plain stubs is the wire
    /// contract's, not the facade code's.
    pub fn with_spec_metadata(mut self) -> Stubs {
        let mut timed = tonic::Request::new(());
        timed.set_timeout(Duration::from_secs(30));
        let timeout = timed
            .metadata()
            .get("grpc-timeout")
            .expect("tonic writes grpc-timeout")
            .clone();
        self.spec_metadata = Some(SpecMetadata {
            trace_id: uuid::Uuid::new_v4()
                .to_string()
                .parse()
                .expect("a UUID is a header value"),
            timeout,
            ids_indexed: Arc::default(),
        });
        self
    }

    pub fn channel(&self) -> Channel {
        self.channel.clone()
    }

    pub fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        let md = request.metadata_mut();
        md.insert("authorization", self.authorization.clone());
        if let Some(spec) = &self.spec_metadata {
            md.insert("x-client-request-id", spec.unique_value(1));
            md.insert("x-client-trace-id", spec.trace_id.clone());
            md.insert("grpc-timeout", spec.timeout.clone());
        }
        request
    }

    /// A request for a mutating call: with the facade's metadata, it carries an `idempotency-key`.
    pub fn mutation<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = self.request(message);
        if let Some(spec) = &self.spec_metadata {
            request.metadata_mut().insert("idempotency-key", spec.unique_value(2));
        }
        request
    }

    /// Polls `OperationService.Get` back to back until done; returns the operation and the poll count.
    async fn wait(&self, mut op: Operation, pause: Duration) -> Result<(Operation, u32), tonic::Status> {
        let mut polls = 0;
        while !op.done {
            if !pause.is_zero() {
                tokio::time::sleep(pause).await;
            }
            polls += 1;
            op = OperationServiceClient::new(self.channel())
                .get(self.request(GetOperationRequest {
                    operation_id: op.id.clone(),
                }))
                .await?
                .into_inner();
        }
        Ok((op, polls))
    }
}

fn response<T: prost::Message + Default>(op: &Operation) -> T {
    match &op.result {
        Some(operation::Result::Response(any)) => T::decode(any.value.as_slice()).expect("response decodes"),
        other => panic!("operation {} has no response: {other:?}", op.id),
    }
}

/// The same flow through the raw stubs: the same RPCs and nothing else (no validation or retries;
/// request ids and idempotency keys only [`with_spec_metadata`](Stubs::with_spec_metadata)).
/// `pause` is the sleep before each poll.
pub async fn stub_flow(stubs: &Stubs, name: String, pause: Duration) -> Result<FlowStats, tonic::Status> {
    let op = ServiceAccountServiceClient::new(stubs.channel())
        .create(stubs.mutation(CreateServiceAccountRequest {
            folder_id: DEFAULT_FOLDER_ID.to_owned(),
            name,
            ..Default::default()
        }))
        .await?
        .into_inner();
    let (op, polls1) = stubs.wait(op, pause).await?;
    let account: ServiceAccount = response(&op);
    let deltas = ROLES
        .iter()
        .map(|role| AccessBindingDelta::add(AccessBinding::service_account(*role, &account.id)))
        .collect();
    let op = FolderServiceClient::new(stubs.channel())
        .update_access_bindings(stubs.mutation(UpdateAccessBindingsRequest {
            resource_id: DEFAULT_FOLDER_ID.to_owned(),
            access_binding_deltas: deltas,
        }))
        .await?
        .into_inner();
    let (_, polls2) = stubs.wait(op, pause).await?;
    let key: CreateApiKeyResponse = ApiKeyServiceClient::new(stubs.channel())
        .create(stubs.mutation(CreateApiKeyRequest {
            service_account_id: account.id.clone(),
            scopes: vec![SCOPE.to_owned()],
            ..Default::default()
        }))
        .await?
        .into_inner();
    assert_eq!(
        key.api_key.map(|k| k.service_account_id).as_deref(),
        Some(account.id.as_str())
    );
    Ok(FlowStats { polls: polls1 + polls2 })
}

/// Runs `total` copies of `task` with at most `concurrency` in flight (spawned, so they spread
/// over the runtime's threads) and returns the wall time.
pub async fn run_concurrent<F, Fut>(total: usize, concurrency: usize, task: F) -> Duration
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let task = Arc::new(task);
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let task = task.clone();
            let next = next.clone();
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                    if i >= total {
                        break;
                    }
                    task(i).await;
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.expect("worker");
    }
    start.elapsed()
}

// Not every bench uses the constant server.
#[allow(unused_imports)]
pub use constant::{Constant, constant_server};

mod constant {
    use tonic::{Request, Response, Status, transport::server::TcpIncoming};
    use yc_iam::proto::yandex::cloud::{
        iam::v1::{
            CreateServiceAccountRequest, DeleteServiceAccountRequest, GetServiceAccountRequest,
            ListServiceAccountsRequest, ListServiceAccountsResponse, ServiceAccount, UpdateServiceAccountRequest,
            service_account_service_server::{ServiceAccountService, ServiceAccountServiceServer},
        },
        operation::Operation,
    };

    /// The floor: a server that answers `Get` with a constant message and does nothing else.
    pub struct Constant(ServiceAccount);

    #[tonic::async_trait]
    impl ServiceAccountService for Constant {
        async fn get(&self, _: Request<GetServiceAccountRequest>) -> Result<Response<ServiceAccount>, Status> {
            Ok(Response::new(self.0.clone()))
        }
        async fn list(
            &self,
            _: Request<ListServiceAccountsRequest>,
        ) -> Result<Response<ListServiceAccountsResponse>, Status> {
            Err(Status::unimplemented("list"))
        }
        async fn create(&self, _: Request<CreateServiceAccountRequest>) -> Result<Response<Operation>, Status> {
            Err(Status::unimplemented("create"))
        }
        async fn update(&self, _: Request<UpdateServiceAccountRequest>) -> Result<Response<Operation>, Status> {
            Err(Status::unimplemented("update"))
        }
        async fn delete(&self, _: Request<DeleteServiceAccountRequest>) -> Result<Response<Operation>, Status> {
            Err(Status::unimplemented("delete"))
        }
    }

    /// Starts the constant server on a free loopback port; returns its endpoint.
    pub fn constant_server(rt: &tokio::runtime::Runtime, answer: ServiceAccount) -> String {
        rt.block_on(async {
            let incoming = TcpIncoming::bind("127.0.0.1:0".parse().expect("addr"))
                .expect("bind")
                .with_nodelay(Some(true));
            let addr = incoming.local_addr().expect("addr");
            tokio::spawn(
                tonic::transport::Server::builder()
                    .add_service(ServiceAccountServiceServer::new(Constant(answer)))
                    .serve_with_incoming(incoming),
            );
            format!("http://{addr}")
        })
    }
}
