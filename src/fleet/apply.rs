//! Applying a fleet [`Plan`]: accounts first, then every resource's bindings in one
//! `UpdateAccessBindings` (all deltas together), then deletions. Accounts are independent: they
//! are created and changed in parallel, bounded, and one that fails does not stop the others.

use std::collections::BTreeMap;
use std::fmt;

use futures_util::StreamExt as _;

use super::keys::{self, KeyAction, KeyChange};
use super::manifest::AccountSpec;
use super::plan::{AccountPlan, AccountState, Plan, managed_labels};
use crate::model::{AccessBinding, AccessBindingDelta};
use crate::provision::{Grant, MAX_DELTAS, Provision};
use crate::{Client, Error, UpdateServiceAccount};

/// What applying a plan did, account by account.
#[derive(Debug)]
#[non_exhaustive]
pub struct Report {
    /// The fleet.
    pub fleet: String,
    /// One entry per account of the manifest, then one per account deleted, in plan order.
    pub accounts: Vec<Outcome>,
}

/// What happened to one account.
#[derive(Debug)]
#[non_exhaustive]
pub struct Outcome {
    /// The account's name.
    pub name: String,
    /// Its id, when it exists (or existed).
    pub id: Option<String>,
    /// What was done (`created`, `updated`, `2 roles added`, `deleted`…); empty when nothing.
    pub done: Vec<String>,
    /// Why it did not reach the state the manifest describes.
    pub error: Option<Error>,
    /// What was found and left alone: keys that carry the marker of one of the account's sinks
    /// without this fleet's tag.
    pub left_alone: Vec<String>,
}

impl Report {
    /// Whether every account reached the manifest's state.
    pub fn succeeded(&self) -> bool {
        self.accounts.iter().all(|a| a.error.is_none())
    }

    /// Whether anything was changed.
    pub fn changed(&self) -> bool {
        self.accounts.iter().any(|a| !a.done.is_empty())
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for outcome in &self.accounts {
            let id = outcome.id.as_deref().unwrap_or("-");
            match (&outcome.error, outcome.done.is_empty()) {
                (Some(error), _) => writeln!(f, "✗ {} ({id}): {error}", outcome.name)?,
                (None, false) => writeln!(f, "✓ {} ({id}): {}", outcome.name, outcome.done.join(", "))?,
                (None, true) => writeln!(f, "= {} ({id}): up to date", outcome.name)?,
            }
            for key in &outcome.left_alone {
                writeln!(
                    f,
                    "  ! {key}: carries the sink's marker without the fleet's tag, left alone"
                )?;
            }
        }
        let failed = self.accounts.iter().filter(|a| a.error.is_some()).count();
        write!(f, "{} accounts, {failed} failed.", self.accounts.len())
    }
}

