//! How a failed command is reported: one line saying what failed and why (the error and its
//! sources, joined), then the ids a support request needs, and the exit code.

use std::io::Write;
use std::process::ExitCode;

use yc_iam::provision::InvalidInput;

use crate::output::escape_controls;

/// Exit code 2: invalid input or usage; nothing was sent.
pub(crate) const EXIT_USAGE: u8 = 2;
/// Exit code 3: success with something to report, for CI gates (`audit --fail-on` with a raised flag, `plan` with changes).
pub(crate) const EXIT_REPORT: u8 = 3;
/// Exit code 1: anything else.
pub(crate) const EXIT_FAILURE: u8 = 1;

#[derive(Debug)]
pub(crate) struct CliError {
    exit: u8,
    message: String,
    ids: Vec<(&'static str, String)>,
}

pub(crate) type CliResult<T = ()> = Result<T, CliError>;

impl CliError {
    /// Invalid input or usage (exit 2).
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self {
            exit: EXIT_USAGE,
            message: message.into(),
            ids: Vec::new(),
        }
    }

    /// Any other failure (exit 1).
    pub(crate) fn failure(message: impl Into<String>) -> Self {
        Self {
            exit: EXIT_FAILURE,
            message: message.into(),
            ids: Vec::new(),
        }
    }

    /// Invalid input, from an error and its sources.
    pub(crate) fn invalid(err: &(dyn std::error::Error + 'static)) -> Self {
        Self::usage(chain(err))
    }

    /// An emulator that did not start: a state, authorized-key or TLS file the user named that cannot be
    /// used is bad input (exit 2), as any other file named on the command line; anything else,
    /// such as an address already in use, is a failure.
    pub(crate) fn emulator_start(context: &str, err: &yc_iam::emulator::EmulatorError) -> Self {
        use yc_iam::emulator::EmulatorError;
        let message = format!("{context}: {}", chain(err));
        match err {
            EmulatorError::State { .. }
            | EmulatorError::File { .. }
            | EmulatorError::AuthorizedKey { .. }
            | EmulatorError::Tls(_) => Self::usage(message),
            _ => Self::failure(message),
        }
    }

    /// An API error: exit 2 only when it was refused locally before sending; with its ids.
    /// Its `Display` is already the whole story (the gRPC status underneath is not repeated).
    pub(crate) fn api(context: Option<&str>, err: &yc_iam::Error) -> Self {
        let text = one_line(&err.to_string());
        let message = match context {
            Some(c) => format!("{c}: {text}"),
            None => text,
        };
        let exit = if err.is_invalid_input() {
            EXIT_USAGE
        } else {
            EXIT_FAILURE
        };
        let mut this = Self {
            exit,
            message,
            ids: Vec::new(),
        };
        this.add_ids(err);
        this
    }

    /// Adds the ids an API error carries.
    pub(crate) fn add_ids(&mut self, err: &yc_iam::Error) {
        let ids = [
            ("client-request-id", err.client_request_id()),
            ("server-request-id", err.server_request_id()),
            ("server-trace-id", err.server_trace_id()),
            ("operation-id", err.operation_id()),
        ];
        for (label, id) in ids {
            if let Some(id) = id.filter(|id| !id.is_empty()) {
                self.ids.push((label, id.to_owned()));
            }
        }
    }

    pub(crate) fn with_exit(mut self, exit: u8) -> Self {
        self.exit = exit;
        self
    }

    /// Prints the error to stderr and returns the exit code.
    pub(crate) fn report(&self) -> ExitCode {
        if self.message.is_empty() {
            return ExitCode::from(self.exit);
        }
        let _ = std::io::stderr().lock().write_all(self.lines().as_bytes());
        ExitCode::from(self.exit)
    }

    /// The error line and the id lines; server text in them cannot act on the terminal.
    fn lines(&self) -> String {
        let mut text = format!("error: {}\n", escape_controls(&self.message, &[]));
        for (label, id) in &self.ids {
            text.push_str(&format!("{label}: {}\n", escape_controls(id, &[])));
        }
        text
    }
}

/// Writes one line to stderr. Unlike `eprintln!`, a stderr nobody reads (a closed pipe) is not a
/// panic: a warning that cannot be shown is dropped.
pub(crate) fn warn(line: impl std::fmt::Display) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// The error and its sources joined with `: `, skipping a source whose text the previous
/// message already ends with, and flattening any line breaks.
pub(crate) fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut message = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !text.is_empty() && !message.ends_with(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = s.source();
    }
    one_line(&message)
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            // The reader has gone (`| head`): stop quietly, like other Unix tools.
            return Self {
                exit: 0,
                message: String::new(),
                ids: Vec::new(),
            };
        }
        Self::failure(format!("cannot write output: {e}"))
    }
}

