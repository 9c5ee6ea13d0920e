//! The client: configuration, endpoint resolution, one channel per endpoint, and the call path
//! every RPC takes (validation, metadata, authorization, per-attempt timeout, retries).

mod call;
mod endpoints;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use tonic::{
    metadata::AsciiMetadataValue,
    transport::{Certificate, Channel, ClientTlsConfig, Endpoint},
};

pub(crate) use call::{Method, fmt_duration, new_id, poll_interval, validate};
pub(crate) use endpoints::ServiceId;
use endpoints::{Discovered, Target};

use crate::{
    Credentials, Error, RetryPolicy,
    auth::{static_authorization, token_cache::TokenCache},
    services::{
        AccessKeys, AccountKey, AccountKeys, ApiKeys, Clouds, Folders, Keys, Lockbox, Operations, ServiceAccounts,
    },
};

/// The default API endpoint of Yandex Cloud.
pub const DEFAULT_ENDPOINT: &str = "api.cloud.yandex.net:443";
const USER_AGENT: &str = concat!("yc-iam/", env!("CARGO_PKG_VERSION"));
const DEFAULT_OPERATION_TIMEOUT: Duration = Duration::from_secs(600);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// HTTP/2 keepalive: a ping after this long without anything received, while a call is open. A
/// call on a connection that has been quiet longer (a NAT or a path that forgot it without a
/// reset) sends a ping at once, and the connection is found dead within the ping's timeout, not
/// at every later call's own timeout. No pings without a call: gRPC servers by default allow
/// those at most every five minutes and answer more with GOAWAY (`too_many_pings`).
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(30);
/// A ping unanswered this long means the connection is dead: it is closed and the next call opens
/// a new one. Generous next to any round trip, so a slow network is not taken for a dead one.
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(10);

/// A Yandex Cloud IAM and Resource Manager client.
///
/// Built once with [`Client::builder`]; cheap to clone (clones share channels, the token cache
/// and the discovered endpoints). Every call is validated against the proto rules before it is
/// sent, carries `x-client-request-id`, `x-client-trace-id`, `user-agent` and (when mutating)
/// `idempotency-key`, and is retried on transient failures per the [`RetryPolicy`].
///
/// Building needs no runtime; calls run on Tokio (channels are opened on first use, on the
/// runtime of that call).
///
/// # Example
///
/// ```no_run
/// use futures_util::TryStreamExt as _;
/// use yc_iam::{Client, CreateServiceAccount, Credentials};
///
/// # async fn run() -> Result<(), yc_iam::Error> {
/// let client = Client::builder()
///     .with_credentials(Credentials::oauth_token("y0_..."))
///     .build()?;
/// let created = client
///     .service_accounts()
///     .create(CreateServiceAccount::new("b1gfolder", "ai-bot").description("calls AI Studio"))
///     .await?
///     .wait()
///     .await?;
/// let all: Vec<_> = client.service_accounts().list("b1gfolder").try_collect().await?;
/// println!("created {}; the folder has {} service accounts", created.id, all.len());
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    base: Target,
    default_endpoint: bool,
    overrides: HashMap<ServiceId, Target>,
    /// Shared with the clients [`Client::with_credentials`] derives.
    discovered: Arc<tokio::sync::OnceCell<Discovered>>,
    channels: Arc<Mutex<HashMap<String, Channel>>>,
    ca_pems: Vec<Vec<u8>>,
    allow_insecure: bool,
    credentials: Credentials,
    /// The `authorization` value of static credentials, built once.
    static_authorization: Option<AsciiMetadataValue>,
    tokens: TokenCache,
    retry: RetryPolicy,
    /// The per-attempt timeout with its `grpc-timeout` value, formatted once: the call path bounds
    /// each attempt by it, and the header tells the server when to give up.
    timeout: Option<(Duration, AsciiMetadataValue)>,
    operation_timeout: Duration,
    trace_id: String,
    trace_value: AsciiMetadataValue,
    /// The channel each service was resolved to, after its first call (by `ServiceId::index`):
    /// every later call reads it without a lock.
    resolved: [tokio::sync::OnceCell<Channel>; ServiceId::COUNT],
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("endpoint", &self.inner.base.uri())
            .field("credentials", &self.inner.credentials)
            .field("retry", &self.inner.retry)
            .field("timeout", &self.timeout().map(|(t, _)| t))
            .finish_non_exhaustive()
    }
}

