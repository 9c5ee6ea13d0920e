//! One handle per API service: ergonomic requests in, model types, operations and streams out.

mod access_bindings;
mod access_keys;
mod api_keys;
mod create_once;
mod keys;
mod lockbox;
mod operations;
mod service_accounts;
mod update_mask;

pub use access_bindings::{AccessBindingsOperation, Clouds, Folders};
pub use access_keys::{AccessKeys, CreateAccessKey, CreatedAccessKey, UpdateAccessKey};
pub use api_keys::{ApiKeys, CreateApiKey, CreatedApiKey, UpdateApiKey};
pub use keys::{CreateKey, CreatedKey, Keys, UpdateKey};
pub use lockbox::{AddVersion, CreateSecret, Lockbox, SecretRef, UpdateSecret};
pub(crate) use operations::GET_OPERATION;
pub use operations::Operations;
pub use service_accounts::{CreateServiceAccount, ServiceAccounts, UpdateServiceAccount};

/// Turns `(key, value)` pairs into a proto label map.
fn label_map<K, V>(labels: impl IntoIterator<Item = (K, V)>) -> std::collections::BTreeMap<String, String>
where
    K: Into<String>,
    V: Into<String>,
{
    labels.into_iter().map(|(k, v)| (k.into(), v.into())).collect()
}
