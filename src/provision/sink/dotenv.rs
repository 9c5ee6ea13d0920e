//! The dotenv file sink: `NAME=value` lines as the dotenv loaders (python-dotenv, docker compose,
//! the `dotenv` crates) read them. The key's entries are set in place and every other line of an
//! existing file is kept as it was, so the sink can be the `.env` an application already has.
//!
//! Read: blank lines and `#` comments; an optional `export ` before the name; values unquoted
//! (trimmed, ending at ` #`), in single quotes (literal) or in double quotes (`\n`, `\t`, `\"`,
//! `\\` escapes, may span lines). Written: a value is left bare when it holds only characters no
//! loader treats specially, and single-quoted otherwise (double-quoted when it holds a `'`).

use std::ops::Range;

use secrecy::zeroize::Zeroizing;

/// This format, as an error about a file that is not in it names it.
pub(super) const FORMAT: &str = "a dotenv file";

/// One `NAME=value` assignment and where it sits in the text (through its line end).
#[derive(Debug)]
struct Assignment {
    name: String,
    /// Cleared when dropped: it may be a secret (the key this sink held, or the application's).
    value: Zeroizing<String>,
    /// Whether the line starts with `export ` (kept when the line is rewritten).
    export: bool,
    span: Range<usize>,
}

/// The value of the last assignment of `name` in `text` (the one loaders use), if any. The error
/// names the line that is not dotenv, never its content (it may be a secret).
pub(super) fn value_of(text: &str, name: &str) -> Result<Option<String>, String> {
    Ok(parse(text)?
        .into_iter()
        .rev()
        .find(|a| a.name == name)
        .map(|a| String::clone(&a.value)))
}

/// `text` with each `(name, value)` set: the first assignment of a name is replaced where it
/// stands (keeping its `export `), later ones are dropped, and names not yet assigned are
/// appended in order. The result is cleared when dropped, and made in a buffer that never grows
/// (so it leaves no uncleared copy behind).
pub(super) fn set(text: &str, entries: &[(&str, &str)]) -> Result<Zeroizing<String>, String> {
    let assignments = parse(text)?;
    // `export NAME="value"\n` with every character of the value escaped, and a final newline.
    let room: usize = entries
        .iter()
        .map(|(name, value)| "export ".len() + name.len() + 2 * value.len() + 4)
        .sum();
    let mut out = Zeroizing::new(String::with_capacity(text.len() + room + 1));
    let mut at = 0;
    let mut done = vec![false; entries.len()];
    for a in &assignments {
        let Some(i) = entries.iter().position(|(name, _)| *name == a.name) else {
            continue;
        };
        out.push_str(&text[at..a.span.start]);
        if !done[i] {
            if a.export {
                out.push_str("export ");
            }
            push_line(&mut out, entries[i].0, entries[i].1);
            done[i] = true;
        }
        at = a.span.end;
    }
    out.push_str(&text[at..]);
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    for (i, (name, value)) in entries.iter().enumerate() {
        if !done[i] {
            push_line(&mut out, name, value);
        }
    }
    Ok(out)
}

/// `text` without any assignment of `names` (each line that sets one goes, with its line end);
/// every other line is kept as it was. The result is cleared when dropped.
pub(super) fn unset(text: &str, names: &[&str]) -> Result<Zeroizing<String>, String> {
    let mut out = Zeroizing::new(String::with_capacity(text.len()));
    let mut at = 0;
    for a in parse(text)?.iter().filter(|a| names.contains(&a.name.as_str())) {
        out.push_str(&text[at..a.span.start]);
        at = a.span.end;
    }
    out.push_str(&text[at..]);
    Ok(out)
}

/// Whether `name` is a variable name every loader and shell accepts.
pub(crate) fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Appends `NAME=value` and a newline: the value bare when it holds only characters no loader
/// treats specially, else quoted.
fn push_line(out: &mut String, name: &str, value: &str) {
    out.push_str(name);
    out.push('=');
    let bare = |c: char| c.is_ascii_alphanumeric() || "_-./:@+,".contains(c);
    if !value.is_empty() && value.chars().all(bare) {
        out.push_str(value);
    } else if !value.contains(['\'', '\n', '\r']) {
        out.push('\'');
        out.push_str(value);
        out.push('\'');
    } else {
        out.push('"');
        for c in value.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    out.push('\n');
}

fn parse(text: &str) -> Result<Vec<Assignment>, String> {
    let mut out = Vec::new();
    let mut pos = 0;
    let mut line_no = 1;
    while pos < text.len() {
        let start = pos;
        let end_of_line = text[pos..].find('\n').map_or(text.len(), |i| pos + i + 1);
        let line = text[pos..end_of_line].trim_end_matches(['\n', '\r']);
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            pos = end_of_line;
            line_no += 1;
            continue;
        }
        let bad = || format!("line {line_no} is not NAME=value");
        let export = trimmed.starts_with("export ");
        let body = trimmed.strip_prefix("export ").map_or(trimmed, str::trim_start);
        let (name, rest) = body.split_once('=').ok_or_else(bad)?;
        let name = name.trim_end();
        if !is_variable_name(name) {
            return Err(bad());
        }
        let rest = rest.trim_start();
        // Where `rest` starts in `text`.
        let rest_at = pos + (line.len() - rest.len());
        let (value, end) = if let Some(inner) = rest.strip_prefix('\'') {
            let close = inner
                .find('\'')
                .ok_or_else(|| format!("line {line_no} has an unclosed quote"))?;
            (Zeroizing::new(inner[..close].to_owned()), end_of_line)
        } else if rest.starts_with('"') {
            let (value, close_at) =
                double_quoted(text, rest_at + 1).ok_or_else(|| format!("line {line_no} has an unclosed quote"))?;
            let end = text[close_at..].find('\n').map_or(text.len(), |i| close_at + i + 1);
            line_no += text[start..close_at].matches('\n').count();
            (value, end)
        } else {
            let value = rest.split(" #").next().unwrap_or_default().trim_end();
            (Zeroizing::new(value.to_owned()), end_of_line)
        };
        out.push(Assignment {
            name: name.to_owned(),
            value,
            export,
            span: start..end,
        });
        pos = end;
        line_no += 1;
    }
    Ok(out)
}

