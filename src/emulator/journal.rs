//! The journal of calls the emulator received, for tests that assert what a client sent.

use std::fmt;

use http::HeaderMap;
use prost::Message;

/// Request headers whose values are secrets and are masked in `Debug`.
const SECRET_HEADERS: &[&str] = &["authorization"];

/// One call as the emulator received it, before authentication and fault injection.
#[derive(Clone)]
pub struct JournalEntry {
    /// The gRPC method path, e.g. `/yandex.cloud.iam.v1.ServiceAccountService/Create`.
    pub method: String,
    /// The request metadata (HTTP/2 headers), including `authorization` and `idempotency-key`.
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
    pub(crate) body: tonic::codegen::Bytes,
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

/// The message inside a gRPC unary body: one uncompressed frame, or the whole body otherwise.
pub(crate) fn unframe(body: &[u8]) -> Vec<u8> {
    if body.len() >= 5 && body[0] == 0 {
        let len = u32::from_be_bytes([body[1], body[2], body[3], body[4]]) as usize;
        if body.len() == 5 + len {
            return body[5..].to_vec();
        }
    }
    body.to_vec()
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
    fn unframe_strips_one_frame_and_keeps_anything_else() {
        assert_eq!(unframe(&[0, 0, 0, 0, 2, 8, 1]), vec![8, 1]);
        assert_eq!(unframe(&[1, 2, 3]), vec![1, 2, 3]);
    }
}
