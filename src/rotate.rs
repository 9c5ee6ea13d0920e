//! Rotation by policy: every key yc-iam manages in a folder (its description ends with a sink's
//! marker) that a policy selects — older than a given age, expiring soon, or all of them — is
//! replaced by a new key of the same kind, written to the sink its marker names; the old key is
//! deleted once a grace period has passed since the new one was made, so whatever still uses it
//! has time to pick up the new one. Keys without a marker are reported and never touched.
//!
//! A run is a plan, then its application, like `provision`. [`Rotation::plan`] reads the folder's
//! accounts and keys (through [`audit`](crate::audit::audit)) and what each reachable sink holds,
//! and decides for every key: rotate, delete, wait, or leave alone, and why. [`Plan::apply`] then
//! deletes the keys whose time has come and makes each new key through the provisioning flow
//! ([`Provision`]), keeping the replaced key.
//!
//! The grace needs no state of its own: a marked key that is not the key its sink holds has been
//! replaced, and its deletion is due when the grace has passed since the key the sink holds was
//! made. A sink whose previous rotation is still waiting gets no new key; a marked key made after
//! the one its sink holds never reached the sink (a run was interrupted) and is deleted at once.
//! A run killed at any point and run again therefore ends with one key in each sink and never
//! deletes a key whose secret a sink holds.
//!
//! File markers are fingerprints of the file's absolute path, so a key file, dotenv file or
//! manifest is reachable only when it is among [`Rotation::sinks`]; a Lockbox marker names its
//! secret, which is reachable from anywhere.
//!
//! ```no_run
//! # async fn example(client: &yc_iam::Client) -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use yc_iam::rotate::{Rotation, Select};
//!
//! let report = Rotation::new("b1gexample0000000000", Select::OlderThan(Duration::from_secs(90 * 86_400)))
//!     .sink("api-key.yaml".parse()?)
//!     .run(client)
//!     .await?;
//! for entry in &report.entries {
//!     println!("{} {} {}: {}", entry.key.id, entry.key.kind, entry.action, entry.reason);
//! }
//! # Ok(())
//! # }
//! ```

mod apply;
mod plan;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

pub use plan::Plan;

use crate::audit::KeyRecord;
use crate::provision::{
    AWS_PROFILE_RULE, InvalidInput, KeyType, ProvisionError, SinkAddress, check_id, check_service_account_name,
    is_profile_name,
};
use crate::timestamp::later;

/// How long a replaced key stays unless another grace is given: one day.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(24 * 3600);

/// Which keys rotate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Select {
    /// Keys older than this.
    OlderThan(Duration),
    /// Keys that expire within this long, or have expired (API keys only: the other kinds have
    /// no expiry).
    ExpiringWithin(Duration),
    /// Every key.
    AllKeys,
}

/// Whose keys rotate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accounts {
    /// Every service account of the folder.
    All,
    /// The service account of this name.
    Named(String),
}

/// What to rotate, where, and when old keys go.
#[derive(Debug, Clone)]
pub struct Rotation {
    /// The folder whose service accounts' keys rotate.
    pub folder_id: String,
    /// Every account of the folder, or one.
    pub accounts: Accounts,
    /// The kinds of key; empty means every kind.
    pub key_types: Vec<KeyType>,
    /// Which keys rotate.
    pub select: Select,
    /// How long a replaced key stays after the new one is made.
    pub grace: Duration,
    /// The file sinks (key files, `env:` and `k8s:` files) keys may be kept in: a key whose
    /// marker names a file is rotated only when that file is here and exists.
    pub sinks: Vec<SinkAddress>,
    /// The time ages, expiries and deletions are judged at; `None` is the local clock when the
    /// plan is made. Against an emulator whose clock was moved, pass its time.
    pub now: Option<OffsetDateTime>,
    /// How many listings run at once (at least 1).
    pub parallel: usize,
    /// The server's current time, which a new key's expiry is counted from (the old key's
    /// lifetime added); `None` is the local clock. Unlike [`now`](Self::now), never a time chosen
    /// to judge at: against an emulator whose clock was moved, pass its time.
    pub clock: Option<OffsetDateTime>,
    /// The profile of the AWS credentials files static keys are read from and written to
    /// (`default` when `None`). The keys the other profiles of a file hold are never deleted.
    pub aws_profile: Option<String>,
}

