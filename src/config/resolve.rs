//! Precedence: a value from the command line beats one from the environment, which beats the
//! profile file, which beats the defaults. Credentials are taken whole from the first layer that
//! has any, so a flag token is never mixed with a profile's key.

use std::fmt;
use std::path::{Path, PathBuf};

use secrecy::SecretString;

use super::{ConfigError, DEFAULT_ENDPOINT, Profile, YcConfig};
use crate::AuthorizedKey;

/// Where a resolved value came from, for diagnostics (debug logs, error messages).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Source {
    /// A command-line flag, e.g. `--folder-id`.
    Flag(String),
    /// An environment variable, e.g. `YC_FOLDER_ID`.
    Env(String),
    /// A key of a profile in the yc profile file.
    Profile {
        /// The file.
        path: PathBuf,
        /// The profile.
        profile: String,
        /// The key inside the profile, e.g. `folder-id`.
        key: String,
    },
    /// Built in.
    Default,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag(flag) => write!(f, "{flag}"),
            Source::Env(var) => write!(f, "${var}"),
            Source::Profile { path, profile, key } => {
                write!(f, "{}: profiles.{profile}.{key}", path.display())
            }
            Source::Default => f.write_str("default"),
        }
    }
}

/// A value and where it came from.
#[derive(Debug, Clone)]
pub struct Resolved<T> {
    /// The value.
    pub value: T,
    /// Its origin.
    pub source: Source,
}

impl<T> Resolved<T> {
    /// Pairs a value with its origin.
    pub fn new(value: T, source: Source) -> Self {
        Self { value, source }
    }
}

/// How to authenticate. Secrets stay in redacting types.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Credential {
    /// An IAM token (`t1.…`), sent as `Bearer`.
    IamToken(SecretString),
    /// An OAuth token (`y0_…`), exchanged for IAM tokens.
    OAuthToken(SecretString),
    /// A service-account authorized key, exchanged for IAM tokens with a signed JWT.
    AuthorizedKey(AuthorizedKey),
    /// An API key, sent as `Api-Key`.
    ApiKey(SecretString),
    /// The compute instance's metadata service.
    MetadataService,
}

impl Credential {
    /// A token as yc keeps it in `token` or `YC_TOKEN`: IAM tokens start with `t1.`, anything
    /// else is an OAuth token.
    pub fn from_yc_token(token: SecretString) -> Self {
        use secrecy::ExposeSecret;
        if token.expose_secret().starts_with("t1.") {
            Credential::IamToken(token)
        } else {
            Credential::OAuthToken(token)
        }
    }

    /// The client credentials for this configuration.
    pub fn to_credentials(&self) -> crate::Credentials {
        use secrecy::ExposeSecret;
        match self {
            Credential::IamToken(t) => crate::Credentials::iam_token(t.expose_secret()),
            Credential::OAuthToken(t) => crate::Credentials::oauth_token(t.expose_secret()),
            Credential::AuthorizedKey(key) => crate::Credentials::authorized_key(key.clone()),
            Credential::ApiKey(k) => crate::Credentials::api_key(k.expose_secret()),
            Credential::MetadataService => crate::Credentials::metadata_service(),
        }
    }

    /// A short name of the kind, safe to print.
    pub fn kind(&self) -> &'static str {
        match self {
            Credential::IamToken(_) => "IAM token",
            Credential::OAuthToken(_) => "OAuth token",
            Credential::AuthorizedKey(_) => "service-account key",
            Credential::ApiKey(_) => "API key",
            Credential::MetadataService => "instance metadata service",
        }
    }
}

/// One layer of configuration (flags, or environment): every field optional.
#[derive(Debug, Clone, Default)]
pub struct Layer {
    /// API endpoint.
    pub endpoint: Option<Resolved<String>>,
    /// Default folder.
    pub folder_id: Option<Resolved<String>>,
    /// Default cloud.
    pub cloud_id: Option<Resolved<String>>,
    /// Credentials.
    pub credential: Option<Resolved<Credential>>,
    /// Which profile of the file to use.
    pub profile: Option<Resolved<String>>,
}

