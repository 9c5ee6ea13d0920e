//! The journal of calls the emulator received, for tests that assert what a client sent. No
//! credential is kept: the `authorization` header is recorded as its scheme and a fingerprint, an
//! `IamTokenService.Create` request with its JWT or OAuth token masked, and requests that carry
//! Lockbox payload values with every value masked.

use std::fmt;

use http::HeaderMap;
use prost::Message;
use tonic::codegen::Bytes;

use super::state::sha256_hex;
use crate::proto::yandex::cloud::iam::v1::{CreateIamTokenRequest, create_iam_token_request::Identity};
use crate::proto::yandex::cloud::lockbox::v1::{
    AddVersionRequest, CreateSecretRequest, PayloadEntryChange, payload_entry_change,
};

/// Request headers whose values are secrets and are masked in `Debug`.
const SECRET_HEADERS: &[&str] = &["authorization"];

/// How many hex digits of a credential's SHA-256 the journal keeps: enough to tell the
/// credentials of one test apart, far too few to stand for the credential.
const FINGERPRINT_LEN: usize = 8;

/// One call as the emulator received it, before authentication and fault injection.
#[derive(Clone)]
pub struct JournalEntry {
    /// The gRPC method path, e.g. `/yandex.cloud.iam.v1.ServiceAccountService/Create`.
    pub method: String,
    /// The request metadata (HTTP/2 headers), including `idempotency-key`; `authorization` holds
    /// its scheme and a fingerprint of the credential (`Bearer ***1a2b3c4d`), never the credential.
    pub metadata: HeaderMap,
    /// The encoded request message (without gRPC framing; the raw body if it was not one frame).
    pub request: Vec<u8>,
}

impl JournalEntry {
    /// Decodes the request as message type `M`.
    ///
    /// # Errors
    /// When the bytes are not a valid `M`.
    pub fn decode<M: Message + Default>(&self) -> Result<M, prost::DecodeError> {
        M::decode(self.request.as_slice())
    }

    /// The value of one metadata key, if present and text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.metadata.get(name).and_then(|v| v.to_str().ok())
    }

    /// Whether the call's `authorization` header was `value` (`Bearer t1.…`, `Api-Key AQVN…`), as
    /// far as the scheme and the fingerprint the journal keeps can tell.
    pub fn sent_authorization(&self, value: &str) -> bool {
        self.header(http::header::AUTHORIZATION.as_str()) == Some(masked_authorization(value).as_str())
    }
}

/// An `authorization` value as the journal keeps it: the scheme, then `***` and the first
/// [`FINGERPRINT_LEN`] hex digits of the credential's SHA-256.
fn masked_authorization(value: &str) -> String {
    let (scheme, credential) = value.split_once(' ').unwrap_or(("", value));
    let mut fingerprint = sha256_hex(credential.trim().as_bytes());
    fingerprint.truncate(FINGERPRINT_LEN);
    if scheme.is_empty() {
        format!("{MASK}{fingerprint}")
    } else {
        format!("{scheme} {MASK}{fingerprint}")
    }
}

/// The request headers to journal: all of them, with `authorization` masked.
pub(crate) fn journaled_headers(headers: &HeaderMap) -> HeaderMap {
    let mut kept = headers.clone();
    if let Some(value) = headers.get(http::header::AUTHORIZATION) {
        let text = value.to_str().unwrap_or_default();
        let masked = http::HeaderValue::from_str(&masked_authorization(text))
            .unwrap_or_else(|_| http::HeaderValue::from_static(MASK));
        kept.insert(http::header::AUTHORIZATION, masked);
    }
    kept
}

impl fmt::Debug for JournalEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let metadata: Vec<(&str, &str)> = self
            .metadata
            .iter()
            .map(|(k, v)| {
                let value = if SECRET_HEADERS.contains(&k.as_str()) {
                    "***"
                } else {
                    v.to_str().unwrap_or("<binary>")
                };
                (k.as_str(), value)
            })
            .collect();
        f.debug_struct("JournalEntry")
            .field("method", &self.method)
            .field("metadata", &metadata)
            .field("request_len", &self.request.len())
            .finish()
    }
}

/// A call as the layer records it: shares the request's header values and body, and becomes a
/// [`JournalEntry`] only when the journal is read.
#[derive(Clone)]
pub(crate) struct Recorded {
    pub(crate) uri: http::Uri,
    pub(crate) metadata: HeaderMap,
    pub(crate) body: Bytes,
}

impl Recorded {
    pub(crate) fn entry(&self) -> JournalEntry {
        JournalEntry {
            method: self.uri.path().to_owned(),
            metadata: self.metadata.clone(),
            request: unframe(&self.body),
        }
    }
}

/// What text and binary payload values read as in the journal.
pub(crate) const MASK: &str = "***";