impl Rotation {
    /// Every account of `folder_id`, every kind, a grace of [`DEFAULT_GRACE`], no file sinks,
    /// judged now.
    pub fn new(folder_id: impl Into<String>, select: Select) -> Self {
        Self {
            folder_id: folder_id.into(),
            accounts: Accounts::All,
            key_types: Vec::new(),
            select,
            grace: DEFAULT_GRACE,
            sinks: Vec::new(),
            now: None,
            parallel: 16,
            clock: None,
            aws_profile: None,
        }
    }

    /// Only the keys of the service account `name`.
    pub fn account(mut self, name: impl Into<String>) -> Self {
        self.accounts = Accounts::Named(name.into());
        self
    }

    /// Only keys of these kinds.
    pub fn key_types(mut self, kinds: impl IntoIterator<Item = KeyType>) -> Self {
        self.key_types = kinds.into_iter().collect();
        self
    }

    /// Sets [`grace`](Self::grace).
    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Adds a file sink keys may be kept in.
    pub fn sink(mut self, sink: SinkAddress) -> Self {
        self.sinks.push(sink);
        self
    }

    /// Judges ages, expiries and deletions at `now`.
    pub fn at(mut self, now: OffsetDateTime) -> Self {
        self.now = Some(now);
        self
    }

    /// Sets [`clock`](Self::clock).
    pub fn clock(mut self, server_now: OffsetDateTime) -> Self {
        self.clock = Some(server_now);
        self
    }

    /// Sets [`parallel`](Self::parallel).
    pub fn parallel(mut self, n: usize) -> Self {
        self.parallel = n;
        self
    }

    /// Sets [`aws_profile`](Self::aws_profile).
    pub fn aws_profile(mut self, profile: impl Into<String>) -> Self {
        self.aws_profile = Some(profile.into());
        self
    }

    /// Checks every input locally. An error names the field at fault (`folder_id`,
    /// `service_account_name`, `sinks`, `aws_profile`, `grace`, `expiring_within`) and the rule
    /// it breaks.
    pub fn validate(&self) -> Result<(), InvalidInput> {
        check_id("folder_id", &self.folder_id)?;
        let now = self.now.unwrap_or_else(OffsetDateTime::now_utc);
        let spans = [
            Some(("grace", self.grace)),
            match self.select {
                Select::ExpiringWithin(within) => Some(("expiring_within", within)),
                _ => None,
            },
        ];
        for (field, span) in spans.into_iter().flatten() {
            if later(now, span).is_none() {
                let rule = "added to the time the run is judged at, goes past the year 9999";
                return Err(InvalidInput::new(field, crate::duration::format(span), rule));
            }
        }
        if let Some(profile) = self.aws_profile.as_deref().filter(|p| !is_profile_name(p)) {
            return Err(InvalidInput::new("aws_profile", profile, AWS_PROFILE_RULE));
        }
        if let Accounts::Named(name) = &self.accounts {
            check_service_account_name("service_account_name", name)?;
        }
        for sink in &self.sinks {
            match sink {
                SinkAddress::File(path) | SinkAddress::Env(path) | SinkAddress::K8s(path)
                    if !path.as_os_str().is_empty() => {}
                _ => {
                    return Err(InvalidInput::new(
                        "sinks",
                        sink.to_string(),
                        "names a file (PATH, env:PATH or k8s:PATH); a Lockbox secret is found from its key's marker",
                    ));
                }
            }
        }
        Ok(())
    }

    /// Reads the folder and the sinks, and returns what [`run`](Self::run) would do. Changes
    /// nothing.
    pub async fn plan(&self, client: &crate::Client) -> Result<Plan, RotateError> {
        plan::read(self, client).await
    }

