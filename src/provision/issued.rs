//! A new key with its secret, of any kind, as the flow hands it to a sink: the API key's
//! [`StoredKey`], an [`AuthorizedKeyFile`] (the JSON of `yc iam key create --output`), or a
//! [`StaticKey`] (an AWS access key id and secret). Each keeps its secret in a zeroizing type and
//! shows none of it in `Debug`.

use std::path::Path;

use secrecy::{ExposeSecret as _, SecretString, zeroize::Zeroizing};
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;

use super::{KeyFileError, StoredKey};
use crate::model::{AccessKey, Key, KeyAlgorithm, KeySubject, Timestamp, from_timestamp};

/// A new key and its secret, shown once by the API.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum IssuedKey {
    /// An API key: the document of the API-key file.
    Api(StoredKey),
    /// An authorized key: the document of its key file.
    Authorized(AuthorizedKeyFile),
    /// A static access key.
    Static(StaticKey),
}

impl IssuedKey {
    /// The key's kind.
    pub fn kind(&self) -> super::KeyType {
        match self {
            IssuedKey::Api(_) => super::KeyType::ApiKey,
            IssuedKey::Authorized(_) => super::KeyType::AuthorizedKey,
            IssuedKey::Static(_) => super::KeyType::StaticKey,
        }
    }

    /// The id a sink names the key by (the AWS access key id for a static key).
    pub fn held_as(&self) -> &str {
        match self {
            IssuedKey::Api(k) => &k.id,
            IssuedKey::Authorized(k) => &k.id,
            IssuedKey::Static(k) => &k.key_id,
        }
    }

    /// Credentials that authenticate with this key: the API key's secret, or the authorized key
    /// (exchanged for IAM tokens). A static key authenticates nothing but Object Storage's
    /// AWS-style signatures: `None`.
    pub fn credentials(&self) -> Option<crate::Credentials> {
        match self {
            IssuedKey::Api(k) => Some(crate::Credentials::api_key(k.secret.expose_secret())),
            IssuedKey::Authorized(k) => crate::Credentials::from_json(&k.to_json()).ok(),
            IssuedKey::Static(_) => None,
        }
    }

    /// What an entry of a dotenv file, manifest or Lockbox secret holds as the secret: the API
    /// key's secret, the authorized key's whole JSON document, the secret access key.
    pub(super) fn secret_entry(&self) -> SecretString {
        match self {
            IssuedKey::Api(k) => k.secret.clone(),
            IssuedKey::Authorized(k) => SecretString::from(k.to_json().as_str()),
            IssuedKey::Static(k) => k.secret.clone(),
        }
    }

    /// The document printed for `--output -` (it holds the secret): the API-key file's, the
    /// authorized key file's, or `access_key` and `secret` as `yc iam access-key create` prints.
    pub fn document(&self) -> impl Serialize + '_ {
        match self {
            IssuedKey::Api(k) => Document::Api(k.document()),
            IssuedKey::Authorized(k) => Document::Authorized(k.document()),
            IssuedKey::Static(k) => Document::Static(k.document()),
        }
    }
}

#[derive(Serialize)]
#[serde(untagged)]
enum Document<A, B, C> {
    Api(A),
    Authorized(B),
    Static(C),
}

fn rfc3339(at: Option<&Timestamp>) -> Option<String> {
    at.and_then(from_timestamp).and_then(|t| t.format(&Rfc3339).ok())
}

/// The format [`AuthorizedKeyFile`] reads and writes, as [`KeyFileError::NotAKeyFile`] names it.
pub(super) const AUTHORIZED_KEY_FILE: &str = "an authorized-key file";

