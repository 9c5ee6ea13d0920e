//! The command line as typed: clap definitions only. Values that need more than clap's syntax
//! checks (ids, names that may also come from the environment) are checked later, in one place.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, CommandFactory as _, FromArgMatches as _, Parser, Subcommand, ValueEnum};
use time::OffsetDateTime;

use crate::input;

/// The command line, parsed.
#[derive(Debug)]
pub(crate) struct Cli {
    pub(crate) global: GlobalArgs,
    pub(crate) command: Command,
}

/// Provision Yandex Cloud service accounts, role bindings and API keys.
#[derive(Debug, Parser)]
#[command(name = "yc-iam", version, about, long_about = None, propagate_version = true)]
#[command(subcommand_required = true, arg_required_else_help = true)]
#[command(
    after_help = "Exit codes: 0 success, 1 failure, 2 invalid input or usage (nothing was sent), 3 success with something to report (audit --fail-on)."
)]
struct Root {
    #[command(flatten)]
    global: GlobalArgs,
}

impl Cli {
    /// The whole command tree: for help, completions and errors.
    pub(crate) fn command() -> clap::Command {
        Command::augment_subcommands(Root::command())
    }

    /// The tree with only the subcommand `args` names, or `None` when they name none (help, a
    /// typo). clap copies every global flag into each subcommand of the tree it builds: for the
    /// whole tree that costs a tenth of a `provision` run's instructions.
    pub(crate) fn command_for(args: &[OsString]) -> Option<clap::Command> {
        let root = Root::command();
        let name = first_word(&root, args)?;
        // Left for the exit to free, like the trees below.
        let subcommands = std::mem::ManuallyDrop::new(Command::augment_subcommands(clap::Command::new("yc-iam")));
        let chosen = subcommands.find_subcommand(name)?.clone();
        Some(root.subcommand(chosen))
    }

    /// Parses `args` (the program's name first). Where the tree with only the named subcommand
    /// refuses them, the whole tree parses them again, so that help, errors and their
    /// suggestions are those of the whole tree. The trees are left for the process's exit to
    /// free: dropping one, node by node, costs a tenth of a whole `provision` run's instructions.
    pub(crate) fn parse_from(args: &[OsString]) -> Result<Self, clap::Error> {
        if let Some(command) = Self::command_for(args)
            && let Ok(cli) = Self::parse_with(command, args)
        {
            return Ok(cli);
        }
        Self::parse_with(Self::command(), args)
    }

    fn parse_with(command: clap::Command, args: &[OsString]) -> Result<Self, clap::Error> {
        let mut tree = std::mem::ManuallyDrop::new(command);
        let mut matches = tree.try_get_matches_from_mut(args)?;
        let parsed = GlobalArgs::from_arg_matches_mut(&mut matches)
            .and_then(|global| Ok((global, Command::from_arg_matches_mut(&mut matches)?)));
        let (global, command) = parsed.map_err(|e| e.format(&mut tree))?;
        Ok(Cli { global, command })
    }
}

/// The first word of `args` that is neither a flag of `root` nor a flag's value: the subcommand,
/// when clap will read it as one.
fn first_word<'a>(root: &clap::Command, args: &'a [OsString]) -> Option<&'a str> {
    let mut words = args.iter().skip(1);
    while let Some(word) = words.next() {
        let word = word.to_str()?;
        let takes_value = |arg: &clap::Arg| arg.get_action().takes_values();
        if word == "--" {
            return None;
        } else if let Some(long) = word.strip_prefix("--") {
            if !long.contains('=')
                && root
                    .get_arguments()
                    .any(|a| a.get_long() == Some(long) && takes_value(a))
            {
                words.next();
            }
        } else if let Some(shorts) = word.strip_prefix('-').filter(|s| !s.is_empty()) {
            let last = shorts.chars().last();
            if root.get_arguments().any(|a| a.get_short() == last && takes_value(a)) {
                words.next();
            }
        } else {
            return Some(word);
        }
    }
    None
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub(crate) enum Format {
    /// Aligned text for people.
    #[default]
    Text,
    /// YAML, stable for machines.
    Yaml,
    /// JSON, stable for machines.
    Json,
}

