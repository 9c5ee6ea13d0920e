//! The emulator's data: clouds, folders, service accounts, keys, bindings, operations, idempotency
//! records and issued tokens, with the JSON form it is saved in.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use prost_types::{Any, Timestamp};
use serde::{Deserialize, Serialize};

use super::clock::Clock;
use crate::proto::google::rpc;
use crate::proto::yandex::cloud::access::{AccessBinding, Subject};
use crate::proto::yandex::cloud::iam::v1::{ApiKey, ServiceAccount, service_account};
use crate::proto::yandex::cloud::operation::{Operation, operation};
use crate::proto::yandex::cloud::resourcemanager::v1::{Cloud, Folder, folder};

/// A timestamp in the state file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct Ts {
    pub(crate) seconds: i64,
    pub(crate) nanos: i32,
}

impl From<&Timestamp> for Ts {
    fn from(t: &Timestamp) -> Self {
        Self {
            seconds: t.seconds,
            nanos: t.nanos,
        }
    }
}

impl From<Ts> for Timestamp {
    fn from(t: Ts) -> Self {
        Timestamp {
            seconds: t.seconds,
            nanos: t.nanos,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CloudRec {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) organization_id: String,
    pub(crate) created_at: Ts,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct FolderRec {
    pub(crate) id: String,
    pub(crate) cloud_id: String,
    pub(crate) name: String,
    pub(crate) created_at: Ts,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SaRec {
    pub(crate) id: String,
    pub(crate) folder_id: String,
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) labels: BTreeMap<String, String>,
    pub(crate) created_at: Ts,
    pub(crate) expires_at: Option<Ts>,
}

#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct KeyRec {
    pub(crate) id: String,
    pub(crate) service_account_id: String,
    pub(crate) description: String,
    pub(crate) scopes: Vec<String>,
    pub(crate) created_at: Ts,
    pub(crate) expires_at: Option<Ts>,
    pub(crate) last_used_at: Option<Ts>,
    pub(crate) secret: String,
    pub(crate) deleted: bool,
}

impl fmt::Debug for KeyRec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRec")
            .field("id", &self.id)
            .field("deleted", &self.deleted)
            .finish_non_exhaustive()
    }
}

/// One access binding: role, subject type, subject id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct BindingRec {
    pub(crate) role_id: String,
    pub(crate) subject_type: String,
    pub(crate) subject_id: String,
}

impl BindingRec {
    pub(crate) fn from_proto(b: &AccessBinding) -> Self {
        let subject = b.subject.clone().unwrap_or_default();
        Self {
            role_id: b.role_id.clone(),
            subject_type: subject.r#type,
            subject_id: subject.id,
        }
    }

    pub(crate) fn to_proto(&self) -> AccessBinding {
        AccessBinding {
            role_id: self.role_id.clone(),
            subject: Some(Subject {
                id: self.subject_id.clone(),
                r#type: self.subject_type.clone(),
            }),
        }
    }

