//! Progress for long waits, like yc's `...1s...2s...done (2s)`, on stderr and only when stderr
//! is a terminal: piped output and logs never see it. A terminal that goes away mid-wait is not
//! a panic: the progress is dropped.

use std::future::Future;
use std::io::{IsTerminal, Write};
use std::time::Duration;

/// Runs `work`, showing `label` and the seconds that pass while it runs.
pub(crate) async fn show<F: Future>(label: &str, work: F) -> F::Output {
    if !std::io::stderr().is_terminal() {
        return work.await;
    }
    let start = tokio::time::Instant::now();
    let _ = write!(std::io::stderr(), "{label}...");
    tokio::pin!(work);
    let mut ticks = tokio::time::interval_at(start + Duration::from_secs(1), Duration::from_secs(1));
    let output = loop {
        tokio::select! {
            output = &mut work => break output,
            _ = ticks.tick() => {
                let mut stderr = std::io::stderr();
                let _ = write!(stderr, "{}s...", start.elapsed().as_secs());
                let _ = stderr.flush();
            }
        }
    };
    crate::error::warn(format_args!("done ({}s)", start.elapsed().as_secs()));
    output
}
