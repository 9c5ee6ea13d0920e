//! Reading the folder into a [`Plan`]: the accounts and keys (one audit), the sink each managed
//! key's marker names, and the key each reachable sink holds; then a decision for every key.
//! Reading sends no mutating call and writes nothing.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use time::OffsetDateTime;

use super::{Accounts, Action, Entry, Reason, RotateError, Rotation, Select};
use crate::Client;
use crate::audit::{AccountRecord, KeyRecord, Policy, Scope, audit};
use crate::provision::marker::{self, Named};
use crate::provision::{
    HeldKeys, KeySink, KeyType, LockboxSecret, LockboxSink, Provision, ProvisionError, SinkAddress,
};
use crate::timestamp::later;

/// What [`Plan::apply`] will do, as read by [`Rotation::plan`]: every key in scope with its
/// action and reason. It holds ids, names and reasons, never a secret.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Plan {
    /// The time ages, expiries and deletions are judged at.
    pub now: OffsetDateTime,
    /// The grace.
    pub grace: Duration,
    /// Every key of the accounts and kinds in scope, by account, kind and age.
    pub entries: Vec<Entry>,
    /// The changes, in the order they are made: deletions, then new keys.
    pub(super) steps: Vec<Step>,
}

impl Plan {
    /// Whether applying the plan changes anything.
    pub fn changes(&self) -> bool {
        !self.steps.is_empty()
    }
}

/// One change: the key (by id) and what is done to it.
#[derive(Debug, Clone)]
pub(super) struct Step {
    pub(super) key_id: String,
    pub(super) kind: KeyType,
    /// For a rotation, the provisioning inputs that make the new key; `None` deletes the key.
    pub(super) rotate: Option<Box<Provision>>,
    /// For a deletion, the key's Lockbox secret (by id) when that is its sink: the versions a
    /// killed run left active there are scheduled before the key goes.
    pub(super) lockbox: Option<(LockboxSink, String)>,
}

/// The managed keys of one account and kind whose markers name one sink.
struct Group<'a> {
    account: &'a AccountRecord,
    kind: KeyType,
    keys: Vec<&'a KeyRecord>,
    sink: Result<KeySink, Reason>,
}

pub(super) async fn read(r: &Rotation, client: &Client) -> Result<Plan, RotateError> {
    r.validate()?;
    let now = r.now.unwrap_or_else(OffsetDateTime::now_utc);
    let parallel = r.parallel.max(1);
    let policy = Policy::default().at(now).parallel(parallel);
    let inventory = audit(client, &Scope::Folder(r.folder_id.clone()), &policy)
        .await
        .map_err(|source| RotateError::Listing {
            folder_id: r.folder_id.clone(),
            source,
        })?;
    let accounts: Vec<&AccountRecord> = inventory
        .accounts
        .iter()
        .filter(|a| match &r.accounts {
            Accounts::All => true,
            Accounts::Named(name) => a.account.name == *name,
        })
        .collect();
    if let (Accounts::Named(name), true) = (&r.accounts, accounts.is_empty()) {
        return Err(RotateError::AccountNotFound {
            folder_id: r.folder_id.clone(),
            name: name.clone(),
        });
    }
    let mut plan = Plan {
        now,
        grace: r.grace,
        entries: Vec::new(),
        steps: Vec::new(),
    };
    let mut groups = Vec::new();
    for account in accounts {
        for kind in r.kinds() {
            let keys = account.keys.iter().filter(|k| k.kind == kind);
            let (managed, unmanaged): (Vec<&KeyRecord>, Vec<&KeyRecord>) = keys.partition(|k| k.managed());
            for key in unmanaged {
                plan.entries
                    .push(entry(account, key, None, Action::Leave, Reason::NotManaged));
            }
            groups.extend(group(account, kind, managed, &r.sinks));
        }
    }
    // What each reachable sink holds, read side by side, in order.
    let reads: Vec<_> = groups
        .into_iter()
        .map(|g| async move {
            let held = match &g.sink {
                Ok(sink) => Some(new_key(r, g.account, g.kind, sink, None).held_key(client).await),
                Err(_) => None,
            };
            (g, held)
        })
        .collect();
    let mut read = crate::bounded::in_order(reads, parallel);
    while let Some((g, held)) = read.next().await {
        let held = match held {
            Some(Ok(held)) => held,
            Some(Err(e)) => {
                unreadable(&mut plan, r, g, e);
                continue;
            }
            None => HeldKeys::default(),
        };
        plan_group(&mut plan, r, g, held);
    }
    // Deletions first: a sink's new key is made only once nothing an interrupted run left is.
    plan.steps.sort_by_key(|s| s.rotate.is_some());
    plan.entries.sort_by(|a, b| {
        let order = |e: &Entry| {
            (
                e.service_account_name.clone(),
                e.key.kind,
                e.key.created_at,
                e.key.id.clone(),
            )
        };
        order(a).cmp(&order(b))
    });
    Ok(plan)
}

