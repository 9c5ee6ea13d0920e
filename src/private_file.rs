//! Files that hold secrets (the API-key file, the emulator's state file), written so that a
//! reader sees the old file or the whole new one and nobody but the owner can read either. Reading
//! lives here too, for every file a user hands us (a fleet manifest holds no secret but is read
//! the same way): the checks on what such a file may be, and how much of it is read, then have
//! one home and one wording, and [`read_bytes`] leaves no copy of the text behind. The emulator's
//! state file only shares the checks ([`open_regular`]): it is parsed as it is read, and what it
//! holds (Lockbox payloads; no credential) lives on in the emulator's memory anyway.
//!
//! The new contents go to a temporary file beside the target, created exclusively (`O_EXCL`: a
//! file or symlink already at that name is never opened, so a planted link cannot redirect the
//! write) under a name nobody can guess, with mode 0600 set outright (whatever the umask); it is
//! flushed to disk, renamed over the target, and the directory is synced so the rename survives
//! a crash.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use secrecy::zeroize::Zeroizing;

/// How many temporary names are tried before giving up: each is 64 random bits, so a second
/// attempt only happens when something was planted or left behind under the name.
const ATTEMPTS: usize = 16;

/// A failed private write: what was being done and the I/O error.
#[derive(Debug)]
pub(crate) struct WriteError {
    /// `cannot create a temporary file beside`, `cannot write`, `cannot flush`, `cannot replace`.
    pub(crate) action: &'static str,
    pub(crate) source: std::io::Error,
}

/// Writes `contents` to `path` atomically with mode 0600 (see the module docs).
pub(crate) fn write(path: &Path, contents: &[u8]) -> Result<(), WriteError> {
    write_with(path, contents, &mut fastrand::Rng::new())
}

/// [`write`], drawing the temporary names from `rng`.
pub(crate) fn write_with(path: &Path, contents: &[u8], rng: &mut fastrand::Rng) -> Result<(), WriteError> {
    let fail = |action: &'static str| move |source| WriteError { action, source };
    let (dir, _) = split(path).map_err(fail("cannot write"))?;
    let (tmp, mut file) =
        create_temporary(temporary_names(path, rng)).map_err(fail("cannot create a temporary file beside"))?;
    let result = (|| {
        file.write_all(contents).map_err(fail("cannot write"))?;
        file.sync_all().map_err(fail("cannot flush"))?;
        std::fs::rename(&tmp, path).map_err(fail("cannot replace"))?;
        if let Ok(d) = std::fs::File::open(&dir) {
            // Best effort: some file systems cannot sync a directory.
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Removes temporary files a killed earlier write left beside `path` (they may hold a secret).
/// Removing a symlink someone planted there removes the link, never what it points to.
pub(crate) fn remove_temporaries(path: &Path) {
    let Ok((dir, prefix)) = split(path) else { return };
    let Ok(entries) = std::fs::read_dir(&dir) else { return };
    for entry in entries.flatten() {
        if entry.file_name().to_str().is_some_and(|n| n.starts_with(&prefix)) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The names [`write_with`] tries, in order, for `path` with names drawn from `rng`.
pub(crate) fn temporary_names(path: &Path, rng: &mut fastrand::Rng) -> Vec<PathBuf> {
    let Ok((dir, prefix)) = split(path) else {
        return Vec::new();
    };
    (0..ATTEMPTS)
        .map(|_| dir.join(format!("{prefix}{:016x}", rng.u64(..))))
        .collect()
}

/// The directory of `path` and the prefix of its temporary files' names (`.<name>.tmp-`).
fn split(path: &Path) -> std::io::Result<(PathBuf, String)> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file name"))?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    Ok((dir, format!(".{name}.tmp-")))
}

/// Creates the first of `names` that does not exist yet.
fn create_temporary(names: Vec<PathBuf>) -> std::io::Result<(PathBuf, std::fs::File)> {
    let mut last = None;
    for tmp in names {
        match open_private(&tmp) {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::from(std::io::ErrorKind::AlreadyExists)))
}

/// The most read from a key file, a profile file or a file sink (dotenv, Kubernetes manifest, AWS
/// credentials): each holds a few keys, so anything larger is not one of them.
pub(crate) const TEXT_LIMIT: Limit = Limit::mib(1);

/// The most read from a fleet manifest: thousands of accounts fit well within it.
pub(crate) const MANIFEST_LIMIT: Limit = Limit::mib(16);

/// How many bytes a reader takes from one file, in whole mebibytes so that errors say it plainly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limit {
    mib: u64,
}

impl Limit {
    const fn mib(mib: u64) -> Self {
        Self { mib }
    }

    fn bytes(self) -> u64 {
        self.mib << 20
    }
}

impl std::fmt::Display for Limit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} MiB", self.mib)
    }
}

/// The one reader of the files a user or another tool hands us (key, profile, sink and manifest
/// files), so each refuses the same things with the same words: anything but a regular file once
/// symlinks are followed (see [`open_regular`]), and more than `limit` bytes (a sparse file can
/// claim terabytes). Both refusals, and text that is not UTF-8, are `InvalidData` errors whose
/// message is the rule broken (`not a regular file`, `larger than 1 MiB, …`), to follow the
/// file's name. `None` when the file does not exist. The bytes are cleared when dropped: the file
/// may hold a secret.
pub(crate) fn read_bytes(path: &Path, limit: Limit) -> std::io::Result<Option<Zeroizing<Vec<u8>>>> {
    use std::io::Read as _;

    let Some((file, len)) = open_regular(path)? else {
        return Ok(None);
    };
    let too_large = || refused(format!("larger than {limit}, the limit for this kind of file"));
    if len > limit.bytes() {
        return Err(too_large());
    }
    // Sized to the file and one byte more, so reading to its end needs no probe beyond it and the
    // buffer never grows (a grown buffer would leave a copy of the text behind).
    let mut bytes = Zeroizing::new(Vec::with_capacity(len as usize + 1));
    // A file that grew since: one byte past the limit is enough to know.
    file.take(limit.bytes() + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit.bytes() {
        return Err(too_large());
    }
    Ok(Some(bytes))
}

/// Opens `path` for reading only if it is a regular file once symlinks are followed: a named pipe
/// would block the open and a device such as `/dev/zero` never ends. The file and its length;
/// `None` when it does not exist.
pub(crate) fn open_regular(path: &Path) -> std::io::Result<Option<(std::fs::File, u64)>> {
    let not_regular = || refused("not a regular file".to_owned());
    // Checked before opening, since opening a named pipe waits for a writer.
    match std::fs::metadata(path) {
        Ok(meta) if !meta.is_file() => return Err(not_regular()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    }
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    // Again on what was opened, in case the name was pointed elsewhere in between.
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(not_regular());
    }
    Ok(Some((file, meta.len())))
}

fn refused(rule: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, rule)
}

/// The error of a file that must exist and does not, for readers that take `None` as one: worded
/// for the error line it ends (`cannot read the manifest: no such file`).
pub(crate) fn missing() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::NotFound, "no such file")
}

