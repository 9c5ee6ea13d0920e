//! Lockbox secrets: creation with a first version, names unique within a folder, listing in
//! pages, updates, deletion protection, activation, the operations' metadata and response types,
//! the rules on entries, generated secrets, and discovery of the two Lockbox endpoints.

use tonic::Code;
use yc_iam::emulator::{DEFAULT_FOLDER_ID, Emulator};
use yc_iam::proto::yandex::cloud::endpoint::ListApiEndpointsRequest;
use yc_iam::proto::yandex::cloud::lockbox::v1::{
    ActivateSecretRequest, AddVersionRequest, CreateSecretMetadata, CreateSecretRequest, DeactivateSecretRequest,
    DeleteSecretMetadata, DeleteSecretRequest, GetExRequest, GetSecretRequest, ListSecretOperationsRequest,
    ListSecretsRequest, PasswordPayloadSpecification, PayloadEntryChange, Secret, UpdateSecretMetadata,
    UpdateSecretRequest, create_secret_request, get_ex_request, payload_entry_change, secret, version,
};
use yc_iam::proto::yandex::cloud::operation::Operation;

use super::support::{
    Clients, bad_field, clients, create_secret, response_of, text_entry, unpack, wait, with_idempotency_key,
};

fn create(name: &str, entries: Vec<PayloadEntryChange>) -> CreateSecretRequest {
    CreateSecretRequest {
        folder_id: DEFAULT_FOLDER_ID.into(),
        name: name.into(),
        version_payload_entries: entries,
        ..Default::default()
    }
}

async fn get(c: &mut Clients, id: &str) -> Result<Secret, tonic::Status> {
    c.secrets
        .get(GetSecretRequest { secret_id: id.into() })
        .await
        .map(tonic::Response::into_inner)
}

fn update(id: &str, paths: &[&str]) -> UpdateSecretRequest {
    UpdateSecretRequest {
        secret_id: id.into(),
        update_mask: Some(prost_types::FieldMask {
            paths: paths.iter().map(|p| (*p).to_owned()).collect(),
        }),
        ..Default::default()
    }
}

async fn done(c: &mut Clients, op: Result<tonic::Response<Operation>, tonic::Status>) -> Operation {
    let op = op.expect("accepted").into_inner();
    wait(c, op).await
}

#[tokio::test]
async fn create_answers_with_an_operation_carrying_the_secret_and_its_first_version() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let entries = vec![
        text_entry("api-key", "AQVNvalue"),
        text_entry("folder-id", DEFAULT_FOLDER_ID),
    ];
    let mut request = create("ai-key", entries);
    request.labels.insert("managed-by".into(), "yc-iam".into());
    request.version_description = "first".into();
    let op = c.secrets.create(request).await;
    let op = done(&mut c, op).await;
    let metadata: CreateSecretMetadata = unpack(
        op.metadata.as_ref().expect("metadata"),
        "yandex.cloud.lockbox.v1.CreateSecretMetadata",
    );
    let created: Secret = unpack(response_of(&op), "yandex.cloud.lockbox.v1.Secret");

    assert!(
        created.id.starts_with("e6q") && created.id.len() == 20,
        "{}",
        created.id
    );
    assert_eq!(metadata.secret_id, created.id);
    assert_eq!(created.status, secret::Status::Active as i32);
    assert_eq!(created.labels.get("managed-by").map(String::as_str), Some("yc-iam"));
    let version = created.current_version.clone().expect("first version");
    assert_eq!(metadata.version_id, version.id);
    assert!(version.id.starts_with("e6q") && version.id.len() == 20);
    assert_eq!(version.secret_id, created.id);
    assert_eq!(version.description, "first");
    assert_eq!(version.payload_entry_keys, ["api-key", "folder-id"]);
    assert_eq!(get(&mut c, &created.id).await.expect("get"), created);
}

#[tokio::test]
async fn a_secret_without_entries_has_no_version_and_create_version_true_needs_entries() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let empty = create_secret(&mut c, "empty", vec![]).await;
    assert_eq!(empty.current_version, None);

    let mut none_wanted = create("no-version", vec![text_entry("k", "v")]);
    none_wanted.create_version = Some(false);
    let op = c.secrets.create(none_wanted).await;
    let op = done(&mut c, op).await;
    let metadata: CreateSecretMetadata = unpack(
        op.metadata.as_ref().expect("metadata"),
        "yandex.cloud.lockbox.v1.CreateSecretMetadata",
    );
    assert_eq!(metadata.version_id, "");

    let mut wanted = create("needs-entries", vec![]);
    wanted.create_version = Some(true);
    let err = c.secrets.create(wanted).await.expect_err("no entries");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(bad_field(&err), "version_payload_entries");
}

