//! Input rules checked before anything is sent, with messages that name the input and the rule.
//! They mirror the API's own field rules (`yandex.cloud` options) and documented limits, and
//! name the field of the request at fault (`folder_id`, `key_description`): a program reports it
//! in its own terms (the CLI as a flag).

use std::collections::BTreeMap;
use std::fmt;

/// An input that breaks a rule. `Display`: `invalid <field> "<value>": <rule>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidInput {
    /// The field at fault, as the caller named it: [`Provision::validate`](super::Provision::validate)
    /// uses the names of [`Provision`](super::Provision)'s fields (`folder_id`, `roles`,
    /// `key_description`, `expires_at`, `cloud_id`…), and the `check_*` functions the `field`
    /// they are given.
    pub field: String,
    /// The offending value (never a secret; shortened when long).
    pub value: String,
    /// The rule it breaks, as a phrase.
    pub rule: String,
}

impl InvalidInput {
    /// An error for `field` holding `value`, breaking `rule`.
    pub fn new(field: impl Into<String>, value: impl AsRef<str>, rule: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            value: shorten(value.as_ref()),
            rule: rule.into(),
        }
    }
}

impl fmt::Display for InvalidInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid {} {:?}: {}", self.field, self.value, self.rule)
    }
}

impl std::error::Error for InvalidInput {}

fn shorten(value: &str) -> String {
    const MAX: usize = 80;
    if value.chars().count() <= MAX {
        value.to_owned()
    } else {
        let head: String = value.chars().take(MAX).collect();
        format!("{head}…")
    }
}

type Check = Result<(), InvalidInput>;

/// A service-account name: 2–63 characters, lowercase Latin letters, digits and hyphens, starting
/// with a letter and not ending with a hyphen.
///
/// The one home of this rule in the library. The proto's pattern,
/// `[a-z]([-a-z0-9]{0,61}[a-z0-9])?`, would let a one-letter name through; Yandex Cloud documents
/// 2 to 63 characters, and that is what is checked here.
pub fn check_service_account_name(field: &str, name: &str) -> Check {
    let fail = |rule: &str| Err(InvalidInput::new(field, name, rule));
    let len = name.chars().count();
    if len == 0 {
        return fail("must not be empty");
    }
    if !(2..=63).contains(&len) {
        return fail("must be 2 to 63 characters long");
    }
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        return fail("must start with a lowercase Latin letter");
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return fail(&format!(
            "may contain only lowercase Latin letters, digits and hyphens, not {c:?}"
        ));
    }
    if name.ends_with('-') {
        return fail("must not end with a hyphen");
    }
    Ok(())
}

/// A resource id (folder, cloud, service account, key, operation): 1–50 characters of Latin
/// letters, digits, `-` and `_`.
pub fn check_id(field: &str, id: &str) -> Check {
    let fail = |rule: &str| Err(InvalidInput::new(field, id, rule));
    if id.is_empty() {
        return fail("must not be empty");
    }
    if id.chars().count() > 50 {
        return fail("must be at most 50 characters long");
    }
    if let Some(c) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        return fail(&format!(
            "may contain only Latin letters, digits, '-' and '_', not {c:?}"
        ));
    }
    Ok(())
}

/// A Lockbox secret name: 1–100 Latin letters, digits, `-`, `_` and `.`.
pub fn check_secret_name(field: &str, name: &str) -> Check {
    let ok = (1..=100).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(InvalidInput::new(
            field,
            name,
            "a Lockbox secret name is 1-100 letters, digits, '-', '_' and '.'",
        ))
    }
}

/// A dotted identifier such as a role (`ai.languageModels.user`, ≤ 64) or a scope
/// (`yc.ai.languageModels.execute`, ≤ 256): segments of letters, digits, `-` and `_`, each
/// starting with a letter, separated by single dots.
fn check_dotted(field: &str, value: &str, max: usize) -> Check {
    let fail = |rule: String| Err(InvalidInput::new(field, value, rule));
    if value.is_empty() {
        return fail("must not be empty".into());
    }
    if value.chars().count() > max {
        return fail(format!("must be at most {max} characters long"));
    }
    if let Some(c) = value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_')))
    {
        return fail(format!(
            "may contain only Latin letters, digits, '.', '-' and '_', not {c:?}"
        ));
    }
    for segment in value.split('.') {
        if segment.is_empty() {
            return fail("has an empty segment between dots".into());
        }
        if !segment.starts_with(|c: char| c.is_ascii_alphabetic()) {
            return fail(format!("segment {segment:?} must start with a letter"));
        }
    }
    Ok(())
}

/// A role id such as `ai.languageModels.user` or `editor`.
pub fn check_role(field: &str, role: &str) -> Check {
    check_dotted(field, role, 64)
}

