//! Reading the cloud into a [`Plan`]: what a run would change, decided before anything changes.
//! Reading sends no mutating call and writes nothing.

use std::collections::BTreeSet;

use futures_util::TryStreamExt;
use time::OffsetDateTime;

use super::report::{KeyReason, ProvisionError};
use super::sink::{Held, Holding, lockbox, marker};
use super::{Grant, KeySink, KeyType, LockboxPlan, ManagedKey, Provision, SecretPlan, api, dedup};
use crate::Client;
use crate::model::{AccessBinding, ServiceAccount};
use crate::timestamp::from_timestamp;

/// What [`Plan::apply`] will change, as read from the cloud by [`Provision::plan`]. It holds ids,
/// names and reasons, never a secret. It describes the cloud at the moment it was read: apply it
/// promptly, since a plan applied long after may keep a key the file no longer holds (the next
/// run puts that right).
///
/// ```no_run
/// # async fn example(client: &yc_iam::Client) -> Result<(), Box<dyn std::error::Error>> {
/// use yc_iam::provision::Provision;
///
/// let plan = Provision::new("b1gexample0000000000", "sa-api").plan(client).await?;
/// if plan.changes() {
///     let report = plan.apply(client).await?;
///     println!("changed: {}", report.changed());
/// }
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Plan {
    /// The service account: found, or to be created.
    pub account: AccountPlan,
    /// Where the roles are granted.
    pub grant: Grant,
    /// Roles the account already has there.
    pub roles_present: Vec<String>,
    /// Roles to add, in one `UpdateAccessBindings` per 1000.
    pub roles_missing: Vec<String>,
    /// Whether the key the sink holds is kept or a new one is made.
    pub key: KeyPlan,
    /// The Lockbox secret, when the key goes to Lockbox.
    pub lockbox: Option<LockboxPlan>,
    /// Keys to delete once the key file holds a good key: the key the file held before a
    /// rotation or replacement, and keys an earlier, killed run made whose secret never reached
    /// the file (recognised by the file's marker in their description).
    pub keys_to_delete: Vec<String>,
    /// The inputs, validated; apply sends what they ask for.
    pub(super) input: Provision,
    /// The marker new keys carry in their description (none when the key goes to the caller).
    pub(super) marker: Option<String>,
    /// Every key of the kind the account had when the plan was made: a create that has to clean
    /// up after a lost answer never deletes one of them.
    pub(super) existing_keys: Vec<String>,
    /// The key the sink holds that a new one replaces, as listed: apply gives it the sink's
    /// marker (and `replaced_tag`) before making its successor, so a run killed before deleting
    /// it leaves a key the next run recognises.
    pub(super) replaced: Option<ManagedKey>,
    /// What the replaced key's description must start with besides (a fleet's tag).
    pub(super) replaced_tag: Option<String>,
}

/// The service account as the plan found it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum AccountPlan {
    /// It exists.
    Existing(ServiceAccount),
    /// There is none with this name in the folder: it will be created.
    Create,
}

/// What the plan does about the key.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum KeyPlan {
    /// The key in the file is live, has the requested scopes and has not expired: it is kept.
    Keep(ManagedKey),
    /// A new key will be made and written to the file.
    Create {
        /// Why a new key is needed.
        reason: KeyReason,
        /// The key it replaces, if the file holds one of this account's live keys.
        replaces: Option<String>,
    },
}

impl Plan {
    /// Whether applying the plan changes anything.
    pub fn changes(&self) -> bool {
        matches!(self.account, AccountPlan::Create)
            || !self.roles_missing.is_empty()
            || matches!(self.key, KeyPlan::Create { .. })
            || !self.keys_to_delete.is_empty()
            || self.lockbox.as_ref().is_some_and(LockboxPlan::changes)
    }

    /// The service account's name.
    pub fn name(&self) -> &str {
        &self.input.name
    }

    /// The folder of the service account.
    pub fn folder_id(&self) -> &str {
        &self.input.folder_id
    }

    /// Where the key goes.
    pub fn output(&self) -> &KeySink {
        &self.input.output
    }

