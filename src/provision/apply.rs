//! Applying a [`Plan`]: the changes it lists, in an order that survives a kill at any moment.
//!
//! The account first; then the missing roles and the key together, since neither needs the
//! other; then the deletions: a new key's secret reaches the sink before any other key is deleted,
//! so a run killed in between leaves a sink that works and keys the next run recognises (by the
//! sink's marker) and deletes. The key a new one replaces is given that marker first when it
//! lacks it (made by `yc`, or for another spelling of the sink's path), so that it too is
//! recognised. A run killed (or failed) once the key is in the sink but before the
//! roles are granted leaves a key the next run keeps, and that run grants the roles. A failure
//! stops the run and hands back the report of what was already done.
//!
//! For a Lockbox sink the secret comes before the key (the key's marker names the secret's id),
//! and the replaced version is scheduled for destruction before the replaced key is deleted: a
//! marked key the secret does not hold is then the one sign of unfinished work a later run needs,
//! and only when it sees one (or replaces the current version) does it list the versions for
//! marked ones left active. Versions without the sink's marker belong to other writers and are
//! never scheduled.

use super::MAX_DELTAS;
use super::key_type::NewKey;
use super::plan::{AccountPlan, KeyPlan, Plan};
use super::report::{KeyAction, ProvisionError, Report};
use super::sink::{lockbox, marker};
use super::verify;
use super::{
    IssuedKey, KeySink, LockboxPlan, LockboxReport, LockboxSecret, ManagedKey, Provision, SecretPlan, api, dedup,
    with_marker,
};
use crate::model::{AccessBinding, AccessBindingDelta, ServiceAccount, Subject};
use crate::timestamp::to_timestamp;
use crate::{Client, CreateServiceAccount, ErrorKind};

impl Plan {
    /// Makes the changes this plan lists. After it, the service account exists, has the roles,
    /// and the key file holds a live key with the requested scopes.
    ///
    /// On failure the error carries the report of what was done before it
    /// ([`ProvisionError::partial_report`]); running the flow again finishes the job.
    pub async fn apply(self, client: &Client) -> Result<Report, ProvisionError> {
        // Taken apart whole, so that a field added to the plan cannot go unapplied unnoticed.
        let Plan {
            account,
            grant,
            roles_present,
            roles_missing,
            key,
            lockbox,
            keys_to_delete,
            input,
            marker,
            existing_keys,
            replaced,
            replaced_tag,
        } = self;
        if let Some(path) = input.output.path() {
            crate::private_file::remove_temporaries(path);
        }
        let (service_account, service_account_created) = match account {
            AccountPlan::Existing(sa) => (sa, false),
            AccountPlan::Create => (create_account(&input, client).await?, true),
        };
        let mut report = Report {
            service_account,
            service_account_created,
            grant,
            roles_added: Vec::new(),
            roles_present,
            key_type: input.key_type,
            key: None,
            keys_deleted: Vec::new(),
            keys_not_deleted: Vec::new(),
            secret_for_caller: None,
            lockbox: None,
            verification: None,
            not_verified: None,
        };
        let mut target = Target {
            input: &input,
            marker,
            lockbox: None,
            existing_keys,
            replaced,
            replaced_tag,
        };
        // The roles and the key at once: one round trip less (see the module docs).
        let (grant, account_id) = (report.grant.clone(), report.service_account.id.clone());
        let mut roles_added = Vec::new();
        let (bound, keyed) = futures_util::future::join(
            add_bindings(client, &grant, &account_id, &roles_missing, &mut roles_added),
            make_key(client, &mut target, &mut report, lockbox, key),
        )
        .await;
        report.roles_added = roles_added;
        let issued = match (bound, keyed) {
            (Ok(()), Ok(issued)) => issued,
            // When both fail, the key's error is the one to tell: it says what became of the
            // key, and the next run grants the roles either way.
            (_, Err(e)) | (Err(e), Ok(_)) => return Err(e.with_partial(report)),
        };
        delete_replaced(client, &target, &mut report, keys_to_delete).await;
        if let Some(verify) = &input.verify {
            let kept = match &report.key {
                Some(KeyAction::Kept { key }) => Some(key),
                _ => None,
            };
            match verify::in_place(client, &input, verify, (issued.as_ref(), kept), report.lockbox.as_ref()).await {
                Ok(verify::Checked::Verified(done)) => report.verification = Some(done),
                Ok(verify::Checked::Skipped(why)) => report.not_verified = Some(why),
                Err(e) => return Err(e.with_partial(report)),
            }
        }
        Ok(report)
    }
}

