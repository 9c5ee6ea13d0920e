//! Messages serialized by Yandex's own generated code decode with our types, match their JSON
//! rendering field by field, and re-encode to the same bytes: the service-account, API-key,
//! access and endpoint messages, then authorized keys, static access keys, Lockbox and the AI
//! Studio tokenizer.

use std::{collections::BTreeSet, fs, path::Path};

use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, SerializeOptions};
use serde_json::Value;
use yc_iam::proto::{self, google::rpc, yandex::cloud};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

/// Decodes with the generated type named by `message` and re-encodes; `None` for an unknown name.
fn roundtrip_with_generated_type(message: &str, bytes: &[u8]) -> Option<Result<Vec<u8>, prost::DecodeError>> {
    fn via<M: Message + Default>(bytes: &[u8]) -> Result<Vec<u8>, prost::DecodeError> {
        M::decode(bytes).map(|m| m.encode_to_vec())
    }
    use cloud::{
        access,
        ai::foundation_models::v1 as ai,
        endpoint,
        iam::v1::{self as iam, awscompatibility as aws},
        lockbox::v1 as lockbox,
        operation,
    };
    let f: fn(&[u8]) -> Result<Vec<u8>, prost::DecodeError> = match message {
        "yandex.cloud.access.AccessBindingsOperationResult" => via::<access::AccessBindingsOperationResult>,
        "yandex.cloud.access.ListAccessBindingsResponse" => via::<access::ListAccessBindingsResponse>,
        "yandex.cloud.access.UpdateAccessBindingsRequest" => via::<access::UpdateAccessBindingsRequest>,
        "yandex.cloud.endpoint.ListApiEndpointsResponse" => via::<endpoint::ListApiEndpointsResponse>,
        "yandex.cloud.iam.v1.ApiKey" => via::<iam::ApiKey>,
        "yandex.cloud.iam.v1.CreateApiKeyRequest" => via::<iam::CreateApiKeyRequest>,
        "yandex.cloud.iam.v1.CreateApiKeyResponse" => via::<iam::CreateApiKeyResponse>,
        "yandex.cloud.iam.v1.CreateIamTokenRequest" => via::<iam::CreateIamTokenRequest>,
        "yandex.cloud.iam.v1.CreateIamTokenResponse" => via::<iam::CreateIamTokenResponse>,
        "yandex.cloud.iam.v1.CreateServiceAccountRequest" => via::<iam::CreateServiceAccountRequest>,
        "yandex.cloud.iam.v1.ListServiceAccountsRequest" => via::<iam::ListServiceAccountsRequest>,
        "yandex.cloud.iam.v1.ListServiceAccountsResponse" => via::<iam::ListServiceAccountsResponse>,
        "yandex.cloud.iam.v1.ServiceAccount" => via::<iam::ServiceAccount>,
        "yandex.cloud.operation.GetOperationRequest" => via::<operation::GetOperationRequest>,
        "yandex.cloud.operation.Operation" => via::<operation::Operation>,
        "google.rpc.Status" => via::<rpc::Status>,
        "yandex.cloud.iam.v1.CreateKeyRequest" => via::<iam::CreateKeyRequest>,
        "yandex.cloud.iam.v1.CreateKeyResponse" => via::<iam::CreateKeyResponse>,
        "yandex.cloud.iam.v1.Key" => via::<iam::Key>,
        "yandex.cloud.iam.v1.awscompatibility.CreateAccessKeyRequest" => via::<aws::CreateAccessKeyRequest>,
        "yandex.cloud.iam.v1.awscompatibility.CreateAccessKeyResponse" => via::<aws::CreateAccessKeyResponse>,
        "yandex.cloud.lockbox.v1.AddVersionRequest" => via::<lockbox::AddVersionRequest>,
        "yandex.cloud.lockbox.v1.CreateSecretRequest" => via::<lockbox::CreateSecretRequest>,
        "yandex.cloud.lockbox.v1.GetExRequest" => via::<lockbox::GetExRequest>,
        "yandex.cloud.lockbox.v1.Payload" => via::<lockbox::Payload>,
        "yandex.cloud.lockbox.v1.ScheduleVersionDestructionRequest" => {
            via::<lockbox::ScheduleVersionDestructionRequest>
        }
        "yandex.cloud.lockbox.v1.Secret" => via::<lockbox::Secret>,
        "yandex.cloud.ai.foundation_models.v1.TokenizeRequest" => via::<ai::TokenizeRequest>,
        "yandex.cloud.ai.foundation_models.v1.TokenizeResponse" => via::<ai::TokenizeResponse>,
        _ => return None,
    };
    Some(f(bytes))
}

