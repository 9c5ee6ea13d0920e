//! Every command, with every kind of credential, at the most verbose logging
//! (`--debug`, `RUST_LOG=trace`), with stdout, stderr and the files left behind captured: no
//! token, JWT, private key or API-key secret shows anywhere, except a new key's secret in the key
//! file, on stdout of `api-key create` (which exists to show it once, as `yc` does) and of
//! `provision --output -`, and the token `create-token` exists to print.
//!
//! The secrets are known values (and the shapes of the ones the emulator issues are known), so a
//! plain search finds any leak.

use std::path::{Path, PathBuf};

use regex::Regex;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use yc_iam::emulator::Emulator;
use yc_iam::model::{AccessBinding, AccessBindingDelta};
use yc_iam::{CreateApiKey, CreateServiceAccount, Credentials, ExposeSecret as _};

use crate::cli::{Run, bare_command, run};
use crate::common::client_with;

const FOLDER: &str = "b1ghygienefolder0001";
const CLOUD: &str = "b1ghygienecloud00001";
const IAM: &str = "t1.hygiene-static-iam-token-0123456789";
const OAUTH: &str = "y0_hygiene-oauth-token-0123456789abcdef";
const META: &str = "t1.hygiene-metadata-token-0123456789";
const KEY_ID: &str = "ajehygieneauthkey001";
const KEY_SA: &str = "ajehygienekeyowner01";
const PEM: &str = include_str!("../../fixtures/keys/sa.pem");
const PUB_PEM: &str = include_str!("../../fixtures/keys/sa.pub.pem");
const SCOPE: &str = "yc.ai.languageModels.execute";

/// How a run is authenticated.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    IamEnv,
    IamFlag,
    OAuthEnv,
    OAuthFlag,
    KeyFileEnv,
    KeyFileFlag,
    Metadata,
    ApiKeyEnv,
    ApiKeyFlag,
}

impl Kind {
    fn tag(self) -> &'static str {
        match self {
            Kind::IamEnv => "iam-env",
            Kind::IamFlag => "iam-flag",
            Kind::OAuthEnv => "oauth-env",
            Kind::OAuthFlag => "oauth-flag",
            Kind::KeyFileEnv => "keyfile-env",
            Kind::KeyFileFlag => "keyfile-flag",
            Kind::Metadata => "metadata",
            Kind::ApiKeyEnv => "apikey-env",
            Kind::ApiKeyFlag => "apikey-flag",
        }
    }
}

/// Where a new key's secret may legitimately show.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Allowed {
    Nothing,
    /// `api-key create`, `provision --output -`: the new key's secret on stdout.
    NewSecretOnStdout,
    /// `create-token`: an IAM token on stdout.
    TokenOnStdout,
}

struct World {
    emu: Emulator,
    home: tempfile::TempDir,
    api_key: String,
    metadata_addr: String,
    patterns: Vec<(&'static str, Regex)>,
}

impl World {
    fn home(&self) -> &Path {
        self.home.path()
    }

    fn key_file(&self) -> PathBuf {
        self.home().join("authorized-key.json")
    }

    fn command(&self, kind: Kind, args: &[&str]) -> std::process::Command {
        let mut cmd = bare_command(self.home());
        cmd.env("YC_ENDPOINT", self.emu.endpoint())
            .env("YC_FOLDER_ID", FOLDER)
            .env("YC_CLOUD_ID", CLOUD)
            .env("RUST_LOG", "trace")
            .env("RUST_BACKTRACE", "1")
            .env("TMPDIR", self.home().join("tmp"));
        let key_file = self.key_file();
        let key_file = key_file.to_str().expect("utf-8 path");
        let mut credential: Vec<&str> = Vec::new();
        match kind {
            Kind::IamEnv => {
                cmd.env("YC_IAM_TOKEN", IAM);
            }
            Kind::IamFlag => credential.extend(["--iam-token", IAM]),
            Kind::OAuthEnv => {
                cmd.env("YC_TOKEN", OAUTH);
            }
            Kind::OAuthFlag => credential.extend(["--token", OAUTH]),
            Kind::KeyFileEnv => {
                cmd.env("YC_SERVICE_ACCOUNT_KEY_FILE", key_file);
            }
            Kind::KeyFileFlag => credential.extend(["--service-account-key", key_file]),
            Kind::Metadata => {
                cmd.env("YC_METADATA_ADDR", &self.metadata_addr).env("YC_PROFILE", "vm");
            }
            Kind::ApiKeyEnv => {
                cmd.env("YC_API_KEY", &self.api_key);
            }
            Kind::ApiKeyFlag => credential.extend(["--api-key", self.api_key.as_str()]),
        }
        cmd.args(credential).arg("--debug").args(args);
        cmd
    }