    /// [`plan`](Self::plan), then [`Plan::apply`].
    pub async fn run(&self, client: &crate::Client) -> Result<Report, RotateError> {
        Ok(self.plan(client).await?.apply(client).await)
    }

    /// The kinds asked for, each once.
    fn kinds(&self) -> Vec<KeyType> {
        KeyType::ALL
            .into_iter()
            .filter(|k| self.key_types.is_empty() || self.key_types.contains(k))
            .collect()
    }
}

/// What happens to a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// A new key replaces it in its sink (in a report: was made, see [`Entry::new_key_id`]); it
    /// is deleted by a later run once the grace has passed.
    Rotate,
    /// It is deleted (in a report: was deleted): replaced longer ago than the grace, or made by
    /// an interrupted run and never in its sink.
    Delete,
    /// It was replaced; its deletion is due at [`Entry::deletion_due`].
    Wait,
    /// It is left as it is.
    Leave,
    /// The rotation or deletion failed, or (in a plan too) its Lockbox sink could not be read
    /// ([`Entry::error`]).
    Failed,
}

impl Action {
    /// `rotate`, `delete`, `wait`, `leave` or `failed`.
    pub fn name(self) -> &'static str {
        match self {
            Action::Rotate => "rotate",
            Action::Delete => "delete",
            Action::Wait => "wait",
            Action::Leave => "leave",
            Action::Failed => "failed",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a key gets its [`Action`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reason {
    /// It is older than [`Select::OlderThan`].
    OlderThan(Duration),
    /// It expires within [`Select::ExpiringWithin`].
    ExpiringWithin(Duration),
    /// It has expired.
    Expired,
    /// Every key was asked for.
    AllKeys,
    /// It is not older than [`Select::OlderThan`].
    Young(Duration),
    /// It does not expire within [`Select::ExpiringWithin`].
    NotExpiring(Duration),
    /// Its description carries no yc-iam marker: yc-iam does not manage it.
    NotManaged,
    /// Its marker names a file that is not among [`Rotation::sinks`].
    SinkNotGiven,
    /// Its marker names a file given in [`Rotation::sinks`] that does not exist.
    SinkMissing(String),
    /// Its sink could not be read (the reason). A failed call fails the key ([`Action::Failed`]).
    SinkUnreadable(String),
    /// Its sink holds none of this account's keys of this kind, so nothing can be said to replace
    /// it.
    NotHeld,
    /// Its AWS credentials file holds it in another profile than the one rotated: it is left.
    HeldElsewhere,
    /// Its sink holds it and its previous rotation is not finished: the keys it replaced are
    /// deleted first.
    RotationPending,
    /// Its sink holds another key (`by`) that replaced it.
    Replaced {
        /// The key the sink holds.
        by: String,
    },
    /// It was made after the key its sink holds (`held`) and never reached the sink: a run was
    /// interrupted.
    Leftover {
        /// The key the sink holds.
        held: String,
    },
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = |d: &Duration| crate::duration::format(*d);
        match self {
            Reason::OlderThan(age) => write!(f, "older than {}", d(age)),
            Reason::ExpiringWithin(within) => write!(f, "expires within {}", d(within)),
            Reason::Expired => f.write_str("expired"),
            Reason::AllKeys => f.write_str("every key asked for"),
            Reason::Young(age) => write!(f, "not older than {}", d(age)),
            Reason::NotExpiring(within) => write!(f, "does not expire within {}", d(within)),
            Reason::NotManaged => f.write_str("no yc-iam marker: not managed"),
            Reason::SinkNotGiven => f.write_str("its sink's file is not among the sinks given"),
            Reason::SinkMissing(path) => write!(f, "its sink {path} does not exist"),
            Reason::SinkUnreadable(why) => write!(f, "its sink cannot be read: {why}"),
            Reason::NotHeld => f.write_str("its sink holds none of the account's keys of this kind"),
            Reason::HeldElsewhere => f.write_str("its credentials file holds it in another profile"),
            Reason::RotationPending => f.write_str("its previous rotation is not finished"),
            Reason::Replaced { by } => write!(f, "replaced by {by}"),
            Reason::Leftover { held } => write!(f, "made by an interrupted run; its sink holds {held}"),
        }
    }
}

/// One key and what happens to it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Entry {
    /// The key, as the inventory lists it (id, kind, account, created, expiry, scopes, marker).
    pub key: KeyRecord,
    /// Its service account's name.
    pub service_account_name: String,
    /// The sink its marker names, as `--output` writes it, when that sink is reachable.
    pub sink: Option<String>,
    /// What happens to it.
    pub action: Action,
    /// Why.
    pub reason: Reason,
    /// In a report, the key that replaced it.
    pub new_key_id: Option<String>,
    /// When it is (or was) due for deletion: the new key's creation plus the grace. In a plan of
    /// a rotation, the earliest it can be.
    pub deletion_due: Option<OffsetDateTime>,
    /// Why its rotation or deletion failed, or its sink could not be read ([`Action::Failed`]).
    pub error: Option<Arc<ProvisionError>>,
}

/// What a run did to every key in scope. A failed rotation or deletion does not stop the others:
/// it is an entry with [`Action::Failed`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Report {
    /// The time ages, expiries and deletions were judged at.
    pub now: OffsetDateTime,
    /// The grace.
    pub grace: Duration,
    /// Every key of the accounts and kinds in scope, by account, kind and age.
    pub entries: Vec<Entry>,
}

