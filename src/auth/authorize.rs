//! The `authorization` each call carries: static tokens and API keys as they are, exchanged IAM
//! tokens from the client's cache, and the exchanges themselves (OAuth token or signed JWT via
//! `IamTokenService.Create`, or the metadata service).

use std::sync::Arc;

use futures_util::future::BoxFuture;
use secrecy::{ExposeSecret as _, SecretString, zeroize::Zeroize};
use tonic::metadata::AsciiMetadataValue;

use super::{
    AUDIENCE, CredentialsKind, fetch_metadata_token,
    token_cache::{Fetched, Token},
};
use crate::{
    Client, Error, ErrorKind,
    client::{Method, ServiceId},
    proto::yandex::cloud::iam::v1::{
        CreateIamTokenRequest, create_iam_token_request::Identity, iam_token_service_client::IamTokenServiceClient,
    },
};

const CREATE_IAM_TOKEN: Method =
    Method::read(ServiceId::Iam, "cannot exchange credentials for an IAM token").without_auth();

impl Client {
    /// The `authorization` value for the configured credentials, if any.
    pub(crate) async fn authorization(&self) -> Result<Option<AsciiMetadataValue>, Error> {
        match self.authorization_at_hand() {
            Some(authorization) => Ok(authorization),
            None => Ok(Some(self.cached_iam_token().await?.authorization)),
        }
    }

    /// The `authorization` value when it is at hand: static credentials, or a cached token not
    /// yet due for a refresh. `None` when the call must wait for an exchange first.
    pub(crate) fn authorization_at_hand(&self) -> Option<Option<AsciiMetadataValue>> {
        match self.credentials().kind() {
            CredentialsKind::None => Some(None),
            // Built once, when the client was built.
            CredentialsKind::ApiKey(_) | CredentialsKind::IamToken(_) => Some(self.static_authorization().cloned()),
            _ => self.tokens().fresh().map(Some),
        }
    }

    /// The `authorization` value to send now, without waiting for an exchange (for an
    /// interceptor, which cannot wait). A token due for refresh is used while a new one is
    /// obtained in the background; without a valid token the call fails and an exchange starts.
    pub(crate) fn authorization_now(&self) -> Result<Option<AsciiMetadataValue>, Error> {
        match self.credentials().kind() {
            CredentialsKind::None => Ok(None),
            CredentialsKind::ApiKey(_) | CredentialsKind::IamToken(_) => Ok(self.static_authorization().cloned()),
            _ => match self.tokens().at_once(self.exchange_on_its_own()) {
                Some(token) => Ok(Some(token.authorization)),
                None => Err(self.tokens().last_failure().unwrap_or_else(|| {
                    Error::new(
                        ErrorKind::Unavailable,
                        "cannot authorize the call",
                        "no valid IAM token yet; one is being obtained",
                    )
                })),
            },
        }
    }

    /// The server refused the `authorization` a call carried (`UNAUTHENTICATED`): unless a newer
    /// token replaced it meanwhile, the next call obtains a new one. Static credentials have
    /// nothing to renew.
    pub(crate) fn token_refused(&self, refused: &AsciiMetadataValue) {
        if self.credentials().exchanges_tokens() {
            self.tokens().invalidate(refused);
        }
    }

    async fn cached_iam_token(&self) -> Result<Token, Error> {
        self.tokens().get(self.exchange_on_its_own()).await
    }

    /// The exchange as the token cache runs it: on a task of its own, holding a clone of the
    /// client, so that it ends however many of the calls waiting for it give up.
    fn exchange_on_its_own(&self) -> impl FnOnce() -> BoxFuture<'static, Result<Fetched, Error>> {
        let client = self.clone();
        move || Box::pin(async move { client.exchange().await })
    }

    /// An IAM token for the configured credentials (for `yc-iam create-token`): the static token,
    /// or one from the cache, exchanged when needed. API keys have none.
    pub async fn iam_token(&self) -> Result<SecretString, Error> {
        match self.credentials().kind() {
            CredentialsKind::IamToken(token) => Ok(token.clone()),
            CredentialsKind::None => Err(Error::credentials("no credentials are configured")),
            CredentialsKind::ApiKey(_) => Err(Error::credentials("an API key cannot be turned into an IAM token")),
            _ => Ok(SecretString::clone(&self.cached_iam_token().await?.secret)),
        }
    }

    /// Obtains a new IAM token from the credentials. Boxed: the exchange is itself a call.
    fn exchange(&self) -> BoxFuture<'_, Result<Fetched, Error>> {
        Box::pin(async move {
            let identity = match self.credentials().kind() {
                CredentialsKind::OAuth(token) => Identity::YandexPassportOauthToken(token.expose_secret().to_owned()),
                CredentialsKind::AuthorizedKey(key) => {
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.as_secs() as i64)
                        .unwrap_or_default();
                    Identity::Jwt(key.jwt(AUDIENCE, now)?.expose_secret().to_owned())
                }
                CredentialsKind::Metadata { addr } => {
                    let (token, lifetime) = fetch_metadata_token(addr).await?;
                    return Ok(Fetched {
                        token: bearer(token)?,
                        lifetime,
                    });
                }
                _ => return Err(Error::credentials("these credentials do not exchange tokens")),
            };
            let request = CreateIamTokenRequest {
                identity: Some(identity),
            };
            let mut reply = self
                .call(&CREATE_IAM_TOKEN, request, |ch, req| async move {
                    IamTokenServiceClient::new(ch).create(req).await
                })
                .await
                .map_err(into_credentials_error)?
                .into_inner();
            let token = crate::secret::take(&mut reply.iam_token);
            let lifetime = reply
                .expires_at
                .and_then(|ts| std::time::SystemTime::try_from(ts).ok())
                .and_then(|at| at.duration_since(std::time::SystemTime::now()).ok())
                .unwrap_or_default();
            Ok(Fetched {
                token: bearer(token)?,
                lifetime,
            })
        })
    }
}

