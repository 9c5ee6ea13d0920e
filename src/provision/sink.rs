//! Where `provision` keeps the key: a [`KeySink`]. Every sink holds the key in use (reading it
//! gives that key's id) and names itself in the marker new keys carry, so a run finds the keys an
//! interrupted run made for the same sink.
//!
//! The file sinks (key file, dotenv file, Kubernetes manifest) are written whole through
//! `private_file` (atomic, 0600); the Lockbox sink keeps each key in a version of a secret
//! (`lockbox.rs`).

mod address;
mod aws_credentials;
mod dotenv;
pub(super) mod lockbox;
mod manifest;
pub(crate) mod marker;

pub(crate) use aws_credentials::is_profile_name;

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::{ExposeSecret as _, SecretString};
use time::OffsetDateTime;

pub use address::{InvalidSinkAddress, SinkAddress};
pub use lockbox::{LockboxPlan, LockboxReport, READER_ROLE, SecretPlan};

use super::issued::AUTHORIZED_KEY_FILE;
use super::key_file::{API_KEY_FILE, read_text};
use super::{
    AuthorizedKeyFile, InvalidInput, IssuedKey, KeyFileError, KeyType, StoredKey, check_id, check_secret_name,
};
use crate::model::Subject;

/// Where `provision` keeps the key.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeySink {
    /// A key file: YAML in the shape of `yc iam api-key create` output.
    File(PathBuf),
    /// A dotenv file: `YC_API_KEY`, `YC_API_KEY_ID` and `YC_FOLDER_ID` (by default) set in place,
    /// every other line kept.
    Env {
        /// The file.
        path: PathBuf,
        /// The variable names.
        entries: EntryNames,
    },
    /// A Kubernetes `v1/Secret` manifest with the entries in `stringData`.
    K8s {
        /// The manifest file.
        path: PathBuf,
        /// `metadata.name`; the service account's name when `None`.
        secret_name: Option<String>,
        /// The `stringData` keys.
        entries: EntryNames,
    },
    /// A Lockbox secret: each key is a version with the entries `api-key`, `api-key-id` and
    /// `folder-id` (by default).
    Lockbox(LockboxSink),
    /// Returned to the caller in the report (the CLI's `--output -`). Nothing is kept between
    /// runs, so every run creates a key.
    Caller,
}

/// The names of `kind`'s secret and id entries: in a dotenv file (or Kubernetes Secret), then in
/// Lockbox.
fn names_of(kind: KeyType) -> [(&'static str, &'static str); 2] {
    match kind {
        KeyType::ApiKey => [("YC_API_KEY", "YC_API_KEY_ID"), ("api-key", "api-key-id")],
        KeyType::AuthorizedKey => [
            ("YC_AUTHORIZED_KEY", "YC_AUTHORIZED_KEY_ID"),
            ("authorized-key", "authorized-key-id"),
        ],
        KeyType::StaticKey => [
            ("AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID"),
            ("secret-access-key", "access-key-id"),
        ],
    }
}

/// The names the three entries have in a sink.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryNames {
    /// The secret.
    pub api_key: String,
    /// The key's id: the key in use.
    pub api_key_id: String,
    /// The folder of the service account.
    pub folder_id: String,
}

impl EntryNames {
    /// `YC_API_KEY`, `YC_API_KEY_ID`, `YC_FOLDER_ID`: the variables the AI Studio SDK reads.
    pub fn env() -> Self {
        EntryNames::env_for(KeyType::ApiKey)
    }

    /// `api-key`, `api-key-id`, `folder-id`: the Lockbox entries.
    pub fn lockbox() -> Self {
        EntryNames::lockbox_for(KeyType::ApiKey)
    }

    fn new(api_key: &str, api_key_id: &str, folder_id: &str) -> Self {
        EntryNames {
            api_key: api_key.into(),
            api_key_id: api_key_id.into(),
            folder_id: folder_id.into(),
        }
    }

    /// The three names with the role each plays: `api-key`, `api-key-id`, `folder-id`.
    fn named(&self) -> [(&'static str, &str); 3] {
        [
            ("api-key", &self.api_key),
            ("api-key-id", &self.api_key_id),
            ("folder-id", &self.folder_id),
        ]
    }

    /// The entries of `key` under these names.
    fn values<'a>(&'a self, secret: &'a str, key: &'a IssuedKey, folder_id: &'a str) -> [(&'a str, &'a str); 3] {
        [
            (&self.api_key, secret),
            (&self.api_key_id, key.held_as()),
            (&self.folder_id, folder_id),
        ]
    }