impl Plan {
    /// Applies the plan: at most `parallel` accounts at a time.
    pub async fn apply(self, client: &Client, parallel: usize) -> Report {
        let parallel = parallel.max(1);
        let fleet = self.fleet.clone();
        // 1. Accounts.
        let mut outcomes: Vec<Outcome> = futures_util::stream::iter(self.accounts.iter().map(|plan| {
            let fleet = fleet.as_str();
            let manifest = &self.manifest;
            async move {
                let spec = manifest
                    .accounts
                    .iter()
                    .find(|a| a.name == plan.name && a.folder_id == plan.folder_id);
                account(client, fleet, plan, spec).await
            }
        }))
        .buffered(parallel)
        .collect()
        .await;

        // 2. Bindings: every delta of a resource in one call.
        let mut deltas: BTreeMap<&Grant, Vec<(usize, AccessBindingDelta)>> = BTreeMap::new();
        for (i, (plan, outcome)) in self.accounts.iter().zip(&outcomes).enumerate() {
            let Some(id) = outcome.id.as_deref().filter(|_| outcome.error.is_none()) else {
                continue;
            };
            for role in &plan.roles_to_add {
                let binding = AccessBinding::service_account(&role.role, id);
                deltas
                    .entry(&role.resource)
                    .or_default()
                    .push((i, AccessBindingDelta::add(binding)));
            }
            for role in &plan.roles_to_remove {
                let binding = AccessBinding::service_account(&role.role, id);
                deltas
                    .entry(&role.resource)
                    .or_default()
                    .push((i, AccessBindingDelta::remove(binding)));
            }
        }
        let base = outcomes.len();
        for (j, deletion) in self.deletions.iter().enumerate() {
            outcomes.push(Outcome {
                name: deletion.account.name.clone(),
                id: Some(deletion.account.id.clone()),
                done: Vec::new(),
                error: None,
                left_alone: Vec::new(),
            });
            for role in &deletion.roles {
                let binding = AccessBinding::service_account(&role.role, &deletion.account.id);
                deltas
                    .entry(&role.resource)
                    .or_default()
                    .push((base + j, AccessBindingDelta::remove(binding)));
            }
        }
        let calls = deltas.into_iter().flat_map(|(resource, list)| {
            list.chunks(MAX_DELTAS)
                .map(|chunk| (resource.clone(), chunk.to_vec()))
                .collect::<Vec<_>>()
        });
        let results: Vec<_> = futures_util::stream::iter(calls.map(|(resource, chunk)| async move {
            let result = update_bindings(client, &resource, chunk.iter().map(|(_, d)| d.clone()).collect()).await;
            (resource, chunk, result)
        }))
        .buffer_unordered(parallel)
        .collect()
        .await;
        for (resource, chunk, result) in results {
            for (i, delta) in chunk {
                let outcome = &mut outcomes[i];
                match &result {
                    Ok(()) => {
                        let sign =
                            if delta.action == crate::proto::yandex::cloud::access::AccessBindingAction::Add as i32 {
                                "+"
                            } else {
                                "-"
                            };
                        let role = delta
                            .access_binding
                            .as_ref()
                            .map(|b| b.role_id.as_str())
                            .unwrap_or_default();
                        outcome.done.push(format!("{sign} role {role} on {resource}"));
                    }
                    Err(e) if outcome.error.is_none() => {
                        outcome.error = Some(Error::new(e.kind(), "cannot update access bindings", e.to_string()));
                    }
                    Err(_) => {}
                }
            }
        }

        // 3. Keys, through their sinks, once the accounts exist and hold their roles.
        let key_runs = self
            .accounts
            .iter()
            .zip(&outcomes)
            .enumerate()
            .flat_map(|(i, (plan, outcome))| {
                let ok = outcome.error.is_none() && outcome.id.is_some();
                let spec = self
                    .manifest
                    .accounts
                    .iter()
                    .find(|a| a.name == plan.name && a.folder_id == plan.folder_id);
                plan.keys
                    .iter()
                    .filter(move |_| ok)
                    .filter(|k| k.changes())
                    .filter_map(move |k| spec.map(|s| (i, s, k)))
            });
        let fleet_name = fleet.as_str();
        let key_results: Vec<(usize, Result<String, Error>)> = futures_util::stream::iter(
            key_runs.map(|(i, spec, change)| async move { (i, keep_key(client, fleet_name, spec, change).await) }),
        )
        .buffer_unordered(parallel)
        .collect()
        .await;
        for (i, result) in key_results {
            let outcome = &mut outcomes[i];
            match result {
                Ok(done) => outcome.done.push(done),
                Err(e) if outcome.error.is_none() => outcome.error = Some(e),
                Err(_) => {}
            }
        }
        let prunes = self
            .accounts
            .iter()
            .enumerate()
            .flat_map(|(i, plan)| plan.keys_to_prune.iter().map(move |key| (i, key)));
        let pruned: Vec<(usize, &String, Result<(), Error>)> = futures_util::stream::iter(
            prunes.map(|(i, key)| async move { (i, &key.id, key.kind.delete(client, &key.id).await) }),
        )
        .buffer_unordered(parallel)
        .collect()
        .await;
        for (i, id, result) in pruned {
            let outcome = &mut outcomes[i];
            match result {
                Ok(()) => outcome.done.push(format!("- key {id}")),
                Err(e) if outcome.error.is_none() => outcome.error = Some(e),
                Err(_) => {}
            }
        }

        // 4. Deletions, once their bindings are gone.
        // An account whose bindings could not be removed is kept, so the report stays true and the
        // next run tries both again.
        let unbound = |j: &usize| outcomes[base + *j].error.is_none();
        let deletable: Vec<_> = self.deletions.iter().enumerate().filter(|(j, _)| unbound(j)).collect();
        let deleted: Vec<_> = futures_util::stream::iter(deletable.into_iter().map(|(j, d)| async move {
            let result = match client.service_accounts().delete(&d.account.id).await {
                Ok(op) => op.wait().await,
                Err(e) => Err(e),
            };
            (base + j, result)
        }))
        .buffer_unordered(parallel)
        .collect()
        .await;
        for (i, result) in deleted {
            let outcome = &mut outcomes[i];
            match result {
                _ if outcome.error.is_some() => {}
                Ok(()) => outcome.done.push("deleted".to_owned()),
                Err(e) if e.kind() == crate::ErrorKind::NotFound => outcome.done.push("deleted".to_owned()),
                Err(e) => outcome.error = Some(e),
            }
        }
        Report {
            fleet,
            accounts: outcomes,
        }
    }
}

