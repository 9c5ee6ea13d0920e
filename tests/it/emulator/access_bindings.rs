//! Access bindings on folders and clouds: effective deltas, set, pagination, unknown subjects.

use tonic::Code;
use yc_iam::emulator::{DEFAULT_CLOUD_ID, DEFAULT_FOLDER_ID, Emulator};
use yc_iam::proto::yandex::cloud::access::{
    AccessBinding, AccessBindingDelta, AccessBindingsOperationResult, ListAccessBindingsRequest,
    SetAccessBindingsRequest, Subject, UpdateAccessBindingsMetadata, UpdateAccessBindingsRequest,
};
use yc_iam::proto::yandex::cloud::operation::Operation;

use super::support::{Clients, bad_field, clients, create_account, response_of, unpack, wait};

fn binding(role: &str, sa: &str) -> AccessBinding {
    AccessBinding {
        role_id: role.into(),
        subject: Some(Subject {
            id: sa.into(),
            r#type: "serviceAccount".into(),
        }),
    }
}

fn update(resource: &str, deltas: Vec<AccessBindingDelta>) -> UpdateAccessBindingsRequest {
    UpdateAccessBindingsRequest {
        resource_id: resource.into(),
        access_binding_deltas: deltas,
    }
}

async fn effective(c: &mut Clients, op: Operation) -> Vec<AccessBindingDelta> {
    let op = wait(c, op).await;
    let result: AccessBindingsOperationResult =
        unpack(response_of(&op), "yandex.cloud.access.AccessBindingsOperationResult");
    result.effective_deltas
}

#[tokio::test]
async fn effective_deltas_leave_out_no_op_changes() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let sa = create_account(&mut c, "granted").await;
    let add = AccessBindingDelta::add(binding("ai.languageModels.user", &sa.id));
    let op = c
        .folders
        .update_access_bindings(update(DEFAULT_FOLDER_ID, vec![add.clone()]))
        .await
        .expect("add");
    let op = op.into_inner();
    let meta: UpdateAccessBindingsMetadata = unpack(
        op.metadata.as_ref().expect("metadata"),
        "yandex.cloud.access.UpdateAccessBindingsMetadata",
    );
    assert_eq!(meta.resource_id, DEFAULT_FOLDER_ID);
    assert_eq!(effective(&mut c, op).await, std::slice::from_ref(&add));

    let again = vec![
        add.clone(),
        AccessBindingDelta::remove(binding("editor", &sa.id)),
        AccessBindingDelta::add(binding("viewer", &sa.id)),
    ];
    let op = c
        .folders
        .update_access_bindings(update(DEFAULT_FOLDER_ID, again))
        .await
        .expect("again")
        .into_inner();
    assert_eq!(
        effective(&mut c, op).await,
        [AccessBindingDelta::add(binding("viewer", &sa.id))]
    );

    let listed = c
        .folders
        .list_access_bindings(ListAccessBindingsRequest {
            resource_id: DEFAULT_FOLDER_ID.into(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.access_bindings.len(), 2);
}

#[tokio::test]
async fn set_replaces_the_bindings_and_reports_the_difference() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let sa = create_account(&mut c, "set-target").await;
    let first = vec![binding("viewer", &sa.id), binding("editor", &sa.id)];
    let request = SetAccessBindingsRequest {
        resource_id: DEFAULT_CLOUD_ID.into(),
        access_bindings: first,
    };
    let op = c.clouds.set_access_bindings(request).await.expect("set").into_inner();
    assert_eq!(effective(&mut c, op).await.len(), 2);

    let second = vec![binding("viewer", &sa.id), binding("auditor", &sa.id)];
    let request = SetAccessBindingsRequest {
        resource_id: DEFAULT_CLOUD_ID.into(),
        access_bindings: second,
    };
    let op = c.clouds.set_access_bindings(request).await.expect("set").into_inner();
    let deltas = effective(&mut c, op).await;
    assert!(deltas.contains(&AccessBindingDelta::remove(binding("editor", &sa.id))));
    assert!(deltas.contains(&AccessBindingDelta::add(binding("auditor", &sa.id))));
    assert_eq!(deltas.len(), 2);
    assert_eq!(emu.snapshot().access_bindings[DEFAULT_CLOUD_ID].len(), 2);
}

#[tokio::test]
async fn bindings_are_listed_in_pages_without_repeats() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let sa = create_account(&mut c, "many-roles").await;
    let deltas: Vec<_> = (0..12)
        .map(|i| AccessBindingDelta::add(binding(&format!("role.n{i:02}"), &sa.id)))
        .collect();
    let op = c
        .folders
        .update_access_bindings(update(DEFAULT_FOLDER_ID, deltas))
        .await
        .expect("add")
        .into_inner();
    wait(&mut c, op).await;
    let mut roles = Vec::new();
    let mut token = String::new();
    loop {
        let page = c
            .folders
            .list_access_bindings(ListAccessBindingsRequest {
                resource_id: DEFAULT_FOLDER_ID.into(),
                page_size: 5,
                page_token: token.clone(),
            })
            .await
            .expect("page")
            .into_inner();
        roles.extend(page.access_bindings.into_iter().map(|b| b.role_id));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    let expected: Vec<String> = (0..12).map(|i| format!("role.n{i:02}")).collect();
    assert_eq!(roles, expected);
}

#[tokio::test]
async fn unknown_subjects_resources_and_bad_deltas_are_rejected() {
    let emu = Emulator::builder().start().await.expect("start");
    let mut c = clients(&emu).await;
    let ghost = AccessBindingDelta::add(binding("viewer", "ajenosuchaccount0001"));
    let err = c
        .folders
        .update_access_bindings(update(DEFAULT_FOLDER_ID, vec![ghost]))
        .await
        .expect_err("ghost");
    assert_eq!(err.code(), Code::NotFound);

    let sa = create_account(&mut c, "real").await;
    let ok = AccessBindingDelta::add(binding("viewer", &sa.id));
    let err = c
        .folders
        .update_access_bindings(update("b1gnosuchfolder00001", vec![ok.clone()]))
        .await
        .expect_err("unknown folder");
    assert_eq!(err.code(), Code::PermissionDenied);

    let long_role = AccessBindingDelta::add(binding(&"r".repeat(65), &sa.id));
    let err = c
        .folders
        .update_access_bindings(update(DEFAULT_FOLDER_ID, vec![ok, long_role]))
        .await
        .expect_err("long role");
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(bad_field(&err), "access_binding_deltas[1].access_binding.role_id");

    let err = c
        .folders
        .update_access_bindings(update(DEFAULT_FOLDER_ID, vec![]))
        .await
        .expect_err("no deltas");
    assert_eq!(bad_field(&err), "access_binding_deltas");
}
