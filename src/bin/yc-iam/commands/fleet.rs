//! `plan` and `apply`: a fleet manifest against the cloud. `plan` prints the diff and exits 3
//! when something would change (for CI drift checks); `apply` prints it, asks on a terminal
//! unless `--yes`, applies it, and reports each account.

use std::io::{BufRead as _, IsTerminal as _};
use std::path::PathBuf;
use std::pin::pin;

use clap::Args;
use serde_json::{Value, json};
use yc_iam::duration::age_text;
use yc_iam::fleet::{AccountState, KeyAction, KeyChange, Manifest, Plan, Report};

use crate::cli::Format;
use crate::error::{CliError, CliResult, EXIT_FAILURE, EXIT_REPORT};
use crate::output;
use crate::progress;
use crate::session::connect_seeded;
use crate::settings::Settings;

// `yc-iam plan`.
#[derive(Debug, Args)]
pub(crate) struct PlanArgs {
    /// The fleet manifest (YAML).
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    file: PathBuf,
    /// Also remove what this fleet manages and the manifest no longer lists.
    #[arg(long)]
    prune: bool,
}

// `yc-iam apply`.
#[derive(Debug, Args)]
pub(crate) struct ApplyArgs {
    /// The fleet manifest (YAML).
    #[arg(short = 'f', long = "file", value_name = "FILE", required_unless_present = "schema")]
    file: Option<PathBuf>,
    /// Also remove what this fleet manages and the manifest no longer lists.
    #[arg(long)]
    prune: bool,
    /// Accounts changed at once.
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=256))]
    parallel: u16,
    /// Apply without asking.
    #[arg(long)]
    yes: bool,
    /// Print the manifest's JSON Schema and exit.
    #[arg(long, conflicts_with_all = ["file", "prune", "yes"])]
    schema: bool,
}

pub(crate) async fn plan(settings: &Settings, args: PlanArgs) -> CliResult {
    let manifest = load(&args.file)?;
    let session = connect_seeded(settings, &folders(&manifest)).await?;
    let plan = read(&session, &manifest, args.prune).await?;
    show_plan(settings.format, &plan)?;
    foreign(&plan)?;
    if plan.changes() {
        return Err(CliError::failure("").with_exit(EXIT_REPORT));
    }
    Ok(())
}

pub(crate) async fn apply(settings: &Settings, args: ApplyArgs) -> CliResult {
    if args.schema {
        let text = serde_json::to_string_pretty(&yc_iam::fleet::schema()).unwrap_or_default();
        return output::write_stdout(&format!("{text}\n")).map_err(CliError::from);
    }
    let Some(file) = &args.file else {
        return Err(CliError::usage("apply needs -f FILE"));
    };
    let manifest = load(file)?;
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !args.yes && !interactive {
        return Err(CliError::usage(
            "apply changes the cloud: pass --yes to apply without a terminal to confirm on",
        ));
    }
    let session = connect_seeded(settings, &folders(&manifest)).await?;
    let plan = read(&session, &manifest, args.prune).await?;
    if !plan.changes() {
        show_plan(settings.format, &plan)?;
        return foreign(&plan);
    }
    if !args.yes {
        output::write_stderr(&format!("{plan}\n"));
        if !confirmed()? {
            return Err(CliError::failure("nothing applied"));
        }
    }
    let bars = progress::Bars::new();
    let report = plan
        .apply_with(&session, usize::from(args.parallel), &|step| bars.step(step))
        .await;
    bars.finish();
    show_report(settings.format, &report)?;
    if !report.succeeded() {
        return Err(CliError::failure("").with_exit(EXIT_FAILURE));
    }
    Ok(())
}

/// An account of the manifest's name that the fleet does not manage cannot reach the manifest's
/// state: a failure (exit 1), even when nothing else would change.
fn foreign(plan: &Plan) -> CliResult {
    let names: Vec<&str> = plan
        .accounts
        .iter()
        .filter(|a| matches!(a.state, AccountState::Foreign(_)))
        .map(|a| a.name.as_str())
        .collect();
    if names.is_empty() {
        return Ok(());
    }
    Err(CliError::failure(format!(
        "not managed by fleet {}: {} (label them managed-by=yc-iam, fleet={} to adopt them)",
        plan.fleet,
        names.join(", "),
        plan.fleet
    )))
}

/// A manifest that cannot be used is bad input: exit 2, nothing sent.
fn load(file: &std::path::Path) -> CliResult<Manifest> {
    Manifest::load(file).map_err(|e| CliError::usage(e.to_string()))
}

