//! The IAM-token cache: one exchange at a time, refreshed ahead of expiry, and an old token kept
//! while it is still valid if a refresh fails.

use std::{
    future::Future,
    sync::{Arc, Mutex},
    time::Duration,
};

use secrecy::SecretString;
use tokio::time::Instant;
use tonic::metadata::AsciiMetadataValue;

use crate::Error;

/// A token is refreshed once it is this old, even if it lives longer (Yandex advises hourly).
const MAX_AGE: Duration = Duration::from_secs(3600);
/// Lifetime assumed when the source does not say.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(3600);
/// The longest lifetime believed: an IAM token lives at most 12 hours, whatever the source says
/// (and a server-given lifetime must not overflow the clock arithmetic below).
const MAX_LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// A token this close to expiry is not sent any more.
const EXPIRY_MARGIN: Duration = Duration::from_secs(10);
/// After a failed refresh-ahead, the next try waits this long (the old token stays in use).
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(10);

/// An IAM token and the `authorization` value that carries it, made once per token: every call
/// shares that one header buffer instead of formatting a fresh copy of the token (a header value
/// is a `Bytes`, which is freed without being cleared).
#[derive(Clone)]
pub(crate) struct Token {
    pub(crate) secret: Arc<SecretString>,
    pub(crate) authorization: AsciiMetadataValue,
}

/// A freshly obtained token and how long it lives.
pub(crate) struct Fetched {
    pub(crate) token: Token,
    pub(crate) lifetime: Duration,
}

struct Cached {
    token: Token,
    obtained: Instant,
    lifetime: Duration,
    /// Until then the token is usable and not due for a refresh, which it is by one hour of age
    /// or when a tenth of its lifetime is left, whichever is first: one comparison per call.
    fresh_until: Instant,
}

impl Cached {
    fn new(token: Token, obtained: Instant, lifetime: Duration) -> Self {
        let expires = obtained + lifetime;
        let due = expires
            .checked_sub((lifetime / 10).max(EXPIRY_MARGIN))
            .unwrap_or(obtained);
        Cached {
            token,
            obtained,
            lifetime,
            fresh_until: due.min(obtained + MAX_AGE),
        }
    }

    fn expires(&self) -> Instant {
        self.obtained + self.lifetime
    }

    fn usable(&self, now: Instant) -> bool {
        now + EXPIRY_MARGIN < self.expires()
    }
}

#[derive(Default)]
struct State {
    current: Option<Cached>,
    next_try: Option<Instant>,
    /// Counts exchanges that failed with no usable token, and the last such failure.
    failures: u64,
    last_failure: Option<Error>,
}

impl State {
    /// The cached token when it is sent as it is: usable, and not due for a refresh (or due, but
    /// a refresh just failed and the next try waits).
    fn fresh(&self, now: Instant) -> Option<&Cached> {
        let c = self.current.as_ref()?;
        let waiting = || c.usable(now) && self.next_try.is_some_and(|t| now < t);
        (now < c.fresh_until || waiting()).then_some(c)
    }
}

/// One per client; shared by all its calls.
#[derive(Default)]
pub(crate) struct TokenCache {
    state: Mutex<State>,
    refresh: tokio::sync::Mutex<()>,
}

enum Look {
    Fresh(Token),
    Stale(Token),
    Missing,
}

