//! `yandex.cloud.lockbox.v1.SecretService` and `PayloadService`: secrets, their versions and
//! access bindings, and the payloads they hold.
//!
//! Secrets are served by the `lockbox` endpoint and payloads by `lockbox-payload`, two addresses
//! in production. Payload values travel only inside the generated types, whose `Debug` masks
//! every value, and are put in requests from [`SecretString`]s.

use std::time::Duration;

use secrecy::zeroize::Zeroize;
use secrecy::{ExposeSecret as _, SecretString};

use crate::{
    Client, Error, Operation, Paginator,
    client::{Method, ServiceId},
    proto::yandex::cloud::{
        access::{
            AccessBinding, AccessBindingDelta, ListAccessBindingsRequest, UpdateAccessBindingsMetadata,
            UpdateAccessBindingsRequest,
        },
        lockbox::v1::{
            ActivateSecretMetadata, ActivateSecretRequest, AddVersionMetadata, AddVersionRequest,
            CancelVersionDestructionMetadata, CancelVersionDestructionRequest, CreateSecretMetadata,
            CreateSecretRequest, DeactivateSecretMetadata, DeactivateSecretRequest, DeleteSecretMetadata,
            DeleteSecretRequest, FolderAndName, GetExRequest, GetExResponse, GetPayloadRequest, GetSecretRequest,
            ListSecretsRequest, ListVersionsRequest, Payload, PayloadEntryChange, ScheduleVersionDestructionMetadata,
            ScheduleVersionDestructionRequest, Secret, SetCurrentVersionMetadata, SetCurrentVersionRequest,
            UpdateSecretMetadata, UpdateSecretRequest, Version, get_ex_request, payload, payload_entry_change,
            payload_service_client::PayloadServiceClient as PayloadStub,
            secret_service_client::SecretServiceClient as Stub,
        },
    },
};

use super::named::{CreateNamed, UpdateNamed, named_requests};

const LB: ServiceId = ServiceId::Lockbox;
const GET: Method = Method::read(LB, "cannot get lockbox secret");
const LIST: Method = Method::read(LB, "cannot list lockbox secrets");
const CREATE: Method = Method::mutate(LB, "cannot create lockbox secret");
const UPDATE: Method = Method::mutate(LB, "cannot update lockbox secret");
const DELETE: Method = Method::mutate(LB, "cannot delete lockbox secret");
const ACTIVATE: Method = Method::mutate(LB, "cannot activate lockbox secret");
const DEACTIVATE: Method = Method::mutate(LB, "cannot deactivate lockbox secret");
const LIST_VERSIONS: Method = Method::read(LB, "cannot list lockbox secret versions");
const ADD_VERSION: Method = Method::mutate(LB, "cannot add a lockbox secret version");
const SET_CURRENT: Method = Method::mutate(LB, "cannot set the current lockbox secret version");
const SCHEDULE: Method = Method::mutate(LB, "cannot schedule a lockbox secret version for destruction");
const CANCEL: Method = Method::mutate(LB, "cannot cancel the destruction of a lockbox secret version");
const LIST_BINDINGS: Method = Method::read(LB, "cannot list access bindings of lockbox secret");
const UPDATE_BINDINGS: Method = Method::mutate(LB, "cannot update access bindings of lockbox secret");
const GET_PAYLOAD: Method = Method::read(ServiceId::LockboxPayload, "cannot get lockbox payload");

/// Lockbox secrets and payloads: `client.lockbox()`.
#[derive(Debug, Clone)]
pub struct Lockbox {
    client: Client,
}

// Payload values arrive and leave in these generated types: each clears its values when it is
// dropped, so a payload read or a version added leaves no copy of the secrets in freed memory
// (a request is copied per attempt; each copy is dropped once tonic has encoded it).

