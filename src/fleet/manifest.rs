//! The fleet manifest: a YAML file (`apiVersion: yc-iam/v1`, `kind: Fleet`) that declares
//! service accounts, their roles and their keys. Parsing is two steps: the YAML parser builds the
//! raw shape (unknown fields and wrong types fail there, with their position), then every rule
//! is checked on the raw values, which become the typed [`Manifest`]. Every error names the
//! file, the line and column, and the path of the value at fault.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path as FsPath, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::locate::{Path, locate};
use crate::duration;
use crate::provision::{
    Grant, InvalidInput, SinkAddress, check_description, check_expiry, check_id, check_labels, check_role,
    check_scopes, check_service_account_name,
};

/// The `apiVersion` this version of yc-iam reads.
pub const API_VERSION: &str = "yc-iam/v1";

/// Labels yc-iam puts on the accounts a fleet manages; a manifest may not set them itself.
pub const RESERVED_LABELS: [&str; 2] = ["managed-by", "fleet"];

/// A parsed and checked fleet manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// `metadata.name`: which fleet this manifest manages (the `fleet` label of its accounts).
    pub name: String,
    /// The service accounts, in the order of the file.
    pub accounts: Vec<AccountSpec>,
    /// `defaults.folder_id`: with prune, read for this fleet's accounts even when no account
    /// of the manifest lives there.
    pub default_folder: Option<String>,
}

/// A service account the manifest declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSpec {
    /// The account's name, unique in the manifest.
    pub name: String,
    /// The folder the account lives in (its own `folder_id`, else `defaults.folder_id`).
    pub folder_id: String,
    /// The account's description, when the manifest gives one.
    pub description: Option<String>,
    /// The account's own labels (yc-iam adds `managed-by` and `fleet`).
    pub labels: BTreeMap<String, String>,
    /// Roles the account has, each on a folder or a cloud.
    pub roles: Vec<RoleSpec>,
    /// Keys the account has, each kept in its sink.
    pub keys: Vec<KeySpec>,
}

/// A role on a resource.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RoleSpec {
    /// The role id, such as `ai.languageModels.user`.
    pub role: String,
    /// Where the role is granted.
    pub resource: Grant,
}

/// A key the manifest declares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySpec {
    /// The kind of key.
    pub kind: KeyType,
    /// Where the key's secret is kept. Relative paths are relative to the manifest's folder.
    pub output: SinkAddress,
    /// API keys only: the scopes the key is limited to.
    pub scopes: Vec<String>,
    /// API keys only: how long after its creation the key expires.
    pub expires_in: Option<Duration>,
    /// The age after which the key is replaced by a new one.
    pub rotate_after: Option<Duration>,
    /// Authorized keys only: the RSA key size.
    pub algorithm: Option<KeyAlgorithm>,
    /// The key's description (yc-iam adds its marker).
    pub description: Option<String>,
}

pub use crate::provision::{KeyAlgorithm, KeyType};

/// A manifest that cannot be used: where and why.
/// `Display`: `fleet.yaml:12:7: service_accounts[0].keys[1].type: <what is wrong>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestError {
    /// The file, as it was named.
    pub file: PathBuf,
    /// 1-based line and column of the value at fault, when the text has one.
    pub position: Option<(usize, usize)>,
    /// The path of the value at fault (`service_accounts[0].name`); empty for the whole document.
    pub path: String,
    /// What is wrong, as one phrase.
    pub message: String,
}

