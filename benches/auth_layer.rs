//! `AuthLayer` on a raw tonic stub vs the same stub with the `authorization` header set by hand:
//! `TokenizerService.Tokenize` at concurrency 64 over one channel, against the in-process
//! emulator and against a tonic server answering a constant, rounds alternated.
//!
//! ```text
//! cargo bench --bench auth_layer [-- [--rounds N] [--calls N] [--concurrency C] [--server emulator|constant|both]
//!                                      [--variant hand|layer|ids]]
//! ```
//!
//! Defaults: 7 rounds of 20,000 calls at 64, both servers; under `cargo test` one round of 256.
//!
//! Both sides use the same IAM token: the layer takes it from the client's token cache (OAuth
//! credentials, exchanged once before the rounds), the hand-set side copies it into every request.
//! A third variant also sets by hand the request ids the layer adds (a fresh
//! `x-client-request-id`, the client's `x-client-trace-id`), splitting what the layer costs into
//! the headers it must send and its own code. Throughput per variant is the median over the
//! rounds; the ratio is layer / hand-set.
//!
//! `--variant` runs one variant alone (no ratio), for an instruction count that does not depend
//! on the machine's load: under `valgrind --tool=callgrind`, the difference between two call
//! counts divided by the difference in calls is the cost of one call, client and server together.

mod common;

use std::time::Duration;

use tonic::{
    Request, Response, Status,
    metadata::AsciiMetadataValue,
    transport::{Channel, server::TcpIncoming},
};
use yc_iam::{
    Client, Credentials, ExposeSecret as _,
    auth::AuthService,
    emulator::{DEFAULT_FOLDER_ID, Emulator},
    proto::yandex::cloud::ai::foundation_models::v1::{
        CompletionRequest, Token, TokenizeRequest, TokenizeResponse,
        tokenizer_service_client::TokenizerServiceClient,
        tokenizer_service_server::{TokenizerService, TokenizerServiceServer},
    },
};

use common::{arg, median, run_concurrent, runtime};

const OAUTH: &str = "y0_auth-layer-bench";

/// A tokenizer that checks only that a request is authorized and answers a constant.
#[derive(Clone)]
struct Constant(TokenizeResponse);

#[tonic::async_trait]
impl TokenizerService for Constant {
    async fn tokenize(&self, request: Request<TokenizeRequest>) -> Result<Response<TokenizeResponse>, Status> {
        if request.metadata().get("authorization").is_none() {
            return Err(Status::unauthenticated("no authorization"));
        }
        Ok(Response::new(self.0.clone()))
    }

    async fn tokenize_completion(
        &self,
        _request: Request<CompletionRequest>,
    ) -> Result<Response<TokenizeResponse>, Status> {
        Err(Status::unimplemented("tokenize_completion"))
    }
}

/// Starts the constant tokenizer on a free loopback port; returns its endpoint.
async fn constant_tokenizer(answer: TokenizeResponse) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
    let router = tonic::transport::Server::builder().add_service(TokenizerServiceServer::new(Constant(answer)));
    tokio::spawn(router.serve_with_incoming(TcpIncoming::from(listener).with_nodelay(Some(true))));
    endpoint
}

fn request(model_uri: &str) -> TokenizeRequest {
    TokenizeRequest {
        model_uri: model_uri.to_owned(),
        text: "Hello, AI Studio!".to_owned(),
    }
}

/// How a variant sends one call.
#[derive(Clone)]
enum Variant {
    /// The layer in front of the channel.
    Layer(TokenizerServiceClient<AuthService<Channel>>),
    /// `authorization` set by hand.
    Hand(TokenizerServiceClient<Channel>, AsciiMetadataValue),
    /// `authorization`, a fresh `x-client-request-id` and the trace id set by hand.
    HandWithIds(TokenizerServiceClient<Channel>, AsciiMetadataValue, AsciiMetadataValue),
}

impl Variant {
    fn name(&self) -> &'static str {
        match self {
            Variant::Layer(_) => "AuthLayer",
            Variant::Hand(..) => "hand-set authorization",
            Variant::HandWithIds(..) => "hand-set authorization + request ids",
        }
    }

    async fn call(self, model_uri: &str) {
        let result = match self {
            Variant::Layer(mut stub) => stub.tokenize(request(model_uri)).await,
            Variant::Hand(mut stub, authorization) => {
                let mut req = Request::new(request(model_uri));
                req.metadata_mut().insert("authorization", authorization);
                stub.tokenize(req).await
            }
            Variant::HandWithIds(mut stub, authorization, trace) => {
                let mut req = Request::new(request(model_uri));
                // Encoded as the facade sends it: a fresh id, never indexed in HPACK.
                let mut id: AsciiMetadataValue = uuid::Uuid::new_v4()
                    .to_string()
                    .parse()
                    .expect("a uuid is a header value");
                id.set_sensitive(true);
                let md = req.metadata_mut();
                md.insert("authorization", authorization);
                md.insert("x-client-request-id", id);
                md.insert("x-client-trace-id", trace);
                stub.tokenize(req).await
            }
        };
        result.expect("tokenize");
    }
}

