//! Every `yandex.cloud` rule in our descriptors is enforced by the generated `Validate` impls:
//! for each request message a valid message is built from the rules themselves, then each rule is
//! broken once, and the violation must name that field and that rule.

use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, FieldDescriptor, Kind, MapKey, MessageDescriptor, Value};
use yc_iam::{Validate, Violation, proto::FILE_DESCRIPTOR_SET};

/// Decodes `bytes` as the generated type named `message` and validates it.
fn validate_as(message: &str, bytes: &[u8]) -> Option<Result<(), Violation>> {
    fn via<M: Message + Default + Validate>(bytes: &[u8]) -> Result<(), Violation> {
        M::decode(bytes).expect("a message we encoded decodes").validate()
    }
    use yc_iam::proto::yandex::cloud::{
        access,
        ai::foundation_models::v1 as ai,
        endpoint,
        iam::v1::{self as iam, awscompatibility as aws},
        lockbox::v1 as lockbox,
        operation,
        resourcemanager::v1 as rm,
    };
    let f: fn(&[u8]) -> Result<(), Violation> = match message {
        "yandex.cloud.access.ListAccessBindingsRequest" => via::<access::ListAccessBindingsRequest>,
        "yandex.cloud.access.SetAccessBindingsRequest" => via::<access::SetAccessBindingsRequest>,
        "yandex.cloud.access.UpdateAccessBindingsRequest" => via::<access::UpdateAccessBindingsRequest>,
        "yandex.cloud.endpoint.GetApiEndpointRequest" => via::<endpoint::GetApiEndpointRequest>,
        "yandex.cloud.endpoint.ListApiEndpointsRequest" => via::<endpoint::ListApiEndpointsRequest>,
        "yandex.cloud.iam.v1.CreateApiKeyRequest" => via::<iam::CreateApiKeyRequest>,
        "yandex.cloud.iam.v1.CreateIamTokenRequest" => via::<iam::CreateIamTokenRequest>,
        "yandex.cloud.iam.v1.CreateServiceAccountRequest" => via::<iam::CreateServiceAccountRequest>,
        "yandex.cloud.iam.v1.DeleteApiKeyRequest" => via::<iam::DeleteApiKeyRequest>,
        "yandex.cloud.iam.v1.DeleteServiceAccountRequest" => via::<iam::DeleteServiceAccountRequest>,
        "yandex.cloud.iam.v1.GetApiKeyRequest" => via::<iam::GetApiKeyRequest>,
        "yandex.cloud.iam.v1.GetServiceAccountRequest" => via::<iam::GetServiceAccountRequest>,
        "yandex.cloud.iam.v1.ListApiKeyScopesRequest" => via::<iam::ListApiKeyScopesRequest>,
        "yandex.cloud.iam.v1.ListApiKeysRequest" => via::<iam::ListApiKeysRequest>,
        "yandex.cloud.iam.v1.ListServiceAccountsRequest" => via::<iam::ListServiceAccountsRequest>,
        "yandex.cloud.iam.v1.UpdateApiKeyRequest" => via::<iam::UpdateApiKeyRequest>,
        "yandex.cloud.iam.v1.UpdateServiceAccountRequest" => via::<iam::UpdateServiceAccountRequest>,
        "yandex.cloud.operation.CancelOperationRequest" => via::<operation::CancelOperationRequest>,
        "yandex.cloud.operation.GetOperationRequest" => via::<operation::GetOperationRequest>,
        "yandex.cloud.resourcemanager.v1.GetCloudRequest" => via::<rm::GetCloudRequest>,
        "yandex.cloud.resourcemanager.v1.GetFolderRequest" => via::<rm::GetFolderRequest>,
        "yandex.cloud.resourcemanager.v1.ListCloudsRequest" => via::<rm::ListCloudsRequest>,
        "yandex.cloud.resourcemanager.v1.ListFoldersRequest" => via::<rm::ListFoldersRequest>,
        "yandex.cloud.iam.v1.GetKeyRequest" => via::<iam::GetKeyRequest>,
        "yandex.cloud.iam.v1.ListKeysRequest" => via::<iam::ListKeysRequest>,
        "yandex.cloud.iam.v1.CreateKeyRequest" => via::<iam::CreateKeyRequest>,
        "yandex.cloud.iam.v1.UpdateKeyRequest" => via::<iam::UpdateKeyRequest>,
        "yandex.cloud.iam.v1.DeleteKeyRequest" => via::<iam::DeleteKeyRequest>,
        "yandex.cloud.iam.v1.ListKeyOperationsRequest" => via::<iam::ListKeyOperationsRequest>,
        "yandex.cloud.iam.v1.awscompatibility.GetAccessKeyRequest" => via::<aws::GetAccessKeyRequest>,
        "yandex.cloud.iam.v1.awscompatibility.ListAccessKeysRequest" => via::<aws::ListAccessKeysRequest>,
        "yandex.cloud.iam.v1.awscompatibility.CreateAccessKeyRequest" => via::<aws::CreateAccessKeyRequest>,
        "yandex.cloud.iam.v1.awscompatibility.UpdateAccessKeyRequest" => via::<aws::UpdateAccessKeyRequest>,
        "yandex.cloud.iam.v1.awscompatibility.DeleteAccessKeyRequest" => via::<aws::DeleteAccessKeyRequest>,
        "yandex.cloud.iam.v1.awscompatibility.ListAccessKeyOperationsRequest" => {
            via::<aws::ListAccessKeyOperationsRequest>
        }
        "yandex.cloud.lockbox.v1.GetSecretRequest" => via::<lockbox::GetSecretRequest>,
        "yandex.cloud.lockbox.v1.ListSecretsRequest" => via::<lockbox::ListSecretsRequest>,
        "yandex.cloud.lockbox.v1.CreateSecretRequest" => via::<lockbox::CreateSecretRequest>,
        "yandex.cloud.lockbox.v1.UpdateSecretRequest" => via::<lockbox::UpdateSecretRequest>,
        "yandex.cloud.lockbox.v1.DeleteSecretRequest" => via::<lockbox::DeleteSecretRequest>,
        "yandex.cloud.lockbox.v1.ActivateSecretRequest" => via::<lockbox::ActivateSecretRequest>,
        "yandex.cloud.lockbox.v1.DeactivateSecretRequest" => via::<lockbox::DeactivateSecretRequest>,
        "yandex.cloud.lockbox.v1.ListVersionsRequest" => via::<lockbox::ListVersionsRequest>,
        "yandex.cloud.lockbox.v1.AddVersionRequest" => via::<lockbox::AddVersionRequest>,
        "yandex.cloud.lockbox.v1.SetCurrentVersionRequest" => via::<lockbox::SetCurrentVersionRequest>,
        "yandex.cloud.lockbox.v1.ScheduleVersionDestructionRequest" => {
            via::<lockbox::ScheduleVersionDestructionRequest>
        }
        "yandex.cloud.lockbox.v1.CancelVersionDestructionRequest" => via::<lockbox::CancelVersionDestructionRequest>,
        "yandex.cloud.lockbox.v1.ListSecretOperationsRequest" => via::<lockbox::ListSecretOperationsRequest>,
        "yandex.cloud.lockbox.v1.GetPayloadRequest" => via::<lockbox::GetPayloadRequest>,
        "yandex.cloud.lockbox.v1.GetExRequest" => via::<lockbox::GetExRequest>,
        "yandex.cloud.ai.foundation_models.v1.TokenizeRequest" => via::<ai::TokenizeRequest>,
        "yandex.cloud.ai.foundation_models.v1.CompletionRequest" => via::<ai::CompletionRequest>,
        _ => return None,
    };
    Some(f(bytes))
}

