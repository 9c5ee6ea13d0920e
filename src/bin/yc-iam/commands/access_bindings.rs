//! `yc-iam folder|cloud add-access-binding|remove-access-binding|list-access-bindings`.

use futures_util::TryStreamExt;
use yc_iam::model::{AccessBinding, AccessBindingDelta};
use yc_iam::provision::{check_id, check_role};

use super::{AccountRef, finish};
use crate::cli::{AccessBindingCommand, BindingArgs, Format};
use crate::error::{CliError, CliResult};
use crate::output::{self, AccessBindingView, DeltaView};
use crate::session::connect;
use crate::settings::Settings;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resource {
    Folder,
    Cloud,
}

impl Resource {
    /// The positional id, else the resolved `--folder-id` / `--cloud-id`.
    fn id(self, settings: &Settings, positional: Option<&String>) -> CliResult<String> {
        match positional {
            Some(id) => {
                check_id("<ID>", id)?;
                Ok(id.clone())
            }
            None => match self {
                Resource::Folder => settings.folder_id(),
                Resource::Cloud => settings.cloud_id(),
            },
        }
    }
}

const COLUMNS: &[output::Column] = &[
    ("ROLE ID", "role_id"),
    ("SUBJECT TYPE", "subject.type"),
    ("SUBJECT ID", "subject.id"),
];
const DELTA_COLUMNS: &[output::Column] = &[
    ("ACTION", "action"),
    ("ROLE ID", "access_binding.role_id"),
    ("SUBJECT TYPE", "access_binding.subject.type"),
    ("SUBJECT ID", "access_binding.subject.id"),
];

enum SubjectRef {
    Given { kind: String, id: String },
    Account(AccountRef),
}

pub(crate) async fn run(settings: &Settings, resource: Resource, cmd: AccessBindingCommand) -> CliResult {
    let format = settings.format;
    match cmd {
        AccessBindingCommand::ListAccessBindings { id } => {
            let id = resource.id(settings, id.as_ref())?;
            let session = connect(settings).await?;
            let stream = match resource {
                Resource::Folder => session.folders().list_access_bindings(&id),
                Resource::Cloud => session.clouds().list_access_bindings(&id),
            };
            let bindings: Vec<AccessBinding> = stream.try_collect().await?;
            let views: Vec<AccessBindingView> = bindings.iter().map(Into::into).collect();
            output::print_list(format, &views, COLUMNS)?;
        }
        AccessBindingCommand::AddAccessBinding(args) => change(settings, resource, args, true).await?,
        AccessBindingCommand::RemoveAccessBinding(args) => change(settings, resource, args, false).await?,
    }
    Ok(())
}

async fn change(settings: &Settings, resource: Resource, args: BindingArgs, add: bool) -> CliResult {
    let format = settings.format;
    let id = resource.id(settings, args.id.as_ref())?;
    check_role("--role", &args.role)?;
    let subject = match &args.subject {
        Some(s) => SubjectRef::Given {
            kind: s.kind.clone(),
            id: s.id.clone(),
        },
        None if args.owner.service_account_id.is_some() || args.owner.service_account_name.is_some() => {
            SubjectRef::Account(AccountRef::from_owner(settings, &args.owner)?)
        }
        None => {
            return Err(CliError::usage(
                "a subject is needed: pass --subject TYPE:ID, --service-account-id or --service-account-name",
            ));
        }
    };
    let session = connect(settings).await?;
    let (kind, subject_id) = match subject {
        SubjectRef::Given { kind, id } => (kind, id),
        SubjectRef::Account(account) => ("serviceAccount".to_owned(), account.id(&session).await?),
    };
    let binding = AccessBinding::new(&args.role, kind, subject_id);
    let delta = if add {
        AccessBindingDelta::add(binding)
    } else {
        AccessBindingDelta::remove(binding)
    };
    let op = match resource {
        Resource::Folder => session.folders().update_access_bindings(&id, vec![delta]).await,
        Resource::Cloud => session.clouds().update_access_bindings(&id, vec![delta]).await,
    }?;
    let label = if add {
        "adding access binding"
    } else {
        "removing access binding"
    };
    if let Some(result) = finish(settings, op, label).await? {
        let deltas: Vec<DeltaView> = result.effective_deltas.iter().map(Into::into).collect();
        if deltas.is_empty() && format == Format::Text {
            let state = if add { "already there" } else { "not there" };
            output::write_stdout(&format!("no change: the binding was {state}\n"))?;
        } else {
            output::print_list(format, &deltas, DELTA_COLUMNS)?;
        }
    }
    Ok(())
}
