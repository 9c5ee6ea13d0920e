//! `yc-iam audit`: the key inventory of a folder or cloud, as a table (one row per key) or as a
//! document (accounts with their keys), and exit 3 when a flag named by `--fail-on` is raised.

use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use yc_iam::audit::{AccountRecord, Flag, Inventory, KeyRecord, Policy, Scope, audit};
use yc_iam::config::Source;

use crate::cli::{AuditArgs, Format};
use crate::error::{CliError, CliResult, EXIT_REPORT};
use crate::output::{self, Column};
use crate::session::connect;
use crate::settings::Settings;

pub(crate) async fn run(settings: &Settings, args: AuditArgs) -> CliResult {
    let scope = scope(settings)?;
    let mut policy = Policy::default()
        .unused_for(args.unused_for)
        .expiring_within(args.expiring_within)
        .parallel(usize::from(args.parallel));
    let session = connect(settings).await?;
    // Ages and flags are judged at --now, else by the in-process emulator's clock (which tests
    // move), else by this machine's.
    if let Some(now) = args.now.or_else(|| session.emulator_now()) {
        policy = policy.at(now);
    }
    let inventory = audit(&session, &scope, &policy).await?;
    print(settings.format, &inventory)?;
    let failing: Vec<&str> = args
        .fail_on
        .iter()
        .filter(|f| inventory.raised().contains(f))
        .map(|f| f.name())
        .collect();
    if failing.is_empty() {
        return Ok(());
    }
    crate::error::warn(format_args!("yc-iam: audit raised {} (--fail-on)", failing.join(", ")));
    Err(CliError::failure(String::new()).with_exit(EXIT_REPORT))
}

/// The folder, or the cloud when `--cloud-id` is given on the command line without `--folder-id`
/// (a folder from the environment or profile does not narrow an explicit cloud).
fn scope(settings: &Settings) -> CliResult<Scope> {
    let folder_flag = settings
        .config
        .folder_id
        .as_ref()
        .is_some_and(|f| matches!(f.source, Source::Flag(_)));
    match (&settings.cloud_id_flag, folder_flag) {
        (Some(_), true) => Err(CliError::usage(
            "--folder-id and --cloud-id both given: audit one folder or one whole cloud",
        )),
        (Some(_), false) => Ok(Scope::Cloud(settings.cloud_id()?)),
        (None, _) => Ok(Scope::Folder(settings.folder_id()?)),
    }
}

pub(super) fn rfc3339(at: Option<OffsetDateTime>) -> Option<String> {
    at.and_then(|t| t.format(&Rfc3339).ok())
}

fn flag_names(flags: impl IntoIterator<Item = Flag>) -> Vec<&'static str> {
    flags.into_iter().map(Flag::name).collect()
}

/// One key in the document form.
#[derive(Serialize)]
struct KeyView {
    id: String,
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    access_key_id: Option<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    description: String,
    created_at: Option<String>,
    age_seconds: Option<u64>,
    last_used_at: Option<String>,
    expires_at: Option<String>,
    scopes: Vec<String>,
    managed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    marker: Option<String>,
    flags: Vec<&'static str>,
}

impl KeyView {
    fn new(k: &KeyRecord, now: OffsetDateTime) -> Self {
        Self {
            id: k.id.clone(),
            kind: k.kind.name(),
            access_key_id: k.access_key_id.clone(),
            description: k.description.clone(),
            created_at: rfc3339(k.created_at),
            age_seconds: k.age(now).map(|a| a.as_secs()),
            last_used_at: rfc3339(k.last_used_at),
            expires_at: rfc3339(k.expires_at),
            scopes: k.scopes.clone(),
            managed: k.managed(),
            marker: k.marker.clone(),
            flags: flag_names(k.flags.iter().copied()),
        }
    }
}

/// One account in the document form.
#[derive(Serialize)]
struct AccountView {
    id: String,
    name: String,
    folder_id: String,
    status: &'static str,
    last_authenticated_at: Option<String>,
    keys: Vec<KeyView>,
}

impl AccountView {
    fn new(a: &AccountRecord, now: OffsetDateTime) -> Self {
        Self {
            id: a.account.id.clone(),
            name: a.account.name.clone(),
            folder_id: a.account.folder_id.clone(),
            status: if a.suspended() { "SUSPENDED" } else { "ACTIVE" },
            last_authenticated_at: output::timestamp(a.account.last_authenticated_at.as_ref()),
            keys: a.keys.iter().map(|k| KeyView::new(k, now)).collect(),
        }
    }
}

/// The whole inventory in the document form.
#[derive(Serialize)]
struct InventoryView {
    now: Option<String>,
    raised: Vec<&'static str>,
    accounts: Vec<AccountView>,
}

/// One table row: a key, or an account without keys.
#[derive(Serialize)]
struct RowView {
    account: String,
    key_id: String,
    kind: &'static str,
    created: String,
    age: String,
    last_used: String,
    expires: String,
    scopes: String,
    managed: &'static str,
    flags: String,
}

fn date(at: Option<OffsetDateTime>) -> String {
    at.map(|t| t.date().to_string()).unwrap_or_else(|| "-".to_owned())
}

fn rows(inventory: &Inventory) -> Vec<RowView> {
    let mut rows = Vec::new();
    for account in &inventory.accounts {
        let suspended = account.suspended().then_some(Flag::AccountSuspended);
        if account.keys.is_empty() {
            rows.push(RowView {
                account: account.account.name.clone(),
                key_id: "-".into(),
                kind: "-",
                created: "-".into(),
                age: "-".into(),
                last_used: "-".into(),
                expires: "-".into(),
                scopes: "-".into(),
                managed: "-",
                flags: flag_names(suspended).join(","),
            });
        }
        for k in &account.keys {
            rows.push(RowView {
                account: account.account.name.clone(),
                key_id: k.id.clone(),
                kind: k.kind.name(),
                created: date(k.created_at),
                age: k
                    .age(inventory.now)
                    .map_or_else(|| "-".into(), yc_iam::duration::age_text),
                last_used: k.last_used_at.map_or_else(|| "never".into(), |t| t.date().to_string()),
                expires: k.expires_at.map_or_else(|| "-".into(), |t| t.date().to_string()),
                scopes: if k.scopes.is_empty() {
                    "-".into()
                } else {
                    k.scopes.join(",")
                },
                managed: if k.managed() { "yes" } else { "no" },
                flags: flag_names(k.flags.iter().copied()).join(","),
            });
        }
    }
    rows
}

const COLUMNS: &[Column] = &[
    ("ACCOUNT", "account"),
    ("KEY ID", "key_id"),
    ("KIND", "kind"),
    ("CREATED", "created"),
    ("AGE", "age"),
    ("LAST USED", "last_used"),
    ("EXPIRES", "expires"),
    ("SCOPES", "scopes"),
    ("MANAGED", "managed"),
    ("FLAGS", "flags"),
];

fn print(format: Format, inventory: &Inventory) -> std::io::Result<()> {
    match format {
        Format::Text => output::print_list(format, &rows(inventory), COLUMNS),
        _ => output::print_one(
            format,
            &InventoryView {
                now: rfc3339(Some(inventory.now)),
                raised: flag_names(inventory.raised()),
                accounts: inventory
                    .accounts
                    .iter()
                    .map(|a| AccountView::new(a, inventory.now))
                    .collect(),
            },
        ),
    }
}
