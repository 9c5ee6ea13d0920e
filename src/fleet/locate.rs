//! Where a path such as `service_accounts[0].keys[1].type` sits in the YAML text: the line and
//! column of the value, found by walking the document to it again. The manifest's rules are
//! checked on typed values after parsing; this gives their errors the same `file:line:column`
//! that a parse error has.

use std::fmt;

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// One step of a path: a mapping key or a sequence index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Step {
    Key(&'static str),
    Index(usize),
}

/// A path from the document's root, shown the way the YAML parser shows its own
/// (`service_accounts[0].keys[1].type`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Path(Vec<Step>);

impl Path {
    pub(super) fn key(&self, key: &'static str) -> Path {
        let mut steps = self.0.clone();
        steps.push(Step::Key(key));
        Path(steps)
    }

    pub(super) fn index(&self, index: usize) -> Path {
        let mut steps = self.0.clone();
        steps.push(Step::Index(index));
        Path(steps)
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            match step {
                Step::Key(key) if i == 0 => f.write_str(key)?,
                Step::Key(key) => write!(f, ".{key}")?,
                Step::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

/// The 1-based line and column of the value at `path`, or of the nearest enclosing value that
/// exists (a missing field is reported where its mapping starts).
pub(super) fn locate(text: &str, path: &Path) -> Option<(usize, usize)> {
    (0..=path.0.len()).rev().find_map(|len| {
        let seed = Find(&path.0[..len]);
        // Finding the value is reported as an error, so that the parser stamps it with the
        // value's position; reaching the end without an error means the path is not there.
        let error = seed.deserialize(serde_norway::Deserializer::from_str(text)).err()?;
        error.location().map(|at| (at.line(), at.column()))
    })
}

/// Walks to the value at its path and fails there.
struct Find<'p>(&'p [Step]);

const HERE: &str = "the value sought";

impl<'de> DeserializeSeed<'de> for Find<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        match self.0.first() {
            None => deserializer.deserialize_any(Here),
            Some(Step::Key(_)) => deserializer.deserialize_map(self),
            Some(Step::Index(_)) => deserializer.deserialize_seq(self),
        }
    }
}

impl<'de> Visitor<'de> for Find<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Some((Step::Key(wanted), rest)) = self.0.split_first() else {
            return Ok(());
        };
        while let Some(key) = map.next_key::<serde_norway::Value>()? {
            if key.as_str() == Some(*wanted) {
                return map.next_value_seed(Find(rest));
            }
            map.next_value::<IgnoredAny>()?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Some((Step::Index(wanted), rest)) = self.0.split_first() else {
            return Ok(());
        };
        for _ in 0..*wanted {
            if seq.next_element::<IgnoredAny>()?.is_none() {
                return Ok(());
            }
        }
        seq.next_element_seed(Find(rest)).map(|_| ())
    }

    // Any other shape means the path does not exist in this document.
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
}

/// Fails on whatever value it is given.
struct Here;

impl<'de> Visitor<'de> for Here {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(HERE)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Err(E::custom(HERE))
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Err(E::custom(HERE))
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Err(E::custom(HERE))
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Err(E::custom(HERE))
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Err(E::custom(HERE))
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Err(E::custom(HERE))
    }
    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(de::Error::custom(HERE))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(de::Error::custom(HERE))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
kind: Fleet
service_accounts:
  - name: sa-chat
    keys:
      - { type: api-key, output: a.yaml }
      - type: static-key
        output: env:b.env
";

    fn path(steps: &[Step]) -> Path {
        Path(steps.to_vec())
    }

    #[test]
    fn a_value_is_found_at_its_line_and_column() {
        use Step::*;
        assert_eq!(locate(TEXT, &path(&[Key("kind")])), Some((1, 7)));
        assert_eq!(
            locate(TEXT, &path(&[Key("service_accounts"), Index(0), Key("name")])),
            Some((3, 11))
        );
        let second_type = path(&[Key("service_accounts"), Index(0), Key("keys"), Index(1), Key("type")]);
        assert_eq!(locate(TEXT, &second_type), Some((6, 15)));
        let flow_output = path(&[Key("service_accounts"), Index(0), Key("keys"), Index(0), Key("output")]);
        assert_eq!(locate(TEXT, &flow_output), Some((5, 34)));
    }

    #[test]
    fn a_missing_value_is_reported_where_its_parent_starts() {
        use Step::*;
        let missing = path(&[Key("service_accounts"), Index(0), Key("folder_id")]);
        assert_eq!(locate(TEXT, &missing), Some((3, 5)));
        assert_eq!(locate(TEXT, &path(&[Key("service_accounts"), Index(7)])), Some((3, 3)));
    }

    #[test]
    fn paths_read_like_the_parser_writes_them() {
        use Step::*;
        let p = Path::default()
            .key("service_accounts")
            .index(0)
            .key("keys")
            .index(1)
            .key("type");
        assert_eq!(p.to_string(), "service_accounts[0].keys[1].type");
        assert_eq!(
            path(&[Key("service_accounts"), Index(0)]).to_string(),
            "service_accounts[0]"
        );
    }
}
