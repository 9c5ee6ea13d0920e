//! `yc-iam key create|get|list|update|delete`: authorized keys, in the shapes of `yc iam key`.

use futures_util::TryStreamExt;
use yc_iam::provision::{AuthorizedKeyFile, KeyAlgorithm, check_description, check_id};
use yc_iam::{CreateKey, UpdateKey};

use super::{AccountRef, finish};
use crate::cli::{Format, KeyCommand};
use crate::error::{CliError, CliResult};
use crate::output::{self, KeyView};
use crate::session::connect;
use crate::settings::Settings;

const COLUMNS: &[output::Column] = &[
    ("ID", "id"),
    ("DESCRIPTION", "description"),
    ("KEY ALGORITHM", "key_algorithm"),
    ("CREATED AT", "created_at"),
    ("LAST USED AT", "last_used_at"),
];

pub(crate) async fn run(settings: &Settings, cmd: KeyCommand) -> CliResult {
    let format = settings.format;
    match cmd {
        KeyCommand::Create {
            owner,
            description,
            algorithm,
            output: file,
        } => {
            let account = AccountRef::from_owner(settings, &owner)?;
            if let Some(d) = &description {
                check_description("--description", d)?;
            }
            if let Some(path) = &file
                && (path.as_os_str().is_empty() || path.is_dir())
            {
                return Err(CliError::usage(format!(
                    "invalid --output {:?}: must name a file",
                    path.display().to_string()
                )));
            }
            let session = connect(settings).await?;
            let id = account.id(&session).await?;
            let algorithm = match algorithm.unwrap_or_default() {
                KeyAlgorithm::Rsa2048 => yc_iam::model::KeyAlgorithm::Rsa2048,
                KeyAlgorithm::Rsa4096 => yc_iam::model::KeyAlgorithm::Rsa4096,
            };
            let mut request = CreateKey::new(&id).algorithm(algorithm);
            if let Some(d) = description {
                request = request.description(d);
            }
            let created = session.keys().create(request).await?;
            let view = KeyView::from(&created.key);
            let key_file = AuthorizedKeyFile::from(created);
            match file {
                // The private key goes to the file only; stdout gets the key without it.
                Some(path) => {
                    key_file
                        .write(&path)
                        .map_err(|e| CliError::failure(crate::error::chain(&e)))?;
                    output::print_one(format, &view)?;
                }
                None => {
                    let f = if format == Format::Json {
                        Format::Json
                    } else {
                        Format::Yaml
                    };
                    output::write_document(&mut std::io::stdout().lock(), f, &key_file.document())?;
                }
            }
        }
        KeyCommand::Get { id } => {
            check_id("<ID>", &id)?;
            let session = connect(settings).await?;
            output::print_one(format, &KeyView::from(&session.keys().get(&id).await?))?;
        }
        KeyCommand::List { owner } => {
            let account = AccountRef::from_owner(settings, &owner)?;
            let session = connect(settings).await?;
            let id = account.id(&session).await?;
            let keys: Vec<_> = session.keys().list(&id).try_collect().await?;
            let views: Vec<KeyView> = keys.iter().map(Into::into).collect();
            output::print_list(format, &views, COLUMNS)?;
        }
        KeyCommand::Update { id, description } => {
            check_id("<ID>", &id)?;
            check_description("--description", &description)?;
            let session = connect(settings).await?;
            let op = session
                .keys()
                .update(UpdateKey::new(&id).description(description))
                .await?;
            if let Some(key) = finish(settings, op, "updating authorized key").await? {
                output::print_one(format, &KeyView::from(&key))?;
            }
        }
        KeyCommand::Delete { id } => {
            check_id("<ID>", &id)?;
            let session = connect(settings).await?;
            let op = session.keys().delete(&id).await?;
            if finish(settings, op, "deleting authorized key").await?.is_some() {
                super::print_deleted(format, "authorized key", &id)?;
            }
        }
    }
    Ok(())
}