#[tokio::test]
async fn a_second_secret_with_the_same_name_in_the_folder_already_exists() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    create_secret(&mut c, "taken", vec![text_entry("k", "v")]).await;
    let err = c
        .secrets
        .create(create("taken", vec![text_entry("k", "v")]))
        .await
        .expect_err("duplicate");
    assert_eq!(err.code(), Code::AlreadyExists);

    // Unnamed secrets never clash.
    create_secret(&mut c, "", vec![]).await;
    create_secret(&mut c, "", vec![]).await;
}

#[tokio::test]
async fn retried_create_with_the_same_idempotency_key_makes_one_secret() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let key = "3f0e6a52-6f8e-4c3b-9d57-7f0d2a1b9c11";
    let first = c
        .secrets
        .create(with_idempotency_key(create("once", vec![text_entry("k", "v")]), key))
        .await
        .expect("first")
        .into_inner();
    let again = c
        .secrets
        .create(with_idempotency_key(create("once", vec![text_entry("k", "v")]), key))
        .await
        .expect("replayed, not a duplicate name")
        .into_inner();
    assert_eq!(first.id, again.id);
    assert_eq!(emu.snapshot().lockbox_secrets.len(), 1);
}

#[tokio::test]
async fn secrets_are_listed_by_folder_in_pages_without_repeats() {
    let emu = Emulator::builder()
        .with_folder(DEFAULT_FOLDER_ID)
        .with_folder("b1gotherfolder000001")
        .start()
        .await
        .expect("start");
    let mut c = clients(&emu).await;
    let mut made = Vec::new();
    for i in 0..5 {
        made.push(create_secret(&mut c, &format!("s{i}"), vec![]).await.id);
    }
    let mut elsewhere = create("elsewhere", vec![]);
    elsewhere.folder_id = "b1gotherfolder000001".into();
    let op = c.secrets.create(elsewhere).await;
    done(&mut c, op).await;

    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = c
            .secrets
            .list(ListSecretsRequest {
                folder_id: DEFAULT_FOLDER_ID.into(),
                page_size: 2,
                page_token: token,
            })
            .await
            .expect("list")
            .into_inner();
        assert!(page.secrets.len() <= 2);
        seen.extend(page.secrets.into_iter().map(|s| s.id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    made.sort();
    assert_eq!(seen, made);

    let err = c
        .secrets
        .list(ListSecretsRequest {
            folder_id: "b1gnosuchfolder00001".into(),
            ..Default::default()
        })
        .await
        .expect_err("unknown folder");
    assert_eq!(err.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn unknown_secrets_are_not_found() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let err = get(&mut c, "e6qnosuchsecret00001").await.expect_err("unknown");
    assert_eq!(err.code(), Code::NotFound);
}

#[tokio::test]
async fn update_changes_only_the_masked_fields_and_keeps_names_unique() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let secret = create_secret(&mut c, "before", vec![text_entry("k", "v")]).await;
    create_secret(&mut c, "other", vec![]).await;

    let mut request = update(&secret.id, &["name", "labels"]);
    request.name = "after".into();
    request.description = "not in the mask".into();
    request.labels.insert("team".into(), "ml".into());
    let op = c.secrets.update(request).await;
    let op = done(&mut c, op).await;
    let metadata: UpdateSecretMetadata = unpack(
        op.metadata.as_ref().expect("metadata"),
        "yandex.cloud.lockbox.v1.UpdateSecretMetadata",
    );
    assert_eq!(metadata.secret_id, secret.id);
    let updated: Secret = unpack(response_of(&op), "yandex.cloud.lockbox.v1.Secret");
    assert_eq!(updated.name, "after");
    assert_eq!(updated.description, "");
    assert_eq!(updated.labels.get("team").map(String::as_str), Some("ml"));
    assert_eq!(updated.current_version, secret.current_version);

    let mut clash = update(&secret.id, &["name"]);
    clash.name = "other".into();
    assert_eq!(
        c.secrets.update(clash).await.expect_err("name taken").code(),
        Code::AlreadyExists
    );
    let unknown = c
        .secrets
        .update(update(&secret.id, &["kms_key_id"]))
        .await
        .expect_err("not updatable");
    assert_eq!(bad_field(&unknown), "update_mask.paths[0]");
    let no_mask = c
        .secrets
        .update(UpdateSecretRequest {
            secret_id: secret.id.clone(),
            ..Default::default()
        })
        .await
        .expect_err("mask required");
    assert_eq!(no_mask.code(), Code::InvalidArgument);
}

#[tokio::test]
async fn deletion_protection_refuses_delete_until_it_is_turned_off() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let mut request = create("guarded", vec![text_entry("k", "v")]);
    request.deletion_protection = true;
    let op = c.secrets.create(request).await;
    let op = done(&mut c, op).await;
    let secret: Secret = unpack(response_of(&op), "yandex.cloud.lockbox.v1.Secret");
    assert!(secret.deletion_protection);

    let delete = DeleteSecretRequest {
        secret_id: secret.id.clone(),
    };
    let err = c.secrets.delete(delete.clone()).await.expect_err("protected");
    assert_eq!(err.code(), Code::FailedPrecondition);
    assert!(get(&mut c, &secret.id).await.is_ok());

    let mut off = update(&secret.id, &["deletion_protection"]);
    off.deletion_protection = false;
    let op = c.secrets.update(off).await;
    done(&mut c, op).await;
    let op = c.secrets.delete(delete).await;
    let op = done(&mut c, op).await;
    let metadata: DeleteSecretMetadata = unpack(
        op.metadata.as_ref().expect("metadata"),
        "yandex.cloud.lockbox.v1.DeleteSecretMetadata",
    );
    assert_eq!(metadata.secret_id, secret.id);
    let deleted: Secret = unpack(response_of(&op), "yandex.cloud.lockbox.v1.Secret");
    assert_eq!(deleted.id, secret.id);
    assert_eq!(get(&mut c, &secret.id).await.expect_err("gone").code(), Code::NotFound);
    // The name is free again.
    create_secret(&mut c, "guarded", vec![]).await;
}

#[tokio::test]
async fn deactivate_and_activate_answer_with_the_secret_in_its_new_status() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let secret = create_secret(&mut c, "switch", vec![text_entry("k", "v")]).await;
    let op = c
        .secrets
        .deactivate(DeactivateSecretRequest {
            secret_id: secret.id.clone(),
        })
        .await;
    let op = done(&mut c, op).await;
    let off: Secret = unpack(response_of(&op), "yandex.cloud.lockbox.v1.Secret");
    assert_eq!(off.status, secret::Status::Inactive as i32);
    assert_eq!(
        op.metadata.as_ref().expect("metadata").type_url,
        "type.googleapis.com/yandex.cloud.lockbox.v1.DeactivateSecretMetadata"
    );
    let op = c
        .secrets
        .activate(ActivateSecretRequest {
            secret_id: secret.id.clone(),
        })
        .await;
    let op = done(&mut c, op).await;
    let on: Secret = unpack(response_of(&op), "yandex.cloud.lockbox.v1.Secret");
    assert_eq!(on.status, secret::Status::Active as i32);
    assert_eq!(
        op.metadata.as_ref().expect("metadata").type_url,
        "type.googleapis.com/yandex.cloud.lockbox.v1.ActivateSecretMetadata"
    );

    // A page at a time: each next_page_token must be one the request accepts back.
    let (mut described, mut token) = (Vec::new(), String::new());
    loop {
        let page = c
            .secrets
            .list_operations(ListSecretOperationsRequest {
                secret_id: secret.id.clone(),
                page_size: 1,
                page_token: token,
            })
            .await
            .expect("operations")
            .into_inner();
        described.extend(page.operations.into_iter().map(|o| o.description));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(described, ["Create secret", "Deactivate secret", "Activate secret"]);
}

#[tokio::test]
async fn entry_keys_must_match_the_pattern_and_appear_once() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let err = c
        .secrets
        .create(create("bad-key", vec![text_entry("api key", "v")]))
        .await
        .expect_err("space in key");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(bad_field(&err), "version_payload_entries[0].key");

    let err = c
        .secrets
        .create(create("twice", vec![text_entry("k", "1"), text_entry("k", "2")]))
        .await
        .expect_err("duplicate key");
    assert_eq!(bad_field(&err), "version_payload_entries[1].key");

    let valueless = PayloadEntryChange {
        key: "k".into(),
        value: None,
    };
    let err = c
        .secrets
        .create(create("valueless", vec![valueless]))
        .await
        .expect_err("no value");
    assert_eq!(bad_field(&err), "version_payload_entries[0]");

    let fine = "-_./\\@09azAZ";
    create_secret(&mut c, "every-allowed-character", vec![text_entry(fine, "v")]).await;
    assert_eq!(
        emu.snapshot().lockbox_secrets.len(),
        1,
        "nothing was created by the refused calls"
    );
}