    /// These names, or the defaults of `kind` when they are the API-key defaults of `env`
    /// (`YC_API_KEY`…) or of Lockbox (`api-key`…): a sink made before its key's kind was known
    /// names that kind's entries.
    pub(super) fn for_kind(&self, kind: KeyType) -> EntryNames {
        if *self == EntryNames::env() {
            EntryNames::env_for(kind)
        } else if *self == EntryNames::lockbox() {
            EntryNames::lockbox_for(kind)
        } else {
            self.clone()
        }
    }

    /// The dotenv (and Kubernetes) names of `kind`'s entries: the API key's
    /// `YC_API_KEY`/`YC_API_KEY_ID`, the authorized key's `YC_AUTHORIZED_KEY` (its JSON
    /// document)/`YC_AUTHORIZED_KEY_ID`, the static key's `AWS_SECRET_ACCESS_KEY`/
    /// `AWS_ACCESS_KEY_ID`; each with `YC_FOLDER_ID`.
    pub fn env_for(kind: KeyType) -> Self {
        let [(secret, id), _] = names_of(kind);
        EntryNames::new(secret, id, "YC_FOLDER_ID")
    }

    /// The Lockbox entries of `kind`: `api-key`/`api-key-id`, `authorized-key` (its JSON
    /// document)/`authorized-key-id`, or `secret-access-key`/`access-key-id`; each with
    /// `folder-id`.
    pub fn lockbox_for(kind: KeyType) -> Self {
        let [_, (secret, id)] = names_of(kind);
        EntryNames::new(secret, id, "folder-id")
    }

    /// The names of the secret and id entries that `other` does not also use.
    pub(super) fn not_in(&self, other: &EntryNames) -> Vec<&str> {
        [self.api_key.as_str(), self.api_key_id.as_str()]
            .into_iter()
            .filter(|name| other.named().iter().all(|(_, kept)| kept != name))
            .collect()
    }

    /// Checks each name with `valid` (which states the rule) and that the three differ.
    fn check(&self, valid: fn(&str) -> bool, rule: &str) -> Result<(), InvalidInput> {
        for (role, name) in self.named() {
            if !valid(name) {
                return Err(InvalidInput::new("output.entries", format!("{role}={name}"), rule));
            }
        }
        let [a, b, c] = self.named().map(|(_, name)| name);
        if a == b || b == c || a == c {
            return Err(InvalidInput::new(
                "output.entries",
                format!("api-key={a}, api-key-id={b}, folder-id={c}"),
                "the three entries need different names",
            ));
        }
        Ok(())
    }
}

/// A Lockbox secret that keeps the key, found by name in a folder or by id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockboxSink {
    /// The secret.
    pub secret: LockboxSecret,
    /// The folder a secret named by name is in (and created in); the service account's folder
    /// when `None`.
    pub folder_id: Option<String>,
    /// The entry names.
    pub entries: EntryNames,
    /// Subjects granted `lockbox.payloadViewer` on the secret.
    pub readers: Vec<Subject>,
    /// How long a replaced version stays before it is destroyed.
    pub pending_period: Duration,
}

/// How the Lockbox secret is named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockboxSecret {
    /// By name, in the folder: created when there is none.
    Name(String),
    /// By id: it must exist.
    Id(String),
}

/// How long a replaced Lockbox version stays before it is destroyed, unless set: Yandex's
/// default, seven days.
pub const DEFAULT_PENDING_PERIOD: Duration = Duration::from_secs(7 * 24 * 3600);

impl LockboxSink {
    /// The secret `name_or_id`: an id when it looks like one (`e6q` and 17 lowercase letters or
    /// digits), a name otherwise.
    pub fn new(name_or_id: impl Into<String>) -> Self {
        let text = name_or_id.into();
        let secret = if looks_like_id(&text) {
            LockboxSecret::Id(text)
        } else {
            LockboxSecret::Name(text)
        };
        LockboxSink {
            secret,
            folder_id: None,
            entries: EntryNames::lockbox(),
            readers: Vec::new(),
            pending_period: DEFAULT_PENDING_PERIOD,
        }
    }