impl Layer {
    /// The `YC_*` variables: `YC_IAM_TOKEN`, `YC_TOKEN`, `YC_SERVICE_ACCOUNT_KEY_FILE`,
    /// `YC_API_KEY` (credentials, first one set wins), `YC_FOLDER_ID`, `YC_CLOUD_ID`,
    /// `YC_ENDPOINT`, `YC_PROFILE`. Empty variables count as unset. `lookup` is usually
    /// `|name| std::env::var(name).ok()`.
    pub fn from_env(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let env = |name: &str| Source::Env(name.to_owned());
        let plain = |name: &str| get(name).map(|v| Resolved::new(v, env(name)));
        let credential = if let Some(token) = get("YC_IAM_TOKEN") {
            Some(Resolved::new(Credential::IamToken(token.into()), env("YC_IAM_TOKEN")))
        } else if let Some(token) = get("YC_TOKEN") {
            Some(Resolved::new(Credential::from_yc_token(token.into()), env("YC_TOKEN")))
        } else if let Some(path) = get("YC_SERVICE_ACCOUNT_KEY_FILE") {
            let key = load_key_file("$YC_SERVICE_ACCOUNT_KEY_FILE", Path::new(&path))?;
            Some(Resolved::new(
                Credential::AuthorizedKey(key),
                env("YC_SERVICE_ACCOUNT_KEY_FILE"),
            ))
        } else {
            get("YC_API_KEY").map(|key| Resolved::new(Credential::ApiKey(key.into()), env("YC_API_KEY")))
        };
        Ok(Self {
            endpoint: plain("YC_ENDPOINT"),
            folder_id: plain("YC_FOLDER_ID"),
            cloud_id: plain("YC_CLOUD_ID"),
            credential,
            profile: plain("YC_PROFILE"),
        })
    }
}

/// Reads and checks an authorized-key file; `origin` (a flag or variable name) goes into errors.
pub fn load_key_file(origin: &str, path: &Path) -> Result<AuthorizedKey, ConfigError> {
    let problem = |problem: String| ConfigError::KeyFile {
        origin: origin.to_owned(),
        path: path.to_owned(),
        problem,
    };
    // The private key is in the text: it is cleared when dropped.
    let text = crate::private_file::read_text(path)
        .and_then(|text| text.ok_or_else(crate::private_file::missing))
        .map_err(|e| problem(format!("cannot read: {e}")))?;
    AuthorizedKey::parse_json(&text).map_err(problem)
}

/// The resolved configuration.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Settings {
    /// The API endpoint ([`DEFAULT_ENDPOINT`] unless set).
    pub endpoint: Resolved<String>,
    /// The default folder, if any layer names one.
    pub folder_id: Option<Resolved<String>>,
    /// The default cloud, if any layer names one.
    pub cloud_id: Option<Resolved<String>>,
    /// Credentials, if any layer has them.
    pub credential: Option<Resolved<Credential>>,
    /// The profile used from the file, if any.
    pub profile: Option<String>,
}

impl Settings {
    /// A client builder with this endpoint and these credentials (when there are any); add
    /// policies and `build()`.
    pub fn client_builder(&self) -> crate::ClientBuilder {
        let mut builder = crate::Client::builder().with_endpoint(self.endpoint.value.clone());
        if let Some(credential) = &self.credential {
            builder = builder.with_credentials(credential.value.to_credentials());
        }
        builder
    }
}

