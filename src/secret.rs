//! Secrets moved out of the plain strings they arrive in (decoded replies, parsed files) without
//! leaving a copy behind in memory that is freed uncleared.

use secrecy::{SecretString, zeroize::Zeroize as _};

/// Moves the text of `plain` into a [`SecretString`] and clears `plain`'s whole buffer.
///
/// Not `SecretString::from(String)`: that shrinks the string to fit, which may reallocate and free
/// the old buffer, secret and all, without clearing it.
pub(crate) fn take(plain: &mut String) -> SecretString {
    let secret = SecretString::from(plain.as_str());
    plain.zeroize();
    secret
}

/// Clears every string of a parsed YAML document that may hold a secret (a yc profile file, a
/// Kubernetes manifest) before it is dropped.
pub(crate) fn clear_yaml(value: &mut serde_norway::Value) {
    use serde_norway::Value;
    match value {
        Value::String(s) => s.zeroize(),
        Value::Sequence(items) => items.iter_mut().for_each(clear_yaml),
        Value::Mapping(m) => m.values_mut().for_each(clear_yaml),
        Value::Tagged(tagged) => clear_yaml(&mut tagged.value),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// Clears every string of a parsed JSON document that may hold a secret (an authorized key)
/// before it is dropped.
pub(crate) fn clear_json(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::String(s) => s.zeroize(),
        Value::Array(items) => items.iter_mut().for_each(clear_json),
        Value::Object(m) => m.values_mut().for_each(clear_json),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret as _;

    #[test]
    fn taking_a_secret_clears_the_string_it_came_from() {
        let mut plain = String::with_capacity(64);
        plain.push_str("AQVNsecret");
        let secret = super::take(&mut plain);
        assert_eq!(secret.expose_secret(), "AQVNsecret");
        assert!(plain.is_empty());
        // The capacity stays, so the cleared buffer is the only one there was.
        assert_eq!(plain.capacity(), 64);
    }
}
