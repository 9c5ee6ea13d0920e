//! `yc-iam emulator`: the flags, turned into the library's typed emulator builder, and the
//! serve-until-signal loop.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use yc_iam::emulator::{ALL_METHODS, Emulator, EmulatorBuilder, Fault};

use crate::error::{CliError, CliResult, chain};
use crate::output;

/// Flags of `yc-iam emulator`: run the emulator as a local service until SIGINT or SIGTERM.
#[derive(Clone, clap::Args)]
pub(crate) struct EmulatorArgs {
    /// Address to listen on; port 0 picks a free port (printed as the first line of output).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Folder to create (repeatable); without any, a default folder exists.
    #[arg(long = "folder", value_name = "ID")]
    folders: Vec<String>,
    /// Cloud to create (repeatable); folders go into the first one.
    #[arg(long = "cloud", value_name = "ID")]
    clouds: Vec<String>,
    /// IAM token accepted as `authorization: Bearer <T>` (default: the emulator's default token).
    #[arg(long, value_name = "T", env = "YC_IAM_EMULATOR_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// OAuth token that IamTokenService.Create exchanges for an IAM token.
    #[arg(long, value_name = "T", env = "YC_IAM_EMULATOR_OAUTH_TOKEN", hide_env_values = true)]
    oauth_token: Option<String>,
    /// Service-account authorized key file (JSON, as `yc iam key create` writes it) whose JWTs are accepted (repeatable).
    #[arg(long = "authorized-key", value_name = "FILE")]
    authorized_keys: Vec<PathBuf>,
    /// How long operations take to finish, e.g. `200ms`, `2s`.
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = parse_duration)]
    op_delay: Duration,
    /// Fraction of all calls (0.0-1.0) that fail with UNAVAILABLE.
    #[arg(long, value_name = "FRACTION", value_parser = parse_rate)]
    fail_rate: Option<f64>,
    /// Seed of the random generator behind --fail-rate.
    #[arg(long, value_name = "N", default_value_t = 0)]
    seed: u64,
    /// State file (JSON): loaded on start, saved after every change and on exit.
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// TLS certificate chain (PEM); needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM); needs --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
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

/// Starts the emulator the flags describe, prints its address as the first line of stdout, and
/// serves until SIGINT or SIGTERM; then saves the state file and returns.
pub(crate) async fn run(args: EmulatorArgs) -> CliResult {
    // Nobody can read the journal of this process: it would only copy every call's headers.
    let emulator = builder(&args)
        .await?
        .with_journal_capacity(0)
        .start()
        .await
        .map_err(|e| CliError::failure(format!("emulator: {}", chain(&e))))?;
    // The handlers are in place before the address is announced: whoever reads it may send
    // SIGTERM at once, and the default action would skip the final save.
    let terminated = terminated();
    let _ = output::write_stdout(&format!("{}\n", emulator.addr()));
    terminated.await;
    emulator.shutdown().await;
    Ok(())
}

/// The parts of an authorized key file the emulator needs.
#[derive(Deserialize)]
struct KeyFile {
    id: String,
    service_account_id: String,
    public_key: String,
}

async fn read(path: &Path) -> CliResult<Vec<u8>> {
    tokio::fs::read(path)
        .await
        .map_err(|e| CliError::failure(format!("emulator: cannot read {}: {e}", path.display())))
}

/// The builder the flags describe (reads the key and TLS files).
async fn builder(args: &EmulatorArgs) -> CliResult<EmulatorBuilder> {
    let mut builder = Emulator::builder()
        .with_listen(args.listen)
        .with_op_delay(args.op_delay);
    for cloud in &args.clouds {
        builder = builder.with_cloud(cloud);
    }
    for folder in &args.folders {
        builder = builder.with_folder(folder);
    }
    if let Some(token) = &args.token {
        builder = builder.with_iam_token(token);
    }
    if let Some(token) = &args.oauth_token {
        builder = builder.with_oauth_token(token);
    }
    for path in &args.authorized_keys {
        let key: KeyFile = serde_json::from_slice(&read(path).await?)
            .map_err(|e| CliError::failure(format!("emulator: cannot read {}: {e}", path.display())))?;
        builder = builder.with_authorized_key(key.id, key.service_account_id, key.public_key);
    }
    if let Some(rate) = args.fail_rate {
        builder = builder.with_fault(
            ALL_METHODS,
            Fault::FailRate {
                rate,
                seed: args.seed,
                code: tonic::Code::Unavailable,
            },
        );
    }
    if let Some(state) = &args.state {
        builder = builder.with_state_file(state);
    }
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        builder = builder.with_tls(read(cert).await?, read(key).await?);
    }
    Ok(builder)
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
fn parse_duration(text: &str) -> Result<Duration, String> {
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
