//! The inventory of every credential the service accounts of a folder or cloud hold: API keys,
//! authorized keys and static access keys, each with its age, last use, expiry, scopes, whether
//! yc-iam manages it (its description ends with a marker) and the flags a review looks for.
//!
//! [`audit`] only reads. It lists the accounts, then each account's keys of the three kinds, at
//! most [`Policy::parallel`] listings at a time over the client's channels (HTTP/2 carries them
//! side by side), so an inventory of hundreds of accounts costs about as long as its slowest few
//! listings rather than the sum of all of them.
//!
//! ```no_run
//! # async fn example(client: &yc_iam::Client) -> Result<(), yc_iam::Error> {
//! use yc_iam::audit::{Flag, Policy, Scope, audit};
//!
//! let inventory = audit(client, &Scope::Folder("b1gexample0000000000".into()), &Policy::default()).await?;
//! for key in inventory.keys().filter(|k| k.flags.contains(&Flag::Unused)) {
//!     println!("{} {} unused since {:?}", key.kind, key.id, key.last_used_at);
//! }
//! # Ok(())
//! # }
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use futures_util::TryStreamExt as _;
use time::OffsetDateTime;

use crate::model::{AccessKey, ApiKey, Key, ServiceAccount, ServiceAccountStatus};
use crate::provision::KeyType;
use crate::provision::marker;
use crate::timestamp::{earlier, from_timestamp, later};
use crate::{Client, Error};

/// Where to look: every service account of one folder, or of every folder of one cloud.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// One folder.
    Folder(String),
    /// Every folder of a cloud.
    Cloud(String),
}

/// What counts as unused and as expiring, and how many listings run at once.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Policy {
    /// A key not used for this long (or never, and older than this) is [`Flag::Unused`]. A window
    /// that would start before the year -9999 has no start: no key is unused.
    pub unused_for: Duration,
    /// A key that expires within this long is [`Flag::Expiring`]. A window that would end past the
    /// year 9999 has no end: every later expiry falls within it.
    pub expiring_within: Duration,
    /// How many listings run at once (at least 1).
    pub parallel: usize,
    /// The time ages and expiries are judged at; `None` is the local clock when the audit starts.
    /// Against an emulator whose clock was moved, pass its time.
    pub now: Option<OffsetDateTime>,
}

impl Default for Policy {
    /// Unused for 30 days, expiring within 14 days, 16 listings at once, judged now.
    fn default() -> Self {
        Self {
            unused_for: Duration::from_secs(30 * 86_400),
            expiring_within: Duration::from_secs(14 * 86_400),
            parallel: 16,
            now: None,
        }
    }
}

impl Policy {
    /// Sets [`unused_for`](Self::unused_for).
    pub fn unused_for(mut self, d: Duration) -> Self {
        self.unused_for = d;
        self
    }

    /// Sets [`expiring_within`](Self::expiring_within).
    pub fn expiring_within(mut self, d: Duration) -> Self {
        self.expiring_within = d;
        self
    }

    /// Sets [`parallel`](Self::parallel).
    pub fn parallel(mut self, n: usize) -> Self {
        self.parallel = n;
        self
    }

    /// Sets [`now`](Self::now).
    pub fn at(mut self, now: OffsetDateTime) -> Self {
        self.now = Some(now);
        self
    }
}

/// What a review looks for in a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Flag {
    /// Not used within [`Policy::unused_for`] (a key never used counts once it is that old).
    Unused,
    /// Never used.
    NeverUsed,
    /// Expires within [`Policy::expiring_within`].
    Expiring,
    /// An API key without an expiry. Authorized and static keys have no expiry in the API, so
    /// they are never flagged: their age is what rotation goes by.
    NoExpiry,
    /// Its expiry has passed: it no longer authenticates.
    Expired,
    /// Its service account is suspended: none of its keys authenticates.
    AccountSuspended,
}

impl Flag {
    /// Every flag.
    pub const ALL: [Flag; 6] = [
        Flag::Unused,
        Flag::NeverUsed,
        Flag::Expiring,
        Flag::NoExpiry,
        Flag::Expired,
        Flag::AccountSuspended,
    ];

    /// The flag's name: `unused`, `never-used`, `expiring`, `no-expiry`, `expired`,
    /// `account-suspended`.
    pub fn name(self) -> &'static str {
        match self {
            Flag::Unused => "unused",
            Flag::NeverUsed => "never-used",
            Flag::Expiring => "expiring",
            Flag::NoExpiry => "no-expiry",
            Flag::Expired => "expired",
            Flag::AccountSuspended => "account-suspended",
        }
    }
}

