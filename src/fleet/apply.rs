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

/// A phase of [`Plan::apply`], in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Phase {
    /// Accounts created, changed, or found not to be the fleet's.
    Accounts,
    /// `UpdateAccessBindings` calls, one per resource (per 1000 deltas).
    Bindings,
    /// Key entries run through their sinks.
    Keys,
    /// Pruned keys and deleted accounts.
    Deletions,
}

impl Phase {
    /// The phase in one word: `accounts`, `bindings`, `keys`, `deletions`.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Accounts => "accounts",
            Phase::Bindings => "bindings",
            Phase::Keys => "keys",
            Phase::Deletions => "deletions",
        }
    }
}

/// How far [`Plan::apply_with`] is: `done` of the phase's `total` steps. Each phase reports
/// once as it starts (`done` 0) and once after each step; a phase with nothing to do reports
/// `0` of `0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Step {
    /// The phase.
    pub phase: Phase,
    /// Steps finished, failed ones included.
    pub done: usize,
    /// Steps in the phase.
    pub total: usize,
}

/// The observer [`Plan::apply_with`] reports to; it must return quickly.
pub type Progress<'a> = &'a (dyn Fn(Step) + Sync);

/// Counts a phase's steps and reports each to the observer.
struct Counter<'a> {
    progress: Progress<'a>,
    phase: Phase,
    total: usize,
    done: std::sync::atomic::AtomicUsize,
}

impl<'a> Counter<'a> {
    fn start(progress: Progress<'a>, phase: Phase, total: usize) -> Self {
        progress(Step { phase, done: 0, total });
        Counter {
            progress,
            phase,
            total,
            done: std::sync::atomic::AtomicUsize::new(0),
        }
    }

    fn step(&self) {
        let done = self.done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        (self.progress)(Step {
            phase: self.phase,
            done,
            total: self.total,
        });
    }

    /// Runs the phase's steps, at most `parallel` at a time, reporting each as it ends; their
    /// results in the order they end.
    async fn run<T>(&self, parallel: usize, steps: Vec<impl Future<Output = T>>) -> Vec<T> {
        crate::bounded::as_they_end(steps, parallel)
            .inspect(|_| self.step())
            .collect()
            .await
    }
}

impl Plan {
    /// Applies the plan: at most `parallel` accounts at a time.
    pub async fn apply(self, client: &Client, parallel: usize) -> Report {
        self.apply_with(client, parallel, &|_| {}).await
    }

    /// Applies the plan as [`apply`](Self::apply) does, telling `progress` how far each phase
    /// is (accounts, bindings, keys, deletions), so a caller can show it. The library prints
    /// nothing.
    pub async fn apply_with(self, client: &Client, parallel: usize, progress: Progress<'_>) -> Report {
        let parallel = parallel.max(1);
        let mut outcomes = self.accounts_phase(client, parallel, progress).await;
        let base = outcomes.len();
        outcomes.extend(self.deletions.iter().map(|d| Outcome {
            name: d.account.name.clone(),
            id: Some(d.account.id.clone()),
            done: Vec::new(),
            error: None,
            left_alone: Vec::new(),
        }));
        self.bindings_phase(client, parallel, &mut outcomes, progress).await;
        self.keys_phase(client, parallel, &mut outcomes, progress).await;
        self.deletions_phase(client, parallel, &mut outcomes[..], base, progress)
            .await;
        Report {
            fleet: self.fleet,
            accounts: outcomes,
        }
    }

    /// The manifest's entry of each account of the plan, in the plan's order (by name and
    /// folder, one lookup each).
    fn specs(&self) -> Vec<Option<&AccountSpec>> {
        let mut by_name = BTreeMap::new();
        for spec in &self.manifest.accounts {
            by_name
                .entry((spec.name.as_str(), spec.folder_id.as_str()))
                .or_insert(spec);
        }
        let spec_of = |plan: &AccountPlan| by_name.get(&(plan.name.as_str(), plan.folder_id.as_str())).copied();
        self.accounts.iter().map(spec_of).collect()
    }

