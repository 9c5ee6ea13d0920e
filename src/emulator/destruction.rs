//! Lockbox versions destroyed on time: at the earliest `destroy_at` of a version that still holds
//! its payload, the payload is dropped from memory and a state-file save is scheduled, so a
//! destroyed value is neither served nor written even when nothing else changes.

use std::sync::Arc;

use futures_util::future::Either;
use tokio::time::{Duration, Instant};

use super::Inner;
use crate::timestamp::unix_nanos;

/// Drops destroyed payloads as their times come, until aborted. A version scheduled (or a
/// schedule cancelled) wakes it through `Inner::destructions_changed` to look again.
pub(crate) async fn destroyer(inner: Arc<Inner>) {
    loop {
        // Created before the state is read, so a schedule made in between is not missed.
        let changed = inner.destructions_changed.notified();
        match inner.read(|state| state.lockbox.next_destruction()) {
            Some(at) => {
                let wait = unix_nanos(&at.into()) - unix_nanos(&inner.clock.now());
                let wait = Duration::from_nanos(u64::try_from(wait).unwrap_or(0));
                let deadline = Instant::now().checked_add(wait);
                let due = std::pin::pin!(sleep_until(deadline));
                let changed = std::pin::pin!(changed);
                if let Either::Left(_) = futures_util::future::select(due, changed).await {
                    let clock = &inner.clock;
                    let _ = inner.mutate(|state| {
                        state.lockbox.purge_destroyed(clock);
                        Ok(())
                    });
                }
            }
            None => changed.await,
        }
    }
}

/// Sleeps until `deadline`; forever when it is beyond what the timer can hold.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
