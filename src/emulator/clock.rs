//! Wall-clock timestamps derived from `tokio::time`, so paused-time tests see consistent times.

use prost_types::Timestamp;
use tokio::time::{Duration, Instant};

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
        from_nanos(self.start_unix_nanos + elapsed)
    }

    /// Whether a wall-clock time has passed.
    pub(crate) fn is_past(&self, ts: &Timestamp) -> bool {
        to_nanos(ts) <= to_nanos(&self.now())
    }
}

/// Nanoseconds since the Unix epoch.
pub(crate) fn to_nanos(ts: &Timestamp) -> i128 {
    i128::from(ts.seconds) * 1_000_000_000 + i128::from(ts.nanos)
}

fn from_nanos(nanos: i128) -> Timestamp {
    let seconds = nanos.div_euclid(1_000_000_000);
    let nanos = nanos.rem_euclid(1_000_000_000);
    Timestamp {
        seconds: i64::try_from(seconds).unwrap_or(i64::MAX),
        nanos: i32::try_from(nanos).unwrap_or(0),
    }
}

/// `ts` plus `d`.
pub(crate) fn add(ts: &Timestamp, d: Duration) -> Timestamp {
    from_nanos(to_nanos(ts) + d.as_nanos() as i128)
}
