//! The yc CLI's profile file, `~/.config/yandex-cloud/config.yaml`: `current` names the active
//! profile, `profiles.<name>` holds its values. Keys this crate does not use (zones, formats…) are
//! ignored; keys it uses are checked, and every complaint names the file and the key path.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use secrecy::SecretString;
use serde_norway::Value;

use super::ConfigError;
use crate::AuthorizedKey;

/// A parsed yc profile file.
#[derive(Debug, Clone)]
pub struct YcConfig {
    path: PathBuf,
    current: Option<String>,
    profiles: BTreeMap<String, Profile>,
}

/// One `profiles.<name>` entry: the values yc-iam uses.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Profile {
    /// The profile's name.
    pub name: String,
    /// `token`: an OAuth token (`y0_…`), or an IAM token (`t1.…`).
    pub token: Option<SecretString>,
    /// `service-account-key`: an embedded authorized key.
    pub service_account_key: Option<AuthorizedKey>,
    /// `folder-id`.
    pub folder_id: Option<String>,
    /// `cloud-id`.
    pub cloud_id: Option<String>,
    /// `endpoint`.
    pub endpoint: Option<String>,
    /// `instance-service-account: true`: use the compute instance's metadata service.
    pub instance_service_account: bool,
}

impl YcConfig {
    /// Where yc keeps the file: `$HOME/.config/yandex-cloud/config.yaml`. `None` without `HOME`.
    pub fn default_path() -> Option<PathBuf> {
        let home = std::env::var_os("HOME").filter(|h| !h.is_empty())?;
        Some(
            PathBuf::from(home)
                .join(".config")
                .join("yandex-cloud")
                .join("config.yaml"),
        )
    }

    /// Loads the file at [`YcConfig::default_path`]; `Ok(None)` when there is no such file.
    pub fn load_default() -> Result<Option<Self>, ConfigError> {
        match Self::default_path() {
            Some(path) => Self::load(&path),
            None => Ok(None),
        }
    }

    /// Loads a profile file; `Ok(None)` when it does not exist.
    pub fn load(path: &Path) -> Result<Option<Self>, ConfigError> {
        // The file may hold an OAuth token or a private key: its text is cleared when dropped.
        match crate::private_file::read_text(path) {
            Ok(Some(text)) => Self::parse(&text, path).map(Some),
            Ok(None) => Ok(None),
            Err(source) => Err(ConfigError::Read {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// Parses a profile file's text; `path` is only used in error messages.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let mut root: Value = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_norway::from_str(text).map_err(|source| ConfigError::Syntax {
                path: path.to_owned(),
                source,
            })?
        };
        let config = Self::from_document(&root, path);
        // Tokens and keys were copied into secret types; the document's copies are cleared.
        crate::secret::clear_yaml(&mut root);
        config
    }

    fn from_document(root: &Value, path: &Path) -> Result<Self, ConfigError> {
        let invalid = |key: &str, problem: &str| ConfigError::Invalid {
            path: path.to_owned(),
            key: key.to_owned(),
            problem: problem.to_owned(),
        };
        let root = match root {
            Value::Null => {
                return Ok(Self {
                    path: path.to_owned(),
                    current: None,
                    profiles: BTreeMap::new(),
                });
            }
            Value::Mapping(m) => m,
            _ => {
                return Err(invalid(
                    "(top level)",
                    "expected a mapping with `current` and `profiles`",
                ));
            }
        };
        let current = match root.get("current") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(_) => return Err(invalid("current", "expected a profile name")),
        };
        let mut profiles = BTreeMap::new();
        match root.get("profiles") {
            None | Some(Value::Null) => {}
            Some(Value::Mapping(entries)) => {
                for (name, body) in entries {
                    let Value::String(name) = name else {
                        return Err(invalid("profiles", "profile names must be strings"));
                    };
                    let profile = parse_profile(name, body).map_err(|(key, problem)| ConfigError::Invalid {
                        path: path.to_owned(),
                        key: format!("profiles.{name}{key}"),
                        problem,
                    })?;
                    profiles.insert(name.clone(), profile);
                }
            }
            Some(_) => return Err(invalid("profiles", "expected a mapping of profile names")),
        }
        Ok(Self {
            path: path.to_owned(),
            current,
            profiles,
        })
    }

    /// The file this was read from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The profile `current` names, if any.
    pub fn current(&self) -> Option<&str> {
        self.current.as_deref()
    }

    /// The profiles by name.
    pub fn profiles(&self) -> &BTreeMap<String, Profile> {
        &self.profiles
    }

    /// The profile to use: `name` when given (an error if it does not exist), else `current`,
    /// else `None`.
    pub fn profile(&self, name: Option<&str>) -> Result<Option<&Profile>, ConfigError> {
        match name {
            Some(name) => self.profiles.get(name).map(Some).ok_or_else(|| ConfigError::NoProfile {
                path: self.path.clone(),
                name: name.to_owned(),
                available: if self.profiles.is_empty() {
                    "none".to_owned()
                } else {
                    self.profiles.keys().cloned().collect::<Vec<_>>().join(", ")
                },
            }),
            None => match self.current.as_deref() {
                Some(current) if !self.profiles.is_empty() => {
                    self.profiles
                        .get(current)
                        .map(Some)
                        .ok_or_else(|| ConfigError::Invalid {
                            path: self.path.clone(),
                            key: "current".to_owned(),
                            problem: format!("names profile {current:?}, which is not in `profiles`"),
                        })
                }
                _ => Ok(None),
            },
        }
    }
}

