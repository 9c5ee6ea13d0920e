//! The client's credentials for any tonic stub: [`AuthLayer`], a tower layer over a `Channel` (or
//! any HTTP service), and [`AuthInterceptor`] for a generated client's `with_interceptor`. Both
//! stamp each request the way the facade's own calls are stamped (`authorization`,
//! `x-client-request-id`, `x-client-trace-id`) from the client's one token cache, so any number of
//! stubs, layers and facade calls share one exchange.

use std::{
    pin::Pin,
    sync::LazyLock,
    task::{Context, Poll, ready},
    time::Duration,
};

use futures_util::future::BoxFuture;
use pin_project_lite::pin_project;
use tokio::time::Instant;
use tonic::{
    Status,
    metadata::{AsciiMetadataKey, AsciiMetadataValue, Entry, MetadataMap},
};
use tower::{BoxError, Layer, Service};

use crate::{Client, Error, ErrorKind};

/// The names of the headers the layer sets, parsed once rather than on every call: against a
/// server that does nothing per call, parsing them each time costs the layer about 2% of its
/// throughput (see benches/README.md).
struct Keys {
    authorization: AsciiMetadataKey,
    request_id: AsciiMetadataKey,
    trace_id: AsciiMetadataKey,
}

const GRPC_STATUS: http::HeaderName = http::HeaderName::from_static("grpc-status");
const GRPC_TIMEOUT: http::HeaderName = http::HeaderName::from_static("grpc-timeout");

static KEYS: LazyLock<Keys> = LazyLock::new(|| Keys {
    authorization: AsciiMetadataKey::from_static("authorization"),
    request_id: AsciiMetadataKey::from_static("x-client-request-id"),
    trace_id: AsciiMetadataKey::from_static("x-client-trace-id"),
});

/// A [`tower::Layer`] that authorizes every request with a [`Client`]'s credentials.
///
/// Made by [`Client::auth_layer`]. Each request gets `authorization` (`Bearer <IAM token>` from
/// the client's token cache, exchanged and refreshed ahead of expiry with one exchange however
/// many requests wait, or `Api-Key <secret>`), a fresh `x-client-request-id` and the client's
/// `x-client-trace-id` (either id kept when the request already has one). Cloning is cheap, and
/// every layer of one client shares its cache.
///
/// A failed token exchange fails the request with a [`tonic::Status`] (through the service's
/// error type, which tonic's stubs turn back into that status): its code is the exchange's
/// (`UNAUTHENTICATED` for refused credentials, `UNAVAILABLE` when IAM could not be reached) and
/// its message says what failed, with the request ids, and never a secret. A request's deadline
/// (`grpc-timeout`, as `tonic::Request::set_timeout` sets it) bounds its wait for a token: past it
/// the request fails with `DEADLINE_EXCEEDED`, and the exchange goes on for the requests after it.
/// An `UNAUTHENTICATED` answer to a token makes the next request obtain a new one.
///
/// # Example
///
/// ```no_run
/// use tonic::transport::{Channel, ClientTlsConfig};
/// use yc_iam::proto::yandex::cloud::ai::foundation_models::v1::{
///     TokenizeRequest, tokenizer_service_client::TokenizerServiceClient,
/// };
/// use yc_iam::{Client, Credentials};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let client = Client::builder().with_credentials(Credentials::from_file("key.json")?).build()?;
/// let channel = Channel::from_static("https://llm.api.cloud.yandex.net:443")
///     .tls_config(ClientTlsConfig::new().with_enabled_roots())?
///     .connect_lazy();
/// let channel = tower::ServiceBuilder::new().layer(client.auth_layer()).service(channel);
/// let mut tokenizer = TokenizerServiceClient::new(channel);
/// let request = TokenizeRequest { model_uri: "gpt://b1g.../yandexgpt-lite/latest".into(), text: "Hi".into() };
/// let tokens = tokenizer.tokenize(request).await?.into_inner().tokens;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct AuthLayer {
    client: Client,
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthService<S>;

    fn layer(&self, service: S) -> AuthService<S> {
        AuthService {
            client: self.client.clone(),
            service,
        }
    }
}

/// The service an [`AuthLayer`] wraps: authorizes each request, then hands it on.
#[derive(Clone, Debug)]
pub struct AuthService<S> {
    client: Client,
    service: S,
}

