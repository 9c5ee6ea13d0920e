//! The state file: loaded on start, saved after changes and on shutdown through the private-file
//! writer (atomic, mode 0600, a temporary name nobody can plant a link at in advance).

use std::path::Path;
use std::sync::Arc;

use super::state::State;
use super::{EmulatorError, Inner, lock};

/// Reads the state file; a missing file is an empty state. Temporary files a killed save left
/// beside it (they hold secrets) are removed.
pub(crate) async fn load(path: &Path) -> Result<State, EmulatorError> {
    crate::private_file::remove_temporaries(path);
    let wrap = |source: Box<dyn std::error::Error + Send + Sync>| EmulatorError::State {
        path: path.to_owned(),
        source,
    };
    // A pipe or a device is refused unopened. No size limit, unlike the files a user writes: the
    // emulator wrote this one and never prunes what it keeps, so a limit here could refuse a
    // file it saved itself. It is parsed as it is read, so its size is never trusted up front
    // (a sparse file of zeros fails at its first byte).
    let owned = path.to_owned();
    let parsed = tokio::task::spawn_blocking(move || parse(&owned))
        .await
        .map_err(|e| wrap(Box::new(std::io::Error::other(e))))?;
    parsed.map_err(wrap)
}

/// The state in the file at `path`: empty when it is missing or holds only white space.
fn parse(path: &Path) -> Result<State, Box<dyn std::error::Error + Send + Sync>> {
    let Some((file, _)) = crate::private_file::open_regular(path)? else {
        return Ok(State::default());
    };
    let reader = std::io::BufReader::new(file);
    let mut values = serde_json::Deserializer::from_reader(reader).into_iter::<State>();
    match (values.next(), values.next()) {
        (None, _) => Ok(State::default()),
        (Some(Ok(state)), None) => Ok(state),
        // A read that failed part way is the reader's error, not a parse position.
        (Some(Err(e)), _) | (_, Some(Err(e))) if e.is_io() => Err(Box::new(std::io::Error::from(e))),
        (Some(Err(e)), _) | (_, Some(Err(e))) => Err(unquoted(&e).into()),
        (Some(Ok(_)), Some(Ok(_))) => Err("not a valid state file (more than one JSON value)".into()),
    }
}

/// A state file that does not parse, said by the error's class and position only: serde_json's
/// message can quote the offending value, and in this file that may be a secret.
fn unquoted(error: &serde_json::Error) -> String {
    format!(
        "not a valid state file ({:?} error at line {} column {})",
        error.classify(),
        error.line(),
        error.column()
    )
}

/// Writes the current state to `path` through a temporary file and a rename.
///
/// The whole save runs on the blocking pool: aborting the saver task (on shutdown) cannot stop a
/// write already there, so saves are serialized by `Inner::saving` instead, and each copies the
/// state under that lock, so the last rename always carries the newest state.
pub(crate) async fn save(inner: &Arc<Inner>, path: &Path) -> std::io::Result<()> {
    let (inner, path) = (inner.clone(), path.to_owned());
    tokio::task::spawn_blocking(move || save_now(&inner, &path))
        .await
        .map_err(std::io::Error::other)?
}

fn save_now(inner: &Inner, path: &Path) -> std::io::Result<()> {
    let _one_at_a_time = lock(&inner.saving);
    // The state lock is held only for a copy; serializing a large store would stall every call.
    let records = {
        let mut state = lock(&inner.state);
        // A destroyed version's payload is gone for good: it never reaches the file.
        state.lockbox.purge_destroyed(&inner.clock);
        let mut records = state.records();
        records.clock_shift = inner.clock.shift();
        records
    };
    let json = serde_json::to_vec_pretty(&records).map_err(std::io::Error::other)?;
    let mut names = lock(&inner.rng).fork();
    crate::private_file::write_with(path, &json, &mut names)
        .map_err(|e| std::io::Error::new(e.source.kind(), format!("{}: {}", e.action, e.source)))
}

/// Saves after every change notification until aborted.
pub(crate) async fn saver(inner: Arc<Inner>, path: std::path::PathBuf) {
    loop {
        inner.changed.notified().await;
        if let Err(error) = save(&inner, &path).await {
            tracing::warn!(%error, path = %path.display(), "cannot save emulator state");
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;
    use std::path::PathBuf;

    use super::*;
    use crate::emulator::Emulator;

    /// An emulator, `state.json` in a fresh directory that also holds `victim`, the generator the
    /// state writer draws temporary names from seeded, and those names.
    async fn emulator_with_known_names() -> (tempfile::TempDir, Emulator, PathBuf, PathBuf, Vec<PathBuf>) {
        let dir = tempfile::tempdir().unwrap();
        let (path, victim) = (dir.path().join("state.json"), dir.path().join("victim"));
        std::fs::write(&victim, "untouched").unwrap();
        // No state file configured: no background saver draws names from the generator meanwhile.
        let emu = Emulator::builder().start().await.unwrap();
        *lock(&emu.inner.rng) = fastrand::Rng::with_seed(42);
        let mut names = crate::private_file::temporary_names(&path, &mut fastrand::Rng::with_seed(42).fork());
        // The name the writer used before it had random ones.
        names.push(dir.path().join("state.json.tmp"));
        (dir, emu, path, victim, names)
    }

    fn plant(links: &[PathBuf], victim: &Path) {
        for link in links {
            std::os::unix::fs::symlink(victim, link).unwrap();
        }
    }

    #[tokio::test]
    async fn symlinks_at_every_temporary_name_but_one_leave_their_target_untouched() {
        let (_dir, emu, path, victim, names) = emulator_with_known_names().await;
        // Every name the writer would try except the last one it draws.
        let spared = names.len() - 2;
        let planted: Vec<_> = names
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != spared)
            .map(|(_, n)| n.clone())
            .collect();
        plant(&planted, &victim);
        save(&emu.inner, &path).await.unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched");
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert!(serde_json::from_slice::<serde_json::Value>(&std::fs::read(&path).unwrap()).is_ok());
    }

    #[tokio::test]
    async fn symlinks_at_every_temporary_name_fail_the_save_and_follow_none() {
        let (_dir, emu, path, victim, names) = emulator_with_known_names().await;
        plant(&names, &victim);
        let err = save(&emu.inner, &path).await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists, "{err}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "untouched");
        assert!(!path.exists());
    }
}