/// Groups one account's managed keys of one kind by the sink their markers name, and finds each
/// sink: a Lockbox secret by its id, a file among `sinks` by its marker.
fn group<'a>(
    account: &'a AccountRecord,
    kind: KeyType,
    managed: Vec<&'a KeyRecord>,
    sinks: &[SinkAddress],
) -> Vec<Group<'a>> {
    let mut groups: Vec<(&str, Group<'a>)> = Vec::new();
    for key in managed {
        let text = key.marker.as_deref().unwrap_or_default();
        match groups.iter_mut().find(|(m, _)| *m == text) {
            Some((_, g)) => g.keys.push(key),
            None => groups.push((
                text,
                Group {
                    account,
                    kind,
                    keys: vec![key],
                    sink: find_sink(text, sinks),
                },
            )),
        }
    }
    groups.into_iter().map(|(_, g)| g).collect()
}

/// The sink a marker names, when it is reachable from here.
fn find_sink(text: &str, sinks: &[SinkAddress]) -> Result<KeySink, Reason> {
    if let Some((_, Named::Lockbox(id))) = marker::parse(text) {
        return Ok(KeySink::Lockbox(LockboxSink {
            secret: LockboxSecret::Id(id.to_owned()),
            ..LockboxSink::new(id)
        }));
    }
    let given = sinks.iter().find(|s| match s {
        SinkAddress::File(path) => marker::file(path) == text,
        SinkAddress::Env(path) => marker::env(path) == text,
        SinkAddress::K8s(path) => marker::k8s(path) == text,
        SinkAddress::Lockbox(_) | SinkAddress::Stdout => false,
    });
    let sink = KeySink::from(given.ok_or(Reason::SinkNotGiven)?.clone());
    match sink.path() {
        Some(path) if !path.is_file() => Err(Reason::SinkMissing(path.display().to_string())),
        _ => Ok(sink.keeping_name()),
    }
}

/// The keys of a group whose sink could not be read: a failed call (a Lockbox secret) fails
/// each key, so the run exits 1; a secret that is gone, or a file that cannot be read, leaves
/// them.
fn unreadable(plan: &mut Plan, r: &Rotation, g: Group<'_>, e: ProvisionError) {
    let shown = g.sink.as_ref().ok().map(ToString::to_string);
    let why = match e.api_error() {
        Some(source) if source.kind() == crate::ErrorKind::NotFound => {
            Reason::SinkMissing(shown.clone().unwrap_or_default())
        }
        Some(source) => Reason::SinkUnreadable(format!("{e}: {source}")),
        None => Reason::SinkUnreadable(e.to_string()),
    };
    if !matches!(why, Reason::SinkUnreadable(_)) || e.api_error().is_none() {
        return plan_group(plan, r, Group { sink: Err(why), ..g }, HeldKeys::default());
    }
    let error = Arc::new(e);
    for key in &g.keys {
        let mut failed = entry(g.account, key, shown.clone(), Action::Failed, why.clone());
        failed.error = Some(error.clone());
        plan.entries.push(failed);
    }
}

