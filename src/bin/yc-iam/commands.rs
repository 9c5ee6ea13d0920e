//! One function per command. Each checks its input first (bad input: exit 2, nothing sent),
//! then connects, calls the library, and renders the result.

mod access_bindings;
mod api_key;
mod emulator;
mod operation;
mod provision;
mod service_account;
mod token;

use std::io::IsTerminal;

use yc_iam::emulator::{DEFAULT_IAM_TOKEN, Emulator};
use yc_iam::{Client, Credentials, Operation, OperationPayload, RetryPolicy};

pub(crate) use emulator::EmulatorArgs;

use crate::cli::{AccountSelector, Cli, Command, KeyOwner};
use crate::error::{CliError, CliResult};
use crate::output::{self, OperationView};
use crate::progress;
use crate::settings::{self, Settings};

pub(crate) async fn run(cli: Cli) -> CliResult {
    let Cli { global, command } = cli;
    match command {
        Command::Completions { shell } => {
            // Generated into a buffer: clap_complete panics when its own write fails (`| head`).
            let mut script = Vec::new();
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "yc-iam", &mut script);
            return output::write_stdout_bytes(&script).map_err(CliError::from);
        }
        Command::Emulator(args) => return emulator::run(args).await,
        _ => {}
    }
    let settings = Settings::resolve(&global)?;
    if settings.debug {
        init_debug_log();
    }
    match command {
        Command::ServiceAccount(cmd) => service_account::run(&settings, cmd).await,
        Command::ApiKey(cmd) => api_key::run(&settings, cmd).await,
        Command::Folder(cmd) => access_bindings::run(&settings, access_bindings::Resource::Folder, cmd).await,
        Command::Cloud(cmd) => access_bindings::run(&settings, access_bindings::Resource::Cloud, cmd).await,
        Command::Operation(cmd) => operation::run(&settings, cmd).await,
        Command::CreateToken => token::run(&settings).await,
        Command::Provision(args) => provision::run(&settings, args).await,
        Command::Completions { .. } | Command::Emulator(_) => Ok(()),
    }
}

/// `--debug`: the library's and this tool's events at debug level on stderr. Requests and
/// responses are logged through their `Debug`, which masks every secret.
fn init_debug_log() {
    let filter = tracing_subscriber::EnvFilter::new("yc_iam=debug,yc_iam_cli=debug");
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .try_init();
}

/// The `authorization` header every call carries, masked: the scheme, never the credential.
static AUTHORIZATION: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();

/// Logs a request before it is sent (`--debug`), with its masked `authorization` header.
pub(crate) fn log_request(method: &str, request: &dyn std::fmt::Debug) {
    let authorization = AUTHORIZATION.get().copied().unwrap_or("none");
    tracing::debug!(target: "yc_iam_cli", "→ {method} authorization={authorization:?} {request:?}");
}

fn masked_authorization(settings: &Settings) -> &'static str {
    use yc_iam::config::Credential;
    if settings.emulator {
        return "Bearer t1.***";
    }
    match settings.config.credential.as_ref().map(|c| &c.value) {
        Some(Credential::ApiKey(_)) => "Api-Key ***",
        Some(Credential::IamToken(_)) => "Bearer t1.***",
        Some(_) => "Bearer t1.*** (an IAM token the client obtains with these credentials)",
        None => "none",
    }
}

/// Logs a response (`--debug`).
pub(crate) fn log_response(method: &str, response: &dyn std::fmt::Debug) {
    tracing::debug!(target: "yc_iam_cli", "← {method} {response:?}");
}

/// A connected client, and the in-process emulator behind it for `--emulator`.
pub(crate) struct Session {
    pub(crate) client: Client,
    emulator: Option<Emulator>,
}

impl Session {
    /// Stops the in-process emulator, if any.
    pub(crate) async fn close(self) {
        if let Some(emulator) = self.emulator {
            emulator.shutdown().await;
        }
    }
}

