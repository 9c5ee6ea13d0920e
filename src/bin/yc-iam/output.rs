//! Rendering results: `text` for people (aligned fields, tables), `yaml` and `json` for machines.
//! The machine shapes are the view structs below (snake_case keys, RFC 3339 times, empty fields
//! left out) and are documented in the README.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::Write;

use serde::Serialize;
use serde_json::Value;
use serde_norway::Value as Yaml;
use time::format_description::well_known::Rfc3339;

use crate::cli::Format;
use yc_iam::proto::yandex::cloud::access::{AccessBinding, AccessBindingDelta, AccessBindingsOperationResult};
use yc_iam::proto::yandex::cloud::iam::v1::{ApiKey, ServiceAccount};
use yc_iam::proto::yandex::cloud::operation::{Operation, operation};

/// Formats a protobuf timestamp as RFC 3339.
pub(crate) fn timestamp(ts: Option<&prost_types::Timestamp>) -> Option<String> {
    yc_iam::model::from_timestamp(ts?)?.format(&Rfc3339).ok()
}

/// What a service account and a Lockbox secret show first.
#[derive(Serialize)]
pub(crate) struct ResourceHead {
    pub(crate) id: String,
    pub(crate) folder_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) created_at: Option<String>,
    pub(crate) name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub(crate) description: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) labels: BTreeMap<String, String>,
}

/// Both messages name these fields alike.
macro_rules! resource_head_of {
    ($($message:ty),*) => {$(
        impl From<&$message> for ResourceHead {
            fn from(m: &$message) -> Self {
                ResourceHead {
                    id: m.id.clone(),
                    folder_id: m.folder_id.clone(),
                    created_at: timestamp(m.created_at.as_ref()),
                    name: m.name.clone(),
                    description: m.description.clone(),
                    labels: m.labels.clone(),
                }
            }
        }
    )*};
}

resource_head_of!(ServiceAccount, yc_iam::model::LockboxSecret);

#[derive(Serialize)]
pub(crate) struct ServiceAccountView {
    #[serde(flatten)]
    pub(crate) head: ResourceHead,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) last_authenticated_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) expires_at: Option<String>,
    pub(crate) status: String,
}

impl From<&ServiceAccount> for ServiceAccountView {
    fn from(sa: &ServiceAccount) -> Self {
        Self {
            head: sa.into(),
            last_authenticated_at: timestamp(sa.last_authenticated_at.as_ref()),
            expires_at: timestamp(sa.expires_at.as_ref()),
            status: sa.status().as_str_name().to_owned(),
        }
    }
}

/// How a command group shows its kind of key: the view of one key, the noun its messages use,
/// and the columns of its table.
pub(crate) trait ShowsKey: for<'a> From<&'a Self::Key> + Serialize {
    type Key: yc_iam::AccountKey;
    /// `API key`, `authorized key`, `access key`.
    const NOUN: &'static str;
    const COLUMNS: &'static [Column];
}

/// What every kind of key shows first, as `yc iam api-key|key|access-key get` show it.
#[derive(Serialize)]
pub(crate) struct KeyHead {
    pub(crate) id: String,
    pub(crate) service_account_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) created_at: Option<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub(crate) description: String,
}

impl KeyHead {
    fn new(id: &str, service_account_id: &str, created_at: Option<&prost_types::Timestamp>, description: &str) -> Self {
        KeyHead {
            id: id.to_owned(),
            service_account_id: service_account_id.to_owned(),
            created_at: timestamp(created_at),
            description: description.to_owned(),
        }
    }
}

#[derive(Serialize)]
pub(crate) struct ApiKeyView {
    #[serde(flatten)]
    pub(crate) head: KeyHead,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) last_used_at: Option<String>,
    pub(crate) scopes: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) expires_at: Option<String>,
}

