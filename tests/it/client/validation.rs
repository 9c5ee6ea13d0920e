//! Every validation rule of every request message the library sends, broken
//! once through the public API: each fails locally, naming the field and the rule, and the
//! emulator receives nothing.
//!
//! Rules on fields only the library or the server fill (`page_token`, which comes from the
//! server; the deprecated `CreateApiKeyRequest.scope`, never sent; `CreateIamTokenRequest.jwt`,
//! a short JWT the library signs, and its `exactly_one` oneof, always one) cannot be broken through
//! the facade; the rules themselves are tested message by message in `validation.rs`.

use std::{future::Future, pin::Pin};

use futures_util::TryStreamExt as _;
use yc_iam::{
    Client, CreateApiKey, CreateServiceAccount, Credentials, Error, UpdateApiKey, UpdateServiceAccount,
    model::{AccessBinding, AccessBindingDelta, Subject, Timestamp},
};

use super::{FOLDER, client, emulator};
use crate::common::client_with;

type Case = (
    &'static str,
    &'static str,
    Pin<Box<dyn Future<Output = Result<(), Error>>>>,
);

fn long(n: usize) -> String {
    "a".repeat(n)
}

fn too_late() -> Timestamp {
    // 2106-01-01: after the last instant the rules allow (2105-12-31T23:59:59.999999999Z).
    Timestamp {
        seconds: 4_291_747_200,
        nanos: 0,
    }
}

fn labels(n: usize) -> Vec<(String, String)> {
    (0..n).map(|i| (format!("k{i}"), "v".to_owned())).collect()
}

fn binding(role: &str, subject: Option<(&str, &str)>) -> AccessBinding {
    AccessBinding {
        role_id: role.to_owned(),
        subject: subject.map(|(t, id)| Subject {
            r#type: t.to_owned(),
            id: id.to_owned(),
        }),
    }
}

fn ok_binding() -> AccessBinding {
    AccessBinding::service_account("viewer", "ajesaid")
}

macro_rules! case {
    ($cases:ident, $c:ident, $field:literal, $rule:literal, $body:expr) => {{
        let $c = $c.clone();
        $cases.push(($field, $rule, Box::pin(async move { $body.await.map(|_| ()) })));
    }};
}

async fn list_bindings(c: Client, folder: bool, id: String) -> Result<(), Error> {
    if folder {
        c.folders()
            .list_access_bindings(id)
            .try_collect::<Vec<_>>()
            .await
            .map(|_| ())
    } else {
        c.clouds()
            .list_access_bindings(id)
            .try_collect::<Vec<_>>()
            .await
            .map(|_| ())
    }
}

async fn update_bindings(c: Client, folder: bool, id: &str, deltas: Vec<AccessBindingDelta>) -> Result<(), Error> {
    if folder {
        c.folders().update_access_bindings(id, deltas).await.map(|_| ())
    } else {
        c.clouds().update_access_bindings(id, deltas).await.map(|_| ())
    }
}

async fn set_bindings(c: Client, folder: bool, id: &str, bindings: Vec<AccessBinding>) -> Result<(), Error> {
    if folder {
        c.folders().set_access_bindings(id, bindings).await.map(|_| ())
    } else {
        c.clouds().set_access_bindings(id, bindings).await.map(|_| ())
    }
}

fn add(b: AccessBinding) -> Vec<AccessBindingDelta> {
    vec![AccessBindingDelta::add(b)]
}

fn create(folder: &str, name: &str) -> CreateServiceAccount {
    CreateServiceAccount::new(folder, name)
}

fn upd(id: &str) -> UpdateServiceAccount {
    UpdateServiceAccount::new(id)
}

