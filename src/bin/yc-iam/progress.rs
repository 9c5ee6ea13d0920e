//! Progress for long waits, like yc's `...1s...2s...done (2s)`, and the bars of a fleet apply
//! (one per phase), on stderr and only when stderr is a terminal: piped output and logs never
//! see them. A terminal that goes away mid-wait is not a panic: the progress is dropped.

use std::future::Future;
use std::io::{IsTerminal, Write};
use std::pin::Pin;
use std::time::Duration;

/// Runs `work`, showing `label` and the seconds that pass while it runs. `work` is pinned by the
/// caller, in the caller's own future: taken by value, it would be held twice here (as the
/// argument and as the pinned local), doubling the size of every future that awaits this one.
pub(crate) async fn show<F: Future>(label: &str, mut work: Pin<&mut F>) -> F::Output {
    if !std::io::stderr().is_terminal() {
        return work.await;
    }
    let start = tokio::time::Instant::now();
    let _ = write!(std::io::stderr(), "{label}...");
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

/// A bar per phase of a fleet apply (accounts, bindings, keys, deletions), on stderr and only
/// when it is a terminal: the running phase's bar is redrawn in place, a finished phase keeps
/// its line, a phase with nothing to do shows none.
pub(crate) struct Bars {
    on: bool,
    current: std::sync::Mutex<Option<yc_iam::fleet::Phase>>,
}

impl Bars {
    pub(crate) fn new() -> Self {
        Bars {
            on: std::io::stderr().is_terminal(),
            current: std::sync::Mutex::new(None),
        }
    }

    pub(crate) fn step(&self, step: yc_iam::fleet::Step) {
        if !self.on || step.total == 0 {
            return;
        }
        let mut current = self.current.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut stderr = std::io::stderr().lock();
        if current.is_some_and(|phase| phase != step.phase) {
            let _ = writeln!(stderr);
        }
        *current = Some(step.phase);
        let _ = write!(stderr, "\r{}", bar(step.phase.name(), step.done, step.total));
        let _ = stderr.flush();
    }

    /// Ends the last bar's line.
    pub(crate) fn finish(&self) {
        let current = self.current.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if current.is_some() {
            let _ = writeln!(std::io::stderr());
        }
    }
}

/// `keys      [############------------] 10/20`.
fn bar(label: &str, done: usize, total: usize) -> String {
    const WIDTH: usize = 24;
    let filled = (done.min(total) * WIDTH).checked_div(total).unwrap_or(WIDTH);
    format!(
        "{label:<9} [{}{}] {done}/{total}",
        "#".repeat(filled),
        "-".repeat(WIDTH - filled)
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_bar_fills_in_proportion_to_the_steps_done() {
        assert_eq!(super::bar("keys", 0, 4), "keys      [------------------------] 0/4");
        assert_eq!(super::bar("keys", 1, 4), "keys      [######------------------] 1/4");
        assert_eq!(super::bar("accounts", 4, 4), "accounts  [########################] 4/4");
    }
}