impl From<&ApiKey> for ApiKeyView {
    // Keys made before `scopes` existed carry their one scope in the deprecated field.
    #[allow(deprecated)]
    fn from(k: &ApiKey) -> Self {
        let mut scopes = k.scopes.clone();
        if scopes.is_empty() && !k.scope.is_empty() {
            scopes.push(k.scope.clone());
        }
        Self {
            head: KeyHead::new(&k.id, &k.service_account_id, k.created_at.as_ref(), &k.description),
            last_used_at: timestamp(k.last_used_at.as_ref()),
            scopes,
            expires_at: timestamp(k.expires_at.as_ref()),
        }
    }
}

impl ShowsKey for ApiKeyView {
    type Key = ApiKey;
    const NOUN: &'static str = "API key";
    const COLUMNS: &'static [Column] = &[
        ("ID", "id"),
        ("SCOPES", "scopes"),
        ("DESCRIPTION", "description"),
        ("CREATED AT", "created_at"),
        ("EXPIRES AT", "expires_at"),
    ];
}

/// An authorized key as `yc iam key get` shows it.
#[derive(Serialize)]
pub(crate) struct KeyView {
    #[serde(flatten)]
    pub(crate) head: KeyHead,
    pub(crate) key_algorithm: &'static str,
    pub(crate) public_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) last_used_at: Option<String>,
}

impl From<&yc_iam::model::Key> for KeyView {
    fn from(k: &yc_iam::model::Key) -> Self {
        let service_account_id = match &k.subject {
            Some(yc_iam::model::KeySubject::ServiceAccountId(id)) => id.as_str(),
            _ => "",
        };
        Self {
            head: KeyHead::new(&k.id, service_account_id, k.created_at.as_ref(), &k.description),
            key_algorithm: yc_iam::model::KeyAlgorithm::try_from(k.key_algorithm)
                .unwrap_or(yc_iam::model::KeyAlgorithm::Unspecified)
                .as_str_name(),
            public_key: k.public_key.clone(),
            last_used_at: timestamp(k.last_used_at.as_ref()),
        }
    }
}

impl ShowsKey for KeyView {
    type Key = yc_iam::model::Key;
    const NOUN: &'static str = "authorized key";
    const COLUMNS: &'static [Column] = &[
        ("ID", "id"),
        ("DESCRIPTION", "description"),
        ("KEY ALGORITHM", "key_algorithm"),
        ("CREATED AT", "created_at"),
        ("LAST USED AT", "last_used_at"),
    ];
}

/// A static access key as `yc iam access-key get` shows it.
#[derive(Serialize)]
pub(crate) struct AccessKeyView {
    #[serde(flatten)]
    pub(crate) head: KeyHead,
    pub(crate) key_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) last_used_at: Option<String>,
}

impl From<&yc_iam::model::AccessKey> for AccessKeyView {
    fn from(k: &yc_iam::model::AccessKey) -> Self {
        Self {
            head: KeyHead::new(&k.id, &k.service_account_id, k.created_at.as_ref(), &k.description),
            key_id: k.key_id.clone(),
            last_used_at: timestamp(k.last_used_at.as_ref()),
        }
    }
}

impl ShowsKey for AccessKeyView {
    type Key = yc_iam::model::AccessKey;
    const NOUN: &'static str = "access key";
    const COLUMNS: &'static [Column] = &[
        ("ID", "id"),
        ("KEY ID", "key_id"),
        ("DESCRIPTION", "description"),
        ("CREATED AT", "created_at"),
        ("LAST USED AT", "last_used_at"),
    ];
}

#[derive(Serialize)]
pub(crate) struct SubjectView {
    pub(crate) id: String,
    #[serde(rename = "type")]
    pub(crate) kind: String,
}

#[derive(Serialize)]
pub(crate) struct AccessBindingView {
    pub(crate) role_id: String,
    pub(crate) subject: SubjectView,
}