#[tokio::test]
async fn an_entry_holds_at_most_64_kib_counted_in_bytes() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let limit = 65_536;
    create_secret(&mut c, "full-text", vec![text_entry("k", &"a".repeat(limit))]).await;
    let binary = PayloadEntryChange {
        key: "k".into(),
        value: Some(payload_entry_change::Value::BinaryValue(vec![7; limit])),
    };
    create_secret(&mut c, "full-binary", vec![binary]).await;

    let over = PayloadEntryChange {
        key: "k".into(),
        value: Some(payload_entry_change::Value::BinaryValue(vec![7; limit + 1])),
    };
    let err = c.secrets.create(create("over", vec![over])).await.expect_err("too big");
    assert_eq!(bad_field(&err), "version_payload_entries[0].binary_value");
    // 65,536 characters, but two bytes each.
    let wide = "é".repeat(limit);
    let err = c
        .secrets
        .create(create("wide", vec![text_entry("k", &wide)]))
        .await
        .expect_err("too many bytes");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(bad_field(&err), "version_payload_entries[0].text_value");
}

#[tokio::test]
async fn discovery_lists_lockbox_and_lockbox_payload_at_the_emulator() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let listed = c
        .endpoints
        .list(ListApiEndpointsRequest::default())
        .await
        .expect("list")
        .into_inner();
    let own = emu.endpoint().trim_start_matches("http://").to_owned();
    for id in ["lockbox", "lockbox-payload"] {
        let endpoint = listed.endpoints.iter().find(|e| e.id == id).expect(id);
        assert_eq!(endpoint.address, own, "{id}");
    }
}

