//! `yc-iam emulator` as a process: prints its address first, serves until SIGTERM, with
//! `--state` keeps every resource (and the clock `--start-time` set) across a restart, loses
//! replies after applying when asked to, and refuses to listen beyond loopback unless the caller
//! opts in with a private token and TLS or an explicit `--insecure`.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use yc_iam::emulator::DEFAULT_FOLDER_ID;
use yc_iam::proto::yandex::cloud::iam::v1::{
    CreateServiceAccountRequest, GetApiKeyRequest, GetServiceAccountRequest, ListServiceAccountsRequest, ServiceAccount,
};

use super::support::{
    Auth, Clients, clients_at, create_account, create_key, response_of, unpack, wait, with_idempotency_key,
};

pub(crate) const TOKEN: &str = "t1.cli-test-token";
const OAUTH: &str = "y0_cli-test-oauth-token";

/// Starts `yc-iam emulator` on loopback and reads the address from its first line of output.
pub(crate) fn spawn(args: &[&str]) -> (Child, String) {
    let mut cmd = emulator_command();
    cmd.args(["--listen", "127.0.0.1:0", "--token", TOKEN]).args(args);
    spawn_command(cmd)
}

/// `yc-iam emulator` with no token in the environment.
fn emulator_command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_yc-iam"));
    cmd.arg("emulator")
        .env_remove("YC_IAM_EMULATOR_TOKEN")
        .env_remove("YC_IAM_EMULATOR_OAUTH_TOKEN");
    cmd
}

/// Starts `cmd` and reads the address from its first line of output.
fn spawn_command(mut cmd: Command) -> (Child, String) {
    let mut child = cmd
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
pub(crate) fn terminate(mut child: Child) {
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
async fn emulator_command_starts_its_clock_at_start_time_and_a_restart_resumes_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state.json");
    let state = state.to_str().expect("utf-8 path");
    let start = time::macros::datetime!(2030-01-01 00:00 UTC);
    let created_at = |account: &ServiceAccount| account.created_at.expect("created_at").seconds;

    let (child, addr) = spawn(&["--state", state, "--start-time", "2030-01-01T00:00:00Z"]);
    let mut c = connect(&addr).await;
    let first = create_account(&mut c, "first").await;
    assert!((created_at(&first) - start.unix_timestamp()).abs() <= 5, "{first:?}");
    drop(c);
    tokio::task::spawn_blocking(move || terminate(child))
        .await
        .expect("join");

    // Without --start-time the state file's clock goes on, not the real time of 2026.
    let (child, addr) = spawn(&["--state", state]);
    let mut c = connect(&addr).await;
    let second = create_account(&mut c, "second").await;
    assert!((created_at(&second) - start.unix_timestamp()).abs() <= 30, "{second:?}");
    assert!(created_at(&second) >= created_at(&first));
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

#[cfg(unix)]
#[test]
fn the_state_file_is_private_even_under_umask_0() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("state.json");
    let mut under_umask_0 = Command::new("sh");
    under_umask_0
        .args([
            "-c",
            r#"umask 0 && exec "$0" "$@""#,
            env!("CARGO_BIN_EXE_yc-iam"),
            "emulator",
        ])
        .args(["--listen", "127.0.0.1:0", "--token", TOKEN, "--state"])
        .arg(&state)
        .env_remove("YC_IAM_EMULATOR_TOKEN");
    let (child, _) = spawn_command(under_umask_0);
    terminate(child);
    let mode = std::fs::metadata(&state)
        .expect("state file saved on exit")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "mode {mode:o}");
}