/// [`read_bytes`] as text, at most [`TEXT_LIMIT`] (a key, profile or sink file).
pub(crate) fn read_text(path: &Path) -> std::io::Result<Option<Zeroizing<String>>> {
    read_text_within(path, TEXT_LIMIT)
}

/// [`read_bytes`] as text: text that is not UTF-8 is an `InvalidData` error, its bytes cleared too.
pub(crate) fn read_text_within(path: &Path, limit: Limit) -> std::io::Result<Option<Zeroizing<String>>> {
    let Some(mut bytes) = read_bytes(path, limit)? else {
        return Ok(None);
    };
    match String::from_utf8(std::mem::take(&mut *bytes)) {
        Ok(text) => Ok(Some(Zeroizing::new(text))),
        Err(e) => {
            // Back into the buffer that clears it.
            *bytes = e.into_bytes();
            Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "not UTF-8 text"))
        }
    }
}

/// Creates `dir` and its missing parents, readable by the owner only (0700) on Unix: a folder
/// made to hold secrets.
pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

#[cfg(unix)]
fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    // The umask can only take bits away from 0600, but a umask such as 0277 would leave the
    // owner unable to write; set the mode outright.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    Ok(file)
}

#[cfg(not(unix))]
fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new().write(true).create_new(true).open(path)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    /// A temporary directory holding `victim`, a file someone else cares about.
    fn setup() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "untouched").unwrap();
        (dir, victim)
    }

    fn plant(links: &[PathBuf], victim: &Path) {
        for link in links {
            std::os::unix::fs::symlink(victim, link).unwrap();
        }
    }

    #[test]
    fn removing_temporaries_removes_planted_links_not_their_targets() {
        let (dir, victim) = setup();
        let path = dir.path().join("secret.json");
        plant(&temporary_names(&path, &mut fastrand::Rng::with_seed(1))[..2], &victim);
        remove_temporaries(&path);
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("victim")]);
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched");
    }

    #[test]
    fn a_file_of_exactly_the_limit_is_read_and_one_byte_more_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("file");
        std::fs::write(&path, vec![b'a'; 1 << 20]).unwrap();
        assert_eq!(read_bytes(&path, Limit::mib(1)).unwrap().unwrap().len(), 1 << 20);
        std::fs::write(&path, vec![b'a'; (1 << 20) + 1]).unwrap();
        let err = read_bytes(&path, Limit::mib(1)).unwrap_err();
        assert_eq!(err.to_string(), "larger than 1 MiB, the limit for this kind of file");
        assert!(
            read_bytes(&dir.path().join("missing"), Limit::mib(1))
                .unwrap()
                .is_none()
        );
        let err = read_bytes(dir.path(), Limit::mib(1)).unwrap_err();
        assert_eq!(err.to_string(), "not a regular file");
    }
}