fn pool() -> DescriptorPool {
    DescriptorPool::decode(FILE_DESCRIPTOR_SET).unwrap()
}

/// The text of a `yandex.cloud.<name>` string option on `field`, if set.
fn rule(field: &FieldDescriptor, name: &str) -> Option<String> {
    let pool = field.parent_pool();
    let ext = pool.get_extension_by_name(&format!("yandex.cloud.{name}"))?;
    let options = field.options();
    if !options.has_extension(&ext) {
        return None;
    }
    match &*options.get_extension(&ext) {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Bool(true) => Some("true".into()),
        Value::Message(m) if name == "map_key" => Some(format!("{m:?}")),
        _ => None,
    }
}

fn map_key(field: &FieldDescriptor, part: &str) -> Option<String> {
    let ext = field.parent_pool().get_extension_by_name("yandex.cloud.map_key")?;
    let options = field.options();
    let spec = options.get_extension(&ext);
    spec.as_message()?
        .get_field_by_name(part)?
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// `(min, max)` of a bound such as `<=50` or `1-63`.
fn bounds(text: &str) -> (Option<i64>, Option<i64>) {
    if let Some(n) = text.strip_prefix("<=") {
        (None, n.parse().ok())
    } else if let Some((lo, hi)) = text.split_once('-') {
        (lo.parse().ok(), hi.parse().ok())
    } else {
        panic!("a bound this test does not know: {text}")
    }
}

fn is_ours(m: &MessageDescriptor) -> bool {
    m.full_name().starts_with("yandex.cloud.")
}

/// A valid value for one field: the smallest thing every rule of the field accepts.
fn valid_value(field: &FieldDescriptor) -> Option<Value> {
    let needs_one = rule(field, "required").is_some()
        || rule(field, "size").is_some_and(|s| bounds(&s).0.is_some_and(|lo| lo >= 1))
        || field
            .containing_oneof()
            .is_some_and(|o| o.fields().next().is_some_and(|f| f == *field));
    let element = || match field.kind() {
        Kind::String => Value::String("a".into()),
        Kind::Enum(_) => Value::EnumNumber(1),
        Kind::Int64 => Value::I64(1),
        Kind::Bool => Value::Bool(true),
        Kind::Bytes => Value::Bytes(vec![1].into()),
        Kind::Message(m) => Value::Message(valid_message(&m)),
        other => panic!("a kind this test does not fill: {other:?}"),
    };
    if field.is_map() {
        return None;
    }
    if field.is_list() {
        return needs_one.then(|| Value::List(vec![element()]));
    }
    needs_one.then(element)
}

fn valid_message(desc: &MessageDescriptor) -> DynamicMessage {
    let mut message = DynamicMessage::new(desc.clone());
    for field in desc.fields() {
        if let Some(v) = valid_value(&field) {
            message.set_field(&field, v);
        }
    }
    message
}

/// One broken rule: the field path and rule the violation must name, and the broken message.
struct Case {
    field: String,
    rule: &'static str,
    message: DynamicMessage,
}

fn with(base: &DynamicMessage, field: &FieldDescriptor, value: Value) -> DynamicMessage {
    let mut m = base.clone();
    m.set_field(field, value);
    m
}

fn string_cases(
    field: &FieldDescriptor,
    base: &DynamicMessage,
    wrap: impl Fn(String) -> Value,
) -> Vec<(&'static str, DynamicMessage)> {
    let mut out = Vec::new();
    if let Some(length) = rule(field, "length") {
        let (min, max) = bounds(&length);
        if let Some(max) = max {
            out.push(("length", with(base, field, wrap("a".repeat(max as usize + 1)))));
        }
        if min.is_some_and(|lo| lo > 0) {
            out.push(("length", with(base, field, wrap(String::new()))));
        }
    }
    if rule(field, "pattern").is_some() {
        out.push(("pattern", with(base, field, wrap("Not Valid!".into()))));
    }
    out
}

fn push(out: &mut Vec<Case>, field: &FieldDescriptor, rule: &'static str, message: DynamicMessage) {
    out.push(Case {
        field: field.name().to_owned(),
        rule,
        message,
    });
}

fn cases(desc: &MessageDescriptor) -> Vec<Case> {
    let base = valid_message(desc);
    let mut out = Vec::new();
    for oneof in desc.oneofs() {
        let ext = desc
            .parent_pool()
            .get_extension_by_name("yandex.cloud.exactly_one")
            .unwrap();
        if oneof.options().get_extension(&ext).as_bool() == Some(true) {
            let mut m = base.clone();
            oneof.fields().for_each(|f| m.clear_field(&f));
            out.push(Case {
                field: oneof.name().to_owned(),
                rule: "exactly_one",
                message: m,
            });
        }
    }
    for field in desc.fields() {
        if rule(&field, "required").is_some() {
            let mut m = base.clone();
            m.clear_field(&field);
            push(&mut out, &field, "required", m);
        }
        if field.is_map() {
            let entry = |k: &str, v: &str| {
                let mut map = std::collections::HashMap::new();
                map.insert(MapKey::String(k.into()), Value::String(v.into()));
                Value::Map(map)
            };
            if let Some(size) = rule(&field, "size") {
                let max = bounds(&size).1.unwrap() as usize;
                let map = (0..=max)
                    .map(|i| (MapKey::String(format!("k{i}")), Value::String("v".into())))
                    .collect();
                push(&mut out, &field, "size", with(&base, &field, Value::Map(map)));
            }
            let mut entry_case = |rule: &'static str, key: &str, value: &str| {
                let m = with(&base, &field, entry(key, value));
                out.push(Case {
                    field: format!("{}[{key:?}]", field.name()),
                    rule,
                    message: m,
                });
            };
            if let Some(length) = rule(&field, "length") {
                let max = bounds(&length).1.unwrap() as usize;
                entry_case("length", "k", &"a".repeat(max + 1));
            }
            if rule(&field, "pattern").is_some() {
                entry_case("pattern", "k", "Not Valid!");
            }
            if map_key(&field, "pattern").is_some() {
                entry_case("map_key", "Not Valid!", "v");
            }
            if let Some(length) = map_key(&field, "length") {
                let (min, max) = bounds(&length);
                entry_case("map_key", &"a".repeat(max.unwrap() as usize + 1), "v");
                if min.is_some_and(|lo| lo > 0) {
                    entry_case("map_key", "", "v");
                }
            }
            continue;
        }
        if field.is_list() {
            let item = match field.kind() {
                Kind::Message(m) => Value::Message(valid_message(&m)),
                _ => Value::String("a".into()),
            };
            if let Some(size) = rule(&field, "size") {
                let (min, max) = bounds(&size);
                let many = (0..=max.unwrap()).map(|i| match &item {
                    Value::String(_) => Value::String(format!("s{i}")),
                    other => other.clone(),
                });
                push(
                    &mut out,
                    &field,
                    "size",
                    with(&base, &field, Value::List(many.collect())),
                );
                if min.is_some_and(|lo| lo > 0) {
                    push(&mut out, &field, "size", with(&base, &field, Value::List(vec![])));
                }
            }
            if rule(&field, "unique").is_some() {
                push(
                    &mut out,
                    &field,
                    "unique",
                    with(&base, &field, Value::List(vec![item.clone(), item.clone()])),
                );
            }
            if field.kind() == Kind::String {
                for (rule, m) in string_cases(&field, &base, |s| Value::List(vec![Value::String(s)])) {
                    out.push(Case {
                        field: format!("{}[0]", field.name()),
                        rule,
                        message: m,
                    });
                }
            }
            if let Kind::Message(inner) = field.kind().clone() {
                for case in cases(&inner).into_iter().filter(|_| is_ours(&inner)) {
                    let m = with(&base, &field, Value::List(vec![Value::Message(case.message)]));
                    out.push(Case {
                        field: format!("{}[0].{}", field.name(), case.field),
                        rule: case.rule,
                        message: m,
                    });
                }
            }
            continue;
        }
        match field.kind() {
            Kind::String => {
                for (rule, m) in string_cases(&field, &base, Value::String) {
                    push(&mut out, &field, rule, m);
                }
            }
            Kind::Int64 => {
                if let Some(range) = rule(&field, "value") {
                    let (min, max) = bounds(&range);
                    for outside in [max.map(|hi| hi + 1), min.map(|lo| lo - 1)].into_iter().flatten() {
                        push(&mut out, &field, "value", with(&base, &field, Value::I64(outside)));
                    }
                }
            }
            Kind::Bytes => {
                if let Some(max) = rule(&field, "length").and_then(|length| bounds(&length).1) {
                    let long = Value::Bytes(vec![0; max as usize + 1].into());
                    push(&mut out, &field, "length", with(&base, &field, long));
                }
            }
            Kind::Message(inner)
                if inner.full_name() == "google.protobuf.Timestamp" && rule(&field, "value").is_some() =>
            {
                for seconds in [-1, 4_291_747_200] {
                    let mut t = DynamicMessage::new(inner.clone());
                    t.set_field_by_name("seconds", Value::I64(seconds));
                    push(&mut out, &field, "value", with(&base, &field, Value::Message(t)));
                }
            }
            Kind::Message(inner) if is_ours(&inner) => {
                for case in cases(&inner) {
                    let m = with(&base, &field, Value::Message(case.message));
                    out.push(Case {
                        field: format!("{}.{}", field.name(), case.field),
                        rule: case.rule,
                        message: m,
                    });
                }
            }
            _ => {}
        }
    }
    out
}

