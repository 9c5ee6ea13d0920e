//! `ApiEndpointService`: every endpoint id the client needs points back at the emulator.

use tonic::{Request, Response, Status};

use super::Svc;
use crate::emulator::errors::not_found;
use crate::proto::yandex::cloud::endpoint::api_endpoint_service_server::ApiEndpointService;
use crate::proto::yandex::cloud::endpoint::{
    ApiEndpoint, GetApiEndpointRequest, ListApiEndpointsRequest, ListApiEndpointsResponse,
};

/// The endpoint ids served, as the real `ApiEndpointService` names them.
pub(crate) const ENDPOINT_IDS: &[&str] = &[
    "ai-foundation-models",
    "endpoint",
    "iam",
    "lockbox",
    "lockbox-payload",
    "operation",
    "resource-manager",
    "resourcemanager",
];

impl Svc {
    /// The known ids at the emulator's own address, then each configured id at its address
    /// (replacing a known one).
    fn endpoints(&self) -> Vec<ApiEndpoint> {
        let elsewhere = &self.inner.discovered;
        ENDPOINT_IDS
            .iter()
            .filter(|id| !elsewhere.iter().any(|(other, _)| other == *id))
            .map(|id| ApiEndpoint {
                id: (*id).to_owned(),
                address: self.inner.advertised.clone(),
            })
            .chain(elsewhere.iter().map(|(id, address)| ApiEndpoint {
                id: id.clone(),
                address: address.clone(),
            }))
            .collect()
    }
}

#[tonic::async_trait]
impl ApiEndpointService for Svc {
    async fn get(&self, request: Request<GetApiEndpointRequest>) -> Result<Response<ApiEndpoint>, Status> {
        let id = request.into_inner().api_endpoint_id;
        self.endpoints()
            .into_iter()
            .find(|e| e.id == id)
            .map(Response::new)
            .ok_or_else(|| not_found(format!("Endpoint {id} not found")))
    }

    async fn list(
        &self,
        _request: Request<ListApiEndpointsRequest>,
    ) -> Result<Response<ListApiEndpointsResponse>, Status> {
        Ok(Response::new(ListApiEndpointsResponse {
            endpoints: self.endpoints(),
            next_page_token: String::new(),
        }))
    }
}
