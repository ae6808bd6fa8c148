//! Hand-written `Deserialize` for the values that may take two shapes
//! (string or array, array or table, string or number). Serde's `untagged`
//! would say "data did not match any variant"; these say what was expected.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use toml::Spanned;

/// `command` / `ready.exec`: a string (split like a shell would) or an argv array.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RawCommand {
    /// A string.
    Line(String),
    /// An array of strings.
    Argv(Vec<Spanned<String>>),
}

/// `depends_on`: `["a", "b"]` or `{ a = "completed", b = "ready" }`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RawDepends {
    /// Names; the condition is chosen per dependency (see `plan::build`).
    List(Vec<Spanned<String>>),
    /// Name → condition.
    Table(BTreeMap<Spanned<String>, Spanned<String>>),
}

/// A value written either as a string or as an integer (signals, sizes).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum RawNumOrString {
    /// `"SIGTERM"`, `"512MiB"`.
    Str(String),
    /// `15`, `1048576`.
    Int(i64),
}

/// An environment value: strings, and (for convenience) numbers and booleans,
/// which become their TOML spelling (`3001`, `true`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EnvValue(pub String);

struct CommandVisitor;

impl<'de> Visitor<'de> for CommandVisitor {
    type Value = RawCommand;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string or an array of strings")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<RawCommand, E> {
        Ok(RawCommand::Line(v.to_string()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawCommand, A::Error> {
        let mut argv = Vec::new();
        while let Some(arg) = seq.next_element::<Spanned<String>>()? {
            argv.push(arg);
        }
        Ok(RawCommand::Argv(argv))
    }
}

impl<'de> Deserialize<'de> for RawCommand {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(CommandVisitor)
    }
}

struct DependsVisitor;

impl<'de> Visitor<'de> for DependsVisitor {
    type Value = RawDepends;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of service names or a table { name = \"started\" | \"ready\" | \"completed\" }")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawDepends, A::Error> {
        let mut names = Vec::new();
        while let Some(n) = seq.next_element::<Spanned<String>>()? {
            names.push(n);
        }
        Ok(RawDepends::List(names))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawDepends, A::Error> {
        let mut t = BTreeMap::new();
        while let Some((k, v)) = map.next_entry::<Spanned<String>, Spanned<String>>()? {
            t.insert(k, v);
        }
        Ok(RawDepends::Table(t))
    }
}

impl<'de> Deserialize<'de> for RawDepends {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(DependsVisitor)
    }
}

struct NumOrStringVisitor;

impl<'de> Visitor<'de> for NumOrStringVisitor {
    type Value = RawNumOrString;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string or an integer")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<RawNumOrString, E> {
        Ok(RawNumOrString::Str(v.to_string()))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawNumOrString, E> {
        Ok(RawNumOrString::Int(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawNumOrString, E> {
        i64::try_from(v)
            .map(RawNumOrString::Int)
            .map_err(|_| E::custom("integer too large"))
    }
}

impl<'de> Deserialize<'de> for RawNumOrString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NumOrStringVisitor)
    }
}

struct EnvValueVisitor;

impl<'de> Visitor<'de> for EnvValueVisitor {
    type Value = EnvValue;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string, number or boolean")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<EnvValue, E> {
        Ok(EnvValue(v.to_string()))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<EnvValue, E> {
        Ok(EnvValue(v.to_string()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<EnvValue, E> {
        Ok(EnvValue(v.to_string()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<EnvValue, E> {
        Ok(EnvValue(v.to_string()))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<EnvValue, E> {
        Ok(EnvValue(v.to_string()))
    }
}

impl<'de> Deserialize<'de> for EnvValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(EnvValueVisitor)
    }
}
