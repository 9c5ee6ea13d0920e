//! Service accounts: validation, conflicts, lookups, filters, pagination, idempotency.

use std::collections::BTreeSet;

use tonic::Code;
use yc_iam::emulator::{DEFAULT_FOLDER_ID, Emulator};
use yc_iam::proto::yandex::cloud::iam::v1::{
    CreateServiceAccountMetadata, CreateServiceAccountRequest, DeleteServiceAccountRequest, GetServiceAccountRequest,
    ListServiceAccountsRequest, ServiceAccount, UpdateServiceAccountRequest,
};

use super::support::{bad_field, clients, create_account, response_of, unpack, wait, with_idempotency_key};

fn create(name: &str) -> CreateServiceAccountRequest {
    CreateServiceAccountRequest {
        folder_id: DEFAULT_FOLDER_ID.into(),
        name: name.into(),
        ..Default::default()
    }
}

fn list(page_size: i64, page_token: &str, filter: &str) -> ListServiceAccountsRequest {
    ListServiceAccountsRequest {
        folder_id: DEFAULT_FOLDER_ID.into(),
        page_size,
        page_token: page_token.into(),
        filter: filter.into(),
    }
}

#[tokio::test]
async fn created_account_has_a_yandex_shaped_id_and_typed_operation() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let op = c.accounts.create(create("builder")).await.expect("create").into_inner();
    let meta: CreateServiceAccountMetadata = unpack(
        op.metadata.as_ref().expect("metadata"),
        "yandex.cloud.iam.v1.CreateServiceAccountMetadata",
    );
    let op = wait(&mut c, op).await;
    let sa: ServiceAccount = unpack(response_of(&op), "yandex.cloud.iam.v1.ServiceAccount");
    assert_eq!(meta.service_account_id, sa.id);
    assert_eq!(sa.id.len(), 20);
    assert!(sa.id.starts_with("aje") && sa.id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
    assert_eq!(op.id.len(), 20);
    let got = c
        .accounts
        .get(GetServiceAccountRequest {
            service_account_id: sa.id.clone(),
        })
        .await
        .expect("get");
    assert_eq!(got.into_inner(), sa);
}

#[tokio::test]
async fn invalid_requests_are_invalid_argument_naming_the_field() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let err = c.accounts.create(create("Bad_Name")).await.expect_err("bad name");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(bad_field(&err), "name");
    assert!(err.message().contains("name"), "{}", err.message());

    let err = c
        .accounts
        .create(CreateServiceAccountRequest {
            name: "ok-name".into(),
            ..Default::default()
        })
        .await;
    assert_eq!(bad_field(&err.expect_err("no folder")), "folder_id");

    let err = c.accounts.list(list(1001, "", "")).await.expect_err("page size");
    assert_eq!(bad_field(&err), "page_size");
}

#[tokio::test]
async fn duplicate_name_is_already_exists() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    create_account(&mut c, "twin").await;
    let err = c.accounts.create(create("twin")).await.expect_err("duplicate");
    assert_eq!(err.code(), Code::AlreadyExists);
}

#[tokio::test]
async fn unknown_account_is_not_found_and_unknown_folder_is_permission_denied() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let err = c
        .accounts
        .get(GetServiceAccountRequest {
            service_account_id: "ajenosuchaccount0001".into(),
        })
        .await
        .expect_err("unknown");
    assert_eq!(err.code(), Code::NotFound);
    let err = c
        .accounts
        .create(CreateServiceAccountRequest {
            folder_id: "b1gnosuchfolder00001".into(),
            name: "x1".into(),
            ..Default::default()
        })
        .await
        .expect_err("unknown folder");
    assert_eq!(err.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn name_filter_accepts_only_three_to_sixty_three_characters() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    create_account(&mut c, "ab").await;
    create_account(&mut c, "abc").await;
    let found = c
        .accounts
        .list(list(0, "", "name=\"abc\""))
        .await
        .expect("filter")
        .into_inner();
    assert_eq!(
        found
            .service_accounts
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>(),
        ["abc"]
    );
    let err = c
        .accounts
        .list(list(0, "", "name=\"ab\""))
        .await
        .expect_err("two characters");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(bad_field(&err), "filter");
}

