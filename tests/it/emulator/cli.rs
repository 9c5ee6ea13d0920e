//! `yc-iam emulator` as a process: prints its address first, serves until SIGTERM, and with
//! `--state` keeps every resource across a restart.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use yc_iam::proto::yandex::cloud::iam::v1::{GetApiKeyRequest, GetServiceAccountRequest};

use super::support::{Auth, Clients, clients_at, create_account, create_key};

const TOKEN: &str = "t1.cli-test-token";

/// Starts `yc-iam emulator` and reads the address from its first line of output.
fn spawn(args: &[&str]) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_yc-iam"))
        .arg("emulator")
        .args(["--listen", "127.0.0.1:0", "--token", TOKEN])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn yc-iam");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("first line");
    let addr = line.trim().to_owned();
    assert!(
        addr.parse::<std::net::SocketAddr>().is_ok(),
        "first line is the address: {line:?}"
    );
    (child, addr)
}

/// Sends SIGTERM and waits (at most 10 s) for a clean exit.
fn terminate(mut child: Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    for _ in 0..1000 {
        if let Some(status) = child.try_wait().expect("wait") {
            assert!(status.success(), "exit status {status}");
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    panic!("yc-iam emulator did not exit after SIGTERM");
}

async fn connect(addr: &str) -> Clients {
    clients_at(&format!("http://{addr}"), Auth::bearer(TOKEN)).await
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulator_command_keeps_its_state_across_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state.json");
    let state = state.to_str().expect("utf-8 path");

    let (child, addr) = spawn(&["--state", state, "--folder", "b1gemulatorfolder001"]);
    let mut c = connect(&addr).await;
    let account = create_account(&mut c, "survivor").await;
    let key = create_key(&mut c, &account.id).await.api_key.expect("key");
    drop(c);
    tokio::task::spawn_blocking(move || terminate(child))
        .await
        .expect("join");

    let (child, addr) = spawn(&["--state", state, "--folder", "b1gemulatorfolder001"]);
    let mut c = connect(&addr).await;
    let got = c
        .accounts
        .get(GetServiceAccountRequest {
            service_account_id: account.id.clone(),
        })
        .await;
    assert_eq!(got.expect("account survived").into_inner(), account);
    let got = c
        .keys
        .get(GetApiKeyRequest {
            api_key_id: key.id.clone(),
        })
        .await;
    assert_eq!(got.expect("key survived").into_inner(), key);
    drop(c);
    tokio::task::spawn_blocking(move || terminate(child))
        .await
        .expect("join");
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulator_command_applies_op_delay_fail_rate_and_tls_flags() {
    let (child, addr) = spawn(&["--op-delay", "60s"]);
    let mut c = connect(&addr).await;
    let op = c
        .accounts
        .create(yc_iam::proto::yandex::cloud::iam::v1::CreateServiceAccountRequest {
            folder_id: yc_iam::emulator::DEFAULT_FOLDER_ID.into(),
            name: "slow".into(),
            ..Default::default()
        })
        .await
        .expect("create")
        .into_inner();
    assert!(!op.done, "operation still running under --op-delay 60s");
    drop(c);
    tokio::task::spawn_blocking(move || terminate(child))
        .await
        .expect("join");

    let (child, addr) = spawn(&["--fail-rate", "1", "--seed", "7"]);
    let mut c = connect(&addr).await;
    let err = c
        .operations
        .get(yc_iam::proto::yandex::cloud::operation::GetOperationRequest {
            operation_id: "ajenosuchoperation01".into(),
        });
    assert_eq!(
        err.await.expect_err("every call fails").code(),
        tonic::Code::Unavailable
    );
    drop(c);
    tokio::task::spawn_blocking(move || terminate(child))
        .await
        .expect("join");

    let dir = env!("CARGO_MANIFEST_DIR");
    let cert = format!("{dir}/tests/it/emulator/tls/server.pem");
    let key = format!("{dir}/tests/it/emulator/tls/server.key");
    let (child, addr) = spawn(&["--tls-cert", &cert, "--tls-key", &key]);
    let port = addr.rsplit(':').next().expect("port");
    let tls = tonic::transport::ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(include_str!("tls/ca.pem")))
        .domain_name("localhost");
    let channel = tonic::transport::Endpoint::from_shared(format!("https://localhost:{port}"))
        .expect("endpoint")
        .tls_config(tls)
        .expect("tls")
        .connect()
        .await
        .expect("tls connect");
    let mut endpoints =
        yc_iam::proto::yandex::cloud::endpoint::api_endpoint_service_client::ApiEndpointServiceClient::new(channel);
    endpoints
        .list(yc_iam::proto::yandex::cloud::endpoint::ListApiEndpointsRequest::default())
        .await
        .expect("tls");
    tokio::task::spawn_blocking(move || terminate(child))
        .await
        .expect("join");
}

#[test]
fn emulator_command_rejects_bad_flags_with_usage_errors() {
    for args in [
        &["--op-delay", "soon"][..],
        &["--fail-rate", "2"],
        &["--tls-cert", "only-cert.pem"],
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_yc-iam"))
            .arg("emulator")
            .args(args)
            .output()
            .expect("run");
        assert_eq!(output.status.code(), Some(2), "{args:?}");
    }
}

#[cfg(unix)]
#[test]
fn emulator_command_exits_cleanly_on_sigterm_sent_as_soon_as_it_prints_its_address() {
    // The address is the signal that the emulator is ready; a SIGTERM right after it must find
    // the handler in place (not the default action, which kills without the final save).
    for _ in 0..20 {
        let (child, _) = spawn(&[]);
        terminate(child);
    }
}
