//! `${VAR}` interpolation in supervisor.toml values (after parsing, on typed
//! fields — never on raw TOML text). Docker compose's rules:
//! `${VAR}` (undefined = error, never ""), `${VAR:-default}` (unset or empty),
//! `${VAR-default}` (unset), `${VAR:?message}` / `${VAR?message}` (error),
//! `$$` = a literal `$`. A `$` followed by anything else is kept as written,
//! so `$PORT` in a `shell = true` command is left for the shell.

/// Interpolate `s`, looking names up with `lookup`.
pub fn interpolate(s: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(body_start) = after.strip_prefix('{') {
            let end = closing_brace(body_start).ok_or_else(|| {
                "unterminated `${` (missing `}`; write `$$` for a literal `$`)".to_string()
            })?;
            out.push_str(&expand(&body_start[..end], lookup)?);
            rest = &body_start[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Index of the `}` closing a `${`, allowing nested `${…}` in defaults.
fn closing_brace(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => return Some(i),
            '}' => depth -= 1,
            _ => {}
        }
    }
    None
}

fn expand(body: &str, lookup: &dyn Fn(&str) -> Option<String>) -> Result<String, String> {
    let name_end = body
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(body.len());
    let (name, op) = body.split_at(name_end);
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(format!(
            "invalid variable name in `${{{body}}}` (letters, digits and `_`, not starting with a digit)"
        ));
    }
    let value = lookup(name);
    let empty_counts = op.starts_with(':');
    let op = op.strip_prefix(':').unwrap_or(op);
    let missing = match &value {
        None => true,
        Some(v) => empty_counts && v.is_empty(),
    };
    if let Some(default) = op.strip_prefix('-') {
        return if missing {
            interpolate(default, lookup)
        } else {
            Ok(value.unwrap_or_default())
        };
    }
    if let Some(message) = op.strip_prefix('?') {
        return match value {
            Some(v) if !missing => Ok(v),
            _ if message.is_empty() => Err(format!("`{name}` is not set")),
            _ => Err(format!(
                "`{name}` is not set: {}",
                interpolate(message, lookup)?
            )),
        };
    }
    if !op.is_empty() || empty_counts {
        return Err(format!(
            "unsupported expression `${{{body}}}` (use ${{VAR}}, ${{VAR:-default}} or ${{VAR:?message}})"
        ));
    }
    value.ok_or_else(|| {
        format!(
            "undefined variable `{name}` (set it in the OS environment or an env file, or write `${{{name}:-default}}`)"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(name: &str) -> Option<String> {
        match name {
            "A" => Some("alpha".into()),
            "EMPTY" => Some(String::new()),
            "B_2" => Some("b".into()),
            _ => None,
        }
    }

    #[test]
    fn table() {
        let ok = [
            ("plain", "plain"),
            ("${A}", "alpha"),
            ("x${A}y${B_2}z", "xalphaybz"),
            ("$$", "$"),
            ("$${A}", "${A}"),
            ("cost: $5", "cost: $5"),
            ("echo $PORT", "echo $PORT"),
            ("${MISSING:-dflt}", "dflt"),
            ("${EMPTY:-dflt}", "dflt"),
            ("${EMPTY-dflt}", ""),
            ("${A:-dflt}", "alpha"),
            ("${MISSING:-${A}}", "alpha"),
            ("${A:?need A}", "alpha"),
            ("${MISSING:-}", ""),
            ("trailing $", "trailing $"),
        ];
        for (input, want) in ok {
            assert_eq!(interpolate(input, &lookup).as_deref(), Ok(want), "{input}");
        }
        let bad = [
            ("${MISSING}", "undefined variable `MISSING`"),
            (
                "${MISSING:?set it please}",
                "`MISSING` is not set: set it please",
            ),
            ("${EMPTY:?}", "`EMPTY` is not set"),
            ("${A", "unterminated"),
            ("${}", "invalid variable name"),
            ("${1X}", "invalid variable name"),
            ("${A:+x}", "unsupported expression"),
            (
                "${MISSING:-${ALSO_MISSING}}",
                "undefined variable `ALSO_MISSING`",
            ),
        ];
        for (input, needle) in bad {
            let err = interpolate(input, &lookup).expect_err(input);
            assert!(err.contains(needle), "{input}: {err}");
        }
    }
}
