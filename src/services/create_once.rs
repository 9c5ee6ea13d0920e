//! The create that is safe to retry, shared by the three key services (API keys, authorized
//! keys, static access keys).
//!
//! Their `Create` returns the secret directly and is not an operation, so a lost answer could
//! leave a key whose secret nobody holds. The common path is one RPC. After an ambiguous failure
//! (the request may have been applied) the call is retried with the same `idempotency-key` (a
//! server that honours it answers with the first key), and once it settles the service account's
//! keys are listed: every key matching the request that was made during this call, other than the
//! one whose secret the caller receives and the keys the caller names as existing before it, is
//! deleted. "During this call" is read on the server's clock, anchored by the `created_at` of the
//! key received, to within about a second: a key made just before the call that the caller does
//! not name could be taken for one of this call's. A retried call thus leaves exactly one new live
//! key, unless that clean-up fails: it is best effort, and the key received is returned all the
//! same (its secret exists nowhere else), with a warning.

use super::account_keys::{AccountKey, AccountKeys};
use crate::{Error, ErrorKind};

/// How far an orphan's `created_at` may precede the call's start on the server's clock (the
/// server's clock is read against ours through the received key's `created_at` and the time its
/// answer arrived, which is off by that answer's travel time; the first attempt's is not known).
const SLACK: i128 = 1_000_000_000;
/// The clock skew allowed between this machine and the server when no server time is known.
const SKEW: i128 = 5_000_000_000;

/// A span of server time, in nanoseconds since the Unix epoch.
struct Window {
    from: i128,
    to: i128,
}

impl Window {
    /// From the call's start to now, on this machine's clock, widened by the allowed skew.
    fn local(call_started: i128) -> Self {
        Window {
            from: call_started - SKEW,
            to: wall_nanos() + SKEW,
        }
    }

    fn contains(&self, at: i128) -> bool {
        self.from <= at && at <= self.to
    }
}

fn wall_nanos() -> i128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i128)
        .unwrap_or_default()
}

/// True when a failed create may nevertheless have made the key.
fn maybe_applied(err: &Error) -> bool {
    use tonic::Code;
    match err.code() {
        Some(
            Code::InvalidArgument
            | Code::NotFound
            | Code::AlreadyExists
            | Code::PermissionDenied
            | Code::Unauthenticated
            | Code::FailedPrecondition
            | Code::ResourceExhausted
            | Code::OutOfRange
            | Code::Unimplemented,
        ) => false,
        Some(_) => true,
        None => matches!(err.kind(), ErrorKind::Transport | ErrorKind::Timeout | ErrorKind::Other),
    }
}

/// Sends `Create` and turns the reply into the caller's value (moving the secret out of it);
/// after an ambiguous failure, deletes the keys the call made whose secret never arrived (see the
/// module docs).
pub(super) async fn create_once<K: AccountKey>(
    keys: &AccountKeys<K>,
    request: K::CreateRequest,
    existing: &[String],
) -> Result<K::Created, Error> {
    let method = &K::METHODS.create;
    let call_started = wall_nanos();
    let mut ambiguous = false;
    let result = keys
        .client
        .call_observed(method, request.clone(), K::create, |err| {
            ambiguous |= maybe_applied(err)
        })
        .await;
    let reply = match result {
        Ok(reply) => reply,
        Err(err) => {
            if ambiguous {
                // Best effort: a key nobody holds the secret of must not stay.
                let window = Window::local(call_started);
                if let Err(cleanup) = remove_orphans(keys, &request, &window, existing, None).await {
                    tracing::warn!(error = %cleanup, "could not remove keys left by a failed create");
                }
            }
            return Err(err);
        }
    };
    let received = wall_nanos();
    let created = K::take_created(&mut reply.into_inner())?;
    if ambiguous {
        // The key just received dates this call on the server's clock: an earlier attempt's
        // key was made between the call's start and the received key's creation.
        let made = K::key_of(&created);
        let window = match made.created_at() {
            Some(at) => {
                let made = crate::timestamp::unix_nanos(at);
                Window {
                    from: call_started + (made - received) - SLACK,
                    to: made,
                }
            }
            None => Window::local(call_started),
        };
        // Best effort, as after a failure: the key has arrived, and the caller is the only one
        // who can keep its secret now.
        if let Err(cleanup) = remove_orphans(keys, &request, &window, existing, Some(made.id())).await {
            tracing::warn!(error = %cleanup, "could not remove keys left by an earlier attempt of this create");
        }
    }
    Ok(created)
}

/// Deletes the keys made within `window` that match the request, except `keep` and the keys the
/// caller knew to exist before the call: keys this call made but whose secret never arrived.
async fn remove_orphans<K: AccountKey>(
    keys: &AccountKeys<K>,
    request: &K::CreateRequest,
    window: &Window,
    existing: &[String],
    keep: Option<&str>,
) -> Result<(), Error> {
    for key in keys.all_of(K::owner(request)).await? {
        let ours = Some(key.id()) != keep
            && !existing.iter().any(|id| id == key.id())
            && key
                .created_at()
                .is_some_and(|at| window.contains(crate::timestamp::unix_nanos(at)))
            && key.made_by(request);
        if ours {
            tracing::debug!(key_id = %key.id(), "deleting a key whose secret was lost");
            let deleted = match keys.delete(key.id()).await {
                Ok(operation) => operation.wait().await,
                Err(e) => Err(e),
            };
            match deleted {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}
