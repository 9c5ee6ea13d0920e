//! The IAM-token cache: one exchange at a time, run on a task of its own so that no caller giving
//! up abandons it, refreshed ahead of expiry while the old token goes on serving, and an old token
//! kept while it is still valid if a refresh fails.

use std::{
    future::Future,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use secrecy::SecretString;
use tokio::{sync::watch, time::Instant};
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

/// How an exchange ended, once it has: the token it stored, or its error.
type Outcome = Option<Result<Token, Error>>;

#[derive(Default)]
struct State {
    current: Option<Cached>,
    next_try: Option<Instant>,
    /// The exchange in flight, if any: every caller that must wait for a token waits for this one.
    exchange: Option<watch::Receiver<Outcome>>,
    /// The last exchange that failed, for callers that cannot wait (the interceptor).
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

    /// Records how an exchange ended and hands its outcome to the callers waiting for it.
    fn settle(&mut self, outcome: Result<Fetched, Error>) -> Result<Token, Error> {
        self.exchange = None;
        match outcome {
            Ok(fetched) => {
                let lifetime = if fetched.lifetime.is_zero() {
                    DEFAULT_LIFETIME
                } else {
                    fetched.lifetime.min(MAX_LIFETIME)
                };
                self.current = Some(Cached::new(fetched.token.clone(), Instant::now(), lifetime));
                self.next_try = None;
                self.last_failure = None;
                Ok(fetched.token)
            }
            Err(err) => {
                self.next_try = Some(Instant::now() + RETRY_AFTER_FAILURE);
                self.last_failure = Some(err.shallow_clone());
                Err(err)
            }
        }
    }
}

/// One per client; shared by all its calls.
#[derive(Default)]
pub(crate) struct TokenCache {
    /// Shared with the task of the exchange in flight, which stores its token here.
    state: Arc<Mutex<State>>,
}

/// What a caller gets at once: a token to send, or the exchange to wait for.
enum Lookup {
    Ready(Token),
    Wait(watch::Receiver<Outcome>),
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

impl TokenCache {
    /// The token to send now if there is one, starting an exchange when none is cached or the
    /// cached one is due (unless one is in flight). A due token is still sent: the caller does not
    /// wait for its replacement.
    fn lookup<F, Fut>(&self, fetch: F) -> Lookup
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Fetched, Error>> + Send + 'static,
    {
        let now = Instant::now();
        let mut state = lock(&self.state);
        if let Some(c) = state.fresh(now) {
            return Lookup::Ready(c.token.clone());
        }
        // A closed channel in the slot is an exchange whose task died (a panic): start another.
        let exchange = match state.exchange.as_ref().filter(|e| e.has_changed().is_ok()) {
            Some(running) => running.clone(),
            None => {
                let (done, exchange) = watch::channel(None);
                // Without a runtime nothing can run the exchange: `done` is dropped, and waiters
                // see the exchange end without a token.
                if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                    let shared = self.state.clone();
                    let fetch = fetch();
                    runtime.spawn(async move {
                        let outcome = fetch.await;
                        let outcome = lock(&shared).settle(outcome);
                        done.send_replace(Some(outcome));
                    });
                    state.exchange = Some(exchange.clone());
                }
                exchange
            }
        };
        match &state.current {
            Some(c) if c.usable(now) => Lookup::Ready(c.token.clone()),
            _ => Lookup::Wait(exchange),
        }
    }

    /// Forgets the cached token if it is the one the server refused, so the next call obtains a
    /// new one. A refusal of an older token (a call sent before the last renewal, answered late)
    /// says nothing about the current one, which stays.
    pub(crate) fn invalidate(&self, refused: &AsciiMetadataValue) {
        let mut state = lock(&self.state);
        if state
            .current
            .as_ref()
            .is_some_and(|c| c.token.authorization == *refused)
        {
            state.current = None;
            state.next_try = None;
        }
    }

    /// The token to send now without waiting (for an interceptor, which cannot wait); `None`
    /// when no usable token is cached. Either way an exchange starts if one is needed.
    pub(crate) fn at_once<F, Fut>(&self, fetch: F) -> Option<Token>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Fetched, Error>> + Send + 'static,
    {
        match self.lookup(fetch) {
            Lookup::Ready(token) => Some(token),
            Lookup::Wait(_) => None,
        }
    }

    /// The `authorization` of the cached token when it is not due for a refresh.
    pub(crate) fn fresh(&self) -> Option<AsciiMetadataValue> {
        let state = lock(&self.state);
        state.fresh(Instant::now()).map(|c| c.token.authorization.clone())
    }

    /// The last exchange that failed, if any since the last token was obtained.
    pub(crate) fn last_failure(&self) -> Option<Error> {
        lock(&self.state).last_failure.as_ref().map(Error::shallow_clone)
    }

    /// A token to send now, waiting for an exchange only when no usable token is cached. `fetch`
    /// makes the exchange, which runs on a task of its own, one at a time across all callers: a
    /// caller that stops waiting leaves it running for the others and the next call.
    pub(crate) async fn get<F, Fut>(&self, fetch: F) -> Result<Token, Error>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Fetched, Error>> + Send + 'static,
    {
        let mut exchange = match self.lookup(fetch) {
            Lookup::Ready(token) => return Ok(token),
            Lookup::Wait(exchange) => exchange,
        };
        match exchange.wait_for(Option::is_some).await.as_deref() {
            Ok(Some(Ok(token))) => Ok(token.clone()),
            Ok(Some(Err(err))) => Err(err.shallow_clone()),
            _ => Err(Error::credentials("the token exchange stopped without an answer")),
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
                    .get(move || async move {
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

    /// Lets a background exchange run to its end (the clock is paused: this costs nothing).
    async fn settle() {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }

    #[tokio::test(start_paused = true)]
    async fn token_is_refreshed_after_an_hour_and_kept_when_refresh_fails() {
        let cache = TokenCache::default();
        let get = |outcome: Result<&'static str, &'static str>| {
            cache.get(move || async move { outcome.map(|name| fetched(name, 43_200)).map_err(Error::credentials) })
        };
        assert_eq!(get(Ok("a")).await.ok().map(secret).as_deref(), Some("a"));
        tokio::time::advance(Duration::from_secs(3601)).await;
        // Due: the old token goes out while the refresh runs, and fails.
        assert_eq!(get(Err("down")).await.ok().map(secret).as_deref(), Some("a"));
        settle().await;
        assert_eq!(
            get(Ok("x")).await.ok().map(secret).as_deref(),
            Some("a"),
            "the next try waits"
        );
        tokio::time::advance(Duration::from_secs(11)).await;
        assert_eq!(get(Ok("b")).await.ok().map(secret).as_deref(), Some("a"));
        settle().await;
        assert_eq!(get(Ok("y")).await.ok().map(secret).as_deref(), Some("b"));
    }

    #[tokio::test(start_paused = true)]
    async fn token_is_refreshed_when_a_tenth_of_its_life_is_left() {
        let cache = TokenCache::default();
        let get = |name: &'static str| cache.get(move || async move { Ok(fetched(name, 1000)) });
        assert_eq!(get("a").await.ok().map(secret).as_deref(), Some("a"));
        tokio::time::advance(Duration::from_secs(850)).await;
        assert_eq!(get("b").await.ok().map(secret).as_deref(), Some("a"));
        tokio::time::advance(Duration::from_secs(55)).await;
        assert_eq!(
            get("c").await.ok().map(secret).as_deref(),
            Some("a"),
            "due, still valid"
        );
        settle().await;
        assert_eq!(get("d").await.ok().map(secret).as_deref(), Some("c"));
    }

    #[tokio::test(start_paused = true)]
    async fn only_the_refused_token_is_forgotten() {
        let cache = TokenCache::default();
        let old = cache.get(|| async { Ok(fetched("a", 43_200)) }).await.ok();
        let old = old.map(|t| t.authorization).expect("a token");
        tokio::time::advance(Duration::from_secs(3601)).await;
        assert!(cache.get(|| async { Ok(fetched("b", 43_200)) }).await.is_ok());
        settle().await;
        cache.invalidate(&old);
        let kept = cache.get(|| async { Ok(fetched("c", 43_200)) }).await.ok();
        assert_eq!(kept.clone().map(secret).as_deref(), Some("b"));
        cache.invalidate(&kept.map(|t| t.authorization).expect("a token"));
        let renewed = cache.get(|| async { Ok(fetched("c", 43_200)) }).await.ok();
        assert_eq!(renewed.map(secret).as_deref(), Some("c"));
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
                    .get(move || async move {
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
