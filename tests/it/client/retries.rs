//! Transient failures are retried within the bound, not at all when disabled,
//! and a RetryInfo delay is honoured.

use std::time::Duration;

use tokio::time::Instant;
use tonic::Code;
use yc_iam::{ErrorKind, RetryPolicy, emulator::Fault};

use super::{FOLDER, SA_LIST, builder, calls, client, emulator};

#[tokio::test]
async fn unavailable_and_resource_exhausted_are_retried_to_success() {
    for code in [Code::Unavailable, Code::ResourceExhausted] {
        let emu = emulator().await;
        emu.set_fault(SA_LIST, Fault::FailFirst { n: 3, code });
        let client = builder(&emu)
            .with_retry(
                RetryPolicy::default()
                    .with_max_attempts(4)
                    .with_initial_backoff(Duration::from_millis(5))
                    .with_max_backoff(Duration::from_millis(20)),
            )
            .build()
            .expect("client");
        let found = client.service_accounts().find_by_name(FOLDER, "nobody-here").await;
        assert!(matches!(found, Ok(None)), "{code:?}: {found:?}");
        assert_eq!(calls(&emu, SA_LIST).len(), 4, "{code:?}: three failures and a success");
    }
}

#[tokio::test]
async fn attempts_are_bounded() {
    let emu = emulator().await;
    emu.set_fault(
        SA_LIST,
        Fault::FailFirst {
            n: 10,
            code: Code::Unavailable,
        },
    );
    let client = builder(&emu)
        .with_retry(RetryPolicy::default().with_max_attempts(3))
        .build()
        .expect("client");
    let err = client
        .service_accounts()
        .find_by_name(FOLDER, "nobody-here")
        .await
        .expect_err("fails");
    assert_eq!(err.code(), Some(Code::Unavailable));
    assert_eq!(calls(&emu, SA_LIST).len(), 3);
}

#[tokio::test]
async fn with_retries_disabled_the_call_fails_with_that_code() {
    for (code, kind) in [
        (Code::Unavailable, ErrorKind::Unavailable),
        (Code::ResourceExhausted, ErrorKind::Unavailable),
    ] {
        let emu = emulator().await;
        emu.set_fault(SA_LIST, Fault::FailFirst { n: 1, code });
        let client = builder(&emu)
            .with_retry(RetryPolicy::disabled())
            .build()
            .expect("client");
        let err = client
            .service_accounts()
            .find_by_name(FOLDER, "nobody-here")
            .await
            .expect_err("fails");
        assert_eq!(err.code(), Some(code));
        assert_eq!(err.kind(), kind);
        assert!(err.is_retryable());
        assert!(!err.is_invalid_input());
        assert_eq!(calls(&emu, SA_LIST).len(), 1);
    }
}

#[tokio::test(start_paused = true)]
async fn retry_info_delay_is_honoured() {
    let emu = emulator().await;
    // Warm up: discovery and the channel, so only the retried call is timed.
    let client = client(&emu);
    client.folders().get(FOLDER).await.expect("warm up");
    emu.set_fault(
        SA_LIST,
        Fault::FailFirst {
            n: 1,
            code: Code::ResourceExhausted,
        },
    );
    let start = Instant::now();
    client
        .service_accounts()
        .find_by_name(FOLDER, "nobody-here")
        .await
        .expect("retried to success");
    let waited = start.elapsed();
    let lists = calls(&emu, SA_LIST);
    assert_eq!(lists.len(), 2);
    // The emulator's RetryInfo asks for 200 ms, far more than this client's 10 ms backoff.
    assert!(waited >= Duration::from_millis(200), "waited only {waited:?}");
    assert!(waited < Duration::from_millis(400), "waited {waited:?}");
}

#[tokio::test]
async fn connection_failures_are_retried_until_the_server_is_up() {
    // A free port, with nothing listening on it yet.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port");
    let client = yc_iam::Client::builder()
        .with_endpoint(format!("http://{addr}"))
        .with_credentials(yc_iam::Credentials::iam_token(yc_iam::emulator::DEFAULT_IAM_TOKEN))
        .with_retry(
            RetryPolicy::default()
                .with_max_attempts(20)
                .with_initial_backoff(Duration::from_millis(50))
                .with_max_backoff(Duration::from_millis(100)),
        )
        .build()
        .expect("client");
    let server = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        super::start(yc_iam::emulator::Emulator::builder().with_listen(addr)).await
    });
    let folder = client
        .folders()
        .get(FOLDER)
        .await
        .expect("retried until the server answered");
    assert_eq!(folder.id, FOLDER);
    let emu = server.await.expect("server task");
    assert_eq!(calls(&emu, super::ENDPOINT_LIST).len(), 1);
}

#[tokio::test]
async fn connection_failure_without_retries_is_a_transport_error() {
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port");
    let client = yc_iam::Client::builder()
        .with_endpoint(format!("http://{addr}"))
        .with_retry(RetryPolicy::disabled())
        .build()
        .expect("client");
    let err = client.folders().get(FOLDER).await.expect_err("nothing listens");
    assert_eq!(err.kind(), ErrorKind::Transport, "{err:?}");
    assert!(err.is_retryable());
    assert!(err.client_request_id().is_some());
}
