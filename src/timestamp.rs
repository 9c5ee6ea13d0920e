//! The one conversion between the wire's `google.protobuf.Timestamp` and the times the library
//! and the emulator compute with, and the one way a span is added to or taken from such a time.
//! Times from a server, and spans from a caller, are checked, never trusted to be in range: `time`
//! panics when a sum leaves its years (-9999 to 9999), so no plain `+` or `-` is used on them.

use prost_types::Timestamp;
use time::OffsetDateTime;

const NANOS_PER_SECOND: i128 = 1_000_000_000;

/// `at` as a proto `Timestamp`.
pub fn to_timestamp(at: OffsetDateTime) -> Timestamp {
    from_unix_nanos(at.unix_timestamp_nanos())
}

/// The time a proto `Timestamp` names; `None` when it is outside what `OffsetDateTime` can hold
/// (a server may send anything).
pub fn from_timestamp(ts: &Timestamp) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(unix_nanos(ts)).ok()
}

/// Nanoseconds since the Unix epoch (exact for every `Timestamp`, whatever its fields hold).
pub(crate) fn unix_nanos(ts: &Timestamp) -> i128 {
    i128::from(ts.seconds) * NANOS_PER_SECOND + i128::from(ts.nanos)
}

/// The `Timestamp` `nanos` after the Unix epoch, normalized (0 ≤ nanos < 10⁹); saturates at the
/// ends of the `i64` range of seconds.
pub(crate) fn from_unix_nanos(nanos: i128) -> Timestamp {
    let seconds = nanos.div_euclid(NANOS_PER_SECOND);
    Timestamp {
        seconds: i64::try_from(seconds).unwrap_or(if seconds < 0 { i64::MIN } else { i64::MAX }),
        // In 0..10⁹ by construction.
        nanos: nanos.rem_euclid(NANOS_PER_SECOND) as i32,
    }
}

/// `at` plus `span`, or `None` past the last time there is.
pub(crate) fn later(at: OffsetDateTime, span: std::time::Duration) -> Option<OffsetDateTime> {
    at.checked_add(time::Duration::try_from(span).ok()?)
}

/// `at` minus `span`, or `None` before the first time there is.
pub(crate) fn earlier(at: OffsetDateTime, span: std::time::Duration) -> Option<OffsetDateTime> {
    at.checked_sub(time::Duration::try_from(span).ok()?)
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn a_time_survives_the_round_trip_to_the_nanosecond() {
        let at = datetime!(2027-03-04 05:06:07.123456789 UTC);
        assert_eq!(
            to_timestamp(at),
            Timestamp {
                seconds: at.unix_timestamp(),
                nanos: 123_456_789
            }
        );
        assert_eq!(from_timestamp(&to_timestamp(at)), Some(at));
        let before_1970 = datetime!(1969-12-31 23:59:59.5 UTC);
        assert_eq!(
            to_timestamp(before_1970),
            Timestamp {
                seconds: -1,
                nanos: 500_000_000
            }
        );
    }

    #[test]
    fn timestamps_out_of_range_are_none_not_a_panic() {
        for ts in [
            Timestamp {
                seconds: i64::MAX,
                nanos: i32::MAX,
            },
            Timestamp {
                seconds: i64::MIN,
                nanos: i32::MIN,
            },
        ] {
            assert_eq!(from_timestamp(&ts), None);
            // The nanoseconds carry past the end of the seconds' range: saturated, not wrapped.
            assert_eq!(from_unix_nanos(unix_nanos(&ts)).seconds, ts.seconds);
        }
    }

    #[test]
    fn a_span_past_either_end_of_time_is_none_not_a_panic() {
        let span = std::time::Duration::from_secs(100 * 86_400);
        let end = datetime!(9999-12-30 00:00 UTC);
        let start = datetime!(-9999-01-02 00:00 UTC);
        assert_eq!(later(end, span), None);
        assert_eq!(earlier(start, span), None);
        assert_eq!(later(start, span), start.checked_add(time::Duration::days(100)));
        assert_eq!(later(end, std::time::Duration::MAX), None);
    }
}