impl From<&AccessBinding> for AccessBindingView {
    fn from(b: &AccessBinding) -> Self {
        let (id, kind) = b
            .subject
            .as_ref()
            .map(|s| (s.id.clone(), s.r#type.clone()))
            .unwrap_or_default();
        Self {
            role_id: b.role_id.clone(),
            subject: SubjectView { id, kind },
        }
    }
}

#[derive(Serialize)]
pub(crate) struct DeltaView {
    pub(crate) action: String,
    pub(crate) access_binding: AccessBindingView,
}

impl From<&AccessBindingDelta> for DeltaView {
    fn from(d: &AccessBindingDelta) -> Self {
        let binding = d.access_binding.clone().unwrap_or_default();
        Self {
            action: d.action().as_str_name().to_owned(),
            access_binding: (&binding).into(),
        }
    }
}

#[derive(Serialize)]
pub(crate) struct ErrorView {
    pub(crate) code: i32,
    pub(crate) message: String,
}

#[derive(Serialize)]
pub(crate) struct OperationView {
    pub(crate) id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub(crate) description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) created_at: Option<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub(crate) created_by: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) modified_at: Option<String>,
    pub(crate) done: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) metadata: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) response: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<ErrorView>,
}

impl From<&Operation> for OperationView {
    fn from(op: &Operation) -> Self {
        let (response, error) = match &op.result {
            Some(operation::Result::Response(any)) => (Some(any_to_value(any)), None),
            Some(operation::Result::Error(status)) => (
                None,
                Some(ErrorView {
                    code: status.code,
                    message: status.message.clone(),
                }),
            ),
            None => (None, None),
        };
        Self {
            id: op.id.clone(),
            description: op.description.clone(),
            created_at: timestamp(op.created_at.as_ref()),
            created_by: op.created_by.clone(),
            modified_at: timestamp(op.modified_at.as_ref()),
            done: op.done,
            metadata: op.metadata.as_ref().map(any_to_value),
            response,
            error,
        }
    }
}

/// Decodes the `Any` payloads the services in this crate put in operations; anything else is
/// shown by its type URL.
fn any_to_value(any: &prost_types::Any) -> Value {
    use prost::Message;
    let type_name = any.type_url.rsplit('/').next().unwrap_or_default();
    let decoded = match type_name {
        "yandex.cloud.iam.v1.ServiceAccount" => ServiceAccount::decode(any.value.as_slice())
            .ok()
            .and_then(|v| to_value(&ServiceAccountView::from(&v))),
        "yandex.cloud.iam.v1.ApiKey" => ApiKey::decode(any.value.as_slice())
            .ok()
            .and_then(|v| to_value(&ApiKeyView::from(&v))),
        "yandex.cloud.access.AccessBindingsOperationResult" => {
            AccessBindingsOperationResult::decode(any.value.as_slice())
                .ok()
                .and_then(|v| {
                    let deltas: Vec<DeltaView> = v.effective_deltas.iter().map(Into::into).collect();
                    to_value(&serde_json::json!({ "effective_deltas": deltas }))
                })
        }
        "google.protobuf.Empty" => Some(Value::Object(Default::default())),
        // Every metadata message of these services is one id field (number 1) or two.
        _ if type_name.ends_with("Metadata") => IdMetadata::decode(any.value.as_slice()).ok().map(|m| {
            let mut map = serde_json::Map::new();
            if !m.first.is_empty() {
                map.insert(metadata_key(type_name).to_owned(), Value::String(m.first));
            }
            Value::Object(map)
        }),
        _ => None,
    };
    let mut value = decoded.unwrap_or_else(|| Value::Object(Default::default()));
    if let Value::Object(map) = &mut value {
        map.insert("@type".to_owned(), Value::String(type_name.to_owned()));
    }
    value
}

fn metadata_key(type_name: &str) -> &'static str {
    if type_name.contains("ServiceAccount") {
        "service_account_id"
    } else if type_name.contains("ApiKey") {
        "api_key_id"
    } else {
        "resource_id"
    }
}

#[derive(Clone, PartialEq, prost::Message)]
struct IdMetadata {
    #[prost(string, tag = "1")]
    first: String,
}