    /// Looks for (and creates) the secret in this folder.
    pub fn in_folder(mut self, folder_id: impl Into<String>) -> Self {
        self.folder_id = Some(folder_id.into());
        self
    }

    /// Grants `lockbox.payloadViewer` on the secret to one more subject.
    pub fn reader(mut self, subject: Subject) -> Self {
        self.readers.push(subject);
        self
    }

    /// How long a replaced version stays before it is destroyed.
    pub fn pending_period(mut self, period: Duration) -> Self {
        self.pending_period = period;
        self
    }

    /// Other entry names.
    pub fn entries(mut self, entries: EntryNames) -> Self {
        self.entries = entries;
        self
    }
}

/// Whether `text` has the shape of a Lockbox id: `e6q` and 17 lowercase letters or digits.
pub fn looks_like_id(text: &str) -> bool {
    text.len() == 20 && text.starts_with("e6q") && text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// What a sink holds: the key in use.
#[derive(Debug, Clone)]
pub(super) struct Held {
    pub(super) key_id: String,
    /// Known from a key file only.
    pub(super) service_account_id: Option<String>,
    /// Known from a key file only.
    pub(super) expires_at: Option<OffsetDateTime>,
}

/// What a sink holds, from one reading of it: its key, and the ids of the keys it holds in
/// other places (the other profiles of a static key's AWS credentials file, which share its
/// marker).
#[derive(Debug, Default)]
pub(super) struct Holding {
    pub(super) held: Option<Held>,
    pub(super) elsewhere: Vec<String>,
}

impl Held {
    pub(super) fn id(key_id: String) -> Self {
        Held {
            key_id,
            service_account_id: None,
            expires_at: None,
        }
    }
}

impl KeySink {
    /// A dotenv file with the AI Studio variable names.
    pub fn env(path: impl Into<PathBuf>) -> Self {
        KeySink::Env {
            path: path.into(),
            entries: EntryNames::env(),
        }
    }

    /// A Kubernetes Secret manifest named after the service account, with the AI Studio
    /// variable names.
    pub fn k8s(path: impl Into<PathBuf>) -> Self {
        KeySink::K8s {
            path: path.into(),
            secret_name: None,
            entries: EntryNames::env(),
        }
    }

    /// This sink with a Kubernetes Secret's name, when none is set, read from its manifest, so
    /// that rewriting the manifest keeps the name it has.
    pub(crate) fn keeping_name(self) -> KeySink {
        match self {
            KeySink::K8s {
                path,
                secret_name: None,
                entries,
            } => {
                let text = read_text(&path, manifest::FORMAT).ok().flatten();
                let secret_name = text.and_then(|t| manifest::name_of(&t));
                KeySink::K8s {
                    path,
                    secret_name,
                    entries,
                }
            }
            other => other,
        }
    }

    /// The format of the file this sink keeps a key of `kind` in, as
    /// [`KeyFileError::NotAKeyFile`] names it (`a dotenv file`); the caller's and Lockbox's have
    /// none.
    fn format(&self, kind: KeyType) -> &'static str {
        match (self, kind) {
            (KeySink::File(_), KeyType::ApiKey) => API_KEY_FILE,
            (KeySink::File(_), KeyType::AuthorizedKey) => AUTHORIZED_KEY_FILE,
            (KeySink::File(_), KeyType::StaticKey) => aws_credentials::FORMAT,
            (KeySink::Env { .. }, _) => dotenv::FORMAT,
            (KeySink::K8s { .. }, _) => manifest::FORMAT,
            (KeySink::Lockbox(_) | KeySink::Caller, _) => "a file",
        }
    }

    /// The file a file sink writes.
    pub fn path(&self) -> Option<&Path> {
        match self {
            KeySink::File(path) | KeySink::Env { path, .. } | KeySink::K8s { path, .. } => Some(path),
            KeySink::Lockbox(_) | KeySink::Caller => None,
        }
    }

    /// The marker of a file sink's keys (a Lockbox marker needs the secret's id).
    pub(super) fn file_marker(&self) -> Option<String> {
        match self {
            KeySink::File(path) => Some(marker::file(path)),
            KeySink::Env { path, .. } => Some(marker::env(path)),
            KeySink::K8s { path, .. } => Some(marker::k8s(path)),
            KeySink::Lockbox(_) | KeySink::Caller => None,
        }
    }

    /// The room a key description leaves for this sink's marker.
    pub(super) fn marker_len(&self) -> usize {
        match self {
            KeySink::File(_) | KeySink::Caller => marker::FILE_LEN,
            KeySink::Env { .. } | KeySink::K8s { .. } => marker::PATH_KIND_LEN,
            KeySink::Lockbox(_) => marker::LOCKBOX_LEN,
        }
    }

    /// What a file sink holds: nothing for a file that does not exist or holds no key. A file
    /// in another format is bad input: it is left alone. `aws_profile` is the profile of a
    /// static key's credentials file, whose other profiles are read in the same pass.
    pub(super) fn read_file(&self, kind: KeyType, aws_profile: &str) -> Result<Holding, KeyFileError> {
        let holding = |held| {
            Ok(Holding {
                held,
                elsewhere: Vec::new(),
            })
        };
        let expected = self.format(kind);
        let (path, value) = match (self, kind) {
            (KeySink::File(path), KeyType::ApiKey) => {
                return holding(StoredKey::read(path)?.map(|k| Held {
                    key_id: k.id,
                    service_account_id: Some(k.service_account_id),
                    expires_at: k.expires_at,
                }));
            }
            (KeySink::File(path), KeyType::AuthorizedKey) => {
                return holding(AuthorizedKeyFile::read_ids(path)?.map(|(key_id, account)| Held {
                    key_id,
                    service_account_id: Some(account),
                    expires_at: None,
                }));
            }
            (KeySink::File(path), KeyType::StaticKey) => (
                path,
                read_text(path, expected)?.map(|t| aws_credentials::values(&t, aws_profile, aws_credentials::KEY_ID)),
            ),
            (KeySink::Env { path, entries }, _) => (
                path,
                read_text(path, expected)?
                    .map(|t| dotenv::value_of(&t, &entries.api_key_id).map(|id| (id, Vec::new()))),
            ),
            (KeySink::K8s { path, entries, .. }, _) => (
                path,
                read_text(path, expected)?
                    .map(|t| manifest::value_of(&t, &entries.api_key_id).map(|id| (id, Vec::new()))),
            ),
            (KeySink::Lockbox(_) | KeySink::Caller, _) => return holding(None),
        };
        match value {
            None => holding(None),
            Some(Ok((id, elsewhere))) => Ok(Holding {
                held: id.filter(|id| !id.trim().is_empty()).map(Held::id),
                elsewhere,
            }),
            Some(Err(problem)) => Err(KeyFileError::NotAKeyFile {
                path: path.clone(),
                expected,
                problem,
            }),
        }
    }

    /// The secret a dotenv file or Kubernetes Secret manifest holds: the key in use (for an
    /// authorized key, its JSON document). `None` for another sink, or when there is none; a file
    /// in another format is bad input.
    pub(super) fn read_secret(&self) -> Result<Option<SecretString>, KeyFileError> {
        // Only the dotenv and Kubernetes sinks hold a secret to read; their format is the same
        // whatever the kind.
        let expected = self.format(KeyType::ApiKey);
        let (path, value) = match self {
            KeySink::Env { path, entries } => (
                path,
                read_text(path, expected)?.map(|t| dotenv::value_of(&t, &entries.api_key)),
            ),
            KeySink::K8s { path, entries, .. } => (
                path,
                read_text(path, expected)?.map(|t| manifest::value_of(&t, &entries.api_key)),
            ),
            _ => return Ok(None),
        };
        let secret = value.transpose().map_err(|problem| KeyFileError::NotAKeyFile {
            path: path.clone(),
            expected,
            problem,
        })?;
        Ok(secret
            .flatten()
            .filter(|s| !s.trim().is_empty())
            .map(|mut s| crate::secret::take(&mut s)))
    }

    /// Writes `key` to a file sink, keeping what an existing dotenv file, manifest or AWS
    /// credentials file holds besides the key's entries.
    pub(super) fn write_file(
        &self,
        key: &IssuedKey,
        folder_id: &str,
        account_name: &str,
        aws_profile: &str,
    ) -> Result<(), KeyFileError> {
        let secret = key.secret_entry();
        let secret = secret.expose_secret();
        let (path, rendered) = match (self, key) {
            (KeySink::File(path), IssuedKey::Api(key)) => return key.write(path),
            (KeySink::File(path), IssuedKey::Authorized(key)) => (path, Ok(key.to_json())),
            (KeySink::File(path), IssuedKey::Static(key)) => {
                let old = read_text(path, aws_credentials::FORMAT)?.unwrap_or_default();
                let entries = [
                    (aws_credentials::KEY_ID, key.key_id.as_str()),
                    (aws_credentials::SECRET, secret),
                ];
                (path, aws_credentials::set(&old, aws_profile, &entries))
            }
            (KeySink::Env { path, entries }, _) => {
                let old = read_text(path, dotenv::FORMAT)?.unwrap_or_default();
                (path, dotenv::set(&old, &entries.values(secret, key, folder_id)))
            }
            (
                KeySink::K8s {
                    path,
                    secret_name,
                    entries,
                },
                _,
            ) => {
                let old = read_text(path, manifest::FORMAT)?.unwrap_or_default();
                let name = secret_name.as_deref().unwrap_or(account_name);
                (path, manifest::set(&old, name, &entries.values(secret, key, folder_id)))
            }
            (KeySink::Lockbox(_) | KeySink::Caller, _) => return Ok(()),
        };
        let text = rendered.map_err(|problem| KeyFileError::NotAKeyFile {
            path: path.clone(),
            expected: self.format(key.kind()),
            problem,
        })?;
        super::key_file::write_private(path, &text)
    }

    /// Drops the entries of a `kind` key, `held_as`, from a dotenv file or Kubernetes manifest
    /// that now keeps keys of kind `now` (a fleet entry whose type changed), while they still name
    /// that key: the secret and id entries of `kind` that `now` does not share. Any other sink, a
    /// file that names another key there, and entries whose names the kinds share are left alone.
    pub(super) fn drop_entries(&self, kind: KeyType, held_as: &str, now: KeyType) -> Result<(), KeyFileError> {
        let (KeySink::Env { path, entries } | KeySink::K8s { path, entries, .. }) = self else {
            return Ok(());
        };
        let (old, new) = (entries.for_kind(kind), entries.for_kind(now));
        let names = old.not_in(&new);
        let expected = self.format(kind);
        let text = match read_text(path, expected)? {
            Some(text) if !names.is_empty() => text,
            _ => return Ok(()),
        };
        let env = matches!(self, KeySink::Env { .. });
        let not_ours = |problem| KeyFileError::NotAKeyFile {
            path: path.clone(),
            expected,
            problem,
        };
        let named = match env {
            true => dotenv::value_of(&text, &old.api_key_id),
            false => manifest::value_of(&text, &old.api_key_id),
        }
        .map_err(not_ours)?;
        if named.as_deref() != Some(held_as) {
            return Ok(());
        }
        let rendered = match env {
            true => dotenv::unset(&text, &names),
            false => manifest::unset(&text, &names),
        }
        .map_err(not_ours)?;
        super::key_file::write_private(path, &rendered)
    }

    /// Checks the sink's inputs. An error names the field as a path from
    /// [`Provision`](super::Provision): `output` itself, or one of the sink's fields
    /// (`output.entries`, `output.secret_name`, `output.folder_id`, `output.readers`,
    /// `output.pending_period`).
    pub(super) fn check(&self) -> Result<(), InvalidInput> {
        if let Some(path) = self.path() {
            check_path(path)?;
        }
        match self {
            KeySink::Env { entries, .. } => entries.check(
                dotenv::is_variable_name,
                "a dotenv name is a letter or _, then letters, digits or _",
            ),
            KeySink::K8s {
                secret_name, entries, ..
            } => {
                if let Some(name) = secret_name
                    && !manifest::is_secret_name(name)
                {
                    return Err(InvalidInput::new(
                        "output.secret_name",
                        name,
                        "must be at most 253 lowercase letters, digits, '-' and '.', starting and ending with a letter or digit",
                    ));
                }
                entries.check(
                    manifest::is_entry_name,
                    "a Secret key is letters, digits, '-', '_' and '.'",
                )
            }
            KeySink::Lockbox(sink) => sink.check(),
            KeySink::File(_) | KeySink::Caller => Ok(()),
        }
    }
}

