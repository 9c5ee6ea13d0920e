//! The wire types callers meet most, re-exported under short names. They are the generated
//! messages, so they serialize exactly as Yandex Cloud's own.

pub use crate::proto::yandex::cloud::{
    access::{
        AccessBinding, AccessBindingAction, AccessBindingDelta, AccessBindingsOperationResult,
        SetAccessBindingsMetadata, Subject, UpdateAccessBindingsMetadata,
    },
    iam::v1::{
        ApiKey, CreateServiceAccountMetadata, DeleteApiKeyMetadata, DeleteServiceAccountMetadata, ServiceAccount,
        UpdateApiKeyMetadata, UpdateServiceAccountMetadata, service_account::Status as ServiceAccountStatus,
    },
    iam::v1::{
        DeleteKeyMetadata, Key, UpdateKeyMetadata,
        awscompatibility::{AccessKey, DeleteAccessKeyMetadata, UpdateAccessKeyMetadata},
        key::{Algorithm as KeyAlgorithm, Subject as KeySubject},
    },
    lockbox::v1::{
        GetExResponse as LockboxGetExResponse, Payload as LockboxPayload, Secret as LockboxSecret,
        Version as LockboxVersion, payload::entry::Value as LockboxEntryValue, secret::Status as LockboxSecretStatus,
        version::Status as LockboxVersionStatus,
    },
    operation::Operation as RawOperation,
    resourcemanager::v1::{Cloud, Folder, folder::Status as FolderStatus},
};
pub use prost_types::{FieldMask, Timestamp};

pub use crate::timestamp::{from_timestamp, to_timestamp};

use crate::proto::yandex::cloud::access;

impl AccessBinding {
    /// A binding of `role_id` to a subject of `subject_type` (`serviceAccount`, `userAccount`,
    /// `federatedUser`, `group`, `system`) and id.
    pub fn new(role_id: impl Into<String>, subject_type: impl Into<String>, subject_id: impl Into<String>) -> Self {
        AccessBinding {
            role_id: role_id.into(),
            subject: Some(access::Subject {
                id: subject_id.into(),
                r#type: subject_type.into(),
            }),
        }
    }

    /// A binding of `role_id` to a service account.
    pub fn service_account(role_id: impl Into<String>, service_account_id: impl Into<String>) -> Self {
        AccessBinding::new(role_id, "serviceAccount", service_account_id)
    }
}

impl AccessBindingDelta {
    /// Adds `binding`.
    pub fn add(binding: AccessBinding) -> Self {
        AccessBindingDelta {
            action: AccessBindingAction::Add as i32,
            access_binding: Some(binding),
        }
    }

    /// Removes `binding`.
    pub fn remove(binding: AccessBinding) -> Self {
        AccessBindingDelta {
            action: AccessBindingAction::Remove as i32,
            access_binding: Some(binding),
        }
    }
}
