//! `yc-iam key create|get|list|update|delete`: authorized keys, in the shapes of `yc iam key`.

use yc_iam::CreateKey;
use yc_iam::provision::{AuthorizedKeyFile, KeyAlgorithm, check_description};

use super::AccountRef;
use super::account_key;
use crate::cli::KeyCommand;
use crate::error::{CliError, CliResult};
use crate::output::{self, KeyView};
use crate::session::connect;
use crate::settings::Settings;

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
                None => output::print_document(format, &key_file.document())?,
            }
        }
        KeyCommand::Record(cmd) => {
            let update = |id, change| account_key::update_description::<KeyView>(settings, id, change);
            account_key::run::<KeyView, _>(settings, cmd, update).await?
        }
    }
    Ok(())
}
