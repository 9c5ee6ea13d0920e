//! Who the client is: the credential kinds, the IAM-token cache, and the `authorization` value
//! each call carries.
//!
//! Static IAM tokens and API keys go out as they are. OAuth tokens, authorized keys and the
//! instance metadata service yield IAM tokens that expire; those go through one
//! [`TokenCache`](token_cache::TokenCache) per client, which refreshes them ahead of expiry with
//! one exchange at a time however many calls wait. [`AuthLayer`] and [`AuthInterceptor`] put
//! the same credentials on any other tonic stub.

mod authorize;
mod credentials;
mod key_file;
mod layer;
mod metadata;
pub(crate) mod token_cache;

pub use credentials::Credentials;
pub use key_file::AuthorizedKey;
pub use layer::{AuthInterceptor, AuthLayer, AuthService, ResponseFuture};

pub(crate) use authorize::static_authorization;
pub(crate) use credentials::Kind as CredentialsKind;
use key_file::AUDIENCE;
use metadata::fetch_token as fetch_metadata_token;
