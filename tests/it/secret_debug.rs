//! Generated messages that carry secrets print none through `Debug`: API-key secrets, IAM tokens,
//! OAuth tokens and JWTs, authorized-key private keys, static-key secrets and Lockbox payload
//! values are masked, while what names them (ids, entry keys) stays readable. Each message is the
//! one Yandex's own code serialized, from the wire vectors.

use std::{collections::BTreeMap, fmt::Debug, fs, path::Path};

use prost::Message;
use serde_json::Value;
use yc_iam::proto::yandex::cloud::{
    iam::v1::{
        CreateApiKeyResponse, CreateIamTokenRequest, CreateIamTokenResponse, CreateKeyResponse,
        awscompatibility::CreateAccessKeyResponse,
    },
    lockbox::v1::{AddVersionRequest, CreateSecretRequest, GetExResponse, Payload},
};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

/// The message of one vector, decoded with its generated type, and the vector's JSON.
fn vector<M: Message + Default>(set: &str, name: &str) -> (M, Value) {
    let dir = Path::new(FIXTURES).join(set);
    let message = M::decode(fs::read(dir.join(format!("{name}.bin"))).unwrap().as_slice()).unwrap();
    let json = serde_json::from_slice(&fs::read(dir.join(format!("{name}.json"))).unwrap()).unwrap();
    (message, json)
}

/// The string at `path` (object keys and array indices) in `json`.
fn at<'a>(json: &'a Value, path: &[&str]) -> &'a str {
    path.iter()
        .fold(json, |v, p| match p.parse::<usize>() {
            Ok(i) => &v[i],
            Err(_) => &v[*p],
        })
        .as_str()
        .unwrap_or_else(|| panic!("{path:?} is a string in the vector"))
}

/// `Debug` of `message`, checked to hold none of `secrets` and all of `visible`.
fn assert_masked(message: &impl Debug, secrets: &[&str], visible: &[&str]) {
    let printed = format!("{message:?}");
    let pretty = format!("{message:#?}");
    for secret in secrets {
        assert!(secret.len() >= 8, "a secret worth looking for: {secret:?}");
        assert!(
            !printed.contains(secret) && !pretty.contains(secret),
            "Debug shows a secret: {printed}"
        );
    }
    for name in visible {
        assert!(
            printed.contains(name),
            "Debug hides {name:?}, which is no secret: {printed}"
        );
    }
    assert!(
        printed.contains("***"),
        "Debug says that something was masked: {printed}"
    );
}

#[test]
fn api_key_secrets_and_iam_credentials_are_masked() {
    let (response, json) = vector::<CreateApiKeyResponse>("wire", "yandex.cloud.iam.v1.CreateApiKeyResponse.basic");
    assert_masked(&response, &[at(&json, &["secret"])], &[at(&json, &["api_key", "id"])]);

    for case in ["oauth", "jwt"] {
        let name = format!("yandex.cloud.iam.v1.CreateIamTokenRequest.{case}");
        let (request, json) = vector::<CreateIamTokenRequest>("wire", &name);
        let credential = json.as_object().unwrap().values().next().unwrap().as_str().unwrap();
        assert_masked(&request, &[credential], &[]);
    }

    let (response, json) = vector::<CreateIamTokenResponse>("wire", "yandex.cloud.iam.v1.CreateIamTokenResponse.basic");
    assert_masked(&response, &[at(&json, &["iam_token"])], &[]);
}

#[test]
fn an_authorized_keys_private_key_is_masked_and_its_public_half_is_not() {
    let (response, json) = vector::<CreateKeyResponse>("wire-2", "yandex.cloud.iam.v1.CreateKeyResponse.basic");
    let private_key = at(&json, &["private_key"]);
    // The PEM body alone, without the first line that only names the key.
    let body = private_key.lines().nth(2).unwrap();
    assert_masked(
        &response,
        &[private_key, body],
        &[at(&json, &["key", "id"]), "BEGIN PUBLIC KEY"],
    );
}

#[test]
fn a_static_access_keys_secret_is_masked_and_its_key_id_is_not() {
    let (response, json) = vector::<CreateAccessKeyResponse>(
        "wire-2",
        "yandex.cloud.iam.v1.awscompatibility.CreateAccessKeyResponse.basic",
    );
    assert_masked(
        &response,
        &[at(&json, &["secret"])],
        &[at(&json, &["access_key", "key_id"])],
    );
}

#[test]
fn lockbox_payload_values_are_masked_in_every_message_that_carries_them() {
    let (payload, json) = vector::<Payload>("wire-2", "yandex.cloud.lockbox.v1.Payload.text");
    assert_masked(
        &payload,
        &[at(&json, &["entries", "0", "text_value"])],
        &[at(&json, &["entries", "0", "key"]), "TextValue"],
    );

    let (create, json) =
        vector::<CreateSecretRequest>("wire-2", "yandex.cloud.lockbox.v1.CreateSecretRequest.with_payload");
    let entries = ["version_payload_entries", "1"];
    assert_masked(
        &create,
        &[at(&json, &[entries[0], entries[1], "text_value"])],
        &[at(&json, &[entries[0], entries[1], "key"]), at(&json, &["name"])],
    );

    let (add, json) = vector::<AddVersionRequest>("wire-2", "yandex.cloud.lockbox.v1.AddVersionRequest.rotate");
    assert_masked(
        &add,
        &[at(&json, &["payload_entries", "1", "text_value"])],
        &[at(&json, &["payload_entries", "1", "key"]), at(&json, &["secret_id"])],
    );

    // Binary values: neither the bytes nor their rendering as a list of numbers shows.
    let secret = b"binary-secret-0123456789".to_vec();
    let binary = Payload {
        version_id: "e6qversion0000000002".into(),
        entries: vec![yc_iam::proto::yandex::cloud::lockbox::v1::payload::Entry {
            key: "tls-key".into(),
            value: Some(yc_iam::proto::yandex::cloud::lockbox::v1::payload::entry::Value::BinaryValue(secret.clone())),
        }],
    };
    let as_numbers = format!("{:?}", &secret[..8]);
    let as_numbers = as_numbers.trim_matches(['[', ']']);
    assert_masked(&binary, &["binary-secret", as_numbers], &["tls-key", "BinaryValue"]);

    let ex = GetExResponse {
        secret_id: "e6qsecret00000000001".into(),
        version_id: "e6qversion0000000001".into(),
        entries: BTreeMap::from([("api-key".to_string(), b"AQVNgetexsecret000001".to_vec())]),
    };
    let as_numbers = format!("{:?}", &b"AQVNgetexsecret000001"[..8]);
    assert_masked(
        &ex,
        &["AQVNgetexsecret000001", as_numbers.trim_matches(['[', ']'])],
        &["api-key", "e6qsecret00000000001"],
    );
}
