//! Every kind of credential (IAM token, OAuth token, authorized key, metadata service, API key)
//! completes a call.

use futures_util::TryStreamExt as _;
use secrecy::ExposeSecret as _;
use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::TcpListener,
};
use yc_iam::{AuthorizedKey, CreateApiKey, Credentials, ErrorKind, emulator::Emulator};

use super::{FOLDER, TOKEN_CREATE, calls, client, create_sa, emulator, start};
use crate::common::client_with;

const KEY_ID: &str = "ajekeyid0000000000001";
const SA_ID: &str = "ajesaid00000000000001";

fn fixture(name: &str) -> String {
    let path = format!("{}/tests/fixtures/keys/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// An authorized key file as `yc iam key create` writes it.
fn key_file(camel: bool, preamble: bool, private_pem: &str) -> String {
    let private_key = if preamble {
        format!("PLEASE DO NOT REMOVE THIS LINE! Yandex.Cloud SA Key ID <{KEY_ID}>\n{private_pem}")
    } else {
        private_pem.to_owned()
    };
    let (sa, pk, alg, created) = if camel {
        ("serviceAccountId", "privateKey", "keyAlgorithm", "createdAt")
    } else {
        ("service_account_id", "private_key", "key_algorithm", "created_at")
    };
    serde_json::json!({
        "id": KEY_ID,
        sa: SA_ID,
        created: "2026-01-01T00:00:00Z",
        alg: "RSA_2048",
        "public_key": fixture("sa.pub.pem"),
        pk: private_key,
    })
    .to_string()
}

async fn key_emulator() -> Emulator {
    start(Emulator::builder().with_authorized_key(KEY_ID, SA_ID, fixture("sa.pub.pem"))).await
}

#[tokio::test]
async fn static_iam_token_completes_a_call() {
    let emu = emulator().await;
    let folder = client(&emu).folders().get(FOLDER).await.expect("get folder");
    assert_eq!(folder.id, FOLDER);
    let sent = emu
        .journal()
        .into_iter()
        .find(|e| e.method.ends_with("FolderService/Get"))
        .expect("journaled");
    assert!(sent.sent_authorization(&format!("Bearer {}", yc_iam::emulator::DEFAULT_IAM_TOKEN)));
}

#[tokio::test]
async fn oauth_token_is_exchanged_once_and_reused() {
    let emu = start(Emulator::builder().with_oauth_token("y0_oauth-test-token")).await;
    let client = client_with(&emu, Credentials::oauth_token("y0_oauth-test-token"));
    for _ in 0..3 {
        client.folders().get(FOLDER).await.expect("get folder");
    }
    assert_eq!(calls(&emu, TOKEN_CREATE).len(), 1);
    let exchange = &calls(&emu, TOKEN_CREATE)[0];
    assert_eq!(
        exchange.header("authorization"),
        None,
        "no authorization on IamTokenService.Create"
    );
    let get = emu
        .journal()
        .into_iter()
        .rfind(|e| e.method.ends_with("FolderService/Get"))
        .expect("journaled");
    // An IAM token, not the OAuth token itself (the journal keeps a fingerprint of each).
    assert!(get.header("authorization").is_some_and(|v| v.starts_with("Bearer ")));
    assert!(!get.sent_authorization("Bearer y0_oauth-test-token"));
}

#[tokio::test]
async fn authorized_key_files_in_both_spellings_with_and_without_preamble_complete_calls() {
    let emu = key_emulator().await;
    let private = fixture("sa.pem");
    for camel in [false, true] {
        for preamble in [false, true] {
            let credentials = Credentials::from_json(&key_file(camel, preamble, &private))
                .unwrap_or_else(|e| panic!("camel={camel} preamble={preamble}: {e}"));
            let client = client_with(&emu, credentials);
            let token = client
                .iam_token()
                .await
                .unwrap_or_else(|e| panic!("camel={camel} preamble={preamble}: {e}"));
            assert!(token.expose_secret().starts_with("t1."));
            client
                .folders()
                .get(FOLDER)
                .await
                .unwrap_or_else(|e| panic!("camel={camel} preamble={preamble}: {e}"));
        }
    }
    assert_eq!(calls(&emu, TOKEN_CREATE).len(), 4);
}

#[tokio::test]
async fn authorized_key_file_is_read_from_disk() {
    let emu = key_emulator().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("key.json");
    std::fs::write(&path, key_file(false, true, &fixture("sa.pem"))).expect("write key file");
    let key = AuthorizedKey::from_file(&path).expect("key file reads");
    assert_eq!((key.id(), key.service_account_id()), (KEY_ID, SA_ID));
    let client = client_with(&emu, Credentials::authorized_key(key));
    client.folders().get(FOLDER).await.expect("get folder");
}

#[tokio::test]
async fn jwt_signed_by_another_key_is_rejected() {
    let emu = key_emulator().await;
    let credentials = Credentials::from_json(&key_file(false, false, &fixture("other.pem"))).expect("key parses");
    let err = client_with(&emu, credentials)
        .folders()
        .get(FOLDER)
        .await
        .expect_err("a foreign key is refused");
    assert_eq!(err.kind(), ErrorKind::Unauthenticated, "{err}");
    assert!(calls(&emu, "/yandex.cloud.resourcemanager.v1.FolderService/Get").is_empty());
}

/// A one-shot metadata service on loopback; returns its address and the request it saw.
async fn metadata_server(token: &'static str) -> (String, tokio::task::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let task = tokio::spawn(async move {
        let (mut stream, _) = listener.accept().await.expect("accept");
        let mut buf = vec![0u8; 4096];
        let mut seen = Vec::new();
        while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut buf).await.expect("read");
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&buf[..n]);
        }
        let body = format!(r#"{{"access_token":"{token}","expires_in":43200,"token_type":"Bearer"}}"#);
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(response.as_bytes()).await.expect("write");
        String::from_utf8_lossy(&seen).into_owned()
    });
    (addr, task)
}

