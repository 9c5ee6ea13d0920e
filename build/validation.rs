//! Turns the `yandex.cloud` validation options of the compiled protos into Rust: one
//! `impl Validate` per message, so the rules the API publishes are the rules the library checks,
//! with no reflection at run time.

use std::{collections::BTreeMap, fmt::Write};

use prost_reflect::{DescriptorPool, DynamicMessage, FieldDescriptor, Kind, MessageDescriptor};

/// The rules one field carries, as written in its options.
#[derive(Default)]
struct Rules {
    required: bool,
    pattern: Option<String>,
    value: Option<String>,
    size: Option<String>,
    length: Option<String>,
    unique: bool,
    key_pattern: Option<String>,
    key_length: Option<String>,
}

impl Rules {
    fn read(pool: &DescriptorPool, options: &DynamicMessage) -> Rules {
        let text = |name: &str| -> Option<String> {
            let ext = pool.get_extension_by_name(&format!("yandex.cloud.{name}"))?;
            options
                .has_extension(&ext)
                .then(|| options.get_extension(&ext).as_str().map(str::to_owned))
                .flatten()
                .filter(|s| !s.is_empty())
        };
        let flag = |name: &str| -> bool {
            pool.get_extension_by_name(&format!("yandex.cloud.{name}"))
                .is_some_and(|ext| options.get_extension(&ext).as_bool() == Some(true))
        };
        let map_key = pool
            .get_extension_by_name("yandex.cloud.map_key")
            .filter(|ext| options.has_extension(ext))
            .and_then(|ext| options.get_extension(&ext).as_message().cloned());
        let key_text = |name: &str| -> Option<String> {
            map_key
                .as_ref()?
                .get_field_by_name(name)?
                .as_str()
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        Rules {
            required: flag("required"),
            pattern: text("pattern"),
            value: text("value"),
            size: text("size"),
            length: text("length"),
            unique: flag("unique"),
            key_pattern: key_text("pattern"),
            key_length: key_text("length"),
        }
    }
}

/// A bound such as `<=50`, `1-63` or `0-1000`, as the inclusive (min, max) the checks take.
fn bounds(rule: &str) -> Result<(Option<i64>, Option<i64>), String> {
    let num = |s: &str| s.trim().parse::<i64>().map_err(|e| format!("bad bound {rule:?}: {e}"));
    let rule = rule.trim();
    Ok(if let Some(n) = rule.strip_prefix("<=") {
        (None, Some(num(n)?))
    } else if let Some(n) = rule.strip_prefix(">=") {
        (Some(num(n)?), None)
    } else if let Some(n) = rule.strip_prefix('<') {
        (None, Some(num(n)? - 1))
    } else if let Some(n) = rule.strip_prefix('>') {
        (Some(num(n)? + 1), None)
    } else if let Some((lo, hi)) = rule.split_once('-') {
        (Some(num(lo)?), Some(num(hi)?))
    } else {
        let n = num(rule)?;
        (Some(n), Some(n))
    })
}

/// `19700101T000000.000000000` as (unix seconds, nanos).
fn timestamp(text: &str) -> Result<(i64, i32), String> {
    let bad = || format!("bad timestamp bound {text:?}");
    let (date, rest) = text.split_once('T').ok_or_else(bad)?;
    let (clock, nanos) = rest.split_once('.').unwrap_or((rest, "0"));
    let digits = |s: &str, from: usize, to: usize| s.get(from..to).and_then(|d| d.parse::<i64>().ok()).ok_or_else(bad);
    let (y, m, d) = (digits(date, 0, 4)?, digits(date, 4, 6)?, digits(date, 6, 8)?);
    let (hh, mm, ss) = (digits(clock, 0, 2)?, digits(clock, 2, 4)?, digits(clock, 4, 6)?);
    // Days from the civil date (proleptic Gregorian), counted from 1970-01-01.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    let nanos: i32 = nanos.parse().map_err(|_| bad())?;
    Ok((days * 86_400 + hh * 3600 + mm * 60 + ss, nanos))
}

fn snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn camel(name: &str) -> String {
    name.split('_')
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn ident(name: &str) -> String {
    match name {
        "type" | "match" | "ref" | "self" | "struct" | "enum" | "fn" | "mod" | "use" | "impl" => format!("r#{name}"),
        _ => name.to_string(),
    }
}

/// The Rust path of a generated message, relative to `crate::proto`.
fn rust_path(message: &MessageDescriptor) -> String {
    let package = message.package_name();
    let nested = message.full_name()[package.len() + 1..].split('.').collect::<Vec<_>>();
    let mut path: Vec<String> = package.split('.').map(str::to_owned).collect();
    for parent in &nested[..nested.len() - 1] {
        path.push(snake(parent));
    }
    path.push(nested[nested.len() - 1].to_string());
    path.join("::")
}

fn ours(message: &MessageDescriptor) -> bool {
    message.full_name().starts_with("yandex.cloud.") && !message.is_map_entry()
}

/// Collects the distinct patterns so that each is compiled once, into one static matcher.
#[derive(Default)]
struct Patterns(BTreeMap<String, usize>);

impl Patterns {
    fn static_for(&mut self, pattern: &str) -> Result<String, String> {
        let next = self.0.len();
        Ok(format!("PATTERN_{}", self.0.entry(pattern.to_string()).or_insert(next)))
    }
}

/// Compiles `pattern`, anchored at both ends, into the tables of a `crate::validate::Pattern`:
/// the whole-string language of the regex as a minimal DFA over bytes, so the library matches
/// exactly as the `regex` crate would without compiling a regex engine into it.
fn matcher(pattern: &str) -> Result<String, String> {
    use regex_automata::{
        Anchored, MatchKind,
        dfa::{Automaton as _, StartKind, dense},
        util::{primitives::StateID, start},
    };
    let anchored = format!("^(?:{pattern})$");
    // `All` keeps every thread alive: the DFA recognises the language, with no match priority.
    let dfa = dense::Builder::new()
        .configure(
            dense::Config::new()
                .match_kind(MatchKind::All)
                .start_kind(StartKind::Anchored)
                .minimize(true),
        )
        .build(&anchored)
        .map_err(|e| format!("pattern {pattern:?} does not compile: {e}"))?;
    let start = dfa
        .start_state(&start::Config::new().anchored(Anchored::Yes))
        .map_err(|e| format!("pattern {pattern:?}: {e}"))?;
    // Renumber the reachable states breadth first; 0 is the dead state.
    let mut ids: BTreeMap<StateID, usize> = BTreeMap::new();
    let mut order = vec![start];
    ids.insert(start, 1);
    let mut rows: Vec<[usize; 256]> = vec![[0; 256]];
    let mut accept = vec![false];
    let mut i = 0;
    while i < order.len() {
        let state = order[i];
        i += 1;
        if dfa.is_quit_state(state) {
            return Err(format!(
                "pattern {pattern:?} needs a look-around a byte DFA cannot decide"
            ));
        }
        let mut row = [0; 256];
        for (byte, next) in row.iter_mut().enumerate() {
            let to = dfa.next_state(state, byte as u8);
            if dfa.is_dead_state(to) {
                continue;
            }
            let n = ids.len() + 1;
            *next = *ids.entry(to).or_insert_with(|| {
                order.push(to);
                n
            });
        }
        rows.push(row);
        accept.push(dfa.is_match_state(dfa.next_eoi_state(state)));
    }
    // Bytes that every state treats alike share a column.
    let mut columns: Vec<Vec<usize>> = Vec::new();
    let mut classes = [0usize; 256];
    for (byte, class) in classes.iter_mut().enumerate() {
        let column: Vec<usize> = rows.iter().map(|row| row[byte]).collect();
        *class = columns.iter().position(|c| *c == column).unwrap_or_else(|| {
            columns.push(column);
            columns.len() - 1
        });
    }
    if rows.len() > usize::from(u16::MAX) || columns.len() > 256 {
        return Err(format!("pattern {pattern:?} makes too large a DFA"));
    }
    let list = |items: &mut dyn Iterator<Item = String>| items.collect::<Vec<_>>().join(", ");
    let next = list(&mut rows.iter().flat_map(|row| {
        let mut seen = vec![false; columns.len()];
        let mut cells = vec![0; columns.len()];
        for (byte, &class) in classes.iter().enumerate() {
            if !seen[class] {
                seen[class] = true;
                cells[class] = row[byte];
            }
        }
        cells.into_iter().map(|n| n.to_string())
    }));
    Ok(format!(
        "crate::validate::Pattern {{ classes: &[{}], stride: {}, next: &[{next}], accept: &[{}] }}",
        list(&mut classes.iter().map(|c| c.to_string())),
        columns.len(),
        list(&mut accept.iter().map(|a| a.to_string())),
    ))
}

fn opt(v: Option<i64>) -> String {
    v.map_or("None".into(), |n| format!("Some({n})"))
}

/// What a string check is applied to: a value, or a map key (whose broken rule is reported as
/// the rule `map_key`, by the `check::map_key_*` functions).
#[derive(Clone, Copy)]
enum Checked {
    Value,
    MapKey,
}

impl Checked {
    /// The prefix of the `check::` functions for this kind of string.
    fn prefix(self) -> &'static str {
        match self {
            Checked::Value => "",
            Checked::MapKey => "map_key_",
        }
    }
}

/// Emits the checks of one string value `v` (a `&str` or `&String` expression named by `at`).
fn string_checks(
    out: &mut String,
    at: &str,
    v: &str,
    checked: Checked,
    rules: &Rules,
    patterns: &mut Patterns,
) -> Result<(), String> {
    let prefix = checked.prefix();
    if let Some(length) = &rules.length {
        let (min, max) = bounds(length)?;
        writeln!(
            out,
            "check::{prefix}length({at}, &{v}, {}, {}, {length:?})?;",
            opt(min),
            opt(max)
        )
        .unwrap();
    }
    if let Some(pattern) = &rules.pattern {
        let name = patterns.static_for(pattern)?;
        writeln!(out, "check::{prefix}pattern({at}, &{v}, &{name}, {pattern:?})?;").unwrap();
    }
    Ok(())
}

/// The checks on a map or repeated field as a whole: present at all, and how many entries.
fn count_checks(out: &mut String, at: &str, this: &str, rules: &Rules) -> Result<(), String> {
    if rules.required {
        writeln!(out, "check::required({at}, !{this}.is_empty())?;").unwrap();
    }
    if let Some(size) = &rules.size {
        let (min, max) = bounds(size)?;
        writeln!(
            out,
            "check::count({at}, check::Counted::Entries, {this}.len(), {}, {}, {size:?})?;",
            opt(min),
            opt(max)
        )
        .unwrap();
    }
    Ok(())
}

fn field_checks(
    out: &mut String,
    field: &FieldDescriptor,
    rules: &Rules,
    patterns: &mut Patterns,
) -> Result<(), String> {
    let name = field.name();
    let at = format!("{name:?}");
    let this = format!("self.{}", ident(name));
    if field.is_map() {
        let Kind::Message(entry) = field.kind() else {
            unreachable!("a map field has an entry message")
        };
        count_checks(out, &at, &this, rules)?;
        let key_rules = Rules {
            length: rules.key_length.clone(),
            pattern: rules.key_pattern.clone(),
            ..Rules::default()
        };
        let value_is_string = entry.map_entry_value_field().kind() == Kind::String;
        let mut inner = String::new();
        string_checks(&mut inner, "&at()", "key", Checked::MapKey, &key_rules, patterns)?;
        if value_is_string {
            string_checks(&mut inner, "&at()", "value", Checked::Value, rules, patterns)?;
        }
        if !inner.is_empty() {
            writeln!(out, "for (key, value) in &{this} {{").unwrap();
            writeln!(out, "let at = || format!(\"{name}[{{key:?}}]\");").unwrap();
            out.push_str(&inner);
            writeln!(out, "}}").unwrap();
        }
        return Ok(());
    }
    if field.is_list() {
        count_checks(out, &at, &this, rules)?;
        if rules.unique {
            writeln!(out, "check::unique({at}, &{this})?;").unwrap();
        }
        match field.kind() {
            Kind::String => {
                let mut inner = String::new();
                string_checks(&mut inner, "&at()", "item", Checked::Value, rules, patterns)?;
                if !inner.is_empty() {
                    writeln!(out, "for (i, item) in {this}.iter().enumerate() {{").unwrap();
                    writeln!(out, "let at = || format!(\"{name}[{{i}}]\");").unwrap();
                    out.push_str(&inner);
                    writeln!(out, "}}").unwrap();
                }
            }
            Kind::Message(m) if ours(&m) => {
                writeln!(out, "for (i, item) in {this}.iter().enumerate() {{").unwrap();
                writeln!(
                    out,
                    "item.validate().map_err(|v| v.within(&format!(\"{name}[{{i}}]\")))?;"
                )
                .unwrap();
                writeln!(out, "}}").unwrap();
            }
            _ => {}
        }
        return Ok(());
    }
    // A oneof member is reached through its enum; a plain field directly.
    let (open, value, close) = match field.containing_oneof() {
        Some(oneof) => {
            let parent = field.parent_message();
            let path = format!("{}::{}", snake(parent.name()), camel(oneof.name()));
            let full = format!("{}::{path}", rust_path(parent).rsplit_once("::").map_or("", |p| p.0));
            let open = format!(
                "if let Some({full}::{}(value)) = &self.{} {{\n",
                camel(name),
                ident(&snake(oneof.name()))
            );
            (open, "value".to_string(), "}\n".to_string())
        }
        None => (String::new(), this.clone(), String::new()),
    };
    let whole = out;
    let out = &mut String::new();
    match field.kind() {
        Kind::String => {
            if rules.required {
                writeln!(out, "check::required({at}, !{value}.is_empty())?;").unwrap();
            }
            string_checks(out, &at, &value, Checked::Value, rules, patterns)?;
        }
        Kind::Int64 | Kind::Int32 | Kind::Uint32 | Kind::Uint64 | Kind::Sint64 | Kind::Sint32 => {
            if rules.required {
                writeln!(out, "check::required({at}, {value} != 0)?;").unwrap();
            }
            if let Some(range) = &rules.value {
                let (min, max) = bounds(range)?;
                writeln!(
                    out,
                    "check::value({at}, {value} as i64, {}, {}, {range:?})?;",
                    opt(min),
                    opt(max)
                )
                .unwrap();
            }
        }
        Kind::Bytes => {
            if rules.required {
                writeln!(out, "check::required({at}, !{value}.is_empty())?;").unwrap();
            }
            if let Some(length) = &rules.length {
                let (min, max) = bounds(length)?;
                writeln!(
                    out,
                    "check::count({at}, check::Counted::Bytes, {value}.len(), {}, {}, {length:?})?;",
                    opt(min),
                    opt(max)
                )
                .unwrap();
            }
        }
        Kind::Enum(_) => {
            if rules.required {
                writeln!(out, "check::required({at}, {value} != 0)?;").unwrap();
            }
        }
        Kind::Message(m) => {
            if rules.required {
                writeln!(out, "check::required({at}, {value}.is_some())?;").unwrap();
            }
            if m.full_name() == "google.protobuf.Timestamp" {
                if let Some(range) = &rules.value {
                    let (lo, hi) = range.split_once('-').ok_or_else(|| format!("bad range {range:?}"))?;
                    let ((ls, ln), (hs, hn)) = (timestamp(lo)?, timestamp(hi)?);
                    writeln!(
                        out,
                        "check::timestamp({at}, {value}.as_ref(), ({ls}, {ln}), ({hs}, {hn}), {range:?})?;"
                    )
                    .unwrap();
                }
            } else if ours(&m) && field.containing_oneof().is_some() {
                // A oneof member holds the message itself, not an `Option` of it.
                writeln!(out, "{value}.validate().map_err(|v| v.within({at}))?;").unwrap();
            } else if ours(&m) {
                writeln!(
                    out,
                    "if let Some(inner) = &{value} {{ inner.validate().map_err(|v| v.within({at}))?; }}"
                )
                .unwrap();
            }
        }
        _ => {
            // A rule this generator cannot check must not pass unnoticed.
            if rules.required || rules.length.is_some() || rules.pattern.is_some() || rules.value.is_some() {
                return Err(format!("{}: a rule on an unsupported kind", field.full_name()));
            }
        }
    }
    if !out.is_empty() {
        whole.push_str(&open);
        whole.push_str(out);
        whole.push_str(&close);
    }
    Ok(())
}

/// Generates the `Validate` impls of every `yandex.cloud` message in `pool`.
pub fn generate(pool: &DescriptorPool) -> Result<String, String> {
    let mut patterns = Patterns::default();
    let mut impls = String::new();
    let exactly_one = pool.get_extension_by_name("yandex.cloud.exactly_one");
    for message in pool.all_messages().filter(ours) {
        let mut body = String::new();
        for oneof in message.oneofs() {
            let required = exactly_one
                .as_ref()
                .is_some_and(|ext| oneof.options().get_extension(ext).as_bool() == Some(true));
            if required {
                let members: Vec<String> = oneof.fields().map(|f| f.name().to_owned()).collect();
                writeln!(
                    body,
                    "check::exactly_one({:?}, self.{}.is_some(), {:?})?;",
                    oneof.name(),
                    ident(&snake(oneof.name())),
                    members.join(", ")
                )
                .unwrap();
            }
        }
        for field in message.fields() {
            let rules = Rules::read(pool, &field.options());
            field_checks(&mut body, &field, &rules, &mut patterns)
                .map_err(|e| format!("{}: {e}", field.full_name()))?;
        }
        writeln!(impls, "impl crate::validate::Validate for {} {{", rust_path(&message)).unwrap();
        if body.is_empty() {
            writeln!(
                impls,
                "fn validate(&self) -> Result<(), crate::validate::Violation> {{ Ok(()) }}"
            )
            .unwrap();
        } else {
            // Deprecated fields keep their rules: a caller may still set them.
            writeln!(
                impls,
                "#[allow(deprecated)]\nfn validate(&self) -> Result<(), crate::validate::Violation> {{"
            )
            .unwrap();
            writeln!(
                impls,
                "#[allow(unused_imports)]\nuse crate::validate::{{check, Validate as _}};"
            )
            .unwrap();
            impls.push_str(&body);
            writeln!(impls, "Ok(())\n}}").unwrap();
        }
        writeln!(impls, "}}\n").unwrap();
    }
    let mut out = String::from("// Generated by build.rs from the `yandex.cloud` options of proto/: do not edit.\n\n");
    let mut ordered: Vec<(&String, &usize)> = patterns.0.iter().collect();
    ordered.sort_by_key(|(_, n)| **n);
    for (pattern, n) in &ordered {
        writeln!(
            out,
            "/// `^(?:{pattern})$`\nstatic PATTERN_{n}: crate::validate::Pattern = {};",
            matcher(pattern)?
        )
        .unwrap();
    }
    writeln!(
        out,
        "\n/// Every pattern with its matcher, for the test that holds them against `regex`."
    )
    .unwrap();
    writeln!(
        out,
        "#[cfg(test)]\npub(crate) static PATTERNS: &[(&str, &crate::validate::Pattern)] = &["
    )
    .unwrap();
    for (pattern, n) in &ordered {
        writeln!(out, "({pattern:?}, &PATTERN_{n}),").unwrap();
    }
    writeln!(out, "];").unwrap();
    out.push('\n');
    out.push_str(&impls);
    Ok(out)
}
