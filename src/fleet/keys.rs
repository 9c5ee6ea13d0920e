//! The keys of a fleet: each key entry of the manifest is one sink, kept by the provisioning
//! flow with all its guarantees (the key the sink holds is kept, a killed run's leftovers are
//! found by the sink's marker and deleted); the fleet adds rotation by age and pruning of keys
//! it made for sinks the manifest no longer lists.

use std::time::Duration;

use time::OffsetDateTime;

use super::manifest::{AccountSpec, KeySpec};
use crate::model::ServiceAccount;
use crate::provision::{KeyPlan, KeySink, KeyType, Known, ManagedKey, Provision, SecretPlan};

/// What the plan does about one key entry.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct KeyChange {
    /// The entry.
    pub spec: KeySpec,
    /// Keep, make, rotate, or not handled.
    pub action: KeyAction,
    /// Keys an interrupted run of this fleet made for this sink that the sink does not hold:
    /// deleted.
    pub leftovers: Vec<String>,
    /// Keys that carry this sink's marker without this fleet's tag (made by `provision` or by
    /// hand for the same sink): not this fleet's, so they are reported and never deleted.
    pub left_alone: Vec<String>,
    /// Keys of another kind this fleet made for this sink, when the sink holds no key of the
    /// entry's kind: the entry's type changed, so they are deleted once the new key is in the
    /// sink.
    pub other_kind: Vec<ManagedKey>,
    /// The Lockbox secret's id, once the plan has found it: two entries naming one secret (by
    /// name and by id) are one sink.
    pub(super) secret_id: Option<String>,
}

/// The decision about one key entry.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyAction {
    /// The sink holds a live key that fits: nothing to do.
    Keep {
        /// The key.
        id: String,
    },
    /// A new key is made and put in the sink.
    Create {
        /// Why, as a phrase.
        reason: &'static str,
        /// The key the sink held, deleted once the new one is in place.
        replaces: Option<String>,
    },
    /// The key is older than `rotate_after`: a new one replaces it.
    Rotate {
        /// The key replaced.
        id: String,
        /// Its age.
        age: Duration,
    },
}

impl KeyChange {
    /// Whether applying changes anything for this entry.
    pub fn changes(&self) -> bool {
        !matches!(self.action, KeyAction::Keep { .. }) || !self.leftovers.is_empty() || !self.other_kind.is_empty()
    }

    /// The keys this entry accounts for: kept, replaced, or left over.
    pub(super) fn key_ids(&self) -> impl Iterator<Item = &str> {
        let own = match &self.action {
            KeyAction::Keep { id } | KeyAction::Rotate { id, .. } => Some(id.as_str()),
            KeyAction::Create { replaces, .. } => replaces.as_deref(),
        };
        own.into_iter()
            .chain(self.leftovers.iter().map(String::as_str))
            .chain(self.other_kind.iter().map(|k| k.id.as_str()))
    }
}

/// The description tag of the keys `fleet` makes, before the sink's marker.
pub(super) fn tag(fleet: &str) -> String {
    format!("fleet {fleet}")
}

/// Whether `key` was made by `fleet`: its description starts with the fleet's tag and ends with
/// a sink's marker (a key someone described by hand as `fleet <name>: …` is not the fleet's).
pub(super) fn made_by(key: &ManagedKey, fleet: &str) -> bool {
    let tag = tag(fleet);
    let tagged = key
        .description
        .strip_prefix(&tag)
        .is_some_and(|rest| rest.starts_with(": ") || rest.starts_with(" [yc-iam:"));
    tagged && crate::provision::has_sink_marker(&key.description)
}

/// The provisioning run that keeps one key entry of `account`: no roles (the fleet grants them
/// all at once), the entry's scopes, expiry, description and sink.
pub(super) fn provision(fleet: &str, account: &AccountSpec, key: &KeySpec, now: OffsetDateTime) -> Provision {
    let mut p = Provision::new(&account.folder_id, &account.name).key_type(key.kind);
    p.roles = Vec::new();
    p.scopes = key.scopes.clone();
    p.key_algorithm = key.algorithm;
    p.key_description = Some(match &key.description {
        Some(d) => format!("{}: {d}", tag(fleet)),
        None => tag(fleet),
    });
    p.expires_at = key.expires_in.map(|d| now + d);
    p.output = KeySink::from(key.output.clone());
    p
}

/// Every key of one account, listed once per kind (the three kinds at once): the plans of its key
/// entries, their leftovers and other-kind keys, and prune are all decided from this listing.
pub(super) async fn list_all(client: &crate::Client, account_id: &str) -> Result<Vec<ManagedKey>, crate::Error> {
    let lists = futures_util::future::try_join_all(KeyType::ALL.map(|kind| kind.list(client, account_id))).await?;
    Ok(lists.into_iter().flatten().collect())
}

