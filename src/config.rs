//! Configuration the way a Yandex Cloud user already has it: command-line values, `YC_*`
//! environment variables, and the yc CLI's own profile file, resolved in that order of
//! precedence.
//!
//! This lives in the library, not the CLI, so a backend can read the same sources:
//!
//! ```no_run
//! use yc_iam::config::{Layer, YcConfig, resolve};
//!
//! # fn main() -> Result<(), yc_iam::config::ConfigError> {
//! let env = Layer::from_env(|name| std::env::var(name).ok())?;
//! let file = YcConfig::load_default()?;
//! let settings = resolve(Layer::default(), env, file.as_ref())?;
//! println!("endpoint {} (from {})", settings.endpoint.value, settings.endpoint.source);
//! let client = settings.client_builder().expect("credentials").build();
//! # let _ = client;
//! # Ok(())
//! # }
//! ```

mod error;
mod file;
mod resolve;

pub use error::ConfigError;
pub use file::{Profile, YcConfig};
pub use resolve::{Credential, Layer, Resolved, Settings, Source, load_key_file, resolve};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

/// The default API endpoint, used when no layer names one (the client's default).
pub const DEFAULT_ENDPOINT: &str = crate::DEFAULT_ENDPOINT;

/// A service-account authorized key (the JSON `yc iam key create` writes), checked for the fields
/// a JWT needs. The whole document is kept as JSON text in a redacting type.
#[derive(Clone)]
pub struct ServiceAccountKey {
    /// The key id (`id`), sent as the JWT `kid`.
    pub key_id: String,
    /// The service account the key belongs to (`service_account_id`), sent as the JWT `iss`.
    pub service_account_id: String,
    json: SecretString,
}

impl std::fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccountKey")
            .field("key_id", &self.key_id)
            .field("service_account_id", &self.service_account_id)
            .field("private_key", &"***")
            .finish()
    }
}

#[derive(Deserialize)]
struct KeyFields {
    #[serde(default)]
    id: Option<String>,
    #[serde(default, alias = "serviceAccountId")]
    service_account_id: Option<String>,
    #[serde(default, alias = "privateKey")]
    private_key: Option<serde_json::Value>,
}

impl ServiceAccountKey {
    /// Checks a key document given as a JSON value. `problem` errors name the missing field.
    pub(crate) fn from_value(value: serde_json::Value) -> Result<Self, String> {
        if !value.is_object() {
            return Err("expected an object with id, service_account_id and private_key".into());
        }
        let fields: KeyFields =
            serde_json::from_value(value.clone()).map_err(|e| format!("not an authorized key: {e}"))?;
        let key_id = non_empty(fields.id).ok_or("missing field `id`")?;
        let service_account_id = non_empty(fields.service_account_id).ok_or("missing field `service_account_id`")?;
        match fields.private_key {
            Some(serde_json::Value::String(pem)) if pem.contains("-----BEGIN") => {}
            Some(serde_json::Value::String(_)) => return Err("field `private_key` is not a PEM private key".into()),
            Some(_) => return Err("field `private_key` must be a string".into()),
            None => return Err("missing field `private_key`".into()),
        }
        Ok(Self {
            key_id,
            service_account_id,
            json: SecretString::from(value.to_string()),
        })
    }

    /// Parses and checks a key file's text (JSON, snake_case or camelCase field names).
    pub fn from_json(text: &str) -> Result<Self, String> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
        Self::from_value(value)
    }

    /// The whole key document as JSON text, for handing to the credentials builder.
    pub fn json(&self) -> &SecretString {
        &self.json
    }

    /// Whether two keys are the same key (same id and service account).
    pub fn same_key(&self, other: &Self) -> bool {
        self.key_id == other.key_id
            && self.service_account_id == other.service_account_id
            && self.json.expose_secret() == other.json.expose_secret()
    }
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty())
}
