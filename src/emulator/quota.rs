//! The cloud's quotas on what it may hold: a create beyond one is refused with
//! RESOURCE_EXHAUSTED and makes nothing, as in Yandex Cloud. Their values are configuration, not
//! state: the real cloud raises a quota on request, the emulator through
//! [`EmulatorBuilder::with_quota`](super::EmulatorBuilder::with_quota).

use tonic::{Code, Status};

use super::errors::with_details;
use super::state::State;

/// A quota of Yandex Cloud that the emulator enforces, per cloud.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Quota {
    /// Service accounts in one cloud (default 100).
    ServiceAccountsPerCloud,
    /// API keys that are not deleted, of the service accounts of one cloud (default 1,000).
    ApiKeysPerCloud,
}

impl Quota {
    /// The value Yandex Cloud gives a cloud until the quota is raised.
    pub const fn default_limit(self) -> u64 {
        match self {
            Quota::ServiceAccountsPerCloud => 100,
            Quota::ApiKeysPerCloud => 1_000,
        }
    }

    /// What the quota counts, in the plural ("service accounts").
    fn noun(self) -> &'static str {
        match self {
            Quota::ServiceAccountsPerCloud => "service accounts",
            Quota::ApiKeysPerCloud => "API keys",
        }
    }

    /// How many the cloud holds now.
    fn used(self, state: &State, cloud_id: &str) -> usize {
        match self {
            Quota::ServiceAccountsPerCloud => state.accounts_in_cloud(cloud_id),
            Quota::ApiKeysPerCloud => state.live_api_keys_in_cloud(cloud_id),
        }
    }
}

/// The value of every quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Quotas {
    service_accounts: u64,
    api_keys: u64,
}

impl Default for Quotas {
    fn default() -> Self {
        Quotas {
            service_accounts: Quota::ServiceAccountsPerCloud.default_limit(),
            api_keys: Quota::ApiKeysPerCloud.default_limit(),
        }
    }
}

impl Quotas {
    pub(crate) fn set(&mut self, quota: Quota, limit: u64) {
        match quota {
            Quota::ServiceAccountsPerCloud => self.service_accounts = limit,
            Quota::ApiKeysPerCloud => self.api_keys = limit,
        }
    }

    pub(crate) fn get(&self, quota: Quota) -> u64 {
        match quota {
            Quota::ServiceAccountsPerCloud => self.service_accounts,
            Quota::ApiKeysPerCloud => self.api_keys,
        }
    }

    /// RESOURCE_EXHAUSTED, naming the quota and the cloud, when the cloud of `folder_id` holds as
    /// many as `quota` allows, so one more may not be made.
    pub(crate) fn check_room(&self, quota: Quota, state: &State, folder_id: &str) -> Result<(), Status> {
        let cloud_id = state.cloud_of(folder_id);
        let limit = self.get(quota);
        let used = quota.used(state, cloud_id) as u64;
        if used < limit {
            return Ok(());
        }
        // No RetryInfo: the quota stays exhausted until something is deleted or it is raised.
        Err(with_details(
            Code::ResourceExhausted,
            format!(
                "Quota exceeded: the quota of {noun} per cloud is {limit} and cloud {cloud_id} has {used}; \
                 delete some or have the quota raised",
                noun = quota.noun()
            ),
            Vec::new(),
        ))
    }
}
