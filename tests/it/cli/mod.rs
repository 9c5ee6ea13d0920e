//! The built `yc-iam` binary against an emulator started in the test process: provisioning,
//! configuration precedence, bad input, output shapes, error reporting, and crash safety.

mod audit;
mod bad_input;
mod closed_pipe;
mod config;
pub(crate) mod crash;
mod crash_fleet;
mod crash_lockbox;
mod crash_rotate;
mod durations;
mod errors;
mod failed_run;
mod fleet;
mod input_files;
mod key_kinds;
mod oauth_retirement;
mod output;
mod provision;
mod rotate;
mod sinks;
mod terminal;
mod verify;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::common::client_with;
use yc_iam::emulator::{DEFAULT_FOLDER_ID, DEFAULT_IAM_TOKEN, Emulator};
use yc_iam::provision::StoredKey;

pub(crate) const FOLDER: &str = "b1gclitestfolder0001";
pub(crate) const OTHER_FOLDER: &str = "b1gclitestfolder0002";
pub(crate) const CLOUD: &str = "b1gclitestcloud00001";

/// An emulator, a scratch directory used as HOME and working directory, and a way to run the
/// binary against them with a clean environment (no `YC_*` from the outside, no real profile).
pub(crate) struct Harness {
    pub(crate) emu: Emulator,
    pub(crate) dir: tempfile::TempDir,
}

impl Harness {
    pub(crate) async fn start() -> Self {
        Self::with(Emulator::builder()).await
    }

    pub(crate) async fn with(builder: yc_iam::emulator::EmulatorBuilder) -> Self {
        let emu = builder
            .with_cloud(CLOUD)
            .with_folder(FOLDER)
            .with_folder(OTHER_FOLDER)
            .start()
            .await
            .expect("emulator starts");
        Self {
            emu,
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The binary with HOME and the working directory in the scratch directory, the emulator's
    /// endpoint and token in the environment.
    pub(crate) fn command(&self) -> Command {
        let mut cmd = bare_command(self.dir.path());
        cmd.env("YC_ENDPOINT", self.emu.endpoint())
            .env("YC_IAM_TOKEN", DEFAULT_IAM_TOKEN);
        cmd
    }

    /// Runs the binary with `args` to completion (off the async runtime, which serves the emulator).
    pub(crate) async fn run(&self, args: &[&str]) -> Run {
        let mut cmd = self.command();
        cmd.args(args);
        run(cmd).await
    }

    /// Runs `provision` for `name` into `file` (relative to the scratch directory) with extra args.
    pub(crate) async fn provision(&self, name: &str, file: &str, extra: &[&str]) -> Run {
        let mut args = vec!["provision", "--folder-id", FOLDER, "--name", name, "--output", file];
        args.extend_from_slice(extra);
        self.run(&args).await
    }

    /// Checks the end state the flow promises for `name` and key file `file`: one account, the
    /// default binding on the folder, exactly one live key, the one in the file, whose secret the
    /// emulator accepts. Returns the key's id.
    pub(crate) async fn assert_provisioned(&self, name: &str, file: &str) -> String {
        let snap = self.emu.snapshot();
        let accounts: Vec<_> = snap.service_accounts.iter().filter(|sa| sa.name == name).collect();
        assert_eq!(accounts.len(), 1, "exactly one service account {name}");
        let sa = accounts[0];
        let bound = snap.access_bindings.get(FOLDER).into_iter().flatten().any(|b| {
            b.role_id == "ai.languageModels.user"
                && b.subject
                    .as_ref()
                    .is_some_and(|s| s.r#type == "serviceAccount" && s.id == sa.id)
        });
        assert!(bound, "the role is bound for {name}");
        let live = snap.live_keys_of(&sa.id);
        assert_eq!(live.len(), 1, "exactly one live key for {name}: {live:?}");
        let stored = StoredKey::read(&self.path(file))
            .expect("key file readable")
            .expect("key file exists");
        assert_eq!(stored.id, live[0].id, "the file holds the live key");
        assert_eq!(stored.service_account_id, sa.id);
        self.assert_secret_accepted(&stored, &sa.id).await;
        stored.id
    }

    /// The emulator accepts the stored secret as an API key of this account.
    pub(crate) async fn assert_secret_accepted(&self, stored: &StoredKey, sa_id: &str) {
        use yc_iam::ExposeSecret;
        let client = client_with(&self.emu, yc_iam::Credentials::api_key(stored.secret.expose_secret()));
        let sa = client
            .service_accounts()
            .get(sa_id)
            .await
            .expect("the key's secret is accepted");
        assert_eq!(sa.id, sa_id);
    }
}

/// The binary with a clean environment: HOME and working directory at `home`.
pub(crate) fn bare_command(home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_yc-iam"));
    for (key, _) in std::env::vars_os() {
        if key.to_str().is_some_and(|k| k.starts_with("YC_") || k == "RUST_LOG") {
            cmd.env_remove(key);
        }
    }
    cmd.env("HOME", home).current_dir(home).stdin(Stdio::null());
    cmd
}

/// The binary against the emulator state kept in `dir` (`emulator.json`), in its default folder.
pub(crate) async fn on_kept_emulator(dir: &Path, args: &[&str]) -> Run {
    let mut cmd = bare_command(dir);
    cmd.args(["--emulator-state", "emulator.json", "--folder-id", DEFAULT_FOLDER_ID])
        .args(args);
    run(cmd).await
}

/// The document a successful run printed.
pub(crate) fn json(run: &Run) -> serde_json::Value {
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout))
}

/// A finished run of the binary.
pub(crate) struct Run {
    pub(crate) code: Option<i32>,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    pub(crate) fn success(&self) -> &Self {
        assert_eq!(
            self.code,
            Some(0),
            "expected success; stdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// The non-empty stderr lines.
    pub(crate) fn stderr_lines(&self) -> Vec<&str> {
        self.stderr.lines().filter(|l| !l.trim().is_empty()).collect()
    }
}

pub(crate) async fn run(mut cmd: Command) -> Run {
    let output: Output = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .expect("binary runs");
    finished(output)
}

fn finished(output: Output) -> Run {
    Run {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// [`run`], killing the binary and failing the test if it has not ended within `limit`: for runs
/// that could block forever (on a named pipe), so that the suite itself cannot hang.
pub(crate) async fn run_within(mut cmd: Command, limit: std::time::Duration) -> Run {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("binary runs");
    let started = std::time::Instant::now();
    // Polled on a blocking thread: the outputs are a few lines, far below a pipe's buffer, so the
    // binary never waits for them to be read.
    let output = tokio::task::spawn_blocking(move || {
        while child.try_wait().expect("wait").is_none() {
            if started.elapsed() > limit {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        Some(child.wait_with_output().expect("output"))
    })
    .await
    .unwrap()
    .unwrap_or_else(|| panic!("still running after {limit:?}: killed"));
    finished(output)
}
