//! `yandex.cloud.operation.OperationService`: operations by id.

use crate::{
    Client, Error,
    client::{Method, ServiceId},
    operation::Poller,
    proto::yandex::cloud::operation::{
        CancelOperationRequest, GetOperationRequest, Operation as RawOperation,
        operation_service_client::OperationServiceClient as Stub,
    },
};

/// `OperationService.Get`, also what an [`Operation`](crate::Operation) polls.
pub(crate) const GET_OPERATION: Method = Method::read(ServiceId::Operation, "cannot get operation");
const CANCEL: Method = Method::mutate(ServiceId::Operation, "cannot cancel operation");

/// Operations by id: `client.operations()`.
#[derive(Debug, Clone)]
pub struct Operations {
    client: Client,
}

impl Operations {
    pub(crate) fn new(client: Client) -> Self {
        Operations { client }
    }

    /// The operation as it is now.
    pub async fn get(&self, id: impl Into<String>) -> Result<RawOperation, Error> {
        let request = GetOperationRequest {
            operation_id: id.into(),
        };
        call!(self, GET_OPERATION, request, get)
    }

    /// Waits until the operation is done (within the client's operation timeout) and returns it,
    /// whether it succeeded or failed: look at its `result`.
    pub async fn wait(&self, id: impl Into<String>) -> Result<RawOperation, Error> {
        let raw = self.get(id).await?;
        let mut poller = Poller::new(self.client.clone(), raw, None);
        poller.wait_done().await?;
        Ok(poller.into_raw())
    }

    /// Asks the server to cancel the operation; returns it as it is after the request.
    pub async fn cancel(&self, id: impl Into<String>) -> Result<RawOperation, Error> {
        let request = CancelOperationRequest {
            operation_id: id.into(),
        };
        call!(self, CANCEL, request, cancel)
    }
}
