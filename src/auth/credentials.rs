//! The one credentials type: cheap to clone, its secrets never shown.

use std::{fmt, path::Path, sync::Arc};

use secrecy::SecretString;

use super::key_file::AuthorizedKey;
use crate::Error;

/// The environment variable that overrides the address of the instance metadata service.
pub(crate) const METADATA_ADDR_ENV: &str = "YC_METADATA_ADDR";
/// The address of the compute-instance metadata service.
pub(crate) const DEFAULT_METADATA_ADDR: &str = "169.254.169.254:80";

/// How the client authenticates: a static IAM token, an OAuth token, a service-account authorized
/// key, the compute-instance metadata service, or an API key.
///
/// Cheap to clone (shared); `Debug` shows the kind, never the secret.
///
/// ```
/// let creds = yc_iam::Credentials::iam_token("t1.secret");
/// assert_eq!(format!("{creds:?}"), "Credentials::IamToken(***)");
/// ```
#[derive(Clone)]
pub struct Credentials {
    kind: Arc<Kind>,
}

pub(crate) enum Kind {
    None,
    IamToken(SecretString),
    OAuth(SecretString),
    AuthorizedKey(AuthorizedKey),
    Metadata { addr: String },
    ApiKey(SecretString),
}

impl Credentials {
    fn from_kind(kind: Kind) -> Self {
        Credentials { kind: Arc::new(kind) }
    }

    /// No credentials: calls go without `authorization` (useful only against an emulator that
    /// does not check).
    pub fn none() -> Self {
        Credentials::from_kind(Kind::None)
    }

    /// A static IAM token, sent as `authorization: Bearer <token>`; it is never refreshed.
    pub fn iam_token(token: impl Into<String>) -> Self {
        Credentials::from_kind(Kind::IamToken(SecretString::from(token.into())))
    }

    /// A Yandex OAuth token, exchanged for IAM tokens with `IamTokenService.Create`.
    pub fn oauth_token(token: impl Into<String>) -> Self {
        Credentials::from_kind(Kind::OAuth(SecretString::from(token.into())))
    }

    /// A service-account authorized key: a PS256 JWT signed with it is exchanged for IAM tokens.
    pub fn authorized_key(key: AuthorizedKey) -> Self {
        Credentials::from_kind(Kind::AuthorizedKey(key))
    }

    /// An authorized key file's JSON text (`yc iam key create` output).
    pub fn from_json(json: &str) -> Result<Self, Error> {
        AuthorizedKey::from_json(json).map(Credentials::authorized_key)
    }

    /// An authorized key file (`yc iam key create --output key.json`).
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, Error> {
        AuthorizedKey::from_file(path).map(Credentials::authorized_key)
    }

    /// The compute-instance metadata service (the service account attached to the VM). The
    /// address is `169.254.169.254`, or `YC_METADATA_ADDR` when set (read now).
    pub fn metadata_service() -> Self {
        let addr = std::env::var(METADATA_ADDR_ENV)
            .ok()
            .filter(|a| !a.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_METADATA_ADDR.to_owned());
        Credentials::metadata_service_at(addr)
    }

    /// The metadata service at a given `host:port` (or `http://host:port`).
    pub fn metadata_service_at(addr: impl Into<String>) -> Self {
        Credentials::from_kind(Kind::Metadata { addr: addr.into() })
    }

    /// An API key secret, sent as `authorization: Api-Key <secret>`.
    pub fn api_key(secret: impl Into<String>) -> Self {
        Credentials::from_kind(Kind::ApiKey(SecretString::from(secret.into())))
    }

    pub(crate) fn kind(&self) -> &Kind {
        &self.kind
    }

    /// True when the credentials yield IAM tokens that are obtained and cached.
    pub(crate) fn exchanges_tokens(&self) -> bool {
        matches!(
            *self.kind,
            Kind::OAuth(_) | Kind::AuthorizedKey(_) | Kind::Metadata { .. }
        )
    }
}

impl Default for Credentials {
    fn default() -> Self {
        Credentials::none()
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &*self.kind {
            Kind::None => f.write_str("Credentials::None"),
            Kind::IamToken(_) => f.write_str("Credentials::IamToken(***)"),
            Kind::OAuth(_) => f.write_str("Credentials::OAuth(***)"),
            Kind::AuthorizedKey(key) => write!(f, "Credentials::AuthorizedKey({key:?})"),
            Kind::Metadata { addr } => write!(f, "Credentials::MetadataService({addr})"),
            Kind::ApiKey(_) => f.write_str("Credentials::ApiKey(***)"),
        }
    }
}