/// An authorized key file, exactly as `yc iam key create --output key.json` writes it: `id`,
/// `service_account_id`, `created_at`, `key_algorithm`, `public_key`, `private_key` (with
/// Yandex's first line, as the API returned it). `yc-iam --service-account-key`, `yc` and the
/// official SDKs read it as it is.
#[derive(Clone)]
pub struct AuthorizedKeyFile {
    /// The key id.
    pub id: String,
    /// The service account that owns the key.
    pub service_account_id: String,
    /// When the key was created (RFC 3339).
    pub created_at: Option<String>,
    /// `RSA_2048` or `RSA_4096`.
    pub key_algorithm: String,
    /// The public key (PEM).
    pub public_key: String,
    /// The private key as the API returned it.
    pub private_key: SecretString,
}

impl std::fmt::Debug for AuthorizedKeyFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizedKeyFile")
            .field("id", &self.id)
            .field("service_account_id", &self.service_account_id)
            .field("key_algorithm", &self.key_algorithm)
            .field("private_key", &"***")
            .finish_non_exhaustive()
    }
}

/// The file's fields in the order `yc` writes them; the one definition of the shape.
#[derive(Serialize)]
struct KeyFileFields<'a> {
    id: &'a str,
    service_account_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_at: Option<&'a str>,
    key_algorithm: &'a str,
    public_key: &'a str,
    private_key: &'a str,
}

/// What a sink's reader needs of a key file: the ids; the private key must be there but is
/// never kept.
#[derive(Deserialize)]
struct HeldFields {
    id: String,
    service_account_id: String,
    #[allow(dead_code)]
    private_key: serde::de::IgnoredAny,
}

impl AuthorizedKeyFile {
    pub(super) fn new(key: &Key, private_key: SecretString) -> Self {
        let service_account_id = match &key.subject {
            Some(KeySubject::ServiceAccountId(id)) => id.clone(),
            _ => String::new(),
        };
        AuthorizedKeyFile {
            id: key.id.clone(),
            service_account_id,
            created_at: rfc3339(key.created_at.as_ref()),
            key_algorithm: KeyAlgorithm::try_from(key.key_algorithm)
                .unwrap_or(KeyAlgorithm::Unspecified)
                .as_str_name()
                .to_owned(),
            public_key: key.public_key.clone(),
            private_key,
        }
    }

    /// Writes the key file atomically with mode 0600.
    pub fn write(&self, path: &Path) -> Result<(), KeyFileError> {
        super::key_file::write_private(path, &self.to_json())
    }

    /// The file's document (it holds the private key).
    pub fn document(&self) -> impl Serialize + '_ {
        KeyFileFields {
            id: &self.id,
            service_account_id: &self.service_account_id,
            created_at: self.created_at.as_deref(),
            key_algorithm: &self.key_algorithm,
            public_key: &self.public_key,
            private_key: self.private_key.expose_secret(),
        }
    }

    /// The file's JSON text (cleared when dropped).
    pub fn to_json(&self) -> Zeroizing<String> {
        // Plain strings only: serialization cannot fail.
        let mut text = Zeroizing::new(serde_json::to_string_pretty(&self.document()).unwrap_or_default());
        text.push('\n');
        text
    }

    /// The key id and service account of the key file at `path`; `None` when there is none. A
    /// file that is not an authorized-key file is refused without quoting it.
    pub(super) fn read_ids(path: &Path) -> Result<Option<(String, String)>, KeyFileError> {
        let Some(text) = super::key_file::read_text(path, AUTHORIZED_KEY_FILE)? else {
            return Ok(None);
        };
        let fields: HeldFields = serde_json::from_str(&text).map_err(|e| KeyFileError::NotAKeyFile {
            path: path.to_owned(),
            expected: AUTHORIZED_KEY_FILE,
            problem: format!(
                "expected JSON with id, service_account_id and private_key; line {}, column {}",
                e.line(),
                e.column()
            ),
        })?;
        Ok(Some((fields.id, fields.service_account_id)))
    }
}

impl From<crate::CreatedKey> for AuthorizedKeyFile {
    fn from(created: crate::CreatedKey) -> Self {
        AuthorizedKeyFile::new(&created.key, created.private_key)
    }
}

impl From<crate::CreatedAccessKey> for StaticKey {
    fn from(created: crate::CreatedAccessKey) -> Self {
        StaticKey::new(&created.access_key, created.secret)
    }
}

