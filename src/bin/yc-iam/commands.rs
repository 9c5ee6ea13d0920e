//! One function per command. Each checks its input first (bad input: exit 2, nothing sent),
//! then connects, calls the library, and renders the result.

mod access_bindings;
mod access_key;
mod account_key;
mod api_key;
mod audit;
mod emulator;
mod fleet;
mod key;
mod lockbox;
mod operation;
mod provision;
mod rotate;
mod service_account;
mod token;

use std::pin::pin;
use yc_iam::{Client, Operation, OperationPayload};

pub(crate) use emulator::EmulatorArgs;
pub(crate) use fleet::{ApplyArgs, PlanArgs};

use crate::cli::{AccountSelector, Cli, Command, KeyOwner};
use crate::debug_log;
use crate::error::{CliError, CliResult};
use crate::output::{self, OperationView};
use crate::progress;
use crate::settings::Settings;

pub(crate) async fn run(cli: Cli) -> CliResult {
    let Cli { global, command } = cli;
    match command {
        Command::Completions { shell } => {
            // Generated into a buffer: clap_complete panics when its own write fails (`| head`).
            let mut script = Vec::new();
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "yc-iam", &mut script);
            return output::write_stdout_bytes(&script).map_err(CliError::from);
        }
        Command::Emulator(args) => return emulator::run(args).await,
        _ => {}
    }
    let settings = Settings::resolve(&global)?;
    if settings.debug {
        debug_log::init();
    }
    let result = match command {
        Command::ServiceAccount(cmd) => service_account::run(&settings, cmd).await,
        Command::ApiKey(cmd) => api_key::run(&settings, cmd).await,
        Command::Key(cmd) => key::run(&settings, cmd).await,
        Command::AccessKey(cmd) => access_key::run(&settings, cmd).await,
        Command::Folder(cmd) => access_bindings::run(&settings, access_bindings::Resource::Folder, cmd).await,
        Command::Cloud(cmd) => access_bindings::run(&settings, access_bindings::Resource::Cloud, cmd).await,
        Command::Operation(cmd) => operation::run(&settings, cmd).await,
        Command::Lockbox(cmd) => lockbox::run(&settings, cmd).await,
        Command::CreateToken => token::run(&settings).await,
        Command::Provision(args) => provision::run(&settings, args).await,
        Command::Audit(args) => audit::run(&settings, args).await,
        Command::Rotate(args) => rotate::run(&settings, args).await,
        Command::Plan(args) => fleet::plan(&settings, args).await,
        Command::Apply(args) => fleet::apply(&settings, args).await,
        Command::Completions { .. } | Command::Emulator(_) => Ok(()),
    };
    crate::session::close().await;
    result
}

/// What `delete` prints once the key is gone: a line for people, `{id, deleted}` for machines.
pub(crate) fn print_deleted(format: crate::cli::Format, what: &str, id: &str) -> std::io::Result<()> {
    if format == crate::cli::Format::Text {
        output::write_stdout(&format!("deleted {what} {id}\n"))
    } else {
        output::print_one(format, &serde_json::json!({ "id": id, "deleted": true }))
    }
}

/// Finishes a mutating call: with `--async` prints the operation and returns `None`; otherwise
/// waits (with progress on a terminal) and returns the result.
pub(crate) async fn finish<R: OperationPayload, M: OperationPayload>(
    settings: &Settings,
    op: Operation<R, M>,
    label: &str,
) -> CliResult<Option<R>> {
    if settings.async_ {
        output::print_one(settings.format, &OperationView::from(op.raw()))?;
        return Ok(None);
    }
    let result = progress::show(label, pin!(op.wait()))
        .await
        .map_err(|e| CliError::api(None, &e))?;
    Ok(Some(result))
}

/// A service account named on the command line, checked but not yet looked up.
pub(crate) enum AccountRef {
    Id(String),
    Name { folder_id: String, name: String },
}

impl AccountRef {
    pub(crate) fn from_selector(settings: &Settings, s: &AccountSelector) -> CliResult<Self> {
        Self::from_parts(
            settings,
            s.positional.as_ref().or(s.id.as_ref()),
            s.name.as_ref(),
            "--id",
            "--name",
        )
    }

    pub(crate) fn from_owner(settings: &Settings, o: &KeyOwner) -> CliResult<Self> {
        Self::from_parts(
            settings,
            o.service_account_id.as_ref(),
            o.service_account_name.as_ref(),
            "--service-account-id",
            "--service-account-name",
        )
    }

    fn from_parts(
        settings: &Settings,
        id: Option<&String>,
        name: Option<&String>,
        id_flag: &str,
        name_flag: &str,
    ) -> CliResult<Self> {
        match (id, name) {
            (Some(id), _) => {
                yc_iam::provision::check_id(id_flag, id)?;
                Ok(AccountRef::Id(id.clone()))
            }
            (None, Some(name)) => {
                yc_iam::provision::check_service_account_name(name_flag, name)?;
                Ok(AccountRef::Name {
                    folder_id: settings.folder_id()?,
                    name: name.clone(),
                })
            }
            (None, None) => Err(CliError::usage(format!(
                "a service account is needed: pass {id_flag} or {name_flag}"
            ))),
        }
    }

    /// The account's id, looking the name up if needed.
    pub(crate) async fn id(&self, client: &Client) -> CliResult<String> {
        match self {
            AccountRef::Id(id) => Ok(id.clone()),
            AccountRef::Name { folder_id, name } => {
                match client.service_accounts().find_by_name(folder_id, name).await {
                    Ok(Some(sa)) => Ok(sa.id),
                    Ok(None) => Err(CliError::failure(format!(
                        "service account {name:?} not found in folder {folder_id}"
                    ))),
                    Err(e) => Err(e.into()),
                }
            }
        }
    }
}
