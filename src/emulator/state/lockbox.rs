//! Lockbox secrets as the emulator keeps them: each secret with its versions and their payloads,
//! and the name index (names are unique within a folder). Payload values are secrets: their
//! `Debug` shows only which kind of value an entry holds, and a destroyed version keeps its keys
//! but not its values.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{Map, ResourceMeta, Ts, hex_in, hex_out};
use crate::emulator::clock::Clock;
use crate::proto::yandex::cloud::lockbox::v1::{
    PasswordPayloadSpecification, Secret, Version, payload, secret, version,
};

/// A payload value: text or bytes, as the entry was written.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum EntryValue {
    Text(String),
    Binary(#[serde(serialize_with = "hex_out", deserialize_with = "hex_in")] Vec<u8>),
}

impl fmt::Debug for EntryValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Text(_) => "Text(***)",
            Self::Binary(_) => "Binary(***)",
        })
    }
}

impl EntryValue {
    /// The value's bytes (text as UTF-8), as `GetEx` returns them.
    pub(crate) fn bytes(&self) -> Vec<u8> {
        match self {
            Self::Text(text) => text.as_bytes().to_vec(),
            Self::Binary(bytes) => bytes.clone(),
        }
    }

    /// The value as a `Payload.Entry` value.
    pub(crate) fn to_proto(&self) -> payload::entry::Value {
        match self {
            Self::Text(text) => payload::entry::Value::TextValue(text.clone()),
            Self::Binary(bytes) => payload::entry::Value::BinaryValue(bytes.clone()),
        }
    }
}

/// One payload entry; `value` is `None` once its version was destroyed.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct EntryRec {
    pub(crate) key: String,
    pub(crate) value: Option<EntryValue>,
}

/// How a generated secret's value is made (`PasswordPayloadSpecification`), as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PasswordSpecRec {
    pub(crate) password_key: String,
    pub(crate) length: i64,
    pub(crate) include_uppercase: Option<bool>,
    pub(crate) include_lowercase: Option<bool>,
    pub(crate) include_digits: Option<bool>,
    pub(crate) include_punctuation: Option<bool>,
    pub(crate) included_punctuation: String,
    pub(crate) excluded_punctuation: String,
}

impl PasswordSpecRec {
    pub(crate) fn from_proto(spec: PasswordPayloadSpecification) -> Self {
        Self {
            password_key: spec.password_key,
            length: spec.length,
            include_uppercase: spec.include_uppercase,
            include_lowercase: spec.include_lowercase,
            include_digits: spec.include_digits,
            include_punctuation: spec.include_punctuation,
            included_punctuation: spec.included_punctuation,
            excluded_punctuation: spec.excluded_punctuation,
        }
    }