impl LockboxSink {
    fn check(&self) -> Result<(), InvalidInput> {
        match &self.secret {
            LockboxSecret::Name(name) => check_secret_name("output", name)
                // The value as it was given.
                .map_err(|e| InvalidInput::new(e.field, format!("lockbox://{name}"), e.rule))?,
            LockboxSecret::Id(id) => check_id("output", id)?,
        }
        if let Some(folder) = &self.folder_id {
            check_id("output.folder_id", folder)?;
            if let LockboxSecret::Id(_) = self.secret {
                // A secret's id names it in every folder: a folder would be silently ignored.
                return Err(InvalidInput::new(
                    "output.folder_id",
                    folder,
                    "applies only to a secret given by name (lockbox://NAME)",
                ));
            }
        }
        self.entries.check(
            |name| {
                name.len() <= 256
                    && !name.is_empty()
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_./\\@".contains(&b))
            },
            "a Lockbox entry key is 1-256 letters, digits, '-', '_', '.', '/', '\\' and '@'",
        )?;
        for reader in &self.readers {
            if reader.r#type.is_empty() || reader.id.is_empty() {
                return Err(InvalidInput::new(
                    "output.readers",
                    format!("{}:{}", reader.r#type, reader.id),
                    "a reader is TYPE:ID",
                ));
            }
            // The payload is the key itself: a public reader would publish it.
            if reader.r#type == "system" && matches!(reader.id.as_str(), "allUsers" | "allAuthenticatedUsers") {
                return Err(InvalidInput::new(
                    "output.readers",
                    format!("system:{}", reader.id),
                    "would let anyone read the key",
                ));
            }
        }
        if self.pending_period.is_zero() {
            return Err(InvalidInput::new(
                "output.pending_period",
                "0s",
                "must be longer than zero",
            ));
        }
        Ok(())
    }
}

