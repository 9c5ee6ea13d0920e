//! The tower layer in front of every service: authenticates (before reading the body), journals
//! the call, injects faults, and stamps `x-request-id` / `x-server-trace-id` and `google.rpc.RequestInfo` on the answer,
//! so the services themselves stay plain.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

use http::header::HeaderName;
use http::{HeaderValue, Request, Response};
use http_body_util::{BodyExt, Full};
use tonic::Status;
use tonic::body::Body;
use tonic::codegen::Bytes;
use tower::{Layer, Service};

use super::errors::{add_request_info, injected};
use super::fault::Action;
use super::journal::{Recorded, journaled_body, journaled_headers};
use super::{Inner, MAX_MESSAGE_SIZE, lock};

/// Methods callable without `authorization`.
const PUBLIC_PREFIXES: &[&str] = &[
    "/yandex.cloud.iam.v1.IamTokenService/",
    "/yandex.cloud.endpoint.ApiEndpointService/",
];

#[derive(Clone)]
pub(crate) struct EmulatorLayer {
    pub(crate) inner: Arc<Inner>,
}

impl<S> Layer<S> for EmulatorLayer {
    type Service = EmulatorService<S>;

    fn layer(&self, service: S) -> Self::Service {
        EmulatorService {
            inner: self.inner.clone(),
            service,
        }
    }
}

#[derive(Clone)]
pub(crate) struct EmulatorService<S> {
    inner: Arc<Inner>,
    service: S,
}

impl<S> Service<Request<Body>> for EmulatorService<S>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.service.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        // The ready service handles this call; a fresh clone waits for the next poll_ready.
        let clone = self.service.clone();
        let service = std::mem::replace(&mut self.service, clone);
        let inner = self.inner.clone();
        Box::pin(async move {
            let response = match handle(&inner, service, request).await {
                Ok(response) => response,
                Err(status) => status.into_http(),
            };
            Ok(finish(response))
        })
    }
}

async fn handle<S>(inner: &Inner, mut service: S, request: Request<Body>) -> Result<Response<Body>, Status>
where
    S: Service<Request<Body>, Response = Response<Body>, Error = Infallible>,
{
    let (mut parts, body) = request.into_parts();
    let method = parts.uri.path();
    // Credentials are checked on the headers alone: a caller without them never gets its body
    // read, buffered or journaled.
    if !PUBLIC_PREFIXES.iter().any(|p| method.starts_with(p)) {
        let principal = inner.authenticate(&parts.headers)?;
        parts.extensions.insert(principal);
    }
    let bytes = read_body(body).await?;
    if inner.journal_capacity > 0 {
        // Shares the body and the header values (credentials masked); decoded into a JournalEntry
        // only when read.
        let call = Recorded {
            uri: parts.uri.clone(),
            metadata: journaled_headers(&parts.headers),
            body: journaled_body(method, &bytes),
        };
        let mut journal = lock(&inner.journal);
        if journal.len() >= inner.journal_capacity {
            journal.pop_front();
        }
        journal.push_back(call);
    }

    // Without faults (the usual case) the table is not even locked.
    let action = if inner.faults_armed.load(Ordering::Acquire) {
        lock(&inner.faults).decide(method)
    } else {
        Action::Serve
    };
    match action {
        Action::Fail(code) => return Err(injected(code)),
        Action::Delay(delay) => tokio::time::sleep(delay).await,
        Action::Operation(fault) => {
            parts.extensions.insert(fault);
        }
        Action::Serve | Action::DropAfterApply | Action::DelayAfterApply(_) => {}
    }

    let request = Request::from_parts(parts, Body::new(Full::new(bytes)));
    let response = match service.call(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    match action {
        Action::DropAfterApply => Err(Status::unavailable(
            "the connection was reset before the response was sent (injected fault)",
        )),
        // The call is applied first and only its answer is late, like a slow network: a caller that
        // gives up and retries with the same idempotency-key finds the change already made.
        Action::DelayAfterApply(delay) => {
            tokio::time::sleep(delay).await;
            Ok(response)
        }
        Action::Serve | Action::Fail(_) | Action::Delay(_) | Action::Operation(_) => Ok(response),
    }
}

/// The whole request body (a gRPC frame and its 5-byte prefix), refused beyond
/// [`MAX_MESSAGE_SIZE`]. A unary request is usually one data frame, which is kept without a copy.
async fn read_body(mut body: Body) -> Result<Bytes, Status> {
    let mut single: Option<Bytes> = None;
    let mut joined: Vec<u8> = Vec::new();
    let mut len = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| Status::cancelled("request body could not be read"))?;
        // Trailers carry nothing the emulator reads.
        let Ok(chunk) = frame.into_data() else { continue };
        len += chunk.len();
        if len > MAX_MESSAGE_SIZE + 5 {
            return Err(Status::resource_exhausted(format!(
                "request message is larger than the limit of {MAX_MESSAGE_SIZE} bytes"
            )));
        }
        if let Some(first) = single.take() {
            joined.extend_from_slice(&first);
            joined.extend_from_slice(&chunk);
        } else if joined.is_empty() {
            single = Some(chunk);
        } else {
            joined.extend_from_slice(&chunk);
        }
    }
    Ok(single.unwrap_or_else(|| Bytes::from(joined)))
}

/// A random (version 4) UUID, from the thread's generator: no system call, no lock.
fn random_uuid() -> uuid::Uuid {
    uuid::Builder::from_random_bytes(fastrand::u128(..).to_le_bytes()).into_uuid()
}

/// A fresh id as a header value. It is marked never-indexed: a value unique to one response only
/// evicts useful entries from the HPACK tables of both ends.
fn id_value(id: &uuid::Uuid) -> HeaderValue {
    let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
    let mut value = HeaderValue::from_str(id.hyphenated().encode_lower(&mut buf))
        .unwrap_or_else(|_| HeaderValue::from_static("00000000-0000-0000-0000-000000000000"));
    value.set_sensitive(true);
    value
}

/// Stamps fresh `x-request-id` and `x-server-trace-id` on a response, and `RequestInfo` on an
/// error status sent in the headers.
fn finish(mut response: Response<Body>) -> Response<Body> {
    let request_id = random_uuid();
    let trace_id = random_uuid();
    let failed = Status::from_header_map(response.headers()).filter(|s| s.code() != tonic::Code::Ok);
    if let Some(status) = failed {
        let mut request_buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
        let mut trace_buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
        let status = add_request_info(
            &status,
            request_id.hyphenated().encode_lower(&mut request_buf),
            trace_id.hyphenated().encode_lower(&mut trace_buf),
        );
        if status.add_header(response.headers_mut()).is_err() {
            tracing::debug!("cannot encode error details");
        }
    }
    let headers = response.headers_mut();
    headers.insert(const { HeaderName::from_static("x-request-id") }, id_value(&request_id));
    headers.insert(
        const { HeaderName::from_static("x-server-trace-id") },
        id_value(&trace_id),
    );
    response
}