/// Keeps the planned key or makes a new one (after the Lockbox secret it goes into, if any),
/// recording each step in the report; returns the new key.
async fn make_key(
    client: &Client,
    target: &mut Target<'_>,
    report: &mut Report,
    lockbox: Option<LockboxPlan>,
    key: KeyPlan,
) -> Result<Option<IssuedKey>, ProvisionError> {
    if let Some(plan) = lockbox {
        prepare_secret(client, target, report, plan).await?;
    }
    let (action, issued) = match key {
        KeyPlan::Keep(key) => (KeyAction::Kept { key }, None),
        KeyPlan::Create { reason, replaces } => {
            if replaces.is_some() {
                mark_replaced(client, target).await?;
            }
            let (key, new, version) = create_key(client, target, &report.service_account).await?;
            if target.input.output == KeySink::Caller {
                report.secret_for_caller = Some(new.clone());
            }
            if let (Some(lockbox), Some(version)) = (&mut report.lockbox, version) {
                lockbox.version_id = Some(version);
                lockbox.version_added = true;
            }
            (KeyAction::Created { key, reason, replaces }, Some(new))
        }
    };
    report.key = Some(action);
    Ok(issued)
}

/// Gives the key the sink holds, which a new one is about to replace, the sink's marker (and the
/// tag the plan asks for) unless it has them: a run killed after the new key is in the sink and
/// before this one is deleted then leaves a key the next run recognises as a leftover and
/// deletes. Nothing is made when this fails.
async fn mark_replaced(client: &Client, target: &Target<'_>) -> Result<(), ProvisionError> {
    let (Some(key), Some(marker)) = (&target.replaced, &target.marker) else {
        return Ok(());
    };
    let Some(description) = super::as_replaced(&key.description, marker, target.replaced_tag.as_deref()) else {
        return Ok(());
    };
    key.kind
        .describe_key(client, &key.id, description)
        .await
        .map_err(api(format!(
            "cannot mark {} {} as replaced",
            key.kind.describe(),
            key.id
        )))
}

/// Deletes the keys the sink no longer holds, now that it holds a good one; the version a new
/// one replaced goes before the key it held (see the module docs). Failures are warnings.
async fn delete_replaced(client: &Client, target: &Target<'_>, report: &mut Report, keys_to_delete: Vec<String>) {
    let mut version_left_active = false;
    if let (Some(version), Some(lockbox)) = (target.replaced_version(), &mut report.lockbox) {
        version_left_active = !schedule(client, target, lockbox, &version, &mut report.keys_not_deleted).await;
    }
    let replaced = match &report.key {
        Some(KeyAction::Created { replaces, .. }) => replaces.clone(),
        _ => None,
    };
    for id in keys_to_delete {
        if version_left_active && replaced.as_ref() == Some(&id) {
            // The marked key the current version does not name is what makes the next run
            // look for the version again; without it the version would stay active for good.
            let why = "kept while its Lockbox version is active; the next run schedules both";
            report.keys_not_deleted.push((id, why.to_owned()));
            continue;
        }
        match target.input.key_type.delete(client, &id).await {
            Ok(()) => report.keys_deleted.push(id),
            Err(e) => report.keys_not_deleted.push((id, e.to_string())),
        }
    }
}

/// Where the key goes, as apply resolves it: the inputs, the marker (known once a Lockbox secret
/// exists) and the secret's plan.
struct Target<'a> {
    input: &'a Provision,
    marker: Option<String>,
    lockbox: Option<LockboxPlan>,
    existing_keys: Vec<String>,
    replaced: Option<ManagedKey>,
    replaced_tag: Option<String>,
}

impl Target<'_> {
    fn secret(&self) -> Option<(&str, Option<&str>)> {
        match &self.lockbox.as_ref()?.secret {
            SecretPlan::Existing {
                id, current_version, ..
            } => Some((id, current_version.as_deref())),
            SecretPlan::Create { .. } => None,
        }
    }

    fn replaced_version(&self) -> Option<String> {
        self.lockbox.as_ref()?.replaced_version.clone()
    }
}