/// Resolves flags > environment > profile file > defaults. The profile is the one named by the
/// flags or environment layer ([`Layer::profile`]; `YC_PROFILE` in the environment), else the
/// file's `current`.
pub fn resolve(flags: Layer, env: Layer, file: Option<&YcConfig>) -> Result<Settings, ConfigError> {
    let wanted = flags.profile.as_ref().or(env.profile.as_ref()).map(|p| p.value.clone());
    let profile: Option<&Profile> = match (file, wanted.as_deref()) {
        (Some(file), name) => file.profile(name)?,
        (None, Some(name)) => {
            return Err(ConfigError::NoFile {
                path: YcConfig::default_path().unwrap_or_else(|| PathBuf::from("~/.config/yandex-cloud/config.yaml")),
                name: name.to_owned(),
            });
        }
        (None, None) => None,
    };
    let from_profile = |key: &str| Source::Profile {
        path: file.map(|f| f.path().to_owned()).unwrap_or_default(),
        profile: profile.map(|p| p.name.clone()).unwrap_or_default(),
        key: key.to_owned(),
    };
    let profile_value = |value: Option<&String>, key: &str| value.map(|v| Resolved::new(v.clone(), from_profile(key)));

    let endpoint = flags
        .endpoint
        .or(env.endpoint)
        .or_else(|| profile_value(profile.and_then(|p| p.endpoint.as_ref()), "endpoint"))
        .unwrap_or_else(|| Resolved::new(DEFAULT_ENDPOINT.to_owned(), Source::Default));
    let folder_id = flags
        .folder_id
        .or(env.folder_id)
        .or_else(|| profile_value(profile.and_then(|p| p.folder_id.as_ref()), "folder-id"));
    let cloud_id = flags
        .cloud_id
        .or(env.cloud_id)
        .or_else(|| profile_value(profile.and_then(|p| p.cloud_id.as_ref()), "cloud-id"));
    let credential = flags.credential.or(env.credential).or_else(|| {
        let p = profile?;
        if let Some(token) = &p.token {
            Some(Resolved::new(
                Credential::from_yc_token(token.clone()),
                from_profile("token"),
            ))
        } else if let Some(key) = &p.service_account_key {
            Some(Resolved::new(
                Credential::AuthorizedKey(key.clone()),
                from_profile("service-account-key"),
            ))
        } else if p.instance_service_account {
            Some(Resolved::new(
                Credential::MetadataService,
                from_profile("instance-service-account"),
            ))
        } else {
            None
        }
    });
    Ok(Settings {
        endpoint,
        folder_id,
        cloud_id,
        credential,
        profile: profile.map(|p| p.name.clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file() -> YcConfig {
        YcConfig::parse(
            "current: p\nprofiles:\n  p:\n    token: y0_profile\n    folder-id: from-profile\n    cloud-id: cloud-profile\n    endpoint: profile.example:443\n  q:\n    instance-service-account: true\n",
            Path::new("/h/config.yaml"),
        )
        .unwrap()
    }

    fn env(vars: &[(&str, &str)]) -> Layer {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Layer::from_env(|n| vars.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone())).unwrap()
    }

    #[test]
    fn flags_beat_environment_which_beats_the_profile() {
        let flags = Layer {
            folder_id: Some(Resolved::new("from-flag".into(), Source::Flag("--folder-id".into()))),
            ..Layer::default()
        };
        let s = resolve(
            flags,
            env(&[("YC_FOLDER_ID", "from-env"), ("YC_CLOUD_ID", "cloud-env")]),
            Some(&file()),
        )
        .unwrap();
        assert_eq!(s.folder_id.unwrap().value, "from-flag");
        assert_eq!(s.cloud_id.as_ref().unwrap().value, "cloud-env");
        assert_eq!(s.cloud_id.unwrap().source, Source::Env("YC_CLOUD_ID".into()));
        assert_eq!(s.endpoint.value, "profile.example:443");
        assert!(matches!(s.credential.unwrap().value, Credential::OAuthToken(_)));
    }

    #[test]
    fn environment_credentials_replace_the_profile_token_and_yc_profile_picks_a_profile() {
        let s = resolve(
            Layer::default(),
            env(&[("YC_TOKEN", "t1.abc"), ("YC_PROFILE", "q")]),
            Some(&file()),
        )
        .unwrap();
        assert!(matches!(s.credential.unwrap().value, Credential::IamToken(_)));
        assert_eq!(s.profile.as_deref(), Some("q"));
        assert_eq!(s.endpoint.value, DEFAULT_ENDPOINT);
        let s = resolve(Layer::default(), env(&[("YC_PROFILE", "q")]), Some(&file())).unwrap();
        assert!(matches!(s.credential.unwrap().value, Credential::MetadataService));
    }

    #[test]
    fn a_missing_key_file_in_the_environment_names_the_variable() {
        let vars = [("YC_SERVICE_ACCOUNT_KEY_FILE", "/nonexistent/key.json")];
        let err = Layer::from_env(|n| vars.iter().find(|(k, _)| *k == n).map(|(_, v)| v.to_string())).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("$YC_SERVICE_ACCOUNT_KEY_FILE /nonexistent/key.json: cannot read")
        );
    }
}