/// Creates or changes one account; its outcome holds the id the bindings need.
async fn account(client: &Client, fleet: &str, plan: &AccountPlan, spec: Option<&AccountSpec>) -> Outcome {
    let mut outcome = Outcome {
        name: plan.name.clone(),
        id: plan.id().map(str::to_owned),
        done: Vec::new(),
        error: None,
        left_alone: plan
            .keys
            .iter()
            .flat_map(|k| {
                k.left_alone
                    .iter()
                    .map(move |id| format!("key {id} ({})", k.spec.output))
            })
            .collect(),
    };
    match &plan.state {
        AccountState::Create => {
            let mut p = Provision::new(&plan.folder_id, &plan.name);
            p.labels = managed_labels(fleet, spec.map(|s| &s.labels).unwrap_or(&BTreeMap::new()));
            p.description = spec.and_then(|s| s.description.clone());
            match crate::provision::create_account(&p, client).await {
                Ok(sa) => {
                    outcome.id = Some(sa.id);
                    outcome.done.push("created".to_owned());
                }
                Err(e) => outcome.error = Some(keys::into_error("cannot create service account")(e)),
            }
        }
        AccountState::Update {
            account,
            description,
            labels,
        } => {
            let mut request = UpdateServiceAccount::new(&account.id).name(&account.name);
            if let Some(d) = description {
                request = request.description(d.clone());
            }
            if let Some(l) = labels {
                request = request.labels(l.clone());
            }
            let result = match client.service_accounts().update(request).await {
                Ok(op) => op.wait().await.map(|_| ()),
                Err(e) => Err(e),
            };
            match result {
                Ok(()) => outcome.done.push("updated".to_owned()),
                Err(e) => outcome.error = Some(e),
            }
        }
        AccountState::Unchanged(_) => {}
        AccountState::Foreign(sa) => {
            outcome.error = Some(Error::new(
                crate::ErrorKind::AlreadyExists,
                "cannot manage service account",
                format!(
                    "{} exists in folder {} and is not managed by fleet {fleet}: label it managed-by=yc-iam, fleet={fleet} to adopt it",
                    sa.name, sa.folder_id
                ),
            ));
        }
    }
    outcome
}

async fn update_bindings(client: &Client, grant: &Grant, deltas: Vec<AccessBindingDelta>) -> Result<(), Error> {
    grant
        .update_access_bindings(client, deltas)
        .await?
        .wait()
        .await
        .map(|_| ())
}

/// Keeps one key entry through the provisioning flow (which reads again, so a plan applied late
/// still ends with the sink holding a live key); says what it did.
async fn keep_key(client: &Client, fleet: &str, spec: &AccountSpec, change: &KeyChange) -> Result<String, Error> {
    if let Some(dir) = keys::missing_folder(&change.spec) {
        crate::private_file::create_private_dir(dir).map_err(|e| {
            Error::new(
                crate::ErrorKind::Other,
                "cannot make key",
                format!("cannot create folder {} for {}: {e}", dir.display(), change.spec.output),
            )
        })?;
    }
    let rotate = matches!(change.action, KeyAction::Rotate { .. });
    let provision = keys::provision(fleet, spec, &change.spec, time::OffsetDateTime::now_utc()).rotate(rotate);
    let report = keys::keep(client, &provision, change).await?;
    let sink = &change.spec.output;
    let mut done = match &report.key {
        Some(crate::provision::KeyAction::Created { key, .. }) if rotate => format!("↻ key {} → {sink}", key.id),
        Some(crate::provision::KeyAction::Created { key, .. }) => format!("+ key {} → {sink}", key.id),
        _ if !report.keys_deleted.is_empty() => format!("- keys {} (left for {sink})", report.keys_deleted.join(", ")),
        _ => format!("= key → {sink}"),
    };
    // The sink now holds the entry's kind: the key of the kind it held before goes.
    for old in &change.other_kind {
        match old.kind.delete(client, &old.id).await {
            Ok(()) => done.push_str(&format!(", - {} {}", old.kind.name(), old.id)),
            Err(e) if e.kind() == crate::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}