/// protobuf-python renders an `Any` holding `Empty` as a plain message (`{"@type": …}`), while
/// prost-reflect treats `Empty` as a well-known type and adds `"value": {}`; both are the same bytes.
fn drop_empty_any_value(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let holds_empty = map
                .get("@type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.ends_with("/google.protobuf.Empty"));
            if holds_empty && map.get("value") == Some(&Value::Object(Default::default())) {
                map.remove("value");
            }
            map.values_mut().for_each(drop_empty_any_value);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_empty_any_value),
        _ => {}
    }
}

/// Walks both JSON trees and names the first path where they differ.
fn first_difference(path: &str, ours: &Value, theirs: &Value) -> Option<String> {
    match (ours, theirs) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            keys.into_iter().find_map(|k| match (a.get(k), b.get(k)) {
                (Some(x), Some(y)) => first_difference(&format!("{path}.{k}"), x, y),
                (x, y) => Some(format!("{path}.{k}: ours {x:?}, theirs {y:?}")),
            })
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .enumerate()
            .find_map(|(i, (x, y))| first_difference(&format!("{path}[{i}]"), x, y)),
        _ if ours == theirs => None,
        _ => Some(format!("{path}: ours {ours}, theirs {theirs}")),
    }
}

#[derive(serde::Deserialize)]
struct Index {
    vectors: Vec<Vector>,
}

#[derive(serde::Deserialize)]
struct Vector {
    message: String,
    bin: String,
    json: String,
}

/// Checks every vector of one set: the index and the files agree, each vector decodes with our
/// generated type, re-encodes to the same bytes and renders the same JSON. Returns how many.
fn check_vector_set(set: &str) -> usize {
    let dir = Path::new(FIXTURES).join(set);
    let index: Index = serde_json::from_slice(&fs::read(dir.join("index.json")).unwrap()).unwrap();
    let pool = DescriptorPool::decode(proto::FILE_DESCRIPTOR_SET).unwrap();
    let json_options = SerializeOptions::new().use_proto_field_name(true);

    let on_disk: BTreeSet<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".bin"))
        .collect();
    let indexed: BTreeSet<String> = index.vectors.iter().map(|v| v.bin.clone()).collect();
    assert_eq!(
        on_disk, indexed,
        "{set}: every .bin on disk is in index.json and the other way round"
    );

    let mut failures = Vec::new();
    for v in &index.vectors {
        let bytes = fs::read(dir.join(&v.bin)).unwrap();
        let expected: Value = serde_json::from_slice(&fs::read(dir.join(&v.json)).unwrap()).unwrap();
        let reencoded = match roundtrip_with_generated_type(&v.message, &bytes) {
            None => {
                failures.push(format!("{}: no generated type for {}", v.bin, v.message));
                continue;
            }
            Some(Err(e)) => {
                failures.push(format!("{}: decode failed: {e}", v.bin));
                continue;
            }
            Some(Ok(b)) => b,
        };
        if reencoded != bytes {
            failures.push(format!("{}: re-encoded bytes differ", v.bin));
        }
        let descriptor = pool
            .get_message_by_name(&v.message)
            .expect("message in our descriptors");
        let dynamic = DynamicMessage::decode(descriptor, reencoded.as_slice()).unwrap();
        let mut ser = serde_json::Serializer::new(Vec::new());
        dynamic.serialize_with_options(&mut ser, &json_options).unwrap();
        let mut ours: Value = serde_json::from_slice(&ser.into_inner()).unwrap();
        drop_empty_any_value(&mut ours);
        if let Some(diff) = first_difference("$", &ours, &expected) {
            failures.push(format!("{}: {diff}", v.bin));
        }
    }
    assert!(
        failures.is_empty(),
        "{set}: wire vectors failed:\n{}",
        failures.join("\n")
    );
    index.vectors.len()
}

#[test]
fn every_official_wire_vector_decodes_matches_its_json_and_reencodes_byte_for_byte() {
    let checked = check_vector_set("wire");
    assert!(checked >= 24, "the vector set shrank to {checked}");
}

#[test]
fn key_access_key_lockbox_and_tokenizer_vectors_decode_match_their_json_and_reencode_byte_for_byte() {
    let checked = check_vector_set("wire-2");
    assert!(checked >= 13, "the vector set shrank to {checked}");
}
