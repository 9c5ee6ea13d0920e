//! Applying a [`Plan`]: the changes it lists, in an order that survives a kill at any moment.
//!
//! The account first, then the missing roles, then the key: a new key's secret is written to the
//! file before any other key is deleted, so a run killed in between leaves a file that works and
//! keys the next run recognises (by the file's marker) and deletes. A failure stops the run and
//! hands back the report of what was already done.

use std::time::Duration;

use secrecy::SecretString;

use super::plan::{AccountPlan, KeyPlan, Plan};
use super::report::{KeyAction, ProvisionError, Report};
use super::{Grant, KeyOutput, Provision, StoredKey, api, dedup, with_marker};
use crate::model::{AccessBinding, AccessBindingAction, AccessBindingDelta, ApiKey, ServiceAccount, Subject};
use crate::timestamp::{from_timestamp, to_timestamp};
use crate::{Client, CreateApiKey, CreateServiceAccount, ErrorKind};

/// Most deltas one `UpdateAccessBindings` accepts.
const MAX_DELTAS: usize = 1000;

impl Plan {
    /// Makes the changes this plan lists. After it, the service account exists, has the roles,
    /// and the key file holds a live key with the requested scopes.
    ///
    /// On failure the error carries the report of what was done before it
    /// ([`ProvisionError::partial_report`]); running the flow again finishes the job.
    pub async fn apply(self, client: &Client) -> Result<Report, ProvisionError> {
        let Plan {
            account,
            grant,
            roles_present,
            roles_missing,
            key,
            keys_to_delete,
            input,
            marker,
        } = self;
        if let KeyOutput::File(path) = &input.output {
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
            key: None,
            keys_deleted: Vec::new(),
            keys_not_deleted: Vec::new(),
            secret_for_caller: None,
        };
        if let Err(e) = add_bindings(client, &mut report, &roles_missing).await {
            return Err(e.with_partial(report));
        }
        report.key = Some(match key {
            KeyPlan::Keep(key) => KeyAction::Kept { key },
            KeyPlan::Create { reason, replaces } => {
                let account_id = &report.service_account.id;
                match create_key(client, &input, marker.as_deref(), account_id).await {
                    Ok((key, for_caller)) => {
                        report.secret_for_caller = for_caller;
                        KeyAction::Created { key, reason, replaces }
                    }
                    Err(e) => return Err(e.with_partial(report)),
                }
            }
        });
        // Only now that the file holds a good key are the others deleted.
        for id in keys_to_delete {
            match delete_key(client, &id).await {
                Ok(()) => report.keys_deleted.push(id),
                Err(e) => report.keys_not_deleted.push((id, e.to_string())),
            }
        }
        Ok(report)
    }
}

async fn create_account(p: &Provision, client: &Client) -> Result<ServiceAccount, ProvisionError> {
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
            // Created by a run that was killed before it could wait (or by a concurrent run):
            // it shows up once its operation is done.
            let mut delay = Duration::from_millis(100);
            for _ in 0..40 {
                if let Some(sa) = client
                    .service_accounts()
                    .find_by_name(&p.folder_id, &p.name)
                    .await
                    .map_err(api(step()))?
                {
                    return Ok(sa);
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(1));
            }
            Err(api(step())(e))
        }
        Err(e) => Err(api(step())(e)),
    }
}

/// Adds `roles` for the report's account on its grant, recording each batch in the report as
/// soon as it is done.
async fn add_bindings(client: &Client, report: &mut Report, roles: &[String]) -> Result<(), ProvisionError> {
    let grant = &report.grant;
    let subject = Subject {
        id: report.service_account.id.clone(),
        r#type: "serviceAccount".to_owned(),
    };
    let step = format!("cannot add access bindings on {} {}", grant.kind(), grant.id());
    for batch in roles.chunks(MAX_DELTAS) {
        let deltas: Vec<AccessBindingDelta> = batch
            .iter()
            .map(|role| AccessBindingDelta {
                action: AccessBindingAction::Add as i32,
                access_binding: Some(AccessBinding {
                    role_id: role.clone(),
                    subject: Some(subject.clone()),
                }),
            })
            .collect();
        let op = match grant {
            Grant::Folder(id) => client.folders().update_access_bindings(id, deltas).await,
            Grant::Cloud(id) => client.clouds().update_access_bindings(id, deltas).await,
        }
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
            report.roles_added.extend_from_slice(batch);
        } else {
            report.roles_added.extend(effective);
        }
    }
    Ok(())
}

/// Creates the key and writes its secret to the file (or returns it for the caller). A key whose
/// secret cannot be written is deleted again.
async fn create_key(
    client: &Client,
    p: &Provision,
    marker: Option<&str>,
    account_id: &str,
) -> Result<(ApiKey, Option<StoredKey>), ProvisionError> {
    let description = match marker {
        Some(marker) => with_marker(p.key_description.as_deref(), marker),
        None => p
            .key_description
            .clone()
            .unwrap_or_else(|| "made by yc-iam provision".to_owned()),
    };
    let mut request = CreateApiKey::new(account_id)
        .scopes(dedup(&p.scopes))
        .description(description);
    if let Some(at) = p.expires_at {
        request = request.expires_at(to_timestamp(at));
    }
    let created = client.api_keys().create(request).await.map_err(api(format!(
        "cannot create an API key for service account {account_id}"
    )))?;
    let stored = stored_from(&created.api_key, created.secret);
    match &p.output {
        KeyOutput::File(path) => match stored.write(path) {
            Ok(()) => Ok((created.api_key, None)),
            Err(source) => {
                let deleted = delete_key(client, &created.api_key.id).await.is_ok();
                Err(ProvisionError::KeyNotWritten {
                    key_id: created.api_key.id,
                    deleted,
                    source,
                    partial: None,
                })
            }
        },
        KeyOutput::Caller => Ok((created.api_key, Some(stored))),
    }
}

async fn delete_key(client: &Client, id: &str) -> Result<(), crate::Error> {
    let result = match client.api_keys().delete(id).await {
        Ok(op) => op.wait().await.map(drop),
        Err(e) => Err(e),
    };
    match result {
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

fn stored_from(key: &ApiKey, secret: SecretString) -> StoredKey {
    StoredKey {
        id: key.id.clone(),
        service_account_id: key.service_account_id.clone(),
        created_at: key
            .created_at
            .as_ref()
            .and_then(from_timestamp)
            .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok()),
        scopes: key.scopes.clone(),
        expires_at: key.expires_at.as_ref().and_then(from_timestamp),
        secret,
    }
}
