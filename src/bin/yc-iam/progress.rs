//! Progress for long waits, like yc's `...1s...2s...done (2s)`, on stderr and only when stderr
//! is a terminal: piped output and logs never see it.

use std::future::Future;
use std::io::{IsTerminal, Write};
use std::time::Duration;

/// Runs `work`, showing `label` and the seconds that pass while it runs.
pub(crate) async fn show<F: Future>(label: &str, work: F) -> F::Output {
    if !std::io::stderr().is_terminal() {
        return work.await;
    }
    let start = tokio::time::Instant::now();
    eprint!("{label}...");
    tokio::pin!(work);
    let mut ticks = tokio::time::interval_at(start + Duration::from_secs(1), Duration::from_secs(1));
    let output = loop {
        tokio::select! {
            output = &mut work => break output,
            _ = ticks.tick() => {
                eprint!("{}s...", start.elapsed().as_secs());
                let _ = std::io::stderr().flush();
            }
        }
    };
    eprintln!("done ({}s)", start.elapsed().as_secs());
    output
}
