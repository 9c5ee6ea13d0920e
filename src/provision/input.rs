//! Parsers for the values people type: labels, subjects, timestamps, durations. Each error is one
//! phrase that says what was expected (the CLI prefixes it with the flag and the value); none
//! panics on any input.

use std::collections::BTreeMap;
use std::time::Duration;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// `k=v,k2=v2` (an empty string means no labels). The label rules themselves are checked with
/// the rest of the input.
pub fn parse_labels(text: &str) -> Result<BTreeMap<String, String>, String> {
    let mut labels = BTreeMap::new();
    if text.trim().is_empty() {
        return Ok(labels);
    }
    for pair in text.split(',') {
        let pair = pair.trim();
        let Some((key, value)) = pair.split_once('=') else {
            return Err(format!("expected key=value pairs separated by commas, got {pair:?}"));
        };
        let (key, value) = (key.trim(), value.trim());
        if key.is_empty() {
            return Err(format!("label {pair:?} has an empty key"));
        }
        if labels.insert(key.to_owned(), value.to_owned()).is_some() {
            return Err(format!("label key {key:?} is given twice"));
        }
    }
    super::check_labels("labels", &labels).map_err(|e| format!("{}: {}", e.value, e.rule))?;
    Ok(labels)
}

/// A subject as `TYPE:ID`, parsed by [`parse_subject`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectArg {
    /// The subject type: `serviceAccount`, `userAccount`, `federatedUser`, `group` or `system`.
    pub kind: String,
    /// The subject id (for `system`, e.g. `allUsers` or `group:organization:<id>:users`).
    pub id: String,
}

const SUBJECT_TYPES: &str = "serviceAccount, userAccount, federatedUser, group, system";

/// `serviceAccount:<id>`, `userAccount:<id>`, `federatedUser:<id>`, `group:<id>`,
/// `system:allUsers`, `system:allAuthenticatedUsers`, `system:group:organization:<id>:users`,
/// `system:group:federation:<id>:users`.
pub fn parse_subject(text: &str) -> Result<SubjectArg, String> {
    let Some((kind, id)) = text.split_once(':') else {
        return Err(format!("expected TYPE:ID with TYPE one of {SUBJECT_TYPES}"));
    };
    let plain_id = |id: &str| -> Result<(), String> {
        if id.is_empty() {
            return Err(format!("the {kind} id is empty"));
        }
        if id.len() > 100 {
            return Err("the id is longer than 100 characters".into());
        }
        if let Some(c) = id
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_' || *c == '@' || *c == '.'))
        {
            return Err(format!(
                "the id may contain only Latin letters, digits, '-', '_', '.' and '@', not {c:?}"
            ));
        }
        Ok(())
    };
    match kind {
        "serviceAccount" | "userAccount" | "federatedUser" | "group" => plain_id(id)?,
        "system" => {
            let ok = match id {
                "allUsers" | "allAuthenticatedUsers" => true,
                _ => match id.strip_prefix("group:").and_then(|rest| rest.strip_suffix(":users")) {
                    Some(inner) => match inner.split_once(':') {
                        Some(("organization" | "federation", org)) => {
                            plain_id(org).map_err(|e| format!("in {id:?}: {e}"))?;
                            true
                        }
                        _ => false,
                    },
                    None => false,
                },
            };
            if !ok {
                return Err(
                    "system subjects are allUsers, allAuthenticatedUsers, group:organization:<id>:users, group:federation:<id>:users"
                        .into(),
                );
            }
        }
        other => {
            return Err(format!(
                "unknown subject type {other:?}; expected one of {SUBJECT_TYPES}"
            ));
        }
    }
    Ok(SubjectArg {
        kind: kind.to_owned(),
        id: id.to_owned(),
    })
}

/// An RFC 3339 timestamp such as `2030-01-01T00:00:00Z`.
pub fn parse_timestamp(text: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(text.trim(), &Rfc3339)
        .map_err(|_| "expected an RFC 3339 time such as 2030-01-01T00:00:00Z".to_owned())
}