/// Every reachable rule, one case each: (field named, rule named, the call).
fn cases(c: &Client) -> Vec<Case> {
    let mut v: Vec<Case> = Vec::new();

    // ServiceAccountService.Get / Delete / List
    case!(v, c, "service_account_id", "required", c.service_accounts().get(""));
    case!(v, c, "service_account_id", "length", c.service_accounts().get(long(51)));
    case!(v, c, "service_account_id", "required", c.service_accounts().delete(""));
    case!(
        v,
        c,
        "service_account_id",
        "length",
        c.service_accounts().delete(long(51))
    );
    case!(
        v,
        c,
        "folder_id",
        "required",
        c.service_accounts().list("").try_collect::<Vec<_>>()
    );
    case!(
        v,
        c,
        "folder_id",
        "length",
        c.service_accounts().list(long(51)).try_collect::<Vec<_>>()
    );
    case!(
        v,
        c,
        "filter",
        "length",
        c.service_accounts()
            .list_filtered(FOLDER, long(1001))
            .try_collect::<Vec<_>>()
    );
    // ServiceAccountService.Create
    case!(
        v,
        c,
        "folder_id",
        "required",
        c.service_accounts().create(create("", "ok-name"))
    );
    case!(
        v,
        c,
        "folder_id",
        "length",
        c.service_accounts().create(create(&long(51), "ok-name"))
    );
    case!(
        v,
        c,
        "name",
        "required",
        c.service_accounts().create(create(FOLDER, ""))
    );
    case!(
        v,
        c,
        "name",
        "pattern",
        c.service_accounts().create(create(FOLDER, "Bad_Name"))
    );
    case!(
        v,
        c,
        "description",
        "length",
        c.service_accounts().create(create(FOLDER, "ok").description(long(257)))
    );
    case!(
        v,
        c,
        "labels",
        "size",
        c.service_accounts().create(create(FOLDER, "ok").labels(labels(65)))
    );
    case!(
        v,
        c,
        "labels[\"\"]",
        "map_key",
        c.service_accounts().create(create(FOLDER, "ok").label("", "v"))
    );
    case!(
        v,
        c,
        "labels[\"Key\"]",
        "map_key",
        c.service_accounts().create(create(FOLDER, "ok").label("Key", "v"))
    );
    case!(
        v,
        c,
        "labels[\"k\"]",
        "length",
        c.service_accounts().create(create(FOLDER, "ok").label("k", long(64)))
    );
    case!(
        v,
        c,
        "labels[\"k\"]",
        "pattern",
        c.service_accounts().create(create(FOLDER, "ok").label("k", "UPPER"))
    );
    case!(
        v,
        c,
        "expires_at",
        "value",
        c.service_accounts().create(create(FOLDER, "ok").expires_at(too_late()))
    );
    // ServiceAccountService.Update
    case!(
        v,
        c,
        "service_account_id",
        "required",
        c.service_accounts().update(upd("").name("ok-name"))
    );
    case!(
        v,
        c,
        "service_account_id",
        "length",
        c.service_accounts().update(upd(&long(51)).name("ok-name"))
    );
    case!(
        v,
        c,
        "name",
        "pattern",
        c.service_accounts().update(upd("ajesa").name("Bad_Name"))
    );
    case!(
        v,
        c,
        "description",
        "length",
        c.service_accounts().update(upd("ajesa").description(long(257)))
    );
    case!(
        v,
        c,
        "labels",
        "size",
        c.service_accounts().update(upd("ajesa").labels(labels(65)))
    );
    case!(
        v,
        c,
        "labels[\"Key\"]",
        "map_key",
        c.service_accounts().update(upd("ajesa").labels([("Key", "v")]))
    );
    case!(
        v,
        c,
        "labels[\"k\"]",
        "length",
        c.service_accounts()
            .update(upd("ajesa").labels([("k".to_owned(), long(64))]))
    );
    case!(
        v,
        c,
        "labels[\"k\"]",
        "pattern",
        c.service_accounts().update(upd("ajesa").labels([("k", "UPPER")]))
    );
    case!(
        v,
        c,
        "expires_at",
        "value",
        c.service_accounts().update(upd("ajesa").expires_at(too_late()))
    );

    // ApiKeyService
    case!(v, c, "api_key_id", "required", c.api_keys().get(""));
    case!(v, c, "api_key_id", "length", c.api_keys().get(long(51)));
    case!(v, c, "api_key_id", "required", c.api_keys().delete(""));
    case!(v, c, "api_key_id", "length", c.api_keys().delete(long(51)));
    case!(
        v,
        c,
        "service_account_id",
        "length",
        c.api_keys().list(long(51)).try_collect::<Vec<_>>()
    );
    case!(
        v,
        c,
        "service_account_id",
        "length",
        c.api_keys().create(CreateApiKey::new(long(51)))
    );
    case!(
        v,
        c,
        "description",
        "length",
        c.api_keys().create(CreateApiKey::new("ajesa").description(long(257)))
    );
    case!(
        v,
        c,
        "expires_at",
        "value",
        c.api_keys().create(CreateApiKey::new("ajesa").expires_at(too_late()))
    );
    let scopes: Vec<String> = (0..101).map(|i| format!("s{i}")).collect();
    case!(
        v,
        c,
        "scopes",
        "size",
        c.api_keys().create(CreateApiKey::new("ajesa").scopes(scopes))
    );
    case!(
        v,
        c,
        "scopes",
        "unique",
        c.api_keys().create(CreateApiKey::new("ajesa").scopes(["a", "a"]))
    );
    case!(
        v,
        c,
        "scopes[0]",
        "length",
        c.api_keys().create(CreateApiKey::new("ajesa").scopes([long(257)]))
    );
    case!(
        v,
        c,
        "api_key_id",
        "required",
        c.api_keys().update(UpdateApiKey::new("").description("d"))
    );
    case!(
        v,
        c,
        "api_key_id",
        "length",
        c.api_keys().update(UpdateApiKey::new(long(51)).description("d"))
    );
    case!(
        v,
        c,
        "description",
        "length",
        c.api_keys().update(UpdateApiKey::new("ajek").description(long(257)))
    );
    case!(
        v,
        c,
        "scopes",
        "size",
        c.api_keys()
            .update(UpdateApiKey::new("ajek").scopes(Vec::<String>::new()))
    );
    case!(
        v,
        c,
        "scopes",
        "unique",
        c.api_keys().update(UpdateApiKey::new("ajek").scopes(["a", "a"]))
    );
    case!(
        v,
        c,
        "scopes[0]",
        "length",
        c.api_keys().update(UpdateApiKey::new("ajek").scopes([long(257)]))
    );
    case!(
        v,
        c,
        "expires_at",
        "value",
        c.api_keys().update(UpdateApiKey::new("ajek").expires_at(too_late()))
    );

    // Page sizes, on every list call
    case!(
        v,
        c,
        "page_size",
        "value",
        c.service_accounts()
            .list(FOLDER)
            .with_page_size(1001)
            .try_collect::<Vec<_>>()
    );
    case!(
        v,
        c,
        "page_size",
        "value",
        c.api_keys().list("ajesa").with_page_size(-1).try_collect::<Vec<_>>()
    );
    case!(
        v,
        c,
        "page_size",
        "value",
        c.api_keys().list_scopes().with_page_size(1001).try_collect::<Vec<_>>()
    );
    case!(
        v,
        c,
        "page_size",
        "value",
        c.folders()
            .list("b1gcloud")
            .with_page_size(1001)
            .try_collect::<Vec<_>>()
    );
    case!(
        v,
        c,
        "page_size",
        "value",
        c.clouds().list().with_page_size(1001).try_collect::<Vec<_>>()
    );
    let l = |c: Client| {
        c.folders()
            .list_access_bindings(FOLDER)
            .with_page_size(1001)
            .try_collect::<Vec<_>>()
    };
    case!(v, c, "page_size", "value", l(c));
    let l = |c: Client| {
        c.clouds()
            .list_access_bindings("b1gcloud")
            .with_page_size(1001)
            .try_collect::<Vec<_>>()
    };
    case!(v, c, "page_size", "value", l(c));

    // FolderService and CloudService: the resources
    case!(v, c, "folder_id", "required", c.folders().get(""));
    case!(v, c, "folder_id", "length", c.folders().get(long(51)));
    case!(
        v,
        c,
        "cloud_id",
        "required",
        c.folders().list("").try_collect::<Vec<_>>()
    );
    case!(
        v,
        c,
        "cloud_id",
        "length",
        c.folders().list(long(51)).try_collect::<Vec<_>>()
    );
    case!(
        v,
        c,
        "filter",
        "length",
        c.folders()
            .list_filtered("b1gcloud", long(1001))
            .try_collect::<Vec<_>>()
    );
    case!(
        v,
        c,
        "filter",
        "length",
        c.clouds().list_filtered("", long(1001)).try_collect::<Vec<_>>()
    );
    case!(
        v,
        c,
        "organization_id",
        "length",
        c.clouds().list_filtered(long(51), "").try_collect::<Vec<_>>()
    );
    case!(v, c, "cloud_id", "required", c.clouds().get(""));
    case!(v, c, "cloud_id", "length", c.clouds().get(long(51)));

    // Access bindings, on folders and on clouds
    let sa = Some(("serviceAccount", "ajesa"));
    for f in [true, false] {
        case!(v, c, "resource_id", "required", list_bindings(c, f, String::new()));
        case!(v, c, "resource_id", "length", list_bindings(c, f, long(65)));
        case!(
            v,
            c,
            "resource_id",
            "required",
            update_bindings(c, f, "", add(ok_binding()))
        );
        case!(
            v,
            c,
            "resource_id",
            "length",
            update_bindings(c, f, &long(65), add(ok_binding()))
        );
        case!(
            v,
            c,
            "access_binding_deltas",
            "size",
            update_bindings(c, f, "res", Vec::new())
        );
        let deltas: Vec<_> = (0..1001).map(|_| AccessBindingDelta::add(ok_binding())).collect();
        case!(
            v,
            c,
            "access_binding_deltas",
            "size",
            update_bindings(c, f, "res", deltas)
        );
        let unspecified = AccessBindingDelta {
            action: 0,
            access_binding: Some(ok_binding()),
        };
        case!(
            v,
            c,
            "access_binding_deltas[0].action",
            "required",
            update_bindings(c, f, "res", vec![unspecified])
        );
        let none = AccessBindingDelta {
            action: 1,
            access_binding: None,
        };
        case!(
            v,
            c,
            "access_binding_deltas[0].access_binding",
            "required",
            update_bindings(c, f, "res", vec![none])
        );
        case!(
            v,
            c,
            "access_binding_deltas[0].access_binding.role_id",
            "required",
            update_bindings(c, f, "res", add(binding("", sa)))
        );
        case!(
            v,
            c,
            "access_binding_deltas[0].access_binding.role_id",
            "length",
            update_bindings(c, f, "res", add(binding(&long(65), sa)))
        );
        case!(
            v,
            c,
            "access_binding_deltas[0].access_binding.subject",
            "required",
            update_bindings(c, f, "res", add(binding("viewer", None)))
        );
        case!(
            v,
            c,
            "access_binding_deltas[0].access_binding.subject.id",
            "required",
            update_bindings(c, f, "res", add(binding("viewer", Some(("serviceAccount", "")))))
        );
        case!(
            v,
            c,
            "access_binding_deltas[0].access_binding.subject.id",
            "length",
            update_bindings(
                c,
                f,
                "res",
                add(binding("viewer", Some(("serviceAccount", long(101).as_str()))))
            )
        );
        case!(
            v,
            c,
            "access_binding_deltas[0].access_binding.subject.type",
            "required",
            update_bindings(c, f, "res", add(binding("viewer", Some(("", "ajesa")))))
        );
        case!(
            v,
            c,
            "access_binding_deltas[0].access_binding.subject.type",
            "length",
            update_bindings(c, f, "res", add(binding("viewer", Some((long(101).as_str(), "ajesa")))))
        );
        case!(
            v,
            c,
            "resource_id",
            "required",
            set_bindings(c, f, "", vec![ok_binding()])
        );
        case!(
            v,
            c,
            "resource_id",
            "length",
            set_bindings(c, f, &long(65), vec![ok_binding()])
        );
        let bindings: Vec<_> = (0..1001).map(|_| ok_binding()).collect();
        case!(v, c, "access_bindings", "size", set_bindings(c, f, "res", bindings));
        case!(
            v,
            c,
            "access_bindings[0].role_id",
            "required",
            set_bindings(c, f, "res", vec![binding("", sa)])
        );
        case!(
            v,
            c,
            "access_bindings[0].subject",
            "required",
            set_bindings(c, f, "res", vec![binding("viewer", None)])
        );
    }

    // OperationService
    case!(v, c, "operation_id", "required", c.operations().get(""));
    case!(v, c, "operation_id", "required", c.operations().wait(""));
    case!(v, c, "operation_id", "required", c.operations().cancel(""));
    v
}

