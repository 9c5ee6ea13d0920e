//! What the suites read back alike: the key a run made, a dotenv file as a loader reads it, a
//! Lockbox payload, and whether a secret authenticates.

use std::collections::BTreeMap;
use std::path::Path;

use yc_iam::emulator::Emulator;
use yc_iam::provision::{KeyAction, Report};
use yc_iam::{Client, Credentials, SecretRef};

/// The key a run created, and its service account.
pub(crate) fn created(report: &Report) -> (String, String) {
    match &report.key {
        Some(KeyAction::Created { key, .. }) => (key.id.clone(), report.service_account.id.clone()),
        other => panic!("a key was created: {other:?}"),
    }
}

/// Reads a dotenv file the way python-dotenv does for the lines this tool writes and keeps:
/// `NAME=value`, `NAME='value'`, comments and blank lines. The entries in file order: a later
/// line wins ([`get`]).
pub(crate) fn dotenv(path: &Path) -> Vec<(String, String)> {
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

/// The value a dotenv loader gives `name`: the last line that sets it.
pub(crate) fn get<'a>(entries: &'a [(String, String)], name: &str) -> Option<&'a str> {
    entries.iter().rev().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

/// The current version of a Lockbox secret and its entries as text, read as the emulator's
/// administrator.
pub(crate) async fn payload(client: &Client, secret: SecretRef) -> (String, BTreeMap<String, String>) {
    let payload = client
        .lockbox()
        .payload_ex(secret, None)
        .await
        .expect("the payload is readable");
    let entries = payload
        .entries
        .iter()
        .map(|(k, v)| (k.clone(), String::from_utf8(v.clone()).expect("text")))
        .collect();
    (payload.version_id.clone(), entries)
}

/// The emulator accepts `secret` as an API key of `account`.
pub(crate) async fn authenticates(emu: &Emulator, secret: &str, account: &str) {
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

/// A client of the emulator with `credentials`, default policies otherwise.
pub(crate) fn client_with(emu: &Emulator, credentials: Credentials) -> Client {
    Client::builder()
        .with_endpoint(emu.endpoint())
        .with_credentials(credentials)
        .build()
        .expect("the client builds")
}
