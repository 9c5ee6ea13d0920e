//! Remote errors: one line saying what failed, then the ids a support request needs; exit 1.

use super::{FOLDER, Harness};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_error_prints_the_client_and_server_request_ids_and_exits_1() {
    let h = Harness::start().await;
    let r = h.run(&["sa", "get", "ajenosuchaccount0000"]).await;
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    let lines = r.stderr_lines();
    assert!(
        lines[0].starts_with("error: ") && lines[0].contains("not found"),
        "{}",
        r.stderr
    );
    let id_of = |label: &str| {
        lines
            .iter()
            .find_map(|l| l.strip_prefix(&format!("{label}: ")))
            .map(str::to_owned)
    };
    let client_id = id_of("client-request-id").expect("client request id printed");
    let server_id = id_of("server-request-id").expect("server request id printed");
    assert!(!server_id.is_empty());
    // The client request id is the one the emulator received.
    let sent = h
        .emu
        .journal()
        .iter()
        .any(|e| e.header("x-client-request-id") == Some(client_id.as_str()));
    assert!(sent, "the printed client request id was sent");

    // A duplicate name is refused by the server: ALREADY_EXISTS, exit 1, ids printed.
    h.run(&["sa", "create", "--folder-id", FOLDER, "--name", "sa-dup"])
        .await
        .success();
    let r = h
        .run(&["sa", "create", "--folder-id", FOLDER, "--name", "sa-dup"])
        .await;
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(r.stderr.contains("already exists"), "{}", r.stderr);
    assert!(r.stderr.contains("server-request-id: "), "{}", r.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn debug_logs_requests_without_secrets() {
    let h = Harness::start().await;
    let r = h
        .run(&["provision", "--folder-id", FOLDER, "--name", "sa-debug", "--debug"])
        .await;
    r.success();
    // Requests and responses are shown, through the library's call path.
    for shown in [
        "request=CreateServiceAccountRequest",
        "request=CreateApiKeyRequest",
        "response=CreateApiKeyResponse",
    ] {
        assert!(r.stderr.contains(shown), "{shown}: {}", r.stderr);
    }
    // The authorization header is shown by its scheme only.
    assert!(r.stderr.contains("authorization=\"Bearer t1.***\""), "{}", r.stderr);
    let stored = yc_iam::provision::StoredKey::read(&h.path("api-key.yaml"))
        .unwrap()
        .unwrap();
    use yc_iam::ExposeSecret;
    assert!(!r.stderr.contains(stored.secret.expose_secret()));
    assert!(!r.stderr.contains(yc_iam::emulator::DEFAULT_IAM_TOKEN));
}
