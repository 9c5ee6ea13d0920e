//! The Kubernetes sink: a `v1/Secret` manifest (`type: Opaque`) whose `stringData` holds the
//! key's entries, ready for `kubectl apply -f`. An existing manifest is updated in place: its
//! namespace, annotations, other labels and other entries are kept.

use secrecy::zeroize::Zeroizing;
use serde_norway::{Mapping, Value};

/// This format, as an error about a file that is not in it names it.
pub(super) const FORMAT: &str = "a Kubernetes Secret manifest";

/// The label that says who manages the secret.
const MANAGED_BY: &str = "app.kubernetes.io/managed-by";

/// The value of `stringData.<name>` in a manifest's text. Text that is not a `v1` Secret manifest
/// is refused with a reason that never quotes the file (it may hold a secret).
pub(super) fn value_of(text: &str, name: &str) -> Result<Option<String>, String> {
    let doc = Cleared(parse(text)?);
    Ok(doc
        .0
        .get("stringData")
        .and_then(|d| d.get(name))
        .and_then(Value::as_str)
        .map(str::to_owned))
}

/// `metadata.name` in a manifest's text, when it is a `v1` Secret manifest with a name.
pub(super) fn name_of(text: &str) -> Option<String> {
    let doc = Cleared(parse(text).ok()?);
    doc.0
        .get("metadata")
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// The manifest `text` (empty for a new one) with `entries` in `stringData`, the name, the type
/// and the managed-by label set. The result is cleared when dropped.
pub(super) fn set(text: &str, secret_name: &str, entries: &[(&str, &str)]) -> Result<Zeroizing<String>, String> {
    let mut cleared = Cleared(if text.trim().is_empty() {
        Value::Mapping(Mapping::new())
    } else {
        parse(text)?
    });
    if !cleared.0.is_mapping() {
        cleared.0 = Value::Mapping(Mapping::new());
    }
    let Value::Mapping(doc) = &mut cleared.0 else {
        unreachable!("just made a mapping")
    };
    doc.insert("apiVersion".into(), "v1".into());
    doc.insert("kind".into(), "Secret".into());
    let metadata = mapping(doc, "metadata");
    metadata.insert("name".into(), secret_name.into());
    mapping(metadata, "labels").insert(MANAGED_BY.into(), "yc-iam".into());
    doc.insert("type".into(), "Opaque".into());
    // `data` would hold the same entries base64-encoded; `stringData` is what they become.
    if let Some(Value::Mapping(data)) = doc.get_mut("data") {
        for (name, _) in entries {
            data.remove(*name);
        }
    }
    let string_data = mapping(doc, "stringData");
    for (name, value) in entries {
        string_data.insert((*name).into(), (*value).into());
    }
    // Strings and mappings only: serialization cannot fail.
    serde_norway::to_string(&*doc)
        .map(Zeroizing::new)
        .map_err(|_| "cannot render the manifest".to_owned())
}

/// The manifest `text` without the entries `names` (in `stringData` or `data`); everything else
/// is kept. The result is cleared when dropped.
pub(super) fn unset(text: &str, names: &[&str]) -> Result<Zeroizing<String>, String> {
    let mut cleared = Cleared(parse(text)?);
    for section in ["stringData", "data"] {
        if let Some(Value::Mapping(entries)) = cleared.0.get_mut(section) {
            for name in names {
                if let Some(mut gone) = entries.remove(*name) {
                    crate::secret::clear_yaml(&mut gone);
                }
            }
        }
    }
    serde_norway::to_string(&cleared.0)
        .map(Zeroizing::new)
        .map_err(|_| "cannot render the manifest".to_owned())
}

/// A parsed manifest whose string values (the secret among them) are cleared when it is dropped.
struct Cleared(Value);

impl Drop for Cleared {
    fn drop(&mut self) {
        crate::secret::clear_yaml(&mut self.0);
    }
}

/// Whether `name` is a valid `metadata.name` of a Secret (a DNS subdomain: at most 253 lowercase
/// letters, digits, `-` and `.`, starting and ending with a letter or digit).
pub(crate) fn is_secret_name(name: &str) -> bool {
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    name.len() <= 253
        && edge(name.chars().next())
        && edge(name.chars().last())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
}

/// Whether `name` is a valid key of a Secret's data (letters, digits, `-`, `_`, `.`).
pub(crate) fn is_entry_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

fn parse(text: &str) -> Result<Value, String> {
    // Never show the parser's message: it may quote a value, which may be the secret.
    let doc: Value = serde_norway::from_str(text).map_err(|e| match e.location() {
        Some(at) => format!("not YAML (line {}, column {})", at.line(), at.column()),
        None => "not YAML".to_owned(),
    })?;
    let is_secret = doc.get("kind").and_then(Value::as_str) == Some("Secret")
        && doc.get("apiVersion").and_then(Value::as_str) == Some("v1");
    if is_secret {
        Ok(doc)
    } else {
        Err("not a Kubernetes v1 Secret manifest".to_owned())
    }
}

/// The mapping under `key`, made (or replacing a non-mapping) if needed.
fn mapping<'a>(parent: &'a mut Mapping, key: &str) -> &'a mut Mapping {
    let slot = parent
        .entry(key.into())
        .or_insert_with(|| Value::Mapping(Mapping::new()));
    if !slot.is_mapping() {
        *slot = Value::Mapping(Mapping::new());
    }
    match slot {
        Value::Mapping(m) => m,
        _ => unreachable!("just made a mapping"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_manifest_is_an_opaque_secret_with_the_entries() {
        let text = set("", "sa-api", &[("YC_API_KEY", "AQVN1"), ("YC_API_KEY_ID", "123")]).unwrap();
        let doc: Value = serde_norway::from_str(&text).unwrap();
        assert_eq!(doc["apiVersion"].as_str(), Some("v1"));
        assert_eq!(doc["kind"].as_str(), Some("Secret"));
        assert_eq!(doc["type"].as_str(), Some("Opaque"));
        assert_eq!(doc["metadata"]["name"].as_str(), Some("sa-api"));
        assert_eq!(doc["metadata"]["labels"][MANAGED_BY].as_str(), Some("yc-iam"));
        // A value that looks like a number stays a string.
        assert_eq!(doc["stringData"]["YC_API_KEY_ID"].as_str(), Some("123"));
        assert_eq!(value_of(&text, "YC_API_KEY").unwrap().as_deref(), Some("AQVN1"));
    }

    #[test]
    fn an_existing_manifest_keeps_what_it_had() {
        let old = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: old\n  namespace: ai\n  labels: {team: x}\n\
                   data:\n  YC_API_KEY: QVFWTg==\n  OTHER: eA==\nstringData:\n  KEEP: me\n";
        let text = set(old, "new", &[("YC_API_KEY", "AQVN2")]).unwrap();
        let doc: Value = serde_norway::from_str(&text).unwrap();
        assert_eq!(doc["metadata"]["namespace"].as_str(), Some("ai"));
        assert_eq!(doc["metadata"]["labels"]["team"].as_str(), Some("x"));
        assert_eq!(doc["data"]["OTHER"].as_str(), Some("eA=="));
        assert!(doc["data"].get("YC_API_KEY").is_none());
        assert_eq!(doc["stringData"]["KEEP"].as_str(), Some("me"));
        assert_eq!(doc["stringData"]["YC_API_KEY"].as_str(), Some("AQVN2"));
    }

    #[test]
    fn unsetting_entries_keeps_the_others() {
        let text = set(
            "",
            "sa",
            &[
                ("YC_API_KEY", "AQVN"),
                ("YC_API_KEY_ID", "aje"),
                ("YC_FOLDER_ID", "b1g"),
            ],
        )
        .unwrap();
        let out = unset(&text, &["YC_API_KEY", "YC_API_KEY_ID"]).unwrap();
        assert_eq!(value_of(&out, "YC_API_KEY").unwrap(), None);
        assert_eq!(value_of(&out, "YC_API_KEY_ID").unwrap(), None);
        assert_eq!(value_of(&out, "YC_FOLDER_ID").unwrap().as_deref(), Some("b1g"));
        assert_eq!(name_of(&out).as_deref(), Some("sa"));
    }

    #[test]
    fn other_documents_are_refused_without_showing_them() {
        for text in ["AQVNsecret: [", "kind: ConfigMap\napiVersion: v1\n", "AQVNsecret\n"] {
            let err = value_of(text, "YC_API_KEY").unwrap_err();
            assert!(!err.contains("AQVN"), "{err}");
        }
        assert!(is_secret_name("sa-api.v2") && !is_secret_name("Sa") && !is_secret_name("-a"));
    }
}
