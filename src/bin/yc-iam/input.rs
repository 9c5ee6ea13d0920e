//! Parsers for the values people type into flags: labels, subjects, timestamps, durations. clap
//! calls them and prefixes each error with the flag and the value; the error itself is one phrase
//! saying what was expected. None panics on any input. The library takes the typed values.

use std::collections::BTreeMap;
use std::time::Duration;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// `k=v,k2=v2` (an empty string means no labels). The label rules themselves are checked with
/// the rest of the input.
pub(crate) fn parse_labels(text: &str) -> Result<BTreeMap<String, String>, String> {
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
    yc_iam::provision::check_labels("labels", &labels).map_err(|e| format!("{}: {}", e.value, e.rule))?;
    Ok(labels)
}

/// A subject as `TYPE:ID`, parsed by [`parse_subject`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SubjectArg {
    /// The subject type: `serviceAccount`, `userAccount`, `federatedUser`, `group` or `system`.
    pub(crate) kind: String,
    /// The subject id (for `system`, e.g. `allUsers` or `group:organization:<id>:users`).
    pub(crate) id: String,
}

const SUBJECT_TYPES: &str = "serviceAccount, userAccount, federatedUser, group, system";

/// `serviceAccount:<id>`, `userAccount:<id>`, `federatedUser:<id>`, `group:<id>`,
/// `system:allUsers`, `system:allAuthenticatedUsers`, `system:group:organization:<id>:users`,
/// `system:group:federation:<id>:users`.
pub(crate) fn parse_subject(text: &str) -> Result<SubjectArg, String> {
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

/// Where `provision --output` puts the key.
pub(crate) use yc_iam::provision::SinkAddress as OutputArg;

/// `PATH`, `env:PATH`, `k8s:PATH`, `lockbox://NAME` (or ID) or `-`.
/// `--key-type`: `api-key`, `authorized-key` or `static-key`.
pub(crate) fn parse_key_type(text: &str) -> Result<yc_iam::provision::KeyType, String> {
    yc_iam::provision::KeyType::from_name(text)
        .ok_or_else(|| "must be api-key, authorized-key or static-key".to_owned())
}

/// `--key-algorithm`: `rsa-2048` or `rsa-4096`.
pub(crate) fn parse_key_algorithm(text: &str) -> Result<yc_iam::provision::KeyAlgorithm, String> {
    use yc_iam::provision::KeyAlgorithm;
    match text {
        "rsa-2048" => Ok(KeyAlgorithm::Rsa2048),
        "rsa-4096" => Ok(KeyAlgorithm::Rsa4096),
        _ => Err("must be rsa-2048 or rsa-4096".to_owned()),
    }
}

pub(crate) fn parse_output(text: &str) -> Result<OutputArg, String> {
    text.parse()
        .map_err(|e: yc_iam::provision::InvalidSinkAddress| e.to_string())
}

/// Which of a sink's three entries `--entry` renames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EntryRole {
    ApiKey,
    ApiKeyId,
    FolderId,
}

/// `api-key=NAME`, `api-key-id=NAME` or `folder-id=NAME`; the name's rule depends on the output
/// and is checked with the rest of the input.
pub(crate) fn parse_entry(text: &str) -> Result<(EntryRole, String), String> {
    let expected = "expected api-key=NAME, api-key-id=NAME or folder-id=NAME";
    let (role, name) = text.split_once('=').ok_or(expected)?;
    let role = match role.trim() {
        "api-key" => EntryRole::ApiKey,
        "api-key-id" => EntryRole::ApiKeyId,
        "folder-id" => EntryRole::FolderId,
        _ => return Err(expected.to_owned()),
    };
    if name.is_empty() {
        return Err("the entry name is empty".to_owned());
    }
    Ok((role, name.to_owned()))
}

/// One of the flags `yc-iam audit` raises (`unused`, `expiring`, …).
pub(crate) fn parse_audit_flag(text: &str) -> Result<yc_iam::audit::Flag, String> {
    text.parse().map_err(|e: yc_iam::audit::UnknownFlag| e.to_string())
}

/// An RFC 3339 timestamp such as `2030-01-01T00:00:00Z`.
pub(crate) fn parse_timestamp(text: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(text.trim(), &Rfc3339)
        .map_err(|_| "expected an RFC 3339 time such as 2030-01-01T00:00:00Z".to_owned())
}

/// The duration grammar of every flag ([`yc_iam::duration::parse`]).
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    yc_iam::duration::parse(text).map_err(|e| e.to_string())
}

/// A duration longer than zero (`--timeout`, `--expires-in`).
pub(crate) fn parse_positive_duration(text: &str) -> Result<Duration, String> {
    yc_iam::duration::parse_positive(text).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_name_their_sink() {
        use std::path::PathBuf;
        assert_eq!(parse_output("-"), Ok(OutputArg::Stdout));
        assert_eq!(parse_output("k.yaml"), Ok(OutputArg::File(PathBuf::from("k.yaml"))));
        assert_eq!(parse_output("env:.env"), Ok(OutputArg::Env(PathBuf::from(".env"))));
        assert_eq!(parse_output("k8s:s.yaml"), Ok(OutputArg::K8s(PathBuf::from("s.yaml"))));
        assert_eq!(
            parse_output("lockbox://ai-key"),
            Ok(OutputArg::Lockbox("ai-key".into()))
        );
        for bad in ["", "env:", "k8s:", "lockbox://", "lockbox:ai-key"] {
            assert!(parse_output(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_entry("api-key=KEY"), Ok((EntryRole::ApiKey, "KEY".into())));
        assert!(parse_entry("secret=KEY").is_err() && parse_entry("api-key=").is_err());
    }

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
    fn every_duration_flag_reads_one_grammar() {
        let cases = [
            ("200ms", Duration::from_millis(200)),
            ("30s", Duration::from_secs(30)),
            ("5m", Duration::from_secs(300)),
            ("12h", Duration::from_secs(12 * 3600)),
            ("90d", Duration::from_secs(90 * 86_400)),
            ("1w", Duration::from_secs(604_800)),
            ("1h30m", Duration::from_secs(5400)),
            ("1s500ms", Duration::from_millis(1500)),
            (" 2m ", Duration::from_secs(120)),
            ("0s", Duration::ZERO),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_duration(text), Ok(expected), "{text}");
        }
        for bad in [
            "",
            "90",
            "d",
            "12x",
            "-1h",
            "1.5h",
            "1 h",
            "5mss",
            "99999999999999999999d",
            "5300w",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_duration("12x"),
            Err("expected a duration such as 200ms, 30s, 5m, 12h, 90d, 1w or 1h30m".to_owned())
        );
        assert!(
            parse_duration("90")
                .unwrap_err()
                .ends_with("(a unit is missing after 90)")
        );
        assert_eq!(
            parse_positive_duration("0s0ms"),
            Err("the duration must be longer than zero".to_owned())
        );
        assert_eq!(parse_positive_duration("1ms"), Ok(Duration::from_millis(1)));
    }

    #[test]
    fn timestamps_are_rfc_3339_with_a_zone() {
        assert!(parse_timestamp("2030-01-01T00:00:00Z").is_ok());
        assert!(parse_timestamp("2030-01-01").is_err());
        assert!(parse_timestamp("tomorrow").is_err());
    }

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
            let _ = parse_positive_duration(&s);
        }
        assert!(parse_duration(&"9".repeat(400)).is_err());
    }
}

#[cfg(test)]
mod props;
