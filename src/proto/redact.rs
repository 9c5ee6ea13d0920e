//! `Debug` for the generated messages that carry secrets: the secret fields are masked, so a
//! request or response logged by mistake leaks nothing.

use std::fmt;

use super::yandex::cloud::iam::v1::{
    CreateApiKeyResponse, CreateIamTokenRequest, CreateIamTokenResponse, create_iam_token_request::Identity,
};

const MASK: &str = "***";

impl fmt::Debug for CreateApiKeyResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreateApiKeyResponse")
            .field("api_key", &self.api_key)
            .field("secret", &MASK)
            .finish()
    }
}

impl fmt::Debug for CreateIamTokenRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let identity = match self.identity {
            Some(Identity::YandexPassportOauthToken(_)) => "YandexPassportOauthToken(***)",
            Some(Identity::Jwt(_)) => "Jwt(***)",
            None => "None",
        };
        f.debug_struct("CreateIamTokenRequest")
            .field("identity", &format_args!("{identity}"))
            .finish()
    }
}

impl fmt::Debug for CreateIamTokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreateIamTokenResponse")
            .field("iam_token", &MASK)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}
