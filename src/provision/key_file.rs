//! The API-key file: YAML shaped like `yc iam api-key create` output, written atomically with
//! mode 0600 so that a reader never sees half a file and nobody else can read the secret.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use secrecy::{ExposeSecret, SecretString, zeroize::Zeroizing};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::private_file;

/// A key as stored in the key file: the `api_key` block and the `secret`.
#[derive(Clone)]
pub struct StoredKey {
    /// The key id.
    pub id: String,
    /// The service account that owns the key.
    pub service_account_id: String,
    /// When the key was created (RFC 3339), as the server said.
    pub created_at: Option<String>,
    /// The key's scopes.
    pub scopes: Vec<String>,
    /// When the key expires, if it does.
    pub expires_at: Option<OffsetDateTime>,
    /// The secret (`Authorization: Api-Key <secret>`).
    pub secret: SecretString,
}

impl std::fmt::Debug for StoredKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredKey")
            .field("id", &self.id)
            .field("service_account_id", &self.service_account_id)
            .field("scopes", &self.scopes)
            .field("expires_at", &self.expires_at)
            .field("secret", &"***")
            .finish()
    }
}

/// The file's document: `api_key` (the key's fields as `yc iam api-key create` prints them) and
/// `secret`. Borrowed when written, owned when read; the one definition of the shape.
#[derive(Serialize, Deserialize)]
struct Document<'a> {
    api_key: KeyFields<'a>,
    secret: Cow<'a, str>,
}

#[derive(Serialize, Deserialize)]
struct KeyFields<'a> {
    id: Cow<'a, str>,
    service_account_id: Cow<'a, str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    created_at: Option<Cow<'a, str>>,
    #[serde(default)]
    scopes: Cow<'a, [String]>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<String>,
}

/// Why a key file could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFileError {
    /// Reading, writing or renaming failed.
    #[error("{}: {action}", path.display())]
    Io {
        /// The key file.
        path: PathBuf,
        /// What was being done (`cannot read`, `cannot write`…).
        action: &'static str,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file exists but is not of the format its sink writes; it is left alone.
    #[error("{}: exists but is not {expected} ({problem})", path.display())]
    NotAKeyFile {
        /// The file.
        path: PathBuf,
        /// The format its sink writes, as a phrase: `an API-key file`, `an authorized-key file`,
        /// `an AWS credentials file`, `a dotenv file`, `a Kubernetes Secret manifest`.
        expected: &'static str,
        /// What is wrong with it.
        problem: String,
    },
}

impl StoredKey {
    /// The key file's document, for writing it in another format (the CLI prints it as JSON or
    /// YAML with `--output -`). It holds the secret.
    pub fn document(&self) -> impl Serialize + '_ {
        Document {
            api_key: KeyFields {
                id: Cow::Borrowed(&self.id),
                service_account_id: Cow::Borrowed(&self.service_account_id),
                created_at: self.created_at.as_deref().map(Cow::Borrowed),
                scopes: Cow::Borrowed(&self.scopes),
                expires_at: self.expires_at.and_then(|t| t.format(&Rfc3339).ok()),
            },
            secret: Cow::Borrowed(self.secret.expose_secret()),
        }
    }

    /// Renders the file's YAML text (contains the secret; cleared when dropped).
    pub fn to_yaml(&self) -> Zeroizing<String> {
        // Plain strings and lists only: serialization cannot fail.
        Zeroizing::new(serde_norway::to_string(&self.document()).unwrap_or_default())
    }

    /// Parses a key file's text.
    pub fn from_yaml(text: &str) -> Result<Self, String> {
        // Never show the parser's message: serde quotes the offending value, which may be the secret.
        let mut shape: Document<'_> = serde_norway::from_str(text).map_err(|e| match e.location() {
            Some(at) => format!(
                "not the expected YAML shape (line {}, column {})",
                at.line(),
                at.column()
            ),
            None => "not the expected YAML shape".to_owned(),
        })?;
        let secret = crate::secret::take(shape.secret.to_mut());
        if shape.api_key.id.trim().is_empty() {
            return Err("api_key.id is empty".into());
        }
        if secret.expose_secret().trim().is_empty() {
            return Err("secret is empty".into());
        }
        let expires_at = match shape
            .api_key
            .expires_at
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            Some(text) => Some(
                OffsetDateTime::parse(text, &Rfc3339)
                    .map_err(|_| "api_key.expires_at is not an RFC 3339 time".to_owned())?,
            ),
            None => None,
        };
        Ok(Self {
            id: shape.api_key.id.into_owned(),
            service_account_id: shape.api_key.service_account_id.into_owned(),
            created_at: shape.api_key.created_at.map(Cow::into_owned),
            scopes: shape.api_key.scopes.into_owned(),
            expires_at,
            secret,
        })
    }

    /// Reads the key file at `path`: `Ok(None)` when there is none. A file that is not a regular
    /// one (a pipe, a device) or is larger than 1 MiB is [`KeyFileError::NotAKeyFile`], unread.
    pub fn read(path: &Path) -> Result<Option<Self>, KeyFileError> {
        let Some(text) = read_text(path, API_KEY_FILE)? else {
            return Ok(None);
        };
        Self::from_yaml(&text)
            .map(Some)
            .map_err(|problem| KeyFileError::NotAKeyFile {
                path: path.to_owned(),
                expected: API_KEY_FILE,
                problem,
            })
    }

    /// Writes the key file atomically with mode 0600, removing first any temporary file a killed
    /// earlier write left beside it.
    pub fn write(&self, path: &Path) -> Result<(), KeyFileError> {
        write_private(path, &self.to_yaml())
    }
}

