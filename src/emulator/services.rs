//! The gRPC services, each a plain implementation of a generated server trait, and the helpers
//! they share: validation, idempotency, operations, access bindings.

use std::sync::Arc;

use prost_types::{Any, FieldMask};
use tonic::transport::Server;
use tonic::transport::server::Router;
use tonic::{Request, Response, Status};
use tower::layer::util::{Identity, Stack};

use super::errors::invalid_argument;
use super::fault::OperationFault;
use super::layer::EmulatorLayer;
use super::state::{AnyRec, IdemRec, OpRec, OpResult, State};
use super::{EMULATOR_USER_ID, EmulatorError, Inner, MAX_MESSAGE_SIZE, Principal, clock};
use crate::Validate;
use crate::proto::yandex::cloud::ai::foundation_models::v1::text_generation_service_server::TextGenerationServiceServer;
use crate::proto::yandex::cloud::ai::foundation_models::v1::tokenizer_service_server::TokenizerServiceServer;
use crate::proto::yandex::cloud::endpoint::api_endpoint_service_server::ApiEndpointServiceServer;
use crate::proto::yandex::cloud::iam::v1::api_key_service_server::ApiKeyServiceServer;
use crate::proto::yandex::cloud::iam::v1::awscompatibility::access_key_service_server::AccessKeyServiceServer;
use crate::proto::yandex::cloud::iam::v1::iam_token_service_server::IamTokenServiceServer;
use crate::proto::yandex::cloud::iam::v1::key_service_server::KeyServiceServer;
use crate::proto::yandex::cloud::iam::v1::service_account_service_server::ServiceAccountServiceServer;
use crate::proto::yandex::cloud::lockbox::v1::payload_service_server::PayloadServiceServer;
use crate::proto::yandex::cloud::lockbox::v1::secret_service_server::SecretServiceServer;
use crate::proto::yandex::cloud::operation::Operation;
use crate::proto::yandex::cloud::operation::operation_service_server::OperationServiceServer;
use crate::proto::yandex::cloud::resourcemanager::v1::cloud_service_server::CloudServiceServer;
use crate::proto::yandex::cloud::resourcemanager::v1::folder_service_server::FolderServiceServer;

mod access_bindings;
mod access_key;
mod account_key;
mod api_key;
mod endpoint;
mod foundation_models;
mod iam_token;
mod key;
mod lockbox_password;
mod lockbox_payload;
mod lockbox_secret;
mod operation;
mod resource_manager;
mod service_account;

/// Calls one connection may have open at once; more wait for a slot (HTTP/2 flow control).
const MAX_STREAMS_PER_CONNECTION: u32 = 256;
/// How often an idle connection is pinged, and how long an answer may take before it is closed.
const KEEPALIVE_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);
const KEEPALIVE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);
/// Every connection is asked to go away (gracefully, open calls finish) after this long, so a
/// connection that never sends a request does not stay forever; clients reconnect on their own.
const MAX_CONNECTION_AGE: std::time::Duration = std::time::Duration::from_secs(30 * 60);

