//! `yandex.cloud.iam.v1.ServiceAccountService`.

use crate::{
    Client, Error, Operation, Paginator,
    client::{Method, ServiceId, validate},
    proto::yandex::cloud::iam::v1::{
        CreateServiceAccountMetadata, CreateServiceAccountRequest, DeleteServiceAccountMetadata,
        DeleteServiceAccountRequest, GetServiceAccountRequest, ListServiceAccountsRequest, ServiceAccount,
        UpdateServiceAccountMetadata, UpdateServiceAccountRequest,
        service_account_service_client::ServiceAccountServiceClient as Stub,
    },
};

use super::update_mask::{Update, UpdateRequest};

const GET: Method = Method::read(ServiceId::Iam, "cannot get service account");
const LIST: Method = Method::read(ServiceId::Iam, "cannot list service accounts");
const CREATE: Method = Method::mutate(ServiceId::Iam, "cannot create service account");
const UPDATE: Method = Method::mutate(ServiceId::Iam, "cannot update service account");
const DELETE: Method = Method::mutate(ServiceId::Iam, "cannot delete service account");

/// Service accounts: `client.service_accounts()`.
#[derive(Debug, Clone)]
pub struct ServiceAccounts {
    client: Client,
}

/// The request to create a service account: folder and name, optionally description, labels
/// and an expiry.
#[derive(Debug, Clone)]
pub struct CreateServiceAccount {
    request: CreateServiceAccountRequest,
}

impl CreateServiceAccount {
    /// A service account named `name` in folder `folder_id`.
    pub fn new(folder_id: impl Into<String>, name: impl Into<String>) -> Self {
        CreateServiceAccount {
            request: CreateServiceAccountRequest {
                folder_id: folder_id.into(),
                name: name.into(),
                ..Default::default()
            },
        }
    }

    /// The description (up to 256 characters).
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.request.description = description.into();
        self
    }

    /// The labels, replacing any set before.
    pub fn labels<K: Into<String>, V: Into<String>>(mut self, labels: impl IntoIterator<Item = (K, V)>) -> Self {
        self.request.labels = super::label_map(labels);
        self
    }

    /// One more label.
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.request.labels.insert(key.into(), value.into());
        self
    }

    /// When the service account expires (a `SystemTime` or a proto `Timestamp`).
    pub fn expires_at(mut self, at: impl Into<prost_types::Timestamp>) -> Self {
        self.request.expires_at = Some(at.into());
        self
    }

    /// The wire request.
    pub fn into_request(self) -> CreateServiceAccountRequest {
        self.request
    }
}

/// The request to change a service account; only the fields set are changed.
#[derive(Debug, Clone)]
pub struct UpdateServiceAccount(Update<UpdateServiceAccountRequest>);

impl UpdateRequest for UpdateServiceAccountRequest {
    fn update_mask(&mut self) -> &mut Option<prost_types::FieldMask> {
        &mut self.update_mask
    }
}

impl UpdateServiceAccount {
    /// A change to service account `id`.
    pub fn new(id: impl Into<String>) -> Self {
        UpdateServiceAccount(Update::new(UpdateServiceAccountRequest {
            service_account_id: id.into(),
            ..Default::default()
        }))
    }

    /// A new name.
    pub fn name(self, name: impl Into<String>) -> Self {
        Self(self.0.set("name", |r| r.name = name.into()))
    }

    /// A new description.
    pub fn description(self, description: impl Into<String>) -> Self {
        Self(self.0.set("description", |r| r.description = description.into()))
    }

    /// New labels (replacing all).
    pub fn labels<K: Into<String>, V: Into<String>>(self, labels: impl IntoIterator<Item = (K, V)>) -> Self {
        Self(self.0.set("labels", |r| r.labels = super::label_map(labels)))
    }

    /// A new expiry.
    pub fn expires_at(self, at: impl Into<prost_types::Timestamp>) -> Self {
        Self(self.0.set("expires_at", |r| r.expires_at = Some(at.into())))
    }

    /// The wire request (with its field mask).
    pub fn into_request(self) -> UpdateServiceAccountRequest {
        self.0.into_request()
    }
}

impl ServiceAccounts {
    pub(crate) fn new(client: Client) -> Self {
        ServiceAccounts { client }
    }

    /// The service account with this id.
    pub async fn get(&self, id: impl Into<String>) -> Result<ServiceAccount, Error> {
        let request = GetServiceAccountRequest {
            service_account_id: id.into(),
        };
        call!(self, GET, request, get)
    }

    /// Every service account of a folder, as a stream.
    pub fn list(&self, folder_id: impl Into<String>) -> Paginator<ServiceAccount> {
        self.list_filtered(folder_id, "")
    }

    /// The service accounts of a folder that match a filter such as `name="my-sa"` (the API
    /// accepts names of 3 to 63 characters in the filter).
    pub fn list_filtered(&self, folder_id: impl Into<String>, filter: impl Into<String>) -> Paginator<ServiceAccount> {
        let request = ListServiceAccountsRequest {
            folder_id: folder_id.into(),
            filter: filter.into(),
            ..Default::default()
        };
        self.client
            .paginate(LIST, request, |ch, r| async move { Stub::new(ch).list(r).await })
    }

    /// The service account with this name in the folder, if any. Names of any valid length work:
    /// short ones, which the API's filter refuses, are matched on this side. A name that breaks
    /// [`check_service_account_name`](crate::provision::check_service_account_name) is an
    /// invalid-input error, and nothing is sent.
    pub async fn find_by_name(
        &self,
        folder_id: impl Into<String>,
        name: impl Into<String>,
    ) -> Result<Option<ServiceAccount>, Error> {
        use futures_util::TryStreamExt as _;
        let name = name.into();
        crate::provision::check_service_account_name("name", &name)
            .map_err(|e| Error::invalid_input("cannot find service account", e.to_string()))?;
        let mut stream = if name.len() >= 3 {
            self.list_filtered(folder_id, format!("name=\"{name}\""))
        } else {
            self.list(folder_id)
        };
        while let Some(sa) = stream.try_next().await? {
            if sa.name == name {
                return Ok(Some(sa));
            }
        }
        Ok(None)
    }

    /// Creates a service account; the operation's response is the new account.
    pub async fn create(
        &self,
        request: CreateServiceAccount,
    ) -> Result<Operation<ServiceAccount, CreateServiceAccountMetadata>, Error> {
        operation!(self, CREATE, request.into_request(), create)
    }

    /// Changes a service account. The API needs the name in every update; when the request does
    /// not change it, the current name is read first.
    pub async fn update(
        &self,
        request: UpdateServiceAccount,
    ) -> Result<Operation<ServiceAccount, UpdateServiceAccountMetadata>, Error> {
        let mut request = request.into_request();
        if request.name.is_empty() {
            // Check everything else before reading anything.
            let mut probe = request.clone();
            probe.name = "unchanged".to_owned();
            validate(&UPDATE, &probe)?;
            request.name = self.get(request.service_account_id.clone()).await?.name;
        }
        operation!(self, UPDATE, request, update)
    }

    /// Deletes a service account.
    pub async fn delete(&self, id: impl Into<String>) -> Result<Operation<(), DeleteServiceAccountMetadata>, Error> {
        let request = DeleteServiceAccountRequest {
            service_account_id: id.into(),
        };
        operation!(self, DELETE, request, delete)
    }
}
