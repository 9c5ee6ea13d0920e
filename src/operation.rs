//! Long-running operations as values: poll one step at a time or wait for the typed result.
//!
//! The waiter polls `OperationService.Get` on a schedule that starts in tens of milliseconds and
//! grows with the operation's age (a quarter of it, capped at one second), so a quick operation is
//! seen done quickly and a slow one costs few calls. A poll interval the server sends in
//! `x-operation-poll-interval` takes precedence.

use std::{fmt, marker::PhantomData, time::Duration};

use prost::Message;
use tokio::time::Instant;

use crate::{
    Client, Error, ErrorKind,
    client::{fmt_duration, poll_interval},
    proto::yandex::cloud::{
        access::{AccessBindingsOperationResult, SetAccessBindingsMetadata, UpdateAccessBindingsMetadata},
        iam::v1::{
            ApiKey, CreateServiceAccountMetadata, DeleteApiKeyMetadata, DeleteKeyMetadata,
            DeleteServiceAccountMetadata, Key, ServiceAccount, UpdateApiKeyMetadata, UpdateKeyMetadata,
            UpdateServiceAccountMetadata,
            awscompatibility::{AccessKey, DeleteAccessKeyMetadata, UpdateAccessKeyMetadata},
        },
        lockbox::v1::{
            ActivateSecretMetadata, AddVersionMetadata, CancelVersionDestructionMetadata, CreateSecretMetadata,
            DeactivateSecretMetadata, DeleteSecretMetadata, ScheduleVersionDestructionMetadata, Secret,
            SetCurrentVersionMetadata, UpdateSecretMetadata, Version,
        },
        operation::{
            GetOperationRequest, Operation as RawOperation, operation, operation_service_client::OperationServiceClient,
        },
    },
    services::GET_OPERATION,
};

/// The shortest pause between two polls.
const MIN_POLL: Duration = Duration::from_millis(30);
/// The longest pause between two polls (unless the server asks for more).
const MAX_POLL: Duration = Duration::from_secs(1);
/// NOT_FOUND answers tolerated right after creation (the operation may not be visible yet).
const NOT_FOUND_TOLERANCE: u32 = 5;
const NOT_FOUND_WINDOW: Duration = Duration::from_secs(5);

/// A message that can be the response or metadata of an operation: it knows its proto name, so
/// the `Any` it arrives in is checked before decoding.
pub trait OperationPayload: Message + Default + Sized {
    /// The full proto name, e.g. `yandex.cloud.iam.v1.ServiceAccount`.
    const TYPE_NAME: &'static str;
}

macro_rules! payload {
    ($($ty:ty => $name:literal),* $(,)?) => {
        $(impl OperationPayload for $ty {
            const TYPE_NAME: &'static str = $name;
        })*
    };
}

payload! {
    () => "google.protobuf.Empty",
    ServiceAccount => "yandex.cloud.iam.v1.ServiceAccount",
    CreateServiceAccountMetadata => "yandex.cloud.iam.v1.CreateServiceAccountMetadata",
    UpdateServiceAccountMetadata => "yandex.cloud.iam.v1.UpdateServiceAccountMetadata",
    DeleteServiceAccountMetadata => "yandex.cloud.iam.v1.DeleteServiceAccountMetadata",
    ApiKey => "yandex.cloud.iam.v1.ApiKey",
    UpdateApiKeyMetadata => "yandex.cloud.iam.v1.UpdateApiKeyMetadata",
    DeleteApiKeyMetadata => "yandex.cloud.iam.v1.DeleteApiKeyMetadata",
    Key => "yandex.cloud.iam.v1.Key",
    UpdateKeyMetadata => "yandex.cloud.iam.v1.UpdateKeyMetadata",
    DeleteKeyMetadata => "yandex.cloud.iam.v1.DeleteKeyMetadata",
    AccessKey => "yandex.cloud.iam.v1.awscompatibility.AccessKey",
    UpdateAccessKeyMetadata => "yandex.cloud.iam.v1.awscompatibility.UpdateAccessKeyMetadata",
    DeleteAccessKeyMetadata => "yandex.cloud.iam.v1.awscompatibility.DeleteAccessKeyMetadata",
    AccessBindingsOperationResult => "yandex.cloud.access.AccessBindingsOperationResult",
    UpdateAccessBindingsMetadata => "yandex.cloud.access.UpdateAccessBindingsMetadata",
    SetAccessBindingsMetadata => "yandex.cloud.access.SetAccessBindingsMetadata",
    Secret => "yandex.cloud.lockbox.v1.Secret",
    Version => "yandex.cloud.lockbox.v1.Version",
    CreateSecretMetadata => "yandex.cloud.lockbox.v1.CreateSecretMetadata",
    UpdateSecretMetadata => "yandex.cloud.lockbox.v1.UpdateSecretMetadata",
    DeleteSecretMetadata => "yandex.cloud.lockbox.v1.DeleteSecretMetadata",
    ActivateSecretMetadata => "yandex.cloud.lockbox.v1.ActivateSecretMetadata",
    DeactivateSecretMetadata => "yandex.cloud.lockbox.v1.DeactivateSecretMetadata",
    AddVersionMetadata => "yandex.cloud.lockbox.v1.AddVersionMetadata",
    SetCurrentVersionMetadata => "yandex.cloud.lockbox.v1.SetCurrentVersionMetadata",
    ScheduleVersionDestructionMetadata => "yandex.cloud.lockbox.v1.ScheduleVersionDestructionMetadata",
    CancelVersionDestructionMetadata => "yandex.cloud.lockbox.v1.CancelVersionDestructionMetadata",
}

