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

/// The sink a marker names, as read back from a key's description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Named<'a> {
    /// A key file, by the fingerprint of its absolute path.
    File(u32),
    /// A dotenv file, by the fingerprint of its absolute path.
    Env(u32),
    /// A Kubernetes manifest, by the fingerprint of its absolute path.
    K8s(u32),
    /// A Lockbox secret, by id.
    Lockbox(&'a str),
}

/// The marker that ends `description`, if any: its text and the sink it names.
pub(crate) fn parse(description: &str) -> Option<(&str, Named<'_>)> {
    let start = description.rfind("[yc-iam:")?;
    let text = &description[start..];
    let inner = text.strip_prefix("[yc-iam:")?.strip_suffix(']')?;
    let hex = |h: &str| (h.len() == 8).then(|| u32::from_str_radix(h, 16).ok()).flatten();
    let named = match inner.split_once(':') {
        None => Named::File(hex(inner)?),
        Some(("env", h)) => Named::Env(hex(h)?),
        Some(("k8s", h)) => Named::K8s(hex(h)?),
        Some(("lockbox", id)) if !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric()) => Named::Lockbox(id),
        _ => return None,
    };
    Some((text, named))
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

/// The one spelling of a sink's path, so two spellings of one file give one marker (and, in a
/// fleet manifest, one sink): absolute, its longest existing ancestor resolved (symlinks
/// included), and the `.` and `..` of the rest taken away. The file itself is not resolved: a
/// sink written through a link replaces the link.
pub(crate) fn absolute(path: &Path) -> PathBuf {
    let name = path.file_name().map(ToOwned::to_owned).unwrap_or_default();
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    if let Ok(dir) = std::fs::canonicalize(&parent) {
        return dir.join(name);
    }
    let whole = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let mut lexical = PathBuf::new();
    for part in whole.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                lexical.pop();
            }
            other => lexical.push(other),
        }
    }
    // Resolve the part that exists, then add the rest as written.
    let mut existing = lexical.as_path();
    let mut rest = Vec::new();
    while let Some(up) = existing.parent() {
        rest.push(existing.file_name().map(ToOwned::to_owned).unwrap_or_default());
        existing = up;
        if let Ok(resolved) = std::fs::canonicalize(existing) {
            return rest.iter().rev().fold(resolved, |at, part| at.join(part));
        }
    }
    lexical
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
    fn every_marker_reads_back_as_the_sink_it_names() {
        let path = Path::new("/tmp/a/api-key.yaml");
        let described = |m: String| format!("for CI {m}");
        let description = described(file(path));
        let (text, named) = parse(&description).expect("file");
        assert_eq!((text, named), (file(path).as_str(), Named::File(fingerprint(path))));
        assert_ne!(named, Named::File(fingerprint(Path::new("/tmp/b/api-key.yaml"))));
        assert!(matches!(parse(&described(env(path))), Some((_, Named::Env(_)))));
        assert!(matches!(parse(&described(k8s(path))), Some((_, Named::K8s(_)))));
        let lockbox_marker = lockbox("e6q00000000000000001");
        assert_eq!(
            parse(&described(lockbox_marker.clone())),
            Some((lockbox_marker.as_str(), Named::Lockbox("e6q00000000000000001")))
        );
        for not_a_marker in [
            "hand made",
            "[yc-iam:1234] short",
            "[yc-iam:zzzzzzzz]",
            "[yc-iam:1234abcd] then more",
            "[yc-iam:s3:1234abcd]",
            "[yc-iam:lockbox:]",
            "[yc-iam:lockbox:a/b]",
        ] {
            assert_eq!(parse(not_a_marker), None, "{not_a_marker}");
        }
    }

    #[test]
    fn two_spellings_of_one_path_are_one_path_whether_or_not_its_folder_exists() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::create_dir(root.join("made")).unwrap();
        for folder in ["made", "not-yet/deeper"] {
            let plain = root.join(folder).join("key.json");
            let last = Path::new(folder).file_name().unwrap();
            let roundabout = dir
                .path()
                .join("./x/..")
                .join(folder)
                .join("../.")
                .join(last)
                .join("key.json");
            assert_eq!(absolute(&plain), plain, "{folder}");
            assert_eq!(absolute(&roundabout), plain, "{folder}");
        }
    }

    #[test]
    fn the_key_file_marker_is_the_one_earlier_releases_wrote() {
        // Key files written by earlier releases keep their keys.
        assert_eq!(file(Path::new("/tmp/a/api-key.yaml")), "[yc-iam:49cb6eb7]");
    }
}