#[tokio::test]
async fn pages_neither_repeat_nor_lose_accounts_while_the_list_grows() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let mut expected = BTreeSet::new();
    for i in 0..23 {
        expected.insert(create_account(&mut c, &format!("page-{i:02}")).await.id);
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let page = c.accounts.list(list(5, &token, "")).await.expect("page").into_inner();
        assert!(page.service_accounts.len() <= 5);
        seen.extend(page.service_accounts.into_iter().map(|s| s.id));
        if seen.len() == 10 {
            // An account created mid-way may or may not be listed, but nothing repeats or vanishes.
            create_account(&mut c, "late-comer").await;
        }
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let unique: BTreeSet<String> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "no duplicates");
    assert!(expected.is_subset(&unique), "no loss");

    let err = c
        .accounts
        .list(list(5, "garbage-token", ""))
        .await
        .expect_err("bad token");
    assert_eq!(bad_field(&err), "page_token");
}

#[tokio::test]
async fn same_idempotency_key_returns_the_same_operation_and_one_account() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let key = "5f0c3f7e-2d0b-4a57-9d0e-3c1c2f8a1b11";
    let first = c
        .accounts
        .create(with_idempotency_key(create("once"), key))
        .await
        .expect("first")
        .into_inner();
    let second = c
        .accounts
        .create(with_idempotency_key(create("once"), key))
        .await
        .expect("repeat")
        .into_inner();
    assert_eq!(first.id, second.id);
    assert_eq!(emu.snapshot().service_accounts.len(), 1);
    let other = c
        .accounts
        .create(with_idempotency_key(create("once"), "another-key"))
        .await;
    assert_eq!(other.expect_err("new key, same name").code(), Code::AlreadyExists);
}

#[tokio::test]
async fn update_and_delete_change_the_account() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let sa = create_account(&mut c, "changing").await;
    let op = c
        .accounts
        .update(UpdateServiceAccountRequest {
            service_account_id: sa.id.clone(),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["description".into()],
            }),
            name: "changing".into(),
            description: "now described".into(),
            ..Default::default()
        })
        .await
        .expect("update")
        .into_inner();
    let op = wait(&mut c, op).await;
    let updated: ServiceAccount = unpack(response_of(&op), "yandex.cloud.iam.v1.ServiceAccount");
    assert_eq!(updated.description, "now described");

    let op = c
        .accounts
        .delete(DeleteServiceAccountRequest {
            service_account_id: sa.id.clone(),
        })
        .await
        .expect("delete");
    let op = wait(&mut c, op.into_inner()).await;
    assert_eq!(response_of(&op).type_url, "type.googleapis.com/google.protobuf.Empty");
    let err = c
        .accounts
        .get(GetServiceAccountRequest {
            service_account_id: sa.id,
        })
        .await
        .expect_err("gone");
    assert_eq!(err.code(), Code::NotFound);
}

#[tokio::test]
async fn a_renamed_account_frees_its_old_name_and_takes_the_new_one() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let sa = create_account(&mut c, "old-name").await;
    create_account(&mut c, "taken-name").await;
    let rename = |name: &str| UpdateServiceAccountRequest {
        service_account_id: sa.id.clone(),
        update_mask: Some(prost_types::FieldMask {
            paths: vec!["name".into()],
        }),
        name: name.into(),
        ..Default::default()
    };
    let err = c.accounts.update(rename("taken-name")).await.expect_err("taken");
    assert_eq!(err.code(), Code::AlreadyExists);
    let op = c
        .accounts
        .update(rename("new-name"))
        .await
        .expect("rename")
        .into_inner();
    wait(&mut c, op).await;
    let err = c
        .accounts
        .create(create("new-name"))
        .await
        .expect_err("new name is taken");
    assert_eq!(err.code(), Code::AlreadyExists);
    create_account(&mut c, "old-name").await;
    let found = c
        .accounts
        .list(list(0, "", "name=\"new-name\""))
        .await
        .expect("list")
        .into_inner();
    assert_eq!(
        found.service_accounts.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(),
        [sa.id.as_str()]
    );
}

#[tokio::test]
async fn a_deleted_account_frees_its_name_and_its_keys_stop_working() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let sa = create_account(&mut c, "short-lived").await;
    let created = c
        .keys
        .create(yc_iam::proto::yandex::cloud::iam::v1::CreateApiKeyRequest {
            service_account_id: sa.id.clone(),
            ..Default::default()
        })
        .await
        .expect("key")
        .into_inner();
    let op = c
        .accounts
        .delete(DeleteServiceAccountRequest {
            service_account_id: sa.id.clone(),
        })
        .await
        .expect("delete")
        .into_inner();
    wait(&mut c, op).await;
    let mut by_key = super::support::clients_with(&emu, super::support::Auth::api_key(&created.secret)).await;
    let err = by_key
        .accounts
        .list(list(0, "", ""))
        .await
        .expect_err("key of a deleted account");
    assert_eq!(err.code(), Code::Unauthenticated);
    assert!(emu.snapshot().api_keys.iter().all(|k| !k.live));
    create_account(&mut c, "short-lived").await;
}