#[test]
fn emulator_command_rejects_bad_flags_with_usage_errors() {
    for args in [
        &["--op-delay", "soon"][..],
        &["--fail-rate", "2"],
        &["--tls-cert", "only-cert.pem"],
        &["--fail-mode", "after"],
        &["--fail-mode", "sideways", "--fail-first", "1"],
        &["--fail-first", "-1"],
        &["--token", " "],
        &["--start-time", "next tuesday"],
        &["--start-time", "2030-01-01"],
        &["--quota", "folders=3"],
        &["--quota", "api-keys=many"],
        &["--quota", "service-accounts"],
    ] {
        let output = run_expecting_exit(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn a_bad_quota_is_one_line_naming_the_flag_and_the_known_quotas() {
    let output = run_expecting_exit(&["--quota", "service-accounts=5,folders=3"]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--quota"), "{stderr}");
    assert!(stderr.contains("service-accounts, api-keys"), "{stderr}");
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulator_command_enforces_the_quotas_its_quota_flag_sets() {
    let (child, addr) = spawn(&["--quota", "service-accounts=2,api-keys=1"]);
    let mut c = connect(&addr).await;
    let account = create_account(&mut c, "first").await;
    create_account(&mut c, "second").await;
    let request = |name: &str| CreateServiceAccountRequest {
        folder_id: DEFAULT_FOLDER_ID.into(),
        name: name.into(),
        ..Default::default()
    };
    let refused = c.accounts.create(request("third")).await.expect_err("over the quota");
    assert_eq!(refused.code(), tonic::Code::ResourceExhausted, "{refused:?}");
    assert!(
        refused.message().contains("service accounts per cloud is 2"),
        "{refused:?}"
    );
    create_key(&mut c, &account.id).await;
    let refused = c
        .keys
        .create(yc_iam::proto::yandex::cloud::iam::v1::CreateApiKeyRequest {
            service_account_id: account.id.clone(),
            ..Default::default()
        })
        .await
        .expect_err("over the quota");
    assert_eq!(refused.code(), tonic::Code::ResourceExhausted, "{refused:?}");
    assert!(refused.message().contains("API keys per cloud is 1"), "{refused:?}");
    drop(c);
    tokio::task::spawn_blocking(move || terminate(child))
        .await
        .expect("join");
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

/// Runs `yc-iam emulator` with `args`; a process still running after 10 s is killed and fails the test.
fn run_expecting_exit(args: &[&str]) -> std::process::Output {
    let mut cmd = emulator_command();
    cmd.args(args);
    exit_of(cmd)
}

/// Runs `cmd` to its exit; a process still running after 10 s is killed and fails the test.
fn exit_of(mut cmd: Command) -> std::process::Output {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn yc-iam");
    for _ in 0..1000 {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let output = child.wait_with_output().expect("output");
    panic!(
        "{cmd:?} is still running (stdout {:?})",
        String::from_utf8_lossy(&output.stdout)
    );
}

#[test]
fn emulator_refuses_a_non_loopback_address_without_the_remote_flags() {
    let cert = format!("{}/tests/it/emulator/tls/server.pem", env!("CARGO_MANIFEST_DIR"));
    let key = format!("{}/tests/it/emulator/tls/server.key", env!("CARGO_MANIFEST_DIR"));
    let default_token = yc_iam::emulator::DEFAULT_IAM_TOKEN;
    let default_oauth = yc_iam::emulator::DEFAULT_OAUTH_TOKEN;
    let remote = ["--listen", "0.0.0.0:0", "--allow-remote"];
    let with = |extra: &[&str]| -> Vec<String> { remote.iter().chain(extra).map(|a| a.to_string()).collect() };
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["--listen".into(), "0.0.0.0:0".into()], "--allow-remote"),
        (
            [
                "--listen",
                "[::]:0",
                "--token",
                TOKEN,
                "--oauth-token",
                OAUTH,
                "--insecure",
            ]
            .map(String::from)
            .into(),
            "--allow-remote",
        ),
        (with(&["--oauth-token", OAUTH, "--insecure"]), "--token"),
        (
            with(&["--token", default_token, "--oauth-token", OAUTH, "--insecure"]),
            "--token",
        ),
        (with(&["--token", TOKEN, "--insecure"]), "--oauth-token"),
        (
            with(&["--token", TOKEN, "--oauth-token", default_oauth, "--insecure"]),
            "--oauth-token",
        ),
        (with(&["--token", TOKEN, "--oauth-token", OAUTH]), "--insecure"),
        (
            with(&[
                "--token",
                TOKEN,
                "--oauth-token",
                OAUTH,
                "--insecure",
                "--tls-cert",
                &cert,
                "--tls-key",
                &key,
            ]),
            "--insecure",
        ),
    ];
    for (args, named) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = run_expecting_exit(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(
            output.stdout.is_empty(),
            "{args:?}: nothing listening, no address printed"
        );
        let reason: Vec<&str> = stderr.lines().filter(|l| !l.starts_with("warning:")).collect();
        assert_eq!(reason.len(), 1, "{args:?}: one line of reason: {stderr}");
        assert!(
            reason[0].contains(named),
            "{args:?}: the reason names {named}: {stderr}"
        );
        assert!(
            !stderr.contains(TOKEN) && !stderr.contains(OAUTH),
            "{args:?}: no token is shown: {stderr}"
        );
    }
}

#[test]
fn emulator_stays_on_loopback_addresses_without_the_remote_flags() {
    for listen in ["127.0.0.2:0", "[::1]:0"] {
        let mut cmd = emulator_command();
        cmd.args(["--listen", listen]);
        let (child, addr) = spawn_command(cmd);
        assert!(
            addr.parse::<std::net::SocketAddr>()
                .expect("address")
                .ip()
                .is_loopback()
        );
        terminate(child);
    }
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emulator_listens_on_all_addresses_with_allow_remote_private_tokens_and_insecure() {
    let mut cmd = emulator_command();
    cmd.args(["--listen", "0.0.0.0:0", "--allow-remote", "--insecure"])
        .env("YC_IAM_EMULATOR_TOKEN", TOKEN)
        .env("YC_IAM_EMULATOR_OAUTH_TOKEN", OAUTH);
    let (child, addr) = spawn_command(cmd);
    let port = addr.rsplit(':').next().expect("port");
    let mut c = clients_at(&format!("http://127.0.0.1:{port}"), Auth::bearer(TOKEN)).await;
    assert_eq!(create_account(&mut c, "remote").await.name, "remote");
    let mut published = clients_at(
        &format!("http://127.0.0.1:{port}"),
        Auth::bearer(yc_iam::emulator::DEFAULT_IAM_TOKEN),
    )
    .await;
    let refused = published
        .accounts
        .get(GetServiceAccountRequest {
            service_account_id: "ajenosuchaccount0001".into(),
        })
        .await
        .expect_err("the published default token is not accepted");
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);
    drop((c, published));
    tokio::task::spawn_blocking(move || terminate(child))
        .await
        .expect("join");
}

#[test]
fn emulator_warns_about_tokens_given_as_flags_but_not_from_the_environment() {
    let stderr_of = |cmd: &mut Command| {
        cmd.args(["--listen", "0.0.0.0:0", "--allow-remote"]);
        let output = exit_of(std::mem::replace(cmd, emulator_command()));
        assert_eq!(output.status.code(), Some(2), "refused: neither TLS nor --insecure");
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let flagged = stderr_of(emulator_command().args(["--token", TOKEN, "--oauth-token", OAUTH]));
    for flag in ["--token", "--oauth-token"] {
        assert!(
            flagged.lines().any(|l| l.starts_with("warning:") && l.contains(flag)),
            "{flag} warned: {flagged}"
        );
    }
    assert!(!flagged.contains(TOKEN) && !flagged.contains(OAUTH), "{flagged}");
    let from_env = stderr_of(
        emulator_command()
            .env("YC_IAM_EMULATOR_TOKEN", TOKEN)
            .env("YC_IAM_EMULATOR_OAUTH_TOKEN", OAUTH),
    );
    assert!(!from_env.contains("warning:"), "{from_env}");
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_that_lost_its_reply_under_fail_mode_after_and_is_retried_leaves_one_account() {
    let (child, addr) = spawn(&["--fail-mode", "after", "--fail-first", "1"]);
    let mut c = connect(&addr).await;
    let request = || {
        with_idempotency_key(
            CreateServiceAccountRequest {
                folder_id: DEFAULT_FOLDER_ID.into(),
                name: "lost-reply".into(),
                ..Default::default()
            },
            "retry-after-lost-reply",
        )
    };
    let lost = c.accounts.create(request()).await.expect_err("the first reply is lost");
    assert_eq!(lost.code(), tonic::Code::Unavailable);
    let retried = c.accounts.create(request()).await.expect("retry").into_inner();
    let again = c.accounts.create(request()).await.expect("again").into_inner();
    assert_eq!(retried.id, again.id, "one operation for one idempotency key");
    let account: ServiceAccount = unpack(
        response_of(&wait(&mut c, retried).await),
        "yandex.cloud.iam.v1.ServiceAccount",
    );
    let listed = c
        .accounts
        .list(ListServiceAccountsRequest {
            folder_id: DEFAULT_FOLDER_ID.into(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner()
        .service_accounts;
    let named: Vec<_> = listed.iter().filter(|sa| sa.name == "lost-reply").collect();
    assert_eq!(named, [&account], "exactly one account, the operation's");
    drop(c);
    tokio::task::spawn_blocking(move || terminate(child))
        .await
        .expect("join");
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_first_in_the_default_mode_fails_before_applying() {
    let (child, addr) = spawn(&["--fail-first", "2"]);
    let mut c = connect(&addr).await;
    for _ in 0..2 {
        let refused = c
            .accounts
            .create(CreateServiceAccountRequest {
                folder_id: DEFAULT_FOLDER_ID.into(),
                name: "refused".into(),
                ..Default::default()
            })
            .await
            .expect_err("fails before applying");
        assert_eq!(refused.code(), tonic::Code::Unavailable);
    }
    let listed = c
        .accounts
        .list(ListServiceAccountsRequest {
            folder_id: DEFAULT_FOLDER_ID.into(),
            ..Default::default()
        })
        .await
        .expect("the third call is served")
        .into_inner();
    assert!(listed.service_accounts.is_empty(), "nothing applied: {listed:?}");
    drop(c);
    tokio::task::spawn_blocking(move || terminate(child))
        .await
        .expect("join");
}