/// Decides every key of one group, given the ids its sink holds.
fn plan_group(plan: &mut Plan, r: &Rotation, g: Group<'_>, held: HeldKeys) {
    let sink = match &g.sink {
        Ok(sink) => sink,
        Err(why) => {
            for key in &g.keys {
                plan.entries
                    .push(entry(g.account, key, None, Action::Leave, why.clone()));
            }
            return;
        }
    };
    // The key the sink holds, marked or not, among the account's keys of this kind.
    let elsewhere = held.elsewhere;
    let held = (held.held).and_then(|id| g.account.keys.iter().find(|k| k.kind == g.kind && held_as(k) == id));
    let decisions = decide(r.select, r.grace, plan.now, &g.keys, held, &elsewhere);
    let shown = Some(sink.to_string());
    for (key, (action, reason, due)) in g.keys.iter().zip(decisions) {
        let mut e = entry(g.account, key, shown.clone(), action, reason);
        e.deletion_due = due;
        let rotate = match action {
            Action::Rotate => Some(Box::new(new_key(r, g.account, g.kind, sink, Some(key)))),
            Action::Delete => None,
            _ => {
                plan.entries.push(e);
                continue;
            }
        };
        let lockbox = match sink {
            KeySink::Lockbox(lockbox) if rotate.is_none() => match &lockbox.secret {
                LockboxSecret::Id(id) => Some((lockbox.clone(), id.clone())),
                LockboxSecret::Name(_) => None,
            },
            _ => None,
        };
        plan.steps.push(Step {
            key_id: key.id.clone(),
            kind: g.kind,
            rotate,
            lockbox,
        });
        plan.entries.push(e);
    }
}

/// What happens to each key of one sink's group, given the key the sink holds and the keys it
/// holds `elsewhere` (other profiles of a credentials file, which are left): keys replaced longer
/// ago than the grace, and keys made after the held one (which never reached the sink), are
/// deleted; keys replaced more recently wait; the held key rotates when `select` picks it and
/// nothing of an earlier rotation is left.
fn decide(
    select: Select,
    grace: Duration,
    now: OffsetDateTime,
    keys: &[&KeyRecord],
    held: Option<&KeyRecord>,
    elsewhere: &[String],
) -> Vec<(Action, Reason, Option<OffsetDateTime>)> {
    let other_place = |k: &KeyRecord| held.is_none_or(|h| h.id != k.id) && elsewhere.iter().any(|e| e == held_as(k));
    let Some(held) = held else {
        let why = |k: &KeyRecord| {
            if other_place(k) {
                Reason::HeldElsewhere
            } else {
                Reason::NotHeld
            }
        };
        return keys.iter().map(|k| (Action::Leave, why(k), None)).collect();
    };
    let leftover = |k: &KeyRecord| matches!((k.created_at, held.created_at), (Some(k), Some(h)) if k > h);
    let pending = keys.iter().any(|k| k.id != held.id && !other_place(k) && !leftover(k));
    keys.iter()
        .map(|k| {
            if other_place(k) {
                return (Action::Leave, Reason::HeldElsewhere, None);
            }
            if k.id == held.id {
                return match judge(select, k, now) {
                    Err(why) => (Action::Leave, why, None),
                    Ok(_) if pending => (Action::Leave, Reason::RotationPending, None),
                    Ok(why) => (Action::Rotate, why, later(now, grace)),
                };
            }
            if leftover(k) {
                let why = Reason::Leftover { held: held.id.clone() };
                return (Action::Delete, why, None);
            }
            // A creation time too late to add the grace to is read as missing.
            let due = held
                .created_at
                .and_then(|made| later(made, grace))
                .or_else(|| later(now, grace));
            let action = if due.is_some_and(|due| due <= now) {
                Action::Delete
            } else {
                Action::Wait
            };
            (action, Reason::Replaced { by: held.id.clone() }, due)
        })
        .collect()
}