    /// The first phase: accounts, in parallel.
    async fn accounts_phase(&self, client: &Client, parallel: usize, progress: Progress<'_>) -> Vec<Outcome> {
        // An unchanged account is no step: there is nothing to do for it.
        let is_step = |plan: &AccountPlan| !matches!(plan.state, AccountState::Unchanged(_));
        let counter = Counter::start(
            progress,
            Phase::Accounts,
            self.accounts.iter().filter(|a| is_step(a)).count(),
        );
        let fleet = self.fleet.as_str();
        // Run in order: outcomes follow the plan.
        let steps: Vec<_> = (self.accounts.iter().zip(self.specs()))
            .map(|(plan, spec)| {
                let step = is_step(plan);
                async move { (account(client, fleet, plan, spec).await, step) }
            })
            .collect();
        crate::bounded::in_order(steps, parallel)
            .map(|(outcome, step)| {
                if step {
                    counter.step();
                }
                outcome
            })
            .collect()
            .await
    }

    /// The second phase, bindings: every delta of a resource in one call; the deletions' bindings too. The
    /// outcomes of deletions follow those of the manifest's accounts.
    async fn bindings_phase(&self, client: &Client, parallel: usize, outcomes: &mut [Outcome], progress: Progress<'_>) {
        let mut deltas: BTreeMap<&Grant, Vec<(usize, AccessBindingDelta)>> = BTreeMap::new();
        let mut add = |resource, i, delta| deltas.entry(resource).or_default().push((i, delta));
        for (i, plan) in self.accounts.iter().enumerate() {
            let Some(id) = outcomes[i].id.as_deref().filter(|_| outcomes[i].error.is_none()) else {
                continue;
            };
            for role in &plan.roles_to_add {
                add(
                    &role.resource,
                    i,
                    AccessBindingDelta::add(AccessBinding::service_account(&role.role, id)),
                );
            }
            for role in &plan.roles_to_remove {
                let binding = AccessBinding::service_account(&role.role, id);
                add(&role.resource, i, AccessBindingDelta::remove(binding));
            }
        }
        let base = self.accounts.len();
        for (j, deletion) in self.deletions.iter().enumerate() {
            for role in &deletion.roles {
                let binding = AccessBinding::service_account(&role.role, &deletion.account.id);
                add(&role.resource, base + j, AccessBindingDelta::remove(binding));
            }
        }
        let calls: Vec<(Grant, Vec<(usize, AccessBindingDelta)>)> = deltas
            .into_iter()
            .flat_map(|(resource, list)| {
                list.chunks(MAX_DELTAS)
                    .map(|chunk| (resource.clone(), chunk.to_vec()))
                    .collect::<Vec<_>>()
            })
            .collect();
        let counter = Counter::start(progress, Phase::Bindings, calls.len());
        let results = counter
            .run(
                parallel,
                calls
                    .into_iter()
                    .map(|(resource, chunk)| async move {
                        let deltas = chunk.iter().map(|(_, d)| d.clone()).collect();
                        let result = update_bindings(client, &resource, deltas).await;
                        (resource, chunk, result)
                    })
                    .collect(),
            )
            .await;
        for (resource, chunk, result) in results {
            for (i, delta) in chunk {
                note_binding(&mut outcomes[i], &resource, &delta, &result);
            }
        }
    }

    /// The third phase: keys, through their sinks, once the accounts exist and hold their roles.
    async fn keys_phase(&self, client: &Client, parallel: usize, outcomes: &mut [Outcome], progress: Progress<'_>) {
        let runs: Vec<(usize, &AccountSpec, &KeyChange)> = self
            .accounts
            .iter()
            .zip(self.specs())
            .zip(outcomes.iter())
            .enumerate()
            .filter(|(_, (_, outcome))| outcome.error.is_none() && outcome.id.is_some())
            .flat_map(|(i, ((plan, spec), _))| {
                plan.keys
                    .iter()
                    .filter(|k| k.changes())
                    .filter_map(move |k| spec.map(|s| (i, s, k)))
            })
            .collect();
        let counter = Counter::start(progress, Phase::Keys, runs.len());
        let fleet = self.fleet.as_str();
        let kept = runs
            .into_iter()
            .map(|(i, spec, change)| async move { (i, keep_key(client, fleet, spec, change).await) })
            .collect();
        note_each(outcomes, counter.run(parallel, kept).await);
    }

