//! `yc-iam access-key create|get|list|update|delete`: static access keys, in the shapes of
//! `yc iam access-key`.

use yc_iam::CreateAccessKey;
use yc_iam::provision::{StaticKey, check_description};

use super::AccountRef;
use super::account_key;
use crate::cli::AccessKeyCommand;
use crate::error::CliResult;
use crate::output::{self, AccessKeyView};
use crate::session::connect;
use crate::settings::Settings;

pub(crate) async fn run(settings: &Settings, cmd: AccessKeyCommand) -> CliResult {
    match cmd {
        AccessKeyCommand::Create { owner, description } => {
            let account = AccountRef::from_owner(settings, &owner)?;
            if let Some(d) = &description {
                check_description("--description", d)?;
            }
            let session = connect(settings).await?;
            let id = account.id(&session).await?;
            let mut request = CreateAccessKey::new(&id);
            if let Some(d) = description {
                request = request.description(d);
            }
            // `access_key`, then the secret (shown only now), on stdout.
            let key = StaticKey::from(session.access_keys().create(request).await?);
            output::print_document(settings.format, &key.document())?;
        }
        AccessKeyCommand::Record(cmd) => {
            let update = |id, change| account_key::update_description::<AccessKeyView>(settings, id, change);
            account_key::run::<AccessKeyView, _>(settings, cmd, update).await?
        }
    }
    Ok(())
}