/// Decodes an `Any` after checking it holds a `T`.
pub(crate) fn unpack<T: OperationPayload>(any: &prost_types::Any) -> Result<T, String> {
    let name = any.type_url.rsplit('/').next().unwrap_or_default();
    if name != T::TYPE_NAME {
        return Err(format!("holds a {name}, expected a {}", T::TYPE_NAME));
    }
    T::decode(any.value.as_slice()).map_err(|e| format!("cannot decode its {name}: {e}"))
}

/// The untyped polling state, shared by [`Operation`] and `operations().wait(id)`.
pub(crate) struct Poller {
    client: Client,
    raw: RawOperation,
    since: Instant,
    not_found: u32,
    hint: Option<Duration>,
    timeout: Duration,
}

impl Poller {
    pub(crate) fn new(client: Client, raw: RawOperation, hint: Option<Duration>) -> Self {
        let timeout = client.operation_timeout();
        Poller {
            client,
            raw,
            since: Instant::now(),
            not_found: 0,
            hint,
            timeout,
        }
    }

    pub(crate) fn raw(&self) -> &RawOperation {
        &self.raw
    }

    pub(crate) fn into_raw(self) -> RawOperation {
        self.raw
    }

    /// One `OperationService.Get` unless already done; true when the operation is done.
    pub(crate) async fn poll(&mut self) -> Result<bool, Error> {
        if self.raw.done {
            return Ok(true);
        }
        let request = GetOperationRequest {
            operation_id: self.raw.id.clone(),
        };
        let result = self
            .client
            .call(&GET_OPERATION, request, |ch, req| async move {
                OperationServiceClient::new(ch).get(req).await
            })
            .await;
        match result {
            Ok(reply) => {
                self.hint = poll_interval(reply.metadata());
                self.raw = reply.into_inner();
                Ok(self.raw.done)
            }
            Err(e)
                if e.kind() == ErrorKind::NotFound
                    && self.not_found < NOT_FOUND_TOLERANCE
                    && self.since.elapsed() < NOT_FOUND_WINDOW =>
            {
                self.not_found += 1;
                Ok(false)
            }
            Err(e) => Err(e.with_operation_id(self.raw.id.clone())),
        }
    }

    /// The pause before the next poll: the server's hint, else a quarter of the age plus 30 ms,
    /// at most 1 s.
    fn next_pause(&self) -> Duration {
        if let Some(hint) = self.hint {
            return hint;
        }
        // A quarter of the age: an operation is seen done within about a quarter of its age
        // (the promise is a third plus 25 ms), and one that takes 10 s costs at most 22 polls
        // (the promise is 25).
        (self.since.elapsed() / 4 + MIN_POLL).min(MAX_POLL)
    }

    /// Polls until done or the timeout passes.
    pub(crate) async fn wait_done(&mut self) -> Result<(), Error> {
        let deadline = self.since + self.timeout;
        // The operation was just received: pause before the first poll rather than ask at once.
        while !self.raw.done {
            let now = Instant::now();
            if now >= deadline {
                return Err(self.timed_out());
            }
            // The last pause is shortened so the final poll happens at the deadline.
            tokio::time::sleep(self.next_pause().min(deadline - now)).await;
            // A poll started before the deadline ends there (with its retries, one could run for
            // minutes). The final one, started at the deadline, has one attempt's time limit of
            // its own: an operation that finished just before the deadline is seen done.
            let polled = if Instant::now() < deadline {
                tokio::time::timeout_at(deadline, self.poll()).await
            } else if let Some((attempt, _)) = self.client.timeout() {
                tokio::time::timeout(attempt, self.poll()).await
            } else {
                Ok(self.poll().await)
            };
            match polled {
                Ok(polled) => polled?,
                Err(_) => return Err(self.timed_out()),
            };
        }
        Ok(())
    }

