//! A reader that goes away early (`yc-iam … | head`) ends the process quietly: exit 0, no panic
//! and no error on stderr, for generated completions and for a listing far longer than a pipe
//! holds; and a stderr nobody reads does not make warnings panic.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use yc_iam::emulator::{DEFAULT_IAM_TOKEN, Emulator, Quota};
use yc_iam::{CreateServiceAccount, Credentials};

use super::{FOLDER, Harness, bare_command};
use crate::common::client_with;

/// Runs `cmd`, reads its first line of stdout as `head -1` would, closes the pipe and waits.
fn run_into_head(mut cmd: Command) -> (Option<i32>, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn yc-iam");
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("first line");
    assert!(!first.is_empty(), "some output came before the pipe closed");
    let output = child.wait_with_output().expect("wait");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn assert_quiet_end((code, stderr): (Option<i32>, String), what: &str) {
    assert!(!stderr.contains("panicked"), "{what} panicked: {stderr}");
    assert_eq!(code, Some(0), "{what} ends quietly: {stderr}");
    assert!(stderr.trim().is_empty(), "{what} says nothing on stderr: {stderr}");
}

#[test]
fn completions_into_a_closed_pipe_end_quietly() {
    let home = tempfile::tempdir().expect("home");
    for shell in ["bash", "zsh", "fish"] {
        let mut cmd = bare_command(home.path());
        cmd.args(["completions", shell]);
        assert_quiet_end(run_into_head(cmd), &format!("completions {shell}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_listing_into_a_closed_pipe_ends_quietly() {
    // A cloud whose quota was raised to hold 200 accounts.
    let h = Harness::with(Emulator::builder().with_quota(Quota::ServiceAccountsPerCloud, 200)).await;
    let client = client_with(&h.emu, Credentials::iam_token(DEFAULT_IAM_TOKEN));
    // 200 accounts with 200-character descriptions: far more than the 64 KiB a pipe buffers.
    let description = "d".repeat(200);
    for n in 0..200 {
        let request = CreateServiceAccount::new(FOLDER, format!("sa-long-{n:03}")).description(description.clone());
        client
            .service_accounts()
            .create(request)
            .await
            .expect("create")
            .wait()
            .await
            .expect("created");
    }
    for format in ["text", "yaml", "json"] {
        let mut cmd = h.command();
        cmd.args(["sa", "list", "--folder-id", FOLDER, "--format", format]);
        let run = tokio::task::spawn_blocking(move || run_into_head(cmd))
            .await
            .expect("join");
        assert_quiet_end(run, &format!("sa list --format {format}"));
    }
}

/// Runs `cmd` with its stderr a pipe whose reader is already gone, and returns its exit code.
fn run_with_stderr_closed(mut cmd: Command) -> Option<i32> {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn yc-iam");
    drop(child.stderr.take());
    child.wait().expect("wait").code()
}

#[test]
fn warnings_into_a_closed_stderr_do_not_panic() {
    let home = tempfile::tempdir().expect("home");
    // `--emulator` says on stderr that it runs a fresh emulator, and a token given as a flag
    // draws a warning: both lines go into the closed pipe.
    let mut cmd = bare_command(home.path());
    cmd.args(["--iam-token", "t1.some-token", "--emulator", "sa", "list"]);
    assert_eq!(
        run_with_stderr_closed(cmd),
        Some(0),
        "the listing succeeds without anyone reading stderr"
    );
}
