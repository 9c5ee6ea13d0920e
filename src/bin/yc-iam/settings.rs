//! Raw flags → resolved settings: flags beat `YC_*` variables, which beat the yc profile file,
//! which beats the defaults (`yc_iam::config` does the layering; this adds the CLI-only knobs).

use std::time::Duration;

use secrecy::SecretString;
use yc_iam::config::{self, Credential, Layer, Resolved, Source, YcConfig};

use crate::cli::{Format, GlobalArgs};
use crate::error::{CliError, CliResult, flag};

/// Everything a command needs to know besides its own arguments.
pub(crate) struct Settings {
    pub(crate) format: Format,
    pub(crate) config: config::Settings,
    pub(crate) retry: Option<u32>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) debug: bool,
    pub(crate) emulator: bool,
    /// `--emulator-state`: the file the in-process emulator's state lives in.
    pub(crate) emulator_state: Option<std::path::PathBuf>,
    /// `--emulator-binding-delay`: how long the in-process emulator's new bindings take to apply.
    pub(crate) emulator_binding_delay: Option<Duration>,
    pub(crate) async_: bool,
    /// `--cloud-id` as typed on the command line (for `provision`, where it changes where roles
    /// are granted, a cloud id from the environment or profile must not).
    pub(crate) cloud_id_flag: Option<String>,
}

impl Settings {
    /// Resolves the global flags against the process environment and the default profile file.
    pub(crate) fn resolve(global: &GlobalArgs) -> CliResult<Self> {
        let env = Layer::from_env(|name| std::env::var(name).ok()).map_err(|e| CliError::invalid(&e))?;
        let file = YcConfig::load_default().map_err(|e| CliError::invalid(&e))?;
        Self::resolve_with(global, env, file.as_ref())
    }

    pub(crate) fn resolve_with(global: &GlobalArgs, env: Layer, file: Option<&YcConfig>) -> CliResult<Self> {
        let flags = flag_layer(global)?;
        let config = config::resolve(flags, env, file).map_err(|e| CliError::invalid(&e))?;
        let endpoint = &config.endpoint.value;
        if endpoint.is_empty() || endpoint.chars().any(char::is_whitespace) {
            return Err(CliError::usage(format!(
                "invalid endpoint {endpoint:?} (from {}): expected host:port or http(s)://host:port",
                config.endpoint.source
            )));
        }
        let emulator = global.emulator || global.emulator_state.is_some();
        if global.emulator_binding_delay.is_some() && !emulator {
            return Err(CliError::usage(
                "--emulator-binding-delay applies only with --emulator or --emulator-state",
            ));
        }
        if !emulator {
            warn_if_oauth(&config);
        }
        Ok(Self {
            format: global.format.unwrap_or_default(),
            config,
            retry: global.retry,
            timeout: global.timeout,
            debug: global.debug,
            emulator,
            emulator_state: global.emulator_state.clone(),
            emulator_binding_delay: global.emulator_binding_delay,
            async_: global.async_,
            cloud_id_flag: global.cloud_id.clone(),
        })
    }

    /// The folder: `--folder-id`, `YC_FOLDER_ID` or the profile's `folder-id`; checked.
    /// With `--emulator` and no folder configured, the emulator's default folder.
    pub(crate) fn folder_id(&self) -> CliResult<String> {
        if self.emulator && self.config.folder_id.is_none() {
            return Ok(yc_iam::emulator::DEFAULT_FOLDER_ID.to_owned());
        }
        let folder = self.config.folder_id.as_ref().ok_or_else(|| {
            CliError::usage("no folder: pass --folder-id, set YC_FOLDER_ID, or set folder-id in the yc profile")
        })?;
        check_resolved_id("folder_id", folder)?;
        Ok(folder.value.clone())
    }

