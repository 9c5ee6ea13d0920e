//! What a run did, and why it failed (with what it had done by then).

use super::{
    Grant, InvalidInput, IssuedKey, KeyFileError, KeyType, LockboxReport, ManagedKey, Verification, VerifyError,
};
use crate::proto::yandex::cloud::iam::v1::ServiceAccount;

/// The outcome of [`Provision::run`](super::Provision::run) or [`Plan::apply`](super::Plan::apply):
/// what was changed and what was found in place. A failed run hands back the same report of
/// what it had done before the failure ([`ProvisionError::partial_report`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Report {
    /// The service account.
    pub service_account: ServiceAccount,
    /// Whether the service account was created.
    pub service_account_created: bool,
    /// Where the roles are granted.
    pub grant: Grant,
    /// Roles that were added for the account.
    pub roles_added: Vec<String>,
    /// Roles the account already had there.
    pub roles_present: Vec<String>,
    /// The kind of key.
    pub key_type: KeyType,
    /// What happened to the key; `None` only in the report of a run that failed before the key
    /// was in place.
    pub key: Option<KeyAction>,
    /// Keys that were deleted: the key the file held before a rotation or replacement, and keys
    /// a killed earlier run made whose secret never reached the file.
    pub keys_deleted: Vec<String>,
    /// Keys that could not be deleted (id and reason); the run still succeeded.
    pub keys_not_deleted: Vec<(String, String)>,
    /// The new key with its secret, when the output is the caller rather than a file.
    pub secret_for_caller: Option<IssuedKey>,
    /// What was done to the Lockbox secret, when the key goes to Lockbox.
    pub lockbox: Option<LockboxReport>,
    /// How long the key took to work, when verification was asked for
    /// ([`Provision::verify`](super::Provision::verify)): the new key, or the kept key read back
    /// from its sink. `None` otherwise, or when the key could not be tried (`not_verified`).
    pub verification: Option<Verification>,
    /// Why a verification asked for was not made: the caller may no longer read the Lockbox
    /// payload that holds the kept key (the run read it a moment before). A sink that holds no
    /// usable key fails the run instead.
    pub not_verified: Option<String>,
}

impl Report {
    /// Whether anything was changed.
    pub fn changed(&self) -> bool {
        self.service_account_created
            || !self.roles_added.is_empty()
            || matches!(self.key, Some(KeyAction::Created { .. }))
            || !self.keys_deleted.is_empty()
            || self.lockbox.as_ref().is_some_and(LockboxReport::changed)
    }
}

/// What happened to the key.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum KeyAction {
    /// The key in the file is still good and was kept.
    Kept {
        /// The key.
        key: ManagedKey,
    },
    /// A key was created.
    Created {
        /// The new key.
        key: ManagedKey,
        /// Why a new key was needed.
        reason: KeyReason,
        /// The key it replaces, if the file held one of this account's keys.
        replaces: Option<String>,
    },
}

/// Why a new key was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyReason {
    /// There was no key file.
    NoKeyFile,
    /// The sink (dotenv file, manifest, Lockbox secret) holds no key yet.
    SinkEmpty,
    /// The key goes to the caller, so there is nothing to keep.
    OutputToCaller,
    /// The output holds a key of another service account (or one this account does not have).
    OtherAccount,
    /// The key the output holds no longer exists.
    KeyGone,
    /// The key the output holds has other scopes than requested.
    ScopesDiffer,
    /// The key the output holds has expired.
    Expired,
    /// Rotation was asked for.
    Rotate,
}

impl KeyReason {
    /// A short phrase for people.
    pub fn describe(self) -> &'static str {
        match self {
            KeyReason::NoKeyFile => "no key file yet",
            KeyReason::SinkEmpty => "the output holds no key yet",
            KeyReason::OutputToCaller => "the key is printed, not kept",
            KeyReason::OtherAccount => "the output holds another service account's key",
            KeyReason::KeyGone => "the key the output holds no longer exists",
            KeyReason::ScopesDiffer => "the key the output holds has other scopes",
            KeyReason::Expired => "the key the output holds has expired",
            KeyReason::Rotate => "rotation requested",
        }
    }
}

/// Why a run failed. `is_invalid_input()` separates bad input (nothing was sent) from failures
/// of the API or the file system.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProvisionError {
    /// An input breaks a rule; nothing was sent.
    #[error(transparent)]
    Invalid(#[from] InvalidInput),
    /// The key file cannot be read, is not a key file, or cannot be written.
    #[error(transparent)]
    KeyFile(#[from] KeyFileError),
    /// An API call failed.
    #[error("{step}")]
    Api {
        /// The step, e.g. `cannot create service account "sa-api"`.
        step: String,
        /// The API error, with its request ids.
        #[source]
        source: crate::Error,
        /// What the run had done before the failure, when it got past reading.
        partial: Option<Box<Report>>,
    },
    /// The key was created but its secret could not be written; the key was deleted again
    /// (`deleted`) or is left for the next run to delete (it carries the marker).
    #[error("created key {key_id} but could not write it{}", if *deleted { " (the key was deleted again)" } else { "" })]
    KeyNotWritten {
        /// The key that was created.
        key_id: String,
        /// Whether it was deleted again.
        deleted: bool,
        /// The write error.
        #[source]
        source: KeyFileError,
        /// What the run had done before the failure.
        partial: Option<Box<Report>>,
    },
    /// The key is in place (and stays there) but did not work when called with: refused until
    /// the verification's timeout, or failed another way.
    #[error("{} is in place but did not work", key_id.as_deref().map_or("the kept key".to_owned(), |id| format!("key {id}")))]
    NotVerified {
        /// The new key, or `None` for a kept key.
        key_id: Option<String>,
        /// Why: the last call's error, its request ids, how long the check ran.
        #[source]
        source: VerifyError,
        /// What the run did, the key included.
        partial: Option<Box<Report>>,
    },
}

impl ProvisionError {
    /// True when the input was at fault and nothing was sent (CLI exit code 2).
    pub fn is_invalid_input(&self) -> bool {
        match self {
            ProvisionError::Invalid(_) => true,
            ProvisionError::KeyFile(KeyFileError::NotAKeyFile { .. }) => true,
            ProvisionError::KeyFile(_) | ProvisionError::KeyNotWritten { .. } => false,
            ProvisionError::NotVerified { .. } => false,
            ProvisionError::Api { source, .. } => source.is_invalid_input(),
        }
    }

    /// The API error, for its request ids.
    pub fn api_error(&self) -> Option<&crate::Error> {
        match self {
            ProvisionError::Api { source, .. } => Some(source),
            ProvisionError::NotVerified { source, .. } => Some(&source.source),
            _ => None,
        }
    }

    /// What the run had changed or found in place before it failed: present when it failed
    /// after the service account was in place, so a caller can tell the state without looking.
    pub fn partial_report(&self) -> Option<&Report> {
        match self {
            ProvisionError::Api { partial, .. }
            | ProvisionError::KeyNotWritten { partial, .. }
            | ProvisionError::NotVerified { partial, .. } => partial.as_deref(),
            _ => None,
        }
    }

    /// Attaches the report of what was done before this failure.
    pub(super) fn with_partial(mut self, report: Report) -> Self {
        if let ProvisionError::Api { partial, .. }
        | ProvisionError::KeyNotWritten { partial, .. }
        | ProvisionError::NotVerified { partial, .. } = &mut self
        {
            *partial = Some(Box::new(report));
        }
        self
    }
}
