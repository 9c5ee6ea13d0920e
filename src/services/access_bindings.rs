//! `yandex.cloud.resourcemanager.v1.FolderService` and `CloudService`: the resources and their
//! access bindings.

use crate::{
    Client, Error, Operation, Paginator,
    client::{Method, ServiceId},
    proto::yandex::cloud::{
        access::{
            AccessBinding, AccessBindingDelta, AccessBindingsOperationResult, ListAccessBindingsRequest,
            SetAccessBindingsMetadata, SetAccessBindingsRequest, UpdateAccessBindingsMetadata,
            UpdateAccessBindingsRequest,
        },
        resourcemanager::v1::{
            Cloud, Folder, GetCloudRequest, GetFolderRequest, ListCloudsRequest, ListFoldersRequest,
            cloud_service_client::CloudServiceClient, folder_service_client::FolderServiceClient,
        },
    },
};

const RM: ServiceId = ServiceId::ResourceManager;
const GET_FOLDER: Method = Method::read(RM, "cannot get folder");
const LIST_FOLDERS: Method = Method::read(RM, "cannot list folders");
const GET_CLOUD: Method = Method::read(RM, "cannot get cloud");
const LIST_CLOUDS: Method = Method::read(RM, "cannot list clouds");

/// The operation that changes access bindings; its response lists the effective changes.
pub type AccessBindingsOperation<M> = Operation<AccessBindingsOperationResult, M>;

/// Folders: `client.folders()`.
#[derive(Debug, Clone)]
pub struct Folders {
    client: Client,
}

/// Clouds: `client.clouds()`.
#[derive(Debug, Clone)]
pub struct Clouds {
    client: Client,
}

macro_rules! access_binding_methods {
    ($stub:ident, $what:literal) => {
        #[doc = concat!("Every access binding of a ", $what, ", as a stream.")]
        pub fn list_access_bindings(&self, resource_id: impl Into<String>) -> Paginator<AccessBinding> {
            let request = ListAccessBindingsRequest {
                resource_id: resource_id.into(),
                ..Default::default()
            };
            const LIST: Method = Method::read(RM, concat!("cannot list access bindings of ", $what));
            list!(self, LIST, request, $stub::list_access_bindings)
        }

        #[doc = concat!("Adds and removes access bindings of a ", $what, " (at most 1000 deltas per call).")]
        pub async fn update_access_bindings(
            &self,
            resource_id: impl Into<String>,
            deltas: Vec<AccessBindingDelta>,
        ) -> Result<AccessBindingsOperation<UpdateAccessBindingsMetadata>, Error> {
            let request = UpdateAccessBindingsRequest {
                resource_id: resource_id.into(),
                access_binding_deltas: deltas,
            };
            const UPDATE: Method = Method::mutate(RM, concat!("cannot update access bindings of ", $what));
            operation!(self, UPDATE, request, $stub::update_access_bindings)
        }

        #[doc = concat!("Replaces all access bindings of a ", $what, ".")]
        pub async fn set_access_bindings(
            &self,
            resource_id: impl Into<String>,
            bindings: Vec<AccessBinding>,
        ) -> Result<AccessBindingsOperation<SetAccessBindingsMetadata>, Error> {
            let request = SetAccessBindingsRequest {
                resource_id: resource_id.into(),
                access_bindings: bindings,
            };
            const SET: Method = Method::mutate(RM, concat!("cannot set access bindings of ", $what));
            operation!(self, SET, request, $stub::set_access_bindings)
        }
    };
}

impl Folders {
    pub(crate) fn new(client: Client) -> Self {
        Folders { client }
    }

    /// The folder with this id.
    pub async fn get(&self, id: impl Into<String>) -> Result<Folder, Error> {
        let request = GetFolderRequest { folder_id: id.into() };
        call!(self, GET_FOLDER, request, FolderServiceClient::get)
    }

    /// Every folder of a cloud, as a stream.
    pub fn list(&self, cloud_id: impl Into<String>) -> Paginator<Folder> {
        self.list_filtered(cloud_id, "")
    }

    /// The folders of a cloud that match a filter such as `name="default"`, as a stream.
    pub fn list_filtered(&self, cloud_id: impl Into<String>, filter: impl Into<String>) -> Paginator<Folder> {
        let request = ListFoldersRequest {
            cloud_id: cloud_id.into(),
            filter: filter.into(),
            ..Default::default()
        };
        list!(self, LIST_FOLDERS, request, FolderServiceClient::list)
    }

    access_binding_methods!(FolderServiceClient, "folder");
}

impl Clouds {
    pub(crate) fn new(client: Client) -> Self {
        Clouds { client }
    }

    /// The cloud with this id.
    pub async fn get(&self, id: impl Into<String>) -> Result<Cloud, Error> {
        let request = GetCloudRequest { cloud_id: id.into() };
        call!(self, GET_CLOUD, request, CloudServiceClient::get)
    }

    /// Every cloud the caller can see, as a stream.
    pub fn list(&self) -> Paginator<Cloud> {
        self.list_filtered("", "")
    }

    /// The clouds of an organization (all visible ones if empty) that match a filter such as
    /// `name="my-cloud"` (none if empty), as a stream.
    pub fn list_filtered(&self, organization_id: impl Into<String>, filter: impl Into<String>) -> Paginator<Cloud> {
        let request = ListCloudsRequest {
            organization_id: organization_id.into(),
            filter: filter.into(),
            ..Default::default()
        };
        list!(self, LIST_CLOUDS, request, CloudServiceClient::list)
    }

    access_binding_methods!(CloudServiceClient, "cloud");
}