/// `timeout` in the `grpc-timeout` format, as tonic writes it.
pub(crate) fn grpc_timeout(timeout: Duration) -> Result<AsciiMetadataValue, Error> {
    let mut request = tonic::Request::new(());
    request.set_timeout(timeout);
    request
        .metadata_mut()
        .remove("grpc-timeout")
        .ok_or_else(|| Error::config("the timeout cannot be sent as grpc-timeout"))
}

/// A fresh `x-client-trace-id`, with its header value.
fn new_trace_id() -> Result<(String, AsciiMetadataValue), Error> {
    let trace_id = uuid::Uuid::new_v4().to_string();
    let trace_value = AsciiMetadataValue::try_from(trace_id.as_str())
        .map_err(|_| Error::config("the trace id is not a valid header value"))?;
    Ok((trace_id, trace_value))
}

/// Configures and builds a [`Client`]; `with_*` methods set options, [`build`](Self::build)
/// checks them.
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    endpoint: String,
    credentials: Credentials,
    retry: RetryPolicy,
    timeout: Option<Duration>,
    operation_timeout: Duration,
    ca_pems: Vec<Vec<u8>>,
    allow_insecure: bool,
    overrides: Vec<(String, String)>,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        ClientBuilder {
            endpoint: DEFAULT_ENDPOINT.to_owned(),
            credentials: Credentials::none(),
            retry: RetryPolicy::default(),
            timeout: Some(Duration::from_secs(30)),
            operation_timeout: DEFAULT_OPERATION_TIMEOUT,
            ca_pems: Vec::new(),
            allow_insecure: false,
            overrides: Vec::new(),
        }
    }
}

impl ClientBuilder {
    /// The API endpoint: `host:port` (TLS), `https://host:port` or `http://host:port`
    /// (plaintext, loopback only unless [`with_allow_insecure`](Self::with_allow_insecure)).
    /// Any endpoint other than the default is asked for the service addresses once
    /// (`ApiEndpointService.List`).
    pub fn with_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = endpoint.into();
        self
    }

    /// The credentials every call is authorized with (none by default).
    pub fn with_credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = credentials;
        self
    }

    /// The retry policy ([`RetryPolicy::disabled`] for none).
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The time limit of each attempt (30 s by default).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// No time limit per attempt (the retry policy's total time still applies to retries).
    pub fn without_timeout(mut self) -> Self {
        self.timeout = None;
        self
    }

    /// How long [`Operation::wait`](crate::Operation::wait) waits at most (10 min by default).
    pub fn with_operation_timeout(mut self, timeout: Duration) -> Self {
        self.operation_timeout = timeout;
        self
    }

    /// An extra trusted CA certificate (PEM) besides the system and bundled roots.
    pub fn with_ca_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.ca_pems.push(pem.into());
        self
    }

    /// Allow plaintext `http://` to hosts other than loopback (off by default).
    pub fn with_allow_insecure(mut self, allow: bool) -> Self {
        self.allow_insecure = allow;
        self
    }

    /// Reach one service at a given endpoint instead of the resolved one. `service` is `iam`,
    /// `resource-manager` (or `resourcemanager`), `operation`, `endpoint`, `lockbox`,
    /// `lockbox-payload` or `ai-foundation-models`.
    pub fn with_service_endpoint(mut self, service: impl Into<String>, endpoint: impl Into<String>) -> Self {
        self.overrides.push((service.into(), endpoint.into()));
        self
    }

    /// Checks the configuration and builds the client. Nothing is connected yet: channels open
    /// on first use, and discovery (for a non-default endpoint) happens once, on the first call.
    pub fn build(self) -> Result<Client, Error> {
        let base = Target::parse(&self.endpoint)?;
        base.check_security(self.allow_insecure)?;
        let default_endpoint = base.tls && base.host == "api.cloud.yandex.net" && base.port == 443;
        let mut overrides = HashMap::new();
        for (service, endpoint) in &self.overrides {
            let id = ServiceId::from_name(service)
                .ok_or_else(|| Error::config(format!("unknown service {service:?} in a service endpoint override")))?;
            let target = Target::parse(endpoint)?;
            target.check_security(self.allow_insecure)?;
            overrides.insert(id, target);
        }
        for pem in &self.ca_pems {
            if !String::from_utf8_lossy(pem).contains("-----BEGIN CERTIFICATE-----") {
                return Err(Error::config("the extra CA is not a PEM certificate"));
            }
        }
        let static_authorization = static_authorization(&self.credentials)?;
        let (trace_id, trace_value) = new_trace_id()?;
        Ok(Client {
            inner: Arc::new(Inner {
                base,
                default_endpoint,
                overrides,
                discovered: Arc::default(),
                channels: Arc::default(),
                ca_pems: self.ca_pems,
                allow_insecure: self.allow_insecure,
                credentials: self.credentials,
                static_authorization,
                tokens: TokenCache::default(),
                retry: self.retry,
                timeout: self.timeout.map(|t| Ok((t, grpc_timeout(t)?))).transpose()?,
                operation_timeout: self.operation_timeout,
                trace_id,
                trace_value,
                resolved: Default::default(),
            }),
        })
    }
}

