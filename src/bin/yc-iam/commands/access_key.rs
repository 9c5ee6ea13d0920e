//! `yc-iam access-key create|get|list|update|delete`: static access keys, in the shapes of
//! `yc iam access-key`.

use futures_util::TryStreamExt;
use yc_iam::provision::{StaticKey, check_description, check_id};
use yc_iam::{CreateAccessKey, UpdateAccessKey};

use super::{AccountRef, finish};
use crate::cli::{AccessKeyCommand, Format};
use crate::error::CliResult;
use crate::output::{self, AccessKeyView};
use crate::session::connect;
use crate::settings::Settings;

const COLUMNS: &[output::Column] = &[
    ("ID", "id"),
    ("KEY ID", "key_id"),
    ("DESCRIPTION", "description"),
    ("CREATED AT", "created_at"),
    ("LAST USED AT", "last_used_at"),
];

pub(crate) async fn run(settings: &Settings, cmd: AccessKeyCommand) -> CliResult {
    let format = settings.format;
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
            let f = if format == Format::Json {
                Format::Json
            } else {
                Format::Yaml
            };
            output::write_document(&mut std::io::stdout().lock(), f, &key.document())?;
        }
        AccessKeyCommand::Get { id } => {
            check_id("<ID>", &id)?;
            let session = connect(settings).await?;
            output::print_one(format, &AccessKeyView::from(&session.access_keys().get(&id).await?))?;
        }
        AccessKeyCommand::List { owner } => {
            let account = AccountRef::from_owner(settings, &owner)?;
            let session = connect(settings).await?;
            let id = account.id(&session).await?;
            let keys: Vec<_> = session.access_keys().list(&id).try_collect().await?;
            let views: Vec<AccessKeyView> = keys.iter().map(Into::into).collect();
            output::print_list(format, &views, COLUMNS)?;
        }
        AccessKeyCommand::Update { id, description } => {
            check_id("<ID>", &id)?;
            check_description("--description", &description)?;
            let session = connect(settings).await?;
            let request = UpdateAccessKey::new(&id).description(description);
            let op = session.access_keys().update(request).await?;
            if let Some(key) = finish(settings, op, "updating access key").await? {
                output::print_one(format, &AccessKeyView::from(&key))?;
            }
        }
        AccessKeyCommand::Delete { id } => {
            check_id("<ID>", &id)?;
            let session = connect(settings).await?;
            let op = session.access_keys().delete(&id).await?;
            if finish(settings, op, "deleting access key").await?.is_some() {
                super::print_deleted(format, "access key", &id)?;
            }
        }
    }
    Ok(())
}
