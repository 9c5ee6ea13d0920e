//! The fleet manifest: the example parses to the accounts, roles and keys it declares, and every
//! broken manifest is refused with the file, line and column, and the path of the value at fault.

use std::path::Path;
use std::time::Duration;

use yc_iam::fleet::{KeyType, Manifest};
use yc_iam::provision::Grant;
use yc_iam::provision::SinkAddress;

fn parse(text: &str) -> Result<Manifest, yc_iam::fleet::ManifestError> {
    Manifest::parse(text, Path::new("fleet.yaml"), Path::new("/srv/fleet"))
}

#[test]
fn the_example_manifest_declares_its_accounts_roles_and_keys() {
    let manifest = Manifest::load(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples/fleet.yaml")
            .as_path(),
    )
    .unwrap();
    assert_eq!(manifest.name, "example");
    let names: Vec<_> = manifest.accounts.iter().map(|a| a.name.as_str()).collect();
    assert_eq!(names, ["sa-chat", "sa-ci"]);
    let chat = &manifest.accounts[0];
    assert_eq!(chat.folder_id, "b1gexample0000000000");
    assert_eq!(chat.labels["team"], "ai");
    let roles: Vec<_> = chat.roles.iter().map(|r| (r.role.as_str(), &r.resource)).collect();
    let folder = Grant::Folder("b1gexample0000000000".into());
    assert_eq!(roles, [("ai.languageModels.user", &folder), ("viewer", &folder)]);
    let key = &chat.keys[0];
    assert_eq!(key.kind, KeyType::ApiKey);
    assert_eq!(key.scopes, ["yc.ai.languageModels.execute"]);
    assert_eq!(key.expires_in, Some(Duration::from_secs(90 * 86_400)));
    assert_eq!(key.rotate_after, Some(Duration::from_secs(60 * 86_400)));
    assert_eq!(chat.keys[1].kind, KeyType::StaticKey);
    assert_eq!(
        chat.keys[1].output,
        SinkAddress::Env("/tmp/yc-iam-fleet-example/chat-s3.env".into())
    );
    assert_eq!(manifest.accounts[1].keys[0].kind, KeyType::AuthorizedKey);
}

#[test]
fn relative_sinks_are_relative_to_the_manifest_and_roles_default_to_the_account_folder() {
    let manifest = parse(
        "apiVersion: yc-iam/v1\nkind: Fleet\nmetadata: {name: f}\nservice_accounts:\n  - name: sa-a\n    folder_id: b1gown\n    roles: [viewer, {role: editor, cloud_id: b1gcloud}]\n    keys: [{type: api-key, output: secrets/a.yaml, scopes: [x.y]}, {type: static-key, output: 'lockbox://s3'}]\n",
    )
    .unwrap();
    let account = &manifest.accounts[0];
    assert_eq!(account.folder_id, "b1gown");
    let resources: Vec<_> = account.roles.iter().map(|r| &r.resource).collect();
    assert_eq!(
        resources,
        [&Grant::Cloud("b1gcloud".into()), &Grant::Folder("b1gown".into())]
    );
    assert_eq!(
        account.keys[0].output,
        SinkAddress::File("/srv/fleet/secrets/a.yaml".into())
    );
    assert_eq!(account.keys[1].output, SinkAddress::Lockbox("s3".into()));
}

const HEAD: &str = "apiVersion: yc-iam/v1\nkind: Fleet\nmetadata: { name: f }\ndefaults: { folder_id: b1gfolder }\n";

/// A manifest of HEAD and one account whose body is `account` (indented under `- `).
fn with_account(account: &str) -> String {
    format!("{HEAD}service_accounts:\n  - {}\n", account.replace('\n', "\n    "))
}

