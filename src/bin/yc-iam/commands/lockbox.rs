//! `yc-iam lockbox secret list|get` and `yc-iam lockbox payload get`, in the shapes `yc lockbox`
//! prints. Payload values are masked unless `--reveal` is given.

use base64::Engine as _;
use futures_util::TryStreamExt;
use serde::Serialize;
use yc_iam::SecretRef;
use yc_iam::model::{LockboxSecret, LockboxVersion};

use crate::cli::{LockboxCommand, PayloadCommand, SecretCommand, SecretSelector};
use crate::error::{CliError, CliResult};
use crate::output::{self, ResourceHead, timestamp};
use crate::session::connect;
use crate::settings::Settings;
use yc_iam::provision::{check_id, check_secret_name};

/// What a masked value shows.
const MASK: &str = "***";

const COLUMNS: &[output::Column] = &[
    ("ID", "id"),
    ("NAME", "name"),
    ("KMS KEY ID", "kms_key_id"),
    ("STATUS", "status"),
];

#[derive(Serialize)]
struct SecretView {
    #[serde(flatten)]
    head: ResourceHead,
    #[serde(skip_serializing_if = "String::is_empty")]
    kms_key_id: String,
    status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    current_version: Option<VersionView>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    deletion_protection: bool,
}

#[derive(Serialize)]
struct VersionView {
    id: String,
    secret_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    destroy_at: Option<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    description: String,
    status: String,
    payload_entry_keys: Vec<String>,
}

impl From<&LockboxVersion> for VersionView {
    fn from(v: &LockboxVersion) -> Self {
        VersionView {
            id: v.id.clone(),
            secret_id: v.secret_id.clone(),
            created_at: timestamp(v.created_at.as_ref()),
            destroy_at: timestamp(v.destroy_at.as_ref()),
            description: v.description.clone(),
            status: v.status().as_str_name().to_owned(),
            payload_entry_keys: v.payload_entry_keys.clone(),
        }
    }
}

impl From<&LockboxSecret> for SecretView {
    fn from(s: &LockboxSecret) -> Self {
        SecretView {
            head: s.into(),
            kms_key_id: s.kms_key_id.clone(),
            status: s.status().as_str_name().to_owned(),
            current_version: s.current_version.as_ref().map(VersionView::from),
            deletion_protection: s.deletion_protection,
        }
    }
}

/// `yc lockbox payload get`: the version and its entries, each a `text_value` or a base64
/// `binary_value`.
#[derive(Serialize)]
struct PayloadView {
    version_id: String,
    entries: Vec<EntryView>,
}

#[derive(Serialize)]
struct EntryView {
    key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    text_value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    binary_value: Option<String>,
}

pub(crate) async fn run(settings: &Settings, cmd: LockboxCommand) -> CliResult {
    let format = settings.format;
    match cmd {
        LockboxCommand::Secret(SecretCommand::List) => {
            let folder_id = settings.folder_id()?;
            let session = connect(settings).await?;
            let secrets: Vec<_> = session.lockbox().list(&folder_id).try_collect().await?;
            let views: Vec<SecretView> = secrets.iter().map(Into::into).collect();
            output::print_list(format, &views, COLUMNS)?;
        }
        LockboxCommand::Secret(SecretCommand::Get(selector)) => {
            let secret = secret_ref(settings, &selector)?;
            let session = connect(settings).await?;
            let found = match secret {
                SecretRef::Id(id) => session.lockbox().get(&id).await?,
                SecretRef::Name { folder_id, name } => session
                    .lockbox()
                    .find_by_name(&folder_id, &name)
                    .await?
                    .ok_or_else(|| {
                        CliError::failure(format!("lockbox secret {name:?} not found in folder {folder_id}"))
                    })?,
            };
            output::print_one(format, &SecretView::from(&found))?;
        }
        LockboxCommand::Payload(PayloadCommand::Get {
            secret,
            version_id,
            key,
            reveal,
        }) => {
            let by = secret_ref(settings, &secret)?;
            if let Some(version) = &version_id {
                check_id("--version-id", version)?;
            }
            let session = connect(settings).await?;
            let payload = session.lockbox().payload_ex(by, version_id.as_deref()).await?;
            let shown = |bytes: &[u8]| -> (Option<String>, Option<String>) {
                if !reveal {
                    return (Some(MASK.to_owned()), None);
                }
                match std::str::from_utf8(bytes) {
                    Ok(text) => (Some(text.to_owned()), None),
                    Err(_) => (None, Some(base64::engine::general_purpose::STANDARD.encode(bytes))),
                }
            };
            if let Some(key) = key {
                // `--key`: the value alone, as `yc lockbox payload get --key` prints it.
                let bytes = payload.entries.get(&key).ok_or_else(|| {
                    CliError::failure(format!(
                        "the payload of version {} has no entry {key:?}",
                        payload.version_id
                    ))
                })?;
                let (text, binary) = shown(bytes);
                output::write_stdout(&format!("{}\n", text.or(binary).unwrap_or_default()))?;
                return Ok(());
            }
            let entries = payload
                .entries
                .iter()
                .map(|(key, bytes)| {
                    let (text_value, binary_value) = shown(bytes);
                    EntryView {
                        key: key.clone(),
                        text_value,
                        binary_value,
                    }
                })
                .collect();
            let view = PayloadView {
                version_id: payload.version_id.clone(),
                entries,
            };
            output::print_one(format, &view)?;
        }
    }
    Ok(())
}

/// `--id` or `--name` (in the folder), checked.
fn secret_ref(settings: &Settings, s: &SecretSelector) -> CliResult<SecretRef> {
    match (&s.id, &s.name) {
        (Some(id), _) => {
            check_id("--id", id)?;
            Ok(SecretRef::Id(id.clone()))
        }
        (None, Some(name)) => {
            check_secret_name("--name", name)?;
            Ok(SecretRef::Name {
                folder_id: settings.folder_id()?,
                name: name.clone(),
            })
        }
        (None, None) => Err(CliError::usage("a secret is needed: pass --id or --name")),
    }
}
