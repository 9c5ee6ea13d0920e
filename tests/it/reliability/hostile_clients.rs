//! The emulator keeps serving well-behaved clients while others send malformed
//! HTTP/2 frames, oversized gRPC messages, or stall half-way through a frame (slowloris). All on
//! loopback; every wait is bounded.

use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::time::timeout;
use yc_iam::emulator::{DEFAULT_FOLDER_ID, DEFAULT_IAM_TOKEN, Emulator};
use yc_iam::proto::yandex::cloud::iam::v1::CreateServiceAccountRequest;
use yc_iam::proto::yandex::cloud::iam::v1::service_account_service_client::ServiceAccountServiceClient;
use yc_iam::{Client, Credentials, RetryPolicy};

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const LIST_PATH: &str = "/yandex.cloud.iam.v1.ServiceAccountService/List";
/// How long any single step of the test may take before it counts as a hang.
const BOUND: Duration = Duration::from_secs(10);

/// One HTTP/2 frame: 24-bit length, type, flags, stream id.
fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len();
    let mut out = vec![(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags];
    out.extend_from_slice(&(stream & 0x7fff_ffff).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

const DATA: u8 = 0x0;
const HEADERS: u8 = 0x1;
const RST_STREAM: u8 = 0x3;
const SETTINGS: u8 = 0x4;
const PING: u8 = 0x6;
const WINDOW_UPDATE: u8 = 0x8;
const CONTINUATION: u8 = 0x9;
const END_STREAM: u8 = 0x1;
const END_HEADERS: u8 = 0x4;

/// HPACK "literal header field without indexing, new name", no Huffman (short strings only).
fn hpack(headers: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in headers {
        assert!(name.len() < 127 && value.len() < 127, "short strings only");
        out.push(0x00);
        out.push(name.len() as u8);
        out.extend_from_slice(name.as_bytes());
        out.push(value.len() as u8);
        out.extend_from_slice(value.as_bytes());
    }
    out
}

/// The request headers of a gRPC call to `path` on stream `stream`.
fn grpc_headers(stream: u32, path: &str, end_headers: bool) -> Vec<u8> {
    let auth = format!("Bearer {DEFAULT_IAM_TOKEN}");
    let block = hpack(&[
        (":method", "POST"),
        (":scheme", "http"),
        (":path", path),
        (":authority", "127.0.0.1"),
        ("content-type", "application/grpc"),
        ("te", "trailers"),
        ("authorization", &auth),
    ]);
    frame(HEADERS, if end_headers { END_HEADERS } else { 0 }, stream, &block)
}

/// The start of every connection: the preface and empty SETTINGS.
fn opening() -> Vec<u8> {
    let mut out = PREFACE.to_vec();
    out.extend(frame(SETTINGS, 0, 0, &[]));
    out
}

/// Byte sequences a broken or hostile peer might send, each on its own connection.
fn malformed() -> Vec<(&'static str, Vec<u8>)> {
    let with = |rest: Vec<u8>| {
        let mut out = opening();
        out.extend(rest);
        out
    };
    let mut continuation_flood = grpc_headers(1, LIST_PATH, false);
    for _ in 0..64 {
        continuation_flood.extend(frame(CONTINUATION, 0, 1, &[0x00, 0x01, b'x', 0x7e, b'y'].repeat(3000)));
    }
    let mut declared_4gib = grpc_headers(1, LIST_PATH, true);
    declared_4gib.extend(frame(DATA, END_STREAM, 1, &[0, 0xff, 0xff, 0xff, 0xff, 1, 2, 3]));
    let mut bad_protobuf = grpc_headers(3, LIST_PATH, true);
    bad_protobuf.extend(frame(
        DATA,
        END_STREAM,
        3,
        &[0, 0, 0, 0, 6, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
    ));
    let mut compressed_flag = grpc_headers(5, LIST_PATH, true);
    compressed_flag.extend(frame(DATA, END_STREAM, 5, &[1, 0, 0, 0, 2, 0x1f, 0x8b]));
    let mut unknown_method = grpc_headers(7, "/yandex.cloud.iam.v1.Nope/Nothing", true);
    unknown_method.extend(frame(DATA, END_STREAM, 7, &[0, 0, 0, 0, 0]));
    vec![
        (
            "garbage instead of the preface",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage".to_vec(),
        ),
        ("a half preface then close", PREFACE[..10].to_vec()),
        (
            "a frame longer than the maximum frame size",
            with(vec![0xff, 0xff, 0xff, DATA, 0, 0, 0, 0, 1]),
        ),
        (
            "headers with an invalid HPACK block",
            with(frame(HEADERS, END_HEADERS | END_STREAM, 1, &[0xff; 64])),
        ),
        ("data on stream 0", with(frame(DATA, 0, 0, b"hello"))),
        ("a zero window update", with(frame(WINDOW_UPDATE, 0, 0, &[0, 0, 0, 0]))),
        (
            "a reset of an idle stream",
            with(frame(RST_STREAM, 0, 9, &[0, 0, 0, 8])),
        ),
        (
            "an invalid initial window size",
            with(frame(SETTINGS, 0, 0, &[0, 4, 0xff, 0xff, 0xff, 0xff])),
        ),
        ("a truncated settings frame", with(frame(SETTINGS, 0, 0, &[0, 4, 0]))),
        (
            "a ping flood",
            with((0..2000).flat_map(|_| frame(PING, 0, 0, &[7; 8])).collect()),
        ),
        ("a continuation flood", with(continuation_flood)),
        ("a message declaring 4 GiB", with(declared_4gib)),
        ("a body that is not protobuf", with(bad_protobuf)),
        ("a compressed flag without compression", with(compressed_flag)),
        ("an unknown method", with(unknown_method)),
    ]
}

/// Sends `bytes`, then reads whatever comes back until the server closes or `BOUND` passes.
async fn hit(addr: std::net::SocketAddr, bytes: Vec<u8>) -> usize {
    let Ok(mut socket) = TcpStream::connect(addr).await else {
        return 0;
    };
    let _ = socket.write_all(&bytes).await;
    let mut received = 0;
    let mut buf = vec![0u8; 16 * 1024];
    let _ = timeout(Duration::from_secs(2), async {
        loop {
            match socket.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received += n,
            }
        }
    })
    .await;
    received
}

/// A facade call that must succeed within `BOUND`.
async fn served(client: &Client) {
    let found = timeout(
        BOUND,
        client.service_accounts().find_by_name(DEFAULT_FOLDER_ID, "nobody-here"),
    )
    .await
    .expect("a well-behaved call is answered in time while others misbehave")
    .expect("a well-behaved call succeeds while others misbehave");
    assert!(found.is_none());
}

fn client(emu: &Emulator) -> Client {
    Client::builder()
        .with_endpoint(emu.endpoint())
        .with_credentials(Credentials::iam_token(DEFAULT_IAM_TOKEN))
        .with_retry(RetryPolicy::disabled())
        .build()
        .expect("client")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_frames_do_not_disturb_other_clients() {
    let emu = Emulator::builder().start().await.expect("start");
    let client = client(&emu);
    served(&client).await;
    let cases = malformed();
    let count = cases.len();
    let addr = emu.addr();
    // All at once, each on its own connection.
    let attacks = tokio::spawn(async move {
        let hits = cases.into_iter().map(|(_, bytes)| hit(addr, bytes));
        futures_util::future::join_all(hits)
            .await
            .into_iter()
            .filter(|n| *n > 0)
            .count()
    });
    for _ in 0..20 {
        served(&client).await;
        tokio::task::yield_now().await;
    }
    let answered = timeout(Duration::from_secs(60), attacks)
        .await
        .expect("bounded")
        .expect("joins");
    served(&client).await;
    // A fresh client too, in case the first one's connection was the lucky one.
    served(&self::client(&emu)).await;
    println!(
        "malformed frames: {count} kinds sent, {answered} answered (GOAWAY, RST or a status); other clients served throughout"
    );
    timeout(BOUND, emu.shutdown()).await.expect("shutdown is bounded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_messages_are_refused_while_others_are_served() {
    let emu = Emulator::builder().start().await.expect("start");
    let client = client(&emu);
    let channel = tonic::transport::Endpoint::from_shared(emu.endpoint())
        .expect("endpoint")
        .connect()
        .await
        .expect("connect");
    let auth = format!("Bearer {DEFAULT_IAM_TOKEN}");
    let huge = move |mb: usize| {
        let auth = auth.clone();
        let mut raw =
            ServiceAccountServiceClient::with_interceptor(channel.clone(), move |mut r: tonic::Request<()>| {
                r.metadata_mut().insert("authorization", auth.parse().expect("ascii"));
                Ok(r)
            })
            .max_encoding_message_size(usize::MAX);
        async move {
            raw.create(CreateServiceAccountRequest {
                folder_id: DEFAULT_FOLDER_ID.into(),
                name: "too-big".into(),
                description: "x".repeat(mb * 1024 * 1024),
                ..Default::default()
            })
            .await
        }
    };
    let big = tokio::spawn(async move {
        let mut codes = Vec::new();
        for mb in [5, 16, 64] {
            codes.push(huge(mb).await.map(drop).map_err(|s| s.code()));
        }
        codes
    });
    for _ in 0..10 {
        served(&client).await;
    }
    let codes = timeout(Duration::from_secs(60), big)
        .await
        .expect("bounded")
        .expect("joins");
    for code in &codes {
        assert!(
            matches!(
                code,
                Err(tonic::Code::ResourceExhausted
                    | tonic::Code::Cancelled
                    | tonic::Code::Unavailable
                    | tonic::Code::Internal
                    | tonic::Code::Unknown)
            ),
            "an oversized message was not refused: {code:?}"
        );
    }
    assert!(emu.snapshot().service_account_named("too-big").is_none());
    served(&client).await;
    println!("oversized messages: 5, 16 and 64 MiB refused ({codes:?}); other clients served throughout");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_connections_do_not_starve_other_clients() {
    let emu = Emulator::builder().start().await.expect("start");
    let addr = emu.addr();
    let client = client(&emu);
    // Each stalls somewhere different and keeps its socket open.
    let mut stalled = Vec::new();
    for i in 0..60u32 {
        let mut socket = TcpStream::connect(addr).await.expect("connect");
        let bytes = match i % 5 {
            // Half the preface.
            0 => PREFACE[..12].to_vec(),
            // The preface, no settings.
            1 => PREFACE.to_vec(),
            // Headers without END_HEADERS: the header block never completes.
            2 => [opening(), grpc_headers(1, LIST_PATH, false)].concat(),
            // A gRPC message that declares 1000 bytes and sends 10.
            3 => [
                opening(),
                grpc_headers(1, LIST_PATH, true),
                frame(DATA, 0, 1, &[0, 0, 0, 0x03, 0xe8, 1, 2, 3, 4, 5]),
            ]
            .concat(),
            // Half a frame header.
            _ => [opening(), vec![0, 0, 9, HEADERS]].concat(),
        };
        socket.write_all(&bytes).await.expect("write");
        stalled.push(socket);
    }
    for _ in 0..20 {
        served(&client).await;
        served(&self::client(&emu)).await;
    }
    println!(
        "slow clients: {} connections stalled mid-preface, mid-headers and mid-message; other clients served throughout",
        stalled.len()
    );
    drop(stalled);
    served(&client).await;
    timeout(BOUND, emu.shutdown()).await.expect("shutdown is bounded");
}
