//! The value parsers clap calls; they live in the library (`yc_iam::provision`) so that tests
//! and fuzzers can reach them.

pub(crate) use yc_iam::provision::{SubjectArg, parse_duration, parse_labels, parse_subject, parse_timestamp};
