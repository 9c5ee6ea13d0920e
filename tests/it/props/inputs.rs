//! The values people type — service-account names, ids, roles, scopes, labels, descriptions — and
//! the API-key file read back on a rerun (`StoredKey::from_yaml`): the checks never panic, and
//! whatever they accept the API's own proto rules accept too, so nothing that passes the local
//! checks is refused by the server's validation.

use std::collections::BTreeMap;

use proptest::prelude::*;
use yc_iam::Validate as _;
use yc_iam::model::{AccessBinding, AccessBindingDelta};
use yc_iam::proto::yandex::cloud::access::UpdateAccessBindingsRequest;
use yc_iam::proto::yandex::cloud::iam::v1::{CreateApiKeyRequest, CreateServiceAccountRequest};
use yc_iam::provision::{
    StoredKey, check_description, check_id, check_labels, check_role, check_scopes, check_service_account_name,
};

const SECRET: &str = "AQVNsecretsecretsecretsecretsecret012345";

/// Text near the rules: mostly allowed characters, some not, lengths around the limits.
fn near(allowed: &'static str, max: usize) -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::string::string_regex(&format!("[{allowed}]{{0,{}}}", max + 3)).expect("regex"),
        1 => any::<String>(),
        1 => proptest::string::string_regex(&format!("[A-Z .é\\x00\\n{allowed}]{{0,{}}}", max + 3)).expect("regex"),
    ]
}

fn sa_request(name: &str, labels: BTreeMap<String, String>, description: &str) -> CreateServiceAccountRequest {
    CreateServiceAccountRequest {
        folder_id: "b1gfolder0000000001".into(),
        name: name.into(),
        description: description.into(),
        labels: labels.into_iter().collect(),
        ..Default::default()
    }
}

