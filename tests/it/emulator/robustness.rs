//! It keeps serving through garbage bytes, oversized messages and many concurrent connections.

use tokio::io::AsyncWriteExt;
use tonic::Code;
use tonic::transport::Endpoint;
use yc_iam::emulator::{DEFAULT_FOLDER_ID, Emulator};
use yc_iam::proto::yandex::cloud::endpoint::ListApiEndpointsRequest;
use yc_iam::proto::yandex::cloud::endpoint::api_endpoint_service_client::ApiEndpointServiceClient;
use yc_iam::proto::yandex::cloud::iam::v1::{
    CreateServiceAccountRequest, ListServiceAccountsRequest, ListServiceAccountsResponse,
};

use super::support::clients;

fn list() -> ListServiceAccountsRequest {
    ListServiceAccountsRequest {
        folder_id: DEFAULT_FOLDER_ID.into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn garbage_bytes_on_the_port_do_not_stop_it() {
    let emu = Emulator::builder().start().await.expect("start");
    let payloads: [&[u8]; 4] = [
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"\x00\x01\x02\x03garbage\xff\xfe",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x04\x01\x00\x00\x00\x00\x00garbage-frames",
        &[0xAA; 4096],
    ];
    for payload in payloads {
        let mut socket = tokio::net::TcpStream::connect(emu.addr()).await.expect("connect");
        let _ = socket.write_all(payload).await;
        let _ = socket.shutdown().await;
    }
    let mut c = clients(&emu).await;
    c.accounts.list(list()).await.expect("still serving");
}

#[tokio::test]
async fn malformed_and_oversized_messages_are_rejected_cleanly() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let huge = CreateServiceAccountRequest {
        folder_id: DEFAULT_FOLDER_ID.into(),
        name: "huge".into(),
        description: "x".repeat(5 * 1024 * 1024),
        ..Default::default()
    };
    let err = c.accounts.create(huge).await.expect_err("oversized");
    assert_eq!(err.code(), Code::ResourceExhausted);

    // A body that is not a valid message for the method: field 1 is a varint, not a string.
    let channel = super::support::channel(&emu).await;
    let mut raw = tonic::client::Grpc::new(channel);
    raw.ready().await.expect("ready");
    let path = http::uri::PathAndQuery::from_static("/yandex.cloud.iam.v1.ServiceAccountService/List");
    let mut request = tonic::Request::new(prost_types::Duration { seconds: 7, nanos: 0 });
    request.metadata_mut().insert(
        "authorization",
        "Bearer t1.emulator-default-token".parse().expect("header"),
    );
    let codec = tonic_prost::ProstCodec::<prost_types::Duration, ListServiceAccountsResponse>::default();
    let err = raw.unary(request, path, codec).await.expect_err("malformed");
    assert!(matches!(err.code(), Code::Internal | Code::InvalidArgument), "{err:?}");

    c.accounts.list(list()).await.expect("still serving");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_concurrent_connections_are_served() {
    let emu = Emulator::builder().start().await.expect("start");
    let endpoint = emu.endpoint();
    // Open all connections first and keep them, so 500 are open at once, then call on each.
    let connects = (0..500).map(|_| {
        let endpoint = Endpoint::from_shared(endpoint.clone()).expect("endpoint");
        async move { endpoint.connect().await }
    });
    let channels: Vec<_> = futures_util::future::join_all(connects)
        .await
        .into_iter()
        .collect::<Result<_, _>>()
        .expect("connect");
    let calls = channels.iter().map(|channel| {
        let mut client = ApiEndpointServiceClient::new(channel.clone());
        tokio::spawn(async move {
            client
                .list(ListApiEndpointsRequest::default())
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
    });
    let results = futures_util::future::join_all(calls).await;
    let failures: Vec<String> = results
        .into_iter()
        .filter_map(|r| match r {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e),
            Err(e) => Some(e.to_string()),
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} of 500 failed, first: {:?}",
        failures.len(),
        failures.first()
    );
    let mut c = clients(&emu).await;
    c.accounts.list(list()).await.expect("still serving");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_calls_on_one_connection_are_served() {
    let emu = Emulator::builder().start().await.expect("start");
    let c = clients(&emu).await;
    let calls = (0..1000).map(|_| {
        let mut accounts = c.accounts.clone();
        tokio::spawn(async move { accounts.list(list()).await.map(|_| ()).map_err(|e| e.to_string()) })
    });
    let results = futures_util::future::join_all(calls).await;
    let failed = results.iter().filter(|r| !matches!(r, Ok(Ok(())))).count();
    assert_eq!(failed, 0);
    assert_eq!(emu.journal().len(), 1000);
}
