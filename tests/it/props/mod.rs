//! Property tests on every parser of outside input. Each one feeds arbitrary
//! and near-valid input and checks that the parser never panics, accepts what is valid, and
//! rejects what is not with an error (never a secret in it).
//!
//! The number of cases per property is proptest's default (256), raised or lowered with
//! `PROPTEST_CASES`; e.g. `PROPTEST_CASES=5000 cargo test --release props::`.

mod authorized_key;
mod endpoint;
mod inputs;
mod metadata;
mod page_token;
mod profile;

use proptest::test_runner::Config;

/// Proptest's configuration for these suites: the default case count (or `PROPTEST_CASES`),
/// scaled by `factor` for properties whose cases are costly (a network round trip, an RSA key).
pub(crate) fn config(divisor: u32) -> Config {
    let base = Config::default();
    Config {
        cases: (base.cases / divisor).max(16),
        // A shrunk failure is printed; files of regressions beside the sources are not wanted.
        failure_persistence: None,
        ..base
    }
}
