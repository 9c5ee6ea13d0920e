//! `yc-iam emulator`: the flags, the checks before serving beyond loopback, the flags turned into
//! the library's typed emulator builder, and the serve-until-signal loop.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use yc_iam::emulator::{ALL_METHODS, DEFAULT_IAM_TOKEN, DEFAULT_OAUTH_TOKEN, Emulator, EmulatorBuilder, Fault, Quota};

use crate::error::{CliError, CliResult, chain};
use crate::input::{parse_duration, parse_timestamp};
use crate::{output, settings};

// Flags of `yc-iam emulator`: run the emulator as a local service until SIGINT or SIGTERM.
#[derive(Clone, clap::Args)]
#[command(group(clap::ArgGroup::new("fail").args(["fail_rate", "fail_first"]).multiple(true)))]
pub(crate) struct EmulatorArgs {
    /// Address to listen on; port 0 picks a free port (printed as the first line of output).
    /// Beyond loopback only with --allow-remote.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Serve a non-loopback --listen address; needs a --token and an --oauth-token of your own,
    /// and TLS or --insecure.
    #[arg(long)]
    allow_remote: bool,
    /// With --allow-remote: serve over plaintext, tokens readable on the network.
    #[arg(long, conflicts_with = "tls_cert")]
    insecure: bool,
    /// Folder to create (repeatable); without any, a default folder exists.
    #[arg(long = "folder", value_name = "ID")]
    folders: Vec<String>,
    /// Cloud to create (repeatable); folders go into the first one.
    #[arg(long = "cloud", value_name = "ID")]
    clouds: Vec<String>,
    /// IAM token accepted as `authorization: Bearer <T>` (default: the emulator's published
    /// default token; visible to other users: prefer the variable) [env: YC_IAM_EMULATOR_TOKEN].
    #[arg(long, value_name = "T")]
    token: Option<String>,
    /// OAuth token that IamTokenService.Create exchanges for an IAM token (default: the published
    /// default one; visible to other users: prefer the variable) [env: YC_IAM_EMULATOR_OAUTH_TOKEN].
    #[arg(long, value_name = "T")]
    oauth_token: Option<String>,
    /// Service-account authorized key file (JSON, as `yc iam key create` writes it) whose JWTs are accepted (repeatable).
    #[arg(long = "authorized-key", value_name = "FILE")]
    authorized_keys: Vec<PathBuf>,
    /// How long operations take to finish, e.g. `200ms`, `2s`, `1m30s`.
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = parse_duration)]
    op_delay: Duration,
    /// How long a new access binding takes to take effect (AI Studio's models and Lockbox payloads
    /// refuse the role until then), e.g. `3s`.
    #[arg(long, value_name = "DURATION", default_value = "0s", value_parser = parse_duration)]
    binding_delay: Duration,
    /// Fraction of all calls (0.0-1.0) that fail with UNAVAILABLE (see --fail-mode).
    #[arg(long, value_name = "FRACTION", value_parser = parse_rate)]
    fail_rate: Option<f64>,
    /// The first N calls fail with UNAVAILABLE (see --fail-mode); then --fail-rate, if any, applies.
    #[arg(long, value_name = "N")]
    fail_first: Option<u32>,
    /// When failing calls fail: `before` applying them, or `after` (the change is made and the
    /// reply lost; a retry with the same idempotency-key gets the original result) [default: before].
    #[arg(long, value_enum, value_name = "MODE", requires = "fail")]
    fail_mode: Option<FailMode>,
    /// Seed of the random generator behind --fail-rate.
    #[arg(long, value_name = "N", default_value_t = 0)]
    seed: u64,
    /// State file (JSON): loaded on start, saved after every change and on exit.
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// The emulator's time at start (RFC 3339, e.g. 2030-01-01T00:00:00Z); its clock runs on from
    /// there, and keys and tokens are made, used and expire on it. Without it: the real time, or
    /// the clock the --state file was saved with.
    #[arg(long, value_name = "TIME", value_parser = parse_timestamp)]
    start_time: Option<time::OffsetDateTime>,
    /// Quotas of every cloud, raised or lowered from Yandex Cloud's defaults (100 service accounts,
    /// 1,000 API keys), e.g. `service-accounts=500,api-keys=5000`; a create beyond one fails with
    /// RESOURCE_EXHAUSTED.
    #[arg(long = "quota", value_name = "NAME=N", value_delimiter = ',', value_parser = parse_quota)]
    quotas: Vec<(Quota, u64)>,
    /// TLS certificate chain (PEM); needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM); needs --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

/// When an injected failure happens, relative to applying the call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum FailMode {
    /// The call fails and nothing changes.
    Before,
    /// The call is applied and its reply lost: the caller sees UNAVAILABLE.
    After,
}