/// The flag that sets each field the library names in its input errors: the library speaks of
/// `folder_id`, the user typed `--folder-id`. The one place the CLI translates the one into the
/// other.
const FLAGS: &[(&str, &str)] = &[
    ("folder_id", "--folder-id"),
    ("cloud_id", "--cloud-id"),
    ("name", "--name"),
    ("description", "--description"),
    ("labels", "--labels"),
    ("roles", "--role"),
    ("scopes", "--scope"),
    ("key_description", "--key-description"),
    ("expires_at", "--expires-at"),
    ("key_algorithm", "--key-algorithm"),
    ("aws_profile", "--aws-profile"),
    ("output", "--output"),
    ("output.entries", "--entry"),
    ("output.secret_name", "--k8s-secret-name"),
    ("output.folder_id", "--lockbox-folder-id"),
    ("output.readers", "--lockbox-reader"),
    ("output.pending_period", "--lockbox-pending-period"),
    ("service_account_name", "--service-account-name"),
    ("sinks", "--sink"),
    ("grace", "--grace"),
    ("expiring_within", "--expiring-within"),
    ("key_type", "--key-type"),
    ("verify_model", "--verify-model"),
    ("verify_timeout", "--verify-timeout"),
];

/// The flag for a field the library named. A name the CLI gave a check itself (`--new-name`,
/// `<ID>`) is already in its own terms and is shown as it is.
pub(crate) fn flag(field: &str) -> &str {
    FLAGS
        .iter()
        .find(|(name, _)| *name == field)
        .map_or(field, |(_, flag)| flag)
}

/// `invalid --<flag> "<value>": <rule>`: bad input, exit 2.
impl From<InvalidInput> for CliError {
    fn from(e: InvalidInput) -> Self {
        Self::usage(format!("invalid {} {:?}: {}", flag(&e.field), e.value, e.rule))
    }
}

impl From<yc_iam::Error> for CliError {
    fn from(e: yc_iam::Error) -> Self {
        Self::api(None, &e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use yc_iam::model::Subject;
    use yc_iam::provision::{EntryNames, KeySink, LockboxSink, Provision};

    #[test]
    fn every_field_the_flow_can_refuse_is_shown_as_its_flag() {
        let past = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
        let labels = [("Env".to_owned(), "x".to_owned())].into_iter().collect();
        let base = || Provision::new("b1gfolder", "sa-api");
        let lockbox = || LockboxSink::new("ai-studio");
        let reader = Subject {
            id: "ajeuser".into(),
            r#type: String::new(),
        };
        let cases = [
            (Provision::new("b1g folder", "sa-api"), "--folder-id"),
            (base().grant_on_cloud("b1g cloud"), "--cloud-id"),
            (Provision::new("b1gfolder", "Sa"), "--name"),
            (base().description("a\nb"), "--description"),
            (base().labels(labels), "--labels"),
            (base().roles(["ai..user"]), "--role"),
            (base().scopes(["yc..x"]), "--scope"),
            (base().key_description("x".repeat(250)), "--key-description"),
            (base().expires_at(past), "--expires-at"),
            (base().output_file(""), "--output"),
            (
                base().key_algorithm(yc_iam::provision::KeyAlgorithm::Rsa4096),
                "--key-algorithm",
            ),
            (
                base()
                    .key_type(yc_iam::provision::KeyType::StaticKey)
                    .aws_profile("a]b"),
                "--aws-profile",
            ),
            (
                base()
                    .key_type(yc_iam::provision::KeyType::AuthorizedKey)
                    .expires_at(past + time::Duration::days(2)),
                "--expires-at",
            ),
            (
                base().output(KeySink::Env {
                    path: "ai.env".into(),
                    entries: EntryNames {
                        api_key: "1KEY".into(),
                        ..EntryNames::env()
                    },
                }),
                "--entry",
            ),
            (
                base().output(KeySink::K8s {
                    path: "secret.yaml".into(),
                    secret_name: Some("Bad".into()),
                    entries: EntryNames::lockbox(),
                }),
                "--k8s-secret-name",
            ),
            (
                base().output(KeySink::Lockbox(lockbox().in_folder("b1g folder"))),
                "--lockbox-folder-id",
            ),
            (
                base().output(KeySink::Lockbox(LockboxSink {
                    readers: vec![reader],
                    ..lockbox()
                })),
                "--lockbox-reader",
            ),
            (
                base().output(KeySink::Lockbox(LockboxSink {
                    pending_period: std::time::Duration::ZERO,
                    ..lockbox()
                })),
                "--lockbox-pending-period",
            ),
        ];
        for (p, shown) in cases {
            let err = CliError::from(p.validate().expect_err(shown));
            assert!(err.message.starts_with(&format!("invalid {shown} ")), "{}", err.message);
            assert_eq!(err.exit, EXIT_USAGE);
        }
    }

    #[test]
    fn error_lines_escape_control_characters_of_server_text() {
        let mut e = CliError::failure("server said \x1b]0;owned\x07\x1b[2J");
        e.ids.push(("server-request-id", "r\u{9b}1".to_owned()));
        assert_eq!(
            e.lines(),
            "error: server said \\u{1b}]0;owned\\u{7}\\u{1b}[2J\nserver-request-id: r\\u{9b}1\n"
        );
    }
}
