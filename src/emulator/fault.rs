//! Fault injection: per-method rules that fail, drop or delay calls, for testing retries.

use std::collections::BTreeMap;

use tokio::time::Duration;
use tonic::Code;

/// The method key that applies a fault to every method without a fault of its own.
pub const ALL_METHODS: &str = "*";

/// A fault injected into calls of one method.
///
/// Methods are named by their gRPC path, e.g. `/yandex.cloud.iam.v1.ServiceAccountService/Create`,
/// or [`ALL_METHODS`] for every method.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Fault {
    /// Fail the first `n` calls with `code` (UNAVAILABLE or RESOURCE_EXHAUSTED; the latter
    /// carries `google.rpc.RetryInfo`), then serve normally.
    FailFirst {
        /// How many calls fail.
        n: u32,
        /// The status code they fail with.
        code: Code,
    },
    /// Fail a fraction `rate` (0.0–1.0) of calls with `code`, chosen by a generator seeded with
    /// `seed`, so a run is reproducible.
    FailRate {
        /// Fraction of calls that fail.
        rate: f64,
        /// Seed of the random generator.
        seed: u64,
        /// The status code they fail with.
        code: Code,
    },
    /// Apply the first `n` calls, then lose their responses: the caller sees UNAVAILABLE although
    /// the change happened (a retry with the same `idempotency-key` gets the original result).
    DropResponseAfterApply {
        /// How many responses are lost.
        n: u32,
    },
    /// Delay every call by this long (measured with `tokio::time`) before it is handled: a caller
    /// that gives up meanwhile leaves nothing applied.
    Delay(Duration),
    /// Apply every call at once but delay its response by this long: a caller that gives up and
    /// retries with the same `idempotency-key` finds its change made.
    DelayResponseAfterApply(Duration),
    /// Apply a fraction `rate` (0.0–1.0) of calls, then lose their responses (as
    /// [`Fault::DropResponseAfterApply`]), chosen by a generator seeded with `seed`.
    DropRate {
        /// Fraction of calls whose response is lost.
        rate: f64,
        /// Seed of the random generator.
        seed: u64,
    },
    /// Accept every long-running call but let its operation end (after the operation delay) with
    /// `error` = `code` and apply nothing, like a change the cloud refuses after starting it.
    FailOperation {
        /// The code of the operation's `error`.
        code: Code,
    },
    /// Apply every long-running call but put an `Any` of `google.protobuf.Empty` in its
    /// operation's `response`, so a client meets a response of the wrong type.
    WrongOperationResponse,
    /// Several faults at once: each call asks them in order and the first that triggers decides
    /// (each keeps its own counter and generator). E.g. a burst of RESOURCE_EXHAUSTED in front of
    /// a steady rate of UNAVAILABLE.
    Any(Vec<Fault>),
}

/// What the layer does with one call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Action {
    Serve,
    Fail(Code),
    DropAfterApply,
    Delay(Duration),
    DelayAfterApply(Duration),
    /// Handled by the service: see [`OperationFault`].
    Operation(OperationFault),
}

/// A fault that the operation-starting service applies, handed to it in the request extensions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum OperationFault {
    Fail(Code),
    WrongResponse,
}

#[derive(Debug)]
struct Rule {
    fault: Fault,
    calls: u64,
    rng: fastrand::Rng,
    /// The rules of a [`Fault::Any`], in order.
    inner: Vec<Rule>,
}

impl Rule {
    fn new(fault: Fault) -> Self {
        let seed = match &fault {
            Fault::FailRate { seed, .. } | Fault::DropRate { seed, .. } => *seed,
            _ => 0,
        };
        let inner = match &fault {
            Fault::Any(faults) => faults.iter().cloned().map(Rule::new).collect(),
            _ => Vec::new(),
        };
        Rule {
            fault,
            calls: 0,
            rng: fastrand::Rng::with_seed(seed),
            inner,
        }
    }