/// API-key scopes such as `yc.ai.languageModels.execute`: each a dotted identifier of at most
/// 256 characters, none given twice, at most 100 (the API's limits for a key).
pub fn check_scopes(field: &str, scopes: &[String]) -> Check {
    let mut seen = std::collections::BTreeSet::new();
    for scope in scopes {
        check_dotted(field, scope, 256)?;
        if !seen.insert(scope.as_str()) {
            return Err(InvalidInput::new(field, scope, "given twice"));
        }
    }
    if scopes.len() > 100 {
        return Err(InvalidInput::new(
            field,
            format!("{} scopes", scopes.len()),
            "at most 100 scopes",
        ));
    }
    Ok(())
}

/// Resource labels: at most 64; keys 1–63 characters `[a-z][-_0-9a-z]*`; values at most 63
/// characters of `[-_0-9a-z]`.
pub fn check_labels(field: &str, labels: &BTreeMap<String, String>) -> Check {
    if labels.len() > 64 {
        return Err(InvalidInput::new(
            field,
            format!("{} labels", labels.len()),
            "at most 64 labels are allowed",
        ));
    }
    for (key, value) in labels {
        let fail = |rule: String| Err(InvalidInput::new(field, format!("{key}={value}"), rule));
        if key.is_empty() || key.chars().count() > 63 {
            return fail("label keys must be 1 to 63 characters long".into());
        }
        if !key.starts_with(|c: char| c.is_ascii_lowercase()) {
            return fail("label keys must start with a lowercase Latin letter".into());
        }
        if let Some(c) = key.chars().find(|c| !label_char(*c)) {
            return fail(format!("label keys may contain only a-z, 0-9, '-' and '_', not {c:?}"));
        }
        if value.chars().count() > 63 {
            return fail("label values must be at most 63 characters long".into());
        }
        if let Some(c) = value.chars().find(|c| !label_char(*c)) {
            return fail(format!(
                "label values may contain only a-z, 0-9, '-' and '_', not {c:?}"
            ));
        }
    }
    Ok(())
}

fn label_char(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_'
}

/// A free-text description: at most 256 characters, no control characters.
pub fn check_description(field: &str, text: &str) -> Check {
    if text.chars().count() > 256 {
        return Err(InvalidInput::new(field, text, "must be at most 256 characters long"));
    }
    if text.chars().any(char::is_control) {
        return Err(InvalidInput::new(
            field,
            text.escape_default().to_string(),
            "must not contain control characters",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_documented_rules() {
        for good in ["ab", "sa-api", "a1", &format!("a{}", "b".repeat(62))] {
            assert!(check_service_account_name("name", good).is_ok(), "{good}");
        }
        for (bad, rule) in [
            ("", "must not be empty"),
            ("a", "must be 2 to 63 characters long"),
            ("1a", "must start with a lowercase Latin letter"),
            ("Sa", "must start with a lowercase Latin letter"),
            (
                "sa_api",
                "may contain only lowercase Latin letters, digits and hyphens, not '_'",
            ),
            ("sa-", "must not end with a hyphen"),
        ] {
            assert_eq!(check_service_account_name("name", bad).unwrap_err().rule, rule, "{bad}");
        }
        let long = "a".repeat(64);
        assert!(check_service_account_name("name", &long).is_err());
    }

    #[test]
    fn roles_and_scopes_are_dotted_identifiers() {
        assert!(check_role("role", "ai.languageModels.user").is_ok());
        assert!(check_role("role", "resource-manager.clouds.owner").is_ok());
        assert!(check_role("role", "editor").is_ok());
        assert!(check_role("role", "ai..user").is_err());
        assert!(check_role("role", "ai.user ").is_err());
        assert!(check_role("role", &"a".repeat(65)).is_err());
        let scopes = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(
            check_scopes(
                "scopes",
                &scopes(&["yc.ai.languageModels.execute", "yc.ai.imageGeneration.execute"])
            )
            .is_ok()
        );
        assert!(check_scopes("scopes", &scopes(&[".yc"])).is_err());
        let twice = check_scopes("scopes", &scopes(&["a.b", "a.b"])).unwrap_err();
        assert_eq!((twice.value.as_str(), twice.rule.as_str()), ("a.b", "given twice"));
        let many: Vec<String> = (0..101).map(|i| format!("s{i}")).collect();
        assert_eq!(check_scopes("scopes", &many).unwrap_err().rule, "at most 100 scopes");
    }

    #[test]
    fn labels_and_descriptions_are_checked() {
        let labels = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        assert!(check_labels("labels", &labels(&[("env", "prod"), ("team", "")])).is_ok());
        assert!(check_labels("labels", &labels(&[("Env", "prod")])).is_err());
        assert!(check_labels("labels", &labels(&[("env", "Prod")])).is_err());
        assert_eq!(
            check_labels("labels", &labels(&[("env", "a b")]))
                .unwrap_err()
                .to_string(),
            "invalid labels \"env=a b\": label values may contain only a-z, 0-9, '-' and '_', not ' '"
        );
        assert!(check_description("description", "line\nbreak").is_err());
        assert!(check_description("description", &"x".repeat(257)).is_err());
    }
}
