//! Request validation: the `yandex.cloud` field rules of the protos, checked before a request
//! leaves the process (and by the emulator when one arrives).
//!
//! The rules are not written here: `build.rs` reads them from the proto options and generates one
//! `impl Validate` per message, calling the checks below. The proto files stay the one source of
//! truth for what Yandex Cloud accepts.

use std::fmt;

/// A message whose fields can be checked against the rules its proto declares.
pub trait Validate {
    /// Checks every rule of this message and of the messages inside it; the first broken rule
    /// is returned.
    fn validate(&self) -> Result<(), Violation>;
}

/// A broken validation rule: which field, which rule, and what the rule asks for.
///
/// It never holds the offending value, which may be a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    field: String,
    rule: &'static str,
    expected: String,
    detail: String,
}

impl Violation {
    fn new(field: &str, rule: &'static str, expected: impl Into<String>, detail: impl Into<String>) -> Self {
        Violation {
            field: field.to_owned(),
            rule,
            expected: expected.into(),
            detail: detail.into(),
        }
    }

    /// The path of the field, such as `access_binding_deltas[0].access_binding.role_id`.
    pub fn field(&self) -> &str {
        &self.field
    }

    /// The rule's name as the proto option spells it: `required`, `length`, `pattern`, `size`,
    /// `value`, `unique`, `map_key` or `exactly_one`.
    pub fn rule(&self) -> &str {
        self.rule
    }

    /// What the rule asks for, as the proto option writes it (`<=50`, a pattern, a range).
    pub fn expected(&self) -> &str {
        &self.expected
    }

    /// The same violation seen from the message that holds this one in `field`.
    pub fn within(mut self, field: &str) -> Self {
        self.field = format!("{field}.{}", self.field);
        self
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid {}: {} (rule {}", self.field, self.detail, self.rule)?;
        if !self.expected.is_empty() {
            write!(f, " {}", self.expected)?;
        }
        f.write_str(")")
    }
}

impl std::error::Error for Violation {}

/// A `pattern` rule compiled by `build.rs`: the minimal DFA over bytes of `^(?:pattern)$`, as
/// the `regex` crate would run it, in tables. State 0 is dead and state 1 the start.
pub(crate) struct Pattern {
    /// The byte class of each byte: bytes in one class lead every state to the same state.
    pub(crate) classes: &'static [u8; 256],
    /// The number of classes: `next` holds one row of this many states per state.
    pub(crate) stride: usize,
    pub(crate) next: &'static [u16],
    /// Whether the whole value matches when it ends in this state.
    pub(crate) accept: &'static [bool],
}

impl Pattern {
    pub(crate) fn is_match(&self, value: &str) -> bool {
        let mut state = 1;
        for &byte in value.as_bytes() {
            state = usize::from(self.next[state * self.stride + usize::from(self.classes[usize::from(byte)])]);
            if state == 0 {
                return false;
            }
        }
        self.accept[state]
    }
}

/// The checks the generated impls call; each returns the violation it finds.
pub(crate) mod check {
    use std::collections::HashSet;

    use super::{Pattern, Violation};

    fn describe(min: Option<i64>, max: Option<i64>) -> String {
        match (min, max) {
            (Some(lo), Some(hi)) if lo == hi => format!("exactly {lo}"),
            (Some(lo), Some(hi)) => format!("between {lo} and {hi}"),
            (Some(lo), None) => format!("at least {lo}"),
            (None, Some(hi)) => format!("at most {hi}"),
            (None, None) => "any".into(),
        }
    }

    /// `Ok` when `n` is within the bounds; otherwise the violation `make` builds from the bounds
    /// in words.
    fn bounded(
        n: i64,
        min: Option<i64>,
        max: Option<i64>,
        make: impl FnOnce(String) -> Violation,
    ) -> Result<(), Violation> {
        if min.is_none_or(|lo| n >= lo) && max.is_none_or(|hi| n <= hi) {
            Ok(())
        } else {
            Err(make(describe(min, max)))
        }
    }

    pub(crate) fn required(field: &str, present: bool) -> Result<(), Violation> {
        if present {
            Ok(())
        } else {
            Err(Violation::new(field, "required", "", "is required"))
        }
    }

    /// Lengths count characters, as the API does, not bytes.
    pub(crate) fn length(
        field: &str,
        value: &str,
        min: Option<i64>,
        max: Option<i64>,
        rule: &str,
    ) -> Result<(), Violation> {
        // Byte length bounds the character count from above: most values skip the count.
        let fits_fast = max.is_some_and(|hi| value.len() as i64 <= hi) && min.is_none_or(|lo| lo <= 0);
        let n = if fits_fast {
            return Ok(());
        } else {
            value.chars().count() as i64
        };
        bounded(n, min, max, |bounds| {
            Violation::new(
                field,
                "length",
                rule,
                format!("length must be {bounds} characters, got {n}"),
            )
        })
    }

