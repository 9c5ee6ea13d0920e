//! Lockbox payloads: read by secret id or by folder and name, only by callers holding a reader
//! role on the secret, its folder or its cloud (or the emulator's own tokens); secret access
//! bindings managed on the secret; values never in the journal in clear; and kept in the state
//! file across a restart, except those of destroyed versions.

use tonic::Code;
use yc_iam::emulator::{DEFAULT_CLOUD_ID, DEFAULT_FOLDER_ID, Emulator};
use yc_iam::proto::yandex::cloud::access::{
    AccessBinding, AccessBindingDelta, ListAccessBindingsRequest, UpdateAccessBindingsMetadata,
    UpdateAccessBindingsRequest,
};
use yc_iam::proto::yandex::cloud::lockbox::v1::{
    ActivateSecretRequest, AddVersionRequest, CreateSecretRequest, DeactivateSecretRequest, FolderAndName,
    GetExRequest, GetPayloadRequest, PayloadEntryChange, ScheduleVersionDestructionRequest, get_ex_request, payload,
    payload_entry_change,
};

use super::support::{
    Auth, Clients, clients, clients_with, create_account, create_key, create_secret, response_of, text_entry, unpack,
    wait,
};

fn by_id(secret_id: &str) -> GetExRequest {
    GetExRequest {
        identifier: Some(get_ex_request::Identifier::SecretId(secret_id.into())),
        version_id: String::new(),
    }
}

fn by_name(folder_id: &str, name: &str) -> GetExRequest {
    GetExRequest {
        identifier: Some(get_ex_request::Identifier::FolderAndName(FolderAndName {
            folder_id: folder_id.into(),
            secret_name: name.into(),
        })),
        version_id: String::new(),
    }
}

fn binding(role: &str, service_account_id: &str) -> AccessBindingDelta {
    AccessBindingDelta::add(AccessBinding::service_account(role, service_account_id))
}

/// Grants `role` to the account on `resource` (a secret through the secret's own service, a
/// folder or cloud through theirs), as the emulator's administrator.
async fn grant(admin: &mut Clients, resource: &str, role: &str, service_account_id: &str) {
    let request = UpdateAccessBindingsRequest {
        resource_id: resource.into(),
        access_binding_deltas: vec![binding(role, service_account_id)],
    };
    let op = if resource.starts_with("e6q") {
        admin.secrets.update_access_bindings(request).await
    } else if resource == DEFAULT_CLOUD_ID {
        admin.clouds.update_access_bindings(request).await
    } else {
        admin.folders.update_access_bindings(request).await
    };
    wait(admin, op.expect("bind").into_inner()).await;
}

/// A new service account and clients that call as it (with an API key).
async fn account_clients(emu: &Emulator, admin: &mut Clients, name: &str) -> (String, Clients) {
    let account = create_account(admin, name).await;
    let key = create_key(admin, &account.id).await;
    (account.id, clients_with(emu, Auth::api_key(&key.secret)).await)
}

