//! An in-memory emulator of Yandex Cloud IAM and resource-manager, served over gRPC from the same
//! generated stubs the client uses, faithful enough to test Yandex Cloud code offline in any language.
//!
//! It serves `ApiEndpointService` (pointing at itself), `IamTokenService`, `ServiceAccountService`,
//! `ApiKeyService`, `FolderService`, `CloudService` and `OperationService`. Requests are validated
//! with the proto rules, callers must authenticate, mutations return operations that finish after a
//! configurable delay, `idempotency-key` is honoured, lists paginate with opaque tokens, and every
//! response carries `x-request-id` and `x-server-trace-id`. Tests can read the journal of received
//! calls, inject faults per method and audit a snapshot of the state.
//!
//! # Example
//! ```no_run
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use yc_iam::emulator::Emulator;
//!
//! let emu = Emulator::builder().with_folder("b1gfolder0000000000001").start().await?;
//! println!("serving on {}", emu.endpoint());
//! emu.shutdown().await;
//! # Ok(())
//! # }
//! ```

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use http::HeaderMap;
use tokio::net::TcpListener;
use tokio::sync::{Notify, oneshot};
use tokio::task::JoinHandle;
use tokio::time::Duration;
use tonic::Status;

mod auth;
mod clock;
mod errors;
mod fault;
mod ids;
mod journal;
mod layer;
mod page;
mod persist;
mod services;
mod snapshot;
mod state;

pub use fault::{ALL_METHODS, Fault};
pub use journal::JournalEntry;
pub use snapshot::{ApiKeyState, Snapshot};

use clock::Clock;
use fault::FaultTable;
use journal::Recorded;
use state::{CloudRec, FolderRec, State};

/// Whether the emulator accepts `token` as a page token: the entry point of the fuzz targets
/// and property tests for the page-token decoder, which must reject garbage without panicking.
#[doc(hidden)]
pub fn fuzz_page_token(token: &str) -> bool {
    page::decode(token).is_ok()
}

/// The IAM token accepted when the builder was given no IAM token.
pub const DEFAULT_IAM_TOKEN: &str = "t1.emulator-default-token";
/// The OAuth token exchanged by `IamTokenService.Create` when the builder was given no OAuth token.
pub const DEFAULT_OAUTH_TOKEN: &str = "y0_emulator-default-oauth-token";
/// The cloud created when the builder names none.
pub const DEFAULT_CLOUD_ID: &str = "b1gemulatorcloud0001";
/// The folder created when the builder names none.
pub const DEFAULT_FOLDER_ID: &str = "b1gemulatorfolder001";
/// The largest request message accepted (4 MiB); larger ones fail with RESOURCE_EXHAUSTED.
pub const MAX_MESSAGE_SIZE: usize = 4 * 1024 * 1024;
/// How many calls the journal keeps; older ones are forgotten, so a long-running emulator stays small.
pub const JOURNAL_CAPACITY: usize = 10_000;

