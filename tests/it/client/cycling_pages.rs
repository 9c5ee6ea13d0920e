//! A server that hands back page tokens in a cycle (A, B, A, B…) ends the listing with an error
//! naming the call, instead of streaming the same pages forever.

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    },
    time::Duration,
};

use futures_util::TryStreamExt as _;
use tonic::{Request, Response, Status, transport::server::TcpIncoming};
use yc_iam::{
    Client, Credentials,
    proto::yandex::cloud::{
        iam::v1::{
            CreateServiceAccountRequest, DeleteServiceAccountRequest, GetServiceAccountRequest,
            ListServiceAccountsRequest, ListServiceAccountsResponse, ServiceAccount, UpdateServiceAccountRequest,
            service_account_service_server::{ServiceAccountService, ServiceAccountServiceServer},
        },
        operation::Operation,
    },
};

/// List answers "" → A, A → B, B → A, one account per page, and counts the pages it served.
#[derive(Clone, Default)]
struct Cycling {
    pages: Arc<AtomicU32>,
}

#[tonic::async_trait]
impl ServiceAccountService for Cycling {
    async fn get(&self, _: Request<GetServiceAccountRequest>) -> Result<Response<ServiceAccount>, Status> {
        Err(Status::unimplemented("get"))
    }

    async fn list(
        &self,
        request: Request<ListServiceAccountsRequest>,
    ) -> Result<Response<ListServiceAccountsResponse>, Status> {
        let served = self.pages.fetch_add(1, Ordering::SeqCst);
        let next = if request.get_ref().page_token == "A" { "B" } else { "A" };
        Ok(Response::new(ListServiceAccountsResponse {
            service_accounts: vec![ServiceAccount {
                id: format!("ajepage{served:013}"),
                name: format!("page-{served}"),
                ..Default::default()
            }],
            next_page_token: next.into(),
        }))
    }

    async fn create(&self, _: Request<CreateServiceAccountRequest>) -> Result<Response<Operation>, Status> {
        Err(Status::unimplemented("create"))
    }

    async fn update(&self, _: Request<UpdateServiceAccountRequest>) -> Result<Response<Operation>, Status> {
        Err(Status::unimplemented("update"))
    }

    async fn delete(&self, _: Request<DeleteServiceAccountRequest>) -> Result<Response<Operation>, Status> {
        Err(Status::unimplemented("delete"))
    }
}

async fn serve(fake: Cycling) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let server = tonic::transport::Server::builder()
        .add_service(ServiceAccountServiceServer::new(fake))
        .serve_with_incoming(TcpIncoming::from(listener));
    tokio::spawn(server);
    addr
}

#[tokio::test]
async fn page_tokens_that_cycle_end_the_listing_with_an_error_naming_the_call() {
    let fake = Cycling::default();
    let endpoint = format!("http://{}", serve(fake.clone()).await);
    let client = Client::builder()
        .with_endpoint(&endpoint)
        .with_service_endpoint("iam", &endpoint)
        .with_credentials(Credentials::iam_token("t1.test"))
        .build()
        .expect("client");
    let listing = client.service_accounts().list("b1gfolder").try_collect::<Vec<_>>();
    let err = tokio::time::timeout(Duration::from_secs(10), listing)
        .await
        .expect("the listing ends")
        .expect_err("a cycle is an error");
    let message = err.to_string();
    assert!(message.starts_with("cannot list service accounts"), "{message}");
    assert!(message.contains("page token"), "{message}");
    // "", A, B and then A again: the repeat is caught on the third answer.
    assert_eq!(fake.pages.load(Ordering::SeqCst), 3);
}