/// A duration: one or more `<number><unit>` with units `s`, `m`, `h`, `d`, `w` (`90d`, `1h30m`).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let expected = || "expected a duration such as 90d, 12h, 30m or 1h30m".to_owned();
    let text = text.trim();
    if text.is_empty() {
        return Err(expected());
    }
    let mut total: u64 = 0;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit: u64 = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return Err(expected()),
        };
        let n: u64 = number.parse().map_err(|_| expected())?;
        number.clear();
        total = n
            .checked_mul(unit)
            .and_then(|s| total.checked_add(s))
            .ok_or("the duration is too long")?;
    }
    if !number.is_empty() {
        return Err(format!("{} (a unit is missing after {number})", expected()));
    }
    if total == 0 {
        return Err("the duration must be longer than zero".into());
    }
    if total > 100 * 366 * 86_400 {
        return Err("the duration is too long (at most 100 years)".into());
    }
    Ok(Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_parse_and_bad_ones_say_why() {
        let l = parse_labels("env=prod, team=ml").unwrap();
        assert_eq!(l.get("team").map(String::as_str), Some("ml"));
        assert!(parse_labels("").unwrap().is_empty());
        assert!(parse_labels("env").unwrap_err().contains("key=value"));
        assert!(parse_labels("a=1,a=2").unwrap_err().contains("given twice"));
        assert!(parse_labels("Env=x").unwrap_err().contains("lowercase"));
        assert!(parse_labels("=x").unwrap_err().contains("empty key"));
    }

    #[test]
    fn subjects_of_every_kind_parse() {
        for ok in [
            "serviceAccount:ajeabc",
            "userAccount:aje1",
            "federatedUser:x_y",
            "group:g1",
            "system:allUsers",
            "system:allAuthenticatedUsers",
            "system:group:organization:bpf123:users",
            "system:group:federation:fed1:users",
        ] {
            assert!(parse_subject(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ajeabc",
            "robot:x",
            "serviceAccount:",
            "system:everyone",
            "system:group:organization::users",
            "group:a b",
        ] {
            assert!(parse_subject(bad).is_err(), "{bad}");
        }
        let s = parse_subject("system:group:organization:bpf123:users").unwrap();
        assert_eq!(
            (s.kind.as_str(), s.id.as_str()),
            ("system", "group:organization:bpf123:users")
        );
    }

    #[test]
    fn durations_and_timestamps() {
        assert_eq!(parse_duration("90d").unwrap(), Duration::from_secs(90 * 86_400));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        for bad in ["", "90", "d", "0s", "12x", "-1h", "99999999999999999999d", "1.5h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert!(parse_timestamp("2030-01-01T00:00:00Z").is_ok());
        assert!(parse_timestamp("2030-01-01").is_err());
        assert!(parse_timestamp("tomorrow").is_err());
    }
}

#[cfg(test)]
mod no_panic {
    use super::*;

    /// Random strings over an alphabet rich in separators and edge characters never panic a parser.
    #[test]
    fn parsers_never_panic_on_random_input() {
        let alphabet: Vec<char> = "az09:=,.-_ \t\n\"'\\/@{}[]é😀dhmswT+Z".chars().collect();
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..20_000 {
            let len = rng.usize(0..40);
            let s: String = (0..len).map(|_| alphabet[rng.usize(..alphabet.len())]).collect();
            let _ = parse_labels(&s);
            let _ = parse_subject(&s);
            let _ = parse_timestamp(&s);
            let _ = parse_duration(&s);
            let _ = crate::provision::check_service_account_name("name", &s);
            let _ = crate::provision::check_role("role", &s);
            let _ = crate::provision::check_id("id", &s);
            let _ = crate::provision::StoredKey::from_yaml(&s);
            let _ = crate::config::YcConfig::parse(&s, std::path::Path::new("c.yaml"));
        }
        let _ = parse_duration(&"9".repeat(400));
    }
}