impl fmt::Debug for EmulatorArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmulatorArgs")
            .field("listen", &self.listen)
            .field("allow_remote", &self.allow_remote)
            .field("insecure", &self.insecure)
            .field("folders", &self.folders)
            .field("clouds", &self.clouds)
            .field("token", &self.token.as_ref().map(|_| "***"))
            .field("oauth_token", &self.oauth_token.as_ref().map(|_| "***"))
            .field("authorized_keys", &self.authorized_keys)
            .field("op_delay", &self.op_delay)
            .field("binding_delay", &self.binding_delay)
            .field("fail_rate", &self.fail_rate)
            .field("fail_first", &self.fail_first)
            .field("fail_mode", &self.fail_mode)
            .field("seed", &self.seed)
            .field("state", &self.state)
            .field("start_time", &self.start_time)
            .field("quotas", &self.quotas)
            .field("tls_cert", &self.tls_cert)
            .field("tls_key", &self.tls_key)
            .finish()
    }
}

/// The tokens the emulator accepts, from their flags or variables; `None` keeps the published default.
struct Tokens {
    iam: Option<String>,
    oauth: Option<String>,
}

impl Tokens {
    /// Reads each token from its flag (warning that it is visible to other users) or its variable.
    fn resolve(args: &EmulatorArgs) -> CliResult<Self> {
        Ok(Self {
            iam: token(args.token.as_deref(), "--token", "YC_IAM_EMULATOR_TOKEN")?,
            oauth: token(
                args.oauth_token.as_deref(),
                "--oauth-token",
                "YC_IAM_EMULATOR_OAUTH_TOKEN",
            )?,
        })
    }
}

/// A token from `flag` or else from the variable `var` (an empty variable counts as unset).
fn token(flag: Option<&str>, name: &str, var: &str) -> CliResult<Option<String>> {
    match flag {
        Some(value) if value.trim().is_empty() => Err(CliError::usage(format!("invalid {name}: the value is empty"))),
        Some(value) => {
            settings::warn_visible_secret(name, &format!("${var}"));
            Ok(Some(value.trim().to_owned()))
        }
        None => Ok(std::env::var(var)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .map(|v| v.trim().to_owned())),
    }
}

/// A server reachable from other machines must be asked for, and must not accept the tokens
/// anyone can read in this project's source, nor send its own in clear unless told to.
fn check_exposure(args: &EmulatorArgs, tokens: &Tokens) -> CliResult {
    if args.listen.ip().is_loopback() {
        return Ok(());
    }
    let listen = args.listen;
    if !args.allow_remote {
        return Err(CliError::usage(format!(
            "--listen {listen} is not a loopback address: pass --allow-remote to serve other machines \
             (with a --token and --oauth-token of your own, and --tls-cert/--tls-key or --insecure)"
        )));
    }
    let private = |token: &Option<String>, default: &str| token.as_deref().is_some_and(|t| t != default);
    if !private(&tokens.iam, DEFAULT_IAM_TOKEN) {
        return Err(CliError::usage(format!(
            "--listen {listen} with --allow-remote needs a --token (or YC_IAM_EMULATOR_TOKEN) other than the published default"
        )));
    }
    if !private(&tokens.oauth, DEFAULT_OAUTH_TOKEN) {
        return Err(CliError::usage(format!(
            "--listen {listen} with --allow-remote needs an --oauth-token (or YC_IAM_EMULATOR_OAUTH_TOKEN) other than \
             the published default, which anyone could exchange for an IAM token"
        )));
    }
    if args.tls_cert.is_none() && !args.insecure {
        return Err(CliError::usage(format!(
            "--listen {listen} with --allow-remote needs TLS (--tls-cert and --tls-key) or an explicit --insecure"
        )));
    }
    Ok(())
}

/// Starts the emulator the flags describe, prints its address as the first line of stdout, and
/// serves until SIGINT or SIGTERM; then saves the state file and returns.
pub(crate) async fn run(args: EmulatorArgs) -> CliResult {
    let tokens = Tokens::resolve(&args)?;
    check_exposure(&args, &tokens)?;
    // Nobody can read the journal of this process: it would only copy every call's headers.
    let emulator = builder(&args, tokens)
        .await?
        .with_journal_capacity(0)
        .start()
        .await
        .map_err(|e| CliError::emulator_start("emulator", &e))?;
    // The handlers are in place before the address is announced: whoever reads it may send
    // SIGTERM at once, and the default action would skip the final save.
    let terminated = terminated();
    let _ = output::write_stdout(&format!("{}\n", emulator.addr()));
    terminated.await;
    emulator.shutdown().await;
    Ok(())
}

