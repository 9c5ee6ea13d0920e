//! One handle per API service: ergonomic requests in, model types, operations and streams out.

/// Sends `$request` as `$method` through the generated client's method `$rpc` (of the calling
/// module's `Stub` unless a client is named), and answers with the reply's message. `@reply`
/// answers with the whole reply.
macro_rules! call {
    (@reply $self:ident, $method:expr, $request:expr, $stub:ident :: $rpc:ident) => {
        $self
            .client
            .call(&$method, $request, |ch, r| async move { $stub::new(ch).$rpc(r).await })
            .await
    };
    ($self:ident, $method:expr, $request:expr, $rpc:ident) => {
        call!($self, $method, $request, Stub::$rpc)
    };
    ($self:ident, $method:expr, $request:expr, $stub:ident :: $rpc:ident) => {
        call!(@reply $self, $method, $request, $stub::$rpc).map(tonic::Response::into_inner)
    };
}

/// Sends a mutating `$request` like [`call!`], and answers with the operation it started.
macro_rules! operation {
    ($self:ident, $method:expr, $request:expr, $rpc:ident) => {
        operation!($self, $method, $request, Stub::$rpc)
    };
    ($self:ident, $method:expr, $request:expr, $stub:ident :: $rpc:ident) => {
        call!(@reply $self, $method, $request, $stub::$rpc).map(|reply| Operation::from_reply($self.client.clone(), reply))
    };
}

/// Lists `$request` as `$method` through the generated client's method `$rpc` (of the calling
/// module's `Stub` unless a client is named): a [`Paginator`](crate::Paginator) of the items.
macro_rules! list {
    ($self:ident, $method:expr, $request:expr, $rpc:ident) => {
        list!($self, $method, $request, Stub::$rpc)
    };
    ($self:ident, $method:expr, $request:expr, $stub:ident :: $rpc:ident) => {
        $self
            .client
            .paginate($method, $request, |ch, r| async move { $stub::new(ch).$rpc(r).await })
    };
}

mod access_bindings;
mod account_keys;
mod create_once;
mod key_kinds;
mod lockbox;
mod named;
mod operations;
mod service_accounts;
mod update_mask;

pub use access_bindings::{AccessBindingsOperation, Clouds, Folders};
pub use account_keys::{AccountKey, AccountKeys, CreateAccountKey, UpdateAccountKey};
pub use key_kinds::{
    AccessKeys, ApiKeys, CreateAccessKey, CreateApiKey, CreateKey, CreatedAccessKey, CreatedApiKey, CreatedKey, Keys,
    UpdateAccessKey, UpdateApiKey, UpdateKey,
};
pub use lockbox::{AddVersion, CreateSecret, Lockbox, SecretRef, UpdateSecret};
pub use named::{CreateNamed, UpdateNamed};
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
