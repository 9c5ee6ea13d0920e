//! Service-account authorized keys (`yc iam key create` files, or embedded in a yc profile) and
//! the PS256 JWT made from them.

use std::{fmt, path::Path};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use crate::Error;

/// The audience of the JWT exchanged for an IAM token.
pub(crate) const AUDIENCE: &str = "https://iam.api.cloud.yandex.net/iam/v1/tokens";
/// The JWT lifetime: Yandex Cloud accepts at most one hour.
const JWT_LIFETIME_SECS: i64 = 3600;

/// A service-account authorized key: key id, service account id and the RSA private key.
///
/// Read from the JSON file `yc iam key create` writes, or from the `service-account-key` of a yc
/// profile (snake_case or camelCase keys; the private key may be preceded by the
/// `PLEASE DO NOT REMOVE THIS LINE!` line). The private key stays in a secret type; `Debug`
/// shows the ids only.
#[derive(Clone)]
pub struct AuthorizedKey {
    id: String,
    service_account_id: String,
    /// The PEM, from its armour on, checked to be an RSA key.
    private_key: SecretString,
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
        Self::from_parts(id.into(), service_account_id.into(), private_key_pem.expose_secret())
            .map_err(Error::credentials)
    }

    /// A key from the JSON text of an authorized key file.
    pub fn from_json(json: &str) -> Result<Self, Error> {
        Self::parse_json(json).map_err(Error::credentials)
    }

    /// A key from an authorized key file. A file that is not a regular one (a pipe, a device) or
    /// is larger than 1 MiB is refused unread.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let cannot_read = || Error::credentials(format!("cannot read authorized key file {}", path.display()));
        // The private key is in the text: it is cleared when dropped.
        let text = crate::private_file::read_text(path)
            .map_err(|e| cannot_read().with_source(e))?
            .ok_or_else(|| cannot_read().with_source(crate::private_file::missing()))?;
        AuthorizedKey::from_json(&text).map_err(|mut e| {
            e.set_what(format!("cannot use authorized key file {}", path.display()));
            e
        })
    }

    /// [`AuthorizedKey::from_json`] with the problem as a phrase naming the field, for callers
    /// that say themselves where the text came from.
    pub(crate) fn parse_json(json: &str) -> Result<Self, String> {
        // Only the position: a parser's message can quote the text, which may be the key.
        let value: serde_json::Value = serde_json::from_str(json).map_err(|e| {
            format!(
                "not valid JSON ({:?} error at line {} column {})",
                e.classify(),
                e.line(),
                e.column()
            )
        })?;
        Self::from_value(value)
    }

    /// A key from a parsed document: an object with `id`, `service_account_id` and
    /// `private_key` (or their camelCase names). The problem names the field at fault. The
    /// document's strings, the private key among them, are cleared before it is dropped.
    pub(crate) fn from_value(mut value: serde_json::Value) -> Result<Self, String> {
        let key = Self::from_fields(&value);
        crate::secret::clear_json(&mut value);
        key
    }

    fn from_fields(value: &serde_json::Value) -> Result<Self, String> {
        let fields = value
            .as_object()
            .ok_or("expected an object with id, service_account_id and private_key")?;
        let field = |name: &str, camel: &str| -> Result<&str, String> {
            match fields.get(name).or_else(|| fields.get(camel)) {
                None | Some(serde_json::Value::Null) => Err(format!("missing field `{name}`")),
                Some(serde_json::Value::String(s)) if s.trim().is_empty() => Err(format!("missing field `{name}`")),
                Some(serde_json::Value::String(s)) => Ok(s),
                Some(_) => Err(format!("field `{name}` must be a string")),
            }
        };
        let id = field("id", "id")?;
        let service_account_id = field("service_account_id", "serviceAccountId")?;
        let private_key = field("private_key", "privateKey")?;
        Self::from_parts(id.to_owned(), service_account_id.to_owned(), private_key)
    }

    fn from_parts(id: String, service_account_id: String, pem: &str) -> Result<Self, String> {
        // The ids go into messages: check their shape first, so a mangled file (a PEM pasted
        // into `id`, say) cannot print a secret.
        if !is_id(&id) {
            return Err("field `id` is not a key id".into());
        }
        if !is_id(&service_account_id) {
            return Err("field `service_account_id` is not a service account id".into());
        }
        // Newer key files put a line of text before the PEM; the PEM starts at its armour.
        let start = pem
            .find("-----BEGIN")
            .ok_or("field `private_key` is not a PEM private key")?;
        let private_key = SecretString::from(&pem[start..]);
        encoding_key(&private_key).map_err(|()| "field `private_key` is not an RSA private key in PEM")?;
        Ok(AuthorizedKey {
            id,
            service_account_id,
            private_key,
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
        let key = encoding_key(&self.private_key)
            .map_err(|()| Error::credentials(format!("authorized key {}: the private key is not usable", self.id)))?;
        jsonwebtoken::encode(&header, &claims, &key)
            .map(SecretString::from)
            .map_err(|_| Error::credentials(format!("cannot sign a JWT with authorized key {}", self.id)))
    }
}

/// The signing key, made when needed (once per token exchange) so that the key lives only in
/// the secret type between exchanges.
fn encoding_key(pem: &SecretString) -> Result<EncodingKey, ()> {
    EncodingKey::from_rsa_pem(pem.expose_secret().as_bytes()).map_err(|_| ())
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