    /// The kind of key.
    pub fn key_type(&self) -> KeyType {
        self.input.key_type
    }

    /// The marker the sink's keys carry, when it is known (a Lockbox secret not made yet has
    /// none).
    pub(crate) fn marker(&self) -> Option<&str> {
        self.marker.as_deref()
    }

    /// Makes the key this plan replaces carry `tag` at the start of its description (besides the
    /// sink's marker at its end) before its successor is made: a fleet deletes only leftovers
    /// with its tag.
    pub(crate) fn tag_replaced(&mut self, tag: String) {
        self.replaced_tag = Some(tag);
    }

    /// The verification asked for, if any.
    pub fn verify(&self) -> Option<&super::Verify> {
        self.input.verify.as_ref()
    }

    /// Whether applying the plan verifies a key: one was asked for. A kept key is read back
    /// from its sink, whichever it is.
    pub fn verifies(&self) -> bool {
        self.input.verify.is_some()
    }
}

/// What a caller has already read of the cloud for a plan, so the plan does not read it again:
/// the account of the plan's name in its folder (`None`: there is none) and every key of the
/// plan's kind that account has. A fleet reads them once for all the entries of an account.
#[derive(Debug, Clone)]
pub(crate) struct Known {
    pub(crate) account: Option<ServiceAccount>,
    pub(crate) keys: Vec<ManagedKey>,
}

/// Validates the inputs, reads the sink, then reads the account, its bindings and its keys
/// (what `known` gives is not read again).
pub(super) async fn read(p: &Provision, client: &Client, known: Option<Known>) -> Result<Plan, ProvisionError> {
    p.validate()?;
    let p = &p.for_kind();
    // Read a file sink before anything is sent: a file in another format is bad input. The other
    // profiles of a credentials file share its marker: their keys are never deleted.
    let Holding {
        held: held_in_file,
        elsewhere,
    } = p.output.read_file(p.key_type, p.profile())?;
    let (known_account, known_keys) = known.map_or((None, None), |k| (Some(k.account), Some(k.keys)));
    let lookup = async {
        match known_account {
            Some(account) => Ok(account),
            None => client.service_accounts().find_by_name(&p.folder_id, &p.name).await,
        }
    };
    // The Lockbox secret is read beside the account: neither depends on the other.
    let (account, found) = futures_util::future::join(lookup, async {
        match &p.output {
            KeySink::Lockbox(sink) => {
                let folder = sink.folder_id.as_deref().unwrap_or(&p.folder_id);
                lockbox::read(client, sink, folder).await.map(Some)
            }
            _ => Ok(None),
        }
    })
    .await;
    let account = account.map_err(api(format!(
        "cannot look up service account {:?} in folder {}",
        p.name, p.folder_id
    )))?;
    let found = found?;
    let (held, marker) = match &found {
        Some(found) => (found.held.clone(), secret_id(&found.secret).map(marker::lockbox)),
        None => (held_in_file, p.output.file_marker()),
    };
    let grant = p.grant_target();
    // The account's bindings and its keys are read at once.
    let roles = async {
        match &account {
            // No roles asked for (a fleet grants them itself): no bindings to read.
            Some(_) if p.roles.is_empty() => Ok((Vec::new(), Vec::new())),
            Some(sa) => bound_roles(client, &grant, &sa.id, &dedup(&p.roles)).await,
            // A new account has no bindings yet.
            None => Ok((Vec::new(), dedup(&p.roles))),
        }
    };
    let keys = async {
        match (known_keys, &account) {
            (Some(keys), _) => Ok(keys),
            (None, Some(sa)) => p.key_type.list(client, &sa.id).await.map_err(api(format!(
                "cannot list {}s of service account {}",
                p.key_type.describe(),
                sa.id
            ))),
            (None, None) => Ok(Vec::new()),
        }
    };
    let ((roles_present, roles_missing), keys): (_, Vec<ManagedKey>) =
        futures_util::future::try_join(roles, keys).await?;
    let key = decide_key(p, account.as_ref(), held.as_ref(), &keys, OffsetDateTime::now_utc());
    let mut keys_to_delete = leftovers(&keys, marker.as_deref(), held.as_ref(), &elsewhere);
    let lockbox = match (found, &p.output) {
        (Some(found), KeySink::Lockbox(sink)) => {
            let leftovers = !keys_to_delete.is_empty();
            Some(lockbox_plan(client, sink, found, &key, marker.as_deref(), leftovers).await?)
        }
        _ => None,
    };
    let mut replaced = None;
    if let KeyPlan::Create {
        replaces: Some(old), ..
    } = &key
    {
        keys_to_delete.push(old.clone());
        replaced = keys.iter().find(|k| k.id == *old).cloned();
    }
    Ok(Plan {
        account: account.map_or(AccountPlan::Create, AccountPlan::Existing),
        grant,
        roles_present,
        roles_missing,
        key,
        lockbox,
        keys_to_delete,
        input: p.clone(),
        marker,
        existing_keys: keys.into_iter().map(|k| k.id).collect(),
        replaced,
        replaced_tag: None,
    })
}

