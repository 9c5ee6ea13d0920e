//! How a failed command is reported: one line saying what failed and why (the error and its
//! sources, joined), then the ids a support request needs, and the exit code.

use std::io::Write;
use std::process::ExitCode;

use crate::output::escape_controls;

/// Exit code 2: invalid input or usage; nothing was sent.
pub(crate) const EXIT_USAGE: u8 = 2;
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

impl From<yc_iam::Error> for CliError {
    fn from(e: yc_iam::Error) -> Self {
        Self::api(None, &e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
