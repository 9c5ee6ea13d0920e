//! Endpoint discovery happens once per client, never lowers transport security, and never sends
//! credentials to a host the configured endpoint does not stand for. (That the default endpoint
//! is never discovered is a unit test in `src/client.rs`: it needs no server.)

use std::time::Duration;

use yc_iam::{
    Client, CreateApiKey, Credentials, ErrorKind, RetryPolicy,
    emulator::{DEFAULT_IAM_TOKEN, Emulator},
};

use super::{ENDPOINT_LIST, FOLDER, calls, client, create_sa, emulator, start};

#[tokio::test]
async fn non_default_endpoint_is_discovered_once_per_client() {
    let emu = emulator().await;
    let client = client(&emu);
    // Many first calls at once, to all three services.
    let first = futures_util::future::join_all((0..20).map(|_| {
        let client = client.clone();
        async move {
            client.folders().get(FOLDER).await?;
            client.operations().get("nonexistent-op").await.ok();
            client.service_accounts().find_by_name(FOLDER, "nobody").await
        }
    }))
    .await;
    assert!(first.iter().all(Result::is_ok));
    let sa = create_sa(&client, "discovered").await;
    client.api_keys().create(CreateApiKey::new(&sa.id)).await.expect("key");
    assert_eq!(calls(&emu, ENDPOINT_LIST).len(), 1);
    let list = &calls(&emu, ENDPOINT_LIST)[0];
    assert_eq!(
        list.header("authorization"),
        None,
        "no authorization on ApiEndpointService"
    );

    let other = super::client(&emu);
    other.folders().get(FOLDER).await.expect("second client");
    assert_eq!(calls(&emu, ENDPOINT_LIST).len(), 2, "one more for a new client");
}

#[tokio::test]
async fn service_overrides_skip_discovery() {
    let emu = emulator().await;
    let client = Client::builder()
        .with_endpoint("http://127.0.0.1:9")
        .with_service_endpoint("iam", emu.endpoint())
        .with_service_endpoint("resource-manager", emu.endpoint())
        .with_service_endpoint("operation", emu.endpoint())
        .with_credentials(Credentials::iam_token(DEFAULT_IAM_TOKEN))
        .build()
        .expect("client");
    client
        .folders()
        .get(FOLDER)
        .await
        .expect("get folder through the override");
    assert!(calls(&emu, ENDPOINT_LIST).is_empty());
}

/// A client of the TLS emulator `emu` that trusts `ca`, without retries.
fn tls_client(emu: &Emulator, ca: &str) -> Client {
    Client::builder()
        .with_endpoint(emu.endpoint())
        .with_ca_pem(ca.as_bytes().to_vec())
        .with_credentials(Credentials::iam_token(DEFAULT_IAM_TOKEN))
        .with_retry(RetryPolicy::disabled())
        .with_timeout(Duration::from_secs(3))
        .build()
        .expect("client")
}

#[tokio::test]
async fn a_tls_endpoint_never_sends_a_service_in_plaintext_where_discovery_points() {
    let plain = emulator().await;
    let plaintext_iam = format!("http://{}", plain.addr());
    let (ca, chain, key) = super::tls::test_pki();
    let emu = start(
        Emulator::builder()
            .with_tls(chain, key)
            .with_discovered_address("iam", plaintext_iam.clone()),
    )
    .await;
    let client = tls_client(&emu, &ca);
    let err = client
        .service_accounts()
        .find_by_name(FOLDER, "nobody")
        .await
        .expect_err("a downgrade is refused");
    assert_eq!(err.kind(), ErrorKind::Config, "{err:?}");
    let message = err.to_string();
    assert!(message.contains("iam") && message.contains(&plaintext_iam), "{message}");
    assert!(plain.journal().is_empty(), "nothing reached the plaintext server");
    // The services discovery left at the TLS endpoint still work.
    client.folders().get(FOLDER).await.expect("resource-manager over TLS");
}

#[tokio::test]
async fn credentials_are_not_sent_to_a_discovered_host_outside_the_endpoint() {
    let (ca, chain, key) = super::tls::test_pki();
    let emu = start(
        Emulator::builder()
            .with_tls(chain, key)
            .with_discovered_address("iam", "iam.elsewhere.invalid:443"),
    )
    .await;
    let client = tls_client(&emu, &ca);
    let err = client
        .service_accounts()
        .find_by_name(FOLDER, "nobody")
        .await
        .expect_err("a foreign host is refused");
    assert_eq!(err.kind(), ErrorKind::Config, "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("iam.elsewhere.invalid") && message.contains("with_service_endpoint"),
        "{message}"
    );
}

#[tokio::test]
async fn a_loopback_endpoint_may_use_services_discovered_on_other_loopback_ports() {
    let (ca, chain, key) = super::tls::test_pki();
    let other = start(Emulator::builder().with_tls(chain.clone(), key.clone())).await;
    let emu = start(
        Emulator::builder()
            .with_tls(chain, key)
            .with_discovered_address("iam", format!("localhost:{}", other.addr().port())),
    )
    .await;
    // A loopback endpoint may use other loopback ports.
    let client = tls_client(&emu, &ca);
    client
        .service_accounts()
        .find_by_name(FOLDER, "nobody")
        .await
        .expect("iam on another loopback port");
    assert_eq!(
        super::calls(&other, "/yandex.cloud.iam.v1.ServiceAccountService/List").len(),
        1
    );
}
