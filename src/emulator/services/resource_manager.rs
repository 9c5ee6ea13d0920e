//! `FolderService` and `CloudService`: the pre-created folders and clouds, and their access
//! bindings (see `access_bindings`).

use tonic::{Request, Response, Status};

use super::access_bindings::Resource;
use super::service_account::require_folder;
use super::{Svc, checked};
use crate::emulator::errors::invalid_argument;
use crate::emulator::page::page;
use crate::proto::yandex::cloud::access::{
    ListAccessBindingsRequest, ListAccessBindingsResponse, SetAccessBindingsRequest, UpdateAccessBindingsRequest,
};
use crate::proto::yandex::cloud::operation::Operation;
use crate::proto::yandex::cloud::resourcemanager::v1::cloud_service_server::CloudService;
use crate::proto::yandex::cloud::resourcemanager::v1::folder_service_server::FolderService;
use crate::proto::yandex::cloud::resourcemanager::v1::{
    Cloud, Folder, GetCloudRequest, GetFolderRequest, ListCloudsRequest, ListCloudsResponse, ListFoldersRequest,
    ListFoldersResponse,
};

/// `FolderService` over the shared state.
pub(crate) struct Folders(pub(crate) Svc);
/// `CloudService` over the shared state.
pub(crate) struct Clouds(pub(crate) Svc);

/// The value of an optional `name="…"` filter on folders and clouds.
fn loose_name_filter(filter: &str) -> Result<Option<String>, Status> {
    let filter = filter.trim();
    if filter.is_empty() {
        return Ok(None);
    }
    let value = filter
        .strip_prefix("name")
        .map(str::trim_start)
        .and_then(|r| r.strip_prefix('='))
        .map(str::trim)
        .and_then(|r| r.strip_prefix('"'))
        .and_then(|r| r.strip_suffix('"'))
        .ok_or_else(|| invalid_argument("filter", "filter must look like name=\"<name>\""))?;
    Ok(Some(value.to_owned()))
}

#[tonic::async_trait]
impl FolderService for Folders {
    async fn get(&self, request: Request<GetFolderRequest>) -> Result<Response<Folder>, Status> {
        let request = checked(request)?;
        self.0
            .inner
            .read(|state| {
                require_folder(state, &request.folder_id)?;
                Ok(state
                    .folders
                    .get(&request.folder_id)
                    .map(|f| f.to_proto())
                    .unwrap_or_default())
            })
            .map(Response::new)
    }

    async fn list(&self, request: Request<ListFoldersRequest>) -> Result<Response<ListFoldersResponse>, Status> {
        let request = checked(request)?;
        let name = loose_name_filter(&request.filter)?;
        let items = self.0.inner.read(|state| {
            Resource::Cloud.require(state, &request.cloud_id)?;
            Ok::<_, Status>(
                state
                    .folders
                    .values()
                    .filter(|f| f.cloud_id == request.cloud_id && name.as_ref().is_none_or(|n| &f.name == n))
                    .map(|f| (f.id.clone(), f.to_proto()))
                    .collect::<Vec<_>>(),
            )
        })?;
        let (folders, next_page_token) = page(items, request.page_size, &request.page_token)?;
        Ok(Response::new(ListFoldersResponse {
            folders,
            next_page_token,
        }))
    }

    async fn list_access_bindings(
        &self,
        request: Request<ListAccessBindingsRequest>,
    ) -> Result<Response<ListAccessBindingsResponse>, Status> {
        self.0.list_bindings(Resource::Folder, request)
    }

    async fn set_access_bindings(
        &self,
        request: Request<SetAccessBindingsRequest>,
    ) -> Result<Response<Operation>, Status> {
        self.0.set_bindings(Resource::Folder, request)
    }

    async fn update_access_bindings(
        &self,
        request: Request<UpdateAccessBindingsRequest>,
    ) -> Result<Response<Operation>, Status> {
        self.0.update_bindings(Resource::Folder, request)
    }
}

#[tonic::async_trait]
impl CloudService for Clouds {
    async fn get(&self, request: Request<GetCloudRequest>) -> Result<Response<Cloud>, Status> {
        let request = checked(request)?;
        self.0
            .inner
            .read(|state| {
                Resource::Cloud.require(state, &request.cloud_id)?;
                Ok(state
                    .clouds
                    .get(&request.cloud_id)
                    .map(|c| c.to_proto())
                    .unwrap_or_default())
            })
            .map(Response::new)
    }

    async fn list(&self, request: Request<ListCloudsRequest>) -> Result<Response<ListCloudsResponse>, Status> {
        let request = checked(request)?;
        let name = loose_name_filter(&request.filter)?;
        let items = self.0.inner.read(|state| {
            state
                .clouds
                .values()
                .filter(|c| request.organization_id.is_empty() || c.organization_id == request.organization_id)
                .filter(|c| name.as_ref().is_none_or(|n| &c.name == n))
                .map(|c| (c.id.clone(), c.to_proto()))
                .collect::<Vec<_>>()
        });
        let (clouds, next_page_token) = page(items, request.page_size, &request.page_token)?;
        Ok(Response::new(ListCloudsResponse {
            clouds,
            next_page_token,
        }))
    }

    async fn list_access_bindings(
        &self,
        request: Request<ListAccessBindingsRequest>,
    ) -> Result<Response<ListAccessBindingsResponse>, Status> {
        self.0.list_bindings(Resource::Cloud, request)
    }

    async fn set_access_bindings(
        &self,
        request: Request<SetAccessBindingsRequest>,
    ) -> Result<Response<Operation>, Status> {
        self.0.set_bindings(Resource::Cloud, request)
    }

    async fn update_access_bindings(
        &self,
        request: Request<UpdateAccessBindingsRequest>,
    ) -> Result<Response<Operation>, Status> {
        self.0.update_bindings(Resource::Cloud, request)
    }
}