#[tokio::test]
async fn payload_is_read_by_secret_id_or_by_folder_and_name() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let binary = PayloadEntryChange {
        key: "blob".into(),
        value: Some(payload_entry_change::Value::BinaryValue(vec![0, 159, 255])),
    };
    let secret = create_secret(&mut c, "ai-key", vec![text_entry("api-key", "AQVNtext"), binary]).await;
    let version = secret.current_version.clone().expect("version");

    let got = c
        .payloads
        .get(GetPayloadRequest {
            secret_id: secret.id.clone(),
            version_id: String::new(),
        })
        .await
        .expect("get")
        .into_inner();
    assert_eq!(got.version_id, version.id);
    let values: Vec<_> = got.entries.iter().map(|e| (e.key.as_str(), e.value.clone())).collect();
    assert_eq!(
        values,
        [
            ("api-key", Some(payload::entry::Value::TextValue("AQVNtext".into()))),
            ("blob", Some(payload::entry::Value::BinaryValue(vec![0, 159, 255]))),
        ]
    );

    for request in [by_id(&secret.id), by_name(DEFAULT_FOLDER_ID, "ai-key")] {
        let ex = c.payloads.get_ex(request).await.expect("get_ex").into_inner();
        assert_eq!(ex.secret_id, secret.id);
        assert_eq!(ex.version_id, version.id);
        assert_eq!(ex.entries.get("api-key").map(Vec::as_slice), Some(&b"AQVNtext"[..]));
        assert_eq!(ex.entries.get("blob").map(Vec::as_slice), Some(&[0, 159, 255][..]));
    }

    let missing = c
        .payloads
        .get_ex(by_name(DEFAULT_FOLDER_ID, "no-such-name"))
        .await
        .expect_err("unknown name");
    assert_eq!(missing.code(), Code::NotFound);
    let neither = c
        .payloads
        .get_ex(GetExRequest::default())
        .await
        .expect_err("no identifier");
    assert_eq!(neither.code(), Code::InvalidArgument);
    let unknown_version = c
        .payloads
        .get(GetPayloadRequest {
            secret_id: secret.id.clone(),
            version_id: "e6qnosuchversion0001".into(),
        })
        .await
        .expect_err("unknown version");
    assert_eq!(unknown_version.code(), Code::NotFound);
}

#[tokio::test]
async fn a_service_account_without_a_reader_role_is_denied_and_learns_nothing() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut admin = clients(&emu).await;
    let secret = create_secret(&mut admin, "guarded", vec![text_entry("k", "v")]).await;
    let (account, mut outsider) = account_clients(&emu, &mut admin, "outsider").await;
    // Roles that do not include reading payloads.
    grant(&mut admin, &secret.id, "lockbox.viewer", &account).await;
    grant(&mut admin, DEFAULT_FOLDER_ID, "viewer", &account).await;

    let attempts = [
        outsider
            .payloads
            .get(GetPayloadRequest {
                secret_id: secret.id.clone(),
                version_id: String::new(),
            })
            .await
            .map(|_| ()),
        outsider.payloads.get_ex(by_id(&secret.id)).await.map(|_| ()),
        outsider
            .payloads
            .get_ex(by_name(DEFAULT_FOLDER_ID, "guarded"))
            .await
            .map(|_| ()),
        // Unknown secrets look the same as ones the caller may not read.
        outsider
            .payloads
            .get_ex(by_id("e6qnosuchsecret00001"))
            .await
            .map(|_| ()),
        outsider
            .payloads
            .get_ex(by_name(DEFAULT_FOLDER_ID, "no-such-name"))
            .await
            .map(|_| ()),
    ];
    for (i, attempt) in attempts.into_iter().enumerate() {
        assert_eq!(
            attempt.expect_err("denied").code(),
            Code::PermissionDenied,
            "attempt {i}"
        );
    }
}

#[tokio::test]
async fn each_reader_role_on_the_secret_its_folder_or_its_cloud_lets_a_service_account_read() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut admin = clients(&emu).await;
    let secret = create_secret(&mut admin, "shared", vec![text_entry("k", "v")]).await;
    let roles = [
        "lockbox.payloadViewer",
        "lockbox.editor",
        "lockbox.admin",
        "editor",
        "admin",
    ];
    let places = [secret.id.as_str(), DEFAULT_FOLDER_ID, DEFAULT_CLOUD_ID];
    for (r, role) in roles.iter().enumerate() {
        for (p, place) in places.iter().enumerate() {
            let (account, mut reader) = account_clients(&emu, &mut admin, &format!("reader-{r}-{p}")).await;
            let before = reader.payloads.get_ex(by_id(&secret.id)).await;
            assert_eq!(before.expect_err("not yet").code(), Code::PermissionDenied);
            grant(&mut admin, place, role, &account).await;
            let ex = reader
                .payloads
                .get_ex(by_id(&secret.id))
                .await
                .unwrap_or_else(|e| panic!("{role} on {place}: {e}"))
                .into_inner();
            assert_eq!(ex.entries.get("k").map(Vec::as_slice), Some(&b"v"[..]));
            // With the role on the folder or above, an unknown name is reported as such.
            let unknown = reader.payloads.get_ex(by_name(DEFAULT_FOLDER_ID, "nope")).await;
            let expected = if p == 0 { Code::PermissionDenied } else { Code::NotFound };
            assert_eq!(unknown.expect_err("unknown").code(), expected, "{role} on {place}");
        }
    }
}