impl fmt::Display for Flag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not a [`Flag`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownFlag(pub String);

impl fmt::Display for UnknownFlag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = Flag::ALL.iter().map(|f| f.name()).collect();
        write!(f, "unknown flag {:?}: expected one of {}", self.0, names.join(", "))
    }
}

impl std::error::Error for UnknownFlag {}

impl FromStr for Flag {
    type Err = UnknownFlag;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Flag::ALL
            .into_iter()
            .find(|f| f.name() == s.trim())
            .ok_or_else(|| UnknownFlag(s.trim().to_owned()))
    }
}

/// One key of any kind, as the inventory sees it. It carries no secret (the API lists none).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyRecord {
    /// The key's id (for a static key, its resource id; [`access_key_id`](Self::access_key_id)
    /// is the AWS access key id).
    pub id: String,
    /// Which kind it is.
    pub kind: KeyType,
    /// The service account it belongs to.
    pub service_account_id: String,
    /// Its description.
    pub description: String,
    /// When it was made.
    pub created_at: Option<OffsetDateTime>,
    /// When it last authenticated, if ever.
    pub last_used_at: Option<OffsetDateTime>,
    /// When it expires (API keys only).
    pub expires_at: Option<OffsetDateTime>,
    /// Its scopes (API keys only; empty means unrestricted).
    pub scopes: Vec<String>,
    /// The AWS access key id of a static key.
    pub access_key_id: Option<String>,
    /// The RSA key size of an authorized key.
    pub key_algorithm: Option<crate::provision::KeyAlgorithm>,
    /// The yc-iam marker that ends its description, if yc-iam made it.
    pub marker: Option<String>,
    /// What the review found.
    pub flags: BTreeSet<Flag>,
}

impl KeyRecord {
    /// Whether yc-iam manages it (its description ends with a marker).
    pub fn managed(&self) -> bool {
        self.marker.is_some()
    }

    /// How old it is at `now` (zero for a key stamped after `now`; `None` without a creation time).
    pub fn age(&self, now: OffsetDateTime) -> Option<Duration> {
        self.created_at
            .map(|at| (now - at).try_into().unwrap_or(Duration::ZERO))
    }

    fn new(kind: KeyType, id: &str, service_account_id: &str, description: &str) -> Self {
        Self {
            id: id.to_owned(),
            kind,
            service_account_id: service_account_id.to_owned(),
            description: description.to_owned(),
            created_at: None,
            last_used_at: None,
            expires_at: None,
            scopes: Vec::new(),
            access_key_id: None,
            key_algorithm: None,
            marker: marker::parse(description).map(|(text, _)| text.to_owned()),
            flags: BTreeSet::new(),
        }
    }

    // Keys made before `scopes` existed carry their one scope in the deprecated field.
    #[allow(deprecated)]
    fn from_api_key(k: &ApiKey) -> Self {
        let scopes = match (k.scopes.is_empty(), k.scope.is_empty()) {
            (true, false) => vec![k.scope.clone()],
            _ => k.scopes.clone(),
        };
        Self {
            created_at: time_of(k.created_at.as_ref()),
            last_used_at: time_of(k.last_used_at.as_ref()),
            expires_at: time_of(k.expires_at.as_ref()),
            scopes,
            ..Self::new(KeyType::ApiKey, &k.id, &k.service_account_id, &k.description)
        }
    }

    fn from_key(k: &Key, service_account_id: &str) -> Self {
        use crate::model::KeyAlgorithm as Wire;
        use crate::provision::KeyAlgorithm;
        Self {
            created_at: time_of(k.created_at.as_ref()),
            last_used_at: time_of(k.last_used_at.as_ref()),
            key_algorithm: match Wire::try_from(k.key_algorithm) {
                Ok(Wire::Rsa2048) => Some(KeyAlgorithm::Rsa2048),
                Ok(Wire::Rsa4096) => Some(KeyAlgorithm::Rsa4096),
                _ => None,
            },
            ..Self::new(KeyType::AuthorizedKey, &k.id, service_account_id, &k.description)
        }
    }

    fn from_access_key(k: &AccessKey) -> Self {
        Self {
            created_at: time_of(k.created_at.as_ref()),
            last_used_at: time_of(k.last_used_at.as_ref()),
            access_key_id: Some(k.key_id.clone()),
            ..Self::new(KeyType::StaticKey, &k.id, &k.service_account_id, &k.description)
        }
    }

