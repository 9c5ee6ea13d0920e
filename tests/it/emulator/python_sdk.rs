//! Yandex's official Python SDK (PyPI `yandexcloud`) completes the provisioning flow against the
//! emulator, unmodified. Ignored by default: it needs Python with the SDK installed (README,
//! section "Emulator"); `YC_IAM_PYTHON` names the interpreter.

use std::process::Command;

use yc_iam::emulator::{DEFAULT_FOLDER_ID, Emulator};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/python-sdk/flow.py");
const CA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/emulator/tls/ca.pem");

async fn run_flow(emu: &Emulator, endpoint: String, name: &str, extra: &[&str]) {
    let python = std::env::var("YC_IAM_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let mut command = Command::new(python);
    command
        .args([
            SCRIPT,
            "--endpoint",
            &endpoint,
            "--folder-id",
            DEFAULT_FOLDER_ID,
            "--name",
            name,
        ])
        .args(extra);
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("join")
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "flow.py failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(stdout.lines().any(|l| l == "OK"), "{stdout}");

    let snapshot = emu.snapshot();
    let account = snapshot.service_account_named(name).expect("account created");
    assert_eq!(snapshot.live_keys_of(&account.id).len(), 1);
    let bound = snapshot.access_bindings[DEFAULT_FOLDER_ID]
        .iter()
        .any(|b| b.subject.as_ref().is_some_and(|s| s.id == account.id));
    assert!(bound, "role granted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Python with `yandexcloud` (README, section Emulator)"]
async fn official_python_sdk_completes_the_flow_over_plaintext() {
    let emu = Emulator::builder().start().await.expect("start");
    let endpoint = format!("127.0.0.1:{}", emu.addr().port());
    run_flow(&emu, endpoint, "py-sdk-plaintext", &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Python with `yandexcloud` (README, section Emulator)"]
async fn official_python_sdk_completes_the_flow_over_tls_with_discovery() {
    let cert = include_str!("tls/server.pem");
    let key = include_str!("tls/server.key");
    let emu = Emulator::builder().with_tls(cert, key).start().await.expect("start");
    let endpoint = format!("localhost:{}", emu.addr().port());
    run_flow(&emu, endpoint, "py-sdk-tls", &["--ca", CA]).await;
}
