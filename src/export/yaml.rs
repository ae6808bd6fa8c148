//! A tiny YAML emitter for Kubernetes manifests: ordered maps, lists and
//! scalars. Strings that could be misread (numbers, booleans, special
//! characters) are written as JSON strings, which are valid YAML double-quoted
//! scalars — so no value can change meaning. Avoids a YAML crate dependency.

/// A YAML node.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Y {
    /// A string.
    Str(String),
    /// An integer.
    Int(i64),
    /// An ordered mapping.
    Map(Vec<(String, Y)>),
    /// A sequence.
    List(Vec<Y>),
}

/// A string node.
pub(super) fn s(v: impl Into<String>) -> Y {
    Y::Str(v.into())
}

/// A map node from pairs.
pub(super) fn map<const N: usize>(pairs: [(&str, Y); N]) -> Y {
    Y::Map(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

/// Render one document (a map) as YAML text.
pub(super) fn emit(doc: &Y) -> String {
    let mut out = String::new();
    match doc {
        Y::Map(pairs) => emit_map(&mut out, pairs, 0),
        Y::List(items) => emit_list(&mut out, items, 0),
        scalar => {
            out.push_str(&scalar_text(scalar));
            out.push('\n');
        }
    }
    out
}

fn pad(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

fn emit_map(out: &mut String, pairs: &[(String, Y)], indent: usize) {
    for (k, v) in pairs {
        pad(out, indent);
        out.push_str(&string_text(k));
        emit_after_key(out, v, indent);
    }
}

fn emit_after_key(out: &mut String, v: &Y, indent: usize) {
    match v {
        Y::Map(m) if m.is_empty() => out.push_str(": {}\n"),
        Y::List(l) if l.is_empty() => out.push_str(": []\n"),
        Y::Map(m) => {
            out.push_str(":\n");
            emit_map(out, m, indent + 2);
        }
        Y::List(l) => {
            out.push_str(":\n");
            emit_list(out, l, indent + 2);
        }
        scalar => {
            out.push_str(": ");
            out.push_str(&scalar_text(scalar));
            out.push('\n');
        }
    }
}

fn emit_list(out: &mut String, items: &[Y], indent: usize) {
    for item in items {
        pad(out, indent);
        out.push_str("- ");
        match item {
            Y::Map(m) if !m.is_empty() => {
                // First pair on the dash line, the rest aligned under it.
                let mut block = String::new();
                emit_map(&mut block, m, indent + 2);
                out.push_str(&block[indent + 2..]);
            }
            Y::List(l) if !l.is_empty() => {
                let mut block = String::new();
                emit_list(&mut block, l, indent + 2);
                out.push_str(&block[indent + 2..]);
            }
            Y::Map(_) => out.push_str("{}\n"),
            Y::List(_) => out.push_str("[]\n"),
            scalar => {
                out.push_str(&scalar_text(scalar));
                out.push('\n');
            }
        }
    }
}

fn scalar_text(y: &Y) -> String {
    match y {
        Y::Str(v) => string_text(v),
        Y::Int(i) => i.to_string(),
        Y::Map(_) | Y::List(_) => String::new(),
    }
}

/// Plain when unambiguous, else a JSON (= YAML double-quoted) string.
fn string_text(v: &str) -> String {
    if is_plain_safe(v) {
        v.to_string()
    } else {
        serde_json::Value::String(v.to_string()).to_string()
    }
}

fn is_plain_safe(v: &str) -> bool {
    let reserved = [
        "true", "false", "yes", "no", "on", "off", "null", "y", "n", "~",
    ];
    !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
        && v.starts_with(|c: char| c.is_ascii_alphabetic() || c == '/')
        && !reserved.contains(&v.to_ascii_lowercase().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emits_nested_structures() {
        let doc = map([
            ("apiVersion", s("v1")),
            ("kind", s("ConfigMap")),
            (
                "metadata",
                map([("name", s("x")), ("labels", Y::Map(vec![]))]),
            ),
            (
                "list",
                Y::List(vec![
                    map([("name", s("a")), ("port", Y::Int(80))]),
                    s("two words"),
                    Y::List(vec![s("n1"), s("n2")]),
                ]),
            ),
            (
                "data",
                map([("PORT", s("3000")), ("FLAG", s("true")), ("Q", s("a: b"))]),
            ),
        ]);
        let want = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  labels: {}\nlist:\n  - name: a\n    port: 80\n  - \"two words\"\n  - - n1\n    - n2\ndata:\n  PORT: \"3000\"\n  FLAG: \"true\"\n  Q: \"a: b\"\n";
        assert_eq!(emit(&doc), want);
    }
}
