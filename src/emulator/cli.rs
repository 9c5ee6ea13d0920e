//! `yc-iam emulator`: the command-line flags and the serve-until-signal loop.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use tokio::time::Duration;

use super::{ALL_METHODS, Emulator, EmulatorBuilder, EmulatorError, Fault};

/// Flags of `yc-iam emulator`: run the emulator as a local service until SIGINT or SIGTERM.
#[derive(Clone, clap::Args)]
#[non_exhaustive]
pub struct EmulatorArgs {
    /// Address to listen on; port 0 picks a free port (printed as the first line of output).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Folder to create (repeatable); without any, a default folder exists.
    #[arg(long = "folder", value_name = "ID")]
    pub folders: Vec<String>,
    /// Cloud to create (repeatable); folders go into the first one.
    #[arg(long = "cloud", value_name = "ID")]
    pub clouds: Vec<String>,
    /// IAM token accepted as `authorization: Bearer <T>` (default: the emulator's default token).
    #[arg(long, value_name = "T", env = "YC_IAM_EMULATOR_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// OAuth token that IamTokenService.Create exchanges for an IAM token.
    #[arg(long, value_name = "T", env = "YC_IAM_EMULATOR_OAUTH_TOKEN", hide_env_values = true)]
    pub oauth_token: Option<String>,
    /// Service-account authorized key file (JSON, as `yc iam key create` writes it) whose JWTs are accepted (repeatable).
    #[arg(long = "authorized-key", value_name = "FILE")]
    pub authorized_keys: Vec<PathBuf>,
    /// How long operations take to finish, e.g. `200ms`, `2s`.
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = parse_duration)]
    pub op_delay: Duration,
    /// Fraction of all calls (0.0-1.0) that fail with UNAVAILABLE.
    #[arg(long, value_name = "FRACTION", value_parser = parse_rate)]
    pub fail_rate: Option<f64>,
    /// Seed of the random generator behind --fail-rate.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub seed: u64,
    /// State file (JSON): loaded on start, saved after every change and on exit.
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// TLS certificate chain (PEM); needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM); needs --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

impl fmt::Debug for EmulatorArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmulatorArgs")
            .field("listen", &self.listen)
            .field("folders", &self.folders)
            .field("clouds", &self.clouds)
            .field("token", &self.token.as_ref().map(|_| "***"))
            .field("oauth_token", &self.oauth_token.as_ref().map(|_| "***"))
            .field("authorized_keys", &self.authorized_keys)
            .field("op_delay", &self.op_delay)
            .field("fail_rate", &self.fail_rate)
            .field("seed", &self.seed)
            .field("state", &self.state)
            .field("tls_cert", &self.tls_cert)
            .field("tls_key", &self.tls_key)
            .finish()
    }
}

/// The parts of an authorized key file the emulator needs.
#[derive(Deserialize)]
struct KeyFile {
    id: String,
    service_account_id: String,
    public_key: String,
}

async fn read(path: &Path) -> Result<Vec<u8>, EmulatorError> {
    tokio::fs::read(path).await.map_err(|source| EmulatorError::File {
        path: path.to_owned(),
        source: source.into(),
    })
}

impl EmulatorArgs {
    /// Starts the emulator these flags describe, calls `on_listening` with its address, and serves
    /// until SIGINT or SIGTERM; then saves the state file and returns.
    ///
    /// # Errors
    /// When the emulator cannot start (address, TLS files, key files, state file).
    pub async fn run(self, on_listening: impl FnOnce(SocketAddr)) -> Result<(), EmulatorError> {
        // Nobody can read the journal of this process: it would only copy every call's headers.
        let emulator = self.builder().await?.with_journal_capacity(0).start().await?;
        // The handlers are in place before the address is announced: whoever reads it may send
        // SIGTERM at once, and the default action would skip the final save.
        let terminated = terminated();
        on_listening(emulator.addr());
        terminated.await;
        emulator.shutdown().await;
        Ok(())
    }

    /// Starts the emulator these flags describe, without waiting for a signal.
    ///
    /// # Errors
    /// When the emulator cannot start (address, TLS files, key files, state file).
    pub async fn start(self) -> Result<Emulator, EmulatorError> {
        self.builder().await?.start().await
    }

    /// The builder these flags describe (reads the key and TLS files).
    async fn builder(&self) -> Result<EmulatorBuilder, EmulatorError> {
        let mut builder = Emulator::builder()
            .with_listen(self.listen)
            .with_op_delay(self.op_delay);
        for cloud in &self.clouds {
            builder = builder.with_cloud(cloud);
        }
        for folder in &self.folders {
            builder = builder.with_folder(folder);
        }
        if let Some(token) = &self.token {
            builder = builder.with_iam_token(token);
        }
        if let Some(token) = &self.oauth_token {
            builder = builder.with_oauth_token(token);
        }
        for path in &self.authorized_keys {
            let bytes = read(path).await?;
            let key: KeyFile = serde_json::from_slice(&bytes).map_err(|source| EmulatorError::File {
                path: path.clone(),
                source: source.into(),
            })?;
            builder = builder.with_authorized_key(key.id, key.service_account_id, key.public_key);
        }
        if let Some(rate) = self.fail_rate {
            builder = builder.with_fault(
                ALL_METHODS,
                Fault::FailRate {
                    rate,
                    seed: self.seed,
                    code: tonic::Code::Unavailable,
                },
            );
        }
        if let Some(state) = &self.state {
            builder = builder.with_state_file(state);
        }
        if let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) {
            builder = builder.with_tls(read(cert).await?, read(key).await?);
        }
        Ok(builder)
    }
}

/// Registers for SIGINT and SIGTERM now; the future resolves when one arrives.
fn terminated() -> impl Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let signals = signal(SignalKind::terminate()).and_then(|t| Ok((t, signal(SignalKind::interrupt())?)));
        async move {
            match signals {
                Ok((mut term, mut int)) => {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = int.recv() => {}
                    }
                }
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Parses `200ms`, `2s`, `1.5s`, `3m`, `1h` or a bare number of seconds.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("invalid duration {text:?}: expected e.g. 200ms or 2s"))?;
    let seconds = match unit.trim() {
        "ms" => value / 1000.0,
        "" | "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        other => return Err(format!("invalid duration unit {other:?}: use ms, s, m or h")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| format!("invalid duration {text:?}"))
}

fn parse_rate(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(rate) if (0.0..=1.0).contains(&rate) => Ok(rate),
        _ => Err(format!("invalid rate {text:?}: expected a fraction between 0 and 1")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("200ms"), Ok(Duration::from_millis(200)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert!(parse_duration("fast").is_err());
        assert!(parse_duration("5d").is_err());
        assert!(parse_rate("1.5").is_err());
    }
}