impl Client {
    /// A builder with the defaults: endpoint `api.cloud.yandex.net:443`, no credentials,
    /// [`RetryPolicy::default`], 30 s per attempt.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// Service accounts (`yandex.cloud.iam.v1.ServiceAccountService`).
    pub fn service_accounts(&self) -> ServiceAccounts {
        ServiceAccounts::new(self.clone())
    }

    /// API keys (`yandex.cloud.iam.v1.ApiKeyService`).
    pub fn api_keys(&self) -> ApiKeys {
        ApiKeys::new(self.clone())
    }

    /// Authorized keys (`yandex.cloud.iam.v1.KeyService`).
    pub fn keys(&self) -> Keys {
        Keys::new(self.clone())
    }

    /// Static access keys (`yandex.cloud.iam.v1.awscompatibility.AccessKeyService`).
    pub fn access_keys(&self) -> AccessKeys {
        AccessKeys::new(self.clone())
    }

    /// The keys of kind `K` (the three above, for code that serves every kind alike).
    pub fn account_keys<K: AccountKey>(&self) -> AccountKeys<K> {
        AccountKeys::new(self.clone())
    }

    /// Folders and their access bindings (`yandex.cloud.resourcemanager.v1.FolderService`).
    pub fn folders(&self) -> Folders {
        Folders::new(self.clone())
    }

    /// Clouds and their access bindings (`yandex.cloud.resourcemanager.v1.CloudService`).
    pub fn clouds(&self) -> Clouds {
        Clouds::new(self.clone())
    }

    /// Lockbox secrets and their payloads (`yandex.cloud.lockbox.v1.SecretService` and
    /// `PayloadService`).
    pub fn lockbox(&self) -> Lockbox {
        Lockbox::new(self.clone())
    }

    /// Long-running operations (`yandex.cloud.operation.OperationService`).
    pub fn operations(&self) -> Operations {
        Operations::new(self.clone())
    }

    /// A client like this one that authenticates with other `credentials` (a key just made, to
    /// try it): the same endpoint, service addresses, TLS settings, retry policy and timeouts; it
    /// shares this client's discovered addresses and connections, and has its own token cache and
    /// trace id.
    ///
    /// # Errors
    /// When the credentials cannot be sent as a header.
    pub fn with_credentials(&self, credentials: Credentials) -> Result<Client, Error> {
        let inner = &self.inner;
        let static_authorization = static_authorization(&credentials)?;
        let (trace_id, trace_value) = new_trace_id()?;
        Ok(Client {
            inner: Arc::new(Inner {
                base: inner.base.clone(),
                default_endpoint: inner.default_endpoint,
                overrides: inner.overrides.clone(),
                discovered: inner.discovered.clone(),
                channels: inner.channels.clone(),
                ca_pems: inner.ca_pems.clone(),
                allow_insecure: inner.allow_insecure,
                credentials,
                static_authorization,
                tokens: TokenCache::default(),
                retry: inner.retry.clone(),
                timeout: inner.timeout.clone(),
                operation_timeout: inner.operation_timeout,
                trace_id,
                trace_value,
                resolved: Default::default(),
            }),
        })
    }

    /// The `x-client-trace-id` this client sends with every call.
    pub fn trace_id(&self) -> &str {
        &self.inner.trace_id
    }

    pub(crate) fn operation_timeout(&self) -> Duration {
        self.inner.operation_timeout
    }

    pub(crate) fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    pub(crate) fn credentials(&self) -> &Credentials {
        &self.inner.credentials
    }

    pub(crate) fn tokens(&self) -> &TokenCache {
        &self.inner.tokens
    }

    pub(crate) fn static_authorization(&self) -> Option<&AsciiMetadataValue> {
        self.inner.static_authorization.as_ref()
    }

    pub(crate) fn timeout(&self) -> Option<(Duration, &AsciiMetadataValue)> {
        self.inner.timeout.as_ref().map(|(t, value)| (*t, value))
    }

