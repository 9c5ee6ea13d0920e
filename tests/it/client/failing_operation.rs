//! A failed operation, end to end over gRPC: a fake ServiceAccountService whose
//! Create starts an operation that OperationService later reports as failed. (The emulator has
//! no way yet to make an operation fail.)

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    },
};

use tonic::{Code, Request, Response, Status, transport::server::TcpIncoming};
use yc_iam::{
    Client, CreateServiceAccount, Credentials, ErrorKind,
    proto::{
        google::rpc,
        yandex::cloud::{
            iam::v1::{
                CreateServiceAccountRequest, DeleteServiceAccountRequest, GetServiceAccountRequest,
                ListServiceAccountsRequest, ListServiceAccountsResponse, ServiceAccount, UpdateServiceAccountRequest,
                service_account_service_server::{ServiceAccountService, ServiceAccountServiceServer},
            },
            operation::{
                CancelOperationRequest, GetOperationRequest, Operation, operation,
                operation_service_server::{OperationService, OperationServiceServer},
            },
        },
    },
};

const OP_ID: &str = "ajefailingop0000001";

/// Create answers with a running operation; Get reports it running twice, then failed.
#[derive(Clone, Default)]
struct Fake {
    polls: Arc<AtomicU32>,
}

fn running() -> Operation {
    Operation {
        id: OP_ID.into(),
        description: "Create service account".into(),
        ..Default::default()
    }
}

#[tonic::async_trait]
impl ServiceAccountService for Fake {
    async fn get(&self, _: Request<GetServiceAccountRequest>) -> Result<Response<ServiceAccount>, Status> {
        Err(Status::unimplemented("get"))
    }

    async fn list(
        &self,
        _: Request<ListServiceAccountsRequest>,
    ) -> Result<Response<ListServiceAccountsResponse>, Status> {
        Err(Status::unimplemented("list"))
    }

    async fn create(&self, _: Request<CreateServiceAccountRequest>) -> Result<Response<Operation>, Status> {
        Ok(Response::new(running()))
    }

    async fn update(&self, _: Request<UpdateServiceAccountRequest>) -> Result<Response<Operation>, Status> {
        Err(Status::unimplemented("update"))
    }

    async fn delete(&self, _: Request<DeleteServiceAccountRequest>) -> Result<Response<Operation>, Status> {
        Err(Status::unimplemented("delete"))
    }
}

#[tonic::async_trait]
impl OperationService for Fake {
    async fn get(&self, request: Request<GetOperationRequest>) -> Result<Response<Operation>, Status> {
        if request.into_inner().operation_id != OP_ID {
            return Err(Status::not_found("no such operation"));
        }
        if self.polls.fetch_add(1, Ordering::SeqCst) < 2 {
            return Ok(Response::new(running()));
        }
        Ok(Response::new(Operation {
            done: true,
            result: Some(operation::Result::Error(rpc::Status {
                code: Code::PermissionDenied as i32,
                message: "Permission denied to folder b1gfolder".into(),
                details: Vec::new(),
            })),
            ..running()
        }))
    }

    async fn cancel(&self, _: Request<CancelOperationRequest>) -> Result<Response<Operation>, Status> {
        Err(Status::unimplemented("cancel"))
    }
}

async fn serve(fake: Fake) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tonic::transport::Server::builder()
        .add_service(ServiceAccountServiceServer::new(fake.clone()))
        .add_service(OperationServiceServer::new(fake))
        .serve_with_incoming(TcpIncoming::from(listener));
    tokio::spawn(server);
    addr
}

#[tokio::test]
async fn operation_that_fails_while_polled_becomes_an_error_with_its_id_and_status() {
    let fake = Fake::default();
    let addr = serve(fake.clone()).await;
    let endpoint = format!("http://{addr}");
    let client = Client::builder()
        .with_endpoint(&endpoint)
        .with_service_endpoint("iam", &endpoint)
        .with_service_endpoint("operation", &endpoint)
        .with_credentials(Credentials::iam_token("t1.test"))
        .build()
        .expect("client");
    let op = client
        .service_accounts()
        .create(CreateServiceAccount::new("b1gfolder", "doomed"))
        .await
        .expect("accepted");
    assert_eq!(op.id(), OP_ID);
    let err = op.wait().await.expect_err("the operation fails");
    assert_eq!(err.kind(), ErrorKind::OperationFailed);
    assert_eq!(err.code(), Some(Code::PermissionDenied));
    assert_eq!(err.operation_id(), Some(OP_ID));
    assert_eq!(err.message(), "Permission denied to folder b1gfolder");
    assert_eq!(fake.polls.load(Ordering::SeqCst), 3, "polled until done, then no more");
}
