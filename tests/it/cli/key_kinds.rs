//! `provision --key-type authorized-key|static-key`: each kind's key goes to its own kind of
//! file (the `key.json` of `yc iam key create`, an AWS shared-credentials file) or to the shared
//! sinks under the kind's entry names, with the same keep-or-replace rules as API keys; inputs
//! that belong to another kind are refused before anything is sent.

use std::os::unix::fs::PermissionsExt as _;

use yc_iam::AuthorizedKey;

use super::{FOLDER, Harness, bare_command, run};

/// The fields `yc iam key create --output key.json` writes, in its order.
const KEY_FILE_FIELDS: [&str; 6] = [
    "id",
    "service_account_id",
    "created_at",
    "key_algorithm",
    "public_key",
    "private_key",
];

#[tokio::test]
async fn an_authorized_key_file_from_provision_signs_the_next_command_in_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("emulator.json");
    let state_arg = state.to_str().unwrap();
    let mut cmd = bare_command(dir.path());
    cmd.args([
        "--emulator-state",
        state_arg,
        "provision",
        "--name",
        "sa-ci",
        "--key-type",
        "authorized-key",
        "--output",
        "key.json",
    ]);
    let made = run(cmd).await;
    assert_eq!(made.code, Some(0), "{}", made.stderr);
    assert!(made.stdout.contains("authorized key"), "{}", made.stdout);

    let path = dir.path().join("key.json");
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    let text = std::fs::read_to_string(&path).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc.as_object().unwrap().len(), KEY_FILE_FIELDS.len(), "{text}");
    let at: Vec<usize> = KEY_FILE_FIELDS
        .iter()
        .map(|f| text.find(&format!("\"{f}\":")).unwrap_or_else(|| panic!("no {f}")))
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "the fields in yc's order");
    let id = doc["id"].as_str().unwrap();
    assert_eq!(doc["key_algorithm"], "RSA_2048");
    assert!(
        doc["public_key"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN PUBLIC KEY-----")
    );
    let private_key = doc["private_key"].as_str().unwrap();
    assert!(
        private_key.starts_with(&format!(
            "PLEASE DO NOT REMOVE THIS LINE! Yandex.Cloud SA Key ID <{id}>\n-----BEGIN"
        )),
        "the private key as Yandex returns it"
    );
    AuthorizedKey::from_file(&path).expect("the library reads the file as it is");

    // The next command, against the same state, signs in with the file alone.
    let mut cmd = bare_command(dir.path());
    cmd.args(["--service-account-key", "key.json", "--emulator-state", state_arg])
        .args([
            "--folder-id",
            yc_iam::emulator::DEFAULT_FOLDER_ID,
            "--format",
            "json",
            "sa",
            "list",
        ]);
    let listed = run(cmd).await;
    assert_eq!(listed.code, Some(0), "{}", listed.stderr);
    let accounts: serde_json::Value = serde_json::from_str(&listed.stdout).unwrap();
    let account = &accounts.as_array().unwrap()[0];
    assert_eq!(account["name"], "sa-ci");
    assert_eq!(account["id"], doc["service_account_id"]);

    // And a provision run again keeps the key.
    let mut cmd = bare_command(dir.path());
    cmd.args(["--emulator-state", state_arg, "provision", "--name", "sa-ci"])
        .args(["--key-type", "authorized-key", "--output", "key.json"]);
    let again = run(cmd).await;
    assert_eq!(again.code, Some(0), "{}", again.stderr);
    assert!(again.stdout.starts_with("Up to date"), "{}", again.stdout);
    assert!(
        std::fs::read_to_string(&path).unwrap() == text,
        "the file is left as it was"
    );
}

