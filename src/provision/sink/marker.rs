//! The marker a key carries at the end of its description: it names the sink the key was made
//! for, so a later run finds the keys an interrupted run made for the same sink (and only those).
//!
//! | sink | marker |
//! |---|---|
//! | key file | `[yc-iam:<fnv32 of the absolute path>]` (unchanged since the first release) |
//! | dotenv file | `[yc-iam:env:<fnv32 of the absolute path>]` |
//! | Kubernetes manifest | `[yc-iam:k8s:<fnv32 of the absolute path>]` |
//! | Lockbox secret | `[yc-iam:lockbox:<secret id>]` |
//!
//! The kind comes first so that a reader of the description can tell which sink holds the key;
//! a Lockbox marker names its secret outright, since the secret can be found from anywhere.

use std::path::{Path, PathBuf};

/// The marker of a key file at `path`.
pub(crate) fn file(path: &Path) -> String {
    format!("[yc-iam:{:08x}]", fingerprint(path))
}

/// The marker of a dotenv file at `path`.
pub(crate) fn env(path: &Path) -> String {
    format!("[yc-iam:env:{:08x}]", fingerprint(path))
}

/// The marker of a Kubernetes manifest at `path`.
pub(crate) fn k8s(path: &Path) -> String {
    format!("[yc-iam:k8s:{:08x}]", fingerprint(path))
}

/// The marker of the Lockbox secret `secret_id`.
pub(crate) fn lockbox(secret_id: &str) -> String {
    format!("[yc-iam:lockbox:{secret_id}]")
}

/// The longest marker of each kind, with the space before it: what a key description must
/// leave room for. Lockbox ids are 20 characters.
pub(crate) const FILE_LEN: usize = " [yc-iam:00000000]".len();
pub(crate) const PATH_KIND_LEN: usize = " [yc-iam:env:00000000]".len();
pub(crate) const LOCKBOX_LEN: usize = " [yc-iam:lockbox:e6q00000000000000000]".len();

/// FNV-1a of the absolute path: stable across Rust versions and platforms, unlike
/// `DefaultHasher`.
fn fingerprint(path: &Path) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in absolute(path).to_string_lossy().as_bytes() {
        hash ^= u32::from(*byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash
}

/// The path with its directory resolved (symlinks included), so two spellings of one file give
/// one marker.
pub(crate) fn absolute(path: &Path) -> PathBuf {
    let name = path.file_name().map(ToOwned::to_owned).unwrap_or_default();
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    match std::fs::canonicalize(&parent) {
        Ok(dir) => dir.join(name),
        Err(_) => std::path::absolute(path).unwrap_or_else(|_| path.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_name_the_sink_and_fit_their_length() {
        let a = file(Path::new("/tmp/a/api-key.yaml"));
        let b = file(Path::new("/tmp/b/api-key.yaml"));
        assert_ne!(a, b);
        assert_eq!(a.len() + 1, FILE_LEN);
        let e = env(Path::new("/tmp/a/api-key.yaml"));
        assert_eq!(e.len() + 1, PATH_KIND_LEN);
        assert_ne!(e, k8s(Path::new("/tmp/a/api-key.yaml")));
        assert_eq!(lockbox("e6q00000000000000001").len() + 1, LOCKBOX_LEN);
    }

    #[test]
    fn the_key_file_marker_is_the_one_earlier_releases_wrote() {
        // Key files written by earlier releases keep their keys.
        assert_eq!(file(Path::new("/tmp/a/api-key.yaml")), "[yc-iam:49cb6eb7]");
    }
}
