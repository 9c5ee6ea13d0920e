//! `provision --output` into each sink through the built binary: the report says where the key
//! went, the dotenv file and the Kubernetes manifest are private and hold the live key, and a
//! second run is up to date and keeps it.

use std::os::unix::fs::PermissionsExt;

use super::{FOLDER, Harness};

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The one live key of the account `name`.
fn live_key(h: &Harness, name: &str) -> String {
    let snap = h.emu.snapshot();
    let sa = snap.service_account_named(name).expect("the account exists");
    let live = snap.live_keys_of(&sa.id);
    assert_eq!(live.len(), 1, "exactly one live key: {live:?}");
    live[0].id.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provision_into_a_dotenv_file_writes_the_three_variables_and_a_rerun_keeps_the_key() {
    let h = Harness::start().await;
    let r = h.provision("sa-env", "env:app.env", &[]).await;
    r.success();
    assert!(r.stdout.contains("written to env:app.env"), "{}", r.stdout);
    let key = live_key(&h, "sa-env");
    let text = std::fs::read_to_string(h.path("app.env")).unwrap();
    assert!(text.contains(&format!("YC_API_KEY_ID={key}\n")), "{text}");
    assert!(text.contains(&format!("YC_FOLDER_ID={FOLDER}\n")), "{text}");
    let secret = text
        .lines()
        .find_map(|l| l.strip_prefix("YC_API_KEY="))
        .expect("the secret is there");
    assert!(!r.stdout.contains(secret) && !r.stderr.contains(secret));
    assert_eq!(mode(&h.path("app.env")), 0o600);

    let again = h.provision("sa-env", "env:app.env", &[]).await;
    again.success();
    assert!(again.stdout.starts_with("Up to date"), "{}", again.stdout);
    assert_eq!(live_key(&h, "sa-env"), key);
    assert_eq!(std::fs::read_to_string(h.path("app.env")).unwrap(), text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provision_into_a_kubernetes_manifest_names_the_secret_and_a_rerun_keeps_the_key() {
    let h = Harness::start().await;
    let args = ["--k8s-secret-name", "ai-studio", "--entry", "api-key=API_KEY"];
    h.provision("sa-k8s", "k8s:secret.yaml", &args).await.success();
    let key = live_key(&h, "sa-k8s");
    let text = std::fs::read_to_string(h.path("secret.yaml")).unwrap();
    let doc: serde_norway::Value = serde_norway::from_str(&text).unwrap();
    assert_eq!(doc["kind"].as_str(), Some("Secret"));
    assert_eq!(doc["type"].as_str(), Some("Opaque"));
    assert_eq!(doc["metadata"]["name"].as_str(), Some("ai-studio"));
    assert_eq!(doc["stringData"]["YC_API_KEY_ID"].as_str(), Some(key.as_str()));
    assert!(
        doc["stringData"]["API_KEY"]
            .as_str()
            .is_some_and(|s| s.starts_with("AQVN"))
    );
    assert_eq!(mode(&h.path("secret.yaml")), 0o600);

    let again = h.provision("sa-k8s", "k8s:secret.yaml", &args).await;
    again.success();
    assert!(again.stdout.starts_with("Up to date"), "{}", again.stdout);
    assert_eq!(live_key(&h, "sa-k8s"), key);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn provision_into_lockbox_says_where_the_key_went_and_payload_get_shows_it_only_with_reveal() {
    let h = Harness::start().await;
    let r = h.provision("sa-api", "lockbox://ai-key", &[]).await;
    r.success();
    assert!(r.stdout.contains("created, stored in lockbox://ai-key"), "{}", r.stdout);
    assert!(r.stdout.contains("lockbox secret"), "{}", r.stdout);
    let key = live_key(&h, "sa-api");

    let payload = ["lockbox", "payload", "get", "--folder-id", FOLDER, "--name", "ai-key"];
    let masked = h.run(&payload).await;
    masked.success();
    let revealed = h.run(&[&payload[..], &["--reveal", "--format", "json"]].concat()).await;
    revealed.success();
    let doc: serde_json::Value = serde_json::from_str(&revealed.stdout).expect("JSON");
    let entry = |name: &str| {
        doc["entries"]
            .as_array()
            .and_then(|e| e.iter().find(|e| e["key"] == name))
            .and_then(|e| e["text_value"].as_str())
            .map(str::to_owned)
    };
    let secret = entry("api-key").expect("the api-key entry");
    assert!(secret.starts_with("AQVN"), "{secret}");
    assert_eq!(entry("api-key-id").as_deref(), Some(key.as_str()));
    assert_eq!(entry("folder-id").as_deref(), Some(FOLDER));
    assert!(
        masked.stdout.contains("api-key") && masked.stdout.contains("***"),
        "{}",
        masked.stdout
    );
    assert!(
        !masked.stdout.contains(&secret) && !masked.stdout.contains(&key),
        "{}",
        masked.stdout
    );
    assert!(!r.stdout.contains(&secret) && !r.stderr.contains(&secret));
    let one = h
        .run(&[&payload[..], &["--key", "api-key-id", "--reveal"]].concat())
        .await;
    assert_eq!(one.success().stdout, format!("{key}\n"));

    let listed = h.run(&["lockbox", "secret", "list", "--folder-id", FOLDER]).await;
    assert!(listed.success().stdout.contains("ai-key"), "{}", listed.stdout);
    let got = h
        .run(&[
            "lockbox",
            "secret",
            "get",
            "--folder-id",
            FOLDER,
            "--name",
            "ai-key",
            "--format",
            "json",
        ])
        .await;
    let secret_doc: serde_json::Value = serde_json::from_str(&got.success().stdout).expect("JSON");
    assert_eq!(secret_doc["labels"]["managed-by"], "yc-iam");
    assert_eq!(secret_doc["status"], "ACTIVE");

    let again = h.provision("sa-api", "lockbox://ai-key", &[]).await;
    assert!(again.success().stdout.starts_with("Up to date"), "{}", again.stdout);
    assert_eq!(live_key(&h, "sa-api"), key);

    let rotated = h.provision("sa-api", "lockbox://ai-key", &["--rotate"]).await;
    rotated.success();
    assert!(
        rotated.stdout.contains("scheduled for destruction"),
        "{}",
        rotated.stdout
    );
    let new = live_key(&h, "sa-api");
    assert_ne!(new, key);
    let one = h
        .run(&[&payload[..], &["--key", "api-key-id", "--reveal"]].concat())
        .await;
    assert_eq!(one.success().stdout, format!("{new}\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_into_lockbox_names_the_secret_it_would_create_and_sends_no_change() {
    let h = Harness::start().await;
    let r = h.provision("sa-dry", "lockbox://ai-key", &["--dry-run"]).await;
    r.success();
    assert!(r.stdout.contains("ai-key: will be created"), "{}", r.stdout);
    let snap = h.emu.snapshot();
    assert!(snap.service_account_named("sa-dry").is_none());
    let listed = h
        .run(&["lockbox", "secret", "list", "--folder-id", FOLDER, "--format", "json"])
        .await;
    assert_eq!(listed.success().stdout.trim(), "[]");
}

/// The arguments of the `yc-iam …` command a report prints for reading the secret back.
fn hinted_command(stdout: &str) -> Vec<String> {
    let start = stdout.find("(yc-iam ").expect("a command to read the secret") + "(yc-iam ".len();
    let end = start + stdout[start..].find(')').expect("the command's end");
    stdout[start..end].split_whitespace().map(str::to_owned).collect()
}

/// Runs the hinted command with `--key api-key-id` and returns what it prints.
async fn held_by_hint(h: &Harness, stdout: &str) -> String {
    let mut args = hinted_command(stdout);
    args.extend(["--key".to_owned(), "api-key-id".to_owned()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    h.run(&args).await.success().stdout.trim().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_names_a_secret_as_it_was_given_and_its_hint_reads_the_key_back() {
    let h = Harness::start().await;
    // By name, in another folder: the hint names the folder.
    let extra = ["--lockbox-folder-id", super::OTHER_FOLDER];
    let by_name = h.provision("sa-by-name", "lockbox://ai-key", &extra).await;
    by_name.success();
    let args = hinted_command(&by_name.stdout);
    assert!(
        args.windows(2).any(|w| w == ["--folder-id", super::OTHER_FOLDER]),
        "{args:?}"
    );
    assert_eq!(held_by_hint(&h, &by_name.stdout).await, live_key(&h, "sa-by-name"));
    let json = h
        .provision(
            "sa-by-name",
            "lockbox://ai-key",
            &[&extra[..], &["--format", "json"]].concat(),
        )
        .await;
    let doc: serde_json::Value = serde_json::from_str(&json.success().stdout).expect("JSON");
    let secret_id = doc["lockbox"]["secret_id"]
        .as_str()
        .expect("the secret's id")
        .to_owned();
    assert!(secret_id.starts_with("e6q"), "{doc}");
    assert_eq!(doc["lockbox"]["secret_name"], "ai-key");
    assert_eq!(doc["lockbox"]["folder_id"], super::OTHER_FOLDER);

    // By id: the hint and the JSON give the id as an id, never as a name.
    let output = format!("lockbox://{secret_id}");
    let by_id = h.provision("sa-by-id", &output, &[]).await;
    by_id.success();
    let args = hinted_command(&by_id.stdout);
    assert!(args.windows(2).any(|w| w == ["--id", secret_id.as_str()]), "{args:?}");
    assert!(!args.iter().any(|a| a == "--name"), "{args:?}");
    assert_eq!(held_by_hint(&h, &by_id.stdout).await, live_key(&h, "sa-by-id"));
    let json = h.provision("sa-by-id", &output, &["--format", "json"]).await;
    let doc: serde_json::Value = serde_json::from_str(&json.success().stdout).expect("JSON");
    assert_eq!(doc["lockbox"]["secret_id"], secret_id.as_str());
    assert_ne!(doc["lockbox"]["secret_name"], secret_id.as_str(), "{doc}");
}
