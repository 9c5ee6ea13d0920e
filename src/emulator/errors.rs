//! The error statuses the emulator answers with, shaped like the real API's: a code, a message and
//! `google.rpc` details encoded in `grpc-status-details-bin`.

use prost::Message;
use prost_types::Any;
use tonic::{Code, Status};

use crate::proto::google::rpc;

/// Delay advertised in `google.rpc.RetryInfo` on RESOURCE_EXHAUSTED.
pub(crate) const RETRY_DELAY: std::time::Duration = std::time::Duration::from_millis(200);

/// Packs `message` as an `Any` with the type URL of `full_name`.
pub(crate) fn pack<M: Message>(full_name: &str, message: &M) -> Any {
    Any {
        type_url: format!("type.googleapis.com/{full_name}"),
        value: message.encode_to_vec(),
    }
}

/// A status whose details are an encoded `google.rpc.Status` holding `details`.
pub(crate) fn with_details(code: Code, message: impl Into<String>, details: Vec<Any>) -> Status {
    let message = message.into();
    let rpc_status = rpc::Status {
        code: code as i32,
        message: message.clone(),
        details,
    };
    Status::with_details(code, message, rpc_status.encode_to_vec().into())
}

/// INVALID_ARGUMENT naming `field`, with a `google.rpc.BadRequest` detail.
pub(crate) fn invalid_argument(field: &str, description: &str) -> Status {
    let bad = rpc::BadRequest {
        field_violations: vec![rpc::bad_request::FieldViolation {
            field: field.to_owned(),
            description: description.to_owned(),
        }],
    };
    with_details(
        Code::InvalidArgument,
        format!("Request validation error: invalid field {field}: {description}"),
        vec![pack("google.rpc.BadRequest", &bad)],
    )
}

/// NOT_FOUND.
pub(crate) fn not_found(message: impl Into<String>) -> Status {
    with_details(Code::NotFound, message, Vec::new())
}

/// PERMISSION_DENIED.
pub(crate) fn permission_denied(message: impl Into<String>) -> Status {
    with_details(Code::PermissionDenied, message, Vec::new())
}

/// ALREADY_EXISTS.
pub(crate) fn already_exists(message: impl Into<String>) -> Status {
    with_details(Code::AlreadyExists, message, Vec::new())
}

/// UNAUTHENTICATED.
pub(crate) fn unauthenticated(message: impl Into<String>) -> Status {
    with_details(Code::Unauthenticated, message, Vec::new())
}

/// FAILED_PRECONDITION.
pub(crate) fn failed_precondition(message: impl Into<String>) -> Status {
    with_details(Code::FailedPrecondition, message, Vec::new())
}

/// An injected failure; RESOURCE_EXHAUSTED carries `google.rpc.RetryInfo`.
pub(crate) fn injected(code: Code) -> Status {
    let mut details = Vec::new();
    if code == Code::ResourceExhausted {
        let delay = prost_types::Duration {
            seconds: RETRY_DELAY.as_secs() as i64,
            nanos: RETRY_DELAY.subsec_nanos() as i32,
        };
        details.push(pack(
            "google.rpc.RetryInfo",
            &rpc::RetryInfo {
                retry_delay: Some(delay),
            },
        ));
    }
    let message = match code {
        Code::ResourceExhausted => "Too many requests (injected fault)",
        Code::Unavailable => "Service is unavailable, try again later (injected fault)",
        _ => "Injected fault",
    };
    with_details(code, message, details)
}

/// Adds `google.rpc.RequestInfo` to a status's details, keeping the others.
pub(crate) fn add_request_info(status: &Status, request_id: &str, serving_data: &str) -> Status {
    let mut rpc_status = rpc::Status::decode(status.details()).unwrap_or_default();
    rpc_status.code = status.code() as i32;
    rpc_status.message = status.message().to_owned();
    let has_info = rpc_status
        .details
        .iter()
        .any(|d| d.type_url.ends_with("/google.rpc.RequestInfo"));
    if !has_info {
        let info = rpc::RequestInfo {
            request_id: request_id.to_owned(),
            serving_data: serving_data.to_owned(),
        };
        rpc_status.details.push(pack("google.rpc.RequestInfo", &info));
    }
    Status::with_details_and_metadata(
        status.code(),
        status.message().to_owned(),
        rpc_status.encode_to_vec().into(),
        status.metadata().clone(),
    )
}