fn to_value<T: Serialize>(v: &T) -> Option<Value> {
    serde_json::to_value(v).ok()
}

/// A column of a text table: header and the dotted path of the value (`subject.type`).
pub(crate) type Column = (&'static str, &'static str);

/// Writes text to stdout, returning an error (not panicking like `print!`) when stdout is
/// closed, e.g. piped into `head`. Control characters other than the layout's line breaks and
/// tabs are escaped (see [`escape_controls`]).
pub(crate) fn write_stdout(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    write_text(&mut out, text)?;
    out.flush()
}

/// Writes text for people to stderr (a report beside a document on stdout), escaped as
/// [`write_stdout`] escapes; a closed stderr is ignored, as there is nowhere left to say so.
pub(crate) fn write_stderr(text: &str) {
    let _ = write_text(&mut std::io::stderr().lock(), text);
}

/// Writes generated bytes (a completion script) to stdout as they are, with the same handling
/// of a closed stdout as [`write_stdout`].
pub(crate) fn write_stdout_bytes(bytes: &[u8]) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes)?;
    out.flush()
}

/// Writes text meant for a terminal, with the control characters of its content escaped.
fn write_text(out: &mut impl Write, text: &str) -> std::io::Result<()> {
    out.write_all(escape_controls(text, &['\n', '\t']).as_bytes())
}

/// Replaces every character a terminal acts on (C0 controls, DEL, C1 controls such as CSI) with
/// a `\u{…}` escape, except those in `keep`: server text must not set the window title, clear
/// the screen or start a line that looks like a field of its own.
pub(crate) fn escape_controls<'a>(text: &'a str, keep: &[char]) -> Cow<'a, str> {
    let acts = |c: char| c.is_control() && !keep.contains(&c);
    if !text.contains(acts) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if acts(c) {
            escaped.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            escaped.push(c);
        }
    }
    Cow::Owned(escaped)
}

/// Converts to a YAML value, which keeps the struct's field order (unlike `serde_json::Value`).
fn ordered<T: Serialize + ?Sized>(value: &T) -> Yaml {
    serde_norway::to_value(value).unwrap_or(Yaml::Null)
}

/// Prints one value: aligned `key: value` lines in text, a document in yaml/json.
pub(crate) fn print_one<T: Serialize>(format: Format, value: &T) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    match format {
        Format::Text => write_text(&mut out, &text_of(value)),
        _ => write_document(&mut out, format, value),
    }
}

/// The text rendering of one value.
pub(crate) fn text_of<T: Serialize + ?Sized>(value: &T) -> String {
    let mut text = String::new();
    text_fields(&ordered(value), 0, &mut text);
    text
}

/// Prints a list: a table with `columns` in text, a sequence in yaml/json.
pub(crate) fn print_list<T: Serialize>(format: Format, items: &[T], columns: &[Column]) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    match format {
        Format::Text => {
            let rows: Vec<Vec<String>> = items
                .iter()
                .map(|item| {
                    let value = ordered(item);
                    columns
                        .iter()
                        .map(|(_, path)| scalar(lookup(&value, path).unwrap_or(&Yaml::Null)))
                        .collect()
                })
                .collect();
            write_text(&mut out, &table(columns, &rows))
        }
        _ => write_document(&mut out, format, &items),
    }
}

fn lookup<'a>(value: &'a Yaml, path: &str) -> Option<&'a Yaml> {
    path.split('.').try_fold(value, |v, key| v.get(key))
}

/// Prints a document that has no table form (a new key with its secret): JSON when asked for,
/// YAML otherwise.
pub(crate) fn print_document<T: Serialize + ?Sized>(format: Format, value: &T) -> std::io::Result<()> {
    write_document(&mut std::io::stdout().lock(), format, value)
}

