//! The checks on values people type (names, ids, roles, scopes, labels, descriptions): never a
//! panic, and whatever they accept the API's own proto rules accept too.

#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use yc_iam::Validate as _;
use yc_iam::proto::yandex::cloud::iam::v1::{CreateApiKeyRequest, CreateServiceAccountRequest};
use yc_iam::provision::{
    check_description, check_id, check_labels, check_role, check_scope, check_service_account_name,
};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(3, '\u{1}');
    let a = parts.next().unwrap_or_default();
    let b = parts.next().unwrap_or_default();
    let c = parts.next().unwrap_or_default();

    let name_ok = check_service_account_name("name", a).is_ok();
    let mut labels = BTreeMap::new();
    labels.insert(b.to_owned(), c.to_owned());
    let labels_ok = check_labels("labels", &labels).is_ok();
    let description_ok = check_description("description", c).is_ok();
    if name_ok && labels_ok && description_ok {
        let request = CreateServiceAccountRequest {
            folder_id: "b1gfolder0000000001".into(),
            name: a.into(),
            description: c.into(),
            labels: labels.clone().into_iter().collect(),
            ..Default::default()
        };
        assert!(request.validate().is_ok(), "{a:?} {labels:?} {c:?}: {:?}", request.validate());
    }
    let _ = check_role("role", a);
    if check_scope("scope", b).is_ok() && check_id("id", c).is_ok() {
        let request = CreateApiKeyRequest {
            service_account_id: c.into(),
            scopes: vec![b.into()],
            ..Default::default()
        };
        assert!(request.validate().is_ok(), "{b:?} {c:?}: {:?}", request.validate());
    }
});