#[test]
fn broken_manifests_are_refused_with_file_line_column_and_path() {
    let sa = |body: &str| with_account(&format!("name: sa-a\n{body}"));
    let cases: Vec<(String, &str, &str)> = vec![
        // Shape: the YAML parser's own errors.
        (
            "apiVersion: yc-iam/v1\nkind: Fleet\nmetadata: {name: f}\nextra: 1\n".into(),
            "fleet.yaml:4:1: ",
            "unknown field `extra`",
        ),
        (
            "apiVersion: yc-iam/v1\nkind: Fleet\n".into(),
            "fleet.yaml:1:1: ",
            "missing field `metadata`",
        ),
        (
            "apiVersion: yc-iam/v1\nkind: Fleet\nmetadata: [f]\n".into(),
            "fleet.yaml:3:11: metadata: ",
            "expected a mapping with the fleet's name",
        ),
        (
            "apiVersion: yc-iam/v1\n\tkind: Fleet\n".into(),
            "fleet.yaml:2:1: ",
            "found a tab character that violates indentation",
        ),
        (
            with_account("name: sa-a\ncolour: red"),
            "fleet.yaml:7:5: service_accounts[0]: ",
            "unknown field `colour`",
        ),
        (
            with_account("description: no name"),
            "fleet.yaml:6:5: service_accounts[0]: ",
            "missing field `name`",
        ),
        (
            sa("roles: viewer"),
            "fleet.yaml:7:12: service_accounts[0].roles: ",
            "expected a sequence",
        ),
        (
            sa("roles: [{role: viewer, folder: b1g}]"),
            "fleet.yaml:7:28: service_accounts[0].roles[0]: ",
            "unknown field `folder`",
        ),
        (
            sa("keys: [{type: ssh-key, output: a}]"),
            "fleet.yaml:7:19: service_accounts[0].keys[0].type: ",
            "unknown variant `ssh-key`",
        ),
        (
            sa("keys: [{type: api-key}]"),
            "fleet.yaml:7:12: service_accounts[0].keys[0]: ",
            "missing field `output`",
        ),
        (
            sa("keys: [{type: api-key, output: a, ttl: 5d}]"),
            "fleet.yaml:7:39: service_accounts[0].keys[0]: ",
            "unknown field `ttl`",
        ),
        (
            sa("labels: [team]"),
            "fleet.yaml:7:13: service_accounts[0].labels: ",
            "expected a map",
        ),
        (
            sa("keys: [{type: authorized-key, output: a, algorithm: rsa-1024}]"),
            "fleet.yaml:7:57: service_accounts[0].keys[0].algorithm: ",
            "unknown variant `rsa-1024`",
        ),
        // Rules: checked on the values, located afterwards.
        (
            "apiVersion: yc-iam/v2\nkind: Fleet\nmetadata: {name: f}\n".into(),
            "fleet.yaml:1:13: apiVersion: ",
            "must be yc-iam/v1",
        ),
        (
            "apiVersion: yc-iam/v1\nkind: Fleets\nmetadata: {name: f}\n".into(),
            "fleet.yaml:2:7: kind: ",
            "must be Fleet",
        ),
        (
            "apiVersion: yc-iam/v1\nkind: Fleet\nmetadata: {name: AI Prod}\n".into(),
            "fleet.yaml:3:18: metadata.name: ",
            "a fleet name",
        ),
        (
            "apiVersion: yc-iam/v1\nkind: Fleet\nmetadata: {name: ''}\n".into(),
            "fleet.yaml:3:18: metadata.name: ",
            "must not be empty",
        ),
        (
            "apiVersion: yc-iam/v1\nkind: Fleet\nmetadata: {name: f}\ndefaults: {folder_id: b1g/x}\n".into(),
            "fleet.yaml:4:23: defaults.folder_id: ",
            "may contain only Latin letters",
        ),
        (
            "apiVersion: yc-iam/v1\nkind: Fleet\nmetadata: {name: f}\nservice_accounts:\n  - name: sa-a\n".into(),
            "fleet.yaml:5:5: service_accounts[0].folder_id: ",
            "no folder",
        ),
        (
            with_account("name: Sa_A"),
            "fleet.yaml:6:11: service_accounts[0].name: ",
            "must start with a lowercase Latin letter",
        ),
        (
            with_account("name: a"),
            "fleet.yaml:6:11: service_accounts[0].name: ",
            "2 to 63 characters",
        ),
        (
            format!("{HEAD}service_accounts:\n  - name: sa-a\n  - name: sa-b\n  - name: sa-a\n"),
            "fleet.yaml:8:11: service_accounts[2].name: ",
            "declared twice (also service_accounts[0])",
        ),
        (
            sa("folder_id: ''"),
            "fleet.yaml:7:16: service_accounts[0].folder_id: ",
            "must not be empty",
        ),
        (
            sa(&format!("description: {}", "x".repeat(257))),
            "fleet.yaml:7:18: service_accounts[0].description: ",
            "at most 256 characters",
        ),
        (
            sa("labels: {Team: ai}"),
            "fleet.yaml:7:13: service_accounts[0].labels: ",
            "must start with a lowercase Latin letter",
        ),
        (
            sa("labels: {fleet: other}"),
            "fleet.yaml:7:13: service_accounts[0].labels: ",
            "fleet is set by yc-iam",
        ),
        (
            sa("roles: [ai..user]"),
            "fleet.yaml:7:13: service_accounts[0].roles[0]: ",
            "empty segment",
        ),
        (
            sa("roles: [{role: viewer, folder_id: b1g, cloud_id: b1c}]"),
            "fleet.yaml:7:13: service_accounts[0].roles[0]: ",
            "not both",
        ),
        (
            sa("roles: [{role: 'view er'}]"),
            "fleet.yaml:7:20: service_accounts[0].roles[0].role: ",
            "may contain only",
        ),
        (
            sa("roles: [viewer, {role: viewer, folder_id: b1gfolder}]"),
            "fleet.yaml:7:21: service_accounts[0].roles[1]: ",
            "listed twice",
        ),
        (
            sa("roles: [{role: viewer, cloud_id: 'b1 c'}]"),
            "fleet.yaml:7:38: service_accounts[0].roles[0].cloud_id: ",
            "may contain only",
        ),
        (
            sa("keys: [{type: static-key, output: a, scopes: [x.y]}]"),
            "fleet.yaml:7:50: service_accounts[0].keys[0].scopes: ",
            "applies only to API keys",
        ),
        (
            sa("keys: [{type: authorized-key, output: a, expires_in: 5d}]"),
            "fleet.yaml:7:58: service_accounts[0].keys[0].expires_in: ",
            "applies only to API keys",
        ),
        (
            sa("keys: [{type: api-key, output: a, algorithm: rsa-4096}]"),
            "fleet.yaml:7:50: service_accounts[0].keys[0].algorithm: ",
            "applies only to authorized keys",
        ),
        (
            sa("keys: [{type: api-key, output: a, scopes: [x.y, x.y]}]"),
            "fleet.yaml:7:47: service_accounts[0].keys[0].scopes: ",
            "given twice",
        ),
        (
            sa("keys: [{type: api-key, output: a}]"),
            "fleet.yaml:7:12: service_accounts[0].keys[0].scopes: ",
            "an API key needs at least one scope",
        ),
        (
            sa("keys: [{type: api-key, output: a, expires_in: 90}]"),
            "fleet.yaml:7:51: service_accounts[0].keys[0].expires_in: ",
            "a unit is missing after 90",
        ),
        (
            sa("keys: [{type: api-key, output: a, rotate_after: 0s}]"),
            "fleet.yaml:7:53: service_accounts[0].keys[0].rotate_after: ",
            "longer than zero",
        ),
        (
            sa("keys: [{type: api-key, output: a, expires_in: 30d, rotate_after: 60d}]"),
            "fleet.yaml:7:70: service_accounts[0].keys[0].rotate_after: ",
            "shorter than expires_in",
        ),
        (
            sa("keys: [{type: api-key, output: '-', scopes: [x.y]}]"),
            "fleet.yaml:7:36: service_accounts[0].keys[0].output: ",
            "a sink that keeps it",
        ),
        (
            sa("keys: [{type: api-key, output: 'env:', scopes: [x.y]}]"),
            "fleet.yaml:7:36: service_accounts[0].keys[0].output: ",
            "env: needs a file path",
        ),
        (
            sa("keys: [{type: api-key, output: 'lockbox:s', scopes: [x.y]}]"),
            "fleet.yaml:7:36: service_accounts[0].keys[0].output: ",
            "lockbox://NAME",
        ),
        (
            sa("keys: [{type: static-key, output: a.yaml}, {type: static-key, output: ./x/../a.yaml}]"),
            "fleet.yaml:7:75: service_accounts[0].keys[1].output: ",
            "already keeps the key of service_accounts[0].keys[0]",
        ),
        (
            format!(
                "{HEAD}service_accounts:\n  - {{name: sa-a, keys: [{{type: api-key, output: 'lockbox://k', scopes: [x.y]}}]}}\n  - {{name: sa-b, keys: [{{type: static-key, output: 'lockbox://k'}}]}}\n"
            ),
            "fleet.yaml:7:52: service_accounts[1].keys[0].output: ",
            "already keeps the key of service_accounts[0].keys[0]",
        ),
        (
            sa("keys: [{type: api-key, output: a, scopes: [x.y], expires_in: 30000d}]"),
            "fleet.yaml:7:66: service_accounts[0].keys[0].expires_in: ",
            "30000d would make the key expire at 21",
        ),
        (
            sa("keys: [{type: static-key, output: 'lockbox://chat key'}]"),
            "fleet.yaml:7:39: service_accounts[0].keys[0].output: ",
            "\"lockbox://chat key\" a Lockbox secret name is 1-100 letters",
        ),
        (
            sa("keys: [{type: static-key, output: 'env:secrets/'}]"),
            "fleet.yaml:7:39: service_accounts[0].keys[0].output: ",
            "\"env:secrets/\" must name a file",
        ),
        (
            sa("keys: [{type: static-key, output: 'k8s:..'}]"),
            "fleet.yaml:7:39: service_accounts[0].keys[0].output: ",
            "\"k8s:..\" must name a file",
        ),
        (
            sa("keys: [{type: static-key, output: a, description: \"tab\\there\"}]"),
            "fleet.yaml:7:55: service_accounts[0].keys[0].description: ",
            "control characters",
        ),
    ];
    assert!(cases.len() >= 30, "{} cases", cases.len());
    let mut wrong = Vec::new();
    for (text, prefix, message) in cases {
        let error = parse(&text).expect_err(&text).to_string();
        if !error.starts_with(prefix) || !error.contains(message) || error.contains('\n') {
            wrong.push(format!("{error}\n  expected one line {prefix}…{message}…\n{text}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_schema_admits_the_fields_the_manifest_reads_and_no_others() {
    let schema = yc_iam::fleet::schema();
    let top = &schema["properties"];
    let names = |object: &serde_json::Value| {
        let mut names: Vec<String> = object.as_object().unwrap().keys().cloned().collect();
        names.sort();
        names
    };
    assert_eq!(
        names(top),
        ["apiVersion", "defaults", "kind", "metadata", "service_accounts"]
    );
    let account = &top["service_accounts"]["items"];
    assert_eq!(account["additionalProperties"], false);
    assert_eq!(
        names(&account["properties"]),
        ["description", "folder_id", "keys", "labels", "name", "roles"]
    );
    let key = &account["properties"]["keys"]["items"];
    assert_eq!(
        names(&key["properties"]),
        [
            "algorithm",
            "description",
            "expires_in",
            "output",
            "rotate_after",
            "scopes",
            "type"
        ]
    );
    // Every property the schema names is one the parser takes: a manifest setting them all parses.
    parse(&with_account(
        "name: sa-a\nfolder_id: b1gfolder\ndescription: d\nlabels: {team: ai}\nroles: [{role: viewer, folder_id: b1gfolder}]\nkeys:\n  - {type: api-key, output: a, scopes: [x.y], expires_in: 9d, rotate_after: 8d, description: d}\n  - {type: authorized-key, output: b, algorithm: rsa-4096}",
    ))
    .unwrap();
}

#[cfg(unix)]
#[test]
fn two_spellings_of_one_file_through_a_link_or_dots_are_one_sink() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("real")).unwrap();
    std::os::unix::fs::symlink(dir.path().join("real"), dir.path().join("link")).unwrap();
    for (first, second) in [
        ("real/a.env", "link/a.env"),
        ("new/a.env", "new/../new/./a.env"),
        ("link/new/a.env", "real/new/a.env"),
    ] {
        let text = with_account(&format!(
            "name: sa-a\nkeys: [{{type: static-key, output: 'env:{first}'}}, {{type: static-key, output: 'env:{second}'}}]"
        ));
        let error = Manifest::parse(&text, Path::new("fleet.yaml"), dir.path())
            .expect_err(second)
            .to_string();
        assert!(
            error.starts_with("fleet.yaml:7:")
                && error.contains("service_accounts[0].keys[1].output: ")
                && error.contains("already keeps the key of service_accounts[0].keys[0]"),
            "{error}"
        );
    }
}