    /// The flags this key raises at `now` under `policy`.
    fn review(&mut self, suspended: bool, now: OffsetDateTime, policy: &Policy) {
        let flags = &mut self.flags;
        // A window reaching past either end of time has no limit there: nothing was used before
        // its start, and every expiry comes before its end.
        let window_start = earlier(now, policy.unused_for);
        let before_window = |at: OffsetDateTime| window_start.is_some_and(|start| at < start);
        match self.last_used_at {
            Some(used) if before_window(used) => {
                flags.insert(Flag::Unused);
            }
            Some(_) => {}
            None => {
                flags.insert(Flag::NeverUsed);
                if self.created_at.is_some_and(before_window) {
                    flags.insert(Flag::Unused);
                }
            }
        }
        match self.expires_at {
            Some(at) if at <= now => {
                flags.insert(Flag::Expired);
            }
            Some(at) if later(now, policy.expiring_within).is_none_or(|end| at <= end) => {
                flags.insert(Flag::Expiring);
            }
            Some(_) => {}
            None if self.kind == KeyType::ApiKey => {
                flags.insert(Flag::NoExpiry);
            }
            None => {}
        }
        if suspended {
            flags.insert(Flag::AccountSuspended);
        }
    }
}

fn time_of(ts: Option<&prost_types::Timestamp>) -> Option<OffsetDateTime> {
    ts.and_then(from_timestamp)
}

/// One service account and its keys.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct AccountRecord {
    /// The account as `ServiceAccountService.List` shows it.
    pub account: ServiceAccount,
    /// Its keys of every kind: API keys, then authorized keys, then static keys, oldest first.
    pub keys: Vec<KeyRecord>,
}

impl AccountRecord {
    /// Whether the cloud suspended the account.
    pub fn suspended(&self) -> bool {
        self.account.status == ServiceAccountStatus::Suspended as i32
    }
}

/// Every service account in scope with all its keys, and the time they were judged at.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Inventory {
    /// The time ages, use and expiry were judged at.
    pub now: OffsetDateTime,
    /// The accounts, by folder then name.
    pub accounts: Vec<AccountRecord>,
}

impl Inventory {
    /// Every key of every account.
    pub fn keys(&self) -> impl Iterator<Item = &KeyRecord> {
        self.accounts.iter().flat_map(|a| a.keys.iter())
    }

    /// Every flag some key raises.
    pub fn raised(&self) -> BTreeSet<Flag> {
        self.keys().flat_map(|k| k.flags.iter().copied()).collect()
    }
}

/// One listing's result.
enum Listed {
    ApiKeys(Vec<ApiKey>),
    Keys(String, Vec<Key>),
    AccessKeys(Vec<AccessKey>),
}

/// Lists every service account in `scope` and all its keys, and judges each key by `policy`.
/// Reads only. At most `policy.parallel` listings run at once.
///
/// # Errors
/// The first listing that fails (after the client's retries) stops the audit with its error.
pub async fn audit(client: &Client, scope: &Scope, policy: &Policy) -> Result<Inventory, Error> {
    let now = policy.now.unwrap_or_else(OffsetDateTime::now_utc);
    let parallel = policy.parallel.max(1);
    let mut accounts = accounts_in(client, scope, parallel).await?;
    accounts.sort_by(|a, b| (&a.folder_id, &a.name, &a.id).cmp(&(&b.folder_id, &b.name, &b.id)));

    let ids: Vec<String> = accounts.iter().map(|sa| sa.id.clone()).collect();
    let listings: Vec<_> = ids
        .into_iter()
        .flat_map(|id| {
            KeyType::ALL.map(move |kind| {
                let id = id.clone();
                async move {
                    Ok::<_, Error>(match kind {
                        KeyType::ApiKey => Listed::ApiKeys(client.api_keys().list(id).try_collect().await?),
                        KeyType::AuthorizedKey => {
                            let keys = client.keys().list(id.clone()).try_collect().await?;
                            Listed::Keys(id, keys)
                        }
                        KeyType::StaticKey => Listed::AccessKeys(client.access_keys().list(id).try_collect().await?),
                    })
                }
            })
        })
        .collect();
    let mut by_account: BTreeMap<String, Vec<KeyRecord>> = BTreeMap::new();
    let mut listed = crate::bounded::as_they_end(listings, parallel);
    while let Some(listing) = listed.try_next().await? {
        let records: Vec<KeyRecord> = match &listing {
            Listed::ApiKeys(keys) => keys.iter().map(KeyRecord::from_api_key).collect(),
            Listed::Keys(sa, keys) => keys.iter().map(|k| KeyRecord::from_key(k, sa)).collect(),
            Listed::AccessKeys(keys) => keys.iter().map(KeyRecord::from_access_key).collect(),
        };
        for record in records {
            by_account
                .entry(record.service_account_id.clone())
                .or_default()
                .push(record);
        }
    }

    let accounts = accounts
        .into_iter()
        .map(|account| {
            let mut record = AccountRecord {
                keys: by_account.remove(&account.id).unwrap_or_default(),
                account,
            };
            let suspended = record.suspended();
            record
                .keys
                .sort_by(|a, b| (a.kind, a.created_at, &a.id).cmp(&(b.kind, b.created_at, &b.id)));
            for key in &mut record.keys {
                key.review(suspended, now, policy);
            }
            record
        })
        .collect();
    Ok(Inventory { now, accounts })
}

