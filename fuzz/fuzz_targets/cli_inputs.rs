//! The CLI's parsers of typed values (`--labels`, `--subject`, `--expires-at`, `--expires-in`,
//! `--timeout`), compiled from the binary's own source file: never a panic, and a parsed value
//! is one the API's proto rules accept.

#![no_main]

use libfuzzer_sys::fuzz_target;
use yc_iam::Validate as _;
use yc_iam::model::{AccessBinding, AccessBindingDelta};
use yc_iam::proto::yandex::cloud::access::UpdateAccessBindingsRequest;
use yc_iam::proto::yandex::cloud::iam::v1::CreateServiceAccountRequest;

#[path = "../../src/bin/yc-iam/input.rs"]
#[allow(dead_code, unreachable_pub)]
mod input;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
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
        assert!(d.as_secs() > 0 && d.as_secs() <= 100 * 366 * 86_400, "{text:?} → {d:?}");
    }
});
