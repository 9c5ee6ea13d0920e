//! Service-account authorized keys (`yc iam key create` files) and the PS256 JWT made from them.

use std::{fmt, path::Path, sync::Arc};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::Error;

/// The audience of the JWT exchanged for an IAM token.
pub(crate) const AUDIENCE: &str = "https://iam.api.cloud.yandex.net/iam/v1/tokens";
/// The JWT lifetime: Yandex Cloud accepts at most one hour.
const JWT_LIFETIME_SECS: i64 = 3600;

/// A service-account authorized key: key id, service account id and the RSA private key.
///
/// Read from the JSON file `yc iam key create` writes (snake_case or camelCase keys; the private
/// key may be preceded by the `PLEASE DO NOT REMOVE THIS LINE!` line). `Debug` shows the ids only.
#[derive(Clone)]
pub struct AuthorizedKey {
    id: String,
    service_account_id: String,
    key: Arc<EncodingKey>,
}

#[derive(Deserialize)]
struct KeyFile {
    id: String,
    #[serde(alias = "serviceAccountId")]
    service_account_id: String,
    #[serde(alias = "privateKey")]
    private_key: String,
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
}

impl AuthorizedKey {
    /// A key from its parts: key id, service account id and the private key PEM (PKCS#8 or
    /// PKCS#1, optionally preceded by the `PLEASE DO NOT REMOVE THIS LINE!` line).
    pub fn new(
        id: impl Into<String>,
        service_account_id: impl Into<String>,
        private_key_pem: SecretString,
    ) -> Result<Self, Error> {
        use secrecy::ExposeSecret as _;
        let id = id.into();
        let service_account_id = service_account_id.into();
        // The ids go into messages: check their shape first, so a mangled file (a PEM pasted
        // into `id`, say) cannot print a secret.
        if !is_id(&id) {
            return Err(Error::credentials("the authorized key's id is not a key id"));
        }
        if !is_id(&service_account_id) {
            return Err(Error::credentials(
                "the authorized key's service_account_id is not a service account id",
            ));
        }
        let pem = private_key_pem.expose_secret();
        // Newer key files put a line of text before the PEM; the PEM starts at its armour.
        let start = pem
            .find("-----BEGIN")
            .ok_or_else(|| Error::credentials(format!("authorized key {id}: the private key is not PEM")))?;
        let key = EncodingKey::from_rsa_pem(&pem.as_bytes()[start..]).map_err(|_| {
            Error::credentials(format!("authorized key {id}: the private key is not an RSA key in PEM"))
        })?;
        Ok(AuthorizedKey {
            id,
            service_account_id,
            key: Arc::new(key),
        })
    }

    /// A key from the JSON text of an authorized key file.
    pub fn from_json(json: &str) -> Result<Self, Error> {
        // serde's messages can quote values, so only the position is reported.
        let file: KeyFile = serde_json::from_str(json).map_err(|e| {
            Error::credentials(format!(
                "the authorized key file is not valid ({:?} error at line {} column {}; expected id, \
                 service_account_id and private_key)",
                e.classify(),
                e.line(),
                e.column()
            ))
        })?;
        AuthorizedKey::new(file.id, file.service_account_id, SecretString::from(file.private_key))
    }

    /// A key from an authorized key file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::credentials(format!("cannot read authorized key file {}", path.display())).with_source(e)
        })?;
        AuthorizedKey::from_json(&text).map_err(|mut e| {
            e.set_what(format!("cannot use authorized key file {}", path.display()));
            e
        })
    }

    /// The key id (the JWT's `kid`).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The service account the key belongs to (the JWT's `iss`).
    pub fn service_account_id(&self) -> &str {
        &self.service_account_id
    }

    /// A PS256 JWT for `IamTokenService.Create`, valid for one hour from `now_unix`.
    pub(crate) fn jwt(&self, audience: &str, now_unix: i64) -> Result<SecretString, Error> {
        let mut header = Header::new(Algorithm::PS256);
        header.kid = Some(self.id.clone());
        let claims = Claims {
            iss: &self.service_account_id,
            aud: audience,
            iat: now_unix,
            exp: now_unix + JWT_LIFETIME_SECS,
        };
        jsonwebtoken::encode(&header, &claims, &self.key)
            .map(SecretString::from)
            .map_err(|_| Error::credentials(format!("cannot sign a JWT with authorized key {}", self.id)))
    }
}

/// Yandex Cloud ids are 20 lowercase letters and digits; a little more is accepted.
fn is_id(text: &str) -> bool {
    (1..=50).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl fmt::Debug for AuthorizedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthorizedKey")
            .field("id", &self.id)
            .field("service_account_id", &self.service_account_id)
            .field("private_key", &"***")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_in_the_id_fields_is_not_echoed() {
        let pem = "-----BEGIN PRIVATE KEY-----\nMIIEsecret\n-----END PRIVATE KEY-----";
        for json in [
            serde_json::json!({"id": pem, "service_account_id": "ajesa", "private_key": "junk"}),
            serde_json::json!({"id": "ajekey", "service_account_id": pem, "private_key": "junk"}),
        ] {
            let err = AuthorizedKey::from_json(&json.to_string())
                .err()
                .map(|e| format!("{e} {e:?}"));
            let shown = err.unwrap_or_default();
            assert!(!shown.is_empty() && !shown.contains("MIIEsecret"), "{shown}");
        }
    }
}