/// Parses one profile; errors are (key suffix such as `.folder-id`, problem).
fn parse_profile(name: &str, body: &Value) -> Result<Profile, (String, String)> {
    let mut profile = Profile {
        name: name.to_owned(),
        ..Profile::default()
    };
    let map = match body {
        Value::Null => return Ok(profile),
        Value::Mapping(m) => m,
        _ => return Err((String::new(), "expected a mapping of settings".into())),
    };
    let string = |key: &str| -> Result<Option<String>, (String, String)> {
        match map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
            Some(Value::Number(_) | Value::Bool(_)) => Err((format!(".{key}"), "expected a string".into())),
            Some(_) => Err((format!(".{key}"), "expected a string".into())),
        }
    };
    profile.token = string("token")?.map(|mut token| crate::secret::take(&mut token));
    profile.folder_id = string("folder-id")?;
    profile.cloud_id = string("cloud-id")?;
    profile.endpoint = string("endpoint")?;
    profile.instance_service_account = match map.get("instance-service-account") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) if s == "true" => true,
        Some(Value::String(s)) if s == "false" => false,
        Some(_) => return Err((".instance-service-account".into(), "expected true or false".into())),
    };
    profile.service_account_key = match map.get("service-account-key") {
        None | Some(Value::Null) => None,
        Some(Value::String(text)) => Some(
            // yc writes the key as a mapping; a JSON or YAML document in a string is accepted too.
            serde_norway::from_str::<Value>(text)
                .map_err(|_| "expected the key as a mapping or a JSON document".to_string())
                .and_then(yaml_to_json)
                .and_then(AuthorizedKey::from_value)
                .map_err(|p| (".service-account-key".to_string(), p))?,
        ),
        Some(v @ Value::Mapping(_)) => Some(
            yaml_to_json(v.clone())
                .and_then(AuthorizedKey::from_value)
                .map_err(|p| (".service-account-key".to_string(), p))?,
        ),
        Some(_) => {
            return Err((
                ".service-account-key".into(),
                "expected a mapping with id, service_account_id, private_key".into(),
            ));
        }
    };
    Ok(profile)
}

/// The key as JSON; the YAML it came from is cleared.
fn yaml_to_json(mut value: Value) -> Result<serde_json::Value, String> {
    let json = serde_json::to_value(&value).map_err(|_| "the key contains values that are not plain data".to_string());
    crate::secret::clear_yaml(&mut value);
    json
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<YcConfig, ConfigError> {
        YcConfig::parse(text, Path::new("/home/u/.config/yandex-cloud/config.yaml"))
    }

    #[test]
    fn a_typical_file_parses_and_unknown_keys_are_ignored() {
        let cfg = parse(
            "current: prod\nprofiles:\n  prod:\n    token: y0_abc\n    folder-id: b1gf\n    cloud-id: b1gc\n    compute-default-zone: ru-central1-a\n  other: {}\n",
        )
        .unwrap();
        let p = cfg.profile(None).unwrap().unwrap();
        assert_eq!(p.name, "prod");
        assert_eq!(p.folder_id.as_deref(), Some("b1gf"));
        assert!(cfg.profile(Some("other")).unwrap().is_some());
    }

    #[test]
    fn errors_name_the_file_and_the_key_path() {
        let err = parse("profiles:\n  a:\n    folder-id: [1]\n").unwrap_err().to_string();
        assert_eq!(
            err,
            "/home/u/.config/yandex-cloud/config.yaml: profiles.a.folder-id: expected a string"
        );
        let err = parse("profiles:\n  a:\n    service-account-key:\n      id: x\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("profiles.a.service-account-key: missing field `service_account_id`"),
            "{err}"
        );
        let err = parse("current: b\nprofiles:\n  a: {}\n")
            .unwrap()
            .profile(None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("current: names profile \"b\""), "{err}");
        let err = parse("profiles: [").unwrap_err().to_string();
        assert!(err.ends_with("not valid YAML"), "{err}");
    }

    #[test]
    fn a_missing_named_profile_lists_the_ones_that_exist() {
        let cfg = parse("profiles:\n  a: {}\n  b: {}\n").unwrap();
        let err = cfg.profile(Some("c")).unwrap_err().to_string();
        assert!(err.ends_with("no profile named \"c\" (profiles: a, b)"), "{err}");
    }

    #[test]
    fn an_embedded_key_is_read_without_exposing_it() {
        let pem = include_str!("../../tests/fixtures/keys/sa.pem").replace('\n', "\n        ");
        let cfg = parse(&format!(
            "current: sa\nprofiles:\n  sa:\n    service-account-key:\n      id: ajekey\n      service_account_id: ajesa\n      private_key: |\n        {pem}"
        ))
        .unwrap();
        let key = cfg.profile(None).unwrap().unwrap().service_account_key.clone().unwrap();
        assert_eq!((key.id(), key.service_account_id()), ("ajekey", "ajesa"));
        assert!(!format!("{key:?}").contains("BEGIN"));
    }
}
