//! The AWS shared-credentials file (`~/.aws/credentials`): `[profile]` sections of
//! `name = value` lines, as the AWS CLI and SDKs read it. The key's two entries are set in their
//! profile and every other line (other profiles, comments, other settings) is kept as it was.
//!
//! Read: blank lines, `#` and `;` comments, `[name]` headers, `name = value` pairs and indented
//! continuation lines (nested settings), which are kept untouched.

use secrecy::zeroize::Zeroizing;

/// This format, as an error about a file that is not in it names it.
pub(super) const FORMAT: &str = "an AWS credentials file";

/// The access key id's name in a profile.
pub(super) const KEY_ID: &str = "aws_access_key_id";
/// The secret access key's name in a profile.
pub(super) const SECRET: &str = "aws_secret_access_key";

/// One line, classified.
enum Line<'a> {
    /// Blank, a comment or a continuation: kept as it is.
    Other,
    Section(&'a str),
    Pair(&'a str, &'a str),
}

/// Classifies each line; the error names the line that is not INI, never its content (it may
/// be a secret).
fn lines(text: &str) -> Result<Vec<(Line<'_>, &str)>, String> {
    let mut out = Vec::new();
    for (n, raw) in text.split_inclusive('\n').enumerate() {
        let line = raw.trim_end_matches(['\n', '\r']);
        let trimmed = line.trim();
        let kind = if trimmed.is_empty() || trimmed.starts_with(['#', ';']) || line.starts_with([' ', '\t']) {
            Line::Other
        } else if let Some(name) = trimmed.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
            Line::Section(name.trim())
        } else if let Some((name, value)) = trimmed.split_once('=') {
            Line::Pair(name.trim(), value.trim())
        } else {
            return Err(format!(
                "line {} is not a [profile] header or a name = value pair",
                n + 1
            ));
        };
        out.push((kind, raw));
    }
    Ok(out)
}

/// What `set` may add to the text: `\n\n[profile]\n`, a newline ending the last line, and a
/// `name = value\n` line per entry.
fn room(profile: &str, entries: &[(&str, &str)]) -> usize {
    profile.len()
        + 8
        + entries
            .iter()
            .map(|(name, value)| name.len() + value.len() + 4)
            .sum::<usize>()
}

/// Appends `name = value`, without the intermediate string `format!` would leave uncleared.
fn push_pair(out: &mut String, name: &str, value: &str) {
    out.push_str(name);
    out.push_str(" = ");
    out.push_str(value);
    out.push('\n');
}

/// The value of `name` in `profile`, if set (the last one there), and its non-empty values in
/// every other profile (and before the first header), read in one pass over the text.
pub(super) fn values(text: &str, profile: &str, name: &str) -> Result<(Option<String>, Vec<String>), String> {
    let mut current = None;
    let (mut own, mut elsewhere) = (None, Vec::new());
    for (line, _) in lines(text)? {
        match line {
            Line::Section(s) => current = Some(s),
            Line::Pair(n, v) if n == name && current == Some(profile) => own = Some(v.to_owned()),
            Line::Pair(n, v) if n == name && !v.is_empty() => elsewhere.push(v.to_owned()),
            _ => {}
        }
    }
    Ok((own, elsewhere))
}