    /// Decides the fate of one call, counting it.
    fn decide(&mut self) -> Action {
        self.calls += 1;
        match &self.fault {
            Fault::FailFirst { n, code } if self.calls <= u64::from(*n) => Action::Fail(*code),
            Fault::FailRate { rate, code, .. } if self.rng.f64() < *rate => Action::Fail(*code),
            Fault::DropResponseAfterApply { n } if self.calls <= u64::from(*n) => Action::DropAfterApply,
            Fault::DropRate { rate, .. } if self.rng.f64() < *rate => Action::DropAfterApply,
            Fault::Delay(d) => Action::Delay(*d),
            Fault::DelayResponseAfterApply(d) => Action::DelayAfterApply(*d),
            Fault::FailOperation { code } => Action::Operation(OperationFault::Fail(*code)),
            Fault::WrongOperationResponse => Action::Operation(OperationFault::WrongResponse),
            Fault::Any(_) => {
                // Every inner rule sees every call, so counters and generators stay independent.
                let mut action = Action::Serve;
                for rule in &mut self.inner {
                    let inner = rule.decide();
                    if action == Action::Serve {
                        action = inner;
                    }
                }
                action
            }
            _ => Action::Serve,
        }
    }
}

/// The faults configured per method, with their counters.
#[derive(Debug, Default)]
pub(crate) struct FaultTable {
    rules: BTreeMap<String, Rule>,
}

impl FaultTable {
    pub(crate) fn set(&mut self, method: &str, fault: Fault) {
        self.rules.insert(method.to_owned(), Rule::new(fault));
    }

    pub(crate) fn clear(&mut self) {
        self.rules.clear();
    }

    /// Decides the fate of one call of `method`, counting it.
    pub(crate) fn decide(&mut self, method: &str) -> Action {
        let key = if self.rules.contains_key(method) {
            method
        } else {
            ALL_METHODS
        };
        match self.rules.get_mut(key) {
            Some(rule) => rule.decide(),
            None => Action::Serve,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_first_then_serve_and_specific_rules_win() {
        let mut t = FaultTable::default();
        t.set(
            "/a",
            Fault::FailFirst {
                n: 2,
                code: Code::Unavailable,
            },
        );
        t.set(ALL_METHODS, Fault::Delay(Duration::from_millis(5)));
        assert_eq!(t.decide("/a"), Action::Fail(Code::Unavailable));
        assert_eq!(t.decide("/a"), Action::Fail(Code::Unavailable));
        assert_eq!(t.decide("/a"), Action::Serve);
        assert_eq!(t.decide("/b"), Action::Delay(Duration::from_millis(5)));
    }

    #[test]
    fn fail_rate_is_reproducible_for_a_seed() {
        let run = || {
            let mut t = FaultTable::default();
            t.set(
                "/a",
                Fault::FailRate {
                    rate: 0.5,
                    seed: 7,
                    code: Code::Unavailable,
                },
            );
            (0..64).map(|_| t.decide("/a") == Action::Serve).collect::<Vec<_>>()
        };
        let first = run();
        assert_eq!(first, run());
        assert!(first.iter().any(|s| *s) && first.iter().any(|s| !*s));
    }

    #[test]
    fn any_asks_every_fault_in_order_and_drop_rate_drops() {
        let mut t = FaultTable::default();
        t.set(
            "/a",
            Fault::Any(vec![
                Fault::FailFirst {
                    n: 2,
                    code: Code::ResourceExhausted,
                },
                Fault::DropRate { rate: 1.0, seed: 3 },
            ]),
        );
        assert_eq!(t.decide("/a"), Action::Fail(Code::ResourceExhausted));
        assert_eq!(t.decide("/a"), Action::Fail(Code::ResourceExhausted));
        assert_eq!(t.decide("/a"), Action::DropAfterApply);
        t.set("/b", Fault::DropRate { rate: 0.0, seed: 3 });
        assert_eq!(t.decide("/b"), Action::Serve);
    }
}