/// Why `select` picks `key` at `now`, or why it does not.
fn judge(select: Select, key: &KeyRecord, now: OffsetDateTime) -> Result<Reason, Reason> {
    match select {
        Select::AllKeys => Ok(Reason::AllKeys),
        Select::OlderThan(limit) => match key.age(now) {
            Some(age) if age > limit => Ok(Reason::OlderThan(limit)),
            _ => Err(Reason::Young(limit)),
        },
        Select::ExpiringWithin(within) => match key.expires_at {
            Some(at) if at <= now => Ok(Reason::Expired),
            Some(at) if later(now, within).is_none_or(|limit| at <= limit) => Ok(Reason::ExpiringWithin(within)),
            _ => Err(Reason::NotExpiring(within)),
        },
    }
}

/// The provisioning inputs that make `old`'s successor in `sink`: the same account, kind, scopes,
/// lifetime (from the server's clock), algorithm and description, no roles (rotation grants nothing), the rotation's AWS
/// profile for a static key in a credentials file. A replaced Lockbox version stays at least as
/// long as the grace. Without `old`, enough to read the sink.
fn new_key(r: &Rotation, account: &AccountRecord, kind: KeyType, sink: &KeySink, old: Option<&KeyRecord>) -> Provision {
    let mut p = Provision::new(&account.account.folder_id, &account.account.name)
        .roles(Vec::<String>::new())
        .key_type(kind)
        .output(sink.clone())
        .rotate(true);
    match &mut p.output {
        KeySink::Lockbox(lockbox) => lockbox.pending_period = lockbox.pending_period.max(r.grace),
        KeySink::File(_) if kind == KeyType::StaticKey => p.aws_profile = r.aws_profile.clone(),
        _ => {}
    }
    let Some(old) = old else {
        return p;
    };
    if kind == KeyType::ApiKey {
        p = p.scopes(old.scopes.clone());
        if let (Some(made), Some(expires)) = (old.created_at, old.expires_at) {
            // Counted from the server's clock, never from `now` (which may be any time); a lifetime
            // that cannot be added is read as no expiry given.
            let clock = r.clock.unwrap_or_else(OffsetDateTime::now_utc);
            if let Some(at) = clock.checked_add(expires - made) {
                p = p.expires_at(at);
            }
        }
    }
    if let Some(algorithm) = old.key_algorithm {
        p = p.key_algorithm(algorithm);
    }
    let text = old.marker.as_deref().unwrap_or_default();
    let described = old.description.strip_suffix(text).unwrap_or(&old.description).trim();
    if !described.is_empty() {
        p = p.key_description(described);
    }
    p
}

fn entry(account: &AccountRecord, key: &KeyRecord, sink: Option<String>, action: Action, reason: Reason) -> Entry {
    Entry {
        key: key.clone(),
        service_account_name: account.account.name.clone(),
        sink,
        action,
        reason,
        new_key_id: None,
        deletion_due: None,
        error: None,
    }
}

