//! The one error type of the library: what failed, why, and the ids a support request needs.
//!
//! Every `tonic::Status` becomes an [`Error`] in exactly one place ([`Error::from_status`]), so
//! the request ids and error details are read the same way for every call.

use std::{error::Error as StdError, fmt, time::Duration};

use prost::Message as _;
use tonic::Code;

use crate::proto::google::rpc;

/// The broad class of an [`Error`]: what a caller branches on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The request was refused before it was sent (a validation rule, bad input), or the server
    /// answered `INVALID_ARGUMENT`/`FAILED_PRECONDITION`/`OUT_OF_RANGE`.
    InvalidArgument,
    /// The credentials were missing or not accepted (`UNAUTHENTICATED`).
    Unauthenticated,
    /// The caller may not do this (`PERMISSION_DENIED`).
    PermissionDenied,
    /// The resource does not exist (`NOT_FOUND`).
    NotFound,
    /// The resource exists already (`ALREADY_EXISTS`).
    AlreadyExists,
    /// The service is unavailable or overloaded (`UNAVAILABLE`, `RESOURCE_EXHAUSTED`).
    Unavailable,
    /// A deadline passed: an attempt, the retry budget, or the wait for an operation.
    Timeout,
    /// A long-running operation finished with an error.
    OperationFailed,
    /// The connection failed (DNS, TCP, TLS, HTTP/2).
    Transport,
    /// The credentials could not be read or turned into a token.
    Credentials,
    /// The client was configured wrongly (endpoint, TLS material).
    Config,
    /// Anything else (`INTERNAL`, `UNKNOWN`, an unexpected response).
    Other,
}

impl ErrorKind {
    fn from_code(code: Code) -> Self {
        match code {
            Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => ErrorKind::InvalidArgument,
            Code::Unauthenticated => ErrorKind::Unauthenticated,
            Code::PermissionDenied => ErrorKind::PermissionDenied,
            Code::NotFound => ErrorKind::NotFound,
            Code::AlreadyExists => ErrorKind::AlreadyExists,
            Code::Unavailable | Code::ResourceExhausted => ErrorKind::Unavailable,
            Code::DeadlineExceeded => ErrorKind::Timeout,
            _ => ErrorKind::Other,
        }
    }
}

