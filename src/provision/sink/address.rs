//! How a sink is written as text (`--output`, a manifest key's `output`): a file path,
//! `env:PATH`, `k8s:PATH`, `lockbox://NAME` (or ID) or `-`.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// A sink as the user names it, before the options that go with each kind (entry names,
/// readers) make it a [`KeySink`](super::KeySink).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SinkAddress {
    /// A file in the key kind's own format.
    File(PathBuf),
    /// `env:PATH`: a dotenv file.
    Env(PathBuf),
    /// `k8s:PATH`: a Kubernetes `v1/Secret` manifest.
    K8s(PathBuf),
    /// `lockbox://NAME` or `lockbox://ID`.
    Lockbox(String),
    /// `-`: standard output.
    Stdout,
}

/// Text that names no sink, with the reason as one phrase.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidSinkAddress(String);

impl FromStr for SinkAddress {
    type Err = InvalidSinkAddress;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let fail = |reason: &str| Err(InvalidSinkAddress(reason.to_owned()));
        let path = |rest: &str, kind: &str| {
            if rest.is_empty() {
                Err(InvalidSinkAddress(format!("{kind} needs a file path after it")))
            } else {
                Ok(PathBuf::from(rest))
            }
        };
        if text == "-" {
            Ok(SinkAddress::Stdout)
        } else if let Some(rest) = text.strip_prefix("lockbox://") {
            if rest.is_empty() {
                return fail("lockbox:// needs a secret name or id after it");
            }
            Ok(SinkAddress::Lockbox(rest.to_owned()))
        } else if text.starts_with("lockbox:") {
            fail("a Lockbox output is lockbox://NAME or lockbox://ID")
        } else if let Some(rest) = text.strip_prefix("env:") {
            path(rest, "env:").map(SinkAddress::Env)
        } else if let Some(rest) = text.strip_prefix("k8s:") {
            path(rest, "k8s:").map(SinkAddress::K8s)
        } else if text.is_empty() {
            fail("expected a file path, env:PATH, k8s:PATH, lockbox://NAME or -")
        } else {
            Ok(SinkAddress::File(PathBuf::from(text)))
        }
    }
}

impl fmt::Display for SinkAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SinkAddress::File(path) => write!(f, "{}", path.display()),
            SinkAddress::Env(path) => write!(f, "env:{}", path.display()),
            SinkAddress::K8s(path) => write!(f, "k8s:{}", path.display()),
            SinkAddress::Lockbox(name) => write!(f, "lockbox://{name}"),
            SinkAddress::Stdout => f.write_str("-"),
        }
    }
}

impl From<SinkAddress> for super::KeySink {
    /// The sink with its default entry names, no readers, and Yandex's pending period.
    fn from(address: SinkAddress) -> Self {
        use super::{EntryNames, KeySink, LockboxSink};
        match address {
            SinkAddress::File(path) => KeySink::File(path),
            SinkAddress::Env(path) => KeySink::Env {
                path,
                entries: EntryNames::env(),
            },
            SinkAddress::K8s(path) => KeySink::K8s {
                path,
                secret_name: None,
                entries: EntryNames::env(),
            },
            SinkAddress::Lockbox(name_or_id) => KeySink::Lockbox(LockboxSink::new(name_or_id)),
            SinkAddress::Stdout => KeySink::Caller,
        }
    }
}
