//! The emulator's one clock: every time it stamps (`created_at`, `last_used_at`, an operation's
//! end, a Lockbox `destroy_at`) and every expiry it checks (IAM tokens, API keys, operations,
//! version destruction) is read here.
//!
//! It is the wall-clock time read once at start, advanced by the tokio clock (so paused-time tests
//! see consistent times), plus a shift that tests and `yc-iam emulator --start-time` set: rotation
//! by age and audits by use are testable without waiting.

use std::sync::atomic::{AtomicI64, Ordering};

use prost_types::Timestamp;
use time::OffsetDateTime;
use tokio::time::{Duration, Instant};

use crate::timestamp::{from_unix_nanos, unix_nanos};

/// The emulator's time: real time since start, moved by a shift.
#[derive(Debug)]
pub(crate) struct Clock {
    start_unix_nanos: i128,
    start: Instant,
    /// Nanoseconds the emulator's time runs ahead of the real time (negative: behind).
    shift_nanos: AtomicI64,
}

impl Clock {
    /// A clock on the real time, moved by `shift_nanos`.
    pub(crate) fn new(shift_nanos: i64) -> Self {
        Self {
            start_unix_nanos: OffsetDateTime::now_utc().unix_timestamp_nanos(),
            start: Instant::now(),
            shift_nanos: AtomicI64::new(shift_nanos),
        }
    }

    /// Current time as a protobuf timestamp.
    pub(crate) fn now(&self) -> Timestamp {
        from_unix_nanos(self.real_nanos() + i128::from(self.shift()))
    }

    /// The real time (the clock without its shift), for times the caller's own clock wrote: a
    /// service-account JWT's `iat` and `exp` come from the signer's clock, which moving the
    /// emulator's clock does not move.
    pub(crate) fn real_now(&self) -> Timestamp {
        from_unix_nanos(self.real_nanos())
    }

    fn real_nanos(&self) -> i128 {
        let elapsed = Instant::now().saturating_duration_since(self.start).as_nanos() as i128;
        self.start_unix_nanos + elapsed
    }

    /// How far the emulator's time runs ahead of the real time, in nanoseconds.
    pub(crate) fn shift(&self) -> i64 {
        self.shift_nanos.load(Ordering::Acquire)
    }

    /// Moves the clock forward by `by` (saturating at about 292 years of shift).
    pub(crate) fn advance(&self, by: Duration) {
        let by = i64::try_from(by.as_nanos()).unwrap_or(i64::MAX);
        let _ = self
            .shift_nanos
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| Some(s.saturating_add(by)));
    }

    /// Sets the clock so that it reads `at` now (forward or back; saturating as `advance`).
    pub(crate) fn set_now(&self, at: OffsetDateTime) {
        self.shift_nanos
            .store(shift_to(at, self.real_nanos()), Ordering::Release);
    }

    /// Whether a wall-clock time has passed.
    pub(crate) fn is_past(&self, ts: &Timestamp) -> bool {
        unix_nanos(ts) <= unix_nanos(&self.now())
    }
}

/// The shift that makes a clock reading `real_nanos` read `at`.
pub(crate) fn shift_to(at: OffsetDateTime, real_nanos: i128) -> i64 {
    let shift = at.unix_timestamp_nanos() - real_nanos;
    i64::try_from(shift).unwrap_or(if shift < 0 { i64::MIN } else { i64::MAX })
}

/// The shift that makes a clock started now read `at`.
pub(crate) fn shift_from_now_to(at: OffsetDateTime) -> i64 {
    shift_to(at, OffsetDateTime::now_utc().unix_timestamp_nanos())
}

/// `ts` plus `d`.
pub(crate) fn add(ts: &Timestamp, d: Duration) -> Timestamp {
    from_unix_nanos(unix_nanos(ts).saturating_add(d.as_nanos() as i128))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seconds(ts: &Timestamp) -> i64 {
        ts.seconds
    }

    #[tokio::test]
    async fn advancing_moves_the_time_and_not_the_real_time() {
        let clock = Clock::new(0);
        let before = seconds(&clock.now());
        clock.advance(Duration::from_secs(100 * 86_400));
        let after = seconds(&clock.now());
        assert!((after - before - 100 * 86_400).abs() <= 1, "{before} → {after}");
        assert!((seconds(&clock.real_now()) - before).abs() <= 1);
    }

    #[tokio::test]
    async fn set_now_goes_back_as_well_as_forward() {
        let clock = Clock::new(0);
        let past = time::macros::datetime!(2020-01-01 00:00 UTC);
        clock.set_now(past);
        assert!((seconds(&clock.now()) - past.unix_timestamp()).abs() <= 1);
        assert!(clock.shift() < 0);
        clock.advance(Duration::from_secs(60));
        assert!((seconds(&clock.now()) - past.unix_timestamp() - 60).abs() <= 1);
    }

    #[tokio::test]
    async fn a_shift_beyond_the_range_saturates() {
        let clock = Clock::new(i64::MAX - 5);
        clock.advance(Duration::from_secs(10));
        assert_eq!(clock.shift(), i64::MAX);
    }
}