#[tokio::test]
async fn secret_access_bindings_are_listed_and_updated_on_the_secret() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let secret = create_secret(&mut c, "bound", vec![text_entry("k", "v")]).await;
    let account = create_account(&mut c, "bound-reader").await;
    let request = UpdateAccessBindingsRequest {
        resource_id: secret.id.clone(),
        access_binding_deltas: vec![binding("lockbox.payloadViewer", &account.id)],
    };
    let op = c
        .secrets
        .update_access_bindings(request)
        .await
        .expect("update")
        .into_inner();
    let op = wait(&mut c, op).await;
    let metadata: UpdateAccessBindingsMetadata = unpack(
        op.metadata.as_ref().expect("metadata"),
        "yandex.cloud.access.UpdateAccessBindingsMetadata",
    );
    assert_eq!(metadata.resource_id, secret.id);
    assert_eq!(response_of(&op).type_url, "type.googleapis.com/google.protobuf.Empty");

    let listed = c
        .secrets
        .list_access_bindings(ListAccessBindingsRequest {
            resource_id: secret.id.clone(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    let roles: Vec<_> = listed.access_bindings.iter().map(|b| b.role_id.as_str()).collect();
    assert_eq!(roles, ["lockbox.payloadViewer"]);
    // The folder's bindings are not the secret's.
    let folder = c
        .folders
        .list_access_bindings(ListAccessBindingsRequest {
            resource_id: DEFAULT_FOLDER_ID.into(),
            ..Default::default()
        })
        .await
        .expect("folder")
        .into_inner();
    assert!(folder.access_bindings.is_empty());

    let unknown = c
        .secrets
        .list_access_bindings(ListAccessBindingsRequest {
            resource_id: "e6qnosuchsecret00001".into(),
            ..Default::default()
        })
        .await
        .expect_err("unknown secret");
    assert_eq!(unknown.code(), Code::NotFound);
}

#[tokio::test]
async fn a_deactivated_secret_keeps_its_payload_unreadable_until_activated() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let secret = create_secret(&mut c, "paused", vec![text_entry("k", "v")]).await;
    let op = c
        .secrets
        .deactivate(DeactivateSecretRequest {
            secret_id: secret.id.clone(),
        })
        .await
        .expect("deactivate")
        .into_inner();
    wait(&mut c, op).await;
    let err = c.payloads.get_ex(by_id(&secret.id)).await.expect_err("inactive");
    assert_eq!(err.code(), Code::FailedPrecondition);
    let op = c
        .secrets
        .activate(ActivateSecretRequest {
            secret_id: secret.id.clone(),
        })
        .await
        .expect("activate")
        .into_inner();
    wait(&mut c, op).await;
    let ex = c
        .payloads
        .get_ex(by_id(&secret.id))
        .await
        .expect("active again")
        .into_inner();
    assert_eq!(ex.entries.get("k").map(Vec::as_slice), Some(&b"v"[..]));
}

#[tokio::test]
async fn the_journal_never_holds_a_payload_value_in_clear() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let (first, second) = ("AQVNjournalfirst0001", "AQVNjournalsecond002");
    let blob = b"binary-journal-value".to_vec();
    let op = c
        .secrets
        .create(CreateSecretRequest {
            folder_id: DEFAULT_FOLDER_ID.into(),
            name: "journaled".into(),
            version_payload_entries: vec![text_entry("api-key", first)],
            ..Default::default()
        })
        .await
        .expect("create")
        .into_inner();
    let op = wait(&mut c, op).await;
    let secret: yc_iam::proto::yandex::cloud::lockbox::v1::Secret =
        unpack(response_of(&op), "yandex.cloud.lockbox.v1.Secret");
    let binary = PayloadEntryChange {
        key: "blob".into(),
        value: Some(payload_entry_change::Value::BinaryValue(blob.clone())),
    };
    let op = c
        .secrets
        .add_version(AddVersionRequest {
            secret_id: secret.id.clone(),
            payload_entries: vec![text_entry("api-key", second), binary],
            ..Default::default()
        })
        .await
        .expect("add")
        .into_inner();
    wait(&mut c, op).await;
    c.payloads.get_ex(by_id(&secret.id)).await.expect("read");

    let journal = emu.journal();
    let contains = |haystack: &[u8], needle: &[u8]| haystack.windows(needle.len()).any(|w| w == needle);
    for entry in &journal {
        for value in [first.as_bytes(), second.as_bytes(), blob.as_slice()] {
            assert!(!contains(&entry.request, value), "{} holds a value", entry.method);
        }
        let shown = format!("{entry:?}");
        assert!(!shown.contains(first) && !shown.contains(second), "{shown}");
    }
    let add = journal
        .iter()
        .find(|e| e.method.ends_with("/AddVersion"))
        .expect("AddVersion journaled");
    let masked: AddVersionRequest = add.decode().expect("still decodes");
    assert_eq!(masked.secret_id, secret.id);
    let keys: Vec<_> = masked.payload_entries.iter().map(|e| e.key.as_str()).collect();
    assert_eq!(
        keys,
        ["api-key", "blob"],
        "what was written stays visible, not the values"
    );
}