impl fmt::Display for ManifestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some((line, column)) = self.position {
            write!(f, ":{line}:{column}")?;
        }
        if !self.path.is_empty() {
            write!(f, ": {}", self.path)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ManifestError {}

impl Manifest {
    /// Reads and checks the manifest at `file`; relative sink paths are resolved against the
    /// file's folder. A file that is not a regular one (a pipe, a device) or is larger than 16 MiB
    /// is refused unread.
    pub fn load(file: &FsPath) -> Result<Manifest, ManifestError> {
        let text = crate::private_file::read_text_within(file, crate::private_file::MANIFEST_LIMIT)
            .and_then(|text| text.ok_or_else(crate::private_file::missing))
            .map_err(|e| ManifestError {
                file: file.to_owned(),
                position: None,
                path: String::new(),
                message: format!("cannot read the manifest: {e}"),
            })?;
        let base = file.parent().unwrap_or(FsPath::new(""));
        Self::parse(&text, file, base)
    }

    /// Checks the manifest `text`, naming it `file` in errors and resolving relative sink paths
    /// against `base`.
    pub fn parse(text: &str, file: &FsPath, base: &FsPath) -> Result<Manifest, ManifestError> {
        let raw: RawManifest = serde_norway::from_str(text).map_err(|e| parse_error(file, &e))?;
        Checker { base, reserved: 0 }
            .manifest(raw)
            .map_err(|(path, message)| ManifestError {
                file: file.to_owned(),
                position: locate(text, &path),
                path: path.to_string(),
                message,
            })
    }
}

/// A parser error as a [`ManifestError`]: the parser writes `path: message at line L column C`.
fn parse_error(file: &FsPath, error: &serde_norway::Error) -> ManifestError {
    let position = error.location().map(|at| (at.line(), at.column()));
    let mut text = error.to_string();
    if let Some((line, column)) = position
        && let Some(stripped) = text.strip_suffix(&format!(" at line {line} column {column}"))
    {
        text = stripped.to_owned();
    }
    let is_path = |p: &str| {
        !p.is_empty()
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '[' | ']' | '-'))
    };
    let (path, message) = match text.split_once(": ") {
        Some((path, message)) if is_path(path) => (path.to_owned(), message.to_owned()),
        _ => (String::new(), text),
    };
    ManifestError {
        file: file.to_owned(),
        position,
        path,
        message,
    }
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a fleet manifest: a mapping with apiVersion, kind, metadata and service_accounts"
)]
struct RawManifest {
    #[serde(rename = "apiVersion")]
    api_version: String,
    kind: String,
    metadata: RawMetadata,
    #[serde(default)]
    defaults: RawDefaults,
    #[serde(default)]
    service_accounts: Vec<RawAccount>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping with the fleet's name")]
struct RawMetadata {
    name: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, expecting = "a mapping with folder_id")]
struct RawDefaults {
    folder_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a service account: a mapping with name, folder_id, description, labels, roles and keys"
)]
struct RawAccount {
    name: String,
    folder_id: Option<String>,
    description: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    roles: Vec<RawRole>,
    #[serde(default)]
    keys: Vec<RawKey>,
}

/// `ai.languageModels.user` (on the account's folder) or `{ role, folder_id | cloud_id }`.
enum RawRole {
    Name(String),
    On(RawBinding),
}

