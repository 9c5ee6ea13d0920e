//! Static access keys: `AccessKeyService.Create` hands out an id and secret shaped like Yandex's,
//! the secret only once; get, list, update, delete and their operations; validation by the proto
//! rules; idempotent replay; the state file across a restart; the journal never shows the secret.

use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use yc_iam::emulator::{DEFAULT_IAM_TOKEN, Emulator};
use yc_iam::proto::yandex::cloud::iam::v1::awscompatibility::access_key_service_client::AccessKeyServiceClient;
use yc_iam::proto::yandex::cloud::iam::v1::awscompatibility::{
    AccessKey, CreateAccessKeyRequest, DeleteAccessKeyMetadata, DeleteAccessKeyRequest, GetAccessKeyRequest,
    ListAccessKeyOperationsRequest, ListAccessKeysRequest, UpdateAccessKeyMetadata, UpdateAccessKeyRequest,
};

use super::support::{
    Auth, Authed, bad_field, channel, clients, create_account, response_of, unpack, wait, with_idempotency_key,
};

async fn access_keys(emu: &Emulator) -> AccessKeyServiceClient<Authed> {
    AccessKeyServiceClient::new(InterceptedService::new(
        channel(emu).await,
        Auth::bearer(DEFAULT_IAM_TOKEN),
    ))
}

fn create(sa: &str) -> CreateAccessKeyRequest {
    CreateAccessKeyRequest {
        service_account_id: sa.into(),
        description: "terraform state".into(),
    }
}

#[tokio::test]
async fn created_access_key_has_yandex_shapes_and_its_secret_only_in_the_create_response() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let sa = create_account(&mut c, "s3-user").await;
    let mut a = access_keys(&emu).await;
    let created = a.create(create(&sa.id)).await.expect("create").into_inner();
    let key = created.access_key.clone().expect("access key");
    assert!(key.id.starts_with("aje") && key.id.len() == 20, "{}", key.id);
    assert!(
        key.key_id.starts_with("YCAJE") && key.key_id.len() == 25,
        "{}",
        key.key_id
    );
    assert!(created.secret.starts_with("YC") && created.secret.len() == 40);
    assert_eq!(
        (key.service_account_id.as_str(), key.description.as_str()),
        (sa.id.as_str(), "terraform state")
    );
    assert!(
        !format!("{created:?}").contains(&created.secret),
        "Debug redacts the secret"
    );

    let got = a
        .get(GetAccessKeyRequest {
            access_key_id: key.id.clone(),
        })
        .await
        .expect("get")
        .into_inner();
    assert_eq!(got, key);
    let listed = a
        .list(ListAccessKeysRequest {
            service_account_id: sa.id.clone(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.access_keys, [key]);
    for entry in emu.journal() {
        assert!(
            !String::from_utf8_lossy(&entry.request).contains(&created.secret),
            "{}",
            entry.method
        );
    }
}

#[tokio::test]
async fn requests_breaking_the_proto_rules_or_naming_nothing_known_are_refused() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let sa = create_account(&mut c, "checked").await;
    let mut a = access_keys(&emu).await;
    let long = a
        .create(CreateAccessKeyRequest {
            description: "d".repeat(257),
            ..create(&sa.id)
        })
        .await
        .expect_err("description too long");
    assert_eq!(
        (long.code(), bad_field(&long)),
        (Code::InvalidArgument, "description".to_owned())
    );
    let missing = a.get(GetAccessKeyRequest::default()).await.expect_err("id required");
    assert_eq!(bad_field(&missing), "access_key_id");
    let size = a
        .list(ListAccessKeysRequest {
            service_account_id: sa.id.clone(),
            page_size: 1001,
            ..Default::default()
        })
        .await
        .expect_err("page too large");
    assert_eq!(bad_field(&size), "page_size");
    let unknown = a
        .create(create("ajenosuchaccount0001"))
        .await
        .expect_err("unknown account");
    assert_eq!(unknown.code(), Code::NotFound);
    let gone = a
        .delete(DeleteAccessKeyRequest {
            access_key_id: "ajenosuchkey00000001".into(),
        })
        .await
        .expect_err("unknown key");
    assert_eq!(gone.code(), Code::NotFound);
}

