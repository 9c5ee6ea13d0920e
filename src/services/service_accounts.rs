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

use super::named::{CreateNamed, UpdateNamed, named_requests};

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
pub type CreateServiceAccount = CreateNamed<CreateServiceAccountRequest>;

/// The request to change a service account; only the fields set are changed.
pub type UpdateServiceAccount = UpdateNamed<UpdateServiceAccountRequest>;

named_requests!(
    CreateServiceAccountRequest,
    UpdateServiceAccountRequest(service_account_id)
);

impl CreateServiceAccount {
    /// When the service account expires (a `SystemTime` or a proto `Timestamp`).
    pub fn expires_at(mut self, at: impl Into<prost_types::Timestamp>) -> Self {
        self.request.expires_at = Some(at.into());
        self
    }
}

impl UpdateServiceAccount {
    /// A new expiry.
    pub fn expires_at(self, at: impl Into<prost_types::Timestamp>) -> Self {
        Self(self.0.set("expires_at", |r| r.expires_at = Some(at.into())))
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
        list!(self, LIST, request, list)
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
        let listing = if name.len() >= 3 {
            self.list_filtered(folder_id, format!("name=\"{name}\""))
        } else {
            self.list(folder_id)
        };
        let mut named = listing.try_filter(|sa| std::future::ready(sa.name == name));
        named.try_next().await
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
