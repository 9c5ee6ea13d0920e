//! TLS with a CA made in the test; plaintext only to loopback unless allowed.

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use yc_iam::{Client, Credentials, ErrorKind, RetryPolicy, emulator::DEFAULT_IAM_TOKEN};

use super::{FOLDER, start};

/// A CA certificate (PEM), and a `localhost` certificate chain and key signed by it.
pub(crate) fn test_pki() -> (String, String, String) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, "yc-iam test CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("ca key")).expect("ca");
    let leaf_key = KeyPair::generate().expect("leaf key");
    let leaf = CertificateParams::new(vec!["localhost".to_owned()])
        .expect("leaf params")
        .signed_by(&leaf_key, &ca)
        .expect("leaf");
    (ca.pem(), leaf.pem(), leaf_key.serialize_pem())
}

fn tls_client(endpoint: String, ca: Option<&str>) -> Client {
    let mut builder = Client::builder()
        .with_endpoint(endpoint)
        .with_credentials(Credentials::iam_token(DEFAULT_IAM_TOKEN))
        .with_retry(RetryPolicy::disabled());
    if let Some(ca) = ca {
        builder = builder.with_ca_pem(ca.as_bytes().to_vec());
    }
    builder.build().expect("client")
}

#[tokio::test]
async fn client_trusting_the_test_ca_succeeds_and_one_that_does_not_fails() {
    let (ca, chain, key) = test_pki();
    let emu = start(yc_iam::emulator::Emulator::builder().with_tls(chain, key)).await;
    assert!(emu.endpoint().starts_with("https://localhost:"), "{}", emu.endpoint());

    let trusting = tls_client(emu.endpoint(), Some(&ca));
    let folder = trusting.folders().get(FOLDER).await.expect("TLS with the test CA");
    assert_eq!(folder.id, FOLDER);

    let untrusting = tls_client(emu.endpoint(), None);
    let err = untrusting
        .folders()
        .get(FOLDER)
        .await
        .expect_err("an unknown CA is refused");
    assert_eq!(err.kind(), ErrorKind::Transport, "{err:?}");
    let mut chain = Vec::new();
    let mut source: Option<&dyn std::error::Error> = Some(&err);
    while let Some(s) = source {
        chain.push(format!("{s} / {s:?}"));
        source = s.source();
    }
    let chain = chain.join(" | ").to_lowercase();
    assert!(
        chain.contains("certificate") || chain.contains("unknownissuer"),
        "{chain}"
    );
}

#[test]
fn plaintext_to_a_non_loopback_host_is_refused_unless_allowed() {
    let err = Client::builder()
        .with_endpoint("http://iam.example.com:8080")
        .build()
        .expect_err("refused");
    assert_eq!(err.kind(), ErrorKind::Config);
    assert!(!err.is_invalid_input());
    assert!(err.to_string().contains("loopback"), "{err}");
    let override_err = Client::builder()
        .with_service_endpoint("iam", "http://10.0.0.1:80")
        .build()
        .expect_err("refused too");
    assert_eq!(override_err.kind(), ErrorKind::Config);
    assert!(
        Client::builder()
            .with_endpoint("http://iam.example.com:8080")
            .with_allow_insecure(true)
            .build()
            .is_ok()
    );
    assert!(Client::builder().with_endpoint("http://127.0.0.1:8080").build().is_ok());
    assert!(Client::builder().with_endpoint("http://[::1]:8080").build().is_ok());
}
