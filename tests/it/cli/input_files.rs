//! Files the user names (a key file, the profile file, a sink, a fleet manifest, the emulator's
//! state, the files of a served emulator): anything but a regular file is refused unopened, so a named pipe cannot block a run and
//! a device cannot feed it forever; a file larger than its limit is refused unread, so a sparse
//! file claiming terabytes cannot exhaust memory; a sink file in another format is named by the
//! format its sink writes. Each is one line, exit 2, and nothing is sent.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use super::{FOLDER, Harness, Run, bare_command, run_within};

/// Long enough for a loaded machine, short enough that a run blocked on a pipe fails the test.
const LIMIT: Duration = Duration::from_secs(60);

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().expect("mkfifo runs");
    assert!(status.success(), "mkfifo {}", path.display());
}

/// A sparse file of `len` bytes: nothing is written, but its size is what it claims.
fn sparse(path: &Path, len: u64) {
    std::fs::File::create(path).unwrap().set_len(len).unwrap();
}

async fn run_in(h: &Harness, env: &[(&str, &Path)], args: &[&str]) -> Run {
    let mut cmd = h.command();
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    run_within(cmd, LIMIT).await
}

fn assert_refused(run: &Run, args: &[&str], says: &str) {
    let lines = run.stderr_lines();
    assert_eq!(run.code, Some(2), "{args:?}: {}", run.stderr);
    assert_eq!(lines.len(), 1, "{args:?}: one line: {}", run.stderr);
    assert!(lines[0].contains(says), "{args:?}: expected {says:?} in {:?}", lines[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipes_devices_and_oversized_files_are_refused_in_one_line_with_exit_2_and_nothing_sent() {
    let h = Harness::start().await;
    mkfifo(&h.path("pipe"));
    // Sparse: a reader that trusts the size would ask for 4 TiB at once.
    sparse(&h.path("huge.json"), 4 << 40);
    sparse(&h.path("two-mib.yaml"), 2 << 20);
    sparse(&h.path("seventeen-mib.yaml"), 17 << 20);
    let provision = |output: &'static str| {
        [
            "provision",
            "--folder-id",
            FOLDER,
            "--name",
            "sa-in",
            "--output",
            output,
        ]
    };
    let not_regular = "not a regular file";
    let over = "larger than 1 MiB";
    let cases: Vec<(Vec<&str>, String)> = vec![
        (
            vec!["--service-account-key", "huge.json", "sa", "list"],
            format!("--service-account-key huge.json: cannot read: {over}"),
        ),
        (
            vec!["--service-account-key", "/dev/zero", "sa", "list"],
            not_regular.into(),
        ),
        (
            vec!["--service-account-key", "pipe", "sa", "list"],
            format!("--service-account-key pipe: cannot read: {not_regular}"),
        ),
        (
            provision("pipe").to_vec(),
            format!("pipe: exists but is not an API-key file ({not_regular})"),
        ),
        (
            provision("env:pipe").to_vec(),
            format!("pipe: exists but is not a dotenv file ({not_regular})"),
        ),
        (
            provision("k8s:/dev/zero").to_vec(),
            format!("is not a Kubernetes Secret manifest ({not_regular})"),
        ),
        (
            provision("two-mib.yaml").to_vec(),
            format!("two-mib.yaml: exists but is not an API-key file ({over}"),
        ),
        (
            provision("env:huge.json").to_vec(),
            format!("is not a dotenv file ({over}"),
        ),
        (
            vec!["plan", "-f", "/dev/zero"],
            format!("/dev/zero: cannot read the manifest: {not_regular}"),
        ),
        (vec!["plan", "-f", "pipe"], not_regular.into()),
        (
            vec!["plan", "-f", "missing.yaml"],
            "missing.yaml: cannot read the manifest: no such file".into(),
        ),
        (
            vec!["plan", "-f", "seventeen-mib.yaml"],
            "cannot read the manifest: larger than 16 MiB".into(),
        ),
    ];
    h.emu.clear_journal();
    for (args, says) in &cases {
        assert_refused(&run_in(&h, &[], args).await, args, says);
    }

    // The profile file, found through HOME.
    let home = h.path("home-pipe");
    std::fs::create_dir_all(home.join(".config/yandex-cloud")).unwrap();
    mkfifo(&home.join(".config/yandex-cloud/config.yaml"));
    let args = ["sa", "list", "--folder-id", FOLDER];
    let run = run_in(&h, &[("HOME", &home)], &args).await;
    assert_refused(&run, &args, &format!("config.yaml: {not_regular}"));
    assert!(h.emu.journal().is_empty(), "nothing was sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_emulator_state_file_that_is_a_pipe_or_a_device_stops_the_start_instead_of_blocking_it() {
    let dir = tempfile::tempdir().unwrap();
    mkfifo(&dir.path().join("pipe"));
    for state in ["pipe", "/dev/zero"] {
        let mut cmd = bare_command(dir.path());
        cmd.args(["--emulator-state", state, "sa", "list", "--folder-id", FOLDER]);
        let run = run_within(cmd, LIMIT).await;
        let lines = run.stderr_lines();
        assert_eq!(
            run.code,
            Some(2),
            "{state}: a file the user named is bad input: {}",
            run.stderr
        );
        assert!(
            lines.len() == 1
                && lines[0].contains(&format!("cannot load emulator state from {state}: not a regular file")),
            "{state}: {}",
            run.stderr
        );
    }
    // A state file that does not parse is bad input too, for the in-process emulator and the
    // served one alike.
    // The state file has no size limit (the emulator wrote it), so it is parsed as it is read: a
    // sparse file of 4 TiB of zeros fails at its first byte instead of being read whole.
    std::fs::write(dir.path().join("broken.json"), "{\"service_accounts\": 7}").unwrap();
    sparse(&dir.path().join("zeros.json"), 4 << 40);
    for state in ["broken.json", "zeros.json"] {
        for args in [
            &["--emulator-state", state, "sa", "list", "--folder-id", FOLDER][..],
            &["emulator", "--listen", "127.0.0.1:0", "--state", state],
        ] {
            let mut cmd = bare_command(dir.path());
            cmd.args(args);
            let run = run_within(cmd, LIMIT).await;
            assert_refused(&run, args, &format!("{state}: not a valid state file"));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_files_of_a_served_emulator_that_are_pipes_are_refused_before_it_starts() {
    let dir = tempfile::tempdir().unwrap();
    mkfifo(&dir.path().join("pipe"));
    let serve = ["emulator", "--listen", "127.0.0.1:0"];
    for flags in [
        &["--authorized-key", "pipe"][..],
        &["--tls-cert", "pipe", "--tls-key", "pipe"],
    ] {
        let args = [&serve[..], flags].concat();
        let mut cmd = bare_command(dir.path());
        cmd.args(&args);
        let run = run_within(cmd, LIMIT).await;
        assert_refused(&run, &args, "emulator: cannot read pipe: not a regular file");
        assert!(run.stdout.is_empty(), "{args:?}: never listened: {}", run.stdout);
    }
    // A key file that reads but whose public key is not one is bad input too.
    let key =
        r#"{"id": "ajebadkey00000000000", "service_account_id": "ajeaccount0000000000", "public_key": "not a key"}"#;
    std::fs::write(dir.path().join("key.json"), key).unwrap();
    let args = [&serve[..], &["--authorized-key", "key.json"]].concat();
    let mut cmd = bare_command(dir.path());
    cmd.args(&args);
    let run = run_within(cmd, LIMIT).await;
    assert_refused(
        &run,
        &args,
        "invalid public key for authorized key ajebadkey00000000000",
    );
    assert!(run.stdout.is_empty(), "never listened: {}", run.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sink_file_in_another_format_is_named_by_the_format_its_sink_writes() {
    let h = Harness::start().await;
    std::fs::write(h.path("notes.txt"), "just some notes\n").unwrap();
    std::fs::write(h.path("config-map.yaml"), "apiVersion: v1\nkind: ConfigMap\n").unwrap();
    let cases: [(&[&str], &str); 5] = [
        (
            &["--output", "notes.txt"],
            "notes.txt: exists but is not an API-key file",
        ),
        (
            &["--output", "env:notes.txt"],
            "notes.txt: exists but is not a dotenv file (line 1 is not NAME=value)",
        ),
        (
            &["--output", "k8s:config-map.yaml"],
            "config-map.yaml: exists but is not a Kubernetes Secret manifest",
        ),
        (
            &["--output", "notes.txt", "--key-type", "static-key"],
            "notes.txt: exists but is not an AWS credentials file (line 1 is not",
        ),
        (
            &["--output", "notes.txt", "--key-type", "authorized-key"],
            "notes.txt: exists but is not an authorized-key file (expected JSON",
        ),
    ];
    h.emu.clear_journal();
    for (flags, says) in cases {
        let args = [&["provision", "--folder-id", FOLDER, "--name", "sa-in"][..], flags].concat();
        assert_refused(&run_in(&h, &[], &args).await, &args, says);
    }
    assert!(h.emu.journal().is_empty(), "nothing was sent");
}