/// All services behind the emulator layer, with TLS if configured.
pub(crate) fn router(
    inner: &Arc<Inner>,
    tls: Option<&(Vec<u8>, Vec<u8>)>,
) -> Result<Router<Stack<EmulatorLayer, Identity>>, EmulatorError> {
    let mut server = Server::builder();
    if let Some((cert, key)) = tls {
        let identity = tonic::transport::Identity::from_pem(cert, key);
        server = server
            .tls_config(tonic::transport::ServerTlsConfig::new().identity(identity))
            .map_err(EmulatorError::Tls)?;
    }
    let svc = |i: &Arc<Inner>| Svc { inner: i.clone() };
    let router = server
        .http2_max_header_list_size(64 * 1024)
        // One connection cannot hold unbounded work, and a dead or silent peer's connection ends.
        .max_concurrent_streams(MAX_STREAMS_PER_CONNECTION)
        .http2_keepalive_interval(Some(KEEPALIVE_INTERVAL))
        .http2_keepalive_timeout(Some(KEEPALIVE_TIMEOUT))
        .tcp_keepalive(Some(KEEPALIVE_INTERVAL))
        .max_connection_age(MAX_CONNECTION_AGE)
        .layer(EmulatorLayer { inner: inner.clone() })
        .add_service(ApiEndpointServiceServer::new(svc(inner)).max_decoding_message_size(MAX_MESSAGE_SIZE))
        .add_service(IamTokenServiceServer::new(svc(inner)).max_decoding_message_size(MAX_MESSAGE_SIZE))
        .add_service(ServiceAccountServiceServer::new(svc(inner)).max_decoding_message_size(MAX_MESSAGE_SIZE))
        .add_service(ApiKeyServiceServer::new(svc(inner)).max_decoding_message_size(MAX_MESSAGE_SIZE))
        .add_service(KeyServiceServer::new(svc(inner)).max_decoding_message_size(MAX_MESSAGE_SIZE))
        .add_service(AccessKeyServiceServer::new(svc(inner)).max_decoding_message_size(MAX_MESSAGE_SIZE))
        .add_service(
            FolderServiceServer::new(resource_manager::Folders(svc(inner))).max_decoding_message_size(MAX_MESSAGE_SIZE),
        )
        .add_service(
            CloudServiceServer::new(resource_manager::Clouds(svc(inner))).max_decoding_message_size(MAX_MESSAGE_SIZE),
        )
        .add_service(SecretServiceServer::new(svc(inner)).max_decoding_message_size(MAX_MESSAGE_SIZE))
        .add_service(PayloadServiceServer::new(svc(inner)).max_decoding_message_size(MAX_MESSAGE_SIZE))
        .add_service(OperationServiceServer::new(svc(inner)).max_decoding_message_size(MAX_MESSAGE_SIZE))
        .add_service(TokenizerServiceServer::new(svc(inner)).max_decoding_message_size(MAX_MESSAGE_SIZE))
        .add_service(TextGenerationServiceServer::new(svc(inner)).max_decoding_message_size(MAX_MESSAGE_SIZE));
    Ok(router)
}

/// The one service value; each generated trait is implemented on it in its own module.
#[derive(Clone)]
pub(crate) struct Svc {
    pub(crate) inner: Arc<Inner>,
}

/// The message of a request checked against the rules of its proto: INVALID_ARGUMENT naming the
/// field otherwise.
pub(crate) fn checked<M: Validate>(request: Request<M>) -> Result<M, Status> {
    let message = request.into_inner();
    message
        .validate()
        .map_err(|v| invalid_argument(v.field(), &v.to_string()))?;
    Ok(message)
}

/// Who made the call (set by the layer).
pub(crate) fn principal<T>(request: &Request<T>) -> Principal {
    request
        .extensions()
        .get::<Principal>()
        .cloned()
        .unwrap_or_else(|| Principal::User(EMULATOR_USER_ID.to_owned()))
}

/// The state key of the call's `idempotency-key`, if it sent one: the caller, the method and the
/// key, so a key is only ever replayed to the caller that first sent it.
pub(crate) fn idempotency_key<T>(request: &Request<T>, method: &str) -> Option<String> {
    let key = request.metadata().get("idempotency-key")?.to_str().ok()?.trim();
    (!key.is_empty()).then(|| {
        let principal = principal(request);
        let caller = principal.subject_id();
        let mut state_key = String::with_capacity(caller.len() + method.len() + key.len() + 2);
        for part in [caller, " ", method, " ", key] {
            state_key.push_str(part);
        }
        state_key
    })
}