impl Drop for PayloadEntryChange {
    fn drop(&mut self) {
        match &mut self.value {
            Some(payload_entry_change::Value::TextValue(text)) => text.zeroize(),
            Some(payload_entry_change::Value::BinaryValue(bytes)) => bytes.zeroize(),
            None => {}
        }
    }
}

impl Drop for payload::Entry {
    fn drop(&mut self) {
        match &mut self.value {
            Some(payload::entry::Value::TextValue(text)) => text.zeroize(),
            Some(payload::entry::Value::BinaryValue(bytes)) => bytes.zeroize(),
            None => {}
        }
    }
}

impl Drop for GetExResponse {
    fn drop(&mut self) {
        self.entries.values_mut().for_each(Zeroize::zeroize);
    }
}

/// A text entry of a new version, its value taken from a secret.
fn text_entry(key: impl Into<String>, value: &SecretString) -> PayloadEntryChange {
    PayloadEntryChange {
        key: key.into(),
        value: Some(payload_entry_change::Value::TextValue(value.expose_secret().to_owned())),
    }
}

/// The request to create a secret: folder and name, optionally labels, a description and the
/// entries of its first version. Without entries it has no version until one is added.
pub type CreateSecret = CreateNamed<CreateSecretRequest>;

/// The request to change a secret; only the fields set are changed.
pub type UpdateSecret = UpdateNamed<UpdateSecretRequest>;

named_requests!(CreateSecretRequest, UpdateSecretRequest(secret_id), finish: without_empty_version);

/// A secret given no entries is created without a version.
fn without_empty_version(request: &mut CreateSecretRequest) {
    if request.version_payload_entries.is_empty() {
        request.create_version = Some(false);
    }
}

impl CreateSecret {
    /// A text entry of the first version.
    pub fn entry(mut self, key: impl Into<String>, value: &SecretString) -> Self {
        self.request.version_payload_entries.push(text_entry(key, value));
        self
    }

    /// Whether the secret is protected from deletion.
    pub fn deletion_protection(mut self, on: bool) -> Self {
        self.request.deletion_protection = on;
        self
    }
}

impl UpdateSecret {
    /// Turns deletion protection on or off.
    pub fn deletion_protection(self, on: bool) -> Self {
        Self(self.0.set("deletion_protection", |r| r.deletion_protection = on))
    }
}

/// The request to add a version to a secret. Entries not given are copied from the base version.
#[derive(Debug, Clone)]
pub struct AddVersion {
    request: AddVersionRequest,
}

impl AddVersion {
    /// A new version of secret `secret_id`.
    pub fn new(secret_id: impl Into<String>) -> Self {
        AddVersion {
            request: AddVersionRequest {
                secret_id: secret_id.into(),
                ..Default::default()
            },
        }
    }

    /// The version the new one is based on: its entries are copied into the new version, except
    /// those the request sets. Any version that is not destroyed can be a base, current or not,
    /// so a writer that must not drop a concurrent writer's version checks the current version
    /// itself.
    pub fn base_version_id(mut self, version_id: impl Into<String>) -> Self {
        self.request.base_version_id = version_id.into();
        self
    }

    /// The version's description (up to 1024 characters).
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.request.description = description.into();
        self
    }

    /// A text entry, replacing the base version's entry of the same key.
    pub fn entry(mut self, key: impl Into<String>, value: &SecretString) -> Self {
        self.request.payload_entries.push(text_entry(key, value));
        self
    }

    /// Leaves the base version's entry `key` out of the new version (a change without a value).
    pub fn without_entry(mut self, key: impl Into<String>) -> Self {
        self.request.payload_entries.push(PayloadEntryChange {
            key: key.into(),
            value: None,
        });
        self
    }

    /// An entry copied from a version's payload as it is, text or binary (the copy is cleared
    /// when the request is dropped).
    pub(crate) fn copied_entry(mut self, entry: &payload::Entry) -> Self {
        let value = entry.value.as_ref().map(|value| match value {
            payload::entry::Value::TextValue(text) => payload_entry_change::Value::TextValue(text.clone()),
            payload::entry::Value::BinaryValue(bytes) => payload_entry_change::Value::BinaryValue(bytes.clone()),
        });
        self.request.payload_entries.push(PayloadEntryChange {
            key: entry.key.clone(),
            value,
        });
        self
    }

    /// The wire request.
    pub fn into_request(self) -> AddVersionRequest {
        self.request
    }
}