/// Creates the secret if needed, grants the missing readers and schedules the versions an
/// interrupted run left active, recording each step in the report.
async fn prepare_secret(
    client: &Client,
    target: &mut Target<'_>,
    report: &mut Report,
    mut plan: LockboxPlan,
) -> Result<(), ProvisionError> {
    let KeySink::Lockbox(sink) = &target.input.output else {
        return Ok(());
    };
    let (id, name, created) = match &plan.secret {
        SecretPlan::Existing { id, name, .. } => (id.clone(), name.clone(), false),
        SecretPlan::Create { folder_id, name } => {
            let id = lockbox::create_secret(client, folder_id, name).await?;
            (id, Some(name.clone()), true)
        }
    };
    let folder_id = match &sink.secret {
        LockboxSecret::Name(_) => Some(sink.folder_id.clone().unwrap_or_else(|| target.input.folder_id.clone())),
        LockboxSecret::Id(_) => None,
    };
    if created {
        plan.secret = SecretPlan::Existing {
            id: id.clone(),
            name: name.clone(),
            current_version: None,
        };
        target.marker = Some(marker::lockbox(&id));
    }
    let current = match &plan.secret {
        SecretPlan::Existing { current_version, .. } => current_version.clone(),
        SecretPlan::Create { .. } => None,
    };
    let done = report.lockbox.insert(LockboxReport {
        secret_id: id.clone(),
        secret_name: name,
        folder_id,
        secret_created: created,
        version_id: current,
        version_added: false,
        versions_scheduled: Vec::new(),
        readers_added: Vec::new(),
    });
    done.readers_added = lockbox::add_readers(client, &id, &plan.readers_missing).await?;
    for version in std::mem::take(&mut plan.versions_to_destroy) {
        lockbox::schedule_destruction(client, sink, &id, &version)
            .await
            .map_err(api(format!(
                "cannot schedule version {version} of lockbox secret {id} for destruction"
            )))?;
        done.versions_scheduled.push(version);
    }
    target.lockbox = Some(plan);
    Ok(())
}

/// Schedules a replaced version for destruction, and says whether it did; a failure is reported
/// as a warning, like a key that could not be deleted, and the key the version holds is kept so
/// that the next run finds the version again.
async fn schedule(
    client: &Client,
    target: &Target<'_>,
    report: &mut LockboxReport,
    version: &str,
    warnings: &mut Vec<(String, String)>,
) -> bool {
    let KeySink::Lockbox(sink) = &target.input.output else {
        return true;
    };
    match lockbox::schedule_destruction(client, sink, &report.secret_id, version).await {
        Ok(()) => {
            report.versions_scheduled.push(version.to_owned());
            true
        }
        Err(e) => {
            warnings.push((format!("lockbox version {version}"), e.to_string()));
            false
        }
    }
}

pub(crate) async fn create_account(p: &Provision, client: &Client) -> Result<ServiceAccount, ProvisionError> {
    let step = || format!("cannot create service account {:?} in folder {}", p.name, p.folder_id);
    let mut request = CreateServiceAccount::new(&p.folder_id, &p.name).labels(p.labels.clone());
    if let Some(d) = &p.description {
        request = request.description(d.clone());
    }
    let result = match client.service_accounts().create(request).await {
        Ok(op) => op.wait().await,
        Err(e) => Err(e),
    };
    match result {
        Ok(sa) => Ok(sa),
        Err(e) if e.kind() == ErrorKind::AlreadyExists || e.code() == Some(tonic::Code::AlreadyExists) => {
            // Created by a run that was killed before it could wait (or by a concurrent run): it
            // is listed once its operation is done, so it is looked for on the client's retry
            // schedule. A listing that failed was already retried on its own: that ends the wait.
            let found = client
                .retrying(
                    "cannot find service account",
                    || async {
                        match client.service_accounts().find_by_name(&p.folder_id, &p.name).await {
                            Ok(Some(sa)) => Ok(Ok(sa)),
                            Ok(None) => Err(not_listed_yet()),
                            Err(listing) => Ok(Err(listing)),
                        }
                    },
                    |_| {},
                )
                .await;
            match found {
                Ok(Ok(sa)) => Ok(sa),
                Ok(Err(listing)) => Err(api(step())(listing)),
                Err(_) => Err(api(step())(e)),
            }
        }
        Err(e) => Err(api(step())(e)),
    }
}

/// The retryable error of an account that exists but is not listed yet.
fn not_listed_yet() -> crate::Error {
    crate::Error::new(
        ErrorKind::Unavailable,
        "cannot find service account",
        "it exists but is not listed yet",
    )
}

