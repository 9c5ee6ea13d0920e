//! `yc-iam`: the command-line tool. Layered like ripgrep and uv: raw flags (`cli`) → resolved
//! settings (`settings`) → one function per command (`commands`), with rendering in `output` and
//! failure reporting in `error`. It is an ordinary user of the library's public API.

#![forbid(unsafe_code)]
// `print!` and `eprint!` panic when their stream is a closed pipe: output goes through `output`,
// stderr lines through `error::warn`.
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod cli;
mod commands;
mod debug_log;
mod error;
mod input;
mod output;
mod progress;
mod session;
mod settings;

use std::process::ExitCode;

use crate::error::{CliError, EXIT_USAGE};

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let cli = match cli::Cli::parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => return clap_error(e),
    };
    let runtime = match runtime_for(&cli.command) {
        Ok(rt) => rt,
        Err(e) => return CliError::failure(format!("cannot start the async runtime: {e}")).report(),
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => e.report(),
    }
}

/// A command is a short chain of sequential calls: one thread runs it without a hop between
/// workers for every reply. The emulator serves many clients at once and gets both cores.
fn runtime_for(command: &cli::Command) -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = match command {
        cli::Command::Emulator(_) => {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            builder.worker_threads(2);
            builder
        }
        _ => tokio::runtime::Builder::new_current_thread(),
    };
    builder.enable_all().build()
}

/// Help and version go to stdout with exit 0; usage errors become one line on stderr, exit 2.
fn clap_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                ExitCode::from(EXIT_USAGE)
            } else {
                ExitCode::SUCCESS
            }
        }
        _ => {
            let rendered = e.render().to_string();
            // The first paragraph says what is wrong; the rest is usage and tips.
            let first: Vec<&str> = rendered
                .lines()
                .take_while(|l| !l.trim().is_empty())
                .map(str::trim)
                .collect();
            let line = first.join(" ");
            let mut line = line.strip_prefix("error: ").unwrap_or(&line).to_owned();
            if let Some(flag) = misplaced_credential(&e) {
                line.push_str(&format!(
                    "; credentials go before the command, as in `yc-iam {flag} … <command> …`"
                ));
            }
            CliError::usage(line).report()
        }
    }
}

/// The credential flag a command was given, if that is what clap refused: credentials are flags of
/// `yc-iam` itself, not of its commands (the `emulator` command has a `--token` of its own).
fn misplaced_credential(e: &clap::Error) -> Option<&'static str> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    const CREDENTIAL_FLAGS: [&str; 4] = ["--token", "--iam-token", "--service-account-key", "--api-key"];
    if e.kind() != ErrorKind::UnknownArgument {
        return None;
    }
    let Some(ContextValue::String(arg)) = e.get(ContextKind::InvalidArg) else {
        return None;
    };
    // The emulator takes no client credentials, wherever they are put.
    if let Some(ContextValue::StyledStr(usage)) = e.get(ContextKind::Usage)
        && usage.to_string().contains("yc-iam emulator")
    {
        return None;
    }
    let name = arg.split('=').next().unwrap_or_default();
    CREDENTIAL_FLAGS.into_iter().find(|flag| *flag == name)
}