#[tokio::test]
async fn every_rule_broken_fails_locally_naming_field_and_rule() {
    let emu = emulator().await;
    let client = client(&emu);
    let all = cases(&client);
    assert!(all.len() > 80, "{} cases", all.len());
    for (field, rule, call) in all {
        let err = call.await.expect_err(field);
        assert!(err.is_invalid_input(), "{field}/{rule}: {err}");
        assert_eq!(err.kind(), yc_iam::ErrorKind::InvalidArgument);
        let shown = err.to_string();
        assert!(shown.contains(&format!("invalid {field}:")), "{field}/{rule}: {shown}");
        assert!(shown.contains(&format!("(rule {rule}")), "{field}/{rule}: {shown}");
        let violation = std::error::Error::source(&err)
            .and_then(|s| s.downcast_ref::<yc_iam::Violation>())
            .expect("the violation is the source");
        assert_eq!((violation.field(), violation.rule()), (field, rule));
    }
    assert!(
        emu.journal().is_empty(),
        "nothing reached the emulator: {:?}",
        emu.journal()
    );
}

#[tokio::test]
async fn an_oauth_token_too_long_for_the_exchange_is_refused_locally() {
    let emu = emulator().await;
    let client = client_with(&emu, Credentials::oauth_token(long(4001)));
    let err = client.folders().get(FOLDER).await.expect_err("refused");
    assert!(err.is_invalid_input(), "{err}");
    assert!(
        err.to_string().contains("invalid yandex_passport_oauth_token:"),
        "{err}"
    );
    assert!(err.to_string().contains("(rule length"), "{err}");
    assert!(!err.to_string().contains(&long(4001)), "the token is not shown");
    // Discovery happened (it needs no token), but no token exchange and no call.
    assert!(
        emu.journal()
            .iter()
            .all(|e| e.method.ends_with("ApiEndpointService/List"))
    );
}