#[tokio::test]
async fn a_static_key_goes_to_its_aws_profile_and_other_profiles_stay() {
    let h = Harness::start().await;
    std::fs::write(
        h.path("credentials"),
        "[default]\naws_access_key_id = AKIAOTHER\naws_secret_access_key = other\n",
    )
    .unwrap();
    let made = h
        .provision(
            "sa-s3",
            "credentials",
            &["--key-type", "static-key", "--aws-profile", "yc"],
        )
        .await;
    made.success();
    let text = std::fs::read_to_string(h.path("credentials")).unwrap();
    assert!(text.starts_with("[default]\naws_access_key_id = AKIAOTHER\naws_secret_access_key = other\n"));
    let profile = text.split("[yc]\n").nth(1).expect("the yc profile");
    let value = |name: &str| {
        profile
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name} = ")))
            .unwrap()
            .to_owned()
    };
    let (key_id, secret) = (value("aws_access_key_id"), value("aws_secret_access_key"));
    assert!(h.emu.accepts_access_key(&key_id, &secret));
    let snap = h.emu.snapshot();
    let sa = snap.service_account_named("sa-s3").unwrap();
    let keys = snap.access_keys_of(&sa.id);
    assert_eq!(keys.len(), 1);
    let absolute = std::fs::canonicalize(h.dir.path()).unwrap().join("credentials");
    assert!(
        keys[0]
            .description
            .starts_with(&format!("made by yc-iam for {} [yc-iam:", absolute.display())),
        "{}",
        keys[0].description
    );

    let again = h
        .provision(
            "sa-s3",
            "credentials",
            &["--key-type", "static-key", "--aws-profile", "yc"],
        )
        .await;
    again.success();
    assert!(again.stdout.starts_with("Up to date"), "{}", again.stdout);
    let rotated = h
        .provision(
            "sa-s3",
            "credentials",
            &["--key-type", "static-key", "--aws-profile", "yc", "--rotate"],
        )
        .await;
    rotated.success();
    let snap = h.emu.snapshot();
    let keys = snap.access_keys_of(&sa.id);
    assert_eq!(keys.len(), 1, "the old key is deleted after the rotation");
    assert_ne!(keys[0].key_id, key_id);
}

#[tokio::test]
async fn each_kind_uses_its_own_entry_names_in_dotenv_and_lockbox() {
    let h = Harness::start().await;
    h.provision("sa-env", "env:s3.env", &["--key-type", "static-key"])
        .await
        .success();
    let text = std::fs::read_to_string(h.path("s3.env")).unwrap();
    let value = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("{name} in {text}"))
            .trim_matches('\'')
            .to_owned()
    };
    assert!(
        h.emu
            .accepts_access_key(&value("AWS_ACCESS_KEY_ID"), &value("AWS_SECRET_ACCESS_KEY"))
    );

    let stored = h
        .run(&[
            "provision",
            "--folder-id",
            FOLDER,
            "--name",
            "sa-env",
            "--key-type",
            "authorized-key",
            "--output",
            "lockbox://ci-key",
        ])
        .await;
    stored.success();
    let payload = h
        .run(&[
            "--format",
            "json",
            "lockbox",
            "payload",
            "get",
            "--name",
            "ci-key",
            "--folder-id",
            FOLDER,
            "--reveal",
        ])
        .await;
    payload.success();
    let doc: serde_json::Value = serde_json::from_str(&payload.stdout).unwrap();
    let entries = doc["entries"].as_array().expect("entries");
    let entry = |key: &str| {
        entries
            .iter()
            .find(|e| e["key"] == key)
            .and_then(|e| e["text_value"].as_str())
            .unwrap_or_else(|| panic!("entry {key} in {doc}"))
            .to_owned()
    };
    let key = AuthorizedKey::from_json(&entry("authorized-key")).expect("the entry is a key file");
    assert_eq!(key.id(), entry("authorized-key-id"));
    assert_eq!(entry("folder-id"), FOLDER);
}

