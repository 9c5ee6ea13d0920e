//! Every duration flag reads one grammar (`200ms`, `30s`, `5m`, `12h`, `90d`, `1w` and sums such as
//! `1h30m`), and a duration it cannot read gets the same one-line reason whichever flag it was
//! given to, with exit code 2.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{FOLDER, Harness, Run, bare_command};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timeout_in_milliseconds_is_accepted() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut cmd = bare_command(dir.path());
    cmd.args(["--timeout", "200ms", "sa", "list", "--emulator"]);
    super::run(cmd).await.success();

    let h = Harness::start().await;
    for timeout in ["200ms", "1m30s", "1w"] {
        h.run(&["--timeout", timeout, "sa", "list", "--folder-id", FOLDER])
            .await
            .success();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expiry_of_1h30m_is_ninety_minutes() {
    let h = Harness::start().await;
    h.run(&["sa", "create", "--folder-id", FOLDER, "--name", "sa-expiring"])
        .await
        .success();
    let r = h
        .run(&[
            "api-key",
            "create",
            "--service-account-name",
            "sa-expiring",
            "--folder-id",
            FOLDER,
            "--scopes",
            "yc.ai.languageModels.execute",
            "--expires-in",
            "1h30m",
            "--format",
            "json",
        ])
        .await;
    let key: serde_json::Value = serde_json::from_str(&r.success().stdout).expect("json");
    let at = |field: &str| {
        let text = key["api_key"][field]
            .as_str()
            .unwrap_or_else(|| panic!("{field} in {key}"));
        OffsetDateTime::parse(text, &Rfc3339).expect("RFC 3339")
    };
    let lifetime = at("expires_at") - at("created_at");
    assert!(
        (lifetime.whole_seconds() - 5400).abs() <= 2,
        "expires {lifetime} after creation"
    );
}

#[test]
fn an_operation_delay_reads_the_same_grammar() {
    let dir = tempfile::tempdir().expect("temp dir");
    for delay in ["200ms", "1h30m", "0s"] {
        let mut child = bare_command(dir.path())
            .args(["emulator", "--listen", "127.0.0.1:0", "--op-delay", delay])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn yc-iam emulator");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("first line");
        let _ = child.kill();
        let _ = child.wait();
        assert!(
            line.trim().parse::<std::net::SocketAddr>().is_ok(),
            "--op-delay {delay}: serving, got {line:?}"
        );
    }
}

/// The reason after `invalid value '<text>' for '--<flag> <DURATION>': `, checking the line's shape.
fn reason<'a>(r: &'a Run, flag: &str, text: &str) -> &'a str {
    let lines = r.stderr_lines();
    assert_eq!(r.code, Some(2), "{flag} {text}: {:?}", r.stderr);
    assert_eq!(lines.len(), 1, "{flag} {text}: one line, got {:?}", r.stderr);
    let prefix = format!("error: invalid value '{text}' for '{flag} <DURATION>': ");
    lines[0]
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{:?} starts with {prefix:?}", lines[0]))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_duration_gets_the_same_reason_on_every_flag() {
    let h = Harness::start().await;
    h.emu.clear_journal();
    for bad in ["12x", "90", "1.5h", "1h 30m", "99999999999w"] {
        let timeout = h.run(&["--timeout", bad, "sa", "list", "--folder-id", FOLDER]).await;
        let expires_in = h
            .run(&[
                "provision",
                "--folder-id",
                FOLDER,
                "--name",
                "sa-api",
                "--expires-in",
                bad,
            ])
            .await;
        let op_delay = h.run(&["emulator", "--listen", "127.0.0.1:0", "--op-delay", bad]).await;
        let timeout = reason(&timeout, "--timeout", bad);
        assert!(timeout.contains("duration"), "{bad}: {timeout}");
        assert_eq!(timeout, reason(&expires_in, "--expires-in", bad), "{bad}");
        assert_eq!(timeout, reason(&op_delay, "--op-delay", bad), "{bad}");
    }
    assert_eq!(
        reason(&h.run(&["--timeout", "12x", "sa", "list"]).await, "--timeout", "12x"),
        "expected a duration such as 200ms, 30s, 5m, 12h, 90d, 1w or 1h30m"
    );
    assert!(h.emu.journal().is_empty(), "a bad duration sent nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zero_timeout_or_expiry_is_refused() {
    let h = Harness::start().await;
    let r = h.run(&["--timeout", "0ms", "sa", "list", "--folder-id", FOLDER]).await;
    assert_eq!(reason(&r, "--timeout", "0ms"), "the duration must be longer than zero");
    let r = h
        .run(&[
            "provision",
            "--folder-id",
            FOLDER,
            "--name",
            "sa-api",
            "--expires-in",
            "0d",
        ])
        .await;
    assert_eq!(
        reason(&r, "--expires-in", "0d"),
        "the duration must be longer than zero"
    );
}