fn request_messages(pool: &DescriptorPool) -> Vec<MessageDescriptor> {
    pool.services()
        .flat_map(|s| s.methods().map(|m| m.input()).collect::<Vec<_>>())
        .collect()
}

#[test]
fn a_message_built_to_satisfy_every_rule_passes_validation() {
    let pool = pool();
    for desc in request_messages(&pool) {
        let bytes = valid_message(&desc).encode_to_vec();
        let result = validate_as(desc.full_name(), &bytes)
            .unwrap_or_else(|| panic!("{} has no generated type in this test's table", desc.full_name()));
        assert_eq!(result, Ok(()), "{}", desc.full_name());
    }
}

#[test]
fn breaking_each_rule_of_each_request_message_names_that_field_and_rule() {
    let pool = pool();
    let mut checked = 0;
    let mut failures = Vec::new();
    for desc in request_messages(&pool) {
        for case in cases(&desc) {
            checked += 1;
            let bytes = case.message.encode_to_vec();
            match validate_as(desc.full_name(), &bytes).expect("every request type is in the table") {
                Err(v) if v.field() == case.field && v.rule() == case.rule => {
                    let line = v.to_string();
                    assert!(line.contains(&case.field) && line.contains(case.rule), "{line}");
                }
                other => failures.push(format!(
                    "{} {} {}: got {other:?}",
                    desc.full_name(),
                    case.field,
                    case.rule
                )),
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked >= 100, "only {checked} broken rules were tried");
}

#[test]
fn a_violation_never_repeats_the_offending_value() {
    use yc_iam::proto::yandex::cloud::iam::v1::{CreateIamTokenRequest, create_iam_token_request::Identity};
    let secret = format!("y0_{}", "S".repeat(4000));
    let err = CreateIamTokenRequest {
        identity: Some(Identity::YandexPassportOauthToken(secret)),
    }
    .validate()
    .unwrap_err();
    assert_eq!(
        (err.field(), err.rule(), err.expected()),
        ("yandex_passport_oauth_token", "length", "<=4000")
    );
    assert!(!err.to_string().contains("SSSS") && !format!("{err:?}").contains("SSSS"));
}
