//! The one duration grammar of yc-iam: flags (`--timeout 30s`, `--expires-in 90d`) and the fleet
//! manifest (`rotate_after: 60d`) read durations the same way, with the same error words.

use std::time::Duration;

/// What every duration expects; the same words wherever the duration is wrong.
const EXPECTED: &str = "expected a duration such as 200ms, 30s, 5m, 12h, 90d, 1w or 1h30m";

/// The longest duration accepted: 100 years.
const MAX: Duration = Duration::from_secs(100 * 366 * 86_400);

/// Text that is not a duration, with the reason as one phrase.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidDuration(String);

/// One or more `<whole number><unit>` with units `ms`, `s`, `m`, `h`, `d` (24 h) and `w` (7 d),
/// added up (`200ms`, `90d`, `1h30m`), at most 100 years. Zero is a duration (`0s`); where a
/// positive one is needed, use [`parse_positive`].
pub fn parse(text: &str) -> Result<Duration, InvalidDuration> {
    let fail = |reason: String| Err(InvalidDuration(reason));
    let text = text.trim();
    if text.is_empty() {
        return fail(EXPECTED.to_owned());
    }
    let mut total = Duration::ZERO;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        let (number, tail) = rest.split_at(digits);
        if number.is_empty() {
            return fail(EXPECTED.to_owned());
        }
        let unit_len = tail.find(|c: char| c.is_ascii_digit()).unwrap_or(tail.len());
        let (unit, tail) = tail.split_at(unit_len);
        let unit = match unit {
            "ms" => Duration::from_millis(1),
            "s" => Duration::from_secs(1),
            "m" => Duration::from_secs(60),
            "h" => Duration::from_secs(3600),
            "d" => Duration::from_secs(86_400),
            "w" => Duration::from_secs(604_800),
            "" => return fail(format!("{EXPECTED} (a unit is missing after {number})")),
            _ => return fail(EXPECTED.to_owned()),
        };
        // More digits than a u32 holds is already far beyond the limit.
        let too_long = || InvalidDuration("the duration is too long (at most 100 years)".to_owned());
        let n: u32 = number.parse().map_err(|_| too_long())?;
        total = unit
            .checked_mul(n)
            .and_then(|part| total.checked_add(part))
            .filter(|total| *total <= MAX)
            .ok_or_else(too_long)?;
        rest = tail;
    }
    Ok(total)
}

/// An age (or any duration) as people read it in a plan or a table: whole days, or hours under
/// a day, or minutes under an hour (`61d`, `3h`, `0m`). Audits and fleet plans show ages this way.
pub fn age_text(age: Duration) -> String {
    let secs = age.as_secs();
    match secs {
        0..3600 => format!("{}m", secs / 60),
        3600..86_400 => format!("{}h", secs / 3600),
        _ => format!("{}d", secs / 86_400),
    }
}

/// `d` in the grammar of [`parse`], in days and smaller units (`90d`, `1h30m`, `0s`): text that
/// [`parse`] reads back as `d`, to the millisecond.
pub fn format(d: Duration) -> String {
    const UNITS: [(&str, u128); 5] = [
        ("d", 86_400_000),
        ("h", 3_600_000),
        ("m", 60_000),
        ("s", 1_000),
        ("ms", 1),
    ];
    let mut rest = d.as_millis();
    let mut text = String::new();
    for (unit, millis) in UNITS {
        if rest >= millis {
            text.push_str(&format!("{}{unit}", rest / millis));
            rest %= millis;
        }
    }
    if text.is_empty() { "0s".to_owned() } else { text }
}

/// A duration in the grammar of [`parse`] that is longer than zero (`--timeout`, `expires_in`).
pub fn parse_positive(text: &str) -> Result<Duration, InvalidDuration> {
    match parse(text)? {
        Duration::ZERO => Err(InvalidDuration("the duration must be longer than zero".to_owned())),
        duration => Ok(duration),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_in_the_largest_whole_unit() {
        assert_eq!(age_text(Duration::from_secs(59)), "0m");
        assert_eq!(age_text(Duration::from_secs(30 * 60)), "30m");
        assert_eq!(age_text(Duration::from_secs(3 * 3600 + 5)), "3h");
        assert_eq!(age_text(Duration::from_secs(100 * 86_400 + 7)), "100d");
    }

    #[test]
    fn a_formatted_duration_reads_back_as_itself() {
        for text in ["0s", "90d", "1h30m", "14d", "2d3h4m5s6ms", "24h"] {
            let d = parse(text).expect(text);
            assert_eq!(parse(&format(d)), Ok(d), "{text}");
        }
        assert_eq!(format(Duration::from_secs(86_400)), "1d");
        assert_eq!(format(Duration::from_secs(5400)), "1h30m");
    }
}