/// Flags accepted before or after the subcommand (credentials: before it).
#[derive(Debug, Args, Default, Clone)]
pub(crate) struct GlobalArgs {
    /// Output format.
    #[arg(long, global = true, value_enum, value_name = "FORMAT")]
    pub(crate) format: Option<Format>,
    /// API endpoint (`host:port` for TLS, `http://127.0.0.1:PORT` for a local emulator) [env: YC_ENDPOINT].
    #[arg(long, global = true, value_name = "ENDPOINT")]
    pub(crate) endpoint: Option<String>,
    /// Profile of the yc config file to use [env: YC_PROFILE].
    #[arg(long, global = true, value_name = "NAME")]
    pub(crate) profile: Option<String>,
    /// Folder to work in [env: YC_FOLDER_ID].
    #[arg(long, global = true, value_name = "ID")]
    pub(crate) folder_id: Option<String>,
    /// Cloud to work in; for `provision`, grant the roles on this cloud instead of the folder [env: YC_CLOUD_ID].
    #[arg(long, global = true, value_name = "ID")]
    pub(crate) cloud_id: Option<String>,
    /// Attempts per call for transient failures (1 disables retries).
    #[arg(long, global = true, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100))]
    pub(crate) retry: Option<u32>,
    /// Timeout per call attempt, e.g. `200ms`, `30s`, `2m`.
    #[arg(long, global = true, value_name = "DURATION", value_parser = input::parse_positive_duration)]
    pub(crate) timeout: Option<Duration>,
    /// Log requests and responses (secrets masked) on stderr.
    #[arg(long, global = true)]
    pub(crate) debug: bool,
    /// Run against a fresh in-process emulator (nothing leaves the machine).
    #[arg(long, global = true)]
    pub(crate) emulator: bool,
    /// Run against an in-process emulator whose state is loaded from this file (when it exists)
    /// and saved back when the command ends, so that commands can follow one another; implies
    /// `--emulator`. Credentials given as flags are used; without any, the emulator's own token.
    #[arg(long, global = true, value_name = "FILE")]
    pub(crate) emulator_state: Option<PathBuf>,
    /// With --emulator or --emulator-state: a new access binding takes effect only this long after it is made, as in
    /// the cloud (AI Studio's models and Lockbox payloads refuse the role until then), e.g. `3s`.
    #[arg(long, global = true, value_name = "DURATION", value_parser = input::parse_duration)]
    pub(crate) emulator_binding_delay: Option<Duration>,
    /// Return the operation at once instead of waiting for it (mutating commands).
    #[arg(long = "async", global = true)]
    pub(crate) async_: bool,
    // Credentials are given before the subcommand (`yc-iam --token … sa list`); they are not
    // global, so the `emulator` subcommand keeps its own `--token`.
    /// OAuth or IAM token (visible to other users: prefer YC_TOKEN) [env: YC_TOKEN].
    #[arg(long, value_name = "TOKEN")]
    pub(crate) token: Option<String>,
    /// IAM token (visible to other users: prefer YC_IAM_TOKEN) [env: YC_IAM_TOKEN].
    #[arg(long, value_name = "TOKEN")]
    pub(crate) iam_token: Option<String>,
    /// Service-account authorized key file (JSON) [env: YC_SERVICE_ACCOUNT_KEY_FILE].
    #[arg(long, value_name = "FILE")]
    pub(crate) service_account_key: Option<PathBuf>,
    /// API key (visible to other users: prefer YC_API_KEY) [env: YC_API_KEY].
    #[arg(long, value_name = "KEY")]
    pub(crate) api_key: Option<String>,
}

