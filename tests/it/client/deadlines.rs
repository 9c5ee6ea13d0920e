//! The client's time limits hold against servers that answer slowly or stop part way: a call's
//! timeout covers the whole answer, body included, and an operation's wait ends at its timeout
//! whatever a poll in flight is doing.

use std::{
    convert::Infallible,
    marker::PhantomData,
    pin::Pin,
    task::{Context, Poll},
    time::Duration,
};

use tokio::time::Instant;
use tonic::{codegen::Bytes, server::NamedService, transport::server::TcpIncoming};
use yc_iam::{
    Client, ClientBuilder, CreateServiceAccount, Credentials, ErrorKind, RetryPolicy,
    emulator::Fault,
    proto::yandex::cloud::{
        iam::v1::iam_token_service_server::IamTokenServiceServer,
        resourcemanager::v1::folder_service_server::FolderServiceServer,
    },
};

use super::{FOLDER, OP_GET, client, start};

/// The service `S` names (a generated server type) answering every call with its response headers
/// and then nothing more: no message, no trailers, the stream left open.
struct StallsAfterHeaders<S>(PhantomData<fn() -> S>);

impl<S> Clone for StallsAfterHeaders<S> {
    fn clone(&self) -> Self {
        StallsAfterHeaders(PhantomData)
    }
}

impl<S: NamedService> NamedService for StallsAfterHeaders<S> {
    const NAME: &'static str = S::NAME;
}

impl<S> tower::Service<http::Request<tonic::body::Body>> for StallsAfterHeaders<S> {
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = std::future::Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: http::Request<tonic::body::Body>) -> Self::Future {
        let mut response = http::Response::new(tonic::body::Body::new(Silence));
        response
            .headers_mut()
            .insert("content-type", http::HeaderValue::from_static("application/grpc"));
        std::future::ready(Ok(response))
    }
}

/// A response body that never yields a frame and never ends.
struct Silence;

impl http_body::Body for Silence {
    type Data = Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, tonic::Status>>> {
        Poll::Pending
    }
}

/// Serves `S` stalling after its headers; a client builder for it (every call through `service`,
/// one attempt of at most 500 ms).
async fn stalling<S: NamedService + Send + 'static>(service: &str) -> ClientBuilder {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
    let server = tonic::transport::Server::builder()
        .add_service(StallsAfterHeaders::<S>(PhantomData))
        .serve_with_incoming(TcpIncoming::from(listener));
    tokio::spawn(server);
    Client::builder()
        .with_endpoint(&endpoint)
        .with_service_endpoint(service, &endpoint)
        .with_retry(RetryPolicy::disabled())
        .with_timeout(Duration::from_millis(500))
}

#[tokio::test(start_paused = true)]
async fn a_call_whose_answer_stalls_after_the_headers_fails_at_its_timeout() {
    let client = stalling::<FolderServiceServer<()>>("resource-manager")
        .await
        .with_credentials(Credentials::iam_token("t1.test"))
        .build()
        .expect("client");
    // The guard only turns a hang into a failure; the clock is paused, so it costs nothing.
    let err = tokio::time::timeout(Duration::from_secs(600), client.folders().get(FOLDER))
        .await
        .expect("the call ends")
        .expect_err("no answer came");
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    assert!(err.to_string().contains("no answer within 500 ms"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn a_token_exchange_that_stalls_after_the_headers_fails_at_its_timeout_and_blocks_no_later_call() {
    let client = stalling::<IamTokenServiceServer<()>>("iam")
        .await
        .with_credentials(Credentials::oauth_token("y0_stalled-exchange"))
        .build()
        .expect("client");
    // The second exchange shows the first one let go of the cache when it failed.
    for _ in 0..2 {
        let err = tokio::time::timeout(Duration::from_secs(600), client.iam_token())
            .await
            .expect("the exchange ends")
            .expect_err("no token came");
        assert!(err.to_string().contains("no answer within 500 ms"), "{err}");
    }
}

#[tokio::test(start_paused = true)]
async fn waiting_for_an_operation_ends_at_its_timeout_while_a_poll_is_still_unanswered() {
    let emu = start(yc_iam::emulator::Emulator::builder().with_op_delay(Duration::from_secs(60))).await;
    let client = client(&emu);
    let operation = client
        .service_accounts()
        .create(CreateServiceAccount::new(FOLDER, "slow-poll"))
        .await
        .expect("create is accepted");
    emu.set_fault(OP_GET, Fault::Delay(Duration::from_secs(4)));
    let started = Instant::now();
    let err = operation
        .with_timeout(Duration::from_millis(500))
        .wait()
        .await
        .expect_err("the operation is not done in time");
    assert_eq!(err.kind(), ErrorKind::Timeout, "{err}");
    // On the paused clock this is exact: the wait ends at its deadline, not when the poll returns.
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "waited {:?}",
        started.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn an_operation_that_finishes_just_before_the_wait_ends_is_seen_done_by_the_final_poll() {
    // Polls a second apart, as the server asks: at 1 s (not done yet), then, the pause cut
    // short, at the deadline, 1.7 s; the operation finished at 1.5 s.
    let builder = yc_iam::emulator::Emulator::builder()
        .with_op_delay(Duration::from_millis(1500))
        .with_poll_interval(Duration::from_secs(1));
    let emu = start(builder).await;
    let client = client(&emu);
    let operation = client
        .service_accounts()
        .create(CreateServiceAccount::new(FOLDER, "just-in-time"))
        .await
        .expect("create is accepted");
    let account = operation
        .with_timeout(Duration::from_millis(1700))
        .wait()
        .await
        .expect("the final poll sees the operation done");
    assert_eq!(account.name, "just-in-time");
}
