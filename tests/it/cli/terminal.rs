//! Server text never drives the terminal: control characters in a server-provided string (here
//! a service account's description) show as `\u{…}` escapes in text output, in fields and in
//! tables, and stay escaped by the YAML and JSON encoders, which read back to the original.

use yc_iam::emulator::DEFAULT_IAM_TOKEN;
use yc_iam::{CreateServiceAccount, Credentials};

use super::{FOLDER, Harness};
use crate::common::client_with;

/// Sets the terminal's title, rings the bell and clears the screen; then a C1 CSI, DEL and a
/// line break that would forge an output line.
const HOSTILE: &str = "\x1b]0;owned\x07\x1b[2J\u{9b}31m\x7fstatus: DELETED\nforged: yes\tx";

/// No character a terminal acts on, other than the line breaks of the layout.
fn assert_inert(output: &str, what: &str) {
    let raw: Vec<char> = output.chars().filter(|c| c.is_control() && *c != '\n').collect();
    assert!(raw.is_empty(), "{what} has raw control characters {raw:?}:\n{output}");
}

async fn hostile_account(h: &Harness) -> String {
    let client = client_with(&h.emu, Credentials::iam_token(DEFAULT_IAM_TOKEN));
    let op = client
        .service_accounts()
        .create(CreateServiceAccount::new(FOLDER, "sa-hostile").description(HOSTILE))
        .await
        .expect("create");
    op.wait().await.expect("created").id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_output_escapes_control_characters_of_server_strings() {
    let h = Harness::start().await;
    let id = hostile_account(&h).await;
    let escaped = r"\u{1b}]0;owned\u{7}\u{1b}[2J\u{9b}31m\u{7f}status: DELETED\u{a}forged: yes\u{9}x";

    let got = h.run(&["sa", "get", &id]).await;
    let got = &got.success().stdout;
    assert_inert(got, "sa get");
    let line = got
        .lines()
        .find(|l| l.starts_with("description:"))
        .expect("description line");
    assert!(line.ends_with(escaped), "{line}");
    assert!(!got.lines().any(|l| l.starts_with("forged:")), "no forged line:\n{got}");

    let listed = h.run(&["sa", "list", "--folder-id", FOLDER]).await;
    assert_inert(&listed.success().stdout, "sa list");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn yaml_and_json_output_escape_control_characters_and_read_back_unchanged() {
    let h = Harness::start().await;
    let id = hostile_account(&h).await;

    let yaml = h.run(&["sa", "get", &id, "--format", "yaml"]).await;
    let yaml = &yaml.success().stdout;
    assert_inert(yaml, "yaml");
    let doc: serde_norway::Value = serde_norway::from_str(yaml).expect("yaml parses");
    assert_eq!(doc["description"].as_str(), Some(HOSTILE));

    let json = h.run(&["sa", "get", &id, "--format", "json"]).await;
    let json = &json.success().stdout;
    assert_inert(json, "json");
    let doc: serde_json::Value = serde_json::from_str(json).expect("json parses");
    assert_eq!(doc["description"].as_str(), Some(HOSTILE));
}
