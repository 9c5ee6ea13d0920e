//! The values people type: the CLI's flag parsers (`--labels`, `--subject`, `--expires-at`, and
//! the durations of `--expires-in`, `--timeout`, `--op-delay`; compiled here from the binary's
//! source) and the library's input
//! rules (names, ids, roles, scopes, labels, descriptions). Never a panic, and whatever they accept
//! the API's proto rules accept too.

#![no_main]

use libfuzzer_sys::fuzz_target;
use yc_iam::Validate as _;
use yc_iam::model::{AccessBinding, AccessBindingDelta};
use yc_iam::proto::yandex::cloud::access::UpdateAccessBindingsRequest;
use yc_iam::proto::yandex::cloud::iam::v1::{CreateApiKeyRequest, CreateServiceAccountRequest};
use yc_iam::provision::{
    check_description, check_id, check_labels, check_role, check_scope, check_service_account_name,
};

#[allow(dead_code)]
#[path = "../../src/bin/yc-iam/input.rs"]
mod input;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    rules(&text);
    if let Ok(labels) = input::parse_labels(&text) {
        let request = CreateServiceAccountRequest {
            folder_id: "b1gfolder0000000001".into(),
            name: "labelled".into(),
            labels: labels.into_iter().collect(),
            ..Default::default()
        };
        assert!(request.validate().is_ok(), "{text:?}: {:?}", request.validate());
    }
    if let Ok(subject) = input::parse_subject(&text) {
        let request = UpdateAccessBindingsRequest {
            resource_id: "b1gfolder0000000001".into(),
            access_binding_deltas: vec![AccessBindingDelta::add(AccessBinding::new("viewer", subject.kind, subject.id))],
        };
        assert!(request.validate().is_ok(), "{text:?}: {:?}", request.validate());
    }
    let _ = input::parse_timestamp(&text);
    if let Ok(d) = input::parse_duration(&text) {
        assert!(d.as_secs() <= 100 * 366 * 86_400, "{text:?} → {d:?}");
        assert_eq!(input::parse_positive_duration(&text).is_ok(), !d.is_zero(), "{text:?}");
    }
});

/// The library's rules on three fields split from the input (separated by `\u{1}`).
fn rules(text: &str) {
    let mut parts = text.splitn(3, '\u{1}');
    let a = parts.next().unwrap_or_default();
    let b = parts.next().unwrap_or_default();
    let c = parts.next().unwrap_or_default();
    let mut labels = std::collections::BTreeMap::new();
    labels.insert(b.to_owned(), c.to_owned());
    if check_service_account_name("name", a).is_ok()
        && check_labels("labels", &labels).is_ok()
        && check_description("description", c).is_ok()
    {
        let request = CreateServiceAccountRequest {
            folder_id: "b1gfolder0000000001".into(),
            name: a.into(),
            description: c.into(),
            labels: labels.clone().into_iter().collect(),
            ..Default::default()
        };
        assert!(request.validate().is_ok(), "{a:?} {labels:?} {c:?}: {:?}", request.validate());
    }
    if check_role("role", a).is_ok() {
        let request = UpdateAccessBindingsRequest {
            resource_id: "b1gfolder0000000001".into(),
            access_binding_deltas: vec![AccessBindingDelta::add(AccessBinding::service_account(a, "ajesa0000000000000001"))],
        };
        assert!(request.validate().is_ok(), "{a:?}: {:?}", request.validate());
    }
    if check_scope("scope", b).is_ok() && check_id("id", c).is_ok() {
        let request = CreateApiKeyRequest {
            service_account_id: c.into(),
            scopes: vec![b.into()],
            ..Default::default()
        };
        assert!(request.validate().is_ok(), "{b:?} {c:?}: {:?}", request.validate());
    }
}
