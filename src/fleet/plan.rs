//! Reading the cloud into a fleet [`Plan`]: which accounts to create, change or (with prune)
//! delete, and which role bindings to add or remove. Reading sends no mutating call.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use futures_util::TryStreamExt as _;

use super::keys::{self, KeyAction, KeyChange};
use super::manifest::{AccountSpec, Manifest, RESERVED_LABELS, RoleSpec};
use crate::model::{AccessBinding, ServiceAccount};
use crate::provision::{Grant, ManagedKey};
use crate::{Client, Error};

/// The label every account a fleet manages carries, with `fleet=<name>`.
pub const MANAGED_BY: (&str, &str) = ("managed-by", "yc-iam");

/// What [`Plan::apply`](Plan::apply) will change, read from the cloud by [`Manifest::plan`]. It
/// holds names, ids and roles, never a secret. `Display` prints it as a diff:
///
/// ```text
/// + sa-ci (create in b1gexample0000000000)
///   + role editor on folder b1gexample0000000000
/// ~ sa-chat (aje5c2...)
///   ~ description "chat" → "chat backend"
///   - role viewer on folder b1gexample0000000000
/// - sa-old (aje7f1...)
/// 1 to create, 1 to change, 1 to delete.
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Plan {
    /// The fleet (`metadata.name`).
    pub fleet: String,
    /// One entry per account of the manifest, in its order.
    pub accounts: Vec<AccountPlan>,
    /// With prune: accounts of this fleet that the manifest no longer lists, with the bindings
    /// they have on the resources the manifest names (removed before the account is deleted).
    pub deletions: Vec<Deletion>,
    /// With prune: the folders read for this fleet's accounts (the accounts' folders and
    /// `defaults.folder_id`). The API lists accounts only by folder, so an account of this fleet
    /// in any other folder is not seen.
    pub prune_folders: Vec<String>,
    /// The manifest the plan was read for.
    pub(super) manifest: Manifest,
}

/// What the plan does about one account of the manifest.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AccountPlan {
    /// The account's name.
    pub name: String,
    /// Its folder.
    pub folder_id: String,
    /// Found, to be created, or someone else's.
    pub state: AccountState,
    /// Roles the manifest lists that the account does not have.
    pub roles_to_add: Vec<RoleSpec>,
    /// With prune: roles the account has on the resources read that the manifest does not list.
    pub roles_to_remove: Vec<RoleSpec>,
    /// One per key entry of the manifest, in its order.
    pub keys: Vec<KeyChange>,
    /// With prune: keys this fleet made for the account whose sink the manifest no longer lists.
    pub keys_to_prune: Vec<ManagedKey>,
}

/// An account as the plan found it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum AccountState {
    /// There is no account with this name in the folder.
    Create,
    /// It exists, is managed by this fleet, and its description or labels differ.
    Update {
        /// The account.
        account: ServiceAccount,
        /// The description to set, when it changes.
        description: Option<String>,
        /// The labels to set (the manifest's, plus yc-iam's), when they change.
        labels: Option<BTreeMap<String, String>>,
    },
    /// It exists, is managed by this fleet, and matches.
    Unchanged(ServiceAccount),
    /// An account with this name exists but this fleet does not manage it: it is left alone,
    /// and the run reports it as failed.
    Foreign(ServiceAccount),
}

/// An account of this fleet that the manifest no longer lists.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Deletion {
    /// The account.
    pub account: ServiceAccount,
    /// Its bindings on the resources read, removed first.
    pub roles: Vec<RoleSpec>,
}

impl AccountPlan {
    /// Whether applying changes this account.
    pub fn changes(&self) -> bool {
        matches!(self.state, AccountState::Create | AccountState::Update { .. })
            || !self.roles_to_add.is_empty()
            || !self.roles_to_remove.is_empty()
            || self.keys.iter().any(KeyChange::changes)
            || !self.keys_to_prune.is_empty()
    }

    /// The account's id, when it exists.
    pub fn id(&self) -> Option<&str> {
        match &self.state {
            AccountState::Create => None,
            AccountState::Update { account, .. }
            | AccountState::Unchanged(account)
            | AccountState::Foreign(account) => Some(&account.id),
        }
    }
}

impl Plan {
    /// Whether applying the plan changes anything.
    pub fn changes(&self) -> bool {
        self.accounts.iter().any(AccountPlan::changes) || !self.deletions.is_empty()
    }

    /// Counts of accounts to create, to change (updated or with roles to add or remove), and
    /// to delete.
    pub fn summary(&self) -> (usize, usize, usize) {
        let create = self.accounts.iter().filter(|a| a.state == AccountState::Create).count();
        let change = self
            .accounts
            .iter()
            .filter(|a| a.state != AccountState::Create && a.changes())
            .count();
        (create, change, self.deletions.len())
    }
}