proptest! {
    #![proptest_config(super::config(1))]

    #[test]
    fn accepted_names_are_accepted_by_the_api(name in near("a-z0-9-", 63)) {
        if check_service_account_name("name", &name).is_ok() {
            let request = sa_request(&name, BTreeMap::new(), "");
            prop_assert!(request.validate().is_ok(), "{:?} passes the local check but not the proto rule: {:?}", name, request.validate());
        }
    }

    #[test]
    fn accepted_labels_are_accepted_by_the_api(
        labels in proptest::collection::btree_map(near("a-z0-9_-", 63), near("a-z0-9_-", 63), 0..4),
    ) {
        if check_labels("labels", &labels).is_ok() {
            let request = sa_request("labelled", labels.clone(), "");
            prop_assert!(request.validate().is_ok(), "{:?} passes the local check but not the proto rule: {:?}", labels, request.validate());
        }
    }

    #[test]
    fn too_many_labels_are_refused(n in 65usize..80) {
        let labels: BTreeMap<String, String> = (0..n).map(|i| (format!("k{i}"), "v".to_owned())).collect();
        prop_assert!(check_labels("labels", &labels).is_err());
    }

    #[test]
    fn accepted_descriptions_are_accepted_by_the_api(text in near("a-zA-Z0-9 .,!-", 256)) {
        if check_description("description", &text).is_ok() {
            let request = sa_request("described", BTreeMap::new(), &text);
            prop_assert!(request.validate().is_ok(), "{:?}: {:?}", text, request.validate());
        }
    }

    #[test]
    fn accepted_roles_are_accepted_by_the_api(role in near("a-zA-Z0-9._-", 64)) {
        if check_role("role", &role).is_ok() {
            let request = UpdateAccessBindingsRequest {
                resource_id: "b1gfolder0000000001".into(),
                access_binding_deltas: vec![AccessBindingDelta::add(AccessBinding::service_account(role.clone(), "ajesa0000000000000001"))],
            };
            prop_assert!(request.validate().is_ok(), "{:?}: {:?}", role, request.validate());
        }
    }

    #[test]
    fn accepted_scopes_and_ids_are_accepted_by_the_api(scope in near("a-zA-Z0-9._-", 256), id in near("a-zA-Z0-9_-", 50)) {
        if check_scopes("scopes", std::slice::from_ref(&scope)).is_ok() && check_id("service_account_id", &id).is_ok() {
            let request = CreateApiKeyRequest {
                service_account_id: id.clone(),
                scopes: vec![scope.clone()],
                ..Default::default()
            };
            prop_assert!(request.validate().is_ok(), "{:?} {:?}: {:?}", scope, id, request.validate());
        }
    }

    #[test]
    fn refusals_name_the_field_and_stay_short(text in any::<String>()) {
        for result in [
            check_service_account_name("name", &text),
            check_id("folder_id", &text),
            check_role("roles", &text),
            check_scopes("scopes", std::slice::from_ref(&text)),
            check_description("description", &text),
        ] {
            if let Err(e) = result {
                let shown = e.to_string();
                prop_assert!(shown.starts_with("invalid "), "{}", shown);
                prop_assert!(e.value.chars().count() <= 81, "the value is shortened: {}", shown);
            }
        }
    }

    #[test]
    fn key_files_round_trip(
        id in "[a-z0-9]{1,20}",
        sa in "[a-z0-9]{1,20}",
        scopes in proptest::collection::vec("[a-z]{1,8}(\\.[a-z]{1,8}){0,3}", 0..3),
        expires in proptest::option::of(0i64..4_000_000_000),
    ) {
        let key = StoredKey {
            id: id.clone(),
            service_account_id: sa.clone(),
            created_at: Some("2026-01-01T00:00:00Z".into()),
            scopes: scopes.clone(),
            expires_at: expires.map(|s| time::OffsetDateTime::from_unix_timestamp(s).expect("in range")),
            secret: SECRET.to_owned().into(),
        };
        let back = StoredKey::from_yaml(&key.to_yaml());
        prop_assert!(back.is_ok(), "{:?}", back.err());
        let back = back.expect("checked");
        prop_assert_eq!(back.id, id);
        prop_assert_eq!(back.service_account_id, sa);
        prop_assert_eq!(back.scopes, scopes);
        prop_assert_eq!(back.expires_at, key.expires_at);
        let shown = format!("{key:?}");
        prop_assert!(!shown.contains(SECRET), "{}", shown);
    }

    #[test]
    fn damaged_key_files_are_refused_without_showing_the_secret(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<char>()), 0..4),
        shape in 0u8..6,
    ) {
        let text = match shape {
            // The bare secret, as if someone had saved only that.
            0 => SECRET.to_owned(),
            1 => format!("- {SECRET}\n"),
            2 => format!("api_key: {SECRET}\nsecret: {SECRET}\n"),
            3 => format!("api_key:\n  id: [{SECRET}]\n  service_account_id: x\nsecret: {SECRET}\n"),
            4 => format!("api_key:\n  id: k\n  service_account_id: x\n  scopes: {SECRET}\nsecret: {SECRET}\n"),
            _ => format!("api_key:\n  id: k\n  service_account_id: x\n  expires_at: nope\nsecret: {{s: {SECRET}}}\n"),
        };
        let mut chars: Vec<char> = text.chars().collect();
        for (at, c) in edits {
            let i = at.index(chars.len());
            // Keep the secret itself intact, so a leak of it is recognisable.
            if !text.get(i.saturating_sub(40)..(i + 40).min(text.len())).is_some_and(|w| w.contains(SECRET)) {
                chars[i] = c;
            }
        }
        let text: String = chars.into_iter().collect();
        if let Err(problem) = StoredKey::from_yaml(&text) {
            prop_assert!(!problem.contains(SECRET), "the secret is in the error: {}", problem);
        }
    }

    #[test]
    fn arbitrary_key_file_text_never_panics(text in any::<String>()) {
        let _ = StoredKey::from_yaml(&text);
    }
}