/// The body to journal for a call of `method`: the body itself, or for a request that carries a
/// credential or payload values, the request with each of them replaced by [`MASK`] (and nothing
/// at all when it cannot be decoded, since its bytes may hold a secret in clear).
pub(crate) fn journaled_body(method: &str, body: &Bytes) -> Bytes {
    match method {
        "/yandex.cloud.iam.v1.IamTokenService/Create" => masked::<CreateIamTokenRequest>(body, |m| {
            // In place: the decoded credential is cleared, not just dropped.
            if let Some(Identity::Jwt(credential) | Identity::YandexPassportOauthToken(credential)) = &mut m.identity {
                secrecy::zeroize::Zeroize::zeroize(credential);
                credential.push_str(MASK);
            }
        }),
        "/yandex.cloud.lockbox.v1.SecretService/Create" => {
            masked::<CreateSecretRequest>(body, |m| mask_values(&mut m.version_payload_entries))
        }
        "/yandex.cloud.lockbox.v1.SecretService/AddVersion" => {
            masked::<AddVersionRequest>(body, |m| mask_values(&mut m.payload_entries))
        }
        _ => body.clone(),
    }
}

fn mask_values(entries: &mut [PayloadEntryChange]) {
    for entry in entries {
        entry.value = entry.value.as_ref().map(|value| match value {
            payload_entry_change::Value::TextValue(_) => payload_entry_change::Value::TextValue(MASK.to_owned()),
            payload_entry_change::Value::BinaryValue(_) => {
                payload_entry_change::Value::BinaryValue(MASK.as_bytes().to_vec())
            }
        });
    }
}

/// The body's one message with `mask` applied, framed again.
fn masked<M: Message + Default>(body: &[u8], mask: fn(&mut M)) -> Bytes {
    let Some(mut message) = one_frame(body).and_then(|m| M::decode(m).ok()) else {
        return Bytes::new();
    };
    mask(&mut message);
    let encoded = message.encode_to_vec();
    let mut framed = Vec::with_capacity(5 + encoded.len());
    framed.push(0);
    framed.extend_from_slice(&u32::try_from(encoded.len()).unwrap_or(u32::MAX).to_be_bytes());
    framed.extend_from_slice(&encoded);
    Bytes::from(framed)
}

/// The message of a body that is exactly one uncompressed gRPC frame.
fn one_frame(body: &[u8]) -> Option<&[u8]> {
    let (prefix, message) = body.split_at_checked(5)?;
    let len = u32::from_be_bytes([prefix[1], prefix[2], prefix[3], prefix[4]]) as usize;
    (prefix[0] == 0 && message.len() == len).then_some(message)
}

/// The message inside a gRPC unary body: one uncompressed frame, or the whole body otherwise.
pub(crate) fn unframe(body: &[u8]) -> Vec<u8> {
    one_frame(body).unwrap_or(body).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_masks_the_authorization_header() {
        let mut metadata = HeaderMap::new();
        metadata.insert("authorization", "Bearer t1.secret".parse().expect("header"));
        let entry = JournalEntry {
            method: "/x".into(),
            metadata,
            request: vec![],
        };
        let shown = format!("{entry:?}");
        assert!(!shown.contains("t1.secret"), "{shown}");
    }

    #[test]
    fn payload_values_are_masked_and_undecodable_bodies_are_dropped() {
        let request = AddVersionRequest {
            secret_id: "e6qsecret00000000001".into(),
            payload_entries: vec![
                PayloadEntryChange {
                    key: "text".into(),
                    value: Some(payload_entry_change::Value::TextValue("AQVNclear".into())),
                },
                PayloadEntryChange {
                    key: "binary".into(),
                    value: Some(payload_entry_change::Value::BinaryValue(b"clear bytes".to_vec())),
                },
            ],
            ..Default::default()
        };
        let encoded = request.encode_to_vec();
        let mut body = vec![0];
        body.extend_from_slice(&(encoded.len() as u32).to_be_bytes());
        body.extend_from_slice(&encoded);
        let method = "/yandex.cloud.lockbox.v1.SecretService/AddVersion";
        let kept = unframe(&journaled_body(method, &Bytes::from(body.clone())));
        let masked = AddVersionRequest::decode(kept.as_slice()).expect("decodes");
        assert_eq!(masked.secret_id, request.secret_id);
        let values: Vec<_> = masked.payload_entries.iter().map(|e| e.value.clone()).collect();
        assert_eq!(
            values,
            [
                Some(payload_entry_change::Value::TextValue(MASK.into())),
                Some(payload_entry_change::Value::BinaryValue(MASK.as_bytes().to_vec())),
            ]
        );
        // A compressed frame (flag 1) cannot be read here, so none of it is kept.
        body[0] = 1;
        assert!(journaled_body(method, &Bytes::from(body)).is_empty());
    }

    #[test]
    fn unframe_strips_one_frame_and_keeps_anything_else() {
        assert_eq!(unframe(&[0, 0, 0, 0, 2, 8, 1]), vec![8, 1]);
        assert_eq!(unframe(&[1, 2, 3]), vec![1, 2, 3]);
    }
}