/// The id a sink names `key` by: a static key's AWS access key id, any other key's id.
fn held_as(key: &KeyRecord) -> &str {
    key.access_key_id.as_deref().unwrap_or(&key.id)
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const DAY: Duration = Duration::from_secs(86_400);
    const NOW: OffsetDateTime = datetime!(2030-06-01 00:00 UTC);

    fn key(id: &str, days_old: u32) -> KeyRecord {
        KeyRecord {
            id: id.into(),
            kind: KeyType::ApiKey,
            service_account_id: "aje00000000000000001".into(),
            description: String::new(),
            created_at: Some(NOW - DAY * days_old),
            last_used_at: None,
            expires_at: None,
            scopes: Vec::new(),
            access_key_id: None,
            key_algorithm: None,
            marker: None,
            flags: Default::default(),
        }
    }

    fn actions(keys: &[KeyRecord], held: Option<&KeyRecord>, select: Select) -> Vec<(Action, Reason)> {
        let refs: Vec<&KeyRecord> = keys.iter().collect();
        decide(select, DAY, NOW, &refs, held, &[])
            .into_iter()
            .map(|(a, r, _)| (a, r))
            .collect()
    }

    #[test]
    fn the_held_key_rotates_when_old_and_replaced_keys_go_after_the_grace() {
        let old = Select::OlderThan(90 * DAY);
        let (held_old, held_young) = (key("h", 100), key("n", 0));
        assert_eq!(
            actions(std::slice::from_ref(&held_old), Some(&held_old), old),
            [(Action::Rotate, Reason::OlderThan(90 * DAY))]
        );
        assert_eq!(
            actions(std::slice::from_ref(&held_young), Some(&held_young), old),
            [(Action::Leave, Reason::Young(90 * DAY))]
        );
        // Replaced less than the grace ago: waits; the held key does not rotate meanwhile.
        let replaced = [key("h", 100), key("n", 0)];
        let by = Reason::Replaced { by: "n".into() };
        assert_eq!(
            actions(&replaced, Some(&replaced[1]), Select::AllKeys),
            [(Action::Wait, by.clone()), (Action::Leave, Reason::RotationPending)]
        );
        // Replaced two days ago: deleted.
        let replaced = [key("h", 100), key("n", 2)];
        assert_eq!(
            actions(&replaced, Some(&replaced[1]), old),
            [(Action::Delete, by), (Action::Leave, Reason::Young(90 * DAY))]
        );
        // Made after the held key: never reached the sink, deleted at once; the held key rotates.
        let leftover = [key("h", 100), key("x", 1)];
        assert_eq!(
            actions(&leftover, Some(&leftover[0]), old),
            [
                (Action::Rotate, Reason::OlderThan(90 * DAY)),
                (Action::Delete, Reason::Leftover { held: "h".into() })
            ]
        );
        assert_eq!(actions(&leftover, None, old), vec![(Action::Leave, Reason::NotHeld); 2]);
    }

    #[test]
    fn times_near_the_end_of_the_calendar_never_panic() {
        let end = datetime!(9999-12-31 23:00 UTC);
        let (mut replaced, mut held) = (key("r", 100), key("h", 1));
        held.created_at = Some(end);
        let decided = decide(Select::AllKeys, 7 * DAY, NOW, &[&replaced, &held], Some(&held), &[]);
        assert_eq!(
            decided[0].0,
            Action::Wait,
            "a creation time too late is read as missing"
        );
        assert_eq!(decided[0].2, Some(NOW + 7 * DAY));
        replaced.expires_at = Some(end);
        assert_eq!(
            judge(Select::ExpiringWithin(DAY), &replaced, end - DAY),
            Ok(Reason::ExpiringWithin(DAY))
        );
        held.expires_at = Some(end);
        held.created_at = Some(NOW - 1000 * DAY);
        let r = Rotation::new("b1gexample0000000000", Select::AllKeys).clock(end - DAY);
        let sink = KeySink::File("k.yaml".into());
        let account = AccountRecord {
            account: Default::default(),
            keys: Vec::new(),
        };
        let p = new_key(&r, &account, KeyType::ApiKey, &sink, Some(&held));
        assert_eq!(p.expires_at, None, "a lifetime past the calendar is not asked for");
    }

    #[test]
    fn expiry_selects_expiring_and_expired_keys_only() {
        let mut k = key("k", 10);
        let within = Select::ExpiringWithin(14 * DAY);
        assert_eq!(judge(within, &k, NOW), Err(Reason::NotExpiring(14 * DAY)));
        k.expires_at = Some(NOW + 3 * DAY);
        assert_eq!(judge(within, &k, NOW), Ok(Reason::ExpiringWithin(14 * DAY)));
        k.expires_at = Some(NOW - DAY);
        assert_eq!(judge(within, &k, NOW), Ok(Reason::Expired));
    }
}
