//! `OperationService`: operations are done once their delay has passed on the tokio clock.

use tonic::{Request, Response, Status};

use super::{Svc, checked};
use crate::emulator::errors::{failed_precondition, not_found};
use crate::proto::yandex::cloud::operation::operation_service_server::OperationService;
use crate::proto::yandex::cloud::operation::{CancelOperationRequest, GetOperationRequest, Operation};

impl Svc {
    fn find_operation(&self, id: &str) -> Result<Operation, Status> {
        self.inner
            .read(|state| state.operations.get(id).map(|op| op.render(&self.inner.clock)))
            .ok_or_else(|| not_found(format!("Operation {id} not found")))
    }
}

#[tonic::async_trait]
impl OperationService for Svc {
    async fn get(&self, request: Request<GetOperationRequest>) -> Result<Response<Operation>, Status> {
        let request = checked(request)?;
        let op = self.find_operation(&request.operation_id)?;
        Ok(self.operation_response(op))
    }

    async fn cancel(&self, request: Request<CancelOperationRequest>) -> Result<Response<Operation>, Status> {
        let request = checked(request)?;
        let op = self.find_operation(&request.operation_id)?;
        if op.done {
            return Ok(self.operation_response(op));
        }
        Err(failed_precondition(format!("Operation {} cannot be cancelled", op.id)))
    }
}