// Each subcommand enum is `defer`red: a run builds the arguments of the subcommand it names, not
// of every one (a tenth fewer page faults at start-up, where the CLI spends most of its time).
// Deferred, an `Args` struct's doc comment would replace the description of the subcommand it
// fills once that is built, so those structs carry plain comments.
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub(crate) enum Command {
    /// Service accounts.
    #[command(subcommand, name = "service-account", visible_alias = "sa")]
    ServiceAccount(ServiceAccountCommand),
    /// API keys of service accounts.
    #[command(subcommand, name = "api-key")]
    ApiKey(ApiKeyCommand),
    /// Authorized keys of service accounts (`key.json`).
    #[command(subcommand)]
    Key(KeyCommand),
    /// Static access keys of service accounts (AWS-compatible).
    #[command(subcommand, name = "access-key")]
    AccessKey(AccessKeyCommand),
    /// Access bindings of a folder.
    #[command(subcommand)]
    Folder(AccessBindingCommand),
    /// Access bindings of a cloud.
    #[command(subcommand)]
    Cloud(AccessBindingCommand),
    /// Operations.
    #[command(subcommand)]
    Operation(OperationCommand),
    /// Print an IAM token for the configured credentials.
    CreateToken,
    /// Lockbox secrets and their payloads.
    #[command(subcommand)]
    Lockbox(LockboxCommand),
    /// Create (or keep) a service account, its role bindings and an API key in a file.
    Provision(ProvisionArgs),
    /// Every service account of the folder (or, with --cloud-id alone, of the cloud) with all its
    /// keys of the three kinds, their age, use, expiry and the flags a review looks for.
    Audit(AuditArgs),
    /// Replace the managed keys a policy selects (older than, expiring within, or all) with new
    /// keys in the sinks their markers name; old keys are deleted by a later run once --grace has
    /// passed. Keys without a yc-iam marker are reported, never touched.
    Rotate(RotateArgs),
    /// Show what `apply` would change to make the cloud match a fleet manifest (exit 3 if anything).
    Plan(crate::commands::PlanArgs),
    /// Make the cloud match a fleet manifest: accounts, their roles, and (with --prune) removals.
    Apply(crate::commands::ApplyArgs),
    /// Run the emulator as a server.
    Emulator(crate::commands::EmulatorArgs),
    /// Print a shell completion script.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

// Which service account: an id (positional or `--id`) or a name in the folder.
#[derive(Debug, Args, Clone)]
pub(crate) struct AccountSelector {
    /// Service-account id.
    #[arg(value_name = "ID", conflicts_with_all = ["id", "name"])]
    pub(crate) positional: Option<String>,
    /// Service-account id.
    #[arg(long, conflicts_with = "name")]
    pub(crate) id: Option<String>,
    /// Service-account name (looked up in the folder).
    #[arg(long)]
    pub(crate) name: Option<String>,
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub(crate) enum ServiceAccountCommand {
    /// Create a service account.
    Create {
        /// Name: 2–63 lowercase letters, digits, hyphens.
        #[arg(long, value_name = "NAME")]
        name: String,
        /// Description.
        #[arg(long)]
        description: Option<String>,
        /// Labels, `k=v,k2=v2`.
        #[arg(long, value_name = "K=V,...", value_parser = input::parse_labels)]
        labels: Option<BTreeMap<String, String>>,
    },
    /// Show a service account.
    Get(AccountSelector),
    /// List the service accounts of the folder.
    List,
    /// Change a service account.
    Update {
        #[command(flatten)]
        account: AccountSelector,
        /// New name.
        #[arg(long, value_name = "NAME")]
        new_name: Option<String>,
        /// New description.
        #[arg(long)]
        description: Option<String>,
        /// New labels (replace all), `k=v,…`.
        #[arg(long, value_name = "K=V,...", value_parser = input::parse_labels)]
        labels: Option<BTreeMap<String, String>>,
    },
    /// Delete a service account.
    Delete(AccountSelector),
}

// The service account an API key or binding is about.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct KeyOwner {
    /// Service-account id.
    #[arg(long, value_name = "ID", conflicts_with = "service_account_name")]
    pub(crate) service_account_id: Option<String>,
    /// Service-account name (looked up in the folder).
    #[arg(long, value_name = "NAME")]
    pub(crate) service_account_name: Option<String>,
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
// The shared subcommands, described in this group's words.
#[command(
    mut_subcommand("get", |c| c.about("Show an API key").mut_arg("id", |a| a.help("Key id"))),
    mut_subcommand("list", |c| c.about("List the API keys of a service account")),
    mut_subcommand("update", |c| c.about("Change an API key")),
    mut_subcommand("delete", |c| c.about("Delete an API key"))
)]
pub(crate) enum ApiKeyCommand {
    /// Create an API key; prints the secret once, in the shape of `yc iam api-key create`.
    Create {
        #[command(flatten)]
        owner: KeyOwner,
        /// Scopes, comma-separated.
        #[arg(long, value_name = "A,B", value_delimiter = ',')]
        scopes: Vec<String>,
        /// A scope (repeatable).
        #[arg(long, value_name = "SCOPE")]
        scope: Vec<String>,
        /// Description.
        #[arg(long)]
        description: Option<String>,
        #[command(flatten)]
        expiry: Expiry,
    },
    #[command(flatten)]
    Record(KeyRecordCommand<ApiKeyChange>),
    /// List the scopes API keys can have.
    ListScopes,
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
#[command(mut_subcommand("update", |c| c.about("Change a key's description")))]
pub(crate) enum KeyCommand {
    /// Create an authorized key; the key file (private key included) goes to `--output`, or to
    /// stdout without it.
    Create {
        #[command(flatten)]
        owner: KeyOwner,
        /// Description.
        #[arg(long)]
        description: Option<String>,
        /// `rsa-2048` or `rsa-4096` [default: rsa-2048].
        #[arg(long, value_name = "ALGORITHM", value_parser = input::parse_key_algorithm)]
        algorithm: Option<yc_iam::provision::KeyAlgorithm>,
        /// The key file to write (JSON, as `yc iam key create --output`), 0600.
        #[arg(long, value_name = "FILE")]
        output: Option<std::path::PathBuf>,
    },
    #[command(flatten)]
    Record(KeyRecordCommand<NewDescription>),
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
#[command(mut_subcommand("update", |c| c.about("Change a key's description")))]
pub(crate) enum AccessKeyCommand {
    /// Create a static access key; prints the key and its secret once, as `yc iam access-key create`.
    Create {
        #[command(flatten)]
        owner: KeyOwner,
        /// Description.
        #[arg(long)]
        description: Option<String>,
    },
    #[command(flatten)]
    Record(KeyRecordCommand<NewDescription>),
}

/// What every key group does besides `create`; `U` is the group's `update` flags.
#[derive(Debug, Subcommand)]
pub(crate) enum KeyRecordCommand<U: Args> {
    /// Show a key.
    Get {
        /// Key id (the resource id; for a static access key, not its AWS key id).
        #[arg(value_name = "ID")]
        id: String,
    },
    /// List the keys of a service account.
    List {
        #[command(flatten)]
        owner: KeyOwner,
    },
    /// Change a key.
    Update {
        /// Key id.
        #[arg(value_name = "ID")]
        id: String,
        #[command(flatten)]
        change: U,
    },
    /// Delete a key.
    Delete {
        /// Key id.
        #[arg(value_name = "ID")]
        id: String,
    },
}

// `update` of an authorized or static access key: the description is all it changes.
#[derive(Debug, Args)]
pub(crate) struct NewDescription {
    /// New description.
    #[arg(long)]
    pub(crate) description: String,
}

// `api-key update`: what it changes.
#[derive(Debug, Args)]
pub(crate) struct ApiKeyChange {
    /// New description.
    #[arg(long)]
    pub(crate) description: Option<String>,
    /// New scopes, comma-separated.
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    pub(crate) scopes: Vec<String>,
    #[command(flatten)]
    pub(crate) expiry: Expiry,
}

// `--expires-at` or `--expires-in`.
#[derive(Debug, Args, Clone, Default)]
pub(crate) struct Expiry {
    /// Expiry time, RFC 3339 (`2030-01-01T00:00:00Z`).
    #[arg(long, value_name = "TIME", value_parser = input::parse_timestamp, conflicts_with = "expires_in")]
    pub(crate) expires_at: Option<OffsetDateTime>,
    /// Expiry from now: `90d`, `12h`, `30m`, `1w`.
    #[arg(long, value_name = "DURATION", value_parser = input::parse_positive_duration)]
    pub(crate) expires_in: Option<Duration>,
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub(crate) enum AccessBindingCommand {
    /// Grant a role to a subject.
    AddAccessBinding(BindingArgs),
    /// Revoke a role from a subject.
    RemoveAccessBinding(BindingArgs),
    /// List the access bindings.
    ListAccessBindings {
        /// Resource id (default: --folder-id / --cloud-id).
        #[arg(value_name = "ID")]
        id: Option<String>,
    },
}

#[derive(Debug, Args)]
pub(crate) struct BindingArgs {
    /// Resource id (default: --folder-id / --cloud-id).
    #[arg(value_name = "ID")]
    pub(crate) id: Option<String>,
    /// Role, e.g. `ai.languageModels.user`.
    #[arg(long, value_name = "ROLE")]
    pub(crate) role: String,
    /// Subject `TYPE:ID` (`serviceAccount:…`, `userAccount:…`, `federatedUser:…`, `group:…`,
    /// `system:allUsers`, `system:allAuthenticatedUsers`, `system:group:organization:<id>:users`,
    /// `system:group:federation:<id>:users`).
    #[arg(long, value_name = "TYPE:ID", value_parser = input::parse_subject, conflicts_with_all = ["service_account_id", "service_account_name"])]
    pub(crate) subject: Option<input::SubjectArg>,
    #[command(flatten)]
    pub(crate) owner: KeyOwner,
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub(crate) enum OperationCommand {
    /// Show an operation.
    Get {
        /// Operation id.
        #[arg(value_name = "ID")]
        id: String,
    },
    /// Wait for an operation to finish and show it.
    Wait {
        /// Operation id.
        #[arg(value_name = "ID")]
        id: String,
    },
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub(crate) enum LockboxCommand {
    /// Lockbox secrets.
    #[command(subcommand)]
    Secret(SecretCommand),
    /// The payload of a secret's version.
    #[command(subcommand)]
    Payload(PayloadCommand),
}

// Which Lockbox secret: `--id`, or `--name` in the folder.
#[derive(Debug, Args, Clone)]
pub(crate) struct SecretSelector {
    /// Secret id.
    #[arg(long, value_name = "ID", conflicts_with = "name")]
    pub(crate) id: Option<String>,
    /// Secret name (in --folder-id).
    #[arg(long, value_name = "NAME")]
    pub(crate) name: Option<String>,
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub(crate) enum SecretCommand {
    /// List the secrets of the folder.
    List,
    /// Show a secret and its current version.
    Get(SecretSelector),
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub(crate) enum PayloadCommand {
    /// Show a version's entries (the current version unless --version-id); values are masked
    /// unless --reveal.
    Get {
        #[command(flatten)]
        secret: SecretSelector,
        /// Version id.
        #[arg(long, value_name = "ID")]
        version_id: Option<String>,
        /// Print only this entry's value.
        #[arg(long, value_name = "KEY")]
        key: Option<String>,
        /// Show the values (they are secrets).
        #[arg(long)]
        reveal: bool,
    },
}

#[derive(Debug, Args)]
pub(crate) struct ProvisionArgs {
    /// Service-account name (2–63 lowercase letters, digits, hyphens).
    #[arg(long, value_name = "NAME")]
    pub(crate) name: String,
    /// Description of a new service account.
    #[arg(long)]
    pub(crate) description: Option<String>,
    /// Labels of a new service account, `k=v,…`.
    #[arg(long, value_name = "K=V,...", value_parser = input::parse_labels)]
    pub(crate) labels: Option<BTreeMap<String, String>>,
    /// Role to grant (repeatable) [default: ai.languageModels.user].
    #[arg(long, value_name = "ROLE")]
    pub(crate) role: Vec<String>,
    /// API-key scope (repeatable) [default: yc.ai.languageModels.execute].
    #[arg(long, value_name = "SCOPE")]
    pub(crate) scope: Vec<String>,
    /// API-key scopes, comma-separated.
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    pub(crate) scopes: Vec<String>,
    /// Description of a new key.
    #[arg(long)]
    pub(crate) key_description: Option<String>,
    #[command(flatten)]
    pub(crate) expiry: Expiry,
    /// Where the key goes: a key file, `env:PATH` (dotenv), `k8s:PATH` (Kubernetes Secret
    /// manifest), `lockbox://NAME` or `lockbox://ID` (Lockbox secret), or `-` (stdout, secret
    /// included).
    /// [default: api-key.yaml, key.json for authorized keys, credentials (an AWS shared-credentials
    /// file) for static keys]
    #[arg(long, value_name = "OUTPUT", value_parser = input::parse_output)]
    pub(crate) output: Option<input::OutputArg>,
    /// The kind of key: `api-key`, `authorized-key` (the `key.json` of `yc iam key create`) or
    /// `static-key` (an AWS-compatible access key).
    #[arg(long, value_name = "TYPE", default_value = "api-key", value_parser = input::parse_key_type)]
    pub(crate) key_type: yc_iam::provision::KeyType,
    /// RSA key size of a new authorized key: `rsa-2048` or `rsa-4096` [default: rsa-2048].
    #[arg(long, value_name = "ALGORITHM", value_parser = input::parse_key_algorithm)]
    pub(crate) key_algorithm: Option<yc_iam::provision::KeyAlgorithm>,
    /// Profile of the AWS credentials file a static key is written to [default: default].
    #[arg(long, value_name = "NAME")]
    pub(crate) aws_profile: Option<String>,
    /// Entry name in the output (repeatable): `api-key=NAME` (the secret), `api-key-id=NAME` (the
    /// key's id), `folder-id=NAME`.
    #[arg(long, value_name = "ROLE=NAME", value_parser = input::parse_entry)]
    pub(crate) entry: Vec<(input::EntryRole, String)>,
    /// `metadata.name` of the Kubernetes Secret (`k8s:` output) [default: the service-account name].
    #[arg(long, value_name = "NAME")]
    pub(crate) k8s_secret_name: Option<String>,
    /// Folder of the Lockbox secret named by `lockbox://NAME` [default: --folder-id].
    #[arg(long, value_name = "ID")]
    pub(crate) lockbox_folder_id: Option<String>,
    /// Grant `lockbox.payloadViewer` on the Lockbox secret to this subject, `TYPE:ID` (repeatable).
    #[arg(long, value_name = "TYPE:ID", value_parser = input::parse_subject)]
    pub(crate) lockbox_reader: Vec<input::SubjectArg>,
    /// How long a replaced Lockbox version stays before it is destroyed [default: 7d].
    #[arg(long, value_name = "DURATION", value_parser = input::parse_positive_duration)]
    pub(crate) lockbox_pending_period: Option<Duration>,
    /// Make a new key even if the kept one is valid, write it, then delete the old one.
    #[arg(long)]
    pub(crate) rotate: bool,
    /// Print the plan without changing anything.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Once the key is in place, call AI Studio's TokenizerService.Tokenize with it until it
    /// works (a new role binding takes a while to apply) or --verify-timeout passes, and report
    /// how long that took; exit 1 if it never works (the key stays in place). API keys and
    /// authorized keys only.
    #[arg(long)]
    pub(crate) verify: bool,
    /// The model --verify calls [default: gpt://<folder id>/yandexgpt-lite/latest].
    #[arg(long, value_name = "URI", requires = "verify")]
    pub(crate) verify_model: Option<String>,
    /// How long --verify keeps trying, e.g. `30s`, `5m` [default: 2m].
    #[arg(long, value_name = "DURATION", requires = "verify", value_parser = input::parse_positive_duration)]
    pub(crate) verify_timeout: Option<Duration>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    /// The command at `path`, built as a run naming it builds it.
    fn built(path: &[String]) -> clap::Command {
        let mut command = Cli::command();
        let args = ["yc-iam"]
            .into_iter()
            .chain(path.iter().map(String::as_str))
            .chain(["--help"]);
        let _ = command.try_get_matches_from_mut(args);
        path.iter().fold(command, |parent, name| {
            parent.find_subcommand(name).expect("listed").clone()
        })
    }

    #[test]
    fn every_subcommand_keeps_the_description_its_parent_lists() {
        let mut paths = vec![Vec::<String>::new()];
        while let Some(path) = paths.pop() {
            for listed in built(&path).get_subcommands().filter(|c| c.get_name() != "help") {
                let child = [path.clone(), vec![listed.get_name().to_owned()]].concat();
                let about = |c: &clap::Command| c.get_about().map(ToString::to_string);
                assert_eq!(about(&built(&child)), about(listed), "yc-iam {}", child.join(" "));
                paths.push(child);
            }
        }
    }

    fn os_args(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn the_command_is_the_first_word_that_is_no_flag_nor_a_flag_value() {
        let first = |args: &[&str]| first_word(&Root::command(), &os_args(args)).map(str::to_owned);
        assert_eq!(
            first(&["yc-iam", "--profile", "provision", "sa", "list"]).as_deref(),
            Some("sa")
        );
        assert_eq!(
            first(&["yc-iam", "--profile=a", "provision"]).as_deref(),
            Some("provision")
        );
        assert_eq!(
            first(&["yc-iam", "--debug", "--emulator", "audit"]).as_deref(),
            Some("audit")
        );
        assert_eq!(first(&["yc-iam", "--", "provision"]), None);
        assert_eq!(first(&["yc-iam", "-h"]), None);
    }

    #[test]
    fn the_tree_of_the_named_command_parses_as_the_whole_tree_does() {
        let shown = |r: Result<Cli, clap::Error>| r.map(|c| format!("{c:?}")).map_err(|e| e.render().to_string());
        let parses = [
            &["yc-iam", "--profile", "provision", "sa", "list", "--format", "json"][..],
            &[
                "yc-iam",
                "provision",
                "--name",
                "a",
                "--role",
                "r",
                "--output",
                "-",
                "--timeout",
                "2s",
            ],
            &["yc-iam", "--token", "t", "api-key", "list", "--service-account-id", "x"],
            &["yc-iam", "--debug", "audit", "--emulator", "--fail-on", "unused"],
        ];
        for args in parses.map(os_args) {
            let whole = Cli::parse_with(Cli::command(), &args);
            assert!(whole.is_ok(), "{args:?}");
            let named = Cli::command_for(&args).expect("the arguments name a command");
            assert_eq!(shown(Cli::parse_with(named, &args)), shown(whole), "{args:?}");
        }
        // What the named command's tree refuses, the whole tree answers, help included.
        let refused = [
            &["yc-iam", "provision", "--token", "t", "--name", "a"][..],
            &["yc-iam", "provision", "--help"],
            &["yc-iam", "sa", "lst"],
            &["yc-iam", "provison"],
            &["yc-iam", "--format", "xml", "audit"],
        ];
        for args in refused.map(os_args) {
            let whole = Cli::parse_with(Cli::command(), &args);
            assert!(whole.is_err(), "{args:?}");
            assert_eq!(shown(Cli::parse_from(&args)), shown(whole), "{args:?}");
        }
    }

    #[test]
    fn global_flags_go_before_or_after_the_subcommand() {
        let parse = |args: &[&str]| Cli::parse_from(&os_args(args)).unwrap();
        let a = parse(&["yc-iam", "--format", "json", "sa", "list"]);
        let b = parse(&["yc-iam", "sa", "list", "--format", "json"]);
        assert_eq!(a.global.format, Some(Format::Json));
        assert_eq!(b.global.format, Some(Format::Json));
    }
}

// Flags of `yc-iam audit`.
#[derive(Debug, Args)]
pub(crate) struct AuditArgs {
    /// A key not used for this long (or never used and older than this) is flagged `unused`.
    #[arg(long, value_name = "DURATION", default_value = "30d", value_parser = input::parse_positive_duration)]
    pub(crate) unused_for: Duration,
    /// A key expiring within this long is flagged `expiring`.
    #[arg(long, value_name = "DURATION", default_value = "14d", value_parser = input::parse_duration)]
    pub(crate) expiring_within: Duration,
    /// How many listings run at once.
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub(crate) parallel: u16,
    /// Exit with 3 when any of these flags is raised (comma-separated): unused, never-used,
    /// expiring, no-expiry, expired, account-suspended.
    #[arg(long, value_name = "FLAG,…", value_delimiter = ',', value_parser = input::parse_audit_flag)]
    pub(crate) fail_on: Vec<yc_iam::audit::Flag>,
    /// Judge ages, use and expiry at this time (RFC 3339) [default: the in-process emulator's
    /// clock with --emulator/--emulator-state, else now].
    #[arg(long, value_name = "TIME", value_parser = input::parse_timestamp)]
    pub(crate) now: Option<OffsetDateTime>,
}

// Flags of `yc-iam rotate`.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("accounts").required(true).args(["service_account_name", "all"]))]
#[command(group = clap::ArgGroup::new("select").required(true).args(["older_than", "expiring_within", "all_keys"]))]
pub(crate) struct RotateArgs {
    /// Rotate the keys of this service account (in --folder-id).
    #[arg(long, value_name = "NAME")]
    pub(crate) service_account_name: Option<String>,
    /// Rotate the keys of every service account of the folder.
    #[arg(long)]
    pub(crate) all: bool,
    /// Only keys of these kinds (comma-separated or repeated): api-key, authorized-key,
    /// static-key [default: every kind].
    #[arg(long, value_name = "TYPE,…", value_delimiter = ',', value_parser = input::parse_key_type)]
    pub(crate) key_type: Vec<yc_iam::provision::KeyType>,
    /// Rotate keys older than this, e.g. `90d`.
    #[arg(long, value_name = "DURATION", value_parser = input::parse_duration)]
    pub(crate) older_than: Option<Duration>,
    /// Rotate API keys that expire within this long, e.g. `14d` (or have expired).
    #[arg(long, value_name = "DURATION", value_parser = input::parse_duration)]
    pub(crate) expiring_within: Option<Duration>,
    /// Rotate every managed key.
    #[arg(long)]
    pub(crate) all_keys: bool,
    /// How long a replaced key stays after its successor is made; a run after that deletes it.
    #[arg(long, value_name = "DURATION", default_value = "24h", value_parser = input::parse_duration)]
    pub(crate) grace: Duration,
    /// A file that may hold managed keys (repeatable): `PATH` (key file), `env:PATH` or
    /// `k8s:PATH`, as `provision --output` names them. A key kept in a file is rotated only when
    /// its file is given; Lockbox secrets are found from the keys themselves.
    #[arg(long = "sink", value_name = "SINK", value_parser = input::parse_output)]
    pub(crate) sinks: Vec<input::OutputArg>,
    /// Judge ages, expiries and deletions at this time (RFC 3339) [default: the in-process
    /// emulator's clock with --emulator/--emulator-state, else now].
    #[arg(long, value_name = "TIME", value_parser = input::parse_timestamp)]
    pub(crate) now: Option<OffsetDateTime>,
    /// How many listings run at once.
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub(crate) parallel: u16,
    /// Profile of the AWS credentials files static keys are read from and written to [default:
    /// default]; keys the other profiles hold are left.
    #[arg(long, value_name = "NAME")]
    pub(crate) aws_profile: Option<String>,
    /// Print what would be done without changing anything.
    #[arg(long)]
    pub(crate) dry_run: bool,
}