impl Report {
    /// Whether some rotation or deletion failed.
    pub fn failed(&self) -> bool {
        self.entries.iter().any(|e| e.action == Action::Failed)
    }

    /// The entries with this action.
    pub fn with_action(&self, action: Action) -> impl Iterator<Item = &Entry> {
        self.entries.iter().filter(move |e| e.action == action)
    }
}

/// Why a rotation could not be planned. Rotations and deletions that fail are entries of the
/// report instead.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RotateError {
    /// An input breaks a rule; nothing was sent.
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    /// Listing the folder's accounts and keys failed.
    #[error("cannot list the service accounts and keys of folder {folder_id}")]
    Listing {
        /// The folder.
        folder_id: String,
        /// The API error, with its request ids.
        #[source]
        source: crate::Error,
    },
    /// The service account named is not in the folder.
    #[error("service account {name:?} not found in folder {folder_id}")]
    AccountNotFound {
        /// The folder.
        folder_id: String,
        /// The name.
        name: String,
    },
}

impl RotateError {
    /// True when the input was at fault and nothing was sent.
    pub fn is_invalid_input(&self) -> bool {
        match self {
            RotateError::Invalid(_) => true,
            RotateError::Listing { source, .. } => source.is_invalid_input(),
            RotateError::AccountNotFound { .. } => false,
        }
    }

    /// The API error, for its request ids.
    pub fn api_error(&self) -> Option<&crate::Error> {
        match self {
            RotateError::Listing { source, .. } => Some(source),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_file_sinks_are_given_and_names_are_checked() {
        let r = Rotation::new("b1gfolder", Select::AllKeys);
        r.validate().unwrap();
        let err = r.clone().sink("lockbox://ai".parse().unwrap()).validate().unwrap_err();
        assert_eq!(err.field, "sinks");
        let err = r.clone().sink("-".parse().unwrap()).validate().unwrap_err();
        assert_eq!(err.field, "sinks");
        r.clone().sink("env:.env".parse().unwrap()).validate().unwrap();
        let err = r.clone().account("Bad").validate().unwrap_err();
        assert_eq!(err.field, "service_account_name");
        let err = Rotation::new("b1g folder", Select::AllKeys).validate().unwrap_err();
        assert_eq!(err.field, "folder_id");
    }

    #[test]
    fn kinds_default_to_all_and_keep_their_order() {
        let r = Rotation::new("b1g", Select::AllKeys);
        assert_eq!(r.kinds().len(), 3);
        let r = r.key_types([KeyType::StaticKey, KeyType::ApiKey, KeyType::StaticKey]);
        assert_eq!(r.kinds(), [KeyType::ApiKey, KeyType::StaticKey]);
    }
}