    /// The last phase: pruned keys, then deleted accounts once their bindings are gone. An account whose
    /// bindings could not be removed is kept, so the report stays true and the next run tries
    /// both again.
    async fn deletions_phase(
        &self,
        client: &Client,
        parallel: usize,
        outcomes: &mut [Outcome],
        base: usize,
        progress: Progress<'_>,
    ) {
        let prunes: Vec<_> = self
            .accounts
            .iter()
            .enumerate()
            .flat_map(|(i, plan)| plan.keys_to_prune.iter().map(move |key| (i, key)))
            .collect();
        let deletable: Vec<_> = self
            .deletions
            .iter()
            .enumerate()
            .filter(|(j, _)| outcomes[base + *j].error.is_none())
            .collect();
        let counter = Counter::start(progress, Phase::Deletions, prunes.len() + deletable.len());
        let pruned = prunes
            .into_iter()
            .map(|(i, key)| async move {
                let result = key.kind.delete(client, &key.id).await;
                (i, result.map(|()| format!("- key {}", key.id)))
            })
            .collect();
        note_each(outcomes, counter.run(parallel, pruned).await);
        let deleted = deletable
            .into_iter()
            .map(|(j, d)| async move {
                let result = async { client.service_accounts().delete(&d.account.id).await?.wait().await }.await;
                // Gone already is deleted.
                let result = match result {
                    Err(e) if e.kind() == crate::ErrorKind::NotFound => Ok(()),
                    other => other,
                };
                (base + j, result.map(|()| "deleted".to_owned()))
            })
            .collect();
        note_each(outcomes, counter.run(parallel, deleted).await);
    }
}

/// Adds what a step did to an outcome, or its error when the outcome has none yet.
fn note(outcome: &mut Outcome, result: Result<String, Error>) {
    match result {
        Ok(done) => outcome.done.push(done),
        Err(e) if outcome.error.is_none() => outcome.error = Some(e),
        Err(_) => {}
    }
}

/// Adds what each step did to the outcome of its account (by index).
fn note_each(outcomes: &mut [Outcome], results: Vec<(usize, Result<String, Error>)>) {
    for (i, result) in results {
        note(&mut outcomes[i], result);
    }
}

/// Adds one binding delta's result to its account's outcome.
fn note_binding(outcome: &mut Outcome, resource: &Grant, delta: &AccessBindingDelta, result: &Result<(), Error>) {
    match result {
        Ok(()) => {
            let add = delta.action == crate::proto::yandex::cloud::access::AccessBindingAction::Add as i32;
            let sign = if add { "+" } else { "-" };
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
            match async { client.service_accounts().update(request).await?.wait().await }.await {
                Ok(_) => outcome.done.push("updated".to_owned()),
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
    let report = keys::keep(client, fleet, &provision, change).await?;
    let sink = &change.spec.output;
    let mut done = match &report.key {
        Some(crate::provision::KeyAction::Created { key, .. }) if rotate => format!("↻ key {} → {sink}", key.id),
        Some(crate::provision::KeyAction::Created { key, .. }) => format!("+ key {} → {sink}", key.id),
        _ if !report.keys_deleted.is_empty() => format!("- keys {} (left for {sink})", report.keys_deleted.join(", ")),
        _ => format!("= key → {sink}"),
    };
    // The sink now holds the entry's kind: the key of the kind it held before goes, its entries
    // first (a kill in between leaves the key, which the next apply finds again).
    for old in &change.other_kind {
        let secret_id = report.lockbox.as_ref().map(|l| l.secret_id.as_str());
        crate::provision::forget_key(
            client,
            (&provision.output, secret_id),
            old.kind,
            &old.held_as,
            change.spec.kind,
        )
        .await
        .map_err(keys::into_error("cannot drop the entries of a replaced key"))?;
        old.kind.delete(client, &old.id).await?;
        done.push_str(&format!(", - {} {}", old.kind.name(), old.id));
    }
    Ok(done)
}
