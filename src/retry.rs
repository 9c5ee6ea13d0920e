//! When and how long to wait before trying a failed call again.
//!
//! The policy is a value the client holds; the call loop asks it for a decision after every
//! failed attempt. Only transient failures (`UNAVAILABLE`, `RESOURCE_EXHAUSTED`, a broken
//! connection) are retried, and only for calls that are safe to repeat: reads, and mutations that
//! carry an `idempotency-key`.

use std::time::Duration;

use crate::Error;

/// How failed calls are retried: bounded attempts and total time, exponential backoff with
/// jitter, and the server's `google.rpc.RetryInfo` delay when it sends one.
///
/// ```
/// use std::time::Duration;
/// let policy = yc_iam::RetryPolicy::default()
///     .with_max_attempts(5)
///     .with_initial_backoff(Duration::from_millis(100))
///     .with_total_timeout(Duration::from_secs(30));
/// assert_eq!(policy.max_attempts(), 5);
/// assert_eq!(yc_iam::RetryPolicy::disabled().max_attempts(), 1);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    max_attempts: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    multiplier: f64,
    total_timeout: Duration,
}

impl Default for RetryPolicy {
    /// Five attempts, backoff from 200 ms doubling up to 10 s, at most 60 s in all.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
            multiplier: 2.0,
            total_timeout: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries: every call makes exactly one attempt.
    pub fn disabled() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// The number of attempts, the first included (at least 1).
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The backoff before the first retry; later ones grow by the multiplier.
    pub fn with_initial_backoff(mut self, backoff: Duration) -> Self {
        self.initial_backoff = backoff;
        self
    }

    /// The longest backoff between two attempts (a `RetryInfo` delay may be longer).
    pub fn with_max_backoff(mut self, backoff: Duration) -> Self {
        self.max_backoff = backoff;
        self
    }

    /// The factor the backoff grows by after each attempt (at least 1).
    pub fn with_multiplier(mut self, multiplier: f64) -> Self {
        self.multiplier = if multiplier.is_finite() {
            multiplier.max(1.0)
        } else {
            1.0
        };
        self
    }

    /// The time budget for all attempts of one call together; no retry starts after it.
    pub fn with_total_timeout(mut self, timeout: Duration) -> Self {
        self.total_timeout = timeout;
        self
    }

    /// The number of attempts, the first included.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The time budget for all attempts of one call.
    pub fn total_timeout(&self) -> Duration {
        self.total_timeout
    }

    /// The backoff before retry number `retry` (1-based) without jitter.
    fn backoff(&self, retry: u32) -> Duration {
        let factor = self.multiplier.powi(retry.saturating_sub(1).min(64) as i32);
        let secs = (self.initial_backoff.as_secs_f64() * factor).min(self.max_backoff.as_secs_f64());
        Duration::try_from_secs_f64(secs).unwrap_or(self.max_backoff)
    }

    /// The decision after a failed attempt: how long to wait before the next one, or `None` to
    /// give up. `attempts` is the number made so far, `elapsed` the time since the first began.
    pub(crate) fn next_delay(&self, err: &Error, attempts: u32, elapsed: Duration) -> Option<Duration> {
        if attempts >= self.max_attempts || !err.is_retryable() {
            return None;
        }
        let delay = match err.retry_delay() {
            Some(server) => server,
            None => {
                // "Equal jitter": half the backoff fixed, half random, so retries spread out.
                let base = self.backoff(attempts);
                let half = base / 2;
                half + half.mul_f64(fastrand::f64())
            }
        };
        // A server's RetryInfo delay may be anything: no overflow.
        (elapsed.saturating_add(delay) <= self.total_timeout).then_some(delay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy::default()
            .with_initial_backoff(Duration::from_millis(100))
            .with_max_backoff(Duration::from_millis(350));
        assert_eq!(p.backoff(1), Duration::from_millis(100));
        assert_eq!(p.backoff(2), Duration::from_millis(200));
        assert_eq!(p.backoff(3), Duration::from_millis(350));
    }

    #[test]
    fn only_transient_errors_are_retried() {
        let p = RetryPolicy::default();
        let unavailable = Error::new(ErrorKind::Unavailable, "x", "y").with_code(tonic::Code::Unavailable);
        let not_found = Error::new(ErrorKind::NotFound, "x", "y").with_code(tonic::Code::NotFound);
        assert!(p.next_delay(&unavailable, 1, Duration::ZERO).is_some());
        assert!(p.next_delay(&not_found, 1, Duration::ZERO).is_none());
        assert!(p.next_delay(&unavailable, 5, Duration::ZERO).is_none());
        assert!(
            RetryPolicy::disabled()
                .next_delay(&unavailable, 1, Duration::ZERO)
                .is_none()
        );
    }
}
