//! Bad input across the commands: each gives one clear line naming what is wrong, exit code 2,
//! no panic, and nothing reaches the emulator. An unreachable endpoint is a failure (exit 1).

use super::{FOLDER, Harness};
use crate::common::client_with;

struct Case {
    /// The command and the flags every case of its kind shares, then the case's own.
    prefix: &'static [&'static str],
    args: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
    /// A phrase the one error line must contain.
    says: &'static str,
}

const fn case(args: &'static [&'static str], says: &'static str) -> Case {
    Case {
        prefix: &[],
        args,
        env: &[],
        says,
    }
}

const P: &str = "provision";
const F: &str = FOLDER;

/// A `provision` of the account `sa-api` in the folder with `flags`.
const fn provision(flags: &'static [&'static str], says: &'static str) -> Case {
    Case {
        prefix: &[P, "--folder-id", F, "--name", "sa-api"],
        args: flags,
        env: &[],
        says,
    }
}

const CASES: &[Case] = &[
    // Service-account names.
    case(
        &[P, "--folder-id", F, "--name", "Sa-api"],
        "invalid --name \"Sa-api\": must start with a lowercase Latin letter",
    ),
    case(
        &[P, "--folder-id", F, "--name", "a"],
        "invalid --name \"a\": must be 2 to 63 characters long",
    ),
    case(
        &[P, "--folder-id", F, "--name", "1sa"],
        "must start with a lowercase Latin letter",
    ),
    case(
        &[P, "--folder-id", F, "--name", "sa_api"],
        "may contain only lowercase Latin letters, digits and hyphens",
    ),
    case(&[P, "--folder-id", F, "--name", "sa-"], "must not end with a hyphen"),
    case(
        &[
            P,
            "--folder-id",
            F,
            "--name",
            "a234567890123456789012345678901234567890123456789012345678901234",
        ],
        "must be 2 to 63 characters long",
    ),
    case(
        &[P, "--folder-id", F, "--name", ""],
        "invalid --name \"\": must not be empty",
    ),
    case(
        &["sa", "create", "--folder-id", F, "--name", "Bad"],
        "invalid --name \"Bad\"",
    ),
    // Folder and other ids.
    case(
        &[P, "--folder-id", "b1g folder", "--name", "sa-api"],
        "invalid --folder-id \"b1g folder\"",
    ),
    case(
        &[
            P,
            "--folder-id",
            "b1g012345678901234567890123456789012345678901234567",
            "--name",
            "sa-api",
        ],
        "at most 50 characters",
    ),
    case(
        &[P, "--folder-id", "", "--name", "sa-api"],
        "invalid --folder-id \"\": must not be empty",
    ),
    case(&[P, "--name", "sa-api"], "no folder: pass --folder-id"),
    case(&["sa", "get", "aje/../x"], "invalid --id \"aje/../x\""),
    case(&["sa", "get"], "a service account is needed: pass --id or --name"),
    case(&["operation", "get", "op id"], "invalid <ID> \"op id\""),
    case(&["api-key", "delete", "key;rm"], "invalid <ID> \"key;rm\""),
    // Roles.
    provision(
        &["--role", "ai..user"],
        "invalid --role \"ai..user\": has an empty segment",
    ),
    provision(&["--role", "ai.user!"], "invalid --role \"ai.user!\""),
    provision(&["--role", ""], "invalid --role \"\": must not be empty"),
    case(
        &[
            "folder",
            "add-access-binding",
            F,
            "--role",
            "a b",
            "--subject",
            "userAccount:x",
        ],
        "invalid --role \"a b\"",
    ),
    // Subjects.
    case(
        &[
            "folder",
            "add-access-binding",
            F,
            "--role",
            "viewer",
            "--subject",
            "robot:x",
        ],
        "unknown subject type \"robot\"",
    ),
    case(
        &[
            "folder",
            "add-access-binding",
            F,
            "--role",
            "viewer",
            "--subject",
            "ajeabc",
        ],
        "expected TYPE:ID",
    ),
    case(
        &[
            "folder",
            "add-access-binding",
            F,
            "--role",
            "viewer",
            "--subject",
            "serviceAccount:",
        ],
        "the serviceAccount id is empty",
    ),
    case(
        &[
            "folder",
            "add-access-binding",
            F,
            "--role",
            "viewer",
            "--subject",
            "system:everyone",
        ],
        "system subjects are allUsers",
    ),
    case(
        &[
            "cloud",
            "add-access-binding",
            "b1gcloud",
            "--role",
            "viewer",
            "--subject",
            "system:group:organization::users",
        ],
        "is empty",
    ),
    case(
        &["folder", "remove-access-binding", F, "--role", "viewer"],
        "a subject is needed",
    ),
    // Scopes.
    provision(&["--scope", "yc..x"], "invalid --scope \"yc..x\""),
    provision(&["--scopes", "a,,b"], "invalid --scope \"\": must not be empty"),
    case(
        &["api-key", "create", "--service-account-id", "aje1", "--scopes", "a b"],
        "invalid --scopes \"a b\"",
    ),
    case(
        &["api-key", "create", "--service-account-id", "aje1", "--scopes", "a,a"],
        "invalid --scopes \"a\": given twice",
    ),
    // Labels.
    provision(&["--labels", "env"], "expected key=value pairs"),
    provision(&["--labels", "Env=x"], "label keys must start with a lowercase"),
    provision(&["--labels", "a=1,a=2"], "label key \"a\" is given twice"),
    case(
        &[
            "sa",
            "create",
            "--folder-id",
            F,
            "--name",
            "sa-x",
            "--labels",
            "env=a b",
        ],
        "label values may contain only",
    ),
    // Timestamps and durations.
    provision(&["--expires-at", "tomorrow"], "expected an RFC 3339 time"),
    provision(
        &["--expires-at", "2020-01-01T00:00:00Z"],
        "invalid --expires-at \"2020-01-01T00:00:00Z\": must be in the future",
    ),
    provision(&["--expires-at", "2200-01-01T00:00:00Z"], "must be no later than 2105"),
    provision(&["--expires-in", "90"], "a unit is missing after 90"),
    provision(&["--expires-in", "0d"], "longer than zero"),
    provision(&["--expires-in", "12x"], "expected a duration"),
    provision(
        &["--expires-in", "1d", "--expires-at", "2030-01-01T00:00:00Z"],
        "cannot be used with",
    ),
    case(&["sa", "list", "--folder-id", F, "--timeout", "5"], "a unit is missing"),
    // Formats and usage.
    case(
        &["sa", "list", "--folder-id", F, "--format", "xml"],
        "invalid value 'xml' for '--format <FORMAT>'",
    ),
    case(
        &["sa", "list", "--folder-id", F, "--retry", "0"],
        "invalid value '0' for '--retry <N>'",
    ),
    case(&["frobnicate"], "unrecognized subcommand 'frobnicate'"),
    case(&["sa", "list", "--frob"], "unexpected argument '--frob'"),
    case(
        &[P, "--folder-id", F],
        "the following required arguments were not provided: --name <NAME>",
    ),
    // Other text inputs.
    provision(
        &["--key-description", "line\nbreak"],
        "must not contain control characters",
    ),
    provision(&["--output", "."], "invalid --output"),
    provision(&["--output", "notes.yaml"], "exists but is not an API-key file"),
    provision(
        &["--output", "no/such/dir/key.yaml"],
        "directory no/such/dir does not exist",
    ),
    // Configuration and key files.
    Case {
        prefix: &[],
        args: &["sa", "list", "--folder-id", F],
        env: &[("HOME", "home-bad-yaml"), ("YC_IAM_TOKEN", "")],
        says: "config.yaml: not valid YAML",
    },
    Case {
        prefix: &[],
        args: &["sa", "list", "--folder-id", F],
        env: &[("HOME", "home-bad-key"), ("YC_IAM_TOKEN", "")],
        says: "config.yaml: profiles.default.service-account-key: missing field `private_key`",
    },
    Case {
        prefix: &[],
        args: &["sa", "list", "--folder-id", F],
        env: &[("HOME", "home-bad-pem"), ("YC_IAM_TOKEN", "")],
        says: "config.yaml: profiles.default.service-account-key: field `private_key` is not an RSA private key",
    },
    Case {
        prefix: &[],
        args: &["sa", "list", "--profile", "nope"],
        env: &[("HOME", "home-good")],
        says: "no profile named \"nope\"",
    },
    Case {
        prefix: &[],
        args: &["sa", "list", "--folder-id", F],
        env: &[("YC_IAM_TOKEN", ""), ("YC_SERVICE_ACCOUNT_KEY_FILE", "missing.json")],
        says: "$YC_SERVICE_ACCOUNT_KEY_FILE missing.json: cannot read: no such file",
    },
    case(
        &["--service-account-key", "notes.yaml", "sa", "list", "--folder-id", F],
        "--service-account-key notes.yaml: not valid JSON",
    ),
    Case {
        prefix: &[],
        args: &["sa", "list", "--folder-id", F],
        env: &[("YC_IAM_TOKEN", "")],
        says: "no credentials",
    },
    // Outputs and the flags of each sink.
    provision(&["--output", "lockbox://"], "lockbox:// needs a secret name or id"),
    provision(&["--output", "lockbox:ai"], "lockbox://NAME or lockbox://ID"),
    provision(&["--output", "env:"], "env: needs a file path"),
    provision(&["--output", "k8s:"], "k8s: needs a file path"),
    provision(
        &["--output", "lockbox://a b"],
        "invalid --output \"lockbox://a b\": a Lockbox secret name is",
    ),
    case(
        &["lockbox", "payload", "get", "--folder-id", F, "--name", "a b"],
        "invalid --name \"a b\": a Lockbox secret name is",
    ),
    provision(
        &["--output", "env:.env", "--entry", "secret=X"],
        "expected api-key=NAME, api-key-id=NAME or folder-id=NAME",
    ),
    provision(
        &["--output", "env:.env", "--entry", "api-key=1KEY"],
        "invalid --entry \"api-key=1KEY\": a dotenv name is",
    ),
    provision(
        &["--output", "k8s:s.yaml", "--entry", "api-key=YC_FOLDER_ID"],
        "the three entries need different names",
    ),
    provision(
        &["--output", "lockbox://ai", "--entry", "api-key=a b"],
        "a Lockbox entry key is",
    ),
    provision(
        &["--entry", "api-key=KEY"],
        "invalid --entry: applies only to env:, k8s: and lockbox:// outputs",
    ),
    provision(
        &["--output", "k8s:s.yaml", "--k8s-secret-name", "Bad"],
        "invalid --k8s-secret-name \"Bad\"",
    ),
    provision(
        &["--k8s-secret-name", "s"],
        "invalid --k8s-secret-name: applies only to k8s: outputs",
    ),
    provision(
        &["--output", "env:.env", "--lockbox-reader", "serviceAccount:aje1"],
        "invalid --lockbox-reader: applies only to lockbox:// outputs",
    ),
    provision(
        &["--output", "lockbox://ai", "--lockbox-reader", "nobody"],
        "expected TYPE:ID",
    ),
    provision(
        &["--output", "lockbox://ai", "--lockbox-reader", "system:allUsers"],
        "invalid --lockbox-reader \"system:allUsers\": would let anyone read the key",
    ),
    provision(
        &[
            "--output",
            "lockbox://ai",
            "--lockbox-reader",
            "system:allAuthenticatedUsers",
        ],
        "invalid --lockbox-reader \"system:allAuthenticatedUsers\": would let anyone read the key",
    ),
    provision(
        &["--output", "lockbox://ai", "--lockbox-pending-period", "0s"],
        "the duration must be longer than zero",
    ),
    provision(
        &["--output", "lockbox://ai", "--lockbox-pending-period", "7x"],
        "expected a duration such as",
    ),
    provision(
        &["--output", "lockbox://ai", "--lockbox-folder-id", "b1g x"],
        "invalid --lockbox-folder-id",
    ),
    provision(
        &["--output", "lockbox://e6q00000000000000001", "--lockbox-folder-id", F],
        "applies only to a secret given by name (lockbox://NAME)",
    ),
    // Credentials are flags of `yc-iam`, before the command.
    case(
        &["sa", "list", "--folder-id", F, "--token", "y0_x"],
        "unexpected argument '--token' found; credentials go before the command, as in `yc-iam --token",
    ),
    provision(
        &["--api-key=AQVNx"],
        "credentials go before the command, as in `yc-iam --api-key",
    ),
    Case {
        prefix: &[],
        args: &["sa", "list", "--folder-id", F],
        env: &[("YC_ENDPOINT", "not an endpoint")],
        says: "invalid endpoint",
    },
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_inputs_give_one_clear_line_exit_2_and_send_nothing() {
    assert!(CASES.len() >= 40);
    let h = Harness::start().await;
    std::fs::write(h.path("notes.yaml"), "hello: world\n").unwrap();
    let config = |home: &str, text: &str| {
        let dir = h.path(home).join(".config/yandex-cloud");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("config.yaml"), text).unwrap();
    };
    config("home-bad-yaml", "profiles: [\n");
    config(
        "home-bad-key",
        "current: default\nprofiles:\n  default:\n    service-account-key:\n      id: k\n      service_account_id: s\n",
    );
    config(
        "home-bad-pem",
        "current: default\nprofiles:\n  default:\n    service-account-key:\n      id: k\n      service_account_id: s\n      private_key: \"-----BEGIN PRIVATE KEY-----\\nnot a key\\n-----END PRIVATE KEY-----\\n\"\n",
    );
    config(
        "home-good",
        "current: default\nprofiles:\n  default:\n    folder-id: b1gx\n",
    );
    h.emu.clear_journal();
    let mut failures = Vec::new();
    for c in CASES {
        let mut cmd = h.command();
        cmd.args(c.prefix).args(c.args);
        for (k, v) in c.env {
            if v.is_empty() {
                cmd.env_remove(k);
            } else {
                cmd.env(k, v);
            }
        }
        let r = super::run(cmd).await;
        let lines = r.stderr_lines();
        let ok = r.code == Some(2)
            && lines.len() == 1
            && lines[0].starts_with("error: ")
            && lines[0].contains(c.says)
            && !r.stderr.contains("panicked")
            && r.stdout.is_empty();
        if !ok {
            failures.push(format!(
                "{:?} {:?}: exit {:?}, stderr {:?}",
                c.prefix, c.args, r.code, r.stderr
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    let journal = h.emu.journal();
    assert!(
        journal.is_empty(),
        "bad input reached the emulator: {:?}",
        journal.iter().map(|e| &e.method).collect::<Vec<_>>()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_endpoint_is_a_failure_with_exit_1() {
    let h = Harness::start().await;
    // A port nothing listens on: bind one, then free it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let endpoint = format!("http://127.0.0.1:{port}");
    let r = h
        .run(&[
            "sa",
            "list",
            "--folder-id",
            FOLDER,
            "--endpoint",
            &endpoint,
            "--retry",
            "2",
        ])
        .await;
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    let first = r.stderr_lines()[0];
    assert!(first.starts_with("error: "), "{}", r.stderr);
    assert!(!r.stderr.contains("panicked"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credential_after_the_command_is_refused_without_showing_its_value() {
    let h = Harness::start().await;
    for args in [
        &["sa", "list", "--token=y0_SECRET_VALUE"][..],
        &["sa", "list", "--api-key", "AQVN_SECRET_VALUE"],
        &[P, "--name", "sa-api", "--iam-token", "t1.SECRET_VALUE"],
    ] {
        let mut cmd = h.command();
        cmd.args(args);
        let r = super::run(cmd).await;
        assert_eq!(r.code, Some(2), "{args:?}: {}", r.stderr);
        assert!(
            r.stderr.contains("credentials go before the command"),
            "{args:?}: {}",
            r.stderr
        );
        assert!(
            !r.stderr.contains("SECRET_VALUE"),
            "{args:?} shows the secret: {}",
            r.stderr
        );
    }
    // The emulator takes no client credentials at all: no hint to move them.
    let mut cmd = h.command();
    cmd.args(["emulator", "--api-key", "AQVN_SECRET_VALUE"]);
    let r = super::run(cmd).await;
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert!(r.stderr.contains("unexpected argument '--api-key'"), "{}", r.stderr);
    assert!(
        !r.stderr.contains("go before") && !r.stderr.contains("SECRET_VALUE"),
        "{}",
        r.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_folder_id_is_the_field_folder_id_to_the_library_and_the_flag_folder_id_to_the_cli() {
    let h = Harness::start().await;
    let client = client_with(
        &h.emu,
        yc_iam::Credentials::iam_token(yc_iam::emulator::DEFAULT_IAM_TOKEN),
    );
    let rule = "may contain only Latin letters, digits, '-' and '_', not ' '";
    let err = yc_iam::provision::Provision::new("b1g folder", "sa-api")
        .output_file(h.path("api-key.yaml"))
        .plan(&client)
        .await
        .expect_err("a folder id with a space is refused");
    assert!(err.is_invalid_input());
    assert_eq!(err.to_string(), format!("invalid folder_id \"b1g folder\": {rule}"));

    let r = h.run(&[P, "--folder-id", "b1g folder", "--name", "sa-api"]).await;
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert_eq!(
        r.stderr_lines(),
        vec![format!("error: invalid --folder-id \"b1g folder\": {rule}").as_str()]
    );
    assert!(h.emu.journal().is_empty(), "nothing reaches the emulator");
}
