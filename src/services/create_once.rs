//! The create that is safe to retry, shared by the three key services (API keys, authorized
//! keys, static access keys).
//!
//! Their `Create` returns the secret directly and is not an operation, so a lost answer could
//! leave a key whose secret nobody holds. The common path is one RPC. After an ambiguous failure
//! (the request may have been applied) the call is retried with the same `idempotency-key` (a
//! server that honours it answers with the first key), and once it settles the service account's
//! keys are listed: every key matching the request that was made during this call, other than the
//! one whose secret the caller receives, is deleted. "During this call" is read on the server's
//! clock, anchored by the `created_at` of the key received. A retried call thus leaves exactly one
//! new live key.

use prost_types::Timestamp;
use tonic::transport::Channel;

use crate::client::Method;
use crate::{Client, Error, ErrorKind, Validate};

/// What the reconciliation needs of a key service: its keys, how to tell the ones a request
/// made, and how to delete one.
pub(super) trait KeyService {
    /// The wire request of `Create`.
    type Request;
    /// A key as `List` returns it.
    type Key;

    /// The service account the request makes a key for.
    fn owner(request: &Self::Request) -> &str;
    /// The key's id (what `Delete` takes).
    fn id(key: &Self::Key) -> &str;
    /// When the server made the key.
    fn created_at(key: &Self::Key) -> Option<&Timestamp>;
    /// Whether `key` has every field `request` asked for.
    fn made_by(request: &Self::Request, key: &Self::Key) -> bool;
    /// Every key of a service account.
    async fn keys_of(&self, service_account_id: &str) -> Result<Vec<Self::Key>, Error>;
    /// Deletes a key and waits for the deletion.
    async fn delete_and_wait(&self, id: &str) -> Result<(), Error>;
}

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

/// Sends `Create` through `rpc` and turns the reply into the caller's value with `take` (which
/// moves the secret out of it); after an ambiguous failure, deletes the keys the call made whose
/// secret never arrived (see the module docs). `key` names the key inside the value.
pub(super) async fn create_once<S, Resp, T, F, Fut>(
    service: &S,
    client: &Client,
    method: &Method,
    request: S::Request,
    rpc: F,
    take: impl FnOnce(&mut Resp) -> Result<T, Error>,
    key: impl Fn(&T) -> &S::Key,
) -> Result<T, Error>
where
    S: KeyService,
    S::Request: Validate + Clone + std::fmt::Debug,
    Resp: std::fmt::Debug,
    F: Fn(Channel, tonic::Request<S::Request>) -> Fut,
    Fut: Future<Output = Result<tonic::Response<Resp>, tonic::Status>>,
{
    let call_started = wall_nanos();
    let mut ambiguous = false;
    let result = client
        .call_observed(method, request.clone(), rpc, |err| ambiguous |= maybe_applied(err))
        .await;
    let reply = match result {
        Ok(reply) => reply,
        Err(err) => {
            if ambiguous {
                // Best effort: a key nobody holds the secret of must not stay.
                let window = Window::local(call_started);
                if let Err(cleanup) = remove_orphans(service, &request, &window, None).await {
                    tracing::warn!(error = %cleanup, "could not remove keys left by a failed create");
                }
            }
            return Err(err);
        }
    };
    let received = wall_nanos();
    let created = take(&mut reply.into_inner())?;
    if ambiguous {
        // The key just received dates this call on the server's clock: an earlier attempt's
        // key was made between the call's start and the received key's creation.
        let made = key(&created);
        let window = match S::created_at(made) {
            Some(at) => {
                let made = crate::timestamp::unix_nanos(at);
                Window {
                    from: call_started + (made - received) - SLACK,
                    to: made,
                }
            }
            None => Window::local(call_started),
        };
        remove_orphans(service, &request, &window, Some(S::id(made))).await?;
    }
    Ok(created)
}

/// Deletes the keys made within `window` that match the request, except `keep`: keys this call
/// made but whose secret never arrived.
async fn remove_orphans<S: KeyService>(
    service: &S,
    request: &S::Request,
    window: &Window,
    keep: Option<&str>,
) -> Result<(), Error> {
    for key in service.keys_of(S::owner(request)).await? {
        let ours = Some(S::id(&key)) != keep
            && S::created_at(&key).is_some_and(|at| window.contains(crate::timestamp::unix_nanos(at)))
            && S::made_by(request, &key);
        if ours {
            tracing::debug!(key_id = %S::id(&key), "deleting a key whose secret was lost");
            match service.delete_and_wait(S::id(&key)).await {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
    }
    Ok(())
}
