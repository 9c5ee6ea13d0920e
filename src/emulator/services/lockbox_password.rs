//! Generated Lockbox secrets: the value a `PasswordPayloadSpecification` asks for, drawn from the
//! operating system's generator. Each character class is on unless turned off; the punctuation is
//! the ASCII set, or only `included_punctuation`, or the set without `excluded_punctuation`.

use tonic::Status;

use crate::emulator::errors::invalid_argument;
use crate::emulator::ids;
use crate::emulator::state::{EntryRec, EntryValue, PasswordSpecRec};

/// The length of a generated value when the specification leaves it at 0.
pub(crate) const DEFAULT_LENGTH: usize = 36;
/// Every ASCII punctuation character.
const PUNCTUATION: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

/// The characters a value is drawn from; INVALID_ARGUMENT (naming `field`) when none is left or
/// the punctuation options contradict each other.
fn alphabet(spec: &PasswordSpecRec, field: &str) -> Result<Vec<u8>, Status> {
    let bad = |sub: &str, why: &str| invalid_argument(&format!("{field}.{sub}"), why);
    if !spec.included_punctuation.is_empty() && !spec.excluded_punctuation.is_empty() {
        return Err(bad(
            "excluded_punctuation",
            "cannot be set together with included_punctuation",
        ));
    }
    for (sub, chars) in [
        ("included_punctuation", &spec.included_punctuation),
        ("excluded_punctuation", &spec.excluded_punctuation),
    ] {
        if chars.chars().any(|c| !PUNCTUATION.contains(c)) {
            return Err(bad(sub, "holds only ASCII punctuation characters"));
        }
    }
    let mut alphabet = Vec::new();
    let on = |flag: Option<bool>| flag.unwrap_or(true);
    if on(spec.include_uppercase) {
        alphabet.extend(b'A'..=b'Z');
    }
    if on(spec.include_lowercase) {
        alphabet.extend(b'a'..=b'z');
    }
    if on(spec.include_digits) {
        alphabet.extend(b'0'..=b'9');
    }
    if on(spec.include_punctuation) {
        let punctuation = if spec.included_punctuation.is_empty() {
            PUNCTUATION
        } else {
            &spec.included_punctuation
        };
        let mut chosen: Vec<u8> = punctuation
            .bytes()
            .filter(|b| !spec.excluded_punctuation.as_bytes().contains(b))
            .collect();
        chosen.sort_unstable();
        chosen.dedup();
        alphabet.extend(chosen);
    }
    if alphabet.is_empty() {
        return Err(invalid_argument(field, "turns off every character class"));
    }
    Ok(alphabet)
}

/// Checks a specification before anything is stored.
pub(crate) fn check(spec: &PasswordSpecRec, field: &str) -> Result<(), Status> {
    if spec.length < 0 {
        return Err(invalid_argument(&format!("{field}.length"), "must not be negative"));
    }
    alphabet(spec, field).map(|_| ())
}

/// A fresh entry under the specification's key.
pub(crate) fn generate(spec: &PasswordSpecRec, field: &str) -> Result<EntryRec, Status> {
    let alphabet = alphabet(spec, field)?;
    let length = match usize::try_from(spec.length) {
        Ok(0) => DEFAULT_LENGTH,
        Ok(length) => length,
        Err(_) => return Err(invalid_argument(&format!("{field}.length"), "must not be negative")),
    };
    Ok(EntryRec {
        key: spec.password_key.clone(),
        value: Some(EntryValue::Text(ids::password(&alphabet, length)?)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> PasswordSpecRec {
        PasswordSpecRec {
            password_key: "password".into(),
            length: 0,
            include_uppercase: None,
            include_lowercase: None,
            include_digits: None,
            include_punctuation: None,
            included_punctuation: String::new(),
            excluded_punctuation: String::new(),
        }
    }

    fn text(entry: &EntryRec) -> &str {
        match &entry.value {
            Some(EntryValue::Text(text)) => text,
            other => panic!("not text: {other:?}"),
        }
    }

    #[test]
    fn classes_turned_off_and_excluded_punctuation_never_appear() {
        let mut digits_and_bang = spec();
        digits_and_bang.length = 200;
        digits_and_bang.include_uppercase = Some(false);
        digits_and_bang.include_lowercase = Some(false);
        digits_and_bang.included_punctuation = "!".into();
        let entry = generate(&digits_and_bang, "spec").expect("generated");
        assert_eq!(entry.key, "password");
        let value = text(&entry);
        assert_eq!(value.len(), 200);
        assert!(value.bytes().all(|b| b.is_ascii_digit() || b == b'!'), "{value}");
        assert!(value.contains('!') && value.bytes().any(|b| b.is_ascii_digit()));

        let mut no_quotes = spec();
        no_quotes.excluded_punctuation = "\"'`".into();
        no_quotes.length = 256;
        let value = generate(&no_quotes, "spec").expect("generated");
        assert!(!text(&value).contains(['"', '\'', '`']));
        assert_eq!(text(&generate(&spec(), "spec").expect("default")).len(), DEFAULT_LENGTH);
    }

    #[test]
    fn a_specification_that_leaves_no_character_is_refused() {
        let mut nothing = spec();
        nothing.include_uppercase = Some(false);
        nothing.include_lowercase = Some(false);
        nothing.include_digits = Some(false);
        nothing.include_punctuation = Some(false);
        assert_eq!(
            check(&nothing, "spec").unwrap_err().code(),
            tonic::Code::InvalidArgument
        );
        let mut letters = spec();
        letters.included_punctuation = "a".into();
        assert!(check(&letters, "spec").is_err());
        let mut both = spec();
        both.included_punctuation = "!".into();
        both.excluded_punctuation = "?".into();
        assert!(check(&both, "spec").is_err());
    }
}