impl<S, B, R> Service<http::Request<B>> for AuthService<S>
where
    S: Service<http::Request<B>, Response = http::Response<R>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Send + 'static,
{
    type Response = http::Response<R>;
    type Error = BoxError;
    type Future = ResponseFuture<S::Future, R>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.service.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        // The usual case: the token is at hand, so the request is stamped here and goes to the
        // ready service at once, with nothing boxed.
        if let Some(authorization) = self.client.authorization_at_hand() {
            let mut metadata = MetadataMap::from_headers(std::mem::take(request.headers_mut()));
            let stamped = self.client.stamp_ids(&mut metadata);
            if let Some(value) = &authorization {
                metadata.insert(&KEYS.authorization, value.clone());
            }
            *request.headers_mut() = metadata.into_headers();
            if stamped.is_ok() {
                let client = self.client.clone();
                return ResponseFuture::direct(self.service.call(request), client, authorization);
            }
        }
        // A token must be obtained first. The ready service takes this request; a fresh clone
        // waits for the next poll_ready.
        let clone = self.service.clone();
        let mut service = std::mem::replace(&mut self.service, clone);
        let client = self.client.clone();
        let deadline = caller_timeout(request.headers()).map(|t| Instant::now() + t);
        ResponseFuture::waiting(Box::pin(async move {
            let mut metadata = MetadataMap::from_headers(std::mem::take(request.headers_mut()));
            let stamped = match deadline {
                Some(deadline) => client.stamp_by(deadline, &mut metadata).await,
                None => client.stamp(&mut metadata).await,
            };
            let authorization = metadata.get(&KEYS.authorization).cloned();
            *request.headers_mut() = metadata.into_headers();
            stamped.map_err(|e| Box::new(status_of(&e)) as BoxError)?;
            let response = service.call(request).await.map_err(Into::into)?;
            client.note_refusal(&response, authorization.as_ref());
            Ok(response)
        }))
    }
}