#[tokio::test]
async fn metadata_service_token_is_fetched_through_yc_metadata_addr() {
    let emu = start(Emulator::builder().with_iam_token("t1.from-metadata")).await;
    let (addr, server) = metadata_server("t1.from-metadata").await;
    // SAFETY: only this test reads or writes YC_METADATA_ADDR, and it reads it right here.
    unsafe { std::env::set_var("YC_METADATA_ADDR", &addr) };
    let credentials = Credentials::metadata_service();
    unsafe { std::env::remove_var("YC_METADATA_ADDR") };
    let client = client_with(&emu, credentials);
    client.folders().get(FOLDER).await.expect("get folder");
    let request = server.await.expect("metadata server");
    assert!(request.starts_with("GET /computeMetadata/v1/instance/service-accounts/default/token HTTP/1.1\r\n"));
    assert!(request.to_ascii_lowercase().contains("metadata-flavor: google\r\n"));
    let get = emu
        .journal()
        .into_iter()
        .rfind(|e| e.method.ends_with("FolderService/Get"))
        .expect("journaled");
    assert!(get.sent_authorization("Bearer t1.from-metadata"));
}

#[tokio::test]
async fn api_key_is_sent_as_api_key() {
    let emu = emulator().await;
    let admin = client(&emu);
    let sa = create_sa(&admin, "api-key-user").await;
    let created = admin
        .api_keys()
        .create(CreateApiKey::new(&sa.id))
        .await
        .expect("create key");
    let with_key = client_with(&emu, Credentials::api_key(created.secret.expose_secret()));
    let keys: Vec<_> = with_key
        .api_keys()
        .list(&sa.id)
        .try_collect()
        .await
        .expect("list with the api key");
    assert_eq!(keys.len(), 1);
    let sent = emu
        .journal()
        .into_iter()
        .rfind(|e| e.method.ends_with("ApiKeyService/List"))
        .expect("journaled");
    assert!(sent.sent_authorization(&format!("Api-Key {}", created.secret.expose_secret())));
}

/// A metadata service on loopback answering every request with `body`.
async fn metadata_server_answering(body: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut buf = vec![0u8; 4096];
            let mut seen = Vec::new();
            while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => seen.extend_from_slice(&buf[..n]),
                }
            }
            let response = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
        }
    });
    addr
}

#[tokio::test]
async fn a_metadata_token_said_to_live_for_ever_is_used_without_a_panic() {
    let emu = start(Emulator::builder().with_iam_token("t1.from-metadata")).await;
    let addr = metadata_server_answering(
        r#"{"access_token":"t1.from-metadata","expires_in":18446744073709551615,"token_type":"Bearer"}"#,
    )
    .await;
    let client = client_with(&emu, Credentials::metadata_service_at(addr));
    for call in 1..=3 {
        client
            .folders()
            .get(FOLDER)
            .await
            .unwrap_or_else(|e| panic!("call {call}: {e}"));
    }
}
