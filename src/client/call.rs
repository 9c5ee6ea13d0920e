//! The path of one RPC: validate, then per attempt resolve the channel, attach metadata and
//! authorization, bound the attempt in time, convert the status, and retry when safe.

use std::{fmt, future::Future, time::Duration};

use tokio::time::Instant;
use tonic::{
    metadata::{AsciiMetadataValue, MetadataMap},
    transport::Channel,
};

use super::endpoints::ServiceId;
use crate::{Client, Error, ErrorKind, Validate};

/// What the client needs to know about an RPC to send it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Method {
    pub(crate) service: ServiceId,
    /// The lower-case phrase that starts an error's message: "cannot get service account".
    pub(crate) what: &'static str,
    /// Mutating calls carry an `idempotency-key`.
    pub(crate) mutating: bool,
    /// `IamTokenService.Create` and `ApiEndpointService` go without `authorization`.
    pub(crate) auth: bool,
}

impl Method {
    pub(crate) const fn read(service: ServiceId, what: &'static str) -> Self {
        Method {
            service,
            what,
            mutating: false,
            auth: true,
        }
    }

    pub(crate) const fn mutate(service: ServiceId, what: &'static str) -> Self {
        Method {
            service,
            what,
            mutating: true,
            auth: true,
        }
    }

    pub(crate) const fn without_auth(self) -> Self {
        Method { auth: false, ..self }
    }
}

/// The per-attempt metadata the caller may want to read back (e.g. the poll interval).
pub(crate) type Reply<T> = tonic::Response<T>;

/// A generated client's RPC as the call path sends it: a channel and a request in, the reply or
/// the server's status out. Any `Fn(Channel, tonic::Request<Req>) -> impl Future` is one.
pub(crate) trait Rpc<Req, Resp> {
    fn send(
        &self,
        channel: Channel,
        request: tonic::Request<Req>,
    ) -> impl Future<Output = Result<tonic::Response<Resp>, tonic::Status>>;
}

impl<Req, Resp, F, Fut> Rpc<Req, Resp> for F
where
    F: Fn(Channel, tonic::Request<Req>) -> Fut,
    Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>>,
{
    fn send(
        &self,
        channel: Channel,
        request: tonic::Request<Req>,
    ) -> impl Future<Output = Result<tonic::Response<Resp>, tonic::Status>> {
        self(channel, request)
    }
}

impl Client {
    /// Validates `request`, then sends it with retries per the client's policy.
    pub(crate) async fn call<Req, Resp>(
        &self,
        method: &Method,
        request: Req,
        f: impl Rpc<Req, Resp>,
    ) -> Result<Reply<Resp>, Error>
    where
        Req: Validate + Clone + fmt::Debug,
        Resp: fmt::Debug,
    {
        self.call_observed(method, request, f, |_| {}).await
    }

    /// [`call`](Self::call), showing each failed attempt to `after_failure` before the retry
    /// policy decides whether to try again: how a caller learns that a failed attempt may have
    /// been applied (API-key creation cleans up after such attempts).
    pub(crate) async fn call_observed<Req: Validate + Clone + fmt::Debug, Resp: fmt::Debug>(
        &self,
        method: &Method,
        request: Req,
        f: impl Rpc<Req, Resp>,
        after_failure: impl FnMut(&Error),
    ) -> Result<Reply<Resp>, Error> {
        validate(method, &request)?;
        let idempotency_key = method.mutating.then(new_idempotency_key).transpose()?;
        let attempt = || self.attempt(method, &request, idempotency_key.as_ref(), &f);
        self.retrying(method.what, attempt, after_failure).await
    }

    /// Runs `op` until it succeeds or the client's retry policy gives up, showing each failure to
    /// `after_failure` first. Every call's attempts go through here, and so may a step made of
    /// several calls that must be tried again as a whole.
    pub(crate) async fn retrying<T, Fut>(
        &self,
        what: &str,
        mut op: impl FnMut() -> Fut,
        mut after_failure: impl FnMut(&Error),
    ) -> Result<T, Error>
    where
        Fut: Future<Output = Result<T, Error>>,
    {
        let policy = self.retry_policy();
        let start = Instant::now();
        let mut attempts = 0;
        loop {
            attempts += 1;
            let err = match op().await {
                Ok(value) => return Ok(value),
                Err(err) => err,
            };
            after_failure(&err);
            match policy.next_delay(&err, attempts, start.elapsed()) {
                Some(delay) => {
                    tracing::debug!(call = what.trim_start_matches("cannot "), attempts, ?delay, error = %err, "retrying");
                    tokio::time::sleep(delay).await;
                }
                None => return Err(err),
            }
        }
    }