/// Writes a file that holds a secret (a key file, a dotenv file, a manifest) atomically with mode
/// 0600, removing first any temporary file a killed earlier write left beside it.
pub(super) fn write_private(path: &Path, text: &str) -> Result<(), KeyFileError> {
    private_file::remove_temporaries(path);
    private_file::write(path, text.as_bytes()).map_err(|e| KeyFileError::Io {
        path: path.to_owned(),
        action: e.action,
        source: e.source,
    })
}

/// The format [`StoredKey`] reads and writes, as [`KeyFileError::NotAKeyFile`] names it.
pub(super) const API_KEY_FILE: &str = "an API-key file";

/// The text of a file that may hold a secret (see [`private_file::read_text`]), `None` when it
/// does not exist; a file that cannot be `expected` (a format, as [`KeyFileError::NotAKeyFile`]
/// names it) is one, whatever is in it: not a regular file, too large, not UTF-8.
pub(super) fn read_text(path: &Path, expected: &'static str) -> Result<Option<Zeroizing<String>>, KeyFileError> {
    private_file::read_text(path).map_err(|source| match source.kind() {
        std::io::ErrorKind::InvalidData => KeyFileError::NotAKeyFile {
            path: path.to_owned(),
            expected,
            problem: source.to_string(),
        },
        _ => KeyFileError::Io {
            path: path.to_owned(),
            action: "cannot read",
            source,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> StoredKey {
        StoredKey {
            id: "ajekey".into(),
            service_account_id: "ajesa".into(),
            created_at: Some("2026-01-02T03:04:05Z".into()),
            scopes: vec!["yc.ai.languageModels.execute".into()],
            expires_at: Some(time::macros::datetime!(2027-01-01 0:00 UTC)),
            secret: SecretString::from("AQVNsecret"),
        }
    }

    #[test]
    fn the_file_has_the_yc_shape_and_reads_back() {
        // The text holds the secret: it is cleared when dropped.
        let text: Zeroizing<String> = key().to_yaml();
        let doc: serde_norway::Value = serde_norway::from_str(&text).unwrap();
        assert_eq!(doc["api_key"]["id"].as_str(), Some("ajekey"));
        assert_eq!(doc["api_key"]["expires_at"].as_str(), Some("2027-01-01T00:00:00Z"));
        assert_eq!(doc["secret"].as_str(), Some("AQVNsecret"));
        let back = StoredKey::from_yaml(&text).unwrap();
        assert_eq!(back.scopes, key().scopes);
        assert_eq!(back.expires_at, key().expires_at);
        assert!(!format!("{back:?}").contains("AQVN"));
    }

    #[cfg(unix)]
    #[test]
    fn written_files_are_private_and_replace_the_old_one() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("api-key.yaml");
        std::fs::write(&path, "old").unwrap();
        std::fs::write(dir.path().join(".api-key.yaml.tmp-1-dead"), "stale").unwrap();
        key().write(&path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(StoredKey::read(&path).unwrap().unwrap().id, "ajekey");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("api-key.yaml")]);
    }

    #[test]
    fn a_damaged_key_file_never_shows_the_secret_in_the_error() {
        for text in [
            "AQVNsecretvalue\n",
            "api_key: AQVNsecretvalue\n",
            "api_key: {id: x}\nsecret: [AQVNsecretvalue]\n",
        ] {
            let err = StoredKey::from_yaml(text).unwrap_err();
            assert!(!err.contains("AQVNsecretvalue"), "{err}");
        }
        let text = "api_key: {id: x, service_account_id: y, expires_at: AQVNsecretvalue}\nsecret: s\n";
        assert!(StoredKey::from_yaml(text).is_err());
    }

    #[test]
    fn a_file_that_is_not_a_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.yaml");
        std::fs::write(&path, "hello: world\n").unwrap();
        let err = StoredKey::read(&path).unwrap_err().to_string();
        assert!(err.contains("exists but is not an API-key file"), "{err}");
        assert_eq!(StoredKey::read(&dir.path().join("absent")).unwrap().map(|k| k.id), None);
    }
}
