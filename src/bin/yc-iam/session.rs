//! The connection a command works over: a client built from the settings and, with `--emulator`,
//! the fresh in-process emulator it talks to.

use std::ops::Deref;

use yc_iam::emulator::{DEFAULT_IAM_TOKEN, Emulator};
use yc_iam::{Client, Credentials, RetryPolicy};

use crate::error::{CliError, CliResult, EXIT_USAGE};
use crate::settings::Settings;

/// A connected client. Dropping it stops the in-process emulator behind `--emulator`, if any
/// (that emulator keeps no state file, so there is nothing to save on the way out).
pub(crate) struct Session {
    client: Client,
    emulator: Option<Emulator>,
}

impl Deref for Session {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

impl Session {
    /// The clock of the in-process emulator (`--emulator`, `--emulator-state`), if there is one:
    /// the time its keys are stamped with.
    pub(crate) fn emulator_now(&self) -> Option<time::OffsetDateTime> {
        if let Some(emulator) = &self.emulator {
            return Some(emulator.now());
        }
        KEPT.lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(Emulator::now)
    }
}

/// Builds the client from the settings. Nothing is sent yet (discovery is lazy); with
/// `--emulator`, a fresh emulator is started first, holding the configured folder and cloud.
pub(crate) async fn connect(settings: &Settings) -> CliResult<Session> {
    connect_seeded(settings, &[]).await
}

/// [`connect`], with these folders also in a `--emulator`'s fresh emulator (the folders a fleet
/// manifest names).
pub(crate) async fn connect_seeded(settings: &Settings, folders: &[&str]) -> CliResult<Session> {
    let (endpoint, credentials, emulator) = if settings.emulator {
        let emulator = start_emulator(settings, folders).await?;
        let endpoint = emulator.endpoint();
        // Credentials given as flags are the point of a command run against a kept state (a key
        // made by an earlier command); otherwise the emulator's own token.
        let credentials = match &settings.config.credential {
            Some(c) if settings.emulator_state.is_some() && matches!(c.source, yc_iam::config::Source::Flag(_)) => {
                c.value.to_credentials()
            }
            _ => Credentials::iam_token(DEFAULT_IAM_TOKEN),
        };
        let emulator = match &settings.emulator_state {
            Some(path) => {
                crate::error::warn(format_args!(
                    "yc-iam: running against an in-process emulator at {endpoint}, state in {}",
                    path.display()
                ));
                // Kept until `close`, which saves the state once the command is done.
                *KEPT.lock().unwrap_or_else(|e| e.into_inner()) = Some(emulator);
                None
            }
            None => {
                crate::error::warn(format_args!(
                    "yc-iam: running against a fresh in-process emulator at {endpoint}"
                ));
                Some(emulator)
            }
        };
        (endpoint, credentials, emulator)
    } else {
        let credential = settings.config.credential.as_ref().ok_or_else(|| {
            CliError::usage(
                "no credentials: set YC_TOKEN, YC_IAM_TOKEN, YC_SERVICE_ACCOUNT_KEY_FILE or YC_API_KEY, or configure a yc profile",
            )
        })?;
        let credentials = credential.value.to_credentials();
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
        .map_err(|e| CliError::api(None, &e).with_exit(EXIT_USAGE))?;
    tracing::debug!(
        target: "yc_iam_cli",
        "metadata on every call: authorization={:?} x-client-trace-id={:?} \
         x-client-request-id=<new per attempt> idempotency-key=<one per mutating call>",
        masked_authorization(settings),
        client.trace_id()
    );
    Ok(Session { client, emulator })
}

/// The emulator of `--emulator-state`, saved by [`close`].
static KEPT: std::sync::Mutex<Option<Emulator>> = std::sync::Mutex::new(None);

/// Shuts down the emulator of `--emulator-state`, if one was started, saving its state file.
pub(crate) async fn close() {
    let kept = KEPT.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some(emulator) = kept {
        emulator.shutdown().await;
    }
}

async fn start_emulator(settings: &Settings, folders: &[&str]) -> CliResult<Emulator> {
    let mut builder = Emulator::builder();
    if let Some(path) = &settings.emulator_state {
        builder = builder.with_state_file(path);
    }
    if let Some(cloud) = &settings.config.cloud_id {
        builder = builder.with_cloud(cloud.value.clone());
    }
    if let Some(folder) = &settings.config.folder_id {
        builder = builder.with_folder(folder.value.clone());
    }
    for folder in folders {
        builder = builder.with_folder(*folder);
    }
    if let Some(delay) = settings.emulator_binding_delay {
        builder = builder.with_binding_delay(delay);
    }
    builder
        .start()
        .await
        .map_err(|e| CliError::emulator_start("cannot start the emulator", &e))
}

/// The `authorization` header every call carries, masked: the scheme, never the credential.
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