    /// The ordering key used for pagination.
    pub(crate) fn key(&self) -> String {
        format!("{}\u{1}{}\u{1}{}", self.role_id, self.subject_type, self.subject_id)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct AnyRec {
    pub(crate) type_url: String,
    pub(crate) value: String,
}

impl AnyRec {
    pub(crate) fn from_proto(a: &Any) -> Self {
        Self {
            type_url: a.type_url.clone(),
            value: hex(&a.value),
        }
    }

    pub(crate) fn to_proto(&self) -> Any {
        Any {
            type_url: self.type_url.clone(),
            value: unhex(&self.value).unwrap_or_default(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum OpResult {
    Response(AnyRec),
    Error { code: i32, message: String },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct OpRec {
    pub(crate) id: String,
    pub(crate) description: String,
    pub(crate) created_at: Ts,
    pub(crate) created_by: String,
    pub(crate) done_at: Ts,
    pub(crate) metadata: AnyRec,
    pub(crate) result: OpResult,
}

impl OpRec {
    /// The operation as `OperationService.Get` shows it now.
    pub(crate) fn render(&self, clock: &Clock) -> Operation {
        let done = clock.is_past(&self.done_at.into());
        let result = if done {
            Some(match &self.result {
                OpResult::Response(any) => operation::Result::Response(any.to_proto()),
                OpResult::Error { code, message } => operation::Result::Error(rpc::Status {
                    code: *code,
                    message: message.clone(),
                    details: Vec::new(),
                }),
            })
        } else {
            None
        };
        Operation {
            id: self.id.clone(),
            description: self.description.clone(),
            created_at: Some(self.created_at.into()),
            created_by: self.created_by.clone(),
            modified_at: Some(if done { self.done_at } else { self.created_at }.into()),
            done,
            metadata: Some(self.metadata.to_proto()),
            result,
        }
    }
}

/// What an `idempotency-key` already produced.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) enum IdemRec {
    Operation { operation_id: String },
    ApiKey { api_key_id: String, secret: String },
}

#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct TokenRec {
    pub(crate) subject: String,
    pub(crate) expires_at: Ts,
}

/// Everything the emulator knows; saved as JSON in the state file.
#[derive(Default, Clone, Serialize, Deserialize)]
pub(crate) struct State {
    pub(crate) clouds: BTreeMap<String, CloudRec>,
    pub(crate) folders: BTreeMap<String, FolderRec>,
    pub(crate) service_accounts: BTreeMap<String, SaRec>,
    pub(crate) api_keys: BTreeMap<String, KeyRec>,
    pub(crate) bindings: BTreeMap<String, BTreeSet<BindingRec>>,
    pub(crate) operations: BTreeMap<String, OpRec>,
    pub(crate) idempotency: BTreeMap<String, IdemRec>,
    pub(crate) tokens: BTreeMap<String, TokenRec>,
}

impl CloudRec {
    pub(crate) fn to_proto(&self) -> Cloud {
        Cloud {
            id: self.id.clone(),
            created_at: Some(self.created_at.into()),
            name: self.name.clone(),
            description: String::new(),
            organization_id: self.organization_id.clone(),
            labels: BTreeMap::new(),
        }
    }
}

impl FolderRec {
    pub(crate) fn to_proto(&self) -> Folder {
        Folder {
            id: self.id.clone(),
            cloud_id: self.cloud_id.clone(),
            created_at: Some(self.created_at.into()),
            name: self.name.clone(),
            description: String::new(),
            labels: BTreeMap::new(),
            status: folder::Status::Active as i32,
        }
    }
}

impl SaRec {
    pub(crate) fn to_proto(&self) -> ServiceAccount {
        ServiceAccount {
            id: self.id.clone(),
            folder_id: self.folder_id.clone(),
            created_at: Some(self.created_at.into()),
            name: self.name.clone(),
            description: self.description.clone(),
            labels: self.labels.clone(),
            last_authenticated_at: None,
            status: service_account::Status::Active as i32,
            expires_at: self.expires_at.map(Into::into),
        }
    }
}

impl KeyRec {
    // The deprecated `scope` mirrors the first scope, as the real API fills it.
    #[allow(deprecated)]
    pub(crate) fn to_proto(&self) -> ApiKey {
        ApiKey {
            id: self.id.clone(),
            service_account_id: self.service_account_id.clone(),
            created_at: Some(self.created_at.into()),
            description: self.description.clone(),
            last_used_at: self.last_used_at.map(Into::into),
            scope: self.scopes.first().cloned().unwrap_or_default(),
            expires_at: self.expires_at.map(Into::into),
            scopes: self.scopes.clone(),
            masked_secret: super::ids::mask_secret(&self.secret),
        }
    }
}

// Table-driven: these run for every operation, inside the state lock.
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        text.push(char::from(DIGITS[usize::from(b >> 4)]));
        text.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    text
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    bytes
        .chunks_exact(2)
        .map(|pair| Some(nibble(pair[0])? << 4 | nibble(pair[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_values_survive_the_hex_round_trip() {
        let any = Any {
            type_url: "t".into(),
            value: vec![0, 1, 254, 255],
        };
        assert_eq!(AnyRec::from_proto(&any).to_proto(), any);
    }
}