// By hand rather than `untagged`, so that an error inside the mapping keeps its own path and
// position instead of becoming "no variant matched" at the list.
impl<'de> Deserialize<'de> for RawRole {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RoleVisitor;
        impl<'de> serde::de::Visitor<'de> for RoleVisitor {
            type Value = RawRole;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a role id, or a mapping with role and folder_id or cloud_id")
            }
            fn visit_str<E: serde::de::Error>(self, role: &str) -> Result<RawRole, E> {
                Ok(RawRole::Name(role.to_owned()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<RawRole, A::Error> {
                RawBinding::deserialize(serde::de::value::MapAccessDeserializer::new(map)).map(RawRole::On)
            }
        }
        deserializer.deserialize_any(RoleVisitor)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a mapping with role and folder_id or cloud_id")]
struct RawBinding {
    role: String,
    folder_id: Option<String>,
    cloud_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a key: a mapping with type and output")]
struct RawKey {
    #[serde(rename = "type")]
    kind: KeyType,
    output: String,
    scopes: Option<Vec<String>>,
    expires_in: Option<String>,
    rotate_after: Option<String>,
    algorithm: Option<KeyAlgorithm>,
    description: Option<String>,
}

/// A rule broken at a path.
type Broken = (Path, String);

struct Checker<'a> {
    base: &'a FsPath,
    /// How much of a key description yc-iam takes: the fleet's tag and the longest marker.
    reserved: usize,
}

/// An [`InvalidInput`] from the library's rules, as a phrase about the value at `path`.
fn rule(path: &Path) -> impl Fn(InvalidInput) -> Broken + '_ {
    move |e| (path.clone(), format!("{:?} {}", e.value, e.rule))
}

impl Checker<'_> {
    fn manifest(&self, raw: RawManifest) -> Result<Manifest, Broken> {
        let root = Path::default();
        if raw.api_version != API_VERSION {
            return Err((
                root.key("apiVersion"),
                format!("must be {API_VERSION}, not {:?}", raw.api_version),
            ));
        }
        if raw.kind != "Fleet" {
            return Err((root.key("kind"), format!("must be Fleet, not {:?}", raw.kind)));
        }
        let name_path = root.key("metadata").key("name");
        let name = raw.metadata.name;
        check_labels("metadata.name", &BTreeMap::from([("fleet".to_owned(), name.clone())]))
            .map_err(|e| (name_path.clone(), e.rule.replace("label values", "a fleet name")))?;
        if name.is_empty() {
            return Err((name_path, "must not be empty".into()));
        }
        let default_folder = raw.defaults.folder_id;
        if let Some(folder) = &default_folder {
            check_id("folder_id", folder).map_err(rule(&root.key("defaults").key("folder_id")))?;
        }
        // `fleet <name>: ` before the description, ` [yc-iam:lockbox:<id>]` at most after it.
        let this = Checker {
            base: self.base,
            reserved: super::keys::tag(&name).len() + 2 + crate::provision::sink_marker_room(),
        };
        let accounts_path = root.key("service_accounts");
        let mut names = BTreeMap::new();
        let mut sinks = BTreeMap::new();
        let mut accounts = Vec::with_capacity(raw.service_accounts.len());
        for (i, account) in raw.service_accounts.into_iter().enumerate() {
            let path = accounts_path.index(i);
            if let Some(first) = names.insert(account.name.clone(), i) {
                return Err((
                    path.key("name"),
                    format!("{:?} is declared twice (also service_accounts[{first}])", account.name),
                ));
            }
            let account = this.account(&path, account, default_folder.as_deref())?;
            for (k, key) in account.keys.iter().enumerate() {
                let here = format!("service_accounts[{i}].keys[{k}]");
                if let Some(first) = sinks.insert(sink_identity(&account.folder_id, &key.output), here) {
                    return Err((
                        path.key("keys").index(k).key("output"),
                        format!("{} already keeps the key of {first}: one key per sink", key.output),
                    ));
                }
            }
            accounts.push(account);
        }
        Ok(Manifest {
            name,
            accounts,
            default_folder,
        })
    }

    fn account(&self, path: &Path, raw: RawAccount, default_folder: Option<&str>) -> Result<AccountSpec, Broken> {
        check_service_account_name("name", &raw.name).map_err(rule(&path.key("name")))?;
        let folder_id = match (raw.folder_id, default_folder) {
            (Some(folder), _) => {
                check_id("folder_id", &folder).map_err(rule(&path.key("folder_id")))?;
                folder
            }
            (None, Some(folder)) => folder.to_owned(),
            (None, None) => {
                return Err((
                    path.key("folder_id"),
                    "no folder: set folder_id here or in defaults".into(),
                ));
            }
        };
        if let Some(description) = &raw.description {
            check_description("description", description).map_err(rule(&path.key("description")))?;
        }
        let labels_path = path.key("labels");
        check_labels("labels", &raw.labels).map_err(rule(&labels_path))?;
        if let Some(reserved) = RESERVED_LABELS.iter().find(|l| raw.labels.contains_key(**l)) {
            return Err((labels_path, format!("{reserved} is set by yc-iam, not by the manifest")));
        }
        if raw.labels.len() > 64 - RESERVED_LABELS.len() {
            return Err((
                labels_path,
                "at most 62 labels: yc-iam adds managed-by and fleet".into(),
            ));
        }
        let mut roles = BTreeSet::new();
        for (i, role) in raw.roles.into_iter().enumerate() {
            let role_path = path.key("roles").index(i);
            let role = self.role(&role_path, role, &folder_id)?;
            if roles.contains(&role) {
                return Err((
                    role_path,
                    format!("{} on {:?} is listed twice", role.role, role.resource),
                ));
            }
            roles.insert(role);
        }
        let keys = raw
            .keys
            .into_iter()
            .enumerate()
            .map(|(i, key)| self.key(&path.key("keys").index(i), key))
            .collect::<Result<_, _>>()?;
        Ok(AccountSpec {
            name: raw.name,
            folder_id,
            description: raw.description,
            labels: raw.labels,
            roles: roles.into_iter().collect(),
            keys,
        })
    }

    fn role(&self, path: &Path, raw: RawRole, folder_id: &str) -> Result<RoleSpec, Broken> {
        let (role, resource, role_path) = match raw {
            RawRole::Name(role) => (role, Grant::Folder(folder_id.to_owned()), path.clone()),
            RawRole::On(RawBinding {
                role,
                folder_id: folder,
                cloud_id: cloud,
            }) => {
                let resource = match (folder, cloud) {
                    (Some(_), Some(_)) => return Err((path.clone(), "give folder_id or cloud_id, not both".into())),
                    (Some(folder), None) => {
                        check_id("folder_id", &folder).map_err(rule(&path.key("folder_id")))?;
                        Grant::Folder(folder)
                    }
                    (None, Some(cloud)) => {
                        check_id("cloud_id", &cloud).map_err(rule(&path.key("cloud_id")))?;
                        Grant::Cloud(cloud)
                    }
                    (None, None) => Grant::Folder(folder_id.to_owned()),
                };
                (role, resource, path.key("role"))
            }
        };
        check_role("role", &role).map_err(rule(&role_path))?;
        Ok(RoleSpec { role, resource })
    }

    fn key(&self, path: &Path, raw: RawKey) -> Result<KeySpec, Broken> {
        let only_for = |field: &'static str, given: bool, kind: KeyType| -> Result<(), Broken> {
            if given && raw.kind != kind {
                let name = match kind {
                    KeyType::ApiKey => "API keys",
                    KeyType::AuthorizedKey => "authorized keys",
                    KeyType::StaticKey => "static keys",
                };
                return Err((path.key(field), format!("applies only to {name}")));
            }
            Ok(())
        };
        only_for("scopes", raw.scopes.is_some(), KeyType::ApiKey)?;
        only_for("expires_in", raw.expires_in.is_some(), KeyType::ApiKey)?;
        only_for("algorithm", raw.algorithm.is_some(), KeyType::AuthorizedKey)?;
        let scopes = raw.scopes.unwrap_or_default();
        check_scopes("scopes", &scopes).map_err(rule(&path.key("scopes")))?;
        let positive = |field: &'static str, text: &Option<String>| -> Result<Option<Duration>, Broken> {
            text.as_deref()
                .map(|t| duration::parse_positive(t).map_err(|e| (path.key(field), e.to_string())))
                .transpose()
        };
        let expires_in = positive("expires_in", &raw.expires_in)?;
        if let Some(expires) = expires_in {
            // The key is made when apply runs, so the limit is checked from now.
            let at = time::OffsetDateTime::now_utc() + expires;
            check_expiry("expires_in", at, time::OffsetDateTime::now_utc()).map_err(|e| {
                (
                    path.key("expires_in"),
                    format!(
                        "{} would make the key expire at {}: an expiry {}",
                        raw.expires_in.as_deref().unwrap_or_default(),
                        e.value,
                        e.rule
                    ),
                )
            })?;
        }
        let rotate_after = positive("rotate_after", &raw.rotate_after)?;
        if let (Some(rotate), Some(expires)) = (rotate_after, expires_in)
            && rotate >= expires
        {
            return Err((
                path.key("rotate_after"),
                "must be shorter than expires_in, or the key expires before it is rotated".into(),
            ));
        }
        if let Some(description) = &raw.description {
            check_description("description", description).map_err(rule(&path.key("description")))?;
            let room = 256 - self.reserved;
            if description.chars().count() > room {
                return Err((
                    path.key("description"),
                    format!("must be at most {room} characters long (yc-iam adds the fleet's tag and a marker)"),
                ));
            }
        }
        if raw.kind == KeyType::ApiKey && scopes.is_empty() {
            return Err((
                path.key("scopes"),
                "an API key needs at least one scope, such as yc.ai.languageModels.execute".into(),
            ));
        }
        let output_path = path.key("output");
        let output = match raw.output.parse::<SinkAddress>() {
            Ok(SinkAddress::Stdout) => {
                return Err((
                    output_path,
                    "a fleet key needs a sink that keeps it: a file, env:PATH, k8s:PATH or lockbox://NAME".into(),
                ));
            }
            Ok(SinkAddress::File(p)) => SinkAddress::File(self.base.join(p)),
            Ok(SinkAddress::Env(p)) => SinkAddress::Env(self.base.join(p)),
            Ok(SinkAddress::K8s(p)) => SinkAddress::K8s(self.base.join(p)),
            Ok(lockbox @ SinkAddress::Lockbox(_)) => lockbox,
            Err(e) => return Err((output_path, e.to_string())),
        };
        crate::provision::check_address(&output)
            .map_err(|e| (output_path.clone(), format!("{:?} {}", raw.output, e.rule)))?;
        Ok(KeySpec {
            kind: raw.kind,
            output,
            scopes,
            expires_in,
            rotate_after,
            algorithm: raw.algorithm,
            description: raw.description,
        })
    }
}

/// What makes two sinks the same: the file (one spelling of its path, the one its marker is
/// made from), or the Lockbox secret (a name is looked up in the account's folder; a name and
/// an id of one secret are told apart only once the plan has read them).
fn sink_identity(folder_id: &str, sink: &SinkAddress) -> String {
    match sink {
        SinkAddress::File(p) | SinkAddress::Env(p) | SinkAddress::K8s(p) => {
            format!("file:{}", crate::provision::marker::absolute(p).display())
        }
        SinkAddress::Lockbox(name) if crate::provision::looks_like_id(name) => format!("lockbox:{name}"),
        SinkAddress::Lockbox(name) => format!("lockbox:{folder_id}/{name}"),
        SinkAddress::Stdout => "-".into(),
    }
}