impl TokenCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn look(&self, now: Instant) -> Look {
        let state = self.lock();
        if let Some(c) = state.fresh(now) {
            return Look::Fresh(c.token.clone());
        }
        match &state.current {
            Some(c) if c.usable(now) => Look::Stale(c.token.clone()),
            _ => Look::Missing,
        }
    }

    fn store(&self, fetched: Fetched) -> Token {
        let mut state = self.lock();
        let lifetime = if fetched.lifetime.is_zero() {
            DEFAULT_LIFETIME
        } else {
            fetched.lifetime.min(MAX_LIFETIME)
        };
        state.current = Some(Cached::new(fetched.token.clone(), Instant::now(), lifetime));
        state.next_try = None;
        state.last_failure = None;
        fetched.token
    }

    fn note_failure(&self) {
        let mut state = self.lock();
        state.next_try = Some(Instant::now() + RETRY_AFTER_FAILURE);
    }

    /// Forgets the cached token if it is the one the server refused, so the next call obtains a
    /// new one. A refusal of an older token (a call sent before the last renewal, answered late)
    /// says nothing about the current one, which stays.
    pub(crate) fn invalidate(&self, refused: &AsciiMetadataValue) {
        let mut state = self.lock();
        if state
            .current
            .as_ref()
            .is_some_and(|c| c.token.authorization == *refused)
        {
            *state = State::default();
        }
    }

    /// The token to send now without waiting, and whether it is due for a refresh; `None` when
    /// no usable token is cached.
    pub(crate) fn peek(&self) -> Option<(Token, bool)> {
        match self.look(Instant::now()) {
            Look::Fresh(token) => Some((token, false)),
            Look::Stale(token) => Some((token, true)),
            Look::Missing => None,
        }
    }

    /// The `authorization` of the cached token when it is not due for a refresh.
    pub(crate) fn fresh(&self) -> Option<AsciiMetadataValue> {
        let state = self.lock();
        state.fresh(Instant::now()).map(|c| c.token.authorization.clone())
    }

    /// The last exchange that failed with no usable token, if any.
    pub(crate) fn last_failure(&self) -> Option<Error> {
        self.lock().last_failure.as_ref().map(Error::shallow_clone)
    }

    /// A token to send now. `fetch` is called at most once at a time across all callers.
    pub(crate) async fn get<F, Fut>(&self, fetch: F) -> Result<Token, Error>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Fetched, Error>>,
    {
        match self.look(Instant::now()) {
            Look::Fresh(token) => Ok(token),
            Look::Stale(old) => {
                // Refresh ahead: whoever gets the lock refreshes; everyone else keeps using the
                // still-valid token instead of waiting.
                let Ok(_guard) = self.refresh.try_lock() else {
                    return Ok(old);
                };
                match self.look(Instant::now()) {
                    Look::Fresh(token) => return Ok(token),
                    Look::Missing => {}
                    Look::Stale(_) => {}
                }
                match fetch().await {
                    Ok(fetched) => Ok(self.store(fetched)),
                    Err(err) => {
                        self.note_failure();
                        match self.look(Instant::now()) {
                            Look::Fresh(token) | Look::Stale(token) => Ok(token),
                            Look::Missing => Err(err),
                        }
                    }
                }
            }
            Look::Missing => {
                // No usable token: wait for the one exchange in flight, or make it.
                let failures_before = self.lock().failures;
                let _guard = self.refresh.lock().await;
                if let Look::Fresh(token) | Look::Stale(token) = self.look(Instant::now()) {
                    return Ok(token);
                }
                // The exchange this caller waited for failed: share its error rather than
                // queue one more exchange per waiting call.
                {
                    let state = self.lock();
                    if state.failures != failures_before
                        && let Some(err) = &state.last_failure
                    {
                        return Err(err.shallow_clone());
                    }
                }
                match fetch().await {
                    Ok(fetched) => Ok(self.store(fetched)),
                    Err(err) => {
                        let mut state = self.lock();
                        state.failures += 1;
                        state.last_failure = Some(err.shallow_clone());
                        Err(err)
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use secrecy::ExposeSecret as _;

    use super::*;

    fn fetched(token: &str, secs: u64) -> Fetched {
        Fetched {
            token: Token {
                secret: Arc::new(SecretString::from(token)),
                authorization: AsciiMetadataValue::try_from(format!("Bearer {token}")).expect("a header value"),
            },
            lifetime: Duration::from_secs(secs),
        }
    }

    fn secret(token: Token) -> String {
        token.secret.expose_secret().to_owned()
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_share_one_exchange() {
        let cache = Arc::new(TokenCache::default());
        let calls = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let cache = cache.clone();
            let calls = calls.clone();
            tasks.push(tokio::spawn(async move {
                cache
                    .get(|| async {
                        calls.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Ok(fetched("t1", 43_200))
                    })
                    .await
            }));
        }
        for t in tasks {
            assert_eq!(t.await.ok().and_then(Result::ok).map(secret).as_deref(), Some("t1"));
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn token_is_refreshed_after_an_hour_and_kept_when_refresh_fails() {
        let cache = TokenCache::default();
        let first = cache.get(|| async { Ok(fetched("a", 43_200)) }).await.ok();
        assert_eq!(first.map(secret).as_deref(), Some("a"));
        tokio::time::advance(Duration::from_secs(3601)).await;
        let failed = cache.get(|| async { Err(Error::credentials("down")) }).await.ok();
        assert_eq!(failed.map(secret).as_deref(), Some("a"));
        tokio::time::advance(Duration::from_secs(11)).await;
        let refreshed = cache.get(|| async { Ok(fetched("b", 43_200)) }).await.ok();
        assert_eq!(refreshed.map(secret).as_deref(), Some("b"));
    }

    #[tokio::test(start_paused = true)]
    async fn token_is_refreshed_when_a_tenth_of_its_life_is_left() {
        let cache = TokenCache::default();
        let get = |name: &'static str| cache.get(move || async move { Ok(fetched(name, 1000)) });
        assert_eq!(get("a").await.ok().map(secret).as_deref(), Some("a"));
        tokio::time::advance(Duration::from_secs(850)).await;
        assert_eq!(get("b").await.ok().map(secret).as_deref(), Some("a"));
        tokio::time::advance(Duration::from_secs(55)).await;
        assert_eq!(get("c").await.ok().map(secret).as_deref(), Some("c"));
    }

    #[tokio::test(start_paused = true)]
    async fn expired_token_is_not_used_when_the_refresh_fails() {
        let cache = TokenCache::default();
        assert!(cache.get(|| async { Ok(fetched("a", 100)) }).await.is_ok());
        tokio::time::advance(Duration::from_secs(200)).await;
        assert!(cache.get(|| async { Err(Error::credentials("down")) }).await.is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn callers_waiting_on_a_failed_exchange_share_its_error() {
        let cache = Arc::new(TokenCache::default());
        let calls = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (cache, calls) = (cache.clone(), calls.clone());
            tasks.push(tokio::spawn(async move {
                cache
                    .get(|| async {
                        calls.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Err::<Fetched, _>(Error::credentials("iam is down"))
                    })
                    .await
            }));
        }
        for t in tasks {
            let err = t.await.ok().and_then(Result::err).map(|e| e.to_string());
            assert_eq!(err.as_deref(), Some("cannot obtain credentials: iam is down"));
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // A later call tries again.
        assert!(cache.get(|| async { Ok(fetched("a", 100)) }).await.is_ok());
    }
}