fn folders(manifest: &Manifest) -> Vec<&str> {
    manifest.accounts.iter().map(|a| a.folder_id.as_str()).collect()
}

async fn read(client: &yc_iam::Client, manifest: &Manifest, prune: bool) -> CliResult<Plan> {
    progress::show("planning", pin!(manifest.plan(client, prune)))
        .await
        .map_err(|e| CliError::api(Some("cannot read the cloud"), &e))
}

fn confirmed() -> CliResult<bool> {
    output::write_stderr("Apply these changes? Only 'yes' is accepted: ");
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(answer.trim() == "yes")
}

fn show_plan(format: Format, plan: &Plan) -> std::io::Result<()> {
    match format {
        Format::Text => output::write_stdout(&format!("{plan}\n")),
        f => output::print_one(f, &plan_view(plan)),
    }
}

fn show_report(format: Format, report: &Report) -> std::io::Result<()> {
    match format {
        Format::Text => output::write_stdout(&format!("{report}\n")),
        f => output::print_one(f, &report_view(report)),
    }
}

fn roles_view(roles: &[yc_iam::fleet::RoleSpec]) -> Value {
    roles
        .iter()
        .map(|r| json!({ "role": r.role, "resource": r.resource.to_string() }))
        .collect()
}

/// One key entry in the document (JSON or YAML) form of a plan: what happens to it, and why; ids only.
fn key_view(key: &KeyChange) -> Value {
    let (action, id, reason, replaces, age) = match &key.action {
        KeyAction::Keep { id } => ("keep", Some(id), None, None, None),
        KeyAction::Create { reason, replaces: None } => ("create", None, Some(*reason), None, None),
        KeyAction::Create {
            reason,
            replaces: Some(old),
        } => ("replace", None, Some(*reason), Some(old), None),
        KeyAction::Rotate { id, age } => ("rotate", None, None, Some(id), Some(age_text(*age))),
        _ => ("unknown", None, None, None, None),
    };
    json!({
        "type": key.spec.kind.name(),
        "output": key.spec.output.to_string(),
        "action": action,
        "id": id,
        "reason": reason,
        "replaces": replaces,
        "age": age,
        "rotate_after": key.spec.rotate_after.map(age_text),
        "leftovers": key.leftovers,
        "left_alone": key.left_alone,
    })
}

fn plan_view(plan: &Plan) -> Value {
    let accounts: Vec<Value> = plan
        .accounts
        .iter()
        .map(|a| {
            let (action, id, description, labels) = match &a.state {
                AccountState::Create => ("create", None, None, None),
                AccountState::Update {
                    account,
                    description,
                    labels,
                } => ("update", Some(&account.id), description.as_ref(), labels.as_ref()),
                AccountState::Unchanged(account) => ("unchanged", Some(&account.id), None, None),
                AccountState::Foreign(account) => ("not-managed", Some(&account.id), None, None),
                _ => ("unknown", None, None, None),
            };
            json!({
                "name": a.name,
                "folder_id": a.folder_id,
                "id": id,
                "action": action,
                "description": description,
                "labels": labels,
                "roles_to_add": roles_view(&a.roles_to_add),
                "roles_to_remove": roles_view(&a.roles_to_remove),
                "keys": a.keys.iter().map(key_view).collect::<Vec<_>>(),
                "keys_to_prune": a.keys_to_prune.iter().map(|k| json!({ "type": k.kind.name(), "id": k.id })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let deletions: Vec<Value> = plan
        .deletions
        .iter()
        .map(|d| json!({ "name": d.account.name, "id": d.account.id, "roles_to_remove": roles_view(&d.roles) }))
        .collect();
    let (create, change, delete) = plan.summary();
    json!({
        "fleet": plan.fleet,
        "accounts": accounts,
        "deletions": deletions,
        "prune_folders": plan.prune_folders,
        "summary": { "create": create, "change": change, "delete": delete },
    })
}

fn report_view(report: &Report) -> Value {
    let accounts: Vec<Value> = report
        .accounts
        .iter()
        .map(|a| {
            json!({
                "name": a.name,
                "id": a.id,
                "done": a.done,
                "left_alone": a.left_alone,
                "error": a.error.as_ref().map(ToString::to_string),
                "client_request_id": a.error.as_ref().and_then(|e| e.client_request_id()),
                "server_request_id": a.error.as_ref().and_then(|e| e.server_request_id()),
            })
        })
        .collect();
    json!({ "fleet": report.fleet, "accounts": accounts, "succeeded": report.succeeded() })
}