/// An error from the library: local validation, credentials, transport, a server status, or a
/// failed long-running operation.
///
/// It is opaque: ask it with [`kind`](Error::kind), [`code`](Error::code) and the id accessors.
/// `Display` is one lower-case line; [`source`](std::error::Error::source) chains to the cause.
/// It never holds a secret (token, key secret, private key, JWT).
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    what: String,
    code: Option<Code>,
    message: String,
    local: bool,
    operation_id: Option<String>,
    client_request_id: Option<String>,
    server_request_id: Option<String>,
    server_trace_id: Option<String>,
    retry_delay: Option<Duration>,
    source: Option<Box<dyn StdError + Send + Sync + 'static>>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, what: impl Into<String>, message: impl Into<String>) -> Self {
        Error {
            inner: Box::new(Inner {
                kind,
                what: what.into(),
                code: None,
                message: message.into(),
                local: false,
                operation_id: None,
                client_request_id: None,
                server_request_id: None,
                server_trace_id: None,
                retry_delay: None,
                source: None,
            }),
        }
    }

    /// Bad input found before anything was sent.
    pub(crate) fn invalid_input(what: impl Into<String>, message: impl Into<String>) -> Self {
        let mut e = Error::new(ErrorKind::InvalidArgument, what, message);
        e.inner.local = true;
        e
    }

    /// A request that broke one of its proto field rules; nothing was sent.
    pub(crate) fn from_violation(what: &str, violation: crate::Violation) -> Self {
        let message = violation.to_string();
        Error::invalid_input(what, message).with_source(violation)
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Config, "invalid client configuration", message)
    }

    pub(crate) fn credentials(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Credentials, "cannot obtain credentials", message)
    }

    pub(crate) fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Self {
        self.inner.source = Some(Box::new(source));
        self
    }

    pub(crate) fn with_code(mut self, code: Code) -> Self {
        self.inner.code = Some(code);
        self
    }

    pub(crate) fn with_operation_id(mut self, id: impl Into<String>) -> Self {
        self.inner.operation_id = Some(id.into());
        self
    }

    pub(crate) fn set_client_request_id(&mut self, id: &str) {
        if self.inner.client_request_id.is_none() {
            self.inner.client_request_id = Some(id.to_owned());
        }
    }

    pub(crate) fn set_what(&mut self, what: impl Into<String>) {
        self.inner.what = what.into();
    }

    /// The one conversion from a gRPC status: code, message, request ids from the headers or
    /// trailers, and `RequestInfo`/`RetryInfo` from the status details.
    pub(crate) fn from_status(what: impl Into<String>, status: tonic::Status) -> Self {
        let code = status.code();
        let mut kind = ErrorKind::from_code(code);
        let mut message = status.message().to_owned();
        // A status made on this side (it has a source: hyper, h2, the connector) means the
        // connection failed, not that the server answered.
        if matches!(
            code,
            Code::Unavailable | Code::Unknown | Code::Internal | Code::Cancelled
        ) && StdError::source(&status).is_some()
        {
            kind = ErrorKind::Transport;
        }
        if message.is_empty() {
            message = code_phrase(code).to_owned();
        }
        let meta = status.metadata();
        let header = |name: &str| meta.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let mut server_request_id = header("x-request-id");
        let server_trace_id = header("x-server-trace-id");
        let mut retry_delay = None;
        if !status.details().is_empty()
            && let Ok(details) = rpc::Status::decode(status.details())
        {
            for any in &details.details {
                let name = any.type_url.rsplit('/').next().unwrap_or_default();
                match name {
                    "google.rpc.RequestInfo" => {
                        if let Ok(info) = rpc::RequestInfo::decode(any.value.as_slice())
                            && server_request_id.is_none()
                            && !info.request_id.is_empty()
                        {
                            server_request_id = Some(info.request_id);
                        }
                    }
                    "google.rpc.RetryInfo" => {
                        if let Ok(info) = rpc::RetryInfo::decode(any.value.as_slice())
                            && let Some(d) = info.retry_delay
                            && d.seconds >= 0
                            && d.nanos >= 0
                        {
                            retry_delay = Some(Duration::new(d.seconds as u64, d.nanos as u32));
                        }
                    }
                    _ => {}
                }
            }
        }
        let mut err = Error::new(kind, what, message).with_code(code);
        err.inner.server_request_id = server_request_id;
        err.inner.server_trace_id = server_trace_id;
        err.inner.retry_delay = retry_delay;
        err.with_source(status)
    }

    /// A copy for sharing one failure with several callers: a source that is itself an `Error`
    /// (a failed token exchange behind a credentials error, whose code a status reports) is
    /// copied the same way, any other source (which need not be cloneable) is left out.
    pub(crate) fn shallow_clone(&self) -> Self {
        let i = &self.inner;
        let source = i.source.as_deref().and_then(|s| s.downcast_ref::<Error>());
        Error {
            inner: Box::new(Inner {
                kind: i.kind,
                what: i.what.clone(),
                code: i.code,
                message: i.message.clone(),
                local: i.local,
                operation_id: i.operation_id.clone(),
                client_request_id: i.client_request_id.clone(),
                server_request_id: i.server_request_id.clone(),
                server_trace_id: i.server_trace_id.clone(),
                retry_delay: i.retry_delay,
                source: source.map(|s| Box::new(s.shallow_clone()) as Box<dyn StdError + Send + Sync + 'static>),
            }),
        }
    }

    /// The broad class of this error.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The gRPC code, when the error came from a server status (or an operation's error).
    pub fn code(&self) -> Option<Code> {
        self.inner.code
    }

    /// The error message without the context: the server's message, or a local explanation.
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// True when the input was refused locally before anything was sent (a CLI exits with 2).
    pub fn is_invalid_input(&self) -> bool {
        self.inner.local && self.inner.kind == ErrorKind::InvalidArgument
    }

    /// True when retrying the same call later may succeed (`UNAVAILABLE`, `RESOURCE_EXHAUSTED`,
    /// connection failures).
    pub fn is_retryable(&self) -> bool {
        matches!(self.inner.kind, ErrorKind::Unavailable | ErrorKind::Transport)
    }

    /// The id of the long-running operation this error belongs to.
    pub fn operation_id(&self) -> Option<&str> {
        self.inner.operation_id.as_deref()
    }

    /// The `x-client-request-id` sent with the failed attempt.
    pub fn client_request_id(&self) -> Option<&str> {
        self.inner.client_request_id.as_deref()
    }

    /// The server's request id (`x-request-id`, or `google.rpc.RequestInfo` in the details).
    pub fn server_request_id(&self) -> Option<&str> {
        self.inner.server_request_id.as_deref()
    }

    /// The server's trace id (`x-server-trace-id`).
    pub fn server_trace_id(&self) -> Option<&str> {
        self.inner.server_trace_id.as_deref()
    }

    /// The delay a `google.rpc.RetryInfo` detail asked for.
    pub(crate) fn retry_delay(&self) -> Option<Duration> {
        self.inner.retry_delay
    }
}