#[tokio::test]
async fn inputs_of_another_kind_are_refused_before_anything_is_sent() {
    let h = Harness::start().await;
    for (args, shown) in [
        (
            &[
                "--key-type",
                "authorized-key",
                "--scope",
                "yc.ai.languageModels.execute",
            ][..],
            "--scope",
        ),
        (&["--key-type", "static-key", "--expires-in", "30d"][..], "--expires-at"),
        (
            &["--key-type", "api-key", "--key-algorithm", "rsa-4096"][..],
            "--key-algorithm",
        ),
        (
            &["--key-type", "authorized-key", "--aws-profile", "ci"][..],
            "--aws-profile",
        ),
        (&["--key-type", "secret-key"][..], "--key-type"),
    ] {
        let out = h.provision("sa-bad", "out.file", args).await;
        assert_eq!(out.code, Some(2), "{args:?}: {}", out.stderr);
        assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
        assert!(out.stderr.contains(shown), "{args:?}: {}", out.stderr);
    }
    assert!(h.emu.journal().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn the_key_and_access_key_groups_create_list_change_and_delete_in_yc_shapes() {
    let h = Harness::start().await;
    h.run(&["sa", "create", "--folder-id", FOLDER, "--name", "sa-groups"])
        .await
        .success();
    let owner = ["--folder-id", FOLDER, "--service-account-name", "sa-groups"];

    let made = h
        .run(
            &[
                &["--format", "json", "key", "create", "--output", "key.json"][..],
                &owner[..],
            ]
            .concat(),
        )
        .await;
    made.success();
    let shown: serde_json::Value = serde_json::from_str(&made.stdout).unwrap();
    assert!(
        shown.get("private_key").is_none(),
        "the private key goes to the file only"
    );
    let path = h.path("key.json");
    assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    let key = AuthorizedKey::from_file(&path).expect("a key file");
    let id = shown["id"].as_str().unwrap();
    assert_eq!(key.id(), id);
    let listed = h
        .run(&[&["--format", "json", "key", "list"][..], &owner[..]].concat())
        .await;
    listed.success();
    assert!(listed.stdout.contains(id) && !listed.stdout.contains("PRIVATE KEY"));
    h.run(&["key", "update", id, "--description", "ci"]).await.success();
    let got = h.run(&["--format", "json", "key", "get", id]).await;
    assert!(got.stdout.contains("\"description\": \"ci\""), "{}", got.stdout);
    h.run(&["key", "delete", id]).await.success();

    let made = h
        .run(
            &[
                &["--format", "json", "access-key", "create", "--description", "s3"][..],
                &owner[..],
            ]
            .concat(),
        )
        .await;
    made.success();
    let shown: serde_json::Value = serde_json::from_str(&made.stdout).unwrap();
    let (key_id, secret) = (
        shown["access_key"]["key_id"].as_str().unwrap(),
        shown["secret"].as_str().unwrap(),
    );
    assert!(h.emu.accepts_access_key(key_id, secret));
    let id = shown["access_key"]["id"].as_str().unwrap();
    let listed = h.run(&[&["access-key", "list"][..], &owner[..]].concat()).await;
    listed.success();
    assert!(listed.stdout.contains(key_id) && !listed.stdout.contains(secret));
    h.run(&["access-key", "update", id, "--description", "bucket"])
        .await
        .success();
    h.run(&["access-key", "delete", id]).await.success();
    assert!(!h.emu.accepts_access_key(key_id, secret));
}

#[tokio::test]
async fn the_emulator_state_file_holds_no_secret_of_any_key_kind_it_handed_out() {
    let dir = tempfile::tempdir().unwrap();
    let provision = |name: &'static str, kind: &'static str, output: &'static str| {
        let mut cmd = bare_command(dir.path());
        cmd.args(["--emulator-state", "state.json", "provision", "--folder-id", FOLDER])
            .args(["--name", name, "--key-type", kind, "--output", output]);
        run(cmd)
    };
    provision("sa-api", "api-key", "api.yaml").await.success();
    provision("sa-auth", "authorized-key", "key.json").await.success();
    provision("sa-s3", "static-key", "env:s3.env").await.success();
    let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
    let field = |name: &str, field: &str| {
        let document: serde_json::Value = serde_json::from_str(&read(name)).unwrap();
        document[field]
            .as_str()
            .unwrap_or_else(|| panic!("{field} in {name}"))
            .to_owned()
    };
    let s3 = read("s3.env");
    let static_secret = s3
        .lines()
        .find_map(|l| l.strip_prefix("AWS_SECRET_ACCESS_KEY="))
        .expect("the secret entry")
        .trim_matches('\'');
    let api_key = yc_iam::provision::StoredKey::read(&dir.path().join("api.yaml"))
        .unwrap()
        .expect("the key file");
    let api_secret = yc_iam::ExposeSecret::expose_secret(&api_key.secret).to_owned();
    let private_key = field("key.json", "private_key");
    let pem_body = private_key.lines().nth(2).expect("a line of the PEM body");
    let state = read("state.json");
    for (what, secret) in [
        ("API key secret", api_secret.as_str()),
        ("private key", pem_body),
        ("static key secret", static_secret),
        ("PEM header", "PRIVATE KEY"),
    ] {
        assert!(!state.contains(secret), "the state file holds the {what}");
    }
}
