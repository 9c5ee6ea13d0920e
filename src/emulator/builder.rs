//! [`EmulatorBuilder`]: what the emulator serves and how, and `start`, which binds the socket,
//! loads or seeds the state and spawns the server.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;
use tokio::sync::{Notify, oneshot};
use tokio::time::Duration;

use super::auth::AuthorizedKey;
use super::clock::{self, Clock};
use super::fault::FaultTable;
use super::state::{CloudRec, FolderRec, State};
use super::{
    DEFAULT_CLOUD_ID, DEFAULT_FOLDER_ID, DEFAULT_IAM_TOKEN, DEFAULT_OAUTH_TOKEN, Emulator, EmulatorError, Fault, Inner,
    JOURNAL_CAPACITY, Quota, Quotas, destruction, persist, services,
};

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
    binding_delay: Duration,
    poll_interval: Option<Duration>,
    faults: Vec<(String, Fault)>,
    tls: Option<(Vec<u8>, Vec<u8>)>,
    state_file: Option<PathBuf>,
    journal_capacity: usize,
    discovered: Vec<(String, String)>,
    start_time: Option<time::OffsetDateTime>,
    quotas: Quotas,
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
            .field("binding_delay", &self.binding_delay)
            .field("poll_interval", &self.poll_interval)
            .field("faults", &self.faults)
            .field("tls", &self.tls.is_some())
            .field("state_file", &self.state_file)
            .field("journal_capacity", &self.journal_capacity)
            .field("discovered", &self.discovered)
            .field("start_time", &self.start_time)
            .field("quotas", &self.quotas)
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
            binding_delay: Duration::ZERO,
            poll_interval: None,
            faults: Vec::new(),
            tls: None,
            state_file: None,
            journal_capacity: JOURNAL_CAPACITY,
            discovered: Vec::new(),
            start_time: None,
            quotas: Quotas::default(),
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

    /// A new access binding takes effect this long after it is added (default: at once), as role
    /// bindings in the real cloud take a while to apply: until then the role does not count for
    /// AI Studio's models or Lockbox payloads, though the binding is listed.
    #[must_use]
    pub fn with_binding_delay(mut self, delay: Duration) -> Self {
        self.binding_delay = delay;
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

    /// Makes `ApiEndpointService` hand out `address` for the endpoint id `endpoint_id` (`iam`,
    /// `resource-manager`, …) instead of the emulator's own address, as a deployment whose
    /// services live on other hosts does. An id the emulator does not know is added.
    #[must_use]
    pub fn with_discovered_address(mut self, endpoint_id: impl Into<String>, address: impl Into<String>) -> Self {
        self.discovered.push((endpoint_id.into(), address.into()));
        self
    }

    /// Starts the emulator's clock at `at` instead of the real time; it runs on from there (and
    /// [`Emulator::advance`] or [`Emulator::set_now`] move it later). Without it, an emulator with
    /// a state file resumes the clock that file was saved with: a clock moved ahead stays ahead.
    #[must_use]
    pub fn with_start_time(mut self, at: time::OffsetDateTime) -> Self {
        self.start_time = Some(at);
        self
    }

    /// Sets a quota of every cloud to `limit` instead of Yandex Cloud's default
    /// ([`Quota::default_limit`]), as the real cloud raises a quota on request. A create beyond a
    /// quota is refused with RESOURCE_EXHAUSTED. Quotas are configuration: a state file does not
    /// keep them, and one holding more than a quota allows still loads (only new creates are
    /// refused).
    #[must_use]
    pub fn with_quota(mut self, quota: Quota, limit: u64) -> Self {
        self.quotas.set(quota, limit);
        self
    }

    /// Binds the socket and starts serving in a background task of the current runtime.
    ///
    /// # Errors
    /// When the address cannot be bound, the TLS identity, an authorized key or the state file is
    /// invalid.
    pub async fn start(self) -> Result<Emulator, EmulatorError> {
        let authorized_keys = self.decode_authorized_keys()?;
        let mut state = match &self.state_file {
            Some(path) => persist::load(path).await?,
            None => State::default(),
        };
        let clock = Clock::new(match self.start_time {
            Some(at) => clock::shift_from_now_to(at),
            None => state.clock_shift,
        });
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
        let advertised = advertised_address(addr, tls);
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
            binding_delay: self.binding_delay,
            poll_interval: self.poll_interval,
            quotas: self.quotas,
            advertised,
            discovered: self.discovered,
            saving: Mutex::new(()),
            changed: Notify::new(),
            destructions_changed: Notify::new(),
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
        let destroyer = tokio::spawn(destruction::destroyer(inner.clone()));
        tracing::debug!(%addr, "emulator listening");
        Ok(Emulator {
            addr,
            endpoint,
            inner,
            stop: Some(stop_tx),
            server: Some(server),
            saver,
            destroyer: Some(destroyer),
        })
    }
}

impl EmulatorBuilder {
    /// Parses the public key of every configured authorized key.
    fn decode_authorized_keys(&self) -> Result<Vec<AuthorizedKey>, EmulatorError> {
        self.authorized_keys
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
            .collect()
    }
}

/// The `host:port` clients are told to use: `localhost` with TLS (the name a test certificate
/// carries), `127.0.0.1` for an unspecified listen address, otherwise the address itself.
fn advertised_address(addr: SocketAddr, tls: bool) -> String {
    let host = if tls {
        "localhost".to_owned()
    } else if addr.ip().is_unspecified() {
        "127.0.0.1".to_owned()
    } else {
        match addr.ip() {
            IpAddr::V6(ip) => format!("[{ip}]"),
            IpAddr::V4(ip) => ip.to_string(),
        }
    };
    format!("{host}:{}", addr.port())
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
