//! Provisioning into each sink through the library: a dotenv file and a Kubernetes manifest hold
//! the key's three entries (parsed back as a dotenv loader and a YAML reader see them), are
//! private, keep what else they held, and a second run keeps the key they hold; `--rotate`
//! replaces it and deletes the old key.

use std::path::Path;

use yc_iam::emulator::{DEFAULT_FOLDER_ID, DEFAULT_IAM_TOKEN, Emulator};
use yc_iam::provision::{EntryNames, KeyAction, KeyReason, KeySink, Provision, Report};
use yc_iam::{Client, Credentials};

async fn start() -> (Emulator, Client, tempfile::TempDir) {
    let emu = Emulator::builder().start().await.expect("the emulator starts");
    let client = Client::builder()
        .with_endpoint(emu.endpoint())
        .with_credentials(Credentials::iam_token(DEFAULT_IAM_TOKEN))
        .build()
        .expect("client");
    (emu, client, tempfile::tempdir().expect("temp dir"))
}

/// Reads a dotenv file the way python-dotenv does for the lines this tool writes and keeps:
/// `NAME=value`, `NAME='value'`, comments and blank lines.
fn dotenv(path: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(path)
        .expect("the dotenv file exists")
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .map(|l| {
            let (name, value) = l.split_once('=').expect("NAME=value");
            let value = value.trim_matches('\'');
            (name.to_owned(), value.to_owned())
        })
        .collect()
}

fn get<'a>(entries: &'a [(String, String)], name: &str) -> Option<&'a str> {
    entries.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).expect("metadata").permissions().mode() & 0o777
}

fn created_key(report: &Report) -> String {
    match &report.key {
        Some(KeyAction::Created { key, .. }) => key.id.clone(),
        other => panic!("a key was created: {other:?}"),
    }
}

/// The emulator accepts `secret` as an API key of `account`.
async fn authenticates(emu: &Emulator, secret: &str, account: &str) {
    let client = Client::builder()
        .with_endpoint(emu.endpoint())
        .with_credentials(Credentials::api_key(secret))
        .build()
        .expect("client");
    let sa = client
        .service_accounts()
        .get(account)
        .await
        .expect("the secret is accepted");
    assert_eq!(sa.id, account);
}

#[tokio::test]
async fn a_dotenv_file_holds_the_three_entries_privately_and_a_second_run_keeps_the_key() {
    let (emu, client, dir) = start().await;
    let path = dir.path().join(".env");
    std::fs::write(&path, "# the app's settings\nDEBUG=1\n").expect("write");
    let p = Provision::new(DEFAULT_FOLDER_ID, "sa-env").output(KeySink::env(&path));
    let first = p.run(&client).await.expect("first run");
    let id = created_key(&first);
    assert!(matches!(
        first.key,
        Some(KeyAction::Created {
            reason: KeyReason::SinkEmpty,
            ..
        })
    ));

    let entries = dotenv(&path);
    assert_eq!(get(&entries, "DEBUG"), Some("1"), "other lines are kept");
    assert_eq!(get(&entries, "YC_API_KEY_ID"), Some(id.as_str()));
    assert_eq!(get(&entries, "YC_FOLDER_ID"), Some(DEFAULT_FOLDER_ID));
    let secret = get(&entries, "YC_API_KEY").expect("the secret is there").to_owned();
    assert!(secret.starts_with("AQVN"), "an API-key secret");
    #[cfg(unix)]
    assert_eq!(mode(&path), 0o600);
    authenticates(&emu, &secret, &first.service_account.id).await;

    let second = p.run(&client).await.expect("second run");
    assert!(!second.changed(), "{second:?}");
    assert!(matches!(&second.key, Some(KeyAction::Kept { key }) if key.id == id));
    assert_eq!(dotenv(&path), entries, "the file is unchanged");

    let rotated = p.clone().rotate(true).run(&client).await.expect("rotation");
    let new_id = created_key(&rotated);
    assert_ne!(new_id, id);
    assert_eq!(rotated.keys_deleted, vec![id]);
    assert_eq!(get(&dotenv(&path), "YC_API_KEY_ID"), Some(new_id.as_str()));
    let account = &rotated.service_account.id;
    let live: Vec<String> = emu
        .snapshot()
        .live_keys_of(account)
        .iter()
        .map(|k| k.id.clone())
        .collect();
    assert_eq!(live, vec![new_id]);
}

#[tokio::test]
async fn a_kubernetes_manifest_is_an_opaque_secret_with_the_entries_and_a_second_run_keeps_the_key() {
    let (emu, client, dir) = start().await;
    let path = dir.path().join("secret.yaml");
    let sink = KeySink::K8s {
        path: path.clone(),
        secret_name: None,
        entries: EntryNames {
            api_key: "API_KEY".into(),
            ..EntryNames::env()
        },
    };
    let p = Provision::new(DEFAULT_FOLDER_ID, "sa-k8s").output(sink);
    let first = p.run(&client).await.expect("first run");
    let id = created_key(&first);

    let text = std::fs::read_to_string(&path).expect("the manifest exists");
    let doc: serde_norway::Value = serde_norway::from_str(&text).expect("YAML");
    assert_eq!(doc["apiVersion"].as_str(), Some("v1"));
    assert_eq!(doc["kind"].as_str(), Some("Secret"));
    assert_eq!(doc["type"].as_str(), Some("Opaque"));
    assert_eq!(doc["metadata"]["name"].as_str(), Some("sa-k8s"));
    assert_eq!(
        doc["metadata"]["labels"]["app.kubernetes.io/managed-by"].as_str(),
        Some("yc-iam")
    );
    assert_eq!(doc["stringData"]["YC_API_KEY_ID"].as_str(), Some(id.as_str()));
    assert_eq!(doc["stringData"]["YC_FOLDER_ID"].as_str(), Some(DEFAULT_FOLDER_ID));
    let secret = doc["stringData"]["API_KEY"]
        .as_str()
        .expect("the renamed entry")
        .to_owned();
    assert!(doc["stringData"].get("YC_API_KEY").is_none());
    #[cfg(unix)]
    assert_eq!(mode(&path), 0o600);
    authenticates(&emu, &secret, &first.service_account.id).await;

    let second = p.run(&client).await.expect("second run");
    assert!(!second.changed(), "{second:?}");
    assert_eq!(std::fs::read_to_string(&path).expect("manifest"), text);
}

#[tokio::test]
async fn a_file_in_another_format_is_left_alone_and_refused_before_anything_is_sent() {
    let (emu, client, dir) = start().await;
    let path = dir.path().join("deploy.yaml");
    std::fs::write(&path, "kind: Deployment\napiVersion: apps/v1\n").expect("write");
    let err = Provision::new(DEFAULT_FOLDER_ID, "sa-other")
        .output(KeySink::k8s(&path))
        .run(&client)
        .await
        .unwrap_err();
    assert!(err.is_invalid_input(), "{err}");
    assert!(err.to_string().contains("not a Kubernetes v1 Secret manifest"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&path).expect("read"),
        "kind: Deployment\napiVersion: apps/v1\n"
    );
    assert!(emu.snapshot().service_account_named("sa-other").is_none());
}
