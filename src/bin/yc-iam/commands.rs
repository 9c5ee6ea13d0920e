//! One function per command.

use crate::cli::Cli;
use crate::error::CliResult;

pub(crate) async fn run(cli: Cli) -> CliResult {
    let _ = cli;
    Ok(())
}
