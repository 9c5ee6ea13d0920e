//! `yc-iam rotate`: the managed keys a policy selects replaced in their sinks, old keys deleted by
//! a later run once the grace has passed; every key in scope and what was done to it as a table
//! or a document. Exit 1 when a rotation or deletion failed.

use serde::Serialize;
use time::OffsetDateTime;
use yc_iam::rotate::{Action, Entry, Reason, RotateError, Rotation, Select};

use super::audit::rfc3339;
use crate::cli::{Format, RotateArgs};
use crate::error::{CliError, CliResult, chain};
use crate::output::{self, Column};
use crate::session::connect;
use crate::settings::Settings;
use yc_iam::duration::age_text;

pub(crate) async fn run(settings: &Settings, args: RotateArgs) -> CliResult {
    let mut rotation = rotation(settings, &args)?;
    rotation.validate()?;
    let session = connect(settings).await?;
    // Keys are stamped by the server's clock: an in-process emulator's, when it was moved.
    // New keys' expiries count from the server's clock, whatever --now says.
    rotation.clock = session.emulator_now();
    if rotation.now.is_none() {
        rotation.now = rotation.clock;
    }
    let plan = rotation.plan(&session).await.map_err(cli_error)?;
    let (now, grace, entries) = if args.dry_run {
        (plan.now, plan.grace, plan.entries)
    } else {
        let report = plan.apply(&session).await;
        (report.now, report.grace, report.entries)
    };
    print(settings.format, now, grace, args.dry_run, &entries)?;
    let failed: Vec<&Entry> = entries.iter().filter(|e| e.action == Action::Failed).collect();
    for entry in &failed {
        if let Some(error) = &entry.error {
            crate::error::warn(format_args!("yc-iam: {}", chain(error.as_ref())));
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(CliError::failure(format!(
            "{} of the keys could not be rotated or deleted",
            failed.len()
        )))
    }
}

/// The library's inputs from the flags (clap has already made sure exactly one account choice
/// and one policy were given).
fn rotation(settings: &Settings, args: &RotateArgs) -> CliResult<Rotation> {
    let select = match (args.older_than, args.expiring_within) {
        (Some(age), _) => Select::OlderThan(age),
        (None, Some(within)) => Select::ExpiringWithin(within),
        (None, None) => Select::AllKeys,
    };
    let mut rotation = Rotation::new(settings.folder_id()?, select)
        .key_types(args.key_type.iter().copied())
        .grace(args.grace)
        .parallel(usize::from(args.parallel));
    if let Some(name) = &args.service_account_name {
        rotation = rotation.account(name.clone());
    }
    rotation.sinks = args.sinks.clone();
    rotation.now = args.now;
    rotation.aws_profile = args.aws_profile.clone();
    Ok(rotation)
}

fn cli_error(e: RotateError) -> CliError {
    match e {
        RotateError::Invalid(invalid) => invalid.into(),
        RotateError::Listing { ref source, .. } => CliError::api(Some(&e.to_string()), source),
        other => CliError::failure(chain(&other)),
    }
}

/// The reason in the CLI's terms: a file sink is reached through `--sink`.
fn reason_text(entry: &Entry) -> String {
    match &entry.reason {
        Reason::SinkNotGiven => "sink not reachable from here: pass --sink with its file".to_owned(),
        reason => reason.to_string(),
    }
}

/// One key in the document form.
#[derive(Serialize)]
struct KeyView {
    id: String,
    kind: &'static str,
    service_account_id: String,
    service_account_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    access_key_id: Option<String>,
    created_at: Option<String>,
    age_seconds: Option<u64>,
    expires_at: Option<String>,
    managed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    marker: Option<String>,
    sink: Option<String>,
    action: &'static str,
    reason: String,
    new_key_id: Option<String>,
    deletion_due: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

impl KeyView {
    fn new(e: &Entry, now: OffsetDateTime) -> Self {
        let k = &e.key;
        Self {
            id: k.id.clone(),
            kind: k.kind.name(),
            service_account_id: k.service_account_id.clone(),
            service_account_name: e.service_account_name.clone(),
            access_key_id: k.access_key_id.clone(),
            created_at: rfc3339(k.created_at),
            age_seconds: k.age(now).map(|a| a.as_secs()),
            expires_at: rfc3339(k.expires_at),
            managed: k.managed(),
            marker: k.marker.clone(),
            sink: e.sink.clone(),
            action: e.action.name(),
            reason: reason_text(e),
            new_key_id: e.new_key_id.clone(),
            deletion_due: rfc3339(e.deletion_due),
            error: e.error.as_ref().map(|error| chain(error.as_ref())),
        }
    }
}

/// The whole run in the document form.
#[derive(Serialize)]
struct RotationView {
    now: Option<String>,
    grace: String,
    dry_run: bool,
    keys: Vec<KeyView>,
}

/// One table row.
#[derive(Serialize)]
struct RowView {
    account: String,
    key_id: String,
    kind: &'static str,
    age: String,
    action: &'static str,
    reason: String,
    new_key: String,
    sink: String,
    deletion_due: String,
}

const COLUMNS: &[Column] = &[
    ("ACCOUNT", "account"),
    ("KEY ID", "key_id"),
    ("KIND", "kind"),
    ("AGE", "age"),
    ("ACTION", "action"),
    ("REASON", "reason"),
    ("NEW KEY", "new_key"),
    ("SINK", "sink"),
    ("DELETION DUE", "deletion_due"),
];

fn row(e: &Entry, now: OffsetDateTime) -> RowView {
    let dash = || "-".to_owned();
    RowView {
        account: e.service_account_name.clone(),
        key_id: e.key.id.clone(),
        kind: e.key.kind.name(),
        age: e.key.age(now).map_or_else(dash, age_text),
        action: e.action.name(),
        reason: match &e.error {
            Some(error) => chain(error.as_ref()),
            None => reason_text(e),
        },
        new_key: e.new_key_id.clone().unwrap_or_else(dash),
        sink: e.sink.clone().unwrap_or_else(dash),
        // To the second: the table is for people.
        deletion_due: rfc3339(e.deletion_due.map(|at| at.replace_nanosecond(0).unwrap_or(at))).unwrap_or_else(dash),
    }
}

fn print(
    format: Format,
    now: OffsetDateTime,
    grace: std::time::Duration,
    dry_run: bool,
    entries: &[Entry],
) -> CliResult {
    match format {
        Format::Text => {
            let rows: Vec<RowView> = entries.iter().map(|e| row(e, now)).collect();
            output::print_list(format, &rows, COLUMNS)?;
        }
        _ => output::print_one(
            format,
            &RotationView {
                now: rfc3339(Some(now)),
                grace: yc_iam::duration::format(grace),
                dry_run,
                keys: entries.iter().map(|e| KeyView::new(e, now)).collect(),
            },
        )?,
    }
    Ok(())
}