    /// The cloud: `--cloud-id`, `YC_CLOUD_ID` or the profile's `cloud-id`; checked.
    pub(crate) fn cloud_id(&self) -> CliResult<String> {
        if self.emulator && self.config.cloud_id.is_none() {
            return Ok(yc_iam::emulator::DEFAULT_CLOUD_ID.to_owned());
        }
        let cloud = self.config.cloud_id.as_ref().ok_or_else(|| {
            CliError::usage("no cloud: pass --cloud-id, set YC_CLOUD_ID, or set cloud-id in the yc profile")
        })?;
        check_resolved_id("cloud_id", cloud)?;
        Ok(cloud.value.clone())
    }
}

/// Yandex is retiring OAuth tokens in Yandex Cloud (their own SDKs mark them deprecated, with
/// use ending by the end of 2026): one line on stderr when one is the credential in effect.
fn warn_if_oauth(config: &config::Settings) {
    if let Some(Resolved {
        value: Credential::OAuthToken(_),
        source,
    }) = &config.credential
    {
        crate::error::warn(format_args!(
            "warning: the OAuth token from {source} is a credential Yandex is retiring (its use in Yandex Cloud \
             ends by the end of 2026); use a service-account key (--service-account-key), the metadata service \
             on a cloud VM, or an IAM token (--iam-token, YC_IAM_TOKEN) instead"
        ));
    }
}

/// Checks an id that may come from any layer; the error says which.
fn check_resolved_id(field: &str, value: &Resolved<String>) -> CliResult {
    yc_iam::provision::check_id(field, &value.value).map_err(|e| {
        let origin = match &value.source {
            Source::Flag(_) => String::new(),
            other => format!(" (from {other})"),
        };
        CliError::usage(format!("invalid {} {:?}{origin}: {}", flag(&e.field), e.value, e.rule))
    })
}

/// Warns that the secret given with the flag `name` is visible to other users (in the process
/// list and shell history), and names the better place for it.
pub(crate) fn warn_visible_secret(name: &str, instead: &str) {
    crate::error::warn(format_args!(
        "warning: a secret passed with {name} is visible to other users of this machine; prefer {instead}"
    ));
}

fn flag_layer(global: &GlobalArgs) -> CliResult<Layer> {
    let flag = |name: &str| Source::Flag(name.to_owned());
    let plain = |value: &Option<String>, name: &str| value.clone().map(|v| Resolved::new(v, flag(name)));
    let secret_flag = |value: &Option<String>, name: &str, var: &str| -> CliResult<Option<SecretString>> {
        let Some(value) = value else { return Ok(None) };
        if value.trim().is_empty() {
            return Err(CliError::usage(format!("invalid {name}: the value is empty")));
        }
        warn_visible_secret(name, &format!("${var} or the yc profile"));
        Ok(Some(SecretString::from(value.trim().to_owned())))
    };
    let credential = if let Some(t) = secret_flag(&global.iam_token, "--iam-token", "YC_IAM_TOKEN")? {
        Some(Resolved::new(Credential::IamToken(t), flag("--iam-token")))
    } else if let Some(t) = secret_flag(&global.token, "--token", "YC_TOKEN")? {
        Some(Resolved::new(Credential::from_yc_token(t), flag("--token")))
    } else if let Some(path) = &global.service_account_key {
        let key = config::load_key_file("--service-account-key", path).map_err(|e| CliError::invalid(&e))?;
        Some(Resolved::new(
            Credential::AuthorizedKey(key),
            flag("--service-account-key"),
        ))
    } else {
        secret_flag(&global.api_key, "--api-key", "YC_API_KEY")?
            .map(|k| Resolved::new(Credential::ApiKey(k), flag("--api-key")))
    };
    Ok(Layer {
        endpoint: plain(&global.endpoint, "--endpoint"),
        folder_id: plain(&global.folder_id, "--folder-id"),
        cloud_id: plain(&global.cloud_id, "--cloud-id"),
        credential,
        profile: plain(&global.profile, "--profile"),
    })
}
