//! Why the emulator could not start.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Why the emulator could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EmulatorError {
    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The TLS certificate or key was rejected.
    #[error("invalid tls certificate or key")]
    Tls(#[source] tonic::transport::Error),
    /// The state file could not be read or parsed.
    #[error("cannot load emulator state from {}", path.display())]
    State {
        /// The state file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A file named on the command line could not be read or parsed.
    #[error("cannot read {}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// An authorized key's public key is not a valid RSA PEM.
    #[error("invalid public key for authorized key {key_id}")]
    AuthorizedKey {
        /// The key id.
        key_id: String,
        /// The cause.
        #[source]
        source: jsonwebtoken::errors::Error,
    },
}