/// Builds the client from the settings. Nothing is sent yet (discovery is lazy); with
/// `--emulator`, a fresh emulator is started first, holding the configured folder and cloud.
pub(crate) async fn connect(settings: &Settings) -> CliResult<Session> {
    let (endpoint, credentials, emulator) = if settings.emulator {
        let mut builder = Emulator::builder();
        if let Some(cloud) = &settings.config.cloud_id {
            builder = builder.with_cloud(cloud.value.clone());
        }
        if let Some(folder) = &settings.config.folder_id {
            builder = builder.with_folder(folder.value.clone());
        }
        let emulator = builder
            .start()
            .await
            .map_err(|e| CliError::failure(format!("cannot start the emulator: {}", crate::error::chain(&e))))?;
        eprintln!(
            "yc-iam: running against a fresh in-process emulator at {}",
            emulator.endpoint()
        );
        (
            emulator.endpoint(),
            Credentials::iam_token(DEFAULT_IAM_TOKEN),
            Some(emulator),
        )
    } else {
        let credential = settings.config.credential.as_ref().ok_or_else(|| {
            CliError::usage(
                "no credentials: set YC_TOKEN, YC_IAM_TOKEN, YC_SERVICE_ACCOUNT_KEY_FILE or YC_API_KEY, or configure a yc profile",
            )
        })?;
        let credentials = credential
            .value
            .to_credentials()
            .map_err(|e| CliError::usage(format!("invalid service-account key (from {}): {e}", credential.source)))?;
        tracing::debug!(target: "yc_iam_cli", "credentials: {} from {}", credential.value.kind(), credential.source);
        (settings.config.endpoint.value.clone(), credentials, None)
    };
    let origin = if settings.emulator {
        "--emulator".to_owned()
    } else {
        settings.config.endpoint.source.to_string()
    };
    tracing::debug!(target: "yc_iam_cli", "endpoint: {endpoint} (from {origin})");
    let mut builder = Client::builder().with_endpoint(endpoint).with_credentials(credentials);
    if let Some(n) = settings.retry {
        builder = builder.with_retry(if n <= 1 {
            RetryPolicy::disabled()
        } else {
            RetryPolicy::default().with_max_attempts(n)
        });
    }
    if let Some(t) = settings.timeout {
        builder = builder.with_timeout(t);
    }
    let client = builder
        .build()
        .map_err(|e| CliError::api(None, &e).with_exit(crate::error::EXIT_USAGE))?;
    let authorization = *AUTHORIZATION.get_or_init(|| masked_authorization(settings));
    tracing::debug!(
        target: "yc_iam_cli",
        "metadata on every call: authorization={authorization:?} x-client-trace-id={:?} \
         x-client-request-id=<new per attempt> idempotency-key=<one per mutating call>",
        client.trace_id()
    );
    Ok(Session { client, emulator })
}

/// Finishes a mutating call: with `--async` prints the operation and returns `None`; otherwise
/// waits (with progress on a terminal) and returns the result.
pub(crate) async fn finish<R: OperationPayload, M: OperationPayload>(
    settings: &Settings,
    op: Operation<R, M>,
    label: &str,
) -> CliResult<Option<R>> {
    log_response("operation", &op.raw().id);
    if settings.async_ {
        output::print_one(settings.format, &OperationView::from(op.raw()))?;
        return Ok(None);
    }
    let result = progress::show(label, op.wait())
        .await
        .map_err(|e| CliError::api(None, &e))?;
    Ok(Some(result))
}

/// A service account named on the command line, checked but not yet looked up.
pub(crate) enum AccountRef {
    Id(String),
    Name { folder_id: String, name: String },
}

impl AccountRef {
    pub(crate) fn from_selector(settings: &Settings, s: &AccountSelector) -> CliResult<Self> {
        Self::from_parts(
            settings,
            s.positional.as_ref().or(s.id.as_ref()),
            s.name.as_ref(),
            "--id",
            "--name",
        )
    }

    pub(crate) fn from_owner(settings: &Settings, o: &KeyOwner) -> CliResult<Self> {
        Self::from_parts(
            settings,
            o.service_account_id.as_ref(),
            o.service_account_name.as_ref(),
            "--service-account-id",
            "--service-account-name",
        )
    }

    fn from_parts(
        settings: &Settings,
        id: Option<&String>,
        name: Option<&String>,
        id_flag: &str,
        name_flag: &str,
    ) -> CliResult<Self> {
        match (id, name) {
            (Some(id), _) => {
                settings::check_id(id_flag.trim_start_matches('-'), id)?;
                Ok(AccountRef::Id(id.clone()))
            }
            (None, Some(name)) => {
                yc_iam::provision::check_service_account_name(name_flag.trim_start_matches('-'), name)
                    .map_err(|e| settings::flag_error(&e))?;
                Ok(AccountRef::Name {
                    folder_id: settings.folder_id()?,
                    name: name.clone(),
                })
            }
            (None, None) => Err(CliError::usage(format!(
                "a service account is needed: pass {id_flag} or {name_flag}"
            ))),
        }
    }

    /// The account's id, looking the name up if needed.
    pub(crate) async fn id(&self, client: &Client) -> CliResult<String> {
        match self {
            AccountRef::Id(id) => Ok(id.clone()),
            AccountRef::Name { folder_id, name } => {
                log_request(
                    "ServiceAccountService.List",
                    &format_args!("folder_id={folder_id:?} name={name:?}"),
                );
                match client.service_accounts().find_by_name(folder_id, name).await {
                    Ok(Some(sa)) => Ok(sa.id),
                    Ok(None) => Err(CliError::failure(format!(
                        "service account {name:?} not found in folder {folder_id}"
                    ))),
                    Err(e) => Err(CliError::api(None, &e)),
                }
            }
        }
    }
}
