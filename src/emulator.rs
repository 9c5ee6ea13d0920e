//! An in-memory emulator of Yandex Cloud IAM and resource-manager, served over gRPC from the same
//! generated stubs the client uses, faithful enough to test Yandex Cloud code offline in any language.
//!
//! It serves `ApiEndpointService` (pointing at itself), `IamTokenService`, `ServiceAccountService`,
//! `ApiKeyService`, `FolderService`, `CloudService`, Lockbox's `SecretService` and
//! `PayloadService`, and `OperationService`. Requests are validated
//! with the proto rules, callers must authenticate, mutations return operations that finish after a
//! configurable delay, `idempotency-key` is honoured, lists paginate with opaque tokens, and every
//! response carries `x-request-id` and `x-server-trace-id`. A cloud's quotas ([`Quota`]) are enforced
//! with Yandex Cloud's defaults unless the builder raises them. Tests can read the journal of received
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

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Duration;

mod auth;
mod builder;
mod clock;
mod destruction;
mod error;
mod errors;
mod fault;
mod ids;
mod inner;
mod journal;
mod key_pair;
mod layer;
mod page;
mod persist;
mod quota;
mod services;
mod snapshot;
mod state;

pub use builder::EmulatorBuilder;
pub use error::EmulatorError;
pub use fault::{ALL_METHODS, Fault};
pub use journal::JournalEntry;
pub use quota::Quota;
pub use snapshot::{ApiKeyState, Snapshot};

pub(crate) use auth::{EMULATOR_USER_ID, Principal};
pub(crate) use inner::{Inner, lock};
use journal::Recorded;
pub(crate) use quota::Quotas;

/// The bytes of a file that configures the emulator (an authorized key's JSON, a TLS certificate
/// or key), read as yc-iam reads every file a user names: a regular file of at most 1 MiB, so
/// that a named pipe cannot block the start and a device cannot fill memory.
pub fn read_file(path: &std::path::Path) -> Result<Vec<u8>, EmulatorError> {
    let error = |source: std::io::Error| EmulatorError::File {
        path: path.to_owned(),
        source: Box::new(source),
    };
    let bytes = crate::private_file::read_bytes(path, crate::private_file::TEXT_LIMIT)
        .map_err(error)?
        .ok_or_else(|| error(crate::private_file::missing()))?;
    Ok(bytes.to_vec())
}

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

/// A running emulator. Dropping it stops the server; [`Emulator::shutdown`] also waits for it and
/// saves the state file.
pub struct Emulator {
    addr: SocketAddr,
    endpoint: String,
    inner: Arc<Inner>,
    stop: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<()>>,
    saver: Option<JoinHandle<()>>,
    /// Purges destroyed Lockbox payloads on time.
    destroyer: Option<JoinHandle<()>>,
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

    /// The emulator's time now: what it stamps on what it creates and checks expiries against.
    pub fn now(&self) -> time::OffsetDateTime {
        crate::timestamp::from_timestamp(&self.inner.clock.now()).unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
    }

    /// Moves the emulator's clock forward by `by`, at once: issued IAM tokens, API keys and
    /// operations expire or finish on it, Lockbox versions are destroyed on it, and keys and
    /// accounts created afterwards are that much younger than the ones before. The real time
    /// goes on as well: the clock keeps running from there.
    pub fn advance(&self, by: Duration) {
        self.inner.clock.advance(by);
        self.clock_moved();
    }

    /// Sets the emulator's clock to `at` (forward or back); it keeps running from there.
    pub fn set_now(&self, at: time::OffsetDateTime) {
        self.inner.clock.set_now(at);
        self.clock_moved();
    }

    /// Saves the moved clock with the state, if there is a state file.
    fn clock_moved(&self) {
        if self.inner.state_file.is_some() {
            self.inner.changed.notify_one();
        }
        // A version may be due now, or later than the destroyer was waiting for.
        self.inner.destructions_changed.notify_one();
    }

    /// Suspends a service account, as the cloud does (the API has no call for it): it shows as
    /// `SUSPENDED` and its keys no longer authenticate. Returns whether the account exists.
    pub fn suspend_service_account(&self, service_account_id: &str) -> bool {
        self.inner
            .mutate(|state| match state.service_accounts.get_mut(service_account_id) {
                Some(account) => {
                    account.suspended = true;
                    Ok(true)
                }
                None => Ok(false),
            })
            .unwrap_or(false)
    }

    /// The current state, for audits.
    pub fn snapshot(&self) -> Snapshot {
        snapshot::take(&lock(&self.inner.state), &self.inner.clock)
    }

    /// Whether `secret` is the secret access key of the live static access key `key_id` (the
    /// AWS access key id): the check an S3-compatible service makes of a signed request.
    pub fn accepts_access_key(&self, key_id: &str, secret: &str) -> bool {
        let digest = state::sha256_hex(secret.as_bytes());
        lock(&self.inner.state)
            .keys
            .access
            .values()
            .any(|k| k.key_id == key_id && k.secret_sha256 == digest)
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
        if let Some(destroyer) = self.destroyer.take() {
            destroyer.abort();
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
        if let Some(destroyer) = self.destroyer.take() {
            destroyer.abort();
        }
    }
}