#[tokio::test]
async fn a_generated_secret_gets_a_fresh_value_in_each_version_added_without_changes() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let spec = PasswordPayloadSpecification {
        password_key: "password".into(),
        length: 24,
        include_punctuation: Some(false),
        ..Default::default()
    };
    let mut request = create("generated", vec![]);
    request.payload_specification =
        Some(create_secret_request::PayloadSpecification::PasswordPayloadSpecification(spec.clone()));
    let op = c.secrets.create(request.clone()).await;
    let op = done(&mut c, op).await;
    let created: Secret = unpack(response_of(&op), "yandex.cloud.lockbox.v1.Secret");
    assert_eq!(
        created.payload_specification,
        Some(secret::PayloadSpecification::PasswordPayloadSpecification(spec.clone()))
    );
    let first = created.current_version.clone().expect("generated version");
    assert_eq!(first.payload_entry_keys, ["password"]);
    assert_eq!(
        first.payload_specification,
        Some(version::PayloadSpecification::PasswordPayloadSpecification(
            spec.clone()
        ))
    );
    let value = |c: &mut Clients| {
        let mut payloads = c.payloads.clone();
        let id = created.id.clone();
        async move {
            let ex = payloads
                .get_ex(GetExRequest {
                    identifier: Some(get_ex_request::Identifier::SecretId(id)),
                    version_id: String::new(),
                })
                .await
                .expect("payload")
                .into_inner();
            String::from_utf8(ex.entries.get("password").cloned().expect("password")).expect("text")
        }
    };
    let before = value(&mut c).await;
    assert_eq!(before.len(), 24);
    assert!(
        before.bytes().all(|b| b.is_ascii_alphanumeric()),
        "no punctuation: {before}"
    );

    let op = c
        .secrets
        .add_version(AddVersionRequest {
            secret_id: created.id.clone(),
            ..Default::default()
        })
        .await;
    done(&mut c, op).await;
    let after = value(&mut c).await;
    assert_eq!(after.len(), 24);
    assert_ne!(after, before);

    request.name = "both".into();
    request.version_payload_entries = vec![text_entry("k", "v")];
    let err = c
        .secrets
        .create(request)
        .await
        .expect_err("entries and a specification");
    assert_eq!(bad_field(&err), "password_payload_specification");
}
