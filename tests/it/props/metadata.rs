//! Answers of the compute-instance metadata service (`YC_METADATA_ADDR`): whatever a loopback
//! server sends back — broken HTTP, wrong lengths, absurd chunk sizes, bad JSON — the client
//! returns an error (or uses the token), never panics, and never repeats the token in an error.

use std::time::Duration;

use proptest::prelude::*;
use proptest::test_runner::TestRunner;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use yc_iam::emulator::{DEFAULT_FOLDER_ID, DEFAULT_IAM_TOKEN, Emulator};
use yc_iam::{Client, Credentials, ErrorKind, RetryPolicy};

const SECRET: &str = "t1.metadata-secret-never-shown";

fn status_line() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => Just("HTTP/1.1 200 OK".to_owned()),
        1 => "HTTP/1\\.[01] [0-9]{3} [A-Za-z ]{0,10}",
        1 => "[ -~]{0,30}",
    ]
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(format!(r#"{{"access_token":"{SECRET}","expires_in":3600,"token_type":"Bearer"}}"#).into_bytes()),
        Just(format!(r#"{{"access_token":"{DEFAULT_IAM_TOKEN}","expires_in":43200}}"#).into_bytes()),
        Just(br#"{"access_token":"","expires_in":1}"#.to_vec()),
        "\\{\"access_token\": ?(\"[ -~]{0,20}\"|[0-9]{1,30}|null), ?\"expires_in\": ?(-?[0-9]{1,25}|\"x\"|1e400)\\}"
            .prop_map(String::into_bytes),
        proptest::collection::vec(any::<u8>(), 0..200),
    ]
}

/// A length or chunk size: small, any, or at the edge of the integer range.
fn number() -> impl Strategy<Value = u64> {
    prop_oneof![
        0u64..300,
        any::<u64>(),
        Just(u64::MAX),
        Just(u64::MAX - 1),
        Just(u64::from(u32::MAX))
    ]
}

/// The bytes a broken or hostile metadata service answers with.
fn answer() -> impl Strategy<Value = Vec<u8>> {
    let framed = (status_line(), body(), 0u8..4, number(), any::<prop::sample::Index>()).prop_map(
        |(status, body, framing, number, cut)| {
            let mut out = format!("{status}\r\nContent-Type: application/json\r\n").into_bytes();
            match framing {
                // An honest length.
                0 => out.extend(format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes()),
                // A lying length (too long, too short, absurd).
                1 => out.extend(format!("Content-Length: {number}\r\n\r\n").into_bytes()),
                // No length: the body ends at close.
                2 => out.extend(b"\r\n"),
                // Chunked, with one honest chunk then one of any size.
                _ => {
                    out.extend(b"Transfer-Encoding: chunked\r\n\r\n");
                    let split = cut.index(body.len() + 1);
                    out.extend(format!("{:x}\r\n", split).into_bytes());
                    out.extend(&body[..split]);
                    out.extend(format!("\r\n{number:x}\r\n").into_bytes());
                    out.extend(&body[split..]);
                    out.extend(b"\r\n0\r\n\r\n");
                    return out;
                }
            }
            out.extend(body);
            out
        },
    );
    prop_oneof![4 => framed, 1 => proptest::collection::vec(any::<u8>(), 0..300)]
}

/// Serves one connection on loopback with `answer`, then closes it.
async fn metadata_server(answer: Vec<u8>) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        if let Ok((mut socket, _)) = listener.accept().await {
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 16 * 1024 {
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let _ = socket.write_all(&answer).await;
            let _ = socket.shutdown().await;
        }
    });
    addr
}

#[test]
fn metadata_answers_of_any_shape_end_in_a_token_or_an_error() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let emu = rt.block_on(Emulator::builder().start()).expect("start");
    let mut runner = TestRunner::new(super::config(4));
    let (ok, err) = (std::cell::Cell::new(0u32), std::cell::Cell::new(0u32));
    let outcome = runner.run(&answer(), |answer| {
        let result = rt.block_on(async {
            let addr = metadata_server(answer).await;
            let client = Client::builder()
                .with_endpoint(emu.endpoint())
                .with_credentials(Credentials::metadata_service_at(addr.to_string()))
                .with_retry(RetryPolicy::disabled())
                .with_timeout(Duration::from_secs(5))
                .build()
                .expect("client");
            client.folders().get(DEFAULT_FOLDER_ID).await
        });
        match result {
            Ok(_) => ok.set(ok.get() + 1),
            Err(e) => {
                err.set(err.get() + 1);
                prop_assert!(
                    matches!(e.kind(), ErrorKind::Credentials | ErrorKind::Unauthenticated),
                    "unexpected kind {:?}: {}",
                    e.kind(),
                    e
                );
                let shown = format!("{e} {e:?}");
                prop_assert!(!shown.contains(SECRET), "the token is in an error: {}", shown);
            }
        }
        Ok(())
    });
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
    let (ok, err) = (ok.get(), err.get());
    println!(
        "metadata answers: {} cases, {ok} used the token, {err} failed cleanly",
        ok + err
    );
}