/// The value of a double-quoted string starting at `from` (just after the opening quote), and
/// the position after its closing quote.
fn double_quoted(text: &str, from: usize) -> Option<(Zeroizing<String>, usize)> {
    // Never longer than the rest of the text: the buffer never grows.
    let mut value = Zeroizing::new(String::with_capacity(text.len() - from));
    let mut chars = text[from..].char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((value, from + i + 1)),
            '\\' => match chars.next()?.1 {
                'n' => value.push('\n'),
                'r' => value.push('\r'),
                't' => value.push('\t'),
                other => value.push(other),
            },
            c => value.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_read_as_dotenv_loaders_read_them() {
        let text = "# app settings\nexport A=plain # note\nB='single # kept'\nC=\"two\\nlines \\\"q\\\"\"\n\nD=\"spans\nlines\"\nA=last\n";
        assert_eq!(value_of(text, "A").unwrap().as_deref(), Some("last"));
        assert_eq!(value_of(text, "B").unwrap().as_deref(), Some("single # kept"));
        assert_eq!(value_of(text, "C").unwrap().as_deref(), Some("two\nlines \"q\""));
        assert_eq!(value_of(text, "D").unwrap().as_deref(), Some("spans\nlines"));
        assert_eq!(value_of(text, "E").unwrap(), None);
    }

    #[test]
    fn setting_entries_keeps_every_other_line() {
        let text = "# keep me\nDEBUG=1\nYC_API_KEY=old\nOTHER='x y'\nYC_API_KEY=older\n";
        let out = set(text, &[("YC_API_KEY", "AQVNnew"), ("YC_API_KEY_ID", "ajeid")]).unwrap();
        assert_eq!(
            out.as_str(),
            "# keep me\nDEBUG=1\nYC_API_KEY=AQVNnew\nOTHER='x y'\nYC_API_KEY_ID=ajeid\n"
        );
        assert_eq!(set("", &[("A", "1")]).unwrap().as_str(), "A=1\n");
        assert_eq!(set("X=1", &[("A", "1")]).unwrap().as_str(), "X=1\nA=1\n");
    }

    #[test]
    fn unsetting_entries_drops_their_lines_only() {
        let text = "# keep me\nexport YC_API_KEY=old\nDEBUG=1\nYC_API_KEY_ID=id\nYC_API_KEY='again'\n";
        let out = unset(text, &["YC_API_KEY", "YC_API_KEY_ID"]).unwrap();
        assert_eq!(out.as_str(), "# keep me\nDEBUG=1\n");
        assert_eq!(unset("A=1", &["B"]).unwrap().as_str(), "A=1");
    }

    #[test]
    fn a_rewritten_line_keeps_its_export() {
        let text = "export YC_API_KEY=old\n  export   YC_FOLDER_ID=b1g\nYC_API_KEY_ID=id\n";
        let out = set(
            text,
            &[
                ("YC_API_KEY", "AQVNnew"),
                ("YC_FOLDER_ID", "b1gnew"),
                ("YC_API_KEY_ID", "ajenew"),
            ],
        )
        .unwrap();
        assert_eq!(
            out.as_str(),
            "export YC_API_KEY=AQVNnew\nexport YC_FOLDER_ID=b1gnew\nYC_API_KEY_ID=ajenew\n"
        );
    }

    #[test]
    fn any_value_reads_back_as_written() {
        for value in [
            "AQVN-x_y.z",
            "",
            "a b",
            "it's",
            "q\"uote\\d",
            "two\nlines",
            "$HOME",
            "#hash",
        ] {
            let text = set("", &[("V", value)]).unwrap();
            assert_eq!(value_of(&text, "V").unwrap().as_deref(), Some(value), "{}", *text);
        }
    }

    #[test]
    fn a_file_that_is_not_dotenv_is_refused_without_showing_it() {
        for text in ["AQVNsecret\n", "1A=AQVNsecret\n", "A='AQVNsecret\n", "A=\"AQVNsecret\n"] {
            let err = value_of(text, "A").unwrap_err();
            assert!(err.starts_with("line 1 "), "{err}");
            assert!(!err.contains("AQVN"), "{err}");
        }
    }
}