    /// One attempt: a fresh `x-client-request-id`, the channel, metadata, authorization and the
    /// deadline (sent as `grpc-timeout`, and bounding the whole exchange here).
    async fn attempt<Req: Clone + fmt::Debug, Resp: fmt::Debug>(
        &self,
        method: &Method,
        request: &Req,
        idempotency_key: Option<&AsciiMetadataValue>,
        f: &impl Rpc<Req, Resp>,
    ) -> Result<Reply<Resp>, Error> {
        let request_id = new_id()?;
        let call = method.what.trim_start_matches("cannot ");
        let started = Instant::now();
        // `--debug` shows every request; the `Debug` of messages that carry secrets masks them.
        tracing::debug!(
            call,
            request_id = request_id.to_str().unwrap_or_default(),
            ?request,
            "sending"
        );
        let result = async {
            let channel = self.service_channel(method.service).await?;
            let mut md = MetadataMap::new();
            md.insert("x-client-request-id", never_indexed(&request_id));
            md.insert("x-client-trace-id", self.trace_value().clone());
            if let Some(key) = idempotency_key {
                md.insert("idempotency-key", never_indexed(key));
            }
            // Kept to tell the token cache which token a refusal was for.
            let sent_authorization = if method.auth { self.authorization().await? } else { None };
            if let Some(value) = &sent_authorization {
                md.insert("authorization", value.clone());
            }
            if let Some((_, value)) = self.timeout() {
                md.insert("grpc-timeout", value.clone());
            }
            let req = tonic::Request::from_parts(md, Default::default(), request.clone());
            let result = match self.timeout() {
                // tonic's channel enforces `grpc-timeout` only until the response headers come;
                // a server that sends them and then stalls would hold the call for ever. The
                // whole attempt, body and trailers included, is bounded here.
                Some((t, _)) => match tokio::time::timeout(t, f.send(channel, req)).await {
                    Ok(Err(status)) if deadline_passed(&status) => Err(timed_out(method, t)),
                    Ok(answer) => answer.map_err(|status| Error::from_status(method.what, status)),
                    Err(_) => Err(timed_out(method, t)),
                },
                None => f
                    .send(channel, req)
                    .await
                    .map_err(|status| Error::from_status(method.what, status)),
            };
            if let Err(e) = &result
                && e.kind() == ErrorKind::Unauthenticated
                && let Some(refused) = &sent_authorization
            {
                // A revoked or otherwise refused token: the next call gets a fresh one.
                self.token_refused(refused);
            }
            result
        }
        .await;
        let request_id = request_id.to_str().unwrap_or_default();
        let elapsed_ms = started.elapsed().as_millis() as u64;
        match &result {
            Ok(reply) => {
                tracing::debug!(call, %request_id, elapsed_ms, response = ?reply.get_ref(), "call succeeded")
            }
            Err(e) => tracing::debug!(call, %request_id, elapsed_ms, error = %e, "call failed"),
        }
        result.map_err(|mut e| {
            e.set_client_request_id(request_id);
            e
        })
    }
}

/// A value of a header that is new on every call (request id, idempotency key), marked never to
/// be indexed in HPACK: indexed, each would push the constant headers (trace id, deadline, user
/// agent) out of both ends' tables.
fn never_indexed(value: &AsciiMetadataValue) -> AsciiMetadataValue {
    let mut value = value.clone();
    value.set_sensitive(true);
    value
}

/// The error of an attempt that ran out of its time limit.
fn timed_out(method: &Method, limit: Duration) -> Error {
    Error::new(
        ErrorKind::Timeout,
        method.what,
        format!("no answer within {}", fmt_duration(limit)),
    )
}

/// Whether tonic's channel gave up on the call at the deadline of its `grpc-timeout` (it may,
/// at the same instant as the client's own limit, while the headers are awaited).
fn deadline_passed(status: &tonic::Status) -> bool {
    let mut source = std::error::Error::source(status);
    while let Some(error) = source {
        if error.is::<tonic::TimeoutExpired>() {
            return true;
        }
        source = error.source();
    }
    false
}

/// Checks the request's proto rules; a broken rule is an invalid-input error and nothing is sent.
pub(crate) fn validate<Req: Validate>(method: &Method, request: &Req) -> Result<(), Error> {
    request.validate().map_err(|v| Error::from_violation(method.what, v))
}

/// A fresh request id: a UUID v4 as the header value it is sent as (no intermediate `String`).
///
/// Its bits come from the thread's fast generator rather than one system call per id: a request
/// id must be unique, not unpredictable, it is shown in errors and logs, and every call makes one.
pub(crate) fn new_id() -> Result<AsciiMetadataValue, Error> {
    header_uuid(uuid::Builder::from_random_bytes(fastrand::u128(..).to_ne_bytes()).into_uuid())
}

/// A fresh idempotency key, from the system's generator: a key that named a mutating call whose
/// answer carries a secret must not be guessable from the request ids a log shows.
fn new_idempotency_key() -> Result<AsciiMetadataValue, Error> {
    header_uuid(uuid::Uuid::new_v4())
}

fn header_uuid(id: uuid::Uuid) -> Result<AsciiMetadataValue, Error> {
    let mut text = [0u8; uuid::fmt::Hyphenated::LENGTH];
    let text = id.hyphenated().encode_lower(&mut text);
    AsciiMetadataValue::try_from(&*text).map_err(|_| Error::config("a UUID is not a valid header value"))
}

pub(crate) fn fmt_duration(d: Duration) -> String {
    if d.as_millis() < 1000 {
        format!("{} ms", d.as_millis())
    } else {
        format!("{:.1} s", d.as_secs_f64())
    }
}

/// The `x-operation-poll-interval` header (seconds, possibly fractional), if sent.
pub(crate) fn poll_interval(md: &MetadataMap) -> Option<Duration> {
    let text = md.get("x-operation-poll-interval")?.to_str().ok()?;
    let secs: f64 = text.trim().trim_end_matches('s').parse().ok()?;
    (secs.is_finite() && secs > 0.0).then(|| Duration::from_secs_f64(secs.min(60.0)))
}
