//! Our compiled descriptors carry the same messages, fields, services and `yandex.cloud` options
//! as Yandex's published ones, as listed in api-facts.md and api-facts-2.md (copied to
//! tests/fixtures).

use std::collections::BTreeMap;

use prost_reflect::{DescriptorPool, DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, Value};
use yc_iam::proto::FILE_DESCRIPTOR_SET;

/// Both sets of facts: the first (service accounts, API keys, access, operations, endpoints) and
/// the second (authorized keys, static access keys, Lockbox, AI Studio text models).
const FACTS: &[&str] = &[
    include_str!("../fixtures/api-facts.md"),
    include_str!("../fixtures/api-facts-2.md"),
];

/// One row of a message table in the facts.
#[derive(Debug)]
struct FactField {
    number: u32,
    name: String,
    ty: String,
    label: String,
    oneof: String,
    rules: Vec<(String, String)>,
}

#[derive(Debug, Default)]
struct Facts {
    messages: BTreeMap<String, Vec<FactField>>,
    reserved: BTreeMap<String, Vec<u32>>,
    exactly_one: BTreeMap<String, Vec<String>>,
    /// service → method → (request, response, operation option)
    methods: BTreeMap<String, BTreeMap<String, (String, String, String)>>,
    enums: BTreeMap<String, String>,
}

fn between<'a>(line: &'a str, open: &str, close: char) -> Option<&'a str> {
    let start = line.find(open)? + open.len();
    let len = line[start..].find(close)?;
    Some(&line[start..start + len])
}

/// Splits `required=True, pattern='a,b', map_key="{...}", deprecated` respecting quotes. Quoted
/// values are Python string literals: `\\` stands for one backslash.
fn parse_rules(text: &str) -> Vec<(String, String)> {
    let mut rules = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = std::iter::from_fn(|| chars.next_if(|c| *c != '=' && *c != ',')).collect();
        if key.is_empty() {
            return rules;
        }
        let mut value = String::new();
        if chars.next_if_eq(&'=').is_some() {
            match chars.peek().copied() {
                Some(q @ ('\'' | '"')) => {
                    chars.next();
                    while let Some(c) = chars.next_if(|c| *c != q) {
                        value.push(if c == '\\' { chars.next().unwrap_or(c) } else { c });
                    }
                    chars.next();
                }
                _ => value = std::iter::from_fn(|| chars.next_if(|c| *c != ',')).collect(),
            }
        }
        rules.push((key.trim().to_string(), value));
    }
}

/// `8` or `3-20` (inclusive), as the facts list reserved numbers.
fn reserved_numbers(item: &str) -> std::ops::RangeInclusive<u32> {
    let number = |n: &str| n.trim().parse::<u32>().unwrap();
    match item.split_once('-') {
        Some((lo, hi)) => number(lo)..=number(hi),
        None => number(item)..=number(item),
    }
}

fn parse_facts() -> Facts {
    let mut facts = Facts::default();
    for text in FACTS {
        parse_facts_file(text, &mut facts);
    }
    facts
}

fn parse_facts_file(text: &str, facts: &mut Facts) {
    let mut package = String::new();
    let mut message: Option<String> = None;
    let mut service: Option<String> = None;
    let mut current_enum: Option<String> = None;
    for line in text.lines() {
        if let Some(p) = between(line, "(package `", '`') {
            package = p.to_string();
        } else if let Some(m) = between(line, "#### message `", '`') {
            message = Some(m.to_string());
            service = None;
            current_enum = None;
            let first = facts.messages.insert(m.to_string(), Vec::new()).is_none();
            assert!(first, "{m} is listed twice in the facts");
        } else if let Some(s) = between(line, "### service `", '`') {
            service = Some(s.to_string());
            message = None;
            current_enum = None;
        } else if let Some(e) = between(line, "#### enum `", '`') {
            message = None;
            service = None;
            current_enum = Some(e.to_string());
        } else if let Some(list) = line.strip_prefix("reserved numbers: ") {
            let numbers = list.split(',').flat_map(reserved_numbers);
            facts.reserved.insert(message.clone().unwrap(), numbers.collect());
        } else if let Some(oneof) = between(line, "oneof `", '`') {
            if line.contains("exactly_one=true") {
                facts
                    .exactly_one
                    .entry(message.clone().unwrap())
                    .or_default()
                    .push(oneof.to_string());
            }
        } else if let Some(e) = current_enum.take_if(|_| line.contains(" = ")) {
            facts.enums.insert(e, line.to_string());
        }
        let cells: Vec<&str> = line.splitn(7, '|').collect();
        if cells.len() < 6 || !cells[1].trim().chars().all(|c| c.is_ascii_alphanumeric()) || cells[1].trim().is_empty()
        {
            continue;
        }
        if let Some(m) = &message {
            let Ok(number) = cells[1].trim().parse() else { continue };
            let rules = cells
                .get(6)
                .map(|r| r.trim().trim_end_matches('|').trim())
                .unwrap_or("");
            facts.messages.get_mut(m).unwrap().push(FactField {
                number,
                name: cells[2].trim().to_string(),
                ty: cells[3].trim().to_string(),
                label: cells[4].trim().to_string(),
                oneof: cells[5].trim().to_string(),
                rules: parse_rules(rules),
            });
        } else if let Some(s) = &service {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            if cells[1] == "method" || cells[2].is_empty() {
                continue;
            }
            let qualify = |t: &str| -> String {
                match t {
                    "" => String::new(),
                    t if t.starts_with("google.") => t.to_string(),
                    t if t.starts_with("access.") => format!("yandex.cloud.{t}"),
                    t => format!("{package}.{t}"),
                }
            };
            let op = cells[4].split(" / ").map(qualify).collect::<Vec<_>>().join(" / ");
            facts.methods.entry(s.clone()).or_default().insert(
                cells[1].to_string(),
                (
                    cells[2]
                        .replace("stream .", "stream ")
                        .trim_start_matches('.')
                        .to_string(),
                    cells[3]
                        .replace("stream .", "stream ")
                        .trim_start_matches('.')
                        .to_string(),
                    op,
                ),
            );
        }
    }
}

