//! Configuration precedence: flags beat `YC_*` variables, which beat the yc profile file; a
//! profile with an embedded service-account key authenticates through that key.

use super::{FOLDER, Harness, OTHER_FOLDER, bare_command, run};

const PROFILE_FOLDER: &str = "b1gclitestfolder0003";
const KEY_ID: &str = "ajeclitestkey0000001";
const KEY_SA: &str = "ajeclitestsa00000001";

fn indent(text: &str, by: usize) -> String {
    text.lines().map(|l| format!("{}{l}\n", " ".repeat(by))).collect()
}

/// A HOME whose yc config has a profile `test` (current) with an embedded authorized key, the
/// emulator's endpoint and a folder.
fn write_profile(h: &Harness, home: &str) -> std::path::PathBuf {
    let pem = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/keys/sa.pem")).unwrap();
    let home = h.path(home);
    let dir = home.join(".config/yandex-cloud");
    std::fs::create_dir_all(&dir).unwrap();
    let config = format!(
        "current: test\nprofiles:\n  test:\n    endpoint: {endpoint}\n    folder-id: {PROFILE_FOLDER}\n    compute-default-zone: ru-central1-a\n    service-account-key:\n      id: {KEY_ID}\n      service_account_id: {KEY_SA}\n      created_at: \"2026-01-01T00:00:00Z\"\n      key_algorithm: RSA_2048\n      private_key: |\n{pem}",
        endpoint = h.emu.endpoint(),
        pem = indent(&pem, 8),
    );
    std::fs::write(dir.join("config.yaml"), config).unwrap();
    home
}

async fn harness() -> Harness {
    let public =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/keys/sa.pub.pem")).unwrap();
    Harness::with(
        yc_iam::emulator::Emulator::builder()
            .with_folder(PROFILE_FOLDER)
            .with_authorized_key(KEY_ID, KEY_SA, public),
    )
    .await
}

fn folder_of(stdout: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(stdout).unwrap();
    v["folder_id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flag_beats_the_environment_which_beats_the_profile() {
    let h = harness().await;
    let home = write_profile(&h, "home");
    let create = |name: &str, env_folder: Option<&str>, flag_folder: Option<&str>| {
        let mut cmd = bare_command(&home);
        cmd.args(["sa", "create", "--name", name, "--format", "json"]);
        if let Some(f) = env_folder {
            cmd.env("YC_FOLDER_ID", f);
        }
        if let Some(f) = flag_folder {
            cmd.args(["--folder-id", f]);
        }
        cmd
    };
    let r = run(create("sa-profile", None, None)).await;
    assert_eq!(folder_of(&r.success().stdout), PROFILE_FOLDER);
    let r = run(create("sa-env", Some(OTHER_FOLDER), None)).await;
    assert_eq!(folder_of(&r.success().stdout), OTHER_FOLDER);
    let r = run(create("sa-flag", Some(OTHER_FOLDER), Some(FOLDER))).await;
    assert_eq!(folder_of(&r.success().stdout), FOLDER);
    // The endpoint came from the profile; so did the credentials: a JWT signed with the embedded
    // key was exchanged for an IAM token.
    assert!(
        h.emu
            .journal()
            .iter()
            .any(|e| e.method.ends_with("IamTokenService/Create"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_follow_the_same_precedence() {
    let h = harness().await;
    let home = write_profile(&h, "home");
    // The profile's key works on its own.
    let mut cmd = bare_command(&home);
    cmd.args(["sa", "list"]);
    run(cmd).await.success();
    // A bad token in the environment beats the profile's good key: refused.
    let mut cmd = bare_command(&home);
    cmd.args(["sa", "list"]).env("YC_IAM_TOKEN", "t1.not-a-valid-token");
    let r = run(cmd).await;
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(r.stderr.contains("unauthenticated"), "{}", r.stderr);
    // A good token flag beats the bad environment (with a warning about secrets on the command line).
    let mut cmd = bare_command(&home);
    cmd.args(["--iam-token", yc_iam::emulator::DEFAULT_IAM_TOKEN, "sa", "list"])
        .env("YC_IAM_TOKEN", "t1.not-a-valid-token");
    let r = run(cmd).await;
    r.success();
    assert!(
        r.stderr.contains("warning: a secret passed with --iam-token"),
        "{}",
        r.stderr
    );
    // `--profile` and `YC_PROFILE` pick a profile; the flag wins.
    let mut cmd = bare_command(&home);
    cmd.args(["--profile", "test", "sa", "list"])
        .env("YC_PROFILE", "missing");
    run(cmd).await.success();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_token_prints_an_iam_token_from_the_profile_key() {
    let h = harness().await;
    let home = write_profile(&h, "home");
    let mut cmd = bare_command(&home);
    cmd.arg("create-token");
    let r = run(cmd).await;
    let token = r.success().stdout.trim().to_owned();
    assert!(token.starts_with("t1."), "an IAM token: {token:?}");
    // The token works as a bearer token.
    let mut cmd = bare_command(&home);
    cmd.args(["sa", "list"]).env("YC_IAM_TOKEN", &token);
    run(cmd).await.success();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_are_printed_for_a_shell() {
    let h = Harness::start().await;
    let r = h.run(&["completions", "bash"]).await;
    assert!(r.success().stdout.contains("yc-iam"));
    assert!(h.emu.journal().is_empty());
}