/// The lower-case phrase for a gRPC code.
pub(crate) fn code_phrase(code: Code) -> &'static str {
    match code {
        Code::Ok => "ok",
        Code::Cancelled => "cancelled",
        Code::Unknown => "unknown error",
        Code::InvalidArgument => "invalid argument",
        Code::DeadlineExceeded => "deadline exceeded",
        Code::NotFound => "not found",
        Code::AlreadyExists => "already exists",
        Code::PermissionDenied => "permission denied",
        Code::ResourceExhausted => "resource exhausted",
        Code::FailedPrecondition => "failed precondition",
        Code::Aborted => "aborted",
        Code::OutOfRange => "out of range",
        Code::Unimplemented => "unimplemented",
        Code::Internal => "internal error",
        Code::Unavailable => "unavailable",
        Code::DataLoss => "data loss",
        Code::Unauthenticated => "unauthenticated",
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.inner.what)?;
        match self.inner.code {
            Some(code) if !self.inner.local => write!(f, ": {}: {}", code_phrase(code), self.inner.message)?,
            _ => write!(f, ": {}", self.inner.message)?,
        }
        if let Some(id) = &self.inner.operation_id {
            write!(f, " (operation {id})")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.inner.kind).field("what", &self.inner.what);
        if let Some(code) = self.inner.code {
            d.field("code", &code);
        }
        d.field("message", &self.inner.message);
        for (name, value) in [
            ("operation_id", &self.inner.operation_id),
            ("client_request_id", &self.inner.client_request_id),
            ("server_request_id", &self.inner.server_request_id),
            ("server_trace_id", &self.inner.server_trace_id),
        ] {
            if let Some(v) = value {
                d.field(name, v);
            }
        }
        if let Some(s) = &self.inner.source {
            d.field("source", &format_args!("{s}"));
        }
        d.finish()
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.inner.source.as_deref().map(|s| s as &(dyn StdError + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_is_small() {
        assert_eq!(std::mem::size_of::<Error>(), std::mem::size_of::<usize>());
    }

    #[test]
    fn request_info_detail_gives_the_server_request_id() {
        let info = rpc::RequestInfo {
            request_id: "req-1".into(),
            serving_data: String::new(),
        };
        let details = rpc::Status {
            code: 14,
            message: "down".into(),
            details: vec![prost_types::Any {
                type_url: "type.googleapis.com/google.rpc.RequestInfo".into(),
                value: info.encode_to_vec(),
            }],
        };
        let status = tonic::Status::with_details(Code::Unavailable, "down", details.encode_to_vec().into());
        let err = Error::from_status("call failed", status);
        assert_eq!(err.server_request_id(), Some("req-1"));
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        assert_eq!(err.to_string(), "call failed: unavailable: down");
    }
}