/// The service accounts of the folder, or of every folder of the cloud (listed concurrently).
async fn accounts_in(client: &Client, scope: &Scope, parallel: usize) -> Result<Vec<ServiceAccount>, Error> {
    let folders: Vec<String> = match scope {
        Scope::Folder(id) => vec![id.clone()],
        Scope::Cloud(id) => {
            let folders: Vec<crate::model::Folder> = client.folders().list(id.clone()).try_collect().await?;
            folders.into_iter().map(|f| f.id).collect()
        }
    };
    let lists: Vec<_> = folders
        .into_iter()
        .map(|folder| async move {
            client
                .service_accounts()
                .list(folder)
                .try_collect::<Vec<ServiceAccount>>()
                .await
        })
        .collect();
    let per_folder: Vec<Vec<ServiceAccount>> = crate::bounded::as_they_end(lists, parallel).try_collect().await?;
    Ok(per_folder.into_iter().flatten().collect())
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const DAY: Duration = Duration::from_secs(86_400);
    const NOW: OffsetDateTime = datetime!(2030-06-01 00:00 UTC);

    fn key(
        kind: KeyType,
        created_days_ago: u32,
        used_days_ago: Option<u32>,
        expires_in_days: Option<i64>,
    ) -> KeyRecord {
        KeyRecord {
            created_at: Some(NOW - DAY * created_days_ago),
            last_used_at: used_days_ago.map(|d| NOW - DAY * d),
            expires_at: expires_in_days.map(|d| NOW + time::Duration::days(d)),
            ..KeyRecord::new(kind, "aje00000000000000001", "aje00000000000000002", "")
        }
    }

    fn flags(mut k: KeyRecord, suspended: bool) -> Vec<&'static str> {
        k.review(suspended, NOW, &Policy::default());
        k.flags.iter().map(|f| f.name()).collect()
    }

    #[test]
    fn each_flag_is_raised_by_its_rule_and_only_then() {
        use KeyType::*;
        assert_eq!(flags(key(ApiKey, 100, Some(1), Some(100)), false), [""; 0]);
        assert_eq!(flags(key(ApiKey, 100, Some(31), Some(100)), false), ["unused"]);
        assert_eq!(flags(key(ApiKey, 100, Some(29), Some(14)), false), ["expiring"]);
        assert_eq!(flags(key(ApiKey, 100, Some(29), Some(15)), false), [""; 0]);
        assert_eq!(flags(key(ApiKey, 100, Some(1), Some(0)), false), ["expired"]);
        assert_eq!(flags(key(ApiKey, 100, Some(1), Some(-3)), false), ["expired"]);
        assert_eq!(flags(key(ApiKey, 10, None, None), false), ["never-used", "no-expiry"]);
        assert_eq!(
            flags(key(ApiKey, 31, None, None), false),
            ["unused", "never-used", "no-expiry"]
        );
        assert_eq!(flags(key(AuthorizedKey, 10, None, None), false), ["never-used"]);
        assert_eq!(flags(key(StaticKey, 1, Some(0), None), true), ["account-suspended"]);
    }

    #[test]
    fn flags_read_back_from_their_names_and_unknown_names_are_refused() {
        for flag in Flag::ALL {
            assert_eq!(flag.name().parse::<Flag>(), Ok(flag));
        }
        let err = "stale".parse::<Flag>().expect_err("unknown");
        assert!(err.to_string().contains("never-used"), "{err}");
    }

    #[test]
    fn a_key_stamped_after_now_is_of_age_zero() {
        let k = key(KeyType::ApiKey, 0, None, None);
        assert_eq!(k.age(NOW - DAY), Some(Duration::ZERO));
        assert_eq!(k.age(NOW + DAY), Some(DAY));
    }
}