    fn timed_out(&self) -> Error {
        Error::new(
            ErrorKind::Timeout,
            "operation did not finish in time",
            format!("still running after {}", fmt_duration(self.timeout)),
        )
        .with_operation_id(self.raw.id.clone())
    }
}

/// A long-running operation whose response is an `R` and whose metadata is an `M`.
///
/// [`poll`](Self::poll) asks the server once; [`wait`](Self::wait) polls until the operation is
/// done and returns its typed response, or an error carrying the operation id (an operation
/// that failed, a response of an unexpected type, the operation timeout).
pub struct Operation<R, M> {
    poller: Poller,
    _types: PhantomData<fn() -> (R, M)>,
}

impl<R: OperationPayload, M: OperationPayload> Operation<R, M> {
    pub(crate) fn new(client: Client, raw: RawOperation, hint: Option<Duration>) -> Self {
        Operation {
            poller: Poller::new(client, raw, hint),
            _types: PhantomData,
        }
    }

    /// The operation a mutating call answered with. The server's poll-interval hint matters only
    /// if there is something to wait for.
    pub(crate) fn from_reply(client: Client, reply: tonic::Response<RawOperation>) -> Self {
        let hint = if reply.get_ref().done {
            None
        } else {
            poll_interval(reply.metadata())
        };
        Operation::new(client, reply.into_inner(), hint)
    }

    /// Resumes an operation received elsewhere (e.g. from `client.operations().get(id)`), with
    /// the response and metadata types the caller expects; [`wait`](Self::wait) checks them.
    pub fn from_raw(client: &Client, raw: RawOperation) -> Self {
        Operation::new(client.clone(), raw, None)
    }

    /// The operation id.
    pub fn id(&self) -> &str {
        &self.poller.raw().id
    }

    /// True once the operation is done (successfully or not), as of the last poll.
    pub fn is_done(&self) -> bool {
        self.poller.raw().done
    }

    /// The operation's metadata as of the last poll, if present and of the expected type.
    pub fn metadata(&self) -> Option<M> {
        self.poller.raw().metadata.as_ref().and_then(|any| unpack(any).ok())
    }

    /// The operation as last received.
    pub fn raw(&self) -> &RawOperation {
        self.poller.raw()
    }

    /// The operation as last received, by value.
    pub fn into_raw(self) -> RawOperation {
        self.poller.into_raw()
    }

    /// Waits at most `timeout` in [`wait`](Self::wait) instead of the client's operation timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.poller.timeout = timeout;
        self
    }

    /// Asks the server once (unless already done); true when the operation is done.
    pub async fn poll(&mut self) -> Result<bool, Error> {
        self.poller.poll().await
    }

    /// Waits until the operation is done and returns its response.
    pub async fn wait(mut self) -> Result<R, Error> {
        self.poller.wait_done().await?;
        self.result()
    }

    /// The result of a done operation.
    fn result(self) -> Result<R, Error> {
        let raw = self.poller.into_raw();
        let id = raw.id;
        match raw.result {
            Some(operation::Result::Error(status)) => {
                let code = tonic::Code::from(status.code);
                let message = if status.message.is_empty() {
                    crate::error::code_phrase(code).to_owned()
                } else {
                    status.message
                };
                Err(Error::new(ErrorKind::OperationFailed, "operation failed", message)
                    .with_code(code)
                    .with_operation_id(id))
            }
            Some(operation::Result::Response(any)) => unpack::<R>(&any).map_err(|why| {
                Error::new(
                    ErrorKind::Other,
                    "unexpected operation response",
                    format!("the response {why}"),
                )
                .with_operation_id(id)
            }),
            // An operation that succeeds with Empty may carry no response at all.
            None if R::TYPE_NAME == <() as OperationPayload>::TYPE_NAME => Ok(R::default()),
            None => Err(Error::new(
                ErrorKind::Other,
                "unexpected operation response",
                format!("the operation is done without a response (expected a {})", R::TYPE_NAME),
            )
            .with_operation_id(id)),
        }
    }
}

impl<R, M> fmt::Debug for Operation<R, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let raw = self.poller.raw();
        f.debug_struct("Operation")
            .field("id", &raw.id)
            .field("description", &raw.description)
            .field("done", &raw.done)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unpack_checks_the_type() {
        let any = prost_types::Any {
            type_url: "type.googleapis.com/yandex.cloud.iam.v1.ApiKey".into(),
            value: ApiKey::default().encode_to_vec(),
        };
        assert!(unpack::<ApiKey>(&any).is_ok());
        assert!(unpack::<ServiceAccount>(&any).is_err());
    }
}