/// `text` with each `(name, value)` set in `profile`: a pair already there is replaced where it
/// stands (later repeats dropped), missing ones are added at the end of the profile, and a
/// missing profile is added at the end of the file. The result is cleared when dropped, and made
/// in a buffer that never grows (so it leaves no uncleared copy of the secret behind).
pub(super) fn set(text: &str, profile: &str, entries: &[(&str, &str)]) -> Result<Zeroizing<String>, String> {
    let parsed = lines(text)?;
    let mut out = Zeroizing::new(String::with_capacity(text.len() + room(profile, entries)));
    let mut done = vec![false; entries.len()];
    let mut inside = false;
    let mut seen_profile = false;
    let add_missing = |out: &mut String, done: &mut Vec<bool>| {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        for (i, (name, value)) in entries.iter().enumerate() {
            if !done[i] {
                push_pair(out, name, value);
                done[i] = true;
            }
        }
    };
    for (line, raw) in parsed {
        match line {
            Line::Section(s) => {
                if inside {
                    add_missing(&mut out, &mut done);
                }
                inside = s == profile;
                seen_profile |= inside;
                out.push_str(raw);
            }
            Line::Pair(name, _) if inside => match entries.iter().position(|(n, _)| *n == name) {
                Some(i) if !done[i] => {
                    push_pair(&mut out, name, entries[i].1);
                    done[i] = true;
                }
                Some(_) => {}
                None => out.push_str(raw),
            },
            _ => out.push_str(raw),
        }
    }
    if inside {
        add_missing(&mut out, &mut done);
    }
    if !seen_profile {
        if !out.is_empty() && !out.ends_with('\n') {
            out.push('\n');
        }
        if !out.is_empty() && !out.ends_with("\n\n") {
            out.push('\n');
        }
        out.push('[');
        out.push_str(profile);
        out.push_str("]\n");
        add_missing(&mut out, &mut done);
    }
    Ok(out)
}

/// Whether `name` can be a profile: what the AWS tools accept between brackets, without the
/// characters that would end or confuse the header.
pub(crate) fn is_profile_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@' | '+' | '/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_file_gets_the_profile_with_both_entries() {
        let text = set("", "default", &[(KEY_ID, "YCAJE1"), (SECRET, "YCs1")]).unwrap();
        assert_eq!(
            text.as_str(),
            "[default]\naws_access_key_id = YCAJE1\naws_secret_access_key = YCs1\n"
        );
        assert_eq!(
            values(&text, "default", KEY_ID).unwrap(),
            (Some("YCAJE1".into()), vec![])
        );
        assert_eq!(values(&text, "other", KEY_ID).unwrap(), (None, vec!["YCAJE1".into()]));
    }

    #[test]
    fn the_new_text_is_made_in_one_buffer_that_never_grows() {
        // The worst case: a last line without its newline, and a profile to add.
        let old = "[default]\nregion = eu";
        let entries = [(KEY_ID, "YCAJE1"), (SECRET, "YCs1")];
        let text = set(old, "ci", &entries).unwrap();
        assert!(text.ends_with("region = eu\n\n[ci]\naws_access_key_id = YCAJE1\naws_secret_access_key = YCs1\n"));
        assert_eq!(text.capacity(), old.len() + room("ci", &entries));
    }

    #[test]
    fn other_profiles_comments_and_settings_are_kept() {
        let old = "# mine\n[default]\naws_access_key_id = AKIA0\naws_secret_access_key = s0\nregion = eu\n\n\
                   [ci]\naws_access_key_id=YCAJEold\ns3 =\n  addressing_style = path\n";
        let text = set(old, "ci", &[(KEY_ID, "YCAJEnew"), (SECRET, "YCsnew")]).unwrap();
        assert_eq!(
            text.as_str(),
            "# mine\n[default]\naws_access_key_id = AKIA0\naws_secret_access_key = s0\nregion = eu\n\n\
             [ci]\naws_access_key_id = YCAJEnew\ns3 =\n  addressing_style = path\naws_secret_access_key = YCsnew\n"
        );
        let added = set(old, "yc", &[(KEY_ID, "YCAJE2"), (SECRET, "YCs2")]).unwrap();
        assert!(
            added.starts_with(old)
                && added.ends_with("\n\n[yc]\naws_access_key_id = YCAJE2\naws_secret_access_key = YCs2\n")
        );
    }

    #[test]
    fn text_that_is_not_ini_is_refused_without_showing_it() {
        let err = values("[default]\nYCsecretvalue\n", "default", KEY_ID).unwrap_err();
        assert_eq!(err, "line 2 is not a [profile] header or a name = value pair");
        assert!(is_profile_name("default") && is_profile_name("ci-bucket.prod") && !is_profile_name("a]b"));
    }
}