/// The labels a managed account of `fleet` carries.
pub(super) fn managed_labels(fleet: &str, own: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut labels = own.clone();
    labels.insert(MANAGED_BY.0.to_owned(), MANAGED_BY.1.to_owned());
    labels.insert(RESERVED_LABELS[1].to_owned(), fleet.to_owned());
    labels
}

fn is_managed_by(account: &ServiceAccount, fleet: &str) -> bool {
    account.labels.get(MANAGED_BY.0).map(String::as_str) == Some(MANAGED_BY.1)
        && account.labels.get(RESERVED_LABELS[1]).map(String::as_str) == Some(fleet)
}

/// How many reads run at once: folder and resource reads, account key listings (each lists the
/// three kinds at once), key entries.
const READS_IN_FLIGHT: usize = 16;

/// Runs `reads` [`READS_IN_FLIGHT`] at a time and gives their results in order.
async fn bounded<T>(reads: Vec<impl Future<Output = Result<T, Error>>>) -> Result<Vec<T>, Error> {
    crate::bounded::in_order(reads, READS_IN_FLIGHT).try_collect().await
}

/// Reads the accounts of every folder the manifest names and the bindings of every resource it
/// names, then compares.
pub(super) async fn read(manifest: &Manifest, client: &Client, prune: bool) -> Result<Plan, Error> {
    let mut folders: BTreeSet<&str> = manifest.accounts.iter().map(|a| a.folder_id.as_str()).collect();
    if prune {
        folders.extend(manifest.default_folder.as_deref());
    }
    let listed: Vec<Vec<ServiceAccount>> = bounded(
        folders
            .iter()
            .map(|folder| {
                let accounts = client.service_accounts();
                async move { accounts.list(*folder).try_collect::<Vec<_>>().await }
            })
            .collect(),
    )
    .await?;
    let existing: BTreeMap<(&str, &str), &ServiceAccount> = listed
        .iter()
        .flatten()
        .map(|sa| ((sa.folder_id.as_str(), sa.name.as_str()), sa))
        .collect();

    let mut resources: BTreeSet<Grant> = manifest
        .accounts
        .iter()
        .flat_map(|a| a.roles.iter().map(|r| r.resource.clone()))
        .collect();
    if prune {
        resources.extend(folders.iter().map(|f| Grant::Folder((*f).to_owned())));
    }
    let bindings: Vec<(Grant, Vec<AccessBinding>)> = bounded(
        resources
            .into_iter()
            .map(|resource| {
                let client = client.clone();
                async move {
                    let listing = resource.list_access_bindings(&client);
                    listing.try_collect::<Vec<_>>().await.map(|b| (resource, b))
                }
            })
            .collect(),
    )
    .await?;
    // The roles each service account has, on the resources read.
    let mut held: BTreeMap<&str, BTreeSet<RoleSpec>> = BTreeMap::new();
    for (resource, list) in &bindings {
        for binding in list {
            if let Some(subject) = binding.subject.as_ref().filter(|s| s.r#type == "serviceAccount") {
                held.entry(subject.id.as_str()).or_default().insert(RoleSpec {
                    role: binding.role_id.clone(),
                    resource: resource.clone(),
                });
            }
        }
    }

    let mut accounts: Vec<AccountPlan> = manifest
        .accounts
        .iter()
        .map(|spec| {
            let found = existing.get(&(spec.folder_id.as_str(), spec.name.as_str())).copied();
            account_plan(&manifest.name, spec, found, &held, prune)
        })
        .collect();
    read_keys(client, manifest, &mut accounts, prune).await?;
    one_key_per_secret(&accounts)?;
    let deletions = if prune {
        let listed_names: BTreeSet<(&str, &str)> = manifest
            .accounts
            .iter()
            .map(|a| (a.folder_id.as_str(), a.name.as_str()))
            .collect();
        existing
            .iter()
            .filter(|(key, sa)| !listed_names.contains(key) && is_managed_by(sa, &manifest.name))
            .map(|(_, sa)| Deletion {
                account: (*sa).clone(),
                roles: held
                    .get(sa.id.as_str())
                    .map(|r| r.iter().cloned().collect())
                    .unwrap_or_default(),
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(Plan {
        fleet: manifest.name.clone(),
        accounts,
        deletions,
        prune_folders: if prune {
            folders.iter().map(|f| (*f).to_owned()).collect()
        } else {
            Vec::new()
        },
        manifest: manifest.clone(),
    })
}

/// Two entries whose Lockbox outputs turn out to be one secret (`lockbox://NAME` and
/// `lockbox://ID`) would each replace the other's key on every run: refused, as the manifest
/// refuses two spellings of one file.
fn one_key_per_secret(accounts: &[AccountPlan]) -> Result<(), Error> {
    let mut seen: BTreeMap<&str, (usize, usize, &KeyChange)> = BTreeMap::new();
    for (i, account) in accounts.iter().enumerate() {
        for (k, key) in account.keys.iter().enumerate() {
            let Some(id) = key.secret_id.as_deref() else { continue };
            if let Some((first_i, first_k, first)) = seen.insert(id, (i, k, key)) {
                return Err(Error::invalid_input(
                    "cannot plan the fleet",
                    format!(
                        "service_accounts[{i}].keys[{k}].output: {} is Lockbox secret {id}, which service_accounts[{first_i}].keys[{first_k}] already keeps its key in as {}: one key per sink",
                        key.spec.output, first.spec.output
                    ),
                ));
            }
        }
    }
    Ok(())
}

fn account_plan(
    fleet: &str,
    spec: &AccountSpec,
    found: Option<&ServiceAccount>,
    held: &BTreeMap<&str, BTreeSet<RoleSpec>>,
    prune: bool,
) -> AccountPlan {
    let wanted: BTreeSet<&RoleSpec> = spec.roles.iter().collect();
    let none = BTreeSet::new();
    let has = found.and_then(|sa| held.get(sa.id.as_str())).unwrap_or(&none);
    let state = match found {
        None => AccountState::Create,
        Some(sa) if !is_managed_by(sa, fleet) => AccountState::Foreign(sa.clone()),
        Some(sa) => {
            let description = spec.description.clone().filter(|d| *d != sa.description);
            let labels = Some(managed_labels(fleet, &spec.labels)).filter(|l| *l != sa.labels);
            if description.is_none() && labels.is_none() {
                AccountState::Unchanged(sa.clone())
            } else {
                AccountState::Update {
                    account: sa.clone(),
                    description,
                    labels,
                }
            }
        }
    };
    let foreign = matches!(state, AccountState::Foreign(_));
    let roles_to_add = if foreign {
        Vec::new()
    } else {
        wanted
            .iter()
            .filter(|r| !has.contains(**r))
            .map(|r| (*r).clone())
            .collect()
    };
    let roles_to_remove = if prune && !foreign {
        has.iter().filter(|r| !wanted.contains(r)).cloned().collect()
    } else {
        Vec::new()
    };
    AccountPlan {
        name: spec.name.clone(),
        folder_id: spec.folder_id.clone(),
        state,
        roles_to_add,
        roles_to_remove,
        keys: Vec::new(),
        keys_to_prune: Vec::new(),
    }
}

/// Reads every key entry of the accounts this fleet manages, and with prune the keys the fleet
/// made that no entry accounts for. Each account's keys are listed once per kind (the kinds at
/// once), and its entries, their leftovers and other-kind keys, and prune are all decided from
/// that one listing. The listings, then the entries, run [`READS_IN_FLIGHT`] at a time, however
/// many entries an account has.
async fn read_keys(
    client: &Client,
    manifest: &Manifest,
    accounts: &mut [AccountPlan],
    prune: bool,
) -> Result<(), Error> {
    let fleet = manifest.name.as_str();
    // Each managed account's index, spec, and the account found in its folder (None: not yet made).
    let managed: Vec<(usize, &AccountSpec, Option<&ServiceAccount>)> = manifest
        .accounts
        .iter()
        .zip(accounts.iter())
        .enumerate()
        .filter_map(|(i, (spec, plan))| match &plan.state {
            AccountState::Update { account, .. } | AccountState::Unchanged(account) => Some((i, spec, Some(account))),
            AccountState::Create => Some((i, spec, None)),
            AccountState::Foreign(_) => None,
        })
        .collect();
    let listings: Vec<Vec<ManagedKey>> = bounded(
        managed
            .iter()
            .map(|&(_, spec, found)| async move {
                // An entry whose folder is missing holds nothing: it needs no listing.
                let wanted = prune || spec.keys.iter().any(|k| keys::missing_folder(k).is_none());
                match found {
                    Some(sa) if wanted => keys::list_all(client, &sa.id).await,
                    _ => Ok(Vec::new()),
                }
            })
            .collect(),
    )
    .await?;
    let changes: Vec<KeyChange> = bounded(
        managed
            .iter()
            .zip(&listings)
            .flat_map(|(&(_, spec, found), listed)| {
                spec.keys
                    .iter()
                    .map(move |key| keys::read(client, fleet, (spec, found), key, listed))
            })
            .collect(),
    )
    .await?;
    let shape: Vec<(usize, usize)> = managed.iter().map(|&(i, spec, _)| (i, spec.keys.len())).collect();
    let mut changes = changes.into_iter();
    for ((i, entries), listed) in shape.into_iter().zip(listings) {
        let plan = &mut accounts[i];
        plan.keys = changes.by_ref().take(entries).collect();
        if prune {
            let accounted: BTreeSet<&str> = plan.keys.iter().flat_map(KeyChange::key_ids).collect();
            let pruned: Vec<ManagedKey> = listed
                .into_iter()
                .filter(|k| keys::made_by(k, fleet) && !accounted.contains(k.id.as_str()))
                .collect();
            plan.keys_to_prune = pruned;
        }
    }
    Ok(())
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for account in &self.accounts {
            match &account.state {
                AccountState::Create => writeln!(f, "+ {} (create in folder {})", account.name, account.folder_id)?,
                AccountState::Update {
                    account: sa,
                    description,
                    labels,
                } => {
                    writeln!(f, "~ {} ({})", account.name, sa.id)?;
                    if let Some(d) = description {
                        writeln!(f, "  ~ description {:?} → {d:?}", sa.description)?;
                    }
                    if let Some(l) = labels {
                        writeln!(f, "  ~ labels {} → {}", show_labels(&sa.labels), show_labels(l))?;
                    }
                }
                AccountState::Unchanged(sa) if account.changes() => writeln!(f, "~ {} ({})", account.name, sa.id)?,
                AccountState::Unchanged(sa) if account.keys.iter().any(|k| !k.left_alone.is_empty()) => {
                    writeln!(f, "= {} ({})", account.name, sa.id)?;
                }
                AccountState::Unchanged(_) => continue,
                AccountState::Foreign(sa) => writeln!(
                    f,
                    "! {} ({}) exists in folder {} and is not managed by fleet {}: left alone",
                    account.name, sa.id, account.folder_id, self.fleet
                )?,
            }
            for role in &account.roles_to_add {
                writeln!(f, "  + role {} on {}", role.role, role.resource)?;
            }
            for role in &account.roles_to_remove {
                writeln!(f, "  - role {} on {}", role.role, role.resource)?;
            }
            for key in &account.keys {
                write_key(f, key, &self.fleet)?;
            }
            for key in &account.keys_to_prune {
                write_deleted(f, key, format_args!("its sink is no longer in the manifest"))?;
            }
        }
        for deletion in &self.deletions {
            writeln!(f, "- {} ({})", deletion.account.name, deletion.account.id)?;
            for role in &deletion.roles {
                writeln!(f, "  - role {} on {}", role.role, role.resource)?;
            }
        }
        if !self.prune_folders.is_empty() {
            writeln!(
                f,
                "Prune looked for fleet {}'s accounts in folder {} only: the API lists accounts by folder.",
                self.fleet,
                self.prune_folders.join(", ")
            )?;
        }
        let (create, change, delete) = self.summary();
        if create + change + delete == 0 {
            write!(f, "No changes: the cloud matches fleet {}.", self.fleet)
        } else {
            write!(f, "{create} to create, {change} to change, {delete} to delete.")
        }
    }
}

/// One key entry's line of the plan, and the keys it will delete or leave alone.
fn write_key(f: &mut fmt::Formatter<'_>, key: &KeyChange, fleet: &str) -> fmt::Result {
    let (kind, sink) = (key.spec.kind.name(), &key.spec.output);
    match &key.action {
        KeyAction::Keep { .. } => {}
        KeyAction::Create { reason, replaces: None } => writeln!(f, "  + key {kind} → {sink} ({reason})")?,
        KeyAction::Create {
            reason,
            replaces: Some(old),
        } => writeln!(f, "  ↻ replace key {old} → {sink} ({reason})")?,
        KeyAction::Rotate { id, age } => {
            let limit = key.spec.rotate_after.map(crate::duration::age_text).unwrap_or_default();
            writeln!(
                f,
                "  ↻ rotate key {id} → {sink} (age {} > {limit})",
                crate::duration::age_text(*age)
            )?;
        }
    }
    for id in &key.leftovers {
        writeln!(f, "  - key {id} (made for {sink} by an interrupted run)")?;
    }
    for old in &key.other_kind {
        write_deleted(f, old, format_args!("the type of {sink} changed to {kind}"))?;
    }
    for id in &key.left_alone {
        writeln!(
            f,
            "  ! key {id} carries the marker of {sink} without fleet {}'s tag: not this fleet's, left alone",
            fleet
        )?;
    }
    Ok(())
}

/// The plan's line for a key of an account it deletes, and why.
fn write_deleted(f: &mut fmt::Formatter<'_>, key: &ManagedKey, why: fmt::Arguments<'_>) -> fmt::Result {
    writeln!(f, "  - {} {} ({why})", key.kind.name(), key.id)
}

fn show_labels(labels: &BTreeMap<String, String>) -> String {
    let pairs: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{{{}}}", pairs.join(","))
}
