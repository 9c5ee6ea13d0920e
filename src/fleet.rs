//! A fleet: service accounts, their roles and their keys, declared in one manifest
//! ([`Manifest`]) and kept in step with the cloud.

mod apply;
mod keys;
mod locate;
mod manifest;
mod plan;
mod schema;

pub use apply::{Outcome, Phase, Progress, Report, Step};
pub use keys::{KeyAction, KeyChange};
pub use manifest::{
    API_VERSION, AccountSpec, KeyAlgorithm, KeySpec, KeyType, Manifest, ManifestError, RESERVED_LABELS, RoleSpec,
};
pub use plan::{AccountPlan, AccountState, Deletion, MANAGED_BY, Plan};
pub use schema::schema;

impl Manifest {
    /// Reads the cloud and decides what [`Plan::apply`] would change. With `prune`, accounts of
    /// this fleet that the manifest no longer lists are deleted, and roles of its accounts that
    /// it does not list are removed, on the resources the manifest names.
    pub async fn plan(&self, client: &crate::Client, prune: bool) -> Result<Plan, crate::Error> {
        plan::read(self, client, prune).await
    }
}