    pub(crate) fn to_proto(&self) -> PasswordPayloadSpecification {
        PasswordPayloadSpecification {
            password_key: self.password_key.clone(),
            length: self.length,
            include_uppercase: self.include_uppercase,
            include_lowercase: self.include_lowercase,
            include_digits: self.include_digits,
            include_punctuation: self.include_punctuation,
            included_punctuation: self.included_punctuation.clone(),
            excluded_punctuation: self.excluded_punctuation.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct VersionRec {
    pub(crate) id: String,
    pub(crate) created_at: Ts,
    pub(crate) description: String,
    /// Set while the version is scheduled for destruction (and after it was destroyed).
    pub(crate) destroy_at: Option<Ts>,
    pub(crate) entries: Vec<EntryRec>,
    /// How the generated entry of this version was made, for a generated secret's version.
    #[serde(default)]
    pub(crate) password_spec: Option<PasswordSpecRec>,
}

/// Where a version is in its life, on the emulator's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VersionState {
    Active,
    ScheduledForDestruction,
    Destroyed,
}

impl VersionRec {
    pub(crate) fn state(&self, clock: &Clock) -> VersionState {
        match self.destroy_at {
            None => VersionState::Active,
            Some(at) if clock.is_past(&at.into()) => VersionState::Destroyed,
            Some(_) => VersionState::ScheduledForDestruction,
        }
    }

    pub(crate) fn to_proto(&self, secret_id: &str, clock: &Clock) -> Version {
        let status = match self.state(clock) {
            VersionState::Active => version::Status::Active,
            VersionState::ScheduledForDestruction => version::Status::ScheduledForDestruction,
            VersionState::Destroyed => version::Status::Destroyed,
        };
        Version {
            id: self.id.clone(),
            secret_id: secret_id.to_owned(),
            created_at: Some(self.created_at.into()),
            destroy_at: self.destroy_at.map(Into::into),
            description: self.description.clone(),
            status: status as i32,
            payload_entry_keys: self.entries.iter().map(|e| e.key.clone()).collect(),
            payload_specification: self
                .password_spec
                .as_ref()
                .map(|spec| version::PayloadSpecification::PasswordPayloadSpecification(spec.to_proto())),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SecretRec {
    #[serde(flatten)]
    pub(crate) meta: ResourceMeta,
    pub(crate) kms_key_id: String,
    pub(crate) active: bool,
    pub(crate) deletion_protection: bool,
    /// The id of the current version ("" while the secret has none).
    pub(crate) current_version: String,
    /// Every version, oldest first.
    pub(crate) versions: Vec<VersionRec>,
    /// Set for a generated secret: each new version gets a fresh value made this way.
    #[serde(default)]
    pub(crate) password_spec: Option<PasswordSpecRec>,
}

impl SecretRec {
    pub(crate) fn version(&self, id: &str) -> Option<&VersionRec> {
        self.versions.iter().find(|v| v.id == id)
    }

    pub(crate) fn version_mut(&mut self, id: &str) -> Option<&mut VersionRec> {
        self.versions.iter_mut().find(|v| v.id == id)
    }

    pub(crate) fn to_proto(&self, clock: &Clock) -> Secret {
        let status = if self.active {
            secret::Status::Active
        } else {
            secret::Status::Inactive
        };
        Secret {
            kms_key_id: self.kms_key_id.clone(),
            status: status as i32,
            current_version: self
                .version(&self.current_version)
                .map(|v| v.to_proto(&self.meta.id, clock)),
            deletion_protection: self.deletion_protection,
            payload_specification: self
                .password_spec
                .as_ref()
                .map(|spec| secret::PayloadSpecification::PasswordPayloadSpecification(spec.to_proto())),
            ..self.meta.to_proto()
        }
    }

    /// Drops the values of versions whose destruction time has passed.
    fn purge_destroyed(&mut self, clock: &Clock) {
        for version in &mut self.versions {
            if version.state(clock) == VersionState::Destroyed {
                for entry in &mut version.entries {
                    entry.value = None;
                }
            }
        }
    }
}

/// Every secret, and the index of their names. Changed only through the methods below, which keep
/// the index in step.
#[derive(Default, Clone, Serialize, Deserialize)]
pub(crate) struct Lockbox {
    #[serde(serialize_with = "super::sorted")]
    secrets: Map<SecretRec>,
    /// Secret ids by folder id and name (only named secrets).
    #[serde(skip)]
    names: Map<String>,
}

fn name_key(folder_id: &str, name: &str) -> String {
    let mut key = String::with_capacity(folder_id.len() + name.len() + 1);
    key.push_str(folder_id);
    key.push('\u{1}');
    key.push_str(name);
    key
}

impl Lockbox {
    /// Recomputes the name index (after loading).
    pub(crate) fn rebuild_index(&mut self) {
        self.names = self
            .secrets
            .values()
            .filter(|s| !s.meta.name.is_empty())
            .map(|s| (name_key(&s.meta.folder_id, &s.meta.name), s.meta.id.clone()))
            .collect();
    }

    pub(crate) fn get(&self, id: &str) -> Option<&SecretRec> {
        self.secrets.get(id)
    }

    /// The secret named `name` in the folder.
    pub(crate) fn named(&self, folder_id: &str, name: &str) -> Option<&SecretRec> {
        self.names
            .get(&name_key(folder_id, name))
            .and_then(|id| self.secrets.get(id))
    }

    /// The secrets of a folder.
    pub(crate) fn in_folder<'a>(&'a self, folder_id: &'a str) -> impl Iterator<Item = &'a SecretRec> + 'a {
        self.secrets.values().filter(move |s| s.meta.folder_id == folder_id)
    }

    /// Every secret, in no particular order.
    pub(crate) fn all(&self) -> impl Iterator<Item = &SecretRec> {
        self.secrets.values()
    }

    /// Adds a secret, or replaces the one with its id.
    pub(crate) fn put(&mut self, secret: SecretRec) {
        self.remove(&secret.meta.id);
        if !secret.meta.name.is_empty() {
            self.names.insert(
                name_key(&secret.meta.folder_id, &secret.meta.name),
                secret.meta.id.clone(),
            );
        }
        self.secrets.insert(secret.meta.id.clone(), secret);
    }

    pub(crate) fn remove(&mut self, id: &str) -> Option<SecretRec> {
        let old = self.secrets.remove(id)?;
        if !old.meta.name.is_empty() {
            self.names.remove(&name_key(&old.meta.folder_id, &old.meta.name));
        }
        Some(old)
    }

    /// The earliest destruction time of a version that still holds its payload: when the next
    /// purge is due.
    pub(crate) fn next_destruction(&self) -> Option<Ts> {
        self.secrets
            .values()
            .flat_map(|secret| &secret.versions)
            .filter(|version| version.entries.iter().any(|entry| entry.value.is_some()))
            .filter_map(|version| version.destroy_at)
            .min()
    }

    /// Drops the payloads of every version destroyed by now, so they are neither served nor saved.
    pub(crate) fn purge_destroyed(&mut self, clock: &Clock) {
        for secret in self.secrets.values_mut() {
            secret.purge_destroyed(clock);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_of_an_entry_shows_its_key_and_kind_but_never_its_value() {
        let entry = EntryRec {
            key: "api-key".into(),
            value: Some(EntryValue::Text("AQVNsecretvalue".into())),
        };
        let shown = format!("{entry:?}");
        assert!(shown.contains("api-key") && shown.contains("Text(***)"), "{shown}");
        assert!(!shown.contains("AQVNsecretvalue"), "{shown}");
    }

    #[test]
    fn binary_values_survive_the_state_file_round_trip() {
        let value = EntryValue::Binary(vec![0, 1, 254, 255]);
        let json = serde_json::to_string(&value).expect("json");
        assert_eq!(json, r#"{"Binary":"0001feff"}"#);
        let back: EntryValue = serde_json::from_str(&json).expect("back");
        assert_eq!(back, value);
    }
}