pin_project! {
    /// The future of an [`AuthService`] call: the inner service's own future when the token was at
    /// hand, a boxed one that first waits for the token exchange otherwise.
    pub struct ResponseFuture<F, R> {
        #[pin]
        state: State<F, R>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, R> {
        Sent { #[pin] future: F, client: Client, authorization: Option<AsciiMetadataValue> },
        Waiting { future: BoxFuture<'static, Result<http::Response<R>, BoxError>> },
    }
}

impl<F, R> ResponseFuture<F, R> {
    fn direct(future: F, client: Client, authorization: Option<AsciiMetadataValue>) -> Self {
        ResponseFuture {
            state: State::Sent {
                future,
                client,
                authorization,
            },
        }
    }

    fn waiting(future: BoxFuture<'static, Result<http::Response<R>, BoxError>>) -> Self {
        ResponseFuture {
            state: State::Waiting { future },
        }
    }
}

impl<F, R> std::fmt::Debug for ResponseFuture<F, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<F, R, E> Future for ResponseFuture<F, R>
where
    F: Future<Output = Result<http::Response<R>, E>>,
    E: Into<BoxError>,
{
    type Output = Result<http::Response<R>, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Sent {
                future,
                client,
                authorization,
            } => {
                let response = ready!(future.poll(cx)).map_err(Into::into)?;
                client.note_refusal(&response, authorization.as_ref());
                Poll::Ready(Ok(response))
            }
            StateProj::Waiting { future } => future.as_mut().poll(cx),
        }
    }
}

/// A [`tonic::service::Interceptor`] that authorizes every request with a [`Client`]'s
/// credentials, for a generated client's `with_interceptor`.
///
/// Made by [`Client::interceptor`], which obtains the first IAM token. An interceptor cannot wait,
/// so later tokens are exchanged in the background ahead of expiry (an IAM token is refreshed
/// after an hour and lives twelve); a request that finds no valid token fails with `UNAVAILABLE`
/// and starts an exchange. Prefer [`AuthLayer`], which waits for the exchange instead and drops a
/// token the server refused.
#[derive(Clone, Debug)]
pub struct AuthInterceptor {
    client: Client,
}

impl tonic::service::Interceptor for AuthInterceptor {
    fn call(&mut self, mut request: tonic::Request<()>) -> Result<tonic::Request<()>, Status> {
        self.client
            .stamp_now(request.metadata_mut())
            .map_err(|e| status_of(&e))?;
        Ok(request)
    }
}

impl Client {
    /// A [`tower::Layer`] that puts this client's credentials on every request of any tonic
    /// stub (see [`AuthLayer`]); it shares the client's token cache.
    pub fn auth_layer(&self) -> AuthLayer {
        AuthLayer { client: self.clone() }
    }

    /// An interceptor that puts this client's credentials on every request of a generated client
    /// (`with_interceptor`); see [`AuthInterceptor`]. Obtains the first IAM token now, if the
    /// credentials exchange one.
    ///
    /// # Errors
    /// When the first token cannot be obtained.
    pub async fn interceptor(&self) -> Result<AuthInterceptor, Error> {
        self.authorization().await?;
        Ok(AuthInterceptor { client: self.clone() })
    }

    /// Adds the ids and, once obtained, `authorization` to `metadata`; ids the caller set stay.
    async fn stamp(&self, metadata: &mut MetadataMap) -> Result<(), Error> {
        self.stamp_ids(metadata)?;
        if let Some(value) = self.authorization().await? {
            metadata.insert(&KEYS.authorization, value);
        }
        Ok(())
    }

    /// [`stamp`](Self::stamp) for a request with a deadline: the wait for a token ends at it (the
    /// exchange goes on for later requests), and `grpc-timeout` is cut to the time left, so the
    /// request as a whole keeps its caller's deadline.
    async fn stamp_by(&self, deadline: Instant, metadata: &mut MetadataMap) -> Result<(), Error> {
        let late = || {
            Error::new(
                ErrorKind::Timeout,
                "cannot authorize the call",
                "no IAM token within the call's deadline",
            )
        };
        tokio::time::timeout_at(deadline, self.stamp(metadata))
            .await
            .map_err(|_| late())??;
        let left = deadline.checked_duration_since(Instant::now()).ok_or_else(late)?;
        metadata.insert("grpc-timeout", crate::client::grpc_timeout(left)?);
        Ok(())
    }

    /// [`stamp`](Self::stamp) without waiting: a missing token fails and is fetched in the
    /// background, a token due for refresh is used while a fresh one is fetched.
    fn stamp_now(&self, metadata: &mut MetadataMap) -> Result<(), Error> {
        self.stamp_ids(metadata)?;
        if let Some(value) = self.authorization_now()? {
            metadata.insert(&KEYS.authorization, value);
        }
        Ok(())
    }

    fn stamp_ids(&self, metadata: &mut MetadataMap) -> Result<(), Error> {
        if let Ok(Entry::Vacant(slot)) = metadata.entry(&KEYS.request_id) {
            // New on every call: never indexed in HPACK, where each id would push the constant
            // headers (authorization, trace id) out of both ends' tables.
            let mut id = crate::client::new_id()?;
            id.set_sensitive(true);
            slot.insert(id);
        }
        if let Ok(Entry::Vacant(slot)) = metadata.entry(&KEYS.trace_id) {
            slot.insert(self.trace_value().clone());
        }
        Ok(())
    }

    /// An error answered at once comes in the headers; a refused token (`UNAUTHENTICATED`) is
    /// dropped so that the next request obtains a new one, as the facade's calls do.
    fn note_refusal<R>(&self, response: &http::Response<R>, authorization: Option<&AsciiMetadataValue>) {
        if let Some(refused) = authorization
            && response.headers().get(GRPC_STATUS).is_some_and(|s| s == "16")
        {
            self.token_refused(refused);
        }
    }
}

/// The caller's time limit, as tonic sends it in `grpc-timeout`: at most eight digits and a unit.
fn caller_timeout(headers: &http::HeaderMap) -> Option<Duration> {
    let text = headers.get(GRPC_TIMEOUT)?.to_str().ok()?;
    let (digits, unit) = text.split_at(text.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n * 3600),
        "M" => Duration::from_secs(n * 60),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

/// A failed exchange as the status a stub's caller sees: the exchange's own code when the server
/// answered, `UNAVAILABLE` or `DEADLINE_EXCEEDED` when it could not be reached in time, and
/// `UNAUTHENTICATED` otherwise (the request could not be authenticated). The message is the
/// error's (which never holds a secret) with its request ids.
fn status_of(err: &Error) -> Status {
    // A failed exchange may be wrapped as a credentials error; the server's answer is its source.
    let chain: Vec<&Error> = std::iter::successors(Some(err as &(dyn std::error::Error + 'static)), |e| e.source())
        .filter_map(|e| e.downcast_ref::<Error>())
        .collect();
    let code = chain.iter().find_map(|e| e.code()).unwrap_or(match err.kind() {
        ErrorKind::Unavailable | ErrorKind::Transport => tonic::Code::Unavailable,
        ErrorKind::Timeout => tonic::Code::DeadlineExceeded,
        _ => tonic::Code::Unauthenticated,
    });
    let client_request_id = chain.iter().find_map(|e| e.client_request_id());
    let request_id = chain.iter().find_map(|e| e.server_request_id());
    let ids: Vec<String> = [("client request id", client_request_id), ("request id", request_id)]
        .into_iter()
        .filter_map(|(name, id)| id.map(|id| format!("{name} {id}")))
        .collect();
    let mut message = err.to_string();
    if !ids.is_empty() {
        message.push_str(&format!(" ({})", ids.join(", ")));
    }
    Status::new(code, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timeout_of(value: &str) -> Option<Duration> {
        let mut headers = http::HeaderMap::new();
        headers.insert(GRPC_TIMEOUT, http::HeaderValue::from_str(value).ok()?);
        caller_timeout(&headers)
    }

    #[test]
    fn a_deadline_is_read_in_every_unit_and_a_malformed_one_is_ignored() {
        assert_eq!(timeout_of("2H"), Some(Duration::from_secs(7200)));
        assert_eq!(timeout_of("3M"), Some(Duration::from_secs(180)));
        assert_eq!(timeout_of("30S"), Some(Duration::from_secs(30)));
        assert_eq!(timeout_of("300m"), Some(Duration::from_millis(300)));
        assert_eq!(timeout_of("300000u"), Some(Duration::from_millis(300)));
        assert_eq!(timeout_of("5n"), Some(Duration::from_nanos(5)));
        for bad in ["", "m", "123456789m", "12x", "-1S", "1.5S", "S5"] {
            assert_eq!(timeout_of(bad), None, "{bad:?}");
        }
    }
}
