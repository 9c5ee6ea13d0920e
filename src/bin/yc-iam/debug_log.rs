//! `--debug`: the library's events at debug level on stderr. The library's call path logs each
//! request and response through its `Debug`, which masks every secret; this tool adds how it
//! connected.

use std::io::IsTerminal;

/// Installs the subscriber that prints `yc_iam` and `yc_iam_cli` events from debug level up.
pub(crate) fn init() {
    let filter = tracing_subscriber::EnvFilter::new("yc_iam=debug,yc_iam_cli=debug");
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .try_init();
}