/// Why the emulator could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmulatorError {
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The TLS certificate or key was rejected.
    #[error("invalid tls certificate or key")]
    Tls(#[source] tonic::transport::Error),
    /// The state file could not be read or parsed.
    #[error("cannot load emulator state from {}", path.display())]
    State {
        /// The state file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A file named on the command line could not be read or parsed.
    #[error("cannot read {}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// An authorized key's public key is not a valid RSA PEM.
    #[error("invalid public key for authorized key {key_id}")]
    AuthorizedKey {
        /// The key id.
        key_id: String,
        /// The cause.
        #[source]
        source: jsonwebtoken::errors::Error,
    },
}

/// A service-account key whose JWTs `IamTokenService.Create` accepts.
#[derive(Clone)]
pub(crate) struct AuthorizedKey {
    pub(crate) key_id: String,
    pub(crate) service_account_id: String,
    pub(crate) decoding_key: jsonwebtoken::DecodingKey,
}

/// Configures and starts an [`Emulator`]; see [`Emulator::builder`].
#[derive(Clone)]
pub struct EmulatorBuilder {
    listen: SocketAddr,
    clouds: Vec<String>,
    folders: Vec<String>,
    iam_tokens: Vec<String>,
    oauth_tokens: Vec<String>,
    authorized_keys: Vec<(String, String, String)>,
    op_delay: Duration,
    poll_interval: Option<Duration>,
    faults: Vec<(String, Fault)>,
    tls: Option<(Vec<u8>, Vec<u8>)>,
    state_file: Option<PathBuf>,
    journal_capacity: usize,
}

impl std::fmt::Debug for EmulatorBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Tokens and the TLS key are secrets: only their count or presence is shown.
        f.debug_struct("EmulatorBuilder")
            .field("listen", &self.listen)
            .field("clouds", &self.clouds)
            .field("folders", &self.folders)
            .field("iam_tokens", &self.iam_tokens.len())
            .field("oauth_tokens", &self.oauth_tokens.len())
            .field(
                "authorized_keys",
                &self
                    .authorized_keys
                    .iter()
                    .map(|(id, sa, _)| (id, sa))
                    .collect::<Vec<_>>(),
            )
            .field("op_delay", &self.op_delay)
            .field("poll_interval", &self.poll_interval)
            .field("faults", &self.faults)
            .field("tls", &self.tls.is_some())
            .field("state_file", &self.state_file)
            .field("journal_capacity", &self.journal_capacity)
            .finish()
    }
}

impl Default for EmulatorBuilder {
    fn default() -> Self {
        Self {
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            clouds: Vec::new(),
            folders: Vec::new(),
            iam_tokens: Vec::new(),
            oauth_tokens: Vec::new(),
            authorized_keys: Vec::new(),
            op_delay: Duration::ZERO,
            poll_interval: None,
            faults: Vec::new(),
            tls: None,
            state_file: None,
            journal_capacity: JOURNAL_CAPACITY,
        }
    }
}

impl EmulatorBuilder {
    /// Listens on `addr` instead of `127.0.0.1:0` (a free port).
    #[must_use]
    pub fn with_listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// Creates a folder with this id in the first cloud (repeatable). Without any, a default folder
    /// [`DEFAULT_FOLDER_ID`] exists.
    #[must_use]
    pub fn with_folder(mut self, folder_id: impl Into<String>) -> Self {
        self.folders.push(folder_id.into());
        self
    }

    /// Creates a cloud with this id (repeatable); folders go into the first one. Without any, a
    /// default cloud [`DEFAULT_CLOUD_ID`] exists.
    #[must_use]
    pub fn with_cloud(mut self, cloud_id: impl Into<String>) -> Self {
        self.clouds.push(cloud_id.into());
        self
    }

    /// Accepts `authorization: Bearer <token>` with this token as-is. Without any configured token,
    /// [`DEFAULT_IAM_TOKEN`] is accepted.
    #[must_use]
    pub fn with_iam_token(mut self, token: impl Into<String>) -> Self {
        self.iam_tokens.push(token.into());
        self
    }

    /// Exchanges this OAuth token for an IAM token in `IamTokenService.Create`. Without any,
    /// [`DEFAULT_OAUTH_TOKEN`] is exchanged.
    #[must_use]
    pub fn with_oauth_token(mut self, token: impl Into<String>) -> Self {
        self.oauth_tokens.push(token.into());
        self
    }

    /// Accepts JWTs signed (PS256) with the private half of `public_key_pem`, with `kid` = `key_id`
    /// and `iss` = `service_account_id`.
    #[must_use]
    pub fn with_authorized_key(
        mut self,
        key_id: impl Into<String>,
        service_account_id: impl Into<String>,
        public_key_pem: impl Into<String>,
    ) -> Self {
        self.authorized_keys
            .push((key_id.into(), service_account_id.into(), public_key_pem.into()));
        self
    }