/// Keys an earlier run made for this sink (they carry its `marker`) that the sink does not hold,
/// nor another profile of the same credentials file (`elsewhere`).
fn leftovers(keys: &[ManagedKey], marker: Option<&str>, held: Option<&Held>, elsewhere: &[String]) -> Vec<String> {
    let Some(marker) = marker else {
        return Vec::new();
    };
    let held_id = held.map(|k| k.key_id.as_str());
    keys.iter()
        .filter(|k| k.description.ends_with(marker) && Some(k.held_as.as_str()) != held_id)
        .filter(|k| !elsewhere.contains(&k.held_as))
        .map(|k| k.id.clone())
        .collect()
}

fn secret_id(secret: &SecretPlan) -> Option<&str> {
    match secret {
        SecretPlan::Existing { id, .. } => Some(id),
        SecretPlan::Create { .. } => None,
    }
}

/// What changes in the Lockbox secret besides the new version. The versions are listed only when
/// a new version replaces the current one or an interrupted run left marked keys behind
/// (`leftovers`), so the steady state costs no call for them. Only versions whose description
/// carries this sink's marker are ever scheduled: a version another writer added, even one that
/// copied our entries, is theirs.
async fn lockbox_plan(
    client: &Client,
    sink: &crate::provision::LockboxSink,
    found: lockbox::Found,
    key: &KeyPlan,
    marker: Option<&str>,
    leftovers: bool,
) -> Result<LockboxPlan, ProvisionError> {
    let (readers_missing, replaced_version, versions_to_destroy) = match &found.secret {
        SecretPlan::Existing {
            id, current_version, ..
        } => {
            let readers = lockbox::missing_readers(client, id, &sink.readers).await?;
            let replacing = matches!(key, KeyPlan::Create { .. }) && current_version.is_some();
            let ours = match marker {
                Some(marker) if leftovers || replacing => lockbox::active_versions_with(client, id, marker).await?,
                _ => Vec::new(),
            };
            let current = current_version.as_deref();
            // The current version, when ours, is scheduled once the new one replaces it; the
            // others are no longer current and can go at once.
            let replaced = ours.iter().find(|v| replacing && Some(v.as_str()) == current).cloned();
            let others = ours.into_iter().filter(|v| Some(v.as_str()) != current).collect();
            (readers, replaced, others)
        }
        SecretPlan::Create { .. } => (dedup_subjects(&sink.readers), None, Vec::new()),
    };
    Ok(LockboxPlan {
        secret: found.secret,
        readers_missing,
        replaced_version,
        versions_to_destroy,
    })
}

fn dedup_subjects(subjects: &[crate::model::Subject]) -> Vec<crate::model::Subject> {
    let mut out: Vec<crate::model::Subject> = Vec::new();
    for s in subjects {
        if !out.contains(s) {
            out.push(s.clone());
        }
    }
    out
}

