//! One error for everything that can be wrong with configuration, always naming where the bad
//! value came from: a file and the key path inside it, or an environment variable.

use std::path::PathBuf;

/// Configuration that cannot be used. `Display` is one line naming the source (file and key
/// path, or variable) and what is wrong; `source()` chains the underlying I/O or YAML error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A file could not be read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The profile file is not YAML.
    #[error("{}: not valid YAML", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's complaint (carries line and column).
        #[source]
        source: serde_norway::Error,
    },
    /// A value inside the profile file is wrong.
    #[error("{}: {key}: {problem}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Dotted key path, e.g. `profiles.default.service-account-key`.
        key: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The requested profile does not exist.
    #[error("{}: no profile named {name:?} (profiles: {available})", path.display())]
    NoProfile {
        /// The file.
        path: PathBuf,
        /// The profile asked for.
        name: String,
        /// The profiles that exist, comma-separated.
        available: String,
    },
    /// A profile was asked for but there is no profile file.
    #[error("profile {name:?} was requested but {} does not exist", path.display())]
    NoFile {
        /// The file looked for.
        path: PathBuf,
        /// The profile asked for.
        name: String,
    },
    /// An environment variable or flag holds a bad value (never echoes secrets).
    #[error("{origin}: {problem}")]
    Value {
        /// Where the value came from, e.g. `YC_SERVICE_ACCOUNT_KEY_FILE` or `--service-account-key`.
        origin: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A key file named by a flag or variable is not a usable authorized key.
    #[error("{origin} {}: {problem}", path.display())]
    KeyFile {
        /// Where the path came from.
        origin: String,
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
}
