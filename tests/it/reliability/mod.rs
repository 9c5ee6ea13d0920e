//! Reliability and security suites — the fault soak, the crash soak, secret hygiene and
//! hostile clients of the emulator. Each prints its figures (`cargo test … -- --nocapture`).

mod fault_soak;
mod hostile_clients;
mod secret_hygiene;

/// A count from the environment variable `name`, or `default`.
pub(crate) fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(default)
}
