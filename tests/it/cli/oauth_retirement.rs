//! OAuth tokens in effect, from a flag, the environment or a yc profile, draw one warning line on
//! stderr that Yandex is retiring them and what to use instead; never on stdout, never with the
//! token. IAM tokens and `--emulator` runs draw none.

use yc_iam::emulator::{DEFAULT_IAM_TOKEN, DEFAULT_OAUTH_TOKEN};

use super::{FOLDER, Harness, Run, bare_command, run};

/// The warning lines about OAuth retirement in a run that must have succeeded.
fn retirement_warnings(r: &Run) -> Vec<&str> {
    r.success();
    assert!(!r.stdout.contains("OAuth"), "nothing about it on stdout: {}", r.stdout);
    assert!(
        !r.stderr.contains(DEFAULT_OAUTH_TOKEN),
        "the token is never shown: {}",
        r.stderr
    );
    r.stderr_lines().into_iter().filter(|l| l.contains("OAuth")).collect()
}

fn assert_warned_once(r: &Run, source: &str) {
    let lines = retirement_warnings(r);
    assert_eq!(lines.len(), 1, "one warning line: {}", r.stderr);
    let line = lines[0];
    for needed in [
        "warning:",
        "2026",
        "--service-account-key",
        "metadata service",
        "IAM token",
        source,
    ] {
        assert!(line.contains(needed), "the warning names {needed}: {line}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oauth_token_from_a_flag_the_environment_or_a_profile_draws_the_retirement_warning() {
    let h = Harness::start().await;
    let list = ["sa", "list", "--folder-id", FOLDER];

    let mut cmd = bare_command(h.dir.path());
    cmd.env("YC_ENDPOINT", h.emu.endpoint())
        .args(["--token", DEFAULT_OAUTH_TOKEN])
        .args(list);
    assert_warned_once(&run(cmd).await, "--token");

    let mut cmd = bare_command(h.dir.path());
    cmd.env("YC_ENDPOINT", h.emu.endpoint())
        .env("YC_TOKEN", DEFAULT_OAUTH_TOKEN)
        .args(list);
    assert_warned_once(&run(cmd).await, "YC_TOKEN");

    let home = h.path("profile-home");
    let dir = home.join(".config/yandex-cloud");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("config.yaml"),
        format!(
            "current: oauth\nprofiles:\n  oauth:\n    endpoint: {}\n    token: {DEFAULT_OAUTH_TOKEN}\n",
            h.emu.endpoint()
        ),
    )
    .unwrap();
    let mut cmd = bare_command(&home);
    cmd.args(list);
    assert_warned_once(&run(cmd).await, "profiles.oauth.token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iam_tokens_and_emulator_runs_draw_no_retirement_warning() {
    let h = Harness::start().await;
    let mut cmd = bare_command(h.dir.path());
    cmd.env("YC_ENDPOINT", h.emu.endpoint())
        .env("YC_TOKEN", DEFAULT_IAM_TOKEN)
        .args(["sa", "list", "--folder-id", FOLDER]);
    assert_eq!(retirement_warnings(&run(cmd).await), Vec::<&str>::new());

    let mut cmd = bare_command(h.dir.path());
    cmd.env("YC_TOKEN", DEFAULT_OAUTH_TOKEN)
        .args(["--emulator", "sa", "list"]);
    assert_eq!(retirement_warnings(&run(cmd).await), Vec::<&str>::new());
}