/// Applies each path of an update mask with `set`, or each of `all` when the mask names none (as
/// the API does); INVALID_ARGUMENT names the first path `set` does not know (it answers false).
pub(crate) fn apply_mask(
    mask: Option<&FieldMask>,
    all: &[&str],
    mut set: impl FnMut(&str) -> bool,
) -> Result<(), Status> {
    let paths: Vec<&str> = match mask {
        Some(mask) if !mask.paths.is_empty() => mask.paths.iter().map(String::as_str).collect(),
        _ => all.to_vec(),
    };
    for (i, path) in paths.into_iter().enumerate() {
        if !set(path) {
            return Err(invalid_argument(&format!("update_mask.paths[{i}]"), "unknown field"));
        }
    }
    Ok(())
}

/// What a mutation needs from its call besides the message, taken before the message is moved out.
pub(crate) struct Call {
    principal: Principal,
    idempotency_key: Option<String>,
    fault: Option<OperationFault>,
}

impl Call {
    /// A mutation's request checked against the rules of its proto, split into its call (the
    /// caller, the `idempotency-key` keyed by `method`, any operation fault) and its message.
    pub(crate) fn checked<T: Validate>(request: Request<T>, method: &str) -> Result<(Call, T), Status> {
        let call = Call {
            idempotency_key: idempotency_key(&request, method),
            fault: request.extensions().get::<OperationFault>().copied(),
            principal: principal(&request),
        };
        Ok((call, checked(request)?))
    }
}

/// What a mutation produced: the operation's description, metadata and response.
pub(crate) struct Outcome {
    pub(crate) description: &'static str,
    pub(crate) metadata: Any,
    pub(crate) response: Any,
}

impl Svc {
    /// Runs a mutation that answers with an operation, honouring `idempotency-key`: a repeated key
    /// returns the operation the first call started, without applying anything again.
    pub(crate) fn operation(
        &self,
        call: Call,
        apply: impl FnOnce(&Inner, &mut State) -> Result<Outcome, Status>,
    ) -> Result<Response<Operation>, Status> {
        let inner = &*self.inner;
        let Call {
            principal,
            idempotency_key: key,
            fault,
        } = call;
        let op = inner.mutate(|state| {
            if let Some(key) = &key
                && let Some(IdemRec::Operation { operation_id }) = state.idempotency.get(key)
                && let Some(op) = state.operations.get(operation_id)
            {
                return Ok(op.render(&inner.clock));
            }
            let outcome = match fault {
                // The change is worked out on a copy and dropped: a failed operation applies nothing.
                Some(OperationFault::Fail(_)) => apply(inner, &mut state.clone())?,
                _ => apply(inner, state)?,
            };
            let result = match fault {
                Some(OperationFault::Fail(code)) => OpResult::Error {
                    code: code as i32,
                    message: "the operation failed (injected fault)".to_owned(),
                },
                Some(OperationFault::WrongResponse) => OpResult::Response(AnyRec::from_proto(Any {
                    type_url: "type.googleapis.com/google.protobuf.Empty".to_owned(),
                    value: Vec::new(),
                })),
                None => OpResult::Response(AnyRec::from_proto(outcome.response)),
            };
            let id = inner.new_id("aje");
            let now = inner.clock.now();
            let record = OpRec {
                id: id.clone(),
                description: outcome.description.to_owned(),
                created_at: (&now).into(),
                created_by: principal.subject_id().to_owned(),
                done_at: (&clock::add(&now, inner.op_delay)).into(),
                metadata: AnyRec::from_proto(outcome.metadata),
                result,
            };
            let rendered = record.render(&inner.clock);
            state.operations.insert(id.clone(), record);
            if let Some(key) = key {
                state.idempotency.insert(key, IdemRec::Operation { operation_id: id });
            }
            Ok(rendered)
        })?;
        Ok(self.operation_response(op))
    }

    /// An operation as a response, with `x-operation-poll-interval` if configured.
    pub(crate) fn operation_response(&self, op: Operation) -> Response<Operation> {
        let mut response = Response::new(op);
        if let Some(interval) = self.inner.poll_interval {
            let secs = interval.as_secs().max(1).to_string();
            if let Ok(value) = secs.parse() {
                response.metadata_mut().insert("x-operation-poll-interval", value);
            }
        }
        response
    }
}