/// Adds `roles` for the account on `grant`, recording each batch in `added` as soon as it is done.
async fn add_bindings(
    client: &Client,
    grant: &super::Grant,
    account_id: &str,
    roles: &[String],
    added: &mut Vec<String>,
) -> Result<(), ProvisionError> {
    let subject = Subject {
        id: account_id.to_owned(),
        r#type: "serviceAccount".to_owned(),
    };
    let step = format!("cannot add access bindings on {} {}", grant.kind(), grant.id());
    for batch in roles.chunks(MAX_DELTAS) {
        let deltas: Vec<AccessBindingDelta> = batch
            .iter()
            .map(|role| {
                AccessBindingDelta::add(AccessBinding {
                    role_id: role.clone(),
                    subject: Some(subject.clone()),
                })
            })
            .collect();
        let op = grant
            .update_access_bindings(client, deltas)
            .await
            .map_err(api(step.clone()))?;
        let result = op.wait().await.map_err(api(step.clone()))?;
        let effective: Vec<String> = result
            .effective_deltas
            .into_iter()
            .filter_map(|d| d.access_binding.map(|b| b.role_id))
            .collect();
        // The server reports the deltas that changed something; when it reports none (a binding
        // added concurrently), the requested roles are what we asked for.
        if effective.is_empty() {
            added.extend_from_slice(batch);
        } else {
            added.extend(effective);
        }
    }
    Ok(())
}

/// Creates the key and puts its secret in the sink, and returns it with the Lockbox version
/// that holds it. A key whose secret cannot be put in the sink is deleted again.
async fn create_key(
    client: &Client,
    target: &Target<'_>,
    account: &ServiceAccount,
) -> Result<(ManagedKey, IssuedKey, Option<String>), ProvisionError> {
    let p = target.input;
    let description = match &target.marker {
        Some(marker) => with_marker(p.key_description.as_deref(), marker, p.output.path()),
        None => p
            .key_description
            .clone()
            .unwrap_or_else(|| "made by yc-iam provision".to_owned()),
    };
    let new = NewKey {
        service_account_id: &account.id,
        description,
        scopes: dedup(&p.scopes),
        expires_at: p.expires_at.map(to_timestamp),
        algorithm: p.key_algorithm.unwrap_or_default(),
        existing: &target.existing_keys,
    };
    let (created, issued) = new.create(p.key_type, client).await.map_err(api(format!(
        "cannot create an {} for service account {}",
        p.key_type.describe(),
        account.id
    )))?;
    let key_id = created.id.clone();
    let kind = p.key_type;
    match &p.output {
        KeySink::Caller => Ok((created, issued, None)),
        KeySink::Lockbox(sink) => {
            // `prepare_secret` ran first: the secret exists and the marker names it.
            let (Some((secret_id, base)), Some(marker)) = (target.secret(), &target.marker) else {
                kind.delete(client, &key_id).await.ok();
                let missing = crate::Error::new(ErrorKind::Other, "provision", "the plan has no Lockbox secret");
                return Err(api(format!(
                    "created key {key_id} but its Lockbox secret is not in place"
                ))(missing));
            };
            match lockbox::add_key_version(client, sink, secret_id, base, &issued, &p.folder_id, marker).await {
                Ok(version) => Ok((created, issued, Some(version))),
                Err(failed) => {
                    let again = if !failed.refused {
                        " (it may be in place: the next run keeps the key if the secret holds it, else deletes it)"
                    } else if kind.delete(client, &key_id).await.is_ok() {
                        " (the key was deleted again)"
                    } else {
                        ""
                    };
                    Err(api(format!(
                        "created key {key_id} but could not add it to lockbox secret {secret_id}{again}"
                    ))(failed.error))
                }
            }
        }
        sink => match write_off_thread(sink, issued, &p.folder_id, &account.name, p.profile()).await {
            Ok(issued) => Ok((created, issued, None)),
            Err(source) => {
                let deleted = kind.delete(client, &key_id).await.is_ok();
                Err(ProvisionError::KeyNotWritten {
                    key_id,
                    deleted,
                    source,
                    partial: None,
                })
            }
        },
    }
}

/// Writes a file sink on a blocking thread and hands the key back: the write ends in an fsync of
/// the file and of its folder, which take milliseconds on many disks, and on the caller's runtime
/// thread they would hold up everything else it runs meanwhile (a fleet's other keys).
async fn write_off_thread(
    sink: &KeySink,
    issued: IssuedKey,
    folder_id: &str,
    account_name: &str,
    aws_profile: &str,
) -> Result<IssuedKey, super::KeyFileError> {
    let (sink, folder_id, account_name, aws_profile) = (
        sink.clone(),
        folder_id.to_owned(),
        account_name.to_owned(),
        aws_profile.to_owned(),
    );
    tokio::task::spawn_blocking(move || {
        sink.write_file(&issued, &folder_id, &account_name, &aws_profile)
            .map(|()| issued)
    })
    .await
    .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
}