    /// The leaks in `text`, by pattern name.
    fn leaks(&self, text: &str, skip: &[&str]) -> Vec<&'static str> {
        self.patterns
            .iter()
            .filter(|(name, _)| !skip.contains(name))
            .filter(|(_, re)| re.is_match(text))
            .map(|(name, _)| *name)
            .collect()
    }

    /// Runs one command and checks its outputs; returns the run.
    async fn check(&self, kind: Kind, args: &[&str], allowed: Allowed, succeeds: bool, report: &Report) -> Run {
        let run = run(self.command(kind, args)).await;
        let what = format!("{} `{}`", kind.tag(), args.join(" "));
        assert_eq!(
            run.code == Some(0),
            succeeds,
            "{what}: exit {:?}\nstdout:\n{}\nstderr:\n{}",
            run.code,
            run.stdout,
            run.stderr
        );
        let stderr_leaks = self.leaks(&run.stderr, &[]);
        assert!(
            stderr_leaks.is_empty(),
            "{what}: stderr shows {stderr_leaks:?}:\n{}",
            run.stderr
        );
        let stdout_skip: &[&str] = match allowed {
            Allowed::Nothing => &[],
            Allowed::NewSecretOnStdout => &["api-key secret"],
            // The printed token is the static one, the metadata one, or one the emulator issued.
            Allowed::TokenOnStdout => &["issued IAM token", "the static IAM token", "the metadata token"],
        };
        let stdout_leaks = self.leaks(&run.stdout, stdout_skip);
        assert!(
            stdout_leaks.is_empty(),
            "{what}: stdout shows {stdout_leaks:?}:\n{}",
            run.stdout
        );
        assert!(!run.stderr.contains("panicked"), "{what} panicked:\n{}", run.stderr);
        report.runs.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if run.code == Some(0) {
            report.ok.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        if run.stderr.contains("DEBUG") {
            report.debug.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        // The debug log names the `authorization` every call carries once per run, masked to its scheme.
        let scheme = match kind {
            Kind::ApiKeyEnv | Kind::ApiKeyFlag => "authorization=\"Api-Key ***\"",
            _ => "authorization=\"Bearer t1.***",
        };
        for line in run.stderr.lines().filter(|l| l.contains("metadata on every call")) {
            assert!(
                line.contains(scheme),
                "{what}: the authorization of its calls logged without its mask: {line}"
            );
            report
                .authorization_lines
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        report.bytes.fetch_add(
            run.stdout.len() + run.stderr.len(),
            std::sync::atomic::Ordering::Relaxed,
        );
        run
    }
}

#[derive(Default)]
struct Report {
    runs: std::sync::atomic::AtomicUsize,
    ok: std::sync::atomic::AtomicUsize,
    debug: std::sync::atomic::AtomicUsize,
    authorization_lines: std::sync::atomic::AtomicUsize,
    bytes: std::sync::atomic::AtomicUsize,
}

/// A metadata service on loopback that hands out `META` to every caller.
async fn metadata_service() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr").to_string();
    let task = tokio::spawn(async move {
        // Bounded: at most this many answers, and the task ends with the test.
        for _ in 0..10_000 {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let mut seen = Vec::new();
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") && seen.len() < 64 * 1024 {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let body = format!(r#"{{"access_token":"{META}","expires_in":3600,"token_type":"Bearer"}}"#);
                let answer = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(answer.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    (addr, task)
}

fn patterns(api_key: &str) -> Vec<(&'static str, Regex)> {
    let literal = |s: &str| Regex::new(&regex::escape(s)).expect("regex");
    let mut out = vec![
        ("the static IAM token", literal(IAM)),
        ("the OAuth token", literal(OAUTH)),
        ("the metadata token", literal(META)),
        ("the API key used to authenticate", literal(api_key)),
        ("a private key", Regex::new("PRIVATE KEY").expect("regex")),
        (
            "a JWT",
            Regex::new(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}").expect("regex"),
        ),
        (
            "issued IAM token",
            Regex::new(r"t1\.[A-Za-z0-9]{64}\.[A-Za-z0-9_-]{86}").expect("regex"),
        ),
        ("api-key secret", Regex::new(r"AQVN[A-Za-z0-9_-]{36}").expect("regex")),
    ];
    // Every line of the private key's body.
    for line in PEM.lines().filter(|l| !l.starts_with("-----") && l.len() >= 32) {
        out.push(("a private key line", literal(line)));
    }
    out
}

async fn world() -> World {
    let (metadata_addr, _task) = metadata_service().await;
    let emu = Emulator::builder()
        .with_cloud(CLOUD)
        .with_folder(FOLDER)
        .with_iam_token(IAM)
        .with_iam_token(META)
        .with_oauth_token(OAUTH)
        .with_authorized_key(KEY_ID, KEY_SA, PUB_PEM)
        .start()
        .await
        .expect("emulator");
    let home = tempfile::tempdir().expect("home");
    std::fs::create_dir_all(home.path().join("tmp")).expect("tmp");
    let key = serde_json::json!({
        "id": KEY_ID,
        "service_account_id": KEY_SA,
        "created_at": "2026-01-01T00:00:00Z",
        "key_algorithm": "RSA_2048",
        "public_key": PUB_PEM,
        "private_key": format!("PLEASE DO NOT REMOVE THIS LINE! Yandex.Cloud SA Key ID <{KEY_ID}>\n{PEM}"),
    });
    std::fs::write(home.path().join("authorized-key.json"), key.to_string()).expect("key file");
    // A yc profile for the metadata service: `instance-service-account: true`.
    let yc = home.path().join(".config/yandex-cloud");
    std::fs::create_dir_all(&yc).expect("yc dir");
    std::fs::write(
        yc.join("config.yaml"),
        "profiles:\n  vm:\n    instance-service-account: true\n",
    )
    .expect("profile");

    // An API key to authenticate with, made through the library.
    let client = client_with(&emu, Credentials::iam_token(IAM));
    let holder = client
        .service_accounts()
        .create(CreateServiceAccount::new(FOLDER, "key-holder"))
        .await
        .expect("create")
        .wait()
        .await
        .expect("holder");
    // The API key's holder may keep keys in Lockbox and read them back (the authorized key's
    // account exists only in the emulator's key list: it cannot be granted a role).
    let deltas = vec![AccessBindingDelta::add(AccessBinding::service_account(
        "lockbox.editor",
        &holder.id,
    ))];
    client
        .folders()
        .update_access_bindings(FOLDER, deltas)
        .await
        .expect("bind")
        .wait()
        .await
        .expect("bound");
    let api_key = client
        .api_keys()
        .create(CreateApiKey::new(holder.id).scopes([SCOPE]))
        .await
        .expect("api key")
        .secret
        .expose_secret()
        .to_owned();
    // `_task` ends with the runtime at the end of the test.
    std::mem::forget(_task);
    let patterns = patterns(&api_key);
    World {
        emu,
        home,
        api_key,
        metadata_addr,
        patterns,
    }
}

/// Every command, in an order where each finds what it needs, for one kind of credentials.
async fn every_command(w: &World, kind: Kind, report: &Report) {
    use Allowed::*;
    let t = kind.tag();
    let sa = format!("hyg-{t}");
    let prov = format!("hyg-prov-{t}");
    let printed = format!("hyg-out-{t}");
    let key_file = format!("key-{t}.yaml");
    let check = |args: Vec<String>, allowed| async move {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        w.check(kind, &args, allowed, true, report).await
    };
    let fails = |args: Vec<String>| async move {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        w.check(kind, &args, Nothing, false, report).await
    };
    let v = |args: &[&str]| args.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();

    check(v(&["service-account", "list"]), Nothing).await;
    check(
        v(&[
            "sa",
            "create",
            "--name",
            &sa,
            "--description",
            "hygiene",
            "--labels",
            "team=rel",
        ]),
        Nothing,
    )
    .await;
    let sa_id = w
        .emu
        .snapshot()
        .service_account_named(&sa)
        .map(|s| s.id.clone())
        .unwrap_or_default();
    check(v(&["sa", "get", "--name", &sa]), Nothing).await;
    check(v(&["sa", "get", &sa_id, "--format", "json"]), Nothing).await;
    check(v(&["sa", "update", "--name", &sa, "--description", "updated"]), Nothing).await;
    check(v(&["sa", "list", "--format", "yaml"]), Nothing).await;
    check(v(&["api-key", "list-scopes"]), Nothing).await;
    check(
        v(&["api-key", "create", "--service-account-name", &sa, "--scopes", SCOPE]),
        NewSecretOnStdout,
    )
    .await;
    check(
        v(&[
            "api-key",
            "create",
            "--service-account-id",
            &sa_id,
            "--scope",
            SCOPE,
            "--format",
            "json",
            "--expires-in",
            "30d",
        ]),
        NewSecretOnStdout,
    )
    .await;
    let key_id = w
        .emu
        .snapshot()
        .live_keys_of(&sa_id)
        .first()
        .map(|k| k.id.clone())
        .unwrap_or_default();
    check(v(&["api-key", "list", "--service-account-name", &sa]), Nothing).await;
    check(v(&["api-key", "get", &key_id, "--format", "yaml"]), Nothing).await;
    check(v(&["api-key", "update", &key_id, "--description", "renamed"]), Nothing).await;
    check(v(&["api-key", "delete", &key_id]), Nothing).await;
    check(v(&["folder", "list-access-bindings", FOLDER]), Nothing).await;
    check(
        v(&[
            "folder",
            "add-access-binding",
            FOLDER,
            "--role",
            "viewer",
            "--service-account-name",
            &sa,
        ]),
        Nothing,
    )
    .await;
    check(
        v(&[
            "folder",
            "remove-access-binding",
            FOLDER,
            "--role",
            "viewer",
            "--subject",
            &format!("serviceAccount:{sa_id}"),
        ]),
        Nothing,
    )
    .await;
    check(
        v(&["cloud", "list-access-bindings", CLOUD, "--format", "json"]),
        Nothing,
    )
    .await;
    check(
        v(&[
            "cloud",
            "add-access-binding",
            CLOUD,
            "--role",
            "viewer",
            "--service-account-id",
            &sa_id,
        ]),
        Nothing,
    )
    .await;
    check(
        v(&[
            "cloud",
            "remove-access-binding",
            CLOUD,
            "--role",
            "viewer",
            "--service-account-id",
            &sa_id,
        ]),
        Nothing,
    )
    .await;
    let op = w
        .emu
        .snapshot()
        .operations
        .last()
        .map(|o| o.id.clone())
        .unwrap_or_default();
    check(v(&["operation", "get", &op]), Nothing).await;
    check(v(&["operation", "wait", &op, "--format", "json"]), Nothing).await;
    check(
        v(&["sa", "update", "--name", &sa, "--description", "async", "--async"]),
        Nothing,
    )
    .await;
    if matches!(kind, Kind::ApiKeyEnv | Kind::ApiKeyFlag) {
        // An API key cannot be turned into an IAM token.
        fails(v(&["create-token"])).await;
    } else {
        check(v(&["create-token"]), TokenOnStdout).await;
    }
    check(
        v(&[
            "provision",
            "--name",
            &prov,
            "--output",
            &key_file,
            "--labels",
            "a=b",
            "--role",
            "viewer",
            "--expires-in",
            "90d",
        ]),
        Nothing,
    )
    .await;
    check(
        v(&[
            "provision",
            "--name",
            &prov,
            "--output",
            &key_file,
            "--role",
            "viewer",
            "--expires-in",
            "90d",
        ]),
        Nothing,
    )
    .await;
    check(
        v(&[
            "provision",
            "--name",
            &prov,
            "--output",
            &key_file,
            "--role",
            "viewer",
            "--rotate",
            "--format",
            "json",
        ]),
        Nothing,
    )
    .await;
    check(
        v(&[
            "provision",
            "--name",
            &prov,
            "--output",
            &key_file,
            "--dry-run",
            "--format",
            "yaml",
        ]),
        Nothing,
    )
    .await;
    // Rotation writes the new key to the file and reports ids only.
    let rotate = [
        "rotate",
        "--service-account-name",
        &prov,
        "--all-keys",
        "--sink",
        &key_file,
    ];
    check(v(&[&rotate[..], &["--format", "json"]].concat()), Nothing).await;
    check(v(&[&rotate[..], &["--dry-run"]].concat()), Nothing).await;
    check(
        v(&["provision", "--name", &printed, "--output", "-"]),
        NewSecretOnStdout,
    )
    .await;
    check(
        v(&[
            "provision",
            "--name",
            &printed,
            "--output",
            "-",
            "--cloud-id",
            CLOUD,
            "--format",
            "json",
        ]),
        NewSecretOnStdout,
    )
    .await;
    // Into Lockbox: the payload is shown only with --reveal.
    if !matches!(kind, Kind::KeyFileEnv | Kind::KeyFileFlag) {
        let lockbox = format!("lockbox://hyg-lb-{t}");
        let secret = format!("hyg-lb-{t}");
        check(v(&["provision", "--name", &prov, "--output", &lockbox]), Nothing).await;
        check(
            v(&["provision", "--name", &prov, "--output", &lockbox, "--rotate"]),
            Nothing,
        )
        .await;
        check(
            v(&[
                "rotate",
                "--service-account-name",
                &prov,
                "--key-type",
                "api-key",
                "--all-keys",
            ]),
            Nothing,
        )
        .await;
        check(
            v(&[
                "provision",
                "--name",
                &prov,
                "--output",
                &lockbox,
                "--dry-run",
                "--format",
                "json",
            ]),
            Nothing,
        )
        .await;
        check(v(&["lockbox", "secret", "list"]), Nothing).await;
        check(
            v(&["lockbox", "secret", "get", "--name", &secret, "--format", "yaml"]),
            Nothing,
        )
        .await;
        check(v(&["lockbox", "payload", "get", "--name", &secret]), Nothing).await;
        check(
            v(&["lockbox", "payload", "get", "--name", &secret, "--key", "api-key"]),
            Nothing,
        )
        .await;
        check(
            v(&[
                "lockbox", "payload", "get", "--name", &secret, "--reveal", "--format", "json",
            ]),
            NewSecretOnStdout,
        )
        .await;
    }
    // Failures print ids and reasons, never credentials.
    fails(v(&["sa", "get", "ajenotthere000000000"])).await;
    fails(v(&["api-key", "get", "ajenotthere000000000"])).await;
    fails(v(&["sa", "create", "--name", "Not_A_Name"])).await;
    fails(v(&["provision", "--name", &prov, "--output", "authorized-key.json"])).await;
    check(v(&["sa", "delete", "--name", &sa]), Nothing).await;
    check(v(&["completions", "bash"]), Nothing).await;
}

/// Every file under `dir` except the key files, which hold a secret by design.
fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Every command with credentials of `kind`, then an audit of the files left behind.
async fn hygiene(kind: Kind) {
    let w = world().await;
    let report = Report::default();
    every_command(&w, kind, &report).await;

    // Files left behind: only the key files may hold a secret, and only their own key's, 0600.
    let mut all = Vec::new();
    files(w.home(), &mut all);
    let (mut key_files, mut scanned) = (0, 0);
    for path in &all {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        let text = String::from_utf8_lossy(&std::fs::read(path).expect("read")).into_owned();
        if name.starts_with("key-") && name.ends_with(".yaml") {
            key_files += 1;
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(path).expect("metadata").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{} has mode {mode:o}", path.display());
            let leaks = w.leaks(&text, &["api-key secret"]);
            assert!(leaks.is_empty(), "{} shows {leaks:?}", path.display());
            continue;
        }
        if name == "authorized-key.json" {
            continue;
        }
        scanned += 1;
        let leaks = w.leaks(&text, &[]);
        assert!(leaks.is_empty(), "{} shows {leaks:?}", path.display());
    }
    assert_eq!(key_files, 1, "the provisioned key file");

    let load = |a: &std::sync::atomic::AtomicUsize| a.load(std::sync::atomic::Ordering::Relaxed);
    let runs = load(&report.runs);
    println!(
        "secret hygiene [{}]: {runs} commands with --debug and RUST_LOG=trace; {} succeeded (the rest fail on purpose); \
         {} wrote debug logs; {} KiB of stdout and stderr searched for {} secret patterns: 0 leaks; {scanned} other \
         files left behind searched: 0 leaks; the key file is mode 0600; {} runs logged the authorization of their calls, each masked",
        kind.tag(),
        load(&report.ok),
        load(&report.debug),
        load(&report.bytes) / 1024,
        w.patterns.len(),
        load(&report.authorization_lines),
    );
    assert!(
        load(&report.authorization_lines) > 0,
        "no run logged the authorization of its calls, so the mask was never checked"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_command_shows_a_secret_with_an_iam_token_from_the_environment() {
    hygiene(Kind::IamEnv).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_command_shows_a_secret_with_an_iam_token_from_a_flag() {
    hygiene(Kind::IamFlag).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_command_shows_a_secret_with_an_oauth_token_from_the_environment() {
    hygiene(Kind::OAuthEnv).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_command_shows_a_secret_with_an_oauth_token_from_a_flag() {
    hygiene(Kind::OAuthFlag).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_command_shows_a_secret_with_an_authorized_key_file_from_the_environment() {
    hygiene(Kind::KeyFileEnv).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_command_shows_a_secret_with_an_authorized_key_file_from_a_flag() {
    hygiene(Kind::KeyFileFlag).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_command_shows_a_secret_with_the_metadata_service() {
    hygiene(Kind::Metadata).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_command_shows_a_secret_with_an_api_key_from_the_environment() {
    hygiene(Kind::ApiKeyEnv).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_command_shows_a_secret_with_an_api_key_from_a_flag() {
    hygiene(Kind::ApiKeyFlag).await;
}
