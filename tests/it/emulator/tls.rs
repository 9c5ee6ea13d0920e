//! TLS with a given certificate: a client trusting the CA connects to `https://localhost:PORT`.

use tonic::transport::{Certificate, ClientTlsConfig, Endpoint};
use yc_iam::emulator::{DEFAULT_FOLDER_ID, DEFAULT_IAM_TOKEN, Emulator};
use yc_iam::proto::yandex::cloud::endpoint::ListApiEndpointsRequest;
use yc_iam::proto::yandex::cloud::endpoint::api_endpoint_service_client::ApiEndpointServiceClient;
use yc_iam::proto::yandex::cloud::iam::v1::ListServiceAccountsRequest;
use yc_iam::proto::yandex::cloud::iam::v1::service_account_service_client::ServiceAccountServiceClient;

use super::support::Auth;

const CA: &str = include_str!("tls/ca.pem");
const CERT: &str = include_str!("tls/server.pem");
const KEY: &str = include_str!("tls/server.key");

#[tokio::test]
async fn tls_endpoint_serves_clients_that_trust_the_certificate() {
    let emu = Emulator::builder().with_tls(CERT, KEY).start().await.expect("start");
    let endpoint = emu.endpoint();
    assert!(endpoint.starts_with("https://localhost:"), "{endpoint}");
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(CA))
        .domain_name("localhost");
    let channel = Endpoint::from_shared(endpoint)
        .expect("endpoint")
        .tls_config(tls)
        .expect("tls")
        .connect()
        .await;
    let channel = channel.expect("tls connect");
    let mut endpoints = ApiEndpointServiceClient::new(channel.clone());
    let list = endpoints
        .list(ListApiEndpointsRequest::default())
        .await
        .expect("list")
        .into_inner();
    assert!(
        list.endpoints
            .iter()
            .all(|e| e.address == format!("localhost:{}", emu.addr().port()))
    );
    let mut accounts = ServiceAccountServiceClient::with_interceptor(channel, Auth::bearer(DEFAULT_IAM_TOKEN));
    accounts
        .list(ListServiceAccountsRequest {
            folder_id: DEFAULT_FOLDER_ID.into(),
            ..Default::default()
        })
        .await
        .expect("authenticated call over tls");

    // A plaintext client cannot talk to it.
    let plain = format!("http://127.0.0.1:{}", emu.addr().port());
    let plain = Endpoint::from_shared(plain).expect("endpoint").connect().await;
    if let Ok(channel) = plain {
        let mut endpoints = ApiEndpointServiceClient::new(channel);
        assert!(endpoints.list(ListApiEndpointsRequest::default()).await.is_err());
    }
}

#[tokio::test]
async fn an_invalid_certificate_is_an_error_at_start() {
    let result = Emulator::builder().with_tls("not a cert", "not a key").start().await;
    assert!(result.is_err());
}