    pub(crate) fn trace_value(&self) -> &AsciiMetadataValue {
        &self.inner.trace_value
    }

    /// The channel for a service: resolved on its first call, then reused as is.
    async fn service_channel(&self, service: ServiceId) -> Result<Channel, Error> {
        self.inner.resolved[service.index()]
            .get_or_try_init(|| async { self.channel(&self.target(service).await?) })
            .await
            .cloned()
    }

    /// The address a service is reached at: an override, the known address for the default
    /// endpoint, or the discovered one (single flight, once per client).
    async fn target(&self, service: ServiceId) -> Result<Target, Error> {
        if let Some(t) = self.inner.overrides.get(&service) {
            return Ok(t.clone());
        }
        if service == ServiceId::Endpoint {
            return Ok(self.inner.base.clone());
        }
        if self.inner.default_endpoint {
            return Ok(service.known_target());
        }
        let discovered = self.inner.discovered.get_or_try_init(|| self.discover()).await?;
        match discovered.address(service) {
            Some(address) => {
                let named: Vec<&Target> = self.inner.overrides.values().collect();
                let target = Target::from_discovered(service, address, &self.inner.base, &named)?;
                target.check_security(self.inner.allow_insecure)?;
                Ok(target)
            }
            None => Ok(self.inner.base.clone()),
        }
    }

    /// The channel to a target, created on first use and shared afterwards.
    fn channel(&self, target: &Target) -> Result<Channel, Error> {
        let uri = target.uri();
        let mut channels = self.inner.channels.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(ch) = channels.get(&uri) {
            return Ok(ch.clone());
        }
        let bad = |e: tonic::transport::Error| Error::config(format!("cannot use endpoint {uri}")).with_source(e);
        let mut endpoint = Endpoint::from_shared(uri.clone())
            .map_err(bad)?
            .user_agent(USER_AGENT)
            .map_err(bad)?
            .connect_timeout(CONNECT_TIMEOUT)
            .tcp_nodelay(true)
            .http2_keep_alive_interval(KEEPALIVE_INTERVAL)
            .keep_alive_timeout(KEEPALIVE_TIMEOUT)
            .keep_alive_while_idle(false);
        if target.tls {
            let mut tls = ClientTlsConfig::new()
                .with_native_roots()
                .with_webpki_roots()
                .domain_name(target.host.trim_start_matches('[').trim_end_matches(']'));
            for pem in &self.inner.ca_pems {
                tls = tls.ca_certificate(Certificate::from_pem(pem));
            }
            endpoint = endpoint.tls_config(tls).map_err(bad)?;
        }
        let channel = endpoint.connect_lazy();
        channels.insert(uri, channel.clone());
        Ok(channel)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plaintext_is_refused_to_other_hosts_unless_allowed() {
        assert!(Client::builder().with_endpoint("http://127.0.0.1:1").build().is_ok());
        assert!(Client::builder().with_endpoint("http://localhost:1").build().is_ok());
        let err = Client::builder().with_endpoint("http://example.com:80").build().err();
        assert_eq!(err.map(|e| e.kind()), Some(crate::ErrorKind::Config));
        assert!(
            Client::builder()
                .with_endpoint("http://example.com:80")
                .with_allow_insecure(true)
                .build()
                .is_ok()
        );
    }

    #[cfg(feature = "emulator")]
    #[tokio::test]
    async fn one_channel_serves_every_service_at_the_same_address() {
        use crate::emulator::{DEFAULT_FOLDER_ID, DEFAULT_IAM_TOKEN, Emulator};
        let emu = Emulator::builder().start().await.expect("the emulator starts");
        let client = Client::builder()
            .with_endpoint(emu.endpoint())
            .with_credentials(Credentials::iam_token(DEFAULT_IAM_TOKEN))
            .build()
            .expect("client");
        client.folders().get(DEFAULT_FOLDER_ID).await.expect("resource manager");
        client
            .api_keys()
            .get("ajenokey")
            .await
            .expect_err("iam answers not found");
        client
            .operations()
            .get("ajenoop")
            .await
            .expect_err("operation answers not found");
        let channels = client.inner.channels.lock().map(|c| c.len()).unwrap_or_default();
        assert_eq!(
            channels, 1,
            "discovery, IAM, resource manager and operations share one channel"
        );
        let clone = client.clone();
        clone.folders().get(DEFAULT_FOLDER_ID).await.expect("a clone reuses it");
        assert_eq!(client.inner.channels.lock().map(|c| c.len()).unwrap_or_default(), 1);
    }
}