fn pool() -> DescriptorPool {
    DescriptorPool::decode(FILE_DESCRIPTOR_SET).expect("our descriptor set decodes")
}

fn type_name(field: &FieldDescriptor) -> String {
    if field.is_map() {
        let Kind::Message(entry) = field.kind() else {
            unreachable!()
        };
        let k = type_name(&entry.map_entry_key_field());
        let v = type_name(&entry.map_entry_value_field());
        return format!("map<{k}, {v}>");
    }
    match field.kind() {
        Kind::Message(m) => format!(".{}", m.full_name()),
        Kind::Enum(e) => format!(".{}", e.full_name()),
        Kind::Double => "double".into(),
        Kind::Float => "float".into(),
        Kind::Int64 => "int64".into(),
        Kind::Uint64 => "uint64".into(),
        Kind::Int32 => "int32".into(),
        Kind::Uint32 => "uint32".into(),
        Kind::Bool => "bool".into(),
        Kind::String => "string".into(),
        Kind::Bytes => "bytes".into(),
        other => format!("{other:?}").to_lowercase(),
    }
}

/// Reads one `yandex.cloud.*` option of a field back as the text form the facts use.
fn option_text(pool: &DescriptorPool, options: &DynamicMessage, rule: &str) -> Option<String> {
    if rule == "deprecated" {
        return options
            .get_field_by_name("deprecated")
            .and_then(|v| v.as_bool())
            .filter(|d| *d)
            .map(|_| String::new());
    }
    let ext = pool.get_extension_by_name(&format!("yandex.cloud.{rule}"))?;
    if !options.has_extension(&ext) {
        return None;
    }
    Some(match &*options.get_extension(&ext) {
        Value::Bool(b) => if *b { "True" } else { "False" }.to_string(),
        Value::String(s) => s.clone(),
        Value::Message(spec) => {
            let parts: Vec<String> = spec
                .fields()
                .map(|(f, v)| format!("{}: '{}'", f.name(), v.as_str().unwrap_or_default()))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
        other => format!("{other:?}"),
    })
}

const RULES: &[&str] = &[
    "required",
    "pattern",
    "value",
    "size",
    "length",
    "unique",
    "map_key",
    "bytes",
    "deprecated",
];

fn our_messages(pool: &DescriptorPool) -> Vec<MessageDescriptor> {
    pool.all_messages()
        .filter(|m| m.full_name().starts_with("yandex.cloud.") && !m.is_map_entry())
        .collect()
}

#[test]
fn every_message_we_define_has_the_fields_numbers_types_labels_and_oneofs_of_the_facts() {
    let facts = parse_facts();
    let pool = pool();
    let mut problems = Vec::new();
    for message in our_messages(&pool) {
        let name = message.full_name();
        // The two option-carrier messages are in the facts too; nothing of ours is exempt.
        let Some(expected) = facts.messages.get(name) else {
            problems.push(format!("{name}: not in the facts"));
            continue;
        };
        let ours: Vec<FieldDescriptor> = message.fields().collect();
        if ours.len() != expected.len() {
            problems.push(format!("{name}: {} fields, facts list {}", ours.len(), expected.len()));
        }
        for fact in expected {
            let Some(field) = message.get_field(fact.number) else {
                problems.push(format!("{name}: no field {}", fact.number));
                continue;
            };
            let label = if field.is_list() { "repeated" } else { "" };
            let oneof = field
                .containing_oneof()
                .map(|o| o.name().to_string())
                .unwrap_or_default();
            let got = (field.name().to_string(), type_name(&field), label.to_string(), oneof);
            let want = (
                fact.name.clone(),
                fact.ty.clone(),
                fact.label.clone(),
                fact.oneof.clone(),
            );
            if got != want {
                problems.push(format!("{name}.{}: ours {got:?}, facts {want:?}", fact.number));
            }
        }
        let reserved: Vec<u32> = message
            .descriptor_proto()
            .reserved_range
            .iter()
            .flat_map(|r| (r.start() as u32)..(r.end() as u32))
            .collect();
        if reserved != facts.reserved.get(name).cloned().unwrap_or_default() {
            problems.push(format!("{name}: reserved {reserved:?}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_validation_rule_in_the_facts_is_read_back_from_our_descriptors() {
    let facts = parse_facts();
    let pool = pool();
    let mut checked = 0;
    let mut problems = Vec::new();
    for message in our_messages(&pool) {
        let Some(expected) = facts.messages.get(message.full_name()) else {
            continue;
        };
        for fact in expected {
            let Some(field) = message.get_field(fact.number) else {
                continue;
            };
            let options = field.options();
            for rule in RULES {
                let want = fact.rules.iter().find(|(k, _)| k == rule).map(|(_, v)| v.clone());
                let got = option_text(&pool, &options, rule);
                if got != want {
                    problems.push(format!(
                        "{}.{} {rule}: ours {got:?}, facts {want:?}",
                        message.full_name(),
                        fact.name
                    ));
                }
                checked += usize::from(want.is_some());
            }
        }
        let exactly_one = pool.get_extension_by_name("yandex.cloud.exactly_one").unwrap();
        for oneof in message.oneofs() {
            let ours = oneof.options().get_extension(&exactly_one).as_bool() == Some(true);
            let facts_say = facts
                .exactly_one
                .get(message.full_name())
                .is_some_and(|o| o.iter().any(|n| n == oneof.name()));
            if ours != facts_say {
                problems.push(format!(
                    "{}: oneof {} exactly_one ours {ours}",
                    message.full_name(),
                    oneof.name()
                ));
            }
            checked += usize::from(facts_say);
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(checked >= 200, "only {checked} rules were compared");
}

#[test]
fn every_method_we_define_matches_the_facts_including_its_operation_option() {
    let facts = parse_facts();
    let pool = pool();
    let operation = pool.get_extension_by_name("yandex.cloud.api.operation").unwrap();
    let mut problems = Vec::new();
    let mut methods = 0;
    for service in pool.services() {
        let Some(expected) = facts.methods.get(service.full_name()) else {
            problems.push(format!("{}: not in the facts", service.full_name()));
            continue;
        };
        for method in service.methods() {
            methods += 1;
            let options = method.options();
            let op = if options.has_extension(&operation) {
                let value = options.get_extension(&operation);
                let m = value.as_message().unwrap();
                let get = |f: &str| m.get_field_by_name(f).unwrap().as_str().unwrap().to_string();
                let qualify = |t: String| {
                    if t.contains('.') && !t.starts_with("access.") {
                        t
                    } else if t.starts_with("access.") {
                        format!("yandex.cloud.{t}")
                    } else {
                        format!("{}.{t}", service.package_name())
                    }
                };
                format!("{} / {}", qualify(get("metadata")), qualify(get("response")))
            } else {
                String::new()
            };
            // A stream of messages is written `stream <type>`, as the facts do.
            let streamed = |stream: bool, name: &str| format!("{}{name}", if stream { "stream " } else { "" });
            let got = (
                streamed(method.is_client_streaming(), method.input().full_name()),
                streamed(method.is_server_streaming(), method.output().full_name()),
                op,
            );
            match expected.get(method.name()) {
                Some(want) if *want == got => {}
                want => problems.push(format!(
                    "{}.{}: ours {got:?}, facts {want:?}",
                    service.full_name(),
                    method.name()
                )),
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(methods >= 59, "only {methods} methods");
}

#[test]
fn every_enum_we_define_has_the_values_of_the_facts() {
    let facts = parse_facts();
    let pool = pool();
    let mut problems = Vec::new();
    for ours in pool.all_enums().filter(|e| e.full_name().starts_with("yandex.cloud.")) {
        let rendered: Vec<String> = ours
            .values()
            .map(|v| format!("{} = {}", v.name(), v.number()))
            .collect();
        match facts.enums.get(ours.full_name()) {
            Some(values) if *values == rendered.join(", ") => {}
            want => problems.push(format!("{}: ours {rendered:?}, facts {want:?}", ours.full_name())),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    for name in [
        "yandex.cloud.access.AccessBindingAction",
        "yandex.cloud.iam.v1.ServiceAccount.Status",
        "yandex.cloud.iam.v1.Key.Algorithm",
        "yandex.cloud.iam.v1.KeyFormat",
        "yandex.cloud.lockbox.v1.Secret.Status",
        "yandex.cloud.lockbox.v1.Version.Status",
        "yandex.cloud.ai.foundation_models.v1.Alternative.AlternativeStatus",
    ] {
        assert!(
            pool.get_enum_by_name(name).is_some(),
            "{name} is defined and so compared"
        );
    }
}