/// Which secret `PayloadService.GetEx` reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretRef {
    /// The secret with this id.
    Id(String),
    /// The secret with this name in this folder.
    Name {
        /// The folder.
        folder_id: String,
        /// The secret's name.
        name: String,
    },
}

impl Lockbox {
    pub(crate) fn new(client: Client) -> Self {
        Lockbox { client }
    }

    /// The secret with this id (with its current version, without the payload).
    pub async fn get(&self, secret_id: impl Into<String>) -> Result<Secret, Error> {
        let request = GetSecretRequest {
            secret_id: secret_id.into(),
        };
        call!(self, GET, request, get)
    }

    /// Every secret of a folder, as a stream.
    pub fn list(&self, folder_id: impl Into<String>) -> Paginator<Secret> {
        let request = ListSecretsRequest {
            folder_id: folder_id.into(),
            ..Default::default()
        };
        list!(self, LIST, request, list)
    }

    /// The secret with this name in the folder, if any (the API has no filter: the listing is
    /// matched on this side).
    pub async fn find_by_name(
        &self,
        folder_id: impl Into<String>,
        name: impl Into<String>,
    ) -> Result<Option<Secret>, Error> {
        use futures_util::TryStreamExt as _;
        let name = name.into();
        let mut named = self.list(folder_id).try_filter(|s| std::future::ready(s.name == name));
        named.try_next().await
    }

    /// Creates a secret; the operation's response is the new secret.
    pub async fn create(&self, request: CreateSecret) -> Result<Operation<Secret, CreateSecretMetadata>, Error> {
        operation!(self, CREATE, request.into_request(), create)
    }

    /// Changes a secret.
    pub async fn update(&self, request: UpdateSecret) -> Result<Operation<Secret, UpdateSecretMetadata>, Error> {
        operation!(self, UPDATE, request.into_request(), update)
    }

    /// Deletes a secret; the operation's response is the deleted secret.
    pub async fn delete(&self, secret_id: impl Into<String>) -> Result<Operation<Secret, DeleteSecretMetadata>, Error> {
        let request = DeleteSecretRequest {
            secret_id: secret_id.into(),
        };
        operation!(self, DELETE, request, delete)
    }

    /// Makes an inactive secret readable again.
    pub async fn activate(
        &self,
        secret_id: impl Into<String>,
    ) -> Result<Operation<Secret, ActivateSecretMetadata>, Error> {
        let request = ActivateSecretRequest {
            secret_id: secret_id.into(),
        };
        operation!(self, ACTIVATE, request, activate)
    }

    /// Makes a secret unreadable until it is activated.
    pub async fn deactivate(
        &self,
        secret_id: impl Into<String>,
    ) -> Result<Operation<Secret, DeactivateSecretMetadata>, Error> {
        let request = DeactivateSecretRequest {
            secret_id: secret_id.into(),
        };
        operation!(self, DEACTIVATE, request, deactivate)
    }

    /// Every version of a secret, as a stream.
    pub fn list_versions(&self, secret_id: impl Into<String>) -> Paginator<Version> {
        let request = ListVersionsRequest {
            secret_id: secret_id.into(),
            ..Default::default()
        };
        list!(self, LIST_VERSIONS, request, list_versions)
    }

    /// Adds a version, which becomes the current one; the operation's response is the version.
    pub async fn add_version(&self, request: AddVersion) -> Result<Operation<Version, AddVersionMetadata>, Error> {
        operation!(self, ADD_VERSION, request.into_request(), add_version)
    }

