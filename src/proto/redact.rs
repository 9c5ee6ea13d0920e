//! `Debug` for the generated messages that carry secrets: the secret fields are masked, so a
//! request or response logged by mistake leaks nothing. What stays visible is what names the
//! secret (ids, entry keys), never its value.

use std::{collections::BTreeMap, fmt};

use super::yandex::cloud::{
    iam::v1::{
        CreateApiKeyResponse, CreateIamTokenRequest, CreateIamTokenResponse, CreateKeyResponse,
        awscompatibility::CreateAccessKeyResponse, create_iam_token_request::Identity,
    },
    lockbox::v1::{GetExResponse, PayloadEntryChange, payload, payload_entry_change},
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

impl fmt::Debug for CreateKeyResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreateKeyResponse")
            .field("key", &self.key)
            .field("private_key", &MASK)
            .finish()
    }
}

impl fmt::Debug for CreateAccessKeyResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreateAccessKeyResponse")
            .field("access_key", &self.access_key)
            .field("secret", &MASK)
            .finish()
    }
}

/// Which kind of value an entry holds, never the value.
fn kind(text: bool) -> &'static str {
    if text { "TextValue(***)" } else { "BinaryValue(***)" }
}

impl fmt::Debug for payload::entry::Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(kind(matches!(self, Self::TextValue(_))))
    }
}

impl fmt::Debug for payload::Entry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("key", &self.key)
            .field("value", &self.value)
            .finish()
    }
}

impl fmt::Debug for payload_entry_change::Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(kind(matches!(self, Self::TextValue(_))))
    }
}

impl fmt::Debug for PayloadEntryChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PayloadEntryChange")
            .field("key", &self.key)
            .field("value", &self.value)
            .finish()
    }
}

impl fmt::Debug for GetExResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The entry keys name what the secret holds; the values are the secret.
        let entries: BTreeMap<&str, &str> = self.entries.keys().map(|key| (key.as_str(), MASK)).collect();
        f.debug_struct("GetExResponse")
            .field("secret_id", &self.secret_id)
            .field("version_id", &self.version_id)
            .field("entries", &entries)
            .finish()
    }
}