/// A path a file sink can write: names a file in a directory that exists.
fn check_path(path: &Path) -> Result<(), InvalidInput> {
    let shown = || path.display().to_string();
    check_file_name(path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.is_dir()
    {
        return Err(InvalidInput::new(
            "output",
            shown(),
            format!("directory {} does not exist", dir.display()),
        ));
    }
    Ok(())
}

/// A path that names a file (not a folder), whether or not its folder exists yet.
pub(crate) fn check_file_name(path: &Path) -> Result<(), InvalidInput> {
    let shown = || path.display().to_string();
    let text = path.as_os_str().to_string_lossy();
    if text.is_empty() || text.ends_with(std::path::MAIN_SEPARATOR) || path.file_name().is_none() {
        return Err(InvalidInput::new("output", shown(), "must name a file"));
    }
    if path.is_dir() {
        return Err(InvalidInput::new("output", shown(), "is a directory, not a file"));
    }
    Ok(())
}

/// The rules a sink's address obeys on its own, before anything is read: a file sink names a
/// file (its folder may not exist yet), a Lockbox secret is a valid name or id. An error names
/// `output` and shows the address as written.
pub(crate) fn check_address(address: &SinkAddress) -> Result<(), InvalidInput> {
    match address {
        SinkAddress::File(path) | SinkAddress::Env(path) | SinkAddress::K8s(path) => check_file_name(path),
        SinkAddress::Lockbox(name) if looks_like_id(name) => Ok(()),
        SinkAddress::Lockbox(name) => {
            check_secret_name("output", name).map_err(|e| InvalidInput::new(e.field, address.to_string(), e.rule))
        }
        SinkAddress::Stdout => Ok(()),
    }
}

impl fmt::Display for KeySink {
    /// The sink in short: a path, `env:PATH`, `k8s:PATH`, `lockbox://NAME` or `-` (the forms the
    /// CLI's `--output` takes).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySink::File(path) => write!(f, "{}", path.display()),
            KeySink::Env { path, .. } => write!(f, "env:{}", path.display()),
            KeySink::K8s { path, .. } => write!(f, "k8s:{}", path.display()),
            KeySink::Lockbox(sink) => match &sink.secret {
                LockboxSecret::Name(name) | LockboxSecret::Id(name) => write!(f, "lockbox://{name}"),
            },
            KeySink::Caller => f.write_str("-"),
        }
    }
}