/// The faults --fail-rate and --fail-first ask for, in --fail-mode; the first N calls come first.
fn fault(args: &EmulatorArgs) -> Option<Fault> {
    let after = args.fail_mode == Some(FailMode::After);
    let code = tonic::Code::Unavailable;
    let first = args.fail_first.map(|n| match after {
        true => Fault::DropResponseAfterApply { n },
        false => Fault::FailFirst { n, code },
    });
    let seed = args.seed;
    let rate = args.fail_rate.map(|rate| match after {
        true => Fault::DropRate { rate, seed },
        false => Fault::FailRate { rate, seed, code },
    });
    match (first, rate) {
        (Some(first), Some(rate)) => Some(Fault::Any(vec![first, rate])),
        (first, rate) => first.or(rate),
    }
}

/// The parts of an authorized key file the emulator needs.
#[derive(Deserialize)]
struct KeyFile {
    id: String,
    service_account_id: String,
    public_key: String,
}

async fn read(path: &Path) -> CliResult<Vec<u8>> {
    let owned = path.to_owned();
    tokio::task::spawn_blocking(move || yc_iam::emulator::read_file(&owned))
        .await
        .map_err(|e| CliError::failure(format!("emulator: cannot read {}: {e}", path.display())))?
        // A file named on the command line that cannot be used is bad input, like a key file.
        .map_err(|e| CliError::usage(format!("emulator: {}", chain(&e))))
}

/// The builder the flags describe (reads the key and TLS files).
async fn builder(args: &EmulatorArgs, tokens: Tokens) -> CliResult<EmulatorBuilder> {
    let mut builder = Emulator::builder()
        .with_listen(args.listen)
        .with_op_delay(args.op_delay)
        .with_binding_delay(args.binding_delay);
    for cloud in &args.clouds {
        builder = builder.with_cloud(cloud);
    }
    for folder in &args.folders {
        builder = builder.with_folder(folder);
    }
    if let Some(token) = tokens.iam {
        builder = builder.with_iam_token(token);
    }
    if let Some(token) = tokens.oauth {
        builder = builder.with_oauth_token(token);
    }
    for path in &args.authorized_keys {
        let key: KeyFile = serde_json::from_slice(&read(path).await?)
            .map_err(|e| CliError::usage(format!("emulator: cannot read {}: {e}", path.display())))?;
        builder = builder.with_authorized_key(key.id, key.service_account_id, key.public_key);
    }
    if let Some(fault) = fault(args) {
        builder = builder.with_fault(ALL_METHODS, fault);
    }
    if let Some(state) = &args.state {
        builder = builder.with_state_file(state);
    }
    if let Some(at) = args.start_time {
        builder = builder.with_start_time(at);
    }
    for &(quota, limit) in &args.quotas {
        builder = builder.with_quota(quota, limit);
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

fn parse_rate(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(rate) if (0.0..=1.0).contains(&rate) => Ok(rate),
        _ => Err(format!("invalid rate {text:?}: expected a fraction between 0 and 1")),
    }
}

/// The names `--quota` knows, with the quota each sets.
const QUOTA_NAMES: [(&str, Quota); 2] = [
    ("service-accounts", Quota::ServiceAccountsPerCloud),
    ("api-keys", Quota::ApiKeysPerCloud),
];

/// One `NAME=N` of `--quota`.
fn parse_quota(text: &str) -> Result<(Quota, u64), String> {
    let names = || QUOTA_NAMES.map(|(name, _)| name).join(", ");
    let (name, value) = text
        .split_once('=')
        .ok_or_else(|| format!("expected NAME=N, where NAME is one of {}", names()))?;
    let quota = QUOTA_NAMES
        .iter()
        .find(|(known, _)| *known == name.trim())
        .map(|&(_, quota)| quota)
        .ok_or_else(|| format!("unknown quota {:?}: expected one of {}", name.trim(), names()))?;
    let limit = value.trim().parse::<u64>().map_err(|_| {
        format!(
            "invalid value {:?} for quota {}: expected a whole number",
            value.trim(),
            name.trim()
        )
    })?;
    Ok((quota, limit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotas_are_a_known_name_and_a_whole_number() {
        assert_eq!(
            parse_quota("service-accounts=500"),
            Ok((Quota::ServiceAccountsPerCloud, 500))
        );
        assert_eq!(parse_quota(" api-keys = 0"), Ok((Quota::ApiKeysPerCloud, 0)));
        for bad in ["folders=3", "api-keys", "api-keys=-1", "service-accounts=lots"] {
            assert!(parse_quota(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rates_are_fractions_between_0_and_1() {
        assert_eq!(parse_rate(" 0.25"), Ok(0.25));
        assert!(parse_rate("1.5").is_err());
        assert!(parse_rate("a lot").is_err());
    }
}