/// A failed exchange is a credentials problem for the call that needed the token: it is not
/// retried again by that call (the exchange had its own retries).
fn into_credentials_error(err: Error) -> Error {
    match err.kind() {
        ErrorKind::Unauthenticated | ErrorKind::PermissionDenied | ErrorKind::InvalidArgument => err,
        _ => {
            let mut e = Error::credentials(err.to_string());
            if let Some(id) = err.client_request_id() {
                e.set_client_request_id(id);
            }
            e.with_source(err)
        }
    }
}

/// The `authorization` value of static credentials (an IAM token or an API key), if they are.
pub(crate) fn static_authorization(credentials: &crate::Credentials) -> Result<Option<AsciiMetadataValue>, Error> {
    match credentials.kind() {
        CredentialsKind::ApiKey(secret) => header_value(format!("Api-Key {}", secret.expose_secret())).map(Some),
        CredentialsKind::IamToken(token) => header_value(format!("Bearer {}", token.expose_secret())).map(Some),
        _ => Ok(None),
    }
}

/// The token and its `Bearer` header value.
fn bearer(token: SecretString) -> Result<Token, Error> {
    let authorization = header_value(format!("Bearer {}", token.expose_secret()))?;
    Ok(Token {
        secret: Arc::new(token),
        authorization,
    })
}

/// The exchange's request carries the OAuth token or the signed JWT, and the call path sends a
/// copy of it per attempt: each copy is cleared when it is dropped (after tonic encoded it).
impl Drop for CreateIamTokenRequest {
    fn drop(&mut self) {
        self.zeroize();
    }
}

impl Zeroize for CreateIamTokenRequest {
    fn zeroize(&mut self) {
        if let Some(Identity::YandexPassportOauthToken(credential) | Identity::Jwt(credential)) = &mut self.identity {
            credential.zeroize();
        }
    }
}

/// A sensitive header value (never indexed by HPACK, masked in `Debug`).
fn header_value(text: String) -> Result<AsciiMetadataValue, Error> {
    let mut value = AsciiMetadataValue::try_from(text)
        .map_err(|_| Error::credentials("the credentials contain characters not allowed in a header"))?;
    value.set_sensitive(true);
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Client, Credentials, emulator::Emulator};

    #[test]
    fn a_token_request_clears_the_credential_it_carries() {
        for identity in [
            Identity::YandexPassportOauthToken("y0_secret".into()),
            Identity::Jwt("eyJsecret".into()),
        ] {
            let mut request = CreateIamTokenRequest {
                identity: Some(identity),
            };
            request.zeroize();
            let Some(Identity::YandexPassportOauthToken(left) | Identity::Jwt(left)) = &request.identity else {
                panic!("the identity's kind stays");
            };
            assert_eq!(left, "");
        }
    }

    #[tokio::test]
    async fn an_exchanged_token_is_put_in_a_header_once_not_once_per_call() {
        let emu = Emulator::builder()
            .with_oauth_token("y0_header-test")
            .start()
            .await
            .expect("the emulator starts");
        let client = Client::builder()
            .with_endpoint(emu.endpoint())
            .with_credentials(Credentials::oauth_token("y0_header-test"))
            .build()
            .expect("client builds");
        let first = client.authorization().await.expect("a token").expect("a header");
        let second = client.authorization().await.expect("a token").expect("a header");
        assert_eq!(first, second);
        // Each call shares the one header buffer: no new plain copy of the token per call.
        assert_eq!(first.as_encoded_bytes().as_ptr(), second.as_encoded_bytes().as_ptr());
    }
}
