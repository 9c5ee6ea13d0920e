//! The state file: loaded on start, saved (atomically, mode 0600) after changes and on shutdown.

use std::path::Path;
use std::sync::Arc;

use super::state::State;
use super::{EmulatorError, Inner, lock, temp_path};

/// Reads the state file; a missing file is an empty state.
pub(crate) async fn load(path: &Path) -> Result<State, EmulatorError> {
    let wrap = |source: Box<dyn std::error::Error + Send + Sync>| EmulatorError::State {
        path: path.to_owned(),
        source,
    };
    match tokio::fs::read(path).await {
        Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Ok(State::default()),
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| wrap(Box::new(e))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
        Err(e) => Err(wrap(Box::new(e))),
    }
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
    use std::io::Write as _;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt as _;
    let _one_at_a_time = lock(&inner.saving);
    // The state lock is held only for a copy; serializing a large store would stall every call.
    let records = lock(&inner.state).records();
    let json = serde_json::to_vec_pretty(&records).map_err(std::io::Error::other)?;
    let tmp = temp_path(path);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(&tmp)?;
    file.write_all(&json)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
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