/// Splits `roles` into those bound to the account on `grant` and those missing.
async fn bound_roles(
    client: &Client,
    grant: &Grant,
    account_id: &str,
    roles: &[String],
) -> Result<(Vec<String>, Vec<String>), ProvisionError> {
    let existing: Vec<AccessBinding> = grant
        .list_access_bindings(client)
        .try_collect()
        .await
        .map_err(api(format!(
            "cannot list access bindings of {} {}",
            grant.kind(),
            grant.id()
        )))?;
    Ok(roles.iter().cloned().partition(|role| {
        existing.iter().any(|b| {
            b.role_id == *role
                && b.subject
                    .as_ref()
                    .is_some_and(|s| s.r#type == "serviceAccount" && s.id == account_id)
        })
    }))
}

fn decide_key(
    p: &Provision,
    account: Option<&ServiceAccount>,
    held: Option<&Held>,
    keys: &[ManagedKey],
    now: OffsetDateTime,
) -> KeyPlan {
    let create = |reason, replaces| KeyPlan::Create { reason, replaces };
    if p.output == KeySink::Caller {
        return create(KeyReason::OutputToCaller, None);
    }
    let Some(held) = held else {
        let reason = match p.output {
            KeySink::File(_) => KeyReason::NoKeyFile,
            _ => KeyReason::SinkEmpty,
        };
        return create(reason, None);
    };
    let Some(account) = account else {
        return create(KeyReason::OtherAccount, None);
    };
    if held.service_account_id.as_ref().is_some_and(|id| *id != account.id) {
        return create(KeyReason::OtherAccount, None);
    }
    let Some(live) = keys.iter().find(|k| k.held_as == held.key_id) else {
        return create(KeyReason::KeyGone, None);
    };
    let replaces = Some(live.id.clone());
    // Scopes are API keys' only; the other kinds have none on either side.
    let live_scopes: BTreeSet<&str> = live.scopes.iter().map(String::as_str).collect();
    let wanted: BTreeSet<&str> = p.scopes.iter().map(String::as_str).collect();
    if live_scopes != wanted {
        return create(KeyReason::ScopesDiffer, replaces);
    }
    let expires = live.expires_at.as_ref().and_then(from_timestamp).or(held.expires_at);
    if expires.is_some_and(|at| at <= now) {
        return create(KeyReason::Expired, replaces);
    }
    if p.rotate {
        return create(KeyReason::Rotate, replaces);
    }
    KeyPlan::Keep(live.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str, scopes: &[&str], expires: Option<i64>) -> ManagedKey {
        ManagedKey::from(&crate::model::ApiKey {
            id: id.into(),
            service_account_id: "sa1".into(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            expires_at: expires.map(|seconds| prost_types::Timestamp { seconds, nanos: 0 }),
            ..Default::default()
        })
    }

    fn stored(id: &str, account: &str) -> Held {
        Held {
            key_id: id.into(),
            service_account_id: Some(account.into()),
            expires_at: None,
        }
    }

    fn decide(p: &Provision, file: Option<&Held>, keys: &[ManagedKey]) -> (Option<KeyReason>, Option<String>) {
        let account = ServiceAccount {
            id: "sa1".into(),
            ..ServiceAccount::default()
        };
        let now = OffsetDateTime::from_unix_timestamp(1_000).unwrap();
        match decide_key(p, Some(&account), file, keys, now) {
            KeyPlan::Keep(k) => {
                assert_eq!(Some(k.id.as_str()), file.map(|f| f.key_id.as_str()));
                (None, None)
            }
            KeyPlan::Create { reason, replaces } => (Some(reason), replaces),
        }
    }

    #[test]
    fn the_file_key_is_kept_only_while_it_is_live_matching_and_unexpired() {
        let p = Provision::new("f", "sa").scopes(["s"]);
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
        let rotate = p.clone().rotate(true);
        assert_eq!(
            decide(&rotate, Some(&file), &[key("k1", &["s"], None)]),
            (Some(KeyReason::Rotate), Some("k1".into()))
        );
        let caller = p.output_to_caller();
        assert_eq!(decide(&caller, None, &[]), (Some(KeyReason::OutputToCaller), None));
    }
}