    pub(crate) fn pattern(field: &str, value: &str, re: &Pattern, rule: &str) -> Result<(), Violation> {
        if re.is_match(value) {
            Ok(())
        } else {
            Err(Violation::new(field, "pattern", rule, "must match the pattern"))
        }
    }

    pub(crate) fn map_key_length(
        field: &str,
        key: &str,
        min: Option<i64>,
        max: Option<i64>,
        rule: &str,
    ) -> Result<(), Violation> {
        length(field, key, min, max, rule).map_err(|v| Violation {
            rule: "map_key",
            detail: format!("key {}", v.detail),
            ..v
        })
    }

    pub(crate) fn map_key_pattern(field: &str, key: &str, re: &Pattern, rule: &str) -> Result<(), Violation> {
        pattern(field, key, re, rule).map_err(|v| Violation {
            rule: "map_key",
            detail: "key must match the pattern".into(),
            ..v
        })
    }

    /// What a bound on a count counts: a binary value's bytes (rule `length`) or the entries of a
    /// repeated or map field (rule `size`).
    #[derive(Debug, Clone, Copy)]
    pub(crate) enum Counted {
        Bytes,
        Entries,
    }

    pub(crate) fn count(
        field: &str,
        counted: Counted,
        len: usize,
        min: Option<i64>,
        max: Option<i64>,
        rule: &str,
    ) -> Result<(), Violation> {
        let n = len as i64;
        bounded(n, min, max, |bounds| match counted {
            Counted::Bytes => Violation::new(field, "length", rule, format!("length must be {bounds} bytes, got {n}")),
            Counted::Entries => Violation::new(field, "size", rule, format!("must have {bounds} entries, got {n}")),
        })
    }

    pub(crate) fn unique(field: &str, items: &[String]) -> Result<(), Violation> {
        let mut seen = HashSet::with_capacity(items.len());
        match items.iter().position(|item| !seen.insert(item.as_str())) {
            None => Ok(()),
            Some(i) => Err(Violation::new(
                field,
                "unique",
                "",
                format!("entries must be unique, entry {i} repeats one before it"),
            )),
        }
    }

    pub(crate) fn value(field: &str, n: i64, min: Option<i64>, max: Option<i64>, rule: &str) -> Result<(), Violation> {
        bounded(n, min, max, |bounds| {
            Violation::new(field, "value", rule, format!("must be {bounds}, got {n}"))
        })
    }

    pub(crate) fn timestamp(
        field: &str,
        value: Option<&prost_types::Timestamp>,
        min: (i64, i32),
        max: (i64, i32),
        rule: &str,
    ) -> Result<(), Violation> {
        let Some(t) = value else { return Ok(()) };
        let at = (t.seconds, t.nanos);
        if (0..1_000_000_000).contains(&t.nanos) && at >= min && at <= max {
            return Ok(());
        }
        Err(Violation::new(
            field,
            "value",
            rule,
            "must be a time between 1970-01-01 and 2105-12-31",
        ))
    }

    pub(crate) fn exactly_one(field: &str, present: bool, members: &str) -> Result<(), Violation> {
        if present {
            Ok(())
        } else {
            Err(Violation::new(
                field,
                "exactly_one",
                "",
                format!("exactly one of {members} must be set"),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::proto::PATTERNS;

    /// The generated matchers accept exactly what the `regex` crate accepts: every string of up
    /// to four characters over an alphabet that straddles each class edge, and random longer
    /// ones around the length bounds the patterns encode.
    #[test]
    fn generated_matchers_agree_with_regex() {
        const ALPHABET: &[char] = &['a', 'z', 'A', '0', '9', '-', '_', '.', '`', '{', '/', ':', 'é', ' '];
        assert!(!PATTERNS.is_empty());
        for (pattern, matcher) in PATTERNS {
            let re = regex::Regex::new(&format!("^(?:{pattern})$")).expect("a pattern build.rs accepted");
            let agree = |s: &str| assert_eq!(matcher.is_match(s), re.is_match(s), "{pattern:?} on {s:?}");
            let mut level = vec![String::new()];
            for _ in 0..=4 {
                let mut next = Vec::new();
                for s in &level {
                    agree(s);
                    next.extend(ALPHABET.iter().map(|c| format!("{s}{c}")));
                }
                level = next;
            }
            let mut rng = fastrand::Rng::with_seed(6);
            for _ in 0..20_000 {
                let len = rng.usize(0..80);
                // Mostly characters the patterns allow, so that long strings can match at all.
                let s: String = (0..len)
                    .map(|_| match rng.u8(0..20) {
                        0 => ALPHABET[rng.usize(..ALPHABET.len())],
                        1 => '-',
                        2 => '_',
                        3..=5 => rng.char('0'..='9'),
                        _ => rng.char('a'..='z'),
                    })
                    .collect();
                agree(&s);
            }
        }
    }
}
