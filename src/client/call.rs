//! The path of one RPC: validate, then per attempt resolve the channel, attach metadata and
//! authorization, bound the attempt in time, convert the status, and retry when safe.

use std::{future::Future, time::Duration};

use futures_util::future::BoxFuture;
use secrecy::{ExposeSecret as _, SecretString};
use tokio::time::Instant;
use tonic::{
    metadata::{AsciiMetadataValue, MetadataMap},
    transport::Channel,
};

use super::endpoints::ServiceId;
use crate::{
    Client, Error, ErrorKind, RetryPolicy, Validate,
    auth::{AUDIENCE, CredentialsKind, fetch_metadata_token, token_cache::Fetched},
    proto::yandex::cloud::iam::v1::{
        CreateIamTokenRequest, create_iam_token_request::Identity, iam_token_service_client::IamTokenServiceClient,
    },
};

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

const CREATE_IAM_TOKEN: Method =
    Method::read(ServiceId::Iam, "cannot exchange credentials for an IAM token").without_auth();

/// The per-attempt metadata the caller may want to read back (e.g. the poll interval).
pub(crate) type Reply<T> = tonic::Response<T>;

impl Client {
    /// Validates `request`, then sends it with retries per the client's policy.
    pub(crate) async fn call<Req, Resp, F, Fut>(
        &self,
        method: &Method,
        request: Req,
        f: F,
    ) -> Result<Reply<Resp>, Error>
    where
        Req: Validate + Clone,
        F: Fn(Channel, tonic::Request<Req>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>>,
    {
        validate(method, &request)?;
        let idempotency_key = method.mutating.then(new_id);
        self.call_validated(method, &request, idempotency_key.as_deref(), self.retry_policy(), &f)
            .await
    }

    /// The retry loop around [`attempt`](Self::attempt), for an already validated request.
    pub(crate) async fn call_validated<Req, Resp, F, Fut>(
        &self,
        method: &Method,
        request: &Req,
        idempotency_key: Option<&str>,
        policy: &RetryPolicy,
        f: &F,
    ) -> Result<Reply<Resp>, Error>
    where
        Req: Clone,
        F: Fn(Channel, tonic::Request<Req>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>>,
    {
        let start = Instant::now();
        let mut attempts = 0;
        loop {
            attempts += 1;
            match self.attempt(method, request, idempotency_key, f).await {
                Ok(reply) => return Ok(reply),
                Err(err) => match policy.next_delay(&err, attempts, start.elapsed()) {
                    Some(delay) => {
                        tracing::debug!(what = method.what, attempts, ?delay, error = %err, "retrying");
                        tokio::time::sleep(delay).await;
                    }
                    None => return Err(err),
                },
            }
        }
    }

    /// One attempt: a fresh `x-client-request-id`, the channel, metadata, authorization, timeout.
    pub(crate) async fn attempt<Req, Resp, F, Fut>(
        &self,
        method: &Method,
        request: &Req,
        idempotency_key: Option<&str>,
        f: &F,
    ) -> Result<Reply<Resp>, Error>
    where
        Req: Clone,
        F: Fn(Channel, tonic::Request<Req>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>>,
    {
        let request_id = new_id();
        let result = async {
            let target = self.target(method.service).await?;
            let channel = self.channel(&target)?;
            let mut req = tonic::Request::new(request.clone());
            let md = req.metadata_mut();
            insert(md, "x-client-request-id", &request_id)?;
            insert(md, "x-client-trace-id", self.trace_id())?;
            if let Some(key) = idempotency_key {
                insert(md, "idempotency-key", key)?;
            }
            if method.auth
                && let Some(value) = self.authorization().await?
            {
                req.metadata_mut().insert("authorization", value);
            }
            let timeout = self.inner.timeout;
            if let Some(t) = timeout {
                req.set_timeout(t);
            }
            let fut = f(channel, req);
            let outcome = match timeout {
                Some(t) => tokio::time::timeout(t, fut).await.map_err(|_| {
                    Error::new(
                        ErrorKind::Timeout,
                        method.what,
                        format!("no answer within {}", fmt_duration(t)),
                    )
                })?,
                None => fut.await,
            };
            let result = outcome.map_err(|status| Error::from_status(method.what, status));
            if let Err(e) = &result
                && method.auth
                && e.kind() == ErrorKind::Unauthenticated
                && self.inner.credentials.exchanges_tokens()
            {
                // A revoked or otherwise refused token: the next call gets a fresh one.
                self.inner.tokens.invalidate();
            }
            result
        }
        .await;
        result.map_err(|mut e| {
            e.set_client_request_id(&request_id);
            e
        })
    }

    /// The `authorization` value for the configured credentials, if any.
    async fn authorization(&self) -> Result<Option<AsciiMetadataValue>, Error> {
        let value = match self.inner.credentials.kind() {
            CredentialsKind::None => return Ok(None),
            CredentialsKind::ApiKey(secret) => format!("Api-Key {}", secret.expose_secret()),
            CredentialsKind::IamToken(token) => format!("Bearer {}", token.expose_secret()),
            _ => format!("Bearer {}", self.cached_iam_token().await?.expose_secret()),
        };
        let mut value = AsciiMetadataValue::try_from(value)
            .map_err(|_| Error::credentials("the credentials contain characters not allowed in a header"))?;
        value.set_sensitive(true);
        Ok(Some(value))
    }

    async fn cached_iam_token(&self) -> Result<SecretString, Error> {
        self.inner.tokens.get(|| self.exchange()).await
    }

    /// An IAM token for the configured credentials (for `yc-iam create-token`): the static token,
    /// or one from the cache, exchanged when needed. API keys have none.
    pub async fn iam_token(&self) -> Result<SecretString, Error> {
        match self.inner.credentials.kind() {
            CredentialsKind::IamToken(token) => Ok(token.clone()),
            CredentialsKind::None => Err(Error::credentials("no credentials are configured")),
            CredentialsKind::ApiKey(_) => Err(Error::credentials("an API key cannot be turned into an IAM token")),
            _ => self.cached_iam_token().await,
        }
    }

    /// Obtains a new IAM token from the credentials. Boxed: the exchange is itself a call.
    fn exchange(&self) -> BoxFuture<'_, Result<Fetched, Error>> {
        Box::pin(async move {
            let identity = match self.inner.credentials.kind() {
                CredentialsKind::OAuth(token) => Identity::YandexPassportOauthToken(token.expose_secret().to_owned()),
                CredentialsKind::AuthorizedKey(key) => {
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.as_secs() as i64)
                        .unwrap_or_default();
                    Identity::Jwt(key.jwt(AUDIENCE, now)?.expose_secret().to_owned())
                }
                CredentialsKind::Metadata { addr } => {
                    let (token, lifetime) = fetch_metadata_token(addr).await?;
                    return Ok(Fetched { token, lifetime });
                }
                _ => return Err(Error::credentials("these credentials do not exchange tokens")),
            };
            let request = CreateIamTokenRequest {
                identity: Some(identity),
            };
            let reply = self
                .call(&CREATE_IAM_TOKEN, request, |ch, req| async move {
                    IamTokenServiceClient::new(ch).create(req).await
                })
                .await
                .map_err(into_credentials_error)?
                .into_inner();
            let lifetime = reply
                .expires_at
                .and_then(|ts| std::time::SystemTime::try_from(ts).ok())
                .and_then(|at| at.duration_since(std::time::SystemTime::now()).ok())
                .unwrap_or_default();
            Ok(Fetched {
                token: SecretString::from(reply.iam_token),
                lifetime,
            })
        })
    }
}

/// A failed exchange is a credentials problem for the call that needed the token: it is not
/// retried again by that call (the exchange had its own retries).
fn into_credentials_error(err: Error) -> Error {
    match err.kind() {
        ErrorKind::Unauthenticated | ErrorKind::PermissionDenied | ErrorKind::InvalidArgument => err,
        _ => {
            let mut e = Error::credentials(err.to_string());
            if let Some(id) = err.client_request_id() {
                e.set_client_request_id(id);
            }
            e.with_source(err)
        }
    }
}

/// Checks the request's proto rules; a broken rule is an invalid-input error and nothing is sent.
pub(crate) fn validate<Req: Validate>(method: &Method, request: &Req) -> Result<(), Error> {
    request.validate().map_err(|v| Error::from_violation(method.what, v))
}

pub(crate) fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn insert(md: &mut MetadataMap, name: &'static str, value: &str) -> Result<(), Error> {
    let value = AsciiMetadataValue::try_from(value)
        .map_err(|_| Error::invalid_input("cannot send the request", format!("{name} is not a valid header value")))?;
    md.insert(name, value);
    Ok(())
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
