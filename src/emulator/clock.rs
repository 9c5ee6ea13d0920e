//! Wall-clock timestamps derived from `tokio::time`, so paused-time tests see consistent times.

use prost_types::Timestamp;
use tokio::time::{Duration, Instant};

use crate::timestamp::{from_unix_nanos, unix_nanos};

/// The wall-clock time read once at start, advanced by the tokio clock afterwards.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    start_unix_nanos: i128,
    start: Instant,
}

impl Clock {
    pub(crate) fn new() -> Self {
        Self {
            start_unix_nanos: time::OffsetDateTime::now_utc().unix_timestamp_nanos(),
            start: Instant::now(),
        }
    }

    /// Current time as a protobuf timestamp.
    pub(crate) fn now(&self) -> Timestamp {
        self.at(Instant::now())
    }

    /// The wall-clock time of a tokio instant.
    pub(crate) fn at(&self, instant: Instant) -> Timestamp {
        let elapsed = instant.saturating_duration_since(self.start).as_nanos() as i128;
        from_unix_nanos(self.start_unix_nanos + elapsed)
    }

    /// Whether a wall-clock time has passed.
    pub(crate) fn is_past(&self, ts: &Timestamp) -> bool {
        unix_nanos(ts) <= unix_nanos(&self.now())
    }
}

/// `ts` plus `d`.
pub(crate) fn add(ts: &Timestamp, d: Duration) -> Timestamp {
    from_unix_nanos(unix_nanos(ts).saturating_add(d.as_nanos() as i128))
}