/// Reads one key entry of `account` (`found` in its folder, or not yet made) from `listed`,
/// every key the account has ([`list_all`]): what the provisioning flow would do, and rotation
/// by age.
pub(super) async fn read(
    client: &crate::Client,
    fleet: &str,
    (account, found): (&AccountSpec, Option<&ServiceAccount>),
    key: &KeySpec,
    listed: &[ManagedKey],
) -> Result<KeyChange, crate::Error> {
    if missing_folder(key).is_some() {
        // Nothing can be in a sink whose folder does not exist yet; apply makes the folder.
        return Ok(KeyChange {
            spec: key.clone(),
            action: KeyAction::Create {
                reason: "the output holds no key yet",
                replaces: None,
            },
            leftovers: Vec::new(),
            left_alone: Vec::new(),
            other_kind: Vec::new(),
            secret_id: None,
        });
    }
    let now = OffsetDateTime::now_utc();
    let known = Known {
        account: found.cloned(),
        keys: listed.iter().filter(|k| k.kind == key.kind).cloned().collect(),
    };
    let plan = provision(fleet, account, key, now)
        .plan_known(client, known)
        .await
        .map_err(into_error("cannot plan the key"))?;
    let (leftovers, left_alone) = leftovers(fleet, &plan, listed);
    let action = match &plan.key {
        KeyPlan::Keep(live) => {
            let created = live.created_at.as_ref().and_then(crate::timestamp::from_timestamp);
            let age = created
                .map(|at| (now - at).try_into().unwrap_or_default())
                .unwrap_or_default();
            match key.rotate_after {
                Some(limit) if age > limit => KeyAction::Rotate {
                    id: live.id.clone(),
                    age,
                },
                _ => KeyAction::Keep { id: live.id.clone() },
            }
        }
        KeyPlan::Create { reason, replaces } => KeyAction::Create {
            reason: reason.describe(),
            replaces: replaces.clone(),
        },
    };
    let secret_id = match plan.lockbox.as_ref().map(|l| &l.secret) {
        Some(SecretPlan::Existing { id, .. }) => Some(id.clone()),
        _ => None,
    };
    // Looked for whatever the sink holds: a run killed after the new kind was written and before
    // the old kind's key was deleted leaves both, and the next run must finish it.
    let other_kind = other_kind(fleet, &plan, listed);
    Ok(KeyChange {
        spec: key.clone(),
        action,
        leftovers,
        left_alone,
        other_kind,
        secret_id,
    })
}

/// The keys the provisioning flow would delete as an interrupted run's (they carry the sink's
/// marker and the sink does not hold them), split by the account's listing into this fleet's
/// (deleted) and the others (left alone).
fn leftovers(fleet: &str, plan: &crate::provision::Plan, listed: &[ManagedKey]) -> (Vec<String>, Vec<String>) {
    let ours = |id: &str| {
        listed
            .iter()
            .any(|k| k.kind == plan.key_type() && k.id == id && made_by(k, fleet))
    };
    plan.keys_to_delete
        .iter()
        .filter(|id| replaced(plan) != Some(id.as_str()))
        .cloned()
        .partition(|id| ours(id))
}

/// This fleet's keys of the kinds other than the plan's made for its sink, among the account's
/// listing: what the sink held before the entry's type changed.
fn other_kind(fleet: &str, plan: &crate::provision::Plan, listed: &[ManagedKey]) -> Vec<ManagedKey> {
    let (crate::provision::AccountPlan::Existing(_), Some(marker)) = (&plan.account, plan.marker()) else {
        return Vec::new();
    };
    listed
        .iter()
        .filter(|k| k.kind != plan.key_type() && made_by(k, fleet) && k.description.ends_with(marker))
        .cloned()
        .collect()
}

/// The key a provisioning plan replaces in its sink, if any.
fn replaced(plan: &crate::provision::Plan) -> Option<&str> {
    match &plan.key {
        KeyPlan::Create { replaces, .. } => replaces.as_deref(),
        KeyPlan::Keep(_) => None,
    }
}

/// Runs one key entry through the provisioning flow, deleting only the key its sink held and
/// the leftovers the fleet's plan found to be its own: a marked key without the fleet's tag, or
/// one that appeared since the plan, is never deleted. The key the sink held is tagged as the
/// fleet's before it is replaced, since the fleet deletes it.
pub(super) async fn keep(
    client: &crate::Client,
    fleet: &str,
    provision: &Provision,
    change: &KeyChange,
) -> Result<crate::provision::Report, crate::Error> {
    let mut plan = provision
        .plan(client)
        .await
        .map_err(into_error("cannot plan the key"))?;
    // The replaced key gets this fleet's tag before its successor is made: a run killed before
    // deleting it leaves a leftover the next apply knows as its own.
    plan.tag_replaced(tag(fleet));
    let old = replaced(&plan).map(str::to_owned);
    plan.keys_to_delete
        .retain(|id| Some(id) == old.as_ref() || change.leftovers.contains(id));
    plan.apply(client).await.map_err(into_error("cannot make key"))
}

/// The folder of a file sink, when it does not exist.
pub(super) fn missing_folder(key: &KeySpec) -> Option<&std::path::Path> {
    use crate::provision::SinkAddress;
    match &key.output {
        SinkAddress::File(path) | SinkAddress::Env(path) | SinkAddress::K8s(path) => {
            path.parent().filter(|dir| !dir.as_os_str().is_empty() && !dir.exists())
        }
        SinkAddress::Lockbox(_) | SinkAddress::Stdout => None,
    }
}

/// A provisioning error as the client's error type, for the step `what`: an API failure as it
/// came (with its request ids), an input or sink at fault as invalid input, anything else (a
/// sink that could not be written) as a failure.
pub(super) fn into_error(what: &'static str) -> impl FnOnce(crate::provision::ProvisionError) -> crate::Error {
    use crate::provision::ProvisionError;
    move |e| match e {
        ProvisionError::Api { source, .. } => source,
        e if e.is_invalid_input() => crate::Error::invalid_input(what, e.to_string()),
        e => crate::Error::new(crate::ErrorKind::Other, what, e.to_string()),
    }
}