pub(crate) fn write_document<T: Serialize + ?Sized>(
    out: &mut impl Write,
    format: Format,
    value: &T,
) -> std::io::Result<()> {
    let text = match format {
        // JSON escapes the C0 controls itself; DEL and the C1 controls are legal raw in JSON
        // strings, so they get the equivalent `\u00XX` escapes (only strings can hold them).
        Format::Json => serde_json::to_string_pretty(value)
            .map(|t| json_escape_c1(t) + "\n")
            .map_err(std::io::Error::other)?,
        // YAML's emitter writes every non-printable character (C0, DEL, C1) as an escape.
        _ => serde_norway::to_string(value).map_err(std::io::Error::other)?,
    };
    out.write_all(text.as_bytes())
}

/// Rewrites DEL and the C1 controls of serialized JSON as `\u00XX` escapes.
fn json_escape_c1(json: String) -> String {
    let raw = |c: char| ('\u{7f}'..='\u{9f}').contains(&c);
    if !json.contains(raw) {
        return json;
    }
    let mut escaped = String::with_capacity(json.len() + 16);
    for c in json.chars() {
        if raw(c) {
            escaped.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            escaped.push(c);
        }
    }
    escaped
}

/// One value as text on one line: every control character of a string is escaped, so a value
/// can neither act on the terminal nor break the layout.
fn scalar(v: &Yaml) -> String {
    match v {
        Yaml::Null => String::new(),
        Yaml::String(s) => escape_controls(s, &[]).into_owned(),
        Yaml::Bool(b) => b.to_string(),
        Yaml::Number(n) => n.to_string(),
        Yaml::Sequence(items) => items.iter().map(scalar).collect::<Vec<_>>().join(","),
        Yaml::Mapping(map) => map
            .iter()
            .map(|(k, v)| format!("{}={}", scalar(k), scalar(v)))
            .collect::<Vec<_>>()
            .join(","),
        Yaml::Tagged(t) => scalar(&t.value),
    }
}

/// `key: value` lines with the values aligned; nested mappings indented under their key.
fn text_fields(value: &Yaml, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    let Yaml::Mapping(map) = value else {
        out.push_str(&format!("{pad}{}\n", scalar(value)));
        return;
    };
    let width = map.keys().map(|k| scalar(k).chars().count()).max().unwrap_or(0) + 1;
    for (key, v) in map {
        let key = scalar(key);
        match v {
            Yaml::Mapping(inner) if !inner.is_empty() => {
                out.push_str(&format!("{pad}{key}:\n"));
                text_fields(v, indent + 2, out);
            }
            Yaml::Sequence(items) if items.iter().any(Yaml::is_mapping) => {
                out.push_str(&format!("{pad}{key}:\n"));
                for item in items {
                    text_fields(item, indent + 2, out);
                }
            }
            _ => out.push_str(&format!(
                "{pad}{:<width$} {}\n",
                format!("{key}:"),
                scalar(v),
                width = width
            )),
        }
    }
}

/// A table with upper-case headers and left-aligned columns separated by two spaces.
pub(crate) fn table(columns: &[Column], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = columns.iter().map(|(h, _)| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                s.push_str(cell);
            } else {
                s.push_str(&format!("{cell:<w$}  ", w = *w));
            }
        }
        s.trim_end().to_owned() + "\n"
    };
    let mut out = line(columns.iter().map(|(h, _)| h.to_string()).collect());
    for row in rows {
        out.push_str(&line(row.clone()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_aligned() {
        let t = table(
            &[("ID", "/id"), ("NAME", "/name")],
            &[vec!["a".into(), "sa-api".into()], vec!["abcdef".into(), "x".into()]],
        );
        assert_eq!(t, "ID      NAME\na       sa-api\nabcdef  x\n");
    }

    #[test]
    fn text_fields_are_aligned() {
        let mut s = String::new();
        text_fields(
            &ordered(&serde_json::json!({"id": "x", "folder_id": "f", "labels": {"a": "b"}})),
            0,
            &mut s,
        );
        assert_eq!(s, "folder_id: f\nid:        x\nlabels:\n  a: b\n");
    }
}
