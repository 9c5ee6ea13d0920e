//! The state shared by the services, the layer and the [`Emulator`](super::Emulator) handle.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Mutex, MutexGuard, PoisonError};

use http::HeaderMap;
use tokio::sync::Notify;
use tokio::time::Duration;
use tonic::Status;

use super::Quotas;
use super::auth::{self, AuthorizedKey, Principal};
use super::clock::Clock;
use super::fault::FaultTable;
use super::ids;
use super::journal::Recorded;
use super::state::State;

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
    /// How long a new access binding takes to take effect.
    pub(crate) binding_delay: Duration,
    pub(crate) poll_interval: Option<Duration>,
    /// What each cloud may hold.
    pub(crate) quotas: Quotas,
    /// `host:port` that `ApiEndpointService` hands out.
    pub(crate) advertised: String,
    /// Endpoint ids that `ApiEndpointService` points elsewhere, with their addresses.
    pub(crate) discovered: Vec<(String, String)>,
    /// Signalled after every change, for the state-file saver.
    pub(crate) changed: Notify,
    /// Signalled when a Lockbox version is scheduled for destruction or the schedule cancelled,
    /// for the task that purges destroyed payloads on time (`destruction::destroyer`).
    pub(crate) destructions_changed: Notify,
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

    /// Schedules a save (with a state file) after a change made under `lock(&self.state)` directly.
    pub(crate) fn note_change(&self) {
        if self.state_file.is_some() {
            self.changed.notify_one();
        }
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