    /// Makes `version_id` the current version.
    pub async fn set_current_version(
        &self,
        secret_id: impl Into<String>,
        version_id: impl Into<String>,
    ) -> Result<Operation<Version, SetCurrentVersionMetadata>, Error> {
        let request = SetCurrentVersionRequest {
            secret_id: secret_id.into(),
            version_id: version_id.into(),
        };
        operation!(self, SET_CURRENT, request, set_current_version)
    }

    /// Schedules a version for destruction after `pending_period` (the server's default, seven
    /// days, when `None`).
    pub async fn schedule_version_destruction(
        &self,
        secret_id: impl Into<String>,
        version_id: impl Into<String>,
        pending_period: Option<Duration>,
    ) -> Result<Operation<Version, ScheduleVersionDestructionMetadata>, Error> {
        let pending_period = match pending_period {
            Some(d) => Some(
                prost_types::Duration::try_from(d)
                    .map_err(|_| Error::invalid_input(SCHEDULE.what, "pending_period is too long"))?,
            ),
            None => None,
        };
        let request = ScheduleVersionDestructionRequest {
            secret_id: secret_id.into(),
            version_id: version_id.into(),
            pending_period,
        };
        operation!(self, SCHEDULE, request, schedule_version_destruction)
    }

    /// Cancels a scheduled destruction; the version is active again.
    pub async fn cancel_version_destruction(
        &self,
        secret_id: impl Into<String>,
        version_id: impl Into<String>,
    ) -> Result<Operation<Version, CancelVersionDestructionMetadata>, Error> {
        let request = CancelVersionDestructionRequest {
            secret_id: secret_id.into(),
            version_id: version_id.into(),
        };
        operation!(self, CANCEL, request, cancel_version_destruction)
    }

    /// Every access binding of a secret, as a stream.
    pub fn list_access_bindings(&self, secret_id: impl Into<String>) -> Paginator<AccessBinding> {
        let request = ListAccessBindingsRequest {
            resource_id: secret_id.into(),
            ..Default::default()
        };
        list!(self, LIST_BINDINGS, request, list_access_bindings)
    }

    /// Adds and removes access bindings of a secret (at most 1000 deltas per call).
    pub async fn update_access_bindings(
        &self,
        secret_id: impl Into<String>,
        deltas: Vec<AccessBindingDelta>,
    ) -> Result<Operation<(), UpdateAccessBindingsMetadata>, Error> {
        let request = UpdateAccessBindingsRequest {
            resource_id: secret_id.into(),
            access_binding_deltas: deltas,
        };
        operation!(self, UPDATE_BINDINGS, request, update_access_bindings)
    }

    /// The payload of a version of a secret (the current one when `version_id` is `None`).
    pub async fn payload(&self, secret_id: impl Into<String>, version_id: Option<&str>) -> Result<Payload, Error> {
        let request = GetPayloadRequest {
            secret_id: secret_id.into(),
            version_id: version_id.unwrap_or_default().to_owned(),
        };
        call!(self, GET_PAYLOAD, request, PayloadStub::get)
    }

    /// The payload of a secret named by id or by folder and name, with the secret's and the
    /// version's ids, in one call (`PayloadService.GetEx`).
    pub async fn payload_ex(&self, secret: SecretRef, version_id: Option<&str>) -> Result<GetExResponse, Error> {
        let identifier = match secret {
            SecretRef::Id(id) => get_ex_request::Identifier::SecretId(id),
            SecretRef::Name { folder_id, name } => get_ex_request::Identifier::FolderAndName(FolderAndName {
                folder_id,
                secret_name: name,
            }),
        };
        let request = GetExRequest {
            identifier: Some(identifier),
            version_id: version_id.unwrap_or_default().to_owned(),
        };
        call!(self, GET_PAYLOAD, request, PayloadStub::get_ex)
    }
}