/// A static access key with its secret.
#[derive(Clone)]
pub struct StaticKey {
    /// The key's resource id.
    pub id: String,
    /// The access key id AWS clients send (`aws_access_key_id`).
    pub key_id: String,
    /// The service account that owns the key.
    pub service_account_id: String,
    /// When the key was created (RFC 3339).
    pub created_at: Option<String>,
    /// The key's description.
    pub description: String,
    /// The secret access key (`aws_secret_access_key`).
    pub secret: SecretString,
}

impl std::fmt::Debug for StaticKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticKey")
            .field("id", &self.id)
            .field("key_id", &self.key_id)
            .field("service_account_id", &self.service_account_id)
            .field("secret", &"***")
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct StaticDocument<'a> {
    access_key: AccessKeyFields<'a>,
    secret: &'a str,
}

#[derive(Serialize)]
struct AccessKeyFields<'a> {
    id: &'a str,
    service_account_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_at: Option<&'a str>,
    #[serde(skip_serializing_if = "str::is_empty")]
    description: &'a str,
    key_id: &'a str,
}

impl StaticKey {
    pub(super) fn new(key: &AccessKey, secret: SecretString) -> Self {
        StaticKey {
            id: key.id.clone(),
            key_id: key.key_id.clone(),
            service_account_id: key.service_account_id.clone(),
            created_at: rfc3339(key.created_at.as_ref()),
            description: key.description.clone(),
            secret,
        }
    }

    /// `access_key` and `secret`, as `yc iam access-key create` prints them (it holds the secret).
    pub fn document(&self) -> impl Serialize + '_ {
        StaticDocument {
            access_key: AccessKeyFields {
                id: &self.id,
                service_account_id: &self.service_account_id,
                created_at: self.created_at.as_deref(),
                description: &self.description,
                key_id: &self.key_id,
            },
            secret: self.secret.expose_secret(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_authorized_key_file_has_the_yc_fields_and_its_ids_read_back() {
        let key = Key {
            id: "ajekey".into(),
            subject: Some(KeySubject::ServiceAccountId("ajesa".into())),
            key_algorithm: KeyAlgorithm::Rsa4096 as i32,
            public_key: "-----BEGIN PUBLIC KEY-----\n".into(),
            created_at: Some(Timestamp {
                seconds: 1_700_000_000,
                nanos: 0,
            }),
            ..Key::default()
        };
        let file = AuthorizedKeyFile::new(&key, SecretString::from("PLEASE DO NOT REMOVE THIS LINE!\nPEM"));
        let json: serde_json::Value = serde_json::from_str(&file.to_json()).unwrap();
        let text = file.to_json();
        let order = [
            "id",
            "service_account_id",
            "created_at",
            "key_algorithm",
            "public_key",
            "private_key",
        ];
        let at: Vec<usize> = order.iter().map(|f| text.find(&format!("\"{f}\":")).unwrap()).collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "the fields in yc's order: {at:?}");
        assert_eq!(json.as_object().unwrap().len(), order.len());
        assert_eq!(json["key_algorithm"], "RSA_4096");
        assert_eq!(json["created_at"], "2023-11-14T22:13:20Z");
        assert_eq!(json["private_key"], "PLEASE DO NOT REMOVE THIS LINE!\nPEM");
        assert!(!format!("{file:?}").contains("PEM"));

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("key.json");
        std::fs::write(&path, file.to_json().as_bytes()).unwrap();
        let ids = AuthorizedKeyFile::read_ids(&path).unwrap();
        assert_eq!(ids, Some(("ajekey".into(), "ajesa".into())));
        std::fs::write(&path, "{\"id\": \"PLEASE-DO-NOT-SHOW\"}").unwrap();
        let err = AuthorizedKeyFile::read_ids(&path).unwrap_err().to_string();
        assert!(
            err.contains("exists but is not an authorized-key file") && !err.contains("PLEASE-DO-NOT-SHOW"),
            "{err}"
        );
    }
}