#[cfg(unix)]
#[tokio::test]
async fn payloads_survive_a_restart_in_a_private_state_file_but_destroyed_ones_do_not() {
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("state.json");
    let emu = Emulator::builder().with_state_file(&path).start().await.expect("start");
    let mut c = clients(&emu).await;
    let secret = create_secret(&mut c, "durable", vec![text_entry("api-key", "AQVNdestroyedvalue01")]).await;
    let old = secret.current_version.clone().expect("first");
    let op = c
        .secrets
        .add_version(AddVersionRequest {
            secret_id: secret.id.clone(),
            payload_entries: vec![text_entry("api-key", "AQVNkeptvalue0000002")],
            ..Default::default()
        })
        .await
        .expect("add")
        .into_inner();
    wait(&mut c, op).await;
    let op = c
        .secrets
        .schedule_version_destruction(ScheduleVersionDestructionRequest {
            secret_id: secret.id.clone(),
            version_id: old.id.clone(),
            pending_period: Some(prost_types::Duration { seconds: 0, nanos: 0 }),
        })
        .await
        .expect("schedule")
        .into_inner();
    wait(&mut c, op).await;
    drop(c);
    emu.shutdown().await;

    let mode = std::fs::metadata(&path).expect("state file").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let text = std::fs::read_to_string(&path).expect("read");
    assert!(text.contains("AQVNkeptvalue0000002"), "the live payload is saved");
    assert!(!text.contains("AQVNdestroyedvalue01"), "a destroyed payload is not");

    let emu = Emulator::builder()
        .with_state_file(&path)
        .start()
        .await
        .expect("restart");
    let mut c = clients(&emu).await;
    let ex = c
        .payloads
        .get_ex(by_name(DEFAULT_FOLDER_ID, "durable"))
        .await
        .expect("read after restart")
        .into_inner();
    assert_eq!(ex.secret_id, secret.id);
    assert_eq!(
        ex.entries.get("api-key").map(Vec::as_slice),
        Some(&b"AQVNkeptvalue0000002"[..])
    );
    // The name index is rebuilt too: the name is still taken.
    let duplicate = c
        .secrets
        .create(CreateSecretRequest {
            folder_id: DEFAULT_FOLDER_ID.into(),
            name: "durable".into(),
            ..Default::default()
        })
        .await
        .expect_err("name taken");
    assert_eq!(duplicate.code(), Code::AlreadyExists);
}