#[tokio::test]
async fn update_and_delete_are_operations_with_their_metadata_and_listed_for_the_key() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let sa = create_account(&mut c, "changing").await;
    let mut a = access_keys(&emu).await;
    let id = a
        .create(create(&sa.id))
        .await
        .expect("create")
        .into_inner()
        .access_key
        .expect("key")
        .id;
    let op = a
        .update(UpdateAccessKeyRequest {
            access_key_id: id.clone(),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["description".into()],
            }),
            description: "rotated".into(),
        })
        .await
        .expect("update")
        .into_inner();
    let meta: UpdateAccessKeyMetadata = unpack(
        op.metadata.as_ref().expect("metadata"),
        "yandex.cloud.iam.v1.awscompatibility.UpdateAccessKeyMetadata",
    );
    assert_eq!(meta.access_key_id, id);
    let op = wait(&mut c, op).await;
    let updated: AccessKey = unpack(response_of(&op), "yandex.cloud.iam.v1.awscompatibility.AccessKey");
    assert_eq!(updated.description, "rotated");
    let ops = a
        .list_operations(ListAccessKeyOperationsRequest {
            access_key_id: id.clone(),
            ..Default::default()
        })
        .await
        .expect("operations")
        .into_inner();
    assert_eq!(ops.operations.iter().map(|o| o.id.clone()).collect::<Vec<_>>(), [op.id]);

    let op = a
        .delete(DeleteAccessKeyRequest {
            access_key_id: id.clone(),
        })
        .await
        .expect("delete")
        .into_inner();
    let meta: DeleteAccessKeyMetadata = unpack(
        op.metadata.as_ref().expect("metadata"),
        "yandex.cloud.iam.v1.awscompatibility.DeleteAccessKeyMetadata",
    );
    assert_eq!(meta.access_key_id, id);
    let op = wait(&mut c, op).await;
    assert_eq!(response_of(&op).type_url, "type.googleapis.com/google.protobuf.Empty");
    let listed = a
        .list(ListAccessKeysRequest {
            service_account_id: sa.id,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert!(listed.access_keys.is_empty());
}

#[tokio::test]
async fn retried_create_with_the_same_idempotency_key_leaves_one_access_key_with_one_secret() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let sa = create_account(&mut c, "s3-once").await;
    let mut a = access_keys(&emu).await;
    let idem = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d";
    let first = a
        .create(with_idempotency_key(create(&sa.id), idem))
        .await
        .expect("first")
        .into_inner();
    let second = a
        .create(with_idempotency_key(create(&sa.id), idem))
        .await
        .expect("retry")
        .into_inner();
    assert_eq!((&first.access_key, &first.secret), (&second.access_key, &second.secret));
    let third = a.create(create(&sa.id)).await.expect("no key").into_inner();
    assert_ne!(third.secret, second.secret, "a new key has a new secret");
    let listed = a
        .list(ListAccessKeysRequest {
            service_account_id: sa.id,
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.access_keys.len(), 2);
}

#[tokio::test]
async fn access_keys_survive_a_restart_and_go_with_their_service_account() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("state.json");
    let emu = Emulator::builder().with_state_file(&path).start().await.expect("start");
    let mut c = clients(&emu).await;
    let sa = create_account(&mut c, "kept").await;
    let created = access_keys(&emu)
        .await
        .create(create(&sa.id))
        .await
        .expect("create")
        .into_inner();
    let key = created.access_key.expect("key");
    emu.shutdown().await;

    let emu = Emulator::builder()
        .with_state_file(&path)
        .start()
        .await
        .expect("restart");
    let mut c = clients(&emu).await;
    let mut a = access_keys(&emu).await;
    let got = a
        .get(GetAccessKeyRequest {
            access_key_id: key.id.clone(),
        })
        .await
        .expect("the key survives")
        .into_inner();
    assert_eq!(got, key);
    let op = c
        .accounts
        .delete(yc_iam::proto::yandex::cloud::iam::v1::DeleteServiceAccountRequest {
            service_account_id: sa.id.clone(),
        })
        .await
        .expect("delete account")
        .into_inner();
    wait(&mut c, op).await;
    let gone = a
        .get(GetAccessKeyRequest { access_key_id: key.id })
        .await
        .expect_err("the key went with its account");
    assert_eq!(gone.code(), Code::NotFound);
}