    /// Operations finish this long after they start (default: at once).
    #[must_use]
    pub fn with_op_delay(mut self, delay: Duration) -> Self {
        self.op_delay = delay;
        self
    }

    /// Sends `x-operation-poll-interval` (whole seconds) with every operation.
    #[must_use]
    pub fn with_poll_interval(mut self, interval: Duration) -> Self {
        self.poll_interval = Some(interval);
        self
    }

    /// Injects `fault` into calls of `method` (a gRPC path or [`ALL_METHODS`]).
    #[must_use]
    pub fn with_fault(mut self, method: impl Into<String>, fault: Fault) -> Self {
        self.faults.push((method.into(), fault));
        self
    }

    /// Serves TLS with this PEM certificate chain and PEM private key; the endpoint becomes
    /// `https://localhost:PORT`.
    #[must_use]
    pub fn with_tls(mut self, cert_pem: impl Into<Vec<u8>>, key_pem: impl Into<Vec<u8>>) -> Self {
        self.tls = Some((cert_pem.into(), key_pem.into()));
        self
    }

    /// Loads the state from this JSON file if it exists, and saves it there after every change and
    /// on shutdown.
    #[must_use]
    pub fn with_state_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.state_file = Some(path.into());
        self
    }

    /// Keeps the last `capacity` calls in the journal (default [`JOURNAL_CAPACITY`]); 0 keeps none,
    /// which spares every call the copy of its headers when nobody reads the journal (as in the
    /// `yc-iam emulator` process).
    #[must_use]
    pub fn with_journal_capacity(mut self, capacity: usize) -> Self {
        self.journal_capacity = capacity;
        self
    }

    /// Binds the socket and starts serving in a background task of the current runtime.
    ///
    /// # Errors
    /// When the address cannot be bound, the TLS identity, an authorized key or the state file is
    /// invalid.
    pub async fn start(self) -> Result<Emulator, EmulatorError> {
        let authorized_keys = self
            .authorized_keys
            .iter()
            .map(|(key_id, sa, pem)| {
                jsonwebtoken::DecodingKey::from_rsa_pem(pem.as_bytes())
                    .map(|decoding_key| AuthorizedKey {
                        key_id: key_id.clone(),
                        service_account_id: sa.clone(),
                        decoding_key,
                    })
                    .map_err(|source| EmulatorError::AuthorizedKey {
                        key_id: key_id.clone(),
                        source,
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;

        let mut state = match &self.state_file {
            Some(path) => persist::load(path).await?,
            None => State::default(),
        };
        let clock = Clock::new();
        seed_resources(&mut state, &clock, &self.clouds, &self.folders);
        state.rebuild_indexes();

        let listener = TcpListener::bind(self.listen)
            .await
            .map_err(|source| EmulatorError::Bind {
                addr: self.listen,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| EmulatorError::Bind {
            addr: self.listen,
            source,
        })?;
        let tls = self.tls.is_some();
        let advertised_host = if tls {
            "localhost".to_owned()
        } else if addr.ip().is_unspecified() {
            "127.0.0.1".to_owned()
        } else {
            match addr.ip() {
                IpAddr::V6(ip) => format!("[{ip}]"),
                IpAddr::V4(ip) => ip.to_string(),
            }
        };
        let advertised = format!("{advertised_host}:{}", addr.port());
        let endpoint = format!("{}://{advertised}", if tls { "https" } else { "http" });

        let faults_armed = AtomicBool::new(!self.faults.is_empty());
        let mut faults = FaultTable::default();
        for (method, fault) in self.faults {
            faults.set(&method, fault);
        }
        let inner = Arc::new(Inner {
            clock,
            state: Mutex::new(state),
            faults: Mutex::new(faults),
            faults_armed,
            journal: Mutex::new(std::collections::VecDeque::new()),
            journal_capacity: self.journal_capacity,
            rng: Mutex::new(fastrand::Rng::new()),
            iam_tokens: if self.iam_tokens.is_empty() {
                vec![DEFAULT_IAM_TOKEN.to_owned()]
            } else {
                self.iam_tokens
            },
            oauth_tokens: if self.oauth_tokens.is_empty() {
                vec![DEFAULT_OAUTH_TOKEN.to_owned()]
            } else {
                self.oauth_tokens
            },
            authorized_keys,
            op_delay: self.op_delay,
            poll_interval: self.poll_interval,
            advertised,
            saving: Mutex::new(()),
            changed: Notify::new(),
            state_file: self.state_file,
        });

        let router = services::router(&inner, self.tls.as_ref())?;
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let incoming = tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
        let server = tokio::spawn(async move {
            let stop = async {
                let _ = stop_rx.await;
            };
            if let Err(error) = router.serve_with_incoming_shutdown(incoming, stop).await {
                tracing::warn!(%error, "emulator server stopped with an error");
            }
        });
        let saver = inner
            .state_file
            .clone()
            .map(|path| tokio::spawn(persist::saver(inner.clone(), path)));
        if inner.state_file.is_some() {
            inner.changed.notify_one();
        }
        tracing::debug!(%addr, "emulator listening");
        Ok(Emulator {
            addr,
            endpoint,
            inner,
            stop: Some(stop_tx),
            server: Some(server),
            saver,
        })
    }
}

/// Creates the configured (or default) clouds and folders that do not exist yet.
fn seed_resources(state: &mut State, clock: &Clock, clouds: &[String], folders: &[String]) {
    let mut clouds = clouds.to_vec();
    if clouds.is_empty() && state.clouds.is_empty() {
        clouds.push(DEFAULT_CLOUD_ID.to_owned());
    }
    let now = clock.now();
    for (i, id) in clouds.iter().enumerate() {
        state.clouds.entry(id.clone()).or_insert_with(|| CloudRec {
            id: id.clone(),
            name: if i == 0 {
                "emulator-cloud".to_owned()
            } else {
                format!("emulator-cloud-{i}")
            },
            organization_id: "bpfemulatororg000001".to_owned(),
            created_at: (&now).into(),
        });
    }
    let home_cloud = clouds
        .first()
        .cloned()
        .or_else(|| state.clouds.keys().next().cloned())
        .unwrap_or_default();
    let mut folders = folders.to_vec();
    if folders.is_empty() && state.folders.is_empty() {
        folders.push(DEFAULT_FOLDER_ID.to_owned());
    }
    for (i, id) in folders.iter().enumerate() {
        state.folders.entry(id.clone()).or_insert_with(|| FolderRec {
            id: id.clone(),
            cloud_id: home_cloud.clone(),
            name: if i == 0 {
                "default".to_owned()
            } else {
                format!("folder-{i}")
            },
            created_at: (&now).into(),
        });
    }
}

/// A running emulator. Dropping it stops the server; [`Emulator::shutdown`] also waits for it and
/// saves the state file.
pub struct Emulator {
    addr: SocketAddr,
    endpoint: String,
    inner: Arc<Inner>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    saver: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Emulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Emulator")
            .field("addr", &self.addr)
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl Emulator {
    /// A builder with the defaults: `127.0.0.1:0`, one cloud and folder, [`DEFAULT_IAM_TOKEN`],
    /// operations done at once, no faults, plaintext, no state file.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }

    /// The address the emulator listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The endpoint to give a client: `http://127.0.0.1:PORT`, or `https://localhost:PORT` with TLS.
    pub fn endpoint(&self) -> String {
        self.endpoint.clone()
    }

    /// The calls received so far, in order (the last [`JOURNAL_CAPACITY`]).
    pub fn journal(&self) -> Vec<JournalEntry> {
        lock(&self.inner.journal).iter().map(Recorded::entry).collect()
    }

    /// Forgets the calls journaled so far.
    pub fn clear_journal(&self) {
        lock(&self.inner.journal).clear();
    }

    /// Injects `fault` into calls of `method` (a gRPC path or [`ALL_METHODS`]), replacing any fault
    /// that method had.
    pub fn set_fault(&self, method: &str, fault: Fault) {
        let mut faults = lock(&self.inner.faults);
        faults.set(method, fault);
        self.inner.faults_armed.store(true, Ordering::Release);
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        let mut faults = lock(&self.inner.faults);
        faults.clear();
        self.inner.faults_armed.store(false, Ordering::Release);
    }

    /// The current state, for audits.
    pub fn snapshot(&self) -> Snapshot {
        snapshot::take(&lock(&self.inner.state), &self.inner.clock)
    }

    /// Stops serving, waits for open calls to finish (at most 5 s) and saves the state file.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
        }
        if let Some(saver) = self.saver.take() {
            saver.abort();
        }
        if let Some(path) = &self.inner.state_file
            && let Err(error) = persist::save(&self.inner, path).await
        {
            tracing::warn!(%error, path = %path.display(), "cannot save emulator state");
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(saver) = self.saver.take() {
            saver.abort();
        }
    }
}

/// Who made a call, as established by the `authorization` header.
#[derive(Debug, Clone)]
pub(crate) enum Principal {
    /// A configured IAM token or one exchanged for an OAuth token.
    User(String),
    /// A token issued for a service-account JWT, or an API key.
    ServiceAccount(String),
}

impl Principal {
    pub(crate) fn subject_id(&self) -> &str {
        match self {
            Self::User(id) | Self::ServiceAccount(id) => id,
        }
    }
}

/// The user behind configured and OAuth-exchanged tokens.
pub(crate) const EMULATOR_USER_ID: &str = "ajeemulatoruser00001";

/// The shared state behind the services, the layer and the handle.
pub(crate) struct Inner {
    pub(crate) clock: Clock,
    pub(crate) state: Mutex<State>,
    pub(crate) faults: Mutex<FaultTable>,
    /// Whether any fault is set: without one the layer skips the fault table.
    pub(crate) faults_armed: AtomicBool,
    pub(crate) journal: Mutex<std::collections::VecDeque<Recorded>>,
    pub(crate) journal_capacity: usize,
    pub(crate) rng: Mutex<fastrand::Rng>,
    pub(crate) iam_tokens: Vec<String>,
    pub(crate) oauth_tokens: Vec<String>,
    pub(crate) authorized_keys: Vec<AuthorizedKey>,
    pub(crate) op_delay: Duration,
    pub(crate) poll_interval: Option<Duration>,
    /// `host:port` that `ApiEndpointService` hands out.
    pub(crate) advertised: String,
    /// Signalled after every change, for the state-file saver.
    pub(crate) changed: Notify,
    pub(crate) state_file: Option<PathBuf>,
    /// Held for the whole of one state-file save (`persist::save`).
    pub(crate) saving: Mutex<()>,
}

impl Inner {
    /// A fresh id with `prefix`.
    pub(crate) fn new_id(&self, prefix: &str) -> String {
        ids::resource_id(&mut lock(&self.rng), prefix)
    }

    /// Runs `f` on the locked state and schedules a save (with a state file).
    pub(crate) fn mutate<T>(&self, f: impl FnOnce(&mut State) -> Result<T, Status>) -> Result<T, Status> {
        let result = f(&mut lock(&self.state));
        if result.is_ok() && self.state_file.is_some() {
            self.changed.notify_one();
        }
        result
    }

    /// Runs `f` on the locked state without saving.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&State) -> T) -> T {
        f(&lock(&self.state))
    }

    pub(crate) fn authenticate(&self, headers: &HeaderMap) -> Result<Principal, Status> {
        auth::authenticate(self, headers)
    }
}

/// Locks a mutex, recovering the data if another thread panicked while holding it.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The file next to `path` used for atomic writes.
pub(crate) fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".tmp");
    path.with_file_name(name)
}
