//! `yc-iam service-account create|get|list|update|delete` (alias `sa`).

use futures_util::TryStreamExt;
use yc_iam::provision::{check_description, check_service_account_name};
use yc_iam::{CreateServiceAccount, UpdateServiceAccount};

use super::{AccountRef, finish};
use crate::cli::ServiceAccountCommand;
use crate::error::{CliError, CliResult};
use crate::output::{self, ServiceAccountView};
use crate::session::connect;
use crate::settings::Settings;

const COLUMNS: &[output::Column] = &[
    ("ID", "id"),
    ("NAME", "name"),
    ("STATUS", "status"),
    ("CREATED AT", "created_at"),
];

pub(crate) async fn run(settings: &Settings, cmd: ServiceAccountCommand) -> CliResult {
    let format = settings.format;
    match cmd {
        ServiceAccountCommand::Create {
            name,
            description,
            labels,
        } => {
            check_service_account_name("--name", &name)?;
            if let Some(d) = &description {
                check_description("--description", d)?;
            }
            let folder_id = settings.folder_id()?;
            let mut request = CreateServiceAccount::new(&folder_id, &name);
            if let Some(d) = description {
                request = request.description(d);
            }
            if let Some(labels) = labels {
                request = request.labels(labels);
            }
            let session = connect(settings).await?;
            let op = session.service_accounts().create(request).await?;
            if let Some(sa) = finish(settings, op, "creating service account").await? {
                output::print_one(format, &ServiceAccountView::from(&sa))?;
            }
        }
        ServiceAccountCommand::Get(selector) => {
            let account = AccountRef::from_selector(settings, &selector)?;
            let session = connect(settings).await?;
            let id = account.id(&session).await?;
            let sa = session.service_accounts().get(&id).await?;
            output::print_one(format, &ServiceAccountView::from(&sa))?;
        }
        ServiceAccountCommand::List => {
            let folder_id = settings.folder_id()?;
            let session = connect(settings).await?;
            let accounts: Vec<_> = session.service_accounts().list(&folder_id).try_collect().await?;
            let views: Vec<ServiceAccountView> = accounts.iter().map(Into::into).collect();
            output::print_list(format, &views, COLUMNS)?;
        }
        ServiceAccountCommand::Update {
            account,
            new_name,
            description,
            labels,
        } => {
            let account = AccountRef::from_selector(settings, &account)?;
            if let Some(n) = &new_name {
                check_service_account_name("--new-name", n)?;
            }
            if let Some(d) = &description {
                check_description("--description", d)?;
            }
            if new_name.is_none() && description.is_none() && labels.is_none() {
                return Err(CliError::usage(
                    "nothing to change: pass --new-name, --description or --labels",
                ));
            }
            let session = connect(settings).await?;
            let id = account.id(&session).await?;
            let mut request = UpdateServiceAccount::new(&id);
            match new_name {
                Some(n) => request = request.name(n),
                // The API requires the name in every update: keep the current one.
                None => {
                    let current = session.service_accounts().get(&id).await?;
                    request = request.name(current.name);
                }
            }
            if let Some(d) = description {
                request = request.description(d);
            }
            if let Some(l) = labels {
                request = request.labels(l);
            }
            let op = session.service_accounts().update(request).await?;
            if let Some(sa) = finish(settings, op, "updating service account").await? {
                output::print_one(format, &ServiceAccountView::from(&sa))?;
            }
        }
        ServiceAccountCommand::Delete(selector) => {
            let account = AccountRef::from_selector(settings, &selector)?;
            let session = connect(settings).await?;
            let id = account.id(&session).await?;
            let op = session.service_accounts().delete(&id).await?;
            if finish(settings, op, "deleting service account").await?.is_some() {
                if format == crate::cli::Format::Text {
                    output::write_stdout(&format!("deleted service account {id}\n"))?;
                } else {
                    output::print_one(format, &serde_json::json!({ "id": id, "deleted": true }))?;
                }
            }
        }
    }
    Ok(())
}