/// Calls per second of `calls` calls at `concurrency` through `variant`.
async fn throughput(variant: &Variant, model_uri: &str, calls: usize, concurrency: usize) -> f64 {
    let variant = variant.clone();
    let model_uri = model_uri.to_owned();
    let took: Duration = run_concurrent(calls, concurrency, move |_| {
        let variant = variant.clone();
        let model_uri = model_uri.clone();
        async move { variant.call(&model_uri).await }
    })
    .await;
    calls as f64 / took.as_secs_f64()
}

/// The three variants against `endpoint`, `rounds` rounds, the order turned round each round.
async fn compare(label: &str, endpoint: &str, client: &Client, only: Option<&str>, shape: (usize, usize, usize)) {
    let (rounds, calls, concurrency) = shape;
    let channel = Channel::from_shared(endpoint.to_owned())
        .expect("endpoint")
        .tcp_nodelay(true)
        .connect()
        .await
        .expect("connect");
    let token = client.iam_token().await.expect("an IAM token");
    let mut authorization: AsciiMetadataValue = format!("Bearer {}", token.expose_secret())
        .parse()
        .expect("a header value");
    authorization.set_sensitive(true);
    let trace: AsciiMetadataValue = client.trace_id().parse().expect("a header value");
    let layered = tower::ServiceBuilder::new()
        .layer(client.auth_layer())
        .service(channel.clone());
    let variants = [
        Variant::Hand(TokenizerServiceClient::new(channel.clone()), authorization.clone()),
        Variant::Layer(TokenizerServiceClient::new(layered)),
        Variant::HandWithIds(TokenizerServiceClient::new(channel), authorization, trace),
    ];
    let model_uri = format!("gpt://{DEFAULT_FOLDER_ID}/yandexgpt-lite/latest");
    if let Some(only) = only {
        let variant = match only {
            "hand" => &variants[0],
            "layer" => &variants[1],
            "ids" => &variants[2],
            other => panic!("--variant {other}: expected hand, layer or ids"),
        };
        for _ in 0..rounds {
            throughput(variant, &model_uri, calls, concurrency).await;
        }
        println!("auth-layer/{label}: {} alone, {rounds} x {calls} calls", variant.name());
        return;
    }
    // Connections, HTTP/2 windows and the server's caches warm up first.
    for variant in &variants {
        throughput(variant, &model_uri, calls / 4, concurrency).await;
    }
    let mut results: Vec<Vec<f64>> = vec![Vec::new(); variants.len()];
    for round in 0..rounds {
        let mut order: Vec<usize> = (0..variants.len()).collect();
        if round % 2 == 1 {
            order.reverse();
        }
        for i in order {
            results[i].push(throughput(&variants[i], &model_uri, calls, concurrency).await);
        }
    }
    let medians: Vec<f64> = results.into_iter().map(|mut v| median(&mut v)).collect();
    for (variant, m) in variants.iter().zip(&medians) {
        println!(
            "auth-layer/{label}: {:<38} {:>9.0} calls/s (median of {rounds})",
            variant.name(),
            m
        );
    }
    println!(
        "auth-layer/{label}: AuthLayer / hand-set authorization = {:.3}; AuthLayer / hand-set with ids = {:.3} \
         ({calls} calls at {concurrency} per round)",
        medians[1] / medians[0],
        medians[1] / medians[2]
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    // `cargo bench` passes `--bench`; without it (`cargo test --all-targets`) one small round
    // checks that every variant works.
    let measuring = args.iter().any(|a| a == "--bench");
    let number = |name: &str, measured: usize, checked: usize| {
        arg(&args, name)
            .and_then(|n| n.parse().ok())
            .unwrap_or(if measuring { measured } else { checked })
    };
    let rounds = number("--rounds", 7, 1);
    let calls = number("--calls", 20_000, 256);
    let concurrency = number("--concurrency", 64, 64);
    let server = arg(&args, "--server").unwrap_or_else(|| "both".to_owned());
    let only = arg(&args, "--variant");
    let shape = (rounds, calls, concurrency);
    let rt = runtime();
    rt.block_on(async {
        let emulator = Emulator::builder()
            .with_oauth_token(OAUTH)
            .start()
            .await
            .expect("emulator starts");
        let client = Client::builder()
            .with_endpoint(emulator.endpoint())
            .with_credentials(Credentials::oauth_token(OAUTH))
            .build()
            .expect("client builds");
        if server == "emulator" || server == "both" {
            compare("emulator", &emulator.endpoint(), &client, only.as_deref(), shape).await;
        }
        if server == "constant" || server == "both" {
            let answer = TokenizeResponse {
                tokens: vec![Token {
                    id: 1,
                    text: "<s>".to_owned(),
                    special: true,
                }],
                model_version: "23.10.2024".to_owned(),
            };
            let endpoint = constant_tokenizer(answer).await;
            compare("constant", &endpoint, &client, only.as_deref(), shape).await;
        }
        emulator.shutdown().await;
    });
}
