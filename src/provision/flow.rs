//! The steps of the flow against the API. Every step looks before it acts, so the same code
//! serves a run and a plan (`dry_run`: look, never act).

use std::collections::BTreeSet;
use std::time::Duration;

use futures_util::TryStreamExt;
use secrecy::SecretString;
use time::OffsetDateTime;

use super::report::{KeyAction, KeyReason, ProvisionError, Report};
use super::{Grant, KeyOutput, Provision, StoredKey, dedup, marker_for, with_marker};
use crate::model::{AccessBinding, AccessBindingAction, AccessBindingDelta, ApiKey, ServiceAccount, Subject};
use crate::{Client, CreateApiKey, CreateServiceAccount, ErrorKind};

/// Most deltas one `UpdateAccessBindings` accepts.
const MAX_DELTAS: usize = 1000;

fn api(step: impl Into<String>) -> impl FnOnce(crate::Error) -> ProvisionError {
    let step = step.into();
    move |source| ProvisionError::Api { step, source }
}

pub(super) async fn execute(p: &Provision, client: &Client, dry_run: bool) -> Result<Report, ProvisionError> {
    p.validate()?;
    let roles = dedup(&p.roles);
    let scopes = dedup(&p.scopes);
    // Read the key file before anything is sent: a file that is not a key file is bad input.
    let (stored, marker) = match &p.output {
        KeyOutput::File(path) => {
            if !dry_run {
                super::key_file::clean_temporaries(path);
            }
            (StoredKey::read(path)?, Some(marker_for(path)))
        }
        KeyOutput::Caller => (None, None),
    };

    // 1. The service account.
    tracing::debug!(
        "→ ServiceAccountService.List folder_id={:?} name={:?}",
        p.folder_id,
        p.name
    );
    let found = client
        .service_accounts()
        .find_by_name(&p.folder_id, &p.name)
        .await
        .map_err(api(format!(
            "cannot look up service account {:?} in folder {}",
            p.name, p.folder_id
        )))?;
    let (account, service_account_created) = match found {
        Some(sa) => (Some(sa), false),
        None if dry_run => (None, true),
        None => (Some(create_account(p, client).await?), true),
    };

    // 2. The bindings.
    let grant = p.grant_target();
    tracing::debug!("→ {}.ListAccessBindings resource_id={:?}", grant.kind(), grant.id());
    let existing: Vec<AccessBinding> = match &grant {
        Grant::Folder(id) => client.folders().list_access_bindings(id).try_collect().await,
        Grant::Cloud(id) => client.clouds().list_access_bindings(id).try_collect().await,
    }
    .map_err(api(format!(
        "cannot list access bindings of {} {}",
        grant.kind(),
        grant.id()
    )))?;
    let (roles_present, mut roles_added): (Vec<String>, Vec<String>) = roles.iter().cloned().partition(|role| {
        account.as_ref().is_some_and(|sa| {
            existing.iter().any(|b| {
                b.role_id == *role
                    && b.subject
                        .as_ref()
                        .is_some_and(|s| s.r#type == "serviceAccount" && s.id == sa.id)
            })
        })
    });
    if let (Some(sa), false) = (&account, dry_run)
        && !roles_added.is_empty()
    {
        roles_added = add_bindings(client, &grant, &sa.id, &roles_added).await?;
    }

    // 3. The key.
    if let Some(sa) = &account {
        tracing::debug!("→ ApiKeyService.List service_account_id={:?}", sa.id);
    }
    let keys: Vec<ApiKey> = match &account {
        Some(sa) => client
            .api_keys()
            .list(&sa.id)
            .try_collect()
            .await
            .map_err(api(format!("cannot list API keys of service account {}", sa.id)))?,
        None => Vec::new(),
    };
    let now = OffsetDateTime::now_utc();
    let decision = decide_key(p, account.as_ref(), stored.as_ref(), &keys, &scopes, now);
    let file_key_id = stored.as_ref().map(|k| k.id.clone());
    let mut to_delete: Vec<String> = Vec::new();
    if let Some(marker) = &marker {
        // Keys an earlier run made for this file whose secret never reached it.
        for key in &keys {
            if key.description.ends_with(marker.as_str()) && Some(&key.id) != file_key_id.as_ref() {
                to_delete.push(key.id.clone());
            }
        }
    }
    let mut report = Report {
        dry_run,
        name: p.name.clone(),
        service_account: account.clone(),
        service_account_created,
        grant,
        roles_added,
        roles_present,
        key: KeyAction::Created {
            key: None,
            reason: KeyReason::NoKeyFile,
            replaces: None,
        },
        keys_deleted: Vec::new(),
        keys_not_deleted: Vec::new(),
        secret_for_caller: None,
    };
    let (reason, replaces) = match decision {
        KeyDecision::Keep(key) => {
            report.key = KeyAction::Kept { key };
            (None, None)
        }
        KeyDecision::Create { reason, replaces } => (Some(reason), replaces),
    };
    if let Some(old) = &replaces {
        to_delete.push(old.clone());
    }
    if dry_run {
        if let Some(reason) = reason {
            report.key = KeyAction::Created {
                key: None,
                reason,
                replaces,
            };
        }
        report.keys_deleted = to_delete;
        return Ok(report);
    }
    let Some(sa) = account else {
        // Unreachable: outside a plan the account exists by now.
        return Ok(report);
    };
    if let Some(reason) = reason {
        let description = match &marker {
            Some(marker) => with_marker(p.key_description.as_deref(), marker),
            None => p
                .key_description
                .clone()
                .unwrap_or_else(|| "made by yc-iam provision".to_owned()),
        };
        let mut request = CreateApiKey::new(&sa.id)
            .scopes(scopes.clone())
            .description(description);
        if let Some(at) = p.expires_at {
            request = request.expires_at(to_timestamp(at));
        }
        tracing::debug!("→ ApiKeyService.Create {request:?}");
        let created = client
            .api_keys()
            .create(request)
            .await
            .map_err(api(format!("cannot create an API key for service account {}", sa.id)))?;
        tracing::debug!("← ApiKeyService.Create {created:?}");
        let stored = stored_from(&created.api_key, created.secret);
        match &p.output {
            KeyOutput::File(path) => {
                if let Err(source) = stored.write(path) {
                    let deleted = delete_key(client, &created.api_key.id).await.is_ok();
                    return Err(ProvisionError::KeyNotWritten {
                        key_id: created.api_key.id.clone(),
                        deleted,
                        source,
                    });
                }
            }
            KeyOutput::Caller => report.secret_for_caller = Some(stored),
        }
        report.key = KeyAction::Created {
            key: Some(created.api_key),
            reason,
            replaces,
        };
    }
    // Only now that the file holds a good key are the others deleted.
    for id in to_delete {
        match delete_key(client, &id).await {
            Ok(()) => report.keys_deleted.push(id),
            Err(e) => report.keys_not_deleted.push((id, e.to_string())),
        }
    }
    Ok(report)
}

async fn create_account(p: &Provision, client: &Client) -> Result<ServiceAccount, ProvisionError> {
    let step = || format!("cannot create service account {:?} in folder {}", p.name, p.folder_id);
    let mut request = CreateServiceAccount::new(&p.folder_id, &p.name).labels(p.labels.clone());
    if let Some(d) = &p.description {
        request = request.description(d.clone());
    }
    tracing::debug!("→ ServiceAccountService.Create {request:?}");
    let result = match client.service_accounts().create(request).await {
        Ok(op) => op.wait().await,
        Err(e) => Err(e),
    };
    match result {
        Ok(sa) => {
            tracing::debug!("← ServiceAccountService.Create {sa:?}");
            Ok(sa)
        }
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

async fn add_bindings(
    client: &Client,
    grant: &Grant,
    account_id: &str,
    roles: &[String],
) -> Result<Vec<String>, ProvisionError> {
    let deltas: Vec<AccessBindingDelta> = roles
        .iter()
        .map(|role| AccessBindingDelta {
            action: AccessBindingAction::Add as i32,
            access_binding: Some(AccessBinding {
                role_id: role.clone(),
                subject: Some(Subject {
                    id: account_id.to_owned(),
                    r#type: "serviceAccount".to_owned(),
                }),
            }),
        })
        .collect();
    let step = format!("cannot add access bindings on {} {}", grant.kind(), grant.id());
    let mut effective = Vec::new();
    for chunk in deltas.chunks(MAX_DELTAS) {
        tracing::debug!(
            "→ {}.UpdateAccessBindings resource_id={:?} deltas={chunk:?}",
            grant.kind(),
            grant.id()
        );
        let op = match grant {
            Grant::Folder(id) => client.folders().update_access_bindings(id, chunk.to_vec()).await,
            Grant::Cloud(id) => client.clouds().update_access_bindings(id, chunk.to_vec()).await,
        }
        .map_err(api(step.clone()))?;
        let result = op.wait().await.map_err(api(step.clone()))?;
        tracing::debug!("← UpdateAccessBindings {result:?}");
        effective.extend(
            result
                .effective_deltas
                .into_iter()
                .filter_map(|d| d.access_binding.map(|b| b.role_id)),
        );
    }
    // The server reports the deltas that changed something; when it reports none (a binding
    // added concurrently), the requested roles are what we asked for.
    if effective.is_empty() {
        Ok(roles.to_vec())
    } else {
        Ok(effective)
    }
}

async fn delete_key(client: &Client, id: &str) -> Result<(), crate::Error> {
    tracing::debug!("→ ApiKeyService.Delete api_key_id={id:?}");
    let result = match client.api_keys().delete(id).await {
        Ok(op) => op.wait().await.map(drop),
        Err(e) => Err(e),
    };
    match result {
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

enum KeyDecision {
    Keep(ApiKey),
    Create {
        reason: KeyReason,
        replaces: Option<String>,
    },
}

#[allow(deprecated)] // keys made with the deprecated single `scope` field count too
fn decide_key(
    p: &Provision,
    account: Option<&ServiceAccount>,
    stored: Option<&StoredKey>,
    keys: &[ApiKey],
    scopes: &[String],
    now: OffsetDateTime,
) -> KeyDecision {
    let create = |reason, replaces| KeyDecision::Create { reason, replaces };
    if p.output == KeyOutput::Caller {
        return create(KeyReason::OutputToCaller, None);
    }
    let Some(stored) = stored else {
        return create(KeyReason::NoKeyFile, None);
    };
    let Some(account) = account else {
        return create(KeyReason::OtherAccount, None);
    };
    if stored.service_account_id != account.id {
        return create(KeyReason::OtherAccount, None);
    }
    let Some(live) = keys.iter().find(|k| k.id == stored.id) else {
        return create(KeyReason::KeyGone, None);
    };
    let replaces = Some(live.id.clone());
    let live_scopes: BTreeSet<&str> = live
        .scopes
        .iter()
        .map(String::as_str)
        .chain(
            // Keys made with the deprecated single scope field.
            Some(live.scope.as_str()).filter(|s| !s.is_empty()),
        )
        .collect();
    let wanted: BTreeSet<&str> = scopes.iter().map(String::as_str).collect();
    if live_scopes != wanted {
        return create(KeyReason::ScopesDiffer, replaces);
    }
    let expires = live.expires_at.as_ref().and_then(from_timestamp).or(stored.expires_at);
    if expires.is_some_and(|at| at <= now) {
        return create(KeyReason::Expired, replaces);
    }
    if p.rotate {
        return create(KeyReason::Rotate, replaces);
    }
    KeyDecision::Keep(live.clone())
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

fn from_timestamp(ts: &prost_types::Timestamp) -> Option<OffsetDateTime> {
    let nanos = i128::from(ts.seconds) * 1_000_000_000 + i128::from(ts.nanos);
    OffsetDateTime::from_unix_timestamp_nanos(nanos).ok()
}

fn to_timestamp(at: OffsetDateTime) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: at.unix_timestamp(),
        nanos: i32::try_from(at.nanosecond()).unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str, scopes: &[&str], expires: Option<i64>) -> ApiKey {
        ApiKey {
            id: id.into(),
            service_account_id: "sa1".into(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            expires_at: expires.map(|seconds| prost_types::Timestamp { seconds, nanos: 0 }),
            ..ApiKey::default()
        }
    }

    fn stored(id: &str, account: &str) -> StoredKey {
        StoredKey {
            id: id.into(),
            service_account_id: account.into(),
            created_at: None,
            scopes: vec!["s".into()],
            expires_at: None,
            secret: SecretString::from("AQVNx"),
        }
    }

    fn decide(p: &Provision, file: Option<&StoredKey>, keys: &[ApiKey]) -> (Option<KeyReason>, Option<String>) {
        let account = ServiceAccount {
            id: "sa1".into(),
            ..ServiceAccount::default()
        };
        let now = OffsetDateTime::from_unix_timestamp(1_000).unwrap();
        match decide_key(p, Some(&account), file, keys, &["s".to_owned()], now) {
            KeyDecision::Keep(k) => {
                assert_eq!(Some(k.id.as_str()), file.map(|f| f.id.as_str()));
                (None, None)
            }
            KeyDecision::Create { reason, replaces } => (Some(reason), replaces),
        }
    }

    #[test]
    fn the_file_key_is_kept_only_while_it_is_live_matching_and_unexpired() {
        let p = Provision::new("f", "sa");
        let file = stored("k1", "sa1");
        assert_eq!(decide(&p, Some(&file), &[key("k1", &["s"], None)]), (None, None));
        assert_eq!(decide(&p, Some(&file), &[key("k1", &["s"], Some(2_000))]), (None, None));
        assert_eq!(
            decide(&p, None, &[key("k1", &["s"], None)]),
            (Some(KeyReason::NoKeyFile), None)
        );
        assert_eq!(decide(&p, Some(&file), &[]), (Some(KeyReason::KeyGone), None));
        assert_eq!(
            decide(&p, Some(&stored("k1", "other")), &[key("k1", &["s"], None)]),
            (Some(KeyReason::OtherAccount), None)
        );
        assert_eq!(
            decide(&p, Some(&file), &[key("k1", &["s", "t"], None)]),
            (Some(KeyReason::ScopesDiffer), Some("k1".into()))
        );
        assert_eq!(
            decide(&p, Some(&file), &[key("k1", &["s"], Some(999))]),
            (Some(KeyReason::Expired), Some("k1".into()))
        );
        let rotate = Provision::new("f", "sa").rotate(true);
        assert_eq!(
            decide(&rotate, Some(&file), &[key("k1", &["s"], None)]),
            (Some(KeyReason::Rotate), Some("k1".into()))
        );
        let caller = Provision::new("f", "sa").output_to_caller();
        assert_eq!(decide(&caller, None, &[]), (Some(KeyReason::OutputToCaller), None));
    }
}
