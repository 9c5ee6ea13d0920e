//! A fleet: service accounts, their roles and their keys, declared in one manifest
//! ([`Manifest`]) and kept in step with the cloud.

mod locate;
mod manifest;
mod schema;

pub use manifest::{
    API_VERSION, AccountSpec, KeyAlgorithm, KeySpec, KeyType, Manifest, ManifestError, RESERVED_LABELS, Resource,
    RoleSpec,
};
pub use schema::schema;
